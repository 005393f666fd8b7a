//! The handover loop: marketing hands a qualified lead to a salesperson with a
//! response clock; sales accepts it (SAL) or hands it back with a reason from the
//! agreed taxonomy, and the lead returns to its marketing owner for nurture
//! (RECYCLED), never to the bin.

pub mod clock;
pub mod graphql;
pub mod reports;

use chrono::{DateTime, Utc};
use entity::handover::{ActiveModel, Column, Entity, Model};
use entity::{AgreementStatus, HandoverStatus, LifecycleStage, Team};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::agreements::slas::{SlaBody, SlaMetric};
use crate::agreements::taxonomies::{self, TaxonomyList};
use crate::agreements::{self, DocumentCriteria};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_answer_handover, can_hand_over, can_read, require};
use crate::db::keyset::{Direction, Page, Window, fetch_page, fetch_page_by};
use crate::db::versioned::save_versioned;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::leads::{self, lifecycle};
use crate::validate::{self, LONG};

/// The target of the agreed SLA for `metric`, if one is in force.
pub async fn agreed_target(db: &impl ConnectionTrait, org_id: Uuid, metric: SlaMetric) -> Result<Option<f64>> {
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let slas = agreements::list::<SlaBody>(db, &Actor::system(org_id), &criteria).await?;
    Ok(slas.iter().filter_map(|d| d.in_force()).map(|v| &v.body).find(|b| b.metric == metric).map(|b| b.target))
}

/// Hours sales has to answer a handover: the agreed HANDOVER_RESPONSE_HOURS SLA, or
/// the organization's default when none is agreed.
pub async fn response_hours(db: &impl ConnectionTrait, actor: &Actor) -> Result<f64> {
    if let Some(target) = agreed_target(db, actor.org_id, SlaMetric::HandoverResponseHours).await? {
        return Ok(target);
    }
    Ok(f64::from(crate::org::settings(db, actor.org_id).await?.handover_response_hours))
}

/// Hours until the first customer-facing touch after acceptance: the agreed
/// FIRST_TOUCH_HOURS SLA, or 48.
pub async fn first_touch_hours(db: &impl ConnectionTrait, actor: &Actor) -> Result<f64> {
    Ok(agreed_target(db, actor.org_id, SlaMetric::FirstTouchHours).await?.unwrap_or(48.0))
}

pub(crate) async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "handover").await
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::LeadsRead), "read handovers")?;
    find(db, actor, id).await
}

/// Hand a marketing-qualified lead to an active salesperson. The answer is due after
/// the agreed response time.
#[tracing::instrument(skip(db, actor, note), fields(org = %actor.org_id))]
pub async fn hand_over(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    lead_id: Uuid,
    to_user_id: Uuid,
    note: Option<String>,
) -> Result<Model> {
    require(can_hand_over(actor), "hand over leads")?;
    let note = validate::optional_text("note", note.as_deref(), LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let lead = leads::find(&txn, actor, lead_id).await?;
    let handover = hand_over_in(&txn, actor, &lead, to_user_id, note).await?;
    txn.commit().await?;
    Ok(handover)
}

/// Hand `lead` over inside the caller's transaction (the caller checked the
/// permission and validated the note): the checks, the handover row, its audit row
/// and outbox event. Automatic handovers of new MQLs call this too.
pub(crate) async fn hand_over_in(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    lead: &entity::lead::Model,
    to_user_id: Uuid,
    note: Option<String>,
) -> Result<Model> {
    let lead_id = lead.id;
    let assignee = entity::user::Entity::find_by_id(to_user_id)
        .filter(entity::user::Column::OrgId.eq(actor.org_id))
        .filter(entity::user::Column::Active.eq(true))
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::bad_input("toUserId", "no such active user"))?;
    if assignee.team != Team::Sales || assignee.role == entity::Role::Viewer {
        return Err(ApiError::bad_input("toUserId", "hand leads over to a member of SALES"));
    }
    if lead.archived_at.is_some() {
        return Err(ApiError::bad_input("leadId", "the lead is archived"));
    }
    if lead.lifecycle_stage != LifecycleStage::Mql {
        return Err(ApiError::bad_input(
            "leadId",
            format!("only MQLs are handed over; the lead is {}", lifecycle::stage_name(lead.lifecycle_stage)),
        ));
    }
    if let Some(pending) = pending_for(txn, actor, lead_id).await? {
        return Err(ApiError::Conflict(format!("the lead already has a pending handover ({})", pending.id)));
    }
    let hours = response_hours(txn, actor).await?;
    let now = Utc::now();
    let handover = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        lead_id: Set(lead_id),
        from_user_id: Set(actor.user_id()),
        from_name: Set(actor.name().to_owned()),
        to_user_id: Set(to_user_id),
        note: Set(note),
        handed_at: Set(now),
        due_at: Set(now + chrono::Duration::seconds((hours * 3600.0).round() as i64)),
        status: Set(HandoverStatus::Pending),
        overdue: Set(false),
        responded_at: Set(None),
        responded_by: Set(None),
        reason: Set(None),
        response_note: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let changes =
        Changes::new().created("leadId", &lead_id).created("toUserId", &to_user_id).created("dueAt", &handover.due_at);
    audit::record(txn, actor, "handover.create", "handover", Some(handover.id), changes).await?;
    let payload = serde_json::json!({ "leadId": lead_id, "toUserId": to_user_id, "dueAt": handover.due_at });
    outbox::publish(txn, actor, "handover.created", "handover", Some(handover.id), payload).await?;
    Ok(handover)
}

