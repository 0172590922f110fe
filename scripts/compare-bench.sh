#!/bin/bash
# The before-and-after comparisons of BENCHMARKS.md in one run: the same commands against
# two or more sets of release binaries, one after the other, on fresh servers on loopback.
# usage: scripts/compare-bench.sh DIR_A DIR_B [DIR_C ...]
#        (each holding signet-server, signet-bench, signet; reported as A, B, C, ...)
LET=${LETTERS:-$(cd "$(dirname "$0")/.." && pwd)/registry-data/letters}
one() {
  local B=$1 tag=$2 i
  echo "== $tag audit"
  $B/signet-bench audit --entries 100000 --letters $LET 2>&1 | grep -E 'audit|R_audit|verify_strict|ingest' | head -8
  rm -rf d; mkdir d
  $B/signet-server --data d --letters $LET --listen 127.0.0.1:0 --rate-limit 0 > s.out 2>s.err & PID=$!
  for i in $(seq 100); do grep -q 'listening on' s.out && break; sleep 0.2; done
  URL=$(grep -o 'http://[0-9.:]*' s.out | head -1)
  echo "== $tag ingest c=64"
  $B/signet-bench ingest --server $URL --log-key d/log.vkey --count 60000 --concurrency 64 --signers 60000 --server-pid $PID 2>&1 | grep -E '^(acknowledged|throughput|latency|server|verify|R_)'
  echo "== $tag ingest c=256"
  $B/signet-bench ingest --server $URL --log-key d/log.vkey --count 40000 --concurrency 256 --signers 40000 --server-pid $PID 2>&1 | grep -E '^(acknowledged|throughput|latency|server|verify|R_)'
  echo "== $tag proofs"
  $B/signet-bench proofs --server $URL --count 100000 --concurrency 64 --server-pid $PID 2>&1 | grep -E '^(proofs|latency|server)'
  kill $PID; wait $PID 2>/dev/null
}
work=$(mktemp -d); cd "$work"
tags=(A B C D E F)
n=0
for dir in "$@"; do
  one "$dir" "${tags[$n]}"
  n=$((n + 1))
done
