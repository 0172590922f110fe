// Signet's in-browser verifier (see docs/http-api.md, "Pages"). It checks one entry of the
// log by itself, trusting nothing from the server but the log's verifier key written into
// the page: (1) the note's signature by the key in its key line, with the strict Ed25519
// rules (S < L; A and R canonical and not of small order) done here, because WebCrypto
// need not make them; (2) that the letter's canonical text hashes to the letter ID; (3) the
// leaf hash and the RFC 9162 inclusion proof up to the checkpoint's root; (4) the
// checkpoint's signature by the log key, and the cosignatures of the required witnesses.
// Plain JavaScript, no dependencies: WebCrypto does SHA-256 and Ed25519.

const enc = new TextEncoder();

/** A failed check: `step` names which one (signature, letter, inclusion, checkpoint,
 * cosignatures), `message` says what was wrong. */
export class VerifyError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

// ---- bytes, hex, base64 ----

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(s) {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new Error("not lowercase hex");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toBase64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Standard, padded, canonical base64 (no stray bits), as the protocol requires. */
export function fromBase64(s) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) {
    throw new Error("not standard padded base64");
  }
  const bin = atob(s);
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (toBase64(out) !== s) throw new Error("not canonical base64");
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ---- Ed25519: the strict checks, in BigInt arithmetic (RFC 8032 section 5.1) ----

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function mod(a) {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(base, exp) {
  let result = 1n;
  base = mod(base);
  while (exp > 0n) {
    if (exp & 1n) result = mod(result * base);
    base = mod(base * base);
    exp >>= 1n;
  }
  return result;
}

const inv = (x) => pow(x, P - 2n);
const D = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** Decodes a point as RFC 8032 section 5.1.3 does, refusing every non-canonical
 * encoding (y >= p, or x = 0 with the sign bit set); returns [x, y] or throws. */
export function decodePoint(bytes) {
  if (bytes.length !== 32) throw new Error("a point is 32 bytes");
  const sign = (bytes[31] >> 7) & 1;
  const y = littleEndian(bytes) & ((1n << 255n) - 1n);
  if (y >= P) throw new Error("not canonically encoded (y is not below p)");
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vxx = mod(v * x * x);
  if (vxx === mod(-u)) x = mod(x * SQRT_M1);
  else if (vxx !== u) throw new Error("not a point on the curve");
  if (x === 0n && sign === 1) throw new Error("not canonically encoded (x is 0, its sign bit 1)");
  if (Number(x & 1n) !== sign) x = P - x;
  return [x, y];
}

function add([x1, y1], [x2, y2]) {
  const t = mod(D * x1 * x2 * y1 * y2);
  return [mod((x1 * y2 + y1 * x2) * inv(1n + t)), mod((y1 * y2 + x1 * x2) * inv(1n - t))];
}

/** Whether [8]P is the identity: the point has order 1, 2, 4 or 8. */
export function isSmallOrder(point) {
  let q = point;
  for (let i = 0; i < 3; i++) q = add(q, q);
  return q[0] === 0n && q[1] === 1n;
}

/** Throws unless `bytes` is a canonical encoding of a point not of small order. */
export function checkPoint(bytes, what) {
  let point;
  try {
    point = decodePoint(bytes);
  } catch (e) {
    throw new Error(`${what} is ${e.message}`);
  }
  if (isSmallOrder(point)) throw new Error(`${what} is a point of small order`);
}

/** Ed25519 with the rules of verify_strict: throws an Error saying what failed. */
export async function verifyEd25519(publicKey, message, signature) {
  if (publicKey.length !== 32 || signature.length !== 64) {
    throw new Error("an Ed25519 key is 32 bytes and a signature 64");
  }
  checkPoint(publicKey, "the public key");
  checkPoint(signature.subarray(0, 32), "the signature's R");
  if (littleEndian(signature.subarray(32)) >= L) {
    throw new Error("the signature's S is not below the group order L");
  }
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (e) {
    throw new Error(`this browser cannot check Ed25519 signatures (${e.message})`);
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  if (!ok) throw new Error("the signature does not verify");
}

// ---- signed notes (C2SP signed-note) ----

/** Parses a verifier key `name+hex8+base64(type || key)`; `type` is 1 (Ed25519) for
 * note signers, 4 for cosigners (C2SP tlog-cosignature). */
export async function parseVerifierKey(s, type = 1) {
  // The key data is base64, which may itself hold "+": split at the first two only.
  const first = s.indexOf("+");
  const second = s.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new Error(`not a verifier key: ${s}`);
  const [name, id, b64] = [s.slice(0, first), s.slice(first + 1, second), s.slice(second + 1)];
  if (name === "" || !/^[0-9a-f]{8}$/.test(id)) throw new Error(`not a verifier key: ${s}`);
  const raw = fromBase64(b64);
  if (raw.length !== 33 || raw[0] !== type) {
    throw new Error(`not a key of signature type ${type}: ${s}`);
  }
  const want = (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a), raw))).subarray(0, 4);
  if (hex(want) !== id) throw new Error(`the key ID of ${s} does not match its key`);
  return { name, id: fromHex(id), key: raw.subarray(1) };
}

