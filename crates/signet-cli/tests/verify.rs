//! `signet verify`, offline: each way an endorsement or its proof can be wrong is caught
//! with exit 1 and a reason.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{LETTER, ORIGIN, Scratch};
use signet_core::keys::SignatureType;
use signet_core::{TlogProof, VerifierKey};
use signet_testkit::{TestLog, key};

/// A scratch dir with alice's endorsement `a.end`, logged at index 3 of a 6-entry log,
/// its proof `a.end.tlog-proof`, and the log's key in `log.vkey`.
fn setup() -> (Scratch, TestLog) {
    let s = Scratch::new();
    s.key("alice");
    let bytes = s.sign("alice", "Alice Example", "a.end");
    let mut log = TestLog::new(ORIGIN);
    let letter = signet_core::Letter::from_bytes(LETTER.as_bytes()).unwrap();
    log.register(&letter, "open-letter", 0);
    log.endorse(&key("bob", "bob"), letter.id(), "Bob", 1);
    log.endorse(&key("carol", "carol"), letter.id(), "Carol", 2);
    log.push(bytes);
    log.endorse(&key("dave", "dave"), letter.id(), "Dave", 3);
    log.endorse(&key("erin", "erin"), letter.id(), "Erin", 4);
    s.write("a.end.tlog-proof", log.proof(3).to_bytes());
    s.write("log.vkey", format!("{}\n", log.vkey()));
    (s, log)
}

fn verify_args<'a>(s: &'a Scratch, extra: &[&'a str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "verify",
        "a.end",
        "--letter",
        "letter.txt",
        "--proof",
        "a.end.tlog-proof",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let _ = s;
    args
}

fn run(s: &Scratch, args: &[String], code: i32) -> common::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&args, code)
}

