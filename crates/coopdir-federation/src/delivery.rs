//! Push delivery: the servers that follow this one, and one worker per follower walking
//! the outbox from its own durable cursor, in order.
//!
//! - Each activity goes out signed, stamped with `prev` (the follower's cursor before
//!   it), so the receiver can tell a gap from a duplicate.
//! - A network error, a timeout, a 429 or a 5xx is retried, after an exponential,
//!   jittered backoff up to `max_backoff`; `Retry-After` is honoured. A follower
//!   failing for longer than `pause_after` is paused: it is probed every
//!   `probe_interval`, for as long as it stays subscribed, and resumes from its cursor.
//! - A 4xx refusal is final for that activity: it goes to the follower's dead letters
//!   (visible and re-sendable by the operator) and the stream goes on.
//! - Workers share nothing but the HTTP client's pool, so a dead or hanging follower
//!   (each request has its own connect and total timeouts) delays only itself.
//! - Timing goes through [`Clock`], so tests cover hours of outage in seconds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use coopdir_ldp::Directory;
use coopdir_store::ChangeSet;
use oxigraph::model::{Graph, Literal, NamedNode, NamedNodeRef, Term, Triple};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::FederationError;
use crate::clock::Clock;
use crate::net::{FetchError, Net, Posted};
use crate::outbox::Outbox;
use crate::peers::peer_id;
use crate::registry::Registry;
use crate::signatures::Signer;
use crate::sync::now;
use crate::vocab::{ACTIVITY_JSON, activity_context};

const STATE: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:follower-state");
const FOLLOWER_PREFIX: &str = "urn:coopdir:follower:";
/// Activities read from the outbox at a time.
const BATCH: usize = 50;
/// How many dead letters a follower keeps (the oldest go first).
const MAX_DEAD_LETTERS: usize = 1_000;
/// The cursor is stored at most this often while a follower keeps up (a crash resends
/// what came after; receivers drop duplicates).
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// Settings of delivery.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Longest wait between two attempts while retrying.
    pub max_backoff: Duration,
    /// A follower failing for this long is paused and probed.
    pub pause_after: Duration,
    pub probe_interval: Duration,
    pub clock: Clock,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_backoff: Duration::from_secs(3600),
            pause_after: Duration::from_secs(6 * 3600),
            probe_interval: Duration::from_secs(15 * 60),
            clock: Clock::default(),
        }
    }
}

/// Whether a follower's subscription is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowStatus {
    /// Waiting for the operator's approval.
    Pending,
    Accepted,
}

/// An activity a follower refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub seq: u64,
    pub object: String,
    pub status: u16,
    pub error: String,
    pub time: String,
}

/// What we keep about a server that follows us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowerState {
    pub id: String,
    pub actor: String,
    pub base: String,
    pub inbox: String,
    /// A container of ours when only it is followed; else everything public.
    #[serde(default)]
    pub scope: Option<String>,
    /// The id of their `Follow`, which our `Accept` or `Reject` names.
    pub follow: String,
    pub status: FollowStatus,
    /// Our `Accept` (or `Reject`) has reached them.
    #[serde(default)]
    pub answered: bool,
    /// The last outbox sequence delivered (or passed over) for them.
    pub cursor: u64,
    pub since: String,
    #[serde(default)]
    pub delivered: u64,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub failing_since: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_success: Option<String>,
    #[serde(default)]
    pub next_attempt: Option<String>,
    #[serde(default)]
    pub backoff_ms: u64,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub dead_letters: Vec<DeadLetter>,
}

impl FollowerState {
    fn graph_name(&self) -> NamedNode {
        NamedNode::new_unchecked(format!("{FOLLOWER_PREFIX}{}", self.id))
    }

    fn change(&self) -> ChangeSet {
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

    fn in_scope(&self, object: &str) -> bool {
        self.scope.as_ref().is_none_or(|s| object.starts_with(s))
    }
}

struct FollowerHandle {
    state: Mutex<FollowerState>,
    /// Wakes the worker early: a resend, an approval, shutdown of a backoff.
    wake: Notify,
    stop: watch::Sender<bool>,
    /// When the worker started failing, on the delivery clock.
    failing_since: Mutex<Option<Duration>>,
}

impl FollowerHandle {
    fn snapshot(&self) -> FollowerState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut FollowerState)) -> FollowerState {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state);
        state.clone()
    }
}

