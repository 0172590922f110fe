//! The incremental auditor.
//!
//! [`audit`] reads only the static tlog-tiles endpoints (`/checkpoint`, `/tile/...`), so
//! it audits the server itself, a mirror or any static copy of the log the same way. From
//! the saved state of the last audit (or from nothing) it:
//!
//! 1. verifies the served checkpoint with the log key and refuses a smaller tree
//!    (rollback) or a different tree of the same size (fork);
//! 2. downloads the new entry bundles and level-0 tiles on several threads, which hash
//!    the leaves and compare them with the tile, while one thread per core parses and
//!    verifies every new entry (grammar and `verify_strict` signature; each signer's key
//!    decoded once, in a bounded cache);
//! 3. replays the rules of state in log order ([`LogState::apply`]) and appends each leaf
//!    to the saved right edge of the tree: the new root then *is* the proof that the new
//!    checkpoint extends the old one, so it must equal the checkpoint's root;
//! 4. checks every higher hash tile that covers new entries against the hashes computed
//!    from the entries, and the old part of each tile against the saved edge.
//!
//! Steps 2 and 3 overlap (see the pipeline module), yet the replay meets the entries in
//! log order, so the entry reported is the *first* bad entry of the log, whatever its
//! fault: an entry that is not valid (grammar, signature) at index i is reported even if a
//! later entry breaks a rule of state, and an entry breaking a rule of state at i is
//! reported even if a later one has a bad signature. Nothing past the first bad entry is
//! judged: the state is meaningless there.
//!
//! Anything wrong is a [`Misbehaviour`] with its evidence: the signed checkpoints, the
//! index and bytes of the offending entry, or the tile and position at fault.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signet_core::merkle::{self, CompactRange};
use signet_core::state::LogState;
use signet_core::tiles::{self, TILE_WIDTH, TileLevel};
use signet_core::{Checkpoint, Entry, Hash, LetterId, SignedCheckpoint, TileId, VerifierKey};

use crate::keycache::{self, KeyCache};
use crate::pipeline::{self, Bundle};
use crate::saved::SavedState;
use crate::{Client, Error};

/// How the audit runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditOptions {
    /// Threads that download; 0 picks twice the number of cores, so that downloads
    /// overlap. Entries are verified on one thread per core whatever this says.
    pub threads: usize,
    /// Decoded signer keys kept at most, shared by the verifiers; 0 picks 16,384
    /// (about 5 MiB). Past it the oldest is forgotten, so a log of ever new signers
    /// costs time, never memory.
    pub key_cache: usize,
}

/// What kind of misbehaviour the audit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MisbehaviourKind {
    /// The checkpoint is not signed by the log key, or names another origin.
    BadCheckpoint,
    /// The log now serves a smaller tree than one it signed before.
    Rollback,
    /// The log serves a tree that does not extend the one it signed before.
    Fork,
    /// The entry bundles do not hash to the checkpoint's root, or are malformed.
    BadBundle,
    /// A hash tile disagrees with the hashes computed from the entries, or is larger
    /// than a tile can be.
    BadTile,
    /// The log does not serve (404) a tile or entry bundle that its checkpoint covers.
    MissingTile,
    /// An entry in the log is not a valid entry (grammar or signature).
    InvalidEntry,
    /// An entry in the log breaks a rule of state (see docs/protocol.md, *Rules of state*).
    StateRule,
}

impl MisbehaviourKind {
    /// A stable identifier, as in `signet audit --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            MisbehaviourKind::BadCheckpoint => "bad-checkpoint",
            MisbehaviourKind::Rollback => "rollback",
            MisbehaviourKind::Fork => "fork",
            MisbehaviourKind::BadBundle => "bad-bundle",
            MisbehaviourKind::BadTile => "bad-tile",
            MisbehaviourKind::MissingTile => "missing-tile",
            MisbehaviourKind::InvalidEntry => "invalid-entry",
            MisbehaviourKind::StateRule => "state-rule",
        }
    }
}

