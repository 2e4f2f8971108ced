//! coopdir's HTTP API (axum): Linked Data Platform containers and resources with content
//! negotiation, conditional requests, paging, CORS and problem+json errors.
//!
//! Handlers are thin: they negotiate, turn credentials into a principal, parse the body
//! and hand over to [`coopdir_ldp::Directory`] (whose synchronous store work runs on
//! tokio's blocking pool), to [`coopdir_search::SearchIndex`] or to
//! [`coopdir_federation::Federation`]; what a principal may do
//! is decided by `coopdir-access`.

mod accounts;
mod auth;
mod error;
mod federation;
mod handlers;
mod inbox;
mod limits;
mod mail;
mod negotiate;
mod observe;
mod pages;
mod search;
mod sparql;
mod status;

pub use error::ApiError;
pub use limits::Limits;
pub use mail::{MailConfig, Mailer};

use axum::Router;
use axum::routing::{any, get};
use coopdir_federation::Federation;
use coopdir_ldp::Directory;
use coopdir_search::SearchIndex;
use coopdir_sparql::PublicView;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};
use tower_http::trace::TraceLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Members per container page unless the client asks for another size.
    pub page_size: usize,
    /// How long one SPARQL query may run.
    pub sparql_timeout: Duration,
    /// Most results (solutions or triples) one SPARQL query may return.
    pub sparql_max_results: usize,
    /// Timeouts, concurrency, header size and rates.
    pub limits: Limits,
    /// A bearer token that may read `/metrics` (besides server admins).
    pub metrics_token: Option<String>,
    /// The data directory, whose size `/metrics` reports.
    pub data_dir: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            page_size: 100,
            sparql_timeout: Duration::from_secs(5),
            sparql_max_results: 10_000,
            limits: Limits::default(),
            metrics_token: None,
            data_dir: None,
        }
    }
}

pub(crate) type Shared = axum::extract::State<Arc<AppState>>;

/// What every handler shares.
pub struct AppState {
    pub directory: Arc<Directory>,
    pub search: Arc<SearchIndex>,
    pub sparql: Arc<PublicView>,
    pub federation: Arc<Federation>,
    pub config: HttpConfig,
    pub mailer: Mailer,
    metrics: Arc<observe::RequestMetrics>,
    rate_limits: limits::RateLimits,
}

/// The routers of a server: the API for everyone, and what the separate operator
/// listener serves (`/health`, `/ready`, `/metrics` without credentials).
pub struct Routers {
    pub api: Router,
    pub operator: Router,
    state: Arc<AppState>,
}

impl Routers {
    /// Requests being answered now (what a graceful shutdown waits for).
    pub fn in_flight(&self) -> i64 {
        self.state.metrics.in_flight()
    }
}

/// The whole API as a router.
pub fn app(
    directory: Arc<Directory>,
    search: Arc<SearchIndex>,
    sparql: Arc<PublicView>,
    federation: Arc<Federation>,
    config: HttpConfig,
    mailer: Mailer,
) -> Routers {
    let rate_limits = limits::RateLimits::new(&config.limits);
    let state = Arc::new(AppState {
        directory,
        search,
        sparql,
        federation,
        config,
        mailer,
        metrics: Arc::default(),
        rate_limits,
    });
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true)
        .expose_headers(ExposeHeaders::list([
            axum::http::header::ETAG,
            axum::http::header::LINK,
            axum::http::header::LOCATION,
            axum::http::header::ALLOW,
            axum::http::HeaderName::from_static("accept-post"),
            axum::http::HeaderName::from_static("accept-patch"),
            axum::http::HeaderName::from_static("preference-applied"),
            axum::http::header::RETRY_AFTER,
        ]))
        .max_age(Duration::from_secs(3600));
    let api = Router::new()
        .route("/", any(handlers::root))
        .route("/context.jsonld", get(handlers::context))
        .route("/ns", get(handlers::vocabulary))
        .route("/shapes/{name}", get(handlers::shape))
        .route("/assets/{name}", get(pages::asset))
        .route("/lang", any(pages::lang_switch))
        .route("/admin", any(pages::admin))
        .route("/search", any(search::search))
        .route("/sparql", any(sparql::sparql))
        .route("/search/skills", any(search::skills))
        .route("/insights/skills", any(search::insights))
        .route("/actor", any(federation::actor))
        .route("/outbox", any(federation::outbox))
        .route("/outbox/{seq}", any(federation::activity))
        .route("/replicas", any(federation::replicas))
        .route("/admin/peers", any(federation::peers))
        .route("/admin/peers/{id}", any(federation::peer))
        .route("/admin/peers/{id}/sync", any(federation::peer_sync))
        .route("/admin/digest", any(federation::digest))
        .route("/admin/followers", any(federation::followers))
        .route("/admin/followers/{id}", any(federation::follower))
        .route(
            "/admin/followers/{id}/{action}",
            any(federation::follower_action),
        )
        .route(
            "/admin/followers/{id}/dead-letters/{seq}/resend",
            any(federation::resend),
        )
        .route("/inbox/", any(inbox::inbox))
        .route("/inbox/{id}", any(inbox::notification))
        .route("/login", any(accounts::login))
        .route("/logout", any(accounts::logout))
        .route("/account", any(accounts::account))
        .route("/account/password", any(accounts::password))
        .route("/account/tokens", any(accounts::tokens))
        .route("/account/tokens/{id}", any(accounts::token))
        .route("/account/skill-proposals", get(accounts::proposals))
        .route("/invitations/{secret}", any(accounts::invitation))
        .route("/admin/users", any(accounts::admin_users))
        .route(
            "/admin/users/{id}/{action}",
            any(accounts::admin_user_state),
        )
        .route("/admin/tokens", any(accounts::admin_tokens))
        .route("/admin/audit", get(accounts::admin_audit))
        .route("/admin/skill-proposals", get(accounts::proposals))
        .route("/admin/skill-proposals/{id}", any(accounts::proposal))
        .route(
            "/admin/skill-proposals/{id}/{decision}",
            any(accounts::proposal_decision),
        )
        .route("/{container}/", any(handlers::container))
        .route("/{container}/{slug}", any(handlers::resource))
        .route("/{container}/{slug}/{sub}", any(handlers::below_resource))
        .route(
            "/{container}/{slug}/{sub}/{id}",
            any(handlers::below_resource),
        )
        .fallback(handlers::fallback)
        .layer(axum::middleware::from_fn(observe::mark_route))
        .with_state(state.clone());
    // tower-http's CORS layer answers every OPTIONS as a preflight; a plain OPTIONS (an
    // LDP or LDN client asking what it may do, with no Access-Control-Request-Method)
    // goes to the handlers, which say Allow and Accept-Post.
    let with_cors = api.clone().layer(cors);
    let dispatch = tower::service_fn(move |request: axum::http::Request<axum::body::Body>| {
        use tower::ServiceExt;
        let plain_options = request.method() == axum::http::Method::OPTIONS
            && !request
                .headers()
                .contains_key(axum::http::header::ACCESS_CONTROL_REQUEST_METHOD);
        let service = if plain_options {
            api.clone()
        } else {
            with_cors.clone()
        };
        async move { service.oneshot(request).await }
    });
    let limits = &state.config.limits;
    let shed_state = state.clone();
    let limited = Router::new()
        .fallback_service(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::rate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::header_size,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.request_timeout,
        ))
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(
                    move |e: tower::BoxError| limits::refused(shed_state.clone(), e),
                ))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent_requests,
                )),
        );
    // Monitoring is answered even when the server sheds load; on the operator listener,
    // /metrics needs no credentials.
    let monitoring = |open: bool| {
        let metrics = if open {
            any(status::open_metrics)
        } else {
            any(status::metrics)
        };
        Router::new()
            .route("/health", get(status::health))
            .route("/ready", get(status::ready))
            .route("/metrics", metrics)
            .layer(axum::middleware::from_fn(observe::mark_route))
            .with_state(state.clone())
    };
    let api = observed(monitoring(false).fallback_service(limited), &state);
    let operator = observed(monitoring(true), &state);
    tokio::spawn(forget_quiet_clients(Arc::downgrade(&state)));
    Routers {
        api,
        operator,
        state,
    }
}

