//! The sequencer: one writer thread that integrates batches of submissions, and the
//! [`Sequencer`] handle through which the log talks to it.
//!
//! For each batch the writer decides every entry with the rules of state (through
//! [`BatchView`]), assigns indexes, writes the entry bundles and hash tiles durably,
//! signs and writes the checkpoint durably (the commit point), publishes it, records the
//! batch in the catalog, and only then answers the submitters.
//!
//! A batch that cannot be made durable fails every submitter in it (nothing is
//! acknowledged). The writer then recovers from the stored checkpoint and, while that
//! fails, retries with a backoff from 50 ms doubling to 5 s; from the failed write until
//! a write succeeds again, [`Sequencer::health`] says why and submissions are refused
//! with [`Error::Unavailable`]. Corrupt storage (tiles that do not hash to the signed
//! root) is not transient: the log then refuses submissions until it is restarted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use signet_core::edge::Edge;
use signet_core::state::{Decision, Known as _};
use signet_core::{
    Checkpoint, Entry, SignedCheckpoint, SigningKey, Statement, Timestamp, VerifierKey,
};
use tokio::sync::oneshot;

use crate::catalog::{Catalog, LetterInfo};
use crate::decider::{BatchView, Letters};
use crate::head::Head;
use crate::metrics::LogMetrics;
use crate::recovery::{is_corruption, load_edge};
use crate::replay::sync_catalog;
use crate::tree::{TileNodes, TreeReader};
use crate::witness::{ConsistencyProofs, Cosigners};
use crate::{Error, Storage};

/// The first wait before retrying a failed recovery; it doubles up to [`LAST_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(50);
/// The longest wait between two recovery attempts.
const LAST_RETRY: Duration = Duration::from_secs(5);

/// What the writer answers a submitter: the decision (never a refusal, which is an
/// `Err`) and the durable checkpoint that covers it.
pub(crate) type Answer = Result<(Decision, Arc<Head>), Error>;

/// One submission waiting in the pool.
#[derive(Debug)]
struct Submission {
    entry: Entry,
    reply: oneshot::Sender<Answer>,
    /// True for the log's own entries (letter registrations it signs at start); false
    /// for everything submitted from outside.
    own: bool,
    /// When it entered the pool: a batch closes one interval after its first arrival.
    arrived: Instant,
}

/// A message to the writer thread.
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is a submission; boxing would allocate for each"
)]
enum Msg {
    Submit(Submission),
    /// Integrate what is queued, then stop.
    Stop,
}

/// Whether the writer can take submissions.
#[derive(Debug, Clone)]
enum Condition {
    Healthy,
    /// A write failed; the writer is recovering and retrying.
    Failing {
        reason: String,
        since: String,
    },
    /// The stored log contradicts its checkpoint: refused until restart.
    Corrupt {
        reason: String,
    },
    /// The writer panicked (a bug): refused until restart.
    Panicked,
}

/// What the writer shares with readers.
#[derive(Debug)]
struct Shared {
    head: RwLock<Arc<Head>>,
    reader: TreeReader,
    metrics: LogMetrics,
    condition: RwLock<Condition>,
}

impl Shared {
    fn head(&self) -> Arc<Head> {
        self.head
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publishes a durable head. Its root is remembered first: readers that got this
    /// head may read tiles for its tree after storage holds a newer checkpoint.
    fn publish(&self, head: Arc<Head>) {
        self.reader.remember_root(head.size, head.root);
        *self.head.write().unwrap_or_else(PoisonError::into_inner) = head;
    }

    fn condition(&self) -> Condition {
        self.condition
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, condition: Condition) {
        *self
            .condition
            .write()
            .unwrap_or_else(PoisonError::into_inner) = condition;
    }

    /// Records a failed write, keeping the time of the first failure of a run of them.
    fn failing(&self, error: &Error) {
        let mut condition = self
            .condition
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let since = match &*condition {
            Condition::Failing { since, .. } => since.clone(),
            _ => now(),
        };
        *condition = Condition::Failing {
            reason: error.to_string(),
            since,
        };
    }

    fn health(&self) -> Result<(), String> {
        health(&self.condition())
    }

    /// Why a submission cannot be taken now, if it cannot.
    fn refusal(&self) -> Option<Error> {
        let condition = self.condition();
        match condition {
            Condition::Healthy => None,
            Condition::Failing { .. } => Some(Error::Unavailable {
                reason: health(&condition).err().unwrap_or_default(),
            }),
            Condition::Corrupt { .. } => Some(Error::Closed(
                "it found corrupt storage; the operator must repair it and restart it",
            )),
            Condition::Panicked => Some(Error::Closed(
                "its sequencer failed on a bug; the operator must restart it",
            )),
        }
    }
}

/// What the health check says in `condition`: `Err` with words an operator can act on.
fn health(condition: &Condition) -> Result<(), String> {
    match condition {
        Condition::Healthy => Ok(()),
        Condition::Failing { reason, since } => Err(format!(
            "cannot write to storage: {reason} (since {since}); retrying"
        )),
        Condition::Corrupt { reason } => Err(format!(
            "found corrupt storage: {reason}; repair it and restart the server"
        )),
        Condition::Panicked => Err("the sequencer failed on a bug; restart the server".to_owned()),
    }
}

/// The current time as the log writes timestamps.
fn now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Timestamp::from_unix(secs).map_or_else(|_| format!("{secs} s after 1970"), |t| t.to_string())
}

