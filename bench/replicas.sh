#!/usr/bin/env bash
# Replica benchmark: the same request mix against one SQLite server, one PostgreSQL-backed
# replica, and two and three replicas on one PostgreSQL database.
#
# The mix (bench/replicas-mix.lua): 90 % authenticated GET /api/user, 10 % POST
# /api/user/tokens (token create: one write transaction + audit event; it does not alter
# cached token facts, so it does not invalidate any replica's cache). Plus GET /api/capabilities (no DB, no auth) as the bare
# baseline of each setup. With several replicas, one wrk per replica runs at the same
# time (connections split evenly), which is what a round-robin balancer would do without
# the balancer's own cost; the figures are the sums. wrk uses 2 threads in all (2 for one
# replica, 1 per replica otherwise). Loopback only, bounded duration. With QUIET=1 it
# first waits for a quiet machine (bench/wait-quiet.sh).
#
#   bash bench/replicas.sh
#   DURATION=10s CONNS=32 SETUPS="sqlite pg1 pg2 pg3" bash bench/replicas.sh
#
# Everything (PostgreSQL, the replicas, wrk) shares the machine's CPUs: on a 2-core
# machine more replicas cannot add CPU, so the numbers show the cost of the shape, not
# its scaling. PostgreSQL: STACKGATE_TEST_POSTGRES_URL (default local `test` database);
# each setup gets a fresh schema, dropped at the end.
set -euo pipefail

DURATION="${DURATION:-10s}"
CONNS="${CONNS:-32}"
SETUPS="${SETUPS:-sqlite pg1 pg2 pg3}"
PG_URL="${STACKGATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v wrk >/dev/null 2>&1; then
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null; apt-get install -y -qq wrk >/dev/null; }
fi
echo "== cargo build --release -p stackgate-cli" >&2
cargo build --release -p stackgate-cli >&2
BIN="$ROOT/target/release/stackgate"

if [[ "${QUIET:-0}" == 1 ]]; then bash "$ROOT/bench/wait-quiet.sh" >&2 || echo "== machine not quiet; measuring anyway" >&2; fi

WORK="$(mktemp -d)"
PIDS=()
SCHEMAS=()
stop_servers() {
    for p in "${PIDS[@]:-}"; do
        [[ -n "$p" ]] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
    done
    PIDS=()
}
cleanup() {
    stop_servers
    for s in "${SCHEMAS[@]:-}"; do
        [[ -n "$s" ]] && psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_setup DB N: init the database, start N replicas; sets TOKEN and PORTS.
start_setup() {
    local db="$1" n="$2" port
    TOKEN="$("$BIN" init --org bench --admin bench --database "$db" 2>"$WORK/init.log" | tail -n 1)"
    [[ "$TOKEN" == pul-* ]] || { cat "$WORK/init.log" >&2; exit 1; }
    PORTS=()
    for _ in $(seq 1 "$n"); do
        port="$(free_port)"
        STACKGATE_LOG=warn "$BIN" serve --listen "127.0.0.1:$port" --database "$db" >>"$WORK/server.log" 2>&1 &
        PIDS+=($!)
        PORTS+=("$port")
    done
    for port in "${PORTS[@]}"; do
        for _ in $(seq 1 200); do
            curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && break
            sleep 0.1
        done
        curl -fsS -o /dev/null -H "Authorization: token $TOKEN" "http://127.0.0.1:$port/api/user" \
            || { echo "replica on $port not ready" >&2; cat "$WORK/server.log" >&2; exit 1; }
    done
}

mix_script() {
    cat >"$WORK/mix.lua" <<LUA
local n = 0
local auth = "token $1"
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("POST", "/api/user/tokens",
      {["Authorization"] = auth, ["Content-Type"] = "application/json"},
      '{"description":"bench","expires":0}')
  end
  return wrk.format("GET", "/api/user", {["Authorization"] = auth})
end
LUA
}

# run_all PATH [wrk args...]: one wrk per replica at once; prints summed req/s, the worst
# p50/p99 over the replicas, and the count of non-2xx answers.
run_all() {
    local path="$1"; shift
    local n=${#PORTS[@]} per=$(( CONNS / ${#PORTS[@]} )) i=0 wpids=()
    for port in "${PORTS[@]}"; do
        wrk -t "$(( (2 + n - 1) / n ))" -c "$per" -d "$DURATION" --latency "$@" "http://127.0.0.1:$port$path" >"$WORK/wrk.$i" 2>&1 &
        wpids+=($!); i=$((i + 1))
    done
    for p in "${wpids[@]}"; do wait "$p"; done
    local rps=0 p50="" p99="" errs=0
    for i in $(seq 0 $((n - 1))); do
        rps="$(awk -v a="$rps" '/^Requests\/sec/{printf "%.0f", a + $2}' "$WORK/wrk.$i")"
        p50="$p50 $(awk '$1=="50%"{print $2}' "$WORK/wrk.$i")"
        p99="$p99 $(awk '$1=="99%"{print $2}' "$WORK/wrk.$i")"
        errs=$(( errs + $(awk '/Non-2xx/{print $NF}' "$WORK/wrk.$i" | tail -n1 | grep -E '^[0-9]+$' || echo 0) ))
    done
    printf "%8s req/s  p50%s  p99%s  non-2xx %s" "$rps" "$p50" "$p99" "$errs"
}

printf "%-28s | %-60s | %s\n" "setup" "mix (90% GET /api/user, 10% token create)" "GET /api/capabilities"
for setup in $SETUPS; do
    case "$setup" in
        sqlite) db="sqlite://$WORK/bench-$RANDOM.db"; n=1; label="SQLite, 1 server" ;;
        pg*)
            n="${setup#pg}"
            schema="sg_bench_$$_$n"
            psql -q "$PG_URL" -c "SET client_min_messages = warning; DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
            SCHEMAS+=("$schema")
            sep='?'; [[ "$PG_URL" == *\?* ]] && sep='&'
            db="$PG_URL${sep}options[search_path]=$schema"
            label="PostgreSQL, $n replica(s)" ;;
        *) echo "unknown setup $setup" >&2; exit 1 ;;
    esac
    start_setup "$db" "$n"
    mix_script "$TOKEN"
    mix="$(run_all /api/user -s "$WORK/mix.lua")"
    base="$(run_all /api/capabilities)"
    printf "%-28s | %-60s | %s\n" "$label" "$mix" "$base"
    stop_servers
done
