//! `coopdir-bench`: generates realistic directory data of any size and drives a real
//! coopdir server over HTTP with bounded concurrent load, printing throughput, latency
//! percentiles and the server's peak memory, and writing a JSON report.
//!
//! Targets live in `shared/design/performance.md`; they are checked by running this, not
//! by timed unit tests.

mod esco;
mod federation_bench;
mod generate;
mod load;
mod search_bench;

use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "coopdir-bench", about = "Measure coopdir under load")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a Turtle dataset: co-ops, workers with 3 to 10 skills from the demo taxonomy, projects.
    Generate {
        #[arg(long, default_value_t = 1000)]
        workers: usize,
        #[arg(long, default_value_t = 0)]
        coops: usize,
        #[arg(long, default_value_t = 0)]
        projects: usize,
        /// Base URL the IRIs start with.
        #[arg(long, default_value = "http://127.0.0.1:8080/")]
        base_url: String,
        #[arg(long)]
        output: PathBuf,
    },
    /// Run the scenarios against a fresh server and write a JSON report.
    Run {
        /// The coopdir binary (default: next to this one).
        #[arg(long)]
        coopdir: Option<PathBuf>,
        /// Seconds of load per throughput scenario.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent connections for the GET scenario.
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Workers created one by one.
        #[arg(long, default_value_t = 1000)]
        creates: usize,
        /// Workers in the bulk-import dataset.
        #[arg(long, default_value_t = 20000)]
        import_workers: usize,
        #[arg(long, default_value = "bench-report.json")]
        report: PathBuf,
        /// Let the client and the server share both cores, instead of the client on core 0
        /// and the servers on core 1 (with `taskset`), which keeps the client's own cost out
        /// of the server's figures.
        #[arg(long)]
        no_pin: bool,
    },
    /// Write an ESCO-shaped skills taxonomy (revision 2 renames, moves and drops concepts).
    Esco {
        #[arg(long, default_value_t = 14_000)]
        concepts: usize,
        #[arg(long, default_value_t = 28)]
        languages: usize,
        #[arg(long, default_value_t = 1)]
        revision: u32,
        /// Concepts revision 2 leaves out.
        #[arg(long, default_value_t = 5)]
        dropped: usize,
        #[arg(long)]
        output: PathBuf,
    },
    /// The search scenario: index build, query latencies and memory at scale.
    Search {
        #[arg(long)]
        coopdir: Option<PathBuf>,
        #[arg(long, default_value_t = 100_000)]
        workers: usize,
        /// Concepts in the ESCO-shaped taxonomy (groups and skills).
        #[arg(long, default_value_t = 1_000)]
        skills: usize,
        /// Requests per query scenario.
        #[arg(long, default_value_t = 1_000)]
        rounds: usize,
        #[arg(long, default_value = "search-report.json")]
        report: PathBuf,
    },
    /// Server-side render time of the web interface's main pages (their `Server-Timing`),
    /// on the demo data and on generated workers.
    Pages {
        #[arg(long)]
        coopdir: Option<PathBuf>,
        #[arg(long, default_value_t = 100_000)]
        workers: usize,
        #[arg(long, default_value_t = 1_000)]
        skills: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
    /// Time importing an ESCO-sized taxonomy, then an updated one.
    EscoImport {
        #[arg(long)]
        coopdir: Option<PathBuf>,
        #[arg(long, default_value_t = 14_000)]
        concepts: usize,
        #[arg(long, default_value_t = 28)]
        languages: usize,
    },
    /// Federation: B catches up on A's changes from zero, then the write-to-replica lag.
    Federation {
        #[arg(long)]
        coopdir: Option<PathBuf>,
        /// Workers on A (each one change to catch up on).
        #[arg(long, default_value_t = 10_000)]
        changes: usize,
        /// Writes timed with an explicit sync.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
        /// B's pull interval for the interval-only lag, in seconds.
        #[arg(long, default_value_t = 5)]
        interval: u64,
    },
    /// A bare axum server returning one file's bytes, for comparison (used by `run`).
    Bare {
        #[arg(long)]
        listen: String,
        #[arg(long)]
        body: PathBuf,
    },
}

