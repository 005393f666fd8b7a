//! CSV exports: `GET /export/leads.csv`, authenticated like `/graphql`, one
//! organization's leads only, streamed in keyset pages.

use serde_json::{Value, json};

use crate::common::*;

const HEADER: &str = "id,email,first_name,last_name,title,source,campaign,lifecycle_stage,stage_entered_at,score,temperature,account_id,account_name,owner_id,created_at";

async fn export(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/export/leads.csv", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the server answers")
}

async fn api_key(app: &TestApp, org: &TestOrg, scope: &str) -> String {
    let mutation =
        format!("mutation {{ createApiKey(input: {{ name: \"BI {scope}\", scopes: [{scope}] }}) {{ secret }} }}");
    let body = app.gql(Some(&org.admin.token), &mutation, json!({})).await;
    body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

#[tokio::test]
async fn the_leads_export_holds_the_callers_organizations_leads_only() {
    let app = spawn_app().await;
    let a = app.create_org("Acme").await;
    let b = app.create_org("Globex").await;
    let t = &a.admin.token;
    let body = app
        .gql(
            Some(t),
            "mutation { createAccount(input: { name: \"Payly, Inc.\", domain: \"payly.io\" }) { account { id } } }",
            json!({}),
        )
        .await;
    let account = body["data"]["createAccount"]["account"]["id"].as_str().unwrap().to_owned();
    let ana = app
        .create_lead(
            t,
            json!({ "email": "ana@payly.io", "firstName": "Ana", "lastName": "Smith, Jr.", "title": "CFO \"numbers\"",
                "campaign": "Spring Webinar", "accountId": account, "lifecycleStage": "MQL" }),
        )
        .await;
    app.create_lead(t, json!({ "email": "bo@payly.io" })).await;
    let gone = app.create_lead(t, json!({ "email": "gone@payly.io" })).await;
    let body = app
        .gql(Some(t), "mutation($id: ID!) { archiveLead(input: { id: $id }) { lead { id } } }", json!({ "id": gone }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    app.create_lead(&b.admin.token, json!({ "email": "cy@globex.io", "lastName": "Globex" })).await;

    let response = export(&app, Some(t)).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], HEADER);
    assert_eq!(lines.len(), 3, "a header and A's two non-archived leads: {csv}");
    assert!(!csv.contains("globex"), "never another organization's leads: {csv}");
    assert!(!csv.contains("gone@payly.io"), "archived leads stay out: {csv}");
    let row = lines.iter().find(|l| l.starts_with(&ana)).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.starts_with(&format!("{ana},ana@payly.io,Ana,\"Smith, Jr.\",\"CFO \"\"numbers\"\"\",,Spring Webinar,MQL,")),
        "commas and quotes are quoted: {row}"
    );
    assert!(row.contains(&format!(",{account},\"Payly, Inc.\",")), "{row}");
    assert!(row.ends_with('Z'), "times are UTC: {row}");

    // The other organization's export is its own.
    let theirs = export(&app, Some(&b.admin.token)).await.text().await.unwrap();
    assert_eq!(theirs.lines().count(), 2);
    assert!(theirs.contains("cy@globex.io") && !theirs.contains("payly"), "{theirs}");
}

#[tokio::test]
async fn text_that_a_spreadsheet_would_run_as_a_formula_is_exported_as_text() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = &org.admin.token;
    let id = app
        .create_lead(
            t,
            json!({ "email": "eve@payly.io", "firstName": "=HYPERLINK(\"http://evil.test\")", "lastName": "@SUM(A1)",
                "title": "+1 caller", "source": "-2+3", "campaign": "Spring" }),
        )
        .await;

    let csv = export(&app, Some(t)).await.text().await.unwrap();
    let row = csv.lines().find(|l| l.starts_with(&id)).unwrap_or_else(|| panic!("{csv}"));
    assert!(
        row.starts_with(&format!(
            "{id},eve@payly.io,\"'=HYPERLINK(\"\"http://evil.test\"\")\",'@SUM(A1),'+1 caller,'-2+3,Spring,NEW,"
        )),
        "every formula-like cell starts with an apostrophe: {row}"
    );
    // The stored values are untouched: only the export guards them.
    let body = app.gql(Some(t), "query($id: ID!) { lead(id: $id) { firstName } }", json!({ "id": id })).await;
    assert_eq!(body["data"]["lead"]["firstName"], "=HYPERLINK(\"http://evil.test\")");
}

#[tokio::test]
async fn the_leads_export_needs_a_credential_with_a_reading_scope() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.create_lead(&org.admin.token, json!({ "email": "ana@payly.io" })).await;

    let response = export(&app, None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"), "{body}");
    assert_eq!(export(&app, Some("not-a-token")).await.status(), 401);

    let response = export(&app, Some(&api_key(&app, &org, "CONTENT_READ").await)).await;
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("FORBIDDEN"), "{body}");

    // The export carries e-mail addresses: a KPI key may not have them (security.rs).
    let response = export(&app, Some(&api_key(&app, &org, "KPIS_READ").await)).await;
    assert_eq!(response.status(), 403);
    let response = export(&app, Some(&api_key(&app, &org, "LEADS_READ").await)).await;
    assert_eq!(response.status(), 200);
    assert!(!response.text().await.unwrap().contains("ana@payly.io"), "personal columns need PII_READ");
    let response = export(&app, Some(&api_key(&app, &org, "LEADS_READ, PII_READ").await)).await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("ana@payly.io"));
}

#[tokio::test]
async fn an_export_larger_than_a_page_has_every_lead_exactly_once() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let progress = indicatif::ProgressBar::hidden();
    api::seed::synthetic::generate(&app.db, org.id, 1_205, &progress).await.unwrap();

    let csv = export(&app, Some(&org.admin.token)).await.text().await.unwrap();

    let mut ids: Vec<&str> = csv.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    assert_eq!(ids.len(), 1_205);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1_205, "no lead twice across page boundaries");
}
