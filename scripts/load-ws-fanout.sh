#!/usr/bin/env bash
# WebSocket fan-out load on /ws/dashboard, against a release build.
#
#   scripts/load-ws-fanout.sh sqlite             # embedded SQLite file in a temp dir
#   scripts/load-ws-fanout.sh postgres URL       # a PostgreSQL database (schema is created)
#
# Connects CLIENTS (default 1000) dashboards, then causes EVENTS (default 5000)
# `auth_denied` events through POST /authorize/batch at RATE events/s (default 0: as fast
# as the API takes them) and prints events/s delivered to every client, deliveries/s and
# the per-delivery latency distribution (crates/tg-bench/examples/ws_fanout.rs). The
# server runs with WORKERS=2 on the same 2-core machine as the 1000 clients.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
PORT=${PORT:-18091}
cargo build --release -q -p tg-bench --example ws_fanout
# Each client is two sockets on this machine.
ulimit -n 65536 2>/dev/null || true
url=${2:-}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

echo "backend=$backend"
BASE="http://127.0.0.1:$PORT" KEY=$key target/release/examples/ws_fanout
