//! The alignment contract: agreed documents with dual sign-off (definitions, ICPs,
//! personas, SLAs), the workflow's state machine and its race safety, the alignment
//! overview, journey stages and goals.

use entity::{Role, Team};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_DEFINITION: &str = "mutation($input: CreateDefinitionInput!) {
  createDefinition(input: $input) { definition { id status version title } }
}";

const UPDATE_DEFINITION: &str = "mutation($input: UpdateDefinitionInput!) {
  updateDefinition(input: $input) { definition { id status version inForce { version } pending { version status } } }
}";

const DOCUMENT: &str = "status version
  inForce { version status body { term body criteria } approvals { userId team at } }
  pending { version status approvals { team } }
  versions { version status body { body } approvals { team user { id } } }";

const APPROVE: &str = "mutation($input: DocumentVersionInput!) {
  approveDocument(input: $input) { agreed document { ... on Definition { id status inForce { version } pending { version } } } }
}";

const WITHDRAW: &str = "mutation($input: DocumentVersionInput!) {
  withdrawApproval(input: $input) { document { ... on Definition { pending { version approvals { team } } } } }
}";

const PROPOSE: &str = "mutation($input: DocumentInput!) {
  proposeDocument(input: $input) { document { ... on Definition { status pending { version } } } }
}";

const RETIRE: &str = "mutation($input: DocumentInput!) {
  retireDocument(input: $input) { document { ... on Definition { status inForce { version } versions { status } } } }
}";

/// The people of one organization the workflow needs.
struct Cast {
    marketer: TestUser,
    rep: TestUser,
    sales_manager: TestUser,
    marketing_manager: TestUser,
    viewer: TestUser,
}

async fn cast(app: &TestApp, org: &TestOrg) -> Cast {
    Cast {
        marketer: app.create_user(org, Team::Marketing, Role::Member).await,
        rep: app.create_user(org, Team::Sales, Role::Member).await,
        sales_manager: app.create_user(org, Team::Sales, Role::Manager).await,
        marketing_manager: app.create_user(org, Team::Marketing, Role::Manager).await,
        viewer: app.create_user(org, Team::Marketing, Role::Viewer).await,
    }
}

async fn create_definition(app: &TestApp, token: &str, term: &str, propose: bool) -> String {
    let input = json!({ "input": { "term": term, "body": format!("What {term} means"), "propose": propose } });
    let body = app.gql(Some(token), CREATE_DEFINITION, input).await;
    body["data"]["createDefinition"]["definition"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {body}"))
        .to_owned()
}

async fn approve(app: &TestApp, token: &str, id: &str, version: i64) -> Value {
    app.gql(Some(token), APPROVE, json!({ "input": { "kind": "DEFINITION", "id": id, "version": version } })).await
}

async fn definition(app: &TestApp, token: &str, term: &str) -> Value {
    let query = format!("query($term: String!) {{ definition(term: $term) {{ id {DOCUMENT} }} }}");
    let body = app.gql(Some(token), &query, json!({ "term": term })).await;
    body["data"]["definition"].clone()
}

async fn count_action(app: &TestApp, org: &TestOrg, action: &str) -> u64 {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::OrgId.eq(org.id))
        .filter(entity::audit_log::Column::Action.eq(action))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_definition_is_agreed_only_once_sales_and_marketing_managers_approved_the_same_version() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;

    // Marketing drafts, then proposes.
    let id = create_definition(&app, &c.marketer.token, "MQL", false).await;
    assert_eq!(definition(&app, &c.viewer.token, "mql").await["status"], "DRAFT");
    let body = app.gql(Some(&c.marketer.token), PROPOSE, json!({ "input": { "kind": "DEFINITION", "id": id } })).await;
    assert_eq!(body["data"]["proposeDocument"]["document"]["status"], "PROPOSED", "{body}");

    // Sales alone is not enough.
    let body = approve(&app, &c.sales_manager.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], false, "{body}");
    assert_eq!(body["data"]["approveDocument"]["document"]["status"], "PROPOSED");
    assert_eq!(count_action(&app, &org, "definition.agree").await, 0);

    // Marketing's approval of the same version makes it AGREED.
    let body = approve(&app, &c.marketing_manager.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], true, "{body}");
    let doc = definition(&app, &c.viewer.token, " MQL ").await;
    assert_eq!(doc["status"], "AGREED", "{doc}");
    assert_eq!(doc["inForce"]["version"], 1);
    assert_eq!(doc["inForce"]["status"], "AGREED");
    assert!(doc["pending"].is_null());
    let teams: Vec<&str> =
        doc["inForce"]["approvals"].as_array().unwrap().iter().filter_map(|a| a["team"].as_str()).collect();
    assert_eq!(teams, ["SALES", "MARKETING"]);
    assert_eq!(doc["versions"][0]["approvals"][0]["user"]["id"], c.sales_manager.id.to_string());
    assert_eq!(count_action(&app, &org, "definition.agree").await, 1);
    assert_eq!(app.count_outbox_events(&org, "definition.agreed").await, 1);
    assert_eq!(app.count_outbox_events(&org, "definition.approved").await, 2);

    // Lists filter by status and search.
    create_definition(&app, &c.marketer.token, "Sale", false).await;
    let list = |filter: Value| {
        let app = &app;
        let token = c.viewer.token.clone();
        async move {
            let body = app
                .gql(
                    Some(&token),
                    "query($f: DefinitionFilter) { definitions(filter: $f) { title status } }",
                    json!({ "f": filter }),
                )
                .await;
            body["data"]["definitions"].as_array().cloned().unwrap_or_else(|| panic!("{body}"))
        }
    };
    assert_eq!(list(json!(null)).await.len(), 2);
    assert_eq!(list(json!({ "status": "AGREED" })).await[0]["title"], "MQL");
    assert_eq!(list(json!({ "search": "what sale" })).await[0]["title"], "Sale");
    assert!(list(json!({ "status": "RETIRED" })).await.is_empty());
}

