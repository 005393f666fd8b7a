//! Bulk import for integration partners: up to 1,000 rows a call, upserted by
//! external id or e-mail, accounts matched or created by domain. Each row succeeds
//! or fails on its own (a savepoint per row), so one bad row never fails or
//! half-writes the good ones, and repeating a call changes nothing.

use entity::LifecycleStage;
use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};
use uuid::Uuid;

use super::accounts::{self, AccountFields};
use super::{LeadFields, LeadValues, check_references, validate_fields};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_write, require};
use crate::error::{ApiError, Result};
use crate::validate;

/// Most rows one call may carry.
pub const MAX_ROWS: usize = 1000;

/// Which field identifies an existing lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOn {
    ExternalId,
    Email,
}

/// One row of an import.
#[derive(Debug, Clone, Default)]
pub struct ImportRow {
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    pub lifecycle_stage: Option<LifecycleStage>,
    pub company: Option<String>,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i32>,
    pub region: Option<String>,
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Created,
    Updated,
    Unchanged,
    Error,
}

#[derive(Debug, Clone)]
pub struct RowResult {
    pub row: usize,
    pub status: RowStatus,
    pub lead_id: Option<Uuid>,
    pub message: Option<String>,
    pub field: Option<String>,
}

/// Import rows; with `dry_run` nothing is stored but every row reports what would happen.
#[tracing::instrument(skip(db, actor, rows), fields(org = %actor.org_id, n = rows.len()))]
pub async fn import(
    db: &impl TransactionTrait,
    actor: &Actor,
    rows: Vec<ImportRow>,
    match_on: MatchOn,
    dry_run: bool,
) -> Result<Vec<RowResult>> {
    require(can_write(actor, Scope::LeadsWrite), "import leads")?;
    if rows.len() > MAX_ROWS {
        return Err(ApiError::bad_input("rows", format!("give at most {MAX_ROWS} rows per call")));
    }
    let txn = crate::db::begin_write(db).await?;
    let mut results = Vec::with_capacity(rows.len());
    for (index, row) in rows.into_iter().enumerate() {
        let savepoint = txn.begin().await?;
        match import_row(&savepoint, actor, row, match_on).await {
            Ok((status, lead_id)) => {
                savepoint.commit().await?;
                results.push(RowResult { row: index, status, lead_id: Some(lead_id), message: None, field: None });
            }
            Err(error) => {
                savepoint.rollback().await?;
                let (message, field) = match error {
                    ApiError::BadUserInput { message, field } => (message, field),
                    ApiError::Conflict(message) => (message, None),
                    ApiError::Internal => return Err(ApiError::Internal),
                    other => (other.to_string(), None),
                };
                results.push(RowResult {
                    row: index,
                    status: RowStatus::Error,
                    lead_id: None,
                    message: Some(message),
                    field,
                });
            }
        }
    }
    if dry_run {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(results)
}

async fn import_row(
    db: &impl ConnectionTrait,
    actor: &Actor,
    row: ImportRow,
    match_on: MatchOn,
) -> Result<(RowStatus, Uuid)> {
    let existing = match match_on {
        MatchOn::Email => {
            let email = validate::email("email", row.email.as_deref().unwrap_or_default())?;
            super::find_by_email(db, actor, &email).await?
        }
        MatchOn::ExternalId => {
            let id = validate::text("externalId", row.external_id.as_deref().unwrap_or_default(), validate::SHORT)?;
            super::find_by_external_id(db, actor, &id).await?
        }
    };
    let account_id = match row.domain.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(domain) => Some(match_account(db, actor, &row, domain).await?),
        None => None,
    };
    // Only the columns a row carries change; absent ones keep the stored values.
    let some = |v: Option<String>| v.map(Some);
    let fields = LeadFields {
        email: row.email,
        first_name: some(row.first_name),
        last_name: some(row.last_name),
        title: some(row.title),
        phone: some(row.phone),
        source: some(row.source),
        campaign: some(row.campaign),
        external_id: some(row.external_id),
        account_id: account_id.map(Some),
        ..Default::default()
    };
    let values: LeadValues = validate_fields(fields, existing.as_ref())?;
    check_references(db, actor, &values, existing.as_ref()).await?;
    match existing {
        Some(lead) => {
            let (lead, changed) = super::apply(db, actor, lead, values).await?;
            Ok((if changed { RowStatus::Updated } else { RowStatus::Unchanged }, lead.id))
        }
        None => {
            let stage = row.lifecycle_stage.unwrap_or(LifecycleStage::New);
            let lead = super::insert(db, actor, values, stage).await?;
            Ok((RowStatus::Created, lead.id))
        }
    }
}

/// The account with this domain, created from the row's company data when missing.
async fn match_account(db: &impl ConnectionTrait, actor: &Actor, row: &ImportRow, domain: &str) -> Result<Uuid> {
    let domain = validate::domain("domain", domain)?;
    if let Some(account) = accounts::find_by_domain(db, actor, &domain).await? {
        return Ok(account.id);
    }
    let name = row.company.clone().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| domain.clone());
    let fields = AccountFields {
        name: Some(name),
        domain: Some(Some(domain)),
        industry: Some(row.industry.clone()),
        employee_count: Some(row.employee_count),
        region: Some(row.region.clone()),
        ..Default::default()
    };
    let account = accounts::insert(db, actor, fields).await.map_err(|e| match e {
        ApiError::BadUserInput { message, field } => {
            ApiError::BadUserInput { message, field: field.map(|f| if f == "name" { "company".into() } else { f }) }
        }
        other => other,
    })?;
    Ok(account.id)
}
