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
    #[error(
        "the body holds more than {limit} triples, the most one write may carry: split it into several resources or writes"
    )]
    TooManyTriples { limit: usize },
    #[error(
        "the body nests lists or objects more than {limit} deep: flatten it (give nested nodes their own IRIs or blank-node labels)"
    )]
    TooDeep { limit: usize },
}

/// What one parsed body may cost, checked while parsing so that a hostile body is refused
/// after a bounded amount of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    pub max_triples: usize,
    /// Nesting of Turtle collections and blank-node property lists, or of JSON arrays and
    /// objects.
    pub max_depth: usize,
}

impl ParseLimits {
    /// For files the operator imports, not for request bodies.
    pub const NONE: ParseLimits = ParseLimits {
        max_triples: usize::MAX,
        max_depth: usize::MAX,
    };

    /// The limits of a write of `max_triples`, with the nesting any real profile needs.
    pub fn writes(max_triples: usize) -> Self {
        ParseLimits {
            max_triples,
            max_depth: 32,
        }
    }
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
    parse_graph_within(body, format, base_iri, context_iris, ParseLimits::NONE)
}

/// [`parse_graph`] refusing a body over `limits`.
pub fn parse_graph_within(
    body: &[u8],
    format: InputFormat,
    base_iri: &str,
    context_iris: &[String],
    limits: ParseLimits,
) -> Result<Graph, SyntaxError> {
    let mut graph = Graph::new();
    let mut count = 0usize;
    // Counted before each triple is taken, duplicates included: the work is the parsing.
    let mut admit = || {
        count += 1;
        if count > limits.max_triples {
            Err(SyntaxError::TooManyTriples {
                limit: limits.max_triples,
            })
        } else {
            Ok(())
        }
    };
    match format {
        InputFormat::Turtle => {
            check_depth(body, limits.max_depth, turtle_nesting)?;
            let parser = TurtleParser::new()
                .with_base_iri(base_iri)
                .map_err(|_| SyntaxError::Base(base_iri.into()))?;
            for triple in parser.for_slice(body) {
                admit()?;
                graph.insert(&triple.map_err(|e| SyntaxError::Turtle(e.to_string()))?);
            }
        }
        InputFormat::NTriples => {
            for triple in NTriplesParser::new().for_slice(body) {
                admit()?;
                graph.insert(&triple.map_err(|e| SyntaxError::NTriples(e.to_string()))?);
            }
        }
        InputFormat::JsonLd => {
            check_depth(body, limits.max_depth, json_nesting)?;
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
                admit()?;
                graph.insert(quad.as_ref());
            }
        }
    }
    Ok(graph)
}

/// How deep a body nests, seen by a scan of its bytes before the parser runs (the parsers
/// have no depth limit, and some nestings cost them time quadratic in depth).
/// Written by hand: it only tracks brackets outside strings, IRIs and comments, which no
/// parser crate exposes on its own.
fn check_depth(body: &[u8], limit: usize, nesting: fn(&[u8]) -> usize) -> Result<(), SyntaxError> {
    if limit != usize::MAX && nesting(body) > limit {
        return Err(SyntaxError::TooDeep { limit });
    }
    Ok(())
}

/// The deepest nesting of `(` and `[` in Turtle outside strings, IRIs and comments.
fn turtle_nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < body.len() {
        match body[i] {
            b'#' => {
                while i < body.len() && body[i] != b'\n' {
                    i += 1;
                }
            }
            b'<' => {
                i += 1;
                while i < body.len() && body[i] != b'>' {
                    i += 1;
                }
            }
            quote @ (b'"' | b'\'') => {
                let long = body.get(i + 1..i + 3) == Some(&[quote, quote][..]);
                i += if long { 3 } else { 1 };
                while i < body.len() {
                    if body[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if body[i] == quote
                        && (!long || body.get(i + 1..i + 3) == Some(&[quote, quote][..]))
                    {
                        i += if long { 2 } else { 0 };
                        break;
                    }
                    if !long && body[i] == b'\n' {
                        break;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The deepest nesting of arrays and objects in JSON outside strings.
fn json_nesting(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < body.len() {
        match body[i] {
            b'"' => {
                i += 1;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
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

    #[test]
    fn a_write_over_its_triple_limit_is_refused_while_parsing() {
        let many: String = (0..50)
            .map(|i| format!("<http://localhost/w> <http://localhost/p{i}> \"{i}\" .\n"))
            .collect();
        let limits = ParseLimits::writes(20);
        for format in [InputFormat::Turtle, InputFormat::NTriples] {
            let err = parse_graph_within(many.as_bytes(), format, BASE, &[], limits).unwrap_err();
            assert!(
                matches!(err, SyntaxError::TooManyTriples { limit: 20 }),
                "{err}"
            );
            let graph =
                parse_graph_within(many.as_bytes(), format, BASE, &[], ParseLimits::writes(50))
                    .expect("exactly at the limit");
            assert_eq!(graph.len(), 50);
        }
        let names: Vec<String> = (0..50).map(|i| format!("\"n{i}\"")).collect();
        let json = format!(
            r#"{{"@context": "http://localhost/context.jsonld", "id": "", "name": [{}]}}"#,
            names.join(",")
        );
        let err = parse_graph_within(json.as_bytes(), InputFormat::JsonLd, BASE, &ours(), limits)
            .unwrap_err();
        assert!(matches!(err, SyntaxError::TooManyTriples { .. }), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing_and_brackets_in_strings_do_not_count() {
        let limits = ParseLimits::writes(2_000);
        let deep = format!(
            "<http://localhost/w> <http://localhost/p> {}1{} .",
            "(".repeat(40),
            ")".repeat(40)
        );
        let err = parse_graph_within(deep.as_bytes(), InputFormat::Turtle, BASE, &[], limits)
            .unwrap_err();
        assert!(matches!(err, SyntaxError::TooDeep { limit: 32 }), "{err}");
        let shallow = format!(
            "# ((((( in a comment\n<http://localhost/w> <http://localhost/p> \"{}\", \"\"\"[[[\n[[[\"\"\", '\\'((', ( [ <http://localhost/p> 1 ] ) .",
            "(".repeat(40)
        );
        parse_graph_within(shallow.as_bytes(), InputFormat::Turtle, BASE, &[], limits)
            .expect("brackets in strings and comments are not nesting");
        let json = format!(
            r#"{{"@context": "http://localhost/context.jsonld", "id": "", "name": "{}", "x": {}1{}}}"#,
            "[".repeat(40),
            "[".repeat(40),
            "]".repeat(40)
        );
        let err = parse_graph_within(json.as_bytes(), InputFormat::JsonLd, BASE, &ours(), limits)
            .unwrap_err();
        assert!(matches!(err, SyntaxError::TooDeep { .. }), "{err}");
    }
}
