//! Organization administration: users, the organization, the audit log, and the
//! list conventions (cursors, page sizes) they share with every later list.

use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const CREATE_USER: &str = "mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id email name team role active version } }
}";

fn new_user(email: &str) -> Value {
    json!({ "input": { "email": email, "name": "Robin Rep", "team": "SALES", "role": "MEMBER" } })
}

async fn user_count(app: &TestApp, token: &str) -> i64 {
    let body = app.gql(Some(token), "{ users { totalCount } }", json!({})).await;
    body["data"]["users"]["totalCount"].as_i64().expect("a total count")
}

#[tokio::test]
async fn an_admin_creates_a_user_and_the_audit_log_records_it() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let body = app.gql(Some(&org.admin.token), CREATE_USER, new_user(" Robin@Acme.TEST ")).await;
    let user = &body["data"]["createUser"]["user"];
    assert_eq!(user["email"], "robin@acme.test", "{body}");
    assert_eq!(
        (user["team"].as_str(), user["role"].as_str(), user["active"].as_bool()),
        (Some("SALES"), Some("MEMBER"), Some(true))
    );

    let log = app
        .gql(
            Some(&org.admin.token),
            "query($id: ID!) { auditLog(filter: { entityId: $id }) { totalCount nodes { action entity actorKind actorName changes } } }",
            json!({ "id": user["id"] }),
        )
        .await;
    let entries = &log["data"]["auditLog"];
    assert_eq!(entries["totalCount"], 1, "{log}");
    let entry = &entries["nodes"][0];
    assert_eq!((entry["action"].as_str(), entry["actorKind"].as_str()), (Some("user.create"), Some("USER")));
    assert_eq!(entry["actorName"], "Acme Admin");
    assert_eq!(entry["changes"]["email"]["to"], "robin@acme.test");
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.gql(Some(&org.admin.token), CREATE_USER, new_user("robin@acme.test")).await;
    let (users, audit) = (user_count(&app, &org.admin.token).await, app.count_audit_rows(&org).await);

    let body = app.gql(Some(&org.admin.token), CREATE_USER, new_user("ROBIN@acme.test")).await;
    assert_error(&body, "CONFLICT");
    assert_eq!(user_count(&app, &org.admin.token).await, users);
    assert_eq!(app.count_audit_rows(&org).await, audit);
}

#[tokio::test]
async fn bad_user_input_names_the_field_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let audit = app.count_audit_rows(&org).await;
    let body = app.gql(Some(&org.admin.token), CREATE_USER, new_user("not-an-email")).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "email");

    let mut weak = new_user("weak@acme.test");
    weak["input"]["password"] = json!("short");
    let body = app.gql(Some(&org.admin.token), CREATE_USER, weak).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "password", "{body}");
    assert_eq!(app.count_audit_rows(&org).await, audit);
    assert_eq!(user_count(&app, &org.admin.token).await, 1);
}

#[tokio::test]
async fn viewers_and_members_may_not_administer_and_nothing_is_written() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let viewer = app.create_user(&org, Team::Marketing, Role::Viewer).await;
    let member = app.create_user(&org, Team::Sales, Role::Member).await;
    let audit = app.count_audit_rows(&org).await;
    for token in [&viewer.token, &member.token] {
        assert_error(&app.gql(Some(token), CREATE_USER, new_user("x@acme.test")).await, "FORBIDDEN");
        let deactivate = "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { id } } }";
        assert_error(&app.gql(Some(token), deactivate, json!({ "id": org.admin.id })).await, "FORBIDDEN");
        assert_error(&app.gql(Some(token), "{ apiKeys { id } }", json!({})).await, "FORBIDDEN");
    }
    assert_eq!(app.count_audit_rows(&org).await, audit);
    assert_eq!(user_count(&app, &org.admin.token).await, 3);
    // Viewers still read.
    assert_eq!(user_count(&app, &viewer.token).await, 3);
}

