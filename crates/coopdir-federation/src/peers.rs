//! The peers this server follows: their durable state (one system graph each), one task
//! per peer pulling its outbox, and the admin operations (add, remove, sync now).
//!
//! Each peer's task sleeps for the sync interval with ±20 % jitter (so peers added at
//! once do not pull in lockstep), or after a failure for an exponentially growing,
//! jittered backoff capped at `max_backoff`. A pass holds only its own peer's lock, so a
//! peer that hangs until its timeout delays nobody else.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coopdir_ldp::Directory;
use coopdir_store::ChangeSet;
use oxigraph::model::{Graph, Literal, NamedNode, NamedNodeRef, Term, Triple};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::sync::{Notify, watch};

use crate::delivery::Courier;
use crate::net::Net;
use crate::registry::Registry;
use crate::{FederationConfig, FederationError};
use coopdir_ldp::{ReplicaChange, ReplicaRejection};
use serde_json::{Value, json};

const STATE: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:peer-state");
const PEER_PREFIX: &str = "urn:coopdir:peer:";

/// Whether a peer pushes its changes to us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Subscription {
    /// No subscription: we pull on the interval only.
    #[default]
    Pull,
    /// Our `Follow` was delivered; waiting for its `Accept`.
    Requested,
    /// The peer pushes (we still pull on the interval, as a safety net).
    Accepted,
    /// The peer refused our `Follow`: pull only.
    Rejected,
}

/// What we keep about one peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerState {
    pub id: String,
    /// The peer's base URL: every IRI it may publish starts with it.
    pub base: String,
    pub actor: String,
    pub outbox: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The last sequence of the peer's outbox fully applied here.
    pub cursor: u64,
    /// The peer's head at the last successful pull.
    #[serde(default)]
    pub head: u64,
    pub added: String,
    #[serde(default)]
    pub last_success: Option<String>,
    #[serde(default)]
    pub last_attempt: Option<String>,
    /// The last failure of a pull, or what was skipped in the last one.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Consecutive failed pulls (0: healthy).
    #[serde(default)]
    pub failures: u32,
    /// Resources skipped in the last pull (invalid, or not the peer's to publish).
    #[serde(default)]
    pub skipped: usize,
    #[serde(default)]
    pub inbox: Option<String>,
    #[serde(default)]
    pub subscription: Subscription,
    /// Why the subscription is what it is (a refused Follow, say).
    #[serde(default)]
    pub subscription_note: Option<String>,
    /// Changes pushed by the peer and applied here.
    #[serde(default)]
    pub pushed: u64,
}

impl PeerState {
    pub fn graph_name(&self) -> NamedNode {
        NamedNode::new_unchecked(format!("{PEER_PREFIX}{}", self.id))
    }

    /// The change that stores this state (in the same transaction as replica writes).
    pub fn change(&self) -> ChangeSet {
        let name = self.graph_name();
        let mut graph = Graph::new();
        graph.insert(&Triple::new(
            name.clone(),
            STATE,
            Literal::from(serde_json::to_string(self).unwrap_or_default()),
        ));
        ChangeSet {
            replace: vec![(name, graph)],
            ..Default::default()
        }
    }

    pub fn lag(&self) -> u64 {
        self.head.saturating_sub(self.cursor)
    }
}

/// The id of the peer with base URL `base`.
pub fn peer_id(base: &str) -> String {
    hex::encode(sha2::Sha256::digest(base.as_bytes()))[..12].to_owned()
}

pub(crate) struct PeerHandle {
    pub state: Mutex<PeerState>,
    /// How many of the peer's resources we hold (counted at start-up, then kept).
    pub held: AtomicUsize,
    /// Held for the duration of a pass: one pass per peer at a time.
    pub pass: tokio::sync::Mutex<()>,
    /// Held (shared) while a pushed change is applied, so that removing the peer
    /// waits for those in flight and none writes after its replica is gone.
    pub pushing: tokio::sync::RwLock<()>,
    pub wake: Notify,
    pub stop: watch::Sender<bool>,
}

impl PeerHandle {
    pub fn snapshot(&self) -> PeerState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Takes a pull pass's view of the state, keeping what pushes and subscriptions
    /// changed meanwhile, under one lock.
    pub(crate) fn absorb(&self, pass: &PeerState) {
        let mut current = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *current = PeerState {
            subscription: current.subscription,
            subscription_note: current.subscription_note.clone(),
            pushed: current.pushed,
            ..pass.clone()
        };
    }

    /// A pull pass's view of the state, with what pushes and subscriptions changed
    /// meanwhile (the pass works on a copy taken when it started).
    pub(crate) fn merged(&self, pass: &PeerState) -> PeerState {
        let current = self.snapshot();
        PeerState {
            subscription: current.subscription,
            subscription_note: current.subscription_note,
            pushed: current.pushed,
            ..pass.clone()
        }
    }
}

