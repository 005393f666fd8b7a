//! Accounts: the companies leads work for. Matched by domain, which is unique per
//! organization.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use entity::account::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Select, Set};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{ensure_user, optional_patch};
use crate::agreements::icps::{self, IdealCustomerProfile};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, can_write, require};
use crate::db::Transactions;
use crate::db::keyset::{Direction, Page, Window, fetch_page_by};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::archive::{self, Archivable};
use crate::events::audit::{self, Changes};
use crate::validate::{self, SHORT, like_pattern, lower_like};

/// Account fields as given by a client (create) or a patch (update: `None` keeps).
#[derive(Debug, Clone, Default)]
pub struct AccountFields {
    pub name: Option<String>,
    /// `Some(None)` clears the field.
    pub domain: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub employee_count: Option<Option<i32>>,
    pub annual_revenue_minor: Option<Option<i64>>,
    pub currency: Option<Option<String>>,
    pub region: Option<Option<String>>,
    pub owner_id: Option<Option<Uuid>>,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct AccountCriteria {
    pub industries: Vec<String>,
    pub regions: Vec<String>,
    pub owner_id: Option<Uuid>,
    pub employees_min: Option<i32>,
    pub employees_max: Option<i32>,
    pub search: Option<String>,
    pub customers_only: Option<bool>,
    /// Only accounts that fit an agreed ICP (true) or fit none (false).
    pub icp_fit: Option<bool>,
    /// The profiles in force that `icp_fit` tests against: set by [`AccountCriteria::load_icps`]
    /// before [`AccountCriteria::apply`]; none loaded counts as none agreed.
    pub icps: Vec<IdealCustomerProfile>,
    pub include_archived: bool,
}

impl AccountCriteria {
    /// Check the criteria's numbers; errors name `prefix` + the filter field, such as
    /// `filter.account.employeesMin`.
    pub fn validate(&self, prefix: &str) -> Result<()> {
        for (name, value) in [("employeesMin", self.employees_min), ("employeesMax", self.employees_max)] {
            if let Some(value) = value {
                validate::int_range(&format!("{prefix}{name}"), value, 0, validate::MAX_EMPLOYEES)?;
            }
        }
        for (name, values) in [("industries", &self.industries), ("regions", &self.regions)] {
            for value in values {
                validate::no_control_characters(&format!("{prefix}{name}"), value)?;
            }
        }
        if let Some(search) = &self.search {
            validate::no_control_characters(&format!("{prefix}search"), search)?;
        }
        Ok(())
    }

    /// Load the organization's profiles in force when the criteria test ICP fit (one
    /// read of the agreed documents; nothing otherwise).
    pub async fn load_icps(&mut self, db: &impl ConnectionTrait, org_id: uuid::Uuid) -> Result<()> {
        if self.icp_fit.is_some() {
            self.icps = icps::agreed(db, org_id).await?.into_iter().map(|i| i.profile).collect();
        }
        Ok(())
    }

    /// Apply the criteria to a query of accounts of `org_id`.
    pub fn apply(&self, mut select: Select<Entity>) -> Select<Entity> {
        if let Some(fits) = self.icp_fit {
            let any = fits_any(&self.icps);
            select = select.filter(if fits { any } else { any.not() });
        }
        if !self.industries.is_empty() {
            select = select.filter(Column::Industry.is_in(self.industries.iter().cloned()));
        }
        if !self.regions.is_empty() {
            select = select.filter(Column::Region.is_in(self.regions.iter().cloned()));
        }
        if let Some(owner) = self.owner_id {
            select = select.filter(Column::OwnerId.eq(owner));
        }
        if let Some(min) = self.employees_min {
            select = select.filter(Column::EmployeeCount.gte(min));
        }
        if let Some(max) = self.employees_max {
            select = select.filter(Column::EmployeeCount.lte(max));
        }
        if let Some(customers) = self.customers_only {
            select = select.filter(if customers {
                Column::CustomerSince.is_not_null()
            } else {
                Column::CustomerSince.is_null()
            });
        }
        if let Some(search) = self.search.as_deref().filter(|s| !s.trim().is_empty()) {
            let pattern = like_pattern(search);
            select = select.filter(lower_like(Column::NameKey, &pattern).or(lower_like(Column::Domain, &pattern)));
        }
        if !self.include_archived {
            select = select.filter(Column::ArchivedAt.is_null());
        }
        select
    }

