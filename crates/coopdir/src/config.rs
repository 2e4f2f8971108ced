//! Options: flags win over `COOPDIR_*` variables (both through clap), which win over the
//! TOML file, which wins over defaults.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
    pub request_timeout: Option<String>,
    pub shutdown_timeout: Option<String>,
    pub max_concurrent_requests: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_triples_per_write: Option<usize>,
    pub writes_per_minute: Option<u32>,
    pub logins_per_minute: Option<u32>,
    pub metrics_token: Option<String>,
    pub metrics_listen: Option<String>,
}

impl FileConfig {
    /// Reads the TOML file, if one is named; every unknown key and bad value is reported,
    /// not only the first.
    pub fn load(path: Option<&Path>) -> Result<Self, Problems> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problems(vec![format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            )])
        })?;
        Self::parse(&text).map_err(|problems| {
            Problems(
                problems
                    .0
                    .into_iter()
                    .map(|p| format!("{}: {p}", path.display()))
                    .collect(),
            )
        })
    }

    fn parse(text: &str) -> Result<Self, Problems> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Problems(vec![format!("not valid TOML: {}", e.message())])
        })?;
        let known = Self::keys();
        let mut problems = Problems::default();
        for (key, value) in &table {
            if !known.contains(&key.as_str()) {
                let hint = known
                    .iter()
                    .map(|k| (strsim::levenshtein(k, key), k))
                    .min()
                    .filter(|(distance, _)| *distance <= 3)
                    .map(|(_, k)| format!(" (did you mean {k}?)"))
                    .unwrap_or_default();
                problems.add(format!("unknown key {key}{hint}"));
                continue;
            }
            // One key at a time, so that each bad value is named.
            let single = toml::Table::from_iter([(key.clone(), value.clone())]);
            if let Err(e) = single.try_into::<FileConfig>() {
                problems.add(format!("{key} = {value}: {}", e.message().trim()));
            }
        }
        if !problems.0.is_empty() {
            return Err(problems);
        }
        table
            .try_into()
            .map_err(|e: toml::de::Error| Problems(vec![e.message().to_owned()]))
    }

    /// The keys a file may hold: those `coopdir config check` prints.
    fn keys() -> Vec<&'static str> {
        ServeConfig::defaults()
            .settings()
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    }
}

#[derive(Debug, Default, clap::Args)]
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
    /// A request whose body takes longer than this to arrive gets a 408, e.g. 30s.
    #[arg(long, env = "COOPDIR_REQUEST_TIMEOUT")]
    pub request_timeout: Option<String>,
    /// On SIGTERM or ctrl-c, how long requests in flight may take to finish, e.g. 30s.
    #[arg(long, env = "COOPDIR_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<String>,
    /// Requests answered at once; more get a 503 with Retry-After at once.
    #[arg(long, env = "COOPDIR_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Largest request line and headers together, in bytes (431 above it).
    #[arg(long, env = "COOPDIR_MAX_HEADER_BYTES")]
    pub max_header_bytes: Option<usize>,
    /// Most triples one write (POST, PUT, PATCH) may carry (413 above it).
    #[arg(long, env = "COOPDIR_MAX_TRIPLES_PER_WRITE")]
    pub max_triples_per_write: Option<usize>,
    /// Writes per minute per client (account, else address); server admins are exempt.
    #[arg(long, env = "COOPDIR_WRITES_PER_MINUTE")]
    pub writes_per_minute: Option<u32>,
    /// Login attempts per minute per address.
    #[arg(long, env = "COOPDIR_LOGINS_PER_MINUTE")]
    pub logins_per_minute: Option<u32>,
    /// A bearer token that may read /metrics (server admins always may).
    #[arg(long, env = "COOPDIR_METRICS_TOKEN")]
    pub metrics_token: Option<String>,
    /// A second address serving /metrics, /health and /ready without credentials (bind it
    /// where only your monitoring reaches it).
    #[arg(long, env = "COOPDIR_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
}

/// Serve options after layering.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub listen: String,
    pub base_url: BaseUrl,
    pub demo: bool,
    pub max_body_bytes: usize,
    pub page_size: usize,
    pub session_days: u32,
    pub invitation_days: u32,
    pub mail: Option<coopdir_http::MailConfig>,
    pub sparql_timeout_ms: u64,
    pub sparql_max_results: usize,
    pub log_json: bool,
    pub federation: coopdir_federation::FederationConfig,
    pub limits: coopdir_http::Limits,
    pub max_triples_per_write: usize,
    pub shutdown_timeout: Duration,
    pub metrics_token: Option<String>,
    pub metrics_listen: Option<String>,
}