/** Splits a signed note into its text (ending in a newline) and its signature lines. */
export function splitNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("not a signed note");
  return { text: note.slice(0, split + 1), lines: note.slice(split + 2, -1).split("\n") };
}

/** A signed note's text and its signatures, decoded. */
export function parseNote(note) {
  const { text, lines } = splitNote(note);
  const signatures = lines.map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error(`not a signature line: ${line}`);
      return { name: m[1], sig: fromBase64(m[2]) };
    });
  return { text, signatures };
}

// ---- letters ----

/** The canonical form of a letter's text (docs/protocol.md, "Letters"). */
export function canonicalLetter(raw) {
  let text = raw.startsWith("\ufeff") ? raw.slice(1) : raw;
  text = text.normalize("NFC").replace(/\r\n/g, "\n").replace(/\r/g, "\n");
  const lines = text.split("\n").map((l) => l.replace(/[ \t]+$/, ""));
  const first = lines.findIndex((l) => l !== "");
  if (first < 0) throw new Error("the letter is empty");
  let last = lines.length - 1;
  while (lines[last] === "") last--;
  return lines.slice(first, last + 1).join("\n") + "\n";
}

export async function letterId(raw) {
  return "sha256:" + hex(await sha256(enc.encode(canonicalLetter(raw))));
}

// ---- Merkle tree (RFC 9162 section 2.1) ----

export async function leafHash(entry) {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** RFC 9162 section 2.1.3.2: does `proof` lead from `leaf` at `index` to `root`? */
export async function verifyInclusion(index, size, leaf, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), p, r));
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, p));
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

// ---- witness cosignatures (C2SP tlog-cosignature, tlog-policy) ----

const MAX_TIMESTAMP = 2n ** 63n - 1n;

/** Whether the signed checkpoint `signed` (from parseNote) carries a valid
 * cosignature/v1 by the witness `w` ({ name, vkey }): any of its signature lines with
 * the witness's key name and key ID whose signature verifies, as the Rust verifier
 * counts them. */
export async function cosignedBy(w, signed) {
  const key = await parseVerifierKey(w.vkey, 4);
  for (const s of signed.signatures) {
    if (s.name !== key.name || s.sig.length !== 76 || !equal(s.sig.subarray(0, 4), key.id)) continue;
    let t = 0n;
    for (const b of s.sig.subarray(4, 12)) t = (t << 8n) | BigInt(b);
    if (t > MAX_TIMESTAMP) continue;
    const message = concat(enc.encode(`cosignature/v1\ntime ${t}\n`), enc.encode(signed.text));
    try {
      await verifyEd25519(key.key, message, s.sig.subarray(12));
      return true;
    } catch (e) {
      // A cosignature that does not verify counts for nothing; another line may.
    }
  }
  return false;
}

/** A group list as the page writes it: `<threshold>:<member> <member>…` per group,
 * joined by `;`, each member `w<position>` (a witness) or `g<position>` (an earlier
 * group). */
export function parseGroups(attr) {
  if (attr === "") return [];
  return attr.split(";").map((g) => {
    const m = /^([1-9][0-9]*):(\S+(?: \S+)*)$/.exec(g);
    if (!m) throw new Error(`not a quorum group: ${g}`);
    return { threshold: Number(m[1]), members: m[2].split(" ") };
  });
}

/** Whether the quorum is met, decided as the Rust verifier decides it: `spec` is
 * `{ quorum, groups }` (members and quorum as in parseGroups), `cosigned` holds one
 * boolean per witness, in the policy's order. A group is met when at least its
 * threshold of members are; groups are decided in the order of their lines, since a
 * group's members are witnesses or earlier groups. */
