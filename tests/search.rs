//! Collaborator search, skill lookup, candidates and insight on a real server with the
//! demo data.

use coopdir_e2e::{Server, json};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

fn search(server: &Server, query: &str, token: Option<&str>) -> Value {
    let r = server
        .request(reqwest::Method::GET, &format!("/search?{query}"), token)
        .send()
        .expect("GET /search");
    assert_eq!(r.status(), StatusCode::OK, "{query}");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap_or(""),
        "application/ld+json"
    );
    json(r)
}

fn ids(results: &Value) -> Vec<String> {
    results["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["id"]
                .as_str()
                .expect("id")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const FRONT_END: [&str; 8] = [
    "bea-lindqvist",
    "gwen-haddad",
    "niall-novak",
    "oona-adeyemi",
    "priya-thorne",
    "quinn-rahman",
    "viktor-morgan",
    "yara-achebe",
];

#[test]
fn a_broad_skill_finds_people_who_listed_only_narrower_ones() {
    let server = Server::start_demo();
    let results = search(&server, "skill=Front-end%20development", None);
    assert_eq!(results["totalItems"], 8);
    let found = ids(&results);
    assert_eq!(
        found.iter().cloned().collect::<BTreeSet<_>>(),
        set(&FRONT_END)
    );
    // Experts first (svelte, tailwind, react, angular), then Bea (intermediate, the skill
    // itself), then the beginners.
    assert_eq!(
        found[..4].iter().cloned().collect::<BTreeSet<_>>(),
        set(&[
            "niall-novak",
            "oona-adeyemi",
            "viktor-morgan",
            "yara-achebe"
        ])
    );
    assert_eq!(found[4], "bea-lindqvist");
    let item = |id: &str| {
        results["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"].as_str().is_some_and(|s| s.ends_with(id)))
            .cloned()
            .expect("item")
    };
    let viktor = item("viktor-morgan");
    assert_eq!(viktor["matched"][0]["skill"], server.url("/skills/react"));
    assert_eq!(viktor["matched"][0]["via"], "narrower");
    assert_eq!(viktor["matched"][0]["throughNarrower"], true);
    assert_eq!(viktor["matched"][0]["level"], "expert");
    assert_eq!(viktor["origin"], server.url("/"));
    let bea = item("bea-lindqvist");
    assert_eq!(bea["matched"][0]["skill"], server.url("/skills/frontend"));
    assert_eq!(bea["matched"][0]["via"], "self");
    // Scores go down the list, and facets count every match.
    let scores: Vec<f64> = results["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["score"].as_f64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let facet_total = |facet: &str| -> u64 {
        results["facets"][facet]
            .as_array()
            .expect("facet")
            .iter()
            .map(|v| v["count"].as_u64().expect("count"))
            .sum()
    };
    assert_eq!(facet_total("byAvailability"), 8);
    assert_eq!(facet_total("byCoop"), 8, "each demo worker is in one co-op");
    // A page of two, with links to the others.
    let page = search(
        &server,
        "skill=Front-end%20development&pageSize=2&page=2",
        None,
    );
    assert_eq!(ids(&page), found[2..4]);
    assert!(page["next"].as_str().expect("next").contains("page=3"));
    assert!(page["prev"].as_str().expect("prev").contains("page=1"));
    assert!(page["last"].as_str().expect("last").contains("page=4"));
}

#[test]
fn a_french_label_and_a_synonym_find_the_same_people_as_the_english_label() {
    let server = Server::start_demo();
    let english = ids(&search(&server, "skill=Front-end%20development", None));
    for query in [
        "skill=D%C3%A9veloppement%20front-end",
        "skill=developpement%20FRONT-END",
        "skill=frontend",
        "skill=client%20side",
        &format!("skill={}", server.url("/skills/frontend")),
    ] {
        assert_eq!(ids(&search(&server, query, None)), english, "{query}");
    }
    // Two skills, both required, or either.
    let both = ids(&search(&server, "skill=Svelte&skill=Rust", None));
    let either = ids(&search(&server, "skill=Svelte&skill=Rust&all=false", None));
    assert!(both.len() < either.len());
    assert!(both.iter().all(|b| either.contains(b)));
}

#[test]
fn a_misspelled_free_text_term_still_finds_the_intended_person() {
    let server = Server::start_demo();
    assert_eq!(ids(&search(&server, "q=Lindqvst", None)), ["bea-lindqvist"]);
    let accessibility = ids(&search(&server, "q=acessibility%20specialist", None));
    assert!(
        accessibility.contains(&"ada-okafor".to_owned()),
        "{accessibility:?}"
    );
}

#[test]
fn unknown_parameters_and_skills_are_named_and_close_labels_suggested() {
    let server = Server::start_demo();
    let r = server.get("/search?skil=rust", "application/ld+json");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem = json(r);
    assert_eq!(problem["unknown"][0], "skil");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("skill")
    );
    let r = server.get("/search?skill=Pythn&skill=Rust", "application/ld+json");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let problem = json(r);
    assert_eq!(problem["unknown"], serde_json::json!(["Pythn"]));
    assert!(
        problem["suggestions"]
            .as_array()
            .expect("suggestions")
            .iter()
            .any(|s| s == "Python"),
        "{problem}"
    );
    for bad in [
        "level=guru",
        "available=tomorrow",
        "all=maybe",
        "pageSize=0",
        "coop=nowhere",
    ] {
        let r = server.get(&format!("/search?{bad}"), "application/ld+json");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[test]
fn deleted_members_only_and_private_people_never_appear_to_anonymous_readers() {
    let server = Server::start_demo();
    let patch = |worker: &str, visibility: &str| {
        let r = server
            .write(reqwest::Method::PATCH, &format!("/workers/{worker}"))
            .header("Content-Type", "application/sparql-update")
            .body(format!(
                "PREFIX dir: <https://w3id.org/coopdir#> INSERT DATA {{ <{}> dir:visibility \"{visibility}\" }}",
                server.url(&format!("/workers/{worker}"))
            ))
            .send()
            .expect("PATCH");
        assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
    };
    patch("viktor-morgan", "private");
    patch("niall-novak", "members");
    let r = server
        .write(reqwest::Method::DELETE, "/workers/yara-achebe")
        .send()
        .expect("DELETE");
    assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());

    // Each write's response has returned: search already reflects it.
    let anonymous = search(&server, "skill=Front-end%20development", None);
    let seen: BTreeSet<String> = ids(&anonymous).into_iter().collect();
    let mut expected = set(&FRONT_END);
    for gone in ["viktor-morgan", "niall-novak", "yara-achebe"] {
        expected.remove(gone);
    }
    assert_eq!(seen, expected);
    assert_eq!(anonymous["totalItems"], 5);
    let facets = anonymous["facets"].to_string();
    assert!(!facets.contains("viktor") && !facets.contains("yara"));
    for q in ["q=viktor%20morgan", "q=yara%20achebe"] {
        assert_eq!(search(&server, q, None)["totalItems"], 0, "{q}");
    }
    // The lookup counts and the insight see the same people.
    let lookup = json(server.get("/search/skills?q=front-end", "application/ld+json"));
    assert_eq!(lookup["items"][0]["id"], server.url("/skills/frontend"));
    assert_eq!(lookup["items"][0]["people"], 5);

    // A member of another co-op sees members-only Niall, not private Viktor; a server
    // admin sees both; nobody sees Yara.
    let (_, member) = server.add_person("co-op-web", "m@example.org", "Mem Ber", "member");
    let as_member: BTreeSet<String> = ids(&search(
        &server,
        "skill=Front-end%20development",
        Some(&member),
    ))
    .into_iter()
    .collect();
    assert!(as_member.contains("niall-novak") && !as_member.contains("viktor-morgan"));
    let as_admin: BTreeSet<String> = ids(&search(
        &server,
        "skill=Front-end%20development",
        Some(&server.token),
    ))
    .into_iter()
    .collect();
    assert!(as_admin.contains("niall-novak") && as_admin.contains("viktor-morgan"));
    assert!(!as_admin.contains("yara-achebe"));
}

#[test]
fn every_write_is_searchable_as_soon_as_its_response_returns() {
    let server = Server::start_demo();
    for i in 0..15 {
        let name = format!("Searchable Person {i}");
        let r = server.post(
            "/workers/",
            "text/turtle",
            &format!(
                "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
                 <> a schema:Person ; schema:name \"{name}\" ; schema:memberOf <{}> ;
                    dir:hasSkill [ dir:skill <{}> ; dir:level \"expert\" ] .",
                server.url("/coops/animorph"),
                server.url("/skills/haskell")
            ),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        let found = search(&server, &format!("q=person%20{i}"), None);
        assert_eq!(found["totalItems"], 1, "person {i} not searchable yet");
        let by_skill = search(&server, "skill=Haskell&level=expert", None);
        assert!(
            by_skill.to_string().contains(&name),
            "person {i} not found by skill"
        );
    }
}

#[test]
fn a_restart_with_a_deleted_index_rebuilds_it() {
    let mut server = Server::start_demo();
    let before = search(&server, "skill=Front-end%20development", None);
    let lookup_before = json(server.get("/search/skills?q=pyth", "application/ld+json"));
    server.stop();
    let index = server.data.path().join("search-index");
    assert!(index.exists(), "the index lives in the data directory");
    std::fs::remove_dir_all(&index).expect("remove index");
    server.restart();
    assert!(index.exists(), "rebuilt at start-up");
    assert_eq!(
        search(&server, "skill=Front-end%20development", None)["items"],
        before["items"]
    );
    assert_eq!(
        json(server.get("/search/skills?q=pyth", "application/ld+json")),
        lookup_before
    );
    // A garbled index is rebuilt too.
    server.stop();
    std::fs::write(index.join("meta.json"), b"{ not json").expect("garble");
    server.restart();
    assert_eq!(
        ids(&search(&server, "q=Lindqvist", None)),
        ["bea-lindqvist"]
    );
}

#[test]
fn skill_lookup_answers_prefixes_typos_and_languages() {
    let server = Server::start_demo();
    let lookup = |q: &str| json(server.get(&format!("/search/skills?{q}"), "application/ld+json"));
    let react = lookup("q=reac");
    assert_eq!(react["items"][0]["id"], server.url("/skills/react"));
    let chain: Vec<String> = react["items"][0]["broader"]
        .as_array()
        .expect("broader")
        .iter()
        .map(|b| {
            b["id"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        chain,
        ["frontend", "web-development", "software-development"]
    );
    let typo = lookup("q=javscript");
    assert_eq!(typo["items"][0]["id"], server.url("/skills/javascript"));
    let french = lookup("q=d%C3%A9veloppement%20f&lang=fr");
    assert_eq!(french["items"][0]["id"], server.url("/skills/frontend"));
    assert_eq!(french["items"][0]["label"], "Développement front-end");
    assert_eq!(french["items"][0]["people"], 8);
    let synonym = lookup("q=rustl");
    assert_eq!(synonym["items"][0]["matchedLabel"], "rustlang");
    assert_eq!(
        server.get("/search/skills", "application/ld+json").status(),
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn project_candidates_exclude_members_and_the_team_covers_every_need() {
    let server = Server::start_demo();
    let r = server.get(
        "/projects/fediverse-events/candidates",
        "application/ld+json",
    );
    assert_eq!(r.status(), StatusCode::OK);
    let c = json(r);
    let members = ["eli-nakamura", "kemi-duarte", "quinn-rahman"];
    let candidates = ids(&serde_json::json!({ "items": c["candidates"] }));
    assert!(!candidates.is_empty());
    assert!(candidates.iter().all(|id| !members.contains(&id.as_str())));
    // Every team place is a need the member really covers (per their matches), and
    // every need is either filled to its headcount or reported uncovered.
    let needs = c["need"].as_array().expect("needs");
    for need in needs {
        let skill = need["skill"].as_str().expect("skill");
        let filled = c["team"]
            .as_array()
            .expect("team")
            .iter()
            .filter(|m| {
                m["covers"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|s| s == skill))
            })
            .count() as u64;
        let missing = c["uncovered"]
            .as_array()
            .expect("uncovered")
            .iter()
            .find(|u| u["skill"] == skill)
            .map_or(0, |u| u["missing"].as_u64().unwrap_or(0));
        assert_eq!(
            filled + missing,
            need["headcount"].as_u64().unwrap_or(1),
            "{skill}: {c}"
        );
    }
    for member in c["team"].as_array().expect("team") {
        let candidate = c["candidates"]
            .as_array()
            .expect("candidates")
            .iter()
            .find(|x| x["id"] == member["id"])
            .expect("team members are candidates");
        for skill in member["covers"].as_array().expect("covers") {
            assert!(
                candidate["matched"]
                    .as_array()
                    .expect("matched")
                    .iter()
                    .any(|m| m["requested"] == *skill),
                "{member} does not cover {skill}"
            );
        }
    }
    // A project whose needs the network can meet gets a full team.
    let r = server.post(
        "/projects/",
        "text/turtle",
        &format!(
            "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
             <> a schema:Project ; schema:name \"Team test\" ; dir:status \"open\" ;
                dir:requiresSkill <{}>, <{}>, <{}> .",
            server.url("/skills/frontend"),
            server.url("/skills/python"),
            server.url("/skills/accessibility")
        ),
    );
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    let c = json(server.get("/projects/team-test/candidates", "application/ld+json"));
    assert_eq!(c["uncovered"], serde_json::json!([]), "{c}");
    let team = c["team"].as_array().expect("team");
    assert!(!team.is_empty() && team.len() <= 3);
    let covered: usize = team
        .iter()
        .map(|m| m["covers"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(covered, 3);
    assert_eq!(
        server
            .get("/projects/nope/candidates", "application/ld+json")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn skills_insight_weighs_demand_against_supply() {
    let server = Server::start_demo();
    let r = server.get("/insights/skills", "application/ld+json");
    assert_eq!(r.status(), StatusCode::OK);
    let insight = json(r);
    let items = insight["items"].as_array().expect("items");
    assert!(!items.is_empty());
    let shortages: Vec<i64> = items
        .iter()
        .map(|i| i["shortage"].as_i64().expect("shortage"))
        .collect();
    assert!(
        shortages.windows(2).all(|w| w[0] >= w[1]),
        "sorted by shortage"
    );
    // Supply is what a search for the skill finds.
    for item in items.iter().take(5) {
        let skill = item["id"].as_str().expect("id");
        let found = search(&server, &format!("skill={skill}"), None);
        assert_eq!(item["supply"], found["totalItems"], "{skill}");
        assert!(item["availableNow"].as_u64() <= item["availableWithin30Days"].as_u64());
        assert_eq!(
            item["shortage"].as_i64().expect("shortage"),
            item["headcount"].as_i64().expect("headcount")
                - item["availableWithin30Days"].as_i64().expect("within")
        );
    }
}
