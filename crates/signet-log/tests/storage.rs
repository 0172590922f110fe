//! The storage contract, run against both backends: the file system and memory.

use signet_testkit::storage::{FsBackend, MemBackend};

signet_testkit::storage_contract!(fs, FsBackend::new);
signet_testkit::storage_contract!(memory, MemBackend::new);
