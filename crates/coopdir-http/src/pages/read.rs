//! Pages that show: home, search, a person, a co-op, a project, a skill, the
//! containers, the skills insight, one's account.

use axum::http::{StatusCode, Uri};
use axum::response::Response;
use coopdir_access::policy::Action;
use coopdir_ldp::Location;
use coopdir_search::query::{FacetValue, SearchRequest};
use coopdir_vocab::{Kind, ldp, schema, skos};
use coopdir_web::charts::{self, CoverageBar, InsightBar, TreeNode};
use coopdir_web::pages::{
    AccountPage, CandidatesView, Choice, CoopPage, FacetGroup, FacetLink, HomePage, InsightsPage,
    Link, ListItem, ListPage, Pager, ProjectPage, SearchForm, SearchPage, SkillPage, SkillView,
    Stats, TeamRow, WorkerPage,
};
use coopdir_web::views::{self, Names};
use oxigraph::model::{NamedNode, TermRef};
use std::sync::Arc;

use super::{Reader, local_path, run, today};
use crate::{ApiError, AppState};

const HOME_CARDS: usize = 6;
const SEARCH_PAGE_SIZE: usize = 20;
const SKILL_PAGE_PEOPLE: usize = 12;
const LIST_PAGE_SIZE: usize = 50;
const CANDIDATES: usize = 10;

fn names<'a>(state: &'a AppState, search: &'a coopdir_search::State, reader: &Reader) -> Names<'a> {
    Names {
        state: search,
        tr: reader.tr,
        base: state.directory.paths().base(),
        today: today(),
    }
}

