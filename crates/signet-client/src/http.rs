//! The HTTP side: one [`Client`] per server (or mirror), with timeouts, size limits,
//! keep-alive connections shared between threads, and counters of what it downloaded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use signet_core::TileId;
use signet_core::tiles::TILE_WIDTH;

use crate::Error;

/// The largest checkpoint this client reads (a checkpoint with 100 cosignatures is ~12 KiB).
const MAX_CHECKPOINT: u64 = 64 * 1024;
/// A full hash tile: 256 hashes of 32 bytes.
const MAX_HASH_TILE: u64 = TILE_WIDTH * 32;
/// A full entry bundle: 256 entries of at most 4,096 bytes, each with a 2-byte length.
const MAX_BUNDLE: u64 = TILE_WIDTH * (signet_core::MAX_ENTRY_SIZE as u64 + 2);
/// JSON answers and proof files.
const MAX_API_ANSWER: u64 = 1024 * 1024;

/// How long the client waits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// For a whole request, answer included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// A client of one Signet server or tlog-tiles mirror.
///
/// It is `Sync`: threads share its pool of keep-alive connections.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    requests: AtomicU64,
    bytes: AtomicU64,
}

/// The answer to a successful submission.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// True for `201 Created`, false for `200` (the same bytes were already logged).
    pub new: bool,
    /// The entry's index in the log.
    pub index: u64,
    /// The `.tlog-proof` text the server returned (not yet verified).
    pub proof: String,
}

#[derive(Deserialize)]
struct SubmitAnswer {
    index: u64,
    proof: String,
}

#[derive(Deserialize)]
struct ApiError {
    error: String,
    message: String,
    index: Option<u64>,
}

