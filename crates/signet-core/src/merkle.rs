//! RFC 9162 §2.1 Merkle trees: tree hashes, inclusion and consistency proofs, and the
//! compact range (the right edge of a tree) for O(log n) incremental roots.
//!
//! Proof *generation* is split in two so that this crate stays free of I/O: a plan names
//! the complete, aligned subtrees whose hashes a proof needs ([`ProofPlan::subtrees`]);
//! the caller reads those hashes from wherever it stores them (tiles on disk, a mirror
//! over HTTP) and the plan assembles the proof ([`ProofPlan::assemble`]).
//!
//! Every hash that RFC 9162's recursive definitions put in a proof is the tree hash of a
//! range of leaves `[lo, hi)` whose start `lo` is a multiple of the smallest power of two
//! at least `hi - lo` (the recursion only ever splits a range at its largest power of two
//! below its length). Such a range is the complete subtrees given by the set bits of its
//! length, largest first, and its tree hash folds their hashes from the right. That is
//! what a [`ProofPlan`] element lists.

use crate::{Error, Hash};

/// A complete, aligned subtree: the leaves `index << level .. (index + 1) << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subtree {
    /// Height above the leaves: 0 is a single leaf.
    pub level: u8,
    /// Position among the subtrees of this level, counting from 0 at the left.
    pub index: u64,
}

/// How to compute each hash of a proof, or a root, from stored subtree hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    /// One element per output hash: the complete subtrees, left to right, whose hashes
    /// fold right-to-left into that output hash (a single subtree is used as is).
    elements: Vec<Vec<Subtree>>,
}

impl ProofPlan {
    /// Every subtree whose hash the plan needs, sorted and without repeats.
    pub fn subtrees(&self) -> Vec<Subtree> {
        let mut all: Vec<Subtree> = self.elements.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Builds the proof from the hashes of [`ProofPlan::subtrees`].
    ///
    /// `lookup` returns the hash of a subtree, or `None` when the caller does not have
    /// it, which is an error.
    pub fn assemble(
        &self,
        mut lookup: impl FnMut(Subtree) -> Option<Hash>,
    ) -> Result<Vec<Hash>, Error> {
        let mut get = |s: Subtree| {
            lookup(s).ok_or_else(|| {
                Error::OutOfRange(format!(
                    "no hash for the subtree at level {} index {}",
                    s.level, s.index
                ))
            })
        };
        let mut proof = Vec::with_capacity(self.elements.len());
        for element in &self.elements {
            // Fold from the right: for parts s0, s1, s2 the hash is node(s0, node(s1, s2)).
            let mut parts = element.iter().rev();
            let Some(&last) = parts.next() else {
                return Err(Error::OutOfRange("empty proof plan element".into()));
            };
            let mut acc = get(last)?;
            for &part in parts {
                acc = Hash::node(&get(part)?, &acc);
            }
            proof.push(acc);
        }
        Ok(proof)
    }
}

/// The complete subtrees that make up the leaves `lo..hi`, largest (leftmost) first.
///
/// `lo` must be a multiple of the largest power of two not above `hi - lo`, as every range
/// in RFC 9162's recursion is; then each subtree is aligned.
fn range_subtrees(lo: u64, hi: u64) -> Vec<Subtree> {
    let mut parts = Vec::with_capacity((hi - lo).count_ones() as usize);
    let mut start = lo;
    let mut rest = hi - lo;
    while rest != 0 {
        let level = 63 - rest.leading_zeros();
        let width = 1u64 << level;
        parts.push(Subtree {
            level: level as u8,
            index: start >> level,
        });
        start += width;
        rest -= width;
    }
    parts
}

/// The largest power of two strictly less than `n`, which must be at least 2: RFC 9162's
/// split point `k`.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The plan for the root of a tree of `size` leaves: one element. The empty tree's root
/// is [`Hash::EMPTY_ROOT`] and needs no plan; `size` must be at least 1.
pub fn root_plan(size: u64) -> Result<ProofPlan, Error> {
    if size == 0 {
        return Err(Error::OutOfRange(
            "the empty tree has no root plan: its root is SHA-256(\"\")".into(),
        ));
    }
    Ok(ProofPlan {
        elements: vec![range_subtrees(0, size)],
    })
}

/// The plan for the RFC 9162 §2.1.3 inclusion proof of leaf `index` in a tree of `size`.
/// Requires `index < size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, Error> {
    if index >= size {
        return Err(Error::OutOfRange(format!(
            "leaf index {index} is not in a tree of size {size}"
        )));
    }
    // Walk PATH(m, D[lo:hi]) from the top: each step keeps the half holding the leaf and
    // records the other half, so the path comes out root first and is reversed at the end.
    let mut elements = Vec::with_capacity(inclusion_len(index, size));
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            elements.push(range_subtrees(mid, hi));
            hi = mid;
        } else {
            elements.push(range_subtrees(lo, mid));
            lo = mid;
        }
    }
    elements.reverse();
    Ok(ProofPlan { elements })
}

