//! Criterion benchmarks for the entry path: parsing and verifying an endorsement, against
//! the bare `verify_strict` it is bounded by. The Merkle code has its own bench (`merkle`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use signet_core::entry::{Endorsement, Statement};
use signet_core::keys::{KeyName, SignatureType};
use signet_core::{Entry, Hash, LetterId, SigningKey, Timestamp};

fn endorsement() -> Vec<u8> {
    let key = SigningKey::from_seed(
        KeyName::parse("bench-signer").unwrap_or_else(|e| panic!("{e}")),
        SignatureType::Ed25519,
        &Hash::sha256(b"bench").0,
    );
    let statement = Statement::Endorsement(Endorsement {
        letter: LetterId(Hash::sha256(b"letter")),
        name: "张伟 Example".into(),
        affiliation: Some("Université de Montréal".into()),
        role: Some("Professor".into()),
        identity: vec![],
        time: Timestamp::from_unix(1_790_000_000).unwrap_or_else(|e| panic!("{e}")),
        key: key.verifier(),
    });
    statement
        .sign(&key)
        .unwrap_or_else(|e| panic!("{e}"))
        .bytes()
        .to_vec()
}

fn entry(c: &mut Criterion) {
    let bytes = endorsement();
    c.bench_function("endorsement parse + verify", |b| {
        b.iter(|| Entry::parse(black_box(&bytes)).unwrap_or_else(|e| panic!("{e}")))
    });

    // The bare cost every entry pays: ed25519-dalek's verify_strict with a decoded key.
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let vk = key.verifying_key();
    let msg = &bytes[..bytes.len() - 100];
    let sig = ed25519_dalek::Signer::sign(&key, msg);
    let pk = vk.to_bytes();
    c.bench_function("ed25519-dalek decode public key", |b| {
        b.iter(|| {
            ed25519_dalek::VerifyingKey::from_bytes(black_box(&pk))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    c.bench_function("endorsement grammar only", |b| {
        let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let body = &text[..text.find("\n\n").unwrap_or(0) + 1];
        b.iter(|| Statement::parse_body(black_box(body)).unwrap_or_else(|e| panic!("{e}")))
    });
    c.bench_function("ed25519-dalek verify_strict", |b| {
        b.iter(|| {
            vk.verify_strict(black_box(msg), black_box(&sig))
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = entry
}
criterion_main!(benches);
