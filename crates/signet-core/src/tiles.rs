//! C2SP tlog-tiles: tile coordinates and paths, which tile holds a subtree's hash, and
//! entry bundles.

use std::ops::Range;

use crate::merkle::Subtree;
use crate::{Error, Hash};

/// Tile height: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u8 = 8;
/// The number of hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// The highest tile level a path may name (tlog-tiles: "between 0 and 63").
const MAX_TILE_LEVEL: u8 = 63;

/// Which kind of tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    /// An entry bundle (`tile/entries/...`, level -1 in Go's x/mod).
    Entries,
    /// A hash tile of level `L` (`tile/<L>/...`), holding tree hashes of level `8 * L`.
    Hashes(u8),
}

impl TileLevel {
    /// The tree level of the hashes (or, for entries, the leaves) this kind of tile holds.
    fn tree_level(self) -> u32 {
        match self {
            TileLevel::Entries => 0,
            TileLevel::Hashes(l) => u32::from(l) * u32::from(TILE_HEIGHT),
        }
    }
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
        use std::fmt::Write as _;
        let mut path = String::with_capacity(40);
        // Writing to a String cannot fail.
        let _ = match self.level {
            TileLevel::Entries => write!(path, "tile/entries/"),
            TileLevel::Hashes(l) => write!(path, "tile/{l}/"),
        };
        // Split the index into 3-digit groups, most significant first; a u64 has at most
        // 20 digits, so 7 groups.
        let mut groups = [0u16; 7];
        let mut count = 0;
        let mut rest = self.index;
        loop {
            groups[count] = (rest % 1000) as u16;
            count += 1;
            rest /= 1000;
            if rest == 0 {
                break;
            }
        }
        for (i, group) in groups[..count].iter().rev().enumerate() {
            let _ = if i + 1 < count {
                write!(path, "x{group:03}/")
            } else {
                write!(path, "{group:03}")
            };
        }
        if !self.is_full() {
            let _ = write!(path, ".p/{}", self.width);
        }
        path
    }

    /// Parses a path made by [`TileId::path`], strictly: exactly one encoding per tile is
    /// accepted (3-digit groups, `x` on all but the last, no leading group of zeros,
    /// `.p/<W>` with W in 1..=255).
    pub fn parse_path(path: &str) -> Result<TileId, Error> {
        let bad = |reason: &str| Error::malformed("tile path", format!("{reason} in {path:?}"));
        let mut segments = path.split('/');
        if segments.next() != Some("tile") {
            return Err(bad("no leading \"tile/\""));
        }
        let level = match segments.next() {
            Some("entries") => TileLevel::Entries,
            Some(l) => match parse_decimal(l, 2) {
                Some(l) if l <= u64::from(MAX_TILE_LEVEL) => TileLevel::Hashes(l as u8),
                _ => return Err(bad("a level that is not \"entries\" or 0..=63")),
            },
            None => return Err(bad("no level")),
        };
        let mut index: u64 = 0;
        let mut groups = 0;
        let mut width = None;
        loop {
            let Some(segment) = segments.next() else {
                return Err(bad("no tile index"));
            };
            // Every group but the last starts with "x"; the last may carry ".p".
            let (digits, last) = match segment.strip_prefix('x') {
                Some(digits) => (digits, false),
                None => match segment.strip_suffix(".p") {
                    Some(digits) => {
                        let w = segments.next().and_then(|w| parse_decimal(w, 3));
                        match w {
                            Some(w @ 1..=255) => width = Some(w as u16),
                            _ => return Err(bad("a partial width that is not 1..=255")),
                        }
                        (digits, true)
                    }
                    None => (segment, true),
                },
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("an index group that is not 3 digits"));
            }
            let group = digits
                .bytes()
                .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
            if groups == 0 && group == 0 && !last {
                return Err(bad("a leading group of zeros"));
            }
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(group))
                .ok_or_else(|| bad("an index that does not fit in 64 bits"))?;
            groups += 1;
            if last {
                break;
            }
        }
        if segments.next().is_some() {
            return Err(bad("trailing segments"));
        }
        let width = width.unwrap_or(TILE_WIDTH as u16);
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    /// The tile at `level` and `index` as it stands in a tree of `tree_size` leaves, or
    /// `None` when that tree does not reach it.
    pub fn in_tree(level: TileLevel, index: u64, tree_size: u64) -> Option<TileId> {
        if let TileLevel::Hashes(l) = level
            && l > MAX_TILE_LEVEL
        {
            return None;
        }
        // How many hashes of this tile's tree level a tree of `tree_size` has: its complete
        // subtrees of that level. A partial tile is never hashed into the level above.
        let available = tree_size.checked_shr(level.tree_level()).unwrap_or(0);
        let start = index.checked_mul(TILE_WIDTH)?;
        let width = available
            .checked_sub(start)
            .filter(|&w| w > 0)?
            .min(TILE_WIDTH);
        // `width` is at most TILE_WIDTH (256), so it fits in a u16.
        Some(TileId {
            level,
            index,
            width: width as u16,
        })
    }

    /// True when a tree of `tree_size` leaves covers this tile at exactly this width or
    /// has grown past it (a partial tile of an older size stays valid data).
    pub fn covered_by(&self, tree_size: u64) -> bool {
        if self.width == 0 || u64::from(self.width) > TILE_WIDTH {
            return false;
        }
        TileId::in_tree(self.level, self.index, tree_size).is_some_and(|t| t.width >= self.width)
    }
}

