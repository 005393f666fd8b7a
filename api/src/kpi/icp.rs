//! The ICP report: how much of what was won came from accounts that fit an ideal
//! customer profile in force, and what the won customers the profiles leave out
//! look like — an ICP based on real customers.
//!
//! It reads the deals won in a period (one query) and their accounts (one query per
//! thousand), and tests each account with [`icps::fit`], the function
//! `Account.icpFit` and the `icpFit` filter use. Money is never added across
//! currencies: revenue is reported per currency.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use entity::OpportunityStage;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::periods::Period;
use super::settings;
use crate::agreements::icps::{self, AgreedIcp, IdealCustomerProfile};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::error::{ApiError, Result};

/// Most entries of each "left out" list.
pub const MAX_TOP: i32 = 20;
/// Entries of each "left out" list when the caller names no number.
pub const DEFAULT_TOP: i32 = 5;
/// Longest period, in days: ten years.
pub const MAX_DAYS: i64 = 3660;

/// Employee-size bands the report groups customers by: (smallest, largest, label).
pub const EMPLOYEE_BANDS: [(i32, Option<i32>, &str); 8] = [
    (0, Some(10), "0–10"),
    (11, Some(50), "11–50"),
    (51, Some(200), "51–200"),
    (201, Some(500), "201–500"),
    (501, Some(1000), "501–1000"),
    (1001, Some(5000), "1001–5000"),
    (5001, Some(10_000), "5001–10000"),
    (10_001, None, "10001+"),
];

/// Won revenue in one currency: all of it, and the part from accounts that fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyShare {
    pub currency: String,
    pub won_minor: i64,
    pub from_fits_minor: i64,
}

/// A value (an industry, a size band, a region) among won customers that no profile
/// in force covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub value: String,
    /// Distinct won customers with the value.
    pub customers: u64,
    /// Deals won from them in the period.
    pub deals: u64,
}

/// The report of one period.
#[derive(Debug, Clone)]
pub struct IcpReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The profiles in force it was measured against.
    pub icps: Vec<AgreedIcp>,
    pub won_deals: u64,
    pub won_deals_from_fits: u64,
    pub customers: u64,
    pub customers_fitting: u64,
    /// Per currency, by code.
    pub revenue: Vec<CurrencyShare>,
    pub industries: Vec<Gap>,
    pub employee_bands: Vec<Gap>,
    pub regions: Vec<Gap>,
}

/// The band of an employee count.
pub fn employee_band(count: i32) -> &'static str {
    EMPLOYEE_BANDS
        .iter()
        .find(|(min, max, _)| count >= *min && max.is_none_or(|m| count <= m))
        .map_or("10001+", |(_, _, label)| label)
}

/// Does any profile cover this value of a list criterion (a profile that leaves the
/// criterion empty covers every value)?
fn list_covers(icps: &[IdealCustomerProfile], value: &str, list: fn(&IdealCustomerProfile) -> &[String]) -> bool {
    let key = icps::comparable(value);
    icps.iter().any(|icp| {
        let values = list(icp);
        values.is_empty() || values.iter().any(|v| icps::comparable(v) == key)
    })
}

fn size_covered(icps: &[IdealCustomerProfile], count: i32) -> bool {
    icps.iter().any(|icp| match icp.employee_range {
        None => true,
        Some(r) => r.min.is_none_or(|m| i64::from(count) >= m) && r.max.is_none_or(|m| i64::from(count) <= m),
    })
}

/// One won deal as the report reads it.
#[derive(Debug, Clone)]
pub struct WonDeal {
    pub account_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
}

