//! `TlogProof::parse` on arbitrary bytes: whatever parses must format back to exactly the
//! input bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::TlogProof;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        assert_eq!(
            proof.to_bytes(),
            data,
            "a parsed proof file does not re-encode to its input"
        );
    }
});
