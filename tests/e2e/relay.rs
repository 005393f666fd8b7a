//! Relay global object identification: every node type refetched by `node(id:)` and
//! `nodes(ids:)`, within the caller's organization and read rules only.

use std::collections::BTreeMap;

use chrono::Utc;
use entity::{Role, Team};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::*;

/// Every type of schema.graphql that implements `Node`: a new node type without a
/// record in [`World`] fails the tests below.
fn node_types() -> Vec<String> {
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    schema
        .lines()
        .filter_map(|line| {
            let (name, interfaces) = line.strip_prefix("type ")?.split_once(" implements ")?;
            let interfaces = interfaces.trim_end_matches('{');
            interfaces.split('&').any(|i| i.trim() == "Node").then(|| name.trim().to_owned())
        })
        .collect()
}

/// One organization with one record of every node type, by type name.
struct World {
    org: TestOrg,
    marketing_manager: TestUser,
    sales_manager: TestUser,
    rep: TestUser,
    ids: BTreeMap<&'static str, String>,
}

impl World {
    fn id(&self, ty: &str) -> &str {
        self.ids.get(ty).unwrap_or_else(|| panic!("no {ty} in the world"))
    }
}

/// Run `document` as `user` and return the id at `pointer` of its answer.
async fn id_at(app: &TestApp, user: &TestUser, document: &str, variables: Value, pointer: &str) -> String {
    let body = app.gql(Some(&user.token), document, variables).await;
    body.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no {pointer} in {body}")).to_owned()
}

