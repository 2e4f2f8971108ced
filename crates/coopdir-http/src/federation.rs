//! Federation endpoints: `/actor`, `/outbox` (and each activity at `/outbox/{seq}`),
//! the operator's `/admin/peers`, `/admin/followers` (delivery state and dead letters),
//! `/admin/digest`, `/metrics`, and `/replicas?iri=`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use coopdir_federation::vocab::ACTIVITY_JSON;
use coopdir_federation::{FederationError, FollowerState, PeerState};
use coopdir_syntax::{OutputFormat, compact, write_graph};
use oxigraph::model::NamedNode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts::{admin_reader, admin_writer, json_response, read_input};
use crate::error::ApiError;
use crate::handlers::{output_format, set};
use crate::negotiate::media_type;
use crate::search::pairs;
use crate::{AppState, Shared};

fn only_get(method: &Method) -> Result<(), ApiError> {
    crate::handlers::only_get(method, "this path")
}

fn activity_response(value: &Value) -> Response {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    set(&mut response, header::CONTENT_TYPE, ACTIVITY_JSON);
    set(&mut response, header::VARY, "Accept");
    response
}

/// `GET /actor`: the server's ActivityStreams `Service` with its public key.
pub async fn actor(State(state): Shared, method: Method) -> Result<Response, ApiError> {
    only_get(&method)?;
    Ok(activity_response(&state.federation.actor()))
}

/// `GET /outbox` (the collection) or `/outbox?after=SEQ&limit=N` (a page, ascending).
pub async fn outbox(State(state): Shared, method: Method, uri: Uri) -> Result<Response, ApiError> {
    only_get(&method)?;
    let mut after = None;
    let mut limit = 100;
    for (k, v) in pairs(&uri)? {
        let number = || {
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("{k} must be a whole number")))
        };
        match k.as_str() {
            "after" => after = Some(number()?),
            "limit" => {
                limit = number()?.clamp(1, coopdir_federation::outbox::MAX_PAGE as u64) as usize
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter \"{k}\": /outbox takes after and limit"
                )));
            }
        }
    }
    state.federation.outbox().wait_for_writes().await;
    let federation = state.federation.clone();
    let value = match after {
        None => federation.outbox_collection(),
        Some(after) => tokio::task::spawn_blocking(move || federation.outbox_page(after, limit))
            .await
            .map_err(ApiError::internal)??,
    };
    Ok(activity_response(&value))
}

/// `GET /outbox/{seq}`: one activity, while it is the latest change of its resource.
pub async fn activity(
    State(state): Shared,
    method: Method,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    let Ok(seq) = seq.parse::<u64>() else {
        return Err(ApiError::not_found(&format!("/outbox/{seq}")));
    };
    // As for the collection: a write committed before this request is in the outbox (a
    // superseded activity is gone), not up to one gathering interval later.
    state.federation.outbox().wait_for_writes().await;
    let federation = state.federation.clone();
    let found = tokio::task::spawn_blocking(move || federation.outbox().activity_at(seq))
        .await
        .map_err(ApiError::internal)??;
    match found {
        Some(value) => Ok(activity_response(&value)),
        None => Err(ApiError::new(
            StatusCode::GONE,
            "superseded",
            "Gone",
            format!(
                "activity {seq} is not in the outbox: a later change of its resource replaced it, or it never concerned public data; page through /outbox?after={} for what is current",
                seq.saturating_sub(1)
            ),
        )),
    }
}

fn peer_json(state: &AppState, peer: &PeerState) -> Value {
    let mut value = serde_json::to_value(peer).unwrap_or(Value::Null);
    value["lag"] = json!(peer.lag());
    value["replicated"] = json!(state.federation.peers().replicated(&peer.id));
    value["url"] = json!(peer.base);
    // When that server follows us too: how our deliveries to it are going.
    if let Some(follower) = state.federation.followers().by_base(&peer.base) {
        value["delivery"] = follower_json(state, &follower);
    }
    value
}

fn follower_json(state: &AppState, follower: &FollowerState) -> Value {
    let mut value = serde_json::to_value(follower).unwrap_or(Value::Null);
    value["lag"] = json!(state.federation.followers().lag(follower));
    value
}

