//! Online backups and restores of a data directory.
//!
//! A backup is itself a data directory: the store's consistent snapshot (RocksDB
//! checkpoint, change log, accounts and tokens included), the federation key, and a
//! `coopdir-backup.json` manifest. The search index and the SPARQL view are not copied;
//! they are rebuilt from the store at the first start.
//!
//! While a server holds the store, `coopdir backup --data DIR` asks it through the control
//! socket `DIR/control.sock` (mode 0600: whoever may read the data directory may back it
//! up, nobody else), so the snapshot is taken without stopping the server.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use coopdir_store::{GraphStore, OxigraphStore, StoreError};
use serde::{Deserialize, Serialize};

use crate::data::CliError;

const MANIFEST: &str = "coopdir-backup.json";
const CONTROL_SOCKET: &str = "control.sock";
/// Copied beside the store: the server's key pair, which peers know it by.
const FEDERATION_DIR: &str = "federation";

/// What a backup holds.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub created: String,
    /// The change log's head when the snapshot was taken (at least).
    pub head: u64,
    pub coopdir_version: String,
}

/// Takes the snapshot of `store` (whose data directory is `data`) into `out`.
pub fn snapshot(store: &dyn GraphStore, data: &Path, out: &Path) -> Result<Manifest, CliError> {
    if out.exists() {
        return Err(CliError::Usage(format!(
            "{} already exists: name a new directory for the backup",
            out.display()
        )));
    }
    if out.starts_with(data) {
        return Err(CliError::Usage(format!(
            "{} is inside the data directory {}: put backups elsewhere",
            out.display(),
            data.display()
        )));
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let head = store.head();
    store.backup(out)?;
    let federation = data.join(FEDERATION_DIR);
    if federation.is_dir() {
        copy_tree(&federation, &out.join(FEDERATION_DIR))?;
    }
    let manifest = Manifest {
        created: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        head,
        coopdir_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| CliError::Usage(e.to_string()))?;
    std::fs::write(out.join(MANIFEST), text)?;
    tracing::info!(to = %out.display(), head, "backup written");
    Ok(manifest)
}

/// `coopdir backup --data DIR OUT`: directly when no server runs, else through the
/// running server's control socket.
pub fn backup(data: &Path, out: &Path) -> Result<ExitCode, CliError> {
    let out = std::path::absolute(out)?;
    let data = std::path::absolute(data)?;
    let manifest = match OxigraphStore::open(&data) {
        Ok(store) => snapshot(&store, &data, &out)?,
        Err(StoreError::Locked(_)) => ask_server(&data, &out)?,
        Err(e) => return Err(e.into()),
    };
    println!(
        "backup of {} written to {} (change log head {}); restore it with\n    coopdir restore {} --data DIR",
        data.display(),
        out.display(),
        manifest.head,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `coopdir restore BACKUP --data DIR [--force]`.
pub fn restore(backup: &Path, data: &Path, force: bool) -> Result<ExitCode, CliError> {
    let manifest: Manifest = std::fs::read_to_string(backup.join(MANIFEST))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{} is not a coopdir backup (it has no {MANIFEST}): name a directory `coopdir backup` wrote",
                backup.display()
            ))
        })?;
    let occupied = std::fs::read_dir(data).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        if !force {
            return Err(CliError::Usage(format!(
                "{} is not empty: restore into a new directory, or add --force to replace what it holds",
                data.display()
            )));
        }
        // Refuse to pull the store from under a running server.
        match OxigraphStore::open(data) {
            Err(StoreError::Locked(_)) => {
                return Err(CliError::Usage(format!(
                    "a server is running on {}: stop it first",
                    data.display()
                )));
            }
            Ok(store) => drop(store),
            Err(_) => {} // A damaged store is what a restore replaces.
        }
        std::fs::remove_dir_all(data)?;
    }
    copy_tree(backup, data)?;
    std::fs::remove_file(data.join(MANIFEST))?;
    // Open it once: proves the copy is a store, and reports what it holds.
    let store = OxigraphStore::open(data)?;
    let quads = store.len()?;
    println!(
        "restored the backup of {} into {}: {quads} quads, change log head {} (new changes continue from there); the search index and SPARQL view are rebuilt at the next start",
        manifest.created,
        data.display(),
        store.head()
    );
    Ok(ExitCode::SUCCESS)
}

