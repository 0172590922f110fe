//! `signet-bench features`: the same ingest on fresh servers side by side, plain and with
//! each feature that works beside the acknowledgement path turned on, so that what a
//! feature costs is read as a ratio measured in one run.
//!
//! The phases, each on a fresh server and data directory:
//! - `plain`: no witnesses, no claims;
//! - `witnesses`: three real `signet-witness` processes on loopback and a policy that
//!   needs two of them (the server waits for the quorum before it publishes a checkpoint,
//!   so the witnesses' round is on the acknowledgement path);
//! - `claims`: every endorsement makes an `https://` identity claim on a fixture site
//!   (test CA, loopback DNS; `signet-testkit`'s identity fixtures) that holds;
//! - `hanging`: the same, but every page stalls past the checker's 5 s limit.
//!
//! Each phase runs a closed loop (`--count` entries at `--concurrency`: its capacity),
//! then an open loop at `--rate` entries/s (default: half of the `plain` phase's
//! capacity) for its latency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use signet_core::entry::IdentityClaim;
use signet_testkit::identity::{Fixtures, Page, token_for};

use crate::http;
use crate::ingest::{self, Outcome};
use crate::server::{self, Server};
use crate::stats;
use crate::workload::Claims;

/// One configuration to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// No witnesses, no claims.
    Plain,
    /// Three witnesses on loopback, quorum two.
    Witnesses,
    /// A claim that holds on every endorsement.
    Claims,
    /// A claim on every endorsement whose site hangs.
    Hanging,
}

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// The phases, in order (`plain` first when `rate` is not given).
    pub phases: Vec<Phase>,
    /// Entries of each closed-loop run.
    pub count: usize,
    /// Entries of each open-loop run.
    pub open_count: usize,
    /// Workers of the closed-loop runs (the open loops use as many as they need).
    pub concurrency: usize,
    /// The open loop's offered load; `None`: half the `plain` phase's capacity.
    pub rate: Option<f64>,
    /// The binaries, or `None` for the ones beside `signet-bench`.
    pub server_bin: Option<PathBuf>,
    /// The witness binary.
    pub witness_bin: Option<PathBuf>,
    /// The letters the servers host.
    pub letters: PathBuf,
    /// How long each run may take.
    pub max_duration: Duration,
    /// How long to measure the `verify_strict` rate.
    pub verify_time: Duration,
    /// Show progress bars.
    pub progress: bool,
}

/// One phase's two runs.
#[derive(Debug, Serialize)]
pub struct PhaseOutcome {
    /// Which configuration.
    pub phase: Phase,
    /// The closed loop: capacity.
    pub closed: Outcome,
    /// The open loop: latency at the offered load.
    pub open: Outcome,
    /// Server CPU per acknowledged entry in the closed loop, microseconds.
    pub server_cpu_us_per_entry: Option<f64>,
    /// The server's identity and witness counters at the end of the phase (from
    /// `/metrics`): claims that held or failed, claims left to the recheck loop, and
    /// each witness's answers.
    pub metrics: BTreeMap<String, f64>,
}

/// The outcome (the `--json` schema of `signet-bench features` in README.md).
#[derive(Debug, Serialize)]
pub struct FeaturesOutcome {
    /// `"features"`.
    pub command: &'static str,
    /// The open loops' offered load, entries/s.
    pub rate: f64,
    /// Each phase, in the order run.
    pub phases: Vec<PhaseOutcome>,
    /// Single-core `verify_strict` rate in this run, verifications per second.
    pub verify_strict_per_s: f64,
    /// Cores available to this process.
    pub nproc: usize,
}

/// What a phase needs running beside its server, kept alive until the phase ends.
#[derive(Default)]
struct Beside {
    _fixtures: Option<Fixtures>,
    _witnesses: Vec<Server>,
}

