//! `signet audit`: the terminal side of `signet_client::audit`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use signet_client::{AuditOptions, Client, Error, Misbehaviour, SavedState};

use crate::cli::AuditArgs;
use crate::{io, note, show};

#[derive(Serialize)]
struct Clean<'a> {
    ok: bool,
    origin: &'a str,
    size: u64,
    previous_size: u64,
    root: String,
    new_entries: u64,
    tiles_checked: u64,
    letters: Vec<Letter>,
    hides: Vec<Hide>,
    requests: u64,
    bytes: u64,
    state_dir: String,
    checkpoint: &'a str,
    /// With `--identities`: the claims checked live and where they differ from the
    /// server's `verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    identities: Option<crate::audit_identities::Report>,
}

#[derive(Serialize)]
struct Letter {
    id: String,
    slug: String,
    index: u64,
    active: u64,
    withdrawn: u64,
    hidden: u64,
}

/// A hide in effect, in `--json`.
#[derive(Serialize)]
struct Hide {
    index: u64,
    target: u64,
    letter: String,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    moderator: String,
    time: String,
}

#[derive(Serialize)]
struct Problem<'a> {
    ok: bool,
    problem: &'static str,
    message: &'a str,
    index: Option<u64>,
    entry: Option<String>,
    saved_checkpoint: Option<&'a str>,
    served_checkpoint: Option<&'a str>,
}

