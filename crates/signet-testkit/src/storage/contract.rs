//! The storage contract as one test suite: every clause of `signet_log::Storage`'s
//! documented contract is a function here, and [`storage_contract!`](crate::storage_contract)
//! turns them into one `#[test]` each for a backend.

use std::path::Path;

use signet_log::{Error, FsStorage, Storage};

use super::{MemStorage, MemStore};

/// A store that can be opened for writing, again and again: dropping the opened value
/// and opening another is a restart of the process that uses it.
pub trait Backend {
    /// The opened backend.
    type Storage: Storage;

    /// Opens the store, taking its single-writer lock.
    fn open(&self) -> Result<Self::Storage, Error>;
}

/// The file-system backend in a fresh temporary data directory.
#[derive(Debug)]
pub struct FsBackend {
    dir: tempfile::TempDir,
}

impl FsBackend {
    /// A new data directory.
    pub fn new() -> Result<FsBackend, Error> {
        let dir = tempfile::tempdir()
            .map_err(|e| Error::storage("file system", format!("no temporary folder: {e}")))?;
        Ok(FsBackend { dir })
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Backend for FsBackend {
    type Storage = FsStorage;

    fn open(&self) -> Result<FsStorage, Error> {
        FsStorage::open(self.dir.path())
    }
}

/// The in-memory backend on a fresh store.
#[derive(Debug, Default)]
pub struct MemBackend {
    store: MemStore,
}

impl MemBackend {
    /// A new, empty store.
    pub fn new() -> Result<MemBackend, Error> {
        Ok(MemBackend::default())
    }

    /// The store.
    pub fn store(&self) -> &MemStore {
        &self.store
    }
}

impl Backend for MemBackend {
    type Storage = MemStorage;

    fn open(&self) -> Result<MemStorage, Error> {
        self.store.open()
    }
}

/// Runs the storage contract suite against a backend: `storage_contract!(name,
/// factory)` expands to a module `name` with one `#[test]` per clause of the contract,
/// each on a fresh backend from `factory()` (a `Result<impl Backend, Error>`).
#[macro_export]
macro_rules! storage_contract {
    ($name:ident, $factory:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::storage_contract!(@clauses $factory;
                a_new_store_is_empty,
                tiles_read_back_exactly_and_can_be_rewritten,
                deleting_partials_keeps_the_full_tile,
                the_checkpoint_is_a_compare_and_swap,
                reads_never_see_a_partial_write,
                what_was_stored_survives_a_reopen,
                a_second_writer_is_refused,
                a_failed_tile_write_leaves_the_store_usable,
                a_failed_checkpoint_swap_keeps_old_or_new,
                a_crash_leaves_a_store_that_reopens,
            );
        }
    };
    (@clauses $factory:expr; $($clause:ident),* $(,)?) => {
        $(
            #[test]
            fn $clause() {
                let backend = match ($factory)() {
                    Ok(b) => b,
                    Err(e) => panic!("cannot make the backend: {e}"),
                };
                if let Err(e) = $crate::storage::__contract::$clause(&backend) {
                    panic!("{}: {e}", stringify!($clause));
                }
            }
        )*
    };
}

/// The clauses, each returning an error that says which promise was broken.
pub mod clauses {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use signet_core::TileId;
    use signet_core::tiles::{TILE_WIDTH, TileLevel};
    use signet_log::{Error, Storage};

    use super::Backend;
    use crate::storage::Faulty;

    type Outcome = Result<(), Error>;

    fn broken(what: impl Into<String>) -> Error {
        Error::Config(format!("the contract is broken: {}", what.into()))
    }

    fn check(ok: bool, what: &str) -> Outcome {
        if ok { Ok(()) } else { Err(broken(what)) }
    }

    fn tile(level: TileLevel, index: u64, width: u16) -> TileId {
        TileId {
            level,
            index,
            width,
        }
    }

    fn hashes(index: u64, width: u16, fill: u8) -> (TileId, Vec<u8>) {
        let mut data = vec![fill; 32 * usize::from(width)];
        data[..8].copy_from_slice(&index.to_be_bytes());
        (tile(TileLevel::Hashes(0), index, width), data)
    }

