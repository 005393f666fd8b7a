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

/// The kinds of agreed documents. Each kind keeps its typed body as JSON in
/// `document_versions.body`; the workflow is the same for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DocumentKind {
    #[sea_orm(string_value = "DEFINITION")]
    Definition,
    #[sea_orm(string_value = "IDEAL_CUSTOMER_PROFILE")]
    IdealCustomerProfile,
    #[sea_orm(string_value = "PERSONA")]
    Persona,
    #[sea_orm(string_value = "SLA")]
    Sla,
}

/// Where an agreed document stands as a whole: being written, proposed for sign-off,
/// agreed by both teams (possibly with a newer proposal pending), or retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AgreementStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "PROPOSED")]
    Proposed,
    #[sea_orm(string_value = "AGREED")]
    Agreed,
    #[sea_orm(string_value = "RETIRED")]
    Retired,
}

/// Where one version of an agreed document stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VersionStatus {
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    #[sea_orm(string_value = "PROPOSED")]
    Proposed,
    #[sea_orm(string_value = "AGREED")]
    Agreed,
    /// Replaced by a later version (agreed or not) before or after being in force.
    #[sea_orm(string_value = "SUPERSEDED")]
    Superseded,
    #[sea_orm(string_value = "RETIRED")]
    Retired,
}

/// What a goal measures. Progress is computed from the KPI of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(48))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GoalMetric {
    #[sea_orm(string_value = "NEW_LEADS")]
    NewLeads,
    #[sea_orm(string_value = "MQLS")]
    Mqls,
    #[sea_orm(string_value = "SALS")]
    Sals,
    #[sea_orm(string_value = "SQLS")]
    Sqls,
    #[sea_orm(string_value = "OPPORTUNITIES")]
    Opportunities,
    #[sea_orm(string_value = "PIPELINE_AMOUNT")]
    PipelineAmount,
    #[sea_orm(string_value = "CLOSED_WON_DEALS")]
    ClosedWonDeals,
    #[sea_orm(string_value = "CLOSED_WON_REVENUE")]
    ClosedWonRevenue,
    #[sea_orm(string_value = "CUSTOMER_FACING_HOURS")]
    CustomerFacingHours,
}
