//! Linked Data Platform semantics for coopdir, without HTTP: which resources exist and
//! where (containers and members), what a write must satisfy (SHACL shapes, references
//! to existing resources, only the target resource described), and the consistency the
//! server maintains (inverse links, timestamps, containment, cleanup on delete).
//!
//! Every write goes through [`Directory`], which validates, computes one change set and
//! applies it in one store transaction while holding the writer lock; that lock is what
//! makes read-modify-write (ETag checks, PATCH) safe on a store without conflict
//! detection.

mod cache;
mod credentials;
mod directory;
mod error;
mod etag;
mod import;
mod patch;
mod paths;
mod shapes;

pub use cache::{Rendered, RenderedPage};
pub use credentials::create_admin_token;
pub use directory::{ContainerPage, Directory, Representation, WriteOutcome};
pub use error::LdpError;
pub use etag::{ETag, Precondition};
pub use import::{ImportStage, ImportSummary};
pub use patch::Patch;
pub use paths::{Location, Paths};
pub use shapes::{ShapeSet, load_shapes, report_json};
