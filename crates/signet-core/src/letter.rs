//! Letters: the canonical form of DESIGN §2 and the letter ID.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Hash};

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
        let _ = s;
        todo!()
    }
}

/// A letter in canonical form, with its ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    text: String,
    id: LetterId,
}

impl Letter {
    /// Canonicalises the bytes of a letter file (DESIGN §2): a leading BOM removed,
    /// Unicode NFC, CRLF and CR to LF, trailing U+0020 and U+0009 removed from each line,
    /// leading and trailing blank lines removed, exactly one final LF. Invalid UTF-8 and
    /// an empty letter are errors.
    pub fn from_bytes(bytes: &[u8]) -> Result<Letter, Error> {
        let _ = bytes;
        todo!()
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
