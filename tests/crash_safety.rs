//! Crash safety under load: several clients create, patch and delete while the server is
//! killed with SIGKILL at a random moment; after the restart every acknowledged write is
//! there with its content, nothing refused is, the change log has no hole and agrees with
//! the data, and the search index agrees with the store. Several bounded rounds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use coopdir_e2e::{Server, StatusCode, json, seed};
use reqwest::Method;

const ROUNDS: usize = 3;
const CLIENTS: usize = 4;

/// What the server answered to one write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx: the write must survive.
    Acknowledged,
    /// An error status: the write must not be there.
    Refused,
    /// No answer (the server died): either is right.
    Unknown,
}

/// Everything the clients did to one worker, in order (one client owns each worker).
#[derive(Debug, Clone)]
pub struct History {
    pub path: String,
    pub created: Outcome,
    /// The name the store must show: the creation's, then each acknowledged patch's.
    pub name: String,
    /// A patch with no answer, whose name the store may show instead.
    pub unknown_name: Option<String>,
    /// Every name a write gave it (what a backup taken mid-way may show).
    pub names_ever: Vec<String>,
    pub deleted: Option<Outcome>,
}

pub type Ledger = Arc<Mutex<Vec<History>>>;

/// A small pseudo-random sequence (xorshift), seeded from the clock and printed, so that a
/// failing round can be replayed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn outcome(result: &reqwest::Result<reqwest::blocking::Response>) -> Outcome {
    match result {
        Ok(r) if r.status().is_success() => Outcome::Acknowledged,
        Ok(_) => Outcome::Refused,
        Err(_) => Outcome::Unknown,
    }
}

fn worker_body(server: &Server, name: &str, valid: bool) -> String {
    let coop = if valid {
        format!(" ; schema:memberOf <{}>", server.url("/coops/test-co-op"))
    } else {
        // A worker must belong to a co-op: the shapes refuse this one.
        String::new()
    };
    format!(
        "@prefix schema: <http://schema.org/> . <> a schema:Person ; schema:name \"{name}\"{coop} ."
    )
}

/// One client's writes until the server stops answering or the round ends.
fn client(
    server: &Server,
    round: usize,
    id: usize,
    seed: u64,
    ledger: Ledger,
    stop: Arc<AtomicBool>,
) {
    let mut random = Random(seed | 1);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut mine: Vec<usize> = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let live: Vec<usize> = {
            let ledger = ledger.lock().unwrap();
            mine.iter()
                .copied()
                .filter(|i| {
                    let h = &ledger[*i];
                    h.created == Outcome::Acknowledged && h.deleted.is_none()
                })
                .collect()
        };
        let dice = random.below(100);
        let unknown = if dice < 50 || live.is_empty() {
            let valid = !dice.is_multiple_of(10);
            let slug = format!("crash-{round}-{id}-{n}");
            let name = format!("Round {round} Client {id} Worker {n}");
            let result = client
                .post(server.url("/workers/"))
                .bearer_auth(&server.token)
                .header("Content-Type", "text/turtle")
                .header("Slug", &slug)
                .body(worker_body(server, &name, valid))
                .send();
            let created = outcome(&result);
            if let Ok(r) = &result
                && created == Outcome::Acknowledged
            {
                assert_eq!(
                    r.headers()["location"].to_str().unwrap(),
                    server.url(&format!("/workers/{slug}"))
                );
            }
            assert!(
                valid || created != Outcome::Acknowledged,
                "an invalid worker was accepted"
            );
            let mut ledger = ledger.lock().unwrap();
            ledger.push(History {
                path: format!("/workers/{slug}"),
                created,
                names_ever: vec![name.clone()],
                name,
                unknown_name: None,
                deleted: None,
            });
            mine.push(ledger.len() - 1);
            created == Outcome::Unknown
        } else if dice < 85 {
            let i = live[random.below(live.len() as u64) as usize];
            let (path, old) = {
                let ledger = ledger.lock().unwrap();
                (ledger[i].path.clone(), ledger[i].name.clone())
            };
            let new = format!("{old} v{n}");
            let result = client
                .request(Method::PATCH, server.url(&path))
                .bearer_auth(&server.token)
                .header("Content-Type", "application/sparql-update")
                .body(format!(
                    "PREFIX schema: <http://schema.org/> DELETE DATA {{ <> schema:name \"{old}\" }} ; INSERT DATA {{ <> schema:name \"{new}\" }}"
                ))
                .send();
            let patched = outcome(&result);
            let mut ledger = ledger.lock().unwrap();
            ledger[i].names_ever.push(new.clone());
            match patched {
                Outcome::Acknowledged => ledger[i].name = new,
                Outcome::Unknown => ledger[i].unknown_name = Some(new),
                Outcome::Refused => panic!(
                    "a valid patch was refused: {}",
                    result.unwrap().text().unwrap_or_default()
                ),
            }
            patched == Outcome::Unknown
        } else {
            let i = live[random.below(live.len() as u64) as usize];
            let path = ledger.lock().unwrap()[i].path.clone();
            let result = client
                .delete(server.url(&path))
                .bearer_auth(&server.token)
                .send();
            let deleted = outcome(&result);
            assert_ne!(deleted, Outcome::Refused, "a delete was refused");
            ledger.lock().unwrap()[i].deleted = Some(deleted);
            deleted == Outcome::Unknown
        };
        if unknown {
            // The server is gone: this client's last write has no answer.
            return;
        }
    }
}

