#!/usr/bin/env bash
# The Rust SDK under load: `Client::verify` (fail-closed POST /trust/verify) from one shared
# client, against a release build; then wrk on the same endpoint for comparison, so the
# SDK's own cost shows as the difference.
#
#   scripts/load-sdk-verify.sh sqlite
#   scripts/load-sdk-verify.sh postgres URL
#
# REQUESTS (default 20000) calls, CONCURRENCY (default 32) at once; wrk runs DURATION
# (default 20s) with the same number of connections. The server runs with WORKERS=2 on the
# same 2-core machine as the load generator: figures are a floor, not a ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
REQUESTS=${REQUESTS:-20000}
CONCURRENCY=${CONCURRENCY:-32}
DURATION=${DURATION:-20s}
PORT=${PORT:-18091}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
url=${2:-}
cargo build --release -p tg-sdk --example concurrent_checks
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

load_agent
echo "backend=$backend requests=$REQUESTS concurrency=$CONCURRENCY"
echo "--- tg-sdk Client::verify"
TG_URL="http://127.0.0.1:$PORT" TG_API_KEY=$key TG_AGENT=$agent TG_REQUESTS=$REQUESTS \
    TG_CONCURRENCY=$CONCURRENCY TG_MIN_SCORE=0.5 target/release/examples/concurrent_checks
echo "--- wrk POST /trust/verify, $DURATION"
wrk_post /trust/verify "{\"agent_id\":\"$agent\",\"min_score\":0.5}" "$CONCURRENCY" 2
