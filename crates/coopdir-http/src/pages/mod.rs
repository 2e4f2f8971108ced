//! HTML for browsers, on the same URLs as the data: when a request prefers `text/html`
//! (or says `?format=html`), the data handlers hand over to these, which ask the same
//! domain calls (`coopdir-access` for who may do what, `coopdir-ldp` for resources,
//! `coopdir-search` for people) and render the answer with `coopdir-web`.
//! Errors become HTML pages with the same status and message as the problem+json.

mod admin;
mod edit;
mod read;

pub(crate) use admin::{admin_page, coop_admin};
pub(crate) use edit::{
    invitation_page, invitation_submit, lang, login_page, login_submit, profile_form, project_form,
};
pub(crate) use read::{
    account_page, container_page, home, insights_page, member, resource_page, search_page,
};

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use coopdir_access::Access;
use coopdir_access::policy::Audience;
use coopdir_web::forms::Submitted;
use coopdir_web::pages::{ErrorPage, Layout, UserNav};
use coopdir_web::{LANG_COOKIE, Lang, Template, Tr};

use crate::auth::{Caller, caller};
use crate::{ApiError, AppState};

/// The cookie carrying the anti-forgery token of forms sent before logging in (the
/// login and invitation forms): the form must send the same value back.
const FORM_COOKIE: &str = "coopdir_form";

/// What the client asked for, by `?format=` or else by `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Html,
    Rdf(coopdir_syntax::OutputFormat),
}

/// `?format=` first (`html`, `jsonld`, `turtle`, `ntriples`), then `Accept`: HTML only
/// when it is preferred over every RDF type (browsers; `*/*` stays JSON-LD).
pub(crate) fn wanted(headers: &HeaderMap, uri: &Uri) -> Result<Wanted, ApiError> {
    use coopdir_syntax::OutputFormat;
    if let Some(format) = query_value(uri, "format") {
        return match format.as_str() {
            "html" => Ok(Wanted::Html),
            "jsonld" | "json-ld" => Ok(Wanted::Rdf(OutputFormat::JsonLd)),
            "turtle" | "ttl" => Ok(Wanted::Rdf(OutputFormat::Turtle)),
            "ntriples" | "nt" => Ok(Wanted::Rdf(OutputFormat::NTriples)),
            other => Err(ApiError::bad_request(format!(
                "format={other} is not known: use html, jsonld, turtle or ntriples"
            ))),
        };
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crate::negotiate::prefers_html(accept) {
        return Ok(Wanted::Html);
    }
    crate::handlers::output_format(headers).map(Wanted::Rdf)
}

/// One query parameter's value.
pub(crate) fn query_value(uri: &Uri, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The query string without `format` (what the data handlers should see).
pub(crate) fn without_format(uri: &Uri) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or(""))
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "format")
        .collect()
}

/// Who is reading a page, in which language, and the token their forms carry.
pub(crate) struct Reader {
    pub caller: Caller,
    pub tr: Tr,
    pub csrf: String,
    /// A new pre-login form token to set as a cookie with the response.
    new_form_token: Option<String>,
    /// The path and query of the page, to come back to.
    pub here: String,
    /// When the page was asked for, for its `Server-Timing`.
    started: std::time::Instant,
}

impl Reader {
    pub fn new(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<Self, ApiError> {
        let caller = caller(state, headers)?;
        let lang = Lang::choose(
            crate::auth::cookie(headers, LANG_COOKIE).as_deref(),
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        );
        let (csrf, new_form_token) = match &caller.session {
            Some(secret) => (Access::csrf_token(secret), None),
            None => match crate::auth::cookie(headers, FORM_COOKIE).filter(|v| v.len() >= 32) {
                Some(token) => (token, None),
                None => {
                    let token = uuid::Uuid::new_v4().simple().to_string();
                    (token.clone(), Some(token))
                }
            },
        };
        let here = uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
        Ok(Self {
            caller,
            tr: Tr::new(lang),
            csrf,
            new_form_token,
            here,
            started: std::time::Instant::now(),
        })
    }

    pub fn lang(&self) -> &'static str {
        self.tr.code()
    }

    /// The frame of the page: navigation for who is logged in, the language switch.
    pub fn layout(&self, state: &AppState) -> Layout {
        let principal = &self.caller.principal;
        let access = state.directory.access();
        let user = if principal.is_anonymous() {
            None
        } else {
            let account = principal.account_id().and_then(|id| access.account(id));
            Some(UserNav {
                name: account
                    .as_ref()
                    .map_or_else(|| "admin".to_owned(), |a| a.name.clone()),
                profile: principal.worker().map(|w| local_path(state, w.as_str())),
                server_admin: principal.is_server_admin(),
            })
        };
        Layout::new(self.tr.lang, &self.here, self.csrf.clone(), user)
    }