#[tokio::test]
async fn another_organizations_records_are_not_found() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let audit = app.count_audit_rows(&globex).await;

    let body = app
        .gql(Some(&acme.admin.token), "query($id: ID!) { user(id: $id) { email } }", json!({ "id": globex.admin.id }))
        .await;
    assert_error(&body, "NOT_FOUND");
    assert!(body["data"]["user"].is_null());

    let update = "mutation($id: ID!) { updateUser(input: { id: $id, name: \"Pwned\" }) { user { name } } }";
    assert_error(&app.gql(Some(&acme.admin.token), update, json!({ "id": globex.admin.id })).await, "NOT_FOUND");
    let deactivate = "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { id } } }";
    assert_error(&app.gql(Some(&acme.admin.token), deactivate, json!({ "id": globex.admin.id })).await, "NOT_FOUND");

    let key = app
        .gql(
            Some(&globex.admin.token),
            "mutation { createApiKey(input: { name: \"BI\", scopes: [KPIS_READ] }) { apiKey { id } } }",
            json!({}),
        )
        .await;
    let key_id = &key["data"]["createApiKey"]["apiKey"]["id"];
    let audit = audit + 1;
    let revoke = "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }";
    assert_error(&app.gql(Some(&acme.admin.token), revoke, json!({ "id": key_id })).await, "NOT_FOUND");

    // Lists only show the caller's organization.
    let users = app.gql(Some(&acme.admin.token), "{ users { nodes { email } } apiKeys { id } }", json!({})).await;
    assert_eq!(users["data"]["users"]["nodes"], json!([{ "email": acme.admin.email }]));
    assert_eq!(users["data"]["apiKeys"], json!([]));
    let log = app.gql(Some(&acme.admin.token), "{ auditLog(first: 100) { nodes { entityId } } }", json!({})).await;
    let entries = log["data"]["auditLog"]["nodes"].as_array().unwrap_or_else(|| panic!("{log}"));
    assert!(entries.iter().any(|e| e["entityId"] == json!(acme.id)), "Acme's own entries are listed: {log}");
    assert!(entries.iter().all(|e| e["entityId"] != json!(globex.admin.id)), "{log}");
    assert_eq!(app.count_audit_rows(&globex).await, audit);
}

