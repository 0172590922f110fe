//! The decoded keys of the signers an audit met lately, shared by its verifier threads.
//!
//! Decoding a signer's public key into a curve point costs a field square root, about a
//! sixth of what verifying one entry costs; a signer usually has several entries, so the
//! audit decodes each key once and keeps it. A hostile log can make every entry's signer
//! different, so the cache holds at most `bound` keys and forgets the oldest first: past
//! the bound, a new signer costs one decoding, as it would without a cache, and memory
//! stays where it was.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use signet_core::{DecodedKey, VerifierKey};

/// How many decoded keys an audit keeps by default: about 5 MiB.
pub(crate) const DEFAULT_BOUND: usize = 16_384;

/// A bounded cache of decoded keys, by 32-byte public key (the signer), oldest out first.
#[derive(Debug)]
pub(crate) struct KeyCache {
    bound: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    keys: HashMap<[u8; 32], DecodedKey>,
    /// The keys in `keys`, oldest first.
    order: VecDeque<[u8; 32]>,
    /// Keys decoded (the misses).
    decoded: u64,
    /// The most keys held at once.
    peak: usize,
}

impl KeyCache {
    /// A cache of at most `bound` keys (at least one).
    pub(crate) fn new(bound: usize) -> KeyCache {
        KeyCache {
            bound: bound.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The decoded key of `key`, from the cache or decoded now. A key that does not
    /// decode is not kept: its error names the key name of the entry at hand.
    pub(crate) fn decode(&self, key: &VerifierKey) -> Result<DecodedKey, signet_core::Error> {
        if let Ok(inner) = self.inner.lock()
            && let Some(d) = inner.keys.get(key.public_key())
        {
            return Ok(d.clone());
        }
        // Decoded outside the lock, so that verifiers never wait for each other's work.
        let decoded = key.decode()?;
        if let Ok(mut inner) = self.inner.lock() {
            inner.decoded += 1;
            if !inner.keys.contains_key(key.public_key()) {
                while inner.keys.len() >= self.bound {
                    let Some(oldest) = inner.order.pop_front() else {
                        break;
                    };
                    inner.keys.remove(&oldest);
                }
                inner.keys.insert(*key.public_key(), decoded.clone());
                inner.order.push_back(*key.public_key());
                inner.peak = inner.peak.max(inner.keys.len());
            }
        }
        Ok(decoded)
    }

    /// (keys decoded, the most keys held at once).
    pub(crate) fn counts(&self) -> (u64, u64) {
        self.inner
            .lock()
            .map_or((0, 0), |i| (i.decoded, i.peak as u64))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use signet_testkit::key;

    /// Decodes the keys of `signers` in turn through a cache of `bound`, and checks the
    /// keys decoded and the most held.
    fn check(bound: usize, signers: &[usize], decoded: u64, peak: u64) {
        let keys: Vec<VerifierKey> = (0..=signers.iter().copied().max().unwrap_or(0))
            .map(|i| key(&format!("s{i}"), &format!("signer {i}")).verifier())
            .collect();
        let cache = KeyCache::new(bound);
        for &s in signers {
            let d = cache.decode(&keys[s]).unwrap();
            assert_eq!(d.public_key(), keys[s].public_key());
        }
        assert_eq!(
            cache.counts(),
            (decoded, peak),
            "bound {bound}, {signers:?}"
        );
    }

    #[test]
    fn keeps_each_signer_once_and_never_more_than_its_bound() {
        // A signer seen again is not decoded again.
        check(8, &[0, 1, 0, 1, 2, 0], 3, 3);
        // All different: each decoded once, never more than the bound held.
        check(4, &(0..40).collect::<Vec<_>>(), 40, 4);
        // The oldest goes first: 0 was forgotten when 4 came, so it is decoded again.
        check(4, &[0, 1, 2, 3, 4, 0], 6, 4);
        // A bound of 0 still works, as 1.
        check(0, &[0, 0, 1, 1], 2, 1);
    }

    #[test]
    fn a_bad_key_is_refused_and_not_kept() {
        let name = signet_core::KeyName::parse("weak").unwrap();
        // The identity point: on the curve, but of small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifierKey::new(name, signet_core::keys::SignatureType::Ed25519, identity);
        let cache = KeyCache::new(4);
        for _ in 0..2 {
            let err = cache.decode(&weak).unwrap_err();
            assert!(
                matches!(err, signet_core::Error::BadPublicKey { .. }),
                "{err}"
            );
        }
        assert_eq!(cache.counts(), (0, 0));
    }
}
