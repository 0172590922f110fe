//! The sequencer: the writer thread that decides batches of submissions and writes
//! their tiles, and the [`Sequencer`] handle through which the log talks to it.
//!
//! For each batch the writer decides every entry with the rules of state (through
//! [`BatchView`], which sees the batches still in the pipeline too), assigns indexes,
//! and writes the entry bundles and hash tiles durably. It then hands the batch to the
//! committer ([`crate::pipeline`]), which signs and stores the checkpoint durably (the
//! commit point), publishes it and answers the submitters, and goes on to the next
//! batch meanwhile. The catalog records each batch after it is answered.
//!
//! A batch that cannot be made durable fails every submitter in it, and every batch
//! after it already in the pipeline (nothing of them is acknowledged). The writer then
//! drains the pipeline, recovers from the stored checkpoint and, while that fails,
//! retries with a backoff from 50 ms doubling to 5 s; from the failed write until a
//! write succeeds again, [`Sequencer::health`] says why and submissions are refused with
//! [`Error::Unavailable`]. Corrupt storage (tiles that do not hash to the signed root)
//! is not transient: the log then refuses submissions until it is restarted.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use signet_core::edge::Edge;
use signet_core::state::{Decision, Known as _};
use signet_core::{Entry, SigningKey, Statement, Timestamp, VerifierKey};
use tokio::sync::oneshot;

use crate::catalog::{Catalog, LetterInfo};
use crate::decider::{BatchView, Letters, Overlay};
use crate::head::Head;
use crate::metrics::LogMetrics;
use crate::pipeline::{Built, Committer, Decided, Kind, Next, Recorder, Reply, not_stored};
use crate::recovery::{is_corruption, load_edge};
use crate::replay::sync_catalog;
use crate::tree::TreeReader;
use crate::witness::Cosigners;
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
    /// A later stage failed: look at the condition before waiting for more.
    Wake,
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

/// What the writer shares with readers and with the pipeline's stages.
#[derive(Debug)]
pub(crate) struct Shared {
    head: RwLock<Arc<Head>>,
    pub(crate) reader: TreeReader,
    pub(crate) metrics: LogMetrics,
    condition: RwLock<Condition>,
    /// The batches decided but not yet recorded in the catalog, oldest first.
    pub(crate) pending: Mutex<VecDeque<Arc<Overlay>>>,
    /// Set when the catalog failed to record a batch: the writer catches it up.
    catalog_behind: AtomicBool,
    /// The log size the catalog reflects, and a signal for readers waiting on it.
    cataloged: Mutex<u64>,
    cataloged_changed: Condvar,
}

impl Shared {
    pub(crate) fn head(&self) -> Arc<Head> {
        self.head
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Publishes a durable head. Its root is remembered first: readers that got this
    /// head may read tiles for its tree after storage holds a newer checkpoint.
    pub(crate) fn publish(&self, head: Arc<Head>) {
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

    /// Records a failed batch: corrupt storage stops the log, anything else is retried.
    pub(crate) fn failed(&self, e: &Error) {
        if is_corruption(e) {
            tracing::error!(error = %e, "a batch found the stored log corrupt; refusing submissions until restart");
            self.set(Condition::Corrupt {
                reason: e.to_string(),
            });
        } else {
            tracing::error!(error = %e, "a batch could not be made durable; reloading the log from storage");
            self.failing(e);
        }
    }

    /// Fails a batch that was not made durable: says why (before answering, so that
    /// whoever hears of the failure can ask), counts it, and answers its submitters.
    pub(crate) fn fail_batch(&self, e: &Error, replies: impl IntoIterator<Item = Reply>) {
        self.metrics.failed_batches.add(1);
        self.failed(e);
        not_stored(replies);
    }

    /// Lets go of a recorded batch's overlay and moves the catalog's mark to `size`.
    pub(crate) fn recorded(&self, overlay: &Arc<Overlay>, size: u64) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|o| !Arc::ptr_eq(o, overlay));
        self.set_cataloged(size);
    }

    /// Records that a stage of the sequencer panicked (a bug).
    pub(crate) fn panicked(&self) {
        self.set(Condition::Panicked);
    }

