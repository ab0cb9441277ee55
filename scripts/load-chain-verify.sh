#!/usr/bin/env bash
# Does verifying long chains starve everyone else? (issue 15's reproduction, on SQLite:
# 4 concurrent verifications of a 30k-receipt chain, while another agent's read is timed.)
#
#   scripts/load-chain-verify.sh sqlite | postgres URL
#
# Fills one agent's chain to RECEIPTS (default 30000) receipts, then times GET
# /agents/{other} with wrk (1 connection, DURATION, default 15s) twice: alone, then while
# 4 loops re-verify the long chain (GET /receipts/{id}/verify) all the time.
# BIN (default target/release/trust-gateway) picks the binary, to compare two builds.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
DURATION=${DURATION:-15s}
RECEIPTS=${RECEIPTS:-30000}
PORT=${PORT:-18092}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent
long=$agent
other=$(curl -fs "http://127.0.0.1:$PORT/agents/register" -H "X-API-Key: $key" -H 'content-type: application/json' \
    -d '{"name":"other","provider":"bench","config_hash":"h"}' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
# Fill the long chain: wrk until the chain holds RECEIPTS receipts.
body="{\"agent_id\":\"$long\",\"action\":\"send_email\",\"result\":\"success\"}"
length() {
    curl -fs "http://127.0.0.1:$PORT/receipts/$long/verify" -H "X-API-Key: $key" | sed -n 's/.*"length":\([0-9]*\).*/\1/p'
}
while [ "$(length)" -lt "$RECEIPTS" ]; do
    DURATION=10s wrk_post /actions/record "$body" 8 2 >/dev/null
done
echo "backend=$backend chain=$(length) receipts bin=$bin"
read_other() { wrk_get "/agents/$other" 1 1; }
echo "--- GET /agents/{other}, alone"
read_other
verifiers=()
for _ in 1 2 3 4; do
    (while true; do curl -fs -o /dev/null "http://127.0.0.1:$PORT/receipts/$long/verify" -H "X-API-Key: $key"; done) &
    verifiers+=($!)
done
trap 'kill "${verifiers[@]}" 2>/dev/null || true; release_cleanup' EXIT
echo "--- GET /agents/{other}, while 4 loops verify the long chain"
read_other
start=$(date +%s.%N)
curl -fs -o /dev/null "http://127.0.0.1:$PORT/receipts/$long/verify" -H "X-API-Key: $key"
echo "one verification of the long chain meanwhile: $(echo "$(date +%s.%N) - $start" | bc) s"
