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
mod mail;
mod negotiate;
mod pages;
mod search;
mod sparql;

pub use error::ApiError;
pub use mail::{MailConfig, Mailer};

use axum::Router;
use axum::routing::{any, get};
use coopdir_federation::Federation;
use coopdir_ldp::Directory;
use coopdir_search::SearchIndex;
use coopdir_sparql::PublicView;
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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            page_size: 100,
            sparql_timeout: Duration::from_secs(5),
            sparql_max_results: 10_000,
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
}

/// The whole API as a router.
pub fn app(
    directory: Arc<Directory>,
    search: Arc<SearchIndex>,
    sparql: Arc<PublicView>,
    federation: Arc<Federation>,
    config: HttpConfig,
    mailer: Mailer,
) -> Router {
    let state = Arc::new(AppState {
        directory,
        search,
        sparql,
        federation,
        config,
        mailer,
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
        .route("/health", get(handlers::health))
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
        .route("/metrics", any(federation::metrics))
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
        .with_state(state);
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
    Router::new()
        .fallback_service(dispatch)
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
}

/// The span of a request, without the secret an invitation link carries in its path.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let path = request.uri().path();
    let path = if path.starts_with("/invitations/") {
        "/invitations/…"
    } else {
        path
    };
    tracing::debug_span!("request", method = %request.method(), path = %path)
}

/// Serves `router` on `listener` until ctrl-c or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small responses go out at once instead of waiting for Nagle's algorithm.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    // The client's address feeds the login throttle.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

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
    tracing::info!("shutting down");
}
