//! The entries a benchmark submits, generated and signed before any timing starts.
//!
//! With `K` signers and `N` entries, entry `i` belongs to signer `i mod K` and is that
//! signer's entry number `r = i div K` (its *round*). A signer endorses in even rounds and
//! withdraws in odd ones (endorse → withdraw → endorse …), and its round-`r` entry is
//! dated `start + r` seconds, so each of its entries is strictly later than the one
//! before (see docs/protocol.md, *Rules of state*). `start` is `rounds + 1` seconds
//! before now, so the last entry is still in the past and far inside the server's
//! 10-minute future limit.
//!
//! Every entry is accepted as long as each signer's entries arrive in order. The
//! [`Dispatcher`] guarantees that: it hands entries out in global order to whichever
//! worker is free, but holds an entry back until its signer's previous entry has been
//! acknowledged. Different signers' entries are sent concurrently, and no worker idles
//! behind a slow request of another signer, which would distort latency.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use signet_core::entry::{Endorsement, IdentityClaim};
use signet_core::keys::SignatureType;
use signet_core::{KeyName, LetterId, SigningKey, Statement, Timestamp};
use signet_testkit::entries::{unsigned_endorsement, unsigned_withdrawal};

/// The identity claims signer `n` (whose key is the second argument) makes in each of its
/// endorsements; called once per endorsement, while the workload is generated.
pub type ClaimsFn = dyn Fn(usize, &SigningKey) -> Vec<IdentityClaim> + Send + Sync;

/// The claims every endorsement of a workload carries, if any.
#[derive(Clone, Default)]
pub struct Claims(pub Option<std::sync::Arc<ClaimsFn>>);

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Claims(some)"
        } else {
            "Claims(none)"
        })
    }
}

/// The signed entries of one benchmark run, in global order.
#[derive(Debug)]
pub struct Workload {
    /// The exact bytes of each entry; entry `i` is signer `i % signers`'s round `i / signers`.
    pub entries: Vec<Vec<u8>>,
    /// The number of distinct signers (at most the number of entries).
    pub signers: usize,
}

/// `count` fresh Ed25519 signing keys from the operating system's random generator.
pub fn signer_keys(count: usize) -> Result<Vec<SigningKey>> {
    let name = KeyName::parse("signet-bench").context("the signers' key name")?;
    (0..count)
        .map(|_| {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| anyhow!("cannot get random bytes for a signer's key: {e}"))?;
            Ok(SigningKey::from_seed(
                name.clone(),
                SignatureType::Ed25519,
                &seed,
            ))
        })
        .collect()
}

/// The statement signer `signer` (whose key is `key`) makes in round `round`.
pub fn statement(
    letter: LetterId,
    key: &SigningKey,
    signer: usize,
    round: u64,
    start: u64,
    claims: &Claims,
) -> Result<Statement> {
    let time = Timestamp::from_unix(start + round)
        .with_context(|| format!("the time of signer {signer}'s entry {round}"))?;
    Ok(if round.is_multiple_of(2) {
        Statement::Endorsement(Endorsement {
            affiliation: Some("signet-bench load test".to_owned()),
            identity: claims.0.as_ref().map_or_else(Vec::new, |f| f(signer, key)),
            ..unsigned_endorsement(key, letter, &format!("Bench Signer {signer}"), time)
        })
    } else {
        Statement::Withdrawal(unsigned_withdrawal(key, letter, time))
    })
}

/// The Unix time of every signer's round-0 entry, for `rounds` rounds ending before `now`.
pub fn start_time(now: u64, rounds: u64) -> u64 {
    now.saturating_sub(rounds + 1).max(Timestamp::MIN.unix())
}

/// Generates and signs `count` entries for `letter` with `signers` fresh keys (at most
/// `count` are used), on `threads` threads, dated relative to `now` (Unix seconds).
pub fn generate(
    letter: LetterId,
    count: usize,
    signers: usize,
    now: u64,
    threads: usize,
    claims: &Claims,
) -> Result<Workload> {
    if signers == 0 && count > 0 {
        return Err(anyhow!("--signers must be at least 1"));
    }
    let signers = signers.min(count);
    let keys = signer_keys(signers)?;
    let rounds = count.div_ceil(signers.max(1)) as u64;
    let start = start_time(now, rounds);
    let threads = threads.clamp(1, 64);
    let chunk = count.div_ceil(threads).max(1);
    let sign_range = |from: usize, to: usize| -> Result<Vec<Vec<u8>>> {
        (from..to)
            .map(|i| {
                let (signer, round) = (i % signers, (i / signers) as u64);
                let key = &keys[signer];
                let entry = statement(letter, key, signer, round, start, claims)?
                    .sign(key)
                    .with_context(|| format!("signing signer {signer}'s entry {round}"))?;
                Ok(entry.bytes().to_vec())
            })
            .collect()
    };
    let parts = thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|from| {
                let sign_range = &sign_range;
                scope.spawn(move || sign_range(from, (from + chunk).min(count)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow!("a signing thread panicked"))
                    .and_then(|r| r)
            })
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(Workload {
        entries: parts.into_iter().flatten().collect(),
        signers,
    })
}

