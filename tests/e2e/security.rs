//! Hostile requests against the public endpoint: each attack gets its error, writes
//! nothing, and the server keeps answering everyone else.

use std::time::{Duration, Instant};

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::{JWT_SECRET, PASSWORD, TestApp, assert_error, on_postgres, spawn_app, spawn_app_with};

const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token } }";

/// A document whose fragments each spread the next one twice: 2^levels fields.
fn fan_out(levels: usize) -> String {
    let mut query = String::from("{ ...F0 }");
    for level in 0..levels {
        query.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
    }
    query.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    query
}

async fn healthz(app: &TestApp) -> reqwest::StatusCode {
    app.client.get(format!("{}/healthz", app.address)).send().await.unwrap().status()
}

async fn lead_count(app: &TestApp, token: &str) -> i64 {
    app.gql(Some(token), "{ leads { totalCount } }", json!({})).await["data"]["leads"]["totalCount"].as_i64().unwrap()
}

async fn create_lead(app: &TestApp, token: &str, email: &str) -> Value {
    let query = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    app.gql(Some(token), query, json!({ "input": { "email": email } })).await
}

#[tokio::test]
async fn a_fragment_fan_out_is_refused_at_once_and_the_server_keeps_answering() {
    let app = spawn_app().await;
    let started = Instant::now();
    let body = app.gql(None, &fan_out(30), json!({})).await;
    let elapsed = started.elapsed();
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("expands to"), "{message}");
    assert!(elapsed < Duration::from_millis(50), "refused in {elapsed:?}");

    let attacks: Vec<_> = (0..8)
        .map(|_| {
            let (client, url, query) = (app.client.clone(), app.graphql_url(), fan_out(40));
            tokio::spawn(
                async move { client.post(url).json(&json!({ "query": query })).send().await.unwrap().status() },
            )
        })
        .collect();
    assert_eq!(healthz(&app).await, 200);
    for attack in attacks {
        assert_eq!(attack.await.unwrap(), 200, "a request error, with application/json");
    }
    // The same over GET, and a document too long to parse at all.
    let get = app.client.get(app.graphql_url()).query(&[("query", fan_out(30))]).send().await.unwrap();
    assert_error(&get.json::<Value>().await.unwrap(), "BAD_USER_INPUT");
    let org = app.create_org("Acme").await;
    let long = format!("{{ {} }}", "__typename ".repeat(12_000));
    let body = app.gql(Some(&org.admin.token), &long, json!({})).await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("bytes"), "{body}");
    let many = format!("{{ {} }}", "a:__typename ".repeat(4_000));
    let body = app.gql(Some(&org.admin.token), &many, json!({})).await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("tokens"), "{body}");
}

#[tokio::test]
async fn aliased_counts_are_priced_and_refused_before_any_sql() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let aliases: String = (0..1000).map(|i| format!("a{i}: leads {{ totalCount }} ")).collect();
    let before = app.statements.load(std::sync::atomic::Ordering::SeqCst);
    let body = app.gql(Some(&org.admin.token), &format!("{{ {aliases} }}"), json!({})).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("costs 52000 points") && message.contains("10000"), "{message}");
    assert_eq!(body["errors"][0]["extensions"]["cost"], 52_000);
    assert_eq!(body["errors"][0]["extensions"]["limit"], 10_000);
    // Authenticating the token may read the user; no list was counted or read.
    let after = app.statements.load(std::sync::atomic::Ordering::SeqCst);
    assert!(after - before <= 1, "{} statements ran", after - before);

    let pages: String = (0..600).map(|i| format!("p{i}: leads(first: 100) {{ nodes {{ id }} }} ")).collect();
    assert_error(&app.gql(Some(&org.admin.token), &format!("{{ {pages} }}"), json!({})).await, "BAD_USER_INPUT");
    // A normal dashboard request stays well inside the budget.
    let body = app
        .gql(
            Some(&org.admin.token),
            "{ leads(first: 100) { totalCount nodes { id email owner { name } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn many_aliased_lists_are_answered_with_few_connections() {
    // One turn per request and a pool of two: the other connection stays free for
    // everyone else while a request of many aliases runs.
    let app = spawn_app_with(|config| {
        config.max_connections_per_request = 1;
        config.db_max_connections = 2;
    })
    .await;
    let org = app.create_org("Acme").await;
    for n in 0..3 {
        create_lead(&app, &org.admin.token, &format!("lead{n}@acme.test")).await;
    }
    let aliases: String =
        (0..40).map(|i| format!("a{i}: leads(first: 5) {{ totalCount nodes {{ email }} }} ")).collect();
    let body = app.gql(Some(&org.admin.token), &format!("{{ {aliases} }}"), json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["a39"]["totalCount"], 3);
    assert_eq!(app.client.get(format!("{}/readyz", app.address)).send().await.unwrap().status(), 200);
}