/// A fixture site that answers `/k/<n>-<key>` with signer `n`'s token (or stalls), and the
/// claims that point at it.
fn claims(fixtures: &Fixtures, hang: bool) -> Result<Claims> {
    let site = fixtures.site("bench.signet.test");
    // Every claim has this shape, so one that parses means they all do: a phase that
    // claims to measure claims never runs without them.
    IdentityClaim::parse(&site.url("/k/0"))
        .map_err(|e| anyhow::anyhow!("the fixture site's claims do not parse: {e}"))?;
    let f = move |signer: usize, key: &signet_core::SigningKey| {
        // The path names the key, not only the signer's number: the closed and the open
        // loop each number their signers from 0, and a check that runs after the open
        // loop has started must still find the page of the key it checks.
        let id: String = key.verifier().public_key()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = format!("/k/{signer}-{id}");
        let body = format!("<p>{}</p>\n", token_for(key.verifier().public_key())).into_bytes();
        site.set(
            &path,
            if hang {
                Page::Slow(body, Duration::from_secs(30))
            } else {
                Page::Body(body)
            },
        );
        IdentityClaim::parse(&site.url(&path)).map_or_else(|_| Vec::new(), |c| vec![c])
    };
    Ok(Claims(Some(Arc::new(f))))
}

/// Starts the phase's server (and what it needs beside it) on `dir`.
fn start(
    phase: Phase,
    options: &Options,
    dir: &Path,
    server_bin: &Path,
) -> Result<(Server, Beside, Claims)> {
    let data = dir.join("data");
    let letters = &options.letters;
    match phase {
        Phase::Plain => Ok((
            Server::start(server_bin, &data, letters, &[])?,
            Beside::default(),
            Claims::default(),
        )),
        Phase::Claims | Phase::Hanging => {
            let fixtures = Fixtures::start();
            let claims = claims(&fixtures, phase == Phase::Hanging)?;
            let server = Server::start(server_bin, &data, letters, &fixtures.flags())?;
            let beside = Beside {
                _fixtures: Some(fixtures),
                _witnesses: vec![],
            };
            Ok((server, beside, claims))
        }
        Phase::Witnesses => {
            let witness_bin = match &options.witness_bin {
                Some(path) => path.clone(),
                None => server::sibling_binary("signet-witness", "signet-witness")?,
            };
            // A first start makes the log's key, which the witnesses must know.
            let log_key = Server::start(server_bin, &data, letters, &[])?
                .log_key
                .clone();
            let mut policy = format!("log {log_key}\n");
            let mut witnesses = Vec::new();
            for i in 1..=3 {
                let w = Server::start_witness(
                    &witness_bin,
                    &dir.join(format!("witness{i}")),
                    &format!("bench.example/w{i}"),
                    std::slice::from_ref(&log_key),
                )?;
                policy.push_str(&format!("witness w{i} {} {}\n", w.log_key, w.url.as_str()));
                witnesses.push(w);
            }
            policy.push_str("group two-of-three 2 w1 w2 w3\nquorum two-of-three\n");
            let policy_path = dir.join("policy");
            std::fs::write(&policy_path, policy)
                .with_context(|| format!("cannot write {}", policy_path.display()))?;
            let server = Server::start(
                server_bin,
                &data,
                letters,
                &[
                    "--witness-policy".to_owned(),
                    policy_path.display().to_string(),
                ],
            )?;
            let beside = Beside {
                _fixtures: None,
                _witnesses: witnesses,
            };
            Ok((server, beside, Claims::default()))
        }
    }
}

fn ingest(
    server: &Server,
    options: &Options,
    count: usize,
    concurrency: usize,
    rate: Option<f64>,
    claims: &Claims,
) -> Result<Outcome> {
    let outcome = ingest::run(&ingest::Options {
        server: server.url.clone(),
        log_key: server.log_key.clone(),
        count,
        concurrency,
        signers: count,
        rate,
        letter: None,
        max_duration: options.max_duration,
        progress: options.progress,
        server_pid: Some(server.pid()),
        claims: claims.clone(),
    })?;
    if !outcome.all_verified() {
        bail!(
            "only {} of {} entries were logged with a valid proof ({}){}",
            outcome.proofs_verified,
            outcome.count,
            outcome
                .first_failure
                .as_deref()
                .unwrap_or("no reason given"),
            server.log_tail()
        );
    }
    Ok(outcome)
}

