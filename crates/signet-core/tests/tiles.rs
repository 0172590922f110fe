//! C2SP tlog-tiles: the tile paths of `testdata/go-x-mod.json` and of the spec, entry
//! bundles, round-trip properties, and proofs served from hash tiles built as a log
//! builds them.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use proptest::prelude::*;
use signet_core::merkle::{CompactRange, Subtree, consistency_plan, inclusion_plan, root_plan};
use signet_core::tiles::{
    TILE_WIDTH, TileId, TileLevel, locate_subtree, parse_bundle, parse_hash_tile,
    push_bundle_entry, subtree_hash,
};
use signet_core::{Error, Hash};

/// Parses the vectors' `L=<level> N=<index> W=<width>` keys; level -1 is an entry bundle.
fn parse_key(key: &str) -> TileId {
    let fields: Vec<i64> = key.split(' ').map(|f| f[2..].parse().unwrap()).collect();
    let level = if fields[0] < 0 {
        TileLevel::Entries
    } else {
        TileLevel::Hashes(fields[0] as u8)
    };
    TileId {
        level,
        index: fields[1] as u64,
        width: fields[2] as u16,
    }
}

#[test]
fn tile_paths_match_go() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("testdata/go-x-mod.json")).unwrap();
    let paths: BTreeMap<String, String> = serde_json::from_value(v["tile_paths"].clone()).unwrap();
    assert_eq!(paths.len(), 6);
    for (key, path) in &paths {
        let tile = parse_key(key);
        assert_eq!(tile.path(), *path, "{key}");
        assert_eq!(TileId::parse_path(path), Ok(tile), "{key}");
    }
}

#[test]
fn the_spec_example_index() {
    // tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    let tile = TileId {
        level: TileLevel::Hashes(0),
        index: 1_234_067,
        width: 256,
    };
    assert_eq!(tile.path(), "tile/0/x001/x234/067");
    assert_eq!(TileId::parse_path("tile/0/x001/x234/067"), Ok(tile));
    assert!(TileId::parse_path("tile/0/1234067").is_err());
    assert!(TileId::parse_path("tile/0/x1/x234/067").is_err());
}

#[test]
fn the_design_worked_example_bundle() {
    // The worked example of docs/protocol.md: /tile/entries/000.p/2 = 0007 656e7472792d30 0007 656e7472792d31.
    let mut bundle = Vec::new();
    push_bundle_entry(&mut bundle, b"entry-0").unwrap();
    push_bundle_entry(&mut bundle, b"entry-1").unwrap();
    assert_eq!(hex::encode(&bundle), "0007656e7472792d300007656e7472792d31");
    let tile = TileId::in_tree(TileLevel::Entries, 0, 2).unwrap();
    assert_eq!(tile.path(), "tile/entries/000.p/2");
    let entries = parse_bundle(&bundle).unwrap();
    assert_eq!(entries, [&b"entry-0"[..], b"entry-1"]);
    let leaves: Vec<String> = entries
        .iter()
        .map(|e| Hash::leaf(e).to_hex()[..8].to_owned())
        .collect();
    assert_eq!(leaves, ["40766b20", "e868811a"]);
}

/// A log of `LOG_SIZE` leaves as the server stores it: for each tile level, the hashes of
/// its tree level in order, as `CompactRange::append` reports them complete.
const LOG_SIZE: u64 = 70_000;

fn stored_levels() -> &'static HashMap<u8, Vec<Hash>> {
    static STORED: OnceLock<HashMap<u8, Vec<Hash>>> = OnceLock::new();
    STORED.get_or_init(|| {
        let mut stored: HashMap<u8, Vec<Hash>> = HashMap::new();
        let mut range = CompactRange::new();
        for i in 0..LOG_SIZE {
            range.append(Hash::leaf(format!("e{i}").as_bytes()), |s, h| {
                if s.level % 8 == 0 {
                    let level = stored.entry(s.level / 8).or_default();
                    assert_eq!(level.len() as u64, s.index);
                    level.push(*h);
                }
            });
        }
        stored
    })
}

/// The bytes of `tile` as a log of `LOG_SIZE` leaves serves it.
fn tile_bytes(tile: TileId) -> Vec<u8> {
    let TileLevel::Hashes(level) = tile.level else {
        panic!("not a hash tile")
    };
    let start = (tile.index * TILE_WIDTH) as usize;
    let hashes = &stored_levels()[&level][start..start + usize::from(tile.width)];
    hashes.iter().flat_map(|h| h.0).collect()
}

/// A subtree's hash read the way the server reads it: from the tile `locate_subtree`
/// names as of `size`.
fn from_tiles(s: Subtree, size: u64) -> Option<Hash> {
    let (tile, run) = locate_subtree(s, size).unwrap();
    assert!(tile.covered_by(size));
    let hashes = parse_hash_tile(&tile_bytes(tile), tile.width).unwrap();
    Some(subtree_hash(&hashes, run).unwrap())
}

/// The same hash from a table of every complete subtree's hash, built by hashing the
/// leaves in pairs, level by level.
fn from_leaves(s: Subtree) -> Option<Hash> {
    static LEVELS: OnceLock<Vec<Vec<Hash>>> = OnceLock::new();
    let levels = LEVELS.get_or_init(|| {
        let leaves = (0..LOG_SIZE)
            .map(|i| Hash::leaf(format!("e{i}").as_bytes()))
            .collect();
        let mut levels: Vec<Vec<Hash>> = vec![leaves];
        while levels.last().unwrap().len() > 1 {
            let above = levels
                .last()
                .unwrap()
                .chunks_exact(2)
                .map(|p| Hash::node(&p[0], &p[1]))
                .collect();
            levels.push(above);
        }
        levels
    });
    levels
        .get(usize::from(s.level))?
        .get(s.index as usize)
        .copied()
}

