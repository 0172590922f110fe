//! Reading the stored tree: tiles as of a tree size, subtree hashes, proofs and entries,
//! with bounded caches so that proofs rarely touch the disk.

use std::cell::Cell;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use lru::LruCache;
use signet_core::merkle::{self, CompactRange, ProofPlan, Subtree};
use signet_core::tiles::{self, TILE_HEIGHT, TILE_WIDTH, TileLevel};
use signet_core::{Hash, SignedCheckpoint, TileId, VerifierKey};

use crate::{Error, Storage};

/// Whether the reads on this thread may touch storage (see [`cached`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Reads go to storage on a cache miss (the default).
    Open,
    /// Reads answer from the caches only; a miss fails the read.
    CacheOnly,
    /// A cache-only read missed: its answer is to be thrown away.
    Missed,
}

thread_local! {
    static GATE: Cell<Gate> = const { Cell::new(Gate::Open) };
}

/// Runs `f` with every read answered from the caches of already checked tiles, never
/// from storage. Returns `None` when `f` needed storage: its answer is then unfinished
/// and the caller must run it again where blocking is allowed.
///
/// This is what lets a server answer a proof on an async worker when the tiles it needs
/// are cached (almost always) and hand the read to a blocking thread only on a miss.
pub(crate) fn cached<R>(f: impl FnOnce() -> R) -> Option<R> {
    /// Reopens the gate however `f` ends, a panic included.
    struct Reopen;
    impl Drop for Reopen {
        fn drop(&mut self) {
            GATE.with(|g| g.set(Gate::Open));
        }
    }
    if GATE.with(Cell::get) != Gate::Open {
        // Already inside a cache-only read: the outer one decides.
        return Some(f());
    }
    GATE.with(|g| g.set(Gate::CacheOnly));
    let reopen = Reopen;
    let answer = f();
    let missed = GATE.with(Cell::get) == Gate::Missed;
    drop(reopen);
    (!missed).then_some(answer)
}

/// Fails a storage read inside [`cached`], marking the read as missed.
fn storage_allowed() -> Result<(), Error> {
    GATE.with(|g| match g.get() {
        Gate::Open => Ok(()),
        Gate::CacheOnly | Gate::Missed => {
            g.set(Gate::Missed);
            Err(Error::Unavailable {
                reason: "not cached (a cache-only read, retried off the async workers)".into(),
            })
        }
    })
}

/// A hash tile with every complete internal node above its hashes, so that the hash of
/// any aligned run (a subtree whose hash lives in this tile) is a lookup, not up to 127
/// SHA-256 computations.
#[derive(Debug)]
pub(crate) struct TileNodes {
    /// `levels[0]` holds the tile's hashes; `levels[k][i]` is the root of the hashes
    /// `i << k .. (i + 1) << k`, for every such run that is complete.
    levels: Vec<Vec<Hash>>,
}

