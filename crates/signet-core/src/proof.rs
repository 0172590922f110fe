//! C2SP tlog-proof (`c2sp.org/tlog-proof@v1`, files `.tlog-proof`): an offline proof that
//! an entry is in a log, as of a signed checkpoint.

use std::fmt;

use crate::{Checkpoint, Error, Hash, SignedCheckpoint, VerifierKey};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed proof. Nothing in it is trusted until [`TlogProof::verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque extra data (never trusted).
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: SignedCheckpoint,
}

impl TlogProof {
    /// Parses a proof file strictly.
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, Error> {
        let _ = bytes;
        todo!()
    }

    /// The encoded proof file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Verifies the proof for `entry` (its exact bytes): the checkpoint's origin is the
    /// log key's name and the log key signed it, `index < size`, and the inclusion proof
    /// leads from the entry's leaf hash to the checkpoint's root.
    pub fn verify(&self, entry: &[u8], log_key: &VerifierKey) -> Result<&Checkpoint, Error> {
        let _ = (entry, log_key);
        todo!()
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
