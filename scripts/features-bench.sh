#!/bin/bash
# The figures of BENCHMARKS.md for moderation, witnesses and identity claims, in one run:
# look-alike search at 100k signers, watch beside the audit, the witness's
# add-checkpoint rate, and ingest with witnesses and claims beside a plain server.
# usage: scripts/features-bench.sh [BIN_DIR]   (default target/release; run as root:
# the claim fixtures bind port 443 of 127.x.y.z addresses)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/target/release}
B=$BIN/signet-bench
LET=$ROOT/registry-data/letters
nproc
echo "== witness: add-checkpoint from 32 logs at once"
$B witness --count 20000 --logs 32
echo "== features: plain, witnesses, claims, hanging"
$B features --count 20000 --open-count 10000 --letters "$LET"
echo "== audit and watch, 100k entries"
$B audit --entries 100000 --letters "$LET" --server-bin "$BIN/signet-server" --signet-bin "$BIN/signet"
echo "== search at 100k signers"
work=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$work"' EXIT
"$BIN/signet-server" --data "$work/d" --letters "$LET" --listen 127.0.0.1:0 --rate-limit 0 \
    > "$work/s.out" 2> "$work/s.err" &
PID=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/s.out" && break; sleep 0.2; done
URL=$(grep -o 'http://[0-9.:]*' "$work/s.out" | head -1)
$B ingest --server "$URL" --log-key "$work/d/log.vkey" --count 100000 --signers 100000 \
    --concurrency 256 --server-pid $PID | grep -E '^(throughput|acknowledged)'
$B search --server "$URL" --count 2000 --server-pid $PID
