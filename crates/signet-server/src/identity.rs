//! The server's identity claim checks (docs/protocol.md, *Identity claims*;
//! docs/operating.md, *Identity claims*).
//!
//! A check never delays an acknowledgement: the submission route hands the claims of a
//! new endorsement to a bounded queue with `try_send` once the entry is acknowledged,
//! and a bounded pool of checks drains it. What does not fit in the queue is dropped
//! there and picked up by the recheck loop, which also re-checks every claim of every
//! shown signer once its last check is older than `--identity-recheck`, and checks
//! every claim the catalog has no result for (after a rebuild, say).
//!
//! Checks yield to submissions. A check costs a TLS handshake or a DNS query, several
//! signature verifications' worth of CPU, on the cores that acknowledge entries. So while
//! the log is taking submissions, checks start at most one per `busy_gap` (100 ms); once
//! no submission has come for `quiet_after` (250 ms), up to `workers` run at once. The
//! queue stays bounded either way, and the recheck loop picks up whatever it drops.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use signet_core::entry::IdentityClaim;
use signet_core::{Entry, Statement};
use signet_identity::{Checker, Outcome};
use signet_log::{ClaimResult, Log};
use tokio::sync::{Semaphore, mpsc};

/// How the checks run.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Re-check a claim once its last check is this old.
    pub recheck: Duration,
    /// Checks running at once.
    pub workers: usize,
    /// Claims waiting for a check; more wait for the recheck loop.
    pub queue: usize,
    /// While the log takes submissions, one check starts at most this often.
    pub busy_gap: Duration,
    /// The log counts as quiet once no submission has come for this long.
    pub quiet_after: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            recheck: Duration::from_secs(24 * 3600),
            workers: 32,
            queue: 4096,
            busy_gap: Duration::from_millis(100),
            quiet_after: Duration::from_millis(250),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    held: AtomicU64,
    failed: AtomicU64,
    overflow: AtomicU64,
    unrecorded: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    queue: mpsc::Sender<Job>,
    /// The (signer, claim) pairs queued or being checked, so no claim waits twice.
    pending: Mutex<HashSet<([u8; 32], String)>>,
    counters: Counters,
}

#[derive(Debug)]
struct Job {
    key: [u8; 32],
    claim: IdentityClaim,
}

/// The identity checks of a server: off, or a queue, a pool and a recheck loop.
#[derive(Debug, Clone, Default)]
pub struct IdentityChecks {
    inner: Option<Arc<Inner>>,
}

impl IdentityChecks {
    /// No checks (`--identity-checks off`): nothing is fetched and `verified` stays
    /// empty.
    pub fn off() -> IdentityChecks {
        IdentityChecks { inner: None }
    }

    /// Starts the pool and the recheck loop on the current Tokio runtime.
    pub fn start(log: Arc<Log>, checker: Checker, settings: IdentitySettings) -> IdentityChecks {
        let (tx, rx) = mpsc::channel(settings.queue.max(1));
        let inner = Arc::new(Inner {
            queue: tx,
            pending: Mutex::new(HashSet::new()),
            counters: Counters::default(),
        });
        let pace = Pace::new(
            activity(&log),
            settings.quiet_after,
            settings.busy_gap,
            Instant::now(),
        );
        tokio::spawn(run_pool(
            log.clone(),
            Arc::new(checker),
            inner.clone(),
            rx,
            settings.workers.max(1),
            pace,
        ));
        tokio::spawn(recheck_loop(log, inner.clone(), settings.recheck));
        IdentityChecks { inner: Some(inner) }
    }

    /// Whether claims are checked at all.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Queues the claims of an acknowledged endorsement, never waiting: a full queue
    /// leaves them to the recheck loop.
    pub(crate) fn acknowledged(&self, entry: &Entry) {
        let (Some(inner), Statement::Endorsement(e)) = (&self.inner, entry.statement()) else {
            return;
        };
        for claim in &e.identity {
            inner.offer(*e.key.public_key(), claim.clone());
        }
    }

