//! C2SP tlog-witness: the body of `POST <prefix>/add-checkpoint` (the old size, the
//! consistency proof and the signed checkpoint), and the two answers a client reads
//! (cosignature lines on `200`, the witness's size on `409`).
//!
//! Like everything in this crate, these are formats only: parsing is strict, and the
//! checks that need the witness's state (is `old` the stored size, does the proof
//! verify) belong to the witness.
//!
//! ```
//! use signet_core::witness::AddCheckpoint;
//! use signet_core::keys::SignatureType;
//! use signet_core::{Checkpoint, Hash, KeyName, SigningKey};
//!
//! let log = SigningKey::from_seed(KeyName::parse("example.org/log")?, SignatureType::Ed25519, &[7; 32]);
//! let checkpoint = Checkpoint {
//!     origin: "example.org/log".into(),
//!     size: 1,
//!     root: Hash::leaf(b"entry-0"),
//!     extensions: vec![],
//! }
//! .sign(&log)?;
//! let request = AddCheckpoint { old: 0, proof: vec![], checkpoint };
//! let bytes = request.to_bytes();
//! assert!(bytes.starts_with(b"old 0\n\nexample.org/log\n1\n"));
//! assert_eq!(AddCheckpoint::parse(&bytes)?, request);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::checkpoint::parse_decimal;
use crate::note::{Note, NoteSignature};
use crate::{Checkpoint, Error, Hash, SignedCheckpoint};

const WHAT: &str = "add-checkpoint request";

/// The most consistency proof lines a request may carry, as the spec says.
pub const MAX_PROOF_LINES: usize = 63;

/// The largest add-checkpoint body a witness reads, in bytes: the old size line, 63
/// proof lines, and a checkpoint with room for many signatures.
pub const MAX_REQUEST_SIZE: usize = 64 * 1024;

/// The content type of a `409` answer: the witness's stored size and a newline.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed add-checkpoint request. Nothing in it is trusted: the witness verifies the
/// checkpoint's signature and the proof against what it stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness holds.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint to cosign, with its signatures.
    pub checkpoint: SignedCheckpoint,
}

impl AddCheckpoint {
    /// Parses a request body strictly: `old <N>` in canonical decimal, at most
    /// [`MAX_PROOF_LINES`] canonical base64 hashes, a blank line, and a signed
    /// checkpoint; `old` may not exceed the checkpoint's size, and a request from `old
    /// 0` carries no proof. Every line ends in a newline.
    pub fn parse(bytes: &[u8]) -> Result<AddCheckpoint, Error> {
        if bytes.len() > MAX_REQUEST_SIZE {
            return Err(Error::malformed(
                WHAT,
                format_args!("larger than {MAX_REQUEST_SIZE} bytes"),
            ));
        }
        let s = std::str::from_utf8(bytes)
            .map_err(|e| Error::malformed(WHAT, format_args!("not valid UTF-8 ({e})")))?;
        // The proof ends at the first blank line; the checkpoint has a blank line of its
        // own, before its signatures.
        let split = s.find("\n\n").ok_or_else(|| {
            Error::malformed(WHAT, "no blank line between the proof and the checkpoint")
        })?;
        let (head, checkpoint) = (&s[..split], &s[split + 2..]);
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .ok_or_else(|| Error::malformed(WHAT, "the first line must be `old <size>`"))?;
        let old = parse_decimal(WHAT, old)?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::malformed(
                    WHAT,
                    format_args!("more than {MAX_PROOF_LINES} consistency proof lines"),
                ));
            }
            proof.push(Hash::from_base64(line).map_err(|_| {
                Error::malformed(
                    WHAT,
                    format_args!("proof line {line:?} is not a base64 SHA-256 hash"),
                )
            })?);
        }
        let checkpoint = SignedCheckpoint::parse(checkpoint.as_bytes())?;
        let size = checkpoint.checkpoint().size;
        if old > size {
            return Err(Error::malformed(
                WHAT,
                format_args!("old size {old} is larger than the checkpoint's size {size}"),
            ));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint,
        })
    }

    /// The encoded request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("old {}\n", self.old);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        let mut bytes = s.into_bytes();
        bytes.extend_from_slice(&self.checkpoint.to_bytes());
        bytes
    }
}