/// The next active SALES member in the round robin of automatic handovers who still
/// has room today: members in a fixed order (by id), starting after whoever received
/// the organization's latest handover, skipping those who received `cap` handovers
/// since the start of today in the organization's time zone. `None` when sales has
/// no active member or every one is at the cap.
pub(crate) async fn next_in_rotation(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    cap: u32,
    day_start: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    use sea_orm::QuerySelect;
    let members: Vec<Uuid> = entity::user::Entity::find()
        .filter(entity::user::Column::OrgId.eq(org_id))
        .filter(entity::user::Column::Team.eq(Team::Sales))
        .filter(entity::user::Column::Active.eq(true))
        .filter(entity::user::Column::Role.ne(entity::Role::Viewer))
        .order_by_asc(entity::user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    if members.is_empty() {
        return Ok(None);
    }
    let last = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::ToUserId.is_in(members.clone()))
        .order_by_desc(Column::HandedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await?;
    let today: std::collections::HashMap<Uuid, i64> = Entity::find()
        .select_only()
        .column(Column::ToUserId)
        .column_as(Column::Id.count(), "n")
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::ToUserId.is_in(members.clone()))
        .filter(Column::HandedAt.gte(day_start))
        .group_by(Column::ToUserId)
        .into_tuple::<(Uuid, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let start = match last.and_then(|h| members.iter().position(|m| *m == h.to_user_id)) {
        Some(i) => i + 1,
        None => 0,
    };
    Ok((0..members.len())
        .map(|k| members[(start + k) % members.len()])
        .find(|m| today.get(m).copied().unwrap_or(0) < i64::from(cap)))
}

/// The start of today in the organization's time zone, as UTC.
fn start_of_day(settings: &crate::org::OrgSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::TimeZone;
    let tz = settings.tz();
    let local = now.with_timezone(&tz).date_naive();
    local
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| tz.from_local_datetime(&midnight).earliest())
        .map_or(now, |start| start.with_timezone(&Utc))
}

/// Hand `leads` (new MQLs) over automatically when the organization says so, each to
/// the next rep with room today; those no rep has room for stay in the backlog.
/// Returns how many were handed over.
pub(crate) async fn auto_hand_over(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    leads: &[&entity::lead::Model],
) -> Result<usize> {
    if leads.is_empty() {
        return Ok(0);
    }
    let settings = crate::org::settings(txn, actor.org_id).await?;
    if !settings.auto_hand_over_mqls {
        return Ok(0);
    }
    let day_start = start_of_day(&settings, Utc::now());
    let ids: Vec<Uuid> = leads.iter().map(|l| l.id).collect();
    let pending: std::collections::HashSet<Uuid> = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::LeadId.is_in(ids))
        .filter(Column::Status.eq(HandoverStatus::Pending))
        .all(txn)
        .await?
        .into_iter()
        .map(|h| h.lead_id)
        .collect();
    let mut handed = 0;
    for lead in leads.iter().filter(|l| !pending.contains(&l.id) && l.archived_at.is_none()) {
        let Some(to) = next_in_rotation(txn, actor.org_id, settings.auto_hand_over_daily_cap, day_start).await? else {
            break;
        };
        let note = Some("handed over automatically: the lead became an MQL".to_owned());
        hand_over_in(txn, actor, lead, to, note).await?;
        handed += 1;
    }
    Ok(handed)
}

