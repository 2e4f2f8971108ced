//! Who may do what in coopdir: accounts, sessions, personal tokens, invitations and roles,
//! and the one authorisation module that every read and write path asks.
//!
//! - [`Access`] keeps accounts, token hashes, sessions and invitations in system graphs of
//!   the store (never served, federated, or exported but for backups) and mirrors them in
//!   memory, so authenticating a request costs a hash and a map lookup.
//! - [`policy`] holds the rules, in one place a co-op can read: what each principal may
//!   read (`dir:visibility`, contact details) and write (own profile, co-op admins, project
//!   leads, server admins). The LDP layer asks it before every write and for every read;
//!   no handler decides on its own.
//! - Roles are data: a co-op admin is a `dir:admin` of the co-op, a project lead the
//!   project's `dir:lead`, a member a worker `schema:memberOf` the co-op; only the
//!   server-admin role lives in the account.

mod accounts;
mod error;
pub mod policy;
mod principal;
mod secrets;
pub mod stored;
mod throttle;

pub use accounts::{
    AccountState, AccountView, InvitationView, NewAccount, NewSession, PreparedAccount, TokenOwner,
    TokenView, normalise_email,
};
pub use error::AccessError;
pub use policy::{Action, Audience, Roles, WorkerFacts, WriteDecision};
pub use principal::{Credential, Identity, Principal};
pub use secrets::{check_password, hash_secret};
pub use throttle::Limit;

use coopdir_store::GraphStore;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// Settings of accounts and credentials.
#[derive(Debug, Clone)]
pub struct AccessConfig {
    pub session_days: u32,
    pub invitation_days: u32,
    pub min_password_len: usize,
    pub login_failures_per_account: Limit,
    pub login_failures_per_client: Limit,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            session_days: 14,
            invitation_days: 7,
            min_password_len: 10,
            login_failures_per_account: Limit {
                failures: 5,
                window: Duration::from_secs(15 * 60),
            },
            login_failures_per_client: Limit {
                failures: 20,
                window: Duration::from_secs(15 * 60),
            },
        }
    }
}

pub struct Access {
    store: Arc<dyn GraphStore>,
    /// The server's base URL: the origin of the change records written here.
    origin: String,
    config: AccessConfig,
    registry: RwLock<accounts::Registry>,
    /// Serialises read-check-write sequences on the registry.
    writer: Mutex<()>,
    throttle: throttle::Throttle,
    /// Verified against when a login names an unknown address, so that it takes as long
    /// as a wrong password.
    dummy_hash: String,
}

impl Access {
    pub fn new(
        store: Arc<dyn GraphStore>,
        origin: &str,
        config: AccessConfig,
    ) -> Result<Self, AccessError> {
        accounts::migrate_legacy_tokens(store.as_ref(), origin)?;
        let registry = accounts::Registry::load(store.as_ref())?;
        let dummy_hash = secrets::hash_password(&secrets::new_secret(""))?;
        Ok(Self {
            store,
            origin: origin.to_owned(),
            throttle: throttle::Throttle::new(
                config.login_failures_per_account,
                config.login_failures_per_client,
            ),
            config,
            registry: RwLock::new(registry),
            writer: Mutex::new(()),
            dummy_hash,
        })
    }

    pub fn config(&self) -> &AccessConfig {
        &self.config
    }

    pub(crate) fn store(&self) -> &dyn GraphStore {
        self.store.as_ref()
    }

    // A panic while holding these cannot leave the store half-written (each write is one
    // transaction, applied before the mirror is updated), so poisoned locks are reused.
    fn read(&self) -> RwLockReadGuard<'_, accounts::Registry> {
        self.registry
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, accounts::Registry> {
        self.registry
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writer_lock(&self) -> MutexGuard<'_, ()> {
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coopdir_store::{ChangeSet, OxigraphStore};
    use oxigraph::model::{Literal, NamedNode, Quad};

    #[test]
    fn admin_tokens_of_the_linked_data_core_become_server_admin_tokens() {
        let store = Arc::new(OxigraphStore::in_memory().expect("store"));
        let secret = "cdt_0123456789abcdef";
        let system = NamedNode::new_unchecked("urn:coopdir:system");
        let id = NamedNode::new_unchecked("urn:coopdir:token:8b3c1f9e-0000-4000-8000-000000000001");
        store
            .apply(&ChangeSet {
                insert: vec![
                    Quad::new(
                        id.clone(),
                        NamedNode::new_unchecked("urn:coopdir:tokenHash"),
                        Literal::from(hash_secret(secret)),
                        system.clone(),
                    ),
                    Quad::new(
                        id,
                        NamedNode::new_unchecked("urn:coopdir:role"),
                        Literal::from("admin"),
                        system.clone(),
                    ),
                ],
                ..Default::default()
            })
            .expect("legacy token");
        let access =
            Access::new(store.clone(), "http://x/", AccessConfig::default()).expect("access");
        let principal = access.authenticate_bearer(secret).expect("still valid");
        assert!(principal.is_server_admin());
        assert!(access.has_server_admin());
        assert!(
            store.graph(system.as_ref()).expect("graph").is_empty(),
            "the old graph is gone"
        );
        // Opening again finds it in the new layout only.
        let again = Access::new(store, "http://x/", AccessConfig::default()).expect("access");
        assert_eq!(again.tokens(None).len(), 1);
    }
}
