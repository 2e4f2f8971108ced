//! The index on a small hand-made data set, where every expected order is computed by
//! hand from the formula in the crate's doc comment.

use std::sync::Arc;

use coopdir_access::policy::Audience;
use coopdir_store::{ChangeRecord, ChangeSet, GraphStore, Operation, OxigraphStore};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{Graph, NamedNode, Quad};
use time::macros::date;

use crate::query::SearchRequest;
use crate::{SearchIndex, Via};

const BASE: &str = "http://test.example/";
const TODAY: time::Date = date!(2026 - 12 - 02);

/// A taxonomy (web > frontend > react; rust; python; and an "ESCO" concept matched to
/// rust) and six people; graphs named as in the store, one per resource.
const DATA: &str = r#"
@prefix schema: <http://schema.org/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dir: <https://w3id.org/coopdir#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@base <http://test.example/> .

<skills/web> { <skills/web> a skos:Concept ; skos:prefLabel "Web development"@en . }
<skills/frontend> { <skills/frontend> a skos:Concept ; skos:prefLabel "Front-end development"@en, "Développement front-end"@fr ;
    skos:altLabel "front end"@en ; skos:broader <skills/web> . }
<skills/react> { <skills/react> a skos:Concept ; skos:prefLabel "React"@en ; skos:altLabel "ReactJS"@en ; skos:broader <skills/frontend> . }
<skills/rust> { <skills/rust> a skos:Concept ; skos:prefLabel "Rust"@en . }
<skills/python> { <skills/python> a skos:Concept ; skos:prefLabel "Python"@en . }
<http://esco.example/skill/rust> { <http://esco.example/skill/rust> a skos:Concept ;
    skos:prefLabel "Rust (programming language)"@en ; skos:exactMatch <skills/rust> . }
<coops/a> { <coops/a> a schema:Organization ; schema:name "Co-op A" . }

<workers/ana> { <workers/ana> a schema:Person ; schema:name "Ana" ; schema:memberOf <coops/a> ;
    schema:location "Lyon, France" ;
    dir:availability "available" ; dir:hoursPerWeek 40 ;
    dir:hasSkill [ dir:skill <skills/react> ; dir:level "expert" ], [ dir:skill <skills/rust> ; dir:level "beginner" ] . }
<workers/ben> { <workers/ben> a schema:Person ; schema:name "Ben" ; schema:memberOf <coops/a> ;
    dir:availability "available" ; dir:availableFrom "2026-12-20"^^xsd:date ; dir:hoursPerWeek 20 ;
    dir:hasSkill [ dir:skill <skills/frontend> ; dir:level "intermediate" ], [ dir:skill <skills/rust> ; dir:level "expert" ] . }
<workers/cleo> { <workers/cleo> a schema:Person ; schema:name "Cleo" ; schema:memberOf <coops/a> ;
    schema:location "Lyon" ; schema:jobTitle "Systems programmer" ;
    dir:availability "available" ; dir:hoursPerWeek 10 ;
    dir:hasSkill [ dir:skill <skills/rust> ; dir:level "expert" ] . }
<workers/abe> { <workers/abe> a schema:Person ; schema:name "Abe" ; schema:memberOf <coops/a> ;
    dir:availability "available" ; dir:hoursPerWeek 10 ;
    dir:hasSkill [ dir:skill <http://esco.example/skill/rust> ; dir:level "expert" ] . }
<workers/dan> { <workers/dan> a schema:Person ; schema:name "Dan" ; schema:memberOf <coops/a> ;
    dir:availability "unavailable" ; dir:hoursPerWeek 40 ;
    dir:hasSkill [ dir:skill <skills/web> ; dir:level "beginner" ], [ dir:skill <skills/rust> ; dir:level "intermediate" ] . }
<workers/eve> { <workers/eve> a schema:Person ; schema:name "Eve Lovelace" ; schema:memberOf <coops/a> ;
    dir:visibility "private" ; dir:availability "available" ;
    dir:hasSkill [ dir:skill <skills/python> ; dir:level "expert" ] . }

<projects/p> { <projects/p> a schema:Project ; schema:name "P" ; dir:status "open" ;
    schema:member <workers/ana> ;
    dir:need [ dir:skill <skills/rust> ; dir:level "expert" ; dir:headcount 2 ], [ dir:skill <skills/frontend> ; dir:headcount 1 ] . }
"#;

fn store() -> Arc<OxigraphStore> {
    let store = OxigraphStore::in_memory().expect("store");
    let quads: Vec<Quad> = RdfParser::from_format(RdfFormat::TriG)
        .for_slice(DATA.as_bytes())
        .collect::<Result<_, _>>()
        .expect("test data parses");
    store.bulk_load(quads, Vec::new()).expect("load");
    Arc::new(store)
}

fn index(store: &Arc<OxigraphStore>) -> SearchIndex {
    SearchIndex::open(store.clone(), None, BASE, &|_, _, _| {}).expect("index")
}

fn request(query: &str) -> SearchRequest {
    let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query);
    SearchRequest::parse(&pairs, 20, 100).expect("request parses")
}

fn serde_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.replace('+', " "))
        })
        .collect()
}

