#!/usr/bin/env bash
# HTTP load on GET /agents/{id}/trust (the explained score; each read is a `trust_check`,
# group-committed) with wrk (Debian package `wrk`), against a release build.
#
#   scripts/load-trust.sh sqlite             # embedded SQLite file in a temp dir
#   scripts/load-trust.sh postgres URL       # a PostgreSQL database (schema is created)
#
# CONNECTIONS (default 32) on THREADS (default 2) threads for DURATION (default 20s).
# BIN (default target/release/trust-gateway) picks the binary, to compare two builds. With
# CEILING=1 it first runs the same load against the ceiling server's `GET
# /agents/{id}/trust` (`cargo run --release -p tg-bench --example ceiling`: the key check,
# a hash lookup, a JSON answer) on PORT+1, so the rate can be given as a ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
PORT=${PORT:-18093}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent
if [ "${CEILING:-0}" = 1 ]; then
    start_ceiling "/agents/$agent/trust"
    PORT=$((PORT + 1)) wrk_get "/agents/$agent/trust"
    kill $ceiling
fi
echo "backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
with_cpu wrk_get "/agents/$agent/trust"
