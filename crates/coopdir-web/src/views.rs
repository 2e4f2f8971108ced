//! Page data from what the server holds: a resource's graph (already cut to what the
//! reader may see by `coopdir-ldp`) and the search index's names of people, co-ops,
//! projects and skills, in the reader's language.

use coopdir_search::query::Hit;
use coopdir_search::{Availability, Level, Person, Project, State, Via};
use coopdir_vocab::{dir, schema, skos};
use oxigraph::model::{Graph, NamedNodeRef, TermRef};
use time::Date;

use crate::i18n::Tr;
use crate::pages::{
    CoopView, HitView, Link, NeedRow, PersonCard, ProjectCard, ProjectView, SkillChip, WorkerView,
};

/// The text of `subject --p-->`, preferring the reader's language.
pub fn text(
    graph: &Graph,
    subject: NamedNodeRef<'_>,
    p: NamedNodeRef<'_>,
    lang: &str,
) -> Option<String> {
    let mut best: Option<(u8, String)> = None;
    for object in graph.objects_for_subject_predicate(subject, p) {
        if let TermRef::Literal(l) = object {
            let rank = match l.language() {
                Some(tag) if tag.eq_ignore_ascii_case(lang) => 3,
                None => 2,
                Some(tag) if tag.eq_ignore_ascii_case("en") => 1,
                Some(_) => 0,
            };
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, l.value().to_owned()));
            }
        }
    }
    best.map(|(_, t)| t)
}

/// Every IRI `subject --p-->` links to, in stored order.
pub fn links<'a>(graph: &'a Graph, subject: NamedNodeRef<'a>, p: NamedNodeRef<'a>) -> Vec<String> {
    let mut out: Vec<String> = graph
        .objects_for_subject_predicate(subject, p)
        .filter_map(|o| match o {
            TermRef::NamedNode(n) => Some(n.as_str().to_owned()),
            _ => None,
        })
        .collect();
    out.sort();
    out
}

pub fn availability(tr: &Tr, value: Option<Availability>) -> (String, &'static str) {
    let code = match value {
        Some(Availability::Available) => "available",
        Some(Availability::Partly) => "partly",
        Some(Availability::Unavailable) => "unavailable",
        None => "unknown",
    };
    (tr.t(&format!("availability-{code}")), code)
}

pub fn level(tr: &Tr, level: Option<Level>) -> Option<String> {
    level.map(|l| tr.t(&format!("level-{}", l.as_str())))
}

pub fn status(tr: &Tr, status: &str) -> String {
    match status {
        "proposed" | "open" | "active" | "completed" | "cancelled" => {
            tr.t(&format!("status-{status}"))
        }
        other => other.to_owned(),
    }
}

/// Names and links as the reader should see them.
pub struct Names<'a> {
    pub state: &'a State,
    pub tr: Tr,
    /// This server's base URL, with its trailing slash.
    pub base: &'a str,
    pub today: Date,
}

