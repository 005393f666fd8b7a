//! Ideal customer profiles: the market sales and marketing agree to go after —
//! industries, company size, revenue, regions and any further criteria.
//!
//! An agreed profile is used, not just filed: [`fit`] is the one pure function that
//! says whether an account fits a profile, criterion by criterion. `Account.icpFit`,
//! the accounts filter (its SQL twin lives with the accounts query), the `ICP` fit
//! rule of scoring and the ICP report all read it.

use async_graphql::{Enum, InputObject, Json, SimpleObject};
use entity::{AgreementStatus, DocumentKind};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{AgreedBody, DocumentCriteria};
use crate::auth::Actor;
use crate::error::{ApiError, Result};
use crate::validate::{self, Wording};

/// Most annual revenue a range may name, in whole currency units: the largest money
/// amount ([`validate::MAX_AMOUNT_MINOR`]) in units of a hundred minor units.
pub const MAX_REVENUE: i64 = validate::MAX_AMOUNT_MINOR / 100;

/// An inclusive range of whole numbers; either end may be open. Employee counts run
/// from 0 to 10,000,000.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Default)]
#[graphql(input_name = "RangeInput")]
pub struct Range {
    /// Smallest value included (0 to 10,000,000 employees); null for no lower bound.
    pub min: Option<i64>,
    /// Largest value included (0 to 10,000,000 employees, at least `min`); null for no upper bound.
    pub max: Option<i64>,
}

impl Range {
    /// Both ends within `0..=max`, in order; errors name `field.min`, `field.max` or `field`.
    fn validate(self, field: &str, max: i64) -> Result<Self> {
        for (end, value) in [("min", self.min), ("max", self.max)] {
            if let Some(value) = value {
                validate::int_range(&format!("{field}.{end}"), value, 0, max)?;
            }
        }
        if let (Some(min), Some(max)) = (self.min, self.max)
            && min > max
        {
            return Err(ApiError::bad_input(field, "min must not exceed max"));
        }
        Ok(self)
    }
}

/// A range of annual revenue in whole units of a currency.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(input_name = "RevenueRangeInput")]
pub struct RevenueRange {
    /// Smallest annual revenue included, in whole currency units from 0 to
    /// 10,000,000,000,000; null for no lower bound.
    pub min: Option<i64>,
    /// Largest annual revenue included, in whole currency units from 0 to
    /// 10,000,000,000,000 (at least `min`); null for no upper bound.
    pub max: Option<i64>,
    /// ISO-4217 currency code, such as "EUR".
    pub currency: String,
}

/// The body of one version of an ideal customer profile.
#[derive(SimpleObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(name = "IdealCustomerProfileBody")]
#[serde(rename_all = "camelCase")]
pub struct IdealCustomerProfile {
    /// Name of the profile, such as "Mid-market SaaS in Europe"; unique within the organization.
    pub name: String,
    /// Industries that fit, such as "Software".
    pub industries: Vec<String>,
    /// Company size in employees.
    pub employee_range: Option<Range>,
    /// Annual revenue.
    pub revenue_range: Option<RevenueRange>,
    /// Regions that fit, such as "DACH" or "Nordics".
    pub regions: Vec<String>,
    /// Further criteria as structured data, such as `{ "techStack": ["Salesforce"] }`.
    pub extra_criteria: Option<Json<Value>>,
}

impl AgreedBody for IdealCustomerProfile {
    const KIND: DocumentKind = DocumentKind::IdealCustomerProfile;

