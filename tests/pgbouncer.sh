#!/usr/bin/env bash
# pgbouncer in transaction mode in front of the local PostgreSQL, for the tests that
# run Accord through it (tests/e2e/pgbouncer.rs) and anyone trying it by hand:
#
#   tests/pgbouncer.sh start DIR PORT   run pgbouncer on 127.0.0.1:PORT, its files in DIR
#   tests/pgbouncer.sh stop DIR         stop it and remove DIR
#   tests/pgbouncer.sh build            only make sure the binary is there
#
# Transaction mode needs pgbouncer 1.21 or later (protocol-level prepared statements,
# which sqlx uses for every statement). A pgbouncer of that age on the PATH is used;
# otherwise Debian 13's source package (1.24.1, with Debian's security patches) is
# built into target/pgbouncer: Debian 12's own package is 1.18, and Debian 13's binary
# needs a newer C library than Debian 12's. The source is checked against its SHA-256.
# The upstream PostgreSQL is ACCORD_HELPER_UPSTREAM (default 127.0.0.1:5432); sessions per
# database ACCORD_PGBOUNCER_POOL_SIZE (default 10).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
UPSTREAM="${ACCORD_HELPER_UPSTREAM:-127.0.0.1:5432}"
PREFIX="$ROOT/target/pgbouncer"
VERSION=1.24.1
DEBIAN_REVISION=1+deb13u2
POOL=http://deb.debian.org/debian/pool/main/p/pgbouncer
ORIG_SHA256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
DEBIAN_SHA256=2325bcaa2e71919d399b9e5aef5b94ff988fc1f1d296908c3937b682b7be5cbb

die() { echo "pgbouncer.sh: $*" >&2; exit 1; }

# A pgbouncer with prepared statements in transaction mode (1.21+), or nothing.
usable() {
  local bin=$1 version
  [ -x "$bin" ] || return 1
  version=$("$bin" --version 2>/dev/null | awk '/^PgBouncer/ {print $2}')
  [ -n "$version" ] && printf '1.21\n%s\n' "$version" | sort -V -C
}

binary() {
  local system
  system=$(command -v pgbouncer || true)
  if [ -n "$system" ] && usable "$system"; then echo "$system"; return; fi
  usable "$PREFIX/bin/pgbouncer" || build >&2
  echo "$PREFIX/bin/pgbouncer"
}

build() {
  local need=()
  for tool in curl gcc make pkg-config patch xz; do command -v "$tool" >/dev/null || need+=("$tool"); done
  [ -f /usr/include/event2/event.h ] || need+=(libevent-dev)
  [ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "building pgbouncer needs: ${need[*]}"
    local packages=("${need[@]/xz/xz-utils}")
    echo "==> installing ${packages[*]} to build pgbouncer"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${packages[@]}" >/dev/null; }
  fi
  echo "==> building pgbouncer $VERSION from Debian's source package"
  local work
  work=$(mktemp -d)
  local orig="pgbouncer_$VERSION.orig.tar.gz" debian="pgbouncer_$VERSION-$DEBIAN_REVISION.debian.tar.xz"
  for file in "$orig" "$debian"; do
    curl -fsS --retry 3 -m 120 -o "$work/$file" "$POOL/$file" || die "cannot download $POOL/$file"
  done
  (cd "$work" && printf '%s  %s\n%s  %s\n' "$ORIG_SHA256" "$orig" "$DEBIAN_SHA256" "$debian" | sha256sum -c --quiet) ||
    die "the downloaded source does not match its SHA-256"
  tar xzf "$work/$orig" -C "$work"
  local src="$work/pgbouncer-$VERSION"
  tar xJf "$work/$debian" -C "$src"
  while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    patch -d "$src" -p1 -s <"$src/debian/patches/$p"
  done <"$src/debian/patches/series"
  (cd "$src" && ./configure --prefix="$PREFIX" --without-cares --without-systemd --without-pam --without-ldap >"$work/configure.log" 2>&1 &&
    make -j2 >"$work/make.log" 2>&1 && make install >/dev/null 2>&1) ||
    { tail -n 30 "$work"/*.log >&2; die "building pgbouncer failed"; }
  rm -rf "$work"
}

start() {
  local dir=$1 port=$2 bin
  [ ! -e "$dir" ] || die "$dir exists already"
  bin=$(binary)
  mkdir -p "$dir"
  printf '"postgres" ""\n' >"$dir/users.txt"
  # Every database of the upstream server, as the same name; transaction pooling;
  # extra_float_digits is a start-up parameter sqlx sends that pgbouncer does not track.
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=${UPSTREAM%:*} port=${UPSTREAM##*:}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
max_prepared_statements = 200
max_client_conn = 1000
default_pool_size = ${ACCORD_PGBOUNCER_POOL_SIZE:-10}
ignore_startup_parameters = extra_float_digits
stats_users = postgres
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  local user=()
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; user=(-u postgres); fi
  "$bin" -d "${user[@]}" "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log" >&2 || true; die "pgbouncer did not start"; }
  for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  die "pgbouncer does not answer on port $port"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -f "$dir/pgbouncer.pid" ]; then kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true; fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  build) binary >/dev/null ;;
  *) die "usage: $0 start DIR PORT | stop DIR | build" ;;
esac
