//! One pull pass from a peer's outbox.
//!
//! Pages are fetched from the peer's cursor and applied one at a time: each activity is
//! checked (a known type, a sequence number, an object under the peer's base URL, JSON-LD
//! that parses), each resource validated against our shapes, and the valid ones stored
//! with the peer's new cursor in one transaction, so a crash between pages resumes from
//! the last page stored. A resource that fails validation is held back until the end of
//! the pass and checked again with everything the pass received (a compacted outbox lists
//! a co-op and its members in any order); the cursor stays before it until then. What is
//! still invalid is skipped and logged, never stored, and never stops the rest.
//!
//! A cursor older than the peer's horizon (deletions it no longer lists), or ahead of its
//! head (a peer restored from an older backup), means a full re-sync from 0: everything
//! the peer still publishes is seen again, and what we hold but did not see is removed.

use std::collections::{HashMap, HashSet};

use coopdir_ldp::{ReplicaChange, ReplicaRejection};
use coopdir_syntax::{InputFormat, parse_graph};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, NamedNode, TermRef};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::FederationError;
use crate::peers::{PeerHandle, PeerState, Peers};

/// Pages one pass reads at most (the next pass goes on from there).
const MAX_PAGES_PER_PASS: usize = 1_000;
/// How many skipped resources a peer's last error names.
const NAMED_SKIPS: usize = 3;

pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Replica changes with the origin's sequence numbers.
type Changes = Vec<(u64, ReplicaChange)>;

/// A received resource waiting for the end of the pass.
pub(crate) struct Held {
    seq: u64,
    iri: NamedNode,
    graph: Box<Graph>,
}

/// What one pass saw, for the peer's state.
#[derive(Default)]
pub(crate) struct PassLog {
    /// The first few skipped resources, with why.
    pub skipped: Vec<String>,
    pub skipped_count: usize,
    pub stored: usize,
    pub deleted: usize,
}

impl PassLog {
    fn skip(&mut self, peer: &PeerState, what: String) {
        tracing::warn!(peer = %peer.id, base = %peer.base, "skipped: {what}");
        self.skipped_count += 1;
        if self.skipped.len() < NAMED_SKIPS {
            self.skipped.push(what);
        }
    }
}

/// One page, parsed.
pub(crate) struct Page {
    pub cursor: u64,
    pub head: u64,
    pub horizon: u64,
    pub items: Vec<Value>,
}

fn parse_page(doc: &Value, url: &str) -> Result<Page, FederationError> {
    let number = |key: &str| doc.get(key).and_then(Value::as_u64);
    let bad = |what: &str| {
        FederationError::BadPeer(format!("{url} is not a coopdir outbox page: {what}"))
    };
    let items = match doc.get("orderedItems") {
        Some(Value::Array(items)) => items.clone(),
        None => Vec::new(),
        Some(_) => return Err(bad("orderedItems is not a list")),
    };
    Ok(Page {
        cursor: number("cursor").ok_or_else(|| bad("no cursor"))?,
        head: number("head").ok_or_else(|| bad("no head"))?,
        horizon: number("horizon").unwrap_or(0),
        items,
    })
}

impl Peers {
    fn page_url(&self, peer: &PeerState, after: u64) -> String {
        format!(
            "{}?after={after}&limit={}",
            peer.outbox, self.config.page_size
        )
    }

