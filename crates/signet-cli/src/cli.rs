//! The command line. Its help text is also the man pages in `docs/man/`, generated from
//! these definitions (see `tests/man.rs`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Sign an open letter with an Ed25519 key, verify signatures and proofs offline, and
/// audit a Signet transparency log.
///
/// Exit codes: 0 ok or valid; 1 a verification failed, the log misbehaved, or the server
/// refused the entry; 2 a usage, input or I/O error, or a server that is unreachable,
/// rate-limiting or failing.
#[derive(Debug, Parser)]
#[command(
    name = "signet",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a signing key: <DIR>/<NAME>.key (private, passphrase-encrypted) and
    /// <DIR>/<NAME>.vkey (public).
    Keygen(KeygenArgs),
    /// Work with letter files.
    Letter {
        #[command(subcommand)]
        command: LetterCommand,
    },
    /// Sign an endorsement of a letter (a signed note) and write it to -o or stdout.
    Sign(SignArgs),
    /// Sign a withdrawal of your endorsement of a letter.
    Withdraw(WithdrawArgs),
    /// Verify an endorsement offline: its signature, and optionally the letter and a
    /// .tlog-proof of its inclusion in the log.
    Verify(VerifyArgs),
    /// Submit an endorsement (or withdrawal) to a registry and save the proof it returns.
    Submit(SubmitArgs),
    /// Fetch, verify and save the proof of inclusion of the entry at an index.
    Proof(ProofArgs),
    /// Audit the whole log incrementally: every entry, every rule, every tile.
    Audit(AuditArgs),
    /// Sign a moderation as an appointed moderator: hide a signer from a letter's list,
    /// or show it again. Submit it with `signet submit`.
    Moderate(ModerateArgs),
    /// Follow the log, verifying it as an audit does, and report each new entry that
    /// matches a name (look-alikes included), a key or an identity claim.
    Watch(WatchArgs),
    /// Print a shell completion script to stdout (for example
    /// `signet completions bash > ~/.local/share/bash-completion/completions/signet`).
    Completions(CompletionsArgs),
    /// Print a key in other forms (`signet key ssh`).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Print exactly what to publish so that an identity claim verifies: the token line
    /// for a web page, the TXT record for DNS, or the ssh-ed25519 line for GitHub.
    Identity(IdentityCommandArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub enum LetterCommand {
    /// Print a letter's ID (sha256 of its canonical form).
    Hash(LetterHashArgs),
}

#[derive(Debug, Args)]
pub struct LetterHashArgs {
    /// The letter file, or - for stdin.
    pub file: String,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key's name: its file name and its signed-note key name ([A-Za-z0-9._-]{1,64}).
    #[arg(long, default_value = "signer")]
    pub name: String,
    /// Where to write the key files [default: $SIGNET_HOME/keys, else ~/.config/signet/keys].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Overwrite existing key files (the old private key is lost).
    #[arg(long)]
    pub force: bool,
    /// Write the private key unencrypted (for automation; anyone who can read the file can
    /// sign as you).
    #[arg(long)]
    pub unencrypted: bool,
    /// Read the passphrase from the first line of this file instead of asking
    /// (SIGNET_PASSPHRASE also works).
    #[arg(long, value_name = "FILE", conflicts_with = "unencrypted")]
    pub passphrase_file: Option<PathBuf>,
    /// Import this OpenSSH Ed25519 private key (encrypted or not) instead of making a
    /// new one, so that signet signs with the key GitHub already knows.
    #[arg(long, value_name = "FILE")]
    pub from_ssh: Option<PathBuf>,
    /// The passphrase of the --from-ssh key, on the first line of FILE [default:
    /// SIGNET_SSH_PASSPHRASE, else a prompt].
    #[arg(long, value_name = "FILE", requires = "from_ssh")]
    pub ssh_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// The private key file (or the NAME of a key in the default key directory).
    #[arg(long, value_name = "KEYFILE")]
    pub key: String,
    /// Read the passphrase of an encrypted key from the first line of this file
    /// (SIGNET_PASSPHRASE also works).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// The letter: its file (a sibling .toml with a title is shown) or its ID sha256:<hex>.
    #[arg(long, value_name = "FILE|sha256:HEX")]
    pub letter: String,
    /// Your name as it will be shown (self-asserted: nobody verifies it yet).
    #[arg(long)]
    pub name: String,
    /// Your affiliation.
    #[arg(long)]
    pub affiliation: Option<String>,
    /// Your role or title.
    #[arg(long)]
    pub role: Option<String>,
    /// An identity claim: https://<host><path>, dns:<domain> or github:<login>; up to 4.
    #[arg(long, value_name = "CLAIM")]
    pub identity: Vec<String>,
    /// Write the signed endorsement here (- for stdout) [default: stdout].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// The time to state, YYYY-MM-DDTHH:MM:SSZ [default: now].
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Debug, Args)]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// The letter: its file or its ID sha256:<hex>.
    #[arg(long, value_name = "FILE|sha256:HEX")]
    pub letter: String,
    /// Write the signed withdrawal here (- for stdout) [default: stdout].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// The time to state, YYYY-MM-DDTHH:MM:SSZ [default: now].
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The endorsement (or any log entry) to verify, or - for stdin.
    pub endorsement: String,
    /// Check that the entry is about this letter file.
    #[arg(long, value_name = "FILE")]
    pub letter: Option<PathBuf>,
    /// Check this .tlog-proof of the entry's inclusion in the log (needs --log-key or
    /// --policy).
    #[arg(long, value_name = "FILE.tlog-proof")]
    pub proof: Option<PathBuf>,
    /// The log's verifier key, or a file holding it.
    #[arg(long, env = "SIGNET_LOG_KEY", value_name = "VKEY")]
    pub log_key: Option<String>,
    /// A C2SP tlog-policy file naming the trusted logs and witness quorum.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print the result as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Also check every identity claim live (each claim with its result and evidence;
    /// exit 1 when any does not hold).
    #[arg(long)]
    pub online: bool,
    #[command(flatten)]
    pub identity: signet_identity::IdentityArgs,
}

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The registry's base URL.
    #[arg(long, env = "SIGNET_SERVER", value_name = "URL")]
    pub server: String,
    /// The log's verifier key, or a file holding it.
    #[arg(long, env = "SIGNET_LOG_KEY", value_name = "VKEY")]
    pub log_key: String,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The signed endorsement or withdrawal, or - for stdin.
    pub endorsement: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Where to save the proof [default: <ENDORSEMENT>.tlog-proof; stdout for stdin].
    #[arg(short, long, value_name = "FILE.tlog-proof")]
    pub output: Option<String>,
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The entry's index in the log.
    #[arg(long)]
    pub index: u64,
    /// Where to save the proof (- for stdout) [default: stdout].
    #[arg(short, long, value_name = "FILE.tlog-proof")]
    pub output: Option<String>,
    /// Also save the entry itself, for `signet verify`.
    #[arg(long, value_name = "FILE")]
    pub entry: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The state directory [default: $SIGNET_HOME/state/<origin> if SIGNET_HOME is set,
    /// else $XDG_STATE_HOME/signet/<origin>, else ~/.local/state/signet/<origin>].
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Ignore the saved state and audit the whole log from the start.
    #[arg(long)]
    pub full: bool,
    /// Print the result as JSON (schema in the README).
    #[arg(long)]
    pub json: bool,
    /// Threads that download tiles [default: twice the number of cores]; signatures
    /// are verified on one thread per core whatever this says.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// A C2SP tlog-policy file: require its witness quorum's cosignatures on the
    /// checkpoint the audit reaches (exit 1 without them, the state unchanged).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Also check live, from this machine, the identity claims of every signer shown now,
    /// and report each claim whose live result differs from the server's `verified`
    /// (exit 1 when any does). Reads /v1/signatories: --server must be the registry.
    #[arg(long)]
    pub identities: bool,
    #[command(flatten)]
    pub identity: signet_identity::IdentityArgs,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["hide", "show"])))]
