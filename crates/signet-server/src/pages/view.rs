//! What the pages show, read from the log with the same catalog queries as the JSON API.
//! The templates render only these types, so every page can be built (and tested) from
//! a view model alone.
//!
//! Verified identity claims come from the catalog's claim results (empty when the
//! server checks no claims), hides and moderators from the moderation entries, and
//! witnesses from the server's witness policy.

use signet_core::policy::{QuorumGroup, QuorumNode};
use signet_core::state::SignerStatus;
use signet_core::{Entry, Statement};
use signet_log::{
    HiddenBy, LetterInfo, Log, ModeratorInfo, Signatory, SignatoryQuery, StatusFilter,
};

/// The most hides a page reads (20 pages of the listing's largest size).
const MAX_HIDES: usize = 10_000;

/// The claims among `claims` that held at their last check of `key`'s claims.
fn verified_claims(
    log: &Log,
    key: &str,
    claims: &[String],
) -> Result<Vec<ClaimView>, signet_log::Error> {
    let Ok(key) = signet_core::VerifierKey::parse(key) else {
        return Ok(Vec::new());
    };
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let results = log.claim_results(key.public_key())?;
    Ok(claims
        .iter()
        .filter_map(|c| results.iter().find(|r| &r.claim == c && r.held))
        .map(|r| ClaimView {
            claim: r.claim.clone(),
            checked: r.checked.to_string(),
            evidence: r.evidence.clone().unwrap_or_default(),
        })
        .collect())
}

/// Every signer of `letter` hidden now, in list order (at most [`MAX_HIDES`]).
fn hidden_signers(
    log: &Log,
    letter: signet_core::LetterId,
) -> Result<Vec<Signatory>, signet_log::Error> {
    let mut out = Vec::new();
    let mut after = None;
    while out.len() < MAX_HIDES {
        let page = log.signatories(&SignatoryQuery {
            letter,
            q: None,
            status: StatusFilter::Hidden,
            after,
            limit: 500,
        })?;
        out.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(out)
}

/// The hide in effect on a listed signer, with the moderation's own `entry` line.
fn hide_view(
    log: &Log,
    s: &Signatory,
    moderators: &[ModeratorInfo],
) -> Result<Option<HideView>, signet_log::Error> {
    match &s.hidden {
        Some(h) => Ok(Some(hide_from(log, h, &s.name, s.index, moderators)?)),
        None => Ok(None),
    }
}

/// A hide as the pages show it: `name` is the hidden signer's, and `shown` the index of
/// its shown endorsement, the target when the moderation entry cannot be read as one;
/// the moderator's name comes from `moderators`, the log's appointments.
fn hide_from(
    log: &Log,
    h: &HiddenBy,
    name: &str,
    shown: u64,
    moderators: &[ModeratorInfo],
) -> Result<HideView, signet_log::Error> {
    let target = Entry::parse(&log.entry(h.index)?)
        .ok()
        .and_then(|e| match e.statement() {
            Statement::Moderation(m) => Some(m.entry),
            _ => None,
        })
        .unwrap_or(shown);
    Ok(HideView {
        index: h.index,
        target,
        name: name.to_owned(),
        reason: h.reason.clone(),
        note: h.note.clone(),
        time: h.time.to_string(),
        moderator: h.moderator.clone(),
        moderator_name: moderators
            .iter()
            .find(|m| m.key == h.moderator)
            .map(|m| m.name.clone()),
    })
}

/// What every page's footer says about the log.
#[derive(Debug, Clone)]
pub(crate) struct LogView {
    pub origin: String,
    pub vkey: String,
    pub size: u64,
    /// The witnesses of the server's witness policy.
    pub witnesses: Vec<WitnessView>,
    /// The base URL of this server as the reader reached it (`http://host:port`).
    pub server: String,
}

/// A witness named by the witness policy.
#[derive(Debug, Clone)]
pub(crate) struct WitnessView {
    pub name: String,
    pub vkey: String,
}

/// An appointed moderator.
#[derive(Debug, Clone)]
pub(crate) struct ModeratorView {
    pub index: u64,
    pub name: String,
    pub key: String,
}

/// An identity claim that held at its last check.
#[derive(Debug, Clone)]
pub(crate) struct ClaimView {
    pub claim: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub checked: String,
    /// `sha256:<hex>` of the bytes that proved it.
    pub evidence: String,
}

impl ClaimView {
    /// The claim's kind (`https`, `dns`, `github`) and value, for its badge.
    pub(crate) fn kind_and_value(&self) -> (&str, &str) {
        split_claim(&self.claim)
    }
}

/// A claim's kind and value: `dns:example.org` is `("dns", "example.org")`, an
/// `https://` URL is `("https", <the URL without its scheme>)`.
pub(crate) fn split_claim(claim: &str) -> (&str, &str) {
    if let Some(rest) = claim.strip_prefix("https://") {
        ("https", rest)
    } else {
        claim.split_once(':').unwrap_or(("claim", claim))
    }
}

/// A hide in effect: the moderation entry that hides a signer.
#[derive(Debug, Clone)]
pub(crate) struct HideView {
    /// The moderation entry's index.
    pub index: u64,
    /// The hidden endorsement's index (the moderation's `entry` line).
    pub target: u64,
    /// The hidden signer's name, as its endorsement gives it.
    pub name: String,
    pub reason: String,
    pub note: Option<String>,
    pub time: String,
    /// The moderator's verifier key.
    pub moderator: String,
    /// The moderator's name, from its appointment.
    pub moderator_name: Option<String>,
}

/// A letter and its counts.
#[derive(Debug, Clone)]
pub(crate) struct LetterView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub language: String,
    pub source: Option<String>,
    /// The canonical text, when this server hosts the letter.
    pub text: Option<String>,
    pub index: u64,
    pub signers: u64,
    pub withdrawn: u64,
    pub hidden: u64,
}

