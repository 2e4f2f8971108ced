//! Helpers for end-to-end tests: start the real `coopdir` binary on a temporary data
//! directory and a loopback port, talk to it over HTTP, stop or kill it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use oxigraph::model::Graph;
use oxigraph::model::dataset::CanonicalizationAlgorithm;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use reqwest::StatusCode;
pub use reqwest::blocking::Response;

/// The `coopdir` binary (or `$COOPDIR_BIN`). `cargo test` does not rebuild another
/// package's binary for these tests, so the first call builds it (a no-op when fresh),
/// in the profile the tests were built in.
pub fn coopdir_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(path) = std::env::var("COOPDIR_BIN") {
            return PathBuf::from(path);
        }
        // target/<profile>/deps/<test> → target/<profile>/coopdir
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target profile directory");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        // The whole workspace, so that features resolve as in `cargo test --workspace`
        // and nothing (RocksDB above all) is rebuilt.
        build.args(["build", "--workspace", "--bins"]);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building coopdir failed");
        let bin = profile_dir.join(format!("coopdir{}", std::env::consts::EXE_SUFFIX));
        assert!(bin.exists(), "{} is missing after the build", bin.display());
        bin
    })
    .clone()
}

/// Runs `coopdir ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(coopdir_bin())
        .args(args)
        .env("COOPDIR_LOG", "warn")
        .output()
        .expect("coopdir runs")
}

/// Runs `coopdir ARGS` with `input` on its standard input.
pub fn run_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(coopdir_bin())
        .args(args)
        .env("COOPDIR_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("coopdir runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("coopdir finishes")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub listen: String,
    pub data: tempfile::TempDir,
    pub token: String,
    extra_args: Vec<String>,
    /// Where the server's log goes (at debug level), when asked for.
    pub log: Option<PathBuf>,
    _log_dir: Option<tempfile::TempDir>,
    client: reqwest::blocking::Client,
}

impl Server {
    /// A server on an empty store, with an admin token.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with the demo data.
    pub fn start_demo() -> Self {
        Self::start_with(&["--demo"])
    }

    /// A server logging at debug level to [`Server::log`].
    pub fn start_logged(args: &[&str]) -> Self {
        Self::start_inner(args, true)
    }

    pub fn start_with(args: &[&str]) -> Self {
        Self::start_inner(args, false)
    }

