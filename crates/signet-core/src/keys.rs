//! C2SP signed-note Ed25519 keys: key names, key IDs, verifier keys
//! (`<name>+<hex id>+<base64(type ‖ key)>`) and private keys in the string form of Go's
//! `sumdb/note` (`PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`).

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Error, b64};

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

    fn from_byte(b: u8) -> Option<SignatureType> {
        match b {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// A key name as signed notes allow it: non-empty, no Unicode spaces, no `+`, no control
/// characters. Entries narrow it further: see [`crate::entry::check_signer_key_name`] and
/// [`crate::entry::check_log_key_name`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyName(String);

impl KeyName {
    /// Parses a key name.
    pub fn parse(s: &str) -> Result<KeyName, Error> {
        if s.is_empty() {
            return Err(Error::malformed("key name", "it is empty"));
        }
        if let Some(c) = s
            .chars()
            .find(|&c| c.is_whitespace() || c == '+' || c.is_control())
        {
            // The name came from the network: show it escaped, never raw.
            return Err(Error::malformed(
                "key name",
                format_args!(
                    "`{}` contains U+{:04X}; key names have no spaces, '+' or control characters",
                    crate::text::escaped(s),
                    u32::from(c)
                ),
            ));
        }
        Ok(KeyName(s.to_owned()))
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

/// A 32-bit key ID: SHA-256(name ‖ 0x0A ‖ type ‖ public key)\[:4\].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    /// Computes the key ID of a public key under a name and signature type.
    pub fn compute(name: &KeyName, sig_type: SignatureType, public_key: &[u8; 32]) -> KeyId {
        let mut h = Sha256::new();
        h.update(name.as_str().as_bytes());
        h.update([b'\n', sig_type.byte()]);
        h.update(public_key);
        let d = h.finalize();
        KeyId([d[0], d[1], d[2], d[3]])
    }

    fn parse_hex(s: &str) -> Result<KeyId, Error> {
        let ok = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let v = if ok {
            u32::from_str_radix(s, 16).ok()
        } else {
            None
        };
        v.map(|v| KeyId(v.to_be_bytes())).ok_or_else(|| {
            Error::malformed(
                "key",
                format_args!("key ID {s:?} is not 8 lowercase hex digits"),
            )
        })
    }
}

impl fmt::Display for KeyId {
    /// Eight lowercase hex digits, as in verifier keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", u32::from_be_bytes(self.0))
    }
}

/// True when the y coordinate of an encoded Edwards point is below p = 2^255 - 19.
///
/// This is the canonical-encoding rule of RFC 8032 §5.1.3 checked on the bytes, which is
/// much cheaper than re-compressing the decoded point. The only other non-canonical
/// encodings, x = 0 with the sign bit set, have y = ±1: small-order points, refused
/// separately.
fn is_canonical_y(encoded: &[u8; 32]) -> bool {
    // y >= p exactly when the 255-bit value is 0x7fff...ffed or more: top byte 0x7f
    // (sign bit ignored), the 30 middle bytes 0xff, and the lowest byte at least 0xed.
    let top = encoded[31] & 0x7f == 0x7f;
    let middle = encoded[1..31].iter().all(|&b| b == 0xff);
    !(top && middle && encoded[0] >= 0xed)
}

/// Splits `<name>+<hex id>+<base64(type ‖ key)>` and checks every part.
fn parse_key_parts(
    what: &'static str,
    s: &str,
) -> Result<(KeyName, SignatureType, [u8; 32]), Error> {
    // Key names and IDs hold no '+', but base64 may: split at the first two only.
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::malformed(
            what,
            "expected <name>+<key id>+<base64 key>",
        ));
    };
    let name = KeyName::parse(name)?;
    let id = KeyId::parse_hex(id)?;
    let raw = b64::decode(what, key)?;
    let (&ty, material) = raw
        .split_first()
        .ok_or_else(|| Error::malformed(what, "the key is empty"))?;
    let sig_type = SignatureType::from_byte(ty).ok_or_else(|| {
        Error::malformed(what, format_args!("unsupported signature type 0x{ty:02x}"))
    })?;
    let material: [u8; 32] = material.try_into().map_err(|_| {
        Error::malformed(
            what,
            format_args!(
                "expected a 32-byte Ed25519 key, found {} bytes",
                material.len()
            ),
        )
    })?;
    if KeyId::compute(&name, sig_type, &material) != id {
        return Err(Error::malformed(
            what,
            format_args!("key ID {id} does not match the name and key"),
        ));
    }
    Ok((name, sig_type, material))
}

