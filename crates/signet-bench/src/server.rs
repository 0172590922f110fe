//! A real `signet-server` or `signet-witness` on a temporary data directory, for the
//! benchmarks that start their own.
//!
//! The server listens on `127.0.0.1:0`; its address comes from the `listening on
//! http://<addr>` line it prints at start (docs/http-api.md) and its verifier key from
//! `<data>/log.vkey`. The process is killed when the [`Server`] is dropped, so no error
//! path leaves a server running.

use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use signet_core::VerifierKey;

use crate::target::ServerUrl;

/// How long the server may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server (or witness).
#[derive(Debug)]
pub struct Server {
    process: Process,
    /// Its base URL (loopback).
    pub url: ServerUrl,
    /// Its verifier key, read from `<data>/log.vkey` (a witness: `<data>/witness.vkey`).
    pub log_key: VerifierKey,
}

/// The server process, killed on drop, and where its standard error goes.
#[derive(Debug)]
struct Process {
    child: Child,
    log_path: PathBuf,
}

impl Process {
    /// The last lines of the server's standard error, for a diagnostic.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!(
                "; its last log lines ({}):\n{tail}",
                self.log_path.display()
            )
        }
    }
}

impl Process {
    /// Runs `command` (the binary `bin`), its standard error to `log_path`, and waits for
    /// the `listening on http://<addr>` line it prints; returns the process and `<addr>`.
    fn start(mut command: Command, bin: &Path, log_path: &Path) -> Result<(Process, String)> {
        let log = File::create(log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        // Per-request logging would cost the process time the benchmark then charges to
        // it; keep warnings and errors unless the caller chose a level.
        if std::env::var_os("SIGNET_LOG").is_none() {
            command.env("SIGNET_LOG", "warn");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot run {}", bin.display()))?;
        let mut process = Process {
            child,
            log_path: log_path.to_owned(),
        };
        let stdout =
            process.child.stdout.take().ok_or_else(|| {
                anyhow!("the standard output of {} was not captured", bin.display())
            })?;
        // A thread reads the process's standard output for its whole life, so it never
        // blocks on a full pipe; only the line with the address is passed on.
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_address(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let started = Instant::now();
        let addr = loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!(
                    "{} stopped without printing `listening on http://…`{}",
                    bin.display(),
                    process.log_tail()
                ),
            }
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "{} exited with {status} before listening{}",
                    bin.display(),
                    process.log_tail()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "{} did not print `listening on http://…` within {} s{}",
                    bin.display(),
                    START_TIMEOUT.as_secs(),
                    process.log_tail()
                );
            }
        };
        Ok((process, addr))
    }
}

/// The verifier key in the file `path`.
fn read_vkey(path: &Path) -> Result<VerifierKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    VerifierKey::parse(text.trim())
        .with_context(|| format!("{} does not hold a verifier key", path.display()))
}

impl Drop for Process {
    fn drop(&mut self) {
        // The data directory is temporary, so a hard kill loses nothing we need.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `bin` on `data` (created if needed) serving the letters in `letters`, with
    /// the rate limit off and `extra` arguments. Its standard error goes to `<data>.log`.
    pub fn start(bin: &Path, data: &Path, letters: &Path, extra: &[String]) -> Result<Server> {
        let mut command = Command::new(bin);
        command
            .arg("--data")
            .arg(data)
            .arg("--letters")
            .arg(letters)
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
            .args(extra);
        let (process, addr) = Process::start(command, bin, &data.with_extension("log"))?;
        let url = ServerUrl::parse(&format!("http://{addr}"), false)
            .context("the server listens on an address that is not loopback")?;
        let log_key = read_vkey(&data.join("log.vkey"))?;
        Ok(Server {
            process,
            url,
            log_key,
        })
    }

    /// Starts `signet-witness` (`bin`) on `data`, named `name`, witnessing `logs`.
    pub fn start_witness(
        bin: &Path,
        data: &Path,
        name: &str,
        logs: &[VerifierKey],
    ) -> Result<Server> {
        let mut command = Command::new(bin);
        command
            .arg("--data")
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--name", name]);
        for log in logs {
            command.arg("--log").arg(log.to_string());
        }
        let (process, addr) = Process::start(command, bin, &data.with_extension("log"))?;
        let url = ServerUrl::parse(&format!("http://{addr}"), false)
            .context("the witness listens on an address that is not loopback")?;
        let log_key = read_vkey(&data.join("witness.vkey"))?;
        Ok(Server {
            process,
            url,
            log_key,
        })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// The last lines of the server's standard error, for a diagnostic.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }
}

/// The `<addr>` of a line containing `listening on http://<addr>`.
pub fn listening_address(line: &str) -> Option<&str> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let addr = rest.split_whitespace().next()?.trim_end_matches('/');
    (!addr.is_empty()).then_some(addr)
}

/// The resident set size of process `pid` in KiB, from `/proc/<pid>/status` (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

/// CPU time (user and system) process `pid` has used so far, in seconds, from
/// `/proc/<pid>/stat` (Linux). Assumes the kernel's `USER_HZ` of 100 ticks per second,
/// which Linux reports to user space on every architecture it supports.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| ticks as f64 / 100.0)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name in
/// field 2 is in parentheses and may contain spaces, so fields are counted after its
/// closing parenthesis, where field 3 comes first.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let kib = parts.next()?.parse().ok()?;
    (parts.next() == Some("kB")).then_some(kib)
}

/// `name` next to the running executable (e.g. `target/release/<name>`), or an error
/// that says how to build it.
pub fn sibling_binary(name: &str, package: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the signet-bench executable")?;
    let path = exe
        .parent()
        .map(|dir| dir.join(name))
        .ok_or_else(|| anyhow!("{} has no parent directory", exe.display()))?;
    if !path.is_file() {
        bail!(
            "no {name} at {}; build it with `cargo build --release -p {package}` \
             or give its path with --{name}-bin",
            path.display()
        );
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_address() {
        let check = |line: &str, expected: Option<&str>| {
            assert_eq!(listening_address(line), expected, "{line:?}");
        };
        check(
            "listening on http://127.0.0.1:40123",
            Some("127.0.0.1:40123"),
        );
        check(
            "signet-server: listening on http://127.0.0.1:8080/ (origin x)",
            Some("127.0.0.1:8080"),
        );
        check("listening on http://[::1]:9", Some("[::1]:9"));
        check("origin example.org/log", None);
        check("listening on http://", None);
        check("listening on https://127.0.0.1:1", None);
    }

    #[test]
    fn reads_cpu_ticks() {
        let stat = "4242 (signet server) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 31 0 0 20 0 9 0";
        assert_eq!(parse_cpu_ticks(stat), Some(281));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
        assert!(cpu_seconds(std::process::id()).is_some());
    }

    #[test]
    fn reads_vm_rss() {
        let status =
            "Name:\tsignet-server\nVmPeak:\t  300000 kB\nVmRSS:\t   51234 kB\nThreads:\t4\n";
        assert_eq!(parse_vm_rss(status), Some(51234));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tlots\n"), None);
        // This very process has a resident set.
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
