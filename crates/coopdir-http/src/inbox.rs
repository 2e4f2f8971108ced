//! `/inbox/`: the Linked Data Notifications receiver (see `coopdir_federation::inbox`
//! for what is done with a notification). This file only speaks HTTP: discovery
//! headers, `OPTIONS` with `Accept-Post`, the listing, each notification by content
//! negotiation, and a body read within the size and depth limits as it streams in.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use coopdir_federation::InboxError;
use coopdir_federation::limits::DepthScanner;
use coopdir_syntax::{InputFormat, OutputFormat, parse_graph, write_graph};
use http_body_util::BodyExt;
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, NamedNode, Triple};
use serde_json::json;

use crate::accounts::admin_reader;
use crate::error::ApiError;
use crate::handlers::{output_format, set};
use crate::negotiate::media_type;
use crate::{AppState, Shared};

/// What the inbox takes.
pub(crate) const ACCEPT_POST: &str =
    "application/ld+json, application/activity+json, application/json";
const LDP: &str = "http://www.w3.org/ns/ldp#";

type Client = Option<axum::Extension<axum::extract::ConnectInfo<SocketAddr>>>;

/// `<inbox>; rel="ldp:inbox"`, on every resource so senders can discover it.
pub(crate) fn inbox_link(state: &AppState) -> String {
    format!(
        "<{}>; rel=\"http://www.w3.org/ns/ldp#inbox\"",
        state.federation.inbox().url()
    )
}

fn constraints_url(state: &AppState) -> String {
    format!("{}constraints", state.federation.inbox().url())
}

fn container_headers(state: &AppState, response: &mut Response) {
    let links = [
        format!("<{LDP}Resource>; rel=\"type\""),
        format!("<{LDP}RDFSource>; rel=\"type\""),
        format!("<{LDP}Container>; rel=\"type\""),
        format!("<{LDP}BasicContainer>; rel=\"type\""),
        format!(
            "<{}>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\"",
            constraints_url(state)
        ),
    ];
    set(response, header::LINK, &links.join(", "));
    set(response, header::ALLOW, "GET, HEAD, POST, OPTIONS");
    set(
        response,
        header::HeaderName::from_static("accept-post"),
        ACCEPT_POST,
    );
    set(response, header::VARY, "Accept, Authorization, Cookie");
}

fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    admin_reader(state, headers).is_ok()
}

/// `/inbox/`: `GET` lists the notifications the caller may see, `POST` delivers one,
/// `OPTIONS` says what may be posted.
pub async fn inbox(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    client: Client,
    body: Body,
) -> Result<Response, ApiError> {
    match method {
        Method::OPTIONS => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            container_headers(&state, &mut response);
            Ok(response)
        }
        Method::GET | Method::HEAD => {
            let format = output_format(&headers)?;
            let inbox = state.federation.inbox();
            let url = inbox.url();
            let items: Vec<String> = inbox
                .list(is_admin(&state, &headers))
                .iter()
                .map(|n| inbox.location(n))
                .collect();
            let body = if format == OutputFormat::JsonLd {
                json!({
                    "@context": {
                        "ldp": LDP,
                        "contains": { "@id": "ldp:contains", "@type": "@id", "@container": "@set" }
                    },
                    "@id": url,
                    "@type": ["ldp:Container", "ldp:BasicContainer"],
                    "contains": items,
                })
                .to_string()
            } else {
                let subject = NamedNode::new_unchecked(url);
                let mut graph = Graph::new();
                for class in ["Container", "BasicContainer"] {
                    graph.insert(&Triple::new(
                        subject.clone(),
                        rdf::TYPE,
                        NamedNode::new_unchecked(format!("{LDP}{class}")),
                    ));
                }
                let contains = NamedNode::new_unchecked(format!("{LDP}contains"));
                for item in items {
                    graph.insert(&Triple::new(
                        subject.clone(),
                        contains.clone(),
                        NamedNode::new_unchecked(item),
                    ));
                }
                String::from_utf8_lossy(&write_graph(&graph, format, Some(subject.as_ref()), ""))
                    .into_owned()
            };
            let mut response = (StatusCode::OK, body).into_response();
            container_headers(&state, &mut response);
            set(&mut response, header::CONTENT_TYPE, media_type(format));
            set(&mut response, header::CACHE_CONTROL, "no-store");
            Ok(response)
        }
        Method::POST => {
            let media = crate::negotiate::body_media_type(&headers).unwrap_or_default();
            if !ACCEPT_POST.split(", ").any(|m| m == media) {
                return Err(ApiError::unsupported_media_type(
                    format!("a notification is JSON-LD ({ACCEPT_POST}), not {media:?}"),
                    ACCEPT_POST,
                )
                .with_header(header::HeaderName::from_static("accept-post"), ACCEPT_POST));
            }
            let config = state.federation.inbox().config();
            let bytes = read_json_body(&headers, body, config.max_bytes, config.max_depth).await?;
            let client = client
                .map(|c| c.0.0.ip())
                .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
            let received = state
                .federation
                .inbox()
                .receive(&headers, bytes, client)
                .await
                .map_err(|e| inbox_error(&state, e))?;
            let location = state.federation.inbox().location(&received.notification);
            let status = if received.created {
                StatusCode::CREATED
            } else {
                StatusCode::ACCEPTED
            };
            let mut response = (
                status,
                json!({
                    "id": location,
                    "outcome": if received.created { received.notification.outcome.as_str() } else { "duplicate" },
                })
                .to_string(),
            )
                .into_response();
            set(&mut response, header::CONTENT_TYPE, "application/json");
            set(&mut response, header::LOCATION, &location);
            Ok(response)
        }
        _ => Err(ApiError::method_not_allowed(
            "GET, HEAD, POST, OPTIONS",
            "the inbox accepts GET, HEAD, POST and OPTIONS",
        )),
    }
}