    /// A new store holds nothing, and making nothing durable succeeds.
    pub fn a_new_store_is_empty<B: Backend>(backend: &B) -> Outcome {
        let s = backend.open()?;
        s.make_durable()?;
        check(s.is_empty()?, "a new store is not empty")?;
        check(
            s.read_checkpoint()?.is_none(),
            "a new store has a checkpoint",
        )?;
        check(
            s.read_tile(tile(TileLevel::Hashes(0), 0, 1))?.is_none(),
            "a new store has a tile",
        )?;
        check(
            s.read_tile(tile(TileLevel::Entries, 0, 1))?.is_none(),
            "a new store has a bundle",
        )
    }

    /// Partial and full tiles of every kind read back byte for byte, each under its own
    /// width; a tile past the checkpoint can be written again with other contents.
    pub fn tiles_read_back_exactly_and_can_be_rewritten<B: Backend>(backend: &B) -> Outcome {
        let s = backend.open()?;
        let full = TILE_WIDTH as u16;
        let batch = vec![
            hashes(0, full, 1),
            hashes(1, 3, 2),
            (tile(TileLevel::Hashes(1), 0, 1), vec![9; 32]),
            (tile(TileLevel::Entries, 0, full), b"\x00\x01a".repeat(256)),
            (tile(TileLevel::Entries, 1, 3), b"\x00\x02bc".repeat(3)),
        ];
        s.write_tiles(&batch)?;
        s.write_tiles(&[])?;
        for (t, data) in &batch {
            check(
                s.read_tile(*t)?.as_ref() == Some(data),
                &format!("{} does not read back", t.path()),
            )?;
        }
        check(
            s.read_tile(tile(TileLevel::Hashes(0), 1, 2))?.is_none(),
            "another width of a tile reads as if it were stored",
        )?;
        check(!s.is_empty()?, "a store with tiles says it is empty")?;
        let again = hashes(1, 3, 7);
        s.write_tiles(std::slice::from_ref(&again))?;
        check(
            s.read_tile(again.0)? == Some(again.1),
            "a rewritten tile does not read back",
        )
    }

    /// Deleting the partials of a full tile keeps the full tile and every other tile.
    pub fn deleting_partials_keeps_the_full_tile<B: Backend>(backend: &B) -> Outcome {
        let s = backend.open()?;
        let full = TILE_WIDTH as u16;
        let batch = vec![
            hashes(0, 5, 1),
            hashes(0, 200, 2),
            hashes(0, full, 3),
            hashes(1, 5, 4),
            (tile(TileLevel::Entries, 0, 5), b"\x00\x01a".repeat(5)),
        ];
        s.write_tiles(&batch)?;
        s.delete_partial_tiles(batch[2].0)?;
        check(
            s.read_tile(batch[0].0)?.is_none(),
            "a partial tile survived",
        )?;
        check(
            s.read_tile(batch[1].0)?.is_none(),
            "a partial tile survived",
        )?;
        check(
            s.read_tile(batch[2].0)? == Some(batch[2].1.clone()),
            "the full tile went with its partials",
        )?;
        check(
            s.read_tile(batch[3].0)?.is_some() && s.read_tile(batch[4].0)?.is_some(),
            "another tile's partials went too",
        )?;
        s.delete_partial_tiles(batch[2].0)
    }

    fn stale(result: Outcome, what: &str) -> Outcome {
        match result {
            Err(Error::StaleCheckpoint { .. }) => Ok(()),
            Ok(()) => Err(broken(format!("{what} was accepted"))),
            Err(e) => Err(broken(format!("{what} failed with {e}, not as stale"))),
        }
    }

