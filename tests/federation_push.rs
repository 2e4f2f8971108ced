//! Federation, push half: signed deliveries to LDN inboxes between real coopdir
//! processes on loopback, with a scripted misbehaving follower where one is needed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use coopdir_e2e::{BadPeer, Server, add_worker, follow_peer, free_port, json, live_replica, seed};
use coopdir_federation::ActorKey;
use coopdir_federation::signatures::Signer;
use reqwest::blocking::Response;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// May reach peers on loopback; pulls only hourly, so what arrives came by push.
const PUSHED: &[&str] = &[
    "--allow-private-peers",
    "--peer-sync-interval",
    "1h",
    "--peer-timeout",
    "3s",
];

const ACTIVITY: &str = "application/activity+json";

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn admin(server: &Server, path: &str) -> Value {
    let r = server.get_authenticated(path, "application/json");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    json(r)
}

fn peer_state(server: &Server, id: &str) -> Value {
    admin(server, &format!("/admin/peers/{id}"))
}

fn followers(server: &Server) -> Vec<Value> {
    admin(server, "/admin/followers")["items"]
        .as_array()
        .expect("items")
        .clone()
}

fn follower_of(server: &Server, base: &str) -> Option<Value> {
    followers(server).into_iter().find(|f| f["base"] == base)
}

fn rename(server: &Server, slug: &str, name: &str) {
    let r = server
        .write(Method::PATCH, &format!("/workers/{slug}"))
        .header("Content-Type", "application/sparql-update")
        .body(format!(
            "PREFIX schema: <http://schema.org/> DELETE {{ <> schema:name ?n }} INSERT {{ <> schema:name \"{name}\" }} WHERE {{ <> schema:name ?n }}"
        ))
        .send()
        .expect("PATCH");
    assert!(r.status().is_success(), "{}", r.text().unwrap_or_default());
}

