//! The directory: reads and validated, consistent writes of LDP resources.

use coopdir_store::{ChangeSet, GraphStore};
use coopdir_syntax::{OutputFormat, write_graph};
use coopdir_vocab::{INVERSE_LINKS, Kind, PRIVATE_PROPERTIES, dcterms, ldp, schema};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{
    Graph, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Quad, Term,
    TermRef, Triple, TripleRef,
};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::cache::{RenderCache, Rendered, RenderedPage, Summary};
use crate::etag::{ETag, Precondition};
use crate::patch::Patch;
use crate::paths::{Location, Paths, slugify};
use crate::shapes::ShapeSet;
use crate::{LdpError, credentials};

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

pub struct Directory {
    store: Arc<dyn GraphStore>,
    shapes: ShapeSet,
    paths: Paths,
    /// Serialises writes: oxigraph has no write-write conflict detection.
    writer: Mutex<()>,
    token_hashes: RwLock<HashSet<String>>,
    cache: RenderCache,
}

impl Directory {
    pub fn new(
        store: Arc<dyn GraphStore>,
        shapes: ShapeSet,
        paths: Paths,
    ) -> Result<Self, LdpError> {
        let hashes = credentials::admin_token_hashes(store.as_ref())?;
        Ok(Self {
            store,
            shapes,
            paths,
            writer: Mutex::new(()),
            token_hashes: RwLock::new(hashes.into_iter().collect()),
            cache: RenderCache::default(),
        })
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
    pub(crate) fn writer_lock(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ---- credentials -------------------------------------------------------------

    pub fn verify_token(&self, token: &str) -> bool {
        let hash = credentials::hash(token);
        self.token_hashes
            .read()
            .map(|set| set.contains(&hash))
            .unwrap_or(false)
    }

    pub fn create_admin_token(&self) -> Result<String, LdpError> {
        let token = credentials::create_admin_token(self.store.as_ref())?;
        if let Ok(mut set) = self.token_hashes.write() {
            set.insert(credentials::hash(&token));
        }
        Ok(token)
    }

    // ---- reads -------------------------------------------------------------------

    /// Reads a member resource; private properties are left out unless `include_private`.
    pub fn read(&self, iri: &NamedNode, include_private: bool) -> Result<Representation, LdpError> {
        let mut graph = self.store.graph(iri.as_ref())?;
        if graph.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        let etag = ETag::of_graph(&graph);
        if !include_private && graph.contains(TripleRef::new(iri, rdf::TYPE, schema::PERSON)) {
            let private: Vec<Triple> = PRIVATE_PROPERTIES
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

    /// A member resource rendered in `format`, from the cache when it is unchanged.
    pub fn render(
        &self,
        iri: &NamedNode,
        format: OutputFormat,
        include_private: bool,
    ) -> Result<Arc<Rendered>, LdpError> {
        let variant = (format, include_private);
        if let Some(hit) = self.cache.get(iri, variant) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let rep = self.read(iri, include_private)?;
        let body = self.serialise(&rep.graph, iri, format);
        let rendered = Arc::new(Rendered {
            body,
            etag: rep.etag,
        });
        self.cache
            .insert(generation, iri, variant, rendered.clone());
        Ok(rendered)
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

    /// One page of a container, members embedded as summaries unless `minimal`.
    pub fn read_container(
        &self,
        kind: Kind,
        page: usize,
        page_size: usize,
        minimal: bool,
    ) -> Result<ContainerPage, LdpError> {
        let container = self.paths.container(kind);
        let members = self.members(kind)?;
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

    /// A container page rendered in `format`, from the cache when nothing changed.
    pub fn render_container(
        &self,
        kind: Kind,
        page: usize,
        page_size: usize,
        minimal: bool,
        format: OutputFormat,
    ) -> Result<Arc<RenderedPage>, LdpError> {
        let key = (kind, page, page_size, minimal, format);
        if let Some(hit) = self.cache.get_page(&key) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let listing = self.read_container(kind, page, page_size, minimal)?;
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

    /// Creates a member of `kind`'s container from `graph`, which describes `provisional`.
    pub fn create(
        &self,
        kind: Kind,
        slug_hint: Option<&str>,
        provisional: &NamedNode,
        graph: Graph,
    ) -> Result<WriteOutcome, LdpError> {
        let _guard = self.writer_lock();
        let base_slug = slug_hint
            .and_then(slugify)
            .or_else(|| name_of(&graph, provisional).and_then(|n| slugify(&n)))
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
        let mut slug = base_slug.clone();
        let mut n = 2;
        while self
            .store
            .contains_graph(self.paths.member(kind, &slug).as_ref())?
        {
            slug = format!("{base_slug}-{n}");
            n += 1;
        }
        let iri = self.paths.member(kind, &slug);
        let graph = rename(&graph, provisional, &iri);
        self.write_locked(kind, &iri, graph, None)
    }

    /// Replaces (or creates, with PUT) the resource at `iri`.
    pub fn replace(
        &self,
        iri: &NamedNode,
        graph: Graph,
        precondition: &Precondition,
    ) -> Result<WriteOutcome, LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        let current = (!old.is_empty()).then(|| ETag::of_graph(&old));
        if !precondition.check(current.as_ref()) {
            return Err(LdpError::PreconditionFailed {
                current: current.map(|e| e.version),
            });
        }
        self.write_locked(kind, iri, graph, (!old.is_empty()).then_some(old))
    }

    /// Applies a patch to the resource at `iri`.
    pub fn patch(
        &self,
        iri: &NamedNode,
        patch: &Patch,
        precondition: &Precondition,
    ) -> Result<WriteOutcome, LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        if old.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        let current = ETag::of_graph(&old);
        if !precondition.check(Some(&current)) {
            return Err(LdpError::PreconditionFailed {
                current: Some(current.version),
            });
        }
        let mut editable = old.clone();
        strip_server_managed(&mut editable, iri);
        let patched = patch.apply(&editable, iri)?;
        self.write_locked(kind, iri, patched, Some(old))
    }

    /// Deletes the resource at `iri` and the links to it held by other local resources.
    pub fn delete(&self, iri: &NamedNode, precondition: &Precondition) -> Result<(), LdpError> {
        let kind = self.member_kind(iri)?;
        let _guard = self.writer_lock();
        let old = self.store.graph(iri.as_ref())?;
        if old.is_empty() {
            return Err(LdpError::NotFound(iri.as_str().to_owned()));
        }
        let current = ETag::of_graph(&old);
        if !precondition.check(Some(&current)) {
            return Err(LdpError::PreconditionFailed {
                current: Some(current.version),
            });
        }
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

        let mut affected: BTreeSet<NamedNode> = BTreeSet::new();
        for quad in self.store.quads_with_object(iri.as_ref().into())? {
            if let oxigraph::model::GraphName::NamedNode(g) = &quad.graph_name
                && g != iri
                && *g != container
            {
                affected.insert(g.clone());
            }
        }
        for g in affected {
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
            changes.replace.push((g, graph));
        }
        self.commit(&changes)?;
        tracing::info!(resource = %iri, "deleted");
        Ok(())
    }

    fn member_kind(&self, iri: &NamedNode) -> Result<Kind, LdpError> {
        match self.paths.locate(iri.as_str()) {
            Some(Location::Member(kind, _)) if !iri.as_str().contains('#') => Ok(kind),
            Some(Location::Root | Location::Container(_)) => Err(LdpError::MethodNotAllowed(
                "containers are managed by the server: POST to them to create members".into(),
            )),
            _ => Err(LdpError::NotFound(iri.as_str().to_owned())),
        }
    }

    /// Validates and stores `graph` as the new content of `iri`; the writer lock is held.
    fn write_locked(
        &self,
        kind: Kind,
        iri: &NamedNode,
        mut graph: Graph,
        old: Option<Graph>,
    ) -> Result<WriteOutcome, LdpError> {
        check_scope(&graph, iri)?;
        self.check_type(kind, iri, &mut graph)?;
        complete_known_skills(&mut graph, iri);
        let now = now();
        strip_server_managed(&mut graph, iri);
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
        self.mirror_inverse_links(iri, &graph, old.as_ref(), &mut changes)?;
        let mirrored = t0.elapsed();
        let etag = ETag::of_graph(&graph);
        if is_new {
            changes.create.push((iri.clone(), graph.clone()));
        } else {
            changes.replace.push((iri.clone(), graph.clone()));
        }
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

    /// Validates the nodes `graph` describes, with the types of linked resources looked
    /// up in the store (`deleted` counts as gone).
    fn validate(
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
        changes: &mut ChangeSet,
    ) -> Result<(), LdpError> {
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
        }
        Ok(())
    }
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
fn check_scope(graph: &Graph, iri: &NamedNode) -> Result<(), LdpError> {
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

fn subjects(graph: &Graph) -> Vec<NamedOrBlankNode> {
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
fn rename(graph: &Graph, from: &NamedNode, to: &NamedNode) -> Graph {
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
