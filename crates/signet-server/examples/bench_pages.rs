//! The reader's pages under load (BENCHMARKS.md, *The reader's pages*): a log of SIGNERS
//! endorsements (default 30,000), then
//! - the letter page's first 100 rows rendered on the server (in process, `oneshot`),
//!   p50 and p90 over 200 renders, and the page's weight;
//! - the weight of the pages' scripts;
//! - with Debian's `chromium` and `chromedriver` present, the entry page's check in
//!   headless Chromium, as the page itself measures it (`data-millis`), p50 over 10 loads.
//!
//! `cargo run --release -p signet-server --example bench_pages -- [SIGNERS [VERIFIED]]`,
//! VERIFIED making every VERIFIED-th signer's identity claim verified (default 0: none),
//! to measure the list's verified-first order.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use signet_core::keys::SignatureType;
use signet_core::{Endorsement, KeyName, Letter, SigningKey, Statement, Timestamp};
use signet_log::{Config, Log};
use signet_server::{AppState, Settings, app};
use tower::ServiceExt as _;

const SLUG: &str = "pause-giant-ai-experiments";

fn p(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let signers: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("SIGNERS is a number")?
        .unwrap_or(30_000);
    // Every VERIFIED-th signer makes an identity claim that held at its check (0: none).
    let every: u32 = std::env::args()
        .nth(2)
        .map(|s| s.parse())
        .transpose()
        .context("VERIFIED is a number")?
        .unwrap_or(0);
    let verified = |n: u32| every > 0 && n.is_multiple_of(every);
    let letters = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../registry-data/letters");
    let letter = Letter::from_bytes(&std::fs::read(letters.join(format!("{SLUG}.txt")))?)?;
    let dir = tempfile::tempdir()?;
    let log = Arc::new(Log::open(Config {
        letters_dir: Some(letters),
        batch_interval: Duration::from_millis(5),
        ..Config::new(dir.path())
    })?);

    let started = Instant::now();
    let t0 = 1_700_000_000u64;
    for chunk in (0..signers).collect::<Vec<_>>().chunks(2_000) {
        let mut tasks = Vec::new();
        for &n in chunk {
            let mut seed = [3u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            let key = SigningKey::from_seed(
                KeyName::parse(&format!("signer-{n}"))?,
                SignatureType::Ed25519,
                &seed,
            );
            let entry = Statement::Endorsement(Endorsement {
                letter: letter.id(),
                name: format!("Signer Number {n}"),
                affiliation: Some("University of Somewhere, Department of Things".into()),
                role: (n % 3 == 0).then(|| "Professor".into()),
                identity: if verified(n) {
                    vec![signet_core::entry::IdentityClaim::parse(&format!(
                        "dns:s{n}.example"
                    ))?]
                } else {
                    vec![]
                },
                time: Timestamp::from_unix(t0 + u64::from(n))?,
                key: key.verifier(),
            })
            .sign(&key)?;
            let log = log.clone();
            tasks.push(tokio::spawn(async move { log.submit(entry).await }));
        }
        for t in tasks {
            t.await??;
        }
    }
    for n in (0..signers).filter(|n| verified(*n)) {
        let mut seed = [3u8; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        let key = SigningKey::from_seed(
            KeyName::parse(&format!("signer-{n}"))?,
            SignatureType::Ed25519,
            &seed,
        );
        log.record_claim(&signet_log::ClaimResult {
            key: *key.verifier().public_key(),
            claim: format!("dns:s{n}.example"),
            held: true,
            checked: Timestamp::from_unix(t0)?,
            evidence: Some(format!("sha256:{}", "00".repeat(32))),
            reason: None,
        })?;
    }
    eprintln!(
        "bench_pages: {signers} endorsements logged in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let settings = Settings {
        rate_limit: 0,
        ..Settings::default()
    };
    let router = app(AppState::new(log.clone(), settings));
    let get = |uri: String| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(Request::get(uri).body(Body::empty())?)
                .await?;
            anyhow::Ok(response.into_body().collect().await?.to_bytes())
        }
    };
    let page = format!("/letters/{SLUG}");
    let mut times = Vec::new();
    let mut weight = 0;
    for _ in 0..200 {
        let t = Instant::now();
        weight = get(page.clone()).await?.len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let html = String::from_utf8(get(format!("/entries/{}", signers / 2)).await?.to_vec())?;
    let script = html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("the entry page has its script")?
        .to_owned();
    let script_weight = get(script).await?.len();
    println!("signers: {signers}, verified: every {every}th (0: none)");
    println!(
        "letter page, first 100 rows, server render: p50 {:.2} ms, p90 {:.2} ms",
        p(&times, 0.5),
        p(&times, 0.9)
    );
    println!("letter page weight: {weight} bytes (before scripts; it loads none)");
    println!("scripts (the entry page's one module): {script_weight} bytes");

    match browser_check(router.clone(), signers / 2).await {
        Ok(ms) => println!("entry page check in headless Chromium: p50 {ms:.0} ms (10 loads)"),
        Err(e) => println!("entry page check in headless Chromium: not measured ({e:#})"),
    }
    log.close();
    Ok(())
}

/// The p50 of the entry page's own measure of its check, over 10 loads.
async fn browser_check(router: axum::Router, index: u32) -> anyhow::Result<f64> {
    for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        if !Path::new(bin).exists() {
            bail!("{bin} is missing; apt-get install chromium chromium-driver");
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut driver = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let result = async {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                bail!("chromedriver did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir()?;
        let Value::Object(caps) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display())],
            },
        }) else {
            bail!("capabilities are an object");
        };
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await?;
        let mut times = Vec::new();
        for _ in 0..10 {
            client.goto(&format!("{url}/entries/{index}")).await?;
            let started = Instant::now();
            loop {
                let el = client.find(fantoccini::Locator::Css("#verify")).await?;
                if el.attr("data-verify").await?.as_deref() == Some("valid") {
                    let ms: f64 = el.attr("data-millis").await?.unwrap_or_default().parse()?;
                    times.push(ms);
                    break;
                }
                if started.elapsed() > Duration::from_secs(20) {
                    bail!("the check did not end valid");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        client.close().await?;
        times.sort_by(f64::total_cmp);
        Ok(p(&times, 0.5))
    }
    .await;
    // The chromedriver this benchmark started, by its own handle.
    let _ = driver.kill();
    let _ = driver.wait();
    result
}
