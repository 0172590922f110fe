#!/usr/bin/env python3
"""Writes vectors.json: the test vectors that the Rust tests and the in-browser verifier
both run. Ed25519 is computed here from RFC 8032 section 5.1 with Python integers, an
implementation independent of both the Rust code and the JavaScript verifier.

Run: python3 make_vectors.py > vectors.json
"""
import hashlib, json, unicodedata

p = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
d = (-121665 * pow(121666, p - 2, p)) % p
I = pow(2, (p - 1) // 4, p)

def inv(x): return pow(x, p - 2, p)

def add(P, Q):
    (x1, y1), (x2, y2) = P, Q
    t = d * x1 * x2 * y1 * y2 % p
    return ((x1 * y2 + y1 * x2) * inv(1 + t) % p, (y1 * y2 + x1 * x2) * inv(1 - t) % p)

def mul(k, P):
    R = (0, 1)
    while k:
        if k & 1: R = add(R, P)
        P = add(P, P); k >>= 1
    return R

def recover_x(y, sign):
    u, v = (y * y - 1) % p, (d * y * y + 1) % p
    x = u * pow(v, 3, p) * pow(u * pow(v, 7, p), (p - 5) // 8, p) % p
    if v * x * x % p == (-u) % p: x = x * I % p
    if v * x * x % p != u: return None
    if x & 1 != sign: x = (p - x) % p
    return x

By = 4 * inv(5) % p
B = (recover_x(By, 0), By)

def enc(P):
    x, y = P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")

def sha512_int(*parts):
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little")

def keypair(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8; a |= 1 << 254
    return a, h[32:], enc(mul(a, B))

def sign(seed, msg):
    a, prefix, A = keypair(seed)
    r = sha512_int(prefix, msg) % L
    R = enc(mul(r, B))
    k = sha512_int(R, A, msg) % L
    return A, R + ((r + k * a) % L).to_bytes(32, "little")

def le(n): return n.to_bytes(32, "little")

rfc8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", ""),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82"),
]
# The expected signatures, as printed in RFC 8032 section 7.1, so that this script is
# checked against the RFC as well.
rfc8032_sigs = [
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
]

sigs = []
for n, ((seed, msg), want) in enumerate(zip(rfc8032, rfc8032_sigs), 1):
    A, sig = sign(bytes.fromhex(seed), bytes.fromhex(msg))
    assert sig.hex() == want, n
    sigs.append({"comment": f"RFC 8032 section 7.1 test {n}", "public_key": A.hex(),
                 "message": msg, "signature": sig.hex(), "fails": None})

seed1, msg1 = bytes.fromhex(rfc8032[0][0]), b""
A1, sig1 = sign(seed1, msg1)
sigs.append({"comment": "test 1's signature on another message", "public_key": A1.hex(),
             "message": "00", "signature": sig1.hex(), "fails": "signature"})
bad = bytearray(sig1); bad[10] ^= 1
sigs.append({"comment": "test 1 with one bit of R flipped", "public_key": A1.hex(),
             "message": "", "signature": bytes(bad).hex(), "fails": "signature"})
S1 = int.from_bytes(sig1[32:], "little")
sigs.append({"comment": "test 1 with S + L: the same point equation, S not below L",
             "public_key": A1.hex(), "message": "", "signature": (sig1[:32] + le(S1 + L)).hex(),
             "fails": "scalar"})

identity = enc((0, 1))
# With A and R the identity and S = 0, the equation [S]B = R + [k]A holds for every
# message: a verifier without the small-order checks accepts it.
sigs.append({"comment": "A and R the identity (order 1), S = 0: holds for any message",
             "public_key": identity.hex(), "message": "6f70656e206c6574746572",
             "signature": (identity + le(0)).hex(), "fails": "key"})
order2 = enc((0, p - 1))
sigs.append({"comment": "A of order 2, R the identity, S = 0", "public_key": order2.hex(),
             "message": "", "signature": (identity + le(0)).hex(), "fails": "key"})
# A small-order R with a sound key: S = k * a makes [S]B = [k]A, so R + [k]A = [S]B.
a, _, _ = keypair(seed1)
k = sha512_int(identity, A1, b"small R") % L
sigs.append({"comment": "a sound key, R the identity and S = k*a: the equation holds",
             "public_key": A1.hex(), "message": b"small R".hex(),
             "signature": (identity + le(k * a % L)).hex(), "fails": "r"})
# The identity encoded with y = p + 1 (non-canonical), R the identity, S = 0.
noncanon_identity = le(p + 1)
sigs.append({"comment": "A the identity encoded with y = p + 1 (not canonical), S = 0",
             "public_key": noncanon_identity.hex(), "message": "",
             "signature": (identity + le(0)).hex(), "fails": "key"})

points = []
def point(comment, b, ok):
    points.append({"comment": comment, "encoding": b.hex(), "valid": ok})
point("the base point", enc(B), True)
point("test 1's public key", A1, True)
point("the identity (order 1)", identity, False)
point("the point of order 2 (y = p - 1)", order2, False)
x4 = recover_x(0, 0)
point("a point of order 4 (y = 0)", enc((x4, 0)), False)
point("the other point of order 4 (y = 0, sign bit set)", enc(((p - x4) % p, 0)), False)
# The points of order 8: y = the roots of the order-8 equation, found from a known one.
y8 = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"), "little") & ((1 << 255) - 1)
x8 = recover_x(y8, 0)
P8 = (x8, y8)
assert mul(8, P8) == (0, 1) and mul(4, P8) != (0, 1)
point("a point of order 8", enc(P8), False)
point("a point of order 8, its negation", enc(((p - x8) % p, y8)), False)
point("a point of order 8 (3 times the first)", enc(mul(3, P8)), False)
# verify_strict refuses small order only; a point with a torsion part is accepted.
point("the base point plus a point of order 8 (mixed order, not small)", enc(add(B, P8)), True)
point("y = p: not canonical (it would be the point y = 0)", le(p), False)
point("y = p + 1: not canonical (the identity)", le(p + 1), False)
point("the identity with the sign bit set (x = 0, sign 1): not canonical",
      le(1 | (1 << 255)), False)
# The smallest y >= p that decodes to a point of large order: canonical checks must
# refuse it, though a lax decoder accepts it.
for extra in range(2, 19):
    x = recover_x(extra, 0)
    if x is not None and mul(8, (x, extra)) != (0, 1):
        point(f"y = p + {extra}: not canonical, a point of large order", le(p + extra), False)
        break
for y in range(2, 100):
    if recover_x(y, 0) is None:
        point(f"y = {y}: not on the curve", le(y), False)
        break

def letter_id(raw):
    text = raw
    if text.startswith("\ufeff"): text = text[1:]
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [l.rstrip(" \t") for l in text.split("\n")]
    while lines and lines[0] == "": lines.pop(0)
    while lines and lines[-1] == "": lines.pop()
    canonical = "\n".join(lines) + "\n"
    return canonical, "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

letters = []
for comment, raw in [
    ("plain, one final LF", "An open letter.\n"),
    ("no final LF", "An open letter."),
    ("CRLF and CR line ends", "First line\r\nsecond line\rthird\r\n"),
    ("trailing spaces and tabs, blank lines around", "\n\n  Indented stays \t \nend\t\n\n\n"),
    ("a byte-order mark", "\ufeffWith a BOM\n"),
    ("NFD becomes NFC", "Cafe\u0301 and A\u030a\n"),
    ("Chinese and Cyrillic", "我们呼吁所有人工智能实验室\nПауза\n"),
    ("blank lines inside stay", "one\n\n\ntwo\n"),
]:
    canonical, lid = letter_id(raw)
    letters.append({"comment": comment, "text": raw, "canonical": canonical, "id": lid})

print(json.dumps({
    "about": "Written by make_vectors.py (Ed25519 from RFC 8032 section 5.1 in Python integers; "
             "the letter canonical form as docs/protocol.md states it). 'fails' names what a "
             "strict verifier refuses: null (valid), signature, scalar (S not below L), key "
             "(A not canonical or of small order), r (R not canonical or of small order).",
    "ed25519": sigs, "points": points, "letters": letters}, indent=1, ensure_ascii=False))
