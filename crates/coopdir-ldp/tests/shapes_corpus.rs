//! The shapes against the corpus in `fixtures/shapes/`: every valid document conforms,
//! every invalid one violates the constraint it names, and every constraint the shapes
//! declare has at least one invalid example.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_ldp::load_shapes;
use coopdir_shacl::ValidationResult;
use oxigraph::model::{Graph, NamedOrBlankNodeRef, Term};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const BASE: &str = "http://localhost/";

fn corpus() -> PathBuf {
    manifest_dir().join("../../fixtures/shapes")
}

fn turtle(path: &Path) -> Graph {
    let text = std::fs::read_to_string(path).unwrap();
    coopdir_syntax::parse_graph(
        text.as_bytes(),
        coopdir_syntax::InputFormat::Turtle,
        BASE,
        &[],
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Validates `doc` (its named subjects) with the context resources available.
fn validate(doc: &Graph) -> Vec<ValidationResult> {
    let shapes = load_shapes(None).unwrap();
    let mut data = turtle(&corpus().join("context.ttl"));
    data.extend(doc.iter());
    let focus: Vec<Term> = doc
        .iter()
        .filter_map(|t| match t.subject {
            NamedOrBlankNodeRef::NamedNode(n) => Some(Term::from(n.into_owned())),
            _ => None,
        })
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    shapes.compiled.validate_nodes(&data, &focus).results
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn flatten(results: &[ValidationResult], out: &mut Vec<(Option<String>, String)>) {
    for r in results {
        let component = r
            .component
            .as_str()
            .rsplit('#')
            .next()
            .unwrap()
            .trim_end_matches("ConstraintComponent")
            .to_owned();
        out.push((r.path_display.clone(), component));
        flatten(&r.details, out);
    }
}

#[test]
fn valid_documents_conform() {
    let valid = files("valid");
    assert!(valid.len() >= 4);
    for file in valid {
        let results = validate(&turtle(&file));
        assert!(
            results.is_empty(),
            "{}: {:#?}",
            file.display(),
            results.iter().map(|r| &r.message).collect::<Vec<_>>()
        );
    }
}

#[test]
fn each_invalid_document_violates_the_constraint_it_names_and_every_constraint_is_covered() {
    let mut covered = BTreeSet::new();
    for file in files("invalid") {
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# violates: "))
            .unwrap_or_else(|| panic!("{}: no annotation", file.display()));
        let (component, path) = expected.split_once(' ').unwrap();
        let mut found = Vec::new();
        flatten(&validate(&turtle(&file)), &mut found);
        assert!(
            found
                .iter()
                .any(|(p, c)| c == component && p.as_deref() == Some(path)),
            "{}: expected {component} on {path}, got {found:?}",
            file.display()
        );
        covered.insert((path.to_owned(), component.to_owned()));
    }
    let shapes = load_shapes(None).unwrap();
    let declared = shapes.compiled.declared_constraints();
    assert!(
        declared.len() > 100,
        "the shapes declare {} constraints",
        declared.len()
    );
    let missing: Vec<_> = declared
        .into_iter()
        .filter(|(path, component)| {
            !covered.contains(&(path.clone().unwrap_or_default(), component.clone()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "constraints without an invalid example: {missing:?}"
    );
}

/// The package's folder, as cargo gives it when the test runs: a test binary reused from
/// a build in another checkout would otherwise read that checkout's files.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
