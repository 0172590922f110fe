//! The auditor and moderation (see docs/protocol.md, *Moderation*): a log with hides
//! audits clean with its hidden counts and hides, the saved state carries them to the
//! next audit, and a log that treats a hidden signer as shown, or applies a moderation
//! from a key it never appointed, is caught.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::fs;
use std::path::Path;

use signet_client::{
    AuditOptions, AuditReport, Client, Error, MisbehaviourKind, SavedState, audit,
};
use signet_core::VerifierKey;
use signet_testkit::entries::{appointment, hide, show};
use signet_testkit::{TestLog, TestServer, key, letter};

const ORIGIN: &str = "example.org/test-log";

fn run(server: &TestServer, vkey: &str, state: &Path) -> Result<AuditReport, Error> {
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

/// A log with a letter (entry 0), a moderator (1), and three signers (2, 3, 4), the
/// second hidden at entry 5.
fn moderated() -> (TestLog, signet_core::LetterId) {
    let mut log = TestLog::new(ORIGIN);
    let l = letter(1);
    log.register(&l, "one", 0);
    let moderator = key("mod-a", "mod-a");
    let log_key = log.key().clone();
    log.push(appointment(&log_key, &moderator, 0));
    for n in 0..3 {
        log.endorse(
            &key(&format!("s{n}"), &format!("s{n}")),
            l.id(),
            "Sam Altman",
            1,
        );
    }
    log.push(hide(&moderator, l.id(), 3, 2));
    (log, l.id())
}

fn expect_state_rule(result: Result<AuditReport, Error>, want: &str) {
    match result {
        Err(Error::Misbehaviour(m)) => {
            assert_eq!(m.kind, MisbehaviourKind::StateRule, "{}", m.message);
            assert!(m.message.contains(want), "{}\nwanted {want:?}", m.message);
        }
        Err(e) => panic!("expected a state-rule finding, got error {e}"),
        Ok(r) => panic!(
            "expected a state-rule finding, but the audit passed at {}",
            r.size
        ),
    }
}

#[test]
fn hides_are_counted_listed_and_kept_in_the_state() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, state) = (tmp.path().join("log"), tmp.path().join("state"));
    fs::create_dir_all(&root).unwrap();
    let server = TestServer::serve(&root);
    let (mut log, l) = moderated();
    log.publish(&root);
    let report = run(&server, &log.vkey(), &state).unwrap();
    let letter = &report.letters[0];
    assert_eq!((letter.active, letter.withdrawn, letter.hidden), (2, 0, 1));
    assert_eq!(report.hides.len(), 1);
    let h = &report.hides[0];
    assert_eq!((h.index, h.target, h.letter), (5, 3, l));
    assert_eq!(h.reason, "impersonation");
    assert_eq!(h.moderator, key("mod-a", "mod-a").verifier().to_string());

    // The next audit starts from the saved state, which knows the moderator and the
    // hide: a show by that moderator is accepted, and the hide is gone.
    log.push(show(&key("mod-a", "mod-a"), l, 3, 3));
    log.publish(&root);
    let report = run(&server, &log.vkey(), &state).unwrap();
    assert_eq!(report.entries_verified, 1);
    assert_eq!(report.letters[0].hidden, 0);
    assert!(report.hides.is_empty());
}

#[test]
fn a_log_that_treats_a_hidden_signer_as_shown_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("log");
    fs::create_dir_all(&root).unwrap();
    let server = TestServer::serve(&root);
    let (mut log, l) = moderated();
    // Hiding the hidden signer again is what a log does that lists it as shown.
    log.push(hide(&key("mod-a", "mod-a"), l, 3, 5));
    log.publish(&root);
    expect_state_rule(
        run(&server, &log.vkey(), &tmp.path().join("state")),
        "already hidden",
    );
}

#[test]
fn a_moderation_from_a_key_never_appointed_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("log");
    fs::create_dir_all(&root).unwrap();
    let server = TestServer::serve(&root);
    let (mut log, l) = moderated();
    log.push(hide(&key("mallory", "mallory"), l, 4, 5));
    log.publish(&root);
    expect_state_rule(
        run(&server, &log.vkey(), &tmp.path().join("state")),
        "not an appointed moderator",
    );
    // An appointment signed by another key is caught the same way.
    let (mut log, _) = moderated();
    log.push(appointment(
        &key("mallory", "mallory"),
        &key("mod-b", "mod-b"),
        5,
    ));
    log.publish(&root);
    expect_state_rule(
        run(&server, &log.vkey(), &tmp.path().join("state2")),
        "only the log appoints moderators",
    );
}
