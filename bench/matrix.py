"""Give the bench organization an agreed message matrix (scenario d), once.

matrix.py URL ADMIN_TOKEN ACCORD_BINARY

Synthetic seeding writes records, not the alignment contract; this creates a marketing
and a sales manager, three personas and one agreed message per persona and journey
stage through the API, approved by both teams. Does nothing when the matrix has
covered cells already.
"""
import sys

import client

URL, ADMIN, BIN = sys.argv[1], sys.argv[2], sys.argv[3]


def gql(token, query, variables=None):
    return client.gql(URL, token, query, variables, "matrix.py")


def token(email):
    return client.token(BIN, email)


def agree(kind, document_id, approvers):
    client.agree(URL, kind, document_id, approvers, "matrix.py")


def main():
    matrix = gql(ADMIN, "{ messageMatrix { coveredCells } }")["messageMatrix"]
    if matrix["coveredCells"] > 0:
        return
    users = gql(ADMIN, "{ users(first: 100) { edges { node { email } } } }")["users"]["edges"]
    emails = {edge["node"]["email"] for edge in users}
    for email, name, team in [("mm@bench.test", "Marketing Manager", "MARKETING"),
                              ("sm@bench.test", "Sales Manager", "SALES")]:
        if email not in emails:
            gql(ADMIN, "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
                {"input": {"email": email, "name": name, "team": team, "role": "MANAGER"}})
    marketing, sales = token("mm@bench.test"), token("sm@bench.test")
    stages = gql(ADMIN, "{ journeyStages { id name } }")["journeyStages"]
    for name in ["Operations Olivia", "Finance Frank", "IT Ian"]:
        persona = gql(marketing, "mutation($input: CreatePersonaInput!) { createPersona(input: $input) { persona { id } } }",
                      {"input": {"name": name, "titleKeywords": [name.split()[0].lower()], "propose": True}})
        persona_id = persona["createPersona"]["persona"]["id"]
        agree("PERSONA", persona_id, [marketing, sales])
        for stage in stages:
            message = gql(marketing, "mutation($input: CreateMessageInput!) { createMessage(input: $input) { message { id } } }",
                          {"input": {"kind": "SEGMENT", "personaId": persona_id, "journeyStageId": stage["id"],
                                     "title": f"{name} at {stage['name']}", "body": "Close the books three times faster.",
                                     "proofPoints": ["Payly closed in 2 days"], "callToAction": "Book a demo",
                                     "propose": True}})
            agree("MESSAGE", message["createMessage"]["message"]["id"], [marketing, sales])


if __name__ == "__main__":
    main()
