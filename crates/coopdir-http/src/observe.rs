//! What the server tells its operator about requests: a request id on every log line and
//! in `X-Request-Id`, one access-log line per request, and Prometheus request metrics per
//! route pattern (`/{container}/{slug}`, never the raw path, so the label set stays small).

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, Response, header::HeaderName};
use axum::middleware::Next;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The request metrics, updated by [`record`] and encoded by the `/metrics` handler.
pub struct RequestMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    in_flight: Gauge,
    writes: Counter,
    pub(crate) shed: Counter,
    pub(crate) rate_limited: Counter,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "coopdir_http_requests",
            "HTTP requests answered, by route pattern, method and status.",
            requests.clone(),
        );
        // 0.1 ms to about 6.5 s.
        let latency: LatencyFamily =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0001, 2.0, 17)));
        registry.register(
            "coopdir_http_request_duration_seconds",
            "Time from the request's arrival to its response headers, by route pattern and method.",
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "coopdir_http_requests_in_flight",
            "Requests being answered now.",
            in_flight.clone(),
        );
        let writes = Counter::default();
        registry.register(
            "coopdir_http_writes",
            "Writes (POST, PUT, PATCH, DELETE) that got a 2xx answer.",
            writes.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "coopdir_http_shed",
            "Requests refused with 503 because the server was at its concurrency limit.",
            shed.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "coopdir_http_rate_limited",
            "Requests refused with 429 because their client exceeded its rate.",
            rate_limited.clone(),
        );
        RequestMetrics {
            registry,
            requests,
            latency,
            in_flight,
            writes,
            shed,
            rate_limited,
        }
    }
}

impl RequestMetrics {
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }
}

/// The route pattern a request matched, carried from the router to [`record`] on the
/// response (which [`record`] sees only after routing, outside the router).
#[derive(Clone)]
struct Route(String);

/// Inside the router: remembers which route pattern answered.
pub(crate) async fn mark_route(request: Request, next: Next) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(Route(route));
    }
    response
}

/// Outside everything but the request id and the trace: counts and times every request,
/// the ones refused by the limits included.
pub(crate) async fn record(
    State(metrics): State<Arc<RequestMetrics>>,
    request: Request,
    next: Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = method_label(request.method());
    metrics.in_flight.inc();
    let _in_flight = InFlight(&metrics.in_flight);
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<Route>()
        .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
    let status = response.status();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.to_owned(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method: method.to_owned(),
            status: status.as_u16(),
        })
        .inc();
    if status.is_success() && ["POST", "PUT", "PATCH", "DELETE"].contains(&method) {
        metrics.writes.inc();
    }
    response
}

/// Decrements the in-flight gauge even when the client goes away mid-request.
struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Known methods by name, anything else as one label (a client cannot grow the label set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A request id the client sent is kept when it is short and plain (so that it can be
/// followed across a proxy); anything else is dropped and replaced by a fresh one, so
/// that no client writes odd bytes into our logs.
pub(crate) async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request.headers().get(&REQUEST_ID).is_some_and(|v| {
        let bytes = v.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The id of a request: a UUID without dashes.
#[derive(Clone, Copy, Default)]
pub(crate) struct MakeRequestId;

impl tower_http::request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        HeaderValue::from_str(&id)
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The span of a request: its id, method and path (without the secret an invitation link
/// carries), so that every line logged while answering it names the request.
pub(crate) fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let path = request.uri().path();
    let path = if path.starts_with("/invitations/") {
        "/invitations/…"
    } else {
        path
    };
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %request.method(), path = %path)
}

/// The access-log line, in the request's span.
pub(crate) fn log_response<B>(response: &Response<B>, latency: Duration, _: &tracing::Span) {
    let status = response.status().as_u16();
    let ms = format!("{:.3}", latency.as_secs_f64() * 1000.0);
    if status >= 500 {
        tracing::warn!(status, ms = %ms, "answered");
    } else {
        tracing::info!(status, ms = %ms, "answered");
    }
}
