//! C2SP tlog-policy: which logs and witnesses a verifier trusts, and how many witness
//! cosignatures a checkpoint needs (the quorum).
//!
//! A policy is a format like the others here: parsed strictly from bytes, then used to
//! check a [`SignedCheckpoint`]. Nothing reads a file; the caller brings the bytes.
//! Names are compared as opaque bytes, as the specification requires; key lines must be
//! UTF-8, since a verifier key is text.
//!
//! ```
//! use signet_core::policy::Policy;
//! use signet_core::keys::SignatureType;
//! use signet_core::{Checkpoint, Hash, KeyName, SigningKey};
//!
//! let log = SigningKey::from_seed(
//!     KeyName::parse("example.org/log")?,
//!     SignatureType::Ed25519,
//!     &[7; 32],
//! );
//! let policy = Policy::parse(format!("log {}\nquorum none\n", log.verifier()).as_bytes())?;
//! let checkpoint = Checkpoint {
//!     origin: String::from("example.org/log"),
//!     size: 1,
//!     root: Hash::sha256(b"root"),
//!     extensions: vec![],
//! };
//! let signed = checkpoint.sign(&log)?;
//! assert_eq!(policy.verify_checkpoint(&signed)?, log.verifier());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, HashSet};

use crate::{SignedCheckpoint, VerifierKey, cosignature};

/// Why a policy cannot be parsed, or why a checkpoint does not satisfy it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A line does not follow the grammar of c2sp.org/tlog-policy.
    #[error("policy line {line}: {reason}")]
    Syntax {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// The policy has no `quorum` line, which the grammar requires.
    #[error("the policy has no quorum line; add `quorum none` or `quorum <name>`")]
    NoQuorum,
    /// No log of the policy has the checkpoint's origin as its key name.
    #[error("no log in the policy has the origin {origin:?}")]
    UnknownOrigin {
        /// The checkpoint's origin.
        origin: String,
    },
    /// The checkpoint's signature does not verify with the policy's key for its origin.
    #[error("the checkpoint of {origin:?} does not verify with the policy's log key: {error}")]
    BadSignature {
        /// The checkpoint's origin.
        origin: String,
        /// Why the signature does not verify.
        error: crate::Error,
    },
    /// The checkpoint lacks the cosignatures the quorum needs.
    #[error(
        "the witness quorum is not met (valid cosignatures from: {})",
        list(cosigned)
    )]
    QuorumNotMet {
        /// The witnesses (by their names in the policy) whose cosignatures verified.
        cosigned: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        String::from("none")
    } else {
        names.join(", ")
    }
}

/// A witness a policy names: its name in the policy, its cosigner key, and the URL
/// prefix of its `add-checkpoint` endpoint when the policy gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    /// The witness's name in the policy (opaque bytes there; shown lossily as UTF-8).
    pub name: String,
    /// Its cosigner verifier key (cosignature/v1).
    pub key: VerifierKey,
    /// The submission prefix: `add-checkpoint` is `<url>/add-checkpoint`.
    pub url: Option<String>,
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    logs: Vec<VerifierKey>,
    witnesses: Vec<(Vec<u8>, VerifierKey)>,
    urls: Vec<Option<String>>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Node>,
}

/// A member of a group, or what the quorum names: a witness, by its position in
/// [`Policy::witnesses`], or a group, by its position in [`Policy::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuorumNode {
    /// The witness at this position.
    Witness(usize),
    /// The group at this position.
    Group(usize),
}

/// A group of a policy: met when at least `threshold` of its members are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumGroup {
    /// How many members must be met (`all` and `any` are resolved to numbers).
    pub threshold: usize,
    /// Its members, in the order of the group line.
    pub members: Vec<QuorumNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Witness(usize),
    Group(usize),
}