    fn validate(self) -> Result<Self> {
        let revenue_range = match self.revenue_range {
            Some(r) => {
                let bounds = Range { min: r.min, max: r.max }.validate("revenueRange", MAX_REVENUE)?;
                let currency = r.currency.trim().to_uppercase();
                if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                    return Err(ApiError::bad_input("revenueRange.currency", "must be an ISO-4217 code such as EUR"));
                }
                Some(RevenueRange { min: bounds.min, max: bounds.max, currency })
            }
            None => None,
        };
        let extra_criteria = match self.extra_criteria {
            Some(Json(Value::Null)) | None => None,
            Some(Json(value @ Value::Object(_))) => Some(Json(value)),
            Some(_) => return Err(ApiError::bad_input("extraCriteria", "must be a JSON object")),
        };
        Ok(Self {
            name: validate::text_with("name", &self.name, 200, Wording::Range)?,
            industries: validate::text_list("industries", self.industries, 50, 100)?,
            employee_range: self
                .employee_range
                .map(|r| r.validate("employeeRange", validate::MAX_EMPLOYEES))
                .transpose()?,
            revenue_range,
            regions: validate::text_list("regions", self.regions, 50, 100)?,
            extra_criteria,
        })
    }

    fn key(&self) -> String {
        self.name.trim().to_lowercase()
    }

    fn title(&self) -> String {
        self.name.clone()
    }
}

/// One criterion of a profile that an account is tested against. `extraCriteria` is
/// free-form and never tested.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[graphql(name = "IcpCriterion")]
pub enum Criterion {
    /// The account's industry is one of the profile's industries (trimmed, case-insensitive).
    Industry,
    /// The account's employee count lies within the profile's employee range.
    EmployeeCount,
    /// The account's annual revenue lies within the profile's revenue range, in the same currency.
    AnnualRevenue,
    /// The account's region is one of the profile's regions (trimmed, case-insensitive).
    Region,
}

/// The outcome of one criterion for one account.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
#[graphql(name = "IcpCriterionCheck")]
pub struct CriterionCheck {
    /// The criterion tested.
    pub criterion: Criterion,
    /// Why it matched or missed, in a sentence: "region EMEA is one of EMEA, NA",
    /// "employee count is not set", "annual revenue is in USD; the profile's range is in EUR".
    pub reason: String,
}

/// What an account shows the profile: its stored industry, size, revenue and region.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountFacts<'a> {
    pub industry: Option<&'a str>,
    pub employee_count: Option<i32>,
    /// Annual revenue in minor units of `currency`.
    pub annual_revenue_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub region: Option<&'a str>,
}

impl<'a> AccountFacts<'a> {
    pub fn of(account: &'a entity::account::Model) -> Self {
        Self {
            industry: account.industry.as_deref(),
            employee_count: account.employee_count,
            annual_revenue_minor: account.annual_revenue_minor,
            currency: account.currency.as_deref(),
            region: account.region.as_deref(),
        }
    }
}

/// How well one account fits one profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Every criterion the profile sets is met (true for a profile that sets none).
    pub fits: bool,
    /// Share of the profile's criteria met, 0 to 100, rounded down (100 when it sets none).
    pub score: i32,
    pub matched: Vec<CriterionCheck>,
    pub missed: Vec<CriterionCheck>,
}

/// Text as profiles compare it: trimmed and lower-cased.
pub fn comparable(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Minor units per whole unit of an ISO-4217 currency (100 for EUR, 1 for JPY); 100
/// for a code without a known subdivision.
pub fn minor_units_per_unit(currency: &str) -> i64 {
    iso_currency::Currency::from_code(&currency.trim().to_uppercase())
        .and_then(|c| c.subunit_fraction())
        .map_or(100, i64::from)
}

/// A range's bounds in words: "50–500", "at least 50", "at most 500".
fn bounds(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("{min}–{max}"),
        (Some(min), None) => format!("at least {min}"),
        (None, Some(max)) => format!("at most {max}"),
        (None, None) => "any".to_owned(),
    }
}

