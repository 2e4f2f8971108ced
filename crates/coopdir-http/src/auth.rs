//! Credentials to principal: bearer tokens (scripts), session cookies (browsers), and the
//! CSRF check that writes authenticated by a cookie must pass. What a principal may then do
//! is decided by `coopdir-access`, never here.

use axum::http::{HeaderMap, header};
use cookie::{Cookie, SameSite};
use coopdir_access::{Access, Principal};

use crate::{ApiError, AppState};

pub(crate) const SESSION_COOKIE: &str = "coopdir_session";
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who sent a request, and the session secret when a cookie authenticated it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: Principal,
    pub session: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The value of the cookie `name` the request carries.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

pub(crate) fn session_secret(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The caller of a request. A bearer token that is not valid is a 401 (never treated as
/// anonymous); a stale session cookie is ignored, since browsers send cookies unasked, and
/// so is any cookie on a request from another site's page (CORS lets other sites read
/// public data, never a member's view).
pub(crate) fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let access = state.directory.access();
    if let Some(token) = bearer(headers) {
        return Ok(Caller {
            principal: access.authenticate_bearer(token)?,
            session: None,
        });
    }
    if let Some(secret) = session_secret(headers)
        && !cross_site(state, headers)
        && let Some(principal) = access.authenticate_session(&secret)
    {
        return Ok(Caller {
            principal,
            session: Some(secret),
        });
    }
    Ok(Caller {
        principal: Principal::anonymous(),
        session: None,
    })
}

/// The scheme, host and port of the server's base URL, as browsers send it in `Origin`.
fn own_origin(state: &AppState) -> &str {
    let base = state.directory.paths().base();
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    }
}

/// A write authenticated by a session cookie must send the session's CSRF token (in the
/// `X-CSRF-Token` header, or as the form field `csrf`). Bearer-token requests need none: a
/// browser never adds that header by itself.
pub(crate) fn check_csrf(
    caller: &Caller,
    headers: &HeaderMap,
    form_token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(secret) = &caller.session else {
        return Ok(());
    };
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .or(form_token);
    match presented {
        Some(token) if Access::csrf_matches(secret, token) => Ok(()),
        _ => Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf",
            "Forbidden",
            "a write with a session cookie needs the session's CSRF token (GET /account gives it) in the X-CSRF-Token header or the form field `csrf`",
        )),
    }
}

/// Whether the request comes from a page of another site (its `Origin` is not ours).
pub(crate) fn cross_site(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|origin| origin != own_origin(state))
}

fn secure(state: &AppState) -> bool {
    state.directory.paths().base().starts_with("https://")
}

/// The `Set-Cookie` value that opens a session.
pub(crate) fn session_cookie(state: &AppState, secret: &str, max_age_seconds: i64) -> String {
    Cookie::build((SESSION_COOKIE, secret.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that ends it in the browser.
pub(crate) fn cleared_cookie(state: &AppState) -> String {
    Cookie::build((SESSION_COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(cookie::time::Duration::ZERO)
        .build()
        .to_string()
}