#[tokio::test]
async fn editing_an_agreed_definition_proposes_a_new_version_while_the_old_stays_in_force() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let id = create_definition(&app, &c.marketer.token, "SQL", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;
    approve(&app, &c.marketing_manager.token, &id, 1).await;

    // A sales rep suggests a change: it is proposed at once.
    let input = json!({ "input": { "id": id, "expectedVersion": 1, "body": "Accepted by sales and qualified by BANT", "criteria": { "bant": true } } });
    let body = app.gql(Some(&c.rep.token), UPDATE_DEFINITION, input).await;
    let doc = &body["data"]["updateDefinition"]["definition"];
    assert_eq!((doc["status"].as_str(), doc["version"].as_i64()), (Some("AGREED"), Some(2)), "{body}");
    assert_eq!(doc["inForce"]["version"], 1);
    assert_eq!(doc["pending"]["version"], 2);
    assert_eq!(doc["pending"]["status"], "PROPOSED");

    // A stale expectedVersion is a conflict and changes nothing.
    let audit = app.count_audit_rows(&org).await;
    let stale = json!({ "input": { "id": id, "expectedVersion": 1, "body": "Other" } });
    assert_error(&app.gql(Some(&c.marketer.token), UPDATE_DEFINITION, stale).await, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    // The difference, field by field.
    let query = "{ definitions { id changes(from: 1, to: 2) { field from to } } }";
    let body = app.gql(Some(&c.viewer.token), query, json!({})).await;
    let changes = &body["data"]["definitions"][0]["changes"];
    assert_eq!(changes.as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(changes[0]["field"], "body");
    assert_eq!(changes[0]["from"], "What SQL means");
    assert_eq!(changes[1]["field"], "criteria");
    assert_eq!(changes[1]["to"], json!({ "bant": true }));

    // Once the new version is agreed, the old one is superseded.
    approve(&app, &c.marketing_manager.token, &id, 2).await;
    let body = approve(&app, &c.sales_manager.token, &id, 2).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], true, "{body}");
    let doc = definition(&app, &c.viewer.token, "SQL").await;
    assert_eq!(doc["inForce"]["version"], 2);
    assert_eq!(doc["inForce"]["body"]["criteria"], json!({ "bant": true }));
    let statuses: Vec<&str> = doc["versions"].as_array().unwrap().iter().filter_map(|v| v["status"].as_str()).collect();
    assert_eq!(statuses, ["SUPERSEDED", "AGREED"]);
    assert_eq!(count_action(&app, &org, "definition.agree").await, 2);
}

