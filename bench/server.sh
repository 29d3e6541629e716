#!/usr/bin/env bash
# Server benchmarks of issue 2, each beside its baseline from the same invocation (wrk on loopback, the
# same 2 cores as the server, so figures are ratios more than absolutes):
#   - ceiling: GET /api/v3/health
#   - getRepository authenticated with a project token (target >= 60% of the ceiling)
#   - durable POST .../tokens with 64 connections, group commit vs one transaction per request
#   - listing page 1 vs a page past the 90,000th of 100,000 repositories (target ratio <= 1.3)
#   - resident memory with 100,000 repositories and 200,000 tokens (target <= 100 MB)
# Usage: bench/server.sh [BUILD_DIR] (default ./build). Prints a Markdown report on stdout.
# Env: DURATION (seconds per wrk run, default 5), RUNS (runs per figure, median reported, default 3),
#      REPOS (default 100000), TOKENS (default 200000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
REPOS=${REPOS:-100000}
TOKENS=${TOKENS:-200000}
. "$here/server_common.sh"

# wrk_rps CONNECTIONS SCRIPT PATH [HEADER] -> requests/s (median of RUNS runs)
wrk_rps() {
  local conns=$1 script=$2 path=$3 header=${4:-}
  local results=()
  for _ in $(seq "$RUNS"); do
    local out
    out=$(WRK_HEADER="$header" WRK_PATH="$path" WRK_ORG=gh/bench WRK_REPOS="$REPOS" WRK_OFFSET=$RANDOM \
      wrk -t2 -c"$conns" -d"${DURATION}s" -s "$here/wrk/$script" "$base$path" 2>>"$work/wrk.err")
    echo "$out" | grep -q "Non-2xx" && { echo "non-2xx answers in wrk run of $path:" >&2; echo "$out" >&2; }
    results+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }

start_server "$build"
echo "seeding $REPOS repositories..." >&2
seed_bench_org "$build" "$REPOS" 32

health=$(wrk_rps 64 headers.lua /api/v3/health)
get_repo=$(wrk_rps 64 headers.lua /api/v3/organizations/gh/bench/repositories/r000001 "project-token: $project")

# The cursor of the page after the 90,000th repository: walk there with limit 1000, then use limit 100.
cursor=""
for _ in $(seq 90); do
  cursor=$(curl -sf -H "$auth" "$base/api/v3/organizations/gh/bench/repositories?limit=1000${cursor:+&cursor=$cursor}" \
    | sed -n 's/.*"cursor":"\([^"]*\)".*/\1/p')
done
page1=$(wrk_rps 16 headers.lua "/api/v3/organizations/gh/bench/repositories?limit=100" "$auth")
page901=$(wrk_rps 16 headers.lua "/api/v3/organizations/gh/bench/repositories?limit=100&cursor=$cursor" "$auth")

create_group=$(wrk_rps 64 create_tokens.lua /api/v3/health "$auth")
stop_server
start_server "$build" --group-commit off
create_single=$(wrk_rps 64 create_tokens.lua /api/v3/health "$auth")
stop_server

start_server "$build"
have=$(sqlite3 "$work/bench.db" 'SELECT count(*) FROM repository_tokens' 2>/dev/null || echo 0)
if [ "$have" -lt "$TOKENS" ]; then
  echo "topping up to $TOKENS tokens (have $have)..." >&2
  seq "$have" $((TOKENS - 1)) | awk -v n="$REPOS" '{printf "POST /api/v3/organizations/gh/bench/repositories/r%06d/tokens {}\n", $1 % n}' \
    | "$build/bench/http_replay" "$base" 64 "$auth" >&2
fi
tokens_now=$(sqlite3 "$work/bench.db" 'SELECT count(*) FROM repository_tokens' 2>/dev/null || echo "?")
# Touch the data the way a serving node does, then read the resident set.
wrk_rps 16 headers.lua "/api/v3/organizations/gh/bench/repositories?limit=100" "$auth" >/dev/null
rss=$(rss_mb)
stop_server

cat <<REPORT
| figure | value | baseline (same run) | ratio | target |
|---|---|---|---|---|
| GET /api/v3/health (ceiling), req/s | $health | | | |
| getRepository with project token, req/s | $get_repo | health $health | $(ratio "$get_repo" "$health") | >= 0.60 |
| POST tokens, 64 conns, group commit, tokens/s | $create_group | one tx per request $create_single | $(ratio "$create_group" "$create_single") | >= 5000/s |
| list page 1 vs past 90,000th, req/s | page 1: $page1 | page 901: $page901 | $(ratio "$page1" "$page901") | <= 1.3 |
| resident memory, $REPOS repos + $tokens_now tokens, MB | $rss | | | <= 100 |

wrk: 2 threads, ${DURATION}s per run, median of $RUNS runs; server: rate limits off, SQLite synchronous=FULL.
REPORT
