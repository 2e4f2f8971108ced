//! The search scenario: a directory of many workers whose skills come from an
//! ESCO-shaped taxonomy, the index build time, query latencies and the server's memory.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::esco;
use crate::load::BoxError;
use crate::{Guard, coopdir_cmd, free_port, peak_memory_mib, spawn_server, wait_ready};

const PLACES: [&str; 20] = [
    "London, UK",
    "Manchester, UK",
    "Glasgow, UK",
    "Bristol, UK",
    "Leeds, UK",
    "Cardiff, UK",
    "Sheffield, UK",
    "Dundee, UK",
    "Belfast, UK",
    "Paris, France",
    "Lyon, France",
    "Nantes, France",
    "Lille, France",
    "Brussels, Belgium",
    "Ghent, Belgium",
    "Berlin, Germany",
    "Hamburg, Germany",
    "Madrid, Spain",
    "Barcelona, Spain",
    "Bologna, Italy",
];
const GIVEN: [&str; 16] = [
    "Ada", "Bea", "Cai", "Dara", "Eli", "Fatima", "Gwen", "Hugo", "Iris", "Jonah", "Kemi", "Lior",
    "Mina", "Niall", "Oona", "Priya",
];

fn family(i: usize) -> String {
    let w = esco::word(i * 7 + 3);
    let mut name = w.trim_end_matches("ment").to_owned();
    if let Some(first) = name.get(..1) {
        name = format!("{}{}", first.to_uppercase(), &name[1..]);
    }
    name
}

/// Writes co-ops, workers (3 to 10 skills each) and projects (5 needs each).
fn write_directory(
    path: &Path,
    base: &str,
    workers: usize,
    concepts: usize,
    projects: usize,
) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let mut rng = StdRng::seed_from_u64(7);
    let groups = esco::groups(concepts);
    let coops = (workers / 50).max(6);
    writeln!(
        out,
        "@prefix schema: <http://schema.org/> .\n@prefix dir: <https://w3id.org/coopdir#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    )?;
    for c in 0..coops {
        writeln!(
            out,
            "<{base}coops/c{c}> a schema:Organization ; schema:name \"Co-op {c}\" .",
        )?;
    }
    let levels = ["beginner", "intermediate", "expert"];
    let availability = ["available", "partly", "unavailable"];
    for w in 0..workers {
        let n = rng.random_range(3..=10);
        let mut skills: Vec<usize> = Vec::with_capacity(n);
        while skills.len() < n {
            // A skewed choice: some skills are far more common than others.
            let r: f64 = rng.random();
            let s = groups + ((r * r) * (concepts - groups) as f64) as usize;
            if !skills.contains(&s) && s < concepts {
                skills.push(s);
            }
        }
        let held: Vec<String> = skills
            .iter()
            .map(|s| {
                format!(
                    "[ dir:skill <{}> ; dir:level \"{}\" ]",
                    esco::concept_iri(*s),
                    levels[rng.random_range(0..3)]
                )
            })
            .collect();
        let day = rng.random_range(1..=28);
        let month = rng.random_range(1..=12);
        writeln!(
            out,
            "<{base}workers/w{w}> a schema:Person ; schema:name \"{} {}\" ; schema:jobTitle \"Developer\" ;\n    schema:location \"{}\" ; schema:memberOf <{base}coops/c{}> ;\n    dir:availability \"{}\" ; dir:availableFrom \"2027-{month:02}-{day:02}\"^^xsd:date ; dir:hoursPerWeek {} ;\n    dir:hasSkill {} .",
            GIVEN[w % GIVEN.len()],
            family(w),
            PLACES[rng.random_range(0..PLACES.len())],
            w % coops,
            availability[rng.random_range(0..3)],
            rng.random_range(4..=40),
            held.join(", ")
        )?;
    }
    for p in 0..projects {
        let needs: Vec<String> = (0..5)
            .map(|k| {
                format!(
                    "[ dir:skill <{}> ; dir:level \"intermediate\" ; dir:headcount {} ]",
                    esco::concept_iri(groups + (p * 37 + k * 101) % (concepts - groups)),
                    1 + k % 2
                )
            })
            .collect();
        writeln!(
            out,
            "<{base}projects/p{p}> a schema:Project ; schema:name \"Project {p}\" ; dir:status \"open\" ;\n    dir:need {} .",
            needs.join(", ")
        )?;
    }
    out.flush()
}

struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn measure(
    client: &reqwest::blocking::Client,
    urls: &[String],
    rounds: usize,
) -> Result<Latency, BoxError> {
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3)?;
    // Warm-up: one pass, unmeasured.
    for url in urls {
        client.get(url).send()?.bytes()?;
    }
    for i in 0..rounds {
        let url = &urls[i % urls.len()];
        let started = Instant::now();
        let r = client.get(url).send()?;
        let status = r.status();
        r.bytes()?;
        if !status.is_success() {
            return Err(format!("{url} answered {status}").into());
        }
        histogram.record(started.elapsed().as_micros() as u64)?;
    }
    Ok(Latency {
        p50_ms: histogram.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: histogram.max() as f64 / 1000.0,
    })
}

fn resident_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn run(
    coopdir: &Path,
    workers: usize,
    concepts: usize,
    rounds: usize,
    report_path: &Path,
) -> Result<(), BoxError> {
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}/");
    let taxonomy = work.path().join("taxonomy.ttl");
    let directory = work.path().join("directory.ttl");
    esco::write(&taxonomy, concepts, 3, 1, 0)?;
    write_directory(&directory, &base, workers, concepts, 100)?;
    let started = Instant::now();
    coopdir_cmd(
        coopdir,
        &[
            "import",
            "--data",
            data_s,
            "--base-url",
            &base,
            taxonomy.to_str().ok_or("path")?,
            directory.to_str().ok_or("path")?,
        ],
    )?;
    let import_s = started.elapsed().as_secs_f64();
    println!("import {workers} workers, {concepts} ESCO-shaped concepts: {import_s:.1} s");
    let started = Instant::now();
    coopdir_cmd(coopdir, &["reindex", "--data", data_s, "--base-url", &base])?;
    let reindex_s = started.elapsed().as_secs_f64();
    println!("coopdir reindex (read the store, build the full-text index): {reindex_s:.1} s");

    let started = Instant::now();
    let server = spawn_server(coopdir, data_s, port, &[])?;
    let pid = server.id();
    let server = Guard(server);
    wait_ready(&format!("{base}health"))?;
    let startup_s = started.elapsed().as_secs_f64();
    println!("server start-up with an up-to-date index: {startup_s:.1} s");
    std::thread::sleep(Duration::from_millis(500));
    let rss_loaded = resident_mib(pid);

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let groups = esco::groups(concepts);
    let top = (groups / 20).max(1);
    let middle = (top * 5).min(groups);
    let skill = |i: usize| enc(&esco::concept_iri(groups + (i * 7) % (concepts - groups)));
    let group = |i: usize| enc(&esco::concept_iri(middle + i % (groups - middle).max(1)));
    let mid = |i: usize| enc(&esco::concept_iri(top + i % (middle - top).max(1)));
    let scenarios: Vec<(&str, Vec<String>)> = vec![
        (
            "one skill",
            (0..50)
                .map(|i| format!("{base}search?skill={}", skill(i)))
                .collect(),
        ),
        (
            "three skills, taxonomy expansion",
            (0..50)
                .map(|i| {
                    format!(
                        "{base}search?skill={}&skill={}&skill={}&all=false",
                        mid(i),
                        group(i),
                        group(i + 7)
                    )
                })
                .collect(),
        ),
        (
            "skill + place + availability",
            (0..50)
                .map(|i| {
                    format!(
                        "{base}search?skill={}&place={}&available=2027-06-30",
                        group(i),
                        enc(PLACES[i % PLACES.len()]
                            .split(',')
                            .next()
                            .unwrap_or("London"))
                    )
                })
                .collect(),
        ),
        (
            "free text with a typo",
            (0..50)
                .map(|i| {
                    let mut name = family(i * 13).to_lowercase();
                    // One letter changed.
                    if name.len() > 4 {
                        name.replace_range(2..3, "x");
                    }
                    format!("{base}search?q={}", enc(&name))
                })
                .collect(),
        ),
        (
            "skill lookup (autocomplete)",
            (0..50)
                .map(|i| {
                    let w = esco::word(groups + i * 11);
                    format!("{base}search/skills?q={}", enc(&w[..w.len().min(4)]))
                })
                .collect(),
        ),
        (
            "candidates for a 5-skill project",
            (0..50)
                .map(|i| format!("{base}projects/p{i}/candidates"))
                .collect(),
        ),
    ];
    let mut results = Vec::new();
    for (name, urls) in &scenarios {
        let latency = measure(&client, urls, rounds)?;
        println!(
            "search: {name}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({rounds} requests)",
            latency.p50_ms, latency.p99_ms, latency.max_ms
        );
        results.push(json!({
            "scenario": name,
            "p50_ms": latency.p50_ms,
            "p99_ms": latency.p99_ms,
            "max_ms": latency.max_ms,
        }));
    }
    let sample: Value = client.get(&scenarios[0].1[0]).send()?.json()?;
    println!(
        "sample: one skill matches {} of {workers} workers",
        sample["totalItems"]
    );
    let rss = resident_mib(pid);
    let peak = peak_memory_mib(pid);
    drop(server);
    println!(
        "server memory: {} resident with the index loaded, {} after the scenarios, peak {}",
        rss_loaded.map_or("unknown".into(), |m| format!("{m:.0} MiB")),
        rss.map_or("unknown".into(), |m| format!("{m:.0} MiB")),
        peak.map_or("unknown".into(), |m| format!("{m:.0} MiB"))
    );
    let report = json!({
        "workers": workers,
        "concepts": concepts,
        "import_s": import_s,
        "reindex_s": reindex_s,
        "startup_s": startup_s,
        "scenarios": results,
        "resident_mib_loaded": rss_loaded,
        "resident_mib_after": rss,
        "peak_mib": peak,
    });
    std::fs::write(report_path, serde_json::to_string_pretty(&report)?)?;
    println!("report written to {}", report_path.display());
    Ok(())
}

