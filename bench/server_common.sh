# Shared by bench/server.sh, server_ab.sh, webhooks.sh and ci_exchange.sh: a work folder removed on exit, a
# throwaway repotokensd of a given build on a loopback port chosen at run time (SQLite in the work folder,
# rate limits off), the benchmark organization gh/bench with its repositories and one project token, and
# the arithmetic of the reports (the server's CPU per request, medians).
work=$(mktemp -d /tmp/repotokens-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# repotokensd_of BUILD_DIR|BINARY: the repotokensd of a build folder, or the binary itself
repotokensd_of() { if [ -d "$1" ]; then echo "$1/repotokensd"; else echo "$1"; fi; }

# start_server BUILD_DIR|BINARY [serve options...]: sets server_pid and base (http://127.0.0.1:PORT)
start_server() {
  local bin
  bin=$(repotokensd_of "$1")
  shift
  rm -f "$work/port"
  "$bin" serve --db "sqlite:$work/bench.db" --listen 127.0.0.1:0 --port-file "$work/port" \
    --rate-limit-per-token 0 --rate-limit-per-address 0 --log-level warn "$@" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  base="http://127.0.0.1:$(cat "$work/port")"
}
stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

# server_cpu_ticks: the running server's utime+stime so far, in clock ticks (from /proc)
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
# per_request_us TICKS REQUESTS [DECIMALS]: server CPU µs per request (default 1 decimal)
per_request_us() {
  awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n="$2" -v d="${3:-1}" 'BEGIN {printf "%.*f", d, t / hz * 1e6 / n}'
}
# median: of the numbers on stdin, one a line (the mean of the middle two for an even count)
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# seed_bench_repos BUILD_DIR|BINARY REPOS CONNECTIONS REPLAY: an instance admin (admin=its token,
# auth="api-token: ..."), the organization gh/bench and REPOS repositories r000000... The server runs.
seed_bench_repos() {
  local bin repos=$2 conns=$3 replay=$4
  bin=$(repotokensd_of "$1")
  admin=$("$bin" admin create-user --db "sqlite:$work/bench.db" --name bench-admin --instance-admin)
  auth="api-token: $admin"
  curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"provider":"gh","name":"bench"}' \
    "$base/api/v3/organizations" >/dev/null
  seq 0 $((repos - 1)) | awk '{printf "POST /api/v3/repositories {\"provider\":\"gh\",\"repositoryFullPath\":\"bench/r%06d\"}\n", $1}' \
    | "$replay" "$base" "$conns" "$auth" >/dev/null 2>>"$work/seed.log"
}

# seed_bench_org BUILD_DIR REPOS CONNECTIONS [REPLAY]: seed_bench_repos, and project (a project token of
# r000001). REPLAY is the seeding client (default BUILD_DIR/bench/http_replay).
seed_bench_org() {
  seed_bench_repos "$1" "$2" "$3" "${4:-$1/bench/http_replay}"
  project=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
    "$base/api/v3/organizations/gh/bench/repositories/r000001/tokens" | sed 's/.*"token":"\([^"]*\)".*/\1/')
}
