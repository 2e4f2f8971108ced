//! Federation: this server's actor and keys, its outbox (a view of the change log), the
//! peers it follows and the replicas of their public data, pulled and pushed.
//!
//! - [`keys`]: the Ed25519 key pair published on `/actor`.
//! - [`outbox`]: `/outbox?after=SEQ`, the log compacted to the latest change of every
//!   public resource, plus tombstones for a retention period.
//! - [`peers`]: following a peer, one task per peer pulling its outbox from a durable
//!   cursor on an interval (with jitter), with exponential backoff when it fails, so a
//!   slow or dead peer only delays itself.
//! - [`sync`]: one pull pass: fetch pages, check what the origin may publish, validate,
//!   store replicas with the new cursor in one transaction; a full re-sync with mark and
//!   sweep when the cursor is older than the peer's horizon.
//! - [`digest`]: per-origin digests over the RDFC-1.0 canonical form of each resource.
//! - [`net`]: outbound HTTP with timeouts, a size limit and the private-address rule.
//! - [`signatures`]: RFC 9421 signatures on every server-to-server POST.
//! - [`inbox`]: the LDN inbox: verified activities applied in order, subscriptions,
//!   inert notifications from plain LDN senders when the operator allows them.
//! - [`delivery`]: the servers following us, one worker each pushing the outbox from a
//!   durable cursor, with retries, dead letters and pauses, on an injectable [`clock`].
//! - [`limits`]: the JSON depth limit, checked while a body streams in.
//!
//! Nothing here is called on the write path: the outbox follows the change log, and
//! replicas are written through `coopdir-ldp` like any other write, with records whose
//! origin is the peer, so search and the SPARQL view index them.

pub mod clock;
pub mod delivery;
pub mod digest;
pub mod inbox;
pub mod keys;
pub mod limits;
pub mod net;
pub mod outbox;
pub mod peers;
mod registry;
pub mod signatures;
pub mod sync;
pub mod vocab;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use coopdir_ldp::{Directory, LdpError};
use coopdir_store::StoreError;
use serde_json::{Value, json};

pub use clock::Clock;
pub use delivery::{DeliveryConfig, FollowerState, Followers};
pub use digest::OriginDigest;
pub use inbox::{Inbox, InboxConfig, InboxError, Notification};
pub use keys::ActorKey;
pub use net::{FetchError, NetConfig};
pub use outbox::{Outbox, OutboxPage};
pub use peers::{PeerState, Peers, Subscription};

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("the server's key: {0}")]
    Key(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    BadPeer(String),
    #[error("no peer {0}: see GET /admin/peers for the peers this server follows")]
    UnknownPeer(String),
    #[error("no follower {0}: see GET /admin/followers for the servers following this one")]
    UnknownFollower(String),
    #[error("{0} is already followed (peer {1})")]
    AlreadyFollowed(String, String),
    #[error(transparent)]
    Ldp(#[from] LdpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Settings of federation.
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// The server's name on its actor document.
    pub name: String,
    /// How often each peer's outbox is pulled (with ±20 % jitter).
    pub sync_interval: Duration,
    /// Longest wait between attempts at a failing peer.
    pub max_backoff: Duration,
    /// How long deletions stay in our outbox.
    pub tombstone_retention: Duration,
    /// Activities asked for per outbox page.
    pub page_size: usize,
    pub net: NetConfig,
    pub inbox: InboxConfig,
    pub delivery: DeliveryConfig,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            name: "coopdir".into(),
            sync_interval: Duration::from_secs(300),
            max_backoff: Duration::from_secs(3600),
            tombstone_retention: Duration::from_secs(30 * 24 * 3600),
            page_size: 200,
            net: NetConfig::default(),
            inbox: InboxConfig::default(),
            delivery: DeliveryConfig::default(),
        }
    }
}

/// Everything federation holds, shared by the HTTP layer.
pub struct Federation {
    directory: Arc<Directory>,
    key: ActorKey,
    outbox: Arc<Outbox>,
    peers: Arc<Peers>,
    followers: Arc<Followers>,
    inbox: Inbox,
    config: FederationConfig,
}

impl Federation {
    /// Loads (or creates) the key in `dir`, builds the outbox and reads the peers.
    pub fn open(
        directory: Arc<Directory>,
        dir: Option<&Path>,
        config: FederationConfig,
    ) -> Result<Arc<Self>, FederationError> {
        let key = match dir {
            Some(dir) => ActorKey::load_or_create(dir)?,
            None => ActorKey::ephemeral(),
        };
        let outbox = Arc::new(Outbox::open(directory.clone(), config.tombstone_retention)?);
        let net = net::Net::new(config.net.clone());
        let key_id = format!("{}actor#main-key", directory.paths().base());
        let courier = delivery::Courier {
            net: net.clone(),
            signer: signatures::Signer::new(&key, key_id).map_err(FederationError::Key)?,
        };
        let peers = Peers::open(directory.clone(), config.clone(), courier.clone())?;
        let followers = Followers::open(
            directory.clone(),
            outbox.clone(),
            courier,
            config.delivery.clone(),
        )?;
        let inbox = Inbox::open(
            directory.clone(),
            peers.clone(),
            followers.clone(),
            net,
            config.inbox.clone(),
        )?;
        Ok(Arc::new(Federation {
            directory,
            key,
            outbox,
            peers,
            followers,
            inbox,
            config,
        }))
    }

