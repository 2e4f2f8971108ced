//! The inbox (`/inbox/`): a W3C Linked Data Notifications receiver.
//!
//! - A signed activity from a server is verified (see [`crate::signatures`]) and then:
//!   `Create`/`Update`/`Delete` from a peer we follow are applied to its replica;
//!   `Follow`, `Accept`, `Reject` and `Undo` manage subscriptions. The signer must own
//!   the activity's id and every IRI it changes (they lie under its base URL).
//! - Activities are deduplicated by id. Each resource's changes are applied in sequence
//!   order (an older one is skipped), and `prev` (the sender's cursor before this one)
//!   tells a gap from a duplicate: a gap wakes a pull of the missing range.
//! - Unsigned notifications are refused (401), unless the operator opened the inbox to
//!   plain LDN senders: then they are stored as inert notifications (listed and
//!   readable, never applied to data), with a smaller size limit and a rate limit.
//! - Every notification is kept (the most recent `max_kept`) and readable at its
//!   `Location`; server notifications are visible to server admins, inert ones to all.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use coopdir_ldp::{Directory, ReplicaChange};
use coopdir_store::ChangeSet;
use oxigraph::model::{Graph, Literal, NamedNode, NamedNodeRef, Term, Triple};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;

use crate::delivery::Followers;
use crate::net::Net;
use crate::peers::{Peers, Subscription};
use crate::signatures::{SignatureError, SignedBy, Verifier};
use crate::sync::now;

const NOTE: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:notification");
const NOTE_PREFIX: &str = "urn:coopdir:notification:";

/// Limits and policy of the inbox.
#[derive(Debug, Clone)]
pub struct InboxConfig {
    /// Accept unsigned notifications from plain LDN senders (stored inert).
    pub open: bool,
    /// Largest signed notification.
    pub max_bytes: usize,
    /// Largest unsigned notification (open inbox).
    pub open_max_bytes: usize,
    /// Unsigned notifications per client address and minute.
    pub open_per_minute: u32,
    /// Deepest JSON nesting accepted.
    pub max_depth: usize,
    /// Most triples in one resource an activity carries.
    pub max_triples: usize,
    /// Notifications kept (the oldest go first).
    pub max_kept: usize,
    /// Follow requests are accepted at once (else they wait for the operator).
    pub auto_accept: bool,
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            open: false,
            max_bytes: 1024 * 1024,
            open_max_bytes: 64 * 1024,
            open_per_minute: 30,
            max_depth: 32,
            max_triples: 10_000,
            max_kept: 10_000,
            auto_accept: true,
        }
    }
}

/// Why a notification was refused; the HTTP layer maps each to its status.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(
        "unsigned notifications are refused here: servers sign deliveries with HTTP Message Signatures (RFC 9421); the operator has not opened this inbox to plain LDN senders"
    )]
    Unsigned,
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("too many notifications from {0}: try again in a minute")]
    RateLimited(IpAddr),
    #[error(transparent)]
    Federation(#[from] Box<crate::FederationError>),
}

/// A stored notification's metadata (its body is read on demand).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub received: String,
    /// The signing server's actor (None for an inert, unsigned notification).
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub activity: Option<String>,
    #[serde(default)]
    pub kind: String,
    /// What was done with it: applied, duplicate, deferred (a pull will fetch it),
    /// stale, subscription, ignored, inert.
    pub outcome: String,
    #[serde(default)]
    pub order: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    meta: Notification,
    body: Value,
}

impl Notification {
    fn graph_name(&self) -> NamedNode {
        NamedNode::new_unchecked(format!("{NOTE_PREFIX}{}", self.id))
    }

    pub fn inert(&self) -> bool {
        self.sender.is_none()
    }
}

/// What became of a notification.
#[derive(Debug, Clone)]
pub struct Received {
    pub notification: Notification,
    /// A new notification (201) or one seen before (202 with its Location).
    pub created: bool,
}

#[derive(Default)]
struct Index {
    by_order: BTreeMap<u64, Notification>,
    by_activity: HashMap<String, u64>,
    next: u64,
}

