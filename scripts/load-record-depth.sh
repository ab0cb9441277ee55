#!/usr/bin/env bash
# Does recording slow down as an agent's chain grows? POST /actions/record for one agent
# from CONNECTIONS (default 8) writers for DURATION (default 10s), twice: first with the
# agent at 20 receipts, then with its chain grown to DEPTH (default 1000000).
#
#   scripts/load-record-depth.sh                  # embedded SQLite file in a temp dir
#   scripts/load-record-depth.sh postgres URL     # a PostgreSQL database (schema is created)
#   DEPTH=1000000 DURATION=10s BIN=/path/to/trust-gateway scripts/load-record-depth.sh
#
# The rows between are written straight into the store, with the sqlite3 shell (Debian
# package `sqlite3`) or psql: copies of the agent's last receipt under new sequence numbers
# and random hashes, the chain head moved to the last one, and marked as already in the
# transparency log (so the sequencer does not spend the run integrating them): each gets a
# row in the log's own entries under a negative index, with a random leaf hash, so the
# log's indexes are ~DEPTH rows deep too, as on a server that logged them. The webhook
# outbox, which keeps every event, grows by as many copies of its last event, under ids
# made the way this build makes them (time-ordered, earlier than the run, or random: read
# off the set-up's last id), so its unique index on `id` is ~DEPTH rows deep; they are taken
# off the fan-out's queue, as on a server that fanned them out long ago. On PostgreSQL
# the grown tables are then vacuumed and analysed, as autovacuum would have done on a
# server that grew them over time, and so is the fan-out's queue: unvacuumed, its index
# keeps the copies' million deleted entries, and every fan-out pass walks them (5.4 ms a
# pass, against 0.4 ms). A checkpoint then writes the growth out, so the run does not
# share the disk with writing a gigabyte that a server grown over time would have written
# long before. The chain they make is not valid, and nothing verifies it during the run:
# both servers run with MAINTENANCE_SECS=86400, so the first took the upkeep lease for
# three periods and the restarted one never leads a round (no chain verification shares
# the CPU with the measurement). What is measured is the cost of appending at depth: the
# chain head's row, the (agent_id, seq) primary key and the tables grown to ~DEPTH rows.
# The grown store is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
url=${2:-}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
DEPTH=${DEPTH:-1000000}
PORT=${PORT:-18092}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk"; exit 1; }
case "$backend" in
    sqlite) command -v sqlite3 >/dev/null || { echo "install sqlite3: apt-get install sqlite3"; exit 1; } ;;
    postgres) command -v psql >/dev/null || { echo "install psql: apt-get install postgresql-client"; exit 1; } ;;
esac
export MAINTENANCE_SECS=86400
# shellcheck source=lib/release-server.sh
source scripts/lib/release-server.sh

# sql: runs stdin (or $1) on the store; -A -t output, one value per line.
sql() {
    case "$backend" in
        sqlite) sqlite3 "$dir/load.db" "$@" ;;
        postgres) PGOPTIONS="-c search_path=$schema" psql "$url" -q -A -t -v ON_ERROR_STOP=1 ${1:+-c "$1"} ;;
    esac
}

# The expressions that differ between the two SQL dialects.
case "$backend" in
    sqlite)
        columns="SELECT group_concat(name, ',') FROM pragma_table_info"
        random_hash="randomblob(32)"
        random_key="random()"
        receipt_id="printf('rcpt_%024x', n.i)"
        wal="PRAGMA journal_mode = WAL;"
        analyse=""
        hex_ms="printf('%012x', \$1)"
        random_hex12="lower(hex(randomblob(6)))"
        random_hex24="lower(hex(randomblob(12)))" ;;
    postgres)
        columns="SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name ="
        random_hash="decode(md5(random()::text) || md5(random()::text), 'hex')"
        random_key="(random() * 9.2e18 - 4.6e18)::bigint"
        receipt_id="'rcpt_' || lpad(to_hex(n.i), 24, '0')"
        wal=""
        analyse="VACUUM ANALYZE receipts, log_entries, event_outbox, outbox_queue; CHECKPOINT;"
        hex_ms="lpad(to_hex(\$1), 12, '0')"
        random_hex12="substr(md5(random()::text), 1, 12)"
        random_hex24="substr(md5(random()::text), 1, 24)" ;;
