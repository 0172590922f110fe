//! The command line of `signet-server`, here rather than in `main.rs` so that its manual
//! page (`docs/man/signet-server.1`) can be generated from it and checked by a test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::Settings;

/// Serve a Signet registry: an append-only log of signatures on open letters.
#[derive(Debug, Parser)]
#[command(name = "signet-server", version, about)]
pub struct Args {
    /// The data directory: the log, its key, the index and the lock.
    #[arg(long, env = "SIGNET_DATA", default_value = "registry-data")]
    pub data: PathBuf,
    /// The hosted letters (`<slug>.txt` and `<slug>.toml`) [default: <data>/letters].
    #[arg(long, env = "SIGNET_LETTERS")]
    pub letters: Option<PathBuf>,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIGNET_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The log's origin, a schema-less URL; fixed at the first start [default for a new
    /// log: localhost/signet].
    #[arg(long, env = "SIGNET_ORIGIN")]
    pub origin: Option<String>,
    /// Submissions per second allowed to one client IP (with a small burst); 0 turns the
    /// limit off.
    #[arg(long, env = "SIGNET_RATE_LIMIT", default_value_t = 20)]
    pub rate_limit: u32,
    /// How long the sequencer gathers submissions into one batch, in milliseconds.
    #[arg(long, env = "SIGNET_BATCH_INTERVAL_MS", default_value_t = 5)]
    pub batch_interval_ms: u64,
    /// How many submissions may wait for the sequencer; more are answered 503.
    #[arg(long, env = "SIGNET_POOL_SIZE", default_value_t = 8192)]
    pub pool_size: usize,
    /// The most submissions integrated in one batch.
    #[arg(long, env = "SIGNET_MAX_BATCH", default_value_t = 4096)]
    pub max_batch: usize,
    /// Requests taking longer than this many seconds are answered 503.
    #[arg(long, env = "SIGNET_REQUEST_TIMEOUT", default_value_t = 30, value_parser = seconds)]
    pub request_timeout: u64,
    /// Read requests (checkpoint, tiles, proofs, pages) handled at once; more wait their
    /// turn.
    #[arg(long, env = "SIGNET_CONCURRENCY", default_value_t = 1024, value_parser = count)]
    pub concurrency: usize,
    /// Submissions handled at once, in a budget of their own so that they never starve
    /// the reads; more wait their turn.
    #[arg(long, env = "SIGNET_SUBMIT_CONCURRENCY", default_value_t = 256, value_parser = count)]
    pub submit_concurrency: usize,
    /// Connections open at once; more wait in the listen backlog until one closes. Keep
    /// it well under the open-file limit (`ulimit -n`), which the log's files share.
    #[arg(long, env = "SIGNET_MAX_CONNECTIONS", default_value_t = 4096, value_parser = count)]
    pub max_connections: usize,
    /// Seconds a request's headers may take to arrive, from the connection's accept or
    /// the previous answer; a connection that sends nothing is closed after it.
    #[arg(long, env = "SIGNET_HEADER_TIMEOUT", default_value_t = 10, value_parser = seconds)]
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive after its headers; slower bodies
    /// get 408.
    #[arg(long, env = "SIGNET_BODY_TIMEOUT", default_value_t = 10, value_parser = seconds)]
    pub body_timeout: u64,
    /// Seconds a connection may stay open with nothing read or written (a client that
    /// stopped reading its answer, say), then it is closed; keep it above
    /// --request-timeout.
    #[arg(long, env = "SIGNET_IDLE_TIMEOUT", default_value_t = 60, value_parser = seconds)]
    pub idle_timeout: u64,
    /// Hash tiles kept in memory for proofs (about 16 KiB each); 256 times as many, once
    /// a proof has read them, keep the roots of their runs of 16 hashes (about 0.6 KiB
    /// each), enough for every tile of a log of 16.7M entries at the default.
    #[arg(long, env = "SIGNET_TILE_CACHE", default_value_t = 256)]
    pub tile_cache: usize,
    /// Rebuild the index from the log before serving.
    #[arg(long)]
    pub reindex: bool,
    /// Audit the stored log offline instead of serving it: every entry bundle, every
    /// tile, every signature and every rule of state. Names every bad file; exits 0 when
    /// the log is sound, 1 when it is not. Refuses to run beside a server on the same
    /// data directory.
    #[arg(long, conflicts_with = "reindex")]
    pub check: bool,
    /// Appoint a moderator: its verifier key, or a file holding one (the `.vkey` that
    /// `signet keygen` writes). Repeat it for each moderator. The log appoints each key
    /// once, with an entry it signs; an appointment is never undone.
    #[arg(long = "moderator", value_name = "VKEY|FILE", value_parser = crate::moderation::moderator_key)]
    pub moderators: Vec<signet_core::VerifierKey>,
    /// A C2SP tlog-policy file naming the witnesses (`witness NAME VKEY URL`) asked to
    /// cosign every checkpoint, and the quorum to wait for; a `log` line, if any, must
    /// be this log's key (see docs/operating.md, *Witnesses*).
    #[arg(long, env = "SIGNET_WITNESS_POLICY", value_name = "FILE")]
    pub witness_policy: Option<PathBuf>,
    /// Seconds to wait for the witness quorum before publishing a checkpoint without it
    /// (fail open, with a warning and a metric).
    #[arg(long, env = "SIGNET_WITNESS_TIMEOUT", default_value_t = 5, value_parser = seconds)]
    pub witness_timeout: u64,
    /// Check the identity claims of endorsements (on), or make no outside request at all
    /// and leave `verified` empty (off).
    #[arg(long, env = "SIGNET_IDENTITY_CHECKS", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub identity_checks: bool,
    /// Re-check the claims of shown signers this often: 30s, 15m, 24h, or a bare number
    /// of hours.
    #[arg(long, env = "SIGNET_IDENTITY_RECHECK", default_value = "24h", value_parser = crate::identity::recheck_duration)]
    pub identity_recheck: Duration,
    #[command(flatten)]
    pub identity: signet_identity::IdentityArgs,
}

