//! What each subcommand does.

use coopdir_access::{AccessConfig, AccessError, Principal};
use coopdir_ldp::{Directory, ImportStage, LdpError, Paths, load_shapes};
use coopdir_store::{DumpScope, GraphStore, OxigraphStore, StoreError, is_system_graph};
use coopdir_syntax::{InputFormat, OutputFormat, parse_graph, write_graph};
use indicatif::{ProgressBar, ProgressStyle};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{Graph, GraphName, NamedOrBlankNode, Quad, Triple, TripleRef};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{BaseUrl, ServeConfig};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ldp(#[from] LdpError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Remote(String),
    #[error("the shapes do not load: {0}")]
    Shapes(#[from] coopdir_shacl::ShapesError),
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("cannot listen on {address}: {message}")]
    Listen { address: String, message: String },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Import(String),
    #[error(transparent)]
    Search(#[from] coopdir_search::SearchError),
    #[error(transparent)]
    Sparql(#[from] coopdir_sparql::SparqlError),
    #[error(transparent)]
    Federation(#[from] coopdir_federation::FederationError),
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormat {
    Nquads,
    Turtle,
}

/// The demo data, relative IRIs resolved against the server's base URL.
const DEMO: &[(&str, &str)] = &[
    (
        "taxonomy.ttl",
        include_str!("../../../fixtures/demo/taxonomy.ttl"),
    ),
    (
        "coops.ttl",
        include_str!("../../../fixtures/demo/coops.ttl"),
    ),
    (
        "workers.ttl",
        include_str!("../../../fixtures/demo/workers.ttl"),
    ),
    (
        "projects.ttl",
        include_str!("../../../fixtures/demo/projects.ttl"),
    ),
];

pub(crate) fn open_directory(data: &Path, base_url: &BaseUrl) -> Result<Directory, CliError> {
    open_directory_with(data, base_url, AccessConfig::default())
}

/// Opens the store under the base URL given, else the one it recorded, else the default;
/// a given one that differs from the recorded one is refused by [`Directory::new`].
fn open_directory_with(
    data: &Path,
    base_url: &BaseUrl,
    access: AccessConfig,
) -> Result<Directory, CliError> {
    let store = OxigraphStore::open(data)?;
    let base = match &base_url.given {
        Some(given) => given.clone(),
        None => match coopdir_store::meta::base_url(&store)? {
            Some(stored) => stored,
            None => {
                coopdir_ldp::base_url_of_data(&store)?.unwrap_or_else(|| base_url.default.clone())
            }
        },
    };
    let shapes = load_shapes(None)?;
    Ok(Directory::new(
        Arc::new(store),
        shapes,
        Paths::new(&base),
        access,
    )?)
}

/// Where the search index lives, beside the store's own files.
fn search_dir(data: &Path) -> PathBuf {
    data.join("search-index")
}

/// Opens the search index, catching it up with the store (or rebuilding it) first.
fn open_search(
    directory: &Directory,
    data: &Path,
    base_url: &str,
) -> Result<coopdir_search::SearchIndex, CliError> {
    let bar = ProgressBar::hidden();
    let index = coopdir_search::SearchIndex::open(
        directory.store().clone(),
        Some(&search_dir(data)),
        base_url,
        &|stage, done, total| search_progress(&bar, stage, done, total),
    )?;
    bar.finish_and_clear();
    Ok(index)
}

fn search_progress(
    bar: &ProgressBar,
    stage: coopdir_search::BuildStage,
    done: usize,
    total: usize,
) {
    if done == 0 {
        bar.set_length(total as u64);
        bar.set_message(match stage {
            coopdir_search::BuildStage::Reading => "reading resources",
            coopdir_search::BuildStage::Indexing => "indexing text",
        });
    }
    bar.set_position(done as u64);
}

/// `coopdir reindex`: throws the search index away and builds it again, with progress.
pub fn reindex(data: &Path, base_url: &BaseUrl) -> Result<ExitCode, CliError> {
    let directory = open_directory(data, base_url)?;
    let base_url = directory.paths().base().to_owned();
    let base_url = base_url.as_str();
    let dir = search_dir(data);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let started = std::time::Instant::now();
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg:18} [{bar:40}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let index = coopdir_search::SearchIndex::open(
        directory.store().clone(),
        Some(&dir),
        base_url,
        &|stage, done, total| search_progress(&bar, stage, done, total),
    )?;
    bar.finish_and_clear();
    let state = index.read();
    eprintln!(
        "search index rebuilt: {} people, {} skills, {} projects in {:.1} s",
        state.live_people().count(),
        state.taxonomy.known_count(),
        state.projects.len(),
        started.elapsed().as_secs_f64()
    );
    drop(state);
    // The SPARQL view is the other index a server would otherwise build at start-up.
    let view_dir = data.join("public-view");
    if view_dir.exists() {
        std::fs::remove_dir_all(&view_dir)?;
    }
    let started = std::time::Instant::now();
    eprintln!("rebuilding the SPARQL view (what an anonymous reader sees)…");
    let directory = Arc::new(directory);
    coopdir_sparql::PublicView::open(directory, Some(&view_dir))?;
    eprintln!(
        "SPARQL view rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

fn has_resources(store: &dyn GraphStore) -> Result<bool, CliError> {
    Ok(store.graph_names()?.iter().any(|g| match g {
        NamedOrBlankNode::NamedNode(n) => !is_system_graph(n.as_str()),
        NamedOrBlankNode::BlankNode(_) => true,
    }))
}

pub fn serve(config: ServeConfig) -> Result<ExitCode, CliError> {
    let access = AccessConfig {
        session_days: config.session_days,
        invitation_days: config.invitation_days,
        ..AccessConfig::default()
    };
    let mailer = coopdir_http::Mailer::new(config.mail.as_ref()).map_err(CliError::Usage)?;
    let mut directory = open_directory_with(&config.data, &config.base_url, access)?;
    directory.limit_writes(config.max_triples_per_write);
    directory.remember_base_url()?;
    let base_url = directory.paths().base().to_owned();
    let mut federation_config = config.federation.clone();
    if federation_config.name.is_empty() {
        federation_config.name = format!("coopdir at {base_url}");
    }
    if config.demo {
        if has_resources(directory.store().as_ref())? {
            tracing::info!("the store already holds data: the demo data is not loaded again");
        } else {
            let mut triples = Vec::new();
            for (name, text) in DEMO {
                let g = parse_graph(
                    text.as_bytes(),
                    InputFormat::Turtle,
                    directory.paths().base(),
                    &[],
                )
                .map_err(|e| CliError::File {
                    path: PathBuf::from(format!("fixtures/demo/{name}")),
                    message: e.to_string(),
                })?;
                triples.extend(g.iter().map(TripleRef::into_owned));
            }
            let summary =
                directory.import(triples, Vec::new(), &|_, _, _| {}, &Principal::operator())?;
            tracing::info!(
                resources = summary.resources,
                quads = summary.quads,
                "demo data loaded"
            );
        }
    }
    if !directory.access().has_server_admin() {
        eprintln!(
            "No server admin exists yet. To create the first one, stop the server and run\n    coopdir token create --admin --data {data}\nor\n    coopdir user add --data {data} --base-url {base} --coop SLUG --email EMAIL --name NAME --role server-admin\n(the password on standard input); afterwards both also work while it runs, with --server {base} --token T.",
            data = config.data.display(),
            base = base_url
        );
    }
    let search = Arc::new(open_search(&directory, &config.data, &base_url)?);
    let directory = Arc::new(directory);
    let sparql = Arc::new(coopdir_sparql::PublicView::open(
        directory.clone(),
        Some(&config.data.join("public-view")),
    )?);
    let federation = coopdir_federation::Federation::open(
        directory.clone(),
        Some(&config.data.join("federation")),
        federation_config,
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stopped = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen).await.map_err(|e| CliError::Listen {
            address: config.listen.clone(),
            message: format!("{e} (is another server using that port? choose another with --listen)"),
        })?;
        let address = listener.local_addr()?;
        tracing::info!(%address, base_url = %base_url, data = %config.data.display(), "coopdir is listening");
        tokio::spawn(crate::backup::serve_control(config.data.clone(), directory.store().clone()));
        tokio::spawn(search.clone().follow());
        tokio::spawn(sparql.clone().follow());
        federation.start();
        let operator = match &config.metrics_listen {
            Some(address) => {
                let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| CliError::Listen {
                    address: address.clone(),
                    message: format!("{e} (choose another --metrics-listen)"),
                })?;
                tracing::info!(address = %listener.local_addr()?, "metrics, health and readiness are served without credentials");
                Some(listener)
            }
            None => None,
        };
        let routers = coopdir_http::app(
            directory,
            search,
            sparql,
            federation,
            coopdir_http::HttpConfig {
                max_body_bytes: config.max_body_bytes,
                page_size: config.page_size,
                sparql_timeout: std::time::Duration::from_millis(config.sparql_timeout_ms),
                sparql_max_results: config.sparql_max_results,
                limits: config.limits.clone(),
                metrics_token: config.metrics_token.clone(),
                data_dir: Some(config.data.clone()),
            },
            mailer,
        );
        let stopped = coopdir_http::serve(listener, operator, routers, config.shutdown_timeout).await?;
        Ok::<_, CliError>(stopped)
    })?;
    // Background workers stop at their next await: each step they take (a batch applied
    // to an index, a delivery recorded) is a transaction, and the change log lets them
    // resume where they were. Work already on the blocking pool gets a few seconds to end.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match stopped {
        coopdir_http::Stopped::Cleanly => {
            tracing::info!("stopped cleanly");
            Ok(ExitCode::SUCCESS)
        }
        coopdir_http::Stopped::AtDeadline { in_flight } => {
            tracing::warn!(
                in_flight,
                "stopped at the shutdown deadline with requests still running (raise --shutdown-timeout?)"
            );
            Ok(ExitCode::from(EXIT_DEADLINE))
        }
    }
}

/// The exit code of a server stopped at its shutdown deadline with requests cut off.
pub const EXIT_DEADLINE: u8 = 3;

fn format_of(path: &Path) -> Option<RdfFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "ttl" | "turtle" => Some(RdfFormat::Turtle),
        "nt" => Some(RdfFormat::NTriples),
        "nq" => Some(RdfFormat::NQuads),
        "trig" => Some(RdfFormat::TriG),
        "jsonld" | "json" => Some(RdfFormat::JsonLd {
            profile: Default::default(),
        }),
        _ => None,
    }
}

