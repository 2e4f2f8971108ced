//! Accounts, personal and admin tokens, sessions and invitations: kept in system graphs,
//! mirrored in memory so that authenticating a request is a hash and a map lookup.

use coopdir_store::{Actor, ChangeRecord, ChangeSet, GraphStore, Operation};
use oxigraph::model::NamedNode;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

use crate::principal::{Credential, Identity, Principal};
use crate::secrets::{self, hash_secret};
use crate::stored::{self, Stored};
use crate::{Access, AccessError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountState {
    Active,
    Disabled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Account {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) password_hash: String,
    pub(crate) state: AccountState,
    pub(crate) worker: String,
    pub(crate) server_admin: bool,
    pub(crate) created: i64,
}

impl Stored for Account {
    const KIND: &'static str = "account";
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Token {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) hash: String,
    /// `None`: a server-admin token not tied to an account.
    pub(crate) account: Option<String>,
    pub(crate) created: i64,
    pub(crate) expires: Option<i64>,
}

impl Stored for Token {
    const KIND: &'static str = "token";
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) hash: String,
    pub(crate) account: String,
    pub(crate) created: i64,
    pub(crate) expires: i64,
}

impl Stored for Session {
    const KIND: &'static str = "session";
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Invitation {
    pub(crate) id: String,
    pub(crate) hash: String,
    pub(crate) coop: String,
    pub(crate) email: String,
    pub(crate) created: i64,
    pub(crate) expires: i64,
}

impl Stored for Invitation {
    const KIND: &'static str = "invitation";
    fn id(&self) -> &str {
        &self.id
    }
}

/// An account as shown to its owner and to admins (never a secret or a hash).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub name: String,
    pub state: AccountState,
    pub worker: String,
    pub server_admin: bool,
    pub created: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The account's id; none for a server-admin token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InvitationView {
    pub id: String,
    pub coop: String,
    pub email: String,
    pub created: String,
    pub expires: String,
}

/// Who owns a new token.
#[derive(Debug, Clone)]
pub enum TokenOwner {
    ServerAdmin,
    Account(String),
}

/// What a new account needs.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub password: String,
    pub worker: NamedNode,
    pub server_admin: bool,
}

/// An account checked and hashed, with the changes that store it: the caller adds them to
/// the transaction that creates the person's worker resource, then calls
/// [`Access::account_stored`].
#[derive(Debug, Clone)]
pub struct PreparedAccount {
    account: Account,
    /// An accepted invitation, consumed in the same transaction.
    invitation: Option<String>,
    pub changes: ChangeSet,
}

impl PreparedAccount {
    pub fn id(&self) -> &str {
        &self.account.id
    }
}

/// A session just opened: the secret goes into the cookie, and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub principal: Principal,
    pub expires: i64,
}

/// What a change to an account does to its sessions.
enum Sessions<'a> {
    Keep,
    /// End them all but the one whose cookie holds this secret.
    EndAllBut(Option<&'a str>),
}

/// The in-memory mirror of the system graphs.
#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) accounts: HashMap<String, Account>,
    pub(crate) by_email: HashMap<String, String>,
    pub(crate) by_worker: HashMap<String, String>,
    /// Keyed by the token's hash.
    pub(crate) tokens: HashMap<String, Token>,
    pub(crate) sessions: HashMap<String, Session>,
    pub(crate) invitations: HashMap<String, Invitation>,
}

impl Registry {
    pub(crate) fn load(store: &dyn GraphStore) -> Result<Self, AccessError> {
        let mut registry = Registry::default();
        for account in stored::load_all::<Account>(store)? {
            registry.insert_account(account);
        }
        for token in stored::load_all::<Token>(store)? {
            registry.tokens.insert(token.hash.clone(), token);
        }
        let now = now();
        // Sessions that ran out while the server was down are dropped for good.
        let mut expired = ChangeSet::default();
        for session in stored::load_all::<Session>(store)? {
            if session.expires > now {
                registry.sessions.insert(session.hash.clone(), session);
            } else {
                stored::remove::<Session>(&mut expired, &session.id);
            }
        }
        if !expired.is_empty() {
            store.apply(&expired)?;
        }
        for invitation in stored::load_all::<Invitation>(store)? {
            registry
                .invitations
                .insert(invitation.hash.clone(), invitation);
        }
        Ok(registry)
    }

