//! The `accord` binary: configuration errors, `schema`, `org create` and `token`.

use std::process::Command;

fn accord() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_accord"));
    for var in ["DATABASE_URL", "ACCORD_BIND", "ACCORD_JWT_SECRET", "ACCORD_JWT_PUBLIC_KEY", "ACCORD_CORS_ORIGINS"] {
        command.env_remove(var);
    }
    command
}

/// A fresh SQLite database in a directory of its own, with the organization "Acme
/// Revenue" created by `accord org create`: (directory, URL, the organization's id).
fn database_with_an_org(name: &str) -> (std::path::PathBuf, String, uuid::Uuid) {
    let dir = std::env::temp_dir().join(format!("accord-{name}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/accord.db?mode=rwc", dir.display());
    let output = accord()
        .env("DATABASE_URL", &url)
        .args(["org", "create", "--name", "Acme Revenue", "--admin-email", "ops@acme.test"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let org = String::from_utf8(output.stdout).unwrap().trim().parse().expect("org create prints the id");
    (dir, url, org)
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_and_exit_code_2() {
    for (var, value) in [
        ("ACCORD_BIND", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/accord"),
        ("ACCORD_CORS_ORIGINS", "ftp://example.com"),
        ("ACCORD_REQUEST_TIMEOUT_SECS", "0"),
    ] {
        let output = accord().env(var, value).arg("serve").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[test]
fn postgres_without_a_jwt_secret_is_refused() {
    let output = accord().env("DATABASE_URL", "postgres://localhost/accord").arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ACCORD_JWT_SECRET"));
}

#[test]
fn help_says_what_accord_is_and_lists_each_command_with_an_example() {
    let output = accord().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.starts_with("Accord: the GraphQL API of a shared revenue-team portal"), "{help}");
    for command in ["serve", "migrate", "seed", "import", "schema", "org", "outbox", "bi-role", "erase", "token"] {
        let line = help.lines().find(|l| l.trim_start().starts_with(&format!("{command} "))).unwrap_or_default();
        assert!(!line.is_empty(), "{command} is listed: {help}");
        let output = accord().args([command, "--help"]).output().unwrap();
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Example"), "{command} --help has an example: {text}");
    }
    assert!(accord().arg("--version").output().unwrap().status.success());
}

#[test]
fn commands_that_sign_nothing_need_no_jwt_secret() {
    // On PostgreSQL a secret is required to serve; migrating or printing the schema is
    // not refused for the lack of one (the database here does not exist: a connection
    // error, not a configuration error).
    let output =
        accord().env("DATABASE_URL", "postgres://127.0.0.1:1/none").args(["migrate", "status"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("ACCORD_JWT_SECRET"), "{stderr}");
}

#[test]
fn schema_prints_the_sdl() {
    let output = accord().arg("schema").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), api::sdl());
}

#[test]
fn org_create_then_token_gives_a_token_for_the_new_admin() {
    use base64::Engine;
    let (dir, url, org_id) = database_with_an_org("cli");
    let org_id = org_id.to_string();

    // The same name again is a conflict, not a second organization.
    let again = accord()
        .env("DATABASE_URL", &url)
        .args(["org", "create", "--name", "Acme Revenue", "--admin-email", "x@acme.test"])
        .output()
        .unwrap();
    assert!(!again.status.success());

    let output = accord()
        .env("DATABASE_URL", &url)
        .args(["token", "--email", "ops@acme.test", "--org", "acme-revenue", "--ttl", "5m"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["org"], org_id);
    assert_eq!(claims["role"], "ADMIN");
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 300);
    assert!(dir.join("accord.db.jwt-secret").exists(), "the generated secret is kept beside the database");
    std::fs::remove_dir_all(&dir).ok();
}

/// `name: value` from the import summary on standard output.
fn summary_value(stdout: &str, name: &str) -> u64 {
    let prefix = format!("{name}: ");
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in the summary:\n{stdout}"))
}

#[test]
fn import_streams_a_csv_lists_bad_rows_and_repeats_to_no_effect() {
    let (dir, url, _) = database_with_an_org("import");
    let file = dir.join("leads.csv");
    std::fs::write(
        &file,
        "email,externalId,first_name,LastName,title,company,domain,industry,employee_count,region,lifecycle_stage,favourite_colour\n\
         ana@payly.io,p-1,Ana,Zed,CFO,Payly,payly.io,Fintech,250,EMEA,,teal\n\
         ben@payly.io,p-2,Ben,Young,,,payly.io,,,,MQL,\n\
         cy@shopco.com,p-3,Cy,Xu,,Shopco,shopco.com,Retail,\"1,200\",NA,,\n\
         ana@payly.io,p-1,Ana,Zed,CFO,Payly,payly.io,Fintech,250,EMEA,,teal\n\
         not-an-email,p-4,Bad,Email,,,,,,,,\n\
         dee@lots.io,p-5,Dee,Lots,,Lots,lots.io,,lots,,,\n\
         eve@x.io,p-1,Eve,Dup,,,,,,,,\n\
         fay@y.io,p-6,Fay,Stage,,,,,,,hot lead,\n",
    )
    .unwrap();
    let import = |extra: &[&str]| {
        let output = accord().env("DATABASE_URL", &url).arg("import").arg(&file).args(extra).output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        (output.status.code(), stdout, String::from_utf8_lossy(&output.stderr).into_owned())
    };

    // Row errors do not fail the run: exit 0, a summary, and a report of the bad rows.
    let (code, stdout, stderr) = import(&[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let counts: Vec<u64> = ["rows", "created", "updated", "unchanged", "duplicates", "errors"]
        .iter()
        .map(|n| summary_value(&stdout, n))
        .collect();
    // The second ana@payly.io row is the same lead as the first: a duplicate.
    assert_eq!(counts, [8, 3, 0, 0, 1, 4], "{stdout}");
    assert!(stdout.contains("rows per second: "), "{stdout}");
    let report_path = dir.join("leads.csv.errors.csv");
    let report = std::fs::read_to_string(&report_path).expect("an error report beside the file");
    let lines: Vec<&str> = report.lines().collect();
    // Rows are counted from 1 without the header, as a spreadsheet shows them; `line`
    // is the file's own line (the header is line 1).
    assert_eq!(lines[0], "row,line,email,external_id,field,message");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.splitn(6, ',').collect()).collect();
    let summary: Vec<(&str, &str, &str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2], r[3], r[4])).collect();
    assert_eq!(
        summary,
        [
            ("5", "6", "not-an-email", "p-4", "email"),
            ("6", "7", "dee@lots.io", "p-5", "employee_count"),
            ("7", "8", "eve@x.io", "p-1", ""),
            ("8", "9", "fay@y.io", "p-6", "lifecycle_stage"),
        ],
        "{report}"
    );
    assert!(rows[2][5].contains("external id p-1"), "{report}");

    // The writes are the system's, in the audit log.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let actors = runtime.block_on(async {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let db = api::db::connect(&url, 1).await.unwrap();
        let rows = entity::audit_log::Entity::find()
            .filter(entity::audit_log::Column::Action.eq("lead.create"))
            .all(&db)
            .await
            .unwrap();
        db.close().await.unwrap();
        rows.into_iter().map(|r| r.actor_kind).collect::<Vec<_>>()
    });
    assert_eq!(actors, [entity::ActorKind::System; 3]);

    // Again: nothing changes; the bad rows are still bad.
    let (code, stdout, stderr) = import(
        &["--org", "acme-revenue", "--errors"]
            .into_iter()
            .chain([dir.join("again.csv").to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let counts: Vec<u64> = ["rows", "created", "updated", "unchanged", "duplicates", "errors"]
        .iter()
        .map(|n| summary_value(&stdout, n))
        .collect();
    assert_eq!(counts, [8, 0, 0, 3, 1, 4], "{stdout}");
    assert!(dir.join("again.csv").exists());

    // A dry run reports without storing.
    let (_, stdout, _) = import(&["--match-on", "external-id", "--dry-run"]);
    assert_eq!(summary_value(&stdout, "created"), 0, "{stdout}");
    assert!(stdout.contains("dry run"), "{stdout}");

    // Fatal problems exit 1, bad flags 2.
    assert_eq!(import(&["--org", "nope"]).0, Some(1));
    let missing = accord().env("DATABASE_URL", &url).args(["import", "missing.csv"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing.csv"));
    assert_eq!(import(&["--match-on", "phone"]).0, Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn outbox_prune_deletes_relayed_events_past_the_age_and_keeps_waiting_ones() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let (dir, url, org) = database_with_an_org("outbox");
    let db = api::db::connect(&url, 1).await.unwrap();
    let actor = api::auth::Actor::system(org);
    for kind in ["test.one", "test.two"] {
        api::events::outbox::publish(&db, &actor, kind, "test", None, serde_json::json!({})).await.unwrap();
    }
    api::events::relay::relay_org(&db, org).await.unwrap();
    api::events::outbox::publish(&db, &actor, "test.waiting", "test", None, serde_json::json!({})).await.unwrap();
    let (finished, waiting) = webhook_deliveries(&db, org).await;
    let prune = |age: &str| {
        let output =
            accord().env("DATABASE_URL", &url).args(["outbox", "prune", "--older-than", age]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    // Relayed a moment ago: younger than a day, older than no time at all.
    assert_eq!(prune("1d"), "0");
    assert_eq!(prune("0s"), "2");
    let left = entity::outbox_event::Entity::find().all(&db).await.unwrap();
    assert_eq!(left.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["test.waiting"]);
    assert_eq!(entity::outbox_event::Entity::find().count(&db).await.unwrap(), 1);
    // Finished webhook deliveries go with them, attempts included; a waiting one stays.
    let left: Vec<_> = entity::webhook_delivery::Entity::find().all(&db).await.unwrap();
    assert_eq!(left.iter().map(|d| d.id).collect::<Vec<_>>(), [waiting]);
    let attempts = entity::webhook_attempt::Entity::find().all(&db).await.unwrap();
    assert!(attempts.iter().all(|a| a.delivery_id != finished) && attempts.len() == 1, "{attempts:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An endpoint of `org` with a delivery finished now and one still waiting, each with
/// an attempt; returns their ids.
async fn webhook_deliveries(db: &sea_orm::DatabaseConnection, org: uuid::Uuid) -> (uuid::Uuid, uuid::Uuid) {
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let endpoint = entity::webhook_endpoint::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        org_id: Set(org),
        url: Set("https://hooks.example.com/".into()),
        description: Set(None),
        event_types: Set(serde_json::json!(["*"])),
        lead_stages: Set(serde_json::json!([])),
        secret: Set("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for status in [entity::WebhookDeliveryStatus::Succeeded, entity::WebhookDeliveryStatus::Pending] {
        let done = status != entity::WebhookDeliveryStatus::Pending;
        let delivery = entity::webhook_delivery::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            org_id: Set(org),
            endpoint_id: Set(endpoint.id),
            event_id: Set(None),
            event_type: Set("webhook.test".into()),
            entity: Set(None),
            entity_id: Set(None),
            body: Set("{}".into()),
            status: Set(status),
            attempts: Set(1),
            next_attempt_at: Set((!done).then_some(now + chrono::Duration::hours(1))),
            round_started_at: Set(now),
            round_attempts: Set(1),
            last_attempt_at: Set(Some(now)),
            last_status_code: Set(Some(if done { 200 } else { 500 })),
            last_latency_ms: Set(Some(3)),
            last_error: Set(None),
            created_at: Set(now),
            finished_at: Set(done.then_some(now)),
        }
        .insert(db)
        .await
        .unwrap();
        entity::webhook_attempt::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            org_id: Set(org),
            delivery_id: Set(delivery.id),
            number: Set(1),
            at: Set(now),
            status_code: Set(delivery.last_status_code),
            latency_ms: Set(3),
            error: Set(None),
            response: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
        ids.push(delivery.id);
    }
    (ids[0], ids[1])
}

/// Replicas starting together on a new PostgreSQL database migrate it once: one takes
/// the advisory lock and applies every migration, the others wait for it and find
/// nothing left to apply. Without the lock they raced to create the same tables.
#[tokio::test]
#[ignore = "PostgreSQL only: runs with ACCORD_TEST_DATABASE_URL and -- --include-ignored"]
async fn three_processes_migrating_a_new_database_at_once_all_succeed() {
    use migration::MigratorTrait;
    use sea_orm::ConnectionTrait;
    crate::common::require_postgres();
    let database = crate::common::EmptyDatabase::create().await;
    let started: Vec<_> = (0..3)
        .map(|_| {
            accord()
                .env("DATABASE_URL", database.url())
                .args(["migrate", "up"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in started {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let db = api::db::connect(database.url(), 1).await.unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT count(*) AS applied, count(DISTINCT version) AS distinct_versions FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let (applied, distinct): (i64, i64) =
        (row.try_get("", "applied").unwrap(), row.try_get("", "distinct_versions").unwrap());
    assert_eq!(applied, migration::Migrator::migrations().len() as i64, "every migration applied once");
    assert_eq!(distinct, applied);
    db.close().await.unwrap();
}
