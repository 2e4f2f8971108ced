//! Compacting a graph into JSON-LD with our published context.
//!
//! No maintained Rust crate compacts RDF with a given context (see
//! `shared/design/dependencies.md`), so this writes compacted JSON-LD directly for our
//! fixed context: the term tables are read from the context itself, so the two cannot
//! drift apart. Every value that no term fits is written with a compact IRI key and an
//! expanded value, so nothing is ever lost; the tests expand the output with oxigraph's
//! JSON-LD processor and compare graphs.

use oxrdf::vocab::{rdf, xsd};
use oxrdf::{
    BlankNode, Graph, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Coercion {
    None,
    Id,
    Datatype(String),
}

#[derive(Debug, Clone)]
struct TermDefinition {
    name: String,
    coercion: Coercion,
    set: bool,
    language_map: bool,
}

struct Tables {
    /// Property IRI → term definitions for it.
    properties: HashMap<String, Vec<TermDefinition>>,
    /// Class IRI → term.
    classes: HashMap<String, String>,
    /// (prefix, namespace) pairs, longest namespace first.
    prefixes: Vec<(String, String)>,
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let document: Value = serde_json::from_str(coopdir_vocab::CONTEXT).unwrap_or(Value::Null);
        let context = document
            .get("@context")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut prefixes = Vec::new();
        for (key, value) in &context {
            if let Value::String(ns) = value
                && (ns.ends_with('/') || ns.ends_with('#'))
            {
                prefixes.push((key.clone(), ns.clone()));
            }
        }
        prefixes.sort_by_key(|(_, ns)| std::cmp::Reverse(ns.len()));
        let expand = |s: &str| -> String {
            if let Some((prefix, local)) = s.split_once(':')
                && let Some((_, ns)) = prefixes.iter().find(|(p, _)| p == prefix)
            {
                return format!("{ns}{local}");
            }
            s.to_owned()
        };
        let mut properties: HashMap<String, Vec<TermDefinition>> = HashMap::new();
        let mut classes = HashMap::new();
        for (key, value) in &context {
            if key.starts_with('@') || prefixes.iter().any(|(p, _)| p == key) {
                continue;
            }
            match value {
                Value::String(s) if s.starts_with('@') => {}
                Value::String(s) => {
                    let iri = expand(s);
                    // Capitalised terms name classes; the others are untyped properties.
                    if key.chars().next().is_some_and(char::is_uppercase) {
                        classes.insert(iri, key.clone());
                    } else {
                        properties.entry(iri).or_default().push(TermDefinition {
                            name: key.clone(),
                            coercion: Coercion::None,
                            set: false,
                            language_map: false,
                        });
                    }
                }
                Value::Object(def) => {
                    let Some(id) = def.get("@id").and_then(Value::as_str) else {
                        continue;
                    };
                    let coercion = match def.get("@type").and_then(Value::as_str) {
                        Some("@id") => Coercion::Id,
                        Some(t) => Coercion::Datatype(expand(t)),
                        None => Coercion::None,
                    };
                    let container = def.get("@container").and_then(Value::as_str);
                    properties
                        .entry(expand(id))
                        .or_default()
                        .push(TermDefinition {
                            name: key.clone(),
                            coercion,
                            set: container == Some("@set"),
                            language_map: container == Some("@language"),
                        });
                }
                _ => {}
            }
        }
        Tables {
            properties,
            classes,
            prefixes,
        }
    })
}

fn compact_iri(iri: &str) -> String {
    for (prefix, ns) in &tables().prefixes {
        if let Some(local) = iri.strip_prefix(ns.as_str())
            && !local.is_empty()
            && !local.starts_with('/')
        {
            return format!("{prefix}:{local}");
        }
    }
    iri.to_owned()
}

