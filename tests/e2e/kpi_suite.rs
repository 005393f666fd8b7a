//! The KPI correctness suite: one small organization in Europe/Berlin whose every
//! figure is written here by hand (the comments show the arithmetic), for every metric
//! of the catalogue, on SQLite and on PostgreSQL. It covers deals in two currencies
//! with dated rates (a half cent rounding away from zero), archived leads and deals,
//! facts at 23:30 UTC on the last day of January (00:30 on February 1st in Berlin),
//! late facts that change a past month, and the daily rollup answering exactly like
//! the live engine under every grouping.
//!
//! All times below are UTC; Berlin is UTC+1 in January and February, so January runs
//! from 2025-12-31T23:00Z to 2026-01-31T23:00Z.

use api::catalogue::{KpiGroupBy, KpiMetric};
use entity::{Role, Team};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;
use crate::kpi_data::{Builder, at, set_rollup_aside};

const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { metric groupBy groupKey stage \
                    points { periodStart value numerator denominator } } }";

/// One period's `(value, numerator, denominator)`.
type Figures = (Option<f64>, Option<f64>, Option<f64>);

/// A count or a sum: value = numerator, no denominator.
fn n(value: f64) -> Figures {
    (Some(value), Some(value), None)
}

/// A ratio or a growth: its value (none when nothing was measured), numerator and denominator.
fn r(value: Option<f64>, numerator: f64, denominator: f64) -> Figures {
    (value, Some(numerator), Some(denominator))
}

/// A median: its value and how many were measured (no numerator).
fn m(value: Option<f64>, measured: f64) -> Figures {
    (value, None, Some(measured))
}

