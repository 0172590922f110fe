//! A registry for the page tests: the repository's letters, a fixed clock, and helpers
//! that sign and submit endorsements and withdrawals.

#![allow(dead_code, reason = "each test file uses part of the kit")]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use signet_core::keys::SignatureType;
use signet_core::{
    Endorsement, Entry, KeyName, Letter, LetterId, SigningKey, Statement, Timestamp, Withdrawal,
};
use signet_log::{Config, Log};
use signet_server::{AppState, Settings, app};
use signet_testkit::harness::letters_dir;
use tower::ServiceExt as _;

/// The server's clock in these tests.
pub const NOW: u64 = 1_800_000_000;
/// A time well before it, for entries.
pub const T0: u64 = NOW - 86_400;

pub fn letter() -> Letter {
    let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
    Letter::from_bytes(&text).unwrap()
}

pub fn letter_id() -> LetterId {
    letter().id()
}

pub fn key(n: u32) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    SigningKey::from_seed(
        KeyName::parse(&format!("signer-{n}")).unwrap(),
        SignatureType::Ed25519,
        &seed,
    )
}

/// A log on a temporary data directory and the router over it.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub log: Arc<Log>,
    pub app: Router,
}

impl Registry {
    pub fn new() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        Registry::open(dir)
    }

    pub fn open(dir: tempfile::TempDir) -> Registry {
        Registry::open_with(dir, |_| {})
    }

    /// A registry whose log's configuration `configure` changes first (witnesses,
    /// moderators).
    pub fn open_with(dir: tempfile::TempDir, configure: impl FnOnce(&mut Config)) -> Registry {
        let mut config = Config {
            letters_dir: Some(letters_dir()),
            batch_interval: Duration::from_millis(1),
            ..Config::new(dir.path())
        };
        configure(&mut config);
        let log = Arc::new(Log::open(config).unwrap());
        let settings = Settings {
            rate_limit: 0,
            ..Settings::default()
        };
        let app = app(AppState::new(log.clone(), settings).with_clock(|| NOW));
        Registry { dir, log, app }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Signs and logs an endorsement by `key(n)`; returns its index.
    pub async fn endorse(
        &self,
        n: u32,
        name: &str,
        affiliation: Option<&str>,
        role: Option<&str>,
        t: u64,
    ) -> u64 {
        let k = key(n);
        let entry = Statement::Endorsement(Endorsement {
            letter: letter_id(),
            name: name.into(),
            affiliation: affiliation.map(Into::into),
            role: role.map(Into::into),
            identity: vec![],
            time: Timestamp::from_unix(t).unwrap(),
            key: k.verifier(),
        })
        .sign(&k)
        .unwrap();
        self.submit(entry).await
    }

    /// Signs and logs an endorsement by `key(n)` with identity claims; returns its
    /// index.
    pub async fn endorse_claiming(&self, n: u32, name: &str, claims: &[&str], t: u64) -> u64 {
        let k = key(n);
        let mut identity: Vec<signet_core::entry::IdentityClaim> = claims
            .iter()
            .map(|c| signet_core::entry::IdentityClaim::parse(c).unwrap())
            .collect();
        identity.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        let entry = Statement::Endorsement(Endorsement {
            letter: letter_id(),
            name: name.into(),
            affiliation: None,
            role: None,
            identity,
            time: Timestamp::from_unix(t).unwrap(),
            key: k.verifier(),
        })
        .sign(&k)
        .unwrap();
        self.submit(entry).await
    }

    /// Records that `claim` of `key(n)` held when checked at `t`, as the claim checks
    /// record it: the signer's badge.
    pub fn verified(&self, n: u32, claim: &str, t: u64) {
        self.log
            .record_claim(&signet_log::ClaimResult {
                key: *key(n).verifier().public_key(),
                claim: claim.to_owned(),
                held: true,
                checked: Timestamp::from_unix(t).unwrap(),
                evidence: Some(format!("sha256:{}", "ab".repeat(32))),
                reason: None,
            })
            .unwrap();
    }

    /// Signs and logs, by `moderator`, a hide of the signer of endorsement `target`
    /// for `reason` with `note`; returns its index.
    pub async fn hide(
        &self,
        moderator: &SigningKey,
        target: u64,
        reason: signet_core::entry::ModerationReason,
        note: Option<&str>,
        t: u64,
    ) -> u64 {
        let entry = Statement::Moderation(signet_core::Moderation {
            letter: letter_id(),
            entry: target,
            action: signet_core::entry::ModerationAction::Hide,
            reason,
            note: note.map(Into::into),
            time: Timestamp::from_unix(t).unwrap(),
            key: moderator.verifier(),
        })
        .sign(moderator)
        .unwrap();
        self.submit(entry).await
    }

    /// Signs and logs a withdrawal by `key(n)`; returns its index.
    pub async fn withdraw(&self, n: u32, t: u64) -> u64 {
        let k = key(n);
        let entry = Statement::Withdrawal(Withdrawal {
            letter: letter_id(),
            time: Timestamp::from_unix(t).unwrap(),
            key: k.verifier(),
        })
        .sign(&k)
        .unwrap();
        self.submit(entry).await
    }

    pub async fn submit(&self, entry: Entry) -> u64 {
        let bytes = entry.bytes().to_vec();
        let a = self
            .send(
                Request::post("/v1/endorsements")
                    .header("content-type", "text/plain")
                    .body(Body::from(bytes))
                    .unwrap(),
            )
            .await;
        assert!(a.status.is_success(), "submission refused: {}", a.text());
        a.json()["index"].as_u64().unwrap()
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn get_with(&self, uri: &str, header: &str, value: &str) -> Answer {
        self.send(
            Request::get(uri)
                .header(header, value)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

/// The witness-quorum vectors of `testdata/verify/quorum.json`, run by the Rust
/// verifier (`tests/vectors.rs`) and by the page's (`tests/browser.rs`).
pub fn quorum_vectors() -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/verify/quorum.json");
    let all: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    all["quorum"].as_array().unwrap().clone()
}

/// A quorum vector made real: its policy (with a witness line per witness, from a key
/// derived from its position), and a checkpoint signed by a log key and carrying the
/// vector's cosignature lines.
pub struct QuorumCase {
    pub policy: signet_core::policy::Policy,
    /// Each witness's name and cosigner verifier key, in the policy's order.
    pub witnesses: Vec<(String, String)>,
    pub checkpoint: signet_core::SignedCheckpoint,
}

pub fn quorum_case(case: &serde_json::Value) -> QuorumCase {
    let log = SigningKey::from_seed(
        KeyName::parse("example.org/quorum-vectors").unwrap(),
        SignatureType::Ed25519,
        &[9; 32],
    );
    let names: Vec<&str> = case["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let keys: Vec<SigningKey> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut seed = [11u8; 32];
            seed[0] = i as u8;
            SigningKey::from_seed(
                KeyName::parse(&format!("witness-{name}.example")).unwrap(),
                SignatureType::CosignatureV1,
                &seed,
            )
        })
        .collect();
    let mut policy = format!("log {}\n", log.verifier());
    for (name, key) in names.iter().zip(&keys) {
        policy.push_str(&format!("witness {name} {}\n", key.verifier()));
    }
    for line in case["lines"].as_array().unwrap() {
        policy.push_str(line.as_str().unwrap());
        policy.push('\n');
    }
    let checkpoint = signet_core::Checkpoint {
        origin: "example.org/quorum-vectors".into(),
        size: 3,
        root: signet_core::Hash::sha256(b"quorum vectors"),
        extensions: vec![],
    };
    let mut signed = checkpoint.sign(&log).unwrap();
    for (n, s) in case["signatures"].as_array().unwrap().iter().enumerate() {
        let by = names
            .iter()
            .position(|w| *w == s["by"].as_str().unwrap())
            .unwrap();
        let mut line =
            signet_core::cosignature::cosign(&checkpoint, &keys[by], NOW + n as u64).unwrap();
        if s["altered"] == serde_json::Value::Bool(true) {
            let last = line.signature.len() - 1;
            line.signature[last] ^= 1;
        }
        signed.note_mut().push_signature(line);
    }
    QuorumCase {
        policy: signet_core::policy::Policy::parse(policy.as_bytes()).unwrap(),
        witnesses: names
            .iter()
            .zip(&keys)
            .map(|(n, k)| ((*n).to_owned(), k.verifier().to_string()))
            .collect(),
        checkpoint: signed,
    }
}
