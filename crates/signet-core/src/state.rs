//! The rules of state (see docs/protocol.md, *Rules of state*): one pure function,
//! [`decide`], that says what becomes of any entry, for the server's sequencer and for
//! every auditor alike, and an in-memory [`LogState`] that replays a whole log with it.
//!
//! [`decide`] reads what the log already holds through the [`Known`] trait and changes
//! nothing: it returns a [`Decision`], and the caller records the [`Change`] of an entry
//! it appends. The server's catalog (with the batch being decided) and [`LogState`] both
//! implement [`Known`], so there is exactly one place where a rule is written.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;

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

/// What the rules of state read: the facts a log's earlier entries established.
///
/// Every question is about entries *before* the one being decided. The server answers
/// from its catalog plus the entries of the batch it is deciding; an auditor answers from
/// a [`LogState`]. Each kind of entry a later version adds (moderator appointments and
/// moderations) adds the questions its rules need here, so both sides answer them.
pub trait Known {
    /// Why a question could not be answered (a storage failure, for a catalog).
    type Error;

    /// The log's own verifier key: letter registrations must be signed with its key
    /// bytes, under the log's origin as key name.
    fn log_key(&self) -> &VerifierKey;

    /// The index of the logged entry whose leaf hash is `leaf`, if any.
    fn logged(&self, leaf: &Hash) -> Result<Option<u64>, Self::Error>;

    /// The index of the entry that registered `letter`, if any.
    fn letter(&self, letter: &LetterId) -> Result<Option<u64>, Self::Error>;

    /// Whether a registered letter already has `slug`.
    fn slug_taken(&self, slug: &Slug) -> Result<bool, Self::Error>;

    /// The record of the signer with public key `public_key` for `letter`, if any.
    fn signer(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Self::Error>;
}

/// What the rules of state make of one entry, were it appended at a given index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Append it at `index`; `change` is what that does to the state.
    Append {
        /// The index it gets.
        index: u64,
        /// What appending it changes.
        change: Change,
    },
    /// The same bytes are already logged at `index`: not a new entry (HTTP 200).
    Logged {
        /// The index of the logged copy.
        index: u64,
    },
    /// A different endorsement by the same signer is active (HTTP 409).
    Conflict {
        /// The index of the active endorsement.
        active_index: u64,
    },
    /// A rule of state refuses it (HTTP 422); the error says which and why.
    Refused(Error),
}

/// What appending an entry changes in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A letter is registered under a slug.
    Letter {
        /// The letter.
        letter: LetterId,
        /// Its slug.
        slug: Slug,
    },
    /// A signer's record for a letter is created or replaced.
    Signer {
        /// The letter.
        letter: LetterId,
        /// The signer's public key.
        public_key: [u8; 32],
        /// The signer's status before this entry, if it had a record.
        previous: Option<SignerStatus>,
        /// The signer's record after it.
        record: SignerRecord,
    },
}

