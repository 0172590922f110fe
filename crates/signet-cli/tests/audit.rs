//! `signet audit` against tlog-tiles logs served over loopback.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::Scratch;
use signet_testkit::{TestLog, TestServer, key};

const ORIGIN: &str = "example.org/audit-log";

struct World {
    s: Scratch,
    root: std::path::PathBuf,
    server: TestServer,
}

fn world() -> World {
    let s = Scratch::new();
    let root = s.path("log");
    std::fs::create_dir_all(&root).unwrap();
    let server = TestServer::serve(&root);
    World { s, root, server }
}

impl World {
    fn audit(&self, vkey: &str, extra: &[&str], code: i32) -> common::Run {
        let mut args = vec!["audit", "--server", self.server.url(), "--log-key", vkey];
        args.extend_from_slice(extra);
        self.s.run(&args, code)
    }
}

#[test]
fn clean_then_incremental() {
    let w = world();
    let (log, letter) = TestLog::valid(ORIGIN, 300, 7);
    let vkey = log.vkey();
    log.publish(&w.root);
    let j = w.audit(&vkey, &["--state", "st", "--json"], 0).json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["size"], 300);
    assert_eq!(j["previous_size"], 0);
    assert_eq!(j["new_entries"], 300);
    assert_eq!(j["origin"], ORIGIN);
    assert_eq!(j["letters"][0]["id"], letter.to_string());
    assert_eq!(j["letters"][0]["slug"], "test-letter");
    assert!(j["checkpoint"].as_str().unwrap().starts_with(ORIGIN));
    assert!(w.s.path("st/audit-state").exists() && w.s.path("st/checkpoint").exists());

    let (grown, _) = TestLog::valid(ORIGIN, 520, 7);
    grown.publish(&w.root);
    w.server.clear();
    let run = w.audit(&vkey, &["--state", "st"], 0);
    assert!(
        run.stdout.contains("consistent and valid at tree size 520"),
        "{run}"
    );
    assert!(run.stdout.contains("verified 220 new entries"), "{run}");
    assert!(run.stdout.contains("self-asserted"), "{run}");
    assert!(
        !w.server.paths().iter().any(|p| p == "/tile/entries/000"),
        "only new tiles: {:?}",
        w.server.paths()
    );

    // --full starts again from nothing.
    let j = w
        .audit(&vkey, &["--state", "st", "--full", "--json"], 0)
        .json();
    assert_eq!(j["new_entries"], 520);
    // The default state directory is per origin under SIGNET_HOME, and the key may be a file.
    w.s.write("log.vkey", &vkey);
    let j = w.audit("log.vkey", &["--json"], 0).json();
    assert_eq!(j["new_entries"], 520);
    assert!(
        w.s.path("home/state/example.org%2Faudit-log/audit-state")
            .exists()
    );
    let mut cmd = w.s.cmd(&["audit", "--json"]);
    cmd.env("SIGNET_SERVER", w.server.url())
        .env("SIGNET_LOG_KEY", &vkey);
    assert_eq!(w.s.run_cmd(cmd, 0).json()["new_entries"], 0);
    // ~/.local/state/signet without SIGNET_HOME.
    let mut cmd = w.s.cmd(&[
        "audit",
        "--server",
        w.server.url(),
        "--log-key",
        &vkey,
        "--threads",
        "1",
    ]);
    cmd.env_remove("SIGNET_HOME");
    w.s.run_cmd(cmd, 0);
    assert!(
        w.s.path(".local/state/signet/example.org%2Faudit-log/audit-state")
            .exists()
    );
}

#[test]
fn fork_prints_both_checkpoints() {
    let w = world();
    let (log, letter) = TestLog::valid(ORIGIN, 40, 3);
    let first = log.publish(&w.root).to_string();
    w.audit(&log.vkey(), &["--state", "st"], 0);
    let saved = w.s.read("st/audit-state");
    let mut fork = log.clone();
    fork.truncate(30);
    for i in 0..20 {
        fork.endorse(
            &key(&format!("f{i}"), &format!("f{i}")),
            letter,
            "Fork",
            1000 + i,
        );
    }
    let second = fork.publish(&w.root).to_string();
    let run = w.audit(&log.vkey(), &["--state", "st"], 1);
    assert!(run.stdout.contains("MISBEHAVIOUR (fork)"), "{run}");
    assert!(
        run.stdout.contains(&first) && run.stdout.contains(&second),
        "both checkpoints as evidence: {run}"
    );
    run.says("the log misbehaved");
    assert_eq!(
        w.s.read("st/audit-state"),
        saved,
        "state unchanged on failure"
    );
    let j = w.audit(&log.vkey(), &["--state", "st", "--json"], 1).json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["problem"], "fork");
    assert_eq!(j["saved_checkpoint"], first);
    assert_eq!(j["served_checkpoint"], second);
}