struct Writer<'a> {
    graph: &'a Graph,
    /// Described resources the root links to (container members): embedded in the root.
    embedded_named: HashSet<NamedNode>,
    /// Blank nodes written inside the one node that refers to them.
    embedded: HashMap<BlankNode, ()>,
    labels: HashMap<BlankNode, String>,
}

impl Writer<'_> {
    fn bnode_label(&mut self, b: &BlankNode) -> String {
        let next = self.labels.len();
        self.labels
            .entry(b.clone())
            .or_insert_with(|| format!("_:b{next}"))
            .clone()
    }

    fn id(&mut self, node: NamedOrBlankNodeRef<'_>) -> String {
        match node {
            NamedOrBlankNodeRef::NamedNode(n) => n.as_str().to_owned(),
            NamedOrBlankNodeRef::BlankNode(b) => self.bnode_label(&b.into_owned()),
        }
    }

    fn node(&mut self, subject: NamedOrBlankNodeRef<'_>, depth: usize) -> Map<String, Value> {
        let t = tables();
        let mut object = Map::new();
        let is_embedded_bnode = matches!(subject, NamedOrBlankNodeRef::BlankNode(b) if self.embedded.contains_key(&b.into_owned()));
        if !is_embedded_bnode {
            let id = self.id(subject);
            object.insert("id".into(), Value::String(id));
        }
        let mut types: Vec<String> = self
            .graph
            .objects_for_subject_predicate(subject, rdf::TYPE)
            .filter_map(|o| match o {
                TermRef::NamedNode(n) => Some(
                    t.classes
                        .get(n.as_str())
                        .cloned()
                        .unwrap_or_else(|| compact_iri(n.as_str())),
                ),
                _ => None,
            })
            .collect();
        types.sort();
        match types.len() {
            0 => {}
            1 => {
                object.insert("type".into(), Value::String(types.remove(0)));
            }
            _ => {
                object.insert(
                    "type".into(),
                    Value::Array(types.into_iter().map(Value::String).collect()),
                );
            }
        }

        // predicate IRI → its objects, in a stable order.
        let mut by_predicate: BTreeMap<String, Vec<Term>> = BTreeMap::new();
        for triple in self.graph.triples_for_subject(subject) {
            if triple.predicate == rdf::TYPE && triple.object.is_named_node() {
                continue;
            }
            by_predicate
                .entry(triple.predicate.as_str().to_owned())
                .or_default()
                .push(triple.object.into_owned());
        }
        let mut entries: BTreeMap<String, Value> = BTreeMap::new();
        for (predicate, mut objects) in by_predicate {
            objects.sort_by_key(Term::to_string);
            let definitions = t
                .properties
                .get(&predicate)
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // key → values written under that key (set-ness decided per key).
            let mut keyed: BTreeMap<String, (bool, Vec<Value>)> = BTreeMap::new();
            let mut language_maps: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
            for o in objects {
                let choice = definitions.iter().find(|d| fits(d, &o));
                match choice {
                    Some(d) if d.language_map => {
                        if let Term::Literal(l) = &o {
                            language_maps
                                .entry(d.name.clone())
                                .or_default()
                                .entry(l.language().unwrap_or_default().to_owned())
                                .or_default()
                                .push(Value::String(l.value().to_owned()));
                        }
                    }
                    Some(d) => {
                        let coerced = d.coercion == Coercion::Id;
                        let value = match &o {
                            Term::Literal(l) => literal_value(l.value(), &d.coercion),
                            Term::NamedNode(n) if depth == 0 && self.embedded_named.remove(n) => {
                                Value::Object(self.node(n.as_ref().into(), depth + 1))
                            }
                            Term::NamedNode(n) if coerced => Value::String(n.as_str().to_owned()),
                            Term::NamedNode(n) => id_object(n.as_str().to_owned()),
                            Term::BlankNode(b) => match self.object_value(b, depth) {
                                Value::String(label) if !coerced => id_object(label),
                                other => other,
                            },
                        };
                        keyed
                            .entry(d.name.clone())
                            .or_insert((d.set, Vec::new()))
                            .1
                            .push(value);
                    }
                    None => {
                        let value = match &o {
                            Term::NamedNode(n) => id_object(n.as_str().to_owned()),
                            Term::BlankNode(b) => match self.object_value(b, depth) {
                                Value::String(label) => id_object(label),
                                embedded => embedded,
                            },
                            Term::Literal(l) => {
                                let mut m = Map::new();
                                m.insert("@value".into(), Value::String(l.value().to_owned()));
                                if let Some(lang) = l.language() {
                                    m.insert("@language".into(), Value::String(lang.to_owned()));
                                } else if l.datatype() != xsd::STRING {
                                    m.insert(
                                        "@type".into(),
                                        Value::String(compact_iri(l.datatype().as_str())),
                                    );
                                }
                                if m.len() == 1 {
                                    m.remove("@value").unwrap_or(Value::Null)
                                } else {
                                    Value::Object(m)
                                }
                            }
                        };
                        keyed
                            .entry(compact_iri(&predicate))
                            .or_insert((false, Vec::new()))
                            .1
                            .push(value);
                    }
                }
            }
            for (key, (set, mut values)) in keyed {
                let value = if values.len() == 1 && !set {
                    values.remove(0)
                } else {
                    Value::Array(values)
                };
                entries.insert(key, value);
            }
            for (key, langs) in language_maps {
                let map: Map<String, Value> = langs
                    .into_iter()
                    .map(|(lang, mut vs)| {
                        let v = if vs.len() == 1 {
                            vs.remove(0)
                        } else {
                            Value::Array(vs)
                        };
                        (lang, v)
                    })
                    .collect();
                entries.insert(key, Value::Object(map));
            }
        }
        object.extend(entries);
        object
    }

    /// A blank node as an object: embedded when it is referred to once, else by label.
    fn object_value(&mut self, b: &BlankNode, depth: usize) -> Value {
        if self.embedded.contains_key(b) && depth < 16 {
            Value::Object(self.node(b.as_ref().into(), depth + 1))
        } else {
            Value::String(self.bnode_label(b))
        }
    }
}

