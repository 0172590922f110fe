//! C2SP signed notes: a text ending in a newline, a blank line, and signature lines
//! `— <key name> <base64(key ID ‖ signature)>`.

use std::fmt;

use crate::keys::{KeyId, KeyName, SignatureType, SigningKey, VerifierKey};
use crate::{Error, b64};

const WHAT: &str = "signed note";

/// The signature line prefix: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Checks the rules every note's bytes follow: UTF-8, and no ASCII control character other
/// than newline.
fn check_note_text(bytes: &[u8]) -> Result<&str, Error> {
    let s = std::str::from_utf8(bytes)
        .map_err(|e| Error::malformed(WHAT, format_args!("not valid UTF-8 ({e})")))?;
    if let Some(c) = s.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(Error::malformed(
            WHAT,
            format_args!(
                "contains the control character U+{:04X}; only newline is allowed",
                u32::from(c)
            ),
        ));
    }
    Ok(s)
}

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
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, b64::encode(&raw))
    }

    /// Parses one signature line without its newline.
    fn parse_line(line: &str) -> Result<NoteSignature, Error> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
            Error::malformed(
                WHAT,
                format_args!("signature line {line:?} does not start with \"\u{2014} \""),
            )
        })?;
        let (name, sig) = rest.split_once(' ').ok_or_else(|| {
            Error::malformed(
                WHAT,
                format_args!("signature line {line:?} has no signature"),
            )
        })?;
        let name = KeyName::parse(name)?;
        let raw = b64::decode(WHAT, sig)?;
        if raw.len() < 5 {
            return Err(Error::malformed(
                WHAT,
                format_args!("signature by {name} is too short"),
            ));
        }
        let id = KeyId([raw[0], raw[1], raw[2], raw[3]]);
        Ok(NoteSignature {
            name,
            id,
            signature: raw[4..].to_vec(),
        })
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
        let s = check_note_text(bytes)?;
        let split = s.rfind("\n\n").ok_or_else(|| {
            Error::malformed(WHAT, "no blank line separates the text from the signatures")
        })?;
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(Error::malformed(
                WHAT,
                "the last signature line does not end in a newline",
            ));
        };
        let signatures = sigs
            .split('\n')
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(Error::malformed(
                WHAT,
                format_args!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Signs `text` (which must end in a newline and follow the note rules) with each key.
    /// Only Ed25519 (type 0x01) keys sign notes; cosignatures have their own module.
    pub fn sign(text: &str, keys: &[&SigningKey]) -> Result<Note, Error> {
        let mut signatures = Vec::with_capacity(keys.len());
        for key in keys {
            if key.sig_type() != SignatureType::Ed25519 {
                return Err(Error::malformed(
                    WHAT,
                    format_args!("{} is not an Ed25519 note key", key.name()),
                ));
            }
            signatures.push(NoteSignature {
                name: key.name().clone(),
                id: key.verifier().id(),
                signature: key.sign_ed25519(text.as_bytes()).to_vec(),
            });
        }
        Note::from_parts(text.to_owned(), signatures)
    }

    /// Builds a note from its parts (the text must follow the note rules).
    pub fn from_parts(text: String, signatures: Vec<NoteSignature>) -> Result<Note, Error> {
        check_note_text(text.as_bytes())?;
        if !text.ends_with('\n') {
            return Err(Error::malformed(WHAT, "the text does not end in a newline"));
        }
        if text.starts_with('\n') && text.len() == 1 {
            return Err(Error::malformed(WHAT, "the text is empty"));
        }
        if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
            return Err(Error::malformed(
                WHAT,
                format_args!("a note has 1 to {MAX_SIGNATURES} signatures"),
            ));
        }
        Ok(Note { text, signatures })
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
        let mut verified: Vec<&VerifierKey> = Vec::new();
        for sig in &self.signatures {
            let known = keys
                .iter()
                .filter(|k| k.sig_type() == SignatureType::Ed25519)
                .find(|k| *k.name() == sig.name && k.id() == sig.id);
            let Some(key) = known else { continue };
            let bytes: &[u8; 64] =
                sig.signature
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::BadSignature {
                        key_name: sig.name.to_string(),
                    })?;
            key.verify_ed25519(self.text.as_bytes(), bytes)?;
            if !verified.iter().any(|v| std::ptr::eq(*v, key)) {
                verified.push(key);
            }
        }
        if verified.is_empty() {
            let expected = keys
                .iter()
                .map(|k| k.name().as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Error::UnknownSigner { expected });
        }
        Ok(verified)
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
