//! `signet-witness`: a C2SP tlog-witness over a data directory.

#![forbid(unsafe_code)]

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use signet_core::{KeyName, VerifierKey};
use signet_witness::Witness;
use signet_witness::cli::Args;

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    signet_server::daemon::init_logging();
    signet_server::daemon::run("signet-witness", 2, run(args))
}

/// A `--log` value: a verifier key if it parses as one, else a file holding one.
fn log_key(value: &str) -> anyhow::Result<VerifierKey> {
    if let Ok(k) = VerifierKey::parse(value) {
        return Ok(k);
    }
    let text = std::fs::read_to_string(value).with_context(|| {
        format!("--log {value:?} is neither a verifier key nor a readable file holding one")
    })?;
    VerifierKey::parse(text.trim())
        .with_context(|| format!("--log {value}: the file holds no verifier key"))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let name = KeyName::parse(&args.name).with_context(|| format!("--name {:?}", args.name))?;
    let logs = args
        .logs
        .iter()
        .map(|l| log_key(l))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let data = args.data.clone();
    let witness = tokio::task::spawn_blocking(move || Witness::open(&data, name, logs))
        .await
        .context("opening the witness")?
        .with_context(|| format!("cannot open the witness in {}", args.data.display()))?;
    let witness = Arc::new(witness);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    println!("cosigner key: {}", witness.verifier());
    for origin in witness.origins() {
        println!("witnessing: {origin}");
    }
    println!("listening on http://{addr}");
    let settings = args.settings();
    let router = signet_witness::app(witness, settings.body_timeout);
    signet_server::serve(
        listener,
        router,
        settings,
        signet_server::daemon::shutdown_signal(),
    )
    .await
    .context("serving")?;
    tracing::info!("stopped");
    Ok(())
}
