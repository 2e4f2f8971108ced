//! Linked Data Platform semantics for coopdir, without HTTP: which resources exist and
//! where (containers and members), what a write must satisfy (SHACL shapes, references
//! to existing resources, only the target resource described), and the consistency the
//! server maintains (inverse links, timestamps, containment, cleanup on delete).
//!
//! Every write goes through [`Directory`], which asks the authorisation rules
//! (`coopdir-access`), validates, computes one change set with its change-log records and
//! applies it in one store transaction while holding the writer lock; that lock is what
//! makes read-modify-write (ETag checks, PATCH) safe on a store without conflict
//! detection. Every read asks the same rules what the reader may see.

mod audit;
mod cache;
mod directory;
mod error;
mod etag;
mod import;
mod patch;
mod paths;
mod people;
mod proposals;
mod replicas;
mod shapes;

pub use audit::{AuditPage, AuditQuery};
pub use cache::{Rendered, RenderedPage};
pub use directory::{
    ContainerPage, CreateOutcome, Directory, Representation, WriteOutcome, base_url_of_data,
};
pub use error::LdpError;
pub use etag::{ETag, Precondition};
pub use import::{ImportBatches, ImportStage, ImportSummary, TRIPLES_PER_PARTITION};
pub use patch::Patch;
pub use paths::{Location, Paths};
pub use people::{Joined, NewPerson, Role};
pub use proposals::ProposalView;
pub use replicas::{
    ReplicaChange, ReplicaEntry, ReplicaOutcome, ReplicaRejection, replica_meta_graph,
};
pub use shapes::{ShapeSet, load_shapes, report_json};