    /// Appends the identity metrics in the Prometheus text format.
    pub(crate) fn render(&self, out: &mut String) {
        let Some(inner) = &self.inner else {
            return;
        };
        let c = &inner.counters;
        let _ = writeln!(
            out,
            "# HELP signet_identity_checks_total Identity claim checks, by result.\n\
             # TYPE signet_identity_checks_total counter\n\
             signet_identity_checks_total{{result=\"held\"}} {}\n\
             signet_identity_checks_total{{result=\"failed\"}} {}\n\
             # HELP signet_identity_queue_overflow_total Claims left to the recheck loop because the check queue was full.\n\
             # TYPE signet_identity_queue_overflow_total counter\n\
             signet_identity_queue_overflow_total {}\n\
             # HELP signet_identity_unrecorded_total Claim results the catalog could not store.\n\
             # TYPE signet_identity_unrecorded_total counter\n\
             signet_identity_unrecorded_total {}",
            c.held.load(Ordering::Relaxed),
            c.failed.load(Ordering::Relaxed),
            c.overflow.load(Ordering::Relaxed),
            c.unrecorded.load(Ordering::Relaxed),
        );
    }
}

impl Inner {
    /// Queues a claim unless it is already pending; `false` when the queue is full.
    fn offer(&self, key: [u8; 32], claim: IdentityClaim) -> bool {
        let id = (key, claim.as_str().to_owned());
        {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if !pending.insert(id.clone()) {
                return true;
            }
        }
        match self.queue.try_send(Job { key, claim }) {
            Ok(()) => true,
            Err(_) => {
                self.pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
                self.counters.overflow.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    fn done(&self, key: [u8; 32], claim: &str) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(key, claim.to_owned()));
    }
}

/// When the next check may start: at once while the log is quiet, and one per `busy_gap`
/// while it takes submissions.
#[derive(Debug)]
struct Pace {
    quiet_after: Duration,
    busy_gap: Duration,
    /// The log's activity count when last looked at, and when it last changed.
    seen: u64,
    changed: Instant,
    /// While busy, the earliest start of the next check.
    next: Instant,
}

impl Pace {
    /// A pace that counts the log as quiet until `activity` changes.
    fn new(activity: u64, quiet_after: Duration, busy_gap: Duration, now: Instant) -> Pace {
        Pace {
            quiet_after,
            busy_gap,
            seen: activity,
            changed: now.checked_sub(quiet_after).unwrap_or(now),
            next: now,
        }
    }

