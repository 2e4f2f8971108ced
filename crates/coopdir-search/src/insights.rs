//! `GET /insights/skills`: for every skill that open or proposed projects need, the
//! demand against the supply, sorted by shortage.

use std::collections::BTreeMap;

use coopdir_access::policy::Audience;
use time::{Date, Duration};

use crate::SearchIndex;
use crate::query::{Wanted, match_skills};
use crate::taxonomy::ConceptId;

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillInsight {
    #[serde(rename = "id")]
    pub skill: String,
    pub label: String,
    /// Open or proposed projects needing it.
    pub projects: usize,
    /// Places those projects want filled.
    pub headcount: u32,
    /// People with the skill or a narrower one.
    pub supply: usize,
    pub available_now: usize,
    pub available_within_30_days: usize,
    /// `headcount − available within 30 days`; positive means short.
    pub shortage: i64,
}

impl SearchIndex {
    pub fn skills_insight(
        &self,
        audience: &Audience,
        today: Date,
        lang: &str,
    ) -> Vec<SkillInsight> {
        let state = self.read();
        let mut demand: BTreeMap<ConceptId, (usize, u32)> = BTreeMap::new();
        for project in state.projects.values().filter(|p| p.is_looking()) {
            for need in &project.needs {
                let d = demand.entry(need.concept).or_default();
                d.0 += 1;
                d.1 += need.headcount;
            }
        }
        let soon = today + Duration::days(30);
        let mut out: Vec<SkillInsight> = demand
            .into_iter()
            .map(|(concept, (projects, headcount))| {
                let matches = match_skills(
                    &state,
                    &[Wanted {
                        concept,
                        level: None,
                    }],
                    1,
                );
                let (mut supply, mut now, mut within) = (0, 0, 0);
                for slot in &matches.slots {
                    let Some(p) = state.person(*slot).filter(|p| audience.can_see(&p.facts)) else {
                        continue;
                    };
                    supply += 1;
                    match p.free_from(today) {
                        Some(d) if d <= today => {
                            now += 1;
                            within += 1;
                        }
                        Some(d) if d <= soon => within += 1,
                        _ => {}
                    }
                }
                SkillInsight {
                    skill: state.taxonomy.get(concept).iri.as_str().to_owned(),
                    label: state.taxonomy.label(concept, lang).to_owned(),
                    projects,
                    headcount,
                    supply,
                    available_now: now,
                    available_within_30_days: within,
                    shortage: headcount as i64 - within as i64,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.shortage
                .cmp(&a.shortage)
                .then_with(|| b.headcount.cmp(&a.headcount))
                .then_with(|| a.label.cmp(&b.label))
        });
        out
    }
}
