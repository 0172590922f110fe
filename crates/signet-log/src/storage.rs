//! The narrow interface between the sequencer and wherever the log's public data lives.

use std::fmt;

use signet_core::TileId;

use crate::Error;

/// Where the log's public data lives: the signed checkpoint and the tlog-tiles tiles,
/// nothing else (the private key and the index are kept elsewhere).
///
/// The interface speaks of checkpoints and tiles, never of files: a file system, a
/// database or an object store can each keep them (see docs/operating.md, *Storage*).
///
/// # Contract
///
/// Every backend promises the following; `signet-testkit`'s `storage_contract!` suite
/// checks each clause, and a backend that passes it can carry a log.
///
/// - **One writer.** Opening a backend for writing takes the store's single-writer lock
///   (a file lock, a database advisory lock, a lease), held until the value is dropped.
///   While it is held, opening the same store again fails with [`Error::Locked`].
///   The compare-and-swap below is the second line of defence: even two writers that
///   both got past the lock cannot fork the log.
/// - **Durable** means that the data survives a killed process and a power cut (or the
///   loss of the backend's client) from the moment the call returns `Ok`. A backend that
///   cannot promise this must not return `Ok`.
/// - [`Storage::write_tiles`] makes every tile of the call durable before it returns
///   `Ok`. The tiles may become visible one by one and in any order; on `Err` any subset
///   of them may have been stored, so the caller treats the call as not having happened
///   and may write the same tiles again with other contents (they all lie past the
///   stored checkpoint, which nobody reads them through).
/// - [`Storage::swap_checkpoint`] is a compare-and-swap and the commit point of the log:
///   it stores `new` only if the stored checkpoint is byte for byte `old` (`None`: there
///   is none), and is durable on `Ok`. Otherwise it stores nothing and fails with
///   [`Error::StaleCheckpoint`]. The check and the store are one atomic step. On any
///   other `Err` the stored checkpoint is either `old` or `new`, never a mixture.
/// - Reads return exactly the bytes last stored under that tile or checkpoint, or
///   `None` when there are none. They never see a partly stored tile or checkpoint.
/// - [`Storage::delete_partial_tiles`] may lose its effect in a crash; deleting is an
///   optimisation, never needed for correctness, and the sequencer calls it only once
///   the full tile and a checkpoint covering it are durable.
/// - [`Storage::make_durable`] makes everything already stored durable, whatever a
///   killed predecessor left half done.
/// - A failure of the backend itself is reported as [`Error::Storage`] (naming the
///   backend), so that an operator reads every backend's failures alike.
///
/// Calls block; the sequencer runs them on its own thread. Implementations must be safe
/// to call from several threads at once (readers run alongside the one writer).
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// The stored signed checkpoint, if any.
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error>;

    /// Durably and atomically replaces the checkpoint `old` (`None`: no checkpoint yet)
    /// with `new`; refuses with [`Error::StaleCheckpoint`] when the stored checkpoint is
    /// not `old`.
    fn swap_checkpoint(&self, old: Option<&[u8]>, new: &[u8]) -> Result<(), Error>;

    /// The stored bytes of one tile, if any.
    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error>;

    /// Durably writes every tile of the batch.
    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error>;

    /// Deletes the partial versions of `full`, which is a full tile (width 256) that is
    /// durable and covered by a durable checkpoint.
    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error>;

    /// True when the store holds neither a checkpoint nor any tile (a new log).
    fn is_empty(&self) -> Result<bool, Error>;

    /// Makes durable what the store already holds: after `Ok`, everything that a read
    /// returns survives a crash, even if it was stored by a process that was killed
    /// before its write returned.
    ///
    /// The log calls this once when it opens, before it reads or publishes anything, so
    /// that it never serves, or builds on, a checkpoint that a crash could still take
    /// back.
    fn make_durable(&self) -> Result<(), Error>;
}
