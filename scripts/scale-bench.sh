#!/bin/bash
# The scale figures of BENCHMARKS.md: grows one log to MILLIONS million entries with
# signet-bench (one new signer per entry), then measures the server's RSS, its start
# time, the disk per entry, and the proof rate at 1M against the rate at the full size,
# in a first pass right after each start and a second pass after it.
# Not run in CI: at ~3,000 entries/s on 2 cores, 10M entries take about an hour, and
# the log needs ~6 GB of disk.
# usage: scripts/scale-bench.sh BIN_DIR DATA_DIR [MILLIONS]
#   BIN_DIR   where signet-server and signet-bench are (e.g. target/release)
#   DATA_DIR  a new directory for the log (a copy at 1M entries goes to DATA_DIR-1m)
#   MILLIONS  the log's final size in millions of entries (default 10)
# As root, each start is also timed once after the page cache is dropped.
# MEASURE_ONLY=1 skips the growing and measures the logs DATA_DIR and DATA_DIR-1m that an
# earlier run made.
# After each million, the slowest batch stages of that million are printed from the
# server's debug log (SIGNET_LOG=signet_log=debug): the tile write, the checkpoint, the
# catalog record and the WAL truncation, and every warning the server logged.
set -euo pipefail
BIN=$1 DATA=$2 MILLIONS=${3:-10}
MEASURE_ONLY=${MEASURE_ONLY:-0}
LETTERS=${LETTERS:-registry-data/letters}
PORT=${PORT:-18121}
U=http://127.0.0.1:$PORT
if [ "$MEASURE_ONLY" = 1 ]; then
  [ -d "$DATA" ] && [ -d "$DATA-1m" ] || { echo "scale-bench: MEASURE_ONLY needs $DATA and $DATA-1m" >&2; exit 2; }
else
  [ -e "$DATA" ] && { echo "scale-bench: $DATA exists; give a new directory" >&2; exit 2; }
  [ -e "$DATA-1m" ] && { echo "scale-bench: $DATA-1m exists; remove it first" >&2; exit 2; }
fi

PID=
SERVER_LOG=$(mktemp)
trap '[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null; rm -f "$SERVER_LOG"' EXIT

# Starts the server on $1; STARTED is the seconds from exec to its "listening on" line.
STARTED=
start() {
  local t0 t1 i
  : > "$SERVER_LOG"
  t0=$(date +%s.%N)
  "$BIN/signet-server" --data "$1" --letters "$LETTERS" --listen "127.0.0.1:$PORT" \
    --rate-limit 0 >> "$SERVER_LOG" 2>&1 &
  PID=$!
  for i in $(seq 1 6000); do
    grep -q "listening on" "$SERVER_LOG" && break
    kill -0 "$PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; exit 2; }
    sleep 0.005
  done
  t1=$(date +%s.%N)
  STARTED=$(echo "$t1 - $t0" | bc)
}

stop() {
  kill -TERM "$PID"
  wait "$PID" || true
  PID=
}

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$PID/status"; }

ingest_million() {
  "$BIN/signet-bench" ingest --server "$U" --log-key "$DATA/log.vkey" --count 1000000 \
    --concurrency 256 --signers 1000000 --server-pid "$PID" --max-duration 1800 \
    | grep -E "throughput|latency|server CPU|verify_strict|R_ingest"
}

# The slowest of each batch stage in the server's log since the last call, and its
# warnings; then the log starts over (the server appends to it).
stages() {
  awk '
    function peak(key, m,   i, kv) {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key && kv[2] + 0 > m) m = kv[2] + 0 }
      return m
    }
    /batch committed/ { t = peak("tiles_us", t); c = peak("checkpoint_us", c) }
    /batch recorded/ { r = peak("catalog_us", r) }
    /catalog WAL emptied/ { n++; w = peak("wal_us", w) }
    / WARN / { warns++ }
    END { printf "slowest stages: tiles %.1f ms, checkpoint %.1f ms, catalog record %.1f ms, WAL truncation %.1f ms (%d truncations); %d warnings\n", t/1000, c/1000, r/1000, w/1000, n, warns }
  ' "$SERVER_LOG"
  grep ' WARN ' "$SERVER_LOG" | sed 's/^/  /' | head -5 || true
  : > "$SERVER_LOG"
}

proofs() {
  "$BIN/signet-bench" proofs --server "$U" --log-key "$1/log.vkey" --count 200000 \
    --concurrency 64 --server-pid "$PID" | grep -E "throughput|proofs|latency|server CPU"
}

echo "== nproc $(nproc), $(date -u +%FT%TZ)"
if [ "$MEASURE_ONLY" != 1 ]; then
  export SIGNET_LOG=${SIGNET_LOG:-signet_log=debug,info}
  start "$DATA"
  for m in $(seq 1 "$MILLIONS"); do
    echo "== ingest to ${m}M"
    ingest_million
    echo "server RSS at ${m}M: $(rss)"
    stages
    if [ "$m" = 1 ]; then
      stop
      cp -a "$DATA" "$DATA-1m"
      start "$DATA"
    fi
  done
  stop
  unset SIGNET_LOG
fi

echo "== start time at ${MILLIONS}M (exec to 'listening on')"
for i in 1 2 3; do
  start "$DATA"
  echo "start $i: $STARTED s, RSS after start $(rss)"
  stop
done
if [ "$(id -u)" = 0 ]; then
  sync
  echo 3 > /proc/sys/vm/drop_caches
  start "$DATA"
  echo "start with the page cache dropped: $STARTED s"
  stop
fi

echo "== disk at ${MILLIONS}M"
du -sb "$DATA/log" "$DATA"/index.sqlite*
echo "files in log/: $(find "$DATA/log" -type f | wc -l)"

echo "== proofs, 1M and ${MILLIONS}M alternating"
for round in 1 2; do
  for d in "$DATA-1m" "$DATA"; do
    start "$d"
    # The first pass after a start pays each tile's first read and hash; the second
    # finds every tile's runs in the cache, as a server that has been up a while does.
    echo "-- $d (round $round), first pass after the start"
    proofs "$d"
    echo "-- $d (round $round), second pass"
    proofs "$d"
    echo "server RSS after the proofs: $(rss)"
    stop
  done
done
