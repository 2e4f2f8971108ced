//! How accounts, tokens, sessions and invitations are kept: each in a system graph of
//! its own (`urn:coopdir:KIND:ID`) holding one JSON literal, so that they live in the same
//! store and transactions as the data (and on a remote SPARQL store too), yet are never
//! served, federated, or exported but for backups.

use coopdir_store::{ChangeSet, GraphStore, StoreError};
use oxigraph::model::{Graph, Literal, NamedNode, Term, Triple};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A record kept in a system graph of its own.
pub trait Stored: Serialize + DeserializeOwned {
    /// `account`, `token`, `session`, `invitation`.
    const KIND: &'static str;
    fn id(&self) -> &str;
}

pub fn graph_name(kind: &str, id: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("urn:coopdir:{kind}:{id}"))
}

fn data_predicate(kind: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("urn:coopdir:{kind}Data"))
}

/// Adds the (re)writing of `record` to `changes`.
pub fn put<T: Stored>(changes: &mut ChangeSet, record: &T) -> Result<(), StoreError> {
    let name = graph_name(T::KIND, record.id());
    let json = serde_json::to_string(record)
        .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
    let mut graph = Graph::new();
    graph.insert(&Triple::new(
        name.clone(),
        data_predicate(T::KIND),
        Literal::from(json),
    ));
    changes.replace.push((name, graph));
    Ok(())
}

pub fn remove<T: Stored>(changes: &mut ChangeSet, id: &str) {
    changes.drop.push(graph_name(T::KIND, id));
}

/// Every stored record of kind `T`; unreadable ones are logged and skipped.
pub fn load_all<T: Stored>(store: &dyn GraphStore) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for quad in store.quads_with_predicate(data_predicate(T::KIND).as_ref())? {
        if let Term::Literal(l) = &quad.object {
            match serde_json::from_str(l.value()) {
                Ok(record) => out.push(record),
                Err(e) => {
                    tracing::error!(graph = %quad.graph_name, error = %e, "unreadable {} record skipped", T::KIND)
                }
            }
        }
    }
    Ok(out)
}
