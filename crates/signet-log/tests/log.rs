//! The log as a whole: first start, restart, the lock, recovery from every storage fault
//! of an integration, and the index catching up.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use signet_core::keys::SignatureType;
use signet_core::merkle;
use signet_core::state::LogState;
use signet_core::{
    Endorsement, Entry, Hash, KeyName, Letter, LetterId, SigningKey, Statement, TileId, Timestamp,
    Withdrawal,
};
use signet_log::{Config, Error, FsStorage, Log, SignatoryQuery, StatusFilter, Storage};
use signet_testkit::harness::letters_dir;
use signet_testkit::storage::{Faulty, MemStorage, MemStore};

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

fn key(n: u32) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    SigningKey::from_seed(
        KeyName::parse(&format!("signer-{n}")).unwrap(),
        SignatureType::Ed25519,
        &seed,
    )
}

const T0: u64 = 1_700_000_000;

fn endorse(n: u32, time: u64) -> Entry {
    let k = key(n);
    Statement::Endorsement(Endorsement {
        letter: letter_id(),
        name: format!("Signer {n}"),
        affiliation: Some("Example University".into()),
        role: None,
        identity: vec![],
        time: Timestamp::from_unix(time).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
}

fn withdraw(n: u32, time: u64) -> Entry {
    let k = key(n);
    Statement::Withdrawal(Withdrawal {
        letter: letter_id(),
        time: Timestamp::from_unix(time).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
}

/// The names of the letter's withdrawn signers (the first ten), as the catalog lists them.
fn withdrawn(log: &Log) -> Vec<String> {
    let page = log
        .signatories(&SignatoryQuery {
            letter: letter_id(),
            q: None,
            status: StatusFilter::Withdrawn,
            after: None,
            limit: 10,
        })
        .unwrap();
    page.items.into_iter().map(|s| s.name).collect()
}

/// Re-checks the whole stored log with independent code: every entry re-read, the root
/// recomputed from all leaves, the checkpoint's signature, the rules of state replayed,
/// and every acknowledged entry where it was acknowledged.
fn check_log(log: &Log, acked: &[(u64, Vec<u8>)]) {
    let head = log.head();
    head.checkpoint.verify(log.verifier()).unwrap();
    let mut leaves = Vec::new();
    let mut state = LogState::new(log.verifier().clone());
    for i in 0..head.size {
        let bytes = log.entry(i).unwrap();
        leaves.push(Hash::leaf(&bytes));
        state
            .apply(&Entry::parse(&bytes).unwrap())
            .unwrap_or_else(|e| panic!("entry {i}: {e}"));
    }
    let root = if leaves.is_empty() {
        Hash::EMPTY_ROOT
    } else {
        merkle::root_of(&leaves)
    };
    assert_eq!(root, head.root, "root of all entries");
    for (i, bytes) in acked {
        assert!(
            *i < head.size,
            "acknowledged entry {i} lost (size {})",
            head.size
        );
        assert_eq!(
            &log.entry(*i).unwrap(),
            bytes,
            "acknowledged entry {i} changed"
        );
    }
    // Every stored proof leads to the root.
    for i in 0..head.size {
        let proof = log.inclusion_proof(i, head.size).unwrap();
        merkle::verify_inclusion(&leaves[i as usize], i, head.size, &proof, &head.root).unwrap();
    }
    // The index agrees with the replayed state.
    let letters = log.letters().unwrap();
    assert_eq!(letters.len(), 1);
    let (active, withdrawn) = state.counts(&letter_id());
    assert_eq!(
        (letters[0].signers, letters[0].withdrawn),
        (active, withdrawn),
        "index counts"
    );
}

#[tokio::test]
async fn first_start_registers_the_letters_and_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.head().size, 1, "the letter's registration");
    assert_eq!(log.origin(), signet_log::DEFAULT_ORIGIN);
    let mut acked = Vec::new();
    for n in 0..40 {
        let e = endorse(n, T0 + u64::from(n));
        let ack = log.submit(e.clone()).await.unwrap();
        assert!(ack.new);
        ack.proof.verify(e.bytes(), log.verifier()).unwrap();
        acked.push((ack.index, e.bytes().to_vec()));
    }
    let w = withdraw(3, T0 + 100);
    acked.push((
        log.submit(w.clone()).await.unwrap().index,
        w.bytes().to_vec(),
    ));
    let head = log.head();
    let vkey = log.verifier().clone();
    check_log(&log, &acked);
    drop(log);

    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.head().text, head.text, "same checkpoint after restart");
    assert_eq!(log.verifier(), &vkey, "same key");
    check_log(&log, &acked);
    assert_eq!(withdrawn(&log), ["Signer 3"]);
    // A restart registers nothing twice.
    assert_eq!(log.head().size, 42);
    let mode = std::fs::metadata(dir.path().join("log.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    let vkey_file = std::fs::read_to_string(dir.path().join("log.vkey")).unwrap();
    assert_eq!(vkey_file.trim_end(), vkey.to_string());
}

#[tokio::test]
async fn a_second_log_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    match Log::open(config(dir.path())) {
        Err(Error::Locked(_)) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(log);
    Log::open(config(dir.path())).unwrap();
}

#[tokio::test]
async fn the_origin_cannot_change() {
    let dir = tempfile::tempdir().unwrap();
    drop(
        Log::open(Config {
            origin: Some("example.org/one".into()),
            ..config(dir.path())
        })
        .unwrap(),
    );
    let err = Log::open(Config {
        origin: Some("example.org/two".into()),
        ..config(dir.path())
    })
    .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.origin(), "example.org/one");
}

/// An origin that cannot be the key name of the log's own entries is refused at the
/// first start, with the rule, and no key or log is made.
#[tokio::test]
async fn an_origin_outside_the_rule_is_refused_at_the_first_start() {
    for origin in [
        "example.org/ünï",
        "example.org/a b",
        "a+b",
        &"x".repeat(256),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let err = Log::open(Config {
            origin: Some(origin.to_owned()),
            ..config(dir.path())
        })
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{origin}: {err}");
        assert!(
            err.to_string().contains("printable ASCII"),
            "{origin}: {err}"
        );
        assert!(!dir.path().join("log.key").exists(), "{origin}");
    }
}

#[tokio::test]
async fn the_index_catches_up_and_rebuilds() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    for n in 0..10 {
        log.submit(endorse(n, T0)).await.unwrap();
    }
    drop(log);
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(
        log.letters().unwrap()[0].signers,
        10,
        "caught up from the log"
    );
    // Resubmitting is recognised as a duplicate again.
    let ack = log.submit(endorse(4, T0)).await.unwrap();
    assert!(!ack.new);
    assert_eq!(ack.index, 5);
    drop(log);
    let log = Log::open(Config {
        reindex: true,
        ..config(dir.path())
    })
    .unwrap();
    assert_eq!(log.letters().unwrap()[0].signers, 10, "rebuilt");
    check_log(&log, &[]);
}

#[tokio::test]
async fn tiles_that_contradict_the_checkpoint_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    for n in 0..5 {
        log.submit(endorse(n, T0)).await.unwrap();
    }
    drop(log);
    let tile = dir.path().join("log/tile/0/000.p/6");
    let mut data = std::fs::read(&tile).unwrap();
    data[40] ^= 1;
    std::fs::write(&tile, data).unwrap();
    let err = Log::open(config(dir.path())).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("root"), "{err}");
}