impl Node {
    fn public(self) -> QuorumNode {
        match self {
            Node::Witness(w) => QuorumNode::Witness(w),
            Node::Group(g) => QuorumNode::Group(g),
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    threshold: usize,
    /// Witnesses, or groups defined on earlier lines (so of a lower index).
    members: Vec<Node>,
}

impl Policy {
    /// Parses a policy file strictly.
    pub fn parse(bytes: &[u8]) -> Result<Policy, PolicyError> {
        let mut logs: Vec<VerifierKey> = Vec::new();
        let mut witnesses: Vec<(Vec<u8>, VerifierKey)> = Vec::new();
        let mut urls: Vec<Option<String>> = Vec::new();
        let mut groups = Vec::new();
        let mut names: HashMap<Vec<u8>, Node> = HashMap::new();
        let mut keys: HashSet<[u8; 32]> = HashSet::new();
        let mut quorum: Option<Option<Node>> = None;

        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let bad = |reason: &str| PolicyError::Syntax {
                line: n + 1,
                reason: reason.to_owned(),
            };
            if let Some(b) = line.iter().find(|&&b| b < 0x20 && b != b'\t' || b == 0x7f) {
                return Err(bad(&format!("control character 0x{b:02x}")));
            }
            let words: Vec<&[u8]> = line
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|w| !w.is_empty())
                .collect();
            let Some((&keyword, args)) = words.split_first() else {
                continue;
            };
            if keyword.starts_with(b"#") {
                continue;
            }
            let vkey = |w: &[u8]| -> Result<VerifierKey, PolicyError> {
                let s = std::str::from_utf8(w).map_err(|_| bad("a verifier key must be UTF-8"))?;
                VerifierKey::parse(s).map_err(|e| bad(&format!("bad verifier key: {e}")))
            };
            match keyword {
                b"log" => {
                    if !(1..=2).contains(&args.len()) {
                        return Err(bad("expected `log <vkey> [<url>]`"));
                    }
                    let key = vkey(args[0])?;
                    if !keys.insert(*key.public_key()) {
                        return Err(bad("duplicate key"));
                    }
                    logs.push(key);
                }
                b"witness" => {
                    if !(2..=3).contains(&args.len()) {
                        return Err(bad("expected `witness <name> <vkey> [<url>]`"));
                    }
                    let name = args[0].to_vec();
                    if name == b"none" || names.contains_key(&name) {
                        return Err(bad("name already defined (or `none`)"));
                    }
                    let key = vkey(args[1])?;
                    if !keys.insert(*key.public_key()) {
                        return Err(bad("duplicate key"));
                    }
                    let url = match args.get(2) {
                        Some(u) => Some(
                            std::str::from_utf8(u)
                                .map_err(|_| bad("a witness URL must be UTF-8"))?
                                .trim_end_matches('/')
                                .to_owned(),
                        ),
                        None => None,
                    };
                    names.insert(name.clone(), Node::Witness(witnesses.len()));
                    witnesses.push((name, key));
                    urls.push(url);
                }
                b"group" => {
                    if args.len() < 3 {
                        return Err(bad("expected `group <name> <all|any|k> <name>...`"));
                    }
                    let name = args[0].to_vec();
                    if name == b"none" || names.contains_key(&name) {
                        return Err(bad("name already defined (or `none`)"));
                    }
                    let mut members = Vec::new();
                    for m in &args[2..] {
                        let node = *names
                            .get(*m)
                            .ok_or_else(|| bad("group member not defined on an earlier line"))?;
                        if members.contains(&node) {
                            return Err(bad("group member listed twice"));
                        }
                        members.push(node);
                    }
                    let threshold = match args[1] {
                        b"all" => members.len(),
                        b"any" => 1,
                        k => parse_decimal(k)
                            .ok_or_else(|| bad("threshold must be all, any or a number"))?,
                    };
                    if threshold < 1 || threshold > members.len() {
                        return Err(bad("threshold must be between 1 and the number of members"));
                    }
                    names.insert(name, Node::Group(groups.len()));
                    groups.push(Group { threshold, members });
                }
                b"quorum" => {
                    if args.len() != 1 {
                        return Err(bad("expected `quorum <name>`"));
                    }
                    if quorum.is_some() {
                        return Err(bad("a second quorum line"));
                    }
                    quorum = Some(if args[0] == b"none" {
                        None
                    } else {
                        Some(
                            *names
                                .get(args[0])
                                .ok_or_else(|| bad("quorum names nothing defined earlier"))?,
                        )
                    });
                }
                _ => {
                    return Err(bad(
                        "unknown keyword (expected log, witness, group or quorum)",
                    ));
                }
            }
        }
        let quorum = quorum.ok_or(PolicyError::NoQuorum)?;
        Ok(Policy {
            logs,
            witnesses,
            urls,
            groups,
            quorum,
        })
    }

