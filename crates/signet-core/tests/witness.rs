//! C2SP tlog-cosignature and tlog-witness: the specifications' own examples
//! (`testdata/c2sp-*`, sources in `testdata/README.md`) and our cosigner against them.
#![expect(clippy::unwrap_used, reason = "tests")]

use signet_core::keys::SignatureType;
use signet_core::witness::{AddCheckpoint, parse_cosignatures};
use signet_core::{KeyName, SignedCheckpoint, SigningKey, cosignature};

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn the_cosignature_example_has_the_spec_framing_and_message() {
    let cp = SignedCheckpoint::parse(&testdata("c2sp-cosignature-example.checkpoint")).unwrap();
    let sigs = cp.note().signatures();
    assert_eq!(sigs.len(), 2);
    let w = &sigs[1];
    assert_eq!(w.name.as_str(), "witness.example.com/w1");
    assert_eq!(w.id.0, [0x8d, 0x66, 0xcf, 0x3f]);
    assert_eq!(w.signature.len(), 8 + 64);
    let timestamp = u64::from_be_bytes(w.signature[..8].try_into().unwrap());
    assert_eq!(timestamp, 1_679_315_147);
    assert_eq!(
        cosignature::signed_message(cp.checkpoint(), timestamp),
        testdata("c2sp-cosignature-message.txt")
    );
    assert_eq!(
        cp.to_bytes(),
        testdata("c2sp-cosignature-example.checkpoint")
    );
}

#[test]
fn our_cosignature_of_the_example_checkpoint_verifies_and_has_the_same_framing() {
    let cp = SignedCheckpoint::parse(&testdata("c2sp-cosignature-example.checkpoint")).unwrap();
    let key = SigningKey::from_seed(
        KeyName::parse("witness.example.com/w1").unwrap(),
        SignatureType::CosignatureV1,
        &[3; 32],
    );
    let sig = cosignature::cosign(cp.checkpoint(), &key, 1_679_315_147).unwrap();
    assert_eq!(sig.signature[..8], 1_679_315_147u64.to_be_bytes());
    assert_eq!(sig.signature.len(), 72);
    assert_eq!(
        cosignature::verify(cp.checkpoint(), &key.verifier(), &sig).unwrap(),
        1_679_315_147
    );
    // The key ID is SHA-256(name || "\n" || 0x04 || key)[:4], not the Ed25519 note ID.
    let note_key = SigningKey::from_seed(key.name().clone(), SignatureType::Ed25519, &[3; 32]);
    assert_ne!(key.verifier().id(), note_key.verifier().id());
    // The spec example's cosignature is not by this key: refused, not mistaken for it.
    assert!(
        cosignature::verify(cp.checkpoint(), &key.verifier(), &cp.note().signatures()[1]).is_err()
    );
}

#[test]
fn the_add_checkpoint_examples_parse() {
    let bytes = testdata("c2sp-add-checkpoint-request.txt");
    let request = AddCheckpoint::parse(&bytes).unwrap();
    assert_eq!(request.old, 20_852_014);
    assert_eq!(request.proof.len(), 4);
    assert_eq!(request.checkpoint.checkpoint().size, 20_852_163);
    assert_eq!(request.checkpoint.note().signatures().len(), 2);
    assert_eq!(request.to_bytes(), bytes);

    let answer = testdata("c2sp-add-checkpoint-response.txt");
    let sigs = parse_cosignatures(request.checkpoint.checkpoint(), &answer).unwrap();
    let names: Vec<&str> = sigs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "witness.example/w1",
            "witness.example/w1",
            "witness.example/w2"
        ]
    );
}
