//! A second, in-memory storage backend: it proves that the [`Storage`] contract does not
//! assume a file system.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use signet_core::TileId;
use signet_log::{Error, Storage};

/// The name this backend gives itself in errors.
const BACKEND: &str = "memory";

#[derive(Debug, Default)]
struct State {
    checkpoint: Option<Vec<u8>>,
    tiles: HashMap<TileId, Vec<u8>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    locked: AtomicBool,
}

/// An in-memory store that outlives the [`MemStorage`] handles opened on it, as a
/// database outlives its clients: dropping a handle and opening another is a restart.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    shared: Arc<Shared>,
}

impl MemStore {
    /// A new, empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// Opens the store for writing, taking its single-writer lock.
    pub fn open(&self) -> Result<MemStorage, Error> {
        MemStorage::open(self)
    }

    /// Replaces a stored tile behind the writer's back (to model corruption).
    pub fn tamper_tile(&self, tile: TileId, data: Vec<u8>) {
        self.state().tiles.insert(tile, data);
    }

    /// The stored tiles, sorted by path (for comparisons between backends).
    pub fn tile_paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.state().tiles.keys().map(TileId::path).collect();
        paths.sort();
        paths
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer's handle on a [`MemStore`]: it holds the store's lock until dropped.
#[derive(Debug)]
pub struct MemStorage {
    store: MemStore,
}

impl MemStorage {
    /// Takes the store's lock; [`Error::Locked`] while another handle holds it.
    pub fn open(store: &MemStore) -> Result<MemStorage, Error> {
        if store.shared.locked.swap(true, Ordering::SeqCst) {
            return Err(Error::Locked("memory store".into()));
        }
        Ok(MemStorage {
            store: store.clone(),
        })
    }

    /// The store this handle writes.
    pub fn store(&self) -> &MemStore {
        &self.store
    }
}

impl Drop for MemStorage {
    fn drop(&mut self) {
        self.store.shared.locked.store(false, Ordering::SeqCst);
    }
}

impl Storage for MemStorage {
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.state().checkpoint.clone())
    }

    fn swap_checkpoint(&self, old: Option<&[u8]>, new: &[u8]) -> Result<(), Error> {
        let mut state = self.store.state();
        if state.checkpoint.as_deref() != old {
            return Err(Error::StaleCheckpoint { backend: BACKEND });
        }
        state.checkpoint = Some(new.to_vec());
        Ok(())
    }

    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.store.state().tiles.get(&tile).cloned())
    }

    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error> {
        let mut state = self.store.state();
        for (tile, data) in tiles {
            state.tiles.insert(*tile, data.clone());
        }
        Ok(())
    }

    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error> {
        if u64::from(full.width) != signet_core::tiles::TILE_WIDTH {
            return Err(Error::storage(
                BACKEND,
                format!("{} is not a full tile", full.path()),
            ));
        }
        self.store.state().tiles.retain(|t, _| {
            !(t.level == full.level && t.index == full.index && t.width < full.width)
        });
        Ok(())
    }

    fn is_empty(&self) -> Result<bool, Error> {
        let state = self.store.state();
        Ok(state.checkpoint.is_none() && state.tiles.is_empty())
    }

    fn make_durable(&self) -> Result<(), Error> {
        // Memory holds what was stored until the store is dropped: nothing to do.
        Ok(())
    }
}
