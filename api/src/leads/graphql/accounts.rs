//! Accounts: the companies leads work for.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ActivityConnection, ArchiveInput, Lead, LeadConnection, lead_list, nested_activities};
use crate::agreements::icps;
use crate::connection;
use crate::db::rows::Shown;
use crate::error::Result;
use crate::graphql::pagination::{PageArgs, sorted_cursor, sorted_window};
use crate::graphql::patch::{clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::prefetch::child_page;
use crate::graphql::scalars::MinorUnits;
use crate::graphql::{Money, OrderDirection, actor, db, loaders, parse_id, selects};
use crate::leads::accounts::{self, AccountCriteria, AccountFields, AccountOrder};
use crate::leads::activities::ActivityCriteria;
use crate::leads::{LeadCriteria, LeadOrder};
use crate::org::graphql::User;
use crate::pipeline::graphql::Opportunity;

/// A company leads work for and deals are made with.
#[derive(Clone)]
pub struct Account(Shown<entity::account::Model>);

crate::graphql::loaders::shown_object!(Account, entity::account::Model, accounts, "account");

impl Account {
    fn uuid(&self) -> Uuid {
        self.0.id()
    }
}

fn annual_revenue(m: &entity::account::Model) -> Option<Money> {
    match (m.annual_revenue_minor, &m.currency) {
        (Some(amount_minor), Some(currency)) => {
            Some(Money { amount_minor: amount_minor.into(), currency: currency.clone() })
        }
        _ => None,
    }
}

/// A company leads work for and deals are made with.
// `leads` and `activities` box their futures, for the reason `Lead`'s fields do.
#[Object]
impl Account {
    /// Stable id of the account.
    pub async fn id(&self) -> ID {
        self.uuid().into()
    }

    /// Company name.
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// Web domain such as `acme.com`; unique within the organization; imports match accounts by it.
    async fn domain(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.row(ctx).await?.domain.clone())
    }

    /// Industry, as the organization names industries (such as `Fintech`).
    async fn industry(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.row(ctx).await?.industry.clone())
    }

    /// Number of employees.
    async fn employee_count(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.row(ctx).await?.employee_count)
    }

    /// Annual revenue.
    async fn annual_revenue(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        Ok(annual_revenue(&*self.row(ctx).await?))
    }

    /// Sales region, such as `EMEA`.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.row(ctx).await?.region.clone())
    }

    /// True once a deal with the account was won.
    async fn is_customer(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(self.row(ctx).await?.customer_since.is_some())
    }

    /// When the first deal was won.
    async fn customer_since(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.row(ctx).await?.customer_since)
    }

    /// When the account was archived; archived accounts leave lists unless asked for.
    async fn archived_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        Ok(self.row(ctx).await?.archived_at)
    }

    /// Optimistic-lock version; pass it as `expectedVersion` when updating.
    async fn version(&self, ctx: &Context<'_>) -> Result<i32> {
        Ok(self.row(ctx).await?.version)
    }

    /// When the account was created (UTC).
    async fn created_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.created_at)
    }

    /// When the account last changed (UTC).
    async fn updated_at(&self, ctx: &Context<'_>) -> Result<DateTime<Utc>> {
        Ok(self.row(ctx).await?.updated_at)
    }

    /// The account's owner in sales.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.row(ctx).await?.owner_id else { return Ok(None) };
        Ok(loaders(ctx)?.users.load_one(id).await?.map(User::from))
    }

    /// The account's leads (not archived), newest first.
    async fn leads(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many leads (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Leads after this cursor.")] after: Option<String>,
    ) -> Result<LeadConnection> {
        Box::pin(async move {
            let (actor, loaders) = (actor(ctx)?, loaders(ctx)?);
            let order = LeadOrder::CreatedAt;
            let list = lead_list(order, OrderDirection::Desc);
            let args = PageArgs::new(first, after, None, None);
            let org = crate::graphql::actor(ctx)?.org_id;
            let window = sorted_window(&args, &list, org, |v| order.key_value(v))?;
            let count = selects(ctx, "totalCount");
            let criteria = LeadCriteria { account_id: Some(self.uuid()), ..Default::default() };
            let later = || async {
                let (direction, joins) = (OrderDirection::Desc.into(), Default::default());
                let page = crate::leads::list(db(ctx), actor, &criteria, order, direction, &window, count, joins);
                Ok(page.await?.map(|l| l.lead))
            };
            let (leads, counts) = (&loaders.account_leads, &loaders.account_lead_counts);
            let page = child_page(leads, counts, self.uuid(), &args, &window, count, None, later).await?;
            Ok(LeadConnection::from_page(
                ctx,
                page,
                |l| sorted_cursor(&list, org, order.lead_key(l).unwrap_or_default(), l.id),
                Lead::from,
            ))
        })
        .await
    }

    /// How well the account fits the organization's ideal customer profiles in force:
    /// the best fit (a full fit first, then the higher score, then the first profile by
    /// name), naming the profile. Null while no profile is agreed. Industries and regions
    /// compare trimmed and case-insensitively; a profile's revenue range in another
    /// currency than the account's revenue is a miss (amounts are never converted).
    async fn icp_fit(&self, ctx: &Context<'_>) -> Result<Option<IcpFit>> {
        let icps = loaders(ctx)?.agreed_icps().await?;
        let account = self.row(ctx).await?;
        let facts = crate::agreements::icps::AccountFacts {
            industry: account.industry.as_deref(),
            employee_count: account.employee_count,
            annual_revenue_minor: account.annual_revenue_minor.filter(|_| account.currency.is_some()),
            currency: account.currency.as_deref().filter(|_| account.annual_revenue_minor.is_some()),
            region: account.region.as_deref(),
        };
        Ok(icps::best_fit(&icps, &facts).map(|(icp, fit)| IcpFit {
            icp_id: icp.id.into(),
            icp_name: icp.profile.name.clone(),
            icp_version: icp.version,
            fits: fit.fits,
            score: fit.score,
            matched: fit.matched,
            missed: fit.missed,
        }))
    }

    /// The account's deals, newest first.
    async fn opportunities(&self, ctx: &Context<'_>) -> Result<Vec<Opportunity>> {
        let rows = loaders(ctx)?.account_opportunities.load_one(self.uuid()).await?.unwrap_or_default();
        Ok(rows.into_iter().filter(|o| o.archived_at.is_none()).map(Opportunity::from).collect())
    }

    /// Activities with the account, newest first.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many activities (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
    ) -> Result<ActivityConnection> {
        let criteria = ActivityCriteria { account_id: Some(self.uuid()), ..Default::default() };
        let l = loaders(ctx)?;
        let (pages, counts) = (&l.account_activities, &l.account_activity_counts);
        Box::pin(nested_activities(ctx, first, after, criteria, pages, counts, self.uuid(), None)).await
    }
}

