//! `GET /search`: parameters, matching, filters, ranking (formula in the crate's doc
//! comment), facets and paging.

use std::collections::HashMap;

use coopdir_access::policy::Audience;
use oxigraph::model::NamedNode;
use time::Date;

use crate::entries::{Level, Person};
use crate::taxonomy::{ConceptId, Taxonomy, Via};
use crate::text::{fold, words};
use crate::{SearchError, SearchIndex, Slot, State};

/// At most this many skills per query (the ranking formula relies on it).
pub const MAX_SKILLS: usize = 20;
const PARAMETERS: &[&str] = &[
    "skill",
    "all",
    "level",
    "available",
    "minHours",
    "place",
    "coop",
    "q",
    "page",
    "pageSize",
    "lang",
];
const FACET_SIZE: usize = 20;

/// `available`: free now, or on or before a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailableBy {
    Now,
    Date(Date),
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub skills: Vec<String>,
    pub all: bool,
    pub level: Option<Level>,
    pub available: Option<AvailableBy>,
    pub min_hours: Option<u32>,
    pub place: Option<String>,
    pub coop: Option<String>,
    pub q: Option<String>,
    pub page: usize,
    pub page_size: usize,
    pub lang: String,
}

impl SearchRequest {
    /// Reads query parameters; anything unknown or malformed is a [`SearchError::BadQuery`]
    /// naming it.
    pub fn parse(
        pairs: &[(String, String)],
        default_page_size: usize,
        max_page_size: usize,
    ) -> Result<Self, SearchError> {
        let unknown: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| !PARAMETERS.contains(&k.as_str()))
            .map(|(k, _)| k.clone())
            .collect();
        if !unknown.is_empty() {
            return Err(SearchError::BadQuery {
                message: format!(
                    "unknown parameter{} {}; search understands {}",
                    if unknown.len() > 1 { "s" } else { "" },
                    unknown.join(", "),
                    PARAMETERS.join(", ")
                ),
                unknown,
                suggestions: Vec::new(),
            });
        }
        let one = |name: &str| -> Result<Option<&str>, SearchError> {
            let mut values = pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str());
            let first = values.next();
            if values.next().is_some() {
                return Err(SearchError::bad(format!("{name} may be given once")));
            }
            Ok(first.map(str::trim).filter(|v| !v.is_empty()))
        };
        let number = |name: &str, min: usize| -> Result<Option<usize>, SearchError> {
            one(name)?
                .map(|v| {
                    v.parse::<usize>()
                        .ok()
                        .filter(|n| *n >= min)
                        .ok_or_else(|| {
                            SearchError::bad(format!(
                                "{name} must be a whole number of at least {min}, not {v:?}"
                            ))
                        })
                })
                .transpose()
        };
        let skills: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| k == "skill")
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        if skills.len() > MAX_SKILLS {
            return Err(SearchError::bad(format!(
                "at most {MAX_SKILLS} skills per search ({} given)",
                skills.len()
            )));
        }
        let all = match one("all")? {
            None | Some("true") => true,
            Some("false") => false,
            Some(v) => {
                return Err(SearchError::bad(format!(
                    "all must be true or false, not {v:?}"
                )));
            }
        };
        let level = one("level")?
            .map(|v| {
                Level::parse(v).ok_or_else(|| {
                    SearchError::bad(format!(
                        "level must be beginner, intermediate or expert, not {v:?}"
                    ))
                })
            })
            .transpose()?;
        let available = one("available")?
            .map(|v| match v {
                "now" => Ok(AvailableBy::Now),
                date => crate::entries::parse_date(date)
                    .filter(|_| date.len() == 10)
                    .map(AvailableBy::Date)
                    .ok_or_else(|| {
                        SearchError::bad(format!(
                            "available must be now or a date YYYY-MM-DD, not {v:?}"
                        ))
                    }),
            })
            .transpose()?;
        let page_size = number("pageSize", 1)?.unwrap_or(default_page_size);
        if page_size > max_page_size {
            return Err(SearchError::bad(format!(
                "pageSize may be at most {max_page_size}"
            )));
        }
        Ok(SearchRequest {
            skills,
            all,
            level,
            available,
            min_hours: number("minHours", 0)?.map(|h| h as u32),
            place: one("place")?.map(str::to_owned),
            coop: one("coop")?.map(str::to_owned),
            q: one("q")?.map(str::to_owned),
            page: number("page", 1)?.unwrap_or(1),
            page_size,
            lang: one("lang")?.unwrap_or("en").to_owned(),
        })
    }
}

