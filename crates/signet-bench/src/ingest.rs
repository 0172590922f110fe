//! `signet-bench ingest`: submit pre-signed entries with concurrent workers, verify every
//! acknowledgement, and measure throughput and latency.
//!
//! Closed loop (the default) measures the maximum throughput: each worker sends its next
//! entry as soon as the previous one is acknowledged. Open loop (`--rate R`) offers a
//! fixed load: entry `i` is due at `start + i / R`, and its latency is measured from that
//! due time, not from when a busy worker got round to sending it, so queueing in the
//! generator counts against the figure instead of hiding it (no coordinated omission).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use signet_core::{LetterId, VerifierKey};

use crate::http;
use crate::server;
use crate::stats::Latency;
use crate::target::ServerUrl;
use crate::verify::{Ack, ProofChecker};
use crate::workload::{self, Dispatcher, Ticket, Workload};

/// How many times one entry is sent when the server answers `429`/`503` or the
/// connection fails, before its signer is given up.
const MAX_ATTEMPTS: u32 = 10;

/// The longest wait before a retry, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Each request's deadline.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// The server.
    pub server: ServerUrl,
    /// The key acknowledgements must verify against.
    pub log_key: VerifierKey,
    /// Entries to submit.
    pub count: usize,
    /// Concurrent workers.
    pub concurrency: usize,
    /// Distinct signers.
    pub signers: usize,
    /// Offered load in entries per second (open loop), or `None` for closed loop.
    pub rate: Option<f64>,
    /// The letter, or `None` for the first letter `GET /v1/log` lists.
    pub letter: Option<LetterId>,
    /// The longest the submission phase may take; entries not sent by then are skipped.
    pub max_duration: Duration,
    /// Show a progress bar.
    pub progress: bool,
    /// The server's process, when it runs on this machine, to account its CPU time.
    pub server_pid: Option<u32>,
    /// The identity claims each endorsement carries.
    pub claims: workload::Claims,
}

/// The outcome of a run (also the `ingest` part of the `--json` schema in README.md).
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// Entries generated.
    pub count: usize,
    /// Workers that had entries to send.
    pub concurrency: usize,
    /// Distinct signers.
    pub signers: usize,
    /// The offered load (entries/s), or `null` for closed loop.
    pub rate: Option<f64>,
    /// The letter endorsed.
    pub letter: String,
    /// Seconds spent generating and signing the entries (not timed below).
    pub generation_s: f64,
    /// Entries acknowledged with `201 Created`.
    pub created: u64,
    /// Entries acknowledged with `200` (already logged; 0 in a clean run).
    pub already_logged: u64,
    /// Acknowledgements whose proof verified.
    pub proofs_verified: u64,
    /// Checkpoint signatures verified (each distinct checkpoint once).
    pub checkpoints_verified: u64,
    /// Acknowledgements whose proof did not verify: the log misbehaved.
    pub proof_failures: u64,
    /// Refused attempts and transport errors, by HTTP status or `"transport"`.
    pub errors: BTreeMap<String, u64>,
    /// Attempts repeated after a `429`, `503` or transport error.
    pub retries: u64,
    /// Entries never acknowledged: their signer failed earlier, or time ran out.
    pub skipped: u64,
    /// The first failure, for the diagnostics.
    pub first_failure: Option<String>,
    /// From the first send to the last acknowledgement, in seconds.
    pub elapsed_s: f64,
    /// Acknowledged entries per second.
    pub throughput_per_s: f64,
    /// Acknowledgement latency, including the proof, of acknowledged entries.
    pub latency_ms: Latency,
    /// CPU seconds this generator used while submitting (Linux), to show how much of
    /// the machine the load generator itself took from a server on the same cores.
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds the server used meanwhile, when its process id is known (Linux).
    pub server_cpu_s: Option<f64>,
}

impl Outcome {
    /// Every entry was acknowledged with a proof that verified.
    pub fn all_verified(&self) -> bool {
        self.proof_failures == 0 && self.proofs_verified == self.count as u64
    }
}

/// Seconds since the Unix epoch by this machine's clock (the server's, on loopback).
pub fn unix_now() -> Result<u64> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

