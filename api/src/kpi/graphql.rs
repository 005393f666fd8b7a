//! GraphQL for KPIs, the funnel and the scorecard: thin resolvers over the engine.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::NaiveDate;

use super::funnel::FunnelCohort;
use super::periods::Granularity;
use crate::agreements::graphql::{Goal, Sla};
use crate::agreements::taxonomies::{TaxonomyList, WORD_MAX};
use crate::campaigns::graphql::CampaignChannel;
use crate::catalogue::{KpiGroupBy, KpiMetric, KpiUnit};
use crate::error::Result;
use crate::graphql::{actor, db, parse_id};
use crate::leads::graphql::LifecycleStage;
use crate::org::graphql::Team;
use crate::pipeline::COMPETITOR_MAX;
use crate::pipeline::graphql::SalesStrategy;
use crate::validate::optional_text;

/// Narrows the facts behind every metric asked for. All given conditions must hold; a
/// condition on a dimension a metric does not have (such as `strategy` for MQLS) is BAD_USER_INPUT.
#[derive(InputObject, Default)]
pub struct KpiFilter {
    /// Only facts whose responsible user (see `KpiGroupBy.USER`) is in this team.
    pub team: Option<Team>,
    /// Only facts whose responsible user is this user.
    pub user_id: Option<ID>,
    /// Only leads of this persona.
    pub persona_id: Option<ID>,
    /// Only leads from this source (exact match).
    pub source: Option<String>,
    /// Only leads from this campaign (exact name).
    pub campaign: Option<String>,
    /// Only leads (and campaign spend) of campaigns in this channel.
    pub channel: Option<CampaignChannel>,
    /// Only opportunities of this sales strategy.
    pub strategy: Option<SalesStrategy>,
    /// Only lost deals with this lost-reason code (DEALS_LOST, REVENUE_LOST); compared ignoring case, spaces, `-` and `_`.
    pub lost_reason: Option<String>,
    /// Only lost deals lost to this competitor, as stored (`Opportunity.competitor`; DEALS_LOST, REVENUE_LOST).
    pub competitor: Option<String>,
    /// Only facts whose account fits an ideal customer profile in force (true) or fits none, or has no account (false); see `KpiGroupBy.ICP_FIT`.
    pub icp_fit: Option<bool>,
}

impl KpiFilter {
    fn into_domain(self) -> Result<super::KpiFilter> {
        Ok(super::KpiFilter {
            team: self.team.map(Into::into),
            user_id: self.user_id.as_ref().map(|id| parse_id("filter.userId", id)).transpose()?,
            persona_id: self.persona_id.as_ref().map(|id| parse_id("filter.personaId", id)).transpose()?,
            source: self.source,
            campaign: self.campaign,
            channel: self.channel.map(Into::into),
            strategy: self.strategy.map(Into::into),
            lost_reason: optional_text("filter.lostReason", self.lost_reason.as_deref(), WORD_MAX)?
                .map(|r| TaxonomyList::LostReasons.spell(&r)),
            competitor: optional_text("filter.competitor", self.competitor.as_deref(), COMPETITOR_MAX)?,
            icp_fit: self.icp_fit,
        })
    }
}

/// What `kpis` computes.
#[derive(InputObject)]
pub struct KpiInput {
    /// The metrics (1–30); each becomes one or more series.
    pub metrics: Vec<KpiMetric>,
    /// First day (in the organization's time zone). The period containing it is returned whole.
    pub from: NaiveDate,
    /// Last day (inclusive). The period containing it is returned whole.
    pub to: NaiveDate,
    /// Length of each point (default MONTH).
    #[graphql(default_with = "Granularity::Month")]
    pub granularity: Granularity,
    /// How to split the series (default NONE).
    #[graphql(default)]
    pub group_by: KpiGroupBy,
    /// Conditions on the facts.
    pub filter: Option<KpiFilter>,
}

