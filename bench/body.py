"""Build the JSON request bodies of the scenarios, and check a response.

body.py build QUERY_FILE OUT_FILE [key=value ...]   -- variables from the environment of the run
body.py check QUERY_FILE RESPONSE_FILE              -- no GraphQL errors, and the expected data present
"""
import json
import os
import sys
import uuid


def variables(name):
    if name.startswith("b_"):
        return {"id": os.environ["BENCH_LEAD_ID"]}
    if name.startswith(("f_", "h_")):
        run = uuid.uuid4().hex[:8]
        rows = [{"email": f"import{i}.{run}@bench{i % 97}.example", "firstName": "Bench", "lastName": f"Row{i}",
                 "company": f"Bench Co {i % 97}", "domain": f"bench{i % 97}.example", "source": "bench"}
                for i in range(int(os.environ.get("BENCH_IMPORT_ROWS", "1000")))]
        return {"input": {"rows": rows, "matchOn": "EMAIL"}}
    if name.startswith("g_"):
        emails = os.environ["BENCH_LEAD_EMAILS"].split(",")
        # Events as they come in, not a backfill: later than every event the seed wrote, so
        # scoring folds them into each lead's stored state. An older event makes scoring
        # fold the lead's whole history again (a fixed date here became older than the
        # seed's events as the calendar moved on).
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        events = [{"leadEmail": emails[i % len(emails)], "kind": "WEB_VISIT",
                   "occurredAt": now, "properties": {"page": "/pricing"}} for i in range(int(os.environ.get("BENCH_EVENTS", "100")))]
        return {"input": {"events": events}}
    if name.startswith("e_"):
        # The portal's dashboard: ten metrics over the last twelve months, by month.
        import datetime
        today = datetime.date.today()
        month = today.month - 11
        year = today.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        metrics = ["LEADS_CREATED", "MQLS", "SALS", "SQLS", "OPPORTUNITIES_CREATED", "DEALS_WON", "REVENUE_WON",
                   "WIN_RATE", "MQL_TO_SAL_RATE", "CUSTOMER_FACING_HOURS"]
        return {"input": {"metrics": metrics, "from": f"{year}-{month:02d}-01", "to": today.isoformat(),
                          "granularity": "MONTH"}}
    return {}


def expected_path(query_file):
    with open(query_file) as f:
        first = f.readline()
    return first.split("expect:", 1)[1].strip().split(".") if "expect:" in first else ["data"]


def main():
    mode, query_file, out = sys.argv[1], sys.argv[2], sys.argv[3]
    name = os.path.basename(query_file)
    if mode == "build":
        with open(query_file) as f:
            query = f.read()
        with open(out, "w") as f:
            json.dump({"query": query, "variables": variables(name)}, f)
        if name.startswith("g_"):
            # The SQLite write scenarios: post.lua makes "__EVENT__" one new event per request.
            template = {"query": query, "variables": {"input": {"events": ["__EVENT__"]}}}
            with open(out + ".event", "w") as f:
                json.dump(template, f)
        if name.startswith("f_"):
            # post.lua fills "__ROWS__" with rows never sent before, on every request:
            # (f) measures creating leads; (h) re-sends one body, i.e. unchanged rows.
            template = {"query": query, "variables": {"input": {"rows": "__ROWS__", "matchOn": "EMAIL"}}}
            with open(out + ".template", "w") as f:
                json.dump(template, f)
        return
    with open(out) as f:
        body = json.load(f)
    if body.get("errors"):
        sys.exit(f"{name}: GraphQL errors: {body['errors'][:2]}")
    node = body
    for key in expected_path(query_file):
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            sys.exit(f"{name}: no {'.'.join(expected_path(query_file))} in the response")
    if isinstance(node, list) and not node and not name.startswith("c_"):
        sys.exit(f"{name}: {'.'.join(expected_path(query_file))} is empty")


if __name__ == "__main__":
    main()