/// The running sequencer, as the log sees it: submit, read the published head and the
/// tree, ask whether it is healthy, stop.
#[derive(Debug)]
pub(crate) struct Sequencer {
    shared: Arc<Shared>,
    tx: SyncSender<Msg>,
    closing: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Sequencer {
    /// The latest durable checkpoint.
    pub(crate) fn head(&self) -> Arc<Head> {
        self.shared.head()
    }

    /// The stored tree, read through the caches the writer keeps current.
    pub(crate) fn reader(&self) -> &TreeReader {
        &self.shared.reader
    }

    /// What the sequencer measured.
    pub(crate) fn metrics(&self) -> &LogMetrics {
        &self.shared.metrics
    }

    /// `Err` with the reason while the writer cannot write or found corrupt storage.
    pub(crate) fn health(&self) -> Result<(), String> {
        self.shared.health()
    }

    /// Queues a parsed, verified entry; the receiver gets the answer once it is durable
    /// or refused. Refused at once while closing, failing, or when the pool is full.
    pub(crate) fn submit(&self, entry: Entry) -> Result<oneshot::Receiver<Answer>, Error> {
        if self.closing.load(Ordering::Relaxed) {
            return Err(Error::Closed("it is shutting down"));
        }
        if let Some(refusal) = self.shared.refusal() {
            return Err(refusal);
        }
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Msg::Submit(Submission {
            entry,
            reply,
            own: false,
            arrived: Instant::now(),
        })) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => {
                self.shared.metrics.overloaded.add(1);
                Err(Error::Overloaded)
            }
            Err(TrySendError::Disconnected(_)) => Err(Error::Closed("it is shutting down")),
        }
    }

    /// Stops taking submissions, integrates every one already queued, and waits for the
    /// writer to finish. Blocks.
    pub(crate) fn stop(&self) {
        if self.closing.swap(true, Ordering::SeqCst) {
            return;
        }
        let _ = self.tx.send(Msg::Stop);
        let handle = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(h) = handle
            && h.join().is_err()
        {
            tracing::error!("the sequencer thread panicked");
        }
    }
}

/// The one writer of the log, before and while it runs on its thread.
#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// The writer's own handle on storage; readers go through `shared.reader`.
    storage: Arc<dyn Storage>,
    key: SigningKey,
    log_key: VerifierKey,
    edge: Edge,
    catalog: Catalog,
    letters: Letters,
    /// The log size the catalog reflects, once known to be behind the log.
    catalog_size: u64,
    max_batch: usize,
    /// The witnesses asked to cosign each new checkpoint.
    cosigners: Option<Arc<dyn Cosigners>>,
}

