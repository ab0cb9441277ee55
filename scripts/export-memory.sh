#!/usr/bin/env bash
# Streams a large audit export and watches the server's memory (release build, SQLite).
#
#   N=1000000 scripts/export-memory.sh
#
# Registers one agent, stops the server, appends N audit events to its trail directly in
# the database (python3's sqlite3), restarts, downloads the JSON and the CSV export to
# /dev/null while sampling the server's resident memory (VmRSS) every 100 ms, and prints
# the peak RSS before and during each export and the export rate.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
PORT=${PORT:-18091}
bin=target/release/trust-gateway
[ -x "$bin" ] || cargo build --release -p trust-gateway
dir=$(mktemp -d)
key="export-test-admin-key-0123456789abcdef"
export API_KEY=$key SECRET_KEY="export-test-secret-0123456789abcdefghijklmnopqrstuv" PORT WORKERS=2 LOG_LEVEL=warn DATABASE_URL="sqlite://$dir/export.db"

start() {
    "$bin" >>"$dir/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done
    echo "server did not start"; exit 1
}
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

start
agent=$(curl -fs "http://127.0.0.1:$PORT/agents/register" -H "X-API-Key: $key" -H 'content-type: application/json' \
    -d '{"name":"exported","provider":"bench","config_hash":"h"}' | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
kill "$server"; wait "$server" 2>/dev/null || true

python3 - "$dir/export.db" "$agent" "$N" <<'PY'
import sqlite3, sys, os, time
db, agent, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = sqlite3.connect(db)
now = int(time.time() * 1_000_000)
rows = ((f"evt_{os.urandom(12).hex()}", agent, now - (n - i) * 1000, "trust_check",
         '{"threshold":1.0,"trust_score":3.2,"meets_threshold":true}', "0" * 32, "env:API_KEY") for i in range(n))
con.executemany("INSERT INTO audit_events (id, agent_id, ts, event_type, details, ip_hash, api_key_prefix) VALUES (?,?,?,?,?,?,?)", rows)
con.commit()
PY

trap 'kill $server 2>/dev/null || true' EXIT
start
echo "events: $N (+1 registration)  idle RSS: $(rss) kB"
for format in json csv; do
    peak=0
    begin=$(date +%s.%N)
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/agents/$agent/audit/export?format=$format&start=2000-01-01" -H "X-API-Key: $key" &
    client=$!
    while kill -0 "$client" 2>/dev/null; do
        r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.1
    done
    wait "$client"
    end=$(date +%s.%N)
    awk -v f="$format" -v b="$begin" -v e="$end" -v n="$N" -v p="$peak" 'BEGIN { s = e - b; printf "%s export: %.1f s, %.0f events/s, peak RSS %s kB\n", f, s, n / s, p }' 
done
