//! The default [`Storage`] backend: the tlog-tiles tree as plain files, laid out exactly
//! like the URLs, so that any static web server can serve the folder as it is.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use signet_core::TileId;
use signet_fs::TempFile;

use crate::{Error, Storage};

/// The name this backend gives itself in errors.
const BACKEND: &str = "file system";

fn fs_error(e: signet_fs::Error) -> Error {
    Error::storage(BACKEND, e)
}

fn io_error(op: &'static str, path: &Path, e: io::Error) -> Error {
    Error::storage(BACKEND, format!("cannot {op} {}: {e}", path.display()))
}

/// Stores the log of the data directory `<data>`: `<data>/log/` holds `checkpoint` and
/// `tile/...`, nothing else, so a static web server can serve it as it is.
///
/// How it keeps the [`Storage`] contract:
/// - **one writer**: it holds an exclusive lock on `<data>/lock` while it lives;
/// - **durable writes**: every file is written under a fresh, exclusively created name
///   in `<data>/tmp/` (on the same file system), fsynced, renamed into place, and the
///   folder that received the name fsynced; every folder a write creates is fsynced into
///   its parent. `log/` therefore never holds a half-written file;
/// - **compare-and-swap**: the checkpoint is compared and replaced under a mutex, and the
///   lock keeps other processes out;
/// - [`Storage::make_durable`] fsyncs the checkpoint and every folder of `log/`
///   (children first), and `<data>` itself: a process killed between a rename and the
///   fsync of its folder leaves a name that a power cut could still take away.
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
    tmp: PathBuf,
    /// Held for the compare and the replace of the checkpoint, one atomic step.
    checkpoint: Mutex<()>,
    /// Directories under `root` whose contents and own names this process has made
    /// durable. A directory found on disk may come from a process killed before it
    /// fsynced the directory's name, so each is fsynced once before it is relied on.
    durable_dirs: Mutex<HashSet<PathBuf>>,
    _lock: File,
}

