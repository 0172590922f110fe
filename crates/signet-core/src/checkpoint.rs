//! C2SP tlog-checkpoint: the log's signed tree head.

use std::fmt;

use crate::note::Note;
use crate::{Error, Hash, SigningKey, VerifierKey};

/// A checkpoint body: origin, tree size, root hash and optional extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin (also its key name).
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
    /// Extension lines, each non-empty, without newlines.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// Parses a checkpoint body strictly (decimal size without leading zeros, canonical
    /// base64 root, non-empty extension lines).
    pub fn parse_body(text: &str) -> Result<Checkpoint, Error> {
        let _ = text;
        todo!()
    }

    /// The body text, ending in a newline.
    pub fn body(&self) -> String {
        todo!()
    }

    /// Signs the checkpoint with the log key, whose name must be the origin.
    pub fn sign(&self, key: &SigningKey) -> Result<SignedCheckpoint, Error> {
        let _ = key;
        todo!()
    }
}

/// A checkpoint with its signature lines. Parsing checks only the grammar:
/// call [`SignedCheckpoint::verify`] before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint.
    pub fn parse(bytes: &[u8]) -> Result<SignedCheckpoint, Error> {
        let _ = bytes;
        todo!()
    }

    /// Checks that the origin is the log key's name and that the log key signed it.
    pub fn verify(&self, log_key: &VerifierKey) -> Result<&Checkpoint, Error> {
        let _ = log_key;
        todo!()
    }

    /// The checkpoint (untrusted until verified).
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note.
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The signed note, mutably (to append cosignatures).
    pub fn note_mut(&mut self) -> &mut Note {
        &mut self.note
    }

    /// The encoded signed checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.note.fmt(f)
    }
}
