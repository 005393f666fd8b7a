//! Patch semantics of every `update*` mutation: a field left out is unchanged, an
//! explicit null clears a field that may be empty, and is BAD_USER_INPUT naming a field
//! that may not. Each test creates a record with every optional field set, changes one
//! field, reads the whole record back and compares it with what it was; agreed
//! documents compare the body of the new version with the one it was edited from.

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

/// The people the tests act as.
struct Cast {
    app: TestApp,
    slug: String,
    admin: TestUser,
    marketing_manager: TestUser,
    sales_manager: TestUser,
    rep: TestUser,
}

async fn cast() -> Cast {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    Cast {
        marketing_manager: app.create_user(&org, Team::Marketing, Role::Manager).await,
        sales_manager: app.create_user(&org, Team::Sales, Role::Manager).await,
        rep: app.create_user(&org, Team::Sales, Role::Member).await,
        slug: org.slug,
        admin: org.admin,
        app,
    }
}

/// Run a request that must succeed and return its `data`.
async fn ok(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let body = app.gql(Some(token), query, variables).await;
    assert!(body["errors"].is_null(), "unexpected errors: {body}");
    body["data"].clone()
}

/// `record` without `fields` and the bookkeeping every write changes.
fn without(record: &Value, fields: &[&str]) -> Value {
    let mut record = record.clone();
    let Some(object) = record.as_object_mut() else { panic!("not an object: {record}") };
    for field in fields.iter().chain(&["version", "updatedAt"]) {
        object.remove(*field);
    }
    record
}

/// Every field of `after` but `changed` is as it was in `before`.
#[track_caller]
fn assert_only_changed(before: &Value, after: &Value, changed: &[&str]) {
    assert_eq!(without(after, changed), without(before, changed), "only {changed:?} may change");
}

/// The answer is BAD_USER_INPUT naming `field`.
#[track_caller]
fn assert_refused(body: &Value, field: &str) {
    assert_error(body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
}

/// One record by id: `query`'s `field`, as `token` sees it.
async fn record(app: &TestApp, token: &str, query: &str, field: &str, id: String) -> Value {
    ok(app, token, query, json!({ "id": id })).await[field].clone()
}

fn id_of(data: &Value, path: &[&str]) -> String {
    let mut value = data;
    for step in path {
        value = &value[step];
    }
    value["id"].as_str().unwrap_or_else(|| panic!("no id at {path:?}: {data}")).to_owned()
}

// ---------------------------------------------------------------- users

const USER: &str = "query($id: ID!) { user(id: $id) { id email name team role active version createdAt updatedAt } }";
const UPDATE_USER: &str = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { id } } }";

#[tokio::test]
async fn updating_a_users_name_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }";
    let input =
        json!({ "email": "ana@acme.test", "name": "Ana", "team": "SALES", "role": "MANAGER", "password": PASSWORD });
    let id = id_of(&ok(&c.app, &c.admin.token, create, json!({ "input": input })).await, &["createUser", "user"]);
    let read = |id: String| record(&c.app, &c.admin.token, USER, "user", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.admin.token, UPDATE_USER, json!({ "input": { "id": id, "name": "Ana Lopez" } })).await;
    let after = read(id.clone()).await;
    assert_eq!(after["name"], "Ana Lopez");
    assert_only_changed(&before, &after, &["name"]);

    for field in ["name", "team", "role", "password"] {
        let body = c.app.gql(Some(&c.admin.token), UPDATE_USER, json!({ "input": { "id": id, field: null } })).await;
        assert_refused(&body, field);
    }
    assert_eq!(read(id.clone()).await, after, "a refused null changed nothing");

    // The password, never shown, was left out each time: it still signs in.
    let login = "mutation($input: LoginInput!) { login(input: $input) { user { id } } }";
    let input = json!({ "organization": c.slug, "email": "ana@acme.test", "password": PASSWORD });
    let body = c.app.gql(None, login, json!({ "input": input })).await;
    assert_eq!(body["data"]["login"]["user"]["id"], id.as_str(), "{body}");
}

// ---------------------------------------------------------------- accounts, leads, deals

const ACCOUNT: &str = "query($id: ID!) { account(id: $id) { id name domain industry employeeCount
  annualRevenue { amountMinor currency } region isCustomer customerSince archivedAt version createdAt updatedAt
  owner { id } } }";
