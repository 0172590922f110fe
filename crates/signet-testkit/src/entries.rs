//! The one builder of log entries for tests and benchmarks: deterministic keys, fixed
//! times, test letters, and the statements of endorsements, withdrawals and letter
//! registrations, unsigned (for a caller that adds fields or signs with its own error
//! handling) or signed.
//!
//! Nothing here checks the rules of state: a test may build a withdrawal with nothing to
//! withdraw, or a registration signed by the wrong key, on purpose.

use signet_core::entry::{
    Endorsement, LetterRegistration, Moderation, ModerationAction, ModerationReason,
    ModeratorAppointment, Withdrawal,
};
use signet_core::keys::SignatureType;
use signet_core::{Hash, KeyName, Letter, LetterId, SigningKey, Statement, Timestamp};

/// The Unix time of 2025-01-01T00:00:00Z, the origin of [`time`].
pub const EPOCH: u64 = 1_735_689_600;

/// A deterministic Ed25519 key named `name`: the seed is SHA-256 of `label`.
///
/// Panics when `name` is not a valid key name.
pub fn key(name: &str, label: &str) -> SigningKey {
    let name = KeyName::parse(name).unwrap_or_else(|e| panic!("key name {name:?}: {e}"));
    SigningKey::from_seed(
        name,
        SignatureType::Ed25519,
        &Hash::sha256(label.as_bytes()).0,
    )
}

/// The time `seconds` after 2025-01-01T00:00:00Z.
pub fn time(seconds: u64) -> Timestamp {
    unix_time(EPOCH + seconds)
}

/// The time `unix` seconds after 1970, which must be in 2000 or later.
pub fn unix_time(unix: u64) -> Timestamp {
    Timestamp::from_unix(unix).unwrap_or_else(|e| panic!("time {unix}: {e}"))
}

/// The current time, to the second.
pub fn now() -> Timestamp {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    unix_time(unix)
}

/// A short test letter whose text depends on `n`.
pub fn letter(n: u32) -> Letter {
    let text = format!("Test letter number {n}.\n\nWe ask for careful logs.\n");
    Letter::from_bytes(text.as_bytes()).unwrap_or_else(|e| panic!("test letter {n}: {e}"))
}

/// What an endorsement of `letter` by `signer`, named `name`, says at `time`: no
/// affiliation, role or identity claim (set them with struct update syntax).
pub fn unsigned_endorsement(
    signer: &SigningKey,
    letter: LetterId,
    name: &str,
    time: Timestamp,
) -> Endorsement {
    Endorsement {
        letter,
        name: name.to_owned(),
        affiliation: None,
        role: None,
        identity: Vec::new(),
        time,
        key: signer.verifier(),
    }
}

/// What a withdrawal of `letter` by `signer` says at `time`.
pub fn unsigned_withdrawal(signer: &SigningKey, letter: LetterId, time: Timestamp) -> Withdrawal {
    Withdrawal {
        letter,
        time,
        key: signer.verifier(),
    }
}

/// What a registration of `letter` under `slug` by `signer` says at `time`: the title
/// `Letter <slug>`, in English.
///
/// Panics when `slug` is not a valid slug.
pub fn unsigned_registration(
    signer: &SigningKey,
    letter: LetterId,
    slug: &str,
    time: Timestamp,
) -> LetterRegistration {
    LetterRegistration {
        letter,
        slug: slug
            .parse()
            .unwrap_or_else(|e| panic!("slug {slug:?}: {e}")),
        title: format!("Letter {slug}"),
        language: "en".parse().unwrap_or_else(|e| panic!("language en: {e}")),
        time,
        key: signer.verifier(),
    }
}

/// The bytes of `statement` signed by `signer`.
///
/// Panics when the statement cannot be signed (a field out of range).
pub fn signed(statement: Statement, signer: &SigningKey) -> Vec<u8> {
    statement
        .sign(signer)
        .unwrap_or_else(|e| panic!("signing a test entry: {e}"))
        .bytes()
        .to_vec()
}

/// An endorsement's bytes: `letter` endorsed by `signer` named `name`, at [`time`]`(t)`.
pub fn endorsement(signer: &SigningKey, letter: LetterId, name: &str, t: u64) -> Vec<u8> {
    let statement = unsigned_endorsement(signer, letter, name, time(t));
    signed(Statement::Endorsement(statement), signer)
}