#[tokio::test]
async fn approving_twice_a_stale_version_or_without_the_right_role_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let leader = app.create_user(&org, Team::Leadership, Role::Manager).await;
    let service = app.create_user(&org, Team::Service, Role::Manager).await;
    let id = create_definition(&app, &c.marketer.token, "Lead", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;
    let audit = app.count_audit_rows(&org).await;

    let message = assert_error(&approve(&app, &c.sales_manager.token, &id, 1).await, "CONFLICT");
    assert!(message.contains("already"), "{message}");
    for token in [&c.rep.token, &c.marketer.token, &c.viewer.token, &leader.token, &service.token] {
        assert_error(&approve(&app, token, &id, 1).await, "FORBIDDEN");
    }
    assert_error(&approve(&app, &c.marketing_manager.token, &id, 7).await, "CONFLICT");
    assert_error(&approve(&app, &c.marketing_manager.token, &id, 0).await, "CONFLICT");
    // Viewers never write.
    let input = json!({ "input": { "term": "Sale", "body": "Signed contract" } });
    assert_error(&app.gql(Some(&c.viewer.token), CREATE_DEFINITION, input).await, "FORBIDDEN");
    let update = json!({ "input": { "id": id, "body": "x" } });
    assert_error(&app.gql(Some(&c.viewer.token), UPDATE_DEFINITION, update).await, "FORBIDDEN");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    // An edit makes version 1 stale: approving it now is a conflict.
    let update = json!({ "input": { "id": id, "body": "Anyone who gave us contact data" } });
    app.gql(Some(&c.marketer.token), UPDATE_DEFINITION, update).await;
    let audit = app.count_audit_rows(&org).await;
    let message = assert_error(&approve(&app, &c.marketing_manager.token, &id, 1).await, "CONFLICT");
    assert!(message.contains("version 2"), "{message}");
    assert_eq!(app.count_audit_rows(&org).await, audit);
    // The stale approval does not count for the new version.
    let doc = definition(&app, &c.viewer.token, "Lead").await;
    assert_eq!(doc["pending"]["version"], 2);
    assert_eq!(doc["pending"]["approvals"], json!([]));

    // Bad input names the field and writes nothing.
    let blank = json!({ "input": { "term": "  ", "body": "x" } });
    let body = app.gql(Some(&c.marketer.token), CREATE_DEFINITION, blank).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "term");
    let duplicate = json!({ "input": { "term": "LEAD", "body": "x" } });
    assert_error(&app.gql(Some(&c.marketer.token), CREATE_DEFINITION, duplicate).await, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

#[tokio::test]
async fn an_approval_can_be_withdrawn_while_the_version_is_pending() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let id = create_definition(&app, &c.marketer.token, "SAL", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;

    let input = json!({ "input": { "kind": "DEFINITION", "id": id, "version": 1 } });
    let body = app.gql(Some(&c.sales_manager.token), WITHDRAW, input.clone()).await;
    assert_eq!(body["data"]["withdrawApproval"]["document"]["pending"]["approvals"], json!([]), "{body}");
    let audit = app.count_audit_rows(&org).await;
    assert_error(&app.gql(Some(&c.sales_manager.token), WITHDRAW, input).await, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    // Marketing's approval alone does not agree it; sales must approve again.
    approve(&app, &c.marketing_manager.token, &id, 1).await;
    assert_eq!(definition(&app, &c.viewer.token, "SAL").await["status"], "PROPOSED");
    approve(&app, &c.sales_manager.token, &id, 1).await;
    assert_eq!(definition(&app, &c.viewer.token, "SAL").await["status"], "AGREED");
    // An agreed version's approvals stay.
    let input = json!({ "input": { "kind": "DEFINITION", "id": id, "version": 1 } });
    assert_error(&app.gql(Some(&c.sales_manager.token), WITHDRAW, input).await, "CONFLICT");
}

#[tokio::test]
async fn a_retired_document_is_out_of_force_and_cannot_be_edited_or_approved() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let id = create_definition(&app, &c.marketer.token, "Profitable customer", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;
    approve(&app, &c.marketing_manager.token, &id, 1).await;
    let update = json!({ "input": { "id": id, "body": "Margin above 20 %" } });
    app.gql(Some(&c.marketer.token), UPDATE_DEFINITION, update).await;

    let input = json!({ "input": { "kind": "DEFINITION", "id": id } });
    let audit = app.count_audit_rows(&org).await;
    assert_error(&app.gql(Some(&c.marketer.token), RETIRE, input.clone()).await, "FORBIDDEN");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    let body = app.gql(Some(&c.marketing_manager.token), RETIRE, input.clone()).await;
    let doc = &body["data"]["retireDocument"]["document"];
    assert_eq!(doc["status"], "RETIRED", "{body}");
    assert!(doc["inForce"].is_null());
    assert_eq!(doc["versions"], json!([{ "status": "RETIRED" }, { "status": "SUPERSEDED" }]));
    assert_eq!(app.count_outbox_events(&org, "definition.retired").await, 1);

    let audit = app.count_audit_rows(&org).await;
    let update = json!({ "input": { "id": id, "body": "Margin above 30 %" } });
    let message = assert_error(&app.gql(Some(&c.marketer.token), UPDATE_DEFINITION, update).await, "CONFLICT");
    assert!(message.contains("retired"), "{message}");
    assert_error(&approve(&app, &c.sales_manager.token, &id, 2).await, "CONFLICT");
    assert_error(&app.gql(Some(&c.marketing_manager.token), RETIRE, input.clone()).await, "CONFLICT");
    assert_error(&app.gql(Some(&c.marketer.token), PROPOSE, input).await, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

#[tokio::test]
async fn service_must_approve_too_when_the_organization_requires_it() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let service = app.create_user(&org, Team::Service, Role::Manager).await;
    let settings = "mutation { updateOrganization(input: { settings: { handoverResponseHours: 24, feedbackActionableEndorsers: 3, feedbackActionableAccounts: 2, approvalRequiresService: true } }) { organization { id } } }";
    let body = app.gql(Some(&org.admin.token), settings, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");

    let id = create_definition(&app, &c.marketer.token, "Customer", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;
    let body = approve(&app, &c.marketing_manager.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], false, "{body}");
    let body = approve(&app, &service.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], true, "{body}");
}

/// Leadership co-signs the contract when the organization asks for it: without the
/// setting a LEADERSHIP manager's approval is FORBIDDEN and changes nothing.
#[tokio::test]
async fn leadership_co_signs_when_the_organization_asks_for_it() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let ceo = app.create_user(&org, Team::Leadership, Role::Manager).await;
    let chief_of_staff = app.create_user(&org, Team::Leadership, Role::Member).await;

    let id = create_definition(&app, &c.marketer.token, "Customer", true).await;
    let audit = app.count_audit_rows(&org).await;
    let message = assert_error(&approve(&app, &ceo.token, &id, 1).await, "FORBIDDEN");
    assert!(message.contains("approve"), "{message}");
    assert_eq!(app.count_audit_rows(&org).await, audit, "a refused approval changes nothing");

    let settings = "mutation { updateOrganization(input: { settings: { approvalRequiresLeadership: true } }) { organization { settings { approvalRequiresService approvalRequiresLeadership } } } }";
    let body = app.gql(Some(&org.admin.token), settings, json!({})).await;
    assert_eq!(
        body["data"]["updateOrganization"]["organization"]["settings"],
        json!({ "approvalRequiresService": false, "approvalRequiresLeadership": true }),
        "{body}"
    );
    approve(&app, &c.sales_manager.token, &id, 1).await;
    let body = approve(&app, &c.marketing_manager.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], false, "leadership has not signed yet: {body}");
    assert_error(&approve(&app, &chief_of_staff.token, &id, 1).await, "FORBIDDEN");
    let body = approve(&app, &ceo.token, &id, 1).await;
    assert_eq!(body["data"]["approveDocument"]["agreed"], true, "{body}");
}

#[tokio::test]
async fn concurrent_approvals_produce_exactly_one_agreement() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let mut marketing = Vec::new();
    for _ in 0..4 {
        marketing.push(app.create_user(&org, Team::Marketing, Role::Manager).await);
    }

    // Sales approved; four marketing managers approve the same version at once.
    let id = create_definition(&app, &c.marketer.token, "MQL", true).await;
    approve(&app, &c.sales_manager.token, &id, 1).await;
    let (a, b, c2, d) = tokio::join!(
        approve(&app, &marketing[0].token, &id, 1),
        approve(&app, &marketing[1].token, &id, 1),
        approve(&app, &marketing[2].token, &id, 1),
        approve(&app, &marketing[3].token, &id, 1),
    );
    let answers = [a, b, c2, d];
    let agreed = answers.iter().filter(|r| r["data"]["approveDocument"]["agreed"] == true).count();
    assert_eq!(agreed, 1, "{answers:#?}");
    for answer in answers.iter().filter(|r| r["data"]["approveDocument"]["agreed"] != true) {
        // Either applied before the agreement, or refused after it: never INTERNAL.
        assert!(matches!(error_code(answer), None | Some("CONFLICT")), "{answer}");
    }
    assert_eq!(count_action(&app, &org, "definition.agree").await, 1);
    assert_eq!(app.count_outbox_events(&org, "definition.agreed").await, 1);

    // Sales and marketing approving a fresh version at the same moment: the second to
    // commit sees the first's approval and agrees it, once.
    let id = create_definition(&app, &c.marketer.token, "SQL", true).await;
    let (s, m) =
        tokio::join!(approve(&app, &c.sales_manager.token, &id, 1), approve(&app, &c.marketing_manager.token, &id, 1),);
    assert!(s["errors"].is_null() && m["errors"].is_null(), "{s} {m}");
    let agreed = [&s, &m].iter().filter(|r| r["data"]["approveDocument"]["agreed"] == true).count();
    assert_eq!(agreed, 1, "{s} {m}");
    assert_eq!(definition(&app, &c.viewer.token, "SQL").await["status"], "AGREED");
    assert_eq!(count_action(&app, &org, "definition.agree").await, 2);
    assert_eq!(app.count_outbox_events(&org, "definition.agreed").await, 2);
}

