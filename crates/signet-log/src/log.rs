//! The log as the server sees it: opening a data directory (key, start-up checks,
//! recovery, catalog, letters), submitting entries, and reading checkpoints, tiles, proofs
//! and the catalog.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use signet_core::entry::LetterRegistration;
use signet_core::keys::SignatureType;
use signet_core::state::Decision;
use signet_core::{
    Checkpoint, Entry, Hash, KeyName, LetterId, SigningKey, Statement, TileId, Timestamp,
    TlogProof, VerifierKey,
};

use crate::catalog::{
    Catalog, CatalogReader, ClaimResult, ClaimWriter, LetterInfo, ShownClaim, SignatoryPage,
    SignatoryQuery,
};
use crate::fs::{FsStorage, local_error};
use crate::head::{Ack, Head, tlog_proof};
use crate::letters::{HostedLetter, load_letters};
use crate::metrics::LogMetrics;
use crate::recovery::load_edge;
use crate::sequencer::{Sequencer, Writer};
use crate::tree::TreeReader;
use crate::witness::Cosigners;
use crate::{Error, Storage};

/// The longest a catalog read waits for the catalog to record what was acknowledged.
const CATALOG_WAIT: Duration = Duration::from_secs(2);

/// How often the catalog's WAL is checkpointed into the database in the background.
///
/// Each checkpoint ends in an fsync of the database, which writes every page changed
/// since the one before. Every 500 ms that was 2–3 MB under load, a 14–21 ms fsync
/// that held up the log's own fsyncs queued behind it on the disk, and it set the ack
/// latency's p99. Every 50 ms the same pages go out in tenth-size pieces (BENCHMARKS.md,
/// *The index's fsyncs in the ack latency*).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(50);

/// The origin of a new log when none is given: a schema-less URL naming this machine.
pub const DEFAULT_ORIGIN: &str = "localhost/signet";

/// How to open a log.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory (`log/`, `log.key`, `log.vkey`, the catalog and the lock).
    pub data_dir: PathBuf,
    /// The hosted letters; `<data>/letters` when `None`.
    pub letters_dir: Option<PathBuf>,
    /// The origin: required to match the stored one, or chosen at the first start
    /// ([`DEFAULT_ORIGIN`] when `None`).
    pub origin: Option<String>,
    /// How long the sequencer gathers submissions before integrating them.
    pub batch_interval: Duration,
    /// How many submissions may wait; more are refused as overloaded.
    pub pool_size: usize,
    /// The most submissions integrated in one batch.
    pub max_batch: usize,
    /// Rebuild the catalog (`index.sqlite`) from the log.
    pub reindex: bool,
    /// Hash tiles kept parsed in memory (about 16 KiB each); 256 times as many, once
    /// read back, keep the roots of their runs of 16 hashes (about 0.6 KiB each).
    pub tile_cache: usize,
    /// The moderators to appoint: each key the log has not appointed yet is appointed at
    /// start, once, by an entry the log signs (see docs/operating.md, *Moderators*).
    pub moderators: Vec<VerifierKey>,
    /// The witnesses asked to cosign each checkpoint, if any (docs/protocol.md,
    /// *Witnesses*).
    pub cosigners: Option<Arc<dyn Cosigners>>,
}

impl Config {
    /// The defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            letters_dir: None,
            origin: None,
            batch_interval: Duration::from_millis(5),
            pool_size: 8192,
            max_batch: 4096,
            reindex: false,
            tile_cache: 256,
            moderators: Vec::new(),
            cosigners: None,
        }
    }
}

/// A registered letter with what the letters folder says about it.
#[derive(Debug, Clone)]
pub struct LetterDetails {
    /// What the log records.
    pub info: LetterInfo,
    /// The canonical text, when the letter is hosted here.
    pub text: Option<String>,
    /// Where it was published, when known.
    pub source: Option<String>,
}

