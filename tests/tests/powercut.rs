//! Power-cut durability, tested black-box on the real `signet-server` binary.
//!
//! A killed process keeps everything the kernel accepted; a power cut keeps only what
//! was made durable. The server runs under `strace`, which records every write, fsync,
//! rename, mkdir, link and unlink it makes, and every response it writes to a client
//! socket. The test replays that record on a simulated disk that keeps only what was
//! fsynced:
//! - a file's content is durable once an fsync of it *started* after its last write
//!   finished, and has itself finished;
//! - a name in a directory (made by open-with-create, mkdir, rename or link) is durable
//!   once an fsync of the directory started after the name was made and has finished;
//!   until then, a power cut may leave the old binding (or none) instead;
//! - a path survives only if every directory on it survives under its own name.
//!
//! At the moment each acknowledgement starts to be written to its client's socket, every
//! state a power cut could leave must hold, under `<data>/log/`, a durable checkpoint that
//! covers the acknowledged index, and every tile and entry bundle that checkpoint needs.
//! Throughout, every file renamed or linked into place must have been fsynced first, and
//! no file under `<data>/log/` may be written in place.
//!
//! A negative control runs the same checker on hand-written traces, each with one
//! mistake, and checks that it reports it: the checker can fail.
//!
//! strace must be installed (`apt-get install strace`); without it the test fails.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_core::TileId;
use signet_core::tiles::{TILE_HEIGHT, TILE_WIDTH, TileLevel};
use signet_tests::Server;

/// Entries submitted: more than one full tile (256), so a full tile and a full entry
/// bundle are written and their partial versions deleted.
const ENTRIES: u64 = 300;
const SUBMITTERS: u64 = 4;

const TRACED: &str = "trace=openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,\
                      ftruncate,truncate,fsync,fdatasync,syncfs,rename,renameat,renameat2,\
                      mkdir,mkdirat,unlink,unlinkat,rmdir,link,linkat,sendto,sendmsg,close";

fn strace() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("SIGNET_STRACE") {
        Some(p) => vec![PathBuf::from(p)],
        None => std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
            .map(|d| d.join("strace"))
            .collect(),
    };
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "strace is not installed: the power-cut test needs it to record the server's \
                 writes, fsyncs and renames. Install it (`apt-get install strace`; CI installs \
                 it) or point SIGNET_STRACE at it"
            )
        })
}

fn endorsement(n: u64) -> Vec<u8> {
    signet_tests::endorsement("powercut", n)
}