/// RDF files read into memory: their triples (graph names dropped) and the file each
/// subject first appeared in.
struct ReadFiles {
    triples: Vec<Triple>,
    origin: HashMap<NamedOrBlankNode, PathBuf>,
}

/// Whether a backup's quad in graph `name` is restored by an import: accounts, token
/// hashes, invitations and proposals are; the old change log is not (the import writes
/// its own records) and sessions are never exported.
fn restored(name: &str) -> bool {
    ["account:", "token:", "invitation:", "skill-proposal:"]
        .iter()
        .any(|kind| name.starts_with(&format!("{}{kind}", coopdir_store::SYSTEM_PREFIX)))
}

/// About how many triples `files` hold, from their sizes (Turtle says in about 20 bytes
/// what N-Triples says in 100): enough to size an import's partitions.
fn estimated_triples(files: &[PathBuf]) -> usize {
    files
        .iter()
        .map(|path| {
            let size = std::fs::metadata(path).map_or(0, |m| m.len()) as usize;
            let bytes_per_triple = match format_of(path) {
                Some(RdfFormat::NTriples | RdfFormat::NQuads) => 100,
                Some(RdfFormat::JsonLd { .. }) => 40,
                _ => 20,
            };
            size / bytes_per_triple
        })
        .sum()
}

