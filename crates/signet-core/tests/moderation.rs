//! Moderator appointments and moderations (see docs/protocol.md, *Moderation*): their
//! grammar in the one parser, their rules in `state::decide` (through `LogState`, as an
//! auditor replays them), and the auditor's saved state.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use proptest::prelude::*;
use signet_core::entry::{
    Endorsement, Language, LetterRegistration, Moderation, ModerationAction, ModerationReason,
    ModeratorAppointment, Slug, Statement, Withdrawal,
};
use signet_core::keys::SignatureType;
use signet_core::state::{LogState, Tally};
use signet_core::{Entry, ErrorClass, Hash, KeyName, LetterId, SigningKey, Timestamp};

fn key(name: &str) -> SigningKey {
    key_with_seed(name, name)
}

fn key_with_seed(name: &str, seed: &str) -> SigningKey {
    SigningKey::from_seed(
        KeyName::parse(name).unwrap(),
        SignatureType::Ed25519,
        &Hash::sha256(seed.as_bytes()).0,
    )
}

fn t(minute: u64) -> Timestamp {
    Timestamp::from_unix(Timestamp::parse("2026-01-01T00:00:00Z").unwrap().unix() + 60 * minute)
        .unwrap()
}

fn letter(n: u8) -> LetterId {
    LetterId(Hash::sha256(&[n]))
}

fn log_key() -> SigningKey {
    key("example.org/log")
}

fn register(n: u8, slug: &str) -> Entry {
    Statement::Letter(LetterRegistration {
        letter: letter(n),
        slug: Slug::parse(slug).unwrap(),
        title: format!("Letter {slug}"),
        language: Language::parse("en").unwrap(),
        time: t(0),
        key: log_key().verifier(),
    })
    .sign(&log_key())
    .unwrap()
}

fn appoint(by: &SigningKey, moderator: &SigningKey) -> Entry {
    appoint_at(by, moderator, 0)
}

fn appoint_at(by: &SigningKey, moderator: &SigningKey, minute: u64) -> Entry {
    Statement::Moderator(ModeratorAppointment {
        moderator: moderator.verifier(),
        name: moderator.name().as_str().into(),
        time: t(minute),
        key: by.verifier(),
    })
    .sign(by)
    .unwrap()
}

fn endorse(signer: &SigningKey, n: u8, name: &str, minute: u64) -> Entry {
    Statement::Endorsement(Endorsement {
        letter: letter(n),
        name: name.into(),
        affiliation: None,
        role: None,
        identity: vec![],
        time: t(minute),
        key: signer.verifier(),
    })
    .sign(signer)
    .unwrap()
}

fn withdraw(signer: &SigningKey, n: u8, minute: u64) -> Entry {
    Statement::Withdrawal(Withdrawal {
        letter: letter(n),
        time: t(minute),
        key: signer.verifier(),
    })
    .sign(signer)
    .unwrap()
}

fn moderate(by: &SigningKey, n: u8, target: u64, action: ModerationAction, minute: u64) -> Entry {
    Statement::Moderation(Moderation {
        letter: letter(n),
        entry: target,
        action,
        reason: ModerationReason::Impersonation,
        note: Some("not the real Sam Altman".into()),
        time: t(minute),
        key: by.verifier(),
    })
    .sign(by)
    .unwrap()
}

use ModerationAction::{Hide, Show};

/// The log every case starts from: letters 1 and 2 registered (entries 0, 1), moderator
/// `mod-a` appointed (2), `alice` endorses letter 1 (3), `bob` endorses letter 2 (4), a
/// withdrawal by `carol` after her endorsement of letter 1 (5, 6).
fn base() -> (LogState, Vec<Entry>) {
    let entries = vec![
        register(1, "one"),
        register(2, "two"),
        appoint(&log_key(), &key("mod-a")),
        endorse(&key("alice"), 1, "Sam Altman", 1),
        endorse(&key("bob"), 2, "Bob", 1),
        endorse(&key("carol"), 1, "Carol", 1),
        withdraw(&key("carol"), 1, 2),
    ];
    let mut state = LogState::new(log_key().verifier());
    for e in &entries {
        state.apply(e).unwrap();
    }
    (state, entries)
}

/// Applies `more` after [`base`]: each must be accepted, except the last when `refusal`
/// names what its error must say (a state rule, class Rejected: HTTP 422).
fn check(more: &[Entry], refusal: Option<&str>) -> LogState {
    let (mut state, _) = base();
    let (last, rest) = more.split_last().unwrap();
    for e in rest {
        state.apply(e).unwrap();
    }
    match (state.apply(last), refusal) {
        (Ok(()), None) => {}
        (Err(e), Some(want)) => {
            assert_eq!(e.class(), ErrorClass::Rejected, "{e}");
            assert!(e.to_string().contains(want), "{e}\nwanted {want:?}");
        }
        (got, want) => panic!("got {got:?}, wanted a refusal saying {want:?}"),
    }
    state
}

