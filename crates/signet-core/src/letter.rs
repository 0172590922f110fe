//! Letters: the canonical form of docs/protocol.md ("Letters") and the letter ID.

use std::fmt;
use std::str::FromStr;

use unicode_normalization::UnicodeNormalization;

use crate::{Error, Hash};

/// The UTF-8 encoding of U+FEFF, the byte-order mark some editors put first.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The value of one lowercase hex digit.
fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// A letter's identity: `sha256:<64 lowercase hex>` of its canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LetterId(pub Hash);

impl fmt::Display for LetterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0.to_hex())
    }
}

impl FromStr for LetterId {
    type Err = Error;

    /// Parses exactly `sha256:` and 64 lowercase hex digits.
    fn from_str(s: &str) -> Result<LetterId, Error> {
        let bad = || {
            Error::field(
                "letter",
                format_args!(
                    "{s:?} is not a letter ID; expected \"sha256:\" and 64 lowercase hex digits"
                ),
            )
        };
        let hex = s.strip_prefix("sha256:").ok_or_else(bad)?.as_bytes();
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut hash = [0u8; 32];
        for (byte, pair) in hash.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (lower_hex_digit(pair[0]).ok_or_else(bad)? << 4)
                | lower_hex_digit(pair[1]).ok_or_else(bad)?;
        }
        Ok(LetterId(Hash(hash)))
    }
}

/// A letter in canonical form, with its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    text: String,
    id: LetterId,
}

impl Letter {
    /// Canonicalises the bytes of a letter file (docs/protocol.md, "Letters"): a leading BOM removed,
    /// Unicode NFC, CRLF and CR to LF, trailing U+0020 and U+0009 removed from each line,
    /// leading and trailing blank lines removed, exactly one final LF. Invalid UTF-8 and
    /// an empty letter are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Letter, Error> {
        let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
        let text = std::str::from_utf8(body).map_err(|e| {
            let offset = bytes.len() - body.len() + e.valid_up_to();
            Error::InvalidLetter(format!(
                "not valid UTF-8 at byte {offset}; save the file as UTF-8"
            ))
        })?;
        let text: String = text.nfc().collect();
        // CRLF first, so that its CR does not become a second line break.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let lines: Vec<&str> = text
            .split('\n')
            .map(|line| line.trim_end_matches([' ', '\t']))
            .collect();
        let first = lines.iter().position(|line| !line.is_empty());
        let last = lines.iter().rposition(|line| !line.is_empty());
        let (Some(first), Some(last)) = (first, last) else {
            return Err(Error::InvalidLetter(
                "the letter is empty (it has no text but blank lines)".into(),
            ));
        };
        // The spec removes one byte-order mark. Were the canonical text to start with
        // another, canonicalising it again would remove that one and give another ID, so
        // the form would not be a fixed point: such a letter is refused, not "fixed".
        if lines[first].starts_with('\u{FEFF}') {
            return Err(Error::InvalidLetter(
                "the text starts with U+FEFF (a second byte-order mark, or one after blank lines); remove it"
                    .into(),
            ));
        }
        let mut canonical = lines[first..=last].join("\n");
        canonical.push('\n');
        let id = LetterId(Hash::sha256(canonical.as_bytes()));
        Ok(Letter {
            text: canonical,
            id,
        })
    }

    /// The canonical text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The letter ID.
    pub fn id(&self) -> LetterId {
        self.id
    }
}
