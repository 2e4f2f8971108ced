//! `/health`, `/ready` and `/metrics`: what an operator's monitoring asks the server.

use std::path::Path;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coopdir_vocab::Kind;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::accounts::admin_reader;
use crate::error::ApiError;
use crate::handlers::set;
use crate::{AppState, Shared};

/// A consumer of the change log further behind than this is not ready (it is rebuilding,
/// or stuck): its readers would wait for it.
const READY_LAG: u64 = 1_000;

/// Alive: the process answers. Deliberately touches nothing, so that a busy store never
/// gets a healthy server restarted.
pub async fn health() -> Response {
    let mut response = r#"{"status":"ok"}"#.into_response();
    set(&mut response, header::CONTENT_TYPE, "application/json");
    response
}

/// Ready for traffic: the store answers a read, and the search index, the SPARQL view and
/// the outbox are within [`READY_LAG`] changes of the change log's head.
pub async fn ready(State(state): Shared) -> Response {
    let directory = state.directory.clone();
    let store = tokio::task::spawn_blocking(move || directory.store().change(1).map(|_| ()))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let head = state.directory.store().head();
    let mut ready = store.is_ok();
    let mut checks = serde_json::Map::new();
    checks.insert(
        "store".into(),
        match &store {
            Ok(()) => json!({ "ok": true }),
            Err(e) => json!({ "ok": false, "error": e }),
        },
    );
    for (name, applied) in consumers(&state) {
        let lag = head.saturating_sub(applied);
        let ok = lag <= READY_LAG;
        ready &= ok;
        checks.insert(
            name.into(),
            json!({ "ok": ok, "applied": applied, "lag": lag }),
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "head": head,
        "checks": checks,
    });
    let mut response = (status, body.to_string()).into_response();
    set(&mut response, header::CONTENT_TYPE, "application/json");
    if !ready {
        set(&mut response, header::RETRY_AFTER, "5");
    }
    response
}

