//! The daily KPI rollup: built by the worker, read for whole-organization series of
//! additive metrics, and never stale. Every answer here is compared with the live
//! engine's answer for the same data and with figures computed by hand from the
//! dataset of `kpis.rs`.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::kpi_data::set_rollup_aside;
use crate::kpis::{Dataset, dataset};
use api::db::sql::Sql;

const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { metric groupKey \
                    points { periodStart value numerator denominator } } }";

fn rolled_up() -> Vec<&'static str> {
    api::kpi::rollup::ROLLED_UP.iter().map(|m| m.name()).collect()
}

async fn answer(d: &Dataset, granularity: &str) -> Value {
    let input = json!({ "metrics": rolled_up(), "from": "2026-01-01", "to": "2026-02-28", "granularity": granularity });
    let body = d.app.gql(Some(&d.org.admin.token), KPIS, json!({ "input": input })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["kpis"].clone()
}

/// The monthly `(value, numerator, denominator)` of `metric` in `answer`.
fn monthly(answer: &Value, metric: &str) -> Vec<(Option<f64>, Option<f64>, Option<f64>)> {
    let series = answer.as_array().unwrap().iter().find(|s| s["metric"] == metric).unwrap();
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_f64(), p["numerator"].as_f64(), p["denominator"].as_f64()))
        .collect()
}

async fn run(db: &sea_orm::DatabaseConnection, sql: &mut Sql) -> u64 {
    db.execute_raw(sql.build(db.get_database_backend())).await.unwrap().rows_affected()
}