#[test]
fn rollback_prints_both_checkpoints() {
    let w = world();
    let (log, _) = TestLog::valid(ORIGIN, 40, 3);
    let first = log.publish(&w.root).to_string();
    w.audit(&log.vkey(), &["--state", "st"], 0);
    let mut old = log.clone();
    old.truncate(25);
    let second = old.publish(&w.root).to_string();
    let j = w.audit(&log.vkey(), &["--state", "st", "--json"], 1).json();
    assert_eq!(j["problem"], "rollback");
    assert_eq!(j["saved_checkpoint"], first);
    assert_eq!(j["served_checkpoint"], second);
}

#[test]
fn tampering_is_caught() {
    type Tamper = fn(&std::path::Path, &TestLog);
    let cases: [(&str, Tamper); 4] = [
        ("bad-tile", |root, _| {
            flip(&root.join("tile/0/000.p/40"), 100)
        }),
        ("bad-bundle", |root, _| {
            flip(&root.join("tile/entries/000.p/40"), 700)
        }),
        ("bad-checkpoint", |root, log| {
            log.publish_signed_by(root, &key(ORIGIN, "impostor"));
        }),
        ("state-rule", |root, log| {
            let mut log = log.clone();
            log.truncate(39);
            // signer0's third entry again, at a later index: a second endorsement.
            let again = log.entries()[1].clone();
            log.push(again);
            log.publish(root);
        }),
    ];
    for (problem, tamper) in cases {
        let w = world();
        let (log, _) = TestLog::valid(ORIGIN, 40, 3);
        log.publish(&w.root);
        tamper(&w.root, &log);
        let run = w.audit(&log.vkey(), &["--state", "st"], 1);
        assert!(
            run.stdout.contains(&format!("MISBEHAVIOUR ({problem})")),
            "{run}"
        );
        assert!(run.stdout.contains("# checkpoint served now:"), "{run}");
        assert!(
            !w.s.path("st/audit-state").exists(),
            "{problem}: nothing saved"
        );
        let j = w.audit(&log.vkey(), &["--state", "st", "--json"], 1).json();
        assert_eq!(j["problem"], problem);
        if problem == "state-rule" {
            assert_eq!(j["index"], 39);
            assert!(
                j["entry"]
                    .as_str()
                    .unwrap()
                    .starts_with("signet/endorsement/v1\n")
            );
        }
    }
}

fn flip(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn obstacles_exit_2() {
    let w = world();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    let vkey = log.vkey();
    // Nothing published yet: no checkpoint (404).
    w.audit(&vkey, &["--state", "st"], 2).says("404");
    log.publish(&w.root);
    w.audit(&vkey, &["--state", "st"], 0);
    // A damaged state file: say how to recover.
    flip(&w.s.path("st/audit-state"), 40);
    w.audit(&vkey, &["--state", "st"], 2).says("--full");
    w.audit(&vkey, &["--state", "st", "--full"], 0);
    // State made for another log.
    let impostor = key(ORIGIN, "another key").verifier().to_string();
    w.audit(&impostor, &["--state", "st"], 2)
        .says("another log");
    // Not a log at all.
    std::fs::write(w.root.join("checkpoint"), "<html>hello</html>\n").unwrap();
    w.audit(&vkey, &["--state", "fresh"], 2)
        .says("not a signed checkpoint");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    w.s.run(
        &[
            "audit",
            "--server",
            &url,
            "--log-key",
            &vkey,
            "--state",
            "st",
        ],
        2,
    )
    .says("cannot reach");
    w.s.run(&["audit", "--log-key", &vkey], 2).says("--server");
}

#[test]
fn served_entries_cannot_inject_terminal_escapes() {
    let w = world();
    let (mut log, _) = TestLog::valid(ORIGIN, 5, 2);
    // An entry that the checkpoint commits to, but that is no valid entry: the audit
    // shows it as evidence, and it must not drive the terminal.
    log.push(b"\x1b]0;owned\x07\x1b[2J\rVALID \xc2\x9b31m\xe2\x80\xaeevil\n".to_vec());
    log.publish(&w.root);
    let run = w.audit(&log.vkey(), &["--state", "st"], 1);
    assert!(run.stdout.contains("MISBEHAVIOUR (invalid-entry)"), "{run}");
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
        assert!(
            !run.stdout.contains(c) && !run.stderr.contains(c),
            "{c:?} reached the terminal raw\n{}",
            run.stdout.escape_debug()
        );
    }
    assert!(
        run.stdout
            .contains("\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{d}VALID \\u{9b}31m\\u{202e}evil"),
        "{run}"
    );
    // --json: the same evidence, inert on a terminal, and decoding to the exact text.
    let run = w.audit(&log.vkey(), &["--state", "st", "--json"], 1);
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r'] {
        assert!(!run.stdout.contains(c), "{c:?} in the JSON\n{run}");
    }
    assert_eq!(
        run.json()["entry"],
        "\u{1b}]0;owned\u{7}\u{1b}[2J\rVALID \u{9b}31m\u{202e}evil\n"
    );
}