#[test]
fn a_hide_and_a_show_follow_the_rules() {
    let m = key("mod-a");
    let alice = key("alice");
    // Hide, show, hide again: each later than the one before.
    let state = check(
        &[
            moderate(&m, 1, 3, Hide, 5),
            moderate(&m, 1, 3, Show, 6),
            moderate(&m, 1, 3, Hide, 7),
        ],
        None,
    );
    let record = state
        .moderation(&letter(1), alice.verifier().public_key())
        .unwrap();
    assert!(record.hidden);
    assert_eq!((record.latest_index, record.target), (9, 3));
    assert_eq!(
        state.tally(&letter(1)),
        Tally {
            shown: 0,
            withdrawn: 1,
            hidden: 1
        }
    );
    assert_eq!(state.hides().len(), 1);
}

#[test]
fn re_endorsing_does_not_undo_a_hide() {
    let (m, alice) = (key("mod-a"), key("alice"));
    let state = check(
        &[
            moderate(&m, 1, 3, Hide, 5),
            withdraw(&alice, 1, 3),
            endorse(&alice, 1, "Sam Altman", 4),
        ],
        None,
    );
    assert_eq!(state.tally(&letter(1)).hidden, 1);
    assert_eq!(state.tally(&letter(1)).shown, 0);
    // The hide names the first endorsement, and a show may name the newer one: the
    // target is the signer.
    check(
        &[
            moderate(&m, 1, 3, Hide, 5),
            withdraw(&alice, 1, 3),
            endorse(&alice, 1, "Sam Altman", 4),
            moderate(&m, 1, 9, Show, 6),
        ],
        None,
    );
}

#[test]
fn a_withdrawn_signer_can_be_hidden_and_counts_as_hidden() {
    let state = check(&[moderate(&key("mod-a"), 1, 5, Hide, 5)], None);
    assert_eq!(
        state.tally(&letter(1)),
        Tally {
            shown: 1,
            withdrawn: 0,
            hidden: 1
        }
    );
}

#[test]
fn every_refusal_says_why() {
    let m = key("mod-a");
    // Not an appointed moderator, and the log's own key.
    check(
        &[moderate(&key("mallory"), 1, 3, Hide, 5)],
        Some("not an appointed moderator"),
    );
    // A moderation's key name follows the signers' rule, so the log's key bytes sign it
    // under another name: the same key.
    let log_bytes = key_with_seed("log", "example.org/log");
    check(
        &[moderate(&log_bytes, 1, 3, Hide, 5)],
        Some("the log's own key"),
    );
    // The same key bytes under another name are the same moderator.
    check(
        &[moderate(
            &key_with_seed("other-name", "mod-a"),
            1,
            3,
            Hide,
            5,
        )],
        None,
    );
    // A target that is not an endorsement (a registration, a withdrawal, an appointment).
    check(&[moderate(&m, 1, 0, Hide, 5)], Some("not an endorsement"));
    check(&[moderate(&m, 1, 6, Hide, 5)], Some("not an endorsement"));
    check(&[moderate(&m, 1, 2, Hide, 5)], Some("not an endorsement"));
    // An endorsement of another letter.
    check(&[moderate(&m, 1, 4, Hide, 5)], Some("endorses letter"));
    // A target later than the moderation (the moderation is entry 7), or itself.
    check(&[moderate(&m, 1, 8, Hide, 5)], Some("not earlier"));
    check(&[moderate(&m, 1, 7, Hide, 5)], Some("not earlier"));
    // An unregistered letter.
    check(&[moderate(&m, 9, 3, Hide, 5)], Some("not registered"));
    // Hide twice; show while shown.
    check(
        &[moderate(&m, 1, 3, Hide, 5), moderate(&m, 1, 3, Hide, 6)],
        Some("already hidden"),
    );
    check(&[moderate(&m, 1, 3, Show, 5)], Some("not hidden"));
    // Times strictly increase per (letter, target signer), across moderators.
    let m2 = key("mod-b");
    check(
        &[
            appoint(&log_key(), &m2),
            moderate(&m, 1, 3, Hide, 5),
            moderate(&m2, 1, 3, Show, 5),
        ],
        Some("must be later"),
    );
    // ...but not against the signer's own entries, nor another signer's moderations.
    check(
        &[moderate(&m, 1, 5, Hide, 9), moderate(&m, 1, 3, Hide, 1)],
        None,
    );
}

