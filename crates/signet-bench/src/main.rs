#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod audit;
mod features;
mod http;
mod ingest;
mod proofs;
mod reads;
mod search;
mod server;
mod stats;
mod target;
mod verify;
mod witness;
mod workload;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use signet_core::LetterId;

use crate::target::ServerUrl;

/// Signet's load generator and audit benchmark.
///
/// Every figure is also given as a ratio to the single-core Ed25519 `verify_strict` rate
/// measured in the same run, so that results from different machines compare.
#[derive(Debug, Parser)]
#[command(name = "signet-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Submit N distinct valid entries to a running server and verify every proof.
    Ingest(IngestArgs),
    /// Build a log of N entries on a fresh signet-server and time `signet audit --full`.
    Audit(AuditArgs),
    /// Time GET /v1/proof/<index> for random indexes of a running server's log.
    Proofs(ProofsArgs),
    /// Time look-alike searches (GET /v1/signatories?q=) on a running server's letter.
    Search(SearchArgs),
    /// Start a signet-witness and time add-checkpoint requests from many logs at once.
    Witness(WitnessArgs),
    /// Ingest on fresh servers side by side: plain, with witnesses, with identity claims
    /// that hold, and with claims whose sites hang.
    Features(FeaturesArgs),
    /// Measure this build's single-core verify_strict rate, the ratios' yardstick.
    Yardstick(YardstickArgs),
}

/// The running server a benchmark loads.
#[derive(Debug, Args)]
struct Target {
    /// The server's base URL (loopback only unless --allow-remote).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Report this server process's CPU time during the run (and, for ingest, its
    /// resident memory at the end), from /proc.
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,
    /// Allow a server that is not on a loopback address.
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Debug, Args)]
struct Common {
    /// Print one JSON object (schema in the README) instead of text.
    #[arg(long)]
    json: bool,
    /// Give up on work still pending after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    max_duration: u64,
    /// Seconds to spend measuring the single-core verify_strict rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    verify_seconds: f64,
}

