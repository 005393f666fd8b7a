//! Inputs are bounded and clean on both databases: numbers outside their documented
//! range, control characters such as NUL, and passwords outside 8 to 1,024 bytes are
//! BAD_USER_INPUT naming the field, and change nothing.

use std::time::{Duration, Instant};

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_GOAL: &str =
    "mutation($input: CreateGoalInput!) { createGoal(input: $input) { goal { id target version } } }";
const UPDATE_GOAL: &str =
    "mutation($input: UpdateGoalInput!) { updateGoal(input: $input) { goal { target version } } }";
const CREATE_CAMPAIGN: &str =
    "mutation($input: CreateCampaignInput!) { createCampaign(input: $input) { campaign { id version } } }";
const UPDATE_CAMPAIGN: &str =
    "mutation($input: UpdateCampaignInput!) { updateCampaign(input: $input) { campaign { version } } }";
const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
const UPDATE_LEAD: &str =
    "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { lastName version } } }";
const CREATE_USER: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }";
const UPDATE_USER: &str = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { version } } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token } }";
const LOG_ACTIVITY: &str = "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }";

/// Assert a BAD_USER_INPUT naming `field`.
#[track_caller]
fn assert_bad_input(body: &Value, field: &str) {
    assert_error(body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    assert!(body["data"].is_null() || body["data"].as_object().is_some_and(|d| d.values().all(Value::is_null)));
}

/// Assert a BAD_USER_INPUT whose field ends with `field`: NUL is refused by the domain
/// (`firstName`) or, earlier, by the request's text check (`variables.input.firstName`).
#[track_caller]
fn assert_bad_text(body: &Value, field: &str) {
    assert_error(body, "BAD_USER_INPUT");
    let named = body["errors"][0]["extensions"]["field"].as_str().unwrap_or_default();
    assert!(named == field || named.ends_with(&format!(".{field}")), "expected the field {field}: {body}");
}

fn goal(target: Value) -> Value {
    json!({ "input": { "name": "Q1 MQLs", "metric": "MQLS", "target": target,
                       "periodStart": "2027-01-01", "periodEnd": "2027-03-31" } })
}

async fn goals(app: &TestApp, token: &str) -> Value {
    app.gql(Some(token), "{ goals { target version } }", json!({})).await["data"]["goals"].clone()
}

#[tokio::test]
async fn a_goal_target_of_1e308_is_refused_and_the_goal_keeps_its_target() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let body = app.gql(Some(token), CREATE_GOAL, goal(json!(900))).await;
    let id = body["data"]["createGoal"]["goal"]["id"].clone();
    let audit = app.count_audit_rows(&org).await;

    let body = app.gql(Some(token), CREATE_GOAL, goal(json!(1e308))).await;
    assert_bad_input(&body, "target");
    let body = app.gql(Some(token), UPDATE_GOAL, json!({ "input": { "id": id, "target": 1e308 } })).await;
    assert_bad_input(&body, "target");
    let message = assert_error(&body, "BAD_USER_INPUT");
    assert!(message.contains("1,000,000,000,000,000"), "the error states the range: {message}");

    assert_eq!(goals(&app, token).await, json!([{ "target": 900.0, "version": 1 }]));
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

fn campaign(budget: Value) -> Value {
    json!({ "input": { "name": "Spring Webinar", "channel": "WEBINAR", "startsOn": "2026-11-01",
                       "endsOn": "2026-11-30", "budgetMinor": budget, "currency": "EUR" } })
}

async fn campaigns(app: &TestApp, token: &str) -> Value {
    let query = "{ campaigns { budget { amountMinor } spend { amountMinor } version } }";
    app.gql(Some(token), query, json!({})).await["data"]["campaigns"].clone()
}

#[tokio::test]
async fn negative_and_huge_money_amounts_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let body = app.gql(Some(token), CREATE_CAMPAIGN, campaign(json!(500_000))).await;
    let id = body["data"]["createCampaign"]["campaign"]["id"].clone();
    let (before, audit) = (campaigns(&app, token).await, app.count_audit_rows(&org).await);

    for amount in [json!(-1), json!(1_000_000_000_000_001_i64), json!(i64::MAX)] {
        let body = app.gql(Some(token), CREATE_CAMPAIGN, campaign(amount.clone())).await;
        assert_bad_input(&body, "budgetMinor");
        let input = json!({ "input": { "id": id, "spendMinor": amount } });
        assert_bad_input(&app.gql(Some(token), UPDATE_CAMPAIGN, input).await, "spendMinor");
    }

    assert_eq!(campaigns(&app, token).await, before);
    assert_eq!(before[0]["budget"]["amountMinor"], 500_000);
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

async fn lead_names(app: &TestApp, token: &str) -> Value {
    let query = "{ leads { totalCount nodes { firstName lastName version } } }";
    app.gql(Some(token), query, json!({})).await["data"]["leads"].clone()
}

#[tokio::test]
async fn a_nul_byte_in_a_lead_name_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let input = json!({ "input": { "email": "ana@payly.io", "firstName": "Ana", "lastName": "Silva" } });
    let body = app.gql(Some(token), CREATE_LEAD, input).await;
    let id = body["data"]["createLead"]["lead"]["id"].clone();
    let (before, audit) = (lead_names(&app, token).await, app.count_audit_rows(&org).await);

    let input = json!({ "input": { "email": "bo@payly.io", "firstName": "a\u{0}b" } });
    assert_bad_text(&app.gql(Some(token), CREATE_LEAD, input).await, "firstName");
    let input = json!({ "input": { "id": id, "lastName": "Sil\u{0}va" } });
    assert_bad_text(&app.gql(Some(token), UPDATE_LEAD, input).await, "lastName");
    let input = json!({ "input": { "email": "cy@payly.io", "lastName": "\u{1b}[31mred" } });
    assert_bad_text(&app.gql(Some(token), CREATE_LEAD, input).await, "lastName");

    let after = lead_names(&app, token).await;
    assert_eq!(after, before);
    assert_eq!(after["nodes"][0]["lastName"], "Silva");
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

async fn user_count(app: &TestApp, token: &str) -> i64 {
    app.gql(Some(token), "{ users { totalCount } }", json!({})).await["data"]["users"]["totalCount"]
        .as_i64()
        .expect("a total count")
}

fn new_user(email: &str, password: &str) -> Value {
    json!({ "input": { "email": email, "name": "Robin Rep", "team": "SALES", "role": "MEMBER", "password": password } })
}

#[tokio::test]
async fn passwords_outside_8_to_1024_bytes_are_refused_on_create_and_update_user() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let member = app.create_user(&org, Team::Sales, Role::Member).await;
    let (users, audit) = (user_count(&app, token).await, app.count_audit_rows(&org).await);

    let too_long = "x".repeat(2000);
    // 342 three-byte characters: 342 characters, but 1,026 bytes.
    let too_many_bytes = "€".repeat(342);
    for password in [too_long.as_str(), too_many_bytes.as_str(), "7 bytes"] {
        let body = app.gql(Some(token), CREATE_USER, new_user("robin@acme.test", password)).await;
        assert_bad_input(&body, "password");
        let input = json!({ "input": { "id": member.id, "password": password } });
        assert_bad_input(&app.gql(Some(token), UPDATE_USER, input).await, "password");
    }

    assert_eq!(user_count(&app, token).await, users);
    assert_eq!(app.count_audit_rows(&org).await, audit);
    let body = app.gql(Some(token), "query($id: ID!) { user(id: $id) { version } }", json!({ "id": member.id })).await;
    assert_eq!(body["data"]["user"]["version"], 1, "{body}");
}

