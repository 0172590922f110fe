//! `SignedCheckpoint::parse` on arbitrary bytes and `Checkpoint::parse_body` on arbitrary
//! text: whatever parses must format back to exactly its input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::{Checkpoint, SignedCheckpoint};

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = SignedCheckpoint::parse(data) {
        assert_eq!(
            signed.to_bytes(),
            data,
            "a parsed signed checkpoint does not re-encode to its input"
        );
        assert_eq!(
            signed.checkpoint().body(),
            signed.note().text(),
            "a checkpoint's body differs from its note's text"
        );
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(checkpoint) = Checkpoint::parse_body(text)
    {
        assert_eq!(
            checkpoint.body(),
            text,
            "a parsed checkpoint body does not re-encode to its input"
        );
    }
});
