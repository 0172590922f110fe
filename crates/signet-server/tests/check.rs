//! `signet-server --check`: the offline audit of a stored log, run as an operator runs it.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::Path;
use std::process::{Command, Output};

use signet_log::{Config, Log};
use signet_testkit::harness::letters_dir;

fn check(data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signet-server"))
        .arg("--data")
        .arg(data)
        .arg("--check")
        .env_remove("SIGNET_LOG")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_says_sound_names_a_bad_file_and_refuses_beside_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        letters_dir: Some(letters_dir()),
        ..Config::new(dir.path())
    };
    let log = Log::open(config.clone()).unwrap();
    assert_eq!(log.head().size, 1, "the hosted letter is registered");

    // Beside a running log the data directory is locked: a usage error, not a verdict.
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("locked"), "{}", text(&out));
    drop(log);

    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("the log is sound"), "{}", text(&out));

    // One byte of the registration's entry bundle changed: the check names that file.
    let bundle = dir.path().join("log/tile/entries/000.p/1");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("tile/entries/000.p/1"),
        "{}",
        text(&out)
    );
}
