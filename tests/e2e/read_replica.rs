//! A read replica (`DATABASE_READ_URL`): a real streaming replica of the test
//! PostgreSQL, made by tests/pg-standby.sh. Reports go there once it has caught up,
//! always show the caller's writes, and the primary serves when it lags or is gone.

use std::time::{Duration, Instant};

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789-abcdefghijklmnop";

const LEADS_CREATED: &str = "query($input: KpiInput!) { kpis(input: $input) { points { value } } }";

fn today_input() -> Value {
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today.pred_opt().unwrap(), today.succ_opt().unwrap());
    json!({ "input": { "metrics": ["LEADS_CREATED"], "from": from, "to": to, "granularity": "DAY" } })
}

/// Leads created yesterday, today and tomorrow, as `kpis` reports them through `server`.
async fn leads_created(server: &Replica, token: &str) -> f64 {
    let body = server.gql(Some(token), LEADS_CREATED, today_input()).await;
    let points = body["data"]["kpis"][0]["points"].as_array().unwrap_or_else(|| panic!("{body}"));
    points.iter().map(|p| p["value"].as_f64().unwrap_or(0.0)).sum()
}

async fn create_lead(server: &Replica, token: &str, email: &str) {
    let body = server
        .gql(
            Some(token),
            "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({ "input": { "email": email } }),
        )
        .await;
    assert!(body["data"]["createLead"]["lead"]["id"].is_string(), "{body}");
}

async fn metrics(server: &Replica) -> String {
    let response = reqwest::Client::new()
        .get(format!("{}/metrics", server.address))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The value of the first sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

async fn routes(server: &Replica, to: &str, reason: &str) -> f64 {
    let text = metrics(server).await;
    let (to, reason) = (format!("to=\"{to}\""), format!("reason=\"{reason}\""));
    sample(&text, "accord_read_routes_total", &[&to, &reason]).unwrap_or(0.0)
}

/// Reads routed anywhere for any reason.
async fn all_routes(server: &Replica) -> f64 {
    let text = metrics(server).await;
    text.lines()
        .filter(|line| line.starts_with("accord_read_routes_total{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Wait up to five seconds for `gauge` to satisfy `done`; its last value.
async fn gauge_until(server: &Replica, gauge: &str, done: impl Fn(f64) -> bool) -> Option<f64> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let value = sample(&metrics(server).await, gauge, &[]);
        if value.is_some_and(&done) || Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
#[ignore = "PostgreSQL only: a read replica is a PostgreSQL streaming replica (ACCORD_TEST_DATABASE_URL)"]
async fn reports_read_the_replica_once_it_has_caught_up_and_the_primary_otherwise() {
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let user = app.create_user(&org, Team::Marketing, Role::Member).await;
    let standby = Standby::start(&[]);
    let read_url = standby.url_of(app.database_url());
    let server = Replica::start_with(
        app.database_url(),
        false,
        &[("DATABASE_READ_URL", read_url.as_str()), ("ACCORD_METRICS_TOKEN", METRICS_TOKEN)],
    );

    // A write, then reports: each shows the write, and the replica serves them once it
    // has replayed it (within moments; on a busy machine a report may come first).
    create_lead(&server, &user.token, "first@example.com").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert_eq!(leads_created(&server, &user.token).await, 1.0);
        if routes(&server, "replica", "caught_up").await >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no report was read from the replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The CSV export is routed the same way, once.
    let before = all_routes(&server).await;
    let csv = reqwest::Client::new()
        .get(format!("{}/export/leads.csv", server.address))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("first@example.com"));
    assert_eq!(all_routes(&server).await, before + 1.0);
    assert_eq!(gauge_until(&server, "accord_read_replica_up", |up| up == 1.0).await, Some(1.0));

    // The replica now applies every transaction 3 s late: a report right after a write
    // (through another server, too) must not read it there.
    standby.set(&["recovery_min_apply_delay=3s"]);
    create_lead(&server, &user.token, "second@example.com").await;
    assert_eq!(leads_created(&server, &user.token).await, 2.0, "the caller's own write");
    app.gql(
        Some(&user.token),
        "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
        json!({ "input": { "email": "third@example.com" } }),
    )
    .await;
    assert_eq!(leads_created(&server, &user.token).await, 3.0, "a write made through another server");
    assert!(routes(&server, "primary", "behind").await >= 2.0);
    let lag = gauge_until(&server, "accord_read_replica_lag_bytes", |bytes| bytes > 0.0).await;
    assert!(lag.is_some_and(|bytes| bytes > 0.0), "lag in bytes: {lag:?}");

    // The replica goes away: the primary serves, without an error, whether the read
    // found it gone first or failed on it.
    standby.stop();
    assert_eq!(leads_created(&server, &user.token).await, 3.0);
    let elsewhere = routes(&server, "primary", "down").await + routes(&server, "primary", "failed").await;
    assert!(elsewhere >= 1.0);
    assert_eq!(gauge_until(&server, "accord_read_replica_up", |up| up == 0.0).await, Some(0.0));
}

/// A server whose read replica does not answer starts, and its reports come from the primary.
#[tokio::test]
#[ignore = "PostgreSQL only: a read replica is a PostgreSQL streaming replica (ACCORD_TEST_DATABASE_URL)"]
async fn a_replica_that_does_not_answer_leaves_reports_to_the_primary() {
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let user = app.create_user(&org, Team::Marketing, Role::Member).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_, name) = app.database_url().rsplit_once('/').unwrap();
    let nowhere = format!("postgres://postgres@127.0.0.1:{closed}/{name}");
    let server = Replica::start_with(
        app.database_url(),
        false,
        &[("DATABASE_READ_URL", nowhere.as_str()), ("ACCORD_METRICS_TOKEN", METRICS_TOKEN)],
    );
    create_lead(&server, &user.token, "first@example.com").await;
    let started = Instant::now();
    assert_eq!(leads_created(&server, &user.token).await, 1.0);
    assert_eq!(leads_created(&server, &user.token).await, 1.0);
    // The first report finds it down (a second at most); the next one does not try again.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(routes(&server, "primary", "down").await, 2.0);
    assert_eq!(routes(&server, "replica", "caught_up").await, 0.0);
}
