//! Counters and histograms written in the Prometheus text exposition format (0.0.4).
//!
//! A handful of atomics is all the log and the server need, so this is written out
//! rather than pulling in a metrics framework.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A histogram with fixed upper bounds.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    count: AtomicU64,
    /// The sum, in millionths of the unit, so that it can be an integer atomic.
    sum_micro: AtomicU64,
}

/// Bounds for latencies in seconds, from 100 µs to 10 s.
pub const LATENCY_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

/// Bounds for batch sizes.
pub const SIZE_BOUNDS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

impl Histogram {
    /// A histogram with the given upper bounds (ascending).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micro: AtomicU64::new(0),
        }
    }

    /// Records one observation.
    pub fn observe(&self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micro
            .fetch_add((value.max(0.0) * 1e6) as u64, Ordering::Relaxed);
    }

    /// Appends the histogram in the text format; `labels` is empty or `key="value"`
    /// pairs without braces.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let sum = self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// What the sequencer measures.
#[derive(Debug)]
pub struct LogMetrics {
    /// Entries appended, by kind: letter registrations.
    pub letters: Counter,
    /// Entries appended: endorsements.
    pub endorsements: Counter,
    /// Entries appended: withdrawals.
    pub withdrawals: Counter,
    /// Submissions answered with an existing entry.
    pub duplicates: Counter,
    /// Submissions refused by a rule of state or an unregistered letter.
    pub rejected: Counter,
    /// Submissions refused as conflicting with an active endorsement.
    pub conflicts: Counter,
    /// Submissions refused because the pool was full.
    pub overloaded: Counter,
    /// Batches whose storage write failed.
    pub failed_batches: Counter,
    /// Submissions per integrated batch.
    pub batch_size: Histogram,
    /// Time from a batch's start to its answers: decide, write tiles, checkpoint (the
    /// catalog records the batch after that).
    pub integration_seconds: Histogram,
}

impl Default for LogMetrics {
    fn default() -> Self {
        LogMetrics {
            letters: Counter::default(),
            endorsements: Counter::default(),
            withdrawals: Counter::default(),
            duplicates: Counter::default(),
            rejected: Counter::default(),
            conflicts: Counter::default(),
            overloaded: Counter::default(),
            failed_batches: Counter::default(),
            batch_size: Histogram::new(SIZE_BOUNDS),
            integration_seconds: Histogram::new(LATENCY_BOUNDS),
        }
    }
}

impl LogMetrics {
    /// Appends every metric of the log, with the current tree size, in the text format.
    pub fn render(&self, out: &mut String, tree_size: u64) {
        let _ = writeln!(
            out,
            "# HELP signet_tree_size Entries in the latest durable checkpoint."
        );
        let _ = writeln!(out, "# TYPE signet_tree_size gauge");
        let _ = writeln!(out, "signet_tree_size {tree_size}");
        let _ = writeln!(
            out,
            "# HELP signet_entries_total Entries appended by this process, by kind."
        );
        let _ = writeln!(out, "# TYPE signet_entries_total counter");
        for (kind, c) in [
            ("letter", &self.letters),
            ("endorsement", &self.endorsements),
            ("withdrawal", &self.withdrawals),
        ] {
            let _ = writeln!(out, "signet_entries_total{{kind=\"{kind}\"}} {}", c.get());
        }
        let _ = writeln!(
            out,
            "# HELP signet_sequencer_outcomes_total Submissions the sequencer did not append, by reason."
        );
        let _ = writeln!(out, "# TYPE signet_sequencer_outcomes_total counter");
        for (reason, c) in [
            ("duplicate", &self.duplicates),
            ("state", &self.rejected),
            ("conflict", &self.conflicts),
            ("overloaded", &self.overloaded),
        ] {
            let _ = writeln!(
                out,
                "signet_sequencer_outcomes_total{{reason=\"{reason}\"}} {}",
                c.get()
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_failed_batches_total Batches whose durable write failed."
        );
        let _ = writeln!(out, "# TYPE signet_failed_batches_total counter");
        let _ = writeln!(
            out,
            "signet_failed_batches_total {}",
            self.failed_batches.get()
        );
        let _ = writeln!(
            out,
            "# HELP signet_batch_size Submissions per integrated batch."
        );
        let _ = writeln!(out, "# TYPE signet_batch_size histogram");
        self.batch_size.render(out, "signet_batch_size", "");
        let _ = writeln!(
            out,
            "# HELP signet_integration_seconds Time to integrate one batch durably."
        );
        let _ = writeln!(out, "# TYPE signet_integration_seconds histogram");
        self.integration_seconds
            .render(out, "signet_integration_seconds", "");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_text() {
        let h = Histogram::new(&[1.0, 2.0]);
        h.observe(0.5);
        h.observe(1.5);
        h.observe(3.0);
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert_eq!(
            out,
            "x_bucket{a=\"b\",le=\"1\"} 1\nx_bucket{a=\"b\",le=\"2\"} 2\nx_bucket{a=\"b\",le=\"+Inf\"} 3\n\
             x_sum{a=\"b\"} 5\nx_count{a=\"b\"} 3\n"
        );
    }
}
