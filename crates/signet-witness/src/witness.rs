//! The witness itself: its key, the logs it knows, the latest checkpoint it cosigned
//! for each, and the add-checkpoint decision.
//!
//! Each log has a slot behind a mutex. A request takes its log's mutex before it reads
//! the stored size and keeps it until the new checkpoint is durable, so two requests for
//! one log are decided one after the other: two inconsistent checkpoints can never both
//! be cosigned, whatever the interleaving. The state lives in one file per log, replaced
//! atomically and durably (through `signet-fs`) before the answer, and read back at the
//! next start, so a restart continues from what was cosigned.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::Digest as _;
use signet_core::keys::SignatureType;
use signet_core::note::NoteSignature;
use signet_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE};
use signet_core::{Hash, KeyName, SignedCheckpoint, SigningKey, VerifierKey, cosignature, merkle};

use crate::Error;

/// The private key's file in the data directory.
pub const KEY_FILE: &str = "witness.key";
/// The cosigner verifier key's file in the data directory.
pub const VKEY_FILE: &str = "witness.vkey";
/// The folder of the per-log state files.
const STATE_DIR: &str = "state";

type Clock = dyn Fn() -> u64 + Send + Sync;

/// What the witness last cosigned for one log.
#[derive(Debug, Clone)]
struct Latest {
    size: u64,
    root: Hash,
    /// The checkpoint with the log's signature and this witness's cosignature.
    text: String,
}

#[derive(Debug)]
struct Slot {
    log_key: VerifierKey,
    path: PathBuf,
    latest: Mutex<Option<Latest>>,
}

/// A witness over a data directory.
pub struct Witness {
    key: SigningKey,
    slots: HashMap<String, Slot>,
    clock: Box<Clock>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.key.name().as_str())
            .field("logs", &self.slots.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The answer to an add-checkpoint request, as the HTTP layer sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `200`: the cosignature lines.
    Cosigned(Vec<NoteSignature>),
    /// `409`: `old` is not the stored size, or the checkpoint has the stored size and
    /// another root. The body is the stored size.
    Conflict {
        /// The size of the latest checkpoint the witness cosigned (0 if none).
        size: u64,
        /// Why, for the witness's own log.
        reason: String,
    },
    /// Any other refusal: `400`, `403`, `404`, `422`, or `503` when the state could
    /// not be stored.
    Refused {
        /// The HTTP status.
        status: u16,
        /// What is wrong, in words.
        message: String,
    },
}

impl Answer {
    fn refused(status: u16, message: impl Into<String>) -> Answer {
        Answer::Refused {
            status,
            message: message.into(),
        }
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned(_) => 200,
            Answer::Conflict { .. } => 409,
            Answer::Refused { status, .. } => *status,
        }
    }

    /// The content type of the body.
    pub fn content_type(&self) -> &'static str {
        match self {
            Answer::Conflict { .. } => SIZE_CONTENT_TYPE,
            _ => "text/plain; charset=utf-8",
        }
    }

    /// The body: the cosignature lines, the stored size and a newline, or the message
    /// and a newline.
    pub fn body(&self) -> String {
        match self {
            Answer::Cosigned(lines) => lines.iter().map(NoteSignature::to_line).collect(),
            Answer::Conflict { size, .. } => format!("{size}\n"),
            Answer::Refused { message, .. } => format!("{message}\n"),
        }
    }
}

/// The lowercase hex SHA-256 of an origin: the name of its state file and of its
/// monitoring path.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(sha2::Sha256::digest(origin.as_bytes()))
}

