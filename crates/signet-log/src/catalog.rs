//! The catalog: derived data (dedup, letters, signer records, the signatory list,
//! counts) kept in SQLite (`<data>/index.sqlite`) and rebuilt from the log whenever it is
//! behind (see `replay`).
//!
//! It records the log size it reflects (`meta.log_size`) and the root at that size, in
//! the same transaction as its rows, so it is always exactly the state after some prefix
//! of the log. ("Index" elsewhere means an entry's position in the log.)

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags, OptionalExtension as _, params};
use signet_core::state::{Change, SignerRecord, SignerStatus};
use signet_core::{Hash, LetterId, Statement, Timestamp};

use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (hash BLOB PRIMARY KEY, idx INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS letters (
    id BLOB PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    language TEXT NOT NULL,
    idx INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    withdrawn INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signers (
    letter BLOB NOT NULL,
    key BLOB NOT NULL,
    status INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    first_index INTEGER NOT NULL,
    endorsement_index INTEGER NOT NULL,
    latest_index INTEGER NOT NULL,
    name TEXT NOT NULL,
    affiliation TEXT,
    role TEXT,
    identity TEXT NOT NULL,
    vkey TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    time INTEGER NOT NULL,
    search TEXT NOT NULL,
    PRIMARY KEY (letter, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS signers_order ON signers (letter, first_index);
";

const ACTIVE: i64 = 1;
const WITHDRAWN: i64 = 0;

/// One entry appended to the log, with what it changed, for [`Catalog::record`].
#[derive(Debug, Clone)]
pub(crate) struct Appended {
    pub(crate) index: u64,
    pub(crate) leaf: Hash,
    pub(crate) statement: Statement,
    /// What the rules of state said appending it changes.
    pub(crate) change: Change,
}

/// A registered letter as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterInfo {
    /// The letter's ID.
    pub id: LetterId,
    /// Its slug.
    pub slug: String,
    /// Its title.
    pub title: String,
    /// Its language tag.
    pub language: String,
    /// The index of its registration entry.
    pub index: u64,
    /// Signers whose endorsement is in force.
    pub signers: u64,
    /// Signers who withdrew.
    pub withdrawn: u64,
}

/// Which signers a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Only signers whose endorsement is in force (the default).
    #[default]
    Active,
    /// Only signers who withdrew.
    Withdrawn,
    /// Both.
    All,
}

/// A page request for the signatory list.
#[derive(Debug, Clone)]
pub struct SignatoryQuery {
    /// The letter.
    pub letter: LetterId,
    /// A case-insensitive substring of the name or affiliation.
    pub q: Option<String>,
    /// Which statuses to list.
    pub status: StatusFilter,
    /// Continue after this position (from [`SignatoryPage::next`]).
    pub after: Option<u64>,
    /// At most this many rows (the caller bounds it).
    pub limit: u32,
}

/// One signer of a letter, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signatory {
    /// The index of the signer's latest endorsement (the one whose fields are shown).
    pub index: u64,
    /// The index of the signer's first endorsement (the list's order).
    pub first_index: u64,
    /// Display name.
    pub name: String,
    /// Affiliation, if given.
    pub affiliation: Option<String>,
    /// Role, if given.
    pub role: Option<String>,
    /// Identity claims (recorded, not verified).
    pub identity: Vec<String>,
    /// The verifier key of the latest endorsement.
    pub key: String,
    /// 16 hex digits of SHA-256 of the public key.
    pub fingerprint: String,
    /// The time of the latest endorsement.
    pub time: Timestamp,
    /// Whether the endorsement is in force.
    pub active: bool,
}

/// A page of signatories and the position to continue from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatoryPage {
    /// The rows, in order of first endorsement.
    pub items: Vec<Signatory>,
    /// Pass as [`SignatoryQuery::after`] for the next page; `None` at the end.
    pub next: Option<u64>,
}

fn open(path: &Path, flags: OpenFlags) -> Result<Connection, Error> {
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// The writer's connection to the catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    conn: Connection,
}

