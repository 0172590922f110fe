//! `tiles::parse_bundle` on arbitrary bytes: bundling the entries it returns again must
//! give exactly the input bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::tiles::{parse_bundle, push_bundle_entry};

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_bundle(data) {
        let mut bundle = Vec::with_capacity(data.len());
        for entry in &entries {
            let pushed = push_bundle_entry(&mut bundle, entry);
            assert!(
                pushed.is_ok(),
                "a parsed bundle entry cannot be bundled: {pushed:?}"
            );
        }
        assert_eq!(
            bundle, data,
            "a parsed bundle does not re-encode to its input"
        );
    }
});
