//! The sequencer: one writer thread that integrates batches of submissions.
//!
//! For each batch it decides every entry against the rules of state, assigns indexes,
//! writes the entry bundles and hash tiles (durably), signs and writes the checkpoint
//! (durably: the commit point), publishes it, records the batch in the index, and only
//! then answers the submitters.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use signet_core::edge::Edge;
use signet_core::entry::Slug;
use signet_core::note::Note;
use signet_core::state::{self, Decision, SignerRecord};
use signet_core::tiles::{TILE_HEIGHT, TILE_WIDTH};
use signet_core::{
    Checkpoint, CompactRange, Entry, Hash, LetterId, SignedCheckpoint, SigningKey, Statement,
    TlogProof, VerifierKey,
};
use tokio::sync::oneshot;

use crate::Error;
use crate::index::{Applied, Index};
use crate::metrics::LogMetrics;
use crate::tree::{TileNodes, TreeReader};

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

/// What the writer tells a submitter: where the entry is (or the active entry of a
/// conflict), and the checkpoint that covers it.
#[derive(Debug)]
pub(crate) enum Answer {
    Appended(u64),
    Existing(u64),
    Conflict(u64),
}

pub(crate) type Reply = oneshot::Sender<Result<(Answer, Arc<Head>), Error>>;

/// One submission waiting in the pool.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) entry: Entry,
    pub(crate) reply: Reply,
    /// When it entered the pool: a batch closes one interval after its first arrival.
    pub(crate) arrived: Instant,
}

/// A message to the writer thread.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is a submission; boxing would allocate for each"
)]
pub(crate) enum Msg {
    Submit(Pending),
    /// Integrate what is queued, then stop.
    Stop,
}

/// What the writer decided for one submission.
#[derive(Debug)]
enum Verdict {
    Append(u64),
    Existing(u64),
    Conflict(u64),
    Refused(signet_core::Error),
}

/// The state the writer shares with readers.
#[derive(Debug)]
pub(crate) struct Published {
    pub(crate) head: RwLock<Arc<Head>>,
    pub(crate) reader: TreeReader,
    pub(crate) metrics: LogMetrics,
    /// Set once the writer has given up after a storage failure it could not recover from.
    pub(crate) failed: std::sync::atomic::AtomicBool,
}

impl Published {
    pub(crate) fn head(&self) -> Arc<Head> {
        self.head
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn publish(&self, head: Arc<Head>) {
        *self.head.write().unwrap_or_else(PoisonError::into_inner) = head;
    }
}

/// Registered letters and their slugs, as the writer decides with them.
#[derive(Debug, Default)]
pub(crate) struct Letters {
    ids: HashSet<LetterId>,
    slugs: HashSet<Slug>,
}

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
            corrupt(format!(
                "the tiles under checkpoint {size} are incomplete: {e}"
            ))
        })?);
    }
    let range = CompactRange::from_parts(size, hashes)?;
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
                    .hash_tile(level, count / TILE_WIDTH, size)?
                    .hashes()
                    .to_vec(),
            );
        }
    }
    let mut bundle: Option<Arc<crate::tree::Bundle>> = None;
    if size % TILE_WIDTH > 0 {
        let b = reader.bundle(size / TILE_WIDTH, size)?;
        let level0 = edge_hashes.first().map(Vec::as_slice).unwrap_or_default();
        if b.entries.len() != level0.len()
            || b.entries
                .iter()
                .zip(level0)
                .any(|(e, h)| Hash::leaf(e) != *h)
        {
            return Err(corrupt(
                "the last entry bundle does not match the level-0 hash tile",
            ));
        }
        bundle = Some(b);
    }
    let entries: Vec<&[u8]> = bundle
        .iter()
        .flat_map(|b| b.entries.iter().map(Vec::as_slice))
        .collect();
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

fn corrupt(reason: impl Into<String>) -> Error {
    Error::Corrupt {
        dir: Default::default(),
        reason: reason.into(),
    }
}

/// Decides entries against the index plus what the current batch has already decided.
struct Decider<'a> {
    index: &'a Index,
    letters: &'a mut Letters,
    log_key: &'a VerifierKey,
    leaves: HashMap<Hash, u64>,
    signers: HashMap<(LetterId, [u8; 32]), SignerRecord>,
}

