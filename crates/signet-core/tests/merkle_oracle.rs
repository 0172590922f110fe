//! Differential tests of `signet_core::merkle` against implementations that share no code
//! with it: rs_merkle for roots and inclusion paths, and a naive transcription of RFC 9162
//! §2.1's recursive definitions (MTH, PATH, SUBPROOF) for consistency proofs.
//!
//! rs_merkle builds its tree bottom-up: it pairs the nodes of each layer left to right and
//! promotes an unpaired last node unchanged to the layer above (its `Hasher` hashes
//! `(left, None)` to `left`), and it leaves a promoted node out of audit paths. RFC 9162
//! splits a range of n leaves at k, the largest power of two below n. The two shapes are
//! the same: bottom-up pairing makes complete subtrees of every power-of-two width aligned
//! to the left, so the first k leaves (k a power of two) become one subtree before
//! anything to their right is paired across, and the rest (n - k <= k leaves) is built by
//! the same rule, promoted until it meets that subtree at height log2(k). The only thing to
//! add is RFC 9162's domain separation, which the `Rfc9162` hasher below supplies, with
//! leaves pre-hashed as SHA-256(0x00 || entry). The tests check every size from 1 to 2048;
//! no size differs.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use rs_merkle::{Hasher, MerkleTree};
use sha2::{Digest, Sha256};
use signet_core::Hash;
use signet_core::merkle::{
    CompactRange, ProofPlan, Subtree, consistency_plan, inclusion_plan, root_of, root_plan,
    verify_consistency, verify_inclusion,
};

/// rs_merkle's hasher with RFC 9162's interior node hash, SHA-256(0x01 || left || right).
#[derive(Clone)]
struct Rfc9162;

impl Hasher for Rfc9162 {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => Sha256::new()
                .chain_update([1u8])
                .chain_update(left)
                .chain_update(right)
                .finalize()
                .into(),
            // An unpaired node moves up unchanged, as in rs_merkle's default.
            None => *left,
        }
    }
}

/// Leaf hashes computed here, not by `Hash::leaf`: SHA-256(0x00 || "entry-<i>").
fn leaf_bytes(n: usize) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(format!("entry-{i}"))
                .finalize()
                .into()
        })
        .collect()
}

/// Every complete subtree hash of a tree of `leaves`, by level: `levels[l][i]` is the hash
/// of the subtree at level `l`, index `i`. Complete subtrees do not change as a tree grows,
/// so one table serves every smaller tree.
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn new(leaves: &[[u8; 32]]) -> Levels {
        let mut levels = vec![leaves.iter().map(|l| Hash(*l)).collect::<Vec<_>>()];
        while levels.last().unwrap().len() > 1 {
            let below = levels.last().unwrap();
            let above = below
                .chunks_exact(2)
                .map(|p| Hash::node(&p[0], &p[1]))
                .collect();
            levels.push(above);
        }
        Levels(levels)
    }

    fn get(&self, s: Subtree) -> Option<Hash> {
        self.0
            .get(usize::from(s.level))?
            .get(usize::try_from(s.index).ok()?)
            .copied()
    }

    fn assemble(&self, plan: ProofPlan) -> Vec<Hash> {
        plan.assemble(|s| self.get(s)).unwrap()
    }
}

fn hashes(raw: &[[u8; 32]]) -> Vec<Hash> {
    raw.iter().map(|h| Hash(*h)).collect()
}

/// A small deterministic generator (SplitMix64) for sampled sizes and indexes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Checks the inclusion proofs of `indexes` in the tree of the first `size` leaves against
/// rs_merkle's audit paths, and that each verifies against rs_merkle's root.
fn check_inclusion(
    leaves: &[[u8; 32]],
    levels: &Levels,
    size: usize,
    indexes: impl IntoIterator<Item = usize>,
) {
    let tree = MerkleTree::<Rfc9162>::from_leaves(&leaves[..size]);
    let root = Hash(tree.root().unwrap());
    assert_eq!(
        levels.assemble(root_plan(size as u64).unwrap()),
        vec![root],
        "root of {size}"
    );
    for index in indexes {
        let expected = hashes(tree.proof(&[index]).proof_hashes());
        let ours = levels.assemble(inclusion_plan(index as u64, size as u64).unwrap());
        assert_eq!(ours, expected, "index {index} of size {size}");
        assert_eq!(
            verify_inclusion(
                &Hash(leaves[index]),
                index as u64,
                size as u64,
                &ours,
                &root
            ),
            Ok(())
        );
    }
}

#[test]
fn roots_of_every_size_to_2048_match_rs_merkle() {
    let leaves = leaf_bytes(2048);
    let mut range = CompactRange::new();
    for size in 1..=2048 {
        range.append(Hash(leaves[size - 1]), |_, _| {});
        let expected = Hash(
            MerkleTree::<Rfc9162>::from_leaves(&leaves[..size])
                .root()
                .unwrap(),
        );
        assert_eq!(range.root(), expected, "compact range, size {size}");
        assert_eq!(
            root_of(&hashes(&leaves[..size])),
            expected,
            "root_of, size {size}"
        );
    }
}

