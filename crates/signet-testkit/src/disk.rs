//! A model of a disk that keeps only what was fsynced, replayed from an `strace` of a
//! server, and the checker of a power cut at every acknowledgement.
//!
//! A killed process keeps everything the kernel accepted; a power cut keeps only what
//! was made durable:
//! - a file's content is durable once an fsync of it *started* after its last write
//!   finished, and has itself finished;
//! - a name in a directory (made by open-with-create, mkdir, rename or link) is durable
//!   once an fsync of the directory started after the name was made and has finished;
//!   until then, a power cut may leave the old binding (or none) instead;
//! - a path survives only if every directory on it survives under its own name.
//!
//! [`check_trace`] checks that at the moment each acknowledgement starts to be written to
//! its client's socket, every state a power cut could leave holds, under `<data>/log/`, a
//! durable checkpoint that covers the acknowledged index, and every tile and entry bundle
//! that checkpoint needs; and that throughout, every file renamed or linked into place
//! was fsynced first, and no file under `<data>/log/` is written in place.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use signet_core::TileId;
use signet_core::tiles::{TILE_HEIGHT, TILE_WIDTH, TileLevel};

use crate::strace::{Call, Event, all_strings, events, fd_path, is_tcp, path_arg};

type Id = usize;

#[derive(Debug, Default)]
struct Node {
    dir: bool,
    /// The path the node was first given, for messages.
    born: String,
    // A file: its content version (one per completed write) and the version the last
    // finished fsync covers; `data` is what was written (possibly truncated by strace).
    version: u64,
    durable_version: Option<u64>,
    data: Vec<u8>,
    /// Lines of writes since the last finished fsync began.
    dirty_lines: Vec<usize>,
    // A directory: its current names, the names a finished fsync made durable, and
    // every change since that fsync began (sequence number, name, new binding, line).
    entries: BTreeMap<String, Id>,
    durable: BTreeMap<String, Id>,
    durable_seq: u64,
    changes: Vec<(u64, String, Option<Id>, usize)>,
}

/// An fsync in flight: what it will make durable when it finishes.
#[derive(Debug)]
enum Snapshot {
    File(Id, u64),
    Dir(Id, BTreeMap<String, Id>, u64),
}

/// What [`check_trace`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// What a power cut could lose, or what was written unsafely, one message each.
    pub violations: Vec<String>,
    /// Acknowledgements written to client sockets (a retried write counts again).
    pub acks_written: usize,
    /// The indexes acknowledged.
    pub acked: BTreeSet<u64>,
    /// Checkpoints renamed into place.
    pub checkpoints: usize,
    /// Finished fsyncs of files.
    pub file_fsyncs: usize,
    /// Finished fsyncs of directories.
    pub dir_fsyncs: usize,
    /// Renames and links into the simulation.
    pub renames: usize,
    /// Directories made.
    pub mkdirs: usize,
    /// Names removed.
    pub unlinks: usize,
    /// Paths under `log/` that files were renamed to.
    pub renamed_into_log: BTreeSet<String>,
}

#[derive(Debug)]
struct Disk<'a> {
    nodes: Vec<Node>,
    /// The root of the simulation (a directory that already exists, durably: the
    /// temporary directory the data directory is made in).
    root: &'a Path,
    data: &'a Path,
    log: PathBuf,
    seq: u64,
    /// Fsyncs in flight, by the line of their entry.
    in_flight: HashMap<usize, Snapshot>,
    /// Files outside `log/` that must also be durable at every acknowledgement.
    also: Vec<PathBuf>,
    report: Report,
}

