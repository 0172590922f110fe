//! The rules of state (see docs/protocol.md, *Rules of state*): `decide` for one
//! (letter, signer) record, and `LogState` replaying whole logs, with its encoding for an
//! auditor's state file.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use signet_core::entry::{Endorsement, Language, LetterRegistration, Slug, Statement, Withdrawal};
use signet_core::keys::SignatureType;
use signet_core::state::{Change, Decision, Known, LogState, SignerRecord, SignerStatus, decide};
use signet_core::{
    Entry, Error, ErrorClass, Hash, KeyName, LetterId, SigningKey, Timestamp, VerifierKey,
};

fn key(name: &str) -> SigningKey {
    key_with_seed(name, name)
}

/// A key named `name` whose seed is derived from `seed`, so that two names can share
/// one public key.
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

fn register(log: &SigningKey, letter: LetterId, slug: &str) -> Entry {
    Statement::Letter(LetterRegistration {
        letter,
        slug: Slug::parse(slug).unwrap(),
        title: format!("Letter {slug}"),
        language: Language::parse("en").unwrap(),
        time: t(0),
        key: log.verifier(),
    })
    .sign(log)
    .unwrap()
}

fn endorse(signer: &SigningKey, letter: LetterId, name: &str, time: Timestamp) -> Entry {
    Statement::Endorsement(Endorsement {
        letter,
        name: name.into(),
        affiliation: None,
        role: None,
        identity: vec![],
        time,
        key: signer.verifier(),
    })
    .sign(signer)
    .unwrap()
}

fn withdraw(signer: &SigningKey, letter: LetterId, time: Timestamp) -> Entry {
    Statement::Withdrawal(Withdrawal {
        letter,
        time,
        key: signer.verifier(),
    })
    .sign(signer)
    .unwrap()
}

fn record(
    status: SignerStatus,
    minute: u64,
    first: u64,
    endorsement: u64,
    latest: u64,
) -> SignerRecord {
    SignerRecord {
        status,
        last_time: t(minute),
        first_index: first,
        endorsement_index: endorsement,
        latest_index: latest,
    }
}

use SignerStatus::{Active, Withdrawn};

/// A log that knows one registered letter (`letter(1)`, registered at entry 0) and at
/// most one signer record for it: `previous`, whoever the signer.
struct OneSigner {
    log_key: VerifierKey,
    previous: Option<SignerRecord>,
}

impl Known for OneSigner {
    type Error = std::convert::Infallible;
    fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }
    fn logged(&self, _: &Hash) -> Result<Option<u64>, Self::Error> {
        Ok(None)
    }
    fn letter(&self, l: &LetterId) -> Result<Option<u64>, Self::Error> {
        Ok((*l == letter(1)).then_some(0))
    }
    fn slug_taken(&self, slug: &Slug) -> Result<bool, Self::Error> {
        Ok(slug.as_str() == "one")
    }
    fn signer(&self, _: &LetterId, _: &[u8; 32]) -> Result<Option<SignerRecord>, Self::Error> {
        Ok(self.previous)
    }
    fn moderator(&self, _: &[u8; 32]) -> Result<Option<u64>, Self::Error> {
        Ok(None)
    }
    fn endorsement(&self, _: u64) -> Result<Option<(LetterId, [u8; 32])>, Self::Error> {
        Ok(None)
    }
    fn moderation(
        &self,
        _: &LetterId,
        _: &[u8; 32],
    ) -> Result<Option<signet_core::state::ModerationRecord>, Self::Error> {
        Ok(None)
    }
}

/// The decision that accepts a signer's entry at index 10 with `record`.
fn accept(previous: Option<SignerRecord>, entry: &Entry, record: SignerRecord) -> Decision {
    Decision::Append {
        index: 10,
        change: Change::Signer {
            letter: entry.statement().letter().unwrap(),
            public_key: *entry.statement().key().public_key(),
            previous: previous.map(|p| p.status),
            record,
        },
    }
}

/// Decides `entry` at index 10 against `previous`: the decision, or a state-rule refusal
/// (class Rejected, HTTP 422) whose message mentions `want`.
fn check(previous: Option<SignerRecord>, entry: &Entry, expected: Result<Decision, &str>) {
    let known = OneSigner {
        log_key: key("example.org/log").verifier(),
        previous,
    };
    let Ok(got) = decide(&known, entry.statement(), &entry.leaf_hash(), 10);
    match (got, expected) {
        (Decision::Refused(e), Err(want)) => {
            assert!(matches!(e, Error::StateRule(_)), "{e:?}");
            assert_eq!(e.class(), ErrorClass::Rejected);
            assert!(
                e.to_string().contains(want),
                "{e} does not mention {want:?}"
            );
        }
        (got, Ok(want)) => assert_eq!(got, want),
        (got, want) => panic!(
            "{previous:?} then {:?}: got {got:?}, want {want:?}",
            entry.statement()
        ),
    }
}

