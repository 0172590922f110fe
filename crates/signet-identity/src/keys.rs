//! The `github.com/<login>.keys` body: one OpenSSH public key per line
//! (`<type> <base64> [comment]`). Only `ssh-ed25519` lines matter; the others are
//! skipped, and so is any line that does not parse. Pure functions, fuzzed.

/// The 32-byte Ed25519 keys of the `ssh-ed25519` lines of a `.keys` body, in order.
/// Lines of other types and lines that are not well formed are skipped.
pub fn ed25519_keys(body: &[u8]) -> Vec<[u8; 32]> {
    body.split(|b| *b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = std::str::from_utf8(line).ok()?;
            let mut words = line.split_ascii_whitespace();
            if words.next()? != "ssh-ed25519" {
                return None;
            }
            parse_blob(words.next()?)
        })
        .collect()
}

/// Whether the body lists `key` as an `ssh-ed25519` key.
pub fn lists_key(body: &[u8], key: &[u8; 32]) -> bool {
    ed25519_keys(body).iter().any(|k| k == key)
}

/// The OpenSSH wire form of an Ed25519 public key, base64: `string "ssh-ed25519"`,
/// `string key` (RFC 8709 §4), each string a 4-byte big-endian length and the bytes.
fn parse_blob(b64: &str) -> Option<[u8; 32]> {
    let blob = signet_core::b64::decode("ssh key", b64).ok()?;
    let (kind, rest) = take_string(&blob)?;
    let (key, rest) = take_string(rest)?;
    if kind != b"ssh-ed25519" || !rest.is_empty() {
        return None;
    }
    key.try_into().ok()
}

fn take_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = len.checked_add(4)?;
    Some((bytes.get(4..end)?, &bytes[end..]))
}

/// The OpenSSH public key line of an Ed25519 key: `ssh-ed25519 <base64> <comment>`.
pub fn ssh_line(key: &[u8; 32], comment: &str) -> String {
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(key);
    let b64 = signet_core::b64::encode(&blob);
    if comment.is_empty() {
        format!("ssh-ed25519 {b64}")
    } else {
        format!("ssh-ed25519 {b64} {comment}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 32] = [1; 32];
    const B: [u8; 32] = [2; 32];

    fn check(body: &str, want: &[[u8; 32]]) {
        assert_eq!(ed25519_keys(body.as_bytes()), want, "{body:?}");
    }

    #[test]
    fn keys_bodies() {
        let a = ssh_line(&A, "");
        let b = ssh_line(&B, "laptop");
        check("", &[]);
        check(&a, &[A]);
        check(&format!("{a}\n"), &[A]);
        check(&format!("{a}\r\n{b}\r\n"), &[A, B]);
        check(&format!("ssh-rsa AAAAB3NzaC1yc2E=\n{b}\n"), &[B]);
        check(&format!("\n\n{a}\n\n"), &[A]);
        // A key line whose blob says another type, or is cut, or has junk after it.
        let blob =
            signet_core::b64::encode(&[0, 0, 0, 7, b's', b's', b'h', b'-', b'r', b's', b'a']);
        check(&format!("ssh-ed25519 {blob}\n"), &[]);
        let cut = &a[..a.len() - 8];
        check(cut, &[]);
        check("ssh-ed25519 not-base64!!", &[]);
        check("ssh-ed25519", &[]);
        check("ecdsa-sha2-nistp256 AAAA", &[]);
    }

    #[test]
    fn listed_or_not() {
        let body = format!("{}\n{}\n", ssh_line(&A, "x"), ssh_line(&B, "y"));
        assert!(lists_key(body.as_bytes(), &A));
        assert!(lists_key(body.as_bytes(), &B));
        assert!(!lists_key(body.as_bytes(), &[3; 32]));
        assert!(!lists_key(&[0xff, 0xfe, b'\n'], &A));
    }

    proptest::proptest! {
        #[test]
        fn round_trip(key in proptest::array::uniform32(proptest::num::u8::ANY), comment in "[a-z0-9.@-]{0,20}") {
            let line = ssh_line(&key, &comment);
            proptest::prop_assert_eq!(ed25519_keys(line.as_bytes()), vec![key]);
        }

        #[test]
        fn never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = ed25519_keys(&body);
        }
    }
}
