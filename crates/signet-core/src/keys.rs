//! C2SP signed-note Ed25519 keys: key names, key IDs, verifier keys
//! (`<name>+<hex id>+<base64(type ‖ key)>`) and private keys in the string form of Go's
//! `sumdb/note` (`PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`).

use std::fmt;

use zeroize::Zeroizing;

use crate::Error;

/// The signature type byte of a key (C2SP signed-note §Signature types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// 0x01: Ed25519 over the note text.
    Ed25519,
    /// 0x04: timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The type's identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::CosignatureV1 => 0x04,
        }
    }
}

/// A key name: non-empty, no Unicode spaces, no `+`, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a key name.
    pub fn parse(s: &str) -> Result<KeyName, Error> {
        let _ = s;
        todo!()
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 32-bit key ID: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Computes the key ID of a public key under a name and signature type.
    pub fn compute(name: &KeyName, sig_type: SignatureType, public_key: &[u8; 32]) -> KeyId {
        let _ = (name, sig_type, public_key);
        todo!()
    }
}

impl fmt::Display for KeyId {
    /// Eight lowercase hex digits, as in verifier keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// A verifier key: a key name, a signature type and a 32-byte Ed25519 public key.
///
/// Parsing checks only the encoding; whether the key is a usable curve point (canonical,
/// not of small order) is checked when it verifies, as an error of class
/// [`crate::ErrorClass::Rejected`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VerifierKey {
    name: KeyName,
    sig_type: SignatureType,
    id: KeyId,
    public_key: [u8; 32],
}

impl VerifierKey {
    /// Parses `<name>+<8 lowercase hex>+<base64(type ‖ key)>`; the key ID must match the
    /// one computed from the name and key.
    pub fn parse(s: &str) -> Result<VerifierKey, Error> {
        let _ = s;
        todo!()
    }

    /// Builds a verifier key from its parts.
    pub fn new(name: KeyName, sig_type: SignatureType, public_key: [u8; 32]) -> VerifierKey {
        let id = KeyId::compute(&name, sig_type, &public_key);
        VerifierKey { name, sig_type, id, public_key }
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The signature type.
    pub fn sig_type(&self) -> SignatureType {
        self.sig_type
    }

    /// The 32-byte Ed25519 public key. A signer *is* this key (DESIGN §3).
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The fingerprint shown to people: the first 8 bytes of SHA-256 of the public key,
    /// as 16 lowercase hex digits.
    pub fn fingerprint(&self) -> String {
        todo!()
    }

    /// Verifies an Ed25519 signature over `message` with the strict rules of RFC 8032 as
    /// `verify_strict` applies them (S < L, canonical R and A, neither of small order).
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), Error> {
        let _ = (message, signature);
        todo!()
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        VerifierKey::parse(s)
    }
}

/// A private signing key with its name and signature type. The secret is zeroised on
/// drop and never printed by `Debug`.
#[derive(Clone)]
pub struct SigningKey {
    name: KeyName,
    sig_type: SignatureType,
    key: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A key from a 32-byte Ed25519 seed (the caller supplies the randomness).
    pub fn from_seed(name: KeyName, sig_type: SignatureType, seed: &[u8; 32]) -> SigningKey {
        let _ = (name, sig_type, seed);
        todo!()
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`, checking the key ID.
    pub fn parse(s: &str) -> Result<SigningKey, Error> {
        let _ = s;
        todo!()
    }

    /// The private-key string; zeroised when dropped.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        todo!()
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey::new(self.name.clone(), self.sig_type, self.key.verifying_key().to_bytes())
    }

    /// Signs `message` with Ed25519 (RFC 8032, deterministic).
    pub fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
        let _ = message;
        todo!()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <secret>)", self.name)
    }
}
