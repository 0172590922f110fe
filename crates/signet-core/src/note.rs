//! C2SP signed notes: a text ending in a newline, a blank line, and signature lines
//! `— <key name> <base64(key ID ‖ signature)>`.

use std::fmt;

use crate::keys::{KeyId, KeyName, SigningKey, VerifierKey};
use crate::Error;

/// The most signature lines a note may carry (the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name on the line.
    pub name: KeyName,
    /// The key ID (the first four bytes of the decoded signature).
    pub id: KeyId,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        todo!()
    }
}

/// A signed note as parsed: its text and its signature lines, in order. Nothing in it is
/// trusted until [`Note::verify`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note: UTF-8 with no control characters but newline, a text ending
    /// in a newline, split from the signatures at the last blank line, then 1..=
    /// [`MAX_SIGNATURES`] well-formed signature lines in canonical base64.
    pub fn parse(bytes: &[u8]) -> Result<Note, Error> {
        let _ = bytes;
        todo!()
    }

    /// Signs `text` (which must end in a newline and follow the note rules) with each key.
    pub fn sign(text: &str, keys: &[&SigningKey]) -> Result<Note, Error> {
        let _ = (text, keys);
        todo!()
    }

    /// Builds a note from its parts (the text must follow the note rules).
    pub fn from_parts(text: String, signatures: Vec<NoteSignature>) -> Result<Note, Error> {
        let _ = (text, signatures);
        todo!()
    }

    /// The note text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Appends a signature line (for example a witness cosignature).
    pub fn push_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// Verifies the note against trusted Ed25519 keys (type 0x01). Signatures from
    /// unknown keys (name or ID not both matching) are ignored; a known key whose
    /// signature fails rejects the whole note; at least one must verify. Returns the keys
    /// that verified.
    pub fn verify<'k>(&self, keys: &'k [VerifierKey]) -> Result<Vec<&'k VerifierKey>, Error> {
        let _ = keys;
        todo!()
    }

    /// The encoded note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}