/// One period of a KPI series. Re-aggregate points by summing numerators and
/// denominators (never by averaging values); medians cannot be re-aggregated.
#[derive(SimpleObject)]
pub struct KpiPoint {
    /// First day of the period (organization's time zone).
    pub period_start: NaiveDate,
    /// Last day of the period (inclusive).
    pub period_end: NaiveDate,
    /// The metric's value; null where it is undefined (a ratio over zero, a median of nothing).
    pub value: Option<f64>,
    /// The numerator as defined by the metric (null for medians).
    pub numerator: Option<f64>,
    /// The denominator as defined by the metric (null for counts and sums; the number of items measured for medians).
    pub denominator: Option<f64>,
}

/// One metric for one group over every period asked for, oldest first.
#[derive(SimpleObject)]
pub struct KpiSeries {
    /// The metric.
    pub metric: KpiMetric,
    /// What the values measure in.
    pub unit: KpiUnit,
    /// ISO-4217 code of the reporting currency when the figures are money (MONEY_MINOR values, and the numerator and denominator of MARKETING_ROI and REVENUE_GROWTH_YOY); null otherwise.
    pub currency: Option<String>,
    /// How the series were split.
    pub group_by: KpiGroupBy,
    /// The group: a user or persona id, a team, source, campaign, channel or strategy; null for NONE or for facts without a value in that dimension.
    pub group_key: Option<String>,
    /// A readable name for the group (the user's or persona's name; otherwise the key).
    pub group_label: Option<String>,
    /// The lifecycle stage measured (MEDIAN_DAYS_IN_STAGE only).
    pub stage: Option<LifecycleStage>,
    /// One point per period, in order; periods without facts hold zero counts or null values.
    pub points: Vec<KpiPoint>,
}

impl From<super::Series> for KpiSeries {
    fn from(s: super::Series) -> Self {
        Self {
            metric: s.metric,
            unit: s.metric.unit(),
            currency: s.currency,
            group_by: s.group_by,
            group_key: s.group,
            group_label: s.label,
            stage: s.stage.map(Into::into),
            points: s
                .points
                .into_iter()
                .map(|p| KpiPoint {
                    period_start: p.period.start,
                    period_end: p.period.last_day(),
                    value: p.value,
                    numerator: p.numerator,
                    denominator: p.denominator,
                })
                .collect(),
        }
    }
}

/// Which funnel to compute.
#[derive(InputObject)]
pub struct FunnelInput {
    /// First day (organization's time zone).
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Which leads to follow (default CREATED).
    #[graphql(default)]
    pub cohort: FunnelCohort,
    /// Conditions on the leads (`strategy` does not apply).
    pub filter: Option<KpiFilter>,
}

/// One stage of the funnel.
#[derive(SimpleObject)]
pub struct FunnelStage {
    /// The lifecycle stage.
    pub stage: LifecycleStage,
    /// Leads that reached the stage (CREATED) or entered it in the period (ENTERED).
    pub count: i64,
    /// Share that went on: to the next stage (CREATED), or to any later stage (ENTERED); null for CUSTOMER or an empty stage.
    pub conversion_to_next: Option<f64>,
    /// Median days leads stayed in the stage before moving on (stays that ended).
    pub median_days: Option<f64>,
    /// 90th percentile of days in the stage.
    pub p90_days: Option<f64>,
}

/// The lifecycle funnel of a period: the seven stages of the main funnel, in order.
#[derive(SimpleObject)]
pub struct Funnel {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// Which leads were followed.
    pub cohort: FunnelCohort,
    /// NEW, ENGAGED, MQL, SAL, SQL, OPPORTUNITY, CUSTOMER.
    pub stages: Vec<FunnelStage>,
}

/// The period and size of an ICP report.
#[derive(InputObject, Clone, Copy)]
pub struct IcpReportInput {
    /// First day of the period (the organization's time zone): deals won from here on count.
    pub from: NaiveDate,
    /// Last day of the period (inclusive), at most ten years after `from`.
    pub to: NaiveDate,
    /// Entries in each "left out" list (industries, size bands, regions): 1 to 20, default 5.
    #[graphql(default = 5)]
    pub top: i32,
}

