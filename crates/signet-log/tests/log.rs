//! The log as a whole: first start, restart, the lock, recovery from every storage fault
//! of an integration, and the index catching up.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signet_core::keys::SignatureType;
use signet_core::merkle;
use signet_core::state::LogState;
use signet_core::{
    Endorsement, Entry, Hash, KeyName, Letter, LetterId, SigningKey, Statement, TileId, Timestamp,
    Withdrawal,
};
use signet_log::{Config, Error, FsStorage, Log, SignatoryQuery, StatusFilter, Storage};

fn letters_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../registry-data/letters")
}

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
    let page = log
        .signatories(&SignatoryQuery {
            letter: letter_id(),
            q: None,
            status: StatusFilter::Withdrawn,
            after: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].name, "Signer 3");
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
    let storage = FsStorage::open(dir.path().join("log"), dir.path().join("tmp")).unwrap();
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

/// A storage backend that fails at its `fail_at`-th write operation: `crash` makes every
/// later write fail too (the process is as good as dead), otherwise only that one fails.
/// A failing `write_tiles` first writes half of its tiles, as a crash midway would.
#[derive(Debug)]
struct Faulty {
    inner: FsStorage,
    ops: AtomicUsize,
    fail_at: usize,
    crash: bool,
    dead: AtomicBool,
    /// While set, every read and write fails as a process out of file descriptors would.
    broken: AtomicBool,
}

impl Faulty {
    fn new(dir: &Path, fail_at: usize, crash: bool) -> Faulty {
        Faulty {
            inner: FsStorage::open(dir.join("log"), dir.join("tmp")).unwrap(),
            ops: AtomicUsize::new(0),
            fail_at,
            crash,
            dead: AtomicBool::new(false),
            broken: AtomicBool::new(false),
        }
    }

    /// `Too many open files`, as `open` reports it, while the storage is broken.
    fn emfile(&self) -> Result<(), Error> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(Error::Io {
                action: "open",
                path: PathBuf::from("log/tile"),
                source: std::io::Error::from_raw_os_error(24),
            });
        }
        Ok(())
    }

    fn fault(&self) -> bool {
        if self.dead.load(Ordering::SeqCst) {
            return true;
        }
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        if n == self.fail_at {
            if self.crash {
                self.dead.store(true, Ordering::SeqCst);
            }
            return true;
        }
        false
    }
}

impl Storage for Faulty {
    fn sync_existing(&self) -> Result<(), Error> {
        if self.dead.load(Ordering::SeqCst) {
            return Err(Error::Injected("dead"));
        }
        self.inner.sync_existing()
    }
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        self.emfile()?;
        if self.dead.load(Ordering::SeqCst) {
            return Err(Error::Injected("dead"));
        }
        self.inner.read_checkpoint()
    }
    fn write_checkpoint(&self, checkpoint: &[u8]) -> Result<(), Error> {
        self.emfile()?;
        if self.fault() {
            return Err(Error::Injected("write_checkpoint"));
        }
        self.inner.write_checkpoint(checkpoint)
    }
    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error> {
        self.emfile()?;
        if self.dead.load(Ordering::SeqCst) {
            return Err(Error::Injected("dead"));
        }
        self.inner.read_tile(tile)
    }
    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error> {
        self.emfile()?;
        if self.fault() {
            let _ = self.inner.write_tiles(&tiles[..tiles.len() / 2]);
            return Err(Error::Injected("write_tiles"));
        }
        self.inner.write_tiles(tiles)
    }
    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error> {
        if self.fault() {
            return Err(Error::Injected("delete_partial_tiles"));
        }
        self.inner.delete_partial_tiles(full)
    }
    fn is_empty(&self) -> Result<bool, Error> {
        self.inner.is_empty()
    }
}

/// Runs a workload of single and batched submissions (crossing a full tile) on a log
/// whose storage fails at write operation `fail_at`; returns what was acknowledged.
async fn faulty_run(dir: &Path, fail_at: usize, crash: bool) -> (Vec<(u64, Vec<u8>)>, bool, usize) {
    let storage = Arc::new(Faulty::new(dir, fail_at, crash));
    let mut acked = Vec::new();
    let Ok(log) = Log::open_with(config(dir), storage.clone()) else {
        return (acked, true, storage.ops.load(Ordering::SeqCst));
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
                (Err(Error::NotStored | Error::Unavailable { .. } | Error::Closed(_)), _) => {
                    failed = true
                }
                (Err(other), _) => panic!("unexpected error {other}"),
            }
        }
    }
    drop(log);
    (acked, failed, storage.ops.load(Ordering::SeqCst))
}

