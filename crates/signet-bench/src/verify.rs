//! Checking acknowledgements: the `.tlog-proof` of every accepted entry, with each
//! distinct checkpoint's signature verified only once.
//!
//! `TlogProof::verify` checks the checkpoint signature and the inclusion proof together.
//! A batching log answers hundreds of submissions with the same checkpoint, so verifying
//! its signature for each would make the load generator's own Ed25519 work grow with
//! the load it measures. Here the two halves are split: the checkpoint (origin and
//! signature) is verified once and cached by its exact bytes, and each proof only costs
//! the inclusion check, `merkle::verify_inclusion`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use signet_core::{Checkpoint, Hash, TlogProof, VerifierKey, merkle};

/// How many verified checkpoints to remember. A run sees one checkpoint per batch and
/// answers arrive roughly in order, so a small cache hits almost always; when it is full
/// it is simply emptied, which costs one extra signature check per checkpoint.
const CACHE_CAPACITY: usize = 4096;

/// The body of a `201` or `200` answer to `POST /v1/endorsements` (docs/http-api.md).
#[derive(Debug, Deserialize)]
pub struct Ack {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash, base64.
    pub leaf_hash: String,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
    /// The `.tlog-proof` text.
    pub proof: String,
}

/// Verifies acknowledgements against the log's key; shared by all workers.
#[derive(Debug)]
pub struct ProofChecker {
    log_key: VerifierKey,
    checkpoints: Mutex<HashMap<Vec<u8>, Checkpoint>>,
    signatures_verified: AtomicU64,
}

impl ProofChecker {
    /// A checker that trusts `log_key`.
    pub fn new(log_key: VerifierKey) -> ProofChecker {
        ProofChecker {
            log_key,
            checkpoints: Mutex::new(HashMap::new()),
            signatures_verified: AtomicU64::new(0),
        }
    }

    /// How many checkpoint signatures were verified (each distinct checkpoint once,
    /// unless the cache was emptied in between).
    pub fn checkpoint_signatures_verified(&self) -> u64 {
        self.signatures_verified.load(Ordering::Relaxed)
    }

    /// Checks an acknowledgement for `entry` (its exact bytes): the proof parses, names
    /// the acknowledged index, its checkpoint is the acknowledged one and is signed by the
    /// log key for the log key's origin, and the entry's leaf is included in it.
    pub fn check(&self, entry: &[u8], ack: &Ack) -> Result<()> {
        let proof = TlogProof::parse(ack.proof.as_bytes()).context("the proof does not parse")?;
        if proof.index != ack.index {
            bail!(
                "the proof is for index {}, the answer says {}",
                proof.index,
                ack.index
            );
        }
        let leaf = Hash::leaf(entry);
        if Hash::from_base64(&ack.leaf_hash).ok() != Some(leaf) {
            bail!("the answer's leaf_hash is not the entry's leaf hash");
        }
        let checkpoint_bytes = proof.checkpoint.to_bytes();
        if checkpoint_bytes != ack.checkpoint.as_bytes() {
            bail!("the answer's checkpoint is not the proof's checkpoint");
        }
        let checkpoint = self.verified_checkpoint(&proof, checkpoint_bytes)?;
        if proof.index >= checkpoint.size {
            bail!(
                "index {} is not below the checkpoint's size {}",
                proof.index,
                checkpoint.size
            );
        }
        merkle::verify_inclusion(
            &leaf,
            proof.index,
            checkpoint.size,
            &proof.hashes,
            &checkpoint.root,
        )
        .context("the inclusion proof does not verify")?;
        Ok(())
    }