    pub fn is_empty(&self) -> bool {
        self.industries.is_empty()
            && self.regions.is_empty()
            && self.owner_id.is_none()
            && self.employees_min.is_none()
            && self.employees_max.is_none()
            && self.search.as_deref().is_none_or(|s| s.trim().is_empty())
            && self.customers_only.is_none()
            && self.icp_fit.is_none()
    }
}

/// The SQL twin of [`icps::fit`] (`fits`): accounts that meet every criterion `icp`
/// sets. Never NULL — each test of a nullable column also requires it to be set — so
/// its negation is exactly "does not fit". Industries and regions compare lower-cased
/// (stored values are trimmed on write); revenue compares in minor units of the
/// profile's currency, and only for accounts whose revenue is in that currency.
pub fn fits_condition(icp: &IdealCustomerProfile) -> Condition {
    let col = |c: Column| Expr::col((Entity, c));
    let lower = |c: Column| Expr::expr(Func::lower(Expr::col((Entity, c))));
    let keys = |list: &[String]| list.iter().map(|v| icps::comparable(v)).collect::<Vec<_>>();
    let mut all = Condition::all().add(Expr::val(1).eq(1));
    if !icp.industries.is_empty() {
        all = all.add(col(Column::Industry).is_not_null()).add(lower(Column::Industry).is_in(keys(&icp.industries)));
    }
    if let Some(range) = icp.employee_range.filter(|r| r.min.is_some() || r.max.is_some()) {
        all = all.add(col(Column::EmployeeCount).is_not_null());
        if let Some(min) = range.min {
            all = all.add(col(Column::EmployeeCount).gte(min));
        }
        if let Some(max) = range.max {
            all = all.add(col(Column::EmployeeCount).lte(max));
        }
    }
    if let Some(range) = icp.revenue_range.as_ref().filter(|r| r.min.is_some() || r.max.is_some()) {
        let per_unit = icps::minor_units_per_unit(&range.currency);
        all = all
            .add(col(Column::AnnualRevenueMinor).is_not_null())
            .add(col(Column::Currency).is_not_null())
            .add(col(Column::Currency).eq(range.currency.trim().to_uppercase()));
        if let Some(min) = range.min {
            all = all.add(col(Column::AnnualRevenueMinor).gte(min.saturating_mul(per_unit)));
        }
        if let Some(max) = range.max {
            all = all.add(col(Column::AnnualRevenueMinor).lte(max.saturating_mul(per_unit)));
        }
    }
    if !icp.regions.is_empty() {
        all = all.add(col(Column::Region).is_not_null()).add(lower(Column::Region).is_in(keys(&icp.regions)));
    }
    all
}

/// Accounts that fit at least one of `icps` (none when there are none).
pub fn fits_any(icps: &[IdealCustomerProfile]) -> Condition {
    icps.iter().fold(Condition::any().add(Expr::val(1).eq(0)), |any, icp| any.add(fits_condition(icp)))
}

/// The ids of `org_id`'s accounts that fit at least one of `icps` (the KPI engine's ICP-fit
/// dimension).
pub fn fitting_ids(org_id: Uuid, icps: &[IdealCustomerProfile]) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column((Entity, Column::Id))
        .from(Entity)
        .and_where(Expr::col((Entity, Column::OrgId)).eq(org_id))
        .cond_where(fits_any(icps))
        .to_owned()
}

/// How accounts are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrder {
    Name,
    CreatedAt,
}

impl AccountOrder {
    pub fn column(self) -> Column {
        match self {
            Self::Name => Column::NameKey,
            Self::CreatedAt => Column::CreatedAt,
        }
    }

    /// The cursor value of an account in this order.
    pub fn key_of(self, account: &Model) -> Json {
        match self {
            Self::Name => Json::from(account.name_key.clone()),
            Self::CreatedAt => Json::from(account.created_at.to_rfc3339()),
        }
    }

    pub fn key_value(self, value: &Json) -> Option<sea_orm::Value> {
        match self {
            Self::Name => value.as_str().map(|s| s.to_owned().into()),
            Self::CreatedAt => crate::db::keyset::time_key(value),
        }
    }
}

pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::LeadsRead), "read accounts")?;
    find(db, actor, id).await
}

pub(crate) async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "account").await
}

/// An account referenced by an input field: BAD_USER_INPUT naming the field when it
/// is not one of the caller's.
pub(crate) async fn ensure(db: &impl ConnectionTrait, actor: &Actor, id: Uuid, field: &str) -> Result<Model> {
    find(db, actor, id).await.map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::bad_input(field, "no such account"),
        other => other,
    })
}

