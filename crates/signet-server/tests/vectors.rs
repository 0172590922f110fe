//! The verifier's shared test vectors (`testdata/verify/vectors.json`), run by the Rust
//! code: the same file the in-browser verifier runs in the browser tests, so that both
//! refuse and accept exactly the same signatures, keys and letters.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

mod support;

use serde_json::Value;
use signet_core::keys::SignatureType;
use signet_core::{Error, KeyName, Letter, VerifierKey};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/testdata/verify/vectors.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn vkey(public_key: &[u8]) -> VerifierKey {
    VerifierKey::new(
        KeyName::parse("vector").unwrap(),
        SignatureType::Ed25519,
        public_key.try_into().unwrap(),
    )
}

#[test]
fn ed25519_vectors_verify_as_the_strict_rules_say() {
    let all = vectors();
    let cases = all["ed25519"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let comment = case["comment"].as_str().unwrap();
        let sig: [u8; 64] = bytes(&case["signature"]).try_into().unwrap();
        let got = vkey(&bytes(&case["public_key"])).verify_ed25519(&bytes(&case["message"]), &sig);
        match (case["fails"].as_str(), got) {
            (None, Ok(())) => {}
            (Some("key"), Err(Error::BadPublicKey { .. })) => {}
            (Some("signature" | "scalar" | "r"), Err(Error::BadSignature { .. })) => {}
            (want, got) => panic!("{comment}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn small_order_and_non_canonical_points_are_refused_as_keys() {
    let all = vectors();
    let points = all["points"].as_array().unwrap();
    assert!(points.iter().filter(|p| p["valid"] == false).count() >= 10);
    for p in points {
        let comment = p["comment"].as_str().unwrap();
        // Any signature: a refused key is refused before the signature is looked at.
        let got = vkey(&bytes(&p["encoding"])).verify_ed25519(b"m", &[0u8; 64]);
        let key_refused = matches!(got, Err(Error::BadPublicKey { .. }));
        assert_eq!(
            !key_refused,
            p["valid"].as_bool().unwrap(),
            "{comment}: {got:?}"
        );
    }
}

#[test]
fn letter_vectors_give_the_canonical_text_and_id() {
    let all = vectors();
    for case in all["letters"].as_array().unwrap() {
        let comment = case["comment"].as_str().unwrap();
        let letter = Letter::from_bytes(case["text"].as_str().unwrap().as_bytes()).unwrap();
        assert_eq!(
            letter.text(),
            case["canonical"].as_str().unwrap(),
            "{comment}"
        );
        assert_eq!(
            letter.id().to_string(),
            case["id"].as_str().unwrap(),
            "{comment}"
        );
    }
}

/// The page's form of a quorum member (`w<position>` or `g<position>`).
fn node(n: signet_core::policy::QuorumNode) -> String {
    match n {
        signet_core::policy::QuorumNode::Witness(w) => format!("w{w}"),
        signet_core::policy::QuorumNode::Group(g) => format!("g{g}"),
    }
}

#[test]
fn quorum_vectors_are_decided_as_the_policy_says() {
    let cases = support::quorum_vectors();
    assert!(cases.len() >= 15);
    for case in &cases {
        let comment = case["comment"].as_str().unwrap();
        let c = support::quorum_case(case);
        let met = c.policy.check_quorum(&c.checkpoint).is_ok();
        assert_eq!(Value::Bool(met), case["met"], "{comment}");
        // The quorum's structure is the one the vector gives the page's check.
        let spec = match c.policy.quorum() {
            None => Value::Null,
            Some(q) => {
                let groups: Vec<String> = c
                    .policy
                    .groups()
                    .iter()
                    .map(|g| {
                        let members: Vec<String> = g.members.iter().map(|m| node(*m)).collect();
                        format!("{}:{}", g.threshold, members.join(" "))
                    })
                    .collect();
                serde_json::json!({"quorum": node(q), "groups": groups.join(";")})
            }
        };
        assert_eq!(spec, case["spec"], "{comment}");
    }
}