/// The value of a literal under a term that coerces it: canonical integers become JSON
/// numbers (friendlier to JavaScript clients, and they expand back to the same literal).
fn literal_value(lexical: &str, coercion: &Coercion) -> Value {
    if let Coercion::Datatype(dt) = coercion
        && dt == xsd::INTEGER.as_str()
        && let Ok(n) = lexical.parse::<i64>()
        && n.to_string() == lexical
        && n.unsigned_abs() < (1 << 53)
    {
        return Value::from(n);
    }
    Value::String(lexical.to_owned())
}

fn id_object(id: String) -> Value {
    let mut m = Map::new();
    m.insert("@id".into(), Value::String(id));
    Value::Object(m)
}

fn fits(definition: &TermDefinition, object: &Term) -> bool {
    match object {
        Term::NamedNode(_) | Term::BlankNode(_) => {
            !definition.language_map && !matches!(definition.coercion, Coercion::Datatype(_))
        }
        Term::Literal(l) => {
            if definition.language_map {
                return l.language().is_some();
            }
            match &definition.coercion {
                Coercion::Id => false,
                Coercion::Datatype(dt) => l.language().is_none() && l.datatype().as_str() == dt,
                Coercion::None => l.language().is_none() && l.datatype() == xsd::STRING,
            }
        }
    }
}

