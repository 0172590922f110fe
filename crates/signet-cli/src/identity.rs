//! Identity claims on the command line: `signet identity` (what to publish) and the live
//! checks of `signet verify --online` (docs/protocol.md, *Identity claims*).

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use serde::Serialize;
use signet_core::entry::IdentityClaim;
use signet_identity::{Checker, IdentityArgs, Outcome};

use crate::cli::IdentityCommandArgs;
use crate::{io, ssh};

/// `signet identity --key K --claim C`: exactly what to publish so that C verifies.
pub fn identity(args: &IdentityCommandArgs) -> Result<ExitCode> {
    let claim = IdentityClaim::parse(&args.claim).map_err(|e| anyhow!("--claim: {e}"))?;
    let vkey = ssh::public_key(&args.key)?;
    let token = signet_identity::token::token(vkey.public_key());
    let c = claim.as_str();
    let text = if let Some(domain) = c.strip_prefix("dns:") {
        format!(
            "Add this TXT record (one string, or several that join to it) to the DNS of {domain}:\n\n\
             _signet.{domain}. IN TXT \"{token}\"\n"
        )
    } else if let Some(login) = c.strip_prefix("github:") {
        format!(
            "Add this SSH key to the GitHub account {login} (Settings, SSH and GPG keys), so that \
             https://github.com/{login}.keys lists it:\n\n{}\n",
            signet_identity::keys::ssh_line(vkey.public_key(), vkey.name().as_str())
        )
    } else {
        format!(
            "Publish this line on the page {c} (served over HTTPS with status 200, at most 64 KiB, \
             the token set apart by spaces or punctuation):\n\n{token}\n"
        )
    };
    io::stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// One claim checked live, as `--json` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimReport {
    pub claim: String,
    pub held: bool,
    pub checked: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A checker for these flags (an unreadable `--identity-ca` is a usage error).
pub fn checker_config(args: &IdentityArgs) -> Result<signet_identity::Config> {
    Ok(args.config()?)
}

/// Checks every claim for `key` at once, live.
pub fn check_all(
    config: signet_identity::Config,
    claims: &[IdentityClaim],
    key: &[u8; 32],
) -> Result<Vec<ClaimReport>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the network runtime: {e}"))?;
    runtime.block_on(async {
        let checker = Checker::new(config)?;
        let mut set = tokio::task::JoinSet::new();
        let checker = std::sync::Arc::new(checker);
        for (i, claim) in claims.iter().enumerate() {
            let (checker, claim, key) = (checker.clone(), claim.clone(), *key);
            set.spawn(async move { (i, checker.check(&claim, &key).await) });
        }
        let mut out: Vec<Option<ClaimReport>> = vec![None; claims.len()];
        while let Some(done) = set.join_next().await {
            let (i, check) = done.map_err(|e| anyhow!("a claim check stopped: {e}"))?;
            let (held, evidence, reason) = match check.outcome {
                Outcome::Held(e) => (true, Some(e.to_string()), None),
                Outcome::Failed(r) => (false, None, Some(r)),
            };
            out[i] = Some(ClaimReport {
                claim: check.claim.to_string(),
                held,
                checked: check.checked.to_string(),
                evidence,
                reason,
            });
        }
        Ok(out.into_iter().flatten().collect())
    })
}
