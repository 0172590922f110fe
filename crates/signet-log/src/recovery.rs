//! Recovery: the log's state as the stored checkpoint and tiles give it, trusting
//! nothing.
//!
//! [`load_edge`] reads the stored checkpoint, verifies its signature, and rebuilds the
//! tree's right edge from O(log n) tiles, checking that they reproduce the checkpoint's
//! root. It runs when the log opens and after every failed batch. Its errors keep their
//! meaning: stored data that contradicts the checkpoint is [`Error::Corrupt`] (not
//! transient: the log stops until it is restarted on repaired storage), while a failure
//! to read (no file descriptors, say) passes through as itself, so that the sequencer
//! can retry.

use std::sync::Arc;

use signet_core::edge::Edge;
use signet_core::tiles::{TILE_HEIGHT, TILE_WIDTH};
use signet_core::{CompactRange, Hash, SignedCheckpoint, VerifierKey};

use crate::Error;
use crate::head::Head;
use crate::tree::{Bundle, TreeReader};

/// Reads the stored checkpoint, verifies it, and rebuilds the right edge from O(log n)
/// tiles, checking that they reproduce the checkpoint's root.
pub(crate) fn load_edge(
    reader: &TreeReader,
    log_key: &VerifierKey,
) -> Result<(Arc<Head>, Edge), Error> {
    let bytes = reader
        .storage()
        .read_checkpoint()?
        .ok_or_else(|| corrupt("the checkpoint is missing"))?;
    let signed = SignedCheckpoint::parse(&bytes)
        .map_err(|e| corrupt(format!("the checkpoint does not parse: {e}")))?;
    let checkpoint = signed
        .verify(log_key)
        .map_err(|e| {
            corrupt(format!(
                "the checkpoint is not signed by this log's key: {e}"
            ))
        })?
        .clone();
    let size = checkpoint.size;
    let mut hashes = Vec::new();
    for st in CompactRange::subtrees_of(size) {
        hashes.push(reader.subtree_hash(st, size, size).map_err(|e| {
            corrupt_if_bad(e, |e| {
                format!("the tiles under checkpoint {size} are incomplete: {e}")
            })
        })?);
    }
    let range = CompactRange::from_parts(size, hashes)
        .map_err(Error::from)
        .map_err(Error::internal("the right edge's compact range"))?;
    if range.root() != checkpoint.root {
        return Err(corrupt(format!(
            "the stored tiles give root {} for size {size}, but the checkpoint says {}",
            range.root(),
            checkpoint.root
        )));
    }
    let mut edge_hashes = Vec::new();
    for level in 0u8.. {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let count = if shift >= 64 { 0 } else { size >> shift };
        if count == 0 {
            break;
        }
        let width = count % TILE_WIDTH;
        if width == 0 {
            edge_hashes.push(Vec::new());
        } else {
            edge_hashes.push(
                reader
                    .hash_tile(level, count / TILE_WIDTH, size)
                    .map_err(Error::internal("reading the right edge"))?
                    .hashes()
                    .to_vec(),
            );
        }
    }
    let mut bundle: Option<Arc<Bundle>> = None;
    if size % TILE_WIDTH > 0 {
        let b = reader
            .bundle(size / TILE_WIDTH, size)
            .map_err(Error::internal("reading the last entry bundle"))?;
        let level0 = edge_hashes.first().map(Vec::as_slice).unwrap_or_default();
        if b.len() != level0.len() || b.entries().zip(level0).any(|(e, h)| Hash::leaf(e) != *h) {
            return Err(corrupt(
                "the last entry bundle does not match the level-0 hash tile",
            ));
        }
        bundle = Some(b);
    }
    let entries: Vec<&[u8]> = bundle.iter().flat_map(|b| b.entries()).collect();
    let edge = Edge::from_parts(range, edge_hashes, &entries)
        .map_err(|e| corrupt(format!("the stored right edge does not fit together: {e}")))?;
    let head = Arc::new(Head {
        size,
        root: checkpoint.root,
        text: signed.to_string(),
        checkpoint: signed,
    });
    Ok((head, edge))
}

/// Whether `error` says the stored log contradicts itself (it will not go away by
/// retrying), as opposed to a failure to read or write it.
pub(crate) fn is_corruption(error: &Error) -> bool {
    matches!(
        error,
        Error::Corrupt { .. }
            | Error::BadTile { .. }
            | Error::CorruptStorage { .. }
            | Error::RolledBack { .. }
            // Another writer changed the checkpoint: this log is no longer its only
            // writer, and retrying could only fork it.
            | Error::StaleCheckpoint { .. }
    )
}

/// Stored data that contradicts the checkpoint becomes [`Error::Corrupt`] with `reason`;
/// a failure to read passes through, so that it can be retried.
fn corrupt_if_bad(error: Error, reason: impl FnOnce(&Error) -> String) -> Error {
    if is_corruption(&error) {
        corrupt(reason(&error))
    } else {
        Error::internal("reading the stored tiles")(error)
    }
}

pub(crate) fn corrupt(reason: impl Into<String>) -> Error {
    Error::Corrupt {
        dir: Default::default(),
        reason: reason.into(),
    }
}