fn names(index: &SearchIndex, query: &str, audience: &Audience) -> Vec<String> {
    index
        .search(&request(query), audience, TODAY)
        .expect("search")
        .items
        .into_iter()
        .map(|h| h.name)
        .collect()
}

#[test]
fn ranking_follows_the_documented_formula() {
    let store = store();
    let index = index(&store);
    let public = Audience::Public;
    // all=true: Ben ((2·64+5)·18+10 = 2404) before Ana ((2·64+4)·18+17 = 2393); Abe,
    // Cleo and Dan lack front-end, Dan's broader "web" does not count.
    assert_eq!(
        names(&index, "skill=Front-end+development&skill=Rust", &public),
        ["Ben", "Ana"]
    );
    // all=false adds Abe and Cleo (1·64+3)·18+15 = 1221, tied and so ordered by name,
    // then Dan (66·18+2 = 1190).
    assert_eq!(
        names(
            &index,
            "skill=Front-end+development&skill=Rust&all=false",
            &public
        ),
        ["Ben", "Ana", "Abe", "Cleo", "Dan"]
    );
    // level=expert: Ana keeps react (1223), Abe and Cleo keep rust (1221), Ben keeps
    // rust only (67·18+10 = 1216); Dan has no expert skill.
    assert_eq!(
        names(
            &index,
            "skill=Front-end+development&skill=Rust&all=false&level=expert",
            &public
        ),
        ["Ana", "Abe", "Cleo", "Ben"]
    );
    let results = index
        .search(
            &request("skill=Front-end+development&skill=Rust"),
            &public,
            TODAY,
        )
        .expect("search");
    let ben = &results.items[0];
    assert_eq!(ben.parts.coverage, 2);
    assert_eq!(ben.parts.level, 5);
    assert_eq!(ben.parts.availability, 10);
    let best = ((2 * 64 + 2 * 3) * 18 + 17) as f64 + 1.0;
    assert!((ben.score - (2404.0 / best * 10_000.0).round() / 10_000.0).abs() < 1e-9);
    // Ana's front-end came through React, a narrower skill.
    let ana = &results.items[1];
    assert_eq!(ana.matched[0].skill.as_str(), format!("{BASE}skills/react"));
    assert_eq!(ana.matched[0].via, Via::Narrower);
    assert_eq!(ana.matched[1].via, Via::Itself);
}

#[test]
fn labels_in_any_language_synonyms_and_matches_find_the_same_people() {
    let store = store();
    let index = index(&store);
    let public = Audience::Public;
    let english = names(&index, "skill=Front-end+development", &public);
    assert_eq!(english, ["Ana", "Ben"]);
    for other in [
        "skill=développement+FRONT-END",
        "skill=Developpement+front-end",
        "skill=front+end",
        "skill=http://test.example/skills/frontend",
    ] {
        assert_eq!(names(&index, other, &public), english, "{other}");
    }
    // Abe holds the ESCO concept that is an exact match of our Rust.
    let rust = index
        .search(&request("skill=Rust"), &public, TODAY)
        .expect("search");
    let abe = rust
        .items
        .iter()
        .find(|h| h.name == "Abe")
        .expect("Abe found");
    assert_eq!(abe.matched[0].via, Via::Match);
    assert_eq!(rust.total, 5);
}

#[test]
fn filters_free_text_facets_and_visibility() {
    let store = store();
    let index = index(&store);
    let public = Audience::Public;
    // Lyon matches "Lyon, France" and "Lyon", case- and accent-insensitively.
    assert_eq!(names(&index, "place=lyon", &public), ["Ana", "Cleo"]);
    // Dan (66·18+2 = 1190) edges out Ana (65·18+17 = 1187): level before availability.
    assert_eq!(
        names(&index, "skill=Rust&minHours=30", &public),
        ["Dan", "Ana"]
    );
    // Dan is unavailable without a date; Ben is free from the 20th.
    assert_eq!(
        names(&index, "skill=Rust&available=now&all=false", &public),
        ["Abe", "Cleo", "Ana"]
    );
    assert_eq!(
        names(&index, "skill=Rust&available=2026-12-20", &public),
        ["Abe", "Cleo", "Ben", "Ana"]
    );
    // One typo per word, in any field.
    assert_eq!(names(&index, "q=sytems+programer", &public), ["Cleo"]);
    // Eve is private: invisible to the public, visible to server admins.
    assert!(names(&index, "q=lovelace", &public).is_empty());
    assert_eq!(
        names(&index, "q=lovelase", &Audience::Everyone),
        ["Eve Lovelace"]
    );
    let results = index
        .search(&request("skill=Rust"), &public, TODAY)
        .expect("search");
    let availability: usize = results.facets.availability.iter().map(|f| f.count).sum();
    assert_eq!(availability, results.total);
    assert_eq!(results.facets.coop[0].count, results.total);
    assert_eq!(results.facets.coop[0].label, "Co-op A");
}

