//! The default [`Storage`] backend: the tlog-tiles tree as plain files, laid out exactly
//! like the URLs, so that any static web server can serve the folder as it is.

use std::collections::{BTreeSet, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use signet_core::TileId;

use crate::{Error, Storage};

/// Stores the log under `root` (`<data>/log/`): `checkpoint` and `tile/...`, nothing
/// else. Temporary files are written in a sibling folder (`<data>/tmp/`) on the same file
/// system and renamed into place, so `root` never holds a half-written file.
#[derive(Debug)]
pub struct FsStorage {
    root: PathBuf,
    tmp: PathBuf,
    counter: AtomicU64,
    /// Directories under `root` whose contents and own names this process has made
    /// durable. A directory found on disk may come from a process killed before it
    /// fsynced the directory's name, so each is fsynced once before it is relied on.
    durable_dirs: Mutex<HashSet<PathBuf>>,
}

impl FsStorage {
    /// Opens (creating if needed, durably) the log folder `root`, with temporary files in
    /// `tmp`, which must be on the same file system. Leftover temporary files from an
    /// interrupted write are removed.
    pub fn open(root: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> Result<FsStorage, Error> {
        let root = root.into();
        let tmp = tmp.into();
        create_dirs_durably(&root)?;
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::io("clean", &tmp, e))?;
        }
        create_dirs_durably(&tmp)?;
        // `create_dirs_durably` trusts a folder that already exists; a killed process may
        // have created it without fsyncing its name, so make it durable here.
        sync_dir(&root)?;
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(FsStorage {
            durable_dirs: Mutex::new(HashSet::from([root.clone()])),
            root,
            tmp,
            counter: AtomicU64::new(0),
        })
    }

    /// The log folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn tile_path(&self, tile: TileId) -> PathBuf {
        // `TileId::path` is made of fixed components and digits only, so the path always
        // stays inside `root`.
        self.root.join(tile.path())
    }

    /// Writes `data` to a new temporary file and fsyncs it; returns its path.
    fn write_temp(&self, data: &[u8]) -> Result<PathBuf, Error> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self.tmp.join(format!("{}-{n}", std::process::id()));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        f.write_all(data)
            .map_err(|e| Error::io("write", &path, e))?;
        f.sync_all().map_err(|e| Error::io("fsync", &path, e))?;
        Ok(path)
    }

    /// The durable write of several files: every temporary file written and fsynced
    /// (in parallel, since fsyncs of different files overlap well), missing directories
    /// created and fsynced into their parents, every file renamed into place, and every
    /// directory that received a name fsynced once.
    fn write_files(&self, files: &[(PathBuf, &[u8])]) -> Result<(), Error> {
        let temps = if files.len() > 1 {
            std::thread::scope(|s| {
                let handles: Vec<_> = files
                    .iter()
                    .map(|(_, data)| s.spawn(move || self.write_temp(data)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(Error::Panicked { thread: "write" }))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })?
        } else {
            files
                .iter()
                .map(|(_, data)| self.write_temp(data))
                .collect::<Result<Vec<_>, _>>()?
        };
        let mut dirs = BTreeSet::new();
        for ((dest, _), temp) in files.iter().zip(&temps) {
            let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
            if !dirs.contains(&parent) {
                self.ensure_dir(&parent)?;
            }
            fs::rename(temp, dest).map_err(|e| Error::io("rename", dest, e))?;
            dirs.insert(parent);
        }
        // Directory fsyncs of different directories overlap as well as file fsyncs do.
        if dirs.len() > 1 {
            std::thread::scope(|s| {
                let handles: Vec<_> = dirs.iter().map(|d| s.spawn(move || sync_dir(d))).collect();
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
                sync_dir(dir)?;
            }
        }
        Ok(())
    }
}

impl FsStorage {
    /// Creates `dir` (under `root`) if needed and makes it and its name durable, once per
    /// process: a directory that already exists may have been created by a process that
    /// was killed before it fsynced the directory's name into its parent.
    fn ensure_dir(&self, dir: &Path) -> Result<(), Error> {
        if self
            .durable_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(dir)
        {
            return Ok(());
        }
        let parent = dir
            .parent()
            .filter(|p| dir.starts_with(&self.root) && *p != dir);
        let Some(parent) = parent else {
            return create_dirs_durably(dir);
        };
        self.ensure_dir(parent)?;
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create directory", dir, e)),
        }
        sync_dir(dir)?;
        sync_dir(parent)?;
        self.durable_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dir.to_path_buf());
        Ok(())
    }
}

