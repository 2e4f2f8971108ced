//! Content negotiation: which representation to send, which body formats to accept.

use coopdir_syntax::{InputFormat, OutputFormat};

pub const JSON_LD: &str = "application/ld+json";
pub const TURTLE: &str = "text/turtle";
pub const N_TRIPLES: &str = "application/n-triples";
pub const SPARQL_UPDATE: &str = "application/sparql-update";
pub const N3: &str = "text/n3";

/// Media types accepted in POST and PUT bodies.
pub const ACCEPT_POST: &str = "application/ld+json, text/turtle, application/n-triples";
/// Media types accepted in PATCH bodies.
pub const ACCEPT_PATCH: &str = "application/sparql-update, text/n3";

pub fn media_type(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::JsonLd => JSON_LD,
        OutputFormat::Turtle => TURTLE,
        OutputFormat::NTriples => N_TRIPLES,
    }
}

/// The variant tag of a representation, for entity tags.
pub fn variant(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::JsonLd => "jsonld",
        OutputFormat::Turtle => "ttl",
        OutputFormat::NTriples => "nt",
    }
}

/// The ranges of an `Accept` header with a q-value above zero: position, media type
/// (lower case) and q.
fn media_ranges(accept: &str) -> impl Iterator<Item = (usize, String, f32)> + '_ {
    accept.split(',').enumerate().filter_map(|(index, range)| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for param in parts {
            if let Some(v) = param.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        (q > 0.0).then_some((index, media, q))
    })
}

/// Picks the best RDF format for an `Accept` header; `None` means 406.
pub fn choose_output(accept: Option<&str>) -> Option<OutputFormat> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(OutputFormat::JsonLd);
    };
    let mut best: Option<(f32, usize, OutputFormat)> = None;
    for (index, media, q) in media_ranges(accept) {
        let format = match media.as_str() {
            "application/ld+json" | "application/json" | "*/*" | "application/*" => {
                OutputFormat::JsonLd
            }
            "text/turtle" | "text/*" => OutputFormat::Turtle,
            "application/n-triples" => OutputFormat::NTriples,
            _ => continue,
        };
        // Higher q wins; on a tie, the earlier and more specific range.
        let specific = !media.contains('*');
        let candidate = (q + if specific { 0.0001 } else { 0.0 }, index, format);
        if best.is_none_or(|(bq, bi, _)| candidate.0 > bq || (candidate.0 == bq && index < bi)) {
            best = Some(candidate);
        }
    }
    best.map(|(_, _, f)| f)
}

/// Whether `accept` prefers HTML to every RDF syntax we serve (what browsers send);
/// `*/*` alone, or an RDF type ranked at least as high, keeps the data.
pub fn prefers_html(accept: &str) -> bool {
    let mut html: Option<(f32, usize)> = None;
    let mut rdf: Option<(f32, usize)> = None;
    for (index, media, mut q) in media_ranges(accept) {
        let slot = match media.as_str() {
            "text/html" | "application/xhtml+xml" => &mut html,
            "application/ld+json"
            | "application/json"
            | "text/turtle"
            | "application/n-triples" => &mut rdf,
            // A wildcard counts a little less than a type named outright.
            "*/*" | "application/*" | "text/*" => {
                q -= 0.0001;
                &mut rdf
            }
            _ => continue,
        };
        if slot.is_none_or(|(best, _)| q > best) {
            *slot = Some((q, index));
        }
    }
    match (html, rdf) {
        (Some(_), None) => true,
        (Some((hq, hi)), Some((rq, ri))) => hq > rq || (hq == rq && hi < ri),
        (None, _) => false,
    }
}

/// The media type of a request's body (its `Content-Type` without parameters), lower case.
pub fn body_media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// The RDF syntax of a request body, from its `Content-Type`.
pub fn input_format(content_type: Option<&str>) -> Option<InputFormat> {
    let media = content_type?.split(';').next()?.trim().to_ascii_lowercase();
    match media.as_str() {
        "text/turtle" => Some(InputFormat::Turtle),
        "application/n-triples" => Some(InputFormat::NTriples),
        "application/ld+json" | "application/json" => Some(InputFormat::JsonLd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_and_generic_clients_get_json_ld() {
        assert_eq!(choose_output(None), Some(OutputFormat::JsonLd));
        assert_eq!(choose_output(Some("*/*")), Some(OutputFormat::JsonLd));
        assert_eq!(
            choose_output(Some("application/json")),
            Some(OutputFormat::JsonLd)
        );
    }

    #[test]
    fn browsers_get_html_and_data_clients_do_not() {
        assert!(prefers_html(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(prefers_html("text/html"));
        assert!(!prefers_html("*/*"));
        assert!(!prefers_html("application/ld+json"));
        assert!(!prefers_html("text/html;q=0.5, text/turtle"));
        assert!(!prefers_html("application/ld+json, text/html"));
        assert!(prefers_html("text/html, application/ld+json;q=0.9"));
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(
            choose_output(Some("application/ld+json;q=0.5, text/turtle")),
            Some(OutputFormat::Turtle)
        );
        assert_eq!(
            choose_output(Some("application/n-triples")),
            Some(OutputFormat::NTriples)
        );
        assert_eq!(choose_output(Some("image/png")), None);
        assert_eq!(choose_output(Some("text/turtle;q=0")), None);
    }
}
