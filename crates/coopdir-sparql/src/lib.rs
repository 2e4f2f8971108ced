//! The read-only SPARQL endpoint's data and evaluation.
//!
//! Queries never run on the main store: it holds accounts, non-public people and e-mail
//! addresses, and no query rewriting is as safe as data that is not there. Instead a
//! second oxigraph store (on disk beside the main one) holds exactly what an anonymous
//! reader sees of every resource (as `Directory::public_graph` renders it), one named
//! graph per resource as in the main store, and the endpoint queries their union. It is
//! a consumer of the change log: it keeps the sequence it has applied in a small file,
//! follows the store's doorbell, and is rebuilt when missing, of another format, or
//! ahead of the store. (A worker turning private comes with records for the resources
//! linking to it, whose public view drops the link: the LDP layer writes those.)
//!
//! Evaluation is bounded: a watchdog cancels a query after its time limit, results are
//! counted as they are produced and refused beyond a size limit, and `SERVICE` is
//! refused (no query makes this server fetch anything).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coopdir_ldp::{Directory, LdpError};
use coopdir_store::consumer::Progress;
use coopdir_store::{StoreError, is_system_graph};
use oxigraph::model::{GraphName, GraphNameRef, NamedNode, NamedOrBlankNode, QuadRef, Triple};
use oxigraph::sparql::{
    CancellationToken, DefaultServiceHandler, QueryEvaluationError, QueryResults, QuerySolution,
    QuerySolutionIter, SparqlEvaluator, Variable,
};
use oxigraph::store::Store;

