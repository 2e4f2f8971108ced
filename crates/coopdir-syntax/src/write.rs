//! Writing graphs as Turtle, N-Triples or compacted JSON-LD.

use oxrdf::{Graph, NamedNodeRef, TripleRef};
use oxttl::{NTriplesSerializer, TurtleSerializer};

use crate::{PREFIXES, compact};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    JsonLd,
    Turtle,
    NTriples,
}

/// Triples sorted for people: the root's first, then by subject, predicate and object.
fn sorted<'a>(graph: &'a Graph, root: Option<NamedNodeRef<'_>>) -> Vec<TripleRef<'a>> {
    let mut triples: Vec<TripleRef<'a>> = graph.iter().collect();
    triples.sort_by_cached_key(|t| {
        let is_root = root.is_some_and(|r| t.subject == r.into());
        // Within a subject, its types come first.
        let predicate = if t.predicate == oxrdf::vocab::rdf::TYPE {
            String::new()
        } else {
            t.predicate.as_str().to_owned()
        };
        (
            !is_root,
            t.subject.is_blank_node(),
            t.subject.to_string(),
            predicate,
            t.object.to_string(),
        )
    });
    triples
}

/// Serialises `graph`; `root` is the resource the document is about.
pub fn write_graph(
    graph: &Graph,
    format: OutputFormat,
    root: Option<NamedNodeRef<'_>>,
    context_iri: &str,
) -> Vec<u8> {
    match format {
        OutputFormat::JsonLd => {
            let value = compact(graph, root, context_iri);
            let mut out = serde_json::to_vec(&value).unwrap_or_default();
            out.push(b'\n');
            out
        }
        OutputFormat::Turtle => {
            let mut serializer = TurtleSerializer::new();
            for (prefix, ns) in PREFIXES {
                // The prefixes are constants, so this cannot fail.
                if let Ok(s) = serializer.clone().with_prefix(*prefix, *ns) {
                    serializer = s;
                }
            }
            let mut writer = serializer.for_writer(Vec::new());
            for t in sorted(graph, root) {
                // Writing into a Vec cannot fail.
                let _ = writer.serialize_triple(t);
            }
            writer.finish().unwrap_or_default()
        }
        OutputFormat::NTriples => {
            let mut writer = NTriplesSerializer::new().for_writer(Vec::new());
            for t in sorted(graph, root) {
                let _ = writer.serialize_triple(t);
            }
            writer.finish()
        }
    }
}