/// How one delivery attempt ended.
enum Outcome {
    Delivered,
    /// Refused for good (a 4xx): dead-letter it.
    Refused {
        status: u16,
        why: String,
    },
    /// Try again later (network, timeout, 429, 5xx), after at least `wait`.
    Retry {
        why: String,
        wait: Option<Duration>,
    },
}

/// Signs and posts activities.
#[derive(Clone)]
pub struct Courier {
    pub(crate) net: Net,
    pub(crate) signer: Signer,
}

impl Courier {
    /// POSTs `activity` to `inbox`, signed.
    pub async fn send(&self, inbox: &str, activity: &Value) -> Result<Posted, FetchError> {
        let body = Bytes::from(serde_json::to_vec(activity).unwrap_or_default());
        let headers = self
            .signer
            .sign_post(inbox, ACTIVITY_JSON, body.clone())
            .await
            .map_err(|e| FetchError::BadUrl(format!("{inbox} ({e})")))?;
        self.net.post(inbox, headers, body).await
    }

    async fn attempt(&self, inbox: &str, activity: &Value) -> Outcome {
        match self.send(inbox, activity).await {
            Ok(Posted { status, .. }) if (200..300).contains(&status) => Outcome::Delivered,
            Ok(Posted {
                status,
                retry_after,
                detail,
            }) if status == 429 || status == 408 || status >= 500 => Outcome::Retry {
                why: format!("{inbox} answered {status}: {}", first_line(&detail)),
                wait: retry_after,
            },
            Ok(Posted { status, detail, .. }) => Outcome::Refused {
                status,
                why: format!("{inbox} answered {status}: {}", first_line(&detail)),
            },
            Err(e) if e.is_transient() => Outcome::Retry {
                why: e.to_string(),
                wait: None,
            },
            Err(e) => Outcome::Refused {
                status: 0,
                why: e.to_string(),
            },
        }
    }
}

fn first_line(detail: &str) -> String {
    // A problem+json's detail says most; otherwise the first line of what came back.
    serde_json::from_str::<Value>(detail)
        .ok()
        .and_then(|v| v.get("detail").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| {
            detail
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect()
        })
}

/// The servers following this one, with their delivery workers.
pub struct Followers {
    directory: Arc<Directory>,
    outbox: Arc<Outbox>,
    courier: Courier,
    config: DeliveryConfig,
    actor: String,
    followers: Registry<FollowerHandle>,
}

impl Followers {
    pub fn open(
        directory: Arc<Directory>,
        outbox: Arc<Outbox>,
        courier: Courier,
        config: DeliveryConfig,
    ) -> Result<Arc<Self>, FederationError> {
        let actor = format!("{}actor", directory.paths().base());
        let mut followers = BTreeMap::new();
        for quad in directory.store().quads_with_predicate(STATE)? {
            let Term::Literal(json) = &quad.object else {
                continue;
            };
            match serde_json::from_str::<FollowerState>(json.value()) {
                Ok(state) => {
                    followers.insert(state.id.clone(), Arc::new(new_handle(state)));
                }
                Err(e) => tracing::error!(error = %e, "unreadable follower state; ignored"),
            }
        }
        Ok(Arc::new(Followers {
            directory,
            outbox,
            courier,
            config,
            actor,
            followers: Registry::new(followers),
        }))
    }

    pub fn start(self: &Arc<Self>) {
        for handle in self.followers.start() {
            self.spawn(handle);
        }
    }

    fn handles(&self) -> Vec<Arc<FollowerHandle>> {
        self.followers.all()
    }

    fn handle(&self, id: &str) -> Result<Arc<FollowerHandle>, FederationError> {
        self.followers
            .get(id)
            .ok_or_else(|| FederationError::UnknownFollower(id.to_owned()))
    }

    pub fn list(&self) -> Vec<FollowerState> {
        self.handles().iter().map(|h| h.snapshot()).collect()
    }

    pub fn get(&self, id: &str) -> Result<FollowerState, FederationError> {
        Ok(self.handle(id)?.snapshot())
    }

    /// The follower whose base URL is `base`.
    pub fn by_base(&self, base: &str) -> Option<FollowerState> {
        self.list().into_iter().find(|f| f.base == base)
    }

    /// How far behind our outbox a follower is.
    pub fn lag(&self, state: &FollowerState) -> u64 {
        self.outbox.summary().1.saturating_sub(state.cursor)
    }

    fn spawn(self: &Arc<Self>, handle: Arc<FollowerHandle>) {
        let followers = self.clone();
        tokio::spawn(async move { followers.run(handle).await });
    }