const CREATE_ACCOUNT: &str =
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
const UPDATE_ACCOUNT: &str =
    "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { account { id } } }";

async fn full_account(c: &Cast) -> String {
    let input = json!({
        "name": "Payly", "domain": "payly.io", "industry": "Fintech", "employeeCount": 120,
        "annualRevenueMinor": 1_500_000_000, "currency": "EUR", "region": "EMEA", "ownerId": c.rep.id,
    });
    id_of(&ok(&c.app, &c.admin.token, CREATE_ACCOUNT, json!({ "input": input })).await, &["createAccount", "account"])
}

#[tokio::test]
async fn updating_an_accounts_industry_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let id = full_account(&c).await;
    let read = |id: String| record(&c.app, &c.admin.token, ACCOUNT, "account", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.admin.token, UPDATE_ACCOUNT, json!({ "input": { "id": id, "industry": "Insurance" } })).await;
    let after = read(id.clone()).await;
    assert_eq!(after["industry"], "Insurance");
    assert_only_changed(&before, &after, &["industry"]);

    ok(&c.app, &c.admin.token, UPDATE_ACCOUNT, json!({ "input": { "id": id, "domain": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["domain"], Value::Null);
    assert_only_changed(&after, &cleared, &["domain"]);

    let body = c.app.gql(Some(&c.admin.token), UPDATE_ACCOUNT, json!({ "input": { "id": id, "name": null } })).await;
    assert_refused(&body, "name");
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}

#[tokio::test]
async fn an_accounts_owner_who_left_does_not_stop_changes_to_other_fields() {
    let c = cast().await;
    let id = full_account(&c).await;
    let deactivate = "mutation($input: UserIdInput!) { deactivateUser(input: $input) { user { active } } }";
    ok(&c.app, &c.admin.token, deactivate, json!({ "input": { "id": c.rep.id } })).await;
    let before = ok(&c.app, &c.admin.token, ACCOUNT, json!({ "id": id })).await["account"].clone();

    ok(&c.app, &c.admin.token, UPDATE_ACCOUNT, json!({ "input": { "id": id, "region": "DACH" } })).await;
    let after = ok(&c.app, &c.admin.token, ACCOUNT, json!({ "id": id })).await["account"].clone();
    assert_eq!(after["region"], "DACH");
    assert_only_changed(&before, &after, &["region"]);

    // Naming the stored owner again is no change; naming an inactive user anew is refused.
    let body =
        c.app.gql(Some(&c.admin.token), UPDATE_ACCOUNT, json!({ "input": { "id": id, "ownerId": c.rep.id } })).await;
    assert!(body["errors"].is_null(), "the stored owner may be kept: {body}");
    let other = c.app.gql(Some(&c.admin.token), CREATE_ACCOUNT, json!({ "input": { "name": "Globex" } })).await;
    let other = id_of(&other["data"], &["createAccount", "account"]);
    let body =
        c.app.gql(Some(&c.admin.token), UPDATE_ACCOUNT, json!({ "input": { "id": other, "ownerId": c.rep.id } })).await;
    assert_refused(&body, "ownerId");
}

const LEAD: &str = "query($id: ID!) { lead(id: $id) { id email firstName lastName title phone source campaign
  externalId lifecycleStage stageEnteredAt personaId archivedAt version createdAt updatedAt temperature score
  fitScore engagementScore account { id } owner { id } marketingOwner { id } } }";
const UPDATE_LEAD: &str = "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }";

async fn draft_persona(c: &Cast, name: &str) -> String {
    let create = "mutation($input: CreatePersonaInput!) { createPersona(input: $input) { persona { id } } }";
    let data = ok(&c.app, &c.marketing_manager.token, create, json!({ "input": { "name": name } })).await;
    id_of(&data, &["createPersona", "persona"])
}

