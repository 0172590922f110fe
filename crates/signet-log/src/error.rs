use std::path::PathBuf;

use crate::head::Ack;

/// Everything that can go wrong in `signet-log`.
///
/// A submission's refusal ([`Error::Entry`], [`Error::Conflict`]) is the submitter's to
/// fix; [`Error::Overloaded`], [`Error::NotStored`], [`Error::Unavailable`] and
/// [`Error::Closed`] ask it to come back later; every other variant is a failure of the
/// log itself, never blamed on whoever asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The submitter's (or a reader's request's) own mistake, by a rule of
    /// `signet-core`: its class says whether the bytes were malformed (400) or
    /// well-formed but refused (422). Never used for a failure inside the log.
    #[error("{0}")]
    Entry(#[from] signet_core::Error),
    /// A different endorsement by the same signer is active (409); the active one, with
    /// its proof.
    #[error("another endorsement by this key is active at index {}", .0.index)]
    Conflict(Box<Ack>),
    /// The submission pool is full; try again shortly (503).
    #[error("the log is busy: too many submissions are waiting")]
    Overloaded,
    /// The log is shutting down, or stopped for good after finding corrupt storage or a
    /// bug in itself; the message says which (503).
    #[error("the log is not accepting submissions: {0}")]
    Closed(&'static str),
    /// The batch holding the submission could not be made durable; nothing of it was
    /// acknowledged (503, retry).
    #[error("the entry could not be stored; retry later")]
    NotStored,
    /// The log cannot write to its storage right now (a transient failure, such as no
    /// file descriptors or no disk space left) and is retrying by itself; nothing was
    /// acknowledged (503, retry).
    #[error("the log cannot write to its storage right now: {reason}; retry later")]
    Unavailable {
        /// What failed, and since when.
        reason: String,
    },
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
    /// SQLite failed under the catalog.
    #[error("catalog: {0}")]
    Catalog(#[from] rusqlite::Error),
    /// The catalog holds a row the log could never have written into it. It is derived
    /// data: rebuild it from the log (`--reindex`).
    #[error("the catalog is damaged: {reason}; rebuild it from the log with --reindex")]
    CatalogDamaged {
        /// What is wrong with it.
        reason: String,
    },
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
    /// The system gave no randomness to make a new log key with.
    #[error("no randomness for the log key: {0}")]
    NoRandomness(String),
    /// A thread of the log panicked (a bug); what it was doing is lost, what is durable
    /// stays.
    #[error("a {thread} thread panicked")]
    Panicked {
        /// What the thread was for ("write", "fsync", "sequencer").
        thread: &'static str,
    },
    /// A check that no input can fail did fail: a bug in the log, never the submitter's
    /// mistake (500).
    #[error("internal error: {0}")]
    Internal(String),
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

    /// For the log's own calls into `signet-core` or the tree with values it computed
    /// itself: a refusal there is a bug in the log (`what` says where), not a mistake
    /// of whoever submitted or asked. Other errors pass through unchanged.
    pub(crate) fn internal(what: &'static str) -> impl FnOnce(Error) -> Error {
        move |e| match e {
            Error::Entry(e) => Error::Internal(format!("{what}: {e}")),
            e => e,
        }
    }

    /// Whether the error is the submitter's (or requester's) to fix: a malformed or
    /// refused entry, or a conflicting endorsement.
    pub fn is_submitters(&self) -> bool {
        matches!(self, Error::Entry(_) | Error::Conflict(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `error` is blamed on the submitter exactly when `submitters` says so.
    fn check(error: Error, submitters: bool) {
        assert_eq!(error.is_submitters(), submitters, "{error:?}");
    }

    #[test]
    fn internal_failures_are_not_the_submitters() {
        let range = || signet_core::Error::OutOfRange("index 9 is not below 3".into());
        // A range error in the submitter's own request is the submitter's.
        check(Error::Entry(range()), true);
        // The same error from the log's own computation is the log's.
        check(
            Error::internal("building the tiles")(Error::Entry(range())),
            false,
        );
        let wrapped = Error::internal("building the tiles")(Error::Entry(range()));
        assert!(matches!(wrapped, Error::Internal(ref m) if m.contains("building the tiles")));
        // A storage failure passes through as itself.
        let io = Error::io("open", "log/tile", std::io::Error::from_raw_os_error(24));
        let io = Error::internal("reading the tiles")(io);
        assert!(matches!(io, Error::Io { .. }), "{io:?}");
        check(io, false);
        check(
            Error::Unavailable {
                reason: "no space".into(),
            },
            false,
        );
        check(Error::Panicked { thread: "write" }, false);
        check(Error::CatalogDamaged { reason: "x".into() }, false);
    }
}
