//! An ESCO-shaped skills taxonomy of any size, as the ESCO skills pillar publishes it:
//! `skos:Concept` with `esco:Skill` or `esco:SkillGroup`, preferred labels in every
//! language, alternative and hidden labels, descriptions, `skos:broader` up to a few
//! top groups, `skos:inScheme` the skills scheme. Revisions rename some concepts, move
//! some under another group and drop the last few, as a taxonomy update does.

use std::io::{BufWriter, Write};
use std::path::Path;

pub const SCHEME: &str = "http://data.europa.eu/esco/concept-scheme/skills";
pub const SKILL_BASE: &str = "http://data.europa.eu/esco/skill/";

/// The 28 languages ESCO labels come in.
pub const LANGUAGES: [&str; 28] = [
    "en", "fr", "de", "es", "it", "nl", "pt", "pl", "sv", "da", "fi", "cs", "sk", "sl", "hu", "ro",
    "bg", "el", "et", "lv", "lt", "hr", "ga", "mt", "is", "no", "uk", "ar",
];
const VERBS: [&str; 28] = [
    "use",
    "utiliser",
    "verwenden",
    "usar",
    "usare",
    "gebruiken",
    "utilizar",
    "używać",
    "använda",
    "bruge",
    "käyttää",
    "používat",
    "používať",
    "uporabljati",
    "használni",
    "utiliza",
    "използвам",
    "χρησιμοποιώ",
    "kasutama",
    "lietot",
    "naudoti",
    "koristiti",
    "úsáid",
    "uża",
    "nota",
    "bruke",
    "використовувати",
    "استخدام",
];
const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "gu", "zi", "ba", "fo", "le", "mu",
    "ni", "ro", "se", "ti", "wa", "xe", "yo", "qu",
];

/// A pronounceable word for concept `i`, distinct for distinct `i`.
pub fn word(mut i: usize) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[i % SYLLABLES.len()]);
        i /= SYLLABLES.len();
        if i == 0 {
            break;
        }
    }
    w.push_str("ment");
    w
}

pub fn concept_iri(i: usize) -> String {
    format!("{SKILL_BASE}{:08x}-0000-4000-8000-{:012x}", i * 7919 + 1, i)
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The first this many concepts are groups (three levels); the rest are skills.
pub fn groups(concepts: usize) -> usize {
    (concepts / 25).max(12)
}

/// The broader concept of `i` in `revision` (none for top groups): top groups, then
/// groups under them, groups under those, and skills under the lowest groups.
fn broader(i: usize, concepts: usize, revision: u32) -> Option<usize> {
    let g = groups(concepts);
    let top = (g / 20).max(1);
    let middle = (top * 5).min(g);
    if i < top {
        None
    } else if i < middle {
        Some(i % top)
    } else if i < g {
        Some(top + i % (middle - top).max(1))
    } else {
        // Revision 2 moves every 50th skill under another group.
        let shift = if revision >= 2 && i.is_multiple_of(50) {
            17
        } else {
            0
        };
        Some(middle + (i * 13 + shift) % (g - middle).max(1))
    }
}

/// Writes the taxonomy; returns the number of triples. Revision 2 renames every 10th
/// concept, moves every 50th skill and leaves out the last `dropped` concepts.
pub fn write(
    path: &Path,
    concepts: usize,
    languages: usize,
    revision: u32,
    dropped: usize,
) -> std::io::Result<usize> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let languages = languages.clamp(1, LANGUAGES.len());
    let mut triples = 0;
    writeln!(
        out,
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n@prefix esco: <http://data.europa.eu/esco/model#> .\n@prefix dcterms: <http://purl.org/dc/terms/> .\n"
    )?;
    write!(
        out,
        "<{SCHEME}> a skos:ConceptScheme, esco:ConceptScheme ;\n    skos:prefLabel "
    )?;
    let labels: Vec<String> = LANGUAGES[..languages]
        .iter()
        .map(|l| format!("\"ESCO skills {l}\"@{l}"))
        .collect();
    writeln!(out, "{} .\n", labels.join(", "))?;
    triples += 1 + languages;
    let g = groups(concepts);
    let kept = if revision >= 2 {
        concepts.saturating_sub(dropped)
    } else {
        concepts
    };
    for i in 0..kept {
        let iri = concept_iri(i);
        let class = if i < g {
            "esco:SkillGroup"
        } else {
            "esco:Skill"
        };
        let renamed = revision >= 2 && i.is_multiple_of(10);
        writeln!(out, "<{iri}> a skos:Concept, {class} ;")?;
        writeln!(out, "    skos:inScheme <{SCHEME}> ;")?;
        triples += 3;
        if let Some(b) = broader(i, concepts, revision) {
            writeln!(out, "    skos:broader <{}> ;", concept_iri(b))?;
            triples += 1;
        }
        let w = word(i);
        let mut prefs = Vec::new();
        let mut alts = Vec::new();
        for (l, lang) in LANGUAGES[..languages].iter().enumerate() {
            let base = if renamed {
                format!("{} {w} revised", VERBS[l])
            } else {
                format!("{} {w}", VERBS[l])
            };
            prefs.push(format!("\"{}\"@{lang}", escape(&base)));
            // Zero to two synonyms per language, as in ESCO.
            for a in 0..(i + l) % 3 {
                alts.push(format!(
                    "\"{}\"@{lang}",
                    escape(&format!("{w} {} {a}", VERBS[l]))
                ));
            }
        }
        writeln!(out, "    skos:prefLabel {} ;", prefs.join(", "))?;
        triples += prefs.len();
        if !alts.is_empty() {
            writeln!(out, "    skos:altLabel {} ;", alts.join(", "))?;
            triples += alts.len();
        }
        if i.is_multiple_of(4) {
            // A common misspelling, for search only.
            writeln!(
                out,
                "    skos:hiddenLabel \"{}\"@en ;",
                w.replacen("ment", "mnet", 1)
            )?;
            triples += 1;
        }
        writeln!(
            out,
            "    esco:skillReuseLevel <http://data.europa.eu/esco/skill-reuse-level/cross-sector> ;"
        )?;
        let descriptions: Vec<String> = LANGUAGES[..languages.min(3)]
            .iter()
            .map(|l| format!("\"Description of {w} in {l}.\"@{l}"))
            .collect();
        writeln!(out, "    dcterms:description {} .", descriptions.join(", "))?;
        triples += 1 + descriptions.len();
    }
    out.flush()?;
    Ok(triples)
}