/// `GET /` for browsers.
pub(crate) async fn home(state: Arc<AppState>, reader: &Reader) -> Result<Response, ApiError> {
    let audience = reader.audience_after_writes(&state).await?;
    let st = state.clone();
    let tr = reader.tr;
    let (stats, recent, projects) = run(move || {
        let search = st.search.read();
        let names = Names {
            state: &search,
            tr,
            base: st.directory.paths().base(),
            today: today(),
        };
        // One pass over everyone: count who the reader may see, keep the newest few
        // (a short sorted list, not a sort of 100,000 people).
        let mut people = 0;
        let mut newest: Vec<(&str, &coopdir_search::Person)> = Vec::with_capacity(HOME_CARDS + 1);
        for (_, p) in search.live_people() {
            if !audience.can_see(&p.facts) {
                continue;
            }
            people += 1;
            let modified = p.modified.as_deref().unwrap_or("");
            if newest.len() == HOME_CARDS && newest.last().is_some_and(|(m, _)| *m >= modified) {
                continue;
            }
            let at = newest
                .iter()
                .position(|(m, q)| modified > *m || (modified == *m && p.sort_name < q.sort_name))
                .unwrap_or(newest.len());
            newest.insert(at, (modified, p));
            newest.truncate(HOME_CARDS);
        }
        let visible = newest;
        let recent = visible.iter().map(|(_, p)| names.person_card(p)).collect();
        let mut open: Vec<&coopdir_search::Project> = search
            .projects
            .values()
            .filter(|p| p.is_looking())
            .collect();
        open.sort_by(|a, b| {
            b.modified
                .cmp(&a.modified)
                .then_with(|| a.name.cmp(&b.name))
        });
        let projects = open
            .iter()
            .take(HOME_CARDS)
            .map(|p| names.project_card(p))
            .collect();
        let stats = Stats {
            people,
            coops: search.coops.len(),
            projects: search.projects.len(),
            skills: search.taxonomy.known_count(),
        };
        Ok((stats, recent, projects))
    })
    .await?;
    let page = HomePage {
        t: reader.tr,
        l: reader.layout(&state).with_rdf_alternates("/"),
        stats,
        recent,
        projects,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

fn url_with(path: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

/// `pairs` with `name` set to `value` (replacing it, or adding one more `skill`), and
/// no page number.
fn toggled(
    pairs: &[(String, String)],
    name: &str,
    value: &str,
    add: bool,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| k != "page" && !(k == name && (!add || v == value)) && !v.is_empty())
        .cloned()
        .collect();
    out.push((name.to_owned(), value.to_owned()));
    out
}

fn facet_group(
    tr: &coopdir_web::Tr,
    title: &str,
    values: &[FacetValue],
    link: impl Fn(&FacetValue) -> Option<(String, bool)>,
) -> FacetGroup {
    let values: Vec<FacetLink> = values
        .iter()
        .filter(|v| v.count > 0)
        .filter_map(|v| {
            let (href, active) = link(v)?;
            Some(FacetLink {
                label: match v.value.as_str() {
                    _ if title != "facet-availability" => v.label.clone(),
                    "now" => tr.t("search-available-now"),
                    "within30Days" => tr.t("search-available-30"),
                    _ => v.label.clone(),
                },
                count: v.count,
                href,
                active,
            })
        })
        .collect();
    FacetGroup {
        title: tr.t(title),
        open: values.iter().any(|v| v.active) || values.len() <= 8,
        values,
    }
}

/// `GET /search` for browsers: the same query as the API, as a page with filters.
pub(crate) async fn search_page(
    state: Arc<AppState>,
    reader: &Reader,
    uri: Uri,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = super::without_format(&uri)
        .into_iter()
        .filter(|(k, v)| !v.trim().is_empty() || k == "skill")
        .collect();
    let mut query = pairs.clone();
    if !query.iter().any(|(k, _)| k == "lang") {
        query.push(("lang".into(), reader.lang().into()));
    }
    if !query.iter().any(|(k, _)| k == "pageSize") {
        query.push(("pageSize".into(), SEARCH_PAGE_SIZE.to_string()));
    }
    let value = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let tr = reader.tr;
    let skills: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "skill" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned())
        .collect();
    let has_query = pairs
        .iter()
        .any(|(k, v)| k != "lang" && !v.trim().is_empty());
    let audience = reader.audience_after_writes(&state).await?;
    let st = state.clone();
    let level = value("level");
    let available = value("available");
    let all = value("all") != "false";
    let (q, place, coop, min_hours) =
        (value("q"), value("place"), value("coop"), value("minHours"));
    let (pairs_in, available_in) = (pairs.clone(), available.clone());
    let built = run(move || {
        let pairs = pairs_in;
        let available = available_in;
        let request = SearchRequest::parse(&query, SEARCH_PAGE_SIZE, 200);
        let outcome = match request {
            Ok(request) if has_query => st.search.search(&request, &audience, today()).map(Some),
            Ok(_) => Ok(None),
            Err(e) => Err(e),
        };
        let search = st.search.read();
        let names = Names {
            state: &search,
            tr,
            base: st.directory.paths().base(),
            today: today(),
        };
        let skill_choices: Vec<Choice> = skills
            .iter()
            .map(|s| Choice {
                value: s.clone(),
                label: if s.contains("://") {
                    names.skill_label(s)
                } else {
                    s.clone()
                },
                selected: true,
            })
            .collect();
        let page = match outcome {
            Ok(Some(results)) => {
                let hits = results.items.iter().map(|h| names.hit(h)).collect();
                let soon = (today() + time::Duration::days(30)).to_string();
                let facets = vec![
                    facet_group(&tr, "facet-skill", &results.facets.skill, |v| {
                        let active = skills.contains(&v.value);
                        Some((
                            url_with("/search", &toggled(&pairs, "skill", &v.value, true)),
                            active,
                        ))
                    }),
                    facet_group(
                        &tr,
                        "facet-availability",
                        &results.facets.availability,
                        |v| {
                            let target = match v.value.as_str() {
                                "now" => "now".to_owned(),
                                "within30Days" => soon.clone(),
                                _ => return None,
                            };
                            let active = available == target;
                            Some((
                                url_with("/search", &toggled(&pairs, "available", &target, false)),
                                active,
                            ))
                        },
                    ),
                    facet_group(&tr, "facet-coop", &results.facets.coop, |v| {
                        let active = pairs.iter().any(|(k, x)| k == "coop" && *x == v.value);
                        Some((
                            url_with("/search", &toggled(&pairs, "coop", &v.value, false)),
                            active,
                        ))
                    }),
                    facet_group(&tr, "facet-place", &results.facets.place, |v| {
                        let active = pairs.iter().any(|(k, x)| k == "place" && *x == v.value);
                        Some((
                            url_with("/search", &toggled(&pairs, "place", &v.value, false)),
                            active,
                        ))
                    }),
                ];
                let last = results.last_page();
                let pager = Pager::new(&tr, results.page, last, |n| {
                    let mut p: Vec<(String, String)> =
                        pairs.iter().filter(|(k, _)| k != "page").cloned().collect();
                    p.push(("page".into(), n.to_string()));
                    url_with("/search", &p)
                });
                (None, Vec::new(), results.total, hits, facets, pager)
            }
            Ok(None) => (
                None,
                Vec::new(),
                0,
                Vec::new(),
                Vec::new(),
                Pager::default(),
            ),
            Err(coopdir_search::SearchError::BadQuery {
                message,
                suggestions,
                ..
            }) => {
                let links = suggestions
                    .iter()
                    .map(|s| Link {
                        name: s.clone(),
                        href: url_with("/search", &[("skill".to_owned(), s.clone())]),
                    })
                    .collect();
                (
                    Some(message),
                    links,
                    0,
                    Vec::new(),
                    Vec::new(),
                    Pager::default(),
                )
            }
            Err(e) => return Err(ApiError::from(e)),
        };
        Ok((skill_choices, page))
    })
    .await?;
    let (skill_choices, (error, suggestions, total, hits, facets, pager)) = built;
    let levels = Choice::list(
        &tr,
        &[
            ("", "any"),
            ("beginner", "level-beginner"),
            ("intermediate", "level-intermediate"),
            ("expert", "level-expert"),
        ],
        &level,
    );
    let soon = (today() + time::Duration::days(30)).to_string();
    let later = (today() + time::Duration::days(90)).to_string();
    let available_current = if available == soon {
        "30"
    } else if available == later {
        "90"
    } else {
        available.as_str()
    };
    let mut available_choices = Choice::list(
        &tr,
        &[
            ("", "any"),
            ("now", "search-available-now"),
            ("30", "search-available-30"),
            ("90", "search-available-90"),
        ],
        available_current,
    );
    // The API takes a date: the choices send one.
    for c in &mut available_choices {
        match c.value.as_str() {
            "30" => c.value = soon.clone(),
            "90" => c.value = later.clone(),
            _ => {}
        }
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let form = SearchForm {
        skills: skill_choices,
        all,
        q,
        place,
        coop,
        min_hours,
    };
    let page = SearchPage {
        t: tr,
        l: reader.layout(&state).with_json_alternate(&reader.here),
        form,
        levels,
        available_choices,
        error,
        suggestions,
        total,
        hits,
        facets,
        pager,
    };
    Ok(reader.html(status, &page))
}

/// `GET /{container}/{slug}` for browsers.
pub(crate) async fn resource_page(
    state: Arc<AppState>,
    reader: &Reader,
    kind: Kind,
    iri: NamedNode,
    saved: bool,
) -> Result<Response, ApiError> {
    let principal = reader.caller.principal.clone();
    let directory = state.directory.clone();
    let target = iri.clone();
    let rep = run(move || Ok(directory.read(&target, &principal)?)).await?;
    let path = local_path(&state, iri.as_str());
    let mut layout = reader.layout(&state).with_rdf_alternates(&path);
    let tr = reader.tr;
    let principal = &reader.caller.principal;
    let access = state.directory.access();
    let may_replace = access
        .check_write(
            principal,
            Action::Replace,
            kind,
            &iri,
            Some(&rep.graph),
            None,
        )
        .is_ok();
    match kind {
        Kind::Worker => {
            if saved {
                layout.notices.push(tr.t("profile-saved"));
            }
            let view = {
                let search = state.search.read();
                names(&state, &search, reader).worker(&rep.graph, iri.as_ref(), may_replace)
            };
            let page = WorkerPage {
                t: tr,
                l: layout,
                p: view,
                can_edit: may_replace,
                edit_href: format!("{path}/edit"),
            };
            Ok(reader.html(StatusCode::OK, &page))
        }
        Kind::Coop => {
            let is_admin = access.check_coop_admin(principal, &iri).is_ok();
            // The graph lists only the members this reader may see.
            let view = {
                let search = state.search.read();
                names(&state, &search, reader).coop(&rep.graph, iri.as_ref())
            };
            let page = CoopPage {
                t: tr,
                l: layout,
                c: view,
                is_admin,
                admin_href: format!("{path}/admin"),
            };
            Ok(reader.html(StatusCode::OK, &page))
        }
        Kind::Project => {
            if saved {
                layout.notices.push(tr.t("project-saved"));
            }
            let view = {
                let search = state.search.read();
                names(&state, &search, reader).project(&rep.graph, iri.as_ref())
            };
            let is_lead = principal.is_server_admin()
                || principal.worker().is_some_and(|me| {
                    rep.graph
                        .object_for_subject_predicate(&iri, coopdir_vocab::dir::LEAD)
                        == Some(TermRef::NamedNode(me.as_ref()))
                });
            let candidates = if is_lead {
                Some(candidates(&state, reader, &iri).await?)
            } else {
                None
            };
            let page = ProjectPage {
                t: tr,
                l: layout,
                p: view,
                can_edit: may_replace,
                edit_href: format!("{path}/edit"),
                candidates,
            };
            Ok(reader.html(StatusCode::OK, &page))
        }
        Kind::Skill => skill_page(state.clone(), reader, layout, iri, rep.graph).await,
    }
}

/// The candidates and proposed team search finds for a project, for its lead.
async fn candidates(
    state: &Arc<AppState>,
    reader: &Reader,
    iri: &NamedNode,
) -> Result<CandidatesView, ApiError> {
    let audience = reader.audience_after_writes(state).await?;
    let st = state.clone();
    let project = iri.as_str().to_owned();
    let tr = reader.tr;
    let lang = reader.lang();
    run(move || {
        let results = st
            .search
            .candidates(&project, &audience, today(), lang, CANDIDATES)?;
        let search = st.search.read();
        let names = Names {
            state: &search,
            tr,
            base: st.directory.paths().base(),
            today: today(),
        };
        let bars: Vec<CoverageBar> = results
            .needs
            .iter()
            .map(|n| CoverageBar {
                label: n.label.clone(),
                wanted: n.headcount,
                covered: results
                    .team
                    .iter()
                    .filter(|m| m.covers.contains(&n.skill))
                    .count() as u32,
            })
            .collect();
        Ok(CandidatesView {
            chart: charts::coverage(&tr, &bars),
            team: results
                .team
                .iter()
                .map(|m| TeamRow {
                    name: m.name.clone(),
                    href: names.href(m.iri.as_str()),
                    covers: m
                        .covers
                        .iter()
                        .map(|s| names.skill_label(s.as_str()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    free_from: m.free_from.filter(|d| *d > today()).map(|d| tr.date(&d)),
                })
                .collect(),
            uncovered: results
                .uncovered
                .iter()
                .map(|u| format!("{} ({})", u.label, u.missing))
                .collect(),
            total: results.total,
            hits: results.candidates.iter().map(|h| names.hit(h)).collect(),
        })
    })
    .await
}

async fn skill_page(
    state: Arc<AppState>,
    reader: &Reader,
    layout: coopdir_web::pages::Layout,
    iri: NamedNode,
    graph: oxigraph::model::Graph,
) -> Result<Response, ApiError> {
    let tr = reader.tr;
    let audience = reader.audience_after_writes(&state).await?;
    let st = state.clone();
    let lang = reader.lang();
    let skill = iri.as_str().to_owned();
    let people = run(move || {
        let request = SearchRequest::parse(
            &[
                ("skill".to_owned(), skill),
                ("lang".to_owned(), lang.to_owned()),
            ],
            SKILL_PAGE_PEOPLE,
            200,
        )?;
        Ok(st.search.search(&request, &audience, today())?)
    })
    .await;
    let search = state.search.read();
    let names = names(&state, &search, reader);
    let taxonomy = &search.taxonomy;
    let label = names.skill_label(iri.as_str());
    let node = |id: coopdir_search::ConceptId| {
        let c = taxonomy.get(id);
        TreeNode {
            label: taxonomy.label(id, lang).to_owned(),
            href: names.href(c.iri.as_str()),
        }
    };
    let (chain, narrower): (Vec<TreeNode>, Vec<TreeNode>) = match taxonomy.id(iri.as_str()) {
        Some(id) => {
            let mut chain: Vec<TreeNode> =
                taxonomy.broader_chain(id).into_iter().map(node).collect();
            chain.reverse();
            let mut narrower: Vec<TreeNode> = taxonomy
                .get(id)
                .narrower
                .iter()
                .copied()
                .map(node)
                .collect();
            narrower.sort_by(|a, b| a.label.cmp(&b.label));
            (chain, narrower)
        }
        None => (Vec::new(), Vec::new()),
    };
    let to_links = |nodes: &[TreeNode]| -> Vec<Link> {
        nodes
            .iter()
            .map(|n| Link {
                name: n.label.clone(),
                href: n.href.clone(),
            })
            .collect()
    };
    let current = TreeNode {
        label: label.clone(),
        href: names.href(iri.as_str()),
    };
    let broader = match taxonomy.id(iri.as_str()) {
        Some(id) => taxonomy
            .get(id)
            .broader
            .iter()
            .copied()
            .map(node)
            .collect::<Vec<_>>(),
        None => Vec::new(),
    };
    let (people_cards, people_total) = match &people {
        Ok(results) => (
            results
                .items
                .iter()
                .filter_map(|h| search.person(h.slot))
                .map(|p| names.person_card(p))
                .collect(),
            results.total,
        ),
        Err(_) => (Vec::new(), 0),
    };
    let view = SkillView {
        definition: views::text(&graph, iri.as_ref(), skos::DEFINITION, lang),
        alt_labels: names.other_labels(&graph, iri.as_ref(), &label),
        tree: charts::tree(&tr, &chain, &current, &narrower),
        broader: to_links(&broader),
        narrower: to_links(&narrower),
        people: people_cards,
        people_total,
        search_href: url_with("/search", &[("skill".to_owned(), iri.as_str().to_owned())]),
        label,
    };
    drop(search);
    let page = SkillPage {
        t: tr,
        l: layout,
        s: view,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// `GET /{container}/` for browsers: the members, a page at a time.
pub(crate) async fn container_page(
    state: Arc<AppState>,
    reader: &Reader,
    kind: Kind,
    page: usize,
) -> Result<Response, ApiError> {
    let audience = reader.audience(&state).await?;
    let directory = state.directory.clone();
    let listing = run(move || {
        Ok(directory.read_container(kind, page.max(1), LIST_PAGE_SIZE, false, &audience)?)
    })
    .await?;
    let tr = reader.tr;
    let lang = reader.lang();
    let container = state.directory.paths().container(kind);
    let mut items: Vec<ListItem> = {
        let search = state.search.read();
        let names = names(&state, &search, reader);
        listing
            .graph
            .objects_for_subject_predicate(&container, ldp::CONTAINS)
            .filter_map(|m| match m {
                TermRef::NamedNode(n) => Some(n),
                _ => None,
            })
            .map(|member| {
                let name = match kind {
                    Kind::Skill => names.skill_label(member.as_str()),
                    _ => views::text(&listing.graph, member, schema::NAME, lang)
                        .unwrap_or_else(|| member.as_str().to_owned()),
                };
                let detail = match kind {
                    Kind::Worker => views::text(&listing.graph, member, schema::JOB_TITLE, lang),
                    Kind::Coop => views::text(&listing.graph, member, schema::LOCATION, lang),
                    Kind::Project => {
                        views::text(&listing.graph, member, coopdir_vocab::dir::STATUS, lang)
                            .map(|s| views::status(&tr, &s))
                    }
                    Kind::Skill => None,
                };
                ListItem {
                    name,
                    href: names.href(member.as_str()),
                    detail,
                }
            })
            .collect()
    };
    items.sort_by_key(|a| a.name.to_lowercase());
    let path = format!("/{}/", kind.container_segment());
    let heading = match kind {
        Kind::Worker => tr.t("search-title"),
        Kind::Coop => tr.t("nav-coops"),
        Kind::Project => tr.t("nav-projects"),
        Kind::Skill => tr.t("nav-skills"),
    };
    let new_href = (kind == Kind::Project && !reader.caller.principal.is_anonymous())
        .then(|| "/projects/new".to_owned());
    let page = ListPage {
        t: tr,
        l: reader.layout(&state).with_rdf_alternates(&path),
        heading,
        total: listing.total,
        pager: Pager::new(&tr, listing.page, listing.pages, |n| {
            format!("{path}?page={n}")
        }),
        items,
        new_href,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// Most skills drawn in the insight chart: beyond that a chart is no longer read.
const INSIGHT_CHART_ROWS: usize = 25;

/// `GET /insights/skills` for browsers: the chart and its table.
pub(crate) async fn insights_page(
    state: Arc<AppState>,
    reader: &Reader,
) -> Result<Response, ApiError> {
    let audience = reader.audience_after_writes(&state).await?;
    let st = state.clone();
    let lang = reader.lang();
    let items = run(move || Ok(st.search.skills_insight(&audience, today(), lang))).await?;
    let rows: Vec<InsightBar> = items
        .iter()
        .map(|i| InsightBar {
            label: i.label.clone(),
            href: local_path(&state, &i.skill),
            demand: i.headcount,
            now: i.available_now,
            within_30_days: i.available_within_30_days,
            supply: i.supply,
        })
        .collect();
    let page = InsightsPage {
        t: reader.tr,
        l: reader
            .layout(&state)
            .with_json_alternate("/insights/skills"),
        // The chart shows the scarcest skills (items come sorted by shortage); the table
        // below it keeps every row.
        chart: charts::insight(&reader.tr, &rows[..rows.len().min(INSIGHT_CHART_ROWS)]),
        charted_all: rows.len() <= INSIGHT_CHART_ROWS,
        rows,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// `GET /account` for browsers.
pub(crate) async fn account_page(
    state: Arc<AppState>,
    reader: &Reader,
) -> Result<Response, ApiError> {
    let principal = reader.caller.principal.clone();
    if principal.is_anonymous() {
        return Err(ApiError::unauthorized("log in to see your account"));
    }
    let access = state.directory.access().clone();
    let worker = principal.worker().cloned();
    let roles = run(move || {
        Ok(match &worker {
            Some(w) => access.roles(w)?,
            None => Default::default(),
        })
    })
    .await?;
    let account = principal
        .account_id()
        .and_then(|id| state.directory.access().account(id));
    let (admin_of, lead_of) = {
        let search = state.search.read();
        let names = names(&state, &search, reader);
        (
            roles
                .admin_of
                .iter()
                .map(|c| names.coop_link(c.as_str()))
                .collect(),
            roles
                .lead_of
                .iter()
                .map(|p| names.project_link(p.as_str()))
                .collect(),
        )
    };
    let page = AccountPage {
        t: reader.tr,
        l: reader.layout(&state),
        name: account
            .as_ref()
            .map_or_else(|| "admin".into(), |a| a.name.clone()),
        email: account
            .as_ref()
            .map_or_else(String::new, |a| a.email.clone()),
        profile: principal.worker().map(|w| local_path(&state, w.as_str())),
        server_admin: principal.is_server_admin(),
        admin_of,
        lead_of,
    };
    Ok(reader.html(StatusCode::OK, &page))
}

/// The kind and IRI of a member path, for the page handlers.
pub(crate) fn member(state: &AppState, segment: &str, slug: &str) -> Option<(Kind, NamedNode)> {
    let iri = format!("{}{segment}/{slug}", state.directory.paths().base());
    match state.directory.paths().locate(&iri) {
        Some(Location::Member(kind, iri)) => Some((kind, iri)),
        _ => None,
    }
}
