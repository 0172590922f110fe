//! `signet-bench audit`: build a log of N entries on a real server, then time a full
//! `signet audit` of it with the real `signet` binary, and then `signet watch` over the
//! same log from scratch (it verifies as the audit does, and matches every endorsement
//! against a name).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use crate::http;
use crate::ingest::{self, Outcome};
use crate::server::{self, Server};
use crate::stats;
use crate::workload;

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// Entries to put in the log (beyond the server's letter registrations).
    pub entries: usize,
    /// Workers for the ingest phase.
    pub concurrency: usize,
    /// Signers for the ingest phase.
    pub signers: usize,
    /// The `signet-server` binary, or `None` for the one beside `signet-bench`.
    pub server_bin: Option<PathBuf>,
    /// The `signet` binary, or `None` for the one beside `signet-bench`.
    pub signet_bin: Option<PathBuf>,
    /// The letters the server hosts, or `None` for the repository's `registry-data/letters`.
    pub letters: Option<PathBuf>,
    /// How long the ingest phase, and separately the audit, may take.
    pub max_duration: Duration,
    /// How long to measure the `verify_strict` rate.
    pub verify_time: Duration,
    /// Show a progress bar while ingesting.
    pub progress: bool,
}

/// The outcome (the `--json` schema of `signet-bench audit` in README.md).
#[derive(Debug, Serialize)]
pub struct AuditOutcome {
    /// `"audit"`.
    pub command: &'static str,
    /// Entries ingested.
    pub entries: usize,
    /// The audited tree size (entries plus the server's letter registrations).
    pub log_size: u64,
    /// Seconds the full audit took.
    pub audit_elapsed_s: f64,
    /// Audited entries per second.
    pub audit_entries_per_s: f64,
    /// Single-core `verify_strict` rate in this run, verifications per second.
    pub verify_strict_per_s: f64,
    /// `audit_entries_per_s / verify_strict_per_s`.
    pub r_audit: f64,
    /// `ingest.throughput_per_s / verify_strict_per_s`.
    pub r_ingest: f64,
    /// The server's resident set after the audit, KiB (Linux only).
    pub server_rss_kib: Option<u64>,
    /// Cores available to this process.
    pub nproc: usize,
    /// The ingest phase that built the log.
    pub ingest: Outcome,
    /// The exact audit command that was timed.
    pub audit_command: String,
    /// Seconds `signet watch` took over the same log, from an empty state.
    pub watch_elapsed_s: f64,
    /// Entries per second `signet watch` went through.
    pub watch_entries_per_s: f64,
    /// `watch_entries_per_s / audit_entries_per_s`.
    pub watch_over_audit: f64,
    /// The exact watch command that was timed.
    pub watch_command: String,
}

/// The repository's letters, when this binary was built from the repository.
pub fn default_letters() -> Result<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../registry-data/letters");
    if !path.is_dir() {
        bail!(
            "no letters folder at {}; give one with --letters DIR",
            path.display()
        );
    }
    Ok(path)
}

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<AuditOutcome> {
    let server_bin = match &options.server_bin {
        Some(path) => path.clone(),
        None => server::sibling_binary("signet-server", "signet-server")?,
    };
    let signet_bin = match &options.signet_bin {
        Some(path) => path.clone(),
        None => server::sibling_binary("signet", "signet-cli")?,
    };
    let letters = match &options.letters {
        Some(path) => path.clone(),
        None => default_letters()?,
    };
    let tmp = tempfile::Builder::new()
        .prefix("signet-bench-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let server = Server::start(&server_bin, &tmp.path().join("data"), &letters, &[])?;
    eprintln!(
        "signet-bench: {} listening on {}, building a log of {} entries",
        server_bin.display(),
        server.url.as_str(),
        options.entries
    );

    let ingest = ingest::run(&ingest::Options {
        server: server.url.clone(),
        log_key: server.log_key.clone(),
        count: options.entries,
        concurrency: options.concurrency,
        signers: options.signers,
        rate: None,
        letter: None,
        max_duration: options.max_duration,
        progress: options.progress,
        server_pid: Some(server.pid()),
        claims: workload::Claims::default(),
    })?;
    if !ingest.all_verified() {
        bail!(
            "only {} of {} entries were logged with a valid proof ({}){}",
            ingest.proofs_verified,
            ingest.count,
            ingest.first_failure.as_deref().unwrap_or("no reason given"),
            server.log_tail()
        );
    }
    let log_size = http::log_info(&server.url)?.size;

    // Measured while the server is idle, just before the audit, on the same machine.
    let verify_rate = stats::verify_strict_rate(options.verify_time)?;

    let url = server.url.as_str().to_owned();
    let key = server.log_key.to_string();
    let audit_state = tmp.path().join("audit-state").display().to_string();
    let (audit_command, elapsed) = time_signet(
        &signet_bin,
        &[
            "audit",
            "--server",
            &url,
            "--log-key",
            &key,
            "--state",
            &audit_state,
            "--full",
        ],
        tmp.path(),
        options.max_duration,
    )?;
    // A name no bench signer has: watch verifies every entry and matches every
    // endorsement's name against it, and reports nothing.
    let watch_state = tmp.path().join("watch-state").display().to_string();
    let (watch_command, watch_elapsed) = time_signet(
        &signet_bin,
        &[
            "watch",
            "--server",
            &url,
            "--log-key",
            &key,
            "--state",
            &watch_state,
            "--name",
            "Nobody Of This Name",
        ],
        tmp.path(),
        options.max_duration,
    )?;
    let watch_rate = log_size as f64 / watch_elapsed;
    let rate = log_size as f64 / elapsed;
    Ok(AuditOutcome {
        command: "audit",
        entries: options.entries,
        log_size,
        audit_elapsed_s: elapsed,
        audit_entries_per_s: rate,
        verify_strict_per_s: verify_rate,
        r_audit: rate / verify_rate,
        r_ingest: ingest.throughput_per_s / verify_rate,
        server_rss_kib: server::rss_kib(server.pid()),
        nproc: thread::available_parallelism().map_or(1, usize::from),
        ingest,
        audit_command,
        watch_elapsed_s: watch_elapsed,
        watch_entries_per_s: watch_rate,
        watch_over_audit: watch_rate / rate,
        watch_command,
    })
}

/// Runs `signet <args>` to completion (at most `max`), its output in files under `tmp`,
/// and returns the command line and the seconds it took; an error if it failed.
fn time_signet(
    signet_bin: &Path,
    args: &[&str],
    tmp: &Path,
    max: Duration,
) -> Result<(String, f64)> {
    let command = format!("{} {}", signet_bin.display(), args.join(" "));
    eprintln!("signet-bench: timing {command}");
    let out_path = tmp.join(format!("{}.out", args[0]));
    let err_path = tmp.join(format!("{}.err", args[0]));
    let started = Instant::now();
    let mut child = Command::new(signet_bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&out_path)?)
        .stderr(File::create(&err_path)?)
        .spawn()
        .with_context(|| format!("cannot run {}", signet_bin.display()))?;
    // Poll rather than block, so that a hung command cannot hang the benchmark.
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > max {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "`{command}` took longer than --max-duration {} s",
                max.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed().as_secs_f64();
    if !status.success() {
        let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        bail!(
            "`{command}` failed ({status}):\n{}\n{}",
            stdout.trim(),
            stderr.trim()
        );
    }
    Ok((command, elapsed))
}
