//! The pages in a real Chromium (Debian's `chromium` and `chromium-driver`, which
//! `.ci/run` installs), driven over WebDriver by fantoccini, headless and offline: the
//! letter page, search and paging with JavaScript off, the entry page's own check
//! ending `valid`, and `invalid` at the right step when a proxy alters one byte of the
//! note, the proof, the checkpoint or the letter; the shared vectors in the browser;
//! axe-core's accessibility rules; and screenshots at phone and desktop widths.
//!
//! Everything runs on 127.0.0.1: the server in process, chromedriver on a port of its
//! own, and the altering proxy. Every wait is bounded.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on a broken invariant"
)]

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use signet_testkit::server::{Response, TestServer};
use support::{NOW, Registry, T0};

/// How long any one wait in the browser may take.
const WAIT: Duration = Duration::from_secs(20);

fn chromium() -> PathBuf {
    let path = std::env::var_os("SIGNET_CHROMIUM")
        .map_or_else(|| "/usr/bin/chromium".into(), PathBuf::from);
    assert!(
        path.exists(),
        "no Chromium at {}: install Debian's chromium and chromium-driver (.ci/run does), \
         or set SIGNET_CHROMIUM and SIGNET_CHROMEDRIVER",
        path.display()
    );
    path
}

fn chromedriver() -> PathBuf {
    let path = std::env::var_os("SIGNET_CHROMEDRIVER")
        .map_or_else(|| "/usr/bin/chromedriver".into(), PathBuf::from);
    assert!(
        path.exists(),
        "no chromedriver at {}: install Debian's chromium-driver (.ci/run does), or set \
         SIGNET_CHROMEDRIVER",
        path.display()
    );
    path
}

