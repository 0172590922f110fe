//! `signet-server`: serves a Signet registry from a data directory.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use signet_log::{Config, Log};
use signet_server::{AppState, Settings, app};

/// Serve a Signet registry: an append-only log of signatures on open letters.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The data directory: the log, its key, the index and the lock.
    #[arg(long, env = "SIGNET_DATA", default_value = "registry-data")]
    data: PathBuf,
    /// The hosted letters (`<slug>.txt` and `<slug>.toml`) [default: <data>/letters].
    #[arg(long, env = "SIGNET_LETTERS")]
    letters: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The log's origin, a schema-less URL; fixed at the first start [default for a new
    /// log: localhost/signet].
    #[arg(long, env = "SIGNET_ORIGIN")]
    origin: Option<String>,
    /// Submissions per second allowed to one client IP (with a small burst); 0 turns the
    /// limit off.
    #[arg(long, env = "SIGNET_RATE_LIMIT", default_value_t = 20)]
    rate_limit: u32,
    /// How long the sequencer gathers submissions into one batch, in milliseconds.
    #[arg(long, env = "SIGNET_BATCH_INTERVAL_MS", default_value_t = 5)]
    batch_interval_ms: u64,
    /// How many submissions may wait for the sequencer; more are answered 503.
    #[arg(long, env = "SIGNET_POOL_SIZE", default_value_t = 8192)]
    pool_size: usize,
    /// The most submissions integrated in one batch.
    #[arg(long, env = "SIGNET_MAX_BATCH", default_value_t = 4096)]
    max_batch: usize,
    /// Requests taking longer than this many seconds are answered 503.
    #[arg(long, env = "SIGNET_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// Requests handled at once; more wait their turn.
    #[arg(long, env = "SIGNET_CONCURRENCY", default_value_t = 1024)]
    concurrency: usize,
    /// Hash tiles kept in memory for proofs (about 16 KiB each).
    #[arg(long, env = "SIGNET_TILE_CACHE", default_value_t = 1024)]
    tile_cache: usize,
    /// Rebuild the index from the log before serving.
    #[arg(long)]
    reindex: bool,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("signet-server: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signet-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config {
        letters_dir: args.letters.clone(),
        origin: args.origin.clone(),
        batch_interval: Duration::from_millis(args.batch_interval_ms),
        pool_size: args.pool_size,
        max_batch: args.max_batch,
        reindex: args.reindex,
        tile_cache: args.tile_cache,
        ..Config::new(&args.data)
    };
    let data = args.data.display().to_string();
    let log = tokio::task::spawn_blocking(move || Log::open(config))
        .await
        .context("opening the log")?
        .with_context(|| format!("cannot open the registry in {data}"))?;
    let log = Arc::new(log);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    println!("origin: {}", log.origin());
    println!("verifier key: {}", log.verifier());
    println!("log size: {}", log.head().size);
    println!("listening on http://{addr}");

    let settings = Settings {
        rate_limit: args.rate_limit,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        concurrency: args.concurrency,
    };
    let router = app(AppState::new(log.clone(), settings));
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving")?;
    tracing::info!("no longer accepting connections; integrating pending submissions");
    tokio::task::spawn_blocking(move || log.close())
        .await
        .context("closing the log")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