/// Evidence that a log (or the mirror serving it) misbehaved.
#[derive(Debug, Clone)]
pub struct Misbehaviour {
    /// What went wrong.
    pub kind: MisbehaviourKind,
    /// A sentence for people: what was found, and where.
    pub message: String,
    /// The index of the offending entry, if one is at fault.
    pub index: Option<u64>,
    /// The offending entry's bytes as served.
    pub entry: Option<Vec<u8>>,
    /// The signed checkpoint verified by an earlier audit, if it is part of the evidence.
    pub saved_checkpoint: Option<String>,
    /// The signed checkpoint the log serves now.
    pub served_checkpoint: Option<String>,
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One registered letter, as the audit replayed it.
#[derive(Debug, Clone)]
pub struct LetterReport {
    /// The letter ID.
    pub id: LetterId,
    /// Its slug.
    pub slug: String,
    /// The index of its registration entry.
    pub index: u64,
    /// Signers shown now: their endorsement is in force and they are not hidden.
    pub active: u64,
    /// Signers who withdrew and are not hidden.
    pub withdrawn: u64,
    /// Signers a moderator hides now.
    pub hidden: u64,
}

/// A hide in effect, as the audit replayed it.
#[derive(Debug, Clone)]
pub struct HideReport {
    /// The index of the hiding moderation.
    pub index: u64,
    /// The endorsement it names (its `entry` line).
    pub target: u64,
    /// The letter.
    pub letter: LetterId,
    /// Its reason.
    pub reason: String,
    /// Its note, if any.
    pub note: Option<String>,
    /// The moderator's verifier key.
    pub moderator: String,
    /// Its time.
    pub time: String,
}

/// The outcome of a clean audit.
#[derive(Debug, Clone)]
pub struct AuditReport {
    /// The log's origin.
    pub origin: String,
    /// The tree size of the last audit (0 for a first audit).
    pub previous_size: u64,
    /// The tree size now verified.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The verified signed checkpoint.
    pub checkpoint: String,
    /// New entries verified.
    pub entries_verified: u64,
    /// Hash tiles checked against computed hashes.
    pub tiles_checked: u64,
    /// Registered letters, in registration order.
    pub letters: Vec<LetterReport>,
    /// Every hide in effect, in log order.
    pub hides: Vec<HideReport>,
    /// HTTP requests made.
    pub requests: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Signer keys decoded (each signer's key is decoded once while it is cached).
    pub keys_decoded: u64,
    /// The most decoded keys held at once (at most [`AuditOptions::key_cache`]).
    pub keys_held: u64,
}

/// Audits the log served by `client` against `log_key`, starting from `saved` (the state
/// of the last audit, or `None` to start from scratch). `progress` is called on the
/// calling thread with (entries done, entries to do).
///
/// Returns the report and the new state to save. A misbehaving log is
/// [`Error::Misbehaviour`]; nothing is saved then.
pub fn audit(
    client: &Client,
    log_key: &VerifierKey,
    saved: Option<SavedState>,
    options: AuditOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(AuditReport, SavedState), Error> {
    audit_observed(client, log_key, saved, options, progress, &mut |_, _, _| {})
}

/// [`audit`], calling `observe` with each new entry (its index, the verified entry, and
/// the state right after it), in log order, on the calling thread, once the rules of
/// state accepted it. An entry observed before a later finding is still in a log that
/// misbehaved: act on what was observed only when this returns `Ok`.
pub fn audit_observed(
    client: &Client,
    log_key: &VerifierKey,
    saved: Option<SavedState>,
    options: AuditOptions,
    progress: &mut dyn FnMut(u64, u64),
    observe: &mut dyn FnMut(u64, &Entry, &LogState),
) -> Result<(AuditReport, SavedState), Error> {
    let raw = client.checkpoint()?;
    let served = SignedCheckpoint::parse(&raw).map_err(|e| Error::BadContent {
        url: format!("{}/checkpoint", client.base_url()),
        reason: format!("not a signed checkpoint ({e}); is this the URL of a Signet log?"),
    })?;
    let served_text = String::from_utf8_lossy(&raw).into_owned();
    let tree = match served.verify(log_key) {
        Ok(tree) => tree.clone(),
        Err(e) => {
            return Err(misbehaviour(Misbehaviour {
                kind: MisbehaviourKind::BadCheckpoint,
                message: format!(
                    "the served checkpoint does not verify with the log key {}: {e} \
                     (if the log key is right, the log or mirror serves a forged checkpoint)",
                    log_key.name()
                ),
                index: None,
                entry: None,
                saved_checkpoint: None,
                served_checkpoint: Some(served_text),
            }));
        }
    };

    let (edge, state, saved_checkpoint) = match saved {
        Some(s) => (s.edge, s.state, Some(s.checkpoint)),
        None => (CompactRange::new(), LogState::new(log_key.clone()), None),
    };
    let saved_text = saved_checkpoint.as_ref().map(|c| c.to_string());
    let old = edge.size();
    let evidence = |kind, message: String| {
        misbehaviour(Misbehaviour {
            kind,
            message,
            index: None,
            entry: None,
            saved_checkpoint: saved_text.clone(),
            served_checkpoint: Some(served_text.clone()),
        })
    };

    if tree.size < old {
        return Err(evidence(
            MisbehaviourKind::Rollback,
            format!(
                "rollback: the log serves a tree of {} entries, but it signed a tree of {old} entries before",
                tree.size
            ),
        ));
    }
    if tree.size == old && tree.root != edge.root() {
        let kind = if old == 0 {
            MisbehaviourKind::BadCheckpoint
        } else {
            MisbehaviourKind::Fork
        };
        return Err(evidence(
            kind,
            format!("fork: the log signed two different trees of {old} entries (roots differ)"),
        ));
    }

    let mut run = Run {
        client,
        tree: &tree,
        old,
        saved_edge: edge.clone(),
        edge,
        state,
        upper: HashMap::new(),
        finding: None,
        tile_mismatch: None,
        prefix_mismatch: None,
        tiles_checked: 0,
        keys_decoded: 0,
        keys_held: 0,
        observe,
    };
    // Evidence found while fetching carries both checkpoints, like every other finding.
    let with_checkpoints = |e: Error| match e {
        Error::Misbehaviour(mut m) => {
            m.saved_checkpoint.clone_from(&saved_text);
            m.served_checkpoint = Some(served_text.clone());
            Error::Misbehaviour(m)
        }
        e => e,
    };
    if tree.size > old {
        run.entries(options, progress).map_err(with_checkpoints)?;
    }
    let Run {
        edge,
        state,
        finding,
        tile_mismatch,
        prefix_mismatch,
        mut tiles_checked,
        saved_edge,
        upper,
        keys_decoded,
        keys_held,
        ..
    } = run;

    if edge.root() != tree.root {
        let mut detail = String::new();
        if let Some((index, p)) = &tile_mismatch {
            detail.push_str(&format!(
                "; entry {index} does not hash to the level-0 tile ({p})"
            ));
        }
        if let Some(f) = &finding {
            detail.push_str(&format!("; entry {}: {}", f.index, f.reason));
        }
        if old > 0 && !tiles_prove_consistency(client, old, &tree, &saved_edge.root()) {
            return Err(evidence(
                MisbehaviourKind::Fork,
                format!(
                    "fork: the checkpoint of {} entries does not extend the checkpoint of {old} entries \
                     verified before: the new entries do not lead to its root and its tiles prove no \
                     consistency{detail}",
                    tree.size
                ),
            ));
        }
        return Err(evidence(
            MisbehaviourKind::BadBundle,
            format!(
                "the entries served do not hash to the checkpoint's root (a bad entry bundle){detail}"
            ),
        ));
    }
    if let Some(k) = prefix_mismatch {
        return Err(evidence(
            MisbehaviourKind::BadBundle,
            format!(
                "entry bundle {k} no longer holds the entries audited before (below index {old})"
            ),
        ));
    }
    if let Some(f) = finding {
        return Err(misbehaviour(Misbehaviour {
            kind: f.kind,
            message: format!(
                "entry {} {}: {} (the checkpoint commits to it)",
                f.index,
                match f.kind {
                    MisbehaviourKind::StateRule => "breaks a rule of state",
                    _ => "is not a valid entry",
                },
                f.reason
            ),
            index: Some(f.index),
            entry: Some(f.bytes),
            saved_checkpoint: saved_text,
            served_checkpoint: Some(served_text),
        }));
    }
    if let Some((index, problem)) = tile_mismatch {
        return Err(evidence(
            MisbehaviourKind::BadTile,
            format!("level-0 hash tile for entry {index} is wrong: {problem}"),
        ));
    }
    tiles_checked += check_upper_tiles(
        client,
        worker_count(options),
        old,
        tree.size,
        &saved_edge,
        &upper,
    )
    .map_err(|e| match e {
        TileCheck::Fetch(e) => with_checkpoints(e),
        TileCheck::Bad(message) => evidence(MisbehaviourKind::BadTile, message),
    })?;

    let mut letters: Vec<LetterReport> = state
        .letters()
        .iter()
        .map(|(id, l)| {
            let tally = state.tally(id);
            LetterReport {
                id: *id,
                slug: l.slug.to_string(),
                index: l.index,
                active: tally.shown,
                withdrawn: tally.withdrawn,
                hidden: tally.hidden,
            }
        })
        .collect();
    letters.sort_by_key(|l| l.index);
    let hides = state
        .hides()
        .into_iter()
        .map(|(letter, _, r)| HideReport {
            index: r.latest_index,
            target: r.target,
            letter,
            reason: r.reason.to_string(),
            note: r.note.clone(),
            moderator: state
                .moderator_key(&r.moderator)
                .map_or_else(String::new, ToString::to_string),
            time: r.last_time.to_string(),
        })
        .collect();
    let report = AuditReport {
        origin: tree.origin.clone(),
        previous_size: old,
        size: tree.size,
        root: tree.root,
        checkpoint: served_text,
        entries_verified: tree.size - old,
        tiles_checked,
        letters,
        hides,
        requests: client.requests(),
        bytes: client.bytes(),
        keys_decoded,
        keys_held,
    };
    Ok((
        report,
        SavedState {
            checkpoint: served,
            edge,
            state,
        },
    ))
}

pub(crate) fn misbehaviour(m: Misbehaviour) -> Error {
    Error::Misbehaviour(Box::new(m))
}

/// The first bad entry found while replaying.
struct Finding {
    kind: MisbehaviourKind,
    index: u64,
    reason: String,
    bytes: Vec<u8>,
}

struct Run<'a> {
    client: &'a Client,
    tree: &'a Checkpoint,
    old: u64,
    saved_edge: CompactRange,
    edge: CompactRange,
    state: LogState,
    /// Hashes of complete subtrees at tile levels 1 and up, by (tile level, index).
    upper: HashMap<(u8, u64), Hash>,
    finding: Option<Finding>,
    tile_mismatch: Option<(u64, String)>,
    prefix_mismatch: Option<u64>,
    tiles_checked: u64,
    keys_decoded: u64,
    keys_held: u64,
    observe: &'a mut dyn FnMut(u64, &Entry, &LogState),
}

impl Run<'_> {
    fn entries(
        &mut self,
        options: AuditOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), Error> {
        let downloaders = worker_count(options);
        let plan = pipeline::Plan {
            size: self.tree.size,
            old: self.old,
            downloaders,
            verifiers: verifier_count(),
            // Bundles downloaded ahead of the one being replayed, bounding memory.
            window: 4 * downloaders as u64,
        };
        let hash_only = AtomicBool::new(false);
        let total = self.tree.size - self.old;
        let keys = KeyCache::new(match options.key_cache {
            0 => keycache::DEFAULT_BOUND,
            n => n,
        });
        let mut done = 0;
        progress(0, total);
        let result = pipeline::run(self.client, &plan, &keys, &hash_only, &mut |k, bundle| {
            done += self.replay(k, bundle, &hash_only);
            progress(done, total);
        });
        (self.keys_decoded, self.keys_held) = keys.counts();
        result
    }