export function quorumMet(spec, cosigned) {
  const groupsMet = [];
  const met = (node) => {
    const m = /^([wg])(0|[1-9][0-9]*)$/.exec(node);
    if (!m) throw new Error(`not a quorum member: ${node}`);
    const i = Number(m[2]);
    return m[1] === "w" ? cosigned[i] === true : groupsMet[i] === true;
  };
  for (const g of spec.groups) groupsMet.push(g.members.filter(met).length >= g.threshold);
  return met(spec.quorum);
}

// ---- the entry's checks ----

function fail(step, message) {
  throw new VerifyError(step, message);
}

async function step(name, f) {
  try {
    return await f();
  } catch (e) {
    if (e instanceof VerifyError) throw e;
    throw new VerifyError(name, e.message);
  }
}

/** The body line `field value`, or null. */
function field(text, name) {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line === undefined ? null : line.slice(name.length + 1);
}

/**
 * Checks an entry. `input` holds strings as the page shows them: `note` (the entry),
 * `letter` (the letter's text), `proof` (the tlog-proof lines before the checkpoint),
 * `checkpoint` (the signed checkpoint), `index`, `logKey` (the log's verifier key) and
 * `quorum`: null when no cosignature is required, else `{ witnesses: [{ name, vkey }],
 * spec: { quorum, groups } (see quorumMet), words }`, `words` saying the quorum.
 * Returns the list of what it checked, in words; throws a VerifyError on the first
 * check that fails.
 */
export async function verifyEntry(input) {
  const done = [];
  const entry = enc.encode(input.note);

  // (1) The note's signature by the key in its own key line.
  const note = await step("signature", async () => {
    const n = parseNote(input.note);
    if (n.signatures.length !== 1) fail("signature", "an entry has exactly one signature line");
    const keyLine = field(n.text, "key");
    if (keyLine === null) fail("signature", "the entry has no key line");
    const vkey = await parseVerifierKey(keyLine);
    const sig = n.signatures[0];
    if (sig.name !== vkey.name || sig.sig.length !== 68 || !equal(sig.sig.subarray(0, 4), vkey.id)) {
      fail("signature", "the signature line does not name the key of the key line");
    }
    await verifyEd25519(vkey.key, enc.encode(n.text), sig.sig.subarray(4));
    done.push(`The entry is signed by the key in its key line (${vkey.name}), under the strict Ed25519 rules.`);
    return n;
  });

  // (2) The letter's canonical text hashes to the letter ID the entry names.
  await step("letter", async () => {
    const named = field(note.text, "letter");
    if (named === null) {
      done.push("The entry names no letter.");
      return;
    }
    if (input.letter === null || input.letter === undefined) fail("letter", "the page does not show the letter's text");
    const id = await letterId(input.letter);
    if (id !== named) fail("letter", `the letter's text hashes to ${id}, not to ${named}`);
    done.push(`The letter's canonical text hashes to ${named}.`);
  });

  // (3) The leaf hash and the inclusion proof up to the checkpoint's root.
  const checkpoint = await step("inclusion", async () => {
    const lines = input.proof.replace(/\n$/, "").split("\n");
    if (lines[0] !== "c2sp.org/tlog-proof@v1") fail("inclusion", "the proof does not start with c2sp.org/tlog-proof@v1");
    let at = 1;
    if (lines[at] !== undefined && lines[at].startsWith("extra ")) at++;
    const m = /^index (0|[1-9][0-9]*)$/.exec(lines[at] ?? "");
    if (!m) fail("inclusion", "the proof has no index line");
    if (BigInt(m[1]) !== BigInt(input.index)) fail("inclusion", `the proof is for entry ${m[1]}, not ${input.index}`);
    const hashes = lines.slice(at + 1).map(fromBase64);
    if (hashes.some((h) => h.length !== 32)) fail("inclusion", "a proof hash is not 32 bytes");
    const cp = splitNote(input.checkpoint);
    const body = cp.text.split("\n");
    if (body.length < 4 || !/^(0|[1-9][0-9]*)$/.test(body[1])) fail("inclusion", "the checkpoint has no tree size");
    const root = fromBase64(body[2]);
    if (root.length !== 32) fail("inclusion", "the checkpoint's root is not 32 bytes");
    const size = BigInt(body[1]);
    const leaf = await leafHash(entry);
    if (!(await verifyInclusion(input.index, size, leaf, hashes, root))) {
      fail("inclusion", `the inclusion proof does not lead from the entry's leaf hash to the checkpoint's root (tree size ${size})`);
    }
    done.push(`Its leaf hash ${toBase64(leaf)} is entry ${input.index} of the tree of ${size} entries whose root the checkpoint names (RFC 9162 inclusion proof, ${hashes.length} hashes).`);
    return { note: input.checkpoint, origin: body[0] };
  });

  // (4) The checkpoint's signature by the log key, then the required cosignatures.
  const signed = await step("checkpoint", async () => {
    const cp = parseNote(checkpoint.note);
    const log = await parseVerifierKey(input.logKey);
    if (checkpoint.origin !== log.name) fail("checkpoint", `the checkpoint's origin ${checkpoint.origin} is not the log key's name ${log.name}`);
    const sig = cp.signatures.find((s) => s.name === log.name && s.sig.length === 68 && equal(s.sig.subarray(0, 4), log.id));
    if (!sig) fail("checkpoint", "the checkpoint has no signature by the log key");
    await verifyEd25519(log.key, enc.encode(cp.text), sig.sig.subarray(4));
    done.push(`The checkpoint is signed by the log key ${input.logKey} written into this page.`);
    return cp;
  });
  await step("cosignatures", async () => {
    if (input.quorum === null || input.quorum === undefined) {
      done.push("The log requires no witnesses to cosign its checkpoints, so no cosignature is checked.");
      return;
    }
    const { witnesses, spec } = input.quorum;
    const cosigned = [];
    for (const w of witnesses) {
      cosigned.push(await cosignedBy(w, signed));
    }
    const names = (want) => witnesses.filter((_, i) => cosigned[i] === want).map((w) => w.name);
    const yes = names(true);
    const no = names(false);
    const said = yes.length === 0
      ? "No witness of the policy cosigned the checkpoint"
      : `The checkpoint is cosigned by ${yes.join(", ")}`;
    const lacking = no.length === 0 ? "" : ` (no valid cosignature by ${no.join(", ")})`;
    if (!quorumMet(spec, cosigned)) {
      fail("cosignatures", `the witness quorum is not met: ${said.charAt(0).toLowerCase()}${said.slice(1)}${lacking}; the policy requires ${input.quorum.words}`);
    }
    done.push(`${said}${lacking}: the witness policy's quorum (${input.quorum.words}) is met.`);
  });
  return done;
}

