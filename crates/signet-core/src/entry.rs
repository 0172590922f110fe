//! The log's entries (see docs/protocol.md, *Entries*): letter registrations,
//! endorsements, withdrawals, moderator appointments and moderations, each one signed note with exactly one signature, by the
//! key its `key` line names. Key names follow the entries' own rules (see
//! docs/protocol.md, *Key names*): a signer's is `[A-Za-z0-9._-]{1,64}`, the log's is its
//! origin.
//!
//! [`Entry::parse`] is the one parser the server, the CLI and the auditor share. It
//! accepts exactly one encoding of each statement, and an [`Entry`] exists only once its
//! grammar and its signature have been checked.

use std::fmt;

use crate::keys::{DecodedKey, SignatureType};
use crate::note::Note;
use crate::text::{check_text, escaped};
use crate::{Error, Hash, LetterId, MAX_ENTRY_SIZE, SigningKey, Timestamp, VerifierKey};

/// The most characters in an endorsement's `name`.
pub const MAX_NAME_CHARS: usize = 128;

/// The most characters in a `title`, `affiliation` or `role`.
pub const MAX_TEXT_CHARS: usize = 256;

/// The most `identity` lines in an endorsement.
pub const MAX_IDENTITY_CLAIMS: usize = 4;

/// The most characters in an `https://` identity claim.
const MAX_URL_CHARS: usize = 256;

/// The most characters in a domain name (RFC 1035 §2.3.4, less the root's final dot).
const MAX_DOMAIN_CHARS: usize = 253;

/// The most characters in a label of a domain name (RFC 1035 §2.3.4).
const MAX_LABEL_CHARS: usize = 63;

/// The most characters in a slug.
const MAX_SLUG_CHARS: usize = 64;

/// The most characters in a GitHub login.
const MAX_GITHUB_LOGIN: usize = 39;

/// The most characters in a signer's or moderator's key name.
pub const MAX_SIGNER_KEY_NAME: usize = 64;

/// The most bytes in the log's key name, its origin.
pub const MAX_LOG_KEY_NAME: usize = 255;

/// What a signer whose key name is refused can do about it.
const MAKE_A_KEY: &str = "make a key with `signet keygen --name NAME`";

const LETTER_KIND: &str = "signet/letter/v1";
const ENDORSEMENT_KIND: &str = "signet/endorsement/v1";
const WITHDRAWAL_KIND: &str = "signet/withdrawal/v1";
const MODERATOR_KIND: &str = "signet/moderator/v1";
const MODERATION_KIND: &str = "signet/moderation/v1";

/// A letter's slug: `[a-z0-9-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// A lowercase BCP 47 language tag: `[a-z]{2,3}(-[a-z0-9]{2,8})*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

/// An identity claim (recorded, not yet verified): `https://<host><path>`,
/// `dns:<domain>` or `github:<login>`, in the forms docs/protocol.md fixes (*Identity
/// claims*).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityClaim(String);

macro_rules! string_newtype {
    ($t:ident) => {
        impl $t {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $t::parse(s)
            }
        }
    };
}
string_newtype!(Slug);
string_newtype!(Language);
string_newtype!(IdentityClaim);

impl Slug {
    /// Parses a slug.
    pub fn parse(s: &str) -> Result<Slug, Error> {
        let ok = (1..=MAX_SLUG_CHARS).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(Error::field(
                "slug",
                format_args!("{s:?} is not a slug; use 1 to {MAX_SLUG_CHARS} of a-z, 0-9 and '-'"),
            ));
        }
        Ok(Slug(s.to_owned()))
    }
}