/// The report from won deals and their accounts (pure: the figures of [`icp_report`]).
pub fn compile(
    icps: &[AgreedIcp],
    deals: &[WonDeal],
    accounts: &HashMap<Uuid, entity::account::Model>,
    top: usize,
) -> (u64, u64, u64, u64, Vec<CurrencyShare>, [Vec<Gap>; 3]) {
    let profiles: Vec<IdealCustomerProfile> = icps.iter().map(|i| i.profile.clone()).collect();
    let fits: HashMap<Uuid, bool> = accounts.values().map(|a| (a.id, icps::fits_any(icps, a))).collect();
    let mut revenue: BTreeMap<String, CurrencyShare> = BTreeMap::new();
    let mut from_fits = 0;
    // Per dimension: value → (customers, deals).
    let mut gaps: [BTreeMap<String, (std::collections::HashSet<Uuid>, u64)>; 3] = Default::default();
    for deal in deals {
        let fit = fits.get(&deal.account_id).copied().unwrap_or(false);
        let share = revenue.entry(deal.currency.clone()).or_insert_with(|| CurrencyShare {
            currency: deal.currency.clone(),
            won_minor: 0,
            from_fits_minor: 0,
        });
        share.won_minor = share.won_minor.saturating_add(deal.amount_minor);
        if fit {
            from_fits += 1;
            share.from_fits_minor = share.from_fits_minor.saturating_add(deal.amount_minor);
        }
        let Some(account) = accounts.get(&deal.account_id) else { continue };
        let mut note = |dimension: usize, value: String| {
            let entry = gaps[dimension].entry(value).or_default();
            entry.0.insert(account.id);
            entry.1 += 1;
        };
        if let Some(industry) = account.industry.as_deref().filter(|i| !list_covers(&profiles, i, |p| &p.industries)) {
            note(0, industry.trim().to_owned());
        }
        if let Some(count) = account.employee_count.filter(|c| !size_covered(&profiles, *c)) {
            note(1, employee_band(count).to_owned());
        }
        if let Some(region) = account.region.as_deref().filter(|r| !list_covers(&profiles, r, |p| &p.regions)) {
            note(2, region.trim().to_owned());
        }
    }
    let customers = deals.iter().map(|d| d.account_id).collect::<std::collections::HashSet<_>>();
    let fitting = customers.iter().filter(|id| fits.get(id).copied().unwrap_or(false)).count();
    let ranked = |map: BTreeMap<String, (std::collections::HashSet<Uuid>, u64)>| {
        let mut list: Vec<Gap> =
            map.into_iter().map(|(value, (ids, deals))| Gap { value, customers: ids.len() as u64, deals }).collect();
        // Most customers first, then most deals; ties by value (the map's order, kept by a stable sort).
        list.sort_by(|a, b| b.customers.cmp(&a.customers).then(b.deals.cmp(&a.deals)));
        list.truncate(top);
        list
    };
    let [industries, bands, regions] = gaps;
    (
        deals.len() as u64,
        from_fits,
        customers.len() as u64,
        fitting as u64,
        revenue.into_values().collect(),
        [ranked(industries), ranked(bands), ranked(regions)],
    )
}

