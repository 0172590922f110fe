//! `signet verify`: everything offline.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Serialize;
use signet_core::policy::Policy;
use signet_core::{Entry, Statement, TlogProof};

use crate::cli::VerifyArgs;
use crate::sign::{SELF_ASSERTED, read_letter};
use crate::{io, note, show};

/// The `--json` output (schema in the README).
#[derive(Debug, Default, Serialize)]
struct Report {
    valid: bool,
    error: Option<String>,
    kind: Option<&'static str>,
    entry: Option<EntryReport>,
    letter_file: Option<LetterReport>,
    proof: Option<ProofReport>,
    /// With `--online`: every identity claim, checked live.
    #[serde(skip_serializing_if = "Option::is_none")]
    claims: Option<Vec<crate::identity::ClaimReport>>,
}

#[derive(Debug, Serialize)]
struct EntryReport {
    letter: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// Always false: names are self-asserted until identity claims are verified.
    name_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    affiliation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    identity: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    time: String,
    key: String,
    fingerprint: String,
}

#[derive(Debug, Serialize)]
struct LetterReport {
    path: String,
    id: String,
    matches: bool,
}

#[derive(Debug, Serialize)]
struct ProofReport {
    path: String,
    included: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_key: Option<String>,
}

/// How the proof's checkpoint is trusted.
enum Trust {
    Key(String),
    Policy(Policy),
}

/// `signet verify`.
pub fn verify(args: &VerifyArgs, matches: Option<&ArgMatches>) -> Result<ExitCode> {
    let log_key_given =
        matches.and_then(|m| m.value_source("log_key")) == Some(ValueSource::CommandLine);
    // Inputs first: a file that cannot be read, or flags that do not go together, are
    // usage errors (exit 2), not verdicts.
    let trust = match (&args.proof, &args.policy, &args.log_key) {
        (None, Some(_), _) => bail!("--policy needs --proof FILE.tlog-proof"),
        (None, None, Some(_)) if log_key_given => bail!("--log-key needs --proof FILE.tlog-proof"),
        (None, _, _) => None,
        (Some(_), Some(_), Some(_)) if log_key_given => {
            bail!("give --log-key or --policy, not both")
        }
        (Some(_), Some(p), _) => {
            let bytes = std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("cannot read the policy {}: {e}", p.display()))?;
            Some(Trust::Policy(
                Policy::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            ))
        }
        (Some(_), None, Some(k)) => Some(Trust::Key(k.clone())),
        (Some(_), None, None) => bail!(
            "--proof needs the log's key: --log-key VKEY (or SIGNET_LOG_KEY) or --policy FILE"
        ),
    };
    let log_key = match &trust {
        Some(Trust::Key(k)) => Some(io::log_key(k)?),
        _ => None,
    };
    let online = if args.online {
        Some(crate::identity::checker_config(&args.identity)?)
    } else {
        None
    };
    let bytes = io::read_input(&args.endorsement, "endorsement")?;
    let letter = match &args.letter {
        Some(path) => Some((
            path.display().to_string(),
            read_letter(&path.display().to_string())?,
        )),
        None => None,
    };
    let proof_bytes = match &args.proof {
        Some(p) => Some((
            p.display().to_string(),
            std::fs::read(p)
                .map_err(|e| anyhow::anyhow!("cannot read the proof {}: {e}", p.display()))?,
        )),
        None => None,
    };

    let mut report = Report::default();
    let outcome = (|| -> Result<(), String> {
        let entry = Entry::parse(&bytes).map_err(|e| format!("the entry is not valid: {e}"))?;
        report.kind = Some(entry.statement().kind());
        report.entry = Some(entry_report(entry.statement()));
        if let Some((path, letter)) = &letter {
            let matches = Some(letter.id()) == entry.statement().letter();
            report.letter_file = Some(LetterReport {
                path: path.clone(),
                id: letter.id().to_string(),
                matches,
            });
            if !matches {
                return Err(format!(
                    "different letter: the entry is about {}, but {path} is the letter {}",
                    entry
                        .statement()
                        .letter()
                        .map_or_else(|| "no letter".to_owned(), |l| l.to_string()),
                    letter.id()
                ));
            }
        }
        if let Some((path, proof_bytes)) = &proof_bytes {
            let mut pr = ProofReport {
                path: path.clone(),
                included: false,
                origin: None,
                index: None,
                size: None,
                root: None,
                log_key: None,
            };
            let result = (|| -> Result<(), String> {
                let proof = TlogProof::parse(proof_bytes)
                    .map_err(|e| format!("the proof {path} is not valid: {e}"))?;
                pr.index = Some(proof.index);
                pr.origin = Some(proof.checkpoint.checkpoint().origin.clone());
                let key = match (&trust, &log_key) {
                    (_, Some(k)) => k.clone(),
                    (Some(Trust::Policy(policy)), None) => policy
                        .verify_checkpoint(&proof.checkpoint)
                        .map_err(|e| format!("the proof's checkpoint: {e}"))?,
                    _ => return Err(String::from("no log key")),
                };
                pr.log_key = Some(key.to_string());
                let checkpoint = proof
                    .verify(entry.bytes(), &key)
                    .map_err(|e| format!("the proof does not show this entry in the log: {e}"))?;
                pr.size = Some(checkpoint.size);
                pr.root = Some(checkpoint.root.to_base64());
                pr.included = true;
                Ok(())
            })();
            report.proof = Some(pr);
            result?;
        }
        if let (Some(config), Statement::Endorsement(e)) = (online, entry.statement()) {
            let claims = crate::identity::check_all(config, &e.identity, e.key.public_key())
                .map_err(|e| format!("{e:#}"))?;
            let failed: Vec<String> = claims
                .iter()
                .filter(|c| !c.held)
                .map(|c| c.claim.clone())
                .collect();
            report.claims = Some(claims);
            if !failed.is_empty() {
                return Err(format!(
                    "identity claims do not hold: {}",
                    failed.join(", ")
                ));
            }
        }
        Ok(())
    })();
    if let Err(reason) = &outcome {
        report.error = Some(reason.clone());
    }
    report.valid = outcome.is_ok();

    if args.json {
        let text = show::json(&report)?;
        io::stdout(text.as_bytes())?;
    } else {
        print_human(&report)?;
    }
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(reason) => {
            note!("verification failed: {reason}");
            Ok(ExitCode::from(1))
        }
    }
}

