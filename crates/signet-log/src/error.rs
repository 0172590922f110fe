use std::path::PathBuf;

use crate::sequencer::Ack;

/// Everything that can go wrong in `signet-log`.
///
/// A submission's refusal ([`Error::Entry`], [`Error::Conflict`], [`Error::Overloaded`],
/// [`Error::Closed`]) is an answer for the submitter; the other variants are failures of
/// the log itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The entry was refused by a rule of `signet-core`: its class says whether the
    /// bytes were malformed (400) or well-formed but refused (422).
    #[error("{0}")]
    Entry(#[from] signet_core::Error),
    /// A different endorsement by the same signer is active (409); the active one, with
    /// its proof.
    #[error("another endorsement by this key is active at index {}", .0.index)]
    Conflict(Box<Ack>),
    /// The submission pool is full; try again shortly (503).
    #[error("the log is busy: too many submissions are waiting")]
    Overloaded,
    /// The log is shutting down or stopped after a storage failure (503).
    #[error("the log is not accepting submissions: {0}")]
    Closed(&'static str),
    /// The submission could not be made durable; nothing was acknowledged (503).
    #[error("the entry could not be stored; retry later")]
    NotStored,
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("write", "rename", "fsync", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The SQLite index failed.
    #[error("index: {0}")]
    Index(#[from] rusqlite::Error),
    /// Another process holds the data directory's lock.
    #[error("{} is locked by another signet-server; stop it first, or use another --data directory", .0.display())]
    Locked(PathBuf),
    /// The stored log contradicts itself or the configuration; the server must not start.
    #[error("the log in {} cannot be trusted: {reason}", dir.display())]
    Corrupt {
        /// The data directory.
        dir: PathBuf,
        /// What contradicts what.
        reason: String,
    },
    /// A stored tile is missing or unreadable although the checkpoint covers it.
    #[error("stored tile {tile} is unusable: {reason}")]
    BadTile {
        /// The tile's path.
        tile: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configuration cannot be used (bad origin, a letter file, a changed letter).
    #[error("{0}")]
    Config(String),
    /// A fault injected by a test storage backend.
    #[error("injected fault: {0}")]
    Injected(&'static str),
    /// The storage backend refused to replace the checkpoint: the stored one is not the
    /// one this log last wrote, so another writer has changed the store.
    #[error(
        "the {backend} store's checkpoint is not the one this log last wrote: another writer \
         has changed it; stop every other signet-server using this store, then restart"
    )]
    StaleCheckpoint {
        /// The backend ("file system", ...).
        backend: &'static str,
    },
    /// The storage backend itself failed (a file system call, a database query).
    #[error("{backend} storage failed: {source}")]
    Storage {
        /// The backend ("file system", ...).
        backend: &'static str,
        /// The backend's own error, naming what it was doing.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Stored data does not hash to the signed checkpoint: a tile or an entry bundle was
    /// changed or damaged after it was written. Nothing is served from it.
    #[error(
        "corrupt storage: {file} {reason}; restore it from a backup or a mirror \
         (signet-server --check lists every bad file)"
    )]
    CorruptStorage {
        /// The tile or bundle, as its tlog-tiles path (`tile/0/001`).
        file: String,
        /// What does not match.
        reason: String,
    },
    /// The stored log is older than what this server has already signed and indexed.
    #[error("the log in {} was rolled back: {reason}", dir.display())]
    RolledBack {
        /// The data directory.
        dir: PathBuf,
        /// What the index records against what the log holds, and what to do.
        reason: String,
    },
    /// The private key file can be read by other users.
    #[error(
        "the private key {} can be read by other users (mode {mode:o}); run `chmod 600 {}` \
         and start again",
        path.display(),
        path.display()
    )]
    KeyPermissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

impl Error {
    /// A failure of the storage backend `backend`, wrapping its own error.
    pub fn storage(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Storage {
            backend,
            source: source.into(),
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