/// Parses RDF files one triple at a time, with a progress bar on large ones, handing each
/// triple (and the file it came from) to `triple`, and the quads a backup holds in
/// system graphs that an import restores to `system`. Blank nodes are renamed per file,
/// so that `_:b0` in two files stays two nodes. JSON-LD files are parsed whole.
fn stream_files(
    files: &[PathBuf],
    base_url: &str,
    show_progress: bool,
    triple: &mut dyn FnMut(Triple, &Path) -> Result<(), CliError>,
    system: &mut dyn FnMut(Quad),
) -> Result<(), CliError> {
    for path in files {
        let file_error = |message: String| CliError::File {
            path: path.clone(),
            message,
        };
        let format = format_of(path).ok_or_else(|| {
            file_error("unknown file type: use .ttl, .nt, .nq, .trig or .jsonld".into())
        })?;
        let mut count = 0usize;
        if matches!(format, RdfFormat::JsonLd { .. }) {
            let bytes = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
            let aliases = Paths::new(base_url).context_aliases();
            let g = parse_graph(&bytes, InputFormat::JsonLd, base_url, &aliases)
                .map_err(|e| file_error(e.to_string()))?;
            for t in g.iter() {
                triple(t.into_owned(), path)?;
                count += 1;
            }
        } else {
            let file = std::fs::File::open(path).map_err(|e| file_error(e.to_string()))?;
            let size = file.metadata().map(|m| m.len()).unwrap_or(0);
            let bar = if show_progress && size > 4 * 1024 * 1024 {
                let bar = ProgressBar::new(size);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message(format!("reading {}", path.display()));
                bar
            } else {
                ProgressBar::hidden()
            };
            let reader = bar.wrap_read(std::io::BufReader::with_capacity(1 << 16, file));
            let parser = RdfParser::from_format(format)
                .with_base_iri(base_url)
                .map_err(|e| file_error(e.to_string()))?
                .rename_blank_nodes()
                .for_reader(reader);
            for quad in parser {
                let quad = quad.map_err(|e| file_error(e.to_string()))?;
                if let GraphName::NamedNode(g) = &quad.graph_name
                    && is_system_graph(g.as_str())
                {
                    if restored(g.as_str()) {
                        system(quad);
                    }
                    continue;
                }
                triple(Triple::new(quad.subject, quad.predicate, quad.object), path)?;
                count += 1;
            }
            bar.finish_and_clear();
        }
        tracing::debug!(file = %path.display(), triples = count, "read");
    }
    Ok(())
}