#[tokio::test]
async fn another_organizations_documents_are_not_found_and_cannot_be_approved() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let acme_cast = cast(&app, &acme).await;
    let globex_cast = cast(&app, &globex).await;
    let id = create_definition(&app, &acme_cast.marketer.token, "MQL", true).await;
    let audit = (app.count_audit_rows(&acme).await, app.count_audit_rows(&globex).await);

    assert!(definition(&app, &globex_cast.viewer.token, "MQL").await.is_null());
    let body = app.gql(Some(&globex_cast.viewer.token), "{ definitions { id } }", json!({})).await;
    assert_eq!(body["data"]["definitions"], json!([]));
    assert_error(&approve(&app, &globex_cast.sales_manager.token, &id, 1).await, "NOT_FOUND");
    let update = json!({ "input": { "id": id, "body": "Pwned" } });
    assert_error(&app.gql(Some(&globex_cast.marketer.token), UPDATE_DEFINITION, update).await, "NOT_FOUND");
    let input = json!({ "input": { "kind": "DEFINITION", "id": id } });
    assert_error(&app.gql(Some(&globex_cast.marketing_manager.token), RETIRE, input).await, "NOT_FOUND");
    // The right id with the wrong kind is not found either.
    let wrong_kind = json!({ "input": { "kind": "PERSONA", "id": id, "version": 1 } });
    assert_error(&app.gql(Some(&acme_cast.sales_manager.token), APPROVE, wrong_kind).await, "NOT_FOUND");
    let persona = "query($id: ID!) { persona(id: $id) { id } }";
    assert_error(&app.gql(Some(&globex_cast.viewer.token), persona, json!({ "id": id })).await, "NOT_FOUND");
    assert_eq!((app.count_audit_rows(&acme).await, app.count_audit_rows(&globex).await), audit);
}