fn token_with(claims: Value) -> String {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(JWT_SECRET.as_bytes())).unwrap()
}

#[tokio::test]
async fn tokens_not_yet_valid_or_living_too_long_are_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |extra: Value| {
        let mut claims = json!({ "sub": org.admin.id, "org": org.id, "role": "ADMIN",
            "exp": now + 3600, "iat": now, "iss": "accord", "aud": "accord" });
        for (key, value) in extra.as_object().unwrap() {
            claims[key] = value.clone();
        }
        claims
    };
    assert_eq!(status_with(&app, &token_with(claims(json!({ "nbf": now - 5 })))).await, 200);
    for bad in [json!({ "nbf": now + 3600 }), json!({ "nbf": (now - 5).to_string() }), json!({ "exp": 1i64 << 62 })] {
        assert_eq!(status_with(&app, &token_with(claims(bad.clone()))).await, 401, "{bad}");
    }
}

async fn status_with(app: &TestApp, token: &str) -> u16 {
    app.post(Some(token), &json!({ "query": "{ me { name } }" })).await.status().as_u16()
}

async fn login_from(app: &TestApp, client: &str, input: &Value) -> reqwest::Response {
    app.client
        .post(app.graphql_url())
        .header("X-Forwarded-For", client)
        .json(&json!({ "query": LOGIN, "variables": { "input": input } }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failing_client_is_slowed_but_cannot_lock_the_owner_out() {
    let app = spawn_app_with(|config| config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let org = app.create_org("Acme").await;
    let wrong = json!({ "organization": org.slug, "email": org.admin.email, "password": "wrong password!" });
    let right = json!({ "organization": org.slug, "email": org.admin.email, "password": PASSWORD });
    let mut last = None;
    for _ in 0..8 {
        last = Some(login_from(&app, "203.0.113.9", &wrong).await);
    }
    let refused = last.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_error(&body, "RATE_LIMITED");

    // The owner, from their own address, signs in at once.
    let owner = login_from(&app, "198.51.100.7", &right).await;
    assert_eq!(owner.status(), 200);
    let body: Value = owner.json().await.unwrap();
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
}

#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_proxy_is_trusted() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let wrong = json!({ "organization": org.slug, "email": org.admin.email, "password": "wrong password!" });
    for n in 0..8 {
        // A forged header per attempt does not give the attacker a fresh budget.
        let response = login_from(&app, &format!("192.0.2.{n}"), &wrong).await;
        if n == 7 {
            assert_eq!(response.status(), 429);
        }
    }
}

#[tokio::test]
async fn an_api_key_is_held_to_its_own_rate() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let query = "mutation { createApiKey(input: { name: \"sync\", scopes: [LEADS_READ], requestsPerMinute: 3 }) { secret apiKey { requestsPerMinute } } }";
    let body = app.gql(Some(&org.admin.token), query, json!({})).await;
    assert_eq!(body["data"]["createApiKey"]["apiKey"]["requestsPerMinute"], 3, "{body}");
    let key = body["data"]["createApiKey"]["secret"].as_str().unwrap().to_owned();
    for remaining in [2, 1, 0] {
        let response = app.post(Some(&key), &json!({ "query": "{ leads { totalCount } }" })).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining.to_string().as_str());
    }
    let response = app.post(Some(&key), &json!({ "query": "{ leads { totalCount } }" })).await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
    assert_error(&response.json::<Value>().await.unwrap(), "RATE_LIMITED");
    // Other callers have buckets of their own.
    assert!(app.gql(Some(&org.admin.token), "{ me { name } }", json!({})).await["errors"].is_null());
}

#[tokio::test]
async fn keys_without_a_rate_of_their_own_take_the_organizations_default() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let settings = "mutation { updateOrganization(input: { settings: { handoverResponseHours: 24, feedbackActionableEndorsers: 3, feedbackActionableAccounts: 2, approvalRequiresService: false, apiRequestsPerMinute: 2 } }) { organization { settings { apiRequestsPerMinute } } } }";
    let body = app.gql(Some(&org.admin.token), settings, json!({})).await;
    assert_eq!(body["data"]["updateOrganization"]["organization"]["settings"]["apiRequestsPerMinute"], 2, "{body}");
    let query = "mutation { createApiKey(input: { name: \"bi\", scopes: [KPIS_READ] }) { secret } }";
    let key = app.gql(Some(&org.admin.token), query, json!({})).await["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..2 {
        let response = app.post(Some(&key), &json!({ "query": "{ me { name } }" })).await;
        assert_eq!(response.headers()["ratelimit-limit"], "2");
    }
    assert_eq!(app.post(Some(&key), &json!({ "query": "{ me { name } }" })).await.status(), 429);

    let bad = "mutation { updateOrganization(input: { settings: { handoverResponseHours: 24, feedbackActionableEndorsers: 3, feedbackActionableAccounts: 2, approvalRequiresService: false, apiRequestsPerMinute: 0 } }) { organization { id } } }";
    let body = app.gql(Some(&org.admin.token), bad, json!({})).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "settings.apiRequestsPerMinute");
}

