//! Test support (feature `testing`): a Signet log built in memory with `signet-core`,
//! written to a directory exactly as tlog-tiles lays it out, and a tiny HTTP server that
//! serves such a directory over loopback and records what was asked of it.
//!
//! Nothing here checks the rules of state: tests use it to build bad logs on purpose.

#![expect(
    clippy::unwrap_used,
    reason = "test support: a failure is a test failure"
)]

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use signet_core::entry::{Endorsement, LetterRegistration, Withdrawal};
use signet_core::keys::SignatureType;
use signet_core::merkle::{self, CompactRange};
use signet_core::tiles::{self, TILE_WIDTH, TileLevel};
use signet_core::{
    Checkpoint, Hash, KeyName, Letter, LetterId, SignedCheckpoint, SigningKey, Statement, TileId,
    Timestamp, TlogProof,
};

/// A deterministic Ed25519 key: the seed is SHA-256 of `label`.
pub fn key(name: &str, label: &str) -> SigningKey {
    SigningKey::from_seed(
        KeyName::parse(name).unwrap(),
        SignatureType::Ed25519,
        &Hash::sha256(label.as_bytes()).0,
    )
}

/// The time `seconds` after 2025-01-01T00:00:00Z.
pub fn time(seconds: u64) -> Timestamp {
    Timestamp::from_unix(1_735_689_600 + seconds).unwrap()
}

/// A short test letter whose text depends on `n`.
pub fn letter(n: u32) -> Letter {
    Letter::from_bytes(format!("Test letter number {n}.\n\nWe ask for careful logs.\n").as_bytes())
        .unwrap()
}

/// A log under construction: its key and its entries, in order.
#[derive(Debug, Clone)]
pub struct TestLog {
    key: SigningKey,
    entries: Vec<Vec<u8>>,
}

impl TestLog {
    /// An empty log whose key name (origin) is `origin`, with a key derived from it.
    pub fn new(origin: &str) -> TestLog {
        TestLog::with_key(key(origin, origin))
    }

    /// An empty log with the given key.
    pub fn with_key(key: SigningKey) -> TestLog {
        TestLog {
            key,
            entries: Vec::new(),
        }
    }

    /// The log's signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The log's verifier key as text.
    pub fn vkey(&self) -> String {
        self.key.verifier().to_string()
    }

    /// The entries so far.
    pub fn entries(&self) -> &[Vec<u8>] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends raw bytes as the next entry (valid or not).
    pub fn push(&mut self, bytes: Vec<u8>) -> u64 {
        self.entries.push(bytes);
        self.len() - 1
    }

    /// Drops every entry from `size` on (to build a fork).
    pub fn truncate(&mut self, size: u64) {
        self.entries.truncate(size as usize);
    }

    /// Registers `letter` under `slug`, signed by `signer` (the log key, unless a test
    /// wants a bad registration).
    pub fn register_signed_by(
        &mut self,
        letter: &Letter,
        slug: &str,
        t: u64,
        signer: &SigningKey,
    ) -> u64 {
        let statement = Statement::Letter(LetterRegistration {
            letter: letter.id(),
            slug: slug.parse().unwrap(),
            title: format!("Letter {slug}"),
            language: "en".parse().unwrap(),
            time: time(t),
            key: signer.verifier(),
        });
        self.push(statement.sign(signer).unwrap().bytes().to_vec())
    }

    /// Registers `letter` under `slug`, signed by the log key.
    pub fn register(&mut self, letter: &Letter, slug: &str, t: u64) -> u64 {
        let key = self.key.clone();
        self.register_signed_by(letter, slug, t, &key)
    }

    /// An endorsement of `letter` by `signer` named `name` at time `t`.
    pub fn endorse(&mut self, signer: &SigningKey, letter: LetterId, name: &str, t: u64) -> u64 {
        self.push(endorsement(signer, letter, name, t))
    }

    /// A withdrawal of `letter` by `signer` at time `t`.
    pub fn withdraw(&mut self, signer: &SigningKey, letter: LetterId, t: u64) -> u64 {
        let statement = Statement::Withdrawal(Withdrawal {
            letter,
            time: time(t),
            key: signer.verifier(),
        });
        self.push(statement.sign(signer).unwrap().bytes().to_vec())
    }

