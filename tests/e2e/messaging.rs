//! Messages and the message matrix, content assets, content usage and its
//! statistics, and what to send a lead next.

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_MESSAGE: &str =
    "mutation($input: CreateMessageInput!) { createMessage(input: $input) { message { id status version } } }";
const APPROVE: &str = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
const MATRIX: &str = "{ messageMatrix { totalCells coveredCells coverage
  cells { state persona { id } journeyStage { id name } message { id title } pending { id } }
  gaps { state journeyStage { name } }
  global { id } battlecards { id inForce { body { competitor } } } } }";
const CREATE_ASSET: &str = "mutation($input: CreateContentAssetInput!) { createContentAsset(input: $input) { contentAsset { id title kind url version messageId personas { id } journeyStages { name } owner { id } } } }";
const RECORD: &str = "mutation($input: RecordContentUsageInput!) { recordContentUsage(input: $input) { usage { id rating asset { id } user { id } } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    marketer: TestUser,
    marketing_manager: TestUser,
    sales_manager: TestUser,
    rep: TestUser,
    rep2: TestUser,
    viewer: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    Setup {
        marketer: app.create_user(&org, Team::Marketing, Role::Member).await,
        marketing_manager: app.create_user(&org, Team::Marketing, Role::Manager).await,
        sales_manager: app.create_user(&org, Team::Sales, Role::Manager).await,
        rep: app.create_user(&org, Team::Sales, Role::Member).await,
        rep2: app.create_user(&org, Team::Sales, Role::Member).await,
        viewer: app.create_user(&org, Team::Sales, Role::Viewer).await,
        app,
        org,
    }
}

fn id_at(body: &Value, path: &[&str]) -> String {
    let mut v = &body["data"];
    for p in path {
        v = &v[*p];
    }
    v.as_str().unwrap_or_else(|| panic!("no id at {path:?}: {body}")).to_owned()
}

async fn persona(app: &TestApp, token: &str, name: &str) -> String {
    let q = "mutation($input: CreatePersonaInput!) { createPersona(input: $input) { persona { id } } }";
    let body = app.gql(Some(token), q, json!({ "input": { "name": name, "propose": true } })).await;
    id_at(&body, &["createPersona", "persona", "id"])
}

