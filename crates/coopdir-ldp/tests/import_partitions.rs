//! The streamed import: the demo data dealt into many partitions, spilled to disk and in
//! shuffled order, stores exactly what one partition in memory does, on an empty store
//! (bulk load) and on one that holds data already (transactions); a violation in any
//! partition stores nothing; a blank node nothing refers to is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use coopdir_access::{AccessConfig, Principal};
use coopdir_ldp::{Directory, ImportStage, LdpError, Paths, TRIPLES_PER_PARTITION, load_shapes};
use coopdir_store::{DumpScope, OxigraphStore};
use coopdir_syntax::{InputFormat, parse_graph};
use oxigraph::model::{BlankNode, Literal, NamedNode, Triple, TripleRef};
use rand::seq::SliceRandom;

const BASE: &str = "http://coopdir.test/";

fn directory() -> Directory {
    Directory::new(
        std::sync::Arc::new(OxigraphStore::in_memory().unwrap()),
        load_shapes(None).unwrap(),
        Paths::new(BASE),
        AccessConfig::default(),
    )
    .unwrap()
}

fn demo(file: &str) -> Vec<Triple> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/demo")
        .join(file);
    let text = std::fs::read(&path).unwrap();
    parse_graph(&text, InputFormat::Turtle, BASE, &[])
        .unwrap()
        .iter()
        .map(TripleRef::into_owned)
        .collect()
}

/// The demo files' triples, file by file, parsed once (each parse names blank nodes anew).
fn demo_files() -> Vec<Vec<Triple>> {
    ["taxonomy.ttl", "coops.ttl", "workers.ttl", "projects.ttl"]
        .iter()
        .map(|f| demo(f))
        .collect()
}

fn all_demo() -> Vec<Triple> {
    demo_files().concat()
}

/// The stored data as sorted N-Quads lines, without the timestamps the import adds, and
/// with each blank node named by what is said about it (a write into a store that holds
/// data names blank nodes afresh).
fn stored(directory: &Directory) -> BTreeSet<String> {
    let mut out = Vec::new();
    directory
        .store()
        .dump_nquads(&mut out, DumpScope::Data)
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.contains("purl.org/dc/terms/created") && !l.contains("purl.org/dc/terms/modified")
        })
        .collect();
    let mut about: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for line in &lines {
        if let Some((subject, rest)) = line.split_once(' ')
            && subject.starts_with("_:")
        {
            about.entry(subject).or_default().push(rest);
        }
    }
    let names: Vec<(&str, String)> = about
        .into_iter()
        .map(|(blank, mut said)| {
            said.sort();
            (blank, format!("_:[{}]", said.join(" ; ")))
        })
        .collect();
    lines
        .iter()
        .map(|line| {
            let mut line = (*line).to_owned();
            for (blank, name) in &names {
                line = line.replace(&format!("{blank} "), &format!("{name} "));
            }
            line
        })
        .collect()
}

fn assert_same(got: &BTreeSet<String>, expected: &BTreeSet<String>) {
    let missing: Vec<_> = expected.difference(got).take(5).collect();
    let extra: Vec<_> = got.difference(expected).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
}

/// The progress an import reported: stage, partitions done, partitions.
type Stages = Vec<(ImportStage, usize, usize)>;

/// Imports `triples` dealt into `partitions` partitions, spilling after `spill_after`
/// triples into `spill_in`; returns the summary and the stages reported.
fn import_in_partitions(
    directory: &Directory,
    triples: Vec<Triple>,
    partitions: usize,
    spill_after: usize,
    spill_in: &Path,
) -> Result<(coopdir_ldp::ImportSummary, Stages), LdpError> {
    let mut batches = directory
        .import_batches(partitions * TRIPLES_PER_PARTITION, spill_in)
        .spill_after(spill_after);
    assert_eq!(batches.partitions(), partitions);
    for t in triples {
        batches.push(t)?;
    }
    let stages = std::sync::Mutex::new(Vec::new());
    let summary = directory.import_from(
        batches,
        Vec::new(),
        &|stage, done, all| stages.lock().unwrap().push((stage, done, all)),
        &Principal::operator(),
    )?;
    Ok((summary, stages.into_inner().unwrap()))
}

