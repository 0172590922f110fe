//! What the log refuses at start, and what it repairs by itself: each test is named
//! after the hardening finding it covers.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use signet_core::keys::SignatureType;
use signet_core::{
    Endorsement, Entry, KeyName, Letter, LetterId, SigningKey, Statement, Timestamp,
};
use signet_log::{Config, Log};
use signet_testkit::harness::letters_dir;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

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

const T0: u64 = 1_700_000_000;

fn endorse(n: u32) -> Entry {
    let mut seed = [7u8; 32];
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
        time: Timestamp::from_unix(T0).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
}

async fn submit(log: &Log, from: u32, count: u32) {
    for n in from..from + count {
        log.submit(endorse(n)).await.unwrap();
    }
}

fn checkpoint(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("log/checkpoint")).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

fn refused(dir: &Path) -> String {
    match Log::open(config(dir)) {
        Ok(log) => panic!("the log opened at size {}", log.head().size),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn finding_4_an_older_checkpoint_put_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 2).await;
    let older = checkpoint(dir.path());
    submit(&log, 2, 3).await;
    drop(log);
    // The server's own, byte-identical older checkpoint.
    std::fs::write(dir.path().join("log/checkpoint"), &older).unwrap();
    let err = refused(dir.path());
    assert!(err.contains("rolled back"), "{err}");
    assert!(err.contains("6 entries") && err.contains("only 3"), "{err}");
    assert!(err.contains("fork"), "{err}");
    assert_eq!(checkpoint(dir.path()), older, "nothing was signed");
}

#[tokio::test]
async fn finding_4_the_same_size_with_another_root_is_refused() {
    let a = tempfile::tempdir().unwrap();
    let log = Log::open(config(a.path())).unwrap();
    submit(&log, 0, 1).await;
    drop(log);
    // A backup taken at size 2 goes on with other entries than the original.
    let b = tempfile::tempdir().unwrap();
    copy_dir(a.path(), b.path());
    let log = Log::open(config(a.path())).unwrap();
    submit(&log, 1, 1).await;
    drop(log);
    let log = Log::open(config(b.path())).unwrap();
    submit(&log, 2, 1).await;
    drop(log);
    // The original's index beside the backup's log: same size, another root.
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(b.path().join(f));
        if a.path().join(f).exists() {
            std::fs::copy(a.path().join(f), b.path().join(f)).unwrap();
        }
    }
    let err = refused(b.path());
    assert!(err.contains("rolled back"), "{err}");
    assert!(err.contains("3 entries with root"), "{err}");
}

#[tokio::test]
async fn finding_4_a_key_with_an_emptied_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 2).await;
    drop(log);
    std::fs::remove_dir_all(dir.path().join("log")).unwrap();
    let err = refused(dir.path());
    assert!(err.contains("log.key") && err.contains("fork"), "{err}");
    assert!(
        !dir.path().join("log/checkpoint").exists(),
        "a new log was started under the old key"
    );
}

#[tokio::test]
async fn finding_4_a_lost_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Log::open(config(dir.path())).unwrap());
    let stored = checkpoint(dir.path());
    std::fs::remove_file(dir.path().join("log.key")).unwrap();
    let err = refused(dir.path());
    assert!(err.contains("missing") && err.contains("lost"), "{err}");
    assert!(!dir.path().join("log.key").exists(), "a new key was made");
    assert_eq!(checkpoint(dir.path()), stored);
}

#[tokio::test]
async fn finding_4_an_interrupted_first_start_begins_again() {
    let dir = tempfile::tempdir().unwrap();
    let no_letters = tempfile::tempdir().unwrap();
    let config = |dir: &Path| Config {
        letters_dir: Some(no_letters.path().to_path_buf()),
        ..config(dir)
    };
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.head().size, 0);
    let first = log.verifier().clone();
    drop(log);
    // What a crash after the empty checkpoint and before the key leaves.
    std::fs::remove_file(dir.path().join("log.key")).unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.head().size, 0);
    assert_ne!(log.verifier(), &first, "a new key");
    log.head().checkpoint.verify(log.verifier()).unwrap();
    let vkey = std::fs::read_to_string(dir.path().join("log.vkey")).unwrap();
    assert_eq!(vkey.trim_end(), log.verifier().to_string());
}

#[tokio::test]
async fn finding_8_a_private_key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Log::open(config(dir.path())).unwrap());
    let key = dir.path().join("log.key");
    for mode in [0o640, 0o604, 0o644] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = refused(dir.path());
        assert!(
            err.contains(&format!("chmod 600 {}", key.display())),
            "{mode:o}: {err}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    Log::open(config(dir.path())).unwrap();
}

