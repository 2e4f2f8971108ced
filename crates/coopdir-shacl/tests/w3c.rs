//! Runs the W3C SHACL test cases in `tests/w3c/` (data, shapes and expected report in one
//! file) and compares our report with the expected one, result by result.

use coopdir_shacl::ShapesGraph;
use oxrdf::{Graph, NamedNode, NamedOrBlankNodeRef, Term, TermRef};
use std::path::Path;

const SH: &str = "http://www.w3.org/ns/shacl#";
const MF: &str = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#";

fn iri(s: &str) -> NamedNode {
    NamedNode::new_unchecked(s)
}

/// A result reduced to what the test suite pins down; blank nodes match anything.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    focus: String,
    path: String,
    component: String,
    shape: String,
    value: String,
}

fn show(term: Option<&Term>) -> String {
    match term {
        None => "-".into(),
        Some(Term::BlankNode(_)) => "_".into(),
        Some(t) => t.to_string(),
    }
}

fn load(path: &Path) -> Graph {
    let text = std::fs::read_to_string(path).expect("test file readable");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("test");
    let mut graph = Graph::new();
    for triple in oxttl::TurtleParser::new()
        .with_base_iri(format!("http://datashapes.org/sh/tests/coopdir/{name}"))
        .expect("base IRI")
        .for_slice(text.as_bytes())
    {
        graph.insert(&triple.expect("test file is valid Turtle"));
    }
    graph
}

fn expected_results(graph: &Graph) -> (bool, Vec<Key>) {
    let result_predicate = iri(&format!("{MF}result"));
    let report = graph
        .triples_for_predicate(&result_predicate)
        .next()
        .expect("test has an mf:result")
        .object
        .into_owned();
    let report = match report {
        Term::BlankNode(b) => NamedOrBlankNodeRef::from(b.as_ref()).into_owned(),
        Term::NamedNode(n) => n.into(),
        Term::Literal(_) => panic!("mf:result is a literal"),
    };
    let conforms = graph
        .object_for_subject_predicate(&report, &iri(&format!("{SH}conforms")))
        .is_some_and(|t| matches!(t, TermRef::Literal(l) if l.value() == "true"));
    let mut keys = Vec::new();
    for r in graph.objects_for_subject_predicate(&report, &iri(&format!("{SH}result"))) {
        let TermRef::BlankNode(r) = r else { continue };
        let get = |local: &str| {
            graph
                .object_for_subject_predicate(r, &iri(&format!("{SH}{local}")))
                .map(TermRef::into_owned)
        };
        keys.push(Key {
            focus: show(get("focusNode").as_ref()),
            path: show(get("resultPath").as_ref()),
            component: show(get("sourceConstraintComponent").as_ref()),
            shape: show(get("sourceShape").as_ref()),
            value: show(get("value").as_ref()),
        });
    }
    keys.sort();
    (conforms, keys)
}

#[test]
fn w3c_core_test_cases_give_the_expected_reports() {
    let dir = manifest_dir().join("tests/w3c");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/w3c exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ttl"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the W3C test cases are missing");
    let mut failures = Vec::new();
    for file in &files {
        let graph = load(file);
        let shapes = ShapesGraph::from_graph(&graph).expect("shapes compile");
        let report = shapes.validate(&graph);
        let (conforms, expected) = expected_results(&graph);
        let mut actual: Vec<Key> = report
            .results
            .iter()
            .map(|r| {
                // The expected value is absent for components that report none.
                let expected_has_value = expected.iter().any(|k| k.value != "-");
                Key {
                    focus: show(Some(&r.focus_node)),
                    path: match (&r.path, &r.path_display) {
                        (Some(p), _) => p.to_string(),
                        (None, Some(_)) => "_".into(),
                        (None, None) => "-".into(),
                    },
                    component: r.component.to_string(),
                    shape: show(Some(&match &r.source_shape {
                        oxrdf::NamedOrBlankNode::NamedNode(n) => Term::from(n.clone()),
                        oxrdf::NamedOrBlankNode::BlankNode(b) => Term::from(b.clone()),
                    })),
                    value: if expected_has_value {
                        show(r.value.as_ref())
                    } else {
                        "-".into()
                    },
                }
            })
            .collect();
        actual.sort();
        if report.conforms() != conforms || actual != expected {
            failures.push(format!(
                "{}:\n  expected {expected:#?}\n  got {actual:#?}",
                file.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The package's folder, as cargo gives it when the test runs: a test binary reused from
/// a build in another checkout would otherwise read that checkout's files.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
