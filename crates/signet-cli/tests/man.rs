//! The manual pages `docs/man/signet.1` and `docs/man/signet-<subcommand>.1` are generated
//! from the command line's definition; this test fails when a committed page is stale,
//! missing, or left over from a subcommand that is gone.
#![expect(clippy::unwrap_used, reason = "tests")]

#[path = "../src/cli.rs"]
#[allow(
    dead_code,
    reason = "only the definitions are used here, never the values"
)]
mod cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::CommandFactory as _;

const REGENERATE: &str = "SIGNET_UPDATE_MAN=1 cargo test -p signet-cli --test man";

/// Every page: `signet.1`, then one for each subcommand at any depth (`signet-letter-hash.1`).
fn pages() -> BTreeMap<String, Vec<u8>> {
    fn walk(cmd: &clap::Command, out: &mut BTreeMap<String, Vec<u8>>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
        let man = clap_mangen::Man::new(cmd.clone());
        let mut page = Vec::new();
        man.render(&mut page).unwrap();
        out.insert(man.get_filename(), page);
    }
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = BTreeMap::new();
    walk(&cmd, &mut out);
    out
}

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/man")
}

/// Pages of the other binaries, which their own crates check.
fn other_binary(name: &str) -> bool {
    name.starts_with("signet-server")
        || name.starts_with("signet-bench")
        || name.starts_with("signet-witness")
}

#[test]
fn the_man_pages_are_current() {
    let pages = pages();
    let dir = man_dir();
    if std::env::var_os("SIGNET_UPDATE_MAN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with("signet") && name.ends_with(".1") && !other_binary(&name) {
                std::fs::remove_file(dir.join(&name)).unwrap();
            }
        }
        for (name, page) in &pages {
            std::fs::write(dir.join(name), page).unwrap();
        }
    }
    for (name, page) in &pages {
        let committed = std::fs::read(dir.join(name)).unwrap_or_default();
        assert!(
            committed == *page,
            "docs/man/{name} is stale or missing; regenerate the pages with\n  {REGENERATE}"
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("signet") && name.ends_with(".1") && !other_binary(&name) {
            assert!(
                pages.contains_key(&name),
                "docs/man/{name} documents a subcommand that is gone; regenerate the pages with\n  {REGENERATE}"
            );
        }
    }
}

#[test]
fn the_pages_cover_every_subcommand() {
    let pages = pages();
    for name in [
        "signet.1",
        "signet-keygen.1",
        "signet-letter-hash.1",
        "signet-sign.1",
        "signet-withdraw.1",
        "signet-verify.1",
        "signet-submit.1",
        "signet-proof.1",
        "signet-audit.1",
        "signet-completions.1",
    ] {
        assert!(
            pages.contains_key(name),
            "no page {name}: {:?}",
            pages.keys()
        );
    }
    let top = String::from_utf8(pages["signet.1"].clone()).unwrap();
    assert!(top.contains("Exit codes"), "{top}");
    let sign = String::from_utf8(pages["signet-sign.1"].clone()).unwrap();
    assert!(sign.contains("\\-\\-affiliation"), "{sign}");
}
