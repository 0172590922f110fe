//! The manual pages in `docs/man/` are generated from the command lines' clap
//! definitions; [`check_page`] is the test that fails when a committed page is stale.

use std::path::{Path, PathBuf};

/// Where `docs/man/<name>.1` is, from this crate's place in the repository.
pub fn page_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../docs/man/{name}.1"))
}

/// Renders `command`'s manual page and asserts that `docs/man/<name>.1` holds exactly
/// it; with `SIGNET_UPDATE_MAN=1` in the environment it writes the page first.
/// `regenerate` is the command that does that, for the failure message. Returns the
/// page's text, for assertions about what it must mention.
///
/// # Panics
///
/// When the committed page is stale or missing, or cannot be rendered or written.
pub fn check_page(command: clap::Command, name: &str, regenerate: &str) -> String {
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .unwrap_or_else(|e| panic!("cannot render {name}.1: {e}"));
    let path = page_path(name);
    if std::env::var_os("SIGNET_UPDATE_MAN").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(&path, &page).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == page,
        "docs/man/{name}.1 is stale or missing; regenerate it with\n  {regenerate}"
    );
    String::from_utf8(page).unwrap_or_else(|e| panic!("{name}.1 is not UTF-8: {e}"))
}
