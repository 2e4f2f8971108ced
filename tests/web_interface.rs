//! The web interface in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, through fantoccini) against a real coopdir on loopback. Every task runs
//! twice, with JavaScript on and off; axe-core (pinned in `tests/browser/package.json`)
//! checks the main pages; screenshots of them, in English and French, are saved under
//! `target/tmp/screenshots/`.

use coopdir_e2e::{PASSWORD, Server, free_port};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn screenshots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots folder");
    dir
}

fn axe_source() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `npm install --prefix tests/browser` (scripts/test does)",
            path.display()
        )
    })
}

/// One Chromium under its own chromedriver, killed on drop with its whole process group
/// (killing chromedriver alone leaves Chromium's processes running).
struct Browser {
    driver: Child,
    client: Client,
    base: String,
    js: bool,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start(base: &str, js: bool) -> Self {
        let chromedriver = find_program(&["chromedriver"]).expect(
            "chromedriver is missing: apt-get install chromium chromium-driver (scripts/test does)",
        );
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]).expect(
            "chromium is missing: apt-get install chromium chromium-driver (scripts/test does)",
        );
        let port = free_port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut prefs = json!({ "intl.accept_languages": "en-GB,en" });
        if !js {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,1100", "--lang=en-GB", "--no-first-run"],
                "prefs": prefs,
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("WebDriver session");
        Browser {
            driver,
            client,
            base: base.trim_end_matches('/').to_owned(),
            js,
        }
    }

    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let page = self.client.source().await.unwrap_or_default();
                panic!("no {css} on {}: {e}\n{page}", self.path().await)
            }
        }
    }

    async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .map(|v| v.is_empty())
            .unwrap_or(true)
    }

    /// The text of `css`, found again when a navigation replaced the element first.
    async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("{css} kept going stale on {}", self.path().await)
    }

    async fn value(&self, css: &str) -> String {
        for _ in 0..50 {
            match self.find(css).await.prop("value").await {
                Ok(value) => return value.unwrap_or_default(),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("{css} kept going stale on {}", self.path().await)
    }

    async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Types a skill; with JavaScript, picks it from the autocomplete list.
    async fn skill(&self, css: &str, text: &str) {
        self.fill(css, text).await;
        if self.js {
            let option = self
                .find(&format!(
                    "{css} ~ ul[role=listbox] li[data-label=\"{text}\"]"
                ))
                .await;
            option.click().await.expect("pick the skill");
            assert_eq!(self.value(css).await, text);
        }
    }

    async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Submits the form of the main content with its Save/submit button.
    async fn submit(&self, form: &str) {
        self.click(&format!("{form} button[type=submit]:not([name=more])"))
            .await;
    }

    /// Waits until the browser is on a page whose path (with query) satisfies `arrived`:
    /// a click on a submit button returns before the browser has left the form's page.
    async fn wait_for_path(&self, arrived: impl Fn(&str) -> bool) -> String {
        for _ in 0..100 {
            let path = self.path().await;
            if arrived(&path) {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("still on {} after 10 s", self.path().await)
    }

    async fn path(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
            Err(_) => String::new(),
        }
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(screenshots_dir().join(format!("{name}.png")), png)
            .expect("write screenshot");
    }

    /// axe-core's serious and critical violations on the current page.
    async fn accessibility_problems(&self, axe: &str) -> Vec<String> {
        self.client
            .execute(axe, vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(' | '))
                 )).catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        match result {
            Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => vec![format!("unexpected axe result {other}")],
        }
    }

    async fn login(&self, email: &str) {
        self.go("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.submit("main form").await;
        self.find(".account form[action=\"/logout\"]").await;
    }

    async fn logout(&self) {
        self.click(".account form[action=\"/logout\"] button").await;
        self.find(".account a[href^=\"/login\"]").await;
    }
}

struct People {
    member: (String, String),
    admin_email: String,
    server_admin_email: String,
}

/// A broad skill finds people through a narrower one; a result opens the profile.
async fn search_for_a_broad_skill(b: &Browser) {
    b.go("/").await;
    b.skill(".search-box #skill", "Software development").await;
    b.submit(".search-box").await;
    b.find(".hits").await;
    assert!(b.path().await.starts_with("/search?"), "{}", b.path().await);
    let count = b.text(".results .count").await;
    assert!(count.contains("match"), "{count}");
    let via = b.text(".hits .via").await;
    assert!(via.starts_with("through Software development"), "{via}");
    let name = b.text(".hits li h2 a").await;
    b.click(".hits li h2 a").await;
    assert_eq!(b.text("main h1").await, name);
    assert!(b.path().await.starts_with("/workers/"));
}

/// A member adds a skill with a level, changes availability, and finds themself.
async fn keep_a_profile_current(b: &Browser, email: &str, name: &str) {
    b.login(email).await;
    b.go("/account").await;
    b.click("a[href$=\"/edit\"]").await;
    assert!(b.path().await.ends_with("/edit"));
    b.skill("#skill-0", "Rust").await;
    b.select("#level-0", "expert").await;
    b.fill("#years-0", "4").await;
    b.select("#availability", "available").await;
    b.fill("#hoursPerWeek", "20").await;
    b.submit("main form").await;
    b.find(".notice").await;
    let profile = b.path().await;
    assert!(
        profile.starts_with("/workers/") && profile.ends_with("?saved=1"),
        "{profile}"
    );
    assert_eq!(b.text("main h1").await, name);
    assert!(b.text(".chips").await.contains("Rust expert"));
    // Found in a search for Rust by people free now.
    b.go("/search").await;
    b.skill(".filters #skill", "Rust").await;
    b.select("#available", "now").await;
    b.submit(".filters").await;
    b.wait_for_path(|p| p.contains("available=now")).await;
    let hits = b.text(".hits").await;
    assert!(hits.contains(name), "{name} not in {hits}");
}

/// An invalid profile form comes back with each error next to its field, input kept.
async fn invalid_form_keeps_the_input(b: &Browser) {
    b.go("/account").await;
    b.click("a[href$=\"/edit\"]").await;
    b.fill("#email", "not-an-email").await;
    b.fill("#skill-1", "Xyzzy weaving").await;
    b.submit("main form").await;
    let email_error = b.text("#email-error").await;
    assert!(!email_error.is_empty());
    assert_eq!(b.value("#email").await, "not-an-email");
    assert_eq!(
        b.find("#email")
            .await
            .attr("aria-invalid")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );
    assert!(
        b.text("#skill-1-error")
            .await
            .contains("No skill of that name")
    );
    assert_eq!(b.value("#skill-1").await, "Xyzzy weaving");
    // The skill saved before is still there, as typed.
    assert_eq!(b.value("#skill-0").await, "Rust");
    assert!(b.exists("div.error[role=alert]").await);
}

/// A member creates a project and, as its lead, sees candidates and a proposed team.
async fn run_a_project(b: &Browser, title: &str, member_name: &str) {
    b.go("/projects/new").await;
    b.fill("#name", title).await;
    b.select("#status", "open").await;
    b.skill("#skill-0", "Rust").await;
    b.select("#level-0", "expert").await;
    b.fill("#headcount-0", "2").await;
    b.submit("main form").await;
    b.find(".notice").await;
    assert_eq!(b.text("main h1").await, title);
    assert!(b.path().await.starts_with("/projects/"));
    b.find(".candidates figure svg").await;
    let team = b.text(".candidates ul.plain").await;
    assert!(
        team.contains("Rust"),
        "no one covers Rust in the team: {team}"
    );
    // The demo's one other Rust expert; the lead, on the project already, is not one.
    let candidates = b.text(".candidates .hits").await;
    assert!(candidates.contains("Ines Kowalski"), "{candidates}");
    assert!(!candidates.contains(member_name), "{candidates}");
    assert!(
        b.text("main .facts").await.contains(member_name),
        "the creator leads it"
    );
}

/// A co-op admin invites someone, who accepts and is logged in.
async fn invite_someone(b: &Browser, admin_email: &str, invitee: &str, invitee_name: &str) {
    b.login(admin_email).await;
    b.go("/coops/animorph/admin").await;
    b.fill("#email", invitee).await;
    b.submit("main form.form").await;
    let link = b.text("#invitation-link").await;
    assert!(link.contains("/invitations/"), "{link}");
    assert!(b.text("main table").await.contains(invitee));
    b.logout().await;
    b.client.goto(&link).await.expect("open the invitation");
    assert!(b.text("main").await.contains(invitee));
    b.fill("#name", invitee_name).await;
    b.fill("#password", "a long enough passphrase for me").await;
    b.submit("main form").await;
    b.find("#skill-0").await;
    assert!(b.path().await.ends_with("/edit"));
    assert!(b.text(".account").await.contains(invitee_name));
    b.logout().await;
    // And logs in again later with what they chose.
    b.go("/login").await;
    b.fill("#email", invitee).await;
    b.fill("#password", "a long enough passphrase for me").await;
    b.submit("main form").await;
    assert_eq!(b.wait_for_path(|p| p == "/account").await, "/account");
    assert!(b.text(".account").await.contains(invitee_name));
    b.logout().await;
}

/// The switch shows the interface in French, remembered; skill labels are French too.
async fn switch_to_french(b: &Browser) {
    b.go("/").await;
    b.select("#lang-switch", "fr").await;
    if !b.js {
        b.click("form.lang button").await;
    }
    b.find("html[lang=fr]").await;
    assert_eq!(
        b.text("main h1").await,
        "Trouvez avec qui travailler dans les coopératives"
    );
    b.go("/skills/software-development").await;
    assert_eq!(b.text("main h1").await, "Développement logiciel");
    assert!(b.text("header nav").await.contains("Trouver des personnes"));
    // Back to English for the next task.
    b.select("#lang-switch", "en").await;
    if !b.js {
        b.click("form.lang button").await;
    }
    b.find("html[lang=en]").await;
}

fn setup(server: &Server) -> People {
    let member_email = "rowan@example.org";
    server.add_person("animorph", member_email, "Rowan Browser", "member");
    server.add_person("animorph", "ines@example.org", "Ines Nojs", "member");
    let admin_email = "ada-admin@example.org";
    server.add_person("animorph", admin_email, "Ada Admin", "coop-admin");
    let server_admin_email = "sam@example.org";
    server.add_person(
        "co-op-web",
        server_admin_email,
        "Sam Server",
        "server-admin",
    );
    People {
        member: (member_email.to_owned(), "Rowan Browser".to_owned()),
        admin_email: admin_email.to_owned(),
        server_admin_email: server_admin_email.to_owned(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The demo server without the login rate limit: every task logs someone in or out, more
/// logins from one address than the default allows (that limit is tested in
/// operations.rs).
fn demo_server() -> Server {
    Server::start_with(&["--demo", "--logins-per-minute", "10000"])
}

#[test]
fn every_task_works_in_a_browser_with_javascript() {
    let server = demo_server();
    let people = setup(&server);
    let axe = axe_source();
    runtime().block_on(async {
        let b = Browser::start(&server.base, true).await;
        search_for_a_broad_skill(&b).await;
        keep_a_profile_current(&b, &people.member.0, &people.member.1).await;
        invalid_form_keeps_the_input(&b).await;
        run_a_project(&b, "Rust rewrite", &people.member.1).await;
        let project = b.path().await;

        // Screenshots and accessibility of the main pages, in English then French.
        let mut problems = Vec::new();
        let pages = [
            ("home", "/".to_owned()),
            ("search", "/search?skill=Software+development".to_owned()),
            ("profile", "/workers/rowan-browser".to_owned()),
            ("profile-edit", "/workers/rowan-browser/edit".to_owned()),
            ("coop", "/coops/animorph".to_owned()),
            (
                "project-lead",
                project.trim_end_matches("?saved=1").to_owned(),
            ),
            ("project-new", "/projects/new".to_owned()),
            ("skill", "/skills/software-development".to_owned()),
            ("insights", "/insights/skills".to_owned()),
            ("projects", "/projects/".to_owned()),
        ];
        for lang in ["en", "fr"] {
            if lang == "fr" {
                b.select("#lang-switch", "fr").await;
                b.find("html[lang=fr]").await;
            }
            for (name, path) in &pages {
                b.go(path).await;
                b.find("main h1").await;
                b.screenshot(&format!("{name}.{lang}")).await;
                if lang == "en" {
                    for p in b.accessibility_problems(&axe).await {
                        problems.push(format!("{path}: {p}"));
                    }
                }
            }
        }
        b.select("#lang-switch", "en").await;
        b.find("html[lang=en]").await;
        // On a phone's width: one column, nothing wider than the screen.
        b.client.set_window_size(390, 844).await.expect("resize");
        for (name, path) in [
            ("home", "/"),
            ("search", "/search?skill=Software+development"),
        ] {
            b.go(path).await;
            b.find("main h1").await;
            let overflow = b
                .client
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .expect("measure");
            assert!(
                overflow.as_i64().unwrap_or(1) <= 0,
                "{path} scrolls sideways on a phone: {overflow}"
            );
            b.screenshot(&format!("{name}.phone.en")).await;
        }
        b.client.set_window_size(1280, 1100).await.expect("resize");
        b.logout().await;
        for (name, path, who) in [
            ("login", "/login", None),
            (
                "coop-admin",
                "/coops/animorph/admin",
                Some(&people.admin_email),
            ),
            ("server-admin", "/admin", Some(&people.server_admin_email)),
        ] {
            if let Some(email) = who {
                b.login(email).await;
            }
            b.go(path).await;
            b.find("main h1").await;
            b.screenshot(&format!("{name}.en")).await;
            for p in b.accessibility_problems(&axe).await {
                problems.push(format!("{path}: {p}"));
            }
            if who.is_some() {
                b.logout().await;
            }
        }
        assert!(
            problems.is_empty(),
            "axe-core found:\n{}",
            problems.join("\n")
        );

        invite_someone(
            &b,
            &people.admin_email,
            "new-js@example.org",
            "Nadia Newcomer",
        )
        .await;
        switch_to_french(&b).await;
    });
}

#[test]
fn every_task_works_in_a_browser_without_javascript() {
    let server = demo_server();
    setup(&server);
    runtime().block_on(async {
        let b = Browser::start(&server.base, false).await;
        // No script ran: the autocomplete never wrapped the search box.
        b.go("/").await;
        assert!(!b.exists(".autocomplete").await);
        search_for_a_broad_skill(&b).await;
        keep_a_profile_current(&b, "ines@example.org", "Ines Nojs").await;
        invalid_form_keeps_the_input(&b).await;
        run_a_project(&b, "Plain HTML project", "Ines Nojs").await;
        b.logout().await;
        invite_someone(
            &b,
            "ada-admin@example.org",
            "new-nojs@example.org",
            "Noor Newcomer",
        )
        .await;
        switch_to_french(&b).await;
    });
}

/// Without a browser: the headers every page gets, pages free of inline script and
/// style (so the policy needs no `unsafe-inline`), cached assets, HTML errors, and forms
/// that refuse a forged or missing token and change nothing.
#[test]
fn pages_are_locked_down_and_forms_refuse_forgery() {
    let server = demo_server();
    server.add_person("animorph", "tess@example.org", "Tess Token", "member");
    let html = "text/html,application/xhtml+xml";
    let r = server.get("/", html);
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["referrer-policy"], "same-origin");
    assert!(
        r.headers()["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("page;dur=")
    );
    let page = r.text().unwrap();
    for path in [
        "/",
        "/search?skill=Python",
        "/workers/ada-okafor",
        "/skills/python",
        "/insights/skills",
        "/login",
    ] {
        let body = server.get(path, html).text().unwrap();
        assert!(
            !body.contains(" style=\"") && !body.contains("<style"),
            "{path} has inline style"
        );
        for script in body.split("<script").skip(1) {
            assert!(
                script.trim_start().starts_with("src="),
                "{path} has an inline script"
            );
        }
        assert!(
            !body.contains("http://cdn") && !body.contains("https://cdn"),
            "{path} loads from a CDN"
        );
    }
    // Assets: content-hashed names, cached for a year; an old hash is gone.
    let css = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap_or_default())
        .find(|h| h.starts_with("/assets/app.") && h.ends_with(".css"))
        .expect("stylesheet link")
        .to_owned();
    let r = server.get(&css, "*/*");
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        server.get("/assets/app.0000.css", "*/*").status(),
        reqwest::StatusCode::NOT_FOUND
    );
    // Errors are pages too, with the API's status.
    let r = server.get("/workers/nobody-here", html);
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().unwrap().contains("Not found"));

    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A login form without the form cookie's token is refused.
    let r = no_redirects
        .post(server.url("/login"))
        .header("Accept", html)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=tess%40example.org&password=correct+horse+battery+staple&csrf=forged")
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(
        r.headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().contains("coopdir_session"))
    );
    // A profile form with a real session but a forged token changes nothing.
    let session = server.login("tess@example.org", PASSWORD);
    let before = server
        .get("/workers/tess-token", "application/n-triples")
        .text()
        .unwrap();
    for token in ["forged", ""] {
        let r = no_redirects
            .post(server.url("/workers/tess-token/edit"))
            .header("Accept", html)
            .header("Cookie", &session.cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("csrf={token}&name=Hacked&rows=0"))
            .send()
            .unwrap();
        assert_eq!(
            r.status(),
            reqwest::StatusCode::FORBIDDEN,
            "token {token:?}"
        );
    }
    let after = server
        .get("/workers/tess-token", "application/n-triples")
        .text()
        .unwrap();
    assert_eq!(before, after);
    // The right token saves and redirects (post/redirect/get).
    let r = no_redirects
        .post(server.url("/workers/tess-token/edit"))
        .header("Accept", html)
        .header("Cookie", &session.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&name=Tess+Token&jobTitle=Tester&rows=0",
            session.csrf
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/workers/tess-token?saved=1");
    let saved = server
        .get("/workers/tess-token", "application/n-triples")
        .text()
        .unwrap();
    assert!(saved.contains("\"Tester\""), "{saved}");
    // Someone else may not edit it, token or not.
    server.add_person("animorph", "uma@example.org", "Uma Other", "member");
    let other = server.login("uma@example.org", PASSWORD);
    let r = no_redirects
        .post(server.url("/workers/tess-token/edit"))
        .header("Accept", html)
        .header("Cookie", &other.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&name=Hacked&rows=0", other.csrf))
        .send()
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(
        saved,
        server
            .get("/workers/tess-token", "application/n-triples")
            .text()
            .unwrap()
    );
}
