//! coopdir's HTTP API (axum): Linked Data Platform containers and resources with content
//! negotiation, conditional requests, paging, CORS and problem+json errors.
//!
//! Handlers are thin: they negotiate, authenticate, parse the body and hand over to
//! [`coopdir_ldp::Directory`], whose synchronous store work runs on tokio's blocking pool.

mod error;
mod handlers;
mod negotiate;

pub use error::ApiError;

use axum::Router;
use axum::routing::{any, get};
use coopdir_ldp::Directory;
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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            page_size: 100,
        }
    }
}

pub struct AppState {
    pub directory: Arc<Directory>,
    pub config: HttpConfig,
}

/// The whole API as a router.
pub fn app(directory: Arc<Directory>, config: HttpConfig) -> Router {
    let state = Arc::new(AppState { directory, config });
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
        ]))
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/", any(handlers::root))
        .route("/context.jsonld", get(handlers::context))
        .route("/ns", get(handlers::vocabulary))
        .route("/shapes/{name}", get(handlers::shape))
        .route("/health", get(handlers::health))
        .route("/{container}/", any(handlers::container))
        .route("/{container}/{slug}", any(handlers::resource))
        .fallback(handlers::fallback)
        .with_state(state)
        .layer(cors)
        .layer(TraceLayer::new_for_http())
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
    axum::serve(listener, router)
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
