//! `signet letter hash`, `signet sign` and `signet withdraw`.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::{LETTER, Scratch};

fn letter_id() -> String {
    signet_core::Letter::from_bytes(LETTER.as_bytes())
        .unwrap()
        .id()
        .to_string()
}

#[test]
fn letter_hash() {
    let s = Scratch::new();
    let run = s.run(&["letter", "hash", "letter.txt"], 0);
    assert_eq!(run.stdout, format!("{}\n", letter_id()));
    // From stdin, with Windows line endings, a BOM and trailing spaces: the same ID.
    let messy = format!("\u{feff}\r\n{}  \r\n\r\n", LETTER.replace('\n', "\r\n"));
    let mut cmd = s.cmd(&["letter", "hash", "-"]);
    cmd.write_stdin(messy);
    assert_eq!(s.run_cmd(cmd, 0).stdout, format!("{}\n", letter_id()));
    // The hosted letter (docs/protocol.md, *The hosted letter*).
    s.write("seed.txt", b"\xff\xfe not utf-8");
    s.run(&["letter", "hash", "seed.txt"], 2).says("seed.txt");
    s.write("empty.txt", "\n \n\t\n");
    s.run(&["letter", "hash", "empty.txt"], 2).says("empty.txt");
    s.run(&["letter", "hash", "missing.txt"], 2)
        .says("missing.txt");
    s.run(&["letter", "hash"], 2);
    s.run(&["letter"], 2);
}

#[test]
fn sign_shows_what_is_signed() {
    let s = Scratch::new();
    let vkey = s.key("alice");
    let run = s.run(
        &[
            "sign",
            "--key",
            "keys/alice.key",
            "--letter",
            "letter.txt",
            "--name",
            "Alice Example",
            "--affiliation",
            "Example University",
            "--role",
            "Professor",
            "--identity",
            "https://example.org/alice",
            "--identity",
            "dns:example.org",
            "--time",
            "2025-02-03T04:05:06Z",
        ],
        0,
    );
    run.says("\"An Open Letter\"")
        .says(&letter_id())
        .says("self-asserted")
        .says("public log forever")
        .says("never erases");
    let expected_body = format!(
        "signet/endorsement/v1\nletter {}\nname Alice Example\naffiliation Example University\nrole Professor\n\
         identity dns:example.org\nidentity https://example.org/alice\ntime 2025-02-03T04:05:06Z\nkey {vkey}\n\n— alice ",
        letter_id()
    );
    assert!(
        run.stdout.starts_with(&expected_body),
        "identity claims sorted, fields in order:\n{run}"
    );
    let entry = signet_core::Entry::parse(run.stdout.as_bytes()).unwrap();
    assert_eq!(entry.statement().kind(), "endorsement");

    // By letter ID: no title to show, so the ID alone; -o - is stdout.
    let run = s.run(
        &[
            "sign",
            "--key",
            "keys/alice.key",
            "--letter",
            &letter_id(),
            "--name",
            "Alice",
            "-o",
            "-",
        ],
        0,
    );
    run.says("no title known").says(&letter_id());
    assert!(run.stdout.starts_with("signet/endorsement/v1\n"));
    // -o FILE writes the file and says how to submit it.
    let run = s.run(
        &[
            "sign",
            "--key",
            "keys/alice.key",
            "--letter",
            "letter.txt",
            "--name",
            "Alice",
            "-o",
            "a.end",
        ],
        0,
    );
    assert!(run.stdout.is_empty());
    run.says("signet submit");
    signet_core::Entry::parse(&s.read("a.end")).unwrap();
    // Letter from stdin.
    let mut cmd = s.cmd(&[
        "sign",
        "--key",
        "keys/alice.key",
        "--letter",
        "-",
        "--name",
        "Alice",
    ]);
    cmd.write_stdin(LETTER);
    s.run_cmd(cmd, 0).says(&letter_id());
}

