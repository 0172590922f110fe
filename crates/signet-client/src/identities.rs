//! What `signet audit --identities` compares: the identity claims a server calls verified,
//! and the claims that hold when checked live (docs/protocol.md, *Verifying identity
//! claims*).
//!
//! [`shown_signers`] pages through `/v1/signatories` for every letter of an audited log
//! and keeps the rows the audited state confirms: a signer shown now (its latest entry an
//! endorsement, not hidden) whose shown endorsement is the row's `index`. The claims to
//! check are read from that endorsement in the log's own entry bundles, and its leaf hash
//! must be one the audit verified at that index, so nothing the server says about a
//! signer's claims is taken on trust; only its `verified` is taken as the server's word,
//! since that is what is compared. [`differences`] compares that word with the live
//! results; running the live checks is the caller's part (the command line runs the one
//! claim checker, `signet-identity`).

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use signet_core::entry::{Endorsement, IdentityClaim};
use signet_core::state::{Known as _, LogState, SignerStatus};
use signet_core::tiles::TILE_WIDTH;
use signet_core::{Entry, LetterId, Statement, VerifierKey};

use crate::audit::{Misbehaviour, MisbehaviourKind};
use crate::saved::SavedState;
use crate::{Client, Error};

/// Rows asked for per page: the most `/v1/signatories` gives at once.
const PAGE_LIMIT: u32 = 500;

/// Rows of one letter a server may list beyond twice the audited log's size (what it
/// logged since the audit); a server that lists more is not answering honestly, and
/// the limit keeps the paging bounded.
const ROW_SLACK: u64 = 1000;

/// One claim a server lists as verified: `{"claim", "checked", "evidence"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedClaim {
    /// The claim, as the server spells it.
    pub claim: String,
    /// When the server last checked it.
    pub checked: String,
    /// The server's evidence, `sha256:<hex>`.
    pub evidence: String,
}

/// One page of `/v1/signatories`; the fields not compared are ignored.
#[derive(Deserialize)]
struct Page {
    items: Vec<Row>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct Row {
    index: u64,
    key: String,
    verified: Vec<VerifiedClaim>,
}

/// A signer shown now, as the audited log has it, with the claims the server calls
/// verified.
#[derive(Debug, Clone)]
pub struct ShownSigner {
    /// The letter.
    pub letter: LetterId,
    /// The letter's slug.
    pub slug: String,
    /// The index of the shown endorsement.
    pub index: u64,
    /// The shown endorsement, read from the log and verified by the audit.
    pub endorsement: Endorsement,
    /// What the server's `verified` lists for this signer.
    pub verified: Vec<VerifiedClaim>,
}

/// A row of the server's list that was not checked, and why.
#[derive(Debug, Clone)]
pub struct Unchecked {
    /// The letter.
    pub letter: LetterId,
    /// The row's `index`.
    pub index: u64,
    /// The row's `key`.
    pub key: String,
    /// Why it was not checked.
    pub reason: String,
}

/// The shown signers of every letter of an audited log.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The signers to check, by letter (in registration order), then by index.
    pub signers: Vec<ShownSigner>,
    /// Rows the audited log does not confirm (newer than the audit, or not shown in it).
    pub unchecked: Vec<Unchecked>,
    /// Signers the audited log shows that the server did not list (some may have
    /// withdrawn or been hidden since the audit).
    pub not_listed: u64,
}

