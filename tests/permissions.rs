//! The permission matrix: every principal × every operation × every kind of resource, with
//! the exact status the rules in `crates/coopdir-access/src/policy.rs` give. Each row works
//! on fresh resources, and every refused write is checked to have changed nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use coopdir_e2e::{Server, StatusCode};
use reqwest::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// A member of the co-op the target workers belong to (alpha).
    MemberSameCoop,
    /// A member of another co-op (beta).
    MemberOtherCoop,
    /// An admin of alpha (and of every target co-op).
    CoopAdmin,
    /// The lead of every target project (a member of beta).
    ProjectLead,
    ServerAdmin,
    /// A member of alpha whose account was disabled (using a token made before).
    DisabledAccount,
    /// A member of alpha using a token that was revoked.
    RevokedToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Coop,
    PublicWorker,
    MembersOnlyWorker,
    PrivateWorker,
    /// The principal's own worker resource (their profile).
    OwnWorker,
    Skill,
    Project,
}

/// Statuses for read, create, replace (PUT), patch and delete; 0 where the cell makes no
/// sense (nobody creates their own profile by POST).
const MATRIX: &[(Who, What, [u16; 5])] = {
    use What::*;
    use Who::*;
    &[
        //                                    read create replace patch delete
        (Anonymous, Coop, [200, 401, 401, 401, 401]),
        (Anonymous, PublicWorker, [200, 401, 401, 401, 401]),
        (Anonymous, MembersOnlyWorker, [404, 401, 401, 401, 401]),
        (Anonymous, PrivateWorker, [404, 401, 401, 401, 401]),
        (Anonymous, Skill, [200, 401, 401, 401, 401]),
        (Anonymous, Project, [200, 401, 401, 401, 401]),
        // Members edit only their own profile; they propose skills (202) and create projects.
        (MemberSameCoop, Coop, [200, 403, 403, 403, 403]),
        (MemberSameCoop, PublicWorker, [200, 403, 403, 403, 403]),
        (MemberSameCoop, MembersOnlyWorker, [200, 403, 403, 403, 403]),
        (MemberSameCoop, PrivateWorker, [200, 403, 403, 403, 403]),
        (MemberSameCoop, OwnWorker, [200, 0, 200, 200, 403]),
        (MemberSameCoop, Skill, [200, 202, 403, 403, 403]),
        (MemberSameCoop, Project, [200, 201, 403, 403, 403]),
        // A private worker of another co-op does not exist for them.
        (MemberOtherCoop, Coop, [200, 403, 403, 403, 403]),
        (MemberOtherCoop, PublicWorker, [200, 403, 403, 403, 403]),
        (
            MemberOtherCoop,
            MembersOnlyWorker,
            [200, 403, 403, 403, 403],
        ),
        (MemberOtherCoop, PrivateWorker, [404, 403, 404, 404, 404]),
        (MemberOtherCoop, OwnWorker, [200, 0, 200, 200, 403]),
        (MemberOtherCoop, Skill, [200, 202, 403, 403, 403]),
        (MemberOtherCoop, Project, [200, 201, 403, 403, 403]),
        // Co-op admins edit their co-op and the account-less profiles of its members.
        (CoopAdmin, Coop, [200, 403, 200, 200, 403]),
        (CoopAdmin, PublicWorker, [200, 201, 200, 200, 204]),
        (CoopAdmin, MembersOnlyWorker, [200, 201, 200, 200, 204]),
        (CoopAdmin, PrivateWorker, [200, 201, 200, 200, 204]),
        (CoopAdmin, OwnWorker, [200, 0, 200, 200, 403]),
        (CoopAdmin, Skill, [200, 202, 403, 403, 403]),
        (CoopAdmin, Project, [200, 201, 403, 403, 403]),
        // Project leads edit their projects.
        (ProjectLead, Coop, [200, 403, 403, 403, 403]),
        (ProjectLead, PublicWorker, [200, 403, 403, 403, 403]),
        (ProjectLead, MembersOnlyWorker, [200, 403, 403, 403, 403]),
        (ProjectLead, PrivateWorker, [404, 403, 404, 404, 404]),
        (ProjectLead, OwnWorker, [200, 0, 200, 200, 403]),
        (ProjectLead, Skill, [200, 202, 403, 403, 403]),
        (ProjectLead, Project, [200, 201, 200, 200, 204]),
        // Server admins do everything, but a profile with an active account goes only
        // after the account is disabled (409).
        (ServerAdmin, Coop, [200, 201, 200, 200, 204]),
        (ServerAdmin, PublicWorker, [200, 201, 200, 200, 204]),
        (ServerAdmin, MembersOnlyWorker, [200, 201, 200, 200, 204]),
        (ServerAdmin, PrivateWorker, [200, 201, 200, 200, 204]),
        (ServerAdmin, OwnWorker, [200, 0, 200, 200, 409]),
        (ServerAdmin, Skill, [200, 201, 200, 200, 204]),
        (ServerAdmin, Project, [200, 201, 200, 200, 204]),
        // A credential that no longer works is refused everywhere, reads included.
        (DisabledAccount, Coop, [401, 401, 401, 401, 401]),
        (DisabledAccount, PublicWorker, [401, 401, 401, 401, 401]),
        (
            DisabledAccount,
            MembersOnlyWorker,
            [401, 401, 401, 401, 401],
        ),
        (DisabledAccount, PrivateWorker, [401, 401, 401, 401, 401]),
        (DisabledAccount, OwnWorker, [401, 0, 401, 401, 401]),
        (DisabledAccount, Skill, [401, 401, 401, 401, 401]),
        (DisabledAccount, Project, [401, 401, 401, 401, 401]),
        (RevokedToken, Coop, [401, 401, 401, 401, 401]),
        (RevokedToken, PublicWorker, [401, 401, 401, 401, 401]),
        (RevokedToken, MembersOnlyWorker, [401, 401, 401, 401, 401]),
        (RevokedToken, PrivateWorker, [401, 401, 401, 401, 401]),
        (RevokedToken, OwnWorker, [401, 0, 401, 401, 401]),
        (RevokedToken, Skill, [401, 401, 401, 401, 401]),
        (RevokedToken, Project, [401, 401, 401, 401, 401]),
    ]
};

