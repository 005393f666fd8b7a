//! Review meetings: sales and marketing look at a period together. Starting one
//! captures a snapshot of the numbers of the review period (the KPIs of
//! [`SNAPSHOT_METRICS`], leads entering each lifecycle stage, handover compliance,
//! hand-back reasons, top feedback themes, content usage) so the discussion stays
//! anchored to what was known then; notes and action items follow.

use chrono::{DateTime, NaiveDate, Utc};
use entity::LifecycleStage;
use entity::action_item::{self, ActionItemStatus};
use entity::review_meeting::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, can_run_review_meetings, can_update_action_item, require};
use crate::catalogue::KpiMetric;
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::handover::reports::{self, ComplianceGroup, ReasonGroup};
use crate::validate::{self, LONG, SHORT};

/// The KPIs a meeting's snapshot holds for its review period, in this order.
pub const SNAPSHOT_METRICS: &[KpiMetric] = &[
    KpiMetric::LeadsCreated,
    KpiMetric::Mqls,
    KpiMetric::Sals,
    KpiMetric::Sqls,
    KpiMetric::MqlToSalRate,
    KpiMetric::OpportunitiesCreated,
    KpiMetric::PipelineValue,
    KpiMetric::DealsWon,
    KpiMetric::DealsLost,
    KpiMetric::RevenueWon,
    KpiMetric::WinRate,
    KpiMetric::HandoverAcceptanceRate,
    KpiMetric::HandoverMedianResponseHours,
    KpiMetric::SlaComplianceRate,
    KpiMetric::CustomerFacingHours,
    KpiMetric::DistinctCustomersTouched,
    KpiMetric::ActionableFeedback,
];

/// One KPI of the review period, as stored in the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotFigure {
    /// The metric's public name, such as `MQLS`.
    pub metric: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// The reporting currency of a money figure (absent from snapshots taken before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// Leads that entered one lifecycle stage during the review period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageEntries {
    pub stage: LifecycleStage,
    pub count: i64,
}

#[derive(Debug, FromQueryResult)]
struct StageCount {
    stage: String,
    n: i64,
}

#[derive(Debug, FromQueryResult)]
struct UsageRow {
    uses: i64,
    users: i64,
    helpful: Option<i64>,
    rated: Option<i64>,
}

#[derive(Debug, FromQueryResult)]
struct TopAsset {
    asset_id: Uuid,
    title: String,
    uses: i64,
}

