//! Identity claims on the real server (docs/protocol.md, *Identity claims*): every case
//! of the claim rules against the fixture sites and DNS, checked after the
//! acknowledgement, with the address rule, rechecks and `--identity-checks off`.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::{Duration, Instant};

use serde_json::Value;
use signet_core::entry::IdentityClaim;
use signet_core::{LetterId, SigningKey, Statement};
use signet_testkit::harness::{LETTER_ID, Server};
use signet_testkit::identity::{Fixtures, Page, refused_cases, standard_cases};
use signet_testkit::{entries, key};

fn signer(tag: &str, i: usize) -> SigningKey {
    key(
        &format!("{tag}{i}"),
        &format!("identity-{tag}-{}-{i}", std::process::id()),
    )
}

fn endorsement(signer: &SigningKey, claims: &[&str]) -> Vec<u8> {
    let letter: LetterId = LETTER_ID.parse().unwrap();
    let mut e = entries::unsigned_endorsement(signer, letter, "Claimant", entries::now());
    e.identity = claims
        .iter()
        .map(|c| IdentityClaim::parse(c).unwrap())
        .collect();
    e.identity.sort();
    entries::signed(Statement::Endorsement(e), signer)
}

fn args(flags: &[String], more: &[&str]) -> Vec<String> {
    flags
        .iter()
        .cloned()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

fn start(data: &std::path::Path, flags: &[String]) -> Server {
    let refs: Vec<&str> = flags.iter().map(String::as_str).collect();
    Server::start_with(data, &refs)
}

/// The `signet_identity_checks_total` counters: (held, failed).
fn checks(server: &Server) -> (u64, u64) {
    let (_, body) = server.get("/metrics");
    let text = String::from_utf8(body).unwrap();
    let count = |result: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "signet_identity_checks_total{{result=\"{result}\"}} "
                ))
            })
            .map_or(0, |n| n.parse().unwrap())
    };
    (count("held"), count("failed"))
}

