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

    /// The agreement in words, such as "Sales answers handovers from Marketing within
    /// 24 hours, measured monthly" or "Marketing delivers at least 300 MQLs a month to Sales".
    fn title(&self) -> String {
        let (provider, consumer) = (team_words(self.provider_team), team_words(self.consumer_team));
        let (measured, per) = match self.period {
            SlaPeriod::Week => ("weekly", "a week"),
            SlaPeriod::Month => ("monthly", "a month"),
            SlaPeriod::Quarter => ("quarterly", "a quarter"),
        };
        let n = |one: &str, many: &str| counted(self.target, one, many);
        match self.metric {
            SlaMetric::HandoverResponseHours => {
                format!(
                    "{provider} answers handovers from {consumer} within {}, measured {measured}",
                    n("hour", "hours")
                )
            }
            SlaMetric::FirstTouchHours => format!(
                "{provider} contacts the leads it accepted from {consumer} within {}, measured {measured}",
                n("hour", "hours")
            ),
            SlaMetric::MqlVolume => format!("{provider} delivers at least {} {per} to {consumer}", n("MQL", "MQLs")),
            SlaMetric::SqlVolume => format!("{provider} delivers at least {} {per} to {consumer}", n("SQL", "SQLs")),
            SlaMetric::CustomerFacingHoursPerMember => {
                format!("Each {provider} member spends at least {} {per} with customers", n("hour", "hours"))
            }
            SlaMetric::FeedbackResponseDays => {
                format!(
                    "{provider} responds to feedback from {consumer} within {}, measured {measured}",
                    n("day", "days")
                )
            }
        }
    }
}

/// A team as people name it in a sentence.
pub fn team_words(team: Team) -> &'static str {
    match team {
        Team::Marketing => "Marketing",
        Team::Sales => "Sales",
        Team::Service => "Service",
        Team::Revops => "RevOps",
        Team::Leadership => "Leadership",
    }
}

/// `number` followed by the noun in the right number: "1 hour", "24 hours", "1,500 MQLs", "0.5 days".
fn counted(number: f64, one: &str, many: &str) -> String {
    let noun = if number == 1.0 { one } else { many };
    if number.fract() != 0.0 {
        // Targets have at most two decimals (validated): no trailing zeros.
        let text = format!("{number:.2}");
        return format!("{} {noun}", text.trim_end_matches('0'));
    }
    let digits = format!("{number:.0}");
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped} {noun}")
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
    fn titles_say_the_agreement_in_words() {
        let mut body = sla(Team::Sales, Team::Marketing, 24.0);
        assert_eq!(body.title(), "Sales answers handovers from Marketing within 24 hours, measured monthly");
        body = SlaBody { metric: SlaMetric::MqlVolume, target: 300.0, ..sla(Team::Marketing, Team::Sales, 0.0) };
        assert_eq!(body.title(), "Marketing delivers at least 300 MQLs a month to Sales");
        body = SlaBody { metric: SlaMetric::SqlVolume, target: 1500.0, period: SlaPeriod::Quarter, ..body };
        assert_eq!(body.title(), "Marketing delivers at least 1,500 SQLs a quarter to Sales");
        body = SlaBody { metric: SlaMetric::FeedbackResponseDays, target: 1.0, period: SlaPeriod::Week, ..body };
        assert_eq!(body.title(), "Marketing responds to feedback from Sales within 1 day, measured weekly");
        body = SlaBody { metric: SlaMetric::FirstTouchHours, target: 0.5, ..sla(Team::Sales, Team::Revops, 0.0) };
        assert_eq!(body.title(), "Sales contacts the leads it accepted from RevOps within 0.5 hours, measured monthly");
        body =
            SlaBody { metric: SlaMetric::CustomerFacingHoursPerMember, target: 12.25, period: SlaPeriod::Week, ..body };
        assert_eq!(body.title(), "Each Sales member spends at least 12.25 hours a week with customers");
        assert_eq!(counted(1_234_567.0, "lead", "leads"), "1,234,567 leads");
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
