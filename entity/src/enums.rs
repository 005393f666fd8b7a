//! Enumerations stored as text columns, shared by several tables.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// The team a user works in. Agreed documents need one approver from SALES and one
/// from MARKETING.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Team {
    #[sea_orm(string_value = "MARKETING")]
    Marketing,
    #[sea_orm(string_value = "SALES")]
    Sales,
    #[sea_orm(string_value = "SERVICE")]
    Service,
    #[sea_orm(string_value = "REVOPS")]
    Revops,
    #[sea_orm(string_value = "LEADERSHIP")]
    Leadership,
}

/// What a user may do inside their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    #[sea_orm(string_value = "ADMIN")]
    Admin,
    #[sea_orm(string_value = "MANAGER")]
    Manager,
    #[sea_orm(string_value = "MEMBER")]
    Member,
    #[sea_orm(string_value = "VIEWER")]
    Viewer,
}