impl LetterView {
    fn new(info: LetterInfo, text: Option<String>, source: Option<String>) -> LetterView {
        LetterView {
            id: info.id.to_string(),
            slug: info.slug,
            title: info.title,
            language: info.language,
            source,
            text,
            index: info.index,
            signers: info.signers,
            withdrawn: info.withdrawn,
            hidden: info.hidden,
        }
    }

    /// The text's paragraphs (separated by blank lines), each a list of lines.
    pub(crate) fn paragraphs(&self) -> Vec<Vec<&str>> {
        let Some(text) = &self.text else {
            return Vec::new();
        };
        text.split("\n\n")
            .map(|p| p.trim_matches('\n'))
            .filter(|p| !p.is_empty())
            .map(|p| p.split('\n').collect())
            .collect()
    }
}

/// One row of a letter's list of signers.
#[derive(Debug, Clone)]
pub(crate) struct SignerRow {
    /// The index of the signer's latest endorsement (its entry page).
    pub index: u64,
    pub name: String,
    pub affiliation: Option<String>,
    pub role: Option<String>,
    pub fingerprint: String,
    pub time: String,
    pub withdrawn: bool,
    /// The claims that held at their last check.
    pub verified: Vec<ClaimView>,
    /// The hide in effect, if a moderator hides this signer.
    pub hidden: Option<HideView>,
}

/// Which signers the letter page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    Active,
    Withdrawn,
}

/// The letter page.
#[derive(Debug, Clone)]
pub(crate) struct LetterPage {
    pub log: LogView,
    pub letter: LetterView,
    pub rows: Vec<SignerRow>,
    pub q: Option<String>,
    pub listing: Listing,
    /// Whether this is a later page (`after` was given).
    pub paged: bool,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

/// The page of a letter's hides.
#[derive(Debug, Clone)]
pub(crate) struct HiddenPage {
    pub log: LogView,
    pub letter: LetterView,
    /// Every hide in effect.
    pub hides: Vec<HideView>,
    /// The appointed moderators.
    pub moderators: Vec<ModeratorView>,
}

/// The page that lists the hosted letters.
#[derive(Debug, Clone)]
pub(crate) struct HomePage {
    pub log: LogView,
    pub letters: Vec<LetterView>,
}

/// Where an entry stands now.
#[derive(Debug, Clone)]
pub(crate) enum EntryStatus {
    /// Not an endorsement: nothing to show or withdraw.
    None,
    /// The endorsement in force, shown in the list.
    Shown,
    /// A later endorsement by the same signer is the one shown.
    Superseded { by: u64 },
    /// The signer withdrew it; `by` is the latest withdrawal.
    Withdrawn { by: u64 },
    /// A moderator hid the signer.
    Hidden(HideView),
}

/// One identity claim of an endorsement, with its verification if it held.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRow {
    pub claim: String,
    pub verified: Option<ClaimView>,
}