impl Catalog {
    pub(crate) fn open(path: &Path) -> Result<Catalog, Error> {
        let conn = open(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        )?;
        // WAL lets readers run beside the writer. NORMAL skips the fsync per commit: the
        // catalog is derived data, a crash can only lose its latest transactions (never
        // corrupt it), and start-up catches up from the durable log.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpointing the WAL into the database fsyncs; a background thread does it
        // (see `spawn_checkpointer`) so that the sequencer never waits for it.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "cache_size", -16_384)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Catalog { conn })
    }

    /// Starts a thread that checkpoints the WAL every `every` until `stop` is dropped
    /// (or sent to).
    pub(crate) fn spawn_checkpointer(
        path: PathBuf,
        every: std::time::Duration,
        stop: std::sync::mpsc::Receiver<()>,
    ) -> Result<std::thread::JoinHandle<()>, Error> {
        let conn = open(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        std::thread::Builder::new()
            .name("signet-index-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(every)
                {
                    // PASSIVE never blocks the writer or readers; what it cannot copy now
                    // it copies next time.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "catalog WAL checkpoint failed");
                    }
                }
            })
            .map_err(|e| Error::io("spawn the catalog checkpointer for", path, e))
    }

    /// The log size the catalog reflects, and the root at that size.
    pub(crate) fn position(&self) -> Result<(u64, Option<Hash>), Error> {
        let size: Option<i64> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'log_size'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let root: Option<Vec<u8>> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'root'", [], |r| {
                r.get(0)
            })
            .optional()?;
        let root = root.and_then(|r| <[u8; 32]>::try_from(r).ok()).map(Hash);
        Ok((size.map_or(0, |s| s as u64), root))
    }

    /// Empties the catalog (before a rebuild).
    pub(crate) fn clear(&mut self) -> Result<(), Error> {
        self.conn.execute_batch(
            "BEGIN; DELETE FROM meta; DELETE FROM leaves; DELETE FROM letters; DELETE FROM signers; COMMIT;",
        )?;
        Ok(())
    }

    /// The index of the entry whose leaf hash is `leaf`.
    pub(crate) fn leaf(&self, leaf: &Hash) -> Result<Option<u64>, Error> {
        let mut st = self
            .conn
            .prepare_cached("SELECT idx FROM leaves WHERE hash = ?1")?;
        Ok(st
            .query_row([&leaf.0[..]], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|i| i as u64))
    }

    /// A signer's record for a letter.
    pub(crate) fn signer(
        &self,
        letter: &LetterId,
        key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT status, last_time, first_index, endorsement_index, latest_index
             FROM signers WHERE letter = ?1 AND key = ?2",
        )?;
        let row = st
            .query_row(params![&letter.0.0[..], &key[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .optional()?;
        row.map(|(status, last, first, endorsement, latest)| {
            Ok(SignerRecord {
                status: if status == ACTIVE {
                    SignerStatus::Active
                } else {
                    SignerStatus::Withdrawn
                },
                last_time: Timestamp::from_unix(last as u64).map_err(|e| {
                    damaged(format!(
                        "a signer record's time {last} is not a timestamp: {e}"
                    ))
                })?,
                first_index: first as u64,
                endorsement_index: endorsement as u64,
                latest_index: latest as u64,
            })
        })
        .transpose()
    }

    /// The registered letters, in order of registration.
    pub(crate) fn letters(&self) -> Result<Vec<LetterInfo>, Error> {
        letters(&self.conn)
    }

    /// Records a batch of appended entries and the new log size and root, in one
    /// transaction.
    pub(crate) fn record(
        &mut self,
        applied: &[Appended],
        size: u64,
        root: &Hash,
    ) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut leaf = tx.prepare_cached("INSERT INTO leaves (hash, idx) VALUES (?1, ?2)")?;
            let mut letter = tx.prepare_cached(
                "INSERT INTO letters (id, slug, title, language, idx) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut endorse = tx.prepare_cached(
                "INSERT INTO signers (letter, key, status, last_time, first_index, endorsement_index,
                     latest_index, name, affiliation, role, identity, vkey, fingerprint, time, search)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (letter, key) DO UPDATE SET status = excluded.status,
                     last_time = excluded.last_time, endorsement_index = excluded.endorsement_index,
                     latest_index = excluded.latest_index, name = excluded.name,
                     affiliation = excluded.affiliation, role = excluded.role,
                     identity = excluded.identity, vkey = excluded.vkey, time = excluded.time,
                     search = excluded.search",
            )?;
            let mut withdraw = tx.prepare_cached(
                "UPDATE signers SET status = ?3, last_time = ?4, latest_index = ?5
                 WHERE letter = ?1 AND key = ?2",
            )?;
            let mut count = tx.prepare_cached(
                "UPDATE letters SET active = active + ?2, withdrawn = withdrawn + ?3 WHERE id = ?1",
            )?;
            // Count changes per letter, written once per batch rather than once per entry.
            let mut deltas: std::collections::HashMap<LetterId, (i64, i64)> =
                std::collections::HashMap::new();
            for a in applied {
                leaf.execute(params![&a.leaf.0[..], a.index as i64])?;
                match (&a.statement, &a.change) {
                    (Statement::Letter(r), Change::Letter { .. }) => {
                        letter.execute(params![
                            &r.letter.0.0[..],
                            r.slug.as_str(),
                            r.title,
                            r.language.as_str(),
                            a.index as i64
                        ])?;
                    }
                    (
                        Statement::Endorsement(e),
                        Change::Signer {
                            previous, record, ..
                        },
                    ) => {
                        let identity: Vec<&str> = e.identity.iter().map(|c| c.as_str()).collect();
                        endorse.execute(params![
                            &e.letter.0.0[..],
                            &e.key.public_key()[..],
                            ACTIVE,
                            record.last_time.unix() as i64,
                            record.first_index as i64,
                            record.endorsement_index as i64,
                            record.latest_index as i64,
                            e.name,
                            e.affiliation,
                            e.role,
                            identity.join("\n"),
                            e.key.to_string(),
                            e.key.fingerprint(),
                            e.time.unix() as i64,
                            search_text(&e.name, e.affiliation.as_deref()),
                        ])?;
                        let (da, dw) = match previous {
                            None => (1, 0),
                            Some(SignerStatus::Withdrawn) => (1, -1),
                            Some(SignerStatus::Active) => (0, 0),
                        };
                        let d = deltas.entry(e.letter).or_default();
                        d.0 += da;
                        d.1 += dw;
                    }
                    (
                        Statement::Withdrawal(w),
                        Change::Signer {
                            previous, record, ..
                        },
                    ) => {
                        withdraw.execute(params![
                            &w.letter.0.0[..],
                            &w.key.public_key()[..],
                            WITHDRAWN,
                            record.last_time.unix() as i64,
                            record.latest_index as i64
                        ])?;
                        if *previous == Some(SignerStatus::Active) {
                            let d = deltas.entry(w.letter).or_default();
                            d.0 -= 1;
                            d.1 += 1;
                        }
                    }
                    (statement, change) => {
                        return Err(Error::Internal(format!(
                            "entry {} is a {} but was decided as {change:?}",
                            a.index,
                            statement.kind()
                        )));
                    }
                }
            }
            for (letter, (da, dw)) in deltas {
                count.execute(params![&letter.0.0[..], da, dw])?;
            }
            let mut meta =
                tx.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?;
            meta.execute(params!["log_size", size as i64])?;
            meta.execute(params!["root", &root.0[..]])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// What a search matches against: the name and affiliation, lowercased with Unicode's
/// full case mapping, so that `q` matches any script case-insensitively by `instr`. A
/// substring scan, not a tokenizer: Chinese names are two or three characters long.
fn search_text(name: &str, affiliation: Option<&str>) -> String {
    let mut s = name.to_lowercase();
    if let Some(a) = affiliation {
        // Text values hold no control characters, so a match cannot span the newline.
        s.push('\n');
        s.push_str(&a.to_lowercase());
    }
    s
}

fn letters(conn: &Connection) -> Result<Vec<LetterInfo>, Error> {
    let mut st = conn.prepare_cached(
        "SELECT id, slug, title, language, idx, active, withdrawn FROM letters ORDER BY idx",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, slug, title, language, idx, active, withdrawn) = row?;
        let id = <[u8; 32]>::try_from(id).map_err(|_| damaged("a letter's ID is not 32 bytes"))?;
        out.push(LetterInfo {
            id: LetterId(Hash(id)),
            slug,
            title,
            language,
            index: idx as u64,
            signers: active.max(0) as u64,
            withdrawn: withdrawn.max(0) as u64,
        });
    }
    Ok(out)
}