/// An open log: one per data directory; its storage backend holds the single-writer
/// lock until the log is dropped.
#[derive(Debug)]
pub struct Log {
    sequencer: Sequencer,
    verifier: VerifierKey,
    catalog: CatalogReader,
    claims: ClaimWriter,
    hosted: HashMap<LetterId, HostedLetter>,
    checkpointer: Mutex<Option<(JoinHandle<()>, std::sync::mpsc::Sender<()>)>>,
    data_dir: PathBuf,
    cosigners: Option<Arc<dyn Cosigners>>,
}

fn now() -> Result<Timestamp, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Timestamp::from_unix(secs)
        .map_err(Error::from)
        .map_err(Error::internal("reading the clock for a registration"))
}

impl Log {
    /// Opens the log in `config.data_dir` with the file-system backend (`<data>/log/`,
    /// locked through `<data>/lock`). Blocks: call it outside an async context (or in
    /// `spawn_blocking`).
    pub fn open(config: Config) -> Result<Log, Error> {
        let storage = FsStorage::open(&config.data_dir)?;
        Log::open_with(config, Arc::new(storage))
    }

    /// Opens the log kept by another storage backend, which holds the store's
    /// single-writer lock. The key and the catalog still live in `config.data_dir`; the
    /// log needs no other local disk.
    pub fn open_with(config: Config, storage: Arc<dyn Storage>) -> Result<Log, Error> {
        let data = config.data_dir.clone();
        let with_dir = |e: Error| match e {
            Error::Corrupt { reason, .. } => Error::Corrupt {
                dir: data.clone(),
                reason,
            },
            Error::RolledBack { reason, .. } => Error::RolledBack {
                dir: data.clone(),
                reason,
            },
            // Found at start, corrupt storage means the log cannot be opened at all.
            Error::CorruptStorage { file, reason } => Error::Corrupt {
                dir: data.clone(),
                reason: format!(
                    "{file} {reason}; restore it from a backup or a mirror \
                     (signet-server --check lists every bad file)"
                ),
            },
            e => e,
        };
        // Before reading anything, make durable what a killed predecessor may have left
        // undurable: the key files' names in the data folder, and the log's own data.
        signet_fs::create_dir_all(&data).map_err(local_error)?;
        signet_fs::sync_dir(&data).map_err(local_error)?;
        storage.make_durable()?;
        let key = start_key(&config, storage.as_ref()).map_err(with_dir)?;
        let verifier = key.verifier();
        signet_fs::replace(&data.join("log.vkey"), format!("{verifier}\n").as_bytes())
            .map_err(local_error)?;

        let catalog_path = data.join("index.sqlite");
        let mut writer = match open_writer(&config, &storage, &key, &catalog_path) {
            Err(e @ (Error::Catalog(_) | Error::CatalogDamaged { .. })) => {
                // The catalog is derived data: one that cannot be opened or read is moved
                // aside and rebuilt from the log, which is the truth.
                let aside = move_catalog_aside(&catalog_path)?;
                tracing::warn!(
                    error = %e,
                    moved_to = %aside.display(),
                    "the catalog cannot be read; it is derived data, so it was moved aside and \
                     is rebuilt from the log"
                );
                open_writer(&config, &storage, &key, &catalog_path)
            }
            other => other,
        }
        .map_err(with_dir)?;
        writer.set_cosigners(config.cosigners.clone());
        let (stop_checkpointer, stop) = std::sync::mpsc::channel();
        let checkpointer =
            Catalog::spawn_checkpointer(catalog_path.clone(), CHECKPOINT_EVERY, stop)?;

        let letters_dir = config
            .letters_dir
            .clone()
            .unwrap_or_else(|| data.join("letters"));
        let hosted = load_letters(&letters_dir)?;
        register_letters(&mut writer, &key, &hosted)?;
        crate::moderators::appoint(&mut writer, &key, &config.moderators, now()?)?;

        let sequencer = writer.spawn(config.pool_size, config.batch_interval)?;

        Ok(Log {
            sequencer,
            verifier,
            claims: ClaimWriter::new(catalog_path.clone()),
            catalog: CatalogReader::new(catalog_path),
            hosted: hosted.into_iter().map(|h| (h.letter.id(), h)).collect(),
            checkpointer: Mutex::new(Some((checkpointer, stop_checkpointer))),
            data_dir: data,
            cosigners: config.cosigners.clone(),
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The log's origin (its key name).
    pub fn origin(&self) -> &str {
        self.verifier.name().as_str()
    }

    /// The log's verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The witnesses asked to cosign checkpoints, by their names in the policy, with
    /// their cosigner keys (none without a witness policy).
    pub fn witnesses(&self) -> Vec<(String, VerifierKey)> {
        self.cosigners
            .as_ref()
            .map(|c| c.witnesses())
            .unwrap_or_default()
    }

    /// The witness policy the log's checkpoints are cosigned under (none without one).
    pub fn witness_policy(&self) -> Option<&signet_core::policy::Policy> {
        self.cosigners.as_ref().and_then(|c| c.policy())
    }

    /// The witness client's metrics, in the Prometheus text format (nothing without a
    /// witness policy).
    pub fn render_witness_metrics(&self, out: &mut String) {
        if let Some(c) = &self.cosigners {
            c.render_metrics(out);
        }
    }

    /// The latest durable checkpoint.
    pub fn head(&self) -> Arc<Head> {
        self.sequencer.head()
    }

    /// Whether the log accepts submissions: `Err` with the reason, in words an operator
    /// can act on, while it cannot write or has found corrupt storage.
    pub fn health(&self) -> Result<(), String> {
        if let Some(corrupt) = self.sequencer.reader().corruption() {
            return Err(format!(
                "corrupt storage: {corrupt}; restore it from a backup or a mirror, then restart"
            ));
        }
        self.sequencer.health()
    }

    /// How many reads found stored data that does not hash to the signed checkpoint
    /// (each is refused, never served).
    pub fn corrupt_storage_reads(&self) -> u64 {
        self.sequencer.reader().corrupt_reads()
    }

    /// What the sequencer measured.
    pub fn metrics(&self) -> &LogMetrics {
        self.sequencer.metrics()
    }

    /// Submits a parsed, verified entry (the caller has checked its time against its
    /// clock) and waits until it is durable, or refused.
    pub async fn submit(&self, entry: Entry) -> Result<Ack, Error> {
        let leaf_hash = entry.leaf_hash();
        let bytes = entry.bytes().to_vec();
        let answer = self.sequencer.submit(entry)?;
        let (decision, head) = answer
            .await
            .map_err(|_| Error::Closed("it is shutting down"))??;
        // The writer chose these indexes and this head: a failure to prove them is the
        // log's, never the submitter's.
        let internal = || Error::internal("proving the answer to a submission");
        match decision {
            Decision::Append { index, .. } | Decision::Logged { index } => {
                let proof = self.proof_at(&head, index).map_err(internal())?;
                Ok(Ack {
                    index,
                    leaf_hash,
                    new: matches!(decision, Decision::Append { .. }),
                    entry: bytes,
                    head,
                    proof,
                })
            }
            Decision::Conflict { active_index } => {
                let entry = self.entry(active_index).map_err(internal())?;
                let proof = self.proof_at(&head, active_index).map_err(internal())?;
                Err(Error::Conflict(Box::new(Ack {
                    index: active_index,
                    leaf_hash: Hash::leaf(&entry),
                    new: false,
                    entry,
                    head,
                    proof,
                })))
            }
            Decision::Refused(e) => Err(Error::Entry(e)),
        }
    }

    /// Runs a read of the stored tree at the latest checkpoint. A partial tile may be
    /// deleted by a batch that completes it between reading the head and reading the
    /// tile; the read is then retried at the newer head.
    fn read_tree<R>(&self, f: impl Fn(&TreeReader, &Head) -> Result<R, Error>) -> Result<R, Error> {
        let mut head = self.head();
        loop {
            match f(self.sequencer.reader(), &head) {
                Err(Error::BadTile { tile, reason }) => {
                    let newer = self.head();
                    if newer.size == head.size {
                        return Err(Error::BadTile { tile, reason });
                    }
                    head = newer;
                }
                other => return other,
            }
        }
    }

    fn proof_at(&self, at: &Head, index: u64) -> Result<TlogProof, Error> {
        self.read_tree(|reader, head| tlog_proof(reader, at, index, head.size))
    }

    /// Runs the reads in `f` (proofs, entries, tiles) from the caches of already checked
    /// tiles only, never touching storage: `None` when `f` needed storage, and must then
    /// run again where blocking is allowed. A server calls this on its async workers and
    /// hands only the misses to a blocking thread.
    pub fn cached<R>(&self, f: impl FnOnce(&Log) -> R) -> Option<R> {
        crate::tree::cached(|| f(self))
    }

    /// The `.tlog-proof` of entry `index` at the latest checkpoint.
    pub fn tlog_proof(&self, index: u64) -> Result<TlogProof, Error> {
        self.read_tree(|reader, head| tlog_proof(reader, head, index, head.size))
    }

    /// The inclusion proof of `index` in the tree of `size` (at most the current size).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, Error> {
        self.read_tree(|reader, head| reader.inclusion(index, size, head.size))
    }

    /// The consistency proof from `old` to `size` (at most the current size).
    pub fn consistency_proof(&self, old: u64, size: u64) -> Result<Vec<Hash>, Error> {
        self.read_tree(|reader, head| reader.consistency(old, size, head.size))
    }

    /// The bytes of entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>, Error> {
        self.read_tree(|reader, head| reader.entry(index, head.size))
    }

    /// The bytes of a tile as served at its tlog-tiles path, or `None` when the current
    /// tree does not cover it.
    pub fn tile(&self, tile: TileId) -> Result<Option<bytes::Bytes>, Error> {
        self.read_tree(|reader, head| {
            if !tile.covered_by(head.size) {
                return Ok(None);
            }
            reader.tile_bytes(tile, head.size).map(Some)
        })
    }

    /// Waits until the catalog reflects every entry acknowledged before the call, at
    /// most [`CATALOG_WAIT`]: the catalog records each batch just after its submitters
    /// are answered, and a reader who was answered must find their entry. Past the wait
    /// (a catalog that cannot keep up, or one being caught up after a failure) the read
    /// goes ahead on what the catalog has.
    fn caught_up(&self) {
        if !self.sequencer.wait_cataloged(CATALOG_WAIT) {
            tracing::debug!("the catalog is behind the log; answering from what it has");
        }
    }

    /// The registered letters, in order of registration.
    pub fn letters(&self) -> Result<Vec<LetterInfo>, Error> {
        self.caught_up();
        self.catalog.letters()
    }

    /// A registered letter by ID (`sha256:...`) or slug.
    pub fn letter(&self, id_or_slug: &str) -> Result<Option<LetterDetails>, Error> {
        let id = id_or_slug.parse::<LetterId>().ok();
        let info = self
            .letters()?
            .into_iter()
            .find(|l| Some(l.id) == id || l.slug == id_or_slug);
        Ok(info.map(|info| {
            let hosted = self.hosted.get(&info.id);
            LetterDetails {
                text: hosted.map(|h| h.letter.text().to_owned()),
                source: hosted.and_then(|h| h.source.clone()),
                info,
            }
        }))
    }

    /// The appointed moderators, in order of appointment.
    pub fn moderators(&self) -> Result<Vec<crate::catalog::ModeratorInfo>, Error> {
        self.caught_up();
        self.catalog.moderators()
    }

    /// A page of a letter's signatories.
    pub fn signatories(&self, query: &SignatoryQuery) -> Result<SignatoryPage, Error> {
        self.caught_up();
        self.catalog.signatories(query)
    }

    /// A page of the signatory list (as [`Log::signatories`]) of only the signers with
    /// (`true`) or without (`false`) a verified identity claim: a claim of their shown
    /// endorsement whose last check held. The reader's pages list the first group
    /// before the second.
    pub fn signatories_verified(
        &self,
        query: &SignatoryQuery,
        verified: bool,
    ) -> Result<SignatoryPage, Error> {
        self.caught_up();
        self.catalog.signatories_by(query, Some(verified))
    }

    /// The hide in effect on a signer (by 32-byte key) of a letter, if it is hidden now.
    pub fn hidden_by(
        &self,
        letter: &signet_core::LetterId,
        key: &[u8; 32],
    ) -> Result<Option<crate::HiddenBy>, Error> {
        self.caught_up();
        self.catalog.hidden_by(letter, key)
    }

    /// The last check of each identity claim of a signer (by 32-byte key).
    pub fn claim_results(&self, key: &[u8; 32]) -> Result<Vec<ClaimResult>, Error> {
        self.catalog.claim_results(key)
    }

    /// Every identity claim of every signer shown now, with its last check time.
    pub fn shown_claims(&self) -> Result<Vec<ShownClaim>, Error> {
        self.caught_up();
        self.catalog.shown_claims()
    }

    /// Records the result of a claim check in the catalog (a cache: a rebuild drops it).
    pub fn record_claim(&self, result: &ClaimResult) -> Result<(), Error> {
        self.claims.record(result)
    }

    /// A signer's record for a letter (its status and the indexes of its first, shown
    /// and latest entries), or `None` when that key never endorsed it.
    pub fn signer(
        &self,
        letter: &signet_core::LetterId,
        key: &[u8; 32],
    ) -> Result<Option<signet_core::state::SignerRecord>, Error> {
        self.caught_up();
        self.catalog.signer(letter, key)
    }

    /// Stops taking submissions, integrates every one already queued, and waits for the
    /// sequencer to finish. Blocks.
    pub fn close(&self) {
        self.sequencer.stop();
        let checkpointer = self
            .checkpointer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((h, stop)) = checkpointer {
            drop(stop);
            let _ = h.join();
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}

/// Reads the right edge of the stored tree (checking it against the checkpoint), opens
/// the catalog, refuses a rolled-back log, and builds the writer, which catches the
/// catalog up with the log.
fn open_writer(
    config: &Config,
    storage: &Arc<dyn Storage>,
    key: &SigningKey,
    catalog_path: &Path,
) -> Result<Writer, Error> {
    let verifier = key.verifier();
    let reader = TreeReader::new(storage.clone(), verifier.clone(), config.tile_cache, 16);
    let (head, edge) = load_edge(&reader, &verifier)?;
    tracing::info!(
        size = head.size,
        "the stored checkpoint is consistent with its tiles"
    );
    let (size, root) = (head.size, head.root);
    let catalog = Catalog::open(catalog_path)?;
    let (cataloged, cataloged_root) = catalog.position()?;
    // The catalog is committed after the checkpoint, so no crash leaves it ahead of the
    // log: a catalog ahead means the log was put back to an older state.
    let refuse = |what: String| Error::RolledBack {
        dir: PathBuf::new(),
        reason: format!(
            "{what}. The log was put back to an older state (a restored backup or a replaced \
             checkpoint), and signing anything now would fork the log that readers have \
             already seen. Put back the latest log/ (its checkpoint and tiles); only if this \
             older log must really go on, knowing that it forks the log for everyone who saw \
             the newer one, move {} away first (see docs/operating.md, *Backups*)",
            catalog_path.display()
        ),
    };
    if cataloged > size {
        return Err(refuse(format!(
            "the catalog reflects a log of {cataloged} entries, but the stored checkpoint has \
             only {size}"
        )));
    }
    // `Hash`'s equality is constant-time.
    if cataloged == size
        && size > 0
        && let Some(r) = cataloged_root
        && r != root
    {
        return Err(refuse(format!(
            "the catalog reflects a log of {size} entries with root {r}, but the stored \
             checkpoint of that size has root {root}"
        )));
    }
    Writer::new(
        storage.clone(),
        reader,
        (head, edge),
        key.clone(),
        catalog,
        config.max_batch,
        config.reindex,
    )
}

/// Moves an unreadable catalog (and its write-ahead log) aside; returns the new name.
fn move_catalog_aside(index_path: &Path) -> Result<PathBuf, Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut aside = index_path.as_os_str().to_owned();
    aside.push(format!(".corrupt-{secs}"));
    let aside = PathBuf::from(aside);
    for suffix in ["", "-wal", "-shm"] {
        let mut from = index_path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("move aside", PathBuf::from(from), e)),
        }
    }
    signet_fs::sync_dir(signet_fs::parent_of(index_path)).map_err(local_error)?;
    Ok(aside)
}