/// Parses an ASCII decimal number of at most `max_digits` digits with no leading zeros
/// ("0" itself is fine).
fn parse_decimal(s: &str, max_digits: usize) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.len() <= max_digits
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')))
}

/// Where a subtree's hash lives: the tile (as of `tree_size`) and the run of hashes
/// inside it whose root is the subtree's hash (a run of 1 is the hash itself).
pub fn locate_subtree(subtree: Subtree, tree_size: u64) -> Result<(TileId, Range<usize>), Error> {
    let Subtree { level, index } = subtree;
    // The subtree must be complete in the tree: its last leaf is below `tree_size`. u128
    // keeps the end of any subtree (up to 2^64 leaves) exact.
    let end = u128::from(index).checked_add(1).map(|i| i << level.min(64));
    if level >= 64 || end.is_none_or(|end| end > u128::from(tree_size)) {
        return Err(Error::OutOfRange(format!(
            "the subtree at level {level} index {index} is not complete in a tree of size {tree_size}"
        )));
    }
    let tile_level = level / TILE_HEIGHT;
    let rise = level % TILE_HEIGHT;
    // The subtree spans the 2^rise hashes of tree level 8 * tile_level under it; it is
    // complete, so `index << rise` does not overflow.
    let first = index << rise;
    let tile_index = first / TILE_WIDTH;
    let offset = (first % TILE_WIDTH) as usize;
    let run = 1usize << rise;
    match TileId::in_tree(TileLevel::Hashes(tile_level), tile_index, tree_size) {
        Some(tile) if offset + run <= usize::from(tile.width) => Ok((tile, offset..offset + run)),
        // Unreachable for a complete subtree; kept as an error rather than a panic.
        _ => Err(Error::OutOfRange(format!(
            "no tile holds the subtree at level {level} index {index} in a tree of size {tree_size}"
        ))),
    }
}

/// Splits a hash tile's bytes into hashes; `width` must match the length.
pub fn parse_hash_tile(data: &[u8], width: u16) -> Result<Vec<Hash>, Error> {
    if width == 0 || u64::from(width) > TILE_WIDTH {
        return Err(Error::malformed(
            "hash tile",
            format!("width {width} is not in 1..=256"),
        ));
    }
    if data.len() != usize::from(width) * 32 {
        return Err(Error::malformed(
            "hash tile",
            format!("{} bytes is not {width} hashes of 32 bytes", data.len()),
        ));
    }
    Ok(data
        .chunks_exact(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(chunk);
            Hash(hash)
        })
        .collect())
}