/// Generates the workload and runs it.
pub fn run(options: &Options) -> Result<Outcome> {
    let letter = match options.letter {
        Some(letter) => letter,
        None => {
            let info = http::log_info(&options.server)?;
            if info.vkey.trim() != options.log_key.to_string() {
                // Not fatal: every proof will then fail to verify, which the report shows.
                eprintln!(
                    "signet-bench: warning: {} says its key is {} (origin {}), not --log-key {}",
                    options.server.as_str(),
                    info.vkey.trim(),
                    info.origin,
                    options.log_key
                );
            }
            let first = info.letters.first().ok_or_else(|| {
                anyhow!("the server hosts no letter; give one with --letter sha256:HEX")
            })?;
            // Quiet when piped; a person at a terminal likes to know what is endorsed.
            if options.progress {
                eprintln!("signet-bench: endorsing {} ({})", first.slug, first.id);
            }
            first
                .id
                .parse()
                .map_err(|e| anyhow!("the server's letter id {:?}: {e}", first.id))?
        }
    };
    let threads = thread::available_parallelism().map_or(1, usize::from);
    let started = Instant::now();
    let work = workload::generate(
        letter,
        options.count,
        options.signers,
        unix_now()?,
        threads,
        &options.claims,
    )?;
    let generation_s = started.elapsed().as_secs_f64();
    submit_all(options, letter, &work, generation_s)
}

/// What one worker saw.
#[derive(Debug, Default)]
struct Tally {
    created: u64,
    already_logged: u64,
    proofs_verified: u64,
    proof_failures: u64,
    errors: BTreeMap<String, u64>,
    retries: u64,
    skipped: u64,
    first_failure: Option<String>,
    latencies_us: Vec<u64>,
}

impl Tally {
    fn fail(&mut self, message: String) {
        self.first_failure.get_or_insert(message);
    }

