# Sourced by bench scripts: a throwaway PostgreSQL 15 (fsync=on, synchronous_commit=on, as in production)
# and a Redis without persistence, on free loopback ports, in "$work" (which the caller creates and removes).
# After start_pg_redis: $pg_url, $redis_url, $pg_port, $redis_port. stop_pg_redis stops both (call it from
# the caller's EXIT trap). pg_cpu_ticks / redis_cpu_ticks: CPU clock ticks (user+sys) used so far.
pgbin=${REPOTOKENS_PG_BIN:-/usr/lib/postgresql/15/bin}
pg_pid="" redis_pid=""
as_pg=()

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_pg_redis() {
  if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$work"; fi
  pg_port=$(free_port)
  "${as_pg[@]}" "$pgbin/initdb" -D "$work/data" -U postgres --auth=trust --no-sync --locale=C >"$work/initdb.log"
  "${as_pg[@]}" "$pgbin/postgres" -D "$work/data" -k "$work" -c listen_addresses=127.0.0.1 -p "$pg_port" \
    -c fsync=on -c synchronous_commit=on -c max_connections=300 ${PG_EXTRA:-} >"$work/postgres.log" 2>&1 &
  pg_pid=$!
  for _ in $(seq 100); do "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break; sleep 0.1; done
  pg_url="postgresql://postgres@127.0.0.1:$pg_port/postgres"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break; sleep 0.1; done
  redis_url="redis://127.0.0.1:$redis_port"
}

stop_pg_redis() {
  # Signal the postmaster itself (runuser does not forward signals): fast shutdown.
  [ -f "$work/data/postmaster.pid" ] && kill -INT "$(head -1 "$work/data/postmaster.pid")" 2>/dev/null
  [ -n "$pg_pid" ] && wait "$pg_pid" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  pg_pid="" redis_pid=""
}

# cpu_ticks PID... -> utime+stime of those processes and of their reaped children.
cpu_ticks() {
  local total=0 pid
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13 + $14 + $15}')))
  done
  echo "$total"
}
pg_cpu_ticks() {  # the postmaster and its children (backends, WAL writer, ...) of this cluster only
  local pm
  pm=$(head -1 "$work/data/postmaster.pid")
  cpu_ticks "$pm" $(pgrep -d' ' -P "$pm")
}
redis_cpu_ticks() { cpu_ticks "$redis_pid"; }