pub struct Peers {
    pub(crate) directory: Arc<Directory>,
    pub(crate) config: FederationConfig,
    pub(crate) net: Net,
    courier: Courier,
    peers: Registry<PeerHandle>,
}

impl Peers {
    pub fn open(
        directory: Arc<Directory>,
        config: FederationConfig,
        courier: Courier,
    ) -> Result<Arc<Self>, FederationError> {
        let mut peers = BTreeMap::new();
        for quad in directory.store().quads_with_predicate(STATE)? {
            let Term::Literal(json) = &quad.object else {
                continue;
            };
            match serde_json::from_str::<PeerState>(json.value()) {
                Ok(state) => {
                    let handle = new_handle(state);
                    let held = Self::count_held(&directory, &handle.snapshot().base)?;
                    handle.held.store(held, Ordering::Relaxed);
                    peers.insert(handle.snapshot().id, Arc::new(handle));
                }
                Err(e) => tracing::error!(error = %e, "unreadable peer state; ignored"),
            }
        }
        let net = courier.net.clone();
        Ok(Arc::new(Peers {
            directory,
            config,
            net,
            courier,
            peers: Registry::new(peers),
        }))
    }

    /// Starts a task for every peer (and, from now on, for peers added later).
    pub fn start(self: &Arc<Self>) {
        for handle in self.peers.start() {
            self.spawn(handle);
        }
    }

    fn handles(&self) -> Vec<Arc<PeerHandle>> {
        self.peers.all()
    }

    fn handle(&self, id: &str) -> Result<Arc<PeerHandle>, FederationError> {
        self.peers
            .get(id)
            .ok_or_else(|| FederationError::UnknownPeer(id.to_owned()))
    }

    pub fn list(&self) -> Vec<PeerState> {
        self.handles().iter().map(|h| h.snapshot()).collect()
    }

    pub fn get(&self, id: &str) -> Result<PeerState, FederationError> {
        Ok(self.handle(id)?.snapshot())
    }

    /// How many resources of a peer we hold.
    pub fn replicated(&self, id: &str) -> usize {
        self.handle(id)
            .map_or(0, |h| h.held.load(Ordering::Relaxed))
    }

    fn count_held(directory: &Directory, base: &str) -> Result<usize, FederationError> {
        Ok(directory
            .replica_entries(base)?
            .iter()
            .filter(|e| !e.deleted)
            .count())
    }

    fn spawn(self: &Arc<Self>, handle: Arc<PeerHandle>) {
        let peers = self.clone();
        tokio::spawn(async move { peers.run(handle).await });
    }