/// What was won in one currency, and how much of it from accounts that fit.
#[derive(SimpleObject)]
pub struct IcpRevenueShare {
    /// ISO-4217 currency code; amounts in different currencies are never added up.
    pub currency: String,
    /// Revenue won in the period, in minor units of `currency`.
    pub won_minor: crate::graphql::scalars::MinorUnits,
    /// The part of it won from accounts that fit a profile in force.
    pub from_fits_minor: crate::graphql::scalars::MinorUnits,
    /// `fromFitsMinor` as a percentage of `wonMinor` (0 to 100); null when nothing was won.
    pub share: Option<f64>,
}

/// A value won customers have that no profile in force covers.
#[derive(SimpleObject)]
pub struct IcpGap {
    /// The industry, region (as stored on the accounts) or employee band ("51–200", "10001+").
    pub value: String,
    /// Distinct won customers (accounts with a deal won in the period) with this value.
    pub customers: i64,
    /// Deals won from them in the period.
    pub deals: i64,
}

/// A profile in force the report measured against.
#[derive(SimpleObject)]
pub struct IcpReportProfile {
    /// The ideal customer profile's id.
    pub id: ID,
    /// Its name.
    pub name: String,
    /// The agreed version in force.
    pub version: i32,
}

/// Won business against the ideal customer profiles in force: how much came from
/// accounts that fit (`Account.icpFit.fits` for any profile), and what the won
/// customers that no profile covers look like — material for an ICP based on real customers.
#[derive(SimpleObject)]
pub struct IcpReport {
    /// First day of the period.
    pub from: NaiveDate,
    /// Last day of the period (inclusive).
    pub to: NaiveDate,
    /// The profiles in force; empty when none is agreed (then no account fits, and
    /// every value is left out).
    pub profiles: Vec<IcpReportProfile>,
    /// Deals won in the period (closed as won, not archived).
    pub won_deals: i64,
    /// Of those, deals with accounts that fit a profile in force.
    pub won_deals_from_fits: i64,
    /// `wonDealsFromFits` as a percentage of `wonDeals` (0 to 100); null when nothing was won.
    pub won_deal_share: Option<f64>,
    /// Distinct accounts with a deal won in the period.
    pub customers: i64,
    /// Of those, accounts that fit a profile in force.
    pub customers_fitting: i64,
    /// Won revenue per currency, by currency code.
    pub revenue: Vec<IcpRevenueShare>,
    /// Industries of won customers that no profile in force lists (a profile without
    /// industries covers every industry), most customers first, at most `top`.
    pub industries_left_out: Vec<IcpGap>,
    /// Employee-size bands of won customers outside every profile's employee range,
    /// most customers first, at most `top`.
    pub employee_bands_left_out: Vec<IcpGap>,
    /// Regions of won customers that no profile in force lists, most customers first, at most `top`.
    pub regions_left_out: Vec<IcpGap>,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10_000.0 / whole as f64).round() / 100.0)
}

impl From<super::icp::IcpReport> for IcpReport {
    fn from(r: super::icp::IcpReport) -> Self {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let gaps = |list: Vec<super::icp::Gap>| {
            list.into_iter()
                .map(|g| IcpGap { value: g.value, customers: count(g.customers), deals: count(g.deals) })
                .collect()
        };
        Self {
            from: r.from,
            to: r.to,
            profiles: r
                .icps
                .into_iter()
                .map(|i| IcpReportProfile { id: i.id.into(), name: i.profile.name, version: i.version })
                .collect(),
            won_deals: count(r.won_deals),
            won_deals_from_fits: count(r.won_deals_from_fits),
            won_deal_share: percent(count(r.won_deals_from_fits), count(r.won_deals)),
            customers: count(r.customers),
            customers_fitting: count(r.customers_fitting),
            revenue: r
                .revenue
                .into_iter()
                .map(|c| IcpRevenueShare {
                    share: percent(c.from_fits_minor, c.won_minor),
                    currency: c.currency,
                    won_minor: crate::graphql::scalars::MinorUnits(c.won_minor),
                    from_fits_minor: crate::graphql::scalars::MinorUnits(c.from_fits_minor),
                })
                .collect(),
            industries_left_out: gaps(r.industries),
            employee_bands_left_out: gaps(r.employee_bands),
            regions_left_out: gaps(r.regions),
        }
    }
}

