#!/usr/bin/env bash
# Alternating A/B of one scenario between two release binaries on the same database:
# A B B A A B …, each run after its own warm-up (which goes first alternates by round:
# a run that grows a table, such as an import, leaves the next one a larger table),
# printing requests/s, p99, the server's CPU per request (user + system time of its
# process, from /proc), PostgreSQL's (of its processes alive at the end of the run,
# which the server's pool keeps open) and the server's peak RSS over its warm-up and run.
#
#   bench/ab.sh A_BIN B_BIN [--scenario a_leads_page] [--rounds 3] [--duration 15] [--leads 100000]
#
# The database is the one bench/run.sh seeds (accord_bench_<leads>); run that once first.
# When B adds a migration that A does not know (A would refuse to start), give the
# command that undoes it in BEFORE_A, such as BEFORE_A="$B migrate down".
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
A=$1 B=$2
shift 2
SCENARIO=a_leads_page ROUNDS=3 DURATION=15 WARMUP=5 LEADS=100000 CONCURRENCY=16
while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) SCENARIO=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --leads) LEADS=$2; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/accord_bench_${LEADS}?sslmode=disable"
export ACCORD_JWT_SECRET="bench-only-secret-0123456789abcdefghijklmnop" RUST_LOG=warn
sql() { psql "$DATABASE_URL" -Atc "$1"; }
source bench/ids.sh
bench_lead_id
bench_lead_emails
PORT=${BENCH_PORT:-18090}
export ACCORD_BIND="127.0.0.1:$PORT" ACCORD_METRICS_BIND="" ACCORD_RATE_LIMIT_PER_MINUTE=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# Both builds run from copies made now: a binary written long ago ran with 5-8 MB less
# peak RSS and a different CPU time than a fresh copy of the very same file.
cp "$A" "$WORK/a" && cp "$B" "$WORK/b"
A=$WORK/a B=$WORK/b
python3 bench/body.py build "bench/queries/$SCENARIO.graphql" "$WORK/body.json"
export BENCH_BODY="$WORK/body.json"
# (f) sends rows no request sent before on every request, as bench/run.sh does.
if [ -f "$WORK/body.json.template" ]; then export BENCH_TEMPLATE="$WORK/body.json.template"; fi
TICKS=$(getconf CLK_TCK)

# pg_ticks: user + system clock ticks of PostgreSQL's processes so far.
pg_ticks() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk '$2 == "(postgres)" { ticks += $14 + $15 } END { print ticks + 0 }'
}

# run BIN: one warmed-up measurement; prints "rps p99_ms cpu_ms_per_request pg_cpu_ms_per_request peak_rss_mb".
run() {
  local bin=$1
  if [ "$bin" = "$A" ] && [ -n "${BEFORE_A:-}" ]; then eval "$BEFORE_A" >/dev/null; fi
  export BENCH_RUN="ab$RANDOM$(date +%s)"
  "$bin" serve --no-demo >"$WORK/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  # After a fresh seed the first server builds the KPI rollup: not inside a measured run.
  wait_for_kpi_rollup 1800 || exit 1
  export BENCH_TOKEN
  BENCH_TOKEN=$("$bin" token --email admin@bench.test --org bench --ttl 1h)
  wrk -t2 -c"$CONCURRENCY" -d"${WARMUP}s" --timeout 30s -s bench/post.lua "http://127.0.0.1:$PORT/graphql" >/dev/null
  local before after pg_before pg_after line
  before=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
  pg_before=$(pg_ticks)
  line=$(wrk -t2 -c"$CONCURRENCY" -d"${DURATION}s" --timeout 30s --latency -s bench/post.lua "http://127.0.0.1:$PORT/graphql" | grep '^BENCH')
  after=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
  pg_after=$(pg_ticks)
  local peak_kb
  peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$server/status")
  kill "$server"
  wait "$server" 2>/dev/null || true
  local rps p99 requests errors
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  errors=$(sed -E 's/.*graphql_errors=([0-9]+).*/\1/' <<<"$line")
  [ "$errors" = 0 ] || { echo "GraphQL errors in a run: $line" >&2; exit 1; }
  python3 -c "print(f'{$rps:.1f} {$p99:.1f} {($after - $before) * 1000 / $TICKS / $requests:.3f} {($pg_after - $pg_before) * 1000 / $TICKS / $requests:.3f} {$peak_kb / 1024:.0f}')"
}

printf 'round  A req/s  B req/s   server CPU ms/request (A / B)   PostgreSQL CPU ms/request (A / B)   p99 ms (A / B)   peak RSS MB (A / B)\n'
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    read -r ra pa ca ga ma <<<"$(run "$A")"
    read -r rb pb cb gb mb <<<"$(run "$B")"
  else
    read -r rb pb cb gb mb <<<"$(run "$B")"
    read -r ra pa ca ga ma <<<"$(run "$A")"
  fi
  printf '%-6s %8s %8s %16s / %-16s %16s / %-16s %8s / %-8s %8s / %s\n' "$round" "$ra" "$rb" "$ca" "$cb" "$ga" "$gb" "$pa" "$pb" "$ma" "$mb"
  ratios+=("$rb/$ra" "$cb/$ca" "$gb/max($ga, 1e-9)" "$mb/$ma")
done
python3 - "${ratios[@]}" <<'EOF'
import statistics, sys
ratios = sys.argv[1:]
rps = [eval(p) for p in ratios[0::4]]
cpu = [eval(p) for p in ratios[1::4]]
pg = [eval(p) for p in ratios[2::4]]
rss = [eval(p) for p in ratios[3::4]]
print(f"median B/A: req/s {statistics.median(rps):.3f}, server CPU per request {statistics.median(cpu):.3f}, "
      f"PostgreSQL CPU per request {statistics.median(pg):.3f}, peak RSS {statistics.median(rss):.3f}")
EOF
