//! What search keeps of each person, project and co-op, read from their stored graphs.

use coopdir_access::policy::WorkerFacts;
use coopdir_vocab::{dcterms, dir, schema};
use oxigraph::model::{Graph, NamedNode, NamedNodeRef, NamedOrBlankNodeRef, Term, TermRef};
use std::sync::Arc;
use time::Date;

use crate::taxonomy::{ConceptId, Taxonomy};
use crate::text::fold;

/// A skill level; its number is what ranking counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Beginner = 1,
    Intermediate = 2,
    Expert = 3,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Beginner, Level::Intermediate, Level::Expert];

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == value)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Expert => "expert",
        }
    }

    pub fn points(level: Option<Level>) -> u32 {
        level.map_or(1, |l| l as u32)
    }
}

/// `dir:availability`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Partly,
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct HeldSkill {
    pub concept: ConceptId,
    /// `None` for a skill named only in `schema:knowsAbout`.
    pub level: Option<Level>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub iri: NamedNode,
    pub name: String,
    /// The name folded, for stable tie-breaking.
    pub sort_name: String,
    pub job_title: Option<String>,
    pub place: Option<String>,
    pub place_folded: String,
    pub availability: Option<Availability>,
    pub available_from: Option<Date>,
    pub hours: Option<u32>,
    pub skills: Vec<HeldSkill>,
    /// Visibility, and the co-ops and projects the person is `schema:memberOf`.
    pub facts: WorkerFacts,
    /// The base URL of the server the person lives on.
    pub origin: Arc<str>,
    /// `dcterms:modified` as stored (an `xsd:dateTime`; the server writes one format, so
    /// the text sorts in time order).
    pub modified: Option<String>,
}

impl Person {
    pub fn from_graph(
        graph: &Graph,
        iri: NamedNodeRef<'_>,
        taxonomy: &mut Taxonomy,
        origin: Arc<str>,
    ) -> Self {
        let iri_owned = iri.into_owned();
        let text = |p| literal(graph, iri, p);
        let name = text(schema::NAME).unwrap_or_else(|| iri.as_str().to_owned());
        let place = text(schema::LOCATION);
        let mut skills: Vec<HeldSkill> = Vec::new();
        for (_, skill, level) in qualified(graph, iri, dir::HAS_SKILL) {
            let concept = taxonomy.intern(skill);
            match skills.iter_mut().find(|s| s.concept == concept) {
                Some(s) => s.level = s.level.max(level),
                None => skills.push(HeldSkill { concept, level }),
            }
        }
        for skill in graph.objects_for_subject_predicate(iri, schema::KNOWS_ABOUT) {
            if let TermRef::NamedNode(skill) = skill {
                let concept = taxonomy.intern(skill);
                if !skills.iter().any(|s| s.concept == concept) {
                    skills.push(HeldSkill {
                        concept,
                        level: None,
                    });
                }
            }
        }
        Person {
            sort_name: fold(&name),
            name,
            job_title: text(schema::JOB_TITLE),
            place_folded: place.as_deref().map(fold).unwrap_or_default(),
            place,
            availability: text(dir::AVAILABILITY).and_then(|a| match a.as_str() {
                "available" => Some(Availability::Available),
                "partly" => Some(Availability::Partly),
                "unavailable" => Some(Availability::Unavailable),
                _ => None,
            }),
            available_from: text(dir::AVAILABLE_FROM).and_then(|d| parse_date(&d)),
            hours: text(dir::HOURS_PER_WEEK).and_then(|h| h.parse().ok()),
            skills,
            facts: WorkerFacts::from_graph(graph, &iri_owned),
            origin,
            modified: text(dcterms::MODIFIED),
            iri: iri_owned,
        }
    }

    /// The first day the person is free to take work, if ever: today for someone
    /// available (or partly) with no later start date, their `availableFrom` when it is
    /// later or they are unavailable now, and never for someone unavailable without one.
    pub fn free_from(&self, today: Date) -> Option<Date> {
        match (self.availability, self.available_from) {
            (Some(Availability::Unavailable), None) => None,
            (_, Some(from)) => Some(from.max(today)),
            (_, None) => Some(today),
        }
    }