impl Writer {
    /// A writer for the log whose stored state `load_edge` gave as `head` and `edge`,
    /// with its catalog brought up to date (rebuilt from the log when `rebuild`).
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        reader: TreeReader,
        (head, edge): (Arc<Head>, Edge),
        key: SigningKey,
        catalog: Catalog,
        max_batch: usize,
        rebuild: bool,
    ) -> Result<Writer, Error> {
        let shared = Arc::new(Shared {
            head: RwLock::new(head),
            reader,
            metrics: LogMetrics::default(),
            condition: RwLock::new(Condition::Healthy),
        });
        let mut w = Writer {
            log_key: key.verifier(),
            shared,
            storage,
            key,
            catalog_size: 0,
            edge,
            catalog,
            letters: Letters::default(),
            max_batch: max_batch.max(1),
            cosigners: None,
        };
        if rebuild {
            tracing::info!("rebuilding the catalog from the log");
        }
        w.sync_catalog(rebuild)?;
        Ok(w)
    }

    /// Sets the witnesses asked to cosign each new checkpoint.
    pub(crate) fn set_cosigners(&mut self, cosigners: Option<Arc<dyn Cosigners>>) {
        self.cosigners = cosigners;
    }

    /// The letters the catalog records, in order of registration.
    pub(crate) fn letters(&self) -> Result<Vec<LetterInfo>, Error> {
        self.catalog.letters()
    }

    /// The moderators the catalog records, in order of appointment.
    pub(crate) fn moderators(&self) -> Result<Vec<crate::catalog::ModeratorInfo>, Error> {
        self.catalog.moderators()
    }

    /// Integrates `entries` as one batch on the calling thread (before the writer runs
    /// on its own), answering each.
    pub(crate) fn integrate_now(&mut self, entries: Vec<Entry>) -> Vec<Answer> {
        let mut waiting = Vec::new();
        let mut batch = Vec::new();
        for entry in entries {
            let (reply, rx) = oneshot::channel();
            batch.push(Submission {
                entry,
                reply,
                own: true,
                arrived: Instant::now(),
            });
            waiting.push(rx);
        }
        self.integrate(batch);
        waiting
            .into_iter()
            .map(|mut rx| {
                rx.try_recv().unwrap_or_else(|_| {
                    Err(Error::Internal(
                        "a batch left a submission unanswered".into(),
                    ))
                })
            })
            .collect()
    }

    /// Starts the writer on its own thread, with room for `pool_size` waiting
    /// submissions and batches closing `interval` after their first arrival.
    pub(crate) fn spawn(self, pool_size: usize, interval: Duration) -> Result<Sequencer, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel(pool_size.max(1));
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("signet-sequencer".into())
            .spawn(move || self.run(rx, interval))
            .map_err(|e| Error::io("spawn", "the sequencer thread", e))?;
        Ok(Sequencer {
            shared,
            tx,
            closing: AtomicBool::new(false),
            thread: Mutex::new(Some(thread)),
        })
    }

    fn size(&self) -> u64 {
        self.edge.size()
    }

    fn sync_catalog(&mut self, rebuild: bool) -> Result<(), Error> {
        let head = self.shared.head();
        sync_catalog(
            &mut self.catalog,
            &mut self.letters,
            &self.shared.reader,
            &head,
            &self.log_key,
            rebuild,
        )?;
        self.catalog_size = head.size;
        Ok(())
    }

    /// Receives batches until told to stop, then integrates what is left and returns.
    fn run(mut self, rx: Receiver<Msg>, interval: Duration) {
        let mut stop = false;
        while !stop {
            if matches!(self.shared.condition(), Condition::Failing { .. }) {
                stop = self.retry(&rx);
                continue;
            }
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

    /// After a failed write: recovers from the stored checkpoint, and while that fails,
    /// waits (answering submissions that still arrive) and tries again, each wait twice
    /// the last, up to [`LAST_RETRY`]. Returns true when told to stop meanwhile.
    fn retry(&mut self, rx: &Receiver<Msg>) -> bool {
        let mut wait = FIRST_RETRY;
        loop {
            match self.recover() {
                Ok(()) => {
                    tracing::info!(size = self.size(), "storage takes writes again");
                    self.shared.set(Condition::Healthy);
                    return false;
                }
                Err(e) if is_corruption(&e) => {
                    tracing::error!(error = %e, "the stored log is corrupt; refusing submissions until restart");
                    self.shared.set(Condition::Corrupt {
                        reason: e.to_string(),
                    });
                    return false;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "the log could not be reloaded from storage");
                    self.shared.failing(&e);
                }
            }
            let until = Instant::now() + wait;
            loop {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match rx.recv_timeout(left) {
                    Ok(Msg::Submit(p)) => self.refuse(p),
                    Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
                    Err(RecvTimeoutError::Timeout) => break,
                }
            }
            wait = (wait * 2).min(LAST_RETRY);
        }
    }

    /// Answers a submission that arrives while the log cannot take it.
    fn refuse(&self, p: Submission) {
        let refusal = self.shared.refusal().unwrap_or(Error::NotStored);
        let _ = p.reply.send(Err(refusal));
    }

    /// [`Writer::integrate`], but a panic (a bug) stops the log instead of the thread
    /// vanishing: its submitters see their replies dropped, later ones are refused, and
    /// what is durable stays as it is for the next start to recover.
    fn integrate_guarded(&mut self, batch: Vec<Submission>) {
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.integrate(batch)));
        if result.is_err() {
            tracing::error!("the sequencer panicked; refusing submissions until restart");
            self.shared.set(Condition::Panicked);
        }
    }

    /// Integrates one batch and answers every submitter.
    fn integrate(&mut self, batch: Vec<Submission>) {
        if self.shared.refusal().is_some() {
            for p in batch {
                self.refuse(p);
            }
            return;
        }
        let started = Instant::now();
        let shared = self.shared.clone();
        let metrics = &shared.metrics;
        match self.try_integrate(&batch) {
            Ok((decisions, head)) => {
                metrics.batch_size.observe(batch.len() as f64);
                for (p, decision) in batch.into_iter().zip(decisions) {
                    match &decision {
                        Decision::Append { .. } => match p.entry.statement() {
                            Statement::Letter(_) => metrics.letters.add(1),
                            Statement::Endorsement(_) => metrics.endorsements.add(1),
                            Statement::Withdrawal(_) => metrics.withdrawals.add(1),
                            // Appointments and moderations are few; the log's size counts
                            // them with everything else.
                            Statement::Moderator(_) | Statement::Moderation(_) => {}
                        },
                        Decision::Logged { .. } => metrics.duplicates.add(1),
                        Decision::Conflict { .. } => metrics.conflicts.add(1),
                        Decision::Refused(_) => metrics.rejected.add(1),
                    }
                    let answer = match decision {
                        Decision::Refused(e) => Err(Error::Entry(e)),
                        d => Ok((d, head.clone())),
                    };
                    let _ = p.reply.send(answer);
                }
                metrics
                    .integration_seconds
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(e) => {
                metrics.failed_batches.add(1);
                // Say why before answering, so that whoever hears of the failure can ask.
                if is_corruption(&e) {
                    tracing::error!(error = %e, "a batch found the stored log corrupt; refusing submissions until restart");
                    self.shared.set(Condition::Corrupt {
                        reason: e.to_string(),
                    });
                } else {
                    tracing::error!(error = %e, "a batch could not be made durable; reloading the log from storage");
                    self.shared.failing(&e);
                }
                for p in batch {
                    let _ = p.reply.send(Err(Error::NotStored));
                }
            }
        }
    }

    /// After a failed batch: forget cached tiles, reload the edge from the stored
    /// checkpoint (which may be the new one if only its directory fsync failed), write
    /// that checkpoint again (making it durable before it is published, and proving that
    /// storage takes writes again), and catch the catalog up.
    ///
    /// The stored checkpoint must be the published one or a newer one (a batch whose
    /// checkpoint reached storage before its write reported failure). An older one means
    /// that something put an older checkpoint back behind the log's back: building on it
    /// would sign a fork, so that stops the log.
    fn recover(&mut self) -> Result<(), Error> {
        self.shared.reader.clear();
        let (head, edge) = load_edge(&self.shared.reader, &self.log_key)?;
        let published = self.shared.head();
        if head.size < published.size {
            return Err(Error::RolledBack {
                dir: Default::default(),
                reason: format!(
                    "the stored checkpoint is of size {}, but this server already published                      size {}; restore the newer log, or see docs/operating.md, *Backups*",
                    head.size, published.size
                ),
            });
        }
        self.storage
            .swap_checkpoint(Some(head.text.as_bytes()), head.text.as_bytes())?;
        self.edge = edge;
        self.shared.publish(head);
        self.sync_catalog(false)
    }

    /// Asks the witnesses to cosign the durable checkpoint `signed` (one round per
    /// batch) and stores the cosigned checkpoint durably in its place, so that what is
    /// published, and served after a restart, carries the cosignatures. Without
    /// cosignatures, or when the cosigned one cannot be stored, the checkpoint is
    /// published as it is: fail open (docs/protocol.md, *Witnesses*).
    fn witness(
        &self,
        mut signed: SignedCheckpoint,
        text: String,
        size: u64,
    ) -> (SignedCheckpoint, String) {
        let Some(cosigners) = &self.cosigners else {
            return (signed, text);
        };
        let shared = self.shared.clone();
        let proofs: ConsistencyProofs =
            Arc::new(move |old| shared.reader.consistency(old, size, size));
        let cosignatures = cosigners.cosign(&signed, proofs);
        if cosignatures.is_empty() {
            return (signed, text);
        }
        let plain = signed.clone();
        for c in cosignatures {
            signed.note_mut().push_signature(c);
        }
        let cosigned = signed.to_string();
        match self
            .storage
            .swap_checkpoint(Some(text.as_bytes()), cosigned.as_bytes())
        {
            Ok(()) => (signed, cosigned),
            Err(e) => {
                tracing::error!(error = %e, size, "cannot store the cosigned checkpoint; publishing it without cosignatures");
                (plain, text)
            }
        }
    }

    fn try_integrate(&mut self, batch: &[Submission]) -> Result<(Vec<Decision>, Arc<Head>), Error> {
        let started = Instant::now();
        if self.catalog_size != self.size() {
            self.sync_catalog(false)?;
        }
        let start = self.size();
        let mut view = BatchView::new(&self.catalog, &mut self.letters, &self.log_key);
        let mut decisions = Vec::with_capacity(batch.len());
        let mut appended: Vec<&[u8]> = Vec::new();
        for p in batch {
            let next = start + appended.len() as u64;
            let decision = if !p.own
                && matches!(
                    p.entry.statement(),
                    Statement::Letter(_) | Statement::Moderator(_)
                )
                && view.logged(&p.entry.leaf_hash())?.is_none()
            {
                // The log writes its own registrations and appointments; a submitted one
                // is accepted only as the bytes of one already logged (docs/protocol.md,
                // *Rules of state*).
                Decision::Refused(signet_core::Error::StateRule(format!(
                    "{} entries are written by the log itself; this one is not in the log, \
                     so it cannot be submitted",
                    match p.entry.statement() {
                        Statement::Letter(_) => "letter registration",
                        _ => "moderator appointment",
                    }
                )))
            } else {
                view.decide(p.entry.statement(), p.entry.leaf_hash(), next)?
            };
            if matches!(decision, Decision::Append { .. }) {
                appended.push(p.entry.bytes());
            }
            decisions.push(decision);
        }
        let recorded = view.into_appended();
        if appended.is_empty() {
            return Ok((decisions, self.shared.head()));
        }
        let decided = Instant::now();
        let built = self
            .edge
            .append(&appended)
            .map_err(Error::from)
            .map_err(Error::internal("building the batch's tiles"))?;
        self.storage.write_tiles(&built.tiles)?;
        let tiles_written = Instant::now();
        let size = built.edge.size();
        let root = built.edge.root();
        let checkpoint = Checkpoint {
            origin: self.log_key.name().as_str().to_owned(),
            size,
            root,
            extensions: Vec::new(),
        };
        let signed = checkpoint
            .sign(&self.key)
            .map_err(Error::from)
            .map_err(Error::internal("signing the checkpoint"))?;
        let text = signed.to_string();
        self.storage
            .swap_checkpoint(Some(self.shared.head().text.as_bytes()), text.as_bytes())?;
        let committed = Instant::now();

        // Committed: the tiles and the checkpoint are durable.
        let built_tiles = built.tiles.len();
        self.edge = built.edge;
        let old_size = self.shared.head().size;
        for (tile, hashes) in built.hash_tiles {
            // The tile's version in the last tree, a partial one, is stale now: without
            // this, every batch would leave one more partial tile in the cache, and after
            // thousands of batches they would push out the full tiles proofs need.
            if let Some(old) = signet_core::TileId::in_tree(tile.level, tile.index, old_size)
                && old.width != tile.width
            {
                self.shared.reader.forget_hash_tile(old);
            }
            self.shared
                .reader
                .insert_hash_tile(tile, Arc::new(TileNodes::new(hashes)));
        }
        let (signed, text) = self.witness(signed, text, size);
        let head = Arc::new(Head {
            size,
            root,
            checkpoint: signed,
            text,
        });
        self.shared.publish(head.clone());
        for tile in built.full {
            if let Err(e) = self.storage.delete_partial_tiles(tile) {
                tracing::warn!(tile = %tile.path(), error = %e, "could not delete partial tiles");
            }
        }
        let cataloged = self.catalog.record(&recorded, size, &root);
        tracing::debug!(
            entries = appended.len(),
            tiles = built_tiles,
            decide_us = (decided - started).as_micros() as u64,
            tiles_us = (tiles_written - decided).as_micros() as u64,
            checkpoint_us = (committed - tiles_written).as_micros() as u64,
            catalog_us = committed.elapsed().as_micros() as u64,
            "batch integrated"
        );
        match cataloged {
            Ok(()) => self.catalog_size = size,
            Err(e) => {
                // The entries are durable and will be acknowledged; the catalog catches
                // up from the log before the next batch is decided.
                tracing::error!(error = %e, "the catalog could not record a batch; it will catch up");
            }
        }
        Ok((decisions, head))
    }
}
