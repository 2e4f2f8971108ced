//! Pages that change something: logging in, accepting an invitation, the language
//! switch, editing one's profile, creating and editing a project. Each form carries an
//! anti-forgery token; a form that does not pass comes back with every field as typed
//! and each message beside its field; a form that passes redirects (post/redirect/get).

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use coopdir_access::Principal;
use coopdir_ldp::{CreateOutcome, LdpError, Precondition};
use coopdir_vocab::{Kind, dir, schema};
use coopdir_web::forms::{self, Built, EMPTY_ROWS, RowInput};
use coopdir_web::pages::{
    Choice, FieldErrors, InvitationPage, LoginPage, ProfileFields, ProfileFormPage, ProjectFields,
    ProjectFormPage,
};
use coopdir_web::{LANG_COOKIE, Lang};
use oxigraph::model::{Graph, NamedNode};
use std::net::IpAddr;
use std::sync::Arc;

use super::{Reader, local_path, parse_form, redirect, run, safe_return};
use crate::{ApiError, AppState};

/// `GET /login`.
pub(crate) fn login_page(state: &AppState, reader: &Reader, uri: &Uri) -> Response {
    let page = LoginPage {
        t: reader.tr,
        l: reader.layout(state),
        email: String::new(),
        next: safe_return(&super::query_value(uri, "next").unwrap_or_else(|| "/account".into())),
        error: None,
    };
    reader.html(StatusCode::OK, &page)
}

