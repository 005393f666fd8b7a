//! Seeded data: the demo organization and synthetic data sets at scale.

use std::collections::HashMap;

use api::seed::synthetic;
use entity::{LifecycleStage, SalesStrategy};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

use crate::common::*;

const FUNNEL_PAGE: &str = "query($f: LeadFilter) { leads(first: 50, filter: $f) { totalCount nodes { email lifecycleStage account { name } stageHistory { to } } } }";

async fn count<E: EntityTrait>(app: &TestApp, org: Uuid, column: E::Column) -> u64
where
    E::Model: Sync,
{
    E::find().filter(column.eq(org)).count(&app.db).await.unwrap()
}

#[tokio::test]
async fn a_synthetic_data_set_has_consistent_histories_and_serves_the_leads_query() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;

    api::kpi::rollup::refresh_all(&app.db).await.unwrap();
    assert_eq!(rollup_rows(&app, "kpi_rollup_states", org.id).await, 1);

    let summary = synthetic::generate(&app.db, org.id, 200, &indicatif::ProgressBar::hidden()).await.unwrap();

    // Generated rows mark no days dirty; the rollup is discarded, for the worker to rebuild.
    assert_eq!(rollup_rows(&app, "kpi_dirty_marks", org.id).await, 0);
    assert_eq!(rollup_rows(&app, "kpi_rollup_states", org.id).await, 0);

    let c = &summary.counts;
    assert_eq!((c.leads, c.accounts), (200, 40));
    assert!(c.transitions >= 200 && c.events > 0 && c.activities > 0 && c.opportunities > 0, "{c:?}");
    assert_eq!(count::<entity::lead::Entity>(&app, org.id, entity::lead::Column::OrgId).await, 200);
    assert_eq!(count::<entity::account::Entity>(&app, org.id, entity::account::Column::OrgId).await, 40);
    assert_eq!(
        count::<entity::lead_stage_transition::Entity>(&app, org.id, entity::lead_stage_transition::Column::OrgId)
            .await,
        c.transitions
    );
    assert_eq!(
        count::<entity::engagement_event::Entity>(&app, org.id, entity::engagement_event::Column::OrgId).await,
        c.events
    );
    assert_eq!(count::<entity::activity::Entity>(&app, org.id, entity::activity::Column::OrgId).await, c.activities);
    assert_eq!(
        count::<entity::opportunity::Entity>(&app, org.id, entity::opportunity::Column::OrgId).await,
        c.opportunities
    );

    // Every lead's history ends where the lead is, when it got there.
    let leads = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(org.id)).all(&app.db).await.unwrap();
    let transitions = entity::lead_stage_transition::Entity::find()
        .filter(entity::lead_stage_transition::Column::OrgId.eq(org.id))
        .order_by_asc(entity::lead_stage_transition::Column::At)
        .all(&app.db)
        .await
        .unwrap();
    let mut last = HashMap::new();
    for t in &transitions {
        last.insert(t.lead_id, (t.to_stage, t.at));
    }
    for lead in &leads {
        assert_eq!(last.get(&lead.id), Some(&(lead.lifecycle_stage, lead.stage_entered_at)), "{}", lead.email);
    }

    // The API serves the data set.
    let customers = leads.iter().filter(|l| l.lifecycle_stage == LifecycleStage::Customer).count();
    let body = app.gql(Some(&org.admin.token), FUNNEL_PAGE, json!({ "f": { "lifecycleStages": ["CUSTOMER"] } })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["leads"]["totalCount"], customers);
    let nodes = body["data"]["leads"]["nodes"].as_array().unwrap();
    assert!(customers > 0 && nodes.len() == customers.min(50), "{customers} customers: {body}");
    for node in nodes {
        assert_eq!(node["lifecycleStage"], "CUSTOMER");
        assert!(node["account"]["name"].is_string(), "{node}");
        let history = node["stageHistory"].as_array().unwrap();
        assert_eq!(history.last().unwrap()["to"], "CUSTOMER", "{node}");
    }

    // A second run adds to the first without clashing on e-mails, domains or ids.
    let again = synthetic::generate(&app.db, org.id, 30, &indicatif::ProgressBar::hidden()).await.unwrap();
    assert_ne!(again.token, summary.token);
    assert_eq!(count::<entity::lead::Entity>(&app, org.id, entity::lead::Column::OrgId).await, 230);

    // The triggers are back after the load: archiving a lead marks its days.
    let mut lead: entity::lead::ActiveModel = leads[0].clone().into();
    lead.archived_at = sea_orm::Set(Some(chrono::Utc::now()));
    sea_orm::ActiveModelTrait::update(lead, &app.db).await.unwrap();
    assert!(rollup_rows(&app, "kpi_dirty_marks", org.id).await > 0);
}

