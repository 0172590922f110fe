//! The real-binary harness: fresh builds of the real `signet-server`, `signet` and
//! `signet-witness` binaries, a server on a loopback port of its own with a temporary data directory, and
//! helpers to run the CLI as a user would.
//!
//! Cargo sets `CARGO_BIN_EXE_*` only for a package's own binaries, so the harness builds
//! both binaries itself, once per test process, with the same cargo and profile that
//! built the tests. A stale binary is never tested.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failure is a test failure"
)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use signet_core::{LetterId, Statement};

use crate::TestServer;
use crate::entries;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/signet-testkit/ is two folders below the root")
        .to_path_buf()
}

/// The letters the default registry hosts.
pub fn letters_dir() -> PathBuf {
    repo_root().join("registry-data/letters")
}

/// The hosted letter's text file.
pub fn letter_file() -> PathBuf {
    letters_dir().join("pause-giant-ai-experiments.txt")
}

/// A fresh, validly signed endorsement of the hosted letter by the `n`th signer of a
/// test (`tag` keeps the keys of different tests apart), dated now.
pub fn endorsement(tag: &str, n: u64) -> Vec<u8> {
    let key = entries::key(
        &format!("{tag}{n}"),
        &format!("{tag}-signer-{}-{n}", std::process::id()),
    );
    let letter = LETTER_ID.parse::<LetterId>().expect("letter ID");
    let statement =
        entries::unsigned_endorsement(&key, letter, &format!("{tag} tester {n}"), entries::now());
    entries::signed(Statement::Endorsement(statement), &key)
}

/// The hosted letter's ID, computed independently twice (see docs/protocol.md, *The
/// letter*).
pub const LETTER_ID: &str =
    "sha256:7498dd3c172cb4a172c293efee5191d92efd23151358d3861121ec2be91db9e3";

struct Binaries {
    server: PathBuf,
    signet: PathBuf,
    witness: PathBuf,
}

/// Builds `signet-server` and `signet` once per process and returns their paths.
fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(|| {
        // The test executable lives in target/<profile>/deps/; the binaries go in
        // target/<profile>/.
        let exe = std::env::current_exe().expect("current test executable");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps")
            .to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|s| s.to_str())
            .expect("profile dir name")
            .to_owned();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo_profile = if profile == "debug" {
            "dev".to_owned()
        } else {
            profile
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut build = Command::new(cargo);
        // Cargo gives the test process the variables of the package under test; passed
        // on, they would make build scripts that watch them rebuild every time.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let leaked = [
                "CARGO_PKG_",
                "CARGO_BIN_",
                "CARGO_CRATE_",
                "CARGO_MANIFEST_",
                "CARGO_PRIMARY_",
            ]
            .iter()
            .any(|p| key.starts_with(p))
                || ["CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"]
                    .contains(&key.as_ref());
            if leaked {
                build.env_remove(key.as_ref());
            }
        }
        let status = build
            .args([
                "build",
                "--locked",
                "--profile",
                &cargo_profile,
                "-p",
                "signet-server",
                "-p",
                "signet-cli",
                "-p",
                "signet-witness",
                "--bins",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(repo_root())
            .status()
            .expect("run cargo build for the end-to-end binaries");
        assert!(status.success(), "building signet-server and signet failed");
        Binaries {
            server: profile_dir.join("signet-server"),
            signet: profile_dir.join("signet"),
            witness: profile_dir.join("signet-witness"),
        }
    })
}

/// The path of the freshly built `signet` binary.
pub fn signet_bin() -> &'static Path {
    &binaries().signet
}

/// The path of the freshly built `signet-witness` binary.
pub fn witness_bin() -> &'static Path {
    &binaries().witness
}

/// The path of the freshly built `signet-server` binary.
pub fn server_bin() -> &'static Path {
    &binaries().server
}

