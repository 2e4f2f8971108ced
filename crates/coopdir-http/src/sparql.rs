//! `/sparql`: the SPARQL 1.1 Protocol, read-only, over the public view
//! (`coopdir-sparql`), with its service description when asked without a query.

use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use coopdir_sparql::{Answer, QueryRequest, SparqlError};
use oxigraph::io::{RdfFormat, RdfParser, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};

use crate::error::ApiError;
use crate::{AppState, Shared};

const ALLOW: &str = "GET, HEAD, POST";

/// Result formats, in the order a client without preference gets them.
const SOLUTION_FORMATS: &[(&str, QueryResultsFormat)] = &[
    ("application/sparql-results+json", QueryResultsFormat::Json),
    ("application/json", QueryResultsFormat::Json),
    ("application/sparql-results+xml", QueryResultsFormat::Xml),
    ("application/xml", QueryResultsFormat::Xml),
    ("text/csv", QueryResultsFormat::Csv),
    ("text/tab-separated-values", QueryResultsFormat::Tsv),
];
const GRAPH_FORMATS: &[(&str, RdfFormat)] = &[
    ("text/turtle", RdfFormat::Turtle),
    ("application/n-triples", RdfFormat::NTriples),
    ("application/rdf+xml", RdfFormat::RdfXml),
    (
        "application/ld+json",
        RdfFormat::JsonLd {
            profile: oxigraph::io::JsonLdProfileSet::empty(),
        },
    ),
];

/// The first of `offered` the `Accept` header takes, by quality then order; `None` when it
/// takes none of them.
fn negotiate<'a, T: Copy>(
    headers: &HeaderMap,
    offered: &'a [(&'a str, T)],
) -> Option<(&'a str, T)> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let mut ranges: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .filter_map(|(i, part)| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some((q, i, range))
        })
        .collect();
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, range) in ranges {
        let range = range.to_ascii_lowercase();
        if range == "*/*" {
            return offered.first().copied();
        }
        if let Some(major) = range.strip_suffix("/*") {
            if let Some(hit) = offered
                .iter()
                .find(|(m, _)| m.starts_with(&format!("{major}/")))
            {
                return Some(*hit);
            }
            continue;
        }
        if let Some(hit) = offered.iter().find(|(m, _)| *m == range) {
            return Some(*hit);
        }
    }
    None
}

fn not_acceptable(offered: &[&str]) -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "not-acceptable",
        "Not Acceptable",
        format!("these results come as {}", offered.join(", ")),
    )
}

fn read_only() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "read-only",
        "Read-only Endpoint",
        "this SPARQL endpoint only answers queries; change data through the LDP API (PUT, PATCH, POST)",
    )
}

impl From<SparqlError> for ApiError {
    fn from(e: SparqlError) -> Self {
        match e {
            SparqlError::BadQuery(detail) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-query",
                "Bad SPARQL Query",
                detail,
            ),
            e @ SparqlError::Timeout(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "query-timeout",
                "Query Timeout",
                e.to_string(),
            ),
            e @ SparqlError::TooLarge(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "result-too-large",
                "Result Too Large",
                e.to_string(),
            ),
            e => ApiError::internal(e),
        }
    }
}

/// The protocol's parameters, from the query string and (for forms) the body.
fn request_from(
    pairs: Vec<(String, String)>,
    query_body: Option<String>,
    state: &AppState,
) -> Result<Option<QueryRequest>, ApiError> {
    let mut query = query_body;
    let mut default_graphs = Vec::new();
    let mut named_graphs = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "query" if query.is_some() => {
                return Err(ApiError::bad_request("give the query once"));
            }
            "query" => query = Some(v),
            "default-graph-uri" => default_graphs.push(v),
            "named-graph-uri" => named_graphs.push(v),
            "update" | "using-graph-uri" | "using-named-graph-uri" => return Err(read_only()),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}: /sparql takes query, default-graph-uri and named-graph-uri"
                )));
            }
        }
    }
    Ok(query.map(|query| QueryRequest {
        query,
        default_graphs,
        named_graphs,
        timeout: state.config.sparql_timeout,
        max_results: state.config.sparql_max_results,
    }))
}

fn form_pairs(text: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("unreadable form or query string: {e}")))
}

