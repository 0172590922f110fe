//! RFC 9162 §2.1 Merkle trees: tree hashes, inclusion and consistency proofs, and the
//! compact range (the right edge of a tree) for O(log n) incremental roots.
//!
//! Proof *generation* is split in two so that this crate stays free of I/O: a plan names
//! the complete, aligned subtrees whose hashes a proof needs ([`ProofPlan::subtrees`]);
//! the caller reads those hashes from wherever it stores them (tiles on disk, a mirror
//! over HTTP) and the plan assembles the proof ([`ProofPlan::assemble`]).

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
        todo!()
    }

    /// Builds the proof from the hashes of [`ProofPlan::subtrees`].
    ///
    /// `lookup` returns the hash of a subtree, or `None` when the caller does not have
    /// it, which is an error.
    pub fn assemble(&self, lookup: impl FnMut(Subtree) -> Option<Hash>) -> Result<Vec<Hash>, Error> {
        let _ = lookup;
        todo!()
    }
}

/// The plan for the root of a tree of `size` leaves: one element. The empty tree's root
/// is [`Hash::EMPTY_ROOT`] and needs no plan; `size` must be at least 1.
pub fn root_plan(size: u64) -> Result<ProofPlan, Error> {
    let _ = size;
    todo!()
}

/// The plan for the RFC 9162 §2.1.3 inclusion proof of leaf `index` in a tree of `size`.
/// Requires `index < size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, Error> {
    let _ = (index, size);
    todo!()
}

/// The plan for the RFC 9162 §2.1.4 consistency proof from `old` to `size`.
/// Requires `old <= size`; `old == 0` and `old == size` give an empty proof.
pub fn consistency_plan(old: u64, size: u64) -> Result<ProofPlan, Error> {
    let _ = (old, size);
    todo!()
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), Error> {
    let _ = (leaf, index, size, proof, root);
    todo!()
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
    let _ = (old, size, old_root, new_root, proof);
    todo!()
}

/// The root of the tree whose leaf hashes are `leaves`.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let _ = leaves;
    todo!()
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
        let _ = (size, hashes);
        todo!()
    }

    /// The complete subtrees that make up a tree of `size` leaves, left (largest) first.
    pub fn subtrees_of(size: u64) -> Vec<Subtree> {
        let _ = size;
        todo!()
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
    pub fn append(&mut self, leaf: Hash, on_complete: impl FnMut(Subtree, &Hash)) {
        let _ = (leaf, on_complete);
        todo!()
    }

    /// The tree's root ([`Hash::EMPTY_ROOT`] when empty).
    pub fn root(&self) -> Hash {
        todo!()
    }
}
