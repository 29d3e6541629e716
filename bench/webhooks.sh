#!/usr/bin/env bash
# Webhook throughput (issue 12): events delivered per second to a loopback receiver beside token creations
# per second in the same run, and the delivery lag (receiver arrival - creation request sent) p50/p99.
# Target: delivery keeps up with >= 1,000 token creations/s with a lag p99 under 2 s.
# The receiver is bench/webhook_load's own (C++, one thread per keep-alive connection, 204 at once); its
# ceiling is measured first, in the same invocation.
# Usage: bench/webhooks.sh [BUILD_DIR] (default ./build). Prints a Markdown report on stdout.
# Env: TOKENS (creations per run, default 20000), SECONDS_MAX (creation time cap per run, default 20),
#      CONNECTIONS (creating clients, default 16), RUNS (median reported, default 3), BASELINE (another
#      repotokensd binary, e.g. one built from main, run the same way in this invocation, runs interleaved).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
TOKENS=${TOKENS:-20000}
SECONDS_MAX=${SECONDS_MAX:-20}
CONNECTIONS=${CONNECTIONS:-16}
RUNS=${RUNS:-3}
. "$here/server_common.sh"
# Each live token needs room on its repository (100 live tokens at most): one repository per 100 tokens.
repos=$(( (TOKENS + 99) / 100 ))

run_once() {  # repotokensd binary -> key=value lines of webhook_load; a fresh database each run
  rm -f "$work"/bench.db*
  start_server "$1" --webhook-poll-interval 0.05
  seed_bench_repos "$1" "$repos" 8 "$build/bench/http_replay"
  "$build/bench/webhook_load" "$base" "$admin" bench "$repos" "$TOKENS" "$CONNECTIONS" "$SECONDS_MAX"
  stop_server
}
field() { awk -F= -v k="$1" '$1 == k {print $2}'; }

ceiling=$("$build/bench/webhook_load" --sink-ceiling 2 3 | field sink_requests_per_s)
for i in $(seq "$RUNS"); do
  run_once "$build/repotokensd" >"$work/new$i.txt"; cat "$work/new$i.txt" >&2
  if [ -n "${BASELINE:-}" ]; then run_once "$BASELINE" >"$work/base$i.txt"; cat "$work/base$i.txt" >&2; fi
done
m() { for i in $(seq "$RUNS"); do field "$2" <"$work/$1$i.txt"; done | median; }
# row LABEL KEY [KEY2 KEY3]: the medians of this build, then of the baseline when there is one.
row() {
  local label=$1; shift
  local new base=""
  new=$(for k in "$@"; do m new "$k"; done | paste -sd/ | sed 's|/| / |g')
  [ -n "${BASELINE:-}" ] && base=" $(for k in "$@"; do m base "$k"; done | paste -sd/ | sed 's|/| / |g') |"
  echo "| $label | $new |$base"
}

echo "| figure | this build, median of $RUNS runs |${BASELINE:+ baseline ($BASELINE) |}"
echo "|---|---|${BASELINE:+---|}"
row "tokens created (of $TOKENS, at most ${SECONDS_MAX}s), per run" created
row "token creations/s ($CONNECTIONS clients)" created_per_s
row "events delivered/s while creating (same window)" delivered_per_s_during_creation
row "events delivered/s, first creation to last delivery" delivered_per_s
row "time from the first creation to the last delivery, s" drain_seconds
row "delivery lag p50 / p99 / max, ms" lag_p50_ms lag_p99_ms lag_max_ms
row "events missing after the wait" missing
cat <<REPORT
| receiver ceiling alone (2 keep-alive clients), req/s | $ceiling |${BASELINE:+ |}

repotokensd on SQLite (synchronous=FULL, group commit), rate limits off, one webhook subscribed to
token.created; webhook_load's clients, its receiver and the server share the machine's cores.
REPORT
