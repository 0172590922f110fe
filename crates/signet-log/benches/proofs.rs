//! Proofs from stored tiles and cold start, on a log of `SIGNET_BENCH_ENTRIES` entries
//! (default 100,000) built once in a temporary directory (or in `SIGNET_BENCH_DIR`,
//! kept).
//!
//! `cargo bench -p signet-log --bench proofs`

#![expect(
    clippy::unwrap_used,
    reason = "a benchmark fails loudly on a broken invariant"
)]

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use signet_core::keys::SignatureType;
use signet_core::{Endorsement, KeyName, Letter, SigningKey, Statement, Timestamp};
use signet_log::{Config, Log};

fn config(dir: &Path, letters: &Path) -> Config {
    Config {
        letters_dir: Some(letters.to_path_buf()),
        ..Config::new(dir)
    }
}

fn build(dir: &Path, letters: &Path, n: u64) {
    let text = std::fs::read(letters.join("pause-giant-ai-experiments.txt")).unwrap();
    let letter = Letter::from_bytes(&text).unwrap().id();
    let log = Arc::new(Log::open(config(dir, letters)).unwrap());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let chunk = 4096u64;
    for start in (0..n).step_by(chunk as usize) {
        let entries: Vec<_> = (start..(start + chunk).min(n))
            .map(|i| {
                let mut seed = [3u8; 32];
                seed[..8].copy_from_slice(&i.to_le_bytes());
                let key = SigningKey::from_seed(
                    KeyName::parse("bench").unwrap(),
                    SignatureType::Ed25519,
                    &seed,
                );
                Statement::Endorsement(Endorsement {
                    letter,
                    name: format!("Signer {i}"),
                    affiliation: None,
                    role: None,
                    identity: vec![],
                    time: Timestamp::from_unix(1_700_000_000).unwrap(),
                    key: key.verifier(),
                })
                .sign(&key)
                .unwrap()
            })
            .collect();
        runtime.block_on(async {
            let tasks: Vec<_> = entries
                .into_iter()
                .map(|e| {
                    let log = log.clone();
                    tokio::spawn(async move { log.submit(e).await.unwrap() })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
    }
    eprintln!("built a log of {n} entries in {:.1?}", started.elapsed());
}

fn benches(c: &mut Criterion) {
    let n: u64 = std::env::var("SIGNET_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let letters = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../registry-data/letters");
    // SIGNET_BENCH_DIR keeps the log for other measurements (a server's memory on it).
    let temp = tempfile::tempdir().unwrap();
    let kept = std::env::var_os("SIGNET_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = kept.as_deref().unwrap_or(temp.path());
    if !dir.join("log/checkpoint").exists() {
        build(dir, &letters, n);
    }

    let mut group = c.benchmark_group("log");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("cold start", |b| {
        b.iter(|| black_box(Log::open(config(dir, &letters)).unwrap().head().size));
    });
    let log = Log::open(config(dir, &letters)).unwrap();
    let size = log.head().size;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    group.bench_function("inclusion proof, random index", |b| {
        b.iter(|| {
            // xorshift: a cheap, deterministic spread of indexes over the whole log.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(log.inclusion_proof(x % size, size).unwrap())
        });
    });
    group.bench_function("tlog-proof of a recent entry", |b| {
        b.iter(|| black_box(log.tlog_proof(size - 1).unwrap()));
    });
    group.bench_function("consistency proof", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(log.consistency_proof(x % size, size).unwrap())
        });
    });
    group.finish();
}

criterion_group!(log_benches, benches);
criterion_main!(log_benches);