/// Lists the shown signers of every letter of the audited log `saved`, from the server's
/// `/v1/signatories`, and reads each one's shown endorsement from the log's entry bundles.
///
/// An answer that is not the API's JSON, too large, or a cursor that does not move on is
/// an error; an endorsement served now that is not the one the audit verified is
/// [`Error::Misbehaviour`].
pub fn shown_signers(client: &Client, saved: &SavedState) -> Result<Listing, Error> {
    let size = saved.tree().size;
    let state = &saved.state;
    let mut letters: Vec<_> = state.letters().iter().collect();
    letters.sort_by_key(|(_, registered)| registered.index);
    let mut listing = Listing::default();
    let mut confirmed = Vec::new();
    for (letter, registered) in letters {
        let mut listed = 0;
        for row in signatory_rows(client, letter, size)? {
            let key = VerifierKey::parse(&row.key).map_err(|e| Error::BadContent {
                url: format!("{}/v1/signatories?letter={letter}", client.base_url()),
                reason: format!(
                    "the key {:?} of entry {} is not a verifier key: {e}",
                    row.key, row.index
                ),
            })?;
            match confirm(state, letter, key.public_key(), row.index, size) {
                Ok(()) => {
                    listed += 1;
                    confirmed.push((*letter, registered.slug.to_string(), row));
                }
                Err(reason) => listing.unchecked.push(Unchecked {
                    letter: *letter,
                    index: row.index,
                    key: row.key,
                    reason,
                }),
            }
        }
        listing.not_listed += state.tally(letter).shown.saturating_sub(listed);
    }

    // One download per entry bundle, however many shown endorsements it holds.
    let mut by_bundle: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, (_, _, row)) in confirmed.iter().enumerate() {
        by_bundle.entry(row.index / TILE_WIDTH).or_default().push(i);
    }
    let mut endorsements: Vec<Option<Endorsement>> = vec![None; confirmed.len()];
    for (k, positions) in by_bundle {
        let (entries, _) = crate::remote::read_bundle(client, k, size)?;
        for i in positions {
            let index = confirmed[i].2.index;
            let bytes = entries
                .get((index % TILE_WIDTH) as usize)
                .map_or(&[][..], Vec::as_slice);
            endorsements[i] = Some(audited_endorsement(state, index, bytes)?);
        }
    }
    listing.signers = confirmed
        .into_iter()
        .zip(endorsements)
        .filter_map(|((letter, slug, row), endorsement)| {
            Some(ShownSigner {
                letter,
                slug,
                index: row.index,
                endorsement: endorsement?,
                verified: row.verified,
            })
        })
        .collect();
    Ok(listing)
}

/// Every row `/v1/signatories` lists for `letter` (its default: the shown signers),
/// page by page. Each page must be new: a repeated cursor, an empty page that points
/// on, a signer listed twice or more rows than the log could hold are errors.
fn signatory_rows(client: &Client, letter: &LetterId, size: u64) -> Result<Vec<Row>, Error> {
    let base = format!("v1/signatories?letter={letter}&limit={PAGE_LIMIT}");
    let bad = |reason: String| Error::BadContent {
        url: format!("{}/{base}", client.base_url()),
        reason,
    };
    let max_rows = size.saturating_mul(2).saturating_add(ROW_SLACK);
    let mut rows = Vec::new();
    let mut keys = HashSet::new();
    let mut cursors = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(cursor) => format!("{base}&after={cursor}"),
            None => base.clone(),
        };
        let page: Page = client.get_json(&path, "a page of signatories")?;
        if page.items.is_empty() && page.next.is_some() {
            return Err(bad(String::from(
                "an empty page with a next cursor; the list does not move on",
            )));
        }
        for row in page.items {
            if !keys.insert(row.key.clone()) {
                return Err(bad(format!(
                    "it lists the signer {:?} twice; the list does not move on",
                    row.key
                )));
            }
            rows.push(row);
        }
        if rows.len() as u64 > max_rows {
            return Err(bad(format!(
                "it lists more than {max_rows} signers, more than a log of {size} entries can have"
            )));
        }
        match page.next {
            None => return Ok(rows),
            Some(cursor) => {
                let url_safe = !cursor.is_empty()
                    && cursor.len() <= 100
                    && cursor
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                if !url_safe {
                    return Err(bad(format!(
                        "the cursor {cursor:?} is not an opaque cursor of 1 to 100 URL-safe characters"
                    )));
                }
                if !cursors.insert(cursor.clone()) {
                    return Err(bad(format!(
                        "the cursor {cursor:?} came back; the list does not move on"
                    )));
                }
                after = Some(cursor);
            }
        }
    }
}