async fn rollup_rows(app: &TestApp, table: &str, org: Uuid) -> i64 {
    use sea_orm::ConnectionTrait;
    let mut sql = api::db::sql::Sql::new();
    sql.push_composed(format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = ")).bind(org);
    let row = app.db.query_one_raw(sql.build(app.db.get_database_backend())).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test]
async fn the_demo_seed_shows_every_lifecycle_stage_and_all_four_strategies() {
    use sea_orm::Iterable;
    let app = spawn_app().await;

    let admin = api::seed::demo(&app.db).await.unwrap().expect("a new demo organization");
    assert!(api::seed::demo(&app.db).await.unwrap().is_none(), "seeding twice creates nothing");

    let leads =
        entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(admin.org_id)).all(&app.db).await.unwrap();
    assert_eq!(leads.len(), api::seed::DEMO_LEADS);
    for stage in LifecycleStage::iter() {
        assert!(leads.iter().any(|l| l.lifecycle_stage == stage), "no demo lead in {stage:?}");
    }
    let deals = entity::opportunity::Entity::find()
        .filter(entity::opportunity::Column::OrgId.eq(admin.org_id))
        .all(&app.db)
        .await
        .unwrap();
    for strategy in SalesStrategy::iter() {
        assert!(deals.iter().any(|d| d.strategy == strategy), "no demo deal with {strategy:?}");
    }
    for stage in entity::OpportunityStage::iter() {
        assert!(deals.iter().any(|d| d.stage == stage), "no demo deal in {stage:?}");
    }
    let (token, _) = app.keys.issue(admin.id, admin.org_id, admin.role, std::time::Duration::from_secs(60)).unwrap();
    let body = app.gql(Some(&token), FUNNEL_PAGE, json!({ "f": { "lifecycleStages": ["MQL"] } })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["leads"]["totalCount"].as_u64().unwrap() > 0, "{body}");

    // Handovers in every state, one of them overdue.
    let handovers = entity::handover::Entity::find()
        .filter(entity::handover::Column::OrgId.eq(admin.org_id))
        .all(&app.db)
        .await
        .unwrap();
    for status in entity::HandoverStatus::iter() {
        assert!(handovers.iter().any(|h| h.status == status), "no demo handover {status:?}");
    }
    assert!(handovers.iter().any(|h| h.overdue && h.status == entity::HandoverStatus::Pending));
    // Every MQL meets the agreed definition: at or above the model's threshold of 60.
    let mqls: Vec<Uuid> = leads.iter().filter(|l| l.lifecycle_stage == LifecycleStage::Mql).map(|l| l.id).collect();
    assert!(mqls.len() >= 5, "{} MQLs", mqls.len());
    let scores = entity::lead_score::Entity::find()
        .filter(entity::lead_score::Column::LeadId.is_in(mqls.clone()))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(scores.len(), mqls.len());
    assert!(scores.iter().all(|s| s.score >= 60.0 && s.scored_at.is_some()), "an MQL below 60");
    // A handover behind every acceptance: each move into SAL answered one.
    let into_sal = entity::lead_stage_transition::Entity::find()
        .filter(entity::lead_stage_transition::Column::OrgId.eq(admin.org_id))
        .filter(entity::lead_stage_transition::Column::ToStage.eq(entity::LifecycleStage::Sal))
        .count(&app.db)
        .await
        .unwrap();
    let accepted = handovers.iter().filter(|h| h.status == entity::HandoverStatus::Accepted).count() as u64;
    assert!(into_sal > 10, "{into_sal}");
    assert_eq!(accepted, into_sal);

    // Personas by the real matcher: every CFO has the agreed persona whose keyword is "CFO".
    let body = app.gql(Some(&token), "{ personas(filter: { status: AGREED }) { id title } }", json!({})).await;
    let frank = body["data"]["personas"].as_array().unwrap().iter().find(|p| p["title"] == "Finance Frank").cloned();
    let frank: Uuid = frank.expect("Finance Frank is agreed")["id"].as_str().unwrap().parse().unwrap();
    let cfos: Vec<_> = leads.iter().filter(|l| l.title.as_deref() == Some("CFO")).collect();
    assert!(!cfos.is_empty(), "the demo has CFOs");
    for lead in &cfos {
        assert_eq!((lead.persona_id, lead.persona_keyword.as_deref()), (Some(frank), Some("CFO")), "{}", lead.email);
        assert!(!lead.persona_manual);
    }
    let cfo = cfos[0].id.to_string();
    let q = "query($id: ID!) { contentRecommendation(leadId: $id) { basis assets { id } } lead(id: $id) { personaMatch { keyword } } }";
    let body = app.gql(Some(&token), q, json!({ "id": cfo })).await;
    assert_eq!(body["data"]["lead"]["personaMatch"]["keyword"], "CFO", "{body}");
    assert_eq!(body["data"]["contentRecommendation"]["basis"], "PERSONA_AND_STAGE", "{body}");

    // A content library across personas and stages, with gaps.
    let assets = entity::content_asset::Entity::find()
        .filter(entity::content_asset::Column::OrgId.eq(admin.org_id))
        .count(&app.db)
        .await
        .unwrap();
    assert!(assets >= 20, "{assets} demo assets");
}
