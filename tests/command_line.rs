//! The command line: tokens, validate, import and export.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, parse, run};
use oxigraph::io::RdfFormat;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn token_create_says_so_when_a_server_holds_the_store() {
    let server = Server::start();
    let output = run(&[
        "token",
        "create",
        "--admin",
        "--data",
        server.data.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by another coopdir process"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn validate_accepts_the_demo_data_and_rejects_an_invalid_file() {
    let demo = fixtures().join("demo");
    let files: Vec<String> = ["taxonomy.ttl", "coops.ttl", "workers.ttl", "projects.ttl"]
        .iter()
        .map(|f| demo.join(f).to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let ok = run(&args);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ttl");
    std::fs::write(&bad, "<http://localhost/workers/x> a <http://schema.org/Person> ; <http://schema.org/hoursPerWeek> 3 .").unwrap();
    let out = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bad.ttl") && stdout.contains("name is required"),
        "{stdout}"
    );
}

#[test]
fn export_then_import_into_an_empty_store_gives_the_same_data() {
    let mut server = Server::start_demo();
    server.stop();
    let data = server.data.path().to_str().unwrap().to_owned();
    let out_dir = tempfile::tempdir().unwrap();
    let exported = out_dir.path().join("export.nq");
    let export = run(&[
        "export",
        "--data",
        &data,
        "--output",
        exported.to_str().unwrap(),
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );

    let fresh = tempfile::tempdir().unwrap();
    let fresh_path = fresh.path().to_str().unwrap().to_owned();
    let import = run(&[
        "import",
        "--data",
        &fresh_path,
        "--base-url",
        &server.base,
        exported.to_str().unwrap(),
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let reexported = out_dir.path().join("again.nq");
    assert!(
        run(&[
            "export",
            "--data",
            &fresh_path,
            "--output",
            reexported.to_str().unwrap()
        ])
        .status
        .success()
    );

    let a = std::fs::read_to_string(&exported).unwrap();
    let b = std::fs::read_to_string(&reexported).unwrap();
    let quads = |text: &str| -> oxigraph::model::Dataset {
        let mut d = oxigraph::model::Dataset::new();
        for q in oxigraph::io::RdfParser::from_format(RdfFormat::NQuads).for_slice(text.as_bytes())
        {
            d.insert(&q.unwrap());
        }
        d.canonicalize(oxigraph::model::dataset::CanonicalizationAlgorithm::Unstable);
        d
    };
    assert!(a.lines().count() > 3000, "the demo data was exported");
    assert_eq!(quads(&a), quads(&b));
    // Turtle export parses and holds the same triples.
    let turtle = run(&["export", "--data", &fresh_path, "--format", "turtle"]);
    let g = parse(
        &String::from_utf8(turtle.stdout).unwrap(),
        RdfFormat::Turtle,
        "http://localhost/",
    );
    assert!(g.len() > 3000);
}

#[test]
fn an_invalid_import_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("bad.ttl");
    std::fs::write(&file, "<http://127.0.0.1:8080/coops/a> a <http://schema.org/Organization> ; <http://schema.org/name> \"A\" .\n<http://127.0.0.1:8080/workers/b> a <http://schema.org/Person> .").unwrap();
    let out = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing was imported") && stderr.contains("name is required"),
        "{stderr}"
    );
    let export = run(&["export", "--data", data.to_str().unwrap()]);
    assert!(
        export.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&export.stdout)
    );
}