/// A login form: the session cookie and a redirect, or the form again with the reason.
pub(crate) async fn login_submit(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, ApiError> {
    let form = parse_form(body)?;
    reader.check_form(headers, form.get("csrf"))?;
    let email = form.get("email").to_owned();
    let password = form.get("password").to_owned();
    let next = safe_return(if form.has("next") {
        form.get("next")
    } else {
        "/account"
    });
    let access = state.directory.access().clone();
    let attempt = {
        let email = email.clone();
        run(move || Ok(access.login(&email, &password, ip))).await?
    };
    match attempt {
        Ok(session) => {
            let max_age = session.expires - time::OffsetDateTime::now_utc().unix_timestamp();
            let mut response = redirect(&next);
            if let Ok(v) = HeaderValue::from_str(&crate::auth::session_cookie(
                &state,
                &session.secret,
                max_age,
            )) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(response)
        }
        Err(coopdir_access::AccessError::Unauthenticated(_)) => {
            let page = LoginPage {
                t: reader.tr,
                l: reader.layout(&state),
                email,
                next,
                error: Some(reader.tr.t("error-login")),
            };
            Ok(reader.html(StatusCode::UNAUTHORIZED, &page))
        }
        Err(e) => Err(ApiError::from(e)),
    }
}

/// `POST /lang`: remembers the language in a cookie and goes back.
pub(crate) fn lang(body: &[u8]) -> Result<Response, ApiError> {
    let form = parse_form(body)?;
    let lang = Lang::parse(form.get("lang")).unwrap_or(Lang::En);
    let mut response = redirect(&safe_return(form.get("back")));
    let cookie = cookie::Cookie::build((LANG_COOKIE, lang.code()))
        .path("/")
        .same_site(cookie::SameSite::Lax)
        .max_age(cookie::time::Duration::days(365))
        .build()
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

fn coop_name(state: &AppState, coop: &str) -> String {
    state
        .search
        .read()
        .coops
        .get(coop)
        .map_or_else(|| coop.to_owned(), |c| c.name.clone())
}

/// `GET /invitations/{secret}` for browsers.
pub(crate) fn invitation_page(
    state: &AppState,
    reader: &Reader,
    secret: &str,
) -> Result<Response, ApiError> {
    let view = state.directory.access().invitation(secret)?;
    let page = InvitationPage {
        t: reader.tr,
        l: reader.layout(state),
        action: format!("/invitations/{secret}"),
        coop: coop_name(state, &view.coop),
        email: view.email,
        name: String::new(),
        error: None,
        errors: FieldErrors::new(),
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// An invitation form: the account, a session, and the new profile's edit page; or the
/// form again.
pub(crate) async fn invitation_submit(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    secret: String,
    body: &[u8],
    ip: IpAddr,
) -> Result<Response, ApiError> {
    let form = parse_form(body)?;
    reader.check_form(headers, form.get("csrf"))?;
    let view = state.directory.access().invitation(&secret)?;
    let name = form.get("name").to_owned();
    let password = form.get("password").to_owned();
    let mut errors = FieldErrors::new();
    if name.is_empty() {
        errors.add("name", reader.tr.t("error-required"));
    }
    if password.is_empty() {
        errors.add("password", reader.tr.t("error-required"));
    }
    if errors.is_empty() {
        let directory = state.directory.clone();
        let (n, p, s) = (name.clone(), password.clone(), secret.clone());
        let outcome = run(move || {
            Ok(directory.accept_invitation(&s, &n, &p).and_then(|joined| {
                let session = directory.access().login(&joined.account.email, &p, ip)?;
                Ok((joined, session))
            }))
        })
        .await?;
        match outcome {
            Ok((joined, session)) => {
                let max_age = session.expires - time::OffsetDateTime::now_utc().unix_timestamp();
                let mut response = redirect(&format!(
                    "{}/edit",
                    local_path(&state, joined.worker.as_str())
                ));
                if let Ok(v) = HeaderValue::from_str(&crate::auth::session_cookie(
                    &state,
                    &session.secret,
                    max_age,
                )) {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
                return Ok(response);
            }
            // A weak password, say: shown beside the password field.
            Err(LdpError::Access(coopdir_access::AccessError::WeakPassword(message))) => {
                errors.add("password", message);
            }
            Err(LdpError::Access(coopdir_access::AccessError::Invalid(message))) => {
                errors.add("name", message);
            }
            Err(e) => return Err(ApiError::from(e)),
        }
    }
    let page = InvitationPage {
        t: reader.tr,
        l: reader.layout(&state),
        action: format!("/invitations/{secret}"),
        coop: coop_name(&state, &view.coop),
        email: view.email,
        name,
        error: Some(reader.tr.t("error-form")),
        errors,
    };
    Ok(reader.html(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

fn signed_in(reader: &Reader) -> Result<&Principal, ApiError> {
    let principal = &reader.caller.principal;
    if principal.is_anonymous() {
        return Err(ApiError::unauthorized("log in first"));
    }
    Ok(principal)
}

/// The current graph and entity tag of a resource, as its editor reads it.
async fn current(
    state: &AppState,
    iri: &NamedNode,
    principal: &Principal,
) -> Result<(Graph, String), ApiError> {
    let directory = state.directory.clone();
    let (target, who) = (iri.clone(), principal.clone());
    run(move || {
        // The editor's own view, with contact details (what the form edits).
        let rep = directory.read(&target, &who)?;
        let stored = directory
            .store()
            .graph(target.as_ref())
            .map_err(coopdir_ldp::LdpError::from)?;
        Ok((stored, rep.etag.header("")))
    })
    .await
}

/// The form's own errors, and what the shapes say of the rest of the draft, so that
/// every problem shows at once.
async fn with_shape_errors(
    state: &AppState,
    reader: &Reader,
    built: &Built,
    fields: &'static [(oxigraph::model::NamedNodeRef<'static>, &'static str)],
    number_field: &'static str,
) -> Result<FieldErrors, ApiError> {
    let mut errors = forms::translate(&reader.tr, &built.errors);
    let directory = state.directory.clone();
    let graph = built.graph.clone();
    let report = run(move || Ok(directory.validate_draft(&graph)?)).await?;
    let (by_shape, _) = forms::report_errors(&report, built, fields, number_field);
    errors.merge(by_shape);
    Ok(errors)
}

/// What a failed write means for a form: errors beside fields, or a message at the top.
fn write_errors(
    reader: &Reader,
    error: LdpError,
    built: &Built,
    fields: &[(oxigraph::model::NamedNodeRef<'static>, &'static str)],
    number_field: &str,
) -> Result<(FieldErrors, Option<String>), ApiError> {
    match error {
        LdpError::Invalid(report) | LdpError::ConflictWithReport { report, .. } => {
            let (by_field, general) = forms::report_errors(&report, built, fields, number_field);
            let message = if general.is_empty() {
                reader.tr.t("error-form")
            } else {
                format!("{} {}", reader.tr.t("error-form"), general.join(" "))
            };
            Ok((by_field, Some(message)))
        }
        LdpError::PreconditionFailed { .. } => {
            Ok((FieldErrors::new(), Some(reader.tr.t("error-stale"))))
        }
        LdpError::Unprocessable(message) | LdpError::Conflict(message) => {
            Ok((FieldErrors::new(), Some(message)))
        }
        other => Err(ApiError::from(other)),
    }
}

fn availability_choices(reader: &Reader, current: &str) -> Vec<Choice> {
    Choice::list(
        &reader.tr,
        &[
            ("", "availability-unknown"),
            ("available", "availability-available"),
            ("partly", "availability-partly"),
            ("unavailable", "availability-unavailable"),
        ],
        current,
    )
}

fn visibility_choices(reader: &Reader, current: &str) -> Vec<Choice> {
    Choice::list(
        &reader.tr,
        &[
            ("public", "visibility-public"),
            ("members", "visibility-members"),
            ("private", "visibility-private"),
        ],
        if current.is_empty() {
            "public"
        } else {
            current
        },
    )
}

/// A stored resource's skill rows, labelled in the reader's language.
fn stored_skill_rows(
    state: &AppState,
    reader: &Reader,
    graph: &Graph,
    subject: &NamedNode,
    property: oxigraph::model::NamedNodeRef<'static>,
    number: oxigraph::model::NamedNodeRef<'static>,
) -> Vec<RowInput> {
    let search = state.search.read();
    forms::stored_rows(
        graph,
        subject.as_ref(),
        property,
        number,
        |skill| match search.taxonomy.id(skill) {
            Some(id) => search.taxonomy.label(id, reader.lang()).to_owned(),
            None => skill.to_owned(),
        },
    )
}

struct ProfileState {
    fields: ProfileFields,
    availability: String,
    visibility: String,
    rows: Vec<RowInput>,
    empty_rows: usize,
    errors: FieldErrors,
    general: Option<String>,
}

fn profile_page(
    state: &AppState,
    reader: &Reader,
    path: &str,
    s: ProfileState,
    status: StatusCode,
) -> Response {
    let page = ProfileFormPage {
        t: reader.tr,
        l: reader.layout(state),
        action: format!("{path}/edit"),
        cancel: path.to_owned(),
        availability: availability_choices(reader, &s.availability),
        visibility: visibility_choices(reader, &s.visibility),
        skill_rows: forms::skill_rows(&reader.tr, &s.rows, s.empty_rows, "years"),
        f: s.fields,
        errors: s.errors,
        general: s.general,
    };
    reader.html(status, &page)
}

fn stored_profile(
    state: &AppState,
    reader: &Reader,
    graph: &Graph,
    iri: &NamedNode,
    etag: String,
) -> ProfileState {
    let mut fields = forms::profile_values(graph, iri.as_ref());
    fields.etag = etag;
    let get = |p| coopdir_web::views::text(graph, iri.as_ref(), p, "").unwrap_or_default();
    let rows = stored_skill_rows(state, reader, graph, iri, dir::HAS_SKILL, dir::YEARS);
    ProfileState {
        fields,
        availability: get(dir::AVAILABILITY),
        visibility: get(dir::VISIBILITY),
        rows,
        empty_rows: EMPTY_ROWS,
        errors: FieldErrors::new(),
        general: None,
    }
}

/// `GET`/`POST /workers/{slug}/edit`: the profile form.
pub(crate) async fn profile_form(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    iri: NamedNode,
    body: Option<&[u8]>,
) -> Result<Response, ApiError> {
    let principal = signed_in(reader)?.clone();
    let path = local_path(&state, iri.as_str());
    let (stored, etag) = current(&state, &iri, &principal).await?;
    state.directory.access().check_write(
        &principal,
        coopdir_access::policy::Action::Replace,
        Kind::Worker,
        &iri,
        Some(&stored),
        None,
    )?;
    let Some(body) = body else {
        let s = stored_profile(&state, reader, &stored, &iri, etag);
        return Ok(profile_page(&state, reader, &path, s, StatusCode::OK));
    };
    let form = parse_form(body)?;
    reader.check_form(headers, form.get("csrf"))?;
    let submitted =
        |errors: FieldErrors, general: Option<String>, empty_rows: usize| ProfileState {
            fields: forms::profile_submitted(&form),
            availability: form.get("availability").to_owned(),
            visibility: form.get("visibility").to_owned(),
            rows: forms::all_rows(&form, "years"),
            empty_rows,
            errors,
            general,
        };
    if form.wants_more_rows() {
        let s = submitted(FieldErrors::new(), None, EMPTY_ROWS);
        return Ok(profile_page(&state, reader, &path, s, StatusCode::OK));
    }
    let built = {
        let search = state.search.read();
        forms::profile_graph(&stored, iri.as_ref(), &form, &search.taxonomy)
    };
    if !built.errors.is_empty() {
        let errors =
            with_shape_errors(&state, reader, &built, forms::profile_fields(), "years").await?;
        let s = submitted(errors, Some(reader.tr.t("error-form")), 1);
        return Ok(profile_page(
            &state,
            reader,
            &path,
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let precondition =
        Precondition::from_headers(Some(form.get("etag")).filter(|e| !e.is_empty()), None);
    let directory = state.directory.clone();
    let (graph, target, who) = (built.graph.clone(), iri.clone(), principal.clone());
    let outcome = run(move || Ok(directory.replace(&target, graph, &precondition, &who))).await?;
    match outcome {
        Ok(_) => Ok(redirect(&format!("{path}?saved=1"))),
        Err(LdpError::PreconditionFailed { .. }) => {
            // Someone else saved first: show what is stored now, with the reason.
            let (stored, etag) = current(&state, &iri, &principal).await?;
            let mut s = stored_profile(&state, reader, &stored, &iri, etag);
            s.general = Some(reader.tr.t("error-stale"));
            Ok(profile_page(&state, reader, &path, s, StatusCode::CONFLICT))
        }
        Err(e) => {
            let (errors, general) =
                write_errors(reader, e, &built, forms::profile_fields(), "years")?;
            let s = submitted(errors, general, 1);
            Ok(profile_page(
                &state,
                reader,
                &path,
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

struct ProjectState {
    fields: ProjectFields,
    status: String,
    coop: String,
    rows: Vec<RowInput>,
    empty_rows: usize,
    errors: FieldErrors,
    general: Option<String>,
}

fn project_page(
    state: &AppState,
    reader: &Reader,
    action: &str,
    cancel: &str,
    heading: String,
    s: ProjectState,
    status: StatusCode,
) -> Response {
    let tr = reader.tr;
    let statuses = Choice::list(
        &tr,
        &[
            ("proposed", "status-proposed"),
            ("open", "status-open"),
            ("active", "status-active"),
            ("completed", "status-completed"),
            ("cancelled", "status-cancelled"),
        ],
        if s.status.is_empty() {
            "proposed"
        } else {
            &s.status
        },
    );
    let mut coops: Vec<Choice> = {
        let search = state.search.read();
        let base = state.directory.paths().base();
        search
            .coops
            .values()
            .filter(|c| c.iri.as_str().starts_with(base))
            .map(|c| Choice {
                value: c.iri.as_str().to_owned(),
                label: c.name.clone(),
                selected: c.iri.as_str() == s.coop,
            })
            .collect()
    };
    coops.sort_by(|a, b| a.label.cmp(&b.label));
    coops.insert(
        0,
        Choice {
            value: String::new(),
            label: tr.t("no-coop"),
            selected: s.coop.is_empty(),
        },
    );
    let page = ProjectFormPage {
        t: tr,
        l: reader.layout(state),
        heading,
        action: action.to_owned(),
        cancel: cancel.to_owned(),
        statuses,
        coops,
        skill_rows: forms::skill_rows(&tr, &s.rows, s.empty_rows, "headcount"),
        f: s.fields,
        errors: s.errors,
        general: s.general,
    };
    reader.html(status, &page)
}

/// `GET`/`POST /projects/new` and `/projects/{slug}/edit`: the project form. `iri` is
/// `None` for a new project; whoever creates it becomes its lead.
pub(crate) async fn project_form(
    state: Arc<AppState>,
    reader: &Reader,
    headers: &HeaderMap,
    iri: Option<NamedNode>,
    body: Option<&[u8]>,
) -> Result<Response, ApiError> {
    let principal = signed_in(reader)?.clone();
    state.directory.access().check_may_write(&principal)?;
    let tr = reader.tr;
    let (stored, etag) = match &iri {
        Some(iri) => {
            let (stored, etag) = current(&state, iri, &principal).await?;
            state.directory.access().check_write(
                &principal,
                coopdir_access::policy::Action::Replace,
                Kind::Project,
                iri,
                Some(&stored),
                None,
            )?;
            (stored, etag)
        }
        None => (Graph::new(), String::new()),
    };
    let (action, cancel, heading) = match &iri {
        Some(iri) => {
            let path = local_path(&state, iri.as_str());
            (format!("{path}/edit"), path, tr.t("project-edit"))
        }
        None => (
            "/projects/new".to_owned(),
            "/projects/".to_owned(),
            tr.t("project-new"),
        ),
    };
    let Some(body) = body else {
        let subject = iri
            .clone()
            .unwrap_or_else(|| state.directory.provisional_iri(Kind::Project));
        let mut fields = forms::project_values(&stored, subject.as_ref());
        fields.etag = etag;
        let get =
            |p| coopdir_web::views::text(&stored, subject.as_ref(), p, "").unwrap_or_default();
        let rows = stored_skill_rows(&state, reader, &stored, &subject, dir::NEED, dir::HEADCOUNT);
        // A new project defaults to the creator's first co-op.
        let coop = match &iri {
            Some(_) => {
                coopdir_web::views::links(&stored, subject.as_ref(), schema::SOURCE_ORGANIZATION)
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            }
            None => first_coop(&state, &principal),
        };
        let s = ProjectState {
            fields,
            status: get(dir::STATUS),
            coop,
            rows,
            empty_rows: EMPTY_ROWS,
            errors: FieldErrors::new(),
            general: None,
        };
        return Ok(project_page(
            &state,
            reader,
            &action,
            &cancel,
            heading,
            s,
            StatusCode::OK,
        ));
    };
    let form = parse_form(body)?;
    reader.check_form(headers, form.get("csrf"))?;
    let submitted =
        |errors: FieldErrors, general: Option<String>, empty_rows: usize| ProjectState {
            fields: forms::project_submitted(&form),
            status: form.get("status").to_owned(),
            coop: form.get("coop").to_owned(),
            rows: forms::all_rows(&form, "headcount"),
            empty_rows,
            errors,
            general,
        };
    if form.wants_more_rows() {
        let s = submitted(FieldErrors::new(), None, EMPTY_ROWS);
        return Ok(project_page(
            &state,
            reader,
            &action,
            &cancel,
            heading,
            s,
            StatusCode::OK,
        ));
    }
    let subject = iri
        .clone()
        .unwrap_or_else(|| state.directory.provisional_iri(Kind::Project));
    let built = {
        let search = state.search.read();
        forms::project_graph(&stored, subject.as_ref(), &form, &search.taxonomy)
    };
    if !built.errors.is_empty() {
        let errors =
            with_shape_errors(&state, reader, &built, forms::project_fields(), "headcount").await?;
        let s = submitted(errors, Some(tr.t("error-form")), 1);
        return Ok(project_page(
            &state,
            reader,
            &action,
            &cancel,
            heading,
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let directory = state.directory.clone();
    let graph = built.graph.clone();
    let who = principal.clone();
    let outcome = match &iri {
        Some(iri) => {
            let precondition =
                Precondition::from_headers(Some(form.get("etag")).filter(|e| !e.is_empty()), None);
            let target = iri.clone();
            run(move || {
                Ok(directory
                    .replace(&target, graph, &precondition, &who)
                    .map(|o| o.iri))
            })
            .await?
        }
        None => {
            let provisional = subject.clone();
            run(move || {
                Ok(directory
                    .create(Kind::Project, None, &provisional, graph, &who)
                    .and_then(|outcome| match outcome {
                        CreateOutcome::Stored(o) => Ok(o.iri),
                        CreateOutcome::Proposed(_) => {
                            Err(LdpError::Internal("a project cannot be a proposal".into()))
                        }
                    }))
            })
            .await?
        }
    };
    match outcome {
        Ok(stored_iri) => Ok(redirect(&format!(
            "{}?saved=1",
            local_path(&state, stored_iri.as_str())
        ))),
        Err(e) => {
            let (errors, general) =
                write_errors(reader, e, &built, forms::project_fields(), "headcount")?;
            let s = submitted(errors, general, 1);
            let status = if s.general.as_deref() == Some(tr.t("error-stale").as_str()) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            Ok(project_page(
                &state, reader, &action, &cancel, heading, s, status,
            ))
        }
    }
}

fn first_coop(state: &AppState, principal: &Principal) -> String {
    principal
        .worker()
        .and_then(|w| state.directory.access().roles(w).ok())
        .and_then(|roles| {
            roles
                .member_of
                .iter()
                .find(|m| state.search.read().coops.contains_key(m.as_str()))
                .map(|m| m.as_str().to_owned())
        })
        .unwrap_or_default()
}
