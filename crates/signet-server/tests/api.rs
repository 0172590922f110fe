//! The HTTP API, through `oneshot` on `app()` and once on a real socket: every route,
//! every status code, the headers, and every kind of bad input (each one answered with a
//! clear 4xx, leaving the log unchanged and the server up).

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use serde_json::Value;
use signet_core::keys::SignatureType;
use signet_core::note::Note;
use signet_core::{
    Endorsement, Entry, KeyName, Letter, LetterId, SigningKey, Statement, Timestamp, VerifierKey,
    Withdrawal,
};
use signet_log::{Config, FsStorage, Log};
use signet_server::{AppState, Settings, app};
use signet_testkit::harness::letters_dir;
use signet_testkit::storage::Faulty;
use tower::ServiceExt as _;

/// The server's clock in these tests.
const NOW: u64 = 1_800_000_000;
const T0: u64 = NOW - 86_400;

fn letter_id() -> LetterId {
    let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
    Letter::from_bytes(&text).unwrap().id()
}

fn config(dir: &Path) -> Config {
    Config {
        letters_dir: Some(letters_dir()),
        batch_interval: Duration::from_millis(1),
        ..Config::new(dir)
    }
}

struct Server {
    _dir: tempfile::TempDir,
    log: Arc<Log>,
    app: Router,
}

fn settings(rate_limit: u32) -> Settings {
    Settings {
        rate_limit,
        ..Settings::default()
    }
}

fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let app = app(AppState::new(log.clone(), settings(0)).with_clock(|| NOW));
    Server {
        _dir: dir,
        log,
        app,
    }
}

