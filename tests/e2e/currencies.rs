//! Money in every currency: dated exchange rates into the reporting currency, converted
//! per amount on its local day and rounded half away from zero, a missing rate named
//! instead of a currency left out, the rollup and goals in step, and amount ordering on
//! one scale. Every expected figure is computed by hand in the comments.

use entity::{Role, Team};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::common::*;

const SET: &str = "mutation($input: SetExchangeRatesInput!) { setExchangeRates(input: $input) { written } }";
const IMPORT: &str = "mutation($input: ImportExchangeRatesInput!) { importExchangeRates(input: $input) { written } }";
const RATES: &str = "{ exchangeRates { currency quote validFrom rate } }";
const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { points { periodStart value } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    rep: TestUser,
}

async fn setup(time_zone: &str) -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let settings =
        "mutation($tz: String!) { updateOrganization(input: { settings: { timeZone: $tz } }) { organization { id } } }";
    ok(app.gql(Some(&org.admin.token), settings, json!({ "tz": time_zone })).await);
    Setup { app, org, rep }
}

#[track_caller]
fn ok(body: Value) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

async fn set_rates(s: &Setup, rates: Value) -> Value {
    s.app.gql(Some(&s.org.admin.token), SET, json!({ "input": { "rates": rates } })).await
}

