//! `signet letter hash`, `signet sign` and `signet withdraw`.

use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use signet_core::entry::{Endorsement, IdentityClaim, Withdrawal};
use signet_core::{Letter, LetterId, SigningKey, Statement, Timestamp};

use crate::cli::{LetterHashArgs, SignArgs, WithdrawArgs};
use crate::{io, keys, note};

/// A warning shown wherever a name is shown.
pub const SELF_ASSERTED: &str = "self-asserted: nobody has verified it yet";

/// `signet letter hash FILE|-`.
pub fn letter_hash(args: &LetterHashArgs) -> Result<ExitCode> {
    let letter = read_letter(&args.file)?;
    io::line(&letter.id().to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Reads and canonicalises a letter file; an unusable letter is an input error (exit 2).
pub fn read_letter(arg: &str) -> Result<Letter> {
    let bytes = io::read_input(arg, "letter")?;
    Letter::from_bytes(&bytes).with_context(|| format!("{arg} cannot be used as a letter"))
}

/// A `--letter` argument: its ID, and a title when the file has a sibling `.toml`.
pub(crate) struct LetterChoice {
    pub(crate) id: LetterId,
    pub(crate) title: Option<String>,
}

pub(crate) fn choose_letter(arg: &str) -> Result<LetterChoice> {
    if arg.starts_with("sha256:") {
        let id = LetterId::from_str(arg).map_err(|e| {
            anyhow!("--letter {arg}: {e}; a letter ID is sha256: and 64 lowercase hex digits")
        })?;
        return Ok(LetterChoice { id, title: None });
    }
    let letter = read_letter(arg)?;
    let title = if arg == "-" {
        None
    } else {
        sibling_title(Path::new(arg))
    };
    Ok(LetterChoice {
        id: letter.id(),
        title,
    })
}

/// The `title` in `<letter>.toml` beside `<letter>.txt`, if there is one.
fn sibling_title(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path.with_extension("toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table.get("title")?.as_str().map(str::to_owned)
}

pub(crate) fn time(arg: Option<&str>) -> Result<Timestamp> {
    if let Some(t) = arg {
        return Timestamp::parse(t)
            .map_err(|e| anyhow!("--time {t}: {e}; write it as 2025-01-31T12:00:00Z"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Timestamp::from_unix(now.as_secs()).context("the system clock is out of range")
}

pub(crate) fn show_letter(choice: &LetterChoice) {
    match &choice.title {
        Some(title) => note!("letter: {title:?}"),
        None => note!("letter: (no title known; check the ID against the letter you mean)"),
    }
    note!("        {}", choice.id);
}

pub(crate) fn write_entry(output: Option<&str>, bytes: &[u8], what: &str) -> Result<()> {
    if let Some(path) = io::write_output(output, bytes)? {
        note!("wrote the {what} to {}", path.display());
        note!(
            "submit it with: signet submit {} --server URL --log-key VKEY",
            path.display()
        );
    }
    Ok(())
}

pub(crate) fn sign_statement(statement: &Statement, key: &SigningKey) -> Result<Vec<u8>> {
    statement.validate().map_err(|e| anyhow!("{e}"))?;
    let entry = statement.sign(key).context("cannot sign")?;
    Ok(entry.bytes().to_vec())
}

/// `signet sign`.
pub fn sign(args: &SignArgs) -> Result<ExitCode> {
    let letter = choose_letter(&args.letter)?;
    let mut identity = Vec::new();
    for claim in &args.identity {
        let parsed = IdentityClaim::parse(claim).map_err(|e| {
            anyhow!("--identity {claim:?}: {e}; use https://<host><path>, dns:<domain> or github:<login>, in lowercase")
        })?;
        identity.push(parsed);
    }
    identity.sort();
    if identity.windows(2).any(|w| w[0] == w[1]) {
        bail!("the same --identity is given twice; give each claim once");
    }
    if identity.len() > 4 {
        bail!(
            "{} --identity claims given; at most 4 are allowed",
            identity.len()
        );
    }
    let key = keys::load(&args.key)?;
    let statement = Statement::Endorsement(Endorsement {
        letter: letter.id,
        name: args.name.clone(),
        affiliation: args.affiliation.clone(),
        role: args.role.clone(),
        identity,
        time: time(args.time.as_deref())?,
        key: key.verifier(),
    });
    let bytes = sign_statement(&statement, &key).map_err(|e| {
        anyhow!("{e:#}; fix the value and sign again (names and text: NFC, single spaces, no control or invisible characters)")
    })?;

    note!("signing an endorsement of");
    show_letter(&letter);
    note!("as {:?} ({SELF_ASSERTED})", args.name);
    note!(
        "with the key {} (fingerprint {})",
        key.verifier(),
        key.verifier().fingerprint()
    );
    note!(
        "once submitted, this signature stays in a public log forever: a withdrawal adds an entry, it never erases one"
    );
    write_entry(args.output.as_deref(), &bytes, "endorsement")?;
    Ok(ExitCode::SUCCESS)
}

/// `signet withdraw`.
pub fn withdraw(args: &WithdrawArgs) -> Result<ExitCode> {
    let letter = choose_letter(&args.letter)?;
    let key = keys::load(&args.key)?;
    let statement = Statement::Withdrawal(Withdrawal {
        letter: letter.id,
        time: time(args.time.as_deref())?,
        key: key.verifier(),
    });
    let bytes = sign_statement(&statement, &key)?;
    note!("signing a withdrawal of your endorsement of");
    show_letter(&letter);
    note!(
        "with the key {} (fingerprint {})",
        key.verifier(),
        key.verifier().fingerprint()
    );
    note!(
        "the withdrawal is added to the public log; your endorsement stays there too, marked withdrawn"
    );
    write_entry(args.output.as_deref(), &bytes, "withdrawal")?;
    Ok(ExitCode::SUCCESS)
}
