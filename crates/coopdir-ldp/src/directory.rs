//! The directory: reads and validated, consistent writes of LDP resources.

use coopdir_access::{
    Access, AccessConfig, AccessError, Action, Audience, Principal, WorkerFacts, WriteDecision,
};
use coopdir_store::{Actor, ChangeRecord, ChangeSet, GraphStore, Operation, is_system_graph};
use coopdir_syntax::{OutputFormat, write_graph};
use coopdir_vocab::{
    CONTACT_PROPERTIES, INVERSE_LINKS, Kind, Visibility, dcterms, dir, ldp, schema,
};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{
    Graph, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Quad, Term,
    TermRef, Triple, TripleRef,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::LdpError;
use crate::cache::{RenderCache, Rendered, RenderedPage, Summary, Variant};
use crate::etag::{ETag, Precondition};
use crate::patch::Patch;
use crate::paths::{Location, Paths, slugify};
use crate::shapes::ShapeSet;

/// Refuses a base URL other than the one the store's IRIs were minted under: the one it
/// recorded, or for a store written before base URLs were recorded, the one its
/// containers show (then recorded, so that the containers are read only once).
fn check_base_url(store: &dyn GraphStore, paths: &Paths) -> Result<(), LdpError> {
    let mismatch = |stored: String| LdpError::BaseUrlMismatch {
        stored,
        given: paths.base().to_owned(),
    };
    if let Some(stored) = coopdir_store::meta::base_url(store)? {
        return if stored == paths.base() {
            Ok(())
        } else {
            Err(mismatch(stored))
        };
    }
    match base_url_of_data(store)? {
        Some(stored) if stored != paths.base() => Err(mismatch(stored)),
        Some(stored) => Ok(coopdir_store::meta::record_base_url(store, &stored)?),
        None => Ok(()),
    }
}

/// The base URL of a store written before base URLs were recorded: the prefix of its
/// containers' IRIs (what `Paths::container` mints).
pub fn base_url_of_data(store: &dyn GraphStore) -> Result<Option<String>, LdpError> {
    for quad in store.quads_with_predicate(ldp::CONTAINS)? {
        if let NamedOrBlankNode::NamedNode(container) = &quad.subject
            && let Some(base) = Kind::ALL.iter().find_map(|kind| {
                container
                    .as_str()
                    .strip_suffix(&format!("{}/", kind.container_segment()))
            })
        {
            return Ok(Some(base.to_owned()));
        }
    }
    Ok(None)
}

/// A resource as read: its graph and version.
#[derive(Debug, Clone)]
pub struct Representation {
    pub subject: NamedNode,
    pub graph: Graph,
    pub etag: ETag,
}

/// One page of a container listing.
#[derive(Debug, Clone)]
pub struct ContainerPage {
    pub graph: Graph,
    /// 1-based page number, and the number of pages (at least 1).
    pub page: usize,
    pub pages: usize,
    pub total: usize,
}

/// What a successful write did.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub iri: NamedNode,
    pub created: bool,
    pub etag: ETag,
    pub graph: Graph,
}

/// What a POST to a container did: stored the resource, or (a member's new skill) stored
/// a proposal for a server admin to accept.
#[derive(Debug, Clone)]
pub enum CreateOutcome {
    Stored(WriteOutcome),
    Proposed(crate::ProposalView),
}

pub struct Directory {
    store: Arc<dyn GraphStore>,
    shapes: ShapeSet,
    paths: Paths,
    /// Serialises writes: oxigraph has no write-write conflict detection.
    writer: Mutex<()>,
    access: Arc<Access>,
    cache: RenderCache,
    /// Most triples one write may carry (and a patched resource hold).
    max_triples: usize,
}

impl Directory {
    pub fn new(
        store: Arc<dyn GraphStore>,
        shapes: ShapeSet,
        paths: Paths,
        access: AccessConfig,
    ) -> Result<Self, LdpError> {
        check_base_url(store.as_ref(), &paths)?;
        let access = Arc::new(Access::new(store.clone(), paths.base(), access)?);
        Ok(Self {
            store,
            shapes,
            paths,
            writer: Mutex::new(()),
            access,
            cache: RenderCache::default(),
            max_triples: usize::MAX,
        })
    }

    /// Limits every write through the API to `max_triples` (imports are not limited).
    pub fn limit_writes(&mut self, max_triples: usize) {
        self.max_triples = max_triples;
    }

    /// What parsing a write's body may cost.
    pub fn write_limits(&self) -> coopdir_syntax::ParseLimits {
        coopdir_syntax::ParseLimits::writes(self.max_triples)
    }

    /// Records this directory's base URL in a store that has none yet, so that opening it
    /// under another one is refused even before it holds data (`serve` and `import`
    /// call it: they fix the base URL; a command that only adds a token does not).
    pub fn remember_base_url(&self) -> Result<(), LdpError> {
        if coopdir_store::meta::base_url(self.store.as_ref())?.is_none() {
            coopdir_store::meta::record_base_url(self.store.as_ref(), self.paths.base())?;
        }
        Ok(())
    }