impl TileNodes {
    pub(crate) fn new(hashes: Vec<Hash>) -> TileNodes {
        let mut levels = vec![hashes];
        while let Some(last) = levels.last().filter(|l| l.len() >= 2) {
            let next: Vec<Hash> = last
                .chunks_exact(2)
                .map(|p| Hash::node(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        TileNodes { levels }
    }

    pub(crate) fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// The root of a full tile's 256 hashes (`None` for a partial tile).
    fn full_root(&self) -> Option<Hash> {
        if self.levels.first().map(Vec::len) != Some(TILE_WIDTH as usize) {
            return None;
        }
        self.levels.last().and_then(|l| l.first()).copied()
    }

    fn upper(&self) -> Upper {
        let from = UPPER_FROM.trailing_zeros() as usize;
        Upper {
            runs: self.levels.get(from).cloned().unwrap_or_default().into(),
        }
    }

    /// The root of an aligned run of a power-of-two length, as [`tiles::locate_subtree`]
    /// returns it.
    fn run(&self, range: Range<usize>) -> Option<Hash> {
        let len = range.end.checked_sub(range.start)?;
        if !len.is_power_of_two() || !range.start.is_multiple_of(len) {
            return None;
        }
        let k = len.trailing_zeros() as usize;
        self.levels.get(k)?.get(range.start >> k).copied()
    }
}

/// The roots of a tile's complete runs of [`UPPER_FROM`] hashes: 512 bytes for a full
/// tile, so that they can be kept for every tile of a large log (65,536 tiles, 16.7M
/// entries, in about 40 MiB at the default `--tile-cache`) while only the hot tiles keep
/// all their nodes. A longer run is folded from them: at most 15 hashes. Only tiles read
/// back are kept so: a tile the writer has just written stays among the hot ones for the
/// answers' proofs, and a growing log does not fill the cache with tiles no proof may
/// ever ask for.
#[derive(Debug)]
pub(crate) struct Upper {
    runs: Box<[Hash]>,
}

/// Runs shorter than this are hashed from the tile itself (at most 15 hashes); longer
/// ones come from [`Upper`].
const UPPER_FROM: usize = 16;

/// How many more tiles keep their [`Upper`] runs than keep all their nodes.
const UPPER_PER_TILE: usize = 256;

impl Upper {
    fn run(&self, range: Range<usize>) -> Option<Hash> {
        let len = range.end.checked_sub(range.start)?;
        if !len.is_power_of_two() || len < UPPER_FROM || !range.start.is_multiple_of(len) {
            return None;
        }
        fold_run(&self.runs, range.start / UPPER_FROM..range.end / UPPER_FROM)
    }
}

/// The root of an aligned power-of-two run of `hashes`, computed directly.
fn fold_run(hashes: &[Hash], range: Range<usize>) -> Option<Hash> {
    let run = hashes.get(range.clone())?;
    let len = run.len();
    if !len.is_power_of_two() || !range.start.is_multiple_of(len) {
        return None;
    }
    fold(run)
}

/// The root of a power-of-two run, halves first: no allocation, on a proof's path.
fn fold(run: &[Hash]) -> Option<Hash> {
    match run {
        [] => None,
        [one] => Some(*one),
        _ => {
            let (left, right) = run.split_at(run.len() / 2);
            Some(Hash::node(&fold(left)?, &fold(right)?))
        }
    }
}

/// One entry bundle, checked: the bytes of its file, and where each entry lies in them.
///
/// The bytes are kept whole, so that serving the bundle (or a prefix of it, which is a
/// prefix of the bytes) copies nothing: a bundle is about 85 KB.
#[derive(Debug)]
pub(crate) struct Bundle {
    data: Bytes,
    /// Each entry's byte range in `data`, after its two-byte length prefix.
    spans: Vec<Range<usize>>,
}

impl Bundle {
    /// Splits a bundle's bytes (see [`tiles::bundle_spans`]).
    fn parse(data: Bytes) -> Result<Bundle, signet_core::Error> {
        let spans = tiles::bundle_spans(&data)?;
        Ok(Bundle { data, spans })
    }

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Its entries, in order.
    pub(crate) fn entries(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.spans.iter().map(|s| &self.data[s.clone()])
    }

    /// Its `i`th entry.
    pub(crate) fn entry(&self, i: usize) -> Option<&[u8]> {
        self.spans.get(i).map(|s| &self.data[s.clone()])
    }

    /// The bundle of its first `n` entries, as served: a prefix of its bytes, shared
    /// rather than copied. `None` when it holds fewer than `n`.
    fn prefix(&self, n: usize) -> Option<Bytes> {
        match n.checked_sub(1) {
            None => Some(Bytes::new()),
            Some(last) => self.spans.get(last).map(|s| self.data.slice(..s.end)),
        }
    }
}

/// Reads the tree through the [`Storage`], caching parsed tiles.
///
/// Every read goes through the version of a tile that the *current* tree holds (the
/// tile as of the latest durable checkpoint) and uses a prefix of it when an older tree
/// size is asked for. The current version was written by the batch that committed it,
/// whereas an older partial file may be a leftover of a batch that failed before its
/// checkpoint, or may have been deleted once its full tile was written.
///
/// Nothing read from storage is used before it is checked against the signed
/// checkpoint (see docs/protocol.md, *Nothing is served that does not hash to the
/// signed root*): the partial tiles of the right edge together reproduce the root of the
/// current checkpoint; a full tile's root is the hash its parent tile holds for it, the
/// parent being checked first; an entry bundle's leaves are the hashes of its level-0
/// tile. A tile is checked once and then cached; only checked tiles are cached. A
/// mismatch is [`Error::CorruptStorage`], counted, logged with the file's name, and
/// remembered for [`TreeReader::corruption`].
#[derive(Debug)]
pub(crate) struct TreeReader {
    storage: Arc<dyn Storage>,
    log_key: VerifierKey,
    hash_tiles: Mutex<LruCache<TileId, Arc<TileNodes>>>,
    upper: Mutex<LruCache<TileId, Arc<Upper>>>,
    bundles: Mutex<LruCache<TileId, Arc<Bundle>>>,
    /// Roots of signed checkpoints read from storage, by tree size.
    roots: Mutex<LruCache<u64, Hash>>,
    /// The first corrupt file found, with what is wrong with it.
    corrupt: Mutex<Option<String>>,
    corrupt_reads: AtomicU64,
}

impl TreeReader {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        log_key: VerifierKey,
        hash_tiles: usize,
        bundles: usize,
    ) -> TreeReader {
        let cap = |n: usize| NonZeroUsize::new(n.max(1)).unwrap_or(NonZeroUsize::MIN);
        TreeReader {
            storage,
            log_key,
            hash_tiles: Mutex::new(LruCache::new(cap(hash_tiles))),
            upper: Mutex::new(LruCache::new(
                cap(hash_tiles.saturating_mul(UPPER_PER_TILE)),
            )),
            bundles: Mutex::new(LruCache::new(cap(bundles))),
            roots: Mutex::new(LruCache::new(cap(64))),
            corrupt: Mutex::new(None),
            corrupt_reads: AtomicU64::new(0),
        }
    }

    /// The first corrupt file found since the log opened, and what is wrong with it.
    pub(crate) fn corruption(&self) -> Option<String> {
        self.corrupt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many reads found stored data that does not hash to the signed checkpoint.
    pub(crate) fn corrupt_reads(&self) -> u64 {
        self.corrupt_reads.load(Ordering::Relaxed)
    }

    /// Records corrupt storage and returns its error.
    fn found_corrupt(&self, file: String, reason: String) -> Error {
        self.corrupt_reads.fetch_add(1, Ordering::Relaxed);
        tracing::error!(
            file = %file,
            reason = %reason,
            "corrupt storage: stored data does not hash to the signed checkpoint; nothing is \
             served from it"
        );
        self.corrupt
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(|| format!("{file} {reason}"));
        Error::CorruptStorage { file, reason }
    }

    /// The root of the signed checkpoint of `size`, as read from storage and verified
    /// with the log's key.
    fn trusted_root(&self, size: u64) -> Result<Hash, Error> {
        if size == 0 {
            return Ok(Hash::EMPTY_ROOT);
        }
        if let Some(root) = self
            .roots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&size)
        {
            return Ok(*root);
        }
        let stale = |why: String| Error::BadTile {
            tile: "checkpoint".into(),
            reason: why,
        };
        storage_allowed()?;
        let bytes = self
            .storage
            .read_checkpoint()?
            .ok_or_else(|| stale("the checkpoint is missing".into()))?;
        let signed = SignedCheckpoint::parse(&bytes)
            .map_err(|e| stale(format!("the checkpoint does not parse: {e}")))?;
        let checkpoint = signed
            .verify(&self.log_key)
            .map_err(|e| stale(format!("the checkpoint is not signed by this log: {e}")))?;
        self.roots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(checkpoint.size, checkpoint.root);
        if checkpoint.size != size {
            return Err(stale(format!(
                "the stored checkpoint has size {}, not {size}",
                checkpoint.size
            )));
        }
        Ok(checkpoint.root)
    }

    /// Reads, checks and caches the partial tiles of the right edge of the tree of
    /// `size`: together they must reproduce the signed root of that size. Returns them.
    fn check_edge(&self, size: u64) -> Result<Vec<(TileId, Arc<TileNodes>)>, Error> {
        let root = self.trusted_root(size)?;
        let mut edge = Vec::new();
        // A tree size of 64 bits has at most 8 levels of tiles.
        for level in 0u8..8 {
            let shift = u32::from(level) * u32::from(TILE_HEIGHT);
            let count = if shift >= 64 { 0 } else { size >> shift };
            if count == 0 {
                break;
            }
            if count % TILE_WIDTH == 0 {
                continue;
            }
            let tile = Self::current(TileLevel::Hashes(level), count / TILE_WIDTH, size)?;
            let data = self.read(tile)?;
            let hashes = tiles::parse_hash_tile(&data, tile.width)
                .map_err(|e| self.found_corrupt(tile.path(), format!("does not parse: {e}")))?;
            edge.push((tile, Arc::new(TileNodes::new(hashes))));
        }
        let mut hashes = Vec::new();
        for st in CompactRange::subtrees_of(size) {
            let (tile, range) = tiles::locate_subtree(st, size)?;
            let hash = edge
                .iter()
                .find(|(t, _)| *t == tile)
                .and_then(|(_, nodes)| nodes.run(range.clone()));
            match hash {
                Some(h) => hashes.push(h),
                // A complete subtree of the compact range always lies in a partial tile.
                None => return Err(corrupt(tile, format!("no complete run {range:?}"))),
            }
        }
        // `Hash`'s equality is constant-time.
        if CompactRange::from_parts(size, hashes)?.root() != root {
            let files: Vec<String> = edge.iter().map(|(t, _)| t.path()).collect();
            return Err(self.found_corrupt(
                files.join(", "),
                format!("do not hash to the root of the signed checkpoint of size {size}"),
            ));
        }
        for (tile, nodes) in &edge {
            self.keep_checked(*tile, nodes.clone());
        }
        Ok(edge)
    }

    /// Checks a full tile read from storage against the hash its parent tile (checked
    /// first) holds for it.
    fn check_full(&self, tile: TileId, nodes: &TileNodes, current_size: u64) -> Result<(), Error> {
        let TileLevel::Hashes(level) = tile.level else {
            return Err(corrupt(tile, "an entry bundle checked as a hash tile"));
        };
        let got = nodes
            .full_root()
            .ok_or_else(|| corrupt(tile, "a partial tile checked as a full one"))?;
        let parent = Subtree {
            level: (level + 1) * TILE_HEIGHT,
            index: tile.index,
        };
        let want = self.subtree_hash(parent, current_size, current_size)?;
        // `Hash`'s equality is constant-time.
        if got != want {
            let (parent_tile, _) = tiles::locate_subtree(parent, current_size)?;
            return Err(self.found_corrupt(
                tile.path(),
                format!(
                    "does not hash to the entry {} of {} for it, which leads to the signed \
                     checkpoint",
                    tile.index % TILE_WIDTH,
                    parent_tile.path()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Forgets every cached tile (after a failed batch, before state is reloaded).
    pub(crate) fn clear(&self) {
        self.hash_tiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.upper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.bundles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Drops a tile from the cache (a partial tile a committed batch has replaced).
    pub(crate) fn forget_hash_tile(&self, tile: TileId) {
        self.upper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop(&tile);
        self.hash_tiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop(&tile);
    }

    /// Remembers the root of a checkpoint the writer made durable and published, so that
    /// tiles read for that tree (a proof against a head that is no longer the newest) are
    /// checked against it, not against whatever checkpoint storage holds by then.
    pub(crate) fn remember_root(&self, size: u64, root: Hash) {
        self.roots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(size, root);
    }

    /// Puts a tile that a committed batch wrote into the cache, with all its nodes only:
    /// its [`Upper`] runs are kept once a proof reads it back (see [`Upper`]).
    pub(crate) fn insert_hash_tile(&self, tile: TileId, nodes: Arc<TileNodes>) {
        self.hash_tiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(tile, nodes);
    }

    /// Caches a tile read from storage and checked: all its nodes, and its [`Upper`]
    /// runs for when the nodes have been pushed out.
    fn keep_checked(&self, tile: TileId, nodes: Arc<TileNodes>) {
        self.upper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(tile, Arc::new(nodes.upper()));
        self.insert_hash_tile(tile, nodes);
    }

    /// The current version (as of `current_size`) of the tile at `level`, `index`.
    fn current(level: TileLevel, index: u64, current_size: u64) -> Result<TileId, Error> {
        TileId::in_tree(level, index, current_size).ok_or_else(|| {
            Error::Entry(signet_core::Error::OutOfRange(format!(
                "no tile {level:?}/{index} in a tree of {current_size}"
            )))
        })
    }

    /// The hash tile at `level`, `index` as the tree of `current_size` holds it.
    pub(crate) fn hash_tile(
        &self,
        level: u8,
        index: u64,
        current_size: u64,
    ) -> Result<Arc<TileNodes>, Error> {
        let tile = Self::current(TileLevel::Hashes(level), index, current_size)?;
        if let Some(t) = self
            .hash_tiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tile)
        {
            return Ok(t.clone());
        }
        if u64::from(tile.width) < TILE_WIDTH {
            return self
                .check_edge(current_size)?
                .into_iter()
                .find(|(t, _)| *t == tile)
                .map(|(_, nodes)| nodes)
                .ok_or_else(|| corrupt(tile, "not on the right edge of the tree"));
        }
        let data = self.read(tile)?;
        let hashes = tiles::parse_hash_tile(&data, tile.width)
            .map_err(|e| self.found_corrupt(tile.path(), format!("does not parse: {e}")))?;
        let nodes = Arc::new(TileNodes::new(hashes));
        self.check_full(tile, &nodes, current_size)?;
        self.keep_checked(tile, nodes.clone());
        Ok(nodes)
    }

    /// The entry bundle at `index` as the tree of `current_size` holds it.
    pub(crate) fn bundle(&self, index: u64, current_size: u64) -> Result<Arc<Bundle>, Error> {
        let tile = Self::current(TileLevel::Entries, index, current_size)?;
        if let Some(b) = self
            .bundles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&tile)
        {
            return Ok(b.clone());
        }
        let data = Bytes::from(self.read(tile)?);
        let bundle = Bundle::parse(data)
            .map_err(|e| self.found_corrupt(tile.path(), format!("does not parse: {e}")))?;
        if bundle.len() != usize::from(tile.width) {
            return Err(self.found_corrupt(
                tile.path(),
                format!("holds {} entries instead of {}", bundle.len(), tile.width),
            ));
        }
        let leaves = self.hash_tile(0, index, current_size)?;
        for (i, (entry, leaf)) in bundle.entries().zip(leaves.hashes()).enumerate() {
            // `Hash`'s equality is constant-time.
            if Hash::leaf(entry) != *leaf {
                return Err(self.found_corrupt(
                    tile.path(),
                    format!(
                        "holds entry {} that does not hash to its leaf in {}",
                        index * TILE_WIDTH + i as u64,
                        TileId {
                            level: TileLevel::Hashes(0),
                            ..tile
                        }
                        .path()
                    ),
                ));
            }
        }
        let bundle = Arc::new(bundle);
        self.bundles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(tile, bundle.clone());
        Ok(bundle)
    }

    fn read(&self, tile: TileId) -> Result<Vec<u8>, Error> {
        storage_allowed()?;
        self.storage
            .read_tile(tile)?
            .ok_or_else(|| corrupt(tile, "missing"))
    }

    /// The bytes to serve for `tile` (already checked to be covered by the tree of
    /// `current_size`): a prefix of the current version of that tile.
    pub(crate) fn tile_bytes(&self, tile: TileId, current_size: u64) -> Result<Bytes, Error> {
        let current = Self::current(tile.level, tile.index, current_size)?;
        if current.width < tile.width {
            return Err(Error::Entry(signet_core::Error::OutOfRange(
                "tile not covered".into(),
            )));
        }
        match tile.level {
            TileLevel::Hashes(level) => {
                let nodes = self.hash_tile(level, tile.index, current_size)?;
                let mut out = Vec::with_capacity(usize::from(tile.width) * 32);
                for h in &nodes.hashes()[..usize::from(tile.width)] {
                    out.extend_from_slice(&h.0);
                }
                Ok(Bytes::from(out))
            }
            TileLevel::Entries => self
                .bundle(tile.index, current_size)?
                .prefix(usize::from(tile.width))
                .ok_or_else(|| corrupt(tile, "too few entries")),
        }
    }

    /// The entry at `index` of a tree of `current_size`.
    pub(crate) fn entry(&self, index: u64, current_size: u64) -> Result<Vec<u8>, Error> {
        if index >= current_size {
            return Err(Error::Entry(signet_core::Error::OutOfRange(format!(
                "index {index} is not below the tree size {current_size}"
            ))));
        }
        let bundle = self.bundle(index / tiles::TILE_WIDTH, current_size)?;
        let i = (index % tiles::TILE_WIDTH) as usize;
        bundle
            .entry(i)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| Error::BadTile {
                tile: format!("entries/{}", index / tiles::TILE_WIDTH),
                reason: "too few entries".into(),
            })
    }

    /// The hash of a complete subtree of the tree of `size` (at most `current_size`).
    pub(crate) fn subtree_hash(
        &self,
        subtree: Subtree,
        size: u64,
        current_size: u64,
    ) -> Result<Hash, Error> {
        self.subtree_hash_with(subtree, size, current_size, &mut Vec::new())
    }

    /// [`TreeReader::subtree_hash`], reading each uncached tile at most once per `scratch`.
    ///
    /// A tile whose nodes are all cached answers at once. Otherwise a run of 16 hashes
    /// or more comes from the tile's cached upper levels (or, the first time, from all
    /// its nodes, which are then cached), and a shorter run is hashed from the tile's
    /// bytes: at most 15 hashes, instead of the 255 it takes to rebuild a whole tile.
    fn subtree_hash_with(
        &self,
        subtree: Subtree,
        size: u64,
        current_size: u64,
        scratch: &mut Vec<(TileId, Arc<Vec<Hash>>)>,
    ) -> Result<Hash, Error> {
        let (tile, range) = tiles::locate_subtree(subtree, size)?;
        let TileLevel::Hashes(level) = tile.level else {
            return Err(corrupt(tile, "a subtree located in an entry bundle"));
        };
        let current = Self::current(tile.level, tile.index, current_size)?;
        let missing = || corrupt(tile, format!("no complete run {range:?}"));
        let cached = self
            .hash_tiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&current)
            .cloned();
        if let Some(nodes) = cached {
            return nodes.run(range.clone()).ok_or_else(missing);
        }
        let upper = self
            .upper
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&current)
            .cloned();
        if let Some(upper) = upper {
            if range.len() >= UPPER_FROM {
                return upper.run(range.clone()).ok_or_else(missing);
            }
            // The tile was checked before, and its upper levels kept: the aligned run of
            // 16 hashes around `range`, read again, must still hash to the kept node.
            let start = range.start - range.start % UPPER_FROM;
            let block = start..start + UPPER_FROM;
            if let Some(want) = upper.run(block.clone()) {
                let hashes = match scratch.iter().find(|(t, _)| *t == current) {
                    Some((_, h)) => h.clone(),
                    None => {
                        let data = self.read(current)?;
                        let hashes = Arc::new(
                            tiles::parse_hash_tile(&data, current.width).map_err(|e| {
                                self.found_corrupt(current.path(), format!("does not parse: {e}"))
                            })?,
                        );
                        scratch.push((current, hashes.clone()));
                        hashes
                    }
                };
                // `Hash`'s equality is constant-time.
                if fold_run(&hashes, block.clone()) != Some(want) {
                    return Err(self.found_corrupt(
                        current.path(),
                        format!("changed after it was checked (hashes {block:?})"),
                    ));
                }
                return fold_run(&hashes, range.clone()).ok_or_else(missing);
            }
        }
        let nodes = self.hash_tile(level, tile.index, current_size)?;
        nodes.run(range.clone()).ok_or_else(missing)
    }

    /// Fills a proof plan from the stored tiles.
    pub(crate) fn assemble(
        &self,
        plan: &ProofPlan,
        size: u64,
        current_size: u64,
    ) -> Result<Vec<Hash>, Error> {
        let mut known = Vec::new();
        let mut scratch = Vec::new();
        for st in plan.subtrees() {
            known.push((
                st,
                self.subtree_hash_with(st, size, current_size, &mut scratch)?,
            ));
        }
        Ok(plan.assemble(|st| known.iter().find(|(k, _)| *k == st).map(|(_, h)| *h))?)
    }

    /// The inclusion proof of `index` in the tree of `size`.
    pub(crate) fn inclusion(
        &self,
        index: u64,
        size: u64,
        current_size: u64,
    ) -> Result<Vec<Hash>, Error> {
        check_size(size, current_size)?;
        self.assemble(&merkle::inclusion_plan(index, size)?, size, current_size)
    }

    /// The consistency proof from `old` to `size`.
    pub(crate) fn consistency(
        &self,
        old: u64,
        size: u64,
        current_size: u64,
    ) -> Result<Vec<Hash>, Error> {
        check_size(size, current_size)?;
        self.assemble(&merkle::consistency_plan(old, size)?, size, current_size)
    }

    /// The root of the tree of `size`.
    pub(crate) fn root(&self, size: u64, current_size: u64) -> Result<Hash, Error> {
        check_size(size, current_size)?;
        if size == 0 {
            return Ok(Hash::EMPTY_ROOT);
        }
        let hashes = self.assemble(&merkle::root_plan(size)?, size, current_size)?;
        hashes
            .first()
            .copied()
            .ok_or_else(|| Error::Internal(format!("the root plan of size {size} is empty")))
    }
}

fn check_size(size: u64, current_size: u64) -> Result<(), Error> {
    if size > current_size {
        return Err(Error::Entry(signet_core::Error::OutOfRange(format!(
            "size {size} is beyond the tree size {current_size}"
        ))));
    }
    Ok(())
}

fn corrupt(tile: TileId, why: impl std::fmt::Display) -> Error {
    Error::BadTile {
        tile: tile.path(),
        reason: why.to_string(),
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_serves_its_prefixes_as_they_would_be_written() {
        let entries: [&[u8]; 3] = [b"first entry\n", b"", b"third\n"];
        let mut written = Vec::new();
        for e in entries {
            tiles::push_bundle_entry(&mut written, e).unwrap();
        }
        let bundle = Bundle::parse(Bytes::from(written.clone())).unwrap();
        assert_eq!(bundle.len(), 3);
        assert_eq!(bundle.entries().collect::<Vec<_>>(), entries);
        assert_eq!(bundle.entry(2), Some(&b"third\n"[..]));
        assert_eq!(bundle.entry(3), None);
        for n in 0..=3 {
            let mut want = Vec::new();
            for e in &entries[..n] {
                tiles::push_bundle_entry(&mut want, e).unwrap();
            }
            assert_eq!(
                bundle.prefix(n),
                Some(Bytes::from(want)),
                "prefix of {n} entries"
            );
        }
        assert_eq!(bundle.prefix(4), None, "more entries than it holds");
        // A cut inside an entry is refused, not served short.
        assert!(Bundle::parse(Bytes::from(written[..written.len() - 1].to_vec())).is_err());
    }

    #[test]
    fn tile_nodes_runs() {
        let leaves: Vec<Hash> = (0u8..8).map(|i| Hash::leaf(&[i])).collect();
        let nodes = TileNodes::new(leaves.clone());
        let check = |range: Range<usize>, want: Option<Hash>| {
            assert_eq!(nodes.run(range.clone()), want, "{range:?}")
        };
        check(3..4, Some(leaves[3]));
        check(2..4, Some(Hash::node(&leaves[2], &leaves[3])));
        let left = Hash::node(
            &Hash::node(&leaves[0], &leaves[1]),
            &Hash::node(&leaves[2], &leaves[3]),
        );
        check(0..4, Some(left));
        check(1..3, None);
        check(0..3, None);
        check(8..16, None);
    }

    #[test]
    fn upper_levels_and_direct_folds_agree_with_all_nodes() {
        let leaves: Vec<Hash> = (0u16..256).map(|i| Hash::leaf(&i.to_be_bytes())).collect();
        let nodes = TileNodes::new(leaves.clone());
        let upper = nodes.upper();
        for len in [1usize, 2, 4, 8, 16, 32, 64, 128, 256] {
            for start in (0..256).step_by(len) {
                let range = start..start + len;
                let want = nodes.run(range.clone());
                assert!(want.is_some());
                assert_eq!(fold_run(&leaves, range.clone()), want, "{range:?}");
                let from_upper = upper.run(range.clone());
                assert_eq!(
                    from_upper,
                    if len >= UPPER_FROM { want } else { None },
                    "{range:?}"
                );
            }
        }
        assert_eq!(fold_run(&leaves, 1..3), None);
        assert_eq!(upper.run(8..24), None);
    }

    #[test]
    fn a_partial_tile_keeps_only_its_complete_runs() {
        let leaves: Vec<Hash> = (0u16..40).map(|i| Hash::leaf(&i.to_be_bytes())).collect();
        let nodes = TileNodes::new(leaves.clone());
        let upper = nodes.upper();
        assert_eq!(upper.run(0..16), fold_run(&leaves, 0..16));
        assert_eq!(upper.run(16..32), fold_run(&leaves, 16..32));
        assert_eq!(upper.run(0..32), fold_run(&leaves, 0..32));
        assert!(upper.run(0..32).is_some());
        // Hashes 32..40 are no complete run of 16, and no run of 64 is complete.
        assert_eq!(upper.run(32..48), None);
        assert_eq!(upper.run(0..64), None);
    }
}
