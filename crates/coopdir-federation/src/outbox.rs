//! The outbox: a view of the change log that peers page through (`/outbox?after=SEQ`).
//!
//! It is a change-log consumer holding, in memory, the latest record of each local
//! resource that is or was public, keyed by sequence number. That is the log compacted:
//! a page is an ordered range of that map (cost proportional to the page, not the log),
//! `after=0` is a snapshot of every public resource plus the deletions still kept, and a
//! resource changed ten times appears once, at its last change, carrying its graph as it
//! is now. Deletions (and resources that stopped being public) are kept as tombstones
//! for the retention period; the highest sequence of a tombstone dropped after that is
//! the horizon: a follower whose cursor is older must re-sync from 0 and sweep.
//!
//! The map is rebuilt from the log at start-up (one pass over the records), so it needs
//! no storage of its own, and retention is a rule over record times, which the rebuild
//! applies the same way.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use coopdir_access::Principal;
use coopdir_ldp::{Directory, LdpError};
use coopdir_store::consumer::Progress;
use coopdir_store::{Change, Operation};
use coopdir_syntax::OutputFormat;
use oxigraph::model::NamedNode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::FederationError;
use crate::vocab::{activity_context, kind_class};

const BATCH: usize = 2_000;
/// The largest page a follower may ask for.
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Clone)]
struct Entry {
    resource: String,
    kind: String,
    operation: Operation,
    time: String,
    /// Public after this record (else a tombstone).
    public: bool,
}

#[derive(Default)]
struct Index {
    by_seq: BTreeMap<u64, Entry>,
    by_resource: HashMap<String, u64>,
    /// Tombstones by sequence, with their time, oldest first.
    tombstones: BTreeMap<u64, OffsetDateTime>,
    horizon: u64,
}

/// One outbox page, ready to serialise.
#[derive(Debug, Clone)]
pub struct OutboxPage {
    pub activities: Vec<Value>,
    /// The position a follower has reached after applying this page.
    pub cursor: u64,
    /// The last sequence the outbox has applied from the log.
    pub head: u64,
    pub horizon: u64,
}

pub struct Outbox {
    directory: Arc<Directory>,
    base: String,
    retention: Duration,
    index: RwLock<Index>,
    applied: Progress,
    applying: Mutex<()>,
}