async fn world(app: &TestApp, name: &str) -> World {
    let org = app.create_org(name).await;
    let mm = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sm = app.create_user(&org, Team::Sales, Role::Manager).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let admin = org.admin.clone();
    let today = Utc::now().date_naive().to_string();
    let mut ids = BTreeMap::new();
    ids.insert("Organization", org.id.to_string());
    ids.insert("User", rep.id.to_string());

    let m = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
    let account = id_at(app, &mm, m, json!({ "input": { "name": "Payly" } }), "/data/createAccount/account/id").await;
    let m = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let input =
        json!({ "input": { "email": format!("ana@{name}.test"), "lifecycleStage": "MQL", "accountId": account } });
    let lead = id_at(app, &mm, m, input, "/data/createLead/lead/id").await;
    let steps: Vec<(&'static str, &TestUser, &str, Value, &str)> = vec![
        (
            "Activity",
            &mm,
            "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
            json!({ "kind": "CALL", "customerFacing": true, "durationMinutes": 20, "leadId": lead }),
            "/data/logActivity/activity/id",
        ),
        (
            "EngagementEvent",
            &mm,
            "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { events { id } } }",
            json!({ "events": [{ "leadId": lead, "kind": "WEB_VISIT", "occurredAt": Utc::now() }] }),
            "/data/recordEngagement/events/0/id",
        ),
        (
            "Handover",
            &mm,
            "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }",
            json!({ "leadId": lead, "toUserId": rep.id }),
            "/data/handOverLead/handover/id",
        ),
        (
            "Opportunity",
            &sm,
            "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }",
            json!({ "accountId": account, "name": "Payly deal", "amountMinor": 100000, "currency": "EUR", "strategy": "ACQUISITION" }),
            "/data/createOpportunity/opportunity/id",
        ),
        (
            "Definition",
            &mm,
            "mutation($input: CreateDefinitionInput!) { createDefinition(input: $input) { definition { id } } }",
            json!({ "term": "MQL", "body": "A lead marketing vouches for." }),
            "/data/createDefinition/definition/id",
        ),
        (
            "IdealCustomerProfile",
            &mm,
            "mutation($input: CreateIdealCustomerProfileInput!) { createIdealCustomerProfile(input: $input) { idealCustomerProfile { id } } }",
            json!({ "name": "Fintech scale-ups" }),
            "/data/createIdealCustomerProfile/idealCustomerProfile/id",
        ),
        (
            "Persona",
            &mm,
            "mutation($input: CreatePersonaInput!) { createPersona(input: $input) { persona { id } } }",
            json!({ "name": "CFO" }),
            "/data/createPersona/persona/id",
        ),
        (
            "Taxonomy",
            &mm,
            "mutation($input: CreateTaxonomyInput!) { createTaxonomy(input: $input) { taxonomy { id } } }",
            json!({ "list": "COMPETITORS", "entries": [{ "code": "SALESFORCE", "label": "Salesforce" }] }),
            "/data/createTaxonomy/taxonomy/id",
        ),
        (
            "Sla",
            &mm,
            "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id } } }",
            json!({ "providerTeam": "MARKETING", "consumerTeam": "SALES", "metric": "MQL_VOLUME", "target": 300, "period": "MONTH" }),
            "/data/createSla/sla/id",
        ),
        (
            "Goal",
            &mm,
            "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id } } }",
            json!({ "name": "More MQLs", "metric": "MQLS", "target": 100, "periodStart": today, "periodEnd": today }),
            "/data/createGoal/goal/id",
        ),
        (
            "ScoringModel",
            &mm,
            "mutation($input: CreateScoringModelInput!) { createScoringModel(input: $input) { scoringModel { id } } }",
            json!({ "name": "Fit", "propose": true, "thresholds": { "warm": 15, "hot": 40, "mql": 60 } }),
            "/data/createScoringModel/scoringModel/id",
        ),
        (
            "Message",
            &mm,
            "mutation($input: CreateMessageInput!) { createMessage(input: $input) { message { id } } }",
            json!({ "kind": "GLOBAL", "title": "Close faster", "body": "Payments that reconcile themselves." }),
            "/data/createMessage/message/id",
        ),
        (
            "ContentAsset",
            &mm,
            "mutation($input: CreateContentAssetInput!) { createContentAsset(input: $input) { contentAsset { id } } }",
            json!({ "title": "Deck", "kind": "DECK", "url": "https://example.com/deck" }),
            "/data/createContentAsset/contentAsset/id",
        ),
        (
            "Campaign",
            &mm,
            "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }",
            json!({ "name": "Spring", "channel": "EMAIL", "startsOn": today, "endsOn": today, "budgetMinor": 1000, "currency": "EUR" }),
            "/data/createCampaign/campaign/id",
        ),
        (
            "Feedback",
            &rep,
            "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id } } }",
            json!({ "subjectType": "GENERAL", "tag": "pricing", "sentiment": "NEGATIVE", "body": "Too expensive." }),
            "/data/submitFeedback/feedback/id",
        ),
        (
            "ReviewMeeting",
            &sm,
            "mutation($input: StartReviewMeetingInput!) { startReviewMeeting(input: $input) { reviewMeeting { id } } }",
            json!({ "periodStart": today, "periodEnd": today }),
            "/data/startReviewMeeting/reviewMeeting/id",
        ),
        (
            "ApiKey",
            &admin,
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id } } }",
            json!({ "name": "BI", "scopes": ["LEADS_READ"] }),
            "/data/createApiKey/apiKey/id",
        ),
    ];
    for (ty, user, mutation, input, pointer) in steps {
        ids.insert(ty, id_at(app, user, mutation, json!({ "input": input }), pointer).await);
    }
    ids.insert("Account", account);
    ids.insert("Lead", lead);

    let m = "mutation($input: RecordContentUsageInput!) { recordContentUsage(input: $input) { usage { id } } }";
    let input = json!({ "input": { "assetId": ids["ContentAsset"] } });
    ids.insert("ContentUsage", id_at(app, &rep, m, input, "/data/recordContentUsage/usage/id").await);
    let m = "mutation($input: EndorseFeedbackInput!) { endorseFeedback(input: $input) { endorsement { id } } }";
    let input = json!({ "input": { "feedbackId": ids["Feedback"] } });
    ids.insert("FeedbackEndorsement", id_at(app, &mm, m, input, "/data/endorseFeedback/endorsement/id").await);
    let m = "mutation($input: AddActionItemInput!) { addActionItem(input: $input) { actionItem { id } } }";
    let input = json!({ "input": { "meetingId": ids["ReviewMeeting"], "title": "Fix pricing page" } });
    ids.insert("ActionItem", id_at(app, &sm, m, input, "/data/addActionItem/actionItem/id").await);
    // Agreeing a scoring model queues the rescoring job.
    let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
    for approver in [&sm, &mm] {
        let input = json!({ "input": { "kind": "SCORING_MODEL", "id": ids["ScoringModel"], "version": 1 } });
        let body = app.gql(Some(&approver.token), approve, input).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    for (ty, query, pointer) in [
        ("RescoreJob", "{ rescoreJob { id } }", "/data/rescoreJob/id"),
        ("JourneyStage", "{ journeyStages { id } }", "/data/journeyStages/0/id"),
        ("AuditEntry", "{ auditLog(first: 1) { nodes { id } } }", "/data/auditLog/nodes/0/id"),
    ] {
        ids.insert(ty, id_at(app, &admin, query, json!({}), pointer).await);
    }
    World { org: org.clone(), marketing_manager: mm, sales_manager: sm, rep, ids }
}

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";
const NODES: &str = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }";

