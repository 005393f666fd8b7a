//! The SQL behind each metric: which rows are its facts, which period each falls in,
//! and what each adds to the numerator and denominator. Most facts find their period
//! from one timestamp ([`Time::At`]); facts that span time (campaign spend, content
//! availability) join a `p(idx, s, e, sd, ed)` table of periods (UTC bounds `s`/`e`,
//! local dates `sd`/`ed`).

use chrono::{DateTime, Utc};
use sea_orm::DbBackend;

use crate::catalogue::{KpiGroupBy, KpiMetric};
use crate::db::dialect::{day_number, days_between, hours_between, padded_epoch, round_half_away_sql};
use crate::db::sql::Sql;

/// Where a fact's grouping dimensions come from (SQL expressions over its aliases).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dims {
    /// The responsible user's id.
    pub user: Option<&'static str>,
    /// A team column on the fact itself (otherwise the user's team).
    pub team: Option<&'static str>,
    /// The alias of the fact's lead (`leads`), for persona, source, campaign and channel.
    pub lead: Option<&'static str>,
    /// The join that brings the lead in, when the fact is not the lead itself: added
    /// only when a dimension needs it, so plain counts stay on the fact's own index.
    pub lead_join: Option<&'static str>,
    /// The user expression reads the lead (so needs `lead_join`).
    pub user_via_lead: bool,
    pub strategy: Option<&'static str>,
    /// A campaign name and channel on the fact itself (a joined campaign record).
    pub campaign: Option<&'static str>,
    pub channel: Option<&'static str>,
    /// A lost deal's reason code and competitor.
    pub lost_reason: Option<&'static str>,
    pub competitor: Option<&'static str>,
    /// The fact's account (for ICP fit); `account_via_lead` when it reads the lead.
    pub account: Option<&'static str>,
    pub account_via_lead: bool,
    /// The version of the stage definition an entry was judged by.
    pub definition: Option<&'static str>,
}

/// Accounts that fit an ideal customer profile in force: the `fit(id)` table the
/// statement defines when a query groups or filters by ICP fit.
const FITS: &str = "IN (SELECT id FROM fit)";

/// The expression of `group` over `dims` and the joins it needs (in order); `None`
/// when the fact has no such dimension.
pub fn dimension(dims: &Dims, group: KpiGroupBy) -> Option<(String, Vec<String>)> {
    let lead_join: Vec<String> = dims.lead_join.map(str::to_owned).into_iter().collect();
    let user_joins = if dims.user_via_lead { lead_join.clone() } else { vec![] };
    let lead_col = |col: &str| dims.lead.map(|l| (format!("{l}.{col}"), lead_join.clone()));
    match group {
        KpiGroupBy::None => Some(("CAST(NULL AS TEXT)".into(), vec![])),
        KpiGroupBy::User => dims.user.map(|u| (u.to_owned(), user_joins.clone())),
        KpiGroupBy::Team => dims.team.map(|t| (t.to_owned(), vec![])).or_else(|| {
            dims.user.map(|u| {
                let mut joins = user_joins.clone();
                joins.push(format!(" LEFT JOIN users gu ON gu.id = {u}"));
                ("gu.team".to_owned(), joins)
            })
        }),
        KpiGroupBy::Persona => lead_col("persona_id"),
        KpiGroupBy::Source => lead_col("source"),
        KpiGroupBy::Campaign => dims.campaign.map(|c| (c.to_owned(), vec![])).or_else(|| lead_col("campaign")),
        KpiGroupBy::Channel => dims.channel.map(|c| (c.to_owned(), vec![])).or_else(|| {
            dims.lead.map(|l| {
                let mut joins = lead_join.clone();
                joins.push(format!(" LEFT JOIN campaigns gc ON gc.org_id = {l}.org_id AND gc.name = {l}.campaign"));
                ("gc.channel".to_owned(), joins)
            })
        }),
        KpiGroupBy::Strategy => dims.strategy.map(|s| (s.to_owned(), vec![])),
        KpiGroupBy::LostReason => dims.lost_reason.map(|r| (r.to_owned(), vec![])),
        KpiGroupBy::Competitor => dims.competitor.map(|c| (c.to_owned(), vec![])),
        KpiGroupBy::DefinitionVersion => dims.definition.map(|d| (format!("CAST({d} AS TEXT)"), vec![])),
        KpiGroupBy::IcpFit => dims.account.map(|a| {
            let joins = if dims.account_via_lead { lead_join.clone() } else { vec![] };
            (format!("CASE WHEN {a} {FITS} THEN 'true' ELSE 'false' END"), joins)
        }),
    }
}