#[test]
fn valid_endorsement_and_proof() {
    let (s, log) = setup();
    let vkey = log.vkey();
    let r = run(&s, &verify_args(&s, &["--log-key", &vkey]), 0);
    assert!(r.stdout.contains("VALID"), "{r}");
    assert!(r.stdout.contains("included at index 3"), "{r}");
    assert!(
        r.stdout.contains("self-asserted"),
        "names are self-asserted: {r}"
    );
    // The log key may be a file, or come from SIGNET_LOG_KEY.
    run(&s, &verify_args(&s, &["--log-key", "log.vkey"]), 0);
    let mut cmd = s.cmd(&["verify", "a.end", "--proof", "a.end.tlog-proof"]);
    cmd.env("SIGNET_LOG_KEY", &vkey);
    s.run_cmd(cmd, 0);
    // Only the signature, from stdin.
    let mut cmd = s.cmd(&["verify", "-"]);
    cmd.write_stdin(s.read("a.end"));
    s.run_cmd(cmd, 0);

    let j = run(&s, &verify_args(&s, &["--log-key", &vkey, "--json"]), 0).json();
    assert_eq!(j["valid"], true);
    assert_eq!(j["kind"], "endorsement");
    assert_eq!(j["entry"]["name"], "Alice Example");
    assert_eq!(j["entry"]["name_verified"], false);
    assert_eq!(j["entry"]["fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(j["letter_file"]["matches"], true);
    assert_eq!(j["proof"]["included"], true);
    assert_eq!(j["proof"]["index"], 3);
    assert_eq!(j["proof"]["size"], 6);
    assert_eq!(j["proof"]["origin"], ORIGIN);
    assert!(j["error"].is_null());
}

/// Expects exit 1 with `reason` in the output, in text and in JSON.
fn refused(s: &Scratch, args: &[String], reason: &str) {
    let r = run(s, args, 1);
    r.says(reason).says("INVALID");
    let mut json = args.to_vec();
    json.push(String::from("--json"));
    let j = run(s, &json, 1).json();
    assert_eq!(j["valid"], false, "{args:?}");
    assert!(j["error"].as_str().unwrap().contains(reason), "{j}");
}

#[test]
fn changed_byte_in_the_name() {
    let (s, log) = setup();
    let text = String::from_utf8(s.read("a.end")).unwrap();
    s.write(
        "a.end",
        text.replace("name Alice Example", "name Alice Exbmple"),
    );
    refused(
        &s,
        &verify_args(&s, &["--log-key", &log.vkey()]),
        "does not verify",
    );
    refused(&s, &["verify".into(), "a.end".into()], "does not verify");
}

#[test]
fn signature_by_another_key() {
    let (s, log) = setup();
    // The same statement, with its key line naming alice's key, signed by mallory's key
    // under the name alice.
    let text = String::from_utf8(s.read("a.end")).unwrap();
    let (body, sig_line) = text.split_once("\n\n").unwrap();
    let mallory = signet_core::SigningKey::from_seed(
        signet_core::KeyName::parse("alice").unwrap(),
        SignatureType::Ed25519,
        &[7; 32],
    );
    let forged = signet_core::note::Note::sign(&format!("{body}\n"), &[&mallory])
        .unwrap()
        .to_string();
    let (_, forged_sig) = forged.split_once("\n\n").unwrap();
    assert_ne!(sig_line, forged_sig);
    s.write("a.end", format!("{body}\n\n{forged_sig}"));
    refused(
        &s,
        &verify_args(&s, &["--log-key", &log.vkey()]),
        "not valid",
    );
}

#[test]
fn proof_with_a_flipped_hash() {
    let (s, log) = setup();
    let mut proof = TlogProof::parse(&s.read("a.end.tlog-proof")).unwrap();
    proof.hashes[1].0[7] ^= 0x10;
    s.write("a.end.tlog-proof", proof.to_bytes());
    refused(
        &s,
        &verify_args(&s, &["--log-key", &log.vkey()]),
        "proof does not verify",
    );
}

#[test]
fn wrong_index() {
    let (s, log) = setup();
    let text = String::from_utf8(s.read("a.end.tlog-proof")).unwrap();
    s.write(
        "a.end.tlog-proof",
        text.replace("\nindex 3\n", "\nindex 2\n"),
    );
    refused(
        &s,
        &verify_args(&s, &["--log-key", &log.vkey()]),
        "proof does not verify",
    );
}

#[test]
fn wrong_log_key() {
    let (s, _) = setup();
    let other = key(ORIGIN, "another log key");
    refused(
        &s,
        &verify_args(&s, &["--log-key", &other.verifier().to_string()]),
        "no signature by a trusted key",
    );
}

#[test]
fn wrong_origin() {
    let (s, log) = setup();
    // The log's own public key, under another name: the checkpoint names another origin.
    let renamed = VerifierKey::new(
        signet_core::KeyName::parse("example.org/another-log").unwrap(),
        SignatureType::Ed25519,
        *log.key().verifier().public_key(),
    );
    refused(
        &s,
        &verify_args(&s, &["--log-key", &renamed.to_string()]),
        "origin",
    );
}

#[test]
fn different_letter() {
    let (s, log) = setup();
    s.write("other.txt", "Another letter entirely.\n");
    let mut args = verify_args(&s, &["--log-key", &log.vkey()]);
    args[3] = String::from("other.txt");
    refused(&s, &args, "different letter");
    let j = run(&s, &[args, vec!["--json".into()]].concat(), 1).json();
    assert_eq!(j["letter_file"]["matches"], false);
}

#[test]
fn policy() {
    let (s, log) = setup();
    s.write("ok.policy", format!("log {}\nquorum none\n", log.vkey()));
    run(&s, &verify_args(&s, &["--policy", "ok.policy"]), 0);
    let w = signet_core::SigningKey::from_seed(
        signet_core::KeyName::parse("witness.example").unwrap(),
        SignatureType::CosignatureV1,
        &[9; 32],
    );
    s.write(
        "witnessed.policy",
        format!("log {}\nwitness w {}\nquorum w\n", log.vkey(), w.verifier()),
    );
    refused(
        &s,
        &verify_args(&s, &["--policy", "witnessed.policy"]),
        "quorum",
    );
    s.write("bad.policy", "log nonsense\nquorum none\n");
    run(&s, &verify_args(&s, &["--policy", "bad.policy"]), 2).says("line 1");
}

#[test]
fn usage_and_input_errors() {
    let (s, log) = setup();
    let vkey = log.vkey();
    // --proof without a key, a key without --proof, both key and policy.
    s.run(&["verify", "a.end", "--proof", "a.end.tlog-proof"], 2)
        .says("--log-key");
    s.run(&["verify", "a.end", "--log-key", &vkey], 2)
        .says("--proof");
    s.write("p", "quorum none\n");
    s.run(
        &[
            "verify",
            "a.end",
            "--proof",
            "a.end.tlog-proof",
            "--log-key",
            &vkey,
            "--policy",
            "p",
        ],
        2,
    )
    .says("not both");
    s.run(&["verify", "a.end", "--policy", "p"], 2)
        .says("--proof");
    // Unreadable files and a bad key value.
    s.run(&["verify", "missing.end"], 2).says("missing.end");
    s.run(
        &[
            "verify",
            "a.end",
            "--proof",
            "missing.tlog-proof",
            "--log-key",
            &vkey,
        ],
        2,
    )
    .says("missing.tlog-proof");
    s.run(
        &[
            "verify",
            "a.end",
            "--proof",
            "a.end.tlog-proof",
            "--log-key",
            "nonsense",
        ],
        2,
    )
    .says("--log-key");
    s.write("bad.txt", b"\xff\xff");
    s.run(&["verify", "a.end", "--letter", "bad.txt"], 2)
        .says("bad.txt");
    // A corrupted proof file is a failed verification.
    s.write("junk.tlog-proof", "not a proof\n");
    s.run(
        &[
            "verify",
            "a.end",
            "--proof",
            "junk.tlog-proof",
            "--log-key",
            &vkey,
        ],
        1,
    )
    .says("not valid");
    s.run(&["verify"], 2);
}
