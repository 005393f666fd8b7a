//! The outbox relay: every committed event reaches the consumers once, per
//! organization in order, with its progress kept, whatever the number of relays
//! running; a consumer's failure relays nothing of that organization; pruning keeps
//! what is not relayed yet.

use std::collections::HashMap;
use std::sync::Mutex;

use api::events::relay;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

/// What the test consumer saw, per event, and the organization it is told to fail for.
static SEEN: Mutex<Vec<(Uuid, Uuid)>> = Mutex::new(Vec::new());
static FAIL_FOR: Mutex<Option<Uuid>> = Mutex::new(None);

fn record<'a>(
    _txn: &'a sea_orm::DatabaseTransaction,
    events: &'a [entity::outbox_event::Model],
) -> futures_util::future::BoxFuture<'a, api::error::Result<()>> {
    Box::pin(async move {
        if events.iter().any(|e| Some(e.org_id) == *FAIL_FOR.lock().unwrap()) {
            return Err(api::error::ApiError::internal("the test consumer refuses this organization"));
        }
        SEEN.lock().unwrap().extend(events.iter().map(|e| (e.org_id, e.id)));
        Ok(())
    })
}

inventory::submit! { relay::OutboxConsumer { name: "test", consume: record } }

fn seen(org: Uuid) -> Vec<Uuid> {
    SEEN.lock().unwrap().iter().filter(|(o, _)| *o == org).map(|(_, id)| *id).collect()
}

