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
use signet_core::entry::ModerationReason;
use signet_core::lookalike::skeleton;
use signet_core::state::{Change, ModerationRecord, SignerRecord, SignerStatus};
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
    PRIMARY KEY (letter, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS signers_order ON signers (letter, first_index);
CREATE TABLE IF NOT EXISTS endorsements (
    idx INTEGER PRIMARY KEY,
    letter BLOB NOT NULL,
    key BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS moderators (
    key BLOB PRIMARY KEY,
    vkey TEXT NOT NULL,
    name TEXT NOT NULL,
    idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS moderations (
    letter BLOB NOT NULL,
    key BLOB NOT NULL,
    hidden INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    latest_index INTEGER NOT NULL,
    target INTEGER NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    moderator BLOB NOT NULL,
    PRIMARY KEY (letter, key)
) WITHOUT ROWID;
-- The look-alike search text of each signer, apart from its wide row and in list order:
-- a search scans these narrow rows (a few dozen bytes each) and reads the wide signer
-- row only for the signers that match.
CREATE TABLE IF NOT EXISTS signer_search (
    letter BLOB NOT NULL,
    first_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (letter, first_index)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claim_results (
    key BLOB NOT NULL,
    claim TEXT NOT NULL,
    held INTEGER NOT NULL,
    checked INTEGER NOT NULL,
    evidence TEXT,
    reason TEXT,
    PRIMARY KEY (key, claim)
) WITHOUT ROWID;
";

/// The catalog's layout version, kept in `meta.schema`. A catalog written by a version
/// with another layout (or another `search` reduction) is emptied and rebuilt from the
/// log at open: it is derived data.
const SCHEMA_VERSION: i64 = 3;

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
    /// Signers who withdrew (and are not hidden).
    pub withdrawn: u64,
    /// Signers hidden now by a moderator.
    pub hidden: u64,
}

/// An appointed moderator as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorInfo {
    /// The index of its appointment entry.
    pub index: u64,
    /// Its name (the key name of its key).
    pub name: String,
    /// Its verifier key.
    pub key: String,
}

/// The hide in effect on a listed signer: the moderation entry that hides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenBy {
    /// The index of the hiding moderation.
    pub index: u64,
    /// Its reason.
    pub reason: String,
    /// Its note, if any.
    pub note: Option<String>,
    /// Its time.
    pub time: Timestamp,
    /// The moderator's verifier key.
    pub moderator: String,
}

/// Which signers a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Only signers whose endorsement is in force and who are not hidden (the default).
    #[default]
    Active,
    /// Only signers who withdrew and are not hidden.
    Withdrawn,
    /// Only signers hidden by a moderator.
    Hidden,
    /// All three.
    All,
}

/// A page request for the signatory list.
#[derive(Debug, Clone)]
pub struct SignatoryQuery {
    /// The letter.
    pub letter: LetterId,
    /// A substring of the name or affiliation, compared as look-alike skeletons (see
    /// [`signet_core::lookalike`]).
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
    /// The hide in effect, when a moderator hides this signer.
    pub hidden: Option<HiddenBy>,
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

/// The WAL size past which the recorder empties it (see [`Catalog::bound_wal`]).
pub(crate) const WAL_LIMIT: u64 = 64 << 20;

/// The WAL file of the database at `db`.
fn wal_path(db: &Path) -> PathBuf {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// Runs a WAL checkpoint in `mode`: `false` when another connection kept it from
/// finishing (SQLite reports that as a row, not as an error).
fn checkpoint(conn: &Connection, mode: &str) -> Result<bool, Error> {
    let busy: i64 = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get(0))?;
    Ok(busy == 0)
}

/// A read transaction on a [`Catalog`] (see [`Catalog::snapshot`]).
pub(crate) struct Snapshot<'a>(rusqlite::Transaction<'a>);

