//! The agreed ideal customer profile in use: `Account.icpFit`, the `icpFit` filter of
//! accounts and of leads' accounts, the ICP fit rule of scoring, and `icpReport`.

use chrono::{Duration, Utc};
use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_ICP: &str = "mutation($input: CreateIdealCustomerProfileInput!) { createIdealCustomerProfile(input: $input) { idealCustomerProfile { id } } }";
const APPROVE: &str = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
const CREATE_ACCOUNT: &str =
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
const ACCOUNT_FIT: &str = "query($id: ID!) { account(id: $id) { icpFit { icpId icpName icpVersion fits score matched { criterion reason } missed { criterion reason } } } }";
const FITTING: &str = "query($f: AccountFilter, $after: String) { accounts(filter: $f, first: 1, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }";

struct Crew {
    app: TestApp,
    org: TestOrg,
    marketing_manager: TestUser,
    sales_manager: TestUser,
}

async fn crew() -> Crew {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketing_manager = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales_manager = app.create_user(&org, Team::Sales, Role::Manager).await;
    Crew { app, org, marketing_manager, sales_manager }
}

fn ok(body: Value) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// Create a profile and have both teams agree its first version.
async fn agreed_icp(c: &Crew, input: Value) -> String {
    let mut input = input;
    input["propose"] = json!(true);
    let body = ok(c.app.gql(Some(&c.marketing_manager.token), CREATE_ICP, json!({ "input": input })).await);
    let id = body["createIdealCustomerProfile"]["idealCustomerProfile"]["id"].as_str().unwrap().to_owned();
    let approve = json!({ "input": { "kind": "IDEAL_CUSTOMER_PROFILE", "id": id, "version": 1 } });
    ok(c.app.gql(Some(&c.sales_manager.token), APPROVE, approve.clone()).await);
    let body = ok(c.app.gql(Some(&c.marketing_manager.token), APPROVE, approve).await);
    assert_eq!(body["approveDocument"]["agreed"], true);
    id
}

/// Software companies of 50–500 people in EMEA with at least 1,000,000 EUR revenue.
fn emea_software() -> Value {
    json!({
        "name": "EMEA software",
        "industries": [" software "],
        "employeeRange": { "min": 50, "max": 500 },
        "revenueRange": { "min": 1_000_000, "currency": "EUR" },
        "regions": ["EMEA"],
    })
}

async fn account(c: &Crew, token: &str, input: Value) -> String {
    let body = ok(c.app.gql(Some(token), CREATE_ACCOUNT, json!({ "input": input })).await);
    body["createAccount"]["account"]["id"].as_str().unwrap().to_owned()
}

/// A fitting account, one with revenue in USD, one too small, one with nothing set.
async fn accounts(c: &Crew) -> [String; 4] {
    let t = c.marketing_manager.token.clone();
    let fits = json!({ "name": "Fits", "industry": "Software", "employeeCount": 100, "annualRevenueMinor": 200_000_000, "currency": "EUR", "region": "emea" });
    let dollars = json!({ "name": "Dollars", "industry": "SOFTWARE", "employeeCount": 100, "annualRevenueMinor": 900_000_000, "currency": "USD", "region": "EMEA" });
    let small = json!({ "name": "Small", "industry": "Software", "employeeCount": 10, "annualRevenueMinor": 200_000_000, "currency": "EUR", "region": "EMEA" });
    let bare = json!({ "name": "Bare" });
    [account(c, &t, fits).await, account(c, &t, dollars).await, account(c, &t, small).await, account(c, &t, bare).await]
}

async fn fit_of(c: &Crew, id: &str) -> Value {
    let body = ok(c.app.gql(Some(&c.marketing_manager.token), ACCOUNT_FIT, json!({ "id": id })).await);
    body["account"]["icpFit"].clone()
}

