#!/usr/bin/env bash
# Benchmark of `repotokens provision` against the Codacy stand-in (tests/codacy_standin/codacy_standin.py),
# whose limit is a sliding window refused with bare 503/504 (no Retry-After, no RateLimit headers), the way
# Codacy Cloud refuses (2,500 requests per 5 minutes there; a scaled window here so that a run takes
# seconds). Issue 15 asks that such a job finish within 1.2x of the window's minimum with few refusals.
#   adaptive: `provision` learns the window from the refusals alone;
#   baseline: the same job told the window's rate (--rate QUOTA/WINDOWs), the best a pacer can do blind.
# Each run: wall time, minimum (accepted requests x window / quota), their ratio, refused requests.
# Prints a Markdown section for docs/benchmarks.md; medians of RUNS runs of each, interleaved.
# usage: bench/cli_codacy.sh [REPOS=300] [QUOTA=100] [WINDOW_SECONDS=2] [RUNS=3]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
REPOTOKENS=${REPOTOKENS:-$root/build/repotokens}
REPOS=${1:-300} QUOTA=${2:-100} WINDOW=${3:-2} RUNS=${4:-3}
work=$(mktemp -d /tmp/repotokens-bench-XXXXXX)
standin_pid=
cleanup() { [ -n "$standin_pid" ] && kill "$standin_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# one_run LABEL [provision options...]: appends "label wall minimum ratio refused accepted" to $work/runs
one_run() {
  local label=$1; shift
  [ -n "$standin_pid" ] && { kill "$standin_pid"; wait "$standin_pid" 2>/dev/null || true; }
  rm -rf "$work/state" "$work/out.csv" "$work/port"
  python3 "$root/tests/codacy_standin/codacy_standin.py" --token bench --repos "$REPOS" \
    --window-quota "$QUOTA" --window-seconds "$WINDOW" > "$work/port" &
  standin_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  local url=http://127.0.0.1:$(cut -d' ' -f2 "$work/port")
  sleep "$WINDOW"  # an empty window to start from
  local t0 t1
  t0=$(date +%s.%N)
  CODACY_API_TOKEN=bench XDG_STATE_HOME=$work/state "$REPOTOKENS" provision --api-url "$url" --provider gh \
    --org acme --yes -q -o "$work/out.csv" --retries 30 "$@"
  t1=$(date +%s.%N)
  curl -s "$url/_standin/state" | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
label, t0, t1, quota, window = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
wall = t1 - t0
minimum = c.get("accepted", 0) * window / quota
print(label, f"{wall:.2f}", f"{minimum:.2f}", f"{wall / minimum:.3f}", c.get("refused", 0), c.get("accepted", 0))
' "$label" "$t0" "$t1" "$QUOTA" "$WINDOW" >> "$work/runs"
}

for _ in $(seq "$RUNS"); do
  one_run baseline --rate "$QUOTA/${WINDOW}s"
  one_run adaptive
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
col() { awk -v l="$1" -v c="$2" '$1==l {print $c}' "$work/runs" | median; }

echo "## CLI against the Codacy stand-in: a window refused with bare 503/504 (bench/cli_codacy.sh, $(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg). $REPOS repositories, window $QUOTA requests per ${WINDOW} s, $RUNS runs of each (interleaved), medians."
echo "Minimum = accepted requests x window / quota (the plan's token listings plus one create per repository)."
echo
echo "| run | command | wall | minimum | wall / minimum | refused | accepted |"
echo "|---|---|---|---|---|---|---|"
for l in baseline adaptive; do
  cmd='`provision --yes`'
  [ "$l" = baseline ] && cmd="\`provision --yes --rate $QUOTA/${WINDOW}s\` (told the window)"
  [ "$l" = adaptive ] && cmd='`provision --yes` (learns the window from the refusals)'
  printf '| %s | %s | %.2f s | %.2f s | %.3f | %s | %s |\n' "$l" "$cmd" "$(col "$l" 2)" "$(col "$l" 3)" \
    "$(col "$l" 4)" "$(col "$l" 5)" "$(col "$l" 6)"
done
echo
echo "Every run:"
echo
echo '```'
cat "$work/runs"
echo '```'
