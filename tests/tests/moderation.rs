//! Moderation and `signet watch` with the real binaries: a moderator appointed with
//! `--moderator`, an impersonation hidden with `signet moderate`, the list, a
//! re-endorsement that stays hidden, a show, and the audit after every step; then watch
//! reporting look-alikes once, and `--follow` picking up a new entry.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use signet_testkit::harness::{Server, assert_exit, letter_file, signet, signet_bin};

struct World {
    _tmp: tempfile::TempDir,
    work: PathBuf,
    data: PathBuf,
}

impl World {
    fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&work).unwrap();
        World {
            work,
            data,
            _tmp: tmp,
        }
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        signet(&self.work, args)
    }

    fn keygen(&self, name: &str) {
        let out = self.run(&["keygen", "--name", name, "--dir", "keys", "--unencrypted"]);
        assert_exit(&out, 0, "keygen");
    }

    fn sign(&self, key: &str, name: &str, out_file: &str) {
        let key = format!("keys/{key}.key");
        let letter = letter_file().display().to_string();
        let out = self.run(&[
            "sign", "--key", &key, "--letter", &letter, "--name", name, "-o", out_file,
        ]);
        assert_exit(&out, 0, "sign");
    }

    fn withdraw(&self, key: &str, out_file: &str) {
        let key = format!("keys/{key}.key");
        let letter = letter_file().display().to_string();
        let out = self.run(&[
            "withdraw", "--key", &key, "--letter", &letter, "-o", out_file,
        ]);
        assert_exit(&out, 0, "withdraw");
    }

    fn moderate(&self, index: u64, action: &str, reason: &str, out_file: &str) {
        let letter = letter_file().display().to_string();
        let index = index.to_string();
        let out = self.run(&[
            "moderate",
            "--key",
            "keys/mod-a.key",
            "--letter",
            &letter,
            "--entry",
            &index,
            action,
            "--reason",
            reason,
            "--note",
            "not the real one",
            "-o",
            out_file,
        ]);
        assert_exit(&out, 0, "moderate");
    }

    /// Submits `file`; the index the log gave it.
    fn submit(&self, server: &Server, file: &str) -> u64 {
        let out = self.run(&[
            "submit",
            file,
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
        ]);
        assert_exit(&out, 0, "submit");
        let t = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let after = t.split("index ").nth(1).unwrap_or_else(|| panic!("{t}"));
        after
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    }

    fn audit(&self, server: &Server) -> Value {
        let out = self.run(&[
            "audit",
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
            "--state",
            "audit",
            "--json",
        ]);
        assert_exit(&out, 0, "audit");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn watch(&self, server: &Server, state: &str, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "watch",
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
            "--state",
            state,
            "--json",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn start(&self) -> Server {
        let vkey = self.work.join("keys/mod-a.vkey").display().to_string();
        Server::start_with(&self.data, &["--moderator", &vkey])
    }
}

fn names(server: &Server, status: &str) -> Vec<String> {
    let json = server.get_json(
        &format!("/v1/signatories?letter=pause-giant-ai-experiments&status={status}"),
        200,
    );
    json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect()
}

fn counts(audit: &Value) -> (u64, u64, u64) {
    let l = &audit["letters"][0];
    (
        l["active"].as_u64().unwrap(),
        l["withdrawn"].as_u64().unwrap(),
        l["hidden"].as_u64().unwrap(),
    )
}

#[test]
fn appoint_hide_list_re_endorse_show_audit() {
    let w = World::new();
    for k in ["mod-a", "sam", "fake"] {
        w.keygen(k);
    }
    let server = w.start();
    let moderators = server.get_json("/v1/log", 200)["moderators"].clone();
    assert_eq!(moderators[0]["name"], "mod-a", "{moderators}");
    assert_eq!(counts(&w.audit(&server)), (0, 0, 0));

    w.sign("sam", "Sam Altman", "sam.txt");
    w.submit(&server, "sam.txt");
    w.sign("fake", "\u{0405}am Altman", "fake.txt");
    let fake = w.submit(&server, "fake.txt");
    assert_eq!(counts(&w.audit(&server)), (2, 0, 0));

    w.moderate(fake, "--hide", "impersonation", "hide.txt");
    let hide = w.submit(&server, "hide.txt");
    assert_eq!(names(&server, "active"), ["Sam Altman"]);
    assert_eq!(names(&server, "hidden"), ["\u{0405}am Altman"]);
    let audit = w.audit(&server);
    assert_eq!(counts(&audit), (1, 0, 1));
    assert_eq!(audit["hides"][0]["index"], hide);
    assert_eq!(audit["hides"][0]["target"], fake);
    assert_eq!(audit["hides"][0]["reason"], "impersonation");
    assert_eq!(audit["hides"][0]["note"], "not the real one");

    // Hiding again is refused by the server (exit 1, with its reason).
    w.moderate(fake, "--hide", "spam", "again.txt");
    let out = w.run(&[
        "submit",
        "again.txt",
        "--server",
        &server.url,
        "--log-key",
        &server.vkey,
    ]);
    assert_exit(&out, 1, "submit a second hide");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already hidden"));

    // The impersonator withdraws and endorses again: still hidden. (Entry times are
    // whole seconds and must increase.)
    std::thread::sleep(Duration::from_millis(1100));
    w.withdraw("fake", "fake-w.txt");
    w.submit(&server, "fake-w.txt");
    std::thread::sleep(Duration::from_millis(1100));
    w.sign("fake", "\u{0405}am Altman", "fake2.txt");
    w.submit(&server, "fake2.txt");
    assert_eq!(names(&server, "active"), ["Sam Altman"]);
    assert_eq!(counts(&w.audit(&server)), (1, 0, 1));

    w.moderate(fake, "--show", "reviewed", "show.txt");
    w.submit(&server, "show.txt");
    assert_eq!(
        names(&server, "active"),
        ["Sam Altman", "\u{0405}am Altman"]
    );
    let audit = w.audit(&server);
    assert_eq!(counts(&audit), (2, 0, 0));
    assert_eq!(audit["hides"], serde_json::json!([]));

    // The human audit says the three counts.
    let out = w.run(&[
        "audit",
        "--server",
        &server.url,
        "--log-key",
        &server.vkey,
        "--state",
        "audit",
    ]);
    assert_exit(&out, 0, "audit");
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 signers now, 0 withdrawn, 0 hidden"));
}

#[test]
fn moderate_checks_its_fields_like_sign() {
    let w = World::new();
    w.keygen("mod-a");
    let letter = letter_file().display().to_string();
    for (args, want) in [
        (vec!["--hide", "--reason", "fake"], "invalid value"),
        (vec!["--reason", "spam"], "--hide"),
        (
            vec!["--hide", "--show", "--reason", "spam"],
            "cannot be used with",
        ),
        (
            vec!["--hide", "--reason", "spam", "--note", "a\u{200B}b"],
            "U+200B",
        ),
        (vec!["--hide", "--reason", "spam", "--note", ""], "note"),
    ] {
        let mut all = vec![
            "moderate",
            "--key",
            "keys/mod-a.key",
            "--letter",
            &letter,
            "--entry",
            "1",
        ];
        all.extend(args);
        let out = w.run(&all);
        assert_exit(&out, 2, want);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{err}\nwanted {want:?}");
    }
}

#[test]
fn watch_reports_look_alikes_once_and_follows() {
    let w = World::new();
    for k in ["mod-a", "sam", "fake", "other"] {
        w.keygen(k);
    }
    let server = w.start();
    w.sign("sam", "Sam Altman", "sam.txt");
    let sam = w.submit(&server, "sam.txt");
    w.sign("fake", "\u{0405}AM ALTMAN", "fake.txt");
    let fake = w.submit(&server, "fake.txt");
    w.sign("other", "Yann LeCun", "other.txt");
    w.submit(&server, "other.txt");

    // Once: both look-alikes, in log order, as JSON lines.
    let out = w.watch(&server, "watch", &["--name", "sam altman"]);
    assert_exit(&out, 0, "watch");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["index"], sam);
    assert_eq!(lines[1]["index"], fake);
    assert_eq!(lines[1]["name"], "\u{0405}AM ALTMAN");
    assert_eq!(lines[1]["matched"], "name");
    assert_eq!(lines[1]["kind"], "endorsement");

    // Again with the same state: nothing new to report.
    let out = w.watch(&server, "watch", &["--name", "sam altman"]);
    assert_exit(&out, 0, "watch again");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // --key: a hide of the fake key's signer is reported to whoever watches that key.
    let fake_key = std::fs::read_to_string(w.work.join("keys/fake.vkey")).unwrap();
    w.moderate(fake, "--hide", "impersonation", "hide.txt");
    let hide = w.submit(&server, "hide.txt");
    let out = w.watch(&server, "watch-key", &["--key", fake_key.trim()]);
    assert_exit(&out, 0, "watch --key");
    let text = String::from_utf8_lossy(&out.stdout);
    let indexes: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["index"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(indexes, [fake, hide], "{text}");

    // --follow picks up a new entry within its interval.
    let mut child = Command::new(signet_bin())
        .args([
            "watch",
            "--server",
            &server.url,
            "--log-key",
            &server.vkey,
            "--state",
            "watch",
            "--json",
            "--name",
            "sam altman",
            "--follow",
            "--interval",
            "1",
        ])
        .current_dir(&w.work)
        .env("HOME", &w.work)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().take(1) {
            let _ = tx.send(line);
        }
    });
    // Let the first round pass (nothing new), then add a look-alike.
    std::thread::sleep(Duration::from_millis(1500));
    w.keygen("fake2");
    w.sign("fake2", "S\u{0430}m Altman", "fake2.txt");
    let started = Instant::now();
    let new = w.submit(&server, "fake2.txt");
    let line = rx.recv_timeout(Duration::from_secs(20));
    let _ = child.kill();
    let _ = child.wait();
    let line: Value = serde_json::from_str(&line.unwrap().unwrap()).unwrap();
    assert_eq!(line["index"], new);
    assert!(started.elapsed() < Duration::from_secs(20));
}
