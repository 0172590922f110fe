//! The auditor against tlog-tiles logs built on disk with `signet-core` and served over
//! loopback: a clean log passes, a second audit downloads only what is new, and every
//! kind of misbehaviour is caught with its evidence.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::fs;
use std::path::Path;

use signet_client::{AuditOptions, Client, Error, MisbehaviourKind, SavedState, audit};
use signet_core::VerifierKey;
use signet_testkit::{TestLog, TestServer, key, letter};

const ORIGIN: &str = "example.org/test-log";

/// Audits the log in `root` from `state` (a directory), saving the state on success.
fn run(server: &TestServer, vkey: &str, state: &Path) -> Result<signet_client::AuditReport, Error> {
    let key = VerifierKey::parse(vkey).unwrap();
    let client = Client::new(server.url()).unwrap();
    let saved = SavedState::load(state, &key).unwrap();
    let (report, new_state) = audit(
        &client,
        &key,
        saved,
        AuditOptions::default(),
        &mut |_, _| {},
    )?;
    new_state.save(state).unwrap();
    Ok(report)
}

/// Expects a misbehaviour of `kind` and returns it.
fn expect(
    result: Result<signet_client::AuditReport, Error>,
    kind: MisbehaviourKind,
) -> signet_client::Misbehaviour {
    match result {
        Err(Error::Misbehaviour(m)) => {
            assert_eq!(m.kind, kind, "{}", m.message);
            assert!(
                m.served_checkpoint.is_some(),
                "the served checkpoint is evidence"
            );
            *m
        }
        Err(e) => panic!("expected {kind:?}, got error {e}"),
        Ok(r) => panic!("expected {kind:?}, but the audit passed at size {}", r.size),
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    state: std::path::PathBuf,
    server: TestServer,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("log");
    let state = tmp.path().join("state");
    fs::create_dir_all(&root).unwrap();
    let server = TestServer::serve(&root);
    Fixture {
        root,
        state,
        server,
        _tmp: tmp,
    }
}

#[test]
fn clean_log_then_only_new_tiles() {
    let f = fixture();
    let (mut log, letter) = TestLog::valid(ORIGIN, 300, 7);
    log.publish(&f.root);
    let report = run(&f.server, &log.vkey(), &f.state).unwrap();
    assert_eq!(
        (report.previous_size, report.size, report.entries_verified),
        (0, 300, 300)
    );
    assert_eq!(report.letters.len(), 1);
    assert_eq!(report.letters[0].id, letter);

    // Nothing new: only the checkpoint is fetched.
    f.server.clear();
    let report = run(&f.server, &log.vkey(), &f.state).unwrap();
    assert_eq!(report.entries_verified, 0);
    assert_eq!(f.server.paths(), ["/checkpoint"]);

    // Grow to 700: only bundles 1 and 2, level-0 tiles 1 and 2, and the level-1 tile.
    let (grown, _) = TestLog::valid(ORIGIN, 700, 7);
    assert_eq!(&grown.entries()[..300], log.entries());
    log = grown;
    log.publish(&f.root);
    f.server.clear();
    let report = run(&f.server, &log.vkey(), &f.state).unwrap();
    assert_eq!(
        (report.previous_size, report.size, report.entries_verified),
        (300, 700, 400)
    );
    let mut paths = f.server.paths();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/checkpoint",
            "/tile/0/001",
            "/tile/0/002.p/188",
            "/tile/1/000.p/2",
            "/tile/entries/001",
            "/tile/entries/002.p/188",
        ]
    );
}

#[test]
fn partial_tile_gone_reads_full_tile() {
    let f = fixture();
    let (grown, _) = TestLog::valid(ORIGIN, 256, 3);
    grown.publish(&f.root);
    // A checkpoint of size 100 whose partial tiles the log has since deleted, as
    // tlog-tiles allows once the full tiles exist: the auditor reads the full ones.
    let mut log = grown.clone();
    log.truncate(100);
    log.publish(&f.root);
    fs::remove_file(f.root.join("tile/entries/000.p/100")).unwrap();
    fs::remove_file(f.root.join("tile/0/000.p/100")).unwrap();
    let report = run(&f.server, &log.vkey(), &f.state).unwrap();
    assert_eq!(report.size, 100);
    let paths = f.server.paths();
    assert!(
        paths.contains(&String::from("/tile/entries/000")),
        "{paths:?}"
    );
}