async fn events(app: &TestApp, org: Uuid) -> Vec<entity::outbox_event::Model> {
    entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::OrgId.eq(org))
        .order_by_asc(entity::outbox_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

/// `n` changes that each write an outbox event (`campaign.created`).
async fn changes(app: &TestApp, org: &TestOrg, n: usize) {
    let create = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }";
    for _ in 0..n {
        let input = json!({ "input": { "name": format!("Campaign {}", Uuid::now_v7().simple()), "channel": "WEBINAR",
            "startsOn": "2026-11-01", "endsOn": "2026-11-30", "budgetMinor": 100, "currency": "EUR" } });
        let body = app.gql(Some(&org.admin.token), create, input).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

#[tokio::test]
async fn every_event_is_relayed_once_in_order_with_its_progress_kept() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    changes(&app, &org, 3).await;
    let waiting = events(&app, org.id).await;
    assert!(waiting.len() >= 3 && waiting.iter().all(|e| e.relayed_at.is_none()));
    let mut live = relay::subscribe();

    relay::relay_org(&app.db, org.id).await.unwrap();
    let ids: Vec<Uuid> = waiting.iter().map(|e| e.id).collect();
    assert_eq!(seen(org.id), ids);
    let stored = events(&app, org.id).await;
    assert!(stored.iter().all(|e| e.relayed_at.is_some()));
    let cursor = entity::outbox_cursor::Entity::find_by_id(org.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!((cursor.last_event_id, cursor.relayed), (ids.last().copied(), ids.len() as i64));
    // Live listeners hear the same events, in the same order, after the commit.
    let mut heard = Vec::new();
    while heard.len() < ids.len() {
        let event = live.recv().await.unwrap();
        if event.org_id == org.id {
            assert!(event.relayed_at.is_some());
            heard.push(event.id);
        }
    }
    assert_eq!(heard, ids);

    // Nothing twice: a second pass finds nothing; a new change is relayed on its own.
    assert_eq!(relay::relay_org(&app.db, org.id).await.unwrap(), 0);
    changes(&app, &org, 1).await;
    let added = relay::relay_org(&app.db, org.id).await.unwrap();
    assert!(added >= 1);
    let all: Vec<Uuid> = events(&app, org.id).await.iter().map(|e| e.id).collect();
    assert_eq!(seen(org.id), all);
    let cursor = entity::outbox_cursor::Entity::find_by_id(org.id).one(&app.db).await.unwrap().unwrap();
    assert_eq!(cursor.relayed, all.len() as i64);
}

#[tokio::test]
async fn relays_running_side_by_side_relay_each_event_once() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    changes(&app, &org, 5).await;
    let expected: Vec<Uuid> = events(&app, org.id).await.iter().map(|e| e.id).collect();
    let (a, b, c) =
        tokio::join!(relay::relay_all(&app.db), relay::relay_all(&app.db), relay::relay_org(&app.db, org.id));
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert!(a + b + c >= expected.len(), "{a} + {b} + {c}");
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for id in seen(org.id) {
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(seen(org.id), expected, "in id order");
}

#[tokio::test]
async fn a_failing_consumer_relays_nothing_of_its_organization_and_holds_up_no_other() {
    let app = spawn_app().await;
    let (failing, healthy) = (app.create_org("Acme").await, app.create_org("Umbrella").await);
    changes(&app, &failing, 2).await;
    changes(&app, &healthy, 2).await;
    *FAIL_FOR.lock().unwrap() = Some(failing.id);
    relay::relay_all(&app.db).await.unwrap();
    *FAIL_FOR.lock().unwrap() = None;
    assert!(seen(failing.id).is_empty());
    assert!(events(&app, failing.id).await.iter().all(|e| e.relayed_at.is_none()), "rolled back");
    assert_eq!(seen(healthy.id).len(), events(&app, healthy.id).await.len());
    // The next pass relays what was held back, once.
    relay::relay_org(&app.db, failing.id).await.unwrap();
    let ids: Vec<Uuid> = events(&app, failing.id).await.iter().map(|e| e.id).collect();
    assert_eq!(seen(failing.id), ids);
}

/// An event written earlier but committed later is relayed at the next pass, never
/// skipped because a newer one went first.
#[tokio::test]
#[ignore = "PostgreSQL only: runs with ACCORD_TEST_DATABASE_URL and -- --include-ignored"]
async fn an_event_committed_late_is_relayed_late_not_lost() {
    use sea_orm::TransactionTrait;
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    relay::relay_org(&app.db, org.id).await.unwrap();
    let slow = app.db.begin().await.unwrap();
    let actor = api::auth::Actor::system(org.id);
    api::events::outbox::publish(&slow, &actor, "test.slow", "test", None, json!({})).await.unwrap();
    changes(&app, &org, 1).await;
    relay::relay_org(&app.db, org.id).await.unwrap();
    let before = seen(org.id).len();
    slow.commit().await.unwrap();
    relay::relay_org(&app.db, org.id).await.unwrap();
    let all = events(&app, org.id).await;
    let slow_event = all.iter().find(|e| e.kind == "test.slow").unwrap();
    // The slow event has the older id, yet is relayed after the newer one, once.
    assert!(all.iter().any(|e| e.id > slow_event.id));
    assert_eq!(seen(org.id).len(), before + 1);
    assert_eq!(seen(org.id).last(), Some(&slow_event.id));
    assert!(all.iter().all(|e| e.relayed_at.is_some()));
}

#[tokio::test]
async fn pruning_deletes_only_events_relayed_before_the_cut() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    changes(&app, &org, 2).await;
    relay::relay_org(&app.db, org.id).await.unwrap();
    changes(&app, &org, 1).await;
    let count = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            entity::outbox_event::Entity::find()
                .filter(entity::outbox_event::Column::OrgId.eq(org.id))
                .count(&db)
                .await
                .unwrap()
        }
    };
    let total = count(&app).await;
    let waiting = events(&app, org.id).await.iter().filter(|e| e.relayed_at.is_none()).count() as u64;
    assert!(waiting >= 1);
    // Relayed a moment ago: kept by a cut an hour back, deleted by a cut in the future.
    assert_eq!(relay::prune(&app.db, chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap(), 0);
    assert_eq!(count(&app).await, total);
    relay::prune(&app.db, chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
    assert_eq!(count(&app).await, waiting, "what waits is kept");
}

#[tokio::test]
async fn lead_moves_and_owner_changes_are_published_for_partners() {
    use entity::{Role, Team};
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let create = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let body = app.gql(Some(&marketer.token), create, json!({ "input": { "email": "ana@payly.io" } })).await;
    let lead = body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let lead_id: Uuid = lead.parse().unwrap();
    let moved = "mutation($input: MoveLeadStageInput!) { moveLeadStage(input: $input) { lead { lifecycleStage } } }";
    let body = app.gql(Some(&marketer.token), moved, json!({ "input": { "leadId": lead, "to": "MQL" } })).await;
    assert!(body["errors"].is_null(), "{body}");
    let update = "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }";
    let input = json!({ "input": { "id": lead, "marketingOwnerId": marketer.id } });
    let body = app.gql(Some(&marketer.token), update, input).await;
    assert!(body["errors"].is_null(), "{body}");
    // A change that leaves the owners alone publishes no owner event.
    let body = app.gql(Some(&marketer.token), update, json!({ "input": { "id": lead, "title": "CFO" } })).await;
    assert!(body["errors"].is_null(), "{body}");

    let published: Vec<_> = events(&app, org.id).await.into_iter().filter(|e| e.entity_id == Some(lead_id)).collect();
    let kinds: Vec<&str> = published.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["lead.stageChanged", "lead.ownerChanged"], "{published:?}");
    let stage = &published[0].payload;
    assert_eq!((&stage["from"], &stage["to"]), (&json!("NEW"), &json!("MQL")));
    assert_eq!(stage["actor"]["id"], json!(marketer.id));
    let owner = &published[1].payload;
    assert_eq!(owner["marketingOwnerId"], json!({ "from": null, "to": marketer.id }));
    // Another organization's outbox holds none of it.
    let other = app.create_org("Umbrella").await;
    assert!(events(&app, other.id).await.iter().all(|e| e.entity_id != Some(lead_id)));
}