async fn stages(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.gql(Some(token), "{ journeyStages { id } }", json!({})).await;
    body["data"]["journeyStages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

async fn message(s: &Setup, input: Value) -> String {
    let body = s.app.gql(Some(&s.marketer.token), CREATE_MESSAGE, json!({ "input": input })).await;
    id_at(&body, &["createMessage", "message", "id"])
}

async fn agree(s: &Setup, id: &str) {
    for token in [&s.sales_manager.token, &s.marketing_manager.token] {
        let body =
            s.app.gql(Some(token), APPROVE, json!({ "input": { "kind": "MESSAGE", "id": id, "version": 1 } })).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

fn segment(persona: &str, stage: &str, title: &str) -> Value {
    json!({ "kind": "SEGMENT", "personaId": persona, "journeyStageId": stage, "title": title,
            "body": "Close the books in days, not weeks.", "proofPoints": ["3x faster close"], "propose": true })
}

#[tokio::test]
async fn the_matrix_shows_coverage_gaps_and_one_message_in_force_per_cell() {
    let s = setup().await;
    let t = &s.marketer.token;
    let (p1, p2) = (persona(&s.app, t, "Finance Fiona").await, persona(&s.app, t, "Ops Olivia").await);
    let stages = stages(&s.app, t).await;
    let first = message(&s, segment(&p1, &stages[0], "Faster close")).await;
    agree(&s, &first).await;
    let _pending = message(&s, segment(&p1, &stages[1], "Why now")).await;
    let global =
        message(&s, json!({ "kind": "GLOBAL", "title": "One ledger", "body": "One ledger for all.", "propose": true }))
            .await;
    agree(&s, &global).await;
    let card = message(&s, json!({ "kind": "BATTLECARD", "competitor": "Globex", "title": "Beat Globex", "body": "We are faster.", "propose": true })).await;
    agree(&s, &card).await;

    let body = s.app.gql(Some(t), MATRIX, json!({})).await;
    let m = &body["data"]["messageMatrix"];
    assert_eq!(m["totalCells"], 10, "{body}");
    assert_eq!(m["coveredCells"], 1);
    assert_eq!(m["coverage"], 0.1);
    assert_eq!(m["gaps"].as_array().unwrap().len(), 9);
    let cells = m["cells"].as_array().unwrap();
    let cell = |persona: &str, stage: &str| {
        cells.iter().find(|c| c["persona"]["id"] == persona && c["journeyStage"]["id"] == stage).unwrap().clone()
    };
    assert_eq!(cell(&p1, &stages[0])["state"], "COVERED");
    assert_eq!(cell(&p1, &stages[0])["message"]["id"], json!(first));
    assert_eq!(cell(&p1, &stages[1])["state"], "PENDING");
    assert_eq!(cell(&p2, &stages[0])["state"], "GAP");
    assert_eq!(m["global"]["id"], json!(global));
    assert_eq!(m["battlecards"][0]["inForce"]["body"]["competitor"], "Globex");

    // A second message agreed for the same cell retires the first one.
    let second = message(&s, segment(&p1, &stages[0], "Audit-ready every day")).await;
    agree(&s, &second).await;
    let body = s.app.gql(Some(t), MATRIX, json!({})).await;
    let cells = body["data"]["messageMatrix"]["cells"].as_array().unwrap().clone();
    let covered = cells
        .iter()
        .find(|c| c["persona"]["id"] == p1.as_str() && c["journeyStage"]["id"] == stages[0].as_str())
        .unwrap();
    assert_eq!(covered["message"]["id"], json!(second));
    assert_eq!(body["data"]["messageMatrix"]["coveredCells"], 1);
    let retired = s.app.gql(Some(t), "{ messages(filter: { status: RETIRED }) { id } }", json!({})).await;
    assert_eq!(retired["data"]["messages"], json!([{ "id": first }]));
    assert_eq!(s.app.count_outbox_events(&s.org, "message.retired").await, 1);
    let segments = s
        .app
        .gql(
            Some(t),
            "query($p: ID) { messages(filter: { kind: SEGMENT, personaId: $p, status: AGREED }) { id } }",
            json!({ "p": p1 }),
        )
        .await;
    assert_eq!(segments["data"]["messages"], json!([{ "id": second }]));
}

#[tokio::test]
async fn messages_only_reference_personas_and_stages_of_the_callers_organization() {
    let s = setup().await;
    let other = s.app.create_org("Globex").await;
    let foreign_persona = persona(&s.app, &other.admin.token, "Elsewhere").await;
    let foreign_stage = stages(&s.app, &other.admin.token).await[0].clone();
    let mine = persona(&s.app, &s.marketer.token, "Finance Fiona").await;
    let my_stage = stages(&s.app, &s.marketer.token).await[0].clone();
    let audit = s.app.count_audit_rows(&s.org).await;
    for (input, field) in [
        (segment(&foreign_persona, &my_stage, "x"), "personaId"),
        (segment(&mine, &foreign_stage, "x"), "journeyStageId"),
        (json!({ "kind": "SEGMENT", "journeyStageId": my_stage, "title": "x", "body": "y" }), "personaId"),
        (json!({ "kind": "GLOBAL", "competitor": "Globex", "title": "x", "body": "y" }), "competitor"),
    ] {
        let body = s.app.gql(Some(&s.marketer.token), CREATE_MESSAGE, json!({ "input": input })).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let id = message(&s, segment(&mine, &my_stage, "Faster close")).await;
    let foreign =
        s.app.gql(Some(&other.admin.token), "query($id: ID!) { message(id: $id) { id } }", json!({ "id": id })).await;
    assert_error(&foreign, "NOT_FOUND");
    let update = "mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { message { id } } }";
    let foreign =
        s.app.gql(Some(&other.admin.token), update, json!({ "input": { "id": id, "title": "Mine now" } })).await;
    assert_error(&foreign, "NOT_FOUND");
    let edited = s.app.gql(Some(&s.marketer.token), "mutation($input: UpdateMessageInput!) { updateMessage(input: $input) { message { version pending { body { title persona { id } journeyStage { name } } } } } }", json!({ "input": { "id": id, "title": "Close faster" } })).await;
    let pending = &edited["data"]["updateMessage"]["message"]["pending"]["body"];
    assert_eq!(pending["title"], "Close faster", "{edited}");
    assert_eq!(pending["journeyStage"]["name"], "AWARENESS");
    let other_matrix = s.app.gql(Some(&other.admin.token), MATRIX, json!({})).await;
    assert_eq!(other_matrix["data"]["messageMatrix"]["totalCells"], 5, "only the other org's persona");
}

#[tokio::test]
async fn content_assets_are_created_filtered_updated_and_archived() {
    let s = setup().await;
    let t = &s.marketer.token;
    let p = persona(&s.app, t, "Finance Fiona").await;
    let stages = stages(&s.app, t).await;
    let msg = message(&s, segment(&p, &stages[0], "Faster close")).await;
    let audit = s.app.count_audit_rows(&s.org).await;
    let bad = s
        .app
        .gql(Some(t), CREATE_ASSET, json!({ "input": { "title": "Deck", "kind": "DECK", "url": "ftp://x.io/deck" } }))
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "url", "{bad}");
    let forbidden = s
        .app
        .gql(
            Some(&s.rep.token),
            CREATE_ASSET,
            json!({ "input": { "title": "Deck", "kind": "DECK", "url": "https://x.io/deck" } }),
        )
        .await;
    assert_error(&forbidden, "FORBIDDEN");
    let other = s.app.create_org("Globex").await;
    let foreign_persona = persona(&s.app, &other.admin.token, "Elsewhere").await;
    let foreign = s.app.gql(Some(t), CREATE_ASSET, json!({ "input": { "title": "Deck", "kind": "DECK", "url": "https://x.io/deck", "personaIds": [foreign_persona] } })).await;
    assert_eq!(foreign["errors"][0]["extensions"]["field"], "personaIds", "{foreign}");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    let input = json!({ "title": "Close deck", "kind": "DECK", "url": "https://acme.io/close.pdf", "messageId": msg, "personaIds": [p], "journeyStageIds": [stages[0]] });
    let body = s.app.gql(Some(t), CREATE_ASSET, json!({ "input": input })).await;
    let deck = &body["data"]["createContentAsset"]["contentAsset"];
    assert_eq!(deck["personas"], json!([{ "id": p }]), "{body}");
    assert_eq!(deck["journeyStages"], json!([{ "name": "AWARENESS" }]));
    assert_eq!(deck["owner"]["id"], json!(s.marketer.id));
    let deck_id = deck["id"].as_str().unwrap().to_owned();
    let body = s.app.gql(Some(t), CREATE_ASSET, json!({ "input": { "title": "Customer story", "kind": "CASE_STUDY", "url": "http://acme.io/story", "journeyStageIds": [stages[2]] } })).await;
    let story = id_at(&body, &["createContentAsset", "contentAsset", "id"]);

    let list = "query($f: ContentAssetFilter) { contentAssets(filter: $f, first: 10) { totalCount nodes { id } } }";
    let ids = |body: Value| {
        body["data"]["contentAssets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": {} })).await), vec![story.clone(), deck_id.clone()]);
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": { "personaId": p } })).await), vec![deck_id.clone()]);
    assert_eq!(
        ids(s.app.gql(Some(t), list, json!({ "f": { "journeyStageId": stages[2] } })).await),
        vec![story.clone()]
    );
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": { "kind": "CASE_STUDY" } })).await), vec![story.clone()]);
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": { "messageId": msg } })).await), vec![deck_id.clone()]);
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": { "search": "STORY" } })).await), vec![story.clone()]);
    let page =
        s.app.gql(Some(t), "{ contentAssets(first: 1) { pageInfo { hasNextPage endCursor } } }", json!({})).await;
    let cursor = page["data"]["contentAssets"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let next = s
        .app
        .gql(
            Some(t),
            "query($a: String) { contentAssets(first: 1, after: $a) { nodes { id } } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(next["data"]["contentAssets"]["nodes"], json!([{ "id": deck_id }]));

    let update = "mutation($input: UpdateContentAssetInput!) { updateContentAsset(input: $input) { contentAsset { title version personas { id } journeyStages { name } } } }";
    let body = s.app.gql(Some(t), update, json!({ "input": { "id": deck_id, "expectedVersion": 1, "title": "Close deck v2", "personaIds": [], "journeyStageIds": [stages[0], stages[1]] } })).await;
    let updated = &body["data"]["updateContentAsset"]["contentAsset"];
    assert_eq!(updated["version"], 2, "{body}");
    assert_eq!(updated["personas"], json!([]));
    assert_eq!(updated["journeyStages"], json!([{ "name": "AWARENESS" }, { "name": "CONSIDERATION" }]));
    assert_error(
        &s.app.gql(Some(t), update, json!({ "input": { "id": deck_id, "expectedVersion": 1, "title": "x" } })).await,
        "CONFLICT",
    );
    assert_error(
        &s.app.gql(Some(&other.admin.token), update, json!({ "input": { "id": deck_id, "title": "x" } })).await,
        "NOT_FOUND",
    );
    assert_error(
        &s.app
            .gql(Some(&other.admin.token), "query($id: ID!) { contentAsset(id: $id) { id } }", json!({ "id": deck_id }))
            .await,
        "NOT_FOUND",
    );
    assert_eq!(ids(s.app.gql(Some(&other.admin.token), list, json!({ "f": {} })).await), Vec::<String>::new());

    let archive = "mutation($id: ID!) { archiveContentAsset(input: { id: $id }) { contentAsset { archivedAt } } }";
    assert_error(&s.app.gql(Some(&other.admin.token), archive, json!({ "id": deck_id })).await, "NOT_FOUND");
    let body = s.app.gql(Some(t), archive, json!({ "id": deck_id })).await;
    assert!(body["data"]["archiveContentAsset"]["contentAsset"]["archivedAt"].is_string(), "{body}");
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": {} })).await), vec![story.clone()]);
    assert_eq!(ids(s.app.gql(Some(t), list, json!({ "f": { "includeArchived": true } })).await).len(), 2);
    let again = s.app.gql(Some(t), archive, json!({ "id": deck_id })).await;
    assert_eq!(again["data"], body["data"], "archiving twice changes nothing: {again}");
    assert_eq!(s.app.count_outbox_events(&s.org, "contentAsset.archived").await, 1);
}

async fn opportunity(s: &Setup, account: &str, name: &str, outcome: &str) -> String {
    let t = &s.org.admin.token;
    // New business until the account has a won deal, then more of it (the strategy rule).
    let customer =
        s.app.gql(Some(t), "query($id: ID!) { account(id: $id) { isCustomer } }", json!({ "id": account })).await;
    let strategy = if customer["data"]["account"]["isCustomer"] == true { "DEVELOPMENT" } else { "ACQUISITION" };
    let create =
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
    let body = s.app.gql(Some(t), create, json!({ "input": { "accountId": account, "name": name, "amountMinor": 1000, "currency": "EUR", "strategy": strategy } })).await;
    let id = id_at(&body, &["createOpportunity", "opportunity", "id"]);
    let close =
        "mutation($input: CloseOpportunityInput!) { closeOpportunity(input: $input) { opportunity { stage } } }";
    let input = if outcome == "WON" {
        json!({ "id": id, "outcome": "WON" })
    } else {
        json!({ "id": id, "outcome": "LOST", "lostReason": "price" })
    };
    let closed = s.app.gql(Some(t), close, json!({ "input": input })).await;
    assert!(closed["errors"].is_null(), "{closed}");
    id
}

async fn asset(s: &Setup, title: &str, personas: Value, stages: Value) -> String {
    let input = json!({ "title": title, "kind": "ONE_PAGER", "url": "https://acme.io/x", "personaIds": personas, "journeyStageIds": stages });
    let body = s.app.gql(Some(&s.marketer.token), CREATE_ASSET, json!({ "input": input })).await;
    id_at(&body, &["createContentAsset", "contentAsset", "id"])
}

async fn record(s: &Setup, token: &str, input: Value) -> Value {
    s.app.gql(Some(token), RECORD, json!({ "input": input })).await
}

#[tokio::test]
async fn usage_statistics_and_win_rates_come_from_recorded_use() {
    let s = setup().await;
    let acc = {
        let q = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
        let body =
            s.app.gql(Some(&s.rep.token), q, json!({ "input": { "name": "Payly", "domain": "payly.io" } })).await;
        id_at(&body, &["createAccount", "account", "id"])
    };
    let used = asset(&s, "ROI one-pager", json!([]), json!([])).await;
    let unused = asset(&s, "Old brochure", json!([]), json!([])).await;
    let won = opportunity(&s, &acc, "Deal 1", "WON").await;
    let lost = opportunity(&s, &acc, "Deal 2", "LOST").await;
    let won_without = opportunity(&s, &acc, "Deal 3", "WON").await;
    let body = record(&s, &s.rep.token, json!({ "assetId": used, "opportunityId": won, "rating": "HELPFUL" })).await;
    assert_eq!(body["data"]["recordContentUsage"]["usage"]["user"]["id"], json!(s.rep.id), "{body}");
    record(&s, &s.rep2.token, json!({ "assetId": used, "opportunityId": lost, "rating": "NOT_HELPFUL" })).await;
    record(&s, &s.rep.token, json!({ "assetId": used, "comment": "sent to a prospect" })).await;
    // Deals 1 and 2 closed after those uses; deal 3 had closed before its use, which
    // therefore cannot have helped: it still counts as won without the asset.
    for deal in [&won, &lost] {
        use sea_orm::ConnectionTrait;
        let mut sql = api::db::sql::Sql::new();
        sql.push("UPDATE opportunities SET closed_at = ").bind(chrono::Utc::now() + chrono::Duration::hours(1));
        sql.push(" WHERE id = ").bind(deal.parse::<uuid::Uuid>().unwrap());
        s.app.db.execute_raw(sql.build(s.app.db.get_database_backend())).await.unwrap();
    }
    record(&s, &s.rep.token, json!({ "assetId": used, "opportunityId": won_without })).await;

    let audit = s.app.count_audit_rows(&s.org).await;
    assert_error(&record(&s, &s.viewer.token, json!({ "assetId": used })).await, "FORBIDDEN");
    let other = s.app.create_org("Globex").await;
    let other_marketer = s.app.create_user(&other, Team::Marketing, Role::Member).await;
    let foreign_asset = {
        let input = json!({ "title": "Theirs", "kind": "DECK", "url": "https://globex.io/x" });
        let body = s.app.gql(Some(&other_marketer.token), CREATE_ASSET, json!({ "input": input })).await;
        id_at(&body, &["createContentAsset", "contentAsset", "id"])
    };
    let body = record(&s, &s.rep.token, json!({ "assetId": foreign_asset })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "assetId", "{body}");
    let body = record(&s, &other.admin.token, json!({ "assetId": foreign_asset, "opportunityId": won })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "opportunityId", "{body}");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    let q = "{ contentAssets { nodes { id usage { uses distinctUsers helpful rated helpfulShare lastUsedAt closedOpportunitiesWith wonOpportunitiesWith winRateWith closedOpportunitiesWithout winRateWithout } } } }";
    let (body, statements) = s.app.gql_counting(Some(&s.marketer.token), q, json!({})).await;
    let nodes = body["data"]["contentAssets"]["nodes"].as_array().unwrap();
    let stats = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap()["usage"].clone();
    let u = stats(&used);
    assert_eq!(
        (u["uses"].clone(), u["distinctUsers"].clone(), u["helpful"].clone(), u["rated"].clone()),
        (json!(4), json!(2), json!(1), json!(2)),
        "{body}"
    );
    assert_eq!(u["helpfulShare"], 0.5);
    assert!(u["lastUsedAt"].is_string());
    assert_eq!(
        (u["closedOpportunitiesWith"].clone(), u["wonOpportunitiesWith"].clone(), u["winRateWith"].clone()),
        (json!(2), json!(1), json!(0.5))
    );
    assert_eq!((u["closedOpportunitiesWithout"].clone(), u["winRateWithout"].clone()), (json!(1), json!(1.0)));
    let n = stats(&unused);
    assert_eq!(
        (n["uses"].clone(), n["helpfulShare"].clone(), n["winRateWith"].clone(), n["winRateWithout"].clone()),
        (json!(0), Value::Null, Value::Null, json!(2.0 / 3.0))
    );
    assert!(statements <= 12, "usage is batched: {statements} statements");

    let body = s.app.gql(Some(&s.marketer.token), "{ unusedContent(days: 30) { id } }", json!({})).await;
    assert_eq!(body["data"]["unusedContent"], json!([{ "id": unused }]));
    let body = s
        .app
        .gql(Some(&s.marketer.token), "{ contentAssets(filter: { unusedForDays: 30 }) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(body["data"]["contentAssets"]["nodes"], json!([{ "id": unused }]));
    let body = s.app.gql(Some(&s.marketer.token), "{ unusedContent(days: 0) { id } }", json!({})).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "days");
    assert_eq!(s.app.count_outbox_events(&s.org, "contentUsage.recorded").await, 4);
}

#[tokio::test]
async fn content_for_a_lead_fits_its_persona_and_journey_stage_most_helpful_first() {
    let s = setup().await;
    let t = &s.marketer.token;
    let (fiona, olivia) = (persona(&s.app, t, "Finance Fiona").await, persona(&s.app, t, "Ops Olivia").await);
    let st = stages(&s.app, t).await;
    let q = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let body = s
        .app
        .gql(Some(t), q, json!({ "input": { "email": "ana@payly.io", "personaId": fiona, "lifecycleStage": "MQL" } }))
        .await;
    let lead = id_at(&body, &["createLead", "lead", "id"]);
    let good = asset(&s, "Good", json!([fiona]), json!([st[1]])).await;
    let best = asset(&s, "Best", json!([fiona]), json!([st[1]])).await;
    let generic = asset(&s, "Generic", json!([]), json!([])).await;
    let _wrong_stage = asset(&s, "Awareness", json!([fiona]), json!([st[0]])).await;
    let _wrong_persona = asset(&s, "Olivia", json!([olivia]), json!([st[1]])).await;
    record(&s, &s.rep.token, json!({ "assetId": good, "rating": "HELPFUL" })).await;
    record(&s, &s.rep.token, json!({ "assetId": best, "rating": "HELPFUL" })).await;
    record(&s, &s.rep2.token, json!({ "assetId": best, "rating": "HELPFUL" })).await;
    let body = s
        .app
        .gql(Some(&s.rep.token), "query($id: ID!) { contentForLead(leadId: $id) { id } }", json!({ "id": lead }))
        .await;
    assert_eq!(body["data"]["contentForLead"], json!([{ "id": best }, { "id": good }, { "id": generic }]), "{body}");
    let other = s.app.create_org("Globex").await;
    let foreign = s
        .app
        .gql(Some(&other.admin.token), "query($id: ID!) { contentForLead(leadId: $id) { id } }", json!({ "id": lead }))
        .await;
    assert_error(&foreign, "NOT_FOUND");
}
