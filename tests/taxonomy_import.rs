//! Importing an ESCO-shaped taxonomy as ESCO publishes it, and re-importing an update.

use coopdir_e2e::{Server, bench_bin, json, run};
use reqwest::StatusCode;
use std::process::Command;

const CONCEPTS: usize = 600;

fn esco_iri(i: usize) -> String {
    // As the generator names them (coopdir-bench's esco.rs).
    format!(
        "http://data.europa.eu/esco/skill/{:08x}-0000-4000-8000-{:012x}",
        i * 7919 + 1,
        i
    )
}

fn generate(dir: &std::path::Path, revision: u32) -> std::path::PathBuf {
    let file = dir.join(format!("esco-{revision}.ttl"));
    let status = Command::new(bench_bin())
        .args([
            "esco",
            "--concepts",
            &CONCEPTS.to_string(),
            "--languages",
            "28",
        ])
        .args([
            "--revision",
            &revision.to_string(),
            "--dropped",
            "5",
            "--output",
        ])
        .arg(&file)
        .status()
        .expect("coopdir-bench runs");
    assert!(status.success());
    file
}

/// Stops the server, imports `file` with the command line, and returns its output (the
/// server is restarted by the caller once it has read it).
fn import_offline(server: &mut Server, file: &std::path::Path) -> std::process::Output {
    server.stop();
    let data = server.data.path().to_str().expect("path").to_owned();
    let out = run(&[
        "import",
        "--data",
        &data,
        "--base-url",
        &server.base,
        file.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lookup(server: &Server, q: &str) -> serde_json::Value {
    let r = server.get(
        &format!("/search/skills?q={}", q.replace(' ', "%20")),
        "application/ld+json",
    );
    assert_eq!(r.status(), StatusCode::OK);
    json(r)
}

#[test]
fn an_esco_taxonomy_imports_unchanged_and_an_update_keeps_peoples_skills() {
    let mut server = Server::start();
    let files = tempfile::tempdir().expect("tempdir");
    let first = generate(files.path(), 1);
    import_offline(&mut server, &first);
    server.restart();

    // A person holding a skill that revision 2 renames (every 10th), one it moves
    // (every 50th) and one it drops (the last five).
    let (renamed, moved, dropped) = (100, 150, CONCEPTS - 1);
    let r = server.post(
        "/coops/",
        "text/turtle",
        "@prefix schema: <http://schema.org/> . <> a schema:Organization ; schema:name \"ESCO Co-op\" .",
    );
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = server.post(
        "/workers/",
        "text/turtle",
        &format!(
            "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
             <> a schema:Person ; schema:name \"Esco Holder\" ; schema:memberOf <{}> ;
                dir:hasSkill [ dir:skill <{}> ; dir:level \"expert\" ], [ dir:skill <{}> ; dir:level \"beginner\" ], [ dir:skill <{}> ; dir:level \"beginner\" ] .",
            server.url("/coops/esco-co-op"),
            esco_iri(renamed),
            esco_iri(moved),
            esco_iri(dropped)
        ),
    );
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );

    // Labels in any of the 28 languages find the concept; the broader chain reaches a
    // top group; people are counted.
    let english = lookup(&server, &format!("use {}", word(renamed)));
    assert_eq!(english["items"][0]["id"], esco_iri(renamed));
    assert!(
        english["items"][0]["broader"]
            .as_array()
            .is_some_and(|b| !b.is_empty())
    );
    let german = serde_json::to_string(&lookup(&server, "verwenden")).expect("json");
    assert!(german.contains("verwenden"), "{german}");
    let by_iri = server.get(
        &format!("/search?skill={}", esco_iri(renamed)),
        "application/ld+json",
    );
    let found = json(by_iri);
    assert_eq!(found["totalItems"], 1, "{found}");

    // The update: renamed labels, a moved skill, five concepts left out.
    let second = generate(files.path(), 2);
    let out = import_offline(&mut server, &second);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("5 concepts of the imported schemes are no longer"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("<{}> (held by 1 people)", esco_iri(dropped))),
        "{stderr}"
    );
    server.restart();

    // The person keeps all three skills; the dropped concept is still there.
    let worker = server.graph("/workers/esco-holder");
    let text = format!("{worker}");
    for i in [renamed, moved, dropped] {
        assert!(text.contains(&esco_iri(i)), "skill {i} lost");
    }
    assert_eq!(
        server
            .get(
                &format!("/search?skill={}", esco_iri(dropped)),
                "application/ld+json"
            )
            .status(),
        StatusCode::OK
    );
    // The renamed concept answers to its new label, in place (same IRI); the old label
    // is gone.
    let new_label = format!("use {} revised", word(renamed));
    let found = json(server.get(
        &format!(
            "/search?skill={}&level=expert",
            new_label.replace(' ', "%20")
        ),
        "application/ld+json",
    ));
    assert_eq!(found["totalItems"], 1, "{found}");
    let old_label = format!("use {}", word(renamed));
    assert_eq!(
        server
            .get(
                &format!("/search?skill={}", old_label.replace(' ', "%20")),
                "application/ld+json"
            )
            .status(),
        StatusCode::BAD_REQUEST
    );
}

/// The generator's word for concept `i` (coopdir-bench's esco.rs).
fn word(mut i: usize) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "gu", "zi", "ba", "fo", "le",
        "mu", "ni", "ro", "se", "ti", "wa", "xe", "yo", "qu",
    ];
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[i % SYLLABLES.len()]);
        i /= SYLLABLES.len();
        if i == 0 {
            break;
        }
    }
    w.push_str("ment");
    w
}
