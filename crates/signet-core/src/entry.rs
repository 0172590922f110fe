//! The log's entries (DESIGN §3): letter registrations, endorsements and withdrawals,
//! each one signed note with exactly one signature, by the key its `key` line names.
//!
//! [`Entry::parse`] is the one parser the server, the CLI and the auditor share. It
//! accepts exactly one encoding of each statement, and an [`Entry`] exists only once its
//! grammar and its signature have been checked.

use std::fmt;

use crate::{Error, Hash, LetterId, SigningKey, Timestamp, VerifierKey};

/// A letter's slug: `[a-z0-9-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

/// A lowercase BCP 47 language tag: `[a-z]{2,3}(-[a-z0-9]{2,8})*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

/// An identity claim (recorded, not yet verified): `https://<host><path>`,
/// `dns:<domain>` or `github:<login>`, in the forms DESIGN §3 fixes.
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
        let _ = s;
        todo!()
    }
}

impl Language {
    /// Parses a language tag.
    pub fn parse(s: &str) -> Result<Language, Error> {
        let _ = s;
        todo!()
    }
}

impl IdentityClaim {
    /// Parses an identity claim.
    pub fn parse(s: &str) -> Result<IdentityClaim, Error> {
        let _ = s;
        todo!()
    }
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

/// One of the three statements an entry can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// A letter registration.
    Letter(LetterRegistration),
    /// An endorsement.
    Endorsement(Endorsement),
    /// A withdrawal.
    Withdrawal(Withdrawal),
}

impl Statement {
    /// `letter`, `endorsement` or `withdrawal`, as in the HTTP API's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Statement::Letter(_) => "letter",
            Statement::Endorsement(_) => "endorsement",
            Statement::Withdrawal(_) => "withdrawal",
        }
    }

    /// The letter the statement is about.
    pub fn letter(&self) -> LetterId {
        match self {
            Statement::Letter(s) => s.letter,
            Statement::Endorsement(s) => s.letter,
            Statement::Withdrawal(s) => s.letter,
        }
    }

    /// The statement's time.
    pub fn time(&self) -> Timestamp {
        match self {
            Statement::Letter(s) => s.time,
            Statement::Endorsement(s) => s.time,
            Statement::Withdrawal(s) => s.time,
        }
    }

    /// The key of its `key` line, which must sign it.
    pub fn key(&self) -> &VerifierKey {
        match self {
            Statement::Letter(s) => &s.key,
            Statement::Endorsement(s) => &s.key,
            Statement::Withdrawal(s) => &s.key,
        }
    }

    /// Checks every field against DESIGN §3 (the builder's check before signing).
    pub fn validate(&self) -> Result<(), Error> {
        todo!()
    }

    /// The statement's one encoding: the note text, ending in a newline.
    pub fn body(&self) -> String {
        todo!()
    }

    /// Parses a note text (body) strictly, with every rule of DESIGN §3.
    pub fn parse_body(body: &str) -> Result<Statement, Error> {
        let _ = body;
        todo!()
    }

    /// Validates the statement and signs it with `key`, which must be the key of the
    /// `key` line (same name and public key).
    pub fn sign(&self, key: &SigningKey) -> Result<Entry, Error> {
        let _ = key;
        todo!()
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
        let _ = bytes;
        todo!()
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
