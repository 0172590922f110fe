#!/bin/bash
# The read figures of BENCHMARKS.md: wrk (Debian's package) against a running server on
# loopback, one wrk thread and 64 connections, 10 s each.
# usage: scripts/wrk-reads.sh URL LOG_SIZE
#   URL       the server, e.g. http://127.0.0.1:8080 (started with --rate-limit 0)
#   LOG_SIZE  how many entries it holds (proofs ask for random indexes below it; at
#             least 256, so that the first full tiles exist)
set -euo pipefail
URL=$1 SIZE=$2
DURATION=${DURATION:-10s}
lua=$(mktemp --suffix=.lua)
trap 'rm -f "$lua"' EXIT
cat > "$lua" <<LUA
math.randomseed(7)
request = function()
  return wrk.format("GET", "/v1/proof/" .. math.random(0, $SIZE - 1))
end
LUA
run() {
  local what=$1; shift
  printf '%-28s ' "$what"
  wrk -t1 -c64 -d"$DURATION" --latency "$@" | awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s  p50 %s  p99 %s  non-2xx %s\n", rps, p50, p99, (bad == "" ? 0 : bad)}'
}
run "/checkpoint" "$URL/checkpoint"
run "/tile/0/000 (full)" "$URL/tile/0/000"
run "/tile/entries/000 (full)" "$URL/tile/entries/000"
run "/v1/proof/<random index>" -s "$lua" "$URL"
