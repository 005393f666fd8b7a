//! Agreed word lists: hand-back and lost reasons checked against the list in force
//! (the defaults until one is agreed), competitors and feedback tags mapped through
//! theirs and re-mapped when a list is agreed or retired, and KPIs of lost deals by
//! reason and competitor.

use chrono::{Duration, Utc};
use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const CREATE: &str = "mutation($input: CreateTaxonomyInput!) { createTaxonomy(input: $input) { taxonomy { id } } }";
const APPROVE: &str = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
const RETIRE: &str = "mutation($input: DocumentInput!) { retireDocument(input: $input) { document { __typename } } }";
const IN_FORCE: &str = "query($list: TaxonomyList!) { taxonomyInForce(list: $list) { list source version closed taxonomyId entries { code label synonyms needsNote needsCompetitor } } }";
const REJECT: &str =
    "mutation($input: RejectHandoverInput!) { rejectHandover(input: $input) { handover { status reason } } }";
const CLOSE: &str = "mutation($input: CloseOpportunityInput!) { closeOpportunity(input: $input) { opportunity { stage version lostReason lostNote competitor competitorWritten competitorListed } } }";
const DEAL: &str = "query($id: ID!) { opportunity(id: $id) { stage version lostReason competitor competitorWritten competitorListed } }";
const SUBMIT: &str = "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id tag writtenTag tagListed } } }";
const FEEDBACK: &str = "query($id: ID!) { node(id: $id) { ... on Feedback { tag writtenTag tagListed } } }";
const KPIS: &str = "query($input: KpiInput!) { kpis(input: $input) { groupKey groupLabel points { numerator } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    marketer: TestUser,
    rep: TestUser,
    sales_manager: TestUser,
    marketing_manager: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    Setup {
        marketer: app.create_user(&org, Team::Marketing, Role::Member).await,
        rep: app.create_user(&org, Team::Sales, Role::Member).await,
        sales_manager: app.create_user(&org, Team::Sales, Role::Manager).await,
        marketing_manager: app.create_user(&org, Team::Marketing, Role::Manager).await,
        app,
        org,
    }
}

#[track_caller]
fn ok(body: Value) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// A list proposed by the marketer and agreed by both managers; its id.
async fn agree(s: &Setup, list: &str, entries: Value) -> String {
    let input = json!({ "input": { "list": list, "entries": entries, "propose": true } });
    let body = ok(s.app.gql(Some(&s.marketer.token), CREATE, input).await);
    let id = body["createTaxonomy"]["taxonomy"]["id"].as_str().unwrap().to_owned();
    for token in [&s.sales_manager.token, &s.marketing_manager.token] {
        let input = json!({ "input": { "kind": "TAXONOMY", "id": id, "version": 1 } });
        ok(s.app.gql(Some(token), APPROVE, input).await);
    }
    id
}