/// Parses the body of a `200` answer: one or more signature lines, each ending in a
/// newline. They are read as the signatures of a note on `checkpoint`, as the spec
/// suggests; which of them are valid cosignatures is for the caller to check.
pub fn parse_cosignatures(
    checkpoint: &Checkpoint,
    body: &[u8],
) -> Result<Vec<NoteSignature>, Error> {
    let body = std::str::from_utf8(body).map_err(|e| {
        Error::malformed(
            "add-checkpoint answer",
            format_args!("not valid UTF-8 ({e})"),
        )
    })?;
    let note = Note::parse(format!("{}\n{body}", checkpoint.body()).as_bytes())?;
    if note.text() != checkpoint.body() {
        return Err(Error::malformed(
            "add-checkpoint answer",
            "it holds more than signature lines",
        ));
    }
    Ok(note.signatures().to_vec())
}

/// Parses the body of a `409` answer: a tree size in canonical decimal and a newline.
pub fn parse_size(body: &[u8]) -> Result<u64, Error> {
    let what = "witness size";
    let s = std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .ok_or_else(|| Error::malformed(what, "expected a decimal size and a newline"))?;
    parse_decimal(what, s)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::keys::SignatureType;
    use crate::{KeyName, SigningKey};

    fn checkpoint() -> SignedCheckpoint {
        let key = SigningKey::from_seed(
            KeyName::parse("example.org/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        );
        Checkpoint {
            origin: "example.org/log".into(),
            size: 3,
            root: Hash::leaf(b"x"),
            extensions: vec![],
        }
        .sign(&key)
        .unwrap()
    }

    fn check(body: &str, expect: Result<(u64, usize), &str>) {
        let bytes = format!("{body}{}", checkpoint());
        match (AddCheckpoint::parse(bytes.as_bytes()), expect) {
            (Ok(r), Ok((old, n))) => {
                assert_eq!((r.old, r.proof.len()), (old, n), "{body:?}");
                assert_eq!(r.to_bytes(), bytes.as_bytes(), "{body:?} round trip");
            }
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{body:?}: {e}"),
            (got, want) => panic!("{body:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn bodies() {
        let h = Hash::leaf(b"a").to_base64();
        check("old 0\n\n", Ok((0, 0)));
        check(&format!("old 2\n{h}\n{h}\n\n"), Ok((2, 2)));
        check("old 3\n\n", Ok((3, 0)));
        check("old 4\n\n", Err("larger than the checkpoint's size"));
        check("old 01\n\n", Err("leading zeros"));
        check("old  1\n\n", Err("leading zeros"));
        check("old -1\n\n", Err("leading zeros"));
        check("new 1\n\n", Err("`old <size>`"));
        check("\n", Err("`old <size>`"));
        check("old 1\nnot base64\n\n", Err("not a base64"));
        check(&format!("old 1\n{h} \n\n"), Err("not a base64"));
        let many = format!("{h}\n").repeat(MAX_PROOF_LINES + 1);
        check(&format!("old 1\n{many}\n"), Err("more than 63"));
        let most = format!("{h}\n").repeat(MAX_PROOF_LINES);
        check(&format!("old 1\n{most}\n"), Ok((1, MAX_PROOF_LINES)));
        assert!(AddCheckpoint::parse(b"old 1\n").is_err());
        assert!(AddCheckpoint::parse(b"old 0\n\nexample.org/log\n3\n").is_err());
        assert!(AddCheckpoint::parse(&[0xff; 10]).is_err());
    }

    #[test]
    fn answers() {
        assert_eq!(parse_size(b"17\n").unwrap(), 17);
        for bad in [&b"17"[..], b"017\n", b"\n", b"x\n", b"1\n\n"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        let cp = checkpoint();
        let line = cp.note().signatures()[0].to_line();
        let sigs = parse_cosignatures(cp.checkpoint(), line.as_bytes()).unwrap();
        assert_eq!(sigs, cp.note().signatures());
        assert!(parse_cosignatures(cp.checkpoint(), b"").is_err());
        assert!(parse_cosignatures(cp.checkpoint(), b"hello\n").is_err());
        assert!(parse_cosignatures(cp.checkpoint(), format!("x\n\n{line}").as_bytes()).is_err());
    }
}
