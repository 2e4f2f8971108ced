//! The stylesheet, script and icon, embedded in the binary and served under
//! content-hashed names, so browsers may cache them for a year and never see a stale one.

use sha2::{Digest, Sha256};
use std::sync::LazyLock;

pub struct Asset {
    /// The name templates refer to, such as `app.css`.
    pub name: &'static str,
    /// The name it is served under, such as `app.3f2a9c1d.css`.
    pub hashed: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

const SOURCES: [(&str, &str, &[u8]); 3] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/app.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../assets/icon.svg"),
    ),
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(name, content_type, bytes)| {
            let digest = hex::encode(&Sha256::digest(bytes)[..6]);
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                hashed: format!("{stem}.{digest}.{ext}"),
                content_type,
                bytes,
            }
        })
        .collect()
});

/// The path under which `name` is served (`/assets/app.3f2a9c1d.css`).
pub fn url(name: &str) -> String {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => format!("/assets/{}", asset.hashed),
        None => format!("/assets/{name}"),
    }
}

/// The asset served under `hashed`; old hashes are not found, so a stale page reloads.
pub fn get(hashed: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.hashed == hashed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn assets_are_served_under_their_hash_only() {
        let css = super::url("app.css");
        let hashed = css.trim_start_matches("/assets/");
        assert!(hashed.starts_with("app.") && hashed.ends_with(".css") && hashed.len() > 12);
        assert!(super::get(hashed).is_some());
        assert!(super::get("app.css").is_none());
    }
}
