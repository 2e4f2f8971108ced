//! Where coopdir's RDF lives: one named graph per resource, behind the [`GraphStore`]
//! trait so that the HTTP and LDP layers never see which engine holds the data.
//!
//! The embedded engine is oxigraph on disk ([`OxigraphStore`]). All calls are
//! synchronous; callers run them off the async executor. Oxigraph does not detect
//! write-write conflicts, so callers serialise read-modify-write sequences (the LDP layer
//! holds one writer lock).

use oxigraph::io::RdfFormat;
use oxigraph::model::{
    Graph, GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, QuadRef, Term, TermRef,
};
use oxigraph::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The graph holding server-private data (credentials); never exported or served.
pub const SYSTEM_GRAPH: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:system");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the data directory {0} is in use by another coopdir process (a running server?): stop it, or use the server's admin API with --server"
    )]
    Locked(PathBuf),
    #[error("cannot open the data directory {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("storage error: {0}")]
    Storage(#[from] oxigraph::store::StorageError),
    #[error("cannot read the input: {0}")]
    Load(#[from] oxigraph::store::LoaderError),
    #[error("cannot write the output: {0}")]
    Dump(#[from] oxigraph::store::SerializerError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Changes applied in one transaction: either all of them are stored, or none.
#[derive(Debug, Default, Clone)]
pub struct ChangeSet {
    /// Graphs whose whole content is replaced (created if absent).
    pub replace: Vec<(NamedNode, Graph)>,
    /// Graphs known not to exist yet: inserted without clearing first.
    pub create: Vec<(NamedNode, Graph)>,
    /// Graphs removed entirely.
    pub drop: Vec<NamedNode>,
    pub insert: Vec<Quad>,
    pub remove: Vec<Quad>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty()
            && self.create.is_empty()
            && self.drop.is_empty()
            && self.insert.is_empty()
            && self.remove.is_empty()
    }
}

/// A quad store holding one named graph per resource.
pub trait GraphStore: Send + Sync + 'static {
    /// The triples of graph `name` (empty when it does not exist).
    fn graph(&self, name: NamedNodeRef<'_>) -> Result<Graph, StoreError>;
    fn contains_graph(&self, name: NamedNodeRef<'_>) -> Result<bool, StoreError>;
    /// Objects of `subject predicate ?o` in graph `graph`.
    fn objects(
        &self,
        graph: NamedNodeRef<'_>,
        subject: NamedNodeRef<'_>,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Vec<Term>, StoreError>;
    /// Every quad whose object is `object`, in any graph.
    fn quads_with_object(&self, object: TermRef<'_>) -> Result<Vec<Quad>, StoreError>;
    /// Applies `changes` atomically and durably.
    fn apply(&self, changes: &ChangeSet) -> Result<(), StoreError>;
    /// Loads quads without a transaction (bulk import into a store nobody else writes to).
    fn bulk_load(&self, quads: Vec<Quad>) -> Result<(), StoreError>;
    /// Writes every graph but the system graph as N-Quads.
    fn dump_nquads(&self, out: &mut dyn Write) -> Result<(), StoreError>;
    /// Names of all graphs.
    fn graph_names(&self) -> Result<Vec<NamedOrBlankNode>, StoreError>;
    /// Number of quads (for progress and health).
    fn len(&self) -> Result<usize, StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// The embedded oxigraph store.
#[derive(Clone)]
pub struct OxigraphStore {
    store: Store,
}

impl OxigraphStore {
    /// Opens (or creates) the on-disk store in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Open {
            path: path.into(),
            message: e.to_string(),
        })?;
        match Store::open(path) {
            Ok(store) => Ok(Self { store }),
            Err(e) => {
                let message = e.to_string();
                if message.contains("LOCK") || message.contains("lock") {
                    Err(StoreError::Locked(path.into()))
                } else {
                    Err(StoreError::Open {
                        path: path.into(),
                        message,
                    })
                }
            }
        }
    }

    /// A store in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::new()?,
        })
    }

    /// The underlying oxigraph store (for SPARQL queries).
    pub fn inner(&self) -> &Store {
        &self.store
    }
}

