#!/usr/bin/env bash
# Scale-out micro-benchmarks of issue 5, each beside its baseline from the same invocation:
#   - durable token creation from 64 threads: PostgreSQL (pool 16 and 64) vs SQLite group commit
#   - rate-limit decisions/s: Redis limiter vs in-process GCRA, 1 and 16 threads
# Starts a throwaway PostgreSQL 15 (fsync=on) and Redis on free loopback ports, stops them on exit.
# Usage: bench/scaleout.sh [BUILD_DIR] (default ./build). Needs store_postgres_bench and
# ratelimit_redis_bench built in BUILD_DIR/bench. BENCH_FILTER (a regex) limits the store benchmarks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
pgbin=${REPOTOKENS_PG_BIN:-/usr/lib/postgresql/15/bin}
work=$(mktemp -d /tmp/repotokens-scaleout.XXXXXX)
pg_pid="" redis_pid=""
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$work"; fi
cleanup() {
  # Signal the postmaster itself (runuser does not forward signals): fast shutdown.
  [ -f "$work/data/postmaster.pid" ] && kill -INT "$(head -1 "$work/data/postmaster.pid")" 2>/dev/null
  [ -n "$pg_pid" ] && wait "$pg_pid" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_port=$(free_port)
"${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust --no-sync --locale=C >"$work/initdb.log"
"${as_pg[@]}" "$pgbin/postgres" -D "$work/data" -k "$work" -c listen_addresses=127.0.0.1 -p "$pg_port" \
  -c fsync=on -c max_connections=300 >"$work/postgres.log" 2>&1 &
pg_pid=$!
for _ in $(seq 100); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.1; done
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done

echo "## Scale-out micro-benchmarks ($(nproc) cores, $(date -u +%F))"
echo
echo '```'
REPOTOKENS_BENCH_POSTGRES="postgresql://postgres@127.0.0.1:$pg_port/postgres" \
  "$build/bench/store_postgres_bench" --benchmark_counters_tabular=true ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} 2>&1 | grep -v '^\*\*\*'
REPOTOKENS_BENCH_REDIS="redis://127.0.0.1:$redis_port" "$build/bench/ratelimit_redis_bench" 2>&1 | grep -v '^\*\*\*'
echo '```'
