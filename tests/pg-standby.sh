#!/usr/bin/env bash
# A streaming replica (hot standby) of the local PostgreSQL, for the read-replica tests
# (tests/e2e/read_replica.rs) and anyone trying DATABASE_READ_URL by hand:
#
#   tests/pg-standby.sh start DIR PORT [SETTING=VALUE ...]
#       copy the primary with `pg_basebackup -R` into DIR (which must not exist) and run
#       a hot standby of it on 127.0.0.1:PORT; settings go to its postgresql.conf
#   tests/pg-standby.sh set DIR SETTING=VALUE ...   change settings and reload
#   tests/pg-standby.sh stop DIR                    stop it at once and remove DIR
#
# The primary is ACCORD_HELPER_UPSTREAM (default 127.0.0.1:5432), reached as postgres
# without a password; a replication entry is added to its pg_hba.conf when missing.
# Run as root, the standby runs as the postgres user (PostgreSQL refuses root).
set -euo pipefail

PRIMARY="${ACCORD_HELPER_UPSTREAM:-127.0.0.1:5432}"
PRIMARY_HOST="${PRIMARY%:*}"
PRIMARY_PORT="${PRIMARY##*:}"

die() { echo "pg-standby: $*" >&2; exit 1; }
psql_primary() { psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -Atqc "$1"; }

# Run as the data directory's owner: postgres when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The binaries of the primary's major version (pg_ctl must match the data directory).
bindir() {
  local major
  major=$(psql_primary "SELECT current_setting('server_version_num')::int / 10000")
  if [ -x "/usr/lib/postgresql/$major/bin/pg_ctl" ]; then
    echo "/usr/lib/postgresql/$major/bin"
  else
    dirname "$(command -v pg_ctl || die "pg_ctl not found")"
  fi
}

# pg_basebackup connects for replication, which `all` in pg_hba.conf does not cover.
allow_replication() {
  local hba
  hba=$(psql_primary "SHOW hba_file")
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba" 2>/dev/null; then
    [ -w "$hba" ] || die "$hba has no 'host replication all 127.0.0.1/32 trust' line and is not writable here"
    sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
    psql_primary "SELECT pg_reload_conf()" >/dev/null
  fi
}

write_settings() {
  local dir=$1; shift
  for setting in "$@"; do
    printf '%s\n' "${setting%%=*} = '${setting#*=}'" >>"$dir/postgresql.conf"
  done
}

start() {
  local dir=$1 port=$2; shift 2
  [ ! -e "$dir" ] || die "$dir exists already"
  local bin
  bin=$(bindir)
  allow_replication
  mkdir -p "$dir"
  chmod 700 "$dir"
  # A fast checkpoint: the default spread one can take minutes on an idle primary.
  "$bin/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$dir" -R -X stream --checkpoint=fast
  # Debian keeps the configuration outside the data directory: give the copy its own.
  cat >"$dir/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
hot_standby = on
hot_standby_feedback = on
shared_buffers = '32MB'
EOF
  # A hot standby refuses to run with less of these than its primary.
  psql_primary "SELECT name || ' = ' || setting FROM pg_settings WHERE name IN ('max_connections',
    'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction')" \
    >>"$dir/postgresql.conf"
  write_settings "$dir" "$@"
  printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$dir/pg_hba.conf"
  : >"$dir/pg_ident.conf"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
  as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; die "the standby did not start"; }
}

set_settings() {
  local dir=$1; shift
  write_settings "$dir" "$@"
  as_owner "$(bindir)/pg_ctl" -D "$dir" reload >/dev/null
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  as_owner "$(bindir)/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -ge 3 ] || die "usage: $0 start DIR PORT [SETTING=VALUE ...]"; shift; start "$@" ;;
  set) [ $# -ge 3 ] || die "usage: $0 set DIR SETTING=VALUE ..."; shift; set_settings "$@" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start DIR PORT [SETTING=VALUE ...] | set DIR SETTING=VALUE ... | stop DIR" ;;
esac
