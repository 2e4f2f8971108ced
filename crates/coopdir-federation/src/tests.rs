//! The outbox of one in-memory directory applied to another's replicas, without HTTP:
//! compaction, ordering, what never leaves, and digests that agree.

use std::sync::Arc;
use std::time::Duration;

use coopdir_access::{AccessConfig, Principal};
use coopdir_ldp::{Directory, Paths, Precondition, load_shapes};
use coopdir_store::OxigraphStore;
use coopdir_syntax::{InputFormat, parse_graph};
use coopdir_vocab::Kind;
use oxigraph::model::NamedNode;

use crate::outbox::Outbox;
use crate::peers::{PeerState, Peers};
use crate::sync::PassLog;
use crate::{FederationConfig, digest};

const A: &str = "http://a.test/";
const B: &str = "http://b.test/";

fn directory(base: &str) -> Arc<Directory> {
    let store = OxigraphStore::in_memory().expect("store");
    Arc::new(
        Directory::new(
            Arc::new(store),
            load_shapes(None).expect("shapes"),
            Paths::new(base),
            AccessConfig::default(),
        )
        .expect("directory"),
    )
}

fn create(dir: &Directory, kind: Kind, slug: &str, turtle: &str) {
    let provisional = dir.provisional_iri(kind);
    let graph = parse_graph(
        turtle.as_bytes(),
        InputFormat::Turtle,
        provisional.as_str(),
        &[],
    )
    .expect("turtle");
    dir.create(
        kind,
        Some(slug),
        &provisional,
        graph,
        &Principal::operator(),
    )
    .expect("created");
}

fn replace(dir: &Directory, path: &str, turtle: &str) {
    let iri = NamedNode::new(format!("{A}{path}")).expect("iri");
    let graph =
        parse_graph(turtle.as_bytes(), InputFormat::Turtle, iri.as_str(), &[]).expect("turtle");
    dir.replace(
        &iri,
        graph,
        &Precondition::default(),
        &Principal::operator(),
    )
    .expect("replaced");
}

const PREFIXES: &str = "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .";

fn worker(name: &str, extra: &str) -> String {
    format!(
        "{PREFIXES} <> a schema:Person ; schema:name \"{name}\" ; schema:memberOf <{A}coops/c> ; dir:hasSkill [ dir:skill <{A}skills/rust> ; dir:level \"expert\" ] {extra} ."
    )
}

/// Applies A's whole outbox to B's replica of A, the way a pull pass does.
fn pull(peers: &Peers, outbox: &Outbox, peer: &PeerState) -> PassLog {
    let mut log = PassLog::default();
    let page = outbox.page(0, 500).expect("page");
    let page = crate::sync::Page {
        cursor: page.cursor,
        head: page.head,
        horizon: page.horizon,
        items: page.activities,
    };
    let (ready, held) = peers
        .check_page(peer, &page, None, &mut log)
        .expect("checked");
    let retried = peers.retry_held(peer, held, &mut log).expect("retried");
    peers
        .directory
        .store_replicas(&peer.base, &ready, Default::default())
        .expect("stored");
    peers
        .directory
        .store_replicas(&peer.base, &retried, Default::default())
        .expect("stored held");
    log
}

#[test]
fn a_compacted_outbox_rebuilds_the_same_public_data_elsewhere() {
    let a = directory(A);
    create(
        &a,
        Kind::Skill,
        "rust",
        &format!("{PREFIXES} <> a skos:Concept ; skos:prefLabel \"Rust\"@en ."),
    );
    create(
        &a,
        Kind::Coop,
        "c",
        &format!("{PREFIXES} <> a schema:Organization ; schema:name \"C\" ."),
    );
    create(
        &a,
        Kind::Worker,
        "ada",
        &worker("Ada", "; schema:email \"ada@example.org\""),
    );
    create(&a, Kind::Worker, "bob", &worker("Bob", ""));
    create(
        &a,
        Kind::Worker,
        "eve",
        &worker("Eve", "; dir:visibility \"private\""),
    );
    // The skill changes after its holders: a compacted outbox lists it after them, and
    // the co-op (changed by each join) after its members.
    replace(
        &a,
        "skills/rust",
        &format!(
            "{PREFIXES} <> a skos:Concept ; skos:prefLabel \"Rust\"@en, \"Rust (langage)\"@fr ."
        ),
    );
    replace(
        &a,
        "workers/bob",
        &worker("Bob", "; dir:visibility \"private\""),
    );
    let outbox = Outbox::open(a.clone(), Duration::from_secs(3600)).expect("outbox");

    let page = outbox.page(0, 500).expect("page");
    let text = serde_json::to_string(&page.activities).expect("json");
    assert!(!text.contains("Eve"), "never public: {text}");
    assert!(
        !text.contains("ada@example.org"),
        "contact details are not public: {text}"
    );
    let resources: Vec<&str> = page
        .activities
        .iter()
        .map(|a| a["object"]["id"].as_str().expect("id"))
        .collect();
    let mut unique = resources.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        resources.len(),
        "one activity per resource: {resources:?}"
    );
    let bob = page
        .activities
        .iter()
        .find(|a| a["object"]["id"] == format!("{A}workers/bob"))
        .expect("bob's tombstone");
    assert_eq!(bob["type"], "Delete");
    assert!(
        !bob.to_string().contains("Bob\""),
        "a tombstone names nothing: {bob}"
    );
    assert_eq!(page.cursor, page.head);

    let b = directory(B);
    let courier = crate::delivery::Courier {
        net: crate::net::Net::new(crate::NetConfig::default()),
        signer: crate::signatures::Signer::new(
            &crate::ActorKey::ephemeral(),
            format!("{B}actor#main-key"),
        )
        .expect("signer"),
    };
    let peers = Peers::open(b.clone(), FederationConfig::default(), courier).expect("peers");
    let peer = PeerState {
        id: "a".into(),
        base: A.into(),
        actor: format!("{A}actor"),
        outbox: format!("{A}outbox"),
        name: None,
        cursor: 0,
        head: 0,
        added: String::new(),
        last_success: None,
        last_attempt: None,
        last_error: None,
        failures: 0,
        skipped: 0,
        inbox: None,
        subscription: Default::default(),
        subscription_note: None,
        pushed: 0,
    };
    let log = pull(&peers, &outbox, &peer);
    assert_eq!(log.skipped, Vec::<String>::new());
    let ours = digest::local(&a, &outbox).expect("digest");
    let theirs = digest::replica(&b, A).expect("digest");
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.resources, 3,
        "skill, co-op, Ada, and nothing of Bob or Eve"
    );

    // Replaying the same page changes nothing; a changed resource changes the digest.
    pull(&peers, &outbox, &peer);
    assert_eq!(digest::replica(&b, A).expect("digest"), theirs);
    replace(&a, "workers/ada", &worker("Ada King", ""));
    outbox.catch_up().expect("caught up");
    assert_ne!(digest::local(&a, &outbox).expect("digest"), theirs);
    pull(&peers, &outbox, &peer);
    assert_eq!(
        digest::local(&a, &outbox).expect("digest"),
        digest::replica(&b, A).expect("digest")
    );
}
