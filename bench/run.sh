#!/usr/bin/env bash
# Load benchmark of Accord on PostgreSQL. Installs what it needs, builds the release
# binary, seeds a database, runs every scenario in bench/queries after a warm-up and
# prints requests/s, p50/p99 latency, errors, server peak RSS and SQL statements per
# request; scenarios (a), (b) and (f) are also run as hand-written SQL with pgbench, and
# Accord/raw-SQL is printed: the distance to the database's own limit. pgbench runs each
# twin twice: with its default simple protocol (every statement parsed and planned each
# time, as the budgets were calibrated) and with -M prepared (parsed and planned once, as
# Accord's own statements are): the stricter limit.
#
#   bench/run.sh [--leads N] [--duration S] [--warmup S] [--concurrency C] [--fresh] [--record] [--smoke]
#
# --smoke: a few seconds on a small dataset with the debug binary; CI runs it so the
# harness cannot rot. It checks correctness, not speed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

LEADS=100000 DURATION=30 WARMUP=10 CONCURRENCY=16 FRESH=0 RECORD=0 SMOKE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --leads) LEADS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --fresh) FRESH=1 ;;
    --record) RECORD=1 ;;
    --smoke)
      # The debug binary is slow: small batches keep each request well inside the time limit.
      SMOKE=1; LEADS=500; DURATION=2; WARMUP=1; CONCURRENCY=4; FRESH=1
      export BENCH_IMPORT_ROWS=20 BENCH_EVENTS=10 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------
# shellcheck source=.ci/postgres.sh
source "$ROOT/.ci/postgres.sh"
ensure_postgres
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-contrib)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- build -------------------------------------------------------------------------
if [ "$SMOKE" = 1 ]; then
  cargo build -q --bin accord
  BIN="$ROOT/target/debug/accord"
else
  say "building the release binary"
  cargo build -q --release --bin accord
  BIN="$ROOT/target/release/accord"
fi