#[test]
fn decide_follows_the_rules_of_state() {
    let alice = key("alice");
    let l = letter(1);
    let endorse_at_5 = endorse(&alice, l, "Alice", t(5));
    let withdraw_at_5 = withdraw(&alice, l, t(5));

    // Endorsed by the first endorsement.
    check(
        None,
        &endorse_at_5,
        Ok(accept(None, &endorse_at_5, record(Active, 5, 10, 10, 10))),
    );
    // Another endorsement while one is active is a conflict (409), whatever its time.
    check(
        Some(record(Active, 1, 3, 3, 3)),
        &endorse_at_5,
        Ok(Decision::Conflict { active_index: 3 }),
    );
    check(
        Some(record(Active, 9, 2, 7, 7)),
        &endorse_at_5,
        Ok(Decision::Conflict { active_index: 7 }),
    );
    // Withdrawn by a later withdrawal; the endorsement shown stays the withdrawn one.
    check(
        Some(record(Active, 4, 2, 7, 7)),
        &withdraw_at_5,
        Ok(accept(
            Some(record(Active, 4, 2, 7, 7)),
            &withdraw_at_5,
            record(Withdrawn, 5, 2, 7, 10),
        )),
    );
    check(
        Some(record(Active, 5, 2, 7, 7)),
        &withdraw_at_5,
        Err("must be later than 2026-01-01T00:05:00Z"),
    );
    check(
        Some(record(Active, 6, 2, 7, 7)),
        &withdraw_at_5,
        Err("must be later than"),
    );
    // Endorsed again by a later endorsement; the first index (list order) is kept.
    check(
        Some(record(Withdrawn, 4, 2, 7, 8)),
        &endorse_at_5,
        Ok(accept(
            Some(record(Withdrawn, 4, 2, 7, 8)),
            &endorse_at_5,
            record(Active, 5, 2, 10, 10),
        )),
    );
    check(
        Some(record(Withdrawn, 5, 2, 7, 8)),
        &endorse_at_5,
        Err("time 2026-01-01T00:05:00Z must be later than"),
    );
    check(
        Some(record(Withdrawn, 6, 2, 7, 8)),
        &endorse_at_5,
        Err("(entry 8)"),
    );
    // A withdrawal needs an active endorsement behind it.
    check(None, &withdraw_at_5, Err("never endorsed"));
    check(
        Some(record(Withdrawn, 1, 2, 7, 8)),
        &withdraw_at_5,
        Err("already withdrawn (entry 8)"),
    );
    // An endorsement of a letter the log has not registered.
    check(
        None,
        &endorse(&alice, letter(2), "Alice", t(5)),
        Err("is not registered in this log"),
    );
    // Registrations go through the same function: only the log registers, with its key
    // bytes under its origin, a letter and a slug not yet registered.
    check(
        None,
        &register(&alice, letter(2), "x"),
        Err("not the log's key"),
    );
    check(
        None,
        &register(
            &key_with_seed("renamed-log", "example.org/log"),
            letter(2),
            "x",
        ),
        Err("not the log's origin"),
    );
    check(
        None,
        &register(&key("example.org/log"), l, "x"),
        Err("entry 0 registered it"),
    );
    check(
        None,
        &register(&key("example.org/log"), letter(2), "one"),
        Err("registers slug one again"),
    );
    let log = key("example.org/log");
    let fresh = register(&log, letter(2), "two");
    check(
        None,
        &fresh,
        Ok(Decision::Append {
            index: 10,
            change: Change::Letter {
                letter: letter(2),
                slug: Slug::parse("two").unwrap(),
            },
        }),
    );
}

/// Applies `entry` and checks the outcome; a refused entry must leave the state as it was.
fn apply(state: &mut LogState, entry: &Entry, expected: Result<(), &str>) {
    let before = state.encode();
    match (state.apply(entry), expected) {
        (Ok(()), Ok(())) => {}
        (Err(e), Err(want)) => {
            assert!(matches!(e, Error::StateRule(_)), "{e:?}");
            assert_eq!(e.class(), ErrorClass::Rejected);
            assert!(
                e.to_string().contains(want),
                "{e} does not mention {want:?}"
            );
            assert_eq!(state.encode(), before, "a refused entry changed the state");
        }
        (got, want) => panic!("{:?}: got {got:?}, want {want:?}", entry.statement()),
    }
}