    /// Runs one pass and records its outcome in the peer's state (never fails: a
    /// failure is the peer's last error).
    pub(crate) async fn pass(&self, handle: &PeerHandle) {
        let mut state = handle.snapshot();
        state.last_attempt = Some(now());
        let mut log = PassLog::default();
        match self.pull(handle, &mut state, &mut log).await {
            Ok(()) => {
                state.failures = 0;
                state.last_success = Some(now());
                state.skipped = log.skipped_count;
                state.last_error = (log.skipped_count > 0).then(|| {
                    format!(
                        "skipped {} resource(s) in the last pull: {}",
                        log.skipped_count,
                        log.skipped.join("; ")
                    )
                });
                tracing::info!(
                    peer = %state.id,
                    cursor = state.cursor,
                    head = state.head,
                    stored = log.stored,
                    deleted = log.deleted,
                    skipped = log.skipped_count,
                    "pulled from peer"
                );
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some(e.to_string());
                tracing::warn!(peer = %state.id, base = %state.base, failures = state.failures, error = %e, "pull from peer failed");
            }
        }
        // The cursor itself is stored with each page's replicas; this keeps the rest.
        let state = handle.merged(&state);
        let directory = self.directory.clone();
        let current = state.clone();
        let saved =
            tokio::task::spawn_blocking(move || directory.store().apply(&current.change())).await;
        match saved {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(peer = %state.id, error = %e, "cannot store the peer's state")
            }
            Err(e) => {
                tracing::error!(peer = %state.id, error = %e, "cannot store the peer's state")
            }
        }
        // Absorbed, not assigned: a push or an answer to our Follow may have come meanwhile.
        handle.absorb(&state);
    }

    async fn pull(
        &self,
        handle: &PeerHandle,
        state: &mut PeerState,
        log: &mut PassLog,
    ) -> Result<(), FederationError> {
        let mut url = self.page_url(state, state.cursor);
        let mut page = parse_page(&self.net.get_json(&url).await?, &url)?;
        let mut seen: Option<HashSet<NamedNode>> = None;
        if state.cursor > 0 && (page.horizon > state.cursor || state.cursor > page.head) {
            tracing::warn!(
                peer = %state.id,
                cursor = state.cursor,
                horizon = page.horizon,
                head = page.head,
                "the peer no longer lists every change since our cursor: full re-sync"
            );
            state.cursor = 0;
            url = self.page_url(state, 0);
            page = parse_page(&self.net.get_json(&url).await?, &url)?;
            seen = Some(HashSet::new());
        }
        let mut held: Vec<Held> = Vec::new();
        let mut after = state.cursor;
        let mut pages = 0;
        let done_cursor = loop {
            state.head = page.head;
            let last = page.cursor >= page.head
                || page.cursor <= after
                || seen.is_none() && pages + 1 >= MAX_PAGES_PER_PASS;
            // The next page is fetched while this one is checked and stored: the peer
            // renders while we validate, instead of each waiting for the other.
            let next = (!last).then(|| {
                let (net, url) = (self.net.clone(), self.page_url(state, page.cursor));
                tokio::spawn(async move {
                    let doc = net.get_json(&url).await;
                    (url, doc)
                })
            });
            // Validation reads the store: off the async workers' hands.
            let (changes, mut newly_held) =
                tokio::task::block_in_place(|| self.check_page(state, &page, seen.as_mut(), log))?;
            held.append(&mut newly_held);
            // Never past a held resource: a crash before the end of the pass fetches it again.
            state.cursor = match held.iter().map(|h| h.seq).min() {
                Some(first_held) => page.cursor.min(first_held - 1).max(state.cursor),
                None => page.cursor.max(state.cursor),
            };
            self.store(handle, state, changes, log).await?;
            // Readers of the peer list see the progress between pages.
            handle.absorb(state);
            pages += 1;
            // A full re-sync reads to the end (its sweep needs every page); otherwise the
            // next pass goes on where this one stopped.
            let Some(next) = next else {
                break page.cursor.max(after);
            };
            after = page.cursor;
            let (url, doc) = next
                .await
                .map_err(|e| FederationError::BadPeer(format!("fetching a page stopped: {e}")))?;
            page = parse_page(&doc?, &url)?;
        };
        let mut changes = tokio::task::block_in_place(|| self.retry_held(state, held, log))?;
        if let Some(seen) = seen {
            let held_here =
                tokio::task::block_in_place(|| self.directory.replica_entries(&state.base))?;
            for entry in held_here {
                // A resource pushed while this pass ran is newer than the pages it read.
                if !entry.deleted && !seen.contains(&entry.iri) && entry.seq <= page.head {
                    changes.push((
                        page.head.max(entry.seq + 1),
                        ReplicaChange::Delete { iri: entry.iri },
                    ));
                }
            }
        }
        state.cursor = done_cursor.max(state.cursor);
        self.store(handle, state, changes, log).await?;
        Ok(())
    }

    /// Turns a page's activities into replica changes; resources that do not validate
    /// (yet) are held for the end of the pass.
    pub(crate) fn check_page(
        &self,
        state: &PeerState,
        page: &Page,
        mut seen: Option<&mut HashSet<NamedNode>>,
        log: &mut PassLog,
    ) -> Result<(Changes, Vec<Held>), FederationError> {
        let mut received: Vec<(u64, ReplicaChange)> = Vec::new();
        for item in &page.items {
            match self.parse_activity(state, item) {
                Ok(Some((seq, change))) => {
                    if let (Some(seen), ReplicaChange::Put { iri, .. }) =
                        (seen.as_deref_mut(), &change)
                    {
                        seen.insert(iri.clone());
                    }
                    received.push((seq, change));
                }
                Ok(None) => {}
                Err(why) => log.skip(state, why),
            }
        }
        let incoming = types_of(received.iter().filter_map(|(_, c)| match c {
            ReplicaChange::Put { iri, graph } => Some((iri, &**graph)),
            ReplicaChange::Delete { .. } => None,
        }));
        let mut ready = Vec::new();
        let mut held = Vec::new();
        for (seq, change) in received {
            match change {
                ReplicaChange::Put { iri, graph } => {
                    match self
                        .directory
                        .check_replica(&state.base, &iri, &graph, &incoming)?
                    {
                        Ok(_) => ready.push((seq, ReplicaChange::Put { iri, graph })),
                        Err(ReplicaRejection::Invalid(_)) => held.push(Held { seq, iri, graph }),
                        Err(why) => log.skip(state, format!("{iri}: {why}")),
                    }
                }
                delete => ready.push((seq, delete)),
            }
        }
        Ok((ready, held))
    }

    /// Checks held resources again, against everything else held; the rest is skipped.
    pub(crate) fn retry_held(
        &self,
        state: &PeerState,
        held: Vec<Held>,
        log: &mut PassLog,
    ) -> Result<Changes, FederationError> {
        let incoming = types_of(held.iter().map(|h| (&h.iri, &*h.graph)));
        let mut ready = Vec::new();
        for h in held {
            match self
                .directory
                .check_replica(&state.base, &h.iri, &h.graph, &incoming)?
            {
                Ok(_) => ready.push((
                    h.seq,
                    ReplicaChange::Put {
                        iri: h.iri,
                        graph: h.graph,
                    },
                )),
                Err(ReplicaRejection::Invalid(report)) => {
                    let first = report
                        .violations()
                        .next()
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    log.skip(
                        state,
                        format!("{} does not conform to our shapes ({first})", h.iri),
                    );
                }
                Err(why) => log.skip(state, format!("{}: {why}", h.iri)),
            }
        }
        Ok(ready)
    }

    /// Stores replica changes with the peer's state (its cursor) in one transaction.
    async fn store(
        &self,
        handle: &PeerHandle,
        state: &PeerState,
        changes: Vec<(u64, ReplicaChange)>,
        log: &mut PassLog,
    ) -> Result<(), FederationError> {
        let directory = self.directory.clone();
        let base = state.base.clone();
        let extra = handle.merged(state).change();
        let outcome =
            tokio::task::spawn_blocking(move || directory.store_replicas(&base, &changes, extra))
                .await
                .map_err(|e| {
                    FederationError::BadPeer(format!("storing replicas stopped: {e}"))
                })??;
        log.stored += outcome.stored;
        log.deleted += outcome.deleted;
        let held = handle.held.load(std::sync::atomic::Ordering::Relaxed);
        handle.held.store(
            (held + outcome.created).saturating_sub(outcome.deleted),
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    /// One activity as a replica change; `Ok(None)` for activities that change nothing
    /// here, `Err` (why) for what the peer may not send or we cannot read.
    pub(crate) fn parse_activity(
        &self,
        state: &PeerState,
        item: &Value,
    ) -> Result<Option<(u64, ReplicaChange)>, String> {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        let seq = item
            .get("seq")
            .and_then(Value::as_u64)
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("an activity without a sequence number ({kind})"))?;
        let object = item
            .get("object")
            .ok_or_else(|| format!("activity {seq} has no object"))?;
        let object_id = match object {
            Value::String(id) => id.clone(),
            Value::Object(map) => map
                .get("id")
                .or_else(|| map.get("@id"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        let iri = NamedNode::new(&object_id)
            .map_err(|_| format!("activity {seq}: the object's id {object_id:?} is not an IRI"))?;
        if !object_id.starts_with(&state.base) || object_id.len() == state.base.len() {
            return Err(format!(
                "activity {seq}: {object_id} is not under the peer's base URL {}: an origin may only publish its own resources",
                state.base
            ));
        }
        match kind {
            "Create" | "Update" => {
                let body = serde_json::to_vec(object).unwrap_or_default();
                let contexts = vec![
                    format!("{}context.jsonld", state.base),
                    self.directory.paths().context(),
                    coopdir_vocab::CANONICAL_CONTEXT_IRI.to_owned(),
                ];
                let graph = parse_graph(&body, InputFormat::JsonLd, iri.as_str(), &contexts)
                    .map_err(|e| format!("activity {seq} ({iri}): {e}"))?;
                Ok(Some((
                    seq,
                    ReplicaChange::Put {
                        iri,
                        graph: Box::new(graph),
                    },
                )))
            }
            "Delete" => Ok(Some((seq, ReplicaChange::Delete { iri }))),
            _ => Ok(None),
        }
    }
}

/// The `rdf:type`s each received resource declares for itself.
fn types_of<'a>(
    resources: impl Iterator<Item = (&'a NamedNode, &'a Graph)>,
) -> HashMap<NamedNode, Vec<NamedNode>> {
    resources
        .map(|(iri, graph)| {
            let types = graph
                .objects_for_subject_predicate(iri, rdf::TYPE)
                .filter_map(|t| match t {
                    TermRef::NamedNode(n) => Some(n.into_owned()),
                    _ => None,
                })
                .collect();
            (iri.clone(), types)
        })
        .collect()
}
