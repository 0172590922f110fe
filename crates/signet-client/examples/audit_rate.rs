//! Measures the auditor against the single-core `verify_strict` rate, on a log built in
//! a temporary directory and served on loopback by the test server:
//!
//! ```sh
//! cargo run --release -p signet-client --example audit_rate -- 100000
//! ```
//!
//! `signet-bench audit` is the end-to-end figure (real server, real binary); this one
//! isolates the engine.
#![expect(clippy::unwrap_used, reason = "a measuring tool: any failure is fatal")]

use std::time::{Duration, Instant};

use signet_client::{AuditOptions, Client, audit};
use signet_core::Entry;
use signet_core::note::Note;
use signet_testkit::{TestLog, TestServer};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(100_000, |a| a.parse().unwrap());
    // `parse-only`: just the single-core Entry::parse loop, for a profiler.
    let parse_only = std::env::args().nth(2).is_some_and(|a| a == "parse-only");
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (log, _) = TestLog::valid("example.org/bench-log", n, 1000);
    log.publish(tmp.path());
    eprintln!("built {n} entries in {:.1?}", t.elapsed());

    // Single-core verify_strict rate over real entries' signatures.
    let samples: Vec<(signet_core::VerifierKey, Vec<u8>, [u8; 64])> = log.entries()
        [1..1001.min(n as usize)]
        .iter()
        .map(|bytes| {
            let entry = Entry::parse(bytes).unwrap();
            let note = Note::parse(bytes).unwrap();
            let sig: [u8; 64] = note.signatures()[0]
                .signature
                .as_slice()
                .try_into()
                .unwrap();
            (
                entry.statement().key().clone(),
                note.text().as_bytes().to_vec(),
                sig,
            )
        })
        .collect();
    let (mut count, start) = (0u64, Instant::now());
    while start.elapsed() < Duration::from_secs(3) {
        for (key, msg, sig) in &samples {
            key.verify_ed25519(msg, sig).unwrap();
            count += 1;
        }
    }
    let verify_rate = count as f64 / start.elapsed().as_secs_f64();

    // What else each entry costs, single-core: the full parse (grammar and signature),
    // then replaying the state rules.
    if parse_only {
        let start = Instant::now();
        for b in log.entries() {
            Entry::parse(b).unwrap();
        }
        println!(
            "Entry::parse {:.0}/s",
            n as f64 / start.elapsed().as_secs_f64()
        );
        return;
    }
    let entries = &log.entries()[..20_000.min(n as usize)];
    let start = Instant::now();
    let parsed: Vec<Entry> = entries.iter().map(|b| Entry::parse(b).unwrap()).collect();
    let parse_rate = parsed.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut state = signet_core::state::LogState::new(log.key().verifier());
    for e in &parsed {
        state.apply(e).unwrap();
    }
    let apply_rate = parsed.len() as f64 / start.elapsed().as_secs_f64();
    eprintln!("single-core: Entry::parse {parse_rate:.0}/s, LogState::apply {apply_rate:.0}/s");

    let server = TestServer::serve(tmp.path());
    let client = Client::new(server.url()).unwrap();
    let key = log.key().verifier();
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let (report, _) = audit(&client, &key, None, AuditOptions::default(), &mut |_, _| {}).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    let audit_rate = report.entries_verified as f64 / elapsed;
    eprintln!(
        "audit used {:.2} s of CPU in {elapsed:.2} s",
        cpu_seconds() - cpu_before
    );
    println!(
        "entries {n}, audit {elapsed:.2} s = {audit_rate:.0}/s, verify_strict {verify_rate:.0}/s single-core, R_audit = {:.2}",
        audit_rate / verify_rate
    );
}

/// User and system CPU time of this process so far (Linux), to tell a slow audit from a
/// starved one on a shared machine.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split(' ').collect();
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    let ticks: f64 =
        fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
    ticks / 100.0
}