    fn insert_account(&mut self, account: Account) {
        self.by_email
            .insert(account.email.clone(), account.id.clone());
        self.by_worker
            .insert(account.worker.clone(), account.id.clone());
        self.accounts.insert(account.id.clone(), account);
    }
}

/// The linked-data core kept admin tokens as `<urn:coopdir:token:ID>
/// <urn:coopdir:tokenHash> "HEX"` in the graph `urn:coopdir:system`; they become
/// server-admin tokens in today's layout, and the old graph goes.
pub(crate) fn migrate_legacy_tokens(
    store: &dyn GraphStore,
    origin: &str,
) -> Result<usize, AccessError> {
    let legacy = NamedNode::new_unchecked("urn:coopdir:system");
    let graph = store.graph(legacy.as_ref())?;
    if graph.is_empty() {
        return Ok(0);
    }
    let hash_predicate = oxigraph::model::NamedNodeRef::new_unchecked("urn:coopdir:tokenHash");
    let mut changes = ChangeSet::default();
    let mut count = 0;
    for t in graph.triples_for_predicate(hash_predicate) {
        let oxigraph::model::TermRef::Literal(hash) = t.object else {
            continue;
        };
        let id = match t.subject {
            oxigraph::model::NamedOrBlankNodeRef::NamedNode(n) => n
                .as_str()
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .replace('-', ""),
            oxigraph::model::NamedOrBlankNodeRef::BlankNode(_) => String::new(),
        };
        let token = Token {
            id: if id.is_empty() {
                uuid::Uuid::new_v4().simple().to_string()
            } else {
                id
            },
            name: "admin token (from before accounts)".into(),
            hash: hash.value().to_owned(),
            account: None,
            created: now(),
            expires: None,
        };
        stored::put(&mut changes, &token)?;
        changes.records.push(ChangeRecord {
            resource: stored::graph_name(Token::KIND, &token.id)
                .as_str()
                .to_owned(),
            kind: Token::KIND.to_owned(),
            operation: Operation::Create,
            origin: origin.to_owned(),
            actor: Actor::Operator,
            time: rfc3339(now()),
            visibility_before: None,
            visibility_after: None,
        });
        count += 1;
    }
    changes.drop.push(legacy);
    store.apply(&changes)?;
    tracing::info!(tokens = count, "admin tokens moved to the accounts layout");
    Ok(count)
}

pub(crate) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

const DAY: i64 = 86_400;

/// Trims and lowercases an address, or says what is wrong with it.
pub fn normalise_email(email: &str) -> Result<String, AccessError> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if valid {
        Ok(email)
    } else {
        Err(AccessError::Invalid(format!(
            "\"{email}\" is not an e-mail address"
        )))
    }
}

impl Account {
    fn view(&self) -> AccountView {
        AccountView {
            id: self.id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            state: self.state,
            worker: self.worker.clone(),
            server_admin: self.server_admin,
            created: rfc3339(self.created),
        }
    }
}

impl Token {
    fn view(&self) -> TokenView {
        TokenView {
            id: self.id.clone(),
            name: self.name.clone(),
            created: rfc3339(self.created),
            expires: self.expires.map(rfc3339),
            account: self.account.clone(),
        }
    }
}

impl Invitation {
    fn view(&self) -> InvitationView {
        InvitationView {
            id: self.id.clone(),
            coop: self.coop.clone(),
            email: self.email.clone(),
            created: rfc3339(self.created),
            expires: rfc3339(self.expires),
        }
    }
}

