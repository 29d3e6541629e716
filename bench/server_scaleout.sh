#!/usr/bin/env bash
# Server benchmarks of issues 5 and 13, all configurations in one invocation so that each sits beside the
# SQLite baseline measured minutes apart on the same machine:
#   sqlite      one node on SQLite, in-process rate limiter (the baseline)
#   pg          one node on PostgreSQL, in-process rate limiter
#   pg+redis x2 two nodes on one PostgreSQL, sharing limits through Redis; one wrk per node, summed
#   (BEFORE)    the same two nodes run from another build, e.g. main's with the exact limiter
# Figures: project-token getRepository (64 connections) and durable POST .../tokens (64 connections), in
# requests/s and in CPU per request split by process: repotokensd node(s), PostgreSQL (postmaster and its
# backends), Redis. Rate limits are on but far above the load (RATE, 1e6/s: the highest rate the Redis
# limiters count exactly, in microseconds) so that every request pays for its limiter decision and Redis
# is really charged. Then the overshoot: each two-node build again with one shared per-token limit of
# LIMIT/s (burst 100) offered all wrk can send (about 10x), admitted (2xx) / (LIMIT x seconds + burst).
# wrk runs on the same 2 cores, so compare ratios and CPU per request, not absolutes.
# Usage: bench/server_scaleout.sh [BUILD_DIR] (default ./build). Env: DURATION (s per wrk run, default 5),
# RUNS (median of, default 3), REPOS (default 2000), PG_POOL (--db-connections of PostgreSQL nodes, default
# 32), RATE (default 1e6), LIMIT (default 2000), BEFORE (a build folder: adds its two-node figures),
# CREATE=0 (skip POST tokens), PIN=1 (nodes on core 0, wrk, PostgreSQL and Redis on core 1, via taskset),
# GET=0 (skip getRepository), TWO=0 (skip the two-node configurations), BEFORE_NODES=1 (BEFORE as one
# PostgreSQL node instead of two with Redis), STATS=1 (PostgreSQL loads pg_stat_statements; after each
# PostgreSQL POST tokens measurement the top statements by execution time, with calls per token, and the
# index scans/inserts of the tables written are printed to stderr).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
REPOS=${REPOS:-2000}
PG_POOL=${PG_POOL:-32}
RATE=${RATE:-1e6}
LIMIT=${LIMIT:-2000}
CREATE=${CREATE:-1}
PIN=${PIN:-0}
GET=${GET:-1}
TWO=${TWO:-1}
BEFORE_NODES=${BEFORE_NODES:-2}
STATS=${STATS:-0}
[ "$STATS" = 1 ] && PG_EXTRA="${PG_EXTRA:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
node_cpu="" side_cpu=""
if [ "$PIN" = 1 ]; then node_cpu="taskset -c 0" side_cpu="taskset -c 1"; fi
bin=$build/repotokensd
work=$(mktemp -d /tmp/repotokens-scaleout-server.XXXXXX)
. "$here/pg_redis.sh"
node_pids=()
stop_nodes() {
  for pid in "${node_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  node_pids=() bases=()
}
cleanup() { stop_nodes; stop_pg_redis; rm -rf "$work"; }
trap cleanup EXIT
start_pg_redis
if [ "$PIN" = 1 ]; then  # PostgreSQL's backends are forked from the postmaster and inherit its processor
  pm=$(head -1 "$work/data/postmaster.pid")
  for pid in "$pm" $(pgrep -P "$pm") "$redis_pid"; do taskset -apc 1 "$pid" >/dev/null; done
fi
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/secret"
chmod 600 "$work/secret"
tck=$(getconf CLK_TCK)

