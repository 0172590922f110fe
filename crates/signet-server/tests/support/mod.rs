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
        let config = Config {
            letters_dir: Some(letters_dir()),
            batch_interval: Duration::from_millis(1),
            ..Config::new(dir.path())
        };
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