#[tokio::test]
async fn an_8_byte_password_is_the_shortest_accepted_and_signs_in() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let body = app.gql(Some(&org.admin.token), CREATE_USER, new_user("robin@acme.test", "8 bytes!")).await;
    assert!(body["errors"].is_null(), "{body}");

    let input = json!({ "input": { "organization": org.slug, "email": "robin@acme.test", "password": "8 bytes!" } });
    let body = app.gql(None, LOGIN, input).await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_900_kb_password_on_login_is_refused_at_once_without_hashing() {
    // Let the body reach `login`: by default an anonymous body that large stops at the door.
    let app = spawn_app_with(|config| config.max_anonymous_body_bytes = config.max_body_bytes).await;
    let org = app.create_org("Acme").await;
    let huge = "x".repeat(900 * 1024);
    let input = json!({ "input": { "organization": org.slug, "email": org.admin.email, "password": huge } });

    let started = Instant::now();
    let body = app.gql(None, LOGIN, input).await;
    let took = started.elapsed();

    assert_bad_input(&body, "input.password");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // The right password still signs in: the refusal was no failed attempt.
    let input = json!({ "input": { "organization": org.slug, "email": org.admin.email, "password": PASSWORD } });
    let body = app.gql(None, LOGIN, input).await;
    assert!(body["data"]["login"]["token"].is_string(), "{body}");
}

