//! Activities: calls, e-mails, meetings, demos, events and notes, with the time
//! spent with customers, so hours with customers per person is a KPI.

use chrono::{DateTime, Utc};
use entity::ActivityKind;
use entity::activity::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::ensure_user;
use crate::auth::permissions::{Scope, can_read, can_write, require};
use crate::auth::{Actor, Identity};
use crate::db::keyset::{Direction, Page, Window, fetch_page_by};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate::{self, LONG};

/// Longest activity, in minutes: one day. Longer work is logged day by day, so that
/// customer-facing hours fall into the days they were spent.
pub const MAX_DURATION_MINUTES: i64 = 24 * 60;

/// An activity to log.
#[derive(Debug, Clone)]
pub struct NewActivity {
    /// Whose activity it is; defaults to the calling user. API keys must name one.
    pub user_id: Option<Uuid>,
    pub kind: ActivityKind,
    pub customer_facing: bool,
    pub duration_minutes: i32,
    pub occurred_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    pub lead_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
}

/// Log an activity. Anyone who writes shared records may log their own; MANAGERs,
/// ADMINs and API keys with `LEADS_WRITE` may log one for another user.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn log(db: &impl crate::db::Transactions, actor: &Actor, new: NewActivity) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "log activities")?;
    let user_id = match (new.user_id, &actor.kind) {
        (None, Identity::User { id, .. }) => *id,
        (None, _) => return Err(ApiError::bad_input("userId", "name the user whose activity this is")),
        (Some(user), Identity::User { id, role, .. }) => {
            let may_log_for_others = matches!(role, entity::Role::Admin | entity::Role::Manager);
            if user != *id && !may_log_for_others {
                return Err(ApiError::forbidden("you may only log your own activities"));
            }
            user
        }
        (Some(user), _) => user,
    };
    validate::int_range("durationMinutes", new.duration_minutes, 0, MAX_DURATION_MINUTES)?;
    let now = Utc::now();
    let occurred_at = new.occurred_at.unwrap_or(now);
    if occurred_at > now + chrono::Duration::minutes(5) {
        return Err(ApiError::bad_input("occurredAt", "must not be in the future"));
    }
    let notes = validate::optional_text("notes", new.notes.as_deref(), LONG)?;
    let txn = crate::db::begin_write(db).await?;
    ensure_user(&txn, actor, user_id, "userId").await?;
    let mut account_id = new.account_id;
    if let Some(lead_id) = new.lead_id {
        let lead =
            super::find(&txn, actor, lead_id).await.map_err(|_| ApiError::bad_input("leadId", "no such lead"))?;
        account_id = account_id.or(lead.account_id);
    }
    if let Some(id) = new.opportunity_id {
        // Opportunities sit above leads (pipeline): read the row, not the module.
        let opportunity = crate::db::find_in_org::<entity::opportunity::Entity>(&txn, actor.org_id, id, "opportunity")
            .await
            .map_err(|_| ApiError::bad_input("opportunityId", "no such opportunity"))?;
        account_id = account_id.or(Some(opportunity.account_id));
    }
    if let Some(id) = new.account_id {
        super::accounts::ensure(&txn, actor, id, "accountId").await?;
    }
    // Time with customers is time with someone: hours per person and distinct customers
    // touched count only what names its customer.
    if new.customer_facing && account_id.is_none() && new.lead_id.is_none() {
        let message = "a customer-facing activity names its customer: give a leadId, accountId or opportunityId";
        return Err(ApiError::bad_input("customerFacing", message));
    }
    let activity = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        user_id: Set(user_id),
        lead_id: Set(new.lead_id),
        account_id: Set(account_id),
        opportunity_id: Set(new.opportunity_id),
        kind: Set(new.kind),
        customer_facing: Set(new.customer_facing),
        duration_minutes: Set(new.duration_minutes),
        occurred_at: Set(occurred_at),
        notes: Set(notes),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("kind", &activity.kind)
        .created("userId", &activity.user_id)
        .created("leadId", &activity.lead_id)
        .created("customerFacing", &activity.customer_facing)
        .created("durationMinutes", &activity.duration_minutes);
    audit::record(&txn, actor, "activity.log", "activity", Some(activity.id), changes).await?;
    txn.commit().await?;
    Ok(activity)
}

/// Which activities to list.
#[derive(Debug, Clone, Default)]
pub struct ActivityCriteria {
    pub user_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub kinds: Vec<ActivityKind>,
    pub customer_facing: Option<bool>,
    pub occurred_after: Option<DateTime<Utc>>,
    pub occurred_before: Option<DateTime<Utc>>,
}

/// Activities of the organization, newest first.
#[tracing::instrument(skip(db, actor, criteria, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &ActivityCriteria,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::LeadsRead), "read activities")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    for (column, value) in [
        (Column::UserId, criteria.user_id),
        (Column::LeadId, criteria.lead_id),
        (Column::AccountId, criteria.account_id),
        (Column::OpportunityId, criteria.opportunity_id),
    ] {
        if let Some(value) = value {
            select = select.filter(column.eq(value));
        }
    }
    if !criteria.kinds.is_empty() {
        select = select.filter(Column::Kind.is_in(criteria.kinds.iter().copied()));
    }
    if let Some(facing) = criteria.customer_facing {
        select = select.filter(Column::CustomerFacing.eq(facing));
    }
    if let Some(after) = criteria.occurred_after {
        select = select.filter(Column::OccurredAt.gte(after));
    }
    if let Some(before) = criteria.occurred_before {
        select = select.filter(Column::OccurredAt.lt(before));
    }
    fetch_page_by(db, select, &[Column::OccurredAt, Column::Id], Direction::Descending, window, count).await
}
