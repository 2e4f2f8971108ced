//! RDF syntaxes at coopdir's edges: parsing request bodies (Turtle, N-Triples, JSON-LD in
//! any form) into graphs, and writing graphs as Turtle, N-Triples or JSON-LD compacted
//! with our published context.
//!
//! JSON-LD is parsed by oxigraph's JSON-LD 1.1 processor (`oxjsonld`); we add what it
//! leaves to the application: a key that expands to no IRI is an error instead of being
//! dropped, and no remote context is ever fetched (ours is served from memory).

mod compact;
mod keys;
mod parse;
mod write;

pub use compact::compact;
pub use parse::{InputFormat, ParseLimits, SyntaxError, parse_graph, parse_graph_within};
pub use write::{OutputFormat, write_graph};

/// Prefixes used when writing Turtle, in the order they are declared.
pub const PREFIXES: &[(&str, &str)] = &[
    ("schema", coopdir_vocab::ns::SCHEMA),
    ("skos", coopdir_vocab::ns::SKOS),
    ("dir", coopdir_vocab::ns::DIR),
    ("dcterms", coopdir_vocab::ns::DCTERMS),
    ("ldp", coopdir_vocab::ns::LDP),
    ("xsd", coopdir_vocab::ns::XSD),
];
