//! `content_assets`: collateral (decks, one-pagers, case studies, …) linked to a
//! message, personas and journey stages (the link tables `content_asset_personas`
//! and `content_asset_stages`).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of collateral an asset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentKind {
    #[sea_orm(string_value = "DECK")]
    Deck,
    #[sea_orm(string_value = "ONE_PAGER")]
    OnePager,
    #[sea_orm(string_value = "CASE_STUDY")]
    CaseStudy,
    #[sea_orm(string_value = "EMAIL_TEMPLATE")]
    EmailTemplate,
    #[sea_orm(string_value = "VIDEO")]
    Video,
    #[sea_orm(string_value = "WHITEPAPER")]
    Whitepaper,
    #[sea_orm(string_value = "OTHER")]
    Other,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "content_assets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub kind: ContentKind,
    /// An http or https URL.
    pub url: String,
    /// The message (agreed document) the asset carries, if any.
    pub message_id: Option<Uuid>,
    pub owner_id: Option<Uuid>,
    pub archived_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