#[tokio::test]
async fn every_node_type_is_refetched_by_its_global_id() {
    let app = spawn_app().await;
    let w = world(&app, "Acme").await;
    let types = node_types();
    assert!(types.len() >= 20, "schema.graphql names the node types: {types:?}");
    let missing: Vec<_> = types.iter().filter(|t| !w.ids.contains_key(t.as_str())).collect();
    assert!(missing.is_empty(), "node types without a record in this test: {missing:?}");

    for ty in &types {
        let id = w.id(ty);
        let query = format!("query($id: ID!) {{ node(id: $id) {{ __typename ... on {ty} {{ id }} }} }}");
        let body = app.gql(Some(&w.org.admin.token), &query, json!({ "id": id })).await;
        assert_eq!(body, json!({ "data": { "node": { "__typename": ty, "id": id } } }), "{ty}");
    }

    // nodes keeps the order of ids, with nulls in place of malformed and unknown ids.
    let unknown = Uuid::now_v7().to_string();
    let mut ids: Vec<Value> = types.iter().map(|t| json!(w.id(t))).collect();
    ids.insert(1, json!("not-an-id"));
    ids.insert(3, json!(unknown));
    ids.push(json!(w.id("Lead")));
    let body = app.gql(Some(&w.org.admin.token), NODES, json!({ "ids": ids })).await;
    let mut expected: Vec<Value> = types.iter().map(|t| json!({ "__typename": t, "id": w.id(t) })).collect();
    expected.insert(1, Value::Null);
    expected.insert(3, Value::Null);
    expected.push(json!({ "__typename": "Lead", "id": w.id("Lead") }));
    assert_eq!(body, json!({ "data": { "nodes": expected } }));
}

#[tokio::test]
async fn nodes_costs_one_lookup_and_a_statement_per_type_whatever_the_number_of_ids() {
    let app = spawn_app().await;
    let w = world(&app, "Acme").await;
    let token = Some(w.org.admin.token.as_str());
    let create = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let mut leads = Vec::new();
    for i in 0..30 {
        let input = json!({ "input": { "email": format!("lead{i}@payly.test") } });
        leads.push(id_at(&app, &w.marketing_manager, create, input, "/data/createLead/lead/id").await);
    }
    let (_, one) = app.gql_counting(token, NODES, json!({ "ids": &leads[..1] })).await;
    let (body, thirty) = app.gql_counting(token, NODES, json!({ "ids": leads })).await;
    assert_eq!(body["data"]["nodes"].as_array().map(Vec::len), Some(30), "{body}");
    assert_eq!(one, thirty, "leads load in one batch: 1 lead cost {one} statements, 30 cost {thirty}");

    // Unknown ids cost the lookup alone: one statement, however many.
    let unknown: Vec<String> = (0..100).map(|_| Uuid::now_v7().to_string()).collect();
    let (body, lookup) = app.gql_counting(token, NODES, json!({ "ids": unknown })).await;
    assert_eq!(body["data"]["nodes"].as_array().map(|n| n.iter().all(Value::is_null)), Some(true), "{body}");
    assert_eq!(lookup, 1, "one statement finds which table holds each id");

    // Every type at once: the lookup, a batch per type (an agreed document kind takes
    // three), feedback thresholds: bounded by the types, not by the ids.
    let types = node_types();
    let every: Vec<&str> = types.iter().map(|t| w.id(t)).collect();
    let (body, all) = app.gql_counting(token, NODES, json!({ "ids": every })).await;
    assert!(body["data"]["nodes"].as_array().unwrap().iter().all(|n| !n.is_null()), "{body}");
    let bound = 1 + 3 * types.len() + 1;
    assert!(all <= bound, "{all} statements for every node type; at most {bound}");
}