impl Language {
    /// Parses a language tag.
    pub fn parse(s: &str) -> Result<Language, Error> {
        let mut subtags = s.split('-');
        let primary = subtags.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
        let rest_ok = subtags.all(|t| {
            (2..=8).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !(primary_ok && rest_ok) {
            return Err(Error::field(
                "language",
                format_args!(
                    "{s:?} is not a lowercase BCP 47 tag such as \"zh\", \"en\" or \"zh-hant\" \
                     ([a-z]{{2,3}}(-[a-z0-9]{{2,8}})*)"
                ),
            ));
        }
        Ok(Language(s.to_owned()))
    }
}

impl IdentityClaim {
    /// Parses an identity claim.
    pub fn parse(s: &str) -> Result<IdentityClaim, Error> {
        let bad =
            |reason: &dyn fmt::Display| Error::field("identity", format_args!("{s:?} {reason}"));
        if let Some(rest) = s.strip_prefix("https://") {
            if !rest.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(bad(&"must be printable ASCII without spaces"));
            }
            if s.len() > MAX_URL_CHARS {
                return Err(bad(&format_args!(
                    "is {} characters long; at most {MAX_URL_CHARS} are allowed",
                    s.len()
                )));
            }
            if rest.contains('?') {
                return Err(bad(&"has a query ('?'); remove it"));
            }
            if rest.contains('#') {
                return Err(bad(&"has a fragment ('#'); remove it"));
            }
            let Some(slash) = rest.find('/') else {
                return Err(bad(
                    &"has no path; end the host with '/', as in https://example.org/",
                ));
            };
            let host = &rest[..slash];
            if host.starts_with('[') {
                return Err(bad(&"has an IP-literal host; use a domain name"));
            }
            if host.contains('@') {
                return Err(bad(
                    &"has user information ('@' before the host); remove it",
                ));
            }
            if host.contains(':') {
                return Err(bad(&"has a port; remove it"));
            }
            check_domain(host).map_err(|reason| bad(&format_args!("has a host that {reason}")))?;
        } else if let Some(domain) = s.strip_prefix("dns:") {
            check_domain(domain)
                .map_err(|reason| bad(&format_args!("has a domain that {reason}")))?;
        } else if let Some(login) = s.strip_prefix("github:") {
            let ok = (1..=MAX_GITHUB_LOGIN).contains(&login.len())
                && login
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(bad(&format_args!(
                    "is not a GitHub login in lowercase: 1 to {MAX_GITHUB_LOGIN} of a-z, 0-9 and '-'"
                )));
            }
        } else {
            return Err(bad(
                &"is not one of https://<host><path>, dns:<domain> or github:<login>",
            ));
        }
        Ok(IdentityClaim(s.to_owned()))
    }
}

/// Checks a lowercase DNS name: dot-separated labels of 1 to 63 letters, digits and
/// hyphens, no hyphen first or last, at most 253 characters, no trailing dot. The error
/// completes the phrase "a domain that ...".
fn check_domain(d: &str) -> Result<(), &'static str> {
    if d.is_empty() {
        return Err("is empty");
    }
    if d.len() > MAX_DOMAIN_CHARS {
        return Err("is longer than 253 characters");
    }
    if d.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("is not lowercase; write it in lowercase");
    }
    for label in d.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_CHARS {
            return Err("has an empty label or one longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("has characters other than a-z, 0-9, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("has a label that starts or ends with '-'");
        }
    }
    Ok(())
}

/// `signet/letter/v1`: the log operator registers a letter (signed by the log key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRegistration {
    /// The letter's ID.
    pub letter: LetterId,
    /// Its slug, unique within a log.
    pub slug: Slug,
    /// Its title, 1..=256 characters.
    pub title: String,
    /// Its language.
    pub language: Language,
    /// When it was registered.
    pub time: Timestamp,
    /// The log's verifier key.
    pub key: VerifierKey,
}

/// `signet/endorsement/v1`: a signer endorses a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endorsement {
    /// The endorsed letter.
    pub letter: LetterId,
    /// Display name, 1..=128 characters.
    pub name: String,
    /// Optional affiliation, 1..=256 characters.
    pub affiliation: Option<String>,
    /// Optional role, 1..=256 characters.
    pub role: Option<String>,
    /// 0..=4 identity claims, sorted, without duplicates.
    pub identity: Vec<IdentityClaim>,
    /// The signer's claimed time.
    pub time: Timestamp,
    /// The signer's verifier key.
    pub key: VerifierKey,
}

/// `signet/withdrawal/v1`: the same signer withdraws its endorsement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// The letter whose endorsement is withdrawn.
    pub letter: LetterId,
    /// The signer's claimed time.
    pub time: Timestamp,
    /// The signer's verifier key.
    pub key: VerifierKey,
}

/// `signet/moderator/v1`: the log operator appoints a moderator (signed by the log key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeratorAppointment {
    /// The moderator's verifier key.
    pub moderator: VerifierKey,
    /// The moderator's display name: the moderator key's key name.
    pub name: String,
    /// When it was appointed.
    pub time: Timestamp,
    /// The log's verifier key.
    pub key: VerifierKey,
}

