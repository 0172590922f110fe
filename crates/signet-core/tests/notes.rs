//! Known-answer and adversarial tests for keys, signed notes, checkpoints, cosignatures
//! and proof files. Vector sources are in `testdata/README.md`.
#![expect(clippy::unwrap_used, reason = "tests: a panic is a failure")]

use signet_core::cosignature;
use signet_core::keys::{KeyName, SignatureType};
use signet_core::merkle::{self, CompactRange};
use signet_core::note::{Note, NoteSignature};
use signet_core::{
    Checkpoint, Error, ErrorClass, Hash, SignedCheckpoint, SigningKey, TlogProof, VerifierKey,
};

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/testdata/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn seed_of(s: &str) -> [u8; 32] {
    Hash::sha256(s.as_bytes()).0
}

fn demo_log_key() -> SigningKey {
    let name = KeyName::parse("example.org/pause-letter-log").unwrap();
    SigningKey::from_seed(
        name,
        SignatureType::Ed25519,
        &seed_of("pause-letter-demo-seed"),
    )
}

#[test]
fn c2sp_signed_note_example_verifies() {
    let vkey = VerifierKey::parse(
        String::from_utf8(testdata("signed-note-example.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let bytes = testdata("signed-note-example.note");
    let note = Note::parse(&bytes).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    assert_eq!(note.verify(std::slice::from_ref(&vkey)).unwrap().len(), 1);
    assert_eq!(note.to_bytes(), bytes);
    // The same message with one changed byte no longer verifies.
    let mut tampered = bytes.clone();
    tampered[0] = b't';
    let err = Note::parse(&tampered).unwrap().verify(&[vkey]).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
}

#[test]
fn design_worked_example_byte_for_byte() {
    let key = demo_log_key();
    let vkey = key.verifier();
    let expected = String::from_utf8(testdata("worked-example.txt")).unwrap();
    let field = |name: &str| {
        expected
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap()
            .to_owned()
    };
    assert_eq!(vkey.to_string(), field("vkey"));

    let entries: [&[u8]; 2] = [b"entry-0", b"entry-1"];
    let mut bundle = Vec::new();
    for e in entries {
        signet_core::tiles::push_bundle_entry(&mut bundle, e).unwrap();
    }
    assert_eq!(hex::encode(&bundle), field("bundle"));
    assert!(Hash::leaf(entries[0]).to_hex().starts_with(&field("leaf0")));
    assert!(Hash::leaf(entries[1]).to_hex().starts_with(&field("leaf1")));

    let mut range = CompactRange::new();
    for e in entries {
        range.append(Hash::leaf(e), |_, _| {});
    }
    let checkpoint = Checkpoint {
        origin: "example.org/pause-letter-log".into(),
        size: 2,
        root: range.root(),
        extensions: vec![],
    };
    let signed = checkpoint.sign(&key).unwrap();
    assert_eq!(signed.to_bytes(), testdata("worked-example.checkpoint"));
    assert_eq!(
        SignedCheckpoint::parse(&signed.to_bytes())
            .unwrap()
            .verify(&vkey)
            .unwrap(),
        &checkpoint
    );
}

#[derive(serde::Deserialize)]
struct NoteVector {
    seed_hex: String,
    key_name: String,
    vkey: String,
    skey: String,
    text: String,
    signed_note: String,
}

#[test]
fn go_x_mod_notes() {
    let all: serde_json::Value = serde_json::from_slice(&testdata("go-x-mod.json")).unwrap();
    let notes: Vec<NoteVector> = serde_json::from_value(all["notes"].clone()).unwrap();
    assert!(notes.len() >= 2);
    for v in notes {
        let seed: [u8; 32] = hex::decode(&v.seed_hex).unwrap().try_into().unwrap();
        let key = SigningKey::from_seed(
            KeyName::parse(&v.key_name).unwrap(),
            SignatureType::Ed25519,
            &seed,
        );
        assert_eq!(key.verifier().to_string(), v.vkey);
        assert_eq!(key.to_secret_string().as_str(), v.skey);
        let parsed = SigningKey::parse(&v.skey).unwrap();
        assert_eq!(parsed.verifier(), key.verifier());
        let note = Note::sign(&v.text, &[&key]).unwrap();
        assert_eq!(note.to_string(), v.signed_note);
        let parsed = Note::parse(v.signed_note.as_bytes()).unwrap();
        assert_eq!(
            parsed
                .verify(&[VerifierKey::parse(&v.vkey).unwrap()])
                .unwrap()
                .len(),
            1
        );
    }
}

#[test]
fn rfc8032_vectors() {
    let text = String::from_utf8(testdata("rfc8032-ed25519.txt")).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let seed: [u8; 32] = hex::decode(f[0]).unwrap().try_into().unwrap();
        let msg = if f[2] == "-" {
            vec![]
        } else {
            hex::decode(f[2]).unwrap()
        };
        let key = SigningKey::from_seed(
            KeyName::parse("rfc8032").unwrap(),
            SignatureType::Ed25519,
            &seed,
        );
        assert_eq!(hex::encode(key.verifier().public_key()), f[1]);
        let sig = key.sign_ed25519(&msg);
        assert_eq!(hex::encode(sig), f[3]);
        key.verifier().verify_ed25519(&msg, &sig).unwrap();
        n += 1;
    }
    assert_eq!(n, 3);
}

fn key(name: &str) -> SigningKey {
    SigningKey::from_seed(
        KeyName::parse(name).unwrap(),
        SignatureType::Ed25519,
        &seed_of(name),
    )
}

#[test]
fn note_verification_rules() {
    let (a, b, c) = (key("a.example"), key("b.example"), key("c.example"));
    let note = Note::sign("hello\n", &[&a, &b]).unwrap();
    // Unknown keys are ignored; one known key suffices.
    assert_eq!(
        note.verify(&[a.verifier(), c.verifier()]).unwrap(),
        vec![&a.verifier()]
    );
    // No known key at all is an error.
    assert!(matches!(
        note.verify(&[c.verifier()]).unwrap_err(),
        Error::UnknownSigner { .. }
    ));
    // A key that shares the name but not the ID is unknown, not a failure.
    let impostor = SigningKey::from_seed(
        KeyName::parse("a.example").unwrap(),
        SignatureType::Ed25519,
        &seed_of("x"),
    );
    assert!(matches!(
        note.verify(&[impostor.verifier()]).unwrap_err(),
        Error::UnknownSigner { .. }
    ));
    // A known key with a bad signature rejects the whole note.
    let mut forged = Note::parse(&note.to_bytes()).unwrap();
    let mut sig = forged.signatures()[1].clone();
    sig.signature[0] ^= 1;
    forged = Note::from_parts(
        forged.text().to_owned(),
        vec![forged.signatures()[0].clone(), sig],
    )
    .unwrap();
    assert!(matches!(
        forged.verify(&[a.verifier(), b.verifier()]).unwrap_err(),
        Error::BadSignature { .. }
    ));
}

#[test]
fn at_least_16_signatures_accepted() {
    let keys: Vec<SigningKey> = (0..20).map(|i| key(&format!("k{i}.example"))).collect();
    let refs: Vec<&SigningKey> = keys.iter().collect();
    let note = Note::sign("many\n", &refs).unwrap();
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    assert_eq!(parsed.signatures().len(), 20);
    let vkeys: Vec<VerifierKey> = keys.iter().map(SigningKey::verifier).collect();
    assert_eq!(parsed.verify(&vkeys).unwrap().len(), 20);
}

#[test]
fn malformed_notes() {
    let good = Note::sign("hello\n", &[&key("a.example")])
        .unwrap()
        .to_string();
    let sig_line = good.lines().last().unwrap().to_owned();
    let check = |input: Vec<u8>, why: &str| {
        let err = Note::parse(&input).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Malformed, "{why}: {err}");
    };
    check(b"hello\n".to_vec(), "no signatures");
    check(
        format!("hello\n\n{sig_line}").into_bytes(),
        "no final newline",
    );
    check(
        format!("hello\n\n{sig_line}\n\n").into_bytes(),
        "trailing blank line",
    );
    check(format!("hel\0lo\n\n{sig_line}\n").into_bytes(), "NUL");
    check(format!("hel\rlo\n\n{sig_line}\n").into_bytes(), "CR");
    check(b"hello\n\n\xff\n".to_vec(), "invalid UTF-8");
    check(
        format!("hello\n\n{}\n", sig_line.replacen('\u{2014}', "-", 1)).into_bytes(),
        "hyphen instead of em dash",
    );
    check(
        format!(
            "hello\n\n{}\n",
            sig_line
                .replacen("= ", "=", 1)
                .replacen("a.example ", "a.example  ", 1)
        )
        .into_bytes(),
        "double space",
    );
    // Non-canonical base64: flip the last padding-adjacent character's spare bits.
    let (prefix, b64) = sig_line.rsplit_once(' ').unwrap();
    let mut chars: Vec<char> = b64.chars().collect();
    let pos = chars.iter().rposition(|&c| c != '=').unwrap();
    chars[pos] = if chars[pos] == 'A' { 'B' } else { 'A' };
    let tweaked: String = chars.into_iter().collect();
    if signet_core::b64::decode("t", &tweaked).is_err() {
        check(
            format!("hello\n\n{prefix} {tweaked}\n").into_bytes(),
            "non-canonical base64",
        );
    }
    check(
        format!("hello\n\n{prefix} {}\n", b64.trim_end_matches('=')).into_bytes(),
        "unpadded base64",
    );
}

#[test]
fn key_strings_are_strict() {
    let v = key("a.example").verifier().to_string();
    let check = |s: &str| assert!(VerifierKey::parse(s).is_err(), "{s} should not parse");
    check(&v.replacen("a.example", "b.example", 1)); // key ID no longer matches
    check(&v.to_uppercase());
    check(&format!("{v}x"));
    check(&v.replacen('+', " +", 1));
    check("");
    check("name+00000000+");
    assert_eq!(VerifierKey::parse(&v).unwrap().to_string(), v);
    assert!(KeyName::parse("has space").is_err());
    assert!(KeyName::parse("has+plus").is_err());
    assert!(KeyName::parse("").is_err());
    assert!(KeyName::parse("tab\there").is_err());
    assert!(SigningKey::parse(&v).is_err());
    assert_eq!(key("a.example").verifier().fingerprint().len(), 16);
}

#[test]
fn small_order_and_non_canonical_keys_are_rejected() {
    let msg = b"m";
    let sig = key("a.example").sign_ed25519(msg);
    let name = KeyName::parse("weak").unwrap();
    // The identity point (small order) and a non-canonical encoding of it (y = p + 1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    for pk in [identity, non_canonical] {
        let v = VerifierKey::new(name.clone(), SignatureType::Ed25519, pk);
        let err = v.verify_ed25519(msg, &sig).unwrap_err();
        assert_eq!(err.class(), ErrorClass::Rejected, "{err}");
        assert!(matches!(err, Error::BadPublicKey { .. }), "{err}");
    }
}