/// A headless Chromium with a fresh profile, behind its own chromedriver.
struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(javascript: bool) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < WAIT,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut prefs = serde_json::Map::new();
        if !javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    "--window-size=1280,900",
                ],
                "prefs": prefs,
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with headless Chromium");
        Browser {
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn c(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn attr(&self, css: &str, attr: &str) -> Option<String> {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap()
            .attr(attr)
            .await
            .unwrap()
    }

    async fn text(&self, css: &str) -> String {
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Opens an entry page and waits for its check to finish: (`data-verify`,
    /// `data-step`, what it said).
    async fn verify(&self, url: &str) -> (String, String, String) {
        self.c().goto(url).await.unwrap();
        let started = Instant::now();
        loop {
            let state = self
                .attr("#verify", "data-verify")
                .await
                .unwrap_or_default();
            if state != "pending" {
                let step = self.attr("#verify", "data-step").await.unwrap_or_default();
                let said = self.text("#verify").await;
                return (state, step, said);
            }
            assert!(started.elapsed() < WAIT, "{url}: the check did not finish");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Clicks the element and waits until the browser has loaded the page it leads to.
    async fn follow(&self, css: &str) {
        let before = self.c().current_url().await.unwrap();
        self.c()
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let started = Instant::now();
        loop {
            let now = self.c().current_url().await.unwrap();
            let ready = self
                .c()
                .execute("return document.readyState;", vec![])
                .await
                .unwrap();
            if now != before && ready == json!("complete") {
                return;
            }
            assert!(started.elapsed() < WAIT, "clicking {css} led nowhere");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn close(mut self) {
        if let Some(c) = self.client.take() {
            c.close().await.unwrap();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The chromedriver this test started, by its own handle; closing the session
        // (above) already ended its Chromium.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Serves the registry's router on a real socket on 127.0.0.1.
async fn serve(r: &Registry) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = r
        .app
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// How a proxy changes a page.
type Alter = fn(String) -> String;

/// A proxy in front of `upstream` that passes every request through and, on `path`,
/// applies `alter` to the page.
fn proxy(upstream: &str, path: &str, alter: Alter) -> TestServer {
    let empty = tempfile::tempdir().unwrap().keep();
    let (upstream, path) = (upstream.to_owned(), path.to_owned());
    TestServer::with_handler(&empty, move |req| {
        let mut response = ureq::get(&format!("{upstream}{}", req.path)).call().ok()?;
        let headers: Vec<(String, String)> =
            ["content-type", "content-security-policy", "cache-control"]
                .iter()
                .filter_map(|h| {
                    let v = response.headers().get(*h)?.to_str().ok()?;
                    Some(((*h).to_owned(), v.to_owned()))
                })
                .collect();
        let mut body = response.body_mut().read_to_vec().ok()?;
        if req.path == path {
            body = alter(String::from_utf8(body).unwrap()).into_bytes();
        }
        Some(Response {
            status: 200,
            headers,
            body,
        })
    })
}

/// Replaces one byte of the text of element `id` (a `<pre>`): the first letter or digit
/// at or after `skip` bytes past `find`, with another of the same class (a letter with
/// another letter, a digit with another digit), so that the page still parses but says
/// something else.
fn alter_in(html: &str, id: &str, find: &str, skip: usize) -> String {
    let open = format!("id=\"{id}\"");
    let start = html.find(&open).unwrap();
    let end = start + html[start..].find("</pre>").unwrap();
    let mut within = start + html[start..end].find(find).unwrap() + skip;
    let mut bytes = html.as_bytes().to_vec();
    while !bytes[within].is_ascii_alphanumeric() {
        within += 1;
    }
    assert!(within < end, "nothing to alter in #{id}");
    let b = bytes[within];
    bytes[within] = match b {
        b'a'..=b'y' | b'A'..=b'Y' | b'0'..=b'8' => b + 1,
        b'z' | b'Z' | b'9' => b - 1,
        _ => panic!("cannot alter {:?} at {within}", b as char),
    };
    String::from_utf8(bytes).unwrap()
}

/// Alters line `line` (from 0) of the text of element `id` at column `col`, as
/// [`alter_in`] does.
fn alter_line(html: &str, id: &str, line: usize, col: usize) -> String {
    let open = format!("id=\"{id}\">");
    let start = html.find(&open).unwrap() + open.len();
    let skip: usize = html[start..]
        .split('\n')
        .take(line)
        .map(|l| l.len() + 1)
        .sum();
    alter_in(html, id, &open, open.len() + skip + col)
}

/// A registry with a few signers in three scripts and one withdrawal; returns it and
/// the index of an endorsement whose inclusion proof has hashes.
async fn registry() -> (Registry, u64) {
    let r = Registry::new();
    r.endorse(1, "张三", Some("清华大学"), Some("教授"), T0)
        .await;
    let alice = r
        .endorse(2, "Alice Example", Some("Example Lab"), None, T0 + 1)
        .await;
    r.endorse(
        3,
        "Фёдор Достоевский",
        Some("Санкт-Петербург"),
        None,
        T0 + 2,
    )
    .await;
    r.endorse(4, "Withdrawn Signer", None, None, T0 + 3).await;
    r.withdraw(4, T0 + 4).await;
    (r, alice)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_in_chromium() {
    let (r, alice) = registry().await;
    let url = serve(&r).await;
    let b = Browser::start(true).await;

    // The letter page: the canonical text, the count equal to /v1/log, the names.
    b.c()
        .goto(&format!("{url}/letters/pause-giant-ai-experiments"))
        .await
        .unwrap();
    let log = r.get("/v1/log").await.json();
    let count = b.text("#count-signers").await;
    assert_eq!(count, log["letters"][0]["signers"].to_string());
    assert_eq!(count, "3");
    assert_eq!(b.text("#count-withdrawn").await, "1");
    let text = b.text(".letter .text").await;
    let letter = support::letter();
    let first = letter.text().lines().next().unwrap();
    assert!(text.contains(first.trim()), "the letter's first paragraph");
    let last = letter.text().trim_end().lines().last().unwrap();
    assert!(text.contains(last.trim()), "the letter's last paragraph");
    let list = b.text("#signer-list").await;
    for name in ["张三", "Alice Example", "Фёдор Достоевский", "清华大学"] {
        assert!(list.contains(name), "{name} in {list}");
    }
    assert!(
        !list.contains("Withdrawn Signer"),
        "a withdrawn signer is not among those shown"
    );
    assert_eq!(b.attr(".letter .text", "lang").await.as_deref(), Some("zh"));

    // The entry page checks itself and ends valid, saying what it checked.
    let (state, step, said) = b.verify(&format!("{url}/entries/{alice}")).await;
    assert_eq!((state.as_str(), step.as_str()), ("valid", ""), "{said}");
    for words in [
        "signed by the key in its key line",
        "hashes to sha256:",
        "inclusion proof",
        "signed by the log key",
        "no witnesses",
    ] {
        assert!(said.contains(words), "{words:?} in {said}");
    }
    let millis: u64 = b
        .attr("#verify", "data-millis")
        .await
        .unwrap()
        .parse()
        .unwrap();
    assert!(millis < 5_000, "the check took {millis} ms");
    // Every entry of the log, registration and withdrawal included, checks valid.
    for index in 0..r.log.head().size {
        let (state, _, said) = b.verify(&format!("{url}/entries/{index}")).await;
        assert_eq!(state, "valid", "entry {index}: {said}");
    }
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_altered_byte_makes_the_check_fail_at_its_step() {
    let (r, alice) = registry().await;
    let url = serve(&r).await;
    let path = format!("/entries/{alice}");
    let b = Browser::start(true).await;
    let cases: [(&str, Alter, &str); 6] = [
        // A letter of the signer's name.
        (
            "note",
            |h| alter_in(&h, "note", "name Alice", 6),
            "signature",
        ),
        // A character inside the first proof hash (past the index line).
        (
            "proof",
            |h| alter_in(&h, "proof", "\nindex ", 12),
            "inclusion",
        ),
        // A character of the checkpoint's signature.
        (
            "checkpoint signature",
            |h| alter_in(&h, "checkpoint", "\u{2014} ", 40),
            "checkpoint",
        ),
        // A character of the checkpoint's root hash (its third line).
        (
            "checkpoint root",
            |h| alter_line(&h, "checkpoint", 2, 3),
            "inclusion",
        ),
        // A digit of the checkpoint's tree size: the proof's path may still lead to the
        // root, but the log key did not sign that size.
        (
            "checkpoint size",
            |h| alter_line(&h, "checkpoint", 1, 0),
            "checkpoint",
        ),
        // A character of the letter's text.
        ("letter", |h| alter_in(&h, "letter-text", "AI", 0), "letter"),
    ];
    for (what, alter, want) in cases {
        let proxy = proxy(&url, &path, alter);
        let (state, step, said) = b.verify(&format!("{}{path}", proxy.url())).await;
        assert_eq!(
            (state.as_str(), step.as_str()),
            ("invalid", want),
            "{what}: {said}"
        );
    }
    // The proxy passes the page through unchanged when it alters nothing.
    let proxy = proxy(&url, "/none", |h| h);
    let (state, _, said) = b.verify(&format!("{}{path}", proxy.url())).await;
    assert_eq!(state, "valid", "{said}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_paging_work_with_javascript_off() {
    let r = Registry::new();
    for n in 0..105u32 {
        let name = if n == 42 {
            "Иван Петров".to_owned()
        } else {
            format!("Signer {n}")
        };
        r.endorse(n, &name, None, None, T0 + u64::from(n)).await;
    }
    let url = serve(&r).await;
    let b = Browser::start(false).await;
    let c = b.c();
    c.goto(&format!("{url}/letters/pause-giant-ai-experiments"))
        .await
        .unwrap();
    // JavaScript is off: a script cannot even run (WebDriver's own scripts aside, the
    // page's would not), so prove it on an entry page, whose check stays pending.
    let rows = c.find_all(Locator::Css("#signer-list > li")).await.unwrap();
    assert_eq!(rows.len(), 100);
    b.follow("a#next").await;
    let rows = c.find_all(Locator::Css("#signer-list > li")).await.unwrap();
    assert_eq!(rows.len(), 5);
    assert!(b.text("#signer-list").await.contains("Signer 104"));
    // Search by typing into the form and pressing its button.
    let input = c.find(Locator::Css("input#q")).await.unwrap();
    input.send_keys("иван").await.unwrap();
    b.follow("form.search button").await;
    let rows = c.find_all(Locator::Css("#signer-list > li")).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(b.text("#signer-list").await.contains("Иван Петров"));
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("q=%D0%B8%D0%B2%D0%B0%D0%BD")
    );
    // The withdrawn list is a link too.
    r.withdraw(7, T0 + 1000).await;
    c.goto(&format!("{url}/letters/pause-giant-ai-experiments"))
        .await
        .unwrap();
    b.follow("a.count[href*='status=withdrawn']").await;
    let list = b.text("#signer-list").await;
    assert!(
        list.contains("Signer 7") && list.contains("withdrawn"),
        "{list}"
    );
    // Without JavaScript the entry page says how to check the entry instead.
    c.goto(&format!("{url}/entries/1")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        b.attr("#verify", "data-verify").await.as_deref(),
        Some("pending")
    );
    assert!(b.text("#verify").await.contains("signet verify"));
    b.close().await;
}

/// The shared vectors, run in the page by the verifier module itself.
const RUN_VECTORS: &str = r#"
const [src, vectors, goMod, example, done] = arguments;
(async () => {
  const v = await import(src);
  const out = [];
  const fails = (m) => m === null ? null
    : m.includes("public key") ? "key"
    : m.includes("signature's R") ? "r"
    : m.includes("S is not below") ? "scalar" : "signature";
  for (const t of vectors.ed25519) {
    let got = null;
    try { await v.verifyEd25519(v.fromHex(t.public_key), v.fromHex(t.message), v.fromHex(t.signature)); }
    catch (e) { got = e.message; }
    out.push({ what: t.comment, want: t.fails, got: fails(got), message: got });
  }
  for (const t of vectors.points) {
    let got = true;
    try { v.checkPoint(v.fromHex(t.encoding), "the point"); } catch (e) { got = false; }
    out.push({ what: t.comment, want: t.valid, got });
  }
  for (const t of vectors.letters) {
    const id = await v.letterId(t.text);
    out.push({ what: t.comment, want: [t.canonical, t.id], got: [v.canonicalLetter(t.text), id] });
  }
  const enc = new TextEncoder();
  for (const p of goMod.inclusion) {
    const leaf = await v.leafHash(enc.encode("leaf-" + p.index));
    const root = v.fromBase64(goMod.roots[String(p.size)]);
    const ok = await v.verifyInclusion(p.index, p.size, leaf, p.hashes.map(v.fromBase64), root);
    out.push({ what: `inclusion ${p.index} in ${p.size}`, want: true, got: ok });
    if (p.hashes.length > 0) {
      const bad = p.hashes.map(v.fromBase64);
      bad[0][0] ^= 1;
      const no = await v.verifyInclusion(p.index, p.size, leaf, bad, root);
      out.push({ what: `altered inclusion ${p.index} in ${p.size}`, want: false, got: no });
    }
  }
  for (const [vkey, note] of example) {
    let got = null;
    try {
      const k = await v.parseVerifierKey(vkey);
      const n = v.parseNote(note);
      const sig = n.signatures.find((s) => s.name === k.name);
      await v.verifyEd25519(k.key, enc.encode(n.text), sig.sig.subarray(4));
    } catch (e) { got = e.message; }
    out.push({ what: `note signed by ${vkey}`, want: null, got });
  }
  done(out);
})().catch((e) => done([{ what: "the runner", want: null, got: String(e) }]));
"#;

/// The witness-quorum vectors, run in the page by the verifier module itself: which
/// witnesses cosigned (every line checked), then whether the quorum is met.
const RUN_QUORUMS: &str = r#"
const [src, cases, done] = arguments;
(async () => {
  const v = await import(src);
  const out = [];
  for (const c of cases) {
    const signed = v.parseNote(c.checkpoint);
    const cosigned = [];
    for (const w of c.witnesses) cosigned.push(await v.cosignedBy(w, signed));
    const got = c.spec === null
      ? true
      : v.quorumMet({ quorum: c.spec.quorum, groups: v.parseGroups(c.spec.groups) }, cosigned);
    out.push({ what: c.comment, want: c.met, got, cosigned });
  }
  done(out);
})().catch((e) => done([{ what: "the quorum runner", want: null, got: String(e) }]));
"#;

fn testdata(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_vectors_pass_in_the_browser() {
    let (r, alice) = registry().await;
    let url = serve(&r).await;
    let b = Browser::start(true).await;
    b.c().goto(&format!("{url}/entries/{alice}")).await.unwrap();
    let src = b.attr("script[type=module]", "src").await.unwrap();
    let vectors: Value =
        serde_json::from_str(&testdata("tests/testdata/verify/vectors.json")).unwrap();
    let go_mod: Value =
        serde_json::from_str(&testdata("../signet-core/tests/testdata/go-x-mod.json")).unwrap();
    let core = "../signet-core/tests/testdata/";
    let example = json!([
        [
            testdata(&format!("{core}signed-note-example.vkey")).trim(),
            testdata(&format!("{core}signed-note-example.note"))
        ],
        [
            go_mod["notes"][0]["vkey"],
            go_mod["notes"][0]["signed_note"]
        ],
        [
            go_mod["notes"][1]["vkey"],
            go_mod["notes"][1]["signed_note"]
        ],
    ]);
    let results = b
        .c()
        .execute_async(
            RUN_VECTORS,
            vec![json!(src), vectors.clone(), go_mod.clone(), example],
        )
        .await
        .unwrap();
    let mut results = results.as_array().unwrap().clone();
    // The witness quorums: each vector's checkpoint, signed and cosigned in Rust, is
    // checked by the page's own cosignature and quorum code.
    let quorums: Vec<Value> = support::quorum_vectors()
        .iter()
        .map(|case| {
            let c = support::quorum_case(case);
            json!({
                "comment": case["comment"],
                "witnesses": c.witnesses.iter().map(|(name, vkey)| json!({"name": name, "vkey": vkey})).collect::<Vec<_>>(),
                "checkpoint": String::from_utf8(c.checkpoint.to_bytes()).unwrap(),
                "spec": case["spec"],
                "met": case["met"],
            })
        })
        .collect();
    let quorum_results = b
        .c()
        .execute_async(RUN_QUORUMS, vec![json!(src), json!(quorums)])
        .await
        .unwrap();
    let quorum_results = quorum_results.as_array().unwrap();
    assert_eq!(quorum_results.len(), quorums.len(), "{quorum_results:?}");
    results.extend(quorum_results.iter().cloned());
    let want = vectors["ed25519"].as_array().unwrap().len()
        + vectors["points"].as_array().unwrap().len()
        + vectors["letters"].as_array().unwrap().len();
    assert!(results.len() > want + 10, "{results:?}");
    for r in results {
        assert_eq!(r["want"], r["got"], "{r}");
    }
    b.close().await;
}

/// axe-core's script: `SIGNET_AXE_JS`, or the copy `.ci/run` fetched from the npm
/// registry into `target/axe-core/`, or fetched now with `npm pack`.
/// Scrolls the element `arguments[0]` into view and answers (true, or false when there
/// is no such element) only after two animation frames, so that a screenshot taken next
/// shows the page painted at its new place rather than a blank frame.
const SCROLL: &str = "const done = arguments[arguments.length - 1]; \
    const e = document.querySelector(arguments[0]); \
    if (!e) { done(false); return; } \
    e.scrollIntoView(); \
    requestAnimationFrame(() => requestAnimationFrame(() => done(true)));";

fn axe_source() -> String {
    if let Some(path) = std::env::var_os("SIGNET_AXE_JS") {
        return std::fs::read_to_string(path).expect("read SIGNET_AXE_JS");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/axe-core");
    let file = dir.join("package/axe.min.js");
    if !file.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("sh")
            .arg("-c")
            .arg("npm pack --silent axe-core@4 --pack-destination . >/dev/null && tar -xzf axe-core-*.tgz")
            .current_dir(&dir)
            .status()
            .expect("run npm to fetch axe-core");
        assert!(
            status.success(),
            "could not fetch axe-core from the npm registry (npm pack axe-core@4)"
        );
    }
    std::fs::read_to_string(file).unwrap()
}

const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.html).slice(0, 3) }))))
  .catch((e) => done([{ id: "axe failed", impact: "critical", help: String(e) }]));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_serious_accessibility_violation_and_screenshots_at_two_widths() {
    let Readers { r, alice, fake, .. } = readers_registry().await;
    let url = serve(&r).await;
    let axe = axe_source();
    let b = Browser::start(true).await;
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/page-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let pages = [
        ("letter", "/letters/pause-giant-ai-experiments".to_owned()),
        (
            "letter-zh",
            "/letters/pause-giant-ai-experiments?lang=zh".to_owned(),
        ),
        ("entry", format!("/entries/{alice}")),
        ("entry-hidden", format!("/entries/{fake}")),
        (
            "hidden",
            "/letters/pause-giant-ai-experiments/hidden".to_owned(),
        ),
        (
            "withdrawn",
            "/letters/pause-giant-ai-experiments?status=withdrawn".to_owned(),
        ),
    ];
    for (name, path) in &pages {
        for (width, height) in [(390u32, 844u32), (1280, 900)] {
            b.c().set_window_size(width, height).await.unwrap();
            if name.starts_with("entry") {
                let (state, _, said) = b.verify(&format!("{url}{path}")).await;
                assert_eq!(state, "valid", "{said}");
            } else {
                b.c().goto(&format!("{url}{path}")).await.unwrap();
            }
            b.c()
                .execute(&format!("{axe}\n;return true;"), vec![])
                .await
                .unwrap();
            let violations = b.c().execute_async(RUN_AXE, vec![]).await.unwrap();
            let serious: Vec<&Value> = violations
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
                .collect();
            assert!(serious.is_empty(), "{name} at {width} px: {serious:#?}");
            // Nothing wider than the window: a phone reader never scrolls sideways.
            let overflow = b
                .c()
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap() <= 0,
                "{name} at {width} px overflows by {overflow}"
            );
            // The top of the page, then its main parts scrolled into view.
            for (part, css) in [
                ("top", "body"),
                ("list", "#signers, #status, #hide-list, #no-hides"),
                ("fields", "#fields"),
                ("footer", "footer"),
            ] {
                let found = b.c().execute_async(SCROLL, vec![json!(css)]).await.unwrap();
                if found != json!(true) {
                    continue;
                }
                let png = b.c().screenshot().await.unwrap();
                assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
                std::fs::write(shots.join(format!("{name}-{width}-{part}.png")), png).unwrap();
            }
        }
    }
    b.close().await;
}

/// A `signet-witness` process on a port of its own, for the policy of one log.
struct Witness {
    child: Child,
    url: String,
    vkey: String,
    _data: tempfile::TempDir,
}

impl Witness {
    fn start(name: &str, log_vkey: &str) -> Witness {
        use std::io::BufRead as _;
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(signet_testkit::harness::witness_bin())
            .arg("--data")
            .arg(data.path())
            .args(["--name", name, "--log", log_vkey, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start signet-witness");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("signet-witness says where it listens");
        let vkey = std::fs::read_to_string(data.path().join("witness.vkey"))
            .unwrap()
            .trim()
            .to_owned();
        Witness {
            child,
            url,
            vkey,
            _data: data,
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        // The witness this test started, by its own handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry whose checkpoints two real witnesses cosign, under a policy that needs
/// both (`group both all alpha beta`); returns it, the witnesses, and an endorsement.
async fn witnessed_registry() -> (Registry, [Witness; 2], u64) {
    // The log's key exists once the log has opened; the witnesses need it.
    let dir = tempfile::tempdir().unwrap();
    let log_vkey = {
        let r = Registry::open(dir);
        let vkey = r.log.verifier().to_string();
        r.log.close();
        let Registry { dir, log, app } = r;
        drop(app);
        drop(log);
        (dir, vkey)
    };
    let (dir, log_vkey) = log_vkey;
    let alpha = Witness::start("alpha.witness.test", &log_vkey);
    let beta = Witness::start("beta.witness.test", &log_vkey);
    let policy = format!(
        "log {log_vkey}\nwitness alpha {} {}\nwitness beta {} {}\ngroup both all alpha beta\nquorum both\n",
        alpha.vkey, alpha.url, beta.vkey, beta.url
    );
    let client = signet_server::witnesses::WitnessClient::from_policy(
        policy.as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap();
    let r = Registry::open_with(dir, |c| c.cosigners = Some(std::sync::Arc::new(client)));
    r.endorse(1, "张三", Some("清华大学"), None, T0).await;
    let alice = r
        .endorse(2, "Alice Example", Some("Example Lab"), None, T0 + 1)
        .await;
    r.endorse(3, "Фёдор Достоевский", None, None, T0 + 2).await;
    (r, [alpha, beta], alice)
}

/// Removes the checkpoint's cosignature line by the beta witness.
fn without_beta(html: String) -> String {
    let start = html.find("id=\"checkpoint\"").unwrap();
    let line = start + html[start..].find("\u{2014} beta.witness.test ").unwrap();
    let end = line + html[line..].find('\n').unwrap() + 1;
    format!("{}{}", &html[..line], &html[end..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_quorum_is_checked_in_the_browser() {
    let (r, _witnesses, alice) = witnessed_registry().await;
    let url = serve(&r).await;
    let path = format!("/entries/{alice}");
    let page = r.get(&path).await.text();
    assert!(
        page.contains("data-quorum=\"g0\" data-groups=\"2:w0 w1\""),
        "{page}"
    );
    let b = Browser::start(true).await;

    // Both witnesses cosigned the checkpoint the page shows: valid, and said in words.
    let (state, step, said) = b.verify(&format!("{url}{path}")).await;
    assert_eq!((state.as_str(), step.as_str()), ("valid", ""), "{said}");
    assert!(
        said.contains("cosigned by alpha, beta")
            && said.contains("quorum (all 2 of these: alpha, beta) is met"),
        "{said}"
    );
    assert!(
        b.text("p.cosigners")
            .await
            .contains("all 2 of these: alpha, beta")
    );
    // What the reader sees of the witnesses, at both widths.
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/page-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for width in [390u32, 1280] {
        b.c().set_window_size(width, 900).await.unwrap();
        let found = b
            .c()
            .execute_async(SCROLL, vec![json!("p.cosigners")])
            .await
            .unwrap();
        assert_eq!(found, json!(true), "the witnesses' paragraph");
        let png = b.c().screenshot().await.unwrap();
        std::fs::write(shots.join(format!("entry-witnessed-{width}.png")), png).unwrap();
    }
    // Every entry of the log, each with the same cosigned checkpoint.
    for index in 0..r.log.head().size {
        let (state, _, said) = b.verify(&format!("{url}/entries/{index}")).await;
        assert_eq!(state, "valid", "entry {index}: {said}");
    }

    // A required cosignature missing, or altered by one byte: invalid at that step,
    // naming the witness that did cosign and the one that did not.
    let cases: [(&str, Alter); 2] = [
        ("missing", without_beta),
        ("altered", |h| {
            alter_in(&h, "checkpoint", "\u{2014} beta.witness.test ", 60)
        }),
    ];
    for (what, alter) in cases {
        let proxy = proxy(&url, &path, alter);
        let (state, step, said) = b.verify(&format!("{}{path}", proxy.url())).await;
        assert_eq!(
            (state.as_str(), step.as_str()),
            ("invalid", "cosignatures"),
            "{what}: {said}"
        );
        assert!(
            said.contains("cosigned by alpha") && said.contains("no valid cosignature by beta"),
            "{what}: {said}"
        );
    }
    b.close().await;
}

/// What a registry with badges, a hide and a withdrawal holds.
struct Readers {
    r: Registry,
    moderator: signet_core::SigningKey,
    /// Alice's endorsement: two verified claims.
    alice: u64,
    /// A look-alike of a real signer, hidden as an impersonation.
    fake: u64,
    /// The moderation that hides it.
    hide: u64,
    /// An endorsement its signer withdrew, and the withdrawal.
    withdrawn: u64,
    withdrawal: u64,
}

/// A registry as readers meet it: signers in three scripts, two with verified claims
/// (one far down the list, with a long name, affiliation and claim), one hidden by an
/// appointed moderator, one withdrawn.
async fn readers_registry() -> Readers {
    let moderator = signet_core::SigningKey::from_seed(
        signet_core::KeyName::parse("moderator-a").unwrap(),
        signet_core::keys::SignatureType::Ed25519,
        &[42; 32],
    );
    let appointed = moderator.verifier();
    let r = Registry::open_with(tempfile::tempdir().unwrap(), |c| {
        c.moderators = vec![appointed];
    });
    r.endorse(1, "张三", Some("清华大学"), Some("教授"), T0)
        .await;
    let alice = r
        .endorse_claiming(
            2,
            "Alice Example",
            &["dns:alice.example", "github:alice-example"],
            T0 + 1,
        )
        .await;
    r.verified(2, "dns:alice.example", NOW - 600);
    r.verified(2, "github:alice-example", NOW - 300);
    r.endorse(
        3,
        "Фёдор Достоевский",
        Some("Санкт-Петербург"),
        None,
        T0 + 2,
    )
    .await;
    let real = r.endorse(4, "Sam Altman", None, None, T0 + 3).await;
    let fake = r.endorse(5, "\u{0405}am Altman", None, None, T0 + 4).await;
    let withdrawn = r.endorse(6, "Withdrawn Signer", None, None, T0 + 5).await;
    let withdrawal = r.withdraw(6, T0 + 6).await;
    for n in 7..12u32 {
        r.endorse(
            n,
            &format!("Signer {n}"),
            Some("Example Lab"),
            None,
            T0 + u64::from(n),
        )
        .await;
    }
    let long_claim = "https://www.example-university.edu/people/faculty/maximiliane-hohenzollern";
    r.endorse_claiming(
        12,
        "Maximiliane Alexandra von Hohenzollern-Sigmaringen",
        &[long_claim],
        T0 + 12,
    )
    .await;
    r.verified(12, long_claim, NOW - 60);
    let hide = r
        .hide(
            &moderator,
            fake,
            signet_core::entry::ModerationReason::Impersonation,
            Some("not the real Sam Altman"),
            T0 + 20,
        )
        .await;
    assert!(real < fake);
    Readers {
        r,
        moderator,
        alice,
        fake,
        hide,
        withdrawn,
        withdrawal,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawn_hidden_and_verified_signers_as_readers_see_them() {
    let s = readers_registry().await;
    let url = serve(&s.r).await;
    let letter = format!("{url}/letters/pause-giant-ai-experiments");
    let b = Browser::start(true).await;
    let c = b.c();

    // The letter page: verified signers first, each with a badge per verified claim
    // (kind and value); the hidden and the withdrawn signers are not listed, and the
    // counts say how many there are.
    c.goto(&letter).await.unwrap();
    let names = c
        .find_all(Locator::Css("#signer-list > li .name"))
        .await
        .unwrap();
    let mut listed = Vec::new();
    for n in names {
        listed.push(n.text().await.unwrap());
    }
    assert_eq!(
        listed[..3],
        [
            "Alice Example",
            "Maximiliane Alexandra von Hohenzollern-Sigmaringen",
            "张三"
        ],
        "{listed:?}"
    );
    assert_eq!(listed.len(), 10, "{listed:?}");
    assert!(listed.contains(&"Sam Altman".to_owned()));
    assert!(
        !listed
            .iter()
            .any(|n| n.contains("\u{0405}am") || n.contains("Withdrawn"))
    );
    let first = b.text("#signer-list > li:first-child").await;
    assert!(
        first.contains("dns alice.example") && first.contains("github alice-example"),
        "{first}"
    );
    let badges = c
        .find_all(Locator::Css("#signer-list .badge"))
        .await
        .unwrap();
    assert_eq!(badges.len(), 3);
    assert_eq!(b.text("#count-signers").await, "10");
    assert_eq!(b.text("#count-withdrawn").await, "1");
    assert_eq!(b.text("#count-hidden").await, "1");
    assert!(
        b.text("p.hidden-line")
            .await
            .starts_with("1 signer is hidden from this list by a moderator.")
    );

    // The hides page, from the letter page's link: the name, the reason, the note,
    // the time and the moderator by name and key.
    b.follow("p.hidden-line a").await;
    let hides = b.text("#hide-list").await;
    for words in [
        "\u{0405}am Altman",
        "impersonation",
        "not the real Sam Altman",
        "moderator-a",
    ] {
        assert!(hides.contains(words), "{words:?} in {hides}");
    }
    assert!(hides.contains(&s.moderator.verifier().to_string()));
    b.follow(&format!("#hide-list a[href='/entries/{}']", s.fake))
        .await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with(&format!("/entries/{}", s.fake))
    );

    // The hidden signer's entry page: hidden, with the hide's reason, note and
    // moderator, and still a sound entry of the log.
    let (state, _, said) = b.verify(&format!("{url}/entries/{}", s.fake)).await;
    assert_eq!(state, "valid", "{said}");
    assert!(c.find(Locator::Css("[data-status='hidden']")).await.is_ok());
    let status = b.text("#status").await;
    for words in [
        "Hidden by a moderator",
        "impersonation",
        "not the real Sam Altman",
        "moderator-a",
    ] {
        assert!(status.contains(words), "{words:?} in {status}");
    }
    assert!(status.contains(&format!("#{}", s.hide)), "{status}");

    // The withdrawn signer: in the withdrawn list, marked; its entry page says so and
    // links the withdrawal.
    c.goto(&letter).await.unwrap();
    b.follow("a.count[href*='status=withdrawn']").await;
    let withdrawn = b.text("#signer-list").await;
    assert!(
        withdrawn.contains("Withdrawn Signer") && withdrawn.contains("withdrawn"),
        "{withdrawn}"
    );
    let (state, _, said) = b.verify(&format!("{url}/entries/{}", s.withdrawn)).await;
    assert_eq!(state, "valid", "{said}");
    assert!(
        b.text("[data-status='withdrawn']")
            .await
            .contains("Withdrawn by the signer")
    );
    assert_eq!(
        b.attr("[data-status='withdrawn'] a", "href").await.unwrap(),
        format!("/entries/{}", s.withdrawal)
    );

    // The verified signer's entry page: each claim verified, with its check.
    let (state, _, said) = b.verify(&format!("{url}/entries/{}", s.alice)).await;
    assert_eq!(state, "valid", "{said}");
    let claims = b.text("#claims").await;
    assert_eq!(claims.matches("verified").count(), 2, "{claims}");
    assert!(claims.contains("dns alice.example") && claims.contains("github alice-example"));
    b.close().await;
}