esac

# The grown store (~600 MiB) is removed at exit by `release_cleanup`.

load_agent
echo "== the agent at 20 receipts: backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
with_cpu wrk_post /actions/record "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}"

kill "$server"
wait "$server" 2>/dev/null || true
head=$(sql "SELECT MAX(seq) FROM receipts WHERE agent_id = '$agent'")
echo "== growing the chain from $head to $DEPTH receipts"
# Every column of the last receipt, but seq, id, the hashes and the log index.
cols=$(sql "$columns('receipts')")
select=$(tr ',' '\n' <<<"$cols" | sed \
    -e 's/^seq$/n.i/' \
    -e "s/^id\$/$receipt_id/" \
    -e "s/^\\(prev_hash\\|receipt_hash\\)\$/$random_hash/" \
    -e 's/^log_index$/-n.i/' | paste -sd, -)
# Every column of the log's entries (whichever this build's schema has) from those rows.
entry_cols=$(sql "$columns('log_entries')")
entry_select=$(tr ',' '\n' <<<"$entry_cols" | sed \
    -e "s/^leaf_hash\$/$random_hash/" \
    -e "s/^leaf_key\$/$random_key/" \
    -e 's/^log_index$/-r.seq/' \
    -e 's/^\(agent_id\|seq\|receipt_hash\)$/r.\1/' | paste -sd, -)
# The outbox's ids: time-ordered if the last one's first 48 bits are a millisecond within
# a day of now; then the grown ones are a millisecond apart, ending before the run.
read -r last_seq last_id < <(sql "SELECT seq || ' ' || id FROM event_outbox ORDER BY seq DESC LIMIT 1")
now_ms=$(date +%s%3N)
last_ms=$((16#${last_id:4:12}))
if (( last_ms > now_ms - 86400000 && last_ms < now_ms + 86400000 )); then
    outbox_id="'msg_' || ${hex_ms//\$1/$now_ms - 1 - ($DEPTH - n.i)} || $random_hex12"
    echo "outbox ids: time-ordered"
else
    outbox_id="'msg_' || $random_hex24"
    echo "outbox ids: random"
fi
outbox_cols=$(sql "$columns('event_outbox')" | tr ',' '\n' | grep -vx seq | paste -sd, -)
outbox_select=$(tr ',' '\n' <<<"$outbox_cols" | while read -r c; do
    if [ "$c" = id ]; then echo "$outbox_id"; else echo "o.$c"; fi
done | paste -sd, -)
sql <<SQL
$wal
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $head + 1 UNION ALL SELECT i + 1 FROM n WHERE i < $DEPTH)
INSERT INTO receipts ($cols)
SELECT $select FROM n, receipts r WHERE r.agent_id = '$agent' AND r.seq = $head;
INSERT INTO log_entries ($entry_cols)
SELECT $entry_select FROM receipts r WHERE r.agent_id = '$agent' AND r.seq > $head;
WITH RECURSIVE n(i) AS (SELECT $head + 1 UNION ALL SELECT i + 1 FROM n WHERE i < $DEPTH)
INSERT INTO event_outbox ($outbox_cols)
SELECT $outbox_select FROM n, event_outbox o WHERE o.seq = $last_seq;
DELETE FROM outbox_queue WHERE seq > $last_seq;
UPDATE agent_trust SET chain_seq = $DEPTH,
    chain_hash = (SELECT receipt_hash FROM receipts WHERE agent_id = '$agent' AND seq = $DEPTH)
    WHERE agent_id = '$agent';
COMMIT;
$analyse
SQL
case "$backend" in
    sqlite) ls -l "$dir/load.db" | awk '{printf "the file: %.0f MiB\n", $5 / 1048576}' ;;
    postgres) sql "SELECT 'receipts, log entries and outbox: ' || ((pg_total_relation_size('receipts') + pg_total_relation_size('log_entries') + pg_total_relation_size('event_outbox')) / 1048576) || ' MiB'" ;;
esac

"$bin" >"$dir/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
echo "== the agent at $DEPTH receipts: backend=$backend connections=$CONNECTIONS threads=$THREADS duration=$DURATION bin=$bin"
with_cpu wrk_post /actions/record "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}"