fn delete(server: &Server, path: &str) {
    let r = server.write(Method::DELETE, path).send().expect("DELETE");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

fn searchable(server: &Server, q: &str, name: &str) -> bool {
    let r = server
        .client()
        .get(server.url("/search"))
        .query(&[("q", q)])
        .send()
        .expect("search");
    json(r)["items"]
        .as_array()
        .is_some_and(|items| items.iter().any(|i| i["name"] == name))
}

fn digest(server: &Server, origin: &str) -> Option<Value> {
    admin(server, "/admin/digest")["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|d| d["origin"] == origin)
        .cloned()
}

/// The current outbox activity of `iri` on `server`.
fn activity_of(server: &Server, iri: &str) -> Value {
    let page: Value = json(
        server
            .client()
            .get(server.url("/outbox"))
            .query(&[("after", "0"), ("limit", "500")])
            .send()
            .expect("outbox"),
    );
    let mut activity = page["orderedItems"]
        .as_array()
        .expect("items")
        .iter()
        .find(|a| a["object"]["id"] == iri)
        .unwrap_or_else(|| panic!("{iri} not in the outbox"))
        .clone();
    activity["@context"] = page["@context"].clone();
    activity
}

fn seq(activity: &Value) -> u64 {
    activity["seq"].as_u64().expect("seq")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Sends requests signed as some server, as the tests want them (well or badly).
struct Sender {
    signer: Signer,
    runtime: tokio::runtime::Runtime,
    client: reqwest::blocking::Client,
}

impl Sender {
    fn with_key(key: &ActorKey, key_id: &str) -> Self {
        Sender {
            signer: Signer::new(key, key_id.to_owned()).expect("signer"),
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime"),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        }
    }

    /// Signs with the key in a server's data directory, as that server.
    fn as_server(server: &Server) -> Self {
        Self::as_key_file(server.data.path(), &server.base)
    }

    fn as_key_file(data: &Path, base: &str) -> Self {
        let key = ActorKey::load_or_create(&data.join("federation")).expect("the server's key");
        Self::with_key(&key, &format!("{base}actor#main-key"))
    }

    fn headers(&self, inbox: &str, body: &[u8], created: u64) -> reqwest::header::HeaderMap {
        self.runtime
            .block_on(self.signer.sign_post_at(
                inbox,
                ACTIVITY,
                Bytes::copy_from_slice(body),
                created,
            ))
            .expect("signed")
    }

    fn deliver(&self, to: &Server, activity: &Value) -> Response {
        self.deliver_at(to, activity, unix_now())
    }

    fn deliver_at(&self, to: &Server, activity: &Value, created: u64) -> Response {
        let inbox = to.url("/inbox/");
        let body = serde_json::to_vec(activity).expect("json");
        let headers = self.headers(&inbox, &body, created);
        self.client
            .post(&inbox)
            .headers(headers)
            .body(body)
            .send()
            .expect("POST /inbox/")
    }

    /// Signs `signed` but sends `sent` (a body changed after signing).
    fn deliver_tampered(&self, to: &Server, signed: &Value, sent: &Value) -> Response {
        let inbox = to.url("/inbox/");
        let headers = self.headers(
            &inbox,
            &serde_json::to_vec(signed).expect("json"),
            unix_now(),
        );
        self.client
            .post(&inbox)
            .headers(headers)
            .body(serde_json::to_vec(sent).expect("json"))
            .send()
            .expect("POST /inbox/")
    }
}

fn link_has(response: &Response, needle: &str) -> bool {
    response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(needle))
}

#[test]
fn the_ldn_receiver_checks_pass_with_an_open_inbox_and_unsigned_notifications_are_refused_without()
{
    let open = Server::start_with(&["--open-inbox", "--allow-private-peers"]);
    seed(&open);
    let inbox = open.url("/inbox/");
    let client = open.client();

    // Discovery: every resource and container names the inbox.
    let r = open.get("/workers/ada-lovelace", "text/turtle");
    assert!(link_has(
        &r,
        &format!("<{inbox}>; rel=\"http://www.w3.org/ns/ldp#inbox\"")
    ));
    assert!(link_has(&open.get("/workers/", "text/turtle"), "ldp#inbox"));

    // testReceiverOptionsResponse, testReceiverOptionsAcceptPost,
    // testReceiverOptionsAcceptPostContainsJSONLD
    let r = client
        .request(Method::OPTIONS, &inbox)
        .send()
        .expect("OPTIONS");
    assert!(r.status().is_success(), "{}", r.status());
    let accept_post = r
        .headers()
        .get("accept-post")
        .and_then(|v| v.to_str().ok())
        .expect("Accept-Post")
        .to_owned();
    assert!(
        accept_post
            .split(',')
            .any(|m| m.trim() == "application/ld+json"),
        "{accept_post}"
    );

    // testReceiverPostResponse, testReceiverPostCreated, testReceiverPostLocation,
    // testReceiverPostLinkProfile: with and without a profile parameter.
    let notification = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "@id": "",
        "@type": "Announce",
        "actor": "https://example.org/someone",
        "object": open.url("/workers/ada-lovelace"),
        "summary": "an LDN test notification"
    });
    let mut locations = Vec::new();
    for content_type in [
        "application/ld+json; profile=\"http://example.org/profile\"; charset=utf-8",
        "application/ld+json",
    ] {
        let r = client
            .post(&inbox)
            .header("Content-Type", content_type)
            .header("Slug", "test.jsonld")
            .body(notification.to_string())
            .send()
            .expect("POST");
        assert!(
            matches!(r.status(), StatusCode::CREATED | StatusCode::ACCEPTED),
            "{content_type}: {}",
            r.status()
        );
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("Location")
            .to_owned();
        assert!(location.starts_with(&inbox), "{location}");
        locations.push(location);
    }

    // testReceiverPostResponseConstraintsUnmet: not JSON-LD, or not JSON at all.
    for (content_type, body) in [
        ("text/plain", "hello".to_owned()),
        ("application/ld+json", "{ not json".to_owned()),
        ("application/ld+json", "\"a string\"".to_owned()),
    ] {
        let r = client
            .post(&inbox)
            .header("Content-Type", content_type)
            .body(body.clone())
            .send()
            .expect("POST");
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
        if r.status() != StatusCode::UNSUPPORTED_MEDIA_TYPE {
            assert!(link_has(&r, "ldp#constrainedBy"), "{body}");
        }
        let problem = json(r);
        assert!(problem["detail"].is_string(), "{problem}");
    }

    // A signed notification from another server (its Follow), which only admins see.
    let other = Server::start_with(&["--allow-private-peers"]);
    follow_peer(&other, &open.base);

    // testReceiverGetResponse, testReceiverGetLDPContains, testReceiverGetLDPContainer,
    // testReceiverGetLDPConstrainedBy, testReceiverGetNotificationsLimited
    let listing = |authenticated: bool| {
        let r = if authenticated {
            open.get_authenticated("/inbox/", "application/ld+json")
        } else {
            open.get("/inbox/", "application/ld+json")
        };
        assert_eq!(r.status(), StatusCode::OK);
        let content_type = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type.split(';').next(), Some("application/ld+json"));
        assert!(link_has(
            &r,
            "<http://www.w3.org/ns/ldp#Container>; rel=\"type\""
        ));
        assert!(link_has(
            &r,
            "rel=\"http://www.w3.org/ns/ldp#constrainedBy\""
        ));
        let text = r.text().expect("body");
        let quads = jsonld_quads(&text, &inbox);
        quads
            .iter()
            .filter(|(s, p, _)| s == &inbox && p == "http://www.w3.org/ns/ldp#contains")
            .map(|(_, _, o)| o.clone())
            .collect::<Vec<_>>()
    };
    let public = listing(false);
    for location in &locations {
        assert!(public.contains(location), "{location} not in {public:?}");
    }
    assert_eq!(
        public.len(),
        2,
        "the Follow is not listed to anyone: {public:?}"
    );
    let all = listing(true);
    assert_eq!(all.len(), 3, "a server admin sees the Follow too: {all:?}");
    let follow_note = all
        .iter()
        .find(|l| !public.contains(l))
        .expect("the Follow")
        .clone();
    assert_eq!(
        client.get(&follow_note).send().expect("GET").status(),
        StatusCode::NOT_FOUND,
        "a server's notification is not readable anonymously"
    );

    // testReceiverGetNotificationsJSONLD, testReceiverGetNotificationsRDFSource:
    // each as JSON-LD when asked, and still as RDF with */* or no Accept at all.
    for location in &locations {
        for accept in [Some("application/ld+json"), Some("*/*"), None] {
            let mut request = client.get(location);
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            let r = request.send().expect("GET notification");
            assert_eq!(r.status(), StatusCode::OK, "{location} {accept:?}");
            let content_type = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_eq!(content_type.split(';').next(), Some("application/ld+json"));
            let body: Value = serde_json::from_str(&r.text().expect("body")).expect("JSON");
            assert_eq!(body["summary"], "an LDN test notification");
        }
    }

    // An inert notification is never applied: an unsigned Create changes nothing.
    let forged = json!({
        "@context": open.url("/context.jsonld"),
        "type": "Create",
        "actor": open.url("/actor"),
        "object": { "id": open.url("/workers/intruder"), "type": "Worker", "name": "Intruder" }
    });
    let r = client
        .post(&inbox)
        .header("Content-Type", "application/ld+json")
        .body(forged.to_string())
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        open.get("/workers/intruder", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );

    // Inert notifications are size-limited and rate-limited.
    let big = json!({ "@type": "Note", "content": "x".repeat(70 * 1024) });
    let r = client
        .post(&inbox)
        .header("Content-Type", "application/ld+json")
        .body(big.to_string())
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let mut statuses = Vec::new();
    for i in 0..40 {
        let r = client
            .post(&inbox)
            .header("Content-Type", "application/ld+json")
            .body(json!({ "@type": "Note", "content": i }).to_string())
            .send()
            .expect("POST");
        statuses.push(r.status());
    }
    let limited = statuses
        .iter()
        .position(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("the rate limit applies");
    assert!(limited >= 20, "{statuses:?}");

    // With the inbox closed (the default), unsigned deliveries get 401 and nothing is kept.
    let closed = Server::start();
    let r = closed
        .client()
        .post(closed.url("/inbox/"))
        .header("Content-Type", "application/ld+json")
        .body(notification.to_string())
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        json(r)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("RFC 9421")
    );
    let r = closed.get_authenticated("/inbox/", "application/ld+json");
    assert!(
        jsonld_quads(&r.text().expect("body"), &closed.url("/inbox/"))
            .iter()
            .all(|(_, p, _)| p != "http://www.w3.org/ns/ldp#contains")
    );
}

