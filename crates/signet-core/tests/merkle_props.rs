//! Property tests for RFC 9162 proofs and compact ranges: every generated proof verifies,
//! and any single flipped bit (in a proof hash, the leaf, a root or the index) makes
//! verification fail.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::sync::OnceLock;

use proptest::prelude::*;
use signet_core::Hash;
use signet_core::merkle::{
    CompactRange, ProofPlan, Subtree, consistency_plan, inclusion_plan, root_of, root_plan,
    verify_consistency, verify_inclusion,
};

/// The largest tree the properties draw from.
const MAX: u64 = 4096;

/// Every complete subtree hash of a log of `MAX` leaves, by level.
fn levels() -> &'static Vec<Vec<Hash>> {
    static LEVELS: OnceLock<Vec<Vec<Hash>>> = OnceLock::new();
    LEVELS.get_or_init(|| {
        let mut levels = vec![
            (0..MAX)
                .map(|i| Hash::leaf(format!("entry {i}").as_bytes()))
                .collect::<Vec<_>>(),
        ];
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
    })
}

fn lookup(s: Subtree) -> Option<Hash> {
    levels()
        .get(usize::from(s.level))?
        .get(usize::try_from(s.index).ok()?)
        .copied()
}

fn assemble(plan: ProofPlan) -> Vec<Hash> {
    plan.assemble(lookup).unwrap()
}

fn leaf(index: u64) -> Hash {
    levels()[0][index as usize]
}

fn root(size: u64) -> Hash {
    if size == 0 {
        Hash::EMPTY_ROOT
    } else {
        assemble(root_plan(size).unwrap())[0]
    }
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h.0[bit / 8] ^= 1 << (bit % 8);
    h
}

/// Tree sizes with extra weight on the edges of powers of two.
fn size() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=MAX,
        (0..=12u32, -1..=1i64).prop_map(|(b, d)| ((1i64 << b) + d).clamp(1, MAX as i64) as u64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn inclusion_proofs_verify_and_every_bit_counts((size, index) in size().prop_flat_map(|s| (Just(s), 0..s))) {
        let proof = assemble(inclusion_plan(index, size).unwrap());
        let (leaf, root) = (leaf(index), root(size));
        prop_assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
        for i in 0..proof.len() {
            for bit in 0..256 {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], bit);
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err(), "hash {} bit {}", i, bit);
            }
        }
        for bit in 0..256 {
            prop_assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
        }
        for bit in 0..64 {
            prop_assert!(verify_inclusion(&leaf, index ^ (1 << bit), size, &proof, &root).is_err(), "index bit {}", bit);
        }
        // A hash more or less is refused as well.
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(verify_inclusion(&leaf, index, size, shorter, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_every_bit_counts((old, size) in size().prop_flat_map(|s| (0..=s, Just(s)))) {
        let proof = assemble(consistency_plan(old, size).unwrap());
        let (old_root, new_root) = (root(old), root(size));
        prop_assert_eq!(verify_consistency(old, size, &old_root, &new_root, &proof), Ok(()));
        for i in 0..proof.len() {
            for bit in 0..256 {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], bit);
                prop_assert!(verify_consistency(old, size, &old_root, &new_root, &bad).is_err(), "hash {} bit {}", i, bit);
            }
        }
        // Every tree extends the empty one, whatever the roots, so only a non-empty old
        // tree binds them.
        if old > 0 {
            for bit in 0..256 {
                prop_assert!(verify_consistency(old, size, &flip(&old_root, bit), &new_root, &proof).is_err());
                prop_assert!(verify_consistency(old, size, &old_root, &flip(&new_root, bit), &proof).is_err());
            }
        }
        let mut longer = proof.clone();
        longer.push(new_root);
        prop_assert!(verify_consistency(old, size, &old_root, &new_root, &longer).is_err());
        if let Some((_, shorter)) = proof.split_last() {
            prop_assert!(verify_consistency(old, size, &old_root, &new_root, shorter).is_err());
        }
    }

    #[test]
    fn plans_need_only_complete_subtrees_of_the_tree((old, size) in size().prop_flat_map(|s| (0..=s, Just(s)))) {
        let index = old.min(size - 1);
        let plans = [root_plan(size).unwrap(), inclusion_plan(index, size).unwrap(), consistency_plan(old, size).unwrap()];
        for plan in plans {
            let subtrees = plan.subtrees();
            prop_assert!(subtrees.windows(2).all(|w| w[0] < w[1]));
            for s in subtrees {
                prop_assert!((s.index + 1) << s.level <= size, "{:?} in {}", s, size);
            }
        }
    }

    #[test]
    fn compact_ranges_match_root_of(entries in prop::collection::vec(any::<u8>(), 0..300)) {
        let leaves: Vec<Hash> = entries.iter().enumerate().map(|(i, b)| Hash::leaf(&[*b, i as u8])).collect();
        let mut range = CompactRange::new();
        prop_assert_eq!(range.root(), Hash::EMPTY_ROOT);
        for (n, leaf) in leaves.iter().enumerate() {
            let mut completed = Vec::new();
            range.append(*leaf, |s, h| completed.push((s, *h)));
            let size = n as u64 + 1;
            prop_assert_eq!(range.root(), root_of(&leaves[..=n]));
            // The completed subtrees are the ones that end at the new leaf, level 0 first,
            // each with its own hash.
            prop_assert_eq!(completed.len(), size.trailing_zeros() as usize + 1);
            for (level, (s, h)) in completed.iter().enumerate() {
                prop_assert_eq!(usize::from(s.level), level);
                prop_assert_eq!((s.index + 1) << s.level, size);
                let lo = (s.index << s.level) as usize;
                prop_assert_eq!(*h, root_of(&leaves[lo..=n]));
            }
            // The range is the hashes of its subtrees and can be rebuilt from them.
            let subtrees = CompactRange::subtrees_of(size);
            prop_assert_eq!(subtrees.len(), range.hashes().len());
            for (s, h) in subtrees.iter().zip(range.hashes()) {
                let lo = (s.index << s.level) as usize;
                prop_assert_eq!(*h, root_of(&leaves[lo..lo + (1 << s.level)]));
            }
            let rebuilt = CompactRange::from_parts(size, range.hashes().to_vec()).unwrap();
            prop_assert_eq!(&rebuilt, &range);
        }
    }
}