async fn count(db: &sea_orm::DatabaseConnection, table: &str, org: Uuid) -> i64 {
    let mut sql = Sql::new();
    sql.push_composed(format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = ")).bind(org);
    let row = db.query_one_raw(sql.build(db.get_database_backend())).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

/// The answer the live engine gives: the same request with the rollup set aside.
async fn live(d: &Dataset, granularity: &str) -> Value {
    set_rollup_aside(&d.app.db, d.org.id, true).await;
    let live = answer(d, granularity).await;
    set_rollup_aside(&d.app.db, d.org.id, false).await;
    live
}

async fn assert_matches_live(d: &Dataset) -> Value {
    for granularity in ["DAY", "WEEK"] {
        assert_eq!(answer(d, granularity).await, live(d, granularity).await, "{granularity}");
    }
    let month = answer(d, "MONTH").await;
    assert_eq!(month, live(d, "MONTH").await);
    month
}

async fn lead_id(d: &Dataset, email: &str) -> Uuid {
    entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(d.org.id))
        .filter(entity::lead::Column::Email.eq(email))
        .one(&d.app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn the_rollup_answers_like_the_live_engine_and_follows_every_change() {
    let d = dataset().await;
    let db = &d.app.db;
    let before = answer(&d, "MONTH").await;
    api::kpi::rollup::refresh_all(db).await.unwrap();
    assert!(count(db, "kpi_rollups", d.org.id).await > 0);
    assert_eq!(count(db, "kpi_dirty_marks", d.org.id).await, 0, "a build takes every mark");
    assert_eq!(answer(&d, "MONTH").await, before);
    let month = assert_matches_live(&d).await;
    assert_eq!(monthly(&month, "LEADS_CREATED"), [(Some(3.0), Some(3.0), None), (Some(0.0), Some(0.0), None)]);

    // The stored days are what is read: a figure altered behind the engine's back shows.
    let mut tamper = Sql::new();
    tamper.push("UPDATE kpi_rollups SET num = num + 100 WHERE metric = 'LEADS_CREATED' AND org_id = ").bind(d.org.id);
    // Days with a lead: January 5, 6 and 20, and l5's January 10 of 2025.
    assert_eq!(run(db, &mut tamper).await, 4);
    assert_eq!(monthly(&answer(&d, "MONTH").await, "LEADS_CREATED")[0].0, Some(303.0));
    let mut undo = Sql::new();
    undo.push("UPDATE kpi_rollups SET num = num - 100 WHERE metric = 'LEADS_CREATED' AND org_id = ").bind(d.org.id);
    run(db, &mut undo).await;

    // l2 (MQL on Jan 16, then recycled) is accepted by sales on Feb 25: January's
    // MQL-to-SAL conversion changes although nothing new happened in January.
    let l2 = lead_id(&d, "l2@globex.test").await;
    entity::lead_stage_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(d.org.id),
        lead_id: Set(l2),
        from_stage: Set(Some(entity::LifecycleStage::Recycled)),
        to_stage: Set(entity::LifecycleStage::Sal),
        actor_kind: Set(entity::ActorKind::System),
        actor_id: Set(None),
        actor_name: Set("Accord".into()),
        reason: Set(None),
        at: Set("2026-02-25T10:00:00Z".parse().unwrap()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    // l3 (created Jan 20, MQL Feb 4, SAL Feb 5) is archived today.
    let l3 = lead_id(&d, "l3@globex.test").await;
    let lead = entity::lead::Entity::find_by_id(l3).one(db).await.unwrap().unwrap();
    let mut lead: entity::lead::ActiveModel = lead.into();
    lead.archived_at = Set(Some(Utc::now()));
    lead.update(db).await.unwrap();
    // A customer-facing hour on Feb 10.
    entity::activity::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(d.org.id),
        user_id: Set(d.rep.id),
        lead_id: Set(None),
        account_id: Set(None),
        opportunity_id: Set(None),
        kind: Set(entity::ActivityKind::Meeting),
        customer_facing: Set(true),
        duration_minutes: Set(60),
        occurred_at: Set("2026-02-10T09:00:00Z".parse().unwrap()),
        notes: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    assert!(count(db, "kpi_dirty_marks", d.org.id).await > 0);

    // Marked days are computed live until the worker comes round, and after it.
    for round in ["before the refresh", "after the refresh"] {
        let month = assert_matches_live(&d).await;
        assert_eq!(monthly(&month, "LEADS_CREATED"), [(Some(2.0), Some(2.0), None), (Some(0.0), Some(0.0), None)]);
        assert_eq!(monthly(&month, "MQLS"), [(Some(2.0), Some(2.0), None), (Some(0.0), Some(0.0), None)], "{round}");
        assert_eq!(monthly(&month, "SALS"), [(Some(1.0), Some(1.0), None), (Some(1.0), Some(1.0), None)], "{round}");
        assert_eq!(
            monthly(&month, "MQL_TO_SAL_RATE"),
            [(Some(1.0), Some(2.0), Some(2.0)), (None, Some(0.0), Some(0.0))],
            "{round}"
        );
        assert_eq!(
            monthly(&month, "CUSTOMER_FACING_HOURS"),
            [(Some(2.5), Some(2.5), None), (Some(1.5), Some(1.5), None)],
            "{round}"
        );
        // Rounds of three marks: a refresh goes on until every mark is taken.
        let settings = api::kpi::settings(db, d.org.id).await.unwrap();
        assert!(api::kpi::rollup::refresh_in_rounds(db, d.org.id, &settings, 3).await.unwrap());
        assert_eq!(count(db, "kpi_dirty_marks", d.org.id).await, 0);
    }
}

#[tokio::test]
async fn a_rollup_built_for_another_time_zone_is_not_read_until_rebuilt() {
    let d = dataset().await;
    let db = &d.app.db;
    api::kpi::rollup::refresh_all(db).await.unwrap();
    let settings = "{ organization { settings { handoverResponseHours feedbackActionableEndorsers \
                    feedbackActionableAccounts approvalRequiresService autoHandOverMqls timeZone reportingCurrency } } }";
    let body = d.app.gql(Some(&d.org.admin.token), settings, json!({})).await;
    let mut new_settings = body["data"]["organization"]["settings"].clone();
    new_settings["timeZone"] = json!("Pacific/Kiritimati");
    let update =
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }";
    let body = d.app.gql(Some(&d.org.admin.token), update, json!({ "input": { "settings": new_settings } })).await;
    assert!(body["errors"].is_null(), "{body}");
    // UTC+14: the last moments of a UTC day belong to the next local day. With the
    // UTC rollup still stored, answers are live, and equal after the rebuild.
    let day = answer(&d, "DAY").await;
    api::kpi::rollup::refresh_all(db).await.unwrap();
    let mut sql = Sql::new();
    sql.push("SELECT time_zone FROM kpi_rollup_states WHERE org_id = ").bind(d.org.id);
    let row = db.query_one_raw(sql.build(db.get_database_backend())).await.unwrap().unwrap();
    assert_eq!(row.try_get::<String>("", "time_zone").unwrap(), "Pacific/Kiritimati");
    assert_eq!(answer(&d, "DAY").await, day);
    assert_matches_live(&d).await;
}

#[tokio::test]
async fn each_organization_has_its_own_rollup() {
    let d = dataset().await;
    let db = &d.app.db;
    let other = d.app.create_org("Umbrella").await;
    // Two workers at once (two replicas) neither fail nor count anything twice.
    let (a, b) = tokio::join!(api::kpi::rollup::refresh_all(db), api::kpi::rollup::refresh_all(db));
    a.unwrap();
    b.unwrap();
    assert_eq!(count(db, "kpi_rollups", other.id).await, 0);
    let input =
        json!({ "metrics": ["LEADS_CREATED"], "from": "2026-01-01", "to": "2026-02-28", "granularity": "MONTH" });
    let body = d.app.gql(Some(&other.admin.token), KPIS, json!({ "input": input })).await;
    assert_eq!(monthly(&body["data"]["kpis"], "LEADS_CREATED")[0].0, Some(0.0), "{body}");
    let body = d.app.gql(Some(&d.org.admin.token), KPIS, json!({ "input": input })).await;
    assert_eq!(monthly(&body["data"]["kpis"], "LEADS_CREATED")[0].0, Some(3.0), "{body}");
    assert_eq!(count(db, "kpi_rollup_states", other.id).await, 1);
}

/// Leads imported together are counted by the rollup before the worker's refresh and
/// after it. On PostgreSQL the inserts mark once per statement: one instant for the
/// leads and one for their first transitions, however many rows, whether they were
/// inserted or (past a hundred) copied.
#[tokio::test]
async fn imported_leads_are_counted_before_and_after_the_refresh() {
    let d = dataset().await;
    let db = &d.app.db;
    api::kpi::rollup::refresh_all(db).await.unwrap();
    let today = Utc::now().date_naive();
    let input = json!({ "metrics": ["LEADS_CREATED"], "from": today - chrono::Days::new(3), "to": today + chrono::Days::new(3),
                        "granularity": "DAY" });
    let created = |body: Value| -> f64 {
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["kpis"][0]["points"].as_array().unwrap().iter().filter_map(|p| p["value"].as_f64()).sum()
    };
    let mut total = 0;
    for n in [25, 150] {
        let rows: Vec<Value> = (0..n).map(|i| json!({ "email": format!("new{n}-{i}@import.test") })).collect();
        let import = "mutation($input: ImportLeadsInput!) { importLeads(input: $input) { created } }";
        let body = d.app.gql(Some(&d.org.admin.token), import, json!({ "input": { "rows": rows } })).await;
        assert_eq!(body["data"]["importLeads"]["created"], n, "{body}");
        total += n;
        if crate::common::on_postgres() {
            assert_eq!(count(db, "kpi_dirty_marks", d.org.id).await, 2, "{n} leads");
        }
        for round in ["before the refresh", "after the refresh"] {
            let body = d.app.gql(Some(&d.org.admin.token), KPIS, json!({ "input": input })).await;
            assert_eq!(created(body), total as f64, "{n} leads, {round}");
            api::kpi::rollup::refresh_all(db).await.unwrap();
            assert_eq!(count(db, "kpi_dirty_marks", d.org.id).await, 0, "{n} leads, {round}");
        }
    }
}