/// The quads of a JSON-LD document, as (subject, predicate, object) strings.
fn jsonld_quads(text: &str, base: &str) -> Vec<(String, String, String)> {
    oxjsonld::JsonLdParser::new()
        .with_base_iri(base)
        .expect("base")
        .for_slice(text.as_bytes())
        .map(|q| {
            let q = q.expect("valid JSON-LD");
            let term = |t: String| t.trim_start_matches('<').trim_end_matches('>').to_owned();
            (
                term(q.subject.to_string()),
                term(q.predicate.to_string()),
                term(q.object.to_string()),
            )
        })
        .collect()
}

#[test]
fn pushed_changes_arrive_in_order_through_an_hour_long_outage_and_a_sender_restart() {
    // A's delivery clock runs an hour per second: its backoff reaches the 1 h cap and
    // the follower is paused and probed within the outage below.
    let mut a = Server::start_with(&[
        "--allow-private-peers",
        "--peer-timeout",
        "2s",
        "--delivery-time-scale",
        "3600",
        "--delivery-pause-after",
        "1h",
        "--delivery-probe-interval",
        "10m",
    ]);
    let mut b = Server::start_with(PUSHED);
    seed(&a);
    let peer = follow_peer(&b, &a.base);
    let id = peer["id"].as_str().expect("id").to_owned();
    assert!(
        peer["subscription"] == "requested" || peer["subscription"] == "accepted",
        "{peer}"
    );
    wait_until("A accepts B's Follow", Duration::from_secs(10), || {
        peer_state(&b, &id)["subscription"] == "accepted"
    });
    let delivery = follower_of(&a, &b.base).expect("B follows A");
    assert_eq!(delivery["status"], "accepted");
    wait_until("B has A's data", Duration::from_secs(10), || {
        live_replica(&b, &a.url("/workers/ada-lovelace")).is_some()
    });

    // Live: a change on A is searchable on B almost at once (B pulls only hourly).
    let pushed_before = peer_state(&b, &id)["pushed"].as_u64().unwrap_or(0);
    add_worker(&a, "grace", "Grace Hopper", "");
    wait_until("B finds Grace", Duration::from_secs(2), || {
        searchable(&b, "Hopper", "Grace Hopper")
    });
    assert!(peer_state(&b, &id)["pushed"].as_u64().unwrap_or(0) > pushed_before);
    // A's admin peer view of B shows the delivery state.
    let state = admin(&a, "/admin/followers")["items"][0].clone();
    for key in ["cursor", "lag", "delivered", "failures", "deadLetters"] {
        assert!(state.get(key).is_some(), "{key} missing in {state}");
    }

    // B goes down for an hour (of A's delivery clock); A is killed and restarted in the
    // middle of it.
    b.stop();
    for i in 0..10 {
        add_worker(
            &a,
            &format!("outage-{i}"),
            &format!("Outage Person {i}"),
            "",
        );
    }
    rename(&a, "grace", "Grace Brewster Hopper");
    delete(&a, "/workers/outage-3");
    wait_until("A pauses deliveries to B", Duration::from_secs(20), || {
        follower_of(&a, &b.base).is_some_and(|f| f["paused"] == true)
    });
    let paused = follower_of(&a, &b.base).expect("B");
    assert!(paused["failures"].as_u64().unwrap_or(0) >= 2, "{paused}");
    assert!(paused["nextAttempt"].is_string(), "{paused}");
    assert!(
        paused["lastError"]
            .as_str()
            .unwrap_or("")
            .contains("cannot reach"),
        "{paused}"
    );
    assert!(paused["lag"].as_u64().unwrap_or(0) >= 12, "{paused}");
    a.crash_and_restart();
    for i in 10..15 {
        add_worker(
            &a,
            &format!("outage-{i}"),
            &format!("Outage Person {i}"),
            "",
        );
    }
    b.start_again();
    wait_until(
        "A's deliveries to B resume and catch up",
        Duration::from_secs(30),
        || follower_of(&a, &b.base).is_some_and(|f| f["lag"] == 0 && f["failures"] == 0),
    );
    wait_until("digests converge", Duration::from_secs(20), || {
        digest(&a, &a.base) == digest(&b, &a.base)
    });
    assert!(searchable(&b, "Hopper", "Grace Brewster Hopper"));
    assert!(live_replica(&b, &a.url("/workers/outage-3")).is_none());
    assert!(live_replica(&b, &a.url("/workers/outage-14")).is_some());

    // In order: B received A's activities with increasing sequence numbers.
    let notes = admin(&b, "/inbox/");
    let seqs: Vec<u64> = notes["contains"]
        .as_array()
        .expect("contains")
        .iter()
        .filter_map(|n| {
            let r = b.get_authenticated(
                n.as_str()?.trim_start_matches(&b.base),
                "application/ld+json",
            );
            let body: Value = serde_json::from_str(&r.text().ok()?).ok()?;
            (body["actor"] == a.url("/actor"))
                .then(|| body["seq"].as_u64())
                .flatten()
        })
        .collect();
    assert!(seqs.len() >= 10, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "delivered out of order: {seqs:?}"
    );
}

