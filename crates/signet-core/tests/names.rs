//! Names people read: the text rules for `name`, `affiliation`, `role` and `title`
//! (see docs/protocol.md, *Text values*) and the key-name rules for signers and for the
//! log (see docs/protocol.md, *Key names*).
//!
//! A hostile review found invisible and direction-changing characters accepted inside a
//! name (`Sam?Altman` shown as `SamAltman`), and any Unicode in key names
//! (`alice<U+202E>gnp.exe`). Every case it listed is here, refused at parse time as a
//! malformed entry (HTTP 400), next to the scripts that must keep working.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use signet_core::keys::SignatureType;
use signet_core::note::Note;
use signet_core::{Entry, ErrorClass, Hash, KeyName, SigningKey, Statement, b64};

const LETTER: &str = "sha256:7498dd3c172cb4a172c293efee5191d92efd23151358d3861121ec2be91db9e3";

/// The same seed under any key name, so a test can name a key anything.
const SEED: [u8; 32] = [7; 32];

fn signing_key(name: &str) -> SigningKey {
    SigningKey::from_seed(KeyName::parse(name).unwrap(), SignatureType::Ed25519, &SEED)
}

/// The verifier key string of the test key under `name`, with the key ID computed here
/// (SHA-256 of name ‖ 0x0A ‖ 0x01 ‖ key, first four bytes), so that names the key-name
/// type itself refuses can still be put on a key line.
fn vkey_named(name: &str) -> String {
    let public_key = *signing_key("k").verifier().public_key();
    let mut hashed = name.as_bytes().to_vec();
    hashed.extend_from_slice(&[b'\n', 0x01]);
    hashed.extend_from_slice(&public_key);
    let id = &Hash::sha256(&hashed).0[..4];
    let mut raw = vec![0x01];
    raw.extend_from_slice(&public_key);
    format!("{name}+{}+{}", hex::encode(id), b64::encode(&raw))
}

fn endorsement_body(name: &str, affiliation: &str, role: &str, key: &str) -> String {
    format!(
        "signet/endorsement/v1\nletter {LETTER}\nname {name}\naffiliation {affiliation}\n\
         role {role}\ntime 2026-01-01T00:00:00Z\nkey {key}\n"
    )
}

fn withdrawal_body(key: &str) -> String {
    format!("signet/withdrawal/v1\nletter {LETTER}\ntime 2026-01-02T00:00:00Z\nkey {key}\n")
}

fn registration_body(title: &str, key: &str) -> String {
    format!(
        "signet/letter/v1\nletter {LETTER}\nslug pause\ntitle {title}\nlanguage en\n\
         time 2026-01-01T00:00:00Z\nkey {key}\n"
    )
}