/// What a moderation does to its target signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModerationAction {
    /// Hides the signer from the letter's list.
    Hide,
    /// Shows a hidden signer again.
    Show,
}

/// Why a moderator hid or showed a signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModerationReason {
    /// Someone signed as someone else.
    Impersonation,
    /// Spam.
    Spam,
    /// Abusive text.
    Abuse,
    /// A legal demand.
    Legal,
    /// The same person signed twice.
    Duplicate,
    /// Reviewed (usually the reason to show a signer again).
    Reviewed,
    /// Anything else; the note says what.
    Other,
}

/// `signet/moderation/v1`: a moderator hides a signer from a letter's list, or shows it
/// again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    /// The letter whose list it changes.
    pub letter: LetterId,
    /// The index of an earlier endorsement of that letter; its signer is the target.
    pub entry: u64,
    /// Hide or show.
    pub action: ModerationAction,
    /// Why.
    pub reason: ModerationReason,
    /// An optional note, 1..=256 characters.
    pub note: Option<String>,
    /// The moderator's claimed time.
    pub time: Timestamp,
    /// The moderator's verifier key.
    pub key: VerifierKey,
}

macro_rules! keyword_enum {
    ($t:ident, $what:literal, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            /// Every value, in the order the grammar lists them.
            pub const ALL: &'static [$t] = &[$($t::$v),+];

            /// The keyword as written in an entry.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $s),+
                }
            }

            /// Parses the keyword.
            pub fn parse(s: &str) -> Result<$t, Error> {
                match s {
                    $($s => Ok($t::$v),)+
                    _ => Err(Error::field(
                        $what,
                        format_args!(
                            "{:?} is not one of {}",
                            s,
                            [$($s),+].join(", ")
                        ),
                    )),
                }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                $t::parse(s)
            }
        }
    };
}
keyword_enum!(ModerationAction, "action", Hide => "hide", Show => "show");
keyword_enum!(
    ModerationReason,
    "reason",
    Impersonation => "impersonation",
    Spam => "spam",
    Abuse => "abuse",
    Legal => "legal",
    Duplicate => "duplicate",
    Reviewed => "reviewed",
    Other => "other",
);

/// One of the five statements an entry can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A letter registration.
    Letter(LetterRegistration),
    /// An endorsement.
    Endorsement(Endorsement),
    /// A withdrawal.
    Withdrawal(Withdrawal),
    /// A moderator appointment.
    Moderator(ModeratorAppointment),
    /// A moderation (hide or show).
    Moderation(Moderation),
}

