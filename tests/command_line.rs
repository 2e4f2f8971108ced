//! The command line: tokens, validate, import and export.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, manifest_dir, parse, run};
use oxigraph::io::RdfFormat;

fn fixtures() -> std::path::PathBuf {
    manifest_dir().join("../fixtures")
}

#[test]
fn token_create_says_so_when_a_server_holds_the_store() {
    let server = Server::start();
    let output = run(&[
        "token",
        "create",
        "--admin",
        "--data",
        server.data.path().to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in use by another coopdir process"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn validate_accepts_the_demo_data_and_rejects_an_invalid_file() {
    let demo = fixtures().join("demo");
    let files: Vec<String> = ["taxonomy.ttl", "coops.ttl", "workers.ttl", "projects.ttl"]
        .iter()
        .map(|f| demo.join(f).to_str().unwrap().to_owned())
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let ok = run(&args);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ttl");
    std::fs::write(&bad, "<http://localhost/workers/x> a <http://schema.org/Person> ; <http://schema.org/hoursPerWeek> 3 .").unwrap();
    let out = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("bad.ttl") && stdout.contains("name is required"),
        "{stdout}"
    );
}

#[test]
fn export_then_import_into_an_empty_store_gives_the_same_data() {
    let mut server = Server::start_demo();
    server.stop();
    let data = server.data.path().to_str().unwrap().to_owned();
    let out_dir = tempfile::tempdir().unwrap();
    let exported = out_dir.path().join("export.nq");
    let export = run(&[
        "export",
        "--data",
        &data,
        "--output",
        exported.to_str().unwrap(),
    ]);
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );

    let fresh = tempfile::tempdir().unwrap();
    let fresh_path = fresh.path().to_str().unwrap().to_owned();
    let import = run(&[
        "import",
        "--data",
        &fresh_path,
        "--base-url",
        &server.base,
        exported.to_str().unwrap(),
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let reexported = out_dir.path().join("again.nq");
    assert!(
        run(&[
            "export",
            "--data",
            &fresh_path,
            "--output",
            reexported.to_str().unwrap()
        ])
        .status
        .success()
    );

    let a = std::fs::read_to_string(&exported).unwrap();
    let b = std::fs::read_to_string(&reexported).unwrap();
    let quads = |text: &str| -> oxigraph::model::Dataset {
        let mut d = oxigraph::model::Dataset::new();
        for q in oxigraph::io::RdfParser::from_format(RdfFormat::NQuads).for_slice(text.as_bytes())
        {
            d.insert(&q.unwrap());
        }
        d.canonicalize(oxigraph::model::dataset::CanonicalizationAlgorithm::Unstable);
        d
    };
    assert!(a.lines().count() > 3000, "the demo data was exported");
    assert_eq!(quads(&a), quads(&b));
    // Turtle export parses and holds the same triples.
    let turtle = run(&["export", "--data", &fresh_path, "--format", "turtle"]);
    let g = parse(
        &String::from_utf8(turtle.stdout).unwrap(),
        RdfFormat::Turtle,
        "http://localhost/",
    );
    assert!(g.len() > 3000);
}

#[test]
fn an_invalid_import_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("bad.ttl");
    std::fs::write(&file, "<http://127.0.0.1:8080/coops/a> a <http://schema.org/Organization> ; <http://schema.org/name> \"A\" .\n<http://127.0.0.1:8080/workers/b> a <http://schema.org/Person> .").unwrap();
    let out = run(&[
        "import",
        "--data",
        data.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing was imported") && stderr.contains("name is required"),
        "{stderr}"
    );
    let export = run(&["export", "--data", data.to_str().unwrap()]);
    assert!(
        export.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&export.stdout)
    );
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "coopdir failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn people_and_tokens_are_managed_from_the_command_line_with_the_server_stopped_or_running() {
    use coopdir_e2e::{PASSWORD, StatusCode, json, run_with_input};
    let mut server = Server::start_demo();
    let data = server.data.path().to_str().unwrap().to_owned();
    let base = server.base.clone();
    server.stop();

    // With the server stopped: straight on the data directory.
    let worker = stdout(&run_with_input(
        &[
            "user",
            "add",
            "--data",
            &data,
            "--base-url",
            &base,
            "--coop",
            "animorph",
            "--email",
            "Cli@Example.org",
            "--name",
            "Cli User",
            "--role",
            "coop-admin",
        ],
        &format!("{PASSWORD}\n"),
    ));
    assert_eq!(worker, format!("{base}workers/cli-user"));
    let list = stdout(&run(&["user", "list", "--data", &data]));
    assert!(list.contains("cli@example.org\tCli User\tactive"), "{list}");
    let token = stdout(&run(&[
        "token",
        "create",
        "--data",
        &data,
        "--user",
        "cli@example.org",
        "--name",
        "cli",
    ]));
    assert!(token.starts_with("cdp_") && !token.contains(char::is_whitespace));
    let invitation = stdout(&run(&[
        "invite",
        "--data",
        &data,
        "--base-url",
        &base,
        "--coop",
        "animorph",
        "new@example.org",
    ]));
    assert!(
        invitation.starts_with(&format!("{base}invitations/")),
        "{invitation}"
    );
    let weak = run_with_input(
        &[
            "user",
            "add",
            "--data",
            &data,
            "--base-url",
            &base,
            "--coop",
            "animorph",
            "--email",
            "w@example.org",
            "--name",
            "Wen Weak",
        ],
        "password\n",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    server.restart();
    let me = json(
        server
            .request(reqwest::Method::GET, "/account", Some(&token))
            .send()
            .unwrap(),
    );
    assert_eq!(me["worker"], worker);
    assert_eq!(
        me["roles"]["adminOf"],
        serde_json::json!([format!("{base}coops/animorph")])
    );
    assert_eq!(
        server.client().get(&invitation).send().unwrap().status(),
        StatusCode::OK
    );

    // With the server running, --data is refused with a pointer to --server…
    let locked = run_with_input(
        &[
            "user",
            "add",
            "--data",
            &data,
            "--coop",
            "animorph",
            "--email",
            "x@example.org",
            "--name",
            "X",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert!(!locked.status.success());
    assert!(String::from_utf8_lossy(&locked.stderr).contains("--server"));
    // …which does the same through the admin API.
    let remote = |args: &[&str], input: &str| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--server", base.as_str(), "--token", server.token.as_str()]);
        stdout(&run_with_input(&all, input))
    };
    let password = format!("{PASSWORD}\n");
    let worker = remote(
        &[
            "user",
            "add",
            "--coop",
            "animorph",
            "--email",
            "srv@example.org",
            "--name",
            "Srv User",
        ],
        &password,
    );
    assert_eq!(worker, format!("{base}workers/srv-user"));
    let srv_token = remote(&["token", "create", "--user", "srv@example.org"], "");
    assert_eq!(
        server
            .request(reqwest::Method::GET, "/account", Some(&srv_token))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let url = remote(&["invite", "--coop", "animorph", "other@example.org"], "");
    assert_eq!(
        server.client().get(&url).send().unwrap().status(),
        StatusCode::OK
    );
    remote(&["user", "disable", "srv@example.org"], "");
    assert_eq!(
        server
            .request(reqwest::Method::GET, "/account", Some(&srv_token))
            .send()
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED,
        "a disabled account's token stops at once"
    );
    let list = remote(&["user", "list"], "");
    assert!(
        list.contains("srv@example.org\tSrv User\tdisabled"),
        "{list}"
    );
    let audit = remote(&["audit", "--account", "cli@example.org"], "");
    assert!(
        audit.is_empty(),
        "cli@example.org made no change yet: {audit}"
    );
    let audit = remote(&["audit", "--resource", &worker], "");
    assert!(audit.contains("\tcreate\tworker\t"), "{audit}");
    // A bad token is a clear refusal.
    let refused = run(&["user", "list", "--server", &base, "--token", "cdt_nope"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
}

#[test]
fn a_server_without_any_admin_says_how_to_create_the_first_one() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(coopdir_e2e::coopdir_bin())
        .args([
            "serve",
            "--data",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("COOPDIR_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
        seen.push_str(&line);
        seen.push('\n');
        if seen.contains("token create --admin") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("No server admin exists yet"), "{seen}");
    assert!(seen.contains(&format!(
        "coopdir token create --admin --data {}",
        dir.path().display()
    )));
}

#[test]
fn a_backup_export_imported_into_an_empty_store_keeps_accounts_and_tokens() {
    use coopdir_e2e::{StatusCode, json};
    let mut server = Server::start_demo();
    let (worker, token) = server.add_person("animorph", "bea@example.org", "Bea Backup", "member");
    let data = server.data.path().to_str().unwrap().to_owned();
    server.stop();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup.nq");
    stdout(&run(&[
        "export",
        "--data",
        &data,
        "--backup",
        "--output",
        backup.to_str().unwrap(),
    ]));
    // Restore into the first server's data directory, emptied.
    std::fs::remove_dir_all(&data).unwrap();
    let out = run(&[
        "import",
        "--data",
        &data,
        "--base-url",
        &server.base,
        backup.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.restart();
    let me = json(
        server
            .request(reqwest::Method::GET, "/account", Some(&token))
            .send()
            .unwrap(),
    );
    assert_eq!(me["worker"], worker);
    assert_eq!(
        server
            .request(reqwest::Method::GET, "/workers/bea-backup", None)
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[test]
fn config_check_prints_the_effective_configuration_and_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("coopdir.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9999\"\npagesize = 10\npeer_timeout = \"soon\"\nmax_body_bytes = \"big\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let output = run(&["config", "check", "--config", file]);
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("unknown key pagesize (did you mean page_size?)"),
        "{errors}"
    );
    assert!(errors.contains("max_body_bytes = \"big\""), "{errors}");
    // `serve` refuses the same file, naming the same problems, and stores nothing.
    let data = dir.path().join("data");
    let serve = run(&["serve", "--config", file, "--data", data.to_str().unwrap()]);
    assert_eq!(serve.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("unknown key pagesize"));
    assert!(!data.exists());

    std::fs::write(
        dir.path().join("good.toml"),
        "listen = \"127.0.0.1:9999\"\npage_size = 10\n",
    )
    .unwrap();
    let good = dir.path().join("good.toml");
    let output = std::process::Command::new(coopdir_e2e::coopdir_bin())
        .args([
            "config",
            "check",
            "--config",
            good.to_str().unwrap(),
            "--page-size",
            "20",
        ])
        .env("COOPDIR_SESSION_DAYS", "3")
        .env("COOPDIR_PEER_TIMEOUT", "later")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("listen = \"127.0.0.1:9999\"  # file"),
        "{text}"
    );
    assert!(text.contains("page_size = 20  # flag"), "{text}");
    assert!(
        text.contains("session_days = 3  # COOPDIR_SESSION_DAYS"),
        "{text}"
    );
    assert!(
        text.contains("max_body_bytes = 1048576  # default"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("peer_timeout = \"later\""),
        "the variable's bad value is named"
    );
    let output = run(&["config", "check", "--config", good.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What it prints is itself a configuration file `config check` accepts.
    let printed = dir.path().join("printed.toml");
    std::fs::write(&printed, stdout(&output)).unwrap();
    let again = run(&["config", "check", "--config", printed.to_str().unwrap()]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let values = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split("  #").next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(values(stdout(&again)), values(stdout(&output)));
    assert!(stdout(&again).contains("page_size = 10  # file"));
}

#[test]
fn a_store_refuses_another_base_url_than_its_own() {
    let mut server = Server::start_demo();
    let data = server.data.path().to_str().unwrap().to_owned();
    let own = server.base.clone();
    server.stop();
    let other = "http://directory.example.org/";
    for args in [
        vec![
            "serve",
            "--data",
            &data,
            "--listen",
            "127.0.0.1:0",
            "--base-url",
            other,
        ],
        vec![
            "import",
            "--data",
            &data,
            "--base-url",
            other,
            "/dev/null.ttl",
        ],
        vec!["config", "check", "--data", &data, "--base-url", other],
    ] {
        let output = run(&args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let errors = String::from_utf8_lossy(&output.stderr);
        assert!(
            errors.contains(&own) && errors.contains(other),
            "{args:?} should name both base URLs: {errors}"
        );
    }
    // Without --base-url the store's own is used, whatever the listen address.
    let output = run(&["config", "check", "--data", &data]);
    assert!(
        stdout(&output).contains(&format!("minted under {own}")),
        "{}",
        stdout(&output)
    );
    server.start_again();
    let r = server.get("/coops/", "application/n-triples");
    assert!(
        r.text()
            .unwrap()
            .contains(&format!("<{own}coops/webarchitects>"))
    );
}