#[test]
fn forged_tampered_replayed_and_foreign_deliveries_are_refused_and_order_is_kept() {
    let mut a = Server::start_with(&["--allow-private-peers", "--follow-approval", "manual"]);
    let c = Server::start_with(&["--allow-private-peers"]);
    let b = Server::start_with(PUSHED);
    seed(&a);
    seed(&c);
    let a_peer = follow_peer(&b, &a.base)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    follow_peer(&b, &c.base);
    wait_until("B holds A's data", Duration::from_secs(10), || {
        live_replica(&b, &a.url("/workers/ada-lovelace")).is_some()
    });
    // A waits for its operator before pushing to B.
    let pending = follower_of(&a, &b.base).expect("B asked");
    assert_eq!(pending["status"], "pending");

    // A's changes, captured as A's outbox publishes them.
    let (zed, yan) = (a.url("/workers/zed"), a.url("/workers/yan"));
    add_worker(&a, "zed", "Zed Created", "");
    let create_zed = activity_of(&a, &zed);
    rename(&a, "zed", "Zed Updated");
    let update_zed = activity_of(&a, &zed);
    add_worker(&a, "yan", "Yan", "");
    let create_yan = activity_of(&a, &yan);
    delete(&a, "/workers/yan");
    let delete_yan = activity_of(&a, &yan);
    assert_eq!(delete_yan["type"], "Delete");
    assert!(seq(&create_zed) < seq(&update_zed) && seq(&create_yan) < seq(&delete_yan));

    let as_a = Sender::as_server(&a);
    // B verifies A's key once while A is up (and caches it).
    let hello = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": a.url("/actor#hello"), "type": "Announce", "actor": a.url("/actor"),
    });
    let r = as_a.deliver(&b, &hello);
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    // A is down from here, so no pull can repair what the deliveries do.
    a.stop();
    let cursor = peer_state(&b, &a_peer)["cursor"].as_u64().expect("cursor");
    let with_prev = |activity: &Value, prev: u64| {
        let mut activity = activity.clone();
        activity["prev"] = json!(prev);
        activity
    };
    // Update before create: the older create does not overwrite the update.
    let r = as_a.deliver(&b, &with_prev(&update_zed, seq(&create_zed)));
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    let r = as_a.deliver(&b, &with_prev(&create_zed, cursor));
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        live_replica(&b, &zed).expect("zed")["graph"]["name"],
        "Zed Updated"
    );
    // Delete before create (4 before 3): the create that arrives late loses.
    let r = as_a.deliver(&b, &with_prev(&delete_yan, seq(&create_yan)));
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = as_a.deliver(&b, &with_prev(&create_yan, seq(&update_zed)));
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        live_replica(&b, &yan).is_none(),
        "the delete that came first wins"
    );
    // A duplicate inside the time window is recognised and changes nothing.
    let r = as_a.deliver(&b, &with_prev(&update_zed, seq(&create_zed)));
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(json(r)["outcome"], "duplicate");

    // Refusals: none of these stores anything.
    let notes_before = admin(&b, "/inbox/")["contains"]
        .as_array()
        .map_or(0, Vec::len);
    let intruder = a.url("/workers/intruder");
    let mut create_intruder = create_zed.clone();
    create_intruder["id"] = json!(a.url("/outbox/999999"));
    create_intruder["object"]["id"] = json!(intruder);
    create_intruder["object"]["name"] = json!("Intruder");
    // Replayed outside the window (signed two hours ago).
    let r = as_a.deliver_at(&b, &create_intruder, unix_now() - 7200);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(json(r)["detail"].as_str().unwrap_or("").contains("window"));
    // Body changed after signing.
    let r = as_a.deliver_tampered(&b, &create_zed, &create_intruder);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        json(r)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("Content-Digest")
    );
    // Forged: A's key id, another key.
    let forger = Sender::with_key(&ActorKey::ephemeral(), &a.url("/actor#main-key"));
    let r = forger.deliver(&b, &create_intruder);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A key nobody publishes.
    let nobody = format!("http://127.0.0.1:{}/", free_port());
    let unknown = Sender::with_key(&ActorKey::ephemeral(), &format!("{nobody}actor#main-key"));
    let r = unknown.deliver(&b, &create_intruder);
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Not signed at all.
    let r = b
        .client()
        .post(b.url("/inbox/"))
        .header("Content-Type", ACTIVITY)
        .body(create_intruder.to_string())
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // C signs well, but for A's resource: C does not own it.
    let as_c = Sender::as_server(&c);
    let mut hijack = create_intruder.clone();
    hijack["actor"] = json!(c.url("/actor"));
    hijack["id"] = json!(c.url("/outbox/999999"));
    let r = as_c.deliver(&b, &hijack);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        json(r)["detail"]
            .as_str()
            .unwrap_or("")
            .contains("base URL")
    );
    // C signs an activity that claims to be A's.
    let r = as_c.deliver(&b, &create_intruder);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(live_replica(&b, &intruder).is_none());
    assert_eq!(
        admin(&b, "/inbox/")["contains"]
            .as_array()
            .map_or(0, Vec::len),
        notes_before,
        "no refused delivery is kept"
    );

    // Key rotation: A comes back with a new key; B fetches it when the cached one fails.
    std::fs::remove_file(a.data.path().join("federation/actor-key.pem")).expect("remove key");
    a.start_again();
    let rotated = Sender::as_server(&a);
    let mut rename_zed = update_zed.clone();
    rename_zed["id"] = json!(a.url("/outbox/999998"));
    rename_zed["seq"] = json!(seq(&update_zed) + 100_000);
    rename_zed["object"]["name"] = json!("Zed Rotated");
    let r = rotated.deliver(&b, &with_prev(&rename_zed, 0));
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
    assert_eq!(
        live_replica(&b, &zed).expect("zed")["graph"]["name"],
        "Zed Rotated"
    );
    // The old key no longer works.
    let mut again = rename_zed.clone();
    again["id"] = json!(a.url("/outbox/999997"));
    assert_eq!(as_a.deliver(&b, &again).status(), StatusCode::UNAUTHORIZED);

    // A's operator turns another server's Follow down: it hears so, and pulls only.
    let d = Server::start_with(PUSHED);
    let d_peer = follow_peer(&d, &a.base)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let d_id = follower_of(&a, &d.base).expect("D asked")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = a
        .write(Method::POST, &format!("/admin/followers/{d_id}/reject"))
        .send()
        .expect("reject");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(follower_of(&a, &d.base).is_none());
    wait_until("D hears the Reject", Duration::from_secs(10), || {
        peer_state(&d, &d_peer)["subscription"] == "rejected"
    });

    // A's operator approves B: the Accept and then live changes reach B.
    let id = follower_of(&a, &b.base).expect("B")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let r = a
        .write(Method::POST, &format!("/admin/followers/{id}/accept"))
        .send()
        .expect("accept");
    assert_eq!(r.status(), StatusCode::OK);
    wait_until("B hears A's Accept", Duration::from_secs(10), || {
        peer_state(&b, &a_peer)["subscription"] == "accepted"
    });
    // Unsubscribing: B stops following A, tells A, and A stops delivering.
    let r = b
        .write(Method::DELETE, &format!("/admin/peers/{a_peer}"))
        .send()
        .expect("DELETE peer");
    assert_eq!(r.status(), StatusCode::OK);
    wait_until("A forgets B", Duration::from_secs(10), || {
        follower_of(&a, &b.base).is_none()
    });
}

