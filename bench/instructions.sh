#!/usr/bin/env bash
# Instructions the server spends on N requests of one scenario, counted by callgrind:
# repeatable to a few parts in ten thousand whatever else the machine is doing, so a
# change of a percent or two shows where wall-clock A/B rounds (bench/ab.sh) are noise.
#
#   bench/instructions.sh BIN [--scenario a_leads_page] [--requests 300] [--leads 100000]
#
# Counting starts after 30 warm-up requests and covers only the requests (start-up,
# migrations, the KPI rollup's build on a fresh seed and the warm-up are not counted).
# Uses the database bench/run.sh seeds.
# Import scenarios (f_*) send new rows with every call; give them --requests 10 or so.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$1
shift
SCENARIO=a_leads_page REQUESTS=300 LEADS=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO=$2; shift ;;
    --requests) REQUESTS=$2; shift ;;
    --leads) LEADS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/accord_bench_${LEADS}?sslmode=disable"
export ACCORD_JWT_SECRET="bench-only-secret-0123456789abcdefghijklmnop" RUST_LOG=warn
sql() { psql "$DATABASE_URL" -Atc "$1"; }
source bench/ids.sh
bench_lead_id
bench_lead_emails
PORT=${BENCH_PORT:-18091}
export ACCORD_BIND="127.0.0.1:$PORT" ACCORD_METRICS_BIND="" ACCORD_RATE_LIMIT_PER_MINUTE=0 ACCORD_REQUEST_TIMEOUT_SECS=120
WORK=$(mktemp -d)
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.%p" "$BIN" serve --no-demo \
  >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
# On a fresh seed the server's worker builds the KPI rollup at start: counted with the
# requests, it nearly doubled a lead detail's count, so wait until it is there.
wait_for_kpi_rollup 1800 || exit 1
TOKEN=$("$BIN" token --email admin@bench.test --org bench --ttl 1h)
python3 bench/body.py build "bench/queries/$SCENARIO.graphql" "$WORK/body.json"
post() {
  for _ in $(seq 1 "$1"); do
    # An import creates its leads once: each call gets rows of its own, as under wrk.
    case "$SCENARIO" in f_*) python3 bench/body.py build "bench/queries/$SCENARIO.graphql" "$WORK/body.json" ;; esac
    curl -fs "http://127.0.0.1:$PORT/graphql" -H 'Content-Type: application/json' \
      -H "Authorization: Bearer $TOKEN" --data-binary "@$WORK/body.json" -o /dev/null
  done
}
post 30
callgrind_control -i on "$SERVER" >/dev/null
post "$REQUESTS"
callgrind_control -i off "$SERVER" >/dev/null
callgrind_control -d "$SERVER" >/dev/null
total=$(cat "$WORK"/callgrind.* | awk '/^totals:/ { s += $2 } END { print s }')
python3 -c "print(f'{$total} instructions for $REQUESTS requests: {$total / $REQUESTS:,.0f} per request')"