/// Cancel the pending handovers of leads that left MQL another way than by an answer
/// (recycled or disqualified by hand): nobody is left waiting on a lead that moved on.
async fn cancel_pending(txn: &impl ConnectionTrait, actor: &Actor, moved: &[&lifecycle::Entered]) -> Result<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    if moved.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    for entered in moved {
        let lead = &entered.lead;
        let note = format!(
            "cancelled: the lead moved to {} before sales answered",
            lifecycle::stage_name(lead.lifecycle_stage)
        );
        let cancelled = Entity::update_many()
            .col_expr(Column::Status, Expr::value(HandoverStatus::Cancelled))
            .col_expr(Column::ResponseNote, Expr::value(note.clone()))
            .col_expr(Column::Version, Expr::col(Column::Version).add(1))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::OrgId.eq(actor.org_id))
            .filter(Column::LeadId.eq(lead.id))
            .filter(Column::Status.eq(HandoverStatus::Pending))
            .exec_with_returning(txn)
            .await?;
        for handover in cancelled {
            let changes = Changes::new()
                .field("status", Some(&HandoverStatus::Pending), Some(&HandoverStatus::Cancelled))
                .created("note", &note);
            audit::record(txn, actor, "handover.cancel", "handover", Some(handover.id), changes).await?;
            let payload = serde_json::json!({ "leadId": lead.id, "toUserId": handover.to_user_id, "note": note });
            outbox::publish(txn, actor, "handover.cancelled", "handover", Some(handover.id), payload).await?;
        }
    }
    Ok(())
}

/// What follows leads entering stages: a pending handover is cancelled when its lead
/// left MQL by another way than the handover's answer; a new MQL is handed over.
fn stage_entered<'a>(
    txn: &'a sea_orm::DatabaseTransaction,
    actor: &'a Actor,
    entered: &'a [lifecycle::Entered],
) -> futures_util::future::BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let left: Vec<&lifecycle::Entered> = entered
            .iter()
            .filter(|e| e.via != lifecycle::Via::Handover && e.lead.lifecycle_stage != LifecycleStage::Mql)
            .filter(|e| e.from == Some(LifecycleStage::Mql))
            .collect();
        cancel_pending(txn, actor, &left).await?;
        let mqls: Vec<&entity::lead::Model> =
            entered.iter().filter(|e| e.lead.lifecycle_stage == LifecycleStage::Mql).map(|e| &e.lead).collect();
        auto_hand_over(txn, actor, &mqls).await?;
        Ok(())
    })
}

inventory::submit! { lifecycle::OnStageEntered(stage_entered) }

/// MQLs waiting for a rep: no pending or answered handover since they became MQL,
/// oldest first. Automatic handovers beyond every rep's daily cap wait here.
pub async fn backlog(
    db: &impl ConnectionTrait,
    actor: &Actor,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<entity::lead::Model>> {
    use entity::lead::{Column as L, Entity as Leads};
    use sea_orm::sea_query::{Expr, ExprTrait};
    require(can_read(actor, Scope::LeadsRead), "read the handover backlog")?;
    let select = Leads::find()
        .filter(L::OrgId.eq(actor.org_id))
        .filter(L::LifecycleStage.eq(LifecycleStage::Mql))
        .filter(L::ArchivedAt.is_null())
        .filter(Expr::exists(waiting_handover(actor.org_id)).not());
    fetch_page_by(db, select, &[L::StageEnteredAt, L::Id], Direction::Ascending, window, count).await
}

/// A handover of the lead (of the outer query) made since it last became MQL.
fn waiting_handover(org_id: Uuid) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let h = Alias::new("h");
    Query::select()
        .expr(Expr::val(1))
        .from_as(Alias::new("handovers"), h.clone())
        .and_where(Expr::col((h.clone(), Alias::new("org_id"))).eq(org_id))
        .and_where(Expr::col((h.clone(), Alias::new("lead_id"))).equals((Alias::new("leads"), Alias::new("id"))))
        .and_where(
            Expr::col((h.clone(), Alias::new("handed_at")))
                .gte(Expr::col((Alias::new("leads"), Alias::new("stage_entered_at")))),
        )
        .and_where(Expr::col((h, Alias::new("status"))).ne("CANCELLED"))
        .to_owned()
}

