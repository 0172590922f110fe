//! `signet_log::check`: the offline audit names every bad file of a stored log.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::Path;

use signet_core::keys::SignatureType;
use signet_core::{
    Checkpoint, Endorsement, Entry, Hash, KeyName, Letter, LetterId, SigningKey, Statement,
    Timestamp,
};
use signet_log::{Config, Error, Log, check_dir};
use signet_testkit::harness::letters_dir;

fn letter_id() -> LetterId {
    let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
    Letter::from_bytes(&text).unwrap().id()
}

fn config(dir: &Path) -> Config {
    Config {
        letters_dir: Some(letters_dir()),
        batch_interval: std::time::Duration::from_millis(1),
        ..Config::new(dir)
    }
}

fn endorse(n: u32) -> Entry {
    let mut seed = [9u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    let k = SigningKey::from_seed(
        KeyName::parse(&format!("signer-{n}")).unwrap(),
        SignatureType::Ed25519,
        &seed,
    );
    Statement::Endorsement(Endorsement {
        letter: letter_id(),
        name: format!("Signer {n}"),
        affiliation: None,
        role: None,
        identity: vec![],
        time: Timestamp::from_unix(1_700_000_000).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
}

/// A closed log of 300 entries: one full tile and bundle, and partial ones of 44.
async fn log_of_300() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    let mut tasks = Vec::new();
    let log = std::sync::Arc::new(log);
    for n in 0..299 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move { log.submit(endorse(n)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(log.head().size, 300);
    drop(log);
    dir
}

fn flip(dir: &Path, file: &str, at: usize) {
    let path = dir.join("log").join(file);
    let mut data = std::fs::read(&path).unwrap();
    data[at] ^= 1;
    std::fs::write(&path, data).unwrap();
}

#[tokio::test]
async fn a_sound_log_checks_sound() {
    let dir = log_of_300().await;
    let report = check_dir(dir.path()).unwrap();
    assert!(report.is_sound(), "{report}");
    assert_eq!((report.size, report.entries), (300, 300));
    // Level 0: 2 tiles, level 1: 1, bundles: 2.
    assert_eq!(report.files, 5);
    assert!(report.to_string().contains("sound"), "{report}");
}

#[tokio::test]
async fn finding_5_check_names_every_bad_file() {
    let dir = log_of_300().await;
    // A hash of the full level-0 tile, and a byte of the partial bundle's last entry.
    flip(dir.path(), "tile/0/000", 6 * 32);
    let bundle = dir.path().join("log/tile/entries/001.p/44");
    let len = std::fs::metadata(&bundle).unwrap().len() as usize;
    flip(dir.path(), "tile/entries/001.p/44", len - 20);
    let report = check_dir(dir.path()).unwrap();
    assert!(!report.is_sound());
    let mut files: Vec<&str> = report.problems.iter().map(|p| p.file.as_str()).collect();
    files.sort();
    assert_eq!(files, ["tile/0/000", "tile/entries/001.p/44"], "{report}");
    let text = report.to_string();
    assert!(text.contains("2 bad file"), "{text}");
}

#[tokio::test]
async fn check_refuses_a_checkpoint_the_log_did_not_sign() {
    let dir = log_of_300().await;
    let other = SigningKey::from_seed(
        KeyName::parse(signet_log::DEFAULT_ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[1; 32],
    );
    let forged = Checkpoint {
        origin: signet_log::DEFAULT_ORIGIN.into(),
        size: 300,
        root: Hash([0; 32]),
        extensions: Vec::new(),
    }
    .sign(&other)
    .unwrap();
    std::fs::write(dir.path().join("log/checkpoint"), forged.to_string()).unwrap();
    let report = check_dir(dir.path()).unwrap();
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].file, "checkpoint");
    assert!(report.problems[0].reason.contains("not signed"), "{report}");
}

#[tokio::test]
async fn check_refuses_to_run_beside_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    assert!(matches!(check_dir(dir.path()), Err(Error::Locked(_))));
    drop(log);
    assert!(check_dir(dir.path()).unwrap().is_sound());
}

#[tokio::test]
async fn corruption_in_a_memory_store_is_caught_the_same_way() {
    use signet_core::TileId;
    use signet_core::tiles::TileLevel;
    use signet_testkit::storage::MemStore;
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    let open = || std::sync::Arc::new(store.open().unwrap());
    let log = std::sync::Arc::new(Log::open_with(config(dir.path()), open()).unwrap());
    let mut tasks = Vec::new();
    for n in 0..299 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move { log.submit(endorse(n)).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let key = log.verifier().clone();
    drop(log);
    assert!(signet_log::check(open(), &key).unwrap().is_sound());
    let full = TileId {
        level: TileLevel::Hashes(0),
        index: 0,
        width: 256,
    };
    let mut data = signet_log::Storage::read_tile(&*open(), full)
        .unwrap()
        .unwrap();
    data[200] ^= 1;
    store.tamper_tile(full, data);
    let report = signet_log::check(open(), &key).unwrap();
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].file, "tile/0/000");
    let log = Log::open_with(config(dir.path()), open()).unwrap();
    match log.entry(6) {
        Err(Error::CorruptStorage { file, .. }) => assert_eq!(file, "tile/0/000"),
        other => panic!("expected corrupt storage, got {other:?}"),
    }
    assert!(log.health().unwrap_err().contains("tile/0/000"));
}

#[tokio::test]
async fn check_replays_every_rule_of_state() {
    use signet_log::Storage as _;
    use signet_testkit::storage::MemStore;
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    let log = Log::open_with(
        config(dir.path()),
        std::sync::Arc::new(store.open().unwrap()),
    )
    .unwrap();
    log.submit(endorse(0)).await.unwrap();
    let entries = [log.entry(0).unwrap(), log.entry(1).unwrap()];
    drop(log);
    // A log that appended the same endorsement twice, with tiles and a signed checkpoint
    // that agree with it: only the rules of state can tell.
    let text = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    let key = SigningKey::parse(text.trim_end()).unwrap();
    let forked: Vec<&[u8]> = vec![&entries[0], &entries[1], &entries[1]];
    let built = signet_core::edge::Edge::new().append(&forked).unwrap();
    let storage = store.open().unwrap();
    storage.write_tiles(&built.tiles).unwrap();
    let old = storage.read_checkpoint().unwrap();
    let signed = Checkpoint {
        origin: key.name().as_str().to_owned(),
        size: 3,
        root: built.edge.root(),
        extensions: Vec::new(),
    }
    .sign(&key)
    .unwrap();
    storage
        .swap_checkpoint(old.as_deref(), signed.to_string().as_bytes())
        .unwrap();
    let report = signet_log::check(std::sync::Arc::new(storage), &key.verifier()).unwrap();
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].file, "tile/entries/000.p/3");
    assert!(
        report.problems[0]
            .reason
            .contains("entry 2 breaks a rule of state"),
        "{report}"
    );
}
