//! Finds JSON-LD keys that would expand to no IRI.
//!
//! A JSON-LD processor silently drops such keys (JSON-LD 1.1 §4.1.2); for a write API
//! that means lost data without an error, so we check keys before parsing. The check is
//! conservative: a key counts as defined if any context in the document (or ours, when
//! referenced) defines it, so it never rejects a valid document, and catches typos and
//! keys from a context the client forgot to include.

use serde_json::Value;
use std::collections::HashSet;

use crate::SyntaxError;

#[derive(Default)]
struct Definitions {
    terms: HashSet<String>,
    /// Terms whose values are maps keyed by language, index, id or type, not properties.
    map_containers: HashSet<String>,
    /// Terms whose values are JSON literals (`@type: @json`).
    json_literals: HashSet<String>,
    has_vocab: bool,
    includes_ours: bool,
    /// The first context IRI that is not ours (never fetched).
    remote: Option<String>,
}

impl Definitions {
    fn add_context(&mut self, context: &Value, ours: &[String]) {
        match context {
            Value::String(iri) => {
                if !(ours.iter().any(|o| o == iri) || iri == coopdir_vocab::CANONICAL_CONTEXT_IRI) {
                    self.remote.get_or_insert_with(|| iri.clone());
                } else {
                    if !self.includes_ours {
                        self.includes_ours = true;
                        if let Ok(Value::Object(doc)) =
                            serde_json::from_str::<Value>(coopdir_vocab::CONTEXT)
                            && let Some(inner) = doc.get("@context")
                        {
                            self.add_context(inner, ours);
                        }
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.add_context(item, ours);
                }
            }
            Value::Object(definitions) => {
                for (key, definition) in definitions {
                    if key == "@vocab" {
                        self.has_vocab |= !definition.is_null();
                        continue;
                    }
                    if key.starts_with('@') {
                        continue;
                    }
                    self.terms.insert(key.clone());
                    if let Value::Object(d) = definition {
                        let containers: Vec<&str> = match d.get("@container") {
                            Some(Value::String(s)) => vec![s.as_str()],
                            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                            _ => Vec::new(),
                        };
                        if containers.iter().any(|c| {
                            matches!(*c, "@language" | "@index" | "@id" | "@type" | "@graph")
                        }) {
                            self.map_containers.insert(key.clone());
                        }
                        if d.get("@type").and_then(Value::as_str) == Some("@json") {
                            self.json_literals.insert(key.clone());
                        }
                        if let Some(scoped) = d.get("@context") {
                            self.add_context(scoped, ours);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn collect(&mut self, value: &Value, ours: &[String]) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if key == "@context" {
                        self.add_context(v, ours);
                    } else {
                        self.collect(v, ours);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.collect(item, ours);
                }
            }
            _ => {}
        }
    }

    fn expands(&self, key: &str) -> bool {
        if self.terms.contains(key) || self.has_vocab {
            return true;
        }
        // A compact IRI or an absolute IRI: anything with a colon that is not a blank node.
        match key.split_once(':') {
            Some((prefix, _)) => !prefix.is_empty() && prefix != "_",
            None => false,
        }
    }
}

pub(crate) fn check_keys(document: &Value, ours: &[String]) -> Result<(), SyntaxError> {
    let mut definitions = Definitions::default();
    definitions.collect(document, ours);
    if let Some(iri) = definitions.remote {
        return Err(SyntaxError::RemoteContext(iri));
    }
    walk(document, &definitions, &mut String::new(), ours)
}

fn walk(
    value: &Value,
    defs: &Definitions,
    pointer: &mut String,
    ours: &[String],
) -> Result<(), SyntaxError> {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                walk(item, defs, pointer, ours)?;
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            if map.contains_key("@value") {
                return Ok(()); // a value object: its keys are keywords
            }
            for (key, v) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                if key.starts_with('@') {
                    match key.as_str() {
                        "@graph" | "@included" | "@list" | "@set" | "@reverse" | "@nest" => {
                            walk(v, defs, pointer, ours)?
                        }
                        _ => {}
                    }
                } else if !defs.expands(key) {
                    return Err(SyntaxError::UnknownKey {
                        key: key.clone(),
                        pointer: pointer.clone(),
                        context: ours.first().cloned().unwrap_or_default(),
                    });
                } else if defs.json_literals.contains(key) {
                    // JSON literal: opaque.
                } else if defs.map_containers.contains(key) {
                    if let Value::Object(entries) = v {
                        for entry in entries.values() {
                            walk(entry, defs, pointer, ours)?;
                        }
                    } else {
                        walk(v, defs, pointer, ours)?;
                    }
                } else {
                    walk(v, defs, pointer, ours)?;
                }
                pointer.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> Vec<String> {
        vec!["http://localhost/context.jsonld".into()]
    }

    #[test]
    fn language_maps_are_not_taken_for_properties() {
        let doc = json!({"@context": "http://localhost/context.jsonld", "prefLabel": {"en": "Rust", "fr": "Rust"}});
        check_keys(&doc, &ours()).expect("valid");
    }

    #[test]
    fn inline_prefixes_and_absolute_iris_are_accepted() {
        let doc = json!({"@context": {"foaf": "http://xmlns.com/foaf/0.1/"}, "foaf:name": "x", "http://schema.org/name": "y"});
        check_keys(&doc, &ours()).expect("valid");
    }

    #[test]
    fn nested_unknown_keys_are_found_with_their_pointer() {
        let doc = json!({"@context": "http://localhost/context.jsonld", "hasSkill": [{"skill": "x", "levle": "expert"}]});
        let err = check_keys(&doc, &ours()).unwrap_err();
        match err {
            SyntaxError::UnknownKey { key, pointer, .. } => {
                assert_eq!(key, "levle");
                assert_eq!(pointer, "/hasSkill/0/levle");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn without_any_context_plain_keys_are_rejected() {
        let doc = json!({"name": "Ada"});
        assert!(check_keys(&doc, &ours()).is_err());
    }
}