/// The entry page.
#[derive(Debug, Clone)]
pub(crate) struct EntryPage {
    pub log: LogView,
    pub index: u64,
    pub kind: &'static str,
    /// The entry's own fields, in its order: (field name, value).
    pub fields: Vec<(&'static str, String)>,
    pub letter: Option<LetterView>,
    pub status: EntryStatus,
    /// For a withdrawal or a superseded endorsement, the signer's entry shown now.
    pub signer_now: Option<u64>,
    pub claims: Vec<ClaimRow>,
    /// The entry's bytes, as text (entries are UTF-8).
    pub note: String,
    pub leaf_hash: String,
    /// The `.tlog-proof` lines before its checkpoint, ending in a newline.
    pub proof: String,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
    /// The witness policy's quorum, which the checkpoint's cosignatures must meet;
    /// `None` when no cosignature is required (no policy, or `quorum none`).
    pub quorum: Option<QuorumView>,
}

/// A witness policy's quorum, as the entry page gives it to its check: the witnesses,
/// the groups in the order of their lines, and what the `quorum` line names.
#[derive(Debug, Clone)]
pub(crate) struct QuorumView {
    pub witnesses: Vec<WitnessView>,
    pub groups: Vec<QuorumGroup>,
    pub quorum: QuorumNode,
}

impl QuorumView {
    /// The policy's quorum, or `None` when it needs no cosignature.
    pub(crate) fn of(policy: &signet_core::policy::Policy) -> Option<QuorumView> {
        Some(QuorumView {
            quorum: policy.quorum()?,
            groups: policy.groups(),
            witnesses: policy
                .witnesses()
                .into_iter()
                .map(|w| WitnessView {
                    name: w.name,
                    vkey: w.key.to_string(),
                })
                .collect(),
        })
    }

    /// A member or the quorum, as the page's script reads it: `w<position>` for a
    /// witness, `g<position>` for a group.
    pub(crate) fn node(node: QuorumNode) -> String {
        match node {
            QuorumNode::Witness(w) => format!("w{w}"),
            QuorumNode::Group(g) => format!("g{g}"),
        }
    }

