//! Appointing moderators at start (see docs/operating.md, *Moderators*): each key the
//! operator names that the log has not appointed yet gets one `signet/moderator/v1`
//! entry, signed by the log's key, like a letter registration. An appointment is never
//! undone, so a key left out of a later start stays appointed.

use signet_core::entry::ModeratorAppointment;
use signet_core::state::Decision;
use signet_core::{SigningKey, Statement, Timestamp, VerifierKey};

use crate::Error;
use crate::sequencer::Writer;

/// Appoints every key of `wanted` the log has not appointed yet, in one batch.
pub(crate) fn appoint(
    writer: &mut Writer,
    key: &SigningKey,
    wanted: &[VerifierKey],
    now: Timestamp,
) -> Result<(), Error> {
    let known = writer.moderators()?;
    let mut batch = Vec::new();
    let mut names = Vec::new();
    for moderator in wanted {
        if moderator.public_key() == key.verifier().public_key() {
            return Err(Error::Config(format!(
                "--moderator {moderator} is the log's own key; a moderator signs with a key of \
                 its own: make one with `signet keygen --name NAME` and pass its .vkey file"
            )));
        }
        let public = moderator.public_key();
        let already = known
            .iter()
            .any(|k| VerifierKey::parse(&k.key).is_ok_and(|v| v.public_key() == public))
            || batch
                .iter()
                .any(|e: &signet_core::Entry| match e.statement() {
                    Statement::Moderator(m) => m.moderator.public_key() == public,
                    _ => false,
                });
        if already {
            continue;
        }
        let statement = Statement::Moderator(ModeratorAppointment {
            moderator: moderator.clone(),
            name: moderator.name().as_str().to_owned(),
            time: now,
            key: key.verifier(),
        });
        let entry = statement
            .sign(key)
            .map_err(|e| Error::Config(format!("cannot appoint the moderator {moderator}: {e}")))?;
        batch.push(entry);
        names.push(moderator.to_string());
    }
    if batch.is_empty() {
        return Ok(());
    }
    for (name, answer) in names.into_iter().zip(writer.integrate_now(batch)) {
        match answer {
            Ok((Decision::Append { .. } | Decision::Logged { .. }, head)) => {
                tracing::info!(moderator = %name, size = head.size, "appointed moderator");
            }
            Ok((other, _)) => {
                return Err(Error::Internal(format!(
                    "the appointment of moderator {name} was decided as {other:?}"
                )));
            }
            Err(Error::Entry(e)) => {
                return Err(Error::Config(format!(
                    "could not appoint the moderator {name}: {e}"
                )));
            }
            Err(e) => {
                tracing::error!(moderator = %name, error = %e, "could not appoint the moderator");
                return Err(e);
            }
        }
    }
    Ok(())
}
