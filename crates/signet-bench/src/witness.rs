//! `signet-bench witness`: how many add-checkpoint requests a real `signet-witness`
//! answers per second, each with a real consistency proof and a durably stored state.
//!
//! The benchmark starts the witness on a temporary data directory, witnessing `logs`
//! logs whose keys it makes. Before any timing it builds, for each log, a tree of
//! `count / logs` leaves and one request per size `1, 2, …`: the checkpoint of that size
//! signed by the log, and the consistency proof from the size before (the first request
//! is from `old 0`, with no proof). One worker per log sends that log's requests in
//! order, each after the answer to the one before, as a log does; the logs run
//! concurrently. Every answer must be `200` and carry a cosignature that verifies with
//! the witness's key on exactly that checkpoint.

use std::path::PathBuf;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;
use signet_core::keys::SignatureType;
use signet_core::merkle::{self, Subtree};
use signet_core::witness::{AddCheckpoint, parse_cosignatures};
use signet_core::{Checkpoint, Hash, KeyName, SigningKey, VerifierKey, cosignature};

use crate::http;
use crate::server::{self, Server};
use crate::stats::{self, Latency};

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// Requests in all.
    pub count: usize,
    /// Logs witnessed at once (one worker each).
    pub logs: usize,
    /// The `signet-witness` binary, or `None` for the one beside `signet-bench`.
    pub witness_bin: Option<PathBuf>,
    /// The longest the run may take.
    pub max_duration: Duration,
    /// How long to measure the `verify_strict` rate.
    pub verify_time: Duration,
}

/// The outcome (the `--json` schema of `signet-bench witness` in README.md).
#[derive(Debug, Serialize)]
pub struct WitnessOutcome {
    /// `"witness"`.
    pub command: &'static str,
    /// Logs witnessed at once.
    pub logs: usize,
    /// Requests made.
    pub requests: u64,
    /// Answers that were `200` with a valid cosignature on the checkpoint sent.
    pub cosigned: u64,
    /// The first failure, for the diagnostics.
    pub first_failure: Option<String>,
    /// Seconds from the first request to the last answer.
    pub elapsed_s: f64,
    /// Cosigned checkpoints per second.
    pub cosigned_per_s: f64,
    /// Request latency of the `200` answers.
    pub latency_ms: Latency,
    /// CPU seconds the witness used meanwhile (Linux).
    pub witness_cpu_s: Option<f64>,
    /// The witness's CPU per cosigned checkpoint, microseconds.
    pub witness_cpu_us_per_request: Option<f64>,
    /// CPU seconds this generator used meanwhile (Linux).
    pub generator_cpu_s: Option<f64>,
    /// Single-core `verify_strict` rate in this run, verifications per second.
    pub verify_strict_per_s: f64,
    /// Cores available to this process.
    pub nproc: usize,
}

/// Every complete subtree hash of a tree: `levels[l][i]` covers leaves `i·2^l ..
/// (i+1)·2^l`.
fn levels(leaves: Vec<Hash>) -> Vec<Vec<Hash>> {
    let mut levels = vec![leaves];
    while let Some(last) = levels.last()
        && last.len() > 1
    {
        let next = last
            .chunks_exact(2)
            .map(|pair| Hash::node(&pair[0], &pair[1]))
            .collect();
        levels.push(next);
    }
    levels
}

/// One log's requests, in order: the body and the checkpoint it must come back cosigned.
fn requests(key: &SigningKey, count: usize, log: usize) -> Result<Vec<(Vec<u8>, Checkpoint)>> {
    let leaves = (0..count)
        .map(|i| Hash::leaf(format!("signet-bench witness log {log} entry {i}").as_bytes()))
        .collect();
    let levels = levels(leaves);
    let subtree = |s: Subtree| {
        levels
            .get(usize::from(s.level))
            .and_then(|l| l.get(usize::try_from(s.index).ok()?))
            .copied()
    };
    (1..=count as u64)
        .map(|size| {
            let root = merkle::root_plan(size)?.assemble(subtree)?.remove(0);
            let checkpoint = Checkpoint {
                origin: key.name().as_str().to_owned(),
                size,
                root,
                extensions: vec![],
            };
            let old = size - 1;
            let proof = if old == 0 {
                vec![]
            } else {
                merkle::consistency_plan(old, size)?.assemble(subtree)?
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: checkpoint.sign(key)?,
            }
            .to_bytes();
            Ok((body, checkpoint))
        })
        .collect::<Result<_, signet_core::Error>>()
        .map_err(|e| anyhow!("building log {log}'s requests: {e}"))
}

