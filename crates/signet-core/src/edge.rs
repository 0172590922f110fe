//! The right edge of a tlog-tiles tree, and the one way tiles are built.
//!
//! An [`Edge`] holds what an appender needs and nothing more: the compact range of the
//! tree (one hash per complete subtree), the hashes of the partial hash tile of every
//! level, and the partial entry bundle. [`Edge::append`] is pure: it returns the new edge
//! and every tile the append changed (each tile that became full, and the new partial
//! tile of each level that changed). The log's sequencer writes those tiles to storage;
//! tests and benchmarks that need a log on disk build it the same way.

use crate::merkle::Subtree;
use crate::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileLevel};
use crate::{CompactRange, Error, Hash, TileId};

/// The right edge of a tree of tiles.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    range: CompactRange,
    /// `hashes[L]`: the hashes of the partial hash tile of level `L` (fewer than 256).
    hashes: Vec<Vec<Hash>>,
    /// The partial entry bundle's bytes and its number of entries.
    bundle: Vec<u8>,
    bundle_len: u64,
}

/// What [`Edge::append`] produced.
#[derive(Debug)]
pub struct Append {
    /// The edge after the append.
    pub edge: Edge,
    /// Every tile to write, as its path's coordinates and its bytes.
    pub tiles: Vec<(TileId, Vec<u8>)>,
    /// The hash tiles among them, as hashes (for a reader's cache).
    pub hash_tiles: Vec<(TileId, Vec<Hash>)>,
    /// The full tiles written, whose partial versions may go once a checkpoint covering
    /// them is durable.
    pub full: Vec<TileId>,
}

impl Edge {
    /// The edge of the empty tree.
    pub fn new() -> Edge {
        Edge::default()
    }

    /// The edge of a stored tree, from its compact range, the hashes of each level's
    /// partial hash tile (an empty list for a level whose last tile is full), and the
    /// partial entry bundle's entries. Refuses parts that do not fit together.
    pub fn from_parts(
        range: CompactRange,
        partial_hashes: Vec<Vec<Hash>>,
        partial_bundle: &[&[u8]],
    ) -> Result<Edge, Error> {
        let size = range.size();
        for (level, hashes) in partial_hashes.iter().enumerate() {
            let count = size
                .checked_shr(level as u32 * u32::from(TILE_HEIGHT))
                .unwrap_or(0);
            if hashes.len() as u64 != count % TILE_WIDTH {
                return Err(Error::OutOfRange(format!(
                    "the partial hash tile of level {level} has {} hashes; a tree of size \
                     {size} needs {}",
                    hashes.len(),
                    count % TILE_WIDTH
                )));
            }
        }
        if partial_bundle.len() as u64 != size % TILE_WIDTH {
            return Err(Error::OutOfRange(format!(
                "the partial entry bundle has {} entries; a tree of size {size} needs {}",
                partial_bundle.len(),
                size % TILE_WIDTH
            )));
        }
        let mut bundle = Vec::new();
        for e in partial_bundle {
            tiles::push_bundle_entry(&mut bundle, e)?;
        }
        Ok(Edge {
            range,
            hashes: partial_hashes,
            bundle,
            bundle_len: partial_bundle.len() as u64,
        })
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The tree's root hash.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// The compact range.
    pub fn range(&self) -> &CompactRange {
        &self.range
    }

    /// Appends entries to a copy of the edge and returns it with the tiles to write.
    pub fn append(&self, entries: &[&[u8]]) -> Result<Append, Error> {
        let mut edge = self.clone();
        let mut tiles_out = Vec::new();
        let mut hash_tiles = Vec::new();
        let mut full = Vec::new();
        let mut changed = vec![false; edge.hashes.len()];
        let mut bundle_changed = false;
        for entry in entries {
            let index = edge.range.size();
            tiles::push_bundle_entry(&mut edge.bundle, entry)?;
            edge.bundle_len += 1;
            bundle_changed = true;
            if edge.bundle_len == TILE_WIDTH {
                let tile = TileId {
                    level: TileLevel::Entries,
                    index: index / TILE_WIDTH,
                    width: TILE_WIDTH as u16,
                };
                tiles_out.push((tile, std::mem::take(&mut edge.bundle)));
                full.push(tile);
                edge.bundle_len = 0;
                bundle_changed = false;
            }
            let hashes = &mut edge.hashes;
            edge.range
                .append(Hash::leaf(entry), |st: Subtree, h: &Hash| {
                    if !st.level.is_multiple_of(TILE_HEIGHT) {
                        return;
                    }
                    let level = usize::from(st.level / TILE_HEIGHT);
                    if hashes.len() <= level {
                        hashes.resize(level + 1, Vec::new());
                        changed.resize(level + 1, false);
                    }
                    hashes[level].push(*h);
                    changed[level] = true;
                    if hashes[level].len() as u64 == TILE_WIDTH {
                        let tile = TileId {
                            level: TileLevel::Hashes(level as u8),
                            index: st.index / TILE_WIDTH,
                            width: TILE_WIDTH as u16,
                        };
                        let done = std::mem::take(&mut hashes[level]);
                        tiles_out.push((tile, hash_bytes(&done)));
                        hash_tiles.push((tile, done));
                        full.push(tile);
                        changed[level] = false;
                    }
                });
        }
        let size = edge.range.size();
        for (level, hashes) in edge.hashes.iter().enumerate() {
            if !changed.get(level).copied().unwrap_or(false) || hashes.is_empty() {
                continue;
            }
            let count = size >> (level as u32 * u32::from(TILE_HEIGHT));
            let tile = TileId {
                level: TileLevel::Hashes(level as u8),
                index: count / TILE_WIDTH,
                width: (count % TILE_WIDTH) as u16,
            };
            debug_assert_eq!(usize::from(tile.width), hashes.len());
            tiles_out.push((tile, hash_bytes(hashes)));
            hash_tiles.push((tile, hashes.clone()));
        }
        if bundle_changed && edge.bundle_len > 0 {
            let tile = TileId {
                level: TileLevel::Entries,
                index: size / TILE_WIDTH,
                width: edge.bundle_len as u16,
            };
            tiles_out.push((tile, edge.bundle.clone()));
        }
        Ok(Append {
            edge,
            tiles: tiles_out,
            hash_tiles,
            full,
        })
    }
}

/// The bytes of a hash tile: the hashes, concatenated.
pub fn hash_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * 32);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]
mod tests {
    use super::*;