fn entry_report(statement: &Statement) -> EntryReport {
    let key = statement.key();
    let mut r = EntryReport {
        letter: statement
            .letter()
            .map_or_else(String::new, |l| l.to_string()),
        name: None,
        name_verified: false,
        affiliation: None,
        role: None,
        identity: Vec::new(),
        slug: None,
        title: None,
        time: statement.time().to_string(),
        key: key.to_string(),
        fingerprint: key.fingerprint(),
    };
    match statement {
        Statement::Endorsement(e) => {
            r.name = Some(e.name.clone());
            r.affiliation.clone_from(&e.affiliation);
            r.role.clone_from(&e.role);
            r.identity = e.identity.iter().map(ToString::to_string).collect();
        }
        Statement::Letter(l) => {
            r.slug = Some(l.slug.to_string());
            r.title = Some(l.title.clone());
        }
        Statement::Moderator(m) => r.name = Some(m.name.clone()),
        Statement::Withdrawal(_) | Statement::Moderation(_) => {}
    }
    r
}

fn print_human(report: &Report) -> Result<()> {
    let mut out = String::new();
    // Every value may come from the entry, the proof or a server: escaped.
    let mut row = |label: &str, value: &str| {
        out.push_str(&format!("{label:<12} {}\n", show::escape(value)));
    };
    if let (Some(kind), Some(e)) = (report.kind, &report.entry) {
        row("entry", &format!("{kind}, signature valid"));
        row("letter", &e.letter);
        if let Some(name) = &e.name {
            row("name", &format!("{name} ({SELF_ASSERTED})"));
        }
        if let Some(a) = &e.affiliation {
            row("affiliation", &format!("{a} (self-asserted)"));
        }
        if let Some(r) = &e.role {
            row("role", &format!("{r} (self-asserted)"));
        }
        for i in &e.identity {
            let live = report
                .claims
                .as_ref()
                .and_then(|c| c.iter().find(|c| &c.claim == i));
            match live {
                None => row("identity", &format!("{i} (claimed, not verified)")),
                Some(c) => row("identity", &crate::identity::claim_line(c)),
            }
        }
        if let Some(t) = &e.title {
            row("title", t);
        }
        row("time", &format!("{} (the signer's claim)", e.time));
        row("key", &e.key);
        row("fingerprint", &e.fingerprint);
    }
    if let Some(l) = &report.letter_file {
        row(
            "letter file",
            &format!(
                "{} {}",
                l.path,
                if l.matches {
                    "matches"
                } else {
                    "DOES NOT MATCH"
                }
            ),
        );
    }
    if let Some(p) = &report.proof {
        if p.included {
            row(
                "log",
                &format!(
                    "included at index {} of {} (tree size {}, checkpoint signed by {})",
                    p.index.unwrap_or_default(),
                    p.origin.as_deref().unwrap_or(""),
                    p.size.unwrap_or_default(),
                    p.log_key.as_deref().unwrap_or("")
                ),
            );
        } else {
            row("log", &format!("NOT PROVEN by {}", p.path));
        }
    }
    match &report.error {
        None => row("result", "VALID"),
        Some(e) => row("result", &format!("INVALID: {e}")),
    }
    io::stdout(out.as_bytes())
}
