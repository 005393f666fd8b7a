//! Responses as the GraphQL specification writes them: keys in the selection's order,
//! a nullable field's error as `null` plus the error, a non-null field's error making
//! its nearest nullable parent null.

use serde_json::{Value, json};

use crate::common::*;

/// POST a query and return the raw body text (serde_json's maps would sort the keys).
async fn raw(app: &TestApp, token: &str, query: &str, variables: Value) -> String {
    let response = app.post(Some(token), &json!({ "query": query, "variables": variables })).await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("a body")
}

/// Where each key first appears in the text, in the order given; panics when one is missing.
fn positions(text: &str, keys: &[&str]) -> Vec<usize> {
    keys.iter().map(|key| text.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("no {key} in {text}"))).collect()
}

#[tokio::test]
async fn response_keys_follow_the_selection_whatever_finishes_first() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    // Counting rows is slower than reading the caller: 7.2.1 answered z, m, a.
    let query = "{ z: leads(first: 1) { totalCount } a: accounts(first: 1) { totalCount } m: me { name kind } \
                 b: organization { slug name } }";
    for _ in 0..5 {
        let text = raw(&app, &org.admin.token, query, json!({})).await;
        let at = positions(&text, &["z", "a", "m", "b"]);
        assert!(at.windows(2).all(|w| w[0] < w[1]), "root keys out of order: {text}");
        let at = positions(&text, &["name", "kind", "slug"]);
        assert!(at[0] < at[1] && at[1] < at[2], "nested keys out of order: {text}");
    }
    // Fragments: the first occurrence of a key fixes its place.
    let text =
        raw(&app, &org.admin.token, "{ ...F me { kind } } fragment F on Query { organization { slug } }", json!({}))
            .await;
    let at = positions(&text, &["organization", "me"]);
    assert!(at[0] < at[1], "{text}");
    // One key selected twice (here and in a fragment): one object holding both selections,
    // its keys where they first appear.
    let query = "{ organization { slug } ...F } fragment F on Query { organization { name slug } }";
    let text = raw(&app, &org.admin.token, query, json!({})).await;
    assert_eq!(text.matches("\"organization\":").count(), 1, "{text}");
    let at = positions(&text, &["slug", "name"]);
    assert!(at[0] < at[1], "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    let organization = body["data"]["organization"].as_object().expect("an object");
    assert_eq!(organization.len(), 2, "{text}");
    assert_eq!(organization["name"], "Acme", "{text}");
}

#[tokio::test]
async fn a_nullable_fields_error_is_null_plus_the_error() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let body = app.gql(Some(&org.admin.token), "{ lead(id: \"not-an-id\") { id } me { name } }", json!({})).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["path"], json!(["lead"]));
    let data = body["data"].as_object().expect("data is an object");
    assert_eq!(data.get("lead"), Some(&Value::Null), "the key is there, null: {body}");
    assert!(data["me"]["name"].is_string(), "{body}");
}

#[tokio::test]
async fn a_non_null_fields_error_nulls_its_nearest_nullable_parent() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let created = app
        .gql(
            Some(token),
            "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({ "input": { "email": "ana@example.com" } }),
        )
        .await;
    let id = created["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();

    // `activities` is non-null and refuses the page size: `lead` (nullable) becomes null.
    let query = "query($id: ID!) { lead(id: $id) { id activities(first: 100000) { totalCount } } me { name } }";
    let body = app.gql(Some(token), query, json!({ "id": id })).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["path"], json!(["lead", "activities"]));
    assert_eq!(body["data"]["lead"], Value::Null, "{body}");
    assert!(body["data"]["me"]["name"].is_string(), "{body}");

    // A non-null root field: `data` itself is null, and present (execution started).
    let body = app.gql(Some(token), "{ me { name } leads(first: 100000) { totalCount } }", json!({})).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["path"], json!(["leads"]));
    let object = body.as_object().expect("an object");
    assert_eq!(object.get("data"), Some(&Value::Null), "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
}