/// Request ids, the request's span and access-log line, and request metrics.
fn observed(router: Router, state: &Arc<AppState>) -> Router {
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    router
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            observe::record,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(observe::request_span)
                .on_request(())
                .on_response(observe::log_response)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(observe::REQUEST_ID))
        .layer(SetRequestIdLayer::new(
            observe::REQUEST_ID,
            observe::MakeRequestId,
        ))
        .layer(axum::middleware::map_request(
            observe::drop_unusable_request_id,
        ))
}

/// Keeps the rate limiters' memory bounded while the server runs.
async fn forget_quiet_clients(state: std::sync::Weak<AppState>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        match state.upgrade() {
            Some(state) => state.rate_limits.forget_quiet_clients(),
            None => return,
        }
    }
}

/// How [`serve`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight at the signal was answered.
    Cleanly,
    /// The shutdown deadline passed with this many requests still running; they were cut.
    AtDeadline { in_flight: i64 },
}

/// Serves the API on `listener` (and the operator routes on `operator`, when given) until
/// ctrl-c or SIGTERM. Then it stops accepting connections, lets the requests in flight
/// finish for at most `deadline`, and returns; a second signal exits the process at once.
pub async fn serve(
    listener: tokio::net::TcpListener,
    operator: Option<tokio::net::TcpListener>,
    routers: Routers,
    deadline: Duration,
) -> std::io::Result<Stopped> {
    use axum::serve::ListenerExt;
    // Small responses go out at once instead of waiting for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    use std::future::IntoFuture;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let signalled = |mut stopping: tokio::sync::watch::Receiver<bool>| async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    if let Some(operator) = operator {
        let signalled = signalled(stopping.clone());
        let router = routers.operator.clone();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(operator, router)
                .with_graceful_shutdown(signalled)
                .await
            {
                tracing::error!(error = %e, "the operator listener stopped");
            }
        });
    }
    // The client's address feeds the login throttle and the rate limits.
    let server = axum::serve(
        listener,
        routers
            .api
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(signalled(stopping))
    .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map(|()| Stopped::Cleanly),
        () = shutdown_signal() => {}
    }
    let _ = stop.send(true);
    tracing::info!(
        in_flight = routers.in_flight(),
        deadline_s = deadline.as_secs_f64(),
        "shutting down: no new connections; finishing the requests in flight"
    );
    tokio::spawn(async {
        shutdown_signal().await;
        tracing::warn!("second signal: exiting at once");
        std::process::exit(EXIT_FORCED);
    });
    match tokio::time::timeout(deadline, &mut server).await {
        Ok(result) => result.map(|()| Stopped::Cleanly),
        Err(_) => Ok(Stopped::AtDeadline {
            in_flight: routers.in_flight(),
        }),
    }
}

/// The exit code after a second signal (128 + SIGINT, as shells report an interrupt).
pub const EXIT_FORCED: i32 = 130;

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
