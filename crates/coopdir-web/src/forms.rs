//! The profile and project forms: what was typed, turned into the resource's graph, and
//! everything wrong with it (from our own checks or the SHACL report) tied to the field
//! it concerns, so the page can show it there with the input kept.

use std::collections::HashMap;

use coopdir_search::{Level, Taxonomy};
use coopdir_shacl::ValidationReport;
use coopdir_vocab::{dir, schema};
use oxigraph::model::vocab::{rdf, xsd};
use oxigraph::model::{
    BlankNode, Graph, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Term, TermRef, Triple,
};

use crate::i18n::Tr;
use crate::pages::{Choice, FieldErrors, SkillRow};
use crate::views::{links, text};

/// Skill rows a form shows beyond those filled in.
pub const EMPTY_ROWS: usize = 3;
/// At most this many skill rows in one form.
pub const MAX_ROWS: usize = 60;

/// A submitted form: field name → value (the last one for repeated names).
#[derive(Debug, Clone, Default)]
pub struct Submitted {
    fields: HashMap<String, String>,
}

impl Submitted {
    pub fn parse(body: &[u8]) -> Result<Self, serde_urlencoded::de::Error> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)?;
        Ok(Self {
            fields: pairs.into_iter().collect(),
        })
    }

    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", |v| v.trim())
    }

    pub fn has(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// How many skill rows the form had, plus more when "More rows" was pressed.
    pub fn rows(&self) -> usize {
        let rows: usize = self.get("rows").parse().unwrap_or(0);
        let more = if self.has("more") { EMPTY_ROWS } else { 0 };
        (rows + more).min(MAX_ROWS)
    }

    /// Whether "More rows" (not Save) sent the form.
    pub fn wants_more_rows(&self) -> bool {
        self.has("more")
    }
}

/// A skill row as typed: label, level, and its number (years or headcount).
#[derive(Debug, Clone, Default)]
pub struct RowInput {
    pub label: String,
    pub level: String,
    pub number: String,
}

/// The rows for the form page, with `empty` blank rows after those given.
pub fn skill_rows(tr: &Tr, rows: &[RowInput], empty: usize, number_field: &str) -> Vec<SkillRow> {
    let levels = [
        ("", "level-any"),
        ("beginner", "level-beginner"),
        ("intermediate", "level-intermediate"),
        ("expert", "level-expert"),
    ];
    rows.iter()
        .cloned()
        .chain(std::iter::repeat_n(RowInput::default(), empty))
        .enumerate()
        .map(|(i, row)| SkillRow {
            levels: Choice::list(tr, &levels, &row.level),
            label: row.label,
            years: row.number,
            field: format!("skill-{i}"),
            years_field: format!("{number_field}-{i}"),
        })
        .collect()
}

/// Finds a skill by IRI or by any of its labels, in any language.
pub fn resolve_skill(taxonomy: &Taxonomy, typed: &str) -> Result<NamedNode, &'static str> {
    if let Some(id) = taxonomy.id(typed).filter(|id| taxonomy.get(*id).known) {
        return Ok(taxonomy.get(id).iri.clone());
    }
    let folded = coopdir_search::text::fold(typed);
    let mut found: Vec<&NamedNode> = taxonomy
        .by_label(&folded)
        .iter()
        .map(|id| taxonomy.get(*id))
        .filter(|c| c.known)
        .map(|c| &c.iri)
        .collect();
    found.sort();
    found.dedup();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err("error-unknown-skill"),
        _ => Err("error-ambiguous-skill"),
    }
}

/// The rows of a stored qualified-skill property (`dir:hasSkill`, `dir:need`), with the
/// number property (`dir:years`, `dir:headcount`) of each.
pub fn stored_rows(
    graph: &Graph,
    iri: NamedNodeRef<'_>,
    property: NamedNodeRef<'_>,
    number: NamedNodeRef<'_>,
    label: impl Fn(&str) -> String,
) -> Vec<RowInput> {
    let mut rows = Vec::new();
    for node in graph.objects_for_subject_predicate(iri, property) {
        let node: NamedOrBlankNode = match node {
            TermRef::BlankNode(b) => b.into_owned().into(),
            TermRef::NamedNode(n) => n.into_owned().into(),
            _ => continue,
        };
        let Some(TermRef::NamedNode(skill)) = graph.object_for_subject_predicate(&node, dir::SKILL)
        else {
            continue;
        };
        let value = |p| match graph.object_for_subject_predicate(&node, p) {
            Some(TermRef::Literal(l)) => l.value().to_owned(),
            _ => String::new(),
        };
        rows.push(RowInput {
            label: label(skill.as_str()),
            level: value(dir::LEVEL),
            number: value(number),
        });
    }
    rows.sort_by(|a, b| a.label.cmp(&b.label));
    rows
}