impl Access {
    /// The change record of a system resource (account, token, invitation, proposal):
    /// never public, so it never leaves the server.
    pub fn system_record(
        &self,
        kind: &str,
        id: &str,
        operation: Operation,
        actor: &Actor,
    ) -> ChangeRecord {
        ChangeRecord {
            resource: stored::graph_name(kind, id).as_str().to_owned(),
            kind: kind.to_owned(),
            operation,
            origin: self.origin.clone(),
            actor: actor.clone(),
            time: rfc3339(now()),
            visibility_before: None,
            visibility_after: None,
        }
    }

    // ---- accounts ----------------------------------------------------------------

    /// Checks a new account (address free and valid, password strong enough) and hashes
    /// its password; nothing is stored yet.
    pub fn prepare_account(
        &self,
        new: NewAccount,
        actor: &Actor,
    ) -> Result<PreparedAccount, AccessError> {
        let email = normalise_email(&new.email)?;
        let name = new.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AccessError::Invalid(
                "the name must have between 1 and 200 characters".into(),
            ));
        }
        {
            let registry = self.read();
            if registry.by_email.contains_key(&email) {
                return Err(AccessError::Conflict(format!(
                    "an account with the address {email} exists already"
                )));
            }
            if registry.by_worker.contains_key(new.worker.as_str()) {
                return Err(AccessError::Conflict(format!(
                    "{} belongs to an account already",
                    new.worker
                )));
            }
        }
        secrets::check_password(
            &new.password,
            self.config.min_password_len,
            &[&email, &name],
        )?;
        let account = Account {
            id: uuid::Uuid::new_v4().simple().to_string(),
            email,
            name,
            password_hash: secrets::hash_password(&new.password)?,
            state: AccountState::Active,
            worker: new.worker.as_str().to_owned(),
            server_admin: new.server_admin,
            created: now(),
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &account)?;
        let actor = match actor {
            // The account accepting an invitation is its own author.
            Actor::Invitation { invitation, .. } => Actor::Invitation {
                invitation: invitation.clone(),
                account: account.id.clone(),
            },
            other => other.clone(),
        };
        changes.records.push(self.system_record(
            Account::KIND,
            &account.id,
            Operation::Create,
            &actor,
        ));
        Ok(PreparedAccount {
            account,
            invitation: None,
            changes,
        })
    }

    /// After the transaction holding `prepared.changes` committed.
    pub fn account_stored(&self, prepared: PreparedAccount) {
        let mut registry = self.write();
        if let Some(hash) = prepared.invitation {
            registry.invitations.remove(&hash);
        }
        registry.insert_account(prepared.account);
    }

    pub fn accounts(&self) -> Vec<AccountView> {
        let mut all: Vec<AccountView> = self.read().accounts.values().map(Account::view).collect();
        all.sort_by(|a, b| a.email.cmp(&b.email));
        all
    }

    pub fn account(&self, id: &str) -> Option<AccountView> {
        self.read().accounts.get(id).map(Account::view)
    }

    /// An account by id or by e-mail address.
    pub fn find_account(&self, id_or_email: &str) -> Option<AccountView> {
        let registry = self.read();
        let id = registry
            .by_email
            .get(&id_or_email.trim().to_lowercase())
            .map(String::as_str)
            .unwrap_or(id_or_email);
        registry.accounts.get(id).map(Account::view)
    }

    /// The account whose WebID is `worker`.
    pub fn account_for_worker(&self, worker: &str) -> Option<AccountView> {
        let registry = self.read();
        let id = registry.by_worker.get(worker)?;
        registry.accounts.get(id).map(Account::view)
    }

    /// Disables (or re-enables) an account. A disabled account's sessions end and its
    /// tokens stop working at once.
    pub fn set_account_state(
        &self,
        id_or_email: &str,
        state: AccountState,
        actor: &Actor,
    ) -> Result<AccountView, AccessError> {
        let _guard = self.writer_lock();
        let Some(mut account) = self
            .find_account(id_or_email)
            .and_then(|v| self.read().accounts.get(&v.id).cloned())
        else {
            return Err(AccessError::NotFound(format!(
                "no account {id_or_email}: `coopdir user list` shows them"
            )));
        };
        if account.state == state {
            return Ok(account.view());
        }
        account.state = state;
        let sessions = if state == AccountState::Disabled {
            Sessions::EndAllBut(None)
        } else {
            Sessions::Keep
        };
        let view = self.save_account(account, sessions, actor)?;
        tracing::info!(account = %view.id, state = ?state, "account state changed");
        Ok(view)
    }

    /// Stores a changed account (and ends its sessions, if asked), then mirrors it; the
    /// writer lock is held.
    fn save_account(
        &self,
        account: Account,
        sessions: Sessions<'_>,
        actor: &Actor,
    ) -> Result<AccountView, AccessError> {
        let ended: Vec<Session> = match sessions {
            Sessions::Keep => Vec::new(),
            Sessions::EndAllBut(keep) => {
                let keep = keep.map(hash_secret);
                self.read()
                    .sessions
                    .values()
                    .filter(|s| s.account == account.id && Some(&s.hash) != keep.as_ref())
                    .cloned()
                    .collect()
            }
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &account)?;
        for session in &ended {
            stored::remove::<Session>(&mut changes, &session.id);
        }
        changes.records.push(self.system_record(
            Account::KIND,
            &account.id,
            Operation::Replace,
            actor,
        ));
        self.store.apply(&changes)?;
        let mut registry = self.write();
        for session in &ended {
            registry.sessions.remove(&session.hash);
        }
        let view = account.view();
        registry.accounts.insert(account.id.clone(), account);
        Ok(view)
    }

    /// A person changes their password, proving the current one; their other sessions end
    /// (the one in `keep`, if any, stays).
    pub fn change_password(
        &self,
        account: &str,
        current: &str,
        new: &str,
        keep: Option<&str>,
        actor: &Actor,
    ) -> Result<(), AccessError> {
        let _guard = self.writer_lock();
        let Some(mut stored) = self.read().accounts.get(account).cloned() else {
            return Err(AccessError::NotFound(format!("no account {account}")));
        };
        if !secrets::verify_password(current, &stored.password_hash) {
            return Err(AccessError::Forbidden(
                "the current password is wrong".into(),
            ));
        }
        secrets::check_password(
            new,
            self.config.min_password_len,
            &[&stored.email, &stored.name],
        )?;
        stored.password_hash = secrets::hash_password(new)?;
        self.save_account(stored, Sessions::EndAllBut(keep), actor)?;
        Ok(())
    }

    /// Whether any server-admin credential exists (an admin token or a server-admin account).
    pub fn has_server_admin(&self) -> bool {
        let registry = self.read();
        registry.tokens.values().any(|t| t.account.is_none())
            || registry
                .accounts
                .values()
                .any(|a| a.server_admin && a.state == AccountState::Active)
    }

    // ---- tokens ------------------------------------------------------------------

    /// Creates a token and returns it with the secret itself (only its hash is kept).
    pub fn create_token(
        &self,
        owner: TokenOwner,
        name: Option<&str>,
        expires_in_days: Option<u32>,
        actor: &Actor,
    ) -> Result<(TokenView, String), AccessError> {
        let _guard = self.writer_lock();
        let (prefix, account) = match owner {
            TokenOwner::ServerAdmin => (secrets::ADMIN_TOKEN_PREFIX, None),
            TokenOwner::Account(id) => {
                let registry = self.read();
                match registry.accounts.get(&id) {
                    Some(a) if a.state == AccountState::Active => {}
                    Some(_) => {
                        return Err(AccessError::Conflict(
                            "the account is disabled: enable it before creating tokens".into(),
                        ));
                    }
                    None => return Err(AccessError::NotFound(format!("no account {id}"))),
                }
                (secrets::PERSONAL_TOKEN_PREFIX, Some(id))
            }
        };
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("token");
        if name.chars().count() > 100 {
            return Err(AccessError::Invalid(
                "a token's name has at most 100 characters".into(),
            ));
        }
        if expires_in_days == Some(0) || expires_in_days.is_some_and(|d| d > 3650) {
            return Err(AccessError::Invalid(
                "expiresInDays must be between 1 and 3650 (or left out for no expiry)".into(),
            ));
        }
        let secret = secrets::new_secret(prefix);
        let created = now();
        let token = Token {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.to_owned(),
            hash: hash_secret(&secret),
            account,
            created,
            expires: expires_in_days.map(|d| created + i64::from(d) * DAY),
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &token)?;
        changes
            .records
            .push(self.system_record(Token::KIND, &token.id, Operation::Create, actor));
        self.store.apply(&changes)?;
        let view = token.view();
        self.write().tokens.insert(token.hash.clone(), token);
        Ok((view, secret))
    }

    /// The tokens of an account (or, with `None`, the server-admin tokens).
    pub fn tokens(&self, account: Option<&str>) -> Vec<TokenView> {
        let mut out: Vec<TokenView> = self
            .read()
            .tokens
            .values()
            .filter(|t| t.account.as_deref() == account)
            .map(Token::view)
            .collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        out
    }

    /// Revokes token `id` of `account` (any token with `None`, for server admins).
    pub fn revoke_token(
        &self,
        account: Option<&str>,
        id: &str,
        actor: &Actor,
    ) -> Result<(), AccessError> {
        let _guard = self.writer_lock();
        let Some(token) = self
            .read()
            .tokens
            .values()
            .find(|t| t.id == id && (account.is_none() || t.account.as_deref() == account))
            .cloned()
        else {
            return Err(AccessError::NotFound(format!(
                "no token {id}: GET /account/tokens lists yours"
            )));
        };
        let mut changes = ChangeSet::default();
        stored::remove::<Token>(&mut changes, &token.id);
        changes
            .records
            .push(self.system_record(Token::KIND, &token.id, Operation::Delete, actor));
        self.store.apply(&changes)?;
        self.write().tokens.remove(&token.hash);
        Ok(())
    }

    // ---- authentication ----------------------------------------------------------

    /// The principal a bearer token stands for; a token that is unknown, revoked or
    /// expired, or whose account is disabled, is refused (never treated as anonymous).
    pub fn authenticate_bearer(&self, secret: &str) -> Result<Principal, AccessError> {
        let hash = hash_secret(secret);
        let registry = self.read();
        let Some(token) = registry.tokens.get(&hash) else {
            return Err(AccessError::Unauthenticated(
                "the bearer token is not valid (mistyped, revoked or expired): create a new one with POST /account/tokens or `coopdir token create`".into(),
            ));
        };
        if token.expires.is_some_and(|e| e <= now()) {
            return Err(AccessError::Unauthenticated(
                "the bearer token has expired: create a new one with POST /account/tokens or `coopdir token create`".into(),
            ));
        }
        let credential = Credential::Token {
            token: token.id.clone(),
        };
        match &token.account {
            None => Ok(Principal {
                identity: Identity::AdminToken {
                    token: token.id.clone(),
                },
                credential,
            }),
            Some(id) => {
                let identity = active_identity(&registry, id).ok_or_else(|| {
                    AccessError::Unauthenticated(
                        "the token's account is disabled: ask a co-op or server admin".into(),
                    )
                })?;
                Ok(Principal {
                    identity,
                    credential,
                })
            }
        }
    }

    /// The principal of a session cookie; `None` when the session is unknown or over, or its
    /// account disabled (the request then goes on as anonymous).
    pub fn authenticate_session(&self, secret: &str) -> Option<Principal> {
        let hash = hash_secret(secret);
        let registry = self.read();
        let session = registry.sessions.get(&hash)?;
        if session.expires <= now() {
            return None;
        }
        Some(Principal {
            identity: active_identity(&registry, &session.account)?,
            credential: Credential::Session {
                session: session.id.clone(),
            },
        })
    }

    /// Checks an e-mail address and password and opens a session. An unknown address and
    /// a wrong password get the same answer after the same work; failures are throttled
    /// per account and per client address.
    pub fn login(
        &self,
        email: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<NewSession, AccessError> {
        let email = email.trim().to_lowercase();
        let client = client.to_string();
        if let Err(wait) = self.throttle.check(&email, &client) {
            return Err(AccessError::RateLimited { retry_after: wait });
        }
        let account = {
            let registry = self.read();
            registry
                .by_email
                .get(&email)
                .and_then(|id| registry.accounts.get(id))
                .cloned()
        };
        let stored_hash = account
            .as_ref()
            .map(|a| a.password_hash.as_str())
            .unwrap_or(&self.dummy_hash);
        let matches = secrets::verify_password(password, stored_hash) && account.is_some();
        let Some(account) = account.filter(|_| matches) else {
            self.throttle.failed(&email, &client);
            tracing::info!(client = %client, "failed login");
            return Err(AccessError::Unauthenticated(
                "the e-mail address or the password is wrong".into(),
            ));
        };
        self.throttle.succeeded(&email);
        if account.state != AccountState::Active {
            return Err(AccessError::Forbidden(
                "this account is disabled: ask your co-op's admin or a server admin".into(),
            ));
        }
        let secret = secrets::new_secret(secrets::SESSION_PREFIX);
        let created = now();
        let session = Session {
            id: uuid::Uuid::new_v4().simple().to_string(),
            hash: hash_secret(&secret),
            account: account.id.clone(),
            created,
            expires: created + i64::from(self.config.session_days) * DAY,
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &session)?;
        self.store.apply(&changes)?;
        let principal = Principal {
            identity: Identity::Account {
                id: account.id.clone(),
                worker: NamedNode::new_unchecked(account.worker.clone()),
                server_admin: account.server_admin,
            },
            credential: Credential::Session {
                session: session.id.clone(),
            },
        };
        let expires = session.expires;
        self.write().sessions.insert(session.hash.clone(), session);
        tracing::info!(account = %account.id, "logged in");
        Ok(NewSession {
            secret,
            principal,
            expires,
        })
    }

    /// Ends the session whose cookie holds `secret` (unknown ones are ignored).
    pub fn logout(&self, secret: &str) -> Result<(), AccessError> {
        let hash = hash_secret(secret);
        let Some(session) = self.read().sessions.get(&hash).cloned() else {
            return Ok(());
        };
        let mut changes = ChangeSet::default();
        stored::remove::<Session>(&mut changes, &session.id);
        self.store.apply(&changes)?;
        self.write().sessions.remove(&hash);
        Ok(())
    }

    /// The CSRF token of the session whose cookie holds `secret`: derived from the secret,
    /// which a cross-site attacker cannot read, so nothing more needs storing.
    pub fn csrf_token(secret: &str) -> String {
        hash_secret(&format!("csrf:{secret}"))
    }

    pub fn csrf_matches(secret: &str, presented: &str) -> bool {
        secrets::constant_time_eq(&Self::csrf_token(secret), presented)
    }

    // ---- invitations -------------------------------------------------------------

    /// Creates a single-use invitation to join `coop`; returns it with its secret, which
    /// goes into the link.
    pub fn create_invitation(
        &self,
        coop: &NamedNode,
        email: &str,
        actor: &Actor,
    ) -> Result<(InvitationView, String), AccessError> {
        let _guard = self.writer_lock();
        let email = normalise_email(email)?;
        if self.read().by_email.contains_key(&email) {
            return Err(AccessError::Conflict(format!(
                "{email} has an account already: a co-op admin adds it to the co-op by editing the co-op's members"
            )));
        }
        let secret = secrets::new_secret(secrets::INVITATION_PREFIX);
        let created = now();
        let invitation = Invitation {
            id: uuid::Uuid::new_v4().simple().to_string(),
            hash: hash_secret(&secret),
            coop: coop.as_str().to_owned(),
            email,
            created,
            expires: created + i64::from(self.config.invitation_days) * DAY,
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &invitation)?;
        changes.records.push(self.system_record(
            Invitation::KIND,
            &invitation.id,
            Operation::Create,
            actor,
        ));
        self.store.apply(&changes)?;
        let view = invitation.view();
        self.write()
            .invitations
            .insert(invitation.hash.clone(), invitation);
        Ok((view, secret))
    }

    /// The open invitation behind a link. Unknown, used, revoked and expired invitations
    /// all get the same answer.
    pub fn invitation(&self, secret: &str) -> Result<InvitationView, AccessError> {
        let registry = self.read();
        match registry.invitations.get(&hash_secret(secret)) {
            Some(i) if i.expires > now() => Ok(i.view()),
            _ => Err(AccessError::NotFound(
                "no such invitation: it may have expired or been used already; ask the co-op's admin for a new one".into(),
            )),
        }
    }

    /// The open invitations to `coop`.
    pub fn invitations(&self, coop: &NamedNode) -> Vec<InvitationView> {
        let now = now();
        let mut out: Vec<InvitationView> = self
            .read()
            .invitations
            .values()
            .filter(|i| i.coop == coop.as_str() && i.expires > now)
            .map(Invitation::view)
            .collect();
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        out
    }

    pub fn revoke_invitation(
        &self,
        coop: &NamedNode,
        id: &str,
        actor: &Actor,
    ) -> Result<(), AccessError> {
        let _guard = self.writer_lock();
        let Some(invitation) = self
            .read()
            .invitations
            .values()
            .find(|i| i.id == id && i.coop == coop.as_str())
            .cloned()
        else {
            return Err(AccessError::NotFound(format!(
                "no open invitation {id} to this co-op"
            )));
        };
        let mut changes = ChangeSet::default();
        stored::remove::<Invitation>(&mut changes, &invitation.id);
        changes.records.push(self.system_record(
            Invitation::KIND,
            &invitation.id,
            Operation::Delete,
            actor,
        ));
        self.store.apply(&changes)?;
        self.write().invitations.remove(&invitation.hash);
        Ok(())
    }

    /// Accepting an invitation: the account it creates (for `worker`), with the
    /// invitation consumed in the same transaction.
    pub fn prepare_acceptance(
        &self,
        secret: &str,
        name: &str,
        password: &str,
        worker: NamedNode,
    ) -> Result<PreparedAccount, AccessError> {
        let view = self.invitation(secret)?;
        let hash = hash_secret(secret);
        let actor = Actor::Invitation {
            invitation: view.id.clone(),
            account: String::new(),
        };
        let mut prepared = self.prepare_account(
            NewAccount {
                email: view.email.clone(),
                name: name.to_owned(),
                password: password.to_owned(),
                worker,
                server_admin: false,
            },
            &actor,
        )?;
        stored::remove::<Invitation>(&mut prepared.changes, &view.id);
        prepared.invitation = Some(hash);
        Ok(prepared)
    }
}

fn active_identity(registry: &Registry, account: &str) -> Option<Identity> {
    let account = registry.accounts.get(account)?;
    (account.state == AccountState::Active).then(|| Identity::Account {
        id: account.id.clone(),
        worker: NamedNode::new_unchecked(account.worker.clone()),
        server_admin: account.server_admin,
    })
}
