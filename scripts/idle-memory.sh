#!/usr/bin/env bash
# The release server's idle memory: VmRSS, RssAnon (heap, stacks) and RssFile (the binary's
# and libraries' pages) from /proc/PID/status, 2 s after its first `/health`, then after one
# authenticated request (an agent listing), on a fresh SQLite file.
#
#   scripts/idle-memory.sh
#   BIN=/path/to/old/trust-gateway scripts/idle-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
backend=sqlite
url=
PORT=${PORT:-18098}
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh
status() { awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s %.1f MiB  ", $1, $2 / 1024 }' "/proc/$server/status"; echo; }
sleep 2
echo "after the first /health: $(status)"
curl -fs "http://127.0.0.1:$PORT/agents" -H "X-API-Key: $key" >/dev/null
sleep 2
echo "after one listing:       $(status)"
