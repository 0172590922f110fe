//! C2SP tlog-tiles: tile coordinates and paths, which tile holds a subtree's hash, and
//! entry bundles.

use std::ops::Range;

use crate::merkle::Subtree;
use crate::{Error, Hash};

/// Tile height: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;
/// The number of hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// Which kind of tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    /// An entry bundle (`tile/entries/...`, level -1 in Go's x/mod).
    Entries,
    /// A hash tile of level `L` (`tile/<L>/...`), holding tree hashes of level `8 * L`.
    Hashes(u8),
}

/// One tile: its level, its index within the level, and its width (1..=256; 256 is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Entry bundle or hash tile level.
    pub level: TileLevel,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries; 256 for a full tile.
    pub width: u16,
}

impl TileId {
    /// True for a full tile (width 256), which never changes once written.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tile's path as in tlog-tiles, without a leading slash:
    /// `tile/0/x001/x234/067`, `tile/entries/000.p/5`.
    pub fn path(&self) -> String {
        todo!()
    }

    /// Parses a path made by [`TileId::path`], strictly: exactly one encoding per tile is
    /// accepted (3-digit groups, `x` on all but the last, no leading group of zeros,
    /// `.p/<W>` with W in 1..=255).
    pub fn parse_path(path: &str) -> Result<TileId, Error> {
        let _ = path;
        todo!()
    }

    /// The tile at `level` and `index` as it stands in a tree of `tree_size` leaves, or
    /// `None` when that tree does not reach it.
    pub fn in_tree(level: TileLevel, index: u64, tree_size: u64) -> Option<TileId> {
        let _ = (level, index, tree_size);
        todo!()
    }

    /// True when a tree of `tree_size` leaves covers this tile at exactly this width or
    /// has grown past it (a partial tile of an older size stays valid data).
    pub fn covered_by(&self, tree_size: u64) -> bool {
        let _ = tree_size;
        todo!()
    }
}

/// Where a subtree's hash lives: the tile (as of `tree_size`) and the run of hashes
/// inside it whose root is the subtree's hash (a run of 1 is the hash itself).
pub fn locate_subtree(subtree: Subtree, tree_size: u64) -> Result<(TileId, Range<usize>), Error> {
    let _ = (subtree, tree_size);
    todo!()
}

/// Splits a hash tile's bytes into hashes; `width` must match the length.
pub fn parse_hash_tile(data: &[u8], width: u16) -> Result<Vec<Hash>, Error> {
    let _ = (data, width);
    todo!()
}

/// The root of the run `range` of hashes (a power of two in length, aligned), as
/// returned by [`locate_subtree`].
pub fn subtree_hash(hashes: &[Hash], range: Range<usize>) -> Result<Hash, Error> {
    let _ = (hashes, range);
    todo!()
}

/// Appends one entry to an entry bundle: a big-endian uint16 length, then the bytes.
/// Entries longer than 65,535 bytes cannot be bundled.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), Error> {
    let _ = (bundle, entry);
    todo!()
}

/// Splits an entry bundle into its entries, refusing truncated or trailing bytes.
pub fn parse_bundle(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let _ = data;
    todo!()
}
