#!/usr/bin/env bash
# Benchmark of `repotokens provision` (issue 3). Prints a Markdown section for docs/benchmarks.md.
#  1. The recipe (bench/recipe.sh, curl + jq per repository, no sleep) vs `repotokens provision`, N
#     repositories each, same server, no rate limit; ratio of wall times.
#  2. Server limited to R requests/s (50 and 200, burst = R so that the IETF window is 1 s): run time
#     against the minimum requests/R, and the share of refused requests.
#  3. Peak RSS of `repotokens provision` for 10,000 repositories.
# usage: bench/provision_bench.sh [N=1000] [BIG=10000]
set -euo pipefail
source "$(dirname "$0")/provision_common.sh"
N=${1:-1000}
BIG=${2:-10000}

echo "## repotokens provision (bench/provision_bench.sh, $(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Machine: $(machine). Binaries: $REPOTOKENS, $REPOTOKENSD."
echo

start_server --rate-limit-per-token 0
make_org recipe "$N"
make_org cli "$N"
t0=$(now); bash "$root/bench/recipe.sh" "$BASE" gh recipe > "$work/recipe.csv"; t1=$(now)
"$REPOTOKENS" provision --provider gh --org cli --yes -o "$work/cli.csv" -q 2> "$work/cli.err" || cat "$work/cli.err"; t2=$(now)
recipe=$(echo "$t1 - $t0" | bc -l); cli=$(echo "$t2 - $t1" | bc -l)
echo "### 1. Recipe loop vs provision, $N repositories, no rate limit"
echo
echo "| run | command | wall time | tokens |"
echo "|---|---|---|---|"
printf '| baseline | `bench/recipe.sh` (curl + jq per repository, no sleep) | %.2f s | %s |\n' "$recipe" "$(grep -c ',rtkr_' "$work/recipe.csv")"
printf '| repotokens | `repotokens provision --yes -o FILE` (ensure: list + create per repository, journal fsync) | %.2f s | %s |\n' "$cli" "$(grep -c ',rtkr_' "$work/cli.csv")"
printf '\nSpeed-up: **%.1fx** (target >= 20x).\n\n' "$(echo "$recipe / $cli" | bc -l)"

echo "### 2. Server limited to R requests/s per token (burst R), $N repositories"
echo
echo "| R | wall time | requests | refused | minimum requests/R | ratio |"
echo "|---|---|---|---|---|---|"
for R in 50 200; do
  start_server --rate-limit-per-token "$R" --rate-burst "$R"
  make_org cli "$N"
  sleep 2  # let the import's use of the budget refill
  t0=$(now)
  "$REPOTOKENS" provision --provider gh --org cli --yes -o "$work/r$R.csv" 2> "$work/r$R.err" >/dev/null
  t1=$(now)
  line=$(grep -E '^done: ' "$work/r$R.err")
  requests=$(echo "$line" | sed -E 's/.* ([0-9]+) requests.*/\1/')
  refused=$(echo "$line" | sed -E 's/.* ([0-9]+) refused.*/\1/')
  wall=$(echo "$t1 - $t0" | bc -l); min=$(echo "$requests / $R" | bc -l)
  printf '| %s/s | %.1f s | %s | %s (%.2f%%) | %.1f s | %.2f |\n' "$R" "$wall" "$requests" "$refused" \
    "$(echo "100 * $refused / $requests" | bc -l)" "$min" "$(echo "$wall / $min" | bc -l)"
done
echo
echo "(target: ratio <= 1.1 and <= 1% refused; the first R requests ride the server's burst.)"
echo

echo "### 3. Peak memory, $BIG repositories"
echo
start_server --rate-limit-per-token 0
make_org big "$BIG"
/usr/bin/time -f '%M %e' -o "$work/time.txt" "$REPOTOKENS" provision --provider gh --org big --yes -o "$work/big.csv" -q
read -r kb secs < "$work/time.txt"
printf '`repotokens provision` of %s repositories: peak RSS **%.1f MB** (target <= 50 MB), %.1f s, %s tokens written.\n' \
  "$BIG" "$(echo "$kb / 1024" | bc -l)" "$secs" "$(grep -c ',rtkr_' "$work/big.csv")"
