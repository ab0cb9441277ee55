#!/usr/bin/env bash
# HTTP load on POST /authorize with wrk (Debian package `wrk`), against a release build.
#
#   scripts/load-authorize.sh sqlite             # embedded SQLite file in a temp dir
#   scripts/load-authorize.sh postgres URL       # a PostgreSQL database (schema is created)
#
# Registers one agent, records 20 successes, then runs wrk for DURATION (default 20s) with
# CONNECTIONS (default 32) connections on THREADS (default 2) threads, and prints wrk's
# latency distribution. ACTION (default send_email) is the action asked about. With
# CEILING=1 it first runs the same wrk load against the ceiling server (a bare actix-web
# server doing an API-key check, a JSON parse and a hash lookup: `cargo run --release -p
# tg-bench --example ceiling`) on PORT+1, so the gateway's rate can be given as a ratio. The server runs with WORKERS=2 on the same 2-core machine, so the
# load generator and the server share the CPU: figures are a floor, not a ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18090}
ACTION=${ACTION:-send_email}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent
if [ "${CEILING:-0}" = 1 ]; then
    start_ceiling "/authorize"
    PORT=$((PORT + 1)) wrk_post /authorize "{\"agent_id\":\"$agent\",\"action\":\"$ACTION\"}"
    kill $ceiling
fi
echo "backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
with_cpu wrk_post /authorize "{\"agent_id\":\"$agent\",\"action\":\"$ACTION\"}"
# Whether the decisions came from memory (hit) or read through the database, and why; and
# whether the audit writer kept up (records that found its queue full waited for room).
echo "decision state look-ups, audit queue:"
curl -fs "http://127.0.0.1:$PORT/metrics" -H "X-API-Key: $key" |
    grep -E '^trust_gateway_(decision_state_lookups_total|audit_queue)' || true