#[tokio::test]
async fn a_kpi_key_cannot_export_e_mail_addresses_and_exports_are_audited() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let key = |scope: &'static str| {
        let app = &app;
        let token = org.admin.token.clone();
        async move {
            let query =
                format!("mutation {{ createApiKey(input: {{ name: \"bi\", scopes: [{scope}] }}) {{ secret }} }}");
            app.gql(Some(&token), &query, json!({})).await["data"]["createApiKey"]["secret"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (kpis, leads) = (key("KPIS_READ").await, key("LEADS_READ").await);
    let audit_before = app.count_audit_rows(&org).await;
    let export = |token: String| {
        let (client, url) = (app.client.clone(), format!("{}/export/leads.csv", app.address));
        async move { client.get(url).bearer_auth(token).send().await.unwrap().status() }
    };
    assert_eq!(export(kpis).await, 403);
    assert_eq!(app.count_audit_rows(&org).await, audit_before, "a refused export writes nothing");
    assert_eq!(export(leads).await, 200);
    let body = app
        .gql(Some(&org.admin.token), "{ auditLog(filter: { action: \"export\" }) { nodes { entity } } }", json!({}))
        .await;
    assert_eq!(body["data"]["auditLog"]["nodes"][0]["entity"], "leads", "{body}");
}

#[tokio::test]
async fn anonymous_bodies_are_small_and_authenticated_ones_may_be_large() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let padding = "x".repeat(20 * 1024);
    let body = json!({ "query": "{ __typename }", "variables": { "padding": padding } });
    let anonymous = app.post(None, &body).await;
    assert_eq!(anonymous.status(), 413);
    assert_error(&anonymous.json::<Value>().await.unwrap(), "BAD_USER_INPUT");
    assert_eq!(app.post(Some(&org.admin.token), &body).await.status(), 200);
}