impl Witness {
    /// Opens the witness in `dir`: creates its key (mode 0600) on the first start,
    /// writes its cosigner verifier key to `<dir>/witness.vkey`, and reads the stored
    /// state of every log in `logs`.
    ///
    /// Refuses a key readable by group or others, a key with another name than `name`,
    /// two logs with one origin, a log key that is not an Ed25519 note key, and a
    /// stored checkpoint that the log's key did not sign.
    pub fn open(dir: &Path, name: KeyName, logs: Vec<VerifierKey>) -> Result<Witness, Error> {
        if logs.is_empty() {
            return Err(Error::Config(
                "no log to witness; give each log's verifier key with --log".into(),
            ));
        }
        signet_fs::create_dir_all(dir)?;
        let key = load_or_create_key(dir, name)?;
        signet_fs::replace_with_mode(
            &dir.join(VKEY_FILE),
            format!("{}\n", key.verifier()).as_bytes(),
            signet_fs::PUBLIC,
        )?;
        let state_dir = dir.join(STATE_DIR);
        signet_fs::create_dir_all(&state_dir)?;
        let mut slots = HashMap::new();
        for log_key in logs {
            if log_key.sig_type() != SignatureType::Ed25519 {
                return Err(Error::Config(format!(
                    "{log_key} is not a log's verifier key (an Ed25519 note key, type 0x01)"
                )));
            }
            let origin = log_key.name().as_str().to_owned();
            let path = state_dir.join(origin_hash(&origin));
            let latest = load_state(&path, &origin, &log_key)?;
            let slot = Slot {
                log_key,
                path,
                latest: Mutex::new(latest),
            };
            if slots.insert(origin.clone(), slot).is_some() {
                return Err(Error::Config(format!(
                    "two --log keys have the origin {origin:?}; a witness trusts one key per log"
                )));
            }
        }
        Ok(Witness {
            key,
            slots,
            clock: Box::new(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
        })
    }

    /// Replaces the clock (POSIX seconds) the cosignatures' timestamps come from; for
    /// tests.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Witness {
        self.clock = Box::new(clock);
        self
    }

