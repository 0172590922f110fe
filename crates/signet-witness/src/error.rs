use std::path::PathBuf;

/// Why the witness cannot start or cannot store its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read, written or made durable.
    #[error(transparent)]
    Fs(#[from] signet_fs::Error),
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The private key file cannot be used.
    #[error("the witness key {} cannot be used: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The stored state of a log cannot be trusted.
    #[error("the stored state {} of {origin:?} cannot be used: {reason}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The log's origin.
        origin: String,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The configuration cannot work (no log, two keys for one origin, a key of the
    /// wrong type).
    #[error("{0}")]
    Config(String),
    /// The system has no randomness to make a key from.
    #[error("cannot make a key: no randomness ({0})")]
    NoRandomness(String),
}