bases=()
start_node() {  # DB [extra serve args...]; env TOKEN_RATE: the per-token limit (default $RATE)
  local db=$1 n=${#node_pids[@]}
  shift
  rm -f "$work/port$n"
  $node_cpu "$bin" serve --db "$db" --secret-file "$work/secret" --listen 127.0.0.1:0 \
    --port-file "$work/port$n" --rate-limit-per-token "${TOKEN_RATE:-$RATE}" --rate-limit-per-address "$RATE" --log-level warn "$@" \
    2>>"$work/server.log" &
  node_pids+=($!)
  for _ in $(seq 100); do [ -s "$work/port$n" ] && break; sleep 0.1; done
  bases+=("http://127.0.0.1:$(cat "$work/port$n")")
}

seed() {  # DB: an instance admin, organization gh/bench with $REPOS repositories, one project token
  admin=$("$bin" admin create-user --db "$1" --secret-file "$work/secret" --name bench-admin --instance-admin)
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
        $side_cpu wrk -t1 -c$((64 / ${#bases[@]})) -d"${DURATION}s" -s "$here/wrk/$script" "$base$path" \
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

# overshoot -> "admitted offered seconds": one wrk per node, as fast as it can, on the one project token.
overshoot() {
  local pids=() i=0 admitted=0 offered=0 seconds=0
  for base in "${bases[@]}"; do
    WRK_HEADER="project-token: $project" WRK_PATH=/api/v3/organizations/gh/bench/repositories/r000001 WRK_ORG=gh/bench \
      WRK_REPOS="$REPOS" WRK_OFFSET=$((i * 1000)) $side_cpu wrk -t1 -c32 -d"${DURATION}s" -s "$here/wrk/headers.lua" \
      "$base/api/v3/organizations/gh/bench/repositories/r000001" >"$work/wrk.$i" 2>>"$work/wrk.err" &
    pids+=($!) i=$((i + 1))
  done
  wait "${pids[@]}"
  for ((i = 0; i < ${#bases[@]}; i++)); do
    local all refused secs
    all=$(awk '/requests in/ {print $1}' "$work/wrk.$i")
    secs=$(awk '/requests in/ {gsub(/s,/, "", $4); print $4}' "$work/wrk.$i")
    refused=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.$i")
    offered=$((offered + all)) admitted=$((admitted + all - ${refused:-0}))
    seconds=$secs
  done
  echo "$admitted $offered $seconds"
}

# statement_stats reset | statement_stats LABEL: with STATS=1, clears pg_stat_statements, or prints the top
# statements since then (share of execution time, calls and µs per POST token) and the tables' index use.
statement_stats() {
  [ "$STATS" = 1 ] || return 0
  local sql=("$pgbin/psql" -q -X -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres)
  if [ "$1" = reset ]; then
    "${sql[@]}" -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' -c 'SELECT pg_stat_statements_reset()' \
      -c 'SELECT pg_stat_reset()' >/dev/null
    return
  fi
  local tokens
  tokens=$("${sql[@]}" -At -c "SELECT count(*) FROM repository_tokens")
  {
    echo "== $1: top statements during POST tokens ($tokens tokens in the table)"
    "${sql[@]}" -c "SELECT round((100 * total_exec_time / sum(total_exec_time) OVER ())::numeric, 1) AS \"% time\",
      round(calls::numeric / $tokens, 3) AS \"calls/token\", round((1000 * total_exec_time / $tokens)::numeric, 1)
      AS \"µs/token\", round((1000 * mean_exec_time)::numeric, 1) AS \"µs/call\", round((1000 * total_plan_time / $tokens)::numeric, 1) AS \"plan µs/token\", left(regexp_replace(query, '\\s+', ' ', 'g'), 150) AS query
      FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
    "${sql[@]}" -c "SELECT relname, indexrelname, idx_scan FROM pg_stat_user_indexes
      WHERE relname IN ('repository_tokens', 'audit_events', 'webhook_events', 'repositories') ORDER BY 1, 2"
  } >&2
}

results=() overshoots=()
run_config() {  # LABEL DB NODES [extra serve args...]
  local label=$1 db=$2 nodes=$3
  shift 3
  "$bin" admin migrate --db "$db" >/dev/null
  for _ in $(seq "$nodes"); do start_node "$db" "$@"; done
  seed "$db"
  echo "measuring $label..." >&2
  local get="- - - -" create="- - - -"
  [ "$GET" = 1 ] && get=$(measure headers.lua /api/v3/organizations/gh/bench/repositories/r000001 "project-token: $project")
  if [ "$CREATE" = 1 ]; then
    [ "$db" = "$pg_url" ] && statement_stats reset
    create=$(measure create_tokens.lua /api/v3/health "$auth")
    [ "$db" = "$pg_url" ] && statement_stats "$label" "$(read -r c _ <<<"$create"; echo "$c")"
  fi
  results+=("$label|$get|$create")
  if [ "$nodes" = 2 ]; then  # the same nodes again, now with one shared limit of $LIMIT/s per token
    stop_nodes
    for _ in $(seq "$nodes"); do TOKEN_RATE=$LIMIT start_node "$db" "$@" --rate-burst 100; done
    overshoots+=("$label|$(overshoot)")
  fi
  stop_nodes
}

run_config "sqlite, 1 node" "sqlite:$work/bench.db" 1
reset_pg() { "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' postgres; }
run_config "PostgreSQL, 1 node, pool $PG_POOL" "$pg_url" 1 --db-connections "$PG_POOL"
if [ "$TWO" = 1 ]; then
  reset_pg
  run_config "PostgreSQL + Redis, 2 nodes, pool $PG_POOL each" "$pg_url" 2 --db-connections "$PG_POOL" --ratelimit "$redis_url"
fi
if [ -n "${BEFORE:-}" ]; then
  reset_pg
  bin=$(cd "$BEFORE" && pwd)/repotokensd
  if [ "$BEFORE_NODES" = 1 ]; then
    run_config "PostgreSQL, 1 node, pool $PG_POOL, BEFORE=$BEFORE" "$pg_url" 1 --db-connections "$PG_POOL"
  else
    run_config "PostgreSQL + Redis, 2 nodes, pool $PG_POOL each, BEFORE=$BEFORE" "$pg_url" 2 --db-connections "$PG_POOL" --ratelimit "$redis_url"
  fi
fi

echo "| configuration | getRepository req/s | CPU/req node + PG + Redis (µs) | POST tokens/s | CPU/token node + PG + Redis (µs) |"
echo "|---|---|---|---|---|"
for line in "${results[@]}"; do
  IFS='|' read -r label get create <<<"$line"
  read -r g gn gp gr <<<"$get"
  read -r c cn cp cr <<<"$create"
  [ "$c" = - ] && { printf '| %s | %s | %.0f = %s + %s + %s | - | - |\n' "$label" "$g" "$(awk -v a="$gn" -v b="$gp" -v c="$gr" 'BEGIN {print a+b+c}')" "$gn" "$gp" "$gr"; continue; }
  awk -v l="$label" -v g="$g" -v gn="$gn" -v gp="$gp" -v gr="$gr" -v c="$c" -v cn="$cn" -v cp="$cp" -v cr="$cr" \
    'BEGIN {printf "| %s | %s | %.0f = %s + %s + %s | %s | %.0f = %s + %s + %s |\n", l, g, gn+gp+gr, gn, gp, gr, c, cn+cp+cr, cn, cp, cr}'
done
echo
echo "| two nodes, one shared limit of $LIMIT/s (burst 100) | offered req/s | admitted | admitted ÷ limit |"
echo "|---|---|---|---|"
for line in "${overshoots[@]}"; do
  IFS='|' read -r label o <<<"$line"
  read -r admitted offered seconds <<<"$o"
  awk -v l="$label" -v a="$admitted" -v o="$offered" -v s="$seconds" -v r="$LIMIT" \
    'BEGIN {printf "| %s | %.0f (%.1fx the limit) | %d in %.2f s | %.3f |\n", l, o / s, o / s / r, a, s, a / (r * s + 100)}'
done
echo
echo "RATE $RATE, PIN $PIN."
echo "wrk: 64 connections in total (one wrk with -t1 per node), ${DURATION}s per run, median of $RUNS runs;"
echo "CPU per request over all runs from /proc (utime+stime, ${tck} Hz); $(nproc) cores, load at end: $(cut -d' ' -f1-3 /proc/loadavg)."
