"""Time simulateScoringModel over every lead of the bench organization.

simulate.py URL ADMIN_TOKEN ACCORD_BINARY [RUNS]

Proposes a scoring model (not agreed: a simulation writes nothing) with the bench's
rules (client.scoring_model) and a lower MQL threshold, so that some leads would be
promoted, then asks simulateScoringModel(id, version) for it RUNS times (3 by
default) one after another; prints one line: leads, the fastest and the slowest call
in seconds, and the promotions.
"""
import sys
import time

import client

URL, ADMIN, BIN = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(sys.argv[4]) if len(sys.argv) > 4 else 3

SIMULATE = """query($id: ID!, $version: Int) { simulateScoringModel(id: $id, version: $version) {
  version leads mqlsBefore mqlsAfter promotions
  temperaturesAfter { temperature leads } promotedSamples { lead { id } scoreBefore scoreAfter } } }"""


def gql(token, query, variables=None):
    return client.gql(URL, token, query, variables, "simulate.py")


def main():
    marketing = client.token(BIN, "mm@bench.test")
    model = client.scoring_model(f"Bench proposal {int(time.time())}", {"warm": 30, "hot": 50, "mql": 50})
    created = gql(marketing, "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id version } } }",
                  {"input": model})["createScoringModel"]["scoringModel"]
    variables = {"id": created["id"], "version": created["version"]}
    seconds = []
    for _ in range(RUNS):
        start = time.monotonic()
        sim = gql(ADMIN, SIMULATE, variables)["simulateScoringModel"]
        seconds.append(time.monotonic() - start)
    leads = sim["leads"]
    if leads == 0 or sum(t["leads"] for t in sim["temperaturesAfter"]) != leads:
        raise SystemExit(f"simulate.py: the simulation's temperatures do not add up to its {leads} leads: {sim}")
    print(f"simulate: {leads} leads in {min(seconds):.2f} s (slowest of {RUNS} {max(seconds):.2f} s; "
          f"{sim['promotions']} promotions)")


if __name__ == "__main__":
    main()