    /// The proof's checkpoint (whose encoding is `bytes`), verified now or taken from
    /// the cache of verified ones.
    pub fn verified_checkpoint(&self, proof: &TlogProof, bytes: Vec<u8>) -> Result<Checkpoint> {
        if let Some(c) = self.lock().get(&bytes) {
            return Ok(c.clone());
        }
        // Verify outside the lock: other workers keep going meanwhile, and two workers
        // that race on a new checkpoint both verify it, which is harmless.
        let checkpoint = proof
            .checkpoint
            .verify(&self.log_key)
            .context("the checkpoint is not signed by the log key")?
            .clone();
        self.signatures_verified.fetch_add(1, Ordering::Relaxed);
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(bytes, checkpoint.clone());
        Ok(checkpoint)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Checkpoint>> {
        // A worker that panicked while holding the lock left the map in a valid state
        // (inserts and clears are single calls), so a poisoned lock is still usable.
        self.checkpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Parses `--log-key`: a verifier key, or else the path of a file holding one (as the
/// `signet` command line does).
pub fn parse_log_key(value: &str) -> Result<VerifierKey> {
    if let Ok(key) = VerifierKey::parse(value.trim()) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(value).with_context(|| {
        format!("--log-key {value:?} is neither a verifier key nor a readable file")
    })?;
    VerifierKey::parse(text.trim()).with_context(|| format!("{value} does not hold a verifier key"))
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use signet_core::keys::SignatureType;
    use signet_core::merkle::CompactRange;
    use signet_core::{KeyName, SigningKey};

    use super::*;

    const ORIGIN: &str = "bench.example/log";

    fn log_key(seed: u8) -> SigningKey {
        SigningKey::from_seed(
            KeyName::parse(ORIGIN).unwrap(),
            SignatureType::Ed25519,
            &[seed; 32],
        )
    }

    /// A log of `n` leaves `entry-<i>` and the acknowledgement of entry `index`, with
    /// the proof built by the core's own plan and assembly.
    fn ack(n: u64, index: u64, key: &SigningKey) -> (Vec<u8>, Ack) {
        let leaves: Vec<Hash> = (0..n)
            .map(|i| Hash::leaf(format!("entry-{i}").as_bytes()))
            .collect();
        let mut range = CompactRange::new();
        for leaf in &leaves {
            range.append(*leaf, |_, _| {});
        }
        let checkpoint = Checkpoint {
            origin: ORIGIN.to_owned(),
            size: n,
            root: range.root(),
            extensions: Vec::new(),
        }
        .sign(key)
        .unwrap();
        let hashes = merkle::inclusion_plan(index, n)
            .unwrap()
            .assemble(|s| {
                let lo = (s.index << s.level) as usize;
                let hi = ((s.index + 1) << s.level) as usize;
                Some(merkle::root_of(&leaves[lo..hi]))
            })
            .unwrap();
        let proof = TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: checkpoint.clone(),
        };
        let entry = format!("entry-{index}").into_bytes();
        let ack = Ack {
            index,
            leaf_hash: Hash::leaf(&entry).to_base64(),
            checkpoint: checkpoint.to_string(),
            proof: proof.to_string(),
        };
        (entry, ack)
    }

    #[test]
    fn good_acks_verify_and_each_checkpoint_is_checked_once() {
        let key = log_key(1);
        let checker = ProofChecker::new(key.verifier());
        for index in 0..7 {
            let (entry, ack) = ack(7, index, &key);
            checker.check(&entry, &ack).unwrap();
        }
        assert_eq!(checker.checkpoint_signatures_verified(), 1);
        let (entry, ack) = ack(8, 7, &key);
        checker.check(&entry, &ack).unwrap();
        assert_eq!(checker.checkpoint_signatures_verified(), 2);
    }

    #[test]
    fn bad_acks_are_refused() {
        let key = log_key(1);
        let checker = ProofChecker::new(key.verifier());
        let (entry, good) = ack(5, 2, &key);

        // Another entry's bytes.
        assert!(checker.check(b"entry-3", &good).is_err());
        // A wrong index in the answer.
        let wrong_index = Ack {
            index: 3,
            ..ack(5, 2, &key).1
        };
        assert!(checker.check(&entry, &wrong_index).is_err());
        // A leaf hash that is not the entry's.
        let wrong_leaf = Ack {
            leaf_hash: Hash::leaf(b"other").to_base64(),
            ..ack(5, 2, &key).1
        };
        assert!(checker.check(&entry, &wrong_leaf).is_err());
        // A checkpoint field that differs from the proof's.
        let wrong_checkpoint = Ack {
            checkpoint: ack(6, 2, &key).1.checkpoint,
            ..ack(5, 2, &key).1
        };
        assert!(checker.check(&entry, &wrong_checkpoint).is_err());
        // Signed by another key, even after the good checkpoint was cached.
        checker.check(&entry, &good).unwrap();
        let (entry9, forged) = ack(9, 4, &log_key(2));
        assert!(checker.check(&entry9, &forged).is_err());
        // A flipped proof hash.
        let (entry6, mut flipped) = ack(6, 1, &key);
        let mut proof = TlogProof::parse(flipped.proof.as_bytes()).unwrap();
        proof.hashes[0].0[0] ^= 1;
        flipped.proof = proof.to_string();
        assert!(checker.check(&entry6, &flipped).is_err());
    }

    #[test]
    fn log_key_from_value_or_file() {
        let vkey = log_key(1).verifier();
        assert_eq!(parse_log_key(&vkey.to_string()).unwrap(), vkey);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.vkey");
        std::fs::write(&path, format!("{vkey}\n")).unwrap();
        assert_eq!(parse_log_key(path.to_str().unwrap()).unwrap(), vkey);
        assert!(parse_log_key("no-such-file-or-key").is_err());
    }
}
