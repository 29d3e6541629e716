# Shared by bench/provision_*.sh: start a throwaway repotokensd on a loopback port chosen at run time, make an
# organization with N repositories (with `repotokens repo import`), and clean up on exit.
# Binaries: $REPOTOKENSD and $REPOTOKENS, else build-cli/ of the source tree.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPOTOKENSD=${REPOTOKENSD:-$root/build-cli/repotokensd}
REPOTOKENS=${REPOTOKENS:-$root/build-cli/repotokens}
work=$(mktemp -d /tmp/repotokens-bench-XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# start_server [repotokensd serve options...]: sets BASE and CODACY_API_TOKEN (an instance admin's token)
start_server() {
  [ -n "$server_pid" ] && { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }
  rm -rf "$work/db"*; rm -f "$work/port"
  CODACY_API_TOKEN=$("$REPOTOKENSD" admin create-user --db "sqlite:$work/db" --name bench --instance-admin)
  export CODACY_API_TOKEN
  "$REPOTOKENSD" serve --db "sqlite:$work/db" --listen 127.0.0.1:0 --port-file "$work/port" --log-level warn "$@" \
    2>>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  BASE=http://127.0.0.1:$(cat "$work/port")
  export CODACY_API_BASE_URL=$BASE XDG_STATE_HOME=$work/state
}

# make_org ORG N: the organization and N repositories r-00000...
make_org() {
  "$REPOTOKENS" org add --provider gh --org "$1" -q
  seq -f "r-%05g" 0 $(($2 - 1)) > "$work/$1.repos"
  "$REPOTOKENS" repo import "$work/$1.repos" --provider gh --org "$1" --concurrency 16 -q
}

now() { date +%s.%N; }
machine() { echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"; }