#[tokio::test]
async fn another_organizations_ids_are_null_like_unknown_ones() {
    let app = spawn_app().await;
    let ours = world(&app, "Acme").await;
    let theirs = world(&app, "Globex").await;
    let types = node_types();
    for ty in &types {
        let body = app.gql(Some(&ours.org.admin.token), NODE, json!({ "id": theirs.id(ty) })).await;
        assert_eq!(body, json!({ "data": { "node": null } }), "{ty} of another organization");
    }
    let ids: Vec<&str> = types.iter().map(|t| theirs.id(t)).collect();
    let body = app.gql(Some(&ours.org.admin.token), NODES, json!({ "ids": ids })).await;
    assert_eq!(body, json!({ "data": { "nodes": vec![Value::Null; types.len()] } }));
    // The same ids are theirs to read.
    let body = app.gql(Some(&theirs.org.admin.token), NODES, json!({ "ids": ids })).await;
    assert!(body["data"]["nodes"].as_array().unwrap().iter().all(|n| !n.is_null()), "{body}");
}

/// How each type is read through its own queries, with `$id` its record (or, for a
/// type read with its parent, the parent's).
fn own_query(ty: &str) -> (&'static str, &'static str) {
    match ty {
        "Account" => ("query($id: ID!) { account(id: $id) { id } }", "Account"),
        "ActionItem" => ("query($id: ID!) { reviewMeeting(id: $id) { actionItems { id } } }", "ReviewMeeting"),
        "Activity" => ("{ activities(first: 1) { nodes { id } } }", "Activity"),
        "ApiKey" => ("{ apiKeys { id } }", "ApiKey"),
        "AuditEntry" => ("{ auditLog(first: 1) { nodes { id } } }", "AuditEntry"),
        "Campaign" => ("query($id: ID!) { campaign(id: $id) { id } }", "Campaign"),
        "ContentAsset" => ("query($id: ID!) { contentAsset(id: $id) { id } }", "ContentAsset"),
        "ContentUsage" => ("query($id: ID!) { contentAsset(id: $id) { usage { uses } } }", "ContentAsset"),
        "Definition" => ("{ definitions { id } }", "Definition"),
        "EngagementEvent" => ("query($id: ID!) { lead(id: $id) { engagementEvents { nodes { id } } } }", "Lead"),
        "Feedback" => ("query($id: ID!) { feedbackItem(id: $id) { id } }", "Feedback"),
        "FeedbackEndorsement" => ("query($id: ID!) { feedbackItem(id: $id) { endorsements { id } } }", "Feedback"),
        "Goal" => ("{ goals { id } }", "Goal"),
        "Handover" => ("query($id: ID!) { handover(id: $id) { id } }", "Handover"),
        "IdealCustomerProfile" => ("{ idealCustomerProfiles { id } }", "IdealCustomerProfile"),
        "JourneyStage" => ("{ journeyStages { id } }", "JourneyStage"),
        "Lead" => ("query($id: ID!) { lead(id: $id) { id } }", "Lead"),
        "Message" => ("query($id: ID!) { message(id: $id) { id } }", "Message"),
        "Opportunity" => ("query($id: ID!) { opportunity(id: $id) { id } }", "Opportunity"),
        "Organization" => ("{ organization { id } }", "Organization"),
        "Persona" => ("query($id: ID!) { persona(id: $id) { id } }", "Persona"),
        "RescoreJob" => ("{ rescoreJob { id } }", "RescoreJob"),
        "ReviewMeeting" => ("query($id: ID!) { reviewMeeting(id: $id) { id } }", "ReviewMeeting"),
        "ScoringModel" => ("{ scoringModels { id } }", "ScoringModel"),
        "Sla" => ("{ slas { id } }", "Sla"),
        "Taxonomy" => ("{ taxonomies { id } }", "Taxonomy"),
        "User" => ("query($id: ID!) { user(id: $id) { id } }", "User"),
        other => panic!("no own query for {other}: add one here"),
    }
}