/// Copies the files under `from` into `to` (created), keeping permissions, with progress.
fn copy_tree(from: &Path, to: &Path) -> Result<(), CliError> {
    let mut files = Vec::new();
    collect_files(from, Path::new(""), &mut files)?;
    let total: u64 = files.iter().map(|(_, size)| size).sum();
    let progress = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    progress.set_message(format!("copying {}", from.display()));
    std::fs::create_dir_all(to)?;
    for (relative, size) in files {
        let target = to.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(&relative), &target).map_err(|e| CliError::File {
            path: from.join(&relative),
            message: format!("cannot copy it to {}: {e}", target.display()),
        })?;
        progress.inc(size);
    }
    progress.finish_and_clear();
    Ok(())
}

fn collect_files(
    root: &Path,
    relative: &Path,
    files: &mut Vec<(PathBuf, u64)>,
) -> Result<(), CliError> {
    for entry in std::fs::read_dir(root.join(relative))? {
        let entry = entry?;
        let path = relative.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_files(root, &path, files)?;
        } else if kind.is_file() {
            files.push((path, entry.metadata()?.len()));
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct BackupRequest {
    to: PathBuf,
}

/// The running server's side of the control socket: `POST /backup {"to": PATH}`.
pub async fn serve_control(data: PathBuf, store: Arc<dyn GraphStore>) {
    use axum::routing::post;
    use std::os::unix::fs::PermissionsExt;
    let path = data.join(CONTROL_SOCKET);
    // A socket left by a server that was killed; we hold the store's lock, so it is stale.
    let _ = std::fs::remove_file(&path);
    let listener = match tokio::net::UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(socket = %path.display(), error = %e, "no control socket: `coopdir backup` will not work while the server runs");
            return;
        }
    };
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(error = %e, "cannot restrict the control socket to its owner; closing it");
        return;
    }
    let router = axum::Router::new().route(
        "/backup",
        post(move |axum::Json(request): axum::Json<BackupRequest>| {
            let (store, data) = (store.clone(), data.clone());
            async move {
                let result = tokio::task::spawn_blocking(move || {
                    snapshot(store.as_ref(), &data, &request.to)
                })
                .await;
                match result {
                    Ok(Ok(manifest)) => (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!(manifest)),
                    ),
                    Ok(Err(e)) => (
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        axum::Json(serde_json::json!({ "error": e.to_string() })),
                    ),
                    Err(e) => (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(serde_json::json!({ "error": e.to_string() })),
                    ),
                }
            }
        }),
    );
    if let Err(e) = axum::serve(listener, router).await {
        tracing::warn!(error = %e, "the control socket stopped");
    }
}

/// The client side: one HTTP/1.1 request over the Unix socket. Written by hand because
/// our HTTP client (reqwest) does not speak over Unix sockets, and this is one request
/// with `Connection: close`.
fn ask_server(data: &Path, out: &Path) -> Result<Manifest, CliError> {
    let path = data.join(CONTROL_SOCKET);
    let unreachable = |e: std::io::Error| {
        CliError::Usage(format!(
            "a server holds {} but its control socket {} does not answer ({e}): run the backup as the user the server runs as, or stop the server",
            data.display(),
            path.display()
        ))
    };
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(unreachable)?;
    let body = serde_json::to_string(&BackupRequest { to: out.to_owned() })
        .map_err(|e| CliError::Usage(e.to_string()))?;
    write!(
        stream,
        "POST /backup HTTP/1.1\r\nHost: coopdir\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(unreachable)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(unreachable)?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let ok = head.split_whitespace().nth(1) == Some("200");
    let value: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
    if !ok {
        return Err(CliError::Usage(format!(
            "the server could not write the backup: {}",
            value["error"].as_str().unwrap_or(head)
        )));
    }
    serde_json::from_value(value).map_err(|e| CliError::Usage(format!("the server's answer: {e}")))
}
