//! `signet audit --identities`: the identity claims of every signer shown now, checked
//! live from this machine with the same checker and flags as `signet verify --online`,
//! and compared with the server's `verified` (docs/protocol.md, *Verifying identity
//! claims*). The listing and the comparison are `signet_client::identities`.

use std::io::IsTerminal;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use signet_client::identities::{self, DifferenceKind, VerifiedClaim};
use signet_client::{Client, SavedState};
use signet_core::entry::IdentityClaim;

use crate::cli::AuditArgs;
use crate::identity::{ClaimReport, claim_line};
use crate::{note, show};

/// Claims checked at once: enough to overlap slow sites (each check takes at most 5 s),
/// few enough that no site sees a flood from one auditor.
const CONCURRENCY: usize = 16;

/// The checker's configuration when `--identities` is given. The identity flags without
/// it are a usage error, since nothing would be checked.
pub fn setup(args: &AuditArgs) -> Result<Option<signet_identity::Config>> {
    if args.identities {
        return crate::identity::checker_config(&args.identity).map(Some);
    }
    let given = [
        ("--identity-ca", args.identity.identity_ca.is_some()),
        ("--identity-dns", args.identity.identity_dns.is_some()),
        (
            "--identity-allow-private",
            args.identity.identity_allow_private,
        ),
    ];
    if let Some((flag, _)) = given.iter().find(|(_, given)| *given) {
        bail!(
            "{flag} needs --identities: the identity flags say how claims are checked, and only --identities checks them"
        );
    }
    Ok(None)
}

/// What `--identities` found, as `--json` reports it under `identities`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Shown signers whose claims were checked.
    signers: u64,
    /// Claims checked live.
    claims: u64,
    /// Every claim on which the server and the live check disagree.
    differences: Vec<Difference>,
    /// Rows of the server's list the audited log does not confirm, not checked.
    unchecked: Vec<Unchecked>,
    /// Signers the audited log shows that the server did not list.
    not_listed: u64,
}

#[derive(Debug, Serialize)]
struct Difference {
    kind: &'static str,
    letter: String,
    slug: String,
    index: u64,
    key: String,
    name: String,
    claim: String,
    /// The server's `verified` item for the claim, if it lists one.
    server: Option<VerifiedClaim>,
    /// The live check, if the endorsement makes the claim.
    live: Option<ClaimReport>,
    fingerprint: String,
}

#[derive(Debug, Serialize)]
struct Unchecked {
    letter: String,
    index: u64,
    key: String,
    reason: String,
}

impl Report {
    /// True when the server and the live checks agree on every claim.
    pub fn agree(&self) -> bool {
        self.differences.is_empty()
    }

    /// The human report: a summary line and one line per difference.
    pub fn human(&self) -> String {
        let mut out = format!(
            "identities: {} claims of {} shown signers checked live: {}\n",
            self.claims,
            self.signers,
            if self.agree() {
                String::from("all agree with the server's verified")
            } else {
                format!(
                    "{} differ from the server's verified",
                    self.differences.len()
                )
            }
        );
        for d in &self.differences {
            let server = |v: &VerifiedClaim| {
                format!(
                    "the server lists {} as verified (checked {}, evidence {})",
                    v.claim, v.checked, v.evidence
                )
            };
            let detail = match (d.server.as_ref(), d.live.as_ref()) {
                (Some(v), Some(live)) => format!("{}; live: {}", server(v), claim_line(live)),
                (None, Some(live)) => format!(
                    "the server does not list {} as verified; live: {}",
                    d.claim,
                    claim_line(live)
                ),
                (Some(v), None) => {
                    format!("{}, but entry {} makes no such claim", server(v), d.index)
                }
                (None, None) => d.claim.clone(),
            };
            // Names, claims, reasons and the server's words all came from elsewhere.
            out.push_str(&show::escape(&format!(
                "DIFFERENCE ({}) letter {}, entry {}, {} ({}): {detail}",
                d.kind, d.slug, d.index, d.name, d.fingerprint
            )));
            out.push('\n');
        }
        out
    }
}

/// Lists the shown signers of the audited log `state` from the server, checks their
/// claims live and compares. `bar` shows a progress bar on stderr.
pub fn run(
    client: &Client,
    state: &SavedState,
    config: signet_identity::Config,
    bar: bool,
) -> Result<Report> {
    let listing = identities::shown_signers(client, state)?;
    for u in &listing.unchecked {
        note!(
            "not checked: letter {} entry {} ({}): {}",
            u.letter,
            u.index,
            u.key,
            u.reason
        );
    }
    if listing.not_listed > 0 {
        note!(
            "{} signers the audited log shows are not in the server's list (they may have \
             withdrawn or been hidden since the audit); their claims were not checked",
            listing.not_listed
        );
    }
    let jobs: Vec<(&[IdentityClaim], [u8; 32])> = listing
        .signers
        .iter()
        .map(|s| {
            (
                s.endorsement.identity.as_slice(),
                *s.endorsement.key.public_key(),
            )
        })
        .collect();
    let bar = (bar && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("signet: {bar:40} {pos}/{len} claims checked live")
        {
            bar.set_style(style);
        }
        bar
    });
    let mut progress = |done: u64, total: u64| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let live = crate::identity::check_many(config, &jobs, CONCURRENCY, &mut progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let live = live?;

    let mut differences = Vec::new();
    for (signer, reports) in listing.signers.iter().zip(&live) {
        let results: Vec<(IdentityClaim, bool)> = signer
            .endorsement
            .identity
            .iter()
            .map(|c| {
                let held = reports.iter().any(|r| r.claim == c.as_str() && r.held);
                (c.clone(), held)
            })
            .collect();
        for d in identities::differences(signer, &results) {
            differences.push(Difference {
                kind: d.kind.as_str(),
                letter: signer.letter.to_string(),
                slug: signer.slug.clone(),
                index: signer.index,
                key: signer.endorsement.key.to_string(),
                name: signer.endorsement.name.clone(),
                live: match d.kind {
                    DifferenceKind::NotClaimed => None,
                    _ => reports.iter().find(|r| r.claim == d.claim).cloned(),
                },
                claim: d.claim,
                server: d.server,
                fingerprint: signer.endorsement.key.fingerprint(),
            });
        }
    }
    Ok(Report {
        signers: listing.signers.len() as u64,
        claims: live.iter().map(|r| r.len() as u64).sum(),
        differences,
        unchecked: listing
            .unchecked
            .into_iter()
            .map(|u| Unchecked {
                letter: u.letter.to_string(),
                index: u.index,
                key: u.key,
                reason: u.reason,
            })
            .collect(),
        not_listed: listing.not_listed,
    })
}