/// Every page of accounts matching `filter`, one account a page.
async fn page_through(c: &Crew, token: &str, filter: Value) -> (u64, Vec<String>) {
    let (mut ids, mut after, mut total) = (Vec::new(), Value::Null, 0);
    loop {
        let body = ok(c.app.gql(Some(token), FITTING, json!({ "f": filter, "after": after })).await);
        let page = &body["accounts"];
        total = page["totalCount"].as_u64().unwrap_or(total);
        ids.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()));
        if page["pageInfo"]["hasNextPage"] != true {
            return (total, ids);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn an_account_fit_names_the_agreed_icp_and_says_which_criteria_matched() {
    let c = crew().await;
    let [fits, dollars, small, bare] = accounts(&c).await;
    assert!(fit_of(&c, &fits).await.is_null(), "no profile agreed yet: no fit");

    let icp = agreed_icp(&c, emea_software()).await;
    let fit = fit_of(&c, &fits).await;
    assert_eq!(fit["icpId"], icp);
    assert_eq!(fit["icpName"], "EMEA software");
    assert_eq!(fit["icpVersion"], 1);
    assert_eq!((fit["fits"].clone(), fit["score"].clone()), (json!(true), json!(100)));
    assert_eq!(fit["missed"], json!([]));
    let matched: Vec<&str> =
        fit["matched"].as_array().unwrap().iter().map(|m| m["criterion"].as_str().unwrap()).collect();
    assert_eq!(matched, ["INDUSTRY", "EMPLOYEE_COUNT", "ANNUAL_REVENUE", "REGION"]);
    assert_eq!(fit["matched"][3]["reason"], "region emea is one of EMEA");

    let fit = fit_of(&c, &dollars).await;
    assert_eq!((fit["fits"].clone(), fit["score"].clone()), (json!(false), json!(75)));
    assert_eq!(fit["missed"][0]["criterion"], "ANNUAL_REVENUE");
    let reason = fit["missed"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("USD") && reason.contains("EUR") && reason.contains("not compared"), "{reason}");

    let fit = fit_of(&c, &small).await;
    assert_eq!(
        (fit["score"].clone(), fit["missed"][0]["reason"].clone()),
        (json!(75), json!("10 employees, not within 50–500"))
    );
    let fit = fit_of(&c, &bare).await;
    assert_eq!((fit["fits"].clone(), fit["score"].clone()), (json!(false), json!(0)));
    assert_eq!(fit["missed"].as_array().unwrap().len(), 4);

    // A second profile the small one fits: the best fit wins and is named.
    let small_icp =
        agreed_icp(&c, json!({ "name": "Small EMEA", "employeeRange": { "max": 20 }, "regions": ["Emea"] })).await;
    let fit = fit_of(&c, &small).await;
    assert_eq!((fit["icpId"].clone(), fit["fits"].clone()), (json!(small_icp), json!(true)));
    assert_eq!(fit_of(&c, &fits).await["icpId"], icp);
}

#[tokio::test]
async fn the_icp_fit_filter_pages_accounts_and_leads_in_the_database() {
    let c = crew().await;
    let [fits, dollars, small, bare] = accounts(&c).await;
    let token = c.marketing_manager.token.clone();
    // Nothing agreed: nothing fits, everything does not.
    assert_eq!(page_through(&c, &token, json!({ "icpFit": true })).await.0, 0);
    assert_eq!(page_through(&c, &token, json!({ "icpFit": false })).await.0, 4);

    agreed_icp(&c, emea_software()).await;
    let second = account(&c, &token, json!({ "name": "Also fits", "industry": "Software", "employeeCount": 500, "annualRevenueMinor": 100_000_000, "currency": "eur", "region": "EMEA" })).await;
    let (total, ids) = page_through(&c, &token, json!({ "icpFit": true })).await;
    assert_eq!(total, 2);
    assert_eq!(ids, [second.clone(), fits.clone()], "by name, one page each");
    let (total, mut ids) = page_through(&c, &token, json!({ "icpFit": false })).await;
    ids.sort();
    let mut expected = vec![dollars.clone(), small.clone(), bare.clone()];
    expected.sort();
    assert_eq!((total, ids), (3, expected));
    let (total, ids) = page_through(&c, &token, json!({ "icpFit": false, "regions": ["EMEA"] })).await;
    assert_eq!(total, 2, "{ids:?}");

    // Leads' account conditions share it.
    let create_lead = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    for (email, account) in [("a@fits.test", &fits), ("b@small.test", &small)] {
        ok(c.app.gql(Some(&token), create_lead, json!({ "input": { "email": email, "accountId": account } })).await);
    }
    let leads = "query($f: LeadFilter) { leads(filter: $f) { totalCount edges { node { email } } } }";
    let body = ok(c.app.gql(Some(&token), leads, json!({ "f": { "account": { "icpFit": true } } })).await);
    assert_eq!(body["leads"]["totalCount"], 1);
    assert_eq!(body["leads"]["edges"][0]["node"]["email"], "a@fits.test");
    let body = ok(c.app.gql(Some(&token), leads, json!({ "f": { "account": { "icpFit": false } } })).await);
    assert_eq!(body["leads"]["edges"][0]["node"]["email"], "b@small.test");

    // Another organization sees neither our accounts nor our profile.
    let other = c.app.create_org("Globex").await;
    assert_error(&c.app.gql(Some(&other.admin.token), ACCOUNT_FIT, json!({ "id": fits })).await, "NOT_FOUND");
    let body = ok(c.app.gql(Some(&other.admin.token), FITTING, json!({ "f": { "icpFit": true } })).await);
    assert_eq!(body["accounts"]["totalCount"], 0);
}

const CREATE_MODEL: &str =
    "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }";
const MODELS: &str = "{ scoringModels { id } }";

fn icp_model(rules: Value) -> Value {
    json!({ "input": {
        "name": "ICP model", "propose": true, "fitRules": rules, "engagementRules": [],
        "thresholds": { "warm": 10, "hot": 50, "mql": 90 },
    } })
}

#[tokio::test]
async fn an_icp_rule_scores_leads_whose_account_fits_and_the_breakdown_names_the_icp() {
    let c = crew().await;
    let [fits, _, small, _] = accounts(&c).await;
    let icp = agreed_icp(&c, emea_software()).await;
    let token = c.marketing_manager.token.clone();

    // Bad rules are refused, naming the field, and nothing is stored.
    let other = c.app.create_org("Globex").await;
    let other_manager = c.app.create_user(&other, Team::Marketing, Role::Manager).await;
    let theirs = ok(c.app.gql(Some(&other_manager.token), CREATE_ICP, json!({ "input": { "name": "Theirs" } })).await)
        ["createIdealCustomerProfile"]["idealCustomerProfile"]["id"]
        .clone();
    let models_before = ok(c.app.gql(Some(&token), MODELS, json!({})).await);
    for (rule, field) in [
        (
            json!({ "name": "ICP", "attribute": "ICP", "operator": "CONTAINS", "value": "x", "points": 5 }),
            "fitRules[0].operator",
        ),
        (
            json!({ "name": "ICP", "attribute": "ICP", "operator": "EQUALS", "value": "not-an-id", "points": 5 }),
            "fitRules[0].value",
        ),
        (json!({ "name": "ICP", "attribute": "ICP", "operator": "EQUALS", "value": theirs, "points": 5 }), "fitRules"),
    ] {
        let body = c.app.gql(Some(&token), CREATE_MODEL, icp_model(json!([rule]))).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(ok(c.app.gql(Some(&token), MODELS, json!({})).await), models_before);

    let rules = json!([
        { "name": "Any ICP", "attribute": "ICP", "operator": "IS_SET", "points": 30 },
        { "name": "EMEA ICP", "attribute": "ICP", "operator": "EQUALS", "value": icp, "points": 5 },
    ]);
    let body = ok(c.app.gql(Some(&token), CREATE_MODEL, icp_model(rules)).await);
    let model = body["createScoringModel"]["scoringModel"]["id"].as_str().unwrap().to_owned();
    let approve = json!({ "input": { "kind": "SCORING_MODEL", "id": model, "version": 1 } });
    ok(c.app.gql(Some(&c.sales_manager.token), APPROVE, approve.clone()).await);
    ok(c.app.gql(Some(&token), APPROVE, approve).await);

    let create_lead = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id fitScore scoreBreakdown { rule points explanation } } } }";
    let body = ok(c
        .app
        .gql(Some(&token), create_lead, json!({ "input": { "email": "a@fits.test", "accountId": fits } }))
        .await);
    let lead = &body["createLead"]["lead"];
    assert_eq!(lead["fitScore"], 35.0, "{lead}");
    let breakdown = lead["scoreBreakdown"].as_array().unwrap();
    assert_eq!(breakdown.len(), 2);
    let why = breakdown[0]["explanation"].as_str().unwrap();
    assert!(why.starts_with(&format!("account fits ICP \"EMEA software\" v1 ({icp})")), "{why}");
    let body = ok(c
        .app
        .gql(Some(&token), create_lead, json!({ "input": { "email": "b@small.test", "accountId": small } }))
        .await);
    assert_eq!(body["createLead"]["lead"]["fitScore"], 0.0);
    let body = ok(c.app.gql(Some(&token), create_lead, json!({ "input": { "email": "c@nowhere.test" } })).await);
    assert_eq!(body["createLead"]["lead"]["fitScore"], 0.0, "no account, no fit");
}

