#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod error;

pub mod b64;
pub mod checkpoint;
pub mod cosignature;
pub mod edge;
pub mod entry;
pub mod hash;
pub mod keys;
pub mod letter;
pub mod lookalike;
pub mod merkle;
pub mod note;
pub mod policy;
pub mod proof;
pub mod state;
pub mod text;
pub mod tiles;
pub mod witness;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{
    Endorsement, Entry, LetterRegistration, Moderation, ModerationAction, ModerationReason,
    ModeratorAppointment, Statement, Withdrawal,
};
pub use error::{Error, ErrorClass};
pub use hash::Hash;
pub use keys::{DecodedKey, KeyId, KeyName, SigningKey, VerifierKey};
pub use letter::{Letter, LetterId};
pub use merkle::{CompactRange, Subtree};
pub use note::Note;
pub use proof::TlogProof;
pub use text::Timestamp;
pub use tiles::TileId;

/// The largest signed note the log accepts as an entry, in bytes.
pub const MAX_ENTRY_SIZE: usize = 4096;
