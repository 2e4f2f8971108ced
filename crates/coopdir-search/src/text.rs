//! Text as search compares it: case- and accent-insensitive, split into words.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lower case without accents: "Développement" → "developpement". Both the index and
/// every query go through this, so they agree on what a word is.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of folded text, split the way tantivy's default tokenizer splits (on
/// anything not alphanumeric).
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// How many edits a word may be away from what it should match: none for very short
/// words (every two-letter word is one edit from hundreds of others), one otherwise.
pub fn typo_budget(word: &str) -> u8 {
    if word.chars().count() <= 3 { 0 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("Développement LOGICIEL"), "developpement logiciel");
        assert_eq!(fold("Zoë Ångström"), "zoe angstrom");
        assert_eq!(
            words(&fold("Front-end (React.js)")).collect::<Vec<_>>(),
            ["front", "end", "react", "js"]
        );
    }
}
