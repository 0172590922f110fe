//! Power-cut durability, tested black-box on the real `signet-server` binary.
//!
//! A killed process keeps everything the kernel accepted; a power cut keeps only what
//! was made durable. The server runs under `strace`, which records every write, fsync,
//! rename, mkdir, link and unlink it makes, and every response it writes to a client
//! socket. The test replays that record on the kit's model of a disk that keeps only what
//! was fsynced (`signet_testkit::disk`, whose own tests show on hand-written faulty
//! traces that the checker can fail), and checks that at the moment each acknowledgement
//! starts to be written, every state a power cut could leave holds a durable checkpoint
//! covering it and every tile that checkpoint needs.
//!
//! strace must be installed (`apt-get install strace`); without it the test fails.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_testkit::disk::check_trace;
use signet_testkit::harness::Server;

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
    signet_testkit::harness::endorsement("powercut", n)
}

/// `strace` with `args`, writing its trace to `out`, as a wrapper for
/// [`Server::try_start_wrapped`].
fn wrapper<'a>(strace: &'a Path, args: &[&'a str], out: &'a Path) -> Vec<&'a OsStr> {
    let mut wrapper = vec![strace.as_os_str()];
    wrapper.extend(args.iter().map(|a| OsStr::new(*a)));
    wrapper.extend([OsStr::new("-o"), out.as_os_str(), OsStr::new("--")]);
    wrapper
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
    // Build the binaries first: the deadline bounds the test, not a cold build.
    signet_testkit::harness::server_bin();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let strace = strace();
    let tmp = tempfile::tempdir().unwrap();
    // strace shows resolved paths; the data directory must be spelled the same way.
    let root = tmp.path().canonicalize().unwrap();
    let data = root.join("data");
    let trace_file = root.join("trace");
    let wrapper = wrapper(
        &strace,
        &["-f", "-tt", "-yy", "-qq", "-s", "4096", "-e", TRACED],
        &trace_file,
    );
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
        .arg(signet_testkit::harness::server_bin())
        .arg("--data")
        .arg(&data)
        .arg("--letters")
        .arg(signet_testkit::harness::letters_dir())
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
    let wrapper = wrapper(
        &strace,
        &["-f", "-qq", "-yy", "-e", "trace=fsync,write"],
        &trace,
    );
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