#[tokio::test]
async fn updating_a_leads_title_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let account = full_account(&c).await;
    let persona = draft_persona(&c, "Finance Fiona").await;
    let input = json!({
        "email": "fiona@payly.io", "firstName": "Fiona", "lastName": "Frank", "title": "CFO", "phone": "+49 30 1234",
        "source": "webinar", "campaign": "Q1 Webinar", "externalId": "crm-1", "accountId": account,
        "personaId": persona, "ownerId": c.rep.id, "marketingOwnerId": c.marketing_manager.id,
    });
    let create = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let id = id_of(&ok(&c.app, &c.admin.token, create, json!({ "input": input })).await, &["createLead", "lead"]);
    let read = |id: String| record(&c.app, &c.admin.token, LEAD, "lead", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.admin.token, UPDATE_LEAD, json!({ "input": { "id": id, "title": "VP Finance" } })).await;
    let after = read(id.clone()).await;
    assert_eq!(after["title"], "VP Finance");
    assert_only_changed(&before, &after, &["title"]);

    ok(&c.app, &c.admin.token, UPDATE_LEAD, json!({ "input": { "id": id, "phone": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["phone"], Value::Null);
    assert_only_changed(&after, &cleared, &["phone"]);

    let body = c.app.gql(Some(&c.admin.token), UPDATE_LEAD, json!({ "input": { "id": id, "email": null } })).await;
    assert_refused(&body, "email");
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}

const OPPORTUNITY: &str = "query($id: ID!) { opportunity(id: $id) { id name amount { amountMinor currency } stage
  strategy expectedClose closedAt lostReason archivedAt version createdAt updatedAt account { id } lead { id }
  owner { id } } }";
const UPDATE_OPPORTUNITY: &str =
    "mutation($input: UpdateOpportunityInput!) { updateOpportunity(input: $input) { opportunity { id } } }";

async fn full_opportunity(c: &Cast) -> String {
    let account = full_account(c).await;
    let create_lead = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let lead = json!({ "email": "olga@payly.io", "accountId": account, "lifecycleStage": "SQL" });
    let lead = id_of(&ok(&c.app, &c.rep.token, create_lead, json!({ "input": lead })).await, &["createLead", "lead"]);
    let input = json!({
        "accountId": account, "leadId": lead, "name": "Payly platform", "amountMinor": 4_800_000, "currency": "EUR",
        "strategy": "ACQUISITION", "ownerId": c.rep.id, "expectedClose": "2031-06-30",
    });
    let create =
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { opportunity { id } } }";
    id_of(&ok(&c.app, &c.admin.token, create, json!({ "input": input })).await, &["createOpportunity", "opportunity"])
}

#[tokio::test]
async fn updating_an_opportunitys_amount_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let id = full_opportunity(&c).await;
    let read = |id: String| record(&c.app, &c.admin.token, OPPORTUNITY, "opportunity", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.admin.token, UPDATE_OPPORTUNITY, json!({ "input": { "id": id, "amountMinor": 5_000_000 } })).await;
    let after = read(id.clone()).await;
    assert_eq!(after["amount"], json!({ "amountMinor": 5_000_000, "currency": "EUR" }));
    assert_only_changed(&before, &after, &["amount"]);

    ok(&c.app, &c.admin.token, UPDATE_OPPORTUNITY, json!({ "input": { "id": id, "expectedClose": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["expectedClose"], Value::Null);
    assert_only_changed(&after, &cleared, &["expectedClose"]);

    for field in ["name", "amountMinor", "currency", "strategy"] {
        let input = json!({ "input": { "id": id, field: null } });
        assert_refused(&c.app.gql(Some(&c.admin.token), UPDATE_OPPORTUNITY, input).await, field);
    }
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}

#[tokio::test]
async fn moving_an_opportunitys_stage_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let id = full_opportunity(&c).await;
    let before = ok(&c.app, &c.admin.token, OPPORTUNITY, json!({ "id": id })).await["opportunity"].clone();

    let update = "mutation($input: UpdateOpportunityStageInput!) {
      updateOpportunityStage(input: $input) { opportunity { id } } }";
    ok(&c.app, &c.admin.token, update, json!({ "input": { "id": id, "stage": "PROPOSAL" } })).await;
    let after = ok(&c.app, &c.admin.token, OPPORTUNITY, json!({ "id": id })).await["opportunity"].clone();
    assert_eq!(after["stage"], "PROPOSAL");
    assert_only_changed(&before, &after, &["stage"]);
}

// ---------------------------------------------------------------- agreed documents