fn key_string(name: &KeyName, sig_type: SignatureType, id: KeyId, material: &[u8; 32]) -> String {
    let mut raw = Zeroizing::new([0u8; 33]);
    raw[0] = sig_type.byte();
    raw[1..].copy_from_slice(material);
    format!("{name}+{id}+{}", b64::encode(&raw[..]))
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
        let (name, sig_type, public_key) = parse_key_parts("verifier key", s)?;
        Ok(VerifierKey::new(name, sig_type, public_key))
    }

    /// Builds a verifier key from its parts.
    pub fn new(name: KeyName, sig_type: SignatureType, public_key: [u8; 32]) -> VerifierKey {
        let id = KeyId::compute(&name, sig_type, &public_key);
        VerifierKey {
            name,
            sig_type,
            id,
            public_key,
        }
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

    /// The 32-byte Ed25519 public key. A signer *is* this key (see
    /// docs/protocol.md, *Signers*).
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The fingerprint shown to people: the first 8 bytes of SHA-256 of the public key,
    /// as 16 lowercase hex digits.
    pub fn fingerprint(&self) -> String {
        crate::Hash::sha256(&self.public_key).to_hex()[..16].to_owned()
    }

    /// Verifies an Ed25519 signature over `message` with the strict rules of RFC 8032 as
    /// `verify_strict` applies them (S < L, canonical R and A, neither of small order).
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8; 64]) -> Result<(), Error> {
        let decoded = self.decode()?;
        self.verify_ed25519_with(&decoded, message, signature)
    }

    /// Decodes the public key into a curve point and checks it as [`verify_ed25519`]
    /// does: a point on the curve, canonically encoded, not of small order. Decoding
    /// costs a square root in the field, a good part of a verification, so a verifier of
    /// many signatures by one signer decodes its key once and keeps the result.
    ///
    /// [`verify_ed25519`]: VerifierKey::verify_ed25519
    pub fn decode(&self) -> Result<DecodedKey, Error> {
        let bad_key = |reason| Error::BadPublicKey {
            key_name: self.name.to_string(),
            reason,
        };
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.public_key)
            .map_err(|_| bad_key("not a point on the Ed25519 curve"))?;
        // verify_strict rejects small-order keys and R, and S >= L, but it hashes the key
        // bytes as given; RFC 8032 §5.1.3 also requires A to be canonically encoded.
        if !is_canonical_y(&self.public_key) {
            return Err(bad_key("the public key is not canonically encoded"));
        }
        if key.is_weak() {
            return Err(bad_key("the public key has small order"));
        }
        Ok(DecodedKey {
            public_key: self.public_key,
            key,
        })
    }

    /// [`verify_ed25519`](VerifierKey::verify_ed25519) with this key already decoded.
    /// A `decoded` key of another public key is not used: the key is then decoded
    /// afresh, so a mixed-up cache can cost time but never accept a signature.
    pub fn verify_ed25519_with(
        &self,
        decoded: &DecodedKey,
        message: &[u8],
        signature: &[u8; 64],
    ) -> Result<(), Error> {
        if decoded.public_key != self.public_key {
            return self.verify_ed25519(message, signature);
        }
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        decoded
            .key
            .verify_strict(message, &sig)
            .map_err(|_| Error::BadSignature {
                key_name: self.name.to_string(),
            })
    }
}

/// A signer's public key decoded into a curve point and checked (see
/// [`VerifierKey::decode`]): what a verifier of many entries keeps per signer.
#[derive(Clone)]
pub struct DecodedKey {
    public_key: [u8; 32],
    key: ed25519_dalek::VerifyingKey,
}

