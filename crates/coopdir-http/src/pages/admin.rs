//! The two administration pages: a co-op admin's (members, invitations) and a server
//! admin's (accounts, proposed skills, peers). What each may do is asked of
//! `coopdir-access` by the same calls the JSON API makes.

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use coopdir_access::AccountState;
use coopdir_web::forms::Submitted;
use coopdir_web::pages::{
    AccountRow, AdminPage, CoopAdminPage, FieldErrors, InvitationRow, Link, ListItem, PeerRow,
    ProposalRow,
};
use oxigraph::model::NamedNode;
use std::sync::Arc;

use super::{Reader, local_path, parse_form, redirect, run};
use crate::{ApiError, AppState};

/// A form field, or the parameter of the same name in the form's action URL.
fn field(form: &Submitted, uri: &Uri, name: &str) -> String {
    if form.has(name) {
        form.get(name).to_owned()
    } else {
        super::query_value(uri, name).unwrap_or_default()
    }
}

/// `GET`/`POST /coops/{slug}/admin`: members and invitations; the form invites (and
/// shows the one-time link) or revokes.
pub(crate) async fn coop_admin(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    uri: &Uri,
    coop: NamedNode,
    body: Option<&[u8]>,
) -> Result<Response, ApiError> {
    let principal = reader.caller.principal.clone();
    if principal.is_anonymous() {
        return Err(ApiError::unauthorized("log in first"));
    }
    state
        .directory
        .access()
        .check_coop_admin(&principal, &coop)?;
    let path = local_path(&state, coop.as_str());
    let mut email = String::new();
    let mut errors = FieldErrors::new();
    let mut new_link = None;
    if let Some(body) = body {
        let form = parse_form(body)?;
        reader.check_form(headers, form.get("csrf"))?;
        let directory = state.directory.clone();
        let (target, who) = (coop.clone(), principal.clone());
        match field(&form, uri, "action").as_str() {
            "revoke" => {
                let id = field(&form, uri, "id");
                run(move || {
                    Ok(directory
                        .access()
                        .revoke_invitation(&target, &id, &who.actor())?)
                })
                .await?;
                return Ok(redirect(&format!("{path}/admin")));
            }
            _ => {
                email = form.get("email").to_owned();
                let address = email.clone();
                let outcome = run(move || Ok(directory.invite(&target, &address, &who))).await?;
                match outcome {
                    Ok((view, secret)) => {
                        let url = format!("{}invitations/{secret}", state.directory.paths().base());
                        state.mailer.invitation_created(&view, &url);
                        // The link is shown once, here: only its hash is stored.
                        new_link = Some(url);
                        email.clear();
                    }
                    Err(coopdir_ldp::LdpError::Access(
                        coopdir_access::AccessError::Invalid(message)
                        | coopdir_access::AccessError::Conflict(message),
                    )) => errors.add("email", message),
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
        }
    }
    let principal_view = principal.clone();
    let directory = state.directory.clone();
    let target = coop.clone();
    let rep = run(move || Ok(directory.read(&target, &principal_view)?)).await?;
    let access = state.directory.access();
    let tr = reader.tr;
    let invitations = access
        .invitations(&coop)
        .into_iter()
        .map(|i| InvitationRow {
            email: i.email,
            expires: i.expires.get(..10).unwrap_or(&i.expires).to_owned(),
            revoke_action: format!("{path}/admin?action=revoke&id={}", i.id),
        })
        .collect();
    let (coop_link, mut members) = {
        let search = state.search.read();
        let names = coopdir_web::views::Names {
            state: &search,
            tr,
            base: state.directory.paths().base(),
            today: super::today(),
        };
        let members: Vec<ListItem> =
            coopdir_web::views::links(&rep.graph, coop.as_ref(), coopdir_vocab::schema::MEMBER)
                .iter()
                .map(|m| {
                    let link = names.person_link(m);
                    ListItem {
                        name: link.name,
                        href: link.href,
                        detail: access
                            .account_for_worker(m)
                            .is_none()
                            .then(|| tr.t("no-account")),
                    }
                })
                .collect();
        (names.coop_link(coop.as_str()), members)
    };
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let page = CoopAdminPage {
        t: tr,
        l: reader.layout(&state),
        coop: Link {
            name: coop_link.name,
            href: path.clone(),
        },
        invite_action: format!("{path}/admin"),
        email,
        errors,
        new_link,
        invitations,
        members,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// `GET`/`POST /admin`: accounts, proposed skills, peers; the forms enable or disable an
/// account and accept or reject a proposal.
pub(crate) async fn admin_page(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    uri: &Uri,
    body: Option<&[u8]>,
) -> Result<Response, ApiError> {
    let principal = reader.caller.principal.clone();
    if principal.is_anonymous() {
        return Err(ApiError::unauthorized("log in first"));
    }
    state.directory.access().check_server_admin(&principal)?;
    if let Some(body) = body {
        let form = parse_form(body)?;
        reader.check_form(headers, form.get("csrf"))?;
        let directory = state.directory.clone();
        let id = field(&form, uri, "id");
        let who = principal.clone();
        match field(&form, uri, "action").as_str() {
            action @ ("enable" | "disable") => {
                let target = if action == "enable" {
                    AccountState::Active
                } else {
                    AccountState::Disabled
                };
                run(move || {
                    Ok(directory
                        .access()
                        .set_account_state(&id, target, &who.actor())?)
                })
                .await?;
            }
            "accept" => {
                run(move || Ok(directory.accept_proposal(&id, &who).map(|_| ())?)).await?;
            }
            "reject" => {
                run(move || Ok(directory.reject_proposal(&id, &who)?)).await?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown action {other:?}: use enable, disable, accept or reject"
                )));
            }
        }
        return Ok(redirect("/admin"));
    }
    let tr = reader.tr;
    let access = state.directory.access();
    let mut accounts: Vec<AccountRow> = access
        .accounts()
        .into_iter()
        .map(|a| {
            let active = a.state == AccountState::Active;
            AccountRow {
                profile: Some(local_path(&state, &a.worker)),
                state: format!("{:?}", a.state).to_lowercase(),
                toggle_action: format!(
                    "/admin?action={}&id={}",
                    if active { "disable" } else { "enable" },
                    a.id
                ),
                toggle_label: tr.t(if active {
                    "admin-disable"
                } else {
                    "admin-enable"
                }),
                name: a.name,
                email: a.email,
            }
        })
        .collect();
    accounts.sort_by(|a, b| a.name.cmp(&b.name));
    let directory = state.directory.clone();
    let who = principal.clone();
    let proposals = run(move || Ok(directory.proposals(&who)?))
        .await?
        .into_iter()
        .map(|p| ProposalRow {
            label: p.label,
            by: p.proposed_by,
            accept_action: format!("/admin?action=accept&id={}", p.id),
            reject_action: format!("/admin?action=reject&id={}", p.id),
        })
        .collect();
    let peers = state
        .federation
        .peers()
        .list()
        .into_iter()
        .map(|p| PeerRow {
            url: p.base.clone(),
            sync: p.last_success.clone().unwrap_or_else(|| "—".into()),
            push: format!("{:?}", p.subscription).to_lowercase(),
            resources: format!("{} / {}", p.cursor, p.head),
            error: p.last_error.clone().unwrap_or_default(),
        })
        .collect();
    let page = AdminPage {
        t: tr,
        l: reader.layout(&state),
        accounts,
        proposals,
        peers,
    };
    Ok(reader.html(StatusCode::OK, &page))
}