/// A range of days in the organization's time zone.
#[derive(InputObject, Clone, Copy)]
pub struct PeriodInput {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
}

/// How an SLA was kept in one of its periods (weeks, months or quarters).
#[derive(SimpleObject)]
pub struct SlaCompliance {
    /// First day of the SLA period.
    pub period_start: NaiveDate,
    /// Last day of the SLA period (inclusive).
    pub period_end: NaiveDate,
    /// The SLA version this period is judged by (its `target`, metric and teams): the version in force when the period began, that is the last one agreed at or before its first instant, so a target agreed mid-period applies from the next period on. A period that began before the first agreement is judged by the first agreed version; an SLA never agreed, by its newest version. Periods are laid out by the version in force now.
    pub sla_version: i32,
    /// The measured value in the SLA's unit: the median hours or days for a time limit, the count for a volume, hours per active member for customer-facing hours. Null without data.
    pub actual: Option<f64>,
    /// The target of version `slaVersion`.
    pub target: f64,
    /// Whether the target was kept (actual ≤ target for time limits, ≥ for volumes); null without data.
    pub met: Option<bool>,
    /// How many items were measured: handovers answered, leads touched, feedback answered, MQLs or SQLs, active members.
    pub measured: f64,
    /// For HANDOVER_RESPONSE_HOURS: Handovers answered by their due time ÷ handovers made in the period that were answered or are past their due time (0–1): a pending handover not yet due is left out, one past its due time counts as missed, a cancelled one counts nowhere. The due time is fixed when the lead is handed over, from the response target in force then. Null when no handover counts yet. For FIRST_TOUCH_HOURS: accepted handovers first touched within the target ÷ handovers accepted. Null for volumes.
    pub within_target_share: Option<f64>,
    /// True once the period has ended and the figure is final.
    pub complete: bool,
}

impl From<super::progress::SlaCompliance> for SlaCompliance {
    fn from(c: super::progress::SlaCompliance) -> Self {
        Self {
            period_start: c.period.start,
            period_end: c.period.last_day(),
            sla_version: c.version,
            actual: c.actual,
            target: c.target,
            met: c.met,
            measured: c.measured,
            within_target_share: c.within_target_share,
            complete: c.complete,
        }
    }
}

/// How far a goal has come over its period.
#[derive(SimpleObject)]
pub struct GoalProgress {
    /// The goal metric's value over the period so far, in the goal's `unit` (money in minor units of `currency`).
    pub actual: f64,
    /// The goal's target.
    pub target: f64,
    /// actual ÷ target.
    pub ratio: f64,
    /// Share of the period's days that have begun (0–1).
    pub elapsed: f64,
    /// Where the goal ends if the pace holds (actual ÷ elapsed); null before the period starts.
    pub projected: Option<f64>,
    /// True when the projection reaches the target, or stays within it for an AT_MOST goal (and before the period starts).
    pub on_track: bool,
    /// ISO-4217 code of the reporting currency for a money metric; null otherwise.
    pub currency: Option<String>,
}

impl From<super::progress::GoalProgress> for GoalProgress {
    fn from(p: super::progress::GoalProgress) -> Self {
        Self {
            actual: p.actual,
            target: p.target,
            ratio: p.ratio,
            elapsed: p.elapsed,
            projected: p.projected,
            on_track: p.on_track,
            currency: p.currency,
        }
    }
}

/// One agreed SLA on the scorecard.
#[derive(SimpleObject)]
pub struct ScorecardSla {
    /// The SLA.
    pub sla: Sla,
    /// Its compliance in each of its periods that overlap the scorecard's.
    pub periods: Vec<SlaCompliance>,
    /// True when every period with data met the target; null when no period has data.
    pub met: Option<bool>,
}

/// One goal on the scorecard.
#[derive(SimpleObject)]
pub struct ScorecardGoal {
    /// The goal.
    pub goal: Goal,
    /// Its progress.
    pub progress: GoalProgress,
}