/// The root of the run `range` of hashes (a power of two in length, aligned), as
/// returned by [`locate_subtree`].
pub fn subtree_hash(hashes: &[Hash], range: Range<usize>) -> Result<Hash, Error> {
    let len = range.end.saturating_sub(range.start);
    if !len.is_power_of_two() || !range.start.is_multiple_of(len) || range.end > hashes.len() {
        return Err(Error::OutOfRange(format!(
            "hashes {}..{} of {} are not an aligned run of a power of two",
            range.start,
            range.end,
            hashes.len()
        )));
    }
    let mut level: Vec<Hash> = hashes[range].to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| Hash::node(&pair[0], &pair[1]))
            .collect();
    }
    // The run is not empty (its length is a power of two), so one hash remains.
    level
        .first()
        .copied()
        .ok_or_else(|| Error::OutOfRange("empty run of hashes".into()))
}

/// Appends one entry to an entry bundle: a big-endian uint16 length, then the bytes.
/// Entries longer than 65,535 bytes cannot be bundled.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(entry.len()).map_err(|_| {
        Error::OutOfRange(format!(
            "an entry of {} bytes is too long for an entry bundle (at most 65535)",
            entry.len()
        ))
    })?;
    bundle.reserve(2 + entry.len());
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries, refusing truncated or trailing bytes.
pub fn parse_bundle(data: &[u8]) -> Result<Vec<&[u8]>, Error> {
    Ok(bundle_spans(data)?.into_iter().map(|s| &data[s]).collect())
}

