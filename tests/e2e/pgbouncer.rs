//! Accord through pgbouncer in transaction mode (`DATABASE_URL` to pgbouncer,
//! `DATABASE_SESSION_URL` to PostgreSQL itself), run by tests/pgbouncer.sh.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::common::*;
use crate::two_servers::mixed_load;

/// What pgbouncer's console says of the test's database: `(transactions, queries)`.
fn pooled(pgbouncer: &Pgbouncer, database: &str) -> (u64, u64) {
    let output = std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &pgbouncer.port.to_string(), "-U", "postgres", "-At", "-F", ","])
        .args(["-c", "SHOW STATS", "pgbouncer"])
        .output()
        .expect("psql runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    // database, total_server_assignment_count, total_xact_count, total_query_count, …
    let line = text.lines().find(|l| l.starts_with(&format!("{database},"))).unwrap_or_else(|| panic!("{text}"));
    let fields: Vec<&str> = line.split(',').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

/// Two servers through one pgbouncer in transaction mode, under the benchmark's mix for
/// 15 s: no request fails, every job is done once, the pooled sessions carry Accord's
/// settings as role defaults.
#[tokio::test]
#[ignore = "PostgreSQL only: pgbouncer pools PostgreSQL connections (ACCORD_TEST_DATABASE_URL)"]
async fn two_servers_through_pgbouncer_in_transaction_mode_under_the_mixed_load() {
    require_postgres();
    let app = spawn_app().await;
    let pgbouncer = Pgbouncer::start();
    let pooled_url = pgbouncer.url_of(app.database_url());
    let server = [("DATABASE_URL", pooled_url.as_str()), ("DATABASE_SESSION_URL", app.database_url())];
    mixed_load(&app, &server, Duration::from_secs(15)).await;

    let (_, database) = app.database_url().rsplit_once('/').unwrap();
    let (transactions, queries) = pooled(&pgbouncer, database);
    assert!(
        transactions > 1000 && queries >= transactions,
        "through pgbouncer: {transactions} transactions, {queries} queries"
    );
    // A session pgbouncer opens has the request pool's settings, though none was sent.
    let through = sea_orm::Database::connect(&pooled_url).await.unwrap();
    let show = |name: &str| Statement::from_string(DbBackend::Postgres, format!("SHOW {name}"));
    for (name, value) in [("statement_timeout", "9s"), ("plan_cache_mode", "force_generic_plan"), ("jit", "off")] {
        let row = through.query_one_raw(show(name)).await.unwrap().unwrap();
        assert_eq!(row.try_get_by_index::<String>(0).unwrap(), value, "{name}");
    }
}

/// A large import through pgbouncer in transaction mode: its `COPY`s run inside the
/// call's transaction, on the one server session pgbouncer lends it, and store what
/// they should; re-sent, every row is unchanged.
#[tokio::test]
#[ignore = "PostgreSQL only: pgbouncer pools PostgreSQL connections (ACCORD_TEST_DATABASE_URL)"]
async fn a_large_import_copies_its_rows_through_pgbouncer_in_transaction_mode() {
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let pgbouncer = Pgbouncer::start();
    let pooled_url = pgbouncer.url_of(app.database_url());
    let settings = [("DATABASE_URL", pooled_url.as_str()), ("DATABASE_SESSION_URL", app.database_url())];
    let server = Replica::start_with(app.database_url(), false, &settings);
    let import = "mutation($input: ImportLeadsInput!) { importLeads(input: $input) { created unchanged errors } }";
    let rows: Vec<serde_json::Value> = (0..150)
        .map(|i| serde_json::json!({ "email": format!("pooled{i}@c.io"), "lastName": format!("R{i}") }))
        .collect();
    let input = serde_json::json!({ "input": { "rows": rows } });
    let audit = app.count_audit_rows(&org).await;
    let body = server.gql(Some(&org.admin.token), import, input.clone()).await;
    assert_eq!(
        body["data"]["importLeads"],
        serde_json::json!({ "created": 150, "unchanged": 0, "errors": 0 }),
        "{body}"
    );
    let again = server.gql(Some(&org.admin.token), import, input).await;
    assert_eq!(
        again["data"]["importLeads"],
        serde_json::json!({ "created": 0, "unchanged": 150, "errors": 0 }),
        "{again}"
    );
    let history = "{ leads(first: 100) { totalCount nodes { stageHistory { to } } } }";
    let leads = app.gql(Some(&org.admin.token), history, serde_json::json!({})).await;
    assert_eq!(leads["data"]["leads"]["totalCount"], 150, "{leads}");
    let nodes = leads["data"]["leads"]["nodes"].as_array().unwrap();
    assert!(nodes.iter().all(|n| n["stageHistory"] == serde_json::json!([{ "to": "NEW" }])), "{leads}");
    assert_eq!(app.count_audit_rows(&org).await, audit + 150, "one audit row per lead");
}