pub struct Inbox {
    directory: Arc<Directory>,
    peers: Arc<Peers>,
    followers: Arc<Followers>,
    verifier: Verifier,
    net: Net,
    config: InboxConfig,
    index: Mutex<Index>,
    rate: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Inbox {
    pub fn open(
        directory: Arc<Directory>,
        peers: Arc<Peers>,
        followers: Arc<Followers>,
        net: Net,
        config: InboxConfig,
    ) -> Result<Self, crate::FederationError> {
        let mut index = Index::default();
        for quad in directory.store().quads_with_predicate(NOTE)? {
            let Term::Literal(json) = &quad.object else {
                continue;
            };
            if let Ok(stored) = serde_json::from_str::<Stored>(json.value()) {
                let meta = stored.meta;
                index.next = index.next.max(meta.order + 1);
                if let Some(activity) = &meta.activity {
                    index.by_activity.insert(activity.clone(), meta.order);
                }
                index.by_order.insert(meta.order, meta);
            }
        }
        Ok(Inbox {
            directory,
            peers,
            followers,
            verifier: Verifier::new(net.clone()),
            net,
            config,
            index: Mutex::new(index),
            rate: Mutex::new(HashMap::new()),
        })
    }

    pub fn config(&self) -> &InboxConfig {
        &self.config
    }

    pub fn url(&self) -> String {
        format!("{}inbox/", self.directory.paths().base())
    }

    pub fn location(&self, n: &Notification) -> String {
        format!("{}{}", self.url(), n.id)
    }

    /// The notifications `admin` (or, if false, anyone) may see, oldest first.
    pub fn list(&self, admin: bool) -> Vec<Notification> {
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index
            .by_order
            .values()
            .filter(|n| admin || n.inert())
            .cloned()
            .collect()
    }

    /// One notification and its body, if `admin` (or anyone, for inert ones) may see it.
    pub fn get(
        &self,
        id: &str,
        admin: bool,
    ) -> Result<Option<(Notification, Value)>, crate::FederationError> {
        let meta = {
            let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
            index.by_order.values().find(|n| n.id == id).cloned()
        };
        let Some(meta) = meta.filter(|n| admin || n.inert()) else {
            return Ok(None);
        };
        let graph = self.directory.store().graph(meta.graph_name().as_ref())?;
        let body = graph
            .triples_for_predicate(NOTE)
            .find_map(|t| match t.object {
                oxigraph::model::TermRef::Literal(l) => {
                    serde_json::from_str::<Stored>(l.value()).ok()
                }
                _ => None,
            })
            .map(|s| s.body)
            .unwrap_or(Value::Null);
        Ok(Some((meta, body)))
    }

    /// Accepts a POSTed notification (the body already read within the limits).
    pub async fn receive(
        &self,
        headers: &http::HeaderMap,
        body: Bytes,
        client: IpAddr,
    ) -> Result<Received, InboxError> {
        let signed = headers.contains_key("signature") || headers.contains_key("signature-input");
        if !signed {
            return self.receive_inert(body, client);
        }
        let signer = self
            .verifier
            .verify(&self.url(), headers, body.clone())
            .await?;
        let activity: Value = serde_json::from_slice(&body)
            .map_err(|e| InboxError::Malformed(format!("the body is not JSON: {e}")))?;
        let kind = activity
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let activity_id = activity
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let actor = activity
            .get("actor")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if actor != signer.actor {
            return Err(InboxError::Forbidden(format!(
                "the activity's actor ({actor:?}) is not the server that signed it ({})",
                signer.actor
            )));
        }
        if !activity_id.starts_with(signer.base()) {
            return Err(InboxError::Forbidden(format!(
                "the activity's id ({activity_id:?}) is not under the signer's base URL {}",
                signer.base()
            )));
        }
        // Deduplicate: the same activity id is one notification.
        let dedupe_key = dedupe_key(&activity_id, &activity);
        if let Some(seen) = self.seen(&dedupe_key) {
            return Ok(Received {
                notification: seen,
                created: false,
            });
        }
        let mut meta = self.new_meta(Some(signer.actor.clone()), Some(dedupe_key), &kind);
        let extra = match kind.as_str() {
            "Create" | "Update" | "Delete" => {
                // Stored with the change itself, before its outcome is known.
                meta.outcome = "received".into();
                meta.outcome = self.apply(&signer, &activity, &meta).await?;
                None
            }
            "Follow" => {
                self.follow(&signer, &activity).await?;
                meta.outcome = "subscription".into();
                Some(self.store_change(&meta, &activity))
            }
            "Accept" | "Reject" => {
                self.answered(&signer, &kind, &activity)?;
                meta.outcome = "subscription".into();
                Some(self.store_change(&meta, &activity))
            }
            "Undo" => {
                if let Some(follower) = self.followers.by_base(signer.base()) {
                    self.followers
                        .remove(&follower.id)
                        .map_err(|e| InboxError::Federation(Box::new(e)))?;
                }
                meta.outcome = "subscription".into();
                Some(self.store_change(&meta, &activity))
            }
            _ => {
                meta.outcome = "ignored".into();
                Some(self.store_change(&meta, &activity))
            }
        };
        if let Some(change) = extra {
            self.directory
                .store()
                .apply(&change)
                .map_err(|e| InboxError::Federation(Box::new(e.into())))?;
        }
        self.remember(meta.clone());
        Ok(Received {
            notification: meta,
            created: true,
        })
    }

    fn receive_inert(&self, body: Bytes, client: IpAddr) -> Result<Received, InboxError> {
        if !self.config.open {
            return Err(InboxError::Unsigned);
        }
        if body.len() > self.config.open_max_bytes {
            return Err(InboxError::TooLarge(format!(
                "an unsigned notification may have at most {} bytes",
                self.config.open_max_bytes
            )));
        }
        {
            let mut rate = self.rate.lock().unwrap_or_else(|p| p.into_inner());
            let slot = rate.entry(client).or_insert((Instant::now(), 0));
            if slot.0.elapsed() > Duration::from_secs(60) {
                *slot = (Instant::now(), 0);
            }
            slot.1 += 1;
            if slot.1 > self.config.open_per_minute {
                return Err(InboxError::RateLimited(client));
            }
        }
        let value: Value = serde_json::from_slice(&body)
            .map_err(|e| InboxError::Malformed(format!("the body is not JSON-LD: {e}")))?;
        if !value.is_object() && !value.is_array() {
            return Err(InboxError::Malformed(
                "a notification is a JSON-LD object (or a list of them)".into(),
            ));
        }
        let kind = value
            .get("@type")
            .or_else(|| value.get("type"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut meta = self.new_meta(None, None, &kind);
        meta.outcome = "inert".into();
        self.directory
            .store()
            .apply(&self.store_change(&meta, &value))
            .map_err(|e| InboxError::Federation(Box::new(e.into())))?;
        self.remember(meta.clone());
        Ok(Received {
            notification: meta,
            created: true,
        })
    }

    fn seen(&self, key: &str) -> Option<Notification> {
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        index
            .by_activity
            .get(key)
            .and_then(|o| index.by_order.get(o))
            .cloned()
    }

    fn new_meta(
        &self,
        sender: Option<String>,
        activity: Option<String>,
        kind: &str,
    ) -> Notification {
        let order = {
            let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
            index.next += 1;
            index.next
        };
        let id = match &activity {
            Some(a) => hex::encode(&sha2::Sha256::digest(a.as_bytes())[..10]),
            None => uuid_like(),
        };
        Notification {
            id,
            received: now(),
            sender,
            activity,
            kind: kind.to_owned(),
            outcome: String::new(),
            order,
        }
    }

    fn store_change(&self, meta: &Notification, body: &Value) -> ChangeSet {
        let name = meta.graph_name();
        let stored = Stored {
            meta: meta.clone(),
            body: body.clone(),
        };
        let mut graph = Graph::new();
        graph.insert(&Triple::new(
            name.clone(),
            NOTE,
            Literal::from(serde_json::to_string(&stored).unwrap_or_default()),
        ));
        let mut change = ChangeSet {
            replace: vec![(name, graph)],
            ..Default::default()
        };
        // Keep the most recent notifications only.
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let excess = (index.by_order.len() + 1).saturating_sub(self.config.max_kept);
        change
            .drop
            .extend(index.by_order.values().take(excess).map(|n| n.graph_name()));
        change
    }

    fn remember(&self, meta: Notification) {
        let mut index = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(activity) = &meta.activity {
            index.by_activity.insert(activity.clone(), meta.order);
        }
        index.by_order.insert(meta.order, meta);
        while index.by_order.len() > self.config.max_kept {
            if let Some((_, old)) = index.by_order.pop_first()
                && let Some(a) = &old.activity
            {
                index.by_activity.remove(a);
            }
        }
    }

    /// A `Create`/`Update`/`Delete` from a peer: applied to its replica in sequence
    /// order, with the notification, in one transaction.
    async fn apply(
        &self,
        signer: &SignedBy,
        activity: &Value,
        meta: &Notification,
    ) -> Result<String, InboxError> {
        let Some(peer) = self.peers.by_base(signer.base()) else {
            return Err(InboxError::Forbidden(format!(
                "this server does not follow {}: only servers it follows may send it data (the operator adds them with `coopdir peer add`)",
                signer.base()
            )));
        };
        let state = peer.snapshot();
        let (seq, change) = match self.peers.parse_activity(&state, activity) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return Ok("ignored".into()),
            // The object is not the signer's to publish.
            Err(why) if why.contains("not under the peer's base URL") => {
                return Err(InboxError::Forbidden(why));
            }
            Err(why) => return Err(InboxError::Malformed(why)),
        };
        if let ReplicaChange::Put { graph, .. } = &change
            && graph.len() > self.config.max_triples
        {
            return Err(InboxError::TooLarge(format!(
                "the resource has {} triples; at most {} are accepted",
                graph.len(),
                self.config.max_triples
            )));
        }
        let prev = activity.get("prev").and_then(Value::as_u64);
        let record = self.store_change(meta, activity);
        let outcome = self
            .peers
            .apply_pushed(&peer, seq, prev, change, record)
            .await
            .map_err(|e| match e {
                // What the peer may not send here (a system graph, one of our IRIs).
                crate::FederationError::BadPeer(why) => InboxError::Malformed(why),
                e => InboxError::Federation(Box::new(e)),
            })?;
        Ok(outcome.into())
    }

    async fn follow(&self, signer: &SignedBy, activity: &Value) -> Result<(), InboxError> {
        let base = self.directory.paths().base();
        let ours = format!("{base}actor");
        let object = id_of(activity.get("object"));
        let scope = if object == ours {
            None
        } else if object.starts_with(base)
            && object.ends_with('/')
            && coopdir_vocab::Kind::ALL
                .iter()
                .any(|k| object == format!("{base}{}/", k.container_segment()))
        {
            Some(object.clone())
        } else {
            return Err(InboxError::Malformed(format!(
                "a Follow names this server's actor ({ours}) or one of its containers, not {object:?}"
            )));
        };
        let actor = self
            .net
            .get_json(&signer.actor)
            .await
            .map_err(|e| InboxError::Forbidden(format!("cannot read your actor: {e}")))?;
        let inbox = actor
            .get("inbox")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !inbox.starts_with(signer.base()) {
            return Err(InboxError::Forbidden(format!(
                "your actor's inbox ({inbox:?}) is not under your base URL {}",
                signer.base()
            )));
        }
        let follow_id = activity
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.followers
            .follow(
                &signer.actor,
                &inbox,
                scope,
                follow_id,
                self.config.auto_accept,
            )
            .map_err(|e| InboxError::Federation(Box::new(e)))?;
        Ok(())
    }

    fn answered(&self, signer: &SignedBy, kind: &str, activity: &Value) -> Result<(), InboxError> {
        let Some(peer) = self.peers.by_base(signer.base()) else {
            return Err(InboxError::Forbidden(format!(
                "this server sent no Follow to {}",
                signer.base()
            )));
        };
        let subscription = if kind == "Accept" {
            Subscription::Accepted
        } else {
            Subscription::Rejected
        };
        let head = activity.get("head").and_then(Value::as_u64);
        self.peers
            .set_subscription(&peer, subscription, head)
            .map_err(|e| InboxError::Federation(Box::new(e)))
    }
}

fn id_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(m)) => m
            .get("id")
            .or_else(|| m.get("@id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// Activities are deduplicated by id; an outbox activity id names a resource's change
/// at one sequence, which is the same change whenever it is delivered.
fn dedupe_key(id: &str, activity: &Value) -> String {
    match activity.get("seq").and_then(Value::as_u64) {
        Some(seq) if !id.contains("/outbox/") => format!("{id}@{seq}"),
        _ => id.to_owned(),
    }
}

fn uuid_like() -> String {
    let bytes: [u8; 10] = rand::random();
    hex::encode(bytes)
}
