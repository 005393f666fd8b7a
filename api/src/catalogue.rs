//! The metric catalogue goals and KPIs share: one enum, one name, one unit per
//! metric. Each metric is defined once, here: its formula is the enum value's
//! description (what a BI analyst reads in GraphiQL), and its SQL lives in
//! `kpi::facts`. Every point of a series carries `numerator` and `denominator`
//! so a BI tool can re-aggregate periods or groups correctly.
//!
//! Common rules: periods are calendar periods in the organization's time zone; an
//! event belongs to the period in which it happened. Archived leads and
//! opportunities are left out. Money is in minor units (cents) of the organization's
//! reporting currency: other currencies convert at their exchange rate (see
//! `org::exchange_rates`), and a missing rate is MISSING_EXCHANGE_RATE. Stage counts count
//! entries: a lead recycled and qualified again counts each time it enters.

use async_graphql::Enum;

/// A key performance indicator that `kpis` can compute.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KpiMetric {
    /// Leads created in the period. value = numerator = count of leads by `createdAt`.
    LeadsCreated,
    /// Marketing-qualified leads: entries into the MQL stage in the period. value = numerator = count.
    Mqls,
    /// Sales-accepted leads: entries into the SAL stage in the period. value = numerator = count.
    Sals,
    /// Sales-qualified leads: entries into the SQL stage in the period. value = numerator = count.
    Sqls,
    /// Opportunities opened in the period. value = numerator = count by opportunity `createdAt`.
    OpportunitiesCreated,
    /// Deals won: opportunities closed as CLOSED_WON in the period. value = numerator = count by `closedAt`.
    DealsWon,
    /// Revenue won: sum of `amount` (minor units) of opportunities closed as CLOSED_WON in the period.
    RevenueWon,
    /// Deals lost: opportunities closed as CLOSED_LOST in the period. value = numerator = count by `closedAt`. Group by LOST_REASON or COMPETITOR.
    DealsLost,
    /// Revenue lost: sum of `amount` (minor units) of opportunities closed as CLOSED_LOST in the period. Group by LOST_REASON or COMPETITOR.
    RevenueLost,
    /// Pipeline created: sum of `amount` (minor units) of opportunities opened in the period, whatever their stage now.
    PipelineValue,
    /// Win rate = deals won ÷ deals closed (won or lost) in the period. numerator = won, denominator = closed.
    WinRate,
    /// MQL → SAL conversion = of the MQL entries in the period, those whose lead entered SAL at or after that entry (up to now) ÷ MQL entries.
    MqlToSalRate,
    /// SAL → SQL conversion = of the SAL entries in the period, those whose lead entered SQL afterwards ÷ SAL entries.
    SalToSqlRate,
    /// SQL → won conversion = of the SQL entries in the period, those whose lead became a CUSTOMER afterwards ÷ SQL entries.
    SqlToWonRate,
    /// Lead → customer conversion = of the leads created in the period, those that have entered CUSTOMER (up to now) ÷ leads created.
    LeadToCustomerRate,
    /// Handover acceptance = handovers accepted ÷ handovers answered (accepted or handed back), by answer time in the period.
    HandoverAcceptanceRate,
    /// Median hours from handover to answer, of the handovers answered in the period. numerator is null (a median cannot be summed); denominator = handovers answered.
    HandoverMedianResponseHours,
    /// Handover SLA compliance = handovers answered by their due time ÷ handovers made in the period that are answered or past due (pending ones not yet due are left out).
    SlaComplianceRate,
    /// Median days spent in a stage, per stage (`KpiSeries.stage`): for every move out of a stage in the period, the days since the lead entered that stage. numerator is null; denominator = moves measured.
    MedianDaysInStage,
    /// Sales cycle = average days from opening to winning, of the deals won in the period. numerator = total days, denominator = deals won.
    SalesCycleDays,
    /// Content utilization = content assets used at least once in the period ÷ assets available during the period (created before its end, not archived before its start).
    ContentUtilizationRate,
    /// Hours with customers: sum of `durationMinutes` ÷ 60 of customer-facing activities in the period. Group by USER for hours per person: every active person comes back, with zeros when they logged none.
    CustomerFacingHours,
    /// Distinct customers touched: the different customers (an activity's account, else its lead) of customer-facing activities in the period. value = numerator = the count, each customer once per period and group; not additive: query the wider period instead of summing. Group by USER: every active person comes back, with zeros when they touched none.
    DistinctCustomersTouched,
    /// Feedback given in the period that is actionable now (enough distinct people or customer accounts back it, per the organization's thresholds). value = numerator = count.
    ActionableFeedback,
    /// Median days from feedback to the owning team's response, of the feedback answered in the period. numerator is null; denominator = feedback answered.
    FeedbackMedianResponseDays,
    /// Revenue growth year over year = revenue won in the period ÷ revenue won in the same period a year earlier − 1. numerator = this period's revenue, denominator = the earlier one's.
    RevenueGrowthYoy,
    /// Cost per lead = the campaign spend carried by the leads created in the period ÷ those leads. A lead carries an equal share of its campaign's whole spend (converted at the rate of the campaign's first day) when it was created from the campaign's first day to `campaignAttributionDays` (setting, default 90) after its last day; later leads carry none and are not counted. numerator = the shares (minor units), denominator = attributed leads.
    CostPerLead,
    /// Cost per MQL = the campaign spend carried by the MQL entries in the period ÷ those entries, for leads attributed to a campaign as in COST_PER_LEAD: each MQL entry of a campaign's attributed leads carries an equal share of its whole spend. numerator = the shares (minor units), denominator = MQL entries.
    CostPerMql,
    /// Marketing-sourced pipeline: sum of `amount` (minor units) of opportunities opened in the period whose lead came from a campaign on record; marketing's pipeline quota.
    MarketingSourcedPipeline,
    /// Marketing-sourced revenue: sum of `amount` (minor units) of deals won in the period whose lead came from a campaign on record; marketing's revenue quota.
    MarketingSourcedRevenue,
    /// Marketing ROI = (revenue sourced − campaign spend) ÷ campaign spend, both in the period. numerator = revenue sourced − spend (the net return), denominator = spend (minor units); value = numerator ÷ denominator.
    MarketingRoi,
}