/// How well an account fits an ideal customer profile in force, criterion by criterion.
/// A criterion the profile leaves empty is not counted; `extraCriteria` is never tested.
#[derive(SimpleObject, Clone)]
pub struct IcpFit {
    /// The profile this fit is measured against (the best of the profiles in force).
    pub icp_id: ID,
    /// Name of that profile.
    pub icp_name: String,
    /// The agreed version of that profile in force.
    pub icp_version: i32,
    /// True when the account meets every criterion the profile sets.
    pub fits: bool,
    /// Share of the profile's criteria the account meets, 0 to 100, rounded down (100
    /// for a profile that sets no criterion).
    pub score: i32,
    /// The criteria met, each with the reason.
    pub matched: Vec<icps::CriterionCheck>,
    /// The criteria missed, each with the reason: a value outside the profile, a value
    /// not set on the account, or revenue in another currency than the profile's range.
    pub missed: Vec<icps::CriterionCheck>,
}

connection!(AccountConnection, AccountEdge, Account, "accounts");

/// Narrows accounts. All given conditions must hold.
#[derive(InputObject, Default, Clone)]
pub struct AccountFilter {
    /// Only accounts in these industries.
    pub industries: Option<Vec<String>>,
    /// Only accounts in these regions.
    pub regions: Option<Vec<String>>,
    /// Only accounts owned by this user.
    pub owner_id: Option<ID>,
    /// Only accounts with at least this many employees (0 to 10,000,000).
    pub employees_min: Option<i32>,
    /// Only accounts with at most this many employees (0 to 10,000,000).
    pub employees_max: Option<i32>,
    /// Only customers (true) or only prospects (false).
    pub is_customer: Option<bool>,
    /// Case-insensitive part of the name or domain.
    pub search: Option<String>,
    /// Only accounts that fit at least one ideal customer profile in force (true), or
    /// only accounts that fit none (false) — the `fits` of `Account.icpFit`. With no
    /// agreed profile, true matches no account and false every account.
    pub icp_fit: Option<bool>,
    /// Include archived accounts (default false).
    #[graphql(default)]
    pub include_archived: bool,
}

impl AccountFilter {
    pub(super) fn criteria(self, prefix: &str) -> Result<AccountCriteria> {
        Ok(AccountCriteria {
            industries: self.industries.unwrap_or_default(),
            regions: self.regions.unwrap_or_default(),
            owner_id: optional_id(&format!("{prefix}ownerId"), self.owner_id.as_ref())?,
            employees_min: self.employees_min,
            employees_max: self.employees_max,
            customers_only: self.is_customer,
            search: self.search,
            icp_fit: self.icp_fit,
            icps: Vec::new(),
            include_archived: self.include_archived,
        })
    }
}

/// What accounts are sorted by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOrderField {
    /// Name, case-insensitive.
    Name,
    /// Creation time.
    CreatedAt,
}

/// How to sort accounts.
#[derive(InputObject, Clone, Copy)]
pub struct AccountOrderBy {
    /// The field to sort by.
    pub field: AccountOrderField,
    /// The direction (default ASC for NAME… pass it explicitly).
    pub direction: OrderDirection,
}

