#!/usr/bin/env bash
# Scale-out micro-benchmarks of issue 5, each beside its baseline from the same invocation:
#   - durable token creation from 64 threads: PostgreSQL (pool 16 and 64) vs SQLite group commit
#   - rate-limit decisions/s: Redis limiter vs in-process GCRA, 1 and 16 threads
#   - issue 13's shared-limit designs side by side (bench/ratelimit_sharing.cc; SHARING_SECONDS per figure)
# Starts a throwaway PostgreSQL 15 (fsync=on) and Redis on free loopback ports, stops them on exit.
# Usage: bench/scaleout.sh [BUILD_DIR] (default ./build). Needs store_postgres_bench,
# ratelimit_redis_bench and ratelimit_sharing built in BUILD_DIR/bench. BENCH_FILTER (a regex) limits the store benchmarks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
work=$(mktemp -d /tmp/repotokens-scaleout.XXXXXX)
. "$here/pg_redis.sh"
cleanup() { stop_pg_redis; rm -rf "$work"; }
trap cleanup EXIT
start_pg_redis

echo "## Scale-out micro-benchmarks ($(nproc) cores, $(date -u +%F))"
echo
echo '```'
REPOTOKENS_BENCH_POSTGRES="$pg_url" \
  "$build/bench/store_postgres_bench" --benchmark_counters_tabular=true ${BENCH_FILTER:+--benchmark_filter="$BENCH_FILTER"} 2>&1 | grep -v '^\*\*\*'
REPOTOKENS_BENCH_REDIS="$redis_url" "$build/bench/ratelimit_redis_bench" 2>&1 | grep -v '^\*\*\*'
echo '```'
echo
echo "### Shared rate-limit designs (issue 13): exact vs A (leases) vs B (report and pull)"
echo
REPOTOKENS_BENCH_REDIS="$redis_url" "$build/bench/ratelimit_sharing" "${SHARING_SECONDS:-3}"
