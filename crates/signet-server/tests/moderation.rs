//! Moderation through the HTTP API (see docs/http-api.md): appointments at start, every
//! refusal of a moderation with its status and message, `hidden` and `status=hidden` in
//! the listing, counts and moderators in `/v1/log`, the new kinds in `/v1/entries`, and
//! look-alike search in Latin, Cyrillic, Greek and Chinese.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use signet_core::entry::{ModerationAction, ModerationReason};
use signet_core::{Letter, LetterId, SigningKey, Statement};
use signet_log::{Config, Log};
use signet_server::{AppState, Settings, app};
use signet_testkit::entries::{self, key, time};
use signet_testkit::harness::letters_dir;
use tower::ServiceExt as _;

/// The server's clock: a day after the test times.
const NOW: u64 = entries::EPOCH + 86_400;

fn letter_id() -> LetterId {
    let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
    Letter::from_bytes(&text).unwrap().id()
}

fn moderator() -> SigningKey {
    key("mod-a", "moderator a")
}

struct Server {
    _dir: tempfile::TempDir,
    log: Arc<Log>,
    app: Router,
}

fn config(dir: &Path, moderators: &[&SigningKey]) -> Config {
    Config {
        letters_dir: Some(letters_dir()),
        batch_interval: Duration::from_millis(1),
        moderators: moderators.iter().map(|k| k.verifier()).collect(),
        ..Config::new(dir)
    }
}

fn open(dir: tempfile::TempDir, moderators: &[&SigningKey]) -> Server {
    let log = Arc::new(Log::open(config(dir.path(), moderators)).unwrap());
    let settings = Settings {
        rate_limit: 0,
        ..Settings::default()
    };
    let app = app(AppState::new(log.clone(), settings).with_clock(|| NOW));
    Server {
        _dir: dir,
        log,
        app,
    }
}

fn server() -> Server {
    open(tempfile::tempdir().unwrap(), &[&moderator()])
}

async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&body)));
    (status, json)
}