impl Names<'_> {
    /// Where a link should go: a local resource's path, anything else's own IRI.
    pub fn href(&self, iri: &str) -> String {
        match iri.strip_prefix(self.base) {
            Some(rest) => format!("/{rest}"),
            None => iri.to_owned(),
        }
    }

    /// The host of a server that is not this one.
    pub fn home(&self, origin: &str) -> Option<String> {
        if origin == self.base || origin.trim_end_matches('/') == self.base.trim_end_matches('/') {
            return None;
        }
        let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
        Some(rest.trim_end_matches('/').to_owned())
    }

    pub fn skill_label(&self, iri: &str) -> String {
        let taxonomy = &self.state.taxonomy;
        match taxonomy.id(iri) {
            Some(id) => taxonomy.label(id, self.tr.code()).to_owned(),
            None => iri.rsplit('/').next().unwrap_or(iri).to_owned(),
        }
    }

    pub fn skill_chip(&self, iri: &str, level: Option<Level>, note: Option<String>) -> SkillChip {
        SkillChip {
            label: self.skill_label(iri),
            href: self.href(iri),
            level: self::level(&self.tr, level),
            level_code: level.map_or("none", Level::as_str),
            note,
        }
    }

    fn name_or_tail(iri: &str) -> String {
        iri.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(iri)
            .to_owned()
    }

    pub fn coop_link(&self, iri: &str) -> Link {
        Link {
            name: self
                .state
                .coops
                .get(iri)
                .map_or_else(|| Self::name_or_tail(iri), |c| c.name.clone()),
            href: self.href(iri),
        }
    }

    pub fn person_link(&self, iri: &str) -> Link {
        Link {
            name: self
                .state
                .slot(iri)
                .and_then(|s| self.state.person(s))
                .map_or_else(|| Self::name_or_tail(iri), |p| p.name.clone()),
            href: self.href(iri),
        }
    }

    pub fn project_link(&self, iri: &str) -> Link {
        Link {
            name: self
                .state
                .projects
                .get(iri)
                .map_or_else(|| Self::name_or_tail(iri), |p| p.name.clone()),
            href: self.href(iri),
        }
    }

    pub fn person_card(&self, p: &Person) -> PersonCard {
        let (availability, availability_code) = availability(&self.tr, p.availability);
        let mut skills: Vec<&coopdir_search::HeldSkill> = p.skills.iter().collect();
        // Strongest skills first, at most eight on a card.
        skills.sort_by_key(|s| std::cmp::Reverse(Level::points(s.level)));
        PersonCard {
            name: p.name.clone(),
            href: self.href(p.iri.as_str()),
            job: p.job_title.clone(),
            place: p.place.clone(),
            availability,
            availability_code,
            home: self.home(&p.origin),
            skills: skills
                .into_iter()
                .take(8)
                .map(|s| {
                    let iri = self.state.taxonomy.get(s.concept).iri.as_str();
                    self.skill_chip(iri, s.level, None)
                })
                .collect(),
        }
    }

    pub fn project_card(&self, p: &Project) -> ProjectCard {
        ProjectCard {
            name: p.name.clone(),
            href: self.href(p.iri.as_str()),
            status: status(&self.tr, &p.status),
            status_code: p.status.clone(),
            coop: p.coop.as_ref().map(|c| self.coop_link(c.as_str())),
            needs: p
                .needs
                .iter()
                .map(|n| {
                    let iri = self.state.taxonomy.get(n.concept).iri.as_str();
                    self.skill_chip(iri, n.level, None)
                })
                .collect(),
        }
    }

    pub fn hit(&self, h: &Hit) -> HitView {
        let person = self.state.person(h.slot);
        let (availability, availability_code) =
            availability(&self.tr, person.and_then(|p| p.availability));
        let mut availability = availability;
        if let Some(from) = h.free_from.filter(|d| *d > self.today) {
            availability = format!(
                "{availability} · {}",
                self.tr.s("available-from", &self.tr.date(&from))
            );
        }
        HitView {
            name: h.name.clone(),
            href: self.href(h.iri.as_str()),
            availability,
            availability_code,
            hours: h.hours.map(|n| self.tr.n("hours-count", n as usize)),
            place: h.place.clone(),
            // `memberOf` names projects too; only co-ops are shown here.
            coops: h
                .coops
                .iter()
                .filter(|c| !self.state.projects.contains_key(c.as_str()))
                .map(|c| self.coop_link(c.as_str()))
                .collect(),
            home: self
                .home(&h.origin)
                .unwrap_or_else(|| self.tr.t("this-server")),
            matched: h
                .matched
                .iter()
                .map(|m| {
                    let note = (m.via == Via::Narrower).then(|| {
                        self.tr
                            .s("matched-through", &self.skill_label(m.requested.as_str()))
                    });
                    let mut chip = self.skill_chip(m.skill.as_str(), m.level, note);
                    chip.label = m.label.clone();
                    chip
                })
                .collect(),
        }
    }

    fn date(
        &self,
        graph: &Graph,
        subject: NamedNodeRef<'_>,
        p: NamedNodeRef<'_>,
    ) -> Option<String> {
        let value = text(graph, subject, p, "")?;
        Some(match value.get(..10).and_then(parse_date) {
            Some(d) => self.tr.date(&d),
            None => value,
        })
    }

    /// A person's profile, from their graph.
    pub fn worker(
        &self,
        graph: &Graph,
        iri: NamedNodeRef<'_>,
        show_visibility: bool,
    ) -> WorkerView {
        let lang = self.tr.code();
        let get = |p| text(graph, iri, p, lang);
        let person = self
            .state
            .slot(iri.as_str())
            .and_then(|s| self.state.person(s));
        let availability_value = get(dir::AVAILABILITY).and_then(|a| match a.as_str() {
            "available" => Some(Availability::Available),
            "partly" => Some(Availability::Partly),
            "unavailable" => Some(Availability::Unavailable),
            _ => None,
        });
        let (availability, availability_code) = availability(&self.tr, availability_value);
        let mut skills: Vec<(String, Option<Level>, Option<String>)> = Vec::new();
        for node in graph.objects_for_subject_predicate(iri, dir::HAS_SKILL) {
            let node = match node {
                TermRef::BlankNode(b) => oxigraph::model::NamedOrBlankNodeRef::from(b),
                TermRef::NamedNode(n) => n.into(),
                _ => continue,
            };
            let Some(TermRef::NamedNode(skill)) =
                graph.object_for_subject_predicate(node, dir::SKILL)
            else {
                continue;
            };
            let level = match graph.object_for_subject_predicate(node, dir::LEVEL) {
                Some(TermRef::Literal(l)) => Level::parse(l.value()),
                _ => None,
            };
            let years = match graph.object_for_subject_predicate(node, dir::YEARS) {
                Some(TermRef::Literal(l)) => l.value().parse::<usize>().ok(),
                _ => None,
            };
            skills.push((
                skill.as_str().to_owned(),
                level,
                years.map(|y| format!("{y} {}", self.tr.t("years").to_lowercase())),
            ));
        }
        for skill in links(graph, iri, schema::KNOWS_ABOUT) {
            if !skills.iter().any(|(s, _, _)| *s == skill) {
                skills.push((skill, None, None));
            }
        }
        skills.sort_by_key(|(s, level, _)| {
            (
                std::cmp::Reverse(Level::points(*level)),
                self.skill_label(s),
            )
        });
        WorkerView {
            name: get(schema::NAME).unwrap_or_else(|| Self::name_or_tail(iri.as_str())),
            job: get(schema::JOB_TITLE),
            description: get(schema::DESCRIPTION),
            place: get(schema::LOCATION),
            email: get(schema::EMAIL),
            availability,
            availability_code,
            available_from: self.date(graph, iri, dir::AVAILABLE_FROM),
            hours: get(dir::HOURS_PER_WEEK)
                .and_then(|h| h.parse::<usize>().ok())
                .map(|n| self.tr.n("hours-count", n)),
            coops: links(graph, iri, schema::MEMBER_OF)
                .iter()
                .filter(|l| !self.state.projects.contains_key(l.as_str()))
                .map(|l| self.coop_link(l))
                .collect(),
            projects: links(graph, iri, schema::MEMBER_OF)
                .iter()
                .filter(|l| self.state.projects.contains_key(l.as_str()))
                .map(|l| self.project_link(l))
                .collect(),
            skills: skills
                .iter()
                .map(|(s, level, years)| self.skill_chip(s, *level, years.clone()))
                .collect(),
            links: links(graph, iri, schema::SAME_AS)
                .into_iter()
                .chain(links(graph, iri, schema::URL))
                .collect(),
            home: person
                .and_then(|p| self.home(&p.origin))
                .unwrap_or_else(|| self.tr.t("this-server")),
            visibility: show_visibility.then(|| {
                let v = get(dir::VISIBILITY).unwrap_or_else(|| "public".into());
                self.tr.t(&format!("visibility-{v}"))
            }),
        }
    }

    /// A co-op's page data; its members' cards come from the index.
    pub fn coop(&self, graph: &Graph, iri: NamedNodeRef<'_>) -> CoopView {
        let lang = self.tr.code();
        let get = |p| text(graph, iri, p, lang);
        let mut members: Vec<PersonCard> = links(graph, iri, schema::MEMBER)
            .iter()
            .filter_map(|m| self.state.slot(m).and_then(|s| self.state.person(s)))
            .map(|p| self.person_card(p))
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        let mut projects: Vec<ProjectCard> = self
            .state
            .projects
            .values()
            .filter(|p| p.coop.as_ref().is_some_and(|c| c.as_ref() == iri))
            .map(|p| self.project_card(p))
            .collect();
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        CoopView {
            name: get(schema::NAME).unwrap_or_else(|| Self::name_or_tail(iri.as_str())),
            description: get(schema::DESCRIPTION),
            place: get(schema::LOCATION),
            network: get(dir::NETWORK),
            url: links(graph, iri, schema::URL).into_iter().next(),
            email: get(schema::EMAIL),
            admins: links(graph, iri, dir::ADMIN)
                .iter()
                .map(|a| self.person_link(a))
                .collect(),
            members,
            projects,
        }
    }

    /// A project's page data.
    pub fn project(&self, graph: &Graph, iri: NamedNodeRef<'_>) -> ProjectView {
        let lang = self.tr.code();
        let get = |p| text(graph, iri, p, lang);
        let status_code = get(dir::STATUS).unwrap_or_default();
        let indexed = self.state.projects.get(iri.as_str());
        let needs = indexed
            .map(|p| {
                p.needs
                    .iter()
                    .map(|n| {
                        let skill = self.state.taxonomy.get(n.concept).iri.as_str();
                        NeedRow {
                            label: self.skill_label(skill),
                            href: self.href(skill),
                            level: level(&self.tr, n.level)
                                .unwrap_or_else(|| self.tr.t("level-any")),
                            headcount: n.headcount,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        ProjectView {
            name: get(schema::NAME).unwrap_or_else(|| Self::name_or_tail(iri.as_str())),
            description: get(schema::DESCRIPTION),
            status: status(&self.tr, &status_code),
            status_code,
            coop: links(graph, iri, schema::SOURCE_ORGANIZATION)
                .first()
                .map(|c| self.coop_link(c)),
            lead: links(graph, iri, dir::LEAD)
                .first()
                .map(|l| self.person_link(l)),
            team: links(graph, iri, schema::MEMBER)
                .iter()
                .map(|m| self.person_link(m))
                .collect(),
            start: self.date(graph, iri, schema::START_DATE),
            end: self.date(graph, iri, schema::END_DATE),
            needs,
        }
    }

    /// The labels of a skill other than the one shown, in any language.
    pub fn other_labels(&self, graph: &Graph, iri: NamedNodeRef<'_>, shown: &str) -> String {
        let mut labels: Vec<String> = graph
            .objects_for_subject_predicate(iri, skos::ALT_LABEL)
            .chain(graph.objects_for_subject_predicate(iri, skos::PREF_LABEL))
            .filter_map(|o| match o {
                TermRef::Literal(l) if l.value() != shown => Some(l.value().to_owned()),
                _ => None,
            })
            .collect();
        labels.sort();
        labels.dedup();
        labels.join(", ")
    }
}

pub fn parse_date(text: &str) -> Option<Date> {
    Date::parse(
        text.get(..10)?,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}
