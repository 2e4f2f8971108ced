//! Replicas: read-only copies of the public resources of the peers this server follows.
//!
//! Each remote resource is stored under its own IRI, in its own named graph, exactly as
//! its origin published it; what we know about the copy (which sequence number of the
//! origin it reflects, when it was fetched, whether the origin deleted it) lives in one
//! system graph per origin, so a peer can be dropped cleanly. Writes go through the
//! writer lock and carry change-log records whose origin is the peer, so that search and
//! the SPARQL view index replicas like local data, and the outbox leaves them out.

use std::collections::HashMap;

use coopdir_shacl::ValidationReport;
use coopdir_store::{Actor, ChangeSet, Operation, is_system_graph};
use coopdir_vocab::{Kind, Visibility};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{Graph, Literal, NamedNode, NamedNodeRef, Quad, Term, TermRef, TripleRef};
use sha2::Digest;

use crate::directory::{change_record, check_scope, now};
use crate::{Directory, LdpError};

const SEQ: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:replica-seq");
const FETCHED: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:replica-fetched");
const DELETED: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:replica-deleted");

/// What this server knows of one remote resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaEntry {
    pub iri: NamedNode,
    /// The origin's sequence number of the change this copy reflects.
    pub seq: u64,
    /// RFC 3339.
    pub fetched: String,
    /// The origin deleted it (or it stopped being public): only this tombstone is kept.
    pub deleted: bool,
}

/// One change received from an origin, in its sequence.
#[derive(Debug, Clone)]
pub enum ReplicaChange {
    /// Boxed: a graph is large beside an IRI.
    Put {
        iri: NamedNode,
        graph: Box<Graph>,
    },
    Delete {
        iri: NamedNode,
    },
}

impl ReplicaChange {
    pub fn iri(&self) -> &NamedNode {
        match self {
            ReplicaChange::Put { iri, .. } | ReplicaChange::Delete { iri } => iri,
        }
    }
}

/// What storing a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaOutcome {
    pub stored: usize,
    /// Of those stored, how many were new here.
    pub created: usize,
    pub deleted: usize,
    /// Changes older than (or the same as) the copy already held.
    pub stale: usize,
}

/// Why a remote resource was not stored.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaRejection {
    #[error("{0}")]
    Scope(String),
    #[error("it is not a co-op, worker, skill or project")]
    UnknownKind,
    #[error("it does not conform to our shapes:\n{0}")]
    Invalid(ValidationReport),
}

/// The system graph holding what we know of `origin`'s resources.
pub fn replica_meta_graph(origin: &str) -> NamedNode {
    let hash = hex::encode(sha2::Sha256::digest(origin.as_bytes()));
    NamedNode::new_unchecked(format!("urn:coopdir:replicas:{}", &hash[..24]))
}

impl Directory {
    /// Everything we know of `origin`'s resources, tombstones included, sorted by IRI.
    pub fn replica_entries(&self, origin: &str) -> Result<Vec<ReplicaEntry>, LdpError> {
        let meta = self.store().graph(replica_meta_graph(origin).as_ref())?;
        let mut entries: HashMap<NamedNode, ReplicaEntry> = HashMap::new();
        for t in meta.iter() {
            let oxigraph::model::NamedOrBlankNodeRef::NamedNode(s) = t.subject else {
                continue;
            };
            let entry = entries
                .entry(s.into_owned())
                .or_insert_with(|| ReplicaEntry {
                    iri: s.into_owned(),
                    seq: 0,
                    fetched: String::new(),
                    deleted: false,
                });
            let TermRef::Literal(value) = t.object else {
                continue;
            };
            if t.predicate == SEQ {
                entry.seq = value.value().parse().unwrap_or(0);
            } else if t.predicate == FETCHED {
                entry.fetched = value.value().to_owned();
            } else if t.predicate == DELETED {
                entry.deleted = value.value() == "true";
            }
        }
        let mut entries: Vec<ReplicaEntry> = entries.into_values().collect();
        entries.sort_by(|a, b| a.iri.cmp(&b.iri));
        Ok(entries)
    }

