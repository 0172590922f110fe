//! The whole system as its users drive it: signers with the `signet` binary, a real
//! `signet-server`, and an auditor that re-checks the log after every step.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use signet_testkit::harness::{
    LETTER_ID, Server, StaticServer, assert_exit, letter_file, signet, signet_with_env,
};

struct World {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    data: PathBuf,
    state: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        let data = tmp.path().join("data");
        let state = tmp.path().join("audit-state");
        std::fs::create_dir_all(&work).unwrap();
        World {
            work,
            data,
            state,
            _tmp: tmp,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        signet(&self.work, args)
    }

    fn letter(&self) -> String {
        letter_file().display().to_string()
    }

    /// Audits incrementally with the world's saved state and returns the JSON summary.
    fn audit(&self, server: &Server) -> Value {
        self.audit_url(&server.url, &server.vkey, &self.state)
    }

    fn audit_url(&self, url: &str, vkey: &str, state: &Path) -> Value {
        let state = state.display().to_string();
        let out = self.run(&[
            "audit",
            "--server",
            url,
            "--log-key",
            vkey,
            "--state",
            &state,
            "--json",
        ]);
        assert_exit(&out, 0, "audit");
        serde_json::from_slice(&out.stdout).expect("audit --json prints JSON")
    }

    fn keygen(&self, name: &str) {
        let out = self.run(&["keygen", "--name", name, "--dir", "keys", "--unencrypted"]);
        assert_exit(&out, 0, "keygen");
    }

    fn sign(&self, key: &str, name: &str, extra: &[&str], out_file: &str) {
        let key = format!("keys/{key}.key");
        let letter = self.letter();
        let mut args = vec![
            "sign", "--key", &key, "--letter", &letter, "--name", name, "-o", out_file,
        ];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert_exit(&out, 0, "sign");
    }

    fn submit(&self, server: &Server, file: &str) -> std::process::Output {
        self.run(&[
            "submit",
            file,
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
        ])
    }