    fn save(&self, state: &FollowerState) {
        if let Err(e) = self.directory.store().apply(&state.change()) {
            tracing::error!(follower = %state.id, error = %e, "cannot store the follower's state");
        }
    }

    async fn save_async(&self, state: FollowerState) {
        let directory = self.directory.clone();
        let id = state.id.clone();
        let saved =
            tokio::task::spawn_blocking(move || directory.store().apply(&state.change())).await;
        if !matches!(saved, Ok(Ok(_))) {
            tracing::error!(follower = %id, "cannot store the follower's state");
        }
    }

    /// A `Follow` from `actor` (verified) with inbox `inbox`, of `scope` (None: the
    /// whole server). Accepted now when `approve` is true, else left for the operator.
    /// A second `Follow` from the same server replaces the first.
    pub fn follow(
        self: &Arc<Self>,
        actor: &str,
        inbox: &str,
        scope: Option<String>,
        follow_id: &str,
        approve: bool,
    ) -> Result<FollowerState, FederationError> {
        let base = actor.strip_suffix("actor").unwrap_or(actor).to_owned();
        let id = peer_id(&base);
        let head = self.outbox.summary().1;
        let state = FollowerState {
            id: id.clone(),
            actor: actor.to_owned(),
            base,
            inbox: inbox.to_owned(),
            scope,
            follow: follow_id.to_owned(),
            status: if approve {
                FollowStatus::Accepted
            } else {
                FollowStatus::Pending
            },
            answered: false,
            // They pull everything up to our head (the Accept says which); we push after.
            cursor: head,
            since: now(),
            delivered: 0,
            failures: 0,
            failing_since: None,
            last_error: None,
            last_success: None,
            next_attempt: None,
            backoff_ms: 0,
            paused: false,
            dead_letters: Vec::new(),
        };
        self.save(&state);
        if let Ok(old) = self.handle(&id) {
            old.stop.send_replace(true);
        }
        let handle = Arc::new(new_handle(state.clone()));
        tracing::info!(follower = %state.actor, approved = approve, scope = ?state.scope, "follow request");
        if self.followers.insert(id, handle.clone()) {
            self.spawn(handle);
        }
        Ok(state)
    }

    /// The operator approves a pending follower: the `Accept` goes out and deliveries start.
    pub fn approve(&self, id: &str) -> Result<FollowerState, FederationError> {
        let handle = self.handle(id)?;
        let head = self.outbox.summary().1;
        let state = handle.update(|s| {
            if s.status == FollowStatus::Pending {
                s.status = FollowStatus::Accepted;
                s.answered = false;
                s.cursor = head;
            }
        });
        self.save(&state);
        handle.wake.notify_one();
        Ok(state)
    }

    /// Refuses a follower (a `Reject` is sent, best effort) and forgets it.
    pub async fn reject(&self, id: &str) -> Result<FollowerState, FederationError> {
        let state = self.remove(id)?;
        let reject = self.answer("Reject", &state);
        if let Err(e) = self.courier.send(&state.inbox, &reject).await {
            tracing::warn!(follower = %state.actor, error = %e, "could not send the Reject");
        }
        Ok(state)
    }

    /// Stops delivering to a follower (their `Undo`, or the operator) and forgets it.
    pub fn remove(&self, id: &str) -> Result<FollowerState, FederationError> {
        let handle = self.handle(id)?;
        handle.stop.send_replace(true);
        let state = handle.snapshot();
        self.directory.store().apply(&ChangeSet {
            drop: vec![state.graph_name()],
            ..Default::default()
        })?;
        self.followers.remove(id);
        tracing::info!(follower = %state.actor, "follower removed");
        Ok(state)
    }

