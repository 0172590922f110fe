//! Request metrics: latency per route, answers per status, and errors per code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use signet_log::metrics::{Histogram, LATENCY_BOUNDS};

/// What the HTTP layer measures. Routes are the matched route patterns, so the label
/// sets stay small whatever paths clients send.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    latency: Mutex<BTreeMap<String, Arc<Histogram>>>,
    responses: Mutex<BTreeMap<(String, u16), u64>>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
}

impl ServerMetrics {
    /// Records one answered request.
    pub fn record(&self, route: &str, status: u16, seconds: f64, error: Option<&'static str>) {
        let h = self
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(route.to_owned())
            .or_insert_with(|| Arc::new(Histogram::new(LATENCY_BOUNDS)))
            .clone();
        h.observe(seconds);
        *self
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route.to_owned(), status))
            .or_default() += 1;
        if let Some(code) = error {
            *self
                .errors
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(code)
                .or_default() += 1;
        }
    }

    /// Records a request refused before routing (rate limit).
    pub fn record_error(&self, code: &'static str) {
        *self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(code)
            .or_default() += 1;
    }

    /// Appends the metrics in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP signet_http_request_seconds Time to answer a request, by route."
        );
        let _ = writeln!(out, "# TYPE signet_http_request_seconds histogram");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            h.render(
                out,
                "signet_http_request_seconds",
                &format!("route=\"{}\"", escape(route)),
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_http_responses_total Answers by route and status."
        );
        let _ = writeln!(out, "# TYPE signet_http_responses_total counter");
        for ((route, status), n) in self
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "signet_http_responses_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_rejections_total Error answers by reason."
        );
        let _ = writeln!(out, "# TYPE signet_rejections_total counter");
        for (code, n) in self
            .errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(out, "signet_rejections_total{{reason=\"{code}\"}} {n}");
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