/// A deal won at `closed` (UTC), opened a minute before.
async fn won(s: &Setup, amount: i64, currency: &str, closed: &str) -> String {
    let account = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
    let name = format!("{currency} {amount} {closed}");
    let account = ok(s.app.gql(Some(&s.rep.token), account, json!({ "input": { "name": name } })).await)
        ["createAccount"]["account"]["id"]
        .clone();
    let create =
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
    let input = json!({ "input": { "accountId": account, "name": "Deal", "amountMinor": amount, "currency": currency, "strategy": "ACQUISITION" } });
    let id = ok(s.app.gql(Some(&s.rep.token), create, input).await)["createOpportunity"]["opportunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let close = "mutation($id: ID!) { closeOpportunity(input: { id: $id, outcome: WON }) { opportunity { id } } }";
    ok(s.app.gql(Some(&s.rep.token), close, json!({ "id": id })).await);
    let backend = s.app.db.get_database_backend();
    let closed_at = chrono::DateTime::parse_from_rfc3339(closed).unwrap().with_timezone(&chrono::Utc);
    let opened_at = closed_at - chrono::Duration::minutes(1);
    let sql = match backend {
        sea_orm::DbBackend::Postgres => "UPDATE opportunities SET created_at = $1, closed_at = $2 WHERE id = $3",
        _ => "UPDATE opportunities SET created_at = ?, closed_at = ? WHERE id = ?",
    };
    let uuid: uuid::Uuid = id.parse().unwrap();
    let statement = Statement::from_sql_and_values(backend, sql, [opened_at.into(), closed_at.into(), uuid.into()]);
    s.app.db.execute_raw(statement).await.unwrap();
    id
}

/// REVENUE_WON per month of `from..to`, as the API answers it.
async fn revenue(s: &Setup, from: &str, to: &str) -> Value {
    let input = json!({ "input": { "metrics": ["REVENUE_WON"], "from": from, "to": to, "granularity": "MONTH" } });
    s.app.gql(Some(&s.org.admin.token), KPIS, input).await
}

fn values(body: &Value) -> Vec<f64> {
    ok(body.clone())["kpis"][0]["points"].as_array().unwrap().iter().map(|p| p["value"].as_f64().unwrap()).collect()
}

/// Deals of October and November 2026 in EUR, USD and JPY, for an organization in Berlin.
async fn autumn(s: &Setup) {
    won(s, 100_000, "EUR", "2026-10-15T10:00:00Z").await;
    won(s, 10_001, "USD", "2026-10-20T10:00:00Z").await;
    won(s, 25, "USD", "2026-10-21T10:00:00Z").await;
    won(s, 1_000, "JPY", "2026-10-10T10:00:00Z").await;
    // 00:30 on 1 November in Berlin: November's rate and November's period.
    won(s, 5, "USD", "2026-10-31T23:30:00Z").await;
    won(s, 15, "USD", "2026-11-05T10:00:00Z").await;
}

#[tokio::test]
async fn money_converts_per_amount_on_its_local_day_and_a_missing_rate_is_named() {
    let s = setup("Europe/Berlin").await;
    autumn(&s).await;
    // No rate yet: the earliest amount without one is named, nothing is summed.
    let body = revenue(&s, "2026-10-01", "2026-11-30").await;
    let message = assert_error(&body, "MISSING_EXCHANGE_RATE");
    let extensions = &body["errors"][0]["extensions"];
    assert_eq!(
        (&extensions["currency"], &extensions["quote"], &extensions["day"]),
        (&json!("JPY"), &json!("EUR"), &json!("2026-10-10")),
        "{message}"
    );

    let rates = json!([
        { "currency": "USD", "validFrom": "2026-10-01", "rate": 0.9 },
        { "currency": "usd", "validFrom": "2026-11-01", "rate": 0.8 },
        { "currency": "JPY", "validFrom": "2026-10-01", "rate": 0.006 },
    ]);
    assert_eq!(ok(set_rates(&s, rates).await)["setExchangeRates"]["written"], 3);
    // October: 100,000 EUR + 10,001 × 0.9 = 9,000.9 → 9,001 + 25 × 0.9 = 22.5 → 23 (half
    // away from zero) + ¥1,000 × 0.006 EUR = 6.00 EUR = 600 cents → 109,624.
    // November: 5 × 0.8 = 4 + 15 × 0.8 = 12 → 16.
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-11-30").await), [109_624.0, 16.0]);

    // September holds no deal: nothing to convert, no error.
    assert_eq!(values(&revenue(&s, "2026-09-01", "2026-09-30").await), [0.0]);
    // A deal at 23:00 on 30 September in Berlin (21:00 UTC) is before October's rate.
    won(&s, 7, "USD", "2026-09-30T21:00:00Z").await;
    let body = revenue(&s, "2026-09-01", "2026-09-30").await;
    assert_error(&body, "MISSING_EXCHANGE_RATE");
    assert_eq!(body["errors"][0]["extensions"]["day"], "2026-09-30");
    ok(set_rates(&s, json!([{ "currency": "USD", "validFrom": "2026-09-01", "rate": 1.5 }])).await);
    // 7 × 1.5 = 10.5 → 11.
    assert_eq!(values(&revenue(&s, "2026-09-01", "2026-09-30").await), [11.0]);

    // A replaced rate recomputes the figures it touches: 10,001 × 0.5 = 5,000.5 → 5,001,
    // 25 × 0.5 = 12.5 → 13: 100,000 + 5,001 + 13 + 600 = 105,614.
    ok(set_rates(&s, json!([{ "currency": "USD", "validFrom": "2026-10-01", "rate": 0.5 }])).await);
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-10-31").await), [105_614.0]);

    // In UTC the 23:30 deal closed on 31 October: October's rate (0.5 → 2.5 → 3) and October.
    let settings =
        "mutation { updateOrganization(input: { settings: { timeZone: \"UTC\" } }) { organization { id } } }";
    ok(s.app.gql(Some(&s.org.admin.token), settings, json!({})).await);
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-11-30").await), [105_617.0, 12.0]);
}

#[tokio::test]
async fn goals_the_rollup_and_the_amount_order_convert_the_same_way() {
    let s = setup("Europe/Berlin").await;
    autumn(&s).await;
    let rates = json!([
        { "currency": "USD", "validFrom": "2026-10-01", "rate": 0.9 },
        { "currency": "USD", "validFrom": "2026-11-01", "rate": 0.8 },
        { "currency": "JPY", "validFrom": "2026-10-01", "rate": 0.006 },
    ]);
    ok(set_rates(&s, rates).await);
    let live = values(&revenue(&s, "2026-10-01", "2026-11-30").await);
    assert_eq!(live, [109_624.0, 16.0]);
    // The rollup answers what the live engine answers, and a new rate is never read
    // from a rollup built before it.
    let settings = api::org::settings(&s.app.db, s.org.id).await.unwrap();
    assert!(api::kpi::rollup::build(&s.app.db, s.org.id, &settings).await.unwrap());
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-11-30").await), live);
    ok(set_rates(&s, json!([{ "currency": "JPY", "validFrom": "2026-10-01", "rate": 0.007 }])).await);
    // ¥1,000 × 0.007 EUR = 700 cents: 109,724.
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-11-30").await), [109_724.0, 16.0]);

    // A revenue goal over both months: 109,740 cents, as `kpis` counts them.
    let goal = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { progress { actual } } } }";
    let input = json!({ "input": { "name": "Autumn", "metric": "REVENUE_WON", "target": 200_000, "periodStart": "2026-10-01", "periodEnd": "2026-11-30" } });
    let body = ok(s.app.gql(Some(&s.org.admin.token), goal, input).await);
    assert_eq!(body["createGoal"]["goal"]["progress"]["actual"], 109_740.0);

    // Deals order by their amount in EUR at each currency's latest rate: 100,000; 10,001
    // × 0.8 = 8,001 (rounded from 8,000.8); ¥1,000 → 700; 25 × 0.8 = 20; 15 → 12; 5 → 4.
    let order = "{ opportunities(orderBy: { field: AMOUNT, direction: DESC }, first: 3) { nodes { amount { amountMinor currency } } pageInfo { endCursor } } }";
    let body = ok(s.app.gql(Some(&s.rep.token), order, json!({})).await);
    let amounts: Vec<(i64, String)> = body["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["amount"]["amountMinor"]
                    .as_str()
                    .map_or_else(|| n["amount"]["amountMinor"].as_i64().unwrap(), |a| a.parse().unwrap()),
                n["amount"]["currency"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(amounts, [(100_000, "EUR".into()), (10_001, "USD".into()), (1_000, "JPY".into())]);
    // A deal in a currency without a rate has no place in that order.
    won(&s, 100, "GBP", "2026-10-12T10:00:00Z").await;
    let body = s.app.gql(Some(&s.rep.token), order, json!({})).await;
    assert_error(&body, "MISSING_EXCHANGE_RATE");
    assert_eq!(body["errors"][0]["extensions"]["currency"], "GBP");
}

#[tokio::test]
async fn rates_are_set_by_admins_checked_whole_and_kept_per_organization() {
    let s = setup("UTC").await;
    let admin = &s.org.admin.token;
    let refused = [
        (json!([{ "currency": "EUR", "validFrom": "2026-10-01", "rate": 1.0 }]), "rates[0].currency"),
        (json!([{ "currency": "XXY", "validFrom": "2026-10-01", "rate": 1.0 }]), "rates[0].currency"),
        (json!([{ "currency": "USD", "validFrom": "2026-10-01", "rate": 0.0 }]), "rates[0].rate"),
        (json!([{ "currency": "USD", "validFrom": "1900-10-01", "rate": 0.9 }]), "rates[0].validFrom"),
        (
            json!([{ "currency": "USD", "validFrom": "2026-10-01", "rate": 0.9 }, { "currency": "USD", "validFrom": "2026-10-01", "rate": 0.8 }]),
            "rates[1].validFrom",
        ),
        (json!([]), "rates"),
    ];
    for (rates, field) in refused {
        let body = set_rates(&s, rates.clone()).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{rates}");
    }
    let too_many: Vec<Value> = (0..1001)
        .map(|i| json!({ "currency": "USD", "validFrom": format!("2026-01-01"), "rate": 1.0 + f64::from(i) }))
        .collect();
    assert_error(&set_rates(&s, json!(too_many)).await, "BAD_USER_INPUT");
    let member = s
        .app
        .gql(
            Some(&s.rep.token),
            SET,
            json!({ "input": { "rates": [{ "currency": "USD", "validFrom": "2026-10-01", "rate": 0.9 }] } }),
        )
        .await;
    assert_error(&member, "FORBIDDEN");
    assert_eq!(ok(s.app.gql(Some(admin), RATES, json!({})).await)["exchangeRates"], json!([]));

    // CSV: all or nothing, a mistake named by its line.
    let bad = "currency,valid_from,rate\nUSD,2026-10-01,0.9\nGBP,2026-13-01,1.2\n";
    let body = s.app.gql(Some(admin), IMPORT, json!({ "input": { "csv": bad } })).await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("line 3"), "{message}");
    let wrong_rate = "rate,currency,valid_from\n0.9,USD,2026-10-01\n-1,GBP,2026-10-01\n";
    assert!(
        assert_error(
            &s.app.gql(Some(admin), IMPORT, json!({ "input": { "csv": wrong_rate } })).await,
            "BAD_USER_INPUT"
        )
        .contains("line 3")
    );
    assert_eq!(ok(s.app.gql(Some(admin), RATES, json!({})).await)["exchangeRates"], json!([]));
    let good = "rate,currency,valid_from\n0.9,USD,2026-10-01\n1.17,gbp,2026-10-01\n0.91,USD,2026-11-01\n";
    assert_eq!(
        ok(s.app.gql(Some(admin), IMPORT, json!({ "input": { "csv": good } })).await)["importExchangeRates"]["written"],
        3
    );
    assert_eq!(
        ok(s.app
            .gql(
                Some(&s.rep.token),
                "{ exchangeRates(currency: \"usd\") { currency quote validFrom rate } }",
                json!({})
            )
            .await)["exchangeRates"],
        json!([
            { "currency": "USD", "quote": "EUR", "validFrom": "2026-11-01", "rate": 0.91 },
            { "currency": "USD", "quote": "EUR", "validFrom": "2026-10-01", "rate": 0.9 },
        ])
    );

    // Another organization has none of them: its USD deal needs its own rate.
    let other = s.app.create_org("Globex").await;
    assert_eq!(ok(s.app.gql(Some(&other.admin.token), RATES, json!({})).await)["exchangeRates"], json!([]));
    let rep = s.app.create_user(&other, Team::Sales, Role::Member).await;
    let globex = Setup { app: s.app.handle(), org: other, rep };
    won(&globex, 100, "USD", "2026-10-05T10:00:00Z").await;
    let body = revenue(&globex, "2026-10-01", "2026-10-31").await;
    assert_error(&body, "MISSING_EXCHANGE_RATE");
    // And Acme's figures do not see Globex's deal.
    assert_eq!(values(&revenue(&s, "2026-10-01", "2026-10-31").await), [0.0]);
}