/// Everything wrong with a configuration, gathered instead of stopping at the first.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn print(&self) {
        for problem in &self.0 {
            eprintln!("error: {problem}");
        }
    }

    fn add(&mut self, problem: String) {
        self.0.push(problem);
    }

    /// A duration option (`30s`, `5m`, `2h`, `30d`); a bad one is named and the default kept.
    fn duration(&mut self, name: &str, text: Option<String>, default: Duration) -> Duration {
        match text {
            None => default,
            Some(text) => humantime::parse_duration(text.trim()).unwrap_or_else(|e| {
                self.add(format!(
                    "{name} = {text:?}: {e} (write a number and a unit: 30s, 5m, 2h, 30d)"
                ));
                default
            }),
        }
    }

    /// A number option that must be at least `min`.
    fn at_least<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        name: &str,
        value: T,
        min: T,
        why: &str,
    ) -> T {
        if value < min {
            self.add(format!("{name} = {value}: must be at least {min} ({why})"));
        }
        value
    }
}

/// `HOST:PORT`, as `--listen` wants it.
fn check_listen(problems: &mut Problems, name: &str, listen: &str) {
    let valid = listen.parse::<std::net::SocketAddr>().is_ok()
        || listen
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !valid {
        problems.add(format!(
            "{name} = {listen:?}: write HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080"
        ));
    }
}

/// An absolute http(s) URL without query or fragment: the prefix of every IRI minted.
fn check_base_url(problems: &mut Problems, base: &str) {
    match reqwest::Url::parse(base) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.query().is_none()
                && url.fragment().is_none() => {}
        Ok(_) => problems.add(format!(
            "base_url = {base:?}: write an http or https URL without query or fragment, e.g. https://directory.example.coop/"
        )),
        Err(e) => problems.add(format!(
            "base_url = {base:?}: {e} (write an absolute URL, e.g. https://directory.example.coop/)"
        )),
    }
}