/// The pid of the process `strace` started (its only child).
fn traced_pid(strace_pid: u32, deadline: Instant) -> u32 {
    let path = format!("/proc/{strace_pid}/task/{strace_pid}/children");
    loop {
        let children = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.parse().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "could not find the server's pid in {path}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_acknowledgement_survives_a_simulated_power_cut() {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let strace = strace();
    let tmp = tempfile::tempdir().unwrap();
    // strace shows resolved paths; the data directory must be spelled the same way.
    let root = tmp.path().canonicalize().unwrap();
    let data = root.join("data");
    let trace_file = root.join("trace");
    let wrapper: Vec<&OsStr> = vec![
        strace.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("-tt"),
        OsStr::new("-yy"),
        OsStr::new("-qq"),
        OsStr::new("-s"),
        OsStr::new("4096"),
        OsStr::new("-e"),
        OsStr::new(TRACED),
        OsStr::new("-o"),
        trace_file.as_os_str(),
        OsStr::new("--"),
    ];
    let mut server = Server::try_start_wrapped(&wrapper, &data, &[]).unwrap_or_else(|out| {
        panic!(
            "signet-server did not start under {} (is ptrace allowed here?); it printed:\n{out}",
            strace.display()
        )
    });
    let server_pid = traced_pid(server.child_pid().unwrap(), deadline);

    // Concurrent submitters, so that batches hold several entries and cross a tile.
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let threads: Vec<_> = (0..SUBMITTERS)
        .map(|t| {
            let (url, acked) = (server.url.clone(), Arc::clone(&acked));
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(20)))
                    .build()
                    .into();
                for n in (t..ENTRIES).step_by(SUBMITTERS as usize) {
                    assert!(Instant::now() < deadline, "submissions ran out of time");
                    let entry = endorsement(n);
                    let mut resp = agent
                        .post(format!("{url}/v1/endorsements"))
                        .content_type("text/plain")
                        .send(&entry[..])
                        .expect("POST to the server");
                    let status = resp.status().as_u16();
                    let body = resp.body_mut().read_to_vec().expect("read body");
                    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    let index = v["index"].as_u64().unwrap();
                    assert!(acked.lock().unwrap().insert(index), "index {index} twice");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let status = server.stop_by_signalling(server_pid);
    assert!(
        status.success(),
        "signet-server under strace exited with {status}; it printed:\n{}",
        server.output.lock().unwrap()
    );
    let acked = acked.lock().unwrap().clone();
    assert_eq!(acked.len() as u64, ENTRIES);

    let trace = std::fs::read_to_string(&trace_file).expect("read the strace output");
    // The signing key must survive too: without it, the stored checkpoint cannot be
    // verified and the log cannot go on.
    let report = check_trace(&trace, &root, &data, &["log.key", "log.vkey"]);
    if let Some(keep) = std::env::var_os("SIGNET_POWERCUT_KEEP_TRACE") {
        std::fs::copy(&trace_file, &keep).unwrap();
    }
    eprintln!(
        "power-cut check: {} trace lines, {} acknowledgements written ({} distinct indexes), \
         {} checkpoints renamed into place, {} files and {} directory fsyncs, {} renames, \
         {} directories made, {} names removed; {} s",
        trace.lines().count(),
        report.acks_written,
        report.acked.len(),
        report.checkpoints,
        report.file_fsyncs,
        report.dir_fsyncs,
        report.renames,
        report.mkdirs,
        report.unlinks,
        started.elapsed().as_secs()
    );
    assert!(
        report.violations.is_empty(),
        "{} durability violations (a power cut could lose acknowledged data); the first:\n{}",
        report.violations.len(),
        report
            .violations
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The checker saw what the clients saw: otherwise it checked nothing.
    let index_writes: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("\\\"index\\\""))
        .take(3)
        .collect();
    assert_eq!(
        report.acked,
        acked,
        "the acknowledgements found in the trace are not the ones the clients received; \
         the first trace lines that carry an index:\n{}",
        index_writes.join("\n")
    );
    assert!(
        report.checkpoints >= 3,
        "expected several batches (checkpoints), saw {}",
        report.checkpoints
    );
    for full in ["tile/0/000", "tile/entries/000"] {
        assert!(
            report.renamed_into_log.contains(full),
            "the full tile {full} was never renamed into place"
        );
    }
    assert!(
        report.unlinks > 0,
        "no partial tile was deleted after the full tile was written"
    );

    // The checker is not blind on the real trace: without the fsyncs of <data>/log/, or
    // of the temporary files, it must find violations.
    let log_dir = format!("<{}>", data.join("log").display());
    let tmp_files = format!("<{}/", data.join("tmp").display());
    for (what, needle) in [
        ("the directory fsyncs of <data>/log/", log_dir),
        ("the fsyncs of the temporary files", tmp_files),
    ] {
        let cut: String = trace
            .lines()
            .filter(|l| !(l.contains("fsync(") && l.contains(&needle)))
            .map(|l| format!("{l}\n"))
            .collect();
        let r = check_trace(&cut, &root, &data, &["log.key", "log.vkey"]);
        assert!(
            r.violations.len() >= ENTRIES as usize,
            "without {what}, the checker should flag every acknowledgement; it found {} violations",
            r.violations.len()
        );
    }
}

/// Negative controls: a trace with one mistake each, which the checker must report.
/// A process killed right after renaming a checkpoint into place, before fsyncing
/// `log/`, leaves a checkpoint a power cut could still take away. The next process must
/// make it durable before it serves anything.
#[test]
fn a_restart_after_sigkill_makes_the_stored_log_durable_before_serving() {
    let strace = strace();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log_dir = data.join("log");
    // The fourth fsync of log/ follows the letter registration's checkpoint rename: the
    // server is killed there, so log/ holds a checkpoint whose name was never fsynced.
    let status = std::process::Command::new(&strace)
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=fsync",
            "-e",
            "inject=fsync:signal=KILL:when=4",
            "-P",
        ])
        .arg(&log_dir)
        .arg(signet_tests::server_bin())
        .arg("--data")
        .arg(&data)
        .arg("--letters")
        .arg(signet_tests::letters_dir())
        .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the server under strace");
    assert!(
        !status.success(),
        "the injected SIGKILL stops the first server"
    );
    assert!(
        log_dir.join("checkpoint").exists(),
        "the first server got as far as a checkpoint"
    );

    let trace = tmp.path().join("restart.trace");
    let wrapper: Vec<&OsStr> = vec![
        strace.as_os_str(),
        OsStr::new("-f"),
        OsStr::new("-qq"),
        OsStr::new("-yy"),
        OsStr::new("-e"),
        OsStr::new("trace=fsync,write"),
        OsStr::new("-o"),
        trace.as_os_str(),
    ];
    let mut server =
        Server::try_start_wrapped(&wrapper, &data, &[]).expect("the restarted server starts");
    let (status, _) = server.get("/checkpoint");
    assert_eq!(status, 200);
    let text = std::fs::read_to_string(&trace).unwrap();
    let listening = text
        .lines()
        .position(|l| l.contains("listening on http://"))
        .expect("the trace shows the server announcing its address");
    let before = &text.lines().collect::<Vec<_>>()[..listening];
    let synced = |path: &Path| {
        let needle = format!("<{}>)", path.display());
        before
            .iter()
            .any(|l| l.contains("fsync(") && l.contains(&needle) && l.trim_end().ends_with("= 0"))
    };
    assert!(
        synced(&log_dir),
        "the restarted server fsyncs log/ before serving:\n{text}"
    );
    assert!(
        synced(&log_dir.join("checkpoint")),
        "the restarted server fsyncs the checkpoint before serving"
    );
    assert!(
        synced(&data),
        "the restarted server fsyncs the data folder (the key files' names)"
    );
    let pid = server
        .child_pid()
        .map(|strace_pid| traced_pid(strace_pid, Instant::now() + Duration::from_secs(10)));
    assert!(server.stop_by_signalling(pid.unwrap()).success());
}

