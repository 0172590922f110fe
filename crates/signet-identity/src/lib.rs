#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod address;
mod args;
mod check;
mod error;
pub mod keys;
pub mod token;

pub use args::{IdentityArgs, dns_server};
pub use check::{Check, Checker, Config, Evidence, Limits, Outcome};
pub use error::Error;