impl Statement {
    /// `letter`, `endorsement`, `withdrawal`, `moderator` or `moderation`, as in the HTTP
    /// API's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Letter(_) => "letter",
            Statement::Endorsement(_) => "endorsement",
            Statement::Withdrawal(_) => "withdrawal",
            Statement::Moderator(_) => "moderator",
            Statement::Moderation(_) => "moderation",
        }
    }

    /// The letter the statement is about; a moderator appointment is about none.
    pub fn letter(&self) -> Option<LetterId> {
        match self {
            Statement::Letter(s) => Some(s.letter),
            Statement::Endorsement(s) => Some(s.letter),
            Statement::Withdrawal(s) => Some(s.letter),
            Statement::Moderator(_) => None,
            Statement::Moderation(s) => Some(s.letter),
        }
    }

    /// The statement's time.
    pub fn time(&self) -> Timestamp {
        match self {
            Statement::Letter(s) => s.time,
            Statement::Endorsement(s) => s.time,
            Statement::Withdrawal(s) => s.time,
            Statement::Moderator(s) => s.time,
            Statement::Moderation(s) => s.time,
        }
    }

    /// The key of its `key` line, which must sign it.
    pub fn key(&self) -> &VerifierKey {
        match self {
            Statement::Letter(s) => &s.key,
            Statement::Endorsement(s) => &s.key,
            Statement::Withdrawal(s) => &s.key,
            Statement::Moderator(s) => &s.key,
            Statement::Moderation(s) => &s.key,
        }
    }

    /// Checks every field and the key name against the entry rules (the builder's check
    /// before signing; see docs/protocol.md, *Entries*).
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Statement::Letter(s) => check_text("title", &s.title, MAX_TEXT_CHARS)?,
            Statement::Endorsement(s) => {
                check_text("name", &s.name, MAX_NAME_CHARS)?;
                if let Some(affiliation) = &s.affiliation {
                    check_text("affiliation", affiliation, MAX_TEXT_CHARS)?;
                }
                if let Some(role) = &s.role {
                    check_text("role", role, MAX_TEXT_CHARS)?;
                }
                check_identity(&s.identity)?;
            }
            Statement::Withdrawal(_) => {}
            Statement::Moderator(s) => {
                check_signer_key_name(s.moderator.name().as_str())?;
                check_key_type(&s.moderator)?;
                check_appointment_name(&s.name, &s.moderator)?;
            }
            Statement::Moderation(s) => {
                if let Some(note) = &s.note {
                    check_text("note", note, MAX_TEXT_CHARS)?;
                }
            }
        }
        let key_name = self.key().name().as_str();
        match self {
            Statement::Letter(_) | Statement::Moderator(_) => check_log_key_name(key_name)?,
            Statement::Endorsement(_) | Statement::Withdrawal(_) | Statement::Moderation(_) => {
                check_signer_key_name(key_name)?;
            }
        }
        check_key_type(self.key())
    }

    /// The statement's one encoding: the note text, ending in a newline.
    pub fn body(&self) -> String {
        let kind = match self {
            Statement::Letter(_) => LETTER_KIND,
            Statement::Endorsement(_) => ENDORSEMENT_KIND,
            Statement::Withdrawal(_) => WITHDRAWAL_KIND,
            Statement::Moderator(_) => MODERATOR_KIND,
            Statement::Moderation(_) => MODERATION_KIND,
        };
        let mut out = format!("{kind}\n");
        let mut line = |field: &str, value: &dyn fmt::Display| {
            use fmt::Write as _;
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{field} {value}");
        };
        match self {
            Statement::Letter(s) => {
                line("letter", &s.letter);
                line("slug", &s.slug);
                line("title", &s.title);
                line("language", &s.language);
                line("time", &s.time);
                line("key", &s.key);
            }
            Statement::Endorsement(s) => {
                line("letter", &s.letter);
                line("name", &s.name);
                if let Some(affiliation) = &s.affiliation {
                    line("affiliation", affiliation);
                }
                if let Some(role) = &s.role {
                    line("role", role);
                }
                for claim in &s.identity {
                    line("identity", claim);
                }
                line("time", &s.time);
                line("key", &s.key);
            }
            Statement::Withdrawal(s) => {
                line("letter", &s.letter);
                line("time", &s.time);
                line("key", &s.key);
            }
            Statement::Moderator(s) => {
                line("moderator", &s.moderator);
                line("name", &s.name);
                line("time", &s.time);
                line("key", &s.key);
            }
            Statement::Moderation(s) => {
                line("letter", &s.letter);
                line("entry", &s.entry);
                line("action", &s.action);
                line("reason", &s.reason);
                if let Some(note) = &s.note {
                    line("note", note);
                }
                line("time", &s.time);
                line("key", &s.key);
            }
        }
        out
    }

    /// Parses a note text (body) strictly, with every rule of docs/protocol.md,
    /// *Entries*.
    pub fn parse_body(body: &str) -> Result<Statement, Error> {
        let Some(body) = body.strip_suffix('\n') else {
            return Err(Error::malformed(
                "entry",
                "the statement does not end in a newline",
            ));
        };
        let mut lines = body.split('\n');
        let kind = lines.next().unwrap_or_default();
        let statement = match kind {
            LETTER_KIND => {
                let mut f = Fields::read("letter registration", LETTER_FIELDS, lines)?;
                Statement::Letter(LetterRegistration {
                    letter: f.one()?.parse()?,
                    slug: Slug::parse(f.one()?)?,
                    title: f
                        .one()
                        .and_then(|v| text_value("title", v, MAX_TEXT_CHARS))?,
                    language: Language::parse(f.one()?)?,
                    time: Timestamp::parse(f.one()?)?,
                    key: log_key_value(f.one()?)?,
                })
            }
            ENDORSEMENT_KIND => {
                let mut f = Fields::read("endorsement", ENDORSEMENT_FIELDS, lines)?;
                let letter = f.one()?.parse()?;
                let name = text_value("name", f.one()?, MAX_NAME_CHARS)?;
                let affiliation = f
                    .optional()
                    .map(|v| text_value("affiliation", v, MAX_TEXT_CHARS))
                    .transpose()?;
                let role = f
                    .optional()
                    .map(|v| text_value("role", v, MAX_TEXT_CHARS))
                    .transpose()?;
                let identity = f
                    .all()
                    .iter()
                    .map(|v| IdentityClaim::parse(v))
                    .collect::<Result<Vec<_>, _>>()?;
                check_identity(&identity)?;
                Statement::Endorsement(Endorsement {
                    letter,
                    name,
                    affiliation,
                    role,
                    identity,
                    time: Timestamp::parse(f.one()?)?,
                    key: signer_key_value(f.one()?)?,
                })
            }
            WITHDRAWAL_KIND => {
                let mut f = Fields::read("withdrawal", WITHDRAWAL_FIELDS, lines)?;
                Statement::Withdrawal(Withdrawal {
                    letter: f.one()?.parse()?,
                    time: Timestamp::parse(f.one()?)?,
                    key: signer_key_value(f.one()?)?,
                })
            }
            MODERATOR_KIND => {
                let mut f = Fields::read("moderator appointment", MODERATOR_FIELDS, lines)?;
                let moderator = signer_key_value(f.one()?)?;
                let name = text_value("name", f.one()?, MAX_NAME_CHARS)?;
                check_appointment_name(&name, &moderator)?;
                Statement::Moderator(ModeratorAppointment {
                    moderator,
                    name,
                    time: Timestamp::parse(f.one()?)?,
                    key: log_key_value(f.one()?)?,
                })
            }
            MODERATION_KIND => {
                let mut f = Fields::read("moderation", MODERATION_FIELDS, lines)?;
                Statement::Moderation(Moderation {
                    letter: f.one()?.parse()?,
                    entry: index_value("entry", f.one()?)?,
                    action: ModerationAction::parse(f.one()?)?,
                    reason: ModerationReason::parse(f.one()?)?,
                    note: f
                        .optional()
                        .map(|v| text_value("note", v, MAX_TEXT_CHARS))
                        .transpose()?,
                    time: Timestamp::parse(f.one()?)?,
                    key: signer_key_value(f.one()?)?,
                })
            }
            _ => {
                return Err(Error::malformed(
                    "entry",
                    format_args!(
                        "the first line {kind:?} is not one of {LETTER_KIND}, {ENDORSEMENT_KIND}, \
                         {WITHDRAWAL_KIND}, {MODERATOR_KIND} or {MODERATION_KIND}"
                    ),
                ));
            }
        };
        // Every value above was parsed strictly, so this holds by construction; checking
        // it keeps "exactly one encoding per statement" true even if a value parser (a
        // verifier key, say) ever learned to accept a second spelling.
        let mut canonical = statement.body();
        canonical.pop();
        if canonical != body {
            return Err(Error::malformed(
                "entry",
                "the statement is not in its canonical encoding",
            ));
        }
        Ok(statement)
    }

    /// Validates the statement and signs it with `key`, which must be the key of the
    /// `key` line (same name and public key).
    pub fn sign(&self, key: &SigningKey) -> Result<Entry, Error> {
        self.validate()?;
        let named = self.key();
        if key.name() != named.name() || key.verifier().public_key() != named.public_key() {
            return Err(Error::field(
                "key",
                format_args!(
                    "the signing key {} is not the key of the key line ({named}); sign with that key \
                     or put this key's verifier key on the key line",
                    escaped(&key.verifier().to_string())
                ),
            ));
        }
        let bytes = Note::sign(&self.body(), &[key])?.to_bytes();
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(too_large(bytes.len()));
        }
        // Parsing what was just signed keeps the promise that an Entry exists only once
        // the one shared parser has accepted it.
        Entry::parse(&bytes)
    }
}

