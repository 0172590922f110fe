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
//! - `hanging`: the same, but every page stalls past the checker's 5 s limit;
//! - `unchecked`: the same claims, on a server started with `--identity-checks off`:
//!   what the larger entries cost, without any check.
//!
//! Each phase runs a closed loop (`--count` entries at `--concurrency`: its capacity),
//! then an open loop at `--rate` entries/s (default: half of the `plain` phase's
//! capacity) for its latency.
//!
//! This machine drifts: the same phase run twice in a row can differ by a quarter. So
//! each phase measures the `verify_strict` yardstick just before its closed loop, and a
//! feature phase is compared with the plain phases run just before and just after it
//! (`plain,claims,plain,claims,plain` gives each claims phase two neighbours), by the
//! ratio of their ingest rates to their yardsticks.

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
    /// The same claims, with the server's identity checks off.
    Unchecked,
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
    /// The single-core `verify_strict` rate measured just before the closed loop.
    pub verify_strict_per_s: f64,
    /// The closed loop's rate divided by that yardstick.
    pub r_ingest: f64,
    /// Against the plain phases next to this one (none for a plain phase, or without a
    /// plain phase): see [`against_plain`].
    pub against_plain: Option<AgainstPlain>,
    /// The server's identity and witness counters at the end of the phase (from
    /// `/metrics`): claims that held or failed, claims left to the recheck loop, and
    /// each witness's answers.
    pub metrics: BTreeMap<String, f64>,
}

/// A feature phase against the plain phases run next to it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AgainstPlain {
    /// Its `r_ingest` divided by the mean `r_ingest` of its plain neighbours.
    pub r_ratio: f64,
    /// Its open loop's p50 and p99 minus the mean of its neighbours', milliseconds.
    pub delta_p50_ms: f64,
    /// See `delta_p50_ms`.
    pub delta_p99_ms: f64,
    /// How many plain neighbours it was compared with (1 or 2).
    pub neighbours: usize,
}

/// What [`against_plain`] needs of a phase.
#[derive(Debug, Clone, Copy)]
pub struct Figures {
    /// Which configuration.
    pub phase: Phase,
    /// Closed-loop rate ÷ yardstick.
    pub r_ingest: f64,
    /// The open loop's p50, ms.
    pub p50_ms: f64,
    /// The open loop's p99, ms.
    pub p99_ms: f64,
}

