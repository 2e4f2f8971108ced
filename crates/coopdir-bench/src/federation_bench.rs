//! The federation scenarios, with real coopdir processes on loopback.
//!
//! - Pull: server B follows server A. It times B catching up on A's changes from zero,
//!   then the lag from a write on A to its replica on B with an explicit sync and with
//!   the pull interval. (A cannot reach B's loopback address, so B's Follow is refused
//!   and B pulls only.)
//! - Push: server P pushes to its followers. It times a write on P until the change is
//!   searchable on one follower, then the delivery throughput to 20 followers of which
//!   one is dead.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::load::BoxError;
use crate::{Guard, coopdir_cmd, free_port, generate, spawn_server, wait_ready};

struct Node {
    base: String,
    token: String,
    _server: Guard,
}

fn start(coopdir: &Path, data: &Path, port: u16, extra: &[&str]) -> Result<Node, BoxError> {
    let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
    let token = coopdir_cmd(coopdir, &["token", "create", "--admin", "--data", data_s])?
        .trim()
        .to_owned();
    let server = spawn_server(coopdir, data_s, port, extra)?;
    let base = format!("http://127.0.0.1:{port}/");
    let node = Node {
        base,
        token,
        _server: Guard(server),
    };
    wait_ready(&format!("{}health", node.base))?;
    Ok(node)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn run(coopdir: &Path, changes: usize, rounds: usize, interval_s: u64) -> Result<(), BoxError> {
    let work = tempfile::tempdir()?;
    let (a_port, b_port) = (free_port()?, free_port()?);
    let a_base = format!("http://127.0.0.1:{a_port}/");
    // A's changes: an import of `changes` workers (one change record each, plus co-ops
    // and the taxonomy), the catch-up B has to do from zero.
    let dataset = work.path().join("a.ttl");
    let coops = (changes / 20).max(6);
    generate::write_dataset(&dataset, &a_base, coops, changes, 0)?;
    let a_data = work.path().join("a");
    coopdir_cmd(
        coopdir,
        &[
            "import",
            "--data",
            a_data.to_str().ok_or("path")?,
            "--base-url",
            &a_base,
            dataset.to_str().ok_or("path")?,
        ],
    )?;
    let a = start(coopdir, &a_data, a_port, &[])?;
    let interval = format!("{interval_s}s");
    let b = start(
        coopdir,
        &work.path().join("b"),
        b_port,
        &["--allow-private-peers", "--peer-sync-interval", &interval],
    )?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let outbox: Value = client.get(format!("{}outbox", a.base)).send()?.json()?;
    let activities = outbox["totalItems"].as_u64().unwrap_or(0);

    let started = Instant::now();
    let peer: Value = client
        .post(format!("{}admin/peers", b.base))
        .bearer_auth(&b.token)
        .json(&json!({ "url": a.base }))
        .send()?
        .json()?;
    let id = peer["id"].as_str().ok_or("no peer id")?.to_owned();
    let sync = |client: &reqwest::blocking::Client| -> Result<Value, BoxError> {
        Ok(client
            .post(format!("{}admin/peers/{id}/sync", b.base))
            .bearer_auth(&b.token)
            .send()?
            .json()?)
    };
    let state = sync(&client)?;
    let catch_up = started.elapsed().as_secs_f64();
    println!(
        "catch-up from zero: {activities} activities ({changes} workers, {coops} co-ops, the taxonomy) in {catch_up:.1} s ({:.0}/s); cursor {} of {}, {} held, last error {}",
        activities as f64 / catch_up,
        state["cursor"],
        state["head"],
        state["replicated"],
        state["lastError"]
    );

    // Lag with an explicit sync: write on A, ask B to pull, until B holds the change.
    let mut explicit = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let slug = generate::worker_slug(i % changes.max(1));
        let name = format!("Renamed {i}");
        let started = Instant::now();
        write_name(&client, &a, &slug, &name)?;
        sync(&client)?;
        if replica_name(&client, &b, &a.base, &slug)? != name {
            return Err(format!("round {i}: B does not hold the change after a sync").into());
        }
        explicit.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    explicit.sort_by(f64::total_cmp);
    println!(
        "write on A to replica on B, explicit sync ({rounds} rounds): p50 {:.1} ms, p99 {:.1} ms",
        percentile(&explicit, 0.5),
        percentile(&explicit, 0.99)
    );

    // Lag with the pull interval only: write, then poll B's replica.
    let mut waited = Vec::new();
    for i in 0..rounds.min(10) {
        let slug = generate::worker_slug((i + 1) % changes.max(1));
        let name = format!("Interval {i}");
        let started = Instant::now();
        write_name(&client, &a, &slug, &name)?;
        let deadline = started + Duration::from_secs(interval_s * 3 + 10);
        while replica_name(&client, &b, &a.base, &slug)? != name {
            if Instant::now() > deadline {
                return Err(format!("round {i}: no replica after {:?}", deadline - started).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        waited.push(started.elapsed().as_secs_f64());
    }
    waited.sort_by(f64::total_cmp);
    println!(
        "write on A to replica on B, pull every {interval_s} s ±20 % ({} rounds): p50 {:.2} s, max {:.2} s (expected: uniform up to 1.2 × the interval; the default interval is 300 s)",
        waited.len(),
        percentile(&waited, 0.5),
        waited.last().copied().unwrap_or(0.0)
    );
    drop((a, b));
    push(coopdir, work.path(), rounds)
}

/// Servers that reach each other on loopback and pull only hourly: what arrives, came
/// by push.
const PUSH: &[&str] = &["--allow-private-peers", "--peer-sync-interval", "1h"];

fn push(coopdir: &Path, work: &Path, rounds: usize) -> Result<(), BoxError> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let p_port = free_port()?;
    let p = start(coopdir, &work.join("p"), p_port, PUSH)?;
    seed(&client, &p, 200)?;
    // The first follower: the latency from a write on P to search on it.
    let first = start(coopdir, &work.join("f0"), free_port()?, PUSH)?;
    follow(&client, &first, &p)?;
    wait_for(
        || {
            Ok(followers(&client, &p)?
                .iter()
                .all(|f| f["lag"] == 0 && f["answered"] == true))
        },
        "the first follower to be accepted and caught up",
    )?;
    let mut latency = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let name = format!("Pushed{i} Person");
        let started = Instant::now();
        write_name(&client, &p, &generate::worker_slug(i % 200), &name)?;
        let deadline = started + Duration::from_secs(30);
        loop {
            let r: Value = client
                .get(format!("{}search", first.base))
                .query(&[("q", format!("Pushed{i}"))])
                .send()?
                .json()?;
            if r["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|x| x["name"] == name))
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("round {i}: {name} never became searchable").into());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        latency.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latency.sort_by(f64::total_cmp);
    println!(
        "write on P to searchable on a follower, by push ({rounds} rounds): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target: p99 under 1 s)",
        percentile(&latency, 0.5),
        percentile(&latency, 0.99),
        latency.last().copied().unwrap_or(0.0)
    );

    // Nineteen more followers, the last of which dies once subscribed.
    let mut nodes = vec![first];
    for i in 1..20 {
        let node = start(coopdir, &work.join(format!("f{i}")), free_port()?, PUSH)?;
        follow(&client, &node, &p)?;
        nodes.push(node);
    }
    wait_for(
        || {
            let all = followers(&client, &p)?;
            Ok(all.len() == 20 && all.iter().all(|f| f["lag"] == 0 && f["answered"] == true))
        },
        "20 followers to be accepted and caught up",
    )?;
    let dead = nodes.pop().ok_or("no followers")?;
    let dead_base = dead.base.clone();
    drop(dead);
    let changes = 300;
    let started = Instant::now();
    for i in 0..changes {
        write_name(
            &client,
            &p,
            &generate::worker_slug(i % 200),
            &format!("Burst {i}"),
        )?;
    }
    let written = started.elapsed().as_secs_f64();
    wait_for(
        || {
            Ok(followers(&client, &p)?
                .iter()
                .filter(|f| f["base"] != dead_base)
                .all(|f| f["lag"] == 0))
        },
        "the 19 live followers to receive every change",
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    let dead_state = followers(&client, &p)?
        .into_iter()
        .find(|f| f["base"] == dead_base)
        .unwrap_or(Value::Null);
    println!(
        "delivery to 20 followers, one dead: {changes} changes written in {written:.2} s, on all 19 live followers after {elapsed:.2} s: {:.0} changes/s, {:.0} deliveries/s; the dead one: lag {}, {} failures, next attempt {}",
        changes as f64 / elapsed,
        (changes * 19) as f64 / elapsed,
        dead_state["lag"],
        dead_state["failures"],
        dead_state["nextAttempt"]
    );
    Ok(())
}

/// A co-op, and `workers` workers with the generator's slugs, on `node`.
fn seed(client: &reqwest::blocking::Client, node: &Node, workers: usize) -> Result<(), BoxError> {
    let post = |container: &str, slug: &str, body: String| -> Result<(), BoxError> {
        let r = client
            .post(format!("{}{container}/", node.base))
            .bearer_auth(&node.token)
            .header("Content-Type", "text/turtle")
            .header("Slug", slug)
            .body(body)
            .send()?;
        if !r.status().is_success() {
            return Err(format!("POST {container}/{slug}: {}", r.status()).into());
        }
        Ok(())
    };
    post(
        "coops",
        "bench-co-op",
        "@prefix schema: <http://schema.org/> . <> a schema:Organization ; schema:name \"Bench Co-op\" .".into(),
    )?;
    for i in 0..workers {
        post(
            "workers",
            &generate::worker_slug(i),
            format!(
                "@prefix schema: <http://schema.org/> . <> a schema:Person ; schema:name \"Seed {i}\" ; schema:memberOf <{}coops/bench-co-op> .",
                node.base
            ),
        )?;
    }
    Ok(())
}

fn follow(client: &reqwest::blocking::Client, follower: &Node, of: &Node) -> Result<(), BoxError> {
    let r = client
        .post(format!("{}admin/peers", follower.base))
        .bearer_auth(&follower.token)
        .json(&json!({ "url": of.base }))
        .send()?;
    if !r.status().is_success() {
        return Err(format!("follow: {} {}", r.status(), r.text().unwrap_or_default()).into());
    }
    Ok(())
}

fn followers(client: &reqwest::blocking::Client, node: &Node) -> Result<Vec<Value>, BoxError> {
    let v: Value = client
        .get(format!("{}admin/followers", node.base))
        .bearer_auth(&node.token)
        .send()?
        .json()?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

fn wait_for(mut done: impl FnMut() -> Result<bool, BoxError>, what: &str) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done()? {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn write_name(
    client: &reqwest::blocking::Client,
    node: &Node,
    slug: &str,
    name: &str,
) -> Result<(), BoxError> {
    let r = client
        .patch(format!("{}workers/{slug}", node.base))
        .bearer_auth(&node.token)
        .header("Content-Type", "application/sparql-update")
        .body(format!(
            "PREFIX schema: <http://schema.org/> DELETE {{ <> schema:name ?n }} INSERT {{ <> schema:name \"{name}\" }} WHERE {{ <> schema:name ?n }}"
        ))
        .send()?;
    if !r.status().is_success() {
        return Err(format!("PATCH {slug}: {}", r.status()).into());
    }
    Ok(())
}

fn replica_name(
    client: &reqwest::blocking::Client,
    node: &Node,
    origin: &str,
    slug: &str,
) -> Result<String, BoxError> {
    let r = client
        .get(format!("{}replicas", node.base))
        .query(&[("iri", format!("{origin}workers/{slug}"))])
        .send()?;
    if !r.status().is_success() {
        return Ok(String::new());
    }
    let value: Value = r.json()?;
    Ok(value["graph"]["name"].as_str().unwrap_or("").to_owned())
}