/// The public (GraphQL) name of an enum value, such as `MONEY_MINOR`.
pub fn name_of<T: async_graphql::resolver_utils::EnumType + PartialEq>(value: T) -> &'static str {
    T::items().iter().find(|item| item.value == value).map(|item| item.name).unwrap_or_default()
}

/// The enum value whose public (GraphQL) name is `name`, such as `MQL_TO_SAL_RATE`.
pub fn from_name<T: async_graphql::resolver_utils::EnumType + Copy>(name: &str) -> Option<T> {
    T::items().iter().find(|item| item.name == name).map(|item| item.value)
}

/// How a point's value comes from its numerator and denominator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// value = numerator (counts and sums).
    Sum,
    /// value = numerator ÷ denominator.
    Ratio,
    /// value = the median; the denominator counts what was measured.
    Median,
    /// value = numerator ÷ denominator − 1.
    Growth,
    /// value = numerator = the number of different keys (not additive across periods or groups).
    Distinct,
}

/// What a KPI value measures in.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KpiUnit {
    /// A number of things (leads, deals, feedback items).
    Count,
    /// A share from 0 to 1 (or a growth / return, which may be negative or above 1).
    Ratio,
    /// Money in minor units (cents) of the organization's reporting currency; amounts in
    /// other currencies convert at the rate in force on their day (deals: the day they
    /// opened for pipeline, closed for revenue; campaign spend: the campaign's first
    /// day), each rounded half away from zero before adding up.
    MoneyMinor,
    /// Hours.
    Hours,
    /// Days.
    Days,
}

impl KpiMetric {
    /// Every metric, in catalogue order.
    pub fn all() -> impl Iterator<Item = KpiMetric> {
        use async_graphql::resolver_utils::EnumType;
        Self::items().iter().map(|item| item.value)
    }