/// A running `signet-server` on 127.0.0.1 with a port of its own.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The socket address it listens on.
    pub addr: SocketAddr,
    /// The data directory.
    pub data: PathBuf,
    /// The log's verifier key, as printed and as written to `<data>/log.vkey`.
    pub vkey: String,
    /// Everything the server printed on stdout and stderr so far.
    pub output: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server on `data` with the repository's letters, rate limit off, on port 0.
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Starts a server with extra flags.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        Server::try_start_with(data, extra)
            .unwrap_or_else(|output| panic!("signet-server did not start; it printed:\n{output}"))
    }

    /// Starts a server with extra flags, or returns what it printed when it exits or does
    /// not start listening within 60 s.
    pub fn try_start_with(data: &Path, extra: &[&str]) -> Result<Server, String> {
        Server::try_start_wrapped(&[], data, extra)
    }

    /// Like [`Server::try_start_with`], but runs the server under `wrapper` (a program and
    /// its arguments, such as `strace -o trace`), which must run the command it is given
    /// with the same standard streams. With an empty `wrapper`, the server runs directly.
    pub fn try_start_wrapped(
        wrapper: &[&std::ffi::OsStr],
        data: &Path,
        extra: &[&str],
    ) -> Result<Server, String> {
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(server_bin());
                c
            }
            None => Command::new(server_bin()),
        };
        let mut child = command
            .arg("--data")
            .arg(data)
            .arg("--letters")
            .arg(letters_dir())
            .args(["--listen", "127.0.0.1:0", "--rate-limit", "0"])
            // No test server may reach the system's resolver: claims are checked only
            // when a test points the server at the identity fixtures.
            .args(if extra.iter().any(|a| a.starts_with("--identity-")) {
                &[][..]
            } else {
                &["--identity-checks", "off"][..]
            })
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn signet-server");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        for (stream, tx) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let output = Arc::clone(&output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    output.lock().unwrap().push_str(&format!("{line}\n"));
                    if let Some(tx) = &tx {
                        let _ = tx.send(line);
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or_default();
                        break addr
                            .parse::<SocketAddr>()
                            .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // Let the reader threads drain what is left.
                    std::thread::sleep(Duration::from_millis(100));
                    return Err(output.lock().unwrap().clone());
                }
            }
        };
        let vkey = std::fs::read_to_string(data.join("log.vkey"))
            .expect("<data>/log.vkey")
            .trim()
            .to_owned();
        assert!(
            output.lock().unwrap().contains(&vkey),
            "the server prints its verifier key"
        );
        Ok(Server {
            child: Some(child),
            url: format!("http://{addr}"),
            addr,
            data: data.to_path_buf(),
            vkey,
            output,
        })
    }

    /// Kills the server with SIGKILL, as a crash would, and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Under a wrapper such as strace, the server is the wrapper's child; killing
            // only the wrapper would leave the server running.
            let pid = child.id();
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            for grandchild in children.split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", grandchild]).status();
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server with SIGTERM and waits for a graceful exit; returns its status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let pid = self.child.as_ref().expect("server is running").id();
        self.stop_by_signalling(pid)
    }

    /// The process id of the child this harness started: the server, or the wrapper of
    /// [`Server::try_start_wrapped`].
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM to `pid` (the server itself when it runs under a wrapper), then
    /// waits up to 30 s for the child this harness started to exit; returns its status.
    pub fn stop_by_signalling(&mut self, pid: u32) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server is running");
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait for server") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("signet-server did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET a path and parse the JSON body; panics unless the status is `expect`.
    pub fn get_json(&self, path: &str, expect: u16) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(
            status,
            expect,
            "GET {path}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e})"))
    }

    /// GET a path; returns the status and body whatever the status.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        let agent = agent();
        let mut resp = agent
            .get(format!("{}{path}", self.url))
            .call()
            .expect("GET");
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .expect("read body");
        (status, body)
    }

    /// POST an entry; returns the status and JSON body.
    pub fn post_entry(&self, entry: &[u8]) -> (u16, serde_json::Value) {
        let agent = agent();
        let mut resp = agent
            .post(format!("{}/v1/endorsements", self.url))
            .content_type("text/plain")
            .send(entry)
            .expect("POST");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_vec().expect("read body");
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// The current tree size, from `/v1/log`.
    pub fn size(&self) -> u64 {
        self.get_json("/v1/log", 200)["size"]
            .as_u64()
            .expect("size")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Runs `signet` with `args` in `dir`, with the passphrase and home set for tests.
pub fn signet(dir: &Path, args: &[&str]) -> Output {
    signet_with_env(dir, args, &[])
}

/// Runs `signet` with extra environment variables.
pub fn signet_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(signet_bin());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("SIGNET_SERVER")
        .env_remove("SIGNET_LOG_KEY")
        .env("SIGNET_HOME", dir.join(".signet-home"))
        .env("HOME", dir)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run signet")
}

/// Panics with the command's output unless it exited with `code`.
pub fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A static file server for `root` on a loopback port, for auditing a plain copy of a
/// log's files. It stops when the returned handle is dropped.
#[derive(Debug)]
pub struct StaticServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _server: TestServer,
}

impl StaticServer {
    /// Serves the files under `root`, as any static web server would.
    pub fn start(root: &Path) -> StaticServer {
        let server = TestServer::serve(root);
        StaticServer {
            url: server.url().to_owned(),
            _server: server,
        }
    }
}