    /// Accounts, credentials and the authorisation rules.
    pub fn access(&self) -> &Arc<Access> {
        &self.access
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn shapes(&self) -> &ShapeSet {
        &self.shapes
    }

    pub fn store(&self) -> &Arc<dyn GraphStore> {
        &self.store
    }

    /// The writer lock. A panic while holding it cannot leave a half-applied write
    /// (writes are one transaction), so a poisoned lock is safe to reuse.
    /// Waits for the write in progress, if any, to finish, caches included: a change-log
    /// consumer woken by the store's doorbell calls this before reading through the
    /// directory, whose caches are brought up to date just after the store commits.
    pub fn settled(&self) {
        drop(self.writer_lock());
    }

    pub(crate) fn writer_lock(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- reads -------------------------------------------------------------------

    /// Whether `principal` sees the member `iri` and, if so, its contact details (from the
    /// member's cached summary; a resource that does not exist is not seen either).
    fn view_of(
        &self,
        kind: Kind,
        iri: &NamedNode,
        principal: &Principal,
    ) -> Result<bool, LdpError> {
        let summary = self.summary(kind, iri)?;
        if summary.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        if kind != Kind::Worker {
            return Ok(false);
        }
        let facts = WorkerFacts::from_pairs(summary.iter().map(|(p, o)| (p, o)));
        match self.access.read_view(principal, &facts)? {
            Some(show_contact) => Ok(show_contact),
            None => Err(LdpError::NotFound(iri.as_str().to_owned())),
        }
    }

    /// Reads a member resource as `principal` may see it (what a GET renders).
    pub fn read(&self, iri: &NamedNode, principal: &Principal) -> Result<Representation, LdpError> {
        let kind = self.member_kind(iri)?;
        let show_contact = self.view_of(kind, iri, principal)?;
        let mut rep = self.read_graph(iri, show_contact)?;
        let hidden = self.hidden_workers(&self.worker_links(&rep.graph, iri), principal)?;
        strip_links(&mut rep, &hidden);
        Ok(rep)
    }

    /// The local workers `graph` links to, sorted, without `iri` itself.
    fn worker_links(&self, graph: &Graph, iri: &NamedNode) -> Vec<NamedNode> {
        let mut links: Vec<NamedNode> = graph
            .iter()
            .filter_map(|t| match t.object {
                TermRef::NamedNode(o)
                    if o != iri.as_ref()
                        && matches!(
                            self.paths.locate(o.as_str()),
                            Some(Location::Member(Kind::Worker, _))
                        ) =>
                {
                    Some(o.into_owned())
                }
                _ => None,
            })
            .collect();
        links.sort_unstable();
        links.dedup();
        links
    }

    /// What the read rules need to know of a worker, from its cached summary.
    fn worker_facts(&self, iri: &NamedNode) -> Result<WorkerFacts, LdpError> {
        let summary = self.summary(Kind::Worker, iri)?;
        Ok(WorkerFacts::from_pairs(summary.iter().map(|(p, o)| (p, o))))
    }

    /// What an anonymous reader sees of any stored resource, ours or imported from
    /// elsewhere (an external taxonomy, later replicas): `None` when they see nothing.
    pub fn public_graph(&self, iri: &NamedNode) -> Result<Option<Graph>, LdpError> {
        let anonymous = Principal::anonymous();
        if self.paths.is_local(iri.as_str()) {
            return match self.read(iri, &anonymous) {
                Ok(rep) => Ok(Some(rep.graph)),
                Err(
                    LdpError::NotFound(_)
                    | LdpError::MethodNotAllowed(_)
                    | LdpError::Access(AccessError::NotFound(_)),
                ) => Ok(None),
                Err(e) => Err(e),
            };
        }
        let graph = self.store.graph(iri.as_ref())?;
        if graph.is_empty() || is_system_graph(iri.as_str()) {
            return Ok(None);
        }
        let facts = WorkerFacts::from_graph(&graph, iri);
        let is_person = graph.contains(TripleRef::new(iri, rdf::TYPE, schema::PERSON));
        if is_person && !Audience::Public.can_see(&facts) {
            return Ok(None);
        }
        let mut rep = self.read_graph(iri, Audience::Public.shows_contact(&facts))?;
        let hidden = self.hidden_workers(&self.worker_links(&rep.graph, iri), &anonymous)?;
        strip_links(&mut rep, &hidden);
        Ok(Some(rep.graph))
    }

    /// Every resource an anonymous reader sees, as they see it, with its containment:
    /// what a public export holds.
    pub fn public_resources(
        &self,
        mut each: impl FnMut(&NamedNode, &Graph),
    ) -> Result<usize, LdpError> {
        let anonymous = Principal::anonymous();
        let mut count = 0;
        for kind in Kind::ALL {
            let container = self.paths.container(kind);
            let mut containment = Graph::new();
            for member in self.visible_members(kind, &Audience::Public)?.iter() {
                let rep = self.read(member, &anonymous)?;
                each(member, &rep.graph);
                containment.insert(TripleRef::new(&container, ldp::CONTAINS, member));
                count += 1;
            }
            if !containment.is_empty() {
                each(&container, &containment);
            }
        }
        Ok(count)
    }

    /// Reads a member resource; contact details are left out unless `show_contact`.
    fn read_graph(&self, iri: &NamedNode, show_contact: bool) -> Result<Representation, LdpError> {
        let mut graph = self.store.graph(iri.as_ref())?;
        if graph.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        let etag = ETag::of_graph(&graph);
        if !show_contact && graph.contains(TripleRef::new(iri, rdf::TYPE, schema::PERSON)) {
            let private: Vec<Triple> = CONTACT_PROPERTIES
                .iter()
                .flat_map(|p| {
                    graph
                        .triples_for_subject(iri)
                        .filter(move |t| t.predicate == *p)
                })
                .map(TripleRef::into_owned)
                .collect();
            for t in &private {
                graph.remove(t);
            }
        }
        Ok(Representation {
            subject: iri.clone(),
            graph,
            etag,
        })
    }

    /// A member resource rendered in `format` as `principal` may see it, from the cache
    /// when it is unchanged. The flag says whether contact details are included.
    pub fn render(
        &self,
        iri: &NamedNode,
        format: OutputFormat,
        principal: &Principal,
    ) -> Result<(Arc<Rendered>, bool), LdpError> {
        let kind = self.member_kind(iri)?;
        let show_contact = self.view_of(kind, iri, principal)?;
        let full = self.rendering(iri, (format, show_contact, 0), &BTreeSet::new())?;
        // Links to workers the reader may not see are left out (a co-op's members, a
        // project's team and lead), so that nobody learns of them through another resource.
        let hidden = self.hidden_workers(&full.worker_links, principal)?;
        if hidden.is_empty() {
            return Ok((full, show_contact));
        }
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&hidden, &mut hasher);
        let key = std::hash::Hasher::finish(&hasher).max(1);
        Ok((
            self.rendering(iri, (format, show_contact, key), &hidden)?,
            show_contact,
        ))
    }

    /// The rendering of `variant`, from the cache or made now without the links to `hidden`.
    fn rendering(
        &self,
        iri: &NamedNode,
        variant: Variant,
        hidden: &BTreeSet<NamedNode>,
    ) -> Result<Arc<Rendered>, LdpError> {
        if let Some(hit) = self.cache.get(iri, variant) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let mut rep = self.read_graph(iri, variant.1)?;
        strip_links(&mut rep, hidden);
        let rendered = Arc::new(Rendered {
            body: self.serialise(&rep.graph, iri, variant.0),
            worker_links: self.worker_links(&rep.graph, iri),
            etag: rep.etag,
        });
        self.cache
            .insert(generation, iri, variant, rendered.clone());
        Ok(rendered)
    }

    /// The workers among `links` that `principal` may not see.
    fn hidden_workers(
        &self,
        links: &[NamedNode],
        principal: &Principal,
    ) -> Result<BTreeSet<NamedNode>, LdpError> {
        let mut hidden = BTreeSet::new();
        if principal.is_server_admin() {
            return Ok(hidden);
        }
        let mut audience: Option<Audience> = None;
        for worker in links {
            let facts = self.worker_facts(worker)?;
            if facts.visibility == Visibility::Public {
                continue;
            }
            let audience = match &mut audience {
                Some(a) => &*a,
                None => &*audience.insert(self.access.audience(principal)?),
            };
            if !audience.can_see(&facts) {
                hidden.insert(worker.clone());
            }
        }
        Ok(hidden)
    }

    /// `graph` written in `format`, about `subject`, JSON-LD compacted with our context.
    pub fn serialise(&self, graph: &Graph, subject: &NamedNode, format: OutputFormat) -> Vec<u8> {
        write_graph(graph, format, Some(subject.as_ref()), &self.paths.context())
    }

    /// Applies `changes` in one transaction and forgets renderings they made stale.
    pub(crate) fn commit(&self, changes: &ChangeSet) -> Result<(), LdpError> {
        let result = self.store.apply(changes);
        self.cache.committed(changes);
        result?;
        // Write the new summaries through: the next listing need not read the store.
        let generation = self.cache.generation();
        for (name, graph) in changes.replace.iter().chain(&changes.create) {
            if let Some(Location::Member(kind, _)) = self.paths.locate(name.as_str()) {
                let summary: Vec<(NamedNode, Term)> = graph
                    .triples_for_subject(name)
                    .filter(|t| {
                        t.predicate == rdf::TYPE || kind.summary_properties().contains(&t.predicate)
                    })
                    .map(|t| (t.predicate.into_owned(), t.object.into_owned()))
                    .collect();
                self.cache
                    .insert_summary(generation, name, Arc::new(summary));
            }
        }
        Ok(())
    }

    /// After a bulk load that bypassed [`Self::commit`].
    pub(crate) fn forget_renderings(&self) {
        self.cache.clear();
    }

    /// The root container, listing the four containers.
    pub fn read_root(&self) -> Representation {
        let root = self.paths.root();
        let mut graph = Graph::new();
        graph.insert(TripleRef::new(&root, rdf::TYPE, ldp::BASIC_CONTAINER));
        graph.insert(TripleRef::new(&root, rdf::TYPE, ldp::CONTAINER));
        for kind in Kind::ALL {
            let c = self.paths.container(kind);
            graph.insert(TripleRef::new(&root, ldp::CONTAINS, &c));
            graph.insert(TripleRef::new(&c, rdf::TYPE, ldp::BASIC_CONTAINER));
        }
        let etag = ETag::of_graph(&graph);
        Representation {
            subject: root,
            graph,
            etag,
        }
    }

    /// Sorted IRIs of a container's members.
    fn members(&self, kind: Kind) -> Result<Arc<Vec<NamedNode>>, LdpError> {
        let container = self.paths.container(kind);
        if let Some(hit) = self.cache.get_members(&container) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let mut members: Vec<NamedNode> = self
            .store
            .objects(container.as_ref(), container.as_ref(), ldp::CONTAINS)?
            .into_iter()
            .filter_map(|t| match t {
                Term::NamedNode(n) => Some(n),
                _ => None,
            })
            .collect();
        members.sort_unstable();
        let members = Arc::new(members);
        self.cache
            .insert_members(generation, &container, members.clone());
        Ok(members)
    }

    /// The members of `kind`'s container that `audience` may see (cached per audience until
    /// the next write, so that paging through a listing filters it once).
    fn visible_members(
        &self,
        kind: Kind,
        audience: &Audience,
    ) -> Result<Arc<Vec<NamedNode>>, LdpError> {
        if kind != Kind::Worker || *audience == Audience::Everyone {
            return self.members(kind);
        }
        if let Some(hit) = self.cache.get_visible(audience) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let members = self.members(kind)?;
        let mut visible = Vec::with_capacity(members.len());
        for member in members.iter() {
            if audience.can_see(&self.worker_facts(member)?) {
                visible.push(member.clone());
            }
        }
        let visible = Arc::new(visible);
        self.cache
            .insert_visible(generation, audience, visible.clone());
        Ok(visible)
    }

    /// Whether `iri` is a local worker that `audience` may not see.
    fn is_hidden_worker(&self, iri: &NamedNode, audience: &Audience) -> Result<bool, LdpError> {
        if *audience == Audience::Everyone
            || !matches!(
                self.paths.locate(iri.as_str()),
                Some(Location::Member(Kind::Worker, _))
            )
        {
            return Ok(false);
        }
        Ok(!audience.can_see(&self.worker_facts(iri)?))
    }

    /// One page of a container as `audience` sees it, members embedded as summaries
    /// unless `minimal`.
    pub fn read_container(
        &self,
        kind: Kind,
        page: usize,
        page_size: usize,
        minimal: bool,
        audience: &Audience,
    ) -> Result<ContainerPage, LdpError> {
        let container = self.paths.container(kind);
        let members = self.visible_members(kind, audience)?;
        let total = members.len();
        let page_size = page_size.max(1);
        let pages = total.div_ceil(page_size).max(1);
        let page = page.clamp(1, pages);
        let mut graph = Graph::new();
        graph.insert(TripleRef::new(&container, rdf::TYPE, ldp::BASIC_CONTAINER));
        graph.insert(TripleRef::new(&container, rdf::TYPE, ldp::CONTAINER));
        if !minimal {
            for member in members.iter().skip((page - 1) * page_size).take(page_size) {
                graph.insert(TripleRef::new(&container, ldp::CONTAINS, member));
                for (p, o) in self.summary(kind, member)?.iter() {
                    if let Term::NamedNode(linked) = o
                        && self.is_hidden_worker(linked, audience)?
                    {
                        continue;
                    }
                    graph.insert(TripleRef::new(member, p, o));
                }
            }
        }
        Ok(ContainerPage {
            graph,
            page,
            pages,
            total,
        })
    }

    /// A container page rendered in `format` as `principal` may see it, from the cache
    /// when nothing changed.
    pub fn render_container(
        &self,
        kind: Kind,
        page: usize,
        page_size: usize,
        minimal: bool,
        format: OutputFormat,
        principal: &Principal,
    ) -> Result<Arc<RenderedPage>, LdpError> {
        // Workers have a visibility, and projects link to workers (their lead): readers of
        // other containers all see the same.
        let audience = if matches!(kind, Kind::Worker | Kind::Project) {
            self.access.audience(principal)?
        } else {
            Audience::Everyone
        };
        let key = (kind, page, page_size, minimal, format, audience);
        if let Some(hit) = self.cache.get_page(&key) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let listing = self.read_container(kind, page, page_size, minimal, &key.5)?;
        let container = self.paths.container(kind);
        let body = self.serialise(&listing.graph, &container, format);
        // A page is always served from its rendering, so the rendering's hash is its
        // version (cheaper than hashing the sorted graph).
        let etag = ETag::of_bytes(&body);
        let rendered = Arc::new(RenderedPage {
            body,
            etag,
            page: listing.page,
            pages: listing.pages,
            total: listing.total,
        });
        self.cache.insert_page(generation, key, rendered.clone());
        Ok(rendered)
    }

    /// A member's types and summary properties, from the cache or the store.
    fn summary(&self, kind: Kind, member: &NamedNode) -> Result<Summary, LdpError> {
        if let Some(hit) = self.cache.get_summary(member) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let mut summary = Vec::new();
        // One lookup per wanted property: decoding only those terms is cheaper than
        // reading the member's whole graph.
        for p in std::iter::once(&rdf::TYPE).chain(kind.summary_properties()) {
            for o in self.store.objects(member.as_ref(), member.as_ref(), *p)? {
                summary.push((p.into_owned(), o));
            }
        }
        let summary = Arc::new(summary);
        self.cache
            .insert_summary(generation, member, summary.clone());
        Ok(summary)
    }

    // ---- writes ------------------------------------------------------------------

    /// A fresh IRI to parse a POST body against; [`Self::create`] renames it.
    pub fn provisional_iri(&self, kind: Kind) -> NamedNode {
        self.paths
            .member(kind, &format!("new-{}", uuid::Uuid::new_v4().simple()))
    }

    /// Creates a member of `kind`'s container from `graph`, which describes `provisional`,
    /// as `principal` (a member's new skill becomes a proposal).
    pub fn create(
        &self,
        kind: Kind,
        slug_hint: Option<&str>,
        provisional: &NamedNode,
        graph: Graph,
        principal: &Principal,
    ) -> Result<CreateOutcome, LdpError> {
        let _guard = self.writer_lock();
        let iri = self.free_iri(kind, slug_hint, &graph, provisional)?;
        let graph = rename(&graph, provisional, &iri);
        let prepared = self.prepare(kind, &iri, graph, None, false, principal)?;
        if prepared.decision == WriteDecision::Proposal {
            let proposal = self.store_proposal(&iri, prepared.graph, principal)?;
            return Ok(CreateOutcome::Proposed(proposal));
        }
        let outcome = self.store_prepared(
            kind,
            &iri,
            prepared,
            None,
            &principal.actor(),
            ChangeSet::default(),
        )?;
        Ok(CreateOutcome::Stored(outcome))
    }

    /// An IRI in `kind`'s container that is not taken: from the `Slug` hint, else the
    /// resource's name, else random; `-2`, `-3`… on a clash. The writer lock is held.
    pub(crate) fn free_iri(
        &self,
        kind: Kind,
        slug_hint: Option<&str>,
        graph: &Graph,
        provisional: &NamedNode,
    ) -> Result<NamedNode, LdpError> {
        let base_slug = slug_hint
            .and_then(slugify)
            .or_else(|| name_of(graph, provisional).and_then(|n| slugify(&n)))
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
        let mut slug = base_slug.clone();
        let mut n = 2;
        // `/projects/new` is the new-project form: no project takes that path.
        while (kind == Kind::Project && slug == "new")
            || self
                .store
                .contains_graph(self.paths.member(kind, &slug).as_ref())?
        {
            slug = format!("{base_slug}-{n}");
            n += 1;
        }
        Ok(self.paths.member(kind, &slug))
    }

    /// Replaces (or creates, with PUT) the resource at `iri`.
    pub fn replace(
        &self,
        iri: &NamedNode,
        graph: Graph,
        precondition: &Precondition,
        principal: &Principal,
    ) -> Result<WriteOutcome, LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        let old = (!old.is_empty()).then_some(old);
        self.check_precondition(kind, iri, old.as_ref(), precondition, principal)?;
        let prepared = self.prepare(kind, iri, graph, old.as_ref(), false, principal)?;
        if prepared.decision == WriteDecision::Proposal {
            return Err(LdpError::Access(AccessError::Forbidden(
                "members propose new skills by POSTing them to /skills/".into(),
            )));
        }
        self.store_prepared(
            kind,
            iri,
            prepared,
            old,
            &principal.actor(),
            ChangeSet::default(),
        )
    }

