//! The entry grammar (see docs/protocol.md, *Entries*): every rule, with accepted and
//! refused cases, and the strict signature profile (exactly one signature, by the key of
//! the `key` line).

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use signet_core::entry::{
    Endorsement, IdentityClaim, Language, LetterRegistration, Slug, Statement, Withdrawal,
};
use signet_core::keys::{KeyId, SignatureType};
use signet_core::note::{Note, NoteSignature};
use signet_core::{
    Entry, Error, ErrorClass, Hash, KeyName, LetterId, SigningKey, Timestamp, VerifierKey,
};

const LETTER: &str = "sha256:7498dd3c172cb4a172c293efee5191d92efd23151358d3861121ec2be91db9e3";

fn signing_key(name: &str) -> SigningKey {
    let seed = Hash::sha256(name.as_bytes()).0;
    SigningKey::from_seed(KeyName::parse(name).unwrap(), SignatureType::Ed25519, &seed)
}

fn time(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn endorsement(key: &SigningKey) -> Endorsement {
    Endorsement {
        letter: LETTER.parse().unwrap(),
        name: "Alice".into(),
        affiliation: None,
        role: None,
        identity: vec![],
        time: time("2026-01-01T00:00:00Z"),
        key: key.verifier(),
    }
}

/// A full endorsement body with every optional field, to edit in the tests below.
fn full_body() -> String {
    let key = signing_key("alice");
    format!(
        "signet/endorsement/v1\n\
         letter {LETTER}\n\
         name Alice Example\n\
         affiliation Example University\n\
         role Professor\n\
         identity dns:example.org\n\
         identity github:alice\n\
         identity https://example.org/~alice\n\
         time 2026-01-01T00:00:00Z\n\
         key {}\n",
        key.verifier()
    )
}

/// Parses a statement body: if accepted, formatting it again must give the same text;
/// if refused, the error must be of class Malformed (400) and mention `want`.
fn check(body: &str, expected: Result<&str, &str>) {
    match (Statement::parse_body(body), expected) {
        (Ok(statement), Ok(kind)) => {
            assert_eq!(statement.kind(), kind, "{body}");
            assert_eq!(statement.body(), body);
            statement.validate().unwrap();
        }
        (Err(e), Err(want)) => {
            assert_eq!(e.class(), ErrorClass::Malformed, "{e:?}");
            let got = e.to_string();
            assert!(
                got.contains(want),
                "{body}\nerror {got:?} does not mention {want:?}"
            );
        }
        (got, want) => panic!("{body}\ngot {got:?}, want {want:?}"),
    }
}

/// `full_body()` with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> String {
    let body = full_body();
    assert!(body.contains(from), "{from:?} is not in the body");
    body.replacen(from, to, 1)
}

#[test]
fn the_three_kinds() {
    let alice = signing_key("alice").verifier();
    let log = signing_key("example.org/pause-letter-log").verifier();
    check(&full_body(), Ok("endorsement"));
    check(
        &format!(
            "signet/endorsement/v1\nletter {LETTER}\nname Alice\ntime 2026-01-01T00:00:00Z\nkey {alice}\n"
        ),
        Ok("endorsement"),
    );
    check(
        &format!("signet/withdrawal/v1\nletter {LETTER}\ntime 2026-01-02T00:00:00Z\nkey {alice}\n"),
        Ok("withdrawal"),
    );
    check(
        &format!(
            "signet/letter/v1\nletter {LETTER}\nslug pause-giant-ai-experiments\n\
             title 暂停巨型人工智能实验：一封公开信\nlanguage zh\ntime 2026-01-01T00:00:00Z\nkey {log}\n"
        ),
        Ok("letter"),
    );
    check(
        &full_body().replace("signet/endorsement/v1", "signet/endorsement/v2"),
        Err("is not one of"),
    );
    check(
        &full_body().replace("signet/endorsement/v1", "signet/withdrawal/v1"),
        Err("unknown field \"name\""),
    );
    check(
        &full_body().replace("signet/endorsement/v1\n", ""),
        Err("is not one of"),
    );
    check("", Err("does not end in a newline"));
    check("\n", Err("is not one of"));
    check(
        &full_body()[..full_body().len() - 1],
        Err("does not end in a newline"),
    );
}