#[test]
fn partitions_spilled_and_shuffled_store_what_one_partition_does() {
    let files = demo_files();
    let whole = directory();
    let one = whole
        .import(
            files.concat(),
            Vec::new(),
            &|_, _, _| {},
            &Principal::operator(),
        )
        .unwrap();
    assert_eq!(one.partitions, 1);
    let expected = stored(&whole);
    assert!(expected.len() > 500, "the demo data is stored");

    // Empty store: bulk loads, one per partition.
    let spill = tempfile::tempdir().unwrap();
    let mut shuffled = files.concat();
    shuffled.shuffle(&mut rand::rng());
    let split = directory();
    let (summary, stages) =
        import_in_partitions(&split, shuffled.clone(), 20, 100, spill.path()).unwrap();
    assert_eq!(summary.partitions, 20);
    assert_eq!(summary.resources, one.resources);
    assert_eq!(summary.quads, one.quads);
    assert_same(&stored(&split), &expected);
    assert_eq!(
        split.store().head(),
        whole.store().head(),
        "one record per resource"
    );
    assert_eq!(
        stages.first(),
        Some(&(ImportStage::Validating, 0, 20)),
        "progress starts at partition 0 of 20"
    );
    assert!(
        matches!(stages.last(), Some((ImportStage::Writing, done, all)) if done == all),
        "progress ends with the write done: {stages:?}"
    );
    assert!(
        std::fs::read_dir(spill.path()).unwrap().next().is_none(),
        "the spill files are removed"
    );

    // A store holding the taxonomy already: transactions, links into stored concepts.
    let updated = directory();
    updated
        .import(
            demo("taxonomy.ttl"),
            Vec::new(),
            &|_, _, _| {},
            &Principal::operator(),
        )
        .unwrap();
    let rest: Vec<Triple> = ["coops.ttl", "workers.ttl", "projects.ttl"]
        .iter()
        .flat_map(|f| demo(f))
        .collect();
    import_in_partitions(&updated, rest, 7, 50, spill.path()).unwrap();
    assert_same(&stored(&updated), &expected);
}

#[test]
fn a_violation_in_any_partition_stores_nothing() {
    let mut triples = all_demo();
    let worker = NamedNode::new(format!("{BASE}workers/ada-okafor")).unwrap();
    triples.push(Triple::new(
        worker.clone(),
        NamedNode::new("http://schema.org/description").unwrap(),
        Literal::new_simple_literal("one"),
    ));
    triples.push(Triple::new(
        worker,
        NamedNode::new("http://schema.org/description").unwrap(),
        Literal::new_simple_literal("two"),
    ));
    let target = directory();
    let spill = tempfile::tempdir().unwrap();
    match import_in_partitions(&target, triples, 20, 100, spill.path()) {
        Err(LdpError::Invalid(report)) => {
            let text = report
                .violations()
                .map(|r| r.to_string())
                .collect::<Vec<_>>();
            assert!(
                text.iter()
                    .any(|t| t.contains("ada-okafor") && t.contains("description")),
                "{text:?}"
            );
        }
        other => panic!("expected a violation, got {other:?}"),
    }
    assert_eq!(target.store().len().unwrap(), 0, "nothing is stored");
    assert_eq!(target.store().head(), 0, "no change-log record");
}

#[test]
fn a_blank_node_nothing_refers_to_is_refused() {
    let mut triples = all_demo();
    triples.push(Triple::new(
        BlankNode::new("stray").unwrap(),
        NamedNode::new("http://schema.org/name").unwrap(),
        Literal::new_simple_literal("nobody's"),
    ));
    let target = directory();
    let spill = tempfile::tempdir().unwrap();
    match import_in_partitions(&target, triples, 3, 100, spill.path()) {
        Err(LdpError::Unprocessable(message)) => {
            assert!(message.contains("_:stray"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(target.store().len().unwrap(), 0);
}
