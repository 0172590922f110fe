//! Shared helpers for the CLI tests: run the real `signet` binary in a scratch
//! directory with a clean environment, and a fake registry built on the test kit's
//! test log and loopback server.
#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]
#![expect(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use signet_testkit::{Request, Response, TestLog, TestServer};

pub const ORIGIN: &str = "example.org/test-log";
pub const LETTER: &str = "An open letter.\n\nWe ask for logs that anyone can check.\n";

/// A scratch directory with `home/` as SIGNET_HOME and HOME.
pub struct Scratch {
    pub tmp: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let s = Scratch {
            tmp: tempfile::tempdir().unwrap(),
        };
        std::fs::write(s.path("letter.txt"), LETTER).unwrap();
        std::fs::write(
            s.path("letter.toml"),
            "title = \"An Open Letter\"\nlanguage = \"en\"\n",
        )
        .unwrap();
        s
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    pub fn p(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).unwrap()
    }

    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) {
        std::fs::write(self.path(rel), data).unwrap();
    }

    /// `signet` with a clean environment, run in the scratch directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("signet").unwrap();
        cmd.current_dir(self.dir())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir())
            .env("SIGNET_HOME", self.path("home"))
            .args(args);
        cmd
    }

    /// Runs `signet args` and checks the exit code.
    pub fn run(&self, args: &[&str], code: i32) -> Run {
        self.run_cmd(self.cmd(args), code)
    }

    pub fn run_cmd(&self, mut cmd: Command, code: i32) -> Run {
        let out: Output = cmd.output().unwrap();
        let run = Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            raw: out.stdout,
        };
        assert_eq!(
            out.status.code(),
            Some(code),
            "signet exited {:?}, expected {code}\n{run}",
            out.status.code()
        );
        // Every diagnostic of ours carries the prefix; clap's usage errors are its own.
        if !run.stderr.contains("Usage: ") {
            for line in run.stderr.lines() {
                assert!(
                    line.starts_with("signet: "),
                    "stderr line without the prefix: {line:?}\n{run}"
                );
            }
        }
        run
    }

    /// An unencrypted key `name` in `keys/`; returns its verifier key.
    pub fn key(&self, name: &str) -> String {
        let run = self.run(
            &[
                "keygen",
                "--name",
                name,
                "--dir",
                &self.p("keys"),
                "--unencrypted",
            ],
            0,
        );
        run.stdout.trim().to_owned()
    }

    /// Signs the letter with key `name`, as `signer`, into `file`.
    pub fn sign(&self, key: &str, signer: &str, file: &str) -> Vec<u8> {
        self.run(
            &[
                "sign",
                "--key",
                &self.p(&format!("keys/{key}.key")),
                "--letter",
                &self.p("letter.txt"),
                "--name",
                signer,
                "-o",
                &self.p(file),
            ],
            0,
        );
        self.read(file)
    }
}

/// What a run printed.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub raw: Vec<u8>,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout, self.stderr
        )
    }
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{self}"))
    }

    /// Asserts that stderr contains `text`.
    pub fn says(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text) || self.stdout.contains(text),
            "expected {text:?} in the output\n{self}"
        );
        self
    }
}

/// How the fake registry answers submissions.
#[derive(Clone)]
pub enum Mode {
    /// Logs the entry (201), or answers 200 for bytes already logged.
    Log,
    /// Answers with this status, body and headers.
    Fixed(u16, String, Vec<(String, String)>),
    /// Logs the entry but returns a proof with a flipped hash.
    BadProof,
}

/// A registry that logs entries in a `TestLog` and serves its tiles and proofs.
pub struct Registry {
    pub tmp: tempfile::TempDir,
    pub log: Arc<Mutex<TestLog>>,
    pub mode: Arc<Mutex<Mode>>,
    pub server: TestServer,
}

impl Registry {
    pub fn new() -> Registry {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_owned();
        let mut log = TestLog::new(ORIGIN);
        let letter = signet_core::Letter::from_bytes(LETTER.as_bytes()).unwrap();
        log.register(&letter, "open-letter", 0);
        log.publish(&root);
        let log = Arc::new(Mutex::new(log));
        let mode = Arc::new(Mutex::new(Mode::Log));
        let server = {
            let (log, mode, root) = (log.clone(), mode.clone(), root.clone());
            TestServer::with_handler(&root.clone(), move |r: &Request| {
                handle(r, &log, &mode, &root)
            })
        };
        Registry {
            tmp,
            log,
            mode,
            server,
        }
    }

    pub fn url(&self) -> &str {
        self.server.url()
    }

    pub fn vkey(&self) -> String {
        self.log.lock().unwrap().vkey()
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn size(&self) -> u64 {
        self.log.lock().unwrap().len()
    }
}

fn handle(r: &Request, log: &Mutex<TestLog>, mode: &Mutex<Mode>, root: &Path) -> Option<Response> {
    let mut log = log.lock().unwrap();
    if r.method == "POST" && r.path == "/v1/endorsements" {
        let mode = mode.lock().unwrap().clone();
        if let Mode::Fixed(status, body, headers) = mode {
            return Some(Response {
                status,
                headers,
                body: body.into_bytes(),
            });
        }
        let (status, index) = match log.entries().iter().position(|e| *e == r.body) {
            Some(i) => (200, i as u64),
            None => (201, log.push(r.body.clone())),
        };
        log.publish(root);
        let mut proof = log.proof(index);
        if matches!(mode, Mode::BadProof) {
            proof.hashes[0].0[0] ^= 1;
        }
        let body = serde_json::json!({
            "index": index,
            "leaf_hash": signet_core::Hash::leaf(&r.body).to_base64(),
            "checkpoint": proof.checkpoint.to_string(),
            "proof": String::from_utf8(proof.to_bytes()).unwrap(),
        });
        return Some(Response::new(status, body.to_string()));
    }
    if r.method == "GET"
        && let Some(index) = r.path.strip_prefix("/v1/proof/")
    {
        let Ok(index) = index.parse::<u64>() else {
            return Some(Response::new(400, "bad index"));
        };
        if index >= log.len() {
            return Some(Response::new(
                404,
                "{\"error\":\"not_found\",\"message\":\"no such entry\"}",
            ));
        }
        return Some(Response::new(200, log.proof(index).to_bytes()));
    }
    None
}