/// One HTTP answer with its status (ureq is told not to turn statuses into errors).
struct Answer {
    url: String,
    status: u16,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl Client {
    /// A client for the server at `base_url` (`http://` or `https://`, with or without a
    /// path prefix), with default timeouts.
    pub fn new(base_url: &str) -> Result<Client, Error> {
        Client::with_timeouts(base_url, Timeouts::default())
    }

    /// A client with the given timeouts.
    pub fn with_timeouts(base_url: &str, timeouts: Timeouts) -> Result<Client, Error> {
        let bad = |reason| Error::BadUrl {
            url: base_url.to_owned(),
            reason,
        };
        let rest = base_url
            .strip_prefix("http://")
            .or_else(|| base_url.strip_prefix("https://"))
            .ok_or_else(|| bad("it must start with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("it has no host"));
        }
        if rest.contains(['?', '#']) {
            return Err(bad("it must not have a query or fragment"));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.request))
            // Enough idle connections for every audit thread to keep its own alive.
            .max_idle_connections_per_host(64)
            .max_idle_connections(64)
            .user_agent(concat!("signet/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.into(),
            base: base_url.trim_end_matches('/').to_owned(),
            requests: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// How many requests this client has made.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// How many body bytes it has downloaded.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    fn finish(
        &self,
        url: String,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<Answer, Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut response = response.map_err(|e| transport(&url, e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.body_mut().with_config().limit(limit).read_to_vec() {
            Ok(body) => body,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                return Err(Error::TooLarge { url, limit });
            }
            Err(e) => return Err(transport(&url, e)),
        };
        self.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(Answer {
            url,
            status,
            retry_after,
            body,
        })
    }

    /// GET, retried twice (after 0.2 s, then 1 s) when the connection fails or the
    /// server answers 5xx: reads are idempotent, and a mirror or CDN that hiccups once
    /// should not fail an hour-long audit.
    fn get(&self, path: &str, limit: u64) -> Result<Answer, Error> {
        let url = self.url(path);
        let mut delays = [200, 1000].into_iter();
        loop {
            let response = self.agent.get(&url).call();
            let result = self.finish(url.clone(), response, limit);
            let transient = match &result {
                Err(Error::Unreachable { .. }) => true,
                Ok(answer) => answer.status >= 500,
                Err(_) => false,
            };
            match delays.next() {
                Some(ms) if transient => std::thread::sleep(std::time::Duration::from_millis(ms)),
                _ => return result,
            }
        }
    }

    /// GET that must answer 200; `Ok(None)` for 404.
    fn get_ok(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, Error> {
        let answer = self.get(path, limit)?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => Err(status_error(answer)),
        }
    }

    fn get_required(&self, path: &str, limit: u64) -> Result<Vec<u8>, Error> {
        self.get_ok(path, limit)?.ok_or_else(|| Error::Status {
            url: self.url(path),
            status: 404,
            message: String::new(),
            retry_after: None,
        })
    }

    /// `GET /checkpoint`: the latest signed checkpoint, unparsed.
    pub fn checkpoint(&self) -> Result<Vec<u8>, Error> {
        self.get_required("checkpoint", MAX_CHECKPOINT)
    }

    /// A tile or entry bundle as it stands in a tree that the caller knows covers it.
    ///
    /// A partial tile may be gone once its full tile exists (tlog-tiles §Partial Tiles),
    /// so on a 404 this reads the full tile instead. The answer is returned as served:
    /// the caller checks its length against `tile.width` (a full tile stands in for a
    /// partial one: its first `width` hashes or entries are the partial tile).
    pub fn tile(&self, tile: TileId) -> Result<Vec<u8>, Error> {
        let limit = match tile.level {
            signet_core::tiles::TileLevel::Entries => MAX_BUNDLE,
            signet_core::tiles::TileLevel::Hashes(_) => MAX_HASH_TILE,
        };
        if tile.is_full() {
            return self.get_required(&tile.path(), limit);
        }
        if let Some(data) = self.get_ok(&tile.path(), limit)? {
            return Ok(data);
        }
        let full = TileId {
            width: TILE_WIDTH as u16,
            ..tile
        };
        self.get_required(&full.path(), limit)
    }

    /// `POST /v1/endorsements`: submits an entry (a signed note).
    pub fn submit(&self, entry: &[u8]) -> Result<Submitted, Error> {
        let url = self.url("v1/endorsements");
        let response = self
            .agent
            .post(&url)
            .header("content-type", "text/plain; charset=utf-8")
            .send(entry);
        let answer = self.finish(url, response, MAX_API_ANSWER)?;
        match answer.status {
            200 | 201 => {
                let parsed: SubmitAnswer =
                    serde_json::from_slice(&answer.body).map_err(|e| Error::BadContent {
                        url: answer.url.clone(),
                        reason: format!("not the JSON of a logged entry: {e}"),
                    })?;
                Ok(Submitted {
                    new: answer.status == 201,
                    index: parsed.index,
                    proof: parsed.proof,
                })
            }
            400 | 409 | 413 | 422 => {
                let (code, message, active_index) =
                    match serde_json::from_slice::<ApiError>(&answer.body) {
                        Ok(e) => (e.error, e.message, e.index),
                        Err(_) => (String::from("unknown"), body_text(&answer.body), None),
                    };
                Err(Error::Refused {
                    status: answer.status,
                    code,
                    message,
                    active_index,
                })
            }
            _ => Err(status_error(answer)),
        }
    }

    /// `GET` a JSON answer of the API (`path` relative to the base URL, query included)
    /// that must answer 200, parsed as `T`: at most 1 MiB, with the client's timeouts and
    /// retries. `what` names the answer for the error when the body is not that JSON.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        what: &str,
    ) -> Result<T, Error> {
        let answer = self.get(path, MAX_API_ANSWER)?;
        if answer.status != 200 {
            return Err(status_error(answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| Error::BadContent {
            url: answer.url,
            reason: format!("not the JSON of {what}: {e}"),
        })
    }

    /// `GET /v1/proof/<index>`: the `.tlog-proof` text for an entry, unverified.
    pub fn proof(&self, index: u64) -> Result<Vec<u8>, Error> {
        self.get_required(&format!("v1/proof/{index}"), MAX_API_ANSWER)
    }
}

fn transport(url: &str, e: ureq::Error) -> Error {
    let reason = match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => String::from("host not found"),
        ureq::Error::ConnectionFailed => String::from("connection failed"),
        ureq::Error::Io(e) => e.to_string(),
        e => e.to_string(),
    };
    Error::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

fn status_error(answer: Answer) -> Error {
    let message = match serde_json::from_slice::<ApiError>(&answer.body) {
        Ok(e) => e.message,
        Err(_) => body_text(&answer.body),
    };
    Error::Status {
        url: answer.url,
        status: answer.status,
        message,
        retry_after: answer.retry_after,
    }
}

/// The first line of a text body, shortened, for error messages.
fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    line.chars().take(200).collect()
}