/// How a fact row finds its period.
#[derive(Debug, Clone)]
pub enum Time {
    /// The period containing this timestamp column; the query reads only the range of
    /// all periods (one index range scan) and computes the period per row.
    At(String),
    /// The same, in the periods one year earlier (year-over-year comparisons).
    YearEarlier(String),
    /// Rows that overlap a period, joined to the periods table `p` by this condition
    /// (small tables: campaigns, content assets).
    Overlap(String),
}

/// One kind of fact row of a metric. A metric's query is the `UNION ALL` of its facts.
#[derive(Debug, Clone)]
pub struct Fact {
    /// The fact table with its alias, such as `leads l`.
    pub table: String,
    /// How a fact row finds its period.
    pub time: Time,
    /// Further joins.
    pub joins: String,
    /// The alias whose `org_id` scopes the query.
    pub org: &'static str,
    /// Further conditions, each starting with ` AND `.
    pub conds: Sql,
    pub num: Sql,
    pub den: Sql,
    /// The lifecycle stage a row belongs to (MEDIAN_DAYS_IN_STAGE), as SQL.
    pub stage: Option<&'static str>,
    /// A money fact that lacks an exchange rate: `<epoch seconds, 12 digits> <t|d> <currency>`
    /// (see [`missing_rate`]); empty for facts without money.
    pub miss: Sql,
    /// What a DISTINCT-shaped metric counts once per period and group (such as the customer).
    pub key: Option<&'static str>,
    pub dims: Dims,
}

/// What the facts need to know besides the metric.
#[derive(Debug, Clone)]
pub struct FactContext {
    pub backend: DbBackend,
    /// The organization's time zone (for year-earlier periods).
    pub tz: chrono_tz::Tz,
    pub currency: String,
    pub now: DateTime<Utc>,
    /// Distinct people and customer accounts that make feedback actionable (0 = no account rule).
    pub actionable_people: u32,
    pub actionable_accounts: u32,
    /// The query covers a few days only: find each fact's later stages by index
    /// rather than joining every entry of the organization.
    pub narrow: bool,
    /// Days after a campaign's last day that still attribute new leads to it.
    pub attribution_days: u32,
    /// Each campaign's attribution window `[start, end)` as instants (the `cw` table of
    /// COST_PER_LEAD and COST_PER_MQL); loaded only for those metrics.
    pub campaign_windows: Vec<(uuid::Uuid, DateTime<Utc>, DateTime<Utc>)>,
    /// The ids of the accounts that fit an ideal customer profile in force (the `fit`
    /// table); loaded only for queries that group or filter by ICP fit.
    pub fitting_accounts: Option<Sql>,
}

impl FactContext {
    /// The currency `metric`'s figures are in, when they are money.
    pub fn currency_of(&self, metric: KpiMetric) -> Option<String> {
        metric.is_money().then(|| self.currency.clone())
    }
}

fn lit(text: &'static str) -> Sql {
    let mut sql = Sql::new();
    sql.push(text);
    sql
}

/// SQL text built here from fixed fragments and dialect expressions.
fn composed(text: String) -> Sql {
    let mut sql = Sql::new();
    sql.push_composed(text);
    sql
}

fn one() -> Sql {
    lit("1")
}

fn zero() -> Sql {
    lit("0")
}

pub const LEAD_DIMS: Dims = Dims {
    user: Some("COALESCE(l.owner_id, l.marketing_owner_id)"),
    team: None,
    lead: Some("l"),
    lead_join: None,
    user_via_lead: true,
    strategy: None,
    campaign: None,
    channel: None,
    lost_reason: None,
    competitor: None,
    account: Some("l.account_id"),
    account_via_lead: true,
    definition: None,
};

const TRANSITION_DIMS: Dims = Dims { lead_join: Some(" JOIN leads l ON l.id = t.lead_id"), ..LEAD_DIMS };

const OPPORTUNITY_DIMS: Dims = Dims {
    user: Some("o.owner_id"),
    user_via_lead: false,
    lead_join: Some(" LEFT JOIN leads l ON l.id = o.lead_id"),
    strategy: Some("o.strategy"),
    account: Some("o.account_id"),
    account_via_lead: false,
    ..LEAD_DIMS
};

