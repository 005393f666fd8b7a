//! Service-level agreements between the teams, such as "sales answers a handed-over
//! lead within 24 hours" or "marketing delivers 300 MQLs a month". Compliance with
//! them is measured by the KPI module (`kpi::progress`).

use async_graphql::Enum;
use entity::{DocumentKind, Team};
use serde::{Deserialize, Serialize};

use super::AgreedBody;
use crate::error::{ApiError, Result};
use crate::validate;

/// Smallest SLA target: a time limit or a volume of nothing is no agreement.
pub const MIN_TARGET: f64 = 0.01;
/// Largest SLA target: hours, days or leads per period, all far below a million.
pub const MAX_TARGET: f64 = 1_000_000.0;

/// What an SLA measures.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaMetric {
    /// Hours the consumer team may take to accept or hand back a handed-over lead (at most `target`).
    HandoverResponseHours,
    /// Hours until the first contact with a new lead (at most `target`).
    FirstTouchHours,
    /// Marketing-qualified leads delivered per period (at least `target`).
    MqlVolume,
    /// Sales-qualified leads delivered per period (at least `target`).
    SqlVolume,
    /// Customer-facing hours per team member per period (at least `target`).
    CustomerFacingHoursPerMember,
    /// Days to respond to a piece of feedback (at most `target`).
    FeedbackResponseDays,
}

impl SlaMetric {
    /// True when the target is a ceiling (response times), false when a floor (volumes).
    pub fn is_ceiling(self) -> bool {
        matches!(self, Self::HandoverResponseHours | Self::FirstTouchHours | Self::FeedbackResponseDays)
    }
}

/// The period an SLA is measured over.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SlaPeriod {
    /// Calendar weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
}

/// The body of one version of an SLA. Its GraphQL type, `SlaBody`, is in `graphql`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlaBody {
    /// The team that delivers (such as SALES answering handovers).
    pub provider_team: Team,
    /// The team that relies on it (such as MARKETING, whose leads are answered).
    pub consumer_team: Team,
    /// What is measured.
    pub metric: SlaMetric,
    /// The target, 0.01 to 1,000,000: a ceiling for times (`*_HOURS`, `*_DAYS`), a floor for volumes.
    pub target: f64,
    /// The period measured over.
    pub period: SlaPeriod,
    /// Optional notes: exceptions, how it is measured.
    pub description: Option<String>,
}

impl AgreedBody for SlaBody {
    const KIND: DocumentKind = DocumentKind::Sla;

    fn validate(self) -> Result<Self> {
        if self.provider_team == self.consumer_team {
            return Err(ApiError::bad_input("consumerTeam", "must differ from the provider team"));
        }
        let target = validate::float_range("target", self.target, MIN_TARGET, MAX_TARGET)?;
        let description = validate::optional_text("description", self.description.as_deref(), 2000)?;
        Ok(Self { target, description, ..self })
    }

    /// One SLA per (provider, consumer, metric, period).
    fn key(&self) -> String {
        format!("{:?}:{:?}:{:?}:{:?}", self.provider_team, self.consumer_team, self.metric, self.period).to_lowercase()
    }

    fn title(&self) -> String {
        let bound = if self.metric.is_ceiling() { "at most" } else { "at least" };
        format!(
            "{:?} → {:?}: {:?} {bound} {} per {:?}",
            self.provider_team, self.consumer_team, self.metric, self.target, self.period
        )
        .to_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sla(provider: Team, consumer: Team, target: f64) -> SlaBody {
        SlaBody {
            provider_team: provider,
            consumer_team: consumer,
            metric: SlaMetric::HandoverResponseHours,
            target,
            period: SlaPeriod::Month,
            description: Some("  ".into()),
        }
    }

    #[test]
    fn an_sla_binds_two_different_teams_to_a_positive_target() {
        assert!(sla(Team::Sales, Team::Sales, 24.0).validate().is_err());
        assert!(sla(Team::Sales, Team::Marketing, 0.0).validate().is_err());
        assert!(sla(Team::Sales, Team::Marketing, 1e308).validate().is_err());
        let ok = sla(Team::Sales, Team::Marketing, 24.0).validate().unwrap();
        assert_eq!(ok.description, None);
        assert_eq!(ok.key(), "sales:marketing:handoverresponsehours:month");
    }

    #[test]
    fn bodies_store_teams_in_their_text_form() {
        let json = serde_json::to_value(sla(Team::Sales, Team::Marketing, 24.0)).unwrap();
        assert_eq!(json["providerTeam"], "SALES");
        assert_eq!(json["metric"], "HANDOVER_RESPONSE_HOURS");
        let back: SlaBody = serde_json::from_value(json).unwrap();
        assert_eq!(back.consumer_team, Team::Marketing);
    }
}