#[tokio::test]
async fn icps_and_personas_are_agreed_documents_and_personas_point_at_their_icp() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Globex").await;
    let c = cast(&app, &org).await;
    let create_icp = "mutation($input: CreateIdealCustomerProfileInput!) {
      createIdealCustomerProfile(input: $input) { idealCustomerProfile { id status pending { body { name industries employeeRange { min max } revenueRange { min currency } } } } }
    }";
    let input = json!({ "input": {
        "name": "Mid-market SaaS", "industries": ["Software", " software "], "employeeRange": { "min": 50, "max": 500 },
        "revenueRange": { "min": 5000000, "currency": "eur" }, "regions": ["DACH"], "propose": true } });
    let body = app.gql(Some(&c.marketer.token), create_icp, input).await;
    let icp = &body["data"]["createIdealCustomerProfile"]["idealCustomerProfile"];
    assert_eq!(icp["pending"]["body"]["industries"], json!(["Software"]), "{body}");
    assert_eq!(icp["pending"]["body"]["revenueRange"]["currency"], "EUR");
    let icp_id = icp["id"].as_str().unwrap().to_owned();
    let approve_icp = |token: String| {
        let app = &app;
        let icp_id = icp_id.clone();
        async move {
            let input = json!({ "input": { "kind": "IDEAL_CUSTOMER_PROFILE", "id": icp_id, "version": 1 } });
            app.gql(
                Some(&token),
                "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }",
                input,
            )
            .await
        }
    };
    approve_icp(c.sales_manager.token.clone()).await;
    assert_eq!(approve_icp(c.marketing_manager.token.clone()).await["data"]["approveDocument"]["agreed"], true);

    let bad_range = json!({ "input": { "name": "Broken", "employeeRange": { "min": 500, "max": 5 } } });
    let body = app.gql(Some(&c.marketer.token), create_icp, bad_range).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "employeeRange");

    let create_persona = "mutation($input: CreatePersonaInput!) {
      createPersona(input: $input) { persona { id status pending { body { name icpId icp { title status } titleKeywords pains } } } }
    }";
    // A sales rep proposes a persona of the agreed ICP.
    let input = json!({ "input": { "name": "Operations Olivia", "icpId": icp_id, "titleKeywords": ["COO"], "pains": ["Manual reporting"] } });
    let body = app.gql(Some(&c.rep.token), create_persona, input).await;
    let persona = &body["data"]["createPersona"]["persona"];
    assert_eq!(persona["status"], "PROPOSED", "{body}");
    assert_eq!(persona["pending"]["body"]["icp"]["title"], "Mid-market SaaS");
    assert_eq!(persona["pending"]["body"]["icp"]["status"], "AGREED");
    let persona_id = persona["id"].as_str().unwrap().to_owned();

    // Another organization's ICP cannot be referenced.
    let other_icp = app.gql(Some(&other.admin.token), create_icp, json!({ "input": { "name": "Theirs" } })).await;
    assert!(other_icp["errors"].is_null(), "{other_icp}");
    let other_id = other_icp["data"]["createIdealCustomerProfile"]["idealCustomerProfile"]["id"].clone();
    let audit = app.count_audit_rows(&org).await;
    let body = app
        .gql(Some(&c.marketer.token), create_persona, json!({ "input": { "name": "Eve", "icpId": other_id } }))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "icpId");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    // Lists and the one-persona query.
    let list = "query($f: PersonaFilter) { personas(filter: $f) { id title } }";
    let body = app.gql(Some(&c.viewer.token), list, json!({ "f": { "icpId": icp_id } })).await;
    assert_eq!(body["data"]["personas"][0]["id"], persona_id.as_str(), "{body}");
    let body = app.gql(Some(&c.viewer.token), list, json!({ "f": { "status": "AGREED" } })).await;
    assert_eq!(body["data"]["personas"], json!([]));
    let one = "query($id: ID!) { persona(id: $id) { title pending { body { preferredChannels } } } }";
    let body = app.gql(Some(&c.viewer.token), one, json!({ "id": persona_id })).await;
    assert_eq!(body["data"]["persona"]["title"], "Operations Olivia", "{body}");
    let body = app.gql(Some(&c.viewer.token), "{ idealCustomerProfiles { title status } }", json!({})).await;
    assert_eq!(body["data"]["idealCustomerProfiles"], json!([{ "title": "Mid-market SaaS", "status": "AGREED" }]));

    // The persona is approved through the same workflow.
    let approve_persona = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed document { ... on Persona { status } } } }";
    let input = json!({ "input": { "kind": "PERSONA", "id": persona_id, "version": 1 } });
    app.gql(Some(&c.sales_manager.token), approve_persona, input.clone()).await;
    let body = app.gql(Some(&c.marketing_manager.token), approve_persona, input).await;
    assert_eq!(body["data"]["approveDocument"]["document"]["status"], "AGREED", "{body}");
}

