//! Strong entity tags.
//!
//! An ETag is `"<version>-<variant>"`: the version is a hash of the stored graph, the
//! variant names the representation (format and audience), so each representation has its
//! own strong tag while `If-Match` compares versions: a client may PUT Turtle after
//! reading JSON-LD.

use oxigraph::model::Graph;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag {
    pub version: String,
}

impl ETag {
    /// The version of a stored graph: a hash of its sorted N-Triples.
    pub fn of_graph(graph: &Graph) -> Self {
        let mut lines: Vec<String> = graph.iter().map(|t| t.to_string()).collect();
        lines.sort_unstable();
        let mut hasher = Sha256::new();
        for line in &lines {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        let digest = hasher.finalize();
        Self {
            version: hex::encode(&digest[..12]),
        }
    }

    /// The version of a representation that is always served as these bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self {
            version: hex::encode(&Sha256::digest(bytes)[..12]),
        }
    }

    /// The header value for one representation.
    pub fn header(&self, variant: &str) -> String {
        format!("\"{}-{variant}\"", self.version)
    }
}

/// Conditions from `If-Match` / `If-None-Match` on a write.
#[derive(Debug, Clone, Default)]
pub struct Precondition {
    /// `If-Match` values (`*` or entity tags); `None` when the header is absent.
    pub if_match: Option<Vec<String>>,
    /// `If-None-Match: *` (create only).
    pub if_none_match_any: bool,
}

impl Precondition {
    /// Parses header values; tags may come with or without the variant suffix.
    pub fn from_headers(if_match: Option<&str>, if_none_match: Option<&str>) -> Self {
        Self {
            if_match: if_match.map(|v| {
                v.split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect()
            }),
            if_none_match_any: if_none_match.is_some_and(|v| v.trim() == "*"),
        }
    }

    /// Whether the write may proceed given the current version (`None`: no resource).
    pub fn check(&self, current: Option<&ETag>) -> bool {
        if self.if_none_match_any && current.is_some() {
            return false;
        }
        match (&self.if_match, current) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(tags), Some(current)) => tags.iter().any(|t| {
                if t == "*" {
                    return true;
                }
                let t = t.trim_start_matches("W/").trim_matches('"');
                let version = t.split('-').next().unwrap_or(t);
                version == current.version
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_versions_whatever_the_variant() {
        let current = ETag {
            version: "abc".into(),
        };
        let p = Precondition::from_headers(Some("\"abc-ttl\""), None);
        assert!(p.check(Some(&current)));
        let stale = Precondition::from_headers(Some("\"abd-json\""), None);
        assert!(!stale.check(Some(&current)));
        assert!(!stale.check(None));
        let create_only = Precondition::from_headers(None, Some("*"));
        assert!(!create_only.check(Some(&current)));
        assert!(create_only.check(None));
    }
}