    /// What we know of one remote resource of `origin`.
    pub fn replica_entry(
        &self,
        origin: &str,
        iri: &NamedNode,
    ) -> Result<Option<ReplicaEntry>, LdpError> {
        let meta = replica_meta_graph(origin);
        let one = |p: NamedNodeRef<'_>| -> Result<Option<String>, LdpError> {
            Ok(self
                .store()
                .objects(meta.as_ref(), iri.as_ref(), p)?
                .into_iter()
                .find_map(|t| match t {
                    Term::Literal(l) => Some(l.value().to_owned()),
                    _ => None,
                }))
        };
        let Some(seq) = one(SEQ)? else {
            return Ok(None);
        };
        Ok(Some(ReplicaEntry {
            iri: iri.clone(),
            seq: seq.parse().unwrap_or(0),
            fetched: one(FETCHED)?.unwrap_or_default(),
            deleted: one(DELETED)?.as_deref() == Some("true"),
        }))
    }

    /// Checks a resource received from `origin` against our shapes. Links resolve
    /// against the types stored here and `incoming` (the other resources received with
    /// it, which may arrive in any order); a link to a resource neither here nor under
    /// `origin` cannot be checked and is accepted.
    pub fn check_replica(
        &self,
        origin: &str,
        iri: &NamedNode,
        graph: &Graph,
        incoming: &HashMap<NamedNode, Vec<NamedNode>>,
    ) -> Result<Result<Kind, ReplicaRejection>, LdpError> {
        if is_system_graph(iri.as_str()) || self.paths().is_local(iri.as_str()) {
            return Ok(Err(ReplicaRejection::Scope(format!(
                "{iri} is not a resource of {origin}"
            ))));
        }
        if let Err(e) = check_scope(graph, iri) {
            return Ok(Err(ReplicaRejection::Scope(e.to_string())));
        }
        let Some(kind) = kind_of(graph, iri) else {
            return Ok(Err(ReplicaRejection::UnknownKind));
        };
        let mut data = self.with_linked_types(graph, None)?;
        let mut unresolved: Vec<NamedNode> = Vec::new();
        for t in graph.iter() {
            let TermRef::NamedNode(o) = t.object else {
                continue;
            };
            if t.predicate == rdf::TYPE || graph.triples_for_subject(o).next().is_some() {
                continue;
            }
            if let Some(types) = incoming.get(&o.into_owned()) {
                for class in types {
                    data.insert(TripleRef::new(o, rdf::TYPE, class));
                }
            } else if !o.as_str().starts_with(origin) && !self.store().contains_graph(o)? {
                unresolved.push(o.into_owned());
            }
        }
        let focus: Vec<Term> = crate::directory::subjects(graph)
            .into_iter()
            .map(Term::from)
            .collect();
        let mut report = self.shapes().compiled.validate_nodes(&data, &focus);
        // A class check on a link we cannot follow (another server's taxonomy, say) is
        // not a fault of the data.
        report.results.retain(|r| {
            let unfollowable =
                matches!(&r.value, Some(Term::NamedNode(v)) if unresolved.contains(v));
            let class_check = r.component.as_str().ends_with("#ClassConstraintComponent")
                || r.component.as_str().ends_with("#OrConstraintComponent");
            !(unfollowable && class_check)
        });
        if report.conforms() {
            Ok(Ok(kind))
        } else {
            Ok(Err(ReplicaRejection::Invalid(report)))
        }
    }

    /// Stores changes received from `origin` (already checked), in their sequence order,
    /// with `extra` (the peer's new cursor) in the same transaction. A change no newer
    /// than the copy held is skipped, so replays and reordering are harmless.
    pub fn store_replicas(
        &self,
        origin: &str,
        changes_in: &[(u64, ReplicaChange)],
        extra: ChangeSet,
    ) -> Result<ReplicaOutcome, LdpError> {
        let _guard = self.writer_lock();
        let meta = replica_meta_graph(origin);
        let fetched = now();
        let actor = Actor::Peer {
            url: origin.to_owned(),
        };
        let mut outcome = ReplicaOutcome::default();
        let mut changes = ChangeSet::default();
        // Only the newest change of each resource in the batch counts.
        let mut newest: HashMap<&NamedNode, usize> = HashMap::new();
        for (i, (seq, change)) in changes_in.iter().enumerate() {
            let slot = newest.entry(change.iri()).or_insert(i);
            if changes_in[*slot].0 < *seq {
                *slot = i;
            }
        }
        let mut order: Vec<usize> = newest.into_values().collect();
        order.sort_unstable();
        outcome.stale += changes_in.len() - order.len();
        for (seq, change) in order.into_iter().map(|i| &changes_in[i]) {
            let iri = change.iri();
            let held = self.replica_entry(origin, iri)?;
            if held.as_ref().is_some_and(|held| held.seq >= *seq) {
                outcome.stale += 1;
                continue;
            }
            changes.remove.extend(self.held_meta_quads(&meta, iri)?);
            let before = self.store().graph(iri.as_ref())?;
            let existed = !before.is_empty();
            match change {
                ReplicaChange::Put { graph, .. } => {
                    // Checked before: a replica always has a kind.
                    let kind = kind_of(graph, iri).unwrap_or(Kind::Worker);
                    changes.records.push(change_record(
                        kind,
                        iri,
                        if existed {
                            Operation::Replace
                        } else {
                            Operation::Create
                        },
                        origin,
                        &actor,
                        existed.then_some(Visibility::Public),
                        Some(Visibility::Public),
                    ));
                    changes.replace.push((iri.clone(), (**graph).clone()));
                    changes
                        .insert
                        .extend(meta_quads(&meta, iri, *seq, &fetched, false));
                    outcome.stored += 1;
                    outcome.created += usize::from(!existed);
                }
                ReplicaChange::Delete { .. } => {
                    if existed {
                        let kind = kind_of(&before, iri).unwrap_or(Kind::Worker);
                        changes.records.push(change_record(
                            kind,
                            iri,
                            Operation::Delete,
                            origin,
                            &actor,
                            Some(Visibility::Public),
                            None,
                        ));
                        changes.drop.push(iri.clone());
                        outcome.deleted += 1;
                    }
                    changes
                        .insert
                        .extend(meta_quads(&meta, iri, *seq, &fetched, true));
                }
            }
        }
        changes.merge(extra);
        if !changes.is_empty() {
            self.commit(&changes)?;
        }
        Ok(outcome)
    }

    /// The metadata quads held for `iri` (the store removes quads by value).
    fn held_meta_quads(&self, meta: &NamedNode, iri: &NamedNode) -> Result<Vec<Quad>, LdpError> {
        let mut quads = Vec::new();
        for p in [SEQ, FETCHED, DELETED] {
            for o in self.store().objects(meta.as_ref(), iri.as_ref(), p)? {
                quads.push(Quad::new(iri.clone(), p, o, meta.clone()));
            }
        }
        Ok(quads)
    }

    /// Removes every replica of `origin` and what we know of them, with `extra` in the
    /// same transaction; returns how many resources were removed.
    pub fn drop_replicas(&self, origin: &str, extra: ChangeSet) -> Result<usize, LdpError> {
        let entries = self.replica_entries(origin)?;
        let _guard = self.writer_lock();
        let actor = Actor::Peer {
            url: origin.to_owned(),
        };
        let mut changes = ChangeSet::default();
        let mut removed = 0;
        for entry in entries.iter().filter(|e| !e.deleted) {
            let graph = self.store().graph(entry.iri.as_ref())?;
            if graph.is_empty() {
                continue;
            }
            changes.records.push(change_record(
                kind_of(&graph, &entry.iri).unwrap_or(Kind::Worker),
                &entry.iri,
                Operation::Delete,
                origin,
                &actor,
                Some(Visibility::Public),
                None,
            ));
            changes.drop.push(entry.iri.clone());
            removed += 1;
        }
        changes.drop.push(replica_meta_graph(origin));
        changes.merge(extra);
        self.commit(&changes)?;
        Ok(removed)
    }
}

/// The kind of resource `graph` says `iri` is.
fn kind_of(graph: &Graph, iri: &NamedNode) -> Option<Kind> {
    graph
        .objects_for_subject_predicate(iri, rdf::TYPE)
        .find_map(|t| match t {
            TermRef::NamedNode(class) => Kind::for_class(class),
            _ => None,
        })
}

/// The metadata quads of one entry.
fn meta_quads(
    meta: &NamedNode,
    iri: &NamedNode,
    seq: u64,
    fetched: &Literal,
    deleted: bool,
) -> Vec<Quad> {
    let mut quads = vec![
        Quad::new(
            iri.clone(),
            SEQ,
            Literal::new_typed_literal(seq.to_string(), xsd::INTEGER),
            meta.clone(),
        ),
        Quad::new(iri.clone(), FETCHED, fetched.clone(), meta.clone()),
    ];
    if deleted {
        quads.push(Quad::new(
            iri.clone(),
            DELETED,
            Literal::from(true),
            meta.clone(),
        ));
    }
    quads
}
