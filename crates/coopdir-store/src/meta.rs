//! Facts about the store itself, kept in the system graph `urn:coopdir:server`: the base
//! URL its IRIs were minted under, so that a server started with another one stops
//! instead of serving empty containers.

use crate::{ChangeSet, GraphStore, StoreError};
use oxigraph::model::{Literal, NamedNodeRef, Quad, Term};

/// The system graph holding what the store knows about itself.
pub const SERVER_GRAPH: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:server");
const BASE_URL: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:baseUrl");

/// The base URL recorded in the store, if any.
pub fn base_url(store: &dyn GraphStore) -> Result<Option<String>, StoreError> {
    Ok(store
        .objects(SERVER_GRAPH, SERVER_GRAPH, BASE_URL)?
        .into_iter()
        .find_map(|term| match term {
            Term::Literal(l) => Some(l.value().to_owned()),
            _ => None,
        }))
}

/// The quad that records `base` as the store's base URL, for a write that carries it
/// (an import stores it with its data rather than in a write of its own after a bulk
/// load, which would wait for the store to compact what was loaded).
pub fn base_url_quad(base: &str) -> Quad {
    Quad::new(SERVER_GRAPH, BASE_URL, Literal::from(base), SERVER_GRAPH)
}

/// Records `base` as the store's base URL (no change-log record: it is not data).
pub fn record_base_url(store: &dyn GraphStore, base: &str) -> Result<(), StoreError> {
    let mut changes = ChangeSet::default();
    for old in store.objects(SERVER_GRAPH, SERVER_GRAPH, BASE_URL)? {
        changes
            .remove
            .push(Quad::new(SERVER_GRAPH, BASE_URL, old, SERVER_GRAPH));
    }
    changes.insert.push(base_url_quad(base));
    store.apply(&changes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OxigraphStore;

    #[test]
    fn the_base_url_is_kept_across_reopening_and_adds_no_change_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = OxigraphStore::open(dir.path()).expect("open");
            assert_eq!(base_url(&store).expect("read"), None);
            record_base_url(&store, "https://a.example/").expect("record");
            record_base_url(&store, "https://b.example/").expect("record");
            assert_eq!(store.head(), 0);
        }
        let store = OxigraphStore::open(dir.path()).expect("reopen");
        assert_eq!(
            base_url(&store).expect("read").as_deref(),
            Some("https://b.example/")
        );
    }
}