#[test]
fn every_inclusion_path_to_size_256_matches_rs_merkle() {
    let leaves = leaf_bytes(256);
    let levels = Levels::new(&leaves);
    for size in 1..=256 {
        check_inclusion(&leaves, &levels, size, 0..size);
    }
}

#[test]
fn sampled_inclusion_paths_of_larger_trees_match_rs_merkle() {
    const MAX: usize = 1 << 17;
    let leaves = leaf_bytes(MAX);
    let levels = Levels::new(&leaves);
    let mut rng = Rng(9162);
    let mut sizes = vec![
        257, 511, 512, 513, 1000, 1023, 1024, 1025, 4095, 4097, 65_535, 65_536, 65_537, 100_000,
        MAX,
    ];
    sizes.extend((0..12).map(|_| 257 + rng.below((MAX - 257) as u64) as usize));
    for size in sizes {
        let mut indexes = vec![0, 1, size / 2, size - 2, size - 1];
        indexes.extend((0..usize::BITS).map(|b| 1 << b).filter(|&i| i < size));
        indexes.extend((0..16).map(|_| rng.below(size as u64) as usize));
        check_inclusion(&leaves, &levels, size, indexes);
    }
}

/// RFC 9162 §2.1.1: MTH, computed recursively from the leaf hashes.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            Rfc9162::concat_and_hash(&mth(&leaves[..k]), Some(&mth(&leaves[k..])))
        }
    }
}

/// The largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 §2.1.4.1: SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[[u8; 32]], b: bool) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if m == n {
        return if b { vec![] } else { vec![mth(leaves)] };
    }
    let k = split(n);
    let mut proof;
    if m <= k {
        proof = subproof(m, &leaves[..k], b);
        proof.push(mth(&leaves[k..]));
    } else {
        proof = subproof(m - k, &leaves[k..], false);
        proof.push(mth(&leaves[..k]));
    }
    proof
}

/// Checks the consistency proof from `old` to `size` against RFC 9162's PROOF(m, D[n]),
/// and that it verifies.
fn check_consistency(leaves: &[[u8; 32]], levels: &Levels, old: usize, size: usize) {
    let expected = if old == 0 || old == size {
        vec![]
    } else {
        hashes(&subproof(old, &leaves[..size], true))
    };
    let ours = levels.assemble(consistency_plan(old as u64, size as u64).unwrap());
    assert_eq!(ours, expected, "from {old} to {size}");
    let (old_root, new_root) = (Hash(mth(&leaves[..old])), Hash(mth(&leaves[..size])));
    assert_eq!(
        verify_consistency(old as u64, size as u64, &old_root, &new_root, &ours),
        Ok(()),
        "{old}->{size}"
    );
}

#[test]
fn every_consistency_proof_to_size_128_matches_rfc_9162() {
    let leaves = leaf_bytes(128);
    let levels = Levels::new(&leaves);
    for size in 0..=128 {
        for old in 0..=size {
            check_consistency(&leaves, &levels, old, size);
        }
    }
}

#[test]
fn sampled_consistency_proofs_of_larger_trees_match_rfc_9162() {
    const MAX: usize = 1 << 14;
    let leaves = leaf_bytes(MAX);
    let levels = Levels::new(&leaves);
    let mut rng = Rng(6962);
    let mut pairs = vec![
        (1, MAX),
        (MAX - 1, MAX),
        (1024, 1025),
        (1023, 1024),
        (1025, 4096),
        (3000, 9999),
    ];
    pairs.extend((0..40).map(|_| {
        let size = 129 + rng.below((MAX - 129) as u64) as usize;
        (1 + rng.below(size as u64) as usize, size)
    }));
    for (old, size) in pairs {
        check_consistency(&leaves, &levels, old, size);
    }
}

/// The naive oracle itself reproduces the independent Go values (`testdata/go-x-mod.json`,
/// whose entry i is "leaf-<i>"), so the checks above rest on more than this file's
/// reading of the RFC.
#[test]
fn the_naive_oracle_matches_go() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("testdata/go-x-mod.json")).unwrap();
    let leaves: Vec<[u8; 32]> = (0..1100)
        .map(|i| {
            Sha256::new()
                .chain_update([0u8])
                .chain_update(format!("leaf-{i}"))
                .finalize()
                .into()
        })
        .collect();
    let b64 = |s: &serde_json::Value| Hash::from_base64(s.as_str().unwrap()).unwrap();
    let roots = v["roots"].as_object().unwrap();
    for (size, root) in roots {
        let size: usize = size.parse().unwrap();
        assert_eq!(Hash(mth(&leaves[..size])), b64(root), "root of {size}");
    }
    let cases = v["consistency"].as_array().unwrap();
    for case in cases {
        let (old, size) = (
            case["old"].as_u64().unwrap() as usize,
            case["size"].as_u64().unwrap() as usize,
        );
        let expected: Vec<Hash> = case["hashes"].as_array().unwrap().iter().map(b64).collect();
        assert_eq!(
            hashes(&subproof(old, &leaves[..size], true)),
            expected,
            "{old} -> {size}"
        );
    }
    assert_eq!((roots.len(), cases.len()), (21, 11));
}