impl ServeArgs {
    /// The options layered over `file`, or everything wrong with them.
    pub fn resolve(self, file: &FileConfig) -> Result<ServeConfig, Problems> {
        let (config, problems) = self.resolve_all(file);
        if problems.0.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// The options layered over `file` (a bad value replaced by its default), and
    /// everything wrong with them.
    pub fn resolve_all(self, file: &FileConfig) -> (ServeConfig, Problems) {
        let mut problems = Problems::default();
        let listen = self
            .listen
            .or_else(|| file.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.into());
        check_listen(&mut problems, "listen", &listen);
        let base_url = BaseUrl {
            given: self.base_url.or_else(|| file.base_url.clone()),
            default: format!("http://{listen}/"),
        };
        if let Some(given) = &base_url.given {
            check_base_url(&mut problems, given);
        }
        let data = data_dir(self.data, file);
        if data.exists() && !data.is_dir() {
            problems.add(format!(
                "data = {:?}: is a file, not a directory (name a directory; it is created if missing)",
                data.display()
            ));
        }
        let auto_accept = match self
            .follow_approval
            .or_else(|| file.follow_approval.clone())
            .as_deref()
        {
            None | Some("auto") => true,
            Some("manual") => false,
            Some(other) => {
                problems.add(format!("follow_approval = {other:?}: write auto or manual"));
                true
            }
        };
        let federation = coopdir_federation::FederationConfig {
            name: self.name.or_else(|| file.name.clone()).unwrap_or_default(),
            sync_interval: problems.duration(
                "peer_sync_interval",
                self.peer_sync_interval
                    .or_else(|| file.peer_sync_interval.clone()),
                Duration::from_secs(300),
            ),
            max_backoff: problems.duration(
                "peer_max_backoff",
                self.peer_max_backoff
                    .or_else(|| file.peer_max_backoff.clone()),
                Duration::from_secs(3600),
            ),
            tombstone_retention: problems.duration(
                "tombstone_retention",
                self.tombstone_retention
                    .or_else(|| file.tombstone_retention.clone()),
                Duration::from_secs(30 * 24 * 3600),
            ),
            page_size: 200,
            net: coopdir_federation::NetConfig {
                total_timeout: problems.duration(
                    "peer_timeout",
                    self.peer_timeout.or_else(|| file.peer_timeout.clone()),
                    Duration::from_secs(30),
                ),
                allow_private: self.allow_private_peers
                    || file.allow_private_peers.unwrap_or(false),
                ..coopdir_federation::NetConfig::default()
            },
            inbox: coopdir_federation::InboxConfig {
                open: self.open_inbox || file.open_inbox.unwrap_or(false),
                auto_accept,
                max_bytes: problems.at_least(
                    "inbox_max_bytes",
                    self.inbox_max_bytes
                        .or(file.inbox_max_bytes)
                        .unwrap_or(1024 * 1024),
                    1024,
                    "an Accept alone is larger than a few bytes",
                ),
                ..coopdir_federation::InboxConfig::default()
            },
            delivery: coopdir_federation::DeliveryConfig {
                max_backoff: problems.duration(
                    "delivery_max_backoff",
                    self.delivery_max_backoff
                        .or_else(|| file.delivery_max_backoff.clone()),
                    Duration::from_secs(3600),
                ),
                pause_after: problems.duration(
                    "delivery_pause_after",
                    self.delivery_pause_after
                        .or_else(|| file.delivery_pause_after.clone()),
                    Duration::from_secs(6 * 3600),
                ),
                probe_interval: problems.duration(
                    "delivery_probe_interval",
                    self.delivery_probe_interval
                        .or_else(|| file.delivery_probe_interval.clone()),
                    Duration::from_secs(15 * 60),
                ),
                clock: coopdir_federation::Clock::scaled(self.delivery_time_scale.unwrap_or(1.0)),
            },
        };
        let mail = self
            .smtp_url
            .or_else(|| file.smtp_url.clone())
            .map(|smtp_url| coopdir_http::MailConfig {
                smtp_url,
                from: self
                    .smtp_from
                    .or_else(|| file.smtp_from.clone())
                    .unwrap_or_else(|| DEFAULT_SMTP_FROM.into()),
            });
        if let Err(e) = coopdir_http::Mailer::check(mail.as_ref()) {
            problems.add(e);
        }
        let defaults = coopdir_http::Limits::default();
        let limits = coopdir_http::Limits {
            request_timeout: problems.duration(
                "request_timeout",
                self.request_timeout
                    .or_else(|| file.request_timeout.clone()),
                defaults.request_timeout,
            ),
            max_concurrent_requests: problems.at_least(
                "max_concurrent_requests",
                self.max_concurrent_requests
                    .or(file.max_concurrent_requests)
                    .unwrap_or(defaults.max_concurrent_requests),
                1,
                "one request at a time is the least",
            ),
            max_header_bytes: problems.at_least(
                "max_header_bytes",
                self.max_header_bytes
                    .or(file.max_header_bytes)
                    .unwrap_or(defaults.max_header_bytes),
                1024,
                "a browser's headers take several hundred bytes",
            ),
            writes_per_minute: problems.at_least(
                "writes_per_minute",
                self.writes_per_minute
                    .or(file.writes_per_minute)
                    .unwrap_or(defaults.writes_per_minute),
                1,
                "a member must be able to save a profile",
            ),
            logins_per_minute: problems.at_least(
                "logins_per_minute",
                self.logins_per_minute
                    .or(file.logins_per_minute)
                    .unwrap_or(defaults.logins_per_minute),
                1,
                "a member must be able to log in",
            ),
        };
        let metrics_listen = self.metrics_listen.or_else(|| file.metrics_listen.clone());
        if let Some(address) = &metrics_listen {
            check_listen(&mut problems, "metrics_listen", address);
            if *address == listen {
                problems.add(format!(
                    "metrics_listen = {address:?}: is the API's address; choose another port"
                ));
            }
        }
        let metrics_token = self.metrics_token.or_else(|| file.metrics_token.clone());
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            problems.add(
                "metrics_token: is shorter than 16 characters; use a long random one (openssl rand -hex 32)".into(),
            );
        }
        let config = ServeConfig {
            limits,
            max_triples_per_write: problems.at_least(
                "max_triples_per_write",
                self.max_triples_per_write
                    .or(file.max_triples_per_write)
                    .unwrap_or(DEFAULT_MAX_TRIPLES_PER_WRITE),
                100,
                "a worker with many skills takes a few hundred triples",
            ),
            shutdown_timeout: problems.duration(
                "shutdown_timeout",
                self.shutdown_timeout
                    .or_else(|| file.shutdown_timeout.clone()),
                Duration::from_secs(30),
            ),
            metrics_token,
            metrics_listen,
            federation,
            data,
            base_url,
            listen,
            demo: self.demo,
            max_body_bytes: problems.at_least(
                "max_body_bytes",
                self.max_body_bytes
                    .or(file.max_body_bytes)
                    .unwrap_or(1024 * 1024),
                1024,
                "a profile in JSON-LD takes a few KiB",
            ),
            page_size: problems.at_least(
                "page_size",
                self.page_size.or(file.page_size).unwrap_or(100),
                1,
                "a page lists at least one member",
            ),
            session_days: problems.at_least(
                "session_days",
                self.session_days.or(file.session_days).unwrap_or(14),
                1,
                "a session lasts whole days",
            ),
            // 0 is allowed: invitations then expire at once (the expiry tests use it).
            invitation_days: self.invitation_days.or(file.invitation_days).unwrap_or(7),
            sparql_timeout_ms: problems.at_least(
                "sparql_timeout_ms",
                self.sparql_timeout_ms
                    .or(file.sparql_timeout_ms)
                    .unwrap_or(5_000),
                1,
                "a query needs some time",
            ),
            sparql_max_results: problems.at_least(
                "sparql_max_results",
                self.sparql_max_results
                    .or(file.sparql_max_results)
                    .unwrap_or(10_000),
                1,
                "a query returns at least one result",
            ),
            log_json: self.log_json.or(file.log_json).unwrap_or(false),
            mail,
        };
        (config, problems)
    }
}