    fn merge(&mut self, other: Tally) {
        self.created += other.created;
        self.already_logged += other.already_logged;
        self.proofs_verified += other.proofs_verified;
        self.proof_failures += other.proof_failures;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        self.retries += other.retries;
        self.skipped += other.skipped;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Shared by every worker.
struct Run<'a> {
    options: &'a Options,
    work: &'a Workload,
    dispatcher: Dispatcher,
    checker: ProofChecker,
    start: Instant,
    deadline: Instant,
    progress: ProgressBar,
    /// Set when an entry could not be delivered after every retry: the server is down
    /// or persistently overloaded, and the other workers stop instead of retrying too.
    abort: AtomicBool,
}

fn submit_all(
    options: &Options,
    letter: LetterId,
    work: &Workload,
    generation_s: f64,
) -> Result<Outcome> {
    // More workers than signers could only wait on each other.
    let workers = options
        .concurrency
        .clamp(1, work.signers.clamp(1, work.entries.len().max(1)));
    let progress = if options.progress {
        let bar = ProgressBar::new(work.entries.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "signet-bench: {bar:40} {pos}/{len} entries, {per_sec}, eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let cpu = || {
        (
            server::cpu_seconds(std::process::id()),
            options.server_pid.and_then(server::cpu_seconds),
        )
    };
    let cpu_before = cpu();
    let start = Instant::now();
    let run = Run {
        options,
        work,
        dispatcher: Dispatcher::new(work.entries.len(), work.signers),
        checker: ProofChecker::new(options.log_key.clone()),
        start,
        deadline: start + options.max_duration,
        progress,
        abort: AtomicBool::new(false),
    };
    let total = Mutex::new(Tally::default());
    thread::scope(|scope| {
        for _ in 0..workers {
            let (run, total) = (&run, &total);
            scope.spawn(move || {
                let tally = worker(run);
                total
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .merge(tally);
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = cpu();
    let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    run.progress.finish_and_clear();
    let mut total = total
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    total.skipped += run.dispatcher.untaken() as u64;
    let acknowledged = total.created + total.already_logged;
    Ok(Outcome {
        count: work.entries.len(),
        concurrency: workers,
        signers: work.signers,
        rate: options.rate,
        letter: letter.to_string(),
        generation_s,
        created: total.created,
        already_logged: total.already_logged,
        proofs_verified: total.proofs_verified,
        checkpoints_verified: run.checker.checkpoint_signatures_verified(),
        proof_failures: total.proof_failures,
        errors: total.errors,
        retries: total.retries,
        skipped: total.skipped,
        first_failure: total.first_failure,
        elapsed_s: elapsed,
        throughput_per_s: if elapsed > 0.0 {
            acknowledged as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: Latency::from_micros(total.latencies_us),
        generator_cpu_s: used(cpu_before.0, cpu_after.0),
        server_cpu_s: used(cpu_before.1, cpu_after.1),
    })
}

/// Takes entries from the dispatcher until none is left, sends them, and reports each
/// back so that its signer's next entry is released. A signer whose entry could not be
/// logged is given up: its later entries would only be refused by the state rules.
fn worker(run: &Run<'_>) -> Tally {
    let agent = http::agent(REQUEST_TIMEOUT);
    let mut tally = Tally::default();
    while !run.abort.load(Ordering::Relaxed) {
        if Instant::now() >= run.deadline {
            tally.fail(format!(
                "stopped after --max-duration {} s",
                run.options.max_duration.as_secs()
            ));
            break;
        }
        let Some(ticket) = run.dispatcher.take(run.deadline) else {
            break;
        };
        let i = match ticket {
            Ticket::Send(i) => i,
            Ticket::Skip(_) => {
                tally.skipped += 1;
                run.progress.inc(1);
                continue;
            }
        };
        let due = run
            .options
            .rate
            .map(|rate| run.start + Duration::from_secs_f64(i as f64 / rate));
        if let Some(due) = due {
            thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        let logged = submit_one(run, &agent, i, due.unwrap_or_else(Instant::now), &mut tally);
        run.dispatcher.finish(i, logged);
        run.progress.inc(1);
    }
    tally
}

/// Submits entry `i` (retrying a bounded number of times) and verifies its
/// acknowledgement; latency counts from `since`. Returns whether it was logged.
fn submit_one(
    run: &Run<'_>,
    agent: &ureq::Agent,
    i: usize,
    since: Instant,
    tally: &mut Tally,
) -> bool {
    let entry = &run.work.entries[i];
    for attempt in 1..=MAX_ATTEMPTS {
        let answer = match http::submit(agent, &run.options.server, entry) {
            Ok(answer) => answer,
            Err(e) => {
                *tally.errors.entry("transport".to_owned()).or_default() += 1;
                tally.fail(format!("entry {i}: {e:#}"));
                if attempt < MAX_ATTEMPTS {
                    tally.retries += 1;
                    thread::sleep(Duration::from_millis(50));
                }
                continue;
            }
        };
        match answer.status {
            200 | 201 => {
                tally.latencies_us.push(since.elapsed().as_micros() as u64);
                if answer.status == 201 {
                    tally.created += 1;
                } else {
                    tally.already_logged += 1;
                }
                let checked = serde_json::from_str::<Ack>(&answer.body)
                    .context("the acknowledgement is not the JSON of docs/http-api.md")
                    .and_then(|ack| run.checker.check(entry, &ack));
                match checked {
                    Ok(()) => tally.proofs_verified += 1,
                    Err(e) => {
                        tally.proof_failures += 1;
                        tally.fail(format!("entry {i}: the log misbehaved: {e:#}"));
                    }
                }
                return true;
            }
            429 | 503 => {
                *tally.errors.entry(answer.status.to_string()).or_default() += 1;
                if attempt < MAX_ATTEMPTS {
                    tally.retries += 1;
                    let wait = Duration::from_secs(answer.retry_after.unwrap_or(0))
                        .clamp(Duration::from_millis(10), MAX_BACKOFF);
                    thread::sleep(wait);
                } else {
                    tally.fail(format!(
                        "entry {i}: still {} after {MAX_ATTEMPTS} attempts: {}",
                        answer.status,
                        answer.body.trim()
                    ));
                }
            }
            status => {
                *tally.errors.entry(status.to_string()).or_default() += 1;
                tally.fail(format!("entry {i}: {status}: {}", answer.body.trim()));
                return false;
            }
        }
    }
    run.abort.store(true, Ordering::Relaxed);
    false
}
