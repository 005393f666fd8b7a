//! `campaigns`: marketing campaigns with budget and spend. A lead names its campaign
//! in `leads.campaign`, which equals `campaigns.name` exactly (case-sensitive).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// Trimmed, 1–200 characters; unique per organization.
    pub name: String,
    pub channel: CampaignChannel,
    pub starts_on: Date,
    /// Never before `starts_on`.
    pub ends_on: Date,
    /// Minor units of `currency`, never negative.
    pub budget_minor: i64,
    /// Minor units of `currency`, never negative.
    pub spend_minor: i64,
    /// ISO-4217 code of both amounts.
    pub currency: String,
    pub owner_id: Option<Uuid>,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The marketing channel a campaign runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignChannel {
    #[sea_orm(string_value = "EMAIL")]
    Email,
    #[sea_orm(string_value = "PAID_SEARCH")]
    PaidSearch,
    #[sea_orm(string_value = "PAID_SOCIAL")]
    PaidSocial,
    #[sea_orm(string_value = "ORGANIC_SOCIAL")]
    OrganicSocial,
    #[sea_orm(string_value = "CONTENT")]
    Content,
    #[sea_orm(string_value = "EVENT")]
    Event,
    #[sea_orm(string_value = "WEBINAR")]
    Webinar,
    #[sea_orm(string_value = "PARTNER")]
    Partner,
    #[sea_orm(string_value = "OUTBOUND")]
    Outbound,
    #[sea_orm(string_value = "REFERRAL")]
    Referral,
    #[sea_orm(string_value = "OTHER")]
    Other,
}