    /// The checkpoint is replaced only when the caller names the stored one.
    pub fn the_checkpoint_is_a_compare_and_swap<B: Backend>(backend: &B) -> Outcome {
        let s = backend.open()?;
        let (a, b, c) = (b"checkpoint a\n", b"checkpoint b\n", b"checkpoint c\n");
        s.swap_checkpoint(None, a)?;
        check(!s.is_empty()?, "a store with a checkpoint says it is empty")?;
        stale(
            s.swap_checkpoint(None, c),
            "a first checkpoint over a stored one",
        )?;
        stale(
            s.swap_checkpoint(Some(b), c),
            "a swap from a checkpoint never stored",
        )?;
        check(
            s.read_checkpoint()?.as_deref() == Some(&a[..]),
            "a refused swap changed the checkpoint",
        )?;
        s.swap_checkpoint(Some(a), b)?;
        stale(
            s.swap_checkpoint(Some(a), c),
            "a swap from the previous checkpoint",
        )?;
        check(
            s.read_checkpoint()?.as_deref() == Some(&b[..]),
            "the checkpoint is not the last one swapped in",
        )?;
        s.swap_checkpoint(Some(b), b)?;
        check(
            s.read_checkpoint()?.as_deref() == Some(&b[..]),
            "swapping a checkpoint for itself changed it",
        )
    }