/// Hand over the backlog of every organization with automatic handovers, as reps
/// have room (the worker runs this). Leads are claimed (`FOR UPDATE SKIP LOCKED` on
/// PostgreSQL), so replicas never hand the same lead over twice. Returns how many.
pub async fn drain_backlogs(db: &sea_orm::DatabaseConnection) -> Result<usize> {
    use entity::lead::{Column as L, Entity as Leads};
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Expr, ExprTrait};
    let orgs = entity::organization::Entity::find().all(db).await?;
    let mut handed = 0;
    for org in orgs {
        if !crate::org::OrgSettings::from_stored(&org.settings).auto_hand_over_mqls {
            continue;
        }
        let txn = crate::db::begin_write(db).await?;
        let select = Leads::find()
            .filter(L::OrgId.eq(org.id))
            .filter(L::LifecycleStage.eq(LifecycleStage::Mql))
            .filter(L::ArchivedAt.is_null())
            .filter(Expr::exists(waiting_handover(org.id)).not())
            .order_by_asc(L::StageEnteredAt)
            .order_by_asc(L::Id)
            .limit(200);
        let waiting = crate::db::claim::claim(&txn, select).all(&txn).await?;
        let refs: Vec<&entity::lead::Model> = waiting.iter().collect();
        handed += auto_hand_over(&txn, &Actor::system(org.id), &refs).await?;
        txn.commit().await?;
    }
    Ok(handed)
}

async fn pending_for(db: &impl ConnectionTrait, actor: &Actor, lead_id: Uuid) -> Result<Option<Model>> {
    Ok(Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::LeadId.eq(lead_id))
        .filter(Column::Status.eq(HandoverStatus::Pending))
        .one(db)
        .await?)
}

/// The answer to a handover.
#[derive(Debug, Clone)]
pub enum Answer {
    Accept {
        note: Option<String>,
    },
    /// `reason`: a code or synonym of the HAND_BACK_REASONS list in force.
    HandBack {
        reason: String,
        note: Option<String>,
    },
}

/// Accept (the lead becomes SAL and the assignee its owner) or hand back (the lead is
/// RECYCLED, back with its marketing owner). Only the assignee or a SALES manager
/// answers; a handover is answered once.
#[tracing::instrument(skip(db, actor, answer), fields(org = %actor.org_id))]
pub async fn answer(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, answer: Answer) -> Result<Model> {
    let (written, note) = match &answer {
        Answer::Accept { note } => (None, validate::optional_text("note", note.as_deref(), LONG)?),
        Answer::HandBack { reason, note } => (
            Some(validate::text("reason", reason, taxonomies::WORD_MAX)?),
            validate::optional_text("note", note.as_deref(), LONG)?,
        ),
    };
    let txn = crate::db::begin_write(db).await?;
    let reason = match written {
        None => None,
        Some(written) => {
            let reasons = taxonomies::in_force(&txn, actor.org_id, TaxonomyList::HandBackReasons).await?;
            let entry = reasons.require("reason", &written)?;
            if entry.needs_note && note.is_none() {
                return Err(ApiError::bad_input("note", format!("say why when the reason is {}", entry.code)));
            }
            Some(entry.code.clone())
        }
    };
    let current = find(&txn, actor, id).await?;
    require(can_answer_handover(actor, current.to_user_id), "answer this handover")?;
    if current.status != HandoverStatus::Pending {
        return Err(ApiError::Conflict(format!(
            "the handover is {} already; only a PENDING handover can be accepted or handed back",
            validate::public_name(current.status)
        )));
    }
    let now = Utc::now();
    let status = if reason.is_some() { HandoverStatus::Rejected } else { HandoverStatus::Accepted };
    let mut model: ActiveModel = current.clone().into();
    model.status = Set(status);
    model.responded_at = Set(Some(now));
    model.responded_by = Set(actor.user_id());
    model.reason = Set(reason.clone());
    model.response_note = Set(note.clone());
    model.version = Set(current.version + 1);
    model.updated_at = Set(now);
    // The status guard makes a concurrent second answer touch no row: CONFLICT.
    let answered = Entity::update_many()
        .set(model)
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(HandoverStatus::Pending))
        .exec_with_returning(&txn)
        .await?
        .pop()
        .ok_or_else(|| {
            ApiError::Conflict("the handover was answered meanwhile; only a PENDING handover can be answered".into())
        })?;

    let lead = leads::find(&txn, actor, current.lead_id).await?;
    let (action, target, why) = match &reason {
        None => ("handover.accept", LifecycleStage::Sal, "handover accepted".to_owned()),
        Some(reason) => ("handover.handBack", LifecycleStage::Recycled, format!("handed back: {reason}")),
    };
    let why = match &note {
        Some(note) => format!("{why} — {note}"),
        None => why,
    };
    if lifecycle::allowed_targets(lead.lifecycle_stage).contains(&target) {
        let lead = lifecycle::enter(&txn, actor, lead, target, lifecycle::Via::Handover, Some(why)).await?;
        let owner = if reason.is_none() { Some(current.to_user_id) } else { None };
        set_owner(&txn, actor, lead, owner).await?;
    }
    let changes = Changes::new()
        .field("status", Some(&current.status), Some(&status))
        .created("reason", &reason)
        .created("note", &note);
    audit::record(&txn, actor, action, "handover", Some(id), changes).await?;
    let event = if reason.is_some() { "handover.handedBack" } else { "handover.accepted" };
    let payload = serde_json::json!({ "leadId": current.lead_id, "toUserId": current.to_user_id, "reason": reason, "note": note });
    outbox::publish(&txn, actor, event, "handover", Some(id), payload).await?;
    txn.commit().await?;
    Ok(answered)
}

