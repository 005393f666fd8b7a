//! The contract for entering stages: stage rights, the agreed definitions' criteria,
//! pending handovers never left dangling, automatic handovers for every new MQL with a
//! daily cap per rep, and a changed scoring model re-banding leads by membership.

use chrono::Utc;
use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const MOVE: &str = "mutation($input: MoveLeadStageInput!) { moveLeadStage(input: $input) { lead { lifecycleStage } } }";
const CREATE_LEAD: &str =
    "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id lifecycleStage } } }";
const LEAD: &str = "query($id: ID!) { lead(id: $id) { lifecycleStage version scoredAt score stageHistory { to } } }";
const APPROVE: &str = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
const HAND_OVER: &str = "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }";
const HANDOVERS: &str =
    "query($lead: ID!) { handovers(filter: { leadId: $lead }) { nodes { status responseNote toUser { id } } } }";
const BACKLOG: &str = "{ handoverBacklog(first: 10) { totalCount nodes { id } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    marketer: TestUser,
    rep: TestUser,
    marketing_manager: TestUser,
    sales_manager: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let marketing_manager = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales_manager = app.create_user(&org, Team::Sales, Role::Manager).await;
    Setup { app, org, marketer, rep, marketing_manager, sales_manager }
}

async fn create_lead(s: &Setup, token: &str, input: Value) -> Value {
    s.app.gql(Some(token), CREATE_LEAD, json!({ "input": input })).await
}