pub async fn sparql(
    State(state): Shared,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let mut pairs = form_pairs(uri.query().unwrap_or(""))?;
    let mut query_body = None;
    match method {
        Method::GET | Method::HEAD => {}
        Method::POST => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let bytes = to_bytes(body, state.config.max_body_bytes)
                .await
                .map_err(|e| {
                    crate::handlers::body_error(
                        std::error::Error::source(&e).unwrap_or(&e),
                        state.config.max_body_bytes,
                    )
                })?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| ApiError::bad_request("the body is not UTF-8"))?;
            match content_type.as_str() {
                "application/x-www-form-urlencoded" => pairs.extend(form_pairs(&text)?),
                "application/sparql-query" => query_body = Some(text),
                "application/sparql-update" => return Err(read_only()),
                other => {
                    return Err(ApiError::unsupported_media_type(
                        format!(
                            "a SPARQL query comes as application/sparql-query or a form, not {other:?}"
                        ),
                        "application/sparql-query, application/x-www-form-urlencoded",
                    ));
                }
            }
        }
        _ => {
            return Err(ApiError::method_not_allowed(
                ALLOW,
                "the SPARQL endpoint is read-only: GET or POST a query",
            ));
        }
    }
    let Some(request) = request_from(pairs, query_body, &state)? else {
        return service_description(&state, &headers);
    };
    let up_to_date = state.sparql.wait_for_writes().await;
    let view = state.sparql.clone();
    let limit = request.timeout;
    // The evaluator checks its cancellation token as it reads the store; a query busy
    // elsewhere (a large join in memory) is answered here in time all the same.
    let answer = match tokio::time::timeout(
        limit + std::time::Duration::from_millis(500),
        tokio::task::spawn_blocking(move || view.query(&request)),
    )
    .await
    {
        Ok(joined) => joined.map_err(ApiError::internal)??,
        Err(_) => return Err(SparqlError::Timeout(limit).into()),
    };
    let (media_type, bytes) = serialise(&answer, &headers)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::VARY, header::HeaderValue::from_static("Accept"));
    if !up_to_date {
        h.insert(
            header::HeaderName::from_static("x-index-behind"),
            header::HeaderValue::from_static("the view is still applying recent writes"),
        );
    }
    Ok(response)
}

fn serialise(answer: &Answer, headers: &HeaderMap) -> Result<(&'static str, Vec<u8>), ApiError> {
    match answer {
        Answer::Boolean(_) | Answer::Solutions { .. } => {
            let (media_type, format) = negotiate(headers, SOLUTION_FORMATS).ok_or_else(|| {
                not_acceptable(&SOLUTION_FORMATS.iter().map(|(m, _)| *m).collect::<Vec<_>>())
            })?;
            let serializer = QueryResultsSerializer::from_format(format);
            let bytes = match answer {
                Answer::Boolean(b) => serializer
                    .serialize_boolean_to_writer(Vec::new(), *b)
                    .map_err(ApiError::internal)?,
                Answer::Solutions { variables, rows } => {
                    let mut writer = serializer
                        .serialize_solutions_to_writer(Vec::new(), variables.clone())
                        .map_err(ApiError::internal)?;
                    for row in rows {
                        writer.serialize(row).map_err(ApiError::internal)?;
                    }
                    writer.finish().map_err(ApiError::internal)?
                }
                Answer::Graph(_) => Vec::new(),
            };
            Ok((static_type(media_type), bytes))
        }
        Answer::Graph(triples) => {
            let (media_type, format) = negotiate(headers, GRAPH_FORMATS).ok_or_else(|| {
                not_acceptable(&GRAPH_FORMATS.iter().map(|(m, _)| *m).collect::<Vec<_>>())
            })?;
            Ok((
                static_type(media_type),
                write_triples(triples.iter(), format)?,
            ))
        }
    }
}

fn write_triples<'a>(
    triples: impl Iterator<Item = &'a oxigraph::model::Triple>,
    format: RdfFormat,
) -> Result<Vec<u8>, ApiError> {
    let mut writer = RdfSerializer::from_format(format).for_writer(Vec::new());
    for t in triples {
        writer.serialize_triple(t).map_err(ApiError::internal)?;
    }
    writer.finish().map_err(ApiError::internal)
}

/// The media types above, as the `'static` strings headers want.
fn static_type(media_type: &str) -> &'static str {
    SOLUTION_FORMATS
        .iter()
        .map(|(m, _)| *m)
        .chain(GRAPH_FORMATS.iter().map(|(m, _)| *m))
        .find(|m| *m == media_type)
        .unwrap_or("application/octet-stream")
}

/// The SPARQL 1.1 Service Description of this endpoint.
fn service_description(state: &AppState, headers: &HeaderMap) -> Result<Response, ApiError> {
    let endpoint = format!("{}sparql", state.directory.paths().base());
    let turtle = format!(
        r#"@prefix sd: <http://www.w3.org/ns/sparql-service-description#> .
@prefix formats: <http://www.w3.org/ns/formats/> .
<{endpoint}> a sd:Service ;
    sd:endpoint <{endpoint}> ;
    sd:supportedLanguage sd:SPARQL11Query ;
    sd:resultFormat formats:SPARQL_Results_JSON, formats:SPARQL_Results_XML,
        formats:SPARQL_Results_CSV, formats:SPARQL_Results_TSV,
        formats:Turtle, formats:N-Triples, formats:RDF_XML, formats:JSON-LD ;
    sd:feature sd:UnionDefaultGraph ;
    sd:defaultDataset [ a sd:Dataset ; sd:defaultGraph [ a sd:Graph ] ] .
"#
    );
    let (media_type, format) = negotiate(headers, GRAPH_FORMATS).ok_or_else(|| {
        not_acceptable(&GRAPH_FORMATS.iter().map(|(m, _)| *m).collect::<Vec<_>>())
    })?;
    let triples: Vec<oxigraph::model::Triple> = RdfParser::from_format(RdfFormat::Turtle)
        .for_slice(turtle.as_bytes())
        .filter_map(Result::ok)
        .map(Into::into)
        .collect();
    let bytes = write_triples(triples.iter(), format)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    if let Ok(v) = header::HeaderValue::from_str(media_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
        .headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(response)
}
