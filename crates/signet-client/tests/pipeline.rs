//! The audit's pipeline: the first bad entry is reported whatever order the bundles are
//! downloaded and verified in, the cache of decoded keys keeps to its bound, and a log
//! served slowly is audited to the end with no more requests in flight than threads.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_client::{AuditOptions, AuditReport, Client, Error, MisbehaviourKind, audit};
use signet_core::VerifierKey;
use signet_testkit::{Request, Response, TestLog, TestServer, key, letter};

const ORIGIN: &str = "example.org/pipeline-log";

/// Audits the log served by `server` from scratch.
fn run(server: &TestServer, log: &TestLog, options: AuditOptions) -> Result<AuditReport, Error> {
    let key = VerifierKey::parse(&log.vkey()).unwrap();
    let client = Client::new(server.url()).unwrap();
    audit(&client, &key, None, options, &mut |_, _| {}).map(|(report, _)| report)
}

/// Pipelined options: several downloaders, a window of several bundles.
fn pipelined() -> AuditOptions {
    AuditOptions {
        threads: 4,
        ..AuditOptions::default()
    }
}

/// Appends one entry to a log with this letter.
type Build = fn(&mut TestLog, signet_core::LetterId);

/// A log of `size` entries: a letter, then endorsements each by a new signer, with the
/// entry at each index of `bad` made by its builder instead.
fn log_with(size: u64, bad: &[(u64, Build)]) -> TestLog {
    let mut log = TestLog::new(ORIGIN);
    let l = letter(1);
    log.register(&l, "test-letter", 0);
    while log.len() < size {
        let i = log.len();
        match bad.iter().find(|(at, _)| *at == i) {
            Some((_, build)) => build(&mut log, l.id()),
            None => {
                let k = key(&format!("s{i}"), &format!("signer {i}"));
                log.endorse(&k, l.id(), &format!("Signer {i}"), i);
            }
        }
        assert_eq!(log.len(), i + 1, "each builder adds one entry");
    }
    log
}

/// An endorsement whose signature does not verify.
fn bad_signature(log: &mut TestLog, l: signet_core::LetterId) {
    let alice = key("alice", "alice");
    let mut bytes = signet_testkit::endorsement(&alice, l, "Alice", 1);
    let n = bytes.len();
    bytes[n - 6] = if bytes[n - 6] == b'A' { b'B' } else { b'A' };
    log.push(bytes);
}

/// A withdrawal with nothing to withdraw: a rule of state broken.
fn lone_withdrawal(log: &mut TestLog, l: signet_core::LetterId) {
    log.withdraw(&key("bob", "bob"), l, 1);
}

/// Serves `root`, holding the first entry bundle back for a while; returns the server
/// and a flag set when the last bundle was served before the first.
fn first_bundle_held(root: &Path) -> (TestServer, Arc<AtomicBool>) {
    let first_served = Arc::new(AtomicBool::new(false));
    let overtaken = Arc::new(AtomicBool::new(false));
    let (first, o) = (first_served.clone(), overtaken.clone());
    let server = TestServer::with_handler(root, move |r: &Request| {
        if r.path.starts_with("/tile/entries/000") {
            std::thread::sleep(Duration::from_millis(400));
            first.store(true, Ordering::SeqCst);
        } else if r.path.starts_with("/tile/entries/002") && !first.load(Ordering::SeqCst) {
            o.store(true, Ordering::SeqCst);
        }
        None
    });
    (server, overtaken)
}

/// The first bad entry in log order is reported, of its own kind, though a later bad
/// entry of the other kind was downloaded and verified first.
#[test]
fn first_bad_entry_is_reported_whatever_is_verified_first() {
    let cases: [(&str, Build, Build, MisbehaviourKind); 2] = [
        (
            "bad signature before a broken rule",
            bad_signature,
            lone_withdrawal,
            MisbehaviourKind::InvalidEntry,
        ),
        (
            "broken rule before a bad signature",
            lone_withdrawal,
            bad_signature,
            MisbehaviourKind::StateRule,
        ),
    ];
    for (name, early, late, kind) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let log = log_with(700, &[(100, early), (600, late)]);
        log.publish(tmp.path());
        let (server, overtaken) = first_bundle_held(tmp.path());
        let m = match run(&server, &log, pipelined()) {
            Err(Error::Misbehaviour(m)) => m,
            Err(e) => panic!("{name}: expected {kind:?}, got error {e}"),
            Ok(r) => panic!("{name}: expected {kind:?}, the audit passed at {}", r.size),
        };
        assert_eq!(m.kind, kind, "{name}: {}", m.message);
        assert_eq!(m.index, Some(100), "{name}: {}", m.message);
        assert_eq!(
            m.entry.as_deref(),
            Some(log.entries()[100].as_slice()),
            "{name}"
        );
        assert!(
            overtaken.load(Ordering::SeqCst),
            "{name}: the bundle of entry 600 was served before the first"
        );
    }
}

/// A log whose every entry has a new signer decodes each key once and never holds more
/// decoded keys than the bound; a log of few signers decodes few keys.
#[test]
fn key_cache_keeps_to_its_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let log = log_with(600, &[]);
    log.publish(tmp.path());
    let server = TestServer::serve(tmp.path());
    let report = run(
        &server,
        &log,
        AuditOptions {
            key_cache: 16,
            ..pipelined()
        },
    )
    .unwrap();
    assert_eq!(report.size, 600);
    // The log key (the registration) and 599 signers, each key met once.
    assert_eq!(report.keys_decoded, 600);
    assert!(report.keys_held <= 16, "held {}", report.keys_held);
    assert!(report.keys_held >= 1, "the cache was used");

    let tmp = tempfile::tempdir().unwrap();
    let (log, _) = TestLog::valid(ORIGIN, 600, 5);
    log.publish(tmp.path());
    let server = TestServer::serve(tmp.path());
    let report = run(&server, &log, pipelined()).unwrap();
    // Six keys; two verifiers meeting a new key at once may both decode it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(
        (6..=6 * cores).contains(&report.keys_decoded),
        "decoded {} keys for 6 signers",
        report.keys_decoded
    );
    assert_eq!(report.keys_held, 6);
}

/// Every tile answered only after a delay: the audit still ends, right and within a
/// bound of time, and never has more requests in flight than downloading threads.
#[test]
fn slowly_served_log_is_audited_within_bounds() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, _) = TestLog::valid(ORIGIN, 2000, 7);
    log.publish(tmp.path());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(Mutex::new(0usize));
    let (f, m) = (in_flight.clone(), most.clone());
    let server = TestServer::with_handler(tmp.path(), move |r: &Request| -> Option<Response> {
        if r.path.starts_with("/tile/") {
            let now = f.fetch_add(1, Ordering::SeqCst) + 1;
            let mut most = m.lock().unwrap();
            *most = (*most).max(now);
            drop(most);
            std::thread::sleep(Duration::from_millis(30));
            f.fetch_sub(1, Ordering::SeqCst);
        }
        None
    });
    let threads = 2;
    let start = Instant::now();
    let report = run(
        &server,
        &log,
        AuditOptions {
            threads,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(report.size, 2000);
    assert_eq!(report.entries_verified, 2000);
    let most = *most.lock().unwrap();
    assert!(most >= 1 && most <= threads, "{most} requests in flight");
    // 8 bundles, 8 level-0 tiles and a level-1 tile at 30 ms each, two at a time: about
    // 0.3 s; a stall would take far longer.
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}
