use std::path::PathBuf;

use crate::audit::Misbehaviour;

/// Everything that can go wrong in `signet-client`.
///
/// [`Error::is_verification_failure`] separates what the log or the server did wrong
/// (a refused entry, a proof or checkpoint that does not verify, a misbehaving log) from
/// what stopped the work (an unreachable server, an I/O error), which a command line
/// reports with different exit codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL is not an `http://` or `https://` URL.
    #[error("invalid server URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The server could not be reached, or the connection broke or timed out.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The server answered with a status this client cannot use (404, 429, 5xx, ...).
    #[error(
        "{url} answered HTTP {status}{}{}",
        fmt_message(message),
        fmt_retry(retry_after)
    )]
    Status {
        /// The URL requested.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The server's message, if it sent one.
        message: String,
        /// The `Retry-After` header, for 429 and 503.
        retry_after: Option<String>,
    },
    /// The server refused a submitted entry (400, 409, 413 or 422).
    #[error("the server refused the entry (HTTP {status}, {code}): {message}")]
    Refused {
        /// The HTTP status code.
        status: u16,
        /// The API error code (`error` in the JSON body).
        code: String,
        /// The server's explanation.
        message: String,
        /// For 409, the index of the signer's active endorsement.
        active_index: Option<u64>,
    },
    /// An answer could not be understood (wrong format, too large, truncated).
    #[error("bad answer from {url}: {reason}")]
    BadContent {
        /// The URL requested.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// An answer was larger than this client reads for that resource.
    #[error("bad answer from {url}: larger than {limit} bytes")]
    TooLarge {
        /// The URL requested.
        url: String,
        /// The most this client reads from that URL.
        limit: u64,
    },
    /// Something the server sent does not verify: a checkpoint, a proof or an entry.
    #[error("{what} does not verify: {source}")]
    Verification {
        /// What failed to verify.
        what: String,
        /// Why.
        #[source]
        source: signet_core::Error,
    },
    /// The audit found the log misbehaving; the value carries the evidence.
    #[error("{0}")]
    Misbehaviour(Box<Misbehaviour>),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file durably failed (the message names the step, the path and the
    /// operating system's error, so it is not repeated as a source).
    #[error("{0}")]
    Write(signet_fs::Error),
    /// The saved audit state cannot be used.
    #[error("audit state in {}: {reason}", path.display())]
    BadState {
        /// The state directory.
        path: PathBuf,
        /// What is wrong with it, and how to fix it.
        reason: String,
    },
}

fn fmt_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn fmt_retry(retry_after: &Option<String>) -> String {
    match retry_after {
        Some(r) => format!(" (retry after {r} seconds)"),
        None => String::new(),
    }
}

impl From<signet_fs::Error> for Error {
    fn from(e: signet_fs::Error) -> Error {
        Error::Write(e)
    }
}

impl Error {
    /// True when the error is a verdict rather than an obstacle: the server refused the
    /// entry, something it sent did not verify, or the log misbehaved.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::Refused { .. } | Error::Verification { .. } | Error::Misbehaviour(_)
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn verification(what: impl Into<String>, source: signet_core::Error) -> Error {
        Error::Verification {
            what: what.into(),
            source,
        }
    }
}
