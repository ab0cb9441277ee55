#!/usr/bin/env bash
# Cross-instance propagation (issue 14): how long after a suspension (or reactivation)
# committed on instance B does instance A decide on it? Two release servers on one
# PostgreSQL schema; A decides from memory, which hears B's writes through LISTEN/NOTIFY.
#
#   scripts/load-propagation.sh postgres URL
#
# ROUNDS (default 200) suspensions and as many reactivations, made on B through HTTP; after
# each, A is asked `POST /authorize` in a loop until its answer changes. The time counted
# runs from B's answer (the write has committed) to A's first changed answer. With LOAD=1
# (the default) wrk keeps A busy meanwhile: CONNECTIONS (default 32) connections asking
# `/authorize` about another agent. BIN picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?postgres}
[ "$backend" = postgres ] || { echo "propagation needs two instances: postgres only"; exit 2; }
url=${2:?postgres URL}
ROUNDS=${ROUNDS:-200}
LOAD=${LOAD:-1}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18095}
bin=${BIN:-target/release/trust-gateway}
[ -x "$bin" ] || cargo build --release -p trust-gateway
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }

dir=$(mktemp -d)
key="load-test-admin-key-0123456789abcdef"
export API_KEY=$key SECRET_KEY="load-test-secret-0123456789abcdefghijklmnopqrstuvwxyz" WORKERS=2 LOG_LEVEL=warn
schema="tg_load_$(date +%s)"
psql "$url" -q -c "CREATE SCHEMA $schema"
sep='?'; [[ "$url" == *\?* ]] && sep='&'
export DATABASE_URL="${url}${sep}options=-csearch_path%3D${schema}"
PORT=$PORT "$bin" >"$dir/a.log" 2>&1 &
a=$!
trap 'kill $a ${b:-} ${load:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
PORT=$((PORT + 1)) "$bin" >"$dir/b.log" 2>&1 &
b=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$((PORT + 1))/health" >/dev/null && break; sleep 0.1; done

register() {
    curl -fs "http://127.0.0.1:$PORT/agents/register" -H "X-API-Key: $key" -H 'content-type: application/json' \
        -d "{\"name\":\"$1\",\"provider\":\"bench\",\"config_hash\":\"h\",\"attestation\":{\"type\":\"api_key\"}}" |
        sed -n 's/.*"id":"\([^"]*\)".*/\1/p'
}
watched=$(register watched)
busy=$(register busy)

if [ "$LOAD" = 1 ]; then
    printf 'wrk.method = "POST"\nwrk.headers["X-API-Key"] = "%s"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
        "$key" "'{\"agent_id\":\"$busy\",\"action\":\"read_config\"}'" >"$dir/load.lua"
    wrk -t1 -c"$CONNECTIONS" -d3600s -s "$dir/load.lua" "http://127.0.0.1:$PORT/authorize" >"$dir/wrk.log" 2>&1 &
    load=$!
fi
echo "backend=postgres rounds=$ROUNDS load=$LOAD connections=$CONNECTIONS bin=$bin"
python3 - "$PORT" "$key" "$watched" "$ROUNDS" <<'PY'
import http.client, json, sys, time
port, key, agent, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
headers = {"X-API-Key": key, "Content-Type": "application/json"}
a = http.client.HTTPConnection("127.0.0.1", port)
b = http.client.HTTPConnection("127.0.0.1", port + 1)

def call(conn, path, body):
    conn.request("POST", path, json.dumps(body), headers)
    r = conn.getresponse()
    data = r.read()
    assert r.status == 200, (path, r.status, data)
    return json.loads(data)

def allowed():
    return call(a, "/authorize", {"agent_id": agent, "action": "read_config"})["allowed"]

times, asks = [], 0
assert allowed()
for i in range(rounds):
    for change, want in (("suspend", False), ("reactivate", True)):
        call(b, f"/agents/{agent}/{change}", {"reason": "propagation"})
        t0 = time.perf_counter()
        while allowed() != want:
            asks += 1
        times.append(time.perf_counter() - t0)
times.sort()
pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1000
print(f"changes={len(times)} p50={pct(0.5):.1f}ms p90={pct(0.9):.1f}ms p99={pct(0.99):.1f}ms max={times[-1]*1000:.1f}ms extra_asks={asks}")
PY
