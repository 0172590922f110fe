//! Witness cosignatures on the log's checkpoints (docs/protocol.md, *Witnesses*): the
//! narrow interface the sequencer calls after each durable checkpoint. What speaks to
//! witnesses (HTTP, a policy, timeouts, metrics) lives behind it, in the server.
//!
//! The contract:
//! - [`Cosigners::cosign`] is called once per batch, on the writer thread, with a
//!   checkpoint that is already durable, so a witness never sees a checkpoint the log
//!   could lose.
//! - It returns within its own deadline, with whatever valid cosignatures arrived
//!   (possibly none: the log publishes anyway, and the implementation says so).
//! - The sequencer then stores the cosigned checkpoint durably before serving it.

use std::fmt;
use std::sync::Arc;

use signet_core::note::NoteSignature;
use signet_core::policy::Policy;
use signet_core::{Hash, SignedCheckpoint, VerifierKey};

use crate::Error;

/// Consistency proofs from any older size to the checkpoint being cosigned, read from
/// the stored tree. It may be called after `cosign` returned (by a late request).
pub type ConsistencyProofs = Arc<dyn Fn(u64) -> Result<Vec<Hash>, Error> + Send + Sync>;

/// The witnesses a log asks to cosign its checkpoints.
pub trait Cosigners: Send + Sync + fmt::Debug {
    /// Asks every witness to cosign `checkpoint` (signed by the log and durable), with
    /// proofs from `proofs`; returns the valid cosignature lines that arrived before
    /// the quorum was met or the deadline passed.
    fn cosign(
        &self,
        checkpoint: &SignedCheckpoint,
        proofs: ConsistencyProofs,
    ) -> Vec<NoteSignature>;

    /// The witnesses, by their names in the policy, with their cosigner keys.
    fn witnesses(&self) -> Vec<(String, VerifierKey)>;

    /// The witness policy whose quorum the published checkpoints aim for, so that
    /// readers can check it (the reader's pages do); `None` when there is none to show.
    fn policy(&self) -> Option<&Policy> {
        None
    }

    /// Metrics in the Prometheus text format, appended to the log's.
    fn render_metrics(&self, out: &mut String);
}
