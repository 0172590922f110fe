//! The narrow interface between the sequencer and where the log's files live.

use std::fmt;

use signet_core::TileId;

use crate::Error;

/// Where the log's public files live: the signed checkpoint and the tlog-tiles tiles,
/// nothing else (the private key, the index and the lock are kept elsewhere).
///
/// # Contract
///
/// **Durable** means that the data survives a killed process and a power cut from the
/// moment the call returns `Ok`: for a file system, the bytes were written to a temporary
/// file, the file was fsynced, it was renamed over its final name, and the directory
/// holding that name was fsynced; every directory the write had to create was itself
/// fsynced into its parent. A backend that cannot promise this must not return `Ok`.
///
/// - [`Storage::write_tiles`] makes every tile of the call durable before it returns
///   `Ok`. The tiles may become visible one by one and in any order; on `Err` any subset
///   of them may have been written, so the caller treats the call as not having happened
///   and may write the same paths again with other contents (they all lie past the
///   stored checkpoint, which nobody reads them through).
/// - [`Storage::write_checkpoint`] atomically replaces the checkpoint and is durable on
///   `Ok`. It is the commit point of the log: the sequencer calls it only after the
///   tiles the checkpoint covers are durable. On `Err` the stored checkpoint is either
///   the old one or the new one, never a mixture.
/// - Reads return exactly the bytes last written under that name, or `None` when there is
///   none. They never see a partly written file.
/// - [`Storage::delete_partial_tiles`] may lose its effect in a crash; deleting is an
///   optimisation, never needed for correctness, and the sequencer calls it only once
///   the full tile and a checkpoint covering it are durable.
///
/// Calls block; the sequencer runs them on its own thread. Implementations must be safe
/// to call from several threads at once (readers run alongside the one writer).
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// The stored signed checkpoint, if any.
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error>;

    /// Durably and atomically replaces the checkpoint (the commit point).
    fn write_checkpoint(&self, checkpoint: &[u8]) -> Result<(), Error>;

    /// The stored bytes of one tile, if any.
    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error>;

    /// Durably writes every tile of the batch.
    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error>;

    /// Deletes the partial versions of `full`, which is a full tile (width 256) that is
    /// durable and covered by a durable checkpoint.
    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error>;

    /// True when the store holds neither a checkpoint nor any tile (a new log).
    fn is_empty(&self) -> Result<bool, Error>;

    /// Makes everything the store already holds durable, as if it had just been written.
    ///
    /// A process killed between a rename and the fsync of its directory leaves a name
    /// that a power cut could still take away, although the next process reads it like
    /// any other. The log calls this once when it opens, before it reads or publishes
    /// anything, so that it never serves, or builds on, a checkpoint that is not durable.
    fn sync_existing(&self) -> Result<(), Error>;
}