    fn start_inner(args: &[&str], logged: bool) -> Self {
        let data = tempfile::tempdir().expect("tempdir");
        let data_path = data.path().to_str().expect("utf-8 path").to_owned();
        let output = run(&["token", "create", "--admin", "--data", &data_path]);
        assert!(
            output.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let token = String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned();
        Self::start_on_inner(data, token, args, logged, None)
    }

    /// A server on an existing data directory (a restored backup, say) whose admin token
    /// is `token`, listening on `listen` (its base URL's address).
    pub fn start_on(data: tempfile::TempDir, token: String, listen: &str, args: &[&str]) -> Self {
        Self::start_on_inner(data, token, args, false, Some(listen.to_owned()))
    }

    fn start_on_inner(
        data: tempfile::TempDir,
        token: String,
        args: &[&str],
        logged: bool,
        listen: Option<String>,
    ) -> Self {
        let listen = listen.unwrap_or_else(|| format!("127.0.0.1:{}", free_port()));
        let log_dir = logged.then(|| tempfile::tempdir().expect("tempdir"));
        let mut server = Server {
            log: log_dir.as_ref().map(|d| d.path().join("server.log")),
            _log_dir: log_dir,
            child: None,
            base: format!("http://{listen}/"),
            listen,
            data,
            token,
            extra_args: args.iter().map(|s| s.to_string()).collect(),
            client: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new(coopdir_bin());
        command
            .args([
                "serve",
                "--data",
                self.data.path().to_str().expect("path"),
                "--listen",
                &self.listen,
            ])
            .args(&self.extra_args)
            .stdout(Stdio::null());
        match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("log file");
                command.env("COOPDIR_LOG", "debug").stderr(file);
            }
            None => {
                command.env("COOPDIR_LOG", "warn").stderr(Stdio::inherit());
            }
        }
        self.child = Some(command.spawn().expect("coopdir serve starts"));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.client.get(self.url("/health")).send()
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("coopdir serve exited early with {status}");
            }
            assert!(
                Instant::now() < deadline,
                "coopdir serve did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the server again, on the same data and port, after [`Server::stop`].
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Starts the server again after [`Server::stop`].
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Kills the server with SIGKILL (a crash) and starts it again on the same data.
    pub fn crash_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
        self.spawn();
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. "TERM", "INT") to the server without waiting.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(status.success(), "kill -{signal} failed");
        }
    }

    /// Waits at most `limit` for the server to exit, and gives its exit status.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    pub fn get(&self, path: &str, accept: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Accept", accept)
            .send()
            .expect("GET")
    }

    pub fn get_authenticated(&self, path: &str, accept: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Accept", accept)
            .bearer_auth(&self.token)
            .send()
            .expect("GET")
    }

    /// A request builder with `token` (none: anonymous).
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::blocking::RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// Adds a person with an account through the admin API; returns their worker IRI and a
    /// personal token.
    pub fn add_person(&self, coop: &str, email: &str, name: &str, role: &str) -> (String, String) {
        let r = self
            .write(reqwest::Method::POST, "/admin/users")
            .json(&serde_json::json!({ "coop": coop, "email": email, "name": name, "password": PASSWORD, "role": role }))
            .send()
            .expect("POST /admin/users");
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().unwrap_or_default()
        );
        let worker = json(r)["worker"].as_str().expect("worker").to_owned();
        let r = self
            .write(reqwest::Method::POST, "/admin/tokens")
            .json(&serde_json::json!({ "user": email }))
            .send()
            .expect("POST /admin/tokens");
        assert_eq!(r.status(), StatusCode::CREATED);
        (worker, json(r)["token"].as_str().expect("token").to_owned())
    }

    /// Logs in with a password; returns the session cookie and its CSRF token.
    pub fn login(&self, email: &str, password: &str) -> Session {
        let r = self
            .client
            .post(self.url("/login"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .expect("POST /login");
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "login: {}",
            r.text().unwrap_or_default()
        );
        Session::from_response(r)
    }

    /// A request builder with a session cookie (and its CSRF token).
    pub fn with_session(
        &self,
        method: reqwest::Method,
        path: &str,
        session: &Session,
    ) -> reqwest::blocking::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Cookie", &session.cookie)
            .header("X-CSRF-Token", &session.csrf)
    }

    /// A request builder with the admin token.
    pub fn write(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
    }

    pub fn post(&self, container: &str, content_type: &str, body: &str) -> Response {
        self.write(reqwest::Method::POST, container)
            .header("Content-Type", content_type)
            .body(body.to_owned())
            .send()
            .expect("POST")
    }

    /// The resource's triples as a canonical graph (read as N-Triples, authenticated).
    pub fn graph(&self, path: &str) -> Graph {
        let r = self.get_authenticated(path, "application/n-triples");
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        parse(
            &r.text().expect("body"),
            oxigraph::io::RdfFormat::NTriples,
            &self.url(path),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A password the checks accept, for test accounts.
pub const PASSWORD: &str = "correct horse battery staple";

/// A logged-in browser: its cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// `coopdir_session=…`, as a `Cookie` header sends it.
    pub cookie: String,
    pub csrf: String,
    /// The `Set-Cookie` header as the server sent it.
    pub set_cookie: String,
}

impl Session {
    pub fn from_response(r: Response) -> Self {
        let set_cookie = r
            .headers()
            .get("set-cookie")
            .expect("Set-Cookie")
            .to_str()
            .expect("ascii")
            .to_owned();
        let cookie = set_cookie.split(';').next().expect("cookie").to_owned();
        let body = json(r);
        Session {
            cookie,
            csrf: body["csrfToken"].as_str().expect("csrfToken").to_owned(),
            set_cookie,
        }
    }
}

/// Parses RDF text into a canonicalised graph (so that equal graphs compare equal).
pub fn parse(text: &str, format: oxigraph::io::RdfFormat, base: &str) -> Graph {
    let mut graph = Graph::new();
    let parser = oxigraph::io::RdfParser::from_format(format)
        .with_base_iri(base)
        .expect("base");
    for quad in parser.for_slice(text.as_bytes()) {
        let quad = quad.unwrap_or_else(|e| panic!("invalid RDF ({e}):\n{text}"));
        graph.insert(oxigraph::model::TripleRef::new(
            &quad.subject,
            &quad.predicate,
            &quad.object,
        ));
    }
    graph.canonicalize(CanonicalizationAlgorithm::Unstable);
    graph
}

pub fn json(response: Response) -> serde_json::Value {
    let text = response.text().expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A co-op, a skill and a worker, enough for most tests. Returns the worker's path.
pub fn seed(server: &Server) -> String {
    let skill = server.post(
        "/skills/",
        "text/turtle",
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> . <> a skos:Concept ; skos:prefLabel \"Rust\"@en, \"Rust\"@fr .",
    );
    assert_eq!(
        skill.status(),
        StatusCode::CREATED,
        "{}",
        skill.text().unwrap_or_default()
    );
    let coop = server.post(
        "/coops/",
        "text/turtle",
        "@prefix schema: <http://schema.org/> . <> a schema:Organization ; schema:name \"Test Co-op\" .",
    );
    assert_eq!(
        coop.status(),
        StatusCode::CREATED,
        "{}",
        coop.text().unwrap_or_default()
    );
    let worker = server.post(
        "/workers/",
        "text/turtle",
        &format!(
            "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
             <> a schema:Person ; schema:name \"Ada Lovelace\" ; schema:email \"ada@example.org\" ;
                schema:memberOf <{}> ; dir:hasSkill [ dir:skill <{}> ; dir:level \"expert\" ] .",
            server.url("/coops/test-co-op"),
            server.url("/skills/rust")
        ),
    );
    assert_eq!(
        worker.status(),
        StatusCode::CREATED,
        "{}",
        worker.text().unwrap_or_default()
    );
    "/workers/ada-lovelace".to_owned()
}

/// The tests package's folder, as cargo gives it when the test runs: a test binary reused
/// from a build in another checkout would otherwise read that checkout's files.
pub fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `coopdir-bench` binary, built beside `coopdir` (its generators make test data).
pub fn bench_bin() -> PathBuf {
    let coopdir = coopdir_bin();
    coopdir.with_file_name(format!("coopdir-bench{}", std::env::consts::EXE_SUFFIX))
}

/// Follows `peer_base` from `follower` through its admin API; the new peer's state.
pub fn follow_peer(follower: &Server, peer_base: &str) -> serde_json::Value {
    let r = follower
        .write(reqwest::Method::POST, "/admin/peers")
        .json(&serde_json::json!({ "url": peer_base }))
        .send()
        .expect("POST /admin/peers");
    let status = r.status();
    let body = json(r);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// What `server` holds of a peer's resource (`/replicas?iri=`), tombstones included.
pub fn replica(server: &Server, iri: &str) -> Option<serde_json::Value> {
    let r = server
        .client()
        .get(server.url("/replicas"))
        .query(&[("iri", iri)])
        .send()
        .expect("GET /replicas");
    match r.status() {
        StatusCode::OK => Some(json(r)),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET /replicas?iri={iri}: {other}"),
    }
}

/// The replica of a peer's resource that `server` holds, unless it is a tombstone.
pub fn live_replica(server: &Server, iri: &str) -> Option<serde_json::Value> {
    replica(server, iri).filter(|r| r["deleted"] == false)
}

/// A scripted misbehaving peer (`clients/bad_peer.py MODE PORT ARG`), killed when dropped.
pub struct BadPeer {
    child: Child,
    pub base: String,
}

impl BadPeer {
    pub fn start(mode: &str, arg: &str) -> Self {
        use std::io::BufRead;
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(manifest_dir().join("clients/bad_peer.py"))
            .args([mode, &port.to_string(), arg])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the bad peer");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("ready line");
        assert_eq!(line.trim(), "ready");
        BadPeer {
            child,
            base: format!("http://127.0.0.1:{port}/"),
        }
    }

    /// The object ids a scripted follower took (modes that record them).
    pub fn received(&self) -> Vec<String> {
        let list: serde_json::Value = reqwest::blocking::get(format!("{}received", self.base))
            .expect("GET /received")
            .json()
            .expect("json");
        list.as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for BadPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A worker of the seeded co-op (`seed`), with `extra` Turtle after its name.
pub fn add_worker(server: &Server, slug: &str, name: &str, extra: &str) {
    let r = server
        .write(reqwest::Method::POST, "/workers/")
        .header("Content-Type", "text/turtle")
        .header("Slug", slug)
        .body(format!(
            "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> .
             <> a schema:Person ; schema:name \"{name}\" ; schema:memberOf <{}> {extra} .",
            server.url("/coops/test-co-op")
        ))
        .send()
        .expect("POST worker");
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().unwrap_or_default()
    );
}
