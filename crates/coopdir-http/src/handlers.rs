//! Request handlers, one per kind of path; each dispatches on the method itself so that
//! every refusal (405 included) gets a problem+json body.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use coopdir_access::Principal;
use coopdir_ldp::{CreateOutcome, Location, Patch, Precondition, Representation, WriteOutcome};
use coopdir_syntax::OutputFormat;
use coopdir_vocab::Kind;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use oxigraph::model::NamedNode;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::{caller, check_csrf};
use crate::negotiate::{
    self, ACCEPT_PATCH, ACCEPT_POST, choose_output, input_format, media_type, variant,
};
use crate::{ApiError, AppState, pages};

type Shared = State<Arc<AppState>>;

const LDP_RESOURCE: &str = "<http://www.w3.org/ns/ldp#Resource>; rel=\"type\"";
const LDP_RDF_SOURCE: &str = "<http://www.w3.org/ns/ldp#RDFSource>; rel=\"type\"";
const LDP_CONTAINER: &str = "<http://www.w3.org/ns/ldp#Container>; rel=\"type\"";
const LDP_BASIC_CONTAINER: &str = "<http://www.w3.org/ns/ldp#BasicContainer>; rel=\"type\"";
const RESOURCE_ALLOW: &str = "GET, HEAD, OPTIONS, PUT, PATCH, DELETE";
const CONTAINER_ALLOW: &str = "GET, HEAD, OPTIONS, POST";
const READ_ONLY_ALLOW: &str = "GET, HEAD, OPTIONS";

/// Runs synchronous store work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, coopdir_ldp::LdpError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(e)),
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The principal of a write, refused before its body is read when it may not write at
/// all; a cookie-authenticated write must carry the CSRF token.
fn write_principal(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let caller = caller(state, headers)?;
    state
        .directory
        .access()
        .check_may_write(&caller.principal)?;
    check_csrf(&caller, headers, None)?;
    Ok(caller.principal)
}

/// Reads the body, refusing it before reading when it is declared too large.
/// 413 for a body whose `Content-Length` says it is over `limit`, before reading it.
pub(crate) fn check_length(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    match header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok()) {
        Some(length) if length > limit as u64 => Err(ApiError::too_large(limit)),
        _ => Ok(()),
    }
}

pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    check_length(headers, limit)?;
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(body_error(&*e, limit)),
    }
}

/// Why a body could not be read: over the size limit (413), too slow to arrive (408), or
/// broken off (400).
pub(crate) fn body_error(e: &(dyn std::error::Error + 'static), limit: usize) -> ApiError {
    let mut source = Some(e);
    while let Some(e) = source {
        if e.is::<LengthLimitError>() {
            return ApiError::too_large(limit);
        }
        if e.is::<tower_http::timeout::TimeoutError>() {
            return crate::limits::body_timeout();
        }
        source = e.source();
    }
    ApiError::bad_request(format!("could not read the request body: {e}"))
}

pub(crate) fn output_format(headers: &HeaderMap) -> Result<OutputFormat, ApiError> {
    choose_output(header_str(headers, header::ACCEPT)).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Not Acceptable",
            "this resource is available as application/ld+json, text/turtle and application/n-triples",
        )
    })
}

fn prefers_minimal(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
        })
}

/// `Prefer: return=representation; include="…#PreferMinimalContainer"` (or omitting
/// `PreferContainment`) asks for a container without its members.
fn prefers_minimal_container(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            let include = v.contains("include=")
                && (v.contains("PreferMinimalContainer") || v.contains("PreferEmptyContainer"));
            let omit = v.contains("omit=") && v.contains("PreferContainment");
            include || omit
        })
}

fn precondition(headers: &HeaderMap) -> Precondition {
    Precondition::from_headers(
        header_str(headers, header::IF_MATCH),
        header_str(headers, header::IF_NONE_MATCH),
    )
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    header_str(headers, header::IF_NONE_MATCH).is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.trim_start_matches("W/") == etag)
    })
}