/// The series of `metric` for January and February 2026, whole organization, by hand:
/// one `(stage, [january, february])` per series. A metric added to the catalogue
/// without its figures here does not compile.
fn expected(metric: KpiMetric) -> Vec<(Option<&'static str>, [Figures; 2])> {
    use KpiMetric::*;
    let whole = |jan: Figures, feb: Figures| vec![(None, [jan, feb])];
    match metric {
        // January: l1 (Jan 5), l4 (Jan 2); l3 is archived. February: l2 at 23:30Z on Jan 31 = Feb 1 in Berlin.
        LeadsCreated => whole(n(2.0), n(1.0)),
        // January: l1 (Jan 10), l4 (Jan 20); l3's (Jan 8) is archived. February: l2 (Feb 3).
        Mqls => whole(n(2.0), n(1.0)),
        // January: l1 (Jan 12). February: l2 (Feb 5).
        Sals => whole(n(1.0), n(1.0)),
        // January: l1 (Jan 20).
        Sqls => whole(n(1.0), n(0.0)),
        // January: o1, o2, o4; February: o3 (23:30Z on Jan 31); o5 is archived.
        OpportunitiesCreated => whole(n(3.0), n(1.0)),
        // February: o1 and o3.
        DealsWon => whole(n(0.0), n(2.0)),
        // February: o1 100,000 EUR + o3 100 USD × 1.005 = 100.5 → 101 = 100,101.
        RevenueWon => whole(n(0.0), n(100_101.0)),
        // February: o2.
        DealsLost => whole(n(0.0), n(1.0)),
        // o2 closed Feb 20: 10,001 USD × 1.005 = 10,051.005 → 10,051.
        RevenueLost => whole(n(0.0), n(10_051.0)),
        // January: o1 100,000 + o2 10,001 × 0.9 = 9,000.9 → 9,001 + o4 5 × 0.9 = 4.5 → 5 = 109,006.
        // February: o3 100 × 1.005 (February's rate: Feb 1 in Berlin) = 100.5 → 101.
        PipelineValue => whole(n(109_006.0), n(101.0)),
        // February: 2 won of 3 closed; January: none closed.
        WinRate => whole(r(None, 0.0, 0.0), r(Some(2.0 / 3.0), 2.0, 3.0)),
        // January: l1 went on to SAL, l4 (recycled) did not = 1/2. February: l2 did = 1/1.
        MqlToSalRate => whole(r(Some(0.5), 1.0, 2.0), r(Some(1.0), 1.0, 1.0)),
        // January: l1 went on to SQL = 1/1. February: l2 did not = 0/1.
        SalToSqlRate => whole(r(Some(1.0), 1.0, 1.0), r(Some(0.0), 0.0, 1.0)),
        // January: l1 became a customer (Feb 10) = 1/1.
        SqlToWonRate => whole(r(Some(1.0), 1.0, 1.0), r(None, 0.0, 0.0)),
        // January: of l1 and l4, l1 = 1/2. February: l2 = 0/1.
        LeadToCustomerRate => whole(r(Some(0.5), 1.0, 2.0), r(Some(0.0), 0.0, 1.0)),
        // January: h1 accepted, h2 handed back, h3 accepted (its lead l3 is archived, it still counts) = 2/3.
        HandoverAcceptanceRate => whole(r(Some(2.0 / 3.0), 2.0, 3.0), r(None, 0.0, 0.0)),
        // January: h3 6 h, h1 18 h, h2 48 h → median 18.
        HandoverMedianResponseHours => whole(m(Some(18.0), 3.0), m(None, 0.0)),
        // January: h1 and h3 in time, h2 late = 2/3. February: h4 pending and past due = 0/1.
        SlaComplianceRate => whole(r(Some(2.0 / 3.0), 2.0, 3.0), r(Some(0.0), 0.0, 1.0)),
        MedianDaysInStage => vec![
            // NEW: January l1 5 d, l4 18 d → 11.5; February l2 from 23:30Z Jan 31 to 10:00Z Feb 3 = 2.4375 d.
            (Some("NEW"), [m(Some(11.5), 2.0), m(Some(2.4375), 1.0)]),
            // MQL: January l1 2 d, l4 5 d → 3.5; February l2 2 d.
            (Some("MQL"), [m(Some(3.5), 2.0), m(Some(2.0), 1.0)]),
            // SAL: January l1 8 d.
            (Some("SAL"), [m(Some(8.0), 1.0), m(None, 0.0)]),
            // SQL: February l1 21 d (Jan 20 to Feb 10).
            (Some("SQL"), [m(None, 0.0), m(Some(21.0), 1.0)]),
        ],
        // February: o1 26 d + o3 11.4375 d (23:30Z Jan 31 to 10:00Z Feb 12) = 37.4375 over 2 deals.
        SalesCycleDays => whole(r(None, 0.0, 0.0), r(Some(18.718_75), 37.4375, 2.0)),
        // January: c1 and c2 available (c4 archived before), c1 used = 1/2. February: c1, c2, c3; c1 and c3 used = 2/3.
        ContentUtilizationRate => whole(r(Some(0.5), 1.0, 2.0), r(Some(2.0 / 3.0), 2.0, 3.0)),
        // January: 90 min on l1 + 30 min on archived l3 = 2 h (the 60-minute note is not customer-facing).
        // February: 60 min at 23:30Z on Jan 31 + 45 min = 1.75 h.
        CustomerFacingHours => whole(n(2.0), n(1.75)),
        // January: l1 and l3. February: l2 (the 45 minutes name nobody).
        DistinctCustomersTouched => whole(n(2.0), n(1.0)),
        // January: f1 has three people behind it. February: f2 has two people and one account.
        ActionableFeedback => whole(n(1.0), n(0.0)),
        // Answered: f1 after 10 days in January, f2 after 4 days in February.
        FeedbackMedianResponseDays => whole(m(Some(10.0), 1.0), m(Some(4.0), 1.0)),
        // February: 100,101 against o6's 50,000 in February 2025 → 100,101 / 50,000 − 1 = 1.00202.
        RevenueGrowthYoy => whole(r(None, 0.0, 0.0), r(Some(1.002_02), 100_101.0, 50_000.0)),
        // Winter's 31,000 EUR over l1 (January) and l2 (February): 15,500 each; archived l3 carries none.
        CostPerLead => whole(r(Some(15_500.0), 15_500.0, 1.0), r(Some(15_500.0), 15_500.0, 1.0)),
        // Winter's 31,000 over the MQL entries of l1 (January) and l2 (February); archived l3's is left out.
        CostPerMql => whole(r(Some(15_500.0), 15_500.0, 1.0), r(Some(15_500.0), 15_500.0, 1.0)),
        // Opened from Winter's leads: o1 (l1) in January, o3 (l2) at 101 in February.
        MarketingSourcedPipeline => whole(n(100_000.0), n(101.0)),
        // Won from Winter's leads in February: o1 100,000 + o3 101.
        MarketingSourcedRevenue => whole(n(0.0), n(100_101.0)),
        // January: (0 − 31,000) / 31,000. February: Spring's 30,000 USD × 1.005 = 30,150 spread 14 of its 30 days =
        // 14,070; (100,101 − 14,070) / 14,070 = 86,031 / 14,070.
        MarketingRoi => whole(r(Some(-1.0), -31_000.0, 31_000.0), r(Some(86_031.0 / 14_070.0), 86_031.0, 14_070.0)),
    }
}

