//! What the sequencer decides with: the catalog, seen through the entries of the batch
//! being decided.
//!
//! [`BatchView`] implements [`signet_core::state::Known`], so every entry, of every
//! kind, is decided by the one function the auditor uses too, [`state::decide`]. An
//! entry decided to be appended is recorded here at once by [`BatchView::decide`], so the next entry
//! of the same batch sees it; the catalog itself learns of the batch only once it is
//! durable.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use signet_core::entry::Slug;
use signet_core::state::{self, Change, Decision, Known, ModerationRecord, SignerRecord};
use signet_core::{Hash, LetterId, Statement, VerifierKey};

use crate::Error;
use crate::catalog::{Appended, Catalog};

/// The registered letters and their slugs, kept in memory by the writer (there are few).
#[derive(Debug, Default)]
pub(crate) struct Letters {
    ids: HashMap<LetterId, u64>,
    slugs: HashSet<Slug>,
}

impl Letters {
    /// The letters the catalog records.
    pub(crate) fn load(catalog: &Catalog) -> Result<Letters, Error> {
        let mut letters = Letters::default();
        for l in catalog.letters()? {
            let slug = Slug::parse(&l.slug).map_err(|e| Error::CatalogDamaged {
                reason: format!("letter {} has slug {:?}: {e}", l.id, l.slug),
            })?;
            letters.ids.insert(l.id, l.index);
            letters.slugs.insert(slug);
        }
        Ok(letters)
    }

    fn insert(&mut self, letter: LetterId, slug: Slug, index: u64) {
        self.ids.insert(letter, index);
        self.slugs.insert(slug);
    }
}

/// What one batch decided to append, as the rules of state look it up: kept by the
/// sequencer from the moment the batch is decided until the catalog has recorded it.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    leaves: HashMap<Hash, u64>,
    signers: HashMap<(LetterId, [u8; 32]), SignerRecord>,
    moderators: HashMap<[u8; 32], u64>,
    endorsements: HashMap<u64, (LetterId, [u8; 32])>,
    moderations: HashMap<(LetterId, [u8; 32]), ModerationRecord>,
}

impl Overlay {
    fn record(&mut self, statement: &Statement, leaf: Hash, index: u64, change: &Change) {
        match change {
            Change::Signer {
                letter,
                public_key,
                record,
                ..
            } => {
                self.signers.insert((*letter, *public_key), *record);
                if let Statement::Endorsement(_) = statement {
                    self.endorsements.insert(index, (*letter, *public_key));
                }
            }
            Change::Moderator { moderator } => {
                self.moderators.insert(*moderator.public_key(), index);
            }
            Change::Moderation {
                letter,
                public_key,
                record,
                ..
            } => {
                self.moderations
                    .insert((*letter, *public_key), record.clone());
            }
            // Letters live in [`Letters`]; kinds the catalog does not hold yet change
            // nothing it answers from.
            _ => {}
        }
        self.leaves.insert(leaf, index);
    }
}

/// The catalog, seen through the batches decided before this one that it has not
/// recorded yet (`earlier`, oldest first) and through the entries of this batch decided
/// so far.
///
/// The writer reads the catalog through one snapshot per batch ([`Catalog::snapshot`]),
/// taken at its first lookup, after `earlier` was copied. A batch the catalog records
/// after that is still in `earlier`, since a batch leaves `earlier` only after the
/// catalog has committed it; one recorded before is in the snapshot. Either way each
/// earlier batch is seen, and one seen in both answers alike.
pub(crate) struct BatchView<'a> {
    catalog: &'a Catalog,
    letters: &'a mut Letters,
    log_key: &'a VerifierKey,
    earlier: &'a [Arc<Overlay>],
    this: Overlay,
    appended: Vec<Appended>,
}

impl<'a> BatchView<'a> {
    pub(crate) fn new(
        catalog: &'a Catalog,
        letters: &'a mut Letters,
        log_key: &'a VerifierKey,
        earlier: &'a [Arc<Overlay>],
    ) -> BatchView<'a> {
        BatchView {
            catalog,
            letters,
            log_key,
            earlier,
            this: Overlay::default(),
            appended: Vec::new(),
        }
    }

    /// Decides `statement` at `index` and, when it is to be appended, records it.
    pub(crate) fn decide(
        &mut self,
        statement: &Statement,
        leaf: Hash,
        index: u64,
    ) -> Result<Decision, Error> {
        let decision = state::decide(&*self, statement, &leaf, index)?;
        if let Decision::Append { index, change } = &decision {
            if let Change::Letter { letter, slug } = change {
                self.letters.insert(*letter, slug.clone(), *index);
            }
            self.this.record(statement, leaf, *index, change);
            self.appended.push(Appended {
                index: *index,
                leaf,
                statement: statement.clone(),
                change: change.clone(),
            });
        }
        Ok(decision)
    }

    /// What the batch appends: its overlay, for the batches decided after it, and its
    /// rows, for the catalog once it is durable.
    pub(crate) fn finish(self) -> (Overlay, Vec<Appended>) {
        (self.this, self.appended)
    }

    /// The newest answer to `get` among this batch and the earlier ones, if any has one.
    fn find<T>(&self, get: impl Fn(&Overlay) -> Option<T>) -> Option<T> {
        get(&self.this).or_else(|| self.earlier.iter().rev().find_map(|o| get(o)))
    }
}

