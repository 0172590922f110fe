//! `contains_token` on arbitrary pages: never panics, agrees with a naive search, and
//! always finds the token once it is set apart by a space.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_identity::token::{contains_token, token};

fn in_run(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

fuzz_target!(|data: &[u8]| {
    let (key, body) = match data.split_first() {
        Some((k, rest)) => ([*k; 32], rest),
        None => ([0; 32], data),
    };
    let t = token(&key);
    let tb = t.as_bytes();
    let naive = (0..body.len().saturating_sub(tb.len() - 1)).any(|i| {
        &body[i..i + tb.len()] == tb
            && (i == 0 || !in_run(body[i - 1]))
            && (i + tb.len() == body.len() || !in_run(body[i + tb.len()]))
    });
    assert_eq!(contains_token(body, &t), naive, "disagrees with the naive search");
    let mut set_apart = body.to_vec();
    set_apart.push(b' ');
    set_apart.extend_from_slice(tb);
    assert!(contains_token(&set_apart, &t), "a token after a space is not found");
});
