#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod audit;
mod audit_identities;
mod cli;
mod identity;
mod io;
mod keys;
mod moderate;
mod net;
mod show;
mod sign;
mod ssh;
mod verify;
mod watch;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command, LetterCommand};

/// A verdict: the input, the server or the log failed a check. Exit code 1.
///
/// Everything else that stops a command (usage, I/O, an unreachable server) is exit 2.
#[derive(Debug)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Invalid {}

/// Shorthand for an exit-1 error.
pub fn invalid(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Invalid(message.into()))
}

/// Prints a diagnostic on stderr, prefixed `signet: `. Diagnostics quote servers, files
/// and logs, so control and bidirectional characters are always escaped
/// ([`show::escape`]).
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        eprintln!("signet: {}", $crate::show::escape(&format!($($arg)*)))
    };
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m);
    let result = match cli.command {
        Command::Keygen(args) => keys::keygen(&args),
        Command::Letter {
            command: LetterCommand::Hash(args),
        } => sign::letter_hash(&args),
        Command::Sign(args) => sign::sign(&args),
        Command::Withdraw(args) => sign::withdraw(&args),
        Command::Verify(args) => verify::verify(&args, sub),
        Command::Submit(args) => net::submit(&args),
        Command::Proof(args) => net::proof(&args),
        Command::Audit(args) => audit::audit(&args),
        Command::Moderate(args) => moderate::moderate(&args),
        Command::Watch(args) => watch::watch(&args),
        Command::Completions(args) => completions(args.shell),
        Command::Key {
            command: cli::KeyCommand::Ssh(args),
        } => ssh::key_ssh(&args),
        Command::Identity(args) => identity::identity(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => report(&err),
    }
}

/// `signet completions SHELL`: the script, generated from the same definitions as the
/// parser, so it never lags behind a new flag.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "signet", &mut script);
    io::stdout(&script)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the error chain once and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<std::io::Error>()
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            // The reader went away (`signet ... | head`): nothing to say.
            return ExitCode::SUCCESS;
        }
    }
    note!("{err:#}");
    let verdict = err.chain().any(|cause| {
        cause.is::<Invalid>()
            || cause
                .downcast_ref::<signet_client::Error>()
                .is_some_and(signet_client::Error::is_verification_failure)
    });
    if verdict {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    }
}