#[tokio::test]
async fn leftover_tiles_past_the_checkpoint_are_ignored_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    log.submit(endorse(0, T0)).await.unwrap();
    drop(log);
    // A batch that died before its checkpoint left tiles for sizes 3 and 4.
    let storage = FsStorage::open(dir.path()).unwrap();
    let junk = |level, width| {
        (
            TileId {
                level,
                index: 0,
                width,
            },
            vec![0xAA; 32 * usize::from(width)],
        )
    };
    storage
        .write_tiles(&[
            junk(signet_core::tiles::TileLevel::Hashes(0), 3),
            junk(signet_core::tiles::TileLevel::Hashes(0), 4),
        ])
        .unwrap();
    drop(storage);
    let log = Log::open(config(dir.path())).unwrap();
    assert_eq!(log.head().size, 2);
    let t3 = TileId {
        level: signet_core::tiles::TileLevel::Hashes(0),
        index: 0,
        width: 3,
    };
    assert_eq!(
        log.tile(t3).unwrap(),
        None,
        "not served before the tree covers it"
    );
    let mut acked = Vec::new();
    for n in 1..4 {
        let e = endorse(n, T0);
        acked.push((
            log.submit(e.clone()).await.unwrap().index,
            e.bytes().to_vec(),
        ));
    }
    // Size 5 now covers width 3 (from the current tile, never the leftover file).
    let served = log.tile(t3).unwrap().unwrap();
    assert_ne!(served, vec![0xAA; 96]);
    check_log(&log, &acked);
}

