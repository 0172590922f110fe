#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod check;
mod error;
mod fs;
mod index;
mod letters;
mod log;
pub mod metrics;
mod sequencer;
mod storage;
mod tree;

pub use check::{CheckReport, Problem, check, check_dir};
pub use error::Error;
pub use fs::FsStorage;
pub use index::{LetterInfo, Signatory, SignatoryPage, SignatoryQuery, StatusFilter};
pub use letters::{HostedLetter, load_letters};
pub use log::{Config, DEFAULT_ORIGIN, LetterDetails, Log};
pub use sequencer::{Ack, Head};
pub use storage::Storage;
