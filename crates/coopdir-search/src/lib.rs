//! Collaborator search: who has these skills (or narrower ones), at what level, when
//! are they free, where, in which co-op; which people and which small team suit a
//! project; where the network is short of skills; skill autocomplete.
//!
//! The index is a consumer of the change log (`../shared/design/changes.md`): it keeps
//! the sequence it has applied, follows the store's doorbell, and re-reads every
//! resource a record names. Nothing on the write path calls it. It has two parts:
//! - in memory: the taxonomy (labels, broader/narrower, matches across schemes), one
//!   compact entry per person, skill postings (which people hold a concept), projects
//!   and co-op names; rebuilt from the store at start-up;
//! - on disk: a tantivy index for free text and skill labels (typo-tolerant), kept
//!   beside the store with the sequence it reflects, and caught up or rebuilt at
//!   start-up when it is behind, missing, or of an older format.
//!
//! **Read-your-writes.** A write is indexed shortly after it commits (the doorbell wakes
//! the indexer; a commit costs milliseconds), not before its response. Instead, every
//! query first waits until the index has applied the store's head as of the moment the
//! query started, so a search sent after a write's response always sees that write.
//!
//! **Ranking** ([`query`]). For `n` requested skills of which a person matches `m` (a
//! held skill that is the requested one, an exact or close match of it, or narrower
//! at any depth, at or above the requested level):
//! - `coverage = m` (0..n);
//! - `level` = the sum over the matched skills of the best matching held level
//!   (beginner 1, intermediate 2, expert 3; a skill given without a level counts 1);
//! - `availability = 3 × soon + hours`, where `soon` is 5 free now, 4 within 7 days,
//!   3 within 30, 2 within 90, 1 later, 0 never; `hours` is 2 for 30 or more hours a
//!   week, 1 for 15 or more, else 0;
//! - `text` = the free-text relevance (tantivy's BM25 of exact words, plus a constant
//!   for words within one typo) divided by the best in the result set, times 0.99
//!   (0 without `q`).
//!
//! `raw = ((coverage × 64 + level) × 18 + availability) + text`. Because `level < 64`
//! (at most 20 skills of 3 points), `availability < 18` and `text < 1`, sorting by `raw`
//! is exactly sorting by coverage, then level, then availability, then text; equal
//! `raw` are ordered by folded name, then IRI. The `score` shown is `raw` divided by
//! the best raw score possible for the query, so 1 is a perfect match, and each item
//! shows its four parts.

pub mod candidates;
mod entries;
mod fulltext;
pub mod insights;
pub mod lookup;
pub mod query;
mod taxonomy;
#[cfg(test)]
mod tests;
pub mod text;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use coopdir_access::policy::Audience;
use coopdir_store::consumer::Progress;
use coopdir_store::{GraphStore, StoreError, is_system_graph};
use coopdir_vocab::{Kind, schema, skos};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, GraphName, NamedNode, Term};

pub use entries::{Availability, HeldSkill, Level, Need, Person, Project};
pub use fulltext::DocKind;
use fulltext::{FullText, key};
pub use taxonomy::{ConceptId, LabelKind, Taxonomy, Via};

/// At most this many records are applied per tantivy commit.
const BATCH: usize = 2_000;
/// How long a query waits for the index to catch up with writes made before it.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Index(String),
    #[error("search index at {path}: {message}")]
    Io { path: String, message: String },
    /// A query the caller got wrong; the message says what to change.
    #[error("{message}")]
    BadQuery {
        message: String,
        /// Parameters or skills that were not understood.
        unknown: Vec<String>,
        /// Close skill labels, for an unknown skill.
        suggestions: Vec<String>,
    },
    #[error("{0}")]
    NotFound(String),
}

