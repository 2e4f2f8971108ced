//! The read-only SPARQL endpoint, queried by a standard client (rdflib) and by hand.

use coopdir_e2e::{Server, json, manifest_dir};
use reqwest::StatusCode;
use std::process::Command;

/// Makes Viktor private, Niall members-only and Bea's e-mail public.
fn hide_and_show(server: &Server) {
    for (worker, triple) in [
        ("viktor-morgan", "dir:visibility \"private\""),
        ("niall-novak", "dir:visibility \"members\""),
        ("bea-lindqvist", "dir:publicContact true"),
    ] {
        let r = server
            .write(reqwest::Method::PATCH, &format!("/workers/{worker}"))
            .header("Content-Type", "application/sparql-update")
            .body(format!(
                "PREFIX dir: <https://w3id.org/coopdir#> INSERT DATA {{ <{}> {triple} }}",
                server.url(&format!("/workers/{worker}"))
            ))
            .send()
            .expect("PATCH");
        assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
    }
}

fn select(server: &Server, query: &str) -> serde_json::Value {
    let r = server
        .client()
        .get(server.url("/sparql"))
        .query(&[("query", query)])
        .header("Accept", "application/sparql-results+json")
        .send()
        .expect("GET /sparql");
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    json(r)
}

#[test]
fn a_standard_sparql_client_sees_exactly_the_public_data() {
    let server = Server::start_demo();
    hide_and_show(&server);
    let client = manifest_dir().join("clients/sparql_client.py");
    for method in ["GET", "POST_FORM"] {
        let output = Command::new("python3")
            .arg(&client)
            .arg(server.url("/sparql"))
            .arg(method)
            .output()
            .expect("python3 runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("No module named 'rdflib'"),
            "rdflib is missing: run ./scripts/test (it installs it) or pip install rdflib"
        );
        assert!(output.status.success(), "{method}: {stderr}");
        let answers: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("client prints JSON");
        let names: Vec<&str> = answers["names"]
            .as_array()
            .expect("names")
            .iter()
            .filter_map(|n| n.as_str())
            .collect();
        assert_eq!(names.len(), 28, "{method}: 30 demo workers less two hidden");
        assert!(!names.contains(&"Viktor Morgan") && !names.contains(&"Niall Novak"));
        assert!(names.contains(&"Bea Lindqvist"));
        assert_eq!(
            answers["emails"],
            serde_json::json!(["bea-lindqvist@example.org"]),
            "only the address its owner made public"
        );
        assert_eq!(answers["ask"], true);
        assert_eq!(answers["coops"].as_array().map(Vec::len), Some(6));
    }
}

#[test]
fn no_query_reveals_hidden_people_addresses_or_accounts() {
    let server = Server::start_demo();
    hide_and_show(&server);
    server.add_person("animorph", "secret@example.org", "Secret Account", "member");
    let everything = select(
        &server,
        "SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }",
    )
    .to_string();
    assert!(everything.contains("Bea Lindqvist"));
    for hidden in [
        "viktor-morgan",
        "niall-novak",
        "urn:coopdir",
        "argon2",
        "secret@example.org",
        "ada-okafor@example.org",
    ] {
        assert!(!everything.contains(hidden), "{hidden} leaked");
    }
    // Restricting the dataset to one graph works, and hidden graphs stay empty.
    let r = server
        .client()
        .get(server.url("/sparql"))
        .query(&[
            ("query", "SELECT ?p ?o WHERE { ?s ?p ?o }"),
            ("default-graph-uri", &server.url("/workers/viktor-morgan")),
        ])
        .header("Accept", "application/sparql-results+json")
        .send()
        .expect("GET");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r)["results"]["bindings"], serde_json::json!([]));
    // Turning Viktor public again brings him back, as soon as the write returns.
    let r = server
        .write(reqwest::Method::PATCH, "/workers/viktor-morgan")
        .header("Content-Type", "application/sparql-update")
        .body(format!(
            "PREFIX dir: <https://w3id.org/coopdir#> DELETE DATA {{ <{}> dir:visibility \"private\" }}",
            server.url("/workers/viktor-morgan")
        ))
        .send()
        .expect("PATCH");
    assert!(r.status().is_success());
    let members = select(
        &server,
        &format!(
            "SELECT ?m WHERE {{ <{}> <http://schema.org/member> ?m }}",
            server.url("/coops/webarchitects")
        ),
    )
    .to_string();
    assert!(members.contains("viktor-morgan"), "{members}");
}