    /// The groups, as the page's script reads them: `<threshold>:<member> <member>…`
    /// for each group, joined by `;`.
    pub(crate) fn groups_attr(&self) -> String {
        self.groups
            .iter()
            .map(|g| {
                let members: Vec<String> = g.members.iter().map(|m| Self::node(*m)).collect();
                format!("{}:{}", g.threshold, members.join(" "))
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The footer's facts.
pub(crate) fn log_view(log: &Log, server: String) -> LogView {
    LogView {
        origin: log.origin().to_owned(),
        vkey: log.verifier().to_string(),
        size: log.head().size,
        witnesses: log
            .witnesses()
            .into_iter()
            .map(|(name, key)| WitnessView {
                name,
                vkey: key.to_string(),
            })
            .collect(),
        server,
    }
}

/// Every hosted or registered letter.
pub(crate) fn home(log: &Log, server: String) -> Result<HomePage, signet_log::Error> {
    let letters = log
        .letters()?
        .into_iter()
        .map(|info| LetterView::new(info, None, None))
        .collect();
    Ok(HomePage {
        log: log_view(log, server),
        letters,
    })
}

/// A page of the letter's list: the signers with a verified claim first, then the
/// others, each group in the order of first endorsement (the API's matching and
/// statuses).
pub(crate) struct ListRequest {
    pub q: Option<String>,
    pub listing: Listing,
    /// Where the page starts; `None` at the top of the list.
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// A position in a letter's list, across its two groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cursor {
    /// Among the verified signers, after the one of this first endorsement.
    Verified(u64),
    /// Among the others: from their start (`None`) or after this first endorsement.
    Unverified(Option<u64>),
}

impl Cursor {
    /// `v<hex>`, `u`, or `c<hex>` (the API's own cursor, for the second group).
    pub(crate) fn encode(self) -> String {
        match self {
            Cursor::Verified(i) => format!("v{i:x}"),
            Cursor::Unverified(None) => "u".to_owned(),
            Cursor::Unverified(Some(i)) => crate::routes::encode_cursor(i),
        }
    }

    /// The cursor of [`Cursor::encode`], or `None` for anything else.
    pub(crate) fn decode(s: &str) -> Option<Cursor> {
        if s == "u" {
            return Some(Cursor::Unverified(None));
        }
        let (verified, hex) = match s.split_at_checked(1)? {
            ("v", h) => (true, h),
            ("c", h) => (false, h),
            _ => return None,
        };
        let canonical = !hex.is_empty()
            && hex.len() <= 16
            && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let at = u64::from_str_radix(hex, 16).ok().filter(|_| canonical)?;
        Some(if verified {
            Cursor::Verified(at)
        } else {
            Cursor::Unverified(Some(at))
        })
    }
}

/// The letter page, or `None` for an unknown slug.
pub(crate) fn letter(
    log: &Log,
    server: String,
    slug: &str,
    request: ListRequest,
) -> Result<Option<LetterPage>, signet_log::Error> {
    let Some(details) = log.letter(slug)? else {
        return Ok(None);
    };
    let query = |after: Option<u64>, limit: u32| SignatoryQuery {
        letter: details.info.id,
        q: request.q.clone(),
        status: match request.listing {
            Listing::Active => StatusFilter::Active,
            Listing::Withdrawn => StatusFilter::Withdrawn,
        },
        after,
        limit,
    };
    // Verified signers first, then the others: each group is its own indexed listing,
    // and a page that ends the first group goes on into the second.
    let limit = request.limit;
    let items;
    let next = match request.after {
        None | Some(Cursor::Verified(_)) => {
            let after = match request.after {
                Some(Cursor::Verified(a)) => Some(a),
                _ => None,
            };
            let verified = log.signatories_verified(&query(after, limit), true)?;
            let mut found = verified.items;
            let room = limit.saturating_sub(found.len() as u32);
            let next = match verified.next {
                Some(n) => Some(Cursor::Verified(n)),
                None if room > 0 => {
                    let rest = log.signatories_verified(&query(None, room), false)?;
                    found.extend(rest.items);
                    rest.next.map(|n| Cursor::Unverified(Some(n)))
                }
                // The page ends with the last verified signer: a next page only if
                // there are others.
                None => {
                    let probe = log.signatories_verified(&query(None, 1), false)?;
                    (!probe.items.is_empty()).then_some(Cursor::Unverified(None))
                }
            };
            items = found;
            next
        }
        Some(Cursor::Unverified(after)) => {
            let rest = log.signatories_verified(&query(after, limit), false)?;
            items = rest.items;
            rest.next.map(|n| Cursor::Unverified(Some(n)))
        }
    };
    let moderators = log.moderators()?;
    let mut rows: Vec<SignerRow> = Vec::with_capacity(items.len());
    for s in items {
        rows.push(SignerRow {
            verified: verified_claims(log, &s.key, &s.identity)?,
            hidden: hide_view(log, &s, &moderators)?,
            index: s.index,
            name: s.name,
            affiliation: s.affiliation,
            role: s.role,
            fingerprint: s.fingerprint,
            time: s.time.to_string(),
            withdrawn: !s.active,
        });
    }
    Ok(Some(LetterPage {
        log: log_view(log, server),
        letter: LetterView::new(details.info, details.text, details.source),
        rows,
        q: request.q,
        listing: request.listing,
        paged: request.after.is_some(),
        next: next.map(Cursor::encode),
    }))
}

/// The hides page, or `None` for an unknown slug.
pub(crate) fn hidden(
    log: &Log,
    server: String,
    slug: &str,
) -> Result<Option<HiddenPage>, signet_log::Error> {
    let Some(details) = log.letter(slug)? else {
        return Ok(None);
    };
    let appointed = log.moderators()?;
    let mut hides = Vec::new();
    for s in hidden_signers(log, details.info.id)? {
        hides.extend(hide_view(log, &s, &appointed)?);
    }
    let moderators = appointed
        .into_iter()
        .map(|m| ModeratorView {
            index: m.index,
            name: m.name,
            key: m.key,
        })
        .collect();
    Ok(Some(HiddenPage {
        log: log_view(log, server),
        letter: LetterView::new(details.info, details.text, details.source),
        hides,
        moderators,
    }))
}

/// What an entry page needs from the log beyond the entry itself.
pub(crate) fn entry(
    log: &Log,
    server: String,
    index: u64,
) -> Result<Result<EntryPage, String>, signet_log::Error> {
    let bytes = log.entry(index)?;
    let entry = match Entry::parse(&bytes) {
        Ok(e) => e,
        Err(e) => return Ok(Err(format!("stored entry {index} does not parse: {e}"))),
    };
    let proof = log.tlog_proof(index)?;
    let proof_text = String::from_utf8_lossy(&proof.to_bytes()).into_owned();
    let (proof_head, checkpoint) = proof_text
        .split_once("\n\n")
        .map_or((proof_text.clone(), String::new()), |(h, c)| {
            (format!("{h}\n"), c.to_owned())
        });
    let st = entry.statement();
    let letter_id = st.letter();
    let letter = match letter_id {
        Some(id) => log
            .letter(&id.to_string())?
            .map(|d| LetterView::new(d.info, d.text, d.source)),
        None => None,
    };
    let mut fields: Vec<(&'static str, String)> = Vec::new();
    if let Some(id) = letter_id {
        fields.push(("letter", id.to_string()));
    }
    let mut claims = Vec::new();
    let mut status = EntryStatus::None;
    let mut signer_now = None;
    let key = st.key();
    match st {
        Statement::Letter(r) => {
            fields.push(("slug", r.slug.as_str().to_owned()));
            fields.push(("title", r.title.clone()));
            fields.push(("language", r.language.as_str().to_owned()));
        }
        Statement::Endorsement(e) => {
            fields.push(("name", e.name.clone()));
            if let Some(a) = &e.affiliation {
                fields.push(("affiliation", a.clone()));
            }
            if let Some(r) = &e.role {
                fields.push(("role", r.clone()));
            }
            let claimed: Vec<String> = e.identity.iter().map(|c| c.as_str().to_owned()).collect();
            let held = verified_claims(log, &key.to_string(), &claimed)?;
            claims = claimed
                .into_iter()
                .map(|claim| ClaimRow {
                    verified: held.iter().find(|v| v.claim == claim).cloned(),
                    claim,
                })
                .collect();
            if let Some(record) = log.signer(&e.letter, key.public_key())? {
                status = if record.endorsement_index != index {
                    signer_now = Some(record.endorsement_index);
                    EntryStatus::Superseded {
                        by: record.endorsement_index,
                    }
                } else if record.status == SignerStatus::Withdrawn {
                    EntryStatus::Withdrawn {
                        by: record.latest_index,
                    }
                } else {
                    EntryStatus::Shown
                };
                if let Some(h) = log.hidden_by(&e.letter, key.public_key())? {
                    let moderators = log.moderators()?;
                    let view = hide_from(log, &h, &e.name, record.endorsement_index, &moderators)?;
                    status = EntryStatus::Hidden(view);
                }
            }
        }
        Statement::Withdrawal(w) => {
            if let Some(record) = log.signer(&w.letter, key.public_key())? {
                signer_now = Some(record.endorsement_index);
            }
        }
        Statement::Moderator(m) => {
            fields.push(("moderator", m.moderator.to_string()));
            fields.push(("name", m.name.clone()));
        }
        Statement::Moderation(m) => {
            fields.push(("target", m.entry.to_string()));
            fields.push(("action", m.action.as_str().to_owned()));
            fields.push(("reason", m.reason.as_str().to_owned()));
            if let Some(n) = &m.note {
                fields.push(("note", n.clone()));
            }
        }
    }
    fields.push(("time", st.time().to_string()));
    fields.push(("key", key.to_string()));
    Ok(Ok(EntryPage {
        log: log_view(log, server),
        index,
        kind: st.kind(),
        fields,
        letter,
        status,
        signer_now,
        claims,
        note: String::from_utf8_lossy(entry.bytes()).into_owned(),
        leaf_hash: entry.leaf_hash().to_base64(),
        proof: proof_head,
        checkpoint,
        quorum: log.witness_policy().and_then(QuorumView::of),
    }))
}