async fn new_lead(s: &Setup, input: Value) -> String {
    let body = create_lead(s, &s.marketer.token, input).await;
    body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn move_to(s: &Setup, token: &str, id: &str, to: &str) -> Value {
    s.app.gql(Some(token), MOVE, json!({ "input": { "leadId": id, "to": to } })).await
}

async fn stage(s: &Setup, id: &str) -> String {
    let body = s.app.gql(Some(&s.marketer.token), LEAD, json!({ "id": id })).await;
    body["data"]["lead"]["lifecycleStage"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn agree(s: &Setup, kind: &str, id: &str, version: i32) {
    let input = json!({ "input": { "kind": kind, "id": id, "version": version } });
    let first = s.app.gql(Some(&s.sales_manager.token), APPROVE, input.clone()).await;
    assert!(first["errors"].is_null(), "{first}");
    let second = s.app.gql(Some(&s.marketing_manager.token), APPROVE, input).await;
    assert_eq!(second["data"]["approveDocument"]["agreed"], true, "{second}");
}

async fn agree_definition(s: &Setup, term: &str, criteria: Value) -> String {
    let body = s
        .app
        .gql(
            Some(&s.marketer.token),
            "mutation($input: CreateDefinitionInput!) { createDefinition(input: $input) { definition { id } } }",
            json!({ "input": { "term": term, "body": format!("What {term} means"), "criteria": criteria, "propose": true } }),
        )
        .await;
    let id =
        body["data"]["createDefinition"]["definition"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    agree(s, "DEFINITION", &id, 1).await;
    id
}

async fn settings(s: &Setup, settings: Value) {
    let body = s
        .app
        .gql(
            Some(&s.org.admin.token),
            "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { id } } }",
            json!({ "input": { "settings": settings } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

async fn handovers(s: &Setup, lead: &str) -> Vec<Value> {
    let body = s.app.gql(Some(&s.sales_manager.token), HANDOVERS, json!({ "lead": lead })).await;
    body["data"]["handovers"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone()
}

#[tokio::test]
async fn sal_is_entered_only_by_accepting_a_handover_and_sql_only_by_sales() {
    let s = setup().await;
    let id = new_lead(&s, json!({ "email": "ana@payly.io", "lifecycleStage": "MQL" })).await;
    let audit = s.app.count_audit_rows(&s.org).await;
    // "Marketing says so" is not sales acceptance: nobody moves a lead into SAL by hand.
    for token in [&s.marketer.token, &s.rep.token, &s.sales_manager.token, &s.org.admin.token] {
        let message = assert_error(&move_to(&s, token, &id, "SAL").await, "FORBIDDEN");
        assert!(message.contains("only HANDOVER may move a lead into SAL"), "{message}");
        assert!(message.contains("default stage rights"), "{message}");
    }
    assert_eq!(stage(&s, &id).await, "MQL");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    // Accepting the handover is the way in.
    let body =
        s.app.gql(Some(&s.marketer.token), HAND_OVER, json!({ "input": { "leadId": id, "toUserId": s.rep.id } })).await;
    let handover =
        body["data"]["handOverLead"]["handover"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let accepted = s
        .app
        .gql(
            Some(&s.rep.token),
            "mutation($id: ID!) { acceptHandover(input: { handoverId: $id }) { handover { status } } }",
            json!({ "id": handover }),
        )
        .await;
    assert_eq!(accepted["data"]["acceptHandover"]["handover"]["status"], "ACCEPTED", "{accepted}");
    assert_eq!(stage(&s, &id).await, "SAL");

    // SQL is sales' call: marketing is refused, a rep may.
    let message = assert_error(&move_to(&s, &s.marketer.token, &id, "SQL").await, "FORBIDDEN");
    assert!(message.contains("only SALES may move a lead into SQL"), "{message}");
    assert_eq!(move_to(&s, &s.rep.token, &id, "SQL").await["data"]["moveLeadStage"]["lead"]["lifecycleStage"], "SQL");

    // Creating a lead straight into a stage is entering it: the same rights.
    let audit = s.app.count_audit_rows(&s.org).await;
    let body = create_lead(&s, &s.marketer.token, json!({ "email": "sam@payly.io", "lifecycleStage": "SQL" })).await;
    assert!(assert_error(&body, "FORBIDDEN").contains("SQL"));
    let body = create_lead(&s, &s.rep.token, json!({ "email": "sam@payly.io", "lifecycleStage": "SAL" })).await;
    assert!(assert_error(&body, "FORBIDDEN").contains("HANDOVER"));
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    // So is an import naming a stage: the row fails, the others are written.
    let import = "mutation($input: ImportLeadsInput!) { importLeads(input: $input) { created errors results { row status message } } }";
    let rows = json!([
        { "email": "row0@payly.io", "lifecycleStage": "SAL" },
        { "email": "row1@payly.io", "lifecycleStage": "MQL" },
    ]);
    let body = s.app.gql(Some(&s.marketer.token), import, json!({ "input": { "rows": rows } })).await;
    let result = &body["data"]["importLeads"];
    assert_eq!((result["created"].as_i64(), result["errors"].as_i64()), (Some(1), Some(1)), "{body}");
    assert!(result["results"][0]["message"].as_str().unwrap().contains("only HANDOVER"), "{body}");
}

#[tokio::test]
async fn recycling_and_disqualifying_belong_to_the_owning_team_and_cancel_a_pending_handover() {
    let s = setup().await;
    let id = new_lead(&s, json!({ "email": "ana@payly.io", "lifecycleStage": "MQL" })).await;
    let body =
        s.app.gql(Some(&s.marketer.token), HAND_OVER, json!({ "input": { "leadId": id, "toUserId": s.rep.id } })).await;
    assert!(body["errors"].is_null(), "{body}");
    // At MQL marketing owns the lead: a sales rep may not disqualify it, a manager may.
    let message = assert_error(&move_to(&s, &s.rep.token, &id, "DISQUALIFIED").await, "FORBIDDEN");
    assert!(message.contains("OWNING_TEAM or MANAGERS"), "{message}");
    assert_eq!(handovers(&s, &id).await[0]["status"], "PENDING");

    let moved = move_to(&s, &s.marketer.token, &id, "DISQUALIFIED").await;
    assert_eq!(moved["data"]["moveLeadStage"]["lead"]["lifecycleStage"], "DISQUALIFIED", "{moved}");
    // Nobody is left waiting on it: the handover is cancelled, out of the rep's queue
    // and out of the compliance figures.
    let handover = &handovers(&s, &id).await[0];
    assert_eq!(handover["status"], "CANCELLED");
    assert!(handover["responseNote"].as_str().unwrap().contains("DISQUALIFIED"), "{handover}");
    let queue = s.app.gql(Some(&s.rep.token), "{ myQueue { totalCount } }", json!({})).await;
    assert_eq!(queue["data"]["myQueue"]["totalCount"], 0, "{queue}");
    let from = (Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let to = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let compliance = s
        .app
        .gql(
            Some(&s.sales_manager.token),
            "query($input: ComplianceInput!) { handoverCompliance(input: $input) { groups { handovers } } }",
            json!({ "input": { "from": from, "to": to } }),
        )
        .await;
    let groups =
        compliance["data"]["handoverCompliance"]["groups"].as_array().unwrap_or_else(|| panic!("{compliance}"));
    assert!(groups.iter().all(|g| g["handovers"] == 0), "{compliance}");
    assert_eq!(s.app.count_outbox_events(&s.org, "handover.cancelled").await, 1);
}

#[tokio::test]
async fn the_agreed_mql_definition_is_checked_on_entry_and_can_change_who_enters() {
    let s = setup().await;
    let bare = new_lead(&s, json!({ "email": "ana@payly.io" })).await;
    // While no definition is agreed, the defaults hold and say so.
    let rules = s.app.gql(Some(&s.rep.token), "{ stageRules { stage enteredBy minScore requiredFields icpFit unenforcedCriteria definitionId definitionVersion } }", json!({})).await;
    let mql = rules["data"]["stageRules"].as_array().unwrap().iter().find(|r| r["stage"] == "MQL").unwrap().clone();
    assert_eq!(mql["enteredBy"], json!(["MARKETING", "INTEGRATIONS", "SCORING_MODEL"]));
    assert_eq!(mql["definitionId"], Value::Null);

    // A criterion that is not a number or a field that does not exist is refused.
    let bad = s
        .app
        .gql(
            Some(&s.marketer.token),
            "mutation($input: CreateDefinitionInput!) { createDefinition(input: $input) { definition { id } } }",
            json!({ "input": { "term": "MQL", "body": "…", "criteria": { "requiredFields": ["shoeSize"] } } }),
        )
        .await;
    assert_eq!(assert_error(&bad, "BAD_USER_INPUT"), bad["errors"][0]["message"].as_str().unwrap());
    assert_eq!(bad["errors"][0]["extensions"]["field"], "criteria.requiredFields");

    let definition = agree_definition(
        &s,
        "MQL",
        json!({ "minScore": 0, "requiredFields": ["email", "company", "title"], "enteredBy": ["MARKETING", "SALES", "SCORING_MODEL"], "bant": "later" }),
    )
    .await;
    let rules = s
        .app
        .gql(
            Some(&s.rep.token),
            "{ stageRules { stage enteredBy requiredFields unenforcedCriteria definitionId definitionVersion } }",
            json!({}),
        )
        .await;
    let mql = rules["data"]["stageRules"].as_array().unwrap().iter().find(|r| r["stage"] == "MQL").unwrap().clone();
    assert_eq!(
        mql,
        json!({ "stage": "MQL", "enteredBy": ["MARKETING", "SALES", "SCORING_MODEL"], "requiredFields": ["EMAIL", "COMPANY", "TITLE"], "unenforcedCriteria": ["bant"], "definitionId": definition, "definitionVersion": 1 })
    );

    // A lead with no company and no title is not an MQL, whoever says so; the error
    // lists every unmet criterion and nothing changes.
    let audit = s.app.count_audit_rows(&s.org).await;
    let body = move_to(&s, &s.marketer.token, &bare, "MQL").await;
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("company is missing") && message.contains("title is missing"), "{message}");
    assert!(message.contains("the agreed definition \"MQL\", version 1"), "{message}");
    assert_eq!(stage(&s, &bare).await, "NEW");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    // With both, it is; and this organization lets sales declare MQLs too.
    let account = s
        .app
        .gql(
            Some(&s.marketer.token),
            "mutation { createAccount(input: { name: \"Payly\" }) { account { id } } }",
            json!({}),
        )
        .await["data"]["createAccount"]["account"]["id"]
        .clone();
    let ready = new_lead(&s, json!({ "email": "vp@payly.io", "title": "VP Finance", "accountId": account })).await;
    assert_eq!(
        move_to(&s, &s.rep.token, &ready, "MQL").await["data"]["moveLeadStage"]["lead"]["lifecycleStage"],
        "MQL"
    );
    // A viewer is nobody in the rights.
    let viewer = s.app.create_user(&s.org, Team::Sales, Role::Viewer).await;
    assert_error(&move_to(&s, &viewer.token, &bare, "ENGAGED").await, "FORBIDDEN");
}

#[tokio::test]
async fn every_new_mql_is_handed_over_automatically_within_each_reps_daily_cap() {
    let s = setup().await;
    settings(&s, json!({ "autoHandOverMqls": true, "autoHandOverDailyCap": 1 })).await;
    // A manual MQL is handed over like a scored one.
    let first = new_lead(&s, json!({ "email": "one@payly.io" })).await;
    assert_eq!(
        move_to(&s, &s.marketer.token, &first, "MQL").await["data"]["moveLeadStage"]["lead"]["lifecycleStage"],
        "MQL"
    );
    let handed = handovers(&s, &first).await;
    assert_eq!(handed.len(), 1);
    assert_eq!(
        (handed[0]["status"].as_str(), handed[0]["toUser"]["id"].as_str()),
        (Some("PENDING"), Some(s.rep.id.to_string().as_str()))
    );
    // The rep, the sales manager and nobody else can take leads: two reps with room for one each today.
    let second = new_lead(&s, json!({ "email": "two@payly.io", "lifecycleStage": "MQL" })).await;
    assert_eq!(handovers(&s, &second).await.len(), 1);
    // The third waits in the backlog, visible, instead of flooding a queue.
    let third = new_lead(&s, json!({ "email": "three@payly.io", "lifecycleStage": "MQL" })).await;
    assert!(handovers(&s, &third).await.is_empty());
    let backlog = s.app.gql(Some(&s.rep.token), BACKLOG, json!({})).await;
    assert_eq!(backlog["data"]["handoverBacklog"], json!({ "totalCount": 1, "nodes": [{ "id": third }] }), "{backlog}");

    // Room again (a higher cap): the worker's pass hands it over, once.
    settings(&s, json!({ "autoHandOverDailyCap": 5 })).await;
    assert_eq!(api::handover::drain_backlogs(&s.app.db).await.unwrap(), 1);
    assert_eq!(api::handover::drain_backlogs(&s.app.db).await.unwrap(), 0);
    assert_eq!(handovers(&s, &third).await.len(), 1);
    let backlog = s.app.gql(Some(&s.rep.token), BACKLOG, json!({})).await;
    assert_eq!(backlog["data"]["handoverBacklog"]["totalCount"], 0, "{backlog}");

    // Another organization sees none of it.
    let other = s.app.create_org("Globex").await;
    let theirs = s.app.gql(Some(&other.admin.token), BACKLOG, json!({})).await;
    assert_eq!(theirs["data"]["handoverBacklog"]["totalCount"], 0, "{theirs}");
    let rules = s.app.gql(Some(&other.admin.token), "{ stageRules { stage definitionId } }", json!({})).await;
    assert!(rules["data"]["stageRules"].as_array().unwrap().iter().all(|r| r["definitionId"].is_null()), "{rules}");
}

/// A fit-only model: a title with "VP" is worth 30 points.
fn model(mql: f64) -> Value {
    json!({
        "name": "Default",
        "propose": true,
        "fitRules": [{ "name": "VP title", "attribute": "LEAD_TITLE", "operator": "CONTAINS", "value": "VP", "points": 30 }],
        "engagementRules": [],
        "thresholds": { "warm": 10, "hot": 80, "mql": mql },
    })
}

#[tokio::test]
async fn lowering_the_mql_threshold_promotes_the_leads_already_above_it() {
    let s = setup().await;
    let model_id = s.app.create_scoring_model(&s.marketing_manager.token, model(60.0)).await;
    agree(&s, "SCORING_MODEL", &model_id, 1).await;
    api::scoring::rescore::run_all(&s.app.db, Utc::now()).await.unwrap();

    let engaged = new_lead(&s, json!({ "email": "vp1@payly.io", "title": "VP Sales" })).await;
    let recycled = new_lead(&s, json!({ "email": "vp2@payly.io", "title": "VP Ops" })).await;
    let cold = new_lead(&s, json!({ "email": "intern@payly.io", "title": "Intern" })).await;
    move_to(&s, &s.marketer.token, &engaged, "ENGAGED").await;
    move_to(&s, &s.marketer.token, &recycled, "RECYCLED").await;
    let before = s.app.gql(Some(&s.marketer.token), LEAD, json!({ "id": engaged })).await;
    assert_eq!(before["data"]["lead"]["score"], 30.0, "{before}");
    assert!(before["data"]["lead"]["scoredAt"].is_string(), "{before}");

    // Version 2 lowers the threshold to 25: membership, not a rise, decides.
    let body = s
        .app
        .gql(
            Some(&s.marketing_manager.token),
            "mutation($input: UpdateScoringModelInput!) { updateScoringModel(input: $input) { scoringModel { version } } }",
            json!({ "input": { "id": model_id, "thresholds": { "warm": 10, "hot": 80, "mql": 25 } } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Before co-signing, the sales manager sees what version 2 would do to everyone.
    let simulate = "query($id: ID!) { simulateScoringModel(id: $id) { version leads mqlsBefore mqlsAfter promotions temperaturesAfter { temperature leads } promotedBy { source leads } promotedSamples { lead { id } scoreBefore scoreAfter } } }";
    let body = s.app.gql(Some(&s.sales_manager.token), simulate, json!({ "id": model_id })).await;
    let sim = &body["data"]["simulateScoringModel"];
    assert_eq!((sim["version"].as_i64(), sim["leads"].as_i64()), (Some(2), Some(3)), "{body}");
    assert_eq!(
        (sim["mqlsBefore"].as_i64(), sim["mqlsAfter"].as_i64(), sim["promotions"].as_i64()),
        (Some(0), Some(2), Some(2))
    );
    assert_eq!(sim["promotedBy"], json!([{ "source": null, "leads": 2 }]));
    let mut promoted: Vec<&str> =
        sim["promotedSamples"].as_array().unwrap().iter().map(|m| m["lead"]["id"].as_str().unwrap()).collect();
    promoted.sort();
    let mut expected = vec![engaged.as_str(), recycled.as_str()];
    expected.sort();
    assert_eq!(promoted, expected);
    assert_eq!(sim["promotedSamples"][0]["scoreAfter"], 30.0);
    assert_eq!(sim["temperaturesAfter"][1], json!({ "temperature": "WARM", "leads": 2 }));
    // Simulating changed nothing; another organization's model is not found.
    assert_eq!(stage(&s, &engaged).await, "ENGAGED");
    let other = s.app.create_org("Globex").await;
    let body = s.app.gql(Some(&other.admin.token), simulate, json!({ "id": model_id })).await;
    assert_error(&body, "NOT_FOUND");

    // This organization wants a confirmation above one promotion: the approval that
    // would agree the version is refused until the approver names the number.
    settings(&s, json!({ "promotionsNeedingConfirmation": 1 })).await;
    let input = |confirm: Option<i64>| json!({ "input": { "kind": "SCORING_MODEL", "id": model_id, "version": 2, "confirmPromotions": confirm } });
    let first = s.app.gql(Some(&s.sales_manager.token), APPROVE, input(None)).await;
    assert_eq!(first["data"]["approveDocument"]["agreed"], false, "{first}");
    let audit = s.app.count_audit_rows(&s.org).await;
    for confirm in [None, Some(3)] {
        let body = s.app.gql(Some(&s.marketing_manager.token), APPROVE, input(confirm)).await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(message.contains("makes 2 leads MQLs") && message.contains("confirmPromotions: 2"), "{message}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "confirmPromotions");
    }
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    assert_eq!(stage(&s, &engaged).await, "ENGAGED");
    let body = s.app.gql(Some(&s.marketing_manager.token), APPROVE, input(Some(2))).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], true, "{body}");
    api::scoring::rescore::run_all(&s.app.db, Utc::now()).await.unwrap();
    assert_eq!(stage(&s, &engaged).await, "MQL");
    assert_eq!(stage(&s, &recycled).await, "MQL");
    assert_eq!(stage(&s, &cold).await, "NEW");
}

#[tokio::test]
async fn the_daily_decay_rescores_only_the_leads_whose_band_can_change() {
    let s = setup().await;
    // A VP title is worth 30 fit points, a demo request 40 engagement points that halve daily.
    let mut input = model(60.0);
    input["engagementRules"] = json!([{ "name": "Demo requests", "kind": "DEMO_REQUEST", "pointsPerEvent": 40, "cap": 40, "halfLifeDays": 1 }]);
    input["thresholds"] = json!({ "warm": 10, "hot": 50, "mql": 60 });
    let model_id = s.app.create_scoring_model(&s.marketing_manager.token, input).await;
    agree(&s, "SCORING_MODEL", &model_id, 1).await;
    api::scoring::rescore::run_all(&s.app.db, Utc::now()).await.unwrap();
    let falls = new_lead(&s, json!({ "email": "vp@payly.io", "title": "VP Sales" })).await;
    let stays = new_lead(&s, json!({ "email": "ana@payly.io" })).await;
    let fit_only = new_lead(&s, json!({ "email": "vp2@payly.io", "title": "VP Ops" })).await;
    let record = "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { duplicates } }";
    let at = Utc::now().to_rfc3339();
    let events = json!([{ "leadId": falls, "kind": "DEMO_REQUEST", "occurredAt": at }, { "leadId": stays, "kind": "DEMO_REQUEST", "occurredAt": at }]);
    let body = s.app.gql(Some(&s.marketer.token), record, json!({ "input": { "events": events } })).await;
    assert!(body["errors"].is_null(), "{body}");
    let query = "query($id: ID!) { lead(id: $id) { score temperature scoredAt lifecycleStage } }";
    let lead = |id: String| {
        let s = &s;
        async move { s.app.gql(Some(&s.marketer.token), query, json!({ "id": id })).await["data"]["lead"].clone() }
    };
    let (before_falls, before_stays, before_fit) =
        (lead(falls.clone()).await, lead(stays.clone()).await, lead(fit_only.clone()).await);
    assert_eq!(
        (before_falls["score"].as_f64(), before_falls["temperature"].as_str()),
        (Some(70.0), Some("HOT")),
        "{before_falls}"
    );
    assert_eq!(before_falls["lifecycleStage"], "MQL", "{before_falls}");
    assert_eq!((before_stays["score"].as_f64(), before_stays["temperature"].as_str()), (Some(40.0), Some("WARM")));
    assert_eq!((before_fit["score"].as_f64(), before_fit["temperature"].as_str()), (Some(30.0), Some("WARM")));

    // The latest rescoring is recent: nothing to queue. A day later the decay job runs.
    let db = &s.app.db;
    assert_eq!(api::scoring::rescore::enqueue_decay(db, Utc::now()).await.unwrap(), 0);
    let tomorrow = Utc::now() + chrono::Duration::hours(25);
    assert_eq!(api::scoring::rescore::enqueue_decay(db, tomorrow).await.unwrap(), 1);
    assert_eq!(api::scoring::rescore::enqueue_decay(db, tomorrow).await.unwrap(), 0, "queued once");
    // 25 hours at a one-day half-life leave at least 40 × 0.5^(25/24) = 19.43 points:
    // 70 may fall to 49.43, below HOT (50) and MQL (60), so it is rescored; 40 falls
    // no lower than 19.43, still WARM, and 30 fit points do not decay: both are left.
    let job = "{ rescoreJob { kind status total processed } }";
    let queued = s.app.gql(Some(&s.marketer.token), job, json!({})).await;
    assert_eq!(
        queued["data"]["rescoreJob"],
        json!({ "kind": "DECAY", "status": "QUEUED", "total": 1, "processed": 0 })
    );
    api::scoring::rescore::run_all(db, tomorrow).await.unwrap();
    let done = s.app.gql(Some(&s.marketer.token), job, json!({})).await;
    assert_eq!(done["data"]["rescoreJob"], json!({ "kind": "DECAY", "status": "DONE", "total": 1, "processed": 1 }));

    let decayed = lead(falls).await;
    let score = decayed["score"].as_f64().unwrap();
    assert!((49.0..=49.5).contains(&score), "{decayed}");
    assert_eq!(decayed["temperature"], "WARM", "{decayed}");
    let scored_at = chrono::DateTime::parse_from_rfc3339(decayed["scoredAt"].as_str().unwrap()).unwrap();
    assert!(scored_at > Utc::now() + chrono::Duration::hours(24), "scoredAt says when: {decayed}");
    // Below the threshold, an MQL keeps its stage.
    assert_eq!(decayed["lifecycleStage"], "MQL");
    assert_eq!(lead(stays).await, before_stays);
    assert_eq!(lead(fit_only).await, before_fit);
}

#[tokio::test]
async fn each_stage_entry_keeps_the_definition_version_that_judged_it() {
    let s = setup().await;
    let mql = agree_definition(&s, "MQL", json!({ "enteredBy": ["MARKETING", "SCORING_MODEL"] })).await;
    let first = new_lead(&s, json!({ "email": "first@payly.io" })).await;
    assert!(move_to(&s, &s.marketer.token, &first, "MQL").await["errors"].is_null());
    // Version 2 of the definition: entries from now on are judged by it, the earlier one is not re-judged.
    let update =
        "mutation($input: UpdateDefinitionInput!) { updateDefinition(input: $input) { definition { version } } }";
    let input = json!({ "input": { "id": mql, "expectedVersion": 1, "body": "Marketing-qualified, second take", "criteria": { "enteredBy": ["MARKETING", "SCORING_MODEL"] } } });
    let body = s.app.gql(Some(&s.marketer.token), update, input).await;
    assert!(body["errors"].is_null(), "{body}");
    agree(&s, "DEFINITION", &mql, 2).await;
    let second = new_lead(&s, json!({ "email": "second@payly.io" })).await;
    assert!(move_to(&s, &s.marketer.token, &second, "MQL").await["errors"].is_null());
    new_lead(&s, json!({ "email": "third@payly.io", "lifecycleStage": "MQL" })).await;

    let history = "query($id: ID!) { lead(id: $id) { stageHistory { to definitionVersion definitionId } } }";
    let body = s.app.gql(Some(&s.marketer.token), history, json!({ "id": first })).await;
    let moves = body["data"]["lead"]["stageHistory"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    let entry = moves.iter().find(|m| m["to"] == "MQL").unwrap();
    assert_eq!((&entry["definitionVersion"], &entry["definitionId"]), (&json!(1), &json!(mql)));
    // Creation into NEW: no agreed definition of NEW.
    assert!(moves.iter().find(|m| m["to"] == "NEW").unwrap()["definitionVersion"].is_null());

    let today = chrono::Utc::now().date_naive().to_string();
    let kpis = "query($input: KpiInput!) { kpis(input: $input) { groupKey groupLabel points { value } } }";
    let input = json!({ "input": { "metrics": ["MQLS"], "from": today, "to": today, "granularity": "DAY", "groupBy": "DEFINITION_VERSION" } });
    let body = s.app.gql(Some(&s.org.admin.token), kpis, input).await;
    let mut groups: Vec<(String, String, f64)> = body["data"]["kpis"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|g| {
            let value = g["points"][0]["value"].as_f64().unwrap();
            (g["groupKey"].as_str().unwrap().to_owned(), g["groupLabel"].as_str().unwrap().to_owned(), value)
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(groups, [("1".into(), "version 1".into(), 1.0), ("2".into(), "version 2".into(), 2.0)]);
}
