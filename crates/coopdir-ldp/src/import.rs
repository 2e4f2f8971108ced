//! Bulk import: many resources from one RDF document, validated together, stored at once.

use coopdir_store::ChangeSet;
use coopdir_vocab::{INVERSE_LINKS, Kind, dcterms, ldp};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{
    Graph, NamedNode, NamedOrBlankNode, NamedOrBlankNodeRef, Quad, Term, TermRef, Triple, TripleRef,
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
}

/// Stages an import goes through, for progress display.
#[derive(Debug, Clone, Copy)]
pub enum ImportStage {
    Grouping,
    Validating,
    Writing,
}

impl Directory {
    /// Imports `triples` (graph names are ignored: resources are regrouped by subject).
    /// Either every resource is valid and all are stored, or nothing is.
    pub fn import(
        &self,
        triples: Graph,
        progress: &dyn Fn(ImportStage, usize),
    ) -> Result<ImportSummary, LdpError> {
        let paths = self.paths();
        let started = std::time::Instant::now();
        progress(ImportStage::Grouping, triples.len());
        // Containers and the root are derived by the server; their triples are not data.
        let mut data = Graph::new();
        for t in triples.iter() {
            let derived = matches!(t.subject, NamedOrBlankNodeRef::NamedNode(s)
                if matches!(paths.locate(s.as_str()), Some(Location::Root | Location::Container(_)))
                    && !s.as_str().contains('#'));
            if !derived {
                data.insert(t);
            }
        }

        // Group by resource: IRIs without their fragment; blank nodes go with their owner.
        let mut groups: BTreeMap<NamedNode, Graph> = BTreeMap::new();
        let mut owner_of_blank: HashMap<NamedOrBlankNode, NamedNode> = HashMap::new();
        let mut named: Vec<NamedNode> = Vec::new();
        let mut seen = HashSet::new();
        for t in data.iter() {
            if let NamedOrBlankNodeRef::NamedNode(s) = t.subject
                && seen.insert(s)
            {
                named.push(s.into_owned());
            }
        }
        for subject in &named {
            let resource = NamedNode::new_unchecked(
                subject
                    .as_str()
                    .split('#')
                    .next()
                    .unwrap_or(subject.as_str()),
            );
            let mut stack: Vec<NamedOrBlankNode> = vec![subject.clone().into()];
            while let Some(node) = stack.pop() {
                for t in data.triples_for_subject(&node) {
                    groups.entry(resource.clone()).or_default().insert(t);
                    if let TermRef::BlankNode(b) = t.object {
                        let b: NamedOrBlankNode = b.into_owned().into();
                        if !owner_of_blank.contains_key(&b) {
                            owner_of_blank.insert(b.clone(), resource.clone());
                            stack.push(b);
                        }
                    }
                }
            }
        }
        for t in data.iter() {
            if let NamedOrBlankNodeRef::BlankNode(b) = t.subject
                && !owner_of_blank.contains_key(&NamedOrBlankNode::from(b.into_owned()))
            {
                return Err(LdpError::Unprocessable(format!(
                    "the blank node {b} is not reachable from any resource; give it an IRI or link it from one"
                )));
            }
        }

        // Each resource needs a kind, and a local IRI must sit in that kind's container.
        let mut kinds: HashMap<NamedNode, Kind> = HashMap::new();
        for (iri, graph) in &groups {
            let kind = graph
                .objects_for_subject_predicate(iri, rdf::TYPE)
                .find_map(|t| match t {
                    TermRef::NamedNode(n) => Kind::for_class(n),
                    _ => None,
                })
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
            kinds.insert(iri.clone(), kind);
        }

        let _guard = self.writer_lock();
        // Complete what the server maintains: timestamps, knowsAbout, inverse links.
        let now = now();
        let mut external: Vec<Quad> = Vec::new();
        let mirrored: Vec<(NamedNode, Triple)> = {
            let mut out = Vec::new();
            for (iri, graph) in &groups {
                let types: Vec<_> = graph
                    .objects_for_subject_predicate(iri, rdf::TYPE)
                    .collect();
                for rule in INVERSE_LINKS {
                    if !types.iter().any(
                        |t| matches!(t, TermRef::NamedNode(n) if rule.subject_classes.contains(n)),
                    ) {
                        continue;
                    }
                    for o in graph.objects_for_subject_predicate(iri, rule.property) {
                        let TermRef::NamedNode(target) = o else {
                            continue;
                        };
                        let inverse = Triple::new(target.into_owned(), rule.inverse, iri.clone());
                        out.push((target.into_owned(), inverse));
                    }
                }
            }
            out
        };
        for (target, triple) in mirrored {
            if let Some(g) = groups.get_mut(&target) {
                g.insert(&triple);
            } else {
                let types = self
                    .store()
                    .objects(target.as_ref(), target.as_ref(), rdf::TYPE)?;
                if !types.is_empty() {
                    external.push(Quad::new(
                        triple.subject,
                        triple.predicate,
                        triple.object,
                        target,
                    ));
                }
            }
        }
        for (iri, graph) in groups.iter_mut() {
            complete_known_skills(graph, iri);
            if graph
                .object_for_subject_predicate(iri, dcterms::CREATED)
                .is_none()
            {
                graph.insert(TripleRef::new(iri, dcterms::CREATED, &now));
            }
            if graph
                .object_for_subject_predicate(iri, dcterms::MODIFIED)
                .is_none()
            {
                graph.insert(TripleRef::new(iri, dcterms::MODIFIED, &now));
            }
        }

        // Validate everything at once, with the types of stored resources it links to.
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: grouped"
        );
        progress(ImportStage::Validating, groups.len());
        let mut all = Graph::new();
        for graph in groups.values() {
            for t in graph.iter() {
                all.insert(t);
            }
        }
        let with_context = self.with_linked_types(&all, None)?;
        let focus: Vec<Term> = groups.keys().cloned().map(Term::from).collect();
        let report = self.shapes().compiled.validate_nodes(&with_context, &focus);
        if !report.conforms() {
            return Err(LdpError::Invalid(report));
        }

        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: validated"
        );
        progress(ImportStage::Writing, all.len());
        let mut summary = ImportSummary {
            resources: groups.len(),
            quads: 0,
        };
        let mut quads: Vec<Quad> = Vec::with_capacity(all.len() + groups.len());
        for (iri, graph) in &groups {
            let container = paths.container(kinds[iri]);
            quads.push(Quad::new(
                container.clone(),
                ldp::CONTAINS,
                iri.clone(),
                container,
            ));
            for t in graph.iter() {
                quads.push(t.in_graph(iri).into_owned());
            }
        }
        summary.quads = quads.len() + external.len();
        if self.store().is_empty()? && external.is_empty() {
            self.store().bulk_load(quads)?;
            self.forget_renderings();
        } else {
            let mut changes = ChangeSet::default();
            for (iri, graph) in groups {
                changes.replace.push((iri, graph));
            }
            changes.insert = quads
                .into_iter()
                .filter(|q| q.predicate == ldp::CONTAINS)
                .collect();
            changes.insert.extend(external);
            self.commit(&changes)?;
        }
        tracing::info!(
            resources = summary.resources,
            quads = summary.quads,
            "imported"
        );
        Ok(summary)
    }
}