#[tokio::test]
async fn a_password_over_1024_bytes_on_login_is_bad_input_naming_the_field() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let input =
        json!({ "input": { "organization": org.slug, "email": org.admin.email, "password": "x".repeat(2000) } });
    assert_bad_input(&app.gql(None, LOGIN, input).await, "input.password");

    // Exactly 1,024 bytes is merely wrong.
    let input =
        json!({ "input": { "organization": org.slug, "email": org.admin.email, "password": "x".repeat(1024) } });
    assert_error(&app.gql(None, LOGIN, input).await, "UNAUTHENTICATED");
}

#[tokio::test]
async fn counts_durations_and_filters_outside_their_range_are_refused() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = &org.admin.token;
    let audit = app.count_audit_rows(&org).await;

    let input = json!({ "input": { "kind": "CALL", "customerFacing": true, "durationMinutes": 100_000 } });
    assert_bad_input(&app.gql(Some(token), LOG_ACTIVITY, input).await, "durationMinutes");
    let input = json!({ "input": { "kind": "CALL", "customerFacing": true, "durationMinutes": -5 } });
    assert_bad_input(&app.gql(Some(token), LOG_ACTIVITY, input).await, "durationMinutes");
    let body = app.gql(Some(token), "{ activities { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["activities"]["totalCount"], 0, "{body}");

    let query = "query($f: LeadFilter) { leads(filter: $f) { totalCount } }";
    let body = app.gql(Some(token), query, json!({ "f": { "scoreMin": -1e308 } })).await;
    assert_bad_input(&body, "filter.scoreMin");
    let body = app.gql(Some(token), query, json!({ "f": { "account": { "employeesMax": -1 } } })).await;
    assert_bad_input(&body, "filter.account.employeesMax");
    let query = "query($f: OpportunityFilter) { opportunities(filter: $f) { totalCount } }";
    let body = app.gql(Some(token), query, json!({ "f": { "amountMin": -1 } })).await;
    assert_bad_input(&body, "filter.amountMin");
    let body = app.gql(Some(token), "{ unusedContent(days: 0) { id } }", json!({})).await;
    assert_bad_input(&body, "days");

    assert_eq!(app.count_audit_rows(&org).await, audit);
}

#[test]
fn org_create_refuses_a_2000_byte_admin_password_before_touching_the_database() {
    let dir = std::env::temp_dir().join(format!("accord-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("accord.db");
    let url = format!("sqlite://{}?mode=rwc", database.display());

    let mut accord = std::process::Command::new(env!("CARGO_BIN_EXE_accord"));
    for var in ["ACCORD_BIND", "ACCORD_JWT_SECRET", "ACCORD_JWT_PUBLIC_KEY", "ACCORD_CORS_ORIGINS"] {
        accord.env_remove(var);
    }
    let output = accord
        .env("DATABASE_URL", &url)
        .args(["org", "create", "--name", "Acme", "--admin-email", "ops@acme.test", "--admin-password"])
        .arg("x".repeat(2000))
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--admin-password") && stderr.contains("1,024 bytes"), "{stderr}");
    assert!(!database.exists(), "nothing was created");
    std::fs::remove_dir_all(&dir).ok();
}