/// One kind of agreed document: how to create, edit, list and approve it.
struct Kind {
    /// `DocumentKind` value.
    kind: &'static str,
    /// The mutations' names, such as `createDefinition`.
    create: &'static str,
    update: &'static str,
    /// Their input types' names.
    create_input: &'static str,
    update_input: &'static str,
    /// The payloads' field holding the document, such as `definition`.
    payload: &'static str,
    /// The query listing every document of the kind.
    list: &'static str,
    /// Every field of the version body.
    body: &'static str,
}

impl Kind {
    async fn create(&self, c: &Cast, input: Value) -> String {
        let (name, input_type, payload) = (self.create, self.create_input, self.payload);
        let query = format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {payload} {{ id }} }} }}");
        let data = ok(&c.app, &c.marketing_manager.token, &query, json!({ "input": input })).await;
        id_of(&data, &[name, payload])
    }

    async fn update(&self, c: &Cast, input: Value) -> Value {
        let (name, input_type) = (self.update, self.update_input);
        let payload = self.payload;
        let query = format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {payload} {{ id }} }} }}");
        c.app.gql(Some(&c.sales_manager.token), &query, json!({ "input": input })).await
    }

    async fn list(&self, c: &Cast) -> Vec<Value> {
        let (list, version) = (self.list, format!("version status body {{ {} }}", self.body));
        let query = format!("{{ {list} {{ id status version inForce {{ {version} }} pending {{ {version} }} }} }}");
        let data = ok(&c.app, &c.admin.token, &query, json!({})).await;
        data[self.list].as_array().cloned().unwrap_or_default()
    }

    async fn read(&self, c: &Cast, id: &str) -> Value {
        self.list(c).await.into_iter().find(|d| d["id"] == id).unwrap_or_else(|| panic!("no document {id}"))
    }

    /// Sales and marketing approve `version`: it is AGREED.
    async fn agree(&self, c: &Cast, id: &str, version: i64) {
        let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
        let input = json!({ "input": { "kind": self.kind, "id": id, "version": version } });
        ok(&c.app, &c.sales_manager.token, approve, input.clone()).await;
        let data = ok(&c.app, &c.marketing_manager.token, approve, input).await;
        assert_eq!(data["approveDocument"]["agreed"], true, "{data}");
    }
}

const DEFINITION: Kind = Kind {
    kind: "DEFINITION",
    create: "createDefinition",
    update: "updateDefinition",
    payload: "definition",
    create_input: "CreateDefinitionInput",
    update_input: "UpdateDefinitionInput",
    list: "definitions",
    body: "term body criteria",
};

const ICP: Kind = Kind {
    kind: "IDEAL_CUSTOMER_PROFILE",
    create: "createIdealCustomerProfile",
    update: "updateIdealCustomerProfile",
    payload: "idealCustomerProfile",
    create_input: "CreateIdealCustomerProfileInput",
    update_input: "UpdateIdealCustomerProfileInput",
    list: "idealCustomerProfiles",
    body: "name industries employeeRange { min max } revenueRange { min max currency } regions extraCriteria",
};

const SLA: Kind = Kind {
    kind: "SLA",
    create: "createSla",
    update: "updateSla",
    payload: "sla",
    create_input: "CreateSlaInput",
    update_input: "UpdateSlaInput",
    list: "slas",
    body: "providerTeam consumerTeam metric target period description",
};

const PERSONA: Kind = Kind {
    kind: "PERSONA",
    create: "createPersona",
    update: "updatePersona",
    payload: "persona",
    create_input: "CreatePersonaInput",
    update_input: "UpdatePersonaInput",
    list: "personas",
    body: "name icpId titleKeywords goals pains objections buyingTriggers preferredChannels",
};

const SCORING_MODEL: Kind = Kind {
    kind: "SCORING_MODEL",
    create: "createScoringModel",
    update: "updateScoringModel",
    payload: "scoringModel",
    create_input: "CreateScoringModelInput",
    update_input: "UpdateScoringModelInput",
    list: "scoringModels",
    body: "name description fitRules { name attribute operator value values min max points }
      engagementRules { name kind pointsPerEvent cap halfLifeDays } thresholds { warm hot mql }",
};

const MESSAGE: Kind = Kind {
    kind: "MESSAGE",
    create: "createMessage",
    update: "updateMessage",
    payload: "message",
    create_input: "CreateMessageInput",
    update_input: "UpdateMessageInput",
    list: "messages",
    body: "kind competitor title body proofPoints callToAction personaId journeyStageId",
};

