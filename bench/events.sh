#!/usr/bin/env bash
# Live-event delivery on PostgreSQL (issue #26): SUBSCRIBERS WebSocket subscribers of
# leadEvents and ENDPOINTS webhook endpoints while RATE lead events per second are
# committed for DURATION seconds; prints the commit-to-delivery delay of each (target:
# p99 under 1 s, every delivery made).
# The events are written as a stage move writes them (outbox rows of real leads and
# the writers' NOTIFY) straight through psql, so the scenario measures the relay and
# the delivery, not the writes the other scenarios measure.
#
# BENCH_BIN=path runs that binary instead of building this checkout (A/B runs).
#
#   bench/events.sh [--leads N] [--subscribers N] [--endpoints N] [--rate N] [--duration S] [--smoke]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LEADS=10000 SUBSCRIBERS=100 ENDPOINTS=2 RATE=1000 DURATION=30 SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --leads) LEADS=$2; shift ;;
    --subscribers) SUBSCRIBERS=$2; shift ;;
    --endpoints) ENDPOINTS=$2; shift ;;
    --rate) RATE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --smoke) SMOKE=1; LEADS=200; SUBSCRIBERS=3; RATE=20; DURATION=2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
say() { printf '==> %s\n' "$*" >&2; }

# shellcheck source=.ci/postgres.sh
source "$ROOT/.ci/postgres.sh"
ensure_postgres
(cd bench/events && [ -d node_modules/graphql-ws ] || npm ci --no-audit --no-fund --silent)
if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN # a binary built elsewhere, for alternating A/B runs
elif [ "$SMOKE" = 1 ]; then
  cargo build -q --bin accord
  BIN="$ROOT/target/debug/accord"
else
  say "building the release binary"
  cargo build -q --release --bin accord
  BIN="$ROOT/target/release/accord"
fi

export ACCORD_JWT_SECRET="bench-only-secret-0123456789abcdefghijklmnop" RUST_LOG=warn
PG="postgres://postgres@127.0.0.1:5432"
DB="accord_bench_events_${LEADS}"
export DATABASE_URL="$PG/$DB?sslmode=disable"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
psql "$PG/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null
"$BIN" migrate up >/dev/null
"$BIN" org create --name Bench --admin-email admin@bench.test >/dev/null
"$BIN" seed --org bench --leads "$LEADS" >/dev/null 2>&1
ORG=$(psql "$DATABASE_URL" -Atc "SELECT id FROM organizations WHERE slug = 'bench'")
# The seed's own events are not part of the measurement.
psql "$DATABASE_URL" -qc "UPDATE outbox_events SET relayed_at = now() WHERE relayed_at IS NULL" >/dev/null

PORT=${BENCH_PORT:-18098}
# A server still running (an earlier run's, stopping) would answer in this one's place.
if curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then
  echo "port $PORT is already served; stop that server first" >&2
  exit 1
fi
# The webhook endpoints are served by the driver on 127.0.0.1.
ACCORD_BIND="127.0.0.1:$PORT" ACCORD_METRICS_BIND="" ACCORD_RATE_LIMIT_PER_MINUTE=0 ACCORD_WEBHOOKS_ALLOW_PRIVATE=true \
  ACCORD_WS_MAX_CONNECTIONS_PER_CREDENTIAL=$((SUBSCRIBERS + 1)) \
  "$BIN" serve --no-demo >/tmp/accord-bench-events.log 2>&1 &
SERVER=$!
# Wait for it to stop, so that the next run (alternating A/B) does not share the cores
# with this one's shutdown; say when it took long.
stop_server() {
  kill "$SERVER" 2>/dev/null || return 0
  local started=$SECONDS
  for _ in $(seq 1 300); do
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER" 2>/dev/null; then
    echo "the server did not stop within 30 s of SIGTERM; killed" >&2
    kill -9 "$SERVER" 2>/dev/null || true
  elif [ $((SECONDS - started)) -ge 2 ]; then
    echo "the server took $((SECONDS - started)) s to stop" >&2
  fi
  wait "$SERVER" 2>/dev/null || true
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
TOKEN=$("$BIN" token --email admin@bench.test --org bench --ttl 2h)
say "$SUBSCRIBERS subscribers, $ENDPOINTS webhook endpoints, $RATE events/s for $DURATION s"
line=$(node bench/events/driver.mjs "ws://127.0.0.1:$PORT/graphql" "$TOKEN" "$DATABASE_URL" "$ORG" "$SUBSCRIBERS" "$RATE" "$DURATION" "$ENDPOINTS" | grep "^BENCH")
echo "$line"
field() { sed -E "s/.* $1=([0-9-]+).*/\1/" <<<"$line"; }
for who in "" webhooks_; do
  expected=$(field "${who}expected") received=$(field "${who}received") p99=$(field "${who}p99")
  if [ "$received" != "$expected" ]; then
    echo "${who:-subscriber }events lost: $received of $expected deliveries" >&2
    [ "$SMOKE" = 1 ] && exit 1
  fi
  if [ "$SMOKE" = 0 ] && [ "$p99" -ge 1000 ]; then
    echo "${who:-subscriber }p99 delay $p99 ms is over the 1 s target" >&2
  fi
done
