//! `signet completions SHELL`.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use common::Scratch;

#[test]
fn completions_for_every_shell() {
    let s = Scratch::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let run = s.run(&["completions", shell], 0);
        assert!(run.stderr.is_empty(), "{shell}: {run}");
        for word in ["keygen", "audit", "completions", "--log-key"] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}\n{run}");
        }
    }
    // Each script is its shell's own.
    assert!(
        s.run(&["completions", "bash"], 0)
            .stdout
            .contains("complete -F")
    );
    assert!(
        s.run(&["completions", "zsh"], 0)
            .stdout
            .starts_with("#compdef signet")
    );
    assert!(
        s.run(&["completions", "fish"], 0)
            .stdout
            .contains("complete -c signet")
    );
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let s = Scratch::new();
    // clap's own usage errors: exit 2, the bad value, and the values that would do.
    let usage_error = |args: &[&str], says: &[&str]| {
        let out = s.cmd(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: a script was printed");
        for text in says {
            assert!(
                stderr.contains(text),
                "{args:?}: expected {text:?} in\n{stderr}"
            );
        }
    };
    usage_error(
        &["completions", "tcsh"],
        &[
            "invalid value 'tcsh'",
            "possible values: bash, elvish, fish, powershell, zsh",
        ],
    );
    usage_error(&["completions"], &["<SHELL>"]);
    usage_error(
        &["completions", "bash", "zsh"],
        &["unexpected argument 'zsh'"],
    );
}
