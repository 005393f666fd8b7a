//! Organizations (the tenants): their settings, users, API keys and buyer-journey
//! stages, and sign-in.

pub mod api_keys;
pub mod exchange_rates;
pub mod field_rules;
pub mod graphql;
pub mod journey_stages;
pub mod sign_in;
pub mod trusted_documents;
pub mod users;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_administer, can_read, require};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate::{self, Wording};

/// Organization-wide defaults, stored as JSON in `organizations.settings`. Missing
/// keys take their defaults, so new settings never need a data migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OrgSettings {
    /// Hours sales has to answer a handover when no SLA is agreed.
    pub handover_response_hours: u32,
    /// Distinct endorsers that make a piece of feedback actionable.
    pub feedback_actionable_endorsers: u32,
    /// Distinct customer accounts that make a piece of feedback actionable.
    pub feedback_actionable_accounts: u32,
    /// Agreed documents also need a SERVICE manager's approval.
    pub approval_requires_service: bool,
    /// Agreed documents also need a LEADERSHIP manager's approval.
    pub approval_requires_leadership: bool,
    /// Leads that become MQLs by their score are handed over at once, round-robin
    /// among the active SALES members.
    pub auto_hand_over_mqls: bool,
    /// Most automatic handovers one SALES member receives per day (the organization's
    /// calendar day); MQLs beyond wait in the handover backlog for the next free rep.
    pub auto_hand_over_daily_cap: u32,
    /// Agreeing a scoring model that would make more leads MQLs than this needs the
    /// approver to confirm the number (`confirmPromotions`).
    pub promotions_needing_confirmation: u32,
    /// Days after a campaign's last day during which new leads still count as sourced
    /// by it for its cost per lead and per MQL.
    pub campaign_attribution_days: u32,
    /// IANA time zone (such as `Europe/Berlin`) in which KPI periods (days, weeks,
    /// months, quarters) and goal periods begin and end.
    pub time_zone: String,
    /// ISO-4217 currency that money KPIs (revenue, pipeline, campaign spend) report in;
    /// other currencies convert at the organization's exchange rates into it.
    pub reporting_currency: String,
    /// Requests per minute of this organization's API keys that have no rate of their
    /// own; `None` for the server's default (`ACCORD_RATE_LIMIT_PER_MINUTE`).
    pub api_requests_per_minute: Option<u32>,
    /// Days engagement events keep their properties (what the sender recorded, often
    /// personal); older events keep their kind and time. `None`: kept for good.
    pub engagement_properties_retention_days: Option<u32>,
    /// Days audit entries keep their values (`changes`); older entries keep who did
    /// what to which record, when. `None`: kept for good.
    pub audit_values_retention_days: Option<u32>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            handover_response_hours: 24,
            feedback_actionable_endorsers: 3,
            feedback_actionable_accounts: 2,
            approval_requires_service: false,
            approval_requires_leadership: false,
            auto_hand_over_mqls: false,
            auto_hand_over_daily_cap: 25,
            promotions_needing_confirmation: 100,
            campaign_attribution_days: 90,
            time_zone: "UTC".into(),
            reporting_currency: "EUR".into(),
            api_requests_per_minute: None,
            engagement_properties_retention_days: None,
            audit_values_retention_days: None,
        }
    }
}

impl OrgSettings {
    /// The optional teams that co-sign agreed documents.
    pub fn approvers(&self) -> crate::auth::permissions::Approvers {
        crate::auth::permissions::Approvers {
            service: self.approval_requires_service,
            leadership: self.approval_requires_leadership,
        }
    }

    pub fn from_stored(value: &serde_json::Value) -> Self {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    /// The organization's time zone (UTC when the stored name is unknown).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }

    fn validate(&mut self) -> Result<()> {
        self.time_zone = self.time_zone.trim().to_owned();
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ApiError::bad_input("settings.timeZone", "must be an IANA time zone such as Europe/Berlin"));
        }
        self.reporting_currency = validate::currency("settings.reportingCurrency", &self.reporting_currency)?;
        // A handover left a month unanswered has failed whatever the target; feedback that
        // needs more than a thousand voices never becomes actionable.
        validate::int_range("settings.handoverResponseHours", self.handover_response_hours, 1, 24 * 30)?;
        validate::int_range("settings.feedbackActionableEndorsers", self.feedback_actionable_endorsers, 1, 1000)?;
        validate::int_range("settings.feedbackActionableAccounts", self.feedback_actionable_accounts, 0, 1000)?;
        validate::int_range("settings.autoHandOverDailyCap", self.auto_hand_over_daily_cap, 1, 1000)?;
        validate::int_range(
            "settings.promotionsNeedingConfirmation",
            self.promotions_needing_confirmation,
            0,
            10_000_000,
        )?;
        validate::int_range("settings.campaignAttributionDays", self.campaign_attribution_days, 0, 730)?;
        if let Some(rate) = self.api_requests_per_minute {
            validate::int_range("settings.apiRequestsPerMinute", rate, 1, 1_000_000)?;
        }
        for (field, days) in [
            ("settings.engagementPropertiesRetentionDays", self.engagement_properties_retention_days),
            ("settings.auditValuesRetentionDays", self.audit_values_retention_days),
        ] {
            if let Some(days) = days {
                validate::int_range(field, days, 1, 36_500)?;
            }
        }
        Ok(())
    }
}

