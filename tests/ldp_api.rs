//! The LDP API end to end: CRUD in every format, content negotiation, headers, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, StatusCode, json, parse, seed};
use oxigraph::io::RdfFormat;
use reqwest::Method;

#[test]
fn a_worker_is_created_read_in_three_formats_updated_and_deleted() {
    let server = Server::start();
    let worker = seed(&server);

    // JSON-LD (default), Turtle and N-Triples describe the same graph.
    let jsonld = server.get_authenticated(&worker, "application/ld+json");
    assert_eq!(jsonld.status(), StatusCode::OK);
    assert_eq!(jsonld.headers()["content-type"], "application/ld+json");
    let jsonld_text = jsonld.text().unwrap();
    let turtle = server.get_authenticated(&worker, "text/turtle");
    assert_eq!(turtle.headers()["content-type"], "text/turtle");
    let turtle_text = turtle.text().unwrap();
    let ntriples = server
        .get_authenticated(&worker, "application/n-triples")
        .text()
        .unwrap();
    let base = server.url(&worker);
    let from_jsonld = parse_jsonld(&server, &jsonld_text);
    let from_turtle = parse(&turtle_text, RdfFormat::Turtle, &base);
    let from_ntriples = parse(&ntriples, RdfFormat::NTriples, &base);
    assert_eq!(
        from_jsonld, from_turtle,
        "JSON-LD:\n{jsonld_text}\nTurtle:\n{turtle_text}"
    );
    assert_eq!(from_turtle, from_ntriples);
    let doc: serde_json::Value = serde_json::from_str(&jsonld_text).unwrap();
    assert_eq!(doc["@context"], server.url("/context.jsonld"));
    assert_eq!(doc["type"], "Worker");
    assert_eq!(doc["name"], "Ada Lovelace");
    assert!(
        doc["created"].is_string() && doc["modified"].is_string(),
        "server-set timestamps: {doc}"
    );
    // Every qualified skill is also a knowsAbout.
    assert_eq!(
        doc["knowsAbout"],
        serde_json::json!([server.url("/skills/rust")])
    );

    // PUT replaces (JSON-LD in, relative id).
    let put = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "application/ld+json")
        .body(
            serde_json::json!({
                "@context": server.url("/context.jsonld"),
                "id": "",
                "type": "Worker",
                "name": "Ada King",
                "memberOf": [server.url("/coops/test-co-op")],
                "jobTitle": "Analyst"
            })
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK, "{}", put.text().unwrap());
    let doc = json(server.get(&worker, "application/ld+json"));
    assert_eq!(doc["name"], "Ada King");
    assert_eq!(doc["jobTitle"], "Analyst");
    assert!(
        doc.get("hasSkill").is_none(),
        "PUT replaces the whole resource: {doc}"
    );

    // PATCH with SPARQL Update.
    let patch = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .body("PREFIX schema: <http://schema.org/> DELETE { <> schema:jobTitle ?t } INSERT { <> schema:jobTitle \"Engineer\" } WHERE { <> schema:jobTitle ?t }")
        .send()
        .unwrap();
    assert_eq!(patch.status(), StatusCode::OK, "{}", patch.text().unwrap());
    assert_eq!(
        json(server.get(&worker, "application/ld+json"))["jobTitle"],
        "Engineer"
    );

    // PATCH with Solid N3 Patch.
    let n3 = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "text/n3")
        .body(
            "@prefix solid: <http://www.w3.org/ns/solid/terms#>. @prefix schema: <http://schema.org/>.
             _:p a solid:InsertDeletePatch;
               solid:where { ?w schema:jobTitle \"Engineer\" };
               solid:deletes { ?w schema:jobTitle \"Engineer\" };
               solid:inserts { ?w schema:jobTitle \"Principal engineer\" }.",
        )
        .send()
        .unwrap();
    assert_eq!(n3.status(), StatusCode::OK, "{}", n3.text().unwrap());
    assert_eq!(
        json(server.get(&worker, "application/ld+json"))["jobTitle"],
        "Principal engineer"
    );

    // DELETE, then 404, and the co-op no longer lists the worker.
    let delete = server.write(Method::DELETE, &worker).send().unwrap();
    assert_eq!(delete.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.get(&worker, "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
    let coop = json(server.get("/coops/test-co-op", "application/ld+json"));
    assert!(coop.get("member").is_none(), "{coop}");
}

fn parse_jsonld(server: &Server, text: &str) -> oxigraph::model::Graph {
    // Our context is served by the server itself; load it for oxigraph's parser.
    let context = server
        .get("/context.jsonld", "application/ld+json")
        .text()
        .unwrap();
    let context_url = server.url("/context.jsonld");
    let mut graph = oxigraph::model::Graph::new();
    let parser = oxjsonld::JsonLdParser::new()
        .with_base_iri(server.base.clone())
        .unwrap()
        .for_slice(text.as_bytes())
        .with_load_document_callback(move |url, _| {
            assert_eq!(url, context_url, "only our context is referenced");
            Ok(oxjsonld::JsonLdRemoteDocument {
                document: context.clone().into_bytes(),
                document_url: url.into(),
            })
        });
    for quad in parser {
        let quad = quad.unwrap();
        graph.insert(oxigraph::model::TripleRef::new(
            &quad.subject,
            &quad.predicate,
            &quad.object,
        ));
    }
    graph.canonicalize(oxigraph::model::dataset::CanonicalizationAlgorithm::Unstable);
    graph
}

#[test]
fn anonymous_readers_do_not_see_worker_emails() {
    let server = Server::start();
    let worker = seed(&server);
    let public = json(server.get(&worker, "application/ld+json"));
    assert!(public.get("email").is_none(), "{public}");
    let member = json(server.get_authenticated(&worker, "application/ld+json"));
    assert_eq!(member["email"], "ada@example.org");
}

#[test]
fn headers_describe_resources_and_containers() {
    let server = Server::start();
    let worker = seed(&server);
    let r = server.get(&worker, "text/turtle");
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains("<http://www.w3.org/ns/ldp#Resource>; rel=\"type\""),
        "{link}"
    );
    assert!(
        link.contains(&format!(
            "<{}>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\"",
            server.url("/shapes/worker")
        )),
        "{link}"
    );
    assert!(r.headers()["allow"].to_str().unwrap().contains("PATCH"));
    assert!(
        r.headers()["accept-patch"]
            .to_str()
            .unwrap()
            .contains("text/n3")
    );
    assert!(r.headers()["vary"].to_str().unwrap().contains("Accept"));
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"'), "strong ETag: {etag}");

    // A fresh ETag gives 304.
    let again = server
        .client()
        .get(server.url(&worker))
        .header("Accept", "text/turtle")
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let c = server.get("/workers/", "text/turtle");
    let link = c.headers()["link"].to_str().unwrap();
    assert!(link.contains("BasicContainer"), "{link}");
    assert!(
        c.headers()["accept-post"]
            .to_str()
            .unwrap()
            .contains("text/turtle")
    );

    // OPTIONS and CORS preflight.
    let options = server
        .client()
        .request(Method::OPTIONS, server.url("/workers/"))
        .header("Origin", "https://app.example.org")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, content-type",
        )
        .send()
        .unwrap();
    assert!(options.status().is_success());
    assert_eq!(
        options.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    let cors_get = server
        .client()
        .get(server.url(&worker))
        .header("Origin", "https://app.example.org")
        .send()
        .unwrap();
    assert!(
        cors_get.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("etag")
    );
}

#[test]
fn content_negotiation_defaults_to_json_ld_and_refuses_what_it_cannot_give() {
    let server = Server::start();
    let worker = seed(&server);
    for accept in [
        "*/*",
        "application/json",
        "text/html;q=0.5, application/ld+json",
    ] {
        let r = server.get(&worker, accept);
        assert_eq!(
            r.headers()["content-type"],
            "application/ld+json",
            "Accept: {accept}"
        );
    }
    // A browser gets the page; `?format=` gets the data from the same URL.
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";
    let r = server.get(&worker, browser);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(r.headers()["vary"].to_str().unwrap().contains("Accept"));
    let page = r.text().unwrap();
    assert!(page.contains("format=turtle"), "no link to the Turtle view");
    for (format, media) in [
        ("jsonld", "application/ld+json"),
        ("turtle", "text/turtle"),
        ("ntriples", "application/n-triples"),
    ] {
        let r = server.get(&format!("{worker}?format={format}"), browser);
        assert_eq!(r.status(), StatusCode::OK, "format={format}");
        assert_eq!(r.headers()["content-type"], media, "format={format}");
    }
    let r = server.get(&format!("{worker}?format=pdf"), browser);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = server.get(&worker, "image/png");
    assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}

#[test]
fn containers_embed_member_summaries_and_page_with_link_headers() {
    let server = Server::start_with(&["--demo", "--page-size", "10"]);
    let page1 = server.get("/workers/", "application/ld+json");
    let link = page1.headers()["link"].to_str().unwrap().to_owned();
    assert!(
        link.contains(&format!(
            "<{}?page=2>; rel=\"next\"",
            server.url("/workers/")
        )),
        "{link}"
    );
    assert!(link.contains("rel=\"first\""));
    let doc = json(page1);
    let members = doc["contains"].as_array().expect("contains");
    assert_eq!(members.len(), 10);
    assert!(
        members[0]["name"].is_string() && members[0]["type"] == "Worker",
        "{}",
        members[0]
    );
    assert!(
        members[0].get("email").is_none(),
        "summaries hold public data only"
    );

    // Following next links visits all 30 workers once.
    let mut seen = Vec::new();
    let mut url = Some(server.url("/workers/"));
    while let Some(u) = url {
        let r = server
            .client()
            .get(&u)
            .header("Accept", "application/ld+json")
            .send()
            .unwrap();
        let next = r.headers()["link"]
            .to_str()
            .unwrap()
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            });
        for m in json(r)["contains"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_owned());
        }
        url = next;
    }
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((count, seen.len()), (30, 30));

    // PreferMinimalContainer leaves the members out.
    let minimal = server
        .client()
        .get(server.url("/workers/"))
        .header("Accept", "application/ld+json")
        .header(
            "Prefer",
            "return=representation; include=\"http://www.w3.org/ns/ldp#PreferMinimalContainer\"",
        )
        .send()
        .unwrap();
    assert_eq!(
        minimal.headers()["preference-applied"],
        "return=representation"
    );
    assert!(json(minimal).get("contains").is_none());
}

