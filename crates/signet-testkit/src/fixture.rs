//! The fixture log: a Signet log built in memory and written to a directory exactly as
//! tlog-tiles lays it out, with its tiles built by [`signet_core::edge::Edge`], the one
//! tile builder the sequencer uses too.
//!
//! Nothing here checks the rules of state: tests use it to build bad logs on purpose.

use std::fs;
use std::path::Path;

use signet_core::edge::Edge;
use signet_core::merkle;
use signet_core::{
    Checkpoint, Hash, Letter, LetterId, SignedCheckpoint, SigningKey, TileId, TlogProof,
};

use crate::entries::{self, key, letter};

/// A log under construction: its key and its entries, in order.
#[derive(Debug, Clone)]
pub struct TestLog {
    key: SigningKey,
    entries: Vec<Vec<u8>>,
}

impl TestLog {
    /// An empty log whose key name (origin) is `origin`, with a key derived from it.
    pub fn new(origin: &str) -> TestLog {
        TestLog::with_key(key(origin, origin))
    }

    /// An empty log with the given key.
    pub fn with_key(key: SigningKey) -> TestLog {
        TestLog {
            key,
            entries: Vec::new(),
        }
    }

    /// The log's signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The log's verifier key as text.
    pub fn vkey(&self) -> String {
        self.key.verifier().to_string()
    }

    /// The entries so far.
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends raw bytes as the next entry (valid or not).
    pub fn push(&mut self, bytes: Vec<u8>) -> u64 {
        self.entries.push(bytes);
        self.len() - 1
    }

    /// Drops every entry from `size` on (to build a fork).
    pub fn truncate(&mut self, size: u64) {
        self.entries
            .truncate(usize::try_from(size).unwrap_or(usize::MAX));
    }

    /// Registers `letter` under `slug`, signed by `signer` (the log key, unless a test
    /// wants a bad registration).
    pub fn register_signed_by(
        &mut self,
        letter: &Letter,
        slug: &str,
        t: u64,
        signer: &SigningKey,
    ) -> u64 {
        self.push(entries::registration(signer, letter.id(), slug, t))
    }

    /// Registers `letter` under `slug`, signed by the log key.
    pub fn register(&mut self, letter: &Letter, slug: &str, t: u64) -> u64 {
        let key = self.key.clone();
        self.register_signed_by(letter, slug, t, &key)
    }

    /// An endorsement of `letter` by `signer` named `name` at time `t`.
    pub fn endorse(&mut self, signer: &SigningKey, letter: LetterId, name: &str, t: u64) -> u64 {
        self.push(entries::endorsement(signer, letter, name, t))
    }

    /// A withdrawal of `letter` by `signer` at time `t`.
    pub fn withdraw(&mut self, signer: &SigningKey, letter: LetterId, t: u64) -> u64 {
        self.push(entries::withdrawal(signer, letter, t))
    }

    /// A valid log of `count` entries: one letter, then `signers` signers cycling through
    /// endorse, withdraw, endorse... with increasing times.
    pub fn valid(origin: &str, count: u64, signers: u32) -> (TestLog, LetterId) {
        let mut log = TestLog::new(origin);
        let letter = letter(1);
        log.register(&letter, "test-letter", 0);
        let keys: Vec<SigningKey> = (0..signers)
            .map(|i| key(&format!("signer{i}"), &format!("signer {i}")))
            .collect();
        let mut round = 0u64;
        while log.len() < count && !keys.is_empty() {
            for (i, k) in keys.iter().enumerate() {
                if log.len() >= count {
                    break;
                }
                let t = 1 + round * u64::from(signers) + i as u64;
                if round.is_multiple_of(2) {
                    log.endorse(k, letter.id(), &format!("Signer {i}"), t);
                } else {
                    log.withdraw(k, letter.id(), t);
                }
            }
            round += 1;
        }
        (log, letter.id())
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> Vec<Hash> {
        self.entries.iter().map(|e| Hash::leaf(e)).collect()
    }

    /// The checkpoint of the whole log, its root computed from all leaves at once.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: self.key.name().to_string(),
            size: self.len(),
            root: merkle::root_of(&self.leaves()),
            extensions: Vec::new(),
        }
    }

    /// An inclusion proof file for entry `index` at the current size.
    ///
    /// Panics when `index` is not below the size.
    pub fn proof(&self, index: u64) -> TlogProof {
        let leaves = self.leaves();
        let plan = merkle::inclusion_plan(index, self.len())
            .unwrap_or_else(|e| panic!("inclusion proof of {index} in {}: {e}", self.len()));
        let hashes = plan
            .assemble(|s| {
                let from = usize::try_from(s.index << s.level).ok()?;
                let to = usize::try_from((s.index + 1) << s.level).ok()?;
                Some(merkle::root_of(leaves.get(from..to)?))
            })
            .unwrap_or_else(|e| panic!("assembling the proof of {index}: {e}"));
        TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: self.sign(self.checkpoint(), &self.key),
        }
    }

    /// Every tile of the log at its current size, as the sequencer builds them: every
    /// full tile, and the partial tile of each level this size leaves.
    ///
    /// Panics when an entry is too large for an entry bundle.
    pub fn tiles(&self) -> Vec<(TileId, Vec<u8>)> {
        let entries: Vec<&[u8]> = self.entries.iter().map(Vec::as_slice).collect();
        Edge::new()
            .append(&entries)
            .unwrap_or_else(|e| panic!("building the tiles of the test log: {e}"))
            .tiles
    }

    /// Writes the log into `dir` as tlog-tiles files (every full tile, the partial tiles
    /// of this size, and the checkpoint signed by the log key). Existing tiles are left in
    /// place, as a real log leaves them.
    pub fn publish(&self, dir: &Path) -> SignedCheckpoint {
        let key = self.key.clone();
        self.publish_signed_by(dir, &key)
    }

    /// Like [`TestLog::publish`], with the checkpoint signed by `key`.
    pub fn publish_signed_by(&self, dir: &Path, key: &SigningKey) -> SignedCheckpoint {
        for (tile, data) in self.tiles() {
            write(&dir.join(tile.path()), &data);
        }
        let mut checkpoint = self.checkpoint();
        checkpoint.origin = key.name().to_string();
        let signed = self.sign(checkpoint, key);
        write(&dir.join("checkpoint"), &signed.to_bytes());
        signed
    }

    fn sign(&self, checkpoint: Checkpoint, key: &SigningKey) -> SignedCheckpoint {
        checkpoint
            .sign(key)
            .unwrap_or_else(|e| panic!("signing the test log's checkpoint: {e}"))
    }
}

fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    fs::write(path, data).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use signet_core::tiles::{self, TILE_WIDTH, TileLevel};

    use super::*;
    use crate::entries::time;

    /// The published tiles reproduce the checkpoint's root: the level-0 tiles hold the
    /// leaf hashes of the bundles' entries, and the root recomputed from the tiles alone
    /// is the checkpoint's.
    fn check(count: u64) {
        let (log, _) = TestLog::valid("example.org/fixture", count, 7);
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = log.publish(dir.path());
        assert_eq!(checkpoint.checkpoint().size, log.len());
        let mut leaves = Vec::new();
        for k in 0..log.len().div_ceil(TILE_WIDTH) {
            let width = (log.len() - k * TILE_WIDTH).min(TILE_WIDTH) as u16;
            let read = |level| {
                let tile = TileId {
                    level,
                    index: k,
                    width,
                };
                fs::read(dir.path().join(tile.path())).unwrap()
            };
            let bundle = read(TileLevel::Entries);
            let bundle = tiles::parse_bundle(&bundle).unwrap();
            let hashes = read(TileLevel::Hashes(0));
            assert_eq!(hashes.len(), bundle.len() * 32, "tile {k} of size {count}");
            for (entry, hash) in bundle.iter().zip(hashes.chunks(32)) {
                assert_eq!(Hash::leaf(entry).0, hash, "tile {k} of size {count}");
                leaves.push(Hash::leaf(entry));
            }
        }
        assert_eq!(leaves.len() as u64, log.len());
        assert_eq!(
            merkle::root_of(&leaves),
            checkpoint.checkpoint().root,
            "size {count}"
        );
        checkpoint.verify(&log.key().verifier()).unwrap();
    }

    #[test]
    fn published_tiles_reproduce_the_checkpoint() {
        for count in [1, 2, 255, 256, 257, 600] {
            check(count);
        }
    }

    #[test]
    fn proofs_verify_against_the_checkpoint() {
        let (log, _) = TestLog::valid("example.org/fixture", 40, 3);
        let root = log.checkpoint().root;
        for index in [0, 1, 20, 39] {
            let proof = log.proof(index);
            let leaf = Hash::leaf(&log.entries()[index as usize]);
            merkle::verify_inclusion(&leaf, index, log.len(), &proof.hashes, &root).unwrap();
        }
    }

    #[test]
    fn valid_logs_alternate_endorsements_and_withdrawals() {
        let (log, letter) = TestLog::valid("example.org/fixture", 7, 3);
        let kinds: Vec<&str> = log
            .entries()
            .iter()
            .map(|e| {
                let entry = signet_core::Entry::parse(e).unwrap();
                assert_eq!(entry.statement().letter(), Some(letter));
                entry.statement().kind()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "letter",
                "endorsement",
                "endorsement",
                "endorsement",
                "withdrawal",
                "withdrawal",
                "withdrawal"
            ]
        );
        assert_eq!(
            signet_core::Entry::parse(&log.entries()[4])
                .unwrap()
                .statement()
                .time(),
            time(4)
        );
    }
}