    /// Sends the activity of a dead letter again (the resource's current state, which
    /// is what the follower should hold); it leaves the list when delivered.
    pub async fn resend(&self, id: &str, seq: u64) -> Result<FollowerState, FederationError> {
        let handle = self.handle(id)?;
        let state = handle.snapshot();
        let Some(letter) = state.dead_letters.iter().find(|d| d.seq == seq).cloned() else {
            return Err(FederationError::BadPeer(format!(
                "follower {id} has no dead letter with sequence {seq}: see GET /admin/followers/{id}"
            )));
        };
        let outbox = self.outbox.clone();
        let object = letter.object.clone();
        let current = tokio::task::spawn_blocking(move || outbox.latest_of(&object))
            .await
            .map_err(|e| FederationError::BadPeer(format!("resend stopped: {e}")))??;
        let outcome = match current {
            Some(mut activity) => {
                activity["prev"] = json!(0);
                self.courier
                    .attempt(&state.inbox, &with_context(activity))
                    .await
            }
            // Nothing public under that IRI any more: nothing to resend.
            None => Outcome::Delivered,
        };
        let failed = |s: &mut FollowerState, status: u16, why: String| {
            if let Some(d) = s.dead_letters.iter_mut().find(|d| d.seq == seq) {
                d.status = status;
                d.error = why;
                d.time = now();
            }
        };
        let state = handle.update(|s| match outcome {
            Outcome::Delivered => s.dead_letters.retain(|d| d.seq != seq),
            Outcome::Refused { status, why } => failed(s, status, why),
            Outcome::Retry { why, .. } => failed(s, 0, why),
        });
        self.save_async(state.clone()).await;
        Ok(state)
    }

    fn answer(&self, kind: &str, state: &FollowerState) -> Value {
        json!({
            "@context": activity_context(),
            // Unique per subscription: receivers deduplicate by id.
            "id": format!("{}#{}-{}-{}", self.actor, kind.to_lowercase(), state.id, state.since),
            "type": kind,
            "actor": self.actor,
            "published": now(),
            "object": {
                "id": state.follow,
                "type": "Follow",
                "actor": state.actor,
                "object": state.scope.clone().unwrap_or_else(|| self.actor.clone()),
            },
            // Where the follower's pull should reach before pushes follow on from it.
            "head": state.cursor,
        })
    }