#[test]
fn appointments_are_the_logs_alone() {
    // Signed by another key; by the log's key under another key name; the log's own key
    // appointed; a key appointed twice.
    check(
        &[appoint(&key("mallory"), &key("mod-b"))],
        Some("not the log's key"),
    );
    let renamed = key_with_seed("example.org/other", "example.org/log");
    check(
        &[appoint(&renamed, &key("mod-b"))],
        Some("not the log's origin"),
    );
    check(
        &[appoint(&log_key(), &key_with_seed("me", "example.org/log"))],
        Some("own key"),
    );
    check(&[appoint_at(&log_key(), &key("mod-a"), 1)], Some("again"));
    check(
        &[appoint(&log_key(), &key_with_seed("mod-a-2", "mod-a"))],
        Some("again"),
    );
}

#[test]
fn identical_bytes_are_the_existing_entry() {
    let m = key("mod-a");
    let hide = moderate(&m, 1, 3, Hide, 5);
    check(&[hide.clone(), hide], Some("repeats the bytes of entry 7"));
}

#[test]
fn the_saved_state_keeps_moderators_and_hides() {
    let m = key("mod-a");
    let state = check(
        &[
            moderate(&m, 1, 3, Hide, 5),
            moderate(&m, 1, 5, Hide, 6),
            moderate(&m, 1, 5, Show, 7),
        ],
        None,
    );
    let bytes = state.encode();
    let decoded = LogState::decode(log_key().verifier(), &bytes).unwrap();
    assert_eq!(decoded.encode(), bytes);
    assert_eq!(decoded.moderators().len(), 1);
    assert_eq!(decoded.hides().len(), 1);
    assert_eq!(decoded.tally(&letter(1)), state.tally(&letter(1)));
    // The decoded state goes on deciding as the original would.
    let mut again = decoded;
    assert!(again.apply(&moderate(&m, 1, 3, Hide, 8)).is_err());
    again.apply(&moderate(&m, 1, 3, Show, 8)).unwrap();
    // Every truncation is refused, never a panic.
    for n in 0..bytes.len() {
        assert!(
            LogState::decode(log_key().verifier(), &bytes[..n]).is_err(),
            "{n}"
        );
    }
}

/// Parses `body` with one signature by `signer`; the parse must fail (class Malformed,
/// HTTP 400) with a message that mentions `want`.
fn refused(body: &str, signer: &SigningKey, want: &str) {
    let note = signet_core::Note::sign(body, &[signer]).unwrap();
    let e = Entry::parse(&note.to_bytes()).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed, "{e}");
    assert!(e.to_string().contains(want), "{e}\nwanted {want:?}");
}

#[test]
fn the_grammar_has_one_encoding() {
    let m = key("mod-a");
    let good = moderate(&m, 1, 3, Hide, 5);
    let body = String::from_utf8(good.bytes().to_vec()).unwrap();
    let body = body.split("\n\n").next().unwrap().to_owned() + "\n";
    assert!(body.starts_with("signet/moderation/v1\nletter sha256:"));
    assert!(
        body.contains(
            "\nentry 3\naction hide\nreason impersonation\nnote not the real Sam Altman\n"
        )
    );
    for (from, to, want) in [
        ("entry 3", "entry 03", "not an entry index"),
        ("entry 3", "entry +3", "not an entry index"),
        ("entry 3", "entry", "has no value"),
        ("action hide", "action HIDE", "is not one of hide, show"),
        (
            "reason impersonation",
            "reason fake",
            "is not one of impersonation",
        ),
        ("note not the real Sam Altman\n", "", "__ok__"),
        (
            "note not the real",
            "note  not the real",
            "more than one space",
        ),
        (
            "note not the real Sam Altman",
            "note Sam\u{200D}Altman",
            "U+200D",
        ),
        (
            "action hide\nreason impersonation",
            "reason impersonation\naction hide",
            "out of order",
        ),
    ] {
        let changed = body.replacen(from, to, 1);
        if want == "__ok__" {
            let note = signet_core::Note::sign(&changed, &[&m]).unwrap();
            let e = Entry::parse(&note.to_bytes()).unwrap();
            assert_eq!(e.statement().body(), changed);
        } else {
            refused(&changed, &m, want);
        }
    }
    let log = log_key();
    let appointment = String::from_utf8(appoint(&log, &m).bytes().to_vec()).unwrap();
    let appointment = appointment.split("\n\n").next().unwrap().to_owned() + "\n";
    assert!(appointment.starts_with("signet/moderator/v1\nmoderator mod-a+"));
    refused(
        &appointment.replacen("name mod-a", "name Mod A", 1),
        &log,
        "is not the moderator key's key name",
    );
}

fn reason() -> impl Strategy<Value = ModerationReason> {
    proptest::sample::select(ModerationReason::ALL.to_vec())
}