/// A log entry whose grammar and signature have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    statement: Statement,
    bytes: Vec<u8>,
}

impl Entry {
    /// Parses and verifies an entry: at most [`crate::MAX_ENTRY_SIZE`] bytes, a signed
    /// note with exactly one signature line whose key name and key ID are those of the
    /// `key` line, a body that follows the grammar, and a signature that passes
    /// `verify_strict`. Malformed bytes give an error of class
    /// [`crate::ErrorClass::Malformed`]; a bad key or signature one of class
    /// [`crate::ErrorClass::Rejected`].
    pub fn parse(bytes: &[u8]) -> Result<Entry, Error> {
        Entry::parse_with_keys(bytes, &mut VerifierKey::decode)
    }

    /// [`Entry::parse`], asking `decode` for the decoded key of the entry's `key` line
    /// (a cache of [`VerifierKey::decode`] results, say) instead of decoding it. Every
    /// check is the same; a decoded key of another public key is ignored (see
    /// [`VerifierKey::verify_ed25519_with`]).
    pub fn parse_with_keys(
        bytes: &[u8],
        decode: &mut dyn FnMut(&VerifierKey) -> Result<DecodedKey, Error>,
    ) -> Result<Entry, Error> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(too_large(bytes.len()));
        }
        let note = Note::parse(bytes)?;
        let [signature] = note.signatures() else {
            return Err(Error::malformed(
                "entry",
                format_args!(
                    "it has {} signature lines; an entry has exactly one, by the key of its key line",
                    note.signatures().len()
                ),
            ));
        };
        let statement = Statement::parse_body(note.text())?;
        let key = statement.key();
        if signature.name != *key.name() || signature.id != key.id() {
            return Err(Error::malformed(
                "entry",
                format_args!(
                    "the signature line names key {}+{}, but the key line is {}+{}; \
                     the entry must be signed by the key it names",
                    escaped(signature.name.as_str()),
                    signature.id,
                    key.name(),
                    key.id()
                ),
            ));
        }
        let Ok(sig) = <&[u8; 64]>::try_from(signature.signature.as_slice()) else {
            return Err(Error::malformed(
                "entry",
                format_args!(
                    "the signature is {} bytes long; an Ed25519 signature is 64",
                    signature.signature.len()
                ),
            ));
        };
        // Note::parse accepts only canonical encodings, so the bytes are the note's one
        // encoding; checking it is cheap insurance for "one encoding per entry".
        if note.to_bytes() != bytes {
            return Err(Error::malformed(
                "entry",
                "the signed note is not in its canonical encoding",
            ));
        }
        let decoded = decode(key)?;
        key.verify_ed25519_with(&decoded, note.text().as_bytes(), sig)?;
        Ok(Entry {
            statement,
            bytes: bytes.to_vec(),
        })
    }

    /// The statement.
    pub fn statement(&self) -> &Statement {
        &self.statement
    }

    /// The entry's exact bytes (the signed note).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The RFC 9162 leaf hash of the entry.
    pub fn leaf_hash(&self) -> Hash {
        Hash::leaf(&self.bytes)
    }
}