const OPS: [&str; 5] = ["read", "create", "replace", "patch", "delete"];

const PREFIXES: &str = "@prefix schema: <http://schema.org/> . @prefix dir: <https://w3id.org/coopdir#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> .";

struct World {
    server: Server,
    alpha: String,
    beta: String,
    lead_worker: String,
    coop_admin_worker: String,
    /// Per principal: its bearer token and own worker IRI.
    principals: Vec<(Who, Option<String>, Option<String>)>,
    counter: std::cell::Cell<usize>,
}

impl World {
    fn unique(&self, prefix: &str) -> String {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        format!("{prefix}-{n}")
    }

    fn admin(&self, method: Method, path: &str) -> reqwest::blocking::RequestBuilder {
        self.server.write(method, path)
    }

    fn create_as_admin(&self, container: &str, slug: &str, turtle: &str) -> String {
        let r = self
            .admin(Method::POST, container)
            .header("Content-Type", "text/turtle")
            .header("Slug", slug)
            .body(format!("{PREFIXES} {turtle}"))
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    fn worker_turtle(&self, name: &str, coop: &str, visibility: &str) -> String {
        format!(
            "<> a schema:Person ; schema:name \"{name}\" ; schema:memberOf <{coop}> ; dir:visibility \"{visibility}\" ."
        )
    }

    fn project_turtle(&self, name: &str) -> String {
        format!(
            "<> a schema:Project ; schema:name \"{name}\" ; dir:status \"open\" ; dir:lead <{}> .",
            self.lead_worker
        )
    }

    fn principal(&self, who: Who) -> (Option<String>, Option<String>) {
        let (_, token, worker) = self
            .principals
            .iter()
            .find(|(w, _, _)| *w == who)
            .expect("principal");
        (token.clone(), worker.clone())
    }

    /// A fresh target of `what` for one cell, and a body to replace it with.
    fn target(&self, who: Who, what: What) -> (String, String) {
        let slug = self.unique("t");
        match what {
            What::Coop => {
                let iri = self.create_as_admin(
                    "/coops/",
                    &slug,
                    &format!(
                        "<> a schema:Organization ; schema:name \"Target {slug}\" ; dir:admin <{}> .",
                        self.coop_admin_worker
                    ),
                );
                let body = format!(
                    "<> a schema:Organization ; schema:name \"Renamed {slug}\" ; dir:admin <{}> .",
                    self.coop_admin_worker
                );
                (iri, body)
            }
            What::PublicWorker | What::MembersOnlyWorker | What::PrivateWorker => {
                let visibility = match what {
                    What::PublicWorker => "public",
                    What::MembersOnlyWorker => "members",
                    _ => "private",
                };
                let iri = self.create_as_admin(
                    "/workers/",
                    &slug,
                    &self.worker_turtle(&format!("Target {slug}"), &self.alpha, visibility),
                );
                (
                    iri,
                    self.worker_turtle(&format!("Renamed {slug}"), &self.alpha, visibility),
                )
            }
            What::OwnWorker => {
                let (_, worker) = self.principal(who);
                let worker = worker.expect("own worker");
                let coop =
                    if [Who::MemberOtherCoop, Who::ProjectLead, Who::ServerAdmin].contains(&who) {
                        &self.beta
                    } else {
                        &self.alpha
                    };
                (
                    worker,
                    self.worker_turtle(&format!("Renamed {slug}"), coop, "public"),
                )
            }
            What::Skill => {
                let iri = self.create_as_admin(
                    "/skills/",
                    &slug,
                    &format!("<> a skos:Concept ; skos:prefLabel \"Target {slug}\"@en ."),
                );
                (
                    iri,
                    format!("<> a skos:Concept ; skos:prefLabel \"Renamed {slug}\"@en ."),
                )
            }
            What::Project => {
                let iri = self.create_as_admin(
                    "/projects/",
                    &slug,
                    &self.project_turtle(&format!("Target {slug}")),
                );
                (iri, self.project_turtle(&format!("Renamed {slug}")))
            }
        }
    }

    fn container(what: What) -> &'static str {
        match what {
            What::Coop => "/coops/",
            What::Skill => "/skills/",
            What::Project => "/projects/",
            _ => "/workers/",
        }
    }

