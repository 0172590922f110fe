//! The hosted letters: `<slug>.txt` (the text) and `<slug>.toml` (its metadata) in the
//! letters folder.

use std::fs;
use std::path::Path;

use serde::Deserialize;
use signet_core::Letter;
use signet_core::entry::{Language, Slug};

use crate::Error;

/// A letter the registry hosts, read from the letters folder.
#[derive(Debug, Clone)]
pub struct HostedLetter {
    /// The canonical text and its ID.
    pub letter: Letter,
    /// The slug (the file name).
    pub slug: Slug,
    /// The title.
    pub title: String,
    /// The language tag.
    pub language: Language,
    /// Where the letter was published, if known.
    pub source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    title: String,
    language: String,
    source: Option<String>,
}

/// Reads every `<slug>.txt` of `dir` with its `<slug>.toml`, sorted by slug.
pub fn load_letters(dir: &Path) -> Result<Vec<HostedLetter>, Error> {
    let read_dir = fs::read_dir(dir).map_err(|e| {
        Error::Config(format!(
            "cannot read the letters folder {}: {e}; pass --letters DIR",
            dir.display()
        ))
    })?;
    let mut out = Vec::new();
    for item in read_dir {
        let item = item.map_err(|e| Error::io("list", dir, e))?;
        let path = item.path();
        if path.extension().and_then(|e| e.to_str()) != Some("txt") {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let slug = Slug::parse(stem).map_err(|e| {
            Error::Config(format!(
                "{}: the file name must be a slug ([a-z0-9-]{{1,64}}): {e}",
                path.display()
            ))
        })?;
        let bytes = fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let letter = Letter::from_bytes(&bytes)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let meta_path = path.with_extension("toml");
        let meta = fs::read_to_string(&meta_path).map_err(|e| {
            Error::Config(format!(
                "{}: {e}; each letter needs title and language there",
                meta_path.display()
            ))
        })?;
        let meta: Metadata = toml::from_str(&meta)
            .map_err(|e| Error::Config(format!("{}: {e}", meta_path.display())))?;
        signet_core::text::check_text("title", &meta.title, 256)
            .map_err(|e| Error::Config(format!("{}: {e}", meta_path.display())))?;
        let language = Language::parse(&meta.language)
            .map_err(|e| Error::Config(format!("{}: {e}", meta_path.display())))?;
        out.push(HostedLetter {
            letter,
            slug,
            title: meta.title,
            language,
            source: meta.source,
        });
    }
    out.sort_by(|a, b| a.slug.cmp(&b.slug));
    Ok(out)
}