impl Args {
    /// The limits of the HTTP server these arguments ask for.
    pub fn settings(&self) -> Settings {
        Settings {
            rate_limit: self.rate_limit,
            request_timeout: Duration::from_secs(self.request_timeout),
            concurrency: self.concurrency,
            submit_concurrency: self.submit_concurrency,
            max_connections: self.max_connections,
            header_timeout: Duration::from_secs(self.header_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            idle_timeout: Duration::from_secs(self.idle_timeout),
        }
    }
}

/// `on` or `off`.
fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?} is neither on nor off")),
    }
}

/// A count of at least 1.
fn count(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number (give one such as 64)")),
    }
}

/// A number of seconds, from 1 to a day.
fn seconds(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n @ 1..=86_400) => Ok(n),
        Ok(_) => Err("must be between 1 and 86400 seconds".into()),
        Err(_) => Err(format!(
            "{s:?} is not a whole number of seconds (give one such as 10)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str], expect: Result<(), &str>) {
        let mut argv = vec!["signet-server"];
        argv.extend_from_slice(args);
        match (Args::try_parse_from(&argv), expect) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(needle)) => {
                let text = e.to_string();
                assert!(text.contains(needle), "{args:?}: {text}");
            }
            (got, want) => panic!("{args:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    #[expect(clippy::unwrap_used, reason = "tests")]
    fn identity_flags() {
        check(&["--identity-checks", "off"], Ok(()));
        check(
            &["--identity-checks", "on", "--identity-recheck", "15m"],
            Ok(()),
        );
        check(&["--identity-checks", "maybe"], Err("neither on nor off"));
        check(&["--identity-recheck", "2d"], Err("not a duration"));
        check(
            &[
                "--identity-dns",
                "127.0.0.1:5353",
                "--identity-allow-private",
            ],
            Ok(()),
        );
        check(&["--identity-dns", "resolver"], Err("not an IP address"));
        let on = Args::try_parse_from(["signet-server"]).unwrap();
        assert!(on.identity_checks);
        assert_eq!(on.identity_recheck, Duration::from_secs(86_400));
        let off = Args::try_parse_from(["signet-server", "--identity-checks", "off"]).unwrap();
        assert!(!off.identity_checks);
    }

    #[test]
    fn limits_flags() {
        check(
            &["--max-connections", "64", "--submit-concurrency", "8"],
            Ok(()),
        );
        check(&["--max-connections", "0"], Err("must be at least 1"));
        check(&["--max-connections=-1"], Err("not a whole number"));
        check(&["--submit-concurrency", "0"], Err("must be at least 1"));
        check(&["--submit-concurrency", "many"], Err("not a whole number"));
        check(&["--concurrency", "0"], Err("must be at least 1"));
        check(&["--header-timeout", "0"], Err("between 1 and 86400"));
        check(
            &["--body-timeout", "1.5"],
            Err("not a whole number of seconds"),
        );
        check(&["--idle-timeout", "100000"], Err("between 1 and 86400"));
        check(&["--request-timeout", "0"], Err("between 1 and 86400"));
    }

    #[test]
    fn defaults_are_the_documented_limits() {
        let args = Args::try_parse_from(["signet-server"]).unwrap_or_else(|e| panic!("{e}"));
        let s = args.settings();
        let d = Settings::default();
        assert_eq!(s.max_connections, 4096);
        assert_eq!(s.submit_concurrency, 256);
        assert_eq!(s.header_timeout, Duration::from_secs(10));
        assert_eq!(s.body_timeout, Duration::from_secs(10));
        assert_eq!(s.idle_timeout, Duration::from_secs(60));
        assert_eq!(
            (s.concurrency, s.request_timeout, s.rate_limit),
            (d.concurrency, d.request_timeout, d.rate_limit)
        );
        assert_eq!(
            (s.max_connections, s.submit_concurrency, s.header_timeout),
            (d.max_connections, d.submit_concurrency, d.header_timeout)
        );
    }
}