/// Refuses anything but GET and HEAD on a read-only endpoint (`what`: "search", …).
pub(crate) fn only_get(method: &axum::http::Method, what: &str) -> Result<(), ApiError> {
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(
            "GET, HEAD",
            format!("{what} is read-only: use GET"),
        ))
    }
}

pub(crate) fn set(response: &mut Response, name: impl Into<header::HeaderName>, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name.into(), v);
    }
}

/// The `Link` to the server's actor (its keys, outbox and inbox), on every resource.
fn actor_link(state: &AppState) -> String {
    format!(
        "<{}actor>; rel=\"https://www.w3.org/ns/activitystreams#actor\"",
        state.directory.paths().base()
    )
}

struct Headers {
    links: Vec<String>,
    allow: &'static str,
    accept_post: bool,
    accept_patch: bool,
}

impl Headers {
    fn resource(state: &AppState, kind: Kind) -> Self {
        let shape = state.directory.paths().shape(kind);
        Self {
            links: vec![
                LDP_RESOURCE.into(),
                LDP_RDF_SOURCE.into(),
                format!("<{shape}>; rel=\"describedby\""),
                format!("<{shape}>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\""),
                actor_link(state),
                crate::inbox::inbox_link(state),
            ],
            allow: RESOURCE_ALLOW,
            accept_post: false,
            accept_patch: true,
        }
    }

    fn container(state: &AppState, kind: Option<Kind>) -> Self {
        let mut links = vec![
            LDP_RESOURCE.into(),
            LDP_RDF_SOURCE.into(),
            LDP_CONTAINER.into(),
            LDP_BASIC_CONTAINER.into(),
            actor_link(state),
            crate::inbox::inbox_link(state),
        ];
        if let Some(kind) = kind {
            links.push(format!(
                "<{}>; rel=\"http://www.w3.org/ns/ldp#constrainedBy\"",
                state.directory.paths().shape(kind)
            ));
        }
        Self {
            links,
            allow: if kind.is_some() {
                CONTAINER_ALLOW
            } else {
                READ_ONLY_ALLOW
            },
            accept_post: kind.is_some(),
            accept_patch: false,
        }
    }

    fn apply(&self, response: &mut Response) {
        set(response, header::LINK, &self.links.join(", "));
        set(response, header::ALLOW, self.allow);
        if self.accept_post {
            set(
                response,
                header::HeaderName::from_static("accept-post"),
                ACCEPT_POST,
            );
        }
        if self.accept_patch {
            set(
                response,
                header::HeaderName::from_static("accept-patch"),
                ACCEPT_PATCH,
            );
        }
        set(
            response,
            header::VARY,
            "Accept, Authorization, Cookie, Prefer",
        );
    }
}

fn options_response(headers: &Headers) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    headers.apply(&mut response);
    response
}

/// A 200 with the graph in `format`, or a 304 when the client already has it.
fn graph_response(
    state: &AppState,
    request: &HeaderMap,
    rep: &Representation,
    format: OutputFormat,
    variant_suffix: &str,
    headers: &Headers,
) -> Response {
    let etag = rep
        .etag
        .header(&format!("{}{variant_suffix}", variant(format)));
    if not_modified(request, &etag) {
        return not_modified_response(&etag, headers);
    }
    let body = state.directory.serialise(&rep.graph, &rep.subject, format);
    body_response(body, &etag, format, headers)
}

fn not_modified_response(etag: &str, headers: &Headers) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set(&mut response, header::ETAG, etag);
    headers.apply(&mut response);
    response
}

fn body_response(body: Vec<u8>, etag: &str, format: OutputFormat, headers: &Headers) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    set(&mut response, header::CONTENT_TYPE, media_type(format));
    set(&mut response, header::ETAG, etag);
    headers.apply(&mut response);
    response
}

// ---- routes --------------------------------------------------------------------