#[tokio::test]
async fn users_page_forwards_and_backwards_with_cursors() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    for i in 0..4 {
        app.gql(Some(&org.admin.token), CREATE_USER, new_user(&format!("user{i}@acme.test"))).await;
    }
    let page = "query($first: Int, $after: String, $last: Int, $before: String) {
      users(first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { email } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }";
    let emails = |body: &Value| -> Vec<String> {
        body["data"]["users"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = app.gql(Some(&org.admin.token), page, json!({ "first": 2 })).await;
    assert_eq!(emails(&first), ["admin@acme.test", "user0@acme.test"]);
    assert_eq!(first["data"]["users"]["totalCount"], 5);
    assert_eq!(first["data"]["users"]["pageInfo"]["hasNextPage"], true);

    let cursor = &first["data"]["users"]["pageInfo"]["endCursor"];
    let second = app.gql(Some(&org.admin.token), page, json!({ "first": 2, "after": cursor })).await;
    assert_eq!(emails(&second), ["user1@acme.test", "user2@acme.test"]);
    assert_eq!(second["data"]["users"]["pageInfo"]["hasPreviousPage"], true);

    let cursor = &second["data"]["users"]["pageInfo"]["endCursor"];
    let third = app.gql(Some(&org.admin.token), page, json!({ "first": 2, "after": cursor })).await;
    assert_eq!(emails(&third), ["user3@acme.test"]);
    assert_eq!(third["data"]["users"]["pageInfo"]["hasNextPage"], false);

    let last = app.gql(Some(&org.admin.token), page, json!({ "last": 2 })).await;
    assert_eq!(emails(&last), ["user2@acme.test", "user3@acme.test"]);
    assert_eq!(last["data"]["users"]["pageInfo"]["hasPreviousPage"], true);
    let before = &last["data"]["users"]["pageInfo"]["startCursor"];
    let back = app.gql(Some(&org.admin.token), page, json!({ "last": 2, "before": before })).await;
    assert_eq!(emails(&back), ["user0@acme.test", "user1@acme.test"]);
}

/// Cursors are made only for a page that shows one, and every way of asking shows
/// them: aliases, fragments, inline fragments, and a second selection of the same
/// list beside one without cursors.
#[tokio::test]
async fn cursors_are_shown_however_they_are_asked_for() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let t = &org.admin.token;
    for i in 0..3 {
        app.gql(Some(t), CREATE_USER, new_user(&format!("user{i}@acme.test"))).await;
    }
    let plain = app
        .gql(Some(t), "{ users(first: 2) { edges { cursor } pageInfo { startCursor endCursor } } }", json!({}))
        .await;
    let edges = &plain["data"]["users"]["edges"];
    let (first, second) = (&edges[0]["cursor"], &edges[1]["cursor"]);
    assert!(first.as_str().is_some_and(|c| !c.is_empty()), "{plain}");
    assert_eq!(plain["data"]["users"]["pageInfo"], json!({ "startCursor": first, "endCursor": second }));

    let asked = [
        "{ users(first: 2) { e: edges { c: cursor } p: pageInfo { s: startCursor } } }",
        "{ users(first: 2) { ...Page } } fragment Page on UserConnection { edges { ...Edge } pageInfo { endCursor } }
         fragment Edge on UserEdge { cursor }",
        "{ users(first: 2) { ... on UserConnection { edges { ... on UserEdge { cursor } } } } }",
        "{ a: users(first: 2) { nodes { email } } users(first: 2) { edges { cursor } } }",
    ];
    for query in asked {
        let body = app.gql(Some(t), query, json!({})).await;
        let text = body.to_string();
        assert!(body.get("errors").is_none(), "{query}: {text}");
        assert!(text.contains(second.as_str().unwrap()), "{query}: {text}");
        assert!(!text.contains("\"\""), "no empty cursor: {query}: {text}");
    }
    // A page without cursors still tells whether more follow, and the next page is the
    // one its cursor leads to.
    let bare = app.gql(Some(t), "{ users(first: 2) { nodes { email } pageInfo { hasNextPage } } }", json!({})).await;
    assert_eq!(bare["data"]["users"]["pageInfo"]["hasNextPage"], true, "{bare}");
    let next = app
        .gql(
            Some(t),
            "query($after: String) { users(first: 2, after: $after) { nodes { email } } }",
            json!({ "after": second }),
        )
        .await;
    assert_eq!(
        next["data"]["users"]["nodes"],
        json!([{ "email": "user1@acme.test" }, { "email": "user2@acme.test" }]),
        "{next}"
    );
    // A lead's activities, read with the lead, as the lead detail reads them.
    let id = &json!(app.create_lead(t, json!({ "email": "c@x.io", "firstName": "C", "lastName": "X" })).await);
    for kind in ["CALL", "EMAIL"] {
        let log = app.gql(Some(t), "mutation($lead: ID!, $kind: ActivityKind!) { logActivity(input: { leadId: $lead, kind: $kind, customerFacing: true, durationMinutes: 10 }) { activity { id } } }", json!({ "lead": id, "kind": kind })).await;
        assert!(log.get("errors").is_none(), "{log}");
    }
    let detail = "query($id: ID!) { lead(id: $id) { bare: activities(first: 1) { nodes { kind } }
        activities(first: 1) { edges { cursor } pageInfo { endCursor hasNextPage } } } }";
    let body = app.gql(Some(t), detail, json!({ "id": id })).await;
    let activities = &body["data"]["lead"]["activities"];
    let cursor = &activities["edges"][0]["cursor"];
    assert!(cursor.as_str().is_some_and(|c| !c.is_empty()), "{body}");
    assert_eq!(&activities["pageInfo"]["endCursor"], cursor, "{body}");
    let later = app.gql(Some(t), "query($id: ID!, $after: String) { lead(id: $id) { activities(first: 1, after: $after) { nodes { kind } } } }", json!({ "id": id, "after": cursor })).await;
    let (shown, rest) = (&body["data"]["lead"]["bare"]["nodes"], &later["data"]["lead"]["activities"]["nodes"]);
    assert_eq!((shown.as_array().map(Vec::len), rest.as_array().map(Vec::len)), (Some(1), Some(1)), "{body} {later}");
    assert_ne!(shown[0]["kind"], rest[0]["kind"], "the cursor leads past the first activity: {body} {later}");
}

