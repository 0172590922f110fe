//! What the log hands out: the [`Head`] it serves (the latest durable signed
//! checkpoint) and the [`Ack`] of an accepted submission.
//!
//! A head is published only once its checkpoint and every tile it covers are durable;
//! an ack's proof leads to a published head.

use std::sync::Arc;

use signet_core::{Hash, SignedCheckpoint, TlogProof};

use crate::Error;
use crate::tree::TreeReader;

/// A durable signed checkpoint: the latest one is what the log serves.
#[derive(Debug)]
pub struct Head {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Its encoding, as served at `/checkpoint`.
    pub text: String,
}

/// The answer to an accepted submission, or the active entry of a conflict.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The entry's index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// True when this submission appended the entry; false when it was already logged.
    pub new: bool,
    /// The entry's bytes.
    pub entry: Vec<u8>,
    /// The durable checkpoint the proof leads to.
    pub head: Arc<Head>,
    /// The `.tlog-proof` of the entry at that checkpoint.
    pub proof: TlogProof,
}

/// Builds the `.tlog-proof` of `index` at `head`, reading the tree as of `current`.
pub(crate) fn tlog_proof(
    reader: &TreeReader,
    head: &Head,
    index: u64,
    current: u64,
) -> Result<TlogProof, Error> {
    let hashes = reader.inclusion(index, head.size, current)?;
    Ok(TlogProof {
        extra: None,
        index,
        hashes,
        checkpoint: head.checkpoint.clone(),
    })
}
