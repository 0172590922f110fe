//! Known-answer tests: the Merkle values of `testdata/go-x-mod.json`, computed by Go's
//! golang.org/x/mod sumdb/tlog (see `testdata/README.md`), and what a proof does and does
//! not bind.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::collections::BTreeMap;

use serde::Deserialize;
use signet_core::Hash;
use signet_core::merkle::{
    CompactRange, consistency_plan, inclusion_plan, root_of, root_plan, verify_consistency,
    verify_inclusion,
};

#[derive(Deserialize)]
struct Vectors {
    roots: BTreeMap<String, String>,
    inclusion: Vec<Inclusion>,
    consistency: Vec<Consistency>,
}

#[derive(Deserialize)]
struct Inclusion {
    index: u64,
    size: u64,
    hashes: Vec<String>,
}

#[derive(Deserialize)]
struct Consistency {
    old: u64,
    size: u64,
    hashes: Vec<String>,
}

fn vectors() -> Vectors {
    let text = include_str!("testdata/go-x-mod.json");
    serde_json::from_str(text).unwrap()
}

fn b64(s: &str) -> Hash {
    Hash::from_base64(s).unwrap()
}

/// The leaf hashes of the vectors' log: entry i is the bytes "leaf-<i>".
fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| Hash::leaf(format!("leaf-{i}").as_bytes()))
        .collect()
}

/// A proof assembled from a plan, with each subtree hash computed from the leaves.
fn assemble(plan: signet_core::merkle::ProofPlan, leaves: &[Hash]) -> Vec<Hash> {
    plan.assemble(|s| {
        let lo = usize::try_from(s.index << s.level).ok()?;
        let hi = lo + (1usize << s.level);
        leaves.get(lo..hi).map(root_of)
    })
    .unwrap()
}

#[test]
fn roots_match_go() {
    let v = vectors();
    assert_eq!(v.roots.len(), 21);
    let all = leaves(1100);
    let mut range = CompactRange::new();
    let mut checked = 0;
    for (size, leaf) in std::iter::once(None)
        .chain(all.iter().map(Some))
        .enumerate()
    {
        if let Some(leaf) = leaf {
            range.append(*leaf, |_, _| {});
        }
        let Some(expected) = v.roots.get(&size.to_string()) else {
            continue;
        };
        let expected = b64(expected);
        assert_eq!(range.root(), expected, "compact range, size {size}");
        assert_eq!(root_of(&all[..size]), expected, "root_of, size {size}");
        if size > 0 {
            assert_eq!(
                assemble(root_plan(size as u64).unwrap(), &all),
                vec![expected],
                "plan, size {size}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 21);
}

#[test]
fn inclusion_proofs_match_go() {
    let v = vectors();
    assert_eq!(v.inclusion.len(), 12);
    let all = leaves(1100);
    for case in &v.inclusion {
        let expected: Vec<Hash> = case.hashes.iter().map(|h| b64(h)).collect();
        let proof = assemble(inclusion_plan(case.index, case.size).unwrap(), &all);
        assert_eq!(proof, expected, "index {} size {}", case.index, case.size);
        let root = b64(&v.roots[&case.size.to_string()]);
        let leaf = all[case.index as usize];
        assert_eq!(
            verify_inclusion(&leaf, case.index, case.size, &expected, &root),
            Ok(())
        );
    }
}

#[test]
fn consistency_proofs_match_go() {
    let v = vectors();
    assert_eq!(v.consistency.len(), 11);
    let all = leaves(1100);
    for case in &v.consistency {
        let expected: Vec<Hash> = case.hashes.iter().map(|h| b64(h)).collect();
        let proof = assemble(consistency_plan(case.old, case.size).unwrap(), &all);
        assert_eq!(proof, expected, "old {} size {}", case.old, case.size);
        let old_root = root_of(&all[..case.old as usize]);
        if let Some(r) = v.roots.get(&case.old.to_string()) {
            assert_eq!(old_root, b64(r));
        }
        let new_root = b64(&v.roots[&case.size.to_string()]);
        assert_eq!(
            verify_consistency(case.old, case.size, &old_root, &new_root, &expected),
            Ok(())
        );
    }
}

/// RFC 9162's verifier takes the tree size from the caller and the proof does not commit
/// to it: the audit path of leaf 0 has three hashes, all to its right, in every tree of
/// 5 to 8 leaves, so the proof and root of one of those trees also verify under any other
/// of those sizes. Only the signed checkpoint binds a root to its size (tested with the
/// checkpoints).
#[test]
fn a_proof_alone_does_not_bind_the_tree_size() {
    let all = leaves(9);
    for real in 5..=8u64 {
        let root = root_of(&all[..real as usize]);
        let proof = assemble(inclusion_plan(0, real).unwrap(), &all);
        for claimed in 5..=8 {
            assert_eq!(
                verify_inclusion(&all[0], 0, claimed, &proof, &root),
                Ok(()),
                "{real} as {claimed}"
            );
        }
        // Outside that band the path length differs and the claim is refused.
        for claimed in [4, 9] {
            assert!(verify_inclusion(&all[0], 0, claimed, &proof, &root).is_err());
        }
    }
    // In particular the example: the path for index 0 of size 7 fits size 5.
    let root7 = root_of(&all[..7]);
    let proof7 = assemble(inclusion_plan(0, 7).unwrap(), &all);
    assert_eq!(verify_inclusion(&all[0], 0, 5, &proof7, &root7), Ok(()));
    assert_ne!(root7, root_of(&all[..5]));
}
