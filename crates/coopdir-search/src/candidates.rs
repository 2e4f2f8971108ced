//! `GET /projects/{slug}/candidates`: people ranked by how well they cover a project's
//! needs, and a proposed team.
//!
//! The team is chosen greedily among candidates who will be free at some point (not
//! those unavailable without a date): repeatedly take the candidate who fills the
//! most still-open places (a need of headcount 3 has three places, and one person fills
//! at most one place per need), the better-ranked one on ties, until every place is
//! filled or nobody fills another. This is the classic greedy algorithm for (multi-)set
//! cover: the team is at most H(d) ≈ ln d + 1 times larger than the smallest possible,
//! where d is the most needs one person covers; on the few needs a project has, it is
//! usually the smallest.

use coopdir_access::policy::Audience;
use oxigraph::model::NamedNode;
use time::Date;

use crate::entries::Level;
use crate::query::{Hit, Ranked, Wanted, match_skills, rank};
use crate::{SearchError, SearchIndex};

#[derive(Debug, Clone)]
pub struct NeedView {
    pub skill: NamedNode,
    pub label: String,
    pub level: Option<Level>,
    pub headcount: u32,
}

#[derive(Debug, Clone)]
pub struct TeamMember {
    pub iri: NamedNode,
    pub name: String,
    pub free_from: Option<Date>,
    /// The needs (skill IRIs) this person fills a place of.
    pub covers: Vec<NamedNode>,
}

#[derive(Debug, Clone)]
pub struct Uncovered {
    pub skill: NamedNode,
    pub label: String,
    /// Places nobody available fills.
    pub missing: u32,
}

#[derive(Debug, Clone)]
pub struct CandidateResults {
    pub project: NamedNode,
    pub needs: Vec<NeedView>,
    pub total: usize,
    pub candidates: Vec<Hit>,
    pub team: Vec<TeamMember>,
    pub uncovered: Vec<Uncovered>,
}

impl SearchIndex {
    /// Candidates for `project` as `audience` sees the directory, the best `limit`, and
    /// a proposed team.
    pub fn candidates(
        &self,
        project: &str,
        audience: &Audience,
        today: Date,
        lang: &str,
        limit: usize,
    ) -> Result<CandidateResults, SearchError> {
        let state = self.read();
        let project = state
            .projects
            .get(project)
            .ok_or_else(|| SearchError::NotFound(format!("no project {project}")))?;
        let wanted: Vec<Wanted> = project
            .needs
            .iter()
            .map(|n| Wanted {
                concept: n.concept,
                level: n.level,
            })
            .collect();
        let matches = match_skills(&state, &wanted, 1);
        let eligible = matches.slots.iter().copied().filter(|slot| {
            state.person(*slot).is_some_and(|p| {
                audience.can_see(&p.facts)
                    && !project.members.contains(&p.iri)
                    && project.lead.as_ref() != Some(&p.iri)
            })
        });
        let ranked = rank(&state, &matches, eligible, today, |_| 0.0);
        // The team, from those who will be free at all; ranking already prefers the
        // sooner free, and each member shows when that is.
        let pool: Vec<&Ranked> = ranked
            .iter()
            .filter(|r| r.person.free_from(today).is_some())
            .collect();
        let mut open: Vec<u32> = project.needs.iter().map(|n| n.headcount).collect();
        let mut team: Vec<TeamMember> = Vec::new();
        let mut taken = vec![false; pool.len()];
        loop {
            let gain = |i: usize| {
                (0..wanted.len())
                    .filter(|need| open[*need] > 0 && matches.covers(pool[i].slot, *need))
                    .count()
            };
            let best = (0..pool.len())
                .filter(|i| !taken[*i])
                .map(|i| (gain(i), i))
                .filter(|(g, _)| *g > 0)
                // The first of equal gains is the better-ranked one.
                .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
            let Some((_, i)) = best else {
                break;
            };
            taken[i] = true;
            let mut covers = Vec::new();
            for need in 0..wanted.len() {
                if open[need] > 0 && matches.covers(pool[i].slot, need) {
                    open[need] -= 1;
                    covers.push(state.taxonomy.get(wanted[need].concept).iri.clone());
                }
            }
            team.push(TeamMember {
                iri: pool[i].person.iri.clone(),
                name: pool[i].person.name.clone(),
                free_from: pool[i].person.free_from(today),
                covers,
            });
        }
        let uncovered = project
            .needs
            .iter()
            .zip(&open)
            .filter(|(_, missing)| **missing > 0)
            .map(|(n, missing)| Uncovered {
                skill: state.taxonomy.get(n.concept).iri.clone(),
                label: state.taxonomy.label(n.concept, lang).to_owned(),
                missing: *missing,
            })
            .collect();
        let needs = project
            .needs
            .iter()
            .map(|n| NeedView {
                skill: state.taxonomy.get(n.concept).iri.clone(),
                label: state.taxonomy.label(n.concept, lang).to_owned(),
                level: n.level,
                headcount: n.headcount,
            })
            .collect();
        let total = ranked.len();
        Ok(CandidateResults {
            project: project.iri.clone(),
            needs,
            total,
            candidates: ranked
                .iter()
                .take(limit)
                .map(|r| r.hit(&matches, &wanted, &state.taxonomy, lang, today))
                .collect(),
            team,
            uncovered,
        })
    }
}
