//! Concurrent writes: many writers at once all land, exactly once, and wait their turn
//! (SQLite) or their row (PostgreSQL) rather than failing; a write blocked past the
//! time limit answers TIMEOUT and changes nothing; scores kept up to date event by
//! event equal the scores recomputed from every event.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use api::auth::Actor;
use api::leads::engagement::{self, LeadRef, NewEvent};
use api::scoring::score::{Engagement, Event};
use chrono::Utc;
use entity::{EngagementKind, Role, Team};
use proptest::prelude::*;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

const RECORD: &str =
    "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { duplicates events { id } } }";
const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";

/// An organization with a scoring model in force (agreed by both managers) that
/// scores web visits, e-mail opens and demo requests with different half-lives.
async fn scored_org(app: &TestApp, name: &str) -> TestOrg {
    let org = app.create_org(name).await;
    let marketing = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales = app.create_user(&org, Team::Sales, Role::Manager).await;
    let input = json!({
        "name": "Engagement", "propose": true,
        "fitRules": [{ "name": "VP title", "attribute": "LEAD_TITLE", "operator": "CONTAINS", "value": "VP", "points": 10 }],
        "engagementRules": [
            { "name": "Web visits", "kind": "WEB_VISIT", "pointsPerEvent": 1.5, "cap": 30, "halfLifeDays": 7 },
            { "name": "Opens", "kind": "EMAIL_OPEN", "pointsPerEvent": 0.7, "cap": 5, "halfLifeDays": 0.5 },
            { "name": "Demos", "kind": "DEMO_REQUEST", "pointsPerEvent": 25, "cap": 40, "halfLifeDays": 90 },
        ],
        "thresholds": { "warm": 15, "hot": 40, "mql": 1000 },
    });
    let create =
        "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }";
    let body = app.gql(Some(&marketing.token), create, json!({ "input": input })).await;
    let id = body["data"]["createScoringModel"]["scoringModel"]["id"].as_str().unwrap_or_else(|| panic!("{body}"));
    let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
    let input = json!({ "input": { "kind": "SCORING_MODEL", "id": id, "version": 1 } });
    app.gql(Some(&sales.token), approve, input.clone()).await;
    let agreed = app.gql(Some(&marketing.token), approve, input).await;
    assert_eq!(agreed["data"]["approveDocument"]["agreed"], true, "{agreed}");
    org
}

async fn create_lead(app: &TestApp, org: &TestOrg, email: &str) -> Uuid {
    let input = json!({ "input": { "email": email, "title": "VP Finance" } });
    let body = app.gql(Some(&org.admin.token), CREATE_LEAD, input).await;
    body["data"]["createLead"]["lead"]["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or_else(|| panic!("{body}"))
}

/// The lead's stored score must be what scoring every one of its events afresh gives
/// at the moment it was stored, and its stored engagement state the fold of them all.
async fn assert_score_is_recomputed_exactly(app: &TestApp, org_id: Uuid, lead_id: Uuid) {
    let stored = entity::lead_score::Entity::find_by_id(lead_id).one(&app.db).await.unwrap().expect("a score row");
    let lead = entity::lead::Entity::find_by_id(lead_id).one(&app.db).await.unwrap().expect("the lead");
    let recomputed = api::scoring::breakdowns(&app.db, org_id, std::slice::from_ref(&lead)).await.unwrap();
    let recomputed = recomputed.get(&lead_id).expect("a breakdown of a scored lead");
    assert_eq!(
        (stored.score, stored.fit_score, stored.engagement_score),
        (recomputed.total, recomputed.fit, recomputed.engagement),
        "stored score vs recomputed from every event"
    );
    let model = api::scoring::in_force(&app.db, org_id).await.unwrap().expect("a model in force");
    let events: Vec<Event> = entity::engagement_event::Entity::find()
        .filter(entity::engagement_event::Column::LeadId.eq(lead_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| Event { kind: e.kind, occurred_at: e.occurred_at })
        .collect();
    let folded = serde_json::to_value(Engagement::fold(&model.body, &events)).unwrap();
    assert_eq!(stored.engagement_state, Some(folded), "stored engagement state vs every event folded");
}

#[tokio::test]
async fn sixteen_concurrent_writers_all_land_exactly_once() {
    let app = spawn_app().await;
    let org = scored_org(&app, "Busy").await;
    let mut leads = Vec::new();
    for i in 0..20 {
        leads.push(create_lead(&app, &org, &format!("l{i}@busy.io")).await);
    }
    let hot = leads[0];
    let token = org.admin.token.clone();
    let until = Instant::now() + Duration::from_secs(3);
    let mut writers = Vec::new();
    for w in 0..16 {
        let (app, token, leads) = (app.handle(), token.clone(), leads.clone());
        writers.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut n = 0;
            while Instant::now() < until {
                // Half the writers all on one hot lead, the others spread.
                let lead = if w % 2 == 0 { hot } else { leads[(w + n) % leads.len()] };
                let external_id = format!("w{w}-{n}");
                let event = json!({ "leadId": lead, "kind": if n % 3 == 0 { "EMAIL_OPEN" } else { "WEB_VISIT" },
                    "occurredAt": Utc::now().to_rfc3339(), "externalId": external_id });
                let body = app.gql(Some(&token), RECORD, json!({ "input": { "events": [event] } })).await;
                assert!(body.get("errors").is_none(), "writer {w}, call {n}: {body}");
                assert_eq!(body["data"]["recordEngagement"]["events"].as_array().map(Vec::len), Some(1), "{body}");
                sent.push(external_id);
                n += 1;
            }
            sent
        }));
    }
    let mut sent = Vec::new();
    for writer in writers {
        sent.extend(writer.await.expect("a writer finished"));
    }
    assert!(sent.len() >= 32, "every writer got calls through: {}", sent.len());
    let stored: Vec<Option<String>> = entity::engagement_event::Entity::find()
        .filter(entity::engagement_event::Column::OrgId.eq(org.id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.external_id)
        .collect();
    assert_eq!(stored.len(), sent.len(), "one stored event per call");
    let distinct: HashSet<&str> = stored.iter().flatten().map(String::as_str).collect();
    assert_eq!(distinct, sent.iter().map(String::as_str).collect(), "each call's event, once");
    for lead in [hot, leads[1], leads[2]] {
        assert_score_is_recomputed_exactly(&app, org.id, lead).await;
    }
}