#[tokio::test]
async fn full_tiles_replace_their_partials() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(config(dir.path())).unwrap();
    let mut acked = Vec::new();
    for n in 0..300 {
        let e = endorse(n, T0);
        acked.push((
            log.submit(e.clone()).await.unwrap().index,
            e.bytes().to_vec(),
        ));
    }
    assert!(dir.path().join("log/tile/0/000").is_file());
    assert!(dir.path().join("log/tile/entries/000").is_file());
    assert!(
        !dir.path().join("log/tile/0/000.p").exists(),
        "partials deleted"
    );
    assert!(
        !dir.path().join("log/tile/entries/000.p").exists(),
        "partial bundles deleted"
    );
    // An old partial is still served, as a prefix of the full tile.
    let old = TileId {
        level: signet_core::tiles::TileLevel::Entries,
        index: 0,
        width: 2,
    };
    let bundle = log.tile(old).unwrap().unwrap();
    assert_eq!(signet_core::tiles::parse_bundle(&bundle).unwrap().len(), 2);
    check_log(&log, &acked);
    // Only the tlog-tiles layout lives in log/.
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("log"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["checkpoint", "tile"]);
}

#[tokio::test]
async fn concurrent_duplicates_make_one_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let e = endorse(1, T0);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (log, e) = (log.clone(), e.clone());
        tasks.push(tokio::spawn(async move { log.submit(e).await.unwrap() }));
    }
    let mut new = 0;
    for t in tasks {
        let ack = t.await.unwrap();
        assert_eq!(ack.index, 1);
        new += usize::from(ack.new);
    }
    assert_eq!(new, 1);
    assert_eq!(log.head().size, 2);
}