#[test]
fn empty_log() {
    let f = fixture();
    let log = TestLog::new(ORIGIN);
    log.publish(&f.root);
    let report = run(&f.server, &log.vkey(), &f.state).unwrap();
    assert_eq!(report.size, 0);
}

#[test]
fn modified_level0_tile() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 40, 3);
    log.publish(&f.root);
    let tile = f.root.join("tile/0/000.p/40");
    let mut bytes = fs::read(&tile).unwrap();
    bytes[5 * 32 + 3] ^= 1;
    fs::write(&tile, bytes).unwrap();
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::BadTile,
    );
    assert!(m.message.contains("entry 5"), "{}", m.message);
    assert!(
        !f.state.join("audit-state").exists(),
        "nothing saved on failure"
    );
}

#[test]
fn modified_level1_tile() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 600, 5);
    log.publish(&f.root);
    let tile = f.root.join("tile/1/000.p/2");
    let mut bytes = fs::read(&tile).unwrap();
    bytes[40] ^= 1;
    fs::write(&tile, bytes).unwrap();
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::BadTile,
    );
    assert!(m.message.contains("tile/1/000.p/2"), "{}", m.message);
}

#[test]
fn modified_old_part_of_tile_after_saved_state() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 40, 3);
    log.publish(&f.root);
    run(&f.server, &log.vkey(), &f.state).unwrap();
    let (grown, _) = TestLog::valid(ORIGIN, 60, 3);
    grown.publish(&f.root);
    // The new partial tile lies about an entry the first audit already covered.
    let tile = f.root.join("tile/0/000.p/60");
    let mut bytes = fs::read(&tile).unwrap();
    bytes[3 * 32] ^= 1;
    fs::write(&tile, bytes).unwrap();
    expect(
        run(&f.server, &grown.vkey(), &f.state),
        MisbehaviourKind::BadTile,
    );
}

#[test]
fn modified_bundle() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 40, 3);
    log.publish(&f.root);
    let bundle = f.root.join("tile/entries/000.p/40");
    let mut bytes = fs::read(&bundle).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    fs::write(&bundle, bytes).unwrap();
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::BadBundle,
    );
    assert!(m.message.contains("entry 39"), "{}", m.message);
}

#[test]
fn truncated_bundle() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    log.publish(&f.root);
    let bundle = f.root.join("tile/entries/000.p/10");
    let bytes = fs::read(&bundle).unwrap();
    fs::write(&bundle, &bytes[..bytes.len() - 1]).unwrap();
    expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::BadBundle,
    );
}

#[test]
fn checkpoint_signed_by_another_key() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    // Same origin, another key.
    log.publish_signed_by(&f.root, &key(ORIGIN, "an impostor"));
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::BadCheckpoint,
    );
    assert!(m.served_checkpoint.unwrap().starts_with(ORIGIN));
}

#[test]
fn fork_after_saved_state() {
    for (saved, forked) in [(50u64, 80u64), (50, 50), (300, 600)] {
        let f = fixture();
        let (log, letter) = TestLog::valid(ORIGIN, saved, 4);
        let first = log.publish(&f.root);
        run(&f.server, &log.vkey(), &f.state).unwrap();
        // The log rewrites history from entry 20 on and signs a tree of `forked` entries.
        let mut fork = log.clone();
        fork.truncate(20);
        let mut t = 10_000;
        let mut i = 0;
        while fork.len() < forked {
            fork.endorse(
                &key(&format!("forker{i}"), &format!("forker {i}")),
                letter,
                "Forked",
                t,
            );
            t += 1;
            i += 1;
        }
        let second = fork.publish(&f.root);
        let m = expect(
            run(&f.server, &log.vkey(), &f.state),
            MisbehaviourKind::Fork,
        );
        assert_eq!(
            m.saved_checkpoint.as_deref(),
            Some(first.to_string().as_str()),
            "{saved}->{forked}"
        );
        assert_eq!(
            m.served_checkpoint.as_deref(),
            Some(second.to_string().as_str())
        );
    }
}