/// The numbers of `[from, to)` as JSON: what the meeting starts from.
pub async fn snapshot(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Value> {
    let backend = db.get_database_backend();
    let (targets, compliance) = reports::compliance(db, actor, from, to, ComplianceGroup::None).await?;
    let compliance = compliance.first().map(|c| {
        json!({
            "handovers": c.handovers, "answered": c.answered, "answeredWithinTarget": c.answered_within_target,
            "overdue": c.overdue, "medianResponseHours": c.median_response_hours,
            "p90ResponseHours": c.p90_response_hours, "accepted": c.accepted,
        })
    });
    // Entries into each stage during the period (archived leads left out), not today's totals.
    let stages = Query::select()
        .expr_as(Expr::col((Alias::new("t"), Alias::new("to_stage"))), Alias::new("stage"))
        .expr_as(Expr::col((Alias::new("t"), Alias::new("id"))).count(), Alias::new("n"))
        .from_as(entity::lead_stage_transition::Entity, Alias::new("t"))
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            entity::lead::Entity,
            Alias::new("l"),
            Expr::col((Alias::new("l"), Alias::new("id"))).equals((Alias::new("t"), Alias::new("lead_id"))),
        )
        .and_where(Expr::col((Alias::new("t"), Alias::new("org_id"))).eq(actor.org_id))
        .and_where(Expr::col((Alias::new("t"), Alias::new("at"))).gte(from))
        .and_where(Expr::col((Alias::new("t"), Alias::new("at"))).lt(to))
        .and_where(Expr::col((Alias::new("l"), Alias::new("archived_at"))).is_null())
        .group_by_col((Alias::new("t"), Alias::new("to_stage")))
        .to_owned();
    let mut stages: Vec<StageEntries> = StageCount::find_by_statement(backend.build(&stages))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            let stage = serde_json::from_value::<LifecycleStage>(json!(r.stage)).ok()?;
            Some(StageEntries { stage, count: r.n })
        })
        .collect();
    stages.sort_by_key(|e| <LifecycleStage as sea_orm::Iterable>::iter().position(|s| s == e.stage));
    let reasons = reports::hand_back_reasons(db, actor, from, to, ReasonGroup::None).await?;
    let reasons: Vec<Value> =
        reasons.iter().map(|r| json!({ "reason": r.reason, "count": r.count, "share": r.share })).collect();
    let themes = super::themes(db, actor, from, to).await?;
    let themes: Vec<Value> = themes
        .iter()
        .take(5)
        .map(|t| {
            json!({
                "subjectType": t.subject_type, "subjectId": t.subject_id, "tag": t.tag, "items": t.items.len(),
                "reporters": t.signal.reporters, "teams": t.signal.teams, "accounts": t.signal.accounts,
                "actionable": t.signal.actionable,
            })
        })
        .collect();
    let usage = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("uses"))
        .expr_as(Expr::cust("COUNT(DISTINCT user_id)"), Alias::new("users"))
        .expr_as(Expr::cust("SUM(CASE WHEN rating = 'HELPFUL' THEN 1 ELSE 0 END)"), Alias::new("helpful"))
        .expr_as(Expr::cust("SUM(CASE WHEN rating IS NULL THEN 0 ELSE 1 END)"), Alias::new("rated"))
        .from(entity::content_usage::Entity)
        .and_where(Expr::col(Alias::new("org_id")).eq(actor.org_id))
        .and_where(Expr::col(Alias::new("used_at")).gte(from))
        .and_where(Expr::col(Alias::new("used_at")).lt(to))
        .to_owned();
    let usage = UsageRow::find_by_statement(backend.build(&usage)).one(db).await?;
    let top = Query::select()
        .expr_as(Expr::col((Alias::new("u"), Alias::new("asset_id"))), Alias::new("asset_id"))
        .expr_as(Expr::col((Alias::new("a"), Alias::new("title"))), Alias::new("title"))
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("uses"))
        .from_as(entity::content_usage::Entity, Alias::new("u"))
        .join_as(
            sea_orm::sea_query::JoinType::InnerJoin,
            entity::content_asset::Entity,
            Alias::new("a"),
            Expr::col((Alias::new("a"), Alias::new("id"))).equals((Alias::new("u"), Alias::new("asset_id"))),
        )
        .and_where(Expr::col((Alias::new("u"), Alias::new("org_id"))).eq(actor.org_id))
        .and_where(Expr::col((Alias::new("u"), Alias::new("used_at"))).gte(from))
        .and_where(Expr::col((Alias::new("u"), Alias::new("used_at"))).lt(to))
        .group_by_col((Alias::new("u"), Alias::new("asset_id")))
        .group_by_col((Alias::new("a"), Alias::new("title")))
        .order_by_expr(Expr::cust("COUNT(*)"), sea_orm::Order::Desc)
        .limit(5)
        .to_owned();
    let top: Vec<Value> = TopAsset::find_by_statement(backend.build(&top))
        .all(db)
        .await?
        .into_iter()
        .map(|t| json!({ "assetId": t.asset_id, "title": t.title, "uses": t.uses }))
        .collect();
    let usage = usage.map(|u| {
        json!({ "uses": u.uses, "distinctUsers": u.users, "helpful": u.helpful.unwrap_or(0), "rated": u.rated.unwrap_or(0), "topAssets": top })
    });
    Ok(json!({
        "from": from, "to": to,
        "handoverCompliance": compliance, "responseTargetHours": targets.response_hours,
        "stageEntries": stages, "handBackReasons": reasons, "feedbackThemes": themes, "contentUsage": usage,
    }))
}

