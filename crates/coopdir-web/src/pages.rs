//! The pages: one askama template each (checked at compile time), and the plain data
//! they show. Templates escape everything but the server-drawn SVG charts.

use askama::Template;
use std::collections::HashMap;

use crate::i18n::{Lang, Tr};

/// What every page's frame needs: who is logged in, the CSRF token for its forms, the
/// language switch, links to the other representations of the same URL.
#[derive(Debug, Clone)]
pub struct Layout {
    pub css: String,
    pub js: String,
    pub icon: String,
    pub user: Option<UserNav>,
    /// The session's CSRF token (or the pre-login one) for every form on the page.
    pub csrf: String,
    /// The path and query of this page, for the language switch and login to return to.
    pub here: String,
    pub here_encoded: String,
    pub languages: Vec<(&'static str, &'static str, bool)>,
    pub alternates: Vec<Alternate>,
    pub notices: Vec<String>,
}

impl Layout {
    pub fn new(lang: Lang, here: &str, csrf: String, user: Option<UserNav>) -> Self {
        Self {
            css: crate::assets::url("app.css"),
            js: crate::assets::url("app.js"),
            icon: crate::assets::url("icon.svg"),
            user,
            csrf,
            here: here.to_owned(),
            here_encoded: encode(here),
            languages: Lang::ALL
                .iter()
                .map(|l| (l.code(), l.native_name(), *l == lang))
                .collect(),
            alternates: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// Links to this URL as JSON-LD, Turtle and N-Triples (`?format=`).
    pub fn with_rdf_alternates(mut self, path: &str) -> Self {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.alternates = [
            ("JSON-LD", "application/ld+json", "jsonld"),
            ("Turtle", "text/turtle", "turtle"),
            ("N-Triples", "application/n-triples", "ntriples"),
        ]
        .into_iter()
        .map(|(name, media, format)| Alternate {
            name,
            media,
            href: format!("{path}{sep}format={format}"),
        })
        .collect();
        self
    }

    /// Links to a JSON-LD view of this page (search results and the like).
    pub fn with_json_alternate(mut self, path: &str) -> Self {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.alternates = vec![Alternate {
            name: "JSON-LD",
            media: "application/ld+json",
            href: format!("{path}{sep}format=jsonld"),
        }];
        self
    }
}

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct UserNav {
    pub name: String,
    pub profile: Option<String>,
    pub server_admin: bool,
}

#[derive(Debug, Clone)]
pub struct Alternate {
    pub name: &'static str,
    pub media: &'static str,
    pub href: String,
}

/// A link with a name.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub href: String,
}

/// An `<option>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    /// Options from `(value, message id)` pairs, `current` selected.
    pub fn list(tr: &Tr, values: &[(&str, &str)], current: &str) -> Vec<Choice> {
        values
            .iter()
            .map(|(value, id)| Choice {
                value: (*value).to_owned(),
                label: tr.t(id),
                selected: *value == current,
            })
            .collect()
    }
}

/// A skill as a chip: its label, maybe a level, maybe a note ("through Django").
#[derive(Debug, Clone)]
pub struct SkillChip {
    pub label: String,
    pub href: String,
    pub level: Option<String>,
    pub level_code: &'static str,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PersonCard {
    pub name: String,
    pub href: String,
    pub job: Option<String>,
    pub place: Option<String>,
    pub availability: String,
    pub availability_code: &'static str,
    /// The server the person lives on, when it is not this one.
    pub home: Option<String>,
    pub skills: Vec<SkillChip>,
}

#[derive(Debug, Clone)]
pub struct ProjectCard {
    pub name: String,
    pub href: String,
    pub status: String,
    pub status_code: String,
    pub coop: Option<Link>,
    pub needs: Vec<SkillChip>,
}

