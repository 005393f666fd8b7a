//! The HTTP surface: transport errors, limits, GET requests, health checks.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_unreachable() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    let ready = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.post(None, &json!({ "query": "{ __typename }" })).await;
    assert!(response.headers().get("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn graphiql_is_served_to_browsers() {
    let app = spawn_app().await;
    let response = app.client.get(app.graphql_url()).header("Accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn queries_run_over_get_but_mutations_do_not() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", "{ me { name } }")])
        .bearer_auth(&org.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["data"]["me"]["name"], "Acme Admin");

    let before = app.count_audit_rows(&org).await;
    let mutation = "mutation { createUser(input: { email: \"x@acme.test\", name: \"X\", team: SALES, role: MEMBER }) { user { id } } }";
    let response = app
        .client
        .get(app.graphql_url())
        .query(&[("query", mutation)])
        .bearer_auth(&org.admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    assert_eq!(app.count_audit_rows(&org).await, before);
}

#[tokio::test]
async fn malformed_json_is_a_bad_request() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.graphql_url())
        .header("Content-Type", "application/json")
        .body("{\"query\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_error(&response.json().await.unwrap(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn batched_requests_are_refused() {
    let app = spawn_app().await;
    let response = app.post(None, &json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }])).await;
    assert_eq!(response.status(), 400);
    assert_error(&response.json().await.unwrap(), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_ten_mebibyte_body_is_too_large() {
    let app = spawn_app().await;
    let padding = "x".repeat(10 * 1024 * 1024);
    let body = json!({ "query": "{ __typename }", "variables": { "padding": padding } }).to_string();
    let response =
        app.client.post(app.graphql_url()).header("Content-Type", "application/json").body(body).send().await.unwrap();
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_query_fifty_levels_deep_is_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    // lead, then 24 × (handovers, lead), then id: 50 levels.
    let query = format!(
        "{{ lead(id: \"{}\") {{ {} id {} }} }}",
        uuid::Uuid::nil(),
        "handovers { lead {".repeat(24),
        "} }".repeat(24)
    );
    let body = app.gql(Some(&org.admin.token), &query, json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("nested too deep: 50 levels"), "{message}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 12);
    assert!(body.get("data").is_none(), "a request error has no data: {body}");
    // Introspection's own nesting does not count: its type references go as deep as needed.
    let query = format!("{{ __type(name: \"User\") {{ {} name {} }} }}", "ofType {".repeat(40), "}".repeat(40));
    let body = app.gql(Some(&org.admin.token), &query, json!({})).await;
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn a_thousand_aliases_expand_to_too_many_fields() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let fields: String = (0..1000).map(|i| format!("a{i}: me {{ name kind }} ")).collect();
    let body = app.gql(Some(&org.admin.token), &format!("{{ {fields} }}"), json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("expands to 3000 fields"), "{message}");
    assert_eq!(body["errors"][0]["extensions"]["limit"], 2000);
}

#[tokio::test]
async fn graphql_response_json_is_negotiated() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.graphql_url())
        .header("Accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/graphql-response+json"));

    // A request that cannot execute is a 400 for such clients.
    let response = app
        .client
        .post(app.graphql_url())
        .header("Accept", "application/graphql-response+json")
        .json(&json!({ "query": "{ nonsense" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn introspection_and_suggestions_can_be_switched_off() {
    let app = spawn_app_with(|config| config.introspection = false).await;
    let org = app.create_org("Acme").await;
    let body = app.gql(Some(&org.admin.token), "{ __schema { queryType { name } } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null(), "no schema for the curious: {body}");
    // Said as an error, so a tool can tell "off" from "broken".
    let message = assert_error(&body, "FORBIDDEN");
    assert!(message.contains("introspection is turned off"), "{message}");
    let body = app.gql(None, "{ ... on Query { __type(name: \"Lead\") { name } } }", json!({})).await;
    assert_error(&body, "FORBIDDEN");
    let body = app.gql(Some(&org.admin.token), "{ mee { name } }", json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(!message.contains("Did you mean"), "{message}");
}

#[tokio::test]
async fn metrics_count_requests_and_sql_statements() {
    let token = "metrics-token-0123456789-abcdefghijklmnop";
    let app = spawn_app_with(|config| config.metrics_token = Some(token.into())).await;
    let org = app.create_org("Acme").await;
    app.gql(Some(&org.admin.token), "{ users { totalCount } }", json!({})).await;
    let metrics = app.client.get(format!("{}/metrics", app.address)).bearer_auth(token).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(text.contains("accord_http_requests_total"), "{text}");
    assert!(text.contains("accord_http_request_seconds"), "{text}");
}
