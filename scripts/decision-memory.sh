#!/usr/bin/env bash
# What the decision state costs in memory: the release server's idle RSS, then its RSS
# after N agents (default 20000) are registered, and after each is authorized twice (so
# each is held in memory). Prints the RSS steps and the bytes per held agent.
#
#   scripts/decision-memory.sh            # embedded SQLite file in a temp dir
#   N=50000 BIN=/path/to/old/trust-gateway scripts/decision-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
backend=sqlite
url=
PORT=${PORT:-18097}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh
sleep 2
python3 - "$PORT" "$key" "$server" "${N:-20000}" <<'PY'
import http.client, json, sys, time
port, key, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"X-API-Key": key, "content-type": "application/json"}
def post(path, body):
    conn.request("POST", path, json.dumps(body), headers)
    r = conn.getresponse()
    return json.loads(r.read())
print("idle RSS KiB", rss())
ids = []
for i in range(n):
    b = post("/agents/register", {"name": f"a{i}", "provider": "p", "config_hash": "h",
                                  "attestation": {"type": "api_key"}})
    ids.append(b["agent"]["id"] if isinstance(b.get("agent"), dict) else b["id"])
time.sleep(1)
before = rss()
print("after registering", n, "agents: RSS KiB", before)
for _ in range(2):
    for i in ids:
        post("/authorize", {"agent_id": i, "action": "read_config"})
after = rss()
print("after authorizing each twice: RSS KiB", after, "=", round((after - before) * 1024 / n), "bytes per agent")
PY
