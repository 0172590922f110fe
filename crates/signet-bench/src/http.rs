//! The few HTTP calls the benchmark makes, over blocking `ureq` agents.
//!
//! Each worker thread owns one agent, so each keeps its own keep-alive connection and no
//! worker waits on another's connection pool. Redirects are never followed: the
//! loopback check in `target` must hold for every request, not only the first.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::target::ServerUrl;

/// The largest answer body read. Acknowledgements and proofs are a few KiB; `/v1/log`
/// lists letters.
const MAX_BODY: u64 = 1 << 20;

/// A new agent: keep-alive, no redirects, every status returned as a response, and a
/// deadline on each phase of a request so that no call can hang the benchmark.
///
/// The deadlines are set per phase (connect, send, receive), not as a global or
/// per-call timeout: ureq 3.5's default resolver spawns a thread for every request
/// whose name resolution has a deadline, even on a pooled connection
/// (`DefaultResolver::resolve` and `resolve_async` in ureq's `unversioned/resolver.rs`).
/// Measured here, that cost the generator about 150 µs of CPU per request, more than
/// the server spent answering a proof request. Loopback names resolve without DNS
/// (an IP literal is parsed; `localhost` comes from the hosts file), so resolution needs
/// no deadline of its own.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(None)
        .timeout_per_call(None)
        .timeout_resolve(None)
        .timeout_connect(Some(timeout))
        .timeout_send_request(Some(timeout))
        .timeout_send_body(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_recv_body(Some(timeout))
        .user_agent("signet-bench")
        .no_delay(true)
        .build()
        .new_agent()
}

/// A server's answer: status, body and, for `429`/`503`, the `Retry-After` seconds.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// `Retry-After` in whole seconds, when present and numeric.
    pub retry_after: Option<u64>,
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Result<Answer> {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .context("reading the answer")?;
    Ok(Answer {
        status,
        body,
        retry_after,
    })
}

/// `POST /v1/endorsements` with `entry` as `text/plain`.
pub fn submit(agent: &ureq::Agent, server: &ServerUrl, entry: &[u8]) -> Result<Answer> {
    post(agent, server, "/v1/endorsements", entry)
}

/// `POST path` with `body` as `text/plain`.
pub fn post(agent: &ureq::Agent, server: &ServerUrl, path: &str, body: &[u8]) -> Result<Answer> {
    let response = agent
        .post(server.join(path))
        .header("content-type", "text/plain; charset=utf-8")
        .send(body)?;
    answer(response)
}

/// `GET path`.
pub fn get(agent: &ureq::Agent, server: &ServerUrl, path: &str) -> Result<Answer> {
    let response = agent.get(server.join(path)).call()?;
    answer(response)
}

/// The parts of `GET /v1/log` the benchmark uses.
#[derive(Debug, Deserialize)]
pub struct LogInfo {
    /// The log's origin.
    pub origin: String,
    /// The log's verifier key, as the server states it (never trusted for verification).
    pub vkey: String,
    /// The current tree size.
    pub size: u64,
    /// The hosted letters.
    pub letters: Vec<LetterInfo>,
}

/// One hosted letter in `GET /v1/log`.
#[derive(Debug, Deserialize)]
pub struct LetterInfo {
    /// `sha256:<hex>`.
    pub id: String,
    /// Its slug.
    pub slug: String,
}

/// `GET /v1/log`, with an error that says how to start a server when none answers.
pub fn log_info(server: &ServerUrl) -> Result<LogInfo> {
    let agent = agent(Duration::from_secs(10));
    let answer = get(&agent, server, "/v1/log").with_context(|| {
        format!(
            "cannot reach a Signet server at {}; start one with \
             `cargo run --release -p signet-server -- --rate-limit 0`",
            server.as_str()
        )
    })?;
    if answer.status != 200 {
        bail!(
            "GET {} answered {}: {}",
            server.join("/v1/log"),
            answer.status,
            answer.body.trim()
        );
    }
    serde_json::from_str(&answer.body).with_context(|| {
        format!(
            "GET {} is not the JSON of docs/http-api.md",
            server.join("/v1/log")
        )
    })
}
