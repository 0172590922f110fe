//! Latency percentiles and the single-core `verify_strict` rate, the yardstick every
//! figure is divided by.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde::Serialize;

/// The nearest-rank percentile `p` (0 < p ≤ 100, in tenths of a percent: 990 is p99) of
/// `sorted`, which must be sorted ascending. `None` for an empty slice.
///
/// Nearest rank is the smallest value such that at least p% of the samples are at or
/// below it, so every reported percentile is a latency that was really observed.
pub fn percentile<T: Copy>(sorted: &[T], per_mille: u64) -> Option<T> {
    let n = sorted.len() as u64;
    if n == 0 {
        return None;
    }
    let per_mille = per_mille.clamp(1, 1000);
    // ceil(p × n / 1000), at least 1: the 1-based rank of the answer.
    let rank = (per_mille * n).div_ceil(1000).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// The largest observed.
    pub max: f64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Latency {
    /// Summarises latencies given in microseconds; all zero when there are none.
    pub fn from_micros(mut samples: Vec<u64>) -> Latency {
        samples.sort_unstable();
        let ms = |p| percentile(&samples, p).map_or(0.0, |us| us as f64 / 1000.0);
        let mean = if samples.is_empty() {
            0.0
        } else {
            samples.iter().map(|&us| us as f64).sum::<f64>() / samples.len() as f64 / 1000.0
        };
        Latency {
            p50: ms(500),
            p90: ms(900),
            p99: ms(990),
            max: ms(1000),
            mean,
        }
    }
}

/// Measures how many Ed25519 signatures one core verifies per second with
/// ed25519-dalek's `verify_strict` and an already decoded key, by verifying one fixed
/// signature over a typical entry body for about `duration`.
///
/// This is the bare yardstick the ratios are defined against: the log's own check costs
/// more (it also decodes the key and parses the entry), so the ratios are conservative.
pub fn verify_strict_rate(duration: Duration) -> Result<f64> {
    use ed25519_dalek::Signer as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let verifier = key.verifying_key();
    // About the size of an endorsement body, so that hashing costs what it costs in the log.
    let message = format!(
        "signet/endorsement/v1\nletter sha256:{}\nname Bench Signer 1234567\ntime 2026-01-01T00:00:00Z\nkey signet-bench-yardstick+00000000+{}\n",
        "ab".repeat(32),
        "A".repeat(44)
    );
    let signature = key.sign(message.as_bytes());
    let start = Instant::now();
    let mut verified: u64 = 0;
    // Bounded by time (checked every 64 verifications) and, as a backstop, by count.
    while verified < 100_000_000 {
        for _ in 0..64 {
            verifier
                .verify_strict(std::hint::black_box(message.as_bytes()), &signature)
                .context("the yardstick signature did not verify")?;
        }
        verified += 64;
        if start.elapsed() >= duration {
            break;
        }
    }
    Ok(verified as f64 / start.elapsed().as_secs_f64())
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn check(samples: &[u64], per_mille: u64, expected: Option<u64>) {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        assert_eq!(
            percentile(&sorted, per_mille),
            expected,
            "p{per_mille}‰ of {samples:?}"
        );
    }

    #[test]
    fn nearest_rank_percentiles() {
        check(&[], 500, None);
        check(&[42], 500, Some(42));
        check(&[42], 1000, Some(42));
        check(&[1, 2], 500, Some(1));
        check(&[1, 2, 3], 500, Some(2));
        check(&[1, 2, 3, 4], 500, Some(2));
        check(&[4, 3, 2, 1, 5], 900, Some(5));
        // 1..=100: p50 is 50, p90 is 90, p99 is 99, max is 100.
        let hundred: Vec<u64> = (1..=100).collect();
        check(&hundred, 500, Some(50));
        check(&hundred, 900, Some(90));
        check(&hundred, 990, Some(99));
        check(&hundred, 1000, Some(100));
        // 1..=1000: p99 is the 990th value; one slow outlier is only the max.
        let mut thousand: Vec<u64> = (1..=1000).collect();
        thousand[999] = 1_000_000;
        check(&thousand, 990, Some(990));
        check(&thousand, 1000, Some(1_000_000));
        // Out-of-range percentiles are clamped, not a panic.
        check(&hundred, 0, Some(1));
        check(&hundred, 5000, Some(100));
    }

    #[test]
    fn latency_summary_in_milliseconds() {
        let lat = Latency::from_micros(vec![3000, 1000, 2000, 4000]);
        assert_eq!(lat.p50, 2.0);
        assert_eq!(lat.p90, 4.0);
        assert_eq!(lat.max, 4.0);
        assert_eq!(lat.mean, 2.5);
        assert_eq!(Latency::from_micros(Vec::new()).max, 0.0);
    }

    #[test]
    fn verify_rate_is_positive() {
        let rate = verify_strict_rate(Duration::from_millis(20)).unwrap();
        assert!(rate > 100.0, "{rate}");
    }
}