#[test]
fn post_honours_slug_and_never_clashes() {
    let server = Server::start();
    seed(&server);
    let body = format!(
        "@prefix schema: <http://schema.org/> . <> schema:name \"Ada Lovelace\" ; schema:memberOf <{}> .",
        server.url("/coops/test-co-op")
    );
    // Same name as the seeded worker: a new slug.
    let second = server.post("/workers/", "text/turtle", &body);
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(
        second.headers()["location"],
        server.url("/workers/ada-lovelace-2").as_str()
    );
    let slugged = server
        .write(Method::POST, "/workers/")
        .header("Content-Type", "text/turtle")
        .header("Slug", "../Ada Three!")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(
        slugged.headers()["location"],
        server.url("/workers/ada-three").as_str()
    );
    let minimal = server
        .write(Method::POST, "/workers/")
        .header("Content-Type", "text/turtle")
        .header("Prefer", "return=minimal")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(minimal.status(), StatusCode::CREATED);
    assert_eq!(minimal.headers()["preference-applied"], "return=minimal");
    assert!(minimal.text().unwrap().is_empty());
}

#[test]
fn stale_etag_gets_412_and_changes_nothing() {
    let server = Server::start();
    let worker = seed(&server);
    let etag = server.get(&worker, "text/turtle").headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let ok = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .header("If-Match", &etag)
        .body("PREFIX schema: <http://schema.org/> INSERT DATA { <> schema:jobTitle \"Poet\" }")
        .send()
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let before = server.graph(&worker);
    let stale = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .header("If-Match", &etag)
        .body("PREFIX schema: <http://schema.org/> INSERT DATA { <> schema:description \"late\" }")
        .send()
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");
    assert_eq!(server.graph(&worker), before);
}