/// Reads the log's key, or makes one at the first start, after checking that the key
/// and the stored log belong together.
///
/// The first start makes the key durable last: it signs and stores the empty tree's
/// checkpoint with the new key held in memory, then stores the key. So a key without a
/// log can only mean that the log was emptied, and a checkpoint without a key either an
/// interrupted first start (size 0, never served) or a lost key.
fn start_key(config: &Config, storage: &dyn Storage) -> Result<SigningKey, Error> {
    let path = config.data_dir.join("log.key");
    let stored = storage.read_checkpoint()?;
    if let Some(key) = read_key(&path)? {
        if let Some(origin) = &config.origin
            && origin != key.name().as_str()
        {
            return Err(Error::Config(format!(
                "this log's origin is {:?} and cannot change (--origin {origin:?} was given); \
                 use another --data directory for a new log",
                key.name().as_str()
            )));
        }
        if stored.is_none() {
            let reason = if storage.is_empty()? {
                format!(
                    "the log key {} exists but the log is empty or missing. That key already \
                     signed a log, and a new log under it would be a fork of it. Put back the \
                     log from a backup; or, to start a new log, move {} away as well (the new \
                     log gets a new key)",
                    path.display(),
                    path.display()
                )
            } else {
                "the log holds tiles but no checkpoint; restore the checkpoint from a backup".into()
            };
            return Err(Error::Corrupt {
                dir: PathBuf::new(),
                reason,
            });
        }
        return Ok(key);
    }
    match &stored {
        Some(bytes) => {
            let size = signet_core::SignedCheckpoint::parse(bytes)
                .map(|c| c.checkpoint().size)
                .map_err(|e| Error::Corrupt {
                    dir: PathBuf::new(),
                    reason: format!(
                        "the log key {} is missing and the stored checkpoint does not parse \
                         ({e}); restore both from a backup",
                        path.display()
                    ),
                })?;
            if size > 0 {
                return Err(Error::Corrupt {
                    dir: PathBuf::new(),
                    reason: format!(
                        "the log key {} is missing, but the log holds {size} entries signed \
                         with it: the key was lost. Restore it from a backup; a new key cannot \
                         continue this log",
                        path.display()
                    ),
                });
            }
            tracing::warn!(
                "a first start was interrupted before its key was stored; its empty \
                 checkpoint, never served, is discarded and the first start begins again"
            );
        }
        None if !storage.is_empty()? => {
            return Err(Error::Corrupt {
                dir: PathBuf::new(),
                reason: format!(
                    "the log holds tiles but neither a checkpoint nor the key {}; restore both \
                     from a backup",
                    path.display()
                ),
            });
        }
        None => {}
    }
    let origin = config.origin.as_deref().unwrap_or(DEFAULT_ORIGIN);
    // The origin is the key name of the log's own entries, whose rule is stricter than a
    // note's (docs/protocol.md, *Key names*): checked here, so that a bad origin is a
    // clear error at the first start rather than a refused registration.
    let name = signet_core::entry::check_log_key_name(origin)
        .and_then(|()| KeyName::parse(origin))
        .map_err(|e| Error::Config(format!("--origin {origin:?} cannot be a log's origin: {e}")))?;
    let mut seed = zeroizing_seed();
    getrandom::fill(&mut seed[..]).map_err(|e| Error::NoRandomness(e.to_string()))?;
    let key = SigningKey::from_seed(name, SignatureType::Ed25519, &seed);
    let empty = Checkpoint {
        origin: key.name().as_str().to_owned(),
        size: 0,
        root: Hash::EMPTY_ROOT,
        extensions: Vec::new(),
    };
    let signed = empty
        .sign(&key)
        .map_err(Error::from)
        .map_err(Error::internal("signing the empty tree's checkpoint"))?;
    storage.swap_checkpoint(stored.as_deref(), signed.to_string().as_bytes())?;
    signet_fs::create_new(
        &path,
        format!("{}\n", key.to_secret_string().as_str()).as_bytes(),
        signet_fs::PRIVATE,
    )
    .map_err(local_error)?;
    tracing::info!(origin = %key.name(), "created a new log");
    Ok(key)
}