impl GraphStore for OxigraphStore {
    fn graph(&self, name: NamedNodeRef<'_>) -> Result<Graph, StoreError> {
        let mut graph = Graph::new();
        for quad in
            self.store
                .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(name)))
        {
            let quad = quad?;
            graph.insert(quad.as_ref());
        }
        Ok(graph)
    }

    fn contains_graph(&self, name: NamedNodeRef<'_>) -> Result<bool, StoreError> {
        Ok(self
            .store
            .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(name)))
            .next()
            .transpose()?
            .is_some())
    }

    fn objects(
        &self,
        graph: NamedNodeRef<'_>,
        subject: NamedNodeRef<'_>,
        predicate: NamedNodeRef<'_>,
    ) -> Result<Vec<Term>, StoreError> {
        self.store
            .quads_for_pattern(
                Some(subject.into()),
                Some(predicate),
                None,
                Some(GraphNameRef::NamedNode(graph)),
            )
            .map(|q| Ok(q?.object))
            .collect()
    }

    fn quads_with_object(&self, object: TermRef<'_>) -> Result<Vec<Quad>, StoreError> {
        Ok(self
            .store
            .quads_for_pattern(None, None, Some(object), None)
            .collect::<Result<_, _>>()?)
    }

    fn apply(&self, changes: &ChangeSet) -> Result<(), StoreError> {
        let mut transaction = self.store.start_transaction()?;
        for name in &changes.drop {
            transaction.remove_named_graph(name)?;
        }
        for (name, graph) in &changes.replace {
            transaction.clear_graph(name)?;
            for t in graph.iter() {
                transaction.insert(t.in_graph(name));
            }
        }
        for (name, graph) in &changes.create {
            for t in graph.iter() {
                transaction.insert(t.in_graph(name));
            }
        }
        for quad in &changes.remove {
            transaction.remove(quad);
        }
        for quad in &changes.insert {
            transaction.insert(quad);
        }
        transaction.commit()?;
        Ok(())
    }

    fn bulk_load(&self, quads: Vec<Quad>) -> Result<(), StoreError> {
        let mut loader = self
            .store
            .bulk_loader()
            .with_max_memory_size_in_megabytes(512);
        loader.load_quads(quads)?;
        loader.commit()?;
        Ok(())
    }

    fn dump_nquads(&self, out: &mut dyn Write) -> Result<(), StoreError> {
        let mut writer =
            oxigraph::io::RdfSerializer::from_format(RdfFormat::NQuads).for_writer(out);
        for quad in self.store.iter() {
            let quad = quad?;
            if quad.graph_name.as_ref() == GraphNameRef::NamedNode(SYSTEM_GRAPH) {
                continue;
            }
            writer.serialize_quad(QuadRef::from(&quad))?;
        }
        writer.finish()?;
        Ok(())
    }

    fn graph_names(&self) -> Result<Vec<NamedOrBlankNode>, StoreError> {
        Ok(self.store.named_graphs().collect::<Result<_, _>>()?)
    }

    fn len(&self) -> Result<usize, StoreError> {
        Ok(self.store.len()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{Literal, Triple};

    fn n(s: &str) -> NamedNode {
        NamedNode::new_unchecked(s)
    }

    #[test]
    fn a_change_set_replaces_graphs_and_is_visible_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = OxigraphStore::open(dir.path()).expect("open");
            let mut g = Graph::new();
            g.insert(&Triple::new(
                n("http://x/a"),
                n("http://x/p"),
                Literal::from("1"),
            ));
            store
                .apply(&ChangeSet {
                    replace: vec![(n("http://x/a"), g)],
                    ..Default::default()
                })
                .expect("apply");
        }
        let store = OxigraphStore::open(dir.path()).expect("reopen");
        assert_eq!(
            store.graph(n("http://x/a").as_ref()).expect("graph").len(),
            1
        );
    }

    #[test]
    fn a_second_process_on_the_same_directory_is_told_the_store_is_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = OxigraphStore::open(dir.path()).expect("open");
        match OxigraphStore::open(dir.path()) {
            Err(StoreError::Locked(_)) => {}
            Err(other) => panic!("expected Locked, got {other}"),
            Ok(_) => panic!("opened twice"),
        }
    }
}