/// Writes `graph` as JSON-LD compacted with the context at `context_iri`. `root`, when
/// given, is written first (and alone at the top level when nothing else needs to be).
pub fn compact(graph: &Graph, root: Option<NamedNodeRef<'_>>, context_iri: &str) -> Value {
    // Blank nodes that are the object of exactly one triple (and not their own ancestor)
    // are embedded where they are referred to.
    let mut references: HashMap<BlankNode, usize> = HashMap::new();
    for t in graph.iter() {
        if let TermRef::BlankNode(b) = t.object {
            *references.entry(b.into_owned()).or_insert(0) += 1;
        }
    }
    let embedded: HashMap<BlankNode, ()> = references
        .into_iter()
        .filter(|(b, count)| *count == 1 && !is_cyclic(graph, b))
        .map(|(b, _)| (b, ()))
        .collect();

    let mut subjects: Vec<NamedOrBlankNode> = Vec::new();
    for t in graph.iter() {
        let s = t.subject.into_owned();
        if !subjects.contains(&s) {
            subjects.push(s);
        }
    }
    subjects.retain(|s| !matches!(s, NamedOrBlankNode::BlankNode(b) if embedded.contains_key(b)));
    // Resources the root links to and that the graph describes (a container's members)
    // are embedded where the root refers to them.
    let embedded_named: HashSet<NamedNode> = match root {
        Some(r) => graph
            .triples_for_subject(r)
            .filter_map(|t| match t.object {
                TermRef::NamedNode(n)
                    if n != r && graph.triples_for_subject(n).next().is_some() =>
                {
                    Some(n.into_owned())
                }
                _ => None,
            })
            .collect(),
        None => HashSet::new(),
    };
    subjects.retain(|s| !matches!(s, NamedOrBlankNode::NamedNode(n) if embedded_named.contains(n)));
    subjects.sort_by_key(|s| {
        let is_root =
            matches!((s, root), (NamedOrBlankNode::NamedNode(n), Some(r)) if n.as_ref() == r);
        (!is_root, s.to_string())
    });

    let mut writer = Writer {
        graph,
        embedded_named,
        embedded,
        labels: HashMap::new(),
    };
    let mut nodes: Vec<Map<String, Value>> = subjects
        .iter()
        .map(|s| writer.node(s.as_ref(), 0))
        .collect();
    let mut document = Map::new();
    document.insert("@context".into(), Value::String(context_iri.to_owned()));
    match nodes.len() {
        0 => {
            if let Some(r) = root {
                document.insert("id".into(), Value::String(r.as_str().to_owned()));
            }
        }
        1 => document.extend(nodes.remove(0)),
        _ => {
            document.insert(
                "@graph".into(),
                Value::Array(nodes.into_iter().map(Value::Object).collect()),
            );
        }
    }
    Value::Object(document)
}