/// Create a document from `create` (every optional field set) and agree it; edit
/// `changed` to `value` and check the new PROPOSED version carries every other field
/// over; clear `clearable` with null and check that is the one difference to the
/// version it was edited from; and check a null for each of `required` is refused.
async fn check_document(
    c: &Cast,
    kind: &Kind,
    create: Value,
    (changed, value): (&str, Value),
    clearable: &str,
    required: &[&str],
) {
    let id = kind.create(c, create).await;
    kind.agree(c, &id, 1).await;
    let agreed = kind.read(c, &id).await;
    assert_eq!((&agreed["status"], &agreed["inForce"]["version"]), (&json!("AGREED"), &json!(1)), "{agreed}");
    let v1 = agreed["inForce"]["body"].clone();
    assert!(!v1[clearable].is_null() && !v1[changed].is_null(), "create sets every field: {v1}");

    let body = kind.update(c, json!({ "id": id, "expectedVersion": 1, changed: value })).await;
    assert!(body["errors"].is_null(), "{body}");
    let edited = kind.read(c, &id).await;
    assert_eq!((&edited["pending"]["version"], &edited["pending"]["status"]), (&json!(2), &json!("PROPOSED")));
    assert_eq!(edited["inForce"], agreed["inForce"], "the agreed version stays in force");
    let v2 = edited["pending"]["body"].clone();
    assert_eq!(v2[changed], value);
    assert_only_changed(&v1, &v2, &[changed]);

    // Edited from v2 (not from the agreed v1): v2's change stays.
    let body = kind.update(c, json!({ "id": id, "expectedVersion": 2, clearable: null })).await;
    assert!(body["errors"].is_null(), "{body}");
    let cleared = kind.read(c, &id).await;
    assert_eq!((&cleared["pending"]["version"], &cleared["pending"]["status"]), (&json!(3), &json!("PROPOSED")));
    let v3 = cleared["pending"]["body"].clone();
    assert_eq!(v3[clearable], Value::Null, "{v3}");
    assert_only_changed(&v2, &v3, &[clearable]);

    for &field in required {
        let body = kind.update(c, json!({ "id": id, field: null })).await;
        assert_refused(&body, field);
    }
    assert_eq!(kind.read(c, &id).await, cleared, "a refused null made no version");
}

#[tokio::test]
async fn updating_a_definitions_body_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = json!({
        "term": "MQL", "body": "A lead marketing vouches for.", "criteria": { "minScore": 60 }, "propose": true,
    });
    let changed = ("body", json!("A lead that scored 60 or more."));
    check_document(&c, &DEFINITION, create, changed, "criteria", &["term", "body"]).await;
}

#[tokio::test]
async fn updating_an_ideal_customer_profiles_regions_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = json!({
        "name": "Mid-market fintech", "industries": ["Fintech", "Insurance"], "employeeRange": { "min": 50, "max": 500 },
        "revenueRange": { "min": 5_000_000, "max": 100_000_000, "currency": "EUR" }, "regions": ["DACH"],
        "extraCriteria": { "techStack": ["Salesforce"] }, "propose": true,
    });
    let changed = ("regions", json!(["DACH", "Nordics"]));
    check_document(&c, &ICP, create, changed, "employeeRange", &["name", "industries", "regions"]).await;
}

#[tokio::test]
async fn updating_an_slas_target_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = json!({
        "providerTeam": "SALES", "consumerTeam": "MARKETING", "metric": "HANDOVER_RESPONSE_HOURS", "target": 24.0,
        "period": "MONTH", "description": "Sales answers every handover within a day.", "propose": true,
    });
    let required = ["providerTeam", "consumerTeam", "metric", "target", "period"];
    check_document(&c, &SLA, create, ("target", json!(12.5)), "description", &required).await;
}

#[tokio::test]
async fn updating_a_personas_pains_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let icp_id = ICP.create(&c, json!({ "name": "Mid-market fintech" })).await;
    let create = json!({
        "name": "Finance Fiona", "icpId": icp_id, "titleKeywords": ["CFO", "VP Finance"], "goals": ["Close faster"],
        "pains": ["Manual reconciliation"], "objections": ["Too expensive"], "buyingTriggers": ["New CFO"],
        "preferredChannels": ["LinkedIn"], "propose": true,
    });
    let changed = ("pains", json!(["Manual reconciliation", "Audit findings"]));
    let required = ["name", "titleKeywords", "goals", "pains", "objections", "buyingTriggers", "preferredChannels"];
    check_document(&c, &PERSONA, create, changed, "icpId", &required).await;
}

