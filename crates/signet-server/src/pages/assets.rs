//! The pages' static assets, embedded in the binary and served under names that carry a
//! hash of their content, so that each can be cached forever: a new version is a new
//! name.

use std::sync::OnceLock;

use signet_core::Hash;

/// One embedded file.
#[derive(Debug)]
pub(crate) struct Asset {
    /// The served name: `<stem>.<16 hex digits of SHA-256 of the content>.<extension>`.
    pub name: String,
    /// The `Content-Type`.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
}

/// The embedded files, by their source name.
const SOURCES: [(&str, &str, &str, &[u8]); 3] = [
    (
        "style",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/style.css"),
    ),
    (
        "verify",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/verify.js"),
    ),
    (
        "icon",
        "svg",
        "image/svg+xml",
        include_bytes!("../../assets/icon.svg"),
    ),
];

/// The assets, named once per process.
pub(crate) fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(stem, ext, content_type, body)| Asset {
                name: format!("{stem}.{}.{ext}", &Hash::sha256(body).to_hex()[..16]),
                content_type,
                body,
            })
            .collect()
    })
}

/// The asset served as `name`, if any.
pub(crate) fn get(name: &str) -> Option<&'static Asset> {
    all().iter().find(|a| a.name == name)
}

/// The URL path of the asset whose source stem is `stem` (`style`, `verify`).
pub(crate) fn path(stem: &str) -> String {
    all()
        .iter()
        .find(|a| a.name.split('.').next() == Some(stem))
        .map_or_else(
            || "/assets/missing".to_owned(),
            |a| format!("/assets/{}", a.name),
        )
}