    pub(crate) fn catalog_behind(&self) -> bool {
        self.catalog_behind.load(Ordering::SeqCst)
    }

    pub(crate) fn set_catalog_behind(&self, behind: bool) {
        self.catalog_behind.store(behind, Ordering::SeqCst);
    }

    /// Moves the catalog's mark forward to `size`, waking readers that wait for it.
    pub(crate) fn set_cataloged(&self, size: u64) {
        let mut cataloged = self
            .cataloged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *cataloged = (*cataloged).max(size);
        self.cataloged_changed.notify_all();
    }

    /// Waits, at most `timeout`, until the catalog reflects the log of `size` entries;
    /// false if it does not by then.
    fn wait_cataloged(&self, size: u64, timeout: Duration) -> bool {
        let cataloged = self
            .cataloged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (cataloged, _) = self
            .cataloged_changed
            .wait_timeout_while(cataloged, timeout, |c| *c < size)
            .unwrap_or_else(PoisonError::into_inner);
        *cataloged >= size
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

    /// Waits, at most `timeout`, until the catalog reflects every entry of the head
    /// published when it is called (and so every entry acknowledged before); false if it
    /// does not by then.
    pub(crate) fn wait_cataloged(&self, timeout: Duration) -> bool {
        self.shared.wait_cataloged(self.shared.head().size, timeout)
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

/// The one writer of the log, before and while it runs on its thread: the first stage
/// of the sequencer, which decides batches and writes their tiles.
#[derive(Debug)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    /// The writer's own handle on storage; readers go through `shared.reader`.
    storage: Arc<dyn Storage>,
    log_key: VerifierKey,
    /// The tree as the batches decided so far leave it (ahead of the published head
    /// while batches are in the pipeline).
    edge: Edge,
    /// The writer's connection to the catalog: it decides through it, and catches the
    /// catalog up through it while the pipeline is drained.
    catalog: Catalog,
    letters: Letters,
    max_batch: usize,
    /// Where decided batches go to be committed and recorded.
    next: Next,
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
            pending: Mutex::new(VecDeque::new()),
            catalog_behind: AtomicBool::new(false),
            cataloged: Mutex::new(0),
            cataloged_changed: Condvar::new(),
        });
        let recorder = Recorder {
            shared: shared.clone(),
            catalog: catalog.connect_again()?,
        };
        let committer = Committer::new(shared.clone(), storage.clone(), key.clone());
        let mut w = Writer {
            log_key: key.verifier(),
            shared,
            storage,
            edge,
            catalog,
            letters: Letters::default(),
            max_batch: max_batch.max(1),
            next: Next::inline(committer, recorder),
        };
        if rebuild {
            tracing::info!("rebuilding the catalog from the log");
        }
        w.sync_catalog(rebuild)?;
        Ok(w)
    }

    /// Sets the witnesses asked to cosign each new checkpoint (before the log runs).
    pub(crate) fn set_cosigners(&mut self, cosigners: Option<Arc<dyn Cosigners>>) {
        self.next.set_cosigners(cosigners);
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

    /// Starts the writer and the pipeline's stages on threads of their own, with room
    /// for `pool_size` waiting submissions and batches closing `interval` after their
    /// first arrival.
    pub(crate) fn spawn(
        mut self,
        pool_size: usize,
        interval: Duration,
    ) -> Result<Sequencer, Error> {
        let (tx, rx) = std::sync::mpsc::sync_channel(pool_size.max(1));
        let waker = tx.clone();
        // A full queue means the writer is not idle: it looks at the condition before it
        // waits again.
        self.next.spawn(Arc::new(move || {
            let _ = waker.try_send(Msg::Wake);
        }))?;
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

    /// Brings the catalog to the published head. Only while nothing is in the
    /// pipeline: it then forgets every batch it kept a view of.
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
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.shared.set_catalog_behind(false);
        self.shared.set_cataloged(head.size);
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
            if self.shared.catalog_behind() {
                if let Err(e) = self.catch_up_if_behind() {
                    self.shared.failed(&e);
                }
                continue;
            }
            let first = match rx.recv() {
                Ok(Msg::Submit(p)) => p,
                Ok(Msg::Wake) => continue,
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
                    Msg::Wake => {}
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
        while let Ok(msg) = rx.try_recv() {
            let Msg::Submit(p) = msg else {
                continue;
            };
            rest.push(p);
            if rest.len() == self.max_batch {
                self.integrate_guarded(std::mem::take(&mut rest));
            }
        }
        if !rest.is_empty() {
            self.integrate_guarded(rest);
        }
        self.next.finish();
        tracing::info!(size = self.shared.head().size, "sequencer stopped");
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
                    Ok(Msg::Wake) => {}
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
            self.shared.panicked();
        }
    }

    /// Decides one batch, writes its tiles and hands it on to be committed, recorded and
    /// answered; answers it at once when it cannot be.
    fn integrate(&mut self, batch: Vec<Submission>) {
        if self.shared.refusal().is_some() {
            for p in batch {
                self.refuse(p);
            }
            return;
        }
        let decided = match self.catch_up_if_behind() {
            Ok(()) => self.prepare(&batch),
            Err(e) => Err(e),
        };
        let replies = batch.into_iter().map(|p| p.reply);
        match decided {
            Ok(mut decided) => {
                decided.replies = replies.collect();
                self.next.send(decided);
            }
            Err(e) => self.shared.fail_batch(&e, replies),
        }
    }

    /// After a failed record: once everything in the pipeline is recorded (or skipped),
    /// catches the catalog up from the log, before anything more is decided through it.
    /// An error fails the log, which then recovers as after a failed batch.
    fn catch_up_if_behind(&mut self) -> Result<(), Error> {
        if !self.shared.catalog_behind() {
            return Ok(());
        }
        self.next.drain();
        self.sync_catalog(false)
    }

    /// After a failed batch: lets the pipeline drain (every batch in it fails), forgets
    /// cached tiles, reloads the edge from the stored checkpoint (which may be a newer
    /// one than the published one if only its directory fsync failed), writes that
    /// checkpoint again (making it durable before it is published, and proving that
    /// storage takes writes again), and catches the catalog up.
    ///
    /// The stored checkpoint must be the published one or a newer one (a batch whose
    /// checkpoint reached storage before its write reported failure). An older one means
    /// that something put an older checkpoint back behind the log's back: building on it
    /// would sign a fork, so that stops the log.
    fn recover(&mut self) -> Result<(), Error> {
        self.next.drain();
        self.shared.reader.clear();
        let (head, edge) = load_edge(&self.shared.reader, &self.log_key)?;
        let published = self.shared.head();
        if head.size < published.size {
            return Err(Error::RolledBack {
                dir: Default::default(),
                reason: format!(
                    "the stored checkpoint is of size {}, but this server already published \
                     size {}; restore the newer log, or see docs/operating.md, *Backups*",
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

    /// Decides a batch through the catalog and the batches still in the pipeline, and
    /// writes the tiles of what it appends durably. The result carries no replies yet.
    fn prepare(&mut self, batch: &[Submission]) -> Result<Decided, Error> {
        let started = Instant::now();
        let start = self.size();
        let earlier: Vec<Arc<Overlay>> = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect();
        let snapshot = self.catalog.snapshot()?;
        let mut view = BatchView::new(&self.catalog, &mut self.letters, &self.log_key, &earlier);
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
        let (overlay, rows) = view.finish();
        snapshot.end()?;
        let decided = Instant::now();
        let built = if appended.is_empty() {
            None
        } else {
            let append = self
                .edge
                .append(&appended)
                .map_err(Error::from)
                .map_err(Error::internal("building the batch's tiles"))?;
            self.storage.write_tiles(&append.tiles)?;
            let built = Built {
                size: append.edge.size(),
                root: append.edge.root(),
                hash_tiles: append.hash_tiles,
                full: append.full,
                tiles: append.tiles.len(),
            };
            self.edge = append.edge;
            Some(built)
        };
        let overlay = Arc::new(overlay);
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(overlay.clone());
        Ok(Decided {
            replies: Vec::new(),
            kinds: batch
                .iter()
                .map(|p| Kind::of(p.entry.statement()))
                .collect(),
            decisions,
            built,
            rows,
            overlay,
            started,
            decide_us: (decided - started).as_micros() as u64,
            tiles_us: decided.elapsed().as_micros() as u64,
        })
    }
}