#[tokio::test]
async fn node_applies_the_read_rule_of_each_types_own_queries() {
    let app = spawn_app().await;
    let w = world(&app, "Acme").await;
    let viewer = app.create_user(&w.org, Team::Marketing, Role::Viewer).await;
    let mut callers = vec![("VIEWER".to_owned(), viewer.token.clone()), ("MEMBER".to_owned(), w.rep.token.clone())];
    for scope in ["LEADS_READ", "LEADS_WRITE", "EVENTS_WRITE", "KPIS_READ", "CONTENT_READ", "ORG_READ", "AUDIT_READ"] {
        let m = format!("mutation {{ createApiKey(input: {{ name: \"{scope}\", scopes: [{scope}] }}) {{ secret }} }}");
        let body = app.gql(Some(&w.org.admin.token), &m, json!({})).await;
        let secret = body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}"));
        callers.push((format!("key with {scope}"), secret.to_owned()));
    }
    let types = node_types();
    let ids: Vec<&str> = types.iter().map(|t| w.id(t)).collect();
    for (caller, token) in &callers {
        let body = app.gql(Some(token), NODES, json!({ "ids": ids })).await;
        assert!(body["errors"].is_null(), "{caller}: {body}");
        for (ty, node) in types.iter().zip(body["data"]["nodes"].as_array().unwrap()) {
            let (query, parent) = own_query(ty);
            let own = app.gql(Some(token), query, json!({ "id": w.id(parent) })).await;
            let allowed = own["errors"].is_null();
            if !allowed {
                assert_error(&own, "FORBIDDEN");
            }
            assert_eq!(!node.is_null(), allowed, "{caller} reading a {ty}: node {node}, own query {own}");
        }
    }
    // What the rules say, spelled out: a VIEWER reads leads but not keys or the audit log;
    // a `leads:read` key reads leads and nothing of the administration.
    let node = |token: String, ty: &'static str| {
        let app = &app;
        let id = w.id(ty).to_owned();
        async move { app.gql(Some(&token), NODE, json!({ "id": id })).await["data"]["node"].clone() }
    };
    let leads_key = callers.iter().find(|(c, _)| c == "key with LEADS_READ").unwrap().1.clone();
    assert!(!node(viewer.token.clone(), "Lead").await.is_null());
    assert!(node(viewer.token.clone(), "ApiKey").await.is_null());
    assert!(node(viewer.token.clone(), "AuditEntry").await.is_null());
    assert!(!node(leads_key.clone(), "Lead").await.is_null());
    assert!(node(leads_key.clone(), "ApiKey").await.is_null());
    assert!(node(leads_key, "AuditEntry").await.is_null());
    assert!(!node(w.sales_manager.token.clone(), "AuditEntry").await.is_null(), "MANAGERs read the audit log");
}

#[tokio::test]
async fn malformed_ids_are_null_and_more_than_a_hundred_are_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.admin.token.as_str());
    for id in ["not-an-id", "", "00000000-0000-0000-0000-000000000000", &Uuid::now_v7().to_string()] {
        let body = app.gql(token, NODE, json!({ "id": id })).await;
        assert_eq!(body, json!({ "data": { "node": null } }), "{id:?}");
    }
    let body = app.gql(token, NODE, json!({ "id": org.id })).await;
    assert_eq!(body["data"]["node"], json!({ "__typename": "Organization", "id": org.id }));

    let hundred: Vec<String> = (0..100).map(|_| Uuid::now_v7().to_string()).collect();
    let body = app.gql(token, NODES, json!({ "ids": hundred })).await;
    assert_eq!(body["data"]["nodes"].as_array().map(Vec::len), Some(100), "{body}");
    let too_many: Vec<String> = (0..101).map(|_| Uuid::now_v7().to_string()).collect();
    let body = app.gql(token, NODES, json!({ "ids": too_many })).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "ids", "{body}");
    assert!(body["data"].is_null(), "{body}");
}
