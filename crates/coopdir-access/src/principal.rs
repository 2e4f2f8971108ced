//! Who is asking: the principal a request's credential resolves to.

use coopdir_store::Actor;
use oxigraph::model::NamedNode;

/// Who a principal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No credential.
    Anonymous,
    /// A person with an account; `worker` is their WebID.
    Account {
        id: String,
        worker: NamedNode,
        server_admin: bool,
    },
    /// A server-admin token not tied to an account (`coopdir token create --admin`).
    AdminToken { token: String },
    /// The command line with direct access to the data directory.
    Operator,
}

/// How the principal proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    Session { session: String },
    Token { token: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub identity: Identity,
    pub credential: Credential,
}

impl Principal {
    pub fn anonymous() -> Self {
        Self {
            identity: Identity::Anonymous,
            credential: Credential::None,
        }
    }

    pub fn operator() -> Self {
        Self {
            identity: Identity::Operator,
            credential: Credential::None,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.identity == Identity::Anonymous
    }

    /// Server admins (accounts with that role, admin tokens, the operator) may do everything.
    pub fn is_server_admin(&self) -> bool {
        match &self.identity {
            Identity::Account { server_admin, .. } => *server_admin,
            Identity::AdminToken { .. } | Identity::Operator => true,
            Identity::Anonymous => false,
        }
    }

    /// The principal's own worker resource (their WebID), if they are a person.
    pub fn worker(&self) -> Option<&NamedNode> {
        match &self.identity {
            Identity::Account { worker, .. } => Some(worker),
            _ => None,
        }
    }

    pub fn account_id(&self) -> Option<&str> {
        match &self.identity {
            Identity::Account { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Whether a cookie session (rather than a bearer token) authenticated this request:
    /// such writes need a CSRF token.
    pub fn by_session(&self) -> bool {
        matches!(self.credential, Credential::Session { .. })
    }

    /// Who the change log says made a write.
    pub fn actor(&self) -> Actor {
        match (&self.identity, &self.credential) {
            (Identity::Account { id, .. }, Credential::Token { token }) => Actor::Token {
                token: token.clone(),
                account: id.clone(),
            },
            (Identity::Account { id, .. }, _) => Actor::Account {
                account: id.clone(),
            },
            (Identity::AdminToken { token }, _) => Actor::AdminToken {
                token: token.clone(),
            },
            (Identity::Operator | Identity::Anonymous, _) => Actor::Operator,
        }
    }
}