impl FsStorage {
    /// Opens the log of the data directory `data_dir` (creating both durably if needed)
    /// and takes its lock: [`Error::Locked`] when another process (or another
    /// `FsStorage`) holds it. Leftover temporary files of an interrupted write are
    /// removed.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<FsStorage, Error> {
        let data = data_dir.as_ref();
        signet_fs::create_dir_all(data).map_err(fs_error)?;
        let lock = take_lock(data)?;
        let root = data.join("log");
        let tmp = data.join("tmp");
        signet_fs::create_dir_all(&root).map_err(fs_error)?;
        // Only the lock holder writes temporary files, so whatever is here is a leftover.
        match fs::remove_dir_all(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("clean", &tmp, e)),
        }
        signet_fs::create_dir_all(&tmp).map_err(fs_error)?;
        // `create_dir_all` trusts a folder that already exists; a killed process may have
        // created it without fsyncing its name, so make it durable here.
        signet_fs::sync_dir(&root).map_err(fs_error)?;
        signet_fs::sync_dir(signet_fs::parent_of(&root)).map_err(fs_error)?;
        Ok(FsStorage {
            durable_dirs: Mutex::new(HashSet::from([root.clone()])),
            root,
            tmp,
            checkpoint: Mutex::new(()),
            _lock: lock,
        })
    }

    /// The log folder (`<data>/log`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tile_path(&self, tile: TileId) -> PathBuf {
        // `TileId::path` is made of fixed components and digits only, so the path always
        // stays inside `root`.
        self.root.join(tile.path())
    }

    /// Writes `data` under a fresh temporary name, fsyncs it and renames it to `dest`
    /// (whose folder must exist). The folder is not fsynced here.
    fn put(&self, dest: &Path, data: &[u8]) -> Result<(), Error> {
        let mut tmp = TempFile::create_in(&self.tmp, signet_fs::PUBLIC).map_err(fs_error)?;
        tmp.write_all(data).map_err(fs_error)?;
        tmp.persist(dest).map_err(fs_error)
    }

    /// The durable write of several files: missing directories created and fsynced into
    /// their parents, every file written, fsynced and renamed into place (in parallel,
    /// since fsyncs of different files overlap well), and every directory that received
    /// a name fsynced once.
    fn write_files(&self, files: &[(PathBuf, &[u8])]) -> Result<(), Error> {
        let mut dirs = BTreeSet::new();
        for (dest, _) in files {
            let parent = signet_fs::parent_of(dest).to_path_buf();
            if !dirs.contains(&parent) {
                self.ensure_dir(&parent)?;
                dirs.insert(parent);
            }
        }
        if files.len() > 1 {
            std::thread::scope(|s| {
                let handles: Vec<_> = files
                    .iter()
                    .map(|(dest, data)| s.spawn(move || self.put(dest, data)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(Error::Panicked { thread: "write" }))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
        } else {
            for (dest, data) in files {
                self.put(dest, data)?;
            }
        }
        // Directory fsyncs of different directories overlap as well as file fsyncs do.
        if dirs.len() > 1 {
            std::thread::scope(|s| {
                let handles: Vec<_> = dirs
                    .iter()
                    .map(|d| s.spawn(move || signet_fs::sync_dir(d).map_err(fs_error)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(Error::Panicked { thread: "fsync" }))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?;
        } else {
            for dir in &dirs {
                signet_fs::sync_dir(dir).map_err(fs_error)?;
            }
        }
        Ok(())
    }

    /// Creates `dir` (under `root`) if needed and makes it and its name durable, once per
    /// process: a directory that already exists may have been created by a process that
    /// was killed before it fsynced the directory's name into its parent.
    fn ensure_dir(&self, dir: &Path) -> Result<(), Error> {
        if self
            .durable_dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(dir)
        {
            return Ok(());
        }
        let parent = dir
            .parent()
            .filter(|p| dir.starts_with(&self.root) && *p != dir);
        let Some(parent) = parent else {
            return signet_fs::create_dir_all(dir).map_err(fs_error);
        };
        self.ensure_dir(parent)?;
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("create the folder", dir, e)),
        }
        signet_fs::sync_dir(dir).map_err(fs_error)?;
        signet_fs::sync_dir(parent).map_err(fs_error)?;
        self.durable_dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(dir.to_path_buf());
        Ok(())
    }
}

fn take_lock(data_dir: &Path) -> Result<File, Error> {
    let path = data_dir.join("lock");
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| io_error("open", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(Error::Locked(data_dir.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io_error("lock", &path, e)),
    }
}

impl Storage for FsStorage {
    fn make_durable(&self) -> Result<(), Error> {
        // File contents were fsynced before every rename; what a killed process may have
        // left without its fsync is a name, so every directory is fsynced (children
        // first, then the folder that names them), and the checkpoint's contents too.
        fn walk(dir: &Path, dirs: &mut Vec<PathBuf>) -> Result<(), Error> {
            let entries = fs::read_dir(dir).map_err(|e| io_error("list", dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_error("list", dir, e))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| io_error("stat", &entry.path(), e))?;
                if kind.is_dir() {
                    walk(&entry.path(), dirs)?;
                }
            }
            dirs.push(dir.to_path_buf());
            Ok(())
        }
        let checkpoint = self.root.join("checkpoint");
        match signet_fs::sync_file(&checkpoint) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(fs_error(e)),
        }
        let mut dirs = Vec::new();
        walk(&self.root, &mut dirs)?;
        for dir in &dirs {
            signet_fs::sync_dir(dir).map_err(fs_error)?;
        }
        signet_fs::sync_dir(signet_fs::parent_of(&self.root)).map_err(fs_error)?;
        self.durable_dirs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(dirs);
        Ok(())
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        read_optional(&self.root.join("checkpoint"))
    }

    fn swap_checkpoint(&self, old: Option<&[u8]>, new: &[u8]) -> Result<(), Error> {
        let _swap = self
            .checkpoint
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let path = self.root.join("checkpoint");
        let stored = read_optional(&path)?;
        if stored.as_deref() != old {
            return Err(Error::StaleCheckpoint { backend: BACKEND });
        }
        self.write_files(&[(path, new)])
    }

    fn read_tile(&self, tile: TileId) -> Result<Option<Vec<u8>>, Error> {
        read_optional(&self.tile_path(tile))
    }

    fn write_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), Error> {
        let files: Vec<(PathBuf, &[u8])> = tiles
            .iter()
            .map(|(t, data)| (self.tile_path(*t), data.as_slice()))
            .collect();
        self.write_files(&files)
    }

    fn delete_partial_tiles(&self, full: TileId) -> Result<(), Error> {
        let mut dir = self.tile_path(full).into_os_string();
        dir.push(".p");
        let dir = PathBuf::from(dir);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("delete", &dir, e)),
        }
    }

    fn is_empty(&self) -> Result<bool, Error> {
        if self.root.join("checkpoint").exists() {
            return Ok(false);
        }
        let tiles = self.root.join("tile");
        match fs::read_dir(&tiles) {
            Ok(mut it) => Ok(it.next().is_none()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(io_error("list", &tiles, e)),
        }
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("read", path, e)),
    }
}

/// A local file operation outside the store (a key file) that failed.
pub(crate) fn local_error(e: signet_fs::Error) -> Error {
    Error::Io {
        action: e.op,
        path: e.path,
        source: e.source,
    }
}