/// The plan for the RFC 9162 §2.1.4 consistency proof from `old` to `size`.
/// Requires `old <= size`; `old == 0` and `old == size` give an empty proof.
pub fn consistency_plan(old: u64, size: u64) -> Result<ProofPlan, Error> {
    if old > size {
        return Err(Error::OutOfRange(format!(
            "old tree size {old} is larger than the new size {size}"
        )));
    }
    if old == 0 || old == size {
        return Ok(ProofPlan {
            elements: Vec::new(),
        });
    }
    // SUBPROOF(m, D[lo:hi], b) from the top, as in RFC 9162 §2.1.4.1: `complete` is b, true
    // while the old tree's root is still the whole of the current range's left edge.
    let mut elements = Vec::with_capacity(consistency_len(old, size));
    let (mut lo, mut hi, mut complete) = (0, size, true);
    while old != hi {
        let mid = lo + split_point(hi - lo);
        if old <= mid {
            elements.push(range_subtrees(mid, hi));
            hi = mid;
        } else {
            elements.push(range_subtrees(lo, mid));
            lo = mid;
            complete = false;
        }
    }
    if !complete {
        elements.push(range_subtrees(lo, hi));
    }
    elements.reverse();
    Ok(ProofPlan { elements })
}

/// The number of hashes in the inclusion proof of `index` in a tree of `size`
/// (`index < size`): one per level below the point where the leaf's path leaves the tree's
/// right edge, plus one per complete subtree to the left of it above that point.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// The number of hashes in the consistency proof from `old` to `size`
/// (`0 < old < size`): the inclusion path of the old tree's last leaf, less the levels
/// inside the old tree's last complete subtree, plus that subtree's own hash unless it is
/// the whole old tree (a power of two), which the verifier already knows.
fn consistency_len(old: u64, size: u64) -> usize {
    let shift = old.trailing_zeros() as usize;
    let seed = usize::from(!old.is_power_of_two());
    inclusion_len(old - 1, size) - shift + seed
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::OutOfRange(format!(
            "leaf index {index} is not in a tree of size {size}"
        )));
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(Error::OutOfRange(format!(
            "an inclusion proof for index {index} in a tree of size {size} has {expected} hashes, not {}",
            proof.len()
        )));
    }
    // The algorithm of RFC 9162 §2.1.3.2, step by step.
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(Error::OutOfRange("inclusion proof is too long".into()));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = Hash::node(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = Hash::node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::OutOfRange("inclusion proof is too short".into()));
    }
    if r != *root {
        return Err(Error::ProofMismatch("inclusion"));
    }
    Ok(())
}

