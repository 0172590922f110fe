#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod cli;
mod error;
mod http;
mod witness;

pub use error::Error;
pub use http::app;
pub use witness::{Answer, KEY_FILE, VKEY_FILE, Witness, origin_hash};