#[tokio::test]
async fn users_are_filtered_by_team_role_and_search() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    app.create_user(&org, Team::Marketing, Role::Manager).await;
    app.create_user(&org, Team::Sales, Role::Member).await;
    let query = "query($filter: UserFilter) { users(filter: $filter) { totalCount nodes { team role } } }";
    let body = app.gql(Some(&org.admin.token), query, json!({ "filter": { "teams": ["MARKETING"] } })).await;
    assert_eq!(body["data"]["users"]["nodes"], json!([{ "team": "MARKETING", "role": "MANAGER" }]));
    let body = app.gql(Some(&org.admin.token), query, json!({ "filter": { "search": "ACME ADM" } })).await;
    assert_eq!(body["data"]["users"]["totalCount"], 1, "{body}");
    let body = app.gql(Some(&org.admin.token), query, json!({ "filter": { "search": "%" } })).await;
    assert_eq!(body["data"]["users"]["totalCount"], 0, "a % is matched literally: {body}");
}

#[tokio::test]
async fn bad_cursors_and_page_sizes_are_bad_input() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.admin.token.as_str());
    let garbage = app.gql(token, "{ users(after: \"garbage!!\") { totalCount } }", json!({})).await;
    assert_error(&garbage, "BAD_USER_INPUT");
    assert_eq!(garbage["errors"][0]["extensions"]["field"], "after");

    // A cursor of another list is refused too.
    let log = app.gql(token, "{ auditLog(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let foreign = log["data"]["auditLog"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let body = app.gql(token, "query($c: String) { users(after: $c) { totalCount } }", json!({ "c": foreign })).await;
    assert_error(&body, "BAD_USER_INPUT");

    for first in [1_000_000, -1] {
        let body = app.gql(token, "query($n: Int) { users(first: $n) { totalCount } }", json!({ "n": first })).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "first");
    }
}

#[tokio::test]
async fn a_stale_version_is_a_conflict() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let update = "mutation($input: UpdateUserInput!) { updateUser(input: $input) { user { name team version } } }";
    let body = app
        .gql(
            Some(&org.admin.token),
            update,
            json!({ "input": { "id": rep.id, "expectedVersion": 1, "team": "SERVICE" } }),
        )
        .await;
    assert_eq!(body["data"]["updateUser"]["user"], json!({ "name": "Sales Member", "team": "SERVICE", "version": 2 }));

    let audit = app.count_audit_rows(&org).await;
    let stale = app
        .gql(Some(&org.admin.token), update, json!({ "input": { "id": rep.id, "expectedVersion": 1, "name": "Late" } }))
        .await;
    assert_error(&stale, "CONFLICT");
    assert_eq!(app.count_audit_rows(&org).await, audit);
    let user =
        app.gql(Some(&org.admin.token), "query($id: ID!) { user(id: $id) { name } }", json!({ "id": rep.id })).await;
    assert_eq!(user["data"]["user"]["name"], "Sales Member");
}

#[tokio::test]
async fn the_last_active_admin_stays() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let demote = "mutation($id: ID!) { updateUser(input: { id: $id, role: MEMBER }) { user { role } } }";
    assert_error(&app.gql(Some(&org.admin.token), demote, json!({ "id": org.admin.id })).await, "CONFLICT");
    let deactivate = "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { active } } }";
    assert_error(&app.gql(Some(&org.admin.token), deactivate, json!({ "id": org.admin.id })).await, "CONFLICT");
    assert_eq!(app.gql(Some(&org.admin.token), "{ me { role } }", json!({})).await["data"]["me"]["role"], "ADMIN");

    // With a second admin, the first may step down.
    let second = app.create_user(&org, Team::Revops, Role::Admin).await;
    let body = app.gql(Some(&second.token), demote, json!({ "id": org.admin.id })).await;
    assert_eq!(body["data"]["updateUser"]["user"]["role"], "MEMBER", "{body}");
}

#[tokio::test]
async fn admins_change_organization_settings() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let update = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name version settings { handoverResponseHours } } } }";
    let settings = json!({ "handoverResponseHours": 8, "feedbackActionableEndorsers": 3, "feedbackActionableAccounts": 2, "approvalRequiresService": false });
    let body = app
        .gql(
            Some(&org.admin.token),
            update,
            json!({ "input": { "name": "Acme Corp", "settings": settings, "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateOrganization"]["organization"],
        json!({ "name": "Acme Corp", "version": 2, "settings": { "handoverResponseHours": 8 } })
    );

    let audit = app.count_audit_rows(&org).await;
    let mut bad = settings.clone();
    bad["handoverResponseHours"] = json!(0);
    let body = app.gql(Some(&org.admin.token), update, json!({ "input": { "settings": bad } })).await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "settings.handoverResponseHours");
    assert_eq!(app.count_audit_rows(&org).await, audit);

    let member = app.create_user(&org, Team::Sales, Role::Manager).await;
    assert_error(&app.gql(Some(&member.token), update, json!({ "input": { "name": "Mine" } })).await, "FORBIDDEN");
}