    fn new_resource_body(&self, what: What) -> String {
        let name = self.unique("new");
        match what {
            What::Coop => format!("<> a schema:Organization ; schema:name \"{name}\" ."),
            What::PublicWorker => self.worker_turtle(&name, &self.alpha, "public"),
            What::MembersOnlyWorker => self.worker_turtle(&name, &self.alpha, "members"),
            What::PrivateWorker => self.worker_turtle(&name, &self.alpha, "private"),
            What::Skill => format!("<> a skos:Concept ; skos:prefLabel \"{name}\"@en ."),
            What::Project => {
                format!("<> a schema:Project ; schema:name \"{name}\" ; dir:status \"open\" .")
            }
            What::OwnWorker => unreachable!("no cell creates one's own profile"),
        }
    }

    /// What the server admin sees of a resource (to check refusals changed nothing).
    fn snapshot(&self, iri: &str) -> (u16, String) {
        let r = self
            .server
            .client()
            .get(iri)
            .bearer_auth(&self.server.token)
            .header("Accept", "application/n-triples")
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn total(&self, container: &str) -> u64 {
        let r = self
            .server
            .client()
            .get(self.server.url(&format!("{container}?size=1000")))
            .bearer_auth(&self.server.token)
            .send()
            .unwrap();
        let doc: serde_json::Value = r.json().unwrap();
        doc["contains"].as_array().map_or(0, |a| a.len() as u64)
    }

    fn send(
        &self,
        token: &Option<String>,
        method: Method,
        url: &str,
        content_type: &str,
        body: String,
    ) -> (u16, String) {
        let mut request = self.server.client().request(method, url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if !body.is_empty() {
            request = request.header("Content-Type", content_type).body(body);
        }
        let r = request.send().unwrap();
        let status = r.status().as_u16();
        (status, r.text().unwrap_or_default())
    }
}

fn world() -> World {
    // The matrix sends hundreds of writes from one address within seconds; the write
    // rate limit (tested in operations.rs) would answer some of them 429 instead.
    let server = Server::start_with(&["--writes-per-minute", "1000000"]);
    let coop = |slug: &str, name: &str| {
        let r = server.post(
            "/coops/",
            "text/turtle",
            &format!("@prefix schema: <http://schema.org/> . <> a schema:Organization ; schema:name \"{name}\" ."),
        );
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().unwrap());
        server.url(&format!("/coops/{slug}"))
    };
    let alpha = coop("alpha", "Alpha");
    let beta = coop("beta", "Beta");
    let mut principals = vec![(Who::Anonymous, None, None)];
    let mut add = |who, coop: &str, email: &str, name: &str, role: &str| {
        let (worker, token) = server.add_person(coop, email, name, role);
        principals.push((who, Some(token), Some(worker.clone())));
        worker
    };
    add(
        Who::MemberSameCoop,
        "alpha",
        "same@example.org",
        "Sam Same",
        "member",
    );
    add(
        Who::MemberOtherCoop,
        "beta",
        "other@example.org",
        "Olu Other",
        "member",
    );
    let coop_admin_worker = add(
        Who::CoopAdmin,
        "alpha",
        "admin@example.org",
        "Ada Admin",
        "coop-admin",
    );
    let lead_worker = add(
        Who::ProjectLead,
        "beta",
        "lead@example.org",
        "Lee Lead",
        "member",
    );
    add(
        Who::ServerAdmin,
        "beta",
        "root@example.org",
        "Rae Root",
        "server-admin",
    );
    add(
        Who::DisabledAccount,
        "alpha",
        "gone@example.org",
        "Dee Gone",
        "member",
    );
    add(
        Who::RevokedToken,
        "alpha",
        "revoked@example.org",
        "Rev Oked",
        "member",
    );

    let r = server
        .write(Method::POST, "/admin/users/gone@example.org/disable")
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().unwrap());
    let revoked = principals
        .iter()
        .find(|p| p.0 == Who::RevokedToken)
        .unwrap()
        .1
        .clone()
        .unwrap();
    let mine: serde_json::Value = server
        .client()
        .get(server.url("/account/tokens"))
        .bearer_auth(&revoked)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = mine["items"][0]["id"].as_str().unwrap().to_owned();
    let r = server
        .client()
        .delete(server.url(&format!("/account/tokens/{id}")))
        .bearer_auth(&revoked)
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    World {
        server,
        alpha,
        beta,
        lead_worker,
        coop_admin_worker,
        principals,
        counter: std::cell::Cell::new(0),
    }
}

