//! Bulk import for integration partners: up to 1,000 rows a call, upserted by
//! external id or e-mail, accounts matched or created by domain. Each row succeeds
//! or fails on its own (a savepoint per row), so one bad row never fails or
//! half-writes the good ones, and repeating a call changes nothing.

use std::collections::{HashMap, HashSet};

use entity::LifecycleStage;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use uuid::Uuid;

use super::accounts::{self, AccountFields};
use super::{LeadFields, LeadValues, check_references, validate_fields};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_write, require};
use crate::db::Transactions;
use crate::error::{ApiError, Result};
use crate::validate;

/// Most rows one call may carry.
pub const MAX_ROWS: usize = 1000;

/// Import calls one server process runs at once; the HTTP layer reads as many large
/// bodies at once.
pub const CONCURRENT_CALLS: usize = 4;
static RUNNING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_CALLS);

/// Which field identifies an existing lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The same lead as an earlier row of the call (e-mails compared case-insensitively):
    /// skipped, so a call's outcome never depends on which of the two is written last.
    Duplicate,
    Error,
}

#[derive(Debug, Clone)]
pub struct RowResult {
    /// Position of the row in the call's rows, from 0 (clients are shown it from 1).
    pub row: usize,
    pub status: RowStatus,
    pub lead_id: Option<Uuid>,
    pub message: Option<String>,
    pub field: Option<String>,
}