/// How often a field may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Times {
    /// Exactly once.
    One,
    /// At most once.
    Optional,
    /// Up to [`MAX_IDENTITY_CLAIMS`] times in a row.
    Repeated,
}

const LETTER_FIELDS: &[(&str, Times)] = &[
    ("letter", Times::One),
    ("slug", Times::One),
    ("title", Times::One),
    ("language", Times::One),
    ("time", Times::One),
    ("key", Times::One),
];

const ENDORSEMENT_FIELDS: &[(&str, Times)] = &[
    ("letter", Times::One),
    ("name", Times::One),
    ("affiliation", Times::Optional),
    ("role", Times::Optional),
    ("identity", Times::Repeated),
    ("time", Times::One),
    ("key", Times::One),
];

const WITHDRAWAL_FIELDS: &[(&str, Times)] = &[
    ("letter", Times::One),
    ("time", Times::One),
    ("key", Times::One),
];

const MODERATOR_FIELDS: &[(&str, Times)] = &[
    ("moderator", Times::One),
    ("name", Times::One),
    ("time", Times::One),
    ("key", Times::One),
];

const MODERATION_FIELDS: &[(&str, Times)] = &[
    ("letter", Times::One),
    ("entry", Times::One),
    ("action", Times::One),
    ("reason", Times::One),
    ("note", Times::Optional),
    ("time", Times::One),
    ("key", Times::One),
];

/// The field values of a body, checked for order, presence and repetition, and handed
/// out in the order of the kind's field list.
struct Fields<'a> {
    values: std::vec::IntoIter<Vec<&'a str>>,
}