/// `signet audit`.
pub fn audit(args: &AuditArgs) -> Result<ExitCode> {
    let log_key = io::log_key(&args.server.log_key)?;
    let client = Client::new(&args.server.server)?;
    let dir = match &args.state {
        Some(d) => d.clone(),
        None => io::default_state_dir(log_key.name().as_str())?,
    };
    let saved = if args.full {
        None
    } else {
        SavedState::load(&dir, &log_key)?
    };
    let policy = match &args.policy {
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read the policy {}", p.display()))?;
            Some(
                signet_core::policy::Policy::parse(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let identities = crate::audit_identities::setup(args)?;
    let options = AuditOptions {
        threads: args.threads.unwrap_or(0),
        ..AuditOptions::default()
    };

    let bar = if !args.json && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "signet: {bar:40} {pos}/{len} entries ({per_sec}, {eta} left)",
        ) {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let result = signet_client::audit(&client, &log_key, saved, options, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let (report, state) = match result {
        Ok(r) => r,
        Err(Error::Misbehaviour(m)) => {
            print_misbehaviour(&m, args.json, &dir)?;
            note!("the log misbehaved: {}", m.message);
            note!(
                "the state in {} is unchanged; keep the evidence above",
                dir.display()
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    // The log's signature is verified by the audit; the policy adds its witness quorum.
    if let Some(policy) = &policy
        && let Err(e) = policy.check_quorum(&state.checkpoint)
    {
        note!(
            "the checkpoint of size {} is consistent, but it lacks the policy's witnesses: {e}",
            report.size
        );
        note!("the state in {} is unchanged", dir.display());
        return Ok(ExitCode::from(1));
    }
    state.save(&dir).with_context(|| {
        format!(
            "the audit passed, but its state could not be saved in {}",
            dir.display()
        )
    })?;
    let identities = match identities {
        Some(config) => match crate::audit_identities::run(&client, &state, config, !args.json) {
            Ok(r) => Some(r),
            Err(e) => {
                // The log served an endorsement other than the one just audited.
                if let Some(Error::Misbehaviour(m)) = e.downcast_ref::<Error>() {
                    print_misbehaviour(m, args.json, &dir)?;
                    note!("the log misbehaved: {}", m.message);
                    return Ok(ExitCode::from(1));
                }
                return Err(e.context(format!(
                    "the audit passed and its state is saved in {}, but the identity claims \
                     could not be compared",
                    dir.display()
                )));
            }
        },
        None => None,
    };
    let agree = identities
        .as_ref()
        .is_none_or(crate::audit_identities::Report::agree);

    if args.json {
        let clean = Clean {
            ok: agree,
            origin: &report.origin,
            size: report.size,
            previous_size: report.previous_size,
            root: report.root.to_base64(),
            new_entries: report.entries_verified,
            tiles_checked: report.tiles_checked,
            letters: report
                .letters
                .iter()
                .map(|l| Letter {
                    id: l.id.to_string(),
                    slug: l.slug.clone(),
                    index: l.index,
                    active: l.active,
                    withdrawn: l.withdrawn,
                    hidden: l.hidden,
                })
                .collect(),
            hides: report
                .hides
                .iter()
                .map(|h| Hide {
                    index: h.index,
                    target: h.target,
                    letter: h.letter.to_string(),
                    reason: h.reason.clone(),
                    note: h.note.clone(),
                    moderator: h.moderator.clone(),
                    time: h.time.clone(),
                })
                .collect(),
            requests: report.requests,
            bytes: report.bytes,
            state_dir: dir.display().to_string(),
            checkpoint: &report.checkpoint,
            identities,
        };
        let text = show::json(&clean)?;
        io::stdout(text.as_bytes())?;
    } else {
        let mut out = format!(
            "log {}: consistent and valid at tree size {} (root {})\n",
            show::escape(&report.origin),
            report.size,
            report.root.to_base64()
        );
        if report.previous_size == report.size {
            out.push_str(&format!(
                "no new entries since the last audit (size {})\n",
                report.previous_size
            ));
        } else {
            out.push_str(&format!(
                "verified {} new entries (from index {}) and {} hash tiles\n",
                report.entries_verified, report.previous_size, report.tiles_checked
            ));
        }
        for l in &report.letters {
            out.push_str(&format!(
                "letter {} ({}): {} signers now, {} withdrawn, {} hidden (names are self-asserted)\n",
                show::escape(&l.slug),
                l.id,
                l.active,
                l.withdrawn,
                l.hidden
            ));
        }
        out.push_str(&format!(
            "downloaded {} bytes in {} requests\n",
            report.bytes, report.requests
        ));
        if let Some(identities) = &identities {
            out.push_str(&identities.human());
        }
        io::stdout(out.as_bytes())?;
        note!("state saved in {}", dir.display());
    }
    if !agree {
        note!("the server's verified differs from the live checks of identity claims");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_misbehaviour(
    m: &Misbehaviour,
    json: bool,
    dir: &std::path::Path,
) -> Result<()> {
    if json {
        let p = Problem {
            ok: false,
            problem: m.kind.as_str(),
            message: &m.message,
            index: m.index,
            entry: m
                .entry
                .as_ref()
                .map(|e| String::from_utf8_lossy(e).into_owned()),
            saved_checkpoint: m.saved_checkpoint.as_deref(),
            served_checkpoint: m.served_checkpoint.as_deref(),
        };
        let text = show::json(&p)?;
        return io::stdout(text.as_bytes());
    }
    // Everything below but the headings is the log's own text: escaped, line by line.
    let mut out = format!(
        "MISBEHAVIOUR ({}): {}\n",
        m.kind.as_str(),
        show::escape(&m.message)
    );
    if let Some(c) = &m.saved_checkpoint {
        out.push_str(&format!(
            "\n# checkpoint verified before (from {}):\n{}",
            show::escape(&dir.display().to_string()),
            show::escape_lines(c)
        ));
    }
    if let Some(c) = &m.served_checkpoint {
        out.push_str(&format!(
            "\n# checkpoint served now:\n{}",
            show::escape_lines(c)
        ));
    }
    if let Some(e) = &m.entry {
        let index = m.index.map(|i| i.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "\n# entry {index} as served:\n{}",
            show::escape_lines(&String::from_utf8_lossy(e))
        ));
    }
    io::stdout(out.as_bytes())
}