/// Every row as typed, blank ones included, so row numbers match their errors.
pub fn all_rows(form: &Submitted, number_field: &str) -> Vec<RowInput> {
    let rows = form.get("rows").parse::<usize>().unwrap_or(0).min(MAX_ROWS);
    (0..rows)
        .map(|i| row_input(form, i, number_field))
        .collect()
}

fn row_input(form: &Submitted, i: usize, number_field: &str) -> RowInput {
    RowInput {
        label: form.get(&format!("skill-{i}")).to_owned(),
        level: form.get(&format!("level-{i}")).to_owned(),
        number: form.get(&format!("{number_field}-{i}")).to_owned(),
    }
}

/// The rows as submitted (blank ones dropped).
pub fn submitted_rows(form: &Submitted, number_field: &str) -> Vec<(usize, RowInput)> {
    (0..form.rows().max(1))
        .map(|i| (i, row_input(form, i, number_field)))
        .filter(|(_, r)| !r.label.is_empty())
        .collect()
}

/// The graph a form describes, the field of each blank node it made (for errors the
/// shapes report on them), and the errors found before validation.
pub struct Built {
    pub graph: Graph,
    pub nodes: HashMap<BlankNode, usize>,
    pub errors: HashMap<String, &'static str>,
}

fn literal(graph: &mut Graph, s: NamedNodeRef<'_>, p: NamedNodeRef<'_>, value: &str) {
    if !value.is_empty() {
        graph.insert(&Triple::new(
            s.into_owned(),
            p.into_owned(),
            Literal::new_simple_literal(value),
        ));
    }
}

fn typed(
    graph: &mut Graph,
    s: impl Into<NamedOrBlankNode>,
    p: NamedNodeRef<'_>,
    value: &str,
    datatype: NamedNodeRef<'_>,
) {
    graph.insert(&Triple::new(
        s,
        p.into_owned(),
        Literal::new_typed_literal(value, datatype.into_owned()),
    ));
}

fn is_date(value: &str) -> bool {
    value.len() == 10 && crate::views::parse_date(value).is_some()
}

/// Keeps what the form does not manage: every triple of `old` about `iri` except the
/// `managed` properties, and blank nodes reached from what is kept.
fn kept(old: &Graph, iri: NamedNodeRef<'_>, managed: &[NamedNodeRef<'_>]) -> Graph {
    let mut graph = Graph::new();
    let mut queue: Vec<NamedOrBlankNode> = Vec::new();
    for t in old.triples_for_subject(iri) {
        if managed.contains(&t.predicate) {
            continue;
        }
        if let TermRef::BlankNode(b) = t.object {
            queue.push(b.into_owned().into());
        }
        graph.insert(t);
    }
    while let Some(node) = queue.pop() {
        for t in old.triples_for_subject(&node) {
            if let TermRef::BlankNode(b) = t.object {
                queue.push(b.into_owned().into());
            }
            graph.insert(t);
        }
    }
    graph
}

/// How a form's skill rows become qualified-skill nodes.
struct SkillRows {
    /// `dir:hasSkill` or `dir:need`.
    property: NamedNodeRef<'static>,
    /// The row's number field (`years-N`, `headcount-N`) and its property.
    number_field: &'static str,
    number: NamedNodeRef<'static>,
    /// A plain link to each skill as well (`dir:requiresSkill`).
    also: Option<NamedNodeRef<'static>>,
    min: u32,
    /// The number when the row leaves it empty.
    default: Option<&'static str>,
}

