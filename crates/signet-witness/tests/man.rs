//! The manual page `docs/man/signet-witness.1` is generated from the command line's
//! definition; this test fails when the committed page is stale.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::Path;

use clap::CommandFactory as _;
use signet_witness::cli::Args;

#[test]
fn the_man_page_is_current() {
    let mut page = Vec::new();
    clap_mangen::Man::new(Args::command())
        .render(&mut page)
        .unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man/signet-witness.1");
    if std::env::var_os("SIGNET_UPDATE_MAN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &page).unwrap();
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == page,
        "docs/man/signet-witness.1 is stale or missing; regenerate it with\n  \
         SIGNET_UPDATE_MAN=1 cargo test -p signet-witness --test man"
    );
    let text = String::from_utf8(page).unwrap();
    for flag in [
        "max\\-connections",
        "header\\-timeout",
        "body\\-timeout",
        "idle\\-timeout",
        "\\-\\-log",
        "\\-\\-name",
    ] {
        assert!(text.contains(flag), "{flag} missing from the page");
    }
}
