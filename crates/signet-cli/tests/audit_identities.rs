//! `signet audit --identities` with the real binaries: a real `signet-server` and the
//! identity fixtures (test CA, HTTPS sites on 127.x.y.z:443, loopback DNS). Nothing
//! leaves the machine: every audit gets `--identity-dns`, and every server either points
//! at the fixtures or runs with `--identity-checks off`.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::{Duration, Instant};

use common::Scratch;
use serde_json::Value;
use signet_core::entry::IdentityClaim;
use signet_core::{LetterId, SigningKey, Statement};
use signet_testkit::harness::{LETTER_ID, Server};
use signet_testkit::identity::{Fixtures, Page, Site, token_for};
use signet_testkit::{Response, TestLog, TestServer, entries, key};

fn signer(tag: &str) -> SigningKey {
    key(
        tag,
        &format!("audit-identities-{tag}-{}", std::process::id()),
    )
}

fn endorsement_at(signer: &SigningKey, claims: &[&str], time: signet_core::Timestamp) -> Vec<u8> {
    let letter: LetterId = LETTER_ID.parse().unwrap();
    let mut e = entries::unsigned_endorsement(signer, letter, "Claimant", time);
    e.identity = claims
        .iter()
        .map(|c| IdentityClaim::parse(c).unwrap())
        .collect();
    e.identity.sort();
    entries::signed(Statement::Endorsement(e), signer)
}

fn endorsement(signer: &SigningKey, claims: &[&str]) -> Vec<u8> {
    endorsement_at(signer, claims, entries::now())
}

fn post(server: &Server, entry: &[u8]) -> u64 {
    let (status, body) = server.post_entry(entry);
    assert_eq!(status, 201, "{body}");
    body["index"].as_u64().unwrap()
}

/// A site whose `/` names `key`.
fn good_site(fx: &Fixtures, name: &str, key: &SigningKey) -> Site {
    let site = fx.site(name);
    site.set(
        "/",
        Page::Body(format!("<p>{}</p>\n", token_for(key.verifier().public_key())).into_bytes()),
    );
    site
}