/// `GET /admin/followers`: the servers following this one and our deliveries to each.
pub async fn followers(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    admin_reader(&state, &headers)?;
    let items: Vec<Value> = state
        .federation
        .followers()
        .list()
        .iter()
        .map(|f| follower_json(&state, f))
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "items": items })))
}

/// `GET`/`DELETE /admin/followers/{id}`: one follower; deleting it stops deliveries.
pub async fn follower(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match method {
        Method::GET | Method::HEAD => {
            admin_reader(&state, &headers)?;
            let follower = state.federation.followers().get(&id)?;
            Ok(json_response(
                StatusCode::OK,
                follower_json(&state, &follower),
            ))
        }
        Method::DELETE => {
            admin_writer(&state, &headers)?;
            let follower = state.federation.followers().remove(&id)?;
            Ok(json_response(
                StatusCode::OK,
                follower_json(&state, &follower),
            ))
        }
        _ => Err(ApiError::method_not_allowed(
            "GET, DELETE",
            "this path accepts GET, DELETE",
        )),
    }
}

/// `POST /admin/followers/{id}/accept` or `/reject`: the operator's answer to a Follow
/// waiting for approval.
pub async fn follower_action(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed(
            "POST",
            "POST to accept or reject the follower",
        ));
    }
    admin_writer(&state, &headers)?;
    let followers = state.federation.followers();
    let follower = match action.as_str() {
        "accept" => followers.approve(&id)?,
        "reject" => followers.reject(&id).await?,
        _ => {
            return Err(ApiError::not_found(&format!(
                "/admin/followers/{id}/{action} (accept or reject)"
            )));
        }
    };
    Ok(json_response(
        StatusCode::OK,
        follower_json(&state, &follower),
    ))
}

/// `POST /admin/followers/{id}/dead-letters/{seq}/resend`: delivers a refused
/// activity again (the resource as it is now); it leaves the list once delivered.
pub async fn resend(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path((id, seq)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed(
            "POST",
            "POST to send it again",
        ));
    }
    admin_writer(&state, &headers)?;
    let seq = seq
        .parse::<u64>()
        .map_err(|_| ApiError::bad_request(format!("{seq:?} is not a sequence number")))?;
    let follower = state.federation.followers().resend(&id, seq).await?;
    Ok(json_response(
        StatusCode::OK,
        follower_json(&state, &follower),
    ))
}

#[derive(Deserialize)]
struct NewPeer {
    url: String,
}

/// `GET /admin/peers` (the peers and their sync state) and `POST {"url"}` (follow one).
pub async fn peers(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match method {
        Method::GET | Method::HEAD => {
            admin_reader(&state, &headers)?;
            let items: Vec<Value> = state
                .federation
                .peers()
                .list()
                .iter()
                .map(|p| peer_json(&state, p))
                .collect();
            Ok(json_response(StatusCode::OK, json!({ "items": items })))
        }
        Method::POST => {
            admin_writer(&state, &headers)?;
            let (input, _): (NewPeer, bool) = read_input(&state, &headers, body).await?;
            let peer = state.federation.peers().add(&input.url).await?;
            let location = format!("{}admin/peers/{}", state.directory.paths().base(), peer.id);
            let mut response = json_response(StatusCode::CREATED, peer_json(&state, &peer));
            set(&mut response, header::LOCATION, &location);
            Ok(response)
        }
        _ => Err(ApiError::method_not_allowed(
            "GET, POST",
            "this path accepts GET, POST",
        )),
    }
}

/// `GET`/`DELETE /admin/peers/{id}`: one peer; removing it removes its replica.
pub async fn peer(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match method {
        Method::GET | Method::HEAD => {
            admin_reader(&state, &headers)?;
            let peer = state.federation.peers().get(&id)?;
            Ok(json_response(StatusCode::OK, peer_json(&state, &peer)))
        }
        Method::DELETE => {
            admin_writer(&state, &headers)?;
            let removed = state.federation.peers().remove(&id).await?;
            Ok(json_response(
                StatusCode::OK,
                json!({ "id": id, "removed": removed }),
            ))
        }
        _ => Err(ApiError::method_not_allowed(
            "GET, DELETE",
            "this path accepts GET, DELETE",
        )),
    }
}