impl Decider<'_> {
    fn decide(
        &mut self,
        statement: &Statement,
        leaf: Hash,
        next: u64,
    ) -> Result<(Verdict, Option<Applied>), Error> {
        if let Some(i) = self.leaves.get(&leaf) {
            return Ok((Verdict::Existing(*i), None));
        }
        if let Some(i) = self.index.leaf(&leaf)? {
            return Ok((Verdict::Existing(i), None));
        }
        let refuse = |why: String| Ok((Verdict::Refused(signet_core::Error::StateRule(why)), None));
        let change = match statement {
            Statement::Letter(r) => {
                if r.key != *self.log_key {
                    return refuse(
                        "a letter registration must be signed by this log's own key".into(),
                    );
                }
                if self.letters.ids.contains(&r.letter) {
                    return refuse(format!("letter {} is already registered", r.letter));
                }
                if self.letters.slugs.contains(&r.slug) {
                    return refuse(format!("slug {} is already used by another letter", r.slug));
                }
                self.letters.ids.insert(r.letter);
                self.letters.slugs.insert(r.slug.clone());
                None
            }
            Statement::Endorsement(_) | Statement::Withdrawal(_) => {
                let letter = statement.letter();
                if !self.letters.ids.contains(&letter) {
                    return refuse(format!("letter {letter} is not registered in this log"));
                }
                let key = (letter, *statement.key().public_key());
                let previous = match self.signers.get(&key) {
                    Some(r) => Some(*r),
                    None => self.index.signer(&key.0, &key.1)?,
                };
                match state::decide(previous.as_ref(), statement, next) {
                    Ok(Decision::Accept(record)) => {
                        self.signers.insert(key, record);
                        Some((previous.map(|p| p.status), record))
                    }
                    Ok(Decision::Conflict { active_index }) => {
                        return Ok((Verdict::Conflict(active_index), None));
                    }
                    Err(e) => return Ok((Verdict::Refused(e), None)),
                }
            }
        };
        self.leaves.insert(leaf, next);
        Ok((
            Verdict::Append(next),
            Some(Applied {
                index: next,
                leaf,
                statement: statement.clone(),
                change,
            }),
        ))
    }
}

/// The one writer of the log.
#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) published: Arc<Published>,
    key: SigningKey,
    log_key: VerifierKey,
    edge: Edge,
    index: Index,
    letters: Letters,
    /// The log size the index reflects, once known to be behind the log.
    index_size: u64,
    max_batch: usize,
}

impl Writer {
    pub(crate) fn new(
        published: Arc<Published>,
        key: SigningKey,
        edge: Edge,
        index: Index,
        max_batch: usize,
    ) -> Result<Writer, Error> {
        let mut w = Writer {
            log_key: key.verifier(),
            published,
            key,
            index_size: 0,
            edge,
            index,
            letters: Letters::default(),
            max_batch: max_batch.max(1),
        };
        w.sync_index(false)?;
        Ok(w)
    }

    pub(crate) fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    fn size(&self) -> u64 {
        self.edge.size()
    }

    /// Brings the index to the log's size: rebuilt from scratch when `rebuild` is set, or
    /// when it is ahead of the log or its root is not this log's; otherwise only the
    /// entries it lacks are replayed. Reloads the registered letters.
    pub(crate) fn sync_index(&mut self, rebuild: bool) -> Result<(), Error> {
        let size = self.size();
        let (mut from, root) = self.index.position()?;
        let mut rebuild = rebuild;
        if from > size {
            tracing::warn!(
                index = from,
                log = size,
                "the index is ahead of the log; rebuilding it"
            );
            rebuild = true;
        } else if from > 0 && Some(self.published.reader.root(from, size)?) != root {
            tracing::warn!(
                index = from,
                "the index does not match this log; rebuilding it"
            );
            rebuild = true;
        }
        if rebuild {
            self.index.clear()?;
            from = 0;
        }
        self.letters = Letters::default();
        for l in self.index.letters()? {
            self.letters.ids.insert(l.id);
            self.letters.slugs.insert(Slug::parse(&l.slug)?);
        }
        if from < size {
            tracing::info!(from, to = size, "catching the index up with the log");
        }
        const CHUNK: u64 = 4096;
        while from < size {
            let end = (from + CHUNK - from % TILE_WIDTH).min(size);
            let mut decider = Decider {
                index: &self.index,
                letters: &mut self.letters,
                log_key: &self.log_key,
                leaves: HashMap::new(),
                signers: HashMap::new(),
            };
            let mut applied = Vec::new();
            for i in from..end {
                let bytes = self.published.reader.entry(i, size)?;
                // The entry was verified when it was appended: reading the statement is
                // enough to replay the state (signatures are the auditor's to recheck).
                let note = Note::parse(&bytes)?;
                let statement = Statement::parse_body(note.text())?;
                match decider.decide(&statement, Hash::leaf(&bytes), i)? {
                    (Verdict::Append(_), Some(a)) => applied.push(a),
                    (v, _) => {
                        return Err(corrupt(format!(
                            "entry {i} breaks the rules of state on replay: {v:?}"
                        )));
                    }
                }
            }
            let root = self.published.reader.root(end, size)?;
            self.index.apply(&applied, end, &root)?;
            from = end;
        }
        self.index_size = size;
        Ok(())
    }

