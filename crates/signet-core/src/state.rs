//! The rules of state (DESIGN §3), as pure functions over one signer's record, and an
//! in-memory [`LogState`] that replays a whole log with them (for auditors and tests).
//!
//! The server keeps records in its index and calls [`decide`]; the auditor calls
//! [`LogState::apply`]. Both follow the same rules because both use [`decide`].

use std::collections::{HashMap, HashSet};

use crate::entry::{Slug, Statement};
use crate::{Entry, Error, Hash, LetterId, Timestamp, VerifierKey};

/// Whether a signer's endorsement of a letter is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignerStatus {
    /// The latest entry is an endorsement.
    Active,
    /// The latest entry is a withdrawal.
    Withdrawn,
}

/// What the log knows of one (letter, signer) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignerRecord {
    /// Active or withdrawn.
    pub status: SignerStatus,
    /// The time of the latest entry; the next must be strictly later.
    pub last_time: Timestamp,
    /// The index of the signer's first endorsement of the letter (list order).
    pub first_index: u64,
    /// The index of the signer's latest endorsement (the one shown).
    pub endorsement_index: u64,
    /// The index of the latest entry, endorsement or withdrawal.
    pub latest_index: u64,
}

/// What [`decide`] makes of an endorsement or withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept it at the given index; this is the signer's new record.
    Accept(SignerRecord),
    /// A different endorsement is active (HTTP 409): the index of the active one.
    Conflict {
        /// Index of the active endorsement.
        active_index: u64,
    },
}

/// Decides an endorsement or withdrawal against the signer's previous record for that
/// letter, were it appended at `index`. The caller has already checked that the letter
/// is registered and that the bytes are not a duplicate of a logged entry. A letter
/// registration is not a signer's statement and is an error here.
pub fn decide(previous: Option<&SignerRecord>, statement: &Statement, index: u64) -> Result<Decision, Error> {
    let _ = (previous, statement, index);
    todo!()
}

/// A registered letter, as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredLetter {
    /// Its slug.
    pub slug: Slug,
    /// The index of its registration entry.
    pub index: u64,
}

/// The state of a whole log, replayed entry by entry.
#[derive(Debug, Clone)]
pub struct LogState {
    log_key: VerifierKey,
    size: u64,
    letters: HashMap<LetterId, RegisteredLetter>,
    slugs: HashSet<Slug>,
    signers: HashMap<(LetterId, [u8; 32]), SignerRecord>,
    seen: HashMap<Hash, u64>,
}

impl LogState {
    /// The state of an empty log whose registrations must be signed by `log_key`.
    pub fn new(log_key: VerifierKey) -> LogState {
        LogState {
            log_key,
            size: 0,
            letters: HashMap::new(),
            slugs: HashSet::new(),
            signers: HashMap::new(),
            seen: HashMap::new(),
        }
    }

    /// Entries applied so far; the next entry's index.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Applies the next entry of the log (index [`LogState::size`]). Every rule of DESIGN
    /// §3 is checked except the 10-minute future limit, which only a server can check:
    /// registrations signed by the log key, once per letter and slug; endorsements and
    /// withdrawals of registered letters, by [`decide`]; no repeated bytes. A conflict
    /// is an error here, since a log must never have appended it.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), Error> {
        let _ = entry;
        todo!()
    }

    /// The registered letters.
    pub fn letters(&self) -> &HashMap<LetterId, RegisteredLetter> {
        &self.letters
    }

    /// One signer's record for a letter.
    pub fn signer(&self, letter: &LetterId, public_key: &[u8; 32]) -> Option<&SignerRecord> {
        self.signers.get(&(*letter, *public_key))
    }

    /// A compact binary encoding of the whole state, for an auditor to keep between
    /// runs. [`LogState::decode`] reads it back.
    pub fn encode(&self) -> Vec<u8> {
        todo!()
    }

    /// Reads an encoding made by [`LogState::encode`], refusing anything malformed
    /// (the file is on disk, so it is untrusted).
    pub fn decode(log_key: VerifierKey, bytes: &[u8]) -> Result<LogState, Error> {
        let _ = (log_key, bytes);
        todo!()
    }

    /// Counts of (active, withdrawn) signers of a letter.
    pub fn counts(&self, letter: &LetterId) -> (u64, u64) {
        let _ = letter;
        todo!()
    }
}