#[tokio::test]
async fn updating_a_scoring_models_thresholds_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = json!({
        "name": "Default", "description": "Fintech first.", "propose": true,
        "fitRules": [
            { "name": "Fintech", "attribute": "ACCOUNT_INDUSTRY", "operator": "EQUALS", "value": "Fintech", "points": 20 },
            { "name": "Mid-size", "attribute": "ACCOUNT_EMPLOYEE_COUNT", "operator": "RANGE", "min": 50, "max": 500, "points": 10 },
        ],
        "engagementRules": [
            { "name": "Demo requests", "kind": "DEMO_REQUEST", "pointsPerEvent": 40, "cap": 40, "halfLifeDays": 30 },
        ],
        "thresholds": { "warm": 15, "hot": 40, "mql": 50 },
    });
    let changed = ("thresholds", json!({ "warm": 20.0, "hot": 45.0, "mql": 55.0 }));
    let required = ["name", "fitRules", "engagementRules", "thresholds"];
    check_document(&c, &SCORING_MODEL, create, changed, "description", &required).await;
}

#[tokio::test]
async fn updating_a_messages_title_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let persona = draft_persona(&c, "Finance Fiona").await;
    let stages = ok(&c.app, &c.admin.token, "{ journeyStages { id } }", json!({})).await;
    let stage = stages["journeyStages"][0]["id"].clone();
    let create = json!({
        "kind": "SEGMENT", "personaId": persona, "journeyStageId": stage, "title": "Close the books in a day",
        "body": "Payly reconciles as you go.", "proofPoints": ["3x faster close"], "callToAction": "Book a demo",
        "propose": true,
    });
    let changed = ("title", json!("Close the books in an afternoon"));
    check_document(&c, &MESSAGE, create, changed, "callToAction", &["kind", "title", "body", "proofPoints"]).await;
}

// ---------------------------------------------------------------- goals, content, meetings, campaigns

const GOALS: &str =
    "{ goals { id name metric target periodStart periodEnd team version createdAt updatedAt owner { id } } }";
const UPDATE_GOAL: &str = "mutation($input: UpdateGoalInput!) { updateGoal(input: $input) { goal { id } } }";

#[tokio::test]
async fn updating_a_goals_target_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id } } }";
    let input = json!({
        "name": "Q1 MQLs", "metric": "MQLS", "target": 300.0, "periodStart": "2031-01-01", "periodEnd": "2031-03-31",
        "team": "MARKETING", "ownerId": c.marketing_manager.id,
    });
    let id = id_of(&ok(&c.app, &c.admin.token, create, json!({ "input": input })).await, &["createGoal", "goal"]);
    let (app, token) = (&c.app, &c.admin.token);
    let read = |id: String| async move {
        let data = ok(app, token, GOALS, json!({})).await;
        data["goals"].as_array().unwrap().iter().find(|g| g["id"] == id.as_str()).cloned().expect("the goal")
    };
    let before = read(id.clone()).await;

    ok(&c.app, &c.admin.token, UPDATE_GOAL, json!({ "input": { "id": id, "target": 350.0 } })).await;
    let after = read(id.clone()).await;
    assert_eq!(after["target"], 350.0);
    assert_only_changed(&before, &after, &["target"]);

    ok(&c.app, &c.admin.token, UPDATE_GOAL, json!({ "input": { "id": id, "team": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["team"], Value::Null);
    assert_only_changed(&after, &cleared, &["team"]);

    for field in ["name", "metric", "target", "periodStart", "periodEnd"] {
        let body = c.app.gql(Some(&c.admin.token), UPDATE_GOAL, json!({ "input": { "id": id, field: null } })).await;
        assert_refused(&body, field);
    }
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}

const ASSET: &str = "query($id: ID!) { contentAsset(id: $id) { id title kind url messageId personas { id }
  journeyStages { id } owner { id } archivedAt version createdAt updatedAt } }";
const UPDATE_ASSET: &str =
    "mutation($input: UpdateContentAssetInput!) { updateContentAsset(input: $input) { contentAsset { id } } }";

