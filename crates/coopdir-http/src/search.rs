//! Search endpoints: `/search`, `/search/skills`, `/projects/{slug}/candidates`,
//! `/insights/skills`. Each asks `access` who the reader is, lets the index catch up
//! with writes made before the request, and renders what `coopdir-search` answers as
//! JSON-LD with our context.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use coopdir_access::policy::Audience;
use coopdir_search::query::{FacetValue, Hit, SearchRequest};
use coopdir_search::{SearchError, SearchIndex};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::auth::caller;
use crate::error::ApiError;
use crate::{AppState, Shared};

const MAX_PAGE_SIZE: usize = 200;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn only_get(method: &Method) -> Result<(), ApiError> {
    crate::handlers::only_get(method, "search")
}

/// The query's parameters, without `format` (which chose the representation).
pub(crate) fn pairs(uri: &Uri) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("unreadable query string: {e}")))?;
    Ok(pairs.into_iter().filter(|(k, _)| k != "format").collect())
}

/// The HTML page for a browser, when it asked for one.
async fn page(
    state: &Arc<AppState>,
    uri: &Uri,
    headers: &HeaderMap,
    which: &str,
) -> Result<Option<Response>, ApiError> {
    if crate::pages::wanted(headers, uri)? != crate::pages::Wanted::Html {
        return Ok(None);
    }
    let reader = crate::pages::Reader::new(state, headers, uri)?;
    let result = match which {
        "search" => crate::pages::search_page(state.clone(), &reader, uri.clone()).await,
        _ => crate::pages::insights_page(state.clone(), &reader).await,
    };
    Ok(Some(reader.respond(state, result)))
}

/// The small endpoints' parameters: only `known` ones, `lang` defaulting to English and
/// `limit` (when known) a number from 1 to `max_limit`.
struct Options {
    q: Option<String>,
    lang: String,
    limit: Option<usize>,
}

fn options(uri: &Uri, known: &[&str], max_limit: usize) -> Result<Options, ApiError> {
    let mut options = Options {
        q: None,
        lang: "en".to_owned(),
        limit: None,
    };
    for (k, v) in pairs(uri)? {
        match k.as_str() {
            "q" if known.contains(&"q") => options.q = Some(v),
            "lang" => options.lang = v,
            "limit" if known.contains(&"limit") => {
                options.limit = Some(
                    v.parse()
                        .ok()
                        .filter(|l| (1..=max_limit).contains(l))
                        .ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "limit must be a number from 1 to {max_limit}"
                            ))
                        })?,
                )
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}: {} takes {}",
                    uri.path(),
                    known.join(", ")
                )));
            }
        }
    }
    Ok(options)
}

/// Who is asking, as the authorisation module sees it, once the index has every write
/// committed before this request.
async fn reader(state: &AppState, headers: &HeaderMap) -> Result<(Audience, bool), ApiError> {
    let principal = caller(state, headers)?.principal;
    let access = state.directory.access().clone();
    let audience = tokio::task::spawn_blocking(move || access.audience(&principal))
        .await
        .map_err(ApiError::internal)??;
    let up_to_date = state.search.wait_for_writes().await;
    Ok((audience, up_to_date))
}

async fn run<T: Send + 'static>(
    index: &Arc<SearchIndex>,
    f: impl FnOnce(&SearchIndex) -> Result<T, SearchError> + Send + 'static,
) -> Result<T, ApiError> {
    let index = index.clone();
    tokio::task::spawn_blocking(move || f(&index))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::from)
}

fn jsonld(value: Value, up_to_date: bool) -> Response {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/ld+json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    headers.insert(
        header::VARY,
        header::HeaderValue::from_static("Accept, Authorization, Cookie"),
    );
    if !up_to_date {
        // RFC 9111's Warning is obsolete; say it in a header of our own.
        headers.insert(
            header::HeaderName::from_static("x-index-behind"),
            header::HeaderValue::from_static("the search index is still applying recent writes"),
        );
    }
    response
}

fn context(state: &AppState) -> Value {
    Value::String(state.directory.paths().context())
}

fn hit_json(hit: &Hit) -> Value {
    let mut item = json!({
        "id": hit.iri.as_str(),
        "type": "Worker",
        "name": hit.name,
        "score": hit.score,
        "scoreParts": {
            "coverage": hit.parts.coverage,
            "levelPoints": hit.parts.level,
            "availabilityPoints": hit.parts.availability,
            "textRelevance": (hit.parts.text as f64 * 10_000.0).round() / 10_000.0,
        },
        "matched": hit.matched.iter().map(|m| json!({
            "requested": m.requested.as_str(),
            "skill": m.skill.as_str(),
            "label": m.label,
            "level": m.level.map(|l| l.as_str()),
            "via": m.via,
            "throughNarrower": m.via == coopdir_search::Via::Narrower,
        })).collect::<Vec<_>>(),
        "origin": hit.origin,
        "memberOf": hit.coops.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    });
    if let Some(place) = &hit.place {
        item["location"] = json!(place);
    }
    if let Some(from) = hit.free_from {
        item["freeFrom"] = json!(from.to_string());
    }
    if let Some(hours) = hit.hours {
        item["hoursPerWeek"] = json!(hours);
    }
    item
}