/// Another connection (on SQLite another process) holds what a write needs for longer
/// than the request may take: the write answers TIMEOUT, never INTERNAL, and changes
/// nothing; once it is let go, the same call succeeds.
#[tokio::test]
async fn a_write_blocked_past_the_time_limit_answers_timeout_and_changes_nothing() {
    let app = spawn_app_with(|c| c.request_timeout = Duration::from_secs(1)).await;
    let org = scored_org(&app, "Blocked").await;
    let lead = create_lead(&app, &org, "ana@blocked.io").await;
    let event = json!({ "input": { "events": [{ "leadId": lead, "kind": "WEB_VISIT",
        "occurredAt": Utc::now().to_rfc3339(), "externalId": "blocked-1" }] } });
    let count = || async {
        entity::engagement_event::Entity::find()
            .filter(entity::engagement_event::Column::OrgId.eq(org.id))
            .count(&app.db)
            .await
            .unwrap()
    };
    // A pool of its own, so that on SQLite its lock is not taken in this process's turns.
    let other = sea_orm::Database::connect(app.database_url()).await.unwrap();
    let holder = sea_orm::TransactionTrait::begin(&other).await.unwrap();
    if on_postgres() {
        let lock = format!("SELECT lead_id FROM lead_scores WHERE lead_id = '{lead}' FOR UPDATE");
        holder.execute_unprepared(&lock).await.unwrap();
    } else {
        // Takes SQLite's write lock, as a writer in another process would.
        holder.execute_unprepared("UPDATE organizations SET name = name").await.unwrap();
    }
    let started = Instant::now();
    let response = app.post(Some(&org.admin.token), &json!({ "query": RECORD, "variables": event })).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("TIMEOUT"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered within the time limit: {:?}", started.elapsed());
    holder.rollback().await.unwrap();
    assert_eq!(count().await, 0, "nothing was stored");
    let body = app.gql(Some(&org.admin.token), RECORD, event).await;
    assert_eq!(body["data"]["recordEngagement"]["events"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(count().await, 1);
}

/// Random histories, recorded in random batches (some in order, some going back in
/// time, several events at one moment, timestamps finer than a microsecond, up to the
/// few minutes ahead that recording allows): the score kept up to date batch by batch
/// is, to the bit, the score recomputed from every event, on both databases.
#[test]
fn engagement_scores_kept_event_by_event_equal_a_full_recompute() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (app, org) = runtime.block_on(async {
        let app = spawn_app().await;
        let org = scored_org(&app, "Folded").await;
        (app, org)
    });
    let kinds = [EngagementKind::WebVisit, EngagementKind::EmailOpen, EngagementKind::DemoRequest];
    let batch = prop::collection::vec((prop::sample::select(kinds.to_vec()), -200_000i64..240, 0..1_000u32), 1..5);
    let config = ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(batches in prop::collection::vec(batch, 1..7))| {
        runtime.block_on(async {
            let email = format!("p{}@folded.io", Uuid::now_v7().simple());
            let lead = create_lead(&app, &org, &email).await;
            let now = Utc::now();
            for batch in &batches {
                let events = batch
                    .iter()
                    .map(|(kind, minutes, nanos)| NewEvent {
                        lead: LeadRef::Id(lead),
                        kind: *kind,
                        // Never more than the few minutes ahead that recording allows.
                        occurred_at: (now
                            + chrono::Duration::minutes(*minutes)
                            + chrono::Duration::nanoseconds(i64::from(*nanos) * 1_000_003))
                        .min(Utc::now() + chrono::Duration::minutes(4)),
                        properties: None,
                        external_id: None,
                    })
                    .collect();
                engagement::record(&app.db, &Actor::system(org.id), events).await.expect("a valid batch");
            }
            assert_score_is_recomputed_exactly(&app, org.id, lead).await;
        });
    });
}
