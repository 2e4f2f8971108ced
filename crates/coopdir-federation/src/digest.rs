//! Per-origin digests: a count and a hash over the sorted `(IRI, sequence, content
//! hash)` entries of every public resource of an origin, where the content hash is
//! SHA-256 over the RDFC-1.0 canonical N-Triples of the resource's public graph. Two
//! servers computing it for the same origin agree exactly when they hold the same
//! resources at the same versions with the same content.

use coopdir_ldp::Directory;
use oxigraph::model::{Graph, NamedNode};
use oxrdf::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::FederationError;
use crate::outbox::Outbox;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginDigest {
    pub origin: String,
    pub resources: usize,
    /// Hex SHA-256.
    pub digest: String,
}

/// SHA-256 (hex) of the RDFC-1.0 canonical form of `graph`.
pub fn content_hash(graph: &Graph) -> String {
    let mut graph = graph.clone();
    graph.canonicalize(CanonicalizationAlgorithm::Rdfc10 {
        hash_algorithm: CanonicalizationHashAlgorithm::Sha256,
    });
    let mut lines: Vec<String> = graph.iter().map(|t| format!("{t} .\n")).collect();
    lines.sort_unstable();
    hex::encode(Sha256::digest(lines.concat().as_bytes()))
}

fn finish(origin: &str, mut entries: Vec<(String, u64, String)>) -> OriginDigest {
    entries.sort();
    let mut hasher = Sha256::new();
    for (iri, seq, hash) in &entries {
        hasher.update(format!("{iri} {seq} {hash}\n").as_bytes());
    }
    OriginDigest {
        origin: origin.to_owned(),
        resources: entries.len(),
        digest: hex::encode(hasher.finalize()),
    }
}

/// Our own public data, as our outbox publishes it.
pub fn local(directory: &Directory, outbox: &Outbox) -> Result<OriginDigest, FederationError> {
    let mut entries = Vec::new();
    for (iri, seq) in outbox.public_entries() {
        let Ok(node) = NamedNode::new(&iri) else {
            continue;
        };
        if let Some(graph) = directory.public_graph(&node)? {
            entries.push((iri, seq, content_hash(&graph)));
        }
    }
    Ok(finish(directory.paths().base(), entries))
}

/// What we hold of `origin`.
pub fn replica(directory: &Directory, origin: &str) -> Result<OriginDigest, FederationError> {
    let mut entries = Vec::new();
    for entry in directory.replica_entries(origin)? {
        if entry.deleted {
            continue;
        }
        let graph = directory.store().graph(entry.iri.as_ref())?;
        if !graph.is_empty() {
            entries.push((
                entry.iri.as_str().to_owned(),
                entry.seq,
                content_hash(&graph),
            ));
        }
    }
    Ok(finish(origin, entries))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{BlankNode, Literal, Triple};

    #[test]
    fn the_content_hash_ignores_blank_node_labels_and_order_but_not_content() {
        let s = NamedNode::new_unchecked("http://a/workers/x");
        let p = NamedNode::new_unchecked("http://schema.org/knows");
        let name = NamedNode::new_unchecked("http://schema.org/name");
        let mut one = Graph::new();
        let b1 = BlankNode::new_unchecked("b1");
        one.insert(&Triple::new(s.clone(), p.clone(), b1.clone()));
        one.insert(&Triple::new(b1, name.clone(), Literal::from("Ada")));
        let mut two = Graph::new();
        let b2 = BlankNode::new_unchecked("other");
        two.insert(&Triple::new(b2.clone(), name.clone(), Literal::from("Ada")));
        two.insert(&Triple::new(s.clone(), p.clone(), b2));
        assert_eq!(content_hash(&one), content_hash(&two));
        let mut three = Graph::new();
        let b3 = BlankNode::default();
        three.insert(&Triple::new(s, p, b3.clone()));
        three.insert(&Triple::new(b3, name, Literal::from("Bob")));
        assert_ne!(content_hash(&one), content_hash(&three));
    }
}
