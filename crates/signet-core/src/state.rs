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
pub fn decide(
    previous: Option<&SignerRecord>,
    statement: &Statement,
    index: u64,
) -> Result<Decision, Error> {
    let (status, time, action) = match statement {
        Statement::Letter(_) => {
            return Err(Error::StateRule(
                "a letter registration is not a signer's statement; it has no signer record".into(),
            ));
        }
        Statement::Endorsement(e) => (SignerStatus::Active, e.time, "endorsement"),
        Statement::Withdrawal(w) => (SignerStatus::Withdrawn, w.time, "withdrawal"),
    };
    let letter = statement.letter();
    let record = match (previous, status) {
        (None, SignerStatus::Active) => SignerRecord {
            status,
            last_time: time,
            first_index: index,
            endorsement_index: index,
            latest_index: index,
        },
        (Some(p), SignerStatus::Active) if p.status == SignerStatus::Active => {
            return Ok(Decision::Conflict {
                active_index: p.endorsement_index,
            });
        }
        (None, SignerStatus::Withdrawn) => {
            return Err(Error::StateRule(format!(
                "this key has never endorsed letter {letter}, so there is nothing to withdraw"
            )));
        }
        (Some(p), SignerStatus::Withdrawn) if p.status == SignerStatus::Withdrawn => {
            return Err(Error::StateRule(format!(
                "this key's endorsement of letter {letter} was already withdrawn (entry {}); \
                 there is no active endorsement to withdraw",
                p.latest_index
            )));
        }
        (Some(p), _) => {
            // Strictly increasing times per (letter, signer) are what stop a replay of an
            // old endorsement or withdrawal.
            if time <= p.last_time {
                return Err(Error::StateRule(format!(
                    "the {action}'s time {time} must be later than {}, the time of this key's \
                     latest entry for letter {letter} (entry {}); sign it again with the current time",
                    p.last_time, p.latest_index
                )));
            }
            SignerRecord {
                status,
                last_time: time,
                first_index: p.first_index,
                endorsement_index: if status == SignerStatus::Active {
                    index
                } else {
                    p.endorsement_index
                },
                latest_index: index,
            }
        }
    };
    Ok(Decision::Accept(record))
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
        let index = self.size;
        let leaf = entry.leaf_hash();
        if let Some(first) = self.seen.get(&leaf) {
            return Err(Error::StateRule(format!(
                "entry {index} repeats the bytes of entry {first}; a log never appends the same entry twice"
            )));
        }
        let statement = entry.statement();
        let letter = statement.letter();
        // Every check comes before any change, so a refused entry leaves the state as it was.
        match statement {
            Statement::Letter(registration) => {
                if registration.key.public_key() != self.log_key.public_key() {
                    return Err(Error::StateRule(format!(
                        "entry {index} registers letter {letter} with key {}, not the log's key {}; \
                         only the log registers letters",
                        registration.key, self.log_key
                    )));
                }
                if let Some(earlier) = self.letters.get(&letter) {
                    return Err(Error::StateRule(format!(
                        "entry {index} registers letter {letter} again; entry {} registered it",
                        earlier.index
                    )));
                }
                if self.slugs.contains(&registration.slug) {
                    return Err(Error::StateRule(format!(
                        "entry {index} registers slug {} again; a slug names one letter per log",
                        registration.slug
                    )));
                }
                self.slugs.insert(registration.slug.clone());
                self.letters.insert(
                    letter,
                    RegisteredLetter {
                        slug: registration.slug.clone(),
                        index,
                    },
                );
            }
            Statement::Endorsement(_) | Statement::Withdrawal(_) => {
                if !self.letters.contains_key(&letter) {
                    return Err(Error::StateRule(format!(
                        "letter {letter} is not registered in this log"
                    )));
                }
                let signer = (letter, *statement.key().public_key());
                match decide(self.signers.get(&signer), statement, index)? {
                    Decision::Accept(record) => {
                        self.signers.insert(signer, record);
                    }
                    Decision::Conflict { active_index } => {
                        return Err(Error::StateRule(format!(
                            "entry {index} is an endorsement of letter {letter} while this key's \
                             endorsement at entry {active_index} is active; a log must refuse it"
                        )));
                    }
                }
            }
        }
        self.seen.insert(leaf, index);
        self.size += 1;
        Ok(())
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
        let mut out = Vec::with_capacity(
            MAGIC.len()
                + 1
                + 32
                + 8
                + self.letters.len() * 106
                + self.signers.len() * 105
                + self.seen.len() * 32,
        );
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(self.log_key.public_key());
        out.extend_from_slice(&self.size.to_be_bytes());

        // Sorted, so that equal states have equal encodings.
        let mut letters: Vec<_> = self.letters.iter().collect();
        letters.sort_by_key(|(id, _)| **id);
        out.extend_from_slice(&(letters.len() as u64).to_be_bytes());
        for (id, letter) in letters {
            out.extend_from_slice(&id.0.0);
            out.extend_from_slice(&letter.index.to_be_bytes());
            // A slug is 1..=64 bytes, so its length fits a byte.
            out.push(letter.slug.as_str().len() as u8);
            out.extend_from_slice(letter.slug.as_str().as_bytes());
        }

        let mut signers: Vec<_> = self.signers.iter().collect();
        signers.sort_by_key(|(key, _)| **key);
        out.extend_from_slice(&(signers.len() as u64).to_be_bytes());
        for ((letter, public_key), record) in signers {
            out.extend_from_slice(&letter.0.0);
            out.extend_from_slice(public_key);
            out.push(match record.status {
                SignerStatus::Active => 0,
                SignerStatus::Withdrawn => 1,
            });
            for n in [
                record.last_time.unix(),
                record.first_index,
                record.endorsement_index,
                record.latest_index,
            ] {
                out.extend_from_slice(&n.to_be_bytes());
            }
        }

        // Each applied entry has exactly one leaf hash, so the hashes in index order are
        // `size` hashes with no index to store.
        let mut seen: Vec<_> = self
            .seen
            .iter()
            .map(|(hash, index)| (*index, *hash))
            .collect();
        seen.sort_unstable_by_key(|(index, _)| *index);
        for (_, hash) in seen {
            out.extend_from_slice(&hash.0);
        }
        out
    }

    /// Reads an encoding made by [`LogState::encode`], refusing anything malformed
    /// (the file is on disk, so it is untrusted).
    pub fn decode(log_key: VerifierKey, bytes: &[u8]) -> Result<LogState, Error> {
        let mut r = Reader { bytes };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(corrupt("it is not a Signet state file"));
        }
        let version = r.take(1)?[0];
        if version != VERSION {
            return Err(corrupt(format_args!(
                "it has format version {version}; this program reads version {VERSION}"
            )));
        }
        if r.array::<32>()? != *log_key.public_key() {
            return Err(corrupt("it is the state of a log with another key"));
        }
        let mut state = LogState::new(log_key);
        let size = r.u64()?;
        state.size = size;

        // Records are in ascending order, as encode writes them, so that each state has
        // exactly one encoding and a duplicate cannot hide.
        let letters = r.count(32 + 8 + 1 + 1)?;
        let mut previous = None;
        for _ in 0..letters {
            let id = LetterId(Hash(r.array()?));
            if previous.is_some_and(|p| p >= id) {
                return Err(corrupt("the letters are not in ascending order of ID"));
            }
            previous = Some(id);
            let index = r.index(size)?;
            let len = usize::from(r.take(1)?[0]);
            let slug = std::str::from_utf8(r.take(len)?)
                .ok()
                .and_then(|s| Slug::parse(s).ok())
                .ok_or_else(|| corrupt("a slug is not valid"))?;
            if !state.slugs.insert(slug.clone()) {
                return Err(corrupt(format_args!("slug {slug} appears twice")));
            }
            if state
                .letters
                .insert(id, RegisteredLetter { slug, index })
                .is_some()
            {
                return Err(corrupt(format_args!("letter {id} appears twice")));
            }
        }

        let signers = r.count(32 + 32 + 1 + 4 * 8)?;
        let mut previous = None;
        for _ in 0..signers {
            let letter = LetterId(Hash(r.array()?));
            let public_key = r.array::<32>()?;
            if previous.is_some_and(|p| p >= (letter, public_key)) {
                return Err(corrupt("the signer records are not in ascending order"));
            }
            previous = Some((letter, public_key));
            let status = match r.take(1)?[0] {
                0 => SignerStatus::Active,
                1 => SignerStatus::Withdrawn,
                other => return Err(corrupt(format_args!("unknown signer status {other}"))),
            };
            let last_time = Timestamp::from_unix(r.u64()?).map_err(corrupt)?;
            let record = SignerRecord {
                status,
                last_time,
                first_index: r.index(size)?,
                endorsement_index: r.index(size)?,
                latest_index: r.index(size)?,
            };
            let Some(registered) = state.letters.get(&letter) else {
                return Err(corrupt(format_args!(
                    "a signer record names unregistered letter {letter}"
                )));
            };
            let ordered = registered.index < record.first_index
                && record.first_index <= record.endorsement_index
                && record.endorsement_index <= record.latest_index
                && (status == SignerStatus::Active)
                    == (record.endorsement_index == record.latest_index);
            if !ordered {
                return Err(corrupt(format_args!(
                    "a signer record of letter {letter} has inconsistent indexes"
                )));
            }
            if state.signers.insert((letter, public_key), record).is_some() {
                return Err(corrupt(format_args!(
                    "a signer record of letter {letter} appears twice"
                )));
            }
        }

        let leaves = usize::try_from(size)
            .ok()
            .filter(|n| n.checked_mul(32) == Some(r.bytes.len()))
            .ok_or_else(|| {
                corrupt(format_args!(
                    "it does not end with the {size} leaf hashes of the log"
                ))
            })?;
        state.seen.reserve(leaves);
        for index in 0..size {
            let hash = Hash(r.array()?);
            if state.seen.insert(hash, index).is_some() {
                return Err(corrupt(format_args!("leaf hash {hash} appears twice")));
            }
        }
        Ok(state)
    }

    /// Counts of (active, withdrawn) signers of a letter.
    pub fn counts(&self, letter: &LetterId) -> (u64, u64) {
        let mut counts = (0, 0);
        for ((l, _), record) in &self.signers {
            if l == letter {
                match record.status {
                    SignerStatus::Active => counts.0 += 1,
                    SignerStatus::Withdrawn => counts.1 += 1,
                }
            }
        }
        counts
    }
}

