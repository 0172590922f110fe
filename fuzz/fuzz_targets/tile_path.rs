//! `TileId::parse_path` on arbitrary text. Paths are parsed strictly, one path per tile:
//! whatever parses must format back to exactly the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::TileId;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data)
        && let Ok(tile) = TileId::parse_path(path)
    {
        assert_eq!(
            tile.path(),
            path,
            "a parsed tile path does not re-encode to its input"
        );
    }
});
