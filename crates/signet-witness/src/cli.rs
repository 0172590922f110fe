//! The command line of `signet-witness`, here rather than in `main.rs` so that its
//! manual page (`docs/man/signet-witness.1`) can be generated from it and checked by a
//! test.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use signet_server::Settings;

/// Witness transparency logs: cosign each checkpoint that extends the last one seen
/// (C2SP tlog-witness).
#[derive(Debug, Parser)]
#[command(name = "signet-witness", version, about)]
pub struct Args {
    /// The data directory: the witness key, its verifier key and the state of each log.
    #[arg(long, env = "SIGNET_WITNESS_DATA", default_value = "witness-data")]
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port.
    #[arg(long, env = "SIGNET_WITNESS_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The witness's name, a schema-less URL (the key name of its cosignatures); fixed
    /// with its key at the first start.
    #[arg(long, env = "SIGNET_WITNESS_NAME")]
    pub name: String,
    /// A log to witness: its verifier key, or a file holding one. Repeat for each log.
    #[arg(long = "log", value_name = "VKEY|FILE", required = true)]
    pub logs: Vec<String>,
    /// Connections open at once; more wait in the listen backlog until one closes.
    #[arg(long, env = "SIGNET_WITNESS_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds a request's headers may take to arrive; a connection that sends nothing
    /// is closed after it.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a request's body may take to arrive after its headers (408 after it).
    #[arg(long, default_value_t = 10)]
    pub body_timeout: u64,
    /// Seconds a connection may stay open with nothing read or written.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout: u64,
}

impl Args {
    /// The connection limits of `signet-server`'s loop, with these values.
    pub fn settings(&self) -> Settings {
        Settings {
            max_connections: self.max_connections.max(1),
            header_timeout: Duration::from_secs(self.header_timeout.max(1)),
            body_timeout: Duration::from_secs(self.body_timeout.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            request_timeout: Duration::from_secs(10),
            ..Settings::default()
        }
    }
}
