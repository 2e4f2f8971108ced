//! The skills taxonomy in memory: concepts, their labels in every language, and the
//! links search follows (narrower, transitively; exact and close matches across schemes).

use coopdir_vocab::skos;
use oxigraph::model::{Graph, NamedNode, NamedNodeRef, TermRef};
use std::collections::{HashMap, HashSet, VecDeque};

use crate::text::fold;

/// A concept's index in [`Taxonomy::concepts`]; stable for the life of the process.
pub type ConceptId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Preferred,
    Alternative,
    Hidden,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub lang: Box<str>,
    pub text: Box<str>,
    pub kind: LabelKind,
}

#[derive(Debug, Clone)]
pub struct Concept {
    pub iri: NamedNode,
    /// False for an IRI that something links to but that is not (or no longer) stored.
    pub known: bool,
    pub labels: Vec<Label>,
    pub broader: Vec<ConceptId>,
    pub narrower: Vec<ConceptId>,
    /// `skos:exactMatch` and `skos:closeMatch`, both ways.
    pub matches: Vec<ConceptId>,
    pub schemes: Vec<NamedNode>,
    /// Links as stored, before they are made symmetric.
    stated_broader: Vec<ConceptId>,
    stated_narrower: Vec<ConceptId>,
    stated_matches: Vec<ConceptId>,
}

/// How a held skill came to match a requested one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Via {
    /// The requested skill itself.
    #[serde(rename = "self")]
    Itself,
    /// A concept another scheme declares an exact or close match.
    Match,
    /// A narrower skill, at any depth.
    Narrower,
}

#[derive(Debug, Default)]
pub struct Taxonomy {
    pub concepts: Vec<Concept>,
    by_iri: HashMap<String, ConceptId>,
    /// Folded label → concepts carrying it (in any language, of any kind).
    by_label: HashMap<String, Vec<ConceptId>>,
}

impl Taxonomy {
    pub fn id(&self, iri: &str) -> Option<ConceptId> {
        self.by_iri.get(iri).copied()
    }

    pub fn get(&self, id: ConceptId) -> &Concept {
        &self.concepts[id as usize]
    }

    /// The id of `iri`, adding an unknown placeholder if it is new.
    pub fn intern(&mut self, iri: NamedNodeRef<'_>) -> ConceptId {
        if let Some(id) = self.by_iri.get(iri.as_str()) {
            return *id;
        }
        let id = self.concepts.len() as ConceptId;
        self.concepts.push(Concept {
            iri: iri.into_owned(),
            known: false,
            labels: Vec::new(),
            broader: Vec::new(),
            narrower: Vec::new(),
            matches: Vec::new(),
            schemes: Vec::new(),
            stated_broader: Vec::new(),
            stated_narrower: Vec::new(),
            stated_matches: Vec::new(),
        });
        self.by_iri.insert(iri.as_str().to_owned(), id);
        id
    }

