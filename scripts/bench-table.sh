#!/bin/bash
# Performance goals against their figures, in one run, as one markdown table.
# usage: scripts/bench-table.sh [BIN_DIR]
#   BIN_DIR  holds release builds of signet-server, signet-bench and signet
#            (default: target/release). A second signet-bench, built with
#            curve25519-dalek's default backend as a user who adds no build flags gets,
#            measures the yardstick the goals are stated against; it is built into
#            target/default-backend when missing.
# Runs on loopback only: one fresh server for ingest, latency and reads, then the audit
# and the feature phases on servers of their own. It takes about 15 minutes on 2 cores.
# Needs wrk (Debian's package) for the reads, curl for the log size, and python3 to
# read the JSON reports.
# FEATURES=0 skips the witness and identity phases; the 10M scale run is
# scripts/scale-bench.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(cd "${1:-$ROOT/target/release}" && pwd)
LET=$ROOT/registry-data/letters
DEF=$ROOT/target/default-backend/release/signet-bench
for b in signet-server signet-bench signet; do
  [ -x "$BIN/$b" ] || { echo "bench-table: $BIN/$b is missing; build it with cargo build --release -p signet-server -p signet-bench -p signet-cli" >&2; exit 2; }
done
command -v python3 > /dev/null || { echo "bench-table: python3 is needed to read the JSON reports" >&2; exit 2; }
if [ ! -x "$DEF" ]; then
  echo "bench-table: building signet-bench with the default curve backend (target/default-backend)" >&2
  (cd "$ROOT" && RUSTFLAGS="" cargo build --release -p signet-bench --target-dir target/default-backend >&2)
fi
work=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2> /dev/null; rm -rf "$work"; }
trap cleanup EXIT
step() { echo "bench-table: $*" >&2; }

yardsticks() {
  "$DEF" yardstick --verify-seconds 2 --json > "$work/yard-default-$1.json"
  "$BIN/signet-bench" yardstick --verify-seconds 2 --json > "$work/yard-shipped-$1.json"
}

step "yardsticks (2 s each)"
yardsticks before

mkdir "$work/data"
"$BIN/signet-server" --data "$work/data" --letters "$LET" --listen 127.0.0.1:0 --rate-limit 0 \
  > "$work/server.out" 2> "$work/server.err" &
PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/server.out" && break; sleep 0.1; done
URL=$(grep -o 'http://[0-9.:]*' "$work/server.out" | head -1)
[ -n "$URL" ] || { echo "bench-table: the server did not start:" >&2; cat "$work/server.err" >&2; exit 1; }
ingest() {
  local name=$1; shift
  step "ingest $name"
  "$BIN/signet-bench" ingest --server "$URL" --log-key "$work/data/log.vkey" --server-pid "$PID" \
    --verify-seconds 0.5 --json "$@" > "$work/ingest-$name.json"
}
ingest c64 --count 60000 --concurrency 64 --signers 60000
ingest c256 --count 60000 --concurrency 256 --signers 60000
ingest c1024 --count 60000 --concurrency 1024 --signers 60000
half=$(python3 -c "
import json
best = max(json.load(open('$work/ingest-c%d.json' % c))['throughput_per_s'] for c in (64, 256, 1024))
print(round(best / 2))")
ingest half --count $((half * 10)) --concurrency 256 --signers $((half * 10)) --rate "$half"
size=$(curl -s "$URL/checkpoint" | sed -n 2p)
if command -v wrk > /dev/null; then
  step "reads with wrk at $size entries"
  "$ROOT/scripts/wrk-reads.sh" "$URL" "$size" > "$work/reads.txt"
else
  echo "wrk is not installed (Debian: apt-get install wrk); no read figures" > "$work/reads.txt"
fi
kill "$PID"; wait "$PID" 2> /dev/null || true; PID=

step "audit of 100,000 entries from scratch"
"$BIN/signet-bench" audit --entries 100000 --letters "$LET" --json > "$work/audit.json"
if [ "${FEATURES:-1}" != 0 ]; then
  step "witnesses and identity claims"
  "$BIN/signet-bench" features --count 20000 --open-count 10000 --letters "$LET" > "$work/features.txt"
fi
step "yardsticks again"
yardsticks after

python3 - "$work" "$(nproc)" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" <<'PY'
import json, os, re, sys
work, nproc, cpu = sys.argv[1], sys.argv[2], sys.argv[3]
load = lambda name: json.load(open(os.path.join(work, name)))
yard = {k: [load(f"yard-{k}-{w}.json")["verify_strict_per_s"] for w in ("before", "after")]
        for k in ("default", "shipped")}
ydef = sum(yard["default"]) / 2
yshp = sum(yard["shipped"]) / 2
ing = {c: load(f"ingest-{c}.json") for c in ("c64", "c256", "c1024", "half")}
def us_per_entry(o):
    cpu = o.get("server_cpu_s")
    n = o["created"] + o["already_logged"]
    return f"{cpu / n * 1e6:.0f} µs" if cpu and n else "n/a"
def r(rate):
    return f"{rate / ydef:.3f} / {rate / yshp:.3f}"
best = max(("c64", "c256", "c1024"), key=lambda c: ing[c]["throughput_per_s"])
a = load("audit.json")
print(f"{nproc} cores ({cpu}); yardstick, single-core verify_strict: default backend "
      f"{yard['default'][0]:.0f} then {yard['default'][1]:.0f}/s, shipped build "
      f"{yard['shipped'][0]:.0f} then {yard['shipped'][1]:.0f}/s; ratios are given against "
      "the mean of each pair, default / shipped.\n")
print("| goal | target | measured | ratio (default / shipped) |")
print("|---|---|---|---|")
c64 = ing["c64"]
print(f"| ingest, 64 clients | ≥ 20,000/s (R ≥ 0.8) | {c64['throughput_per_s']:.0f}/s, "
      f"p50 {c64['latency_ms']['p50']:.1f} ms | {r(c64['throughput_per_s'])} |")
for c in ("c256", "c1024"):
    o = ing[c]
    print(f"| ingest, {c[1:]} clients | best ≥ 25,000/s | {o['throughput_per_s']:.0f}/s, "
          f"p50 {o['latency_ms']['p50']:.1f} ms | {r(o['throughput_per_s'])} |")
print(f"| server CPU per entry (64 / {best[1:]} clients) | ≤ 60 µs | {us_per_entry(c64)} / "
      f"{us_per_entry(ing[best])} | |")
h = ing["half"]
print(f"| latency at half of capacity ({h['rate']:.0f}/s offered) | p50 ≤ 5 ms, p99 ≤ 25 ms | "
      f"p50 {h['latency_ms']['p50']:.1f} ms, p99 {h['latency_ms']['p99']:.1f} ms, "
      f"{h['throughput_per_s']:.0f}/s acknowledged | |")
print(f"| audit, 100k entries from scratch | R_audit ≥ 2.2 | {a['audit_entries_per_s']:.0f}/s "
      f"({a['audit_elapsed_s']:.2f} s) | {r(a['audit_entries_per_s'])} |")
print(f"| `signet watch` against the audit | same speed | {a['watch_entries_per_s']:.0f}/s "
      f"({a['watch_over_audit']:.3f} of the audit) | |")
goals = {"/checkpoint": "≥ 50,000/s", "/tile/0/000 (full)": "≥ 20,000/s",
         "/tile/entries/000 (full)": "≥ 20,000/s", "/v1/proof/<random index>": "≥ 30,000/s"}
for line in open(os.path.join(work, "reads.txt")):
    m = re.match(r"(\S+(?: \S+)?)\s+([\d.]+) req/s\s+p50 (\S+)\s+p99 (\S+)\s+non-2xx (\d+)", line)
    if m:
        what, rps, p50, p99, bad = m.groups()
        print(f"| wrk {what} | {goals.get(what, '')} | {float(rps):.0f}/s, p50 {p50}, "
              f"p99 {p99}, non-2xx {bad} | |")
    elif line.strip():
        print(f"| reads | | {line.strip()} | |")
features = os.path.join(work, "features.txt")
if os.path.exists(features):
    print("\nWitnesses and identity claims (`signet-bench features`), each phase on a fresh "
          "server; goal: R/plain ≥ 0.9 and the ack p50 within 10 ms:\n")
    print("```")
    print(open(features).read().rstrip())
    print("```")
PY
