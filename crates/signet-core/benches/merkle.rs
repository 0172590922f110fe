//! Benchmarks for the Merkle code: leaf hashing, compact-range appends, and inclusion and
//! consistency proofs (planned, assembled from an in-memory table of subtree hashes, and
//! verified) in a tree of a million leaves.

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark fails loudly on a broken invariant"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use signet_core::Hash;
use signet_core::merkle::{
    CompactRange, Subtree, consistency_plan, inclusion_plan, root_plan, verify_consistency,
    verify_inclusion,
};

/// The tree size the proof benchmarks use: a million leaves, not a power of two.
const SIZE: u64 = 1_000_000;

/// Every complete subtree hash of a tree of `SIZE` leaves, by level, as a log's tiles
/// would hold them.
struct Tree(Vec<Vec<Hash>>);

impl Tree {
    fn new() -> Tree {
        let leaves = (0..SIZE).map(|i| Hash::leaf(&i.to_be_bytes())).collect();
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
        Tree(levels)
    }

    fn get(&self, s: Subtree) -> Option<Hash> {
        self.0
            .get(usize::from(s.level))?
            .get(s.index as usize)
            .copied()
    }

    fn leaf(&self, index: u64) -> Hash {
        self.0[0][index as usize]
    }
}

/// A cheap deterministic walk over `0..n` (a multiplicative sequence), so that each
/// iteration proves a different index.
fn walk(n: u64) -> impl FnMut() -> u64 {
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) % n
    }
}

fn leaf_hash(c: &mut Criterion) {
    // A signed endorsement note is a few hundred bytes.
    let entry = vec![b'e'; 512];
    let mut group = c.benchmark_group("merkle");
    group.throughput(Throughput::Bytes(entry.len() as u64));
    group.bench_function("leaf hash (512 B)", |b| {
        b.iter(|| Hash::leaf(black_box(&entry)))
    });
    group.finish();
}

fn compact_range(c: &mut Criterion) {
    // Start from the right edge of a million-leaf tree; each append adds one leaf.
    let start =
        CompactRange::from_parts(SIZE, vec![Hash::leaf(b"x"); SIZE.count_ones() as usize]).unwrap();
    let leaf = Hash::leaf(b"entry");
    let mut group = c.benchmark_group("merkle");
    group.bench_function("compact range append (1M leaves)", |b| {
        let mut range = start.clone();
        b.iter(|| {
            range.append(black_box(leaf), |s, h| {
                black_box((s, h));
            })
        });
    });
    group.bench_function("compact range root (1M leaves)", |b| {
        b.iter(|| black_box(&start).root())
    });
    group.finish();
}

fn proofs(c: &mut Criterion) {
    let tree = Tree::new();
    let root = root_plan(SIZE).unwrap().assemble(|s| tree.get(s)).unwrap()[0];
    let mut group = c.benchmark_group("merkle");

    let mut next = walk(SIZE);
    group.bench_function("inclusion proof: plan + assemble (1M leaves)", |b| {
        b.iter(|| {
            inclusion_plan(next(), SIZE)
                .unwrap()
                .assemble(|s| tree.get(s))
                .unwrap()
        })
    });

    let cases: Vec<(u64, Vec<Hash>)> = {
        let mut next = walk(SIZE);
        (0..1024)
            .map(|_| {
                let index = next();
                (
                    index,
                    inclusion_plan(index, SIZE)
                        .unwrap()
                        .assemble(|s| tree.get(s))
                        .unwrap(),
                )
            })
            .collect()
    };
    let mut i = 0;
    group.bench_function("inclusion proof: verify (1M leaves)", |b| {
        b.iter(|| {
            let (index, proof) = &cases[i % cases.len()];
            i += 1;
            verify_inclusion(&tree.leaf(*index), *index, SIZE, proof, &root).unwrap()
        })
    });

    let mut next = walk(SIZE - 1);
    group.bench_function("consistency proof: plan + assemble (1M leaves)", |b| {
        b.iter(|| {
            consistency_plan(1 + next(), SIZE)
                .unwrap()
                .assemble(|s| tree.get(s))
                .unwrap()
        })
    });

    let cases: Vec<(u64, Hash, Vec<Hash>)> = {
        let mut next = walk(SIZE - 1);
        (0..256)
            .map(|_| {
                let old = 1 + next();
                let old_root = root_plan(old).unwrap().assemble(|s| tree.get(s)).unwrap()[0];
                (
                    old,
                    old_root,
                    consistency_plan(old, SIZE)
                        .unwrap()
                        .assemble(|s| tree.get(s))
                        .unwrap(),
                )
            })
            .collect()
    };
    let mut i = 0;
    group.bench_function("consistency proof: verify (1M leaves)", |b| {
        b.iter(|| {
            let (old, old_root, proof) = &cases[i % cases.len()];
            i += 1;
            verify_consistency(*old, SIZE, old_root, &root, proof).unwrap()
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Short runs keep `cargo bench` to a few minutes on a shared two-core machine.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = leaf_hash, compact_range, proofs
}
criterion_main!(benches);
