//! The canonical form of a letter and its ID (docs/protocol.md, "Letters").

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

use signet_core::{Error, ErrorClass, Letter, LetterId};

/// The first hosted letter, as the registry serves it.
const PAUSE_LETTER: &[u8] =
    include_bytes!("../../../registry-data/letters/pause-giant-ai-experiments.txt");
const PAUSE_LETTER_ID: &str =
    "sha256:7498dd3c172cb4a172c293efee5191d92efd23151358d3861121ec2be91db9e3";

/// Canonicalises `input` and compares the canonical text, or checks that it is refused
/// as an invalid letter whose message mentions `want`.
fn check(input: &[u8], expected: Result<&str, &str>) {
    match (Letter::from_bytes(input), expected) {
        (Ok(letter), Ok(text)) => {
            assert_eq!(
                letter.text(),
                text,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(
                letter.id(),
                LetterId(signet_core::Hash::sha256(text.as_bytes()))
            );
            // The canonical form is a fixed point.
            assert_eq!(Letter::from_bytes(text.as_bytes()).unwrap(), letter);
        }
        (Err(e), Err(want)) => {
            assert!(matches!(e, Error::InvalidLetter(_)), "{e:?}");
            assert_eq!(e.class(), ErrorClass::Malformed);
            assert!(
                e.to_string().contains(want),
                "{e} does not mention {want:?}"
            );
        }
        (got, want) => panic!(
            "input {:?}: got {got:?}, want {want:?}",
            String::from_utf8_lossy(input)
        ),
    }
}

#[test]
fn canonical_form() {
    check(b"Hello\n", Ok("Hello\n"));
    check(b"Hello", Ok("Hello\n"));
    check(b"Hello\n\n\n", Ok("Hello\n"));
    check(b"\n\n  \nHello\n", Ok("Hello\n"));
    check(b"Hello\r\nWorld\r\n", Ok("Hello\nWorld\n"));
    check(b"Hello\rWorld\r", Ok("Hello\nWorld\n"));
    check(b"Hello\r\rWorld", Ok("Hello\n\nWorld\n"));
    check(b"Hello\n\r\nWorld", Ok("Hello\n\nWorld\n"));
    check(b"Hello \t \nWorld\t\n", Ok("Hello\nWorld\n"));
    check(b" \tIndented\n", Ok(" \tIndented\n"));
    check(b"a\n\n\nb\n", Ok("a\n\n\nb\n"));
    check(b"a\n \t\nb\n", Ok("a\n\nb\n"));
    check(b"\xEF\xBB\xBFHello\n", Ok("Hello\n"));
    check(b"Hello \xEF\xBB\xBF\n", Ok("Hello \u{FEFF}\n"));
    check("e\u{301}\n".as_bytes(), Ok("\u{E9}\n"));
    check("\u{212B}\n".as_bytes(), Ok("\u{C5}\n"));
    check("Hello\u{A0}\n".as_bytes(), Ok("Hello\u{A0}\n"));
    check("一\u{3000}\n".as_bytes(), Ok("一\u{3000}\n"));

    check(b"", Err("empty"));
    check(b"\xEF\xBB\xBF", Err("empty"));
    check(b"\n\r\n \t\r", Err("empty"));
    check(b"Hello \xFF\n", Err("not valid UTF-8 at byte 6"));
    check(
        b"\xEF\xBB\xBFHello \xC3\n",
        Err("not valid UTF-8 at byte 9"),
    );
    check(b"\xED\xA0\x80\n", Err("not valid UTF-8 at byte 0"));
    check(
        b"\xEF\xBB\xBF\xEF\xBB\xBFHello\n",
        Err("starts with U+FEFF"),
    );
    check(b"\n\xEF\xBB\xBFHello\n", Err("starts with U+FEFF"));
}

#[test]
fn pause_letter_has_the_design_id() {
    let letter = Letter::from_bytes(PAUSE_LETTER).unwrap();
    assert_eq!(letter.id().to_string(), PAUSE_LETTER_ID);
    assert_eq!(letter.text().len(), 3531);
    assert_eq!(letter.id(), PAUSE_LETTER_ID.parse().unwrap());
}

#[test]
fn pause_letter_copies_hash_the_same() {
    let text = std::str::from_utf8(PAUSE_LETTER).unwrap();
    let windows = format!("\u{FEFF}{}\r\n\r\n", text.replace('\n', "\r\n"));
    let old_mac = text.replace('\n', "\r");
    let padded = format!("\n \n{}\t\n\n", text.replace('\n', "  \n"));
    let nfd: String = unicode_normalization::UnicodeNormalization::nfd(text).collect();
    for copy in [windows, old_mac, padded, nfd] {
        assert_eq!(
            Letter::from_bytes(copy.as_bytes())
                .unwrap()
                .id()
                .to_string(),
            PAUSE_LETTER_ID
        );
    }
    // A changed character is a different letter.
    let edited = text.replacen('。', ".", 1);
    assert_ne!(
        Letter::from_bytes(edited.as_bytes())
            .unwrap()
            .id()
            .to_string(),
        PAUSE_LETTER_ID
    );
}

#[test]
fn nfd_input_gives_the_nfc_id() {
    let nfc = Letter::from_bytes("Café Zoë\n".as_bytes()).unwrap();
    let nfd = Letter::from_bytes("Cafe\u{301} Zoe\u{308}\n".as_bytes()).unwrap();
    assert_eq!(nfc, nfd);
    assert_eq!(nfd.text(), "Caf\u{E9} Zo\u{EB}\n");
}

/// Parses `s` as a letter ID, or checks that it is refused with a field error.
fn check_id(s: &str, ok: bool) {
    match s.parse::<LetterId>() {
        Ok(id) => {
            assert!(ok, "{s:?} was accepted");
            assert_eq!(id.to_string(), s);
        }
        Err(e) => {
            assert!(!ok, "{s:?} was refused: {e}");
            assert!(
                matches!(
                    e,
                    Error::InvalidField {
                        field: "letter",
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.to_string().contains("64 lowercase hex digits"), "{e}");
        }
    }
}

#[test]
fn letter_ids_parse_strictly() {
    let zero = format!("sha256:{}", "0".repeat(64));
    check_id(&zero, true);
    check_id(PAUSE_LETTER_ID, true);
    check_id(&format!("sha256:{}", "0123456789abcdef".repeat(4)), true);

    check_id(&PAUSE_LETTER_ID.to_uppercase(), false);
    check_id(&PAUSE_LETTER_ID.replace("sha256:", "SHA256:"), false);
    check_id(&PAUSE_LETTER_ID.replace('7', "A"), false);
    check_id(&PAUSE_LETTER_ID["sha256:".len()..], false);
    check_id(&PAUSE_LETTER_ID.replace("sha256:", "sha512:"), false);
    check_id(&PAUSE_LETTER_ID.replace("sha256:", "sha256: "), false);
    check_id(&format!("{PAUSE_LETTER_ID} "), false);
    check_id(&format!("{PAUSE_LETTER_ID}0"), false);
    check_id(&PAUSE_LETTER_ID[..PAUSE_LETTER_ID.len() - 1], false);
    check_id(&format!("sha256:{}g", "0".repeat(63)), false);
    check_id(&format!("sha256:{}é", "0".repeat(62)), false);
    check_id("sha256:", false);
    check_id("", false);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Canonicalising a canonical text changes nothing, so a letter served in canonical
    /// form hashes to the ID it was registered under.
    #[test]
    fn canonical_form_is_a_fixed_point(chars in proptest::collection::vec(
        proptest::sample::select(vec!['a', 'é', 'e', '\u{301}', '\u{308}', ' ', '\t', '\r', '\n', '\u{FEFF}', '测', '\u{A0}']),
        0..40,
    )) {
        let input: String = chars.into_iter().collect();
        if let Ok(letter) = Letter::from_bytes(input.as_bytes()) {
            let text = letter.text();
            proptest::prop_assert!(text.ends_with('\n') && !text.ends_with("\n\n"));
            proptest::prop_assert!(!text.contains('\r') && !text.contains(" \n") && !text.contains("\t\n"));
            proptest::prop_assert_eq!(Letter::from_bytes(text.as_bytes()).unwrap(), letter);
        }
    }
}
