#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod audit;
mod error;
mod http;
pub mod identities;
mod keycache;
mod pipeline;
pub mod remote;
pub mod saved;

pub use audit::{
    AuditOptions, AuditReport, HideReport, Misbehaviour, MisbehaviourKind, audit, audit_observed,
};
pub use error::Error;
pub use http::{Client, Submitted, Timeouts};
pub use saved::SavedState;
