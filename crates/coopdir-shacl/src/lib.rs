//! A SHACL Core validator for the constraint components coopdir's shapes use.
//!
//! Why not an existing engine: rudof's `shacl` crate validates correctly but pins
//! oxigraph's `rdf-12` and `http-client` features (pulling reqwest into the store), is
//! released weekly and needs an exact pin, and converts every graph into its own model on
//! each call; we validate on every write and need sub-millisecond checks. This crate
//! compiles shapes once ([`ShapesGraph::from_graph`]) and evaluates them directly over an
//! [`oxrdf::Graph`]. It is tested against the W3C SHACL test suite for every component it
//! supports (see `tests/w3c.rs`); unsupported SHACL features are rejected when the shapes
//! are loaded, never silently ignored.

mod compile;
mod report;
mod validate;

pub use compile::{ShapesError, ShapesGraph};
pub use report::{Severity, ValidationReport, ValidationResult};

/// The SHACL namespace.
pub const SH: &str = "http://www.w3.org/ns/shacl#";
