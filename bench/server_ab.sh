#!/usr/bin/env bash
# A/B of the server's two hot read paths between two builds, in one invocation, interleaved so that the
# machine's drift falls on both alike (issue 14: the HTTP hardening must not cost more than 3%):
#   - the ceiling: GET /api/v3/health
#   - getRepository authenticated with a project token
# each as requests/s and as the server's CPU time per request (utime+stime from /proc over the wrk run).
# Each round starts build A's server, measures both, stops it, then the same for build B, on a fresh
# database of REPOS repositories each time; the report gives medians over ROUNDS rounds and B/A.
# Usage: bench/server_ab.sh BASELINE_BUILD_DIR CANDIDATE_BUILD_DIR
# Env: DURATION (seconds per wrk run, default 5), ROUNDS (default 5), REPOS (default 1000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
REPOS=${REPOS:-1000}
. "$here/server_common.sh"

# measure BUILD LABEL: appends "LABEL health-rps health-µs get-repository-rps get-repository-µs" to $work/results
measure() {
  local build=$1 label=$2
  rm -f "$work"/bench.db*
  start_server "$build"
  seed_bench_org "$build" "$REPOS" 16 "$b/bench/http_replay"  # one seeding client for both servers
  # rps PATH [HEADER] -> "requests/s server-CPU-µs/request" (the server's utime+stime over the run, from
  # /proc, divided by the requests wrk completed: less sensitive than req/s to other load on the machine)
  rps() {
    local out cpu0 cpu1
    cpu0=$(server_cpu_ticks)
    out=$(WRK_HEADER="${2:-}" WRK_PATH="$1" wrk -t2 -c64 -d"${DURATION}s" -s "$here/wrk/headers.lua" "$base$1")
    cpu1=$(server_cpu_ticks)
    echo "$out" | grep -q "Non-2xx" && { echo "$label: non-2xx answers from $1:" >&2; echo "$out" >&2; }
    local n rate
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    echo "$rate $(per_request_us $((cpu1 - cpu0)) "$n" 2)"
  }
  local health get_repo
  health=$(rps /api/v3/health)
  get_repo=$(rps /api/v3/organizations/gh/bench/repositories/r000001 "project-token: $project")
  stop_server
  echo "$label $health $get_repo" >> "$work/results"
  echo "round: $label health (req/s, µs/req) $health getRepository $get_repo" >&2
}

for _ in $(seq "$ROUNDS"); do
  measure "$a" A
  measure "$b" B
done

col() { awk -v l="$1" -v c="$2" '$1==l {print $c}' "$work/results" | median; }
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {printf "%.3f", x / y}'; }
# Paired ratios: each round's B over the same round's A, then their median.
paired() { paste <(awk '$1=="A"' "$work/results") <(awk '$1=="B"' "$work/results") \
  | awk -v c="$1" '{printf "%.4f\n", $(c+5) / $c}' | median; }
# Columns of a result line: label, health req/s, health µs, getRepository req/s, getRepository µs.
row() {  # TITLE COLUMN
  local a b
  a=$(col A "$2"); b=$(col B "$2")
  echo "| $1 | $a | $b | $(ratio "$b" "$a") | $(paired "$2") |"
}

cat <<REPORT
| figure | A (baseline) | B (candidate) | B / A (medians) | B / A (median of paired rounds) |
|---|---|---|---|---|
$(row "GET /api/v3/health (ceiling), req/s" 2)
$(row "GET /api/v3/health, server CPU µs per request" 3)
$(row "getRepository with project token, req/s" 4)
$(row "getRepository, server CPU µs per request" 5)

A: $a; B: $b. wrk: 2 threads, 64 connections, ${DURATION}s per run, $ROUNDS rounds (A then B each round);
server: rate limits off, SQLite synchronous=FULL, $REPOS repositories. Machine: $(nproc) cores, load at end
$(cut -d' ' -f1-3 /proc/loadavg).

Every round:
\`\`\`
$(cat "$work/results")
\`\`\`
REPORT