    /// Starts following the change log and the peers (needs a tokio runtime).
    pub fn start(&self) {
        tokio::spawn(self.outbox.clone().follow());
        self.peers.start();
        self.followers.start();
    }

    pub fn followers(&self) -> &Arc<Followers> {
        &self.followers
    }

    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn peers(&self) -> &Arc<Peers> {
        &self.peers
    }

    pub fn actor_id(&self) -> String {
        format!("{}actor", self.directory.paths().base())
    }

    /// The server's ActivityStreams `Service`.
    pub fn actor(&self) -> Value {
        let base = self.directory.paths().base();
        let id = self.actor_id();
        let key_id = format!("{id}#main-key");
        let hosts = self
            .outbox
            .public_entries_of(coopdir_vocab::Kind::Coop.shape_name());
        json!({
            "@context": vocab::activity_context(),
            "id": id,
            "type": "Service",
            "name": self.config.name,
            "preferredUsername": "directory",
            "url": base,
            "hosts": hosts,
            "inbox": format!("{base}inbox/"),
            "outbox": format!("{base}outbox"),
            "assertionMethod": [{
                "id": key_id,
                "type": "Multikey",
                "controller": id,
                "publicKeyMultibase": self.key.public_multibase(),
            }],
            "publicKey": {
                "id": key_id,
                "owner": id,
                "publicKeyPem": self.key.public_pem(),
            },
        })
    }

    /// The outbox collection (`GET /outbox` without a page).
    pub fn outbox_collection(&self) -> Value {
        let base = self.directory.paths().base();
        let (total, head, horizon) = self.outbox.summary();
        json!({
            "@context": vocab::activity_context(),
            "id": format!("{base}outbox"),
            "type": "OrderedCollection",
            "totalItems": total,
            "head": head,
            "horizon": horizon,
            "first": format!("{base}outbox?after=0&limit={}", self.config.page_size),
        })
    }

    /// One outbox page as a document.
    pub fn outbox_page(&self, after: u64, limit: usize) -> Result<Value, FederationError> {
        let base = self.directory.paths().base();
        let limit = limit.clamp(1, outbox::MAX_PAGE);
        let page = self.outbox.page(after, limit)?;
        let mut doc = json!({
            "@context": vocab::activity_context(),
            "id": format!("{base}outbox?after={after}&limit={limit}"),
            "type": "OrderedCollectionPage",
            "partOf": format!("{base}outbox"),
            "cursor": page.cursor,
            "head": page.head,
            "horizon": page.horizon,
            "orderedItems": page.activities,
        });
        if page.cursor < page.head
            && let Value::Object(map) = &mut doc
        {
            map.insert(
                "next".into(),
                Value::String(format!("{base}outbox?after={}&limit={limit}", page.cursor)),
            );
        }
        Ok(doc)
    }

    /// The per-origin digests: ours first, then each peer's.
    pub fn digest(&self) -> Result<Vec<OriginDigest>, FederationError> {
        let mut digests = vec![digest::local(&self.directory, &self.outbox)?];
        for peer in self.peers.list() {
            digests.push(digest::replica(&self.directory, &peer.base)?);
        }
        Ok(digests)
    }

    /// The stored copy of a remote resource, with its origin and what we know of it.
    pub fn replica(
        &self,
        iri: &oxigraph::model::NamedNode,
    ) -> Result<Option<ReplicaCopy>, FederationError> {
        let Some(peer) = self
            .peers
            .list()
            .into_iter()
            .find(|p| iri.as_str().starts_with(&p.base))
        else {
            return Ok(None);
        };
        let Some(entry) = self.directory.replica_entry(&peer.base, iri)? else {
            return Ok(None);
        };
        let graph = self.directory.store().graph(iri.as_ref())?;
        Ok(Some(ReplicaCopy {
            origin: peer.base,
            entry,
            graph,
        }))
    }
}

/// A remote resource as this server holds it.
pub struct ReplicaCopy {
    pub origin: String,
    pub entry: coopdir_ldp::ReplicaEntry,
    /// Empty when the origin deleted it (the entry is then a tombstone).
    pub graph: oxigraph::model::Graph,
}