#[tokio::test]
async fn agreeing_or_retiring_an_icp_rescores_leads_when_the_model_has_an_icp_rule() {
    let c = crew().await;
    let [fits, ..] = accounts(&c).await;
    let token = c.marketing_manager.token.clone();
    let rules = json!([{ "name": "Any ICP", "attribute": "ICP", "operator": "IS_SET", "points": 30 }]);
    let body = ok(c.app.gql(Some(&token), CREATE_MODEL, icp_model(rules)).await);
    let model = body["createScoringModel"]["scoringModel"]["id"].as_str().unwrap().to_owned();
    let approve = json!({ "input": { "kind": "SCORING_MODEL", "id": model, "version": 1 } });
    ok(c.app.gql(Some(&c.sales_manager.token), APPROVE, approve.clone()).await);
    ok(c.app.gql(Some(&token), APPROVE, approve).await);
    api::scoring::rescore::run_all(&c.app.db, Utc::now()).await.unwrap();
    let create_lead = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id fitScore } } }";
    let body = ok(c
        .app
        .gql(Some(&token), create_lead, json!({ "input": { "email": "a@fits.test", "accountId": fits } }))
        .await);
    assert_eq!(body["createLead"]["lead"]["fitScore"], 0.0, "no profile in force yet");
    let lead = body["createLead"]["lead"]["id"].clone();
    let fit_score = || async {
        let body =
            ok(c.app.gql(Some(&token), "query($id: ID!) { lead(id: $id) { fitScore } }", json!({ "id": lead })).await);
        body["lead"]["fitScore"].clone()
    };

    let icp = agreed_icp(&c, emea_software()).await;
    let job = ok(c.app.gql(Some(&token), "{ rescoreJob { status } }", json!({})).await);
    assert_eq!(job["rescoreJob"]["status"], "QUEUED");
    api::scoring::rescore::run_all(&c.app.db, Utc::now()).await.unwrap();
    assert_eq!(fit_score().await, 30.0);

    let retire = "mutation($input: DocumentInput!) { retireDocument(input: $input) { document { ... on IdealCustomerProfile { status } } } }";
    ok(c.app.gql(Some(&token), retire, json!({ "input": { "kind": "IDEAL_CUSTOMER_PROFILE", "id": icp } })).await);
    api::scoring::rescore::run_all(&c.app.db, Utc::now()).await.unwrap();
    assert_eq!(fit_score().await, 0.0);
}