    /// The audience search and listings use for this reader.
    pub async fn audience(&self, state: &AppState) -> Result<Audience, ApiError> {
        let principal = self.caller.principal.clone();
        let access = state.directory.access().clone();
        tokio::task::spawn_blocking(move || access.audience(&principal))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// Who the reader is for search and listings, once search has every write made
    /// before this request.
    pub async fn audience_after_writes(&self, state: &AppState) -> Result<Audience, ApiError> {
        let audience = self.audience(state).await?;
        state.search.wait_for_writes().await;
        Ok(audience)
    }

    /// A form's anti-forgery token is right: the session's, or before login the one in
    /// the form cookie.
    pub fn check_form(&self, headers: &HeaderMap, presented: &str) -> Result<(), ApiError> {
        let ok = match &self.caller.session {
            Some(secret) => Access::csrf_matches(secret, presented),
            None => crate::auth::cookie(headers, FORM_COOKIE).is_some_and(|expected| {
                !presented.is_empty() && constant_time_eq(expected.as_bytes(), presented.as_bytes())
            }),
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "Forbidden",
                "this form has expired or did not come from this site: reload the page and send it again",
            ))
        }
    }

    /// Renders `page` with the headers every page gets.
    pub fn html(&self, status: StatusCode, page: &impl Template) -> Response {
        let body = match page.render() {
            Ok(body) => body,
            Err(e) => return ApiError::internal(e).into_response(),
        };
        let mut response = (status, body).into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
        h.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Accept-Language, Cookie"),
        );
        // The time spent on the page, data and rendering, for browsers' tools and the bench.
        let spent = self.started.elapsed().as_secs_f64() * 1000.0;
        if let Ok(v) = HeaderValue::from_str(&format!("page;dur={spent:.2}")) {
            h.insert(header::HeaderName::from_static("server-timing"), v);
        }
        for (name, value) in coopdir_web::SECURITY_HEADERS {
            h.insert(
                header::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        self.with_form_cookie(response)
    }

    fn with_form_cookie(&self, mut response: Response) -> Response {
        if let Some(token) = &self.new_form_token {
            let cookie = Cookie::build((FORM_COOKIE, token.clone()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .build()
                .to_string();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }

    /// An error as a page, with the status and the message the API would give.
    pub fn error(&self, state: &AppState, error: ApiError) -> Response {
        let heading = match error.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => self.tr.t("error-not-found"),
            StatusCode::FORBIDDEN => self.tr.t("error-forbidden"),
            StatusCode::UNAUTHORIZED => self.tr.t("error-unauthorized"),
            StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED => self.tr.t("error-conflict"),
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                self.tr.t("error-unavailable")
            }
            s if s.is_server_error() => self.tr.t("error-server"),
            _ => self.tr.t("error-bad-request"),
        };
        // A page that needs a login sends the browser to the login form.
        if error.status == StatusCode::UNAUTHORIZED && self.caller.principal.is_anonymous() {
            return redirect(&format!(
                "/login?next={}",
                coopdir_web::pages::encode(&self.here)
            ));
        }
        let page = ErrorPage {
            t: self.tr,
            l: self.layout(state),
            heading,
            detail: error.detail.clone(),
        };
        let mut response = self.html(error.status, &page);
        for (name, value) in &error.headers {
            if name == header::WWW_AUTHENTICATE {
                continue;
            }
            if let Ok(v) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name.clone(), v);
            }
        }
        response
    }

    /// The page, or the error as a page.
    pub fn respond(&self, state: &AppState, result: Result<Response, ApiError>) -> Response {
        match result {
            Ok(response) => response,
            Err(error) => self.error(state, error),
        }
    }
}

/// A submitted form.
pub(crate) fn parse_form(bytes: &[u8]) -> Result<Submitted, ApiError> {
    Submitted::parse(bytes)
        .map_err(|e| ApiError::bad_request(format!("the form could not be read: {e}")))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 303 to a page of this site (post/redirect/get).
pub(crate) fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// A local path from a redirect target the client sent: only paths on this site.
pub(crate) fn safe_return(target: &str) -> String {
    if target.starts_with('/') && !target.starts_with("//") && !target.contains('\\') {
        target.to_owned()
    } else {
        "/".to_owned()
    }
}

/// The path of a local IRI (its IRI when it is not ours).
pub(crate) fn local_path(state: &AppState, iri: &str) -> String {
    match iri.strip_prefix(state.directory.paths().base()) {
        Some(rest) => format!("/{rest}"),
        None => iri.to_owned(),
    }
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// Runs synchronous work (store reads, search) on the blocking pool.
pub(crate) async fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

/// `GET /assets/{name}`: the embedded stylesheet, script and icon, cached for a year
/// (their names change with their content).
pub async fn asset(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match coopdir_web::assets::get(&name) {
        Some(asset) => {
            let mut response = (StatusCode::OK, asset.bytes).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            h.insert(
                header::HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        None => ApiError::not_found(&format!("/assets/{name}")).into_response(),
    }
}

/// `POST /lang` (form `lang`, `back`): the language switch. No token: a preference
/// for this browser is all it changes.
pub async fn lang_switch(
    axum::extract::State(state): crate::Shared,
    method: axum::http::Method,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    if method != axum::http::Method::POST {
        return Err(ApiError::method_not_allowed(
            "POST",
            "send the language switch form (lang, back) with POST",
        ));
    }
    let bytes = crate::handlers::read_body(&headers, body, state.config.max_body_bytes).await?;
    lang(&bytes)
}

/// `GET`/`POST /admin`: the server administration page.
pub async fn admin(
    axum::extract::State(state): crate::Shared,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let body = match method {
        axum::http::Method::GET | axum::http::Method::HEAD => None,
        axum::http::Method::POST => {
            Some(crate::handlers::read_body(&headers, body, state.config.max_body_bytes).await?)
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                "GET, POST",
                "the administration page takes GET and its forms' POST",
            ));
        }
    };
    let reader = Reader::new(&state, &headers, &uri)?;
    let result = admin_page(state.clone(), &reader, &headers, &uri, body.as_deref()).await;
    Ok(reader.respond(&state, result))
}