impl SearchError {
    fn io(path: &Path, e: std::io::Error) -> Self {
        SearchError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    pub(crate) fn bad(message: impl Into<String>) -> Self {
        SearchError::BadQuery {
            message: message.into(),
            unknown: Vec::new(),
            suggestions: Vec::new(),
        }
    }
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

/// A co-op, as search shows it in facets.
#[derive(Debug, Clone)]
pub struct Coop {
    pub iri: NamedNode,
    pub name: String,
}

/// A person's position in [`State::people`].
pub type Slot = u32;

/// Everything in memory, behind one lock: readers share it, the indexer takes it
/// briefly per batch.
#[derive(Default)]
pub struct State {
    pub taxonomy: Taxonomy,
    pub people: Vec<Option<Person>>,
    slots: HashMap<String, Slot>,
    by_key: HashMap<u64, Slot>,
    free: Vec<Slot>,
    /// Concept → the people holding it directly.
    postings: Vec<Vec<Slot>>,
    concept_keys: HashMap<u64, ConceptId>,
    pub projects: HashMap<String, Project>,
    pub coops: HashMap<String, Coop>,
    /// Bumped by every applied batch; caches derived from the state key on it.
    pub generation: u64,
}

impl State {
    pub fn person(&self, slot: Slot) -> Option<&Person> {
        self.people.get(slot as usize).and_then(Option::as_ref)
    }

    pub fn slot(&self, iri: &str) -> Option<Slot> {
        self.slots.get(iri).copied()
    }

    pub fn holders(&self, concept: ConceptId) -> &[Slot] {
        self.postings
            .get(concept as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub fn live_people(&self) -> impl Iterator<Item = (Slot, &Person)> {
        self.people
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i as Slot, p)))
    }

    fn put_person(&mut self, person: Person) {
        let slot = match self.slots.get(person.iri.as_str()) {
            Some(slot) => {
                let slot = *slot;
                self.unpost(slot);
                slot
            }
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.people.push(None);
                    (self.people.len() - 1) as Slot
                });
                self.slots.insert(person.iri.as_str().to_owned(), slot);
                self.by_key.insert(key(person.iri.as_str()), slot);
                slot
            }
        };
        for s in &person.skills {
            let i = s.concept as usize;
            if self.postings.len() <= i {
                self.postings.resize_with(i + 1, Vec::new);
            }
            self.postings[i].push(slot);
        }
        self.people[slot as usize] = Some(person);
    }

    fn remove_person(&mut self, iri: &str) {
        if let Some(slot) = self.slots.remove(iri) {
            self.unpost(slot);
            self.by_key.remove(&key(iri));
            self.people[slot as usize] = None;
            self.free.push(slot);
        }
    }

    fn unpost(&mut self, slot: Slot) {
        if let Some(Some(old)) = self.people.get(slot as usize) {
            for s in &old.skills {
                if let Some(p) = self.postings.get_mut(s.concept as usize) {
                    p.retain(|x| *x != slot);
                }
            }
        }
    }
}

/// What a start-up or a reindex went through, for progress display.
#[derive(Debug, Clone, Copy)]
pub enum BuildStage {
    /// Reading resources from the store (done, total).
    Reading,
    /// Writing the full-text index (done, total).
    Indexing,
}

/// People per concept, and the state generation they were counted at.
type SupplyCounts = (u64, Arc<Vec<u32>>);

pub struct SearchIndex {
    store: Arc<dyn GraphStore>,
    local_origin: Arc<str>,
    state: RwLock<State>,
    text: FullText,
    applied: Progress,
    /// One catch-up at a time.
    applying: Mutex<()>,
    /// Per-audience counts of people per concept (with narrower), per generation.
    supply: Mutex<HashMap<Audience, SupplyCounts>>,
}

impl SearchIndex {
    /// Builds the in-memory part from the store and opens (catching up, or rebuilding)
    /// the full-text index in `dir`; `None` keeps it in memory.
    pub fn open(
        store: Arc<dyn GraphStore>,
        dir: Option<&Path>,
        local_origin: &str,
        progress: &dyn Fn(BuildStage, usize, usize),
    ) -> Result<Self, SearchError> {
        let started = std::time::Instant::now();
        let head = store.head();
        let (text, cursor) = match dir {
            Some(dir) => FullText::open(dir)?,
            None => (FullText::in_memory()?, None),
        };
        let index = SearchIndex {
            store,
            local_origin: Arc::from(local_origin),
            state: RwLock::new(State::default()),
            text,
            applied: Progress::new(head),
            applying: Mutex::new(()),
            supply: Mutex::new(HashMap::new()),
        };
        let graphs = index.load(progress)?;
        let caught_up = match cursor {
            Some(c) if c <= head => index.catch_up_text(c, head)?,
            Some(c) => {
                tracing::warn!(
                    index = c,
                    store = head,
                    "the search index is ahead of the store (was the store restored?): rebuilding it"
                );
                false
            }
            None => false,
        };
        let consistent = caught_up && {
            let state = index.read();
            index.text.count(DocKind::Person)? == state.slots.len()
                && index.text.count(DocKind::Skill)? == state.taxonomy.known_count()
        };
        if !consistent {
            if cursor.is_some() && caught_up {
                tracing::warn!("the search index disagrees with the store: rebuilding it");
            }
            index.rebuild_text(graphs, head, progress)?;
        } else {
            index.text.commit(head)?;
        }
        let state = index.read();
        tracing::info!(
            people = state.slots.len(),
            skills = state.taxonomy.known_count(),
            projects = state.projects.len(),
            head,
            rebuilt = !consistent,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search index ready"
        );
        drop(state);
        Ok(index)
    }

    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The change-log sequence the index reflects.
    pub fn applied(&self) -> u64 {
        self.applied.get()
    }