#[tokio::test]
async fn updating_a_content_assets_title_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let persona = draft_persona(&c, "Finance Fiona").await;
    let stages = ok(&c.app, &c.admin.token, "{ journeyStages { id } }", json!({})).await;
    let stage = stages["journeyStages"][1]["id"].clone();
    let message = "mutation($input: CreateMessageInput!) { createMessage(input: $input) { message { id } } }";
    let input = json!({ "kind": "GLOBAL", "title": "Finance on autopilot", "body": "Payly does the busywork." });
    let message = id_of(
        &ok(&c.app, &c.marketing_manager.token, message, json!({ "input": input })).await,
        &["createMessage", "message"],
    );
    let create =
        "mutation($input: CreateContentAssetInput!) { createContentAsset(input: $input) { contentAsset { id } } }";
    let input = json!({
        "title": "Payly deck", "kind": "DECK", "url": "https://cdn.payly.io/deck.pdf", "messageId": message,
        "personaIds": [persona], "journeyStageIds": [stage], "ownerId": c.marketing_manager.id,
    });
    let data = ok(&c.app, &c.marketing_manager.token, create, json!({ "input": input })).await;
    let id = id_of(&data, &["createContentAsset", "contentAsset"]);
    let read = |id: String| record(&c.app, &c.marketing_manager.token, ASSET, "contentAsset", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.marketing_manager.token, UPDATE_ASSET, json!({ "input": { "id": id, "title": "Payly deck 2031" } }))
        .await;
    let after = read(id.clone()).await;
    assert_eq!(after["title"], "Payly deck 2031");
    assert_only_changed(&before, &after, &["title"]);

    ok(&c.app, &c.marketing_manager.token, UPDATE_ASSET, json!({ "input": { "id": id, "messageId": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["messageId"], Value::Null);
    assert_only_changed(&after, &cleared, &["messageId"]);

    for field in ["title", "kind", "url", "personaIds", "journeyStageIds"] {
        let input = json!({ "input": { "id": id, field: null } });
        assert_refused(&c.app.gql(Some(&c.marketing_manager.token), UPDATE_ASSET, input).await, field);
    }
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}

const MEETING: &str = "query($id: ID!) { reviewMeeting(id: $id) { id heldOn periodStart periodEnd kpiSnapshot notes
  startedBy { id } actionItems { id meetingId title owner { id } dueOn status version createdAt } version
  createdAt updatedAt } }";
const UPDATE_MEETING: &str =
    "mutation($input: UpdateReviewMeetingInput!) { updateReviewMeeting(input: $input) { reviewMeeting { id } } }";
const UPDATE_ITEM: &str =
    "mutation($input: UpdateActionItemInput!) { updateActionItem(input: $input) { actionItem { id } } }";

/// A review meeting with notes and one action item with an owner and a due date.
async fn full_meeting(c: &Cast) -> (String, String) {
    let start =
        "mutation($input: StartReviewMeetingInput!) { startReviewMeeting(input: $input) { reviewMeeting { id } } }";
    let input = json!({ "periodStart": "2031-01-01", "periodEnd": "2031-03-31" });
    let id = id_of(
        &ok(&c.app, &c.admin.token, start, json!({ "input": input })).await,
        &["startReviewMeeting", "reviewMeeting"],
    );
    ok(&c.app, &c.admin.token, UPDATE_MEETING, json!({ "input": { "id": id, "notes": "MQL volume is short." } })).await;
    let add = "mutation($input: AddActionItemInput!) { addActionItem(input: $input) { actionItem { id } } }";
    let input =
        json!({ "meetingId": id, "title": "Fix the form", "ownerId": c.marketing_manager.id, "dueOn": "2031-04-15" });
    let item =
        id_of(&ok(&c.app, &c.admin.token, add, json!({ "input": input })).await, &["addActionItem", "actionItem"]);
    (id, item)
}

