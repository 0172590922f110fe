//! `signet-bench proofs`: how many `.tlog-proof` files the server serves per second from
//! `GET /v1/proof/<index>`, for random indexes of the current tree.
//!
//! Each answer must be `200` and parse as a proof for the requested index; with
//! `--log-key`, each distinct checkpoint is also verified (once). Inclusion itself is not
//! checked here: that needs the entry's bytes, and `ingest` already checks it for every
//! entry it submits.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Serialize;
use signet_core::{TlogProof, VerifierKey};

use crate::http;
use crate::reads;
use crate::stats::Latency;
use crate::verify::ProofChecker;

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// The server and the load.
    pub load: reads::Options,
    /// When given, each distinct checkpoint is verified against it.
    pub log_key: Option<VerifierKey>,
}

/// The outcome (the `--json` schema of `signet-bench proofs` in README.md).
#[derive(Debug, Serialize)]
pub struct ProofsOutcome {
    /// `"proofs"`.
    pub command: &'static str,
    /// The tree size the indexes were drawn from.
    pub log_size: u64,
    /// Requests made.
    pub requests: u64,
    /// Answers that were a valid proof for the requested index.
    pub ok: u64,
    /// Everything else, by HTTP status, `"transport"` or `"invalid"`.
    pub errors: BTreeMap<String, u64>,
    /// Checkpoint signatures verified (0 without `--log-key`).
    pub checkpoints_verified: u64,
    /// Workers.
    pub concurrency: usize,
    /// Seconds from the first request to the last answer.
    pub elapsed_s: f64,
    /// Valid proofs per second.
    pub proofs_per_s: f64,
    /// Request latency.
    pub latency_ms: Latency,
    /// The first failure, for the diagnostics.
    pub first_failure: Option<String>,
    /// CPU seconds this generator used while requesting (Linux).
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds the server used meanwhile, when its process id is known (Linux).
    pub server_cpu_s: Option<f64>,
}

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<ProofsOutcome> {
    let size = http::log_info(&options.load.server)?.size;
    if size == 0 {
        bail!("the log is empty; run `signet-bench ingest` first");
    }
    let checker = options.log_key.clone().map(ProofChecker::new);
    let o = reads::run(
        &options.load,
        |rng| {
            let index = reads::next_random(rng) % size;
            (format!("/v1/proof/{index}"), index)
        },
        |&index, body| check_proof(body.as_bytes(), index, checker.as_ref()),
    )?;
    Ok(ProofsOutcome {
        command: "proofs",
        log_size: size,
        requests: o.requests,
        ok: o.ok,
        errors: o.errors,
        checkpoints_verified: checker
            .as_ref()
            .map_or(0, ProofChecker::checkpoint_signatures_verified),
        concurrency: o.concurrency,
        elapsed_s: o.elapsed_s,
        proofs_per_s: o.ok_per_s,
        latency_ms: o.latency_ms,
        first_failure: o.first_failure,
        generator_cpu_s: o.generator_cpu_s,
        server_cpu_s: o.server_cpu_s,
    })
}

/// The answer parses as a proof for `index` whose checkpoint covers it and, with a
/// checker, is signed by the log key.
fn check_proof(body: &[u8], index: u64, checker: Option<&ProofChecker>) -> Result<()> {
    let proof = TlogProof::parse(body)?;
    if proof.index != index {
        bail!("asked for index {index}, got a proof for {}", proof.index);
    }
    let size = match checker {
        Some(checker) => {
            checker
                .verified_checkpoint(&proof, proof.checkpoint.to_bytes())?
                .size
        }
        None => proof.checkpoint.checkpoint().size,
    };
    if index >= size {
        bail!("the proof's checkpoint (size {size}) does not cover index {index}");
    }
    Ok(())
}
