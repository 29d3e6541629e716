# Shared by bench/server.sh and bench/server_ab.sh: a work folder removed on exit, a throwaway repotokensd
# of a given build on a loopback port chosen at run time (SQLite in the work folder, rate limits off), and
# the benchmark organization gh/bench with its repositories and one project token.
work=$(mktemp -d /tmp/repotokens-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# start_server BUILD_DIR [serve options...]: sets server_pid and base (http://127.0.0.1:PORT)
start_server() {
  local build=$1
  shift
  rm -f "$work/port"
  "$build/repotokensd" serve --db "sqlite:$work/bench.db" --listen 127.0.0.1:0 --port-file "$work/port" \
    --rate-limit-per-token 0 --rate-limit-per-address 0 --log-level warn "$@" 2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  base="http://127.0.0.1:$(cat "$work/port")"
}
stop_server() { kill "$server_pid"; wait "$server_pid" || true; server_pid=""; }

# seed_bench_org BUILD_DIR REPOS CONNECTIONS [REPLAY]: an instance admin (auth="api-token: ..."), the organization
# gh/bench with REPOS repositories r000000..., and project (a project token of r000001). The server runs. REPLAY is the seeding client
# (default BUILD_DIR/bench/http_replay).
seed_bench_org() {
  local build=$1 repos=$2 conns=$3 replay=${4:-$1/bench/http_replay} admin
  admin=$("$build/repotokensd" admin create-user --db "sqlite:$work/bench.db" --name bench-admin --instance-admin)
  auth="api-token: $admin"
  curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"provider":"gh","name":"bench"}' \
    "$base/api/v3/organizations" >/dev/null
  seq 0 $((repos - 1)) | awk '{printf "POST /api/v3/repositories {\"provider\":\"gh\",\"repositoryFullPath\":\"bench/r%06d\"}\n", $1}' \
    | "$replay" "$base" "$conns" "$auth" >/dev/null 2>>"$work/seed.log"
  project=$(curl -sf -X POST -H "$auth" -H 'Content-Type: application/json' -d '{"name":"bench"}' \
    "$base/api/v3/organizations/gh/bench/repositories/r000001/tokens" | sed 's/.*"token":"\([^"]*\)".*/\1/')
}
