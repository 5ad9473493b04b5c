#!/usr/bin/env bash
# Starts, stops and reports the real test servers, on 127.0.0.1 only and on
# the project's own ports so a system-wide Redis or PostgreSQL is never
# touched. Idempotent: starting a running server or stopping a stopped one is a
# no-op.
#
#   scripts/services.sh start|stop|status [redis|postgres|chroma ...]
#
# With no service named, all three. Data, logs and pid files live under
# ${STORAGE_SERVICES_DIR:-<repo>/build/services}. Ports: STORAGE_REDIS_PORT
# (56379), STORAGE_POSTGRES_PORT (55432), STORAGE_CHROMA_PORT (58000); they
# must match tests/support/servers.hpp unless the STORAGE_TEST_* URIs are set.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${STORAGE_SERVICES_DIR:-$root/build/services}
redis_port=${STORAGE_REDIS_PORT:-56379}
pg_port=${STORAGE_POSTGRES_PORT:-55432}
chroma_port=${STORAGE_CHROMA_PORT:-58000}
wait_s=${STORAGE_SERVICES_WAIT:-60}
pg_bin=/usr/lib/postgresql/15/bin
pg_user=storage
pg_password=storage-secret
pg_odd_password='Kq7x@/:?#% Wz8y'
pg_db=storage_test

die() {
  echo "services: $*" >&2
  exit 1
}

# Waits until "$@" succeeds, at most $wait_s seconds.
wait_for() {
  local deadline=$((SECONDS + wait_s))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Waits until process $1 is gone, at most $2 seconds.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# ---------------------------------------------------------------- redis
redis_dir=$dir/redis
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null)" = PONG ]; }

redis_start() {
  redis_up && return 0
  mkdir -p "$redis_dir"
  # An append-only file, so a restart (SIGTERM flushes it) keeps every
  # acknowledged write, as a production Redis holding data must: the soak
  # restarts Redis and checks that nothing acknowledged is lost.
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync everysec \
    --daemonize yes --pidfile "$redis_dir/redis.pid" \
    --logfile "$redis_dir/redis.log" --dir "$redis_dir" >/dev/null ||
    die "redis-server failed to start (see $redis_dir/redis.log)"
  wait_for redis_up || die "redis on 127.0.0.1:$redis_port did not answer within ${wait_s}s (see $redis_dir/redis.log)"
}