/// A valid log of `entries` entries, published in a fresh world.
fn published(entries: u64) -> (World, TestLog) {
    let w = world();
    let (log, _) = TestLog::valid(ORIGIN, entries, 3);
    log.publish(&w.root);
    (w, log)
}

/// The audit exits 1 with `problem`, names `path` and the checkpoint, and saves nothing.
fn misbehaves(w: &World, log: &TestLog, problem: &str, says: &[&str]) {
    let run = w.audit(&log.vkey(), &["--state", "st"], 1);
    assert!(
        run.stdout.contains(&format!("MISBEHAVIOUR ({problem})")),
        "{run}"
    );
    assert!(run.stdout.contains("# checkpoint served now:"), "{run}");
    for text in says {
        run.says(text);
    }
    assert!(!w.s.path("st/audit-state").exists(), "nothing saved\n{run}");
    let j = w.audit(&log.vkey(), &["--state", "st", "--json"], 1).json();
    assert_eq!(j["problem"], problem);
    assert!(j["served_checkpoint"].as_str().unwrap().starts_with(ORIGIN));
}

#[test]
fn missing_covered_tile_is_misbehaviour() {
    for path in ["tile/entries/000.p/10", "tile/0/000.p/10"] {
        let (w, log) = published(10);
        std::fs::remove_file(w.root.join(path)).unwrap();
        misbehaves(&w, &log, "missing-tile", &[path, "HTTP 404", "covers it"]);
    }
    // A level-1 tile of a larger log; the partial level-0 tile falls back to the full
    // one, which is not there either.
    for (path, gone) in [
        ("tile/1/000.p/1", vec!["tile/1/000.p/1"]),
        ("tile/0/001.p/44", vec!["tile/0/001.p/44", "tile/0/001"]),
    ] {
        let (w, log) = published(300);
        for g in &gone {
            let _ = std::fs::remove_file(w.root.join(g));
        }
        misbehaves(&w, &log, "missing-tile", &[path, "HTTP 404"]);
    }

    // A server that fails (5xx, after retries) is an obstacle, not a verdict.
    let (w, log) = published(10);
    let failing = TestServer::with_handler(&w.root, |r| {
        r.path
            .starts_with("/tile/")
            .then(|| signet_testkit::Response::new(503, "busy"))
    });
    w.s.run(
        &[
            "audit",
            "--server",
            failing.url(),
            "--log-key",
            &log.vkey(),
            "--state",
            "st",
        ],
        2,
    )
    .says("503");
}

#[test]
fn oversized_tile_is_misbehaviour() {
    let cases: [(&str, usize, &str); 2] = [
        ("tile/0/000.p/10", 256 * 32 + 1, "bad-tile"),
        ("tile/entries/000.p/10", 256 * 4098 + 1, "bad-bundle"),
    ];
    for (path, len, problem) in cases {
        let (w, log) = published(10);
        std::fs::write(w.root.join(path), vec![0u8; len]).unwrap();
        misbehaves(&w, &log, problem, &[path, "larger than any"]);
    }
}
