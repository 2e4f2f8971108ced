//! Where coopdir's RDF lives: one named graph per resource, behind the [`GraphStore`]
//! trait so that the HTTP and LDP layers never see which engine holds the data, and the
//! [change log](changes) written in the same transactions.
//!
//! The embedded engine is oxigraph on disk ([`OxigraphStore`]). All calls are
//! synchronous; callers run them off the async executor. Oxigraph does not detect
//! write-write conflicts, so callers serialise read-modify-write sequences (the LDP layer
//! holds one writer lock).

use oxigraph::io::RdfFormat;
pub mod changes;
pub mod consumer;
pub mod meta;

pub use changes::{Actor, Change, ChangeRecord, LOG_GRAPH, Operation, account_key};

use oxigraph::model::{
    Graph, GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, QuadRef, Term, TermRef,
};
use oxigraph::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Graphs named `urn:coopdir:…` hold server-private data (accounts, credentials, the
/// change log): never served as data, never exported but for backups, never federated.
pub const SYSTEM_PREFIX: &str = "urn:coopdir:";
/// System graphs that not even a backup holds (live sessions).
pub const EPHEMERAL_PREFIX: &str = "urn:coopdir:session:";

pub fn is_system_graph(name: &str) -> bool {
    name.starts_with(SYSTEM_PREFIX)
}

/// The change log's secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogIndex {
    About,
    By,
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpScope {
    /// The directory's data only.
    Data,
    /// Data plus accounts, token hashes, invitations and the change log (not sessions).
    Backup,
}

impl DumpScope {
    fn includes(self, graph: GraphNameRef<'_>) -> bool {
        match graph {
            GraphNameRef::NamedNode(n) => {
                let name = n.as_str();
                if !is_system_graph(name) {
                    true
                } else {
                    self == DumpScope::Backup && !name.starts_with(EPHEMERAL_PREFIX)
                }
            }
            _ => true,
        }
    }
}

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
    /// Change-log records of this write, numbered by the store on commit.
    pub records: Vec<ChangeRecord>,
}

impl ChangeSet {
    pub fn is_empty(&self) -> bool {
        self.replace.is_empty()
            && self.create.is_empty()
            && self.drop.is_empty()
            && self.insert.is_empty()
            && self.remove.is_empty()
            && self.records.is_empty()
    }

    /// Adds `other`'s changes to these (applied in the same transaction).
    pub fn merge(&mut self, other: ChangeSet) {
        self.replace.extend(other.replace);
        self.create.extend(other.create);
        self.drop.extend(other.drop);
        self.insert.extend(other.insert);
        self.remove.extend(other.remove);
        self.records.extend(other.records);
    }
}

/// A bulk load in progress (see [`GraphStore::bulk_loader`]). Dropped without a commit,
/// it leaves the store as it was.
pub trait BulkLoad {
    /// Adds quads and their change-log records, numbered after those loaded before.
    fn load(&mut self, quads: Vec<Quad>, records: Vec<ChangeRecord>) -> Result<(), StoreError>;
    /// Makes everything loaded visible; returns the change log's new head.
    fn commit(self: Box<Self>) -> Result<u64, StoreError>;
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
    /// Every quad whose predicate is `predicate`, in any graph.
    fn quads_with_predicate(&self, predicate: NamedNodeRef<'_>) -> Result<Vec<Quad>, StoreError>;
    /// Applies `changes` and their change-log records atomically and durably; returns the
    /// log's head sequence after the commit.
    fn apply(&self, changes: &ChangeSet) -> Result<u64, StoreError>;
    /// Starts a bulk load: quads written without a transaction (import into a store that
    /// holds none of them and that nobody else writes to meanwhile), batch after batch,
    /// all made visible at once by [`BulkLoad::commit`]. The log's head stays locked
    /// until then: [`head`](Self::head) and commits wait for the load.
    fn bulk_loader(&self) -> Box<dyn BulkLoad + '_>;
    /// Loads quads and their change-log records in one bulk load; returns the head after.
    fn bulk_load(&self, quads: Vec<Quad>, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        let mut loader = self.bulk_loader();
        loader.load(quads, records)?;
        loader.commit()
    }
    /// Writes the graphs `scope` covers as N-Quads.
    fn dump_nquads(&self, out: &mut dyn Write, scope: DumpScope) -> Result<(), StoreError>;
    /// The sequence number of the newest change-log record (0: none yet).
    fn head(&self) -> u64;
    /// A doorbell that carries the head after every commit; the log stays the truth.
    fn subscribe(&self) -> watch::Receiver<u64>;
    /// Change-log record `seq`, if it exists.
    fn change(&self, seq: u64) -> Result<Option<Change>, StoreError>;
    /// Records after `after`, oldest first, at most `limit`: `limit` key lookups.
    fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let head = self.head();
        let mut out = Vec::new();
        let mut seq = after;
        while seq < head && out.len() < limit {
            seq += 1;
            if let Some(change) = self.change(seq)? {
                out.push(change);
            }
        }
        Ok(out)
    }
    /// Sequence numbers, ascending, of the records about the resource `key`
    /// ([`LogIndex::About`]) or made by the account or credential whose audit key is
    /// `key` ([`LogIndex::By`]): one index range, as long as its result.
    fn changes_indexed(&self, index: LogIndex, key: &str) -> Result<Vec<u64>, StoreError>;
    /// Names of all graphs.
    fn graph_names(&self) -> Result<Vec<NamedOrBlankNode>, StoreError>;
    /// Number of quads (for progress and health).
    fn len(&self) -> Result<usize, StoreError>;
    /// Writes a consistent snapshot of the store, change log included, into the new
    /// directory `to`, while writes go on.
    fn backup(&self, to: &Path) -> Result<(), StoreError>;
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
}

