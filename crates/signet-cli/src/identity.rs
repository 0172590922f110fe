//! Identity claims on the command line: `signet identity` (what to publish) and the live
//! checks of `signet verify --online` (docs/protocol.md, *Identity claims*).

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use serde::Serialize;
use signet_core::entry::IdentityClaim;
use signet_identity::{Check, Checker, IdentityArgs, Outcome};

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
    let mut all = check_many(config, &[(claims, *key)], claims.len(), &mut |_, _| {})?;
    Ok(all.pop().unwrap_or_default())
}

/// Checks every claim of every `(claims, key)` job live, at most `concurrency` at once
/// (at least one), calling `progress(done, total)` on the calling thread as claims
/// finish. The reports come back in the order of the jobs and their claims.
pub fn check_many(
    config: signet_identity::Config,
    jobs: &[(&[IdentityClaim], [u8; 32])],
    concurrency: usize,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Vec<Vec<ClaimReport>>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the network runtime: {e}"))?;
    runtime.block_on(async {
        let checker = std::sync::Arc::new(Checker::new(config)?);
        let mut pending = jobs.iter().enumerate().flat_map(|(j, (claims, key))| {
            claims
                .iter()
                .enumerate()
                .map(move |(c, claim)| (j, c, claim.clone(), *key))
        });
        let total: u64 = jobs.iter().map(|(claims, _)| claims.len() as u64).sum();
        let mut out: Vec<Vec<Option<ClaimReport>>> = jobs
            .iter()
            .map(|(claims, _)| vec![None; claims.len()])
            .collect();
        let mut set = tokio::task::JoinSet::new();
        let mut done = 0;
        progress(done, total);
        loop {
            while set.len() < concurrency.max(1) {
                let Some((j, c, claim, key)) = pending.next() else {
                    break;
                };
                let checker = checker.clone();
                set.spawn(async move { (j, c, checker.check(&claim, &key).await) });
            }
            let Some(finished) = set.join_next().await else {
                break;
            };
            let (j, c, check) = finished.map_err(|e| anyhow!("a claim check stopped: {e}"))?;
            out[j][c] = Some(report_of(check));
            done += 1;
            progress(done, total);
        }
        Ok(out
            .into_iter()
            .map(|claims| claims.into_iter().flatten().collect())
            .collect())
    })
}

/// One live check, as reported.
fn report_of(check: Check) -> ClaimReport {
    let (held, evidence, reason) = match check.outcome {
        Outcome::Held(e) => (true, Some(e.to_string()), None),
        Outcome::Failed(r) => (false, None, Some(r)),
    };
    ClaimReport {
        claim: check.claim.to_string(),
        held,
        checked: check.checked.to_string(),
        evidence,
        reason,
    }
}

/// How a claim fared live, in one line for people (not yet escaped).
pub fn claim_line(c: &ClaimReport) -> String {
    if c.held {
        format!(
            "{} VERIFIED at {} (evidence {})",
            c.claim,
            c.checked,
            c.evidence.as_deref().unwrap_or("")
        )
    } else {
        format!(
            "{} NOT VERIFIED: {}",
            c.claim,
            c.reason.as_deref().unwrap_or("")
        )
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::time::{Duration, Instant};

    use signet_testkit::identity::{Fixtures, Page, token_for};

    use super::*;

    #[test]
    fn check_many_keeps_to_its_concurrency_and_reports_progress() {
        let fx = Fixtures::start();
        let key = [7u8; 32];
        let site = fx.site("slowish.test");
        let stall = Duration::from_millis(300);
        let claims: Vec<IdentityClaim> = (0..8)
            .map(|i| {
                let path = format!("/{i}");
                site.set(
                    &path,
                    Page::Slow(format!("{}\n", token_for(&key)).into_bytes(), stall),
                );
                IdentityClaim::parse(&site.url(&path)).unwrap()
            })
            .collect();
        let config = IdentityArgs {
            identity_ca: Some(fx.ca_pem().to_owned()),
            identity_dns: Some(fx.dns()),
            identity_allow_private: true,
        }
        .config()
        .unwrap();
        let mut seen = Vec::new();
        let started = Instant::now();
        let out = check_many(config, &[(&claims, key)], 2, &mut |done, total| {
            seen.push((done, total))
        })
        .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(out.len(), 1);
        let got: Vec<&str> = out[0].iter().map(|r| r.claim.as_str()).collect();
        let want: Vec<&str> = claims.iter().map(IdentityClaim::as_str).collect();
        assert_eq!(got, want, "reports come back in the claims' order");
        assert!(out[0].iter().all(|r| r.held), "{:?}", out[0]);
        // Two at a time: four rounds of a stalled page at least.
        assert!(elapsed >= stall * 4, "{elapsed:?}");
        let want: Vec<(u64, u64)> = (0..=8).map(|d| (d, 8)).collect();
        assert_eq!(seen, want);
    }
}
