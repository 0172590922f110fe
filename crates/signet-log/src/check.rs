//! The offline audit of a stored log (`signet-server --check`): every bundle, every
//! tile, every signature and every rule of state.

use std::fmt;
use std::path::Path;

use std::sync::Arc;

use signet_core::state::LogState;
use signet_core::tiles::{TILE_HEIGHT, TILE_WIDTH, TileLevel};
use signet_core::{Entry, Hash, SignedCheckpoint, TileId, VerifierKey, merkle};

use crate::tree::TreeReader;
use crate::{Error, FsStorage, Storage};

/// One stored file that is wrong, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as its tlog-tiles path (`checkpoint`, `tile/0/001`, `tile/entries/000`).
    pub file: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

/// What [`check`] found: the log is sound when it found no problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The tree size of the stored checkpoint (0 when it cannot be read).
    pub size: u64,
    /// Entries read, verified and replayed.
    pub entries: u64,
    /// Hash tiles and entry bundles compared with what the entries give.
    pub files: u64,
    /// Every bad file, in the order found.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// True when nothing is wrong.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, file: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem {
            file: file.into(),
            reason: reason.into(),
        });
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_sound() {
            return write!(
                f,
                "the log is sound: {} entries and {} files check against the signed checkpoint",
                self.entries, self.files
            );
        }
        writeln!(
            f,
            "the log has {} bad file(s) (checkpoint size {}):",
            self.problems.len(),
            self.size
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Audits the log in the data directory `data_dir` offline: takes the store's lock (so
/// it refuses to run beside a server) and reads the log's key from `log.vkey`.
pub fn check_dir(data_dir: &Path) -> Result<CheckReport, Error> {
    let vkey = data_dir.join("log.vkey");
    let text = std::fs::read_to_string(&vkey).map_err(|e| Error::io("read", &vkey, e))?;
    let key = VerifierKey::parse(text.trim_end()).map_err(|e| {
        Error::Config(format!(
            "{} does not hold a verifier key: {e}; restore it from a backup",
            vkey.display()
        ))
    })?;
    let storage = FsStorage::open(data_dir)?;
    check(Arc::new(storage), &key)
}

/// Audits a stored log: the checkpoint's signature; every hash tile checked against the
/// signed root (the right edge reproduces it, every full tile hashes to its parent's
/// entry), exactly as the serving path checks them; every entry bundle against its
/// level-0 tile, every entry's signature verified and every rule of state replayed; and
/// the root recomputed from all the leaves. Every bad file is named in the report.
/// `Err` only when the storage cannot be read at all.
pub fn check(storage: Arc<dyn Storage>, log_key: &VerifierKey) -> Result<CheckReport, Error> {
    let mut report = CheckReport {
        size: 0,
        entries: 0,
        files: 0,
        problems: Vec::new(),
    };
    let Some(bytes) = storage.read_checkpoint()? else {
        report.problem("checkpoint", "is missing");
        return Ok(report);
    };
    let signed = match SignedCheckpoint::parse(&bytes) {
        Ok(s) => s,
        Err(e) => {
            report.problem("checkpoint", format!("does not parse: {e}"));
            return Ok(report);
        }
    };
    let checkpoint = match signed.verify(log_key) {
        Ok(c) => c.clone(),
        Err(e) => {
            // Nothing can be checked against a root that the log did not sign.
            report.problem(
                "checkpoint",
                format!("is not signed by the log's key {log_key}: {e}"),
            );
            return Ok(report);
        }
    };
    let size = checkpoint.size;
    report.size = size;
    let reader = TreeReader::new(storage, log_key.clone(), 1024, 1);
    let record = |report: &mut CheckReport, e: Error| match e {
        Error::CorruptStorage { file, reason } => {
            // A bad parent makes every tile under it fail too: name each file once.
            if !report.problems.iter().any(|p| p.file == file) {
                report.problem(file, reason);
            }
            Ok(())
        }
        Error::BadTile { tile, reason } => {
            if !report.problems.iter().any(|p| p.file == tile) {
                report.problem(tile, reason);
            }
            Ok(())
        }
        other => Err(other),
    };

    // Every hash tile, from the top level down.
    for level in (0u8..8).rev() {
        let shift = u32::from(level) * u32::from(TILE_HEIGHT);
        let count = if shift >= 64 { 0 } else { size >> shift };
        for t in 0..count.div_ceil(TILE_WIDTH) {
            report.files += 1;
            if let Err(e) = reader.hash_tile(level, t, size) {
                record(&mut report, e)?;
            }
        }
    }

    // Every bundle, every entry in it, and the leaves for the independent root.
    let mut leaves: Vec<Hash> = Vec::new();
    let mut state = LogState::new(log_key.clone());
    let mut state_ok = true;
    for b in 0..size.div_ceil(TILE_WIDTH) {
        report.files += 1;
        let bundle = match reader.bundle(b, size) {
            Ok(bundle) => bundle,
            Err(e) => {
                record(&mut report, e)?;
                // The replayed state is no longer the log's once entries are missing.
                state_ok = false;
                continue;
            }
        };
        let file = TileId::in_tree(TileLevel::Entries, b, size)
            .map(|t| t.path())
            .unwrap_or_default();
        for (i, bytes) in bundle.entries().enumerate() {
            let index = b * TILE_WIDTH + i as u64;
            report.entries += 1;
            leaves.push(Hash::leaf(bytes));
            match Entry::parse(bytes) {
                Ok(entry) if state_ok => {
                    if let Err(e) = state.apply(&entry) {
                        report.problem(&file, format!("entry {index} breaks a rule of state: {e}"));
                        // Later rules would be judged against a state that is not the log's.
                        state_ok = false;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    report.problem(&file, format!("entry {index} is refused: {e}"));
                    state_ok = false;
                }
            }
        }
    }

    // The root from all the leaves, with nothing but `signet-core`'s hashing.
    if leaves.len() as u64 == size {
        let root = if leaves.is_empty() {
            Hash::EMPTY_ROOT
        } else {
            merkle::root_of(&leaves)
        };
        // `Hash`'s equality is constant-time.
        if root != checkpoint.root {
            report.problem(
                "checkpoint",
                format!(
                    "its root {} is not the root {root} of the {size} stored entries",
                    checkpoint.root
                ),
            );
        }
    }
    Ok(report)
}