#[tokio::test]
async fn metrics_are_not_served_on_the_public_listener_without_their_token() {
    let app = spawn_app().await;
    let url = format!("{}/metrics", app.address);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);

    let token = "metrics-token-0123456789-abcdefghijklmnop";
    let app = spawn_app_with(|config| config.metrics_token = Some(token.into())).await;
    let url = format!("{}/metrics", app.address);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(app.client.get(&url).bearer_auth("wrong").send().await.unwrap().status(), 401);
    let response = app.client.get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("accord_http_requests_total"));
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_and_nothing_else() {
    let app = spawn_app().await;
    app.gql(None, "{ __typename }", json!({})).await;
    // What `accord serve` binds on ACCORD_METRICS_BIND.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api::http::metrics_router()).await });
    let metrics = app.client.get(format!("http://{address}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("accord_http_requests_total"));
    let graphql = app.client.post(format!("http://{address}/graphql")).json(&json!({ "query": "{ __typename }" }));
    assert_eq!(graphql.send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_nul_byte_is_bad_input_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let query = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let body = app
        .gql(Some(&org.admin.token), query, json!({ "input": { "email": "a@acme.test", "firstName": "A\u{0}B" } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "variables.input.firstName");
    let inline = r#"mutation { createLead(input: { email: "b@acme.test", title: "x\u0000" }) { lead { id } } }"#;
    assert_error(&app.gql(Some(&org.admin.token), inline, json!({})).await, "BAD_USER_INPUT");
    assert_eq!(lead_count(&app, &org.admin.token).await, 0);
}

#[tokio::test]
async fn another_organizations_cursor_is_refused() {
    let app = spawn_app().await;
    let (acme, globex) = (app.create_org("Acme").await, app.create_org("Globex").await);
    for n in 0..2 {
        create_lead(&app, &acme.admin.token, &format!("l{n}@acme.test")).await;
    }
    let page = "query($after: String) { leads(first: 1, after: $after) { pageInfo { endCursor } nodes { email } } }";
    let body = app.gql(Some(&acme.admin.token), page, json!({})).await;
    let cursor = body["data"]["leads"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let own = app.gql(Some(&acme.admin.token), page, json!({ "after": cursor })).await;
    assert_eq!(own["data"]["leads"]["nodes"].as_array().unwrap().len(), 1, "{own}");
    let other = app.gql(Some(&globex.admin.token), page, json!({ "after": cursor })).await;
    assert_error(&other, "BAD_USER_INPUT");
    assert_eq!(other["errors"][0]["extensions"]["field"], "after");
}

#[tokio::test]
async fn a_request_past_its_time_limit_gets_a_timeout_error_and_changes_nothing() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    let org = app.create_org("Acme").await;
    let user = app.create_user(&org, Team::Sales, Role::Member).await;
    // Hold the row the update needs (PostgreSQL) or the write lock (SQLite) past the limit.
    let blocker = app.db.begin().await.unwrap();
    let lock = if on_postgres() {
        format!("SELECT id FROM users WHERE id = '{}' FOR UPDATE", user.id)
    } else {
        format!("UPDATE users SET name = name WHERE id = '{}'", user.id)
    };
    blocker.execute_unprepared(&lock).await.unwrap();
    let query = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { name } } }";
    let started = Instant::now();
    let response = app
        .post(
            Some(&org.admin.token),
            &json!({ "query": query, "variables": { "input": { "id": user.id, "name": "Renamed" } } }),
        )
        .await;
    assert_eq!(response.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert_error(&response.json::<Value>().await.unwrap(), "TIMEOUT");
    blocker.rollback().await.unwrap();
    let body =
        app.gql(Some(&org.admin.token), "query($id: ID!) { user(id: $id) { name } }", json!({ "id": user.id })).await;
    assert_eq!(body["data"]["user"]["name"], "Sales Member");
    assert_eq!(healthz(&app).await, 200);
}
