#!/usr/bin/env bash
# Secretless CI's exchange (issue 11): POST /api/v3/ci/token with cached keys, as exchanges/s and server CPU
# µs per exchange, beside getRepository with a project token in the same run (wrk), on SQLite. The issuer is
# the test suite's (tests/oidc_issuer/oidc_issuer.py, RS256 with a 2048-bit key); its job tokens are signed
# before the clock starts, each with its own jti, spread over REPOS repositories (one trust rule each, bound
# to repository_id) so that no repository reaches its 100 live tokens. Target: >= 2,000 exchanges/s.
# Usage: bench/ci_exchange.sh [BUILD_DIR] (default ./build). Prints a Markdown report on stdout.
# Env: EXCHANGES per round (default 3000), ROUNDS (default 3), REPOS (default 100), DURATION (wrk seconds, 5),
#      CONNECTIONS (default 32).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
EXCHANGES=${EXCHANGES:-3000}
ROUNDS=${ROUNDS:-3}
REPOS=${REPOS:-100}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
if (( EXCHANGES * ROUNDS + 1 > REPOS * 100 )); then
  echo "EXCHANGES * ROUNDS must be below REPOS * 100 (a repository holds 100 live tokens; one more warms the keys)" >&2
  exit 2
fi
. "$here/server_common.sh"
issuer_pid=""
trap 'kill $issuer_pid 2>/dev/null; cleanup' EXIT

# The issuer on a loopback port of its choosing ("listening PORT" on its first line).
coproc ISSUER { exec /usr/bin/python3 "$here/../tests/oidc_issuer/oidc_issuer.py"; }
issuer_pid=$ISSUER_PID
read -r _ issuer_port <&"${ISSUER[0]}"
issuer="http://127.0.0.1:$issuer_port"
audience=https://bench.example

start_server "$build" --ci-issuer "github=$issuer" --ci-audience "$audience"
echo "seeding $REPOS repositories with a trust rule each..." >&2
seed_bench_org "$build" "$REPOS" 16
seq 0 $((REPOS - 1)) | awk -v iss="$issuer" '{printf "POST /api/v3/organizations/gh/bench/repositories/r%06d/ci-trust {\"issuer\":\"%s\",\"claims\":{\"repository_id\":\"%d\"}}\n", $1, iss, 100000 + $1}' \
  | "$build/bench/http_replay" "$base" 8 "$auth" >&2

echo "signing $((EXCHANGES * ROUNDS + 1)) job tokens..." >&2
/usr/bin/python3 - "$issuer" "$audience" "$REPOS" $((EXCHANGES * ROUNDS + 1)) >"$work/exchanges" <<'PY'
import json, sys, time, urllib.request
issuer, audience, repos, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
now = int(time.time())
for start in range(0, count, 500):
    requests = [{"claims": {"iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + 3600,
                            "jti": f"bench-{now}-{i}", "repository": f"bench/r{i % repos:06d}",
                            "repository_id": str(100000 + i % repos), "run_id": str(i), "ref": "refs/heads/main"}}
                for i in range(start, min(count, start + 500))]
    req = urllib.request.Request(issuer + "/_issuer/sign-many", data=json.dumps({"requests": requests}).encode(),
                                 headers={"Content-Type": "application/json"})
    for jwt in json.load(urllib.request.urlopen(req))["jwts"]:
        print('POST /api/v3/ci/token {"jwt":"%s"}' % jwt)
PY
# The first exchange fetches the issuer's keys; every measured one finds them cached.
head -1 "$work/exchanges" | "$build/bench/http_replay" "$base" 1 "x-bench: warm" >&2

for round in $(seq "$ROUNDS"); do
  sed -n "$((2 + (round - 1) * EXCHANGES)),$((1 + round * EXCHANGES))p" "$work/exchanges" >"$work/round"
  cpu0=$(server_cpu_ticks)
  out=$("$build/bench/http_replay" "$base" "$CONNECTIONS" "x-bench: exchange" <"$work/round")
  cpu1=$(server_cpu_ticks)
  echo "$out" | grep -q "other 0," || { echo "round $round: exchanges refused: $out" >&2; exit 1; }
  seconds=$(echo "$out" | sed 's/.*seconds \([0-9.]*\).*/\1/')
  ex_rate=$(awk -v n="$EXCHANGES" -v s="$seconds" 'BEGIN {printf "%.0f", n / s}')
  ex_cpu=$(per_request_us $((cpu1 - cpu0)) "$EXCHANGES")

  cpu0=$(server_cpu_ticks)
  wout=$(WRK_HEADER="project-token: $project" WRK_PATH=/api/v3/organizations/gh/bench/repositories/r000001 \
    wrk -t2 -c64 -d"${DURATION}s" -s "$here/wrk/headers.lua" "$base/api/v3/organizations/gh/bench/repositories/r000001")
  cpu1=$(server_cpu_ticks)
  echo "$wout" | grep -q "Non-2xx" && { echo "non-2xx answers to getRepository: $wout" >&2; exit 1; }
  get_rate=$(echo "$wout" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  get_cpu=$(per_request_us $((cpu1 - cpu0)) "$(echo "$wout" | awk '/requests in/ {print $1}')")
  echo "$ex_rate $ex_cpu $get_rate $get_cpu" >>"$work/results"
  echo "round $round: exchanges/s $ex_rate (${ex_cpu} µs CPU each), getRepository/s $get_rate (${get_cpu} µs)" >&2
done

col() { awk -v c="$1" '{print $c}' "$work/results" | median; }
ex=$(col 1) get=$(col 3)
cat <<REPORT
| figure (median of $ROUNDS rounds) | value | baseline (same run) | ratio | target |
|---|---|---|---|---|
| POST /api/v3/ci/token, exchanges/s ($CONNECTIONS connections, http_replay) | $ex | getRepository $get req/s | $(awk -v a="$ex" -v b="$get" 'BEGIN {printf "%.3f", a / b}') | >= 2,000/s |
| server CPU per exchange, µs | $(col 2) | per getRepository $(col 4) | $(awk -v a="$(col 2)" -v b="$(col 4)" 'BEGIN {printf "%.1f", a / b}') | |

$EXCHANGES exchanges per round over $REPOS repositories (one trust rule each, bound to repository_id), keys
cached; getRepository: wrk 2 threads, 64 connections, ${DURATION}s. Server: SQLite, rate limits off. Machine:
$(nproc) cores, load at end $(cut -d' ' -f1-3 /proc/loadavg).
REPORT
