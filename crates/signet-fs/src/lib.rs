#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// A file-system operation that failed, with the path it failed on.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}", path.display())]
#[non_exhaustive]
pub struct Error {
    /// What was being done: `create`, `write`, `fsync`, `rename`, …
    pub op: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

impl Error {
    fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Error {
        Error {
            op,
            path: path.into(),
            source,
        }
    }

    /// The kind of the underlying I/O error (`NotFound`, `AlreadyExists`, …).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }
}

/// The mode of files that everyone may read (public keys, endorsements, proofs, tiles).
pub const PUBLIC: u32 = 0o644;

/// The mode of secret files (private keys).
pub const PRIVATE: u32 = 0o600;

/// A temporary file with a random name, created exclusively, not yet in its place.
///
/// Write the contents with [`TempFile::write_all`], then put it in place with
/// [`TempFile::persist`] (replacing what is there) or [`TempFile::persist_new`] (never
/// replacing). Both fsync the file first. A `TempFile` dropped before it is persisted is
/// removed.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    /// Creates a temporary file with a random name in `dir`, with permissions `mode`
    /// (exactly, whatever the umask). `dir` must be on the same file system as the file's
    /// final place. `O_EXCL` means a name that exists (a file, or a symlink planted there)
    /// is never opened; a fresh name is tried instead.
    pub fn create_in(dir: &Path, mode: u32) -> Result<TempFile, Error> {
        const TRIES: usize = 8;
        let mut last = None;
        for _ in 0..TRIES {
            let path = dir.join(random_name()?);
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(file) => {
                    // The umask may have narrowed the mode; a public file must stay
                    // readable by all, and a private one is 0600 either way.
                    file.set_permissions(fs::Permissions::from_mode(mode))
                        .map_err(|e| Error::new("set the permissions of", &path, e))?;
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some((path, e)),
                Err(e) => return Err(Error::new("create", path, e)),
            }
        }
        let (path, e) = last.unwrap_or_else(|| {
            (
                dir.to_path_buf(),
                io::Error::other("no temporary name was tried"),
            )
        });
        Err(Error::new("create", path, e))
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `data` to the file.
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), Error> {
        match self.file.as_mut() {
            Some(f) => f
                .write_all(data)
                .map_err(|e| Error::new("write", &self.path, e)),
            None => Err(Error::new(
                "write",
                &self.path,
                io::Error::other("the temporary file was already persisted"),
            )),
        }
    }

    fn sync(&mut self) -> Result<(), Error> {
        if let Some(f) = self.file.take() {
            f.sync_all()
                .map_err(|e| Error::new("fsync", &self.path, e))?;
        }
        Ok(())
    }

    /// Fsyncs the file and renames it over `dest`, replacing what is there (a symlink at
    /// `dest` is replaced, never written through). Does not fsync `dest`'s folder: call
    /// [`sync_dir`] once for every folder that received names, or use [`replace`].
    pub fn persist(mut self, dest: &Path) -> Result<(), Error> {
        self.sync()?;
        fs::rename(&self.path, dest).map_err(|e| Error::new("rename into place", dest, e))?;
        self.path = PathBuf::new();
        Ok(())
    }

    /// Fsyncs the file and gives it the name `dest` only if nothing has that name: a
    /// hard link fails when the name exists, where a rename would replace it. Does not
    /// fsync `dest`'s folder.
    pub fn persist_new(mut self, dest: &Path) -> Result<(), Error> {
        self.sync()?;
        fs::hard_link(&self.path, dest).map_err(|e| Error::new("create", dest, e))?;
        // The file now has its final name; the temporary name goes (dropping self does it).
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A name no other writer will pick: a dot (hidden from listings and static servers'
/// indexes), 16 random bytes in hex, and `.tmp`.
fn random_name() -> Result<OsString, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        Error::new(
            "draw a random temporary name in",
            PathBuf::new(),
            io::Error::other(e.to_string()),
        )
    })?;
    let mut name = String::with_capacity(38);
    name.push('.');
    for b in bytes {
        name.push_str(&format!("{b:02x}"));
    }
    name.push_str(".tmp");
    Ok(name.into())
}

/// The folder that holds `path` (`.` for a bare file name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Durably replaces `path` with `data` (mode [`PUBLIC`]): a fresh temporary file in the
/// same folder, fsynced, renamed into place, and the folder fsynced.
pub fn replace(path: &Path, data: &[u8]) -> Result<(), Error> {
    replace_with_mode(path, data, PUBLIC)
}

/// [`replace`] with the given permissions.
pub fn replace_with_mode(path: &Path, data: &[u8], mode: u32) -> Result<(), Error> {
    let dir = parent_of(path);
    let mut tmp = TempFile::create_in(dir, mode)?;
    tmp.write_all(data)?;
    tmp.persist(path)?;
    sync_dir(dir)
}

/// Durably creates `path` with `data` and permissions `mode`, failing (with
/// [`io::ErrorKind::AlreadyExists`]) when anything already has that name: a key file is
/// never overwritten, and no symlink is followed.
pub fn create_new(path: &Path, data: &[u8], mode: u32) -> Result<(), Error> {
    let dir = parent_of(path);
    let mut tmp = TempFile::create_in(dir, mode)?;
    tmp.write_all(data)?;
    tmp.persist_new(path)?;
    sync_dir(dir)
}

/// Fsyncs a folder, making the names in it durable.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::new("fsync the folder", dir, e))
}

/// Fsyncs a file's contents (one that exists already, such as one a killed process left).
pub fn sync_file(path: &Path) -> Result<(), Error> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::new("fsync", path, e))
}

/// Creates `dir` and its missing ancestors. Every folder it creates is fsynced, and its
/// name fsynced into its parent, so a crash cannot lose a folder whose files were made
/// durable. A folder that already exists is trusted as it is.
pub fn create_dir_all(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let parent = parent_of(dir);
    if parent != dir {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        // Another writer made it first: it is there either way, and fsyncing the parent
        // below still makes its name durable.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::new("create the folder", dir, e)),
    }
    sync_dir(dir)?;
    sync_dir(parent)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on any error")]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn replace_writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        replace(&path, b"one").unwrap();
        replace(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            PUBLIC
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn create_new_never_replaces_and_sets_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        create_new(&path, b"secret", PRIVATE).unwrap();
        let err = create_new(&path, b"other", PRIVATE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(err.to_string().contains("k.key"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"secret");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            PRIVATE
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let path = dir.path().join("out");
        symlink(&victim, &path).unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert!(
            !fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );

        let key = dir.path().join("key");
        symlink(&victim, &key).unwrap();
        assert_eq!(
            create_new(&key, b"secret", PRIVATE).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
    }

    #[test]
    fn temporary_names_are_fresh_and_dropped_files_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let a = TempFile::create_in(dir.path(), PUBLIC).unwrap();
        let b = TempFile::create_in(dir.path(), PUBLIC).unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with('.') && name.ends_with(".tmp") && name.len() == 37,
            "{name}"
        );
        drop(a);
        drop(b);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn create_dir_all_makes_every_level() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dir_all(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_all(&deep).unwrap();
        fs::write(dir.path().join("a/f"), b"").unwrap();
        let err = create_dir_all(&dir.path().join("a/f/x")).unwrap_err();
        assert!(err.to_string().contains("a/f"), "{err}");
    }

    #[test]
    fn errors_name_the_path() {
        let err = replace(Path::new("/nonexistent-folder/x"), b"").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string()
                .starts_with("cannot create /nonexistent-folder/"),
            "{err}"
        );
    }
}
