//! `signet submit` and `signet proof` against a fake registry on loopback.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{Mode, Registry, Scratch};

fn submit(s: &Scratch, r: &Registry, file: &str, code: i32) -> common::Run {
    s.run(
        &["submit", file, "--server", r.url(), "--log-key", &r.vkey()],
        code,
    )
}

#[test]
fn submit_saves_a_verified_proof() {
    let (s, r) = (Scratch::new(), Registry::new());
    s.key("alice");
    s.sign("alice", "Alice", "a.end");
    let run = submit(&s, &r, "a.end", 0);
    assert_eq!(run.stdout, "logged at index 1\n", "{run}");
    run.says("a.end.tlog-proof");
    assert_eq!(r.size(), 2);
    let vkey = r.vkey();
    s.run(
        &[
            "verify",
            "a.end",
            "--letter",
            "letter.txt",
            "--proof",
            "a.end.tlog-proof",
            "--log-key",
            &vkey,
        ],
        0,
    );

    // Again: the same bytes are already logged; a fresh proof, exit 0.
    std::fs::remove_file(s.path("a.end.tlog-proof")).unwrap();
    let run = submit(&s, &r, "a.end", 0);
    assert!(run.stdout.contains("already logged at index 1"), "{run}");
    assert!(s.path("a.end.tlog-proof").exists());
    assert_eq!(r.size(), 2);

    // -o, the environment, a key file, and stdin (proof to stdout).
    s.sign("alice", "Alice Second", "b.end");
    s.write("log.vkey", format!("{vkey}\n"));
    let mut cmd = s.cmd(&["submit", "b.end", "-o", "b.proof"]);
    cmd.env("SIGNET_SERVER", r.url())
        .env("SIGNET_LOG_KEY", "log.vkey");
    s.run_cmd(cmd, 0);
    s.run(
        &[
            "verify",
            "b.end",
            "--proof",
            "b.proof",
            "--log-key",
            "log.vkey",
        ],
        0,
    );
    let mut cmd = s.cmd(&["submit", "-", "--server", r.url(), "--log-key", &vkey]);
    cmd.write_stdin(s.read("b.end"));
    let run = s.run_cmd(cmd, 0);
    assert!(run.stdout.starts_with("c2sp.org/tlog-proof@v1\n"), "{run}");
    run.says("already logged at index 2");
}

#[test]
fn submit_refusals_exit_1() {
    let (s, r) = (Scratch::new(), Registry::new());
    s.key("alice");
    s.sign("alice", "Alice", "a.end");
    let json = |code: &str, msg: &str| format!("{{\"error\":\"{code}\",\"message\":\"{msg}\"}}");
    for (status, says) in [
        (400, "bad grammar"),
        (413, "too large"),
        (422, "unregistered letter"),
    ] {
        r.set(Mode::Fixed(status, json("refused", says), vec![]));
        submit(&s, &r, "a.end", 1)
            .says(says)
            .says(&status.to_string());
    }
    r.set(Mode::Fixed(
        409,
        "{\"error\":\"conflict\",\"message\":\"another endorsement is active\",\"index\":7}".into(),
        vec![],
    ));
    submit(&s, &r, "a.end", 1)
        .says("index 7")
        .says("signet withdraw");
    assert!(
        !s.path("a.end.tlog-proof").exists(),
        "no proof saved on refusal"
    );

    // A proof that does not verify is never saved.
    r.set(Mode::BadProof);
    submit(&s, &r, "a.end", 1).says("refusing to save a proof");
    assert!(!s.path("a.end.tlog-proof").exists());
    // A proof against another log key is refused too.
    r.set(Mode::Log);
    let other = signet_testkit::key(common::ORIGIN, "not the log")
        .verifier()
        .to_string();
    s.run(
        &["submit", "a.end", "--server", r.url(), "--log-key", &other],
        1,
    )
    .says("refusing to save");
    assert!(!s.path("a.end.tlog-proof").exists());

    // An invalid entry is not even sent.
    let text = String::from_utf8(s.read("a.end")).unwrap();
    s.write("bad.end", text.replace("name Alice", "name Alicf"));
    let before = r.server.requests().len();
    submit(&s, &r, "bad.end", 1).says("not valid");
    assert_eq!(r.server.requests().len(), before);
}