/// Each phase against its plain neighbours: the nearest plain phase before it and the
/// nearest after it, in the order run. `None` for plain phases and for a phase with no
/// plain phase on either side.
pub fn against_plain(phases: &[Figures]) -> Vec<Option<AgainstPlain>> {
    (0..phases.len())
        .map(|i| {
            if phases[i].phase == Phase::Plain {
                return None;
            }
            let before = phases[..i].iter().rev().find(|p| p.phase == Phase::Plain);
            let after = phases[i + 1..].iter().find(|p| p.phase == Phase::Plain);
            let neighbours: Vec<&Figures> = before.into_iter().chain(after).collect();
            if neighbours.is_empty() {
                return None;
            }
            let n = neighbours.len() as f64;
            let mean = |f: fn(&Figures) -> f64| neighbours.iter().map(|p| f(p)).sum::<f64>() / n;
            let p = &phases[i];
            Some(AgainstPlain {
                r_ratio: p.r_ingest / mean(|p| p.r_ingest),
                delta_p50_ms: p.p50_ms - mean(|p| p.p50_ms),
                delta_p99_ms: p.p99_ms - mean(|p| p.p99_ms),
                neighbours: neighbours.len(),
            })
        })
        .collect()
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
        Phase::Claims | Phase::Hanging | Phase::Unchecked => {
            let fixtures = Fixtures::start();
            let claims = claims(&fixtures, phase == Phase::Hanging)?;
            let flags = if phase == Phase::Unchecked {
                vec!["--identity-checks".to_owned(), "off".to_owned()]
            } else {
                fixtures.flags()
            };
            let server = Server::start(server_bin, &data, letters, &flags)?;
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
        let verify_strict_per_s = stats::verify_strict_rate(options.verify_time)?;
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
            r_ingest: closed.throughput_per_s / verify_strict_per_s,
            closed,
            open,
            server_cpu_us_per_entry,
            verify_strict_per_s,
            against_plain: None,
            metrics,
        });
    }
    let figures: Vec<Figures> = phases
        .iter()
        .map(|p| Figures {
            phase: p.phase,
            r_ingest: p.r_ingest,
            p50_ms: p.open.latency_ms.p50,
            p99_ms: p.open.latency_ms.p99,
        })
        .collect();
    for (p, a) in phases.iter_mut().zip(against_plain(&figures)) {
        p.against_plain = a;
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

/// The text report: one line per phase, with its ratio to the first phase and, for a
/// feature phase, its figures against its plain neighbours; then the mean of those per
/// feature.
pub fn text(o: &FeaturesOutcome) -> String {
    let mut out = format!(
        "signet-bench features: each phase on a fresh server; open loops at {:.0} entries/s\n\
         {:<10} {:>10} {:>8} {:>9} {:>7} {:>11} {:>8} {:>8} {:>9} {:>9} {:>9}\n",
        o.rate,
        "phase",
        "entries/s",
        "ratio",
        "verify/s",
        "R",
        "CPU µs/ent",
        "p50 ms",
        "p99 ms",
        "R/plain",
        "Δp50 ms",
        "Δp99 ms"
    );
    let name = |p: &PhaseOutcome| format!("{:?}", p.phase).to_lowercase();
    let first = o.phases.first();
    for p in &o.phases {
        let ratio = first.map_or(1.0, |f| {
            p.closed.throughput_per_s / f.closed.throughput_per_s
        });
        let against = p.against_plain.map_or_else(
            || format!("{:>9} {:>9} {:>9}", "-", "-", "-"),
            |a| {
                format!(
                    "{:>9.3} {:>+9.2} {:>+9.2}",
                    a.r_ratio, a.delta_p50_ms, a.delta_p99_ms
                )
            },
        );
        out.push_str(&format!(
            "{:<10} {:>10.0} {:>8.3} {:>9.0} {:>7.3} {:>11.0} {:>8.2} {:>8.2} {against}\n",
            name(p),
            p.closed.throughput_per_s,
            ratio,
            p.verify_strict_per_s,
            p.r_ingest,
            p.server_cpu_us_per_entry.unwrap_or(f64::NAN),
            p.open.latency_ms.p50,
            p.open.latency_ms.p99,
        ));
    }
    let mut features: Vec<Phase> = Vec::new();
    for p in &o.phases {
        if p.against_plain.is_some() && !features.contains(&p.phase) {
            features.push(p.phase);
        }
    }
    for feature in features {
        let runs: Vec<AgainstPlain> = o
            .phases
            .iter()
            .filter(|p| p.phase == feature)
            .filter_map(|p| p.against_plain)
            .collect();
        let n = runs.len() as f64;
        let mean = |f: fn(&AgainstPlain) -> f64| runs.iter().map(f).sum::<f64>() / n;
        out.push_str(&format!(
            "{:<10} against plain, mean of {} runs: R/plain {:.3}, Δp50 {:+.2} ms, Δp99 {:+.2} ms\n",
            format!("{feature:?}").to_lowercase(),
            runs.len(),
            mean(|a| a.r_ratio),
            mean(|a| a.delta_p50_ms),
            mean(|a| a.delta_p99_ms),
        ));
    }
    for p in &o.phases {
        for (metric, value) in &p.metrics {
            out.push_str(&format!("{:<10} {metric} {value}\n", name(p)));
        }
    }
    out.push_str(&format!(
        "verify_strict    {:.0} /s on one core (after the last phase)\nnproc            {}\n",
        o.verify_strict_per_s, o.nproc
    ));
    out
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn f(phase: Phase, r_ingest: f64, p50_ms: f64) -> Figures {
        Figures {
            phase,
            r_ingest,
            p50_ms,
            p99_ms: p50_ms * 3.0,
        }
    }

    #[test]
    fn a_feature_is_compared_with_the_plain_phases_beside_it() {
        use Phase::{Claims, Plain, Witnesses};
        let phases = [
            f(Claims, 0.10, 20.0),
            f(Plain, 0.20, 10.0),
            f(Claims, 0.18, 12.0),
            f(Witnesses, 0.05, 30.0),
            f(Plain, 0.10, 20.0),
        ];
        let a = against_plain(&phases);
        assert_eq!(a.len(), 5);
        // Before any plain phase: only the one after it.
        let first = a[0].unwrap();
        assert_eq!(first.neighbours, 1);
        assert!((first.r_ratio - 0.5).abs() < 1e-9, "{first:?}");
        assert!(
            a[1].is_none() && a[4].is_none(),
            "plain phases have no comparison"
        );
        // Between two plain phases: their mean (0.15, p50 15 ms), not the first phase's.
        let claims = a[2].unwrap();
        assert_eq!(claims.neighbours, 2);
        assert!((claims.r_ratio - 1.2).abs() < 1e-9, "{claims:?}");
        assert!((claims.delta_p50_ms - -3.0).abs() < 1e-9, "{claims:?}");
        assert!((claims.delta_p99_ms - -9.0).abs() < 1e-9, "{claims:?}");
        // Another feature phase between them does not count as plain.
        let witnesses = a[3].unwrap();
        assert_eq!(witnesses.neighbours, 2);
        assert!((witnesses.r_ratio - 0.05 / 0.15).abs() < 1e-9);
        assert!(against_plain(&[f(Claims, 0.1, 1.0)])[0].is_none());
    }
}