    /// Applies a patch to the resource at `iri`.
    pub fn patch(
        &self,
        iri: &NamedNode,
        patch: &Patch,
        precondition: &Precondition,
        principal: &Principal,
    ) -> Result<WriteOutcome, LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        if old.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        self.check_precondition(kind, iri, Some(&old), precondition, principal)?;
        let mut editable = old.clone();
        strip_server_managed(&mut editable, iri);
        let patched = patch.apply(&editable, iri)?;
        if patched.len() > self.max_triples {
            return Err(coopdir_syntax::SyntaxError::TooManyTriples {
                limit: self.max_triples,
            }
            .into());
        }
        let prepared = self.prepare(kind, iri, patched, Some(&old), true, principal)?;
        self.store_prepared(
            kind,
            iri,
            prepared,
            Some(old),
            &principal.actor(),
            ChangeSet::default(),
        )
    }

    /// A stale `If-Match` is a 412, but only for a principal who may see the resource:
    /// for anyone else it does not exist.
    fn check_precondition(
        &self,
        kind: Kind,
        iri: &NamedNode,
        old: Option<&Graph>,
        precondition: &Precondition,
        principal: &Principal,
    ) -> Result<(), LdpError> {
        let current = old.map(ETag::of_graph);
        if precondition.check(current.as_ref()) {
            return Ok(());
        }
        if let Some(old) = old
            && kind == Kind::Worker
            && self
                .access
                .read_view(principal, &WorkerFacts::from_graph(old, iri))?
                .is_none()
        {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        Err(LdpError::PreconditionFailed {
            current: current.map(|e| e.version),
        })
    }

    /// Deletes the resource at `iri` and the links to it held by other local resources.
    pub fn delete(
        &self,
        iri: &NamedNode,
        precondition: &Precondition,
        principal: &Principal,
    ) -> Result<(), LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        if old.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        self.access
            .check_write(principal, Action::Delete, kind, iri, Some(&old), None)?;
        self.check_precondition(kind, iri, Some(&old), precondition, principal)?;
        let container = self.paths.container(kind);
        let mut changes = ChangeSet {
            drop: vec![iri.clone()],
            ..Default::default()
        };
        changes.remove.push(Quad::new(
            container.clone(),
            ldp::CONTAINS,
            iri.clone(),
            container.clone(),
        ));
        let actor = principal.actor();
        changes.records.push(self.record(
            kind,
            iri,
            Operation::Delete,
            &actor,
            Some(Visibility::of(&old, iri.as_ref())),
            None,
        ));

        for g in self.resources_linking_to(iri)? {
            let mut graph = self.store.graph(g.as_ref())?;
            remove_links_to(&mut graph, iri);
            let report = self.validate(&graph, Some(iri))?;
            if !report.conforms() {
                return Err(LdpError::ConflictWithReport {
                    message: format!(
                        "deleting {iri} would leave {g} invalid; change or delete {g} first"
                    ),
                    report,
                });
            }
            changes.records.extend(self.side_effect_record(&g, &actor)?);
            changes.replace.push((g, graph));
        }
        self.commit(&changes)?;
        tracing::info!(resource = %iri, "deleted");
        Ok(())
    }

    /// The resources (not containers, not system graphs) whose graphs link to `iri`.
    fn resources_linking_to(&self, iri: &NamedNode) -> Result<BTreeSet<NamedNode>, LdpError> {
        let mut linking = BTreeSet::new();
        for quad in self.store.quads_with_object(iri.as_ref().into())? {
            if let oxigraph::model::GraphName::NamedNode(g) = &quad.graph_name
                && g != iri
                && !matches!(
                    self.paths.locate(g.as_str()),
                    Some(Location::Root | Location::Container(_))
                )
                && !coopdir_store::is_system_graph(g.as_str())
            {
                linking.insert(g.clone());
            }
        }
        Ok(linking)
    }

    pub(crate) fn member_kind(&self, iri: &NamedNode) -> Result<Kind, LdpError> {
        match self.paths.locate(iri.as_str()) {
            Some(Location::Member(kind, _)) if !iri.as_str().contains('#') => Ok(kind),
            Some(Location::Root | Location::Container(_)) => Err(LdpError::MethodNotAllowed(
                "containers are managed by the server: POST to them to create members".into(),
            )),
            _ => Err(LdpError::NotFound(iri.as_str().to_owned())),
        }
    }

    /// A change-log record of a write to a local resource.
    pub(crate) fn record(
        &self,
        kind: Kind,
        iri: &NamedNode,
        operation: Operation,
        actor: &Actor,
        before: Option<Visibility>,
        after: Option<Visibility>,
    ) -> ChangeRecord {
        change_record(
            kind,
            iri,
            operation,
            self.paths.base(),
            actor,
            before,
            after,
        )
    }

    /// The record of a resource changed as a side effect (a link to or from it kept
    /// consistent, which leaves its visibility as it was: read from its cached summary).
    fn side_effect_record(
        &self,
        iri: &NamedNode,
        actor: &Actor,
    ) -> Result<Option<ChangeRecord>, LdpError> {
        let Some(Location::Member(kind, _)) = self.paths.locate(iri.as_str()) else {
            return Ok(None);
        };
        let visibility = if kind == Kind::Worker {
            self.worker_facts(iri)?.visibility
        } else {
            Visibility::Public
        };
        Ok(Some(self.record(
            kind,
            iri,
            Operation::Patch,
            actor,
            Some(visibility),
            Some(visibility),
        )))
    }

    /// Completes `graph` with what the server maintains and asks the rules whether
    /// `principal` may store it; the writer lock is held.
    pub(crate) fn prepare(
        &self,
        kind: Kind,
        iri: &NamedNode,
        graph: Graph,
        old: Option<&Graph>,
        patch: bool,
        principal: &Principal,
    ) -> Result<Prepared, LdpError> {
        let graph = self.complete(kind, iri, graph, old, principal.worker())?;
        let (action, operation) = match (old, patch) {
            (None, _) => (Action::Create, Operation::Create),
            (Some(_), false) => (Action::Replace, Operation::Replace),
            (Some(_), true) => (Action::Patch, Operation::Patch),
        };
        let decision = self
            .access
            .check_write(principal, action, kind, iri, old, Some(&graph))?;
        Ok(Prepared {
            graph,
            decision,
            operation,
        })
    }

    /// `graph` checked for scope and class and completed with what the server maintains;
    /// a project created by a person gets them (`author`) as its lead.
    pub(crate) fn complete(
        &self,
        kind: Kind,
        iri: &NamedNode,
        mut graph: Graph,
        old: Option<&Graph>,
        author: Option<&NamedNode>,
    ) -> Result<Graph, LdpError> {
        check_scope(&graph, iri)?;
        self.check_type(kind, iri, &mut graph)?;
        complete_known_skills(&mut graph, iri);
        if old.is_none()
            && kind == Kind::Project
            && let Some(me) = author
            && graph.object_for_subject_predicate(iri, dir::LEAD).is_none()
        {
            graph.insert(TripleRef::new(iri, dir::LEAD, me));
        }
        strip_server_managed(&mut graph, iri);
        Ok(graph)
    }

    /// Validates and stores a prepared write, with `extra` changes in the same
    /// transaction; the writer lock is held and access was checked.
    pub(crate) fn store_prepared(
        &self,
        kind: Kind,
        iri: &NamedNode,
        prepared: Prepared,
        old: Option<Graph>,
        actor: &Actor,
        extra: ChangeSet,
    ) -> Result<WriteOutcome, LdpError> {
        let Prepared {
            mut graph,
            operation,
            ..
        } = prepared;
        let now = now();
        let created = old
            .as_ref()
            .and_then(|o| {
                o.object_for_subject_predicate(iri, dcterms::CREATED)
                    .map(TermRef::into_owned)
            })
            .unwrap_or_else(|| now.clone().into());
        graph.insert(TripleRef::new(iri, dcterms::CREATED, created.as_ref()));
        graph.insert(TripleRef::new(iri, dcterms::MODIFIED, &now));

        let t0 = std::time::Instant::now();
        let report = self.validate(&graph, None)?;
        let validated = t0.elapsed();
        if !report.conforms() {
            return Err(LdpError::Invalid(report));
        }

        let mut changes = ChangeSet::default();
        let is_new = old.is_none();
        if is_new {
            let container = self.paths.container(kind);
            changes.insert.push(Quad::new(
                container.clone(),
                ldp::CONTAINS,
                iri.clone(),
                container,
            ));
        }
        let before = old.as_ref().map(|o| Visibility::of(o, iri.as_ref()));
        let after = Visibility::of(&graph, iri.as_ref());
        changes
            .records
            .push(self.record(kind, iri, operation, actor, before, Some(after)));
        self.mirror_inverse_links(iri, &graph, old.as_ref(), actor, &mut changes)?;
        if kind == Kind::Worker
            && before.is_some_and(|b| (b == Visibility::Public) != (after == Visibility::Public))
        {
            // What links to a person who turned private (or public again) loses (or
            // regains) that link in its public view: consumers of public data (the
            // outbox, the SPARQL view) are told through a record of its own.
            for linking in self.resources_linking_to(iri)? {
                if !changes
                    .records
                    .iter()
                    .any(|r| r.resource == linking.as_str())
                {
                    changes
                        .records
                        .extend(self.side_effect_record(&linking, actor)?);
                }
            }
        }
        let mirrored = t0.elapsed();
        let etag = ETag::of_graph(&graph);
        if is_new {
            changes.create.push((iri.clone(), graph.clone()));
        } else {
            changes.replace.push((iri.clone(), graph.clone()));
        }
        changes.merge(extra);
        self.commit(&changes)?;
        tracing::info!(
            resource = %iri,
            created = is_new,
            validate_us = validated.as_micros() as u64,
            mirror_us = (mirrored - validated).as_micros() as u64,
            total_us = t0.elapsed().as_micros() as u64,
            "stored"
        );
        Ok(WriteOutcome {
            iri: iri.clone(),
            created: is_new,
            etag,
            graph,
        })
    }

    /// The container decides the class: added when missing, refused when foreign.
    fn check_type(&self, kind: Kind, iri: &NamedNode, graph: &mut Graph) -> Result<(), LdpError> {
        let types: Vec<NamedNode> = graph
            .objects_for_subject_predicate(iri, rdf::TYPE)
            .filter_map(|t| match t {
                TermRef::NamedNode(n) => Some(n.into_owned()),
                _ => None,
            })
            .collect();
        if types.is_empty() {
            graph.insert(TripleRef::new(iri, rdf::TYPE, kind.class()));
            return Ok(());
        }
        if types
            .iter()
            .any(|t| kind.member_classes().contains(&t.as_ref()))
        {
            return Ok(());
        }
        Err(LdpError::Unprocessable(format!(
            "a member of {} must have the type {} (found {})",
            self.paths.container(kind),
            kind.class(),
            types
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// What the shapes say of a draft that is not stored (a form shows every problem at
    /// once, its own checks and the shapes').
    pub fn validate_draft(
        &self,
        graph: &Graph,
    ) -> Result<coopdir_shacl::ValidationReport, LdpError> {
        self.validate(graph, None)
    }

    /// Validates the nodes `graph` describes, with the types of linked resources looked
    /// up in the store (`deleted` counts as gone).
    pub(crate) fn validate(
        &self,
        graph: &Graph,
        deleted: Option<&NamedNode>,
    ) -> Result<coopdir_shacl::ValidationReport, LdpError> {
        let data = self.with_linked_types(graph, deleted)?;
        let focus: Vec<Term> = subjects(graph).into_iter().map(Term::from).collect();
        Ok(self.shapes.compiled.validate_nodes(&data, &focus))
    }

    /// `graph` plus the stored `rdf:type`s of the resources it links to and does not
    /// describe itself, so that `sh:class` can check links (`deleted` counts as gone).
    pub(crate) fn with_linked_types(
        &self,
        graph: &Graph,
        deleted: Option<&NamedNode>,
    ) -> Result<Graph, LdpError> {
        let mut data = graph.clone();
        let mut linked: HashSet<NamedNodeRef<'_>> = HashSet::new();
        for t in graph.iter() {
            if let TermRef::NamedNode(o) = t.object
                && t.predicate != rdf::TYPE
                && Some(o) != deleted.map(NamedNode::as_ref)
                && graph.triples_for_subject(o).next().is_none()
            {
                linked.insert(o);
            }
        }
        for o in linked {
            for class in self.types_of(&o.into_owned())?.iter() {
                data.insert(TripleRef::new(o, rdf::TYPE, class.as_ref()));
            }
        }
        Ok(data)
    }

    /// The stored `rdf:type`s of a resource (none when it does not exist), cached.
    fn types_of(&self, iri: &NamedNode) -> Result<Arc<Vec<Term>>, LdpError> {
        if let Some(hit) = self.cache.get_types(iri) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let types = Arc::new(self.store.objects(iri.as_ref(), iri.as_ref(), rdf::TYPE)?);
        self.cache.insert_types(generation, iri, types.clone());
        Ok(types)
    }

    /// Keeps inverse links (`schema:memberOf`/`schema:member`, `skos:broader`/`skos:narrower`)
    /// consistent in the linked resources' graphs.
    fn mirror_inverse_links(
        &self,
        iri: &NamedNode,
        new: &Graph,
        old: Option<&Graph>,
        actor: &Actor,
        changes: &mut ChangeSet,
    ) -> Result<(), LdpError> {
        let mut touched: BTreeSet<NamedNode> = BTreeSet::new();
        let own_types: Vec<NamedNode> = types_in(new, iri);
        let mut removed_from: HashMap<NamedNode, Vec<Quad>> = HashMap::new();
        for rule in INVERSE_LINKS {
            if !own_types
                .iter()
                .any(|t| rule.subject_classes.contains(&t.as_ref()))
            {
                continue;
            }
            let now_linked = linked_iris(new, iri, rule.property);
            let was_linked = old
                .map(|o| linked_iris(o, iri, rule.property))
                .unwrap_or_default();
            for target in now_linked.difference(&was_linked) {
                if target == iri {
                    continue;
                }
                let target_types = self.types_of(target)?;
                if target_types.iter().any(|t| matches!(t, Term::NamedNode(n) if rule.object_classes.contains(&n.as_ref()))) {
                    changes.insert.push(Quad::new(target.clone(), rule.inverse, iri.clone(), target.clone()));
                    touched.insert(target.clone());
                }
            }
            for target in was_linked.difference(&now_linked) {
                let quad = Quad::new(target.clone(), rule.inverse, iri.clone(), target.clone());
                removed_from.entry(target.clone()).or_default().push(quad);
            }
        }
        // Removing a link may leave the other resource invalid (a worker with no co-op).
        for (target, quads) in removed_from {
            let mut graph = self.store.graph(target.as_ref())?;
            if graph.is_empty() {
                continue;
            }
            for q in &quads {
                graph.remove(TripleRef::new(&q.subject, &q.predicate, &q.object));
            }
            let report = self.validate(&graph, None)?;
            if !report.conforms() {
                return Err(LdpError::ConflictWithReport {
                    message: format!(
                        "this change removes the link from {target} back to {iri}, which would leave {target} invalid; change {target} first"
                    ),
                    report,
                });
            }
            changes.remove.extend(quads);
            touched.insert(target);
        }
        // The linked resources changed too: the log says so.
        for target in touched {
            changes
                .records
                .extend(self.side_effect_record(&target, actor)?);
        }
        Ok(())
    }
}

/// Removes the links to `hidden` workers from a resource as read (its version follows).
fn strip_links(rep: &mut Representation, hidden: &BTreeSet<NamedNode>) {
    if hidden.is_empty() {
        return;
    }
    let links: Vec<Triple> = rep
        .graph
        .iter()
        .filter(|t| matches!(t.object, TermRef::NamedNode(o) if hidden.contains(&o.into_owned())))
        .map(TripleRef::into_owned)
        .collect();
    for t in &links {
        rep.graph.remove(t);
    }
    rep.etag = ETag::of_graph(&rep.graph);
}

/// A write checked and completed, not yet validated or stored.
pub(crate) struct Prepared {
    pub(crate) graph: Graph,
    pub(crate) decision: WriteDecision,
    pub(crate) operation: Operation,
}

/// Whether a literal or IRI looks like the resource's human name, for slugs.
fn name_of(graph: &Graph, subject: &NamedNode) -> Option<String> {
    for p in [schema::NAME, coopdir_vocab::skos::PREF_LABEL] {
        if let Some(TermRef::Literal(l)) = graph.object_for_subject_predicate(subject, p) {
            return Some(l.value().to_owned());
        }
    }
    None
}

/// A change-log record of a write to a resource of `origin` (ours, or a peer's replica).
pub(crate) fn change_record(
    kind: Kind,
    iri: &NamedNode,
    operation: Operation,
    origin: &str,
    actor: &Actor,
    before: Option<Visibility>,
    after: Option<Visibility>,
) -> ChangeRecord {
    ChangeRecord {
        resource: iri.as_str().to_owned(),
        kind: kind.shape_name().to_owned(),
        operation,
        origin: origin.to_owned(),
        actor: actor.clone(),
        time: now().value().to_owned(),
        visibility_before: before,
        visibility_after: after,
    }
}

pub(crate) fn now() -> Literal {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    Literal::new_typed_literal(now, xsd::DATE_TIME)
}

/// Server-managed properties a client may not set.
fn strip_server_managed(graph: &mut Graph, iri: &NamedNode) {
    let managed: Vec<Triple> = graph
        .triples_for_subject(iri)
        .filter(|t| t.predicate == dcterms::CREATED || t.predicate == dcterms::MODIFIED)
        .map(TripleRef::into_owned)
        .collect();
    for t in &managed {
        graph.remove(t);
    }
}

/// Every skill a worker claims through `dir:hasSkill` is also a `schema:knowsAbout`, so
/// that consumers who do not know our vocabulary still see it.
pub(crate) fn complete_known_skills(graph: &mut Graph, iri: &NamedNode) {
    let skills: Vec<Term> = graph
        .objects_for_subject_predicate(iri, coopdir_vocab::dir::HAS_SKILL)
        .filter_map(|node| match node {
            TermRef::BlankNode(b) => {
                graph.object_for_subject_predicate(b, coopdir_vocab::dir::SKILL)
            }
            TermRef::NamedNode(n) => {
                graph.object_for_subject_predicate(n, coopdir_vocab::dir::SKILL)
            }
            TermRef::Literal(_) => None,
        })
        .map(TermRef::into_owned)
        .collect();
    for skill in skills {
        if skill.is_named_node() {
            graph.insert(TripleRef::new(iri, schema::KNOWS_ABOUT, skill.as_ref()));
        }
    }
}

/// A request may only describe the target resource, its `#fragments` and blank nodes.
pub(crate) fn check_scope(graph: &Graph, iri: &NamedNode) -> Result<(), LdpError> {
    let prefix = format!("{}#", iri.as_str());
    for t in graph.iter() {
        if let NamedOrBlankNodeRef::NamedNode(s) = t.subject
            && s != iri.as_ref()
            && !s.as_str().starts_with(&prefix)
        {
            return Err(LdpError::Unprocessable(format!(
                "the document describes {s}, but a request may only describe {iri} (and its #fragments and blank nodes); the server maintains links back to this resource itself"
            )));
        }
    }
    if graph.triples_for_subject(iri).next().is_none() {
        return Err(LdpError::Unprocessable(format!(
            "the document says nothing about {iri}: in JSON-LD use \"id\": \"\" (or the resource's IRI), in Turtle <>"
        )));
    }
    Ok(())
}

pub(crate) fn subjects(graph: &Graph) -> Vec<NamedOrBlankNode> {
    let mut out: Vec<NamedOrBlankNode> = Vec::new();
    let mut seen = HashSet::new();
    for t in graph.iter() {
        if seen.insert(t.subject) {
            out.push(t.subject.into_owned());
        }
    }
    out
}

fn types_in(graph: &Graph, iri: &NamedNode) -> Vec<NamedNode> {
    graph
        .objects_for_subject_predicate(iri, rdf::TYPE)
        .filter_map(|t| match t {
            TermRef::NamedNode(n) => Some(n.into_owned()),
            _ => None,
        })
        .collect()
}

fn linked_iris(graph: &Graph, iri: &NamedNode, property: NamedNodeRef<'_>) -> BTreeSet<NamedNode> {
    graph
        .objects_for_subject_predicate(iri, property)
        .filter_map(|t| match t {
            TermRef::NamedNode(n) => Some(n.into_owned()),
            _ => None,
        })
        .collect()
}

/// Removes every triple pointing at `target`; a blank node left pointing nowhere useful
/// (a qualified skill about a deleted skill) goes with its incoming link.
fn remove_links_to(graph: &mut Graph, target: &NamedNode) {
    let direct: Vec<Triple> = graph
        .triples_for_object(target)
        .map(TripleRef::into_owned)
        .collect();
    let mut orphans: Vec<NamedOrBlankNode> = Vec::new();
    for t in &direct {
        graph.remove(t);
        if t.subject.is_blank_node() {
            orphans.push(t.subject.clone());
        }
    }
    while let Some(node) = orphans.pop() {
        let inner: Vec<Triple> = graph
            .triples_for_subject(&node)
            .map(TripleRef::into_owned)
            .collect();
        for t in &inner {
            graph.remove(t);
            if let Term::BlankNode(b) = &t.object {
                orphans.push(b.clone().into());
            }
        }
        let term: Term = match &node {
            NamedOrBlankNode::BlankNode(b) => b.clone().into(),
            NamedOrBlankNode::NamedNode(n) => n.clone().into(),
        };
        let incoming: Vec<Triple> = graph
            .triples_for_object(&term)
            .map(TripleRef::into_owned)
            .collect();
        for t in &incoming {
            graph.remove(t);
            if t.subject.is_blank_node() {
                orphans.push(t.subject.clone());
            }
        }
    }
}

/// Renames `from` (and its `#fragments`) to `to` everywhere in `graph`.
pub(crate) fn rename(graph: &Graph, from: &NamedNode, to: &NamedNode) -> Graph {
    let map_iri = |n: NamedNodeRef<'_>| -> NamedNode {
        if n == from.as_ref() {
            to.clone()
        } else if let Some(fragment) = n
            .as_str()
            .strip_prefix(from.as_str())
            .filter(|r| r.starts_with('#'))
        {
            NamedNode::new_unchecked(format!("{}{fragment}", to.as_str()))
        } else {
            n.into_owned()
        }
    };
    let mut out = Graph::new();
    for t in graph.iter() {
        let subject: NamedOrBlankNode = match t.subject {
            NamedOrBlankNodeRef::NamedNode(n) => map_iri(n).into(),
            other => other.into_owned(),
        };
        let object: Term = match t.object {
            TermRef::NamedNode(n) => map_iri(n).into(),
            other => other.into_owned(),
        };
        out.insert(&Triple::new(subject, t.predicate.into_owned(), object));
    }
    out
}