impl<'a> Fields<'a> {
    /// Splits each line into a field and its value, in the fixed order of `fields`.
    fn read(
        what: &'static str,
        fields: &[(&'static str, Times)],
        lines: impl Iterator<Item = &'a str>,
    ) -> Result<Fields<'a>, Error> {
        let order = || {
            fields
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut values: Vec<Vec<&str>> = vec![Vec::new(); fields.len()];
        let mut last: Option<usize> = None;
        for line in lines {
            if line.is_empty() {
                return Err(Error::malformed(what, "it has a blank line; remove it"));
            }
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            let Some(slot) = fields.iter().position(|(f, _)| *f == name) else {
                return Err(Error::malformed(
                    what,
                    format_args!("unknown field {name:?}; the fields are {}", order()),
                ));
            };
            if value.is_empty() {
                return Err(Error::malformed(
                    what,
                    format_args!(
                        "field {name} has no value; write \"{name} <value>\", or omit an optional field"
                    ),
                ));
            }
            if value.starts_with(' ') {
                return Err(Error::malformed(
                    what,
                    format_args!("field {name} is followed by more than one space; use one"),
                ));
            }
            match last {
                Some(l) if slot == l && fields[slot].1 == Times::Repeated => {}
                Some(l) if slot <= l => {
                    // A repeated field may come back only in a run of its own lines.
                    let twice = slot == l
                        || (!values[slot].is_empty() && fields[slot].1 != Times::Repeated);
                    let problem = if twice {
                        "appears twice"
                    } else {
                        "is out of order"
                    };
                    return Err(Error::malformed(
                        what,
                        format_args!(
                            "field {name} {problem}; the fields go in the order {}",
                            order()
                        ),
                    ));
                }
                _ => {}
            }
            if values[slot].len() == MAX_IDENTITY_CLAIMS {
                return Err(Error::malformed(
                    what,
                    format_args!("more than {MAX_IDENTITY_CLAIMS} {name} lines"),
                ));
            }
            values[slot].push(value);
            last = Some(slot);
        }
        for ((name, times), v) in fields.iter().zip(&values) {
            if *times == Times::One && v.is_empty() {
                return Err(Error::malformed(
                    what,
                    format_args!("the {name} field is missing"),
                ));
            }
        }
        Ok(Fields {
            values: values.into_iter(),
        })
    }

    /// The next field's values, whatever their number.
    fn all(&mut self) -> Vec<&'a str> {
        self.values.next().unwrap_or_default()
    }

    /// The next field's value, if present (`read` allowed at most one).
    fn optional(&mut self) -> Option<&'a str> {
        self.all().first().copied()
    }

    /// The next field's value (`read` checked it is there).
    fn one(&mut self) -> Result<&'a str, Error> {
        self.optional()
            .ok_or_else(|| Error::malformed("entry", "a required field is missing"))
    }
}

/// An entry index: a canonical decimal number (no sign, no leading zeros).
fn index_value(field: &'static str, value: &str) -> Result<u64, Error> {
    let canonical = !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && (value == "0" || !value.starts_with('0'));
    match value.parse::<u64>() {
        Ok(n) if canonical => Ok(n),
        _ => Err(Error::field(
            field,
            format_args!(
                "{:?} is not an entry index; write the index in decimal, without sign or \
                 leading zeros, as in \"{field} 12\"",
                escaped(value)
            ),
        )),
    }
}

/// A moderator appointment's `name` is the moderator key's key name, so that a name in
/// a list of hides always says which key acted (see docs/protocol.md, *Moderation*).
fn check_appointment_name(name: &str, moderator: &VerifierKey) -> Result<(), Error> {
    if name != moderator.name().as_str() {
        return Err(Error::field(
            "name",
            format_args!(
                "the appointment's name {:?} is not the moderator key's key name {}; \
                 write \"name {}\"",
                escaped(name),
                moderator.name(),
                moderator.name()
            ),
        ));
    }
    Ok(())
}

/// A checked text value.
fn text_value(field: &'static str, value: &str, max_chars: usize) -> Result<String, Error> {
    check_text(field, value, max_chars)?;
    Ok(value.to_owned())
}