#[tokio::test]
async fn slas_are_agreed_documents_between_two_teams() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let create = "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id status title pending { body { providerTeam consumerTeam metric target period } } } } }";
    let input = json!({ "input": { "providerTeam": "SALES", "consumerTeam": "MARKETING", "metric": "HANDOVER_RESPONSE_HOURS", "target": 24, "period": "MONTH" } });
    let body = app.gql(Some(&c.sales_manager.token), create, input.clone()).await;
    let sla = &body["data"]["createSla"]["sla"];
    assert_eq!(sla["status"], "PROPOSED", "{body}");
    assert_eq!(sla["pending"]["body"]["metric"], "HANDOVER_RESPONSE_HOURS");
    assert_eq!(sla["pending"]["body"]["target"], 24.0);

    let audit = app.count_audit_rows(&org).await;
    assert_error(&app.gql(Some(&c.marketer.token), create, input).await, "CONFLICT");
    let same_team = json!({ "input": { "providerTeam": "SALES", "consumerTeam": "SALES", "metric": "MQL_VOLUME", "target": 300, "period": "MONTH" } });
    let body = app.gql(Some(&c.marketer.token), create, same_team).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "consumerTeam", "{body}");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    let body = app.gql(Some(&c.viewer.token), "{ slas { title status } }", json!({})).await;
    assert_eq!(body["data"]["slas"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        body["data"]["slas"][0]["title"],
        "Sales answers handovers from Marketing within 24 hours, measured monthly"
    );
}

#[tokio::test]
async fn titles_stored_from_enum_names_are_rewritten_in_words_by_the_migration() {
    use migration::{MigrationTrait, SchemaManager};
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let create = "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id } } }";
    let input = json!({ "input": { "providerTeam": "MARKETING", "consumerTeam": "SALES", "metric": "MQL_VOLUME", "target": 300, "period": "MONTH" } });
    let body = app.gql(Some(&c.marketing_manager.token), create, input).await;
    let id = body["data"]["createSla"]["sla"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let stored =
        entity::document::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap()).one(&app.db).await.unwrap().unwrap();
    let mut old = stored.into_active_model();
    old.title = Set("MARKETING → SALES: MQLVOLUME AT LEAST 300 PER MONTH".into());
    old.update(&app.db).await.unwrap();

    migration::m20261205_000501_refresh_sla_titles::Migration.up(&SchemaManager::new(&app.db)).await.unwrap();

    let body = app.gql(Some(&c.viewer.token), "{ slas { title } }", json!({})).await;
    assert_eq!(body["data"]["slas"][0]["title"], "Marketing delivers at least 300 MQLs a month to Sales", "{body}");
}

#[test]
fn the_migration_words_sla_titles_as_new_versions_do() {
    use api::agreements::AgreedBody;
    use api::agreements::slas::{SlaBody, SlaMetric, SlaPeriod};
    use async_graphql::resolver_utils::EnumType;
    for metric in SlaMetric::items().iter().map(|item| item.value) {
        for period in SlaPeriod::items().iter().map(|item| item.value) {
            for (provider, consumer, target) in [
                (Team::Sales, Team::Marketing, 24.0),
                (Team::Revops, Team::Service, 1.0),
                (Team::Leadership, Team::Sales, 1234.5),
            ] {
                let body = SlaBody {
                    provider_team: provider,
                    consumer_team: consumer,
                    metric,
                    target,
                    period,
                    description: None,
                };
                let stored = serde_json::to_value(&body).unwrap();
                let migrated = migration::m20261205_000501_refresh_sla_titles::sla_title(&stored);
                assert_eq!(migrated.as_deref(), Some(body.title().as_str()), "{stored}");
            }
        }
    }
}