fn within(value: i64, min: Option<i64>, max: Option<i64>) -> bool {
    min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

/// The profile's list test: the account's value among the profile's (trimmed, lower-cased).
fn one_of(what: &str, value: Option<&str>, list: &[String]) -> (bool, String) {
    let shown = list.join(", ");
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => (false, format!("{what} is not set")),
        Some(v) => {
            let key = comparable(v);
            if list.iter().any(|l| comparable(l) == key) {
                (true, format!("{what} {v} is one of {shown}"))
            } else {
                (false, format!("{what} {v} is not one of {shown}"))
            }
        }
    }
}

/// Test an account against a profile, criterion by criterion. A criterion the profile
/// leaves empty (no industries, no regions, a range without bounds) is not counted;
/// `extraCriteria` is never counted. A revenue range in another currency than the
/// account's revenue misses: amounts in different currencies are not converted.
pub fn fit(icp: &IdealCustomerProfile, account: &AccountFacts<'_>) -> Fit {
    let mut checks: Vec<(bool, CriterionCheck)> = Vec::new();
    let mut check = |criterion, (ok, reason): (bool, String)| checks.push((ok, CriterionCheck { criterion, reason }));
    if !icp.industries.is_empty() {
        check(Criterion::Industry, one_of("industry", account.industry, &icp.industries));
    }
    if let Some(range) = icp.employee_range.filter(|r| r.min.is_some() || r.max.is_some()) {
        let wanted = bounds(range.min, range.max);
        check(
            Criterion::EmployeeCount,
            match account.employee_count {
                None => (false, "employee count is not set".to_owned()),
                Some(n) if within(n.into(), range.min, range.max) => (true, format!("{n} employees, within {wanted}")),
                Some(n) => (false, format!("{n} employees, not within {wanted}")),
            },
        );
    }
    if let Some(range) = icp.revenue_range.as_ref().filter(|r| r.min.is_some() || r.max.is_some()) {
        let wanted = format!("{} {}", bounds(range.min, range.max), range.currency);
        let outcome = match (account.annual_revenue_minor, account.currency) {
            (Some(minor), Some(currency)) if currency.trim().eq_ignore_ascii_case(range.currency.trim()) => {
                let per_unit = minor_units_per_unit(currency);
                let min = range.min.map(|m| m.saturating_mul(per_unit));
                let max = range.max.map(|m| m.saturating_mul(per_unit));
                let shown = format!("annual revenue {} {currency}", minor / per_unit);
                if within(minor, min, max) {
                    (true, format!("{shown}, within {wanted}"))
                } else {
                    (false, format!("{shown}, not within {wanted}"))
                }
            }
            (Some(_), Some(currency)) => (
                false,
                format!(
                    "annual revenue is in {currency}; the profile's range is in {}, and amounts in different currencies are not compared",
                    range.currency
                ),
            ),
            _ => (false, "annual revenue is not set".to_owned()),
        };
        check(Criterion::AnnualRevenue, outcome);
    }
    if !icp.regions.is_empty() {
        check(Criterion::Region, one_of("region", account.region, &icp.regions));
    }
    let total = checks.len();
    let (matched, missed): (Vec<_>, Vec<_>) = checks.into_iter().partition(|(ok, _)| *ok);
    let score = (matched.len() * 100).checked_div(total).map_or(100, |s| s as i32);
    Fit {
        fits: missed.is_empty(),
        score,
        matched: matched.into_iter().map(|(_, c)| c).collect(),
        missed: missed.into_iter().map(|(_, c)| c).collect(),
    }
}

/// A profile in force: its document id, the agreed version and its body.
#[derive(Debug, Clone)]
pub struct AgreedIcp {
    pub id: Uuid,
    pub version: i32,
    pub profile: IdealCustomerProfile,
}

