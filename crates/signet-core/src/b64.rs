//! Canonical standard base64 (RFC 4648 §4): padded, no stray bits, nothing else accepted.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Encodes bytes as padded standard base64.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes canonical padded standard base64; `what` names the value in the error.
///
/// The `STANDARD` engine already refuses missing or extra padding and non-zero
/// trailing bits, so every byte string has exactly one accepted encoding.
pub fn decode(what: &'static str, s: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(s)
        .map_err(|e| Error::malformed(what, format_args!("bad base64: {e}")))
}

/// Decodes canonical base64 that must hold exactly `N` bytes.
pub fn decode_array<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], Error> {
    let v = decode(what, s)?;
    let len = v.len();
    v.try_into()
        .map_err(|_| Error::malformed(what, format_args!("expected {N} bytes, found {len}")))
}
