//! What the server keeps consistent on its own: inverse links, links to deleted
//! resources, references to existing resources of the right class, the resource scope.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, StatusCode, json, seed};
use reqwest::Method;

#[test]
fn joining_a_coop_adds_the_worker_to_the_coop_and_leaving_removes_it() {
    let server = Server::start();
    let worker = seed(&server);
    let coop = json(server.get("/coops/test-co-op", "application/ld+json"));
    assert_eq!(coop["member"], serde_json::json!([server.url(&worker)]));

    let second = server.post(
        "/coops/",
        "text/turtle",
        "<> a <http://schema.org/Organization> ; <http://schema.org/name> \"Second\" .",
    );
    assert_eq!(second.status(), StatusCode::CREATED);
    let moved = server.write(Method::PATCH, &worker).header("Content-Type", "application/sparql-update")
        .body(format!("PREFIX schema: <http://schema.org/> DELETE DATA {{ <> schema:memberOf <{}> }} ; INSERT DATA {{ <> schema:memberOf <{}> }}",
            server.url("/coops/test-co-op"), server.url("/coops/second"))).send().unwrap();
    assert_eq!(moved.status(), StatusCode::OK, "{}", moved.text().unwrap());
    assert!(
        json(server.get("/coops/test-co-op", "application/ld+json"))
            .get("member")
            .is_none()
    );
    assert_eq!(
        json(server.get("/coops/second", "application/ld+json"))["member"],
        serde_json::json!([server.url(&worker)])
    );
}

#[test]
fn a_coop_cannot_drop_a_member_whose_only_coop_it_is() {
    let server = Server::start();
    let worker = seed(&server);
    let before = server.graph("/coops/test-co-op");
    let r = server
        .write(Method::PATCH, "/coops/test-co-op")
        .header("Content-Type", "application/sparql-update")
        .body(format!(
            "PREFIX schema: <http://schema.org/> DELETE DATA {{ <> schema:member <{}> }}",
            server.url(&worker)
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let problem = json(r);
    assert!(
        problem["report"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["focusNode"] == server.url(&worker)),
        "{problem}"
    );
    assert_eq!(server.graph("/coops/test-co-op"), before);
}

#[test]
fn deleting_a_skill_removes_the_claims_that_pointed_to_it() {
    let server = Server::start();
    let worker = seed(&server);
    let r = server.write(Method::DELETE, "/skills/rust").send().unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let doc = json(server.get(&worker, "application/ld+json"));
    assert!(
        doc.get("knowsAbout").is_none() && doc.get("hasSkill").is_none(),
        "{doc}"
    );
}

#[test]
fn deleting_the_only_coop_of_a_worker_is_refused() {
    let server = Server::start();
    seed(&server);
    let r = server
        .write(Method::DELETE, "/coops/test-co-op")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(
        server.get("/coops/test-co-op", "text/turtle").status(),
        StatusCode::OK
    );
}

#[test]
fn nobody_can_claim_a_skill_outside_the_taxonomy_or_join_a_coop_that_does_not_exist() {
    let server = Server::start();
    seed(&server);
    let ghost_coop = server.post(
        "/workers/",
        "text/turtle",
        &format!(
            "<> <http://schema.org/name> \"Ghost\" ; <http://schema.org/memberOf> <{}> .",
            server.url("/coops/nowhere")
        ),
    );
    assert_eq!(ghost_coop.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A worker is not a co-op either.
    let wrong_class = server.post(
        "/workers/",
        "text/turtle",
        &format!(
            "<> <http://schema.org/name> \"Ghost\" ; <http://schema.org/memberOf> <{}> .",
            server.url("/workers/ada-lovelace")
        ),
    );
    assert_eq!(wrong_class.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let ghost_skill = server.post("/workers/", "text/turtle", &format!(
        "<> <http://schema.org/name> \"Ghost\" ; <http://schema.org/memberOf> <{}> ; <http://schema.org/knowsAbout> <{}> .",
        server.url("/coops/test-co-op"), server.url("/skills/cobol")));
    assert_eq!(ghost_skill.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listing = json(server.get("/workers/", "application/ld+json"));
    assert_eq!(listing["contains"].as_array().unwrap().len(), 1);
}

#[test]
fn a_request_may_only_describe_its_own_resource() {
    let server = Server::start();
    let worker = seed(&server);
    let r = server.write(Method::PUT, &worker).header("Content-Type", "text/turtle")
        .body(format!("<> <http://schema.org/name> \"Ada\" ; <http://schema.org/memberOf> <{coop}> . <{coop}> <http://schema.org/name> \"Hijacked\" .",
            coop = server.url("/coops/test-co-op"))).send().unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json(server.get("/coops/test-co-op", "application/ld+json"))["name"],
        "Test Co-op"
    );
}

#[test]
fn the_container_decides_the_class() {
    let server = Server::start();
    seed(&server);
    // Read (and so cache) the container and the skill before they change.
    let skills = |server: &Server| {
        json(server.get("/skills/", "application/ld+json"))["contains"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(skills(&server), 1);
    assert!(
        json(server.get("/skills/rust", "application/ld+json"))
            .get("narrower")
            .is_none()
    );
    let r = server.post(
        "/skills/",
        "text/turtle",
        "<> a <http://schema.org/Person> ; <http://schema.org/name> \"Not a skill\" .",
    );
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let broader = server.post("/skills/", "application/ld+json", &serde_json::json!({
        "@context": server.url("/context.jsonld"), "id": "", "prefLabel": {"en": "Axum", "fr": "Axum"}, "broader": [server.url("/skills/rust")]
    }).to_string());
    assert_eq!(
        broader.status(),
        StatusCode::CREATED,
        "{}",
        broader.text().unwrap()
    );
    // The broader skill now lists the new one as narrower.
    assert_eq!(
        json(server.get("/skills/rust", "application/ld+json"))["narrower"],
        serde_json::json!([server.url("/skills/axum")])
    );
    assert_eq!(skills(&server), 2);
}