async fn pending_handover(s: &Setup, email: &str) -> String {
    let create = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let input = json!({ "input": { "email": email, "lifecycleStage": "MQL", "marketingOwnerId": s.marketer.id } });
    let lead = ok(s.app.gql(Some(&s.marketer.token), create, input).await)["createLead"]["lead"]["id"].clone();
    let hand = "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }";
    let input = json!({ "input": { "leadId": lead, "toUserId": s.rep.id } });
    ok(s.app.gql(Some(&s.marketer.token), hand, input).await)["handOverLead"]["handover"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_deal(s: &Setup, amount: i64) -> String {
    let account = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
    let name = format!("Account {amount}");
    let body = ok(s.app.gql(Some(&s.rep.token), account, json!({ "input": { "name": name } })).await);
    let account = body["createAccount"]["account"]["id"].clone();
    let create =
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
    let input = json!({ "input": { "accountId": account, "name": "Deal", "amountMinor": amount, "currency": "EUR", "strategy": "ACQUISITION" } });
    ok(s.app.gql(Some(&s.rep.token), create, input).await)["createOpportunity"]["opportunity"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn close(s: &Setup, id: &str, input: Value) -> Value {
    let mut input = input;
    input["id"] = json!(id);
    s.app.gql(Some(&s.rep.token), CLOSE, json!({ "input": input })).await
}

async fn deal(s: &Setup, id: &str) -> Value {
    ok(s.app.gql(Some(&s.rep.token), DEAL, json!({ "id": id })).await)["opportunity"].clone()
}

#[tokio::test]
async fn hand_backs_name_a_reason_of_the_list_in_force() {
    let s = setup().await;
    let defaults = ok(s.app.gql(Some(&s.rep.token), IN_FORCE, json!({ "list": "HAND_BACK_REASONS" })).await);
    let defaults = &defaults["taxonomyInForce"];
    assert_eq!(
        (&defaults["source"], &defaults["version"], &defaults["closed"]),
        (&json!("DEFAULT"), &Value::Null, &json!(true))
    );
    let codes: Vec<&str> =
        defaults["entries"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"NO_BUDGET") && codes.contains(&"OTHER"), "{codes:?}");

    // Unknown reasons and OTHER without a note are refused, and the handover stays pending.
    let first = pending_handover(&s, "ana@payly.io").await;
    let audit = s.app.count_audit_rows(&s.org).await;
    let bad =
        s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": first, "reason": "bad vibes" } })).await;
    let message = assert_error(&bad, "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "reason");
    assert!(message.contains("default list") && message.contains("NO_BUDGET"), "{message}");
    let other =
        s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": first, "reason": "other" } })).await;
    assert_eq!(other["errors"][0]["extensions"]["field"], "note", "{other}");
    let long = "x".repeat(65);
    let too_long =
        s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": first, "reason": long } })).await;
    assert_error(&too_long, "BAD_USER_INPUT");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let pending = "query($id: ID!) { handover(id: $id) { status } }";
    assert_eq!(
        ok(s.app.gql(Some(&s.rep.token), pending, json!({ "id": first })).await)["handover"]["status"],
        "PENDING"
    );

    // Any spelling of a code is stored as the code.
    let body =
        s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": first, "reason": "no budget" } })).await;
    assert_eq!(ok(body)["rejectHandover"]["handover"], json!({ "status": "REJECTED", "reason": "NO_BUDGET" }));

    // Once both teams agree their own list, it alone counts.
    let id = agree(
        &s,
        "HAND_BACK_REASONS",
        json!([
            { "code": "wrong region", "label": "Outside our regions", "synonyms": ["not in our territory"] },
            { "code": "NO_BUDGET", "label": "No budget" },
            { "code": "OTHER", "label": "Other", "needsNote": true },
        ]),
    )
    .await;
    let agreed = ok(s.app.gql(Some(&s.rep.token), IN_FORCE, json!({ "list": "HAND_BACK_REASONS" })).await);
    let agreed = &agreed["taxonomyInForce"];
    assert_eq!(
        (&agreed["source"], &agreed["version"], &agreed["taxonomyId"]),
        (&json!("AGREED"), &json!(1), &json!(id))
    );
    assert_eq!(agreed["entries"][0]["code"], "WRONG_REGION");
    let second = pending_handover(&s, "bo@payly.io").await;
    let gone = s
        .app
        .gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": second, "reason": "BAD_TIMING" } }))
        .await;
    assert!(assert_error(&gone, "BAD_USER_INPUT").contains("the agreed list"));
    let body = s
        .app
        .gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": second, "reason": "Not in our territory" } }))
        .await;
    assert_eq!(ok(body)["rejectHandover"]["handover"]["reason"], "WRONG_REGION");

    // The report reads the labels of the list in force.
    let report = "query($input: HandBackReasonsInput!) { handBackReasons(input: $input) { reason label count } }";
    let now = Utc::now();
    let input = json!({ "input": { "from": now - Duration::hours(1), "to": now + Duration::hours(1) } });
    let body = ok(s.app.gql(Some(&s.sales_manager.token), report, input).await);
    assert_eq!(
        body["handBackReasons"],
        json!([
            { "reason": "NO_BUDGET", "label": "No budget", "count": 1 },
            { "reason": "WRONG_REGION", "label": "Outside our regions", "count": 1 },
        ])
    );
    let filter = "query { handovers(filter: { reasons: [\"wrong-region\"] }) { totalCount } }";
    assert_eq!(ok(s.app.gql(Some(&s.sales_manager.token), filter, json!({})).await)["handovers"]["totalCount"], 1);
}

#[tokio::test]
async fn a_lost_deal_names_an_agreed_reason_and_its_competitor() {
    let s = setup().await;
    let deal_id = open_deal(&s, 1_000).await;
    let before = deal(&s, &deal_id).await;
    let audit = s.app.count_audit_rows(&s.org).await;
    let refused = [
        (json!({ "outcome": "LOST", "lostReason": "bad vibes" }), "lostReason"),
        (json!({ "outcome": "LOST", "lostReason": "chose a competitor" }), "competitor"),
        (json!({ "outcome": "LOST", "lostReason": "OTHER" }), "lostNote"),
        (json!({ "outcome": "LOST", "lostReason": "PRICE", "competitor": "x".repeat(101) }), "competitor"),
        (json!({ "outcome": "WON", "lostReason": "PRICE" }), "lostReason"),
        (json!({ "outcome": "WON", "competitor": "SFDC" }), "competitor"),
    ];
    for (input, field) in refused {
        let body = close(&s, &deal_id, input.clone()).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{input}: {body}");
    }
    assert_eq!(deal(&s, &deal_id).await, before, "a refused close changes nothing");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    let body =
        close(&s, &deal_id, json!({ "outcome": "LOST", "lostReason": "Chose a competitor", "competitor": " SFDC " }))
            .await;
    assert_eq!(
        ok(body)["closeOpportunity"]["opportunity"],
        json!({ "stage": "CLOSED_LOST", "version": 2, "lostReason": "COMPETITOR", "lostNote": null,
                "competitor": "SFDC", "competitorWritten": "SFDC", "competitorListed": null })
    );

    // Agreeing the competitor list re-maps what was stored; unknown names stay as written.
    let list = agree(
        &s,
        "COMPETITORS",
        json!([{ "code": "SALESFORCE", "label": "Salesforce", "synonyms": ["SFDC", "salesforce.com"] }]),
    )
    .await;
    let mapped = deal(&s, &deal_id).await;
    assert_eq!((&mapped["competitor"], &mapped["competitorListed"]), (&json!("SALESFORCE"), &json!(true)));
    assert_eq!(mapped["competitorWritten"], "SFDC");
    let zoho = open_deal(&s, 3_000).await;
    let body = close(&s, &zoho, json!({ "outcome": "LOST", "lostReason": "COMPETITOR", "competitor": "Zoho" })).await;
    let stored = &ok(body)["closeOpportunity"]["opportunity"];
    assert_eq!((&stored["competitor"], &stored["competitorListed"]), (&json!("Zoho"), &json!(false)));
    let price = open_deal(&s, 2_000).await;
    ok(close(&s, &price, json!({ "outcome": "LOST", "lostReason": "too expensive" })).await);
    let won = open_deal(&s, 5_000).await;
    ok(close(&s, &won, json!({ "outcome": "WON" })).await);

    // Lost deals by reason and by competitor, in count and money: 1,000 + 3,000 lost to
    // competitors (1,000 to Salesforce), 2,000 on price, the won deal nowhere.
    let today = Utc::now().date_naive();
    let range =
        json!({ "from": (today - Duration::days(1)).to_string(), "to": (today + Duration::days(1)).to_string() });
    let grouped = |metric: &str, group: &str| {
        let mut input = range.clone();
        input["metrics"] = json!([metric]);
        input["groupBy"] = json!(group);
        input
    };
    let totals = |body: Value| -> Vec<(Value, Value, f64)> {
        let mut rows: Vec<(Value, Value, f64)> = ok(body)["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let total = s["points"].as_array().unwrap().iter().map(|p| p["numerator"].as_f64().unwrap()).sum();
                (s["groupKey"].clone(), s["groupLabel"].clone(), total)
            })
            .filter(|(_, _, total)| *total > 0.0)
            .collect();
        rows.sort_by_key(|a| a.0.to_string());
        rows
    };
    let token = &s.sales_manager.token;
    let by_reason =
        totals(s.app.gql(Some(token), KPIS, json!({ "input": grouped("DEALS_LOST", "LOST_REASON") })).await);
    assert_eq!(
        by_reason,
        [(json!("COMPETITOR"), json!("Chose a competitor"), 2.0), (json!("PRICE"), json!("Price"), 1.0)]
    );
    let by_competitor =
        totals(s.app.gql(Some(token), KPIS, json!({ "input": grouped("REVENUE_LOST", "COMPETITOR") })).await);
    assert_eq!(
        by_competitor,
        [
            (json!("SALESFORCE"), json!("Salesforce"), 1_000.0),
            (json!("Zoho"), json!("Zoho"), 3_000.0),
            (Value::Null, Value::Null, 2_000.0),
        ]
    );
    let mut filtered = grouped("DEALS_LOST", "NONE");
    filtered["filter"] = json!({ "competitor": "SALESFORCE" });
    assert_eq!(totals(s.app.gql(Some(token), KPIS, json!({ "input": filtered })).await)[0].2, 1.0);
    let wrong = s.app.gql(Some(token), KPIS, json!({ "input": grouped("DEALS_WON", "COMPETITOR") })).await;
    assert_error(&wrong, "BAD_USER_INPUT");
    let list_filter = "query { opportunities(filter: { lostReasons: [\"competitor\"] }) { totalCount } }";
    assert_eq!(ok(s.app.gql(Some(token), list_filter, json!({})).await)["opportunities"]["totalCount"], 2);

    // Retiring the list leaves every name as written.
    let retire = json!({ "input": { "kind": "TAXONOMY", "id": list } });
    ok(s.app.gql(Some(&s.sales_manager.token), RETIRE, retire).await);
    let back = deal(&s, &deal_id).await;
    assert_eq!((&back["competitor"], &back["competitorListed"]), (&json!("SFDC"), &Value::Null));
}

#[tokio::test]
async fn feedback_tags_gather_synonyms_into_one_theme_once_a_tag_list_is_agreed() {
    let s = setup().await;
    let submit = |tag: &'static str| {
        let (app, token) = (&s.app, s.rep.token.clone());
        async move {
            let input = json!({ "input": { "subjectType": "GENERAL", "tag": tag, "sentiment": "NEGATIVE", "body": "Heard it" } });
            ok(app.gql(Some(&token), SUBMIT, input).await)["submitFeedback"]["feedback"].clone()
        }
    };
    let early = submit("Too expensive").await;
    assert_eq!((&early["tag"], &early["tagListed"]), (&json!("too-expensive"), &Value::Null));

    let list = agree(
        &s,
        "FEEDBACK_TAGS",
        json!([{ "code": "Pricing", "label": "Pricing", "synonyms": ["too expensive", "pricing-too-high"] }]),
    )
    .await;
    let remapped = ok(s.app.gql(Some(&s.rep.token), FEEDBACK, json!({ "id": early["id"] })).await)["node"].clone();
    assert_eq!(remapped, json!({ "tag": "pricing", "writtenTag": "too-expensive", "tagListed": true }));
    let later = submit("pricing too_high").await;
    assert_eq!((&later["tag"], &later["writtenTag"]), (&json!("pricing"), &json!("pricing-too-high")));
    let unlisted = submit("Onboarding").await;
    assert_eq!((&unlisted["tag"], &unlisted["tagListed"]), (&json!("onboarding"), &json!(false)));

    let now = Utc::now();
    let themes = "query($from: DateTime!, $to: DateTime!) { feedbackThemes(input: { from: $from, to: $to }) { tag tagListed writtenTags feedbackCount } }";
    let period = json!({ "from": now - Duration::hours(1), "to": now + Duration::hours(1) });
    let body = ok(s.app.gql(Some(&s.rep.token), themes, period.clone()).await);
    let mut themes_found = body["feedbackThemes"].as_array().unwrap().clone();
    themes_found.sort_by(|a, b| a["tag"].as_str().cmp(&b["tag"].as_str()));
    assert_eq!(
        themes_found,
        [
            json!({ "tag": "onboarding", "tagListed": false, "writtenTags": ["onboarding"], "feedbackCount": 1 }),
            json!({ "tag": "pricing", "tagListed": true, "writtenTags": ["pricing-too-high", "too-expensive"], "feedbackCount": 2 }),
        ]
    );
    let by_synonym = "query { feedback(filter: { tag: \"Too Expensive\" }) { totalCount } }";
    assert_eq!(ok(s.app.gql(Some(&s.rep.token), by_synonym, json!({})).await)["feedback"]["totalCount"], 2);

    // Retired, tags are what their authors wrote again.
    ok(s.app.gql(Some(&s.sales_manager.token), RETIRE, json!({ "input": { "kind": "TAXONOMY", "id": list } })).await);
    let back = ok(s.app.gql(Some(&s.rep.token), FEEDBACK, json!({ "id": early["id"] })).await)["node"].clone();
    assert_eq!(back, json!({ "tag": "too-expensive", "writtenTag": "too-expensive", "tagListed": null }));
}

#[tokio::test]
async fn a_list_is_checked_before_anyone_signs_it() {
    let s = setup().await;
    let create = |entries: Value, list: &'static str| {
        let (app, token) = (&s.app, s.marketer.token.clone());
        async move { app.gql(Some(&token), CREATE, json!({ "input": { "list": list, "entries": entries } })).await }
    };
    let cases = [
        (
            json!([{ "code": "PRICE", "label": "Price", "synonyms": ["cost"] }, { "code": "BUDGET", "label": "Budget", "synonyms": ["Cost"] }]),
            "LOST_REASONS",
            "entries[1].synonyms",
        ),
        (
            json!([{ "code": "PRICE", "label": "Price" }, { "code": "price", "label": "Price again" }]),
            "LOST_REASONS",
            "entries[1].code",
        ),
        (
            json!([{ "code": "X", "label": "X", "needsCompetitor": true }]),
            "HAND_BACK_REASONS",
            "entries[0].needsCompetitor",
        ),
        (json!([{ "code": "x", "label": "X", "needsNote": true }]), "FEEDBACK_TAGS", "entries[0].needsNote"),
        (json!([{ "code": "-_-", "label": "X" }]), "COMPETITORS", "entries[0].code"),
        (json!([{ "code": "X", "label": "" }]), "COMPETITORS", "entries[0].label"),
        (json!([{ "code": "x".repeat(33), "label": "X" }]), "LOST_REASONS", "entries[0].code"),
        (json!([]), "LOST_REASONS", "entries"),
    ];
    let documents = "query { taxonomies { id } }";
    for (entries, list, field) in cases {
        let body = create(entries.clone(), list).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{entries}: {body}");
    }
    let too_many: Vec<Value> = (0..201).map(|i| json!({ "code": format!("C{i}"), "label": "C" })).collect();
    assert_error(&create(json!(too_many), "COMPETITORS").await, "BAD_USER_INPUT");
    assert_eq!(ok(s.app.gql(Some(&s.marketer.token), documents, json!({})).await)["taxonomies"], json!([]));

    // One document per list.
    ok(create(json!([{ "code": "A", "label": "A" }]), "COMPETITORS").await);
    assert_error(&create(json!([{ "code": "B", "label": "B" }]), "COMPETITORS").await, "CONFLICT");
}

#[tokio::test]
async fn another_organization_never_sees_nor_feels_a_list() {
    let s = setup().await;
    let list = agree(&s, "LOST_REASONS", json!([{ "code": "CHAMPION_LEFT", "label": "Our champion left" }])).await;
    let other = s.app.create_org("Globex").await;
    let token = &other.admin.token;
    let node = "query($id: ID!) { node(id: $id) { id } }";
    let body = s.app.gql(Some(token), node, json!({ "id": list })).await;
    assert_eq!(body["data"]["node"], Value::Null, "{body}");
    let retire = s.app.gql(Some(token), RETIRE, json!({ "input": { "kind": "TAXONOMY", "id": list } })).await;
    assert_error(&retire, "NOT_FOUND");
    let body = ok(s.app.gql(Some(token), IN_FORCE, json!({ "list": "LOST_REASONS" })).await);
    assert_eq!(body["taxonomyInForce"]["source"], "DEFAULT");
    assert_eq!(ok(s.app.gql(Some(token), "query { taxonomies { id } }", json!({})).await)["taxonomies"], json!([]));
    // Its deals still close with the default reasons, not Acme's.
    let rep = s.app.create_user(&other, Team::Sales, Role::Member).await;
    let globex = Setup { app: s.app.handle(), org: other, rep, ..s };
    let deal_id = open_deal(&globex, 1_000).await;
    let refused = close(&globex, &deal_id, json!({ "outcome": "LOST", "lostReason": "CHAMPION_LEFT" })).await;
    assert_error(&refused, "BAD_USER_INPUT");
    ok(close(&globex, &deal_id, json!({ "outcome": "LOST", "lostReason": "PRICE" })).await);
}