#[test]
fn submit_obstacles_exit_2() {
    let (s, r) = (Scratch::new(), Registry::new());
    s.key("alice");
    s.sign("alice", "Alice", "a.end");
    r.set(Mode::Fixed(
        429,
        "{\"error\":\"rate_limited\",\"message\":\"slow down\"}".into(),
        vec![("retry-after".into(), "30".into())],
    ));
    submit(&s, &r, "a.end", 2).says("429").says("30");
    r.set(Mode::Fixed(
        503,
        "overloaded".into(),
        vec![("retry-after".into(), "5".into())],
    ));
    submit(&s, &r, "a.end", 2)
        .says("503")
        .says("try again later");
    r.set(Mode::Fixed(500, "boom".into(), vec![]));
    submit(&s, &r, "a.end", 2).says("500");
    r.set(Mode::Fixed(201, "not json".into(), vec![]));
    submit(&s, &r, "a.end", 2).says("bad answer");
    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    s.run(
        &["submit", "a.end", "--server", &url, "--log-key", &r.vkey()],
        2,
    )
    .says("cannot reach");
    s.run(
        &[
            "submit",
            "a.end",
            "--server",
            "ftp://x",
            "--log-key",
            &r.vkey(),
        ],
        2,
    )
    .says("http://");
    s.run(&["submit", "a.end", "--log-key", &r.vkey()], 2)
        .says("--server");
    s.run(&["submit", "a.end", "--server", r.url()], 2)
        .says("--log-key");
    s.run(
        &[
            "submit",
            "missing.end",
            "--server",
            r.url(),
            "--log-key",
            &r.vkey(),
        ],
        2,
    )
    .says("missing.end");
    s.run(
        &[
            "submit",
            "a.end",
            "--server",
            r.url(),
            "--log-key",
            "no-such-file",
        ],
        2,
    )
    .says("--log-key");
}

#[test]
fn proof_fetches_and_checks_against_the_tiles() {
    let (s, r) = (Scratch::new(), Registry::new());
    s.key("alice");
    s.sign("alice", "Alice Example", "a.end");
    submit(&s, &r, "a.end", 0);
    let vkey = r.vkey();
    let run = s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &vkey,
            "--index",
            "1",
            "-o",
            "p.tlog-proof",
            "--entry",
            "e.end",
        ],
        0,
    );
    run.says("Alice Example").says("self-asserted");
    assert_eq!(s.read("e.end"), s.read("a.end"));
    s.run(
        &[
            "verify",
            "e.end",
            "--proof",
            "p.tlog-proof",
            "--log-key",
            &vkey,
        ],
        0,
    );
    // To stdout by default; the letter registration at index 0.
    let run = s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &vkey,
            "--index",
            "0",
        ],
        0,
    );
    assert!(
        run.stdout.starts_with("c2sp.org/tlog-proof@v1\nindex 0\n"),
        "{run}"
    );
    run.says("registration");
    // Checked against the log key, and against the entry in the tiles.
    let other = signet_testkit::key(common::ORIGIN, "not the log")
        .verifier()
        .to_string();
    s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &other,
            "--index",
            "1",
        ],
        1,
    );
    let bundle = r.tmp.path().join("tile/entries/000.p/2");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let n = bytes.len();
    bytes[n - 4] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &vkey,
            "--index",
            "1",
            "-o",
            "q.tlog-proof",
        ],
        1,
    )
    .says("does not verify");
    assert!(!s.path("q.tlog-proof").exists());
    // No such entry.
    s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &vkey,
            "--index",
            "9",
        ],
        2,
    )
    .says("404");
    s.run(&["proof", "--server", r.url(), "--log-key", &vkey], 2)
        .says("--index");
    s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &vkey,
            "--index",
            "-1",
        ],
        2,
    );
}

/// Characters that would drive a terminal: none of them may be printed as they are.
const RAW_CONTROLS: &[char] = &['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2066}', '\r'];

fn assert_escaped(run: &common::Run) {
    for c in RAW_CONTROLS {
        assert!(
            !run.stderr.contains(*c) && !run.stdout.contains(*c),
            "{c:?} reached the terminal raw\n{}",
            run.stderr.escape_debug()
        );
    }
}

#[test]
fn server_error_messages_cannot_inject_terminal_escapes() {
    let (s, r) = (Scratch::new(), Registry::new());
    s.key("alice");
    s.sign("alice", "Alice", "a.end");
    // Retitle the window, clear the screen, fake a verdict, and reverse what follows.
    let attack = "\u{1b}]0;owned\u{7}\u{1b}[2J\rVALID \u{9b}31m\u{202e}evil\u{2066}";
    let json = serde_json::json!({"error": "bad", "message": attack}).to_string();
    // Refusals (exit 1), with a 409's active index; a failing server (exit 2), in JSON
    // and as plain text.
    for (status, body, code) in [
        (422, json.clone(), 1),
        (400, json.clone(), 1),
        (409, json.clone(), 1),
        (503, json.clone(), 2),
        (500, json.clone(), 2),
        (502, attack.to_owned(), 2),
    ] {
        r.set(Mode::Fixed(status, body, vec![]));
        let run = submit(&s, &r, "a.end", code);
        assert_escaped(&run);
        run.says(&status.to_string())
            .says("\\u{1b}]0;owned\\u{7}\\u{1b}[2J")
            .says("\\u{202e}evil\\u{2066}");
    }
    // `signet proof` quotes the server's 404 message.
    let run = s.run(
        &[
            "proof",
            "--server",
            r.url(),
            "--log-key",
            &r.vkey(),
            "--index",
            "999",
        ],
        2,
    );
    assert_escaped(&run);
}