/// Checks a signer's or moderator's key name (see docs/protocol.md, *Key names*):
/// `[A-Za-z0-9._-]{1,64}`, the names `signet keygen` makes. They are shown in the list
/// of signatories, so nothing in them may hide, reorder or imitate other text.
pub fn check_signer_key_name(name: &str) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::field(
            "key",
            format_args!("the key name is empty; {MAKE_A_KEY}"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(Error::field(
            "key",
            format_args!(
                "the key name `{}` has a character outside [A-Za-z0-9._-] ({}); {MAKE_A_KEY}",
                escaped(name),
                one_char(c)
            ),
        ));
    }
    if name.len() > MAX_SIGNER_KEY_NAME {
        return Err(Error::field(
            "key",
            format_args!(
                "the key name `{name}` is {} characters long, at most {MAX_SIGNER_KEY_NAME} are \
                 allowed; {MAKE_A_KEY}",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// Checks the log's key name, which is its origin (see docs/protocol.md, *Key names*):
/// printable ASCII without space or `+`, 1..=255 bytes.
pub fn check_log_key_name(name: &str) -> Result<(), Error> {
    const RULE: &str = "the log's key name is its origin: printable ASCII without spaces or \
                        '+', 1 to 255 bytes, as in example.org/letters";
    if name.is_empty() {
        return Err(Error::field(
            "key",
            format_args!("the log's key name is empty; {RULE}"),
        ));
    }
    if let Some(c) = name.chars().find(|&c| !c.is_ascii_graphic() || c == '+') {
        return Err(Error::field(
            "key",
            format_args!(
                "the log's key name `{}` has a character outside its rule ({}); {RULE}",
                escaped(name),
                one_char(c)
            ),
        ));
    }
    if name.len() > MAX_LOG_KEY_NAME {
        return Err(Error::field(
            "key",
            format_args!(
                "the log's key name is {} bytes long, at most {MAX_LOG_KEY_NAME} are allowed; \
                 {RULE}",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// One character for an error message: printable ASCII as itself in quotes, anything
/// else as `U+XXXX`, so that no invisible or reordering character reaches a terminal.
fn one_char(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("'{c}'")
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// The name part of a key line's value: everything before the first `+` (key names hold
/// no `+`), checked before the key is parsed so that the key-name rule gives the error.
fn key_name_part(value: &str) -> &str {
    value.split('+').next().unwrap_or(value)
}

/// A signer's or moderator's `key` line.
fn signer_key_value(value: &str) -> Result<VerifierKey, Error> {
    check_signer_key_name(key_name_part(value))?;
    key_value(value)
}

/// The log's `key` line, in an entry the log signs itself.
fn log_key_value(value: &str) -> Result<VerifierKey, Error> {
    check_log_key_name(key_name_part(value))?;
    key_value(value)
}

/// The `key` line's verifier key, which must be an Ed25519 key.
fn key_value(value: &str) -> Result<VerifierKey, Error> {
    let key = VerifierKey::parse(value)?;
    check_key_type(&key)?;
    Ok(key)
}

fn check_key_type(key: &VerifierKey) -> Result<(), Error> {
    if key.sig_type() != SignatureType::Ed25519 {
        return Err(Error::field(
            "key",
            format_args!(
                "{key} has signature type 0x{:02x}; entries are signed with Ed25519 keys (type 0x01)",
                key.sig_type().byte()
            ),
        ));
    }
    Ok(())
}

/// Identity claims: at most four, sorted in byte order, without duplicates.
fn check_identity(claims: &[IdentityClaim]) -> Result<(), Error> {
    if claims.len() > MAX_IDENTITY_CLAIMS {
        return Err(Error::field(
            "identity",
            format_args!(
                "{} claims given; at most {MAX_IDENTITY_CLAIMS} are allowed",
                claims.len()
            ),
        ));
    }
    for pair in claims.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a == b {
            return Err(Error::field(
                "identity",
                format_args!("{a} appears twice; give it once"),
            ));
        }
        if a > b {
            return Err(Error::field(
                "identity",
                format_args!("lines are not sorted: {b} must come before {a} (byte order)"),
            ));
        }
    }
    Ok(())
}

fn too_large(len: usize) -> Error {
    Error::malformed(
        "entry",
        format_args!(
            "it is {len} bytes; an entry is at most {MAX_ENTRY_SIZE} bytes, so shorten its fields"
        ),
    )
}