    /// A policy trusting one log and needing no witness (`quorum none`).
    pub fn single_log(log_key: VerifierKey) -> Policy {
        Policy {
            logs: vec![log_key],
            witnesses: Vec::new(),
            urls: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        }
    }

    /// The witnesses the policy names, in the order of their lines.
    pub fn witnesses(&self) -> Vec<PolicyWitness> {
        self.witnesses
            .iter()
            .zip(&self.urls)
            .map(|((name, key), url)| PolicyWitness {
                name: String::from_utf8_lossy(name).into_owned(),
                key: key.clone(),
                url: url.clone(),
            })
            .collect()
    }

    /// The policy's groups, in the order of their lines (a group's members are
    /// witnesses or groups defined before it).
    pub fn groups(&self) -> Vec<QuorumGroup> {
        self.groups
            .iter()
            .map(|g| QuorumGroup {
                threshold: g.threshold,
                members: g.members.iter().map(|m| m.public()).collect(),
            })
            .collect()
    }

    /// What the `quorum` line names: a witness or a group, or `None` for `quorum none`.
    pub fn quorum(&self) -> Option<QuorumNode> {
        self.quorum.map(|n| n.public())
    }

    /// True when the policy needs no cosignature (`quorum none`).
    pub fn needs_no_witness(&self) -> bool {
        self.quorum.is_none()
    }

    /// The logs the policy lists.
    pub fn logs(&self) -> &[VerifierKey] {
        &self.logs
    }

    /// Verifies a checkpoint: signed by a listed log whose key name is its origin, and
    /// cosigned by a quorum of witnesses. Returns the log key that signed it.
    pub fn verify_checkpoint(&self, signed: &SignedCheckpoint) -> Result<VerifierKey, PolicyError> {
        let origin = &signed.checkpoint().origin;
        let mut last = None;
        for key in self.logs.iter().filter(|k| k.name().as_str() == origin) {
            match signed.verify(key) {
                Ok(_) => {
                    self.check_quorum(signed)?;
                    return Ok(key.clone());
                }
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(error) => PolicyError::BadSignature {
                origin: origin.clone(),
                error,
            },
            None => PolicyError::UnknownOrigin {
                origin: origin.clone(),
            },
        })
    }

    /// Checks only the witness quorum: whether the checkpoint's valid cosignatures by
    /// the policy's witnesses satisfy its `quorum` line. The log's own signature is not
    /// checked here; [`Policy::verify_checkpoint`] checks both.
    pub fn check_quorum(&self, signed: &SignedCheckpoint) -> Result<(), PolicyError> {
        let Some(quorum) = self.quorum else {
            return Ok(());
        };
        let checkpoint = signed.checkpoint();
        let cosigned: Vec<bool> = self
            .witnesses
            .iter()
            .map(|(_, key)| {
                signed.note().signatures().iter().any(|s| {
                    s.name == *key.name()
                        && s.id == key.id()
                        && cosignature::verify(checkpoint, key, s).is_ok()
                })
            })
            .collect();
        // Every group's members are witnesses or groups defined before it, so one pass
        // in definition order decides them all, with no recursion a deep chain of groups
        // could overflow.
        let mut groups_met: Vec<bool> = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let met = group
                .members
                .iter()
                .filter(|m| match **m {
                    Node::Witness(w) => cosigned.get(w).copied().unwrap_or(false),
                    Node::Group(g) => groups_met.get(g).copied().unwrap_or(false),
                })
                .count();
            groups_met.push(met >= group.threshold);
        }
        let met = match quorum {
            Node::Witness(w) => cosigned.get(w).copied(),
            Node::Group(g) => groups_met.get(g).copied(),
        };
        if met == Some(true) {
            return Ok(());
        }
        Err(PolicyError::QuorumNotMet {
            cosigned: self
                .witnesses
                .iter()
                .zip(&cosigned)
                .filter(|(_, c)| **c)
                .map(|((n, _), _)| String::from_utf8_lossy(n).into_owned())
                .collect(),
        })
    }
}

/// A canonical decimal of at most six digits (no sign, no leading zero).
fn parse_decimal(s: &[u8]) -> Option<usize> {
    if s.is_empty()
        || s.len() > 6
        || !s.iter().all(u8::is_ascii_digit)
        || (s[0] == b'0' && s.len() > 1)
    {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}
