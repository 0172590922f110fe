//! The log's witness client (docs/protocol.md, *Witnesses*; docs/operating.md,
//! *Witnesses*): after each durable checkpoint, `add-checkpoint` goes to every witness
//! of the policy at once, each with the consistency proof from the size it is known to
//! hold; the checkpoint is published with the cosignatures that arrived as soon as the
//! policy's quorum is met, or at the timeout without it (fail open).
//!
//! Per witness it remembers the size the witness holds (0 until it says otherwise), so
//! a new witness, or any witness after a restart, starts at `old 0` and learns the size
//! from its `409`. A `409` naming a size smaller than the checkpoint's is retried once
//! from that size. Any other `409`, or a `422`, means the witness saw a tree this log
//! did not make, or a rollback: a possible fork, logged and counted, and the witness
//! gets nothing more until the server restarts.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use signet_core::note::NoteSignature;
use signet_core::policy::{Policy, PolicyWitness};
use signet_core::witness::{AddCheckpoint, parse_cosignatures, parse_size};
use signet_core::{SignedCheckpoint, VerifierKey, cosignature};
use signet_log::witness::{ConsistencyProofs, Cosigners};

/// The largest answer read from a witness.
const MAX_ANSWER: u64 = 64 * 1024;

/// The witnesses of a policy, as the log's sequencer asks them.
#[derive(Debug)]
pub struct WitnessClient {
    policy: Policy,
    remotes: Vec<Arc<Remote>>,
    timeout: Duration,
    rounds: AtomicU64,
    without_quorum: AtomicU64,
}

#[derive(Debug)]
struct Remote {
    name: String,
    key: VerifierKey,
    url: String,
    agent: ureq::Agent,
    state: Mutex<RemoteState>,
    successes: AtomicU64,
    failures: AtomicU64,
    forks: AtomicU64,
    latency_micros: AtomicU64,
}

#[derive(Debug, Default)]
struct RemoteState {
    /// The size the witness is known to hold.
    size: u64,
    /// It reported a possible fork: nothing more is sent until restart.
    stopped: bool,
    /// A request is in flight (a late one from an earlier round).
    busy: bool,
}

/// What one witness's exchange came to.
enum Outcome {
    Cosigned(Vec<NoteSignature>),
    Failed,
}