#[test]
fn every_principal_gets_exactly_the_status_the_rules_give_for_every_operation() {
    let w = world();
    let mut failures = Vec::new();
    for (who, what, expected) in MATRIX {
        let (token, _) = w.principal(*who);
        for (op, want) in OPS.iter().zip(expected) {
            if *want == 0 {
                continue;
            }
            let (status, body, target, before) = match *op {
                "create" => {
                    let container = World::container(*what);
                    let before = w.total(container);
                    let (status, body) = w.send(
                        &token,
                        Method::POST,
                        &w.server.url(container),
                        "text/turtle",
                        format!("{PREFIXES} {}", w.new_resource_body(*what)),
                    );
                    // Refused (and proposed) creates add nothing to the container.
                    if status != 201 {
                        assert_eq!(
                            w.total(container),
                            before,
                            "{who:?} create {what:?} added a member"
                        );
                    }
                    (status, body, None, None)
                }
                _ => {
                    let (iri, replacement) = w.target(*who, *what);
                    let before = w.snapshot(&iri);
                    let (method, content_type, body) = match *op {
                        "read" => (Method::GET, "", String::new()),
                        "replace" => (
                            Method::PUT,
                            "text/turtle",
                            format!("{PREFIXES} {replacement}"),
                        ),
                        "patch" => (
                            Method::PATCH,
                            "application/sparql-update",
                            if *what == What::Skill {
                                "INSERT DATA { <> <http://www.w3.org/2004/02/skos/core#definition> \"patched\"@en }".to_owned()
                            } else {
                                "INSERT DATA { <> <http://schema.org/description> \"patched\" }"
                                    .to_owned()
                            },
                        ),
                        _ => (Method::DELETE, "", String::new()),
                    };
                    let (status, body) = w.send(&token, method, &iri, content_type, body);
                    (status, body, Some(iri), Some(before))
                }
            };
            if status != *want {
                failures.push(format!(
                    "{who:?} {op} {what:?}: expected {want}, got {status}: {body}"
                ));
                continue;
            }
            if status >= 400 {
                // Every refusal is a problem+json that says why, and changes nothing.
                let problem: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert!(
                    problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
                    "{who:?} {op} {what:?}: {body}"
                );
                if let (Some(iri), Some(before)) = (target, before) {
                    assert_eq!(
                        w.snapshot(&iri),
                        before,
                        "{who:?} {op} {what:?} was refused but changed {iri}"
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