/// Times importing an ESCO-shaped taxonomy into an empty store, then an updated one.
pub fn esco_import(coopdir: &Path, concepts: usize, languages: usize) -> Result<(), BoxError> {
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let data_s = data.to_str().ok_or("path")?;
    let first = work.path().join("esco-1.ttl");
    let second = work.path().join("esco-2.ttl");
    let triples = esco::write(&first, concepts, languages, 1, 0)?;
    esco::write(&second, concepts, languages, 2, 5)?;
    let size = std::fs::metadata(&first)?.len() as f64 / 1e6;
    for (label, file) in [
        ("first import", &first),
        ("re-import of a revision", &second),
    ] {
        let started = Instant::now();
        let output = coopdir_cmd(
            coopdir,
            &["import", "--data", data_s, file.to_str().ok_or("path")?],
        )?;
        println!(
            "ESCO-shaped taxonomy, {concepts} concepts, {languages} languages, {triples} triples ({size:.0} MB): {label} {:.1} s",
            started.elapsed().as_secs_f64()
        );
        for line in output.lines().filter(|l| l.contains("no longer")) {
            println!("  {line}");
        }
    }
    Ok(())
}

/// Per page: the server's own time (`Server-Timing: page;dur=`) and the client's, p50
/// and p99, over `rounds` requests after one unmeasured warm-up.
fn measure_pages(
    client: &reqwest::blocking::Client,
    base: &str,
    pages: &[(&str, String)],
    rounds: usize,
) -> Result<(), BoxError> {
    for (name, path) in pages {
        let url = format!("{base}{}", path.trim_start_matches('/'));
        let mut server = hdrhistogram::Histogram::<u64>::new(3)?;
        let mut total = hdrhistogram::Histogram::<u64>::new(3)?;
        let mut bytes = 0;
        for i in 0..=rounds {
            let started = Instant::now();
            let r = client.get(&url).header("Accept", "text/html").send()?;
            let status = r.status();
            let timing = r
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split("dur=").nth(1))
                .and_then(|v| v.parse::<f64>().ok());
            bytes = r.bytes()?.len();
            if !status.is_success() {
                return Err(format!("{url} answered {status}").into());
            }
            let Some(timing) = timing else {
                return Err(format!("{url} sent no Server-Timing").into());
            };
            if i > 0 {
                server.record((timing * 1000.0) as u64)?;
                total.record(started.elapsed().as_micros() as u64)?;
            }
        }
        println!(
            "page {name:<28} server p50 {:>6.2} ms, p99 {:>6.2} ms; client p50 {:>6.2} ms ({} KiB)",
            server.value_at_quantile(0.5) as f64 / 1000.0,
            server.value_at_quantile(0.99) as f64 / 1000.0,
            total.value_at_quantile(0.5) as f64 / 1000.0,
            bytes / 1024
        );
    }
    Ok(())
}