#[tokio::test]
async fn the_alignment_overview_counts_documents_and_shows_what_awaits_whom() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let agreed = create_definition(&app, &c.marketer.token, "Lead", true).await;
    approve(&app, &c.sales_manager.token, &agreed, 1).await;
    approve(&app, &c.marketing_manager.token, &agreed, 1).await;
    let older = create_definition(&app, &c.marketer.token, "MQL", true).await;
    let newer = create_definition(&app, &c.marketer.token, "SQL", true).await;
    create_definition(&app, &c.marketer.token, "Sale", false).await;
    approve(&app, &c.sales_manager.token, &newer, 1).await;
    approve(&app, &c.sales_manager.token, &older, 1).await;

    let query = "{ alignment {
      documents { kind drafts pending agreed retired }
      awaitingMyApproval { id title version waitingFor }
      awaitingOtherTeam { id title approvedBy waitingFor }
    } }";
    let body = app.gql(Some(&c.marketing_manager.token), query, json!({})).await;
    let overview = &body["data"]["alignment"];
    assert_eq!(
        overview["documents"][0],
        json!({ "kind": "DEFINITION", "drafts": 1, "pending": 2, "agreed": 1, "retired": 0 }),
        "{body}"
    );
    assert_eq!(overview["documents"].as_array().map(Vec::len), Some(7), "one row per document kind");
    let titles = |list: &Value| -> Vec<String> {
        list.as_array().unwrap().iter().filter_map(|p| p["title"].as_str().map(str::to_owned)).collect()
    };
    assert_eq!(titles(&overview["awaitingMyApproval"]), ["MQL", "SQL"]);
    assert_eq!(titles(&overview["awaitingOtherTeam"]), ["MQL", "SQL"], "oldest proposal first");
    assert_eq!(overview["awaitingOtherTeam"][0]["approvedBy"], json!(["SALES"]));
    assert_eq!(overview["awaitingOtherTeam"][0]["waitingFor"], json!(["MARKETING"]));

    // Sales has approved both: nothing awaits the sales manager; a rep approves nothing.
    for token in [&c.sales_manager.token, &c.rep.token] {
        let body = app.gql(Some(token), query, json!({})).await;
        assert_eq!(body["data"]["alignment"]["awaitingMyApproval"], json!([]), "{body}");
    }
}

#[tokio::test]
async fn journey_stages_start_with_the_defaults_and_admins_rename_and_reorder_them() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let list = "{ journeyStages { id name position version } }";
    let body = app.gql(Some(&c.viewer.token), list, json!({})).await;
    let stages = body["data"]["journeyStages"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = stages.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["AWARENESS", "CONSIDERATION", "DECISION", "ONBOARDING", "EXPANSION"], "{body}");

    let rename = "mutation($input: RenameJourneyStageInput!) { renameJourneyStage(input: $input) { journeyStage { name version } } }";
    let input = json!({ "input": { "id": stages[0]["id"], "name": "DISCOVERY", "expectedVersion": 1 } });
    let audit = app.count_audit_rows(&org).await;
    assert_error(&app.gql(Some(&c.marketing_manager.token), rename, input.clone()).await, "FORBIDDEN");
    let taken = json!({ "input": { "id": stages[0]["id"], "name": "DECISION" } });
    assert_error(&app.gql(Some(&org.admin.token), rename, taken).await, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);
    let body = app.gql(Some(&org.admin.token), rename, input).await;
    assert_eq!(
        body["data"]["renameJourneyStage"]["journeyStage"],
        json!({ "name": "DISCOVERY", "version": 2 }),
        "{body}"
    );

    let reorder =
        "mutation($ids: [ID!]!) { reorderJourneyStages(input: { ids: $ids }) { journeyStages { name position } } }";
    let mut ids: Vec<Value> = stages.iter().map(|s| s["id"].clone()).collect();
    ids.swap(0, 1);
    let audit = app.count_audit_rows(&org).await;
    let body = app.gql(Some(&org.admin.token), reorder, json!({ "ids": ids[..4] })).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "ids", "{body}");
    assert_eq!(app.count_audit_rows(&org).await, audit);
    let body = app.gql(Some(&org.admin.token), reorder, json!({ "ids": ids })).await;
    let reordered = &body["data"]["reorderJourneyStages"]["journeyStages"];
    assert_eq!(reordered[0], json!({ "name": "CONSIDERATION", "position": 1 }), "{body}");
    assert_eq!(reordered[1], json!({ "name": "DISCOVERY", "position": 2 }));
}

