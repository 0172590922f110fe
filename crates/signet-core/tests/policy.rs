//! C2SP tlog-policy: parsing, and checking checkpoints against quorums.
#![expect(clippy::unwrap_used, reason = "tests")]

use signet_core::keys::SignatureType;
use signet_core::policy::{Policy, PolicyError};
use signet_core::{
    Checkpoint, Hash, KeyName, SignedCheckpoint, SigningKey, VerifierKey, cosignature,
};

fn key(name: &str, sig_type: SignatureType) -> SigningKey {
    SigningKey::from_seed(
        KeyName::parse(name).unwrap(),
        sig_type,
        &Hash::sha256(name.as_bytes()).0,
    )
}

fn log() -> SigningKey {
    key("example.org/log", SignatureType::Ed25519)
}

fn witness(n: u32) -> SigningKey {
    key(&format!("witness{n}.example"), SignatureType::CosignatureV1)
}

/// A checkpoint signed by the log and cosigned by the given witnesses.
fn checkpoint(cosigners: &[u32]) -> SignedCheckpoint {
    let body = Checkpoint {
        origin: String::from("example.org/log"),
        size: 3,
        root: Hash::sha256(b"r"),
        extensions: vec![],
    };
    let mut signed = body.sign(&log()).unwrap();
    for &w in cosigners {
        let sig = cosignature::cosign(&body, &witness(w), 1_700_000_000).unwrap();
        signed.note_mut().push_signature(sig);
    }
    signed
}

fn policy(quorum: &str) -> String {
    let mut p = format!(
        "# test policy\nlog {} https://example.org/log\n",
        log().verifier()
    );
    for w in 1..=3 {
        p.push_str(&format!("witness w{w} {}\n", witness(w).verifier()));
    }
    p.push_str("group two 2 w1 w2 w3\ngroup all-of all w1 w2\n");
    p.push_str("group nested any two all-of\n");
    p.push_str(&format!("  quorum\t{quorum}  \n"));
    p
}

#[test]
fn quorums() {
    fn check(quorum: &str, cosigners: &[u32], ok: bool) {
        let p = Policy::parse(policy(quorum).as_bytes()).unwrap();
        let result = p.verify_checkpoint(&checkpoint(cosigners));
        assert_eq!(
            result.is_ok(),
            ok,
            "quorum {quorum} with {cosigners:?}: {result:?}"
        );
        if let Ok(k) = result {
            assert_eq!(k, log().verifier());
        }
    }
    check("none", &[], true);
    check("w1", &[], false);
    check("w1", &[2], false);
    check("w1", &[1], true);
    check("two", &[3], false);
    check("two", &[1, 3], true);
    check("all-of", &[1, 3], false);
    check("all-of", &[2, 1], true);
    check("nested", &[3], false);
    check("nested", &[2, 3], true);
}

#[test]
fn quorum_failure_names_the_valid_cosigners() {
    let p = Policy::parse(policy("all-of").as_bytes()).unwrap();
    let err = p.verify_checkpoint(&checkpoint(&[2, 3])).unwrap_err();
    match &err {
        PolicyError::QuorumNotMet { cosigned } => assert_eq!(cosigned, &["w2", "w3"]),
        other => panic!("expected QuorumNotMet, got {other:?}"),
    }
    assert!(err.to_string().contains("w2, w3"), "{err}");
}

#[test]
fn a_long_chain_of_groups_is_decided_without_recursion() {
    // Each group holds only the one before it: deep enough to overflow a recursive walk.
    let mut p = format!(
        "log {}\nwitness w {}\ngroup g0 any w\n",
        log().verifier(),
        witness(1).verifier()
    );
    let depth = 100_000;
    for i in 1..depth {
        p.push_str(&format!("group g{i} any g{}\n", i - 1));
    }
    p.push_str(&format!("quorum g{}\n", depth - 1));
    let p = Policy::parse(p.as_bytes()).unwrap();
    assert!(p.verify_checkpoint(&checkpoint(&[1])).is_ok());
    assert!(matches!(
        p.verify_checkpoint(&checkpoint(&[])),
        Err(PolicyError::QuorumNotMet { .. })
    ));
}

#[test]
fn wrong_log() {
    let other = key("example.org/other", SignatureType::Ed25519);
    let p = Policy::parse(format!("log {}\nquorum none\n", other.verifier()).as_bytes()).unwrap();
    let err = p.verify_checkpoint(&checkpoint(&[])).unwrap_err();
    assert!(
        matches!(&err, PolicyError::UnknownOrigin { origin } if origin == "example.org/log"),
        "{err}"
    );
    // Same name, another key: the signature does not verify.
    let impostor = VerifierKey::new(
        log().name().clone(),
        SignatureType::Ed25519,
        *witness(9).verifier().public_key(),
    );
    let p = Policy::parse(format!("log {impostor}\nquorum none\n").as_bytes()).unwrap();
    let err = p.verify_checkpoint(&checkpoint(&[])).unwrap_err();
    assert!(matches!(err, PolicyError::BadSignature { .. }), "{err}");
}

#[test]
fn single_log() {
    let p = Policy::single_log(log().verifier());
    assert_eq!(p.logs(), &[log().verifier()]);
    assert_eq!(
        p.verify_checkpoint(&checkpoint(&[])).unwrap(),
        log().verifier()
    );
}

#[test]
fn parse_errors() {
    let w1 = witness(1).verifier();
    let l = log().verifier();
    fn check(text: &str, line: usize) {
        match Policy::parse(text.as_bytes()) {
            Err(PolicyError::Syntax { line: got, .. }) => assert_eq!(got, line, "{text}"),
            other => panic!("{text}: expected an error on line {line}, got {other:?}"),
        }
    }
    check("log x\nquorum none\n", 1);
    check(&format!("log {l}\nlog {l}\nquorum none\n"), 2);
    check(&format!("witness a {w1}\nwitness b {w1}\nquorum a\n"), 2);
    check(&format!("witness none {w1}\nquorum none\n"), 1);
    check(&format!("witness a {w1}\ngroup g 0 a\nquorum g\n"), 2);
    check(&format!("witness a {w1}\ngroup g 2 a\nquorum g\n"), 2);
    check(&format!("witness a {w1}\ngroup g any b\nquorum g\n"), 2);
    check(&format!("witness a {w1}\ngroup g any a a\nquorum g\n"), 2);
    check("quorum none\nquorum none\n", 2);
    check("quorum nobody\n", 1);
    check("frobnicate\nquorum none\n", 1);
    check("quorum none\r\n", 1);
    check(&format!("witness a {w1}\ngroup g 01 a\nquorum g\n"), 2);
    check(&format!("witness a {w1}\ngroup g 1000000 a\nquorum g\n"), 2);
    check(&format!("log {l} https://x extra\nquorum none\n"), 1);
    assert!(matches!(
        Policy::parse(format!("log {l}\n").as_bytes()),
        Err(PolicyError::NoQuorum)
    ));
    assert!(matches!(
        Policy::parse(b"witness a \xff\nquorum none\n"),
        Err(PolicyError::Syntax { line: 1, .. })
    ));
}
