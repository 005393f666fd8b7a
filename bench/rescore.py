"""Time the rescoring of every lead after a new scoring model comes into force.

rescore.py URL ADMIN_TOKEN ACCORD_BINARY

Agrees a new scoring model in the bench organization (the managers that matrix.py
created propose and approve it) and waits for the server's worker to finish the
rescoring job it queues; prints one line: leads, seconds and leads per second, from
the job's own startedAt and finishedAt.
"""
import datetime
import sys
import time

import client

URL, ADMIN, BIN = sys.argv[1], sys.argv[2], sys.argv[3]


def gql(token, query, variables=None):
    return client.gql(URL, token, query, variables, "rescore.py")


def token(email):
    return client.token(BIN, email)


def main():
    marketing, sales = token("mm@bench.test"), token("sm@bench.test")
    model = client.scoring_model(f"Bench model {int(time.time())}", {"warm": 30, "hot": 60, "mql": 90})
    created = gql(marketing, "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }",
                  {"input": model})
    model_id = created["createScoringModel"]["scoringModel"]["id"]
    client.agree(URL, "SCORING_MODEL", model_id, [marketing, sales], "rescore.py")
    deadline = time.time() + 1800
    while time.time() < deadline:
        job = gql(ADMIN, "{ rescoreJob { status processed total scoringModelId startedAt finishedAt } }")["rescoreJob"]
        if job and job["scoringModelId"] == model_id and job["status"] == "DONE":
            parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
            seconds = max((parse(job["finishedAt"]) - parse(job["startedAt"])).total_seconds(), 0.001)
            print(f"rescore: {job['processed']} leads in {seconds:.1f} s ({job['processed'] / seconds:.0f} leads/s)")
            return
        time.sleep(1)
    raise SystemExit("rescore.py: the rescoring job did not finish within 30 minutes")


if __name__ == "__main__":
    main()