impl<'a> Disk<'a> {
    fn new(root: &'a Path, data: &'a Path) -> Disk<'a> {
        Disk {
            nodes: vec![Node {
                dir: true,
                born: root.display().to_string(),
                durable_version: Some(0),
                ..Node::default()
            }],
            root,
            data,
            log: data.join("log"),
            seq: 0,
            in_flight: HashMap::new(),
            also: Vec::new(),
            report: Report::default(),
        }
    }

    fn rel(&self, p: &Path) -> Option<Vec<String>> {
        let rel = p.strip_prefix(self.root).ok()?;
        Some(
            rel.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect(),
        )
    }

    fn show(&self, p: &Path) -> String {
        match p.strip_prefix(self.data) {
            Ok(r) => format!("<data>/{}", r.display()),
            Err(_) => p.display().to_string(),
        }
    }

    /// The node a path names now.
    fn lookup(&self, p: &Path) -> Option<Id> {
        let mut id = 0;
        for c in self.rel(p)? {
            id = *self.nodes[id].entries.get(&c)?;
        }
        Some(id)
    }

    /// The parent directory's node and the last component.
    fn parent(&self, p: &Path) -> Option<(Id, String)> {
        let name = p.file_name()?.to_string_lossy().into_owned();
        Some((self.lookup(p.parent()?)?, name))
    }

    fn bind(&mut self, dir: Id, name: &str, to: Option<Id>, line: usize) {
        self.seq += 1;
        match to {
            Some(id) => self.nodes[dir].entries.insert(name.to_owned(), id),
            None => self.nodes[dir].entries.remove(name),
        };
        let seq = self.seq;
        self.nodes[dir]
            .changes
            .push((seq, name.to_owned(), to, line));
    }

    fn create(&mut self, p: &Path, dir: bool, line: usize) -> Option<Id> {
        let (parent, name) = self.parent(p)?;
        let id = self.nodes.len();
        self.nodes.push(Node {
            dir,
            born: self.show(p),
            durable_version: if dir { Some(0) } else { None },
            ..Node::default()
        });
        self.bind(parent, &name, Some(id), line);
        Some(id)
    }

    fn under_log(&self, p: &Path) -> bool {
        p.starts_with(&self.log)
    }

    fn violation(&mut self, msg: String) {
        self.report.violations.push(msg);
    }

    /// Every node a power cut could leave at `p`, or why `p` might be missing.
    fn survivors(&self, p: &Path) -> Result<Vec<Id>, String> {
        let comps = self
            .rel(p)
            .ok_or_else(|| format!("{} is outside the simulation", p.display()))?;
        let mut ids = vec![0];
        let mut at = self.root.to_path_buf();
        for c in comps {
            let parent_path = at.clone();
            at.push(&c);
            let mut next = BTreeSet::new();
            for &d in &ids {
                let node = &self.nodes[d];
                if !node.dir {
                    return Err(format!(
                        "{} may be a file, not a directory",
                        self.show(&parent_path)
                    ));
                }
                let mut possible = vec![node.durable.get(&c).copied()];
                let mut last_change = None;
                for (seq, name, to, line) in &node.changes {
                    if *seq > node.durable_seq && *name == c {
                        possible.push(*to);
                        last_change = Some(*line);
                    }
                }
                for b in possible {
                    match b {
                        Some(id) => {
                            next.insert(id);
                        }
                        None => {
                            let why = match last_change {
                                Some(line) => format!(
                                    "its name was last changed at trace line {line}, and no fsync of {} started after that and finished",
                                    self.show(&parent_path)
                                ),
                                None => {
                                    format!("{} was never fsynced with it", self.show(&parent_path))
                                }
                            };
                            return Err(format!(
                                "{} could be lost in a power cut: {why}",
                                self.show(&at)
                            ));
                        }
                    }
                }
            }
            ids = next.into_iter().collect();
        }
        Ok(ids)
    }

    /// Checks that a power cut leaves a durable file at `p`; returns the candidates.
    fn durable_file(&self, p: &Path) -> Result<Vec<Id>, String> {
        let ids = self.survivors(p)?;
        for &id in &ids {
            let n = &self.nodes[id];
            if n.dir {
                return Err(format!("{} is a directory", self.show(p)));
            }
            if n.durable_version != Some(n.version) {
                return Err(format!(
                    "{} (written as {}) could lose its content in a power cut: no fsync began after its writes at trace lines {:?} and finished",
                    self.show(p),
                    n.born,
                    n.dirty_lines
                ));
            }
        }
        Ok(ids)
    }

    fn entry(&mut self, call: &Call) {
        match call.name.as_str() {
            "fsync" | "fdatasync" => {
                let Some(p) = call.args.first().and_then(|a| fd_path(a)) else {
                    return;
                };
                let p = PathBuf::from(p);
                let Some(id) = self.lookup(&p) else { return };
                let snap = if self.nodes[id].dir {
                    Snapshot::Dir(id, self.nodes[id].entries.clone(), self.seq)
                } else {
                    Snapshot::File(id, self.nodes[id].version)
                };
                self.in_flight.insert(call.line, snap);
            }
            "write" | "writev" | "sendto" | "sendmsg"
                if call.args.first().is_some_and(|a| is_tcp(a)) =>
            {
                self.ack(call);
            }
            _ => {}
        }
    }

    fn ack(&mut self, call: &Call) {
        let bytes = all_strings(&call.args);
        let text = String::from_utf8_lossy(&bytes);
        let Some(pos) = text.find("\"index\":") else {
            return;
        };
        let digits: String = text[pos + 8..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(index) = digits.parse::<u64>() else {
            return;
        };
        self.report.acks_written += 1;
        self.report.acked.insert(index);
        // The checkpoint the acknowledgement carries is published by it, so it must be
        // durable too: the durable one must be at least as large.
        let published = text
            .find('{')
            .and_then(|i| serde_json::from_str::<serde_json::Value>(&text[i..]).ok())
            .and_then(|v| checkpoint_size(v["checkpoint"].as_str()?.as_bytes()))
            .unwrap_or(0);
        let what = format!(
            "acknowledgement of index {index} (trace line {})",
            call.line
        );
        for p in self.also.clone() {
            if let Err(e) = self.durable_file(&p) {
                self.violation(format!("{what}: {e}"));
            }
        }
        let cp = self.log.join("checkpoint");
        let ids = match self.durable_file(&cp) {
            Ok(ids) => ids,
            Err(e) => return self.violation(format!("{what}: {e}")),
        };
        for id in ids {
            let Some(size) = checkpoint_size(&self.nodes[id].data) else {
                return self.violation(format!(
                    "{what}: the checkpoint a power cut could leave (written as {}) does not parse",
                    self.nodes[id].born
                ));
            };
            if size <= index {
                return self.violation(format!(
                    "{what}: the durable checkpoint (written as {}, size {size}) does not cover index {index}",
                    self.nodes[id].born
                ));
            }
            if size < published {
                return self.violation(format!(
                    "{what}: it publishes a checkpoint of size {published}, but a power cut could leave one of size {size} (written as {})",
                    self.nodes[id].born
                ));
            }
            for tile in tiles_for(size) {
                let p = self.log.join(tile.path());
                if let Err(e) = self.durable_file(&p) {
                    return self.violation(format!(
                        "{what}: checkpoint of size {size} needs {}, but {e}",
                        tile.path()
                    ));
                }
            }
        }
    }

    fn exit(&mut self, call: &Call, entry_line: usize) {
        let ok = call.ok();
        let line = call.line;
        let a = |i: usize| call.args.get(i).map(String::as_str);
        match call.name.as_str() {
            "fsync" | "fdatasync" => {
                let Some(snap) = self.in_flight.remove(&entry_line) else {
                    return;
                };
                if !ok {
                    return;
                }
                match snap {
                    Snapshot::File(id, version) => {
                        self.report.file_fsyncs += 1;
                        let n = &mut self.nodes[id];
                        if n.durable_version.is_none_or(|v| v < version) {
                            n.durable_version = Some(version);
                        }
                        if n.version == version {
                            n.dirty_lines.clear();
                        }
                    }
                    Snapshot::Dir(id, entries, seq) => {
                        self.report.dir_fsyncs += 1;
                        let n = &mut self.nodes[id];
                        if seq >= n.durable_seq {
                            n.durable = entries;
                            n.durable_seq = seq;
                            n.changes.retain(|c| c.0 > seq);
                        }
                    }
                }
            }
            "open" | "openat" | "creat" => {
                let (dirfd, path, flags) = match call.name.as_str() {
                    "openat" => (a(0), a(1), a(2).unwrap_or("")),
                    "open" => (None, a(0), a(1).unwrap_or("")),
                    _ => (None, a(0), "O_CREAT|O_WRONLY|O_TRUNC"),
                };
                let Some(p) = path.and_then(|x| path_arg(dirfd, x)) else {
                    return;
                };
                if !ok || self.rel(&p).is_none() {
                    return;
                }
                let writes = ["O_WRONLY", "O_RDWR", "O_TRUNC", "O_CREAT"]
                    .iter()
                    .any(|f| flags.contains(f));
                let existing = self.lookup(&p);
                if self.under_log(&p) && writes {
                    let v = format!(
                        "trace line {line}: {} opened for writing ({flags}): files under <data>/log/ must be written elsewhere and renamed into place, never written in place",
                        self.show(&p)
                    );
                    self.violation(v);
                }
                match existing {
                    None if flags.contains("O_CREAT") => {
                        self.create(&p, false, line);
                    }
                    Some(id) if flags.contains("O_TRUNC") && !self.nodes[id].dir => {
                        let n = &mut self.nodes[id];
                        n.version += 1;
                        n.data.clear();
                        n.dirty_lines.push(line);
                    }
                    _ => {}
                }
            }
            "write" | "pwrite64" | "writev" | "pwritev" | "pwritev2" | "ftruncate" => {
                let Some(p) = a(0).and_then(fd_path).map(PathBuf::from) else {
                    return;
                };
                if self.rel(&p).is_none() {
                    return;
                }
                if self.under_log(&p) {
                    let v = format!(
                        "trace line {line}: {} of {} in place: files under <data>/log/ must be renamed into place",
                        call.name,
                        self.show(&p)
                    );
                    self.violation(v);
                }
                if !ok {
                    return;
                }
                let Some(id) = self.lookup(&p) else { return };
                let data = all_strings(&call.args[1..]);
                let n = &mut self.nodes[id];
                n.version += 1;
                n.dirty_lines.push(line);
                if call.name == "write" || call.name == "writev" {
                    n.data.extend_from_slice(&data);
                }
            }
            "rename" | "renameat" | "renameat2" | "link" | "linkat" => {
                let (from, to) = if call.name.ends_with("at") || call.name == "renameat2" {
                    (
                        a(1).and_then(|x| path_arg(a(0), x)),
                        a(3).and_then(|x| path_arg(a(2), x)),
                    )
                } else {
                    (
                        a(0).and_then(|x| path_arg(None, x)),
                        a(1).and_then(|x| path_arg(None, x)),
                    )
                };
                let (Some(from), Some(to)) = (from, to) else {
                    return;
                };
                if !ok || self.rel(&to).is_none() {
                    return;
                }
                self.report.renames += 1;
                let Some(id) = self.lookup(&from) else { return };
                let n = &self.nodes[id];
                if !n.dir && n.durable_version != Some(n.version) {
                    let v = format!(
                        "trace line {line}: {} {} -> {}: the source was not fsynced after its writes at trace lines {:?}",
                        call.name,
                        self.show(&from),
                        self.show(&to),
                        n.dirty_lines
                    );
                    self.violation(v);
                }
                if call.name.starts_with("rename")
                    && let Some((dir, name)) = self.parent(&from)
                {
                    self.bind(dir, &name, None, line);
                }
                if let Some((dir, name)) = self.parent(&to) {
                    self.bind(dir, &name, Some(id), line);
                }
                if let Ok(rel) = to.strip_prefix(&self.log) {
                    let rel = rel.display().to_string();
                    if rel == "checkpoint" {
                        self.report.checkpoints += 1;
                    }
                    self.report.renamed_into_log.insert(rel);
                }
            }
            "mkdir" | "mkdirat" => {
                let p = if call.name == "mkdirat" {
                    a(1).and_then(|x| path_arg(a(0), x))
                } else {
                    a(0).and_then(|x| path_arg(None, x))
                };
                let Some(p) = p else { return };
                if ok && self.rel(&p).is_some() && self.create(&p, true, line).is_some() {
                    self.report.mkdirs += 1;
                }
            }
            "unlink" | "unlinkat" | "rmdir" => {
                let p = if call.name == "unlinkat" {
                    a(1).and_then(|x| path_arg(a(0), x))
                } else {
                    a(0).and_then(|x| path_arg(None, x))
                };
                let Some(p) = p else { return };
                if !ok || self.rel(&p).is_none() {
                    return;
                }
                if let Some((dir, name)) = self.parent(&p) {
                    self.bind(dir, &name, None, line);
                    self.report.unlinks += 1;
                }
            }
            _ => {}
        }
    }
}