/// The embedded oxigraph store.
#[derive(Clone)]
pub struct OxigraphStore {
    store: Store,
    log: Arc<LogHead>,
}

/// The head of the change log. Its lock is held across each commit, so sequence numbers
/// are handed out in commit order.
struct LogHead {
    head: Mutex<u64>,
    doorbell: watch::Sender<u64>,
}

impl LogHead {
    fn new(head: u64) -> Self {
        Self {
            head: Mutex::new(head),
            doorbell: watch::Sender::new(head),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        // A panic mid-commit leaves the stored head as it was; the value here follows it.
        self.head
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OxigraphStore {
    /// Opens (or creates) the on-disk store in `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|e| StoreError::Open {
            path: path.into(),
            message: e.to_string(),
        })?;
        match Store::open(path) {
            Ok(store) => Self::with_log(store),
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
        Self::with_log(Store::new()?)
    }

    /// Finds the log's head: records are numbered without holes, so it is the last number
    /// that has a record, found by doubling then bisecting (about 2·log₂ N lookups). No
    /// head is stored, which spares every write two more quads.
    fn with_log(store: Store) -> Result<Self, StoreError> {
        let mut present = 0u64;
        let mut absent = 1u64;
        while has_record(&store, absent)? {
            present = absent;
            absent = absent.saturating_mul(2);
        }
        while absent - present > 1 {
            let middle = present + (absent - present) / 2;
            if has_record(&store, middle)? {
                present = middle;
            } else {
                absent = middle;
            }
        }
        let head = present;
        Ok(Self {
            store,
            log: Arc::new(LogHead::new(head)),
        })
    }

    /// The underlying oxigraph store (for SPARQL queries).
    pub fn inner(&self) -> &Store {
        &self.store
    }
}

fn has_record(store: &Store, seq: u64) -> Result<bool, StoreError> {
    let subject = changes::record_subject(seq);
    Ok(store
        .quads_for_pattern(
            Some(subject.as_ref().into()),
            Some(changes::RECORD),
            None,
            Some(LOG_GRAPH.into()),
        )
        .next()
        .transpose()?
        .is_some())
}

/// Memory oxigraph's bulk loader may use for the batch it sorts into files. One thread
/// builds them: the importer keeps the other core busy preparing and validating the next
/// partitions, and two batches in flight would double the memory (measured: 937 MB peak
/// for 100,000 workers with two, against the 1 GB target).
const BULK_LOAD_MEMORY_MB: usize = 256;
const BULK_LOAD_THREADS: usize = 1;

/// A bulk load into the embedded store: oxigraph writes each batch into sorted files on a
/// thread of its own while the caller prepares the next, and ingests them all at commit.
struct OxigraphBulkLoad<'a> {
    head: std::sync::MutexGuard<'a, u64>,
    doorbell: &'a watch::Sender<u64>,
    loader: oxigraph::store::BulkLoader<'a>,
    /// Quads gathered into one batch of [`BULK_BATCH_QUADS`]: each batch becomes one set of
    /// files, and many small sets make the final ingestion slow.
    pending: Vec<Quad>,
    records: u64,
}