#[test]
fn non_canonical_s_is_rejected() {
    // S + L has the same value mod L but is not canonical; verify_strict must refuse it.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let k = key("a.example");
    let mut sig = k.sign_ed25519(b"m");
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(sig[32 + i]) + u16::from(L[i]) + carry;
        sig[32 + i] = v as u8;
        carry = v >> 8;
    }
    assert!(k.verifier().verify_ed25519(b"m", &sig).is_err());
}

#[test]
fn checkpoint_rules() {
    let k = demo_log_key();
    let cp = Checkpoint {
        origin: k.name().to_string(),
        size: 7,
        root: Hash::sha256(b"r"),
        extensions: vec!["ext one".into()],
    };
    let signed = cp.sign(&k).unwrap();
    let parsed = SignedCheckpoint::parse(&signed.to_bytes()).unwrap();
    assert_eq!(parsed.verify(&k.verifier()).unwrap(), &cp);
    // Changing the size breaks the signature: the checkpoint binds the tree size.
    let text = String::from_utf8(signed.to_bytes())
        .unwrap()
        .replacen("\n7\n", "\n8\n", 1);
    let err = SignedCheckpoint::parse(text.as_bytes())
        .unwrap()
        .verify(&k.verifier())
        .unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    // A checkpoint for another origin is refused even when its key signed it.
    let other = key("other.example");
    let foreign = Checkpoint {
        origin: "other.example".into(),
        ..cp.clone()
    }
    .sign(&other)
    .unwrap();
    assert!(matches!(
        foreign.verify(&k.verifier()).unwrap_err(),
        Error::WrongOrigin { .. }
    ));
    assert!(
        cp.sign(&other).is_err(),
        "the signing key's name must be the origin"
    );
    for bad in [
        "o\n07\nAAAA\n",
        "o\n-1\n",
        "\n1\n",
        "o\n1\nnot base64\n",
        "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n",
    ] {
        assert!(Checkpoint::parse_body(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn cosignature_round_trip() {
    let log = demo_log_key();
    let witness = SigningKey::from_seed(
        KeyName::parse("witness.example/w1").unwrap(),
        SignatureType::CosignatureV1,
        &seed_of("w"),
    );
    let cp = Checkpoint {
        origin: log.name().to_string(),
        size: 3,
        root: Hash::sha256(b"x"),
        extensions: vec![],
    };
    let mut signed = cp.sign(&log).unwrap();
    let line = cosignature::cosign(&cp, &witness, 1_679_315_147).unwrap();
    signed.note_mut().push_signature(line);
    let parsed = SignedCheckpoint::parse(&signed.to_bytes()).unwrap();
    parsed.verify(&log.verifier()).unwrap();
    let cosig: &NoteSignature = &parsed.note().signatures()[1];
    assert_eq!(
        cosignature::verify(&cp, &witness.verifier(), cosig).unwrap(),
        1_679_315_147
    );
    let mut other = cp.clone();
    other.size = 4;
    assert!(cosignature::verify(&other, &witness.verifier(), cosig).is_err());
    assert!(witness.verifier().to_string().contains('+'));
    assert_ne!(
        witness.verifier().id(),
        VerifierKey::new(
            witness.name().clone(),
            SignatureType::Ed25519,
            *witness.verifier().public_key()
        )
        .id()
    );
    // The message layout of tlog-cosignature.
    let msg = String::from_utf8(cosignature::signed_message(&cp, 5)).unwrap();
    assert_eq!(msg, format!("cosignature/v1\ntime 5\n{}", cp.body()));
}

#[test]
fn proof_file_round_trip_and_checks() {
    let log = demo_log_key();
    let entries: Vec<Vec<u8>> = (0..5).map(|i| format!("entry-{i}").into_bytes()).collect();
    let leaves: Vec<Hash> = entries.iter().map(|e| Hash::leaf(e)).collect();
    let size = entries.len() as u64;
    let cp = Checkpoint {
        origin: log.name().to_string(),
        size,
        root: merkle::root_of(&leaves),
        extensions: vec![],
    };
    let signed = cp.sign(&log).unwrap();
    let plan = merkle::inclusion_plan(3, size).unwrap();
    let hashes = plan
        .assemble(|st| {
            let lo = (st.index << st.level) as usize;
            let hi = ((st.index + 1) << st.level) as usize;
            Some(merkle::root_of(&leaves[lo..hi]))
        })
        .unwrap();
    let proof = TlogProof {
        extra: Some(b"x".to_vec()),
        index: 3,
        hashes,
        checkpoint: signed,
    };
    let bytes = proof.to_bytes();
    let parsed = TlogProof::parse(&bytes).unwrap();
    assert_eq!(parsed, proof);
    assert_eq!(parsed.to_bytes(), bytes);
    assert_eq!(
        parsed.verify(&entries[3], &log.verifier()).unwrap().size,
        size
    );
    // The wrong entry, index, log key or origin each fail.
    assert!(parsed.verify(&entries[2], &log.verifier()).is_err());
    let mut wrong_index = parsed.clone();
    wrong_index.index = 2;
    assert!(wrong_index.verify(&entries[3], &log.verifier()).is_err());
    let mut past_end = parsed.clone();
    past_end.index = 5;
    assert!(past_end.verify(&entries[3], &log.verifier()).is_err());
    assert!(
        parsed
            .verify(&entries[3], &key("other.example").verifier())
            .is_err()
    );
    let same_key_other_name = SigningKey::from_seed(
        KeyName::parse("evil.example/log").unwrap(),
        SignatureType::Ed25519,
        &seed_of("pause-letter-demo-seed"),
    );
    assert!(matches!(
        parsed
            .verify(&entries[3], &same_key_other_name.verifier())
            .unwrap_err(),
        Error::WrongOrigin { .. }
    ));
    for bad in [
        String::from_utf8(bytes.clone()).unwrap().replacen(
            "c2sp.org/tlog-proof@v1",
            "c2sp.org/tlog-proof@v2",
            1,
        ),
        String::from_utf8(bytes.clone())
            .unwrap()
            .replacen("index 3", "index 03", 1),
        String::from_utf8(bytes.clone())
            .unwrap()
            .replacen("index 3\n", "", 1),
    ] {
        assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad}");
    }
}
