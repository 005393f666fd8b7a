# Sourced by run.sh, ab.sh and instructions.sh once `sql QUERY` answers from the bench
# database: the values bench/body.py puts in the scenarios' variables.

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
