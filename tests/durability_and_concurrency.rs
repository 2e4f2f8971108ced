//! Acknowledged writes survive a crash; concurrent writers lose nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, StatusCode, json, seed};
use reqwest::Method;
use std::sync::Arc;

#[test]
fn every_acknowledged_write_survives_a_crash() {
    let mut server = Server::start();
    let worker = seed(&server);
    let mut created = Vec::new();
    for i in 0..20 {
        let r = server.post(
            "/skills/",
            "text/turtle",
            &format!("<> <http://www.w3.org/2004/02/skos/core#prefLabel> \"Skill {i}\"@en ."),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        created.push(r.headers()["location"].to_str().unwrap().to_owned());
    }
    let patched = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .body("PREFIX schema: <http://schema.org/> INSERT DATA { <> schema:jobTitle \"Survivor\" }")
        .send()
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let before = server.graph(&worker);

    server.crash_and_restart();

    assert_eq!(server.graph(&worker), before);
    for location in &created {
        assert_eq!(
            server.client().get(location).send().unwrap().status(),
            StatusCode::OK,
            "{location} lost"
        );
    }
    // The change log kept a record of every acknowledged write, numbered without holes,
    // and goes on numbering after the crash.
    let audit = |server: &Server| {
        json(
            server
                .write(Method::GET, "/admin/audit?limit=1000")
                .send()
                .unwrap(),
        )["items"]
            .as_array()
            .unwrap()
            .clone()
    };
    let records = audit(&server);
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).rev().collect::<Vec<_>>());
    for location in &created {
        assert!(
            records
                .iter()
                .any(|r| r["resource"] == location.as_str() && r["operation"] == "create"),
            "no record of {location}"
        );
    }
    assert_eq!(records[0]["operation"], "patch");

    // The token (stored hashed) still works after the restart.
    let r = server
        .write(Method::DELETE, "/skills/skill-0")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let after = audit(&server);
    assert_eq!(after[0]["seq"].as_u64().unwrap(), seqs[0] + 1);
    assert_eq!(after[0]["operation"], "delete");
}

#[test]
fn concurrent_patches_to_one_resource_lose_no_update() {
    let server = Arc::new(Server::start());
    let worker = seed(&server);
    let clients = 8;
    let per_client = 10;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let server = server.clone();
            let worker = worker.clone();
            std::thread::spawn(move || {
                for i in 0..per_client {
                    let r = server.write(Method::PATCH, &worker).header("Content-Type", "application/sparql-update")
                        .body(format!("PREFIX schema: <http://schema.org/> INSERT DATA {{ <> schema:sameAs <https://example.org/c{c}/i{i}> }}"))
                        .send().unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let doc = json(server.get(&worker, "application/ld+json"));
    let same_as = doc["sameAs"].as_array().unwrap();
    assert_eq!(
        same_as.len(),
        clients * per_client,
        "every inserted triple is there"
    );
}

#[test]
fn of_several_puts_with_the_same_if_match_exactly_one_wins() {
    let server = Arc::new(Server::start());
    let worker = seed(&server);
    let etag = server.get(&worker, "text/turtle").headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let coop = server.url("/coops/test-co-op");
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let (server, worker, etag, coop) = (server.clone(), worker.clone(), etag.clone(), coop.clone());
            std::thread::spawn(move || {
                server.write(Method::PUT, &worker).header("Content-Type", "text/turtle").header("If-Match", etag)
                    .body(format!("<> <http://schema.org/name> \"Writer {i}\" ; <http://schema.org/memberOf> <{coop}> ."))
                    .send().unwrap().status()
            })
        })
        .collect();
    let statuses: Vec<StatusCode> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::PRECONDITION_FAILED)
            .count(),
        5,
        "{statuses:?}"
    );
}