/// Lost deals also split by why and to whom.
const LOST_DIMS: Dims =
    Dims { lost_reason: Some("o.lost_reason"), competitor: Some("o.competitor"), ..OPPORTUNITY_DIMS };

const CAMPAIGN_DIMS: Dims = Dims {
    user: None,
    team: None,
    lead: None,
    lead_join: None,
    user_via_lead: false,
    strategy: None,
    campaign: Some("c.name"),
    channel: Some("c.channel"),
    lost_reason: None,
    competitor: None,
    account: None,
    account_via_lead: false,
    definition: None,
};

/// Leaves out the facts of archived leads without joining every lead: archived ones
/// are few and have their own partial index.
const NOT_ARCHIVED_LEAD: &str =
    " AND NOT EXISTS (SELECT 1 FROM leads a WHERE a.id = t.lead_id AND a.archived_at IS NOT NULL)";

fn leads_created() -> Fact {
    Fact {
        table: "leads l".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At("l.created_at".into()),
        joins: String::new(),
        org: "l",
        conds: lit(" AND l.archived_at IS NULL"),
        num: one(),
        den: zero(),
        stage: None,
        dims: LEAD_DIMS,
    }
}

fn entries(stage: &str) -> Fact {
    Fact {
        table: "lead_stage_transitions t".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At("t.at".into()),
        joins: String::new(),
        org: "t",
        conds: composed(format!(" AND t.to_stage = '{stage}'{NOT_ARCHIVED_LEAD}")),
        num: one(),
        den: zero(),
        stage: None,
        dims: Dims { definition: Some("t.definition_version"), ..TRANSITION_DIMS },
    }
}

/// A join bringing `nx.at`: when the lead of `alias` last entered `stage` (NULL if
/// never). One hash join over the stage's entries beats a probe per fact row; the
/// organization condition reaches the subquery through the join on `org_id`.
fn last_entry(alias: &str, stage: &str) -> String {
    let lead = if alias == "l" { "id" } else { "lead_id" };
    format!(
        " LEFT JOIN (SELECT org_id, lead_id, MAX(at) AS at FROM lead_stage_transitions WHERE to_stage = '{stage}' \
         GROUP BY org_id, lead_id) nx ON nx.org_id = {alias}.org_id AND nx.lead_id = {alias}.{lead}"
    )
}

/// Of the entries into `from`, those whose lead entered `to` at or after that entry.
fn conversion(from: &str, to: &str, narrow: bool) -> Fact {
    if narrow {
        let reached = format!(
            "CASE WHEN EXISTS (SELECT 1 FROM lead_stage_transitions nx WHERE nx.org_id = t.org_id \
             AND nx.lead_id = t.lead_id AND nx.to_stage = '{to}' AND nx.at >= t.at) THEN 1 ELSE 0 END"
        );
        return Fact { num: composed(reached), den: one(), ..entries(from) };
    }
    Fact {
        joins: last_entry("t", to),
        num: lit("CASE WHEN nx.at >= t.at THEN 1 ELSE 0 END"),
        den: one(),
        ..entries(from)
    }
}

fn opportunities(time: &str, extra: &str) -> Fact {
    Fact {
        table: "opportunities o".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At(format!("o.{time}")),
        joins: String::new(),
        org: "o",
        conds: composed(format!(" AND o.archived_at IS NULL{extra}")),
        num: one(),
        den: zero(),
        stage: None,
        dims: OPPORTUNITY_DIMS,
    }
}

