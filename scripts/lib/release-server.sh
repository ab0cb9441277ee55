# Sourced by the load scripts: starts the release server on a fresh store and waits until
# it answers. Needs `backend` (sqlite | postgres), `PORT`, and for postgres a URL in $2 of
# the caller (passed as `url`). Sets `dir` (a temp dir), `key` (the admin key) and
# `server` (the pid; killed on exit). `load_agent` then makes the agent the load checks.
bin=${BIN:-target/release/trust-gateway}
[ -x "$bin" ] || cargo build --release -p trust-gateway

dir=$(mktemp -d)
key="load-test-admin-key-0123456789abcdef"
export API_KEY=$key SECRET_KEY="load-test-secret-0123456789abcdefghijklmnopqrstuvwxyz" PORT WORKERS=2 LOG_LEVEL=${LOG_LEVEL:-warn}
case "$backend" in
    sqlite) export DATABASE_URL="sqlite://$dir/load.db" ;;
    postgres)
        : "${url:?postgres URL}"
        schema="tg_load_$(date +%s)"
        psql "$url" -q -c "CREATE SCHEMA $schema"
        sep='?'; [[ "$url" == *\?* ]] && sep='&'
        export DATABASE_URL="${url}${sep}options=-csearch_path%3D${schema}" ;;
    *) echo "unknown backend $backend"; exit 2 ;;
esac
"$bin" >"$dir/server.log" 2>&1 &
server=$!
# At exit: the server stopped and its store removed, the temp dir or the PostgreSQL schema
# (a run leaves hundreds of MiB there: ten seconds of decisions write ~275 MiB of audit
# rows). Scripts that set their own EXIT trap call it from theirs.
release_cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        psql "$url" -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
        # wal_reserve's slot: left behind, it would keep every later WAL file on disk.
        psql "$url" -q -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
            WHERE slot_name = '$schema'" >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}
trap release_cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# load_agent [NAME]: registers an agent (default name `load`) with 20 successful receipts
# on the started server; sets `agent`.
load_agent() {
    agent=$(curl -fs "http://127.0.0.1:$PORT/agents/register" -H "X-API-Key: $key" -H 'content-type: application/json' \
        -d "{\"name\":\"${1:-load}\",\"provider\":\"bench\",\"config_hash\":\"h\",\"attestation\":{\"type\":\"api_key\"}}" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
    for _ in $(seq 1 20); do
        curl -fs "http://127.0.0.1:$PORT/actions/record" -H "X-API-Key: $key" -H 'content-type: application/json' \
            -d "{\"agent_id\":\"$agent\",\"action\":\"send_email\",\"result\":\"success\"}" >/dev/null
    done
}

# wrk_post PATH BODY [CONNECTIONS] [THREADS]: wrk for DURATION against POST PATH with BODY
# (as JSON, or as CONTENT_TYPE when set) and the admin key, latency distribution included.
wrk_post() {
    local path=$1 body=$2 connections=${3:-${CONNECTIONS:-32}} threads=${4:-${THREADS:-2}}
    local script
    script=$(mktemp -p "$dir" --suffix=.lua)
    cat >"$script" <<LUA
wrk.method = "POST"
wrk.headers["X-API-Key"] = "$key"
wrk.headers["Content-Type"] = "${CONTENT_TYPE:-application/json}"
wrk.body = '$body'
LUA
    wrk -t"$threads" -c"$connections" -d"$DURATION" --latency -s "$script" "http://127.0.0.1:$PORT$path"
}

# ticks [FILE...]: the CPU time (user + system, clock ticks) in /proc stat files, 0 for
# none. The fields after the command name, which may hold spaces: utime and stime are the
# 12th and 13th.
ticks() {
    [ $# -gt 0 ] || { echo 0; return; }
    sed 's/.*) //' "$@" 2>/dev/null | awk '{s += $12 + $13} END {print s + 0}'
}

# server_cpu: the CPU time so far of the server, of its SQLite writer thread (0 on
# PostgreSQL) and of the PostgreSQL server's processes (on PostgreSQL).
server_cpu() {
    local t writer=() pg=()
    for t in /proc/"$server"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == sqlite-writer* ]] && writer+=("$t/stat")
    done
    if [ "$backend" = postgres ]; then
        for t in /proc/[0-9]*; do
            [[ $(cat "$t/comm" 2>/dev/null) == postgres ]] && pg+=("$t/stat")
        done
    fi
    echo "$(ticks "/proc/$server/stat") $(ticks "${writer[@]}") $(ticks "${pg[@]}")"
}

