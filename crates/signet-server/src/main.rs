//! `signet-server`: serves a Signet registry from a data directory.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use signet_log::{Config, Log};
use signet_server::cli::Args;
use signet_server::witnesses::WitnessClient;
use signet_server::{AppState, app, serve};

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    signet_server::daemon::init_logging();
    if args.check {
        return check(&args.data);
    }
    signet_server::daemon::run("signet-server", 1, run(args))
}

/// `--check`: the offline audit of the stored log. Its report goes to stdout.
fn check(data: &std::path::Path) -> std::process::ExitCode {
    match signet_log::check_dir(data) {
        Ok(report) => {
            println!("{report}");
            if report.is_sound() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!(
                "signet-server: cannot check the registry in {}: {e}",
                data.display()
            );
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let witnesses = match &args.witness_policy {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the witness policy {}", path.display()))?;
            let client =
                WitnessClient::from_policy(&bytes, Duration::from_secs(args.witness_timeout))
                    .map_err(|e| anyhow::anyhow!("the witness policy {}: {e}", path.display()))?;
            Some(Arc::new(client))
        }
        None => None,
    };
    let config = Config {
        cosigners: witnesses
            .clone()
            .map(|w| w as Arc<dyn signet_log::witness::Cosigners>),
        letters_dir: args.letters.clone(),
        origin: args.origin.clone(),
        batch_interval: Duration::from_millis(args.batch_interval_ms),
        pool_size: args.pool_size,
        max_batch: args.max_batch,
        reindex: args.reindex,
        tile_cache: args.tile_cache,
        moderators: args.moderators.clone(),
        ..Config::new(&args.data)
    };
    let data = args.data.display().to_string();
    let log = tokio::task::spawn_blocking(move || Log::open(config))
        .await
        .context("opening the log")?
        .with_context(|| format!("cannot open the registry in {data}"))?;
    let log = Arc::new(log);
    if let Some(w) = &witnesses
        && let Err(e) = w.check_log(log.verifier())
    {
        let closing = log.clone();
        let _ = tokio::task::spawn_blocking(move || closing.close()).await;
        anyhow::bail!("{e}");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    // Before the server says it listens: bad identity flags are a refusal to start.
    let identity =
        signet_server::identity::from_args(&args, log.clone()).context("the identity flags")?;
    println!("origin: {}", log.origin());
    println!("verifier key: {}", log.verifier());
    println!("log size: {}", log.head().size);
    println!("listening on http://{addr}");

    let settings = args.settings();
    let router = app(AppState::new(log.clone(), settings.clone()).with_identity(identity));
    serve(
        listener,
        router,
        settings,
        signet_server::daemon::shutdown_signal(),
    )
    .await
    .context("serving")?;
    tracing::info!("no longer accepting connections; integrating pending submissions");
    tokio::task::spawn_blocking(move || log.close())
        .await
        .context("closing the log")?;
    tracing::info!("stopped");
    Ok(())
}