    /// The words free text is matched against: name, job title, description, place
    /// and every label of every skill held.
    pub fn text(&self, graph: &Graph, taxonomy: &Taxonomy) -> String {
        let mut text = String::with_capacity(256);
        for part in [
            Some(&self.name),
            self.job_title.as_ref(),
            self.place.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            text.push_str(part);
            text.push('\n');
        }
        if let Some(d) = literal(graph, self.iri.as_ref(), schema::DESCRIPTION) {
            text.push_str(&d);
            text.push('\n');
        }
        for s in &self.skills {
            for l in &taxonomy.get(s.concept).labels {
                text.push_str(&l.text);
                text.push('\n');
            }
        }
        fold(&text)
    }
}

/// A skill a project needs.
#[derive(Debug, Clone)]
pub struct Need {
    pub concept: ConceptId,
    pub level: Option<Level>,
    pub headcount: u32,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub iri: NamedNode,
    pub name: String,
    pub status: String,
    pub members: Vec<NamedNode>,
    pub lead: Option<NamedNode>,
    pub start: Option<Date>,
    pub needs: Vec<Need>,
    /// `schema:sourceOrganization`: the co-op running it.
    pub coop: Option<NamedNode>,
    pub modified: Option<String>,
}

impl Project {
    pub fn from_graph(graph: &Graph, iri: NamedNodeRef<'_>, taxonomy: &mut Taxonomy) -> Self {
        let mut needs: Vec<Need> = Vec::new();
        for (subject, skill, level) in qualified(graph, iri, dir::NEED) {
            let headcount = match graph.object_for_subject_predicate(subject, dir::HEADCOUNT) {
                Some(TermRef::Literal(l)) => l.value().parse().unwrap_or(1).max(1),
                _ => 1,
            };
            needs.push(Need {
                concept: taxonomy.intern(skill),
                level,
                headcount,
            });
        }
        for skill in named(graph, iri, dir::REQUIRES_SKILL) {
            let concept = taxonomy.intern(skill.as_ref());
            if !needs.iter().any(|n| n.concept == concept) {
                needs.push(Need {
                    concept,
                    level: None,
                    headcount: 1,
                });
            }
        }
        Project {
            iri: iri.into_owned(),
            name: literal(graph, iri, schema::NAME).unwrap_or_else(|| iri.as_str().to_owned()),
            status: literal(graph, iri, dir::STATUS).unwrap_or_default(),
            members: named(graph, iri, schema::MEMBER),
            lead: named(graph, iri, dir::LEAD).into_iter().next(),
            start: literal(graph, iri, schema::START_DATE).and_then(|d| parse_date(&d)),
            needs,
            coop: named(graph, iri, schema::SOURCE_ORGANIZATION)
                .into_iter()
                .next(),
            modified: literal(graph, iri, dcterms::MODIFIED),
        }
    }

    /// Open or proposed projects are the ones still looking for people.
    pub fn is_looking(&self) -> bool {
        matches!(self.status.as_str(), "open" | "proposed")
    }
}

/// The nodes `subject --property-->` that name a `dir:skill` and maybe a `dir:level`
/// (qualified skills of people, needs of projects): each node, its skill and level.
fn qualified<'a>(
    graph: &'a Graph,
    subject: NamedNodeRef<'a>,
    property: NamedNodeRef<'a>,
) -> impl Iterator<Item = (NamedOrBlankNodeRef<'a>, NamedNodeRef<'a>, Option<Level>)> + 'a {
    graph
        .objects_for_subject_predicate(subject, property)
        .filter_map(move |node| {
            let node = match node {
                TermRef::BlankNode(b) => NamedOrBlankNodeRef::from(b),
                TermRef::NamedNode(n) => n.into(),
                _ => return None,
            };
            let Some(TermRef::NamedNode(skill)) =
                graph.object_for_subject_predicate(node, dir::SKILL)
            else {
                return None;
            };
            let level = match graph.object_for_subject_predicate(node, dir::LEVEL) {
                Some(TermRef::Literal(l)) => Level::parse(l.value()),
                _ => None,
            };
            Some((node, skill, level))
        })
}

pub fn literal(graph: &Graph, subject: NamedNodeRef<'_>, p: NamedNodeRef<'_>) -> Option<String> {
    match graph.object_for_subject_predicate(subject, p) {
        Some(TermRef::Literal(l)) => Some(l.value().to_owned()),
        _ => None,
    }
}

fn named(graph: &Graph, subject: NamedNodeRef<'_>, p: NamedNodeRef<'_>) -> Vec<NamedNode> {
    graph
        .objects_for_subject_predicate(subject, p)
        .filter_map(|o| match o.into_owned() {
            Term::NamedNode(n) => Some(n),
            _ => None,
        })
        .collect()
}

pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text.get(..10)?,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}
