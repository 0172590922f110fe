//! C2SP tlog-policy: which logs and witnesses a verifier trusts, and how many witness
//! cosignatures a checkpoint needs (the quorum).
//!
//! This is pure parsing and checking; it lives here until `signet-core` has it.
//! Names are compared as opaque bytes, as the spec requires; key lines must be UTF-8,
//! since a verifier key is text.

use std::collections::{HashMap, HashSet};

use signet_core::{SignedCheckpoint, VerifierKey, cosignature};

use crate::Error;

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    logs: Vec<VerifierKey>,
    witnesses: Vec<(Vec<u8>, VerifierKey)>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Group {
    threshold: usize,
    members: Vec<Node>,
}

impl Policy {
    /// Parses a policy file strictly.
    pub fn parse(bytes: &[u8]) -> Result<Policy, Error> {
        let mut logs: Vec<VerifierKey> = Vec::new();
        let mut witnesses: Vec<(Vec<u8>, VerifierKey)> = Vec::new();
        let mut groups = Vec::new();
        let mut names: HashMap<Vec<u8>, Node> = HashMap::new();
        let mut keys: HashSet<[u8; 32]> = HashSet::new();
        let mut quorum: Option<Option<Node>> = None;

        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let bad = |reason: &str| Error::BadPolicy {
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
            let vkey = |w: &[u8]| -> Result<VerifierKey, Error> {
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
                    names.insert(name.clone(), Node::Witness(witnesses.len()));
                    witnesses.push((name, key));
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
        let quorum = quorum.ok_or(Error::BadPolicy {
            line: 0,
            reason: String::from("no quorum line"),
        })?;
        Ok(Policy {
            logs,
            witnesses,
            groups,
            quorum,
        })
    }

    /// A policy trusting one log and needing no witness (`quorum none`).
    pub fn single_log(log_key: VerifierKey) -> Policy {
        Policy {
            logs: vec![log_key],
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        }
    }

    /// The logs the policy lists.
    pub fn logs(&self) -> &[VerifierKey] {
        &self.logs
    }

    /// Verifies a checkpoint: signed by a listed log whose key name is its origin, and
    /// cosigned by a quorum of witnesses. Returns the log key that signed it.
    pub fn verify_checkpoint(&self, signed: &SignedCheckpoint) -> Result<VerifierKey, Error> {
        let origin = &signed.checkpoint().origin;
        let candidates: Vec<&VerifierKey> = self
            .logs
            .iter()
            .filter(|k| k.name().as_str() == origin)
            .collect();
        if candidates.is_empty() {
            return Err(Error::PolicyNotSatisfied(format!(
                "no log in the policy has the origin {origin:?}"
            )));
        }
        let mut last = None;
        let mut log = None;
        for key in candidates {
            match signed.verify(key) {
                Ok(_) => {
                    log = Some(key.clone());
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let log = match (log, last) {
            (Some(log), _) => log,
            (None, Some(e)) => return Err(Error::verification("the checkpoint", e)),
            (None, None) => return Err(Error::PolicyNotSatisfied(String::from("no log key"))),
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
        if let Some(q) = self.quorum
            && !self.witnessed(q, &cosigned)
        {
            {
                let names: Vec<String> = self
                    .witnesses
                    .iter()
                    .zip(&cosigned)
                    .filter(|(_, c)| **c)
                    .map(|((n, _), _)| String::from_utf8_lossy(n).into_owned())
                    .collect();
                return Err(Error::PolicyNotSatisfied(format!(
                    "the witness quorum is not met (valid cosignatures from: {})",
                    if names.is_empty() {
                        String::from("none")
                    } else {
                        names.join(", ")
                    }
                )));
            }
        }
        Ok(log)
    }

    fn witnessed(&self, node: Node, cosigned: &[bool]) -> bool {
        match node {
            Node::Witness(i) => cosigned[i],
            Node::Group(g) => {
                let group = &self.groups[g];
                // Members are defined before the group, so this recursion terminates.
                group
                    .members
                    .iter()
                    .filter(|m| self.witnessed(**m, cosigned))
                    .count()
                    >= group.threshold
            }
        }
    }
}

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

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use signet_core::keys::SignatureType;
    use signet_core::{Checkpoint, Hash, KeyName, SigningKey};

    use super::*;

    fn key(name: &str, sig_type: SignatureType) -> SigningKey {
        SigningKey::from_seed(
            KeyName::parse(name).unwrap(),
            sig_type,
            &Hash::sha256(name.as_bytes()).0,
        )
    }

    fn log() -> SigningKey {
        key("example.org/log", SignatureType::Ed25519)
    }

    fn witness(n: u32) -> SigningKey {
        key(&format!("witness{n}.example"), SignatureType::CosignatureV1)
    }

    /// A checkpoint signed by the log and cosigned by the given witnesses.
    fn checkpoint(cosigners: &[u32]) -> SignedCheckpoint {
        let body = Checkpoint {
            origin: String::from("example.org/log"),
            size: 3,
            root: Hash::sha256(b"r"),
            extensions: vec![],
        };
        let mut signed = body.sign(&log()).unwrap();
        for &w in cosigners {
            let sig = cosignature::cosign(&body, &witness(w), 1_700_000_000).unwrap();
            signed.note_mut().push_signature(sig);
        }
        signed
    }

    fn policy(quorum: &str) -> String {
        let mut p = format!(
            "# test policy\nlog {} https://example.org/log\n",
            log().verifier()
        );
        for w in 1..=3 {
            p.push_str(&format!("witness w{w} {}\n", witness(w).verifier()));
        }
        p.push_str("group two 2 w1 w2 w3\ngroup all-of all w1 w2\n");
        p.push_str(&format!("  quorum\t{quorum}  \n"));
        p
    }

    #[test]
    fn quorums() {
        fn check(quorum: &str, cosigners: &[u32], ok: bool) {
            let p = Policy::parse(policy(quorum).as_bytes()).unwrap();
            let result = p.verify_checkpoint(&checkpoint(cosigners));
            assert_eq!(
                result.is_ok(),
                ok,
                "quorum {quorum} with {cosigners:?}: {result:?}"
            );
        }
        check("none", &[], true);
        check("w1", &[], false);
        check("w1", &[2], false);
        check("w1", &[1], true);
        check("two", &[3], false);
        check("two", &[1, 3], true);
        check("all-of", &[1, 3], false);
        check("all-of", &[2, 1], true);
    }

    #[test]
    fn wrong_log() {
        let other = key("example.org/other", SignatureType::Ed25519);
        let p =
            Policy::parse(format!("log {}\nquorum none\n", other.verifier()).as_bytes()).unwrap();
        let err = p.verify_checkpoint(&checkpoint(&[])).unwrap_err();
        assert!(matches!(err, Error::PolicyNotSatisfied(_)), "{err}");
        // Same name, another key: the signature does not verify.
        let impostor = key("example.org/log", SignatureType::Ed25519);
        let impostor = VerifierKey::new(
            impostor.name().clone(),
            SignatureType::Ed25519,
            *witness(9).verifier().public_key(),
        );
        let p = Policy::parse(format!("log {impostor}\nquorum none\n").as_bytes()).unwrap();
        assert!(p.verify_checkpoint(&checkpoint(&[])).is_err());
    }

    #[test]
    fn parse_errors() {
        let w1 = witness(1).verifier();
        let l = log().verifier();
        fn check(text: &str, line: usize) {
            match Policy::parse(text.as_bytes()) {
                Err(Error::BadPolicy { line: got, .. }) => assert_eq!(got, line, "{text}"),
                other => panic!("{text}: expected an error on line {line}, got {other:?}"),
            }
        }
        check("log x\nquorum none\n", 1);
        check(&format!("log {l}\n"), 0);
        check(&format!("log {l}\nlog {l}\nquorum none\n"), 2);
        check(&format!("witness a {w1}\nwitness b {w1}\nquorum a\n"), 2);
        check(&format!("witness none {w1}\nquorum none\n"), 1);
        check(&format!("witness a {w1}\ngroup g 0 a\nquorum g\n"), 2);
        check(&format!("witness a {w1}\ngroup g 2 a\nquorum g\n"), 2);
        check(&format!("witness a {w1}\ngroup g any b\nquorum g\n"), 2);
        check(&format!("witness a {w1}\ngroup g any a a\nquorum g\n"), 2);
        check("quorum none\nquorum none\n", 2);
        check("quorum nobody\n", 1);
        check("frobnicate\nquorum none\n", 1);
        check("quorum none\r\n", 1);
        check(&format!("witness a {w1}\ngroup g 01 a\nquorum g\n"), 2);
    }
}
