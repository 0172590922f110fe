//! Crash durability: concurrent submitters record every acknowledged (index, leaf hash);
//! the server is killed with SIGKILL at a random moment, restarted, and checked.
//!
//! `SIGNET_CRASH_TRIALS` sets the number of kill/restart trials (default 5; use 50 or
//! more for a soak). Every loop is bounded in count and time, and all traffic stays on
//! loopback.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use signet_core::merkle;
use signet_core::{Hash, SignedCheckpoint, TlogProof, VerifierKey};
use signet_testkit::harness::{Server, assert_exit, signet};

const SUBMITTERS: usize = 4;

/// What the submitters saw acknowledged.
#[derive(Default)]
struct Acks {
    entries: Vec<(u64, Hash)>,
    checkpoints: Vec<(u64, Hash)>,
}

fn endorsement(n: u64) -> Vec<u8> {
    signet_testkit::harness::endorsement("crash", n)
}

/// Pseudo-random milliseconds in `lo..hi`, different in every trial.
fn random_ms(lo: u64, hi: u64, salt: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let h = Hash::sha256(format!("{nanos}-{salt}").as_bytes()).0;
    lo + u64::from_le_bytes(h[..8].try_into().unwrap()) % (hi - lo)
}

#[test]
fn nothing_acknowledged_is_lost_across_sigkill() {
    let trials: u64 = std::env::var("SIGNET_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let acks = Arc::new(Mutex::new(Acks::default()));
    let counter = Arc::new(AtomicU64::new(0));
    let mut server = Server::start(&data);
    let log_key = VerifierKey::parse(&server.vkey).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30 + 20 * trials);

    for trial in 0..trials {
        assert!(
            Instant::now() < deadline,
            "crash test ran out of time at trial {trial}"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..SUBMITTERS)
            .map(|_| {
                let (url, acks, counter, stop, log_key) = (
                    server.url.clone(),
                    Arc::clone(&acks),
                    Arc::clone(&counter),
                    Arc::clone(&stop),
                    log_key.clone(),
                );
                std::thread::spawn(move || {
                    submit_until_stopped(&url, &acks, &counter, &stop, &log_key)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(random_ms(30, 400, trial)));
        server.kill();
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().unwrap();
        }

        server = Server::start(&data);
        check_after_restart(&server, &acks.lock().unwrap(), &log_key);
    }

    let total = acks.lock().unwrap().entries.len();
    assert!(
        total > 0,
        "no submission was acknowledged in {trials} trials"
    );
    let state = tmp.path().join("audit");
    let out = signet(
        tmp.path(),
        &[
            "audit",
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
            "--state",
            &state.display().to_string(),
        ],
    );
    assert_exit(&out, 0, "audit after the crashes");
}

fn submit_until_stopped(
    url: &str,
    acks: &Mutex<Acks>,
    counter: &AtomicU64,
    stop: &AtomicBool,
    log_key: &VerifierKey,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    // Bounded: at most 10,000 submissions per thread per trial.
    for _ in 0..10_000 {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let entry = endorsement(counter.fetch_add(1, Ordering::SeqCst));
        let Ok(mut resp) = agent
            .post(format!("{url}/v1/endorsements"))
            .content_type("text/plain")
            .send(&entry[..])
        else {
            return; // The server is gone: this trial's submissions are over.
        };
        let status = resp.status().as_u16();
        let Ok(body) = resp.body_mut().read_to_vec() else {
            return;
        };
        if status == 503 {
            continue;
        }
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let index = v["index"].as_u64().unwrap();
        let proof = TlogProof::parse(v["proof"].as_str().unwrap().as_bytes()).unwrap();
        let checkpoint = proof
            .verify(&entry, log_key)
            .expect("every acknowledgement carries a valid proof");
        let mut acks = acks.lock().unwrap();
        acks.entries.push((index, Hash::leaf(&entry)));
        acks.checkpoints.push((checkpoint.size, checkpoint.root));
    }
}

fn check_after_restart(server: &Server, acks: &Acks, log_key: &VerifierKey) {
    let checkpoint = SignedCheckpoint::parse(&server.get("/checkpoint").1).unwrap();
    let head = checkpoint.verify(log_key).unwrap().clone();
    for &(index, leaf) in &acks.entries {
        assert!(
            index < head.size,
            "acknowledged index {index} is past the restarted tree ({})",
            head.size
        );
        let v = server.get_json(&format!("/v1/entries/{index}"), 200);
        let served = Hash::from_base64(v["leaf_hash"].as_str().unwrap()).unwrap();
        assert_eq!(served, leaf, "entry {index} changed across the crash");
        let v = server.get_json(
            &format!("/v1/proof/inclusion?index={index}&size={}", head.size),
            200,
        );
        let hashes = proof_hashes(&v);
        merkle::verify_inclusion(&leaf, index, head.size, &hashes, &head.root)
            .expect("acknowledged entry is in the new tree");
    }
    let mut seen = acks.checkpoints.clone();
    seen.sort_unstable_by_key(|c| c.0);
    seen.dedup_by_key(|c| c.0);
    for (old, old_root) in seen {
        let v = server.get_json(
            &format!("/v1/proof/consistency?old={old}&size={}", head.size),
            200,
        );
        let hashes = proof_hashes(&v);
        merkle::verify_consistency(old, head.size, &old_root, &head.root, &hashes).unwrap_or_else(
            |e| panic!("checkpoint of size {old} is not consistent with the restarted log: {e}"),
        );
    }
}

/// The `hashes` of a JSON proof answer.
fn proof_hashes(v: &serde_json::Value) -> Vec<Hash> {
    v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}
