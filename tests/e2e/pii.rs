//! Personal data: every field of the rule table (`api::auth::fields`), read by every
//! role and by API keys with and without `PII_READ`; an organization's changes to a
//! rule; CSV exports; other organizations untouched.

use std::collections::HashMap;

use api::auth::fields::PersonalField;
use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

/// An organization holding one record of every type with a personal field.
struct World {
    app: TestApp,
    org: TestOrg,
    /// The id of the record of each GraphQL type.
    ids: HashMap<&'static str, String>,
    /// What each personal field holds.
    values: HashMap<PersonalField, Value>,
}

fn id_at(body: &Value, pointer: &str) -> String {
    body.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{pointer} in {body}")).to_owned()
}

async fn world() -> World {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let gql = |token: String, query: &'static str, input: Value| {
        let app = app.handle();
        async move { app.gql(Some(&token), query, json!({ "input": input })).await }
    };
    let lead = gql(
        marketer.token.clone(),
        "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
        json!({ "email": "ana@payly.io", "firstName": "Ana", "lastName": "Lopez", "phone": "+34 600 000 000",
                "lifecycleStage": "MQL", "marketingOwnerId": marketer.id }),
    )
    .await;
    let lead = id_at(&lead, "/data/createLead/lead/id");
    let activity = gql(
        rep.token.clone(),
        "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
        json!({ "kind": "CALL", "customerFacing": true, "durationMinutes": 20, "leadId": lead,
                "notes": "Ana's budget is 40k" }),
    )
    .await;
    let event = gql(
        marketer.token.clone(),
        "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { events { id } } }",
        json!({ "events": [{ "leadId": lead, "kind": "WEB_VISIT", "occurredAt": "2026-11-01T10:00:00Z",
                              "properties": { "page": "/pricing", "name": "Ana Lopez" } }] }),
    )
    .await;
    let handover = gql(
        marketer.token.clone(),
        "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }",
        json!({ "leadId": lead, "toUserId": rep.id, "note": "Ana asked for pricing" }),
    )
    .await;
    let handover = id_at(&handover, "/data/handOverLead/handover/id");
    let rejected = gql(
        rep.token.clone(),
        "mutation($input: RejectHandoverInput!) { rejectHandover(input: $input) { handover { id } } }",
        json!({ "handoverId": handover, "reason": "OTHER", "note": "Ana wants a call in May" }),
    )
    .await;
    assert!(rejected.get("errors").is_none(), "{rejected}");
    let feedback = gql(
        rep.token.clone(),
        "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id } } }",
        json!({ "subjectType": "LEAD", "subjectId": lead, "tag": "data", "sentiment": "NEGATIVE",
                "body": "Ana's phone number is wrong" }),
    )
    .await;
    let feedback = id_at(&feedback, "/data/submitFeedback/feedback/id");
    let endorsement = gql(
        marketer.token.clone(),
        "mutation($input: EndorseFeedbackInput!) { endorseFeedback(input: $input) { endorsement { id } } }",
        json!({ "feedbackId": feedback, "comment": "Ana told me so too" }),
    )
    .await;
    let ids = HashMap::from([
        ("Lead", lead),
        ("Activity", id_at(&activity, "/data/logActivity/activity/id")),
        ("EngagementEvent", id_at(&event, "/data/recordEngagement/events/0/id")),
        ("Handover", handover),
        ("Feedback", feedback),
        ("FeedbackEndorsement", id_at(&endorsement, "/data/endorseFeedback/endorsement/id")),
    ]);
    let values = PersonalField::ALL
        .into_iter()
        .map(|field| {
            let value = match field {
                PersonalField::LeadEmail => json!("ana@payly.io"),
                PersonalField::LeadFirstName => json!("Ana"),
                PersonalField::LeadLastName => json!("Lopez"),
                PersonalField::LeadPhone => json!("+34 600 000 000"),
                PersonalField::ActivityNotes => json!("Ana's budget is 40k"),
                PersonalField::EngagementProperties => json!({ "page": "/pricing", "name": "Ana Lopez" }),
                PersonalField::FeedbackBody => json!("Ana's phone number is wrong"),
                PersonalField::EndorsementComment => json!("Ana told me so too"),
                PersonalField::HandoverNote => json!("Ana asked for pricing"),
                PersonalField::HandoverResponseNote => json!("Ana wants a call in May"),
            };
            (field, value)
        })
        .collect();
    World { app, org, ids, values }
}