#[test]
fn unknown_parameters_and_skills_are_named_with_suggestions() {
    let store = store();
    let index = index(&store);
    let err = SearchRequest::parse(&serde_urlencoded_pairs("skil=rust"), 20, 100)
        .expect_err("unknown parameter");
    assert!(err.to_string().contains("skil"), "{err}");
    match index.search(&request("skill=Reactt"), &Audience::Public, TODAY) {
        Err(crate::SearchError::BadQuery {
            unknown,
            suggestions,
            ..
        }) => {
            assert_eq!(unknown, ["Reactt"]);
            assert!(suggestions.contains(&"React".to_owned()), "{suggestions:?}");
        }
        other => panic!("expected a bad query, got {other:?}"),
    }
}

#[test]
fn candidates_and_team_cover_the_needs() {
    let store = store();
    let index = index(&store);
    let results = index
        .candidates(
            &format!("{BASE}projects/p"),
            &Audience::Public,
            TODAY,
            "en",
            10,
        )
        .expect("candidates");
    let names: Vec<&str> = results.candidates.iter().map(|h| h.name.as_str()).collect();
    // Ana is a member already. Rust at expert level: Ben, Cleo, Abe (ESCO match);
    // front-end: Ben. Ben covers both: (2·64+5)·18+10.
    assert_eq!(names, ["Ben", "Abe", "Cleo"]);
    // Greedy: Ben fills a rust place and the front-end place, Abe the second rust place.
    let team: Vec<(&str, usize)> = results
        .team
        .iter()
        .map(|m| (m.name.as_str(), m.covers.len()))
        .collect();
    assert_eq!(team, [("Ben", 2), ("Abe", 1)]);
    assert!(results.uncovered.is_empty());
}

#[test]
fn insight_counts_supply_and_demand() {
    let store = store();
    let index = index(&store);
    let insight = index.skills_insight(&Audience::Public, TODAY, "en");
    let rust = insight
        .iter()
        .find(|i| i.label == "Rust")
        .expect("rust needed");
    assert_eq!((rust.projects, rust.headcount), (1, 2));
    // Ana, Ben, Cleo, Abe (match), Dan; all but Dan free within 30 days.
    assert_eq!(rust.supply, 5);
    assert_eq!(rust.available_within_30_days, 4);
    assert_eq!(rust.available_now, 3);
    assert_eq!(rust.shortage, 2 - 4);
}

#[test]
fn skill_lookup_is_prefix_and_typo_tolerant() {
    let store = store();
    let index = index(&store);
    let hits = index
        .lookup_skills("reac", "en", &Audience::Public, 5)
        .expect("lookup");
    assert_eq!(hits[0].label, "React");
    let chain: Vec<&str> = hits[0].broader.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(chain, ["Front-end development", "Web development"]);
    let hits = index
        .lookup_skills("développement f", "fr", &Audience::Public, 5)
        .expect("lookup");
    assert_eq!(hits[0].label, "Développement front-end");
    // Front-end: Ana (react) and Ben; web adds Dan.
    assert_eq!(hits[0].people, 2);
}

#[test]
fn the_index_follows_the_change_log() {
    let store = store();
    let index = index(&store);
    let iri = NamedNode::new_unchecked(format!("{BASE}workers/zoe"));
    let mut graph = Graph::new();
    let ttl = format!(
        "{iri} a <http://schema.org/Person> ; <http://schema.org/name> \"Zoë\" ;
           <https://w3id.org/coopdir#hasSkill> [ <https://w3id.org/coopdir#skill> <{BASE}skills/python> ] ."
    );
    for t in RdfParser::from_format(RdfFormat::Turtle).for_slice(ttl.as_bytes()) {
        let q = t.expect("turtle");
        graph.insert(&oxigraph::model::Triple::new(
            q.subject,
            q.predicate,
            q.object,
        ));
    }
    let record = |operation| ChangeRecord {
        resource: iri.as_str().to_owned(),
        kind: "worker".into(),
        operation,
        origin: BASE.into(),
        actor: coopdir_store::Actor::Operator,
        time: "2026-12-02T00:00:00Z".into(),
        visibility_before: None,
        visibility_after: None,
    };
    store
        .apply(&ChangeSet {
            create: vec![(iri.clone(), graph)],
            records: vec![record(Operation::Create)],
            ..ChangeSet::default()
        })
        .expect("create");
    index.catch_up().expect("catch up");
    assert_eq!(names(&index, "skill=Python", &Audience::Public), ["Zoë"]);
    assert_eq!(names(&index, "q=zoe", &Audience::Public), ["Zoë"]);
    store
        .apply(&ChangeSet {
            drop: vec![iri.clone()],
            records: vec![record(Operation::Delete)],
            ..ChangeSet::default()
        })
        .expect("delete");
    index.catch_up().expect("catch up");
    assert!(names(&index, "skill=Python", &Audience::Public).is_empty());
    assert!(names(&index, "q=zoe", &Audience::Public).is_empty());
}