/// The organization of the suite.
struct Suite {
    app: TestApp,
    org: TestOrg,
    rep: Uuid,
    other_rep: Uuid,
    /// The recycled lead, which the late facts come back to.
    l4: Uuid,
    builder_account: Uuid,
}

#[track_caller]
fn ok(body: Value) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// The organization through the API (people, time zone, exchange rates), and its past
/// facts through the entities.
async fn build() -> Suite {
    use entity::{CampaignChannel as C, HandoverStatus as H, OpportunityStage as O, SalesStrategy as S};
    let app = spawn_app().await;
    let org = app.create_org("Suite").await;
    let token = org.admin.token.clone();
    let settings = "mutation { updateOrganization(input: { settings: { timeZone: \"Europe/Berlin\" } }) \
                    { organization { id } } }";
    ok(app.gql(Some(&token), settings, json!({})).await);
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let other_rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let (mk, s1, s2) = (marketer.id, rep.id, other_rep.id);
    let mut b = Builder { app: &app, org: org.id, account: Uuid::nil() };
    b.account = b.account("Globex").await;

    let l1 = b
        .lead(
            "l1@globex.test",
            Some(s1),
            mk,
            "web",
            Some("Winter"),
            &[
                ("NEW", "2026-01-05T10:00:00Z"),
                ("MQL", "2026-01-10T10:00:00Z"),
                ("SAL", "2026-01-12T10:00:00Z"),
                ("SQL", "2026-01-20T10:00:00Z"),
                ("CUSTOMER", "2026-02-10T10:00:00Z"),
            ],
            false,
        )
        .await;
    // 00:30 on February 1st in Berlin.
    let l2 = b
        .lead(
            "l2@globex.test",
            Some(s2),
            mk,
            "web",
            Some("Winter"),
            &[("NEW", "2026-01-31T23:30:00Z"), ("MQL", "2026-02-03T10:00:00Z"), ("SAL", "2026-02-05T10:00:00Z")],
            false,
        )
        .await;
    // Archived: its lead and stage facts and its campaign share are left out.
    let l3 = b
        .lead(
            "l3@globex.test",
            None,
            mk,
            "event",
            Some("Winter"),
            &[("NEW", "2026-01-07T10:00:00Z"), ("MQL", "2026-01-08T10:00:00Z")],
            true,
        )
        .await;
    let l4 = b
        .lead(
            "l4@globex.test",
            Some(s2),
            mk,
            "event",
            None,
            &[("NEW", "2026-01-02T10:00:00Z"), ("MQL", "2026-01-20T10:00:00Z"), ("RECYCLED", "2026-01-25T10:00:00Z")],
            false,
        )
        .await;

    let won = |day: &'static str| Some((O::ClosedWon, day));
    b.opportunity(
        Some(l1),
        s1,
        S::Acquisition,
        100_000,
        "EUR",
        "2026-01-15T10:00:00Z",
        won("2026-02-10T10:00:00Z"),
        false,
    )
    .await;
    let lost = Some((O::ClosedLost, "2026-02-20T10:00:00Z"));
    b.opportunity(None, s2, S::Retention, 10_001, "USD", "2026-01-20T10:00:00Z", lost, false).await;
    b.opportunity(Some(l2), s2, S::Acquisition, 100, "USD", "2026-01-31T23:30:00Z", won("2026-02-12T10:00:00Z"), false)
        .await;
    b.opportunity(None, s1, S::Development, 5, "USD", "2026-01-10T10:00:00Z", None, false).await;
    // Archived: in no figure.
    b.opportunity(None, s1, S::Substitution, 20_000, "EUR", "2026-02-02T10:00:00Z", won("2026-02-03T10:00:00Z"), true)
        .await;
    // A year earlier, for the growth.
    b.opportunity(None, s1, S::Acquisition, 50_000, "EUR", "2025-02-01T10:00:00Z", won("2025-02-05T10:00:00Z"), false)
        .await;

    // USD: 0.9 from December 1st, 1.005 from February 1st (Berlin days), set by the admin.
    let rates = json!({ "input": { "rates": [
        { "currency": "USD", "validFrom": "2025-12-01", "rate": 0.9 },
        { "currency": "USD", "validFrom": "2026-02-01", "rate": 1.005 },
    ] } });
    let set = "mutation($input: SetExchangeRatesInput!) { setExchangeRates(input: $input) { written } }";
    assert_eq!(ok(app.gql(Some(&token), set, rates).await)["setExchangeRates"]["written"], 2);

    let answered = |status, day: &'static str| Some((status, day));
    b.handover(l1, s1, "2026-01-10T12:00:00Z", "2026-01-11T12:00:00Z", answered(H::Accepted, "2026-01-11T06:00:00Z"))
        .await;
    b.handover(l4, s2, "2026-01-20T12:00:00Z", "2026-01-21T12:00:00Z", answered(H::Rejected, "2026-01-22T12:00:00Z"))
        .await;
    b.handover(l3, s1, "2026-01-08T12:00:00Z", "2026-01-09T12:00:00Z", answered(H::Accepted, "2026-01-08T18:00:00Z"))
        .await;
    b.handover(l2, s1, "2026-02-03T12:00:00Z", "2026-02-04T12:00:00Z", None).await;

    b.campaign("Winter", C::Email, ("2026-01-01", "2026-01-31"), 31_000, "EUR").await;
    b.campaign("Spring", C::PaidSearch, ("2026-02-15", "2026-03-16"), 30_000, "USD").await;

    b.activity(s1, Some(l1), true, 90, "2026-01-12T15:00:00Z").await;
    b.activity(s1, Some(l3), true, 30, "2026-01-13T15:00:00Z").await;
    b.activity(mk, None, false, 60, "2026-01-14T15:00:00Z").await;
    b.activity(s2, Some(l2), true, 60, "2026-01-31T23:30:00Z").await;
    b.activity(s2, None, true, 45, "2026-02-02T15:00:00Z").await;

    b.asset("2025-12-01T00:00:00Z", None, &[("2026-01-15T09:00:00Z", s1), ("2026-02-03T09:00:00Z", s1)]).await;
    b.asset("2025-12-01T00:00:00Z", None, &[]).await;
    b.asset("2026-02-10T00:00:00Z", None, &[("2026-02-11T09:00:00Z", s2)]).await;
    b.asset("2025-11-01T00:00:00Z", Some("2025-12-31T00:00:00Z"), &[]).await;

    let acct = Some(b.account);
    b.feedback(
        (mk, Team::Marketing),
        None,
        "2026-01-08T10:00:00Z",
        Some("2026-01-18T10:00:00Z"),
        &[(s1, Team::Sales, None), (s2, Team::Sales, None)],
    )
    .await;
    b.feedback(
        (s1, Team::Sales),
        acct,
        "2026-02-01T10:00:00Z",
        Some("2026-02-05T10:00:00Z"),
        &[(mk, Team::Marketing, None)],
    )
    .await;

    let builder_account = b.account;
    Suite { app, org, rep: s1, other_rep: s2, l4, builder_account }
}

