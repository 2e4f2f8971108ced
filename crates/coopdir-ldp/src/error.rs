use coopdir_shacl::ValidationReport;

/// Everything an LDP operation can refuse or fail with; the HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum LdpError {
    #[error(
        "this store's IRIs were minted under the base URL {stored}, not {given}: start with --base-url {stored} (or set base_url in the configuration), or use another --data directory"
    )]
    BaseUrlMismatch { stored: String, given: String },
    #[error("no resource at {0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error(
        "the resource has changed since you read it (or does not exist): GET it again and reapply your change"
    )]
    PreconditionFailed { current: Option<String> },
    #[error("{0}")]
    Conflict(String),
    #[error("the data does not conform to the shapes")]
    Invalid(ValidationReport),
    #[error("{message}")]
    ConflictWithReport {
        message: String,
        report: ValidationReport,
    },
    #[error("{0}")]
    Unprocessable(String),
    #[error(transparent)]
    Syntax(#[from] coopdir_syntax::SyntaxError),
    #[error("invalid patch: {0}")]
    BadPatch(String),
    #[error(transparent)]
    Store(#[from] coopdir_store::StoreError),
    #[error(transparent)]
    Access(#[from] coopdir_access::AccessError),
    #[error(
        "cannot write or read an import's temporary files under {dir}: {message} (free some disk space there and import again)"
    )]
    Spill {
        dir: std::path::PathBuf,
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}
