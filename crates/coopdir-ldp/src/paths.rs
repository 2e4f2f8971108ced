//! The IRIs the server mints and how a path maps to a resource.

use coopdir_vocab::Kind;
use oxigraph::model::NamedNode;

/// What a local IRI identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Root,
    Container(Kind),
    Member(Kind, NamedNode),
}

/// IRIs under the server's base URL.
#[derive(Debug, Clone)]
pub struct Paths {
    base: String,
}

impl Paths {
    /// `base` is the server's public base URL; a trailing slash is added if missing.
    pub fn new(base: &str) -> Self {
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Self { base }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn root(&self) -> NamedNode {
        NamedNode::new_unchecked(self.base.clone())
    }

    pub fn container(&self, kind: Kind) -> NamedNode {
        NamedNode::new_unchecked(format!("{}{}/", self.base, kind.container_segment()))
    }

    pub fn member(&self, kind: Kind, slug: &str) -> NamedNode {
        NamedNode::new_unchecked(format!("{}{}/{slug}", self.base, kind.container_segment()))
    }

    pub fn context(&self) -> String {
        format!("{}context.jsonld", self.base)
    }

    /// The IRIs under which our context may be referenced in request bodies.
    pub fn context_aliases(&self) -> Vec<String> {
        vec![
            self.context(),
            coopdir_vocab::CANONICAL_CONTEXT_IRI.to_owned(),
        ]
    }

    pub fn shape(&self, kind: Kind) -> String {
        format!("{}shapes/{}", self.base, kind.shape_name())
    }

    pub fn is_local(&self, iri: &str) -> bool {
        iri.starts_with(&self.base)
    }

    /// Maps an absolute IRI to a resource location (fragments are ignored).
    pub fn locate(&self, iri: &str) -> Option<Location> {
        let path = iri.strip_prefix(&self.base)?;
        let path = path.split('#').next().unwrap_or(path);
        if path.is_empty() {
            return Some(Location::Root);
        }
        let (segment, rest) = path.split_once('/')?;
        let kind = Kind::from_container_segment(segment)?;
        if rest.is_empty() {
            Some(Location::Container(kind))
        } else if is_valid_slug(rest) {
            Some(Location::Member(kind, self.member(kind, rest)))
        } else {
            None
        }
    }
}

/// A slug is 1–80 characters of lowercase ASCII letters, digits and single hyphens.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 80
        && slug.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
        && !slug.starts_with(['-', '.'])
}

/// Turns any text (a `Slug` header, a name) into a slug: ASCII-folded, lowercase,
/// words joined by hyphens. Returns `None` when nothing usable is left.
pub fn slugify(text: &str) -> Option<String> {
    let mut slug = String::new();
    for c in text.chars() {
        let c = fold(c);
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 60 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-').to_owned();
    (!slug.is_empty()).then_some(slug)
}

/// Latin letters with diacritics to their base letter, so "Zoë Müller" becomes "zoe-muller".
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_sanitised_from_any_text() {
        assert_eq!(slugify("Zoë Müller").as_deref(), Some("zoe-muller"));
        assert_eq!(slugify("../../etc/passwd").as_deref(), Some("etc-passwd"));
        assert_eq!(slugify("  ").as_deref(), None);
    }

    #[test]
    fn paths_map_to_locations() {
        let p = Paths::new("http://127.0.0.1:8080");
        assert_eq!(p.locate("http://127.0.0.1:8080/"), Some(Location::Root));
        assert_eq!(
            p.locate("http://127.0.0.1:8080/workers/"),
            Some(Location::Container(Kind::Worker))
        );
        assert!(matches!(
            p.locate("http://127.0.0.1:8080/workers/ada#me"),
            Some(Location::Member(Kind::Worker, _))
        ));
        assert_eq!(p.locate("http://127.0.0.1:8080/nope/x"), None);
        assert_eq!(p.locate("http://other/workers/ada"), None);
    }
}
