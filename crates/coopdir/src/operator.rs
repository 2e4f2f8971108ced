//! Operator commands on people and credentials: `user`, `token`, `invite`, `audit`. Each
//! works on a stopped server's data directory (`--data`) or, while the server runs and
//! holds the store, through its admin API (`--server URL --token T`).

use coopdir_access::{AccessError, AccountState, Principal, TokenOwner};
use coopdir_ldp::{AuditQuery, Directory, NewPerson, Role};
use serde_json::{Value, json};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, FileConfig};
use crate::data::{CliError, open_directory};

/// Where an operator command acts.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The data directory of a stopped server.
    #[arg(long, env = "COOPDIR_DATA")]
    pub data: Option<PathBuf>,
    /// The server's base URL (with --data: the IRIs it mints start with it).
    #[arg(long, env = "COOPDIR_BASE_URL")]
    pub base_url: Option<String>,
    /// A running server's URL: the command goes through its admin API.
    #[arg(long, env = "COOPDIR_SERVER")]
    pub server: Option<String>,
    /// A server-admin token for --server (or a co-op admin's, for `invite`).
    #[arg(long, env = "COOPDIR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Member,
    CoopAdmin,
    ServerAdmin,
}

impl RoleArg {
    fn role(self) -> Role {
        match self {
            RoleArg::Member => Role::Member,
            RoleArg::CoopAdmin => Role::CoopAdmin,
            RoleArg::ServerAdmin => Role::ServerAdmin,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RoleArg::Member => "member",
            RoleArg::CoopAdmin => "coop-admin",
            RoleArg::ServerAdmin => "server-admin",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a person to a co-op with an account; reads the password from standard input and
    /// prints the new worker's IRI (their WebID).
    Add {
        #[command(flatten)]
        target: Target,
        /// The co-op's slug (as in /coops/SLUG) or IRI.
        #[arg(long)]
        coop: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Disable an account: its sessions and tokens stop working at once.
    Disable {
        #[command(flatten)]
        target: Target,
        /// The account's e-mail address (or id).
        account: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[command(flatten)]
        target: Target,
        account: String,
    },
}

/// One way of running a command: on the store, or through a server.
enum Via {
    Store(Box<Directory>),
    Server(Remote),
}

fn via(target: &Target, file: &FileConfig) -> Result<Via, CliError> {
    if let Some(server) = &target.server {
        let token = target.token.clone().ok_or_else(|| {
            CliError::Usage("--server needs --token (a server admin's token)".into())
        })?;
        return Ok(Via::Server(Remote::new(server, &token)?));
    }
    let data = config::data_dir(target.data.clone(), file);
    let base_url = config::base_url(target.base_url.clone(), file);
    Ok(Via::Store(Box::new(open_directory(&data, &base_url)?)))
}

fn read_password() -> Result<String, CliError> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let password = input.lines().next().unwrap_or("").to_owned();
    if password.is_empty() {
        return Err(CliError::Usage(
            "give the password on standard input, e.g. `read -s PW; echo \"$PW\" | coopdir user add …`".into(),
        ));
    }
    Ok(password)
}

pub fn user(command: UserCommand, file: &FileConfig) -> Result<ExitCode, CliError> {
    match command {
        UserCommand::Add {
            target,
            coop,
            email,
            name,
            role,
        } => {
            let password = read_password()?;
            match via(&target, file)? {
                Via::Store(directory) => {
                    let coop = directory.find_coop(&coop)?;
                    let joined = directory.add_person(
                        &coop,
                        NewPerson {
                            email,
                            name,
                            password,
                            role: role.role(),
                        },
                        &Principal::operator(),
                    )?;
                    println!("{}", joined.worker.as_str());
                }
                Via::Server(remote) => {
                    let answer = remote.post(
                        "admin/users",
                        &json!({ "coop": coop, "email": email, "name": name, "password": password, "role": role.name() }),
                    )?;
                    println!("{}", answer["worker"].as_str().unwrap_or_default());
                }
            }
        }
        UserCommand::List { target } => {
            let accounts: Vec<Value> = match via(&target, file)? {
                Via::Store(directory) => directory
                    .access()
                    .accounts()
                    .iter()
                    .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
                    .collect(),
                Via::Server(remote) => remote.get("admin/users")?["items"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            };
            for a in accounts {
                let text = |k: &str| a[k].as_str().unwrap_or("").to_owned();
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    text("email"),
                    text("name"),
                    text("state"),
                    if a["serverAdmin"].as_bool().unwrap_or(false) {
                        "server-admin"
                    } else {
                        "-"
                    },
                    text("worker")
                );
            }
        }
        UserCommand::Disable { target, account } => {
            set_state(&target, file, &account, AccountState::Disabled)?;
        }
        UserCommand::Enable { target, account } => {
            set_state(&target, file, &account, AccountState::Active)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn set_state(
    target: &Target,
    file: &FileConfig,
    account: &str,
    state: AccountState,
) -> Result<(), CliError> {
    let view = match via(target, file)? {
        Via::Store(directory) => serde_json::to_value(directory.access().set_account_state(
            account,
            state,
            &Principal::operator().actor(),
        )?)
        .unwrap_or(Value::Null),
        Via::Server(remote) => {
            let action = if state == AccountState::Disabled {
                "disable"
            } else {
                "enable"
            };
            remote.post(
                &format!("admin/users/{}/{action}", path_segment(account)),
                &json!({}),
            )?
        }
    };
    eprintln!(
        "{} is {}",
        view["email"].as_str().unwrap_or(account),
        view["state"].as_str().unwrap_or("changed")
    );
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print only the token (its hash is all the server keeps).
    Create {
        #[command(flatten)]
        target: Target,
        /// A server-admin token, tied to no account.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        admin: bool,
        /// A personal token of this account (its e-mail address or id).
        #[arg(long)]
        user: Option<String>,
        /// A name to recognise it by in GET /account/tokens.
        #[arg(long)]
        name: Option<String>,
        /// Days until it stops working (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
}

pub fn token(command: TokenCommand, file: &FileConfig) -> Result<ExitCode, CliError> {
    let TokenCommand::Create {
        target,
        admin: _,
        user,
        name,
        expires_days,
    } = command;
    let secret = match via(&target, file)? {
        Via::Store(directory) => {
            let access = directory.access();
            let owner = match &user {
                None => TokenOwner::ServerAdmin,
                Some(user) => TokenOwner::Account(
                    access
                        .find_account(user)
                        .ok_or_else(|| {
                            AccessError::NotFound(format!(
                                "no account {user}: `coopdir user list` shows them"
                            ))
                        })?
                        .id,
                ),
            };
            access
                .create_token(
                    owner,
                    name.as_deref(),
                    expires_days,
                    &Principal::operator().actor(),
                )?
                .1
        }
        Via::Server(remote) => remote.post(
            "admin/tokens",
            &json!({ "user": user, "name": name, "expiresInDays": expires_days }),
        )?["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    println!("{secret}");
    Ok(ExitCode::SUCCESS)
}

pub fn invite(
    target: &Target,
    file: &FileConfig,
    coop: &str,
    email: &str,
) -> Result<ExitCode, CliError> {
    let url = match via(target, file)? {
        Via::Store(directory) => {
            let coop = directory.find_coop(coop)?;
            let (_, secret) = directory.invite(&coop, email, &Principal::operator())?;
            format!("{}invitations/{secret}", directory.paths().base())
        }
        Via::Server(remote) => remote.post(
            &format!("coops/{}/invitations", path_segment(coop)),
            &json!({ "email": email }),
        )?["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    println!("{url}");
    Ok(ExitCode::SUCCESS)
}

pub fn audit(
    target: &Target,
    file: &FileConfig,
    resource: Option<String>,
    account: Option<String>,
    limit: usize,
) -> Result<ExitCode, CliError> {
    let items: Vec<Value> = match via(target, file)? {
        Via::Store(directory) => {
            let page = directory.audit(
                &AuditQuery {
                    resource,
                    account,
                    before: None,
                    limit,
                },
                &Principal::operator(),
            )?;
            page.items
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
                .collect()
        }
        Via::Server(remote) => {
            let mut query: Vec<(&str, String)> = vec![("limit", limit.to_string())];
            if let Some(r) = resource {
                query.push(("resource", r));
            }
            if let Some(a) = account {
                query.push(("account", a));
            }
            let query = serde_urlencoded::to_string(query).unwrap_or_default();
            remote.get(&format!("admin/audit?{query}"))?["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    for item in items {
        let text = |k: &str| item[k].as_str().unwrap_or("-").to_owned();
        let actor = &item["actor"];
        let by = item["accountEmail"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                actor["kind"].as_str().unwrap_or("?").to_owned()
                    + &actor["token"]
                        .as_str()
                        .or(actor["url"].as_str())
                        .map(|t| format!(" {t}"))
                        .unwrap_or_default()
            });
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            item["seq"],
            text("time"),
            text("operation"),
            text("kind"),
            text("resource"),
            by
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The admin API of a running server.
struct Remote {
    base: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Remote {
    fn new(server: &str, token: &str) -> Result<Self, CliError> {
        let mut base = server.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Remote(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            base,
            token: token.to_owned(),
            client,
        })
    }

    fn get(&self, path: &str) -> Result<Value, CliError> {
        self.answer(
            self.client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .send(),
        )
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        self.answer(
            self.client
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(body)
                .send(),
        )
    }

    fn delete(&self, path: &str) -> Result<Value, CliError> {
        self.answer(
            self.client
                .delete(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .send(),
        )
    }

    /// The JSON answer, or the problem the server described.
    fn answer(
        &self,
        sent: reqwest::Result<reqwest::blocking::Response>,
    ) -> Result<Value, CliError> {
        let response = sent.map_err(|e| {
            CliError::Remote(format!(
                "cannot reach the server at {}: {e} (is it running? check --server)",
                self.base
            ))
        })?;
        let status = response.status();
        let text = response.text().unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(CliError::Remote(format!(
                "the server refused ({status}): {}",
                value["detail"].as_str().unwrap_or(&text)
            )))
        }
    }
}

/// Where a `peer` command goes: always a running server (it is the one that pulls).
#[derive(Debug, clap::Args)]
pub struct ServerTarget {
    /// The running server's URL.
    #[arg(long, env = "COOPDIR_SERVER")]
    pub server: String,
    /// A server-admin token.
    #[arg(long, env = "COOPDIR_TOKEN", hide_env_values = true)]
    pub token: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum PeerCommand {
    /// Follow a peer server: its base URL (or its /actor). Sends it a signed Follow so
    /// that it pushes its changes, and pulls in any case. Prints the peer's id.
    Add {
        #[command(flatten)]
        target: ServerTarget,
        url: String,
    },
    /// The peers and their sync state: cursor, head, lag, resources held, last success and error.
    List {
        #[command(flatten)]
        target: ServerTarget,
    },
    /// Pull from a peer now.
    Sync {
        #[command(flatten)]
        target: ServerTarget,
        id: String,
    },
    /// Stop following a peer and remove the copy of its data.
    Remove {
        #[command(flatten)]
        target: ServerTarget,
        id: String,
    },
}

pub fn peer(command: PeerCommand) -> Result<ExitCode, CliError> {
    match command {
        PeerCommand::Add { target, url } => {
            let remote = Remote::new(&target.server, &target.token)?;
            let peer = remote.post("admin/peers", &json!({ "url": url }))?;
            println!("{}", peer["id"].as_str().unwrap_or("?"));
            // Whether the peer will push (stdout stays the id alone, for scripts).
            match peer["subscriptionNote"].as_str() {
                Some(note) => eprintln!("{note}"),
                None => eprintln!(
                    "sent a Follow: the peer pushes its changes once it accepts (subscription: {})",
                    peer["subscription"].as_str().unwrap_or("?")
                ),
            }
        }
        PeerCommand::List { target } => {
            let remote = Remote::new(&target.server, &target.token)?;
            let peers = remote.get("admin/peers")?;
            println!(
                "{:<12}  {:<32}  {:<9}  {:>8}  {:>8}  {:>6}  {:>8}  {:<20}  last error",
                "id", "url", "push", "cursor", "head", "lag", "held", "last success"
            );
            for p in peers["items"].as_array().cloned().unwrap_or_default() {
                println!(
                    "{:<12}  {:<32}  {:<9}  {:>8}  {:>8}  {:>6}  {:>8}  {:<20}  {}",
                    p["id"].as_str().unwrap_or("?"),
                    p["url"].as_str().unwrap_or("?"),
                    p["subscription"].as_str().unwrap_or("pull"),
                    p["cursor"],
                    p["head"],
                    p["lag"],
                    p["replicated"],
                    p["lastSuccess"].as_str().unwrap_or("never"),
                    p["lastError"].as_str().unwrap_or("-"),
                );
            }
        }
        PeerCommand::Sync { target, id } => {
            let remote = Remote::new(&target.server, &target.token)?;
            let p = remote.post(
                &format!("admin/peers/{}/sync", path_segment(&id)),
                &json!({}),
            )?;
            println!(
                "cursor {} of {}, {} resources held{}",
                p["cursor"],
                p["head"],
                p["replicated"],
                p["lastError"]
                    .as_str()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            );
        }
        PeerCommand::Remove { target, id } => {
            let remote = Remote::new(&target.server, &target.token)?;
            let done = remote.delete(&format!("admin/peers/{}", path_segment(&id)))?;
            println!(
                "removed peer {id} and {} replicated resources",
                done["removed"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