    /// Appending in any split of batches gives the same edge and the same final tiles,
    /// and the edge rebuilt from its parts appends like the original.
    #[test]
    fn batches_do_not_change_the_tree() {
        fn check(total: usize, split: usize) {
            let entries: Vec<Vec<u8>> = (0..total).map(|i| format!("e{i}").into_bytes()).collect();
            let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
            let whole = Edge::new().append(&refs).unwrap();
            let mut edge = Edge::new();
            let mut last = std::collections::BTreeMap::new();
            for chunk in refs.chunks(split) {
                let a = edge.append(chunk).unwrap();
                for (t, b) in a.tiles {
                    last.insert(t.path(), b);
                }
                edge = a.edge;
            }
            assert_eq!(
                edge.root(),
                whole.edge.root(),
                "total {total} split {split}"
            );
            assert_eq!(
                edge.root(),
                crate::merkle::root_of(&refs.iter().map(|e| Hash::leaf(e)).collect::<Vec<_>>())
            );
            for (t, b) in &whole.tiles {
                assert_eq!(last.get(&t.path()), Some(b), "tile {} differs", t.path());
            }
            let rebuilt = Edge::from_parts(
                edge.range.clone(),
                edge.hashes.clone(),
                &refs[total - total % 256..],
            )
            .unwrap();
            let more: &[&[u8]] = &[b"next"];
            assert_eq!(
                rebuilt.append(more).unwrap().edge.root(),
                edge.append(more).unwrap().edge.root()
            );
        }
        for (total, split) in [
            (1, 1),
            (255, 7),
            (256, 256),
            (257, 3),
            (600, 100),
            (70_000, 4096),
        ] {
            check(total, split);
        }
    }

    #[test]
    fn from_parts_refuses_parts_that_do_not_fit() {
        let a = Edge::new().append(&[b"a", b"b"]).unwrap().edge;
        let err = Edge::from_parts(a.range.clone(), a.hashes.clone(), &[b"a"]).unwrap_err();
        assert!(err.to_string().contains("needs 2"), "{err}");
        let err = Edge::from_parts(a.range.clone(), vec![vec![]], &[b"a", b"b"]).unwrap_err();
        assert!(err.to_string().contains("level 0"), "{err}");
    }
}