/// The server's `signet_identity_*` and `signet_witness*` counters; empty if `/metrics`
/// does not answer (the phase's figures stand without them).
fn counters(server: &Server) -> BTreeMap<String, f64> {
    let agent = http::agent(Duration::from_secs(10));
    let Ok(answer) = http::get(&agent, &server.url, "/metrics") else {
        return BTreeMap::new();
    };
    answer
        .body
        .lines()
        .filter(|l| l.starts_with("signet_identity_") || l.starts_with("signet_witness"))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<FeaturesOutcome> {
    if options.rate.is_none() && options.phases.first() != Some(&Phase::Plain) {
        bail!("without --rate the first phase must be plain: its capacity sets the rate");
    }
    let server_bin = match &options.server_bin {
        Some(path) => path.clone(),
        None => server::sibling_binary("signet-server", "signet-server")?,
    };
    let mut rate = options.rate;
    let mut phases = Vec::new();
    for &phase in &options.phases {
        let tmp = tempfile::Builder::new()
            .prefix("signet-bench-features-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let (server, beside, claims) = start(phase, options, tmp.path(), &server_bin)?;
        eprintln!(
            "signet-bench: phase {phase:?}: closed loop, {} entries",
            options.count
        );
        let closed = ingest(
            &server,
            options,
            options.count,
            options.concurrency,
            None,
            &claims,
        )?;
        let offered = *rate.get_or_insert(closed.throughput_per_s / 2.0);
        eprintln!("signet-bench: phase {phase:?}: open loop at {offered:.0} entries/s");
        // Enough workers that none waits for another at the offered load and latency.
        let open = ingest(
            &server,
            options,
            options.open_count,
            256,
            Some(offered),
            &claims,
        )?;
        let server_cpu_us_per_entry = closed
            .server_cpu_s
            .map(|s| s * 1e6 / closed.created.max(1) as f64);
        let metrics = counters(&server);
        drop(server);
        drop(beside);
        phases.push(PhaseOutcome {
            phase,
            closed,
            open,
            server_cpu_us_per_entry,
            metrics,
        });
    }
    let verify_rate = stats::verify_strict_rate(options.verify_time)?;
    Ok(FeaturesOutcome {
        command: "features",
        rate: rate.unwrap_or(0.0),
        phases,
        verify_strict_per_s: verify_rate,
        nproc: std::thread::available_parallelism().map_or(1, usize::from),
    })
}

/// The text report: one line per phase, with its ratios to the first phase.
pub fn text(o: &FeaturesOutcome) -> String {
    let mut out = format!(
        "signet-bench features: each phase on a fresh server; open loops at {:.0} entries/s\n\
         {:<10} {:>10} {:>8} {:>11} {:>9} {:>9} {:>9} {:>9}\n",
        o.rate,
        "phase",
        "entries/s",
        "ratio",
        "CPU µs/ent",
        "p50 ms",
        "p99 ms",
        "Δp50 ms",
        "Δp99 ms"
    );
    let first = o.phases.first();
    for p in &o.phases {
        let (ratio, d50, d99) = first.map_or((1.0, 0.0, 0.0), |f| {
            (
                p.closed.throughput_per_s / f.closed.throughput_per_s,
                p.open.latency_ms.p50 - f.open.latency_ms.p50,
                p.open.latency_ms.p99 - f.open.latency_ms.p99,
            )
        });
        out.push_str(&format!(
            "{:<10} {:>10.0} {:>8.3} {:>11.0} {:>9.2} {:>9.2} {:>+9.2} {:>+9.2}\n",
            format!("{:?}", p.phase).to_lowercase(),
            p.closed.throughput_per_s,
            ratio,
            p.server_cpu_us_per_entry.unwrap_or(f64::NAN),
            p.open.latency_ms.p50,
            p.open.latency_ms.p99,
            d50,
            d99
        ));
    }
    for p in &o.phases {
        for (name, value) in &p.metrics {
            out.push_str(&format!(
                "{:<10} {name} {value}\n",
                format!("{:?}", p.phase).to_lowercase()
            ));
        }
    }
    out.push_str(&format!(
        "verify_strict    {:.0} /s on one core (same run)\nnproc            {}\n",
        o.verify_strict_per_s, o.nproc
    ));
    out
}