async fn api_key(app: &TestApp, org: &TestOrg, scopes: &str) -> String {
    let mutation =
        format!("mutation {{ createApiKey(input: {{ name: \"partner\", scopes: [{scopes}] }}) {{ secret }} }}");
    let body = app.gql(Some(&org.admin.token), &mutation, json!({})).await;
    id_at(&body, "/data/createApiKey/secret")
}

const READ_SCOPES: &str = "LEADS_READ, EVENTS_READ, KPIS_READ, CONTENT_READ, ORG_READ, AUDIT_READ";

/// Read `field` of its record as `token`: the field's value, or its FORBIDDEN error.
async fn read(w: &World, token: &str, field: PersonalField) -> Result<Value, String> {
    let (type_name, name) = field.path();
    let query = format!("query($id: ID!) {{ node(id: $id) {{ id ... on {type_name} {{ {name} }} }} }}");
    let id = &w.ids[type_name];
    let body = w.app.gql(Some(token), &query, json!({ "id": id })).await;
    // The record itself resolves either way: only the personal field is withheld.
    assert_eq!(body["data"]["node"]["id"], json!(id), "{field:?}: {body}");
    match body.get("errors") {
        None => Ok(body["data"]["node"][name].clone()),
        Some(errors) => {
            assert_eq!(errors.as_array().map(Vec::len), Some(1), "{body}");
            let error = &errors[0];
            assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{body}");
            assert_eq!(error["path"], json!(["node", name]), "{body}");
            assert!(error["locations"][0]["line"].is_u64(), "{body}");
            assert_eq!(body["data"]["node"][name], Value::Null, "{body}");
            Err(error["message"].as_str().unwrap_or_default().to_owned())
        }
    }
}

#[tokio::test]
async fn every_personal_field_is_shown_or_withheld_by_its_rule_for_every_role_and_key() {
    let w = world().await;
    let mut callers: Vec<(String, String, bool)> = Vec::new();
    for (role, allowed) in [(Role::Admin, true), (Role::Manager, true), (Role::Member, true), (Role::Viewer, false)] {
        let user = w.app.create_user(&w.org, Team::Sales, role).await;
        callers.push((format!("{role:?}"), user.token, allowed));
    }
    callers.push(("key without PII_READ".into(), api_key(&w.app, &w.org, READ_SCOPES).await, false));
    let with_pii = format!("{READ_SCOPES}, PII_READ");
    callers.push(("key with PII_READ".into(), api_key(&w.app, &w.org, &with_pii).await, true));
    for field in PersonalField::ALL {
        for (caller, token, allowed) in &callers {
            let read = read(&w, token, field).await;
            if *allowed {
                assert_eq!(read, Ok(w.values[&field].clone()), "{caller} reads {}", field.name());
            } else {
                let message = read.expect_err(&format!("{caller} may not read {}", field.name()));
                assert!(message.contains(&field.name()), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn a_withheld_field_is_null_in_every_row_of_a_list_and_its_siblings_resolve() {
    let w = world().await;
    let viewer = w.app.create_user(&w.org, Team::Marketing, Role::Viewer).await;
    let body =
        w.app.gql(Some(&viewer.token), "{ leads(first: 5) { totalCount nodes { id email title } } }", json!({})).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 1, "{body}");
    assert_eq!(body["data"]["leads"]["nodes"][0]["id"], json!(w.ids["Lead"]), "{body}");
    assert_eq!(body["data"]["leads"]["nodes"][0]["email"], Value::Null, "{body}");
    assert_eq!(body["errors"][0]["path"], json!(["leads", "nodes", 0, "email"]), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");
    // A search cannot find what the caller may not read: no guessing e-mails letter by letter.
    let member = w.app.create_user(&w.org, Team::Marketing, Role::Member).await;
    let search = "query($s: String!) { leads(filter: { search: $s }) { totalCount } }";
    for term in ["ana@pay", "lopez", "ana"] {
        let body = w.app.gql(Some(&viewer.token), search, json!({ "s": term })).await;
        assert_eq!(body["data"]["leads"]["totalCount"], 0, "{term}: {body}");
        let body = w.app.gql(Some(&member.token), search, json!({ "s": term })).await;
        assert_eq!(body["data"]["leads"]["totalCount"], 1, "{term}: {body}");
    }
    let key = api_key(&w.app, &w.org, "LEADS_READ").await;
    let body = w.app.gql(Some(&key), search, json!({ "s": "payly" })).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 0, "{body}");
    let message = read(&w, &key, PersonalField::LeadPhone).await.expect_err("no PII_READ");
    assert_eq!(message, "Lead.phone is personal data: the API key needs the PII_READ scope");

    // The audit log withholds the values of personal fields alike.
    let audit = "{ auditLog(filter: { entity: \"lead\", action: \"lead.create\" }) { nodes { changes } } }";
    let plain = api_key(&w.app, &w.org, "AUDIT_READ").await;
    let body = w.app.gql(Some(&plain), audit, json!({})).await;
    let changes = &body["data"]["auditLog"]["nodes"][0]["changes"];
    assert_eq!(changes["email"], json!({ "withheld": true }), "{body}");
    assert_eq!(changes["phone"], json!({ "withheld": true }), "{body}");
    assert!(changes["marketingOwnerId"]["to"].is_string(), "other fields stay: {body}");
    let pii = api_key(&w.app, &w.org, "AUDIT_READ, PII_READ").await;
    let body = w.app.gql(Some(&pii), audit, json!({})).await;
    let changes = &body["data"]["auditLog"]["nodes"][0]["changes"];
    assert_eq!(changes["email"], json!({ "from": null, "to": "ana@payly.io" }), "{body}");
}

const RULES: &str = "{ fieldReadRules { field path roles scopes changed } }";
const SET: &str =
    "mutation($input: SetFieldReadRuleInput!) { setFieldReadRule(input: $input) { path roles scopes changed } }";
const RESET: &str = "mutation($field: PersonalField!) { resetFieldReadRule(field: $field) { path changed } }";

fn rule<'a>(body: &'a Value, list: &str, path: &str) -> &'a Value {
    body["data"][list]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["path"] == path))
        .unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test]