/// Every series of `metrics` over the local days `from..=to` (requests of at most 15 metrics).
async fn answer(
    s: &Suite,
    metrics: &[KpiMetric],
    group_by: KpiGroupBy,
    granularity: &str,
    from: &str,
    to: &str,
) -> Vec<Value> {
    let mut out = vec![];
    for chunk in metrics.chunks(15) {
        let names: Vec<&str> = chunk.iter().map(|m| m.name()).collect();
        let input = json!({
            "metrics": names, "from": from, "to": to, "granularity": granularity,
            "groupBy": api::catalogue::name_of(group_by),
        });
        let body = s.app.gql(Some(&s.org.admin.token), KPIS, json!({ "input": input })).await;
        out.extend(ok(body)["kpis"].as_array().unwrap().iter().cloned());
    }
    out
}

async fn months(s: &Suite, metrics: &[KpiMetric]) -> Vec<Value> {
    answer(s, metrics, KpiGroupBy::None, "MONTH", "2026-01-01", "2026-02-28").await
}

fn figures(series: &Value) -> Vec<Figures> {
    series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_f64(), p["numerator"].as_f64(), p["denominator"].as_f64()))
        .collect()
}

/// Equal, or both absent; within a billionth for quotients and spread spend.
fn close(actual: Option<f64>, expected: Option<f64>) -> bool {
    match (actual, expected) {
        (None, None) => true,
        (Some(a), Some(e)) => (a - e).abs() <= 1e-9 * e.abs().max(1.0),
        _ => false,
    }
}