pub async fn root(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let h = Headers::container(&state, None);
    match method {
        Method::GET | Method::HEAD => {
            let format = match pages::wanted(&headers, &uri)? {
                pages::Wanted::Html => {
                    let reader = pages::Reader::new(&state, &headers, &uri)?;
                    let result = pages::home(state.clone(), &reader).await;
                    return Ok(reader.respond(&state, result));
                }
                pages::Wanted::Rdf(format) => format,
            };
            let rep = state.directory.read_root();
            Ok(graph_response(&state, &headers, &rep, format, "", &h))
        }
        Method::OPTIONS => Ok(options_response(&h)),
        _ => Err(ApiError::method_not_allowed(
            READ_ONLY_ALLOW,
            "the root container is read-only: POST to /coops/, /workers/, /skills/ or /projects/",
        )),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
    size: Option<usize>,
}

pub async fn container(
    State(state): Shared,
    Path(segment): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Some(kind) = Kind::from_container_segment(&segment) else {
        return Err(ApiError::not_found(uri.path()));
    };
    let h = Headers::container(&state, Some(kind));
    match method {
        Method::GET | Method::HEAD => {
            let paging = PageQuery {
                page: query.get("page").and_then(|v| v.parse().ok()),
                size: query.get("size").and_then(|v| v.parse().ok()),
            };
            let format = match pages::wanted(&headers, &uri)? {
                pages::Wanted::Html => {
                    let reader = pages::Reader::new(&state, &headers, &uri)?;
                    let result = pages::container_page(
                        state.clone(),
                        &reader,
                        kind,
                        paging.page.unwrap_or(1),
                    )
                    .await;
                    return Ok(reader.respond(&state, result));
                }
                pages::Wanted::Rdf(format) => format,
            };
            let principal = caller(&state, &headers)?.principal;
            list_container(&state, kind, paging, format, &headers, h, principal).await
        }
        Method::OPTIONS => Ok(options_response(&h)),
        Method::POST => create(&state, kind, &headers, body).await,
        _ => Err(ApiError::method_not_allowed(
            CONTAINER_ALLOW,
            "containers accept GET and POST; write to a member's own IRI to change it",
        )),
    }
}

async fn list_container(
    state: &Arc<AppState>,
    kind: Kind,
    paging: PageQuery,
    format: OutputFormat,
    headers: &HeaderMap,
    h: Headers,
    principal: Principal,
) -> Result<Response, ApiError> {
    let minimal = prefers_minimal_container(headers);
    let default_size = state.config.page_size;
    let size = paging.size.unwrap_or(default_size).clamp(1, 1000);
    let page = paging.page.unwrap_or(1).max(1);
    let directory = state.directory.clone();
    let listing =
        blocking(move || directory.render_container(kind, page, size, minimal, format, &principal))
            .await?;
    let container_iri = state.directory.paths().container(kind);
    let suffix = format!(
        "-p{}s{size}{}",
        listing.page,
        if minimal { "m" } else { "" }
    );
    let mut h = h;
    if !minimal {
        let size_param = if size == default_size {
            String::new()
        } else {
            format!("&size={size}")
        };
        let page_link = |n: usize, rel: &str| {
            format!(
                "<{}?page={n}{size_param}>; rel=\"{rel}\"",
                container_iri.as_str()
            )
        };
        h.links.push(page_link(1, "first"));
        h.links.push(page_link(listing.pages, "last"));
        if listing.page > 1 {
            h.links.push(page_link(listing.page - 1, "prev"));
        }
        if listing.page < listing.pages {
            h.links.push(page_link(listing.page + 1, "next"));
        }
    }
    let etag = listing.etag.header(&format!("{}{suffix}", variant(format)));
    let mut response = if not_modified(headers, &etag) {
        not_modified_response(&etag, &h)
    } else {
        body_response(listing.body.clone(), &etag, format, &h)
    };
    if minimal {
        set(
            &mut response,
            header::HeaderName::from_static("preference-applied"),
            "return=representation",
        );
    }
    Ok(response)
}

/// Paths below a member: `/coops/{slug}/invitations[/{id}]`.
pub async fn below_resource(
    State(state): Shared,
    Path(segments): Path<Vec<(String, String)>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let value = |name: &str| {
        segments
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match (
        value("container").as_deref(),
        value("slug"),
        value("sub").as_deref(),
        value("id"),
    ) {
        (Some("projects"), Some(slug), Some("candidates"), None) => {
            crate::search::candidates(state, slug, method, uri, headers).await
        }
        (
            Some(segment @ ("workers" | "projects" | "coops")),
            Some(slug),
            Some(page @ ("edit" | "admin")),
            None,
        ) => {
            let Some((kind, iri)) = pages::member(&state, segment, &slug) else {
                return Err(ApiError::not_found(uri.path()));
            };
            let body = match method {
                Method::GET | Method::HEAD => None,
                Method::POST => Some(read_body(&headers, body, state.config.max_body_bytes).await?),
                _ => {
                    return Err(ApiError::method_not_allowed(
                        "GET, POST",
                        "this page takes GET and a form POST",
                    ));
                }
            };
            let reader = pages::Reader::new(&state, &headers, &uri)?;
            let result = {
                let next = &reader;
                let body = body.as_deref();
                match (kind, page) {
                    (Kind::Worker, "edit") => {
                        pages::profile_form(state.clone(), next, &headers, iri, body).await
                    }
                    (Kind::Project, "edit") => {
                        pages::project_form(state.clone(), next, &headers, Some(iri), body).await
                    }
                    (Kind::Coop, "admin") => {
                        pages::coop_admin(state.clone(), next, &headers, &uri, iri, body).await
                    }
                    _ => Err(ApiError::not_found(uri.path())),
                }
            };
            Ok(reader.respond(&state, result))
        }
        (Some("coops"), Some(slug), Some("invitations"), None) => {
            crate::accounts::coop_invitations(state, slug, method, headers, body).await
        }
        (Some("coops"), Some(slug), Some("invitations"), Some(id)) => {
            crate::accounts::coop_invitation(state, slug, id, method, headers).await
        }
        _ => Err(ApiError::not_found(uri.path())),
    }
}

pub async fn resource(
    State(state): Shared,
    Path((segment, slug)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let iri = format!("{}{segment}/{slug}", state.directory.paths().base());
    let Some(Location::Member(kind, iri)) = state.directory.paths().locate(&iri) else {
        return Err(ApiError::not_found(uri.path()));
    };
    let h = Headers::resource(&state, kind);
    // `/projects/new` is the new-project form for browsers.
    if kind == Kind::Project && slug == "new" && is_page_request(&method, &headers, &uri) {
        let body = match method {
            Method::POST => Some(read_body(&headers, body, state.config.max_body_bytes).await?),
            _ => None,
        };
        let reader = pages::Reader::new(&state, &headers, &uri)?;
        let result =
            pages::project_form(state.clone(), &reader, &headers, None, body.as_deref()).await;
        return Ok(reader.respond(&state, result));
    }
    match method {
        Method::GET | Method::HEAD => {
            let format = match pages::wanted(&headers, &uri)? {
                pages::Wanted::Html => {
                    let reader = pages::Reader::new(&state, &headers, &uri)?;
                    let saved = pages::query_value(&uri, "saved").is_some();
                    let result =
                        pages::resource_page(state.clone(), &reader, kind, iri, saved).await;
                    return Ok(reader.respond(&state, result));
                }
                pages::Wanted::Rdf(format) => format,
            };
            let principal = caller(&state, &headers)?.principal;
            // Inline, not on the blocking pool: a read of one resource is a few point
            // lookups in RocksDB's block cache (and usually a render-cache hit), far
            // cheaper than the thread hand-off of `spawn_blocking`, which the profile of
            // this hot path showed costing more than the read itself.
            let (rendered, private) = state.directory.render(&iri, format, &principal)?;
            let etag = rendered.etag.header(&format!(
                "{}{}",
                variant(format),
                if private { "-p" } else { "" }
            ));
            if not_modified(&headers, &etag) {
                return Ok(not_modified_response(&etag, &h));
            }
            Ok(body_response(rendered.body.clone(), &etag, format, &h))
        }
        Method::OPTIONS => Ok(options_response(&h)),
        Method::PUT => replace(&state, kind, iri, &headers, body).await,
        Method::PATCH => patch(&state, kind, iri, &headers, body).await,
        Method::DELETE => {
            let principal = write_principal(&state, &headers)?;
            let precondition = precondition(&headers);
            let directory = state.directory.clone();
            blocking(move || directory.delete(&iri, &precondition, &principal)).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::method_not_allowed(
            RESOURCE_ALLOW,
            format!("{method} is not supported on a resource"),
        )),
    }
}

/// A browser's page request: a GET preferring HTML, or a form POST.
fn is_page_request(method: &Method, headers: &HeaderMap, uri: &Uri) -> bool {
    match *method {
        Method::GET | Method::HEAD => {
            matches!(pages::wanted(headers, uri), Ok(pages::Wanted::Html))
        }
        Method::POST => {
            negotiate::body_media_type(headers).as_deref()
                == Some("application/x-www-form-urlencoded")
        }
        _ => false,
    }
}

/// An RDF request body, read but not parsed yet (parsing runs with the write, on the
/// blocking pool: JSON-LD expansion of a large document is CPU work).
struct RdfBody {
    bytes: Bytes,
    format: coopdir_syntax::InputFormat,
    aliases: Vec<String>,
    limits: coopdir_syntax::ParseLimits,
}

impl RdfBody {
    fn parse(&self, base: &NamedNode) -> Result<oxigraph::model::Graph, coopdir_ldp::LdpError> {
        Ok(coopdir_syntax::parse_graph_within(
            &self.bytes,
            self.format,
            base.as_str(),
            &self.aliases,
            self.limits,
        )?)
    }
}

async fn read_rdf_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<RdfBody, ApiError> {
    let Some(format) = input_format(header_str(headers, header::CONTENT_TYPE)) else {
        return Err(ApiError::unsupported_media_type(
            format!(
                "send {ACCEPT_POST}; got {}",
                header_str(headers, header::CONTENT_TYPE).unwrap_or("no Content-Type")
            ),
            ACCEPT_POST,
        )
        .with_header(header::HeaderName::from_static("accept-post"), ACCEPT_POST));
    };
    let bytes = read_body(headers, body, state.config.max_body_bytes).await?;
    Ok(RdfBody {
        bytes,
        format,
        aliases: state.directory.paths().context_aliases(),
        limits: state.directory.write_limits(),
    })
}

async fn create(
    state: &Arc<AppState>,
    kind: Kind,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = write_principal(state, headers)?;
    let body = read_rdf_body(state, headers, body).await?;
    let slug = header_str(headers, header::HeaderName::from_static("slug")).map(str::to_owned);
    let directory = state.directory.clone();
    let outcome = blocking(move || {
        let provisional = directory.provisional_iri(kind);
        let graph = body.parse(&provisional)?;
        directory.create(kind, slug.as_deref(), &provisional, graph, &principal)
    })
    .await?;
    match outcome {
        CreateOutcome::Stored(outcome) => write_response(state, headers, kind, outcome),
        CreateOutcome::Proposed(proposal) => {
            let mut response = crate::accounts::json_response(
                StatusCode::ACCEPTED,
                serde_json::to_value(&proposal).unwrap_or_default(),
            );
            set(&mut response, header::LOCATION, &proposal.location);
            Ok(response)
        }
    }
}

async fn replace(
    state: &Arc<AppState>,
    kind: Kind,
    iri: NamedNode,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = write_principal(state, headers)?;
    let body = read_rdf_body(state, headers, body).await?;
    let precondition = precondition(headers);
    let directory = state.directory.clone();
    let outcome = blocking(move || {
        let graph = body.parse(&iri)?;
        directory.replace(&iri, graph, &precondition, &principal)
    })
    .await?;
    write_response(state, headers, kind, outcome)
}

async fn patch(
    state: &Arc<AppState>,
    kind: Kind,
    iri: NamedNode,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = write_principal(state, headers)?;
    let media = negotiate::body_media_type(headers);
    let make: fn(String) -> Patch = match media.as_deref() {
        Some(negotiate::SPARQL_UPDATE) => Patch::SparqlUpdate,
        Some(negotiate::N3) => Patch::N3,
        other => {
            return Err(ApiError::unsupported_media_type(
                format!(
                    "PATCH takes {ACCEPT_PATCH}; got {}",
                    other.unwrap_or("no Content-Type")
                ),
                ACCEPT_PATCH,
            )
            .with_header(
                header::HeaderName::from_static("accept-patch"),
                ACCEPT_PATCH,
            ));
        }
    };
    let bytes = read_body(headers, body, state.config.max_body_bytes).await?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::bad_request("the patch is not UTF-8 text"))?;
    let precondition = precondition(headers);
    let directory = state.directory.clone();
    let outcome =
        blocking(move || directory.patch(&iri, &make(text), &precondition, &principal)).await?;
    write_response(state, headers, kind, outcome)
}

/// 201 (created) or 200 with the stored representation, or 204 with `Prefer: return=minimal`.
fn write_response(
    state: &AppState,
    headers: &HeaderMap,
    kind: Kind,
    outcome: WriteOutcome,
) -> Result<Response, ApiError> {
    let h = Headers::resource(state, kind);
    let minimal = prefers_minimal(headers);
    let format = choose_output(header_str(headers, header::ACCEPT)).unwrap_or(OutputFormat::JsonLd);
    let mut response = if minimal {
        let status = if outcome.created {
            StatusCode::CREATED
        } else {
            StatusCode::NO_CONTENT
        };
        let mut r = status.into_response();
        set(
            &mut r,
            header::HeaderName::from_static("preference-applied"),
            "return=minimal",
        );
        set(
            &mut r,
            header::ETAG,
            &outcome.etag.header(&format!("{}-p", variant(format))),
        );
        r
    } else {
        let status = if outcome.created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let body = state
            .directory
            .serialise(&outcome.graph, &outcome.iri, format);
        let mut r = (status, body).into_response();
        set(&mut r, header::CONTENT_TYPE, media_type(format));
        set(
            &mut r,
            header::ETAG,
            &outcome.etag.header(&format!("{}-p", variant(format))),
        );
        r
    };
    if outcome.created {
        set(&mut response, header::LOCATION, outcome.iri.as_str());
    }
    h.apply(&mut response);
    Ok(response)
}

pub async fn context() -> Response {
    let mut response = coopdir_vocab::CONTEXT.into_response();
    set(&mut response, header::CONTENT_TYPE, "application/ld+json");
    set(
        &mut response,
        header::CACHE_CONTROL,
        "public, max-age=86400",
    );
    response
}

pub async fn vocabulary() -> Response {
    let mut response = coopdir_vocab::VOCABULARY_TURTLE.into_response();
    set(&mut response, header::CONTENT_TYPE, "text/turtle");
    response
}

pub async fn shape(State(state): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    let Some(source) = state.directory.shapes().source(&name) else {
        return Err(ApiError::not_found(&format!("/shapes/{name}")));
    };
    let mut response = source.to_owned().into_response();
    set(&mut response, header::CONTENT_TYPE, "text/turtle");
    Ok(response)
}

pub async fn fallback(uri: Uri) -> ApiError {
    ApiError::not_found(uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_headers_are_understood() {
        let mut h = HeaderMap::new();
        h.insert("prefer", HeaderValue::from_static("return=representation; include=\"http://www.w3.org/ns/ldp#PreferMinimalContainer\""));
        assert!(prefers_minimal_container(&h));
        assert!(!prefers_minimal(&h));
        let mut h = HeaderMap::new();
        h.insert("prefer", HeaderValue::from_static("return=minimal"));
        assert!(prefers_minimal(&h));
    }
}