/// One node per filled-in row (skill, level, number); the field of each node, for the
/// shapes' errors; a row whose skill or number is not understood is an error instead.
fn add_skill_rows(
    graph: &mut Graph,
    iri: NamedNodeRef<'_>,
    form: &Submitted,
    taxonomy: &Taxonomy,
    errors: &mut HashMap<String, &'static str>,
    rows: SkillRows,
) -> HashMap<BlankNode, usize> {
    let mut nodes = HashMap::new();
    for (i, row) in submitted_rows(form, rows.number_field) {
        let skill = match resolve_skill(taxonomy, &row.label) {
            Ok(skill) => skill,
            Err(message) => {
                errors.insert(format!("skill-{i}"), message);
                continue;
            }
        };
        if let Some(also) = rows.also {
            graph.insert(&Triple::new(
                iri.into_owned(),
                also.into_owned(),
                skill.clone(),
            ));
        }
        let node = BlankNode::default();
        graph.insert(&Triple::new(
            iri.into_owned(),
            rows.property.into_owned(),
            node.clone(),
        ));
        graph.insert(&Triple::new(node.clone(), dir::SKILL.into_owned(), skill));
        if let Some(level) = Level::parse(&row.level) {
            graph.insert(&Triple::new(
                node.clone(),
                dir::LEVEL.into_owned(),
                Literal::new_simple_literal(level.as_str()),
            ));
        }
        let number = match (row.number.as_str(), rows.default) {
            ("", None) => None,
            ("", Some(default)) => Some(default),
            (typed, _) => Some(typed),
        };
        if let Some(number) = number {
            match number.parse::<u32>() {
                Ok(n) if n >= rows.min => typed(
                    graph,
                    node.clone(),
                    rows.number,
                    &n.to_string(),
                    xsd::INTEGER,
                ),
                _ => {
                    errors.insert(format!("{}-{i}", rows.number_field), "error-number");
                }
            }
        }
        nodes.insert(node, i);
    }
    nodes
}

const PROFILE_FIELDS: [(NamedNodeRef<'static>, &str); 11] = [
    (schema::NAME, "name"),
    (schema::JOB_TITLE, "jobTitle"),
    (schema::DESCRIPTION, "description"),
    (schema::LOCATION, "location"),
    (schema::EMAIL, "email"),
    (dir::PUBLIC_CONTACT, "publicContact"),
    (schema::SAME_AS, "links"),
    (dir::AVAILABILITY, "availability"),
    (dir::AVAILABLE_FROM, "availableFrom"),
    (dir::HOURS_PER_WEEK, "hoursPerWeek"),
    (dir::VISIBILITY, "visibility"),
];

/// A person's graph from the profile form, on top of what the form does not manage
/// (co-ops, projects, and anything a script added).
pub fn profile_graph(
    old: &Graph,
    iri: NamedNodeRef<'_>,
    form: &Submitted,
    taxonomy: &Taxonomy,
) -> Built {
    let mut managed: Vec<NamedNodeRef<'_>> = PROFILE_FIELDS.iter().map(|(p, _)| *p).collect();
    managed.extend([dir::HAS_SKILL, schema::KNOWS_ABOUT]);
    let mut graph = kept(old, iri, &managed);
    let mut errors: HashMap<String, &'static str> = HashMap::new();
    if !form.has("name") {
        errors.insert("name".into(), "error-required");
    }
    for (p, field) in [
        (schema::NAME, "name"),
        (schema::JOB_TITLE, "jobTitle"),
        (schema::DESCRIPTION, "description"),
        (schema::LOCATION, "location"),
        (schema::EMAIL, "email"),
        (dir::AVAILABILITY, "availability"),
        (dir::VISIBILITY, "visibility"),
    ] {
        literal(&mut graph, iri, p, form.get(field));
    }
    if form.get("publicContact") == "true" {
        typed(
            &mut graph,
            iri.into_owned(),
            dir::PUBLIC_CONTACT,
            "true",
            xsd::BOOLEAN,
        );
    }
    let from = form.get("availableFrom");
    if !from.is_empty() {
        if is_date(from) {
            typed(
                &mut graph,
                iri.into_owned(),
                dir::AVAILABLE_FROM,
                from,
                xsd::DATE,
            );
        } else {
            errors.insert("availableFrom".into(), "error-date");
        }
    }
    let hours = form.get("hoursPerWeek");
    if !hours.is_empty() {
        match hours.parse::<u32>() {
            Ok(h) => typed(
                &mut graph,
                iri.into_owned(),
                dir::HOURS_PER_WEEK,
                &h.to_string(),
                xsd::INTEGER,
            ),
            Err(_) => {
                errors.insert("hoursPerWeek".into(), "error-number");
            }
        }
    }
    for line in form
        .get("links")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match NamedNode::new(line) {
            Ok(link) if line.starts_with("https://") || line.starts_with("http://") => {
                graph.insert(&Triple::new(
                    iri.into_owned(),
                    schema::SAME_AS.into_owned(),
                    link,
                ));
            }
            _ => {
                errors.insert("links".into(), "error-url");
            }
        }
    }
    let nodes = add_skill_rows(
        &mut graph,
        iri,
        form,
        taxonomy,
        &mut errors,
        SkillRows {
            property: dir::HAS_SKILL,
            number_field: "years",
            number: dir::YEARS,
            also: None,
            min: 0,
            default: None,
        },
    );
    Built {
        graph,
        nodes,
        errors,
    }
}