fn key(n: u32) -> SigningKey {
    let mut seed = [9u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    SigningKey::from_seed(
        KeyName::parse(&format!("signer-{n}")).unwrap(),
        SignatureType::Ed25519,
        &seed,
    )
}

fn endorsement(n: u32, name: &str, affiliation: Option<&str>, time: u64) -> Entry {
    let k = key(n);
    Statement::Endorsement(Endorsement {
        letter: letter_id(),
        name: name.into(),
        affiliation: affiliation.map(Into::into),
        role: None,
        identity: vec![],
        time: Timestamp::from_unix(time).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
}

fn endorse(n: u32, time: u64) -> Vec<u8> {
    endorsement(n, &format!("Signer {n}"), None, time)
        .bytes()
        .to_vec()
}

fn withdraw(n: u32, time: u64) -> Vec<u8> {
    let k = key(n);
    Statement::Withdrawal(Withdrawal {
        letter: letter_id(),
        time: Timestamp::from_unix(time).unwrap(),
        key: k.verifier(),
    })
    .sign(&k)
    .unwrap()
    .bytes()
    .to_vec()
}

fn ts(t: u64) -> String {
    Timestamp::from_unix(t).unwrap().to_string()
}

/// An endorsement body with the given lines between `letter` and `key`, signed as a
/// plain note by `key(n)`: the grammar is tested, not the signature.
fn body_with(n: u32, middle: &str) -> String {
    format!(
        "signet/endorsement/v1\nletter {}\n{middle}key {}\n",
        letter_id(),
        key(n).verifier()
    )
}

fn signed(text: &str, keys: &[&SigningKey]) -> Vec<u8> {
    Note::sign(text, keys).unwrap().to_bytes()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
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

async fn get(app: &Router, uri: &str) -> Answer {
    call(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(app: &Router, body: impl Into<Vec<u8>>) -> Answer {
    let request = Request::post("/v1/endorsements")
        .header("content-type", "text/plain")
        .body(Body::from(body.into()))
        .unwrap();
    call(app, request).await
}

/// Submits bytes that must be refused with `status`, and checks that the answer says
/// why, that the log did not change, and that the server still answers.
async fn refused(s: &Server, name: &str, bytes: Vec<u8>, status: StatusCode) {
    let before = get(&s.app, "/checkpoint").await.text();
    let a = post(&s.app, bytes).await;
    assert_eq!(
        a.status,
        status,
        "{name}: {}",
        String::from_utf8_lossy(&a.body)
    );
    let body = a.json();
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{name}: {body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 5),
        "{name}: {body}"
    );
    assert_eq!(
        get(&s.app, "/checkpoint").await.text(),
        before,
        "{name}: the log changed"
    );
    assert_eq!(
        get(&s.app, "/healthz").await.status,
        StatusCode::OK,
        "{name}: server down"
    );
}

#[tokio::test]
async fn submissions_201_then_200_with_a_verifiable_proof() {
    let s = server();
    let e = endorse(1, T0);
    let a = post(&s.app, e.clone()).await;
    assert_eq!(a.status, StatusCode::CREATED);
    let body = a.json();
    assert_eq!(body["index"], 1);
    let leaf = signet_core::Hash::leaf(&e);
    assert_eq!(body["leaf_hash"], leaf.to_base64());
    let proof = signet_core::TlogProof::parse(body["proof"].as_str().unwrap().as_bytes()).unwrap();
    proof.verify(&e, s.log.verifier()).unwrap();
    assert_eq!(body["checkpoint"], get(&s.app, "/checkpoint").await.text());

    let again = post(&s.app, e.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["index"], 1);
    assert_eq!(s.log.head().size, 2);
}

#[tokio::test]
async fn one_hundred_concurrent_duplicates_make_one_entry() {
    let s = server();
    let e = endorse(7, T0);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (app, e) = (s.app.clone(), e.clone());
        tasks.push(tokio::spawn(async move { post(&app, e).await }));
    }
    let mut created = 0;
    for t in tasks {
        let a = t.await.unwrap();
        assert!(
            a.status == StatusCode::CREATED || a.status == StatusCode::OK,
            "{}",
            a.status
        );
        assert_eq!(a.json()["index"], 1);
        created += usize::from(a.status == StatusCode::CREATED);
    }
    assert_eq!(created, 1);
    assert_eq!(s.log.head().size, 2);
}

#[tokio::test]
async fn state_rules_replays_and_conflicts() {
    let s = server();
    let first = endorse(1, T0);
    assert_eq!(
        post(&s.app, first.clone()).await.status,
        StatusCode::CREATED
    );
    // A different endorsement while one is active: 409 with the active entry and proof.
    let other = endorsement(1, "Another Name", None, T0 + 5)
        .bytes()
        .to_vec();
    let before = s.log.head().size;
    let c = post(&s.app, other).await;
    assert_eq!(c.status, StatusCode::CONFLICT);
    let body = c.json();
    assert_eq!(body["index"], 1);
    assert_eq!(body["entry"].as_str().unwrap().as_bytes(), &first[..]);
    let proof = signet_core::TlogProof::parse(body["proof"].as_str().unwrap().as_bytes()).unwrap();
    proof.verify(&first, s.log.verifier()).unwrap();
    assert_eq!(s.log.head().size, before);

    // A withdrawal not later than the endorsement.
    refused(
        &s,
        "withdrawal at the endorsement's time",
        withdraw(1, T0),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        post(&s.app, withdraw(1, T0 + 10)).await.status,
        StatusCode::CREATED
    );
    // A withdrawal with nothing active behind it.
    refused(
        &s,
        "second withdrawal",
        withdraw(1, T0 + 20),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // A re-endorsement not later than the withdrawal.
    let early = endorsement(1, "Signer 1", Some("Again"), T0 + 10)
        .bytes()
        .to_vec();
    refused(
        &s,
        "re-endorsement at the withdrawal's time",
        early,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // The old endorsement replayed after its withdrawal: 200, the original index, nothing new.
    let size = s.log.head().size;
    let replay = post(&s.app, first.clone()).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.json()["index"], 1);
    assert_eq!(s.log.head().size, size);
    // A later re-endorsement is accepted.
    let later = endorsement(1, "Signer 1", Some("Again"), T0 + 30)
        .bytes()
        .to_vec();
    assert_eq!(post(&s.app, later).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_4xx() {
    let s = server();
    let k1 = key(1);
    let k2 = key(2);
    let good_middle = format!("name Ada Lovelace\ntime {}\n", ts(T0));
    let ok = |middle: &str| signed(&body_with(1, middle), &[&k1]);
    const BAD: StatusCode = StatusCode::BAD_REQUEST;
    const REFUSED: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

    // The reference entry is fine (checked last, so that it does not change the log).
    let reference = ok(&good_middle);

    refused(&s, "not a note", b"hello".to_vec(), BAD).await;
    refused(&s, "empty", Vec::new(), BAD).await;
    refused(
        &s,
        "two signatures",
        signed(&body_with(1, &good_middle), &[&k1, &k2]),
        BAD,
    )
    .await;
    refused(
        &s,
        "signed by another key",
        signed(&body_with(1, &good_middle), &[&k2]),
        BAD,
    )
    .await;

    // Keys that are not usable curve points, with a signature line naming them.
    for (what, pk) in [
        ("small-order key", {
            let mut pk = [0u8; 32];
            pk[0] = 1;
            pk
        }),
        ("non-canonical key", {
            let mut pk = [0xffu8; 32];
            pk[0] = 0xee;
            pk[31] = 0x7f;
            pk
        }),
    ] {
        let vk = VerifierKey::new(KeyName::parse("weak").unwrap(), SignatureType::Ed25519, pk);
        let text = format!(
            "signet/endorsement/v1\nletter {}\n{good_middle}key {vk}\n",
            letter_id()
        );
        let mut sig = vk.id().0.to_vec();
        sig.extend_from_slice(&[0u8; 64]);
        let note = format!(
            "{text}\n— weak {}\n",
            base64::engine::general_purpose::STANDARD.encode(&sig)
        );
        refused(&s, what, note.into_bytes(), REFUSED).await;
    }

    // A non-canonical signature scalar: S + L.
    {
        let text = String::from_utf8(reference.clone()).unwrap();
        let (head, line) = text.rsplit_once("\n— ").unwrap();
        let (name, b64) = line.trim_end().split_once(' ').unwrap();
        let mut sig = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let s_part = &mut sig[4 + 32..];
        let mut carry = 0u16;
        for i in 0..32 {
            let v = u16::from(s_part[i]) + u16::from(L[i]) + carry;
            s_part[i] = v as u8;
            carry = v >> 8;
        }
        let note = format!(
            "{head}\n— {name} {}\n",
            base64::engine::general_purpose::STANDARD.encode(&sig)
        );
        refused(&s, "non-canonical S", note.into_bytes(), REFUSED).await;

        // Non-canonical base64: stray bits in the last character before the padding.
        let mut chars: Vec<char> = b64.chars().collect();
        let pos = chars.iter().rposition(|c| *c != '=').unwrap();
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        assert!(
            b64.ends_with('=') && !b64.ends_with("=="),
            "68 bytes leave two stray bits"
        );
        let v = ALPHABET.find(chars[pos]).unwrap();
        chars[pos] = ALPHABET.as_bytes()[v ^ 1] as char;
        let bad_b64: String = chars.into_iter().collect();
        let note = format!("{head}\n— {name} {bad_b64}\n");
        refused(&s, "non-canonical base64", note.into_bytes(), BAD).await;
    }

    let mut invalid_utf8 = body_with(1, "name Ada XX\n").into_bytes();
    let at = invalid_utf8.windows(2).position(|w| w == b"XX").unwrap();
    invalid_utf8[at] = 0xff;
    invalid_utf8.extend_from_slice("\n— signer-1 AAAA\n".as_bytes());
    refused(&s, "invalid UTF-8", invalid_utf8, BAD).await;

    let cases: Vec<(&str, String, StatusCode)> = vec![
        (
            "future time",
            format!("name Ada Lovelace\ntime {}\n", ts(NOW + 601)),
            REFUSED,
        ),
        (
            "invalid date",
            "name Ada Lovelace\ntime 2027-02-30T00:00:00Z\n".to_owned(),
            BAD,
        ),
        (
            "second 60",
            "name Ada Lovelace\ntime 2027-01-01T00:00:60Z\n".to_owned(),
            BAD,
        ),
        (
            "before 2000",
            "name Ada Lovelace\ntime 1999-12-31T23:59:59Z\n".to_owned(),
            BAD,
        ),
        (
            "bidi override",
            format!("name Ada \u{202E}ecalevoL\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "zero-width space",
            format!("name Ada\u{200B}Lovelace\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "BOM inside",
            format!("name Ada\u{FEFF}\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "NFD",
            format!("name Rene\u{301} Descartes\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "no-break space",
            format!("name Ada\u{A0}Lovelace\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "trailing space",
            format!("name Ada Lovelace \ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "doubled space",
            format!("name Ada  Lovelace\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "two spaces after the field",
            format!("name  Ada\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "duplicate field",
            format!("name Ada\nname Ada\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "unknown field",
            format!("name Ada\nemail ada@example.org\ntime {}\n", ts(T0)),
            BAD,
        ),
        ("out of order", format!("time {}\nname Ada\n", ts(T0)), BAD),
        (
            "empty optional field",
            format!("name Ada\naffiliation \ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "blank line inside",
            format!("name Ada\n\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "unsorted identity",
            format!(
                "name Ada\nidentity github:zed\nidentity dns:example.org\ntime {}\n",
                ts(T0)
            ),
            BAD,
        ),
        (
            "duplicate identity",
            format!(
                "name Ada\nidentity dns:example.org\nidentity dns:example.org\ntime {}\n",
                ts(T0)
            ),
            BAD,
        ),
        (
            "uppercase github login",
            format!("name Ada\nidentity github:Ada\ntime {}\n", ts(T0)),
            BAD,
        ),
        (
            "name too long",
            format!("name {}\ntime {}\n", "a".repeat(129), ts(T0)),
            BAD,
        ),
    ];
    for (name, middle, status) in cases {
        refused(&s, name, ok(&middle), status).await;
    }

    // A NUL byte (a signed note can hold no control character, so it is spliced in).
    let nul = String::from_utf8(reference.clone())
        .unwrap()
        .replace("Ada Lovelace", "Ada\0Lovelace");
    refused(&s, "NUL", nul.into_bytes(), BAD).await;

    // CRLF line endings.
    let crlf = String::from_utf8(reference.clone())
        .unwrap()
        .replace('\n', "\r\n");
    refused(&s, "CRLF", crlf.into_bytes(), BAD).await;

    // An oversize body.
    let mut big = reference.clone();
    big.resize(signet_core::MAX_ENTRY_SIZE + 1, b'x');
    refused(&s, "oversize", big, StatusCode::PAYLOAD_TOO_LARGE).await;

    // A letter that is not registered.
    let other_letter = format!(
        "signet/endorsement/v1\nletter sha256:{}\n{good_middle}key {}\n",
        "ab".repeat(32),
        k1.verifier()
    );
    refused(
        &s,
        "unregistered letter",
        signed(&other_letter, &[&k1]),
        REFUSED,
    )
    .await;

    // A letter registration by anyone but the log.
    let registration = Statement::Letter(signet_core::LetterRegistration {
        letter: signet_core::LetterId(signet_core::Hash([5; 32])),
        slug: signet_core::entry::Slug::parse("forged").unwrap(),
        title: "Forged".into(),
        language: signet_core::entry::Language::parse("en").unwrap(),
        time: Timestamp::from_unix(T0).unwrap(),
        key: k1.verifier(),
    })
    .sign(&k1)
    .unwrap();
    refused(
        &s,
        "registration by a signer",
        registration.bytes().to_vec(),
        REFUSED,
    )
    .await;

    // The reference entry itself is accepted: the cases above failed for their one fault.
    assert_eq!(post(&s.app, reference).await.status, StatusCode::CREATED);
}

/// Letter registrations are the log's own entries: one signed with the log's very key but
/// not in the log is refused (422), while the bytes of a logged one are that entry (200).
#[tokio::test]
async fn submitted_letter_registrations_are_refused_unless_logged() {
    let s = server();
    let log_key = SigningKey::parse(
        std::fs::read_to_string(s.log.data_dir().join("log.key"))
            .unwrap()
            .trim_end(),
    )
    .unwrap();
    let registration = Statement::Letter(signet_core::LetterRegistration {
        letter: signet_core::LetterId(signet_core::Hash([6; 32])),
        slug: signet_core::entry::Slug::parse("by-the-log-key").unwrap(),
        title: "Signed with the log's own key".into(),
        language: signet_core::entry::Language::parse("en").unwrap(),
        time: Timestamp::from_unix(T0).unwrap(),
        key: log_key.verifier(),
    })
    .sign(&log_key)
    .unwrap();
    let size = s.log.head().size;
    let a = post(&s.app, registration.bytes().to_vec()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text());
    assert!(
        a.text().contains("written by the log itself"),
        "{}",
        a.text()
    );
    assert_eq!(s.log.head().size, size, "nothing was appended");

    let logged = s.log.entry(0).unwrap();
    let a = post(&s.app, logged).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.json()["index"], 0);
}

#[tokio::test]
async fn names_in_any_script_are_accepted_and_searchable() {
    let s = server();
    let names: [(&str, Option<&str>); 6] = [
        // A ZWNJ after a dual-joining letter (yeh), where the text rules allow one.
        ("علی\u{200C}اکبر شجریان", None),
        ("张三", Some("清华大学")),
        ("राम", None),
        ("Ελένη Παπαδοπούλου", Some("Πανεπιστήμιο Αθηνών")),
        ("René Descartes", Some("École Normale")),
        ("李四", None),
    ];
    for (i, (name, aff)) in names.iter().enumerate() {
        let e = endorsement(100 + i as u32, name, *aff, T0 + i as u64);
        let a = post(&s.app, e.bytes().to_vec()).await;
        assert_eq!(a.status, StatusCode::CREATED, "{name}: {}", a.text());
    }
    let letter = letter_id().to_string();
    let search = |q: &str| format!("/v1/signatories?letter={letter}&q={}", percent(q));
    let names_of = |v: Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names_of(get(&s.app, &search("张")).await.json()), ["张三"]);
    assert_eq!(
        names_of(get(&s.app, &search("清华")).await.json()),
        ["张三"]
    );
    assert_eq!(
        names_of(get(&s.app, &search("école")).await.json()),
        ["René Descartes"]
    );
    assert_eq!(
        names_of(get(&s.app, &search("ΕΛΈΝΗ")).await.json()),
        ["Ελένη Παπαδοπούλου"]
    );
    assert_eq!(
        names_of(get(&s.app, &search("اکبر")).await.json()),
        ["علی\u{200C}اکبر شجریان"]
    );

    // Keyset pagination in order of first endorsement.
    let mut seen = Vec::new();
    let mut uri = "/v1/signatories?letter=pause-giant-ai-experiments&limit=4".to_owned();
    loop {
        let page = get(&s.app, &uri).await.json();
        seen.extend(names_of(page.clone()));
        match page["next"].as_str() {
            Some(next) => {
                uri = format!(
                    "/v1/signatories?letter=pause-giant-ai-experiments&limit=4&after={next}"
                )
            }
            None => break,
        }
    }
    let expected: Vec<String> = names.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(seen, expected);

    // A signer who endorses again under another name is found by the new name only (the
    // trigram index follows the name), and a query with quotes is only text.
    let w = post(&s.app, withdraw(100, T0 + 59)).await;
    assert_eq!(w.status, StatusCode::CREATED, "{}", w.text());
    let again = endorsement(100, "Renamed Person", None, T0 + 60);
    let a = post(&s.app, again.bytes().to_vec()).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
    let again_index = a.json()["index"].clone();
    assert!(names_of(get(&s.app, &search("اکبر")).await.json()).is_empty());
    assert_eq!(
        names_of(get(&s.app, &search("RENAMED pers")).await.json()),
        ["Renamed Person"]
    );
    assert!(names_of(get(&s.app, &search("\"re\" OR x")).await.json()).is_empty());

    let item = &get(&s.app, &format!("/v1/signatories?letter={letter}&limit=1"))
        .await
        .json()["items"][0];
    // The first signer's row, showing its latest endorsement.
    assert_eq!(item["index"], again_index);
    assert_eq!(item["name"], "Renamed Person");
    assert_eq!(item["status"], "active");
    assert_eq!(item["verified"], serde_json::json!([]));
    assert_eq!(item["fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(item["key"], key(100).verifier().to_string());
}

fn percent(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn signatories_status_filter_and_bad_parameters() {
    let s = server();
    for n in 0..3 {
        assert_eq!(
            post(&s.app, endorse(n, T0)).await.status,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        post(&s.app, withdraw(1, T0 + 1)).await.status,
        StatusCode::CREATED
    );
    let count = |v: Value| v["items"].as_array().unwrap().len();
    let base = "/v1/signatories?letter=pause-giant-ai-experiments";
    assert_eq!(count(get(&s.app, base).await.json()), 2);
    assert_eq!(
        count(get(&s.app, &format!("{base}&status=all")).await.json()),
        3
    );
    let w = get(&s.app, &format!("{base}&status=withdrawn"))
        .await
        .json();
    assert_eq!(count(w.clone()), 1);
    assert_eq!(w["items"][0]["status"], "withdrawn");
    for bad in [
        "&limit=0",
        "&limit=501",
        "&limit=-1",
        "&limit=x",
        "&status=gone",
        "&after=zzz",
        "&bogus=1",
    ] {
        let a = get(&s.app, &format!("{base}{bad}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(a.json()["error"], "bad_request");
    }
    assert_eq!(
        get(&s.app, "/v1/signatories").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&s.app, "/v1/signatories?letter=nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn log_letters_and_entries() {
    let s = server();
    post(
        &s.app,
        endorsement(1, "Ada", Some("Analytical Engines"), T0)
            .bytes()
            .to_vec(),
    )
    .await;
    post(&s.app, withdraw(1, T0 + 1)).await;

    let log = get(&s.app, "/v1/log").await;
    assert_eq!(log.status, StatusCode::OK);
    let log = log.json();
    assert_eq!(log["origin"], "localhost/signet");
    assert_eq!(log["vkey"], s.log.verifier().to_string());
    assert_eq!(log["size"], 3);
    let l = &log["letters"][0];
    assert_eq!(l["id"], letter_id().to_string());
    assert_eq!(l["slug"], "pause-giant-ai-experiments");
    assert_eq!(l["language"], "zh");
    assert_eq!(
        (
            l["index"].as_u64(),
            l["signers"].as_u64(),
            l["withdrawn"].as_u64()
        ),
        (Some(0), Some(0), Some(1))
    );

    for key in [
        letter_id().to_string(),
        "pause-giant-ai-experiments".to_owned(),
    ] {
        let a = get(&s.app, &format!("/v1/letters/{key}")).await;
        assert_eq!(a.status, StatusCode::OK);
        let v = a.json();
        assert_eq!(v["id"], letter_id().to_string());
        let text = std::fs::read(letters_dir().join("pause-giant-ai-experiments.txt")).unwrap();
        assert_eq!(v["text"], Letter::from_bytes(&text).unwrap().text());
        assert!(v["source"].as_str().unwrap().starts_with("https://"));
        assert_eq!(v["index"], 0);
    }
    assert_eq!(
        get(&s.app, "/v1/letters/unknown").await.status,
        StatusCode::NOT_FOUND
    );

    let reg = get(&s.app, "/v1/entries/0").await.json();
    assert_eq!(reg["kind"], "letter");
    assert_eq!(reg["slug"], "pause-giant-ai-experiments");
    let e = get(&s.app, "/v1/entries/1").await.json();
    assert_eq!(e["kind"], "endorsement");
    assert_eq!(e["name"], "Ada");
    assert_eq!(e["affiliation"], "Analytical Engines");
    assert!(e.get("role").is_none(), "absent fields are absent");
    assert_eq!(e["identity"], serde_json::json!([]));
    assert_eq!(e["time"], ts(T0));
    assert_eq!(e["key"], key(1).verifier().to_string());
    assert_eq!(e["letter"], letter_id().to_string());
    let w = get(&s.app, "/v1/entries/2").await.json();
    assert_eq!(w["kind"], "withdrawal");
    assert!(w.get("name").is_none());
    assert_eq!(
        get(&s.app, "/v1/entries/3").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s.app, "/v1/entries/-1").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&s.app, "/v1/entries/one").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn proofs_and_their_ranges() {
    let s = server();
    let mut entries = vec![s.log.entry(0).unwrap()];
    for n in 0..20 {
        let e = endorse(n, T0);
        post(&s.app, e.clone()).await;
        entries.push(e);
    }
    let head = s.log.head();
    assert_eq!(head.size, 21);
    let leaves: Vec<_> = entries.iter().map(|e| signet_core::Hash::leaf(e)).collect();
    let hashes = |v: &Value| -> Vec<signet_core::Hash> {
        v["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| signet_core::Hash::from_base64(h.as_str().unwrap()).unwrap())
            .collect()
    };
    for (index, size) in [(0, 1), (3, 7), (20, 21), (5, 21)] {
        let a = get(
            &s.app,
            &format!("/v1/proof/inclusion?index={index}&size={size}"),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
        let v = a.json();
        assert_eq!(
            (v["index"].as_u64(), v["size"].as_u64()),
            (Some(index), Some(size))
        );
        let root = signet_core::merkle::root_of(&leaves[..size as usize]);
        signet_core::merkle::verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &hashes(&v),
            &root,
        )
        .unwrap();
    }
    for (old, size) in [(0, 21), (21, 21), (1, 21), (7, 13)] {
        let v = get(
            &s.app,
            &format!("/v1/proof/consistency?old={old}&size={size}"),
        )
        .await
        .json();
        let proof = hashes(&v);
        if old == 0 || old == size {
            assert!(proof.is_empty());
        }
        let old_root = if old == 0 {
            signet_core::Hash::EMPTY_ROOT
        } else {
            signet_core::merkle::root_of(&leaves[..old as usize])
        };
        let new_root = signet_core::merkle::root_of(&leaves[..size as usize]);
        signet_core::merkle::verify_consistency(old, size, &old_root, &new_root, &proof).unwrap();
    }
    for bad in [
        "inclusion?index=21&size=21",
        "inclusion?index=0&size=22",
        "inclusion?index=-1&size=3",
        "inclusion?index=x&size=3",
        "inclusion?index=1",
        "inclusion?index=1&size=3&size=4",
        "inclusion?index=%2B1&size=3",
        "inclusion?index=99999999999999999999999&size=3",
        "consistency?old=5&size=4",
        "consistency?old=0&size=22",
        "consistency?old=-1&size=3",
        "consistency?old=a&size=b",
        "consistency",
    ] {
        let a = get(&s.app, &format!("/v1/proof/{bad}")).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text());
        assert_eq!(a.json()["error"], "bad_request", "{bad}");
    }
    let p = get(&s.app, "/v1/proof/4").await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.header("content-type"), "text/plain; charset=utf-8");
    let proof = signet_core::TlogProof::parse(&p.body).unwrap();
    proof.verify(&entries[4], s.log.verifier()).unwrap();
    assert_eq!(
        get(&s.app, "/v1/proof/21").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s.app, "/v1/proof/x").await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn golden_headers_and_tiles() {
    let s = server();
    let mut entries = vec![s.log.entry(0).unwrap()];
    for n in 0..260 {
        let e = endorse(n, T0);
        entries.push(e.clone());
        post(&s.app, e).await;
    }
    assert_eq!(s.log.head().size, 261);

    let cp = get(&s.app, "/checkpoint").await;
    assert_eq!(cp.status, StatusCode::OK);
    assert_eq!(cp.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(cp.header("cache-control"), "no-store");
    assert_eq!(cp.header("access-control-allow-origin"), "*");
    assert_eq!(cp.text(), s.log.head().text);

    let full = get(&s.app, "/tile/0/000").await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header("content-type"), "application/octet-stream");
    assert_eq!(
        full.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(full.header("access-control-allow-origin"), "*");
    let leaves: Vec<_> = entries.iter().map(|e| signet_core::Hash::leaf(e)).collect();
    let expected: Vec<u8> = leaves[..256].iter().flat_map(|h| h.0).collect();
    assert_eq!(full.body, expected);

    let bundle = get(&s.app, "/tile/entries/000").await;
    assert_eq!(
        bundle.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    let parsed = signet_core::tiles::parse_bundle(&bundle.body).unwrap();
    assert_eq!(parsed.len(), 256);
    assert_eq!(parsed[5], &entries[5][..]);

    let partial = get(&s.app, "/tile/0/001.p/5").await;
    assert_eq!(partial.status, StatusCode::OK);
    assert_eq!(partial.header("content-type"), "application/octet-stream");
    assert_ne!(
        partial.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(partial.header("access-control-allow-origin"), "*");
    assert_eq!(
        partial.body,
        leaves[256..261]
            .iter()
            .flat_map(|h| h.0)
            .collect::<Vec<u8>>()
    );
    let level1 = get(&s.app, "/tile/1/000.p/1").await;
    assert_eq!(level1.status, StatusCode::OK);
    assert_eq!(level1.body.len(), 32);
    // An older partial is still served, from the full tile.
    let old = get(&s.app, "/tile/entries/000.p/3").await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(
        signet_core::tiles::parse_bundle(&old.body).unwrap().len(),
        3
    );

    for garbage in [
        "/tile/0/001.p/6",
        "/tile/0/002",
        "/tile/1/000",
        "/tile/2/000.p/1",
        "/tile/0/0",
        "/tile/0/1",
        "/tile/0/x000/001",
        "/tile/0/000.p/0",
        "/tile/0/000.p/256",
        "/tile/0/000.p/01",
        "/tile/0/000/",
        "/tile/0/abc",
        "/tile/entries/000.p/1/x",
        "/tile/-1/000",
        "/tile/256/000",
        "/tile/0/%2e%2e/%2e%2e/checkpoint",
        "/tile/../checkpoint",
        "/tile/..%2f..%2flog.key",
        "/tile/entries/000.p/",
        "/tile/",
        "/tile/data/000",
    ] {
        let a = get(&s.app, garbage).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{garbage}: {}", a.text());
    }
}

#[tokio::test]
async fn every_other_route_and_status() {
    let s = server();
    let h = get(&s.app, "/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.json()["status"], "ok");

    post(&s.app, endorse(1, T0)).await;
    post(&s.app, b"garbage".to_vec()).await;
    let m = get(&s.app, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.header("content-type")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = m.text();
    for needle in [
        "signet_entries_total{kind=\"endorsement\"} 1",
        "signet_batch_size_bucket",
        "signet_integration_seconds_count",
        "signet_http_request_seconds_bucket{route=\"/v1/endorsements\"",
        "signet_rejections_total{reason=\"malformed\"} 1",
        "signet_tree_size 2",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }

    let nf = get(&s.app, "/nowhere").await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    assert_eq!(nf.json()["error"], "not_found");
    let wrong = call(
        &s.app,
        Request::delete("/checkpoint").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.json()["error"], "method_not_allowed");
    let wrong = get(&s.app, "/v1/endorsements").await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);

    // Once the log is closed, submissions get 503 with Retry-After.
    let log = s.log.clone();
    tokio::task::spawn_blocking(move || log.close())
        .await
        .unwrap();
    let closed = post(&s.app, endorse(2, T0)).await;
    assert_eq!(closed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!closed.header("retry-after").is_empty());
    assert_eq!(
        get(&s.app, "/checkpoint").await.status,
        StatusCode::OK,
        "reads still served"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(config(dir.path())).unwrap());
    let app = app(AppState::new(log.clone(), settings(1)).with_clock(|| NOW));
    let from = |ip: [u8; 4]| ConnectInfo(SocketAddr::from((ip, 4000)));
    let mut statuses = Vec::new();
    for n in 0..8 {
        let mut request = Request::post("/v1/endorsements")
            .body(Body::from(endorse(n, T0)))
            .unwrap();
        request.extensions_mut().insert(from([10, 0, 0, 1]));
        let a = call(&app, request).await;
        if a.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(a.header("retry-after").parse::<u64>().unwrap() >= 1);
            assert_eq!(a.json()["error"], "rate_limited");
        }
        statuses.push(a.status);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Another client is not limited; reads are never limited.
    let mut request = Request::post("/v1/endorsements")
        .body(Body::from(endorse(100, T0)))
        .unwrap();
    request.extensions_mut().insert(from([10, 0, 0, 2]));
    assert_eq!(call(&app, request).await.status, StatusCode::CREATED);
    for _ in 0..20 {
        assert_eq!(get(&app, "/checkpoint").await.status, StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    // Tile writes wait at the gate, to hold the sequencer mid-batch.
    let storage = Arc::new(Faulty::new(FsStorage::open(dir.path()).unwrap()));
    let config = Config {
        pool_size: 1,
        max_batch: 1,
        ..config(dir.path())
    };
    let log = Arc::new(Log::open_with(config, storage.clone()).unwrap());
    let app = app(AppState::new(log.clone(), settings(0)).with_clock(|| NOW));
    storage.close_gate();
    // The first submission holds the sequencer at the gate; the second fills the pool.
    let first = tokio::spawn({
        let app = app.clone();
        async move { post(&app, endorse(1, T0)).await.status }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = tokio::spawn({
        let app = app.clone();
        async move { post(&app, endorse(2, T0)).await.status }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let third = post(&app, endorse(3, T0)).await;
    assert_eq!(
        third.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        third.text()
    );
    assert_eq!(third.json()["error"], "overloaded");
    assert_eq!(third.header("retry-after"), "1");
    storage.open_gate();
    assert_eq!(first.await.unwrap(), StatusCode::CREATED);
    assert_eq!(second.await.unwrap(), StatusCode::CREATED);
    assert_eq!(log.head().size, 3);
}

#[tokio::test]
async fn a_real_socket_on_port_0() {
    let s = server();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(
        axum::serve(
            listener,
            s.app
                .clone()
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .into_future(),
    );
    let entry = endorse(1, T0);
    let raw = |request: Vec<u8>| async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(&request).await.unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut post = format!(
        "POST /v1/endorsements HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        entry.len()
    )
    .into_bytes();
    post.extend_from_slice(&entry);
    let answer = raw(post).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let answer = raw(format!(
        "GET /checkpoint HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes())
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\nlocalhost/signet\n2\n"), "{answer}");
    let answer = raw(format!(
        "GET /tile/../log.key HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes())
    .await;
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    assert!(!answer.contains("PRIVATE"), "{answer}");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