#[derive(Debug, Args)]
struct IngestArgs {
    #[command(flatten)]
    target: Target,
    /// The log's verifier key, or a file holding it (e.g. <data>/log.vkey).
    #[arg(long, value_name = "VKEY")]
    log_key: String,
    /// Entries to submit.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    count: usize,
    /// Concurrent workers (each with its own keep-alive connection).
    #[arg(long, value_name = "C", default_value_t = 64)]
    concurrency: usize,
    /// Distinct signers; with fewer signers than entries each one cycles through
    /// endorse → withdraw → endorse ….
    #[arg(long, value_name = "K", default_value_t = 10_000)]
    signers: usize,
    /// Offer a fixed load of R entries per second (open loop) instead of sending as
    /// fast as the server answers.
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// The letter to endorse (default: the first letter GET /v1/log lists).
    #[arg(long, value_name = "sha256:HEX")]
    letter: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct AuditArgs {
    /// Entries to put in the log before auditing it.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    entries: usize,
    /// The signet-server binary (default: next to signet-bench).
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// The signet binary (default: next to signet-bench).
    #[arg(long, value_name = "PATH")]
    signet_bin: Option<PathBuf>,
    /// The letters folder the server hosts (default: the repository's
    /// registry-data/letters).
    #[arg(long, value_name = "DIR")]
    letters: Option<PathBuf>,
    /// Concurrent workers while building the log.
    #[arg(long, value_name = "C", default_value_t = 64)]
    concurrency: usize,
    /// Distinct signers while building the log.
    #[arg(long, value_name = "K", default_value_t = 10_000)]
    signers: usize,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct ProofsArgs {
    #[command(flatten)]
    target: Target,
    /// Requests to make.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    count: usize,
    /// Concurrent workers.
    #[arg(long, value_name = "C", default_value_t = 64)]
    concurrency: usize,
    /// Verify each distinct checkpoint against this key (or the file holding it).
    #[arg(long, value_name = "VKEY")]
    log_key: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct SearchArgs {
    #[command(flatten)]
    target: Target,
    /// Requests to make.
    #[arg(long, value_name = "N", default_value_t = 2_000)]
    count: usize,
    /// Concurrent workers.
    #[arg(long, value_name = "C", default_value_t = 1)]
    concurrency: usize,
    /// The letter to search, by ID or slug (default: the first letter GET /v1/log lists).
    #[arg(long, value_name = "LETTER")]
    letter: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct WitnessArgs {
    /// Requests to make in all (divided evenly among the logs).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    count: usize,
    /// Logs witnessed at once; each sends its checkpoints in order, one at a time.
    #[arg(long, value_name = "L", default_value_t = 32)]
    logs: usize,
    /// The signet-witness binary (default: next to signet-bench).
    #[arg(long, value_name = "PATH")]
    witness_bin: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct FeaturesArgs {
    /// The phases to run, in order (without --rate the first must be plain).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "plain,witnesses,claims,hanging"
    )]
    phases: Vec<features::Phase>,
    /// Entries of each phase's closed-loop run.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    count: usize,
    /// Entries of each phase's open-loop run.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    open_count: usize,
    /// Workers of the closed-loop runs.
    #[arg(long, value_name = "C", default_value_t = 64)]
    concurrency: usize,
    /// The open loops' offered load, entries/s (default: half the plain phase's capacity).
    #[arg(long, value_name = "R")]
    rate: Option<f64>,
    /// The signet-server binary (default: next to signet-bench).
    #[arg(long, value_name = "PATH")]
    server_bin: Option<PathBuf>,
    /// The signet-witness binary (default: next to signet-bench).
    #[arg(long, value_name = "PATH")]
    witness_bin: Option<PathBuf>,
    /// The letters folder the servers host (default: the repository's
    /// registry-data/letters).
    #[arg(long, value_name = "DIR")]
    letters: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct YardstickArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds to spend measuring.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    verify_seconds: f64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // A reader that went away (`signet-bench … | head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("signet-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Shows a progress bar only when a person is watching standard error.
fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}

fn bounded_seconds(seconds: f64, flag: &str) -> Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 60.0) {
        bail!("{flag} must be more than 0 and at most 60 seconds");
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn nproc() -> usize {
    thread::available_parallelism().map_or(1, usize::from)
}

/// `signet-bench ingest --json`: the run's outcome and the ratios.
#[derive(Debug, Serialize)]
struct IngestReport {
    command: &'static str,
    server: String,
    #[serde(flatten)]
    outcome: ingest::Outcome,
    verify_strict_per_s: f64,
    r_ingest: f64,
    server_rss_kib: Option<u64>,
    nproc: usize,
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Ingest(args) => run_ingest(args),
        Cmd::Audit(args) => run_audit(args),
        Cmd::Proofs(args) => run_proofs(args),
        Cmd::Search(args) => run_search(args),
        Cmd::Witness(args) => run_witness(args),
        Cmd::Features(args) => run_features(args),
        Cmd::Yardstick(args) => run_yardstick(&args),
    }
}

/// `signet-bench yardstick --json`.
#[derive(Debug, Serialize)]
struct YardstickReport {
    command: &'static str,
    verify_strict_per_s: f64,
    nproc: usize,
}

fn run_yardstick(args: &YardstickArgs) -> Result<ExitCode> {
    let time = bounded_seconds(args.verify_seconds, "--verify-seconds")?;
    let report = YardstickReport {
        command: "yardstick",
        verify_strict_per_s: stats::verify_strict_rate(time)?,
        nproc: nproc(),
    };
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "verify_strict    {:.0} /s on one core\nnproc            {}",
            report.verify_strict_per_s, report.nproc
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run_ingest(args: IngestArgs) -> Result<ExitCode> {
    let server = ServerUrl::parse(&args.target.server, args.target.allow_remote)?;
    let log_key = verify::parse_log_key(&args.log_key)?;
    check_concurrency(args.concurrency)?;
    if args.signers == 0 {
        bail!("--signers must be at least 1");
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of entries per second");
    }
    let letter = args
        .letter
        .as_deref()
        .map(|s| {
            s.parse::<LetterId>()
                .map_err(|e| anyhow::anyhow!("--letter {s}: {e}"))
        })
        .transpose()?;
    let verify_time = bounded_seconds(args.common.verify_seconds, "--verify-seconds")?;
    let outcome = ingest::run(&ingest::Options {
        server: server.clone(),
        log_key,
        count: args.count,
        concurrency: args.concurrency,
        signers: args.signers,
        rate: args.rate,
        letter,
        max_duration: Duration::from_secs(args.common.max_duration),
        progress: progress_wanted(),
        server_pid: args.target.server_pid,
        claims: workload::Claims::default(),
    })?;
    // Measured after the load, when the server is idle, so neither disturbs the other.
    let verify_rate = stats::verify_strict_rate(verify_time)?;
    let ok = outcome.all_verified();
    let report = IngestReport {
        command: "ingest",
        server: server.as_str().to_owned(),
        r_ingest: outcome.throughput_per_s / verify_rate,
        outcome,
        verify_strict_per_s: verify_rate,
        server_rss_kib: args.target.server_pid.and_then(server::rss_kib),
        nproc: nproc(),
    };
    if args.common.json {
        print_json(&report)?;
    } else {
        print_ingest(&report)?;
    }
    let why = format!(
        "not every entry was logged with a valid proof: {}",
        report
            .outcome
            .first_failure
            .as_deref()
            .unwrap_or("no reason recorded")
    );
    Ok(finish(ok, Some(&why)))
}

fn run_audit(args: AuditArgs) -> Result<ExitCode> {
    check_concurrency(args.concurrency)?;
    if args.signers == 0 {
        bail!("--signers must be at least 1");
    }
    let report = audit::run(&audit::Options {
        entries: args.entries,
        concurrency: args.concurrency,
        signers: args.signers,
        server_bin: args.server_bin,
        signet_bin: args.signet_bin,
        letters: args.letters,
        max_duration: Duration::from_secs(args.common.max_duration),
        verify_time: bounded_seconds(args.common.verify_seconds, "--verify-seconds")?,
        progress: progress_wanted(),
    })?;
    if args.common.json {
        print_json(&report)?;
    } else {
        print_audit(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_proofs(args: ProofsArgs) -> Result<ExitCode> {
    let server = ServerUrl::parse(&args.target.server, args.target.allow_remote)?;
    let log_key = args
        .log_key
        .as_deref()
        .map(verify::parse_log_key)
        .transpose()?;
    check_concurrency(args.concurrency)?;
    let outcome = proofs::run(&proofs::Options {
        load: load(
            server,
            args.count,
            args.concurrency,
            &args.target,
            &args.common,
        ),
        log_key,
    })?;
    let ok = outcome.ok == outcome.requests && outcome.requests == args.count as u64;
    if args.common.json {
        print_json(&outcome)?;
    } else {
        print_proofs(&outcome)?;
    }
    Ok(finish(ok, outcome.first_failure.as_deref()))
}

fn run_search(args: SearchArgs) -> Result<ExitCode> {
    let server = ServerUrl::parse(&args.target.server, args.target.allow_remote)?;
    check_concurrency(args.concurrency)?;
    let outcome = search::run(&search::Options {
        load: load(
            server,
            args.count,
            args.concurrency,
            &args.target,
            &args.common,
        ),
        letter: args.letter,
    })?;
    let ok = outcome.load.ok == outcome.load.requests && outcome.load.requests == args.count as u64;
    if args.common.json {
        print_json(&outcome)?;
    } else {
        print!("{}", search::text(&outcome, latency_text));
    }
    Ok(finish(ok, outcome.load.first_failure.as_deref()))
}

fn run_witness(args: WitnessArgs) -> Result<ExitCode> {
    if args.logs == 0 || args.logs > 1024 {
        bail!("--logs must be between 1 and 1024");
    }
    let o = witness::run(&witness::Options {
        count: args.count,
        logs: args.logs,
        witness_bin: args.witness_bin,
        max_duration: Duration::from_secs(args.common.max_duration),
        verify_time: bounded_seconds(args.common.verify_seconds, "--verify-seconds")?,
    })?;
    let ok = o.cosigned == o.requests && o.first_failure.is_none();
    if args.common.json {
        print_json(&o)?;
    } else {
        let cpu = o
            .witness_cpu_us_per_request
            .map(|us| format!("witness CPU      {us:.0} µs per request\n"))
            .unwrap_or_default();
        print!(
            "signet-bench witness: add-checkpoint from {} logs at once\n\
             requests         {} ({} cosigned and verified)\n\
             elapsed          {:.3} s\n\
             cosigned         {:.0} /s\n\
             latency ms       {}\n{cpu}\
             verify_strict    {:.0} /s on one core (same run)\n\
             nproc            {}\n",
            o.logs,
            o.requests,
            o.cosigned,
            o.elapsed_s,
            o.cosigned_per_s,
            latency_text(&o.latency_ms),
            o.verify_strict_per_s,
            o.nproc
        );
    }
    Ok(finish(ok, o.first_failure.as_deref()))
}

fn run_features(args: FeaturesArgs) -> Result<ExitCode> {
    check_concurrency(args.concurrency)?;
    if args.phases.is_empty() {
        bail!("--phases needs at least one phase");
    }
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate > 0.0)
    {
        bail!("--rate must be a positive number of entries per second");
    }
    let letters = match args.letters {
        Some(path) => path,
        None => audit::default_letters()?,
    };
    let o = features::run(&features::Options {
        phases: args.phases,
        count: args.count,
        open_count: args.open_count,
        concurrency: args.concurrency,
        rate: args.rate,
        server_bin: args.server_bin,
        witness_bin: args.witness_bin,
        letters,
        max_duration: Duration::from_secs(args.common.max_duration),
        verify_time: bounded_seconds(args.common.verify_seconds, "--verify-seconds")?,
        progress: progress_wanted(),
    })?;
    if args.common.json {
        print_json(&o)?;
    } else {
        print!("{}", features::text(&o));
    }
    Ok(ExitCode::SUCCESS)
}

/// The read load the flags describe.
fn load(
    server: ServerUrl,
    count: usize,
    concurrency: usize,
    target: &Target,
    common: &Common,
) -> reads::Options {
    reads::Options {
        server,
        count,
        concurrency,
        max_duration: Duration::from_secs(common.max_duration),
        progress: progress_wanted(),
        server_pid: target.server_pid,
    }
}

/// `--concurrency` is 1 to 4096 workers.
fn check_concurrency(c: usize) -> Result<()> {
    if c == 0 || c > 4096 {
        bail!("--concurrency must be between 1 and 4096");
    }
    Ok(())
}

/// Exit 0 when the run was clean, else 1, saying why on standard error.
fn finish(ok: bool, failure: Option<&str>) -> ExitCode {
    if ok {
        return ExitCode::SUCCESS;
    }
    if let Some(failure) = failure {
        eprintln!("signet-bench: {failure}");
    }
    ExitCode::from(1)
}

fn print_json(value: &impl Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).context("writing the JSON report")?;
    writeln!(out).context("writing the JSON report")?;
    Ok(())
}

fn errors_text(errors: &std::collections::BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        "none".to_owned()
    } else {
        errors
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn latency_text(l: &stats::Latency) -> String {
    format!(
        "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}",
        l.p50, l.p90, l.p99, l.max, l.mean
    )
}

fn ingest_lines(o: &ingest::Outcome) -> String {
    let mode = match o.rate {
        Some(rate) => format!("open loop at {rate} entries/s"),
        None => "closed loop".to_owned(),
    };
    format!(
        "entries          {} by {} signers, {} workers, {mode}\n\
         signed in        {:.2} s (before timing)\n\
         acknowledged     {} (201: {}, 200: {}), skipped {}, retries {}\n\
         proofs verified  {} ({} checkpoint signatures, {} failures)\n\
         errors           {}\n\
         elapsed          {:.3} s\n\
         throughput       {:.0} entries/s\n\
         latency ms       {}\n{}",
        o.count,
        o.signers,
        o.concurrency,
        o.generation_s,
        o.created + o.already_logged,
        o.created,
        o.already_logged,
        o.skipped,
        o.retries,
        o.proofs_verified,
        o.checkpoints_verified,
        o.proof_failures,
        errors_text(&o.errors),
        o.elapsed_s,
        o.throughput_per_s,
        latency_text(&o.latency_ms),
        cpu_text(o.generator_cpu_s, o.server_cpu_s, o.elapsed_s),
    )
}

fn cpu_text(generator: Option<f64>, server: Option<f64>, elapsed_s: f64) -> String {
    let per_core = |cpu: f64| 100.0 * cpu / elapsed_s.max(f64::EPSILON);
    let mut text = String::new();
    if let Some(cpu) = generator {
        text += &format!(
            "generator CPU    {cpu:.2} s ({:.0}% of one core)\n",
            per_core(cpu)
        );
    }
    if let Some(cpu) = server {
        text += &format!(
            "server CPU       {cpu:.2} s ({:.0}% of one core)\n",
            per_core(cpu)
        );
    }
    text
}

fn print_ingest(r: &IngestReport) -> Result<()> {
    let rss = r
        .server_rss_kib
        .map(|kib| format!("server RSS       {:.1} MiB\n", kib as f64 / 1024.0))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "signet-bench ingest against {}\n{}\
         verify_strict    {:.0} /s on one core (same run)\n\
         R_ingest         {:.3}\n{rss}\
         nproc            {}\n",
        r.server,
        ingest_lines(&r.outcome),
        r.verify_strict_per_s,
        r.r_ingest,
        r.nproc
    )?;
    Ok(())
}

fn print_audit(r: &audit::AuditOutcome) -> Result<()> {
    let rss = r
        .server_rss_kib
        .map(|kib| format!("server RSS       {:.1} MiB\n", kib as f64 / 1024.0))
        .unwrap_or_default();
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "signet-bench audit: building the log\n{}\
         R_ingest         {:.3}\n\
         audit            {}\n\
         log size         {} entries\n\
         audit time       {:.3} s\n\
         audit rate       {:.0} entries/s\n\
         verify_strict    {:.0} /s on one core (same run)\n\
         R_audit          {:.3}\n\
         watch            {}\n\
         watch time       {:.3} s\n\
         watch rate       {:.0} entries/s ({:.3} of the audit rate)\n{rss}\
         nproc            {}\n",
        ingest_lines(&r.ingest),
        r.r_ingest,
        r.audit_command,
        r.log_size,
        r.audit_elapsed_s,
        r.audit_entries_per_s,
        r.verify_strict_per_s,
        r.r_audit,
        r.watch_command,
        r.watch_elapsed_s,
        r.watch_entries_per_s,
        r.watch_over_audit,
        r.nproc
    )?;
    Ok(())
}

fn print_proofs(o: &proofs::ProofsOutcome) -> Result<()> {
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "signet-bench proofs: GET /v1/proof/<index> on a log of {} entries, {} workers\n\
         requests         {} ({} valid proofs, {} checkpoint signatures verified)\n\
         errors           {}\n\
         elapsed          {:.3} s\n\
         proofs           {:.0} /s\n\
         latency ms       {}\n{}",
        o.log_size,
        o.concurrency,
        o.requests,
        o.ok,
        o.checkpoints_verified,
        errors_text(&o.errors),
        o.elapsed_s,
        o.proofs_per_s,
        latency_text(&o.latency_ms),
        cpu_text(o.generator_cpu_s, o.server_cpu_s, o.elapsed_s),
    )?;
    Ok(())
}

/// The manual page `docs/man/signet-bench.1` is generated from [`Cli`]; this test fails
/// when the committed page is stale.
#[cfg(test)]
mod man {
    use clap::CommandFactory as _;

    #[test]
    fn the_man_page_is_current() {
        let text = signet_testkit::man::check_page(
            super::Cli::command(),
            "signet-bench",
            "SIGNET_UPDATE_MAN=1 cargo test -p signet-bench --bin signet-bench man",
        );
        for word in ["ingest", "audit", "proofs", "verify_strict"] {
            assert!(text.contains(word), "{word} missing from the page");
        }
    }
}

#[cfg(test)]
mod flags {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn out_of_range_numbers_say_which_flag_and_what_range() {
        for bad in [0, 4097] {
            let e = check_concurrency(bad).unwrap_err().to_string();
            assert!(
                e.contains("--concurrency") && e.contains("1 and 4096"),
                "{e}"
            );
        }
        assert!(check_concurrency(1).is_ok() && check_concurrency(4096).is_ok());
        for bad in [0.0, -1.0, 61.0, f64::NAN] {
            let e = bounded_seconds(bad, "--verify-seconds")
                .unwrap_err()
                .to_string();
            assert!(e.contains("--verify-seconds"), "{e}");
        }
        // Witness and features runs refuse what they cannot do before starting anything.
        let cli = Cli::try_parse_from(["signet-bench", "witness", "--logs", "0"]).unwrap();
        let e = run(cli).unwrap_err().to_string();
        assert!(e.contains("--logs"), "{e}");
        let cli = Cli::try_parse_from(["signet-bench", "features", "--phases", "claims"]).unwrap();
        let e = run(cli).unwrap_err().to_string();
        assert!(e.contains("first phase must be plain"), "{e}");
        let cli =
            Cli::try_parse_from(["signet-bench", "yardstick", "--verify-seconds", "0"]).unwrap();
        let e = run(cli).unwrap_err().to_string();
        assert!(e.contains("--verify-seconds"), "{e}");
    }

    #[test]
    fn the_yardstick_runs_and_its_signature_verifies() {
        let cli =
            Cli::try_parse_from(["signet-bench", "yardstick", "--verify-seconds", "0.05"]).unwrap();
        let Cmd::Yardstick(args) = cli.command else {
            panic!("parsed as another command");
        };
        // It fails if the yardstick's own signature does not verify.
        assert_eq!(run_yardstick(&args).unwrap(), ExitCode::SUCCESS);
    }
}