/// `POST /admin/peers/{id}/sync`: pull now; answers with the peer's state afterwards.
pub async fn peer_sync(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if method != Method::POST {
        return Err(ApiError::method_not_allowed(
            "POST",
            "POST to pull from the peer now",
        ));
    }
    admin_writer(&state, &headers)?;
    let peer = state.federation.peers().sync_now(&id).await?;
    Ok(json_response(StatusCode::OK, peer_json(&state, &peer)))
}

/// `GET /admin/digest`: per origin, the count of public resources and their digest.
pub async fn digest(
    State(state): Shared,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    admin_reader(&state, &headers)?;
    state.federation.outbox().wait_for_writes().await;
    let federation = state.federation.clone();
    let digests = tokio::task::spawn_blocking(move || federation.digest())
        .await
        .map_err(ApiError::internal)??;
    Ok(json_response(StatusCode::OK, json!({ "items": digests })))
}

/// `GET /replicas?iri=IRI`: the stored copy of a remote resource (JSON with its origin,
/// sequence and fetch time; Turtle or N-Triples give the graph alone).
pub async fn replicas(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    let mut iri = None;
    for (k, v) in pairs(&uri)? {
        match k.as_str() {
            "iri" => iri = Some(v),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter \"{k}\": /replicas takes iri"
                )));
            }
        }
    }
    let Some(iri) = iri else {
        return Err(ApiError::bad_request(
            "say which resource: /replicas?iri=IRI (an IRI of a peer's resource)",
        ));
    };
    let node = NamedNode::new(&iri)
        .map_err(|_| ApiError::bad_request(format!("{iri:?} is not an IRI")))?;
    let format = output_format(&headers)?;
    let federation = state.federation.clone();
    let lookup = node.clone();
    let found = tokio::task::spawn_blocking(move || federation.replica(&lookup))
        .await
        .map_err(ApiError::internal)??;
    let Some(coopdir_federation::ReplicaCopy {
        origin,
        entry,
        graph,
    }) = found
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            format!(
                "no replica of {iri} here: it is not a resource of a peer this server follows, or the peer has not published it"
            ),
        ));
    };
    if format != OutputFormat::JsonLd {
        let body = write_graph(&graph, format, Some(node.as_ref()), "");
        let mut response = (StatusCode::OK, body).into_response();
        set(&mut response, header::CONTENT_TYPE, media_type(format));
        set(&mut response, header::VARY, "Accept");
        return Ok(response);
    }
    let context = state.directory.paths().context();
    Ok(json_response(
        StatusCode::OK,
        json!({
            "iri": iri,
            "origin": origin,
            "seq": entry.seq,
            "fetched": entry.fetched,
            "deleted": entry.deleted,
            "graph": if graph.is_empty() { Value::Null } else { compact(&graph, Some(node.as_ref()), &context) },
        }),
    ))
}

impl From<FederationError> for ApiError {
    fn from(e: FederationError) -> Self {
        match e {
            FederationError::UnknownPeer(_) | FederationError::UnknownFollower(_) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not Found",
                e.to_string(),
            ),
            FederationError::AlreadyFollowed(..) => {
                ApiError::new(StatusCode::CONFLICT, "conflict", "Conflict", e.to_string())
            }
            FederationError::Fetch(coopdir_federation::FetchError::BadUrl(_)) => {
                ApiError::bad_request(e.to_string())
            }
            FederationError::Fetch(coopdir_federation::FetchError::Private(_)) => ApiError::new(
                StatusCode::FORBIDDEN,
                "private-address",
                "Forbidden",
                e.to_string(),
            ),
            FederationError::Fetch(_) | FederationError::BadPeer(_) => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad-peer",
                "Bad Gateway",
                e.to_string(),
            ),
            FederationError::Ldp(e) => e.into(),
            e @ (FederationError::Key(_) | FederationError::Store(_) | FederationError::Io(_)) => {
                ApiError::internal(e)
            }
        }
    }
}