#[tokio::test]
async fn the_audit_log_is_for_admins_and_managers() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let manager = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let member = app.create_user(&org, Team::Marketing, Role::Member).await;
    let query = "{ auditLog { totalCount } }";
    assert!(
        app.gql(Some(&manager.token), query, json!({})).await["data"]["auditLog"]["totalCount"].as_i64().unwrap() >= 3
    );
    assert_error(&app.gql(Some(&member.token), query, json!({})).await, "FORBIDDEN");
}

#[tokio::test]
async fn changing_one_setting_leaves_every_other_setting_as_it_was() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let update = "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { name settings { handoverResponseHours feedbackActionableEndorsers feedbackActionableAccounts approvalRequiresService autoHandOverMqls timeZone reportingCurrency apiRequestsPerMinute } } } }";
    let all = json!({ "handoverResponseHours": 8, "feedbackActionableEndorsers": 4, "feedbackActionableAccounts": 1,
        "approvalRequiresService": true, "autoHandOverMqls": true, "timeZone": "Europe/Berlin",
        "reportingCurrency": "USD", "apiRequestsPerMinute": 600 });
    let body = app.gql(Some(&org.admin.token), update, json!({ "input": { "settings": all } })).await;
    assert_eq!(body["data"]["updateOrganization"]["organization"]["settings"], all, "{body}");

    // Act: name one setting only.
    let body = app
        .gql(Some(&org.admin.token), update, json!({ "input": { "settings": { "handoverResponseHours": 12 } } }))
        .await;
    let mut expected = all.clone();
    expected["handoverResponseHours"] = json!(12);
    assert_eq!(body["data"]["updateOrganization"]["organization"]["settings"], expected, "{body}");
    assert_eq!(body["data"]["updateOrganization"]["organization"]["name"], "Acme");
    // The audit entry lists exactly the setting that changed.
    let audit = "{ auditLog(filter: { action: \"organization.update\" }, first: 1) { nodes { changes } } }";
    let entry = &app.gql(Some(&org.admin.token), audit, json!({})).await["data"]["auditLog"]["nodes"][0]["changes"];
    assert_eq!(entry, &json!({ "settings.handoverResponseHours": { "from": 8, "to": 12 } }));

    // Explicit null clears what may be cleared, and nothing else.
    let body = app
        .gql(Some(&org.admin.token), update, json!({ "input": { "settings": { "apiRequestsPerMinute": null } } }))
        .await;
    expected["apiRequestsPerMinute"] = json!(null);
    assert_eq!(body["data"]["updateOrganization"]["organization"]["settings"], expected, "{body}");
}

#[tokio::test]
async fn a_setting_that_cannot_be_cleared_or_a_bad_merge_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let update =
        "mutation($input: UpdateOrganizationInput!) { updateOrganization(input: $input) { organization { version } } }";
    let read = "{ organization { version settings { timeZone reportingCurrency } } }";
    let before = app.gql(Some(&org.admin.token), read, json!({})).await;
    let audit = app.count_audit_rows(&org).await;
    for (settings, field) in [
        (json!({ "timeZone": null }), "settings.timeZone"),
        (json!({ "timeZone": "Mars/Olympus" }), "settings.timeZone"),
        (json!({ "reportingCurrency": "EURO" }), "settings.reportingCurrency"),
        (json!({ "feedbackActionableEndorsers": 0 }), "settings.feedbackActionableEndorsers"),
        (json!({ "apiRequestsPerMinute": 0 }), "settings.apiRequestsPerMinute"),
    ] {
        let body = app.gql(Some(&org.admin.token), update, json!({ "input": { "settings": settings } })).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    assert_eq!(app.gql(Some(&org.admin.token), read, json!({})).await, before);
    assert_eq!(app.count_audit_rows(&org).await, audit);
}