/// Start a review meeting of `[period_start, period_end]` (days, inclusive) with a
/// snapshot of the numbers. MANAGERs and ADMINs.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn start(
    db: &(impl crate::db::Transactions + ConnectionTrait),
    actor: &Actor,
    period_start: NaiveDate,
    period_end: NaiveDate,
) -> Result<Model> {
    require(can_run_review_meetings(actor), "run review meetings")?;
    if period_end < period_start {
        return Err(ApiError::bad_input("periodEnd", "must not be before `periodStart`"));
    }
    // The period's bounds are the organization's local midnights, as in every KPI.
    let tz = crate::org::settings(db, actor.org_id).await?.tz();
    let from = crate::org::local_midnight(tz, period_start);
    let to = crate::org::local_midnight(tz, period_end.succ_opt().unwrap_or(period_end));
    let mut kpi_snapshot = snapshot(db, actor, from, to).await?;
    if (period_end - period_start).num_days() <= 366 * 2 {
        let series = crate::kpi::over_days(db, actor, SNAPSHOT_METRICS, period_start, period_end).await?;
        let figures: Vec<SnapshotFigure> = series
            .iter()
            .filter_map(|s| {
                let p = s.points.first()?;
                let metric = s.metric.name().to_owned();
                let (value, numerator, denominator, currency) =
                    (p.value, p.numerator, p.denominator, s.currency.clone());
                Some(SnapshotFigure { metric, value, numerator, denominator, currency })
            })
            .collect();
        kpi_snapshot["kpis"] = serde_json::to_value(figures).map_err(ApiError::internal)?;
    }
    // The agreed SLAs and goals of the period, as the KPI engine measures them.
    if (period_end - period_start).num_days() <= 366 * 2 {
        let card = crate::kpi::progress::scorecard(db, actor, period_start, period_end).await?;
        kpi_snapshot["scorecard"] = crate::kpi::progress::scorecard_json(&card);
    }
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let meeting = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        held_on: Set(now.date_naive()),
        period_start: Set(period_start),
        period_end: Set(period_end),
        kpi_snapshot: Set(kpi_snapshot),
        notes: Set(None),
        started_by: Set(actor.user_id()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new().created("periodStart", &period_start).created("periodEnd", &period_end);
    audit::record(&txn, actor, "reviewMeeting.start", "reviewMeeting", Some(meeting.id), changes).await?;
    let payload = json!({ "periodStart": period_start, "periodEnd": period_end });
    outbox::publish(&txn, actor, "reviewMeeting.started", "reviewMeeting", Some(meeting.id), payload).await?;
    txn.commit().await?;
    Ok(meeting)
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "review meeting").await
}

/// One review meeting; another organization's is NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::KpisRead), "read review meetings")?;
    find(db, actor, id).await
}

/// Write the meeting's notes, replacing them: `None` keeps them, `Some(None)` (or
/// empty notes) clears them.
#[tracing::instrument(skip(db, actor, notes), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    notes: Option<Option<String>>,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_run_review_meetings(actor), "write up review meetings")?;
    let notes = notes.map(|n| validate::optional_text("notes", n.as_deref(), LONG * 5)).transpose()?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    let Some(notes) = notes.filter(|n| *n != current.notes) else {
        return Ok(current);
    };
    let mut model: ActiveModel = current.clone().into();
    model.notes = Set(notes.clone());
    let meeting = save_versioned(&txn, id, current.version, model).await?;
    let changes = Changes::new().field("notes", current.notes.as_ref(), notes.as_ref());
    audit::record(&txn, actor, "reviewMeeting.update", "reviewMeeting", Some(id), changes).await?;
    outbox::publish(
        &txn,
        actor,
        "reviewMeeting.updated",
        "reviewMeeting",
        Some(id),
        json!({ "version": meeting.version }),
    )
    .await?;
    txn.commit().await?;
    Ok(meeting)
}

/// A page of review meetings, newest first.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor, window: &Window<Uuid>, count: bool) -> Result<Page<Model>> {
    require(can_read(actor, Scope::KpisRead), "read review meetings")?;
    let select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