/// The series of `metric` in `answer`, by stage.
fn series_of(answer: &[Value], metric: KpiMetric) -> Vec<(Option<&str>, Vec<Figures>)> {
    let mut found: Vec<(Option<&str>, Vec<Figures>)> =
        answer.iter().filter(|s| s["metric"] == metric.name()).map(|s| (s["stage"].as_str(), figures(s))).collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

#[track_caller]
fn assert_figures(
    metric: KpiMetric,
    actual: &[(Option<&str>, Vec<Figures>)],
    expected: &[(Option<&str>, Vec<Figures>)],
) {
    let stages =
        |list: &[(Option<&str>, Vec<Figures>)]| list.iter().map(|s| s.0.map(str::to_owned)).collect::<Vec<_>>();
    assert_eq!(stages(actual), stages(expected), "{} series", metric.name());
    for ((stage, got), (_, want)) in actual.iter().zip(expected) {
        assert_eq!(got.len(), want.len(), "{} {stage:?} periods", metric.name());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let same = close(g.0, w.0) && close(g.1, w.1) && close(g.2, w.2);
            assert!(same, "{} {stage:?} period {i}: got {g:?}, expected {w:?}", metric.name());
        }
    }
}

/// Every metric of the catalogue, whole organization, month by month, against the hand-computed figures.
fn assert_every_metric(answer: &[Value], when: &str) {
    let all: Vec<KpiMetric> = KpiMetric::all().collect();
    let named: Vec<&str> = answer.iter().filter_map(|s| s["metric"].as_str()).collect();
    for metric in &all {
        assert!(named.contains(&metric.name()), "{} is missing {when}", metric.name());
    }
    for metric in all {
        let mut want: Vec<(Option<&str>, Vec<Figures>)> =
            expected(metric).into_iter().map(|(stage, months)| (stage, months.to_vec())).collect();
        want.sort_by(|a, b| a.0.cmp(&b.0));
        assert_figures(metric, &series_of(answer, metric), &want);
    }
}

/// `metric`'s whole-organization figures, period by period.
fn per_period(answer: &[Value], metric: KpiMetric) -> Vec<Figures> {
    let found = series_of(answer, metric);
    assert_eq!(found.len(), 1, "one series of {}", metric.name());
    found[0].1.clone()
}

/// The same request with the rollup set aside (the live engine's answer).
async fn live(s: &Suite, metrics: &[KpiMetric], group_by: KpiGroupBy, granularity: &str) -> Vec<Value> {
    set_rollup_aside(&s.app.db, s.org.id, true).await;
    let live = answer(s, metrics, group_by, granularity, "2026-01-01", "2026-02-28").await;
    set_rollup_aside(&s.app.db, s.org.id, false).await;
    live
}

