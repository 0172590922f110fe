//! C2SP tlog-checkpoint: the log's signed tree head.

use std::fmt;

use crate::note::Note;
use crate::{Error, Hash, SigningKey, VerifierKey};

const WHAT: &str = "checkpoint";

/// Parses a decimal with no sign and no leading zeros (`0` itself is fine).
pub(crate) fn parse_decimal(what: &'static str, s: &str) -> Result<u64, Error> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let n = if canonical {
        s.parse::<u64>().ok()
    } else {
        None
    };
    n.ok_or_else(|| {
        Error::malformed(
            what,
            format_args!("{s:?} is not a decimal number without leading zeros"),
        )
    })
}

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
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::malformed(WHAT, "the body does not end in a newline"))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::malformed(
                WHAT,
                "expected origin, tree size and root hash lines",
            ));
        };
        if origin.is_empty() {
            return Err(Error::malformed(WHAT, "the origin line is empty"));
        }
        let size = parse_decimal(WHAT, size)?;
        let root = Hash::from_base64(root)?;
        let extensions = lines.map(str::to_owned).collect::<Vec<_>>();
        if extensions.iter().any(String::is_empty) {
            return Err(Error::malformed(WHAT, "an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The body text, ending in a newline.
    pub fn body(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root);
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs the checkpoint with the log key, whose name must be the origin.
    pub fn sign(&self, key: &SigningKey) -> Result<SignedCheckpoint, Error> {
        if key.name().as_str() != self.origin {
            return Err(Error::WrongOrigin {
                expected: key.name().to_string(),
                found: self.origin.clone(),
            });
        }
        let body = self.body();
        // Round-trip through the parser so that a checkpoint we sign is one we would accept.
        let checkpoint = Checkpoint::parse_body(&body)?;
        let note = Note::sign(&body, &[key])?;
        Ok(SignedCheckpoint { checkpoint, note })
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
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse_body(note.text())?;
        Ok(SignedCheckpoint { checkpoint, note })
    }

    /// Checks that the origin is the log key's name and that the log key signed it.
    pub fn verify(&self, log_key: &VerifierKey) -> Result<&Checkpoint, Error> {
        if self.checkpoint.origin != log_key.name().as_str() {
            return Err(Error::WrongOrigin {
                expected: log_key.name().to_string(),
                found: self.checkpoint.origin.clone(),
            });
        }
        self.note.verify(std::slice::from_ref(log_key))?;
        Ok(&self.checkpoint)
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