#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub pages: usize,
    pub label: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Links to the neighbouring pages; `href(n)` is page n's URL.
    pub fn new(tr: &Tr, page: usize, pages: usize, href: impl Fn(usize) -> String) -> Self {
        Self {
            pages,
            label: format!("{} {page} / {pages}", tr.t("page")),
            prev: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub people: usize,
    pub coops: usize,
    pub projects: usize,
    pub skills: usize,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub t: Tr,
    pub l: Layout,
    pub stats: Stats,
    pub recent: Vec<PersonCard>,
    pub projects: Vec<ProjectCard>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    /// The skills asked for: value as sent, label as shown.
    pub skills: Vec<Choice>,
    pub all: bool,
    pub q: String,
    pub place: String,
    pub coop: String,
    pub min_hours: String,
}

#[derive(Debug, Clone)]
pub struct HitView {
    pub name: String,
    pub href: String,
    pub availability: String,
    pub availability_code: &'static str,
    pub hours: Option<String>,
    pub place: Option<String>,
    pub coops: Vec<Link>,
    pub home: String,
    pub matched: Vec<SkillChip>,
}

#[derive(Debug, Clone)]
pub struct FacetLink {
    pub label: String,
    pub count: usize,
    pub href: String,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct FacetGroup {
    pub title: String,
    pub open: bool,
    pub values: Vec<FacetLink>,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage {
    pub t: Tr,
    pub l: Layout,
    pub form: SearchForm,
    pub levels: Vec<Choice>,
    pub available_choices: Vec<Choice>,
    pub error: Option<String>,
    pub suggestions: Vec<Link>,
    pub total: usize,
    pub hits: Vec<HitView>,
    pub facets: Vec<FacetGroup>,
    pub pager: Pager,
}

#[derive(Debug, Clone)]
pub struct WorkerView {
    pub name: String,
    pub job: Option<String>,
    pub description: Option<String>,
    pub place: Option<String>,
    pub email: Option<String>,
    pub availability: String,
    pub availability_code: &'static str,
    pub available_from: Option<String>,
    pub hours: Option<String>,
    pub coops: Vec<Link>,
    pub projects: Vec<Link>,
    pub skills: Vec<SkillChip>,
    pub links: Vec<String>,
    pub home: String,
    /// Shown to those who may edit the profile.
    pub visibility: Option<String>,
}

#[derive(Template)]
#[template(path = "worker.html")]
pub struct WorkerPage {
    pub t: Tr,
    pub l: Layout,
    pub p: WorkerView,
    pub can_edit: bool,
    pub edit_href: String,
}

#[derive(Debug, Clone)]
pub struct CoopView {
    pub name: String,
    pub description: Option<String>,
    pub place: Option<String>,
    pub network: Option<String>,
    pub url: Option<String>,
    pub email: Option<String>,
    pub admins: Vec<Link>,
    pub members: Vec<PersonCard>,
    pub projects: Vec<ProjectCard>,
}

#[derive(Template)]
#[template(path = "coop.html")]
pub struct CoopPage {
    pub t: Tr,
    pub l: Layout,
    pub c: CoopView,
    pub is_admin: bool,
    pub admin_href: String,
}

#[derive(Debug, Clone)]
pub struct NeedRow {
    pub label: String,
    pub href: String,
    pub level: String,
    pub headcount: u32,
}

#[derive(Debug, Clone)]
pub struct ProjectView {
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub status_code: String,
    pub coop: Option<Link>,
    pub lead: Option<Link>,
    pub team: Vec<Link>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub needs: Vec<NeedRow>,
}

#[derive(Debug, Clone)]
pub struct TeamRow {
    pub name: String,
    pub href: String,
    pub covers: String,
    pub free_from: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CandidatesView {
    pub chart: String,
    pub team: Vec<TeamRow>,
    pub uncovered: Vec<String>,
    pub total: usize,
    pub hits: Vec<HitView>,
}

#[derive(Template)]
#[template(path = "project.html")]
pub struct ProjectPage {
    pub t: Tr,
    pub l: Layout,
    pub p: ProjectView,
    pub can_edit: bool,
    pub edit_href: String,
    pub candidates: Option<CandidatesView>,
}

#[derive(Debug, Clone)]
pub struct SkillView {
    pub label: String,
    pub definition: Option<String>,
    pub alt_labels: String,
    pub broader: Vec<Link>,
    pub narrower: Vec<Link>,
    pub tree: String,
    pub people: Vec<PersonCard>,
    pub people_total: usize,
    pub search_href: String,
}

#[derive(Template)]
#[template(path = "skill.html")]
pub struct SkillPage {
    pub t: Tr,
    pub l: Layout,
    pub s: SkillView,
}

#[derive(Debug, Clone)]
pub struct ListItem {
    pub name: String,
    pub href: String,
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "list.html")]
pub struct ListPage {
    pub t: Tr,
    pub l: Layout,
    pub heading: String,
    pub total: usize,
    pub items: Vec<ListItem>,
    pub pager: Pager,
    pub new_href: Option<String>,
}

#[derive(Template)]
#[template(path = "insights.html")]
pub struct InsightsPage {
    pub t: Tr,
    pub l: Layout,
    pub chart: String,
    /// Whether the chart shows every row of the table (else only the scarcest).
    pub charted_all: bool,
    pub rows: Vec<crate::charts::InsightBar>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub t: Tr,
    pub l: Layout,
    pub heading: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub t: Tr,
    pub l: Layout,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
}

/// Field name → what is wrong with it.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(HashMap<String, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, field: impl AsRef<str>) -> Option<&String> {
        self.0.get(field.as_ref())
    }

    pub fn contains_key(&self, field: impl AsRef<str>) -> bool {
        self.0.contains_key(field.as_ref())
    }

    /// Keeps the first message given for a field.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds `other`'s messages for fields that have none yet.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, message) in other.0 {
            self.add(field, message);
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<(String, String)> for FieldErrors {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[derive(Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub t: Tr,
    pub l: Layout,
    pub action: String,
    pub coop: String,
    pub email: String,
    pub name: String,
    pub error: Option<String>,
    pub errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub t: Tr,
    pub l: Layout,
    pub name: String,
    pub email: String,
    pub profile: Option<String>,
    pub server_admin: bool,
    pub admin_of: Vec<Link>,
    pub lead_of: Vec<Link>,
}

/// A row of skills in a form: the skill's label (as typed), a level, and a number
/// (years for a person, headcount for a project).
#[derive(Debug, Clone)]
pub struct SkillRow {
    pub label: String,
    pub levels: Vec<Choice>,
    pub years: String,
    pub field: String,
    pub years_field: String,
}

/// What the profile form holds, as typed.
#[derive(Debug, Clone, Default)]
pub struct ProfileFields {
    pub etag: String,
    pub name: String,
    pub job_title: String,
    pub description: String,
    pub location: String,
    pub email: String,
    pub public_contact: bool,
    pub links: String,
    pub available_from: String,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "profile_form.html")]
pub struct ProfileFormPage {
    pub t: Tr,
    pub l: Layout,
    pub action: String,
    pub cancel: String,
    pub f: ProfileFields,
    pub availability: Vec<Choice>,
    pub visibility: Vec<Choice>,
    pub skill_rows: Vec<SkillRow>,
    pub errors: FieldErrors,
    pub general: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ProjectFields {
    pub etag: String,
    pub name: String,
    pub description: String,
    pub start: String,
    pub end: String,
}

#[derive(Template)]
#[template(path = "project_form.html")]
pub struct ProjectFormPage {
    pub t: Tr,
    pub l: Layout,
    pub heading: String,
    pub action: String,
    pub cancel: String,
    pub f: ProjectFields,
    pub statuses: Vec<Choice>,
    pub coops: Vec<Choice>,
    pub skill_rows: Vec<SkillRow>,
    pub errors: FieldErrors,
    pub general: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub email: String,
    pub expires: String,
    pub revoke_action: String,
}

#[derive(Template)]
#[template(path = "coop_admin.html")]
pub struct CoopAdminPage {
    pub t: Tr,
    pub l: Layout,
    pub coop: Link,
    pub invite_action: String,
    pub email: String,
    pub errors: FieldErrors,
    pub new_link: Option<String>,
    pub invitations: Vec<InvitationRow>,
    pub members: Vec<ListItem>,
}

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub name: String,
    pub email: String,
    pub profile: Option<String>,
    pub state: String,
    pub toggle_action: String,
    pub toggle_label: String,
}

#[derive(Debug, Clone)]
pub struct ProposalRow {
    pub label: String,
    pub by: String,
    pub accept_action: String,
    pub reject_action: String,
}

#[derive(Debug, Clone)]
pub struct PeerRow {
    pub url: String,
    pub sync: String,
    pub push: String,
    pub resources: String,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub t: Tr,
    pub l: Layout,
    pub accounts: Vec<AccountRow>,
    pub proposals: Vec<ProposalRow>,
    pub peers: Vec<PeerRow>,
}