/// Every metric under every grouping it splits by, and by day and week for the whole
/// organization: the rollup's answer is exactly the live engine's.
async fn assert_rollup_matches_live(s: &Suite) {
    use async_graphql::resolver_utils::EnumType;
    for group_by in KpiGroupBy::items().iter().map(|item| item.value) {
        let metrics: Vec<KpiMetric> = KpiMetric::all().filter(|m| m.splits_by(group_by)).collect();
        let granularities: &[&str] = if group_by == KpiGroupBy::None { &["DAY", "WEEK", "MONTH"] } else { &["MONTH"] };
        for granularity in granularities {
            let rolled = answer(s, &metrics, group_by, granularity, "2026-01-01", "2026-02-28").await;
            assert_eq!(rolled, live(s, &metrics, group_by, granularity).await, "{group_by:?} by {granularity}");
        }
    }
}

async fn count(s: &Suite, table: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let mut sql = api::db::sql::Sql::new();
    sql.push_composed(format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = ")).bind(s.org.id);
    let db = &s.app.db;
    db.query_one_raw(sql.build(db.get_database_backend())).await.unwrap().unwrap().try_get("", "n").unwrap()
}

#[tokio::test]
async fn every_metric_of_a_small_organization_matches_its_hand_computed_value_live_and_rolled_up() {
    let s = build().await;
    let all: Vec<KpiMetric> = KpiMetric::all().collect();

    // Live: no rollup was ever built.
    assert_every_metric(&months(&s, &all).await, "live");

    api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    assert!(count(&s, "kpi_rollups").await > 0, "the rollup is built");
    assert_eq!(count(&s, "kpi_dirty_marks").await, 0, "a build takes every mark");
    assert_every_metric(&months(&s, &all).await, "rolled up");
    assert_rollup_matches_live(&s).await;
}

#[tokio::test]
async fn a_fact_at_half_past_eleven_utc_on_january_31_counts_on_february_1_in_berlin() {
    use KpiMetric::*;
    let s = build().await;
    let metrics = [LeadsCreated, OpportunitiesCreated, PipelineValue, CustomerFacingHours, DistinctCustomersTouched];
    for path in ["live", "rolled up"] {
        let days = answer(&s, &metrics, KpiGroupBy::None, "DAY", "2026-01-31", "2026-02-01").await;
        for series in &days {
            let starts: Vec<&str> =
                series["points"].as_array().unwrap().iter().map(|p| p["periodStart"].as_str().unwrap()).collect();
            assert_eq!(starts, ["2026-01-31", "2026-02-01"], "{path}");
        }
        // l2 and o3 at 23:30Z on January 31.
        assert_eq!(per_period(&days, LeadsCreated), [n(0.0), n(1.0)], "{path}");
        assert_eq!(per_period(&days, OpportunitiesCreated), [n(0.0), n(1.0)], "{path}");
        // o3: 100 USD at February's 1.005 = 100.5 → 101, half a cent away from zero.
        assert_eq!(per_period(&days, PipelineValue), [n(0.0), n(101.0)], "{path}");
        // 60 minutes with l2.
        assert_eq!(per_period(&days, CustomerFacingHours), [n(0.0), n(1.0)], "{path}");
        assert_eq!(per_period(&days, DistinctCustomersTouched), [n(0.0), n(1.0)], "{path}");
        api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    }
}

#[tokio::test]
async fn late_facts_change_a_past_month_live_and_in_the_rollup() {
    use KpiMetric::*;
    let s = build().await;
    let metrics = [
        LeadsCreated,
        Sals,
        MqlToSalRate,
        SalToSqlRate,
        LeadToCustomerRate,
        CustomerFacingHours,
        DistinctCustomersTouched,
    ];
    api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    let before = months(&s, &metrics).await;
    assert_eq!(per_period(&before, LeadsCreated), [n(2.0), n(1.0)]);
    assert_eq!(per_period(&before, Sals), [n(1.0), n(1.0)]);

    // In February we learn what happened in January: l5 was created on Jan 29 (an
    // import), the recycled l4 was accepted by sales on Jan 28, and a 15-minute call
    // with l4 on Jan 30 was logged late.
    let b = Builder { app: &s.app, org: s.org.id, account: s.builder_account };
    b.lead("l5@globex.test", Some(s.rep), s.rep, "import", None, &[("NEW", "2026-01-29T10:00:00Z")], false).await;
    entity::lead_stage_transition::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(s.org.id),
        lead_id: Set(s.l4),
        from_stage: Set(Some(entity::LifecycleStage::Recycled)),
        to_stage: Set(entity::LifecycleStage::Sal),
        actor_kind: Set(entity::ActorKind::System),
        actor_id: Set(None),
        actor_name: Set("Accord".into()),
        reason: Set(None),
        at: Set(at("2026-01-28T10:00:00Z")),
        ..Default::default()
    }
    .insert(&s.app.db)
    .await
    .unwrap();
    b.activity(s.other_rep, Some(s.l4), true, 15, "2026-01-30T10:00:00Z").await;
    assert!(count(&s, "kpi_dirty_marks").await > 0, "the late facts mark their days");

    for path in ["before the refresh", "after the refresh"] {
        let after = months(&s, &metrics).await;
        // l1, l4 and now l5.
        assert_eq!(per_period(&after, LeadsCreated), [n(3.0), n(1.0)], "{path}");
        // l1 and now l4 in January.
        assert_eq!(per_period(&after, Sals), [n(2.0), n(1.0)], "{path}");
        // January's MQLs l1 and l4 both went on to SAL: 2/2.
        assert_eq!(per_period(&after, MqlToSalRate), [r(Some(1.0), 2.0, 2.0), r(Some(1.0), 1.0, 1.0)], "{path}");
        // January's SALs l1 (went on to SQL) and l4 (did not): 1/2.
        assert_eq!(per_period(&after, SalToSqlRate), [r(Some(0.5), 1.0, 2.0), r(Some(0.0), 0.0, 1.0)], "{path}");
        // Of l1, l4, l5 only l1 became a customer: 1/3.
        let january = per_period(&after, LeadToCustomerRate)[0];
        assert_eq!((january.1, january.2), (Some(1.0), Some(3.0)), "{path}");
        assert!(close(january.0, Some(1.0 / 3.0)), "{path}: {january:?}");
        // 2 h + 15 min = 2.25 h; l1, l3 and now l4.
        assert_eq!(per_period(&after, CustomerFacingHours), [n(2.25), n(1.75)], "{path}");
        assert_eq!(per_period(&after, DistinctCustomersTouched), [n(3.0), n(1.0)], "{path}");
        assert_rollup_matches_live(&s).await;
        api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
        assert_eq!(count(&s, "kpi_dirty_marks").await, 0, "{path}");
    }
}