const REPORT: &str = "query($input: IcpReportInput!) { icpReport(input: $input) {
    profiles { name } wonDeals wonDealsFromFits wonDealShare customers customersFitting
    revenue { currency wonMinor fromFitsMinor share }
    industriesLeftOut { value customers deals } employeeBandsLeftOut { value customers deals } regionsLeftOut { value customers deals } } }";

#[tokio::test]
async fn the_icp_report_shares_won_business_per_currency_and_names_what_the_icp_leaves_out() {
    let c = crew().await;
    let t = c.sales_manager.token.clone();
    agreed_icp(&c, emea_software()).await;
    let [fits, dollars, ..] = accounts(&c).await;
    let retail =
        account(&c, &t, json!({ "name": "Shop", "industry": "Retail", "employeeCount": 2000, "region": "NA" })).await;
    // A customer's second deal develops it.
    let win = |account: String, amount: i64, currency: &'static str, strategy: &'static str| {
        let (app, t) = (&c.app, t.clone());
        async move {
            let create =
                "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
            let input = json!({ "input": { "accountId": account, "name": "Deal", "amountMinor": amount, "currency": currency, "strategy": strategy } });
            let body = ok(app.gql(Some(&t), create, input).await);
            let id = body["createOpportunity"]["opportunity"]["id"].clone();
            let close = "mutation($input: CloseOpportunityInput!) { closeOpportunity(input: $input) { opportunity { stage } } }";
            ok(app.gql(Some(&t), close, json!({ "input": { "id": id, "outcome": "WON" } })).await);
        }
    };
    win(fits.clone(), 10_000, "EUR", "ACQUISITION").await;
    win(fits, 3_000, "USD", "DEVELOPMENT").await;
    win(dollars, 5_000, "USD", "ACQUISITION").await;
    win(retail.clone(), 30_000, "EUR", "ACQUISITION").await;
    win(retail, 10_000, "EUR", "DEVELOPMENT").await;

    let today = Utc::now().date_naive();
    let period = |top: Value| json!({ "input": { "from": (today - Duration::days(1)).to_string(), "to": (today + Duration::days(1)).to_string(), "top": top } });
    let viewer = c.app.create_user(&c.org, Team::Marketing, Role::Viewer).await;
    let report = ok(c.app.gql(Some(&viewer.token), REPORT, period(json!(5))).await)["icpReport"].clone();
    assert_eq!(report["profiles"], json!([{ "name": "EMEA software" }]));
    assert_eq!((report["wonDeals"].clone(), report["wonDealsFromFits"].clone()), (json!(5), json!(2)));
    assert_eq!(report["wonDealShare"], 40.0);
    assert_eq!((report["customers"].clone(), report["customersFitting"].clone()), (json!(3), json!(1)));
    assert_eq!(
        report["revenue"],
        json!([
            { "currency": "EUR", "wonMinor": 50_000, "fromFitsMinor": 10_000, "share": 20.0 },
            { "currency": "USD", "wonMinor": 8_000, "fromFitsMinor": 3_000, "share": 37.5 },
        ])
    );
    assert_eq!(report["industriesLeftOut"], json!([{ "value": "Retail", "customers": 1, "deals": 2 }]));
    assert_eq!(report["employeeBandsLeftOut"], json!([{ "value": "1001–5000", "customers": 1, "deals": 2 }]));
    assert_eq!(report["regionsLeftOut"], json!([{ "value": "NA", "customers": 1, "deals": 2 }]));

    for (input, field) in [(period(json!(21)), "top"), (period(json!(0)), "top")] {
        let body = c.app.gql(Some(&viewer.token), REPORT, input).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let backwards = json!({ "input": { "from": today.to_string(), "to": (today - Duration::days(1)).to_string() } });
    let body = c.app.gql(Some(&viewer.token), REPORT, backwards).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "to", "{body}");

    // Another organization's report counts nothing of ours.
    let other = c.app.create_org("Globex").await;
    let theirs = ok(c.app.gql(Some(&other.admin.token), REPORT, period(json!(5))).await)["icpReport"].clone();
    assert_eq!((theirs["wonDeals"].clone(), theirs["wonDealShare"].clone()), (json!(0), Value::Null));
    assert_eq!(theirs["revenue"], json!([]));
}