fn facet_json(values: &[FacetValue]) -> Value {
    values
        .iter()
        .map(|v| json!({ "value": v.value, "label": v.label, "count": v.count }))
        .collect()
}

/// The request's own URL with `page` set.
fn page_url(state: &AppState, uri: &Uri, pairs: &[(String, String)], page: usize) -> String {
    let mut query: Vec<(String, String)> =
        pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
    query.push(("page".into(), page.to_string()));
    format!(
        "{}{}?{}",
        state.directory.paths().base().trim_end_matches('/'),
        uri.path(),
        serde_urlencoded::to_string(&query).unwrap_or_default()
    )
}

/// `GET /search`.
pub async fn search(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    if let Some(page) = page(&state, &uri, &headers, "search").await? {
        return Ok(page);
    }
    let pairs = pairs(&uri)?;
    let request = SearchRequest::parse(&pairs, state.config.page_size, MAX_PAGE_SIZE)?;
    let (audience, up_to_date) = reader(&state, &headers).await?;
    let results = run(&state.search, move |index| {
        index.search(&request, &audience, today())
    })
    .await?;
    let last = results.last_page();
    let mut body = json!({
        "@context": context(&state),
        "id": page_url(&state, &uri, &pairs, results.page),
        "type": "SearchResults",
        "totalItems": results.total,
        "items": results.items.iter().map(hit_json).collect::<Vec<_>>(),
        "facets": {
            "bySkill": facet_json(&results.facets.skill),
            "byCoop": facet_json(&results.facets.coop),
            "byPlace": facet_json(&results.facets.place),
            "byAvailability": facet_json(&results.facets.availability),
        },
        "first": page_url(&state, &uri, &pairs, 1),
        "last": page_url(&state, &uri, &pairs, last),
    });
    if results.page > 1 {
        body["prev"] = json!(page_url(&state, &uri, &pairs, (results.page - 1).min(last)));
    }
    if results.page < last {
        body["next"] = json!(page_url(&state, &uri, &pairs, results.page + 1));
    }
    Ok(jsonld(body, up_to_date))
}

/// `GET /search/skills?q=…[&lang=…][&limit=…]`.
pub async fn skills(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    let Options { q, lang, limit } = options(&uri, &["q", "lang", "limit"], 50)?;
    let limit = limit.unwrap_or(10);
    let q = q.ok_or_else(|| {
        ApiError::bad_request("q is required: the start of a skill's name, in any language")
    })?;
    let (audience, up_to_date) = reader(&state, &headers).await?;
    let hits = run(&state.search, move |index| {
        index.lookup_skills(&q, &lang, &audience, limit)
    })
    .await?;
    let body = json!({
        "@context": context(&state),
        "totalItems": hits.len(),
        "items": hits,
    });
    Ok(jsonld(body, up_to_date))
}

/// `GET /projects/{slug}/candidates`.
pub async fn candidates(
    state: Arc<AppState>,
    slug: String,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    let Options { lang, limit, .. } = options(&uri, &["lang", "limit"], MAX_PAGE_SIZE)?;
    let limit = limit.unwrap_or(state.config.page_size);
    let project = format!("{}projects/{slug}", state.directory.paths().base());
    let (audience, up_to_date) = reader(&state, &headers).await?;
    let results = run(&state.search, move |index| {
        index.candidates(&project, &audience, today(), &lang, limit)
    })
    .await?;
    let body = json!({
        "@context": context(&state),
        "id": format!("{}{}", state.directory.paths().base().trim_end_matches('/'), uri.path()),
        "project": results.project.as_str(),
        "need": results.needs.iter().map(|n| json!({
            "skill": n.skill.as_str(),
            "label": n.label,
            "level": n.level.map(|l| l.as_str()),
            "headcount": n.headcount,
        })).collect::<Vec<_>>(),
        "totalItems": results.total,
        "candidates": results.candidates.iter().map(hit_json).collect::<Vec<_>>(),
        "team": results.team.iter().map(|m| json!({
            "id": m.iri.as_str(),
            "name": m.name,
            "freeFrom": m.free_from.map(|d| d.to_string()),
            "covers": m.covers.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "uncovered": results.uncovered.iter().map(|u| json!({
            "skill": u.skill.as_str(),
            "label": u.label,
            "missing": u.missing,
        })).collect::<Vec<_>>(),
    });
    Ok(jsonld(body, up_to_date))
}

/// `GET /insights/skills[?lang=…]`.
pub async fn insights(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    only_get(&method)?;
    if let Some(page) = page(&state, &uri, &headers, "insights").await? {
        return Ok(page);
    }
    let Options { lang, .. } = options(&uri, &["lang"], 1)?;
    let (audience, up_to_date) = reader(&state, &headers).await?;
    let items = run(&state.search, move |index| {
        Ok(index.skills_insight(&audience, today(), &lang))
    })
    .await?;
    let body = json!({
        "@context": context(&state),
        "id": format!("{}insights/skills", state.directory.paths().base()),
        "totalItems": items.len(),
        "items": items,
    });
    Ok(jsonld(body, up_to_date))
}