    async fn run(self: Arc<Self>, handle: Arc<FollowerHandle>) {
        let mut stop = handle.stop.subscribe();
        let mut progress = self.outbox.applied_watch();
        let mut saved_at = Instant::now();
        let mut dirty = false;
        loop {
            if *stop.borrow() {
                return;
            }
            let state = handle.snapshot();
            if state.status == FollowStatus::Pending {
                tokio::select! {
                    _ = handle.wake.notified() => continue,
                    _ = stop.changed() => return,
                }
            }
            if !state.answered {
                let accept = self.answer("Accept", &state);
                match self.courier.attempt(&state.inbox, &accept).await {
                    Outcome::Delivered => {
                        let state = handle.update(|s| s.answered = true);
                        self.save_async(state).await;
                    }
                    Outcome::Refused { why, .. } => {
                        // They no longer want it: nothing more to deliver.
                        tracing::warn!(follower = %state.actor, %why, "the Accept was refused; the follower is dropped");
                        let _ = self.remove(&state.id);
                        return;
                    }
                    Outcome::Retry { why, wait } => {
                        if !self.back_off(&handle, why, wait, &mut stop).await {
                            return;
                        }
                    }
                }
                continue;
            }
            // The next activities after the cursor, or wait for the outbox to move.
            let outbox = self.outbox.clone();
            let cursor = state.cursor;
            let page = match tokio::task::spawn_blocking(move || outbox.page(cursor, BATCH)).await {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    tracing::error!(follower = %state.actor, error = %e, "cannot read the outbox");
                    self.config.clock.sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            if page.activities.is_empty() {
                if page.cursor > cursor {
                    handle.update(|s| s.cursor = s.cursor.max(page.cursor));
                    dirty = true;
                }
                if dirty {
                    self.save_async(handle.snapshot()).await;
                    saved_at = Instant::now();
                    dirty = false;
                }
                let head = page.head.max(cursor);
                tokio::select! {
                    _ = progress.wait_for(|a| *a > head) => {}
                    _ = handle.wake.notified() => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
            for activity in page.activities {
                let seq = activity.get("seq").and_then(Value::as_u64).unwrap_or(0);
                let object = object_id(&activity);
                let prev = handle.snapshot().cursor;
                if seq <= prev {
                    continue;
                }
                let state = handle.snapshot();
                if !state.in_scope(&object) {
                    handle.update(|s| s.cursor = seq);
                    dirty = true;
                    continue;
                }
                let mut activity = with_context(activity);
                activity["prev"] = json!(prev);
                loop {
                    if *stop.borrow() {
                        return;
                    }
                    match self.courier.attempt(&state.inbox, &activity).await {
                        Outcome::Delivered => {
                            let was_failing = handle.snapshot().failures > 0;
                            handle.update(|s| {
                                s.cursor = seq;
                                s.delivered += 1;
                                s.failures = 0;
                                s.failing_since = None;
                                s.paused = false;
                                s.backoff_ms = 0;
                                s.next_attempt = None;
                                s.last_error = None;
                                s.last_success = Some(now());
                            });
                            *handle
                                .failing_since
                                .lock()
                                .unwrap_or_else(|p| p.into_inner()) = None;
                            if was_failing {
                                tracing::info!(follower = %state.actor, seq, "delivery resumed");
                            }
                            dirty = true;
                            break;
                        }
                        Outcome::Refused { status, why } => {
                            tracing::warn!(follower = %state.actor, seq, status, %why, "delivery refused: dead-lettered");
                            handle.update(|s| {
                                s.cursor = seq;
                                s.dead_letters.push(DeadLetter {
                                    seq,
                                    object: object.clone(),
                                    status,
                                    error: why,
                                    time: now(),
                                });
                                if s.dead_letters.len() > MAX_DEAD_LETTERS {
                                    s.dead_letters.remove(0);
                                }
                            });
                            self.save_async(handle.snapshot()).await;
                            break;
                        }
                        Outcome::Retry { why, wait } => {
                            if !self.back_off(&handle, why, wait, &mut stop).await {
                                return;
                            }
                        }
                    }
                }
                if dirty && saved_at.elapsed() >= SAVE_EVERY {
                    self.save_async(handle.snapshot()).await;
                    saved_at = Instant::now();
                    dirty = false;
                }
            }
        }
    }

    /// Records a failure and waits before the next attempt; false when stopped.
    async fn back_off(
        &self,
        handle: &FollowerHandle,
        why: String,
        wait: Option<Duration>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let clock = &self.config.clock;
        let failing_for = {
            let mut since = handle
                .failing_since
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let started = *since.get_or_insert(clock.now());
            clock.now().saturating_sub(started)
        };
        let before = handle.snapshot();
        let failures = before.failures.saturating_add(1);
        let paused = failing_for >= self.config.pause_after;
        let delay = if paused {
            self.config.probe_interval
        } else {
            backoff(failures, self.config.max_backoff)
        };
        let state = handle.update(|s| {
            if s.failures == 0 {
                s.failing_since = Some(now());
            }
            s.failures = failures;
            s.paused = paused;
            s.backoff_ms = delay.as_millis() as u64;
            s.next_attempt = clock
                .wall_after(delay)
                .format(&time::format_description::well_known::Rfc3339)
                .ok();
            s.last_error = Some(why.clone());
        });
        if failures == 1 || paused && !before.paused {
            tracing::warn!(follower = %state.actor, failures, paused, error = %why, "delivery failed; retrying");
        }
        self.save_async(state).await;
        // Retry-After is the receiver's own demand, in real time.
        let sleep = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait.min(self.config.max_backoff)).await,
                None => clock.sleep(delay).await,
            }
        };
        tokio::select! {
            _ = sleep => true,
            _ = handle.wake.notified() => true,
            _ = stop.changed() => false,
        }
    }
}

/// `base · 2^(failures-1)` with ±20 % jitter, at most `max`: 1 s, 2 s, 4 s … 1 h.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let exp = Duration::from_secs(1).saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let factor: f64 = 0.8 + rand::random::<f64>() * 0.4;
    exp.min(max).mul_f64(factor)
}

fn object_id(activity: &Value) -> String {
    match activity.get("object") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Object(map)) => map
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => String::new(),
    }
}

/// An outbox activity as a standalone document.
fn with_context(activity: Value) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("@context".into(), activity_context());
    if let Value::Object(map) = activity {
        for (k, v) in map {
            doc.insert(k, v);
        }
    }
    Value::Object(doc)
}

fn new_handle(state: FollowerState) -> FollowerHandle {
    FollowerHandle {
        state: Mutex::new(state),
        wake: Notify::new(),
        stop: watch::channel(false).0,
        failing_since: Mutex::new(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let max = Duration::from_secs(3600);
        for (failures, nominal) in [(1u32, 1u64), (2, 2), (5, 16), (12, 2048)] {
            let d = backoff(failures, max);
            let nominal = Duration::from_secs(nominal);
            assert!(
                d >= nominal.mul_f64(0.79) && d <= nominal.mul_f64(1.21),
                "{failures}: {d:?}"
            );
        }
        assert!(backoff(40, max) <= max.mul_f64(1.21));
        assert!(backoff(40, max) >= max.mul_f64(0.79));
    }
}
