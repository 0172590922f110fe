//! `signet keygen` and private key files (the only tests that pay for the scrypt KDF).
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Scratch;

const PASS: &str = "correct horse battery staple";

fn mode(s: &Scratch, rel: &str) -> u32 {
    std::fs::metadata(s.path(rel)).unwrap().permissions().mode() & 0o777
}

#[test]
fn encrypted_key_round_trip() {
    let s = Scratch::new();
    let mut cmd = s.cmd(&["keygen", "--name", "alice", "--dir", "keys"]);
    cmd.env("SIGNET_PASSPHRASE", PASS);
    let run = s.run_cmd(cmd, 0);
    assert!(
        run.stdout.starts_with("alice+"),
        "the key name is NAME: {run}"
    );
    assert_eq!(
        run.stdout.trim(),
        String::from_utf8(s.read("keys/alice.vkey")).unwrap().trim()
    );
    run.says("encrypted with your passphrase")
        .says("fingerprint");
    assert_eq!(mode(&s, "keys/alice.key"), 0o600);
    assert_eq!(mode(&s, "keys/alice.vkey"), 0o644);
    let key = String::from_utf8(s.read("keys/alice.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "age armor: {key}"
    );
    assert!(
        !key.contains("PRIVATE+KEY"),
        "the secret is not in the clear"
    );

    // Signing asks for the passphrase: right from the environment, wrong from a file.
    let sign = [
        "sign",
        "--key",
        "keys/alice.key",
        "--letter",
        "letter.txt",
        "--name",
        "Alice",
        "-o",
        "a.end",
    ];
    let mut cmd = s.cmd(&sign);
    cmd.env("SIGNET_PASSPHRASE", PASS);
    s.run_cmd(cmd, 0);
    s.run(&["verify", "a.end"], 0);
    s.write("wrong-pass", "not the passphrase\n");
    let mut args = sign.to_vec();
    args.extend(["--passphrase-file", "wrong-pass"]);
    s.run(&args, 2).says("wrong passphrase");
    // No passphrase and no terminal: say how to give one.
    s.run(&sign, 2).says("SIGNET_PASSPHRASE");
}

#[test]
fn passphrase_file_and_overwrite() {
    let s = Scratch::new();
    s.write("pass", format!("{PASS}\n"));
    let first = s.run(&["keygen", "--dir", "keys", "--passphrase-file", "pass"], 0);
    assert!(first.stdout.starts_with("signer+"), "default name: {first}");
    // The passphrase file's first line, without its newline, is the passphrase.
    let mut cmd = s.cmd(&[
        "sign",
        "--key",
        "keys/signer.key",
        "--letter",
        "letter.txt",
        "--name",
        "S",
    ]);
    cmd.env("SIGNET_PASSPHRASE", PASS);
    s.run_cmd(cmd, 0);

    // Refuses to overwrite, changing nothing; --force replaces both files.
    let before = s.read("keys/signer.key");
    s.run(&["keygen", "--dir", "keys", "--unencrypted"], 2)
        .says("already exists")
        .says("--force");
    assert_eq!(s.read("keys/signer.key"), before);
    let second = s.run(&["keygen", "--dir", "keys", "--unencrypted", "--force"], 0);
    assert_ne!(second.stdout, first.stdout);
    assert_eq!(mode(&s, "keys/signer.key"), 0o600);
    // Refuses when only the .vkey exists, too.
    std::fs::remove_file(s.path("keys/signer.key")).unwrap();
    s.run(&["keygen", "--dir", "keys", "--unencrypted"], 2)
        .says("signer.vkey already exists");
}

#[test]
fn unencrypted_key_says_so() {
    let s = Scratch::new();
    let run = s.run(&["keygen", "--name", "bot.1_x-y", "--unencrypted"], 0);
    run.says("NOT ENCRYPTED");
    // Default directory: $SIGNET_HOME/keys, created private.
    let key = String::from_utf8(s.read("home/keys/bot.1_x-y.key")).unwrap();
    assert!(key.starts_with("PRIVATE+KEY+bot.1_x-y+"), "{key}");
    assert_eq!(mode(&s, "home/keys"), 0o700);
    assert_eq!(mode(&s, "home/keys/bot.1_x-y.key"), 0o600);
    // --key accepts the bare name of a key in the default directory.
    s.run(
        &[
            "sign",
            "--key",
            "bot.1_x-y",
            "--letter",
            "letter.txt",
            "--name",
            "Bot",
        ],
        0,
    );
    // Without SIGNET_HOME: ~/.config/signet/keys.
    let mut cmd = s.cmd(&["keygen", "--unencrypted"]);
    cmd.env_remove("SIGNET_HOME");
    s.run_cmd(cmd, 0);
    assert!(s.path(".config/signet/keys/signer.key").exists());
}

#[test]
fn keygen_refusals() {
    let s = Scratch::new();
    for name in ["", "a b", "a/b", "ä", &"x".repeat(65)] {
        s.run(&["keygen", "--name", name, "--unencrypted"], 2)
            .says("not a valid key name");
    }
    // No passphrase source and no terminal.
    s.run(&["keygen", "--dir", "keys"], 2).says("--unencrypted");
    assert!(!s.path("keys/signer.key").exists(), "nothing written");
    // An empty passphrase is refused.
    let mut cmd = s.cmd(&["keygen", "--dir", "keys"]);
    cmd.env("SIGNET_PASSPHRASE", "");
    s.run_cmd(cmd, 2).says("empty");
    s.run(
        &["keygen", "--passphrase-file", "missing", "--dir", "keys"],
        2,
    )
    .says("missing");
    // --passphrase-file and --unencrypted contradict each other: a usage error.
    s.run(&["keygen", "--passphrase-file", "p", "--unencrypted"], 2);
    // The passphrase is never taken from argv.
    s.run(&["keygen", "--passphrase", "x"], 2);
    // A file that is not a key.
    s.write("junk.key", "hello\n");
    s.run(
        &[
            "sign",
            "--key",
            "junk.key",
            "--letter",
            "letter.txt",
            "--name",
            "X",
        ],
        2,
    )
    .says("not a signet key file");
    s.run(
        &[
            "sign",
            "--key",
            "nokey",
            "--letter",
            "letter.txt",
            "--name",
            "X",
        ],
        2,
    )
    .says("signet keygen");
}