/// The first bytes of an encoded [`LogState`].
const MAGIC: &[u8] = b"signet-state";

/// The version of the encoding [`LogState::encode`] writes.
///
/// Version 1, all integers big-endian: the magic, the version byte, the log's 32-byte
/// public key, the size (u64); the letters (u64 count, then each: ID (32), registration
/// index (u64), slug length (u8) and slug); the signer records (u64 count, then each:
/// letter ID (32), public key (32), status (0 active, 1 withdrawn), last time (Unix
/// seconds), first, endorsement and latest index (u64 each)); then the 32-byte leaf hash
/// of every entry in index order, `size` of them, and nothing after.
const VERSION: u8 = 1;

fn corrupt(reason: impl std::fmt::Display) -> Error {
    Error::malformed("state file", reason)
}

/// Reads an encoded state front to back, refusing to read past its end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.bytes.len() < n {
            return Err(corrupt("it is truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// An index of an entry of a log of `size` entries.
    fn index(&mut self, size: u64) -> Result<u64, Error> {
        let index = self.u64()?;
        if index >= size {
            return Err(corrupt(format_args!(
                "index {index} is past the log's size {size}"
            )));
        }
        Ok(index)
    }

    /// A count of records of at least `min_record` bytes each. Checking it against the
    /// bytes left keeps a corrupt count from making decode loop for long.
    fn count(&mut self, min_record: usize) -> Result<u64, Error> {
        let n = self.u64()?;
        if n > (self.bytes.len() / min_record) as u64 {
            return Err(corrupt(format_args!(
                "it claims {n} records but is too short to hold them"
            )));
        }
        Ok(n)
    }
}
