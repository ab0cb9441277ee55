#!/usr/bin/env bash
# Does recording slow down as an agent's chain grows? POST /actions/record for one agent
# from CONNECTIONS (default 8) writers for DURATION (default 10s), on SQLite, twice: first
# with the agent at 20 receipts, then with its chain grown to DEPTH (default 1000000).
#
#   scripts/load-record-depth.sh
#   DEPTH=1000000 DURATION=10s BIN=/path/to/trust-gateway scripts/load-record-depth.sh
#
# The rows between are written straight into the file with the sqlite3 shell (Debian
# package `sqlite3`): copies of the agent's last receipt under new sequence numbers and
# random hashes, the chain head moved to the last one, and marked as already in the
# transparency log (so the sequencer does not spend the run integrating them): each gets a
# row in the log's own entries under a negative index, with a random leaf hash, so the
# log's indexes are ~DEPTH rows deep too, as on a server that logged them. The chain
# they make is not valid, and nothing verifies it during the run: both servers run with
# MAINTENANCE_SECS=86400, so the first took the upkeep lease for three periods and the
# restarted one never leads a round (no chain verification shares the CPU with the
# measurement). What is measured is the
# cost of appending at depth: the chain head's row, the (agent_id, seq) primary key and
# the file grown to ~DEPTH rows.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
DEPTH=${DEPTH:-1000000}
PORT=${PORT:-18092}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
command -v sqlite3 >/dev/null || { echo "install sqlite3: apt-get install sqlite3"; exit 1; }
backend=sqlite
url=
export MAINTENANCE_SECS=86400
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh
db="$dir/load.db"

load_agent
echo "== the agent at 20 receipts: connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
wrk_post /actions/record "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}"

kill "$server"
wait "$server" 2>/dev/null || true
head=$(sqlite3 "$db" "SELECT MAX(seq) FROM receipts WHERE agent_id = '$agent'")
echo "== growing the chain from $head to $DEPTH receipts"
# Every column of the last receipt, but seq, id, the hashes and the log index.
cols=$(sqlite3 "$db" "SELECT group_concat(name, ',') FROM pragma_table_info('receipts')")
select=$(tr ',' '\n' <<<"$cols" | sed \
    -e 's/^seq$/n.i/' \
    -e "s/^id\$/printf('rcpt_%024x', n.i)/" \
    -e 's/^prev_hash$/randomblob(32)/' \
    -e 's/^receipt_hash$/randomblob(32)/' \
    -e 's/^log_index$/-n.i/' | paste -sd, -)
# Every column of the log's entries (whichever this build's schema has) from those rows.
entry_cols=$(sqlite3 "$db" "SELECT group_concat(name, ',') FROM pragma_table_info('log_entries')")
entry_select=$(tr ',' '\n' <<<"$entry_cols" | sed \
    -e 's/^leaf_hash$/randomblob(32)/' \
    -e 's/^leaf_key$/random()/' \
    -e 's/^\(log_index\|agent_id\|seq\|receipt_hash\)$/r.\1/' | paste -sd, -)
sqlite3 "$db" <<SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $head + 1 UNION ALL SELECT i + 1 FROM n WHERE i < $DEPTH)
INSERT INTO receipts ($cols)
SELECT $select FROM n, receipts r WHERE r.agent_id = '$agent' AND r.seq = $head;
INSERT INTO log_entries ($entry_cols)
SELECT $entry_select FROM receipts r WHERE r.agent_id = '$agent' AND r.log_index < 0;
UPDATE agent_trust SET chain_seq = $DEPTH,
    chain_hash = (SELECT receipt_hash FROM receipts WHERE agent_id = '$agent' AND seq = $DEPTH)
    WHERE agent_id = '$agent';
COMMIT;
SQL
ls -l "$db" | awk '{printf "the file: %.0f MiB\n", $5 / 1048576}'

"$bin" >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
echo "== the agent at $DEPTH receipts: connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
wrk_post /actions/record "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}"