#[tokio::test]
async fn goals_are_set_by_managers_and_listed_by_period() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let c = cast(&app, &org).await;
    let create = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id name metric target team version owner { id } } } }";
    let input = json!({ "input": { "name": "Q1 MQLs", "metric": "MQLS", "target": 900, "periodStart": "2027-01-01", "periodEnd": "2027-03-31", "team": "MARKETING" } });
    let audit = app.count_audit_rows(&org).await;
    assert_error(&app.gql(Some(&c.rep.token), create, input.clone()).await, "FORBIDDEN");
    let backwards = json!({ "input": { "name": "x", "metric": "MQLS", "target": 1, "periodStart": "2027-02-01", "periodEnd": "2027-01-01" } });
    let body = app.gql(Some(&c.marketing_manager.token), create, backwards).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "periodEnd", "{body}");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    let body = app.gql(Some(&c.marketing_manager.token), create, input).await;
    let goal = &body["data"]["createGoal"]["goal"];
    assert_eq!(goal["owner"]["id"], c.marketing_manager.id.to_string(), "{body}");
    let id = goal["id"].clone();
    let second = json!({ "input": { "name": "Q2 revenue", "metric": "REVENUE_WON", "target": 25_000_000, "periodStart": "2027-04-01", "periodEnd": "2027-06-30" } });
    app.gql(Some(&c.sales_manager.token), create, second).await;

    let update = "mutation($input: UpdateGoalInput!) { updateGoal(input: $input) { goal { target version team } } }";
    let body = app
        .gql(
            Some(&c.sales_manager.token),
            update,
            json!({ "input": { "id": id, "expectedVersion": 1, "target": 1000, "team": null } }),
        )
        .await;
    assert_eq!(body["data"]["updateGoal"]["goal"], json!({ "target": 1000.0, "version": 2, "team": null }), "{body}");
    let stale = json!({ "input": { "id": id, "expectedVersion": 1, "target": 5 } });
    assert_error(&app.gql(Some(&c.sales_manager.token), update, stale).await, "CONFLICT");

    let list = "query($f: GoalFilter) { goals(filter: $f) { name } }";
    let body = app.gql(Some(&c.viewer.token), list, json!({ "f": { "activeOn": "2027-05-05" } })).await;
    assert_eq!(body["data"]["goals"], json!([{ "name": "Q2 revenue" }]), "{body}");
    let body = app.gql(Some(&c.viewer.token), list, json!({})).await;
    assert_eq!(body["data"]["goals"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_demo_seed_holds_an_agreed_alignment_contract() {
    let app = spawn_app().await;
    let admin = api::seed::demo(&app.db).await.expect("seed the demo").expect("a new demo organization");
    let (token, _) =
        app.keys.issue(admin.id, admin.org_id, admin.role, std::time::Duration::from_secs(600)).expect("a token");
    let query = "{
      definitions(filter: { status: AGREED }) { title }
      idealCustomerProfiles { status }
      personas { title status pending { approvals { team } } }
      slas { status inForce { body { metric target period } } }
      goals { name target person { email } progress { actual elapsed } }
      journeyStages { name }
      alignment { awaitingOtherTeam { title waitingFor } }
    }";
    let body = app.gql(Some(&token), query, json!({})).await;
    let data = &body["data"];
    let terms: Vec<&str> = data["definitions"].as_array().unwrap().iter().filter_map(|d| d["title"].as_str()).collect();
    assert_eq!(terms, ["Lead", "MQL", "Profitable customer", "SAL", "Sale", "SQL"], "{body}");
    assert_eq!(data["idealCustomerProfiles"], json!([{ "status": "AGREED" }]));
    let personas = data["personas"].as_array().unwrap();
    assert_eq!(personas.len(), 4);
    assert_eq!(personas.iter().filter(|p| p["status"] == "AGREED").count(), 3);
    assert_eq!(
        data["alignment"]["awaitingOtherTeam"],
        json!([{ "title": "Revenue Rita", "waitingFor": ["MARKETING"] }])
    );
    assert_eq!(data["slas"].as_array().map(Vec::len), Some(3));
    assert!(data["slas"].as_array().unwrap().iter().all(|s| s["status"] == "AGREED"));
    let goals = data["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 5);
    // A rep's own month: hours and different customers from that rep's activities only.
    let personal: Vec<&Value> = goals.iter().filter(|g| g["person"]["email"] == "rep@demo.accord.dev").collect();
    assert_eq!(personal.len(), 2, "{body}");
    // The running quarter's goal shows live progress from the demo funnel.
    let quarter = goals.iter().find(|g| g["name"] == "This quarter's SQLs").unwrap();
    assert!(quarter["progress"]["elapsed"].as_f64().unwrap() > 0.0, "{quarter}");
    assert!(quarter["progress"]["actual"].as_f64().unwrap() > 0.0, "{quarter}");
    assert_eq!(data["journeyStages"].as_array().map(Vec::len), Some(5));
}
