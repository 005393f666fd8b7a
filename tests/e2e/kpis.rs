//! The KPI engine, the funnel, goal progress, SLA compliance and the scorecard, checked
//! against values computed by hand from one small dataset (the comments show the
//! arithmetic). The same expectations hold on SQLite and on PostgreSQL. Tests that
//! only read the dataset share one copy of it ([`shared_dataset`]); tests that write
//! build their own ([`dataset`]).

use std::sync::OnceLock;

use entity::{Role, Team};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;
use crate::kpi_data::{Builder, at};

const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { metric unit groupBy groupKey groupLabel stage \
                    points { periodStart periodEnd value numerator denominator } } }";

/// The dataset: three users, five leads with their stage history, opportunities,
/// handovers, activities, content and feedback in January and February 2026 (and
/// one deal a year earlier).
pub struct Dataset {
    pub app: TestApp,
    pub org: TestOrg,
    pub rep: TestUser,
    pub other_rep: TestUser,
}

/// The dataset on a server of its own.
pub async fn dataset() -> Dataset {
    build(spawn_app().await).await
}

/// The dataset for tests that only read it: built once per test process. Its server
/// runs on a runtime of its own, since each `#[tokio::test]` has a runtime that ends
/// with the test; each caller gets its own HTTP client.
fn shared_dataset() -> Dataset {
    let (_, d) = shared();
    Dataset { app: d.app.handle(), org: d.org.clone(), rep: d.rep.clone(), other_rep: d.other_rep.clone() }
}

fn shared() -> &'static (tokio::runtime::Runtime, Dataset) {
    static SHARED: OnceLock<(tokio::runtime::Runtime, Dataset)> = OnceLock::new();
    SHARED.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let d = runtime.block_on(async { build(spawn_shared_app().await).await });
            (runtime, d)
        })
        .join()
        .expect("build the shared dataset")
    })
}

async fn build(app: TestApp) -> Dataset {
    use entity::{HandoverStatus as H, OpportunityStage as O, SalesStrategy as S};
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let other_rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let mut b = Builder { app: &app, org: org.id, account: Uuid::nil() };
    b.account = b.account("Globex").await;
    let other_account = b.account("Initech").await;
    let (mk, s1, s2) = (marketer.id, rep.id, other_rep.id);

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
                ("OPPORTUNITY", "2026-02-01T10:00:00Z"),
                ("CUSTOMER", "2026-02-15T10:00:00Z"),
            ],
            false,
        )
        .await;
    let l2 = b
        .lead(
            "l2@globex.test",
            Some(s2),
            mk,
            "web",
            Some("Winter"),
            &[("NEW", "2026-01-06T10:00:00Z"), ("MQL", "2026-01-16T10:00:00Z"), ("RECYCLED", "2026-01-18T10:00:00Z")],
            false,
        )
        .await;
    let l3 = b
        .lead(
            "l3@globex.test",
            None,
            mk,
            "event",
            None,
            &[
                ("NEW", "2026-01-20T10:00:00Z"),
                ("ENGAGED", "2026-01-25T10:00:00Z"),
                ("MQL", "2026-02-04T10:00:00Z"),
                ("SAL", "2026-02-05T10:00:00Z"),
            ],
            false,
        )
        .await;
    // Archived: left out of every lead, stage and funnel figure.
    b.lead(
        "l4@globex.test",
        None,
        mk,
        "event",
        None,
        &[("NEW", "2026-02-10T10:00:00Z"), ("MQL", "2026-02-11T10:00:00Z")],
        true,
    )
    .await;
    let l5 = b.lead("l5@globex.test", Some(s1), mk, "web", None, &[("NEW", "2025-01-10T10:00:00Z")], false).await;

    b.opportunity(
        Some(l1),
        s1,
        S::Acquisition,
        100_000,
        "EUR",
        "2026-01-20T10:00:00Z",
        Some((O::ClosedWon, "2026-02-15T10:00:00Z")),
        false,
    )
    .await;
    b.opportunity(
        None,
        s2,
        S::Retention,
        40_000,
        "EUR",
        "2026-01-25T10:00:00Z",
        Some((O::ClosedLost, "2026-02-20T10:00:00Z")),
        false,
    )
    .await;
    b.opportunity(None, s2, S::Development, 30_000, "USD", "2026-02-01T10:00:00Z", None, false).await;
    b.opportunity(
        Some(l5),
        s1,
        S::Acquisition,
        50_000,
        "EUR",
        "2025-01-12T10:00:00Z",
        Some((O::ClosedWon, "2025-01-20T10:00:00Z")),
        false,
    )
    .await;
    b.opportunity(None, s1, S::Substitution, 20_000, "EUR", "2026-02-02T10:00:00Z", None, true).await;

    b.handover(l1, s1, "2026-01-10T12:00:00Z", "2026-01-11T12:00:00Z", Some((H::Accepted, "2026-01-11T06:00:00Z")))
        .await;
    b.handover(l2, s2, "2026-01-16T12:00:00Z", "2026-01-17T12:00:00Z", Some((H::Rejected, "2026-01-18T10:00:00Z")))
        .await;
    b.handover(l3, s1, "2026-02-04T12:00:00Z", "2026-02-05T12:00:00Z", Some((H::Accepted, "2026-02-05T10:00:00Z")))
        .await;
    b.handover(l2, s2, "2026-02-20T12:00:00Z", "2026-02-21T12:00:00Z", None).await;

    // Spend spreads evenly over a campaign's days: Winter all in January, Spring 14 of
    // its 30 days in February. Summer is in USD: 99,999 × 0.5 = 49,999.5 in January.
    b.campaign("Winter", entity::CampaignChannel::Email, ("2026-01-01", "2026-01-31"), 31_000, "EUR").await;
    b.campaign("Spring", entity::CampaignChannel::PaidSearch, ("2026-02-15", "2026-03-16"), 30_000, "EUR").await;
    b.campaign("Summer", entity::CampaignChannel::Event, ("2026-01-01", "2026-01-31"), 99_999, "USD").await;
    // One USD rate for the whole dataset: half a euro to the dollar.
    let usd = api::org::exchange_rates::NewRate {
        currency: "USD".into(),
        valid_from: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        rate: 0.5,
    };
    api::org::exchange_rates::set(&app.db, &api::auth::Actor::system(org.id), vec![usd]).await.unwrap();

    b.activity(s1, Some(l1), true, 90, "2026-01-12T15:00:00Z").await;
    b.activity(s1, Some(l1), true, 30, "2026-02-02T15:00:00Z").await;
    b.activity(mk, None, false, 60, "2026-01-13T15:00:00Z").await;
    b.activity(s2, None, true, 60, "2026-01-20T15:00:00Z").await;

    b.asset("2025-12-01T00:00:00Z", None, &[("2026-01-15T09:00:00Z", s1), ("2026-02-03T09:00:00Z", s1)]).await;
    b.asset("2025-12-01T00:00:00Z", None, &[]).await;
    b.asset("2026-02-10T00:00:00Z", None, &[("2026-02-11T09:00:00Z", s2)]).await;
    b.asset("2025-12-01T00:00:00Z", Some("2025-12-31T00:00:00Z"), &[]).await;

    let acct = Some(b.account);
    b.feedback(
        (mk, Team::Marketing),
        None,
        "2026-01-08T10:00:00Z",
        Some("2026-01-18T10:00:00Z"),
        &[(s1, Team::Sales, None), (s2, Team::Sales, None)],
    )
    .await;
    b.feedback((s1, Team::Sales), acct, "2026-01-09T10:00:00Z", None, &[(s2, Team::Sales, Some(other_account))]).await;
    b.feedback(
        (s1, Team::Sales),
        None,
        "2026-02-01T10:00:00Z",
        Some("2026-02-05T10:00:00Z"),
        &[(mk, Team::Marketing, None)],
    )
    .await;
    b.feedback((mk, Team::Marketing), acct, "2026-02-03T10:00:00Z", None, &[(s1, Team::Sales, acct)]).await;

    Dataset { app, org, rep, other_rep }
}