/// The log's key from `path`, or `None` when there is no such file. A key that other
/// users can read is refused, as ssh refuses one.
fn read_key(path: &Path) -> Result<Option<SigningKey>, Error> {
    use std::io::Read as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("open", path, e)),
    };
    let mode = file
        .metadata()
        .map_err(|e| Error::io("stat", path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(Error::KeyPermissions {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
        });
    }
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| Error::io("read", path, e))?;
    let key = SigningKey::parse(text.trim_end()).map_err(|e| Error::Corrupt {
        dir: PathBuf::new(),
        reason: format!("{} does not hold a signing key: {e}", path.display()),
    })?;
    Ok(Some(key))
}

/// A seed buffer that is wiped when dropped.
fn zeroizing_seed() -> Box<[u8; 32]> {
    // The seed lives only until `from_seed` copies it into the signing key, which
    // zeroises its own copy; this buffer is on the heap so that no stack copy lingers.
    Box::new([0u8; 32])
}

/// Registers every hosted letter that the log does not know yet, in one batch.
fn register_letters(
    writer: &mut Writer,
    key: &SigningKey,
    hosted: &[HostedLetter],
) -> Result<(), Error> {
    let known = writer.letters()?;
    let mut batch = Vec::new();
    let mut slugs = Vec::new();
    for h in hosted {
        if known.iter().any(|k| k.id == h.letter.id()) {
            continue;
        }
        if let Some(k) = known.iter().find(|k| k.slug == h.slug.as_str()) {
            return Err(Error::Config(format!(
                "the letter {:?} was registered as {}, but its file now hashes to {}; a letter's \
                 text never changes: give a new version a new slug",
                h.slug.as_str(),
                k.id,
                h.letter.id()
            )));
        }
        let statement = Statement::Letter(LetterRegistration {
            letter: h.letter.id(),
            slug: h.slug.clone(),
            title: h.title.clone(),
            language: h.language.clone(),
            time: now()?,
            key: key.verifier(),
        });
        batch.push(
            statement
                .sign(key)
                .map_err(Error::from)
                .map_err(Error::internal("signing a letter registration"))?,
        );
        slugs.push(h.slug.clone());
    }
    if batch.is_empty() {
        return Ok(());
    }
    for (slug, answer) in slugs.into_iter().zip(writer.integrate_now(batch)) {
        match answer {
            Ok((Decision::Append { .. } | Decision::Logged { .. }, head)) => {
                tracing::info!(slug = %slug, size = head.size, "registered letter")
            }
            // A registration the log signed now is new bytes: only a bug decides otherwise.
            Ok((other, _)) => {
                return Err(Error::Internal(format!(
                    "the registration of letter {slug} was decided as {other:?}"
                )));
            }
            // Refused by a rule of state: the letters folder asks for what the log holds.
            Err(Error::Entry(e)) => {
                return Err(Error::Config(format!(
                    "could not register the letter {slug}: {e}"
                )));
            }
            Err(e) => {
                tracing::error!(slug = %slug, error = %e, "could not register the letter");
                return Err(e);
            }
        }
    }
    Ok(())
}