    /// Given the log's activity count (anything that changes with every submission) at
    /// `now`: `None` to start a check now, or how long to wait before asking again.
    fn poll(&mut self, activity: u64, now: Instant) -> Option<Duration> {
        if activity != self.seen {
            self.seen = activity;
            self.changed = now;
        }
        if now.saturating_duration_since(self.changed) >= self.quiet_after {
            return None;
        }
        if now >= self.next {
            self.next = now + self.busy_gap;
            return None;
        }
        Some((self.next - now).min(self.quiet_after))
    }
}

/// A count that changes with every submission the log answers or refuses.
fn activity(log: &Log) -> u64 {
    let m = log.metrics();
    [
        &m.letters,
        &m.endorsements,
        &m.withdrawals,
        &m.duplicates,
        &m.rejected,
        &m.conflicts,
        &m.overloaded,
        &m.failed_batches,
    ]
    .iter()
    .map(|c| c.get())
    .fold(0u64, u64::wrapping_add)
}

/// Takes claims off the queue and checks up to `workers` at once, paced by `pace`.
async fn run_pool(
    log: Arc<Log>,
    checker: Arc<Checker>,
    inner: Arc<Inner>,
    mut rx: mpsc::Receiver<Job>,
    workers: usize,
    mut pace: Pace,
) {
    let permits = Arc::new(Semaphore::new(workers));
    while let Some(job) = rx.recv().await {
        while let Some(wait) = pace.poll(activity(&log), Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (log, checker, inner) = (log.clone(), checker.clone(), inner.clone());
        tokio::spawn(async move {
            let check = checker.check(&job.claim, &job.key).await;
            let (held, evidence, reason) = match check.outcome {
                Outcome::Held(e) => (true, Some(e.to_string()), None),
                Outcome::Failed(r) => (false, None, Some(r)),
            };
            let counter = if held {
                &inner.counters.held
            } else {
                &inner.counters.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(claim = %job.claim, held, reason = reason.as_deref().unwrap_or(""), "identity claim checked");
            let result = ClaimResult {
                key: job.key,
                claim: job.claim.as_str().to_owned(),
                held,
                checked: check.checked,
                evidence,
                reason,
            };
            let recorded = tokio::task::spawn_blocking(move || log.record_claim(&result)).await;
            if !matches!(recorded, Ok(Ok(()))) {
                inner.counters.unrecorded.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(claim = %job.claim, "cannot record an identity claim's result; it will be checked again");
            }
            inner.done(job.key, job.claim.as_str());
            drop(permit);
        });
    }
}

/// Every so often, queues each shown claim that was never checked or whose last check
/// is older than `recheck`.
async fn recheck_loop(log: Arc<Log>, inner: Arc<Inner>, recheck: Duration) {
    let tick = recheck
        .min(Duration::from_secs(60))
        .max(Duration::from_secs(1));
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let due_before = now.saturating_sub(recheck.as_secs());
        let reader = log.clone();
        match tokio::task::spawn_blocking(move || reader.shown_claims()).await {
            Ok(Ok(claims)) => {
                for c in claims {
                    if c.checked.is_some_and(|t| t > due_before) {
                        continue;
                    }
                    let Ok(claim) = IdentityClaim::parse(&c.claim) else {
                        continue;
                    };
                    // A full queue is no loss: whatever does not fit now waits for the
                    // next round.
                    if !inner.offer(c.key, claim) {
                        break;
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot list the claims to recheck"),
            Err(e) => tracing::warn!(error = %e, "the recheck listing failed"),
        }
        tokio::time::sleep(tick).await;
    }
}

/// `verified` for one endorsement's claims: those that held at their last check, as
/// `{"claim", "checked", "evidence"}`, in the endorsement's order.
fn verified_json(results: &[ClaimResult], claims: &[&str]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = claims
        .iter()
        .filter_map(|c| results.iter().find(|r| r.claim == *c && r.held))
        .map(|r| {
            serde_json::json!({
                "claim": r.claim,
                "checked": r.checked.to_string(),
                "evidence": r.evidence,
            })
        })
        .collect();
    serde_json::Value::Array(items)
}

/// `verified` for the endorsement of `key` with these claims.
pub(crate) async fn verified_of(
    s: &crate::AppState,
    key: [u8; 32],
    claims: &[&str],
) -> Result<serde_json::Value, crate::AppError> {
    if !s.identity.enabled() || claims.is_empty() {
        return Ok(serde_json::json!([]));
    }
    let log = s.log_arc();
    let results = crate::routes::blocking(move || log.claim_results(&key)).await?;
    Ok(verified_json(&results, claims))
}

/// `verified` for each row of a signatory page.
pub(crate) async fn verified_of_page(
    s: &crate::AppState,
    items: &[signet_log::Signatory],
) -> Result<Vec<serde_json::Value>, crate::AppError> {
    if !s.identity.enabled() {
        return Ok(vec![serde_json::json!([]); items.len()]);
    }
    let rows: Vec<(Option<[u8; 32]>, Vec<String>)> = items
        .iter()
        .map(|i| {
            let key = signet_core::VerifierKey::parse(&i.key)
                .ok()
                .map(|k| *k.public_key());
            (key, i.identity.clone())
        })
        .collect();
    let log = s.log_arc();
    crate::routes::blocking(move || {
        rows.into_iter()
            .map(|(key, claims)| {
                let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
                match key {
                    Some(key) if !claims.is_empty() => {
                        Ok(verified_json(&log.claim_results(&key)?, &claims))
                    }
                    _ => Ok(serde_json::json!([])),
                }
            })
            .collect()
    })
    .await
}

/// The checks the command line asks for: off, or started with its identity flags. Logs
/// a warning when the address rule is off.
pub fn from_args(
    args: &crate::cli::Args,
    log: Arc<Log>,
) -> Result<IdentityChecks, signet_identity::Error> {
    if !args.identity_checks {
        return Ok(IdentityChecks::off());
    }
    let checker = Checker::new(args.identity.config()?)?;
    if args.identity.identity_allow_private {
        tracing::warn!(
            "--identity-allow-private is on: claims may point this server at loopback and \
             private addresses; use it only for tests and private deployments"
        );
    }
    Ok(IdentityChecks::start(
        log,
        checker,
        IdentitySettings {
            recheck: args.identity_recheck,
            ..IdentitySettings::default()
        },
    ))
}

/// `--identity-recheck`: `30s`, `15m`, `24h`, or a bare number of hours; at least 1 s.
pub fn recheck_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.as_bytes().last() {
        Some(b's') => (&s[..s.len() - 1], 1),
        Some(b'm') => (&s[..s.len() - 1], 60),
        Some(b'h') => (&s[..s.len() - 1], 3600),
        _ => (s, 3600),
    };
    let bad = || {
        format!(
            "{s:?} is not a duration; give a whole number with s, m or h (30s, 15m, 24h), or \
             a bare number of hours"
        )
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = number.parse().map_err(|_| bad())?;
    let secs = n.checked_mul(unit).ok_or_else(bad)?;
    if secs == 0 {
        return Err("the recheck interval must be at least 1 s".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_yield_to_submissions() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut pace = Pace::new(0, ms(250), ms(100), t0);
        // Quiet from the start: every check starts at once.
        for _ in 0..5 {
            assert_eq!(pace.poll(0, t0), None);
        }
        // Submissions arrive: one check, then the next only a gap later.
        assert_eq!(pace.poll(7, t0 + ms(10)), None);
        assert_eq!(pace.poll(9, t0 + ms(20)), Some(ms(90)));
        assert_eq!(pace.poll(12, t0 + ms(60)), Some(ms(50)));
        assert_eq!(pace.poll(15, t0 + ms(110)), None);
        assert_eq!(pace.poll(15, t0 + ms(120)), Some(ms(90)));
        // The last submission came at 110 ms: still busy at 300 ms (one check, then a
        // gap), and quiet from 360 ms on, with no gap.
        assert_eq!(pace.poll(15, t0 + ms(300)), None);
        assert_eq!(pace.poll(15, t0 + ms(300)), Some(ms(100)));
        assert_eq!(pace.poll(15, t0 + ms(360)), None);
        assert_eq!(pace.poll(15, t0 + ms(360)), None);
        assert_eq!(pace.poll(15, t0 + ms(361)), None);
    }

    #[test]
    fn recheck_durations() {
        let cases: &[(&str, Result<u64, &str>)] = &[
            ("30s", Ok(30)),
            ("15m", Ok(900)),
            ("24h", Ok(86_400)),
            ("24", Ok(86_400)),
            ("1", Ok(3600)),
            ("0", Err("at least 1 s")),
            ("0s", Err("at least 1 s")),
            ("", Err("not a duration")),
            ("h", Err("not a duration")),
            ("1.5h", Err("not a duration")),
            ("-1h", Err("not a duration")),
            ("1d", Err("not a duration")),
            ("99999999999999999999h", Err("not a duration")),
            ("18446744073709551615h", Err("not a duration")),
        ];
        for (input, want) in cases {
            match (recheck_duration(input), want) {
                (Ok(d), Ok(secs)) => assert_eq!(d.as_secs(), *secs, "{input:?}"),
                (Err(e), Err(needle)) => assert!(e.contains(needle), "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
