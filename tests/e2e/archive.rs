//! Archiving follows one rule for every archivable record: the first archive stamps
//! `archivedAt` with one audit entry and one `<entity>.archived` outbox event; archiving
//! again returns the record unchanged and writes nothing.

use serde_json::{Value, json};

use crate::common::*;

/// Create one record with `create` and return its id found at `path` in the answer.
async fn create(app: &TestApp, token: &str, create: &str, input: Value, path: [&str; 3]) -> String {
    let body = app.gql(Some(token), create, json!({ "input": input })).await;
    body["data"][path[0]][path[1]][path[2]].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

#[tokio::test]
async fn archiving_twice_is_a_no_op_and_the_first_archive_is_audited_and_published() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = &org.admin.token;
    let account = create(
        &app,
        t,
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }",
        json!({ "name": "Payly", "domain": "payly.io" }),
        ["createAccount", "account", "id"],
    )
    .await;
    let lead_input = json!({ "email": "ana@payly.io", "accountId": account, "lifecycleStage": "SQL" });
    let create_lead = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let seller = app.stage_token(t, "SQL").await;
    let lead = create(&app, &seller, create_lead, lead_input, ["createLead", "lead", "id"]).await;
    let opportunity = create(
        &app,
        t,
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }",
        json!({ "leadId": lead, "name": "Deal", "amountMinor": 1, "currency": "EUR", "strategy": "ACQUISITION" }),
        ["createOpportunity", "opportunity", "id"],
    )
    .await;
    let asset = create(
        &app,
        t,
        "mutation($input: CreateContentAssetInput!) { createContentAsset(input: $input) { contentAsset { id } } }",
        json!({ "title": "Deck", "kind": "DECK", "url": "https://acme.io/deck.pdf" }),
        ["createContentAsset", "contentAsset", "id"],
    )
    .await;
    let campaign = create(
        &app,
        t,
        "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }",
        json!({ "name": "Webinar", "channel": "WEBINAR", "startsOn": "2026-11-01", "endsOn": "2026-11-30",
                "budgetMinor": 1, "currency": "EUR" }),
        ["createCampaign", "campaign", "id"],
    )
    .await;

    let archivable = [
        ("archiveLead", "lead", lead),
        ("archiveAccount", "account", account),
        ("archiveOpportunity", "opportunity", opportunity),
        ("archiveContentAsset", "contentAsset", asset),
        ("archiveCampaign", "campaign", campaign),
    ];
    // The payload field is named after the entity.
    for (mutation, entity, id) in archivable {
        let query = format!(
            "mutation($id: ID!) {{ {mutation}(input: {{ id: $id }}) {{ {entity} {{ archivedAt version }} }} }}"
        );
        let audit = app.count_audit_rows(&org).await;
        let first = app.gql(Some(t), &query, json!({ "id": id })).await;
        let archived = &first["data"][mutation][entity];
        assert!(archived["archivedAt"].is_string(), "{mutation}: {first}");
        assert_eq!(app.count_audit_rows(&org).await, audit + 1, "{mutation} is audited");
        assert_eq!(app.count_outbox_events(&org, &format!("{entity}.archived")).await, 1, "{mutation} is published");

        let again = app.gql(Some(t), &query, json!({ "id": id })).await;
        assert!(again["errors"].is_null(), "{mutation} twice is no error: {again}");
        assert_eq!(&again["data"][mutation][entity], archived, "{mutation} twice changes nothing");
        assert_eq!(app.count_audit_rows(&org).await, audit + 1, "{mutation} twice is not audited again");
        assert_eq!(
            app.count_outbox_events(&org, &format!("{entity}.archived")).await,
            1,
            "{mutation} twice is not published again"
        );
    }
}