#[test]
fn a_missing_required_property_gets_422_with_a_report_naming_it() {
    let server = Server::start();
    let worker = seed(&server);
    let before = server.graph(&worker);
    let r = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .body("PREFIX schema: <http://schema.org/> DELETE WHERE { <> schema:name ?n }")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json(r);
    assert_eq!(problem["status"], 422);
    let results = problem["report"]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|v| v["path"] == "http://schema.org/name"
            && v["focusNode"] == server.url(&worker)
            && v["constraint"] == "MinCount"),
        "{problem}"
    );
    assert!(problem["detail"].as_str().unwrap().contains("name"));
    assert_eq!(server.graph(&worker), before);

    // A link to a skill that does not exist is refused the same way.
    let r = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/sparql-update")
        .body(format!(
            "PREFIX schema: <http://schema.org/> INSERT DATA {{ <> schema:knowsAbout <{}> }}",
            server.url("/skills/cobol")
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(server.graph(&worker), before);
}

#[test]
fn malformed_bodies_get_400_and_unknown_types_415() {
    let server = Server::start();
    let worker = seed(&server);
    let before = server.graph(&worker);
    let bad_turtle = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "text/turtle")
        .body("<> <http://schema.org/name> \"unterminated .")
        .send()
        .unwrap();
    assert_eq!(bad_turtle.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_turtle.headers()["content-type"],
        "application/problem+json"
    );
    let bad_json = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "application/ld+json")
        .body("{\"name\": ")
        .send()
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    let unknown_key = server.write(Method::PUT, &worker).header("Content-Type", "application/ld+json")
        .body(serde_json::json!({"@context": server.url("/context.jsonld"), "id": "", "name": "X", "nmae": "typo"}).to_string()).send().unwrap();
    assert_eq!(unknown_key.status(), StatusCode::BAD_REQUEST);
    assert!(
        json(unknown_key)["detail"]
            .as_str()
            .unwrap()
            .contains("nmae")
    );
    let remote = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "application/ld+json")
        .body(
            serde_json::json!({"@context": "https://example.org/ctx.jsonld", "name": "X"})
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(remote.status(), StatusCode::BAD_REQUEST);
    let xml = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "application/rdf+xml")
        .body("<rdf:RDF/>")
        .send()
        .unwrap();
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let patch_json = server
        .write(Method::PATCH, &worker)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(patch_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        patch_json.headers()["accept-patch"]
            .to_str()
            .unwrap()
            .contains("sparql-update")
    );
    assert_eq!(server.graph(&worker), before);
}

