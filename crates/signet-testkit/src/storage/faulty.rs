//! The one fault-injecting storage wrapper.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use signet_core::TileId;
use signet_log::{Error, Storage};

/// How long a write waits at a closed gate before it gives up (a bound, so that a test
/// that forgets to open the gate fails instead of hanging).
const GATE_LIMIT: Duration = Duration::from_secs(60);

/// Wraps a backend and injects faults into its write operations (`swap_checkpoint`,
/// `write_tiles`, `delete_partial_tiles`, counted from 0 in the order they are called):
///
/// - [`Faulty::fail_at`]`(n, crash)` fails the `n`-th write; with `crash` every later
///   call fails too, reads included (the process is as good as dead);
/// - a failing `write_tiles` first writes half of its tiles, as a crash midway would;
///   with [`Faulty::complete_failed_writes`] a failing write is carried out in full
///   before it reports failure (a lost acknowledgement, such as a failed folder fsync);
/// - [`Faulty::close_gate`] holds every `write_tiles` until [`Faulty::open_gate`], to
///   keep the sequencer busy; [`Faulty::hold_checkpoints`] holds every
///   `swap_checkpoint` until [`Faulty::release_checkpoints`] (and
///   [`Faulty::held_checkpoints`] counts the swaps waiting), to keep a batch between its
///   tiles and its checkpoint;
/// - [`Faulty::set_broken`] makes every call fail as a process out of file descriptors
///   would (`Too many open files`) until it is unset: a transient fault;
///   [`Faulty::set_fail_writes`] and [`Faulty::set_fail_reads`] do the same for writes
///   or for tile reads alone;
/// - [`Faulty::set_read_delay`] makes every tile read wait, like a remote store on a
///   cache miss, and [`Faulty::slow_reads`] counts the reads that waited.
#[derive(Debug)]
pub struct Faulty<S> {
    inner: S,
    ops: AtomicUsize,
    fail_at: AtomicUsize,
    crash: AtomicBool,
    complete: AtomicBool,
    dead: AtomicBool,
    broken: AtomicBool,
    fail_writes: AtomicBool,
    fail_reads: AtomicBool,
    read_delay: Mutex<Option<Duration>>,
    slow_reads: AtomicUsize,
    gate: Mutex<bool>,
    checkpoint_gate: Mutex<bool>,
    held: AtomicUsize,
    tile_writes: AtomicUsize,
    changed: Condvar,
}

impl<S: Storage> Faulty<S> {
    /// Wraps `inner`, injecting nothing until told to.
    pub fn new(inner: S) -> Faulty<S> {
        Faulty {
            inner,
            ops: AtomicUsize::new(0),
            fail_at: AtomicUsize::new(usize::MAX),
            crash: AtomicBool::new(false),
            complete: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
            fail_reads: AtomicBool::new(false),
            read_delay: Mutex::new(None),
            slow_reads: AtomicUsize::new(0),
            gate: Mutex::new(true),
            checkpoint_gate: Mutex::new(true),
            held: AtomicUsize::new(0),
            tile_writes: AtomicUsize::new(0),
            changed: Condvar::new(),
        }
    }

    /// Fails write operation number `n`; with `crash`, every call after it as well.
    pub fn fail_at(self, n: usize, crash: bool) -> Faulty<S> {
        self.fail_at.store(n, Ordering::SeqCst);
        self.crash.store(crash, Ordering::SeqCst);
        self
    }

    /// A failing write is carried out in full before it reports failure.
    pub fn complete_failed_writes(self, complete: bool) -> Faulty<S> {
        self.complete.store(complete, Ordering::SeqCst);
        self
    }

    /// The wrapped backend, to act behind the writer's back.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// How many write operations were attempted.
    pub fn ops(&self) -> usize {
        self.ops.load(Ordering::SeqCst)
    }

    /// True once a crash fault has fired.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// While `broken`, every read and write fails with `Too many open files`.
    pub fn set_broken(&self, broken: bool) {
        self.broken.store(broken, Ordering::SeqCst);
    }