async fn rows(app: &TestApp, table: &str, org: uuid::Uuid) -> i64 {
    let mut sql = api::db::sql::Sql::new();
    sql.push_composed(format!("SELECT COUNT(*) AS n FROM {table} WHERE org_id = ")).bind(org);
    let row = app.db.query_one_raw(sql.build(app.db.get_database_backend())).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test]
async fn one_organizations_missing_rate_never_holds_up_anothers_rollup() {
    let s = setup("UTC").await;
    // Acme (created first, so rolled up first) has a USD deal and no USD rate.
    won(&s, 100, "USD", "2026-10-05T10:00:00Z").await;
    let other = s.app.create_org("Globex").await;
    let rep = s.app.create_user(&other, Team::Sales, Role::Member).await;
    let globex = Setup { app: s.app.handle(), org: other, rep };
    won(&globex, 100, "EUR", "2026-10-05T10:00:00Z").await;

    api::kpi::rollup::refresh_all(&s.app.db).await.unwrap();
    assert!(rows(&s.app, "kpi_rollups", globex.org.id).await > 0, "Globex's rollup is built");
    assert_eq!(rows(&s.app, "kpi_rollups", s.org.id).await, 0, "Acme's waits for its rate");
    assert_error(&revenue(&s, "2026-10-01", "2026-10-31").await, "MISSING_EXCHANGE_RATE");
    assert_eq!(values(&revenue(&globex, "2026-10-01", "2026-10-31").await), [100.0]);
}