/// The four text fields a person reads, each given `value` in a body that is otherwise
/// valid, with the key name `key_name` on the key line.
fn bodies_with(value: &str, key_name: &str) -> [(&'static str, String); 4] {
    let key = vkey_named(key_name);
    [
        (
            "name",
            endorsement_body(value, "Example Lab", "Fellow", &key),
        ),
        (
            "affiliation",
            endorsement_body("Alice", value, "Fellow", &key),
        ),
        (
            "role",
            endorsement_body("Alice", "Example Lab", value, &key),
        ),
        ("title", registration_body(value, &key)),
    ]
}

/// The body signed by the test key under `key_name`, without any check of the body: what
/// a hostile client could send.
fn signed(body: &str, key_name: &str) -> Vec<u8> {
    Note::sign(body, &[&signing_key(key_name)])
        .unwrap()
        .to_bytes()
}

/// Checks that `body` is accepted, both as a body and as a signed entry, and that it
/// formats back to itself.
fn accepted(body: &str, key_name: &str) {
    let statement = Statement::parse_body(body).unwrap_or_else(|e| panic!("{body}\n{e}"));
    assert_eq!(statement.body(), body);
    statement.validate().unwrap();
    let entry = Entry::parse(&signed(body, key_name)).unwrap_or_else(|e| panic!("{body}\n{e}"));
    assert_eq!(entry.statement(), &statement);
    assert_eq!(
        statement.sign(&signing_key(key_name)).unwrap().bytes(),
        entry.bytes()
    );
}

/// Checks that `body` is refused as malformed, both as a body and as a signed entry (when
/// `key_name` can sign at all), with an error that mentions each of `want` and holds no
/// character outside printable ASCII, so a terminal shows exactly what is wrong.
fn refused(body: &str, key_name: Option<&str>, want: &[&str]) {
    let mut errors = vec![Statement::parse_body(body).unwrap_err()];
    if let Some(key_name) = key_name {
        errors.push(Entry::parse(&signed(body, key_name)).unwrap_err());
    }
    for e in errors {
        assert_eq!(e.class(), ErrorClass::Malformed, "{body}\n{e:?}");
        let message = e.to_string();
        for want in want {
            assert!(
                message.contains(want),
                "{body}\nerror {message:?} does not mention {want:?}"
            );
        }
        assert!(
            message.chars().all(|c| c == ' ' || c.is_ascii_graphic()),
            "{body}\nerror {message:?} prints a character raw"
        );
    }
}

/// Every code point the review found accepted in `Sam?Altman`, and the bidirectional
/// controls that reorder what a reader sees.
const FOUND_IN_REVIEW: &[u32] = &[
    0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x180B, 0x180E, 0x206A, 0x206F, 0x3164, 0xFFA0,
    0xFE0F, 0xFFF9, 0x2800, 0xE0001, 0xE0041, 0xE0100, 0x1BCA0, 0x200D,
];
const DIRECTION_AND_INVISIBLE: &[u32] = &[
    0x200B, 0x200C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2061, 0x2066,
    0x2067, 0x2068, 0x2069, 0xFEFF, 0xE000, 0xF0000, 0x1D173, 0x13430, 0x3000, 0x2028, 0x2029,
    0x0085, 0x007F,
];

#[test]
fn invisible_and_direction_characters_in_names_are_refused() {
    // The same names without the character are fine, so each refusal below is the
    // character's doing.
    for plain in ["SamAltman", "Sam Altman"] {
        for (_, body) in bodies_with(plain, "sam") {
            accepted(&body, "sam");
        }
    }
    for &code_point in FOUND_IN_REVIEW.iter().chain(DIRECTION_AND_INVISIBLE) {
        let c = char::from_u32(code_point).unwrap();
        let escaped = format!("U+{code_point:04X}");
        for (field, body) in bodies_with(&format!("Sam{c}Altman"), "sam") {
            let invalid = format!("invalid {field}: contains {escaped}");
            refused(&body, Some("sam"), &[&invalid]);
        }
    }
}

#[test]
fn zero_width_joiners_outside_their_contexts_are_refused() {
    let refused_everywhere = [
        ("Sam\u{200D}Altman", 0x200D),
        ("Sam\u{200C}Altman", 0x200C),
        ("\u{200C}Sam", 0x200C),
        ("Sam\u{200C}", 0x200C),
        ("\u{200D}Sam", 0x200D),
        ("Sam\u{200D}", 0x200D),
        ("Sam \u{200C}Altman", 0x200C),
        // ZWJ is allowed only after a virama, not between joining Arabic letters.
        ("کتاب\u{200D}ها", 0x200D),
        // ZWNJ needs a joining letter on both sides: Arabic then Latin is not enough,
        // nor is a right-joining letter (alef) before it.
        ("کتاب\u{200C}Sam", 0x200C),
        ("Sam\u{200C}ها", 0x200C),
        ("کتا\u{200C}ها", 0x200C),
        // Two in a row: the second follows a ZWNJ, not a letter.
        ("کتاب\u{200C}\u{200C}ها", 0x200C),
        // After a Devanagari letter without a virama.
        ("क\u{200D}ष", 0x200D),
        // A joiner after a virama is fine; a second one after the first is not.
        ("क्\u{200D}\u{200D}ष", 0x200D),
        // Emoji sequences are built with ZWJ, which this rule does not allow.
        ("👩\u{200D}🔬", 0x200D),
    ];
    for (value, code_point) in refused_everywhere {
        for (field, body) in bodies_with(value, "sam") {
            let invalid = format!("invalid {field}: contains U+{code_point:04X}");
            refused(&body, Some("sam"), &[&invalid]);
        }
    }
}

#[test]
fn names_in_many_scripts_are_accepted() {
    for value in [
        // Persian: ZWNJ between two dual-joining letters (RFC 5892 A.1, joining types).
        "کتاب‌ها",
        "می‌خواهم",
        // ZWNJ with a transparent mark (kasra) between the letter and it.
        "بِ\u{200C}ه",
        // Devanagari: ZWNJ and ZWJ right after a virama (RFC 5892 A.1 and A.2).
        "क्‌ष",
        "क्\u{200D}ष",
        // Malayalam: the chillu sequence NA, VIRAMA, ZWJ.
        "അവന്\u{200D}",
        "王小明",
        "Иван Петров",
        "Σωκράτης Παπαδόπουλος",
        "محمد علي",
        "Zoë O'Brien-Smith",
        "José Ñúñez",
        "이순신",
        "日本語 テスト",
        "Nguyễn Văn A",
    ] {
        for (_, body) in bodies_with(value, "sam") {
            accepted(&body, "sam");
        }
    }
}

#[test]
fn key_names_outside_the_profile_are_refused() {
    let fix = "signet keygen --name NAME";
    for good in ["alice", "bot.1_x-y", "A-Z.a_z-0.9", "-", &"k".repeat(64)] {
        accepted(
            &endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named(good)),
            good,
        );
        accepted(&withdrawal_body(&vkey_named(good)), good);
    }
    // Names the signed-note key-name type accepts, so a hostile client can sign with them.
    let signable = [
        ("alice\u{202E}gnp.exe", "U+202E"),
        ("ålice", "U+00E5"),
        ("алиса", "U+0430"),
        ("alice\u{200B}", "U+200B"),
        ("example.org/alice", "'/'"),
        ("alice@example.org", "'@'"),
        ("alice:1", "':'"),
    ];
    for (name, what) in signable {
        for body in [
            endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named(name)),
            withdrawal_body(&vkey_named(name)),
        ] {
            refused(
                &body,
                Some(name),
                &[
                    "invalid key: the key name",
                    what,
                    "outside [A-Za-z0-9._-]",
                    fix,
                ],
            );
        }
    }
    let long = "k".repeat(65);
    for body in [
        endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named(&long)),
        withdrawal_body(&vkey_named(&long)),
    ] {
        refused(&body, Some(&long), &["65 characters", "at most 64", fix]);
    }
    // Names no signed note can carry.
    for (name, what) in [
        ("", "is empty"),
        ("al ice", "U+0020"),
        ("al\tice", "U+0009"),
        ("alice\u{7F}", "U+007F"),
    ] {
        for body in [
            endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named(name)),
            withdrawal_body(&vkey_named(name)),
        ] {
            refused(&body, None, &["invalid key: the key name", what, fix]);
        }
    }

    // The log's key name is its origin: printable ASCII, no space, no '+', 1..=255 bytes.
    for good in [
        "example.org/pause-letter-log",
        "localhost:8443/log~1!",
        "log",
        &"o".repeat(255),
    ] {
        accepted(&registration_body("Pause", &vkey_named(good)), good);
    }
    for (origin, what) in [
        ("exämple.org/log", "U+00E4"),
        ("例子.org/log", "U+4F8B"),
        ("example.org/log\u{202E}", "U+202E"),
    ] {
        refused(
            &registration_body("Pause", &vkey_named(origin)),
            Some(origin),
            &["invalid key: the log's key name", what, "printable ASCII"],
        );
    }
    let long = "o".repeat(256);
    refused(
        &registration_body("Pause", &vkey_named(&long)),
        Some(&long),
        &["256 bytes", "at most 255"],
    );
    for (origin, what) in [
        ("example.org/my log", "U+0020"),
        ("", "is empty"),
        ("example.org/\u{7F}", "U+007F"),
    ] {
        refused(
            &registration_body("Pause", &vkey_named(origin)),
            None,
            &["invalid key: the log's key name", what],
        );
    }
    // A '+' ends the name part of a verifier key, so an origin holding one cannot be
    // written on a key line at all.
    refused(
        &registration_body("Pause", &vkey_named("example.org/a+b")),
        None,
        &["key"],
    );
}