/// The server's `signet_identity_checks_total`, held and failed together.
fn checks_done(server: &Server) -> u64 {
    let (_, body) = server.get("/metrics");
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("signet_identity_checks_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

fn wait_for_checks(server: &Server, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while checks_done(server) < n {
        assert!(
            Instant::now() < deadline,
            "the server did not check {n} claims"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `signet audit --identities` against `url`, with the fixtures' flags.
fn audit(s: &Scratch, url: &str, vkey: &str, fx: &Fixtures, json: bool, code: i32) -> common::Run {
    let mut args = vec![
        "audit".to_owned(),
        "--server".into(),
        url.to_owned(),
        "--log-key".into(),
        vkey.to_owned(),
        "--state".into(),
        s.p("state"),
        "--identities".into(),
    ];
    args.extend(fx.flags());
    if json {
        args.push("--json".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&refs, code)
}

fn differences(report: &Value) -> Vec<Value> {
    report["identities"]["differences"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn agreement_then_a_claim_that_stopped_holding() {
    let fx = Fixtures::start();
    let (alice, bob, carol) = (signer("alice"), signer("bob"), signer("carol"));
    let site = good_site(&fx, "alice.test", &alice);
    fx.set_txt(
        "_signet.bob.test",
        &[&[&token_for(bob.verifier().public_key())]],
    );
    let data = tempfile::tempdir().unwrap();
    let refs: Vec<String> = fx.flags();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let server = Server::start_with(data.path(), &refs);
    let alice_index = post(&server, &endorsement(&alice, &[&site.url("/")]));
    post(&server, &endorsement(&bob, &["dns:bob.test"]));
    // A claim that fails for the server and live alike is no difference.
    post(&server, &endorsement(&carol, &["dns:none.test"]));
    wait_for_checks(&server, 3);

    let s = Scratch::new();
    let report = audit(&s, &server.url, &server.vkey, &fx, true, 0).json();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["identities"]["signers"], 3, "{report}");
    assert_eq!(report["identities"]["claims"], 3, "{report}");
    assert!(differences(&report).is_empty(), "{report}");
    assert_eq!(report["identities"]["unchecked"], serde_json::json!([]));
    audit(&s, &server.url, &server.vkey, &fx, false, 0)
        .says("identities: 3 claims of 3 shown signers checked live: all agree");

    // The page changes; the server's result stands until its next recheck (a day away).
    site.set("/", Page::Body(b"<p>nothing here any more</p>\n".to_vec()));
    let report = audit(&s, &server.url, &server.vkey, &fx, true, 1).json();
    assert_eq!(report["ok"], false, "{report}");
    let found = differences(&report);
    assert_eq!(found.len(), 1, "{report}");
    let d = &found[0];
    assert_eq!(d["kind"], "fails-live");
    assert_eq!(d["claim"], site.url("/"));
    assert_eq!(d["index"], alice_index);
    assert_eq!(d["key"], alice.verifier().to_string());
    assert_eq!(d["letter"], LETTER_ID);
    assert_eq!(d["server"]["claim"], site.url("/"));
    assert!(
        d["server"]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(d["live"]["held"], false);
    let reason = d["live"]["reason"].as_str().unwrap();
    assert!(reason.contains("does not contain"), "{reason}");

    let run = audit(&s, &server.url, &server.vkey, &fx, false, 1);
    run.says("1 differ from the server's verified")
        .says(&format!(
            "DIFFERENCE (fails-live) letter pause-giant-ai-experiments, entry {alice_index}"
        ))
        .says(&format!("the server lists {} as verified", site.url("/")))
        .says(&format!("live: {} NOT VERIFIED: ", site.url("/")))
        .says("does not contain");
    // The log itself is still consistent, and the state was saved.
    run.says("consistent and valid");
}

#[test]
fn a_claim_that_holds_but_the_server_does_not_list() {
    let fx = Fixtures::start();
    let dana = signer("dana");
    let site = good_site(&fx, "dana.test", &dana);
    let data = tempfile::tempdir().unwrap();
    // No identity flags: the harness runs the server with --identity-checks off.
    let server = Server::start(data.path());
    let index = post(&server, &endorsement(&dana, &[&site.url("/")]));

    let s = Scratch::new();
    let report = audit(&s, &server.url, &server.vkey, &fx, true, 1).json();
    let found = differences(&report);
    assert_eq!(found.len(), 1, "{report}");
    let d = &found[0];
    assert_eq!(d["kind"], "not-listed");
    assert_eq!(d["claim"], site.url("/"));
    assert_eq!(d["index"], index);
    assert_eq!(d["server"], Value::Null);
    assert_eq!(d["live"]["held"], true);
    assert!(
        d["live"]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    audit(&s, &server.url, &server.vkey, &fx, false, 1).says(&format!(
        "the server does not list {} as verified; live: {} VERIFIED at",
        site.url("/"),
        site.url("/")
    ));
}

#[test]
fn hidden_and_withdrawn_signers_are_not_checked() {
    let fx = Fixtures::start();
    let (gone, hidden, shown) = (signer("gone"), signer("hidden"), signer("shown"));
    let moderator = signer("moderator");
    let gone_site = good_site(&fx, "gone.test", &gone);
    let hidden_site = good_site(&fx, "hidden.test", &hidden);
    let shown_site = good_site(&fx, "shown.test", &shown);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        data.path(),
        &["--moderator", &moderator.verifier().to_string()],
    );
    let letter: LetterId = LETTER_ID.parse().unwrap();
    let earlier = entries::now().unix() - 60;
    post(
        &server,
        &endorsement_at(&gone, &[&gone_site.url("/")], entries::unix_time(earlier)),
    );
    post(
        &server,
        &entries::signed(
            Statement::Withdrawal(entries::unsigned_withdrawal(&gone, letter, entries::now())),
            &gone,
        ),
    );
    let target = post(&server, &endorsement(&hidden, &[&hidden_site.url("/")]));
    let hide = entries::unsigned_moderation(
        &moderator,
        letter,
        target,
        signet_core::entry::ModerationAction::Hide,
        signet_core::entry::ModerationReason::Impersonation,
        entries::now(),
    );
    post(
        &server,
        &entries::signed(Statement::Moderation(hide), &moderator),
    );
    post(&server, &endorsement(&shown, &[&shown_site.url("/")]));

    let s = Scratch::new();
    // The server checks nothing, so the one shown claim is a difference; the others
    // would be too, had they been checked.
    let report = audit(&s, &server.url, &server.vkey, &fx, true, 1).json();
    assert_eq!(report["identities"]["signers"], 1, "{report}");
    assert_eq!(report["identities"]["claims"], 1, "{report}");
    let found = differences(&report);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["claim"], shown_site.url("/"));
    assert_eq!(found[0]["key"], shown.verifier().to_string());
    assert_eq!(
        gone_site.accepts(),
        0,
        "a withdrawn signer's claim is not checked"
    );
    assert_eq!(
        hidden_site.accepts(),
        0,
        "a hidden signer's claim is not checked"
    );
    assert!(shown_site.accepts() >= 1);
}

/// A registry serving a real log's tiles, whose `/v1/signatories` answers `signatories`.
fn fake_registry(
    signatories: impl Fn(&str) -> Response + Send + Sync + 'static,
) -> (TestServer, String, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut log = TestLog::new(common::ORIGIN);
    let letter = signet_core::Letter::from_bytes(common::LETTER.as_bytes()).unwrap();
    log.register(&letter, "open-letter", 0);
    log.endorse(&signer("erin"), letter.id(), "Erin", 1);
    log.publish(tmp.path());
    let vkey = log.vkey();
    let server = TestServer::with_handler(tmp.path(), move |r| {
        r.path
            .starts_with("/v1/signatories?")
            .then(|| signatories(&r.path))
    });
    (server, vkey, tmp)
}

/// How a fake registry answers `/v1/signatories`, given the request's path.
type Answer = Box<dyn Fn(&str) -> Response + Send + Sync>;

#[test]
fn a_bad_signatory_list_is_a_clear_error() {
    let fx = Fixtures::start();
    let erin = signer("erin").verifier().to_string();
    let row = move |next: &'static str| {
        let page = format!(
            "{{\"items\":[{{\"index\":1,\"key\":\"{erin}\",\"verified\":[]}}],\"next\":{next}}}"
        );
        move |_: &str| Response::new(200, page.clone())
    };
    let cases: Vec<(&str, Answer, &str)> = vec![
        (
            "garbage",
            Box::new(|_| Response::new(200, "<html>not json</html>")),
            "not the JSON of a page of signatories",
        ),
        (
            "the wrong JSON",
            Box::new(|_| Response::new(200, "{\"items\": 3}")),
            "not the JSON of a page of signatories",
        ),
        (
            "an oversized body",
            Box::new(|_| Response::new(200, vec![b' '; 2 << 20])),
            "larger than 1048576 bytes",
        ),
        (
            "an error status",
            Box::new(|_| {
                Response::new(
                    404,
                    "{\"error\":\"not_found\",\"message\":\"no such letter\"}",
                )
            }),
            "answered HTTP 404: no such letter",
        ),
        (
            "a cursor that comes back",
            Box::new(row("\"c1\"")),
            "does not move on",
        ),
        (
            "an empty page that points on",
            Box::new(|_| Response::new(200, "{\"items\":[],\"next\":\"c9\"}")),
            "does not move on",
        ),
        (
            "a cursor that is not URL-safe",
            Box::new(row("\"a&b=c\"")),
            "URL-safe",
        ),
        (
            "a key that is not a key",
            Box::new(|_| {
                Response::new(
                    200,
                    "{\"items\":[{\"index\":1,\"key\":\"nobody\",\"verified\":[]}],\"next\":null}",
                )
            }),
            "is not a verifier key",
        ),
    ];
    for (name, answer, says) in cases {
        let (server, vkey, _tmp) = fake_registry(answer);
        let s = Scratch::new();
        let run = audit(&s, server.url(), &vkey, &fx, true, 2);
        assert!(run.stderr.contains(says), "{name}: {run}");
        assert!(
            run.stderr
                .contains("the audit passed and its state is saved"),
            "{name}: {run}"
        );
        assert!(!run.stderr.contains("panicked"), "{name}: {run}");
        assert!(run.stdout.is_empty(), "{name}: {run}");
    }
}

#[test]
fn identity_flags_without_identities_and_a_bad_ca_are_usage_errors() {
    let (server, vkey, _tmp) =
        fake_registry(|_| Response::new(200, "{\"items\":[],\"next\":null}"));
    let s = Scratch::new();
    let base = [
        "audit",
        "--server",
        server.url(),
        "--log-key",
        &vkey,
        "--state",
    ];
    let state = s.p("state");
    let mut args: Vec<&str> = base.to_vec();
    args.extend([state.as_str(), "--identity-dns", "127.0.0.1:9"]);
    s.run(&args, 2).says("--identity-dns needs --identities");
    let ca = s.p("missing.pem");
    let mut args: Vec<&str> = base.to_vec();
    args.extend([
        state.as_str(),
        "--identities",
        "--identity-dns",
        "127.0.0.1:9",
        "--identity-ca",
        &ca,
    ]);
    let run = s.run(&args, 2);
    run.says("cannot read the identity CA file");
    assert!(
        !s.path("state").exists(),
        "nothing is audited before the flags are sound"
    );
    // An empty list checks nothing and agrees.
    let mut args: Vec<&str> = base.to_vec();
    args.extend([
        state.as_str(),
        "--identities",
        "--identity-dns",
        "127.0.0.1:9",
        "--json",
    ]);
    let report = s.run(&args, 0).json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["identities"]["claims"], 0);
    // The log shows Erin, but the server listed nobody: said, not checked.
    assert_eq!(report["identities"]["not_listed"], 1);
}

#[test]
fn an_endorsement_served_other_than_audited_is_misbehaviour() {
    let fx = Fixtures::start();
    let tmp = tempfile::tempdir().unwrap();
    let mut log = TestLog::new(common::ORIGIN);
    let letter = signet_core::Letter::from_bytes(common::LETTER.as_bytes()).unwrap();
    let erin = signer("erin");
    log.register(&letter, "open-letter", 0);
    log.endorse(&erin, letter.id(), "Erin", 1);
    log.publish(tmp.path());
    // The same endorsement under another name: validly signed, but not the audited entry.
    let registration = log.entries()[0].clone();
    let swapped = entries::endorsement(&erin, letter.id(), "Erin Impostor", 1);
    let mut bundle = Vec::new();
    for e in [registration, swapped] {
        signet_core::tiles::push_bundle_entry(&mut bundle, &e).unwrap();
    }
    let bundle_path = "/tile/entries/000.p/2";
    let served = std::sync::atomic::AtomicUsize::new(0);
    let key = erin.verifier().to_string();
    let server = TestServer::with_handler(tmp.path(), move |r| {
        if r.path.starts_with("/v1/signatories?") {
            return Some(Response::new(
                200,
                format!(
                    "{{\"items\":[{{\"index\":1,\"key\":\"{key}\",\"verified\":[]}}],\"next\":null}}"
                ),
            ));
        }
        // The audit reads the bundle first; every read after it gets the other one.
        (r.path == bundle_path && served.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0)
            .then(|| Response::new(200, bundle.clone()))
    });
    let s = Scratch::new();
    let report = audit(&s, server.url(), &log.vkey(), &fx, true, 1).json();
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["problem"], "bad-bundle", "{report}");
    assert_eq!(report["index"], 1, "{report}");
    let message = report["message"].as_str().unwrap();
    assert!(
        message.contains("not the entry the audit verified"),
        "{message}"
    );
}