#[test]
fn long_queries_are_cut_off_and_huge_results_refused() {
    let server = Server::start_with(&[
        "--demo",
        "--sparql-timeout-ms",
        "300",
        "--sparql-max-results",
        "100",
    ]);
    let get = |query: &str| {
        server
            .client()
            .get(server.url("/sparql"))
            .query(&[("query", query)])
            .send()
            .expect("GET")
    };
    let started = std::time::Instant::now();
    let r = get("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let problem = json(r);
    assert!(
        problem["type"]
            .as_str()
            .unwrap_or("")
            .ends_with("query-timeout")
    );
    assert!(problem["detail"].as_str().unwrap_or("").contains("LIMIT"));
    let r = get("SELECT * WHERE { ?s ?p ?o }");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(r)["detail"].as_str().unwrap_or("").contains("100"));
    let r = get("SELECT * WHERE { ?s ?p ?o } LIMIT 100");
    assert_eq!(r.status(), StatusCode::OK);
}

#[test]
fn the_protocol_formats_and_refusals() {
    let server = Server::start_demo();
    let query = "SELECT ?name WHERE { ?c a <http://schema.org/Organization> ; <http://schema.org/name> ?name } ORDER BY ?name";
    for (accept, needle) in [
        ("text/csv", "name\r\n"),
        ("text/tab-separated-values", "?name\n"),
        ("application/sparql-results+xml", "<sparql"),
        ("application/sparql-results+json", "\"bindings\""),
    ] {
        let r = server
            .client()
            .get(server.url("/sparql"))
            .query(&[("query", query)])
            .header("Accept", accept)
            .send()
            .expect("GET");
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with(accept)
        );
        let body = r.text().expect("body");
        assert!(
            body.contains(needle) && body.contains("Agile Collective"),
            "{accept}: {body}"
        );
    }
    // A query in the body, a CONSTRUCT in three syntaxes.
    let construct = "CONSTRUCT { ?c <http://schema.org/name> ?n } WHERE { ?c a <http://schema.org/Organization> ; <http://schema.org/name> ?n }";
    for accept in [
        "text/turtle",
        "application/n-triples",
        "application/ld+json",
    ] {
        let r = server
            .client()
            .post(server.url("/sparql"))
            .header("Content-Type", "application/sparql-query")
            .header("Accept", accept)
            .body(construct)
            .send()
            .expect("POST");
        assert_eq!(r.status(), StatusCode::OK, "{accept}");
        assert!(r.text().expect("body").contains("Good Praxis"), "{accept}");
    }
    let r = server
        .client()
        .get(server.url("/sparql"))
        .query(&[(
            "query",
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
        )])
        .send()
        .expect("GET");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(json(r)["detail"].as_str().unwrap_or("").contains("SERVICE"));
    for (content_type, body) in [
        (
            "application/sparql-update",
            "INSERT DATA { <a:b> <a:c> <a:d> }".to_owned(),
        ),
        (
            "application/x-www-form-urlencoded",
            "update=INSERT%20DATA%20%7B%20%3Ca%3Ab%3E%20%3Ca%3Ac%3E%20%3Ca%3Ad%3E%20%7D".to_owned(),
        ),
    ] {
        let r = server
            .client()
            .post(server.url("/sparql"))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .expect("POST");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{content_type}");
        assert!(
            json(r)["type"]
                .as_str()
                .unwrap_or("")
                .ends_with("read-only")
        );
    }
    let r = server
        .client()
        .put(server.url("/sparql"))
        .send()
        .expect("PUT");
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        server.get("/sparql?query=SELEKT", "*/*").status(),
        StatusCode::BAD_REQUEST
    );
    // Without a query: the service description.
    let r = server.get("/sparql", "text/turtle");
    assert_eq!(r.status(), StatusCode::OK);
    let description = r.text().expect("body");
    assert!(
        description.contains("sparql-service-description#Service"),
        "{description}"
    );
    assert!(description.contains("SPARQL11Query"));
}
