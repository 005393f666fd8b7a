//! Campaigns: what marketing spends money on, with a channel, dates, a budget and the
//! spend so far. Leads name their campaign in the free-text `leads.campaign`; a
//! campaign record of exactly that name (case-sensitive, trimmed) carries the money,
//! so cost per lead and per MQL, sourced pipeline and ROI can be computed. MARKETING
//! and ADMINs write campaigns; everyone in the organization reads them.
//!
//! Renaming a campaign does not rewrite leads: they keep the name their source gave
//! them, and `leadCount` and `Lead.campaignDetails` follow the campaign's new name.

pub mod graphql;

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::CampaignChannel;
use entity::campaign::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_read_campaigns, can_write_campaigns, require};
use crate::db::Transactions;
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::archive::{self, Archivable};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate::{self, SHORT};

/// A campaign to create.
#[derive(Debug, Clone)]
pub struct NewCampaign {
    pub name: String,
    pub channel: CampaignChannel,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub budget_minor: i64,
    /// Defaults to 0.
    pub spend_minor: Option<i64>,
    pub currency: String,
    /// Defaults to the caller.
    pub owner_id: Option<Uuid>,
}

/// What `updateCampaign` may change; `None` keeps a field, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub channel: Option<CampaignChannel>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub budget_minor: Option<i64>,
    pub spend_minor: Option<i64>,
    pub currency: Option<String>,
    pub owner_id: Option<Option<Uuid>>,
    pub expected_version: Option<i32>,
}

/// Which campaigns to list; all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct CampaignCriteria {
    pub channel: Option<CampaignChannel>,
    /// Only campaigns running on this day (`startsOn <= day <= endsOn`).
    pub active_on: Option<NaiveDate>,
    /// Part of the name, case-insensitive.
    pub search: Option<String>,
    pub include_archived: bool,
}

/// The values of a campaign after validation.
struct Values {
    name: String,
    channel: CampaignChannel,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    budget_minor: i64,
    spend_minor: i64,
    currency: String,
    owner_id: Option<Uuid>,
}

/// The name as leads carry it: trimmed, 1–200 characters.
fn name(value: &str) -> Result<String> {
    validate::text("name", value, SHORT)
}

fn check_period(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<()> {
    if ends_on < starts_on {
        return Err(ApiError::bad_input("endsOn", "must not be before startsOn"));
    }
    Ok(())
}

async fn check_owner(db: &impl ConnectionTrait, actor: &Actor, owner: Option<Uuid>) -> Result<()> {
    let Some(owner) = owner else { return Ok(()) };
    let found =
        entity::user::Entity::find_by_id(owner).filter(entity::user::Column::OrgId.eq(actor.org_id)).count(db).await?;
    if found == 0 {
        return Err(ApiError::bad_input("ownerId", "no such user"));
    }
    Ok(())
}

/// A second campaign of the same name would make leads ambiguous: CONFLICT naming the
/// existing one. (The unique index `ux_campaigns_org_name` settles races the same way.)
async fn ensure_name_free(db: &impl ConnectionTrait, actor: &Actor, name: &str, except: Option<Uuid>) -> Result<()> {
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id)).filter(Column::Name.eq(name));
    if let Some(id) = except {
        select = select.filter(Column::Id.ne(id));
    }
    if let Some(existing) = select.one(db).await? {
        let archived = if existing.archived_at.is_some() { " (archived)" } else { "" };
        return Err(ApiError::Conflict(format!("the campaign {}{archived} is named `{name}` already", existing.id)));
    }
    Ok(())
}

