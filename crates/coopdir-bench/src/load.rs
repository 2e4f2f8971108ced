//! Load generation: bounded concurrency over keep-alive connections, latencies in an HDR
//! histogram.

use hdrhistogram::Histogram;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Throughput {
    /// Requests answered with a 2xx.
    pub succeeded: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

pub struct Sequential {
    pub total: Duration,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

pub struct Listing {
    pub members: usize,
    pub pages: usize,
    /// The first round, right after the writes (nothing cached).
    pub first_ms: f64,
    pub median_ms: f64,
    pub best_ms: f64,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn histogram() -> Result<Histogram<u64>, BoxError> {
    Ok(Histogram::new_with_bounds(1, 60_000_000, 3)?)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// `connections` clients GET `url` back to back for `duration`.
/// GETs `url` on `connections` connections for `duration`, with a bearer `token` if given.
pub async fn get_load(
    url: &str,
    token: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Result<Throughput, BoxError> {
    let token: Option<Arc<str>> = token.map(Into::into);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let deadline = Instant::now() + duration;
    let url: Arc<str> = url.into();
    let mut tasks = Vec::new();
    let started = Instant::now();
    for _ in 0..connections {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut h = histogram()?;
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut request = client.get(&*url).header("Accept", "application/ld+json");
                if let Some(token) = &token {
                    request = request.bearer_auth(&**token);
                }
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await?;
                        h.record(t.elapsed().as_micros() as u64)?;
                    }
                    _ => errors += 1,
                }
            }
            Ok::<_, BoxError>((h, errors))
        }));
    }
    let mut all = histogram()?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        all.add(h)?;
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(Throughput {
        succeeded: all.len(),
        requests_per_second: all.len() as f64 / elapsed,
        p50_ms: ms(&all, 0.5),
        p99_ms: ms(&all, 0.99),
        errors,
    })
}

/// POSTs each body in turn (slugs `bench-worker-N`) and times the whole sequence.
pub async fn sequential_posts(
    container: &str,
    token: &str,
    bodies: &[String],
) -> Result<Sequential, BoxError> {
    let client = reqwest::Client::new();
    let mut h = histogram()?;
    let started = Instant::now();
    for (i, body) in bodies.iter().enumerate() {
        let t = Instant::now();
        let r = client
            .post(container)
            .bearer_auth(token)
            .header("Content-Type", "text/turtle")
            .header("Slug", crate::generate::worker_slug(i))
            .header("Prefer", "return=minimal")
            .body(body.clone())
            .send()
            .await?;
        if r.status() != reqwest::StatusCode::CREATED {
            return Err(format!(
                "POST {i} got {}: {}",
                r.status(),
                r.text().await.unwrap_or_default()
            )
            .into());
        }
        h.record(t.elapsed().as_micros() as u64)?;
    }
    Ok(Sequential {
        total: started.elapsed(),
        p50_ms: ms(&h, 0.5),
        p99_ms: ms(&h, 0.99),
    })
}

/// Waits until `/ready` reports every change-log consumer at the log's head (lag 0);
/// returns how long that took.
pub async fn wait_caught_up(base: &str) -> Result<Duration, BoxError> {
    let client = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let doc: serde_json::Value = client
            .get(format!("{base}ready"))
            .send()
            .await?
            .json()
            .await?;
        let lags: Vec<u64> = doc["checks"]
            .as_object()
            .into_iter()
            .flat_map(|checks| checks.values())
            .filter_map(|check| check["lag"].as_u64())
            .collect();
        if !lags.is_empty() && lags.iter().all(|lag| *lag == 0) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("{base}ready: the consumers did not catch up within 300 s").into())
}

/// Reads every page of `container` by following `rel="next"`, `rounds` times.
pub async fn list_all(container: &str, rounds: usize) -> Result<Listing, BoxError> {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let (mut members, mut pages) = (0, 0);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut next = Some(container.to_owned());
        let (mut m, mut p) = (0, 0);
        while let Some(url) = next {
            let r = client
                .get(&url)
                .header("Accept", "application/ld+json")
                .send()
                .await?;
            next = r
                .headers()
                .get_all("link")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(", "))
                .find(|l| l.ends_with("rel=\"next\""))
                .and_then(|l| l.strip_prefix('<')?.split('>').next().map(str::to_owned));
            let doc: serde_json::Value = r.json().await?;
            m += doc["contains"].as_array().map_or(0, Vec::len);
            p += 1;
        }
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        (members, pages) = (m, p);
    }
    let first_ms = times.first().copied().unwrap_or_default();
    times.sort_by(f64::total_cmp);
    Ok(Listing {
        members,
        pages,
        first_ms,
        median_ms: times[times.len() / 2],
        best_ms: times[0],
    })
}

/// Serves one file's bytes on every path: the baseline for the GET scenario.
pub fn bare_server(listen: &str, body: &Path) -> Result<(), BoxError> {
    let bytes = bytes_of(std::fs::read(body)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = axum::Router::new().fallback(move || {
            let bytes = bytes.clone();
            async move { ([("content-type", "application/ld+json")], bytes) }
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        axum::serve(listener, app).await
    })?;
    Ok(())
}

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}
