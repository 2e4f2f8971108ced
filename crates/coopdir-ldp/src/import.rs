//! Bulk import: many resources from one RDF document, validated, then stored at once.
//!
//! Resources are validated one by one, each in a small graph of its own plus the types
//! of what it links to (from the import itself or the store), on every core: small
//! graphs keep validation fast and memory flat however large the import is.

use coopdir_access::Principal;
use coopdir_shacl::ValidationReport;
use coopdir_store::{ChangeRecord, ChangeSet, Operation};
use coopdir_vocab::{INVERSE_LINKS, Kind, Visibility, dcterms, dir, ldp, schema, skos};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{
    Graph, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, Term, Triple, TripleRef,
};
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::directory::{complete_known_skills, now};
use crate::paths::Location;
use crate::{Directory, LdpError};

/// What an import stored.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub resources: usize,
    pub quads: usize,
    /// Stored concepts of the schemes this import describes that the import left out:
    /// kept (people may hold them), with how many people do.
    pub missing_concepts: Vec<(NamedNode, usize)>,
}

/// Stages an import goes through, for progress display.
#[derive(Debug, Clone, Copy)]
pub enum ImportStage {
    Grouping,
    Validating,
    Writing,
}

/// At most this many violations are collected before validation stops.
const MAX_REPORTED: usize = 100;