#[tokio::test]
async fn recovery_after_a_fault_at_every_step_keeps_every_acknowledged_entry() {
    // Count the write operations of a clean run, then fail at each of them in turn.
    let clean = tempfile::tempdir().unwrap();
    let (acked, failed, steps) = faulty_run(clean.path(), usize::MAX, false).await;
    assert!(!failed);
    assert_eq!(acked.len(), 183);
    assert!(steps >= 10, "only {steps} write operations");
    check_log(&Log::open(config(clean.path())).unwrap(), &acked);
    for crash in [true, false] {
        for fail_at in 0..steps {
            let dir = tempfile::tempdir().unwrap();
            let (acked, _, _) = faulty_run(dir.path(), fail_at, crash).await;
            let log = Log::open(config(dir.path()))
                .unwrap_or_else(|e| panic!("recovery after fault {fail_at} (crash {crash}): {e}"));
            check_log(&log, &acked);
            // The recovered log still takes new entries.
            let e = endorse(10_000, T0);
            let ack = log.submit(e.clone()).await.unwrap();
            assert!(ack.new);
            check_log(&log, &[(ack.index, e.bytes().to_vec())]);
        }
    }
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

/// Hardening finding 1: a storage error that goes away (here `Too many open files`) fails
/// the batch it hit and refuses submissions while it lasts, with `Log::health` saying why,
/// and the log takes submissions again once storage works, without a restart and without
/// losing anything it acknowledged.
#[tokio::test]
async fn storage_errors_are_transient_and_health_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Faulty::new(dir.path(), usize::MAX, false));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    let mut acked = Vec::new();
    let first = endorse(0, T0);
    acked.push((
        log.submit(first.clone()).await.unwrap().index,
        first.bytes().to_vec(),
    ));
    assert_eq!(log.health(), Ok(()));

    storage.broken.store(true, Ordering::SeqCst);
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

    storage.broken.store(false, Ordering::SeqCst);
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
    check_log(&Log::open(config(dir.path())).unwrap(), &acked);
}

/// Writes 299 endorsements (so that entry 7 sits in a full bundle, not the last one),
/// replaces entry 7's bytes in its bundle with the bytes `forge(entry 7, entry 8)` gives
/// (of the same length), leaves every tile alone, and rebuilds the catalog: the rebuild
/// must fail with an error naming entry 7 and containing `want`, and no catalog row may
/// hold the name the forged bytes carry.
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
    let (victim, next) = (log.entry(7).unwrap(), log.entry(8).unwrap());
    drop(log);
    let forged = forge(&victim, &next);
    assert_eq!(forged.len(), victim.len());
    assert_ne!(forged, victim);
    let forged_name = name_of(&forged);
    let bundle = dir.path().join("log/tile/entries/000");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes
        .windows(victim.len())
        .position(|w| w == victim.as_slice())
        .unwrap();
    bytes[at..at + victim.len()].copy_from_slice(&forged);
    std::fs::write(&bundle, bytes).unwrap();

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
        Ok(_) => panic!("the rebuild accepted a tampered bundle"),
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

/// A validly signed entry put in another's place: its leaf is not the tile's.
#[tokio::test]
async fn rebuilding_the_catalog_checks_every_leaf_against_its_tile() {
    let forge = |_: &[u8], next: &[u8]| next.to_vec();
    tamper_and_rebuild(forge, "does not hash to its leaf").await;
}

/// Corrupt storage is not transient: once recovery finds tiles that do not hash to the
/// signed root, the log refuses submissions and says so until it is restarted.
#[tokio::test]
async fn corruption_found_in_recovery_stops_the_log_until_restart() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Faulty::new(dir.path(), usize::MAX, false));
    let log = Log::open_with(config(dir.path()), storage.clone()).unwrap();
    for n in 0..3 {
        log.submit(endorse(n, T0)).await.unwrap();
    }
    storage.broken.store(true, Ordering::SeqCst);
    assert!(matches!(
        log.submit(endorse(3, T0)).await,
        Err(Error::NotStored)
    ));
    let tile = dir.path().join("log/tile/0/000.p/4");
    let mut data = std::fs::read(&tile).unwrap();
    data[40] ^= 1;
    std::fs::write(&tile, data).unwrap();
    storage.broken.store(false, Ordering::SeqCst);

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
    let err = Log::open(config(dir.path())).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}