/// strace pads the pid column when pids differ in width; a padded line is a call like
/// any other (a fresh machine's low pids once hid every acknowledgement from the checker).
#[test]
fn trace_lines_with_a_padded_pid_column_are_read() {
    for line in [
        "6569  13:53:23.819442 fsync(3</r/x>) = 0",
        "16569 13:53:23.819442 fsync(3</r/x>) = 0",
    ] {
        let names: Vec<String> = events(line)
            .into_iter()
            .map(|e| match e {
                Event::Entry(c) | Event::Exit(c, _) => c.name,
            })
            .collect();
        assert_eq!(names, ["fsync", "fsync"], "{line}");
    }
}

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

// ---------------------------------------------------------------------------------------
// The trace: strace -f -tt -yy lines, with `<unfinished ...>` / `<... resumed>` pairs.

/// One system call as strace printed it.
#[derive(Debug, Clone)]
struct Call {
    line: usize,
    name: String,
    /// The arguments, split at top-level commas (strings still quoted).
    args: Vec<String>,
    /// The return value, or `None` at the call's entry (before it returned).
    ret: Option<String>,
}

impl Call {
    fn ok(&self) -> bool {
        self.ret
            .as_deref()
            .is_some_and(|r| !r.starts_with('-') && !r.starts_with('?'))
    }
}

/// What happens in the trace, in order: a call's entry and its completion are separate
/// events when other threads ran in between.
enum Event {
    Entry(Call),
    /// A call's completion, with the line of its entry.
    Exit(Call, usize),
}

fn events(trace: &str) -> Vec<Event> {
    let mut out = Vec::new();
    // Per thread: the call it started and has not finished, with its entry line.
    let mut unfinished: HashMap<String, (String, usize)> = HashMap::new();
    for (i, line) in trace.lines().enumerate() {
        let line_no = i + 1;
        // `<pid> <time> <call>`; strace pads the pid column when pids differ in width
        // (a 4-digit pid beside 5-digit ones), so split at runs of spaces.
        let Some((pid, rest)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let Some((_time, rest)) = rest.trim_start().split_once(' ') else {
            continue;
        };
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            let Some((head, entry_line)) = unfinished.remove(pid) else {
                continue;
            };
            let mut full = head;
            full.push_str(tail);
            if let Some(call) = parse_call(line_no, name, &full, true) {
                out.push(Event::Exit(call, entry_line));
            }
        } else if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            let head = head.trim_end();
            let Some((name, args)) = head.split_once('(') else {
                continue;
            };
            let mut args = args.to_owned();
            if args.ends_with(',') {
                args.push(' ');
            }
            if let Some(call) = parse_call(line_no, name, &args, false) {
                out.push(Event::Entry(call));
            }
            unfinished.insert(pid.to_owned(), (args, line_no));
        } else if let Some((name, args)) = rest.split_once('(')
            && let Some(call) = parse_call(line_no, name, args, true)
        {
            out.push(Event::Entry(Call {
                ret: None,
                ..call.clone()
            }));
            out.push(Event::Exit(call, line_no));
        }
    }
    out
}

