//! Storage backends for tests: an in-memory backend ([`MemStorage`]), the one
//! fault-injecting wrapper ([`Faulty`]), and the contract suite every backend must pass
//! ([`storage_contract!`](crate::storage_contract)).

mod contract;
mod faulty;
mod mem;

pub use contract::{Backend, FsBackend, MemBackend};
pub use faulty::Faulty;
pub use mem::{MemStorage, MemStore};

#[doc(hidden)]
pub mod __contract {
    pub use super::contract::clauses::*;
}
