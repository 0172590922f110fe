//! `AddCheckpoint::parse` (the body of a witness's `POST /add-checkpoint`) on arbitrary
//! bytes, and the two answers a log reads back from a witness: whatever parses must
//! re-encode to exactly its input, and `old` never exceeds the checkpoint's size.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::witness::{AddCheckpoint, MAX_PROOF_LINES, parse_cosignatures, parse_size};

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = AddCheckpoint::parse(data) {
        assert_eq!(request.to_bytes(), data, "a parsed request does not re-encode to its input");
        assert!(request.old <= request.checkpoint.checkpoint().size);
        assert!(request.proof.len() <= MAX_PROOF_LINES);
        let _ = parse_cosignatures(request.checkpoint.checkpoint(), data);
    }
    if let Ok(size) = parse_size(data) {
        assert_eq!(format!("{size}\n").as_bytes(), data);
    }
});