    /// Sets a concept from its stored graph (`None`: it was deleted). Call
    /// [`Taxonomy::relink`] after a batch of these.
    pub fn set(&mut self, iri: NamedNodeRef<'_>, graph: Option<&Graph>) -> ConceptId {
        let id = self.intern(iri);
        let mut labels = Vec::new();
        let (mut broader, mut narrower, mut matches, mut schemes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        if let Some(graph) = graph {
            for t in graph.triples_for_subject(iri) {
                let p = t.predicate;
                let kind = if p == skos::PREF_LABEL {
                    Some(LabelKind::Preferred)
                } else if p == skos::ALT_LABEL {
                    Some(LabelKind::Alternative)
                } else if p == skos::HIDDEN_LABEL {
                    Some(LabelKind::Hidden)
                } else {
                    None
                };
                match (kind, t.object) {
                    (Some(kind), TermRef::Literal(l)) => labels.push(Label {
                        lang: l.language().unwrap_or("").into(),
                        text: l.value().into(),
                        kind,
                    }),
                    (None, TermRef::NamedNode(o)) => {
                        if p == skos::BROADER {
                            broader.push(self.intern(o));
                        } else if p == skos::NARROWER {
                            narrower.push(self.intern(o));
                        } else if p == skos::EXACT_MATCH || p == skos::CLOSE_MATCH {
                            matches.push(self.intern(o));
                        } else if p == skos::IN_SCHEME {
                            schemes.push(o.into_owned());
                        }
                    }
                    _ => {}
                }
            }
        }
        let concept = &mut self.concepts[id as usize];
        concept.known = graph.is_some();
        concept.labels = labels;
        concept.stated_broader = broader;
        concept.stated_narrower = narrower;
        concept.stated_matches = matches;
        concept.schemes = schemes;
        id
    }

    /// Recomputes the symmetric links and the label map from what each concept states.
    pub fn relink(&mut self) {
        for c in &mut self.concepts {
            c.broader.clear();
            c.narrower.clear();
            c.matches.clear();
        }
        let mut broader_edges = Vec::new();
        let mut match_edges = Vec::new();
        for (id, c) in self.concepts.iter().enumerate() {
            let id = id as ConceptId;
            if !c.known {
                continue;
            }
            broader_edges.extend(c.stated_broader.iter().map(|b| (id, *b)));
            broader_edges.extend(c.stated_narrower.iter().map(|n| (*n, id)));
            match_edges.extend(c.stated_matches.iter().map(|m| (id, *m)));
        }
        for (child, parent) in broader_edges {
            if child == parent {
                continue;
            }
            push_unique(&mut self.concepts[child as usize].broader, parent);
            push_unique(&mut self.concepts[parent as usize].narrower, child);
        }
        for (a, b) in match_edges {
            if a == b {
                continue;
            }
            push_unique(&mut self.concepts[a as usize].matches, b);
            push_unique(&mut self.concepts[b as usize].matches, a);
        }
        self.by_label.clear();
        for (id, c) in self.concepts.iter().enumerate() {
            for l in &c.labels {
                let ids = self.by_label.entry(fold(&l.text)).or_default();
                push_unique(ids, id as ConceptId);
            }
        }
    }

    /// The concepts whose label (any language, any kind) is `text`, folded.
    pub fn by_label(&self, text: &str) -> &[ConceptId] {
        self.by_label.get(&fold(text)).map_or(&[], Vec::as_slice)
    }

    /// Every known label, folded, for suggesting close labels.
    pub fn folded_labels(&self) -> impl Iterator<Item = (&str, ConceptId)> {
        self.by_label
            .iter()
            .flat_map(|(l, ids)| ids.iter().map(move |id| (l.as_str(), *id)))
    }

    /// The requested concept, its matches in other schemes and everything narrower than
    /// any of those, transitively (cycles in bad data are harmless), each with how it
    /// was reached.
    pub fn expand(&self, root: ConceptId) -> Vec<(ConceptId, Via)> {
        let mut seen: HashSet<ConceptId> = HashSet::from([root]);
        let mut out = vec![(root, Via::Itself)];
        let mut queue: VecDeque<(ConceptId, Via)> = VecDeque::from([(root, Via::Itself)]);
        while let Some((id, via)) = queue.pop_front() {
            let c = self.get(id);
            for m in &c.matches {
                // A match of the requested skill stands for it; a match of a narrower
                // one is still narrower.
                let v = if via == Via::Itself { Via::Match } else { via };
                if seen.insert(*m) {
                    out.push((*m, v));
                    queue.push_back((*m, v));
                }
            }
            for n in &c.narrower {
                if seen.insert(*n) {
                    out.push((*n, Via::Narrower));
                    queue.push_back((*n, Via::Narrower));
                }
            }
        }
        out
    }

    /// The concept and everything broader (and matched), for counting supply per skill.
    pub fn ancestors(&self, id: ConceptId, out: &mut Vec<ConceptId>) {
        out.clear();
        out.push(id);
        let mut i = 0;
        while i < out.len() {
            let c = self.get(out[i]);
            for b in c.broader.iter().chain(&c.matches) {
                if !out.contains(b) {
                    out.push(*b);
                }
            }
            i += 1;
        }
    }

    /// The first broader chain up to a root, nearest first.
    pub fn broader_chain(&self, id: ConceptId) -> Vec<ConceptId> {
        let mut chain = Vec::new();
        let mut current = id;
        while let Some(b) = self.get(current).broader.first() {
            if *b == id || chain.contains(b) {
                break;
            }
            chain.push(*b);
            current = *b;
        }
        chain
    }

    /// The label to show in `lang`: the preferred label in that language, else in
    /// English, else any preferred label, else the IRI.
    pub fn label(&self, id: ConceptId, lang: &str) -> &str {
        let c = self.get(id);
        let pref = |l: &str| {
            c.labels
                .iter()
                .find(|x| x.kind == LabelKind::Preferred && x.lang.eq_ignore_ascii_case(l))
        };
        pref(lang)
            .or_else(|| pref("en"))
            .or_else(|| c.labels.iter().find(|x| x.kind == LabelKind::Preferred))
            .map_or(c.iri.as_str(), |l| &l.text)
    }

    pub fn known_count(&self) -> usize {
        self.concepts.iter().filter(|c| c.known).count()
    }
}

fn push_unique(v: &mut Vec<ConceptId>, id: ConceptId) {
    if !v.contains(&id) {
        v.push(id);
    }
}
