//! The audit's pipeline: downloading, verifying and replaying overlap, on every core.
//!
//! ```text
//! downloaders (many: they wait on the network)     claim bundles in order, at most
//!   │  fetch the bundle and its level-0 tile,      `window` ahead of the replay
//!   │  hash the leaves, compare them with the tile
//!   ▼  bounded channel
//! verifiers (one per core)                         parse and verify the new entries,
//!   │                                              keys decoded once per signer
//!   ▼  bounded channel
//! the calling thread                               puts bundles back in log order and
//!                                                  replays them (rules of state, tree)
//! ```
//!
//! Memory is bounded by the window: a bundle is claimed only while fewer than `window`
//! bundles lie between it and the next one to replay, so no more than `window` bundles
//! are ever downloaded, queued or waiting to be put in order. The replay sees every
//! bundle in log order, whatever order they were verified in, so the first bad entry it
//! meets is the first bad entry of the log.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};

use signet_core::tiles::{self, TILE_WIDTH, TileLevel};
use signet_core::{Entry, Hash, TileId};

use crate::audit::{
    Misbehaviour, MisbehaviourKind, covered_tile, hashes_of, misbehaviour, width_at,
};
use crate::keycache::KeyCache;
use crate::{Client, Error};

/// What the pipeline runs over.
pub(crate) struct Plan {
    /// The checkpoint's tree size.
    pub(crate) size: u64,
    /// The size already audited: entries below it are hashed, not verified again.
    pub(crate) old: u64,
    /// Downloading threads.
    pub(crate) downloaders: usize,
    /// Verifying threads.
    pub(crate) verifiers: usize,
    /// Bundles in flight at most.
    pub(crate) window: u64,
}

/// One entry bundle, downloaded, checked against its level-0 tile, and verified.
pub(crate) struct Bundle {
    /// Leaf hashes of all the bundle's entries in the tree (`width` of them).
    pub(crate) leaves: Vec<Hash>,
    /// From the first new entry on: the verified entry, or why it is not one and its
    /// bytes. Empty once a finding made further verification pointless.
    pub(crate) entries: Vec<Result<Entry, (signet_core::Error, Vec<u8>)>>,
    /// The first position where the level-0 tile disagrees with the leaf hashes.
    pub(crate) tile_mismatch: Option<(u64, String)>,
}

/// A downloaded bundle on its way to a verifier.
struct Fetched {
    leaves: Vec<Hash>,
    /// The new entries' bytes (from the first entry past the audited size).
    new: Vec<Vec<u8>>,
    tile_mismatch: Option<(u64, String)>,
}

/// What the downloaders share: which bundle to take next, and how far ahead they may go.
struct Claims {
    next: u64,
    allowed: u64,
    stop: bool,
}

