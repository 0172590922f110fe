//! `signet verify --online`, `signet identity`, `signet key ssh` and `signet keygen
//! --from-ssh`, with the real binary against the identity fixtures (nothing leaves the
//! machine: every --online run gets --identity-dns).
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::Scratch;
use signet_core::VerifierKey;
use signet_testkit::identity::{Fixtures, Page, refused_cases, standard_cases, token_for};

fn testdata(name: &str) -> String {
    format!("{}/tests/testdata/ssh/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn sign_with_claims(s: &Scratch, key: &str, claims: &[&str], file: &str) {
    let mut args = vec![
        "sign".to_owned(),
        "--key".into(),
        s.p(&format!("keys/{key}.key")),
        "--letter".into(),
        s.p("letter.txt"),
        "--name".into(),
        "Claimant".into(),
        "-o".into(),
        s.p(file),
    ];
    for c in claims {
        args.push("--identity".into());
        args.push((*c).to_owned());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&refs, 0);
}

fn verify_online(s: &Scratch, file: &str, flags: &[String], json: bool, code: i32) -> common::Run {
    let mut args = vec!["verify".to_owned(), s.p(file), "--online".into()];
    args.extend(flags.iter().cloned());
    if json {
        args.push("--json".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    s.run(&refs, code)
}

#[test]
fn verify_online_every_case() {
    let s = Scratch::new();
    let vkey = VerifierKey::parse(&s.key("alice")).unwrap();
    let fx = Fixtures::start();
    let (cases, _sites) = standard_cases(&fx, &|_| *vkey.public_key());
    for (i, case) in cases.iter().enumerate() {
        let file = format!("e{i}.txt");
        sign_with_claims(&s, "alice", &[&case.claim], &file);
        let started = std::time::Instant::now();
        let run = verify_online(&s, &file, &fx.flags(), true, if case.holds { 0 } else { 1 });
        assert!(
            started.elapsed() < std::time::Duration::from_secs(8),
            "{}",
            case.name
        );
        let report = run.json();
        let claim = &report["claims"][0];
        assert_eq!(claim["claim"], case.claim.as_str(), "{}", case.name);
        assert_eq!(claim["held"], case.holds, "{}: {claim}", case.name);
        assert_eq!(report["valid"], case.holds, "{}", case.name);
        if case.holds {
            assert!(
                claim["evidence"].as_str().unwrap().starts_with("sha256:"),
                "{}",
                case.name
            );
        } else {
            let reason = claim["reason"].as_str().unwrap();
            assert!(reason.contains(case.reason), "{}: {reason}", case.name);
        }
    }
    // The human form names each claim with its result and evidence.
    sign_with_claims(&s, "alice", &[&cases[0].claim, "dns:none.test"], "two.txt");
    let run = verify_online(&s, "two.txt", &fx.flags(), false, 1);
    run.says(&format!("{} VERIFIED at", cases[0].claim))
        .says("(evidence sha256:")
        .says("dns:none.test NOT VERIFIED: no TXT record at _signet.none.test");
}

#[test]
fn verify_online_keeps_the_address_rule() {
    let s = Scratch::new();
    let vkey = VerifierKey::parse(&s.key("bob")).unwrap();
    let fx = Fixtures::start();
    let (cases, site) = refused_cases(&fx, vkey.public_key());
    for (i, case) in cases.iter().enumerate() {
        let file = format!("r{i}.txt");
        sign_with_claims(&s, "bob", &[&case.claim], &file);
        let report = verify_online(&s, &file, &fx.strict_flags(), true, 1).json();
        let reason = report["claims"][0]["reason"].as_str().unwrap();
        assert!(reason.starts_with("refused: "), "{}: {reason}", case.name);
        assert!(reason.contains(case.reason), "{}: {reason}", case.name);
    }
    assert_eq!(site.accepts(), 0, "a refused address is never dialled");
}

#[test]
fn verify_online_bad_flags_are_usage_errors() {
    let s = Scratch::new();
    s.key("carol");
    sign_with_claims(&s, "carol", &["dns:example.test"], "e.txt");
    s.run(
        &[
            "verify",
            &s.p("e.txt"),
            "--online",
            "--identity-ca",
            &s.p("missing.pem"),
            "--identity-dns",
            "127.0.0.1:1",
        ],
        2,
    )
    .says("cannot read the identity CA file");
    // A clap usage error: exit 2, with clap's own message.
    let out = s
        .cmd(&[
            "verify",
            &s.p("e.txt"),
            "--online",
            "--identity-dns",
            "nameserver",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an IP address"));
}

#[test]
fn identity_prints_what_to_publish_and_it_verifies() {
    let s = Scratch::new();
    let vkey = VerifierKey::parse(&s.key("dana")).unwrap();
    let token = token_for(vkey.public_key());
    let key = s.p("keys/dana.key");
    let fx = Fixtures::start();

    let web = s.run(
        &[
            "identity",
            "--key",
            &key,
            "--claim",
            "https://dana.test/about",
        ],
        0,
    );
    assert!(web.stdout.lines().any(|l| l == token), "{}", web.stdout);
    let site = fx.site("dana.test");
    site.set(
        "/about",
        Page::Body(format!("<p>{}</p>", web.stdout.lines().last().unwrap()).into_bytes()),
    );

    let dns = s.run(&["identity", "--key", &key, "--claim", "dns:dana.test"], 0);
    dns.says(&format!("_signet.dana.test. IN TXT \"{token}\""));
    fx.set_txt("_signet.dana.test", &[&[&token]]);

    let gh = s.run(&["identity", "--key", &key, "--claim", "github:dana"], 0);
    let line = gh
        .stdout
        .lines()
        .find(|l| l.starts_with("ssh-ed25519 "))
        .unwrap()
        .to_owned();
    assert!(
        line.ends_with(" dana"),
        "the comment is the key name: {line}"
    );
    let github = fx.site("github.com");
    github.set("/dana.keys", Page::Body(format!("{line}\n").into_bytes()));

    sign_with_claims(
        &s,
        "dana",
        &["dns:dana.test", "github:dana", "https://dana.test/about"],
        "e.txt",
    );
    let report = verify_online(&s, "e.txt", &fx.flags(), true, 0).json();
    let claims = report["claims"].as_array().unwrap();
    assert_eq!(claims.len(), 3);
    assert!(claims.iter().all(|c| c["held"] == true), "{claims:?}");

    s.run(&["identity", "--key", &key, "--claim", "github:Dana"], 2)
        .says("--claim");
    s.run(
        &["identity", "--key", &key, "--claim", "http://dana.test/"],
        2,
    )
    .says("--claim");
}

#[test]
fn key_ssh_and_keygen_from_ssh() {
    let s = Scratch::new();
    // An unencrypted OpenSSH key: the imported key prints as the same ssh-ed25519 line.
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("plain"),
            "--name",
            "plain",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        0,
    );
    let want = std::fs::read_to_string(testdata("plain.pub")).unwrap();
    let want: Vec<&str> = want.split_whitespace().take(2).collect();
    let run = s.run(&["key", "ssh", "--key", &s.p("keys/plain.key")], 0);
    assert_eq!(run.stdout.trim(), format!("{} {} plain", want[0], want[1]));
    // The .vkey gives the same line, with no private key needed.
    let again = s.run(&["key", "ssh", "--key", &s.p("keys/plain.vkey")], 0);
    assert_eq!(again.stdout, run.stdout);

    // An encrypted one (bcrypt-pbkdf), with its passphrase from a file.
    s.write("pass", "correct horse\n");
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("encrypted"),
            "--ssh-passphrase-file",
            &s.p("pass"),
            "--name",
            "enc",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        0,
    );
    let want = std::fs::read_to_string(testdata("encrypted.pub")).unwrap();
    let want: Vec<&str> = want.split_whitespace().take(2).collect();
    let run = s.run(&["key", "ssh", "--key", &s.p("keys/enc.key")], 0);
    assert_eq!(run.stdout.trim(), format!("{} {} enc", want[0], want[1]));

    // A wrong passphrase, no passphrase, another key type, a public key file.
    s.write("wrong", "battery staple\n");
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("encrypted"),
            "--ssh-passphrase-file",
            &s.p("wrong"),
            "--name",
            "x1",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        2,
    )
    .says("cannot decrypt");
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("encrypted"),
            "--name",
            "x2",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        2,
    )
    .says("SIGNET_SSH_PASSPHRASE");
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("rsa"),
            "--name",
            "x3",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        2,
    )
    .says("signs only with Ed25519");
    s.run(
        &[
            "keygen",
            "--from-ssh",
            &testdata("plain.pub"),
            "--name",
            "x4",
            "--dir",
            &s.p("keys"),
            "--unencrypted",
        ],
        2,
    )
    .says("is not an OpenSSH private key");
    s.run(&["key", "ssh", "--key", &s.p("keys/none.key")], 2);
}