#[tracing::instrument(skip(db, actor, window), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &AccountCriteria,
    order: AccountOrder,
    direction: Direction,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::LeadsRead), "read accounts")?;
    criteria.validate("filter.")?;
    let mut criteria = criteria.clone();
    criteria.load_icps(db, actor.org_id).await?;
    let select = criteria.apply(Entity::find().filter(Column::OrgId.eq(actor.org_id)));
    fetch_page_by(db, select, &[order.column(), Column::Id], direction, window, count).await
}

struct Validated {
    name: String,
    domain: Option<String>,
    industry: Option<String>,
    employee_count: Option<i32>,
    annual_revenue_minor: Option<i64>,
    currency: Option<String>,
    region: Option<String>,
    owner_id: Option<Uuid>,
}

/// Validate fields over `base` (the stored account, or nothing for a new one).
async fn validate(
    db: &impl ConnectionTrait,
    actor: &Actor,
    fields: AccountFields,
    base: Option<&Model>,
) -> Result<Validated> {
    let name = match (fields.name, base) {
        (Some(name), _) => validate::text("name", &name, SHORT)?,
        (None, Some(base)) => base.name.clone(),
        (None, None) => return Err(ApiError::bad_input("name", "must not be empty")),
    };
    let domain = optional_patch(fields.domain, base.map(|b| b.domain.clone()), |d| {
        d.map(|d| validate::domain("domain", &d)).transpose()
    })?;
    let industry = optional_patch(fields.industry, base.map(|b| b.industry.clone()), |v| {
        validate::optional_text("industry", v.as_deref(), SHORT)
    })?;
    let region = optional_patch(fields.region, base.map(|b| b.region.clone()), |v| {
        validate::optional_text("region", v.as_deref(), SHORT)
    })?;
    let employee_count = optional_patch(fields.employee_count, base.map(|b| b.employee_count), |v| {
        v.map(|n| validate::int_range("employeeCount", n, 0, validate::MAX_EMPLOYEES)).transpose()
    })?;
    let annual_revenue_minor =
        optional_patch(fields.annual_revenue_minor, base.map(|b| b.annual_revenue_minor), |v| {
            v.map(|v| validate::amount("annualRevenueMinor", v)).transpose()
        })?;
    let currency = optional_patch(fields.currency, base.map(|b| b.currency.clone()), |v| {
        v.map(|v| validate::currency("currency", &v)).transpose()
    })?;
    if annual_revenue_minor.is_some() && currency.is_none() {
        return Err(ApiError::bad_input("currency", "is required with an annual revenue"));
    }
    let owner_id = optional_patch(fields.owner_id, base.map(|b| b.owner_id), Ok)?;
    // A new owner must be active; a stored one who has since left does not block a
    // change to other fields (as for leads and deals).
    if let Some(owner) = owner_id.filter(|o| base.is_none_or(|b| b.owner_id != Some(*o))) {
        ensure_user(db, actor, owner, "ownerId").await?;
    }
    Ok(Validated { name, domain, industry, employee_count, annual_revenue_minor, currency, region, owner_id })
}

async fn ensure_domain_free(
    db: &impl ConnectionTrait,
    actor: &Actor,
    domain: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id)).filter(Column::Domain.eq(domain));
    if let Some(id) = except {
        select = select.filter(Column::Id.ne(id));
    }
    if let Some(existing) = select.one(db).await? {
        return Err(ApiError::Conflict(format!(
            "the account {} ({}) already has the domain {domain}",
            existing.name, existing.id
        )));
    }
    Ok(())
}

/// Insert an account inside the caller's transaction (also used by the lead import).
pub(crate) async fn insert(txn: &impl ConnectionTrait, actor: &Actor, fields: AccountFields) -> Result<Model> {
    let v = validate(txn, actor, fields, None).await?;
    if let Some(domain) = &v.domain {
        ensure_domain_free(txn, actor, domain, None).await?;
    }
    let now = Utc::now();
    let account = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        name_key: Set(v.name.to_lowercase()),
        name: Set(v.name),
        domain: Set(v.domain),
        industry: Set(v.industry),
        employee_count: Set(v.employee_count),
        annual_revenue_minor: Set(v.annual_revenue_minor),
        currency: Set(v.currency),
        region: Set(v.region),
        owner_id: Set(v.owner_id),
        customer_since: Set(None),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let changes = Changes::new()
        .created("name", &account.name)
        .created("domain", &account.domain)
        .created("industry", &account.industry)
        .created("employeeCount", &account.employee_count)
        .created("region", &account.region)
        .created("ownerId", &account.owner_id);
    audit::record(txn, actor, "account.create", "account", Some(account.id), changes).await?;
    Ok(account)
}