impl Directory {
    /// Imports `triples`, regrouped into resources by subject (IRIs without their
    /// fragment; blank nodes with the resource that refers to them). Either every
    /// resource is valid and all are stored, or nothing is.
    /// `system` holds accounts, token hashes, invitations and proposals from a backup
    /// export, stored as they are.
    pub fn import(
        &self,
        triples: Vec<Triple>,
        system: Vec<Quad>,
        progress: &dyn Fn(ImportStage, usize),
        principal: &Principal,
    ) -> Result<ImportSummary, LdpError> {
        self.access().check_server_admin(principal)?;
        let paths = self.paths();
        let started = std::time::Instant::now();
        progress(ImportStage::Grouping, triples.len());

        // Containers and the root are derived by the server; their triples are not data.
        let triples: Vec<Triple> = triples
            .into_iter()
            .filter(|t| match &t.subject {
                NamedOrBlankNode::NamedNode(s) => {
                    s.as_str().contains('#')
                        || !matches!(
                            paths.locate(s.as_str()),
                            Some(Location::Root | Location::Container(_))
                        )
                }
                NamedOrBlankNode::BlankNode(_) => true,
            })
            .collect();
        let mut by_subject: HashMap<&NamedOrBlankNode, Vec<usize>> = HashMap::new();
        for (i, t) in triples.iter().enumerate() {
            by_subject.entry(&t.subject).or_default().push(i);
        }

        // Group: each named subject's resource takes its triples and, transitively, those
        // of the blank nodes it refers to.
        let mut groups: BTreeMap<NamedNode, Vec<usize>> = BTreeMap::new();
        let mut owned: HashSet<&NamedOrBlankNode> = HashSet::new();
        for (subject, indices) in &by_subject {
            let NamedOrBlankNode::NamedNode(s) = subject else {
                continue;
            };
            let resource =
                NamedNode::new_unchecked(s.as_str().split('#').next().unwrap_or(s.as_str()));
            let group = groups.entry(resource).or_default();
            let mut stack: Vec<&Vec<usize>> = vec![indices];
            while let Some(indices) = stack.pop() {
                for &i in indices {
                    group.push(i);
                    if let Term::BlankNode(b) = &triples[i].object
                        && let Some((key, inner)) =
                            by_subject.get_key_value(&NamedOrBlankNode::from(b.clone()))
                        && owned.insert(key)
                    {
                        stack.push(inner);
                    }
                }
            }
        }
        if let Some(orphan) = by_subject
            .keys()
            .find(|s| s.is_blank_node() && !owned.contains(*s))
        {
            return Err(LdpError::Unprocessable(format!(
                "the blank node {orphan} is not reachable from any resource; give it an IRI or link it from one"
            )));
        }

        // The types of everything imported, and of what it links to in the store.
        let mut types: HashMap<String, Vec<NamedNode>> = HashMap::new();
        for t in &triples {
            if let (NamedOrBlankNode::NamedNode(s), Term::NamedNode(class)) =
                (&t.subject, &t.object)
                && t.predicate == rdf::TYPE
            {
                types
                    .entry(s.as_str().to_owned())
                    .or_default()
                    .push(class.clone());
            }
        }
        let mut linked: HashSet<&NamedNode> = HashSet::new();
        for t in &triples {
            if let Term::NamedNode(o) = &t.object
                && t.predicate != rdf::TYPE
                && !types.contains_key(o.as_str())
            {
                linked.insert(o);
            }
        }
        for o in linked {
            let stored: Vec<NamedNode> = self
                .store()
                .objects(o.as_ref(), o.as_ref(), rdf::TYPE)?
                .into_iter()
                .filter_map(|t| match t {
                    Term::NamedNode(n) => Some(n),
                    _ => None,
                })
                .collect();
            if !stored.is_empty() {
                types.insert(o.as_str().to_owned(), stored);
            }
        }

        // Each resource needs a kind, and a local IRI must sit in that kind's container.
        let mut kinds: HashMap<&NamedNode, Kind> = HashMap::new();
        for iri in groups.keys() {
            let kind = types
                .get(iri.as_str())
                .and_then(|classes| classes.iter().find_map(|c| Kind::for_class(c.as_ref())))
                .ok_or_else(|| {
                    LdpError::Unprocessable(format!(
                        "{iri} has no type coopdir stores (schema:Organization, schema:Person, skos:Concept, skos:ConceptScheme, schema:Project)"
                    ))
                })?;
            if paths.is_local(iri.as_str()) {
                match paths.locate(iri.as_str()) {
                    Some(Location::Member(k, _)) if k == kind => {}
                    _ => {
                        return Err(LdpError::Unprocessable(format!(
                            "{iri} is a {} and must live in {}",
                            kind.class(),
                            paths.container(kind)
                        )));
                    }
                }
            }
            kinds.insert(iri, kind);
        }

        // Links the server mirrors (memberOf/member, broader/narrower).
        let has_class = |iri: &NamedNode, classes: &[NamedNodeRef<'_>]| {
            types
                .get(iri.as_str())
                .is_some_and(|ts| ts.iter().any(|t| classes.contains(&t.as_ref())))
        };
        let mut mirrored: HashMap<&NamedNode, Vec<Triple>> = HashMap::new();
        let mut external: Vec<Quad> = Vec::new();
        for (iri, indices) in &groups {
            for rule in INVERSE_LINKS {
                if !has_class(iri, rule.subject_classes) {
                    continue;
                }
                for &i in indices {
                    let t = &triples[i];
                    if t.predicate != rule.property || t.subject.as_ref() != iri.as_ref().into() {
                        continue;
                    }
                    let Term::NamedNode(target) = &t.object else {
                        continue;
                    };
                    if !has_class(target, rule.object_classes) {
                        continue;
                    }
                    let inverse = Triple::new(target.clone(), rule.inverse, iri.clone());
                    match groups.get_key_value(target) {
                        Some((key, _)) => mirrored.entry(key).or_default().push(inverse),
                        None => external.push(inverse.in_graph(target.clone())),
                    }
                }
            }
        }

        // One graph per resource, completed with what the server maintains.
        let now = now();
        let graphs: Vec<(NamedNode, Graph)> = groups
            .iter()
            .map(|(iri, indices)| {
                let mut graph = Graph::new();
                for &i in indices {
                    graph.insert(&triples[i]);
                }
                for t in mirrored.get(iri).into_iter().flatten() {
                    graph.insert(t);
                }
                complete_known_skills(&mut graph, iri);
                for p in [dcterms::CREATED, dcterms::MODIFIED] {
                    if graph.object_for_subject_predicate(iri, p).is_none() {
                        graph.insert(TripleRef::new(iri, p, &now));
                    }
                }
                (iri.clone(), graph)
            })
            .collect();
        tracing::info!(
            resources = graphs.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: grouped"
        );

        progress(ImportStage::Validating, graphs.len());
        let report = self.validate_all(&graphs, &types)?;
        if !report.conforms() {
            return Err(LdpError::Invalid(report));
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: validated"
        );

        let mut quads: Vec<Quad> = Vec::with_capacity(triples.len() * 5 / 4 + graphs.len());
        for (iri, graph) in &graphs {
            let container = paths.container(kinds[iri]);
            quads.push(Quad::new(
                container.clone(),
                ldp::CONTAINS,
                iri.clone(),
                container,
            ));
            quads.extend(graph.iter().map(|t| t.in_graph(iri).into_owned()));
        }
        progress(ImportStage::Writing, quads.len());
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: quads ready"
        );
        let summary = ImportSummary {
            resources: graphs.len(),
            quads: quads.len() + external.len(),
            missing_concepts: self.missing_concepts(&graphs)?,
        };
        let _guard = self.writer_lock();
        let actor = principal.actor();
        let mut records: Vec<ChangeRecord> = Vec::with_capacity(graphs.len() + external.len());
        let no_data_yet = !Kind::ALL.iter().any(|k| {
            self.store()
                .contains_graph(paths.container(*k).as_ref())
                .unwrap_or(true)
        });
        for (iri, graph) in &graphs {
            let existed = !no_data_yet && self.store().contains_graph(iri.as_ref())?;
            let before = if existed {
                Some(Visibility::of(
                    &self.store().graph(iri.as_ref())?,
                    iri.as_ref(),
                ))
            } else {
                None
            };
            let operation = if existed {
                Operation::Replace
            } else {
                Operation::Create
            };
            records.push(self.record(
                kinds[iri],
                iri,
                operation,
                &actor,
                before,
                Some(Visibility::of(graph, iri.as_ref())),
            ));
        }
        let mut touched: Vec<&NamedNode> = Vec::new();
        for q in &external {
            if let oxigraph::model::GraphName::NamedNode(g) = &q.graph_name
                && !touched.contains(&g)
            {
                touched.push(g);
            }
        }
        for g in touched {
            if let Some(Location::Member(kind, _)) = paths.locate(g.as_str()) {
                let visibility = Visibility::of(&self.store().graph(g.as_ref())?, g.as_ref());
                records.push(self.record(
                    kind,
                    g,
                    Operation::Patch,
                    &actor,
                    Some(visibility),
                    Some(visibility),
                ));
            }
        }
        if no_data_yet && external.is_empty() {
            quads.extend(system);
            self.store().bulk_load(quads, records)?;
            self.forget_renderings();
        } else {
            // Containment quads plus mirrored links into stored resources; the resources
            // themselves replace any stored version.
            let insert = quads
                .into_iter()
                .filter(|q| q.predicate == ldp::CONTAINS)
                .chain(external)
                .chain(system)
                .collect();
            self.commit(&ChangeSet {
                replace: graphs,
                insert,
                records,
                ..Default::default()
            })?;
        }
        tracing::info!(
            resources = summary.resources,
            quads = summary.quads,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "imported"
        );
        Ok(summary)
    }

    /// Concepts stored in a scheme the import describes that the import does not contain.
    /// A taxonomy update must not silently orphan people's skills, so they are kept and
    /// reported, with the number of people holding each.
    fn missing_concepts(
        &self,
        graphs: &[(NamedNode, Graph)],
    ) -> Result<Vec<(NamedNode, usize)>, LdpError> {
        let imported: HashSet<&NamedNode> = graphs.iter().map(|(iri, _)| iri).collect();
        let mut schemes: HashSet<NamedNode> = HashSet::new();
        for (iri, graph) in graphs {
            for o in graph.objects_for_subject_predicate(iri, skos::IN_SCHEME) {
                if let oxigraph::model::TermRef::NamedNode(s) = o {
                    schemes.insert(s.into_owned());
                }
            }
        }
        let mut missing = Vec::new();
        for scheme in schemes {
            for q in self.store().quads_with_object(scheme.as_ref().into())? {
                let (NamedOrBlankNode::NamedNode(concept), true) =
                    (&q.subject, q.predicate == skos::IN_SCHEME)
                else {
                    continue;
                };
                if imported.contains(concept) || q.graph_name != concept.as_ref().into() {
                    continue;
                }
                let holders: HashSet<_> = self
                    .store()
                    .quads_with_object(concept.as_ref().into())?
                    .into_iter()
                    .filter(|h| h.predicate == dir::SKILL || h.predicate == schema::KNOWS_ABOUT)
                    .map(|h| h.graph_name)
                    .collect();
                missing.push((concept.clone(), holders.len()));
            }
        }
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    /// Validates each resource's graph, with the types of what it links to, on all cores.
    fn validate_all(
        &self,
        graphs: &[(NamedNode, Graph)],
        types: &HashMap<String, Vec<NamedNode>>,
    ) -> Result<ValidationReport, LdpError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = graphs.len().div_ceil(threads).max(1);
        let shapes = &self.shapes().compiled;
        let results = std::thread::scope(|scope| {
            let workers: Vec<_> = graphs
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut results = Vec::new();
                        for (_, graph) in part {
                            let mut data = graph.clone();
                            let mut focus: Vec<Term> = Vec::new();
                            for t in graph.iter() {
                                if let oxigraph::model::NamedOrBlankNodeRef::NamedNode(s) =
                                    t.subject
                                    && !focus
                                        .iter()
                                        .any(|f| matches!(f, Term::NamedNode(n) if n.as_ref() == s))
                                {
                                    focus.push(s.into_owned().into());
                                }
                                if let oxigraph::model::TermRef::NamedNode(o) = t.object
                                    && t.predicate != rdf::TYPE
                                    && let Some(classes) = types.get(o.as_str())
                                {
                                    for class in classes {
                                        data.insert(TripleRef::new(o, rdf::TYPE, class));
                                    }
                                }
                            }
                            results.extend(shapes.validate_nodes(&data, &focus).results);
                            if results.len() >= MAX_REPORTED {
                                break;
                            }
                        }
                        results
                    })
                })
                .collect();
            let mut all = Vec::new();
            for worker in workers {
                all.extend(
                    worker
                        .join()
                        .map_err(|_| LdpError::Internal("a validation thread panicked".into()))?,
                );
            }
            Ok::<_, LdpError>(all)
        })?;
        Ok(ValidationReport { results })
    }
}
