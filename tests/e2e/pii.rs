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
    // Every change is also a webhook delivery, whose body holds a snapshot of the lead.
    let hook = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }";
    let input =
        json!({ "url": "https://hooks.example.com/accord", "eventTypes": ["lead.*", "handover.*", "feedback.*"] });
    let body = app.gql(Some(&org.admin.token), hook, json!({ "input": input })).await;
    assert!(body.get("errors").is_none(), "{body}");
    let gql = |token: String, query: &'static str, input: Value| {
        let app = app.handle();
        async move { app.gql(Some(&token), query, json!({ "input": input })).await }
    };
    let lead = gql(
        marketer.token.clone(),
        "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
        json!({ "email": "zofia.k@payly.io", "firstName": "Zofia", "lastName": "Kowalczyk", "phone": "+48 601 234 567",
                "lifecycleStage": "MQL", "marketingOwnerId": marketer.id }),
    )
    .await;
    let lead = id_at(&lead, "/data/createLead/lead/id");
    let activity = gql(
        rep.token.clone(),
        "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
        json!({ "kind": "CALL", "customerFacing": true, "durationMinutes": 20, "leadId": lead,
                "notes": "Zofia's budget is 40k" }),
    )
    .await;
    let event = gql(
        marketer.token.clone(),
        "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { events { id } } }",
        json!({ "events": [{ "leadId": lead, "kind": "WEB_VISIT", "occurredAt": "2026-11-01T10:00:00Z",
                              "properties": { "page": "/pricing", "name": "Zofia Kowalczyk" } }] }),
    )
    .await;
    let handover = gql(
        marketer.token.clone(),
        "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }",
        json!({ "leadId": lead, "toUserId": rep.id, "note": "Zofia asked for pricing" }),
    )
    .await;
    let handover = id_at(&handover, "/data/handOverLead/handover/id");
    let rejected = gql(
        rep.token.clone(),
        "mutation($input: RejectHandoverInput!) { rejectHandover(input: $input) { handover { id } } }",
        json!({ "handoverId": handover, "reason": "OTHER", "note": "Zofia wants a call in May" }),
    )
    .await;
    assert!(rejected.get("errors").is_none(), "{rejected}");
    let feedback = gql(
        rep.token.clone(),
        "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id } } }",
        json!({ "subjectType": "LEAD", "subjectId": lead, "tag": "data", "sentiment": "NEGATIVE",
                "body": "Zofia's phone number is wrong" }),
    )
    .await;
    let feedback = id_at(&feedback, "/data/submitFeedback/feedback/id");
    let endorsement = gql(
        marketer.token.clone(),
        "mutation($input: EndorseFeedbackInput!) { endorseFeedback(input: $input) { endorsement { id } } }",
        json!({ "feedbackId": feedback, "comment": "Zofia told me so too" }),
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
                PersonalField::LeadEmail => json!("zofia.k@payly.io"),
                PersonalField::LeadFirstName => json!("Zofia"),
                PersonalField::LeadLastName => json!("Kowalczyk"),
                PersonalField::LeadPhone => json!("+48 601 234 567"),
                PersonalField::ActivityNotes => json!("Zofia's budget is 40k"),
                PersonalField::EngagementProperties => json!({ "page": "/pricing", "name": "Zofia Kowalczyk" }),
                PersonalField::FeedbackBody => json!("Zofia's phone number is wrong"),
                PersonalField::EndorsementComment => json!("Zofia told me so too"),
                PersonalField::HandoverNote => json!("Zofia asked for pricing"),
                PersonalField::HandoverResponseNote => json!("Zofia wants a call in May"),
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
    for term in ["zofia.k@pay", "kowalczyk", "zofia"] {
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
    assert_eq!(changes["email"], json!({ "from": null, "to": "zofia.k@payly.io" }), "{body}");
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
    assert_eq!(row(&export(&w.app, &member.token).await), "zofia.k@payly.io,Zofia,Kowalczyk,");
    assert_eq!(row(&export(&w.app, &pii_key).await), "zofia.k@payly.io,Zofia,Kowalczyk,");
    assert_eq!(row(&export(&w.app, &viewer.token).await), ",,,");
    assert_eq!(row(&export(&w.app, &plain_key).await), ",,,");
    // A changed rule applies to the columns too.
    let input = json!({ "input": { "field": "LEAD_EMAIL", "roles": ["VIEWER"], "scopes": [] } });
    let body = w.app.gql(Some(&w.org.admin.token), SET, input).await;
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(row(&export(&w.app, &viewer.token).await), "zofia.k@payly.io,,,");
    assert_eq!(row(&export(&w.app, &member.token).await), ",Zofia,Kowalczyk,");
}

const KPIS: &str =
    "query($i: KpiInput!) { kpis(input: $i) { metric points { periodStart value numerator denominator } } }";

async fn kpis(app: &TestApp, token: &str) -> Value {
    let metrics = ["LEADS_CREATED", "MQLS", "SALS", "HANDOVER_ACCEPTANCE_RATE", "MQL_TO_SAL_RATE"];
    let from = (chrono::Utc::now() - chrono::Duration::days(40)).date_naive();
    let to = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let input = json!({ "metrics": metrics, "from": from, "to": to, "granularity": "DAY" });
    let body = app.gql(Some(token), KPIS, json!({ "i": input })).await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["kpis"].clone()
}

/// Every text and JSON value of every table, as text, that holds one of `needles`.
async fn stored_copies(app: &TestApp, needles: &[&str]) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.db.get_database_backend();
    let columns_sql = if on_postgres() {
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
    } else {
        "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
         AND (upper(p.type) LIKE '%CHAR%' OR upper(p.type) LIKE '%TEXT%' OR upper(p.type) LIKE '%JSON%')"
    };
    let columns = app.db.query_all_raw(Statement::from_string(backend, columns_sql)).await.expect("columns");
    let mut found = Vec::new();
    for row in columns {
        let (table, column): (String, String) = (row.try_get("", "t").unwrap(), row.try_get("", "c").unwrap());
        for needle in needles {
            let sql = format!(
                "SELECT count(*) AS n FROM \"{table}\" WHERE lower(CAST(\"{column}\" AS TEXT)) LIKE '%{}%'",
                needle.to_lowercase()
            );
            let row =
                app.db.query_one_raw(Statement::from_string(backend, sql)).await.expect("a count").expect("a row");
            let n: i64 = row.try_get("", "n").unwrap();
            if n > 0 {
                found.push(format!("{table}.{column} holds {needle} ({n} rows)"));
            }
        }
    }
    found
}