#[tokio::test]
async fn state_rules_are_applied_in_and_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    // In one batch: endorse, withdraw, a second endorsement conflicting with nothing.
    let (a, b, c) = (endorse(1, T0), withdraw(1, T0 + 1), endorse(1, T0 + 2));
    let (ra, rb, rc) = tokio::join!(log.submit(a), log.submit(b), log.submit(c));
    assert_eq!(
        (ra.unwrap().index, rb.unwrap().index, rc.unwrap().index),
        (1, 2, 3)
    );
    // A different endorsement while one is active: conflict, with the active entry.
    match log.submit(endorse(1, T0 + 3)).await {
        Err(Error::Conflict(active)) => {
            assert_eq!(active.index, 3);
            active.proof.verify(&active.entry, log.verifier()).unwrap();
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A withdrawal not later than the endorsement: refused.
    match log.submit(withdraw(1, T0 + 2)).await {
        Err(Error::Entry(e)) => assert_eq!(e.class(), signet_core::ErrorClass::Rejected),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(log.head().size, 4);
}

/// A log's data directory with its storage backend: the file system in the directory
/// itself, or a memory store beside it.
trait Store {
    type S: Storage;
    fn open(&self, dir: &Path) -> Faulty<Self::S>;
}

struct OnDisk;

impl Store for OnDisk {
    type S = FsStorage;
    fn open(&self, dir: &Path) -> Faulty<FsStorage> {
        Faulty::new(FsStorage::open(dir).unwrap())
    }
}

impl Store for MemStore {
    type S = MemStorage;
    fn open(&self, _: &Path) -> Faulty<MemStorage> {
        Faulty::new(MemStorage::open(self).unwrap())
    }
}

/// Runs a workload of single and batched submissions (crossing a full tile) on a log
/// whose storage fails at write operation `fail_at`; returns what was acknowledged.
async fn faulty_run(
    storage: Faulty<impl Storage>,
    dir: &Path,
) -> (Vec<(u64, Vec<u8>)>, bool, usize) {
    let storage = Arc::new(storage);
    let mut acked = Vec::new();
    let Ok(log) = Log::open_with(config(dir), storage.clone()) else {
        return (acked, true, storage.ops());
    };
    let log = Arc::new(log);
    let mut failed = false;
    let mut n = 0u32;
    for round in 0..6 {
        // Alternate single submissions and batches of 60 (so a full tile completes).
        let count = if round % 2 == 0 { 1 } else { 60 };
        let mut tasks = Vec::new();
        for _ in 0..count {
            let e = endorse(n, T0);
            n += 1;
            let log = log.clone();
            tasks.push(tokio::spawn(
                async move { (log.submit(e.clone()).await, e) },
            ));
        }
        for t in tasks {
            match t.await.unwrap() {
                (Ok(ack), e) => {
                    ack.proof.verify(e.bytes(), log.verifier()).unwrap();
                    acked.push((ack.index, e.bytes().to_vec()));
                }
                // A dead process cannot read the proof it would answer with: no acknowledgement.
                (
                    Err(
                        Error::NotStored
                        | Error::Unavailable { .. }
                        | Error::Closed(_)
                        | Error::Injected(_),
                    ),
                    _,
                ) => failed = true,
                (Err(other), _) => panic!("unexpected error {other}"),
            }
        }
    }
    drop(log);
    (acked, failed, storage.ops())
}

async fn recovery_on(store: impl Store) {
    // Count the write operations of a clean run, then fail at each of them in turn.
    let clean = tempfile::tempdir().unwrap();
    let (acked, failed, steps) = faulty_run(store.open(clean.path()), clean.path()).await;
    assert!(!failed);
    assert_eq!(acked.len(), 183);
    assert!(steps >= 10, "only {steps} write operations");
    let reopen = |dir: &Path| Log::open_with(config(dir), Arc::new(store.open(dir)));
    check_log(&reopen(clean.path()).unwrap(), &acked);
    for complete in [false, true] {
        for crash in [true, false] {
            for fail_at in 0..steps {
                let dir = tempfile::tempdir().unwrap();
                let storage = store
                    .open(dir.path())
                    .fail_at(fail_at, crash)
                    .complete_failed_writes(complete);
                let (acked, _, _) = faulty_run(storage, dir.path()).await;
                let log = reopen(dir.path()).unwrap_or_else(|e| {
                    panic!(
                        "recovery after fault {fail_at} (crash {crash}, complete {complete}): {e}"
                    )
                });
                check_log(&log, &acked);
                // The recovered log still takes new entries.
                let e = endorse(10_000, T0);
                let ack = log.submit(e.clone()).await.unwrap();
                assert!(ack.new);
                check_log(&log, &[(ack.index, e.bytes().to_vec())]);
            }
        }
    }
}

#[tokio::test]
async fn recovery_after_a_fault_at_every_step_keeps_every_acknowledged_entry() {
    recovery_on(OnDisk).await;
}

#[tokio::test]
async fn recovery_after_a_fault_at_every_step_keeps_every_acknowledged_entry_in_memory() {
    // A fresh store for every run: each run's data directory holds a new key.
    struct Fresh(std::sync::Mutex<std::collections::HashMap<PathBuf, MemStore>>);
    impl Store for Fresh {
        type S = MemStorage;
        fn open(&self, dir: &Path) -> Faulty<MemStorage> {
            let mut stores = self.0.lock().unwrap();
            let store = stores.entry(dir.to_path_buf()).or_default();
            Faulty::new(MemStorage::open(store).unwrap())
        }
    }
    recovery_on(Fresh(Default::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_integrates_or_refuses_every_pending_submission() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(
        Log::open(Config {
            batch_interval: std::time::Duration::from_millis(50),
            ..config(dir.path())
        })
        .unwrap(),
    );
    let mut tasks = Vec::new();
    for n in 0..200 {
        let (log, e) = (log.clone(), endorse(n, T0));
        tasks.push(tokio::spawn(
            async move { (log.submit(e.clone()).await, e) },
        ));
    }
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let closing = log.clone();
    tokio::task::spawn_blocking(move || closing.close())
        .await
        .unwrap();
    let mut acked = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (Ok(ack), e) => acked.push((ack.index, e.bytes().to_vec())),
            (Err(Error::Closed(_)), _) => {}
            (Err(other), _) => panic!("unexpected {other}"),
        }
    }
    assert!(!acked.is_empty());
    assert!(matches!(
        log.submit(endorse(999, T0)).await,
        Err(Error::Closed(_))
    ));
    drop(log);
    let log = Log::open(config(dir.path())).unwrap();
    check_log(&log, &acked);
}

#[tokio::test]
async fn finding_4_the_first_start_stores_the_key_last() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    // The first start dies at its first write: the empty tree's checkpoint.
    let storage = Arc::new(Faulty::new(MemStorage::open(&store).unwrap()).fail_at(0, true));
    assert!(Log::open_with(config(dir.path()), storage.clone()).is_err());
    assert_eq!(storage.ops(), 1, "the checkpoint was the first write");
    assert!(
        !dir.path().join("log.key").exists(),
        "a key was stored before the log it signs"
    );
    drop(storage);
    // The same, with the checkpoint stored and the key lost: an interrupted first start.
    let storage = Arc::new(
        Faulty::new(MemStorage::open(&store).unwrap())
            .fail_at(0, true)
            .complete_failed_writes(true),
    );
    assert!(Log::open_with(config(dir.path()), storage.clone()).is_err());
    assert!(storage.inner().read_checkpoint().unwrap().is_some());
    assert!(!dir.path().join("log.key").exists());
    drop(storage);
    let log = Log::open_with(
        config(dir.path()),
        Arc::new(MemStorage::open(&store).unwrap()),
    )
    .unwrap();
    check_log(&log, &[]);
}

#[tokio::test]
async fn a_stale_checkpoint_is_refused_and_surfaces_as_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    let storage = Arc::new(Faulty::new(MemStorage::open(&store).unwrap()));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    log.submit(endorse(1, T0)).await.unwrap();
    // Another writer, behind this log's back, replaces the checkpoint.
    let ours = storage.inner().read_checkpoint().unwrap().unwrap();
    let theirs = [ours.as_slice(), b"\n"].concat();
    storage
        .inner()
        .swap_checkpoint(Some(&ours), &theirs)
        .unwrap();
    let failed_before = log.metrics().failed_batches.get();
    match log.submit(endorse(2, T0)).await {
        Err(Error::NotStored) => {}
        other => panic!("expected the batch to fail as a fault, got {other:?}"),
    }
    assert_eq!(log.metrics().failed_batches.get(), failed_before + 1);
    assert_eq!(
        storage.inner().read_checkpoint().unwrap().unwrap(),
        theirs,
        "the other writer's checkpoint was overwritten"
    );
    // The direct call names the refusal.
    match storage.inner().swap_checkpoint(Some(&ours), &ours) {
        Err(e @ Error::StaleCheckpoint { .. }) => {
            assert!(e.to_string().contains("another writer"), "{e}")
        }
        other => panic!("expected a stale checkpoint, got {other:?}"),
    }
    assert!(
        log.health().is_err(),
        "the log reports that it cannot write"
    );
}

