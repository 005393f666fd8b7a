"""Time the approval that agrees a new scoring model, which counts the leads it promotes.

approve.py URL ADMIN_TOKEN ACCORD_BINARY [RUNS]

Proposes a scoring model with the bench's rules (client.scoring_model) in the bench
organization; the sales manager approves first, then the marketing manager's approval,
the one that would agree it, is sent RUNS times (3 by default) without confirming:
each counts the promotions over every lead and is refused with that count. Prints one
line: the fastest and the slowest refusal in seconds, and the count. Nothing is agreed.
"""
import json
import re
import sys
import time
import urllib.request

import client

URL, ADMIN, BIN = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(sys.argv[4]) if len(sys.argv) > 4 else 3

APPROVE = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }"


def raw(token, query, variables):
    request = urllib.request.Request(
        URL, json.dumps({"query": query, "variables": variables}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main():
    marketing, sales = client.token(BIN, "mm@bench.test"), client.token(BIN, "sm@bench.test")
    # A low threshold, so that more leads than need confirming would be promoted.
    model = client.scoring_model(f"Bench approval {int(time.time())}", {"warm": 20, "hot": 40, "mql": 25})
    created = client.gql(URL, marketing, "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id version } } }",
                         {"input": model}, "approve.py")["createScoringModel"]["scoringModel"]
    variables = {"input": {"kind": "SCORING_MODEL", "id": created["id"], "version": created["version"]}}
    client.gql(URL, sales, APPROVE, variables, "approve.py")
    seconds, count = [], None
    for _ in range(RUNS):
        start = time.monotonic()
        body = raw(marketing, APPROVE, variables)
        seconds.append(time.monotonic() - start)
        errors = body.get("errors") or [{}]
        match = re.search(r"makes (\d+) leads MQLs", errors[0].get("message", ""))
        if not match:
            raise SystemExit(f"approve.py: expected a refusal naming the promotions, got {body}")
        count = int(match.group(1))
    print(f"approve: counted {count} promotions in {min(seconds):.2f} s (slowest of {RUNS} {max(seconds):.2f} s)")


if __name__ == "__main__":
    main()