#[tokio::test]
async fn the_demo_icp_fits_some_demo_accounts_and_not_others() {
    let app = spawn_app().await;
    let admin = api::seed::demo(&app.db).await.unwrap().expect("a new demo organization");
    let (token, _) = app.keys.issue(admin.id, admin.org_id, admin.role, std::time::Duration::from_secs(60)).unwrap();
    let count = |fits: bool| {
        let (app, token) = (&app, token.clone());
        async move {
            let body = app.gql(Some(&token), FITTING, json!({ "f": { "icpFit": fits } })).await;
            assert!(body["errors"].is_null(), "{body}");
            body["data"]["accounts"]["totalCount"].as_u64().unwrap()
        }
    };
    let (fitting, others) = (count(true).await, count(false).await);
    assert!(fitting > 0 && others > 0, "{fitting} fit, {others} do not");
}

#[tokio::test]
async fn a_model_promotes_only_the_leads_whose_account_fits_when_the_mql_definition_asks_for_an_icp_fit() {
    let c = crew().await;
    let [fits, dollars, small, _] = accounts(&c).await;
    agreed_icp(&c, emea_software()).await;
    let token = c.marketing_manager.token.clone();
    let agree = |kind: &'static str, id: String| {
        let c = &c;
        async move {
            let approve = json!({ "input": { "kind": kind, "id": id, "version": 1 } });
            ok(c.app.gql(Some(&c.sales_manager.token), APPROVE, approve.clone()).await);
            let body = ok(c.app.gql(Some(&c.marketing_manager.token), APPROVE, approve).await);
            assert_eq!(body["approveDocument"]["agreed"], true, "{body}");
        }
    };
    let create_definition =
        "mutation($input: CreateDefinitionInput!) { createDefinition(input: $input) { definition { id } } }";
    let input = json!({ "term": "MQL", "body": "Worth sales' time", "criteria": { "icpFit": true }, "propose": true });
    let body = ok(c.app.gql(Some(&token), create_definition, json!({ "input": input })).await);
    agree("DEFINITION", body["createDefinition"]["definition"]["id"].as_str().unwrap().to_owned()).await;
    let mut leads = Vec::new();
    for (email, account) in [
        ("a@fits.test", Some(&fits)),
        ("b@dollars.test", Some(&dollars)),
        ("c@small.test", Some(&small)),
        ("d@none.test", None),
    ] {
        let input = json!({ "email": email, "source": "Webinar", "accountId": account });
        let body = ok(c
            .app
            .gql(
                Some(&token),
                "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
                json!({ "input": input }),
            )
            .await);
        leads.push(body["createLead"]["lead"]["id"].as_str().unwrap().to_owned());
    }

    // Every lead scores above the MQL threshold; only the one whose account fits the
    // profile meets the definition, in the simulation and in the rescoring alike.
    let rules = json!([{ "name": "Has a source", "attribute": "LEAD_SOURCE", "operator": "IS_SET", "points": 95 }]);
    let model = c.app.create_scoring_model(&token, icp_model(rules)["input"].clone()).await;
    let simulate = "query($id: ID!) { simulateScoringModel(id: $id) { promotions promotedSamples { lead { id } } } }";
    let sim = ok(c.app.gql(Some(&c.sales_manager.token), simulate, json!({ "id": model })).await);
    assert_eq!(sim["simulateScoringModel"]["promotions"], 1, "{sim}");
    assert_eq!(sim["simulateScoringModel"]["promotedSamples"][0]["lead"]["id"], leads[0].as_str(), "{sim}");
    agree("SCORING_MODEL", model).await;
    api::scoring::rescore::run_all(&c.app.db, Utc::now()).await.unwrap();
    let mut stages = Vec::new();
    for id in &leads {
        let body = ok(c
            .app
            .gql(Some(&token), "query($id: ID!) { lead(id: $id) { lifecycleStage score } }", json!({ "id": id }))
            .await);
        assert_eq!(body["lead"]["score"], 95.0, "{body}");
        stages.push(body["lead"]["lifecycleStage"].as_str().unwrap().to_owned());
    }
    assert_eq!(stages, ["MQL", "NEW", "NEW", "NEW"]);
}
