//! Accounts over HTTP: login and logout, who am I, personal tokens, invitations, and the
//! server-admin API (accounts, tokens, skill proposals, audit trail) that the command line
//! uses with `--server` while the server holds the store.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use coopdir_access::{AccessError, AccountState, NewSession, Principal, TokenOwner};
use coopdir_ldp::{AuditQuery, NewPerson, Role};
use coopdir_vocab::Kind;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use crate::auth::{self, Caller, caller, check_csrf};
use crate::handlers::{blocking, read_body, set};
use crate::{ApiError, AppState};

type Shared = State<Arc<AppState>>;
type Client = Option<axum::Extension<axum::extract::ConnectInfo<SocketAddr>>>;

fn client_ip(client: &Client) -> IpAddr {
    client
        .as_ref()
        .map(|c| c.0.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

pub(crate) fn json_response(status: StatusCode, value: Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    set(&mut response, header::CONTENT_TYPE, "application/json");
    set(&mut response, header::CACHE_CONTROL, "no-store");
    response
}

fn method_not_allowed(allow: &'static str) -> ApiError {
    ApiError::method_not_allowed(allow, format!("this path accepts {allow}"))
}

/// A JSON or form body, parsed into `T`; the flag says whether it was a form.
pub(crate) async fn read_input<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(T, bool), ApiError> {
    let media = crate::negotiate::body_media_type(headers).unwrap_or_default();
    let bytes = read_body(headers, body, state.config.max_body_bytes).await?;
    if media == "application/x-www-form-urlencoded" {
        let value = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            ApiError::bad_request(format!("the form is not what this path takes: {e}"))
        })?;
        Ok((value, true))
    } else if media == "application/json"
        || media.ends_with("+json")
        || (media.is_empty() && bytes.is_empty())
    {
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        let value = serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(format!("the JSON body is not what this path takes: {e}"))
        })?;
        Ok((value, false))
    } else {
        Err(ApiError::unsupported_media_type(
            format!(
                "send application/json or a form (application/x-www-form-urlencoded); got {}",
                if media.is_empty() {
                    "no Content-Type"
                } else {
                    &media
                }
            ),
            "application/json, application/x-www-form-urlencoded",
        ))
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    crate::negotiate::body_media_type(headers).as_deref()
        == Some("application/x-www-form-urlencoded")
}

fn is_browser(headers: &HeaderMap) -> bool {
    crate::negotiate::prefers_html(
        headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
}

/// The caller, who must be logged in (or hold a token).
fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let caller = caller(state, headers)?;
    if caller.principal.is_anonymous() {
        return Err(ApiError::unauthorized(
            "log in first (POST /login), or send `Authorization: Bearer <token>`",
        ));
    }
    Ok(caller)
}

/// A server admin's read of the admin API.
pub(crate) fn admin_reader(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let caller = signed_in(state, headers)?;
    state
        .directory
        .access()
        .check_server_admin(&caller.principal)?;
    Ok(caller)
}

/// A server admin's write through the admin API.
pub(crate) fn admin_writer(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let caller = writer(state, headers, None)?;
    state
        .directory
        .access()
        .check_server_admin(&caller.principal)?;
    Ok(caller)
}

/// The caller of a write: signed in, and with the CSRF token when a cookie signed them in.
fn writer(
    state: &AppState,
    headers: &HeaderMap,
    form_csrf: Option<&str>,
) -> Result<Caller, ApiError> {
    let caller = signed_in(state, headers)?;
    check_csrf(&caller, headers, form_csrf)?;
    Ok(caller)
}

// ---- login and logout ------------------------------------------------------------

#[derive(Deserialize)]
struct LoginInput {
    email: String,
    password: String,
}

pub async fn login(
    State(state): Shared,
    client: Client,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let browser = crate::negotiate::prefers_html(
        headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    if (method == Method::GET || method == Method::HEAD) && browser {
        let reader = crate::pages::Reader::new(&state, &headers, &uri)?;
        return Ok(crate::pages::login_page(&state, &reader, &uri));
    }
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    if browser && is_form(&headers) {
        let reader = crate::pages::Reader::new(&state, &headers, &uri)?;
        let bytes = read_body(&headers, body, state.config.max_body_bytes).await?;
        let result = crate::pages::login_submit(
            state.clone(),
            &reader,
            &headers,
            &bytes,
            client_ip(&client),
        )
        .await;
        return Ok(reader.respond(&state, result));
    }
    let (input, form): (LoginInput, bool) = read_input(&state, &headers, body).await?;
    if form && auth::cross_site(&state, &headers) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-site",
            "Forbidden",
            "the login form of this server only works from its own pages",
        ));
    }
    let ip = client_ip(&client);
    let access = state.directory.access().clone();
    let session = blocking(move || Ok(access.login(&input.email, &input.password, ip)?)).await?;
    Ok(session_response(&state, &session, form, StatusCode::OK))
}