/// The first instant of local day `day` in `tz`. Where midnight does not exist (a
/// daylight-saving gap at 00:00), the day starts at the first instant that does.
pub fn local_midnight(tz: chrono_tz::Tz, day: chrono::NaiveDate) -> chrono::DateTime<chrono::Utc> {
    let mut time = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        match chrono::TimeZone::from_local_datetime(&tz, &time) {
            chrono::LocalResult::Single(t) => return t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            chrono::LocalResult::None => time += chrono::Duration::minutes(30),
        }
    }
    time.and_utc()
}

/// The settings of organization `org_id` (for domain rules; no permission check).
pub async fn settings(db: &impl ConnectionTrait, org_id: Uuid) -> Result<OrgSettings> {
    let org = entity::organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    Ok(OrgSettings::from_stored(&org.settings))
}

/// An organization's name: trimmed, 1 to 200 characters, no control characters.
fn org_name(name: &str) -> Result<String> {
    validate::text_with("name", name, 200, Wording::Range)
}

/// Turn a name into a URL-safe slug: `Acme Revenue, Inc.` → `acme-revenue-inc`.
pub fn slugify(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').chars().take(48).collect()
}

/// The caller's organization.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor) -> Result<entity::organization::Model> {
    require(can_read(actor, Scope::OrgRead) || actor.user_id().is_some(), "read the organization")?;
    entity::organization::Entity::find_by_id(actor.org_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))
}

/// Find an organization by slug (sign-in, the command line).
pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> Result<Option<entity::organization::Model>> {
    Ok(entity::organization::Entity::find()
        .filter(entity::organization::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db)
        .await?)
}

/// Create an organization, its first ADMIN (in REVOPS) and its default journey
/// stages in one transaction.
pub async fn bootstrap(
    db: &impl crate::db::Transactions,
    name: &str,
    admin: users::NewUser,
) -> Result<(entity::organization::Model, entity::user::Model)> {
    let name = org_name(name)?;
    let slug = slugify(&name);
    if slug.is_empty() {
        return Err(ApiError::bad_input("name", "must contain a letter or digit"));
    }
    let txn = crate::db::begin_write(db).await?;
    if find_by_slug(&txn, &slug).await?.is_some() {
        return Err(ApiError::Conflict(format!("an organization with the slug `{slug}` exists already")));
    }
    let now = Utc::now();
    let org = entity::organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.clone()),
        slug: Set(slug.clone()),
        settings: Set(serde_json::to_value(OrgSettings::default()).map_err(ApiError::internal)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let system = Actor::system(org.id);
    audit::record(
        &txn,
        &system,
        "organization.create",
        "organization",
        Some(org.id),
        Changes::new().created("name", &name).created("slug", &slug),
    )
    .await?;
    let user = users::insert(&txn, &system, admin).await?;
    journey_stages::seed_defaults(&txn, org.id).await?;
    txn.commit().await?;
    Ok((org, user))
}

/// What `updateOrganization` may change.
#[derive(Debug, Default)]
pub struct OrgPatch {
    pub name: Option<String>,
    pub settings: Option<SettingsPatch>,
    pub expected_version: Option<i32>,
}

/// Settings to change; `None` keeps the stored value. `api_requests_per_minute`:
/// `Some(None)` goes back to the server's default.
#[derive(Debug, Default, Clone)]
pub struct SettingsPatch {
    pub handover_response_hours: Option<u32>,
    pub feedback_actionable_endorsers: Option<u32>,
    pub feedback_actionable_accounts: Option<u32>,
    pub approval_requires_service: Option<bool>,
    pub approval_requires_leadership: Option<bool>,
    pub auto_hand_over_mqls: Option<bool>,
    pub auto_hand_over_daily_cap: Option<u32>,
    pub promotions_needing_confirmation: Option<u32>,
    pub campaign_attribution_days: Option<u32>,
    pub time_zone: Option<String>,
    pub reporting_currency: Option<String>,
    pub api_requests_per_minute: Option<Option<u32>>,
    pub engagement_properties_retention_days: Option<Option<u32>>,
    pub audit_values_retention_days: Option<Option<u32>>,
}