/// The parts of a score (see the crate's doc comment).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreParts {
    pub coverage: u32,
    pub level: u32,
    pub availability: u32,
    pub text: f32,
}

impl ScoreParts {
    pub fn raw(&self) -> f64 {
        ((self.coverage * 64 + self.level) * 18 + self.availability) as f64 + self.text as f64
    }

    /// The best raw score a query for `skills` skills can reach.
    pub fn best_raw(skills: usize) -> f64 {
        ((skills as u32 * 64 + skills as u32 * 3) * 18 + 17) as f64 + 1.0
    }
}

/// A held skill that answered a requested one.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub requested: NamedNode,
    pub skill: NamedNode,
    pub label: String,
    pub level: Option<Level>,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub slot: Slot,
    pub iri: NamedNode,
    pub name: String,
    pub score: f64,
    pub parts: ScoreParts,
    pub matched: Vec<Matched>,
    pub origin: String,
    pub coops: Vec<NamedNode>,
    pub place: Option<String>,
    pub free_from: Option<Date>,
    pub hours: Option<u32>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FacetValue {
    /// An IRI (skills, co-ops) or a value (places, availability).
    pub value: String,
    pub label: String,
    pub count: usize,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Facets {
    pub skill: Vec<FacetValue>,
    pub coop: Vec<FacetValue>,
    pub place: Vec<FacetValue>,
    pub availability: Vec<FacetValue>,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub total: usize,
    pub items: Vec<Hit>,
    pub facets: Facets,
    pub page: usize,
    pub page_size: usize,
    /// False when the index could not catch up with recent writes in time.
    pub up_to_date: bool,
}

impl SearchResults {
    pub fn last_page(&self) -> usize {
        self.total.div_ceil(self.page_size).max(1)
    }
}

/// A requested skill, resolved.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub concept: ConceptId,
    pub level: Option<Level>,
}

#[derive(Clone, Copy)]
struct Best {
    concept: ConceptId,
    level: Option<Level>,
    via: Via,
}

impl Best {
    /// Higher is better: level first, then a closer path.
    fn rank(&self) -> (u32, u8) {
        let via = match self.via {
            Via::Itself => 2,
            Via::Match => 1,
            Via::Narrower => 0,
        };
        (Level::points(self.level), via)
    }
}

/// The outcome of matching people against wanted skills.
pub(crate) struct Matches {
    pub slots: Vec<Slot>,
    /// `best[row * n + i]`: the best held skill answering wanted skill `i`.
    best: Vec<Option<Best>>,
    row_of: HashMap<Slot, usize>,
    n: usize,
}

impl Matches {
    pub fn coverage(&self, slot: Slot) -> u32 {
        self.row(slot).iter().filter(|b| b.is_some()).count() as u32
    }

    fn row(&self, slot: Slot) -> &[Option<Best>] {
        match self.row_of.get(&slot) {
            Some(r) => &self.best[r * self.n..(r + 1) * self.n],
            None => &[],
        }
    }

    pub fn covers(&self, slot: Slot, wanted: usize) -> bool {
        self.row(slot).get(wanted).is_some_and(Option::is_some)
    }

    pub fn level_points(&self, slot: Slot) -> u32 {
        self.row(slot)
            .iter()
            .flatten()
            .map(|b| Level::points(b.level))
            .sum()
    }

    pub fn matched(
        &self,
        slot: Slot,
        wanted: &[Wanted],
        taxonomy: &Taxonomy,
        lang: &str,
    ) -> Vec<Matched> {
        self.row(slot)
            .iter()
            .zip(wanted)
            .filter_map(|(b, w)| {
                b.map(|b| Matched {
                    requested: taxonomy.get(w.concept).iri.clone(),
                    skill: taxonomy.get(b.concept).iri.clone(),
                    label: taxonomy.label(b.concept, lang).to_owned(),
                    level: b.level,
                    via: b.via,
                })
            })
            .collect()
    }
}