/// A withdrawal's bytes: `letter` withdrawn by `signer` at [`time`]`(t)`.
pub fn withdrawal(signer: &SigningKey, letter: LetterId, t: u64) -> Vec<u8> {
    let statement = unsigned_withdrawal(signer, letter, time(t));
    signed(Statement::Withdrawal(statement), signer)
}

/// A registration's bytes: `letter` under `slug`, signed by `signer`, at [`time`]`(t)`.
pub fn registration(signer: &SigningKey, letter: LetterId, slug: &str, t: u64) -> Vec<u8> {
    let statement = unsigned_registration(signer, letter, slug, time(t));
    signed(Statement::Letter(statement), signer)
}

/// What an appointment of `moderator` by the log key `log` says at `time`: its name is
/// the moderator key's key name.
pub fn unsigned_appointment(
    log: &SigningKey,
    moderator: &SigningKey,
    time: Timestamp,
) -> ModeratorAppointment {
    ModeratorAppointment {
        moderator: moderator.verifier(),
        name: moderator.name().as_str().to_owned(),
        time,
        key: log.verifier(),
    }
}

/// An appointment's bytes: `moderator` appointed by `log` at [`time`]`(t)`.
pub fn appointment(log: &SigningKey, moderator: &SigningKey, t: u64) -> Vec<u8> {
    let statement = unsigned_appointment(log, moderator, time(t));
    signed(Statement::Moderator(statement), log)
}

/// What a moderation by `moderator` of the signer of entry `target` of `letter` says at
/// `time`: no note (set it with struct update syntax).
pub fn unsigned_moderation(
    moderator: &SigningKey,
    letter: LetterId,
    target: u64,
    action: ModerationAction,
    reason: ModerationReason,
    time: Timestamp,
) -> Moderation {
    Moderation {
        letter,
        entry: target,
        action,
        reason,
        note: None,
        time,
        key: moderator.verifier(),
    }
}

/// A hide's bytes: `moderator` hides the signer of entry `target` of `letter` as an
/// impersonation, at [`time`]`(t)`.
pub fn hide(moderator: &SigningKey, letter: LetterId, target: u64, t: u64) -> Vec<u8> {
    let statement = unsigned_moderation(
        moderator,
        letter,
        target,
        ModerationAction::Hide,
        ModerationReason::Impersonation,
        time(t),
    );
    signed(Statement::Moderation(statement), moderator)
}

/// A show's bytes: `moderator` shows the signer of entry `target` of `letter` again, as
/// reviewed, at [`time`]`(t)`.
pub fn show(moderator: &SigningKey, letter: LetterId, target: u64, t: u64) -> Vec<u8> {
    let statement = unsigned_moderation(
        moderator,
        letter,
        target,
        ModerationAction::Show,
        ModerationReason::Reviewed,
        time(t),
    );
    signed(Statement::Moderation(statement), moderator)
}

#[cfg(test)]
mod tests {
    use signet_core::Entry;

    use super::*;

    /// Each builder's bytes parse with the one parser into the statement it was asked
    /// for, signed by the key it was given.
    fn check(bytes: &[u8], kind: &str, signer: &SigningKey, letter: LetterId, t: u64) {
        let entry = Entry::parse(bytes).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let statement = entry.statement();
        assert_eq!(statement.kind(), kind);
        assert_eq!(statement.key().public_key(), signer.verifier().public_key());
        assert_eq!(statement.letter(), Some(letter));
        assert_eq!(statement.time(), time(t));
    }

    #[test]
    fn builders_make_the_entries_they_name() {
        let alice = key("alice", "alice");
        let l = letter(1).id();
        check(
            &endorsement(&alice, l, "Alice", 5),
            "endorsement",
            &alice,
            l,
            5,
        );
        check(&withdrawal(&alice, l, 6), "withdrawal", &alice, l, 6);
        check(
            &registration(&alice, l, "a-letter", 7),
            "letter",
            &alice,
            l,
            7,
        );
    }

    #[test]
    fn keys_times_and_letters_are_deterministic_and_distinct() {
        assert_eq!(key("a", "x").verifier(), key("a", "x").verifier());
        assert_ne!(
            key("a", "x").verifier().public_key(),
            key("a", "y").verifier().public_key()
        );
        assert_eq!(time(0).unix(), EPOCH);
        assert_eq!(time(61).unix(), EPOCH + 61);
        assert_eq!(letter(3).id(), letter(3).id());
        assert_ne!(letter(3).id(), letter(4).id());
    }
}