const DEFAULT_SMTP_FROM: &str = "coopdir <coopdir@localhost>";
const DEFAULT_MAX_TRIPLES_PER_WRITE: usize = 2_000;

impl ServeConfig {
    /// The configuration with nothing set.
    pub fn defaults() -> Self {
        ServeArgs::default()
            .resolve(&FileConfig::default())
            .expect("the defaults are a valid configuration")
    }

    /// The effective settings as configuration-file keys and values (so that what
    /// `coopdir config check` prints is itself a valid file), secrets masked.
    /// An option left unset (with no default) is `None`.
    pub fn settings(&self) -> Vec<(&'static str, Option<toml::Value>)> {
        use toml::Value;
        let text = |s: &str| Value::String(s.to_owned());
        let duration = |d: Duration| Value::String(humantime::format_duration(d).to_string());
        let int = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        let f = &self.federation;
        vec![
            ("data", Some(text(&self.data.display().to_string()))),
            ("listen", Some(text(&self.listen))),
            (
                "base_url",
                Some(text(
                    self.base_url
                        .given
                        .as_deref()
                        .unwrap_or(&self.base_url.default),
                )),
            ),
            ("max_body_bytes", Some(int(self.max_body_bytes as u64))),
            ("page_size", Some(int(self.page_size as u64))),
            ("log_json", Some(Value::Boolean(self.log_json))),
            ("session_days", Some(int(self.session_days.into()))),
            ("invitation_days", Some(int(self.invitation_days.into()))),
            ("smtp_url", self.mail.as_ref().map(|m| text(&m.smtp_url))),
            (
                "smtp_from",
                Some(text(
                    self.mail
                        .as_ref()
                        .map_or(DEFAULT_SMTP_FROM, |m| m.from.as_str()),
                )),
            ),
            ("sparql_timeout_ms", Some(int(self.sparql_timeout_ms))),
            (
                "sparql_max_results",
                Some(int(self.sparql_max_results as u64)),
            ),
            ("name", Some(text(&f.name)).filter(|_| !f.name.is_empty())),
            ("peer_sync_interval", Some(duration(f.sync_interval))),
            ("peer_max_backoff", Some(duration(f.max_backoff))),
            ("peer_timeout", Some(duration(f.net.total_timeout))),
            (
                "allow_private_peers",
                Some(Value::Boolean(f.net.allow_private)),
            ),
            ("tombstone_retention", Some(duration(f.tombstone_retention))),
            ("open_inbox", Some(Value::Boolean(f.inbox.open))),
            (
                "follow_approval",
                Some(text(if f.inbox.auto_accept {
                    "auto"
                } else {
                    "manual"
                })),
            ),
            ("inbox_max_bytes", Some(int(f.inbox.max_bytes as u64))),
            (
                "delivery_max_backoff",
                Some(duration(f.delivery.max_backoff)),
            ),
            (
                "delivery_pause_after",
                Some(duration(f.delivery.pause_after)),
            ),
            (
                "delivery_probe_interval",
                Some(duration(f.delivery.probe_interval)),
            ),
            (
                "request_timeout",
                Some(duration(self.limits.request_timeout)),
            ),
            ("shutdown_timeout", Some(duration(self.shutdown_timeout))),
            (
                "max_concurrent_requests",
                Some(int(self.limits.max_concurrent_requests as u64)),
            ),
            (
                "max_header_bytes",
                Some(int(self.limits.max_header_bytes as u64)),
            ),
            (
                "max_triples_per_write",
                Some(int(self.max_triples_per_write as u64)),
            ),
            (
                "writes_per_minute",
                Some(int(self.limits.writes_per_minute.into())),
            ),
            (
                "logins_per_minute",
                Some(int(self.limits.logins_per_minute.into())),
            ),
            ("metrics_token", self.metrics_token.as_deref().map(text)),
            ("metrics_listen", self.metrics_listen.as_deref().map(text)),
        ]
    }
}