pub struct ModerateArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// The letter: its file or its ID sha256:<hex>.
    #[arg(long, value_name = "FILE|sha256:HEX")]
    pub letter: String,
    /// The index of the endorsement whose signer to hide or show.
    #[arg(long, value_name = "N")]
    pub entry: u64,
    /// Hide the signer from the letter's list.
    #[arg(long)]
    pub hide: bool,
    /// Show a hidden signer again.
    #[arg(long)]
    pub show: bool,
    /// Why: impersonation, spam, abuse, legal, duplicate, reviewed or other.
    #[arg(long, value_name = "R", value_parser = [
        "impersonation", "spam", "abuse", "legal", "duplicate", "reviewed", "other",
    ])]
    pub reason: String,
    /// A note shown with the moderation (1 to 256 characters).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Write the signed moderation here (- for stdout) [default: stdout].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<String>,
    /// The time to state, YYYY-MM-DDTHH:MM:SSZ [default: now].
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Report endorsements whose name contains TEXT, look-alikes included (compared as
    /// Unicode confusable skeletons of the case-folded NFKC forms). Repeatable.
    #[arg(long, value_name = "TEXT")]
    pub name: Vec<String>,
    /// Report every entry signed by this key (a verifier key or a file holding one), and
    /// every moderation that targets it. Repeatable.
    #[arg(long, value_name = "VKEY")]
    pub key: Vec<String>,
    /// Report endorsements that make exactly this identity claim. Repeatable.
    #[arg(long, value_name = "CLAIM")]
    pub claim: Vec<String>,
    /// The state directory [default: the audit's default state directory, in a `watch`
    /// folder of its own].
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Keep watching: check again every --interval seconds until interrupted.
    #[arg(long)]
    pub follow: bool,
    /// Seconds between checks with --follow.
    #[arg(long, value_name = "S", default_value_t = 60, requires = "follow",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub interval: u64,
    /// Print one JSON object per line for each match.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the public key as an OpenSSH line (`ssh-ed25519 AAAA… <key name>`), to add
    /// to a GitHub account for a github: claim.
    Ssh(KeySshArgs),
}

#[derive(Debug, Args)]
pub struct KeySshArgs {
    #[command(flatten)]
    pub key: KeyArgs,
}

#[derive(Debug, Args)]
pub struct IdentityCommandArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// The claim: https://<host><path>, dns:<domain> or github:<login>.
    #[arg(long, value_name = "CLAIM")]
    pub claim: String,
}