impl OrgSettings {
    /// These settings with `patch` applied, validated as a whole.
    pub fn patched(&self, patch: SettingsPatch) -> Result<Self> {
        let mut merged = self.clone();
        let SettingsPatch {
            handover_response_hours,
            feedback_actionable_endorsers,
            feedback_actionable_accounts,
            approval_requires_service,
            approval_requires_leadership,
            auto_hand_over_mqls,
            auto_hand_over_daily_cap,
            promotions_needing_confirmation,
            campaign_attribution_days,
            time_zone,
            reporting_currency,
            api_requests_per_minute,
            engagement_properties_retention_days,
            audit_values_retention_days,
        } = patch;
        merged.handover_response_hours = handover_response_hours.unwrap_or(merged.handover_response_hours);
        merged.feedback_actionable_endorsers =
            feedback_actionable_endorsers.unwrap_or(merged.feedback_actionable_endorsers);
        merged.feedback_actionable_accounts =
            feedback_actionable_accounts.unwrap_or(merged.feedback_actionable_accounts);
        merged.approval_requires_service = approval_requires_service.unwrap_or(merged.approval_requires_service);
        merged.approval_requires_leadership =
            approval_requires_leadership.unwrap_or(merged.approval_requires_leadership);
        merged.auto_hand_over_mqls = auto_hand_over_mqls.unwrap_or(merged.auto_hand_over_mqls);
        merged.auto_hand_over_daily_cap = auto_hand_over_daily_cap.unwrap_or(merged.auto_hand_over_daily_cap);
        merged.promotions_needing_confirmation =
            promotions_needing_confirmation.unwrap_or(merged.promotions_needing_confirmation);
        merged.campaign_attribution_days = campaign_attribution_days.unwrap_or(merged.campaign_attribution_days);
        merged.time_zone = time_zone.unwrap_or(merged.time_zone);
        merged.reporting_currency = reporting_currency.unwrap_or(merged.reporting_currency);
        merged.api_requests_per_minute = api_requests_per_minute.unwrap_or(merged.api_requests_per_minute);
        merged.engagement_properties_retention_days =
            engagement_properties_retention_days.unwrap_or(merged.engagement_properties_retention_days);
        merged.audit_values_retention_days = audit_values_retention_days.unwrap_or(merged.audit_values_retention_days);
        merged.validate()?;
        Ok(merged)
    }

    /// One audit change per setting that differs from `old`, named `settings.<name>`.
    fn changes_from(&self, old: &OrgSettings, mut changes: Changes) -> Result<Changes> {
        let (Value::Object(old), Value::Object(new)) = (
            serde_json::to_value(old).map_err(ApiError::internal)?,
            serde_json::to_value(self).map_err(ApiError::internal)?,
        ) else {
            return Err(ApiError::internal("settings do not serialize to an object"));
        };
        for (name, value) in &new {
            changes = changes.field(&format!("settings.{name}"), old.get(name), Some(value));
        }
        Ok(changes)
    }
}

/// Rename the organization or change its settings. ADMINs only.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    patch: OrgPatch,
) -> Result<entity::organization::Model> {
    require(can_administer(actor), "change the organization")?;
    let txn = crate::db::begin_write(db).await?;
    let current = entity::organization::Entity::find_by_id(actor.org_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("organization"))?;
    check_version(patch.expected_version, current.version)?;
    let mut changes = Changes::new();
    let mut model: entity::organization::ActiveModel = current.clone().into();
    if let Some(name) = patch.name {
        let name = org_name(&name)?;
        changes = changes.field("name", Some(&current.name), Some(&name));
        model.name = Set(name);
    }
    if let Some(patch) = patch.settings {
        let old = OrgSettings::from_stored(&current.settings);
        let settings = old.patched(patch)?;
        changes = settings.changes_from(&old, changes)?;
        if settings.time_zone != old.time_zone {
            exchange_rates::follow_time_zone(&txn, current.id, settings.tz()).await?;
        }
        if settings.reporting_currency != old.reporting_currency {
            exchange_rates::reprice(&txn, current.id, &settings.reporting_currency, None).await?;
        }
        model.settings = Set(serde_json::to_value(settings).map_err(ApiError::internal)?);
    }
    if changes.is_empty() {
        return Ok(current);
    }
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "organization.update", "organization", Some(current.id), changes).await?;
    txn.commit().await?;
    Ok(updated)
}