    /// The cosigner verifier key (`<name>+<key ID>+<base64(0x04 ‖ key)>`).
    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// The origins of the logs it witnesses.
    pub fn origins(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.slots.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hash` (lowercase
    /// hex SHA-256), with the log's signature and the cosignature.
    pub fn latest(&self, hash: &str) -> Option<String> {
        let slot = self
            .slots
            .iter()
            .find(|(origin, _)| origin_hash(origin) == hash)?
            .1;
        let latest = slot.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.as_ref().map(|l| l.text.clone())
    }

    /// Decides an add-checkpoint request (its whole body), as C2SP tlog-witness says;
    /// a checkpoint it cosigns is stored durably before this returns.
    pub fn add_checkpoint(&self, body: &[u8]) -> Answer {
        let request = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(e) => return Answer::refused(400, e.to_string()),
        };
        let checkpoint = request.checkpoint.checkpoint();
        let Some(slot) = self.slots.get(&checkpoint.origin) else {
            return Answer::refused(
                404,
                format!("this witness does not know the log {:?}", checkpoint.origin),
            );
        };
        if let Err(e) = request.checkpoint.verify(&slot.log_key) {
            return Answer::refused(
                403,
                format!("no valid signature by the log's key {}: {e}", slot.log_key),
            );
        }
        // Held until the new state is durable: requests for this log are serialised.
        let mut latest = slot.latest.lock().unwrap_or_else(PoisonError::into_inner);
        let (stored_size, stored_root) = latest
            .as_ref()
            .map_or((0, Hash::EMPTY_ROOT), |l| (l.size, l.root));
        if request.old != stored_size {
            return Answer::Conflict {
                size: stored_size,
                reason: format!(
                    "old size {} is not the size this witness holds",
                    request.old
                ),
            };
        }
        if checkpoint.size == stored_size && checkpoint.root != stored_root {
            tracing::warn!(
                origin = %checkpoint.origin,
                size = stored_size,
                stored = %stored_root,
                offered = %checkpoint.root,
                "possible fork: a checkpoint of the stored size with another root, signed by the log"
            );
            return Answer::Conflict {
                size: stored_size,
                reason: "the stored checkpoint of this size has another root".into(),
            };
        }
        if request.old == 0 && !request.proof.is_empty() {
            return Answer::refused(422, "a request from old size 0 carries no proof");
        }
        if let Err(e) = merkle::verify_consistency(
            request.old,
            checkpoint.size,
            &stored_root,
            &checkpoint.root,
            &request.proof,
        ) {
            tracing::warn!(
                origin = %checkpoint.origin,
                old = request.old,
                size = checkpoint.size,
                error = %e,
                "possible fork: a signed checkpoint that does not extend the stored one"
            );
            return Answer::refused(
                422,
                format!(
                    "the consistency proof from size {} to {} does not verify: {e}",
                    request.old, checkpoint.size
                ),
            );
        }
        let timestamp = (self.clock)().max(1);
        let cosig = match cosignature::cosign(checkpoint, &self.key, timestamp) {
            Ok(c) => c,
            Err(e) => return Answer::refused(503, format!("cannot cosign: {e}")),
        };
        let mut stored = request.checkpoint.clone();
        stored.note_mut().push_signature(cosig.clone());
        let text = stored.to_string();
        if let Err(e) = signet_fs::replace(&slot.path, text.as_bytes()) {
            tracing::error!(error = %e, "cannot store the witness state");
            return Answer::refused(
                503,
                "the witness cannot store its state now; nothing was cosigned",
            );
        }
        *latest = Some(Latest {
            size: checkpoint.size,
            root: checkpoint.root,
            text,
        });
        Answer::Cosigned(vec![cosig])
    }
}

/// Reads the key, or makes one (0600, never overwriting) on the first start.
fn load_or_create_key(dir: &Path, name: KeyName) -> Result<SigningKey, Error> {
    let path = dir.join(KEY_FILE);
    let bad = |reason: String| Error::Key {
        path: path.clone(),
        reason,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(meta) => {
            if !meta.is_file() {
                return Err(bad("it is not a regular file".into()));
            }
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(bad(format!(
                    "its mode is {mode:04o}, so others may read it; run `chmod 600 {}`",
                    path.display()
                )));
            }
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let key = SigningKey::parse(text.trim_end()).map_err(|e| bad(e.to_string()))?;
            if key.sig_type() != SignatureType::CosignatureV1 {
                return Err(bad("it is not a cosignature/v1 key".into()));
            }
            if *key.name() != name {
                return Err(bad(format!(
                    "it is the key of {}, not of {name}; give --name {} (a witness's name is fixed with its key)",
                    key.name(),
                    key.name()
                )));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut seed = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut seed[..]).map_err(|e| Error::NoRandomness(e.to_string()))?;
            let key = SigningKey::from_seed(name, SignatureType::CosignatureV1, &seed);
            let text = zeroize::Zeroizing::new(format!("{}\n", key.to_secret_string().as_str()));
            signet_fs::create_new(&path, text.as_bytes(), signet_fs::PRIVATE)?;
            tracing::info!(path = %path.display(), "created the witness key");
            Ok(key)
        }
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// Reads the stored state of one log: its latest cosigned checkpoint, which the log's
/// key must have signed.
fn load_state(path: &Path, origin: &str, log_key: &VerifierKey) -> Result<Option<Latest>, Error> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let bad = |reason: String| Error::State {
        path: path.to_owned(),
        origin: origin.to_owned(),
        reason,
    };
    let signed = SignedCheckpoint::parse(&bytes).map_err(|e| bad(e.to_string()))?;
    let checkpoint = signed.verify(log_key).map_err(|e| {
        bad(format!(
            "{e}; it was cosigned under another key of this log. Keep the log's old key, or \
             move the file aside to witness the log afresh from its next checkpoint"
        ))
    })?;
    Ok(Some(Latest {
        size: checkpoint.size,
        root: checkpoint.root,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }))
}