/// Verifies a consistency proof (RFC 9162 §2.1.4.2). `old == size` requires equal roots
/// and an empty proof; `old == 0` requires an empty proof.
pub fn verify_consistency(
    old: u64,
    size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    if old > size {
        return Err(Error::OutOfRange(format!(
            "old tree size {old} is larger than the new size {size}"
        )));
    }
    if old == 0 || old == size {
        if !proof.is_empty() {
            return Err(Error::OutOfRange(format!(
                "a consistency proof from {old} to {size} is empty, not {} hashes",
                proof.len()
            )));
        }
        // Every tree extends the empty one; a tree is consistent with itself only when the
        // two roots are the same.
        if old == size && old_root != new_root {
            return Err(Error::ProofMismatch("consistency"));
        }
        return Ok(());
    }
    let expected = consistency_len(old, size);
    if proof.len() != expected {
        return Err(Error::OutOfRange(format!(
            "a consistency proof from {old} to {size} has {expected} hashes, not {}",
            proof.len()
        )));
    }
    // The algorithm of RFC 9162 §2.1.4.2, step by step. Step 2 prepends the old root when
    // the old size is a power of two; chaining iterators does that without copying.
    let seed = old.is_power_of_two().then_some(old_root);
    let mut path = seed.into_iter().chain(proof);
    let (mut fnode, mut snode) = (old - 1, size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let Some(first) = path.next() else {
        return Err(Error::OutOfRange("consistency proof is empty".into()));
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in path {
        if snode == 0 {
            return Err(Error::OutOfRange("consistency proof is too long".into()));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = Hash::node(c, &fr);
            sr = Hash::node(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = Hash::node(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::OutOfRange("consistency proof is too short".into()));
    }
    // Check both roots before answering, so the time taken does not say which one failed.
    let old_ok = fr == *old_root;
    let new_ok = sr == *new_root;
    if !(old_ok & new_ok) {
        return Err(Error::ProofMismatch("consistency"));
    }
    Ok(())
}

/// The root of the tree whose leaf hashes are `leaves`.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.append(*leaf, |_, _| {});
    }
    range.root()
}

/// The right edge of a tree: the roots of the maximal complete subtrees that make it up,
/// one per set bit of its size, left (largest) first. Appending a leaf and computing the
/// root both take O(log n).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The range of the empty tree.
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// Rebuilds a range from its size and the hashes of [`CompactRange::subtrees_of`]
    /// `(size)`, in that order.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Result<CompactRange, Error> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(Error::malformed(
                "compact range",
                format!(
                    "a tree of size {size} has {expected} subtree hashes, not {}",
                    hashes.len()
                ),
            ));
        }
        Ok(CompactRange { size, hashes })
    }

    /// The complete subtrees that make up a tree of `size` leaves, left (largest) first.
    pub fn subtrees_of(size: u64) -> Vec<Subtree> {
        range_subtrees(0, size)
    }

    /// The number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, left (largest) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// Appends a leaf hash. `on_complete` sees every subtree the append completes,
    /// from the leaf itself (level 0) upwards, so a log can store the hashes it tiles.
    pub fn append(&mut self, leaf: Hash, mut on_complete: impl FnMut(Subtree, &Hash)) {
        // A log cannot hold 2^64 leaves: at a billion appends a second that would take
        // more than five centuries, so `size + 1` does not overflow.
        let new_size = self.size + 1;
        on_complete(
            Subtree {
                level: 0,
                index: self.size,
            },
            &leaf,
        );
        let mut hash = leaf;
        let mut level = 0u8;
        // Each set low bit of the old size is a complete subtree of that level just to the
        // left; the new leaf completes its sibling, so the two merge, carrying upwards.
        let mut carry = self.size;
        while carry & 1 == 1 {
            // Invariant: one hash per set bit of `size`, so there is a hash to merge with.
            let Some(left) = self.hashes.pop() else { break };
            hash = Hash::node(&left, &hash);
            level += 1;
            carry >>= 1;
            on_complete(
                Subtree {
                    level,
                    index: (new_size >> level) - 1,
                },
                &hash,
            );
        }
        self.hashes.push(hash);
        self.size = new_size;
    }

    /// The tree's root ([`Hash::EMPTY_ROOT`] when empty).
    pub fn root(&self) -> Hash {
        let mut parts = self.hashes.iter().rev();
        let Some(&last) = parts.next() else {
            return Hash::EMPTY_ROOT;
        };
        parts.fold(last, |acc, left| Hash::node(left, &acc))
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn st(level: u8, index: u64) -> Subtree {
        Subtree { level, index }
    }

    /// Checks a plan's elements against the expected `(level, index)` lists.
    fn check(plan: Result<ProofPlan, Error>, expected: &[&[(u8, u64)]]) {
        let plan = plan.unwrap();
        let expected: Vec<Vec<Subtree>> = expected
            .iter()
            .map(|e| e.iter().map(|&(l, i)| st(l, i)).collect())
            .collect();
        assert_eq!(plan.elements, expected);
    }

    #[test]
    fn plans_match_the_rfc_examples() {
        // RFC 9162 §2.1.5 (RFC 6962 §2.1.3): the tree of seven leaves d0..d6 whose nodes
        // are a..f (leaves), g, h, i (pairs), j = d6, k = g+h, l = i+j.
        let (b, c, d, f) = ((0, 1), (0, 2), (0, 3), (0, 5));
        let (g, h, i, j, k) = ((1, 0), (1, 1), (1, 2), (0, 6), (2, 0));
        let l: &[(u8, u64)] = &[i, j];
        check(inclusion_plan(0, 7), &[&[b], &[h], l]);
        check(inclusion_plan(3, 7), &[&[c], &[g], l]);
        check(inclusion_plan(4, 7), &[&[f], &[j], &[k]]);
        check(inclusion_plan(6, 7), &[&[i], &[k]]);
        check(consistency_plan(3, 7), &[&[c], &[d], &[g], l]);
        check(consistency_plan(4, 7), &[l]);
        check(consistency_plan(6, 7), &[&[i], &[j], &[k]]);
    }

    #[test]
    fn plans_at_the_edges() {
        check(root_plan(1), &[&[(0, 0)]]);
        check(root_plan(13), &[&[(3, 0), (2, 2), (0, 12)]]);
        check(
            root_plan(u64::MAX),
            &[&(0..64)
                .rev()
                .map(|l| (l, (u64::MAX >> l) - 1))
                .collect::<Vec<_>>()],
        );
        check(inclusion_plan(0, 1), &[]);
        check(inclusion_plan(4, 5), &[&[(2, 0)]]);
        check(consistency_plan(0, 9), &[]);
        check(consistency_plan(9, 9), &[]);
        check(consistency_plan(1, 2), &[&[(0, 1)]]);
        check(consistency_plan(2, 3), &[&[(0, 2)]]);
        assert!(matches!(root_plan(0), Err(Error::OutOfRange(_))));
        assert!(matches!(inclusion_plan(5, 5), Err(Error::OutOfRange(_))));
        assert!(matches!(consistency_plan(6, 5), Err(Error::OutOfRange(_))));
    }

    #[test]
    fn lengths_match_the_plans() {
        for size in 1..=130u64 {
            for index in 0..size {
                assert_eq!(
                    inclusion_len(index, size),
                    inclusion_plan(index, size).unwrap().elements.len()
                );
            }
            for old in 1..size {
                assert_eq!(
                    consistency_len(old, size),
                    consistency_plan(old, size).unwrap().elements.len()
                );
            }
        }
        // The largest trees do not overflow the length formulas.
        assert_eq!(inclusion_len(0, u64::MAX), 64);
        assert_eq!(inclusion_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(consistency_len(1 << 63, u64::MAX), 1);
        for (old, size) in [
            (1, u64::MAX),
            ((1 << 63) + 1, u64::MAX),
            (u64::MAX - 1, u64::MAX),
            (3, 1 << 63),
        ] {
            assert_eq!(
                consistency_len(old, size),
                consistency_plan(old, size).unwrap().elements.len()
            );
        }
    }

    #[test]
    fn assemble_folds_from_the_right() {
        let h = |i: u64| Hash::leaf(&i.to_be_bytes());
        let plan = ProofPlan {
            elements: vec![vec![st(0, 0)], vec![st(2, 0), st(1, 2), st(0, 6)]],
        };
        let hash_of = |s: Subtree| h(u64::from(s.level) * 100 + s.index);
        assert_eq!(
            plan.subtrees(),
            vec![st(0, 0), st(0, 6), st(1, 2), st(2, 0)]
        );
        let proof = plan.assemble(|s| Some(hash_of(s))).unwrap();
        let tail = Hash::node(
            &hash_of(st(2, 0)),
            &Hash::node(&hash_of(st(1, 2)), &hash_of(st(0, 6))),
        );
        assert_eq!(proof, vec![hash_of(st(0, 0)), tail]);
        assert!(matches!(
            plan.assemble(|s| (s.level != 1).then(|| hash_of(s))),
            Err(Error::OutOfRange(_))
        ));
    }

    #[test]
    fn compact_range_reports_completed_subtrees() {
        let leaves: Vec<Hash> = (0..8u64).map(|i| Hash::leaf(&i.to_be_bytes())).collect();
        let mut range = CompactRange::new();
        let mut seen = Vec::new();
        for leaf in &leaves {
            range.append(*leaf, |s, _| seen.push((s.level, s.index)));
        }
        #[rustfmt::skip]
        let expected = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0),
            (0, 4), (0, 5), (1, 2), (0, 6), (0, 7), (1, 3), (2, 1), (3, 0)];
        assert_eq!(seen, expected);
        assert_eq!(range.hashes().len(), 1);
        assert_eq!(range.root(), root_of(&leaves));
        assert_eq!(CompactRange::new().root(), Hash::EMPTY_ROOT);
        assert_eq!(root_of(&[]), Hash::EMPTY_ROOT);
        assert_eq!(root_of(&leaves[..1]), leaves[0]);
        assert_eq!(root_of(&leaves[..2]), Hash::node(&leaves[0], &leaves[1]));
        assert_eq!(
            root_of(&leaves[..3]),
            Hash::node(&Hash::node(&leaves[0], &leaves[1]), &leaves[2])
        );
    }

    #[test]
    fn compact_range_parts() {
        assert_eq!(CompactRange::subtrees_of(0), vec![]);
        assert_eq!(
            CompactRange::subtrees_of(13),
            vec![st(3, 0), st(2, 2), st(0, 12)]
        );
        let h = Hash::leaf(b"x");
        assert!(matches!(
            CompactRange::from_parts(3, vec![h]),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            CompactRange::from_parts(0, vec![h]),
            Err(Error::Malformed { .. })
        ));
        let mut range = CompactRange::from_parts(3, vec![h, h]).unwrap();
        range.append(h, |_, _| {});
        assert_eq!(range.size(), 4);
        assert_eq!(range.hashes(), &[Hash::node(&h, &Hash::node(&h, &h))]);
    }

    #[test]
    fn verification_refuses_impossible_shapes() {
        let h = Hash::leaf(b"x");
        let out_of_range = |r: Result<(), Error>| matches!(r, Err(Error::OutOfRange(_)));
        assert!(out_of_range(verify_inclusion(&h, 0, 0, &[], &h)));
        assert!(out_of_range(verify_inclusion(&h, 5, 5, &[h; 1], &h)));
        assert!(out_of_range(verify_inclusion(&h, 0, 5, &[h; 2], &h)));
        assert!(out_of_range(verify_inclusion(&h, 0, 5, &[h; 4], &h)));
        assert!(out_of_range(verify_consistency(6, 5, &h, &h, &[])));
        assert!(out_of_range(verify_consistency(0, 5, &h, &h, &[h])));
        assert!(out_of_range(verify_consistency(5, 5, &h, &h, &[h])));
        assert!(out_of_range(verify_consistency(4, 5, &h, &h, &[])));
        assert!(out_of_range(verify_consistency(3, 5, &h, &h, &[h; 2])));
        // A tree of one leaf is its leaf; a tree extends the empty tree whatever the roots.
        assert_eq!(verify_inclusion(&h, 0, 1, &[], &h), Ok(()));
        assert_eq!(
            verify_inclusion(&h, 0, 1, &[], &Hash::EMPTY_ROOT),
            Err(Error::ProofMismatch("inclusion"))
        );
        assert_eq!(verify_consistency(0, 5, &h, &Hash::EMPTY_ROOT, &[]), Ok(()));
        assert_eq!(verify_consistency(5, 5, &h, &h, &[]), Ok(()));
        assert_eq!(
            verify_consistency(5, 5, &h, &Hash::EMPTY_ROOT, &[]),
            Err(Error::ProofMismatch("consistency"))
        );
    }
}