fn main() -> Result<(), load::BoxError> {
    match Cli::parse().command {
        Cmd::Generate {
            workers,
            coops,
            projects,
            base_url,
            output,
        } => {
            let coops = if coops == 0 {
                (workers / 20).max(6)
            } else {
                coops
            };
            let projects = if projects == 0 {
                (workers / 10).max(8)
            } else {
                projects
            };
            let triples = generate::write_dataset(&output, &base_url, coops, workers, projects)?;
            eprintln!(
                "wrote {} ({coops} co-ops, {workers} workers, {projects} projects, {triples} triples)",
                output.display()
            );
            Ok(())
        }
        Cmd::Bare { listen, body } => load::bare_server(&listen, &body),
        Cmd::Esco {
            concepts,
            languages,
            revision,
            dropped,
            output,
        } => {
            let triples = esco::write(&output, concepts, languages, revision, dropped)?;
            eprintln!(
                "wrote {} ({concepts} concepts, {triples} triples)",
                output.display()
            );
            Ok(())
        }
        Cmd::Pages {
            coopdir,
            workers,
            skills,
            rounds,
        } => search_bench::pages(
            &coopdir.unwrap_or_else(sibling_coopdir),
            workers,
            skills,
            rounds,
        ),
        Cmd::Search {
            coopdir,
            workers,
            skills,
            rounds,
            report,
        } => search_bench::run(
            &coopdir.unwrap_or_else(sibling_coopdir),
            workers,
            skills,
            rounds,
            &report,
        ),
        Cmd::Federation {
            coopdir,
            changes,
            rounds,
            interval,
        } => federation_bench::run(
            &coopdir.unwrap_or_else(sibling_coopdir),
            changes,
            rounds,
            interval,
        ),
        Cmd::EscoImport {
            coopdir,
            concepts,
            languages,
        } => search_bench::esco_import(
            &coopdir.unwrap_or_else(sibling_coopdir),
            concepts,
            languages,
        ),
        Cmd::Run {
            coopdir,
            seconds,
            connections,
            creates,
            import_workers,
            report,
            no_pin,
        } => {
            let coopdir = coopdir.unwrap_or_else(sibling_coopdir);
            let server_core = if no_pin { None } else { pin_client()? };
            run(
                &coopdir,
                &Settings {
                    seconds,
                    connections,
                    creates,
                    import_workers,
                    server_core,
                },
                &report,
            )
        }
    }
}

fn sibling_coopdir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("coopdir")))
        .unwrap_or_else(|| PathBuf::from("coopdir"))
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Kills the child process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_ready(url: &str) -> Result<(), load::BoxError> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    // Generous: a first start on a large store builds its indexes.
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline {
        if client
            .get(url)
            .send()
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{url} did not answer").into())
}