    async fn run(self: Arc<Self>, handle: Arc<PeerHandle>) {
        let mut stop = handle.stop.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            let failures = {
                let _pass = handle.pass.lock().await;
                if *stop.borrow() {
                    return;
                }
                self.pass(&handle).await;
                handle.snapshot().failures
            };
            let delay = if failures == 0 {
                jitter(self.config.sync_interval)
            } else {
                let exp = self
                    .config
                    .sync_interval
                    .min(Duration::from_secs(30))
                    .saturating_mul(1u32 << failures.min(16));
                jitter(exp.min(self.config.max_backoff))
            };
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = handle.wake.notified() => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Follows the peer at `url` (its base URL or its actor's): fetches its actor, stores
    /// the peer and starts pulling its outbox from 0.
    pub async fn add(self: &Arc<Self>, url: &str) -> Result<PeerState, FederationError> {
        let trimmed = url.trim();
        let actor_url = if trimmed.ends_with("/actor") {
            trimmed.to_owned()
        } else {
            format!("{}/actor", trimmed.trim_end_matches('/'))
        };
        let actor = self.net.get_json(&actor_url).await?;
        let id = actor.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        if id != actor_url {
            return Err(FederationError::BadPeer(format!(
                "the actor at {actor_url} says its id is {id:?}: a coopdir server's actor is its base URL followed by \"actor\""
            )));
        }
        let base = actor_url.trim_end_matches("actor").to_owned();
        let outbox = actor
            .get("outbox")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        if !outbox.starts_with(&base) {
            return Err(FederationError::BadPeer(format!(
                "the actor at {actor_url} names no outbox under {base} (outbox: {outbox:?})"
            )));
        }
        let inbox = actor
            .get("inbox")
            .and_then(|v| v.as_str())
            .filter(|i| i.starts_with(&base))
            .map(str::to_owned);
        let own = self.directory.paths().base();
        if base.starts_with(own) || own.starts_with(&base) {
            return Err(FederationError::BadPeer(format!(
                "{base} is this server ({own}), or overlaps its base URL"
            )));
        }
        for other in self.list() {
            if other.base == base {
                return Err(FederationError::AlreadyFollowed(base, other.id));
            }
            if other.base.starts_with(&base) || base.starts_with(&other.base) {
                return Err(FederationError::BadPeer(format!(
                    "{base} overlaps the base URL of peer {} ({}): an origin may only publish under its own base URL",
                    other.id, other.base
                )));
            }
        }
        let state = PeerState {
            id: peer_id(&base),
            base,
            actor: actor_url,
            outbox,
            name: actor
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            cursor: 0,
            head: 0,
            added: crate::sync::now(),
            last_success: None,
            last_attempt: None,
            last_error: None,
            failures: 0,
            skipped: 0,
            inbox,
            subscription: Subscription::Pull,
            subscription_note: None,
            pushed: 0,
        };
        self.directory.store().apply(&state.change())?;
        tracing::info!(peer = %state.id, base = %state.base, "following a new peer");
        let handle = Arc::new(new_handle(state.clone()));
        if self.peers.insert(state.id.clone(), handle.clone()) {
            self.spawn(handle.clone());
        }
        // The peer is known before its Accept can arrive (which may be before the
        // Follow's own answer).
        let (subscription, note) = self.request_push(&state).await;
        let state = {
            let mut current = handle.state.lock().unwrap_or_else(|p| p.into_inner());
            if current.subscription == Subscription::Pull {
                current.subscription = subscription;
            }
            current.subscription_note = note;
            current.clone()
        };
        self.directory.store().apply(&state.change())?;
        Ok(state)
    }

    /// Sends the peer a `Follow` of this server's actor: when it answers 2xx, it will
    /// push (after its `Accept`); otherwise we pull only, and say why.
    async fn request_push(&self, state: &PeerState) -> (Subscription, Option<String>) {
        let Some(inbox) = state.inbox.clone() else {
            return (
                Subscription::Pull,
                Some("the peer's actor names no inbox: pulling on the interval only".into()),
            );
        };
        let outcome = match self
            .courier
            .send(&inbox, &self.follow_activity(state))
            .await
        {
            Ok(posted) if (200..300).contains(&posted.status) => (Subscription::Requested, None),
            Ok(posted) => (
                Subscription::Pull,
                Some(format!(
                    "the peer did not take our Follow ({inbox} answered {}: {}): pulling on the interval only",
                    posted.status,
                    posted.detail.chars().take(300).collect::<String>()
                )),
            ),
            Err(e) => (
                Subscription::Pull,
                Some(format!(
                    "our Follow did not reach the peer ({e}): pulling on the interval only"
                )),
            ),
        };
        tracing::info!(peer = %state.id, subscription = ?outcome.0, note = ?outcome.1, "asked the peer to push");
        outcome
    }

    fn follow_activity(&self, state: &PeerState) -> Value {
        let actor = format!("{}actor", self.directory.paths().base());
        json!({
            "@context": crate::vocab::activity_context(),
            // Unique per request: receivers deduplicate by id.
            "id": format!("{actor}#follow-{}-{}", state.id, crate::sync::now()),
            "type": "Follow",
            "actor": actor,
            "published": crate::sync::now(),
            "object": state.actor,
        })
    }

    /// The peer publishing under `base`.
    pub(crate) fn by_base(&self, base: &str) -> Option<Arc<PeerHandle>> {
        self.handles()
            .into_iter()
            .find(|h| h.snapshot().base == base)
    }

    /// The peer accepted or rejected our `Follow`. An Accept names the head its pull
    /// should reach; the pull starts now.
    pub(crate) fn set_subscription(
        &self,
        handle: &PeerHandle,
        subscription: Subscription,
        head: Option<u64>,
    ) -> Result<(), FederationError> {
        let state = {
            let mut state = handle.state.lock().unwrap_or_else(|p| p.into_inner());
            state.subscription = subscription;
            state.subscription_note = None;
            if let Some(head) = head {
                state.head = state.head.max(head);
            }
            state.clone()
        };
        self.directory.store().apply(&state.change())?;
        tracing::info!(peer = %state.id, ?subscription, "the peer answered our Follow");
        handle.wake.notify_one();
        Ok(())
    }

    /// Applies a change the peer pushed, with `record` (the notification) in the same
    /// transaction. `prev` is the peer's cursor for us before this activity: when it
    /// is at or behind ours, nothing was missed and our cursor moves to `seq`;
    /// otherwise a pull fetches the gap. A resource that does not validate yet (its
    /// links arrive later) is left to that pull.
    pub(crate) async fn apply_pushed(
        &self,
        handle: &Arc<PeerHandle>,
        seq: u64,
        prev: Option<u64>,
        change: ReplicaChange,
        record: ChangeSet,
    ) -> Result<&'static str, FederationError> {
        let _pushing = handle.pushing.read().await;
        let state = handle.snapshot();
        if *handle.stop.borrow() {
            return Err(FederationError::UnknownPeer(state.id));
        }
        let directory = self.directory.clone();
        let base = state.base.clone();
        // Nothing missed between our cursor and this change: the cursor moves to it. A
        // change at or behind the cursor (a resend) is still stored if it is newer than
        // the copy held; one ahead of a gap is stored and the pull fetches the gap.
        let in_order = seq > state.cursor && prev.is_some_and(|p| p <= state.cursor);
        let gap = prev.is_none_or(|p| p > state.cursor);
        let (outcome, moved) = tokio::task::spawn_blocking(move || {
            if let ReplicaChange::Put { iri, graph } = &change {
                match directory.check_replica(&base, iri, graph, &Default::default())? {
                    Ok(_) => {}
                    Err(ReplicaRejection::Invalid(_)) => {
                        directory.store().apply(&record)?;
                        return Ok::<_, FederationError>((None, false));
                    }
                    Err(why) => {
                        return Err(FederationError::BadPeer(format!("{iri}: {why}")));
                    }
                }
            }
            let mut extra = record;
            let mut advanced = state.clone();
            if in_order {
                advanced.cursor = seq;
                advanced.head = advanced.head.max(seq);
                extra.merge(advanced.change());
            }
            let outcome = directory.store_replicas(&base, &[(seq, change)], extra)?;
            Ok((Some(outcome), in_order))
        })
        .await
        .map_err(|e| {
            FederationError::BadPeer(format!("applying a pushed change stopped: {e}"))
        })??;
        let Some(outcome) = outcome else {
            handle.wake.notify_one();
            return Ok("deferred");
        };
        {
            let mut state = handle.state.lock().unwrap_or_else(|p| p.into_inner());
            if moved {
                state.cursor = state.cursor.max(seq);
            }
            state.head = state.head.max(seq);
            state.pushed += 1;
        }
        let held = handle.held.load(Ordering::Relaxed);
        handle.held.store(
            (held + outcome.created).saturating_sub(outcome.deleted),
            Ordering::Relaxed,
        );
        if gap {
            handle.wake.notify_one();
        }
        Ok(if outcome.stored + outcome.deleted > 0 {
            "applied"
        } else {
            "stale"
        })
    }

    /// Pulls from the peer now and returns its state after the pass.
    pub async fn sync_now(&self, id: &str) -> Result<PeerState, FederationError> {
        let handle = self.handle(id)?;
        {
            let _pass = handle.pass.lock().await;
            self.pass(&handle).await;
        }
        Ok(handle.snapshot())
    }

    /// Stops following a peer and removes its replica; returns how many resources went.
    pub async fn remove(&self, id: &str) -> Result<usize, FederationError> {
        let handle = self.handle(id)?;
        handle.stop.send_replace(true);
        // Wait for a pass and pushes in progress: none may write after the replica is gone.
        let _pass = handle.pass.lock().await;
        let _pushing = handle.pushing.write().await;
        let state = handle.snapshot();
        if matches!(
            state.subscription,
            Subscription::Requested | Subscription::Accepted
        ) && let Some(inbox) = &state.inbox
        {
            let mut undo = self.follow_activity(&state);
            undo["object"] = undo.clone();
            undo["id"] = json!(format!(
                "{}actor#undo-{}-{}",
                self.directory.paths().base(),
                state.id,
                crate::sync::now()
            ));
            undo["type"] = json!("Undo");
            if let Err(e) = self.courier.send(inbox, &undo).await {
                tracing::warn!(peer = %state.id, error = %e, "could not tell the peer we stopped following it");
            }
        }
        let directory = self.directory.clone();
        let removed = tokio::task::spawn_blocking(move || {
            let extra = ChangeSet {
                drop: vec![state.graph_name()],
                ..Default::default()
            };
            directory.drop_replicas(&state.base, extra)
        })
        .await
        .map_err(|e| FederationError::BadPeer(format!("removal stopped: {e}")))??;
        self.peers.remove(id);
        tracing::info!(
            peer = id,
            removed,
            "stopped following a peer; its replica is gone"
        );
        Ok(removed)
    }
}

fn new_handle(state: PeerState) -> PeerHandle {
    PeerHandle {
        state: Mutex::new(state),
        held: AtomicUsize::new(0),
        pass: tokio::sync::Mutex::new(()),
        pushing: tokio::sync::RwLock::new(()),
        wake: Notify::new(),
        stop: watch::channel(false).0,
    }
}

/// `d` ± 20 %.
fn jitter(d: Duration) -> Duration {
    let factor: f64 = 0.8 + rand::random::<f64>() * 0.4;
    d.mul_f64(factor)
}