/// The response that opens a session: the cookie, and who is now logged in (or a redirect
/// to `/account` after a form).
fn session_response(
    state: &AppState,
    session: &NewSession,
    form: bool,
    status: StatusCode,
) -> Response {
    let max_age = session.expires - time_now();
    let mut response = if form {
        let mut r = StatusCode::SEE_OTHER.into_response();
        set(&mut r, header::LOCATION, "/account");
        r
    } else {
        json_response(
            status,
            account_json(state, &session.principal, Some(&session.secret)),
        )
    };
    set(
        &mut response,
        header::SET_COOKIE,
        &auth::session_cookie(state, &session.secret, max_age),
    );
    response
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[derive(Deserialize, Default)]
struct CsrfInput {
    csrf: Option<String>,
}

pub async fn logout(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    let caller = caller(&state, &headers)?;
    let (input, form): (CsrfInput, bool) =
        read_input(&state, &headers, body).await.unwrap_or_default();
    if let Some(secret) = caller.session.clone() {
        check_csrf(&caller, &headers, input.csrf.as_deref())?;
        let access = state.directory.access().clone();
        blocking(move || Ok(access.logout(&secret)?)).await?;
    }
    let mut response = if form {
        let mut r = StatusCode::SEE_OTHER.into_response();
        set(&mut r, header::LOCATION, "/");
        r
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    set(
        &mut response,
        header::SET_COOKIE,
        &auth::cleared_cookie(&state),
    );
    Ok(response)
}

// ---- who am I ----------------------------------------------------------------------

fn account_json(state: &AppState, principal: &Principal, session: Option<&str>) -> Value {
    let access = state.directory.access();
    let mut value = match principal.account_id().and_then(|id| access.account(id)) {
        Some(account) => {
            let mut v = serde_json::to_value(&account).unwrap_or(Value::Null);
            let roles = principal
                .worker()
                .and_then(|w| access.roles(w).ok())
                .unwrap_or_default();
            let iris = |set: &std::collections::BTreeSet<oxigraph::model::NamedNode>| {
                set.iter()
                    .map(|n| n.as_str().to_owned())
                    .collect::<Vec<_>>()
            };
            v["roles"] = json!({
                "serverAdmin": principal.is_server_admin(),
                "memberOf": iris(&roles.member_of),
                "adminOf": iris(&roles.admin_of),
                "leadOf": iris(&roles.lead_of),
            });
            v
        }
        None => json!({
            "credential": "admin-token",
            "roles": { "serverAdmin": principal.is_server_admin() },
        }),
    };
    if let Some(secret) = session {
        value["csrfToken"] = Value::String(coopdir_access::Access::csrf_token(secret));
    }
    value
}

pub async fn account(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(method_not_allowed("GET"));
    }
    if crate::pages::wanted(&headers, &uri)? == crate::pages::Wanted::Html {
        let reader = crate::pages::Reader::new(&state, &headers, &uri)?;
        let result = crate::pages::account_page(state.clone(), &reader).await;
        return Ok(reader.respond(&state, result));
    }
    let caller = signed_in(&state, &headers)?;
    let st = state.clone();
    let value = blocking(move || {
        Ok(account_json(
            &st,
            &caller.principal,
            caller.session.as_deref(),
        ))
    })
    .await?;
    Ok(json_response(StatusCode::OK, value))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordInput {
    current_password: String,
    new_password: String,
    csrf: Option<String>,
}

/// `POST /account/password` (form or JSON `{"currentPassword","newPassword"}`): the
/// person's other sessions end.
pub async fn password(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    let (input, _): (PasswordInput, bool) = read_input(&state, &headers, body).await?;
    let caller = writer(&state, &headers, input.csrf.as_deref())?;
    let Some(account) = caller.principal.account_id().map(str::to_owned) else {
        return Err(ApiError::bad_request("an admin token has no password"));
    };
    let access = state.directory.access().clone();
    blocking(move || {
        Ok(access.change_password(
            &account,
            &input.current_password,
            &input.new_password,
            caller.session.as_deref(),
            &caller.principal.actor(),
        )?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- personal tokens -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenInput {
    name: Option<String>,
    expires_in_days: Option<u32>,
    csrf: Option<String>,
}

pub async fn tokens(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match method {
        Method::GET | Method::HEAD => {
            let caller = signed_in(&state, &headers)?;
            let tokens = state
                .directory
                .access()
                .tokens(caller.principal.account_id());
            Ok(json_response(StatusCode::OK, json!({ "items": tokens })))
        }
        Method::POST => {
            let (input, _): (TokenInput, bool) = read_input(&state, &headers, body).await?;
            let caller = writer(&state, &headers, input.csrf.as_deref())?;
            let Some(account) = caller.principal.account_id().map(str::to_owned) else {
                return Err(ApiError::bad_request(
                    "an admin token has no account: create tokens with POST /admin/tokens",
                ));
            };
            let access = state.directory.access().clone();
            let actor = caller.principal.actor();
            let (view, secret) = blocking(move || {
                Ok(access.create_token(
                    TokenOwner::Account(account),
                    input.name.as_deref(),
                    input.expires_in_days,
                    &actor,
                )?)
            })
            .await?;
            let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
            value["token"] = Value::String(secret);
            Ok(json_response(StatusCode::CREATED, value))
        }
        _ => Err(method_not_allowed("GET, POST")),
    }
}

pub async fn token(
    State(state): Shared,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::DELETE {
        return Err(method_not_allowed("DELETE"));
    }
    let caller = writer(&state, &headers, None)?;
    let access = state.directory.access().clone();
    blocking(move || {
        let principal = &caller.principal;
        // Server admins may revoke any token; a person only their own.
        let owner = match principal.account_id() {
            _ if principal.is_server_admin() => None,
            Some(id) => Some(id),
            None => {
                return Err(AccessError::Forbidden("this credential has no tokens".into()).into());
            }
        };
        Ok(access.revoke_token(owner, &id, &principal.actor())?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---- invitations -------------------------------------------------------------------

#[derive(Deserialize)]
struct InviteInput {
    email: String,
    csrf: Option<String>,
}

fn invitation_url(state: &AppState, secret: &str) -> String {
    format!("{}invitations/{secret}", state.directory.paths().base())
}

/// `/coops/{slug}/invitations`: a co-op admin lists and creates invitations.
pub async fn coop_invitations(
    state: Arc<AppState>,
    slug: String,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let coop = state.directory.paths().member(Kind::Coop, &slug);
    match method {
        Method::GET | Method::HEAD => {
            let caller = signed_in(&state, &headers)?;
            let directory = state.directory.clone();
            let items = blocking(move || {
                let coop = directory.find_coop(coop.as_str())?;
                directory
                    .access()
                    .check_coop_admin(&caller.principal, &coop)?;
                Ok(directory.access().invitations(&coop))
            })
            .await?;
            Ok(json_response(StatusCode::OK, json!({ "items": items })))
        }
        Method::POST => {
            let (input, _): (InviteInput, bool) = read_input(&state, &headers, body).await?;
            let caller = writer(&state, &headers, input.csrf.as_deref())?;
            let directory = state.directory.clone();
            let (view, secret) = blocking(move || {
                let coop = directory.find_coop(coop.as_str())?;
                directory.invite(&coop, &input.email, &caller.principal)
            })
            .await?;
            let url = invitation_url(&state, &secret);
            state.mailer.invitation_created(&view, &url);
            let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
            value["url"] = Value::String(url.clone());
            let mut response = json_response(StatusCode::CREATED, value);
            set(&mut response, header::LOCATION, &url);
            Ok(response)
        }
        _ => Err(method_not_allowed("GET, POST")),
    }
}

/// `/coops/{slug}/invitations/{id}`: revoking one.
pub async fn coop_invitation(
    state: Arc<AppState>,
    slug: String,
    id: String,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::DELETE {
        return Err(method_not_allowed("DELETE"));
    }
    let caller = writer(&state, &headers, None)?;
    let coop = state.directory.paths().member(Kind::Coop, &slug);
    let directory = state.directory.clone();
    blocking(move || {
        let coop = directory.find_coop(coop.as_str())?;
        directory
            .access()
            .check_coop_admin(&caller.principal, &coop)?;
        Ok(directory
            .access()
            .revoke_invitation(&coop, &id, &caller.principal.actor())?)
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct AcceptInput {
    name: String,
    password: String,
}

/// `/invitations/{secret}`: what the invitation is for (GET), and accepting it (POST).
pub async fn invitation(
    State(state): Shared,
    Path(secret): Path<String>,
    client: Client,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // A browser gets the page; scripts keep the JSON contract below.
    if is_browser(&headers) && matches!(method, Method::GET | Method::HEAD | Method::POST) {
        let reader = crate::pages::Reader::new(&state, &headers, &uri)?;
        let result = if method == Method::POST {
            let bytes = read_body(&headers, body, state.config.max_body_bytes).await?;
            crate::pages::invitation_submit(
                state.clone(),
                &reader,
                &headers,
                secret,
                &bytes,
                client_ip(&client),
            )
            .await
        } else {
            crate::pages::invitation_page(&state, &reader, &secret)
        };
        return Ok(reader.respond(&state, result));
    }
    match method {
        Method::GET | Method::HEAD => {
            let view = state.directory.access().invitation(&secret)?;
            Ok(json_response(
                StatusCode::OK,
                json!({ "coop": view.coop, "email": view.email, "expires": view.expires }),
            ))
        }
        Method::POST => {
            let (input, _): (AcceptInput, bool) = read_input(&state, &headers, body).await?;
            let directory = state.directory.clone();
            let ip = client_ip(&client);
            let (joined, session) = blocking(move || {
                let joined = directory.accept_invitation(&secret, &input.name, &input.password)?;
                // The new member is logged in at once.
                let session =
                    directory
                        .access()
                        .login(&joined.account.email, &input.password, ip)?;
                Ok((joined, session))
            })
            .await?;
            // 201 with the new worker, from a form too (the contract scripts rely on).
            let mut response = session_response(&state, &session, false, StatusCode::CREATED);
            set(&mut response, header::LOCATION, joined.worker.as_str());
            Ok(response)
        }
        _ => Err(method_not_allowed("GET, POST")),
    }
}

// ---- the server-admin API ------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserInput {
    coop: String,
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    role: Option<String>,
}

pub(crate) fn parse_role(role: Option<&str>) -> Result<Role, ApiError> {
    match role.unwrap_or("member") {
        "member" => Ok(Role::Member),
        "coop-admin" => Ok(Role::CoopAdmin),
        "server-admin" => Ok(Role::ServerAdmin),
        other => Err(ApiError::bad_request(format!(
            "unknown role \"{other}\": use member, coop-admin or server-admin"
        ))),
    }
}

/// `/admin/users`: accounts (server admins).
pub async fn admin_users(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match method {
        Method::GET | Method::HEAD => {
            admin_reader(&state, &headers)?;
            Ok(json_response(
                StatusCode::OK,
                json!({ "items": state.directory.access().accounts() }),
            ))
        }
        Method::POST => {
            let caller = writer(&state, &headers, None)?;
            let (input, _): (UserInput, bool) = read_input(&state, &headers, body).await?;
            let role = parse_role(input.role.as_deref())?;
            let directory = state.directory.clone();
            let joined = blocking(move || {
                let coop = directory.find_coop(&input.coop)?;
                directory.add_person(
                    &coop,
                    NewPerson {
                        email: input.email,
                        name: input.name,
                        password: input.password,
                        role,
                    },
                    &caller.principal,
                )
            })
            .await?;
            let mut value = serde_json::to_value(&joined.account).unwrap_or(Value::Null);
            value["worker"] = Value::String(joined.worker.as_str().to_owned());
            let mut response = json_response(StatusCode::CREATED, value);
            set(&mut response, header::LOCATION, joined.worker.as_str());
            Ok(response)
        }
        _ => Err(method_not_allowed("GET, POST")),
    }
}

/// `/admin/users/{id-or-email}/{disable|enable}`.
pub async fn admin_user_state(
    State(state): Shared,
    Path((id, action)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    let target = match action.as_str() {
        "disable" => AccountState::Disabled,
        "enable" => AccountState::Active,
        _ => return Err(ApiError::not_found(&format!("/admin/users/{id}/{action}"))),
    };
    let caller = admin_writer(&state, &headers)?;
    let access = state.directory.access().clone();
    let view =
        blocking(move || Ok(access.set_account_state(&id, target, &caller.principal.actor())?))
            .await?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_value(&view).unwrap_or(Value::Null),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminTokenInput {
    /// An account's e-mail address or id; none for a server-admin token.
    user: Option<String>,
    name: Option<String>,
    expires_in_days: Option<u32>,
}

/// `/admin/tokens`: tokens for any account, or server-admin tokens.
pub async fn admin_tokens(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    let caller = admin_writer(&state, &headers)?;
    let (input, _): (AdminTokenInput, bool) = read_input(&state, &headers, body).await?;
    let access = state.directory.access().clone();
    let (view, secret) = blocking(move || {
        let owner = match &input.user {
            None => TokenOwner::ServerAdmin,
            Some(user) => TokenOwner::Account(
                access
                    .find_account(user)
                    .ok_or_else(|| AccessError::NotFound(format!("no account {user}")))?
                    .id,
            ),
        };
        Ok(access.create_token(
            owner,
            input.name.as_deref(),
            input.expires_in_days,
            &caller.principal.actor(),
        )?)
    })
    .await?;
    let mut value = serde_json::to_value(&view).unwrap_or(Value::Null);
    value["token"] = Value::String(secret);
    Ok(json_response(StatusCode::CREATED, value))
}

/// `/admin/audit?resource=IRI&account=ID-OR-EMAIL&before=SEQ&limit=N`.
pub async fn admin_audit(
    State(state): Shared,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    for key in query.keys() {
        if !["resource", "account", "before", "limit"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter \"{key}\": /admin/audit takes resource, account, before and limit"
            )));
        }
    }
    let number = |key: &str| -> Result<Option<u64>, ApiError> {
        query
            .get(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("{key} must be a whole number")))
            })
            .transpose()
    };
    let audit = AuditQuery {
        resource: query.get("resource").cloned(),
        account: query.get("account").cloned(),
        before: number("before")?,
        limit: number("limit")?.unwrap_or(50) as usize,
    };
    let caller = signed_in(&state, &headers)?;
    let directory = state.directory.clone();
    let page = blocking(move || directory.audit(&audit, &caller.principal)).await?;
    let mut value = serde_json::to_value(&page).unwrap_or(Value::Null);
    if let Some(before) = page.next_before {
        let mut next: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "before")
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        next.push(format!("before={before}"));
        value["next"] = Value::String(format!("{}?{}", uri.path(), next.join("&")));
    }
    Ok(json_response(StatusCode::OK, value))
}

fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// `/admin/skill-proposals` (server admins: all; members: their own).
pub async fn proposals(State(state): Shared, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = signed_in(&state, &headers)?;
    let directory = state.directory.clone();
    let items = blocking(move || directory.proposals(&caller.principal)).await?;
    Ok(json_response(StatusCode::OK, json!({ "items": items })))
}

/// `/admin/skill-proposals/{id}`: one proposal, for its author and server admins.
pub async fn proposal(
    State(state): Shared,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::GET && method != Method::HEAD {
        return Err(method_not_allowed("GET"));
    }
    let caller = signed_in(&state, &headers)?;
    let directory = state.directory.clone();
    let view = blocking(move || directory.proposal(&id, &caller.principal)).await?;
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_value(&view).unwrap_or(Value::Null),
    ))
}

/// `/admin/skill-proposals/{id}/accept` and `…/reject` (server admins).
pub async fn proposal_decision(
    State(state): Shared,
    Path((id, decision)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(method_not_allowed("POST"));
    }
    let caller = writer(&state, &headers, None)?;
    let directory = state.directory.clone();
    match decision.as_str() {
        "accept" => {
            let outcome =
                blocking(move || directory.accept_proposal(&id, &caller.principal)).await?;
            let mut response = json_response(
                StatusCode::CREATED,
                json!({ "skill": outcome.iri.as_str() }),
            );
            set(&mut response, header::LOCATION, outcome.iri.as_str());
            Ok(response)
        }
        "reject" => {
            blocking(move || directory.reject_proposal(&id, &caller.principal)).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(ApiError::not_found(&format!(
            "/admin/skill-proposals/{id}/{decision}"
        ))),
    }
}
