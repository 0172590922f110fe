//! `signet watch`: an incremental audit that also reports (see docs/protocol.md,
//! *Watching a log*). Every new entry is verified and every rule replayed, exactly as in
//! `signet audit`; an entry that matches a `--name` (look-alikes included), a `--key` or
//! a `--claim` is printed, once: the saved state moves past it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::Serialize;
use signet_client::{AuditOptions, Client, Error, SavedState};
use signet_core::entry::IdentityClaim;
use signet_core::lookalike::skeleton;
use signet_core::state::{Known as _, LogState};
use signet_core::{Entry, Statement, VerifierKey};

use crate::cli::WatchArgs;
use crate::{audit, io, note, show};

/// What to look for.
struct Filters {
    /// Each `--name`, as given and as a skeleton.
    names: Vec<(String, String)>,
    keys: Vec<VerifierKey>,
    claims: Vec<IdentityClaim>,
}

/// One reported entry.
#[derive(Serialize)]
struct Match {
    index: u64,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    letter: Option<String>,
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    matched: &'static str,
    /// The filter that matched, for the human line only.
    #[serde(skip)]
    filter: String,
}

impl Filters {
    fn parse(args: &WatchArgs) -> Result<Filters> {
        let mut names = Vec::new();
        for name in &args.name {
            let reduced = skeleton(name);
            if reduced.is_empty() {
                bail!("--name {name:?} is empty once reduced; give a name to look for");
            }
            names.push((name.clone(), reduced));
        }
        let keys = args
            .key
            .iter()
            .map(|k| watched_key(k))
            .collect::<Result<Vec<_>>>()?;
        let claims = args
            .claim
            .iter()
            .map(|c| {
                IdentityClaim::parse(c).map_err(|e| {
                    anyhow!("--claim {c:?}: {e}; use https://<host><path>, dns:<domain> or github:<login>, in lowercase")
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if names.is_empty() && keys.is_empty() && claims.is_empty() {
            bail!("nothing to watch for; give at least one --name, --key or --claim");
        }
        Ok(Filters {
            names,
            keys,
            claims,
        })
    }

    /// The match for one entry, if it matches a filter (the first that does, in the
    /// order name, key, claim).
    fn check(&self, index: u64, entry: &Entry, state: &LogState) -> Option<Match> {
        let statement = entry.statement();
        let endorsement = match statement {
            Statement::Endorsement(e) => Some(e),
            _ => None,
        };
        let found = endorsement
            .and_then(|e| {
                let reduced = skeleton(&e.name);
                self.names
                    .iter()
                    .find(|(_, s)| reduced.contains(s.as_str()))
                    .map(|(n, _)| ("name", n.clone()))
            })
            .or_else(|| {
                let signer = statement.key().public_key();
                let target = match statement {
                    Statement::Moderation(m) => {
                        state.endorsement(m.entry).ok().flatten().map(|(_, k)| k)
                    }
                    _ => None,
                };
                self.keys
                    .iter()
                    .find(|k| k.public_key() == signer || Some(*k.public_key()) == target)
                    .map(|k| ("key", k.to_string()))
            })
            .or_else(|| {
                endorsement.and_then(|e| {
                    self.claims
                        .iter()
                        .find(|c| e.identity.contains(c))
                        .map(|c| ("claim", c.to_string()))
                })
            });
        let (matched, filter) = found?;
        Some(Match {
            index,
            kind: statement.kind(),
            letter: statement.letter().map(|l| l.to_string()),
            key: statement.key().to_string(),
            name: endorsement.map(|e| e.name.clone()),
            matched,
            filter,
        })
    }
}

/// A `--key` value: a verifier key, or a file holding one.
fn watched_key(value: &str) -> Result<VerifierKey> {
    if let Ok(key) = VerifierKey::parse(value.trim()) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(value).map_err(|e| {
        anyhow!(
            "--key {value:?} is neither a verifier key (<name>+<id>+<key>) nor a readable file: {e}; \
             pass the .vkey file `signet keygen` wrote"
        )
    })?;
    VerifierKey::parse(text.trim())
        .map_err(|e| anyhow!("--key {value}: the file does not hold a verifier key: {e}"))
}

/// `signet watch`.
pub fn watch(args: &WatchArgs) -> Result<ExitCode> {
    let filters = Filters::parse(args)?;
    let log_key = io::log_key(&args.server.log_key)?;
    let client = Client::new(&args.server.server)?;
    let dir: PathBuf = match &args.state {
        Some(d) => d.clone(),
        None => io::default_state_dir(log_key.name().as_str())?.join("watch"),
    };
    loop {
        match once(&client, &log_key, &filters, &dir, args.json) {
            Ok(None) => {}
            Ok(Some(code)) => return Ok(code),
            // Following, a server that is down for a while is not the end of the watch.
            Err(e) if args.follow => note!("{e:#}; trying again in {} s", args.interval),
            Err(e) => return Err(e),
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_secs(args.interval));
    }
}

/// One round: audit from the saved state, print the matches, save the state. `Some(1)`
/// when the log misbehaved.
fn once(
    client: &Client,
    log_key: &VerifierKey,
    filters: &Filters,
    dir: &std::path::Path,
    json: bool,
) -> Result<Option<ExitCode>> {
    let saved = SavedState::load(dir, log_key)?;
    let mut matches = Vec::new();
    let result = signet_client::audit_observed(
        client,
        log_key,
        saved,
        AuditOptions::default(),
        &mut |_, _| {},
        &mut |index, entry, state| {
            if let Some(m) = filters.check(index, entry, state) {
                matches.push(m);
            }
        },
    );
    let (_, state) = match result {
        Ok(r) => r,
        Err(Error::Misbehaviour(m)) => {
            // Nothing seen in a log that misbehaved is reported as a match.
            audit::print_misbehaviour(&m, json, dir)?;
            note!("the log misbehaved: {}", m.message);
            return Ok(Some(ExitCode::from(1)));
        }
        Err(e) => return Err(e.into()),
    };
    state.save(dir).with_context(|| {
        format!(
            "the log verified, but the watch state could not be saved in {}",
            dir.display()
        )
    })?;
    let mut out = String::new();
    for m in &matches {
        if json {
            out.push_str(&serde_json::to_string(m)?);
        } else {
            let who = m
                .name
                .as_ref()
                .map(|n| format!(" as {n:?}"))
                .unwrap_or_default();
            out.push_str(&show::escape(&format!(
                "entry {}: {}{who} by {}{} (matches --{} {:?})",
                m.index,
                m.kind,
                m.key,
                m.letter
                    .as_ref()
                    .map(|l| format!(", letter {l}"))
                    .unwrap_or_default(),
                m.matched,
                m.filter
            )));
        }
        out.push('\n');
    }
    if !out.is_empty() {
        io::stdout(out.as_bytes())?;
    }
    Ok(None)
}