/// Bumped when what the view holds changes meaning; another format is rebuilt.
const FORMAT: u32 = 1;
const BATCH: usize = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum SparqlError {
    /// The query does not parse, or asks for something refused; the message says what.
    #[error("{0}")]
    BadQuery(String),
    #[error("the query ran longer than {} s and was stopped: narrow it (fewer patterns, a LIMIT) and try again", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("the query has more than {0} results: add a LIMIT (and OFFSET to page)")]
    TooLarge(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ldp(#[from] LdpError),
    #[error("public view store: {0}")]
    View(String),
}

fn view_error(e: impl std::fmt::Display) -> SparqlError {
    SparqlError::View(e.to_string())
}

/// A query as the SPARQL protocol delivers it.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    pub query: String,
    /// `default-graph-uri`: when given, the default graph is their merge instead of the
    /// union of every graph.
    pub default_graphs: Vec<String>,
    /// `named-graph-uri`: when given, the only graphs `GRAPH` sees.
    pub named_graphs: Vec<String>,
    pub timeout: Duration,
    pub max_results: usize,
}

/// A query's results, held in memory (they are bounded).
pub enum Answer {
    Boolean(bool),
    Solutions {
        variables: Vec<Variable>,
        rows: Vec<QuerySolution>,
    },
    Graph(Vec<Triple>),
}

pub struct PublicView {
    store: Store,
    directory: Arc<Directory>,
    cursor_file: Option<PathBuf>,
    applied: Progress,
    applying: Mutex<()>,
}

impl PublicView {
    /// Opens the view in `dir` (or in memory), catching it up with the change log or
    /// rebuilding it from the directory.
    pub fn open(directory: Arc<Directory>, dir: Option<&Path>) -> Result<Self, SparqlError> {
        let started = std::time::Instant::now();
        let head = directory.store().head();
        let (store, cursor_file, cursor) = match dir {
            Some(dir) => {
                let cursor_file = dir.join("coopdir-view-cursor");
                let cursor = std::fs::read_to_string(&cursor_file)
                    .ok()
                    .and_then(|text| parse_cursor(&text));
                if cursor.is_none() && dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(view_error)?;
                }
                std::fs::create_dir_all(dir).map_err(view_error)?;
                let store = Store::open(dir.join("store")).map_err(view_error)?;
                (store, Some(cursor_file), cursor)
            }
            None => (Store::new().map_err(view_error)?, None, None),
        };
        let view = PublicView {
            store,
            directory,
            cursor_file,
            applied: Progress::new(0),
            applying: Mutex::new(()),
        };
        let resumed = match cursor {
            Some(c) if c <= head => {
                view.applied.set(c);
                // A log that no longer reaches back to the cursor means a rebuild.
                view.directory
                    .store()
                    .changes_after(c, 1)?
                    .first()
                    .is_none_or(|first| first.seq == c + 1)
            }
            _ => false,
        };
        if resumed {
            view.catch_up()?;
        } else {
            view.rebuild(head)?;
        }
        tracing::info!(
            head,
            rebuilt = !resumed,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "SPARQL view ready"
        );
        Ok(view)
    }

    fn rebuild(&self, head: u64) -> Result<(), SparqlError> {
        self.store.clear().map_err(view_error)?;
        let names: Vec<NamedNode> = self
            .directory
            .store()
            .graph_names()?
            .into_iter()
            .filter_map(|g| match g {
                NamedOrBlankNode::NamedNode(n) if !is_system_graph(n.as_str()) => Some(n),
                _ => None,
            })
            .collect();
        for chunk in names.chunks(BATCH) {
            self.refresh(chunk)?;
        }
        // Write the memtables out: otherwise the next open replays the whole rebuild from
        // RocksDB's write-ahead log (minutes and gigabytes at 100,000 resources).
        self.store.flush().map_err(view_error)?;
        self.set_applied(head)
    }

    fn set_applied(&self, seq: u64) -> Result<(), SparqlError> {
        if let Some(file) = &self.cursor_file {
            let tmp = file.with_extension("tmp");
            std::fs::write(&tmp, format!("format {FORMAT}\ncursor {seq}\n")).map_err(view_error)?;
            std::fs::rename(&tmp, file).map_err(view_error)?;
        }
        self.applied.set(seq);
        Ok(())
    }

    /// Replaces the view of each resource by what an anonymous reader sees now.
    fn refresh(&self, resources: &[NamedNode]) -> Result<(), SparqlError> {
        self.directory.settled();
        let mut views = Vec::with_capacity(resources.len());
        for iri in resources {
            // Containers are derived and only list members; they stay out of the view.
            let graph = match self.directory.public_graph(iri) {
                Ok(graph) => graph,
                Err(LdpError::NotFound(_) | LdpError::MethodNotAllowed(_)) => None,
                Err(e) => return Err(e.into()),
            };
            views.push((iri, graph));
        }
        let mut transaction = self.store.start_transaction().map_err(view_error)?;
        for (iri, graph) in &views {
            let name = GraphNameRef::NamedNode(iri.as_ref());
            transaction.clear_graph(name).map_err(view_error)?;
            if let Some(graph) = graph {
                for t in graph.iter() {
                    transaction.insert(QuadRef::new(t.subject, t.predicate, t.object, name));
                }
            }
        }
        transaction.commit().map_err(view_error)?;
        Ok(())
    }

    /// The change-log sequence the view reflects.
    pub fn applied(&self) -> u64 {
        self.applied.get()
    }

    /// Applies every record after the last applied one.
    pub fn catch_up(&self) -> Result<u64, SparqlError> {
        let _one = self.applying.lock().unwrap_or_else(|p| p.into_inner());
        let log = self.directory.store();
        let mut cursor = self.applied.get();
        loop {
            let changes = log.changes_after(cursor, BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(cursor);
            };
            let mut seen = HashSet::new();
            let mut touched: Vec<NamedNode> = Vec::new();
            for change in &changes {
                let r = &change.record;
                if !matches!(r.kind.as_str(), "coop" | "worker" | "skill" | "project") {
                    continue;
                }
                let Ok(iri) = NamedNode::new(&r.resource) else {
                    continue;
                };
                if seen.insert(iri.clone()) {
                    touched.push(iri);
                }
            }
            cursor = last;
            if touched.is_empty() {
                // Nothing public changed; the cursor file catches up next time.
                self.applied.set(cursor);
            } else {
                self.refresh(&touched)?;
                self.set_applied(cursor)?;
            }
        }
    }

    /// Follows the change log until the store's doorbell is dropped.
    pub async fn follow(self: Arc<Self>) {
        let doorbell = self.directory.store().subscribe();
        coopdir_store::consumer::follow(doorbell, "SPARQL view", move || self.catch_up()).await
    }

    /// Waits (a couple of seconds at most) until writes committed before this call are
    /// in the view.
    pub async fn wait_for_writes(&self) -> bool {
        let head = self.directory.store().head();
        self.applied.wait_for(head, Duration::from_secs(2)).await
    }

    /// Evaluates a query over the public view, within the request's limits.
    pub fn query(&self, request: &QueryRequest) -> Result<Answer, SparqlError> {
        let cancel = CancellationToken::new();
        let mut prepared = SparqlEvaluator::new()
            .with_default_service_handler(RefuseService)
            .with_cancellation_token(cancel.clone())
            .parse_query(&request.query)
            .map_err(|e| SparqlError::BadQuery(format!("the query does not parse: {e}")))?;
        let dataset = prepared.dataset_mut();
        if request.default_graphs.is_empty() {
            // Without FROM clauses, the default graph is every resource's graph.
            if dataset.is_default_dataset() {
                dataset.set_default_graph_as_union();
            }
        } else {
            dataset.set_default_graph(
                request
                    .default_graphs
                    .iter()
                    .map(|g| named(g).map(GraphName::from))
                    .collect::<Result<_, _>>()?,
            );
        }
        if !request.named_graphs.is_empty() {
            dataset.set_available_named_graphs(
                request
                    .named_graphs
                    .iter()
                    .map(|g| named(g).map(NamedOrBlankNode::from))
                    .collect::<Result<_, _>>()?,
            );
        }
        // The watchdog: cancels the query unless it finishes (and drops `done`) in time.
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let watchdog_token = cancel.clone();
        let timeout = request.timeout;
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(timeout)
            {
                watchdog_token.cancel();
            }
        });
        let result = self.evaluate(prepared, request);
        drop(done);
        result.map_err(|e| match e {
            Failure::Evaluation(QueryEvaluationError::Cancelled) => SparqlError::Timeout(timeout),
            Failure::Evaluation(QueryEvaluationError::Service(e))
                if e.to_string().contains(SERVICE_REFUSED) =>
            {
                SparqlError::BadQuery(SERVICE_REFUSED.into())
            }
            Failure::Evaluation(e) => SparqlError::BadQuery(format!("the query failed: {e}")),
            Failure::TooLarge => SparqlError::TooLarge(request.max_results),
        })
    }

    fn evaluate(
        &self,
        prepared: oxigraph::sparql::PreparedSparqlQuery,
        request: &QueryRequest,
    ) -> Result<Answer, Failure> {
        let limit = request.max_results;
        match prepared.on_store(&self.store).execute()? {
            QueryResults::Boolean(b) => Ok(Answer::Boolean(b)),
            QueryResults::Solutions(solutions) => {
                let variables = solutions.variables().to_vec();
                let rows = bounded(solutions, limit)?;
                Ok(Answer::Solutions { variables, rows })
            }
            QueryResults::Graph(triples) => {
                let mut out = Vec::new();
                for t in triples {
                    if out.len() == limit {
                        return Err(Failure::TooLarge);
                    }
                    out.push(t?);
                }
                Ok(Answer::Graph(out))
            }
        }
    }
}

