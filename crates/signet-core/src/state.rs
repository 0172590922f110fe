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

use crate::entry::{Moderation, ModerationAction, ModerationReason, Slug, Statement};
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

/// What the log knows of the moderation of one (letter, signer) pair: its latest
/// moderation, whose action says whether the signer is hidden now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModerationRecord {
    /// Whether the signer is hidden from the letter's list now.
    pub hidden: bool,
    /// The time of the latest moderation; the next must be strictly later.
    pub last_time: Timestamp,
    /// The index of the latest moderation.
    pub latest_index: u64,
    /// The endorsement the latest moderation names (its `entry` line).
    pub target: u64,
    /// The latest moderation's reason.
    pub reason: ModerationReason,
    /// The latest moderation's note.
    pub note: Option<String>,
    /// The public key of the moderator who signed it.
    pub moderator: [u8; 32],
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

    /// The index of the appointment of the moderator with public key `public_key`, if
    /// it was appointed.
    fn moderator(&self, public_key: &[u8; 32]) -> Result<Option<u64>, Self::Error>;

    /// When the entry at `index` is an endorsement: its letter and its signer's public
    /// key. `None` for any other kind, or an index not in the log.
    fn endorsement(&self, index: u64) -> Result<Option<(LetterId, [u8; 32])>, Self::Error>;

    /// The moderation record of the signer with public key `public_key` for `letter`, if
    /// it was ever moderated.
    fn moderation(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<ModerationRecord>, Self::Error>;
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
    /// A moderator is appointed.
    Moderator {
        /// The moderator's verifier key.
        moderator: VerifierKey,
    },
    /// A signer's moderation record for a letter is created or replaced.
    Moderation {
        /// The letter.
        letter: LetterId,
        /// The target signer's public key.
        public_key: [u8; 32],
        /// Whether the signer was hidden before this entry.
        was_hidden: bool,
        /// The signer's moderation record after it.
        record: ModerationRecord,
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
///   endorsed again by a later endorsement, with strictly increasing times;
/// - a moderator appointment is signed like a registration, by the log, and appoints a
///   key other than the log's that is not appointed yet;
/// - a moderation is signed by an appointed moderator, names a registered letter and an
///   earlier endorsement of it, hides a signer that is not hidden or shows one that is,
///   and is later than the previous moderation of that (letter, signer).
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
    let refuse = |why: String| Ok(Decision::Refused(Error::StateRule(why)));
    let change = match statement {
        Statement::Letter(registration) => {
            let letter = registration.letter;
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
        Statement::Moderator(appointment) => {
            let log_key = known.log_key();
            let moderator = &appointment.moderator;
            if appointment.key.public_key() != log_key.public_key() {
                return refuse(format!(
                    "entry {index} appoints moderator {moderator} with key {}, not the log's key \
                     {}; only the log appoints moderators",
                    appointment.key, log_key
                ));
            }
            if appointment.key.name() != log_key.name() {
                return refuse(format!(
                    "entry {index} appoints moderator {moderator} under key name {}, not the \
                     log's origin {}; an appointment is signed under the origin",
                    appointment.key.name(),
                    log_key.name()
                ));
            }
            if moderator.public_key() == log_key.public_key() {
                return refuse(format!(
                    "entry {index} appoints the log's own key as a moderator; a moderator signs \
                     with a key of its own (make one with `signet keygen`)"
                ));
            }
            if let Some(earlier) = known.moderator(moderator.public_key())? {
                return refuse(format!(
                    "entry {index} appoints moderator {moderator} again; entry {earlier} \
                     appointed that key"
                ));
            }
            Change::Moderator {
                moderator: moderator.clone(),
            }
        }
        Statement::Moderation(moderation) => match moderation_rule(known, moderation, index)? {
            Ok(change) => change,
            Err(why) => return refuse(why),
        },
        Statement::Endorsement(_) | Statement::Withdrawal(_) => {
            let Some(letter) = statement.letter() else {
                return refuse("an endorsement or withdrawal names no letter".into());
            };
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

/// The rules of a moderation: the change it makes, or why it is refused.
fn moderation_rule<K: Known + ?Sized>(
    known: &K,
    m: &Moderation,
    index: u64,
) -> Result<Result<Change, String>, K::Error> {
    let letter = m.letter;
    let key = &m.key;
    if known.moderator(key.public_key())?.is_none() {
        let whose = if key.public_key() == known.log_key().public_key() {
            "the log's own key, which never moderates"
        } else {
            "not an appointed moderator of this log"
        };
        return Ok(Err(format!(
            "entry {index} is a moderation signed by {key}, {whose}; only a key the log \
             appointed with a signet/moderator/v1 entry may moderate (see /v1/log for the \
             moderators)"
        )));
    }
    if known.letter(&letter)?.is_none() {
        return Ok(Err(format!(
            "letter {letter} is not registered in this log"
        )));
    }
    let target = m.entry;
    if target >= index {
        return Ok(Err(format!(
            "the moderation names entry {target}, which is not earlier than the moderation \
             itself (entry {index}); name an earlier endorsement"
        )));
    }
    let Some((target_letter, public_key)) = known.endorsement(target)? else {
        return Ok(Err(format!(
            "the moderation names entry {target}, which is not an endorsement; name the \
             endorsement whose signer it hides or shows"
        )));
    };
    if target_letter != letter {
        return Ok(Err(format!(
            "the moderation is about letter {letter}, but entry {target} endorses letter \
             {target_letter}; name an endorsement of the same letter"
        )));
    }
    let previous = known.moderation(&letter, &public_key)?;
    let was_hidden = previous.as_ref().is_some_and(|p| p.hidden);
    match (m.action, was_hidden) {
        (ModerationAction::Hide, true) => {
            return Ok(Err(format!(
                "the signer of entry {target} is already hidden from letter {letter} (entry {}); \
                 a hide applies only to a signer that is shown",
                previous.as_ref().map_or(0, |p| p.latest_index)
            )));
        }
        (ModerationAction::Show, false) => {
            return Ok(Err(format!(
                "the signer of entry {target} is not hidden from letter {letter}; a show applies \
                 only to a hidden signer"
            )));
        }
        _ => {}
    }
    if let Some(p) = &previous {
        // Strictly increasing times per (letter, target signer), across every moderator,
        // stop the replay of an old hide or show.
        if m.time <= p.last_time {
            return Ok(Err(format!(
                "the moderation's time {} must be later than {}, the time of the latest \
                 moderation of this signer for letter {letter} (entry {}); sign it again with \
                 the current time",
                m.time, p.last_time, p.latest_index
            )));
        }
    }
    Ok(Ok(Change::Moderation {
        letter,
        public_key,
        was_hidden,
        record: ModerationRecord {
            hidden: m.action == ModerationAction::Hide,
            last_time: m.time,
            latest_index: index,
            target,
            reason: m.reason,
            note: m.note.clone(),
            moderator: *key.public_key(),
        },
    }))
}

/// The rules per (letter, signer): the signer's new record, `Err(active index)` for a
/// conflicting endorsement, or the rule it breaks.
fn signer_rule(
    previous: Option<&SignerRecord>,
    statement: &Statement,
    index: u64,
) -> Result<Result<SignerRecord, u64>, Error> {
    let (status, time, action, letter) = match statement {
        Statement::Endorsement(e) => (SignerStatus::Active, e.time, "endorsement", e.letter),
        Statement::Withdrawal(w) => (SignerStatus::Withdrawn, w.time, "withdrawal", w.letter),
        Statement::Letter(_) | Statement::Moderator(_) | Statement::Moderation(_) => {
            return Err(Error::StateRule(format!(
                "a {} is not a signer's statement; it has no signer record",
                statement.kind()
            )));
        }
    };
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
    moderators: HashMap<[u8; 32], AppointedModerator>,
    endorsements: HashMap<u64, (LetterId, [u8; 32])>,
    moderations: HashMap<(LetterId, [u8; 32]), ModerationRecord>,
}

/// An appointed moderator, as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointedModerator {
    /// Its verifier key.
    pub key: VerifierKey,
    /// The index of its appointment.
    pub index: u64,
}

/// How many signers of a letter are in each of the three states (see docs/protocol.md,
/// *Moderation*): every signer is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Its latest entry is an endorsement and it is not hidden.
    pub shown: u64,
    /// Its latest entry is a withdrawal and it is not hidden.
    pub withdrawn: u64,
    /// Hidden now, whatever its latest entry.
    pub hidden: u64,
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

    fn moderator(&self, public_key: &[u8; 32]) -> Result<Option<u64>, Infallible> {
        Ok(self.moderators.get(public_key).map(|m| m.index))
    }

    fn endorsement(&self, index: u64) -> Result<Option<(LetterId, [u8; 32])>, Infallible> {
        Ok(self.endorsements.get(&index).copied())
    }

    fn moderation(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<ModerationRecord>, Infallible> {
        Ok(self.moderations.get(&(*letter, *public_key)).cloned())
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
            moderators: HashMap::new(),
            endorsements: HashMap::new(),
            moderations: HashMap::new(),
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
                if let Statement::Endorsement(e) = entry.statement() {
                    self.endorsements
                        .insert(index, (e.letter, *e.key.public_key()));
                }
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
                entry
                    .statement()
                    .letter()
                    .map_or_else(|| "?".to_owned(), |l| l.to_string())
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
            Change::Moderator { moderator } => {
                self.moderators.insert(
                    *moderator.public_key(),
                    AppointedModerator {
                        key: moderator,
                        index,
                    },
                );
            }
            Change::Moderation {
                letter,
                public_key,
                record,
                ..
            } => {
                self.moderations.insert((letter, public_key), record);
            }
        }
    }

    /// The appointed moderators, in order of appointment.
    pub fn moderators(&self) -> Vec<&AppointedModerator> {
        let mut all: Vec<_> = self.moderators.values().collect();
        all.sort_by_key(|m| m.index);
        all
    }

    /// One signer's moderation record for a letter.
    pub fn moderation(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Option<&ModerationRecord> {
        self.moderations.get(&(*letter, *public_key))
    }

    /// Every hide in effect, as (letter, signer's public key, its record), in order of
    /// the hiding moderation's index.
    pub fn hides(&self) -> Vec<(LetterId, [u8; 32], &ModerationRecord)> {
        let mut all: Vec<_> = self
            .moderations
            .iter()
            .filter(|(_, r)| r.hidden)
            .map(|((l, k), r)| (*l, *k, r))
            .collect();
        all.sort_by_key(|(_, _, r)| r.latest_index);
        all
    }

    /// The verifier key of an appointed moderator, by public key.
    pub fn moderator_key(&self, public_key: &[u8; 32]) -> Option<&VerifierKey> {
        self.moderators.get(public_key).map(|m| &m.key)
    }

    /// How many signers of `letter` are shown, withdrawn and hidden.
    pub fn tally(&self, letter: &LetterId) -> Tally {
        let mut tally = Tally::default();
        for ((l, key), record) in &self.signers {
            if l != letter {
                continue;
            }
            if self.moderations.get(&(*l, *key)).is_some_and(|m| m.hidden) {
                tally.hidden += 1;
            } else {
                match record.status {
                    SignerStatus::Active => tally.shown += 1,
                    SignerStatus::Withdrawn => tally.withdrawn += 1,
                }
            }
        }
        tally
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
        let signer_keys: Vec<(LetterId, [u8; 32])> = signers.iter().map(|(k, _)| **k).collect();
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

        // Moderators, by public key.
        let mut moderators: Vec<_> = self.moderators.iter().collect();
        moderators.sort_by_key(|(key, _)| **key);
        out.extend_from_slice(&(moderators.len() as u64).to_be_bytes());
        for (_, m) in moderators {
            let text = m.key.to_string();
            // A moderator's key name is at most 64 bytes, so its verifier key is well
            // under 255 bytes.
            out.push(text.len() as u8);
            out.extend_from_slice(text.as_bytes());
            out.extend_from_slice(&m.index.to_be_bytes());
        }

        // Endorsements, by index, each naming its signer record by position in the
        // sorted list above: 12 bytes each rather than 72.
        let position: HashMap<(LetterId, [u8; 32]), u32> = signer_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i as u32))
            .collect();
        let mut endorsements: Vec<_> = self.endorsements.iter().collect();
        endorsements.sort_by_key(|(index, _)| **index);
        out.extend_from_slice(&(endorsements.len() as u64).to_be_bytes());
        for (index, signer) in endorsements {
            out.extend_from_slice(&index.to_be_bytes());
            // Every endorsement has a signer record (decide creates it).
            let at = position.get(signer).copied().unwrap_or(u32::MAX);
            out.extend_from_slice(&at.to_be_bytes());
        }

        // Moderation records, by (letter, public key).
        let mut moderations: Vec<_> = self.moderations.iter().collect();
        moderations.sort_by_key(|(key, _)| **key);
        out.extend_from_slice(&(moderations.len() as u64).to_be_bytes());
        for ((letter, public_key), r) in moderations {
            out.extend_from_slice(&letter.0.0);
            out.extend_from_slice(public_key);
            out.push(u8::from(r.hidden));
            for n in [r.last_time.unix(), r.latest_index, r.target] {
                out.extend_from_slice(&n.to_be_bytes());
            }
            out.push(reason_byte(r.reason));
            out.extend_from_slice(&r.moderator);
            let note = r.note.as_deref().unwrap_or_default();
            // A note is at most 256 characters, at most 1,024 bytes.
            out.extend_from_slice(&(note.len() as u16).to_be_bytes());
            out.extend_from_slice(note.as_bytes());
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
                "it has format version {version}; this program reads version {VERSION}: audit \
                 once from the start (`signet audit --full`) to write it anew"
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

        let signer_keys: Vec<(LetterId, [u8; 32])> = {
            let mut keys: Vec<_> = state.signers.keys().copied().collect();
            keys.sort_unstable();
            keys
        };

        let moderators = r.count(1 + 8)?;
        let mut previous = None;
        for _ in 0..moderators {
            let len = usize::from(r.take(1)?[0]);
            let key = std::str::from_utf8(r.take(len)?)
                .ok()
                .and_then(|s| VerifierKey::parse(s).ok())
                .ok_or_else(|| corrupt("a moderator's verifier key is not valid"))?;
            let index = r.index(size)?;
            let public_key = *key.public_key();
            if previous.is_some_and(|p| p >= public_key) {
                return Err(corrupt("the moderators are not in ascending order of key"));
            }
            previous = Some(public_key);
            state
                .moderators
                .insert(public_key, AppointedModerator { key, index });
        }

        let endorsements = r.count(8 + 4)?;
        let mut previous = None;
        for _ in 0..endorsements {
            let index = r.index(size)?;
            if previous.is_some_and(|p| p >= index) {
                return Err(corrupt(
                    "the endorsements are not in ascending order of index",
                ));
            }
            previous = Some(index);
            let at = u32::from_be_bytes(r.array()?) as usize;
            let Some(signer) = signer_keys.get(at) else {
                return Err(corrupt(format_args!(
                    "endorsement {index} names signer record {at}, which does not exist"
                )));
            };
            state.endorsements.insert(index, *signer);
        }

        let moderations = r.count(32 + 32 + 1 + 3 * 8 + 1 + 32 + 2)?;
        let mut previous = None;
        for _ in 0..moderations {
            let letter = LetterId(Hash(r.array()?));
            let public_key = r.array::<32>()?;
            if previous.is_some_and(|p| p >= (letter, public_key)) {
                return Err(corrupt("the moderation records are not in ascending order"));
            }
            previous = Some((letter, public_key));
            let hidden = match r.take(1)?[0] {
                0 => false,
                1 => true,
                other => return Err(corrupt(format_args!("unknown hidden flag {other}"))),
            };
            let last_time = Timestamp::from_unix(r.u64()?).map_err(corrupt)?;
            let latest_index = r.index(size)?;
            let target = r.index(size)?;
            let reason = reason_from_byte(r.take(1)?[0])?;
            let moderator = r.array::<32>()?;
            let len = usize::from(u16::from_be_bytes(r.array()?));
            let note = std::str::from_utf8(r.take(len)?)
                .map_err(|_| corrupt("a moderation note is not UTF-8"))?;
            let note = (!note.is_empty()).then(|| note.to_owned());
            let consistent = state.signers.contains_key(&(letter, public_key))
                && state.moderators.contains_key(&moderator)
                && state.endorsements.get(&target) == Some(&(letter, public_key))
                && target < latest_index;
            if !consistent {
                return Err(corrupt(format_args!(
                    "a moderation record of letter {letter} does not match the signers, \
                     endorsements and moderators"
                )));
            }
            state.moderations.insert(
                (letter, public_key),
                ModerationRecord {
                    hidden,
                    last_time,
                    latest_index,
                    target,
                    reason,
                    note,
                    moderator,
                },
            );
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

    /// Counts of (shown, withdrawn) signers of a letter; hidden signers are in neither
    /// (see [`LogState::tally`]).
    pub fn counts(&self, letter: &LetterId) -> (u64, u64) {
        let tally = self.tally(letter);
        (tally.shown, tally.withdrawn)
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
///
/// Version 2 adds, between the signer records and the leaf hashes: the moderators (u64
/// count, then each: verifier key length (u8) and text, appointment index (u64), in
/// ascending order of public key); the endorsements (u64 count, then each: index (u64)
/// and the position of its signer record in the list above (u32), in ascending order of
/// index); and the moderation records (u64 count, then each: letter ID (32), public key
/// (32), hidden (0 or 1), last time, latest index and target index (u64 each), reason
/// (u8, in the grammar's order from 0), moderator public key (32), note length (u16) and
/// note, in ascending order of (letter, key)).
const VERSION: u8 = 2;

fn reason_byte(reason: ModerationReason) -> u8 {
    ModerationReason::ALL
        .iter()
        .position(|r| *r == reason)
        .map_or(u8::MAX, |p| p as u8)
}

fn reason_from_byte(byte: u8) -> Result<ModerationReason, Error> {
    ModerationReason::ALL
        .get(usize::from(byte))
        .copied()
        .ok_or_else(|| corrupt(format_args!("unknown moderation reason {byte}")))
}

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