#[test]
fn text_values_follow_the_text_rules() {
    // Names in several scripts, including U+200C ZERO WIDTH NON-JOINER in Persian.
    check(
        &edit("name Alice Example", "name می‌خواهم"),
        Ok("endorsement"),
    );
    check(
        &edit("name Alice Example", "name 王小明"),
        Ok("endorsement"),
    );
    check(
        &edit("name Alice Example", "name محمد علي"),
        Ok("endorsement"),
    );
    check(
        &edit("name Alice Example", "name Иван Петров"),
        Ok("endorsement"),
    );
    check(
        &edit("name Alice Example", "name Zoë O'Brien-Smith"),
        Ok("endorsement"),
    );
    check(
        &edit("name Alice Example", &format!("name {}", "测".repeat(128))),
        Ok("endorsement"),
    );
    check(
        &edit("role Professor", &format!("role {}", "r".repeat(256))),
        Ok("endorsement"),
    );

    check(
        &edit("name Alice Example", &format!("name {}", "测".repeat(129))),
        Err("invalid name: is 129 characters"),
    );
    check(
        &edit("role Professor", &format!("role {}", "r".repeat(257))),
        Err("invalid role: is 257 characters"),
    );
    check(
        &edit("name Alice Example", "name Alice\0Example"),
        Err("contains U+0000 (a control character)"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{7F}"),
        Err("contains U+007F (a control character)"),
    );
    check(
        &edit("name Alice Example", "name Alice Example\r"),
        Err("contains U+000D (a control character)"),
    );
    check(
        &edit("name Alice Example", "name \u{202E}elpmaxE ecilA"),
        Err("U+202E (a bidirectional control character); remove it"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{2066}Example"),
        Err("U+2066 (a bidirectional control"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{200B}Example"),
        Err("U+200B (an invisible character)"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{2062}"),
        Err("U+2062 (an invisible character)"),
    );
    check(
        &edit("name Alice Example", "name \u{FEFF}Alice"),
        Err("U+FEFF"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{A0}Example"),
        Err("U+00A0 (a space other than U+0020)"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{2028}Example"),
        Err("U+2028 (a line or paragraph separator)"),
    );
    check(
        &edit("name Alice Example", "name Alice\u{0378}"),
        Err("U+0378 (an unassigned"),
    );
    check(
        &edit("name Alice Example", "name Zoe\u{308}"),
        Err("invalid name: is not in Unicode normalization form C"),
    );
    check(
        &edit("name Alice Example", "name Alice  Example"),
        Err("invalid name: contains two spaces in a row"),
    );
    check(
        &edit("name Alice Example", "name Alice Example "),
        Err("invalid name: ends with a space"),
    );
    check(
        &edit("name Alice Example", "name  Alice Example"),
        Err("more than one space"),
    );
    check(
        &edit(
            "affiliation Example University",
            "affiliation Example University ",
        ),
        Err("invalid affiliation: ends with a space"),
    );
    check(
        &edit("role Professor", "role Pro\u{2029}fessor"),
        Err("invalid role"),
    );
}

#[test]
fn fields_have_one_order_and_one_spelling() {
    check(
        &edit("affiliation Example University\n", ""),
        Ok("endorsement"),
    );
    check(&edit("role Professor\n", ""), Ok("endorsement"));

    check(
        &edit("name Alice Example\n", ""),
        Err("the name field is missing"),
    );
    check(
        &edit("time 2026-01-01T00:00:00Z\n", ""),
        Err("the time field is missing"),
    );
    check(&edit("letter ", "Letter "), Err("unknown field \"Letter\""));
    check(
        &edit(
            "role Professor\n",
            "role Professor\nemail alice@example.org\n",
        ),
        Err("unknown field \"email\""),
    );
    check(
        &edit("role Professor\n", "role Professor\nrole Dean\n"),
        Err("field role appears twice"),
    );
    check(
        &edit("name Alice Example\n", "name Alice Example\nname Alice\n"),
        Err("field name appears twice"),
    );
    check(
        &edit("key ", "time 2026-01-02T00:00:00Z\nkey "),
        Err("field time appears twice"),
    );
    check(
        &edit(
            "affiliation Example University\nrole Professor\n",
            "role Professor\naffiliation Example University\n",
        ),
        Err("field affiliation is out of order"),
    );
    check(&edit("letter ", "name Alice\nletter "), Err("out of order"));
    check(
        &edit("role Professor\n", "role Professor\n\n"),
        Err("blank line"),
    );
    check(&format!("{}\n", full_body()), Err("blank line"));
    check(
        &edit("affiliation Example University", "affiliation "),
        Err("field affiliation has no value"),
    );
    check(
        &edit("affiliation Example University", "affiliation"),
        Err("field affiliation has no value"),
    );
    check(
        &edit("role Professor", "role\tProfessor"),
        Err("unknown field \"role\\tProfessor\""),
    );
    check(
        &edit("time 2026-01-01T00:00:00Z", "time  2026-01-01T00:00:00Z"),
        Err("more than one space"),
    );
    check(
        &edit("time 2026-01-01T00:00:00Z", "time 2026-01-01T00:00:00Z "),
        Err("invalid time"),
    );
    check(&edit(LETTER, &LETTER.to_uppercase()), Err("invalid letter"));
    check(&edit(LETTER, &format!("{LETTER} ")), Err("invalid letter"));
}

#[test]
fn timestamps_in_entries() {
    check(
        &edit("2026-01-01T00:00:00Z", "2024-02-29T23:59:59Z"),
        Ok("endorsement"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "2026-02-30T00:00:00Z"),
        Err("invalid time: 2026-02-30T00:00:00Z is not a real date"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "1999-12-31T23:59:59Z"),
        Err("before 2000-01-01"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "2026-01-01T00:00:60Z"),
        Err("not a real time of day"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000Z"),
        Err("YYYY-MM-DDTHH:MM:SSZ"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"),
        Err("YYYY-MM-DDTHH:MM:SSZ"),
    );
    check(
        &edit("2026-01-01T00:00:00Z", "1767225600"),
        Err("YYYY-MM-DDTHH:MM:SSZ"),
    );
}

#[test]
fn identity_lines() {
    check(
        &edit(
            "identity dns:example.org\nidentity github:alice\nidentity https://example.org/~alice\n",
            "",
        ),
        Ok("endorsement"),
    );
    check(
        &edit(
            "identity dns:example.org\n",
            "identity dns:a.example.org\nidentity dns:example.org\n",
        ),
        Ok("endorsement"),
    );
    check(
        &edit(
            "identity dns:example.org\n",
            "identity dns:a.example.org\nidentity dns:b.example.org\nidentity dns:example.org\n",
        ),
        Err("more than 4 identity lines"),
    );
    check(
        &edit(
            "identity dns:example.org\nidentity github:alice\n",
            "identity github:alice\nidentity dns:example.org\n",
        ),
        Err("lines are not sorted: dns:example.org must come before github:alice"),
    );
    check(
        &edit(
            "identity dns:example.org\n",
            "identity dns:example.org\nidentity dns:example.org\n",
        ),
        Err("dns:example.org appears twice"),
    );
    check(
        &edit("identity github:alice\n", "identity github:Alice\n"),
        Err("invalid identity"),
    );
    check(
        &edit("identity github:alice\n", "identity \n"),
        Err("field identity has no value"),
    );
    let moved = edit("identity github:alice\n", "").replace("key ", "identity github:alice\nkey ");
    check(&moved, Err("field identity is out of order"));
}

/// Parses an identity claim and checks it is accepted or refused.
fn check_claim(s: &str, expected: Result<(), &str>) {
    match (IdentityClaim::parse(s), expected) {
        (Ok(c), Ok(())) => assert_eq!(c.as_str(), s),
        (Err(e), Err(want)) => {
            assert!(
                matches!(
                    e,
                    Error::InvalidField {
                        field: "identity",
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(
                e.to_string().contains(want),
                "{s:?}: {e} does not mention {want:?}"
            );
        }
        (got, want) => panic!("{s:?}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn identity_claim_forms() {
    check_claim("https://example.org/", Ok(()));
    check_claim("https://www.example.org/people/alice", Ok(()));
    check_claim("https://mastodon.social/@alice", Ok(()));
    check_claim("https://example.org/a:b/%7Ealice/", Ok(()));
    check_claim("https://xn--fiq228c.example/", Ok(()));
    check_claim(
        &format!("https://example.org/{}", "a".repeat(256 - 20)),
        Ok(()),
    );
    check_claim("dns:example.org", Ok(()));
    check_claim("dns:a-b.c0.example", Ok(()));
    check_claim(&format!("dns:{}.org", "a".repeat(63)), Ok(()));
    check_claim(&format!("dns:{}.abc", ["abcdefghi"; 25].join(".")), Ok(()));
    check_claim("github:alice", Ok(()));
    check_claim("github:a-1", Ok(()));
    check_claim(&format!("github:{}", "a".repeat(39)), Ok(()));

    check_claim(
        &format!("https://example.org/{}", "a".repeat(256 - 19)),
        Err("is 257 characters long"),
    );
    check_claim("https://example.org", Err("has no path"));
    check_claim("https://Example.org/", Err("not lowercase"));
    check_claim("https://example.org:443/", Err("has a port"));
    check_claim("https://alice@example.org/", Err("has user information"));
    check_claim("https://alice:pw@example.org/", Err("has user information"));
    check_claim("https://example.org/?q=1", Err("has a query"));
    check_claim("https://example.org/#me", Err("has a fragment"));
    check_claim("https://example.org/a b", Err("printable ASCII"));
    check_claim("https://example.org/ä", Err("printable ASCII"));
    check_claim("https:///", Err("has a host that is empty"));
    check_claim("https://-example.org/", Err("starts or ends with '-'"));
    check_claim("https://example..org/", Err("empty label"));
    check_claim("https://[::1]/", Err("has an IP-literal host"));
    check_claim("http://example.org/", Err("is not one of"));
    check_claim("HTTPS://example.org/", Err("is not one of"));
    check_claim("dns:", Err("has a domain that is empty"));
    check_claim("dns:Example.org", Err("not lowercase"));
    check_claim("dns:example.org.", Err("empty label"));
    check_claim("dns:exa_mple.org", Err("has characters other than"));
    check_claim(
        &format!("dns:{}.org", "a".repeat(64)),
        Err("longer than 63"),
    );
    check_claim(
        &format!("dns:{}", ["abcdefghi"; 25].join(".") + ".abcd"),
        Err("longer than 253"),
    );
    check_claim("github:", Err("not a GitHub login"));
    check_claim("github:Alice", Err("not a GitHub login"));
    check_claim("github:al_ice", Err("not a GitHub login"));
    check_claim(
        &format!("github:{}", "a".repeat(40)),
        Err("not a GitHub login"),
    );
    check_claim("email:alice@example.org", Err("is not one of"));
    check_claim("", Err("is not one of"));
}

#[test]
fn slugs_and_languages() {
    for ok in [
        "a",
        "pause-giant-ai-experiments",
        "0-9",
        "-",
        &"x".repeat(64),
    ] {
        assert_eq!(Slug::parse(ok).unwrap().as_str(), ok);
    }
    for bad in [
        "",
        "Pause",
        "pause_letter",
        "pause letter",
        "暂停",
        &"x".repeat(65),
    ] {
        let e = Slug::parse(bad).unwrap_err();
        assert!(
            matches!(e, Error::InvalidField { field: "slug", .. }),
            "{bad:?}: {e:?}"
        );
    }
    for ok in [
        "zh",
        "en",
        "fil",
        "zh-hant",
        "en-us",
        "de-ch-1996",
        "sr-latn-rs",
        "x-abcdefgh",
    ] {
        // "x-abcdefgh" has a 1-letter primary subtag, so it is refused below.
        if ok.starts_with("x-") {
            continue;
        }
        assert_eq!(Language::parse(ok).unwrap().as_str(), ok);
    }
    for bad in [
        "",
        "z",
        "zhon",
        "ZH",
        "zh-Hant",
        "zh_hant",
        "zh-",
        "zh-h",
        "zh-abcdefghi",
        "en--us",
        "x-abcdefgh",
        "zh ",
        "1a",
    ] {
        let e = Language::parse(bad).unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidField {
                    field: "language",
                    ..
                }
            ),
            "{bad:?}: {e:?}"
        );
    }
    let log = signing_key("log").verifier();
    let registration = format!(
        "signet/letter/v1\nletter {LETTER}\nslug pause\ntitle Pause\nlanguage zh\ntime 2026-01-01T00:00:00Z\nkey {log}\n"
    );
    check(&registration, Ok("letter"));
    check(
        &registration.replace("slug pause", "slug Pause"),
        Err("invalid slug"),
    );
    check(
        &registration.replace("language zh", "language zh-Hant"),
        Err("invalid language"),
    );
    check(
        &registration.replace("title Pause", "title Pause "),
        Err("invalid title"),
    );
    check(
        &registration.replace("title Pause", &format!("title {}", "t".repeat(257))),
        Err("invalid title: is 257"),
    );
    check(
        &registration.replace("title Pause\nlanguage zh", "language zh\ntitle Pause"),
        Err("out of order"),
    );
}

#[test]
fn key_lines() {
    let alice = signing_key("alice").verifier();
    let cosigner = VerifierKey::new(
        alice.name().clone(),
        SignatureType::CosignatureV1,
        *alice.public_key(),
    );
    check(
        &edit(&alice.to_string(), &cosigner.to_string()),
        Err("entries are signed with Ed25519 keys"),
    );
    check(&edit(&alice.to_string(), "alice"), Err("key"));
    // The key ID must be the one the name and key give, written in lowercase hex.
    let id = alice.id().to_string();
    check(&edit(&id, &id.to_uppercase()), Err("key"));
    check(&edit(&id, "00000000"), Err("key"));
    check(&edit(&alice.to_string(), &format!("{alice} ")), Err(""));
}

// --- signed entries ---------------------------------------------------------------

/// Parses entry bytes: accepted with the given statement kind, or refused with an error
/// of the given class whose message mentions `want`.
fn check_entry(bytes: &[u8], expected: Result<&str, (ErrorClass, &str)>) {
    match (Entry::parse(bytes), expected) {
        (Ok(entry), Ok(kind)) => {
            assert_eq!(entry.statement().kind(), kind);
            assert_eq!(entry.bytes(), bytes);
            assert_eq!(entry.leaf_hash(), Hash::leaf(bytes));
        }
        (Err(e), Err((class, want))) => {
            assert_eq!(e.class(), class, "{e:?}");
            assert!(
                e.to_string().contains(want),
                "error {e} does not mention {want:?}"
            );
        }
        (got, want) => panic!(
            "{}\ngot {got:?}, want {want:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

const MALFORMED: ErrorClass = ErrorClass::Malformed;
const REJECTED: ErrorClass = ErrorClass::Rejected;

/// A note with `text` and one signature line naming `key` with the given raw signature.
fn forged(text: &str, key: &VerifierKey, signature: [u8; 64]) -> Vec<u8> {
    let line = NoteSignature {
        name: key.name().clone(),
        id: key.id(),
        signature: signature.to_vec(),
    };
    Note::from_parts(text.to_owned(), vec![line])
        .unwrap()
        .to_bytes()
}

#[test]
fn go_vector_endorsement_verifies() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("testdata/go-x-mod.json")).unwrap();
    let note = &vectors["notes"][1];
    let bytes = note["signed_note"].as_str().unwrap().as_bytes();
    let entry = Entry::parse(bytes).unwrap();
    let Statement::Endorsement(e) = entry.statement() else {
        panic!("not an endorsement: {entry:?}")
    };
    assert_eq!(e.name, "测试 Alice");
    assert_eq!(e.letter, LetterId(Hash([0; 32])));
    assert_eq!(e.time, time("2026-01-01T00:00:00Z"));
    assert_eq!(e.key.to_string(), note["vkey"].as_str().unwrap());
    assert_eq!(entry.statement().body(), note["text"].as_str().unwrap());
    // Our signer reproduces Go's bytes exactly (Ed25519 is deterministic).
    let key = SigningKey::parse(note["skey"].as_str().unwrap()).unwrap();
    assert_eq!(entry.statement().sign(&key).unwrap().bytes(), bytes);
}

#[test]
fn sign_then_parse() {
    let alice = signing_key("alice");
    let statements = [
        Statement::parse_body(&full_body()).unwrap(),
        Statement::Endorsement(endorsement(&alice)),
        Statement::Withdrawal(Withdrawal {
            letter: LETTER.parse().unwrap(),
            time: time("2026-01-02T00:00:00Z"),
            key: alice.verifier(),
        }),
        Statement::Letter(LetterRegistration {
            letter: LETTER.parse().unwrap(),
            slug: Slug::parse("pause").unwrap(),
            title: "Pause".into(),
            language: Language::parse("en").unwrap(),
            time: time("2026-01-01T00:00:00Z"),
            key: alice.verifier(),
        }),
    ];
    for statement in statements {
        let entry = statement.sign(&alice).unwrap();
        assert_eq!(entry.statement(), &statement);
        let text = std::str::from_utf8(entry.bytes()).unwrap();
        assert!(text.starts_with(&statement.body()));
        assert!(text.ends_with("\n") && text.contains("\n\n\u{2014} alice "));
        assert_eq!(Entry::parse(entry.bytes()).unwrap(), entry);
        check_entry(entry.bytes(), Ok(statement.kind()));
    }
}

#[test]
fn sign_refuses_what_parse_would_refuse() {
    let alice = signing_key("alice");
    let bob = signing_key("bob");
    let statement = Statement::Endorsement(endorsement(&alice));
    let e = statement.sign(&bob).unwrap_err();
    assert!(
        e.to_string().contains("is not the key of the key line"),
        "{e}"
    );
    // Same public key under another name is the same signer, but not the key line's key.
    let renamed = SigningKey::from_seed(
        KeyName::parse("alice2").unwrap(),
        SignatureType::Ed25519,
        &Hash::sha256(b"alice").0,
    );
    assert!(statement.sign(&renamed).is_err());

    let mut bad = endorsement(&alice);
    bad.name = "Alice ".into();
    assert!(matches!(
        Statement::Endorsement(bad.clone()).sign(&alice),
        Err(Error::InvalidField { field: "name", .. })
    ));
    bad.name = "Alice\nrole Dean".into();
    assert!(Statement::Endorsement(bad.clone()).sign(&alice).is_err());
    bad.name = "Alice".into();
    bad.affiliation = Some(String::new());
    assert!(matches!(
        Statement::Endorsement(bad.clone()).sign(&alice),
        Err(Error::InvalidField {
            field: "affiliation",
            ..
        })
    ));
    bad.affiliation = None;
    bad.identity = vec![
        IdentityClaim::parse("github:b").unwrap(),
        IdentityClaim::parse("github:a").unwrap(),
    ];
    assert!(matches!(
        Statement::Endorsement(bad.clone()).sign(&alice),
        Err(Error::InvalidField {
            field: "identity",
            ..
        })
    ));
    bad.identity = vec![IdentityClaim::parse("github:a").unwrap(); 2];
    assert!(Statement::Endorsement(bad.clone()).sign(&alice).is_err());
    bad.identity = (0..5)
        .map(|i| IdentityClaim::parse(&format!("github:a{i}")).unwrap())
        .collect();
    assert!(Statement::Endorsement(bad.clone()).sign(&alice).is_err());

    // A key name longer than 64 characters is refused before anything is signed.
    let long_name = signing_key(&"k".repeat(65));
    let e = Statement::Endorsement(endorsement(&long_name))
        .sign(&long_name)
        .unwrap_err();
    assert!(e.to_string().contains("at most 64 are allowed"), "{e}");
    assert_eq!(e.class(), MALFORMED);

    // Every field at its longest, in four-byte characters, under the longest key name,
    // still fits in an entry: the size limit never refuses a valid endorsement.
    let longest_name = signing_key(&"k".repeat(64));
    let mut big = endorsement(&longest_name);
    big.name = "𝒜".repeat(128);
    big.affiliation = Some("𝒜".repeat(256));
    big.role = Some("𝒜".repeat(256));
    big.identity = (0..4)
        .map(|i| {
            IdentityClaim::parse(&format!("https://example.org/{i}{}", "a".repeat(235))).unwrap()
        })
        .collect();
    let big = Statement::Endorsement(big);
    let entry = big.sign(&longest_name).unwrap();
    assert!(entry.bytes().len() <= signet_core::MAX_ENTRY_SIZE);
    assert_eq!(Entry::parse(entry.bytes()).unwrap(), entry);
}

#[test]
fn the_signature_profile() {
    let alice = signing_key("alice");
    let bob = signing_key("bob");
    let statement = Statement::Endorsement(endorsement(&alice));
    let body = statement.body();
    let good = statement.sign(&alice).unwrap().bytes().to_vec();
    check_entry(&good, Ok("endorsement"));

    // Two signatures, even both valid or both by the key line's key.
    let two = Note::sign(&body, &[&alice, &bob]).unwrap().to_bytes();
    check_entry(&two, Err((MALFORMED, "it has 2 signature lines")));
    let twice = Note::sign(&body, &[&alice, &alice]).unwrap().to_bytes();
    check_entry(&twice, Err((MALFORMED, "it has 2 signature lines")));

    // A signature by a key other than the key line's.
    let by_bob = Note::sign(&body, &[&bob]).unwrap().to_bytes();
    check_entry(
        &by_bob,
        Err((MALFORMED, "the signature line names key bob+")),
    );
    let impostor = signing_key("alice-impostor");
    let impostor = SigningKey::from_seed(
        KeyName::parse("alice").unwrap(),
        SignatureType::Ed25519,
        &Hash::sha256(impostor.name().as_str().as_bytes()).0,
    );
    let by_impostor = Note::sign(&body, &[&impostor]).unwrap().to_bytes();
    check_entry(
        &by_impostor,
        Err((MALFORMED, "the signature line names key alice+")),
    );

    // The right key line, but a signature over other bytes.
    let other = alice.sign_ed25519(b"something else");
    check_entry(
        &forged(&body, &alice.verifier(), other),
        Err((REJECTED, "signature by alice does not verify")),
    );
    let edited = String::from_utf8(good.clone())
        .unwrap()
        .replace("name Alice", "name Alicf");
    check_entry(edited.as_bytes(), Err((REJECTED, "does not verify")));
    let short = NoteSignature {
        name: alice.name().clone(),
        id: alice.verifier().id(),
        signature: vec![0; 63],
    };
    let short = Note::from_parts(body.clone(), vec![short])
        .unwrap()
        .to_bytes();
    check_entry(&short, Err((MALFORMED, "the signature is 63 bytes long")));

    // Not a note, or not an entry.
    check_entry(body.as_bytes(), Err((MALFORMED, "")));
    check_entry(b"", Err((MALFORMED, "")));
    check_entry(&good[..good.len() - 1], Err((MALFORMED, "")));
    check_entry(&[&good[..], b"\n"].concat(), Err((MALFORMED, "")));
    check_entry(&[b"\n", &good[..]].concat(), Err((MALFORMED, "")));
    check_entry(
        String::from_utf8(good.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .as_bytes(),
        Err((MALFORMED, "")),
    );
    let mut invalid_utf8 = good.clone();
    invalid_utf8[30] = 0xFF;
    check_entry(&invalid_utf8, Err((MALFORMED, "UTF-8")));
    let with_nul = String::from_utf8(good.clone())
        .unwrap()
        .replace("name Alice", "name Al\0ce");
    check_entry(with_nul.as_bytes(), Err((MALFORMED, "")));
    check_entry(
        &vec![b'a'; 4097],
        Err((
            MALFORMED,
            "it is 4097 bytes; an entry is at most 4096 bytes",
        )),
    );
}

#[test]
fn canonical_base64_in_the_signature_line() {
    let alice = signing_key("alice");
    let good = String::from_utf8(
        Statement::Endorsement(endorsement(&alice))
            .sign(&alice)
            .unwrap()
            .bytes()
            .to_vec(),
    )
    .unwrap();
    // 68 bytes of key ID and signature are 91 base64 characters and one '='; the last
    // character carries two unused bits, which canonical base64 leaves zero.
    let sig = good.rsplit(' ').next().unwrap().trim_end();
    assert_eq!(sig.len(), 92);
    assert!(sig.ends_with('='));
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let last = sig.as_bytes()[90];
    let value = ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(value & 0b11, 0);
    let stray = ALPHABET[value | 0b01] as char;
    let mut bad_sig = sig.to_owned();
    bad_sig.replace_range(90..91, &stray.to_string());
    check_entry(
        good.replace(sig, &bad_sig).as_bytes(),
        Err((MALFORMED, "base64")),
    );
    check_entry(
        good.replace(sig, &sig[..91]).as_bytes(),
        Err((MALFORMED, "base64")),
    );
    check_entry(
        good.replace(sig, &sig.replace('+', "-").replace('/', "_"))
            .as_bytes(),
        Err((MALFORMED, "")),
    );
    check_entry(
        good.replace(sig, &format!("{sig} ")).as_bytes(),
        Err((MALFORMED, "")),
    );
}

/// Little-endian L, the order of the Ed25519 base point (RFC 8032 §5.1).
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

#[test]
fn non_canonical_s_is_rejected() {
    let alice = signing_key("alice");
    let body = Statement::Endorsement(endorsement(&alice)).body();
    let mut sig = alice.sign_ed25519(body.as_bytes());
    check_entry(&forged(&body, &alice.verifier(), sig), Ok("endorsement"));
    // S + L is the same scalar mod L, so a lax verifier accepts it; RFC 8032 does not.
    let mut carry = 0u16;
    for (s, l) in sig[32..].iter_mut().zip(L) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    check_entry(
        &forged(&body, &alice.verifier(), sig),
        Err((REJECTED, "does not verify")),
    );
}

#[test]
fn small_order_and_non_canonical_keys_are_rejected() {
    fn point(hex_le: &str) -> [u8; 32] {
        hex::decode(hex_le).unwrap().try_into().unwrap()
    }
    let identity = point("0100000000000000000000000000000000000000000000000000000000000000");
    let keys = [
        identity,
        // The point of order 2, (0, -1).
        point("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        // The points of order 4, (±sqrt(-1), 0).
        point("0000000000000000000000000000000000000000000000000000000000000000"),
        point("0000000000000000000000000000000000000000000000000000000000000080"),
        // y = p + 1, a non-canonical encoding of the identity.
        point("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        // y = p, a non-canonical encoding of y = 0.
        point("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];
    for public_key in keys {
        let key = VerifierKey::new(
            KeyName::parse("mallory").unwrap(),
            SignatureType::Ed25519,
            public_key,
        );
        let mut statement = endorsement(&signing_key("mallory"));
        statement.key = key.clone();
        let body = Statement::Endorsement(statement).body();
        // R = identity and S = 0 satisfy [S]B = R + [k]A for any message when A is the
        // identity (and [8][S]B = [8]R + [8][k]A for every small-order A): a cofactored
        // or lax verifier would accept this forgery.
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        let bytes = forged(&body, &key, sig);
        check_entry(&bytes, Err((REJECTED, "mallory")));
        assert!(matches!(
            Entry::parse(&bytes),
            Err(Error::BadPublicKey { .. } | Error::BadSignature { .. })
        ));
    }
    // A key ID that does not belong to the key on the key line is a malformed entry.
    let alice = signing_key("alice");
    let body = Statement::Endorsement(endorsement(&alice)).body();
    let wrong_id = NoteSignature {
        name: alice.name().clone(),
        id: KeyId([0; 4]),
        signature: vec![0; 64],
    };
    check_entry(
        &Note::from_parts(body, vec![wrong_id]).unwrap().to_bytes(),
        Err((MALFORMED, "alice+00000000")),
    );
}

#[test]
fn future_times_are_refused_at_submission() {
    let alice = signing_key("alice");
    let mut e = endorsement(&alice);
    e.time = time("2026-01-01T00:10:01Z");
    let entry = Statement::Endorsement(e).sign(&alice).unwrap();
    let now = time("2026-01-01T00:00:00Z");
    let err = entry.statement().time().check_not_future(now).unwrap_err();
    assert!(matches!(err, Error::FutureTime { .. }));
    assert_eq!(err.class(), REJECTED);
    assert_eq!(
        entry
            .statement()
            .time()
            .check_not_future(time("2026-01-01T00:00:01Z")),
        Ok(())
    );
}

// --- properties ---------------------------------------------------------------------

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Pieces that stay NFC and valid in any order: letters of several scripts, digits
    /// and punctuation, and the joiners in contexts that allow them whatever their
    /// neighbours (a ZWNJ between two dual-joining Arabic letters, a ZWJ after a virama).
    fn word() -> impl Strategy<Value = String> {
        let pieces = vec![
            "a",
            "Z",
            "é",
            "ß",
            "测",
            "试",
            "م",
            "ح",
            "Ж",
            "я",
            "-",
            "'",
            ".",
            "7",
            "𝒜",
            "😀",
            "ب\u{200C}ه",
            "क्\u{200D}",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 1..8).prop_map(|p| p.concat())
    }

    fn text(max_words: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(word(), 1..=max_words).prop_map(|w| w.join(" "))
    }

    fn claim() -> impl Strategy<Value = IdentityClaim> {
        prop_oneof![
            "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){0,2}".prop_map(|d| format!("dns:{d}")),
            "[a-z0-9-]{1,39}".prop_map(|l| format!("github:{l}")),
            ("[a-z0-9]{1,10}\\.[a-z]{2,5}", "/[!-~&&[^?#]]{0,30}")
                .prop_map(|(h, p)| format!("https://{h}{p}")),
        ]
        .prop_map(|s| IdentityClaim::parse(&s).unwrap())
    }

    prop_compose! {
        fn arb_endorsement()(
            seed in any::<[u8; 32]>(),
            key_name in "[a-zA-Z0-9._-]{1,20}",
            letter in any::<[u8; 32]>(),
            name in text(4),
            affiliation in proptest::option::of(text(8)),
            role in proptest::option::of(text(3)),
            identity in proptest::collection::btree_set(claim(), 0..=4),
            seconds in Timestamp::MIN.unix()..=4_102_444_800u64,
        ) -> (Endorsement, SigningKey) {
            let key = SigningKey::from_seed(KeyName::parse(&key_name).unwrap(), SignatureType::Ed25519, &seed);
            let endorsement = Endorsement {
                letter: LetterId(Hash(letter)),
                name,
                affiliation,
                role,
                identity: identity.into_iter().collect(),
                time: Timestamp::from_unix(seconds).unwrap(),
                key: key.verifier(),
            };
            (endorsement, key)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Formatting then parsing is the identity, and so is parsing then formatting.
        #[test]
        fn endorsement_body_round_trips((e, _key) in arb_endorsement()) {
            let statement = Statement::Endorsement(e);
            prop_assert_eq!(statement.validate(), Ok(()));
            let body = statement.body();
            let parsed = Statement::parse_body(&body).unwrap();
            prop_assert_eq!(&parsed, &statement);
            prop_assert_eq!(parsed.body(), body);
        }

        /// Any edit of a valid body that the parser still accepts is itself the one
        /// encoding of what it parses to: there is no second spelling of any statement.
        #[test]
        fn accepted_bodies_are_canonical(
            (e, _key) in arb_endorsement(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0..4u8, proptest::sample::select(vec![' ', '\n', 'a', '\u{301}', '\u{A0}', '\r', '0', ':'])), 1..4),
        ) {
            let mut chars: Vec<char> = Statement::Endorsement(e).body().chars().collect();
            for (at, op, c) in edits {
                let i = at.index(chars.len());
                match op {
                    0 => chars.insert(i, c),
                    1 => { chars.remove(i); }
                    2 => chars[i] = c,
                    _ => { let d = chars[i]; chars.insert(i, d); }
                }
            }
            let edited: String = chars.into_iter().collect();
            if let Ok(statement) = Statement::parse_body(&edited) {
                prop_assert_eq!(statement.body(), edited);
            }
        }
    }

    proptest! {
        // Signing and verifying cost more, so fewer cases.
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn signed_endorsements_parse_back((e, key) in arb_endorsement()) {
            let statement = Statement::Endorsement(e);
            let entry = statement.sign(&key).unwrap();
            let parsed = Entry::parse(entry.bytes()).unwrap();
            prop_assert_eq!(parsed.statement(), &statement);
            prop_assert_eq!(parsed.bytes(), entry.bytes());
        }
    }
}
