//! `signet moderate`: a moderator signs a `signet/moderation/v1` entry (see
//! docs/protocol.md, *Moderation*). It is submitted with `signet submit`, like any entry.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use signet_core::Statement;
use signet_core::entry::{Moderation, ModerationAction, ModerationReason};

use crate::cli::ModerateArgs;
use crate::sign::{choose_letter, show_letter, sign_statement, time, write_entry};
use crate::{keys, note};

/// `signet moderate`.
pub fn moderate(args: &ModerateArgs) -> Result<ExitCode> {
    let letter = choose_letter(&args.letter)?;
    // clap allows only the grammar's reasons, so this parse cannot fail in practice; its
    // error still says what to do.
    let reason = ModerationReason::parse(&args.reason).map_err(|e| anyhow!("--reason: {e}"))?;
    let action = if args.hide {
        ModerationAction::Hide
    } else {
        ModerationAction::Show
    };
    let key = keys::load(&args.key)?;
    let statement = Statement::Moderation(Moderation {
        letter: letter.id,
        entry: args.entry,
        action,
        reason,
        note: args.note.clone(),
        time: time(args.time.as_deref())?,
        key: key.verifier(),
    });
    let bytes = sign_statement(&statement, &key).map_err(|e| {
        anyhow!("{e:#}; fix the value and sign again (a note: NFC, single spaces, no control or invisible characters)")
    })?;
    let verb = match action {
        ModerationAction::Hide => "hiding",
        ModerationAction::Show => "showing again",
    };
    note!(
        "{verb} the signer of entry {} ({reason}) in the list of",
        args.entry
    );
    show_letter(&letter);
    note!(
        "as the moderator {} (fingerprint {})",
        key.verifier(),
        key.verifier().fingerprint()
    );
    note!(
        "a moderation is public and permanent: every reader and auditor sees it with its reason, and the endorsement stays in the log"
    );
    write_entry(args.output.as_deref(), &bytes, "moderation")?;
    Ok(ExitCode::SUCCESS)
}
