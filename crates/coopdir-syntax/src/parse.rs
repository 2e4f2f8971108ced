//! Parsing request bodies into graphs.

use oxjsonld::{JsonLdParser, JsonLdRemoteDocument};
use oxrdf::Graph;
use oxttl::{NTriplesParser, TurtleParser};

use crate::keys::check_keys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Turtle,
    NTriples,
    JsonLd,
}

#[derive(Debug, thiserror::Error)]
pub enum SyntaxError {
    #[error("invalid Turtle: {0}")]
    Turtle(String),
    #[error("invalid N-Triples: {0}")]
    NTriples(String),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid JSON-LD: {0}")]
    JsonLd(String),
    #[error(
        "the JSON-LD key \"{key}\" at {pointer} does not expand to an IRI: use a term of our context ({context}), a compact IRI with a declared prefix, or an absolute IRI"
    )]
    UnknownKey {
        key: String,
        pointer: String,
        context: String,
    },
    #[error(
        "the JSON-LD document refers to the remote context <{0}>, which this server does not fetch: use our context or put the context inline"
    )]
    RemoteContext(String),
    #[error("invalid base IRI {0}")]
    Base(String),
    #[error("named graphs are not allowed here: send the triples of one resource")]
    NamedGraph,
}

/// Parses `body` into a graph; relative IRIs resolve against `base_iri`.
///
/// `context_iris` are the IRIs under which our own context may be referenced; they are
/// resolved from memory, and any other remote context is refused.
pub fn parse_graph(
    body: &[u8],
    format: InputFormat,
    base_iri: &str,
    context_iris: &[String],
) -> Result<Graph, SyntaxError> {
    let mut graph = Graph::new();
    match format {
        InputFormat::Turtle => {
            let parser = TurtleParser::new()
                .with_base_iri(base_iri)
                .map_err(|_| SyntaxError::Base(base_iri.into()))?;
            for triple in parser.for_slice(body) {
                graph.insert(&triple.map_err(|e| SyntaxError::Turtle(e.to_string()))?);
            }
        }
        InputFormat::NTriples => {
            for triple in NTriplesParser::new().for_slice(body) {
                graph.insert(&triple.map_err(|e| SyntaxError::NTriples(e.to_string()))?);
            }
        }
        InputFormat::JsonLd => {
            let json: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| SyntaxError::Json(e.to_string()))?;
            check_keys(&json, context_iris)?;
            let ours: Vec<String> = context_iris.to_vec();
            let refused = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
            let refused_in_loader = refused.clone();
            let parser = JsonLdParser::new()
                .with_base_iri(base_iri)
                .map_err(|_| SyntaxError::Base(base_iri.into()))?
                .for_slice(body)
                .with_load_document_callback(move |url, _options| {
                    if ours.iter().any(|o| o == url) {
                        Ok(JsonLdRemoteDocument {
                            document: coopdir_vocab::CONTEXT.as_bytes().to_vec(),
                            document_url: url.into(),
                        })
                    } else {
                        if let Ok(mut slot) = refused_in_loader.lock() {
                            *slot = Some(url.to_owned());
                        }
                        Err(format!("remote context <{url}> is not fetched").into())
                    }
                });
            for quad in parser {
                let quad =
                    quad.map_err(|e| match refused.lock().ok().and_then(|mut s| s.take()) {
                        Some(url) => SyntaxError::RemoteContext(url),
                        None => SyntaxError::JsonLd(e.to_string()),
                    })?;
                if !quad.graph_name.is_default_graph() {
                    return Err(SyntaxError::NamedGraph);
                }
                graph.insert(quad.as_ref());
            }
        }
    }
    Ok(graph)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://localhost/workers/new";

    fn ours() -> Vec<String> {
        vec!["http://localhost/context.jsonld".to_owned()]
    }

    #[test]
    fn compacted_json_ld_with_our_context_parses_and_resolves_relative_ids() {
        let body = br#"{"@context": "http://localhost/context.jsonld", "id": "", "type": "Worker", "name": "Ada"}"#;
        let graph = parse_graph(body, InputFormat::JsonLd, BASE, &ours()).expect("parses");
        assert_eq!(graph.len(), 2);
        let text = graph.to_string();
        assert!(
            text.contains("<http://localhost/workers/new> <http://schema.org/name> \"Ada\""),
            "{text}"
        );
    }

    #[test]
    fn a_key_outside_the_context_is_an_error_naming_it() {
        let body =
            br#"{"@context": "http://localhost/context.jsonld", "name": "Ada", "nmae": "typo"}"#;
        let err = parse_graph(body, InputFormat::JsonLd, BASE, &ours()).unwrap_err();
        assert!(
            matches!(&err, SyntaxError::UnknownKey { key, .. } if key == "nmae"),
            "{err}"
        );
    }

    #[test]
    fn a_remote_context_is_never_fetched() {
        let body = br#"{"@context": "https://example.org/other.jsonld", "name": "Ada"}"#;
        let err = parse_graph(body, InputFormat::JsonLd, BASE, &ours()).unwrap_err();
        assert!(
            matches!(err, SyntaxError::RemoteContext(ref u) if u == "https://example.org/other.jsonld"),
            "{err}"
        );
    }

    #[test]
    fn expanded_json_ld_is_accepted() {
        let body = br#"[{"@id": "", "http://schema.org/name": [{"@value": "Ada"}]}]"#;
        let graph = parse_graph(body, InputFormat::JsonLd, BASE, &ours()).expect("parses");
        assert_eq!(graph.len(), 1);
    }

    #[test]
    fn malformed_turtle_reports_the_position() {
        let err = parse_graph(
            b"<> <p> \"unterminated .",
            InputFormat::Turtle,
            BASE,
            &ours(),
        )
        .unwrap_err();
        assert!(matches!(err, SyntaxError::Turtle(_)));
    }
}
