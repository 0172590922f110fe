//! `VerifierKey::parse` on arbitrary text: whatever parses must format back to exactly
//! the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::VerifierKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(key) = VerifierKey::parse(text)
    {
        assert_eq!(
            key.to_string(),
            text,
            "a parsed verifier key does not re-encode to its input"
        );
    }
});
