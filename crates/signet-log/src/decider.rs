//! What the sequencer decides with: the catalog, seen through the entries of the batch
//! being decided.
//!
//! [`BatchView`] implements [`signet_core::state::Known`], so every entry, of every
//! kind, is decided by the one function the auditor uses too, [`state::decide`]. An
//! entry decided to be appended is recorded here at once by [`BatchView::decide`], so the next entry
//! of the same batch sees it; the catalog itself learns of the batch only once it is
//! durable.

use std::collections::{HashMap, HashSet};

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

/// The catalog plus the entries of the batch decided so far.
pub(crate) struct BatchView<'a> {
    catalog: &'a Catalog,
    letters: &'a mut Letters,
    log_key: &'a VerifierKey,
    leaves: HashMap<Hash, u64>,
    signers: HashMap<(LetterId, [u8; 32]), SignerRecord>,
    moderators: HashMap<[u8; 32], u64>,
    endorsements: HashMap<u64, (LetterId, [u8; 32])>,
    moderations: HashMap<(LetterId, [u8; 32]), ModerationRecord>,
    appended: Vec<Appended>,
}

impl<'a> BatchView<'a> {
    pub(crate) fn new(
        catalog: &'a Catalog,
        letters: &'a mut Letters,
        log_key: &'a VerifierKey,
    ) -> BatchView<'a> {
        BatchView {
            catalog,
            letters,
            log_key,
            leaves: HashMap::new(),
            signers: HashMap::new(),
            moderators: HashMap::new(),
            endorsements: HashMap::new(),
            moderations: HashMap::new(),
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
            self.record(statement, leaf, *index, change.clone());
        }
        Ok(decision)
    }

    fn record(&mut self, statement: &Statement, leaf: Hash, index: u64, change: Change) {
        match &change {
            Change::Letter { letter, slug } => self.letters.insert(*letter, slug.clone(), index),
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
            // Kinds the catalog does not hold yet change nothing it answers from.
            _ => {}
        }
        self.leaves.insert(leaf, index);
        self.appended.push(Appended {
            index,
            leaf,
            statement: statement.clone(),
            change,
        });
    }

    /// What the batch appends, for the catalog once it is durable.
    pub(crate) fn into_appended(self) -> Vec<Appended> {
        self.appended
    }
}

impl Known for BatchView<'_> {
    type Error = Error;

    fn log_key(&self) -> &VerifierKey {
        self.log_key
    }

    fn logged(&self, leaf: &Hash) -> Result<Option<u64>, Error> {
        match self.leaves.get(leaf) {
            Some(i) => Ok(Some(*i)),
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
        match self.signers.get(&(*letter, *public_key)) {
            Some(r) => Ok(Some(*r)),
            None => self.catalog.signer(letter, public_key),
        }
    }

    fn moderator(&self, public_key: &[u8; 32]) -> Result<Option<u64>, Error> {
        match self.moderators.get(public_key) {
            Some(i) => Ok(Some(*i)),
            None => self.catalog.moderator(public_key),
        }
    }

    fn endorsement(&self, index: u64) -> Result<Option<(LetterId, [u8; 32])>, Error> {
        match self.endorsements.get(&index) {
            Some(e) => Ok(Some(*e)),
            None => self.catalog.endorsement(index),
        }
    }

    fn moderation(
        &self,
        letter: &LetterId,
        public_key: &[u8; 32],
    ) -> Result<Option<ModerationRecord>, Error> {
        match self.moderations.get(&(*letter, *public_key)) {
            Some(r) => Ok(Some(r.clone())),
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
        let mut view = BatchView::new(&catalog, &mut letters, &log_key);
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
        assert_eq!(view.into_appended().len() as u64, next);
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