async fn check_owner(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<()> {
    entity::user::Entity::find_by_id(id)
        .filter(entity::user::Column::OrgId.eq(actor.org_id))
        .filter(entity::user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::bad_input("ownerId", "no such active user"))
}

/// Add an action item to a meeting. MANAGERs and ADMINs.
#[tracing::instrument(skip(db, actor, title), fields(org = %actor.org_id))]
pub async fn add_item(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    meeting_id: Uuid,
    title: &str,
    owner_id: Option<Uuid>,
    due_on: Option<NaiveDate>,
) -> Result<action_item::Model> {
    require(can_run_review_meetings(actor), "add action items")?;
    let title = validate::text("title", title, SHORT)?;
    let txn = crate::db::begin_write(db).await?;
    find(&txn, actor, meeting_id).await?;
    if let Some(owner) = owner_id {
        check_owner(&txn, actor, owner).await?;
    }
    let now = Utc::now();
    let item = action_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        meeting_id: Set(meeting_id),
        title: Set(title),
        owner_id: Set(owner_id),
        due_on: Set(due_on),
        status: Set(ActionItemStatus::Open),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes =
        Changes::new().created("meetingId", &meeting_id).created("title", &item.title).created("ownerId", &owner_id);
    audit::record(&txn, actor, "actionItem.create", "actionItem", Some(item.id), changes).await?;
    let payload = json!({ "meetingId": meeting_id, "title": item.title, "ownerId": owner_id, "dueOn": due_on });
    outbox::publish(&txn, actor, "actionItem.created", "actionItem", Some(item.id), payload).await?;
    txn.commit().await?;
    Ok(item)
}

/// Changes to an action item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemPatch {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub owner_id: Option<Option<Uuid>>,
    pub due_on: Option<Option<NaiveDate>>,
    pub status: Option<ActionItemStatus>,
}

/// Change an action item: MANAGERs, ADMINs, or its owner.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update_item(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    patch: ItemPatch,
) -> Result<action_item::Model> {
    let title = patch.title.as_deref().map(|t| validate::text("title", t, SHORT)).transpose()?;
    let txn = crate::db::begin_write(db).await?;
    let current = crate::db::find_in_org::<action_item::Entity>(&txn, actor.org_id, id, "action item").await?;
    require(can_update_action_item(actor, current.owner_id), "change this action item")?;
    check_version(patch.expected_version, current.version)?;
    if let Some(Some(owner)) = patch.owner_id {
        check_owner(&txn, actor, owner).await?;
    }
    let mut changes = Changes::new();
    let mut model: action_item::ActiveModel = current.clone().into();
    if let Some(title) = title {
        changes = changes.field("title", Some(&current.title), Some(&title));
        model.title = Set(title);
    }
    if let Some(owner) = patch.owner_id {
        changes = changes.field("ownerId", current.owner_id.as_ref(), owner.as_ref());
        model.owner_id = Set(owner);
    }
    if let Some(due) = patch.due_on {
        changes = changes.field("dueOn", current.due_on.as_ref(), due.as_ref());
        model.due_on = Set(due);
    }
    if let Some(status) = patch.status {
        changes = changes.field("status", Some(&current.status), Some(&status));
        model.status = Set(status);
    }
    if changes.is_empty() {
        return Ok(current);
    }
    let item = save_versioned(&txn, id, current.version, model).await?;
    audit::record(&txn, actor, "actionItem.update", "actionItem", Some(id), changes).await?;
    let payload = json!({ "status": item.status, "ownerId": item.owner_id, "version": item.version });
    outbox::publish(&txn, actor, "actionItem.updated", "actionItem", Some(id), payload).await?;
    txn.commit().await?;
    Ok(item)
}

/// The caller's action items: OPEN first, soonest due first.
pub async fn my_items(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<action_item::Model>> {
    let Some(user_id) = actor.user_id() else { return Ok(Vec::new()) };
    let mut items = action_item::Entity::find()
        .filter(action_item::Column::OrgId.eq(actor.org_id))
        .filter(action_item::Column::OwnerId.eq(user_id))
        .order_by_asc(action_item::Column::CreatedAt)
        .all(db)
        .await?;
    items.sort_by_key(|i| (i.status != ActionItemStatus::Open, i.due_on.is_none(), i.due_on, i.created_at));
    Ok(items)
}
