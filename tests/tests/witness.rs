//! Witnesses end to end, with the real binaries: one `signet-server` and three
//! `signet-witness` servers on loopback, a policy with a quorum of 2 of 3.
//!
//! Cosigned checkpoints; one witness down (still the quorum); two down (published
//! without it, warned and counted; `signet verify --policy` refuses such a proof offline
//! and accepts it once `signet proof` refreshed it with the witnesses back); a witness
//! whose state was moved ahead refuses and the log reports it; restarts of the log and
//! the witnesses keep everything consistent.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signet_core::policy::Policy;
use signet_core::{Checkpoint, Hash, SignedCheckpoint, SigningKey, TlogProof};
use signet_testkit::harness::{self, Server, assert_exit, signet};

/// A running `signet-witness`.
struct Witness {
    child: Option<Child>,
    addr: SocketAddr,
    data: PathBuf,
    vkey: String,
    output: Arc<Mutex<String>>,
}

impl Witness {
    fn start(data: &Path, name: &str, log_vkey: &str, listen: &str) -> Witness {
        let mut child = Command::new(harness::witness_bin())
            .arg("--data")
            .arg(data)
            .args(["--name", name, "--log", log_vkey, "--listen", listen])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn signet-witness");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let streams: [(Box<dyn std::io::Read + Send>, bool); 2] = [
            (Box::new(child.stdout.take().unwrap()), true),
            (Box::new(child.stderr.take().unwrap()), false),
        ];
        for (stream, lines) in streams {
            let (output, tx) = (output.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    output.lock().unwrap().push_str(&format!("{line}\n"));
                    if lines {
                        let _ = tx.send(line);
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!("signet-witness did not start:\n{}", output.lock().unwrap())
            });
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().parse().unwrap();
            }
        };
        let vkey = std::fs::read_to_string(data.join("witness.vkey"))
            .unwrap()
            .trim()
            .to_owned();
        assert!(
            output.lock().unwrap().contains(&vkey),
            "it prints its cosigner key"
        );
        Witness {
            child: Some(child),
            addr,
            data: data.to_owned(),
            vkey,
            output,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The signed checkpoint of an acknowledgement.
fn ack_checkpoint(ack: &serde_json::Value) -> SignedCheckpoint {
    SignedCheckpoint::parse(ack["checkpoint"].as_str().unwrap().as_bytes()).unwrap()
}

/// Submits the `n`th endorsement of this test; saves it and its proof in `dir` as
/// `e<n>.end` and `e<n>.end.tlog-proof`; returns the acknowledgement.
fn submit(server: &Server, dir: &Path, n: u64) -> serde_json::Value {
    let entry = harness::endorsement("wit", n);
    let (status, ack) = server.post_entry(&entry);
    assert_eq!(status, 201, "{ack}");
    std::fs::write(dir.join(format!("e{n}.end")), &entry).unwrap();
    std::fs::write(
        dir.join(format!("e{n}.end.tlog-proof")),
        ack["proof"].as_str().unwrap(),
    )
    .unwrap();
    ack
}

fn verify_with_policy(dir: &Path, n: u64, proof: &str) -> std::process::Output {
    let letter = harness::letter_file();
    signet(
        dir,
        &[
            "verify",
            &format!("e{n}.end"),
            "--letter",
            letter.to_str().unwrap(),
            "--proof",
            proof,
            "--policy",
            "policy.txt",
        ],
    )
}

fn metric(server: &Server, line: &str) -> u64 {
    let (_, body) = server.get("/metrics");
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.trim().parse::<f64>().ok())
        .map_or_else(|| panic!("no metric {line} in\n{text}"), |v| v as u64)
}

fn cosigners(policy: &Policy, checkpoint: &SignedCheckpoint) -> usize {
    policy
        .witnesses()
        .iter()
        .filter(|w| {
            checkpoint.note().signatures().iter().any(|s| {
                signet_core::cosignature::verify(checkpoint.checkpoint(), &w.key, s).is_ok()
            })
        })
        .count()
}

