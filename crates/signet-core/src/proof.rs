//! C2SP tlog-proof (`c2sp.org/tlog-proof@v1`, files `.tlog-proof`): an offline proof that
//! an entry is in a log, as of a signed checkpoint.

use std::fmt;

use crate::checkpoint::parse_decimal;
use crate::{Checkpoint, Error, Hash, SignedCheckpoint, VerifierKey, b64, merkle};

const WHAT: &str = "proof file";

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
        let s = std::str::from_utf8(bytes)
            .map_err(|e| Error::malformed(WHAT, format_args!("not valid UTF-8 ({e})")))?;
        // The header lines end at the first blank line; everything after it is the
        // checkpoint, which has a blank line of its own.
        let split = s
            .find("\n\n")
            .ok_or_else(|| Error::malformed(WHAT, "no blank line before the checkpoint"))?;
        let (head, checkpoint) = (&s[..split], &s[split + 2..]);
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(Error::malformed(
                WHAT,
                format_args!("the first line must be {HEADER}"),
            ));
        }
        let mut line = lines.next();
        let mut extra = None;
        if let Some(e) = line.and_then(|l| l.strip_prefix("extra ")) {
            let data = b64::decode(WHAT, e)?;
            if data.is_empty() {
                return Err(Error::malformed(WHAT, "the extra line is empty"));
            }
            extra = Some(data);
            line = lines.next();
        }
        let index = line
            .and_then(|l| l.strip_prefix("index "))
            .ok_or_else(|| Error::malformed(WHAT, "expected an index line"))?;
        let index = parse_decimal(WHAT, index)?;
        let hashes = lines
            .map(Hash::from_base64)
            .collect::<Result<Vec<_>, _>>()?;
        if hashes.len() > 64 {
            return Err(Error::malformed(WHAT, "more than 64 proof hashes"));
        }
        let checkpoint = SignedCheckpoint::parse(checkpoint.as_bytes())?;
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint,
        })
    }

    /// The encoded proof file.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Verifies the proof for `entry` (its exact bytes): the checkpoint's origin is the
    /// log key's name and the log key signed it, `index < size`, and the inclusion proof
    /// leads from the entry's leaf hash to the checkpoint's root.
    pub fn verify(&self, entry: &[u8], log_key: &VerifierKey) -> Result<&Checkpoint, Error> {
        let checkpoint = self.checkpoint.verify(log_key)?;
        if self.index >= checkpoint.size {
            return Err(Error::OutOfRange(format!(
                "index {} is not below the checkpoint's tree size {}",
                self.index, checkpoint.size
            )));
        }
        merkle::verify_inclusion(
            &Hash::leaf(entry),
            self.index,
            checkpoint.size,
            &self.hashes,
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", b64::encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for h in &self.hashes {
            writeln!(f, "{h}")?;
        }
        writeln!(f)?;
        self.checkpoint.fmt(f)
    }
}
