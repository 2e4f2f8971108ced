//! coopdir's web interface for people who do not speak JSON-LD: pages on the same URLs
//! as the data (content negotiation picks `text/html` for browsers), drawn on the server
//! from askama templates, in English or French, with every task working without
//! JavaScript (`app.js` only adds skill autocomplete and inline validation).
//!
//! This crate knows nothing of HTTP or of who may do what: `coopdir-http` asks
//! `coopdir-access`, `coopdir-ldp` and `coopdir-search`, then hands this crate plain data
//! ([`views`] builds it from stored graphs and the search index) to render.

pub mod assets;
pub mod charts;
pub mod forms;
pub mod i18n;
pub mod pages;
pub mod views;

pub use askama::Template;
pub use i18n::{LANG_COOKIE, Lang, Tr};

/// The headers every page is sent with. Scripts and styles only from this server (no
/// inline script or style anywhere, so no `unsafe-inline`), no framing, no sniffing.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
];
