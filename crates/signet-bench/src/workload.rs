//! The entries a benchmark submits, generated and signed before any timing starts.
//!
//! With `K` signers and `N` entries, entry `i` belongs to signer `i mod K` and is that
//! signer's entry number `r = i div K` (its *round*). A signer endorses in even rounds and
//! withdraws in odd ones (endorse → withdraw → endorse …), and its round-`r` entry is
//! dated `start + r` seconds, so each of its entries is strictly later than the one
//! before (DESIGN §3). `start` is `rounds + 1` seconds before now, so the last entry is
//! still in the past and far inside the server's 10-minute future limit.
//!
//! Every entry is accepted as long as each signer's entries arrive in order. The
//! scheduler guarantees that by giving all of a signer's entries to one worker
//! ([`worker_queues`]), which sends them one after another while other workers send
//! other signers' entries concurrently.

use std::thread;

use anyhow::{Context as _, Result, anyhow};
use signet_core::entry::{Endorsement, Withdrawal};
use signet_core::keys::SignatureType;
use signet_core::{KeyName, LetterId, SigningKey, Statement, Timestamp};

/// The signed entries of one benchmark run, in global order.
#[derive(Debug)]
pub struct Workload {
    /// The exact bytes of each entry; entry `i` is signer `i % signers`'s round `i / signers`.
    pub entries: Vec<Vec<u8>>,
    /// The number of distinct signers (at most the number of entries).
    pub signers: usize,
}

impl Workload {
    /// The signer of entry `i`.
    pub fn signer_of(&self, i: usize) -> usize {
        i % self.signers.max(1)
    }
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
) -> Result<Statement> {
    let time = Timestamp::from_unix(start + round)
        .with_context(|| format!("the time of signer {signer}'s entry {round}"))?;
    let key = key.verifier();
    Ok(if round.is_multiple_of(2) {
        Statement::Endorsement(Endorsement {
            letter,
            name: format!("Bench Signer {signer}"),
            affiliation: Some("signet-bench load test".to_owned()),
            role: None,
            identity: Vec::new(),
            time,
            key,
        })
    } else {
        Statement::Withdrawal(Withdrawal { letter, time, key })
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
                let entry = statement(letter, key, signer, round, start)?
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

/// Splits the entry indexes `0..count` among `workers` workers so that all of a
/// signer's entries go to the same worker, in order. Each queue is ascending, which is
/// both the signer's order and the global schedule order. Workers with nothing to do
/// get no queue.
pub fn worker_queues(count: usize, signers: usize, workers: usize) -> Vec<Vec<usize>> {
    let signers = signers.clamp(1, count.max(1));
    let workers = workers.clamp(1, signers);
    let mut queues = vec![Vec::with_capacity(count / workers + 1); workers];
    for i in 0..count {
        queues[(i % signers) % workers].push(i);
    }
    queues.retain(|q| !q.is_empty());
    queues
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use signet_core::entry::{Language, LetterRegistration, Slug};
    use signet_core::state::{self, Decision, LogState, SignerRecord};
    use signet_core::{Entry, Letter};

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
        let work = generate(letter, count, signers, NOW, 3).unwrap();
        assert_eq!(work.entries.len(), count);
        assert_eq!(work.signers, expected_signers);

        let distinct: HashSet<&Vec<u8>> = work.entries.iter().collect();
        assert_eq!(distinct.len(), count, "entries must be distinct");

        let parsed: Vec<Entry> = work
            .entries
            .iter()
            .map(|bytes| Entry::parse(bytes).unwrap())
            .collect();

        // Per signer, in order, through the core's decision function.
        let mut records: HashMap<[u8; 32], SignerRecord> = HashMap::new();
        let mut seen_signers = HashSet::new();
        for (i, entry) in parsed.iter().enumerate() {
            let statement = entry.statement();
            assert_eq!(statement.letter(), letter);
            let time = statement.time();
            assert!(time >= Timestamp::MIN);
            assert!(
                time.unix() < NOW,
                "entry {i} is dated {time}, not before now"
            );
            let pk = *statement.key().public_key();
            seen_signers.insert(pk);
            let decision = state::decide(records.get(&pk), statement, i as u64 + 1).unwrap();
            match decision {
                Decision::Accept(record) => records.insert(pk, record),
                Decision::Conflict { active_index } => {
                    panic!("entry {i} conflicts with the active entry {active_index}")
                }
            };
        }
        assert_eq!(seen_signers.len(), expected_signers);

        // The whole log, as an auditor replays it: one registration, then the entries.
        let log_key = SigningKey::from_seed(
            KeyName::parse("bench.example/log").unwrap(),
            SignatureType::Ed25519,
            &[1; 32],
        );
        let registration = Statement::Letter(LetterRegistration {
            letter,
            slug: Slug::parse("bench").unwrap(),
            title: "Bench".to_owned(),
            language: Language::parse("en").unwrap(),
            time: Timestamp::from_unix(NOW - 1_000_000).unwrap(),
            key: log_key.verifier(),
        })
        .sign(&log_key)
        .unwrap();
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
        assert!(generate(letter(), 3, 0, NOW, 1).is_err());
    }

    #[test]
    fn start_time_is_in_the_past_and_not_before_2000() {
        assert_eq!(start_time(NOW, 10), NOW - 11);
        assert_eq!(
            start_time(Timestamp::MIN.unix() + 5, 10),
            Timestamp::MIN.unix()
        );
    }

    /// Every entry is in exactly one queue, each queue is ascending, and each signer's
    /// entries are all in one queue.
    fn check_queues(count: usize, signers: usize, workers: usize, expected_queues: usize) {
        let queues = worker_queues(count, signers, workers);
        assert_eq!(queues.len(), expected_queues, "{count} {signers} {workers}");
        let mut all: Vec<usize> = queues.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..count).collect::<Vec<_>>());
        let effective = signers.clamp(1, count.max(1));
        let mut owner = HashMap::new();
        for (w, q) in queues.iter().enumerate() {
            assert!(
                q.windows(2).all(|p| p[0] < p[1]),
                "queue {w} is not ascending"
            );
            for &i in q {
                let previous = owner.insert(i % effective, w);
                assert!(
                    previous.is_none_or(|p| p == w),
                    "signer {} split",
                    i % effective
                );
            }
        }
    }

    #[test]
    fn queues_keep_each_signer_on_one_worker() {
        check_queues(100, 10, 4, 4);
        check_queues(100, 3, 64, 3); // fewer signers than workers: only 3 queues
        check_queues(50_000, 10_000, 64, 64);
        check_queues(5, 100, 8, 5);
        check_queues(0, 10, 4, 0);
    }
}