    /// A valid log of `count` entries: one letter, then `signers` signers cycling through
    /// endorse, withdraw, endorse... with increasing times.
    pub fn valid(origin: &str, count: u64, signers: u32) -> (TestLog, LetterId) {
        let mut log = TestLog::new(origin);
        let letter = letter(1);
        log.register(&letter, "test-letter", 0);
        let keys: Vec<SigningKey> = (0..signers)
            .map(|i| key(&format!("signer{i}"), &format!("signer {i}")))
            .collect();
        let mut round = 0u64;
        while log.len() < count {
            for (i, k) in keys.iter().enumerate() {
                if log.len() >= count {
                    break;
                }
                let t = 1 + round * u64::from(signers) + i as u64;
                if round.is_multiple_of(2) {
                    log.endorse(k, letter.id(), &format!("Signer {i}"), t);
                } else {
                    log.withdraw(k, letter.id(), t);
                }
            }
            round += 1;
        }
        (log, letter.id())
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> Vec<Hash> {
        self.entries.iter().map(|e| Hash::leaf(e)).collect()
    }

    /// The checkpoint of the whole log.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: self.key.name().to_string(),
            size: self.len(),
            root: merkle::root_of(&self.leaves()),
            extensions: Vec::new(),
        }
    }

    /// An inclusion proof file for entry `index` at the current size.
    pub fn proof(&self, index: u64) -> TlogProof {
        let leaves = self.leaves();
        let plan = merkle::inclusion_plan(index, self.len()).unwrap();
        let hashes = plan
            .assemble(|s| {
                let from = (s.index << s.level) as usize;
                let to = ((s.index + 1) << s.level) as usize;
                Some(merkle::root_of(&leaves[from..to]))
            })
            .unwrap();
        TlogProof {
            extra: None,
            index,
            hashes,
            checkpoint: self.checkpoint().sign(&self.key).unwrap(),
        }
    }

    /// Writes the log into `dir` as tlog-tiles files (every full tile, the partial tiles
    /// of this size, and the checkpoint signed by the log key). Existing tiles are left in
    /// place, as a real log leaves them.
    pub fn publish(&self, dir: &Path) -> SignedCheckpoint {
        let key = self.key.clone();
        self.publish_signed_by(dir, &key)
    }

    /// Like [`TestLog::publish`], with the checkpoint signed by `key`.
    pub fn publish_signed_by(&self, dir: &Path, key: &SigningKey) -> SignedCheckpoint {
        let n = self.len();
        for k in 0..n.div_ceil(TILE_WIDTH) {
            let width = (n - k * TILE_WIDTH).min(TILE_WIDTH) as u16;
            let mut bundle = Vec::new();
            for e in &self.entries
                [(k * TILE_WIDTH) as usize..(k * TILE_WIDTH + u64::from(width)) as usize]
            {
                tiles::push_bundle_entry(&mut bundle, e).unwrap();
            }
            write(
                dir,
                TileId {
                    level: TileLevel::Entries,
                    index: k,
                    width,
                },
                &bundle,
            );
        }
        // Hashes at every tree level that is a multiple of 8, by level.
        let mut levels: HashMap<u8, Vec<Hash>> = HashMap::new();
        let mut range = CompactRange::new();
        for leaf in self.leaves() {
            range.append(leaf, |s, h| {
                if s.level % tiles::TILE_HEIGHT == 0 {
                    let v = levels.entry(s.level / tiles::TILE_HEIGHT).or_default();
                    assert_eq!(v.len() as u64, s.index, "subtrees complete in order");
                    v.push(*h);
                }
            });
        }
        for (level, hashes) in levels {
            let count = hashes.len() as u64;
            for k in 0..count.div_ceil(TILE_WIDTH) {
                let width = (count - k * TILE_WIDTH).min(TILE_WIDTH) as u16;
                let data: Vec<u8> = hashes
                    [(k * TILE_WIDTH) as usize..(k * TILE_WIDTH + u64::from(width)) as usize]
                    .iter()
                    .flat_map(|h| h.0)
                    .collect();
                write(
                    dir,
                    TileId {
                        level: TileLevel::Hashes(level),
                        index: k,
                        width,
                    },
                    &data,
                );
            }
        }
        let mut checkpoint = self.checkpoint();
        checkpoint.origin = key.name().to_string();
        let signed = checkpoint.sign(key).unwrap();
        fs::write(dir.join("checkpoint"), signed.to_bytes()).unwrap();
        signed
    }
}

/// An endorsement's bytes.
pub fn endorsement(signer: &SigningKey, letter: LetterId, name: &str, t: u64) -> Vec<u8> {
    let statement = Statement::Endorsement(Endorsement {
        letter,
        name: name.to_owned(),
        affiliation: None,
        role: None,
        identity: Vec::new(),
        time: time(t),
        key: signer.verifier(),
    });
    statement.sign(signer).unwrap().bytes().to_vec()
}

fn write(dir: &Path, tile: TileId, data: &[u8]) {
    let path = dir.join(tile.path());
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, data).unwrap();
}

/// A request the test server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, with its leading slash.
    pub path: String,
    /// The body.
    pub body: Vec<u8>,
}

/// An answer from a test handler.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a status and body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
}

type Handler = dyn Fn(&Request) -> Option<Response> + Send + Sync;

/// A minimal HTTP/1.1 server on loopback (keep-alive, one thread per connection) that
/// serves the files of a directory, after giving a handler the first word on each
/// request. It records every request. It stops when dropped.
pub struct TestServer {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestServer({})", self.url)
    }
}

impl TestServer {
    /// Serves the files under `root`.
    pub fn serve(root: &Path) -> TestServer {
        TestServer::with_handler(root, |_| None)
    }

    /// Serves `root`, asking `handler` first.
    pub fn with_handler(
        root: &Path,
        handler: impl Fn(&Request) -> Option<Response> + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let root = root.to_owned();
        {
            let (requests, stop) = (requests.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (root, requests, handler) =
                        (root.clone(), requests.clone(), handler.clone());
                    std::thread::spawn(move || {
                        serve_connection(stream, &root, &requests, &*handler)
                    });
                }
            });
        }
        TestServer {
            url: format!("http://{addr}"),
            requests,
            stop,
            addr,
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The paths requested so far.
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_connection(
    stream: TcpStream,
    root: &Path,
    requests: &Mutex<Vec<Request>>,
    handler: &Handler,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut length = 0usize;
        let mut close = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request = Request { method, path, body };
        requests.lock().unwrap().push(request.clone());
        let response = handler(&request).unwrap_or_else(|| serve_file(root, &request));
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\n",
            response.status,
            response.body.len()
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&response.body).is_err() {
            return;
        }
        if close {
            return;
        }
    }
}

fn serve_file(root: &Path, request: &Request) -> Response {
    let not_found = Response::new(404, "not found\n");
    if request.method != "GET" {
        return Response::new(405, "method not allowed\n");
    }
    let rel = request.path.trim_start_matches('/');
    if rel
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return not_found;
    }
    let path: PathBuf = root.join(rel);
    match fs::read(&path) {
        Ok(data) if path.is_file() => Response::new(200, data),
        _ => not_found,
    }
}
