#!/usr/bin/env python3
"""Writes moderation-vectors.json: a fixed log of letter registrations, moderator
appointments, endorsements, withdrawals and moderations, each as its exact signed-note
bytes, with the decision the rules of docs/protocol.md give for it.

It is written from the format's description alone, with Python's `cryptography`
(Ed25519) and `hashlib`, and shares no code with the Rust implementation: the Rust test
(tests/moderation.rs, `the_fixed_vectors`) parses, verifies, re-signs and replays it.

    python3 moderation-vectors.py > moderation-vectors.json
"""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


class Key:
    def __init__(self, name, seed):
        self.name = name
        self.seed = seed
        self.private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())
        self.public = self.private.public_key().public_bytes(*RAW)
        self.key_id = hashlib.sha256(name.encode() + b"\n\x01" + self.public).digest()[:4]

    def vkey(self):
        return "%s+%s+%s" % (
            self.name,
            self.key_id.hex(),
            base64.b64encode(b"\x01" + self.public).decode(),
        )

    def sign(self, text):
        signature = self.private.sign(text.encode())
        line = "\u2014 %s %s\n" % (self.name, base64.b64encode(self.key_id + signature).decode())
        return text + "\n" + line


def key(name, seed=None):
    return Key(name, seed if seed is not None else name)


def letter(n):
    return "sha256:" + hashlib.sha256(bytes([n])).hexdigest()


def time(minute):
    hours, minutes = divmod(minute, 60)
    return "2026-01-01T%02d:%02d:00Z" % (hours, minutes)


def lines(*pairs):
    return "".join(line + "\n" for line in pairs if line is not None)


LOG = key("example.org/log")


def register(n, slug, by=LOG):
    return by, lines(
        "signet/letter/v1",
        "letter " + letter(n),
        "slug " + slug,
        "title Letter " + slug,
        "language en",
        "time " + time(0),
        "key " + by.vkey(),
    )


def appoint(moderator, minute=0, by=LOG):
    return by, lines(
        "signet/moderator/v1",
        "moderator " + moderator.vkey(),
        "name " + moderator.name,
        "time " + time(minute),
        "key " + by.vkey(),
    )


def endorse(signer, n, name, minute):
    return signer, lines(
        "signet/endorsement/v1",
        "letter " + letter(n),
        "name " + name,
        "time " + time(minute),
        "key " + signer.vkey(),
    )


def withdraw(signer, n, minute):
    return signer, lines(
        "signet/withdrawal/v1",
        "letter " + letter(n),
        "time " + time(minute),
        "key " + signer.vkey(),
    )


def moderate(by, n, entry, action, minute, reason="impersonation", note=None):
    return by, lines(
        "signet/moderation/v1",
        "letter " + letter(n),
        "entry " + str(entry),
        "action " + action,
        "reason " + reason,
        None if note is None else "note " + note,
        "time " + time(minute),
        "key " + by.vkey(),
    )


MOD_A, MOD_B = key("mod-a"), key("mod-b")
ALICE, BOB, CAROL, MALLORY = key("alice"), key("bob"), key("carol"), key("mallory")