/// Whether the audited state shows `key` for `letter` with the endorsement at `index`.
fn confirm(
    state: &LogState,
    letter: &LetterId,
    key: &[u8; 32],
    index: u64,
    size: u64,
) -> Result<(), String> {
    if index >= size {
        return Err(format!(
            "entry {index} is newer than the audited tree of size {size}; audit again to check it"
        ));
    }
    let hidden = state.moderation(letter, key).is_some_and(|m| m.hidden);
    match state.signer(letter, key) {
        None => Err(String::from(
            "the audited log has no endorsement of this letter by this key",
        )),
        Some(_) if hidden => Err(String::from("the audited log hides this signer")),
        Some(r) if r.status == SignerStatus::Withdrawn => Err(format!(
            "the audited log has this signer withdrawn at entry {}",
            r.latest_index
        )),
        Some(r) if r.endorsement_index != index => Err(format!(
            "the audited log shows this signer's endorsement at entry {}, not {index}",
            r.endorsement_index
        )),
        Some(_) => Ok(()),
    }
}

/// The endorsement at `index` as served now, which must be the entry the audit
/// verified there.
fn audited_endorsement(state: &LogState, index: u64, bytes: &[u8]) -> Result<Endorsement, Error> {
    let changed = |message: String| {
        Error::Misbehaviour(Box::new(Misbehaviour {
            kind: MisbehaviourKind::BadBundle,
            message,
            index: Some(index),
            entry: Some(bytes.to_vec()),
            saved_checkpoint: None,
            served_checkpoint: None,
        }))
    };
    let entry = Entry::parse(bytes).map_err(|e| {
        changed(format!(
            "entry {index} as served now is not a valid entry ({e}), yet the audit verified it"
        ))
    })?;
    let audited = match state.logged(&entry.leaf_hash()) {
        Ok(found) => found,
        Err(never) => match never {},
    };
    if audited != Some(index) {
        return Err(changed(format!(
            "entry {index} as served now is not the entry the audit verified there"
        )));
    }
    match entry.statement() {
        Statement::Endorsement(e) => Ok(e.clone()),
        _ => Err(changed(format!(
            "entry {index} is not an endorsement, yet the audited log shows it as one"
        ))),
    }
}

/// How the server's `verified` and a live check disagree about one claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DifferenceKind {
    /// The server lists the claim as verified, but it does not hold live.
    FailsLive,
    /// The claim holds live, but the server does not list it as verified.
    NotListed,
    /// The server lists as verified a claim the shown endorsement does not make.
    NotClaimed,
}

impl DifferenceKind {
    /// A stable identifier, as in `signet audit --identities --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::FailsLive => "fails-live",
            DifferenceKind::NotListed => "not-listed",
            DifferenceKind::NotClaimed => "not-claimed",
        }
    }
}

/// One claim on which the server and the live check disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// How they disagree.
    pub kind: DifferenceKind,
    /// The claim.
    pub claim: String,
    /// What the server's `verified` says of it, if it lists it.
    pub server: Option<VerifiedClaim>,
}

