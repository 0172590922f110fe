//! The HTTP request path: arbitrary methods, paths, queries, headers and bodies against
//! `signet_server::app()` in process.
//!
//! Whatever a client sends, the server must not panic, and must not answer with a
//! server error other than `503` (the answer under load or for a storage fault): bad
//! input is always a clear 4xx.
//!
//! The input is read as text lines: the first is the method, the second the path and
//! query, the following ones up to an empty line are headers (`name: value`), and the
//! rest is the body. Bytes that do not make a valid request line or header are
//! dropped, since hyper refuses them before the router sees them.

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use signet_log::{Config, Log};
use signet_server::{AppState, Settings, app};
use tower::ServiceExt as _;

/// One server for the whole run: a fresh log in a temporary folder of its own.
fn server() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, axum::Router)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("signet-fuzz-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let letters =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../registry-data/letters");
        let config = Config {
            letters_dir: Some(letters),
            batch_interval: std::time::Duration::from_millis(1),
            ..Config::new(&dir)
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("a runtime: {e}"));
        let log = Arc::new(Log::open(config).unwrap_or_else(|e| panic!("a log: {e}")));
        let settings = Settings {
            rate_limit: 0,
            ..Settings::default()
        };
        let router = {
            let _guard = runtime.enter();
            app(AppState::new(log, settings))
        };
        (runtime, router)
    })
}

/// Splits off the first line (without its `\n`); `None` when there is no `\n`.
fn line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.iter().position(|b| *b == b'\n')?;
    Some((&data[..end], &data[end + 1..]))
}

fn request(data: &[u8]) -> Option<Request<Body>> {
    let (method, rest) = line(data)?;
    let (uri, mut rest) = line(rest)?;
    let method = Method::from_bytes(method).ok()?;
    let uri = std::str::from_utf8(uri).ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    // Headers up to an empty line or the end of the input.
    while let Some((header, after)) = line(rest) {
        rest = after;
        if header.is_empty() {
            break;
        }
        let Some(colon) = header.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&header[..colon], header[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name),
            axum::http::HeaderValue::from_bytes(value),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(Body::from(rest.to_vec())).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request(data) else {
        return;
    };
    let (runtime, router) = server();
    let response = runtime
        .block_on(router.clone().oneshot(request))
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    assert!(
        !status.is_server_error() || status == axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "the server answered {status} to a client's input"
    );
});