/// The state of an entry in the [`Dispatcher`].
const PENDING: u8 = 0;
const LOGGED: u8 = 1;
const GIVEN_UP: u8 = 2;

/// How often a worker looks again at an entry whose signer's previous entry is in flight.
const POLL: Duration = Duration::from_micros(200);

/// What a worker is to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticket {
    /// Send entry `i`, then report it with [`Dispatcher::finish`].
    Send(usize),
    /// Entry `i` is not to be sent: its signer's previous entry was given up (its state
    /// rules would refuse it now), or the deadline passed while it waited.
    Skip(usize),
}

/// Hands out the entries `0..count` of a [`Workload`] in order, one at a time, to any
/// free worker, never before the same signer's previous entry (`i - signers`) is logged.
#[derive(Debug)]
pub struct Dispatcher {
    next: AtomicUsize,
    signers: usize,
    state: Vec<AtomicU8>,
}

impl Dispatcher {
    /// A dispatcher for `count` entries by `signers` signers, laid out as in [`Workload`].
    pub fn new(count: usize, signers: usize) -> Dispatcher {
        Dispatcher {
            next: AtomicUsize::new(0),
            signers: signers.max(1),
            state: (0..count).map(|_| AtomicU8::new(PENDING)).collect(),
        }
    }

    /// The next entry, or `None` when all have been handed out. Waits while the signer's
    /// previous entry is in flight, but not past `deadline`.
    pub fn take(&self, deadline: Instant) -> Option<Ticket> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.state.len() {
            return None;
        }
        let Some(previous) = i.checked_sub(self.signers) else {
            return Some(Ticket::Send(i));
        };
        // The previous entry was handed out before this one, so some worker holds it and
        // finishes it within its bounded retries; the deadline bounds the wait anyway.
        loop {
            match self.state[previous].load(Ordering::Acquire) {
                LOGGED => return Some(Ticket::Send(i)),
                GIVEN_UP => break,
                _ if Instant::now() >= deadline => break,
                _ => thread::sleep(POLL),
            }
        }
        self.finish(i, false);
        Some(Ticket::Skip(i))
    }

    /// Records whether entry `i` was logged, releasing its signer's next entry.
    pub fn finish(&self, i: usize, logged: bool) {
        let state = if logged { LOGGED } else { GIVEN_UP };
        self.state[i].store(state, Ordering::Release);
    }

    /// Entries never handed out (after an early stop).
    pub fn untaken(&self) -> usize {
        self.state
            .len()
            .saturating_sub(self.next.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use signet_core::state::LogState;
    use signet_core::{Entry, Letter};
    use signet_testkit::entries::{signed, unix_time, unsigned_registration};

    use super::*;

    const NOW: u64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn letter() -> LetterId {
        Letter::from_bytes(b"A letter for the load generator's tests.\n")
            .unwrap()
            .id()
    }

    /// Generates `count` entries with `signers` signers and checks that every entry
    /// parses, that they are distinct, that each signer's sequence is accepted by the
    /// core's state machine in order, that the whole log replays without error, and that
    /// every time is in the past of `NOW` and not before 2000.
    fn check(count: usize, signers: usize, expected_signers: usize) {
        let letter = letter();
        let work = generate(letter, count, signers, NOW, 3, &Claims::default()).unwrap();
        assert_eq!(work.entries.len(), count);
        assert_eq!(work.signers, expected_signers);

        let distinct: HashSet<&Vec<u8>> = work.entries.iter().collect();
        assert_eq!(distinct.len(), count, "entries must be distinct");

        let parsed: Vec<Entry> = work
            .entries
            .iter()
            .map(|bytes| Entry::parse(bytes).unwrap())
            .collect();

        // Per entry; the order per signer is checked by the core's decision function in
        // the replay below.
        let mut seen_signers = HashSet::new();
        for (i, entry) in parsed.iter().enumerate() {
            let statement = entry.statement();
            assert_eq!(statement.letter(), Some(letter));
            let time = statement.time();
            assert!(time >= Timestamp::MIN);
            assert!(
                time.unix() < NOW,
                "entry {i} is dated {time}, not before now"
            );
            let pk = *statement.key().public_key();
            seen_signers.insert(pk);
        }
        assert_eq!(seen_signers.len(), expected_signers);

        // The whole log, as an auditor replays it: one registration, then the entries.
        let log_key = SigningKey::from_seed(
            KeyName::parse("bench.example/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        );
        let registration =
            unsigned_registration(&log_key, letter, "bench", unix_time(NOW - 1_000_000));
        let registration =
            Entry::parse(&signed(Statement::Letter(registration), &log_key)).unwrap();
        let mut log = LogState::new(log_key.verifier());
        log.apply(&registration).unwrap();
        for (i, entry) in parsed.iter().enumerate() {
            log.apply(entry)
                .unwrap_or_else(|e| panic!("entry {i} is refused: {e}"));
        }
        let rounds = count.div_ceil(expected_signers.max(1));
        let withdrawn_last = rounds.is_multiple_of(2);
        let (active, withdrawn) = log.counts(&letter);
        assert_eq!(active + withdrawn, expected_signers as u64);
        if count.is_multiple_of(expected_signers.max(1)) && count > 0 {
            // Every signer did the same number of rounds.
            let expected = if withdrawn_last {
                (0, active + withdrawn)
            } else {
                (active + withdrawn, 0)
            };
            assert_eq!((active, withdrawn), expected);
        }
    }

    #[test]
    fn generated_entries_are_accepted_in_order() {
        check(1, 1, 1);
        check(5, 1, 1); // one signer: endorse, withdraw, endorse, withdraw, endorse
        check(10, 3, 3);
        check(12, 4, 4);
        check(7, 100, 7); // more signers than entries: one endorsement each
        check(0, 5, 0);
    }

    #[test]
    fn zero_signers_is_refused() {
        assert!(generate(letter(), 3, 0, NOW, 1, &Claims::default()).is_err());
    }

    #[test]
    fn start_time_is_in_the_past_and_not_before_2000() {
        assert_eq!(start_time(NOW, 10), NOW - 11);
        assert_eq!(
            start_time(Timestamp::MIN.unix() + 5, 10),
            Timestamp::MIN.unix()
        );
    }

    /// Runs `count` entries by `signers` signers through a dispatcher with `workers`
    /// threads that "send" each entry by sleeping a little (longer for some, to reorder
    /// them), and checks that every entry is sent exactly once and that each signer's
    /// entries finish in round order. Entries listed in `refuse` are not logged: the
    /// signer's later entries must then be skipped, not sent.
    fn check_dispatch(count: usize, signers: usize, workers: usize, refuse: &[usize]) {
        let dispatcher = Dispatcher::new(count, signers);
        let finished = std::sync::Mutex::new(Vec::new());
        let deadline = Instant::now() + Duration::from_secs(60);
        thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    while let Some(ticket) = dispatcher.take(deadline) {
                        match ticket {
                            Ticket::Send(i) => {
                                thread::sleep(Duration::from_micros(50 * (i % 7) as u64));
                                let logged = !refuse.contains(&i);
                                finished.lock().unwrap().push((i, logged));
                                dispatcher.finish(i, logged);
                            }
                            Ticket::Skip(i) => finished.lock().unwrap().push((i, false)),
                        }
                    }
                });
            }
        });
        let finished = finished.into_inner().unwrap();
        let mut all: Vec<usize> = finished.iter().map(|&(i, _)| i).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..count).collect::<Vec<_>>(),
            "each entry exactly once"
        );
        let mut last_round: HashMap<usize, usize> = HashMap::new();
        let mut given_up = HashSet::new();
        for &(i, logged) in &finished {
            let (signer, round) = (i % signers, i / signers);
            if let Some(&previous) = last_round.get(&signer) {
                assert_eq!(
                    previous + 1,
                    round,
                    "signer {signer}: round {round} after {previous}"
                );
            } else {
                assert_eq!(round, 0, "signer {signer} starts at round {round}");
            }
            last_round.insert(signer, round);
            if given_up.contains(&signer) {
                assert!(
                    !logged,
                    "signer {signer}'s entry {i} was sent after a refusal"
                );
            }
            if !logged {
                given_up.insert(signer);
            }
        }
        assert_eq!(dispatcher.untaken(), 0);
    }

    #[test]
    fn dispatch_keeps_each_signers_entries_in_order() {
        check_dispatch(100, 10, 4, &[]);
        check_dispatch(100, 3, 16, &[]); // fewer signers than workers
        check_dispatch(2000, 50, 8, &[]);
        check_dispatch(5, 100, 8, &[]);
        check_dispatch(0, 10, 4, &[]);
        check_dispatch(60, 6, 4, &[13, 20]); // signers 1 and 2 give up after a refusal
    }

    #[test]
    fn dispatch_skips_at_the_deadline() {
        let dispatcher = Dispatcher::new(4, 2);
        let past = Instant::now();
        assert_eq!(dispatcher.take(past), Some(Ticket::Send(0)));
        assert_eq!(dispatcher.take(past), Some(Ticket::Send(1)));
        dispatcher.finish(1, true);
        // Entry 0 is still in flight and the deadline has passed: entry 2 is skipped.
        assert_eq!(dispatcher.take(past), Some(Ticket::Skip(2)));
        assert_eq!(dispatcher.take(past), Some(Ticket::Send(3)));
        assert_eq!(dispatcher.take(past), None);
    }
}
