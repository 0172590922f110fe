//! The one error type of the claim checker's set-up. A claim that does not hold is not
//! an error: it is an [`crate::Outcome::Failed`] with its reason.

use std::path::PathBuf;

/// What can go wrong setting up the checker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `--identity-ca` file cannot be read.
    #[error("cannot read the identity CA file {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `--identity-ca` file holds no usable PEM certificate.
    #[error(
        "{path} holds no PEM certificate ({reason}); give a file of -----BEGIN CERTIFICATE----- blocks"
    )]
    CaPem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        reason: String,
    },
    /// The TLS client cannot be built.
    #[error("the TLS client cannot be set up: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },
    /// The resolver cannot be built.
    #[error("the DNS resolver cannot be set up: {reason}")]
    Resolver {
        /// Why.
        reason: String,
    },
}
