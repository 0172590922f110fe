//! C2SP tlog-cosignature, `cosignature/v1` (signature type 0x04): a witness's timestamped
//! Ed25519 signature over a checkpoint.

use crate::keys::SignatureType;
use crate::note::NoteSignature;
use crate::{Checkpoint, Error, SigningKey, VerifierKey};

/// The largest timestamp the spec allows (2^63 - 1).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a cosigner signs: `cosignature/v1\ntime <t>\n` and the checkpoint body.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{}", checkpoint.body()).into_bytes()
}

/// Cosigns a checkpoint at `timestamp` (POSIX seconds) with a cosignature/v1 key.
pub fn cosign(
    checkpoint: &Checkpoint,
    key: &SigningKey,
    timestamp: u64,
) -> Result<NoteSignature, Error> {
    if key.sig_type() != SignatureType::CosignatureV1 {
        return Err(Error::malformed(
            "cosignature",
            format_args!("{} is not a cosignature/v1 key", key.name()),
        ));
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(Error::OutOfRange(format!(
            "cosignature timestamp {timestamp} exceeds 2^63-1"
        )));
    }
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&key.sign_ed25519(&signed_message(checkpoint, timestamp)));
    Ok(NoteSignature {
        name: key.name().clone(),
        id: key.verifier().id(),
        signature,
    })
}

/// Verifies a cosignature line by a cosignature/v1 key and returns its timestamp.
/// A line whose name or key ID is not the key's is an [`Error::UnknownSigner`].
pub fn verify(
    checkpoint: &Checkpoint,
    key: &VerifierKey,
    signature: &NoteSignature,
) -> Result<u64, Error> {
    if key.sig_type() != SignatureType::CosignatureV1
        || signature.name != *key.name()
        || signature.id != key.id()
    {
        return Err(Error::UnknownSigner {
            expected: key.name().to_string(),
        });
    }
    let bad = || Error::BadSignature {
        key_name: key.name().to_string(),
    };
    let (ts, sig) = signature.signature.split_at_checked(8).ok_or_else(bad)?;
    let sig: &[u8; 64] = sig.try_into().map_err(|_| bad())?;
    let mut t = [0u8; 8];
    t.copy_from_slice(ts);
    let timestamp = u64::from_be_bytes(t);
    if timestamp > MAX_TIMESTAMP {
        return Err(bad());
    }
    key.verify_ed25519(&signed_message(checkpoint, timestamp), sig)?;
    Ok(timestamp)
}