fn consumers(state: &AppState) -> [(&'static str, u64); 3] {
    let (_, outbox, _) = state.federation.outbox().summary();
    [
        ("search", state.search.applied()),
        ("sparql", state.sparql.applied()),
        ("outbox", outbox),
    ]
}

/// Prometheus metrics, for a server admin, for the holder of the metrics token, or for
/// anyone on the separate metrics listener (`open` is true there).
pub async fn metrics(State(state): Shared, method: Method, headers: HeaderMap) -> Response {
    match metrics_for(state, &method, &headers, false).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The same on the metrics listener, which is bound where only the operator reaches it.
pub async fn open_metrics(State(state): Shared, method: Method, headers: HeaderMap) -> Response {
    match metrics_for(state, &method, &headers, true).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn metrics_for(
    state: Arc<AppState>,
    method: &Method,
    headers: &HeaderMap,
    open: bool,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(ApiError::method_not_allowed(
            "GET, HEAD",
            "metrics are read with GET",
        ));
    }
    if !open && !holds_metrics_token(&state, headers) {
        admin_reader(&state, headers)?;
    }
    let text = tokio::task::spawn_blocking(move || encode(&state))
        .await
        .map_err(ApiError::internal)??;
    let mut response = (StatusCode::OK, text).into_response();
    set(
        &mut response,
        header::CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
    );
    Ok(response)
}

fn holds_metrics_token(state: &AppState, headers: &HeaderMap) -> bool {
    use sha2::{Digest, Sha256};
    let Some(expected) = &state.config.metrics_token else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Comparing digests keeps the comparison's timing independent of the token's bytes.
    given.is_some_and(|g| Sha256::digest(g) == Sha256::digest(expected))
}

fn encode(state: &AppState) -> Result<String, ApiError> {
    let snapshot = Snapshot::take(state)?;
    let mut scrape = Registry::default();
    scrape.register_collector(Box::new(snapshot));
    let mut out = String::new();
    let error = |e: std::fmt::Error| ApiError::internal(e);
    prometheus_client::encoding::text::encode_registry(&mut out, state.metrics.registry())
        .map_err(error)?;
    prometheus_client::encoding::text::encode_registry(&mut out, &scrape).map_err(error)?;
    prometheus_client::encoding::text::encode_eof(&mut out).map_err(error)?;
    Ok(out)
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
enum Value {
    Gauge(f64),
    Counter(u64),
}

/// One metric family read from the server's state at scrape time.
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    rows: Vec<(Labels, Value)>,
}

/// What the store, the indexes and federation hold at the moment of the scrape.
#[derive(Debug)]
struct Snapshot(Vec<Family>);

impl Snapshot {
    fn take(state: &AppState) -> Result<Self, ApiError> {
        let mut families = Vec::new();
        let mut gauge = |name, help, rows: Vec<(Labels, f64)>| {
            families.push(Family {
                name,
                help,
                rows: rows
                    .into_iter()
                    .map(|(l, v)| (l, Value::Gauge(v)))
                    .collect(),
            })
        };
        let store = state.directory.store();
        let head = store.head();
        gauge(
            "coopdir_change_log_head",
            "The last sequence in the change log (every write adds one).",
            vec![(vec![], head as f64)],
        );
        if let Some(dir) = &state.config.data_dir {
            gauge(
                "coopdir_store_bytes",
                "Bytes on disk under the data directory (store, indexes, federation).",
                vec![(vec![], directory_size(dir) as f64)],
            );
        }
        let base = state.directory.paths().base();
        let mut counts = [0u64; Kind::ALL.len()];
        let mut replicas = 0u64;
        for name in store.graph_names().map_err(ApiError::internal)? {
            let oxigraph::model::NamedOrBlankNode::NamedNode(name) = name else {
                continue;
            };
            let Some(local) = name.as_str().strip_prefix(base) else {
                replicas += 1;
                continue;
            };
            // Members only: `workers/ada`, not the container `workers/` itself.
            let Some((segment, slug)) = local.split_once('/') else {
                continue;
            };
            if slug.is_empty() || slug.contains('/') {
                continue;
            }
            if let Some(i) = Kind::ALL
                .iter()
                .position(|k| k.container_segment() == segment)
            {
                counts[i] += 1;
            }
        }
        let mut rows: Vec<(Labels, f64)> = Kind::ALL
            .iter()
            .zip(counts)
            .map(|(k, n)| {
                (
                    vec![("container", k.container_segment().to_owned())],
                    n as f64,
                )
            })
            .collect();
        rows.push((vec![("container", "replicas".to_owned())], replicas as f64));
        gauge(
            "coopdir_resources",
            "Resources stored, by container (replicas: copies of followed peers' resources).",
            rows,
        );
        let consumers = consumers(state);
        gauge(
            "coopdir_index_lag",
            "Changes in the log that a consumer (search index, SPARQL view, outbox) has not applied yet.",
            consumers
                .iter()
                .map(|(n, a)| {
                    (
                        vec![("index", (*n).to_owned())],
                        head.saturating_sub(*a) as f64,
                    )
                })
                .collect(),
        );
        let federation = &state.federation;
        let (_, outbox_head, _) = federation.outbox().summary();
        gauge(
            "coopdir_outbox_head",
            "The last change-log sequence in the outbox.",
            vec![(vec![], outbox_head as f64)],
        );
        let peers = federation.peers().list();
        let peer = |p: &coopdir_federation::PeerState| vec![("peer", p.base.clone())];
        gauge(
            "coopdir_peer_lag",
            "Changes a followed peer has published that are not applied here yet.",
            peers.iter().map(|p| (peer(p), p.lag() as f64)).collect(),
        );
        gauge(
            "coopdir_peer_failures",
            "Consecutive failed pulls from a followed peer.",
            peers
                .iter()
                .map(|p| (peer(p), f64::from(p.failures)))
                .collect(),
        );
        let followers = federation.followers().list();
        let by = |f: &coopdir_federation::FollowerState| vec![("follower", f.base.clone())];
        gauge(
            "coopdir_delivery_lag",
            "Outbox changes not yet delivered to a follower.",
            followers
                .iter()
                .map(|f| (by(f), federation.followers().lag(f) as f64))
                .collect(),
        );
        gauge(
            "coopdir_delivery_failures",
            "Consecutive failed delivery attempts to a follower.",
            followers
                .iter()
                .map(|f| (by(f), f64::from(f.failures)))
                .collect(),
        );
        gauge(
            "coopdir_delivery_paused",
            "1 when deliveries to a follower are paused and probed.",
            followers
                .iter()
                .map(|f| (by(f), f64::from(u8::from(f.paused))))
                .collect(),
        );
        gauge(
            "coopdir_delivery_dead_letters",
            "Activities a follower refused, kept for the operator.",
            followers
                .iter()
                .map(|f| (by(f), f.dead_letters.len() as f64))
                .collect(),
        );
        families.push(Family {
            name: "coopdir_peer_pushed",
            help: "Changes a followed peer pushed that were applied here.",
            rows: peers
                .iter()
                .map(|p| (peer(p), Value::Counter(p.pushed)))
                .collect(),
        });
        families.push(Family {
            name: "coopdir_delivery_delivered",
            help: "Activities delivered to a follower.",
            rows: followers
                .iter()
                .map(|f| (by(f), Value::Counter(f.delivered)))
                .collect(),
        });
        Ok(Snapshot(families))
    }
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let Some((_, first)) = family.rows.first() else {
                continue;
            };
            let kind = match first {
                Value::Gauge(_) => ConstGauge::new(0.0).metric_type(),
                Value::Counter(_) => ConstCounter::new(0u64).metric_type(),
            };
            let mut descriptor = encoder.encode_descriptor(family.name, family.help, None, kind)?;
            for (labels, value) in &family.rows {
                let metric = descriptor.encode_family(labels)?;
                match value {
                    Value::Gauge(v) => ConstGauge::new(*v).encode(metric)?,
                    Value::Counter(v) => ConstCounter::new(*v).encode(metric)?,
                }
            }
        }
        Ok(())
    }
}

/// Bytes in the files under `dir`; unreadable entries count as nothing (a scrape must not
/// fail because RocksDB removed a file while we walked).
fn directory_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => directory_size(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
