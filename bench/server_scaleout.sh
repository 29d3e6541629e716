#!/usr/bin/env bash
# Server benchmarks of issue 5, all configurations in one invocation so that each sits beside the SQLite
# baseline measured minutes apart on the same machine:
#   sqlite      one node on SQLite, in-process rate limiter (the baseline)
#   pg          one node on PostgreSQL, in-process rate limiter
#   pg+redis x2 two nodes on one PostgreSQL, sharing limits through Redis; one wrk per node, summed
# Figures: project-token getRepository (64 connections) and durable POST .../tokens (64 connections), in
# requests/s and in CPU per request split by process: repotokensd node(s), PostgreSQL (postmaster and its
# backends), Redis. Rate limits are on but far above the load (1e9/s) so that every request pays for its
# limiter decision. wrk runs on the same 2 cores, so compare ratios and CPU per request, not absolutes.
# Usage: bench/server_scaleout.sh [BUILD_DIR] (default ./build). Env: DURATION (s per wrk run, default 5),
# RUNS (median of, default 3), REPOS (default 2000), PG_POOL (--db-connections of PostgreSQL nodes, default 32).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
REPOS=${REPOS:-2000}
PG_POOL=${PG_POOL:-32}
work=$(mktemp -d /tmp/repotokens-scaleout-server.XXXXXX)
. "$here/pg_redis.sh"
node_pids=()
stop_nodes() {
  for pid in "${node_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done
  node_pids=() bases=()
}
cleanup() { stop_nodes; stop_pg_redis; rm -rf "$work"; }
trap cleanup EXIT
start_pg_redis
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/secret"
chmod 600 "$work/secret"
tck=$(getconf CLK_TCK)

bases=()
start_node() {  # DB [extra serve args...]
  local db=$1 n=${#node_pids[@]}
  shift
  rm -f "$work/port$n"
  "$build/repotokensd" serve --db "$db" --secret-file "$work/secret" --listen 127.0.0.1:0 \
    --port-file "$work/port$n" --rate-limit-per-token 1e9 --rate-limit-per-address 1e9 --log-level warn "$@" \
    2>>"$work/server.log" &
  node_pids+=($!)
  for _ in $(seq 100); do [ -s "$work/port$n" ] && break; sleep 0.1; done
  bases+=("http://127.0.0.1:$(cat "$work/port$n")")
}

seed() {  # DB: an instance admin, organization gh/bench with $REPOS repositories, one project token
  admin=$("$build/repotokensd" admin create-user --db "$1" --secret-file "$work/secret" --name bench-admin --instance-admin)
  auth="api-token: $admin"
  curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"provider":"gh","name":"bench"}' \
    "${bases[0]}/api/v3/organizations" >/dev/null
  seq 0 $((REPOS - 1)) | awk '{printf "POST /api/v3/repositories {\"provider\":\"gh\",\"repositoryFullPath\":\"bench/r%06d\"}\n", $1}' \
    | "$build/bench/http_replay" "${bases[0]}" 32 "$auth" >&2
  project=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
    "${bases[0]}/api/v3/organizations/gh/bench/repositories/r000001/tokens" | sed 's/.*"token":"\([^"]*\)".*/\1/')
}

# measure SCRIPT PATH HEADER -> "req/s node_us pg_us redis_us": the median req/s of RUNS runs (64
# connections split over the nodes, one wrk each) and CPU per request over all runs, in microseconds.
measure() {
  local script=$1 path=$2 header=$3 rates=() requests=0
  local n0 p0 r0 n1 p1 r1
  n0=$(cpu_ticks "${node_pids[@]}") p0=$(pg_cpu_ticks) r0=$(redis_cpu_ticks)
  for run in $(seq "$RUNS"); do
    local pids=() i=0 total=0 count=0
    for base in "${bases[@]}"; do
      WRK_HEADER="$header" WRK_PATH="$path" WRK_ORG=gh/bench WRK_REPOS="$REPOS" WRK_OFFSET=$((RANDOM + i * 1000)) \
        wrk -t1 -c$((64 / ${#bases[@]})) -d"${DURATION}s" -s "$here/wrk/$script" "$base$path" \
        >"$work/wrk.$i" 2>>"$work/wrk.err" &
      pids+=($!) i=$((i + 1))
    done
    wait "${pids[@]}"
    for ((i = 0; i < ${#bases[@]}; i++)); do
      grep -q "Non-2xx" "$work/wrk.$i" && { echo "non-2xx answers in wrk run of $path:" >&2; cat "$work/wrk.$i" >&2; }
      total=$(awk -v t="$total" '/Requests\/sec/ {print t + $2}' "$work/wrk.$i")
      count=$((count + $(awk '/requests in/ {print $1}' "$work/wrk.$i")))
    done
    rates+=("$total") requests=$((requests + count))
  done
  n1=$(cpu_ticks "${node_pids[@]}") p1=$(pg_cpu_ticks) r1=$(redis_cpu_ticks)
  local median
  median=$(printf '%s\n' "${rates[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  awk -v m="$median" -v q="$requests" -v t="$tck" -v n=$((n1 - n0)) -v p=$((p1 - p0)) -v r=$((r1 - r0)) \
    'BEGIN {u = 1e6 / t / q; printf "%.0f %.1f %.1f %.1f\n", m, n * u, p * u, r * u}'
}

results=()
run_config() {  # LABEL DB NODES [extra serve args...]
  local label=$1 db=$2 nodes=$3
  shift 3
  "$build/repotokensd" admin migrate --db "$db" >/dev/null
  for _ in $(seq "$nodes"); do start_node "$db" "$@"; done
  seed "$db"
  echo "measuring $label..." >&2
  local get create
  get=$(measure headers.lua /api/v3/organizations/gh/bench/repositories/r000001 "project-token: $project")
  create=$(measure create_tokens.lua /api/v3/health "$auth")
  results+=("$label|$get|$create")
  stop_nodes
}

run_config "sqlite, 1 node" "sqlite:$work/bench.db" 1
reset_pg() { "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' postgres; }
run_config "PostgreSQL, 1 node, pool $PG_POOL" "$pg_url" 1 --db-connections "$PG_POOL"
reset_pg
run_config "PostgreSQL + Redis, 2 nodes, pool $PG_POOL each" "$pg_url" 2 --db-connections "$PG_POOL" --ratelimit "$redis_url"

echo "| configuration | getRepository req/s | CPU/req node + PG + Redis (µs) | POST tokens/s | CPU/token node + PG + Redis (µs) |"
echo "|---|---|---|---|---|"
for line in "${results[@]}"; do
  IFS='|' read -r label get create <<<"$line"
  read -r g gn gp gr <<<"$get"
  read -r c cn cp cr <<<"$create"
  awk -v l="$label" -v g="$g" -v gn="$gn" -v gp="$gp" -v gr="$gr" -v c="$c" -v cn="$cn" -v cp="$cp" -v cr="$cr" \
    'BEGIN {printf "| %s | %s | %.0f = %s + %s + %s | %s | %.0f = %s + %s + %s |\n", l, g, gn+gp+gr, gn, gp, gr, c, cn+cp+cr, cn, cp, cr}'
done
echo
echo "wrk: 64 connections in total (one wrk with -t1 per node), ${DURATION}s per run, median of $RUNS runs;"
echo "CPU per request over all runs from /proc (utime+stime, ${tck} Hz); $(nproc) cores, load at end: $(cut -d' ' -f1-3 /proc/loadavg)."