/// The sales owner after an answer: the assignee when accepted, nobody when handed back
/// (the marketing owner nurtures it).
async fn set_owner(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    lead: entity::lead::Model,
    owner: Option<Uuid>,
) -> Result<()> {
    if lead.owner_id == owner {
        return Ok(());
    }
    let model = entity::lead::ActiveModel { owner_id: Set(owner), ..Default::default() };
    let updated = save_versioned(txn, lead.id, lead.version, model).await?;
    crate::leads::owner_changed(txn, actor, &lead, &updated).await
}

/// Which handovers to list.
#[derive(Debug, Clone, Default)]
pub struct HandoverCriteria {
    pub statuses: Vec<HandoverStatus>,
    pub overdue: Option<bool>,
    pub to_user_id: Option<Uuid>,
    pub from_user_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    /// Reason codes.
    pub reasons: Vec<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Handovers of the organization, newest first.
#[tracing::instrument(skip(db, actor, c, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    c: &HandoverCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::LeadsRead), "read handovers")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if !c.statuses.is_empty() {
        select = select.filter(Column::Status.is_in(c.statuses.iter().copied()));
    }
    if !c.reasons.is_empty() {
        select = select.filter(Column::Reason.is_in(c.reasons.iter().cloned()));
    }
    if let Some(overdue) = c.overdue {
        select = select.filter(Column::Overdue.eq(overdue));
    }
    for (column, value) in
        [(Column::ToUserId, c.to_user_id), (Column::FromUserId, c.from_user_id), (Column::LeadId, c.lead_id)]
    {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    if let Some(from) = c.from {
        select = select.filter(Column::HandedAt.gte(from));
    }
    if let Some(to) = c.to {
        select = select.filter(Column::HandedAt.lt(to));
    }
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

/// What the caller must answer, soonest due first.
/// `overdue` keeps only overdue (true) or only not yet overdue (false) handovers.
pub async fn my_queue(
    db: &impl ConnectionTrait,
    actor: &Actor,
    overdue: Option<bool>,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<Model>> {
    let Some(me) = actor.user_id() else {
        return Err(ApiError::forbidden("only users have a queue"));
    };
    let mut select = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::ToUserId.eq(me))
        .filter(Column::Status.eq(HandoverStatus::Pending));
    if let Some(overdue) = overdue {
        select = select.filter(Column::Overdue.eq(overdue));
    }
    fetch_page_by(db, select, &[Column::DueAt, Column::Id], Direction::Ascending, window, count).await
}