impl Outbox {
    /// Builds the view from the whole log (with progress in the log every 100,000 records).
    pub fn open(directory: Arc<Directory>, retention: Duration) -> Result<Self, FederationError> {
        let base = directory.paths().base().to_owned();
        let outbox = Outbox {
            directory,
            base,
            retention,
            index: RwLock::new(Index::default()),
            applied: Progress::new(0),
            applying: Mutex::new(()),
        };
        let started = std::time::Instant::now();
        let head = outbox.catch_up()?;
        tracing::info!(
            head,
            entries = outbox.read().by_seq.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "outbox ready"
        );
        Ok(outbox)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies every record after the last applied one; returns the new cursor.
    pub fn catch_up(&self) -> Result<u64, FederationError> {
        let _one = self.applying.lock().unwrap_or_else(|p| p.into_inner());
        let mut cursor = self.applied.get();
        loop {
            let changes = self.directory.store().changes_after(cursor, BATCH)?;
            let Some(last) = changes.last().map(|c| c.seq) else {
                return Ok(cursor);
            };
            {
                let mut index = self.write();
                for change in &changes {
                    self.apply(&mut index, change);
                }
            }
            if last / 100_000 > cursor / 100_000 {
                tracing::info!(seq = last, "outbox: reading the change log");
            }
            cursor = last;
            self.applied.set(cursor);
        }
    }

    fn apply(&self, index: &mut Index, change: &Change) {
        let r = &change.record;
        // Imported resources of other servers (an external taxonomy) are not ours to
        // publish: only IRIs under our base URL.
        if r.origin != self.base
            || !r.resource.starts_with(&self.base)
            || kind_class(&r.kind).is_none()
            || !r.concerns_public_data()
        {
            return;
        }
        if let Some(old) = index.by_resource.insert(r.resource.clone(), change.seq) {
            index.by_seq.remove(&old);
            index.tombstones.remove(&old);
        }
        let public = r.operation != Operation::Delete
            && r.visibility_after == Some(coopdir_vocab::Visibility::Public);
        if !public {
            let time =
                OffsetDateTime::parse(&r.time, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH);
            index.tombstones.insert(change.seq, time);
        }
        index.by_seq.insert(
            change.seq,
            Entry {
                resource: r.resource.clone(),
                kind: r.kind.clone(),
                operation: r.operation,
                time: r.time.clone(),
                public,
            },
        );
        Self::expire(index, self.retention);
    }

    /// Drops tombstones older than the retention period and moves the horizon past them.
    fn expire(index: &mut Index, retention: Duration) {
        let limit = OffsetDateTime::now_utc() - retention;
        while let Some((&seq, &time)) = index.tombstones.first_key_value() {
            if time > limit {
                break;
            }
            index.tombstones.remove(&seq);
            if let Some(entry) = index.by_seq.remove(&seq) {
                index.by_resource.remove(&entry.resource);
            }
            index.horizon = index.horizon.max(seq);
        }
    }

    /// Follows the change log until the store's doorbell is dropped.
    pub async fn follow(self: Arc<Self>) {
        let doorbell = self.directory.store().subscribe();
        coopdir_store::consumer::follow(doorbell, "outbox", move || self.catch_up()).await
    }

    /// Waits (a couple of seconds at most) until writes committed before this call are
    /// in the view.
    pub async fn wait_for_writes(&self) -> bool {
        let head = self.directory.store().head();
        self.applied.wait_for(head, Duration::from_secs(2)).await
    }

    /// Sees the outbox's head move (delivery workers wait on it).
    pub fn applied_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// The current activity of one resource (its latest change), if it is listed.
    pub fn latest_of(&self, resource: &str) -> Result<Option<Value>, FederationError> {
        let found = {
            let index = self.read();
            index
                .by_resource
                .get(resource)
                .and_then(|seq| index.by_seq.get(seq).map(|e| (*seq, e.clone())))
        };
        self.directory.settled();
        match found {
            Some((seq, entry)) => Ok(Some(self.activity(seq, &entry)?)),
            None => Ok(None),
        }
    }

    /// Number of activities a follower starting from 0 receives, and the head.
    pub fn summary(&self) -> (usize, u64, u64) {
        let mut index = self.write();
        Self::expire(&mut index, self.retention);
        (index.by_seq.len(), self.applied.get(), index.horizon)
    }

    /// The local resources that are public now, with the sequence of their latest change.
    pub fn public_entries(&self) -> Vec<(String, u64)> {
        let index = self.read();
        let mut entries: Vec<(String, u64)> = index
            .by_seq
            .iter()
            .filter(|(_, e)| e.public)
            .map(|(seq, e)| (e.resource.clone(), *seq))
            .collect();
        entries.sort();
        entries
    }

    /// The public local resources of one kind (`coop`, …), sorted.
    pub fn public_entries_of(&self, kind: &str) -> Vec<String> {
        let index = self.read();
        let mut entries: Vec<String> = index
            .by_seq
            .values()
            .filter(|e| e.public && e.kind == kind)
            .map(|e| e.resource.clone())
            .collect();
        entries.sort();
        entries
    }

    /// The activities after `after`, at most `limit`.
    pub fn page(&self, after: u64, limit: usize) -> Result<OutboxPage, FederationError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let (entries, head, horizon) = {
            let mut index = self.write();
            Self::expire(&mut index, self.retention);
            let head = self.applied.get();
            let entries: Vec<(u64, Entry)> = index
                .by_seq
                .range(after.saturating_add(1)..)
                .take(limit)
                .map(|(s, e)| (*s, e.clone()))
                .collect();
            (entries, head, index.horizon)
        };
        let cursor = if entries.len() < limit {
            head.max(after)
        } else {
            entries.last().map_or(after, |(s, _)| *s)
        };
        // Read through the directory's caches only once the write in progress is in them.
        self.directory.settled();
        let mut activities = Vec::with_capacity(entries.len());
        for (seq, entry) in entries {
            activities.push(self.activity(seq, &entry)?);
        }
        Ok(OutboxPage {
            activities,
            cursor,
            head,
            horizon,
        })
    }

    /// The activity with sequence `seq`, while it is the latest of its resource.
    pub fn activity_at(&self, seq: u64) -> Result<Option<Value>, FederationError> {
        let entry = self.read().by_seq.get(&seq).cloned();
        self.directory.settled();
        match entry {
            Some(entry) => {
                let mut activity = self.activity(seq, &entry)?;
                if let Value::Object(map) = &mut activity {
                    let mut standalone = serde_json::Map::new();
                    standalone.insert("@context".into(), activity_context());
                    standalone.append(map);
                    *map = standalone;
                }
                Ok(Some(activity))
            }
            None => Ok(None),
        }
    }

    fn activity(&self, seq: u64, entry: &Entry) -> Result<Value, FederationError> {
        let id = format!("{}outbox/{seq}", self.base);
        let actor = format!("{}actor", self.base);
        let object = if entry.public {
            self.public_object(&entry.resource)?
        } else {
            None
        };
        let activity = match object {
            Some(object) => json!({
                "id": id,
                "type": if entry.operation == Operation::Create { "Create" } else { "Update" },
                "actor": actor,
                "published": entry.time,
                "seq": seq,
                "object": object,
            }),
            // Deleted, no longer public, or turned private since this record: peers drop it.
            None => json!({
                "id": id,
                "type": "Delete",
                "actor": actor,
                "published": entry.time,
                "seq": seq,
                "object": {
                    "id": entry.resource,
                    "type": "Tombstone",
                    "formerType": kind_class(&entry.kind).unwrap_or_default(),
                    "deleted": entry.time,
                },
            }),
        };
        Ok(activity)
    }

    /// The resource as an anonymous reader sees it, as JSON-LD with our context.
    fn public_object(&self, resource: &str) -> Result<Option<Value>, FederationError> {
        let Ok(iri) = NamedNode::new(resource) else {
            return Ok(None);
        };
        match self
            .directory
            .render(&iri, OutputFormat::JsonLd, &Principal::anonymous())
        {
            Ok((rendered, _)) => Ok(serde_json::from_slice(&rendered.body).ok()),
            Err(
                LdpError::NotFound(_)
                | LdpError::MethodNotAllowed(_)
                | LdpError::Access(coopdir_access::AccessError::NotFound(_)),
            ) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}
