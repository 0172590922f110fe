//! The key's token, `signet-key=<base64 of the 32-byte key>`, and the search for it in
//! a page (docs/protocol.md, *Identity claims*): pure functions, fuzzed.

/// The token that names `key`: `signet-key=` and the key in standard padded base64.
pub fn token(key: &[u8; 32]) -> String {
    format!("signet-key={}", signet_core::b64::encode(key))
}

/// Whether a byte may continue a base64 run: the token counts only as a whole word, so
/// it is not found inside a longer run of these.
fn in_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// Whether `body` contains `token` as a whole word: the bytes right before and after
/// it, where there are any, are not in `[A-Za-z0-9+/=]`. The body need not be UTF-8.
pub fn contains_token(body: &[u8], token: &str) -> bool {
    let token = token.as_bytes();
    if token.is_empty() || body.len() < token.len() {
        return false;
    }
    body.windows(token.len()).enumerate().any(|(at, window)| {
        window == token
            && (at == 0 || !in_run(body[at - 1]))
            && body.get(at + token.len()).is_none_or(|b| !in_run(*b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn check(body: &str, want: bool) {
        assert_eq!(
            contains_token(body.as_bytes(), &token(&KEY)),
            want,
            "{body:?}"
        );
    }

    #[test]
    fn token_form() {
        let t = token(&KEY);
        assert_eq!(t.len(), "signet-key=".len() + 44);
        assert!(t.starts_with("signet-key=BwcH"));
        assert!(t.ends_with('='));
    }

    #[test]
    fn whole_word_only() {
        let t = token(&KEY);
        check(&t, true);
        check(&format!("<p>{t}</p>"), true);
        check(&format!("my key: {t}\n"), true);
        check(&format!("\"{t}\""), true);
        check(&format!("-{t}-"), true);
        check(&format!("{t}.{t}"), true);
        // Inside a longer base64 run, before or after.
        check(&format!("A{t}"), false);
        check(&format!("{t}A"), false);
        check(&format!("+{t}"), false);
        check(&format!("{t}/"), false);
        check(&format!("{t}="), false);
        check(&format!("9{t}9"), false);
        // One bad occurrence does not hide a good one.
        check(&format!("x{t} and {t}"), true);
        // Another key, or a cut token.
        check(&token(&[8; 32]), false);
        check(&t[..t.len() - 1], false);
        check("", false);
    }

    #[test]
    fn non_utf8_bodies() {
        let t = token(&KEY);
        let mut body = vec![0xff, 0xfe];
        body.extend_from_slice(t.as_bytes());
        body.push(0x80);
        assert!(contains_token(&body, &t));
        assert!(!contains_token(&body, ""));
    }

    proptest::proptest! {
        #[test]
        fn found_when_set_apart(prefix in "[^A-Za-z0-9+/=]{0,8}", before in ".{0,32}", after in ".{0,32}") {
            let t = token(&KEY);
            let body = format!("{before} {prefix}{t} {after}");
            proptest::prop_assert!(contains_token(body.as_bytes(), &t));
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = contains_token(&body, &token(&KEY));
        }
    }
}