/// Quads per batch handed to oxigraph's bulk loader.
const BULK_BATCH_QUADS: usize = 250_000;

impl BulkLoad for OxigraphBulkLoad<'_> {
    fn load(&mut self, quads: Vec<Quad>, records: Vec<ChangeRecord>) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            self.pending = quads;
        } else {
            self.pending.extend(quads);
        }
        for record in &records {
            self.records += 1;
            self.pending
                .extend(changes::record_quads(*self.head + self.records, record));
        }
        if self.pending.len() >= BULK_BATCH_QUADS {
            self.loader.load_quads(std::mem::take(&mut self.pending))?;
        }
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<u64, StoreError> {
        let Self {
            mut head,
            doorbell,
            mut loader,
            pending,
            records,
        } = *self;
        loader.load_quads(pending)?;
        loader.commit()?;
        *head += records;
        doorbell.send_replace(*head);
        Ok(*head)
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

    fn quads_with_predicate(&self, predicate: NamedNodeRef<'_>) -> Result<Vec<Quad>, StoreError> {
        Ok(self
            .store
            .quads_for_pattern(None, Some(predicate), None, None)
            .collect::<Result<_, _>>()?)
    }

    fn apply(&self, changes: &ChangeSet) -> Result<u64, StoreError> {
        let mut head = self.log.lock();
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
        for (i, record) in changes.records.iter().enumerate() {
            for quad in changes::record_quads(*head + 1 + i as u64, record) {
                transaction.insert(&quad);
            }
        }
        let new_head = *head + changes.records.len() as u64;
        transaction.commit()?;
        *head = new_head;
        self.log.doorbell.send_replace(new_head);
        Ok(new_head)
    }

    fn bulk_loader(&self) -> Box<dyn BulkLoad + '_> {
        Box::new(OxigraphBulkLoad {
            // Held to the end: no commit can take sequence numbers meanwhile.
            head: self.log.lock(),
            doorbell: &self.log.doorbell,
            loader: self
                .store
                .bulk_loader()
                .with_num_threads(BULK_LOAD_THREADS)
                .with_max_memory_size_in_megabytes(BULK_LOAD_MEMORY_MB),
            pending: Vec::new(),
            records: 0,
        })
    }

    fn dump_nquads(&self, out: &mut dyn Write, scope: DumpScope) -> Result<(), StoreError> {
        let mut writer =
            oxigraph::io::RdfSerializer::from_format(RdfFormat::NQuads).for_writer(out);
        for quad in self.store.iter() {
            let quad = quad?;
            if scope.includes(quad.graph_name.as_ref()) {
                writer.serialize_quad(QuadRef::from(&quad))?;
            }
        }
        writer.finish()?;
        Ok(())
    }

    fn head(&self) -> u64 {
        *self.log.lock()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.log.doorbell.subscribe()
    }

    fn change(&self, seq: u64) -> Result<Option<Change>, StoreError> {
        let subject = changes::record_subject(seq);
        for quad in self.store.quads_for_pattern(
            Some(subject.as_ref().into()),
            Some(changes::RECORD),
            None,
            Some(LOG_GRAPH.into()),
        ) {
            if let Term::Literal(l) = quad?.object {
                return Ok(changes::parse_record(seq, l.value()));
            }
        }
        Ok(None)
    }

    fn changes_indexed(&self, index: LogIndex, key: &str) -> Result<Vec<u64>, StoreError> {
        let key = oxigraph::model::Literal::from(key);
        let predicate = match index {
            LogIndex::About => changes::ABOUT,
            LogIndex::By => changes::BY,
        };
        let mut seqs = Vec::new();
        for quad in self.store.quads_for_pattern(
            None,
            Some(predicate),
            Some(key.as_ref().into()),
            Some(LOG_GRAPH.into()),
        ) {
            if let NamedOrBlankNode::NamedNode(s) = quad?.subject
                && let Some(seq) = changes::seq_of_subject(s.as_str())
            {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    fn graph_names(&self) -> Result<Vec<NamedOrBlankNode>, StoreError> {
        Ok(self.store.named_graphs().collect::<Result<_, _>>()?)
    }

    fn len(&self) -> Result<usize, StoreError> {
        Ok(self.store.len()?)
    }

    fn backup(&self, to: &Path) -> Result<(), StoreError> {
        // A RocksDB checkpoint: hard links to the immutable files where `to` is on the same
        // file system, copies elsewhere; consistent without stopping writers.
        Ok(self.store.backup(to)?)
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

    fn record(resource: &str) -> ChangeRecord {
        ChangeRecord {
            resource: resource.into(),
            kind: "worker".into(),
            operation: Operation::Create,
            origin: "http://x/".into(),
            actor: Actor::Operator,
            time: "2026-01-01T00:00:00Z".into(),
            visibility_before: None,
            visibility_after: Some(coopdir_vocab::Visibility::Public),
        }
    }

    #[test]
    fn records_are_numbered_without_holes_with_their_write_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = OxigraphStore::open(dir.path()).expect("open");
            let mut bell = store.subscribe();
            assert_eq!(store.head(), 0);
            for (i, name) in ["http://x/a", "http://x/b", "http://x/a"]
                .iter()
                .enumerate()
            {
                let mut g = Graph::new();
                g.insert(&Triple::new(
                    n(name),
                    n("http://x/p"),
                    Literal::from(i as i64),
                ));
                let head = store
                    .apply(&ChangeSet {
                        replace: vec![(n(name), g)],
                        records: vec![record(name)],
                        ..Default::default()
                    })
                    .expect("apply");
                assert_eq!(head, i as u64 + 1);
            }
            assert!(bell.has_changed().expect("bell"));
            assert_eq!(*bell.borrow_and_update(), 3);
            // A write without records leaves the head alone.
            store.apply(&ChangeSet::default()).expect("empty");
            assert_eq!(store.head(), 3);
        }
        let store = OxigraphStore::open(dir.path()).expect("reopen");
        assert_eq!(store.head(), 3);
        let all = store.changes_after(0, 10).expect("after 0");
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(all[1].record.resource, "http://x/b");
        let tail = store.changes_after(1, 1).expect("after 1");
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].seq, 2);
        assert_eq!(
            store
                .changes_indexed(LogIndex::About, "http://x/a")
                .expect("about"),
            vec![1, 3]
        );
        assert_eq!(
            store
                .changes_indexed(LogIndex::By, "urn:coopdir:operator")
                .expect("by")
                .len(),
            3
        );
        // The next write continues the numbering.
        let head = store
            .apply(&ChangeSet {
                records: vec![record("http://x/c")],
                ..Default::default()
            })
            .expect("apply");
        assert_eq!(head, 4);
    }

    #[test]
    fn a_bulk_load_numbers_its_records_and_exports_leave_system_graphs_out() {
        let store = OxigraphStore::in_memory().expect("store");
        let quad = Quad::new(
            n("http://x/a"),
            n("http://x/p"),
            Literal::from("v"),
            n("http://x/a"),
        );
        let secret = Quad::new(
            n("urn:coopdir:account:1"),
            n("urn:coopdir:accountData"),
            Literal::from("{}"),
            n("urn:coopdir:account:1"),
        );
        let session = Quad::new(
            n("urn:coopdir:session:1"),
            n("urn:coopdir:sessionData"),
            Literal::from("{}"),
            n("urn:coopdir:session:1"),
        );
        let head = store
            .bulk_load(
                vec![quad, secret, session],
                vec![record("http://x/a"), record("http://x/b")],
            )
            .expect("bulk load");
        assert_eq!(head, 2);
        assert_eq!(store.changes_after(0, 10).expect("log").len(), 2);
        let dump = |scope| {
            let mut out = Vec::new();
            store.dump_nquads(&mut out, scope).expect("dump");
            String::from_utf8(out).expect("utf-8")
        };
        let data = dump(DumpScope::Data);
        assert!(
            data.contains("http://x/a") && !data.contains("urn:coopdir:"),
            "{data}"
        );
        let backup = dump(DumpScope::Backup);
        assert!(backup.contains("accountData") && backup.contains("urn:coopdir:log"));
        assert!(
            !backup.contains("sessionData"),
            "sessions are never exported"
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