#[test]
fn a_log_replayed() {
    let log = key("example.org/log");
    let (alice, bob) = (key("alice"), key("bob"));
    let (l1, l2) = (letter(1), letter(2));
    let mut state = LogState::new(log.verifier());

    apply(
        &mut state,
        &endorse(&alice, l1, "Alice", t(1)),
        Err(&format!("letter {l1} is not registered")),
    );
    apply(
        &mut state,
        &withdraw(&alice, l1, t(1)),
        Err("is not registered"),
    );
    apply(
        &mut state,
        &register(&alice, l1, "one"),
        Err("not the log's key"),
    );
    apply(&mut state, &register(&log, l1, "one"), Ok(())); // 0
    apply(
        &mut state,
        &register(&log, l1, "other"),
        Err("registers letter"),
    );
    apply(
        &mut state,
        &register(&log, l2, "one"),
        Err("registers slug one again"),
    );
    // The log's public key under another name is not the log's key: a registration is
    // signed under the origin, by the server and for every auditor alike.
    apply(
        &mut state,
        &register(&key_with_seed("renamed-log", "example.org/log"), l2, "two"),
        Err("not the log's origin"),
    );
    apply(&mut state, &register(&log, l2, "two"), Ok(())); // 1
    assert_eq!(state.letters()[&l1].index, 0);
    assert_eq!(state.letters()[&l2].slug.as_str(), "two");

    apply(
        &mut state,
        &withdraw(&alice, l1, t(1)),
        Err("never endorsed"),
    );
    apply(&mut state, &endorse(&alice, l1, "Alice", t(1)), Ok(())); // 2
    apply(
        &mut state,
        &endorse(&alice, l1, "Alice", t(1)),
        Err("repeats the bytes of entry 2"),
    );
    apply(
        &mut state,
        &endorse(&alice, l1, "Alice B.", t(2)),
        Err("endorsement at entry 2 is active"),
    );
    // The same public key under another key name is the same signer.
    apply(
        &mut state,
        &endorse(&key_with_seed("alice-laptop", "alice"), l1, "Alice", t(3)),
        Err("is active"),
    );
    apply(&mut state, &endorse(&bob, l1, "Bob", t(0)), Ok(())); // 3
    apply(&mut state, &endorse(&alice, l2, "Alice", t(0)), Ok(())); // 4
    assert_eq!(state.counts(&l1), (2, 0));
    assert_eq!(state.counts(&l2), (1, 0));

    apply(
        &mut state,
        &withdraw(&alice, l1, t(1)),
        Err("must be later than"),
    );
    apply(
        &mut state,
        &withdraw(&alice, l1, t(0)),
        Err("must be later than"),
    );
    apply(&mut state, &withdraw(&alice, l1, t(2)), Ok(())); // 5
    apply(
        &mut state,
        &withdraw(&alice, l1, t(3)),
        Err("already withdrawn"),
    );
    assert_eq!(state.counts(&l1), (1, 1));
    assert_eq!(
        state.signer(&l1, alice.verifier().public_key()),
        Some(&record(Withdrawn, 2, 2, 2, 5))
    );

    // Replaying the old endorsement is refused: its bytes are logged, and its time is old.
    apply(
        &mut state,
        &endorse(&alice, l1, "Alice", t(1)),
        Err("repeats the bytes of entry 2"),
    );
    apply(
        &mut state,
        &endorse(&alice, l1, "Alice", t(2)),
        Err("must be later than"),
    );
    apply(
        &mut state,
        &endorse(&alice, l1, "Alice Example", t(3)),
        Ok(()),
    ); // 6
    assert_eq!(
        state.signer(&l1, alice.verifier().public_key()),
        Some(&record(Active, 3, 2, 6, 6))
    );
    assert_eq!(
        state.signer(&l2, alice.verifier().public_key()),
        Some(&record(Active, 0, 4, 4, 4))
    );
    assert_eq!(state.signer(&l2, bob.verifier().public_key()), None);
    assert_eq!(state.counts(&l1), (2, 0));
    assert_eq!(state.counts(&letter(3)), (0, 0));
    assert_eq!(state.size(), 7);
}

/// A state with every kind of record, and the entries that built it.
fn sample_state() -> (LogState, Vec<Entry>) {
    let log = key("example.org/log");
    let (alice, bob) = (key("alice"), key("bob"));
    let entries = vec![
        register(&log, letter(1), "one"),
        register(&log, letter(2), "two"),
        endorse(&alice, letter(1), "Alice", t(1)),
        endorse(&bob, letter(1), "Bob", t(1)),
        withdraw(&alice, letter(1), t(2)),
        endorse(&alice, letter(2), "Alice", t(1)),
        withdraw(&bob, letter(1), t(2)),
        endorse(&bob, letter(1), "Bob", t(3)),
    ];
    let mut state = LogState::new(log.verifier());
    for e in &entries {
        state.apply(e).unwrap();
    }
    (state, entries)
}

