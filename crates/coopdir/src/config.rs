//! Options: flags win over `COOPDIR_*` variables (both through clap), which win over the
//! TOML file, which wins over defaults.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA: &str = "coopdir-data";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub listen: Option<String>,
    pub base_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub page_size: Option<usize>,
    pub log_json: Option<bool>,
    pub session_days: Option<u32>,
    pub invitation_days: Option<u32>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub sparql_timeout_ms: Option<u64>,
    pub sparql_max_results: Option<usize>,
    pub name: Option<String>,
    pub peer_sync_interval: Option<String>,
    pub peer_max_backoff: Option<String>,
    pub peer_timeout: Option<String>,
    pub allow_private_peers: Option<bool>,
    pub tombstone_retention: Option<String>,
    pub open_inbox: Option<bool>,
    pub follow_approval: Option<String>,
    pub inbox_max_bytes: Option<usize>,
    pub delivery_max_backoff: Option<String>,
    pub delivery_pause_after: Option<String>,
    pub delivery_probe_interval: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            format!(
                "{} is not a valid coopdir configuration: {e}",
                path.display()
            )
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Directory of the embedded store (created if missing).
    #[arg(long, env = "COOPDIR_DATA")]
    pub data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "COOPDIR_LISTEN")]
    pub listen: Option<String>,
    /// Public base URL; every IRI the server mints starts with it. Defaults to http://LISTEN/.
    #[arg(long, env = "COOPDIR_BASE_URL")]
    pub base_url: Option<String>,
    /// Load the demo data (CoTech co-ops, workers, projects, skills) into an empty store.
    #[arg(long, env = "COOPDIR_DEMO")]
    pub demo: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "COOPDIR_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Members per container page.
    #[arg(long, env = "COOPDIR_PAGE_SIZE")]
    pub page_size: Option<usize>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "COOPDIR_LOG_JSON")]
    pub log_json: Option<bool>,
    /// Days a login session lasts.
    #[arg(long, env = "COOPDIR_SESSION_DAYS")]
    pub session_days: Option<u32>,
    /// Days an invitation link stays valid.
    #[arg(long, env = "COOPDIR_INVITATION_DAYS")]
    pub invitation_days: Option<u32>,
    /// Send invitation links by e-mail through this SMTP relay (smtp://host[:port]).
    #[arg(long, env = "COOPDIR_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of those e-mails, e.g. "coopdir <directory@example.org>".
    #[arg(long, env = "COOPDIR_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Milliseconds one SPARQL query may run before it is stopped.
    #[arg(long, env = "COOPDIR_SPARQL_TIMEOUT_MS")]
    pub sparql_timeout_ms: Option<u64>,
    /// Most results one SPARQL query may return.
    #[arg(long, env = "COOPDIR_SPARQL_MAX_RESULTS")]
    pub sparql_max_results: Option<usize>,
    /// The server's name on its actor document (what peers show).
    #[arg(long, env = "COOPDIR_NAME")]
    pub name: Option<String>,
    /// How often each peer's outbox is pulled, e.g. 5m or 30s (±20 % jitter).
    #[arg(long, env = "COOPDIR_PEER_SYNC_INTERVAL")]
    pub peer_sync_interval: Option<String>,
    /// Longest wait between attempts at a failing peer, e.g. 1h.
    #[arg(long, env = "COOPDIR_PEER_MAX_BACKOFF")]
    pub peer_max_backoff: Option<String>,
    /// Time limit of one request to a peer, e.g. 30s.
    #[arg(long, env = "COOPDIR_PEER_TIMEOUT")]
    pub peer_timeout: Option<String>,
    /// Follow peers on private, loopback and link-local addresses (refused by default).
    #[arg(long, env = "COOPDIR_ALLOW_PRIVATE_PEERS")]
    pub allow_private_peers: bool,
    /// How long deletions stay in the outbox, e.g. 30d.
    #[arg(long, env = "COOPDIR_TOMBSTONE_RETENTION")]
    pub tombstone_retention: Option<String>,
    /// Accept unsigned notifications from plain LDN senders, stored inert (never applied).
    #[arg(long, env = "COOPDIR_OPEN_INBOX")]
    pub open_inbox: bool,
    /// How Follow requests from other servers are answered: auto or manual (an admin
    /// accepts each through /admin/followers).
    #[arg(long, env = "COOPDIR_FOLLOW_APPROVAL")]
    pub follow_approval: Option<String>,
    /// Largest notification the inbox accepts, in bytes.
    #[arg(long, env = "COOPDIR_INBOX_MAX_BYTES")]
    pub inbox_max_bytes: Option<usize>,
    /// Longest wait between delivery attempts to a failing follower, e.g. 1h.
    #[arg(long, env = "COOPDIR_DELIVERY_MAX_BACKOFF")]
    pub delivery_max_backoff: Option<String>,
    /// A follower failing for this long is paused and only probed, e.g. 6h.
    #[arg(long, env = "COOPDIR_DELIVERY_PAUSE_AFTER")]
    pub delivery_pause_after: Option<String>,
    /// How often a paused follower is probed, e.g. 15m.
    #[arg(long, env = "COOPDIR_DELIVERY_PROBE_INTERVAL")]
    pub delivery_probe_interval: Option<String>,
    /// Run delivery timing (backoff, pauses, probes) this many times faster than real
    /// time: for tests that cover hours of outage in seconds.
    #[arg(long, env = "COOPDIR_DELIVERY_TIME_SCALE", hide = true)]
    pub delivery_time_scale: Option<f64>,
}