# (what the case shows, (signer, text), outcome). An outcome is "accepted", or
# "malformed: <words the error must contain>" (HTTP 400, the entry never reaches the log),
# or "rejected: <words>" (a rule of state: HTTP 422). Only accepted entries take an index.
CASES = [
    ("letter 1", register(1, "one"), "accepted"),
    ("letter 2", register(2, "two"), "accepted"),
    ("the log appoints mod-a", appoint(MOD_A), "accepted"),
    ("alice endorses letter 1", endorse(ALICE, 1, "Sam Altman", 1), "accepted"),
    ("bob endorses letter 2", endorse(BOB, 2, "Bob", 1), "accepted"),
    ("carol endorses letter 1", endorse(CAROL, 1, "Carol", 1), "accepted"),
    ("carol withdraws", withdraw(CAROL, 1, 2), "accepted"),
    ("mod-a hides alice, with a note", moderate(MOD_A, 1, 3, "hide", 5, note="not the real Sam Altman"), "accepted"),
    ("the same bytes again", moderate(MOD_A, 1, 3, "hide", 5, note="not the real Sam Altman"), "rejected: repeats the bytes of entry 7"),
    ("hiding a hidden signer", moderate(MOD_A, 1, 3, "hide", 6), "rejected: already hidden"),
    ("showing a signer who is not hidden", moderate(MOD_A, 1, 5, "show", 6), "rejected: not hidden"),
    ("a target that endorses another letter", moderate(MOD_A, 1, 4, "hide", 6), "rejected: endorses letter"),
    ("mallory is no moderator", moderate(MALLORY, 1, 5, "hide", 6, reason="spam"), "rejected: not an appointed moderator"),
    ("a moderator appointed by someone else", appoint(MOD_B, by=MALLORY), "rejected: not the log's key"),
    ("the log appoints mod-b", appoint(MOD_B, minute=3), "accepted"),
    ("mod-b shows alice at the same time as the hide", moderate(MOD_B, 1, 3, "show", 5, reason="reviewed"), "rejected: must be later"),
    ("a target that is a withdrawal", moderate(MOD_B, 1, 6, "hide", 6), "rejected: not an endorsement"),
    ("a target not yet in the log", moderate(MOD_B, 1, 40, "hide", 6), "rejected: not earlier"),
    ("an unregistered letter", moderate(MOD_B, 9, 3, "hide", 6), "rejected: not registered"),
    ("alice withdraws while hidden", withdraw(ALICE, 1, 3), "accepted"),
    ("alice endorses again: still hidden", endorse(ALICE, 1, "Sam Altman", 4), "accepted"),
    ("mod-b shows alice, naming her newer endorsement", moderate(MOD_B, 1, 10, "show", 6, reason="reviewed"), "accepted"),
    ("mod-a hides carol, who withdrew", moderate(MOD_A, 1, 5, "hide", 2, reason="duplicate"), "accepted"),
    ("an upper-case action", (MOD_A, moderate(MOD_A, 1, 3, "hide", 7)[1].replace("action hide", "action Hide")), "malformed: action"),
    ("an unknown reason", moderate(MOD_A, 1, 3, "hide", 7, reason="rude"), "malformed: reason"),
    ("an entry number with a leading zero", (MOD_A, moderate(MOD_A, 1, 3, "hide", 7)[1].replace("entry 3", "entry 03")), "malformed: entry"),
    ("an empty note", (MOD_A, moderate(MOD_A, 1, 3, "hide", 7)[1].replace("reason impersonation\n", "reason impersonation\nnote \n")), "malformed: note"),
    ("an appointment whose name is not the moderator's key name", (LOG, appoint(key("mod-c"))[1].replace("name mod-c", "name someone")), "malformed: name"),
]


def main():
    keys = [LOG, MOD_A, MOD_B, ALICE, BOB, CAROL, MALLORY]
    out = {
        "about": "Generated by moderation-vectors.py (Python cryptography, hashlib), independently of the Rust code. Entry keys are Ed25519 with seed SHA-256(seed). Letter n is SHA-256 of the one byte n. Cases are submitted in order; only accepted ones take the next index, from 0.",
        "log_key": LOG.vkey(),
        "keys": [{"name": k.name, "seed": k.seed, "vkey": k.vkey()} for k in keys],
        "cases": [],
    }
    for what, (signer, text), outcome in CASES:
        out["cases"].append({"what": what, "signer": signer.vkey(), "seed": signer.seed, "note": signer.sign(text), "outcome": outcome})
    # What the list of each letter shows at the end.
    out["tally"] = {letter(1): {"shown": 1, "withdrawn": 0, "hidden": 1}, letter(2): {"shown": 1, "withdrawn": 0, "hidden": 0}}
    print(json.dumps(out, indent=1, ensure_ascii=False))


main()