    pub fn local_origin(&self) -> &str {
        &self.local_origin
    }

    /// Every stored resource, by kind, read into memory; returns the people and skills
    /// that have a full-text document. Graphs are not kept: held all at once they cost
    /// tens of kilobytes per resource, and the allocator keeps that memory afterwards.
    fn load(
        &self,
        progress: &dyn Fn(BuildStage, usize, usize),
    ) -> Result<Vec<(NamedNode, Kind)>, SearchError> {
        let mut resources: Vec<(NamedNode, Kind)> = Vec::new();
        let mut seen: HashSet<NamedNode> = HashSet::new();
        for q in self.store.quads_with_predicate(rdf::TYPE)? {
            let (GraphName::NamedNode(g), Term::NamedNode(class)) = (&q.graph_name, &q.object)
            else {
                continue;
            };
            if is_system_graph(g.as_str())
                || q.subject.as_ref() != oxigraph::model::NamedOrBlankNodeRef::from(g.as_ref())
            {
                continue;
            }
            if let Some(kind) = Kind::for_class(class.as_ref())
                && seen.insert(g.clone())
            {
                resources.push((g.clone(), kind));
            }
        }
        // Skills first, so people's text can carry their labels.
        resources.sort_by_key(|(_, k)| *k != Kind::Skill);
        let total = resources.len();
        let mut graphs = Vec::new();
        let mut state = self.write();
        let mut relinked = false;
        for (done, (iri, kind)) in resources.into_iter().enumerate() {
            if done.is_multiple_of(1000) {
                progress(BuildStage::Reading, done, total);
            }
            if kind != Kind::Skill && !relinked {
                state.taxonomy.relink();
                relinked = true;
            }
            let graph = self.store.graph(iri.as_ref())?;
            if self.apply_graph(&mut state, &iri, kind, &graph) {
                graphs.push((iri, kind));
            }
        }
        state.taxonomy.relink();
        state.generation += 1;
        progress(BuildStage::Reading, total, total);
        Ok(graphs)
    }

    /// Puts one resource's stored graph (empty: deleted) into memory. Returns whether
    /// it has a full-text document.
    fn apply_graph(&self, state: &mut State, iri: &NamedNode, kind: Kind, graph: &Graph) -> bool {
        let exists = graph.triples_for_subject(iri).next().is_some();
        match kind {
            Kind::Worker => {
                if exists {
                    let person = Person::from_graph(
                        graph,
                        iri.as_ref(),
                        &mut state.taxonomy,
                        self.origin_of(iri),
                    );
                    state.put_person(person);
                } else {
                    state.remove_person(iri.as_str());
                }
                exists
            }
            Kind::Skill => {
                let is_concept = graph.contains(oxigraph::model::TripleRef::new(
                    iri,
                    rdf::TYPE,
                    skos::CONCEPT,
                ));
                if is_concept || !exists {
                    let id = state.taxonomy.set(iri.as_ref(), exists.then_some(graph));
                    state.concept_keys.insert(key(iri.as_str()), id);
                }
                is_concept
            }
            Kind::Project => {
                if exists {
                    let project = Project::from_graph(graph, iri.as_ref(), &mut state.taxonomy);
                    state.projects.insert(iri.as_str().to_owned(), project);
                } else {
                    state.projects.remove(iri.as_str());
                }
                false
            }
            Kind::Coop => {
                if exists {
                    let name = entries::literal(graph, iri.as_ref(), schema::NAME)
                        .unwrap_or_else(|| iri.as_str().to_owned());
                    state.coops.insert(
                        iri.as_str().to_owned(),
                        Coop {
                            iri: iri.clone(),
                            name,
                        },
                    );
                } else {
                    state.coops.remove(iri.as_str());
                }
                false
            }
        }
    }

