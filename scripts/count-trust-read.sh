#!/usr/bin/env bash
# Instructions per `GET /agents/{id}/trust`, counted by valgrind's callgrind (Debian package
# `valgrind`): repeatable for a binary, whatever else the machine is doing, unlike a rate.
# Runs the release server under callgrind twice on a fresh SQLite file, reading the agent
# FEW and then MANY times (defaults 500 and 2500) over one keep-alive connection, and
# prints (MANY's total − FEW's total) / (MANY − FEW): start-up and shutdown cancel out.
# User-space instructions only: the kernel's send and receive are not counted.
#
#   BIN=/tmp/tg-a scripts/count-trust-read.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/trust-gateway}
[ -x "$bin" ] || cargo build --release -p trust-gateway
command -v valgrind >/dev/null || { echo "install valgrind: apt-get install valgrind"; exit 1; }
FEW=${FEW:-500}
MANY=${MANY:-2500}
PORT=${PORT:-18096}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# total N: the program's instructions for N reads (and the agent's set-up).
total() {
    API_KEY="load-test-admin-key-0123456789abcdef" \
    SECRET_KEY="load-test-secret-0123456789abcdefghijklmnopqrstuvwxyz" \
    PORT=$PORT WORKERS=2 LOG_LEVEL=warn DATABASE_URL="sqlite://$dir/count-$1.db" \
        valgrind --tool=callgrind --callgrind-out-file="$dir/out-$1" "$bin" >"$dir/server-$1.log" 2>&1 &
    local server=$!
    python3 - "$PORT" "$1" <<'PY'
import http.client, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
headers = {"X-API-Key": "load-test-admin-key-0123456789abcdef", "content-type": "application/json"}
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("GET", "/health")
        c.getresponse().read()
        break
    except OSError:
        time.sleep(0.5)
c.request("POST", "/agents/register", json.dumps({"name": "load", "provider": "bench",
          "config_hash": "h", "attestation": {"type": "api_key"}}), headers)
agent = json.loads(c.getresponse().read())["id"]
for _ in range(20):
    c.request("POST", "/actions/record", json.dumps({"agent_id": agent, "action": "send_email",
              "result": "success"}), headers)
    c.getresponse().read()
for _ in range(n):
    c.request("GET", f"/agents/{agent}/trust", headers=headers)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY
    kill -INT $server
    wait $server || true
    callgrind_annotate "$dir/out-$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
}

few=$(total "$FEW")
many=$(total "$MANY")
echo "bin=$bin reads=$FEW,$MANY instructions=$few,$many"
echo "instructions per trust read: $(( (many - few) / (MANY - FEW) ))"