#[test]
fn sign_refuses_bad_fields() {
    let s = Scratch::new();
    s.key("alice");
    let base = ["sign", "--key", "keys/alice.key", "--letter", "letter.txt"];
    let cases: &[(&[&str], &str)] = &[
        (&["--name", ""], "name"),
        (&["--name", " Alice"], "name"),
        (&["--name", "Alice  Example"], "name"),
        (&["--name", "Alice\u{200b}"], "name"),
        (&["--name", "Ali\nce"], "name"),
        (&["--name", &"x".repeat(129)], "name"),
        (&["--name", "A", "--affiliation", ""], "affiliation"),
        (&["--name", "A", "--role", "\u{202e}evil"], "role"),
        (
            &["--name", "A", "--identity", "http://example.org/"],
            "--identity",
        ),
        (&["--name", "A", "--identity", "github:Alice"], "--identity"),
        (
            &[
                "--name",
                "A",
                "--identity",
                "dns:a.org",
                "--identity",
                "dns:a.org",
            ],
            "twice",
        ),
        (
            &[
                "--name",
                "A",
                "--identity",
                "dns:a.org",
                "--identity",
                "dns:b.org",
                "--identity",
                "dns:c.org",
                "--identity",
                "dns:d.org",
                "--identity",
                "dns:e.org",
            ],
            "at most 4",
        ),
        (&["--name", "A", "--time", "2025-02-30T00:00:00Z"], "--time"),
        (&["--name", "A", "--time", "1999-12-31T23:59:59Z"], "--time"),
    ];
    for (extra, says) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        s.run(&args, 2).says(says);
    }
    s.run(
        &[
            "sign",
            "--key",
            "keys/alice.key",
            "--letter",
            "sha256:1234",
            "--name",
            "A",
        ],
        2,
    )
    .says("64 lowercase hex");
    s.run(
        &[
            "sign",
            "--key",
            "keys/alice.key",
            "--letter",
            "nope.txt",
            "--name",
            "A",
        ],
        2,
    )
    .says("nope.txt");
    s.run(
        &["sign", "--key", "keys/alice.key", "--letter", "letter.txt"],
        2,
    )
    .says("--name");
    s.run(&["sign", "--letter", "letter.txt", "--name", "A"], 2)
        .says("--key");
}

#[test]
fn withdraw() {
    let s = Scratch::new();
    let vkey = s.key("bob");
    let run = s.run(
        &[
            "withdraw",
            "--key",
            "keys/bob.key",
            "--letter",
            "letter.txt",
            "--time",
            "2025-03-01T00:00:00Z",
        ],
        0,
    );
    run.says("withdrawal").says("\"An Open Letter\"");
    assert!(
        run.stdout.starts_with(&format!(
            "signet/withdrawal/v1\nletter {}\ntime 2025-03-01T00:00:00Z\nkey {vkey}\n\n— bob ",
            letter_id()
        )),
        "{run}"
    );
    s.run(
        &[
            "withdraw",
            "--key",
            "keys/bob.key",
            "--letter",
            &letter_id(),
            "-o",
            "w.txt",
        ],
        0,
    );
    let entry = signet_core::Entry::parse(&s.read("w.txt")).unwrap();
    assert_eq!(entry.statement().kind(), "withdrawal");
    s.run(&["withdraw", "--key", "keys/bob.key"], 2);
}

#[test]
fn broken_pipe_is_quiet() {
    let s = Scratch::new();
    s.key("alice");
    // A reader that closes at once: the command must not panic or complain.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' sign --key keys/alice.key --letter letter.txt --name Alice 2>err | true; cat err",
            assert_cmd::cargo::cargo_bin("signet").display()
        ))
        .current_dir(s.dir())
        .env("SIGNET_HOME", s.path("home"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}

#[test]
fn help_and_version() {
    let s = Scratch::new();
    let run = s.run(&["--help"], 0);
    for sub in [
        "keygen", "letter", "sign", "withdraw", "verify", "submit", "proof", "audit",
    ] {
        assert!(run.stdout.contains(sub), "{sub} in --help");
    }
    s.run(&["--version"], 0);
    s.run(&[], 2);
    s.run(&["frobnicate"], 2);
}