/// The store after the restart agrees with what the clients were told. A backup taken
/// during the load (`snapshot`: the ledger's length when it began) holds each worker as
/// some write left it, and every worker acknowledged before it began.
fn check(server: &Server, ledger: &[History], snapshot: Option<usize>) -> BTreeSet<String> {
    let mut present = BTreeSet::new();
    for (i, h) in ledger.iter().enumerate() {
        let r = server.get_authenticated(&h.path, "application/ld+json");
        let status = r.status();
        let stored = if status == StatusCode::OK {
            Some(json(r)["name"].as_str().unwrap_or_default().to_owned())
        } else {
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::GONE,
                "{}: {status}",
                h.path
            );
            None
        };
        let must_exist = h.created == Outcome::Acknowledged
            && h.deleted.is_none()
            && snapshot.is_none_or(|began| i < began);
        let may_exist = h.created != Outcome::Refused
            && (snapshot.is_some() || h.deleted != Some(Outcome::Acknowledged));
        match &stored {
            Some(name) => {
                assert!(may_exist, "{} is there but must not be: {h:?}", h.path);
                let expected = if snapshot.is_some() {
                    h.names_ever.contains(name)
                } else {
                    *name == h.name || h.unknown_name.as_ref() == Some(name)
                };
                assert!(expected, "{} holds the name {name:?}: {h:?}", h.path);
                present.insert(server.url(&h.path));
            }
            None => assert!(
                !must_exist,
                "{} was acknowledged but is lost: {h:?}",
                h.path
            ),
        }
    }
    present
}

/// Every record of the change log, newest first, following the audit trail's pages.
fn change_log(server: &Server) -> Vec<serde_json::Value> {
    let mut records = Vec::new();
    let mut next = Some("/admin/audit?limit=1000".to_owned());
    while let Some(path) = next {
        let page = json(server.write(Method::GET, &path).send().unwrap());
        records.extend(page["items"].as_array().unwrap().iter().cloned());
        next = page["next"].as_str().map(str::to_owned);
    }
    records
}

/// The consistency checks of a store after a crash or a restore: the workers as the
/// ledger allows, a change log numbered without a hole whose last record about each worker
/// says whether it exists, and a search index holding exactly the workers the store holds.
/// Gives the workers present and the log's head.
fn consistent(
    server: &Server,
    ledger: &[History],
    snapshot: Option<usize>,
) -> (BTreeSet<String>, u64) {
    let present = check(server, ledger, snapshot);

    // The change log: numbered without a hole, and its last record about each worker
    // says whether it exists.
    let records = change_log(server);
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).rev().collect::<Vec<_>>(),
        "the change log has a hole"
    );
    let mut latest: HashMap<String, String> = HashMap::new();
    for r in records.iter().rev() {
        latest.insert(
            r["resource"].as_str().unwrap().to_owned(),
            r["operation"].as_str().unwrap().to_owned(),
        );
    }
    for h in ledger {
        let iri = server.url(&h.path);
        let operation = latest.get(&iri).map(String::as_str);
        if present.contains(&iri) {
            assert!(
                matches!(operation, Some("create" | "patch" | "replace")),
                "{iri} exists but its last change is {operation:?}"
            );
        } else {
            assert!(
                matches!(operation, None | Some("delete")),
                "{iri} does not exist but its last change is {operation:?}"
            );
        }
    }

    // The search index holds exactly the workers the store holds.
    let mut indexed = BTreeSet::new();
    for page in 1.. {
        let r = server.get_authenticated(
            &format!("/search?coop=test-co-op&pageSize=100&page={page}"),
            "application/ld+json",
        );
        assert_eq!(r.status(), StatusCode::OK);
        let items = json(r)["items"].as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        indexed.extend(
            items
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .filter(|iri| iri.contains("/workers/crash-")),
        );
    }
    assert_eq!(
        indexed, present,
        "the search index disagrees with the store"
    );
    (present, seqs.first().copied().unwrap_or(0))
}

