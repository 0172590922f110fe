//! `ed25519_keys` on arbitrary `.keys` bodies: never panics, and every key it finds is
//! one whose own `ssh-ed25519` line parses back to it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_identity::keys::{ed25519_keys, lists_key, ssh_line};

fuzz_target!(|data: &[u8]| {
    for key in ed25519_keys(data) {
        assert!(lists_key(data, &key), "a key found is not listed");
        let line = ssh_line(&key, "fuzz");
        assert_eq!(ed25519_keys(line.as_bytes()), vec![key], "ssh_line does not round-trip");
    }
});