/// Decides `statement` (whose entry has leaf hash `leaf`) against what `known` holds,
/// were it appended at `index`. Every rule of state is checked here except the
/// 10-minute future limit, which only a server can check at submission:
///
/// - bytes already logged are not a new entry;
/// - a letter registration is signed by the log's key bytes under the log's origin as
///   key name, and registers a letter and a slug that are not registered yet;
/// - an endorsement or withdrawal names a registered letter, and follows the signer's
///   record: endorsed by the first endorsement, withdrawn by a later withdrawal,
///   endorsed again by a later endorsement, with strictly increasing times.
///
/// The caller has parsed and verified the entry (its signature included). `Err` means
/// only that `known` could not answer; every refusal is a [`Decision::Refused`].
pub fn decide<K: Known + ?Sized>(
    known: &K,
    statement: &Statement,
    leaf: &Hash,
    index: u64,
) -> Result<Decision, K::Error> {
    if let Some(logged) = known.logged(leaf)? {
        return Ok(Decision::Logged { index: logged });
    }
    let letter = statement.letter();
    let refuse = |why: String| Ok(Decision::Refused(Error::StateRule(why)));
    let change = match statement {
        Statement::Letter(registration) => {
            let log_key = known.log_key();
            if registration.key.public_key() != log_key.public_key() {
                return refuse(format!(
                    "entry {index} registers letter {letter} with key {}, not the log's key {}; \
                     only the log registers letters",
                    registration.key, log_key
                ));
            }
            if registration.key.name() != log_key.name() {
                return refuse(format!(
                    "entry {index} registers letter {letter} under key name {}, not the log's \
                     origin {}; a registration is signed under the origin",
                    registration.key.name(),
                    log_key.name()
                ));
            }
            if let Some(earlier) = known.letter(&letter)? {
                return refuse(format!(
                    "entry {index} registers letter {letter} again; entry {earlier} registered it"
                ));
            }
            if known.slug_taken(&registration.slug)? {
                return refuse(format!(
                    "entry {index} registers slug {} again; a slug names one letter per log",
                    registration.slug
                ));
            }
            Change::Letter {
                letter,
                slug: registration.slug.clone(),
            }
        }
        Statement::Endorsement(_) | Statement::Withdrawal(_) => {
            if known.letter(&letter)?.is_none() {
                return refuse(format!("letter {letter} is not registered in this log"));
            }
            let public_key = *statement.key().public_key();
            let previous = known.signer(&letter, &public_key)?;
            match signer_rule(previous.as_ref(), statement, index) {
                Ok(Ok(record)) => Change::Signer {
                    letter,
                    public_key,
                    previous: previous.map(|p| p.status),
                    record,
                },
                Ok(Err(active_index)) => return Ok(Decision::Conflict { active_index }),
                Err(e) => return Ok(Decision::Refused(e)),
            }
        }
    };
    Ok(Decision::Append { index, change })
}

/// The rules per (letter, signer): the signer's new record, `Err(active index)` for a
/// conflicting endorsement, or the rule it breaks.
fn signer_rule(
    previous: Option<&SignerRecord>,
    statement: &Statement,
    index: u64,
) -> Result<Result<SignerRecord, u64>, Error> {
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
            return Ok(Err(p.endorsement_index));
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
    Ok(Ok(record))
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

impl Known for LogState {
    type Error = Infallible;

    fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }

    fn logged(&self, leaf: &Hash) -> Result<Option<u64>, Infallible> {
        Ok(self.seen.get(leaf).copied())
    }

    fn letter(&self, letter: &LetterId) -> Result<Option<u64>, Infallible> {
        Ok(self.letters.get(letter).map(|l| l.index))
    }

    fn slug_taken(&self, slug: &Slug) -> Result<bool, Infallible> {
        Ok(self.slugs.contains(slug))
    }

    fn signer(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Infallible> {
        Ok(self.signers.get(&(*letter, *public_key)).copied())
    }
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

    /// Applies the next entry of the log (index [`LogState::size`]), decided by
    /// [`decide`]: every rule of state except the 10-minute future limit, which only a
    /// server can check. An entry that a log must not have appended (a refusal, repeated
    /// bytes, a conflicting endorsement) is an error, and leaves the state as it was.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), Error> {
        let index = self.size;
        let leaf = entry.leaf_hash();
        let decision = match decide(self, entry.statement(), &leaf, index) {
            Ok(d) => d,
            Err(never) => match never {},
        };
        match decision {
            Decision::Append { change, .. } => {
                self.record(change, index);
                self.seen.insert(leaf, index);
                self.size += 1;
                Ok(())
            }
            Decision::Logged { index: first } => Err(Error::StateRule(format!(
                "entry {index} repeats the bytes of entry {first}; a log never appends the same entry twice"
            ))),
            Decision::Conflict { active_index } => Err(Error::StateRule(format!(
                "entry {index} is an endorsement of letter {} while this key's endorsement at \
                 entry {active_index} is active; a log must refuse it",
                entry.statement().letter()
            ))),
            Decision::Refused(e) => Err(e),
        }
    }

    fn record(&mut self, change: Change, index: u64) {
        match change {
            Change::Letter { letter, slug } => {
                self.slugs.insert(slug.clone());
                self.letters
                    .insert(letter, RegisteredLetter { slug, index });
            }
            Change::Signer {
                letter,
                public_key,
                record,
                ..
            } => {
                self.signers.insert((letter, public_key), record);
            }
        }
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