async fn kpis(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), KPIS, json!({ "input": input })).await
}

fn series(body: &Value) -> &Vec<Value> {
    body["data"]["kpis"].as_array().unwrap_or_else(|| panic!("no series: {body}"))
}

/// The points of the only series of `metric`: (value, numerator, denominator) per period.
fn points(body: &Value, metric: &str) -> Vec<(Option<f64>, Option<f64>, Option<f64>)> {
    let found: Vec<&Value> = series(body).iter().filter(|s| s["metric"] == metric).collect();
    assert_eq!(found.len(), 1, "one series of {metric}: {body}");
    found[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["value"].as_f64(), p["numerator"].as_f64(), p["denominator"].as_f64()))
        .collect()
}

/// `(groupKey, figure per period)` of every series, by group key.
fn by_group(body: &Value, figure: &str) -> Vec<(String, Vec<Option<f64>>)> {
    let mut groups: Vec<(String, Vec<Option<f64>>)> = series(body)
        .iter()
        .map(|s| {
            let figures = s["points"].as_array().unwrap().iter().map(|p| p[figure].as_f64()).collect();
            (s["groupKey"].as_str().unwrap_or_default().to_owned(), figures)
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups
}

fn values(body: &Value, metric: &str) -> Vec<Option<f64>> {
    points(body, metric).into_iter().map(|p| p.0).map(|v| v.map(round)).collect()
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

const JAN_FEB: (&str, &str) = ("2026-01-01", "2026-02-28");

#[tokio::test]
async fn every_metric_matches_values_computed_by_hand() {
    let d = shared_dataset();
    let metrics = [
        "LEADS_CREATED",
        "MQLS",
        "SALS",
        "SQLS",
        "OPPORTUNITIES_CREATED",
        "DEALS_WON",
        "REVENUE_WON",
        "PIPELINE_VALUE",
        "WIN_RATE",
        "MQL_TO_SAL_RATE",
        "SAL_TO_SQL_RATE",
        "SQL_TO_WON_RATE",
        "LEAD_TO_CUSTOMER_RATE",
        "HANDOVER_ACCEPTANCE_RATE",
        "HANDOVER_MEDIAN_RESPONSE_HOURS",
        "SLA_COMPLIANCE_RATE",
        "SALES_CYCLE_DAYS",
        "CONTENT_UTILIZATION_RATE",
        "CUSTOMER_FACING_HOURS",
        "ACTIONABLE_FEEDBACK",
        "FEEDBACK_MEDIAN_RESPONSE_DAYS",
        "REVENUE_GROWTH_YOY",
        "DEALS_LOST",
        "REVENUE_LOST",
        "DISTINCT_CUSTOMERS_TOUCHED",
    ];
    let body = kpis(
        &d.app,
        &d.org.admin.token,
        json!({ "metrics": metrics, "from": JAN_FEB.0, "to": JAN_FEB.1, "granularity": "MONTH" }),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(series(&body).len(), metrics.len());
    let first = &series(&body)[0];
    assert_eq!(first["points"][0]["periodStart"], "2026-01-01");
    assert_eq!(first["points"][0]["periodEnd"], "2026-01-31");
    assert_eq!(first["points"][1]["periodEnd"], "2026-02-28");

    // l1, l2, l3 in January; l4 (February) is archived.
    assert_eq!(values(&body, "LEADS_CREATED"), [Some(3.0), Some(0.0)]);
    // MQL entries: l1 (Jan 10), l2 (Jan 16); l3 (Feb 4); l4's is archived.
    assert_eq!(values(&body, "MQLS"), [Some(2.0), Some(1.0)]);
    assert_eq!(values(&body, "SALS"), [Some(1.0), Some(1.0)]);
    assert_eq!(values(&body, "SQLS"), [Some(1.0), Some(0.0)]);
    // Opened: two in January; in February one in USD (30,000 × 0.5) and one archived.
    assert_eq!(values(&body, "OPPORTUNITIES_CREATED"), [Some(2.0), Some(1.0)]);
    assert_eq!(values(&body, "PIPELINE_VALUE"), [Some(140_000.0), Some(15_000.0)]);
    assert_eq!(values(&body, "DEALS_WON"), [Some(0.0), Some(1.0)]);
    assert_eq!(values(&body, "REVENUE_WON"), [Some(0.0), Some(100_000.0)]);
    // February: one won, one lost.
    assert_eq!(points(&body, "WIN_RATE"), [(None, Some(0.0), Some(0.0)), (Some(0.5), Some(1.0), Some(2.0))]);
    // January's MQLs: l1 went on to SAL, l2 did not; February's l3 did.
    assert_eq!(
        points(&body, "MQL_TO_SAL_RATE"),
        [(Some(0.5), Some(1.0), Some(2.0)), (Some(1.0), Some(1.0), Some(1.0))]
    );
    assert_eq!(values(&body, "SAL_TO_SQL_RATE"), [Some(1.0), Some(0.0)]);
    assert_eq!(values(&body, "SQL_TO_WON_RATE"), [Some(1.0), None]);
    // Of l1, l2, l3 only l1 became a customer.
    assert_eq!(points(&body, "LEAD_TO_CUSTOMER_RATE")[0], (Some(1.0 / 3.0), Some(1.0), Some(3.0)));
    // Answered in January: accepted (18 h) and handed back (46 h); February: accepted (22 h).
    assert_eq!(values(&body, "HANDOVER_ACCEPTANCE_RATE"), [Some(0.5), Some(1.0)]);
    assert_eq!(
        points(&body, "HANDOVER_MEDIAN_RESPONSE_HOURS"),
        [(Some(32.0), None, Some(2.0)), (Some(22.0), None, Some(1.0))]
    );
    // January: one in time, one late. February: one in time, one pending past due.
    assert_eq!(
        points(&body, "SLA_COMPLIANCE_RATE"),
        [(Some(0.5), Some(1.0), Some(2.0)), (Some(0.5), Some(1.0), Some(2.0))]
    );
    // The deal won on Feb 15 opened on Jan 20: 26 days.
    assert_eq!(points(&body, "SALES_CYCLE_DAYS")[1], (Some(26.0), Some(26.0), Some(1.0)));
    // January: 2 assets available (one archived before), 1 used. February: 3 available, 2 used.
    assert_eq!(values(&body, "CONTENT_UTILIZATION_RATE"), [Some(0.5), Some(round(2.0 / 3.0))]);
    // 90 + 60 customer-facing minutes in January (the 60-minute note is not); 30 in February.
    assert_eq!(values(&body, "CUSTOMER_FACING_HOURS"), [Some(2.5), Some(0.5)]);
    // January: three people behind one item, two accounts behind another. February: neither rule holds.
    assert_eq!(values(&body, "ACTIONABLE_FEEDBACK"), [Some(2.0), Some(0.0)]);
    assert_eq!(values(&body, "FEEDBACK_MEDIAN_RESPONSE_DAYS"), [Some(10.0), Some(4.0)]);
    // January 2026: nothing won against 50,000 in January 2025; February 2025: nothing to compare with.
    assert_eq!(
        points(&body, "REVENUE_GROWTH_YOY"),
        [(Some(-1.0), Some(0.0), Some(50_000.0)), (None, Some(100_000.0), Some(0.0))]
    );
    // February: the retention deal of 40,000 was lost.
    assert_eq!(values(&body, "DEALS_LOST"), [Some(0.0), Some(1.0)]);
    assert_eq!(values(&body, "REVENUE_LOST"), [Some(0.0), Some(40_000.0)]);
    // l1 in each month; the other rep's January hour names nobody.
    assert_eq!(values(&body, "DISTINCT_CUSTOMERS_TOUCHED"), [Some(1.0), Some(1.0)]);
    // This test, the campaign one and the per-stage one hand-compute every metric of the catalogue.
    let mut covered: Vec<&str> = metrics.to_vec();
    covered.extend([
        "COST_PER_LEAD",
        "COST_PER_MQL",
        "MARKETING_SOURCED_PIPELINE",
        "MARKETING_SOURCED_REVENUE",
        "MARKETING_ROI",
    ]);
    covered.push("MEDIAN_DAYS_IN_STAGE");
    covered.sort_unstable();
    let mut catalogue: Vec<&str> = api::catalogue::KpiMetric::all().map(|m| m.name()).collect();
    catalogue.sort_unstable();
    assert_eq!(covered, catalogue, "a metric without a hand-computed value");
    let units: Vec<(&str, &str)> =
        series(&body).iter().map(|s| (s["metric"].as_str().unwrap(), s["unit"].as_str().unwrap())).collect();
    assert!(units.contains(&("REVENUE_WON", "MONEY_MINOR")) && units.contains(&("WIN_RATE", "RATIO")), "{units:?}");
}

#[tokio::test]
async fn campaign_spend_gives_cost_per_lead_and_mql_sourced_money_and_roi() {
    let d = shared_dataset();
    let metrics =
        ["COST_PER_LEAD", "COST_PER_MQL", "MARKETING_SOURCED_PIPELINE", "MARKETING_SOURCED_REVENUE", "MARKETING_ROI"];
    let body =
        kpis(&d.app, &d.org.admin.token, json!({ "metrics": metrics, "from": JAN_FEB.0, "to": JAN_FEB.1 })).await;
    // Winter's whole 31,000 is shared by the two leads it sourced (l1, l2, January), who
    // both became MQLs in January; Spring and Summer sourced no lead, so no lead carries
    // their spend. February: no lead from a campaign.
    assert_eq!(
        points(&body, "COST_PER_LEAD"),
        [(Some(15_500.0), Some(31_000.0), Some(2.0)), (None, Some(0.0), Some(0.0))]
    );
    assert_eq!(values(&body, "COST_PER_MQL"), [Some(15_500.0), None]);
    // l1 (Winter) opened 100,000 in January and won it in February.
    assert_eq!(values(&body, "MARKETING_SOURCED_PIPELINE"), [Some(100_000.0), Some(0.0)]);
    assert_eq!(values(&body, "MARKETING_SOURCED_REVENUE"), [Some(0.0), Some(100_000.0)]);
    // (0 − 80,999.5) ÷ 80,999.5 and (100,000 − 14,000) ÷ 14,000.
    assert_eq!(values(&body, "MARKETING_ROI"), [Some(-1.0), Some(round(86_000.0 / 14_000.0))]);

    let body = kpis(
        &d.app,
        &d.org.admin.token,
        json!({ "metrics": ["COST_PER_LEAD"], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": "CHANNEL" }),
    )
    .await;
    assert_eq!(by_group(&body, "numerator"), [("EMAIL".into(), vec![Some(31_000.0), Some(0.0)])]);
    // Leads by the channel of their campaign; l3 has none.
    let body = kpis(
        &d.app,
        &d.org.admin.token,
        json!({ "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1, "filter": { "channel": "EMAIL" } }),
    )
    .await;
    assert_eq!(values(&body, "MQLS"), [Some(2.0), Some(0.0)]);
}

#[tokio::test]
async fn median_days_in_stage_comes_per_stage() {
    let d = shared_dataset();
    let body = kpis(
        &d.app,
        &d.org.admin.token,
        json!({ "metrics": ["MEDIAN_DAYS_IN_STAGE"], "from": JAN_FEB.0, "to": JAN_FEB.1 }),
    )
    .await;
    let by_stage = |stage: &str| -> Vec<Option<f64>> {
        let s = series(&body).iter().find(|s| s["stage"] == stage).unwrap_or_else(|| panic!("{stage}: {body}"));
        s["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().map(round)).collect()
    };
    // Moves out of NEW in January: 5, 10 and 5 days.
    assert_eq!(by_stage("NEW"), [Some(5.0), None]);
    // Out of MQL: 2 and 2 days in January, 1 day in February.
    assert_eq!(by_stage("MQL"), [Some(2.0), Some(1.0)]);
    assert_eq!(by_stage("SAL"), [Some(8.0), None]);
    assert_eq!(by_stage("ENGAGED"), [None, Some(10.0)]);
    assert_eq!(by_stage("SQL"), [None, Some(12.0)]);
    assert_eq!(by_stage("OPPORTUNITY"), [None, Some(14.0)]);
    assert_eq!(series(&body).len(), 6, "{body}");
}

#[tokio::test]
async fn series_split_by_strategy_user_and_team() {
    let d = shared_dataset();
    let token = &d.org.admin.token;
    let body = kpis(
        &d.app,
        token,
        json!({ "metrics": ["OPPORTUNITIES_CREATED"], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": "STRATEGY" }),
    )
    .await;
    assert_eq!(
        by_group(&body, "value"),
        [
            ("ACQUISITION".into(), vec![Some(1.0), Some(0.0)]),
            ("DEVELOPMENT".into(), vec![Some(0.0), Some(1.0)]),
            ("RETENTION".into(), vec![Some(1.0), Some(0.0)])
        ]
    );

    let body = kpis(
        &d.app,
        token,
        json!({ "metrics": ["HANDOVER_ACCEPTANCE_RATE"], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": "USER" }),
    )
    .await;
    let rep = series(&body).iter().find(|s| s["groupKey"] == d.rep.id.to_string()).unwrap_or_else(|| panic!("{body}"));
    assert_eq!(rep["groupLabel"], "Sales Member");
    assert_eq!(rep["points"][0]["value"], 1.0);
    let other = series(&body).iter().find(|s| s["groupKey"] == d.other_rep.id.to_string()).unwrap();
    assert_eq!(other["points"][0]["value"], 0.0);
    assert!(other["points"][1]["value"].is_null());

    let body = kpis(
        &d.app,
        token,
        json!({ "metrics": ["CUSTOMER_FACING_HOURS"], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": "TEAM" }),
    )
    .await;
    assert_eq!(series(&body).len(), 1, "only SALES spent time with customers: {body}");
    assert_eq!(series(&body)[0]["groupKey"], "SALES");
    assert_eq!(values(&body, "CUSTOMER_FACING_HOURS"), [Some(2.5), Some(0.5)]);

    // A filter narrows the facts: the rep's own deals.
    let body = kpis(
        &d.app,
        token,
        json!({ "metrics": ["REVENUE_WON", "DEALS_WON"], "from": JAN_FEB.0, "to": JAN_FEB.1, "filter": { "userId": d.other_rep.id } }),
    )
    .await;
    assert_eq!(values(&body, "DEALS_WON"), [Some(0.0), Some(0.0)]);
}

#[tokio::test]
async fn periods_follow_the_organizations_time_zone() {
    let app = spawn_app().await;
    let org = app.create_org("Berlin").await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let b = Builder { app: &app, org: org.id, account: Uuid::nil() };
    let b = Builder { account: b.account("Globex").await, ..b };
    // 23:30 UTC on January 31 is already February 1 in Berlin.
    b.lead("late@globex.test", Some(rep.id), rep.id, "web", None, &[("NEW", "2026-01-31T23:30:00Z")], false).await;
    let input = json!({ "metrics": ["LEADS_CREATED"], "from": JAN_FEB.0, "to": JAN_FEB.1 });
    let body = kpis(&app, &org.admin.token, input.clone()).await;
    assert_eq!(values(&body, "LEADS_CREATED"), [Some(1.0), Some(0.0)]);

    let settings = app.gql(Some(&org.admin.token), "{ organization { version settings { handoverResponseHours feedbackActionableEndorsers feedbackActionableAccounts approvalRequiresService } } }", json!({})).await;
    let mut new_settings = settings["data"]["organization"]["settings"].clone();
    new_settings["timeZone"] = json!("Europe/Berlin");
    let update = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { settings { timeZone reportingCurrency } } } }";
    let body = app.gql(Some(&org.admin.token), update, json!({ "input": { "settings": new_settings } })).await;
    assert_eq!(body["data"]["updateOrganization"]["organization"]["settings"]["timeZone"], "Europe/Berlin", "{body}");
    let body = kpis(&app, &org.admin.token, input).await;
    assert_eq!(values(&body, "LEADS_CREATED"), [Some(0.0), Some(1.0)]);

    // An unknown time zone is refused and nothing changes.
    new_settings["timeZone"] = json!("Mars/Olympus");
    let body = app.gql(Some(&org.admin.token), update, json!({ "input": { "settings": new_settings } })).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "settings.timeZone");
    let body = app.gql(Some(&org.admin.token), "{ organization { settings { timeZone } } }", json!({})).await;
    assert_eq!(body["data"]["organization"]["settings"]["timeZone"], "Europe/Berlin");
}

/// The funnel's stages for `from..=to` and `cohort`.
async fn funnel_stages(d: &Dataset, from: &str, to: &str, cohort: &str) -> Vec<Value> {
    let query = "query($input: FunnelInput!) { funnel(input: $input) { cohort stages { stage count conversionToNext medianDays p90Days } } }";
    let input = json!({ "input": { "from": from, "to": to, "cohort": cohort } });
    let body = d.app.gql(Some(&d.org.admin.token), query, input).await;
    body["data"]["funnel"]["stages"].as_array().cloned().unwrap_or_else(|| panic!("{body}"))
}

fn counts(stages: &[Value]) -> Vec<i64> {
    stages.iter().map(|s| s["count"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn the_funnel_counts_cohorts_conversions_and_days_in_stage() {
    let d = shared_dataset();
    let stages = funnel_stages(&d, "2026-01-01", "2026-01-31", "CREATED").await;
    // Cohort l1, l2, l3: furthest stages CUSTOMER, MQL (then recycled) and SAL.
    assert_eq!(counts(&stages), [3, 3, 3, 2, 1, 1, 1]);
    let conversions: Vec<Option<f64>> = stages.iter().map(|s| s["conversionToNext"].as_f64().map(round)).collect();
    assert_eq!(conversions, [Some(1.0), Some(1.0), Some(round(2.0 / 3.0)), Some(0.5), Some(1.0), Some(1.0), None]);
    // Days in NEW: 5, 5, 10 → median 5, p90 at 1.8 of 2 → 5 + 0.8 × 5 = 9.
    assert_eq!(stages[0]["medianDays"], 5.0);
    assert_eq!(stages[0]["p90Days"], 9.0);
    // Days in MQL: 2, 2 and 1 (l3 left MQL in February but belongs to the January cohort).
    assert_eq!(stages[2]["medianDays"], 2.0);
    assert!(stages[6]["medianDays"].is_null());

    let stages = funnel_stages(&d, "2026-02-01", "2026-02-28", "ENTERED").await;
    // February entries: l3 into MQL and SAL, l1 into OPPORTUNITY and CUSTOMER (l4 is archived).
    assert_eq!(counts(&stages), [0, 0, 1, 1, 0, 1, 1]);
    let conversions: Vec<Option<f64>> = stages.iter().map(|s| s["conversionToNext"].as_f64()).collect();
    assert_eq!(conversions, [None, None, Some(1.0), Some(0.0), None, Some(1.0), None]);
}

async fn agree_sla(app: &TestApp, org: &TestOrg, metric: &str, target: f64, period: &str) -> String {
    let sales = app.create_user(org, Team::Sales, Role::Manager).await;
    let create = "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id version } } }";
    let body = app
        .gql(
            Some(&sales.token),
            create,
            json!({ "input": { "providerTeam": "SALES", "consumerTeam": "MARKETING", "metric": metric, "target": target, "period": period } }),
        )
        .await;
    let id = body["data"]["createSla"]["sla"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    approve_sla(app, org, &id, 1).await;
    id
}

/// Version `version` of SLA `id`, approved by a sales and a marketing manager.
async fn approve_sla(app: &TestApp, org: &TestOrg, id: &str, version: i32) {
    let sales = app.create_user(org, Team::Sales, Role::Manager).await;
    let marketing = app.create_user(org, Team::Marketing, Role::Manager).await;
    let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
    for user in [&sales, &marketing] {
        let input = json!({ "input": { "kind": "SLA", "id": id, "version": version } });
        let body = app.gql(Some(&user.token), approve, input).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

/// Backdate when version `version` of document `id` was agreed.
async fn agreed_at(app: &TestApp, id: &str, version: i32, when: &str) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let column = entity::document_version::Column::AgreedAt;
    let result = entity::document_version::Entity::update_many()
        .col_expr(column, Expr::value(at(when)))
        .filter(entity::document_version::Column::DocumentId.eq(Uuid::parse_str(id).unwrap()))
        .filter(entity::document_version::Column::Version.eq(version))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(result.rows_affected, 1);
}

#[tokio::test]
async fn each_sla_period_is_judged_by_the_version_in_force_when_it_began() {
    let d = dataset().await;
    let token = &d.org.admin.token;
    // 300 MQLs a month agreed on 15 December; 100 agreed on 10 February.
    let sla = agree_sla(&d.app, &d.org, "MQL_VOLUME", 300.0, "MONTH").await;
    let update = "mutation($input: UpdateSlaInput!) { updateSla(input: $input) { sla { version } } }";
    let body = d.app.gql(Some(token), update, json!({ "input": { "id": sla, "target": 100 } })).await;
    assert_eq!(body["data"]["updateSla"]["sla"]["version"], 2, "{body}");
    approve_sla(&d.app, &d.org, &sla, 2).await;
    agreed_at(&d.app, &sla, 1, "2025-12-15T09:00:00Z").await;
    agreed_at(&d.app, &sla, 2, "2026-02-10T09:00:00Z").await;

    let query = "query($period: PeriodInput!) { slas { id compliance(period: $period) { periodStart slaVersion target actual met } } }";
    let body = d.app.gql(Some(token), query, json!({ "period": { "from": "2025-12-01", "to": "2026-03-31" } })).await;
    let sla_row = body["data"]["slas"].as_array().unwrap().iter().find(|s| s["id"] == sla.as_str()).unwrap().clone();
    let judged: Vec<(&str, i64, f64, bool)> = sla_row["compliance"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| {
            let actual = c["actual"].as_f64().unwrap_or(0.0);
            (
                c["periodStart"].as_str().unwrap(),
                c["slaVersion"].as_i64().unwrap(),
                c["target"].as_f64().unwrap(),
                actual >= c["target"].as_f64().unwrap(),
            )
        })
        .collect();
    // December began before the first agreement: the first version judges it. January
    // began under version 1; February too (version 2 came mid-month); March under version 2.
    assert_eq!(
        judged.iter().map(|j| (j.0, j.1, j.2)).collect::<Vec<_>>(),
        [("2025-12-01", 1, 300.0), ("2026-01-01", 1, 300.0), ("2026-02-01", 1, 300.0), ("2026-03-01", 2, 100.0)],
        "{body}"
    );
    // Two MQLs in January, one in February: short of 300 either way.
    let compliance = &sla_row["compliance"];
    assert_eq!((compliance[1]["actual"].as_f64(), compliance[1]["met"].as_bool()), (Some(2.0), Some(false)));
    assert_eq!((compliance[2]["actual"].as_f64(), compliance[2]["met"].as_bool()), (Some(1.0), Some(false)));
    assert!(judged.iter().all(|j| !j.3));

    // The scorecard and a review meeting's snapshot judge the same way.
    let scorecard = "query($input: PeriodInput!) { scorecard(input: $input) { slas { sla { id } periods { slaVersion target } } } }";
    let body =
        d.app.gql(Some(token), scorecard, json!({ "input": { "from": "2026-02-01", "to": "2026-03-31" } })).await;
    let card = body["data"]["scorecard"]["slas"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    let card = card.iter().find(|s| s["sla"]["id"] == sla.as_str()).unwrap();
    assert_eq!(card["periods"], json!([{ "slaVersion": 1, "target": 300.0 }, { "slaVersion": 2, "target": 100.0 }]));
    let start = "mutation($input: StartReviewMeetingInput!) { startReviewMeeting(input: $input) { reviewMeeting { kpiSnapshot } } }";
    let input = json!({ "input": { "periodStart": "2026-02-01", "periodEnd": "2026-03-31" } });
    let body = d.app.gql(Some(token), start, input).await;
    let slas = &body["data"]["startReviewMeeting"]["reviewMeeting"]["kpiSnapshot"]["scorecard"]["slas"];
    let kept = slas.as_array().unwrap_or_else(|| panic!("{body}")).iter().find(|s| s["slaId"] == sla.as_str()).unwrap();
    assert_eq!(
        (kept["periods"][0]["slaVersion"].as_i64(), kept["periods"][1]["slaVersion"].as_i64()),
        (Some(1), Some(2))
    );
}

#[tokio::test]
async fn sla_compliance_and_handover_compliance_give_the_same_within_target_share() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let d = dataset().await;
    let token = &d.org.admin.token;
    let sla = agree_sla(&d.app, &d.org, "HANDOVER_RESPONSE_HOURS", 24.0, "MONTH").await;
    // A February handover still pending and not yet due: it can still be answered in time.
    let lead = entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(d.org.id))
        .one(&d.app.db)
        .await
        .unwrap()
        .unwrap();
    let b = Builder { app: &d.app, org: d.org.id, account: Uuid::nil() };
    b.handover(lead.id, d.rep.id, "2026-02-25T12:00:00Z", "2999-01-01T00:00:00Z", None).await;

    let slas = "query($period: PeriodInput!) { slas { id compliance(period: $period) { withinTargetShare } } }";
    let body = d.app.gql(Some(token), slas, json!({ "period": { "from": JAN_FEB.0, "to": JAN_FEB.1 } })).await;
    let row = body["data"]["slas"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .find(|s| s["id"] == sla.as_str())
        .unwrap()
        .clone();
    let report = "query($input: ComplianceInput!) { handoverCompliance(input: $input) { groups { team answeredWithinTarget answeredOrDue withinTargetShare } } }";
    for (month, (from, to)) in
        [("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")]
            .into_iter()
            .enumerate()
    {
        let input = json!({ "input": { "from": from, "to": to, "groupBy": "TEAM" } });
        let body = d.app.gql(Some(token), report, input).await;
        let sales = body["data"]["handoverCompliance"]["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .find(|g| g["team"] == "SALES")
            .unwrap()
            .clone();
        // January: 18 h by its due time, 46 h past it: 1 of 2. February: 22 h by its due
        // time, one pending past due (missed), one pending not yet due (left out): 1 of 2.
        assert_eq!(
            (sales["answeredWithinTarget"].as_i64(), sales["answeredOrDue"].as_i64()),
            (Some(1), Some(2)),
            "{body}"
        );
        assert_eq!(sales["withinTargetShare"], 0.5);
        assert_eq!(row["compliance"][month]["withinTargetShare"], 0.5, "{row}");
    }
    // The KPI of the same definition agrees.
    let body = kpis(
        &d.app,
        token,
        json!({ "metrics": ["SLA_COMPLIANCE_RATE"], "from": JAN_FEB.0, "to": JAN_FEB.1, "granularity": "MONTH" }),
    )
    .await;
    let values: Vec<Option<f64>> = body["data"]["kpis"][0]["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|p| p["value"].as_f64())
        .collect();
    assert_eq!(values, [Some(0.5), Some(0.5)]);
}

#[tokio::test]
async fn goals_slas_and_the_scorecard_are_measured_by_the_same_engine() {
    let d = dataset().await;
    let token = &d.org.admin.token;
    let sla = agree_sla(&d.app, &d.org, "HANDOVER_RESPONSE_HOURS", 24.0, "MONTH").await;
    let create_goal = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id progress { actual target ratio elapsed projected onTrack } } } }";
    let body = d
        .app
        .gql(
            Some(token),
            create_goal,
            json!({ "input": { "name": "January MQLs", "metric": "MQLS", "target": 4, "periodStart": "2026-01-01", "periodEnd": "2026-01-31" } }),
        )
        .await;
    // Two MQLs of four, the period over: projected 2, not on track.
    assert_eq!(
        body["data"]["createGoal"]["goal"]["progress"],
        json!({ "actual": 2.0, "target": 4.0, "ratio": 0.5, "elapsed": 1.0, "projected": 2.0, "onTrack": false })
    );
    let body = d
        .app
        .gql(
            Some(token),
            create_goal,
            json!({ "input": { "name": "February revenue", "metric": "REVENUE_WON", "target": 50_000, "periodStart": "2026-02-01", "periodEnd": "2026-02-28", "team": "SALES" } }),
        )
        .await;
    // 100,000 cents (1,000 EUR) against 50,000 cents: money in minor units, as in `kpis`.
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["actual"], 100_000.0, "{body}");
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["onTrack"], true);

    let query = "query($period: PeriodInput!) { slas { id compliance(period: $period) { periodStart periodEnd actual target met measured withinTargetShare complete } } }";
    let body = d.app.gql(Some(token), query, json!({ "period": { "from": JAN_FEB.0, "to": JAN_FEB.1 } })).await;
    let compliance = &body["data"]["slas"][0]["compliance"];
    assert_eq!(body["data"]["slas"][0]["id"], sla.as_str());
    // January: median of 18 h and 46 h = 32 h > 24 h; one of two in time. February: 22 h.
    assert_eq!(
        compliance[0],
        json!({ "periodStart": "2026-01-01", "periodEnd": "2026-01-31", "actual": 32.0, "target": 24.0, "met": false, "measured": 2.0, "withinTargetShare": 0.5, "complete": true })
    );
    assert_eq!(compliance[1]["actual"], 22.0);
    assert_eq!(compliance[1]["met"], true);

    let scorecard = "query($input: PeriodInput!) { scorecard(input: $input) { from to slas { sla { id } met periods { actual } } goals { goal { name } progress { actual onTrack } } } }";
    let body = d.app.gql(Some(token), scorecard, json!({ "input": { "from": JAN_FEB.0, "to": JAN_FEB.1 } })).await;
    let card = &body["data"]["scorecard"];
    assert_eq!(card["slas"][0]["met"], false, "{body}");
    assert_eq!(card["goals"].as_array().unwrap().len(), 2);
    assert_eq!(card["goals"][0]["goal"]["name"], "January MQLs");

    // A review meeting keeps the scorecard in its snapshot.
    let start = "mutation($input: StartReviewMeetingInput!) { startReviewMeeting(input: $input) { reviewMeeting { kpiSnapshot } } }";
    let body = d
        .app
        .gql(Some(token), start, json!({ "input": { "periodStart": "2026-01-01", "periodEnd": "2026-02-28" } }))
        .await;
    let snapshot = &body["data"]["startReviewMeeting"]["reviewMeeting"]["kpiSnapshot"];
    assert_eq!(snapshot["scorecard"]["goals"][0]["actual"], 2.0, "{body}");
}

#[tokio::test]
async fn bad_kpi_requests_are_refused_with_the_field_named() {
    let d = dataset().await;
    let token = &d.org.admin.token;
    let cases = [
        (json!({ "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": "STRATEGY" }), "groupBy"),
        (
            json!({ "metrics": ["CONTENT_UTILIZATION_RATE"], "from": JAN_FEB.0, "to": JAN_FEB.1, "filter": { "userId": d.rep.id } }),
            "filter.userId",
        ),
        (json!({ "metrics": [], "from": JAN_FEB.0, "to": JAN_FEB.1 }), "metrics"),
        (json!({ "metrics": ["MQLS"], "from": "2026-02-01", "to": "2026-01-01" }), "to"),
        (json!({ "metrics": ["MQLS"], "from": "2020-01-01", "to": "2026-01-01", "granularity": "DAY" }), "to"),
        (
            json!({ "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1, "filter": { "personaId": "nope" } }),
            "filter.personaId",
        ),
    ];
    for (input, field) in cases {
        let body = kpis(&d.app, token, input.clone()).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body}");
    }
    // Without a credential (401: nothing ran), or with an API key lacking `KPIS_READ`.
    let input = json!({ "input": { "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1 } });
    let response = d.app.post(None, &json!({ "query": KPIS, "variables": input })).await;
    assert_eq!(response.status(), 401);
    assert_error(&response.json().await.expect("JSON"), "UNAUTHENTICATED");
    let key = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }";
    let body =
        d.app.gql(Some(token), key, json!({ "input": { "name": "Leads sync", "scopes": ["LEADS_READ"] } })).await;
    let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let body = kpis(&d.app, &secret, json!({ "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1 })).await;
    assert_error(&body, "FORBIDDEN");
    let body = d.app.gql(Some(token), key, json!({ "input": { "name": "BI", "scopes": ["KPIS_READ"] } })).await;
    let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap().to_owned();
    let body = kpis(&d.app, &secret, json!({ "metrics": ["MQLS"], "from": JAN_FEB.0, "to": JAN_FEB.1 })).await;
    assert_eq!(values(&body, "MQLS"), [Some(2.0), Some(1.0)]);
}

#[tokio::test]
async fn another_organization_sees_none_of_the_numbers() {
    let d = dataset().await;
    let other = d.app.create_org("Umbrella").await;
    let input = json!({ "metrics": ["LEADS_CREATED", "MQLS", "REVENUE_WON", "CUSTOMER_FACING_HOURS", "ACTIONABLE_FEEDBACK", "CONTENT_UTILIZATION_RATE"], "from": JAN_FEB.0, "to": JAN_FEB.1 });
    let body = kpis(&d.app, &other.admin.token, input).await;
    assert_eq!(series(&body).len(), 6, "{body}");
    for s in series(&body) {
        assert_eq!(s["points"].as_array().map(Vec::len), Some(2), "{s}");
        for p in s["points"].as_array().unwrap() {
            assert!(p["value"].is_null() || p["value"] == 0.0, "{s}");
        }
    }
    // Filtering by the first organization's user finds nothing either.
    let body = kpis(
        &d.app,
        &other.admin.token,
        json!({ "metrics": ["DEALS_WON"], "from": JAN_FEB.0, "to": JAN_FEB.1, "filter": { "userId": d.rep.id } }),
    )
    .await;
    assert_eq!(values(&body, "DEALS_WON"), [Some(0.0), Some(0.0)]);
    let funnel = "query { funnel(input: { from: \"2026-01-01\", to: \"2026-01-31\" }) { stages { count } } }";
    let body = d.app.gql(Some(&other.admin.token), funnel, json!({})).await;
    let stages = body["data"]["funnel"]["stages"].as_array().unwrap_or_else(|| panic!("{body}"));
    assert_eq!(counts(stages), [0; 7]);
}

/// Every KPI path has an index: with sequential scans priced out, no one-month or
/// one-day, one-organization query of any metric scans a fact table from end to end.
#[tokio::test]
#[ignore = "PostgreSQL only: runs with ACCORD_TEST_DATABASE_URL and -- --include-ignored"]
async fn every_metric_reads_its_facts_through_an_index_on_postgres() {
    crate::common::require_postgres();
    // The shared pool's connections must stay on the shared runtime, which outlives this test's.
    let (runtime, _) = shared();
    runtime.spawn(assert_every_metric_reads_through_an_index(shared_dataset())).await.unwrap();
}

async fn assert_every_metric_reads_through_an_index(d: Dataset) {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let settings = api::kpi::settings(&d.app.db, d.org.id).await.unwrap();
    let ctx = api::kpi::context(&d.app.db, &settings);
    let month = api::kpi::periods::Period::new(ctx.tz, "2026-01-01".parse().unwrap(), "2026-02-01".parse().unwrap());
    // One day is a narrow query (a dirty day of the rollup), planned another way.
    let day = api::kpi::periods::Period::new(ctx.tz, "2026-01-12".parse().unwrap(), "2026-01-13".parse().unwrap());
    let filter = api::kpi::KpiFilter::default();
    for (metric, period) in api::catalogue::KpiMetric::all().flat_map(|m| [(m, month), (m, day)]) {
        let statement = api::kpi::statement(
            sea_orm::DbBackend::Postgres,
            d.org.id,
            &ctx,
            metric,
            &[period],
            api::catalogue::KpiGroupBy::None,
            &filter,
        )
        .unwrap();
        let txn = d.app.db.begin().await.unwrap();
        txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
        let explain = sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            format!("EXPLAIN {}", statement.sql),
            statement.values.map(|v| v.0).unwrap_or_default(),
        );
        let plan: Vec<String> = txn
            .query_all_raw(explain)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
            .collect();
        txn.rollback().await.unwrap();
        let plan = plan.join("\n");
        for table in ["leads", "lead_stage_transitions", "opportunities", "handovers", "activities", "feedback"] {
            assert!(!plan.contains(&format!("Seq Scan on {table} ")), "{}: {plan}", metric.name());
        }
    }
}

async fn kpis_csv(app: &TestApp, token: Option<&str>, query: &str) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/export/kpis.csv?{query}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the server answers")
}

#[tokio::test]
async fn the_kpi_export_streams_the_same_series_as_csv() {
    let d = dataset().await;
    let query = "metrics=MQLS,WIN_RATE,REVENUE_WON&from=2026-01-01&to=2026-02-28&granularity=MONTH";
    let response = kpis_csv(&d.app, Some(&d.org.admin.token), query).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "metric,unit,group_by,group_key,group_label,stage,period_start,period_end,value,numerator,denominator,currency",
            "MQLS,COUNT,NONE,,,,2026-01-01,2026-01-31,2,2,,",
            "MQLS,COUNT,NONE,,,,2026-02-01,2026-02-28,1,1,,",
            "WIN_RATE,RATIO,NONE,,,,2026-01-01,2026-01-31,,0,0,",
            "WIN_RATE,RATIO,NONE,,,,2026-02-01,2026-02-28,0.5,1,2,",
            "REVENUE_WON,MONEY_MINOR,NONE,,,,2026-01-01,2026-01-31,0,0,,EUR",
            "REVENUE_WON,MONEY_MINOR,NONE,,,,2026-02-01,2026-02-28,100000,100000,,EUR",
        ]
    );

    // Another organization's export holds only its own (empty) figures.
    let other = d.app.create_org("Umbrella").await;
    let text = kpis_csv(&d.app, Some(&other.admin.token), query).await.text().await.unwrap();
    assert!(text.contains("MQLS,COUNT,NONE,,,,2026-01-01,2026-01-31,0,0,,"), "{text}");

    // No credential; a key without kpis:read; a bad parameter.
    assert_eq!(kpis_csv(&d.app, None, query).await.status(), 401);
    let key = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }";
    let body = d
        .app
        .gql(Some(&d.org.admin.token), key, json!({ "input": { "name": "Sync", "scopes": ["LEADS_READ"] } }))
        .await;
    let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(kpis_csv(&d.app, Some(&secret), query).await.status(), 403);
    let response = kpis_csv(&d.app, Some(&d.org.admin.token), "metrics=MQLZ&from=2026-01-01&to=2026-02-28").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let response = kpis_csv(&d.app, Some(&d.org.admin.token), "metrics=MQLS&from=2026-01-01").await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn every_value_is_its_numerator_over_its_denominator_under_every_grouping() {
    use api::catalogue::{KpiGroupBy, KpiMetric, Shape, name_of};
    use async_graphql::resolver_utils::EnumType;
    let d = shared_dataset();
    let token = &d.org.admin.token;
    let mut checked = 0;
    for metric in KpiMetric::all() {
        for group in KpiGroupBy::items().iter().map(|i| i.value) {
            let input =
                json!({ "metrics": [metric.name()], "from": JAN_FEB.0, "to": JAN_FEB.1, "groupBy": name_of(group) });
            let body = kpis(&d.app, token, input).await;
            if body["errors"][0]["extensions"]["field"] == "groupBy" {
                continue;
            }
            for s in series(&body) {
                for p in s["points"].as_array().unwrap() {
                    let (value, num, den) = (p["value"].as_f64(), p["numerator"].as_f64(), p["denominator"].as_f64());
                    let expected = match metric.shape() {
                        Shape::Sum | Shape::Distinct => num,
                        Shape::Ratio => num.zip(den).filter(|(_, d)| *d > 0.0).map(|(n, d)| n / d),
                        Shape::Growth => num.zip(den).filter(|(_, d)| *d > 0.0).map(|(n, d)| n / d - 1.0),
                        // A median is no quotient; its denominator counts what was measured.
                        Shape::Median => value,
                    };
                    let close = match (value, expected) {
                        (Some(v), Some(e)) => (v - e).abs() <= 1e-9 * e.abs().max(1.0),
                        (None, None) => true,
                        _ => false,
                    };
                    assert!(close, "{} by {}: {p}", metric.name(), name_of(group));
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 200, "{checked} points checked");
}

#[tokio::test]
async fn time_with_customers_lists_every_person_and_counts_each_customer_once() {
    let d = shared_dataset();
    let token = &d.org.admin.token;
    let per_person = |team: &str| {
        json!({ "metrics": ["CUSTOMER_FACING_HOURS", "DISTINCT_CUSTOMERS_TOUCHED"], "from": JAN_FEB.0, "to": JAN_FEB.1,
                "groupBy": "USER", "filter": { "team": team } })
    };
    // The rep: 90 minutes with l1 in January, 30 in February; the other rep: an hour in
    // January with nobody named (a row from before customers were required), so no customer.
    let body = kpis(&d.app, token, per_person("SALES")).await;
    let of = |metric: &str, user: Uuid| -> Vec<Option<f64>> {
        series(&body)
            .iter()
            .find(|s| s["metric"] == metric && s["groupKey"] == json!(user))
            .map(|s| s["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64()).collect())
            .unwrap_or_else(|| panic!("no {metric} series for {user}: {body}"))
    };
    assert_eq!(of("CUSTOMER_FACING_HOURS", d.rep.id), [Some(1.5), Some(0.5)]);
    assert_eq!(of("CUSTOMER_FACING_HOURS", d.other_rep.id), [Some(1.0), Some(0.0)]);
    assert_eq!(of("DISTINCT_CUSTOMERS_TOUCHED", d.rep.id), [Some(1.0), Some(1.0)]);
    assert_eq!(of("DISTINCT_CUSTOMERS_TOUCHED", d.other_rep.id), [Some(0.0), Some(0.0)]);
    // Marketing spent no time with customers, and says so with zeros.
    let body = kpis(&d.app, token, per_person("MARKETING")).await;
    let rows: Vec<(String, Vec<Option<f64>>)> = series(&body)
        .iter()
        .map(|s| {
            (
                s["metric"].as_str().unwrap().to_owned(),
                s["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("CUSTOMER_FACING_HOURS".to_owned(), vec![Some(0.0), Some(0.0)]),
            ("DISTINCT_CUSTOMERS_TOUCHED".to_owned(), vec![Some(0.0), Some(0.0)])
        ],
        "{body}"
    );
    // The same customer twice in a period counts once.
    let body =
        kpis(&d.app, token, json!({ "metrics": ["DISTINCT_CUSTOMERS_TOUCHED"], "from": JAN_FEB.0, "to": JAN_FEB.1 }))
            .await;
    assert_eq!(values(&body, "DISTINCT_CUSTOMERS_TOUCHED"), [Some(1.0), Some(1.0)]);
}

#[tokio::test]
async fn a_customer_facing_activity_names_its_customer() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let log = "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id account { id } } } }";
    let before = app.count_audit_rows(&org).await;
    let body = app
        .gql(
            Some(&rep.token),
            log,
            json!({ "input": { "kind": "CALL", "customerFacing": true, "durationMinutes": 30 } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "customerFacing");
    assert_eq!(app.count_audit_rows(&org).await, before);
    let internal = app
        .gql(
            Some(&rep.token),
            log,
            json!({ "input": { "kind": "NOTE", "customerFacing": false, "durationMinutes": 30 } }),
        )
        .await;
    assert!(internal["errors"].is_null(), "{internal}");
    let account = "mutation { createAccount(input: { name: \"Globex\" }) { account { id } } }";
    let account = app.gql(Some(&rep.token), account, json!({})).await["data"]["createAccount"]["account"]["id"].clone();
    let body = app.gql(Some(&rep.token), log, json!({ "input": { "kind": "MEETING", "customerFacing": true, "durationMinutes": 60, "accountId": account } })).await;
    assert_eq!(body["data"]["logActivity"]["activity"]["account"]["id"], account, "{body}");
}

#[tokio::test]
async fn personal_and_team_goals_count_their_facts_and_marketing_can_own_revenue_and_conversion() {
    let d = shared_dataset();
    let token = &d.org.admin.token;
    let goal = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { progress { actual ratio projected } } } }";
    let progress = |metric: &'static str, target: f64, team: Option<&'static str>, person: Option<Uuid>| {
        let (app, token) = (&d.app, token.clone());
        async move {
            let name = format!("{metric} {team:?} {person:?} {}", Uuid::now_v7());
            let input = json!({ "input": { "name": name, "metric": metric, "target": target,
                "periodStart": JAN_FEB.0, "periodEnd": JAN_FEB.1, "team": team, "personId": person } });
            let body = app.gql(Some(&token), goal, input).await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["createGoal"]["goal"]["progress"].clone()
        }
    };
    // One person's hours are theirs: the other rep's hour in January, not everyone's 4.
    assert_eq!(progress("CUSTOMER_FACING_HOURS", 40.0, None, Some(d.other_rep.id)).await["actual"], 1.0);
    // A team's hours are its members': sales 1.5 + 0.5 + 1.0; marketing none.
    assert_eq!(progress("CUSTOMER_FACING_HOURS", 40.0, Some("SALES"), None).await["actual"], 3.0);
    assert_eq!(progress("CUSTOMER_FACING_HOURS", 40.0, Some("MARKETING"), None).await["actual"], 0.0);
    assert_eq!(progress("DISTINCT_CUSTOMERS_TOUCHED", 5.0, None, Some(d.rep.id)).await["actual"], 1.0);
    // Marketing's MQLs count whoever holds the leads now: l1, l2, l3.
    assert_eq!(progress("MQLS", 3.0, Some("MARKETING"), None).await["actual"], 3.0);
    // Marketing's revenue quota: l1 (Winter) won 100,000 cents = 1,000.00 EUR in February.
    assert_eq!(progress("MARKETING_SOURCED_REVENUE", 200_000.0, Some("MARKETING"), None).await["ratio"], 0.5);
    assert_eq!(progress("MARKETING_SOURCED_PIPELINE", 1_000.0, Some("MARKETING"), None).await["actual"], 100_000.0);
    // Of the three MQLs, l1 and l3 reached SAL: 2 ÷ 3; a rate is not projected by the calendar.
    let rate = progress("MQL_TO_SAL_RATE", 0.5, Some("MARKETING"), None).await;
    assert_eq!(
        (round(rate["actual"].as_f64().unwrap()), round(rate["projected"].as_f64().unwrap())),
        (round(2.0 / 3.0), round(2.0 / 3.0))
    );
}

#[tokio::test]
async fn a_campaign_s_cost_follows_the_leads_it_sourced_within_its_attribution_window() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let b = Builder { app: &app, org: org.id, account: Uuid::nil() };
    let b = Builder { account: b.account("Globex").await, ..b };
    // A campaign in August costing 10,000; its leads come in August, in October (within
    // 90 days of its end) and in December (after).
    b.campaign("August", entity::CampaignChannel::Event, ("2026-08-01", "2026-08-31"), 10_000, "EUR").await;
    for (email, at) in [
        ("a@x.test", "2026-08-15T10:00:00Z"),
        ("b@x.test", "2026-10-10T10:00:00Z"),
        ("c@x.test", "2026-12-20T10:00:00Z"),
    ] {
        b.lead(email, Some(rep.id), rep.id, "event", Some("August"), &[("NEW", at)], false).await;
    }
    let cost = |days: u32| {
        let (app, token) = (&app, org.admin.token.clone());
        async move {
            let settings = "mutation($d: Int!) { updateOrganization(input: { settings: { campaignAttributionDays: $d } }) { organization { id } } }";
            let body = app.gql(Some(&token), settings, json!({ "d": days })).await;
            assert!(body["errors"].is_null(), "{body}");
            let input = json!({ "metrics": ["COST_PER_LEAD"], "from": "2026-07-01", "to": "2026-12-31", "granularity": "QUARTER" });
            points(&kpis(app, &token, input).await, "COST_PER_LEAD")
        }
    };
    // 90 days: two leads share 10,000; Q3 has one (5,000), Q4 the October one (5,000); the
    // December lead is not the campaign's.
    assert_eq!(cost(90).await, [(Some(5_000.0), Some(5_000.0), Some(1.0)), (Some(5_000.0), Some(5_000.0), Some(1.0))]);
    // 30 days: only the August lead is attributed and carries it all.
    assert_eq!(cost(30).await, [(Some(10_000.0), Some(10_000.0), Some(1.0)), (None, Some(0.0), Some(0.0))]);
    let bad = app
        .gql(Some(&org.admin.token), "mutation { updateOrganization(input: { settings: { campaignAttributionDays: 731 } }) { organization { id } } }", json!({}))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "settings.campaignAttributionDays", "{bad}");
}

/// An ICP of software companies, agreed by a marketing and a sales manager.
async fn agree_software_icp(app: &TestApp, org: &TestOrg) {
    let marketing = app.create_user(org, Team::Marketing, Role::Manager).await;
    let sales = app.create_user(org, Team::Sales, Role::Manager).await;
    let create = "mutation($input: CreateIdealCustomerProfileInput!) { createIdealCustomerProfile(input: $input) { idealCustomerProfile { id } } }";
    let input = json!({ "input": { "name": "Software", "industries": ["software"], "propose": true } });
    let body = app.gql(Some(&marketing.token), create, input).await;
    let id = body["data"]["createIdealCustomerProfile"]["idealCustomerProfile"]["id"].clone();
    let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
    let input = json!({ "input": { "kind": "IDEAL_CUSTOMER_PROFILE", "id": id, "version": 1 } });
    for user in [&sales, &marketing] {
        let body = app.gql(Some(&user.token), approve, input.clone()).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

#[tokio::test]
async fn goals_and_kpis_share_one_catalogue_unit_currency_and_scopes() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let d = dataset().await;
    let token = &d.org.admin.token;
    // Globex (every deal's account) is a software company; Initech is not.
    let globex = entity::account::Entity::find()
        .filter(entity::account::Column::OrgId.eq(d.org.id))
        .filter(entity::account::Column::Name.eq("Globex"))
        .one(&d.app.db)
        .await
        .unwrap()
        .unwrap();
    let mut globex: entity::account::ActiveModel = globex.into();
    globex.industry = Set(Some("Software".into()));
    globex.update(&d.app.db).await.unwrap();
    agree_software_icp(&d.app, &d.org).await;

    // KPIs split and filter by ICP fit; money series name their currency.
    let input = json!({ "input": { "metrics": ["REVENUE_WON", "MQLS"], "from": "2026-02-01", "to": "2026-02-28", "groupBy": "ICP_FIT" } });
    let query = "query($input: KpiInput!) { kpis(input: $input) { metric groupKey currency points { value } } }";
    let body = d.app.gql(Some(token), query, input).await;
    let series = body["data"]["kpis"].as_array().unwrap_or_else(|| panic!("{body}"));
    let revenue: Vec<_> = series.iter().filter(|s| s["metric"] == "REVENUE_WON").collect();
    // The one deal won in February (100,000 cents) is Globex's.
    assert_eq!(revenue.len(), 1, "{body}");
    assert_eq!(
        (&revenue[0]["groupKey"], &revenue[0]["currency"], &revenue[0]["points"][0]["value"]),
        (&json!("true"), &json!("EUR"), &json!(100_000.0))
    );
    assert!(series.iter().filter(|s| s["metric"] == "MQLS").all(|s| s["currency"].is_null()), "{body}");
    let input = json!({ "input": { "metrics": ["REVENUE_WON"], "from": "2026-02-01", "to": "2026-02-28", "filter": { "icpFit": false } } });
    let body = d.app.gql(Some(token), KPIS, input).await;
    assert_eq!(body["data"]["kpis"][0]["points"][0]["value"], 0.0, "{body}");

    // A goal is the same metric with the same scopes: progress = the KPI with that filter.
    let create = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { metric unit direction strategy icpFit campaign progress { actual onTrack currency } } } }";
    let goal = |metric: &'static str, scope: Value| {
        let (app, token) = (&d.app, token.clone());
        async move {
            let mut input = json!({ "name": format!("{metric} goal"), "metric": metric, "target": 50_000,
                "periodStart": "2026-02-01", "periodEnd": "2026-02-28" });
            input.as_object_mut().unwrap().extend(scope.as_object().unwrap().clone());
            app.gql(Some(&token), create, json!({ "input": input })).await
        }
    };
    let body = goal("REVENUE_WON", json!({ "icpFit": true, "strategy": "ACQUISITION" })).await;
    assert_eq!(
        body["data"]["createGoal"]["goal"],
        json!({ "metric": "REVENUE_WON", "unit": "MONEY_MINOR", "direction": "AT_LEAST", "strategy": "ACQUISITION",
                "icpFit": true, "campaign": null, "progress": { "actual": 100_000.0, "onTrack": true, "currency": "EUR" } })
    );
    let body = goal("REVENUE_WON", json!({ "strategy": "RETENTION" })).await;
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["actual"], 0.0, "{body}");
    let body = goal("REVENUE_WON", json!({ "icpFit": false })).await;
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["actual"], 0.0, "{body}");
    // Winter's MQLs in January and February: l1 and l2 (l3 has no campaign).
    let body = goal("MQLS", json!({ "campaign": "Winter", "periodStart": "2026-01-01" })).await;
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["actual"], 2.0, "{body}");
    // Less is better: a ceiling, on track while under it.
    let body = goal("HANDOVER_MEDIAN_RESPONSE_HOURS", json!({})).await;
    assert_eq!(body["data"]["createGoal"]["goal"]["direction"], "AT_MOST", "{body}");
    assert_eq!(body["data"]["createGoal"]["goal"]["progress"]["onTrack"], true, "{body}");

    // A scope the metric does not split by, or a metric without one value, is refused
    // and nothing is written.
    let before = entity::goal::Entity::find().filter(entity::goal::Column::OrgId.eq(d.org.id)).count(&d.app.db).await;
    for (metric, scope, field) in [
        ("MQLS", json!({ "strategy": "ACQUISITION" }), "strategy"),
        ("CONTENT_UTILIZATION_RATE", json!({ "icpFit": true }), "icpFit"),
        ("MARKETING_ROI", json!({ "personId": d.rep.id }), "personId"),
        ("MEDIAN_DAYS_IN_STAGE", json!({}), "metric"),
        ("MQLS", json!({ "campaign": "x".repeat(201) }), "campaign"),
    ] {
        let body = goal(metric, scope).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let after = entity::goal::Entity::find().filter(entity::goal::Column::OrgId.eq(d.org.id)).count(&d.app.db).await;
    assert_eq!(before.unwrap(), after.unwrap());
}
