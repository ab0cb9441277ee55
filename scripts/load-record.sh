#!/usr/bin/env bash
# HTTP load on POST /actions/record with wrk (Debian package `wrk`), against a release build:
# one agent, its own account recording (self-reported receipts), every request one receipt
# appended under the agent's lock and one rescore, committed.
#
#   scripts/load-record.sh sqlite             # embedded SQLite file in a temp dir
#   scripts/load-record.sh postgres URL       # a PostgreSQL database (schema is created)
#
# CONNECTIONS (default 8) writers on THREADS (default 2) threads for DURATION (default 15s).
# BIN (default target/release/trust-gateway) picks the binary, to compare two builds.
# On PostgreSQL, WAL_BY_TABLE=1 also splits the run's WAL by table (pg_waldump: the server
# must be local and its WAL readable by this user).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
PORT=${PORT:-18091}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent
echo "backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
# PostgreSQL: the WAL the server wrote over the run (every database's, so keep the server
# otherwise idle), per request.
if [ "$backend" = postgres ]; then
    if [ "${WAL_BY_TABLE:-0}" = 1 ]; then wal_reserve; fi
    wal_before=$(psql "$url" -Atc "SELECT pg_current_wal_lsn()")
fi
out=$(with_cpu wrk_post /actions/record "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}")
echo "$out"
if [ "$backend" = postgres ]; then
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    psql "$url" -Atc "SELECT 'WAL per request: ' || pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal_before') / $requests || ' bytes'" | sed 's/\.[0-9]* bytes/ bytes/'
    # WAL_BY_TABLE=1: that WAL by the table it went to (pg_waldump; see wal_by_table).
    if [ "${WAL_BY_TABLE:-0}" = 1 ]; then wal_by_table "$wal_before" "$requests"; fi
fi
# How the receipts were grouped: receipts and commits over the whole run (the 20 set-up
# receipts included), and the batches by basis (from memory, moved to the locked path,
# locked), from the server's metrics.
curl -fs "http://127.0.0.1:$PORT/metrics" -H "X-API-Key: $key" | awk '
    /^trust_gateway_receipts_recorded_total / {r = $2}
    /^trust_gateway_receipt_commits_total / {c = $2}
    /^trust_gateway_record_batches_total\{basis="memory"\} / {m = $2}
    /^trust_gateway_record_batches_total\{basis="moved"\} / {v = $2}
    /^trust_gateway_record_batches_total\{basis="locked"\} / {l = $2}
    END {
        if (c > 0) printf "receipts %d in %d commits: %.1f per commit\n", r, c, r / c
        printf "batches: %d from memory, %d moved to the lock, %d locked\n", m, v, l
    }'