/// Serve options after layering.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub listen: String,
    pub base_url: String,
    pub demo: bool,
    pub max_body_bytes: usize,
    pub page_size: usize,
    pub session_days: u32,
    pub invitation_days: u32,
    pub mail: Option<coopdir_http::MailConfig>,
    pub sparql_timeout_ms: u64,
    pub sparql_max_results: usize,
    pub federation: coopdir_federation::FederationConfig,
}

/// A duration option (`30s`, `5m`, `2h`, `30d`), named in the error.
fn duration(
    name: &str,
    flag: Option<String>,
    file: Option<&String>,
    default: Duration,
) -> Result<Duration, String> {
    match flag.or_else(|| file.cloned()) {
        None => Ok(default),
        Some(text) => humantime::parse_duration(text.trim()).map_err(|e| {
            format!("--{name} {text:?}: {e} (write a number and a unit: 30s, 5m, 2h, 30d)")
        }),
    }
}

impl ServeArgs {
    pub fn resolve(self, file: &FileConfig) -> Result<ServeConfig, String> {
        let listen = self
            .listen
            .or_else(|| file.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        let base_url = self
            .base_url
            .or_else(|| file.base_url.clone())
            .unwrap_or_else(|| format!("http://{listen}/"));
        let federation = coopdir_federation::FederationConfig {
            name: self
                .name
                .clone()
                .or_else(|| file.name.clone())
                .unwrap_or_else(|| format!("coopdir at {base_url}")),
            sync_interval: duration(
                "peer-sync-interval",
                self.peer_sync_interval.clone(),
                file.peer_sync_interval.as_ref(),
                Duration::from_secs(300),
            )?,
            max_backoff: duration(
                "peer-max-backoff",
                self.peer_max_backoff.clone(),
                file.peer_max_backoff.as_ref(),
                Duration::from_secs(3600),
            )?,
            tombstone_retention: duration(
                "tombstone-retention",
                self.tombstone_retention.clone(),
                file.tombstone_retention.as_ref(),
                Duration::from_secs(30 * 24 * 3600),
            )?,
            page_size: 200,
            net: coopdir_federation::NetConfig {
                total_timeout: duration(
                    "peer-timeout",
                    self.peer_timeout.clone(),
                    file.peer_timeout.as_ref(),
                    Duration::from_secs(30),
                )?,
                allow_private: self.allow_private_peers
                    || file.allow_private_peers.unwrap_or(false),
                ..coopdir_federation::NetConfig::default()
            },
            inbox: coopdir_federation::InboxConfig {
                open: self.open_inbox || file.open_inbox.unwrap_or(false),
                auto_accept: match self
                    .follow_approval
                    .clone()
                    .or_else(|| file.follow_approval.clone())
                    .as_deref()
                {
                    None | Some("auto") => true,
                    Some("manual") => false,
                    Some(other) => {
                        return Err(format!("--follow-approval {other:?}: write auto or manual"));
                    }
                },
                max_bytes: self
                    .inbox_max_bytes
                    .or(file.inbox_max_bytes)
                    .unwrap_or(1024 * 1024),
                ..coopdir_federation::InboxConfig::default()
            },
            delivery: coopdir_federation::DeliveryConfig {
                max_backoff: duration(
                    "delivery-max-backoff",
                    self.delivery_max_backoff.clone(),
                    file.delivery_max_backoff.as_ref(),
                    Duration::from_secs(3600),
                )?,
                pause_after: duration(
                    "delivery-pause-after",
                    self.delivery_pause_after.clone(),
                    file.delivery_pause_after.as_ref(),
                    Duration::from_secs(6 * 3600),
                )?,
                probe_interval: duration(
                    "delivery-probe-interval",
                    self.delivery_probe_interval.clone(),
                    file.delivery_probe_interval.as_ref(),
                    Duration::from_secs(15 * 60),
                )?,
                clock: coopdir_federation::Clock::scaled(self.delivery_time_scale.unwrap_or(1.0)),
            },
        };
        Ok(ServeConfig {
            federation,
            data: data_dir(self.data, file),
            base_url,
            listen,
            demo: self.demo,
            max_body_bytes: self
                .max_body_bytes
                .or(file.max_body_bytes)
                .unwrap_or(1024 * 1024),
            page_size: self.page_size.or(file.page_size).unwrap_or(100),
            session_days: self.session_days.or(file.session_days).unwrap_or(14),
            invitation_days: self.invitation_days.or(file.invitation_days).unwrap_or(7),
            sparql_timeout_ms: self
                .sparql_timeout_ms
                .or(file.sparql_timeout_ms)
                .unwrap_or(5_000),
            sparql_max_results: self
                .sparql_max_results
                .or(file.sparql_max_results)
                .unwrap_or(10_000),
            mail: self
                .smtp_url
                .or_else(|| file.smtp_url.clone())
                .map(|smtp_url| coopdir_http::MailConfig {
                    smtp_url,
                    from: self
                        .smtp_from
                        .or_else(|| file.smtp_from.clone())
                        .unwrap_or_else(|| "coopdir <coopdir@localhost>".into()),
                }),
        })
    }
}

pub fn data_dir(flag: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    flag.or_else(|| file.data.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

pub fn base_url(flag: Option<String>, file: &FileConfig) -> String {
    flag.or_else(|| file.base_url.clone()).unwrap_or_else(|| {
        format!(
            "http://{}/",
            file.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
        )
    })
}

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COOPDIR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file: FileConfig =
            toml::from_str("listen = \"127.0.0.1:9000\"\npage_size = 25\nmax_body_bytes = 10")
                .expect("valid");
        let args = Wrapper::parse_from(["x", "--page-size", "50"]).serve;
        let config = args.resolve(&file).expect("valid");
        assert_eq!(config.page_size, 50);
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.base_url, "http://127.0.0.1:9000/");
        assert_eq!(config.max_body_bytes, 10);
        assert_eq!(config.data, PathBuf::from(DEFAULT_DATA));
    }

    #[test]
    fn durations_take_units_and_a_bad_one_is_named() {
        let file: FileConfig = toml::from_str("peer_sync_interval = \"90s\"").expect("valid");
        let args = Wrapper::parse_from(["x", "--tombstone-retention", "2d"]).serve;
        let config = args.resolve(&file).expect("valid");
        assert_eq!(config.federation.sync_interval, Duration::from_secs(90));
        assert_eq!(
            config.federation.tombstone_retention,
            Duration::from_secs(2 * 24 * 3600)
        );
        let bad = Wrapper::parse_from(["x", "--peer-timeout", "soon"]).serve;
        let err = bad.resolve(&FileConfig::default()).expect_err("refused");
        assert!(err.contains("--peer-timeout"), "{err}");
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<FileConfig>("pagesize = 3").is_err());
    }
}
