//! Validation reports, in the shape of SHACL's `sh:ValidationReport`.

use oxrdf::{NamedNode, NamedOrBlankNode, Term};
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    Violation,
    Warning,
    Info,
}

impl Severity {
    pub fn iri(self) -> &'static str {
        match self {
            Severity::Violation => "http://www.w3.org/ns/shacl#Violation",
            Severity::Warning => "http://www.w3.org/ns/shacl#Warning",
            Severity::Info => "http://www.w3.org/ns/shacl#Info",
        }
    }
}

/// One `sh:ValidationResult`.
#[derive(Debug, Clone)]
pub struct ValidationResult {
    pub focus_node: Term,
    /// The `sh:resultPath` when it is a single predicate.
    pub path: Option<NamedNode>,
    /// The path written in SPARQL property-path syntax, for people.
    pub path_display: Option<String>,
    pub value: Option<Term>,
    /// `sh:sourceConstraintComponent`, e.g. `sh:MinCountConstraintComponent`.
    pub component: NamedNode,
    pub source_shape: NamedOrBlankNode,
    pub severity: Severity,
    pub message: String,
    /// For `sh:node` violations, the results that made the value fail (`sh:detail`).
    pub details: Vec<ValidationResult>,
}

/// The outcome of validating a data graph.
#[derive(Debug, Clone, Default)]
pub struct ValidationReport {
    pub results: Vec<ValidationResult>,
}

impl ValidationReport {
    /// True when no result has severity `sh:Violation`.
    pub fn conforms(&self) -> bool {
        !self
            .results
            .iter()
            .any(|r| r.severity == Severity::Violation)
    }

    pub fn violations(&self) -> impl Iterator<Item = &ValidationResult> {
        self.results
            .iter()
            .filter(|r| r.severity == Severity::Violation)
    }
}

impl fmt::Display for ValidationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {}", self.severity, self.focus_node)?;
        if let Some(path) = &self.path_display {
            write!(f, " {path}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.results.is_empty() {
            return writeln!(f, "conforms");
        }
        for result in &self.results {
            writeln!(f, "- {result}")?;
        }
        Ok(())
    }
}
