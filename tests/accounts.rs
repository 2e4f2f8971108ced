//! People and their accounts end to end: invitations, sessions, personal tokens, editing
//! one's own profile, projects, visibility in listings, the audit trail, throttled logins,
//! and secrets that never leak.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{PASSWORD, Server, Session, StatusCode, json, run};
use reqwest::Method;
use serde_json::json;

const DIR: &str = "https://w3id.org/coopdir#";
const SCHEMA: &str = "http://schema.org/";

fn problem(r: coopdir_e2e::Response) -> (StatusCode, String) {
    let status = r.status();
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    (
        status,
        json(r)["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

fn sparql(server: &Server, session: &Session, path: &str, update: &str) -> coopdir_e2e::Response {
    server
        .with_session(Method::PATCH, path, session)
        .header("Content-Type", "application/sparql-update")
        .body(update.to_owned())
        .send()
        .unwrap()
}

#[test]
fn an_invited_person_joins_edits_their_profile_runs_a_project_and_logs_out() {
    let server = Server::start_demo();
    server.add_person(
        "webarchitects",
        "chris@example.org",
        "Chris Admin",
        "coop-admin",
    );
    let admin = server.login("chris@example.org", PASSWORD);

    // A cookie-authenticated write without the CSRF token is refused.
    let r = server
        .client()
        .post(server.url("/coops/webarchitects/invitations"))
        .header("Cookie", &admin.cookie)
        .json(&json!({ "email": "nia@example.org" }))
        .send()
        .unwrap();
    assert_eq!(problem(r).0, StatusCode::FORBIDDEN);
    // With it, the co-op admin invites.
    let r = server
        .with_session(Method::POST, "/coops/webarchitects/invitations", &admin)
        .json(&json!({ "email": "nia@example.org" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r)["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&server.url("/invitations/")));
    // Someone else's co-op: not theirs to invite to.
    let r = server
        .with_session(Method::POST, "/coops/animorph/invitations", &admin)
        .json(&json!({ "email": "nia@example.org" }))
        .send()
        .unwrap();
    assert_eq!(problem(r).0, StatusCode::FORBIDDEN);

    let r = server.client().get(&url).send().unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let about = json(r);
    assert_eq!(about["email"], "nia@example.org");
    assert_eq!(about["coop"], server.url("/coops/webarchitects"));
    // A common password is refused, and the invitation stays usable.
    let r = server
        .client()
        .post(&url)
        .json(&json!({ "name": "Nia New", "password": "password1234" }))
        .send()
        .unwrap();
    let (status, detail) = problem(r);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(detail.contains("too easy to guess"), "{detail}");
    // Accepted with a form, as a browser without JavaScript sends it.
    let r = server
        .client()
        .post(&url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Nia+New&password=violet+kettle+harbour+drum")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let worker = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(worker, server.url("/workers/nia-new"));
    let nia = Session::from_response(r);
    // Single use.
    let r = server
        .client()
        .post(&url)
        .json(&json!({ "name": "Nia Again", "password": "violet kettle harbour drum" }))
        .send()
        .unwrap();
    assert_eq!(problem(r).0, StatusCode::NOT_FOUND);

    let me = json(
        server
            .with_session(Method::GET, "/account", &nia)
            .send()
            .unwrap(),
    );
    assert_eq!(me["worker"], worker);
    assert_eq!(
        me["roles"]["memberOf"],
        json!([server.url("/coops/webarchitects")])
    );

    // Editing one's own profile: a skill with a level, availability, visibility.
    let r = sparql(
        &server,
        &nia,
        "/workers/nia-new",
        &format!(
            "PREFIX dir: <{DIR}> DELETE {{ <> dir:visibility ?v }} INSERT {{ <> dir:hasSkill [ dir:skill <{}> ; dir:level \"expert\" ] ; dir:availability \"partly\" ; dir:visibility \"members\" }} WHERE {{ <> dir:visibility ?v }}",
            server.url("/skills/rust")
        ),
    );
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().unwrap());
    let profile = json(
        server
            .with_session(Method::GET, "/workers/nia-new", &nia)
            .send()
            .unwrap(),
    );
    assert_eq!(profile["availability"], "partly");
    assert_eq!(profile["visibility"], "members");
    assert_eq!(profile["knowsAbout"], json!([server.url("/skills/rust")]));
    assert_eq!(
        profile["email"], "nia@example.org",
        "she sees her own address"
    );
    // Members-only now: anonymous readers get a 404.
    assert_eq!(
        server
            .get("/workers/nia-new", "application/ld+json")
            .status(),
        StatusCode::NOT_FOUND
    );

    // Not someone else's profile, and not another co-op.
    let r = sparql(
        &server,
        &nia,
        "/workers/ada-okafor",
        &format!("PREFIX schema: <{SCHEMA}> INSERT DATA {{ <> schema:jobTitle \"Hacked\" }}"),
    );
    assert_eq!(problem(r).0, StatusCode::FORBIDDEN);
    let r = sparql(
        &server,
        &nia,
        "/workers/nia-new",
        &format!(
            "PREFIX schema: <{SCHEMA}> INSERT DATA {{ <> schema:memberOf <{}> }}",
            server.url("/coops/animorph")
        ),
    );
    let (status, detail) = problem(r);
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(detail.contains("admins"), "{detail}");
    let animorph = server.graph("/coops/animorph");
    assert!(
        !format!("{animorph}").contains("nia-new"),
        "the co-op did not gain her"
    );

    // A project she creates is hers to lead; she adds a member to it.
    let r = server
        .with_session(Method::POST, "/projects/", &nia)
        .header("Content-Type", "text/turtle")
        .body(format!(
            "@prefix schema: <{SCHEMA}> . @prefix dir: <{DIR}> . <> a schema:Project ; schema:name \"Nia's Project\" ; dir:status \"open\" ."
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    let project = r.headers()["location"].to_str().unwrap().to_owned();
    let path = project.replace(&server.base, "/");
    let doc = json(
        server
            .with_session(Method::GET, &path, &nia)
            .send()
            .unwrap(),
    );
    assert_eq!(doc["lead"], worker);
    // Her profile is members-only now, so anonymous readers do not learn she leads it.
    let doc = json(server.get(&path, "application/ld+json"));
    assert!(doc.get("lead").is_none(), "{doc}");
    let r = sparql(
        &server,
        &nia,
        &path,
        &format!(
            "PREFIX schema: <{SCHEMA}> INSERT DATA {{ <> schema:member <{}> }}",
            server.url("/workers/ada-okafor")
        ),
    );
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().unwrap());
    let ada = json(server.get("/workers/ada-okafor", "application/ld+json"));
    assert!(
        ada["memberOf"]
            .as_array()
            .unwrap()
            .contains(&json!(project)),
        "the team member's profile lists the project: {ada}"
    );

    // A personal token works until it is revoked.
    let r = server
        .with_session(Method::POST, "/account/tokens", &nia)
        .json(&json!({ "name": "laptop", "expiresInDays": 30 }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = json(r);
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let listed = json(
        server
            .with_session(Method::GET, "/account/tokens", &nia)
            .send()
            .unwrap(),
    );
    assert_eq!(listed["items"][0]["name"], "laptop");
    assert!(
        listed["items"][0].get("token").is_none(),
        "a token is shown once"
    );
    assert_eq!(
        server
            .request(Method::GET, "/account", Some(&token))
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let r = server
        .with_session(Method::DELETE, &format!("/account/tokens/{id}"), &nia)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        problem(
            server
                .request(Method::GET, "/account", Some(&token))
                .send()
                .unwrap()
        )
        .0,
        StatusCode::UNAUTHORIZED
    );

    // Changing the password ends her other sessions, keeps this one, and needs the old one.
    let other = server.login("nia@example.org", "violet kettle harbour drum");
    let change = |current: &str| {
        server
            .with_session(Method::POST, "/account/password", &nia)
            .json(&json!({ "currentPassword": current, "newPassword": "saffron tundra pylon quartz" }))
            .send()
            .unwrap()
    };
    assert_eq!(problem(change("not it")).0, StatusCode::FORBIDDEN);
    assert_eq!(
        change("violet kettle harbour drum").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server
            .with_session(Method::GET, "/account", &other)
            .send()
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    server.login("nia@example.org", "saffron tundra pylon quartz");

    // Logging out ends the session.
    let r = server
        .with_session(Method::POST, "/logout", &nia)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        server
            .with_session(Method::GET, "/account", &nia)
            .send()
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .get("/workers/nia-new", "application/ld+json")
            .status(),
        StatusCode::NOT_FOUND,
        "the old cookie no longer shows members-only data"
    );

    // The session cookie is what a browser needs, and no more.
    assert!(nia.set_cookie.contains("HttpOnly") && nia.set_cookie.contains("SameSite=Lax"));
    assert!(!nia.set_cookie.contains("Secure"), "http base URL");
}

#[test]
fn an_expired_invitation_gets_the_same_answer_as_one_that_never_existed() {
    let server = Server::start_with(&["--demo", "--invitation-days", "0"]);
    let r = server
        .write(Method::POST, "/coops/animorph/invitations")
        .json(&json!({ "email": "late@example.org" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r)["url"].as_str().unwrap().to_owned();
    let expired = problem(server.client().get(&url).send().unwrap());
    let made_up = problem(
        server
            .client()
            .get(server.url(&format!("/invitations/cdi_{}", "0".repeat(64))))
            .send()
            .unwrap(),
    );
    assert_eq!(expired.0, StatusCode::NOT_FOUND);
    assert_eq!(expired, made_up);
    let r = server
        .client()
        .post(&url)
        .json(&json!({ "name": "Late Comer", "password": "violet kettle harbour drum" }))
        .send()
        .unwrap();
    assert_eq!(problem(r), made_up);
    assert_eq!(
        server.get("/workers/late-comer", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
}

fn members(server: &Server, token: Option<&str>) -> Vec<String> {
    let r = server
        .request(Method::GET, "/workers/?size=2", token)
        .header("Accept", "application/ld+json")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    let first = json(r);
    let mut names: Vec<String> = Vec::new();
    let mut doc = first;
    let mut link = link;
    loop {
        for m in doc["contains"].as_array().cloned().unwrap_or_default() {
            names.push(m["name"].as_str().unwrap_or_default().to_owned());
        }
        let Some(next) = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| {
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            })
        else {
            break;
        };
        let r = server
            .client()
            .get(&next)
            .header("Accept", "application/ld+json");
        let r = match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
        .send()
        .unwrap();
        link = r.headers()["link"].to_str().unwrap().to_owned();
        doc = json(r);
    }
    names.sort();
    names
}

#[test]
fn listings_counts_and_contact_details_follow_each_workers_visibility() {
    let server = Server::start();
    for name in ["Alpha", "Beta"] {
        let r = server.post(
            "/coops/",
            "text/turtle",
            &format!(
                "@prefix schema: <{SCHEMA}> . <> a schema:Organization ; schema:name \"{name}\" ."
            ),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    for (name, visibility, contact) in [
        ("Pia Public", "public", false),
        ("Cole Contact", "public", true),
        ("Mo Members", "members", false),
        ("Pri Private", "private", false),
    ] {
        let r = server.post(
            "/workers/",
            "text/turtle",
            &format!(
                "@prefix schema: <{SCHEMA}> . @prefix dir: <{DIR}> . <> a schema:Person ; schema:name \"{name}\" ; schema:email \"{}@example.org\" ; schema:memberOf <{}> ; dir:visibility \"{visibility}\" ; dir:publicContact {contact} .",
                name.split(' ').next().unwrap().to_lowercase(),
                server.url("/coops/alpha")
            ),
        );
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
    }
    let (_, alpha_member) = server.add_person("alpha", "al@example.org", "Al Alpha", "member");
    let (_, beta_member) = server.add_person("beta", "bo@example.org", "Bo Beta", "member");

    assert_eq!(
        members(&server, None),
        ["Al Alpha", "Bo Beta", "Cole Contact", "Pia Public"]
    );
    assert_eq!(
        members(&server, Some(&beta_member)),
        [
            "Al Alpha",
            "Bo Beta",
            "Cole Contact",
            "Mo Members",
            "Pia Public"
        ]
    );
    assert_eq!(
        members(&server, Some(&alpha_member)),
        [
            "Al Alpha",
            "Bo Beta",
            "Cole Contact",
            "Mo Members",
            "Pia Public",
            "Pri Private"
        ]
    );
    assert_eq!(members(&server, Some(&server.token)).len(), 6);
    // The last page's number counts only what the reader sees (2 per page).
    let last = |token: Option<&str>| {
        let r = server
            .request(Method::GET, "/workers/?size=2", token)
            .send()
            .unwrap();
        r.headers()["link"]
            .to_str()
            .unwrap()
            .split(", ")
            .find(|l| l.ends_with("rel=\"last\""))
            .unwrap()
            .to_owned()
    };
    assert!(last(None).contains("page=2"), "{}", last(None));
    assert!(last(Some(&alpha_member)).contains("page=3"));

    // Contact details: logged-in readers, or anyone when the person opts in.
    let anonymous = json(server.get("/workers/pia-public", "application/ld+json"));
    assert!(anonymous.get("email").is_none(), "{anonymous}");
    let opted_in = json(server.get("/workers/cole-contact", "application/ld+json"));
    assert_eq!(opted_in["email"], "cole@example.org");
    let member_view = json(
        server
            .request(Method::GET, "/workers/pia-public", Some(&beta_member))
            .send()
            .unwrap(),
    );
    assert_eq!(member_view["email"], "pia@example.org");
    assert_eq!(
        server
            .request(Method::GET, "/workers/pri-private", Some(&beta_member))
            .send()
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // The co-op's own list of members is no back door: links to people a reader may not
    // see are left out of it.
    let coop_members = |token: Option<&str>| -> Vec<String> {
        let doc = json(
            server
                .request(Method::GET, "/coops/alpha", token)
                .send()
                .unwrap(),
        );
        let mut m: Vec<String> = doc["member"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().rsplit('/').next().unwrap().to_owned())
            .collect();
        m.sort();
        m
    };
    assert_eq!(
        coop_members(None),
        ["al-alpha", "cole-contact", "pia-public"]
    );
    assert_eq!(
        coop_members(Some(&alpha_member)),
        [
            "al-alpha",
            "cole-contact",
            "mo-members",
            "pia-public",
            "pri-private"
        ]
    );

    // A public export holds what an anonymous reader sees, and nothing else.
    let mut server = server;
    server.stop();
    let out = run(&[
        "export",
        "--public",
        "--data",
        server.data.path().to_str().unwrap(),
        "--base-url",
        &server.base,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export = String::from_utf8(out.stdout).unwrap();
    assert!(export.contains("workers/pia-public") && export.contains("cole@example.org"));
    for hidden in [
        "mo-members",
        "pri-private",
        "pia@example.org",
        "al@example.org",
        "urn:coopdir:",
    ] {
        assert!(!export.contains(hidden), "the public export shows {hidden}");
    }
}

#[test]
fn the_audit_trail_says_who_changed_what_and_filters_by_resource_and_account() {
    let server = Server::start_demo();
    let (worker, token) = server.add_person("animorph", "tess@example.org", "Tess Trail", "member");
    let path = worker.replace(&server.base, "/");
    for update in [
        format!("PREFIX schema: <{SCHEMA}> INSERT DATA {{ <> schema:jobTitle \"Designer\" }}"),
        format!(
            "PREFIX schema: <{SCHEMA}> DELETE {{ <> schema:jobTitle ?t }} INSERT {{ <> schema:jobTitle \"Lead designer\" }} WHERE {{ <> schema:jobTitle ?t }}"
        ),
    ] {
        let r = server
            .request(Method::PATCH, &path, Some(&token))
            .header("Content-Type", "application/sparql-update")
            .body(update)
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().unwrap());
    }
    // Members may not read the trail.
    assert_eq!(
        server
            .request(Method::GET, "/admin/audit", Some(&token))
            .send()
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let by_resource = json(
        server
            .request(
                Method::GET,
                &format!("/admin/audit?resource={worker}"),
                Some(&server.token),
            )
            .send()
            .unwrap(),
    );
    let items = by_resource["items"].as_array().unwrap();
    let ops: Vec<&str> = items
        .iter()
        .map(|i| i["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["patch", "patch", "create"],
        "newest first: {by_resource}"
    );
    assert_eq!(items[0]["actor"]["kind"], "token");
    assert_eq!(items[0]["accountEmail"], "tess@example.org");
    assert_eq!(items[2]["actor"]["kind"], "admin-token");
    let seqs: Vec<u64> = items.iter().map(|i| i["seq"].as_u64().unwrap()).collect();
    assert!(seqs[0] > seqs[1] && seqs[1] > seqs[2]);

    let by_account = json(
        server
            .request(
                Method::GET,
                "/admin/audit?account=tess@example.org&limit=1",
                Some(&server.token),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(by_account["items"].as_array().unwrap().len(), 1);
    assert_eq!(by_account["items"][0]["resource"], worker);
    let next = by_account["next"].as_str().expect("a next page").to_owned();
    let older = json(
        server
            .request(Method::GET, &next, Some(&server.token))
            .send()
            .unwrap(),
    );
    assert_eq!(older["items"][0]["seq"].as_u64().unwrap(), seqs[1]);
    // The co-op changed too when she joined (it gained a member): logged as a side effect.
    let coop = json(
        server
            .request(
                Method::GET,
                &format!("/admin/audit?resource={}", server.url("/coops/animorph")),
                Some(&server.token),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(coop["items"][0]["operation"], "patch");
    // Unknown parameters are named.
    let (status, detail) = problem(
        server
            .request(Method::GET, "/admin/audit?who=me", Some(&server.token))
            .send()
            .unwrap(),
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(detail.contains("who"));
}

#[test]
fn failed_logins_are_throttled_and_an_unknown_address_looks_like_a_wrong_password() {
    let server = Server::start_demo();
    server.add_person("animorph", "kim@example.org", "Kim Key", "member");
    let attempt = |email: &str, password: &str| {
        server
            .client()
            .post(server.url("/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .unwrap()
    };
    let wrong = problem(attempt("kim@example.org", "not the password"));
    let unknown = problem(attempt("nobody@example.org", "not the password"));
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong, unknown);
    for _ in 0..4 {
        assert_eq!(
            attempt("kim@example.org", "still wrong").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Five failures: even the right password waits now.
    let r = attempt("kim@example.org", PASSWORD);
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 900, "{retry}");
    // Another account is not locked out by Kim's failures.
    server.add_person("animorph", "lou@example.org", "Lou Lock", "member");
    let r = attempt("lou@example.org", PASSWORD);
    assert_eq!(r.status(), StatusCode::OK);
    let lou = Session::from_response(r);
    // Disabling an account ends its sessions at once, and it cannot log in again.
    let r = server
        .write(Method::POST, "/admin/users/lou@example.org/disable")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        server
            .with_session(Method::GET, "/account", &lou)
            .send()
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, detail) = problem(attempt("lou@example.org", PASSWORD));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(detail.contains("disabled"), "{detail}");

    // A weak password is refused when an account is made.
    let r = server
        .write(Method::POST, "/admin/users")
        .json(&json!({ "coop": "animorph", "email": "weak@example.org", "name": "Wes Weak", "password": "qwerty123456" }))
        .send()
        .unwrap();
    assert_eq!(problem(r).0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        server.get("/workers/wes-weak", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
}

#[test]
fn passwords_tokens_and_session_ids_never_appear_in_logs_exports_audit_records_or_responses() {
    let mut server = Server::start_logged(&["--demo"]);
    let password = "amber lantern quietly folds";
    let r = server
        .write(Method::POST, "/admin/users")
        .json(&json!({ "coop": "animorph", "email": "sam@example.org", "name": "Sam Secret", "password": password }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let session = server.login("sam@example.org", password);
    let session_id = session.cookie.split('=').nth(1).unwrap().to_owned();
    let r = server
        .with_session(Method::POST, "/account/tokens", &session)
        .json(&json!({ "name": "ci" }))
        .send()
        .unwrap();
    let token = json(r)["token"].as_str().unwrap().to_owned();
    let r = server
        .write(Method::POST, "/coops/animorph/invitations")
        .json(&json!({ "email": "ivy@example.org" }))
        .send()
        .unwrap();
    let url = json(r)["url"].as_str().unwrap().to_owned();
    let invitation = url.rsplit('/').next().unwrap().to_owned();
    let second_password = "pebble orchard violin seven";
    let r = server
        .client()
        .post(&url)
        .json(&json!({ "name": "Ivy Invited", "password": second_password }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // A wrong password is logged as a failure, without the attempt.
    let wrong = "wrong guess tried here";
    let _ = server
        .client()
        .post(server.url("/login"))
        .json(&json!({ "email": "sam@example.org", "password": wrong }))
        .send()
        .unwrap();

    let mut seen = String::new();
    for path in [
        "/account",
        "/account/tokens",
        "/admin/users",
        "/admin/audit?limit=1000",
    ] {
        let r = server
            .request(Method::GET, path, Some(&server.token))
            .send()
            .unwrap();
        seen.push_str(&r.text().unwrap());
        let r = server
            .with_session(Method::GET, path, &session)
            .send()
            .unwrap();
        seen.push_str(&r.text().unwrap());
    }
    let audit = json(
        server
            .request(Method::GET, "/admin/audit?limit=1000", Some(&server.token))
            .send()
            .unwrap(),
    );
    assert!(audit["items"].as_array().unwrap().len() > 10, "{audit}");
    server.stop();

    let data = server.data.path().to_str().unwrap().to_owned();
    let export = run(&["export", "--data", &data]);
    let backup = run(&["export", "--data", &data, "--backup"]);
    assert!(export.status.success() && backup.status.success());
    let export = String::from_utf8(export.stdout).unwrap();
    let backup = String::from_utf8(backup.stdout).unwrap();
    assert!(!export.contains("urn:coopdir:"), "accounts are not data");
    assert!(backup.contains("urn:coopdir:accountData") && backup.contains("$argon2id$"));
    let log = std::fs::read_to_string(server.log.as_ref().unwrap()).unwrap();
    assert!(
        log.contains("logged in") && log.contains("failed login"),
        "the log is at debug level"
    );
    for secret in [
        password,
        second_password,
        wrong,
        &token,
        &session_id,
        &invitation,
        &token[4..],
        &session_id[4..],
    ] {
        for (name, text) in [
            ("log", &log),
            ("export", &export),
            ("backup", &backup),
            ("responses", &seen),
        ] {
            assert!(
                !text.contains(secret),
                "{name} holds a secret ({}…)",
                &secret[..6]
            );
        }
    }
}

#[test]
fn the_login_form_works_from_our_own_pages_only() {
    let server = Server::start_demo();
    server.add_person("animorph", "fay@example.org", "Fay Form", "member");
    let form = format!(
        "email=fay%40example.org&password={}",
        PASSWORD.replace(' ', "+")
    );
    let post = |origin: Option<&str>| {
        let mut r = server
            .client()
            .post(server.url("/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.clone());
        if let Some(origin) = origin {
            r = r.header("Origin", origin);
        }
        r.send().unwrap()
    };
    let ours = server.base.trim_end_matches('/').to_owned();
    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirects
        .post(server.url("/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", &ours)
        .body(form.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/account");
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // The cookie signs in later requests from our pages, not from another site's.
    let me = |origin: &str| {
        server
            .client()
            .get(server.url("/account"))
            .header("Cookie", &cookie)
            .header("Origin", origin)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(me(&ours), StatusCode::OK);
    assert_eq!(me("https://evil.example.org"), StatusCode::UNAUTHORIZED);
    let (status, _) = problem(post(Some("https://evil.example.org")));
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A minimal SMTP receiver on loopback: accepts one message and hands it over.
fn smtp_sink() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut out = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream);
        let mut say = |text: &str| out.write_all(format!("{text}\r\n").as_bytes()).unwrap();
        say("220 sink ready");
        let mut message = String::new();
        let mut in_data = false;
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    say("250 queued");
                    // The relay client keeps its connection open for the next message.
                    let _ = tx.send(std::mem::take(&mut message));
                } else {
                    message.push_str(&line);
                }
            } else {
                let command = line.to_ascii_uppercase();
                if command.starts_with("EHLO") || command.starts_with("HELO") {
                    say("250 sink");
                } else if command.starts_with("DATA") {
                    in_data = true;
                    say("354 go on");
                } else if command.starts_with("QUIT") {
                    say("221 bye");
                    break;
                } else {
                    message.push_str(&line);
                    say("250 ok");
                }
            }
            line.clear();
        }
    });
    (port, rx)
}

#[test]
fn an_invitation_link_is_e_mailed_when_an_smtp_relay_is_configured() {
    let (port, received) = smtp_sink();
    let relay = format!("smtp://127.0.0.1:{port}");
    let server = Server::start_with(&[
        "--demo",
        "--smtp-url",
        &relay,
        "--smtp-from",
        "Directory <dir@example.org>",
    ]);
    let r = server
        .write(Method::POST, "/coops/animorph/invitations")
        .json(&json!({ "email": "mail@example.org" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = json(r)["url"].as_str().unwrap().to_owned();
    let message = received
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the relay got a message");
    assert!(message.contains("RCPT TO:<mail@example.org>"), "{message}");
    assert!(message.contains("MAIL FROM:<dir@example.org>"), "{message}");
    // Long lines may be folded by the mail encoding; the link is there unfolded or not.
    let unfolded = message.replace("=\r\n", "").replace("\r\n", "");
    assert!(unfolded.contains(&url), "{message}");
}

#[test]
fn a_members_new_skill_waits_for_a_server_admin_to_accept_or_reject_it() {
    let server = Server::start_demo();
    let (_, member) = server.add_person("animorph", "pat@example.org", "Pat Propose", "member");
    let propose = |label: &str| {
        let r = server
            .request(Method::POST, "/skills/", Some(&member))
            .header("Content-Type", "text/turtle")
            .body(format!(
                "<> a <http://www.w3.org/2004/02/skos/core#Concept> ; <http://www.w3.org/2004/02/skos/core#prefLabel> \"{label}\"@en ."
            ))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        (location, json(r)["id"].as_str().unwrap().to_owned())
    };
    let (location, gleam) = propose("Gleam");
    let (_, _unison) = propose("Unison");
    assert_eq!(
        server.get("/skills/gleam", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
    // An invalid skill is refused at once, not kept.
    let r = server
        .request(Method::POST, "/skills/", Some(&member))
        .header("Content-Type", "text/turtle")
        .body("<> a <http://www.w3.org/2004/02/skos/core#Concept> .")
        .send()
        .unwrap();
    assert_eq!(problem(r).0, StatusCode::UNPROCESSABLE_ENTITY);

    let mine = json(
        server
            .request(Method::GET, "/account/skill-proposals", Some(&member))
            .send()
            .unwrap(),
    );
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        server
            .request(
                Method::GET,
                &location.replace(&server.base, "/"),
                Some(&member)
            )
            .send()
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Only server admins decide.
    let accept = format!("/admin/skill-proposals/{gleam}/accept");
    assert_eq!(
        problem(
            server
                .request(Method::POST, &accept, Some(&member))
                .send()
                .unwrap()
        )
        .0,
        StatusCode::FORBIDDEN
    );
    let r = server.write(Method::POST, &accept).send().unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let skill = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(skill, server.url("/skills/gleam"));
    let doc = json(server.get("/skills/gleam", "application/ld+json"));
    assert_eq!(doc["prefLabel"]["en"], "Gleam");
    let all = json(
        server
            .write(Method::GET, "/admin/skill-proposals")
            .send()
            .unwrap(),
    );
    let left: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert_eq!(left, ["Unison"]);
    let unison = all["items"][0]["id"].as_str().unwrap().to_owned();
    let r = server
        .write(
            Method::POST,
            &format!("/admin/skill-proposals/{unison}/reject"),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let all = json(
        server
            .write(Method::GET, "/admin/skill-proposals")
            .send()
            .unwrap(),
    );
    assert!(all["items"].as_array().unwrap().is_empty());
    assert_eq!(
        server.get("/skills/unison", "text/turtle").status(),
        StatusCode::NOT_FOUND
    );
    // Both decisions are in the audit trail.
    let audit = json(
        server
            .write(
                Method::GET,
                &format!("/admin/audit?resource=urn:coopdir:skill-proposal:{gleam}"),
            )
            .send()
            .unwrap(),
    );
    let ops: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["operation"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["delete", "create"]);
}
