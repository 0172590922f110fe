use std::fmt;

/// Everything that can go wrong in `signet-core`.
///
/// Every variant says what was wrong and carries enough context for a person to fix it.
/// [`Error::class`] tells a server whether the bytes were malformed (HTTP 400) or
/// well-formed but refused (HTTP 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed: `what` names the thing being parsed
    /// ("signed note", "checkpoint", "endorsement", ...), `reason` says what is wrong.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The kind of value being parsed.
        what: &'static str,
        /// What is wrong with it, and where.
        reason: String,
    },
    /// A text field breaks the text rules (docs/protocol.md, "Text values").
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field name (`name`, `affiliation`, ...).
        field: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// A letter file cannot be used: invalid UTF-8, or empty once canonicalised.
    #[error("invalid letter: {0}")]
    InvalidLetter(String),
    /// A public key is not a usable Ed25519 key (not a curve point, small order, or
    /// not canonically encoded).
    #[error("unusable public key for {key_name}: {reason}")]
    BadPublicKey {
        /// The key name of the offending key.
        key_name: String,
        /// Why the key was refused.
        reason: &'static str,
    },
    /// A signature by a known key did not verify.
    #[error("signature by {key_name} does not verify")]
    BadSignature {
        /// The key name of the signature that failed.
        key_name: String,
    },
    /// No signature by any of the trusted keys was found on the note.
    #[error("no signature by a trusted key ({expected})")]
    UnknownSigner {
        /// The trusted key names, comma-separated.
        expected: String,
    },
    /// A checkpoint or proof names another log.
    #[error("origin mismatch: expected {expected:?}, found {found:?}")]
    WrongOrigin {
        /// The origin the verifier trusts.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// A Merkle proof does not lead to the expected root.
    #[error("{0} proof does not verify")]
    ProofMismatch(&'static str),
    /// Indexes or tree sizes that cannot go together.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// A rule of state (docs/protocol.md, "Rules of state") refuses the entry.
    #[error("{0}")]
    StateRule(String),
    /// The entry's time is too far ahead of the clock.
    #[error("time {time} is more than 10 minutes ahead of the log's clock ({now})")]
    FutureTime {
        /// The entry's time.
        time: String,
        /// The clock at the check.
        now: String,
    },
}

/// How a server answers an [`Error`] raised by a submitted entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The bytes are not a well-formed entry of the profile (HTTP 400).
    Malformed,
    /// A well-formed entry failed a check: signature, key, letter, time or state (HTTP 422).
    Rejected,
}

impl Error {
    /// Classifies the error as malformed input (400) or a refused entry (422).
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Malformed { .. }
            | Error::InvalidField { .. }
            | Error::InvalidLetter(_)
            | Error::OutOfRange(_) => ErrorClass::Malformed,
            Error::BadPublicKey { .. }
            | Error::BadSignature { .. }
            | Error::UnknownSigner { .. }
            | Error::WrongOrigin { .. }
            | Error::ProofMismatch(_)
            | Error::StateRule(_)
            | Error::FutureTime { .. } => ErrorClass::Rejected,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn field(field: &'static str, reason: impl fmt::Display) -> Self {
        Error::InvalidField {
            field,
            reason: reason.to_string(),
        }
    }
}