/// graphql-http's GraphQL-over-HTTP audit (the npm package the spec's authors publish)
/// against the real server: no MUST failure, no SHOULD warning. Needs Node.js; the
/// pinned packages are installed on first use from tests/http-audit/package-lock.json.
#[tokio::test]
async fn the_graphql_over_http_audit_passes() {
    let dir = node_packages("http-audit", "graphql-http").await;
    let app = spawn_app().await;
    let url = app.graphql_url();
    // Blocking, off the runtime: the server under audit runs on this test's runtime.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node").arg("audit.mjs").arg(url).current_dir(dir).output()
    })
    .await
    .expect("node ran")
    .expect("node (Node.js) is installed: the audit needs it");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(report.contains("0 failing"), "{report}");
}

#[tokio::test]
async fn only_json_bodies_are_run_and_request_errors_have_no_data() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let before = app.count_audit_rows(&org).await;
    let mutation = r#"{"query":"mutation { createAccount(input: {name: \"X\"}) { account { id } } }"}"#;
    for content_type in
        [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")]
    {
        let mut request = app.client.post(app.graphql_url()).bearer_auth(&org.admin.token).body(mutation);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("an answer");
        assert_eq!(response.status(), 415, "{content_type:?}");
        let body: Value = response.json().await.expect("JSON");
        assert_error(&body, "BAD_USER_INPUT");
    }
    assert_eq!(app.count_audit_rows(&org).await, before, "nothing ran");
    // With a charset, and as graphql-response+json: run.
    for content_type in ["application/json; charset=utf-8", "application/graphql-response+json"] {
        let response = app
            .client
            .post(app.graphql_url())
            .header("content-type", content_type)
            .body(r#"{"query":"{ __typename }"}"#)
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 200, "{content_type}");
    }
    // A parse error as graphql-response+json: 400 and no `data` entry at all.
    for query in ["{", "{ nope }"] {
        let response = app
            .client
            .post(app.graphql_url())
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 400);
        let body: Value = response.json().await.expect("JSON");
        assert!(body.get("data").is_none() && body["errors"][0]["message"].is_string(), "{body}");
    }
    // No `query` at all: 400.
    let response = app.post(None, &json!({ "qeury": "{ __typename }" })).await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_request_that_ran_nothing_for_want_of_a_credential_is_401() {
    let app = spawn_app().await;
    let response = app.post(None, &json!({ "query": "{ me { name } }" })).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.expect("JSON");
    assert_error(&body, "UNAUTHENTICATED");
    // Anything that ran without one (signing in, `__typename`) is 200.
    let response = app.post(None, &json!({ "query": "{ __typename }" })).await;
    assert_eq!(response.status(), 200);
}

/// A document that passed validation is not validated whole again (the server remembers
/// it), yet every answer is the one a first validation gives: a document that fails
/// keeps failing with the same errors, and one that passed still refuses a variable of
/// the wrong type with the same message, before and after it passed.
#[tokio::test]
async fn a_remembered_document_answers_exactly_as_a_first_validation_does() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = Some(org.admin.token.as_str());
    // Unique texts: no other test can have made the server remember them.
    let invalid = "query RememberedInvalid($unused: Int) { leads(first: 1) { totalCount nope } }";
    let valid = "query RememberedValid($n: Int, $search: String) { leads(first: $n, filter: { search: $search }) { totalCount } }";
    let first = app.gql(t, invalid, json!({})).await;
    assert!(
        first["errors"].as_array().is_some_and(|e| e.len() == 2),
        "an unknown field and an unused variable: {first}"
    );
    assert_eq!(first.get("data"), None, "{first}");
    assert_eq!(app.gql(t, invalid, json!({})).await, first, "the same errors again");

    let wrong = json!({ "n": "five", "search": 7 });
    let refused_before = app.gql(t, valid, wrong.clone()).await;
    assert_error(&refused_before, "BAD_USER_INPUT");
    assert_eq!(refused_before.get("data"), None, "{refused_before}");
    let passed = app.gql(t, valid, json!({ "n": 1 })).await;
    assert_eq!(passed, json!({ "data": { "leads": { "totalCount": 0 } } }));
    for _ in 0..2 {
        assert_eq!(
            app.gql(t, valid, wrong.clone()).await,
            refused_before,
            "a wrong variable, once the document passed"
        );
        assert_eq!(app.gql(t, valid, json!({ "n": 1 })).await, passed);
    }
    // The same text under another operation name, which it does not have.
    let body = app.post(t, &json!({ "query": valid, "operationName": "Other", "variables": { "n": 1 } })).await;
    let body: Value = body.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("Unknown operation")), "{body}");
}