/// Hardening finding 1: a storage error that goes away (here `Too many open files`) fails
/// the batch it hit and refuses submissions while it lasts, with `Log::health` saying why,
/// and the log takes submissions again once storage works, without a restart and without
/// losing anything it acknowledged.
#[tokio::test]
async fn storage_errors_are_transient_and_health_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Faulty::new(FsStorage::open(dir.path()).unwrap()));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    let mut acked = Vec::new();
    let first = endorse(0, T0);
    acked.push((
        log.submit(first.clone()).await.unwrap().index,
        first.bytes().to_vec(),
    ));
    assert_eq!(log.health(), Ok(()));

    storage.set_broken(true);
    let hit = endorse(1, T0);
    match log.submit(hit.clone()).await {
        Err(Error::NotStored) => {}
        other => panic!("expected the failed batch to fail its submitter, got {other:?}"),
    }
    let reason = log.health().unwrap_err();
    assert!(reason.contains("cannot write to storage"), "{reason}");
    assert!(reason.contains("Too many open files"), "{reason}");
    assert!(reason.contains("since 20"), "{reason}");
    // While storage fails, a submission is refused at once with a reason and a retry hint.
    match log.submit(endorse(2, T0)).await {
        Err(e @ Error::Unavailable { .. }) => {
            let text = e.to_string();
            assert!(text.contains("Too many open files"), "{text}");
            assert!(text.contains("retry"), "{text}");
        }
        other => panic!("expected the log to be unavailable, got {other:?}"),
    }

    storage.set_broken(false);
    // The sequencer retries with a backoff of at most 5 s; give it two rounds.
    let healed = std::time::Instant::now();
    while log.health().is_err() {
        assert!(
            healed.elapsed() < std::time::Duration::from_secs(12),
            "still failing after storage healed: {:?}",
            log.health()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for e in [hit, endorse(2, T0), endorse(3, T0)] {
        let ack = log.submit(e.clone()).await.unwrap();
        assert!(ack.new);
        ack.proof.verify(e.bytes(), log.verifier()).unwrap();
        acked.push((ack.index, e.bytes().to_vec()));
    }
    check_log(&log, &acked);
    drop(log);
    drop(storage);
    check_log(&Log::open(config(dir.path())).unwrap(), &acked);
}

/// Writes 299 endorsements (so that entry 7 sits in a full bundle, not the last one),
/// then replaces the whole stored log with one whose entry 7 is `forge(entry 7, entry 8)`
/// (of the same length) and whose tiles and checkpoint are rebuilt and signed with the
/// log's own key, so that everything hashes to the signed root; and rebuilds the catalog
/// from scratch. Only the replay's own checks can catch the forgery: the rebuild must fail
/// with an error naming entry 7 and containing `want`, and no catalog row may hold the
/// name the forged bytes carry.
async fn tamper_and_rebuild(forge: impl Fn(&[u8], &[u8]) -> Vec<u8>, want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let mut tasks = Vec::new();
    for n in 0..299 {
        let (log, e) = (log.clone(), endorse(n, T0));
        tasks.push(tokio::spawn(
            async move { log.submit(e).await.unwrap().index },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let size = log.head().size;
    let entries: Vec<Vec<u8>> = (0..size).map(|i| log.entry(i).unwrap()).collect();
    drop(log);
    let forged = forge(&entries[7], &entries[8]);
    assert_eq!(forged.len(), entries[7].len());
    assert_ne!(forged, entries[7]);
    let forged_name = name_of(&forged);

    let key = std::fs::read_to_string(dir.path().join("log.key")).unwrap();
    let mut fake = signet_testkit::TestLog::with_key(SigningKey::parse(key.trim_end()).unwrap());
    for (i, e) in entries.into_iter().enumerate() {
        fake.push(if i == 7 { forged.clone() } else { e });
    }
    std::fs::remove_dir_all(dir.path().join("log")).unwrap();
    fake.publish(&dir.path().join("log"));
    for f in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }

    match Log::open(Config {
        reindex: true,
        ..config(dir.path())
    }) {
        Err(err @ Error::Corrupt { .. }) => {
            let text = err.to_string();
            assert!(text.contains("entry 7 "), "{text}");
            assert!(text.contains(want), "{text}");
        }
        Err(other) => panic!("expected corruption, got {other}"),
        Ok(_) => panic!("the rebuild accepted a forged entry"),
    }
    let catalog = rusqlite::Connection::open(dir.path().join("index.sqlite")).unwrap();
    let rows: i64 = catalog
        .query_row(
            "SELECT count(*) FROM signers WHERE name = ?1",
            [&forged_name],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 0, "a forged name reached the catalog");
}

/// The display name an endorsement's bytes carry.
fn name_of(entry: &[u8]) -> String {
    String::from_utf8_lossy(entry)
        .lines()
        .find_map(|l| l.strip_prefix("name ").map(str::to_owned))
        .unwrap()
}

/// A name changed in a bundle, tiles left alone: the signature no longer verifies.
#[tokio::test]
async fn rebuilding_the_catalog_trusts_no_entry() {
    let forge = |victim: &[u8], _: &[u8]| {
        let name = name_of(victim);
        String::from_utf8(victim.to_vec())
            .unwrap()
            .replacen(
                &format!("name {name}\n"),
                &format!("name {}\n", name.replace('S', "X")),
                1,
            )
            .into_bytes()
    };
    tamper_and_rebuild(forge, "not a valid entry").await;
}

/// A validly signed entry put in another's place in its bundle, the tiles left alone: its
/// leaf is not the tile's, so neither a rebuild nor any read uses it.
#[tokio::test]
async fn rebuilding_the_catalog_checks_every_leaf_against_its_tile() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let mut tasks = Vec::new();
    for n in 0..299 {
        let (log, e) = (log.clone(), endorse(n, T0));
        tasks.push(tokio::spawn(
            async move { log.submit(e).await.unwrap().index },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (victim, next) = (log.entry(7).unwrap(), log.entry(8).unwrap());
    drop(log);
    assert_eq!(victim.len(), next.len());
    let bundle = dir.path().join("log/tile/entries/000");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes
        .windows(victim.len())
        .position(|w| w == victim.as_slice())
        .unwrap();
    bytes[at..at + victim.len()].copy_from_slice(&next);
    std::fs::write(&bundle, bytes).unwrap();
    match Log::open(Config {
        reindex: true,
        ..config(dir.path())
    }) {
        Err(err @ (Error::Corrupt { .. } | Error::CorruptStorage { .. })) => {
            let text = err.to_string();
            assert!(text.contains("entry 7 "), "{text}");
            assert!(text.contains("does not hash to its leaf"), "{text}");
        }
        Err(other) => panic!("expected corruption, got {other}"),
        Ok(_) => panic!("the rebuild accepted a tampered bundle"),
    }
}

/// Corrupt storage is not transient: once recovery finds tiles that do not hash to the
/// signed root, the log refuses submissions and says so until it is restarted.
#[tokio::test]
async fn corruption_found_in_recovery_stops_the_log_until_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Faulty::new(FsStorage::open(dir.path()).unwrap()));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    for n in 0..3 {
        log.submit(endorse(n, T0)).await.unwrap();
    }
    storage.set_broken(true);
    assert!(matches!(
        log.submit(endorse(3, T0)).await,
        Err(Error::NotStored)
    ));
    let tile = dir.path().join("log/tile/0/000.p/4");
    let mut data = std::fs::read(&tile).unwrap();
    data[40] ^= 1;
    std::fs::write(&tile, data).unwrap();
    storage.set_broken(false);

    let healed = std::time::Instant::now();
    let reason = loop {
        match log.health() {
            Err(reason) if reason.contains("corrupt") => break reason,
            other => assert!(
                healed.elapsed() < std::time::Duration::from_secs(12),
                "corruption not found: {other:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(reason.contains("root"), "{reason}");
    // It stays that way: no retry makes corrupt storage sound.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(log.health(), Err(reason));
    match log.submit(endorse(3, T0)).await {
        Err(Error::Closed(why)) => assert!(why.contains("corrupt"), "{why}"),
        other => panic!("expected the log to refuse, got {other:?}"),
    }
    drop(log);
    drop(storage);
    let err = Log::open(config(dir.path())).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

/// `Log::cached` answers from the caches of checked tiles without touching storage, and
/// says `None` (rather than an error, or an answer built from unchecked data) whenever a
/// read would need storage, so a server can run warm reads on its async workers.
#[tokio::test]
async fn cached_reads_never_touch_storage_and_say_when_they_would() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemStore::new();
    {
        let log = Log::open_with(
            config(dir.path()),
            Arc::new(MemStorage::open(&store).unwrap()),
        )
        .unwrap();
        for n in 0..300 {
            log.submit(endorse(n, T0)).await.unwrap();
        }
        log.close();
    }
    // Reopened, its caches hold only what the start itself checked.
    let storage = Arc::new(Faulty::new(MemStorage::open(&store).unwrap()));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    let size = log.head().size;
    // Cold: the cache-only read gives up instead of reading, even from a store that
    // would fail, and says so with `None`.
    storage.set_fail_reads(true);
    assert!(
        log.cached(|l| l.tlog_proof(3)).is_none(),
        "a cold proof needed no storage?"
    );
    assert!(
        log.cached(|l| l.entry(3)).is_none(),
        "a cold entry needed no storage?"
    );
    // The gate reopens afterwards: an ordinary read reaches storage (and fails here).
    assert!(
        log.tlog_proof(3).is_err(),
        "the failing store was not reached"
    );
    storage.set_fail_reads(false);
    let proof = log.tlog_proof(3).unwrap();
    let entry = log.entry(3).unwrap();
    // Warm: the same reads answer from the caches alone, with the same bytes.
    storage.set_fail_reads(true);
    let cached = log.cached(|l| l.tlog_proof(3)).unwrap();
    assert_eq!(cached.unwrap().to_bytes(), proof.to_bytes());
    let cached = log.cached(|l| l.entry(3)).unwrap();
    assert_eq!(cached.unwrap(), entry);
    let inclusion = log.cached(|l| l.inclusion_proof(3, size)).unwrap();
    assert_eq!(inclusion.unwrap(), proof.hashes);
    storage.set_fail_reads(false);
}

/// Polls `done` every 5 ms for at most 10 s; panics with `what` when it never holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "timed out waiting until {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// The pipeline (ARCHITECTURE.md, *The sequencer's pipeline*): batch N+1 is decided
/// through batch N and its tiles are written while N's checkpoint is still being
/// written; N+1 is answered only after N; and when N's checkpoint fails, N+1 fails too,
/// since its decisions rest on N. After the log recovers, nothing of either is in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_batch_overlaps_the_checkpoint_and_fails_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Faulty::new(FsStorage::open(dir.path()).unwrap()));
    let log = Arc::new(Log::open_with(config(dir.path()), storage.clone()).unwrap());
    let mut acked = Vec::new();

    // A clean round first: a batch held at its checkpoint, the next one overlapping it,
    // both acknowledged in order once the checkpoint goes through.
    for (n, fail) in [(0, false), (1, true)] {
        storage.hold_checkpoints();
        let tiles_before = storage.tile_writes();
        let endorsement = endorse(n, T0);
        let first = tokio::spawn({
            let (log, e) = (log.clone(), endorsement.clone());
            async move { log.submit(e).await }
        });
        eventually("the first batch waits at its checkpoint", || {
            storage.held_checkpoints() == 1
        })
        .await;
        // The withdrawal is valid only because of the endorsement in flight.
        let withdrawal = withdraw(n, T0 + 1);
        let second = tokio::spawn({
            let (log, e) = (log.clone(), withdrawal.clone());
            async move { log.submit(e).await }
        });
        eventually("the second batch's tiles are written", || {
            storage.tile_writes() == tiles_before + 2
        })
        .await;
        assert_eq!(storage.held_checkpoints(), 1, "one checkpoint at a time");
        assert!(!first.is_finished() && !second.is_finished());
        if fail {
            storage.set_fail_writes(true);
        }
        storage.release_checkpoints();
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        if !fail {
            let (a, b) = (first.unwrap(), second.unwrap());
            assert!(a.new && b.new);
            assert_eq!(b.index, a.index + 1);
            a.proof.verify(endorsement.bytes(), log.verifier()).unwrap();
            b.proof.verify(withdrawal.bytes(), log.verifier()).unwrap();
            acked.push((a.index, endorsement.bytes().to_vec()));
            acked.push((b.index, withdrawal.bytes().to_vec()));
            continue;
        }
        assert!(matches!(first, Err(Error::NotStored)), "{first:?}");
        assert!(
            matches!(second, Err(Error::NotStored | Error::Unavailable { .. })),
            "the batch after a failed one must fail too: {second:?}"
        );
        storage.set_fail_writes(false);
        eventually("the log recovers", || log.health().is_ok()).await;
        // Neither entry is in the log: the withdrawal alone is refused, since its
        // endorsement was never logged.
        match log.submit(withdrawal.clone()).await {
            Err(Error::Entry(e)) => assert!(e.to_string().contains("endorse"), "{e}"),
            other => panic!("a withdrawal without its endorsement was taken: {other:?}"),
        }
        for e in [endorsement, withdrawal] {
            let ack = log.submit(e.clone()).await.unwrap();
            assert!(ack.new);
            acked.push((ack.index, e.bytes().to_vec()));
        }
    }
    check_log(&log, &acked);
    // Everything acknowledged is in the catalog the moment the acknowledgement is read.
    assert_eq!(withdrawn(&log), ["Signer 0", "Signer 1"]);
}

/// A tile the log wrote and then pushed out of its cache is checked whole when a proof
/// first reads it back: a byte changed on disk far from the proof's own path is found
/// there, not trusted because the tile was once written correctly.
#[tokio::test]
async fn a_tile_read_back_after_its_write_is_checked_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(Config {
        // Two tiles in memory: the level-0 and level-1 tiles each batch writes, so the
        // answers' proofs never read a tile back, and the next tiles push tile 0 out.
        tile_cache: 2,
        ..config(dir.path())
    })
    .unwrap();
    for n in 0..3 * 256 + 10 {
        log.submit(endorse(n, T0)).await.unwrap();
    }
    // Leaf 5 of tile 0: the proof of entry 200 never uses it on its own.
    let tile = dir.path().join("log/tile/0/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[5 * 32] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    match log.tlog_proof(200) {
        Err(Error::CorruptStorage { file, reason }) => {
            assert_eq!(file, "tile/0/000", "{reason}");
        }
        Err(other) => panic!("expected corrupt storage, got {other}"),
        Ok(_) => panic!("a proof was served through a tile that was changed on disk"),
    }
    assert_eq!(log.corrupt_storage_reads(), 1);
}