async fn get(s: &Server, uri: &str) -> Value {
    let (status, json) = call(&s.app, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {json}");
    json
}

async fn post(s: &Server, bytes: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post("/v1/endorsements")
        .header("content-type", "text/plain")
        .body(Body::from(bytes))
        .unwrap();
    call(&s.app, request).await
}

/// Submits an entry that must be accepted; its index.
async fn accepted(s: &Server, bytes: Vec<u8>) -> u64 {
    let (status, json) = post(s, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json["index"].as_u64().unwrap()
}

/// Submits an entry that must be refused with `status` and a message containing
/// `want`, leaving the log's size as it was.
async fn refused(s: &Server, bytes: Vec<u8>, status: StatusCode, want: &str) {
    let before = s.log.head().size;
    let (got, json) = post(s, bytes).await;
    assert_eq!(got, status, "{want}: {json}");
    let message = json["message"].as_str().unwrap();
    assert!(message.contains(want), "{message}\nwanted {want:?}");
    assert_eq!(s.log.head().size, before, "{want}");
}

fn signer(n: u32) -> SigningKey {
    key(&format!("signer-{n}"), &format!("signer {n}"))
}

fn endorse(n: u32, name: &str, t: u64) -> Vec<u8> {
    entries::endorsement(&signer(n), letter_id(), name, t)
}

fn moderation(by: &SigningKey, target: u64, action: ModerationAction, t: u64) -> Vec<u8> {
    let statement = entries::unsigned_moderation(
        by,
        letter_id(),
        target,
        action,
        ModerationReason::Impersonation,
        time(t),
    );
    entries::signed(Statement::Moderation(statement), by)
}

async fn listing(s: &Server, query: &str) -> Vec<Value> {
    let json = get(
        s,
        &format!("/v1/signatories?letter=pause-giant-ai-experiments{query}"),
    )
    .await;
    json["items"].as_array().unwrap().clone()
}

fn names(items: &[Value]) -> Vec<&str> {
    items.iter().map(|i| i["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn moderators_are_appointed_once_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let s = open(dir, &[&moderator()]);
    let log = get(&s, "/v1/log").await;
    let moderators = log["moderators"].as_array().unwrap();
    assert_eq!(moderators.len(), 1, "{log}");
    assert_eq!(moderators[0]["name"], "mod-a");
    assert_eq!(moderators[0]["key"], moderator().verifier().to_string());
    let index = moderators[0]["index"].as_u64().unwrap();
    let entry = get(&s, &format!("/v1/entries/{index}")).await;
    assert_eq!(entry["kind"], "moderator");
    assert_eq!(entry["moderator"], moderator().verifier().to_string());
    assert!(entry.get("letter").is_none(), "{entry}");
    let size = s.log.head().size;
    s.log.close();
    drop(s);
    // A restart with the same key appoints nothing new; a second key is appointed.
    let second = key("mod-b", "moderator b");
    let log = Log::open(config(&path, &[&moderator(), &second])).unwrap();
    assert_eq!(log.head().size, size + 1);
    assert_eq!(log.moderators().unwrap().len(), 2);
    log.close();
    drop(log);
    // The log's own key is refused as a moderator, with a message saying what to do.
    let log_key = std::fs::read_to_string(path.join("log.vkey")).unwrap();
    let own = signet_core::VerifierKey::parse(log_key.trim()).unwrap();
    let err = Log::open(Config {
        moderators: vec![own],
        ..config(&path, &[])
    })
    .unwrap_err();
    assert!(err.to_string().contains("signet keygen"), "{err}");
}

#[tokio::test]
async fn every_refusal_has_its_status_and_message() {
    let s = server();
    let m = moderator();
    let alice = accepted(&s, endorse(1, "Alice", 10)).await;
    // A moderation by a key that was never appointed, and by the log's own key (whose
    // private half a test cannot have: a key with the same name is as unappointed).
    refused(
        &s,
        moderation(
            &key("mallory", "mallory"),
            alice,
            ModerationAction::Hide,
            20,
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not an appointed moderator",
    )
    .await;
    // A target that is not an endorsement (the registration at 0), and one later than
    // the moderation.
    refused(
        &s,
        moderation(&m, 0, ModerationAction::Hide, 20),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not an endorsement",
    )
    .await;
    refused(
        &s,
        moderation(&m, alice + 5, ModerationAction::Hide, 20),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not earlier",
    )
    .await;
    // A target of another letter: the moderation names a letter the log does not host.
    let other = entries::signed(
        Statement::Moderation(entries::unsigned_moderation(
            &m,
            entries::letter(7).id(),
            alice,
            ModerationAction::Hide,
            ModerationReason::Spam,
            time(20),
        )),
        &m,
    );
    refused(
        &s,
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not registered",
    )
    .await;
    // Show while shown; hide, then hide twice; a time that does not increase.
    refused(
        &s,
        moderation(&m, alice, ModerationAction::Show, 20),
        StatusCode::UNPROCESSABLE_ENTITY,
        "not hidden",
    )
    .await;
    let hide = moderation(&m, alice, ModerationAction::Hide, 20);
    accepted(&s, hide.clone()).await;
    refused(
        &s,
        moderation(&m, alice, ModerationAction::Hide, 30),
        StatusCode::UNPROCESSABLE_ENTITY,
        "already hidden",
    )
    .await;
    refused(
        &s,
        moderation(&m, alice, ModerationAction::Show, 20),
        StatusCode::UNPROCESSABLE_ENTITY,
        "must be later",
    )
    .await;
    // Identical bytes are the existing entry: 200, same index.
    let (status, json) = post(&s, hide).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    // A submitted appointment, even one signed by a real log key under another name.
    let appointment = entries::appointment(&key("example.org-log", "x"), &key("mod-c", "c"), 1);
    refused(
        &s,
        appointment,
        StatusCode::UNPROCESSABLE_ENTITY,
        "written by the log itself",
    )
    .await;
    // A malformed moderation is 400.
    let bad = String::from_utf8(moderation(&m, alice, ModerationAction::Show, 40))
        .unwrap()
        .replacen("action show", "action unhide", 1);
    let (status, json) = post(&s, bad.into_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
}

#[tokio::test]
async fn a_hidden_signer_leaves_the_list_but_not_the_log() {
    let s = server();
    let m = moderator();
    let real = accepted(&s, endorse(1, "Sam Altman", 10)).await;
    let fake = accepted(&s, endorse(2, "\u{0405}am Altman", 10)).await;
    accepted(&s, endorse(3, "Someone Else", 10)).await;
    let statement = entries::unsigned_moderation(
        &m,
        letter_id(),
        fake,
        ModerationAction::Hide,
        ModerationReason::Impersonation,
        time(20),
    );
    let hide_bytes = entries::signed(
        Statement::Moderation(signet_core::Moderation {
            note: Some("not the real one".into()),
            ..statement
        }),
        &m,
    );
    let hide = accepted(&s, hide_bytes).await;

    assert_eq!(
        names(&listing(&s, "").await),
        ["Sam Altman", "Someone Else"]
    );
    let hidden = listing(&s, "&status=hidden").await;
    assert_eq!(names(&hidden), ["\u{0405}am Altman"]);
    let h = &hidden[0]["hidden"];
    assert_eq!(h["index"], hide);
    assert_eq!(h["reason"], "impersonation");
    assert_eq!(h["note"], "not the real one");
    assert_eq!(h["moderator"], m.verifier().to_string());
    assert_eq!(h["time"], time(20).to_string());
    let all = listing(&s, "&status=all").await;
    assert_eq!(all.len(), 3);
    assert!(all[0]["hidden"].is_null());
    let log = get(&s, "/v1/log").await;
    assert_eq!(log["letters"][0]["signers"], 2);
    assert_eq!(log["letters"][0]["hidden"], 1);
    assert_eq!(log["letters"][0]["withdrawn"], 0);

    // The moderation entry, with its target.
    let entry = get(&s, &format!("/v1/entries/{hide}")).await;
    assert_eq!(entry["kind"], "moderation");
    assert_eq!(entry["target"], fake);
    assert_eq!(entry["action"], "hide");
    assert_eq!(entry["reason"], "impersonation");
    assert_eq!(entry["letter"], letter_id().to_string());
    assert!(
        entry["entry"]
            .as_str()
            .unwrap()
            .starts_with("signet/moderation/v1\n")
    );

    // Re-endorsing does not undo the hide; a withdrawal while hidden still counts.
    let withdrawal = entries::withdrawal(&signer(2), letter_id(), 30);
    accepted(&s, withdrawal).await;
    accepted(&s, endorse(2, "\u{0405}am Altman", 40)).await;
    assert_eq!(
        names(&listing(&s, "&status=hidden").await),
        ["\u{0405}am Altman"]
    );
    assert_eq!(listing(&s, "").await.len(), 2);
    // Show it again: back in the list, in its first endorsement's place.
    accepted(&s, moderation(&m, fake, ModerationAction::Show, 50)).await;
    assert_eq!(
        names(&listing(&s, "").await),
        ["Sam Altman", "\u{0405}am Altman", "Someone Else"]
    );
    assert!(listing(&s, "&status=hidden").await.is_empty());
    let _ = real;

    // A rebuild derives the same from the log.
    let dir = s._dir.path().to_owned();
    s.log.close();
    let Server { _dir, log, app } = s;
    drop(app);
    drop(log);
    let rebuilt = Log::open(Config {
        reindex: true,
        ..config(&dir, &[&moderator()])
    })
    .unwrap();
    let letters = rebuilt.letters().unwrap();
    assert_eq!((letters[0].signers, letters[0].hidden), (3, 0));
    rebuilt.close();
    drop(_dir);
}

#[tokio::test]
async fn search_finds_look_alikes_in_every_script() {
    let s = server();
    for (n, name) in [
        "Sam Altman",
        "SAM ALTMAN",
        "\u{0405}am Altman",        // Cyrillic DZE for S
        "S\u{0430}m \u{0391}ltman", // Cyrillic a, Greek Alpha
        "Σωκράτης Παπαδόπουλος",    // Greek
        "Дмитрий Иванов",           // Cyrillic
        "习近平",
        "Bill Gates",
    ]
    .iter()
    .enumerate()
    {
        accepted(&s, endorse(n as u32 + 1, name, 10)).await;
    }
    let search = |q: &str| {
        let q = q.to_owned();
        let s = &s;
        async move {
            let encoded: String = url_encode(&q);
            names(&listing(s, &format!("&q={encoded}")).await)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }
    };
    let four = [
        "Sam Altman",
        "SAM ALTMAN",
        "\u{0405}am Altman",
        "S\u{0430}m \u{0391}ltman",
    ];
    assert_eq!(search("sam altman").await, four);
    // A look-alike query finds the plain names too.
    assert_eq!(search("\u{0455}am").await, four);
    assert_eq!(search("παπαδό").await, ["Σωκράτης Παπαδόπουλος"]);
    assert_eq!(search("ΣΩΚΡΆΤΗΣ").await, ["Σωκράτης Παπαδόπουλος"]);
    assert_eq!(search("иванов").await, ["Дмитрий Иванов"]);
    assert_eq!(search("近平").await, ["习近平"]);
    assert!(search("近平x").await.is_empty());
    assert_eq!(search("GATES").await, ["Bill Gates"]);
    // Fullwidth (compatibility) letters match their plain forms.
    assert_eq!(search("\u{FF27}ates").await, ["Bill Gates"]);
}

/// Percent-encodes every byte outside unreserved ASCII.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The reader's pages show a hide as the API does: the letter page counts the hidden
/// signer and leaves it out of its list, the hides page gives the reason, the note and
/// the moderator, and the hidden endorsement's own page says it is hidden.
#[tokio::test]
async fn the_pages_show_hides_and_moderators() {
    let s = server();
    let m = moderator();
    accepted(&s, endorse(1, "Sam Altman", 10)).await;
    let fake = accepted(&s, endorse(2, "\u{0405}am Altman", 10)).await;
    let statement = entries::unsigned_moderation(
        &m,
        letter_id(),
        fake,
        ModerationAction::Hide,
        ModerationReason::Impersonation,
        time(20),
    );
    let hide = accepted(
        &s,
        entries::signed(
            Statement::Moderation(signet_core::Moderation {
                note: Some("not the real one".into()),
                ..statement
            }),
            &m,
        ),
    )
    .await;
    let html = |uri: &'static str| {
        let app = s.app.clone();
        async move {
            let a = app
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(a.status(), StatusCode::OK, "{uri}");
            let body = a.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(body.to_vec()).unwrap()
        }
    };
    let page = html("/letters/pause-giant-ai-experiments?lang=en").await;
    assert!(
        page.contains("<strong id=\"count-hidden\">1</strong>"),
        "{page}"
    );
    assert!(page.contains("Sam Altman"));
    assert!(
        !page.contains("\u{0405}am Altman"),
        "a hidden signer is listed"
    );

    let hides = html("/letters/pause-giant-ai-experiments/hidden?lang=en").await;
    assert!(hides.contains("\u{0405}am Altman"), "{hides}");
    assert!(
        hides.contains("<dd class=\"reason\">impersonation</dd>"),
        "{hides}"
    );
    assert!(hides.contains("not the real one"));
    assert!(
        hides.contains(&m.verifier().to_string()),
        "the moderator's key"
    );
    assert!(!hides.contains("This log has appointed no moderator."));

    let uri: &'static str = format!("/entries/{fake}?lang=en").leak();
    let entry = html(uri).await;
    assert!(entry.contains("data-status=\"hidden\""), "{entry}");
    assert!(
        entry.contains(&format!("/entries/{hide}")),
        "links the moderation"
    );
}
