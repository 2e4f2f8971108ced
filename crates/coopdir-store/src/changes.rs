//! The change log: one ordered record of every committed write, which the audit trail,
//! search and federation consume from their own cursors.
//!
//! Records are written by [`crate::GraphStore::apply`] in the same transaction as the data
//! they describe, so a record exists if and only if its write happened. Sequence numbers
//! are assigned by the store, strictly increasing, without holes.
//!
//! Layout (embedded store): record `N` is one quad `<urn:coopdir:log:N> <urn:coopdir:record>
//! "JSON"` in the graph `urn:coopdir:log`, plus index quads naming (as literals) the
//! resource it is about and the account (or credential) that made it. The head is not
//! stored: numbers have no holes, so start-up finds the last one by bisection.
//!
//! "Records after N, at most M" reads the subjects `urn:coopdir:log:N+1 … N+M`: M
//! exact-key lookups (oxigraph's GSPO index has the graph and subject as its key prefix),
//! never a scan of the log. On a remote SPARQL store the
//! same read is one query with `VALUES ?r { <…:N+1> … <…:N+M> }`, which engines answer
//! by M index lookups as well.

use coopdir_vocab::Visibility;
use oxigraph::model::{Literal, NamedNode, NamedNodeRef, Quad};
use serde::{Deserialize, Serialize};

/// The graph holding the log.
pub const LOG_GRAPH: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:log");
pub(crate) const RECORD: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:record");
pub(crate) const ABOUT: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:about");
pub(crate) const BY: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:by");

/// What a write did to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Create,
    Replace,
    Patch,
    Delete,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Replace => "replace",
            Operation::Patch => "patch",
            Operation::Delete => "delete",
        }
    }
}

/// Who made a write. Never holds a secret: accounts and credentials by their ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Actor {
    /// A logged-in account (session).
    Account { account: String },
    /// A personal API token of an account.
    Token { token: String, account: String },
    /// A server-admin token not tied to an account.
    AdminToken { token: String },
    /// A peer server (replicated data).
    Peer { url: String },
    /// An operator with direct access to the data directory (the command line).
    Operator,
    /// Someone accepting an invitation (the account it creates).
    Invitation { invitation: String, account: String },
}

impl Actor {
    /// The key the audit trail filters "by account" on.
    pub fn key(&self) -> String {
        match self {
            Actor::Account { account }
            | Actor::Token { account, .. }
            | Actor::Invitation { account, .. } => account_key(account),
            Actor::AdminToken { token } => format!("urn:coopdir:token:{token}"),
            Actor::Peer { url } => url.clone(),
            Actor::Operator => "urn:coopdir:operator".to_owned(),
        }
    }
}

/// The audit key of an account id.
pub fn account_key(account: &str) -> String {
    format!("urn:coopdir:account:{account}")
}

/// One change, before the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRecord {
    /// The resource's IRI (`urn:coopdir:…` for accounts, tokens and invitations).
    pub resource: String,
    /// `coop`, `worker`, `skill`, `project`, or a system kind (`account`, `token`,
    /// `invitation`, `skill-proposal`), which never leaves this server.
    pub kind: String,
    pub operation: Operation,
    /// The base URL of the server the resource lives on.
    pub origin: String,
    pub actor: Actor,
    /// RFC 3339.
    pub time: String,
    /// `None` where the resource did not exist (before) or no longer does (after); system
    /// records have neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_before: Option<Visibility>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_after: Option<Visibility>,
}

impl ChangeRecord {
    /// Whether the resource is, or until this change was, public data.
    pub fn concerns_public_data(&self) -> bool {
        self.visibility_before == Some(Visibility::Public)
            || self.visibility_after == Some(Visibility::Public)
    }
}

/// A record with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub seq: u64,
    #[serde(flatten)]
    pub record: ChangeRecord,
}

pub(crate) fn record_subject(seq: u64) -> NamedNode {
    NamedNode::new_unchecked(format!("urn:coopdir:log:{seq}"))
}

/// The quads that store `record` as number `seq`.
pub(crate) fn record_quads(seq: u64, record: &ChangeRecord) -> Vec<Quad> {
    let subject = record_subject(seq);
    let json = serde_json::to_string(record).unwrap_or_default();
    let mut quads = vec![Quad::new(
        subject.clone(),
        RECORD,
        Literal::from(json),
        LOG_GRAPH,
    )];
    // Literals, not IRIs: a lookup of what links to a resource (its roles, the links a
    // delete removes) must not wade through its history.
    quads.push(Quad::new(
        subject.clone(),
        ABOUT,
        Literal::from(record.resource.as_str()),
        LOG_GRAPH,
    ));
    quads.push(Quad::new(
        subject,
        BY,
        Literal::from(record.actor.key()),
        LOG_GRAPH,
    ));
    quads
}

pub(crate) fn parse_record(seq: u64, json: &str) -> Option<Change> {
    serde_json::from_str(json)
        .ok()
        .map(|record| Change { seq, record })
}

pub(crate) fn seq_of_subject(subject: &str) -> Option<u64> {
    subject.strip_prefix("urn:coopdir:log:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_json_and_never_names_a_secret_field() {
        let record = ChangeRecord {
            resource: "http://x/workers/a".into(),
            kind: "worker".into(),
            operation: Operation::Patch,
            origin: "http://x/".into(),
            actor: Actor::Token {
                token: "t1".into(),
                account: "a1".into(),
            },
            time: "2026-01-01T00:00:00Z".into(),
            visibility_before: Some(Visibility::Public),
            visibility_after: Some(Visibility::Private),
        };
        let json = serde_json::to_string(&record).expect("json");
        assert!(json.contains("\"kind\":\"token\""), "{json}");
        assert!(json.contains("\"visibilityAfter\":\"private\""), "{json}");
        let back = parse_record(7, &json).expect("parses");
        assert_eq!(back.seq, 7);
        assert_eq!(back.record, record);
        assert!(record.concerns_public_data());
        assert_eq!(record.actor.key(), "urn:coopdir:account:a1");
    }
}
