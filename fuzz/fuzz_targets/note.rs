//! `Note::parse` on arbitrary bytes. A note has one encoding: whatever parses must
//! format back to exactly the input bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::Note;

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        assert_eq!(
            note.to_bytes(),
            data,
            "a parsed note does not re-encode to its input"
        );
    }
});
