//! The sequencer's last two stages: the committer, which makes each batch's checkpoint
//! durable, publishes it and answers the batch's submitters, and the recorder, which
//! then records the batch in the catalog.
//!
//! The writer ([`crate::sequencer`]) decides a batch and writes its tiles durably, then
//! hands it here and goes on to the next batch, so that batch N+1's tiles are written
//! while batch N's checkpoint is. The invariant (ARCHITECTURE.md, *The sequencer's
//! pipeline*):
//!
//! - a batch is answered only after its own checkpoint is durable, and that checkpoint
//!   covers its tiles, which were durable before the checkpoint was written;
//! - checkpoints are stored and published in the order the batches were decided, each
//!   one swapped in place of the one before it;
//! - when a batch fails, every batch after it that is already in the pipeline fails too
//!   (its decisions may rest on the failed one), until the writer has drained the
//!   pipeline and recovered from what storage holds;
//! - the catalog records a batch only after its checkpoint is durable, and the writer
//!   decides through the batches it has not recorded yet ([`Overlay`]).
//!
//! Both stages run on threads of their own once the log runs; before that (the log's own
//! entries at start) they run inline on the caller's thread, in the same order.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use signet_core::state::Decision;
use signet_core::{Checkpoint, Hash, SignedCheckpoint, SigningKey, Statement, TileId};
use tokio::sync::oneshot;

use crate::catalog::{Appended, Catalog};
use crate::decider::Overlay;
use crate::head::Head;
use crate::sequencer::{Answer, Shared};
use crate::tree::TileNodes;
use crate::witness::{ConsistencyProofs, Cosigners};
use crate::{Error, Storage};

/// Batches waiting between the writer and the committer: none. The writer hands a batch
/// over only when the committer takes it, so it is at most one batch ahead of the
/// checkpoint being written, and the submissions that arrive meanwhile make the next
/// batch larger instead of making more batches (each batch pays for a checkpoint and,
/// with witnesses, a round of cosignatures).
const COMMIT_QUEUE: usize = 0;
/// Batches waiting for the recorder before the committer waits for it.
const RECORD_QUEUE: usize = 16;
/// How long the committer may wait for room in the recorder's queue before it says so:
/// while it waits, the next batch's submitters wait too.
const RECORDER_STALL: Duration = Duration::from_millis(500);

/// Wakes the writer when a later stage has failed, so that it recovers even while no
/// submission arrives.
pub(crate) type Wake = Arc<dyn Fn() + Send + Sync>;

/// One submitter's place in a batch: where its answer goes.
pub(crate) type Reply = oneshot::Sender<Answer>;

/// A batch that the writer has decided, whose tiles are durable.
#[derive(Debug)]
pub(crate) struct Decided {
    pub(crate) replies: Vec<Reply>,
    /// What kind each entry is, for the metrics.
    pub(crate) kinds: Vec<Kind>,
    pub(crate) decisions: Vec<Decision>,
    /// The new tree, when the batch appends anything.
    pub(crate) built: Option<Built>,
    /// The catalog rows of what it appends.
    pub(crate) rows: Vec<Appended>,
    /// The batch as the writer decides later batches through it, until it is recorded.
    pub(crate) overlay: Arc<Overlay>,
    /// When the writer started on it, and how long deciding and writing tiles took.
    pub(crate) started: Instant,
    pub(crate) decide_us: u64,
    pub(crate) tiles_us: u64,
}

/// The kind of a submitted entry, as the metrics count it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Letter,
    Endorsement,
    Withdrawal,
    Other,
}

impl Kind {
    pub(crate) fn of(statement: &Statement) -> Kind {
        match statement {
            Statement::Letter(_) => Kind::Letter,
            Statement::Endorsement(_) => Kind::Endorsement,
            Statement::Withdrawal(_) => Kind::Withdrawal,
            // Appointments and moderations are few; the log's size counts them with
            // everything else.
            Statement::Moderator(_) | Statement::Moderation(_) => Kind::Other,
        }
    }
}

/// The tree after a batch whose tiles are durable.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) size: u64,
    pub(crate) root: Hash,
    /// The hash tiles written, for the readers' cache once the checkpoint is durable.
    pub(crate) hash_tiles: Vec<(TileId, Vec<Hash>)>,
    /// The full tiles written, whose partial versions can go once it is durable.
    pub(crate) full: Vec<TileId>,
    pub(crate) tiles: usize,
}

