# Sourced by run.sh, ab.sh and instructions.sh once `sql QUERY` answers from the bench
# database: the values bench/body.py puts in the scenarios' variables, and the wait for
# the server's KPI rollup.

# bench_lead_id: exports ORG and BENCH_LEAD_ID, the bench organization's lead with the
# most activities, which (b) reads.
bench_lead_id() {
  ORG=$(sql "SELECT id FROM organizations WHERE slug = 'bench'")
  BENCH_LEAD_ID=$(sql "SELECT lead_id FROM activities WHERE org_id = '$ORG' AND lead_id IS NOT NULL GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT 1")
  export ORG BENCH_LEAD_ID
}

# bench_lead_emails: exports BENCH_LEAD_EMAILS, the 50 emails (e)'s events name (the bench
# database holds the bench organization alone).
bench_lead_emails() {
  BENCH_LEAD_EMAILS=$(sql "SELECT email FROM leads ORDER BY id LIMIT 50" | paste -sd, -)
  export BENCH_LEAD_EMAILS
}

# wait_for_kpi_rollup SECONDS: returns once the server's worker has built the bench
# organization's KPI rollup (a seed discards it; the server builds it at start); fails
# after SECONDS.
wait_for_kpi_rollup() {
  local _
  for _ in $(seq 1 "$1"); do
    [ "$(sql "SELECT 1 FROM kpi_rollup_states WHERE definition <> '' LIMIT 1")" = 1 ] && return 0
    sleep 1
  done
  echo "the KPI rollup was not built in $1 s" >&2
  return 1
}