#[tokio::test]
async fn erasing_a_lead_removes_the_person_everywhere_and_keeps_every_kpi() {
    let w = world().await;
    // More records than one `IN (…)` list of the erasure holds.
    let record = "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { duplicates } }";
    for batch in 0..3 {
        let events: Vec<Value> = (0..400)
            .map(|i| {
                json!({ "leadId": w.ids["Lead"], "kind": "WEB_VISIT", "externalId": format!("v-{batch}-{i}"),
                             "occurredAt": "2026-11-02T10:00:00Z", "properties": { "visitor": "Zofia" } })
            })
            .collect();
        let body = w.app.gql(Some(&w.org.admin.token), record, json!({ "input": { "events": events } })).await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    api::events::relay::relay_org(&w.app.db, w.org.id).await.expect("relayed");
    let needles = ["zofia.k@payly.io", "Zofia", "Kowalczyk", "+48 601 234 567"];
    let before = stored_copies(&w.app, &needles).await;
    assert!(before.iter().any(|c| c.starts_with("webhook_deliveries.body")), "{before:?}");
    assert!(before.iter().any(|c| c.starts_with("audit_log.changes")), "{before:?}");
    let kpis_before = kpis(&w.app, &w.org.admin.token).await;
    let erase = "mutation($input: EraseLeadInput!) { eraseLead(input: $input) { lead { id email firstName lastName phone lifecycleStage } } }";

    // Only ADMINs erase, only in their organization, and only with a reason; a refusal changes nothing.
    let member = w.app.create_user(&w.org, Team::Marketing, Role::Member).await;
    let other = w.app.create_org("Globex").await;
    let input = json!({ "input": { "id": w.ids["Lead"], "reason": "erasure request 2026-12-01" } });
    assert_error(&w.app.gql(Some(&member.token), erase, input.clone()).await, "FORBIDDEN");
    assert_error(&w.app.gql(Some(&other.admin.token), erase, input.clone()).await, "NOT_FOUND");
    let no_reason = json!({ "input": { "id": w.ids["Lead"], "reason": " " } });
    assert_error(&w.app.gql(Some(&w.org.admin.token), erase, no_reason).await, "BAD_USER_INPUT");
    assert_eq!(stored_copies(&w.app, &needles).await, before);

    let body = w.app.gql(Some(&w.org.admin.token), erase, input).await;
    let lead = &body["data"]["eraseLead"]["lead"];
    let simple = w.ids["Lead"].replace('-', "");
    assert_eq!(lead["email"], json!(format!("erased+{simple}@erased.invalid")), "{body}");
    assert_eq!((&lead["firstName"], &lead["lastName"], &lead["phone"]), (&Value::Null, &Value::Null, &Value::Null));
    assert_eq!(lead["lifecycleStage"], "RECYCLED", "{body}");
    assert_eq!(stored_copies(&w.app, &needles).await, Vec::<String>::new());
    assert_eq!(kpis(&w.app, &w.org.admin.token).await, kpis_before);

    // The audit log says who erased and why, and nothing about the person.
    let audit = w
        .app
        .gql(Some(&w.org.admin.token), "{ auditLog(first: 1) { nodes { action entityId changes } } }", json!({}))
        .await;
    let entry = &audit["data"]["auditLog"]["nodes"][0];
    assert_eq!(entry["action"], "lead.erase", "{audit}");
    assert_eq!(entry["changes"], json!({ "reason": { "from": null, "to": "erasure request 2026-12-01" } }));
}

#[tokio::test]
async fn accord_erase_erases_the_lead_of_an_e_mail_like_the_mutation() {
    let w = world().await;
    let erase = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_accord"))
            .env("DATABASE_URL", w.app.database_url())
            .env_remove("ACCORD_JWT_SECRET")
            .args(["erase", "--org", &w.org.slug, "--email", email, "--reason", "erasure request by mail"])
            .output()
            .unwrap()
    };
    let unknown = erase("nobody@payly.io");
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("lead not found"), "{unknown:?}");
    let output = erase("ZOFIA.K@payly.io");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let body = w
        .app
        .gql(
            Some(&w.org.admin.token),
            "query($id: ID!) { lead(id: $id) { email phone } }",
            json!({ "id": w.ids["Lead"] }),
        )
        .await;
    let simple = w.ids["Lead"].replace('-', "");
    assert_eq!(
        body["data"]["lead"],
        json!({ "email": format!("erased+{simple}@erased.invalid"), "phone": null }),
        "{body}"
    );
    let needles = ["zofia.k@payly.io", "Zofia", "Kowalczyk", "+48 601 234 567"];
    assert_eq!(stored_copies(&w.app, &needles).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_admin_exports_everything_stored_about_a_person_as_one_document() {
    let w = world().await;
    api::events::relay::relay_org(&w.app.db, w.org.id).await.expect("relayed");
    let export = "query($e: String!) { exportPerson(email: $e) }";
    let member = w.app.create_user(&w.org, Team::Sales, Role::Manager).await;
    let other = w.app.create_org("Globex").await;
    let email = json!({ "e": "Zofia.K@payly.io" });
    assert_error(&w.app.gql(Some(&member.token), export, email.clone()).await, "FORBIDDEN");
    assert_error(&w.app.gql(Some(&other.admin.token), export, email.clone()).await, "NOT_FOUND");
    assert_error(&w.app.gql(Some(&w.org.admin.token), export, json!({ "e": "nobody@payly.io" })).await, "NOT_FOUND");

    let body = w.app.gql(Some(&w.org.admin.token), export, email.clone()).await;
    let doc = &body["data"]["exportPerson"];
    assert_eq!(doc["email"], "zofia.k@payly.io", "{body}");
    assert_eq!(doc["leadId"], json!(w.ids["Lead"]));
    assert_eq!(doc["lead"][0]["phone"], "+48 601 234 567", "{body}");
    assert_eq!(doc["engagementEvents"][0]["properties"], w.values[&PersonalField::EngagementProperties]);
    assert_eq!(doc["activities"][0]["notes"], w.values[&PersonalField::ActivityNotes]);
    assert_eq!(doc["handovers"][0]["note"], w.values[&PersonalField::HandoverNote]);
    assert_eq!(doc["feedback"][0]["body"], w.values[&PersonalField::FeedbackBody]);
    assert_eq!(doc["endorsements"][0]["comment"], w.values[&PersonalField::EndorsementComment]);
    assert!(doc["stageHistory"].as_array().is_some_and(|h| h.len() >= 2), "{body}");
    for kind in ["auditLog", "outboxEvents", "webhookDeliveries"] {
        assert!(doc[kind].as_array().is_some_and(|rows| !rows.is_empty()), "{kind}: {body}");
    }
    // Nothing of another person: every row belongs to the lead or its records.
    let text = doc.to_string();
    assert!(!text.contains(&other.admin.email), "{text}");

    // Once erased, nothing answers to the e-mail any more.
    let erase = "mutation($input: EraseLeadInput!) { eraseLead(input: $input) { lead { id } } }";
    let input = json!({ "input": { "id": w.ids["Lead"], "reason": "erasure request" } });
    assert!(w.app.gql(Some(&w.org.admin.token), erase, input).await.get("errors").is_none());
    assert_error(&w.app.gql(Some(&w.org.admin.token), export, email).await, "NOT_FOUND");
}

#[tokio::test]
async fn personal_data_past_an_organizations_retention_is_emptied_and_the_facts_stay() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let w = world().await;
    let admin = &w.org.admin.token;
    let other = w.app.create_org("Globex").await;
    let settings = "mutation($s: OrganizationSettingsInput!) { updateOrganization(input: { settings: $s }) { organization { settings { engagementPropertiesRetentionDays auditValuesRetentionDays } } } }";
    let zero = w.app.gql(Some(admin), settings, json!({ "s": { "auditValuesRetentionDays": 0 } })).await;
    assert_error(&zero, "BAD_USER_INPUT");
    let body = w
        .app
        .gql(
            Some(admin),
            settings,
            json!({ "s": { "engagementPropertiesRetentionDays": 30, "auditValuesRetentionDays": 30 } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateOrganization"]["organization"]["settings"],
        json!({ "engagementPropertiesRetentionDays": 30, "auditValuesRetentionDays": 30 }),
        "{body}"
    );
    let record = "mutation($input: RecordEngagementInput!) { recordEngagement(input: $input) { events { id } } }";
    let at = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();
    let events = json!({ "events": [
        { "leadId": w.ids["Lead"], "kind": "WEB_VISIT", "occurredAt": at(40), "properties": { "page": "/old" } },
        { "leadId": w.ids["Lead"], "kind": "WEB_VISIT", "occurredAt": at(1), "properties": { "page": "/new" } } ] });
    let body = w.app.gql(Some(admin), record, json!({ "input": events })).await;
    let (old, new) =
        (id_at(&body, "/data/recordEngagement/events/0/id"), id_at(&body, "/data/recordEngagement/events/1/id"));
    // The lead's creation was audited 40 days ago, in both organizations.
    let lead_create = |org: uuid::Uuid| {
        entity::audit_log::Entity::update_many()
            .col_expr(entity::audit_log::Column::At, Expr::value(chrono::Utc::now() - chrono::Duration::days(40)))
            .filter(entity::audit_log::Column::OrgId.eq(org))
            .filter(entity::audit_log::Column::Action.eq("lead.create"))
    };
    let theirs = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let body = w
        .app
        .gql(Some(&other.admin.token), theirs, json!({ "input": { "email": "cy@globex.io", "phone": "+1 555" } }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    lead_create(w.org.id).exec(&w.app.db).await.unwrap();
    lead_create(other.id).exec(&w.app.db).await.unwrap();

    let emptied = api::privacy::prune_expired(&w.app.db, chrono::Utc::now()).await.expect("pruned");
    assert_eq!(emptied, 3, "the world's event of 2026-11-01 or older, the old event, the lead's creation");
    assert_eq!(api::privacy::prune_expired(&w.app.db, chrono::Utc::now()).await.expect("pruned"), 0);

    let event = "query($id: ID!) { node(id: $id) { ... on EngagementEvent { kind properties } } }";
    let body = w.app.gql(Some(admin), event, json!({ "id": old })).await;
    assert_eq!(body["data"]["node"], json!({ "kind": "WEB_VISIT", "properties": {} }), "{body}");
    let body = w.app.gql(Some(admin), event, json!({ "id": new })).await;
    assert_eq!(body["data"]["node"]["properties"], json!({ "page": "/new" }), "{body}");
    let audit = "{ auditLog(filter: { action: \"lead.create\" }) { nodes { action changes } } }";
    let body = w.app.gql(Some(admin), audit, json!({})).await;
    assert_eq!(body["data"]["auditLog"]["nodes"], json!([{ "action": "lead.create", "changes": {} }]), "{body}");
    let body = w.app.gql(Some(&other.admin.token), audit, json!({})).await;
    assert_eq!(body["data"]["auditLog"]["nodes"][0]["changes"]["email"]["to"], "cy@globex.io", "{body}");
    let recent = "{ auditLog(filter: { action: \"organization.update\" }) { nodes { changes } } }";
    let body = w.app.gql(Some(admin), recent, json!({})).await;
    assert_eq!(
        body["data"]["auditLog"]["nodes"][0]["changes"]["settings.auditValuesRetentionDays"]["to"], 30,
        "{body}"
    );
}