const PROJECT_FIELDS: [(NamedNodeRef<'static>, &str); 6] = [
    (schema::NAME, "name"),
    (schema::DESCRIPTION, "description"),
    (dir::STATUS, "status"),
    (schema::SOURCE_ORGANIZATION, "coop"),
    (schema::START_DATE, "startDate"),
    (schema::END_DATE, "endDate"),
];

/// A project's graph from the project form; lead and team are kept as stored.
pub fn project_graph(
    old: &Graph,
    iri: NamedNodeRef<'_>,
    form: &Submitted,
    taxonomy: &Taxonomy,
) -> Built {
    let mut managed: Vec<NamedNodeRef<'_>> = PROJECT_FIELDS.iter().map(|(p, _)| *p).collect();
    managed.extend([dir::NEED, dir::REQUIRES_SKILL]);
    let mut graph = kept(old, iri, &managed);
    graph.insert(&Triple::new(
        iri.into_owned(),
        rdf::TYPE.into_owned(),
        schema::PROJECT.into_owned(),
    ));
    let mut errors: HashMap<String, &'static str> = HashMap::new();
    if !form.has("name") {
        errors.insert("name".into(), "error-required");
    }
    literal(&mut graph, iri, schema::NAME, form.get("name"));
    literal(
        &mut graph,
        iri,
        schema::DESCRIPTION,
        form.get("description"),
    );
    literal(&mut graph, iri, dir::STATUS, form.get("status"));
    let coop = form.get("coop");
    if !coop.is_empty() {
        match NamedNode::new(coop) {
            Ok(coop) => {
                graph.insert(&Triple::new(
                    iri.into_owned(),
                    schema::SOURCE_ORGANIZATION.into_owned(),
                    coop,
                ));
            }
            Err(_) => {
                errors.insert("coop".into(), "error-invalid-value");
            }
        }
    }
    for (p, field) in [
        (schema::START_DATE, "startDate"),
        (schema::END_DATE, "endDate"),
    ] {
        let value = form.get(field);
        if value.is_empty() {
            continue;
        }
        if is_date(value) {
            typed(&mut graph, iri.into_owned(), p, value, xsd::DATE);
        } else {
            errors.insert(field.into(), "error-date");
        }
    }
    let nodes = add_skill_rows(
        &mut graph,
        iri,
        form,
        taxonomy,
        &mut errors,
        SkillRows {
            property: dir::NEED,
            number_field: "headcount",
            number: dir::HEADCOUNT,
            also: Some(dir::REQUIRES_SKILL),
            min: 1,
            default: Some("1"),
        },
    );
    Built {
        graph,
        nodes,
        errors,
    }
}

/// Ties each violation of `report` to a form field: a property of the resource to its
/// field, a property of a skill row's node to that row's field; the rest are general.
pub fn report_errors(
    report: &ValidationReport,
    built: &Built,
    fields: &[(NamedNodeRef<'static>, &str)],
    number_field: &str,
) -> (FieldErrors, Vec<String>) {
    let mut by_field = FieldErrors::new();
    let mut general = Vec::new();
    for result in report.violations() {
        let row = match &result.focus_node {
            Term::BlankNode(b) => built.nodes.get(b).copied(),
            _ => None,
        };
        let path = result.path.as_ref().map(NamedNode::as_ref);
        let field = match (row, path) {
            (Some(i), Some(p)) if p == dir::LEVEL => Some(format!("level-{i}")),
            (Some(i), Some(p)) if p == dir::YEARS || p == dir::HEADCOUNT => {
                Some(format!("{number_field}-{i}"))
            }
            (Some(i), _) => Some(format!("skill-{i}")),
            (None, Some(p)) => fields
                .iter()
                .find(|(property, _)| *property == p)
                .map(|(_, f)| (*f).to_owned()),
            (None, None) => None,
        };
        match field {
            Some(field) => by_field.add(field, result.message.clone()),
            None => general.push(result.message.clone()),
        }
    }
    (by_field, general)
}

/// The profile form's fields and properties, for [`report_errors`].
pub fn profile_fields() -> &'static [(NamedNodeRef<'static>, &'static str)] {
    &PROFILE_FIELDS
}

pub fn project_fields() -> &'static [(NamedNodeRef<'static>, &'static str)] {
    &PROJECT_FIELDS
}

/// The profile form's values from a stored graph.
pub fn profile_values(graph: &Graph, iri: NamedNodeRef<'_>) -> crate::pages::ProfileFields {
    let get = |p| text(graph, iri, p, "").unwrap_or_default();
    crate::pages::ProfileFields {
        etag: String::new(),
        name: get(schema::NAME),
        job_title: get(schema::JOB_TITLE),
        description: get(schema::DESCRIPTION),
        location: get(schema::LOCATION),
        email: get(schema::EMAIL),
        public_contact: get(dir::PUBLIC_CONTACT) == "true",
        links: links(graph, iri, schema::SAME_AS).join("\n"),
        available_from: get(dir::AVAILABLE_FROM),
        hours: get(dir::HOURS_PER_WEEK),
    }
}

/// The profile form's values as submitted.
pub fn profile_submitted(form: &Submitted) -> crate::pages::ProfileFields {
    crate::pages::ProfileFields {
        etag: form.get("etag").to_owned(),
        name: form.get("name").to_owned(),
        job_title: form.get("jobTitle").to_owned(),
        description: form.get("description").to_owned(),
        location: form.get("location").to_owned(),
        email: form.get("email").to_owned(),
        public_contact: form.get("publicContact") == "true",
        links: form.get("links").to_owned(),
        available_from: form.get("availableFrom").to_owned(),
        hours: form.get("hoursPerWeek").to_owned(),
    }
}

pub fn project_values(graph: &Graph, iri: NamedNodeRef<'_>) -> crate::pages::ProjectFields {
    let get = |p| text(graph, iri, p, "").unwrap_or_default();
    crate::pages::ProjectFields {
        etag: String::new(),
        name: get(schema::NAME),
        description: get(schema::DESCRIPTION),
        start: get(schema::START_DATE),
        end: get(schema::END_DATE),
    }
}

pub fn project_submitted(form: &Submitted) -> crate::pages::ProjectFields {
    crate::pages::ProjectFields {
        etag: form.get("etag").to_owned(),
        name: form.get("name").to_owned(),
        description: form.get("description").to_owned(),
        start: form.get("startDate").to_owned(),
        end: form.get("endDate").to_owned(),
    }
}

/// Translates the message ids of our own checks.
pub fn translate(tr: &Tr, errors: &HashMap<String, &'static str>) -> FieldErrors {
    errors
        .iter()
        .map(|(field, id)| (field.clone(), tr.t(id)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Submitted {
        let body = serde_urlencoded::to_string(pairs).expect("encode");
        Submitted::parse(body.as_bytes()).expect("parse")
    }

    #[test]
    fn a_profile_form_keeps_what_it_does_not_manage_and_reports_bad_fields() {
        let iri = NamedNode::new("http://example.org/workers/ada").expect("iri");
        let coop = NamedNode::new("http://example.org/coops/x").expect("iri");
        let mut old = Graph::new();
        old.insert(&Triple::new(
            iri.clone(),
            schema::MEMBER_OF.into_owned(),
            coop.clone(),
        ));
        old.insert(&Triple::new(
            iri.clone(),
            schema::NAME.into_owned(),
            Literal::new_simple_literal("Old"),
        ));
        let taxonomy = Taxonomy::default();
        let built = profile_graph(
            &old,
            iri.as_ref(),
            &form(&[
                ("name", ""),
                ("hoursPerWeek", "many"),
                ("availableFrom", "2027-13-40"),
                ("links", "not a link"),
                ("rows", "1"),
                ("skill-0", "Nothing like this"),
            ]),
            &taxonomy,
        );
        assert_eq!(built.errors.get("name"), Some(&"error-required"));
        assert_eq!(built.errors.get("hoursPerWeek"), Some(&"error-number"));
        assert_eq!(built.errors.get("availableFrom"), Some(&"error-date"));
        assert_eq!(built.errors.get("links"), Some(&"error-url"));
        assert_eq!(built.errors.get("skill-0"), Some(&"error-unknown-skill"));
        assert!(built.graph.contains(&Triple::new(
            iri.clone(),
            schema::MEMBER_OF.into_owned(),
            coop
        )));
        assert!(text(&built.graph, iri.as_ref(), schema::NAME, "").is_none());
    }
}
