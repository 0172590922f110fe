//! C2SP tlog-cosignature, `cosignature/v1` (signature type 0x04): a witness's timestamped
//! Ed25519 signature over a checkpoint.

use crate::note::NoteSignature;
use crate::{Checkpoint, Error, SigningKey, VerifierKey};

/// The message a cosigner signs: `cosignature/v1\ntime <t>\n` and the checkpoint body.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: u64) -> Vec<u8> {
    let _ = (checkpoint, timestamp);
    todo!()
}

/// Cosigns a checkpoint at `timestamp` (POSIX seconds) with a cosignature/v1 key.
pub fn cosign(checkpoint: &Checkpoint, key: &SigningKey, timestamp: u64) -> Result<NoteSignature, Error> {
    let _ = (checkpoint, key, timestamp);
    todo!()
}

/// Verifies a cosignature line by a cosignature/v1 key and returns its timestamp.
pub fn verify(checkpoint: &Checkpoint, key: &VerifierKey, signature: &NoteSignature) -> Result<u64, Error> {
    let _ = (checkpoint, key, signature);
    todo!()
}
