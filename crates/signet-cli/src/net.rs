//! `signet submit` and `signet proof`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use signet_client::{Client, Error, remote};
use signet_core::{Entry, Statement};

use crate::cli::{ProofArgs, SubmitArgs};
use crate::sign::SELF_ASSERTED;
use crate::{invalid, io, note};

fn client(url: &str) -> Result<Client> {
    Ok(Client::new(url)?)
}

/// `signet submit`.
pub fn submit(args: &SubmitArgs) -> Result<ExitCode> {
    let log_key = io::log_key(&args.server.log_key)?;
    let bytes = io::read_input(&args.endorsement, "endorsement")?;
    let entry = Entry::parse(&bytes).map_err(|e| {
        invalid(format!(
            "not submitting {}: the entry is not valid: {e}",
            args.endorsement
        ))
    })?;
    let client = client(&args.server.server)?;
    let logged = match remote::submit(&client, &entry, &log_key) {
        Ok(l) => l,
        Err(Error::Refused {
            status: 409,
            message,
            active_index,
            ..
        }) => {
            let at = active_index
                .map(|i| format!(" (index {i})"))
                .unwrap_or_default();
            return Err(invalid(format!(
                "the server refused the entry (409): another endorsement by this key is active{at}: {message}; \
                 withdraw it first with `signet withdraw`, then submit again"
            )));
        }
        Err(e @ Error::Verification { .. }) => {
            return Err(
                anyhow::Error::new(e).context("refusing to save a proof that does not verify")
            );
        }
        Err(
            e @ Error::Status {
                status: 429 | 503, ..
            },
        ) => {
            return Err(anyhow::Error::new(e).context("the server is busy; try again later"));
        }
        Err(e) => return Err(e.into()),
    };
    let dest = match (&args.output, args.endorsement.as_str()) {
        (Some(o), _) => o.clone(),
        (None, "-") => String::from("-"),
        (None, path) => format!("{path}.tlog-proof"),
    };
    let proof = logged.proof.to_bytes();
    let saved = io::write_output(Some(&dest), &proof)?;
    let status = if logged.new {
        format!("logged at index {}", logged.index)
    } else {
        format!("already logged at index {}", logged.index)
    };
    match saved {
        Some(path) => {
            io::line(&status)?;
            note!(
                "saved the proof to {} (tree size {}); check it offline with: signet verify {} --proof {} --log-key VKEY",
                path.display(),
                logged.checkpoint.size,
                args.endorsement,
                path.display()
            );
        }
        None => note!("{status}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `signet proof`.
pub fn proof(args: &ProofArgs) -> Result<ExitCode> {
    let log_key = io::log_key(&args.server.log_key)?;
    let client = client(&args.server.server)?;
    let fetched = remote::fetch_proof(&client, args.index, &log_key)
        .with_context(|| format!("cannot get a verified proof of entry {}", args.index))?;
    let statement = fetched.entry.statement();
    let who = match statement {
        Statement::Endorsement(e) => format!("an endorsement by {:?} ({SELF_ASSERTED})", e.name),
        Statement::Withdrawal(_) => String::from("a withdrawal"),
        Statement::Letter(l) => format!("the registration of the letter {:?}", l.title),
        Statement::Moderator(m) => format!("the appointment of moderator {:?}", m.name),
        Statement::Moderation(m) => format!("a moderation ({} entry {})", m.action, m.entry),
    };
    note!(
        "entry {} is {who} of {}, key fingerprint {}",
        args.index,
        statement
            .letter()
            .map_or_else(|| "no letter".to_owned(), |l| l.to_string()),
        statement.key().fingerprint()
    );
    note!(
        "the proof verifies against {} (tree size {})",
        log_key.name(),
        fetched.checkpoint.size
    );
    if let Some(path) = io::write_output(args.output.as_deref(), &fetched.proof.to_bytes())? {
        note!("saved the proof to {}", path.display());
    }
    if let Some(dest) = &args.entry
        && let Some(path) = io::write_output(Some(dest), fetched.entry.bytes())?
    {
        note!("saved the entry to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