/// The ICP report of the deals won from `from` to `to` (days in the organization's
/// time zone, inclusive), with the `top` most common left-out values per dimension.
/// Read like KPIs (`KPIS_READ` for API keys).
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn icp_report(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: NaiveDate,
    to: NaiveDate,
    top: i32,
) -> Result<IcpReport> {
    require(can_read(actor, Scope::KpisRead), "read the ICP report")?;
    crate::validate::int_range("top", top, 1, MAX_TOP.into())?;
    if to < from {
        return Err(ApiError::bad_input("to", "must not be before `from`"));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::bad_input("to", "an ICP report covers at most ten years"));
    }
    let tz = settings(db, actor.org_id).await?.tz();
    let window = Period::new(tz, from, to.succ_opt().unwrap_or(to));
    let icps = icps::agreed(db, actor.org_id).await?;
    use entity::opportunity::{Column, Entity};
    let deals: Vec<WonDeal> = Entity::find()
        .select_only()
        .columns([Column::AccountId, Column::AmountMinor, Column::Currency])
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Stage.eq(OpportunityStage::ClosedWon))
        .filter(Column::ArchivedAt.is_null())
        .filter(Column::ClosedAt.gte(window.start_at))
        .filter(Column::ClosedAt.lt(window.end_at))
        .order_by_asc(Column::Id)
        .into_tuple::<(Uuid, i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(account_id, amount_minor, currency)| WonDeal { account_id, amount_minor, currency })
        .collect();
    let ids: Vec<Uuid> = deals.iter().map(|d| d.account_id).collect();
    let accounts = crate::leads::accounts::by_ids(db, actor.org_id, &ids).await?;
    let (won_deals, won_deals_from_fits, customers, customers_fitting, revenue, [industries, employee_bands, regions]) =
        compile(&icps, &deals, &accounts, top as usize);
    Ok(IcpReport {
        from,
        to,
        icps,
        won_deals,
        won_deals_from_fits,
        customers,
        customers_fitting,
        revenue,
        industries,
        employee_bands,
        regions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreements::icps::Range;

    fn account(industry: &str, employees: i32, region: &str) -> entity::account::Model {
        let now = chrono::Utc::now();
        entity::account::Model {
            id: Uuid::now_v7(),
            org_id: Uuid::nil(),
            name: industry.into(),
            domain: None,
            industry: Some(industry.into()),
            employee_count: Some(employees),
            annual_revenue_minor: None,
            currency: None,
            region: Some(region.into()),
            owner_id: None,
            customer_since: None,
            name_key: industry.to_lowercase(),
            archived_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn shares_count_fitting_deals_and_gaps_name_what_the_profile_leaves_out() {
        let icp = AgreedIcp {
            id: Uuid::now_v7(),
            version: 1,
            profile: IdealCustomerProfile {
                name: "EMEA software".into(),
                industries: vec!["Software".into()],
                employee_range: Some(Range { min: Some(50), max: Some(500) }),
                revenue_range: None,
                regions: vec!["EMEA".into()],
                extra_criteria: None,
            },
        };
        let fits = account("software", 100, "emea");
        let retail = account("Retail", 2000, "NA");
        let retail2 = account("Retail", 20, "EMEA");
        let deal = |a: &entity::account::Model, amount, currency: &str| WonDeal {
            account_id: a.id,
            amount_minor: amount,
            currency: currency.into(),
        };
        let deals = vec![
            deal(&fits, 1000, "EUR"),
            deal(&fits, 500, "USD"),
            deal(&retail, 3000, "EUR"),
            deal(&retail2, 100, "EUR"),
            deal(&retail2, 100, "EUR"),
        ];
        let accounts: HashMap<Uuid, _> = [&fits, &retail, &retail2].into_iter().map(|a| (a.id, a.clone())).collect();
        let (won, from_fits, customers, fitting, revenue, [industries, bands, regions]) =
            compile(std::slice::from_ref(&icp), &deals, &accounts, 5);
        assert_eq!((won, from_fits, customers, fitting), (5, 2, 3, 1));
        assert_eq!(
            revenue,
            [
                CurrencyShare { currency: "EUR".into(), won_minor: 4200, from_fits_minor: 1000 },
                CurrencyShare { currency: "USD".into(), won_minor: 500, from_fits_minor: 500 },
            ]
        );
        assert_eq!(industries, [Gap { value: "Retail".into(), customers: 2, deals: 3 }]);
        assert_eq!(
            bands,
            [
                Gap { value: "11–50".into(), customers: 1, deals: 2 },
                Gap { value: "1001–5000".into(), customers: 1, deals: 1 },
            ]
        );
        assert_eq!(regions, [Gap { value: "NA".into(), customers: 1, deals: 1 }]);
        let (.., [industries, _, _]) = compile(&[icp], &deals, &accounts, 0);
        assert!(industries.is_empty());
    }

    #[test]
    fn bands_cover_every_count() {
        assert_eq!(employee_band(0), "0–10");
        assert_eq!(employee_band(50), "11–50");
        assert_eq!(employee_band(51), "51–200");
        assert_eq!(employee_band(10_000), "5001–10000");
        assert_eq!(employee_band(10_000_000), "10001+");
    }
}