/// Create a campaign. MARKETING and ADMINs.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewCampaign) -> Result<Model> {
    require(can_write_campaigns(actor), "create campaigns")?;
    let v = Values {
        name: name(&new.name)?,
        channel: new.channel,
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        budget_minor: validate::amount("budgetMinor", new.budget_minor)?,
        spend_minor: validate::amount("spendMinor", new.spend_minor.unwrap_or(0))?,
        currency: validate::currency("currency", &new.currency)?,
        owner_id: new.owner_id.or(actor.user_id()),
    };
    check_period(v.starts_on, v.ends_on)?;
    let txn = crate::db::begin_write(db).await?;
    check_owner(&txn, actor, v.owner_id).await?;
    ensure_name_free(&txn, actor, &v.name, None).await?;
    let now = Utc::now();
    let campaign = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        name: Set(v.name),
        channel: Set(v.channel),
        starts_on: Set(v.starts_on),
        ends_on: Set(v.ends_on),
        budget_minor: Set(v.budget_minor),
        spend_minor: Set(v.spend_minor),
        currency: Set(v.currency),
        owner_id: Set(v.owner_id),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("name", &campaign.name)
        .created("channel", &campaign.channel)
        .created("startsOn", &campaign.starts_on)
        .created("endsOn", &campaign.ends_on)
        .created("budgetMinor", &campaign.budget_minor)
        .created("spendMinor", &campaign.spend_minor)
        .created("currency", &campaign.currency)
        .created("ownerId", &campaign.owner_id);
    audit::record(&txn, actor, "campaign.create", "campaign", Some(campaign.id), changes).await?;
    let payload = json!({ "name": campaign.name, "channel": campaign.channel });
    outbox::publish(&txn, actor, "campaign.created", "campaign", Some(campaign.id), payload).await?;
    txn.commit().await?;
    Ok(campaign)
}

/// Change a campaign, under its optimistic lock. An archived campaign is CONFLICT.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, patch: CampaignPatch) -> Result<Model> {
    require(can_write_campaigns(actor), "change campaigns")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(patch.expected_version, current.version)?;
    if current.archived_at.is_some() {
        return Err(ApiError::Conflict("the campaign is archived".into()));
    }
    let v = Values {
        name: patch.name.as_deref().map(name).transpose()?.unwrap_or_else(|| current.name.clone()),
        channel: patch.channel.unwrap_or(current.channel),
        starts_on: patch.starts_on.unwrap_or(current.starts_on),
        ends_on: patch.ends_on.unwrap_or(current.ends_on),
        budget_minor: patch
            .budget_minor
            .map(|b| validate::amount("budgetMinor", b))
            .transpose()?
            .unwrap_or(current.budget_minor),
        spend_minor: patch
            .spend_minor
            .map(|s| validate::amount("spendMinor", s))
            .transpose()?
            .unwrap_or(current.spend_minor),
        currency: patch
            .currency
            .as_deref()
            .map(|c| validate::currency("currency", c))
            .transpose()?
            .unwrap_or_else(|| current.currency.clone()),
        owner_id: patch.owner_id.unwrap_or(current.owner_id),
    };
    check_period(v.starts_on, v.ends_on)?;
    let changes = Changes::new()
        .field("name", Some(&current.name), Some(&v.name))
        .field("channel", Some(&current.channel), Some(&v.channel))
        .field("startsOn", Some(&current.starts_on), Some(&v.starts_on))
        .field("endsOn", Some(&current.ends_on), Some(&v.ends_on))
        .field("budgetMinor", Some(&current.budget_minor), Some(&v.budget_minor))
        .field("spendMinor", Some(&current.spend_minor), Some(&v.spend_minor))
        .field("currency", Some(&current.currency), Some(&v.currency))
        .field("ownerId", current.owner_id.as_ref(), v.owner_id.as_ref());
    if changes.is_empty() {
        return Ok(current);
    }
    if v.owner_id != current.owner_id {
        check_owner(&txn, actor, v.owner_id).await?;
    }
    if v.name != current.name {
        ensure_name_free(&txn, actor, &v.name, Some(id)).await?;
    }
    let mut model: ActiveModel = current.clone().into();
    model.name = Set(v.name);
    model.channel = Set(v.channel);
    model.starts_on = Set(v.starts_on);
    model.ends_on = Set(v.ends_on);
    model.budget_minor = Set(v.budget_minor);
    model.spend_minor = Set(v.spend_minor);
    model.currency = Set(v.currency);
    model.owner_id = Set(v.owner_id);
    let updated = save_versioned(&txn, id, current.version, model).await?;
    audit::record(&txn, actor, "campaign.update", "campaign", Some(id), changes).await?;
    let payload = json!({ "version": updated.version });
    outbox::publish(&txn, actor, "campaign.updated", "campaign", Some(id), payload).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Archive a campaign: it leaves lists (unless asked for) and can no longer be