#[test]
fn every_tile_of_the_spec_example_size() {
    // tlog-tiles: a tree of 70,000 leaves has 273 full level-0 tiles and one of width
    // 112, a full level-1 tile and one of width 17, and a level-2 tile of width 1.
    let widths = |level| {
        (0..)
            .map_while(|i| TileId::in_tree(level, i, LOG_SIZE))
            .map(|t| t.width)
            .collect::<Vec<_>>()
    };
    let mut level0 = vec![256; 273];
    level0.push(112);
    assert_eq!(widths(TileLevel::Hashes(0)), level0);
    assert_eq!(widths(TileLevel::Entries), level0);
    assert_eq!(widths(TileLevel::Hashes(1)), [256, 17]);
    assert_eq!(widths(TileLevel::Hashes(2)), [1]);
    assert_eq!(widths(TileLevel::Hashes(3)), [0u16; 0]);
    // The stored levels hold exactly those hashes.
    assert_eq!(stored_levels()[&0].len(), 273 * 256 + 112);
    assert_eq!(stored_levels()[&1].len(), 256 + 17);
    assert_eq!(stored_levels()[&2].len(), 1);
}

/// Any valid tile: an entry bundle or a hash tile of level 0..=63, any index, any width.
fn tile_id() -> impl Strategy<Value = TileId> {
    let level = prop_oneof![
        Just(TileLevel::Entries),
        (0..=63u8).prop_map(TileLevel::Hashes)
    ];
    let index = prop_oneof![any::<u64>(), 0..2000u64];
    let width = prop_oneof![1..=256u16, Just(256)];
    (level, index, width).prop_map(|(level, index, width)| TileId {
        level,
        index,
        width,
    })
}

fn size() -> impl Strategy<Value = u64> {
    prop_oneof![1..=LOG_SIZE, 1..=600u64, (65_530..=LOG_SIZE)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_from_tiles_equal_proofs_from_leaves((old, size) in size().prop_flat_map(|s| (0..=s, Just(s)))) {
        let index = old.min(size - 1);
        for plan in [root_plan(size).unwrap(), inclusion_plan(index, size).unwrap(), consistency_plan(old, size).unwrap()] {
            let tiled = plan.assemble(|s| from_tiles(s, size)).unwrap();
            prop_assert_eq!(tiled, plan.assemble(from_leaves).unwrap());
        }
    }

    #[test]
    fn tile_ids_round_trip(tile in tile_id()) {
        prop_assert_eq!(TileId::parse_path(&tile.path()), Ok(tile));
    }

    #[test]
    fn accepted_paths_have_one_encoding(
        tile in tile_id(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, prop::sample::select(&b"0129x/.p-"[..])), 1..3),
    ) {
        // Near misses of a valid path: a character or two inserted, removed or replaced.
        let mut path = tile.path().into_bytes();
        for (at, op, c) in edits {
            let at = at.index(path.len() + 1);
            match op {
                0 => path.insert(at, c),
                1 if at < path.len() => { path.remove(at); }
                _ if at < path.len() => path[at] = c,
                _ => path.push(c),
            }
        }
        let path = String::from_utf8(path).unwrap();
        if let Ok(parsed) = TileId::parse_path(&path) {
            prop_assert_eq!(parsed.path(), path);
        }
    }

    #[test]
    fn arbitrary_paths_never_panic(path in "\\PC{0,40}") {
        if let Ok(tile) = TileId::parse_path(&path) {
            prop_assert_eq!(tile.path(), path);
        }
    }

    #[test]
    fn tiles_are_covered_from_the_size_that_fills_them(
        level in prop_oneof![Just(TileLevel::Entries), (0..=3u8).prop_map(TileLevel::Hashes)],
        index in 0..1000u64,
        width in 1..=256u16,
        size in any::<u32>(),
    ) {
        let shift = match level { TileLevel::Entries => 0, TileLevel::Hashes(l) => 8 * u32::from(l) };
        let needed = (u128::from(index) * 256 + u128::from(width)) << shift;
        let tile = TileId { level, index, width };
        prop_assert_eq!(tile.covered_by(u64::from(size)), u128::from(size) >= needed);
        if let Some(t) = TileId::in_tree(level, index, u64::from(size)) {
            prop_assert!(t.covered_by(u64::from(size)));
            prop_assert_eq!(t.is_full(), u64::from(t.width) == TILE_WIDTH);
        }
    }

    #[test]
    fn bundles_round_trip(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)) {
        let mut bundle = Vec::new();
        let mut boundaries = vec![0];
        for entry in &entries {
            push_bundle_entry(&mut bundle, entry).unwrap();
            boundaries.push(bundle.len());
        }
        let parsed = parse_bundle(&bundle).unwrap();
        prop_assert_eq!(&parsed, &entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        // Cutting the bundle anywhere but between entries leaves a truncated entry.
        for cut in 0..bundle.len() {
            let got = parse_bundle(&bundle[..cut]);
            if boundaries.contains(&cut) {
                prop_assert!(got.is_ok());
            } else {
                prop_assert!(matches!(got, Err(Error::Malformed { what: "entry bundle", .. })), "cut at {}", cut);
            }
        }
    }
}