#[test]
fn encode_then_decode_is_the_same_state() {
    let log = key("example.org/log");
    let empty = LogState::new(log.verifier());
    let decoded = LogState::decode(log.verifier(), &empty.encode()).unwrap();
    assert_eq!(decoded.size(), 0);
    assert_eq!(decoded.encode(), empty.encode());

    let (state, entries) = sample_state();
    let bytes = state.encode();
    let mut decoded = LogState::decode(log.verifier(), &bytes).unwrap();
    assert_eq!(decoded.encode(), bytes);
    assert_eq!(decoded.size(), 8);
    assert_eq!(decoded.letters(), state.letters());
    for l in [letter(1), letter(2)] {
        assert_eq!(decoded.counts(&l), state.counts(&l));
        for k in [key("alice"), key("bob")] {
            assert_eq!(
                decoded.signer(&l, k.verifier().public_key()),
                state.signer(&l, k.verifier().public_key())
            );
        }
    }
    assert_eq!(decoded.counts(&letter(1)), (1, 1));
    // The decoded state still knows every logged entry's bytes, and goes on by the rules.
    for e in &entries {
        assert!(
            decoded
                .apply(e)
                .unwrap_err()
                .to_string()
                .contains("repeats the bytes")
        );
    }
    decoded
        .apply(&endorse(&key("alice"), letter(1), "Alice", t(3)))
        .unwrap();
    assert_eq!(decoded.counts(&letter(1)), (2, 0));
}

#[test]
fn decode_refuses_malformed_state() {
    let log = key("example.org/log");
    let (state, _) = sample_state();
    let good = state.encode();

    // Every truncation, and anything appended.
    for n in 0..good.len() {
        assert!(
            LogState::decode(log.verifier(), &good[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
    assert!(LogState::decode(log.verifier(), &[&good[..], &[0]].concat()).is_err());
    assert!(LogState::decode(log.verifier(), &[&good[..], &[0; 32]].concat()).is_err());

    // The state of another log.
    let e = LogState::decode(key("other-log").verifier(), &good).unwrap_err();
    assert!(e.to_string().contains("another key"), "{e}");

    // Garbage.
    for garbage in [&b""[..], b"signet-state", b"hello world", &[0xff; 200]] {
        assert!(LogState::decode(log.verifier(), garbage).is_err());
    }

    // Single-byte changes either are refused or decode to a state that encodes the same
    // bytes back (so nothing was silently misread); those in the header and the first
    // count are always refused.
    let mut accepted = 0;
    for i in 0..good.len() {
        for delta in [1u8, 0x80] {
            let mut bad = good.clone();
            bad[i] = bad[i].wrapping_add(delta);
            if let Ok(decoded) = LogState::decode(log.verifier(), &bad) {
                assert_eq!(
                    decoded.encode(),
                    bad,
                    "byte {i} changed but encodes differently"
                );
                accepted += 1;
            }
        }
    }
    let header = 12 + 1 + 32 + 8;
    for i in 0..header + 8 {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        assert!(
            LogState::decode(log.verifier(), &bad).is_err(),
            "change at byte {i} accepted"
        );
    }
    // Some bytes (a time, a leaf hash) can change without breaking any invariant.
    assert!(accepted > 0);

    // Invariants the encoding cannot break by itself: a leaf hash twice, an index past
    // the size, an unknown status.
    let leaves = good.len() - 8 * 32;
    let mut twice = good.clone();
    twice.copy_within(leaves..leaves + 32, leaves + 32);
    assert!(
        LogState::decode(log.verifier(), &twice)
            .unwrap_err()
            .to_string()
            .contains("appears twice")
    );
    let mut past = good.clone();
    let letters_start = header + 8;
    past[letters_start + 32..letters_start + 40].copy_from_slice(&8u64.to_be_bytes());
    assert!(
        LogState::decode(log.verifier(), &past)
            .unwrap_err()
            .to_string()
            .contains("past the log's size")
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// No input makes decode panic.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = LogState::decode(key("example.org/log").verifier(), &bytes);
        }

        /// Nor does any corruption of a valid state; what it accepts re-encodes exactly.
        #[test]
        fn corrupted_state_is_refused_or_exact(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let (state, _) = sample_state();
            let mut bytes = state.encode();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            if let Ok(decoded) = LogState::decode(key("example.org/log").verifier(), &bytes) {
                prop_assert_eq!(decoded.encode(), bytes);
            }
        }
    }
}