impl DecodedKey {
    /// The 32-byte public key it decodes: the signer.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

impl fmt::Debug for DecodedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecodedKey({})", b64::encode(&self.public_key[..]))
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&key_string(
            &self.name,
            self.sig_type,
            self.id,
            &self.public_key,
        ))
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
        SigningKey {
            name,
            sig_type,
            key: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(type ‖ seed)>`, checking the key ID.
    ///
    /// As in Go's `sumdb/note`, the key ID is computed from the *public* key derived from
    /// the seed.
    pub fn parse(s: &str) -> Result<SigningKey, Error> {
        const WHAT: &str = "private key";
        let rest = s.strip_prefix("PRIVATE+KEY+").ok_or_else(|| {
            Error::malformed(WHAT, "expected PRIVATE+KEY+<name>+<key id>+<base64 key>")
        })?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Error::malformed(
                WHAT,
                "expected PRIVATE+KEY+<name>+<key id>+<base64 key>",
            ));
        };
        let name = KeyName::parse(name)?;
        let id = KeyId::parse_hex(id)?;
        let raw = Zeroizing::new(b64::decode(WHAT, key)?);
        let (&ty, material) = raw
            .split_first()
            .ok_or_else(|| Error::malformed(WHAT, "the key is empty"))?;
        let sig_type = SignatureType::from_byte(ty).ok_or_else(|| {
            Error::malformed(WHAT, format_args!("unsupported signature type 0x{ty:02x}"))
        })?;
        let seed: &[u8; 32] = material
            .try_into()
            .map_err(|_| Error::malformed(WHAT, "expected a 32-byte Ed25519 seed"))?;
        let key = SigningKey::from_seed(name, sig_type, seed);
        if key.verifier().id() != id {
            return Err(Error::malformed(
                WHAT,
                format_args!("key ID {id} does not match the name and key"),
            ));
        }
        Ok(key)
    }

    /// The private-key string; zeroised when dropped.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let id = KeyId::compute(
            &self.name,
            self.sig_type,
            &self.key.verifying_key().to_bytes(),
        );
        let seed = Zeroizing::new(self.key.to_bytes());
        let body = Zeroizing::new(key_string(&self.name, self.sig_type, id, &seed));
        Zeroizing::new(format!("PRIVATE+KEY+{}", body.as_str()))
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey::new(
            self.name.clone(),
            self.sig_type,
            self.key.verifying_key().to_bytes(),
        )
    }

    /// Signs `message` with Ed25519 (RFC 8032, deterministic).
    pub fn sign_ed25519(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.key.sign(message).to_bytes()
    }

    /// The signature type.
    pub fn sig_type(&self) -> SignatureType {
        self.sig_type
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({}, <secret>)", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The little-endian encoding of p + `small` (with `small` < 19, still below 2^255).
    fn p_plus(small: u8) -> [u8; 32] {
        let mut b = [0xffu8; 32];
        b[31] = 0x7f;
        b[0] = 0xed + small;
        b
    }

    #[test]
    fn non_canonical_encodings_of_real_points_are_refused() {
        let name = KeyName::parse("k").unwrap_or_else(|e| panic!("{e}"));
        let mut refused_large_order = 0;
        for small in 0..19u8 {
            let enc = p_plus(small);
            assert!(!is_canonical_y(&enc));
            let Ok(point) = ed25519_dalek::VerifyingKey::from_bytes(&enc) else {
                continue;
            };
            // The byte check agrees with re-compressing the decoded point.
            assert_ne!(point.to_edwards().compress().to_bytes(), enc);
            let v = VerifierKey::new(name.clone(), SignatureType::Ed25519, enc);
            let err = v.verify_ed25519(b"m", &[0u8; 64]).err();
            assert!(
                matches!(err, Some(Error::BadPublicKey { .. })),
                "y = p + {small}: {err:?}"
            );
            if !point.is_weak() {
                refused_large_order += 1;
            }
        }
        assert!(
            refused_large_order > 0,
            "some y = p + k is a point of large order"
        );
    }

    #[test]
    fn canonical_encodings_pass_the_byte_check() {
        for i in 0..64u8 {
            let key = SigningKey::from_seed(
                KeyName::parse("k").unwrap_or_else(|e| panic!("{e}")),
                SignatureType::Ed25519,
                &[i; 32],
            );
            assert!(is_canonical_y(key.verifier().public_key()));
        }
        let mut below = p_plus(0);
        below[0] = 0xec;
        assert!(is_canonical_y(&below), "p - 1 is canonical");
    }

    /// `verify_ed25519_with(decoded, ..)` must answer exactly what `verify_ed25519` does,
    /// whichever decoded key it is handed, so that a cache of decoded keys can never
    /// change a verdict.
    #[test]
    fn a_decoded_key_gives_the_same_verdicts_and_a_wrong_one_is_ignored() {
        let key = |seed: u8| {
            SigningKey::from_seed(
                KeyName::parse("k").unwrap_or_else(|e| panic!("{e}")),
                SignatureType::Ed25519,
                &[seed; 32],
            )
        };
        let (a, b) = (key(1), key(2));
        let (va, vb) = (a.verifier(), b.verifier());
        let decoded_a = va.decode().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded_a.public_key(), va.public_key());
        let by_a = a.sign_ed25519(b"message");
        let by_b = b.sign_ed25519(b"message");
        let check = |v: &VerifierKey, sig: &[u8; 64], expect_ok: bool| {
            let plain = v.verify_ed25519(b"message", sig).is_ok();
            let cached = v.verify_ed25519_with(&decoded_a, b"message", sig).is_ok();
            assert_eq!(plain, expect_ok, "plain verification of {v}");
            assert_eq!(
                cached, expect_ok,
                "verification of {v} handed a's decoded key"
            );
        };
        check(&va, &by_a, true);
        check(&va, &by_b, false);
        // b's signature under b's key verifies though the decoded key handed in is a's,
        // and a's signature does not pass for b's.
        check(&vb, &by_b, true);
        check(&vb, &by_a, false);
        let mut tampered = by_a;
        tampered[5] ^= 1;
        check(&va, &tampered, false);
    }
}
