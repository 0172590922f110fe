//! The read load shared by `signet-bench proofs` and `signet-bench search`: `count` GET
//! requests from `concurrency` workers, each with its own keep-alive connection, every
//! answer checked, with latency, errors and the CPU time of generator and server.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::http;
use crate::server;
use crate::stats::Latency;
use crate::target::ServerUrl;

/// How to run the load.
#[derive(Debug)]
pub struct Options {
    /// The server.
    pub server: ServerUrl,
    /// Requests to make in all.
    pub count: usize,
    /// Concurrent workers.
    pub concurrency: usize,
    /// The longest the run may take.
    pub max_duration: Duration,
    /// Show a progress bar.
    pub progress: bool,
    /// The server's process, when it runs on this machine, to account its CPU time.
    pub server_pid: Option<u32>,
}

/// What the load measured.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// Requests made.
    pub requests: u64,
    /// Answers that were `200` and passed the check.
    pub ok: u64,
    /// Everything else, by HTTP status, `"transport"` or `"invalid"`.
    pub errors: BTreeMap<String, u64>,
    /// Workers.
    pub concurrency: usize,
    /// Seconds from the first request to the last answer.
    pub elapsed_s: f64,
    /// Checked answers per second.
    pub ok_per_s: f64,
    /// Request latency of the `200` answers.
    pub latency_ms: Latency,
    /// The first failure, for the diagnostics.
    pub first_failure: Option<String>,
    /// CPU seconds this generator used meanwhile (Linux).
    pub generator_cpu_s: Option<f64>,
    /// CPU seconds the server used meanwhile, when its process id is known (Linux).
    pub server_cpu_s: Option<f64>,
}

#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
    first_failure: Option<String>,
}

/// A small xorshift generator: requests need to be spread out, not unpredictable.
pub fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Runs the load. `request` draws the next request from a worker's random state: the
/// path, and what `check` needs to know about it; `check` judges a `200` answer's body.
pub fn run<T, R, C>(options: &Options, request: R, check: C) -> Result<Outcome>
where
    R: Fn(&mut u64) -> (String, T) + Sync,
    C: Fn(&T, &str) -> Result<()> + Sync,
{
    let workers = options.concurrency.clamp(1, options.count.max(1));
    let progress = if options.progress {
        ProgressBar::new(options.count as u64)
    } else {
        ProgressBar::hidden()
    };
    let total = Mutex::new(Tally::default());
    let cpu = || {
        (
            server::cpu_seconds(std::process::id()),
            options.server_pid.and_then(server::cpu_seconds),
        )
    };
    let cpu_before = cpu();
    let start = Instant::now();
    let deadline = start + options.max_duration;
    thread::scope(|scope| -> Result<()> {
        for w in 0..workers {
            let mut seed = [0u8; 8];
            getrandom::fill(&mut seed).map_err(|e| anyhow!("cannot get random bytes: {e}"))?;
            // xorshift must not start at 0.
            let mut rng = u64::from_le_bytes(seed) | 1;
            let n = options.count / workers + usize::from(w < options.count % workers);
            let (total, progress, request, check) = (&total, &progress, &request, &check);
            scope.spawn(move || {
                let agent = http::agent(Duration::from_secs(30));
                let mut tally = Tally {
                    latencies_us: Vec::with_capacity(n),
                    ..Tally::default()
                };
                for _ in 0..n {
                    if Instant::now() >= deadline {
                        tally
                            .first_failure
                            .get_or_insert_with(|| "stopped at --max-duration".to_owned());
                        break;
                    }
                    let (path, about) = request(&mut rng);
                    let sent = Instant::now();
                    tally.requests += 1;
                    let problem = match http::get(&agent, &options.server, &path) {
                        Err(e) => Some(("transport".to_owned(), format!("{e:#}"))),
                        Ok(a) if a.status != 200 => {
                            Some((a.status.to_string(), a.body.trim().to_owned()))
                        }
                        Ok(a) => {
                            tally.latencies_us.push(sent.elapsed().as_micros() as u64);
                            check(&about, &a.body)
                                .err()
                                .map(|e| ("invalid".to_owned(), format!("{e:#}")))
                        }
                    };
                    match problem {
                        None => tally.ok += 1,
                        Some((kind, message)) => {
                            *tally.errors.entry(kind).or_default() += 1;
                            tally
                                .first_failure
                                .get_or_insert_with(|| format!("GET {path}: {message}"));
                        }
                    }
                    progress.inc(1);
                }
                let mut total = total
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                total.requests += tally.requests;
                total.ok += tally.ok;
                for (k, v) in tally.errors {
                    *total.errors.entry(k).or_default() += v;
                }
                total.latencies_us.extend(tally.latencies_us);
                if total.first_failure.is_none() {
                    total.first_failure = tally.first_failure;
                }
            });
        }
        Ok(())
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = cpu();
    let used = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    progress.finish_and_clear();
    let total = total
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(Outcome {
        requests: total.requests,
        ok: total.ok,
        errors: total.errors,
        concurrency: workers,
        elapsed_s: elapsed,
        ok_per_s: if elapsed > 0.0 {
            total.ok as f64 / elapsed
        } else {
            0.0
        },
        latency_ms: Latency::from_micros(total.latencies_us),
        first_failure: total.first_failure,
        generator_cpu_s: used(cpu_before.0, cpu_after.0),
        server_cpu_s: used(cpu_before.1, cpu_after.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_draws_spread_over_the_range() {
        let mut rng = 1;
        let mut seen = [false; 16];
        for _ in 0..1000 {
            seen[(next_random(&mut rng) % 16) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }
}