proptest! {
    /// Every moderation that validates signs, parses back to itself, and re-encodes to
    /// the same bytes.
    #[test]
    fn moderations_round_trip(
        target in any::<u64>(),
        hide in any::<bool>(),
        reason in reason(),
        note in proptest::option::of("[a-zA-Z0-9]([a-zA-Z0-9 .,]{0,40}[a-zA-Z0-9])?"),
        minute in 0u64..1_000_000,
    ) {
        let m = key("mod-a");
        let statement = Statement::Moderation(Moderation {
            letter: letter(1),
            entry: target,
            action: if hide { Hide } else { Show },
            reason,
            note: note.map(|n| n.split_whitespace().collect::<Vec<_>>().join(" ")),
            time: t(minute),
            key: m.verifier(),
        });
        let entry = statement.sign(&m).unwrap();
        let parsed = Entry::parse(entry.bytes()).unwrap();
        prop_assert_eq!(parsed.statement(), &statement);
        prop_assert_eq!(parsed.bytes(), entry.bytes());
    }

    /// Every appointment round-trips too.
    #[test]
    fn appointments_round_trip(name in "[A-Za-z0-9._-]{1,64}", minute in 0u64..1_000_000) {
        let log = log_key();
        let moderator = key(&name);
        let statement = Statement::Moderator(ModeratorAppointment {
            moderator: moderator.verifier(),
            name: name.clone(),
            time: t(minute),
            key: log.verifier(),
        });
        let entry = statement.sign(&log).unwrap();
        let parsed = Entry::parse(entry.bytes()).unwrap();
        prop_assert_eq!(parsed.statement(), &statement);
    }
}

/// `testdata/moderation-vectors.json`, written by `testdata/moderation-vectors.py` (Python,
/// independently of this code): a fixed log of every kind, each entry as its exact bytes
/// with the decision the rules give. Every entry parses (or is refused as the file says),
/// re-signs from its parsed statement to the same bytes, and replays to the same decisions
/// and the same tallies.
#[test]
fn the_fixed_vectors() {
    #[derive(serde::Deserialize)]
    struct Case {
        what: String,
        signer: String,
        seed: String,
        note: String,
        outcome: String,
    }
    #[derive(serde::Deserialize)]
    struct Vectors {
        log_key: String,
        cases: Vec<Case>,
        tally: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
    }
    let v: Vectors =
        serde_json::from_str(include_str!("testdata/moderation-vectors.json")).unwrap();
    let log = signet_core::VerifierKey::parse(&v.log_key).unwrap();
    assert_eq!(log, log_key().verifier());
    let mut state = LogState::new(log);
    let mut accepted = 0;
    for case in &v.cases {
        let what = &case.what;
        let (outcome, words) = case.outcome.split_once(": ").unwrap_or((&case.outcome, ""));
        let parsed = Entry::parse(case.note.as_bytes());
        if outcome == "malformed" {
            let e = parsed.unwrap_err();
            assert_eq!(e.class(), ErrorClass::Malformed, "{what}: {e}");
            assert!(
                e.to_string().contains(words),
                "{what}: {e}\nwanted {words:?}"
            );
            continue;
        }
        let entry = parsed.unwrap_or_else(|e| panic!("{what}: {e}"));
        // The one encoding: our signer, from the same seed, writes the same bytes.
        let signer = signet_core::VerifierKey::parse(&case.signer).unwrap();
        let again = key_with_seed(signer.name().as_str(), &case.seed);
        assert_eq!(&again.verifier(), &signer, "{what}");
        let resigned = entry.statement().sign(&again).unwrap();
        assert_eq!(resigned.bytes(), case.note.as_bytes(), "{what}");
        match (state.apply(&entry), outcome) {
            (Ok(()), "accepted") => accepted += 1,
            (Err(e), "rejected") => {
                assert_eq!(e.class(), ErrorClass::Rejected, "{what}: {e}");
                assert!(
                    e.to_string().contains(words),
                    "{what}: {e}\nwanted {words:?}"
                );
            }
            (got, _) => panic!("{what}: got {got:?}, the file says {}", case.outcome),
        }
    }
    assert_eq!(accepted, 13, "entries 0 to 12");
    for (id, want) in &v.tally {
        let tally = state.tally(&id.parse().unwrap());
        assert_eq!(
            [tally.shown, tally.withdrawn, tally.hidden],
            [want["shown"], want["withdrawn"], want["hidden"]],
            "{id}"
        );
    }
    // The saved state decodes to one that decides the same.
    let decoded = LogState::decode(log_key().verifier(), &state.encode()).unwrap();
    assert_eq!(decoded.encode(), state.encode());
}
