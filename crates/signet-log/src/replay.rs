//! Replay: bringing the catalog to the log's size, trusting nothing it reads.
//!
//! The catalog is derived data. When it is behind the log (after a crash, or a failed
//! batch whose rows were not recorded) the entries it lacks are replayed; when it is
//! ahead of the log, or records another root, or a rebuild is asked for, it is emptied
//! and every entry is replayed. Each entry read from the bundles is parsed and verified
//! with the one parser ([`Entry::parse`], signature included), its leaf hash recomputed
//! and checked against the level-0 hash tile, and the leaf hashes of each chunk checked
//! against the root the tiles give (and, at the end, the signed checkpoint's root),
//! before any row of that chunk is written. The rules of state are the ones
//! [`signet_core::state::decide`] applies to submissions: an entry they refuse is
//! corruption, since the log could never have appended it.

use signet_core::tiles::TILE_WIDTH;
use signet_core::{CompactRange, Entry, Hash, VerifierKey};

use crate::Error;
use crate::catalog::Catalog;
use crate::decider::{BatchView, Letters};
use crate::head::Head;
use crate::recovery::corrupt;
use crate::tree::TreeReader;
use signet_core::state::Decision;

/// Entries replayed per catalog transaction.
const CHUNK: u64 = 4096;

/// Brings `catalog` to the size of `head` and reloads `letters` from it: rebuilt from
/// scratch when `rebuild` is set, or when the catalog is ahead of the log or records
/// another root; otherwise only the entries it lacks are replayed.
pub(crate) fn sync_catalog(
    catalog: &mut Catalog,
    letters: &mut Letters,
    reader: &TreeReader,
    head: &Head,
    log_key: &VerifierKey,
    rebuild: bool,
) -> Result<(), Error> {
    let size = head.size;
    let tree = Error::internal("reading the stored tree for the catalog");
    let (mut from, root) = catalog.position()?;
    let mut rebuild = rebuild;
    if from > size {
        tracing::warn!(
            catalog = from,
            log = size,
            "the catalog is ahead of the log; rebuilding it"
        );
        rebuild = true;
    } else if from > 0 && Some(reader.root(from, size).map_err(tree)?) != root {
        tracing::warn!(
            catalog = from,
            "the catalog does not match this log; rebuilding it"
        );
        rebuild = true;
    }
    if rebuild {
        catalog.clear()?;
        from = 0;
    }
    *letters = Letters::load(catalog)?;
    if from == size {
        return Ok(());
    }
    tracing::info!(from, to = size, "catching the catalog up with the log");
    let mut range = range_at(reader, from, size)?;
    while from < size {
        let end = (from + CHUNK - from % TILE_WIDTH).min(size);
        let mut pending = BatchView::new(catalog, letters, log_key, &[]);
        for i in from..end {
            let bytes = reader
                .entry(i, size)
                .map_err(Error::internal("reading an entry to replay"))?;
            let entry = Entry::parse(&bytes).map_err(|e| {
                corrupt(format!(
                    "entry {i} in the stored entry bundles is not a valid entry: {e}"
                ))
            })?;
            let leaf = Hash::leaf(&bytes);
            let tile = reader
                .hash_tile(0, i / TILE_WIDTH, size)
                .map_err(Error::internal("reading a level-0 tile to replay"))?;
            if tile.hashes().get((i % TILE_WIDTH) as usize) != Some(&leaf) {
                return Err(corrupt(format!(
                    "entry {i} in the stored entry bundles does not hash to its leaf in \
                     the level-0 hash tile"
                )));
            }
            range.append(leaf, |_, _| {});
            match pending.decide(entry.statement(), leaf, i)? {
                Decision::Append { .. } => {}
                other => {
                    return Err(corrupt(format!(
                        "entry {i} breaks the rules of state on replay: {other:?}"
                    )));
                }
            }
        }
        let root = reader.root(end, size).map_err(tree_err)?;
        if range.root() != root || (end == size && root != head.root) {
            return Err(corrupt(format!(
                "the entries up to {end} give root {}, but the tiles give {root} and the \
                 checkpoint of size {size} says {}",
                range.root(),
                head.root
            )));
        }
        let appended = pending.finish().1;
        catalog.record(&appended, end, &root)?;
        from = end;
    }
    Ok(())
}

fn tree_err(e: Error) -> Error {
    Error::internal("reading the stored tree for the catalog")(e)
}

/// The compact range of the first `size` leaves, from the stored tiles of a tree of
/// `current` leaves.
fn range_at(reader: &TreeReader, size: u64, current: u64) -> Result<CompactRange, Error> {
    let mut hashes = Vec::new();
    for st in CompactRange::subtrees_of(size) {
        hashes.push(reader.subtree_hash(st, size, current).map_err(tree_err)?);
    }
    CompactRange::from_parts(size, hashes)
        .map_err(Error::from)
        .map_err(Error::internal("the catalog's compact range"))
}
