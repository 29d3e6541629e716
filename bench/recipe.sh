#!/usr/bin/env bash
# The platform's documented recipe, as a bash loop of curl + jq per repository (without its `sleep 2`):
# list the organization's repositories, then one POST per repository, printing `repository,token` lines.
# Used only as the baseline of bench/provision_bench.sh. The original reads only the first page; to compare
# like with like, this one asks for up to 1000 repositories on that one page.
# usage: CODACY_API_TOKEN=... bench/recipe.sh BASE_URL PROVIDER ORG > tokens.csv
set -euo pipefail
base=$1 provider=$2 org=$3
repos=$(curl -sS -H "api-token: $CODACY_API_TOKEN" \
  "$base/api/v3/organizations/$provider/$org/repositories?limit=1000" | jq -r '.data[].name')
for repo in $repos; do
  token=$(curl -sS -X POST -H "api-token: $CODACY_API_TOKEN" -H "Content-Type: application/json" -d '{}' \
    "$base/api/v3/organizations/$provider/$org/repositories/$repo/tokens" | jq -r '.data.token')
  echo "$repo,$token"
done
