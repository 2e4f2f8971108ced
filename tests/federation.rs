//! Federation, pull half: real coopdir processes on loopback following each other.

use coopdir_e2e::{
    BadPeer, Server, add_worker, follow_peer, json, live_replica, replica, run, seed,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Servers that may follow peers on loopback, pulling every second.
const FOLLOWER: &[&str] = &[
    "--allow-private-peers",
    "--peer-sync-interval",
    "1s",
    "--peer-max-backoff",
    "2s",
    "--peer-timeout",
    "3s",
];

fn follow(follower: &Server, peer_base: &str) -> String {
    follow_peer(follower, peer_base)["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn sync(follower: &Server, id: &str) -> Value {
    let r = follower
        .write(Method::POST, &format!("/admin/peers/{id}/sync"))
        .send()
        .expect("sync");
    assert_eq!(r.status(), StatusCode::OK);
    json(r)
}

fn digest_of(server: &Server, origin: &str) -> Option<Value> {
    let r = server.get_authenticated("/admin/digest", "application/json");
    assert_eq!(r.status(), StatusCode::OK);
    json(r)["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["origin"] == origin)
        .cloned()
}

fn assert_same_digest(origin: &Server, follower: &Server) {
    let theirs = digest_of(origin, &origin.base).expect("origin's own digest");
    let ours = digest_of(follower, &origin.base).expect("the follower's digest of the origin");
    assert_eq!(theirs, ours, "digests of {} differ", origin.base);
}

/// Polls until the follower's digest of `origin` equals the origin's own.
fn converges(origin: &Server, follower: &Server, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let theirs = digest_of(origin, &origin.base);
        let ours = digest_of(follower, &origin.base);
        if theirs.is_some() && theirs == ours {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not converge: {theirs:?} vs {ours:?}",
            origin.base
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn patch(server: &Server, path: &str, update: &str) {
    let r = server
        .write(Method::PATCH, path)
        .header("Content-Type", "application/sparql-update")
        .body(update.to_owned())
        .send()
        .expect("PATCH");
    assert!(
        r.status().is_success(),
        "PATCH {path}: {}",
        r.text().unwrap_or_default()
    );
}

fn search_names(server: &Server, q: &str) -> Vec<String> {
    let r = server
        .client()
        .get(server.url("/search"))
        .query(&[("q", q)])
        .send()
        .expect("search");
    assert_eq!(r.status(), StatusCode::OK);
    json(r)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            format!(
                "{} @ {}",
                i["name"].as_str().unwrap_or("?"),
                i["origin"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn a_follower_keeps_replicas_of_two_peers_through_changes_crashes_and_outages() {
    let mut a = Server::start();
    let c = Server::start();
    let mut b = Server::start_with(FOLLOWER);
    seed(&a);
    seed(&c);
    add_worker(&a, "grace", "Grace Hopper", "");
    add_worker(&c, "linus", "Linus Hypatia", "");

    let a_id = follow(&b, &a.base);
    let c_id = follow(&b, &c.base);
    sync(&b, &a_id);
    sync(&b, &c_id);
    assert_same_digest(&a, &b);
    assert_same_digest(&c, &b);
    let ada = a.url("/workers/ada-lovelace");
    let copy = live_replica(&b, &ada).expect("A's worker replicated on B");
    assert_eq!(copy["origin"], a.base);
    assert_eq!(copy["graph"]["name"], "Ada Lovelace");
    // Logged-out readers never see e-mail addresses; neither do peers.
    assert!(copy["graph"].get("email").is_none(), "{copy}");
    // Replicas are searchable on B, with their origin, and in B's SPARQL endpoint.
    assert!(search_names(&b, "Hopper").contains(&format!("Grace Hopper @ {}", a.base)));
    let r = b
        .client()
        .get(b.url("/sparql"))
        .query(&[(
            "query",
            format!("ASK {{ <{ada}> <http://schema.org/name> \"Ada Lovelace\" }}"),
        )])
        .header("Accept", "application/sparql-results+json")
        .send()
        .expect("GET /sparql");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r)["boolean"], true);

    // Updates, creates, a membership change, a worker turning private, a delete, and a
    // worker that is private from the start.
    patch(
        &a,
        "/workers/ada-lovelace",
        "PREFIX schema: <http://schema.org/> DELETE { <> schema:name ?n } INSERT { <> schema:name \"Ada King\" } WHERE { <> schema:name ?n }",
    );
    add_worker(&a, "alan", "Alan Turing", "");
    add_worker(&a, "secret", "Secret Agent", "; dir:visibility \"private\"");
    patch(
        &a,
        "/workers/grace",
        "PREFIX dir: <https://w3id.org/coopdir#> INSERT DATA { <> dir:visibility \"private\" }",
    );
    let r = a
        .write(Method::DELETE, "/workers/alan")
        .send()
        .expect("DELETE");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    add_worker(&c, "margaret", "Margaret Hamilton", "");
    sync(&b, &a_id);
    sync(&b, &c_id);
    assert_eq!(
        live_replica(&b, &ada).expect("ada")["graph"]["name"],
        "Ada King"
    );
    assert!(
        live_replica(&b, &a.url("/workers/grace")).is_none(),
        "turned private on A"
    );
    assert!(
        live_replica(&b, &a.url("/workers/alan")).is_none(),
        "deleted on A"
    );
    assert!(
        replica(&b, &a.url("/workers/secret")).is_none(),
        "never public"
    );
    let coop = live_replica(&b, &a.url("/coops/test-co-op")).expect("coop");
    let members = coop["graph"]["member"].to_string();
    assert!(members.contains("ada-lovelace"), "{members}");
    assert!(
        !members.contains("grace") && !members.contains("alan"),
        "{members}"
    );
    assert!(live_replica(&b, &c.url("/workers/margaret")).is_some());
    assert!(
        !search_names(&b, "Hopper")
            .iter()
            .any(|n| n.contains("Grace"))
    );
    assert_same_digest(&a, &b);
    assert_same_digest(&c, &b);

    // B is killed in the middle of pulling 300 changes and converges after restarting.
    for i in 0..300 {
        add_worker(&a, &format!("bulk-{i}"), &format!("Bulk Person {i}"), "");
    }
    let (client, url, token) = (
        b.client().clone(),
        b.url(&format!("/admin/peers/{a_id}/sync")),
        b.token.clone(),
    );
    let pulling = std::thread::spawn(move || {
        let _ = client.post(url).bearer_auth(token).send();
    });
    std::thread::sleep(Duration::from_millis(150));
    b.crash_and_restart();
    let _ = pulling.join();
    converges(&a, &b, Duration::from_secs(30));

    // A goes away; C's changes keep flowing, and B catches up with A when it is back
    // without being asked (its retries back off to at most 2 s here).
    a.stop();
    add_worker(&c, "katherine", "Katherine Johnson", "");
    let state = sync(&b, &a_id);
    assert!(state["failures"].as_u64().unwrap_or(0) >= 1, "{state}");
    assert!(
        state["lastError"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach"),
        "{state}"
    );
    sync(&b, &c_id);
    assert!(live_replica(&b, &c.url("/workers/katherine")).is_some());
    a.start_again();
    patch(
        &a,
        "/workers/ada-lovelace",
        "PREFIX schema: <http://schema.org/> INSERT DATA { <> schema:jobTitle \"Analyst\" }",
    );
    converges(&a, &b, Duration::from_secs(30));
    converges(&c, &b, Duration::from_secs(30));

    let r = b.get_authenticated("/admin/peers", "application/json");
    let peers = json(r);
    let listed = peers["items"].as_array().expect("items");
    assert_eq!(listed.len(), 2);
    for p in listed {
        assert_eq!(p["lag"], 0, "{p}");
        assert!(p["replicated"].as_u64().unwrap_or(0) >= 3, "{p}");
        assert!(p["lastSuccess"].is_string(), "{p}");
    }

    // Removing C removes everything B held of it.
    let r = b
        .write(Method::DELETE, &format!("/admin/peers/{c_id}"))
        .send()
        .expect("DELETE peer");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(json(r)["removed"].as_u64().unwrap_or(0) >= 4);
    assert!(replica(&b, &c.url("/workers/margaret")).is_none());
    assert!(digest_of(&b, &c.base).is_none());
    assert!(
        !search_names(&b, "Hamilton")
            .iter()
            .any(|n| n.contains("Margaret"))
    );
    assert_same_digest(&a, &b);
}

#[test]
fn the_outbox_shows_public_data_only_and_the_actor_publishes_its_key() {
    let a = Server::start();
    seed(&a);
    add_worker(
        &a,
        "open",
        "Open Person",
        "; schema:email \"open@example.org\" ; dir:publicContact true",
    );
    add_worker(
        &a,
        "quiet",
        "Quiet Person",
        "; schema:email \"quiet@example.org\"",
    );
    add_worker(
        &a,
        "insider",
        "Insider Person",
        "; dir:visibility \"members\"",
    );
    add_worker(
        &a,
        "hidden",
        "Hidden Person",
        "; dir:visibility \"private\"",
    );
    add_worker(&a, "leaver", "Leaving Person", "");
    patch(
        &a,
        "/workers/leaver",
        "PREFIX dir: <https://w3id.org/coopdir#> INSERT DATA { <> dir:visibility \"private\" }",
    );
    a.add_person(
        "test-co-op",
        "account@example.org",
        "Account Holder",
        "member",
    );
    let r = a
        .write(Method::POST, "/coops/test-co-op/invitations")
        .json(&json!({ "email": "invitee@example.org" }))
        .send()
        .expect("invite");
    assert_eq!(r.status(), StatusCode::CREATED);

    // Read the whole outbox, a few activities per page.
    let mut activities: Vec<Value> = Vec::new();
    let mut text = String::new();
    let mut after = 0;
    loop {
        let r = a.get(
            &format!("/outbox?after={after}&limit=3"),
            "application/activity+json",
        );
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/activity+json");
        let body = r.text().expect("body");
        text.push_str(&body);
        let page: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(page["type"], "OrderedCollectionPage");
        activities.extend(
            page["orderedItems"]
                .as_array()
                .expect("items")
                .iter()
                .cloned(),
        );
        let cursor = page["cursor"].as_u64().expect("cursor");
        if page.get("next").is_none() {
            break;
        }
        assert!(cursor > after);
        after = cursor;
    }
    for secret in [
        "quiet@example.org",
        "Insider",
        "Hidden Person",
        "Leaving Person",
        "account@example.org",
        "invitee@example.org",
        "urn:coopdir",
        "passwordHash",
        "cdt_",
        "cdi_",
    ] {
        assert!(!text.contains(secret), "the outbox shows {secret}: {text}");
    }
    assert!(
        text.contains("open@example.org"),
        "a public contact address may appear"
    );
    let seqs: Vec<u64> = activities
        .iter()
        .map(|a| a["seq"].as_u64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ascending: {seqs:?}");
    let of = |slug: &str| -> Vec<&Value> {
        activities
            .iter()
            .filter(|a| {
                a["object"]["id"]
                    .as_str()
                    .is_some_and(|id| id.ends_with(slug))
            })
            .collect()
    };
    assert_eq!(of("/workers/quiet").len(), 1, "one activity per resource");
    assert_eq!(of("/workers/quiet")[0]["type"], "Create");
    assert_eq!(of("/workers/insider").len(), 0);
    assert_eq!(of("/workers/hidden").len(), 0);
    let leaver = of("/workers/leaver");
    assert_eq!(leaver.len(), 1);
    assert_eq!(leaver[0]["type"], "Delete");
    assert_eq!(leaver[0]["object"]["type"], "Tombstone");
    for activity in &activities {
        assert_eq!(activity["actor"], a.url("/actor"));
        assert!(activity["published"].is_string());
        let id = activity["id"].as_str().expect("id");
        let r = a.get(id.trim_start_matches(&a.base), "application/activity+json");
        assert_eq!(r.status(), StatusCode::OK, "{id} dereferences");
        assert_eq!(json(r)["seq"], activity["seq"]);
    }
    // An activity superseded by a later change of its resource is gone.
    patch(
        &a,
        "/workers/quiet",
        "PREFIX schema: <http://schema.org/> INSERT DATA { <> schema:jobTitle \"Baker\" }",
    );
    let old = of("/workers/quiet")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(
        a.get(old.trim_start_matches(&a.base), "application/json")
            .status(),
        StatusCode::GONE
    );
    let collection = json(a.get("/outbox", "application/activity+json"));
    assert_eq!(collection["type"], "OrderedCollection");
    assert!(
        collection["first"]
            .as_str()
            .expect("first")
            .contains("after=0")
    );

    let actor = json(a.get("/actor", "application/activity+json"));
    assert_eq!(actor["type"], "Service");
    assert_eq!(actor["id"], a.url("/actor"));
    assert_eq!(actor["outbox"], a.url("/outbox"));
    assert_eq!(actor["inbox"], a.url("/inbox/"));
    assert_eq!(actor["hosts"], json!([a.url("/coops/test-co-op")]));
    let key = &actor["assertionMethod"][0];
    assert_eq!(key["type"], "Multikey");
    assert!(
        key["publicKeyMultibase"]
            .as_str()
            .expect("multibase")
            .starts_with("z6Mk")
    );
    assert!(
        actor["publicKey"]["publicKeyPem"]
            .as_str()
            .expect("pem")
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = a.data.path().join("federation/actor-key.pem");
        let mode = std::fs::metadata(&file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
    let r = a.get("/workers/open", "text/turtle");
    let links = r.headers()["link"].to_str().expect("link").to_owned();
    assert!(
        links.contains(&format!(
            "<{}>; rel=\"https://www.w3.org/ns/activitystreams#actor\"",
            a.url("/actor")
        )),
        "{links}"
    );
}

#[test]
fn misbehaving_peers_leave_a_clear_error_and_break_nobody_else() {
    let a = Server::start();
    seed(&a);
    let b = Server::start_with(FOLLOWER);
    let a_id = follow(&b, &a.base);
    sync(&b, &a_id);

    let garbage = BadPeer::start("garbage", &a.base);
    let huge = BadPeer::start("huge", &a.base);
    let hang = BadPeer::start("hang", &a.base);
    let garbage_id = follow(&b, &garbage.base);
    let huge_id = follow(&b, &huge.base);
    let hang_id = follow(&b, &hang.base);

    let state = sync(&b, &garbage_id);
    assert_eq!(state["failures"], 0, "{state}");
    assert_eq!(state["skipped"], 4, "{state}");
    let error = state["lastError"].as_str().expect("last error");
    assert!(error.contains("not under the peer's base URL"), "{error}");
    assert!(
        live_replica(&b, &format!("{}workers/good", garbage.base)).is_some(),
        "the valid worker is kept"
    );
    assert!(replica(&b, &format!("{}workers/nameless", garbage.base)).is_none());
    assert!(replica(&b, &format!("{}workers/broken", garbage.base)).is_none());
    let ada = live_replica(&b, &a.url("/workers/ada-lovelace")).expect("A's worker");
    assert_eq!(
        ada["graph"]["name"], "Ada Lovelace",
        "another server's data cannot be overwritten"
    );
    assert_eq!(ada["origin"], a.base);

    let state = sync(&b, &huge_id);
    assert!(
        state["lastError"]
            .as_str()
            .unwrap_or("")
            .contains("more than"),
        "{state}"
    );
    assert!(state["failures"].as_u64().unwrap_or(0) >= 1, "{state}");

    // While a pull from the hanging peer waits for its timeout, A's changes still arrive.
    let (client, url, token) = (
        b.client().clone(),
        b.url(&format!("/admin/peers/{hang_id}/sync")),
        b.token.clone(),
    );
    let started = Instant::now();
    let hanging = std::thread::spawn(move || {
        let r = client.post(url).bearer_auth(token).send().expect("sync");
        serde_json::from_str::<Value>(&r.text().expect("body")).expect("JSON")
    });
    std::thread::sleep(Duration::from_millis(200));
    add_worker(&a, "fresh", "Fresh Face", "");
    sync(&b, &a_id);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "A's pull waited for the hanging peer"
    );
    assert!(live_replica(&b, &a.url("/workers/fresh")).is_some());
    let state = hanging.join().expect("hanging sync");
    assert!(
        state["lastError"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer within 3 s"),
        "{state}"
    );
    assert_same_digest(&a, &b);

    // Peers on private addresses need the operator's consent.
    let strict = Server::start();
    let r = strict
        .write(Method::POST, "/admin/peers")
        .json(&json!({ "url": a.base }))
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        json(r)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("--allow-private-peers")
    );
}

#[test]
fn a_follower_behind_the_horizon_resyncs_and_sweeps_what_was_deleted() {
    let a = Server::start_with(&["--tombstone-retention", "1s"]);
    seed(&a);
    add_worker(&a, "gone", "Soon Gone", "");
    // B pulls only when asked, so the deletion ages past A's retention before it looks.
    let b = Server::start_with(&["--allow-private-peers", "--peer-sync-interval", "1h"]);
    // Through the command line this time, as an operator would.
    let added = run(&[
        "peer", "add", &a.base, "--server", &b.base, "--token", &b.token,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let a_id = String::from_utf8(added.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(a_id.len(), 12, "{a_id}");
    sync(&b, &a_id);
    let listed = run(&["peer", "list", "--server", &b.base, "--token", &b.token]);
    let listed = String::from_utf8(listed.stdout).expect("utf-8");
    assert!(
        listed.contains(&a_id) && listed.contains(&a.base),
        "{listed}"
    );
    let again = run(&[
        "peer", "add", &a.base, "--server", &b.base, "--token", &b.token,
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already followed"));
    assert!(live_replica(&b, &a.url("/workers/gone")).is_some());
    let r = a
        .write(Method::DELETE, "/workers/gone")
        .send()
        .expect("DELETE");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    std::thread::sleep(Duration::from_millis(1500));
    add_worker(&a, "new", "New Arrival", "");
    let page = json(a.get("/outbox?after=0&limit=100", "application/activity+json"));
    assert!(page["horizon"].as_u64().unwrap_or(0) > 0, "{page}");
    assert!(
        !page.to_string().contains("/workers/gone"),
        "the tombstone aged out"
    );
    sync(&b, &a_id);
    assert_same_digest(&a, &b);
    assert!(live_replica(&b, &a.url("/workers/gone")).is_none(), "swept");
    assert!(live_replica(&b, &a.url("/workers/new")).is_some());
}