/// The tree size on a checkpoint's second line.
pub fn checkpoint_size(data: &[u8]) -> Option<u64> {
    std::str::from_utf8(data).ok()?.lines().nth(1)?.parse().ok()
}

/// Every tile and entry bundle a tree of `size` needs.
pub fn tiles_for(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut count = size;
    let mut level = 0u8;
    while count > 0 {
        let mut kinds = vec![TileLevel::Hashes(level)];
        if level == 0 {
            kinds.push(TileLevel::Entries);
        }
        for kind in kinds {
            for index in 0..count / TILE_WIDTH {
                out.push(TileId {
                    level: kind,
                    index,
                    width: TILE_WIDTH as u16,
                });
            }
            if !count.is_multiple_of(TILE_WIDTH) {
                out.push(TileId {
                    level: kind,
                    index: count / TILE_WIDTH,
                    width: (count % TILE_WIDTH) as u16,
                });
            }
        }
        count >>= TILE_HEIGHT;
        level += 1;
    }
    out
}

/// Replays a trace on the simulated disk; `root` is a durable directory that holds
/// `data`, and `also` names files under `data` (outside `log/`) that must be durable at
/// every acknowledgement as well.
pub fn check_trace(trace: &str, root: &Path, data: &Path, also: &[&str]) -> Report {
    let mut disk = Disk::new(root, data);
    disk.also = also.iter().map(|p| data.join(p)).collect();
    for ev in events(trace) {
        match ev {
            Event::Entry(call) => disk.entry(&call),
            Event::Exit(call, entry_line) => disk.exit(&call, entry_line),
        }
    }
    disk.report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Negative controls: a trace with one mistake each, which the checker must report.
    #[test]
    fn the_checker_catches_missing_fsyncs_and_in_place_writes() {
        let root = Path::new("/r");
        let data = Path::new("/r/data");
        // A good batch: the data dir, log/, tile/0/ made durably; a tile and a checkpoint
        // written to temporary files, fsynced, renamed, and the directories fsynced; then
        // the acknowledgement of index 0.
        let good = r#"
100 10:00:00.000001 mkdir("/r/data", 0777) = 0
100 10:00:00.000002 openat(AT_FDCWD</>, "/r/data", O_RDONLY|O_CLOEXEC) = 3</r/data>
100 10:00:00.000003 fsync(3</r/data>) = 0
100 10:00:00.000004 openat(AT_FDCWD</>, "/r", O_RDONLY|O_CLOEXEC) = 3</r>
100 10:00:00.000005 fsync(3</r>) = 0
100 10:00:00.000006 mkdir("/r/data/log", 0777) = 0
100 10:00:00.000007 mkdir("/r/data/tmp", 0777) = 0
100 10:00:00.000008 fsync(3</r/data> <unfinished ...>
101 10:00:00.000009 openat(AT_FDCWD</>, "/r/data/tmp/1-0", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 4</r/data/tmp/1-0>
100 10:00:00.000010 <... fsync resumed>) = 0
101 10:00:00.000011 write(4</r/data/tmp/1-0>, "\x00\x01", 2) = 2
101 10:00:00.000012 fsync(4</r/data/tmp/1-0>) = 0
101 10:00:00.000013 close(4</r/data/tmp/1-0>) = 0
100 10:00:00.000014 mkdir("/r/data/log/tile", 0777) = 0
100 10:00:00.000015 mkdirat(AT_FDCWD</>, "/r/data/log/tile/0", 0777) = 0
100 10:00:00.000016 fsync(5</r/data/log/tile>) = 0
100 10:00:00.000017 fsync(5</r/data/log>) = 0
100 10:00:00.000018 fsync(5</r/data/log/tile/0>) = 0
100 10:00:00.000019 renameat2(AT_FDCWD</>, "/r/data/tmp/1-0", AT_FDCWD</>, "/r/data/log/tile/0/000.p/1", 0) = -1 ENOENT (No such file or directory)
100 10:00:00.000020 mkdir("/r/data/log/tile/0/000.p", 0777) = 0
100 10:00:00.000021 fsync(5</r/data/log/tile/0/000.p>) = 0
100 10:00:00.000022 fsync(5</r/data/log/tile/0>) = 0
100 10:00:00.000023 rename("/r/data/tmp/1-0", "/r/data/log/tile/0/000.p/1") = 0
100 10:00:00.000024 fsync(5</r/data/log/tile/0/000.p>) = 0
100 10:00:00.000025 mkdir("/r/data/log/tile/entries", 0777) = 0
100 10:00:00.000026 fsync(5</r/data/log/tile/entries>) = 0
100 10:00:00.000027 fsync(5</r/data/log/tile>) = 0
100 10:00:00.000028 mkdir("/r/data/log/tile/entries/000.p", 0777) = 0
100 10:00:00.000029 fsync(5</r/data/log/tile/entries/000.p>) = 0
100 10:00:00.000030 fsync(5</r/data/log/tile/entries>) = 0
100 10:00:00.000031 openat(AT_FDCWD</>, "/r/data/tmp/1-1", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 4</r/data/tmp/1-1>
100 10:00:00.000032 write(4</r/data/tmp/1-1>, "\x00\x02ab", 4) = 4
100 10:00:00.000033 fsync(4</r/data/tmp/1-1>) = 0
100 10:00:00.000034 rename("/r/data/tmp/1-1", "/r/data/log/tile/entries/000.p/1") = 0
100 10:00:00.000035 fsync(5</r/data/log/tile/entries/000.p>) = 0
100 10:00:00.000036 openat(AT_FDCWD</>, "/r/data/tmp/1-2", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0666) = 4</r/data/tmp/1-2>
100 10:00:00.000037 write(4</r/data/tmp/1-2>, "example.org/log\n1\nAAAA\n\n\xe2\x80\x94 example.org/log xyz\n", 46) = 46
100 10:00:00.000038 fsync(4</r/data/tmp/1-2>) = 0
100 10:00:00.000039 rename("/r/data/tmp/1-2", "/r/data/log/checkpoint") = 0
100 10:00:00.000040 fsync(5</r/data/log>) = 0
102 10:00:00.000041 writev(9<TCP:[127.0.0.1:80->127.0.0.1:5000]>, [{iov_base="HTTP/1.1 201 Created\r\n\r\n", iov_len=24}, {iov_base="{\"index\":0}", iov_len=11}], 2) = 35
"#;
        let ok = check_trace(good, root, data, &[]);
        assert!(
            ok.violations.is_empty(),
            "the good trace must pass: {:#?}",
            ok.violations
        );
        assert_eq!(ok.acked, BTreeSet::from([0]));

        // Each mutation removes or adds one line and names what the checker must say.
        let cases: [(&str, &str, &str, &str); 7] = [
            (
                "the checkpoint's directory is not fsynced after the rename",
                "100 10:00:00.000040 fsync(5</r/data/log>) = 0\n",
                "",
                "log/checkpoint",
            ),
            (
                "a new directory's name is not fsynced into its parent",
                "100 10:00:00.000027 fsync(5</r/data/log/tile>) = 0\n",
                "",
                "tile/entries",
            ),
            (
                "a tile is renamed before it is fsynced",
                "100 10:00:00.000033 fsync(4</r/data/tmp/1-1>) = 0\n",
                "",
                "was not fsynced",
            ),
            (
                "a checkpoint is acknowledged before its directory fsync finishes",
                "100 10:00:00.000040 fsync(5</r/data/log>) = 0\n",
                "100 10:00:00.000040 fsync(5</r/data/log> <unfinished ...>\n\
                 102 10:00:00.000041 write(9<TCP:[127.0.0.1:80->127.0.0.1:5000]>, \"{\\\"index\\\":0}\", 11) = 11\n\
                 100 10:00:00.000042 <... fsync resumed>) = 0\n",
                "log/checkpoint",
            ),
            (
                "a tile is written in place",
                "100 10:00:00.000036 ",
                "100 10:00:00.000035 openat(AT_FDCWD</>, \"/r/data/log/tile/0/000.p/1\", O_WRONLY|O_TRUNC) = 6</r/data/log/tile/0/000.p/1>\n\
                 100 10:00:00.000036 ",
                "in place",
            ),
            (
                "the acknowledged index is past the durable checkpoint",
                "{\\\"index\\\":0}",
                "{\\\"index\\\":1}",
                "does not cover index 1",
            ),
            (
                "the acknowledgement publishes a checkpoint larger than the durable one",
                "{\\\"index\\\":0}",
                "{\\\"checkpoint\\\":\\\"o\\\\n2\\\\nx\\\\n\\\",\\\"index\\\":0}",
                "publishes a checkpoint of size 2",
            ),
        ];
        for (what, from, to, expect) in cases {
            assert!(
                good.contains(from),
                "{what}: the control trace lacks {from:?}"
            );
            let bad = good.replacen(from, to, 1);
            let report = check_trace(&bad, root, data, &[]);
            assert!(
                report.violations.iter().any(|v| v.contains(expect)),
                "the checker missed it: {what}; it reported {:#?}",
                report.violations
            );
        }
    }

    #[test]
    fn a_tree_needs_every_full_tile_and_the_partial_tiles_of_its_size() {
        let paths = |size| -> Vec<String> { tiles_for(size).iter().map(TileId::path).collect() };
        assert_eq!(paths(0), Vec::<String>::new());
        assert_eq!(paths(1), ["tile/0/000.p/1", "tile/entries/000.p/1"]);
        assert_eq!(
            paths(257),
            [
                "tile/0/000",
                "tile/0/001.p/1",
                "tile/entries/000",
                "tile/entries/001.p/1",
                "tile/1/000.p/1"
            ]
        );
        assert_eq!(checkpoint_size(b"example.org/log\n257\nAAAA\n"), Some(257));
        assert_eq!(checkpoint_size(b"example.org/log\n"), None);
        assert_eq!(checkpoint_size(b"o\nx\n"), None);
    }
}