fn damaged(reason: impl Into<String>) -> Error {
    Error::CatalogDamaged {
        reason: reason.into(),
    }
}

/// Read-only connections for the HTTP side, pooled.
#[derive(Debug)]
pub(crate) struct CatalogReader {
    path: PathBuf,
    pool: Mutex<Vec<Connection>>,
}

impl CatalogReader {
    pub(crate) fn new(path: PathBuf) -> CatalogReader {
        CatalogReader {
            path,
            pool: Mutex::new(Vec::new()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R, Error>) -> Result<R, Error> {
        let conn = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match conn {
            Some(c) => c,
            None => open(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
        };
        let result = f(&conn);
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }

    pub(crate) fn letters(&self) -> Result<Vec<LetterInfo>, Error> {
        self.with(letters)
    }

    pub(crate) fn signatories(&self, query: &SignatoryQuery) -> Result<SignatoryPage, Error> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT first_index, endorsement_index, name, affiliation, role, identity, vkey,
                        fingerprint, time, status
                 FROM signers
                 WHERE letter = ?1 AND first_index > ?2
                   AND (?3 IS NULL OR status = ?3)
                   AND (?4 IS NULL OR instr(search, ?4) > 0)
                 ORDER BY first_index LIMIT ?5",
            )?;
            let status = match query.status {
                StatusFilter::Active => Some(ACTIVE),
                StatusFilter::Withdrawn => Some(WITHDRAWN),
                StatusFilter::All => None,
            };
            let q = query.q.as_deref().filter(|q| !q.is_empty()).map(str::to_lowercase);
            let after = query.after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
            let limit = i64::from(query.limit) + 1;
            let rows = st.query_map(params![&query.letter.0.0[..], after, status, q, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, i64>(8)?,
                    r.get::<_, i64>(9)?,
                ))
            })?;
            let mut items = Vec::new();
            for row in rows {
                let (first, idx, name, affiliation, role, identity, key, fingerprint, time, status) = row?;
                items.push(Signatory {
                    index: idx as u64,
                    first_index: first as u64,
                    name,
                    affiliation,
                    role,
                    identity: identity.split('\n').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    key,
                    fingerprint,
                            time: Timestamp::from_unix(time as u64).map_err(|e| {
                        damaged(format!("a signatory's time {time} is not a timestamp: {e}"))
                    })?,
                    active: status == ACTIVE,
                });
            }
            let next = if items.len() > query.limit as usize {
                items.truncate(query.limit as usize);
                items.last().map(|s| s.first_index)
            } else {
                None
            };
            Ok(SignatoryPage { items, next })
        })
    }
}

impl CatalogReader {
    /// A signer's record for a letter, read like the listings (for the reader's pages).
    pub(crate) fn signer(
        &self,
        letter: &LetterId,
        key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Error> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT status, last_time, first_index, endorsement_index, latest_index
                 FROM signers WHERE letter = ?1 AND key = ?2",
            )?;
            let row = st
                .query_row(params![&letter.0.0[..], &key[..]], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?;
            row.map(|(status, last, first, endorsement, latest)| {
                Ok(SignerRecord {
                    status: if status == ACTIVE {
                        SignerStatus::Active
                    } else {
                        SignerStatus::Withdrawn
                    },
                    last_time: Timestamp::from_unix(last as u64).map_err(|e| {
                        damaged(format!(
                            "a signer record's time {last} is not a timestamp: {e}"
                        ))
                    })?,
                    first_index: first as u64,
                    endorsement_index: endorsement as u64,
                    latest_index: latest as u64,
                })
            })
            .transpose()
        })
    }
}
