//! `GET /search/skills?q=`: skill autocomplete over preferred, alternative and hidden
//! labels in every language, prefix- and typo-tolerant.

use coopdir_access::policy::Audience;

use crate::taxonomy::{ConceptId, LabelKind};
use crate::text::{fold, words};
use crate::{SearchError, SearchIndex};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Broader {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillHit {
    pub id: String,
    /// The preferred label in the requested language (or English, or any).
    pub label: String,
    /// The label the query matched, and its language.
    pub matched_label: String,
    pub matched_lang: String,
    /// Nearest first, up to the root.
    pub broader: Vec<Broader>,
    /// People who have it or a narrower skill, as the reader sees the directory.
    pub people: u32,
}

/// How well a folded label answers the folded query: 4 equal, 3 starts with it, 2 a
/// word of it starts with each query word, 1 otherwise (a typo).
fn quality(label: &str, query: &str, query_words: &[&str]) -> u8 {
    if label == query {
        4
    } else if label.starts_with(query) {
        3
    } else if query_words
        .iter()
        .all(|q| words(label).any(|w| w.starts_with(q)))
    {
        2
    } else {
        1
    }
}

impl SearchIndex {
    pub fn lookup_skills(
        &self,
        q: &str,
        lang: &str,
        audience: &Audience,
        limit: usize,
    ) -> Result<Vec<SkillHit>, SearchError> {
        let query = fold(q.trim());
        let query_words: Vec<&str> = words(&query).collect();
        if query_words.is_empty() {
            return Err(SearchError::bad(
                "q is required: the start of a skill's name, in any language",
            ));
        }
        let owned: Vec<String> = query_words.iter().map(|w| (*w).to_owned()).collect();
        let hits = self
            .text()
            .skills(&owned, limit.saturating_mul(4).max(20))?;
        let state = self.read();
        let supply = self.supply(&state, audience);
        let mut scored: Vec<(u8, u32, usize, ConceptId, usize)> = Vec::new();
        for (k, _) in hits {
            let Some(&id) = state.concept_keys.get(&k) else {
                continue;
            };
            let concept = state.taxonomy.get(id);
            if !concept.known {
                continue;
            }
            // The best label: quality, then the reader's language, then preferred.
            let Some((label_index, q)) = concept
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let q = quality(&fold(&l.text), &query, &query_words);
                    let in_lang = l.lang.eq_ignore_ascii_case(lang) as u8;
                    let shown = (l.kind != LabelKind::Hidden) as u8;
                    let pref = (l.kind == LabelKind::Preferred) as u8;
                    (i, (q, in_lang, shown, pref))
                })
                .max_by_key(|(_, rank)| *rank)
            else {
                continue;
            };
            let people = supply.get(id as usize).copied().unwrap_or(0);
            scored.push((
                q.0,
                people,
                concept.labels[label_index].text.len(),
                id,
                label_index,
            ));
        }
        scored.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then_with(|| b.1.cmp(&a.1))
                .then_with(|| a.2.cmp(&b.2))
                .then_with(|| a.3.cmp(&b.3))
        });
        Ok(scored
            .into_iter()
            .take(limit)
            .map(|(_, people, _, id, label_index)| {
                let concept = state.taxonomy.get(id);
                let matched = &concept.labels[label_index];
                // A hidden label (a common misspelling) is matched, never shown.
                let (matched_label, matched_lang) = if matched.kind == LabelKind::Hidden {
                    (state.taxonomy.label(id, lang).to_owned(), lang.to_owned())
                } else {
                    (matched.text.to_string(), matched.lang.to_string())
                };
                SkillHit {
                    id: concept.iri.as_str().to_owned(),
                    label: state.taxonomy.label(id, lang).to_owned(),
                    matched_label,
                    matched_lang,
                    broader: state
                        .taxonomy
                        .broader_chain(id)
                        .into_iter()
                        .map(|b| Broader {
                            id: state.taxonomy.get(b).iri.as_str().to_owned(),
                            label: state.taxonomy.label(b, lang).to_owned(),
                        })
                        .collect(),
                    people,
                }
            })
            .collect())
    }
}