#[test]
fn oversized_bodies_get_413_before_being_read() {
    let server = Server::start_with(&["--max-body-bytes", "4096"]);
    let worker = seed(&server);
    let before = server.graph(&worker);
    let big = format!(
        "<> <http://schema.org/description> \"{}\" .",
        "x".repeat(10_000)
    );
    let r = server
        .write(Method::PUT, &worker)
        .header("Content-Type", "text/turtle")
        .body(big)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert_eq!(server.graph(&worker), before);
}

#[test]
fn writes_without_a_valid_token_get_401() {
    let server = Server::start();
    let worker = seed(&server);
    let before = server.graph(&worker);
    let body = "<> <http://schema.org/name> \"Mallory\" .";
    let none = server
        .client()
        .put(server.url(&worker))
        .header("Content-Type", "text/turtle")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let bad = server
        .client()
        .delete(server.url(&worker))
        .bearer_auth("cdt_forged")
        .send()
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let post = server
        .client()
        .post(server.url("/workers/"))
        .header("Content-Type", "text/turtle")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(server.graph(&worker), before);
}

#[test]
fn unsupported_methods_get_405_with_allow() {
    let server = Server::start();
    let r = server.write(Method::DELETE, "/workers/").send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers()["allow"].to_str().unwrap().contains("POST"));
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let r = server.write(Method::POST, "/").send().unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn the_context_vocabulary_and_shapes_are_published() {
    let server = Server::start();
    let context = json(server.get("/context.jsonld", "application/ld+json"));
    assert_eq!(context["@context"]["Worker"], "schema:Person");
    let ns = server.get("/ns", "text/turtle");
    assert_eq!(ns.headers()["content-type"], "text/turtle");
    assert!(ns.text().unwrap().contains("dir:hasSkill"));
    let shape = server.get("/shapes/worker", "text/turtle").text().unwrap();
    assert!(shape.contains("sh:targetClass schema:Person"));
    assert_eq!(
        server.get("/shapes/nope", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn head_answers_like_get_without_a_body_and_put_can_create() {
    let server = Server::start();
    let worker = seed(&server);
    let head = server
        .client()
        .head(server.url(&worker))
        .header("Accept", "text/turtle")
        .send()
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers().contains_key("etag"));
    assert!(head.text().unwrap().is_empty());

    // PUT to a new IRI creates it; If-None-Match: * refuses to overwrite.
    let body = format!(
        "<> <http://schema.org/name> \"Grace\" ; <http://schema.org/memberOf> <{}> .",
        server.url("/coops/test-co-op")
    );
    let created = server
        .write(Method::PUT, "/workers/grace")
        .header("Content-Type", "text/turtle")
        .header("If-None-Match", "*")
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        created.headers()["location"],
        server.url("/workers/grace").as_str()
    );
    let again = server
        .write(Method::PUT, "/workers/grace")
        .header("Content-Type", "text/turtle")
        .header("If-None-Match", "*")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(again.status(), StatusCode::PRECONDITION_FAILED);
    let listing = json(server.get("/workers/", "application/ld+json"));
    assert_eq!(listing["contains"].as_array().unwrap().len(), 2);
}

#[test]
fn the_demo_data_has_the_cotech_coops_a_bilingual_taxonomy_and_projects() {
    let server = Server::start_demo();
    let skills = json(server.get("/skills/?size=1000", "application/ld+json"));
    let concepts: Vec<&serde_json::Value> = skills["contains"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["type"] == "Skill")
        .collect();
    assert!(concepts.len() >= 150, "{} concepts", concepts.len());
    assert!(
        concepts
            .iter()
            .all(|c| c["prefLabel"]["en"].is_string() && c["prefLabel"]["fr"].is_string())
    );
    let with_broader = concepts.iter().filter(|c| c["broader"].is_array()).count();
    assert!(
        with_broader >= 140,
        "{with_broader} concepts have a broader one"
    );
    let rust = json(server.get("/skills/rust", "application/ld+json"));
    assert_eq!(rust["altLabel"]["en"], "rustlang");
    let coops = json(server.get("/coops/", "application/ld+json"));
    let names: Vec<&str> = coops["contains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in [
        "Good Praxis",
        "Co-op Web",
        "Animorph",
        "Webarchitects",
        "Code Operative",
        "Agile Collective",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let projects = json(server.get("/projects/", "application/ld+json"));
    assert_eq!(projects["contains"].as_array().unwrap().len(), 8);
    let link = server.get("/workers/ada-okafor", "text/turtle").headers()["link"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        link.contains(&format!(
            "<{}>; rel=\"describedby\"",
            server.url("/shapes/worker")
        )),
        "{link}"
    );
}

#[test]
fn n_triples_bodies_are_accepted_with_absolute_iris() {
    let server = Server::start();
    seed(&server);
    let target = server.url("/workers/nt-worker");
    let body = format!(
        "<{target}> <http://schema.org/name> \"Niamh\" .\n<{target}> <http://schema.org/memberOf> <{}> .\n",
        server.url("/coops/test-co-op")
    );
    let r = server
        .write(Method::PUT, "/workers/nt-worker")
        .header("Content-Type", "application/n-triples")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    assert_eq!(
        json(server.get("/workers/nt-worker", "application/ld+json"))["name"],
        "Niamh"
    );
}
