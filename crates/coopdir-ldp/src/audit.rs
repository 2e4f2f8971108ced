//! The audit trail: who made each write, read from the change log (newest first), for
//! server admins.

use coopdir_access::Principal;
use coopdir_store::{Change, LogIndex, account_key};
use serde::Serialize;
use std::collections::HashSet;

use crate::{Directory, LdpError};

/// Which records to show.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only records about this resource IRI.
    pub resource: Option<String>,
    /// Only records made by this account (id or e-mail address).
    pub account: Option<String>,
    /// Only records older than this sequence number (the cursor of the next page).
    pub before: Option<u64>,
    pub limit: usize,
}

/// One page of the trail.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// `before` for the next (older) page, if there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    #[serde(flatten)]
    pub change: Change,
    /// The e-mail address of the account that made the change, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_email: Option<String>,
}

impl Directory {
    pub fn audit(&self, query: &AuditQuery, principal: &Principal) -> Result<AuditPage, LdpError> {
        self.access().check_server_admin(principal)?;
        let store = self.store();
        let limit = query.limit.clamp(1, 1000);
        let before = query.before.unwrap_or(u64::MAX);
        let account_key = match &query.account {
            None => None,
            Some(a) => match self.access().find_account(a) {
                Some(view) => Some(account_key(&view.id)),
                // Not an account (a token id or an operator): the key as given.
                None => Some(a.clone()),
            },
        };
        // Newest first: an index when filtering, else the log itself backwards.
        let candidates: Box<dyn Iterator<Item = u64>> = match (&query.resource, &account_key) {
            (None, None) => Box::new((1..=store.head().min(before.saturating_sub(1))).rev()),
            (resource, by) => {
                let about = resource
                    .as_deref()
                    .map(|r| store.changes_indexed(LogIndex::About, r))
                    .transpose()?;
                let by = by
                    .as_deref()
                    .map(|k| store.changes_indexed(LogIndex::By, k))
                    .transpose()?;
                let seqs: Vec<u64> = match (about, by) {
                    (Some(a), Some(b)) => {
                        let b: HashSet<u64> = b.into_iter().collect();
                        a.into_iter().filter(|s| b.contains(s)).collect()
                    }
                    (Some(a), None) => a,
                    (None, Some(b)) => b,
                    (None, None) => Vec::new(),
                };
                Box::new(seqs.into_iter().rev().filter(move |s| *s < before))
            }
        };
        let mut items = Vec::new();
        let mut next_before = None;
        for seq in candidates {
            if items.len() == limit {
                next_before = items.last().map(|e: &AuditEntry| e.change.seq);
                break;
            }
            if let Some(change) = store.change(seq)? {
                let account_email = actor_account(&change)
                    .and_then(|id| self.access().account(id))
                    .map(|a| a.email);
                items.push(AuditEntry {
                    change,
                    account_email,
                });
            }
        }
        Ok(AuditPage { items, next_before })
    }
}

fn actor_account(change: &Change) -> Option<&str> {
    use coopdir_store::Actor;
    match &change.record.actor {
        Actor::Account { account }
        | Actor::Token { account, .. }
        | Actor::Invitation { account, .. } => Some(account),
        _ => None,
    }
}
