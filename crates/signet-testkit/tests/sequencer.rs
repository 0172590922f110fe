//! The fixture log builds the same tree as the real sequencer: the entries a real
//! `signet_log::Log` stored, put into a `TestLog`, publish tiles byte-identical to the
//! ones the log wrote, and the same root.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use signet_core::{Entry, LetterId};
use signet_log::{Config, Log};
use signet_testkit::harness::{LETTER_ID, letters_dir};
use signet_testkit::{TestLog, endorsement, key};

/// More than one full tile (256), submitted concurrently so that batches leave partial
/// tiles of several sizes behind.
const ENTRIES: u64 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_log_publishes_the_tiles_the_sequencer_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        letters_dir: Some(letters_dir()),
        batch_interval: Duration::from_millis(1),
        ..Config::new(dir.path())
    };
    let log = Arc::new(
        tokio::task::spawn_blocking(move || Log::open(config))
            .await
            .unwrap()
            .unwrap(),
    );
    let letter: LetterId = LETTER_ID.parse().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..ENTRIES {
        let log = Arc::clone(&log);
        tasks.spawn(async move {
            let signer = key(&format!("s{n}"), &format!("sequencer test signer {n}"));
            let entry = Entry::parse(&endorsement(&signer, letter, "Signer", n)).unwrap();
            tokio::time::timeout(Duration::from_secs(60), log.submit(entry))
                .await
                .expect("the log acknowledges within a minute")
                .unwrap()
        });
    }
    while let Some(ack) = tasks.join_next().await {
        assert!(ack.unwrap().new);
    }

    let head = log.head();
    let mut fixture = TestLog::new("example.org/fixture");
    for i in 0..head.size {
        fixture.push(log.entry(i).unwrap());
    }
    assert_eq!(fixture.len(), head.size);
    assert!(head.size > ENTRIES, "the letter's registration comes first");
    assert_eq!(fixture.checkpoint().root, head.root);
    let stored = dir.path().join("log");
    let tiles = fixture.tiles();
    for (tile, data) in &tiles {
        let path = stored.join(tile.path());
        let written = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("the sequencer left no {}: {e}", tile.path()));
        assert!(
            written == *data,
            "{} differs from the sequencer's",
            tile.path()
        );
    }
    let full: Vec<String> = tiles
        .iter()
        .map(|(tile, _)| tile.path())
        .filter(|p| !p.contains(".p/"))
        .collect();
    assert_eq!(full, ["tile/entries/000", "tile/0/000"]);
}