/// Reads RDF files into memory, remembering where each subject first appeared.
fn read_files(files: &[PathBuf], base_url: &str) -> Result<ReadFiles, CliError> {
    let mut read = ReadFiles {
        triples: Vec::new(),
        origin: HashMap::new(),
    };
    stream_files(
        files,
        base_url,
        false,
        &mut |t, path| {
            if !read.origin.contains_key(&t.subject) {
                read.origin.insert(t.subject.clone(), path.to_owned());
            }
            read.triples.push(t);
            Ok(())
        },
        &mut |_| {},
    )?;
    Ok(read)
}

pub fn import(data: &Path, base_url: &BaseUrl, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let directory = open_directory(data, base_url)?;
    let base_url = directory.paths().base().to_owned();
    let base_url = base_url.as_str();
    let started = std::time::Instant::now();
    // Partitions spill beside the store: the disk that holds the data has room for it.
    let mut batches = directory.import_batches(estimated_triples(files), data);
    let mut system = Vec::new();
    if coopdir_store::meta::base_url(directory.store().as_ref())?.is_none() {
        system.push(coopdir_store::meta::base_url_quad(base_url));
    }
    stream_files(
        files,
        base_url,
        true,
        &mut |t, _| Ok(batches.push(t)?),
        &mut |q| system.push(q),
    )?;
    let triples = batches.len();
    let bar = ProgressBar::new(batches.partitions() as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} partitions ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = directory
        .import_from(
            batches,
            system,
            &|stage, done, _| {
                bar.set_message(match stage {
                    ImportStage::Validating => "validating",
                    ImportStage::Writing => "writing",
                });
                bar.set_position(done as u64);
            },
            &Principal::operator(),
        )
        .map_err(|e| match e {
            LdpError::Invalid(report) => {
                let lines: Vec<String> = report
                    .violations()
                    .take(20)
                    .map(|r| format!("  {r}"))
                    .collect();
                let more = report.violations().count().saturating_sub(20);
                CliError::Import(format!(
                    "nothing was imported: the data does not conform to the shapes:\n{}{}",
                    lines.join("\n"),
                    if more > 0 {
                        format!("\n  … and {more} more")
                    } else {
                        String::new()
                    }
                ))
            }
            other => CliError::Ldp(other),
        })?;
    bar.finish_and_clear();
    directory.remember_base_url()?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {} resources ({} triples read, {} quads stored, {} partition{}) in {:.2} s ({:.0} quads/s)",
        summary.resources,
        triples,
        summary.quads,
        summary.partitions,
        if summary.partitions == 1 { "" } else { "s" },
        seconds,
        summary.quads as f64 / seconds.max(1e-9)
    );
    if !summary.missing_concepts.is_empty() {
        eprintln!(
            "warning: {} concepts of the imported schemes are no longer in these files; they were kept, not deleted (delete them through the API once nobody holds them):",
            summary.missing_concepts.len()
        );
        for (concept, holders) in summary.missing_concepts.iter().take(20) {
            eprintln!("  {concept} (held by {holders} people)");
        }
        if summary.missing_concepts.len() > 20 {
            eprintln!("  … and {} more", summary.missing_concepts.len() - 20);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What an export holds.
pub enum ExportScope {
    /// All the directory's data.
    Data,
    /// The data plus accounts, token hashes, invitations and the change log.
    Backup,
    /// What an anonymous reader of the server at this base URL sees.
    Public(BaseUrl),
}

pub fn export(
    data: &Path,
    format: ExportFormat,
    output: Option<&Path>,
    scope: ExportScope,
) -> Result<ExitCode, CliError> {
    if matches!(scope, ExportScope::Backup) && !matches!(format, ExportFormat::Nquads) {
        return Err(CliError::Usage(
            "--backup keeps each graph apart, which only N-Quads can: use --format nquads".into(),
        ));
    }
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    if let ExportScope::Public(base_url) = &scope {
        let directory = open_directory(data, base_url)?;
        let mut quads: Vec<Quad> = Vec::new();
        directory.public_resources(|name, graph| {
            quads.extend(graph.iter().map(|t| t.in_graph(name).into_owned()));
        })?;
        match format {
            ExportFormat::Nquads => {
                let mut writer = oxigraph::io::RdfSerializer::from_format(RdfFormat::NQuads)
                    .for_writer(&mut out);
                for quad in &quads {
                    writer.serialize_quad(quad)?;
                }
                writer.finish()?;
            }
            ExportFormat::Turtle => {
                let graph: Graph = quads
                    .iter()
                    .map(|q| Triple::new(q.subject.clone(), q.predicate.clone(), q.object.clone()))
                    .collect();
                out.write_all(&write_graph(&graph, OutputFormat::Turtle, None, ""))?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let store = OxigraphStore::open(data)?;
    match format {
        ExportFormat::Nquads => store.dump_nquads(
            &mut out,
            if matches!(scope, ExportScope::Backup) {
                DumpScope::Backup
            } else {
                DumpScope::Data
            },
        )?,
        ExportFormat::Turtle => {
            let mut graph = Graph::new();
            for quad in store.inner().iter() {
                let quad = quad.map_err(StoreError::from)?;
                let system = matches!(&quad.graph_name, GraphName::NamedNode(g) if is_system_graph(g.as_str()));
                if !system {
                    graph.insert(&Triple::new(quad.subject, quad.predicate, quad.object));
                }
            }
            out.write_all(&write_graph(&graph, OutputFormat::Turtle, None, ""))?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn validate(shapes_dir: Option<&Path>, files: &[PathBuf]) -> Result<ExitCode, CliError> {
    let shapes = load_shapes(shapes_dir)?;
    let read = read_files(files, "http://localhost/")?;
    let origin = read.origin;
    let graph: Graph = read.triples.iter().collect();
    let report = shapes.compiled.validate(&graph);
    let mut by_file: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for r in report.violations() {
        let file = match &r.focus_node {
            oxigraph::model::Term::NamedNode(n) => origin.get(&NamedOrBlankNode::from(n.clone())),
            oxigraph::model::Term::BlankNode(b) => origin.get(&NamedOrBlankNode::from(b.clone())),
            _ => None,
        }
        .cloned()
        .unwrap_or_else(|| PathBuf::from("(several files)"));
        by_file.entry(file).or_default().push(format!("  {r}"));
    }
    for path in files {
        match by_file.remove(path) {
            None => println!("{}: conforms", path.display()),
            Some(lines) => {
                println!(
                    "{}: {} violation{}",
                    path.display(),
                    lines.len(),
                    if lines.len() == 1 { "" } else { "s" }
                );
                for line in lines {
                    println!("{line}");
                }
            }
        }
    }
    for (path, lines) in by_file {
        println!("{}:", path.display());
        for line in lines {
            println!("{line}");
        }
    }
    Ok(if report.conforms() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