redis_stop() {
  local pidf=$redis_dir/redis.pid pid
  if pid_alive "$pidf"; then
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || { kill -9 "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || true; }
  elif redis_up; then
    # Started by an earlier run whose pid file is gone: it is still ours
    # (this port), so shut it down without persisting anything.
    redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
    wait_for sh -c "! redis-cli -h 127.0.0.1 -p $redis_port ping" || true
  fi
  rm -f "$pidf"
  ! redis_up || die "redis on 127.0.0.1:$redis_port is still running"
}

# ---------------------------------------------------------------- postgres
pg_dir=$dir/postgres
pg_data=$pg_dir/data
pg_sock=$pg_dir/socket
as_pg() { runuser -u postgres -- "$@"; }
pg_up() { "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"; }
pg_sql() { as_pg "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_sock" -p "$pg_port" -U postgres "$@"; }

pg_init() {
  [ -f "$pg_data/PG_VERSION" ] && return 0
  mkdir -p "$pg_dir"
  chown postgres:postgres "$pg_dir"
  # Parents must be traversable by the postgres user.
  as_pg test -x "$pg_dir" || die "$pg_dir is not reachable by the postgres user"
  as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 >"$pg_dir/initdb.log" 2>&1 ||
    die "initdb failed (see $pg_dir/initdb.log)"
  # Test data is disposable: durability settings off for speed.
  cat >>"$pg_data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_sock'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

pg_setup() {
  pg_sql -d postgres <<EOF
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$pg_user') THEN
    CREATE ROLE $pg_user LOGIN CREATEDB PASSWORD '$pg_password';
  ELSE
    ALTER ROLE $pg_user LOGIN CREATEDB PASSWORD '$pg_password';
  END IF;
  -- For the redaction tests: a password with every character a URI gives a
  -- meaning to; the role acts with $pg_user's rights.
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${pg_user}_odd') THEN
    CREATE ROLE ${pg_user}_odd LOGIN PASSWORD '$pg_odd_password';
  ELSE
    ALTER ROLE ${pg_user}_odd LOGIN PASSWORD '$pg_odd_password';
  END IF;
  IF NOT pg_has_role('${pg_user}_odd', '$pg_user', 'MEMBER') THEN
    GRANT $pg_user TO ${pg_user}_odd;
  END IF;
  -- What it creates belongs to $pg_user, so the other tests can read it.
  ALTER ROLE ${pg_user}_odd SET role = '$pg_user';
END\$\$;
EOF
  if [ -z "$(pg_sql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$pg_db'")" ]; then
    pg_sql -d postgres -c "CREATE DATABASE $pg_db OWNER $pg_user"
  fi
  pg_sql -d "$pg_db" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector; REASSIGN OWNED BY ${pg_user}_odd TO $pg_user"
}

pg_start() {
  if ! pg_up; then
    pg_init
    mkdir -p "$pg_sock"
    chown postgres:postgres "$pg_sock"
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_dir/postgres.log" -w \
      -t "$wait_s" start >/dev/null ||
      die "postgres failed to start (see $pg_dir/postgres.log)"
    wait_for pg_up || die "postgres on 127.0.0.1:$pg_port did not answer within ${wait_s}s"
  fi
  pg_setup >/dev/null || die "postgres: creating role/database/extension failed"
}

pg_stop() {
  if [ -f "$pg_data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w -t "$wait_s" stop >/dev/null 2>&1 ||
      as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  ! pg_up || die "postgres on 127.0.0.1:$pg_port is still running"
}

# ---------------------------------------------------------------- chroma
chroma_dir=$dir/chroma
chroma_pidf=$chroma_dir/chroma.pid
chroma_up() { curl -fsS -m 2 "http://127.0.0.1:$chroma_port/api/v2/heartbeat"; }

chroma_start() {
  chroma_up >/dev/null 2>&1 && return 0
  command -v node >/dev/null || die "node is required for the Chroma server"
  mkdir -p "$chroma_dir/data"
  # setsid: the server must survive the shell that started it, and stopping
  # it must not depend on that shell's process group.
  setsid nohup node "$root/scripts/chroma/run-chroma.js" "$chroma_dir/data" \
    "$chroma_port" >"$chroma_dir/chroma.log" 2>&1 </dev/null &
  echo $! >"$chroma_pidf"
  if ! wait_for chroma_up; then
    chroma_stop || true
    die "chroma on 127.0.0.1:$chroma_port did not answer within ${wait_s}s (see $chroma_dir/chroma.log)"
  fi
}

chroma_stop() {
  local pid
  if pid_alive "$chroma_pidf"; then
    pid=$(cat "$chroma_pidf")
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 20 || { kill -9 "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || true; }
  fi
  rm -f "$chroma_pidf"
  ! chroma_up >/dev/null 2>&1 || die "chroma on 127.0.0.1:$chroma_port is still running (not started by this script?)"
}

# ---------------------------------------------------------------- main
cmd=${1:-}
[ $# -gt 0 ] && shift
services=("$@")
((${#services[@]})) || services=(redis postgres chroma)
for s in "${services[@]}"; do
  case $s in redis | postgres | chroma) ;; *) die "unknown service '$s' (redis, postgres, chroma)" ;; esac
done

port_of() {
  case $1 in redis) echo "$redis_port" ;; postgres) echo "$pg_port" ;; chroma) echo "$chroma_port" ;; esac
}
up_of() {
  case $1 in redis) redis_up ;; postgres) pg_up ;; chroma) chroma_up >/dev/null 2>&1 ;; esac
}

# The servers' ports lie in Linux's ephemeral range (32768-60999). While a
# server is down, a client reconnecting to 127.0.0.1:PORT can be given PORT
# itself as its source port and connect to itself (TCP self-connect); the
# restarted server then cannot bind. Reserved ports are never handed out.
reserve_ports() {
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports have want p
  [ -w "$f" ] || return 0
  have=$(cat "$f")
  want=$have
  for p in "$redis_port" "$pg_port" "$chroma_port"; do
    case ",$have," in *",$p,"*) ;; *) want=${want:+$want,}$p ;; esac
  done
  [ "$want" = "$have" ] || echo "$want" >"$f" 2>/dev/null || true
}

case $cmd in
  start)
    reserve_ports
    for s in "${services[@]}"; do
      case $s in redis) redis_start ;; postgres) pg_start ;; chroma) chroma_start ;; esac
      echo "$s: running on 127.0.0.1:$(port_of "$s")"
    done
    ;;
  stop)
    for s in "${services[@]}"; do
      case $s in redis) redis_stop ;; postgres) pg_stop ;; chroma) chroma_stop ;; esac
      echo "$s: stopped"
    done
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do
      if up_of "$s"; then
        echo "$s: running on 127.0.0.1:$(port_of "$s")"
      else
        echo "$s: stopped"
        rc=1
      fi
    done
    exit $rc
    ;;
  *)
    echo "usage: $0 start|stop|status [redis|postgres|chroma ...]" >&2
    exit 2
    ;;
esac