/// When a money fact's amount converts into the reporting currency: at an instant
/// column (deals), or on a date column (a campaign's first day).
#[derive(Debug, Clone, Copy)]
enum When {
    At(&'static str),
    On(&'static str),
}

/// The factor of `alias`.currency's rate in force at `when` (minor units of the
/// reporting currency per minor unit), NULL without one.
fn rate_factor(alias: &str, when: When, quote: &str) -> Sql {
    let (column, value) = match when {
        When::At(at) => ("er.valid_from_at", at),
        When::On(on) => ("er.valid_from", on),
    };
    let mut sql = Sql::new();
    sql.push_composed(format!(
        "(SELECT er.minor_factor FROM exchange_rates er WHERE er.org_id = {alias}.org_id \
         AND er.currency = {alias}.currency AND er.quote = "
    ))
    .bind(quote.to_owned())
    .push_composed(format!(" AND {column} <= {value} ORDER BY {column} DESC LIMIT 1)"));
    sql
}

/// Deal amounts in minor units of the reporting currency: converted at the rate in
/// force when `when`, each rounded half away from zero before anything adds up.
fn converted(mut fact: Fact, ctx: &FactContext, when: When) -> Fact {
    let quote = ctx.currency.as_str();
    let mut product = Sql::new();
    product.push("o.amount_minor * ").append(&rate_factor("o", when, quote));
    let mut num = Sql::new();
    num.push("CASE WHEN o.currency = ")
        .bind(quote.to_owned())
        .push(" THEN o.amount_minor ELSE ")
        .append(&round_half_away_sql(ctx.backend, &product))
        .push(" END");
    fact.num = num;
    fact.miss = missing_rate(ctx, "o", when);
    fact
}

/// The marker of a row whose amount has no rate: when and which currency, sortable,
/// so the earliest gap of a figure is named (`kpi::missing_rate` reads it back).
fn missing_rate(ctx: &FactContext, alias: &str, when: When) -> Sql {
    let quote = ctx.currency.as_str();
    let (epoch, kind) = match when {
        When::At(at) => (padded_epoch(ctx.backend, at, false), "t"),
        When::On(on) => (padded_epoch(ctx.backend, on, true), "d"),
    };
    let mut sql = Sql::new();
    sql.push_composed(format!("CASE WHEN {alias}.currency <> "))
        .bind(quote.to_owned())
        .push(" AND ")
        .append(&rate_factor(alias, when, quote))
        .push_composed(format!(" IS NULL THEN {epoch} || ' {kind} ' || {alias}.currency END"));
    sql
}

const WON: &str = " AND o.stage = 'CLOSED_WON'";
/// Pipeline converts at the rate of the day a deal opened, won and lost amounts at the day it closed.
const OPENED: When = When::At("o.created_at");
const CLOSED: When = When::At("o.closed_at");
const LOST: &str = " AND o.stage = 'CLOSED_LOST'";

/// Deals lost, closing in the period.
fn lost() -> Fact {
    Fact { dims: LOST_DIMS, ..opportunities("closed_at", LOST) }
}

/// Opportunities whose lead came from a campaign on record (alias `c`).
fn sourced(time: &str, extra: &str) -> Fact {
    let mut fact = opportunities(time, extra);
    fact.joins =
        " JOIN leads l ON l.id = o.lead_id JOIN campaigns c ON c.org_id = l.org_id AND c.name = l.campaign".into();
    fact.dims = Dims { campaign: Some("c.name"), channel: Some("c.channel"), lead_join: None, ..OPPORTUNITY_DIMS };
    fact
}

/// Campaign spend spread evenly over each campaign's days, the part in the period.
fn spend(ctx: &FactContext) -> Fact {
    let b = ctx.backend;
    let (start, end) = (day_number(b, "c.starts_on"), format!("({} + 1)", day_number(b, "c.ends_on")));
    let (period_start, period_end) = (day_number(b, "p.sd"), day_number(b, "p.ed"));
    let overlap = format!(
        "((CASE WHEN {end} < {period_end} THEN {end} ELSE {period_end} END) - \
         (CASE WHEN {start} > {period_start} THEN {start} ELSE {period_start} END))"
    );
    let fact = Fact {
        table: "campaigns c".into(),
        miss: Sql::new(),
        key: None,
        time: Time::Overlap("c.starts_on < p.ed AND c.ends_on >= p.sd".into()),
        joins: String::new(),
        org: "c",
        conds: Sql::new(),
        num: Sql::new(),
        den: zero(),
        stage: None,
        dims: CAMPAIGN_DIMS,
    };
    // Spend converts at the rate of the campaign's first day, spread without rounding.
    let spread = format!("c.spend_minor * 1.0 * {overlap} / ({end} - {start})");
    let quote = ctx.currency.as_str();
    let mut num = Sql::new();
    num.push("CASE WHEN c.currency = ")
        .bind(quote.to_owned())
        .push_composed(format!(" THEN {spread} ELSE {spread} * "))
        .append(&rate_factor("c", When::On("c.starts_on"), quote))
        .push(" END");
    Fact { num, miss: missing_rate(ctx, "c", When::On("c.starts_on")), ..fact }
}

/// Customer-facing activities, by when they happened, in hours.
fn customer_facing() -> Fact {
    Fact {
        table: "activities a".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At("a.occurred_at".into()),
        joins: String::new(),
        org: "a",
        conds: lit(" AND a.customer_facing = TRUE"),
        num: lit("a.duration_minutes / 60.0"),
        den: zero(),
        stage: None,
        dims: Dims {
            user: Some("a.user_id"),
            user_via_lead: false,
            lead_join: Some(" LEFT JOIN leads l ON l.id = a.lead_id"),
            // The customer: set from the lead or deal when the activity was logged.
            account: Some("a.account_id"),
            account_via_lead: false,
            ..LEAD_DIMS
        },
    }
}

/// The leads campaign `c` sourced: created in its attribution window `cw`.
const ATTRIBUTED_LEADS: &str = "(SELECT COUNT(*) FROM leads l2 WHERE l2.org_id = c.org_id AND l2.campaign = c.name \
     AND l2.archived_at IS NULL AND l2.created_at >= cw.s AND l2.created_at < cw.e)";
/// The MQL entries of the leads campaign `c` sourced.
const ATTRIBUTED_MQLS: &str = "(SELECT COUNT(*) FROM lead_stage_transitions t2 JOIN leads l2 ON l2.id = t2.lead_id \
     WHERE t2.org_id = c.org_id AND t2.to_stage = 'MQL' AND l2.org_id = c.org_id AND l2.campaign = c.name \
     AND l2.archived_at IS NULL AND l2.created_at >= cw.s AND l2.created_at < cw.e)";

/// An equal share of campaign `c`'s whole spend (converted at its first day's rate) per
/// fact among `among` (a count that includes the fact itself).
fn share_of_spend(ctx: &FactContext, among: &str) -> Sql {
    let quote = ctx.currency.as_str();
    let mut sql = Sql::new();
    sql.push("(CASE WHEN c.currency = ")
        .bind(quote.to_owned())
        .push(" THEN c.spend_minor * 1.0 ELSE c.spend_minor * ")
        .append(&rate_factor("c", When::On("c.starts_on"), quote))
        .push_composed(format!(" END) / {among}"));
    sql
}

/// Handovers, cancelled ones left out: nobody answered them, so they count in no
/// handover figure.
fn handovers(time: &str) -> Fact {
    Fact {
        table: "handovers h".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At(format!("h.{time}")),
        joins: String::new(),
        org: "h",
        conds: lit(" AND h.status <> 'CANCELLED'"),
        num: one(),
        den: zero(),
        stage: None,
        dims: Dims {
            user: Some("h.to_user_id"),
            user_via_lead: false,
            lead_join: Some(" JOIN leads l ON l.id = h.lead_id"),
            ..LEAD_DIMS
        },
    }
}

fn feedback() -> Fact {
    Fact {
        table: "feedback f".into(),
        miss: Sql::new(),
        key: None,
        time: Time::At("f.created_at".into()),
        joins: String::new(),
        org: "f",
        conds: Sql::new(),
        num: one(),
        den: zero(),
        stage: None,
        dims: Dims { user: Some("f.author_id"), team: Some("f.author_team"), ..Dims::default() },
    }
}

/// Swap numerator and denominator (a fact that feeds the denominator of a ratio).
fn as_denominator(mut fact: Fact) -> Fact {
    std::mem::swap(&mut fact.num, &mut fact.den);
    fact
}

/// The facts of `metric`.
pub fn facts(metric: KpiMetric, ctx: &FactContext) -> Vec<Fact> {
    use KpiMetric::*;
    let b = ctx.backend;
    match metric {
        LeadsCreated => vec![leads_created()],
        Mqls => vec![entries("MQL")],
        Sals => vec![entries("SAL")],
        Sqls => vec![entries("SQL")],
        MqlToSalRate => vec![conversion("MQL", "SAL", ctx.narrow)],
        SalToSqlRate => vec![conversion("SAL", "SQL", ctx.narrow)],
        SqlToWonRate => vec![conversion("SQL", "CUSTOMER", ctx.narrow)],
        LeadToCustomerRate if ctx.narrow => vec![Fact {
            num: lit("CASE WHEN EXISTS (SELECT 1 FROM lead_stage_transitions nx WHERE nx.org_id = l.org_id \
                 AND nx.lead_id = l.id AND nx.to_stage = 'CUSTOMER') THEN 1 ELSE 0 END"),
            den: one(),
            ..leads_created()
        }],
        LeadToCustomerRate => vec![Fact {
            joins: last_entry("l", "CUSTOMER"),
            num: lit("CASE WHEN nx.at IS NULL THEN 0 ELSE 1 END"),
            den: one(),
            ..leads_created()
        }],
        MedianDaysInStage => {
            let entered = "(SELECT MAX(e.at) FROM lead_stage_transitions e WHERE e.org_id = t.org_id \
                           AND e.lead_id = t.lead_id AND e.to_stage = t.from_stage AND e.at <= t.at)";
            vec![Fact {
                table: "lead_stage_transitions t".into(),
                miss: Sql::new(),
                key: None,
                time: Time::At("t.at".into()),
                joins: String::new(),
                org: "t",
                conds: composed(format!(" AND t.from_stage IS NOT NULL{NOT_ARCHIVED_LEAD}")),
                num: composed(days_between(b, entered, "t.at")),
                den: one(),
                stage: Some("t.from_stage"),
                dims: TRANSITION_DIMS,
            }]
        }
        OpportunitiesCreated => vec![opportunities("created_at", "")],
        PipelineValue => vec![converted(opportunities("created_at", ""), ctx, OPENED)],
        DealsWon => vec![opportunities("closed_at", WON)],
        DealsLost => vec![lost()],
        RevenueLost => vec![converted(lost(), ctx, CLOSED)],
        RevenueWon => vec![converted(opportunities("closed_at", WON), ctx, CLOSED)],
        WinRate => vec![Fact {
            num: lit("CASE WHEN o.stage = 'CLOSED_WON' THEN 1 ELSE 0 END"),
            den: one(),
            ..opportunities("closed_at", " AND o.stage IN ('CLOSED_WON', 'CLOSED_LOST')")
        }],
        SalesCycleDays => {
            vec![Fact {
                num: composed(days_between(b, "o.created_at", "o.closed_at")),
                den: one(),
                ..opportunities("closed_at", WON)
            }]
        }
        RevenueGrowthYoy => {
            let now = converted(opportunities("closed_at", WON), ctx, CLOSED);
            let earlier = Fact { time: Time::YearEarlier("o.closed_at".into()), ..as_denominator(now.clone()) };
            vec![now, earlier]
        }
        MarketingSourcedPipeline => vec![converted(sourced("created_at", ""), ctx, OPENED)],
        MarketingSourcedRevenue => vec![converted(sourced("closed_at", WON), ctx, CLOSED)],
        MarketingRoi => {
            let revenue = Fact { dims: CAMPAIGN_DIMS, ..converted(sourced("closed_at", WON), ctx, CLOSED) };
            // Spend is the denominator and is taken off the numerator: value = numerator ÷
            // denominator, so sums over periods and groups re-aggregate exactly.
            let spend = spend(ctx);
            let mut cost = Sql::new();
            cost.push("-(").append(&spend.num).push(")");
            vec![revenue, Fact { num: cost, den: spend.num.clone(), ..spend }]
        }
        CostPerLead => {
            let leads = Fact {
                joins: " JOIN campaigns c ON c.org_id = l.org_id AND c.name = l.campaign JOIN cw ON cw.id = c.id"
                    .into(),
                conds: lit(" AND l.archived_at IS NULL AND l.created_at >= cw.s AND l.created_at < cw.e"),
                num: share_of_spend(ctx, ATTRIBUTED_LEADS),
                den: one(),
                miss: missing_rate(ctx, "c", When::On("c.starts_on")),
                dims: CAMPAIGN_DIMS,
                ..leads_created()
            };
            vec![leads]
        }
        CostPerMql => {
            let mut mqls = entries("MQL");
            mqls.joins = " JOIN leads l ON l.id = t.lead_id JOIN campaigns c ON c.org_id = l.org_id \
                          AND c.name = l.campaign JOIN cw ON cw.id = c.id"
                .into();
            mqls.conds.push(" AND l.created_at >= cw.s AND l.created_at < cw.e");
            let mqls = Fact {
                num: share_of_spend(ctx, ATTRIBUTED_MQLS),
                den: one(),
                miss: missing_rate(ctx, "c", When::On("c.starts_on")),
                dims: CAMPAIGN_DIMS,
                ..mqls
            };
            vec![mqls]
        }
        HandoverAcceptanceRate => vec![Fact {
            num: lit("CASE WHEN h.status = 'ACCEPTED' THEN 1 ELSE 0 END"),
            den: one(),
            ..handovers("responded_at")
        }],
        HandoverMedianResponseHours => {
            vec![Fact {
                num: composed(hours_between(b, "h.handed_at", "h.responded_at")),
                den: one(),
                ..handovers("responded_at")
            }]
        }
        SlaComplianceRate => {
            let mut fact = handovers("handed_at");
            fact.conds.push(" AND (h.responded_at IS NOT NULL OR h.due_at < ").bind(ctx.now).push(")");
            vec![Fact {
                conds: fact.conds,
                num: lit("CASE WHEN h.responded_at IS NOT NULL AND h.responded_at <= h.due_at THEN 1 ELSE 0 END"),
                den: one(),
                ..handovers("handed_at")
            }]
        }
        CustomerFacingHours => vec![customer_facing()],
        DistinctCustomersTouched => {
            // The customer is the activity's account (set from its lead or deal when
            // logged), else its lead.
            vec![Fact { num: zero(), key: Some("COALESCE(a.account_id, a.lead_id)"), ..customer_facing() }]
        }
        ContentUtilizationRate => vec![Fact {
            table: "content_assets ca".into(),
            miss: Sql::new(),
            key: None,
            time: Time::Overlap("ca.created_at < p.e AND (ca.archived_at IS NULL OR ca.archived_at >= p.s)".into()),
            joins: String::new(),
            org: "ca",
            conds: Sql::new(),
            num: lit("CASE WHEN EXISTS (SELECT 1 FROM content_usages cu WHERE cu.org_id = ca.org_id \
                 AND cu.asset_id = ca.id AND cu.used_at >= p.s AND cu.used_at < p.e) THEN 1 ELSE 0 END"),
            den: one(),
            stage: None,
            dims: Dims::default(),
        }],
        ActionableFeedback => {
            // Distinct people: the author and every other endorser. Distinct accounts: the
            // item's own and the endorsers' other ones.
            let people = "(1 + (SELECT COUNT(DISTINCT e.user_id) FROM feedback_endorsements e \
                          WHERE e.feedback_id = f.id AND e.user_id <> f.author_id))";
            let accounts = "((CASE WHEN f.account_id IS NULL THEN 0 ELSE 1 END) + \
                            (SELECT COUNT(DISTINCT e.account_id) FROM feedback_endorsements e WHERE e.feedback_id = f.id \
                            AND e.account_id IS NOT NULL AND (f.account_id IS NULL OR e.account_id <> f.account_id)))";
            let mut num = Sql::new();
            num.push_composed(format!("CASE WHEN {people} >= "))
                .bind(i64::from(ctx.actionable_people))
                .push(" OR (")
                .bind(i64::from(ctx.actionable_accounts))
                .push_composed(format!(" > 0 AND {accounts} >= "))
                .bind(i64::from(ctx.actionable_accounts))
                .push(") THEN 1 ELSE 0 END");
            vec![Fact { num, ..feedback() }]
        }
        FeedbackMedianResponseDays => vec![Fact {
            time: Time::At("f.responded_at".into()),
            num: composed(days_between(b, "f.created_at", "f.responded_at")),
            den: one(),
            ..feedback()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue states each metric's dimensions (goals check their scope by it);
    /// the facts must have exactly those.
    #[test]
    fn every_metric_splits_by_the_dimensions_the_catalogue_states() {
        let ctx = FactContext {
            backend: DbBackend::Postgres,
            tz: chrono_tz::UTC,
            currency: "EUR".into(),
            now: Utc::now(),
            actionable_people: 3,
            actionable_accounts: 2,
            narrow: false,
            attribution_days: 90,
            campaign_windows: vec![],
            fitting_accounts: None,
        };
        use async_graphql::resolver_utils::EnumType;
        for metric in KpiMetric::all() {
            for group in KpiGroupBy::items().iter().map(|item| item.value) {
                let facts = facts(metric, &ctx);
                let has = facts.iter().all(|fact| dimension(&fact.dims, group).is_some());
                assert_eq!(has, metric.splits_by(group), "{} by {group:?}", metric.name());
            }
        }
    }
}