    /// The server a resource lives on: ours for our IRIs, else its scheme and host (an
    /// origin may only publish resources under its own base URL).
    fn origin_of(&self, iri: &NamedNode) -> Arc<str> {
        let s = iri.as_str();
        if s.starts_with(&*self.local_origin) {
            return self.local_origin.clone();
        }
        Arc::from(match s.find("://") {
            Some(i) => match s[i + 3..].find('/') {
                Some(j) => s[..i + 3 + j + 1].to_owned(),
                None => format!("{s}/"),
            },
            None => s.to_owned(),
        })
    }

    fn text_document(
        &self,
        state: &State,
        iri: &NamedNode,
        kind: Kind,
        graph: &Graph,
    ) -> Result<(), SearchError> {
        let k = key(iri.as_str());
        match kind {
            Kind::Worker => match state.slot(iri.as_str()).and_then(|s| state.person(s)) {
                Some(p) => self
                    .text
                    .put(DocKind::Person, k, &p.text(graph, &state.taxonomy)),
                None => {
                    self.text.remove(k);
                    Ok(())
                }
            },
            Kind::Skill => match state.taxonomy.id(iri.as_str()) {
                Some(id) if state.taxonomy.get(id).known => {
                    let labels: Vec<String> = state
                        .taxonomy
                        .get(id)
                        .labels
                        .iter()
                        .map(|l| text::fold(&l.text))
                        .collect();
                    self.text.put(DocKind::Skill, k, &labels.join("\n"))
                }
                _ => {
                    self.text.remove(k);
                    Ok(())
                }
            },
            Kind::Project | Kind::Coop => Ok(()),
        }
    }

    fn rebuild_text(
        &self,
        documents: Vec<(NamedNode, Kind)>,
        head: u64,
        progress: &dyn Fn(BuildStage, usize, usize),
    ) -> Result<(), SearchError> {
        self.text.clear()?;
        let state = self.read();
        let total = documents.len();
        for (done, (iri, kind)) in documents.iter().enumerate() {
            if done.is_multiple_of(1000) {
                progress(BuildStage::Indexing, done, total);
            }
            let graph = self.store.graph(iri.as_ref())?;
            self.text_document(&state, iri, *kind, &graph)?;
        }
        drop(state);
        self.text.commit(head)?;
        progress(BuildStage::Indexing, total, total);
        Ok(())
    }

    /// Brings the full-text index from `from` to `to` after the in-memory part was
    /// loaded at `to`. False when the log no longer reaches back that far.
    fn catch_up_text(&self, from: u64, to: u64) -> Result<bool, SearchError> {
        let mut touched: Vec<(NamedNode, Kind)> = Vec::new();
        let mut cursor = from;
        while cursor < to {
            let changes = self.store.changes_after(cursor, BATCH)?;
            let Some(last) = changes.last() else {
                return Ok(false);
            };
            if changes[0].seq != cursor + 1 {
                return Ok(false);
            }
            cursor = last.seq;
            touched.extend(changes.iter().filter_map(|c| resource_of(&c.record)));
        }
        let state = self.read();
        for (iri, kind) in dedupe(touched) {
            let graph = self.store.graph(iri.as_ref())?;
            self.text_document(&state, &iri, kind, &graph)?;
        }
        Ok(true)
    }

    /// Applies every record after the last applied one; returns the new cursor.
    pub fn catch_up(&self) -> Result<u64, SearchError> {
        let _one = self.applying.lock().unwrap_or_else(|p| p.into_inner());
        let mut cursor = self.applied();
        loop {
            let changes = self.store.changes_after(cursor, BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(cursor);
            };
            let touched = dedupe(
                changes
                    .iter()
                    .filter_map(|c| resource_of(&c.record))
                    .collect(),
            );
            // Records of accounts, tokens and the like change nothing here; the cursor
            // on disk catches up with the next commit (replaying them is harmless).
            if !touched.is_empty() {
                self.apply_batch(touched)?;
                self.text.commit(last)?;
            }
            cursor = last;
            self.applied.set(cursor);
        }
    }