/// For each person holding any wanted skill (or one it expands to) at the wanted
/// level, the best held skill per wanted skill. `min_coverage` drops people matching
/// fewer.
pub(crate) fn match_skills(state: &State, wanted: &[Wanted], min_coverage: usize) -> Matches {
    let n = wanted.len();
    let mut matches = Matches {
        slots: Vec::new(),
        best: Vec::new(),
        row_of: HashMap::new(),
        n,
    };
    for (i, w) in wanted.iter().enumerate() {
        for (concept, via) in state.taxonomy.expand(w.concept) {
            for &slot in state.holders(concept) {
                let Some(person) = state.person(slot) else {
                    continue;
                };
                let Some(held) = person.skills.iter().find(|s| s.concept == concept) else {
                    continue;
                };
                if w.level
                    .is_some_and(|min| held.level.is_none_or(|l| l < min))
                {
                    continue;
                }
                let row = *matches.row_of.entry(slot).or_insert_with(|| {
                    matches.slots.push(slot);
                    matches.best.extend(std::iter::repeat_n(None, n));
                    matches.slots.len() - 1
                });
                let candidate = Best {
                    concept,
                    level: held.level,
                    via,
                };
                let cell = &mut matches.best[row * n + i];
                if cell.is_none_or(|b| candidate.rank() > b.rank()) {
                    *cell = Some(candidate);
                }
            }
        }
    }
    if min_coverage > 1 {
        let keep: Vec<Slot> = matches
            .slots
            .iter()
            .copied()
            .filter(|s| matches.coverage(*s) as usize >= min_coverage)
            .collect();
        matches.slots = keep;
    }
    matches
}

/// A person's place in a ranking.
pub(crate) struct Ranked<'a> {
    pub raw: f64,
    pub person: &'a Person,
    pub slot: Slot,
    pub parts: ScoreParts,
}

/// `slots` ranked by the formula of the crate's doc comment, best first; `text` gives
/// each one's free-text part.
pub(crate) fn rank<'a>(
    state: &'a State,
    matches: &Matches,
    slots: impl Iterator<Item = Slot>,
    today: Date,
    text: impl Fn(Slot) -> f32,
) -> Vec<Ranked<'a>> {
    let mut ranked: Vec<Ranked<'a>> = slots
        .filter_map(|slot| {
            let person = state.person(slot)?;
            let parts = ScoreParts {
                coverage: matches.coverage(slot),
                level: matches.level_points(slot),
                availability: availability_points(person, today),
                text: text(slot),
            };
            Some(Ranked {
                raw: parts.raw(),
                person,
                slot,
                parts,
            })
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.raw
            .total_cmp(&a.raw)
            .then_with(|| a.person.sort_name.cmp(&b.person.sort_name))
            .then_with(|| a.person.iri.as_str().cmp(b.person.iri.as_str()))
    });
    ranked
}

impl Ranked<'_> {
    pub fn hit(
        &self,
        matches: &Matches,
        wanted: &[Wanted],
        taxonomy: &Taxonomy,
        lang: &str,
        today: Date,
    ) -> Hit {
        let p = self.person;
        Hit {
            slot: self.slot,
            iri: p.iri.clone(),
            name: p.name.clone(),
            score: (self.raw / ScoreParts::best_raw(wanted.len()) * 10_000.0).round() / 10_000.0,
            parts: self.parts,
            matched: matches.matched(self.slot, wanted, taxonomy, lang),
            origin: p.origin.to_string(),
            coops: p.facts.memberships.clone(),
            place: p.place.clone(),
            free_from: p.free_from(today),
            hours: p.hours,
        }
    }
}

/// `3 × soon + hours` (see the crate's doc comment).
pub(crate) fn availability_points(person: &Person, today: Date) -> u32 {
    let soon = match person.free_from(today) {
        None => 0,
        Some(d) => match (d - today).whole_days() {
            ..=0 => 5,
            1..=7 => 4,
            8..=30 => 3,
            31..=90 => 2,
            _ => 1,
        },
    };
    let hours = match person.hours {
        Some(h) if h >= 30 => 2,
        Some(h) if h >= 15 => 1,
        _ => 0,
    };
    3 * soon + hours
}

