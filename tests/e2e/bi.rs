//! SQL access for BI tools (PostgreSQL only): the `bi` views and the login that
//! `accord bi-role` prints, proven by connecting as that login.

use std::process::Command;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";

/// Drops the cluster-wide role when the test ends, pass or fail (after the test's
/// database, which holds the role's grants, is gone: declare it before the app).
struct DropRole {
    admin_url: String,
    role: String,
}

impl Drop for DropRole {
    fn drop(&mut self) {
        let (url, role) = (self.admin_url.clone(), self.role.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                if let Ok(admin) = sea_orm::Database::connect(&url).await {
                    let _ = admin.execute_unprepared(&format!("DROP ROLE IF EXISTS \"{role}\"")).await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// `postgres://[user[:password]@]host/db[?query]` with another database and, when
/// given, other credentials.
fn url_for(admin_url: &str, credentials: Option<(&str, &str)>, database: &str) -> String {
    let rest = admin_url.split_once("://").map(|(_, rest)| rest).unwrap_or(admin_url);
    let (userinfo, host_and_path) = match rest.split_once('@') {
        Some((userinfo, host)) => (Some(userinfo.to_owned()), host),
        None => (None, rest),
    };
    let (host, query) = match host_and_path.split_once('/') {
        Some((host, path)) => (host, path.split_once('?').map(|(_, q)| q)),
        None => (host_and_path, None),
    };
    let userinfo = match credentials {
        Some((user, password)) => format!("{user}:{password}@"),
        None => userinfo.map(|u| format!("{u}@")).unwrap_or_default(),
    };
    let base = format!("postgres://{userinfo}{host}/{database}");
    match query {
        Some(query) => format!("{base}?{query}"),
        None => base,
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Result<i64, sea_orm::DbErr> {
    let row = db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql)).await?.expect("a row");
    row.try_get_by_index::<i64>(0)
}

/// Print `accord bi-role` for `role` (with `--pii` when asked), run it as the database
/// owner and connect as the new login.
async fn login(app: &TestApp, admin_url: &str, role: &str, slug: &str, pii: bool) -> DatabaseConnection {
    let row = app
        .db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT current_database() AS name"))
        .await
        .unwrap()
        .unwrap();
    let database: String = row.try_get("", "name").unwrap();
    let mut args = vec!["bi-role", "--name", role, "--org", slug];
    if pii {
        args.push("--pii");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_accord"))
        .env("DATABASE_URL", url_for(admin_url, None, &database))
        // Printing SQL signs nothing: no JWT secret is needed, even on PostgreSQL.
        .env_remove("ACCORD_JWT_SECRET")
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let sql = String::from_utf8(output.stdout).unwrap();
    app.db.execute_unprepared(&sql).await.expect("the printed SQL runs");
    let password = sql.split("PASSWORD '").nth(1).and_then(|rest| rest.split('\'').next()).expect("a password");
    let mut options = sea_orm::ConnectOptions::new(url_for(admin_url, Some((role, password)), &database));
    options.max_connections(1).connect_timeout(Duration::from_secs(5)).sqlx_logging(false);
    sea_orm::Database::connect(options).await.expect("the BI login connects")
}

#[tokio::test]
#[ignore = "PostgreSQL only: runs with ACCORD_TEST_DATABASE_URL and -- --include-ignored"]
async fn a_bi_role_reads_its_organizations_views_and_nothing_else() {
    require_postgres();
    let admin_url = std::env::var("ACCORD_TEST_DATABASE_URL").unwrap_or_default();
    let roles: Vec<String> = (0..3).map(|_| format!("accord_bi_test_{}", Uuid::now_v7().simple())).collect();
    let _drop_roles: Vec<DropRole> =
        roles.iter().map(|role| DropRole { admin_url: admin_url.clone(), role: role.clone() }).collect();
    let app = spawn_app().await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    for (org, email) in [(&a, "ana@acme.io"), (&a, "bo@acme.io"), (&b, "cy@globex.io")] {
        let body = app.gql(Some(&org.admin.token), CREATE_LEAD, json!({ "input": { "email": email } })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let bi = login(&app, &admin_url, &roles[0], &a.slug, false).await;

    // Its organization's rows, and none of another's.
    let schema = format!("bi_{}", a.slug.replace('-', "_"));
    assert_eq!(scalar(&bi, &format!("SELECT count(*) FROM {schema}.leads")).await.unwrap(), 2);
    let others = format!("SELECT count(*) FROM {schema}.leads WHERE org_id <> '{}'", a.id);
    assert_eq!(scalar(&bi, &others).await.unwrap(), 0);
    let days = format!("SELECT coalesce(sum(leads_created), 0)::bigint FROM {schema}.kpi_daily");
    assert_eq!(scalar(&bi, &days).await.unwrap(), 2);
    for view in
        ["stage_transitions", "handovers", "opportunities", "activities", "content_usage", "feedback", "campaigns"]
    {
        scalar(&bi, &format!("SELECT count(*) FROM {schema}.{view}")).await.expect(view);
    }
    // Personal columns are left out without `--pii`.
    let email = format!("SELECT count(email) FROM {schema}.leads");
    let err = scalar(&bi, &email).await.expect_err("no e-mail column");
    assert!(err.to_string().contains("does not exist"), "{err}");

    // Base tables and the shared `bi` schema are out of reach.
    for denied in ["SELECT count(*) FROM leads", "SELECT count(*) FROM public.leads", "SELECT count(*) FROM bi.leads"] {
        let err = scalar(&bi, denied).await.expect_err(denied);
        assert!(err.to_string().contains("permission denied"), "{denied}: {err}");
    }

    // A login made with `--pii` reads the e-mail addresses, of its organization only,
    // in a schema of its own that the first login cannot read.
    let pii = login(&app, &admin_url, &roles[1], &a.slug, true).await;
    let emails = format!("SELECT count(*) FROM {schema}_pii.leads WHERE email LIKE '%@acme.io'");
    assert_eq!(scalar(&pii, &emails).await.unwrap(), 2);
    let err = scalar(&bi, &emails).await.expect_err("the first login has no PII");
    assert!(err.to_string().contains("permission denied"), "{err}");

    // Another login of the same schema remakes its views: the first login keeps them.
    let third = login(&app, &admin_url, &roles[2], &a.slug, false).await;
    assert_eq!(scalar(&third, &format!("SELECT count(*) FROM {schema}.leads")).await.unwrap(), 2);
    assert_eq!(scalar(&bi, &format!("SELECT count(*) FROM {schema}.leads")).await.unwrap(), 2);
    for db in [bi, pii, third] {
        db.close().await.ok();
    }
}

#[test]
fn bi_role_refuses_a_role_name_that_is_not_a_plain_identifier() {
    let output = Command::new(env!("CARGO_BIN_EXE_accord"))
        .env_remove("DATABASE_URL")
        .args(["bi-role", "--name", "bi\"; DROP TABLE leads; --", "--org", "acme"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn urls_are_rebuilt_for_another_user_and_database() {
    let admin = "postgres://postgres@127.0.0.1:5432/postgres";
    assert_eq!(url_for(admin, Some(("r", "p")), "d"), "postgres://r:p@127.0.0.1:5432/d");
    assert_eq!(url_for(admin, None, "d"), "postgres://postgres@127.0.0.1:5432/d");
    assert_eq!(
        url_for("postgres://u:x@h/p?sslmode=disable", Some(("r", "p")), "d"),
        "postgres://r:p@h/d?sslmode=disable"
    );
}
