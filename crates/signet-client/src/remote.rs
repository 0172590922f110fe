//! Submitting entries and fetching proofs, each checked before it is returned: nothing
//! the server says is trusted until it verifies against the log key.

use signet_core::tiles::{self, TILE_WIDTH, TileLevel};
use signet_core::{Checkpoint, Entry, TileId, TlogProof, VerifierKey};

use crate::{Client, Error};

/// An entry the log has accepted, with a proof that verified against the log key.
#[derive(Debug, Clone)]
pub struct Logged {
    /// False when the same bytes were already in the log (HTTP 200).
    pub new: bool,
    /// The entry's index.
    pub index: u64,
    /// The verified proof.
    pub proof: TlogProof,
    /// The checkpoint the proof leads to (verified).
    pub checkpoint: Checkpoint,
}

/// Submits `entry` and verifies the proof the server returns against `log_key`: the
/// checkpoint's signature and origin, the index, and the inclusion of these exact bytes.
pub fn submit(client: &Client, entry: &Entry, log_key: &VerifierKey) -> Result<Logged, Error> {
    let answer = client.submit(entry.bytes())?;
    let proof = TlogProof::parse(answer.proof.as_bytes())
        .map_err(|e| Error::verification("the proof the server returned", e))?;
    if proof.index != answer.index {
        return Err(Error::verification(
            "the proof the server returned",
            signet_core::Error::OutOfRange(format!(
                "the answer says index {} but the proof is for index {}",
                answer.index, proof.index
            )),
        ));
    }
    let checkpoint = proof
        .verify(entry.bytes(), log_key)
        .map_err(|e| Error::verification("the proof the server returned", e))?
        .clone();
    Ok(Logged {
        new: answer.new,
        index: answer.index,
        proof,
        checkpoint,
    })
}

/// A proof fetched from `/v1/proof/<index>` and checked against the entry read from the
/// log's own tiles at that index.
#[derive(Debug, Clone)]
pub struct FetchedProof {
    /// The verified proof.
    pub proof: TlogProof,
    /// The entry at that index, parsed and verified.
    pub entry: Entry,
    /// The checkpoint the proof leads to (verified).
    pub checkpoint: Checkpoint,
}

/// Fetches the proof for entry `index` and verifies it against `log_key` and the entry
/// bytes served in the entry bundle at that index.
pub fn fetch_proof(
    client: &Client,
    index: u64,
    log_key: &VerifierKey,
) -> Result<FetchedProof, Error> {
    let raw = client.proof(index)?;
    let what = || format!("the proof of entry {index}");
    let proof = TlogProof::parse(&raw).map_err(|e| Error::verification(what(), e))?;
    if proof.index != index {
        return Err(Error::verification(
            what(),
            signet_core::Error::OutOfRange(format!(
                "the server sent a proof for index {}",
                proof.index
            )),
        ));
    }
    let size = proof
        .checkpoint
        .verify(log_key)
        .map_err(|e| Error::verification(what(), e))?
        .size;
    if index >= size {
        return Err(Error::verification(
            what(),
            signet_core::Error::OutOfRange(format!(
                "index {index} is not below the tree size {size}"
            )),
        ));
    }
    let bytes = read_entry(client, index, size)?;
    let checkpoint = proof
        .verify(&bytes, log_key)
        .map_err(|e| Error::verification(what(), e))?
        .clone();
    let entry = Entry::parse(&bytes)
        .map_err(|e| Error::verification(format!("entry {index} as the log serves it"), e))?;
    Ok(FetchedProof {
        proof,
        entry,
        checkpoint,
    })
}

/// Reads entry `index` from its entry bundle in a tree of `size` entries.
pub fn read_entry(client: &Client, index: u64, size: u64) -> Result<Vec<u8>, Error> {
    let (entries, url) = read_bundle(client, index / TILE_WIDTH, size)?;
    let i = (index % TILE_WIDTH) as usize;
    entries.get(i).cloned().ok_or_else(|| Error::BadContent {
        url,
        reason: format!("no entry at position {i}"),
    })
}

/// Reads entry bundle `k` of a tree of `size` entries: its entries, each checked to be
/// there (a bundle holds its width's entries, or all 256 of a full one), and its URL for
/// the caller's own errors.
pub fn read_bundle(client: &Client, k: u64, size: u64) -> Result<(Vec<Vec<u8>>, String), Error> {
    // At most TILE_WIDTH (256), so the conversion cannot fail.
    let width = (size.saturating_sub(k * TILE_WIDTH)).min(TILE_WIDTH) as u16;
    let id = TileId {
        level: TileLevel::Entries,
        index: k,
        width,
    };
    let data = client.tile(id)?;
    let url = format!("{}/{}", client.base_url(), id.path());
    let bad = |reason: String| Error::BadContent {
        url: url.clone(),
        reason,
    };
    let entries = tiles::parse_bundle(&data).map_err(|e| bad(e.to_string()))?;
    if entries.len() != usize::from(width) && entries.len() != TILE_WIDTH as usize {
        return Err(bad(format!(
            "it holds {} entries, expected {width}",
            entries.len()
        )));
    }
    let entries = entries.iter().map(|e| e.to_vec()).collect();
    Ok((entries, url))
}