/// `GET /inbox/{id}`: one notification, as JSON-LD (as it was sent) or, when its
/// contexts are ones this server holds, as Turtle or N-Triples.
pub async fn notification(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    crate::handlers::only_get(&method, "a notification")?;
    if id == "constraints" {
        return Ok(constraints(&state));
    }
    let format = output_format(&headers)?;
    let inbox = state.federation.inbox();
    let admin = is_admin(&state, &headers);
    let federation = state.federation.clone();
    let lookup = id.clone();
    let found = tokio::task::spawn_blocking(move || federation.inbox().get(&lookup, admin))
        .await
        .map_err(ApiError::internal)??;
    let Some((meta, body)) = found else {
        return Err(ApiError::not_found(&format!("/inbox/{id}")));
    };
    let location = inbox.location(&meta);
    let bytes = match format {
        OutputFormat::JsonLd => body.to_string().into_bytes(),
        other => {
            let contexts = vec![
                state.directory.paths().context(),
                coopdir_vocab::CANONICAL_CONTEXT_IRI.to_owned(),
            ];
            let graph = parse_graph(
                body.to_string().as_bytes(),
                InputFormat::JsonLd,
                &location,
                &contexts,
            )
            .map_err(|e| {
                ApiError::new(
                    StatusCode::NOT_ACCEPTABLE,
                    "not-acceptable",
                    "Not Acceptable",
                    format!(
                        "this notification is only available as application/ld+json: it uses a JSON-LD context this server does not hold, and remote contexts are never fetched ({e})"
                    ),
                )
            })?;
            write_graph(&graph, other, None, "")
        }
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let links = [
        format!("<{LDP}Resource>; rel=\"type\""),
        format!("<{LDP}RDFSource>; rel=\"type\""),
    ];
    set(&mut response, header::LINK, &links.join(", "));
    set(&mut response, header::CONTENT_TYPE, media_type(format));
    set(&mut response, header::VARY, "Accept, Authorization, Cookie");
    set(&mut response, header::ALLOW, "GET, HEAD");
    Ok(response)
}

/// What the inbox accepts, for `ldp:constrainedBy`.
fn constraints(state: &AppState) -> Response {
    let config = state.federation.inbox().config();
    let text = format!(
        "This inbox accepts JSON-LD notifications ({ACCEPT_POST}).\n\
         Server-to-server activities must be signed with HTTP Message Signatures (RFC 9421) covering \
         @method, @target-uri, content-type and content-digest (RFC 9530), created within {} s, \
         with a key published on the sender's actor document; data changes are taken only from \
         servers this one follows, and only for IRIs under the sender's base URL.\n\
         Limits: {} bytes per notification, JSON nesting depth {}, {} triples per resource.\n\
         Unsigned notifications: {}.\n",
        coopdir_federation::signatures::WINDOW.as_secs(),
        config.max_bytes,
        config.max_depth,
        config.max_triples,
        if config.open {
            format!(
                "accepted and stored as inert notifications (never applied to data), at most {} bytes and {} per minute per client",
                config.open_max_bytes, config.open_per_minute
            )
        } else {
            "refused (401)".to_owned()
        }
    );
    let mut response = (StatusCode::OK, text).into_response();
    set(
        &mut response,
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    response
}

/// Reads a JSON body within `limit` bytes and `depth` levels of nesting, stopping at
/// the first byte past either (so an oversized or deeply nested payload is never read
/// whole).
async fn read_json_body(
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
    depth: usize,
) -> Result<Bytes, ApiError> {
    crate::handlers::check_length(headers, limit)?;
    let mut scanner = DepthScanner::new(depth);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if buffer.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        scanner.feed(&chunk).map_err(|max| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "too-deep",
                "Bad Request",
                format!("the JSON is nested more than {max} levels deep: refused"),
            )
        })?;
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

fn inbox_error(state: &AppState, e: InboxError) -> ApiError {
    let constrained = format!(
        "<{}>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\"",
        constraints_url(state)
    );
    let error = match &e {
        InboxError::Unsigned | InboxError::Signature(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-signature",
            "Unauthorized",
            e.to_string(),
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            "Signature realm=\"coopdir\", headers=\"@method @target-uri content-type content-digest\"",
        ),
        InboxError::Forbidden(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", e.to_string())
        }
        InboxError::Malformed(_) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-notification",
            "Unprocessable Content",
            e.to_string(),
        ),
        InboxError::TooLarge(_) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload Too Large",
            e.to_string(),
        ),
        InboxError::RateLimited(_) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too Many Requests",
            e.to_string(),
        )
        .with_header(header::RETRY_AFTER, "60"),
        InboxError::Federation(inner) => {
            tracing::warn!(error = %inner, "a notification could not be applied");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service Unavailable",
                format!("the notification could not be stored now ({inner}): send it again later"),
            )
            .with_header(header::RETRY_AFTER, "5")
        }
    };
    error.with_header(header::LINK, constrained)
}