#[test]
fn a_log_with_three_witnesses_and_a_quorum_of_two() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let log_data = tmp.path().join("log");

    // The log's key exists after its first start; the witnesses need it.
    let mut server = Server::start(&log_data);
    let log_vkey = server.vkey.clone();
    server.stop();

    let mut witnesses: Vec<Witness> = (1..=3)
        .map(|i| {
            Witness::start(
                &tmp.path().join(format!("w{i}")),
                &format!("witness.test/w{i}"),
                &log_vkey,
                "127.0.0.1:0",
            )
        })
        .collect();
    let mut policy_text = format!("# test policy\nlog {log_vkey}\n");
    for (i, w) in witnesses.iter().enumerate() {
        policy_text.push_str(&format!("witness w{} {} {}\n", i + 1, w.vkey, w.url()));
    }
    policy_text.push_str("group two 2 w1 w2 w3\nquorum two\n");
    let policy_path = work.join("policy.txt");
    std::fs::write(&policy_path, &policy_text).unwrap();
    let policy = Policy::parse(policy_text.as_bytes()).unwrap();
    let flags = [
        "--witness-policy",
        policy_path.to_str().unwrap(),
        "--witness-timeout",
        "3",
    ];

    // A policy whose log line is another log's key: refused at start.
    let other = signet_testkit::entries::key("other", "another log");
    let wrong = policy_text.replace(&log_vkey, &other.verifier().to_string());
    std::fs::write(work.join("wrong.txt"), wrong).unwrap();
    let refused = Server::try_start_with(
        &log_data,
        &["--witness-policy", work.join("wrong.txt").to_str().unwrap()],
    )
    .expect_err("a policy for another log is refused");
    assert!(refused.contains("not this log's key"), "{refused}");

    let mut server = Server::start_with(&log_data, &flags);
    let info = server.get_json("/v1/log", 200);
    let names: Vec<&str> = info["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["w1", "w2", "w3"]);
    assert_eq!(info["witnesses"][0]["vkey"], witnesses[0].vkey.as_str());

    // All three up: cosigned, and the proof passes `verify --policy` offline.
    let ack = submit(&server, &work, 1);
    let cp = ack_checkpoint(&ack);
    policy.verify_checkpoint(&cp).unwrap();
    assert!(cosigners(&policy, &cp) >= 2);
    assert_exit(
        &verify_with_policy(&work, 1, "e1.end.tlog-proof"),
        0,
        "verify --policy",
    );
    // The served checkpoint is the cosigned one.
    let (_, served) = server.get("/checkpoint");
    policy
        .verify_checkpoint(&SignedCheckpoint::parse(&served).unwrap())
        .unwrap();

    // One witness down: still the quorum.
    witnesses[2].kill();
    let ack = submit(&server, &work, 2);
    policy.verify_checkpoint(&ack_checkpoint(&ack)).unwrap();
    assert_exit(
        &verify_with_policy(&work, 2, "e2.end.tlog-proof"),
        0,
        "one down",
    );

    // Two down: published without the quorum, warned and counted.
    witnesses[1].kill();
    let before = metric(&server, "signet_witness_without_quorum_total");
    let ack = submit(&server, &work, 3);
    let cp = ack_checkpoint(&ack);
    assert!(policy.verify_checkpoint(&cp).is_err());
    assert_eq!(
        metric(&server, "signet_witness_without_quorum_total"),
        before + 1
    );
    assert!(
        server
            .output
            .lock()
            .unwrap()
            .contains("without the witness quorum"),
        "{}",
        server.output.lock().unwrap()
    );
    assert!(
        metric(
            &server,
            "signet_witness_requests_total{witness=\"w3\",result=\"failure\"}"
        ) >= 2
    );
    let out = verify_with_policy(&work, 3, "e3.end.tlog-proof");
    assert_exit(&out, 1, "verify --policy without the quorum");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("quorum"),
        "{out:?}"
    );

    // The witnesses come back (on their ports); the next checkpoint is cosigned, and
    // `signet proof` refreshes the old proof to it.
    for i in [1, 2] {
        let w = &witnesses[i];
        let (data, listen) = (w.data.clone(), w.addr.to_string());
        witnesses[i] = Witness::start(
            &data,
            &format!("witness.test/w{}", i + 1),
            &log_vkey,
            &listen,
        );
    }
    let index = ack["index"].as_u64().unwrap().to_string();
    let ack = submit(&server, &work, 4);
    policy.verify_checkpoint(&ack_checkpoint(&ack)).unwrap();
    let out = signet(
        &work,
        &[
            "proof",
            "--server",
            &server.url,
            "--log-key",
            &log_vkey,
            "--index",
            &index,
            "-o",
            "e3.refreshed.tlog-proof",
        ],
    );
    assert_exit(&out, 0, "signet proof");
    assert_exit(
        &verify_with_policy(&work, 3, "e3.refreshed.tlog-proof"),
        0,
        "refreshed",
    );

    // A witness whose state was moved ahead (it saw a bigger tree signed by the log's
    // key) refuses; the log reports a possible fork and still has its quorum.
    witnesses[0].kill();
    let key_text = std::fs::read_to_string(log_data.join("log.key")).unwrap();
    let log_key = SigningKey::parse(key_text.trim()).unwrap();
    let ahead = Checkpoint {
        origin: log_key.name().as_str().to_owned(),
        size: 1000,
        root: Hash::leaf(b"a tree this log never made"),
        extensions: vec![],
    }
    .sign(&log_key)
    .unwrap();
    let state = witnesses[0]
        .data
        .join("state")
        .join(signet_witness::origin_hash(log_key.name().as_str()));
    assert!(state.exists());
    std::fs::write(&state, ahead.to_bytes()).unwrap();
    let (data, listen) = (witnesses[0].data.clone(), witnesses[0].addr.to_string());
    witnesses[0] = Witness::start(&data, "witness.test/w1", &log_vkey, &listen);
    let ack = submit(&server, &work, 5);
    policy.verify_checkpoint(&ack_checkpoint(&ack)).unwrap();
    assert_eq!(
        metric(&server, "signet_witness_forks_total{witness=\"w1\"}"),
        1
    );
    assert!(server.output.lock().unwrap().contains("possible fork"));
    // Nothing more goes to it until restart: the next round does not count it again.
    let ack = submit(&server, &work, 6);
    policy.verify_checkpoint(&ack_checkpoint(&ack)).unwrap();
    assert_eq!(
        metric(&server, "signet_witness_forks_total{witness=\"w1\"}"),
        1
    );

    // The log restarts: it serves the cosigned checkpoint it stored, and the witnesses
    // (asked from old 0 again) go on cosigning.
    let (_, before) = server.get("/checkpoint");
    server.stop();
    let server = Server::start_with(&log_data, &flags);
    let (_, after) = server.get("/checkpoint");
    assert_eq!(before, after);
    policy
        .verify_checkpoint(&SignedCheckpoint::parse(&after).unwrap())
        .unwrap();
    let ack = submit(&server, &work, 7);
    let cp = ack_checkpoint(&ack);
    policy.verify_checkpoint(&cp).unwrap();
    assert_exit(
        &verify_with_policy(&work, 7, "e7.end.tlog-proof"),
        0,
        "after restart",
    );
    let proof = TlogProof::parse(ack["proof"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(proof.checkpoint, cp);
    let _ = witnesses[0].output.lock().unwrap().len();
}