#[test]
fn builders_refuse_what_the_parser_refuses() {
    let body = endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named("alice"));
    let Statement::Endorsement(mut endorsement) = Statement::parse_body(&body).unwrap() else {
        panic!("not an endorsement")
    };
    endorsement.name = "Sam\u{200D}Altman".into();
    let e = Statement::Endorsement(endorsement.clone())
        .sign(&signing_key("alice"))
        .unwrap_err();
    assert!(e.to_string().contains("contains U+200D"), "{e}");
    endorsement.name = "Alice".into();
    let rlo = signing_key("alice\u{202E}gnp.exe");
    endorsement.key = rlo.verifier();
    let e = Statement::Endorsement(endorsement).sign(&rlo).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed);
    assert!(e.to_string().contains("U+202E"), "{e}");
}

#[test]
fn del_and_c1_controls_anywhere_in_an_entry_are_refused() {
    let body = endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named("alice"));
    let good = String::from_utf8(signed(&body, "alice")).unwrap();
    assert!(Entry::parse(good.as_bytes()).is_ok());
    let key = vkey_named("alice");
    let (key_id_and_key, signature) = (
        key.split_once('+').unwrap().1.to_owned(),
        good.rsplit_once(' ').unwrap().1.trim_end().to_owned(),
    );
    // After each of these, in every line of the entry: the kind, a field name, each kind
    // of value (hash, text, time, key name, key), the signature line's key name and the
    // signature.
    let places = [
        "signet/endorsement/v1",
        "letter",
        &LETTER[..20],
        "name",
        "Alice",
        "Example",
        "Fellow",
        "2026-01-01T00",
        "key alice",
        &key_id_and_key[..20],
        "\u{2014} alice",
        &signature[..10],
    ];
    for control in ['\u{7F}', '\u{80}', '\u{85}', '\u{9B}', '\u{9F}'] {
        for place in places {
            assert!(good.contains(place), "{place:?}");
            let bad = good.replacen(place, &format!("{place}{control}"), 1);
            let e = Entry::parse(bad.as_bytes()).unwrap_err();
            assert_eq!(e.class(), ErrorClass::Malformed, "{bad}\n{e:?}");
        }
    }
}

