//! `content_usages`: one use of a content asset by a user, optionally with a lead
//! or opportunity and a rating.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Whether an asset helped when it was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContentRating {
    #[sea_orm(string_value = "HELPFUL")]
    Helpful,
    #[sea_orm(string_value = "NOT_HELPFUL")]
    NotHelpful,
}

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "content_usages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub asset_id: Uuid,
    pub user_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub used_at: DateTimeUtc,
    pub rating: Option<ContentRating>,
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