impl Known for BatchView<'_> {
    type Error = Error;

    fn log_key(&self) -> &VerifierKey {
        self.log_key
    }

    fn logged(&self, leaf: &Hash) -> Result<Option<u64>, Error> {
        match self.find(|o| o.leaves.get(leaf).copied()) {
            Some(i) => Ok(Some(i)),
            None => self.catalog.leaf(leaf),
        }
    }

    fn letter(&self, letter: &LetterId) -> Result<Option<u64>, Error> {
        Ok(self.letters.ids.get(letter).copied())
    }

    fn slug_taken(&self, slug: &Slug) -> Result<bool, Error> {
        Ok(self.letters.slugs.contains(slug))
    }

    fn signer(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Error> {
        match self.find(|o| o.signers.get(&(*letter, *public_key)).copied()) {
            Some(r) => Ok(Some(r)),
            None => self.catalog.signer(letter, public_key),
        }
    }

    fn moderator(&self, public_key: &[u8; 32]) -> Result<Option<u64>, Error> {
        match self.find(|o| o.moderators.get(public_key).copied()) {
            Some(i) => Ok(Some(i)),
            None => self.catalog.moderator(public_key),
        }
    }

    fn endorsement(&self, index: u64) -> Result<Option<(LetterId, [u8; 32])>, Error> {
        match self.find(|o| o.endorsements.get(&index).copied()) {
            Some(e) => Ok(Some(e)),
            None => self.catalog.endorsement(index),
        }
    }

    fn moderation(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<ModerationRecord>, Error> {
        match self.find(|o| o.moderations.get(&(*letter, *public_key)).cloned()) {
            Some(r) => Ok(Some(r)),
            None => self.catalog.moderation(letter, public_key),
        }
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use signet_core::entry::{Endorsement, Language, LetterRegistration};
    use signet_core::keys::SignatureType;
    use signet_core::{Entry, KeyName, SigningKey, Timestamp};

    use super::*;

    fn key(name: &str) -> SigningKey {
        SigningKey::from_seed(
            KeyName::parse(name).unwrap(),
            SignatureType::Ed25519,
            &Hash::sha256(name.as_bytes()).0,
        )
    }

    fn letter() -> LetterId {
        LetterId(Hash::sha256(b"a letter"))
    }

    fn register(log: &SigningKey, slug: &str) -> Entry {
        Statement::Letter(LetterRegistration {
            letter: letter(),
            slug: Slug::parse(slug).unwrap(),
            title: "A letter".into(),
            language: Language::parse("en").unwrap(),
            time: Timestamp::from_unix(1_700_000_000).unwrap(),
            key: log.verifier(),
        })
        .sign(log)
        .unwrap()
    }

    fn endorse(signer: &SigningKey, name: &str) -> Entry {
        Statement::Endorsement(Endorsement {
            letter: letter(),
            name: name.into(),
            affiliation: None,
            role: None,
            identity: vec![],
            time: Timestamp::from_unix(1_700_000_000).unwrap(),
            key: signer.verifier(),
        })
        .sign(signer)
        .unwrap()
    }

    /// Decides `batch` in order on an empty catalog, as one batch starting at index 0,
    /// and checks each decision's shape: `A` append, `L<i>` logged at i, `C<i>` conflict
    /// with i, `R` refused.
    fn check(batch: &[Entry], want: &[&str]) {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("index.sqlite")).unwrap();
        let mut letters = Letters::default();
        let log_key = key("example.org/log").verifier();
        let mut view = BatchView::new(&catalog, &mut letters, &log_key, &[]);
        let mut next = 0;
        let mut got = Vec::new();
        for entry in batch {
            let decision = view
                .decide(entry.statement(), entry.leaf_hash(), next)
                .unwrap();
            got.push(match decision {
                Decision::Append { index, .. } => {
                    assert_eq!(index, next);
                    next += 1;
                    "A".to_owned()
                }
                Decision::Logged { index } => format!("L{index}"),
                Decision::Conflict { active_index } => format!("C{active_index}"),
                Decision::Refused(_) => "R".to_owned(),
            });
        }
        assert_eq!(got, want);
        assert_eq!(view.finish().1.len() as u64, next);
    }

    #[test]
    fn a_batch_sees_its_own_earlier_entries() {
        let log = key("example.org/log");
        let (alice, bob) = (key("alice"), key("bob"));
        // Nothing is registered yet: an endorsement is refused.
        check(&[endorse(&alice, "Alice")], &["R"]);
        // Registered earlier in the batch: endorsable later in it; the same bytes again
        // are the logged entry; another endorsement by the same key conflicts.
        check(
            &[
                register(&log, "one"),
                endorse(&alice, "Alice"),
                endorse(&alice, "Alice"),
                endorse(&alice, "Alice B."),
                endorse(&bob, "Bob"),
            ],
            &["A", "A", "L1", "C1", "A"],
        );
        // A letter is registered once, and only by the log's key.
        check(
            &[
                register(&alice, "one"),
                register(&log, "one"),
                register(&log, "two"),
            ],
            &["R", "A", "R"],
        );
    }
}