# --- database ----------------------------------------------------------------------
PG="postgres://postgres@127.0.0.1:5432"
DB="accord_bench_${LEADS}"
[ "$SMOKE" = 1 ] && DB="accord_bench_smoke"
export DATABASE_URL="$PG/$DB?sslmode=disable"
export ACCORD_JWT_SECRET="bench-only-secret-0123456789abcdefghijklmnop"
export RUST_LOG=warn
exists=$(psql "$PG/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
if [ "$FRESH" = 1 ] || [ -z "$exists" ]; then
  say "creating $DB with $LEADS leads"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
  psql "$PG/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null
  "$BIN" migrate up >/dev/null
  "$BIN" org create --name Bench --admin-email admin@bench.test >/dev/null
  start=$(date +%s)
  "$BIN" seed --org bench --leads "$LEADS" >&2
  say "seeded in $(( $(date +%s) - start )) s"
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null
fi
ORG=$(psql "$DATABASE_URL" -Atc "SELECT id FROM organizations WHERE slug = 'bench'")
export BENCH_LEAD_ID=$(psql "$DATABASE_URL" -Atc \
  "SELECT lead_id FROM activities WHERE org_id = '$ORG' AND lead_id IS NOT NULL GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT 1")
export BENCH_LEAD_EMAILS=$(psql "$DATABASE_URL" -Atc \
  "SELECT string_agg(email, ',') FROM (SELECT email FROM leads WHERE org_id = '$ORG' ORDER BY id LIMIT 50) s")

# --- server ------------------------------------------------------------------------
PORT=${BENCH_PORT:-18088}
export ACCORD_BIND="127.0.0.1:$PORT"
# Metrics have a listener of their own; the benchmark is one user far above any
# per-user rate a person would need, so its rate limit is off.
METRICS_PORT=$((PORT + 1))
export ACCORD_METRICS_BIND="127.0.0.1:$METRICS_PORT" ACCORD_RATE_LIMIT_PER_MINUTE=0
"$BIN" serve --no-demo >/tmp/accord-bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { cat /tmp/accord-bench-server.log >&2; exit 1; }
# The server's worker builds the organization's KPI rollup (discarded by the seed) at
# start; the dashboard scenario is about reading it, so wait until it is there.
start=$(date +%s)
for _ in $(seq 1 1200); do
  built=$(psql "$DATABASE_URL" -Atc "SELECT 1 FROM kpi_rollup_states WHERE org_id = '$ORG' AND definition <> ''")
  [ "$built" = 1 ] && break
  sleep 1
done
[ "$built" = 1 ] || { echo "the KPI rollup was not built in 20 minutes" >&2; exit 1; }
say "KPI rollup ready after $(( $(date +%s) - start )) s"
export BENCH_TOKEN=$("$BIN" token --email admin@bench.test --org bench --ttl 2h)
# Scenario (d) needs an agreed message matrix; synthetic seeding writes records only.
python3 bench/matrix.py "http://127.0.0.1:$PORT/graphql" "$BENCH_TOKEN" "$BIN"

statements() {
  curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^accord_sql_statements_total/ { print $2 }' | head -n 1
}

WORK=$(mktemp -d)
results="$WORK/results.txt"
# One line of the results table; the header and every scenario share its layout.
row() { printf '%-24s %10s %9s %9s %7s %11s %10s %11s %10s %11s %8s\n' "$@" >>"$results"; }
row scenario "req/s" "p50 ms" "p99 ms" errors "stmts/req" "raw tps" "accord/raw" "prep tps" "accord/prep" "rss MB"
failed=0
peak_kb=0

# The server's peak RSS in kB since the last reset_peak: writing 5 to clear_refs resets
# the kernel's high-water mark, so each scenario reports its own peak.
peak_rss_kb() { awk '/VmHWM/ { print $2 }' "/proc/$SERVER/status"; }
reset_peak() { echo 5 >"/proc/$SERVER/clear_refs" 2>/dev/null || true; }

# raw_sql FILE [prepared]: the twin's transactions per second. The simple protocol
# substitutes variables as text, so they carry their quotes; prepared sends them as
# parameters, without.
raw_sql() {
  local file=$1 mode=${2:-simple} q="'"
  [ "$mode" = prepared ] && q=""
  pgbench -n -M "$mode" -c "$CONCURRENCY" -j 2 -T "$DURATION" -D org="$q$ORG$q" -D lead="$q$BENCH_LEAD_ID$q" -f "$file" \
    "$DATABASE_URL" 2>/dev/null | awk '/^tps = / { print $3; exit }'
}
# ratio_of RATE TWIN_RATE: Accord's rate as a share of its twin's; "-" when the twin gave none.
ratio_of() { python3 -c "print(f'{$1 / ${2:-0} * 100:.0f} %' if float('${2:-0}') > 0 else '-')"; }

for query in bench/queries/*.graphql; do
  name=$(basename "$query" .graphql)
  body="$WORK/$name.json"
  python3 bench/body.py build "$query" "$body"
  # Correctness first: no GraphQL errors and the expected data.
  curl -fs "http://127.0.0.1:$PORT/graphql" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $BENCH_TOKEN" --data-binary "@$body" -o "$WORK/$name.response"
  if ! python3 bench/body.py check "$query" "$WORK/$name.response"; then
    failed=1
    continue
  fi
  export BENCH_BODY="$body"
  if [ -f "$body.template" ]; then export BENCH_TEMPLATE="$body.template"; else unset BENCH_TEMPLATE; fi
  export BENCH_RUN="$name$(date +%s)"
  reset_peak
  # wrk's default timeout (2 s) counted imports queued behind the two running ones as
  # errors, although the server answered every one: a client waits longer for those.
  wrk -t2 -c"$CONCURRENCY" -d"${WARMUP}s" --timeout 30s -s bench/post.lua "http://127.0.0.1:$PORT/graphql" >/dev/null
  before=$(statements)
  line=$(wrk -t2 -c"$CONCURRENCY" -d"${DURATION}s" --timeout 30s --latency -s bench/post.lua "http://127.0.0.1:$PORT/graphql" | grep '^BENCH')
  after=$(statements)
  scenario_kb=$(peak_rss_kb)
  [ "$scenario_kb" -gt "$peak_kb" ] && peak_kb=$scenario_kb
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  http_errors=$(sed -E 's/.*http_errors=([0-9]+).*/\1/' <<<"$line")
  gql_errors=$(sed -E 's/.*graphql_errors=([0-9]+).*/\1/' <<<"$line")
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  per_request=$(python3 -c "print(f'{(float(${after:-0}) - float(${before:-0})) / max(${requests}, 1):.2f}')")
  raw="-" ratio="-" prep="-" prep_ratio="-"
  sql="bench/sql/$name.sql"
  if [ -f "$sql" ]; then
    raw=$(raw_sql "$sql")
    ratio=$(ratio_of "$rps" "$raw")
    prep=$(raw_sql "$sql" prepared)
    prep_ratio=$(ratio_of "$rps" "$prep")
  fi
  errors=$((http_errors + gql_errors))
  [ "$errors" -gt 0 ] && failed=1
  row "$name" "$rps" "$p50" "$p99" "$errors" "$per_request" "${raw:--}" "$ratio" "${prep:--}" "$prep_ratio" \
    "$((scenario_kb / 1024))"
done

rss="$((peak_kb / 1024)) MB"
# A new scoring model in force: the worker rescores every lead (budget: 1,000,000 in 2 minutes).
if ! python3 bench/rescore.py "http://127.0.0.1:$PORT/graphql" "$BENCH_TOKEN" "$BIN" >>"$results"; then
  failed=1
fi
{
  echo
  echo "## $(date -u +%Y-%m-%dT%H:%MZ) · $(git rev-parse --short HEAD) · $(nproc) cores · $LEADS leads · concurrency $CONCURRENCY · ${DURATION}s after ${WARMUP}s warm-up"
  echo
  echo '```'
  cat "$results"
  echo "server peak RSS: $rss"
  echo '```'
} >"$WORK/report.md"
cat "$WORK/report.md"
if [ "$RECORD" = 1 ] && [ "$SMOKE" = 0 ]; then
  python3 - "$WORK/report.md" <<'PY'
import sys
report = open(sys.argv[1]).read()
path = "bench/RESULTS.md"
text = open(path).read()
head, sep, rest = text.partition("\n<!-- runs -->\n")
open(path, "w").write(head + sep + report + rest)
PY
fi
exit $failed
