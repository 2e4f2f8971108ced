//! The `coopdir` command: serve the directory, manage people and credentials, import,
//! export and validate data, read the audit trail, follow peers. Configuration comes from flags, then `COOPDIR_*` environment variables,
//! then an optional TOML file (`--config`), then defaults.

// mimalloc instead of glibc's allocator: parsing, validating and rendering RDF allocate
// many small strings, and glibc's malloc and free took 30 % of an import's profile
// (see crates/coopdir-bench/profiles/README.md). It also replaces C's malloc (feature
// `override`): oxigraph frees some memory RocksDB allocated (its error messages) through
// Rust's allocator, which must then be the same one (without it, opening a locked store
// crashed).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod backup;
mod config;
mod data;
mod operator;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use config::{FileConfig, ServeArgs};

#[derive(Parser)]
#[command(
    name = "coopdir",
    version,
    about = "A federated directory of co-operatives, their workers, skills and projects"
)]
struct Cli {
    /// A TOML file with defaults for any option (keys as the long flags, with underscores).
    #[arg(long, global = true, env = "COOPDIR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server on the embedded store.
    Serve(Box<ServeArgs>),
    /// Check the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: operator::TokenCommand,
    },
    /// Manage people's accounts.
    User {
        #[command(subcommand)]
        command: operator::UserCommand,
    },
    /// Invite someone to a co-op; prints only the invitation URL.
    Invite {
        #[command(flatten)]
        target: operator::Target,
        /// The co-op's slug (as in /coops/SLUG) or IRI.
        #[arg(long)]
        coop: String,
        /// The invitee's e-mail address (their login).
        email: String,
    },
    /// Show the audit trail (who changed what), newest first.
    Audit {
        #[command(flatten)]
        target: operator::Target,
        /// Only changes of this resource (its IRI).
        #[arg(long)]
        resource: Option<String>,
        /// Only changes made by this account (e-mail address or id).
        #[arg(long)]
        account: Option<String>,
        #[arg(long, default_value = "50")]
        limit: usize,
    },
    /// Follow peer servers and see their sync state (through the running server).
    Peer {
        #[command(subcommand)]
        command: operator::PeerCommand,
    },
    /// Import Turtle, N-Triples, N-Quads or JSON-LD files (validated; all or nothing).
    Import {
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        /// The server's base URL, which decides which IRIs are local.
        #[arg(long, env = "COOPDIR_BASE_URL")]
        base_url: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Rebuild the search index and the SPARQL view from the store, with progress (the
    /// server must be stopped; it also rebuilds a missing or outdated one at start-up).
    Reindex {
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        /// The server's base URL, which decides which IRIs are local.
        #[arg(long, env = "COOPDIR_BASE_URL")]
        base_url: Option<String>,
    },
    /// Export every resource as N-Quads (one graph per resource) or Turtle.
    Export {
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "nquads")]
        format: data::ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// For backups: also write accounts, token hashes, invitations, skill proposals and
        /// the change log (never sessions). N-Quads only.
        #[arg(long, conflicts_with = "public")]
        backup: bool,
        /// Only what an anonymous reader may see (no members-only or private people, no
        /// contact details unless a person opted in), e.g. to publish the directory.
        #[arg(long)]
        public: bool,
        /// With --public: the base URL the data was written under.
        #[arg(long, env = "COOPDIR_BASE_URL")]
        base_url: Option<String>,
    },
    /// Back up the data directory into a new directory OUT, while the server runs or not
    /// (a consistent snapshot: data, accounts, tokens, change log, the federation key).
    Backup {
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        /// A new directory for the backup (outside the data directory).
        out: PathBuf,
    },
    /// Restore a backup into a data directory (empty or new unless --force).
    Restore {
        /// The directory `coopdir backup` wrote.
        backup: PathBuf,
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        /// Replace what the data directory holds (the server must be stopped).
        #[arg(long)]
        force: bool,
    },
    /// Validate files against the SHACL shapes, offline. Exit status 0 only if all conform.
    Validate {
        /// Use the shapes in this directory instead of the built-in ones.
        #[arg(long)]
        shapes: Option<PathBuf>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration of `coopdir serve` (flags over COOPDIR_*
    /// variables over the file over defaults; secrets masked) and everything wrong with
    /// it. Exit status 1 when something is.
    Check(Box<ServeArgs>),
}

/// Exit status of a configuration `serve` refuses (as for a usage error).
const EXIT_CONFIGURATION: u8 = 2;

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let loaded = FileConfig::load(cli.config.as_deref());
    let command = match cli.command {
        Command::Config {
            command: ConfigCommand::Check(args),
        } => {
            let sources = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"));
            return config::check(*args, loaded, cli.config.as_deref(), sources);
        }
        other => other,
    };
    let file = match loaded {
        Ok(file) => file,
        Err(problems) => {
            problems.print();
            return ExitCode::from(EXIT_CONFIGURATION);
        }
    };
    let result = match command {
        Command::Config { .. } => Ok(ExitCode::SUCCESS),
        Command::Serve(args) => match args.resolve(&file) {
            Ok(config) => {
                config::init_tracing(config.log_json);
                data::serve(config)
            }
            Err(problems) => {
                problems.print();
                eprintln!("coopdir config check shows the whole configuration.");
                return ExitCode::from(EXIT_CONFIGURATION);
            }
        },
        Command::Token { command } => operator::token(command, &file),
        Command::Peer { command } => operator::peer(command),
        Command::User { command } => operator::user(command, &file),
        Command::Invite {
            target,
            coop,
            email,
        } => operator::invite(&target, &file, &coop, &email),
        Command::Audit {
            target,
            resource,
            account,
            limit,
        } => operator::audit(&target, &file, resource, account, limit),
        Command::Import {
            data: dir,
            base_url,
            files,
        } => {
            config::init_tracing(false);
            data::import(
                &config::data_dir(dir, &file),
                &config::base_url(base_url, &file),
                &files,
            )
        }
        Command::Reindex {
            data: dir,
            base_url,
        } => {
            config::init_tracing(false);
            data::reindex(
                &config::data_dir(dir, &file),
                &config::base_url(base_url, &file),
            )
        }
        Command::Export {
            data: dir,
            format,
            output,
            backup,
            public,
            base_url,
        } => {
            let scope = if backup {
                data::ExportScope::Backup
            } else if public {
                data::ExportScope::Public(config::base_url(base_url, &file))
            } else {
                data::ExportScope::Data
            };
            data::export(
                &config::data_dir(dir, &file),
                format,
                output.as_deref(),
                scope,
            )
        }
        Command::Backup { data: dir, out } => backup::backup(&config::data_dir(dir, &file), &out),
        Command::Restore {
            backup: from,
            data: dir,
            force,
        } => backup::restore(&from, &config::data_dir(dir, &file), force),
        Command::Validate { shapes, files } => data::validate(shapes.as_deref(), &files),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