    /// Replays one bundle in log order; returns the number of new entries.
    fn replay(&mut self, k: u64, bundle: Bundle, hash_only: &AtomicBool) -> u64 {
        let start = k * TILE_WIDTH;
        let skip = self.old.saturating_sub(start) as usize;
        if skip > 0 && !edge_agrees(&self.saved_edge, 0, k, &bundle.leaves[..skip]) {
            self.prefix_mismatch = Some(k);
        }
        if self.tile_mismatch.is_none() {
            self.tile_mismatch = bundle.tile_mismatch;
        }
        let upper = &mut self.upper;
        let mut entries = bundle.entries.into_iter();
        for (i, leaf) in bundle.leaves.iter().enumerate().skip(skip) {
            let index = start + i as u64;
            self.edge.append(*leaf, |s, h| {
                if s.level >= tiles::TILE_HEIGHT && s.level % tiles::TILE_HEIGHT == 0 {
                    upper.insert((s.level / tiles::TILE_HEIGHT, s.index), *h);
                }
            });
            if self.finding.is_some() {
                continue;
            }
            let found = match entries.next() {
                None => None,
                Some(Err((e, bytes))) => Some(Finding {
                    kind: MisbehaviourKind::InvalidEntry,
                    index,
                    reason: e.to_string(),
                    bytes,
                }),
                Some(Ok(entry)) => match self.state.apply(&entry) {
                    Ok(()) => {
                        (self.observe)(index, &entry, &self.state);
                        None
                    }
                    Err(e) => Some(Finding {
                        kind: MisbehaviourKind::StateRule,
                        index,
                        reason: e.to_string(),
                        bytes: entry.bytes().to_vec(),
                    }),
                },
            };
            if found.is_some() {
                // The state is meaningless past a bad entry: keep hashing, to tie the
                // entry to the checkpoint, but stop verifying.
                hash_only.store(true, Ordering::Relaxed);
                self.finding = found;
            }
        }
        self.tiles_checked += 1;
        (bundle.leaves.len() - skip) as u64
    }
}

fn worker_count(options: AuditOptions) -> usize {
    if options.threads > 0 {
        return options.threads;
    }
    (2 * cores()).clamp(2, 32)
}

/// One verifier per core: verification is pure CPU work.
fn verifier_count() -> usize {
    cores().clamp(1, 64)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The width of tile `index` in a tree whose level holds `count` hashes (or entries).
pub(crate) fn width_at(index: u64, count: u64) -> u16 {
    // At most TILE_WIDTH (256), so the conversion cannot fail.
    (count - index * TILE_WIDTH).min(TILE_WIDTH) as u16
}

/// A served tile cut to `width`: a full tile may stand in for a partial one.
pub(crate) fn hashes_of(data: &[u8], width: u16) -> Option<Vec<Hash>> {
    let want = usize::from(width) * 32;
    if data.len() != want && data.len() != TILE_WIDTH as usize * 32 {
        return None;
    }
    tiles::parse_hash_tile(&data[..want], width).ok()
}

/// Reads a tile or entry bundle that the checkpoint of `size` entries covers. A log that
/// cannot serve what it signed is misbehaving, so a 404 (after the fallback from a
/// partial to the full tile) or an answer larger than any tile is evidence, not an
/// obstacle; a transport failure or a 5xx (after the client's retries) stays an obstacle.
pub(crate) fn covered_tile(client: &Client, tile: TileId, size: u64) -> Result<Vec<u8>, Error> {
    let what = match tile.level {
        TileLevel::Entries => "entry bundle",
        TileLevel::Hashes(_) => "hash tile",
    };
    client.tile(tile).map_err(|e| match e {
        Error::Status {
            url, status: 404, ..
        } => misbehaviour(Misbehaviour {
            kind: MisbehaviourKind::MissingTile,
            message: format!(
                "the log does not serve {what} {} ({url} answered HTTP 404), \
                 though its checkpoint of {size} entries covers it",
                tile.path()
            ),
            index: None,
            entry: None,
            saved_checkpoint: None,
            served_checkpoint: None,
        }),
        Error::TooLarge { url, limit } => misbehaviour(Misbehaviour {
            kind: match tile.level {
                TileLevel::Entries => MisbehaviourKind::BadBundle,
                TileLevel::Hashes(_) => MisbehaviourKind::BadTile,
            },
            message: format!(
                "{what} {} is larger than any {what} can be ({url} sent more than {limit} bytes)",
                tile.path()
            ),
            index: None,
            entry: None,
            saved_checkpoint: None,
            served_checkpoint: None,
        }),
        e => e,
    })
}

/// Checks the first hashes of tile `index` at tile level `level` (hashes of tree level
/// `8 * level`) against the subtrees of the saved edge that lie in that tile. Together
/// those subtrees cover exactly the part of the tile that the old tree already had.
fn edge_agrees(edge: &CompactRange, level: u8, index: u64, hashes: &[Hash]) -> bool {
    let low = level * tiles::TILE_HEIGHT;
    let high = low + tiles::TILE_HEIGHT;
    for (s, h) in CompactRange::subtrees_of(edge.size())
        .iter()
        .zip(edge.hashes())
    {
        if s.level < low || s.level >= high {
            continue;
        }
        let shift = s.level - low;
        let Some(local) = (s.index << shift).checked_sub(index * TILE_WIDTH) else {
            return false;
        };
        let (Ok(from), Ok(len)) = (usize::try_from(local), usize::try_from(1u64 << shift)) else {
            return false;
        };
        match hashes.get(from..from + len) {
            Some(run) if merkle::root_of(run) == *h => {}
            _ => return false,
        }
    }
    true
}

/// The hash tiles above level 0 that hold hashes of new entries in a tree of `size`
/// entries, given the `old` size already audited.
fn upper_tiles(old: u64, size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    for level in 1..=7u8 {
        let shift = u32::from(level * tiles::TILE_HEIGHT);
        let (count, count_old) = (size >> shift, old >> shift);
        if count == count_old {
            // No new hash at this level, so none above it either.
            break;
        }
        for k in count_old / TILE_WIDTH..=(count - 1) / TILE_WIDTH {
            out.push(TileId {
                level: TileLevel::Hashes(level),
                index: k,
                width: width_at(k, count),
            });
        }
    }
    out
}

enum TileCheck {
    Fetch(Error),
    Bad(String),
}

/// Downloads the hash tiles above level 0 that cover new entries (in parallel) and
/// checks each hash: old positions against the saved edge, new ones against the subtree
/// hashes computed from the entries. Returns the number of tiles checked.
fn check_upper_tiles(
    client: &Client,
    threads: usize,
    old: u64,
    size: u64,
    saved_edge: &CompactRange,
    upper: &HashMap<(u8, u64), Hash>,
) -> Result<u64, TileCheck> {
    let ids = upper_tiles(old, size);
    let fetched = parallel_map(&ids, threads, |id| covered_tile(client, *id, size));
    for (id, data) in ids.iter().zip(fetched) {
        let data = data.map_err(TileCheck::Fetch)?;
        let TileLevel::Hashes(level) = id.level else {
            continue;
        };
        let hashes = hashes_of(&data, id.width).ok_or_else(|| {
            TileCheck::Bad(format!(
                "hash tile {} has {} bytes, expected {}",
                id.path(),
                data.len(),
                usize::from(id.width) * 32
            ))
        })?;
        let count_old = old >> u32::from(level * tiles::TILE_HEIGHT);
        let before = count_old
            .saturating_sub(id.index * TILE_WIDTH)
            .min(u64::from(id.width)) as usize;
        if before > 0 && !edge_agrees(saved_edge, level, id.index, &hashes[..before]) {
            return Err(TileCheck::Bad(format!(
                "hash tile {} no longer matches the tree verified before (its first {before} hashes)",
                id.path()
            )));
        }
        for (p, h) in hashes.iter().enumerate().skip(before) {
            let g = id.index * TILE_WIDTH + p as u64;
            if upper.get(&(level, g)) != Some(h) {
                return Err(TileCheck::Bad(format!(
                    "hash tile {} is wrong at position {p}: it differs from the hash computed from the entries",
                    id.path()
                )));
            }
        }
    }
    Ok(ids.len() as u64)
}

/// Whether the tree's own hash tiles prove it consistent with the old root: used only to
/// tell a fork from bad entry bundles once the new entries failed to reach the root.
fn tiles_prove_consistency(client: &Client, old: u64, tree: &Checkpoint, old_root: &Hash) -> bool {
    let prove = || -> Result<bool, Error> {
        let plan =
            merkle::consistency_plan(old, tree.size).map_err(|e| Error::verification("plan", e))?;
        let mut cache: HashMap<TileId, Vec<Hash>> = HashMap::new();
        let mut hashes = HashMap::new();
        for s in plan.subtrees() {
            let (tile, range) =
                tiles::locate_subtree(s, tree.size).map_err(|e| Error::verification("tile", e))?;
            let tile_hashes = match cache.entry(tile) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let data = client.tile(tile)?;
                    let Some(h) = hashes_of(&data, tile.width) else {
                        return Ok(false);
                    };
                    v.insert(h)
                }
            };
            let Ok(h) = tiles::subtree_hash(tile_hashes, range) else {
                return Ok(false);
            };
            hashes.insert(s, h);
        }
        let Ok(proof) = plan.assemble(|s| hashes.get(&s).copied()) else {
            return Ok(false);
        };
        Ok(merkle::verify_consistency(old, tree.size, old_root, &tree.root, &proof).is_ok())
    };
    prove().unwrap_or(false)
}

/// Runs `f` over `items` on up to `threads` scoped threads, keeping the order.
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    let r = f(item);
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .map(|v| v.into_iter().flatten().collect())
        .unwrap_or_default()
}
