//! The auditor's saved state: the last verified checkpoint, the right edge of its tree
//! and the compact per-signer state, in one file written atomically.
//!
//! One file, not three, so that a crash can never leave a checkpoint beside an edge or
//! a signer state of another size. The file ends with a SHA-256 of its contents, which
//! catches truncation and accidental edits; a deliberate edit is caught because the
//! checkpoint is re-verified against the log key and the edge must reproduce its root.

use std::fs;
use std::path::Path;

use signet_core::state::LogState;
use signet_core::{Checkpoint, CompactRange, Hash, SignedCheckpoint, VerifierKey};

use crate::Error;

/// The state file's name inside the state directory.
pub const STATE_FILE: &str = "audit-state";
/// A copy of the last verified checkpoint, for people (the state file is authoritative).
pub const CHECKPOINT_FILE: &str = "checkpoint";

const MAGIC: &[u8] = b"signet-audit-state v1\n";

/// What an audit keeps between runs.
#[derive(Debug, Clone)]
pub struct SavedState {
    /// The last verified checkpoint, with its signatures.
    pub checkpoint: SignedCheckpoint,
    /// The right edge of the tree of that checkpoint.
    pub edge: CompactRange,
    /// Every letter and signer record as of that checkpoint.
    pub state: LogState,
}

impl SavedState {
    /// The verified checkpoint body.
    pub fn tree(&self) -> &Checkpoint {
        self.checkpoint.checkpoint()
    }

    /// Loads the state from `dir`; `Ok(None)` when there is none yet.
    ///
    /// The checkpoint must verify against `log_key`, and the edge and the signer state
    /// must be of its size and reproduce its root.
    pub fn load(dir: &Path, log_key: &VerifierKey) -> Result<Option<SavedState>, Error> {
        let path = dir.join(STATE_FILE);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        let bad = |reason: String| Error::BadState {
            path: dir.to_owned(),
            reason: format!("{reason}; run `signet audit --full` to start again"),
        };
        let (checkpoint, edge_size, edge_hashes, state) =
            decode(&bytes).map_err(|r| bad(r.to_owned()))?;
        let checkpoint =
            SignedCheckpoint::parse(checkpoint).map_err(|e| bad(format!("bad checkpoint: {e}")))?;
        let tree = checkpoint.verify(log_key).map_err(|e| {
            bad(format!("its checkpoint does not verify with the log key {} ({e}); was it made for another log?", log_key.name()))
        })?;
        let edge = CompactRange::from_parts(edge_size, edge_hashes)
            .map_err(|e| bad(format!("bad tree edge: {e}")))?;
        if edge.size() != tree.size || edge.root() != tree.root {
            return Err(bad(String::from(
                "the tree edge does not match the checkpoint",
            )));
        }
        let state = LogState::decode(log_key.clone(), state)
            .map_err(|e| bad(format!("bad signer state: {e}")))?;
        if state.size() != tree.size {
            return Err(bad(String::from(
                "the signer state is not of the checkpoint's size",
            )));
        }
        Ok(Some(SavedState {
            checkpoint,
            edge,
            state,
        }))
    }

    /// Saves the state into `dir` (created durably if needed). Each file goes to a
    /// fresh, exclusively created temporary name, is fsynced and renamed into place, and
    /// the directory is fsynced; a symlink planted in `dir` is never written through.
    pub fn save(&self, dir: &Path) -> Result<(), Error> {
        signet_fs::create_dir_all(dir)?;
        signet_fs::replace(&dir.join(STATE_FILE), &self.encode())?;
        signet_fs::replace(&dir.join(CHECKPOINT_FILE), &self.checkpoint.to_bytes())?;
        Ok(())
    }

    fn encode(&self) -> Vec<u8> {
        let checkpoint = self.checkpoint.to_bytes();
        let state = self.state.encode();
        let mut out = Vec::with_capacity(MAGIC.len() + checkpoint.len() + state.len() + 64 * 33);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(checkpoint.len() as u64).to_be_bytes());
        out.extend_from_slice(&checkpoint);
        out.extend_from_slice(&self.edge.size().to_be_bytes());
        out.extend_from_slice(&(self.edge.hashes().len() as u64).to_be_bytes());
        for h in self.edge.hashes() {
            out.extend_from_slice(&h.0);
        }
        out.extend_from_slice(&(state.len() as u64).to_be_bytes());
        out.extend_from_slice(&state);
        let sum = Hash::sha256(&out);
        out.extend_from_slice(&sum.0);
        out
    }
}

type Decoded<'a> = (&'a [u8], u64, Vec<Hash>, &'a [u8]);

fn decode(bytes: &[u8]) -> Result<Decoded<'_>, &'static str> {
    let body_len = bytes.len().checked_sub(32).ok_or("truncated file")?;
    let (body, sum) = bytes.split_at(body_len);
    if Hash::sha256(body).0 != sum {
        return Err("checksum mismatch (the file is damaged)");
    }
    let mut r = Reader(body);
    if r.take(MAGIC.len())? != MAGIC {
        return Err("not a signet audit state of version 1");
    }
    let n = r.len()?;
    let checkpoint = r.take(n)?;
    let edge_size = r.u64()?;
    let count = r.len()?;
    if count > 64 {
        return Err("too many edge hashes");
    }
    let mut hashes = Vec::with_capacity(count);
    for _ in 0..count {
        let mut h = [0u8; 32];
        h.copy_from_slice(r.take(32)?);
        hashes.push(Hash(h));
    }
    let n = r.len()?;
    let state = r.take(n)?;
    if !r.0.is_empty() {
        return Err("trailing bytes");
    }
    Ok((checkpoint, edge_size, hashes, state))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.0.len() {
            return Err("truncated file");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn len(&mut self) -> Result<usize, &'static str> {
        usize::try_from(self.u64()?).map_err(|_| "length out of range")
    }
}

/// The state directory name for a log origin: the origin with every byte outside
/// `[A-Za-z0-9._-]` (and a leading dot) written as `%XX`, so that distinct origins get
/// distinct directories and none escapes its parent (`example.org/log` becomes
/// `example.org%2Flog`).
pub fn origin_dir_name(origin: &str) -> String {
    let mut out = String::with_capacity(origin.len());
    for (i, b) in origin.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_dir_names() {
        fn check(origin: &str, expected: &str) {
            assert_eq!(origin_dir_name(origin), expected, "{origin}");
        }
        check(
            "example.org/pause-letter-log",
            "example.org%2Fpause-letter-log",
        );
        check("..", "%2E.");
        check(".hidden", "%2Ehidden");
        check("a%b", "a%25b");
        check("日本", "%E6%97%A5%E6%9C%AC");
    }

    #[test]
    fn decode_refuses_damage() {
        fn check(bytes: &[u8], reason: &str) {
            assert_eq!(decode(bytes).err(), Some(reason));
        }
        check(b"", "truncated file");
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&5u64.to_be_bytes());
        let mut file = body.clone();
        file.extend_from_slice(&Hash::sha256(&body).0);
        check(&file, "truncated file");
        let last = file.len() - 1;
        file[last] ^= 1;
        check(&file, "checksum mismatch (the file is damaged)");
    }
}