/// Every entry reads back and has a proof to the root.
fn check_sound(log: &Log) {
    let head = log.head();
    for i in 0..head.size {
        let leaf = signet_core::Hash::leaf(&log.entry(i).unwrap());
        let proof = log.inclusion_proof(i, head.size).unwrap();
        signet_core::merkle::verify_inclusion(&leaf, i, head.size, &proof, &head.root).unwrap();
    }
}

fn moved_aside(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("index.sqlite.corrupt-"))
        .collect()
}

#[tokio::test]
async fn finding_8_a_garbage_index_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 5).await;
    drop(log);
    for f in ["index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    std::fs::write(dir.path().join("index.sqlite"), vec![0x5a; 8192]).unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.letters().unwrap()[0].signers, 5, "rebuilt from the log");
    assert!(
        !moved_aside(dir.path()).is_empty(),
        "the bad index is kept aside"
    );
    assert!(
        !log.submit(endorse(3)).await.unwrap().new,
        "dedup works again"
    );
}

#[tokio::test]
async fn finding_8_a_truncated_index_is_moved_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 300).await;
    drop(log);
    // Fold the write-ahead log into the database, then cut the database short.
    {
        let conn = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    for f in ["index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let path = dir.path().join("index.sqlite");
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 3).unwrap();
    drop(file);
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(
        log.letters().unwrap()[0].signers,
        300,
        "rebuilt from the log"
    );
    assert!(
        !moved_aside(dir.path()).is_empty(),
        "the bad index is kept aside"
    );
    check_sound(&log);
}

/// A log of 300 entries (one full tile and a partial one), closed, with one byte of
/// `file` (under `log/`) flipped at `at`, and opened again.
async fn corrupted(file: &str, at: usize) -> (tempfile::TempDir, Log) {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 299).await;
    assert_eq!(log.head().size, 300);
    drop(log);
    let path = dir.path().join("log").join(file);
    let mut data = std::fs::read(&path).unwrap();
    data[at] ^= 1;
    std::fs::write(&path, data).unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    (dir, log)
}

/// `result` failed as corrupt storage naming `file`, and the log's health says so.
fn assert_corrupt<T: std::fmt::Debug>(log: &Log, result: Result<T, signet_log::Error>, file: &str) {
    let Err(err) = result else {
        panic!("served from corrupt storage")
    };
    assert!(
        format!("{err:?}").starts_with("CorruptStorage"),
        "not reported as corrupt storage: {err:?}"
    );
    assert!(err.to_string().contains(file), "{err}");
    let Err(health) = log.health() else {
        panic!("healthy on corrupt storage")
    };
    assert!(health.contains(file), "{health}");
}

#[tokio::test]
async fn finding_5_a_changed_full_hash_tile_is_never_served_or_used() {
    // Hash 6 of the full level-0 tile.
    let (_dir, log) = corrupted("tile/0/000", 6 * 32 + 3).await;
    let size = log.head().size;
    assert_corrupt(&log, log.inclusion_proof(6, size), "tile/0/000");
    assert_corrupt(&log, log.entry(6), "tile/0/000");
    let full = signet_core::TileId {
        level: signet_core::tiles::TileLevel::Hashes(0),
        index: 0,
        width: 256,
    };
    assert_corrupt(&log, log.tile(full), "tile/0/000");
    assert_corrupt(&log, log.tlog_proof(6), "tile/0/000");
    // Entries whose proofs avoid the bad hash are still served, and so is the tail.
    let tail = log.entry(299).unwrap();
    let leaf = signet_core::Hash::leaf(&tail);
    let head = log.head();
    let proof = log.inclusion_proof(299, size).unwrap();
    signet_core::merkle::verify_inclusion(&leaf, 299, size, &proof, &head.root).unwrap();
}

#[tokio::test]
async fn finding_5_a_changed_full_entry_bundle_is_never_served() {
    // A byte inside the seventh entry's text (each entry is a few hundred bytes).
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    submit(&log, 0, 299).await;
    let sixth = log.entry(6).unwrap();
    drop(log);
    let path = dir.path().join("log/tile/entries/000");
    let mut data = std::fs::read(&path).unwrap();
    let at = data
        .windows(sixth.len())
        .position(|w| w == sixth.as_slice())
        .unwrap();
    data[at + 10] ^= 1;
    std::fs::write(&path, data).unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    assert_corrupt(&log, log.entry(6), "tile/entries/000");
    let bundle = signet_core::TileId {
        level: signet_core::tiles::TileLevel::Entries,
        index: 0,
        width: 256,
    };
    assert_corrupt(&log, log.tile(bundle), "tile/entries/000");
    // The index cannot be rebuilt from it either.
    drop(log);
    let Err(err) = Log::open(Config {
        reindex: true,
        ..config(dir.path())
    }) else {
        panic!("reindexed from a corrupt bundle")
    };
    assert!(err.to_string().contains("tile/entries/000"), "{err}");
}