    /// A reader running beside the writer sees each checkpoint and tile whole: one of
    /// the versions written, never a mixture or a prefix.
    pub fn reads_never_see_a_partial_write<B: Backend>(backend: &B) -> Outcome {
        const ROUNDS: usize = 100;
        const LIMIT: Duration = Duration::from_secs(60);
        let s = Arc::new(backend.open()?);
        let versions: Vec<Vec<u8>> = (0u8..2).map(|v| vec![b'a' + v; 64 * 1024]).collect();
        let t = tile(TileLevel::Hashes(0), 0, TILE_WIDTH as u16);
        s.swap_checkpoint(None, &versions[0])?;
        s.write_tiles(&[(t, versions[0].clone())])?;
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (s, done, versions) = (s.clone(), done.clone(), versions.clone());
            std::thread::spawn(move || -> Outcome {
                let started = Instant::now();
                for _ in 0..ROUNDS * 100 {
                    if done.load(Ordering::SeqCst) || started.elapsed() > LIMIT {
                        break;
                    }
                    let cp = s.read_checkpoint()?.unwrap_or_default();
                    let tl = s.read_tile(t)?.unwrap_or_default();
                    check(versions.contains(&cp), "a checkpoint was read half written")?;
                    check(versions.contains(&tl), "a tile was read half written")?;
                }
                Ok(())
            })
        };
        let started = Instant::now();
        let mut result = Ok(());
        for round in 0..ROUNDS {
            if started.elapsed() > LIMIT {
                break;
            }
            let (old, new) = (&versions[round % 2], &versions[(round + 1) % 2]);
            if let Err(e) = s
                .swap_checkpoint(Some(old), new)
                .and_then(|()| s.write_tiles(&[(t, new.clone())]))
            {
                result = Err(e);
                break;
            }
        }
        done.store(true, Ordering::SeqCst);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(broken("the reader thread panicked")));
        result.and(read)
    }

    /// Everything stored reads back the same after the store is dropped and reopened.
    pub fn what_was_stored_survives_a_reopen<B: Backend>(backend: &B) -> Outcome {
        let batch = vec![hashes(0, 7, 1), hashes(0, TILE_WIDTH as u16, 2)];
        {
            let s = backend.open()?;
            s.write_tiles(&batch)?;
            s.swap_checkpoint(None, b"checkpoint\n")?;
        }
        let s = backend.open()?;
        s.make_durable()?;
        check(
            s.read_checkpoint()?.as_deref() == Some(&b"checkpoint\n"[..]),
            "the checkpoint did not survive a reopen",
        )?;
        for (t, data) in &batch {
            check(
                s.read_tile(*t)?.as_ref() == Some(data),
                &format!("{} did not survive a reopen", t.path()),
            )?;
        }
        check(!s.is_empty()?, "a reopened store says it is empty")
    }

    /// While one writer holds the store, a second is refused; once it is gone, the
    /// store opens again.
    pub fn a_second_writer_is_refused<B: Backend>(backend: &B) -> Outcome {
        let first = backend.open()?;
        match backend.open() {
            Err(Error::Locked(_)) => {}
            Ok(_) => return Err(broken("a second writer was let in")),
            Err(e) => {
                return Err(broken(format!(
                    "a second writer failed with {e}, not as locked"
                )));
            }
        }
        drop(first);
        backend.open().map(drop)
    }

    /// A tile write that fails midway may leave some tiles, and the same tiles can then
    /// be written again in full.
    pub fn a_failed_tile_write_leaves_the_store_usable<B: Backend>(backend: &B) -> Outcome {
        let s = Faulty::new(backend.open()?).fail_at(0, false);
        let batch = vec![
            hashes(0, 4, 1),
            hashes(1, 4, 2),
            hashes(2, 4, 3),
            hashes(3, 4, 4),
        ];
        check(
            matches!(s.write_tiles(&batch), Err(Error::Injected(_))),
            "the injected fault did not fire",
        )?;
        for (t, data) in &batch {
            let stored = s.read_tile(*t)?;
            check(
                stored.is_none() || stored.as_ref() == Some(data),
                "a failed write left a tile that is neither absent nor whole",
            )?;
        }
        let again: Vec<_> = (0..4).map(|i| hashes(i, 4, 9)).collect();
        s.write_tiles(&again)?;
        for (t, data) in &again {
            check(
                s.read_tile(*t)?.as_ref() == Some(data),
                "a tile rewritten after a failure does not read back",
            )?;
        }
        Ok(())
    }

    /// A checkpoint swap that fails leaves the old checkpoint or the new one, and the
    /// next swap names whichever is stored.
    pub fn a_failed_checkpoint_swap_keeps_old_or_new<B: Backend>(backend: &B) -> Outcome {
        for complete in [false, true] {
            let s = Faulty::new(backend.open()?)
                .fail_at(1, false)
                .complete_failed_writes(complete);
            let old = s.read_checkpoint()?;
            s.swap_checkpoint(old.as_deref(), b"old\n")?;
            check(
                matches!(
                    s.swap_checkpoint(Some(b"old\n"), b"new\n"),
                    Err(Error::Injected(_))
                ),
                "the injected fault did not fire",
            )?;
            let stored = s.read_checkpoint()?;
            let want: &[u8] = if complete { b"new\n" } else { b"old\n" };
            check(
                stored.as_deref() == Some(want),
                "a failed swap left a checkpoint that is neither the old nor the new one",
            )?;
            s.swap_checkpoint(Some(want), b"next\n")?;
        }
        Ok(())
    }

    /// After a crash (every call failing) the store reopens, holding the checkpoint of
    /// before the crash and only whole tiles.
    pub fn a_crash_leaves_a_store_that_reopens<B: Backend>(backend: &B) -> Outcome {
        let batch: Vec<_> = (0..6).map(|i| hashes(i, 8, 5)).collect();
        {
            let s = Faulty::new(backend.open()?).fail_at(1, true);
            s.swap_checkpoint(None, b"before\n")?;
            check(s.write_tiles(&batch).is_err(), "the crash did not fire")?;
            check(s.is_dead(), "the crash did not stop the process")?;
            check(
                s.read_checkpoint().is_err(),
                "a dead process could still read",
            )?;
            check(
                s.swap_checkpoint(Some(b"before\n"), b"after\n").is_err(),
                "a dead process could still write",
            )?;
        }
        let s = backend.open()?;
        s.make_durable()?;
        check(
            s.read_checkpoint()?.as_deref() == Some(&b"before\n"[..]),
            "the checkpoint of before the crash is gone",
        )?;
        for (t, data) in &batch {
            let stored = s.read_tile(*t)?;
            check(
                stored.is_none() || stored.as_ref() == Some(data),
                "a crash left a tile that is neither absent nor whole",
            )?;
        }
        s.write_tiles(&batch)?;
        s.swap_checkpoint(Some(b"before\n"), b"after\n")
    }
}