/// Every agreed SLA and every goal of a period with where each stands: the agenda of a review meeting.
#[derive(SimpleObject)]
pub struct Scorecard {
    /// First day.
    pub from: NaiveDate,
    /// Last day (inclusive).
    pub to: NaiveDate,
    /// SLAs in force.
    pub slas: Vec<ScorecardSla>,
    /// Goals whose period overlaps the scorecard's, by period start.
    pub goals: Vec<ScorecardGoal>,
}

impl From<super::progress::Scorecard> for Scorecard {
    fn from(card: super::progress::Scorecard) -> Self {
        Self {
            from: card.from,
            to: card.to,
            slas: card
                .slas
                .into_iter()
                .map(|(doc, periods)| {
                    let measured: Vec<bool> = periods.iter().filter_map(|c| c.met).collect();
                    ScorecardSla {
                        sla: Sla(doc),
                        met: (!measured.is_empty()).then(|| measured.iter().all(|m| *m)),
                        periods: periods.into_iter().map(Into::into).collect(),
                    }
                })
                .collect(),
            goals: card
                .goals
                .into_iter()
                .map(|(goal, progress)| ScorecardGoal { goal: goal.into(), progress: progress.into() })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct KpiQuery;

#[Object]
impl KpiQuery {
    /// KPI series for BI tools and dashboards: one series per metric and group, one
    /// point per calendar period. API keys need `KPIS_READ`.
    async fn kpis(&self, ctx: &Context<'_>, input: KpiInput) -> Result<Vec<KpiSeries>> {
        let request = super::KpiRequest {
            metrics: input.metrics,
            from: input.from,
            to: input.to,
            granularity: input.granularity,
            group_by: input.group_by,
            filter: input.filter.unwrap_or_default().into_domain()?,
        };
        let (actor, request) = (actor(ctx)?, &request);
        let series = db(ctx).replica_read(|db| async move { super::kpis(&db, actor, request).await }).await?;
        Ok(series.into_iter().map(Into::into).collect())
    }

    /// The lifecycle funnel of a period: counts per stage, conversion, and days in stage. API keys need `KPIS_READ`.
    async fn funnel(&self, ctx: &Context<'_>, input: FunnelInput) -> Result<Funnel> {
        let filter = input.filter.unwrap_or_default().into_domain()?;
        let (actor, filter) = (actor(ctx)?, &filter);
        let funnel = db(ctx)
            .replica_read(|db| async move {
                super::funnel::funnel(&db, actor, input.from, input.to, input.cohort, filter).await
            })
            .await?;
        Ok(Funnel {
            from: funnel.from,
            to: funnel.to,
            cohort: funnel.cohort,
            stages: funnel
                .stages
                .into_iter()
                .map(|s| FunnelStage {
                    stage: s.stage.into(),
                    count: i64::try_from(s.count).unwrap_or(i64::MAX),
                    conversion_to_next: s.conversion,
                    median_days: s.median_days,
                    p90_days: s.p90_days,
                })
                .collect(),
        })
    }

    /// Every agreed SLA and goal of a period with its status. API keys need `KPIS_READ`.
    async fn scorecard(&self, ctx: &Context<'_>, input: PeriodInput) -> Result<Scorecard> {
        let actor = actor(ctx)?;
        let card = db(ctx)
            .replica_read(|db| async move { super::progress::scorecard(&db, actor, input.from, input.to).await })
            .await?;
        Ok(card.into())
    }

    /// Deals won in a period against the ideal customer profiles in force: the share of
    /// won deals and of won revenue (per currency) from accounts that fit, and the
    /// industries, employee-size bands and regions of won customers the profiles leave
    /// out. Read like KPIs: every user; API keys need `KPIS_READ`.
    async fn icp_report(&self, ctx: &Context<'_>, input: IcpReportInput) -> Result<IcpReport> {
        let actor = actor(ctx)?;
        let report = db(ctx)
            .replica_read(|db| async move { super::icp::icp_report(&db, actor, input.from, input.to, input.top).await })
            .await?;
        Ok(report.into())
    }
}
