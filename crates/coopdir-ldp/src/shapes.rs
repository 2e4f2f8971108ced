//! The SHACL shapes the directory enforces, and reports as JSON for error bodies.

use coopdir_shacl::{ShapesError, ShapesGraph, ValidationReport};
use coopdir_vocab::Kind;
use serde_json::{Value, json};
use std::path::Path;

/// Compiled shapes plus their Turtle sources (served at `/shapes/{name}`).
pub struct ShapeSet {
    pub compiled: ShapesGraph,
    pub sources: Vec<(String, String)>,
}

impl ShapeSet {
    pub fn source(&self, name: &str) -> Option<&str> {
        self.sources
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
    }
}

/// The shapes shipped in `shapes/` at build time, one file per kind.
pub const BUILTIN_SHAPES: &[(&str, &str)] = &[
    ("coop", include_str!("../../../shapes/coop.ttl")),
    ("worker", include_str!("../../../shapes/worker.ttl")),
    ("skill", include_str!("../../../shapes/skill.ttl")),
    ("project", include_str!("../../../shapes/project.ttl")),
];

/// Compiles the built-in shapes, or those in `dir` (one `{kind}.ttl` per kind) when given.
pub fn load_shapes(dir: Option<&Path>) -> Result<ShapeSet, ShapesError> {
    let mut sources = Vec::new();
    for (name, builtin) in BUILTIN_SHAPES {
        let text = match dir {
            Some(dir) => std::fs::read_to_string(dir.join(format!("{name}.ttl"))).map_err(|e| {
                ShapesError::Invalid {
                    shape: format!("{name}.ttl"),
                    message: e.to_string(),
                }
            })?,
            None => (*builtin).to_owned(),
        };
        sources.push(((*name).to_owned(), text));
    }
    let all: String = sources
        .iter()
        .map(|(_, s)| s.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let compiled = ShapesGraph::from_turtle(&all, Some("https://w3id.org/coopdir/shapes/"))?;
    debug_assert!(Kind::ALL.len() == sources.len());
    Ok(ShapeSet { compiled, sources })
}

/// A report as JSON-LD-ish JSON: one entry per result, with focus node, path and message.
pub fn report_json(report: &ValidationReport) -> Value {
    let results: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let mut v = json!({
                "focusNode": term(&r.focus_node),
                "message": r.message,
                "severity": format!("{:?}", r.severity),
                "constraint": r.component.as_str().rsplit('#').next().unwrap_or_default().trim_end_matches("ConstraintComponent"),
            });
            if let Some(path) = &r.path_display {
                v["path"] = Value::String(path.trim_matches(['<', '>']).to_owned());
            }
            if let Some(value) = &r.value {
                v["value"] = Value::String(term(value));
            }
            v
        })
        .collect();
    json!({ "conforms": report.conforms(), "results": results })
}

fn term(t: &oxigraph::model::Term) -> String {
    match t {
        oxigraph::model::Term::NamedNode(n) => n.as_str().to_owned(),
        oxigraph::model::Term::Literal(l) => l.value().to_owned(),
        other => other.to_string(),
    }
}