/// What the committer hands the recorder.
#[derive(Debug)]
struct Committed {
    rows: Vec<Appended>,
    size: u64,
    root: Hash,
    overlay: Arc<Overlay>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "nearly every message is a batch; boxing would allocate for each"
)]
enum ToCommit {
    Batch(Decided),
    /// Answer once everything sent before has been committed (or failed) and recorded,
    /// and take batches again after a failure.
    Drain(SyncSender<()>),
}

enum ToRecord {
    Batch(Committed),
    Drain(SyncSender<()>),
}

/// Signs, stores and publishes each batch's checkpoint, and answers its submitters.
#[derive(Debug)]
pub(crate) struct Committer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) key: SigningKey,
    /// The witnesses asked to cosign each new checkpoint.
    pub(crate) cosigners: Option<Arc<dyn Cosigners>>,
    /// Set by a failed batch: every later batch fails too, until a drain.
    poisoned: bool,
}

/// Records each committed batch in the catalog, on a connection of its own.
#[derive(Debug)]
pub(crate) struct Recorder {
    pub(crate) shared: Arc<Shared>,
    pub(crate) catalog: Catalog,
}

/// Where the writer hands its batches.
#[derive(Debug)]
pub(crate) struct Next(Stages);

#[derive(Debug)]
enum Stages {
    /// The stages run on the writer's thread (before the log runs).
    Inline(Box<(Committer, Recorder)>),
    /// The stages run on their own threads.
    Threads {
        to_commit: SyncSender<ToCommit>,
        threads: Vec<JoinHandle<()>>,
    },
}

impl Committer {
    pub(crate) fn new(shared: Arc<Shared>, storage: Arc<dyn Storage>, key: SigningKey) -> Self {
        Committer {
            shared,
            storage,
            key,
            cosigners: None,
            poisoned: false,
        }
    }

    /// Commits one batch and answers its submitters; what the recorder should record, or
    /// `None` when the batch failed.
    fn commit(&mut self, mut d: Decided) -> Option<Committed> {
        if self.poisoned {
            not_stored(d.replies);
            return None;
        }
        let committed = Instant::now();
        let head = match &mut d.built {
            // Nothing appended: the answers (duplicates, conflicts, refusals) may name
            // entries of earlier batches, which are all published by now.
            None => self.shared.head(),
            Some(built) => match self.store_checkpoint(built) {
                Ok(head) => head,
                Err(e) => {
                    // Every later batch fails too, until the writer drains the pipeline.
                    self.poisoned = true;
                    self.shared.fail_batch(&e, d.replies);
                    return None;
                }
            },
        };
        let metrics = &self.shared.metrics;
        metrics.batch_size.observe(d.replies.len() as f64);
        for ((reply, decision), kind) in d.replies.into_iter().zip(d.decisions).zip(d.kinds) {
            match &decision {
                Decision::Append { .. } => match kind {
                    Kind::Letter => metrics.letters.add(1),
                    Kind::Endorsement => metrics.endorsements.add(1),
                    Kind::Withdrawal => metrics.withdrawals.add(1),
                    Kind::Other => {}
                },
                Decision::Logged { .. } => metrics.duplicates.add(1),
                Decision::Conflict { .. } => metrics.conflicts.add(1),
                Decision::Refused(_) => metrics.rejected.add(1),
            }
            let answer = match decision {
                Decision::Refused(e) => Err(Error::Entry(e)),
                decision => Ok((decision, head.clone())),
            };
            let _ = reply.send(answer);
        }
        metrics
            .integration_seconds
            .observe(d.started.elapsed().as_secs_f64());
        if let Some(built) = &d.built {
            tracing::debug!(
                entries = d.rows.len(),
                tiles = built.tiles,
                decide_us = d.decide_us,
                tiles_us = d.tiles_us,
                checkpoint_us = committed.elapsed().as_micros() as u64,
                "batch committed"
            );
            for tile in &built.full {
                if let Err(e) = self.storage.delete_partial_tiles(*tile) {
                    tracing::warn!(tile = %tile.path(), error = %e, "could not delete partial tiles");
                }
            }
        }
        Some(Committed {
            rows: d.rows,
            size: head.size,
            root: head.root,
            overlay: d.overlay,
        })
    }

