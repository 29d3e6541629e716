#!/usr/bin/env bash
# Coverage benchmarks of issue 4 (wrk and curl on loopback, on the same cores as the server):
#   - uploads/s of a generated 50-file report (project token, 64 connections) beside the health ceiling
#   - one 20 MiB report (monorepo size): time to accept, and the server's peak RSS growth while parsing
#     (targets: < 1 s, growth <= 3x the body size)
# Usage: bench/coverage.sh [BUILD_DIR] (default ./build-cov). Prints a Markdown report on stdout.
# Env: DURATION (seconds per wrk run, default 5), RUNS (runs per figure, median reported, default 3),
#      BACKEND (sqlite, the default, or postgresql: a throwaway PostgreSQL 15 started by bench/pg_redis.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build-cov}" && pwd)
DURATION=${DURATION:-5}
RUNS=${RUNS:-3}
BACKEND=${BACKEND:-sqlite}
work=$(mktemp -d /tmp/repotokens-covbench.XXXXXX)
. "$here/pg_redis.sh"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  stop_pg_redis
  rm -rf "$work"
}
trap cleanup EXIT

db="sqlite:$work/bench.db"
if [ "$BACKEND" = postgresql ]; then
  start_pg_redis
  db=$pg_url
fi
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$work/secret"
rm -f "$work/port"
"$build/repotokensd" serve --db "$db" --secret-file "$work/secret" --listen 127.0.0.1:0 --port-file "$work/port" \
  --rate-limit-per-token 0 --rate-limit-per-address 0 --log-level warn 2>>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$work/port")"
admin=$("$build/repotokensd" admin create-user --db "$db" --secret-file "$work/secret" --name bench-admin --instance-admin)
auth="api-token: $admin"
curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"provider":"gh","name":"bench"}' \
  "$base/api/v3/organizations" >/dev/null
curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' \
  -d '{"provider":"gh","repositoryFullPath":"bench/mono"}' "$base/api/v3/repositories" >/dev/null
token=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{}' \
  "$base/api/v3/organizations/gh/bench/repositories/mono/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])')

# report FILES LINES_PER_FILE OUT: a reporter-shaped body, two thirds of the lines covered.
report() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
files, lines, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    f.write('{"total":66,"fileReports":[')
    for i in range(files):
        if i: f.write(",")
        cov = ",".join('"%d":%d' % (l, (l % 3 != 0) * (l % 7 + 1)) for l in range(1, lines + 1))
        f.write('{"filename":"src/module%04d/file%05d.go","total":66,"coverage":{%s}}' % (i // 100, i, cov))
    f.write("]}")
PY
}

wrk_rps() {  # CONNECTIONS PATH [SCRIPT] -> requests/s, median of RUNS
  local results=()
  for _ in $(seq "$RUNS"); do
    local out
    if [ -n "${3:-}" ]; then
      out=$(WRK_BODY_FILE="$work/r50.json" WRK_TOKEN="$token" wrk -t2 -c"$1" -d"${DURATION}s" -s "$3" "$base$2")
    else
      out=$(wrk -t2 -c"$1" -d"${DURATION}s" "$base$2")
    fi
    echo "$out" | grep -q "Non-2xx" && { echo "non-2xx answers in wrk run of $2:" >&2; echo "$out" >&2; }
    results+=("$(echo "$out" | awk '/Requests\/sec/ {print $2}')")
  done
  printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# First, on a fresh server: one 20 MiB report: about 2.6 M lines over 2,000 files.
report 2000 1290 "$work/r20.json"
size=$(stat -c %s "$work/r20.json")
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
cpu_before=$(cpu_ticks "$server_pid")  # user + system, in clock ticks
accept=$(curl -s -o "$work/big.out" -w '%{http_code} %{time_total} %{time_pretransfer} %{time_starttransfer}' \
  -X POST -H "project-token: $token" -H 'Content-Type: application/json' --data-binary "@$work/r20.json" \
  "$base/2.0/coverage/monorepo/go")
hwm_after=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
cpu_after=$(cpu_ticks "$server_pid")
server_cpu=$(awk -v a="$cpu_before" -v b="$cpu_after" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')
read -r code total pre start <<<"$accept"
status=$(curl -sf -H "$auth" "$base/api/v3/organizations/gh/bench/repositories/mono/commits/monorepo/coverage" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["coverage"], d["coverableLines"], len(d["files"]))')

# Throughput after the big report, so that the wrk phase cannot raise the peak measured above.
report 50 200 "$work/r50.json"
health=$(wrk_rps 64 /api/v3/health)
uploads=$(wrk_rps 64 /2.0/coverage/x/go "$here/wrk/coverage_upload.lua")


echo "## Coverage upload (bench/coverage.sh, $(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Machine: $(nproc) cores shared with the load generator (and other work: load $(cut -d' ' -f1-3 /proc/loadavg))."
if [ "$BACKEND" = postgresql ]; then store="PostgreSQL 15 (fsync=on), one node"; else store="SQLite with group commit"; fi
echo "wrk -t2 -c64, ${DURATION} s per run, median of ${RUNS} runs; $store."
echo
echo "| figure | result |"
echo "|---|---|"
echo "| health ceiling (GET /api/v3/health) | ${health} req/s |"
echo "| 50-file report upload (200 lines per file, $(stat -c %s "$work/r50.json") bytes, project token, new commit each) | ${uploads} uploads/s |"
awk -v s="$size" -v c="$code" -v t="$total" -v p="$pre" -v st="$start" 'BEGIN {
  printf "| one %.1f MiB report: HTTP status | %s |\n", s / 1048576, c
  printf "| time to accept (first byte sent to answer received: time_total - time_pretransfer; 100 Continue answered) | %.3f s |\n", t - p }'
echo "| server CPU time spent on it (user + system, all threads: receive, parse, encode, store) | ${server_cpu} s |"
awk -v b="$rss_before" -v h0="$hwm_before" -v h1="$hwm_after" -v s="$size" 'BEGIN {
  growth = (h1 > b ? h1 - b : 0) * 1024
  printf "| peak RSS growth while accepting it (VmHWM after - VmRSS before) | %.1f MiB = %.2fx the body (peak before: %.1f MiB) |\n", growth / 1048576, growth / s, h0 / 1024 }'
echo "| stored report (coverage %, coverable lines, files) | ${status} |"
if [ "$BACKEND" = postgresql ]; then
  size=$("$pgbin/psql" -qAt -h 127.0.0.1 -p "$pg_port" -U postgres -c 'SELECT pg_size_pretty(pg_database_size(current_database()))' postgres)
else
  size=$(du -sh "$work" | cut -f1)
fi
echo "| database size after all of it | $size |"