/// Parses `args) = ret` (or, at an entry, the arguments printed so far).
fn parse_call(line: usize, name: &str, text: &str, complete: bool) -> Option<Call> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut in_str, mut escaped) = (0i32, false, false);
    let mut end = None;
    for (i, c) in text.char_indices() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            '[' | '{' | '(' => {
                depth += 1;
                cur.push(c);
            }
            ']' | '}' => {
                depth -= 1;
                cur.push(c);
            }
            ')' if depth == 0 => {
                end = Some(i);
                break;
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => {
                args.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        args.push(cur.trim().to_owned());
    }
    let ret = if complete {
        let rest = &text[end? + 1..];
        Some(rest.trim_start().strip_prefix('=')?.trim().to_owned())
    } else {
        None
    };
    Some(Call {
        line,
        name: name.to_owned(),
        args,
        ret,
    })
}

/// Decodes a strace string argument (`"..."` or `"..."...` when truncated).
fn decode_str(arg: &str) -> Option<(Vec<u8>, bool)> {
    let arg = arg.trim();
    let arg = arg.strip_prefix("iov_base=").unwrap_or(arg);
    let truncated = arg.ends_with("\"...");
    let inner = arg.strip_prefix('"')?;
    let inner = inner
        .strip_suffix("...")
        .unwrap_or(inner)
        .strip_suffix('"')?;
    let mut out = Vec::new();
    let b = inner.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' if i + 2 < b.len() + 1 => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            d @ b'0'..=b'7' => {
                let mut v = u32::from(d - b'0');
                let mut n = 1;
                while n < 3 && i + 1 < b.len() && (b'0'..=b'7').contains(&b[i + 1]) {
                    i += 1;
                    n += 1;
                    v = v * 8 + u32::from(b[i] - b'0');
                }
                out.push(v as u8);
            }
            other => out.push(other),
        }
        i += 1;
    }
    Some((out, truncated))
}

/// Every string in an argument list, decoded and concatenated (for writev's iovecs).
fn all_strings(args: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in args {
        let mut rest = a.as_str();
        while let Some(start) = rest.find('"') {
            let s = &rest[start..];
            // Find the closing quote, skipping escapes.
            let mut end = None;
            let mut escaped = false;
            for (i, c) in s.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(i);
                    break;
                }
            }
            let Some(end) = end else { break };
            if let Some((bytes, _)) = decode_str(&s[..=end]) {
                out.extend_from_slice(&bytes);
            }
            rest = &s[end + 1..];
        }
    }
    out
}

/// The path in an fd argument annotated by `-yy`: `5</a/b>` gives `/a/b`.
fn fd_path(arg: &str) -> Option<&str> {
    let start = arg.find('<')?;
    let inner = arg[start + 1..].strip_suffix('>')?;
    let inner = inner.strip_suffix(" (deleted)").unwrap_or(inner);
    inner.starts_with('/').then_some(inner)
}

fn is_tcp(arg: &str) -> bool {
    arg.contains("<TCP:") || arg.contains("<TCPv6:")
}

/// Resolves a path argument, relative to a directory fd argument when there is one.
fn path_arg(dirfd: Option<&str>, arg: &str) -> Option<PathBuf> {
    let (bytes, _) = decode_str(arg)?;
    let p = PathBuf::from(String::from_utf8(bytes).ok()?);
    if p.is_absolute() {
        return Some(p);
    }
    Some(Path::new(fd_path(dirfd?)?).join(p))
}

// ---------------------------------------------------------------------------------------
// The simulated disk.

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
enum Snapshot {
    File(Id, u64),
    Dir(Id, BTreeMap<String, Id>, u64),
}

#[derive(Debug, Default)]
struct Report {
    violations: Vec<String>,
    acks_written: usize,
    acked: BTreeSet<u64>,
    checkpoints: usize,
    file_fsyncs: usize,
    dir_fsyncs: usize,
    renames: usize,
    mkdirs: usize,
    unlinks: usize,
    /// Paths under `log/` that files were renamed to.
    renamed_into_log: BTreeSet<String>,
}

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
                if self.under_log(&to) {
                    let rel = to.strip_prefix(&self.log).unwrap().display().to_string();
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
fn checkpoint_size(data: &[u8]) -> Option<u64> {
    std::str::from_utf8(data).ok()?.lines().nth(1)?.parse().ok()
}

/// Every tile and entry bundle a tree of `size` needs.
fn tiles_for(size: u64) -> Vec<TileId> {
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
/// `data`.
fn check_trace(trace: &str, root: &Path, data: &Path, also: &[&str]) -> Report {
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