# with_cpu COMMAND...: runs a wrk command (wrk_post, wrk_get) and prints its output, then the
# CPU time per request over the run: the server's, its SQLite writer thread's share, and
# the PostgreSQL server's (its processes that lived through the run). With the CPU shared
# with wrk, rates drift ±10 % between runs; the CPU per request shows a change to the
# work itself more steadily.
with_cpu() {
    local before writer_before pg_before after writer_after pg_after out requests
    read -r before writer_before pg_before < <(server_cpu)
    out=$("$@")
    echo "$out"
    read -r after writer_after pg_after < <(server_cpu)
    requests=$(awk '/requests in/ {print $1}' <<<"$out")
    awk -v t=$((after - before)) -v w=$((writer_after - writer_before)) -v p=$((pg_after - pg_before)) \
        -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {
            printf "server CPU per request: %.1f us", t / hz * 1e6 / n
            if (w > 0) printf " (the SQLite writer thread: %.1f us)", w / hz * 1e6 / n
            if (p > 0) printf "; PostgreSQL CPU per request: %.1f us", p / hz * 1e6 / n
            printf "\n" }'
}

# wrk_get PATH [CONNECTIONS] [THREADS]: wrk for DURATION against GET PATH with the admin
# key, latency distribution included.
wrk_get() {
    local path=$1 connections=${2:-${CONNECTIONS:-32}} threads=${3:-${THREADS:-2}}
    local script
    script=$(mktemp -p "$dir" --suffix=.lua)
    printf 'wrk.headers["X-API-Key"] = "%s"\n' "$key" >"$script"
    wrk -t"$threads" -c"$connections" -d"$DURATION" --latency -s "$script" "http://127.0.0.1:$PORT$path"
}

# start_ceiling PROBE_PATH: builds and starts the ceiling server (a bare actix-web server:
# `cargo run --release -p tg-bench --example ceiling`) on PORT+1 for the agent, waits until
# PROBE_PATH answers there, and sets `ceiling` (its pid; the caller kills it).
start_ceiling() {
    cargo build -q --release -p tg-bench --example ceiling
    target/release/examples/ceiling $((PORT + 1)) "$key" "$agent" &
    ceiling=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))$1" && break; sleep 0.1; done
    echo "ceiling server: connections=${CONNECTIONS:-32} threads=${THREADS:-2} duration=$DURATION"
}

# wal_reserve: keeps the server's WAL from now on (a replication slot named for the run's
# schema, dropped at exit), so that a checkpoint during the run cannot recycle the files
# wal_by_table reads.
wal_reserve() {
    psql "$url" -q -c "SELECT pg_create_physical_replication_slot('$schema', true)" >/dev/null
}

# wal_by_table FROM_LSN COUNT: the WAL PostgreSQL wrote from FROM_LSN to now, in bytes per
# COUNT (per request), by the table each record touched: a table's indexes and TOAST are
# counted with it, records of no relation (commits, mostly) under `(no relation)`. Read
# with pg_waldump from the server's WAL directory, so the server must be on this machine,
# its WAL readable (run as root or as postgres), the run's schema not yet dropped, and
# wal_reserve called before FROM_LSN was read. The WAL is every database's: keep the
# server otherwise idle.
wal_by_table() {
    local from=$1 count=$2 to major datadir waldump map
    read -r to major datadir < <(psql "$url" -At -F ' ' -c "SELECT pg_current_wal_lsn(),
        current_setting('server_version_num')::int / 10000, current_setting('data_directory')")
    waldump=/usr/lib/postgresql/$major/bin/pg_waldump
    [ -x "$waldump" ] || waldump=$(command -v pg_waldump) || { echo "wal_by_table: no pg_waldump"; return 1; }
    map=$(mktemp -p "$dir")
    # Each file node of the schema's tables, their TOAST tables and all their indexes.
    psql "$url" -Atc "
        WITH t AS (SELECT oid, relname, reltoastrelid FROM pg_class
                   WHERE relnamespace = '$schema'::regnamespace AND relkind = 'r')
        SELECT c.relfilenode, t.relname FROM t JOIN pg_class c
            ON c.oid IN (t.oid, t.reltoastrelid)
            OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN (t.oid, t.reltoastrelid))
        WHERE c.relfilenode <> 0" -F ' ' >"$map"
    echo "WAL by table, bytes per request ($from to $to):"
    "$waldump" -p "$datadir/pg_wal" -s "$from" -e "$to" 2>/dev/null | awk -v n="$count" '
        FILENAME == ARGV[1] { table[$1] = $2; next }
        match($0, /[0-9]+\/ *[0-9]+, tx:/) {
            split(substr($0, RSTART, RLENGTH), len, "/")
            name = "(no relation)"
            if (match($0, /rel [0-9]+\/[0-9]+\/[0-9]+/)) {
                split(substr($0, RSTART + 4, RLENGTH - 4), rel, "/")
                name = (rel[3] in table) ? table[rel[3]] : "(other relations)"
            }
            bytes[name] += len[2] + 0; total += len[2] + 0
        }
        END {
            for (t in bytes) printf "  %7.0f  %s\n", bytes[t] / n, t
            printf "  %7.0f  total\n", total / n
        }' "$map" - | sort -k1,1nr
}