impl WitnessClient {
    /// The client of the witnesses in a tlog-policy file (`bytes`), each asked with
    /// `timeout` as the round's deadline. Refuses a policy with a witness that has no
    /// URL, or with a URL that is not `http://` or `https://`.
    pub fn from_policy(bytes: &[u8], timeout: Duration) -> Result<WitnessClient, String> {
        let policy = Policy::parse(bytes).map_err(|e| e.to_string())?;
        let mut remotes = Vec::new();
        for PolicyWitness { name, key, url } in policy.witnesses() {
            let Some(url) = url else {
                return Err(format!(
                    "witness {name} has no URL; write `witness {name} {key} <url>` so the log can ask it"
                ));
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "witness {name}: the URL {url:?} must start with http:// or https://"
                ));
            }
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(timeout))
                .user_agent(concat!("signet-server/", env!("CARGO_PKG_VERSION")))
                .build()
                .into();
            remotes.push(Arc::new(Remote {
                name,
                key,
                url,
                agent,
                state: Mutex::new(RemoteState::default()),
                successes: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                forks: AtomicU64::new(0),
                latency_micros: AtomicU64::new(0),
            }));
        }
        Ok(WitnessClient {
            policy,
            remotes,
            timeout,
            rounds: AtomicU64::new(0),
            without_quorum: AtomicU64::new(0),
        })
    }

    /// Checks the policy's `log` lines, if any: one must be `log_key`.
    pub fn check_log(&self, log_key: &VerifierKey) -> Result<(), String> {
        let logs = self.policy.logs();
        if logs.is_empty() || logs.iter().any(|k| k == log_key) {
            return Ok(());
        }
        Err(format!(
            "the witness policy's log lines name {} but not this log's key {log_key}; \
             fix the policy's `log` line or remove it",
            logs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

impl Cosigners for WitnessClient {
    fn cosign(
        &self,
        checkpoint: &SignedCheckpoint,
        proofs: ConsistencyProofs,
    ) -> Vec<NoteSignature> {
        self.rounds.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let deadline = started + self.timeout;
        let (tx, rx) = mpsc::channel();
        let mut asked = 0;
        for remote in &self.remotes {
            let old = {
                let mut s = remote.state.lock().unwrap_or_else(PoisonError::into_inner);
                if s.stopped || s.busy {
                    continue;
                }
                s.busy = true;
                s.size
            };
            asked += 1;
            let (mine, checkpoint, proofs, tx) = (
                remote.clone(),
                checkpoint.clone(),
                proofs.clone(),
                tx.clone(),
            );
            let spawned = std::thread::Builder::new()
                .name("signet-witness-client".into())
                .spawn(move || {
                    let outcome = mine.exchange(&checkpoint, &proofs, old);
                    mine.state
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .busy = false;
                    let _ = tx.send(outcome);
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a witness request");
                remote
                    .state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .busy = false;
                asked -= 1;
            }
        }
        drop(tx);
        let mut cosigned = checkpoint.clone();
        let mut gathered = Vec::new();
        // With `quorum none` every answer is awaited (until the deadline); otherwise the
        // round ends as soon as the quorum is met.
        let needed = !self.policy.needs_no_witness();
        let mut met = false;
        let mut answered = 0;
        while !(needed && met) && answered < asked {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Outcome::Cosigned(sigs)) => {
                    answered += 1;
                    for s in sigs {
                        cosigned.note_mut().push_signature(s.clone());
                        gathered.push(s);
                    }
                    met = self.policy.check_quorum(&cosigned).is_ok();
                }
                Ok(Outcome::Failed) => answered += 1,
                Err(_) => break,
            }
        }
        if needed && !met {
            self.without_quorum.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                size = checkpoint.checkpoint().size,
                cosignatures = gathered.len(),
                waited_ms = started.elapsed().as_millis() as u64,
                "publishing the checkpoint without the witness quorum (fail open)"
            );
        }
        gathered
    }

    fn witnesses(&self) -> Vec<(String, VerifierKey)> {
        self.remotes
            .iter()
            .map(|r| (r.name.clone(), r.key.clone()))
            .collect()
    }

    fn policy(&self) -> Option<&Policy> {
        Some(&self.policy)
    }

    fn render_metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP signet_witness_rounds_total Checkpoints sent to the witnesses.\n\
             # TYPE signet_witness_rounds_total counter\n\
             signet_witness_rounds_total {}\n\
             # HELP signet_witness_without_quorum_total Checkpoints published without the witness quorum (fail open).\n\
             # TYPE signet_witness_without_quorum_total counter\n\
             signet_witness_without_quorum_total {}",
            self.rounds.load(Ordering::Relaxed),
            self.without_quorum.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP signet_witness_requests_total Witness exchanges, by witness and result.\n\
             # TYPE signet_witness_requests_total counter"
        );
        for r in &self.remotes {
            let name = label(&r.name);
            let _ = writeln!(
                out,
                "signet_witness_requests_total{{witness=\"{name}\",result=\"success\"}} {}\n\
                 signet_witness_requests_total{{witness=\"{name}\",result=\"failure\"}} {}",
                r.successes.load(Ordering::Relaxed),
                r.failures.load(Ordering::Relaxed),
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_witness_forks_total Witnesses that reported a tree this log did not make (possible fork).\n\
             # TYPE signet_witness_forks_total counter"
        );
        for r in &self.remotes {
            let _ = writeln!(
                out,
                "signet_witness_forks_total{{witness=\"{}\"}} {}",
                label(&r.name),
                r.forks.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_witness_latency_seconds_total Time spent in successful witness exchanges.\n\
             # TYPE signet_witness_latency_seconds_total counter"
        );
        for r in &self.remotes {
            let _ = writeln!(
                out,
                "signet_witness_latency_seconds_total{{witness=\"{}\"}} {:.6}",
                label(&r.name),
                r.latency_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
        }
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What one add-checkpoint request got back.
enum Reply {
    Status(u16, Vec<u8>),
    Transport(String),
}

impl Remote {
    /// Asks for a cosignature from `old`, retrying once from the size a `409` names
    /// when it is smaller than the checkpoint's; updates what is known of the witness.
    fn exchange(
        &self,
        checkpoint: &SignedCheckpoint,
        proofs: &ConsistencyProofs,
        old: u64,
    ) -> Outcome {
        let started = Instant::now();
        let size = checkpoint.checkpoint().size;
        let mut old = old.min(size);
        for attempt in 0..2 {
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                match proofs(old) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(witness = %self.name, old, size, error = %e, "cannot build a consistency proof for a witness");
                        return self.failed();
                    }
                }
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: checkpoint.clone(),
            }
            .to_bytes();
            match self.post(&body) {
                Reply::Status(200, answer) => {
                    let valid: Vec<NoteSignature> =
                        match parse_cosignatures(checkpoint.checkpoint(), &answer) {
                            Ok(sigs) => sigs
                                .into_iter()
                                .filter(|s| {
                                    cosignature::verify(checkpoint.checkpoint(), &self.key, s)
                                        .is_ok()
                                })
                                .collect(),
                            Err(_) => Vec::new(),
                        };
                    if valid.is_empty() {
                        tracing::warn!(witness = %self.name, "the witness answered 200 without a valid cosignature by its key");
                        return self.failed();
                    }
                    self.set_size(size);
                    self.successes.fetch_add(1, Ordering::Relaxed);
                    self.latency_micros
                        .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    return Outcome::Cosigned(valid);
                }
                Reply::Status(409, answer) => match parse_size(&answer) {
                    Ok(held) if held < size && attempt == 0 => {
                        tracing::info!(witness = %self.name, held, "the witness holds another size; asking again from it");
                        self.set_size(held);
                        old = held;
                    }
                    held => {
                        let held =
                            held.map_or_else(|e| format!("no size ({e})"), |h| h.to_string());
                        return self.fork(size, &format!("409 Conflict, holding size {held}"));
                    }
                },
                Reply::Status(422, answer) => {
                    return self.fork(
                        size,
                        &format!("422: {}", String::from_utf8_lossy(&answer).trim_end()),
                    );
                }
                Reply::Status(status, answer) => {
                    tracing::warn!(witness = %self.name, status, answer = %String::from_utf8_lossy(&answer).trim_end().escape_debug(), "the witness refused the checkpoint");
                    return self.failed();
                }
                Reply::Transport(e) => {
                    tracing::warn!(witness = %self.name, url = %self.url, error = %e, "the witness cannot be reached");
                    return self.failed();
                }
            }
        }
        self.failed()
    }

    fn post(&self, body: &[u8]) -> Reply {
        let url = format!("{}/add-checkpoint", self.url);
        let response = self
            .agent
            .post(&url)
            .header("content-type", "text/plain; charset=utf-8")
            .send(body);
        match response {
            Ok(mut r) => {
                let status = r.status().as_u16();
                match r.body_mut().with_config().limit(MAX_ANSWER).read_to_vec() {
                    Ok(b) => Reply::Status(status, b),
                    Err(e) => Reply::Transport(e.to_string()),
                }
            }
            Err(e) => Reply::Transport(e.to_string()),
        }
    }

    fn set_size(&self, size: u64) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .size = size;
    }

    fn failed(&self) -> Outcome {
        self.failures.fetch_add(1, Ordering::Relaxed);
        Outcome::Failed
    }

    fn fork(&self, size: u64, what: &str) -> Outcome {
        tracing::error!(
            witness = %self.name,
            url = %self.url,
            size,
            answer = %what.escape_debug(),
            "possible fork: the witness has seen a tree this log did not make, or a rollback; \
             nothing more is sent to it until restart (see docs/operating.md, *Witnesses*)"
        );
        self.forks.fetch_add(1, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped = true;
        Outcome::Failed
    }
}
