//! Ideal customer profiles: the market sales and marketing agree to go after —
//! industries, company size, revenue, regions and any further criteria.

use async_graphql::{InputObject, Json, SimpleObject};
use entity::DocumentKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AgreedBody;
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

#[cfg(test)]
mod tests {
    use super::*;

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