    fn verify(&self, server: &Server, file: &str) {
        let proof = format!("{file}.tlog-proof");
        let letter = self.letter();
        let out = self.run(&[
            "verify",
            file,
            "--letter",
            &letter,
            "--proof",
            &proof,
            "--log-key",
            &server.vkey,
        ]);
        assert_exit(&out, 0, "verify");
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The index printed by `signet submit` ("... index N ...").
fn submitted_index(out: &std::process::Output) -> u64 {
    let t = text(out);
    let after = t
        .split("index ")
        .nth(1)
        .unwrap_or_else(|| panic!("no index in {t}"));
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn signatories(server: &Server, query: &str) -> Vec<Value> {
    let v = server.get_json(&format!("/v1/signatories?letter={LETTER_ID}{query}"), 200);
    v["items"].as_array().unwrap().clone()
}

#[test]
fn signers_withdraw_reendorse_restart_and_audit() {
    let w = World::new();
    let mut server = Server::start(&w.data);
    let first = w.audit(&server);
    assert_eq!(first["size"].as_u64(), Some(server.size()));

    // Twenty signers, each: keygen → sign → submit → offline verify with the saved proof.
    // Two use encrypted keys (the passphrase comes from the environment); the rest skip
    // the slow KDF.
    let names: Vec<String> = (0..20)
        .map(|i| match i {
            3 => "张伟".to_owned(),
            4 => "Мария Иванова".to_owned(),
            5 => "می‌خواهم".to_owned(),
            _ => format!("Signer {i}"),
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        let key = format!("s{i}");
        if i < 2 {
            let out = signet_with_env(
                &w.work,
                &["keygen", "--name", &key, "--dir", "keys"],
                &[("SIGNET_PASSPHRASE", "correct horse battery staple")],
            );
            assert_exit(&out, 0, "encrypted keygen");
            let key_file = format!("keys/{key}.key");
            let letter = w.letter();
            let out = signet_with_env(
                &w.work,
                &[
                    "sign",
                    "--key",
                    &key_file,
                    "--letter",
                    &letter,
                    "--name",
                    name,
                    "-o",
                    &format!("{key}.endorsement"),
                ],
                &[("SIGNET_PASSPHRASE", "correct horse battery staple")],
            );
            assert_exit(&out, 0, "sign with an encrypted key");
        } else {
            w.keygen(&key);
            let affiliation = format!("Org {i}");
            w.sign(
                &key,
                name,
                &["--affiliation", &affiliation],
                &format!("{key}.endorsement"),
            );
        }
        let file = format!("{key}.endorsement");
        let out = w.submit(&server, &file);
        assert_exit(&out, 0, "submit");
        assert!(
            w.work.join(format!("{file}.tlog-proof")).exists(),
            "submit saves the proof"
        );
        w.verify(&server, &file);
        let audit = w.audit(&server);
        assert_eq!(audit["size"].as_u64(), Some(server.size()));
    }
    let size_after_signing = server.size();
    assert_eq!(signatories(&server, "").len(), 20);

    // An identical resubmission is not a new entry: same index, exit 0.
    let index0 = submitted_index(&w.submit(&server, "s0.endorsement"));
    let again = w.submit(&server, "s0.endorsement");
    assert_exit(&again, 0, "identical resubmission");
    assert!(text(&again).contains("already logged"), "{}", text(&again));
    assert_eq!(submitted_index(&again), index0);
    assert_eq!(server.size(), size_after_signing);

    // A different endorsement while one is active is refused (409 → exit 1).
    std::thread::sleep(Duration::from_millis(1100));
    w.sign(
        "s2",
        "Signer 2",
        &["--affiliation", "Another Org"],
        "s2-second.endorsement",
    );
    let conflict = w.submit(&server, "s2-second.endorsement");
    assert_exit(&conflict, 1, "conflicting endorsement");
    assert_eq!(server.size(), size_after_signing);
    w.audit(&server);

    // A withdrawal, then a replay of the withdrawn endorsement, then a re-endorsement.
    let s6_index = submitted_index(&w.submit(&server, "s6.endorsement"));
    let letter = w.letter();
    let out = w.run(&[
        "withdraw",
        "--key",
        "keys/s6.key",
        "--letter",
        &letter,
        "-o",
        "s6.withdrawal",
    ]);
    assert_exit(&out, 0, "withdraw");
    assert_exit(&w.submit(&server, "s6.withdrawal"), 0, "submit withdrawal");
    assert_eq!(server.size(), size_after_signing + 1);
    w.audit(&server);
    let withdrawn: Vec<Value> = signatories(&server, "&status=withdrawn");
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["name"], "Signer 6");

    let replay = w.submit(&server, "s6.endorsement");
    assert_exit(&replay, 0, "replayed endorsement");
    assert_eq!(
        submitted_index(&replay),
        s6_index,
        "a replay answers with the original index"
    );
    assert_eq!(
        server.size(),
        size_after_signing + 1,
        "a replay adds nothing"
    );
    assert_eq!(
        signatories(&server, "&status=withdrawn").len(),
        1,
        "the replay did not re-endorse"
    );

    std::thread::sleep(Duration::from_millis(1100));
    w.sign(
        "s6",
        "Signer 6",
        &["--role", "Returning signer"],
        "s6-again.endorsement",
    );
    assert_exit(
        &w.submit(&server, "s6-again.endorsement"),
        0,
        "re-endorsement",
    );
    w.verify(&server, "s6-again.endorsement");
    assert_eq!(server.size(), size_after_signing + 2);
    w.audit(&server);
    assert_eq!(signatories(&server, "&status=withdrawn").len(), 0);
    let active = signatories(&server, "&status=active");
    assert_eq!(active.len(), 20);
    let s6 = active.iter().find(|r| r["name"] == "Signer 6").unwrap();
    assert_eq!(
        s6["role"], "Returning signer",
        "the row shows the latest endorsement"
    );

    // Search in any script, case-insensitively.
    let hits = signatories(&server, "&q=signer%201");
    let mut hit_names: Vec<&str> = hits.iter().map(|r| r["name"].as_str().unwrap()).collect();
    hit_names.sort_unstable();
    assert_eq!(
        hit_names,
        [
            "Signer 1",
            "Signer 10",
            "Signer 11",
            "Signer 12",
            "Signer 13",
            "Signer 14",
            "Signer 15",
            "Signer 16",
            "Signer 17",
            "Signer 18",
            "Signer 19"
        ]
    );
    let hits = signatories(&server, "&q=%E5%BC%A0"); // 张
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["name"], "张伟");
    let hits = signatories(&server, "&q=%D0%BC%D0%B0%D1%80%D0%B8%D1%8F"); // мария, lowercase
    assert_eq!(hits.len(), 1, "case-insensitive in Cyrillic");
    let log = server.get_json("/v1/log", 200);
    assert_eq!(log["letters"][0]["signers"], 20);
    assert_eq!(log["letters"][0]["withdrawn"], 0);

    // A restart keeps everything.
    let size = server.size();
    let checkpoint = server.get("/checkpoint").1;
    assert!(server.stop().success(), "graceful shutdown exits 0");
    let server = Server::start(&w.data);
    assert_eq!(server.size(), size);
    assert_eq!(
        server.get("/checkpoint").1,
        checkpoint,
        "no new checkpoint is needed after a restart"
    );
    for i in 0..20 {
        let proof_out = w.run(&[
            "proof",
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
            "--index",
            &(i + 1).to_string(),
            "-o",
            &format!("restart-{i}.tlog-proof"),
        ]);
        assert_exit(&proof_out, 0, "proof after restart");
    }
    w.verify(&server, "s3.endorsement");
    let audit = w.audit(&server);
    assert_eq!(audit["size"].as_u64(), Some(size));

    // A plain static copy of <data>/log/ audits clean from scratch.
    let mirror = tempfile::tempdir().unwrap();
    copy_dir(&w.data.join("log"), mirror.path());
    let files = StaticServer::start(mirror.path());
    let mirror_state = mirror
        .path()
        .join("..")
        .join(format!("state-{}", std::process::id()));
    let audit = w.audit_url(&files.url, &server.vkey, &mirror_state);
    assert_eq!(audit["size"].as_u64(), Some(size));
    let _ = std::fs::remove_dir_all(&mirror_state);

    // A mirror serving a modified bundle is caught by a fresh audit.
    let bundle = mirror.path().join(format!("tile/entries/000.p/{size}"));
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&bundle, &bytes).unwrap();
    let fresh = w.work.join("fresh-state");
    let out = w.run(&[
        "audit",
        "--server",
        &files.url,
        "--log-key",
        &server.vkey,
        "--state",
        &fresh.display().to_string(),
    ]);
    assert_exit(&out, 1, "audit of a mirror serving a tampered bundle");
    assert!(
        !fresh.join("checkpoint").exists(),
        "a failed audit saves no state"
    );

    // The same bundle modified in the server's own data directory: the server refuses
    // to start on it rather than serve it.
    let mut server = server;
    assert!(server.stop().success());
    std::fs::write(
        w.data.join(format!("log/tile/entries/000.p/{size}")),
        &bytes,
    )
    .unwrap();
    let refused = Server::try_start_with(&w.data, &[])
        .expect_err("the server must not start on a tampered bundle");
    assert!(
        refused.contains("cannot be trusted"),
        "the refusal says why: {refused}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_modified_hash_tile_is_caught_by_audit() {
    let w = World::new();
    let server = Server::start(&w.data);
    for i in 0..3 {
        let key = format!("t{i}");
        w.keygen(&key);
        w.sign(
            &key,
            &format!("Tile Tester {i}"),
            &[],
            &format!("{key}.endorsement"),
        );
        assert_exit(
            &w.submit(&server, &format!("{key}.endorsement")),
            0,
            "submit",
        );
    }
    let clean = w.audit(&server);
    let size = clean["size"].as_u64().unwrap();
    let tile_path = format!("tile/0/000.p/{size}");
    assert!(
        w.data.join("log").join(&tile_path).exists(),
        "the level-0 partial tile of a {size}-entry log exists"
    );

    // A mirror that serves a modified hash tile is caught by audit.
    let mirror = tempfile::tempdir().unwrap();
    copy_dir(&w.data.join("log"), mirror.path());
    let clean_mirror = StaticServer::start(mirror.path());
    let state = w.work.join("mirror-state");
    w.audit_url(&clean_mirror.url, &server.vkey, &state);
    let tile = mirror.path().join(&tile_path);
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 0x80;
    std::fs::write(&tile, &bytes).unwrap();
    let fresh = w.work.join("fresh").display().to_string();
    let out = w.run(&[
        "audit",
        "--server",
        &clean_mirror.url,
        "--log-key",
        &server.vkey,
        "--state",
        &fresh,
    ]);
    assert_exit(&out, 1, "audit of a mirror serving a tampered hash tile");

    // The server itself refuses to start on tiles that contradict its checkpoint.
    let mut server = server;
    assert!(server.stop().success());
    std::fs::write(w.data.join("log").join(&tile_path), &bytes).unwrap();
    let refused = Server::try_start_with(&w.data, &[])
        .expect_err("the server must not start on a tampered tile");
    assert!(
        refused.to_lowercase().contains("checkpoint"),
        "the refusal says why: {refused}"
    );
}