/// Import rows; with `dry_run` nothing is stored but every row reports what would happen.
#[tracing::instrument(skip(db, actor, rows), fields(org = %actor.org_id, n = rows.len()))]
pub async fn import(
    db: &impl Transactions,
    actor: &Actor,
    rows: Vec<ImportRow>,
    match_on: MatchOn,
    dry_run: bool,
) -> Result<Vec<RowResult>> {
    require(can_write(actor, Scope::LeadsWrite), "import leads")?;
    if rows.len() > MAX_ROWS {
        return Err(ApiError::bad_input("rows", format!("give at most {MAX_ROWS} rows per call")));
    }
    // Calls beyond this many wait their turn: on a busy server more at once only
    // compete for the same cores and connections, and each holds its rows in memory.
    let _turn = RUNNING.acquire().await.map_err(|_| ApiError::internal("the import queue is closed"))?;
    let txn = crate::db::begin_write(db).await?;
    let mut known = Known::load(&txn, actor, &rows, match_on).await?;
    let mut results = Vec::with_capacity(rows.len());
    let mut written = Vec::with_capacity(rows.len());
    let mut first_row: HashMap<String, usize> = HashMap::new();
    for (index, row) in rows.into_iter().enumerate() {
        if let Some(key) = match_key(&row, match_on) {
            let first = *first_row.entry(key).or_insert(index);
            if first != index {
                let field = match match_on {
                    MatchOn::Email => "email",
                    MatchOn::ExternalId => "externalId",
                };
                results.push(RowResult {
                    row: index,
                    status: RowStatus::Duplicate,
                    lead_id: None,
                    message: Some(format!("the same lead as row {}: skipped", first + 1)),
                    field: Some(field.to_owned()),
                });
                continue;
            }
        }
        // A row that would change nothing costs no statement (partners re-send whole lists).
        match known.unchanged(&row, match_on) {
            Some(lead_id) => results.push(RowResult {
                row: index,
                status: RowStatus::Unchanged,
                lead_id: Some(lead_id),
                message: None,
                field: None,
            }),
            None => written.push((index, row)),
        }
    }
    // New leads that need no new account and clash with nothing are created together;
    // if that fails (another call created one of them meanwhile), row by row after all.
    let (new, mut one_by_one) = plan_creations(&txn, actor, written, match_on, &known).await?;
    if !new.is_empty() {
        let savepoint = txn.begin().await?;
        let values = new.iter().map(|c| (c.values.clone(), c.stage)).collect();
        match super::insert_many(&savepoint, actor, values).await {
            Ok(leads) => {
                savepoint.commit().await?;
                for (creation, lead) in new.iter().zip(leads) {
                    let status = RowStatus::Created;
                    results.push(RowResult {
                        row: creation.index,
                        status,
                        lead_id: Some(lead.id),
                        message: None,
                        field: None,
                    });
                    known.remember(lead, None, match_on);
                }
            }
            Err(error) => {
                savepoint.rollback().await?;
                tracing::warn!(%error, "creating an import's new leads together failed; creating them one by one");
                one_by_one.extend(new.into_iter().map(|c| (c.index, c.row)));
                one_by_one.sort_by_key(|(index, _)| *index);
            }
        }
    }
    // Every other row writes under a savepoint of its own, in the order given.
    for (index, row) in one_by_one {
        let savepoint = txn.begin().await?;
        match import_row(&savepoint, actor, row, match_on, &known).await {
            Ok((status, lead, account)) => {
                savepoint.commit().await?;
                results.push(RowResult { row: index, status, lead_id: Some(lead.id), message: None, field: None });
                known.remember(lead, account, match_on);
            }
            Err(error) => {
                savepoint.rollback().await?;
                let (message, field) = match error {
                    ApiError::BadUserInput { message, field } => (message, field),
                    ApiError::Conflict(message) => (message, None),
                    // Within a row only the stage it names can be refused: its stage rights.
                    ApiError::Forbidden(message) => (message, Some("lifecycleStage".to_owned())),
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
    results.sort_by_key(|r| r.row);
    Ok(results)
}

/// A row that creates a lead with no account to create and no unique value to check.
struct Creation {
    index: usize,
    row: ImportRow,
    values: LeadValues,
    stage: LifecycleStage,
}

/// Split the rows to write into leads that can be created together and rows to write
/// one by one: rows that update a lead, create an account, fail validation, or share
/// an e-mail or external id with another row of the call or a stored lead (processing
/// those in order keeps the result of a call the same as writing every row in turn).
async fn plan_creations(
    db: &impl ConnectionTrait,
    actor: &Actor,
    rows: Vec<(usize, ImportRow)>,
    match_on: MatchOn,
    known: &Known,
) -> Result<(Vec<Creation>, Vec<(usize, ImportRow)>)> {
    let mut occurrences: HashMap<(MatchOn, String), usize> = HashMap::new();
    for (_, row) in &rows {
        for on in [MatchOn::Email, MatchOn::ExternalId] {
            if let Some(key) = match_key(row, on) {
                *occurrences.entry((on, key)).or_default() += 1;
            }
        }
    }
    let once =
        |on: MatchOn, value: Option<&String>| value.is_none_or(|v| occurrences.get(&(on, v.clone())) == Some(&1));
    let (mut creations, mut one_by_one) = (Vec::new(), Vec::new());
    for (index, row) in rows {
        let key = match_key(&row, match_on);
        let values = match (key, known.account_field(&row)) {
            (Some(key), Some(account_id)) if !known.leads.contains_key(&key) => {
                validate_fields(fields_of(row.clone(), account_id), None).ok()
            }
            _ => None,
        };
        match values {
            // A row naming a stage past NEW enters it under the stage's rights and
            // criteria, which the one-by-one path checks.
            Some(values)
                if once(MatchOn::Email, Some(&values.email))
                    && once(MatchOn::ExternalId, values.external_id.as_ref())
                    && row.lifecycle_stage.is_none_or(|stage| stage == LifecycleStage::New) =>
            {
                let stage = row.lifecycle_stage.unwrap_or(LifecycleStage::New);
                creations.push(Creation { index, row, values, stage });
            }
            _ => one_by_one.push((index, row)),
        }
    }
    // The stored leads hold the call's match keys (`known`); the other unique column is
    // checked here, in one statement.
    let (column, other): (_, fn(&LeadValues) -> Option<String>) = match match_on {
        MatchOn::Email => (entity::lead::Column::ExternalId, |v| v.external_id.clone()),
        MatchOn::ExternalId => (entity::lead::Column::Email, |v| Some(v.email.clone())),
    };
    let values: Vec<String> = creations.iter().filter_map(|c| other(&c.values)).collect();
    if !values.is_empty() {
        let taken: HashSet<String> = entity::lead::Entity::find()
            .select_only()
            .column(column)
            .filter(entity::lead::Column::OrgId.eq(actor.org_id))
            .filter(column.is_in(values))
            .into_tuple::<Option<String>>()
            .all(db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let (clear, clashing): (Vec<Creation>, Vec<Creation>) =
            creations.into_iter().partition(|c| other(&c.values).is_none_or(|v| !taken.contains(&v)));
        creations = clear;
        one_by_one.extend(clashing.into_iter().map(|c| (c.index, c.row)));
        one_by_one.sort_by_key(|(index, _)| *index);
    }
    Ok((creations, one_by_one))
}

/// The leads and accounts a call's rows name, read in two statements up front and
/// kept current as rows are written, so that no row looks them up again and unchanged
/// rows need no statement at all.
struct Known {
    leads: HashMap<String, entity::lead::Model>,
    accounts: HashMap<String, entity::account::Model>,
}

impl Known {
    async fn load(db: &impl ConnectionTrait, actor: &Actor, rows: &[ImportRow], match_on: MatchOn) -> Result<Self> {
        use entity::lead::Column;
        let keys: HashSet<String> = rows.iter().filter_map(|row| match_key(row, match_on)).collect();
        let domains: HashSet<String> = rows.iter().filter_map(row_domain).collect();
        let column = match match_on {
            MatchOn::Email => Column::Email,
            MatchOn::ExternalId => Column::ExternalId,
        };
        let leads = if keys.is_empty() {
            Vec::new()
        } else {
            entity::lead::Entity::find()
                .filter(Column::OrgId.eq(actor.org_id))
                .filter(column.is_in(keys))
                .all(db)
                .await?
        };
        let accounts = if domains.is_empty() {
            Vec::new()
        } else {
            entity::account::Entity::find()
                .filter(entity::account::Column::OrgId.eq(actor.org_id))
                .filter(entity::account::Column::Domain.is_in(domains))
                .all(db)
                .await?
        };
        let mut known = Self { leads: HashMap::new(), accounts: HashMap::new() };
        for lead in leads {
            known.remember(lead, None, match_on);
        }
        for account in accounts {
            known.remember_account(account);
        }
        Ok(known)
    }

    fn remember(&mut self, lead: entity::lead::Model, account: Option<entity::account::Model>, match_on: MatchOn) {
        let key = match match_on {
            MatchOn::Email => Some(lead.email.clone()),
            MatchOn::ExternalId => lead.external_id.clone(),
        };
        if let Some(key) = key {
            self.leads.insert(key, lead);
        }
        if let Some(account) = account {
            self.remember_account(account);
        }
    }

    fn remember_account(&mut self, account: entity::account::Model) {
        if let Some(domain) = account.domain.clone() {
            self.accounts.insert(domain, account);
        }
    }

    /// The row's `account_id` field when it needs no account created: no change when it
    /// names no domain, else the known account of its domain. `None` when the domain is
    /// unknown or invalid (writing the row creates the account or reports the error).
    fn account_field(&self, row: &ImportRow) -> Option<Option<Option<Uuid>>> {
        match row.domain.as_deref().filter(|d| !d.trim().is_empty()) {
            None => Some(None),
            Some(_) => Some(Some(Some(self.accounts.get(&row_domain(row)?)?.id))),
        }
    }

    /// The lead a valid row would leave exactly as it is, if it is one.
    fn unchanged(&self, row: &ImportRow, match_on: MatchOn) -> Option<Uuid> {
        let lead = self.leads.get(&match_key(row, match_on)?)?;
        let values = validate_fields(fields_of(row.clone(), self.account_field(row)?), Some(lead)).ok()?;
        (values == LeadValues::of(lead)).then_some(lead.id)
    }
}

/// The normalised value a row is matched on, when it is valid.
fn match_key(row: &ImportRow, match_on: MatchOn) -> Option<String> {
    match match_on {
        MatchOn::Email => validate::email("email", row.email.as_deref()?).ok(),
        MatchOn::ExternalId => validate::text("externalId", row.external_id.as_deref()?, validate::SHORT).ok(),
    }
}

fn row_domain(row: &ImportRow) -> Option<String> {
    row.domain.as_deref().filter(|d| !d.trim().is_empty()).and_then(|d| validate::domain("domain", d).ok())
}

/// The lead fields a row carries: only those change; absent ones keep the stored values.
fn fields_of(row: ImportRow, account_id: Option<Option<Uuid>>) -> LeadFields {
    let some = |v: Option<String>| v.map(Some);
    LeadFields {
        email: row.email,
        first_name: some(row.first_name),
        last_name: some(row.last_name),
        title: some(row.title),
        phone: some(row.phone),
        source: some(row.source),
        campaign: some(row.campaign),
        external_id: some(row.external_id),
        account_id,
        ..Default::default()
    }
}

/// Import one row: the lead written (or left as it was) and the account it created, if
/// any. `known` holds every lead and account the call's rows name, as of now.
async fn import_row(
    db: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    row: ImportRow,
    match_on: MatchOn,
    known: &Known,
) -> Result<(RowStatus, entity::lead::Model, Option<entity::account::Model>)> {
    let key = match match_on {
        MatchOn::Email => validate::email("email", row.email.as_deref().unwrap_or_default())?,
        MatchOn::ExternalId => {
            validate::text("externalId", row.external_id.as_deref().unwrap_or_default(), validate::SHORT)?
        }
    };
    let existing = known.leads.get(&key).cloned();
    let (account_id, created_account) = match row.domain.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(domain) => {
            let (id, created) = match_account(db, actor, &row, domain, known).await?;
            (Some(Some(id)), created)
        }
        None => (None, None),
    };
    let stage = row.lifecycle_stage;
    let values: LeadValues = validate_fields(fields_of(row, account_id), existing.as_ref())?;
    check_references(db, actor, &values, existing.as_ref()).await?;
    match existing {
        Some(lead) => {
            let (lead, changed) = super::apply(db, actor, lead, values).await?;
            Ok((if changed { RowStatus::Updated } else { RowStatus::Unchanged }, lead, created_account))
        }
        None => {
            let lead = super::insert(db, actor, values, stage.unwrap_or(LifecycleStage::New)).await?;
            Ok((RowStatus::Created, lead, created_account))
        }
    }
}

/// The account with this domain, created from the row's company data when missing
/// (then also returned, to be remembered for the call's later rows).
async fn match_account(
    db: &impl ConnectionTrait,
    actor: &Actor,
    row: &ImportRow,
    domain: &str,
    known: &Known,
) -> Result<(Uuid, Option<entity::account::Model>)> {
    let domain = validate::domain("domain", domain)?;
    if let Some(account) = known.accounts.get(&domain) {
        return Ok((account.id, None));
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
    Ok((account.id, Some(account)))
}