async fn admins_change_a_fields_rule_for_their_organization_only() {
    let w = world().await;
    let other = w.app.create_org("Globex").await;
    let viewer = w.app.create_user(&w.org, Team::Sales, Role::Viewer).await;
    let member = w.app.create_user(&w.org, Team::Sales, Role::Member).await;
    let other_viewer = w.app.create_user(&other, Team::Sales, Role::Viewer).await;
    let key = api_key(&w.app, &w.org, "LEADS_READ").await;

    let body = w.app.gql(Some(&viewer.token), RULES, json!({})).await;
    let phone = rule(&body, "fieldReadRules", "Lead.phone");
    assert_eq!(
        *phone,
        json!({ "field": "LEAD_PHONE", "path": "Lead.phone", "roles": ["ADMIN", "MANAGER", "MEMBER"], "scopes": ["PII_READ"], "changed": false })
    );
    assert_eq!(body["data"]["fieldReadRules"].as_array().map(Vec::len), Some(PersonalField::ALL.len()));

    // Only ADMINs change rules; a refusal changes nothing.
    let audit = w.app.count_audit_rows(&w.org).await;
    let input = json!({ "input": { "field": "LEAD_PHONE", "roles": ["VIEWER"], "scopes": [] } });
    for token in [&member.token, &viewer.token, &key] {
        assert_error(&w.app.gql(Some(token), SET, input.clone()).await, "FORBIDDEN");
    }
    let too_many = json!({ "input": { "field": "LEAD_PHONE", "roles": ["VIEWER", "VIEWER", "VIEWER", "VIEWER", "VIEWER"], "scopes": [] } });
    let body = w.app.gql(Some(&w.org.admin.token), SET, too_many).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(w.app.count_audit_rows(&w.org).await, audit);
    assert!(read(&w, &viewer.token, PersonalField::LeadPhone).await.is_err());

    // VIEWERs and every key may read the phone now, MEMBERs may not; ADMINs always may.
    let body = w.app.gql(Some(&w.org.admin.token), SET, input).await;
    let phone = rule(&body, "setFieldReadRule", "Lead.phone");
    assert_eq!(*phone, json!({ "path": "Lead.phone", "roles": ["ADMIN", "VIEWER"], "scopes": [], "changed": true }));
    assert_eq!(w.app.count_audit_rows(&w.org).await, audit + 1);
    let phone_value = w.values[&PersonalField::LeadPhone].clone();
    assert_eq!(read(&w, &viewer.token, PersonalField::LeadPhone).await, Ok(phone_value.clone()));
    assert_eq!(read(&w, &key, PersonalField::LeadPhone).await, Ok(phone_value.clone()));
    assert!(read(&w, &member.token, PersonalField::LeadPhone).await.is_err());
    assert_eq!(read(&w, &w.org.admin.token, PersonalField::LeadPhone).await, Ok(phone_value.clone()));
    assert!(read(&w, &viewer.token, PersonalField::LeadEmail).await.is_err(), "other fields keep their rule");
    let audit_entry =
        w.app.gql(Some(&w.org.admin.token), "{ auditLog(first: 1) { nodes { action changes } } }", json!({})).await;
    assert_eq!(audit_entry["data"]["auditLog"]["nodes"][0]["action"], "fieldReadRule.set", "{audit_entry}");
    assert_eq!(
        audit_entry["data"]["auditLog"]["nodes"][0]["changes"]["Lead.phone.roles"],
        json!({ "from": ["ADMIN", "MANAGER", "MEMBER"], "to": ["ADMIN", "VIEWER"] })
    );

    // Another organization keeps the default.
    let body = w.app.gql(Some(&other.admin.token), RULES, json!({})).await;
    assert_eq!(rule(&body, "fieldReadRules", "Lead.phone")["changed"], false, "{body}");
    let mine = w.app.gql(Some(&other_viewer.token), "{ leads(first: 1) { nodes { phone } } }", json!({})).await;
    assert_eq!(mine["data"]["leads"]["nodes"], json!([]), "{mine}");
    let foreign = w
        .app
        .gql(Some(&other_viewer.token), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": w.ids["Lead"] }))
        .await;
    assert_eq!(foreign["data"]["node"], Value::Null, "{foreign}");

    // Reset: the default again.
    let body = w.app.gql(Some(&w.org.admin.token), RESET, json!({ "field": "LEAD_PHONE" })).await;
    assert_eq!(*rule(&body, "resetFieldReadRule", "Lead.phone"), json!({ "path": "Lead.phone", "changed": false }));
    assert!(read(&w, &viewer.token, PersonalField::LeadPhone).await.is_err());
    assert_eq!(read(&w, &member.token, PersonalField::LeadPhone).await, Ok(phone_value));
}

async fn export(app: &TestApp, token: &str) -> String {
    let response =
        app.client.get(format!("{}/export/leads.csv", app.address)).bearer_auth(token).send().await.expect("answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("a body")
}

#[tokio::test]
async fn csv_exports_leave_the_personal_columns_a_caller_may_not_read_empty() {
    let w = world().await;
    let viewer = w.app.create_user(&w.org, Team::Sales, Role::Viewer).await;
    let member = w.app.create_user(&w.org, Team::Sales, Role::Member).await;
    let plain_key = api_key(&w.app, &w.org, "LEADS_READ").await;
    let pii_key = api_key(&w.app, &w.org, "LEADS_READ, PII_READ").await;
    let row =
        |csv: &str| csv.lines().nth(1).map(|l| l.split(',').take(5).skip(1).collect::<Vec<_>>().join(",")).unwrap();
    assert_eq!(row(&export(&w.app, &member.token).await), "ana@payly.io,Ana,Lopez,");
    assert_eq!(row(&export(&w.app, &pii_key).await), "ana@payly.io,Ana,Lopez,");
    assert_eq!(row(&export(&w.app, &viewer.token).await), ",,,");
    assert_eq!(row(&export(&w.app, &plain_key).await), ",,,");
    // A changed rule applies to the columns too.
    let input = json!({ "input": { "field": "LEAD_EMAIL", "roles": ["VIEWER"], "scopes": [] } });
    let body = w.app.gql(Some(&w.org.admin.token), SET, input).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(row(&export(&w.app, &viewer.token).await), "ana@payly.io,,,");
    assert_eq!(row(&export(&w.app, &member.token).await), ",Ana,Lopez,");
}
