//! Rendered representations of member resources, so that a GET of an unchanged resource
//! costs a map lookup instead of a store read, a hash and a serialisation.
//!
//! Every committed write bumps a generation and then evicts the graphs it touched. A
//! reader notes the generation before reading the store and only inserts its rendering
//! if no write committed meanwhile, so a stale rendering can never be cached.

use coopdir_store::ChangeSet;
use coopdir_syntax::OutputFormat;
use oxigraph::model::{GraphName, NamedNode, Term};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ETag;
use coopdir_access::Audience;

/// A representation ready to send.
#[derive(Debug)]
pub struct Rendered {
    pub body: Vec<u8>,
    pub etag: ETag,
    /// The local workers the resource links to (a reader who may not see one gets the
    /// resource without that link).
    pub worker_links: Vec<NamedNode>,
}

/// Format, whether contact details are in, and a hash of the links left out (0: none).
pub(crate) type Variant = (OutputFormat, bool, u64);
/// The renderings of one resource, one per variant.
type Renderings = Vec<(Variant, Arc<Rendered>)>;

/// A container page ready to send.
#[derive(Debug)]
pub struct RenderedPage {
    pub body: Vec<u8>,
    pub etag: ETag,
    /// 1-based page number, number of pages (at least 1), number of members.
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

/// Container, page, page size, minimal, format, and who is reading (workers a reader may
/// not see are left out of pages and counts).
pub(crate) type PageKey = (
    coopdir_vocab::Kind,
    usize,
    usize,
    bool,
    OutputFormat,
    coopdir_access::Audience,
);

/// Beyond this many resources the cache starts again empty (a bound, not an LRU).
const MAX_RESOURCES: usize = 20_000;
/// Summaries are small (a few terms each): keep many more of them.
const MAX_SUMMARIES: usize = 200_000;

/// A member's summary in container listings: its types and a few key properties.
pub(crate) type Summary = Arc<Vec<(NamedNode, Term)>>;

#[derive(Default)]
pub(crate) struct RenderCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<NamedNode, Renderings>>,
    /// Container pages summarise many resources: any write forgets them all.
    pages: Mutex<HashMap<PageKey, Arc<RenderedPage>>>,
    /// Member summaries, written through on every write so listings rarely read the store.
    summaries: Mutex<HashMap<NamedNode, Summary>>,
    /// Each container's sorted member IRIs, keyed by the container's IRI.
    members: Mutex<HashMap<NamedNode, Arc<Vec<NamedNode>>>>,
    /// The `rdf:type`s stored for a resource (empty: no such resource), for link checks.
    types: Mutex<HashMap<NamedNode, Arc<Vec<Term>>>>,
    /// The workers each audience may see; like pages, any write forgets them all.
    visible: Mutex<HashMap<Audience, Arc<Vec<NamedNode>>>>,
}