/// The profiles in force in an organization (agreed and not retired), by name.
#[tracing::instrument(skip(db))]
pub async fn agreed(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Vec<AgreedIcp>> {
    let criteria = DocumentCriteria { statuses: vec![AgreementStatus::Agreed], search: None };
    let docs = super::list::<IdealCustomerProfile>(db, &Actor::system(org_id), &criteria).await?;
    Ok(docs
        .iter()
        .filter_map(|d| {
            d.in_force().map(|v| AgreedIcp { id: d.model.id, version: v.model.version, profile: v.body.clone() })
        })
        .collect())
}

/// Whether the account fits a profile in force: the one fit rule of the stage
/// criterion `icpFit`, the ICP report and `Account.icpFit`.
pub fn fits_any(icps: &[AgreedIcp], account: &entity::account::Model) -> bool {
    best_fit(icps, &AccountFacts::of(account)).is_some_and(|(_, fit)| fit.fits)
}

/// The profile the account fits best, with its fit: a full fit first, then the higher
/// score, then the first by name. `None` without profiles.
pub fn best_fit<'a>(icps: &'a [AgreedIcp], account: &AccountFacts<'_>) -> Option<(&'a AgreedIcp, Fit)> {
    let mut best: Option<(&AgreedIcp, Fit)> = None;
    for icp in icps {
        let candidate = fit(&icp.profile, account);
        let better = best.as_ref().is_none_or(|(_, b)| (candidate.fits, candidate.score) > (b.fits, b.score));
        if better {
            best = Some((icp, candidate));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> IdealCustomerProfile {
        IdealCustomerProfile {
            name: "Mid-market SaaS".into(),
            industries: vec!["Software".into(), " Fintech ".into()],
            employee_range: Some(Range { min: Some(50), max: Some(500) }),
            revenue_range: Some(RevenueRange { min: Some(1_000_000), max: None, currency: "EUR".into() }),
            regions: vec!["EMEA".into()],
            extra_criteria: None,
        }
    }

    fn criteria(checks: &[CriterionCheck]) -> Vec<Criterion> {
        checks.iter().map(|c| c.criterion).collect()
    }

    #[test]
    fn an_account_meeting_every_criterion_fits_with_100() {
        let account = AccountFacts {
            industry: Some("  fintech"),
            employee_count: Some(500),
            annual_revenue_minor: Some(100_000_000),
            currency: Some("EUR"),
            region: Some("emea "),
        };
        let f = fit(&profile(), &account);
        assert!(f.fits);
        assert_eq!(f.score, 100);
        assert!(f.missed.is_empty());
        let reasons: Vec<&str> = f.matched.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "industry fintech is one of Software,  Fintech ",
                "500 employees, within 50–500",
                "annual revenue 1000000 EUR, within at least 1000000 EUR",
                "region emea is one of EMEA",
            ]
        );
    }

    #[test]
    fn the_score_is_the_share_of_criteria_met_rounded_down() {
        // Industry and region met, size too small, revenue not set: 2 of 4.
        let account = AccountFacts {
            industry: Some("Software"),
            employee_count: Some(49),
            region: Some("EMEA"),
            ..Default::default()
        };
        let f = fit(&profile(), &account);
        assert!(!f.fits);
        assert_eq!(f.score, 50);
        assert_eq!(criteria(&f.matched), [Criterion::Industry, Criterion::Region]);
        assert_eq!(criteria(&f.missed), [Criterion::EmployeeCount, Criterion::AnnualRevenue]);
        assert_eq!(f.missed[0].reason, "49 employees, not within 50–500");
        assert_eq!(f.missed[1].reason, "annual revenue is not set");
        // 1 of 3 (no revenue range): 33.
        let icp = IdealCustomerProfile { revenue_range: None, ..profile() };
        let f = fit(&icp, &AccountFacts { region: Some("EMEA"), ..Default::default() });
        assert_eq!((f.fits, f.score), (false, 33));
    }

    #[test]
    fn criteria_left_empty_are_not_counted() {
        let icp = IdealCustomerProfile {
            industries: vec![],
            employee_range: Some(Range { min: None, max: None }),
            revenue_range: None,
            regions: vec!["NA".into()],
            ..profile()
        };
        let f = fit(&icp, &AccountFacts { region: Some("na"), ..Default::default() });
        assert_eq!((f.fits, f.score, f.matched.len(), f.missed.len()), (true, 100, 1, 0));
        let nothing = IdealCustomerProfile { regions: vec![], ..icp };
        let f = fit(&nothing, &AccountFacts::default());
        assert_eq!((f.fits, f.score), (true, 100));
    }

    #[test]
    fn revenue_in_another_currency_misses_and_says_why() {
        let account =
            AccountFacts { annual_revenue_minor: Some(900_000_000), currency: Some("USD"), ..Default::default() };
        let icp = IdealCustomerProfile { industries: vec![], employee_range: None, regions: vec![], ..profile() };
        let f = fit(&icp, &account);
        assert_eq!((f.fits, f.score), (false, 0));
        assert_eq!(
            f.missed[0].reason,
            "annual revenue is in USD; the profile's range is in EUR, and amounts in different currencies are not compared"
        );
        // Whole units count in the currency's own minor units: 1,000,000 JPY is 1,000,000 minor units.
        let yen = IdealCustomerProfile {
            revenue_range: Some(RevenueRange { min: Some(1_000_000), max: Some(1_000_000), currency: "JPY".into() }),
            ..icp
        };
        let account =
            AccountFacts { annual_revenue_minor: Some(1_000_000), currency: Some("JPY"), ..Default::default() };
        assert!(fit(&yen, &account).fits);
    }

    #[test]
    fn the_best_fit_wins_and_ties_go_to_the_first_by_name() {
        let agreed = |name: &str, regions: &[&str], industries: &[&str]| AgreedIcp {
            id: Uuid::now_v7(),
            version: 1,
            profile: IdealCustomerProfile {
                name: name.into(),
                industries: industries.iter().map(|s| s.to_string()).collect(),
                employee_range: None,
                revenue_range: None,
                regions: regions.iter().map(|s| s.to_string()).collect(),
                extra_criteria: None,
            },
        };
        let icps =
            [agreed("A", &["NA"], &["Retail"]), agreed("B", &["EMEA"], &["Retail"]), agreed("C", &["EMEA"], &[])];
        let account = AccountFacts { region: Some("EMEA"), industry: Some("Software"), ..Default::default() };
        let (icp, f) = best_fit(&icps, &account).unwrap();
        assert_eq!((icp.profile.name.as_str(), f.fits, f.score), ("C", true, 100));
        let (icp, f) = best_fit(&icps[..2], &account).unwrap();
        assert_eq!((icp.profile.name.as_str(), f.fits, f.score), ("B", false, 50));
        assert!(best_fit(&[], &account).is_none());
    }

    #[test]
    fn ranges_must_be_ordered_and_currencies_iso() {
        let icp = IdealCustomerProfile {
            name: "Mid-market".into(),
            industries: vec!["Software".into()],
            employee_range: Some(Range { min: Some(500), max: Some(50) }),
            revenue_range: None,
            regions: vec![],
            extra_criteria: None,
        };
        assert!(icp.clone().validate().is_err());
        let fixed = IdealCustomerProfile { employee_range: Some(Range { min: Some(50), max: None }), ..icp };
        assert!(fixed.clone().validate().is_ok());
        let euro = RevenueRange { min: Some(1), max: None, currency: "euro".into() };
        assert!(IdealCustomerProfile { revenue_range: Some(euro), ..fixed.clone() }.validate().is_err());
        let huge = Range { min: None, max: Some(validate::MAX_EMPLOYEES + 1) };
        let err = IdealCustomerProfile { employee_range: Some(huge), ..fixed.clone() }.validate().unwrap_err();
        assert!(matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "employeeRange.max"));
        let negative = RevenueRange { min: Some(-1), max: None, currency: "EUR".into() };
        assert!(IdealCustomerProfile { revenue_range: Some(negative), ..fixed }.validate().is_err());
    }
}
