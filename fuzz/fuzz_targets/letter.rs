//! `Letter::from_bytes` on arbitrary bytes. The canonical form is a fixed point:
//! canonicalising a letter's canonical text again gives the same text and ID.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::{Hash, Letter};

fuzz_target!(|data: &[u8]| {
    if let Ok(letter) = Letter::from_bytes(data) {
        assert_eq!(
            letter.id().0,
            Hash::sha256(letter.text().as_bytes()),
            "a letter's ID is not the SHA-256 of its canonical text"
        );
        match Letter::from_bytes(letter.text().as_bytes()) {
            Ok(again) => {
                assert_eq!(
                    again.text(),
                    letter.text(),
                    "canonicalising twice changes the text"
                );
                assert_eq!(
                    again.id(),
                    letter.id(),
                    "canonicalising twice changes the ID"
                );
            }
            Err(e) => panic!("a canonical letter is refused when canonicalised again: {e}"),
        }
    }
});