impl SearchIndex {
    /// Resolves a skill given as an IRI or any label (any language, any kind, folded).
    pub fn resolve_skills(
        &self,
        state: &State,
        given: &[String],
        lang: &str,
    ) -> Result<Vec<ConceptId>, SearchError> {
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        let mut suggestions = Vec::new();
        for g in given {
            let by_iri = state
                .taxonomy
                .id(g)
                .filter(|id| state.taxonomy.get(*id).known);
            let found: Vec<ConceptId> = match by_iri {
                Some(id) => vec![id],
                None => state
                    .taxonomy
                    .by_label(g)
                    .iter()
                    .copied()
                    .filter(|id| state.taxonomy.get(*id).known)
                    .collect(),
            };
            match found.first() {
                // A label several concepts share: the first stands for all, and the
                // others are its matches or duplicates; take the one with most holders.
                Some(_) => {
                    let best = found
                        .iter()
                        .copied()
                        .max_by_key(|id| (state.holders(*id).len(), std::cmp::Reverse(*id)))
                        .unwrap_or(found[0]);
                    out.push(best)
                }
                None => {
                    unknown.push(g.clone());
                    suggestions.extend(self.suggest(state, g, lang));
                }
            }
        }
        if !unknown.is_empty() {
            suggestions.dedup();
            return Err(SearchError::BadQuery {
                message: format!(
                    "unknown skill{} {}{}",
                    if unknown.len() > 1 { "s" } else { "" },
                    unknown
                        .iter()
                        .map(|u| format!("{u:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if suggestions.is_empty() {
                        "; look labels up at /search/skills?q=…".to_owned()
                    } else {
                        format!("; did you mean {}?", suggestions.join(", "))
                    }
                ),
                unknown,
                suggestions,
            });
        }
        Ok(out)
    }

    /// Up to five labels close to `text`.
    fn suggest(&self, state: &State, text: &str, lang: &str) -> Vec<String> {
        let folded = fold(text);
        let ws: Vec<String> = words(&folded).map(str::to_owned).collect();
        let mut out: Vec<String> = Vec::new();
        if !ws.is_empty()
            && let Ok(hits) = self.text().skills(&ws, 5)
        {
            for (k, _) in hits {
                if let Some(id) = state.concept_keys.get(&k) {
                    out.push(state.taxonomy.label(*id, lang).to_owned());
                }
            }
        }
        if out.is_empty() {
            let mut scored: Vec<(f64, ConceptId)> = state
                .taxonomy
                .folded_labels()
                .map(|(l, id)| (strsim::jaro_winkler(&folded, l), id))
                .filter(|(s, _)| *s >= 0.8)
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (_, id) in scored {
                let label = state.taxonomy.label(id, lang).to_owned();
                if !out.contains(&label) {
                    out.push(label);
                }
                if out.len() == 5 {
                    break;
                }
            }
        }
        out
    }

    /// Runs a search as `audience` sees the directory.
    pub fn search(
        &self,
        request: &SearchRequest,
        audience: &Audience,
        today: Date,
    ) -> Result<SearchResults, SearchError> {
        let state = self.read();
        let concepts = self.resolve_skills(&state, &request.skills, &request.lang)?;
        let wanted: Vec<Wanted> = concepts
            .iter()
            .map(|c| Wanted {
                concept: *c,
                level: request.level,
            })
            .collect();
        let coop = match &request.coop {
            Some(c) => Some(self.resolve_coop(&state, c)?),
            None => None,
        };
        let n = wanted.len();
        let matches = match_skills(&state, &wanted, if request.all { n } else { 1 });
        let mut candidates: Vec<Slot> = if n > 0 {
            matches.slots.clone()
        } else {
            state.live_people().map(|(s, _)| s).collect()
        };
        let mut relevance: HashMap<Slot, f32> = HashMap::new();
        if let Some(q) = &request.q {
            let folded = fold(q);
            let ws: Vec<String> = words(&folded).map(str::to_owned).collect();
            if !ws.is_empty() {
                for (k, score) in self.text().people(&ws)? {
                    if let Some(slot) = state.by_key.get(&k) {
                        relevance.insert(*slot, score);
                    }
                }
                candidates.retain(|s| relevance.contains_key(s));
            }
        }
        let place = request.place.as_deref().map(fold);
        let by = request.available.map(|a| match a {
            AvailableBy::Now => today,
            AvailableBy::Date(d) => d,
        });
        candidates.retain(|slot| {
            let Some(p) = state.person(*slot) else {
                return false;
            };
            audience.can_see(&p.facts)
                && by.is_none_or(|by| p.free_from(today).is_some_and(|f| f <= by))
                && request
                    .min_hours
                    .is_none_or(|h| p.hours.is_some_and(|ph| ph >= h))
                && place
                    .as_ref()
                    .is_none_or(|pl| p.place_folded.contains(pl.as_str()))
                && coop
                    .as_ref()
                    .is_none_or(|c| p.facts.memberships.contains(c))
        });
        let best_text = candidates
            .iter()
            .filter_map(|s| relevance.get(s))
            .fold(0f32, |a, b| a.max(*b));
        let ranked = rank(
            &state,
            &matches,
            candidates.into_iter(),
            today,
            |slot| match relevance.get(&slot) {
                Some(r) if best_text > 0.0 => r / best_text * 0.99,
                _ => 0.0,
            },
        );
        let facets = facets(
            &state,
            ranked.iter().map(|r| r.person),
            today,
            &request.lang,
        );
        let items = ranked
            .iter()
            .skip((request.page - 1) * request.page_size)
            .take(request.page_size)
            .map(|r| r.hit(&matches, &wanted, &state.taxonomy, &request.lang, today))
            .collect();
        Ok(SearchResults {
            total: ranked.len(),
            items,
            facets,
            page: request.page,
            page_size: request.page_size,
            up_to_date: true,
        })
    }

    /// A co-op given as an IRI or as the slug of one of ours.
    fn resolve_coop(&self, state: &State, given: &str) -> Result<NamedNode, SearchError> {
        let iri = if given.contains("://") {
            given.to_owned()
        } else {
            format!("{}coops/{given}", self.local_origin())
        };
        state
            .coops
            .get(&iri)
            .map(|c| c.iri.clone())
            .ok_or_else(|| SearchError::BadQuery {
                message: format!(
                    "unknown co-op {given:?}: give a co-op's slug or IRI (see /coops/)"
                ),
                unknown: vec![given.to_owned()],
                suggestions: Vec::new(),
            })
    }
}

/// Counts over every match (not just one page).
fn facets<'a>(
    state: &State,
    people: impl Iterator<Item = &'a Person>,
    today: Date,
    lang: &str,
) -> Facets {
    let mut skills: HashMap<ConceptId, usize> = HashMap::new();
    let mut coops: HashMap<&str, usize> = HashMap::new();
    let mut places: HashMap<&str, (usize, &str)> = HashMap::new();
    let mut availability = [0usize; 4];
    for p in people {
        for s in &p.skills {
            *skills.entry(s.concept).or_default() += 1;
        }
        for c in p
            .facts
            .memberships
            .iter()
            .filter(|m| state.coops.contains_key(m.as_str()))
        {
            *coops.entry(c.as_str()).or_default() += 1;
        }
        if let Some(place) = &p.place {
            places
                .entry(p.place_folded.as_str())
                .or_insert((0, place.as_str()))
                .0 += 1;
        }
        let bucket = match p.free_from(today).map(|d| (d - today).whole_days()) {
            Some(..=0) => 0,
            Some(1..=30) => 1,
            Some(_) => 2,
            None => 3,
        };
        availability[bucket] += 1;
    }
    let mut skill: Vec<FacetValue> = skills
        .into_iter()
        .map(|(id, count)| FacetValue {
            value: state.taxonomy.get(id).iri.as_str().to_owned(),
            label: state.taxonomy.label(id, lang).to_owned(),
            count,
        })
        .collect();
    let mut coop: Vec<FacetValue> = coops
        .into_iter()
        .map(|(iri, count)| FacetValue {
            value: iri.to_owned(),
            label: state
                .coops
                .get(iri)
                .map_or(iri, |c| c.name.as_str())
                .to_owned(),
            count,
        })
        .collect();
    let mut place: Vec<FacetValue> = places
        .into_values()
        .map(|(count, label)| FacetValue {
            value: label.to_owned(),
            label: label.to_owned(),
            count,
        })
        .collect();
    for list in [&mut skill, &mut coop, &mut place] {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        list.truncate(FACET_SIZE);
    }
    let availability = ["now", "within30Days", "later", "notAvailable"]
        .into_iter()
        .zip(availability)
        .map(|(v, count)| FacetValue {
            value: v.to_owned(),
            label: v.to_owned(),
            count,
        })
        .collect();
    Facets {
        skill,
        coop,
        place,
        availability,
    }
}