/// The `200` body holds a valid cosignature by `witness` on `checkpoint`.
fn check(body: &str, checkpoint: &Checkpoint, witness: &VerifierKey) -> Result<()> {
    let lines = parse_cosignatures(checkpoint, body.as_bytes())?;
    let line = lines
        .iter()
        .find(|l| l.name == *witness.name())
        .ok_or_else(|| anyhow!("no cosignature by {}", witness.name()))?;
    cosignature::verify(checkpoint, witness, line)?;
    Ok(())
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    cosigned: u64,
    latencies_us: Vec<u64>,
    first_failure: Option<String>,
}

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<WitnessOutcome> {
    if options.logs == 0 || options.count < options.logs {
        bail!("--logs must be at least 1 and at most --count");
    }
    let witness_bin = match &options.witness_bin {
        Some(path) => path.clone(),
        None => server::sibling_binary("signet-witness", "signet-witness")?,
    };
    let per_log = options.count / options.logs;
    let keys = (0..options.logs)
        .map(|i| {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow!("cannot get random bytes: {e}"))?;
            let name = KeyName::parse(&format!("bench.example/log{i}"))?;
            Ok(SigningKey::from_seed(name, SignatureType::Ed25519, &seed))
        })
        .collect::<Result<Vec<_>>>()?;
    eprintln!(
        "signet-bench: building {} requests for {} logs",
        per_log * options.logs,
        options.logs
    );
    let work = thread::scope(|scope| {
        let handles: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| scope.spawn(move || requests(key, per_log, i)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow!("a builder thread panicked"))?)
            .collect::<Result<Vec<_>>>()
    })?;
    let tmp = tempfile::Builder::new()
        .prefix("signet-bench-witness-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let vkeys: Vec<VerifierKey> = keys.iter().map(SigningKey::verifier).collect();
    let witness = Server::start_witness(
        &witness_bin,
        &tmp.path().join("witness"),
        "bench.example/witness",
        &vkeys,
    )?;
    eprintln!(
        "signet-bench: {} listening on {}, {} add-checkpoint requests from {} logs",
        witness_bin.display(),
        witness.url.as_str(),
        per_log * options.logs,
        options.logs
    );
    let total = Mutex::new(Tally::default());
    let cpu = || {
        (
            server::cpu_seconds(std::process::id()),
            server::cpu_seconds(witness.pid()),
        )
    };
    let before = cpu();
    let start = Instant::now();
    let deadline = start + options.max_duration;
    thread::scope(|scope| {
        for requests in &work {
            let (total, witness) = (&total, &witness);
            scope.spawn(move || {
                let agent = http::agent(Duration::from_secs(30));
                let mut tally = Tally {
                    latencies_us: Vec::with_capacity(requests.len()),
                    ..Tally::default()
                };
                for (body, checkpoint) in requests {
                    if Instant::now() >= deadline {
                        tally
                            .first_failure
                            .get_or_insert_with(|| "stopped at --max-duration".to_owned());
                        break;
                    }
                    tally.requests += 1;
                    let sent = Instant::now();
                    let problem = match http::post(&agent, &witness.url, "/add-checkpoint", body) {
                        Err(e) => Some(format!("{e:#}")),
                        Ok(a) if a.status != 200 => {
                            Some(format!("answered {}: {}", a.status, a.body.trim()))
                        }
                        Ok(a) => {
                            tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                            check(&a.body, checkpoint, &witness.log_key)
                                .err()
                                .map(|e| format!("{e:#}"))
                        }
                    };
                    match problem {
                        None => tally.cosigned += 1,
                        Some(p) => {
                            tally.first_failure.get_or_insert_with(|| {
                                format!("{} size {}: {p}", checkpoint.origin, checkpoint.size)
                            });
                            // Every later request of this log builds on this one.
                            break;
                        }
                    }
                }
                let mut total = total
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                total.requests += tally.requests;
                total.cosigned += tally.cosigned;
                total.latencies_us.extend(tally.latencies_us);
                if total.first_failure.is_none() {
                    total.first_failure = tally.first_failure;
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let after = cpu();
    let used = |b: Option<f64>, a: Option<f64>| Some(a? - b?);
    let total = total
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let witness_cpu = used(before.1, after.1);
    let verify_rate = stats::verify_strict_rate(options.verify_time)?;
    Ok(WitnessOutcome {
        command: "witness",
        logs: options.logs,
        requests: total.requests,
        cosigned: total.cosigned,
        first_failure: total.first_failure,
        elapsed_s: elapsed,
        cosigned_per_s: total.cosigned as f64 / elapsed,
        latency_ms: Latency::from_micros(total.latencies_us),
        witness_cpu_s: witness_cpu,
        witness_cpu_us_per_request: witness_cpu
            .filter(|_| total.cosigned > 0)
            .map(|s| s * 1e6 / total.cosigned as f64),
        generator_cpu_s: used(before.0, after.0),
        verify_strict_per_s: verify_rate,
        nproc: thread::available_parallelism().map_or(1, usize::from),
    })
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_carry_proofs_the_spec_accepts() {
        let key = SigningKey::from_seed(
            KeyName::parse("bench.example/log0").unwrap(),
            SignatureType::Ed25519,
            &[3; 32],
        );
        let all = requests(&key, 9, 0).unwrap();
        assert_eq!(all.len(), 9);
        for (i, (body, checkpoint)) in all.iter().enumerate() {
            let parsed = AddCheckpoint::parse(body).unwrap();
            assert_eq!(parsed.old, i as u64);
            assert_eq!(checkpoint.size, i as u64 + 1);
            assert_eq!(
                parsed.checkpoint.verify(&key.verifier()).unwrap(),
                checkpoint
            );
            if i > 0 {
                let before = &all[i - 1].1;
                merkle::verify_consistency(
                    before.size,
                    checkpoint.size,
                    &before.root,
                    &checkpoint.root,
                    &parsed.proof,
                )
                .unwrap();
            }
        }
        // The root of the last one is the root of all nine leaves.
        let leaves: Vec<Hash> = (0..9)
            .map(|i| Hash::leaf(format!("signet-bench witness log 0 entry {i}").as_bytes()))
            .collect();
        assert_eq!(all[8].1.root, merkle::root_of(&leaves));
    }
}