/// The web interface's main pages, on the demo data and on `workers` generated workers.
pub fn pages(
    coopdir: &Path,
    workers: usize,
    concepts: usize,
    rounds: usize,
) -> Result<(), BoxError> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    {
        let work = tempfile::tempdir()?;
        let data = work.path().join("data");
        let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}/");
        let _server = Guard(spawn_server(
            coopdir,
            data_s,
            port,
            &["--demo", "--base-url", &base],
        )?);
        wait_ready(&format!("{base}health"))?;
        println!("demo data ({rounds} requests a page):");
        let demo: Vec<(&str, String)> = vec![
            ("home", "/".into()),
            (
                "search: a broad skill",
                "/search?skill=Software+development".into(),
            ),
            ("worker", "/workers/ada-okafor".into()),
            ("co-op", "/coops/good-praxis".into()),
            ("project", "/projects/fediverse-events".into()),
            ("skill", "/skills/software-development".into()),
            ("workers container", "/workers/".into()),
            ("skills insight", "/insights/skills".into()),
        ];
        measure_pages(&client, &base, &demo, rounds)?;
    }
    let work = tempfile::tempdir()?;
    let data = work.path().join("data");
    let data_s = data.to_str().ok_or("non-UTF-8 temp path")?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}/");
    let taxonomy = work.path().join("taxonomy.ttl");
    let directory = work.path().join("directory.ttl");
    esco::write(&taxonomy, concepts, 3, 1, 0)?;
    write_directory(&directory, &base, workers, concepts, 100)?;
    coopdir_cmd(
        coopdir,
        &[
            "import",
            "--data",
            data_s,
            "--base-url",
            &base,
            taxonomy.to_str().ok_or("path")?,
            directory.to_str().ok_or("path")?,
        ],
    )?;
    coopdir_cmd(coopdir, &["reindex", "--data", data_s, "--base-url", &base])?;
    let _server = Guard(spawn_server(coopdir, data_s, port, &[])?);
    wait_ready(&format!("{base}health"))?;
    let groups = esco::groups(concepts);
    let group = enc(&esco::concept_iri(groups / 2));
    println!("{workers} workers, {concepts} ESCO-shaped concepts ({rounds} requests a page):");
    let large: Vec<(&str, String)> = vec![
        ("home", "/".into()),
        ("search: a broad skill", format!("/search?skill={group}")),
        ("worker", "/workers/w1".into()),
        ("co-op (50 members)", "/coops/c1".into()),
        ("project", "/projects/p1".into()),
        ("workers container", "/workers/".into()),
        ("skills insight", "/insights/skills".into()),
    ];
    measure_pages(&client, &base, &large, rounds)
}