/// Runs the pipeline over every bundle holding entries at or past `plan.old`, calling
/// `replay` with each bundle (its index and contents) in log order on the calling
/// thread, and `progress` after each. A download error is returned when the replay
/// reaches its bundle, so an earlier bundle is always replayed first. Verifiers skip the
/// entries of bundles taken after `hash_only` is set (the replay sets it on a finding).
pub(crate) fn run(
    client: &Client,
    plan: &Plan,
    keys: &KeyCache,
    hash_only: &AtomicBool,
    replay: &mut dyn FnMut(u64, Bundle),
) -> Result<(), Error> {
    let (n, old, window) = (plan.size, plan.old, plan.window.max(1));
    let first = old / TILE_WIDTH;
    let last = (n - 1) / TILE_WIDTH;
    let claims = Mutex::new(Claims {
        next: first,
        allowed: first + window,
        stop: false,
    });
    let wake = Condvar::new();
    let stop = || {
        if let Ok(mut c) = claims.lock() {
            c.stop = true;
        }
        wake.notify_all();
    };
    // At most `window` bundles are claimed and not yet replayed, so these bounds are
    // never the binding ones; they keep each queue bounded on its own all the same.
    let capacity = usize::try_from(window).unwrap_or(usize::MAX);

    std::thread::scope(|scope| {
        let (fetched_tx, fetched_rx) =
            mpsc::sync_channel::<(u64, Result<Fetched, Error>)>(capacity);
        let (done_tx, done_rx) = mpsc::sync_channel::<(u64, Result<Bundle, Error>)>(capacity);
        for _ in 0..plan.downloaders.max(1) {
            let tx = fetched_tx.clone();
            let (claims, wake) = (&claims, &wake);
            scope.spawn(move || {
                while let Some(k) = claim(claims, wake, last) {
                    if tx.send((k, fetch(client, k, n, old))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(fetched_tx);
        // The verifiers own the receiving end together: when the last one leaves, a
        // downloader still sending learns it at once instead of waiting forever.
        let fetched_rx = Arc::new(Mutex::new(fetched_rx));
        for _ in 0..plan.verifiers.max(1) {
            let (rx, tx) = (fetched_rx.clone(), done_tx.clone());
            scope.spawn(move || {
                loop {
                    let next = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok((k, fetched)) = next else { return };
                    let bundle = fetched.map(|f| verify(f, keys, hash_only));
                    if tx.send((k, bundle)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(fetched_rx);
        drop(done_tx);

        let mut pending = BTreeMap::new();
        let mut expect = first;
        for (k, result) in done_rx {
            pending.insert(k, result);
            while let Some(result) = pending.remove(&expect) {
                let bundle = match result {
                    Ok(b) => b,
                    Err(e) => {
                        stop();
                        return Err(e);
                    }
                };
                replay(expect, bundle);
                expect += 1;
                if let Ok(mut c) = claims.lock() {
                    c.allowed = expect + window;
                }
                wake.notify_all();
            }
        }
        if expect <= last {
            // Every thread has gone, yet a bundle is missing: only a panicking thread (a
            // bug) gets here; the scope re-raises its panic.
            stop();
        }
        Ok(())
    })
}

/// The next bundle to download, once the window allows it; `None` when there is none
/// left or the pipeline stops.
fn claim(claims: &Mutex<Claims>, wake: &Condvar, last: u64) -> Option<u64> {
    let mut c = claims.lock().ok()?;
    while !c.stop && c.next <= last && c.next >= c.allowed {
        c = wake.wait(c).ok()?;
    }
    if c.stop || c.next > last {
        return None;
    }
    c.next += 1;
    Some(c.next - 1)
}

/// Downloads bundle `k` of a tree of `n` entries and its level-0 tile, and compares the
/// leaf hashes with the tile.
fn fetch(client: &Client, k: u64, n: u64, old: u64) -> Result<Fetched, Error> {
    let width = width_at(k, n);
    let bundle_id = TileId {
        level: TileLevel::Entries,
        index: k,
        width,
    };
    let data = covered_tile(client, bundle_id, n)?;
    let bad = |message: String| {
        misbehaviour(Misbehaviour {
            kind: MisbehaviourKind::BadBundle,
            message,
            index: Some(k * TILE_WIDTH),
            entry: None,
            saved_checkpoint: None,
            served_checkpoint: None,
        })
    };
    let mut raw = tiles::parse_bundle(&data).map_err(|e| {
        bad(format!(
            "entry bundle {} is malformed: {e}",
            bundle_id.path()
        ))
    })?;
    if raw.len() != usize::from(width) && raw.len() != TILE_WIDTH as usize {
        return Err(bad(format!(
            "entry bundle {} holds {} entries, but the checkpoint needs {width}",
            bundle_id.path(),
            raw.len()
        )));
    }
    raw.truncate(usize::from(width));
    let leaves: Vec<Hash> = raw.iter().map(|e| Hash::leaf(e)).collect();

    let tile_id = TileId {
        level: TileLevel::Hashes(0),
        index: k,
        width,
    };
    let tile = covered_tile(client, tile_id, n)?;
    let tile_mismatch = match hashes_of(&tile, width) {
        None => Some((
            k * TILE_WIDTH,
            format!("tile {} has {} bytes", tile_id.path(), tile.len()),
        )),
        Some(hashes) => leaves
            .iter()
            .zip(&hashes)
            .position(|(a, b)| a != b)
            .map(|p| {
                (
                    k * TILE_WIDTH + p as u64,
                    format!("tile {} differs at position {p}", tile_id.path()),
                )
            }),
    };
    let skip = old.saturating_sub(k * TILE_WIDTH) as usize;
    Ok(Fetched {
        new: raw.iter().skip(skip).map(|e| e.to_vec()).collect(),
        leaves,
        tile_mismatch,
    })
}

/// Parses and verifies a downloaded bundle's new entries, unless a finding made it
/// pointless.
fn verify(fetched: Fetched, keys: &KeyCache, hash_only: &AtomicBool) -> Bundle {
    let mut entries = Vec::new();
    if !hash_only.load(Ordering::Relaxed) {
        let mut decode = |key: &signet_core::VerifierKey| keys.decode(key);
        entries = fetched
            .new
            .into_iter()
            .map(|bytes| Entry::parse_with_keys(&bytes, &mut decode).map_err(|e| (e, bytes)))
            .collect();
    }
    Bundle {
        leaves: fetched.leaves,
        entries,
        tile_mismatch: fetched.tile_mismatch,
    }
}