    /// The metric's public name, such as `MQL_TO_SAL_RATE`.
    pub fn name(self) -> &'static str {
        name_of(self)
    }

    pub fn shape(self) -> Shape {
        use KpiMetric::*;
        match self {
            WinRate
            | MqlToSalRate
            | SalToSqlRate
            | SqlToWonRate
            | LeadToCustomerRate
            | HandoverAcceptanceRate
            | SlaComplianceRate
            | SalesCycleDays
            | ContentUtilizationRate
            | CostPerLead
            | CostPerMql
            | MarketingRoi => Shape::Ratio,
            HandoverMedianResponseHours | MedianDaysInStage | FeedbackMedianResponseDays => Shape::Median,
            DistinctCustomersTouched => Shape::Distinct,
            RevenueGrowthYoy => Shape::Growth,
            _ => Shape::Sum,
        }
    }

    pub fn unit(self) -> KpiUnit {
        use KpiMetric::*;
        match self {
            LeadsCreated
            | Mqls
            | Sals
            | Sqls
            | OpportunitiesCreated
            | DealsWon
            | DealsLost
            | ActionableFeedback
            | DistinctCustomersTouched => KpiUnit::Count,
            RevenueWon
            | RevenueLost
            | PipelineValue
            | CostPerLead
            | CostPerMql
            | MarketingSourcedPipeline
            | MarketingSourcedRevenue => KpiUnit::MoneyMinor,
            HandoverMedianResponseHours | CustomerFacingHours => KpiUnit::Hours,
            MedianDaysInStage | SalesCycleDays | FeedbackMedianResponseDays => KpiUnit::Days,
            _ => KpiUnit::Ratio,
        }
    }

    /// Its figures are money (the value, or the numerator and denominator of a return or
    /// a growth), so they come with the reporting currency.
    pub fn is_money(self) -> bool {
        self.unit() == KpiUnit::MoneyMinor || matches!(self, KpiMetric::MarketingRoi | KpiMetric::RevenueGrowthYoy)
    }

    /// Less is better: a goal on it is a ceiling ("at most"), met while the value stays at
    /// or under the target.
    pub fn lower_is_better(self) -> bool {
        use KpiMetric::*;
        matches!(
            self,
            DealsLost
                | RevenueLost
                | HandoverMedianResponseHours
                | MedianDaysInStage
                | SalesCycleDays
                | FeedbackMedianResponseDays
                | CostPerLead
                | CostPerMql
        )
    }

    /// The value grows with the days of a period (counts and sums), so a period's pace
    /// projects it; a rate or a median is where it is.
    pub fn accumulates(self) -> bool {
        matches!(self.shape(), Shape::Sum | Shape::Distinct)
    }

    /// Has one value per period for the whole organization (MEDIAN_DAYS_IN_STAGE has one
    /// per stage), so a goal can be set on it.
    pub fn has_single_value(self) -> bool {
        self != KpiMetric::MedianDaysInStage
    }

    fn facts(self) -> Facts {
        use KpiMetric::*;
        match self {
            Mqls | Sals | Sqls | MqlToSalRate | SalToSqlRate | SqlToWonRate => Facts::StageEntry,
            LeadsCreated
            | LeadToCustomerRate
            | MedianDaysInStage
            | HandoverAcceptanceRate
            | HandoverMedianResponseHours
            | SlaComplianceRate
            | CustomerFacingHours
            | DistinctCustomersTouched => Facts::Lead,
            OpportunitiesCreated
            | PipelineValue
            | DealsWon
            | RevenueWon
            | WinRate
            | SalesCycleDays
            | RevenueGrowthYoy
            | MarketingSourcedPipeline
            | MarketingSourcedRevenue => Facts::Deal,
            DealsLost | RevenueLost => Facts::LostDeal,
            CostPerLead | CostPerMql | MarketingRoi => Facts::Spend,
            ActionableFeedback | FeedbackMedianResponseDays => Facts::Author,
            ContentUtilizationRate => Facts::Content,
        }
    }

    /// Whether the metric splits and filters by `group` (goals check their scope by it;
    /// a unit test checks it against the facts' SQL).
    pub fn splits_by(self, group: KpiGroupBy) -> bool {
        use KpiGroupBy::*;
        let lead = matches!(group, Team | User | Persona | Source | Campaign | Channel | IcpFit);
        group == None
            || match self.facts() {
                Facts::Lead => lead,
                Facts::StageEntry => lead || group == DefinitionVersion,
                Facts::Deal => lead || group == Strategy,
                Facts::LostDeal => lead || matches!(group, Strategy | LostReason | Competitor),
                Facts::Spend => matches!(group, Campaign | Channel),
                Facts::Author => matches!(group, Team | User),
                Facts::Content => false,
            }
    }
}

/// How KPI series are split. A metric that has no such dimension answers BAD_USER_INPUT.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KpiGroupBy {
    /// One series for the whole organization.
    #[default]
    None,
    /// Per team of the responsible user (see USER).
    Team,
    /// Per responsible user: a lead's owner (its sales owner, else its marketing owner), an opportunity's owner, a handover's assignee, an activity's or feedback's author.
    User,
    /// Per buyer persona of the lead.
    Persona,
    /// Per lead source.
    Source,
    /// Per campaign name (the lead's `campaign`, or the campaign record for spend).
    Campaign,
    /// Per marketing channel of the lead's campaign record.
    Channel,
    /// Per sales strategy of the opportunity.
    Strategy,
    /// Per lost-reason code of a lost deal (DEALS_LOST, REVENUE_LOST); the label is the reason's label in the LOST_REASONS list in force.
    LostReason,
    /// Per competitor of a lost deal (DEALS_LOST, REVENUE_LOST): the agreed COMPETITORS code, or the name as written; null when none was named.
    Competitor,
    /// By whether the fact's account (a lead's or deal's account, an activity's customer) fits an ideal customer profile in force: key `true` or `false` (no account counts as `false`).
    IcpFit,
    /// Per version of the entered stage's agreed definition in force when the lead entered it (MQLS, SALS, SQLS and the conversions from them): key = the version number, label `version N`; null for entries made under no agreed definition. An entry is counted under the version that judged it, never re-judged by a later one.
    DefinitionVersion,
}

/// Which facts a metric counts, for the dimensions they have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facts {
    /// Leads, their handovers and activities: their people, lead and account.
    Lead,
    /// Entries into a stage: a lead's, plus the definition version that judged them.
    StageEntry,
    /// Deals: a lead's, plus the strategy.
    Deal,
    /// Lost deals: a deal's, plus why and to whom.
    LostDeal,
    /// Campaign spend: the campaign and its channel.
    Spend,
    /// Feedback: its author.
    Author,
    /// Content assets: none.
    Content,
}