impl Storage for FsStorage {
    fn sync_existing(&self) -> Result<(), Error> {
        // File contents were fsynced before every rename; what a killed process may have
        // left without its fsync is a name, so every directory is fsynced (children
        // first, then the folder that names them), and the checkpoint's contents too.
        fn walk(dir: &Path, dirs: &mut Vec<PathBuf>) -> Result<(), Error> {
            let entries = fs::read_dir(dir).map_err(|e| Error::io("list", dir, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| Error::io("list", dir, e))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| Error::io("stat", entry.path(), e))?;
                if kind.is_dir() {
                    walk(&entry.path(), dirs)?;
                }
            }
            dirs.push(dir.to_path_buf());
            Ok(())
        }
        let checkpoint = self.root.join("checkpoint");
        match File::open(&checkpoint) {
            Ok(f) => f
                .sync_all()
                .map_err(|e| Error::io("fsync", &checkpoint, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("open", &checkpoint, e)),
        }
        let mut dirs = Vec::new();
        walk(&self.root, &mut dirs)?;
        for dir in &dirs {
            sync_dir(dir)?;
        }
        if let Some(parent) = self.root.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        self.durable_dirs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(dirs);
        Ok(())
    }

    fn read_checkpoint(&self) -> Result<Option<Vec<u8>>, Error> {
        read_optional(&self.root.join("checkpoint"))
    }

    fn write_checkpoint(&self, checkpoint: &[u8]) -> Result<(), Error> {
        self.write_files(&[(self.root.join("checkpoint"), checkpoint)])
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
            Err(e) => Err(Error::io("delete", dir, e)),
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
            Err(e) => Err(Error::io("list", tiles, e)),
        }
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// Fsyncs a directory, making the names in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// Creates `dir` and any missing ancestors; each directory created is fsynced into its
/// parent, so that a crash cannot lose a directory whose files were made durable.
pub(crate) fn create_dirs_durably(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs_durably(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        // Another writer (a parallel test, say) made it first: it is there either way,
        // and fsyncing the parent below still makes its name durable.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create directory", dir, e)),
    }
    sync_dir(dir)?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sync_dir(parent)
}

/// Durably writes a small file outside the log folder (a key, the verifier key): a
/// temporary file beside it with `mode`, fsynced, renamed, the directory fsynced.
/// With `create_new`, an existing file is never replaced.
pub(crate) fn write_file_durably(
    path: &Path,
    data: &[u8],
    mode: u32,
    create_new: bool,
) -> Result<(), Error> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dirs_durably(dir)?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| Error::io("create", &tmp, e))?;
    // The umask may have narrowed the mode; the public key must be readable by all.
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("chmod", &tmp, e))?;
    f.write_all(data).map_err(|e| Error::io("write", &tmp, e))?;
    f.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
    drop(f);
    if create_new {
        // A hard link fails if the name exists, which a rename would silently replace.
        fs::hard_link(&tmp, path).map_err(|e| Error::io("create", path, e))?;
        fs::remove_file(&tmp).map_err(|e| Error::io("remove", &tmp, e))?;
    } else {
        fs::rename(&tmp, path).map_err(|e| Error::io("rename", path, e))?;
    }
    sync_dir(dir)
}