    /// Signs the checkpoint of `built`, swaps it in place of the published one, has it
    /// cosigned, and publishes it. Its hash tiles move into the readers' cache.
    fn store_checkpoint(&self, built: &mut Built) -> Result<Arc<Head>, Error> {
        let (size, root) = (built.size, built.root);
        let published = self.shared.head();
        let checkpoint = Checkpoint {
            origin: self.key.name().as_str().to_owned(),
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
            .swap_checkpoint(Some(published.text.as_bytes()), text.as_bytes())?;

        // Committed: the tiles and the checkpoint are durable.
        let reader = &self.shared.reader;
        for (tile, hashes) in std::mem::take(&mut built.hash_tiles) {
            // The tile's version in the last tree, a partial one, is stale now: without
            // this, every batch would leave one more partial tile in the cache, and after
            // thousands of batches they would push out the full tiles proofs need.
            if let Some(old) = TileId::in_tree(tile.level, tile.index, published.size)
                && old.width != tile.width
            {
                reader.forget_hash_tile(old);
            }
            reader.insert_hash_tile(tile, Arc::new(TileNodes::new(hashes)));
        }
        let (signed, text) = self.witness(signed, text, size);
        let head = Arc::new(Head {
            size,
            root,
            checkpoint: signed,
            text,
        });
        self.shared.publish(head.clone());
        Ok(head)
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

    /// [`Committer::commit`], but a panic (a bug) stops the log: the batch's submitters
    /// see their replies dropped, and every later batch fails.
    fn commit_guarded(&mut self, d: Decided) -> Option<Committed> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit(d))) {
            Ok(c) => c,
            Err(_) => {
                tracing::error!("the committer panicked; refusing submissions until restart");
                self.shared.panicked();
                self.poisoned = true;
                None
            }
        }
    }
}

impl Recorder {
    /// Records a committed batch in the catalog, unless the catalog is already behind
    /// (a failed record is caught up by the writer from the log, and until then the
    /// batch stays in the writer's view).
    fn record(&mut self, c: Committed) {
        let shared = &self.shared;
        if shared.catalog_behind() {
            return;
        }
        let started = Instant::now();
        let recorded = if c.rows.is_empty() {
            Ok(())
        } else {
            self.catalog.record(&c.rows, c.size, &c.root)
        };
        match recorded {
            Ok(()) => {
                shared.recorded(&c.overlay, c.size);
                if !c.rows.is_empty() {
                    tracing::debug!(
                        entries = c.rows.len(),
                        catalog_us = started.elapsed().as_micros() as u64,
                        "batch recorded"
                    );
                }
                // Readers already see the batch; keeping the WAL small only delays the
                // next record.
                let bounding = Instant::now();
                match self.catalog.bound_wal(crate::catalog::WAL_LIMIT) {
                    Ok(true) => tracing::debug!(
                        wal_us = bounding.elapsed().as_micros() as u64,
                        "catalog WAL emptied"
                    ),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "the catalog WAL could not be emptied"),
                }
            }
            Err(e) => {
                // The entries are durable and acknowledged; the writer catches the
                // catalog up from the log before it decides another batch.
                tracing::error!(error = %e, "the catalog could not record a batch; it will catch up");
                shared.set_catalog_behind(true);
            }
        }
    }

    fn record_guarded(&mut self, c: Committed) {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.record(c))).is_err() {
            tracing::error!("the catalog recorder panicked; refusing submissions until restart");
            self.shared.panicked();
            self.shared.set_catalog_behind(true);
        }
    }
}

impl Next {
    /// The stages, to run inline until [`Next::spawn`].
    pub(crate) fn inline(committer: Committer, recorder: Recorder) -> Next {
        Next(Stages::Inline(Box::new((committer, recorder))))
    }

    /// Sets the witnesses asked to cosign each new checkpoint (before [`Next::spawn`]).
    pub(crate) fn set_cosigners(&mut self, cosigners: Option<Arc<dyn Cosigners>>) {
        if let Stages::Inline(stages) = &mut self.0 {
            stages.0.cosigners = cosigners;
        }
    }

    /// Hands a decided batch on: committed and recorded at once when inline; otherwise
    /// queued, waiting while the committer is a whole batch behind.
    pub(crate) fn send(&mut self, d: Decided) {
        match &mut self.0 {
            Stages::Inline(stages) => {
                let (committer, recorder) = &mut **stages;
                if let Some(c) = committer.commit_guarded(d) {
                    recorder.record_guarded(c);
                }
            }
            Stages::Threads { to_commit, .. } => {
                if let Err(std::sync::mpsc::SendError(ToCommit::Batch(d))) =
                    to_commit.send(ToCommit::Batch(d))
                {
                    // The committer is gone (it panicked): nothing can be made durable.
                    not_stored(d.replies);
                }
            }
        }
    }

