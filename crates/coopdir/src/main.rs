//! The `coopdir` command: serve the directory, manage credentials, import, export and
//! validate data. Configuration comes from flags, then `COOPDIR_*` environment variables,
//! then an optional TOML file (`--config`), then defaults.

mod config;
mod data;

use clap::{Parser, Subcommand};
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
    Serve(ServeArgs),
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
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
    /// Export every resource as N-Quads (one graph per resource) or Turtle.
    Export {
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "nquads")]
        format: data::ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
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
enum TokenCommand {
    /// Create a token and print it on standard output (only its hash is stored).
    Create {
        /// An admin token may write everything.
        #[arg(long, required = true)]
        admin: bool,
        #[arg(long, env = "COOPDIR_DATA")]
        data: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve(args) => {
            config::init_tracing(args.log_json.unwrap_or(file.log_json.unwrap_or(false)));
            data::serve(args.resolve(&file))
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    admin: _,
                    data: dir,
                },
        } => data::create_token(&config::data_dir(dir, &file)),
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
        Command::Export {
            data: dir,
            format,
            output,
        } => data::export(&config::data_dir(dir, &file), format, output.as_deref()),
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