fn wait_for_checks(server: &Server, n: u64, within: Duration) -> (u64, u64) {
    let deadline = Instant::now() + within;
    loop {
        let (held, failed) = checks(server);
        if held + failed >= n || Instant::now() > deadline {
            return (held, failed);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signatories(server: &Server) -> Vec<Value> {
    let v = server.get_json(
        &format!("/v1/signatories?letter={LETTER_ID}&status=all&limit=500"),
        200,
    );
    v["items"].as_array().unwrap().clone()
}

fn verified_claims(row: &Value) -> Vec<String> {
    row["verified"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["claim"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_claim_case_after_the_acknowledgement() {
    let fx = Fixtures::start();
    let keys: Vec<SigningKey> = (0..13).map(|i| signer("case", i)).collect();
    let (cases, _sites) = standard_cases(&fx, &|i| *keys[i].verifier().public_key());
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &fx.flags());
    // The warning goes to stderr, which the harness reads on a thread of its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server
        .output
        .lock()
        .unwrap()
        .contains("--identity-allow-private is on")
    {
        assert!(
            Instant::now() < deadline,
            "no warning that the address rule is off"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server
            .output
            .lock()
            .unwrap()
            .contains("--identity-allow-private is on")
    );
    let mut indexes = Vec::new();
    for (case, key) in cases.iter().zip(&keys) {
        let started = Instant::now();
        let (status, body) = server.post_entry(&endorsement(key, &[&case.claim]));
        assert_eq!(status, 201, "{}: {body}", case.name);
        // The acknowledgement never waits for a site, the slow one included.
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{}: {:?}",
            case.name,
            started.elapsed()
        );
        indexes.push(body["index"].as_u64().unwrap());
    }
    let (held, failed) = wait_for_checks(&server, cases.len() as u64, Duration::from_secs(30));
    let want_held = cases.iter().filter(|c| c.holds).count() as u64;
    assert_eq!((held, failed), (want_held, cases.len() as u64 - want_held));

    let rows = signatories(&server);
    for ((case, key), index) in cases.iter().zip(&keys).zip(&indexes) {
        let row = rows
            .iter()
            .find(|r| r["key"] == key.verifier().to_string())
            .unwrap_or_else(|| panic!("{} is listed", case.name));
        let verified = verified_claims(row);
        let entry = server.get_json(&format!("/v1/entries/{index}"), 200);
        let entry_verified = verified_claims(&entry);
        if case.holds {
            assert_eq!(verified, vec![case.claim.clone()], "{}", case.name);
            let v = &row["verified"][0];
            assert!(
                v["evidence"].as_str().unwrap().starts_with("sha256:"),
                "{}",
                case.name
            );
            signet_core::Timestamp::parse(v["checked"].as_str().unwrap()).unwrap();
            assert_eq!(entry["verified"], row["verified"], "{}", case.name);
        } else {
            assert!(verified.is_empty(), "{}: {verified:?}", case.name);
            assert!(entry_verified.is_empty(), "{}", case.name);
        }
    }
}

#[test]
fn the_address_rule_refuses_without_a_connection() {
    let fx = Fixtures::start();
    let k = signer("refused", 0);
    let (cases, site) = refused_cases(&fx, k.verifier().public_key());
    let claims: Vec<&str> = cases.iter().map(|c| c.claim.as_str()).collect();
    let data = tempfile::tempdir().unwrap();
    let server = start(data.path(), &fx.strict_flags());
    assert!(
        !server
            .output
            .lock()
            .unwrap()
            .contains("--identity-allow-private is on")
    );
    let (status, _) = server.post_entry(&endorsement(&k, &claims));
    assert_eq!(status, 201);
    let (held, failed) = wait_for_checks(&server, cases.len() as u64, Duration::from_secs(20));
    assert_eq!((held, failed), (0, cases.len() as u64));
    assert_eq!(site.accepts(), 0, "a refused address is never dialled");
    assert!(verified_claims(&signatories(&server)[0]).is_empty());
}

#[test]
fn a_claim_that_stops_holding_drops_out_at_the_recheck() {
    let fx = Fixtures::start();
    let k = signer("recheck", 0);
    let site = fx.site("recheck.test");
    let token = signet_testkit::identity::token_for(k.verifier().public_key());
    site.set("/", Page::Body(format!("{token}\n").into_bytes()));
    let data = tempfile::tempdir().unwrap();
    let server = start(
        data.path(),
        &args(&fx.flags(), &["--identity-recheck", "2s"]),
    );
    let (status, _) = server.post_entry(&endorsement(&k, &[&site.url("/")]));
    assert_eq!(status, 201);
    wait_for_checks(&server, 1, Duration::from_secs(10));
    assert_eq!(
        verified_claims(&signatories(&server)[0]),
        vec![site.url("/")]
    );

    site.set("/", Page::Body(b"moved on\n".to_vec()));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !verified_claims(&signatories(&server)[0]).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the changed page still counts as verified"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(checks(&server).1 >= 1);
}

#[test]
fn a_rebuilt_index_checks_the_claims_again() {
    let fx = Fixtures::start();
    let k = signer("rebuild", 0);
    let site = fx.site("rebuild.test");
    let token = signet_testkit::identity::token_for(k.verifier().public_key());
    site.set("/", Page::Body(format!("{token}\n").into_bytes()));
    let data = tempfile::tempdir().unwrap();
    let mut server = start(data.path(), &fx.flags());
    assert_eq!(
        server.post_entry(&endorsement(&k, &[&site.url("/")])).0,
        201
    );
    wait_for_checks(&server, 1, Duration::from_secs(10));
    assert_eq!(
        verified_claims(&signatories(&server)[0]),
        vec![site.url("/")]
    );
    server.stop();
    let before = site.accepts();
    // After a rebuild the results are gone and the claim is checked again at once,
    // though the recheck interval (24 h) is far off.
    let server = start(data.path(), &args(&fx.flags(), &["--reindex"]));
    wait_for_checks(&server, 1, Duration::from_secs(10));
    assert_eq!(site.accepts(), before + 1);
    assert_eq!(
        verified_claims(&signatories(&server)[0]),
        vec![site.url("/")]
    );
}

#[test]
fn checks_off_make_no_request() {
    let fx = Fixtures::start();
    let k = signer("off", 0);
    let site = fx.site("off.test");
    let token = signet_testkit::identity::token_for(k.verifier().public_key());
    site.set("/", Page::Body(format!("{token}\n").into_bytes()));
    let data = tempfile::tempdir().unwrap();
    let server = start(
        data.path(),
        &args(&fx.flags(), &["--identity-checks", "off"]),
    );
    assert_eq!(
        server.post_entry(&endorsement(&k, &[&site.url("/")])).0,
        201
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(site.accepts(), 0);
    assert!(verified_claims(&signatories(&server)[0]).is_empty());
    let (_, metrics) = server.get("/metrics");
    assert!(
        !String::from_utf8(metrics)
            .unwrap()
            .contains("signet_identity_checks_total")
    );
}

#[test]
fn bad_identity_flags_are_refused_with_a_reason() {
    let data = tempfile::tempdir().unwrap();
    for (flags, needle) in [
        (vec!["--identity-checks", "maybe"], "neither on nor off"),
        (vec!["--identity-recheck", "1d"], "not a duration"),
        (vec!["--identity-recheck", "0"], "at least 1 s"),
        (vec!["--identity-dns", "dns.example"], "not an IP address"),
        (
            vec![
                "--identity-ca",
                "/nonexistent/ca.pem",
                "--identity-dns",
                "127.0.0.1:1",
            ],
            "cannot read the identity CA file",
        ),
    ] {
        let out = Server::try_start_with(data.path(), &flags).unwrap_err();
        assert!(out.contains(needle), "{flags:?}: {out}");
    }
}