fn is_cyclic(graph: &Graph, start: &BlankNode) -> bool {
    let mut stack = vec![start.clone()];
    let mut seen = std::collections::HashSet::new();
    while let Some(b) = stack.pop() {
        if !seen.insert(b.clone()) {
            continue;
        }
        for o in graph
            .objects_for_subject_predicate(&b, rdf::TYPE)
            .chain(graph.triples_for_subject(&b).map(|t| t.object))
        {
            if let TermRef::BlankNode(next) = o {
                if next == start.as_ref() {
                    return true;
                }
                stack.push(next.into_owned());
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InputFormat, parse_graph};
    use oxrdf::dataset::CanonicalizationAlgorithm;

    const CONTEXT: &str = "http://localhost/context.jsonld";

    fn turtle(text: &str) -> Graph {
        parse_graph(
            text.as_bytes(),
            InputFormat::Turtle,
            "http://localhost/",
            &[],
        )
        .expect("turtle")
    }

    /// Expands our output with oxigraph's JSON-LD processor (an independent
    /// implementation) and checks that the graph is the one we started from.
    fn assert_round_trips(graph: &Graph, root: Option<NamedNodeRef<'_>>) -> Value {
        let json = compact(graph, root, CONTEXT);
        let bytes = serde_json::to_vec(&json).expect("serialises");
        let mut back = parse_graph(
            &bytes,
            InputFormat::JsonLd,
            "http://localhost/",
            &[CONTEXT.to_owned()],
        )
        .unwrap_or_else(|e| panic!("our output does not parse: {e}\n{json:#}"));
        let mut expected = graph.clone();
        back.canonicalize(CanonicalizationAlgorithm::Unstable);
        expected.canonicalize(CanonicalizationAlgorithm::Unstable);
        assert_eq!(back, expected, "output was {json:#}");
        json
    }

    #[test]
    fn a_worker_compacts_to_short_terms_and_expands_back_to_the_same_graph() {
        let g = turtle(
            r#"
            @prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
            @prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix dcterms: <http://purl.org/dc/terms/> .
            <workers/ada> a schema:Person ; schema:name "Ada" ; schema:memberOf <coops/a> ;
              schema:knowsAbout <skills/rust>, <skills/go> ;
              dir:hasSkill [ dir:skill <skills/rust> ; dir:level "expert" ; dir:years 7 ] ;
              dir:hoursPerWeek 20 ; dir:availableFrom "2026-01-05"^^xsd:date ;
              dcterms:created "2026-11-25T10:00:00Z"^^xsd:dateTime .
        "#,
        );
        let root = NamedNodeRef::new_unchecked("http://localhost/workers/ada");
        let json = assert_round_trips(&g, Some(root));
        assert_eq!(json["type"], "Worker");
        assert_eq!(json["name"], "Ada");
        assert_eq!(
            json["memberOf"],
            serde_json::json!(["http://localhost/coops/a"])
        );
        assert_eq!(json["hasSkill"][0]["level"], "expert");
        assert_eq!(json["hasSkill"][0]["years"], 7);
        assert_eq!(json["availableFrom"], "2026-01-05");
    }

    #[test]
    fn values_no_term_fits_keep_their_full_meaning() {
        let g = turtle(
            r#"
            @prefix schema: <http://schema.org/> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
            <s> a skos:Concept ; skos:prefLabel "Rust"@en, "Rust"@fr ; skos:altLabel "rustlang"@en, "rs"@en ;
              schema:name "Name in Welsh"@cy ; schema:name 42 ; <http://example.org/custom> <o>, "x" ;
              schema:url "not an IRI" ; <https://w3id.org/coopdir#hoursPerWeek> "007"^^<http://www.w3.org/2001/XMLSchema#integer> .
        "#,
        );
        let json = assert_round_trips(&g, Some(NamedNodeRef::new_unchecked("http://localhost/s")));
        assert_eq!(json["prefLabel"]["fr"], "Rust");
        assert_eq!(
            json["altLabel"]["en"],
            serde_json::json!(["rs", "rustlang"])
        );
    }

    #[test]
    fn container_members_are_embedded_in_the_container() {
        let g = turtle(
            r#"
            @prefix ldp: <http://www.w3.org/ns/ldp#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
            <skills/> a ldp:BasicContainer ; ldp:contains <skills/a>, <skills/b> .
            <skills/a> a skos:Concept ; skos:prefLabel "A"@en .
            <skills/b> a skos:Concept ; skos:prefLabel "B"@en ; skos:broader <skills/a> .
        "#,
        );
        let json = assert_round_trips(
            &g,
            Some(NamedNodeRef::new_unchecked("http://localhost/skills/")),
        );
        assert!(json.get("@graph").is_none(), "{json:#}");
        assert_eq!(json["contains"][0]["prefLabel"]["en"], "A");
        assert_eq!(
            json["contains"][1]["broader"],
            serde_json::json!(["http://localhost/skills/a"])
        );
    }

    #[test]
    fn shared_and_cyclic_blank_nodes_and_several_subjects_round_trip() {
        let g = turtle(
            r#"
            @prefix schema: <http://schema.org/> .
            <a> schema:member _:x . <b> schema:member _:x . _:x schema:name "shared" .
            _:c schema:member _:d . _:d schema:member _:c .
        "#,
        );
        assert_round_trips(&g, None);
    }
}