/// Where the server's `verified` for `signer` and the live results differ. `live` says,
/// for each claim of the shown endorsement, whether it held live; a claim it leaves out
/// counts as not holding.
pub fn differences(signer: &ShownSigner, live: &[(IdentityClaim, bool)]) -> Vec<Difference> {
    let claims = &signer.endorsement.identity;
    let mut out = Vec::new();
    for claim in claims {
        let held = live.iter().any(|(c, held)| c == claim && *held);
        let server = signer
            .verified
            .iter()
            .find(|v| v.claim == claim.as_str())
            .cloned();
        let kind = match (&server, held) {
            (Some(_), false) => DifferenceKind::FailsLive,
            (None, true) => DifferenceKind::NotListed,
            _ => continue,
        };
        out.push(Difference {
            kind,
            claim: claim.to_string(),
            server,
        });
    }
    for v in &signer.verified {
        if !claims.iter().any(|c| c.as_str() == v.claim) {
            out.push(Difference {
                kind: DifferenceKind::NotClaimed,
                claim: v.claim.clone(),
                server: Some(v.clone()),
            });
        }
    }
    out
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use signet_testkit::entries;

    fn verified(claim: &str) -> VerifiedClaim {
        VerifiedClaim {
            claim: claim.to_owned(),
            checked: "2026-01-01T00:00:00Z".to_owned(),
            evidence: format!("sha256:{}", "0".repeat(64)),
        }
    }

    /// `claims` of the endorsement with whether each held live, the claims the server
    /// lists, and the (kind, claim) pairs expected.
    fn check(claims: &[(&str, bool)], server: &[&str], want: &[(DifferenceKind, &str)]) {
        let key = entries::key("diff", "identities differences");
        let letter = entries::letter(0).id();
        let mut e = entries::unsigned_endorsement(&key, letter, "Claimant", entries::time(0));
        e.identity = claims
            .iter()
            .map(|(c, _)| IdentityClaim::parse(c).unwrap())
            .collect();
        let signer = ShownSigner {
            letter,
            slug: "letter".into(),
            index: 1,
            endorsement: e,
            verified: server.iter().map(|c| verified(c)).collect(),
        };
        let live: Vec<(IdentityClaim, bool)> = claims
            .iter()
            .map(|(c, held)| (IdentityClaim::parse(c).unwrap(), *held))
            .collect();
        let got: Vec<(DifferenceKind, String)> = differences(&signer, &live)
            .into_iter()
            .map(|d| {
                assert_eq!(d.server.is_some(), d.kind != DifferenceKind::NotListed);
                (d.kind, d.claim)
            })
            .collect();
        let want: Vec<(DifferenceKind, String)> =
            want.iter().map(|(k, c)| (*k, (*c).to_owned())).collect();
        assert_eq!(got, want, "claims {claims:?}, server {server:?}");
    }

    #[test]
    fn differences_between_the_server_and_the_live_check() {
        use DifferenceKind::*;
        // Agreement both ways: held and listed, failed and not listed.
        check(
            &[("dns:a.test", true), ("dns:b.test", false)],
            &["dns:a.test"],
            &[],
        );
        check(&[], &[], &[]);
        // Listed as verified, fails live.
        check(
            &[("dns:a.test", false)],
            &["dns:a.test"],
            &[(FailsLive, "dns:a.test")],
        );
        // Holds live, not listed (the server checks nothing, say).
        check(
            &[("dns:a.test", true), ("github:bob", true)],
            &[],
            &[(NotListed, "dns:a.test"), (NotListed, "github:bob")],
        );
        // Listed, but the endorsement makes no such claim.
        check(
            &[("dns:a.test", true)],
            &["dns:a.test", "dns:other.test"],
            &[(NotClaimed, "dns:other.test")],
        );
        assert_eq!(FailsLive.as_str(), "fails-live");
        assert_eq!(NotListed.as_str(), "not-listed");
        assert_eq!(NotClaimed.as_str(), "not-claimed");
    }

    #[test]
    fn a_claim_left_out_of_the_live_results_does_not_hold() {
        let key = entries::key("left", "identities left out");
        let letter = entries::letter(0).id();
        let mut e = entries::unsigned_endorsement(&key, letter, "Claimant", entries::time(0));
        e.identity = vec![IdentityClaim::parse("dns:a.test").unwrap()];
        let signer = ShownSigner {
            letter,
            slug: "letter".into(),
            index: 1,
            endorsement: e,
            verified: vec![verified("dns:a.test")],
        };
        let got = differences(&signer, &[]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, DifferenceKind::FailsLive);
    }
}