/// Marking a batch relayed reads the organization's waiting events, not every event it
/// keeps: under the pool's generic plans, before the table's statistics caught up, the
/// statement once walked all of them and compared each with the whole batch (400 ms a
/// batch at 27,000 events kept).
#[tokio::test]
#[ignore = "PostgreSQL only: runs with ACCORD_TEST_DATABASE_URL and -- --include-ignored"]
async fn marking_a_batch_relayed_reads_only_the_waiting_events() {
    use sea_orm::{ConnectionTrait, QueryTrait, TransactionTrait};
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Kept events").await;
    let insert = |count: u32, relayed: &str| {
        format!(
            "INSERT INTO outbox_events (id, org_id, kind, entity, entity_id, payload, at, relayed_at) \
             SELECT gen_random_uuid(), '{}', 'test.kept', 'test', NULL, '{{}}', now(), {relayed} \
             FROM generate_series(1, {count})",
            org.id
        )
    };
    // As in a new deployment: the table grew since its statistics were last gathered
    // (this test's own database, so autovacuum's ANALYZE is held off).
    app.db.execute_unprepared("ALTER TABLE outbox_events SET (autovacuum_enabled = false)").await.unwrap();
    app.db.execute_unprepared(&insert(20_000, "now()")).await.unwrap();
    app.db.execute_unprepared(&insert(500, "NULL")).await.unwrap();
    let waiting: Vec<Uuid> =
        events(&app, org.id).await.into_iter().filter(|e| e.relayed_at.is_none()).map(|e| e.id).collect();
    assert_eq!(waiting.len(), 500);
    let now = chrono::Utc::now();
    let statement = relay::mark_relayed(org.id, waiting.iter().copied(), now).build(sea_orm::DbBackend::Postgres);
    // The statement's parameters in order: the time, the organization, the batch.
    let literals: Vec<String> = [now.to_rfc3339(), org.id.to_string()]
        .into_iter()
        .chain(waiting.iter().map(Uuid::to_string))
        .map(|value| format!("'{value}'"))
        .collect();
    assert_eq!(literals.len(), statement.values.map_or(0, |v| v.0.len()));
    let txn = app.db.begin().await.unwrap();
    txn.execute_unprepared("SET LOCAL plan_cache_mode = force_generic_plan").await.unwrap();
    let name = format!("mark_{}", Uuid::new_v4().simple());
    txn.execute_unprepared(&format!("PREPARE {name} AS {}", statement.sql)).await.unwrap();
    let explain = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        format!("EXPLAIN EXECUTE {name}({})", literals.join(", ")),
    );
    let plan: Vec<String> = txn
        .query_all_raw(explain)
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).unwrap())
        .collect();
    txn.execute_unprepared(&format!("DEALLOCATE {name}")).await.unwrap();
    txn.rollback().await.unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains("ix_outbox_events_unrelayed") || plan.contains("outbox_events_pkey"),
        "marking a batch relayed should read the waiting events or the batch's ids:\n{plan}"
    );
}