    /// While set, every write fails with `Too many open files`.
    pub fn set_fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::SeqCst);
    }

    /// While set, every tile read fails with `Too many open files`.
    pub fn set_fail_reads(&self, fail: bool) {
        self.fail_reads.store(fail, Ordering::SeqCst);
    }

    /// Every tile read waits `delay` first (`None`: no wait).
    pub fn set_read_delay(&self, delay: Option<Duration>) {
        *self
            .read_delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
    }

    /// How many tile reads waited for the read delay.
    pub fn slow_reads(&self) -> usize {
        self.slow_reads.load(Ordering::SeqCst)
    }

    /// Holds every `write_tiles` until [`Faulty::open_gate`].
    pub fn close_gate(&self) {
        *self.gate.lock().unwrap_or_else(PoisonError::into_inner) = false;
    }

    /// Lets held and later writes through.
    pub fn open_gate(&self) {
        *self.gate.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Holds every `swap_checkpoint` until [`Faulty::release_checkpoints`].
    pub fn hold_checkpoints(&self) {
        *self
            .checkpoint_gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
    }

    /// Lets held and later checkpoint swaps through.
    pub fn release_checkpoints(&self) {
        *self
            .checkpoint_gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// How many checkpoint swaps are waiting at the checkpoint gate now.
    pub fn held_checkpoints(&self) -> usize {
        self.held.load(Ordering::SeqCst)
    }

    /// How many `write_tiles` calls got past the gate.
    pub fn tile_writes(&self) -> usize {
        self.tile_writes.load(Ordering::SeqCst)
    }

    fn wait_at_gate(&self) -> Result<(), Error> {
        self.wait_at(&self.gate)
    }

    fn wait_at(&self, gate: &Mutex<bool>) -> Result<(), Error> {
        let started = Instant::now();
        let mut open = gate.lock().unwrap_or_else(PoisonError::into_inner);
        while !*open {
            let Some(left) = GATE_LIMIT.checked_sub(started.elapsed()) else {
                return Err(Error::Injected("the gate stayed closed"));
            };
            open = self
                .changed
                .wait_timeout(open, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(())
    }

    fn alive(&self) -> Result<(), Error> {
        if self.is_dead() {
            return Err(Error::Injected("the process is dead"));
        }
        if self.broken.load(Ordering::SeqCst) {
            return Err(emfile());
        }
        Ok(())
    }

    /// A live process whose writes may fail.
    fn writable(&self) -> Result<(), Error> {
        self.alive()?;
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(emfile());
        }
        Ok(())
    }

    /// Counts a write operation of a live process; true when it must fail.
    fn fault(&self) -> bool {
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        if n == self.fail_at.load(Ordering::SeqCst) {
            if self.crash.load(Ordering::SeqCst) {
                self.dead.store(true, Ordering::SeqCst);
            }
            return true;
        }
        false
    }

    fn completes(&self) -> bool {
        self.complete.load(Ordering::SeqCst)
    }
}

/// EMFILE, as `open` reports it when the process has no descriptor left.
fn emfile() -> Error {
    Error::storage("test", std::io::Error::from_raw_os_error(24))
}

impl<S: Storage> Storage for Faulty<S> {
    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        self.alive()?;
        self.inner.read_checkpoint()
    }

    fn swap_checkpoint(&self, old: Option<&[u8]>, new: &[u8]) -> Result<(), Error> {
        self.held.fetch_add(1, Ordering::SeqCst);
        let waited = self.wait_at(&self.checkpoint_gate);
        self.held.fetch_sub(1, Ordering::SeqCst);
        waited?;
        self.writable()?;
        if self.fault() {
            if self.completes() {
                self.inner.swap_checkpoint(old, new)?;
            }
            return Err(Error::Injected("swap_checkpoint"));
        }
        self.inner.swap_checkpoint(old, new)
    }

    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error> {
        self.alive()?;
        let delay = *self
            .read_delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(delay) = delay {
            self.slow_reads.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(delay);
        }
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(emfile());
        }
        self.inner.read_tile(tile)
    }

    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error> {
        self.wait_at_gate()?;
        self.tile_writes.fetch_add(1, Ordering::SeqCst);
        self.writable()?;
        if self.fault() {
            let written = if self.completes() {
                tiles
            } else {
                &tiles[..tiles.len() / 2]
            };
            // What a crash midway leaves; its own result does not matter.
            let _ = self.inner.write_tiles(written);
            return Err(Error::Injected("write_tiles"));
        }
        self.inner.write_tiles(tiles)
    }

    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error> {
        self.alive()?;
        if self.fault() {
            return Err(Error::Injected("delete_partial_tiles"));
        }
        self.inner.delete_partial_tiles(full)
    }

    fn is_empty(&self) -> Result<bool, Error> {
        self.alive()?;
        self.inner.is_empty()
    }

    fn make_durable(&self) -> Result<(), Error> {
        self.alive()?;
        self.inner.make_durable()
    }
}