#[test]
fn rollback() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 30, 3);
    let big = log.publish(&f.root);
    run(&f.server, &log.vkey(), &f.state).unwrap();
    let mut small = log.clone();
    small.truncate(20);
    let served = small.publish(&f.root);
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::Rollback,
    );
    assert_eq!(m.saved_checkpoint.unwrap(), big.to_string());
    assert_eq!(m.served_checkpoint.unwrap(), served.to_string());
}

/// A log with one registered letter and `build` appending bad entries; expects the
/// entry at `bad` to break a rule of state.
fn state_rule(
    name: &str,
    build: impl FnOnce(&mut TestLog, signet_core::LetterId),
    kind: MisbehaviourKind,
) {
    let f = fixture();
    let mut log = TestLog::new(ORIGIN);
    let l = letter(1);
    log.register(&l, "test-letter", 0);
    build(&mut log, l.id());
    log.publish(&f.root);
    let m = expect(run(&f.server, &log.vkey(), &f.state), kind);
    let bad = log.len() - 1;
    assert_eq!(m.index, Some(bad), "{name}: {}", m.message);
    assert_eq!(
        m.entry.as_deref(),
        Some(log.entries()[bad as usize].as_slice()),
        "{name}"
    );
}

#[test]
fn state_rules() {
    let alice = key("alice", "alice");
    let rule = MisbehaviourKind::StateRule;
    state_rule(
        "second active endorsement",
        |log, l| {
            log.endorse(&alice, l, "Alice", 1);
            log.endorse(&alice, l, "Alice Again", 2);
        },
        rule,
    );
    state_rule(
        "withdrawal without endorsement",
        |log, l| {
            log.withdraw(&alice, l, 1);
        },
        rule,
    );
    state_rule(
        "time not increasing",
        |log, l| {
            log.endorse(&alice, l, "Alice", 5);
            log.withdraw(&alice, l, 5);
        },
        rule,
    );
    state_rule(
        "time going back",
        |log, l| {
            log.endorse(&alice, l, "Alice", 5);
            log.withdraw(&alice, l, 9);
            log.endorse(&alice, l, "Alice", 7);
        },
        rule,
    );
    state_rule(
        "unregistered letter",
        |log, _| {
            log.endorse(&alice, letter(2).id(), "Alice", 1);
        },
        rule,
    );
    state_rule(
        "registration not signed by the log key",
        |log, _| {
            let impostor = key("impostor.example/log", "impostor");
            log.register_signed_by(&letter(2), "second", 1, &impostor);
        },
        rule,
    );
    state_rule(
        "letter registered twice",
        |log, _| {
            log.register(&letter(1), "again", 1);
        },
        rule,
    );
    state_rule(
        "repeated bytes",
        |log, l| {
            log.endorse(&alice, l, "Alice", 1);
            let again = log.entries()[1].clone();
            log.push(again);
        },
        rule,
    );
}

#[test]
fn invalid_entries() {
    let alice = key("alice", "alice");
    state_rule(
        "bad signature",
        |log, l| {
            let mut bytes = signet_testkit::endorsement(&alice, l, "Alice", 1);
            let n = bytes.len();
            bytes[n - 6] = if bytes[n - 6] == b'A' { b'B' } else { b'A' };
            log.push(bytes);
        },
        MisbehaviourKind::InvalidEntry,
    );
    state_rule(
        "not a signed note",
        |log, _| {
            log.push(b"hello\n".to_vec());
        },
        MisbehaviourKind::InvalidEntry,
    );
}

#[test]
fn bad_entry_after_saved_state_is_caught_incrementally() {
    let f = fixture();
    let (mut log, l) = TestLog::valid(ORIGIN, 20, 3);
    log.publish(&f.root);
    run(&f.server, &log.vkey(), &f.state).unwrap();
    // signer0 endorsed at t=1 and withdrew at t=4; a withdrawal again is refused.
    log.withdraw(&key("signer0", "signer 0"), l, 100);
    log.withdraw(&key("signer0", "signer 0"), l, 101);
    log.publish(&f.root);
    let m = expect(
        run(&f.server, &log.vkey(), &f.state),
        MisbehaviourKind::StateRule,
    );
    assert_eq!(m.index, Some(21));
}