/// Peak resident memory of a process, in MiB (VmHWM).
fn peak_memory_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// `coopdir serve` on `data` and a loopback port, logging warnings only.
/// The server's own count of GETs answered 200 on a resource, from its Prometheus metrics.
async fn counted_gets(base: &str, token: &str) -> Result<u64, load::BoxError> {
    let text = reqwest::Client::new()
        .get(format!("{base}metrics"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let series =
        r#"coopdir_http_requests_total{route="/{container}/{slug}",method="GET",status="200"} "#;
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no {series} in /metrics").into())
}

/// Pins this process (the client: its runtime's threads inherit the mask) to core 0 and
/// returns the core servers go on, if the machine has two cores and `taskset`.
fn pin_client() -> Result<Option<usize>, load::BoxError> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let taskset = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let [client, server, ..] = cores.as_slice() else {
        eprintln!("one core only: client and server are not pinned apart");
        return Ok(None);
    };
    if !taskset {
        eprintln!(
            "taskset is missing (apt-get install util-linux): client and server are not pinned apart"
        );
        return Ok(None);
    }
    if !core_affinity::set_for_current(*client) {
        return Err("cannot pin the client to core 0".into());
    }
    eprintln!(
        "client pinned to core {}, servers to core {}",
        client.id, server.id
    );
    Ok(Some(server.id))
}

/// A command for `program`, on `core` only (through `taskset`) if one is given.
fn on_core(program: &Path, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(core.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn spawn_server(coopdir: &Path, data: &str, port: u16, extra: &[&str]) -> std::io::Result<Child> {
    spawn_server_on(coopdir, data, port, extra, None)
}

fn spawn_server_on(
    coopdir: &Path,
    data: &str,
    port: u16,
    extra: &[&str],
    core: Option<usize>,
) -> std::io::Result<Child> {
    on_core(coopdir, core)
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env("COOPDIR_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
}

fn coopdir_cmd(coopdir: &Path, args: &[&str]) -> Result<String, load::BoxError> {
    coopdir_cmd_with_input(coopdir, args, "")
}

fn coopdir_cmd_with_input(
    coopdir: &Path,
    args: &[&str],
    input: &str,
) -> Result<String, load::BoxError> {
    use std::io::Write;
    let mut child = Command::new(coopdir)
        .args(args)
        .env("COOPDIR_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!(
            "coopdir {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// What `run` measures, and where.
struct Settings {
    seconds: u64,
    connections: usize,
    creates: usize,
    import_workers: usize,
    /// The core servers are pinned to (the client is on another), if any.
    server_core: Option<usize>,
}

/// Runs `command` to its end, sampling its peak resident memory (VmHWM, which only grows)
/// until it exits: the last sample is within 20 ms of its peak.
fn run_sampling_memory(command: &mut Command) -> Result<(String, Option<f64>), load::BoxError> {
    let child = command
        .env("COOPDIR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = None;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(now) = peak_memory_mib(pid) {
                    peak = Some(now);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };
    let out = child.wait_with_output();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.join().ok().flatten();
    let out = out?;
    if !out.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok((String::from_utf8_lossy(&out.stderr).into_owned(), peak))
}

/// The quads an import says it stored ("imported … (… triples read, N quads stored) …").
fn quads_stored(import_output: &str) -> Option<u64> {
    let before = import_output.split(" quads stored").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

fn run(coopdir: &Path, settings: &Settings, report_path: &Path) -> Result<(), load::BoxError> {
    let Settings {
        seconds,
        connections,
        creates,
        import_workers,
        server_core,
    } = *settings;
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}/");

    // Taxonomy and co-ops first, so that created workers have something to link to.
    let seed_file = work.path().join("seed.ttl");
    generate::write_dataset(&seed_file, &base, 50, 0, 0)?;
    coopdir_cmd(
        coopdir,
        &[
            "import",
            "--data",
            data_s,
            "--base-url",
            &base,
            seed_file.to_str().ok_or("path")?,
        ],
    )?;
    let token = coopdir_cmd(coopdir, &["token", "create", "--admin", "--data", data_s])?
        .trim()
        .to_owned();
    // A member with a personal token, for the authenticated read.
    let coop = generate::coop_slug(0);
    coopdir_cmd_with_input(
        coopdir,
        &[
            "user",
            "add",
            "--data",
            data_s,
            "--base-url",
            &base,
            "--coop",
            &coop,
            "--email",
            "bench@example.org",
            "--name",
            "Bench Member",
        ],
        "correct horse battery staple\n",
    )?;
    let member_token = coopdir_cmd(
        coopdir,
        &[
            "token",
            "create",
            "--data",
            data_s,
            "--user",
            "bench@example.org",
        ],
    )?
    .trim()
    .to_owned();

    let server = spawn_server_on(coopdir, data_s, port, &[], server_core)?;
    let server_pid = server.id();
    let server = Guard(server);
    wait_ready(&format!("{base}health"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    // 2. Create workers one by one.
    let bodies = generate::worker_bodies(&base, creates, 50);
    let created = runtime.block_on(load::sequential_posts(
        &format!("{base}workers/"),
        &token,
        &bodies,
    ))?;
    println!(
        "create {creates} workers one by one: {:.3} s in total ({:.0}/s), p50 {:.2} ms, p99 {:.2} ms",
        created.total.as_secs_f64(),
        creates as f64 / created.total.as_secs_f64(),
        created.p50_ms,
        created.p99_ms
    );

    // The search index, SPARQL view and outbox follow the creates in the background, on
    // the server's core: wait for them, so the listing is measured alone.
    let caught_up = runtime.block_on(load::wait_caught_up(&base))?;
    println!(
        "the change log's consumers caught up {:.2} s after the last create",
        caught_up.as_secs_f64()
    );

    // 3. List every member of the container, following pages: the first round renders
    // every page (only member summaries are cached by the creates).
    let listing = runtime.block_on(load::list_all(&format!("{base}workers/"), 20))?;
    println!(
        "list all {} members ({} pages): first round {:.2} ms, then median {:.2} ms, best {:.2} ms in total",
        listing.members, listing.pages, listing.first_ms, listing.median_ms, listing.best_ms
    );

    // 1. GET one worker as JSON-LD under load, and a bare axum server with the same bytes.
    let worker_url = format!("{base}workers/{}", generate::worker_slug(0));
    let body = runtime.block_on(async {
        reqwest::Client::new()
            .get(&worker_url)
            .header("Accept", "application/ld+json")
            .send()
            .await?
            .bytes()
            .await
    })?;
    let body_file = work.path().join("worker.json");
    std::fs::write(&body_file, &body)?;
    let duration = Duration::from_secs(seconds);
    let coopdir_get = runtime.block_on(load::get_load(&worker_url, None, connections, duration))?;
    // 1b. The same read by a logged-in member (bearer token), alternating with anonymous
    // rounds so that both see the same machine; the member's view adds the e-mail address.
    // Every GET of the worker the bench sent and saw answered with a 2xx (the first one
    // fetched the body), to compare with what the server's /metrics counted.
    let mut worker_gets = 1 + coopdir_get.succeeded;
    let mut anonymous_rounds = vec![coopdir_get.requests_per_second];
    let mut member_rounds = Vec::new();
    for round in 0..3 {
        let member = runtime.block_on(load::get_load(
            &worker_url,
            Some(&member_token),
            connections,
            duration,
        ))?;
        if member.errors > 0 {
            return Err(format!("{} authenticated reads failed", member.errors).into());
        }
        worker_gets += member.succeeded;
        member_rounds.push(member.requests_per_second);
        if round < 2 {
            let anonymous =
                runtime.block_on(load::get_load(&worker_url, None, connections, duration))?;
            worker_gets += anonymous.succeeded;
            anonymous_rounds.push(anonymous.requests_per_second);
        }
    }
    let counted = runtime.block_on(counted_gets(&base, &token))?;
    println!(
        "/metrics counted {counted} GETs answered 200 on /{{container}}/{{slug}}; the bench saw {worker_gets}{}",
        if counted == worker_gets {
            " (equal)"
        } else {
            " (MISMATCH)"
        }
    );
    if counted != worker_gets {
        return Err(format!(
            "/metrics counted {counted} worker GETs, the bench sent {worker_gets}"
        )
        .into());
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let member_cost = mean(&anonymous_rounds) / mean(&member_rounds) - 1.0;
    println!(
        "GET one worker as a member with a token: {:.0} req/s against {:.0} anonymous (means of 3 alternating rounds): {:+.1} % cost",
        mean(&member_rounds),
        mean(&anonymous_rounds),
        member_cost * 100.0
    );
    let bare_port = free_port()?;
    let bare = Guard(
        on_core(&std::env::current_exe()?, server_core)
            .args([
                "bare",
                "--listen",
                &format!("127.0.0.1:{bare_port}"),
                "--body",
                body_file.to_str().ok_or("path")?,
            ])
            .stdout(Stdio::null())
            .spawn()?,
    );
    wait_ready(&format!("http://127.0.0.1:{bare_port}/"))?;
    let bare_get = runtime.block_on(load::get_load(
        &format!("http://127.0.0.1:{bare_port}/"),
        None,
        connections,
        duration,
    ))?;
    drop(bare);
    let ratio = coopdir_get.requests_per_second / bare_get.requests_per_second;
    println!(
        "GET one worker (JSON-LD, {} bytes, {connections} connections): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms; bare axum {:.0} req/s (p99 {:.2} ms); ratio {:.0} %",
        body.len(),
        coopdir_get.requests_per_second,
        coopdir_get.p50_ms,
        coopdir_get.p99_ms,
        bare_get.requests_per_second,
        bare_get.p99_ms,
        ratio * 100.0
    );
    let peak = peak_memory_mib(server_pid);
    drop(server);
    println!(
        "server peak memory: {}",
        peak.map(|m| format!("{m:.1} MiB"))
            .unwrap_or_else(|| "unknown".into())
    );

    // 5. Bulk import into an empty store.
    let import_file = work.path().join("import.ttl");
    let triples = generate::write_dataset(
        &import_file,
        &base,
        (import_workers / 20).max(6),
        import_workers,
        import_workers / 10,
    )?;
    let import_data = work.path().join("import-data");
    // The import uses both cores (validation runs on all of them); nothing else runs.
    let started = Instant::now();
    let (import_out, import_peak) = run_sampling_memory(Command::new(coopdir).args([
        "import",
        "--data",
        import_data.to_str().ok_or("path")?,
        "--base-url",
        &base,
        import_file.to_str().ok_or("path")?,
    ]))?;
    let import_seconds = started.elapsed().as_secs_f64();
    let stored = quads_stored(&import_out);
    let import_mib = std::fs::metadata(&import_file)?.len() as f64 / (1024.0 * 1024.0);
    println!(
        "bulk import of {triples} triples ({import_workers} workers, {import_mib:.0} MiB of Turtle{}): {import_seconds:.2} s, {:.0} triples/s{}; peak memory {}",
        stored
            .map(|q| format!(", {q} quads stored"))
            .unwrap_or_default(),
        triples as f64 / import_seconds,
        stored
            .map(|q| format!(", {:.0} quads/s", q as f64 / import_seconds))
            .unwrap_or_default(),
        import_peak
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "unknown".into())
    );

    let report = json!({
        "get_one_worker_jsonld": {
            "connections": connections, "seconds": seconds, "bytes": body.len(),
            "requests_per_second": coopdir_get.requests_per_second, "p50_ms": coopdir_get.p50_ms, "p99_ms": coopdir_get.p99_ms,
            "errors": coopdir_get.errors,
            "bare_axum_requests_per_second": bare_get.requests_per_second, "bare_axum_p99_ms": bare_get.p99_ms,
            "ratio_to_bare_axum": ratio,
        },
        "get_one_worker_as_member": {
            "anonymous_requests_per_second": anonymous_rounds, "member_requests_per_second": member_rounds,
            "cost_over_anonymous": member_cost,
        },
        "metrics_check": { "worker_gets_sent": worker_gets, "worker_gets_counted": counted },
        "create_workers_one_by_one": {
            "count": creates, "total_seconds": created.total.as_secs_f64(), "p50_ms": created.p50_ms, "p99_ms": created.p99_ms,
        },
        "list_container": {
            "members": listing.members, "pages": listing.pages, "first_round_total_ms": listing.first_ms, "median_total_ms": listing.median_ms, "best_total_ms": listing.best_ms,
        },
        "bulk_import": {
            "workers": import_workers, "triples": triples, "quads_stored": stored, "seconds": import_seconds,
            "triples_per_second": triples as f64 / import_seconds, "peak_memory_mib": import_peak,
        },
        "pinned": server_core.map(|core| format!("client on another core, servers on core {core}")),
        "server_peak_memory_mib": peak,
        "collaborator_search": "measured by `coopdir-bench search`",
    });
    std::fs::write(report_path, serde_json::to_string_pretty(&report)?)?;
    println!("report written to {}", report_path.display());
    Ok(())
}
