"""What the bench scripts share: GraphQL over HTTP, and tokens for bench users."""
import json
import subprocess
import urllib.request


def gql(url, token, query, variables=None, who="bench"):
    request = urllib.request.Request(
        url, json.dumps({"query": query, "variables": variables or {}}).encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.load(response)
    if body.get("errors"):
        raise SystemExit(f"{who}: {body['errors'][:1]}")
    return body["data"]


def token(binary, email):
    return subprocess.run([binary, "token", "--email", email, "--org", "bench", "--ttl", "1h"],
                          check=True, capture_output=True, text=True).stdout.strip()


def agree(url, kind, document_id, approvers, who="bench"):
    """Approve version 1 of an agreed document by each approver (one per team)."""
    for approver in approvers:
        gql(url, approver, "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }",
            {"input": {"kind": kind, "id": document_id, "version": 1}}, who)


def scoring_model(name, thresholds):
    """A proposed scoring model (createScoringModel's input) with the bench's rules:
    fit on industry, size and title, engagement on web visits and demo requests."""
    return {
        "name": name,
        "fitRules": [
            {"name": "Fintech or SaaS", "attribute": "ACCOUNT_INDUSTRY", "operator": "ONE_OF",
             "values": ["Fintech", "SaaS"], "points": 20},
            {"name": "Mid-market", "attribute": "ACCOUNT_EMPLOYEE_COUNT", "operator": "RANGE",
             "min": 50, "max": 5000, "points": 15},
            {"name": "Senior title", "attribute": "LEAD_TITLE", "operator": "CONTAINS", "value": "VP", "points": 10},
        ],
        "engagementRules": [
            {"name": "Web visits", "kind": "WEB_VISIT", "pointsPerEvent": 2, "cap": 20, "halfLifeDays": 30},
            {"name": "Demo requests", "kind": "DEMO_REQUEST", "pointsPerEvent": 25, "cap": 25, "halfLifeDays": 60},
        ],
        "thresholds": thresholds,
        "propose": True,
    }