/// Where each entry of an entry bundle lies in its bytes (after its length prefix), for
/// a reader that keeps the bytes whole; refuses truncated or trailing bytes as
/// [`parse_bundle`] does.
pub fn bundle_spans(data: &[u8]) -> Result<Vec<std::ops::Range<usize>>, Error> {
    let mut spans = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let Some(&[hi, lo]) = data.get(at..at + 2) else {
            return Err(Error::malformed(
                "entry bundle",
                format!("truncated length prefix at byte {at}"),
            ));
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let start = at + 2;
        let remain = data.len() - start;
        if remain < len {
            return Err(Error::malformed(
                "entry bundle",
                format!(
                    "entry {} claims {len} bytes but only {remain} remain",
                    spans.len()
                ),
            ));
        }
        at = start + len;
        spans.push(start..at);
    }
    Ok(spans)
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn tile(level: i8, index: u64, width: u16) -> TileId {
        let level = if level < 0 {
            TileLevel::Entries
        } else {
            TileLevel::Hashes(level as u8)
        };
        TileId {
            level,
            index,
            width,
        }
    }

    /// Checks that `path` is the one encoding of `expected`, or that it is refused.
    fn check(path: &str, expected: Option<TileId>) {
        match expected {
            Some(t) => {
                assert_eq!(TileId::parse_path(path), Ok(t), "{path}");
                assert_eq!(t.path(), path);
            }
            None => assert!(
                matches!(
                    TileId::parse_path(path),
                    Err(Error::Malformed {
                        what: "tile path",
                        ..
                    })
                ),
                "{path} was accepted"
            ),
        }
    }

    #[test]
    fn paths() {
        check("tile/0/x001/x234/067", Some(tile(0, 1_234_067, 256)));
        check("tile/0/x001/x234/067.p/8", Some(tile(0, 1_234_067, 8)));
        check(
            "tile/entries/x001/x234/067.p/7",
            Some(tile(-1, 1_234_067, 7)),
        );
        check("tile/0/000", Some(tile(0, 0, 256)));
        check("tile/0/000.p/1", Some(tile(0, 0, 1)));
        check("tile/0/000.p/255", Some(tile(0, 0, 255)));
        check("tile/63/999", Some(tile(63, 999, 256)));
        check("tile/10/x001/000", Some(tile(10, 1000, 256)));
        check("tile/1/x001/x000/000", Some(tile(1, 1_000_000, 256)));
        check("tile/entries/000", Some(tile(-1, 0, 256)));
        check(
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            Some(tile(0, u64::MAX, 256)),
        );

        for bad in [
            "",
            "/tile/0/000",
            "tile/0/000/",
            "tile//000",
            "tile/0//000",
            "tile/0",
            "tile/0/",
            "tiles/0/000",
            "Tile/0/000",
            "tile/64/000",
            "tile/00/000",
            "tile/01/000",
            "tile/-1/000",
            "tile/+1/000",
            "tile/x/000",
            "tile/entry/000",
            "tile/0/0",
            "tile/0/00",
            "tile/0/0000",
            "tile/0/1234",
            "tile/0/x000/001",
            "tile/0/x000/x001/000",
            "tile/0/x001",
            "tile/0/001/002",
            "tile/0/x001/x02/003",
            "tile/0/X001/002",
            "tile/0/x-01/002",
            "tile/0/+01",
            "tile/0/ 01",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/01",
            "tile/0/000.p/",
            "tile/0/000.p",
            "tile/0/000.p/5/",
            "tile/0/000.p/5/6",
            "tile/0/000.p/1000",
            "tile/0/000.q/5",
            "tile/0/000/.p/5",
            "tile/0/x000.p/5",
            "tile/0/../000",
            "tile/0/x001/../000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
            "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
            "tile/0/٠٠٠",
        ] {
            check(bad, None);
        }
    }

    #[test]
    fn tiles_in_a_tree() {
        // tlog-tiles: a tree of 70,000 leaves has 273 full level-0 tiles, a partial one of
        // width 112, a full level-1 tile, a partial one of width 17 and a partial level-2
        // tile of width 1; a tree of 256 a full level-0 tile and a level-1 tile of width 1.
        let cases: [(i8, u64, u64, Option<u16>); 16] = [
            (0, 272, 70_000, Some(256)),
            (0, 273, 70_000, Some(112)),
            (0, 274, 70_000, None),
            (-1, 273, 70_000, Some(112)),
            (1, 0, 70_000, Some(256)),
            (1, 1, 70_000, Some(17)),
            (1, 2, 70_000, None),
            (2, 0, 70_000, Some(1)),
            (3, 0, 70_000, None),
            (0, 0, 256, Some(256)),
            (1, 0, 256, Some(1)),
            (0, 1, 256, None),
            (0, 0, 0, None),
            (7, 0, u64::MAX, Some(255)),
            (8, 0, u64::MAX, None),
            (0, u64::MAX, u64::MAX, None),
        ];
        for (level, index, size, width) in cases {
            let t = tile(level, index, 0).level;
            assert_eq!(
                TileId::in_tree(t, index, size).map(|t| t.width),
                width,
                "{level}/{index} in {size}"
            );
        }
        assert_eq!(TileId::in_tree(TileLevel::Hashes(64), 0, u64::MAX), None);
    }

    #[test]
    fn coverage() {
        let cases: [(TileId, u64, bool); 9] = [
            (tile(0, 0, 5), 4, false),
            (tile(0, 0, 5), 5, true),
            (tile(0, 0, 5), 6, true),
            (tile(0, 0, 256), 255, false),
            (tile(0, 0, 256), 1000, true),
            (tile(1, 0, 2), 511, false),
            (tile(1, 0, 2), 512, true),
            (tile(0, 0, 0), 1000, false),
            (tile(0, 0, 257), 1000, false),
        ];
        for (t, size, covered) in cases {
            assert_eq!(t.covered_by(size), covered, "{t:?} in {size}");
        }
    }

    #[test]
    fn subtree_locations() {
        type Location = Option<(TileId, Range<usize>)>;
        let cases: [(u8, u64, u64, Location); 11] = [
            (0, 0, 1, Some((tile(0, 0, 1), 0..1))),
            (0, 1000, 1001, Some((tile(0, 3, 233), 232..233))),
            (3, 1, 70_000, Some((tile(0, 0, 256), 8..16))),
            (7, 3, 70_000, Some((tile(0, 1, 256), 128..256))),
            (8, 0, 256, Some((tile(1, 0, 1), 0..1))),
            (9, 1, 70_000, Some((tile(1, 0, 256), 2..4))),
            (16, 0, 70_000, Some((tile(2, 0, 1), 0..1))),
            (16, 1, 70_000, None),
            (63, 0, u64::MAX, Some((tile(7, 0, 255), 0..128))),
            (0, 1, 1, None),
            (3, 1, 15, None),
        ];
        for (level, index, size, expected) in cases {
            let got = locate_subtree(Subtree { level, index }, size);
            match expected {
                Some(e) => assert_eq!(got, Ok(e), "level {level} index {index} in {size}"),
                None => assert!(matches!(got, Err(Error::OutOfRange(_)))),
            }
        }
        assert!(
            locate_subtree(
                Subtree {
                    level: 64,
                    index: 0
                },
                u64::MAX
            )
            .is_err()
        );
        assert!(
            locate_subtree(
                Subtree {
                    level: 1,
                    index: u64::MAX
                },
                u64::MAX
            )
            .is_err()
        );
    }

    #[test]
    fn runs_of_hashes() {
        let h: Vec<Hash> = (0..8u8).map(|i| Hash::leaf(&[i])).collect();
        assert_eq!(subtree_hash(&h, 3..4), Ok(h[3]));
        assert_eq!(subtree_hash(&h, 2..4), Ok(Hash::node(&h[2], &h[3])));
        let four = Hash::node(&Hash::node(&h[4], &h[5]), &Hash::node(&h[6], &h[7]));
        assert_eq!(subtree_hash(&h, 4..8), Ok(four));
        for bad in [3..5, 1..3, 0..3, 4..4, 0..16, 8..9] {
            assert!(
                matches!(subtree_hash(&h, bad.clone()), Err(Error::OutOfRange(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hash_tiles() {
        let bytes: Vec<u8> = (0..64u8).collect();
        let hashes = parse_hash_tile(&bytes, 2).unwrap();
        assert_eq!(hashes[1].0[0], 32);
        for (len, width) in [(64, 1), (64, 3), (63, 2), (0, 0), (8224, 257)] {
            let data = vec![0u8; len];
            assert!(
                matches!(parse_hash_tile(&data, width), Err(Error::Malformed { .. })),
                "{len} {width}"
            );
        }
        assert_eq!(parse_hash_tile(&[0u8; 8192], 256).map(|h| h.len()), Ok(256));
    }

    #[test]
    fn bundles() {
        let mut bundle = Vec::new();
        for entry in [&b"entry-0"[..], b"", b"entry-1"] {
            push_bundle_entry(&mut bundle, entry).unwrap();
        }
        assert_eq!(bundle, b"\x00\x07entry-0\x00\x00\x00\x07entry-1");
        assert_eq!(
            parse_bundle(&bundle),
            Ok(vec![&b"entry-0"[..], b"", b"entry-1"])
        );
        assert_eq!(parse_bundle(b""), Ok(vec![]));
        for bad in [
            &b"\x00"[..],
            b"\x00\x07entry-",
            b"\x00\x01a\x00",
            b"\x00\x01ab",
            b"\xff\xff",
        ] {
            assert!(
                matches!(
                    parse_bundle(bad),
                    Err(Error::Malformed {
                        what: "entry bundle",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        let mut bundle = Vec::new();
        assert!(push_bundle_entry(&mut bundle, &[0; 65_536]).is_err());
        assert!(bundle.is_empty());
        push_bundle_entry(&mut bundle, &[7; 65_535]).unwrap();
        assert_eq!(parse_bundle(&bundle).map(|e| e[0].len()), Ok(65_535));
    }
}