#[test]
fn key_name_rules_as_functions() {
    use signet_core::entry::{check_log_key_name, check_signer_key_name};
    assert_eq!(check_signer_key_name("bot.1_x-y"), Ok(()));
    assert_eq!(check_log_key_name("example.org/pause-letter-log"), Ok(()));
    for (name, want) in [
        ("a+b", "'+'"),
        ("a b", "U+0020"),
        ("ab\u{85}", "U+0085"),
        ("", "is empty"),
    ] {
        let e = check_log_key_name(name).unwrap_err();
        assert_eq!(e.class(), ErrorClass::Malformed);
        assert!(e.to_string().contains(want), "{name:?}: {e}");
        assert!(check_signer_key_name(name).is_err(), "{name:?}");
    }
    // An origin may hold what a signer's name may not.
    assert!(check_signer_key_name("example.org/log").is_err());
}

/// The Unicode version of the normaliser and of the character properties must be the
/// same: a character the properties call assigned but the normaliser does not know could
/// normalise differently once the normaliser learns it, and NFC would not be stable.
#[test]
fn the_unicode_versions_agree() {
    use icu_properties::CodePointMapData;
    use icu_properties::props::GeneralCategory;
    use unicode_properties::UnicodeGeneralCategory as _;

    // Pinned, so that updating either crate is a decision: update both, and this test.
    assert_eq!(unicode_normalization::UNICODE_VERSION, (18, 0, 0));
    assert_eq!(unicode_properties::UNICODE_VERSION, (18, 0, 0));
    // icu_properties states no version in code; its general categories, and so which
    // code points are assigned, must be exactly those of unicode-properties.
    let icu = CodePointMapData::<GeneralCategory>::new();
    let mut assigned = 0;
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let (ours, theirs) = (icu.get(c), c.general_category());
        assert_eq!(
            format!("{ours:?}"),
            format!("{theirs:?}"),
            "U+{:04X}",
            u32::from(c)
        );
        if ours != GeneralCategory::Unassigned {
            assigned += 1;
        }
    }
    // Unicode 16.0 already gave a category other than Cn to more than 290,000 scalar
    // values (about 155,000 characters and 137,468 private-use code points), and later
    // versions only add: an empty or truncated table fails here.
    assert!(assigned > 290_000, "{assigned}");
}

/// The character rule is the property rule, checked on every code point against the
/// general categories of another crate (unicode-properties, built from the same
/// UnicodeData.txt by other code): refused exactly when the category is Cc, Cf, Co, Cn,
/// Zs (but U+0020), Zl or Zp, when it is default ignorable, or when it is U+2800.
#[test]
fn every_code_point_is_judged_by_its_properties() {
    use icu_properties::CodePointSetData;
    use icu_properties::props::DefaultIgnorableCodePoint;
    use signet_core::text::check_text;
    use unicode_properties::{GeneralCategory as Gc, UnicodeGeneralCategory as _};

    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let mut refused = 0;
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let by_category = match c.general_category() {
            Gc::Control | Gc::Format | Gc::PrivateUse | Gc::Unassigned => true,
            Gc::SpaceSeparator => c != ' ',
            Gc::LineSeparator | Gc::ParagraphSeparator => true,
            _ => false,
        };
        let expected = by_category || ignorable.contains(c) || c == '\u{2800}';
        // Between two Latin letters, where no joiner is allowed either.
        let value = format!("a{c}b");
        let by_character = match check_text("name", &value, 16) {
            Ok(()) => false,
            Err(e) => e
                .to_string()
                .contains(&format!("contains U+{:04X} ", u32::from(c))),
        };
        assert_eq!(by_character, expected, "U+{:04X}", u32::from(c));
        refused += usize::from(expected);
    }
    // Private use and unassigned code points alone are more than 800,000.
    assert!(refused > 800_000, "{refused}");
}

#[test]
fn a_signature_line_under_another_key_name_is_shown_escaped() {
    // The key line names `alice`; the signature line names the same key bytes under a
    // name with a right-to-left override. The error names both, the second escaped.
    let body = endorsement_body("Alice", "Example Lab", "Fellow", &vkey_named("alice"));
    let e = Entry::parse(&signed(&body, "alice\u{202E}gnp.exe")).unwrap_err();
    assert_eq!(e.class(), ErrorClass::Malformed);
    let message = e.to_string();
    assert!(
        message.contains("the signature line names key alice<U+202E>gnp.exe+"),
        "{message}"
    );
    assert!(message.is_ascii(), "{message}");
}
