//! How the server protects itself from a misbehaving client: header size, per-client rates
//! of writes and logins, and the problem+json answers of the tower layers that shed load
//! and time out slow request bodies. (Body size is checked where bodies are read; triples
//! per write and nesting depth while parsing, in `coopdir-syntax`.)

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::{AppState, auth};

/// The limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request whose headers or body take longer than this to arrive gets a 408.
    pub request_timeout: Duration,
    /// Requests answered at once; one more gets a 503 with `Retry-After` at once instead
    /// of queueing (`/health`, `/ready` and `/metrics` are never shed).
    pub max_concurrent_requests: usize,
    /// Request line and headers together, in bytes (431 above it).
    pub max_header_bytes: usize,
    /// Writes per minute per client (account, else address); server admins are exempt.
    pub writes_per_minute: u32,
    /// Login attempts per minute per address.
    pub logins_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 512,
            max_header_bytes: 16 * 1024,
            writes_per_minute: 600,
            logins_per_minute: 20,
        }
    }
}

/// The per-client rate limiters.
pub(crate) struct RateLimits {
    writes: DefaultKeyedRateLimiter<String>,
    logins: DefaultKeyedRateLimiter<IpAddr>,
}

impl RateLimits {
    pub(crate) fn new(limits: &Limits) -> Self {
        // Writes come in bursts of a tenth of a minute's allowance (at least 10), so a
        // form that saves twice or a script's first batch is not refused; logins in bursts
        // of the whole minute's allowance (a co-op's office logging in at nine).
        let quota = |per_minute: u32, burst: u32| {
            let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(rate).allow_burst(burst)
        };
        let writes = limits.writes_per_minute;
        let logins = limits.logins_per_minute;
        RateLimits {
            writes: RateLimiter::keyed(quota(writes, (writes / 10).max(10).min(writes))),
            logins: RateLimiter::keyed(quota(logins, logins)),
        }
    }

    /// Forgets clients that have been quiet long enough to be back at full allowance, so
    /// that the limiters' memory stays bounded.
    pub(crate) fn forget_quiet_clients(&self) {
        self.writes.retain_recent();
        self.logins.retain_recent();
    }
}

/// 431 for a request line and headers over [`Limits::max_header_bytes`]. (hyper already
/// bounds what it buffers; this is the policy an operator sets.)
pub(crate) async fn header_size(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.config.limits.max_header_bytes;
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    let size = target
        + request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    if size > limit {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request Header Fields Too Large",
            format!(
                "the request line and headers take {size} bytes; the limit is {limit}: send fewer or shorter headers (large cookies?)"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// 429 with `Retry-After` for a client over its rate of writes or of logins.
pub(crate) async fn rate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(ConnectInfo(address)) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .cloned()
    else {
        return next.run(request).await;
    };
    let method = request.method();
    let is_write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !is_write {
        return next.run(request).await;
    }
    // Peers push bursts of signed notifications to the inbox (a catch-up is thousands);
    // their signatures and the inbox's own size limit guard it, not the client rate.
    if request.uri().path().starts_with("/inbox/") {
        return next.run(request).await;
    }
    let limits = &state.rate_limits;
    let ip = address.ip();
    if request.uri().path() == "/login"
        && let Err(not_until) = limits.logins.check_key(&ip)
    {
        return too_many(&state, "login attempts", &not_until);
    }
    // The key is who is writing when their credential is valid, so that one account
    // behind a shared address (a co-op's office) has its own allowance; otherwise the
    // address, so that made-up credentials do not buy fresh allowances.
    let key = match auth::caller(&state, request.headers()).map(|c| c.principal) {
        Ok(p) if p.is_server_admin() => return next.run(request).await,
        Ok(p) => match p.identity {
            coopdir_access::Identity::Account { id, .. } => format!("account {id}"),
            _ => format!("address {ip}"),
        },
        Err(_) => format!("address {ip}"),
    };
    if let Err(not_until) = limits.writes.check_key(&key) {
        return too_many(&state, "writes", &not_until);
    }
    next.run(request).await
}

fn too_many(
    state: &AppState,
    what: &str,
    not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
) -> Response {
    state.metrics.rate_limited.inc();
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate-limited",
        "Too Many Requests",
        format!("too many {what} from this client: try again in {seconds} s"),
    )
    .with_header(header::RETRY_AFTER, seconds.max(1).to_string())
    .into_response()
}

/// The answer of the load-shedding and timeout layers, as problem+json.
pub(crate) async fn refused(state: Arc<AppState>, error: tower::BoxError) -> Response {
    if error.is::<tower::load_shed::error::Overloaded>() {
        state.metrics.shed.inc();
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "Service Unavailable",
            "the server is answering as many requests as it is configured to: try again in a second",
        )
        .with_header(header::RETRY_AFTER, "1")
        .into_response();
    }
    ApiError::internal(error).into_response()
}

/// 408 for a body that did not arrive within the request timeout.
pub(crate) fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "Request Timeout",
        "the request body did not arrive within the request timeout: send it faster, or in smaller requests",
    )
    .with_header(header::CONNECTION, "close")
}