enum Failure {
    Evaluation(QueryEvaluationError),
    TooLarge,
}

impl From<QueryEvaluationError> for Failure {
    fn from(e: QueryEvaluationError) -> Self {
        Failure::Evaluation(e)
    }
}

fn bounded(solutions: QuerySolutionIter<'_>, limit: usize) -> Result<Vec<QuerySolution>, Failure> {
    let mut rows = Vec::new();
    for s in solutions {
        if rows.len() == limit {
            return Err(Failure::TooLarge);
        }
        rows.push(s?);
    }
    Ok(rows)
}

fn named(iri: &str) -> Result<NamedNode, SparqlError> {
    NamedNode::new(iri).map_err(|e| SparqlError::BadQuery(format!("{iri:?} is not an IRI: {e}")))
}

fn parse_cursor(text: &str) -> Option<u64> {
    let mut lines = text.lines();
    let format: u32 = lines.next()?.strip_prefix("format ")?.parse().ok()?;
    let cursor: u64 = lines.next()?.strip_prefix("cursor ")?.parse().ok()?;
    (format == FORMAT).then_some(cursor)
}

const SERVICE_REFUSED: &str =
    "SERVICE is refused: this endpoint only answers from its own public data";

/// Refuses every `SERVICE` call, so no query makes the server fetch anything.
struct RefuseService;

#[derive(Debug, thiserror::Error)]
#[error("{SERVICE_REFUSED}")]
struct ServiceRefused;

impl DefaultServiceHandler for RefuseService {
    type Error = ServiceRefused;

    fn handle(
        &self,
        _service_name: &NamedNode,
        _pattern: &spargebra::algebra::GraphPattern,
        _base_iri: Option<&oxiri::Iri<String>>,
    ) -> Result<QuerySolutionIter<'static>, ServiceRefused> {
        Err(ServiceRefused)
    }
}