#[test]
fn a_hung_follower_delays_nobody_and_a_poison_message_is_dead_lettered() {
    let a = Server::start_with(&["--allow-private-peers", "--peer-timeout", "3s"]);
    let b = Server::start_with(PUSHED);
    seed(&a);
    follow_peer(&b, &a.base);
    // Two scripted followers: one never answers, one refuses what mentions "poison".
    let follow_as = |peer: &BadPeer, key: &ActorKey, object: String| {
        let sender = Sender::with_key(key, &format!("{}actor#main-key", peer.base));
        let r = sender.deliver(
            &a,
            &json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": format!("{}actor#follow", peer.base),
                "type": "Follow",
                "actor": format!("{}actor", peer.base),
                "object": object,
            }),
        );
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().unwrap_or_default()
        );
    };
    let hung_key = ActorKey::ephemeral();
    let hung = BadPeer::start("hang-inbox", &hung_key.public_multibase());
    follow_as(&hung, &hung_key, a.url("/actor"));
    let poison_key = ActorKey::ephemeral();
    let poison = BadPeer::start("poison", &poison_key.public_multibase());
    // This one follows the workers only.
    follow_as(&poison, &poison_key, a.url("/workers/"));
    assert_eq!(followers(&a).len(), 3);

    // B gets A's changes within a second or two while the hung follower times out.
    for i in 0..3 {
        let name = format!("Fresh Person {i}");
        add_worker(&a, &format!("fresh-{i}"), &name, "");
        wait_until(&format!("B finds {name}"), Duration::from_secs(2), || {
            searchable(&b, &format!("Fresh Person {i}"), &name)
        });
    }
    assert!(follower_of(&a, &hung.base).is_some_and(|f| f["lag"].as_u64().unwrap_or(0) > 0));

    // A poison message is dead-lettered; what comes after it still flows.
    add_worker(&a, "poison-pill", "Poison Pill", "");
    add_worker(&a, "later-one", "Later One", "");
    let after = a.url("/workers/later-one");
    wait_until(
        "the poison follower gets what follows",
        Duration::from_secs(20),
        || poison.received().contains(&after),
    );
    assert!(
        poison
            .received()
            .iter()
            .all(|iri| iri.contains("/workers/")),
        "a follower of /workers/ gets workers only: {:?}",
        poison.received()
    );
    let state = follower_of(&a, &poison.base).expect("poison follower");
    assert_eq!(state["scope"], a.url("/workers/"));
    let letters = state["deadLetters"]
        .as_array()
        .expect("dead letters")
        .clone();
    assert_eq!(letters.len(), 1, "{state}");
    assert_eq!(letters[0]["object"], a.url("/workers/poison-pill"));
    assert_eq!(letters[0]["status"], 400);
    assert!(
        letters[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("cannot take poison")
    );
    let metrics = a
        .client()
        .get(a.url("/metrics"))
        .bearer_auth(&a.token)
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metrics.contains(&format!(
            "coopdir_delivery_dead_letters{{follower=\"{}\"}} 1",
            poison.base
        )),
        "{metrics}"
    );
    // Once the follower can take it, the operator sends it again.
    reqwest::blocking::Client::new()
        .post(format!("{}heal", poison.base))
        .send()
        .expect("heal");
    let id = state["id"].as_str().expect("id");
    let seq = letters[0]["seq"].as_u64().expect("seq");
    let r = a
        .write(
            Method::POST,
            &format!("/admin/followers/{id}/dead-letters/{seq}/resend"),
        )
        .send()
        .expect("resend");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r)["deadLetters"], json!([]));
    assert!(poison.received().contains(&a.url("/workers/poison-pill")));

    // Oversized and deeply nested payloads are refused without being read whole.
    let answer_to = |head: String, body: &str| {
        let mut stream = std::net::TcpStream::connect(&a.listen).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(head.as_bytes()).expect("headers");
        stream.write_all(body.as_bytes()).expect("body");
        // The rest of the body (never sent) would be megabytes more; the answer comes first.
        let mut answer = [0u8; 12];
        stream
            .read_exact(&mut answer)
            .expect("an answer before the body ends");
        String::from_utf8_lossy(&answer).into_owned()
    };
    let big = answer_to(
        format!(
            "POST /inbox/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {ACTIVITY}\r\nContent-Length: {}\r\n\r\n",
            a.listen,
            64 * 1024 * 1024
        ),
        "{\"type\": \"Create\", ",
    );
    assert_eq!(big, "HTTP/1.1 413");
    let deep = "[".repeat(4096);
    let nested = answer_to(
        format!(
            "POST /inbox/ HTTP/1.1\r\nHost: {}\r\nContent-Type: {ACTIVITY}\r\nTransfer-Encoding: chunked\r\n\r\n",
            a.listen
        ),
        &format!("{:x}\r\n{deep}\r\n", deep.len()),
    );
    assert_eq!(nested, "HTTP/1.1 400");
}