#[test]
fn acknowledged_writes_survive_sigkill_under_a_concurrent_load() {
    let mut server = Server::start();
    seed(&server);
    let ledger: Ledger = Arc::default();
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for round in 0..ROUNDS {
        let mut random = Random(clock.wrapping_add(round as u64 * 7919) | 1);
        let kill_after = Duration::from_millis(300 + random.below(1200));
        println!("round {round}: SIGKILL after {kill_after:?} (seed {clock})");
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            for id in 0..CLIENTS {
                let (ledger, stop, server) = (ledger.clone(), stop.clone(), &server);
                let seed = random.next();
                scope.spawn(move || client(server, round, id, seed, ledger, stop));
            }
            std::thread::sleep(kill_after);
            server.signal("KILL");
            stop.store(true, Ordering::Relaxed);
        });
        server
            .wait_for_exit(Duration::from_secs(10))
            .expect("the killed server exits");
        server.start_again();

        let ledger = ledger.lock().unwrap().clone();
        let acknowledged = ledger
            .iter()
            .filter(|h| h.created == Outcome::Acknowledged)
            .count();
        assert!(
            acknowledged > 0,
            "round {round} wrote nothing before the kill"
        );
        let (present, head) = consistent(&server, &ledger, None);
        println!(
            "round {round}: {} writes, {} workers present, log head {}",
            ledger.len(),
            present.len(),
            head
        );
    }
}

#[test]
fn a_backup_taken_during_a_write_load_restores_to_a_consistent_store() {
    let mut server = Server::start();
    seed(&server);
    let ledger: Ledger = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let out = tempfile::tempdir().unwrap();
    let backup = out.path().join("backup");
    let data = server.data.path().to_str().unwrap().to_owned();
    let began = std::thread::scope(|scope| {
        for id in 0..CLIENTS {
            let (ledger, stop, server) = (ledger.clone(), stop.clone(), &server);
            scope.spawn(move || client(server, 0, id, 0x9e37_79b9 + id as u64, ledger, stop));
        }
        std::thread::sleep(Duration::from_millis(700));
        let began = ledger.lock().unwrap().len();
        // The server holds the store: the backup goes through its control socket.
        let output = coopdir_e2e::run(&["backup", "--data", &data, backup.to_str().unwrap()]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("coopdir restore"));
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        began
    });
    let ledger = ledger.lock().unwrap().clone();
    assert!(ledger.len() > began, "the load went on during the backup");

    // A second backup into the same place is refused; so is a restore over live data.
    let again = coopdir_e2e::run(&["backup", "--data", &data, backup.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let over = coopdir_e2e::run(&["restore", backup.to_str().unwrap(), "--data", &data]);
    assert!(!over.status.success());
    assert!(String::from_utf8_lossy(&over.stderr).contains("not empty"));
    let not_a_backup = coopdir_e2e::run(&["restore", &data, "--data", "/nonexistent-target"]);
    assert!(String::from_utf8_lossy(&not_a_backup.stderr).contains("not a coopdir backup"));

    // Restored into a new directory and served at the same address, it passes the crash
    // test's checks, the admin token still works, and the change log goes on after its head.
    server.stop();
    let restored_data = tempfile::tempdir().unwrap();
    let restored_path = restored_data.path().to_str().unwrap().to_owned();
    let output = coopdir_e2e::run(&[
        "restore",
        backup.to_str().unwrap(),
        "--data",
        &restored_path,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key = |dir: &std::path::Path| std::fs::read(dir.join("federation/actor-key.pem")).unwrap();
    assert_eq!(
        key(restored_data.path()),
        key(server.data.path()),
        "the server's key pair is in the backup"
    );
    let restored = Server::start_on(restored_data, server.token.clone(), &server.listen, &[]);
    let (present, head) = consistent(&restored, &ledger, Some(began));
    assert!(!present.is_empty());
    let r = restored.post(
        "/workers/",
        "text/turtle",
        &worker_body(&restored, "After The Restore", true),
    );
    assert_eq!(r.status(), StatusCode::CREATED);
    // The create (and the co-op's member list it updates) numbered right after the head.
    let log = change_log(&restored);
    let new: Vec<&serde_json::Value> = log
        .iter()
        .filter(|r| r["seq"].as_u64().unwrap() > head)
        .collect();
    assert_eq!(
        new.last().unwrap()["seq"].as_u64().unwrap(),
        head + 1,
        "the log continues at its head"
    );
    assert!(new.iter().any(|r| r["operation"] == "create"
        && r["resource"] == restored.url("/workers/after-the-restore").as_str()));
}
