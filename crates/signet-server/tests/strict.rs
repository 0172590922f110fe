//! Strict query parameters on every route, `/healthz` over failing storage, the status
//! of the log's own faults, and reads that wait for slow storage off the async workers.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::Path;
use std::sync::Arc;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use signet_core::keys::SignatureType;
use signet_core::{Endorsement, KeyName, Letter, SigningKey, Statement, Timestamp};
use signet_log::{Config, FsStorage, Log};
use signet_server::{AppState, Settings, app};
use signet_testkit::harness::letters_dir;
use tower::ServiceExt as _;

fn letter() -> Letter {
    let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
    Letter::from_bytes(&text).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn endorse(n: u32) -> Vec<u8> {
    let mut seed = [5u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    let k = SigningKey::from_seed(
        KeyName::parse(&format!("strict-{n}")).unwrap(),
        SignatureType::Ed25519,
        &seed,
    );
    Statement::Endorsement(Endorsement {
        letter: letter().id(),
        name: format!("Signer {n}"),
        affiliation: None,
        role: None,
        identity: vec![],
        time: Timestamp::from_unix(now() - 60).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
    .bytes()
    .to_vec()
}

fn config(dir: &Path) -> Config {
    Config {
        letters_dir: Some(letters_dir()),
        batch_interval: Duration::from_millis(1),
        ..Config::new(dir)
    }
}

fn settings() -> Settings {
    Settings {
        rate_limit: 0,
        ..Settings::default()
    }
}

/// The test kit's fault-injecting wrapper over the file-system backend.
type Faulty = signet_testkit::storage::Faulty<FsStorage>;

fn faulty(dir: &Path) -> Arc<Faulty> {
    Arc::new(Faulty::new(FsStorage::open(dir).unwrap()))
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        retry_after,
        body,
    }
}

async fn get(app: &Router, uri: &str) -> Answer {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, uri: &str, body: Vec<u8>) -> Answer {
    call(app, Request::post(uri).body(Body::from(body)).unwrap()).await
}

/// `uri` must be refused with `400 bad_request`, in a message naming `name`.
async fn refused(app: &Router, uri: &str, name: &str) {
    let a = get(app, uri).await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "{uri}: {}",
        String::from_utf8_lossy(&a.body)
    );
    let body = a.json();
    assert_eq!(body["error"], "bad_request", "{uri}: {body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(name),
        "{uri}: {message:?} does not name {name}"
    );
}

#[tokio::test]
async fn every_route_takes_strict_queries() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let app = app(AppState::new(log.clone(), settings()));
    assert_eq!(
        post(&app, "/v1/endorsements", endorse(1)).await.status,
        StatusCode::CREATED
    );
    let id = letter().id().to_string();
    // Not canonical decimal: leading zeros, signs (a literal `+` is a space in a
    // query), spaces, trailing junk.
    let bad = ["00", "01", "%2B1", "+1", "-1", "%201", "1%20", "1x"];

    // Numbers in the query.
    for v in bad {
        refused(
            &app,
            &format!("/v1/proof/inclusion?index={v}&size=2"),
            "index",
        )
        .await;
        refused(
            &app,
            &format!("/v1/proof/inclusion?index=0&size={v}"),
            "size",
        )
        .await;
        refused(
            &app,
            &format!("/v1/proof/consistency?old={v}&size=2"),
            "old",
        )
        .await;
        refused(
            &app,
            &format!("/v1/proof/consistency?old=1&size={v}"),
            "size",
        )
        .await;
        refused(
            &app,
            &format!("/v1/signatories?letter={id}&limit={v}"),
            "limit",
        )
        .await;
    }
    // Numbers in the path.
    for v in ["00", "01", "+1", "%2B1", "-1", "%201", "1x"] {
        refused(&app, &format!("/v1/entries/{v}"), "index").await;
        refused(&app, &format!("/v1/proof/{v}"), "index").await;
    }
    // The canonical forms are served.
    for uri in [
        "/v1/proof/inclusion?index=0&size=2",
        "/v1/proof/inclusion?index=1&size=2",
        "/v1/proof/consistency?old=1&size=2",
        "/v1/proof/consistency?old=0&size=0",
        &format!("/v1/signatories?letter={id}&limit=10"),
        "/v1/entries/0",
        "/v1/entries/1",
        "/v1/proof/1",
    ] {
        assert_eq!(get(&app, uri).await.status, StatusCode::OK, "{uri}");
    }

    // Unknown and repeated parameters, on every route.
    let routes = [
        "/checkpoint".to_owned(),
        "/tile/0/000.p/2".to_owned(),
        "/tile/entries/000.p/2".to_owned(),
        "/v1/log".to_owned(),
        format!("/v1/letters/{}", letter_slug()),
        "/v1/entries/0".to_owned(),
        "/v1/proof/0".to_owned(),
        "/v1/proof/inclusion?index=0&size=2".to_owned(),
        "/v1/proof/consistency?old=1&size=2".to_owned(),
        format!("/v1/signatories?letter={id}"),
        "/healthz".to_owned(),
        "/metrics".to_owned(),
    ];
    for route in &routes {
        let sep = if route.contains('?') { '&' } else { '?' };
        assert_eq!(get(&app, route).await.status, StatusCode::OK, "{route}");
        refused(&app, &format!("{route}{sep}color=blue"), "color").await;
        refused(&app, &format!("{route}{sep}color=blue&color=blue"), "color").await;
    }
    for (uri, name) in [
        ("/v1/proof/inclusion?index=0&size=2&index=0", "index"),
        ("/v1/proof/inclusion?index=0&size=2&size=2", "size"),
        ("/v1/proof/consistency?old=1&old=1&size=2", "old"),
    ] {
        refused(&app, uri, name).await;
    }
    refused(
        &app,
        &format!("/v1/signatories?letter={id}&limit=5&limit=5"),
        "limit",
    )
    .await;
    refused(
        &app,
        &format!("/v1/signatories?letter={id}&letter={id}"),
        "letter",
    )
    .await;
    // A submission takes no parameters either, and the log does not change.
    let a = post(&app, "/v1/endorsements?index=1", endorse(2)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.json()["message"].as_str().unwrap().contains("index"));
    assert_eq!(log.head().size, 2);
}

fn letter_slug() -> String {
    "pause-giant-ai-experiments".to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_tells_the_truth_about_failing_storage() {
    let dir = tempfile::tempdir().unwrap();
    let storage = faulty(dir.path());
    let log = Arc::new(Log::open_with(config(dir.path()), storage.clone()).unwrap());
    let app = app(AppState::new(log.clone(), settings()));
    let h = get(&app, "/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.json()["status"], "ok");
    assert_eq!(h.json()["size"], 1);

    storage.set_fail_writes(true);
    let a = post(&app, "/v1/endorsements", endorse(1)).await;
    assert_eq!(
        a.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert!(a.retry_after.is_some(), "a failed write says when to retry");
    // From the first failed write until a write succeeds, the log reports itself
    // unhealthy; /healthz says exactly what the log says.
    let h = get(&app, "/healthz").await;
    let body = h.json();
    // A failed write makes the log unhealthy.
    let reason = log.health().unwrap_err();
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "failing", "{body}");
    assert_eq!(body["reason"], reason.as_str(), "{body}");
    assert!(reason.contains("Too many open files"), "{reason}");
    // Once storage takes writes again, so does the log, and /healthz says so.
    storage.set_fail_writes(false);
    let healed = Instant::now();
    while log.health().is_err() {
        assert!(
            healed.elapsed() < Duration::from_secs(12),
            "still failing: {:?}",
            log.health()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let h = get(&app, "/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.json()["status"], "ok");
    // Reads are still served from what is durable.
    let c = get(&app, "/checkpoint").await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(log.head().size, 1);
}

/// A log of 301 entries (two level-0 tiles), reopened over a [`Faulty`] store with a
/// one-tile cache, so that proofs and tiles read the store.
async fn cold_log(dir: &Path) -> (Arc<Faulty>, Router) {
    {
        let log = Log::open(config(dir)).unwrap();
        let app = app(AppState::new(Arc::new(log), settings()));
        // In rounds of 100: 300 at once would exceed the submission budget (256) and
        // some would rightly be turned away with 503.
        for round in 0..3 {
            let submissions: Vec<_> = (round * 100..(round + 1) * 100)
                .map(|n| {
                    let app = app.clone();
                    tokio::spawn(
                        async move { post(&app, "/v1/endorsements", endorse(n)).await.status },
                    )
                })
                .collect();
            for s in submissions {
                assert_eq!(s.await.unwrap(), StatusCode::CREATED);
            }
        }
    }
    let storage = faulty(dir);
    let config = Config {
        tile_cache: 1,
        ..config(dir)
    };
    let log = Arc::new(Log::open_with(config, storage.clone()).unwrap());
    assert_eq!(log.head().size, 301);
    (storage, app(AppState::new(log, settings())))
}

/// Reads that miss the log's caches, each twice so that the one-tile cache keeps missing.
const COLD_READS: [&str; 6] = [
    "/tile/0/000",
    "/v1/proof/inclusion?index=0&size=301",
    "/tile/0/001.p/45",
    "/v1/proof/inclusion?index=300&size=301",
    "/v1/proof/consistency?old=7&size=301",
    "/v1/proof/3",
];

#[tokio::test(flavor = "current_thread")]
async fn slow_storage_reads_do_not_block_the_async_workers() {
    let dir = tempfile::tempdir().unwrap();
    let (storage, app) = cold_log(dir.path()).await;
    // On this one-thread runtime, a read that waited for the store on the async worker
    // would hold up every other request for as long.
    storage.set_read_delay(Some(Duration::from_millis(400)));
    for uri in COLD_READS.iter().chain(COLD_READS.iter()) {
        let started = Instant::now();
        let slow = tokio::spawn({
            let app = app.clone();
            async move { get(&app, uri).await.status }
        });
        // The slow read runs first, up to its first wait.
        tokio::task::yield_now().await;
        let c = get(&app, "/checkpoint").await;
        assert_eq!(c.status, StatusCode::OK);
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{uri} held the runtime for {:?}",
            started.elapsed()
        );
        assert_eq!(slow.await.unwrap(), StatusCode::OK, "{uri}");
    }
    assert!(storage.slow_reads() > 0, "the reads reached the slow store");
}

#[tokio::test]
async fn the_logs_own_faults_are_never_the_clients() {
    // Over a store whose reads fail (out of descriptors), every read that reaches it
    // is a 503 that says to retry, never a 400, and names no file.
    let dir = tempfile::tempdir().unwrap();
    let (storage, app) = cold_log(dir.path()).await;
    storage.set_fail_reads(true);
    let mut failed = 0;
    for uri in COLD_READS.iter().chain(COLD_READS.iter()) {
        let a = get(&app, uri).await;
        if a.status == StatusCode::OK {
            continue;
        }
        failed += 1;
        assert_eq!(
            a.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{uri}: {}",
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.json()["error"], "storage_unavailable", "{uri}");
        assert_eq!(a.retry_after.as_deref(), Some("1"), "{uri}");
        let message = a.json()["message"].as_str().unwrap().to_owned();
        assert!(!message.contains("/data/"), "{uri}: a path in {message}");
    }
    assert!(failed > 0, "some reads reached the failing store");
    storage.set_fail_reads(false);
    for uri in COLD_READS {
        assert_eq!(
            get(&app, uri).await.status,
            StatusCode::OK,
            "{uri} recovered"
        );
    }
}