// ---- the page ----

function text(id) {
  const el = document.getElementById(id);
  return el === null ? null : el.textContent;
}

/** The witness quorum the page states, or null when it requires none. */
function pageQuorum() {
  const list = document.getElementById("cosigners");
  if (list === null || list.dataset.quorum === undefined) return null;
  return {
    witnesses: Array.from(list.querySelectorAll("[data-cosigner]"), (e) => ({ name: e.dataset.name, vkey: e.dataset.cosigner })),
    spec: { quorum: list.dataset.quorum, groups: parseGroups(list.dataset.groups ?? "") },
    words: list.dataset.words ?? list.dataset.quorum,
  };
}

async function run() {
  const out = document.getElementById("verify");
  if (out === null) return;
  const said = out.querySelector("[data-said]");
  const list = out.querySelector("[data-checks]");
  const started = performance.now();
  try {
    const checks = await verifyEntry({
      note: text("note"),
      letter: text("letter-text"),
      proof: text("proof"),
      checkpoint: text("checkpoint"),
      index: out.dataset.index,
      logKey: out.dataset.logKey,
      quorum: pageQuorum(),
    });
    for (const c of checks) {
      const li = document.createElement("li");
      li.textContent = c;
      list.append(li);
    }
    said.textContent = out.dataset.valid;
    out.dataset.verify = "valid";
  } catch (e) {
    const step = e instanceof VerifyError ? e.step : "signature";
    said.textContent = `${out.dataset.invalid} (${step}): ${e.message}`;
    out.dataset.step = step;
    out.dataset.verify = "invalid";
  }
  out.dataset.millis = String(Math.round(performance.now() - started));
}

if (typeof document !== "undefined") run();
