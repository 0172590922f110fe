#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod catalog;
mod check;
mod decider;
mod error;
mod fs;
mod head;
mod letters;
mod log;
pub mod metrics;
mod moderators;
mod pipeline;
mod recovery;
mod replay;
mod sequencer;
mod storage;
mod tree;
pub mod witness;

pub use catalog::{
    ClaimResult, HiddenBy, LetterInfo, ModeratorInfo, ShownClaim, Signatory, SignatoryPage,
    SignatoryQuery, StatusFilter,
};
pub use check::{CheckReport, Problem, check, check_dir};
pub use error::Error;
pub use fs::FsStorage;
pub use head::{Ack, Head};
pub use letters::{HostedLetter, load_letters};
pub use log::{Config, DEFAULT_ORIGIN, LetterDetails, Log};
pub use storage::Storage;