#[tracing::instrument(skip(db, actor, fields), fields(org = %actor.org_id))]
pub async fn create(db: &impl Transactions, actor: &Actor, fields: AccountFields) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "create accounts")?;
    let txn = crate::db::begin_write(db).await?;
    let account = insert(&txn, actor, fields).await?;
    txn.commit().await?;
    Ok(account)
}

#[tracing::instrument(skip(db, actor, fields), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl Transactions,
    actor: &Actor,
    id: Uuid,
    fields: AccountFields,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "change accounts")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    let v = validate(&txn, actor, fields, Some(&current)).await?;
    if let Some(domain) = v.domain.as_deref().filter(|d| Some(*d) != current.domain.as_deref()) {
        ensure_domain_free(&txn, actor, domain, Some(id)).await?;
    }
    let changes = Changes::new()
        .field("name", Some(&current.name), Some(&v.name))
        .field("domain", Some(&current.domain), Some(&v.domain))
        .field("industry", Some(&current.industry), Some(&v.industry))
        .field("employeeCount", Some(&current.employee_count), Some(&v.employee_count))
        .field("annualRevenueMinor", Some(&current.annual_revenue_minor), Some(&v.annual_revenue_minor))
        .field("currency", Some(&current.currency), Some(&v.currency))
        .field("region", Some(&current.region), Some(&v.region))
        .field("ownerId", Some(&current.owner_id), Some(&v.owner_id));
    if changes.is_empty() {
        return Ok(current);
    }
    let mut model: ActiveModel = current.clone().into();
    model.name_key = Set(v.name.to_lowercase());
    model.name = Set(v.name);
    model.domain = Set(v.domain);
    model.industry = Set(v.industry);
    model.employee_count = Set(v.employee_count);
    model.annual_revenue_minor = Set(v.annual_revenue_minor);
    model.currency = Set(v.currency);
    model.region = Set(v.region);
    model.owner_id = Set(v.owner_id);
    let updated = save_versioned(&txn, current.id, current.version, model).await?;
    audit::record(&txn, actor, "account.update", "account", Some(id), changes).await?;
    // Industry, size, region and revenue are fit-rule inputs of the account's leads.
    let leads = entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(actor.org_id))
        .filter(entity::lead::Column::AccountId.eq(id))
        .all(&txn)
        .await?;
    super::score_inputs_changed(&txn, actor, leads, super::ScoreInputs::Changed).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Archive an account: it leaves lists unless they ask for archived records.
pub async fn archive(db: &impl Transactions, actor: &Actor, id: Uuid, expected_version: Option<i32>) -> Result<Model> {
    require(can_write(actor, Scope::LeadsWrite), "archive accounts")?;
    let kind = Archivable { entity: "account", noun: "account" };
    archive::archive::<ActiveModel>(db, actor, kind, id, expected_version).await
}

/// Mark an account a customer (its first won deal) inside the caller's transaction.
pub(crate) async fn mark_customer(txn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<()> {
    let current = find(txn, actor, id).await?;
    if current.customer_since.is_some() {
        return Ok(());
    }
    let now = Utc::now();
    let mut model: ActiveModel = current.clone().into();
    model.customer_since = Set(Some(now));
    save_versioned(txn, current.id, current.version, model).await?;
    audit::record(
        txn,
        actor,
        "account.becomeCustomer",
        "account",
        Some(id),
        Changes::new().field("customerSince", None, Some(&now)),
    )
    .await
}

/// How many accounts match, for tests and summaries.
pub async fn count(db: &impl ConnectionTrait, actor: &Actor) -> Result<u64> {
    Ok(Entity::find().filter(Column::OrgId.eq(actor.org_id)).count(db).await?)
}

/// The organization's accounts among `ids`, by id, one query per 1,000 ids.
pub(crate) async fn by_ids(db: &impl ConnectionTrait, org_id: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, Model>> {
    let ids: Vec<Uuid> = ids.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let mut accounts = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let select = Entity::find().filter(Column::OrgId.eq(org_id)).filter(Column::Id.is_in(chunk.iter().copied()));
        let rows = crate::db::rows::all::<Model>(db, select).await?;
        accounts.extend(rows.into_iter().map(|a| (a.id, a)));
    }
    Ok(accounts)
}