impl RenderCache {
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, iri: &NamedNode, variant: Variant) -> Option<Arc<Rendered>> {
        let entries = lock(&self.entries);
        entries
            .get(iri)?
            .iter()
            .find(|(v, _)| *v == variant)
            .map(|(_, r)| r.clone())
    }

    /// Caches `rendered` unless a write committed since `generation` was read.
    pub(crate) fn insert(
        &self,
        generation: u64,
        iri: &NamedNode,
        variant: Variant,
        rendered: Arc<Rendered>,
    ) {
        let mut entries = lock(&self.entries);
        if self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_RESOURCES && !entries.contains_key(iri) {
            entries.clear();
        }
        let slots = entries.entry(iri.clone()).or_default();
        slots.retain(|(v, _)| *v != variant);
        slots.push((variant, rendered));
    }

    pub(crate) fn get_page(&self, key: &PageKey) -> Option<Arc<RenderedPage>> {
        lock(&self.pages).get(key).cloned()
    }

    pub(crate) fn insert_page(&self, generation: u64, key: PageKey, page: Arc<RenderedPage>) {
        self.insert_checked(&self.pages, generation, &key, page, 1_000);
    }

    pub(crate) fn get_members(&self, container: &NamedNode) -> Option<Arc<Vec<NamedNode>>> {
        lock(&self.members).get(container).cloned()
    }

    pub(crate) fn insert_members(
        &self,
        generation: u64,
        container: &NamedNode,
        members: Arc<Vec<NamedNode>>,
    ) {
        self.insert_checked(&self.members, generation, container, members, usize::MAX);
    }

    pub(crate) fn get_visible(&self, audience: &Audience) -> Option<Arc<Vec<NamedNode>>> {
        lock(&self.visible).get(audience).cloned()
    }

    pub(crate) fn insert_visible(
        &self,
        generation: u64,
        audience: &Audience,
        workers: Arc<Vec<NamedNode>>,
    ) {
        self.insert_checked(&self.visible, generation, audience, workers, 1_000);
    }

    pub(crate) fn get_types(&self, iri: &NamedNode) -> Option<Arc<Vec<Term>>> {
        lock(&self.types).get(iri).cloned()
    }

    pub(crate) fn insert_types(&self, generation: u64, iri: &NamedNode, types: Arc<Vec<Term>>) {
        self.insert_checked(&self.types, generation, iri, types, MAX_SUMMARIES);
    }

    pub(crate) fn get_summary(&self, iri: &NamedNode) -> Option<Summary> {
        lock(&self.summaries).get(iri).cloned()
    }

    /// Caches a summary read at `generation`, unless a write committed since; pass the
    /// current generation when the summary comes from what the caller just committed.
    pub(crate) fn insert_summary(&self, generation: u64, iri: &NamedNode, summary: Summary) {
        self.insert_checked(&self.summaries, generation, iri, summary, MAX_SUMMARIES);
    }

    /// Inserts unless a write committed since `generation` (the value may be stale);
    /// past `max` entries the map starts again empty.
    fn insert_checked<K: Eq + Hash + Clone, V>(
        &self,
        map: &Mutex<HashMap<K, V>>,
        generation: u64,
        key: &K,
        value: V,
        max: usize,
    ) {
        let mut map = lock(map);
        if self.generation() != generation {
            return;
        }
        if map.len() >= max && !map.contains_key(key) {
            map.clear();
        }
        map.insert(key.clone(), value);
    }

    /// Every map, locked in one fixed order (so two writers cannot deadlock), with the
    /// generation bumped: readers that started before cannot insert any more.
    fn lock_all_for_write(&self) -> AllMaps<'_> {
        let all = AllMaps {
            entries: lock(&self.entries),
            pages: lock(&self.pages),
            summaries: lock(&self.summaries),
            members: lock(&self.members),
            types: lock(&self.types),
            visible: lock(&self.visible),
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        all
    }

    /// Called after `changes` were committed.
    pub(crate) fn committed(&self, changes: &ChangeSet) {
        let AllMaps {
            mut entries,
            mut pages,
            mut summaries,
            mut members,
            mut types,
            mut visible,
        } = self.lock_all_for_write();
        pages.clear();
        visible.clear();
        let touched = changes
            .replace
            .iter()
            .chain(&changes.create)
            .map(|(name, _)| name)
            .chain(&changes.drop)
            .chain(changes.insert.iter().chain(&changes.remove).filter_map(
                |q| match &q.graph_name {
                    GraphName::NamedNode(name) => Some(name),
                    _ => None,
                },
            ));
        for name in touched {
            entries.remove(name);
            summaries.remove(name);
            types.remove(name);
        }
        // Containment changes update the cached member lists in place; any other change
        // to a container's graph (there are none today) forgets its list.
        for (quad, added) in changes
            .insert
            .iter()
            .map(|q| (q, true))
            .chain(changes.remove.iter().map(|q| (q, false)))
        {
            let (GraphName::NamedNode(container), Term::NamedNode(member)) =
                (&quad.graph_name, &quad.object)
            else {
                continue;
            };
            if quad.predicate != coopdir_vocab::ldp::CONTAINS {
                members.remove(container);
                continue;
            }
            if let Some(list) = members.get_mut(container) {
                let list = Arc::make_mut(list);
                match (list.binary_search(member), added) {
                    (Err(at), true) => list.insert(at, member.clone()),
                    (Ok(at), false) => {
                        list.remove(at);
                    }
                    _ => {}
                }
            }
        }
        for name in changes
            .replace
            .iter()
            .map(|(name, _)| name)
            .chain(&changes.drop)
        {
            members.remove(name);
        }
    }

    pub(crate) fn clear(&self) {
        let mut all = self.lock_all_for_write();
        all.entries.clear();
        all.pages.clear();
        all.summaries.clear();
        all.members.clear();
        all.types.clear();
        all.visible.clear();
    }
}

struct AllMaps<'a> {
    entries: MutexGuard<'a, HashMap<NamedNode, Renderings>>,
    pages: MutexGuard<'a, HashMap<PageKey, Arc<RenderedPage>>>,
    summaries: MutexGuard<'a, HashMap<NamedNode, Summary>>,
    members: MutexGuard<'a, HashMap<NamedNode, Arc<Vec<NamedNode>>>>,
    types: MutexGuard<'a, HashMap<NamedNode, Arc<Vec<Term>>>>,
    visible: MutexGuard<'a, HashMap<Audience, Arc<Vec<NamedNode>>>>,
}

/// A poisoned lock only means a panic elsewhere; the maps stay consistent (each update is
/// a single insert or removal), so keep using them.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
