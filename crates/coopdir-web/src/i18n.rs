//! Interface languages: English and French message catalogues (Project Fluent), and the
//! choice of one from a remembered cookie or `Accept-Language`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;
use unic_langid::LanguageIdentifier;

/// The cookie that remembers the reader's choice.
pub const LANG_COOKIE: &str = "coopdir_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    /// The remembered choice wins; else the best match of `Accept-Language`; else English.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        let Some(header) = accept_language else {
            return Lang::En;
        };
        let requested = fluent_langneg::parse_accepted_languages(header);
        let available: Vec<fluent_langneg::LanguageIdentifier> = Lang::ALL
            .iter()
            .filter_map(|l| l.code().parse().ok())
            .collect();
        let Some(default) = available.first() else {
            return Lang::En;
        };
        fluent_langneg::negotiate_languages(
            &requested,
            &available,
            Some(default),
            fluent_langneg::NegotiationStrategy::Lookup,
        )
        .first()
        .and_then(|l| Lang::parse(l.language.as_str()))
        .unwrap_or(Lang::En)
    }
}

const EN: &str = include_str!("../locales/en.ftl");
const FR: &str = include_str!("../locales/fr.ftl");

fn bundle(lang: &str, source: &'static str) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Unicode isolation marks around arguments confuse copy-paste and tests; our
    // arguments are numbers and names in the page's own direction.
    bundle.set_use_isolating(false);
    match FluentResource::try_new(source.to_owned()) {
        Ok(resource) => {
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(lang, ?errors, "duplicate messages in the catalogue");
            }
        }
        Err((resource, errors)) => {
            tracing::error!(lang, ?errors, "syntax errors in the catalogue");
            let _ = bundle.add_resource(resource);
        }
    }
    bundle
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 2]> =
    LazyLock::new(|| [bundle("en", EN), bundle("fr", FR)]);

fn bundle_of(lang: Lang) -> &'static FluentBundle<FluentResource> {
    &BUNDLES[lang as usize]
}

/// The messages of one language, as templates call them: `{{ t.t("search") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for lang in [self.lang, Lang::En] {
            let bundle = bundle_of(lang);
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(id, ?errors, "message formatted with errors");
                }
                return text.into_owned();
            }
        }
        tracing::warn!(id, "no such message in the catalogues");
        id.to_owned()
    }

    /// A message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with one number (`$n`), for plurals.
    pub fn n(&self, id: &str, n: impl std::borrow::Borrow<usize>) -> String {
        let mut args = FluentArgs::new();
        args.set("n", FluentValue::from(*n.borrow()));
        self.format(id, Some(&args))
    }

    /// A message with one text argument (`$name`).
    pub fn s(&self, id: &str, name: &str) -> String {
        let mut args = FluentArgs::new();
        args.set("name", FluentValue::from(name.to_owned()));
        self.format(id, Some(&args))
    }

    /// A date in the reader's language: "3 March 2027" / "3 mars 2027".
    pub fn date(&self, date: &time::Date) -> String {
        let month = self.t(&format!("month-{}", u8::from(date.month())));
        format!("{} {} {}", date.day(), month, date.year())
    }
}

/// Every message id of a catalogue, for the tests that keep the two in step.
pub fn message_ids(lang: Lang) -> Vec<String> {
    let source = match lang {
        Lang::En => EN,
        Lang::Fr => FR,
    };
    source
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '\t', '*', '[', '.', '}']) && l.contains(" ="))
        .filter_map(|l| l.split(" =").next())
        .map(|id| id.trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_wins_then_accept_language_then_english() {
        assert_eq!(Lang::choose(Some("fr"), Some("en-GB")), Lang::Fr);
        assert_eq!(
            Lang::choose(None, Some("fr-CA,fr;q=0.9,en;q=0.5")),
            Lang::Fr
        );
        assert_eq!(Lang::choose(None, Some("de, en;q=0.4")), Lang::En);
        assert_eq!(Lang::choose(None, Some("de")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), None), Lang::En);
    }

    #[test]
    fn both_catalogues_have_the_same_messages() {
        let en = message_ids(Lang::En);
        let fr = message_ids(Lang::Fr);
        assert!(en.len() > 50, "only {} messages found", en.len());
        let missing_fr: Vec<_> = en.iter().filter(|id| !fr.contains(id)).collect();
        let missing_en: Vec<_> = fr.iter().filter(|id| !en.contains(id)).collect();
        assert!(missing_fr.is_empty(), "missing in fr.ftl: {missing_fr:?}");
        assert!(missing_en.is_empty(), "missing in en.ftl: {missing_en:?}");
    }

    #[test]
    fn every_message_the_templates_use_exists() {
        let en = message_ids(Lang::En);
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut missing = Vec::new();
        let mut sources: Vec<String> = std::fs::read_dir(dir)
            .expect("templates folder")
            .filter_map(Result::ok)
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect();
        sources.push(include_str!("pages.rs").to_owned());
        sources.push(include_str!("charts.rs").to_owned());
        for source in &sources {
            for call in [
                "t.t(\"", "t.n(\"", "t.s(\"", "tr.t(\"", "tr.n(\"", "tr.s(\"",
            ] {
                for part in source.split(call).skip(1) {
                    let id = part.split('"').next().unwrap_or_default();
                    if !id.is_empty() && !en.iter().any(|m| m == id) {
                        missing.push(id.to_owned());
                    }
                }
            }
        }
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "messages used but not defined: {missing:?}"
        );
    }

    #[test]
    fn plurals_and_dates_follow_the_language() {
        let en = Tr::new(Lang::En);
        let fr = Tr::new(Lang::Fr);
        assert_eq!(en.n("people-count", 1), "1 person");
        assert_eq!(en.n("people-count", 3), "3 people");
        assert_eq!(fr.n("people-count", 1), "1 personne");
        assert_eq!(fr.n("people-count", 3), "3 personnes");
        let date = time::Date::from_calendar_date(2027, time::Month::March, 3).expect("date");
        assert_eq!(en.date(&date), "3 March 2027");
        assert_eq!(fr.date(&date), "3 mars 2027");
    }
}