#[test]
fn saved_state_belongs_to_its_log() {
    let f = fixture();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    log.publish(&f.root);
    run(&f.server, &log.vkey(), &f.state).unwrap();
    let other = TestLog::new("example.org/other-log");
    let err = SavedState::load(&f.state, &other.key().verifier()).unwrap_err();
    assert!(matches!(err, Error::BadState { .. }), "{err}");
    // A damaged state file is refused too.
    let path = f.state.join("audit-state");
    let mut bytes = fs::read(&path).unwrap();
    bytes[30] ^= 1;
    fs::write(&path, bytes).unwrap();
    let err = SavedState::load(&f.state, &log.key().verifier()).unwrap_err();
    assert!(err.to_string().contains("--full"), "{err}");
}

#[test]
fn unreachable_server_is_not_misbehaviour() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let log = TestLog::new(ORIGIN);
    let client = Client::new(&url).unwrap();
    let err = audit(
        &client,
        &log.key().verifier(),
        None,
        AuditOptions::default(),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err}");
    assert!(!err.is_verification_failure());
}

#[test]
fn a_passing_server_error_is_retried() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    log.publish(tmp.path());
    // The first two reads of each kind fail with 503, the third succeeds.
    let failures = std::sync::Arc::new(AtomicUsize::new(0));
    let server = {
        let failures = failures.clone();
        TestServer::with_handler(tmp.path(), move |_| {
            (failures.fetch_add(1, Ordering::Relaxed) % 3 != 2)
                .then(|| signet_testkit::Response::new(503, "busy"))
        })
    };
    let report = run(&server, &log.vkey(), &tmp.path().join("state")).unwrap();
    assert_eq!(report.size, 10);
    assert_eq!(
        failures.load(Ordering::Relaxed),
        3 * 3,
        "checkpoint, bundle and tile, three tries each"
    );
}

#[test]
fn unserved_covered_tiles_are_misbehaviour() {
    // Gone (404, the full tile missing too), or larger than any tile.
    type Break = fn(&Path);
    let cases: [(Break, MisbehaviourKind, &str); 4] = [
        (
            |root| fs::remove_file(root.join("tile/entries/000.p/10")).unwrap(),
            MisbehaviourKind::MissingTile,
            "tile/entries/000.p/10",
        ),
        (
            |root| fs::remove_file(root.join("tile/0/000.p/10")).unwrap(),
            MisbehaviourKind::MissingTile,
            "tile/0/000.p/10",
        ),
        (
            |root| fs::write(root.join("tile/0/000.p/10"), vec![0; 256 * 32 + 1]).unwrap(),
            MisbehaviourKind::BadTile,
            "tile/0/000.p/10",
        ),
        (
            |root| fs::write(root.join("tile/entries/000.p/10"), vec![0; 256 * 4098 + 1]).unwrap(),
            MisbehaviourKind::BadBundle,
            "tile/entries/000.p/10",
        ),
    ];
    for (damage, kind, path) in cases {
        let f = fixture();
        let (log, _) = TestLog::valid(ORIGIN, 10, 3);
        log.publish(&f.root);
        damage(&f.root);
        let m = expect(run(&f.server, &log.vkey(), &f.state), kind);
        assert!(m.message.contains(path), "{}", m.message);
        assert!(!f.state.join("audit-state").exists(), "nothing saved");
    }
}

#[test]
fn a_failing_server_is_not_misbehaviour() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, _) = TestLog::valid(ORIGIN, 10, 3);
    log.publish(tmp.path());
    let server = TestServer::with_handler(tmp.path(), |r| {
        r.path
            .starts_with("/tile/")
            .then(|| signet_testkit::Response::new(500, "down"))
    });
    let err = run(&server, &log.vkey(), &tmp.path().join("state")).unwrap_err();
    assert!(matches!(err, Error::Status { status: 500, .. }), "{err}");
    assert!(!err.is_verification_failure());
}
