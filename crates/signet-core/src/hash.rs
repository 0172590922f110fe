//! SHA-256 hashes and the RFC 9162 §2.1 leaf and node hashes.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Error, b64};

/// A SHA-256 hash: a leaf, a node, a root, or a letter's digest.
///
/// Equality is constant time, so comparing a computed root with a claimed one leaks
/// nothing about where they differ.
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct Hash(pub [u8; 32]);

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

// Equal hashes have equal bytes, so hashing the bytes agrees with the constant-time `eq`.
impl std::hash::Hash for Hash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl Hash {
    /// The root of the empty tree: SHA-256 of no bytes (RFC 9162 §2.1.1).
    pub const EMPTY_ROOT: Hash = Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9,
        0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52,
        0xb8, 0x55,
    ]);

    /// SHA-256 of `data`.
    pub fn sha256(data: &[u8]) -> Hash {
        Hash(Sha256::digest(data).into())
    }

    /// The leaf hash of an entry: SHA-256(0x00 ‖ entry).
    pub fn leaf(entry: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([0u8]);
        h.update(entry);
        Hash(h.finalize().into())
    }

    /// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
    pub fn node(left: &Hash, right: &Hash) -> Hash {
        let mut h = Sha256::new();
        h.update([1u8]);
        h.update(left.0);
        h.update(right.0);
        Hash(h.finalize().into())
    }

    /// Standard padded base64, as in checkpoints and proofs.
    pub fn to_base64(&self) -> String {
        b64::encode(&self.0)
    }

    /// Parses canonical standard base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Hash, Error> {
        b64::decode_array::<32>("hash", s).map(Hash)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(Hash::EMPTY_ROOT, Hash::sha256(b""));
    }

    #[test]
    fn domain_separation() {
        assert_ne!(Hash::leaf(b""), Hash::sha256(b""));
        let a = Hash::leaf(b"a");
        assert_ne!(Hash::node(&a, &a), Hash::sha256(&[a.0, a.0].concat()));
    }
}