#[tokio::test]
async fn berlin_days_follow_the_switch_to_summer_time_live_and_in_the_rollup() {
    let s = build().await;
    api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    let b = Builder { app: &s.app, org: s.org.id, account: s.builder_account };
    // March 29, 2026 has 23 hours in Berlin: it starts at 23:00Z on the 28th (UTC+1)
    // and ends at 22:00Z on the 29th (UTC+2).
    b.activity(s.rep, None, true, 60, "2026-03-28T23:30:00Z").await;
    b.activity(s.rep, None, true, 15, "2026-03-29T21:30:00Z").await;
    b.activity(s.rep, None, true, 30, "2026-03-29T22:30:00Z").await;
    for path in ["marked days computed live", "after the refresh"] {
        let days =
            answer(&s, &[KpiMetric::CustomerFacingHours], KpiGroupBy::None, "DAY", "2026-03-28", "2026-03-30").await;
        // March 28: none; March 29: 60 + 15 minutes; March 30: 30 minutes (00:30 summer time).
        assert_eq!(per_period(&days, KpiMetric::CustomerFacingHours), [n(0.0), n(1.25), n(0.5)], "{path}");
        set_rollup_aside(&s.app.db, s.org.id, true).await;
        let live =
            answer(&s, &[KpiMetric::CustomerFacingHours], KpiGroupBy::None, "DAY", "2026-03-28", "2026-03-30").await;
        set_rollup_aside(&s.app.db, s.org.id, false).await;
        assert_eq!(days, live, "{path}");
        api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    }
}