pub fn data_dir(flag: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    flag.or_else(|| file.data.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

/// The base URL a command opens the store with: the one given (flag, variable or file),
/// else the one the store recorded when it was created, else `http://LISTEN/`.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    pub given: Option<String>,
    pub default: String,
}

pub fn base_url(flag: Option<String>, file: &FileConfig) -> BaseUrl {
    BaseUrl {
        given: flag.or_else(|| file.base_url.clone()),
        default: format!(
            "http://{}/",
            file.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
        ),
    }
}

/// Keys whose values are secrets: printed masked.
const SECRET_KEYS: &[&str] = &["metrics_token"];

/// `coopdir config check`: prints the effective configuration as a TOML file, each value
/// with where it came from, then everything wrong with it (also the base URL against the
/// one the store recorded, when the store is not in use).
pub fn check(
    args: ServeArgs,
    file: Result<FileConfig, Problems>,
    path: Option<&Path>,
    sources: Option<&clap::ArgMatches>,
) -> ExitCode {
    let (file, mut problems) = match file {
        Ok(file) => (file, Problems::default()),
        Err(problems) => (FileConfig::default(), problems),
    };
    let file_keys = file_keys(path);
    let (config, more) = args.resolve_all(&file);
    let resolved = more.0.is_empty();
    problems.0.extend(more.0);
    println!(
        "# coopdir serve: flags win over COOPDIR_* variables, over {}, over defaults",
        path.map_or("the file (none given)".to_owned(), |p| p
            .display()
            .to_string())
    );
    if !resolved {
        println!("# (a value that is not valid is shown as its default)");
    }
    for (key, value) in config.settings() {
        let Some(value) = value else {
            println!("# {key} is not set");
            continue;
        };
        let source = match sources.and_then(|m| m.value_source(key)) {
            Some(clap::parser::ValueSource::CommandLine) => "flag".to_owned(),
            Some(clap::parser::ValueSource::EnvVariable) => {
                format!("COOPDIR_{}", key.to_ascii_uppercase())
            }
            _ if file_keys.iter().any(|k| k == key) => "file".to_owned(),
            _ => "default".to_owned(),
        };
        let value = match value {
            toml::Value::String(s) if SECRET_KEYS.contains(&key) && !s.is_empty() => {
                toml::Value::String("********".into())
            }
            value => value,
        };
        println!("{key} = {value}  # {source}");
    }
    if resolved {
        match stored_base_url(&config) {
            Ok(Some(note)) => println!("# {note}"),
            Ok(None) => {}
            Err(problem) => problems.add(problem),
        }
    }
    if problems.0.is_empty() {
        println!("# no problems found");
        ExitCode::SUCCESS
    } else {
        problems.print();
        ExitCode::FAILURE
    }
}

/// The keys the file sets (for saying where a value came from).
fn file_keys(path: Option<&Path>) -> Vec<String> {
    path.and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| text.parse::<toml::Table>().ok())
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

/// Compares the configured base URL with the one the store recorded: a note on what the
/// server will use, or the mismatch `serve` would stop on.
fn stored_base_url(config: &ServeConfig) -> Result<Option<String>, String> {
    if !config.data.join("CURRENT").exists() {
        return Ok(Some(format!(
            "{} holds no store yet: it is created at the first start",
            config.data.display()
        )));
    }
    let store = match coopdir_store::OxigraphStore::open(&config.data) {
        Ok(store) => store,
        Err(coopdir_store::StoreError::Locked(_)) => {
            return Ok(Some(format!(
                "{} is in use by a running server: its recorded base URL was not compared",
                config.data.display()
            )));
        }
        Err(e) => return Err(e.to_string()),
    };
    let stored = match coopdir_store::meta::base_url(&store) {
        Ok(Some(stored)) => Some(stored),
        Ok(None) => coopdir_ldp::base_url_of_data(&store).map_err(|e| e.to_string())?,
        Err(e) => return Err(e.to_string()),
    };
    let given = config
        .base_url
        .given
        .as_deref()
        .map(|b| coopdir_ldp::Paths::new(b).base().to_owned());
    Ok(match (stored, given) {
        (Some(stored), Some(given)) if stored != given => {
            return Err(coopdir_ldp::LdpError::BaseUrlMismatch { stored, given }.to_string());
        }
        (Some(stored), None) => Some(format!(
            "the store's IRIs were minted under {stored}: the server uses that base URL"
        )),
        _ => None,
    })
}

pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COOPDIR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, never in files or the journal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
            toml::from_str("listen = \"127.0.0.1:9000\"\npage_size = 25\nmax_body_bytes = 4096")
                .expect("valid");
        let args = Wrapper::parse_from(["x", "--page-size", "50"]).serve;
        let config = args.resolve(&file).expect("valid");
        assert_eq!(config.page_size, 50);
        assert_eq!(config.listen, "127.0.0.1:9000");
        assert_eq!(config.base_url.default, "http://127.0.0.1:9000/");
        assert_eq!(config.base_url.given, None);
        assert_eq!(config.max_body_bytes, 4096);
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
        let bad = Wrapper::parse_from(["x", "--peer-timeout", "soon", "--page-size", "0"]).serve;
        let err = bad.resolve(&FileConfig::default()).expect_err("refused").0;
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("peer_timeout = \"soon\""), "{err:?}");
        assert!(err[1].contains("page_size = 0"), "{err:?}");
    }

    #[test]
    fn every_unknown_key_and_bad_value_in_the_file_is_named() {
        let problems = FileConfig::parse(
            "pagesize = 3\nlisten = 8080\nmax_body_bytes = \"big\"\nfrobnicate = true\ndata = \"d\"",
        )
        .expect_err("refused")
        .0;
        assert_eq!(problems.len(), 4, "{problems:?}");
        let all = problems.join("\n");
        assert!(
            all.contains("unknown key pagesize (did you mean page_size?)"),
            "{all}"
        );
        assert!(all.contains("unknown key frobnicate"), "{all}");
        assert!(all.contains("listen = 8080"), "{all}");
        assert!(all.contains("max_body_bytes = \"big\""), "{all}");
        assert!(FileConfig::parse("listen = [").is_err());
    }

    #[test]
    fn bad_addresses_and_urls_are_explained() {
        let file = FileConfig::parse("listen = \"localhost\"\nbase_url = \"ftp://x/\"")
            .expect("well-typed");
        let err = ServeArgs::default().resolve(&file).expect_err("refused").0;
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(err[0].contains("write HOST:PORT"), "{err:?}");
        assert!(err[1].contains("http or https"), "{err:?}");
    }

    #[test]
    fn what_config_check_prints_is_a_valid_file_with_every_option() {
        let settings = ServeConfig::defaults().settings();
        let table = toml::Table::from_iter(
            settings
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.clone()?))),
        );
        let file = FileConfig::parse(&table.to_string()).expect("a valid file");
        let again = ServeArgs::default().resolve(&file).expect("valid");
        assert_eq!(again.settings(), settings);
        // Every serve option but the one-off ones can be set in the file.
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let mut flags: Vec<String> = command
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .filter(|id| !["demo", "delivery_time_scale"].contains(&id.as_str()))
            .collect();
        let mut keys: Vec<String> = settings.iter().map(|(k, _)| k.to_string()).collect();
        flags.sort();
        keys.sort();
        assert_eq!(flags, keys);
    }

    #[test]
    fn the_example_file_documents_every_option_and_is_valid_once_uncommented() {
        let example = include_str!("../../../packaging/coopdir.example.toml");
        let uncommented: String = example
            .lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                line.split_once(" = ")
                    .is_some_and(|(key, _)| key.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let file = FileConfig::parse(&uncommented).expect("the example is a valid file");
        ServeArgs::default()
            .resolve(&file)
            .expect("the example's values are valid");
        let table: toml::Table = toml::from_str(&uncommented).expect("toml");
        for (key, _) in ServeConfig::defaults().settings() {
            assert!(
                table.contains_key(key),
                "the example does not document {key}"
            );
        }
    }
}
