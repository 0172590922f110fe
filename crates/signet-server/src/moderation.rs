//! Moderation on the server's side (see docs/http-api.md, *Moderation*): the
//! `--moderator` values and the JSON of moderator appointments, moderations and hides.

use serde_json::{Map, Value, json};
use signet_core::{Statement, VerifierKey};
use signet_log::HiddenBy;

/// A `--moderator` value: a verifier key, or the path of a file holding one.
pub fn moderator_key(value: &str) -> Result<VerifierKey, String> {
    if let Ok(key) = VerifierKey::parse(value) {
        return Ok(key);
    }
    let text = std::fs::read_to_string(value).map_err(|e| {
        format!(
            "{value:?} is neither a verifier key (name+hash+base64) nor a readable file ({e}); \
             pass the moderator's .vkey file or its contents"
        )
    })?;
    VerifierKey::parse(text.trim()).map_err(|e| {
        format!(
            "the file {value} does not hold a verifier key: {e}; pass the .vkey file \
             `signet keygen` wrote"
        )
    })
}

/// The fields of a moderator appointment or a moderation in `/v1/entries/<index>`.
pub(crate) fn entry_fields(statement: &Statement, fields: &mut Map<String, Value>) {
    match statement {
        Statement::Moderator(m) => {
            fields.insert("moderator".into(), json!(m.moderator.to_string()));
            fields.insert("name".into(), json!(m.name));
        }
        Statement::Moderation(m) => {
            fields.insert("target".into(), json!(m.entry));
            fields.insert("action".into(), json!(m.action.as_str()));
            fields.insert("reason".into(), json!(m.reason.as_str()));
            if let Some(note) = &m.note {
                fields.insert("note".into(), json!(note));
            }
        }
        _ => {}
    }
}

/// A listing's `hidden`: `null`, or the hide in effect.
pub(crate) fn hidden_json(hidden: Option<&HiddenBy>) -> Value {
    match hidden {
        None => Value::Null,
        Some(h) => json!({
            "index": h.index, "reason": h.reason, "note": h.note, "time": h.time.to_string(),
            "moderator": h.moderator,
        }),
    }
}
