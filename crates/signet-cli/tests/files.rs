//! How `signet` writes files: never through a symlink that someone planted.
#![expect(clippy::unwrap_used, reason = "tests")]

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use common::{Registry, Scratch};

/// How many process IDs past the last one handed out get a planted symlink. Earlier
/// versions named their temporary files `.<name>.tmp-<pid>`, and Linux hands out process
/// IDs in order, so the next few thousand cover the runs below even with other programs
/// starting processes meanwhile.
const PIDS_AHEAD: u32 = 3000;

/// The process ID the kernel handed out last (0 where it does not say).
fn last_pid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Files outside the directories `signet` writes to, each a symlink's target.
struct Targets {
    dir: PathBuf,
    planted: Vec<PathBuf>,
}

const BAIT: &[u8] = b"must stay as it is\n";

impl Targets {
    fn new(s: &Scratch) -> Targets {
        let dir = s.path("outside");
        std::fs::create_dir_all(&dir).unwrap();
        Targets {
            dir,
            planted: Vec::new(),
        }
    }

    /// Plants a symlink at `link`, pointing at a fresh target file outside.
    fn plant(&mut self, link: &Path) {
        let target = self.dir.join(format!("target-{}", self.planted.len()));
        std::fs::write(&target, BAIT).unwrap();
        symlink(&target, link).unwrap();
        self.planted.push(target);
    }

    /// Plants symlinks at the temporary names earlier versions used for `dir/name`.
    fn plant_temp_names(&mut self, dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let first = last_pid() + 1;
        for pid in first..first + PIDS_AHEAD {
            self.plant(&dir.join(format!(".{name}.tmp-{pid}")));
        }
    }

    /// Every target is exactly as planted.
    fn check_untouched(&self) {
        for target in &self.planted {
            assert_eq!(
                String::from_utf8_lossy(&std::fs::read(target).unwrap()),
                String::from_utf8_lossy(BAIT),
                "{} was written through a symlink",
                target.display()
            );
        }
    }
}

#[test]
fn symlinks_at_temp_names_are_never_followed() {
    let (s, r) = (Scratch::new(), Registry::new());
    let mut t = Targets::new(&s);
    s.key("alice");

    // `sign -o`: the endorsement lands in place, and nothing outside changes.
    t.plant_temp_names(s.dir(), "a.end");
    let bytes = s.sign("alice", "Alice", "a.end");
    assert!(bytes.starts_with(b"signet/endorsement/v1\n"));
    t.check_untouched();
    assert!(!s.path("a.end").is_symlink());

    // `submit -o`.
    t.plant_temp_names(s.dir(), "a.proof");
    s.run(
        &[
            "submit",
            "a.end",
            "--server",
            r.url(),
            "--log-key",
            &r.vkey(),
            "-o",
            "a.proof",
        ],
        0,
    );
    assert!(s.read("a.proof").starts_with(b"c2sp.org/tlog-proof@v1\n"));
    t.check_untouched();

    // `audit --state`: both files of the state directory.
    let state = s.path("state");
    t.plant_temp_names(&state, "audit-state");
    t.plant_temp_names(&state, "checkpoint");
    s.run(
        &[
            "audit",
            "--server",
            r.url(),
            "--log-key",
            &r.vkey(),
            "--state",
            "state",
        ],
        0,
    );
    assert!(!state.join("audit-state").is_symlink());
    t.check_untouched();

    // `keygen` without --force refuses a name that a symlink holds, dangling or not.
    let keys = s.path("keys");
    t.plant(&keys.join("bob.key"));
    symlink(s.path("outside/nothing-here"), keys.join("carol.vkey")).unwrap();
    for name in ["bob", "carol"] {
        s.run(
            &["keygen", "--name", name, "--dir", "keys", "--unencrypted"],
            2,
        )
        .says("already exists");
    }
    assert!(!s.path("outside/nothing-here").exists());
    t.check_untouched();

    // `keygen --force` replaces the symlinks themselves, never what they point at.
    t.plant(&keys.join("bob.vkey"));
    t.plant_temp_names(&keys, "bob.key");
    let vkey = s.run(
        &[
            "keygen",
            "--name",
            "bob",
            "--dir",
            "keys",
            "--unencrypted",
            "--force",
        ],
        0,
    );
    assert!(!keys.join("bob.key").is_symlink() && !keys.join("bob.vkey").is_symlink());
    assert_eq!(
        String::from_utf8(s.read("keys/bob.vkey")).unwrap(),
        vkey.stdout
    );
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(keys.join("bob.key"))
                .unwrap()
                .permissions()
        ) & 0o777,
        0o600
    );
    t.check_untouched();
}

#[test]
fn output_errors_name_the_destination() {
    let s = Scratch::new();
    s.key("alice");
    let key = s.p("keys/alice.key");
    let letter = s.p("letter.txt");
    let args = [
        "sign", "--key", &key, "--letter", &letter, "--name", "Alice", "-o",
    ];
    let mut missing = args.to_vec();
    missing.push("no-such-dir/a.end");
    s.run(&missing, 2)
        .says("cannot write no-such-dir/a.end")
        .says("No such file or directory");
    assert!(!s.path("no-such-dir").exists());
}