    /// Returns once every batch handed on before has been answered and recorded (or
    /// failed), and lets the committer take batches again after a failure.
    pub(crate) fn drain(&mut self) {
        match &mut self.0 {
            Stages::Inline(stages) => stages.0.poisoned = false,
            Stages::Threads { to_commit, .. } => {
                let (done, wait) = std::sync::mpsc::sync_channel(1);
                if to_commit.send(ToCommit::Drain(done)).is_ok() {
                    // An error means a stage is gone: then nothing is in flight either.
                    let _ = wait.recv();
                }
            }
        }
    }

    /// Moves the stages onto threads of their own; a stage that fails calls `wake`.
    pub(crate) fn spawn(&mut self, wake: Wake) -> Result<(), Error> {
        let running = Stages::Threads {
            to_commit: std::sync::mpsc::sync_channel(0).0,
            threads: Vec::new(),
        };
        let stages = match std::mem::replace(&mut self.0, running) {
            Stages::Inline(stages) => stages,
            already => {
                self.0 = already;
                return Ok(());
            }
        };
        let (mut committer, mut recorder) = *stages;
        let (to_record, records) = std::sync::mpsc::sync_channel(RECORD_QUEUE);
        let wake_writer = wake.clone();
        let recorder = std::thread::Builder::new()
            .name("signet-recorder".into())
            .spawn(move || {
                for msg in records {
                    match msg {
                        ToRecord::Batch(c) => {
                            let behind = recorder.shared.catalog_behind();
                            recorder.record_guarded(c);
                            if !behind && recorder.shared.catalog_behind() {
                                wake_writer();
                            }
                        }
                        ToRecord::Drain(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| Error::io("spawn", "the catalog recorder thread", e))?;
        let (to_commit, batches) = std::sync::mpsc::sync_channel(COMMIT_QUEUE);
        let committer = std::thread::Builder::new()
            .name("signet-committer".into())
            .spawn(move || run_committer(&mut committer, &batches, &to_record, &wake))
            .map_err(|e| Error::io("spawn", "the committer thread", e))?;
        self.0 = Stages::Threads {
            to_commit,
            threads: vec![committer, recorder],
        };
        Ok(())
    }

    /// Lets every batch handed on finish, then stops the stages' threads.
    pub(crate) fn finish(self) {
        if let Stages::Threads { to_commit, threads } = self.0 {
            drop(to_commit);
            for t in threads {
                if t.join().is_err() {
                    tracing::error!("a sequencer stage's thread panicked");
                }
            }
        }
    }
}

/// Answers every submitter of a batch that was not made durable.
pub(crate) fn not_stored(replies: impl IntoIterator<Item = Reply>) {
    for reply in replies {
        let _ = reply.send(Err(Error::NotStored));
    }
}

fn run_committer(
    committer: &mut Committer,
    batches: &Receiver<ToCommit>,
    to_record: &SyncSender<ToRecord>,
    wake: &Wake,
) {
    for msg in batches {
        let sent = match msg {
            ToCommit::Batch(d) => {
                let poisoned = committer.poisoned;
                let committed = committer.commit_guarded(d);
                if !poisoned && committer.poisoned {
                    wake();
                }
                match committed {
                    Some(c) => {
                        let waiting = Instant::now();
                        let sent = to_record.send(ToRecord::Batch(c));
                        let waited = waiting.elapsed();
                        if waited >= RECORDER_STALL {
                            // The next batch's answers waited for the catalog meanwhile.
                            tracing::warn!(
                                waited_ms = waited.as_millis() as u64,
                                queue = RECORD_QUEUE,
                                "the catalog recorder fell a whole queue of batches behind; acknowledgements waited for it"
                            );
                        }
                        sent
                    }
                    None => Ok(()),
                }
            }
            ToCommit::Drain(done) => {
                committer.poisoned = false;
                to_record.send(ToRecord::Drain(done))
            }
        };
        if sent.is_err() {
            // The recorder is gone (it panicked); the log refuses submissions already.
            committer.poisoned = true;
        }
    }
}
