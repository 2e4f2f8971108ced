use std::time::Duration;

/// Why access was refused or an account operation failed; the HTTP layer maps each to a
/// status (401, 403, 404, 409, 422, 429).
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No credential, or one that is not (or no longer) valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// A known principal that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there, or nothing this principal may see (never a 403 for what they may not
    /// see: its existence stays hidden). The message says what is missing.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("too many failed logins: try again in {} seconds", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error(transparent)]
    Store(#[from] coopdir_store::StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}