    fn apply_batch(&self, touched: Vec<(NamedNode, Kind)>) -> Result<(), SearchError> {
        // Read the graphs before taking the lock, so readers wait only for the update.
        let mut graphs = Vec::with_capacity(touched.len());
        for (iri, kind) in touched {
            let graph = self.store.graph(iri.as_ref())?;
            graphs.push((iri, kind, graph));
        }
        let mut state = self.write();
        let mut relabelled: Vec<ConceptId> = Vec::new();
        for (iri, kind, graph) in &graphs {
            self.apply_graph(&mut state, iri, *kind, graph);
            if *kind == Kind::Skill
                && let Some(id) = state.taxonomy.id(iri.as_str())
            {
                relabelled.push(id);
            }
        }
        if !relabelled.is_empty() {
            state.taxonomy.relink();
        }
        state.generation += 1;
        drop(state);
        // Only this indexer writes (it holds `applying`), so nothing changes in between.
        let state = self.read();
        for (iri, kind, graph) in &graphs {
            self.text_document(&state, iri, *kind, graph)?;
        }
        // People whose skills were renamed carry the old labels in their text.
        let mut holders: Vec<Slot> = relabelled
            .iter()
            .flat_map(|id| state.holders(*id).iter().copied())
            .collect();
        holders.sort_unstable();
        holders.dedup();
        for slot in holders {
            if let Some(p) = state.person(slot)
                && !graphs.iter().any(|(iri, _, _)| *iri == p.iri)
            {
                let graph = self.store.graph(p.iri.as_ref())?;
                self.text_document(&state, &p.iri, Kind::Worker, &graph)?;
            }
        }
        Ok(())
    }

    /// Follows the change log until the store's doorbell is dropped: a task per index.
    pub async fn follow(self: Arc<Self>) {
        let doorbell = self.store.subscribe();
        coopdir_store::consumer::follow(doorbell, "search index", move || self.catch_up()).await
    }

    /// Waits until every write committed before this call is indexed (at most a couple
    /// of seconds; false if the index is still behind then).
    pub async fn wait_for_writes(&self) -> bool {
        self.applied
            .wait_for(self.store.head(), CATCH_UP_WAIT)
            .await
    }

    /// People per concept (holding it or anything narrower), as `audience` sees them.
    pub fn supply(&self, state: &State, audience: &Audience) -> Arc<Vec<u32>> {
        let mut cache = self.supply.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, counts)) = cache.get(audience)
            && *generation == state.generation
        {
            return counts.clone();
        }
        let mut counts = vec![0u32; state.taxonomy.concepts.len()];
        let mut ancestors = Vec::new();
        let mut mine: Vec<ConceptId> = Vec::new();
        for (_, p) in state.live_people() {
            if !audience.can_see(&p.facts) {
                continue;
            }
            mine.clear();
            for s in &p.skills {
                state.taxonomy.ancestors(s.concept, &mut ancestors);
                mine.extend_from_slice(&ancestors);
            }
            mine.sort_unstable();
            mine.dedup();
            for c in &mine {
                counts[*c as usize] += 1;
            }
        }
        let counts = Arc::new(counts);
        cache.insert(audience.clone(), (state.generation, counts.clone()));
        counts
    }

    pub(crate) fn text(&self) -> &FullText {
        &self.text
    }
}

fn resource_of(record: &coopdir_store::ChangeRecord) -> Option<(NamedNode, Kind)> {
    let kind = match record.kind.as_str() {
        "coop" => Kind::Coop,
        "worker" => Kind::Worker,
        "skill" => Kind::Skill,
        "project" => Kind::Project,
        _ => return None,
    };
    NamedNode::new(&record.resource).ok().map(|n| (n, kind))
}

fn dedupe(touched: Vec<(NamedNode, Kind)>) -> Vec<(NamedNode, Kind)> {
    let mut seen = HashSet::new();
    touched
        .into_iter()
        .filter(|(iri, _)| seen.insert(iri.clone()))
        .collect()
}