/// A company to add.
#[derive(InputObject)]
pub struct CreateAccountInput {
    /// Company name.
    pub name: String,
    /// Web domain such as `acme.com` (normalised: `https://www.Acme.com/` becomes `acme.com`).
    pub domain: Option<String>,
    /// Industry.
    pub industry: Option<String>,
    /// Number of employees, 0 to 10,000,000.
    pub employee_count: Option<i32>,
    /// Annual revenue in minor units of `currency` (such as cents), 0 to 1,000,000,000,000,000.
    pub annual_revenue_minor: Option<MinorUnits>,
    /// ISO-4217 currency of the annual revenue.
    pub currency: Option<String>,
    /// Sales region.
    pub region: Option<String>,
    /// The owner in sales.
    pub owner_id: Option<ID>,
}

/// Changes to an account: a field left out stays as it is; null clears a field that
/// may be empty and is BAD_USER_INPUT for the name.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// The account to change.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New company name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New domain. Left out: unchanged. null: cleared.
    pub domain: MaybeUndefined<String>,
    /// New industry. Left out: unchanged. null: cleared.
    pub industry: MaybeUndefined<String>,
    /// New number of employees, 0 to 10,000,000. Left out: unchanged. null: cleared.
    pub employee_count: MaybeUndefined<i32>,
    /// New annual revenue in minor units, 0 to 1,000,000,000,000,000 (needs a currency).
    /// Left out: unchanged. null: cleared.
    pub annual_revenue_minor: MaybeUndefined<MinorUnits>,
    /// New currency of the annual revenue. Left out: unchanged. null: cleared (refused
    /// while the account has an annual revenue).
    pub currency: MaybeUndefined<String>,
    /// New region. Left out: unchanged. null: cleared.
    pub region: MaybeUndefined<String>,
    /// New owner in sales, an active user. Left out: unchanged. null: cleared.
    pub owner_id: MaybeUndefined<ID>,
}

/// The result of an account mutation.
#[derive(SimpleObject)]
pub struct AccountPayload {
    /// The account as stored after the change.
    pub account: Account,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Accounts of the organization (by name by default). API keys need `LEADS_READ`.
    #[allow(clippy::too_many_arguments)]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        order_by: Option<AccountOrderBy>,
        #[graphql(desc = "At most this many accounts from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Accounts after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many accounts from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Accounts before this cursor.")] before: Option<String>,
    ) -> Result<AccountConnection> {
        let actor = actor(ctx)?;
        let order_by =
            order_by.unwrap_or(AccountOrderBy { field: AccountOrderField::Name, direction: OrderDirection::Asc });
        let order = match order_by.field {
            AccountOrderField::Name => AccountOrder::Name,
            AccountOrderField::CreatedAt => AccountOrder::CreatedAt,
        };
        let list = format!("accounts.{:?}.{:?}", order_by.field, order_by.direction);
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), &list, org, |v| order.key_value(v))?;
        let criteria = filter.unwrap_or_default().criteria("filter.")?;
        let page = accounts::list(
            db(ctx),
            actor,
            &criteria,
            order,
            order_by.direction.into(),
            &window,
            selects(ctx, "totalCount"),
        )
        .await?;
        Ok(AccountConnection::from_page(ctx, page, |a| sorted_cursor(&list, org, order.key_of(a), a.id), Account::from))
    }

    /// One account; null with NOT_FOUND when absent or another organization's.
    async fn account(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Account>> {
        let id = parse_id("id", &id)?;
        Ok(Some(accounts::get(db(ctx), actor(ctx)?, id).await?.into()))
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Add a company. Needs write access (not VIEWER; API keys need `LEADS_WRITE`).
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> Result<AccountPayload> {
        let fields = AccountFields {
            name: Some(input.name),
            domain: Some(input.domain),
            industry: Some(input.industry),
            employee_count: Some(input.employee_count),
            annual_revenue_minor: Some(input.annual_revenue_minor.map(Into::into)),
            currency: Some(input.currency),
            region: Some(input.region),
            owner_id: Some(optional_id("ownerId", input.owner_id.as_ref())?),
        };
        let account = accounts::create(db(ctx), actor(ctx)?, fields).await?;
        Ok(AccountPayload { account: account.into() })
    }

    /// Change a company.
    async fn update_account(&self, ctx: &Context<'_>, input: UpdateAccountInput) -> Result<AccountPayload> {
        let id = parse_id("id", &input.id)?;
        let fields = AccountFields {
            name: keep_or_set("name", input.name)?,
            domain: clearable(input.domain),
            industry: clearable(input.industry),
            employee_count: clearable(input.employee_count),
            annual_revenue_minor: clearable(input.annual_revenue_minor.map_value(Into::into)),
            currency: clearable(input.currency),
            region: clearable(input.region),
            owner_id: clearable_id("ownerId", input.owner_id)?,
        };
        let account = accounts::update(db(ctx), actor(ctx)?, id, fields, input.expected_version).await?;
        Ok(AccountPayload { account: account.into() })
    }

    /// Archive a company: it leaves lists unless they ask for archived records.
    async fn archive_account(&self, ctx: &Context<'_>, input: ArchiveInput) -> Result<AccountPayload> {
        let id = parse_id("id", &input.id)?;
        let account = accounts::archive(db(ctx), actor(ctx)?, id, input.expected_version).await?;
        Ok(AccountPayload { account: account.into() })
    }
}