    /// Receives batches until told to stop, then integrates what is left and returns.
    pub(crate) fn run(mut self, rx: Receiver<Msg>, interval: Duration) {
        let mut stop = false;
        while !stop {
            let first = match rx.recv() {
                Ok(Msg::Submit(p)) => p,
                Ok(Msg::Stop) | Err(_) => break,
            };
            // Submissions that queued up while the last batch was being written have
            // waited long enough already: the batch closes one interval after the
            // first of them arrived, not after the writer got to it.
            let deadline = first.arrived + interval;
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                let now = Instant::now();
                let msg = if now >= deadline {
                    match rx.try_recv() {
                        Ok(m) => m,
                        Err(_) => break,
                    }
                } else {
                    match rx.recv_timeout(deadline - now) {
                        Ok(m) => m,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => {
                            stop = true;
                            break;
                        }
                    }
                };
                match msg {
                    Msg::Submit(p) => batch.push(p),
                    Msg::Stop => {
                        stop = true;
                        break;
                    }
                }
            }
            self.integrate_guarded(batch);
        }
        // Integrate whatever was queued before the stop; later arrivals are dropped with
        // the receiver, which answers their submitters that the log is closing.
        let mut rest = Vec::new();
        while let Ok(Msg::Submit(p)) = rx.try_recv() {
            rest.push(p);
            if rest.len() == self.max_batch {
                self.integrate_guarded(std::mem::take(&mut rest));
            }
        }
        if !rest.is_empty() {
            self.integrate_guarded(rest);
        }
        tracing::info!(size = self.size(), "sequencer stopped");
    }

    /// [`Writer::integrate`], but a panic (a bug) stops the log instead of the thread
    /// vanishing: its submitters see their replies dropped, later ones are refused, and
    /// what is durable stays as it is for the next start to recover.
    fn integrate_guarded(&mut self, batch: Vec<Pending>) {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.integrate(batch)));
        if result.is_err() {
            tracing::error!("the sequencer panicked; refusing submissions until restart");
            self.published
                .failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Integrates one batch and answers every submitter.
    pub(crate) fn integrate(&mut self, batch: Vec<Pending>) {
        let started = Instant::now();
        let published = self.published.clone();
        let metrics = &published.metrics;
        if self
            .published
            .failed
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            for p in batch {
                let _ = p.reply.send(Err(Error::Closed(
                    "its storage failed; the operator must restart it",
                )));
            }
            return;
        }
        match self.try_integrate(&batch) {
            Ok((verdicts, head)) => {
                metrics.batch_size.observe(batch.len() as f64);
                for (p, v) in batch.into_iter().zip(verdicts) {
                    let answer = match v {
                        Verdict::Append(i) => {
                            match p.entry.statement() {
                                Statement::Letter(_) => metrics.letters.add(1),
                                Statement::Endorsement(_) => metrics.endorsements.add(1),
                                Statement::Withdrawal(_) => metrics.withdrawals.add(1),
                            }
                            Ok((Answer::Appended(i), head.clone()))
                        }
                        Verdict::Existing(i) => {
                            metrics.duplicates.add(1);
                            Ok((Answer::Existing(i), head.clone()))
                        }
                        Verdict::Conflict(i) => {
                            metrics.conflicts.add(1);
                            Ok((Answer::Conflict(i), head.clone()))
                        }
                        Verdict::Refused(e) => {
                            metrics.rejected.add(1);
                            Err(Error::Entry(e))
                        }
                    };
                    let _ = p.reply.send(answer);
                }
                metrics
                    .integration_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(e) => {
                metrics.failed_batches.add(1);
                tracing::error!(error = %e, "a batch could not be made durable; reloading the log from storage");
                for p in batch {
                    let _ = p.reply.send(Err(Error::NotStored));
                }
                self.recover();
            }
        }
    }

    /// After a failed batch: forget cached tiles, reload the edge from the stored
    /// checkpoint (which may be the new one if only its directory fsync failed), make
    /// that checkpoint durable again before publishing it, and catch the index up.
    fn recover(&mut self) {
        let result = (|| {
            self.published.reader.clear();
            let (head, edge) = load_edge(&self.published.reader, &self.log_key)?;
            if head.size != self.published.head().size {
                self.published
                    .reader
                    .storage()
                    .swap_checkpoint(Some(head.text.as_bytes()), head.text.as_bytes())?;
            }
            self.edge = edge;
            self.published.publish(head);
            self.sync_index(false)
        })();
        if let Err(e) = result {
            tracing::error!(error = %e, "the log could not be reloaded from storage; refusing submissions until restart");
            self.published
                .failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn try_integrate(&mut self, batch: &[Pending]) -> Result<(Vec<Verdict>, Arc<Head>), Error> {
        let started = Instant::now();
        if self.index_size != self.size() {
            self.sync_index(false)?;
        }
        let start = self.size();
        let mut decider = Decider {
            index: &self.index,
            letters: &mut self.letters,
            log_key: &self.log_key,
            leaves: HashMap::new(),
            signers: HashMap::new(),
        };
        let mut verdicts = Vec::with_capacity(batch.len());
        let mut applied = Vec::new();
        let mut appended: Vec<&[u8]> = Vec::new();
        for p in batch {
            let next = start + appended.len() as u64;
            let (verdict, a) = decider.decide(p.entry.statement(), p.entry.leaf_hash(), next)?;
            if let Some(a) = a {
                applied.push(a);
                appended.push(p.entry.bytes());
            }
            verdicts.push(verdict);
        }
        if appended.is_empty() {
            return Ok((verdicts, self.published.head()));
        }
        let decided = Instant::now();
        let built = self.edge.append(&appended)?;
        let storage = self.published.reader.storage().clone();
        storage.write_tiles(&built.tiles)?;
        let tiles_written = Instant::now();
        let size = built.edge.size();
        let root = built.edge.root();
        let checkpoint = Checkpoint {
            origin: self.log_key.name().as_str().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        let signed = checkpoint.sign(&self.key)?;
        let text = signed.to_string();
        storage.swap_checkpoint(Some(self.published.head().text.as_bytes()), text.as_bytes())?;
        let committed = Instant::now();

        // Committed: the tiles and the checkpoint are durable.
        let built_tiles = built.tiles.len();
        self.edge = built.edge;
        for (tile, hashes) in built.hash_tiles {
            self.published
                .reader
                .insert_hash_tile(tile, Arc::new(TileNodes::new(hashes)));
        }
        let head = Arc::new(Head {
            size,
            root,
            checkpoint: signed,
            text,
        });
        self.published.publish(head.clone());
        for tile in built.full {
            if let Err(e) = storage.delete_partial_tiles(tile) {
                tracing::warn!(tile = %tile.path(), error = %e, "could not delete partial tiles");
            }
        }
        let indexed = self.index.apply(&applied, size, &root);
        tracing::debug!(
            entries = appended.len(),
            tiles = built_tiles,
            decide_us = (decided - started).as_micros() as u64,
            tiles_us = (tiles_written - decided).as_micros() as u64,
            checkpoint_us = (committed - tiles_written).as_micros() as u64,
            index_us = committed.elapsed().as_micros() as u64,
            "batch integrated"
        );
        match indexed {
            Ok(()) => self.index_size = size,
            Err(e) => {
                // The entries are durable and will be acknowledged; the index catches up
                // from the log before the next batch is decided.
                tracing::error!(error = %e, "the index could not record a batch; it will catch up");
            }
        }
        Ok((verdicts, head))
    }
}

/// Builds the `.tlog-proof` of `index` at `head`.
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
