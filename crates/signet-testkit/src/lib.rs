#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod disk;
pub mod entries;
pub mod fixture;
pub mod harness;
#[cfg(feature = "identity")]
pub mod identity;
pub mod man;
pub mod server;
pub mod storage;
pub mod strace;

pub use entries::{endorsement, key, letter, time};
pub use fixture::TestLog;
pub use server::{Request, Response, TestServer};