#[tokio::test]
async fn updating_a_review_meetings_notes_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let (id, _) = full_meeting(&c).await;
    let read = |id: String| record(&c.app, &c.admin.token, MEETING, "reviewMeeting", id);
    let before = read(id.clone()).await;
    assert_eq!(before["notes"], "MQL volume is short.");

    ok(&c.app, &c.admin.token, UPDATE_MEETING, json!({ "input": { "id": id, "notes": "MQL volume recovered." } }))
        .await;
    let after = read(id.clone()).await;
    assert_eq!(after["notes"], "MQL volume recovered.");
    assert_only_changed(&before, &after, &["notes"]);

    // Notes left out stay.
    ok(&c.app, &c.admin.token, UPDATE_MEETING, json!({ "input": { "id": id, "expectedVersion": after["version"] } }))
        .await;
    assert_eq!(read(id.clone()).await, after);

    ok(&c.app, &c.admin.token, UPDATE_MEETING, json!({ "input": { "id": id, "notes": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["notes"], Value::Null);
    assert_only_changed(&after, &cleared, &["notes"]);
}

#[tokio::test]
async fn updating_an_action_items_title_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let (meeting, id) = full_meeting(&c).await;
    let (app, token, meeting) = (&c.app, &c.admin.token, &meeting);
    let read = |id: String| async move {
        let data = ok(app, token, MEETING, json!({ "id": meeting })).await;
        data["reviewMeeting"]["actionItems"].as_array().unwrap().iter().find(|i| i["id"] == id.as_str()).cloned()
    };
    let before = read(id.clone()).await.expect("the item");

    ok(&c.app, &c.admin.token, UPDATE_ITEM, json!({ "input": { "id": id, "title": "Fix the demo form" } })).await;
    let after = read(id.clone()).await.expect("the item");
    assert_eq!(after["title"], "Fix the demo form");
    assert_only_changed(&before, &after, &["title"]);

    ok(&c.app, &c.admin.token, UPDATE_ITEM, json!({ "input": { "id": id, "dueOn": null } })).await;
    let cleared = read(id.clone()).await.expect("the item");
    assert_eq!(cleared["dueOn"], Value::Null);
    assert_only_changed(&after, &cleared, &["dueOn"]);

    for field in ["title", "status"] {
        let body = c.app.gql(Some(&c.admin.token), UPDATE_ITEM, json!({ "input": { "id": id, field: null } })).await;
        assert_refused(&body, field);
    }
    assert_eq!(read(id).await, Some(cleared), "a refused null changed nothing");
}

const CAMPAIGN: &str = "query($id: ID!) { campaign(id: $id) { id name channel startsOn endsOn
  budget { amountMinor currency } spend { amountMinor currency } archivedAt version createdAt updatedAt
  owner { id } leadCount } }";
const UPDATE_CAMPAIGN: &str =
    "mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { campaign { id } } }";

#[tokio::test]
async fn updating_a_campaigns_spend_leaves_every_other_field_as_it_was() {
    let c = cast().await;
    let create = "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id } } }";
    let input = json!({
        "name": "Q1 Webinar", "channel": "WEBINAR", "startsOn": "2031-01-10", "endsOn": "2031-02-10",
        "budgetMinor": 2_000_000, "spendMinor": 150_000, "currency": "EUR", "ownerId": c.marketing_manager.id,
    });
    let id = id_of(
        &ok(&c.app, &c.marketing_manager.token, create, json!({ "input": input })).await,
        &["createCampaign", "campaign"],
    );
    let read = |id: String| record(&c.app, &c.marketing_manager.token, CAMPAIGN, "campaign", id);
    let before = read(id.clone()).await;

    ok(&c.app, &c.marketing_manager.token, UPDATE_CAMPAIGN, json!({ "input": { "id": id, "spendMinor": 900_000 } }))
        .await;
    let after = read(id.clone()).await;
    assert_eq!(after["spend"], json!({ "amountMinor": 900_000, "currency": "EUR" }));
    assert_only_changed(&before, &after, &["spend"]);

    ok(&c.app, &c.marketing_manager.token, UPDATE_CAMPAIGN, json!({ "input": { "id": id, "ownerId": null } })).await;
    let cleared = read(id.clone()).await;
    assert_eq!(cleared["owner"], Value::Null);
    assert_only_changed(&after, &cleared, &["owner"]);

    for field in ["name", "channel", "startsOn", "endsOn", "budgetMinor", "spendMinor", "currency"] {
        let input = json!({ "input": { "id": id, field: null } });
        assert_refused(&c.app.gql(Some(&c.marketing_manager.token), UPDATE_CAMPAIGN, input).await, field);
    }
    assert_eq!(read(id).await, cleared, "a refused null changed nothing");
}