/// changed; its name stays taken, and leads that name it still resolve to it.
pub async fn archive(db: &impl Transactions, actor: &Actor, id: Uuid, expected_version: Option<i32>) -> Result<Model> {
    require(can_write_campaigns(actor), "archive campaigns")?;
    let kind = Archivable { entity: "campaign", noun: "campaign" };
    archive::archive::<ActiveModel>(db, actor, kind, id, expected_version).await
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "campaign").await
}

/// Read one campaign, archived or not; another organization's is NOT_FOUND.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read_campaigns(actor), "read campaigns")?;
    find(db, actor, id).await
}

/// Campaigns of the organization, latest start first.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn list(db: &impl ConnectionTrait, actor: &Actor, criteria: &CampaignCriteria) -> Result<Vec<Model>> {
    require(can_read_campaigns(actor), "read campaigns")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if !criteria.include_archived {
        select = select.filter(Column::ArchivedAt.is_null());
    }
    if let Some(channel) = criteria.channel {
        select = select.filter(Column::Channel.eq(channel));
    }
    if let Some(day) = criteria.active_on {
        select = select.filter(Column::StartsOn.lte(day)).filter(Column::EndsOn.gte(day));
    }
    if let Some(search) = criteria.search.as_deref().filter(|s| !s.trim().is_empty()) {
        validate::no_control_characters("filter.search", search)?;
        select = select.filter(validate::lower_like(Column::Name, &validate::like_pattern(search)));
    }
    Ok(select.order_by_desc(Column::StartsOn).order_by_asc(Column::Name).order_by_asc(Column::Id).all(db).await?)
}

/// The organization's campaigns with these names (archived ones too), by name: what
/// `Lead.campaignDetails` resolves. One statement for any number of names.
pub async fn by_names(db: &impl ConnectionTrait, org_id: Uuid, names: &[String]) -> Result<HashMap<String, Model>> {
    let rows = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Name.is_in(names.iter().cloned()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|c| (c.name.clone(), c)).collect())
}

/// How many non-archived leads of the organization name each campaign: one
/// `GROUP BY` statement for any number of names. Names no lead carries count 0.
pub async fn lead_counts(db: &impl ConnectionTrait, org_id: Uuid, names: &[String]) -> Result<HashMap<String, i64>> {
    use entity::lead;
    let counts: Vec<(String, i64)> = lead::Entity::find()
        .select_only()
        .column(lead::Column::Campaign)
        .column_as(Expr::col(lead::Column::Id).count(), "n")
        .filter(lead::Column::OrgId.eq(org_id))
        .filter(lead::Column::ArchivedAt.is_null())
        .filter(lead::Column::Campaign.is_in(names.iter().cloned()))
        .group_by(lead::Column::Campaign)
        .into_tuple()
        .all(db)
        .await?;
    let mut result: HashMap<String, i64> = names.iter().map(|n| (n.clone(), 0)).collect();
    result.extend(counts);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_campaign_ends_on_or_after_its_start() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        assert!(check_period(day(1), day(1)).is_ok());
        assert!(check_period(day(1), day(31)).is_ok());
        assert!(check_period(day(2), day(1)).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("  Spring Launch ").unwrap(), "Spring Launch");
        assert!(name("   ").is_err());
        assert!(name(&"x".repeat(201)).is_err());
        assert!(name(&"x".repeat(200)).is_ok());
    }
}