impl Snapshot<'_> {
    /// Ends the transaction. It wrote nothing, so rolling it back only releases it.
    pub(crate) fn end(self) -> Result<(), Error> {
        Ok(self.0.rollback()?)
    }
}

/// The writer's connection to the catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    conn: Connection,
    path: PathBuf,
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
        let mut catalog = Catalog {
            conn,
            path: path.to_owned(),
        };
        let version: Option<i64> = catalog
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if version != Some(SCHEMA_VERSION) {
            catalog.clear()?;
        }
        Ok(catalog)
    }

    /// Another writer's connection to the same catalog, which is open and up to date
    /// (the sequencer records batches through one while it decides through the other).
    pub(crate) fn connect_again(&self) -> Result<Catalog, Error> {
        let conn = open(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.pragma_update(None, "cache_size", -16_384)?;
        Ok(Catalog {
            conn,
            path: self.path.clone(),
        })
    }

    /// Starts a thread that checkpoints the WAL every `every` until `stop` is dropped
    /// (or sent to), and that empties it once the sequencer has stopped.
    ///
    /// These PASSIVE checkpoints never block the recorder or readers, but under a steady
    /// stream of batches they cannot empty the WAL either: see [`Catalog::bound_wal`].
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
                    if let Err(e) = checkpoint(&conn, "PASSIVE") {
                        tracing::warn!(error = %e, "catalog WAL checkpoint failed");
                    }
                }
                // Leave an empty WAL, so that the next start does not read one.
                match checkpoint(&conn, "TRUNCATE") {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("the catalog WAL is in use; it was left as is"),
                    Err(e) => tracing::warn!(error = %e, "the catalog WAL could not be emptied"),
                }
            })
            .map_err(|e| Error::io("spawn the catalog checkpointer for", path, e))
    }

    /// Empties the WAL once it has grown past `limit` bytes. Called by the catalog's one
    /// recording writer between its transactions.
    ///
    /// A passive checkpoint copies the WAL's frames into the database but only the
    /// writer that finds every frame copied may start the WAL over; under a steady stream
    /// of batches the recorder appends while the checkpoint copies, so that never happens
    /// and the file grew by a few pages per entry for as long as the load lasted (1.9 GB
    /// after 150,000 entries), and every start had to read it whole to rebuild the WAL
    /// index. The recorder runs the TRUNCATE checkpoint itself because it is the writer:
    /// no write can come between, and the background checkpoints have already copied most
    /// frames. `Ok(false)` when there was nothing to do or the background checkpoint was
    /// running (the next batch tries again).
    pub(crate) fn bound_wal(&self, limit: u64) -> Result<bool, Error> {
        if std::fs::metadata(wal_path(&self.path)).map_or(true, |m| m.len() <= limit) {
            return Ok(false);
        }
        checkpoint(&self.conn, "TRUNCATE")
    }

    /// Begins one read transaction for the lookups that follow, until the returned
    /// guard is ended or dropped. Without it each lookup is a transaction of its own:
    /// two lock calls, and, whenever the recorder has committed since the last one, the
    /// connection's page cache dropped and the pages read again. A batch's decisions
    /// take one snapshot instead. The snapshot is taken at the first lookup, so
    /// everything the catalog had committed by then is in it.
    pub(crate) fn snapshot(&self) -> Result<Snapshot<'_>, Error> {
        Ok(Snapshot(rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Deferred,
        )?))
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
            "BEGIN; DELETE FROM meta; DELETE FROM leaves; DELETE FROM letters; DELETE FROM signers; \
             DELETE FROM claim_results; DELETE FROM signer_search; COMMIT;",
        )?;
        self.conn.execute_batch(
            "BEGIN; DELETE FROM endorsements; DELETE FROM moderators; DELETE FROM moderations;
             COMMIT;",
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?1)",
            [SCHEMA_VERSION],
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
        signer_of(&self.conn, letter, key)
    }

    /// The registered letters, in order of registration.
    pub(crate) fn letters(&self) -> Result<Vec<LetterInfo>, Error> {
        letters(&self.conn)
    }

    /// The appointed moderators, in order of appointment.
    pub(crate) fn moderators(&self) -> Result<Vec<ModeratorInfo>, Error> {
        moderators(&self.conn)
    }

    /// The index of a moderator's appointment.
    pub(crate) fn moderator(&self, key: &[u8; 32]) -> Result<Option<u64>, Error> {
        let mut st = self
            .conn
            .prepare_cached("SELECT idx FROM moderators WHERE key = ?1")?;
        Ok(st
            .query_row([&key[..]], |r| r.get::<_, i64>(0))
            .optional()?
            .map(|i| i as u64))
    }

    /// The letter and signer of the endorsement at `index`, if that entry is one.
    pub(crate) fn endorsement(&self, index: u64) -> Result<Option<(LetterId, [u8; 32])>, Error> {
        let mut st = self
            .conn
            .prepare_cached("SELECT letter, key FROM endorsements WHERE idx = ?1")?;
        let row = st
            .query_row([index as i64], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        row.map(|(letter, key)| {
            let letter = <[u8; 32]>::try_from(letter)
                .map_err(|_| damaged("an endorsement's letter is not 32 bytes"))?;
            let key = <[u8; 32]>::try_from(key)
                .map_err(|_| damaged("an endorsement's key is not 32 bytes"))?;
            Ok((LetterId(Hash(letter)), key))
        })
        .transpose()
    }

    /// A signer's moderation record for a letter.
    pub(crate) fn moderation(
        &self,
        letter: &LetterId,
        key: &[u8; 32],
    ) -> Result<Option<ModerationRecord>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT hidden, last_time, latest_index, target, reason, note, moderator
             FROM moderations WHERE letter = ?1 AND key = ?2",
        )?;
        let row = st
            .query_row(params![&letter.0.0[..], &key[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                ))
            })
            .optional()?;
        row.map(|(hidden, last, latest, target, reason, note, moderator)| {
            Ok(ModerationRecord {
                hidden: hidden != 0,
                last_time: Timestamp::from_unix(last as u64).map_err(|e| {
                    damaged(format!(
                        "a moderation's time {last} is not a timestamp: {e}"
                    ))
                })?,
                latest_index: latest as u64,
                target: target as u64,
                reason: ModerationReason::parse(&reason)
                    .map_err(|e| damaged(format!("a moderation's reason: {e}")))?,
                note,
                moderator: <[u8; 32]>::try_from(moderator)
                    .map_err(|_| damaged("a moderator's key is not 32 bytes"))?,
            })
        })
        .transpose()
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
                     latest_index, name, affiliation, role, identity, vkey, fingerprint, time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                 ON CONFLICT (letter, key) DO UPDATE SET status = excluded.status,
                     last_time = excluded.last_time, endorsement_index = excluded.endorsement_index,
                     latest_index = excluded.latest_index, name = excluded.name,
                     affiliation = excluded.affiliation, role = excluded.role,
                     identity = excluded.identity, vkey = excluded.vkey, time = excluded.time",
            )?;
            let mut search = tx.prepare_cached(
                "INSERT OR REPLACE INTO signer_search (letter, first_index, text) VALUES (?1, ?2, ?3)",
            )?;
            let mut withdraw = tx.prepare_cached(
                "UPDATE signers SET status = ?3, last_time = ?4, latest_index = ?5
                 WHERE letter = ?1 AND key = ?2",
            )?;
            let mut endorsement = tx.prepare_cached(
                "INSERT INTO endorsements (idx, letter, key) VALUES (?1, ?2, ?3)",
            )?;
            let mut appoint = tx.prepare_cached(
                "INSERT INTO moderators (key, vkey, name, idx) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut moderate = tx.prepare_cached(
                "INSERT OR REPLACE INTO moderations (letter, key, hidden, last_time, latest_index,
                     target, reason, note, moderator)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
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
                        search.execute(params![
                            &e.letter.0.0[..],
                            record.first_index as i64,
                            search_text(&e.name, e.affiliation.as_deref())
                        ])?;
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
                        ])?;
                        endorsement.execute(params![
                            a.index as i64,
                            &e.letter.0.0[..],
                            &e.key.public_key()[..]
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
                    (Statement::Moderator(m), Change::Moderator { moderator }) => {
                        appoint.execute(params![
                            &moderator.public_key()[..],
                            moderator.to_string(),
                            m.name,
                            a.index as i64
                        ])?;
                    }
                    (
                        Statement::Moderation(_),
                        Change::Moderation {
                            letter,
                            public_key,
                            record,
                            ..
                        },
                    ) => {
                        moderate.execute(params![
                            &letter.0.0[..],
                            &public_key[..],
                            i64::from(record.hidden),
                            record.last_time.unix() as i64,
                            record.latest_index as i64,
                            record.target as i64,
                            record.reason.as_str(),
                            record.note,
                            &record.moderator[..],
                        ])?;
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

/// What a search matches against: the look-alike skeletons of the name and affiliation
/// ([`signet_core::lookalike::skeleton`]), so that `q`, reduced the same way, matches any
/// script case-insensitively and finds look-alike names by `instr`. A substring scan, not
/// a tokenizer: Chinese names are two or three characters long.
fn search_text(name: &str, affiliation: Option<&str>) -> String {
    let mut s = skeleton(name);
    if let Some(a) = affiliation {
        // Text values hold no control characters, and a skeleton keeps them out, so a
        // match cannot span the newline.
        s.push('\n');
        s.push_str(&skeleton(a));
    }
    s
}

fn moderators(conn: &Connection) -> Result<Vec<ModeratorInfo>, Error> {
    let mut st = conn.prepare_cached("SELECT idx, name, vkey FROM moderators ORDER BY idx")?;
    let rows = st.query_map([], |r| {
        Ok(ModeratorInfo {
            index: r.get::<_, i64>(0)? as u64,
            name: r.get(1)?,
            key: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Hidden signers per letter, split by their latest entry: (hidden active, hidden
/// withdrawn). Hides are few, so this is a small scan.
fn hidden_counts(
    conn: &Connection,
) -> Result<std::collections::HashMap<Vec<u8>, (i64, i64)>, Error> {
    let mut st = conn.prepare_cached(
        "SELECT m.letter, s.status, count(*) FROM moderations m
         JOIN signers s ON s.letter = m.letter AND s.key = m.key
         WHERE m.hidden = 1 GROUP BY m.letter, s.status",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let (letter, status, n) = row?;
        let counts: &mut (i64, i64) = out.entry(letter).or_default();
        if status == ACTIVE {
            counts.0 += n;
        } else {
            counts.1 += n;
        }
    }
    Ok(out)
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
    let hidden = hidden_counts(conn)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, slug, title, language, idx, active, withdrawn) = row?;
        let (hidden_active, hidden_withdrawn) = hidden.get(&id).copied().unwrap_or_default();
        let id = <[u8; 32]>::try_from(id).map_err(|_| damaged("a letter's ID is not 32 bytes"))?;
        out.push(LetterInfo {
            id: LetterId(Hash(id)),
            slug,
            title,
            language,
            index: idx as u64,
            signers: (active - hidden_active).max(0) as u64,
            withdrawn: (withdrawn - hidden_withdrawn).max(0) as u64,
            hidden: (hidden_active + hidden_withdrawn).max(0) as u64,
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

    pub(crate) fn moderators(&self) -> Result<Vec<ModeratorInfo>, Error> {
        self.with(moderators)
    }

    pub(crate) fn signatories(&self, query: &SignatoryQuery) -> Result<SignatoryPage, Error> {
        self.signatories_by(query, None)
    }

    /// The listing of [`CatalogReader::signatories`], narrowed (with `Some`) to the
    /// signers with (`true`) or without (`false`) a verified claim: a claim of their
    /// shown endorsement whose last check held.
    ///
    /// The others are read in list order. The verified ones are too, within the next
    /// [`VERIFIED_WINDOW`] signers of the list, which is enough where verified signers
    /// are common; past it, they are found from the claims that held, which is quick
    /// where they are rare. Either way a page costs a bounded scan, not the whole list.
    pub(crate) fn signatories_by(
        &self,
        query: &SignatoryQuery,
        verified: Option<bool>,
    ) -> Result<SignatoryPage, Error> {
        self.with(|conn| {
            let after = query.after.map_or(-1, |a| a.min(i64::MAX as u64) as i64);
            let fetch = i64::from(query.limit) + 1;
            let mut items = if verified == Some(true) {
                let end: Option<i64> = conn
                    .prepare_cached(
                        "SELECT first_index FROM signers WHERE letter = ?1 AND first_index > ?2
                         ORDER BY first_index LIMIT 1 OFFSET ?3",
                    )?
                    .query_row(
                        params![&query.letter.0.0[..], after, VERIFIED_WINDOW - 1],
                        |r| r.get(0),
                    )
                    .optional()?;
                let mut items = signatory_rows(conn, query, verified, false, after, end, fetch)?;
                if let Some(end) = end
                    && (items.len() as i64) < fetch
                {
                    let more = fetch - items.len() as i64;
                    items.extend(signatory_rows(
                        conn, query, verified, true, end, None, more,
                    )?);
                }
                items
            } else {
                signatory_rows(conn, query, verified, false, after, None, fetch)?
            };
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

/// The hide a catalog row describes: (the moderation's index, reason, note, time, the
/// moderator's verifier key); a row the catalog could not have written is damage.
fn hidden_by(
    (index, reason, note, time, moderator): (i64, String, Option<String>, i64, Option<String>),
) -> Result<HiddenBy, Error> {
    Ok(HiddenBy {
        index: index as u64,
        reason,
        note,
        time: Timestamp::from_unix(time as u64).map_err(|e| {
            damaged(format!(
                "a moderation's time {time} is not a timestamp: {e}"
            ))
        })?,
        moderator: moderator
            .ok_or_else(|| damaged("a hide names a moderator the catalog does not hold"))?,
    })
}

/// How many signers of the list a verified-only listing reads in list order before it
/// looks the rest up from the claims that held.
const VERIFIED_WINDOW: i64 = 400;

/// At most `fetch` signatories after `after` (and up to `upto`, a range bound of the
/// list's index, so that the scan stops there), in list order, read
/// from the claims that held when `from_claims` (see
/// [`CatalogReader::signatories_by`]).
fn signatory_rows(
    conn: &Connection,
    query: &SignatoryQuery,
    verified: Option<bool>,
    from_claims: bool,
    after: i64,
    upto: Option<i64>,
    fetch: i64,
) -> Result<Vec<Signatory>, Error> {
    // From the claims that held (by the signers' primary key), or in list order (by
    // `signers_order`). A query is matched against the narrow search rows: in list
    // order they lead, and a match's wide signer row is read by its place in the list.
    let searching = query.q.as_deref().is_some_and(|q| !q.is_empty());
    let (signers, o) = match (from_claims, searching) {
        (true, false) => (
            "(SELECT DISTINCT key FROM claim_results WHERE held = 1) v
             CROSS JOIN signers s ON s.letter = ?1 AND s.key = v.key",
            "s",
        ),
        (true, true) => (
            "(SELECT DISTINCT key FROM claim_results WHERE held = 1) v
             CROSS JOIN signers s ON s.letter = ?1 AND s.key = v.key
             JOIN signer_search f ON f.letter = s.letter AND f.first_index = s.first_index",
            "s",
        ),
        (false, true) => (
            "signer_search f CROSS JOIN signers s
             ON s.letter = f.letter AND s.first_index = f.first_index",
            "f",
        ),
        (false, false) => ("signers s", "s"),
    };
    let matching = if searching {
        "AND instr(f.text, ?4) > 0"
    } else {
        ""
    };
    let mut st = conn.prepare_cached(&format!(
        "SELECT s.first_index, s.endorsement_index, s.name, s.affiliation, s.role,
                s.identity, s.vkey, s.fingerprint, s.time, s.status,
                m.latest_index, m.reason, m.note, m.last_time, d.vkey
         FROM {signers}
         LEFT JOIN moderations m ON m.letter = s.letter AND m.key = s.key AND m.hidden = 1
         LEFT JOIN moderators d ON d.key = m.moderator
         WHERE {o}.letter = ?1 AND {o}.first_index > ?2 AND {o}.first_index <= ?8
           AND (?3 IS NULL OR s.status = ?3)
           AND (?6 IS NULL OR (m.latest_index IS NOT NULL) = ?6)
           {matching}
           AND (?7 IS NULL OR EXISTS (
                SELECT 1 FROM claim_results c WHERE c.key = s.key AND c.held = 1
                AND instr(char(10) || s.identity || char(10),
                          char(10) || c.claim || char(10)) > 0) = ?7)
         ORDER BY {o}.first_index LIMIT ?5"
    ))?;
    let (status, hidden) = match query.status {
        StatusFilter::Active => (Some(ACTIVE), Some(false)),
        StatusFilter::Withdrawn => (Some(WITHDRAWN), Some(false)),
        StatusFilter::Hidden => (None, Some(true)),
        StatusFilter::All => (None, None),
    };
    let q = query.q.as_deref().filter(|q| !q.is_empty()).map(skeleton);
    let rows = st.query_map(
        params![
            &query.letter.0.0[..],
            after,
            status,
            q,
            fetch,
            hidden,
            verified,
            upto.unwrap_or(i64::MAX)
        ],
        |r| {
            let hide = match r.get::<_, Option<i64>>(10)? {
                None => None,
                Some(index) => Some((
                    index,
                    r.get::<_, String>(11)?,
                    r.get::<_, Option<String>>(12)?,
                    r.get::<_, i64>(13)?,
                    r.get::<_, Option<String>>(14)?,
                )),
            };
            Ok((
                (
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
                ),
                hide,
            ))
        },
    )?;
    let mut items = Vec::new();
    for row in rows {
        let ((first, idx, name, affiliation, role, identity, key, fingerprint, time, status), hide) =
            row?;
        let hidden = hide.map(hidden_by).transpose()?;
        items.push(Signatory {
            index: idx as u64,
            first_index: first as u64,
            name,
            affiliation,
            role,
            identity: identity
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            key,
            fingerprint,
            time: Timestamp::from_unix(time as u64).map_err(|e| {
                damaged(format!("a signatory's time {time} is not a timestamp: {e}"))
            })?,
            active: status == ACTIVE,
            hidden,
        });
    }
    Ok(items)
}

/// The last check of one identity claim of one signer (docs/protocol.md, *Identity
/// claims*). Claim results come from outside the log, so they are a cache: a rebuilt
/// catalog has none, and the claims are checked again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimResult {
    /// The signer's 32-byte public key.
    pub key: [u8; 32],
    /// The claim, as in the endorsement.
    pub claim: String,
    /// Whether it held.
    pub held: bool,
    /// When it was checked.
    pub checked: Timestamp,
    /// `sha256:<hex>` of the proving bytes, when it held.
    pub evidence: Option<String>,
    /// Why it failed, when it did.
    pub reason: Option<String>,
}

/// A claim of a signer shown now, as the recheck loop sees it: never checked
/// (`checked` `None`) or checked at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownClaim {
    /// The signer's 32-byte public key.
    pub key: [u8; 32],
    /// The claim.
    pub claim: String,
    /// When it was last checked, if ever.
    pub checked: Option<u64>,
}

fn claim_results_of(conn: &Connection, key: &[u8; 32]) -> Result<Vec<ClaimResult>, Error> {
    let mut st = conn.prepare_cached(
        "SELECT claim, held, checked, evidence, reason FROM claim_results WHERE key = ?1 ORDER BY claim",
    )?;
    let rows = st.query_map([&key[..]], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (claim, held, checked, evidence, reason) = row?;
        out.push(ClaimResult {
            key: *key,
            claim,
            held: held != 0,
            checked: Timestamp::from_unix(checked.max(0) as u64).map_err(|e| {
                damaged(format!(
                    "a claim's check time {checked} is not a timestamp: {e}"
                ))
            })?,
            evidence,
            reason,
        });
    }
    Ok(out)
}

impl CatalogReader {
    /// The last check of each claim of a signer, in claim order.
    pub(crate) fn claim_results(&self, key: &[u8; 32]) -> Result<Vec<ClaimResult>, Error> {
        self.with(|conn| claim_results_of(conn, key))
    }

    /// Every claim of every signer shown now (its endorsement in force), once per
    /// (signer, claim), with the time of its last check.
    pub(crate) fn shown_claims(&self) -> Result<Vec<ShownClaim>, Error> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT key, identity FROM signers WHERE status = ?1 AND identity != ''
                 AND NOT EXISTS (SELECT 1 FROM moderations m WHERE m.letter = signers.letter
                                 AND m.key = signers.key AND m.hidden != 0)",
            )?;
            // Each claim's last check, by the claim results' primary key.
            let mut checked = conn.prepare_cached(
                "SELECT checked FROM claim_results WHERE key = ?1 AND claim = ?2",
            )?;
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for row in st.query_map([ACTIVE], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })? {
                let (key, identity) = row?;
                let Ok(key32) = <[u8; 32]>::try_from(key.as_slice()) else {
                    return Err(damaged("a signer's key is not 32 bytes"));
                };
                for claim in identity.split('\n').filter(|c| !c.is_empty()) {
                    if seen.insert((key32, claim.to_owned())) {
                        let at = checked
                            .query_row(params![&key[..], claim], |r| r.get::<_, i64>(0))
                            .optional()?;
                        out.push(ShownClaim {
                            key: key32,
                            claim: claim.to_owned(),
                            checked: at.map(|a| a.max(0) as u64),
                        });
                    }
                }
            }
            Ok(out)
        })
    }
}

/// The connection that records claim results, apart from the sequencer's: results
/// arrive from the claim checks, never from the log. Opened on first use.
#[derive(Debug)]
pub(crate) struct ClaimWriter {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl ClaimWriter {
    pub(crate) fn new(path: PathBuf) -> ClaimWriter {
        ClaimWriter {
            path,
            conn: Mutex::new(None),
        }
    }

    /// Records the result of one check, replacing the last one.
    pub(crate) fn record(&self, result: &ClaimResult) -> Result<(), Error> {
        let mut guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let conn = open(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            // Like the writer's: a lost result is checked again.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            *guard = Some(conn);
        }
        let Some(conn) = guard.as_ref() else {
            return Err(damaged("the claim results connection did not open"));
        };
        conn.prepare_cached(
            "INSERT INTO claim_results (key, claim, held, checked, evidence, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (key, claim) DO UPDATE SET held = excluded.held,
                 checked = excluded.checked, evidence = excluded.evidence, reason = excluded.reason",
        )?
        .execute(params![
            &result.key[..],
            result.claim,
            i64::from(result.held),
            result.checked.unix() as i64,
            result.evidence,
            result.reason
        ])?;
        Ok(())
    }
}
impl CatalogReader {
    /// The hide in effect on a signer of a letter, if a moderator hides it now, found by
    /// (letter, signer key) as the listings show it (for the reader's pages).
    pub(crate) fn hidden_by(
        &self,
        letter: &LetterId,
        key: &[u8; 32],
    ) -> Result<Option<HiddenBy>, Error> {
        self.with(|conn| {
            let mut st = conn.prepare_cached(
                "SELECT m.latest_index, m.reason, m.note, m.last_time, d.vkey
                 FROM moderations m LEFT JOIN moderators d ON d.key = m.moderator
                 WHERE m.letter = ?1 AND m.key = ?2 AND m.hidden = 1",
            )?;
            let row = st
                .query_row(params![&letter.0.0[..], &key[..]], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                })
                .optional()?;
            row.map(hidden_by).transpose()
        })
    }

    /// A signer's record for a letter, read like the listings (for the reader's pages).
    pub(crate) fn signer(
        &self,
        letter: &LetterId,
        key: &[u8; 32],
    ) -> Result<Option<SignerRecord>, Error> {
        self.with(|conn| signer_of(conn, letter, key))
    }
}

/// A signer's record for a letter, on either connection.
fn signer_of(
    conn: &Connection,
    letter: &LetterId,
    key: &[u8; 32],
) -> Result<Option<SignerRecord>, Error> {
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
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn wal_len(db: &Path) -> u64 {
        std::fs::metadata(wal_path(db)).map_or(0, |m| m.len())
    }

    /// A writer that never pauses starves passive checkpoints; the recorder's own
    /// checkpoint must still keep the WAL near its limit, and the checkpointer must leave
    /// it empty when it stops.
    #[test]
    fn the_wal_stays_bounded_under_a_writer_that_never_pauses() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("index.sqlite");
        let catalog = Catalog::open(&db).unwrap();
        catalog
            .conn
            .execute_batch("CREATE TABLE scratch (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;")
            .unwrap();
        const LIMIT: u64 = 512 << 10;
        let (stop_tx, stop) = std::sync::mpsc::channel();
        let checkpointer =
            Catalog::spawn_checkpointer(db.clone(), std::time::Duration::from_millis(50), stop)
                .unwrap();

        // Random keys touch a new page per row, as the catalog's hash-keyed tables do.
        let started = std::time::Instant::now();
        let mut largest = 0;
        let mut written = 0u64;
        for txn in 0..1_500u64 {
            if started.elapsed() > std::time::Duration::from_secs(20) {
                break;
            }
            catalog.conn.execute_batch("BEGIN").unwrap();
            for row in 0..40u64 {
                let key = Hash::sha256(&(txn * 40 + row).to_le_bytes());
                catalog
                    .conn
                    .execute(
                        "INSERT INTO scratch (k, v) VALUES (?1, ?2)",
                        params![&key.0[..], &[0u8; 64][..]],
                    )
                    .unwrap();
            }
            catalog.conn.execute_batch("COMMIT").unwrap();
            written += 1;
            largest = largest.max(wal_len(&db));
            catalog.bound_wal(LIMIT).unwrap();
        }
        drop(stop_tx);
        checkpointer.join().unwrap();

        assert!(written >= 200, "only {written} transactions in 20 s");
        // Unbounded, this loop grows the WAL past 300 MB. Bounded, it stays near the limit,
        // more when the recorder's checkpoint keeps meeting a background one on a loaded
        // machine (14 MB was seen with a 5 ms background period while tests ran beside).
        assert!(
            largest < 64 * LIMIT,
            "the WAL grew to {largest} bytes against a limit of {LIMIT}"
        );
        assert_eq!(wal_len(&db), 0, "the last checkpoint leaves the WAL empty");
        let rows: i64 = catalog
            .conn
            .query_row("SELECT count(*) FROM scratch", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows as u64, written * 40, "no row lost to the checkpoints");
    }
}
