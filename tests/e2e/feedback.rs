//! The feedback loop: subjects that must exist, endorsements (one per person, even
//! under concurrent requests; never one's own), the actionable thresholds, themes,
//! the status workflow and who runs it, and review meetings with action items.

use entity::{Role, Team};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::common::*;

const SUBMIT: &str = "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id status tag author { id } signal { distinctReporters actionable } } } }";
const ENDORSE: &str = "mutation($input: EndorseFeedbackInput!) { endorseFeedback(input: $input) { feedback { id } endorsement { id team } } }";
const SET_STATUS: &str = "mutation($input: SetFeedbackStatusInput!) { setFeedbackStatus(input: $input) { feedback { status response respondedBy { id } version } } }";
const SIGNAL: &str = "query($id: ID!) { feedbackItem(id: $id) { signal { distinctReporters distinctTeams distinctAccounts endorsements actionable } endorsements { user { id } } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    marketer: TestUser,
    marketing_manager: TestUser,
    rep: TestUser,
    rep2: TestUser,
    sales_manager: TestUser,
    support: TestUser,
    viewer: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    Setup {
        marketer: app.create_user(&org, Team::Marketing, Role::Member).await,
        marketing_manager: app.create_user(&org, Team::Marketing, Role::Manager).await,
        rep: app.create_user(&org, Team::Sales, Role::Member).await,
        rep2: app.create_user(&org, Team::Sales, Role::Member).await,
        sales_manager: app.create_user(&org, Team::Sales, Role::Manager).await,
        support: app.create_user(&org, Team::Service, Role::Member).await,
        viewer: app.create_user(&org, Team::Sales, Role::Viewer).await,
        app,
        org,
    }
}

async fn submit(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), SUBMIT, json!({ "input": input })).await
}

fn feedback_id(body: &Value) -> String {
    body["data"]["submitFeedback"]["feedback"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn endorse(app: &TestApp, token: &str, input: Value) -> Value {
    app.gql(Some(token), ENDORSE, json!({ "input": input })).await
}

async fn lead(app: &TestApp, token: &str, email: &str) -> String {
    let q = "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }";
    let body = app.gql(Some(token), q, json!({ "input": { "email": email } })).await;
    body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn account(app: &TestApp, token: &str, domain: &str) -> String {
    let q = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } } }";
    let body = app.gql(Some(token), q, json!({ "input": { "name": domain, "domain": domain } })).await;
    body["data"]["createAccount"]["account"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

fn general(tag: &str) -> Value {
    json!({ "subjectType": "GENERAL", "tag": tag, "sentiment": "NEGATIVE", "body": "Prospects say we are too expensive." })
}

#[tokio::test]
async fn feedback_needs_a_subject_of_the_callers_organization() {
    let s = setup().await;
    let other = s.app.create_org("Globex").await;
    let foreign_lead = lead(&s.app, &other.admin.token, "x@globex.io").await;
    let foreign_account = account(&s.app, &other.admin.token, "globex.io").await;
    let my_lead = lead(&s.app, &s.rep.token, "ana@payly.io").await;
    let audit = s.app.count_audit_rows(&s.org).await;
    for (input, code, field) in [
        (
            json!({ "subjectType": "LEAD", "subjectId": foreign_lead, "tag": "data", "sentiment": "NEGATIVE", "body": "bad phone" }),
            "BAD_USER_INPUT",
            Some("subjectId"),
        ),
        (
            json!({ "subjectType": "LEAD", "tag": "data", "sentiment": "NEGATIVE", "body": "bad phone" }),
            "BAD_USER_INPUT",
            Some("subjectId"),
        ),
        (
            json!({ "subjectType": "MESSAGE", "subjectId": my_lead, "tag": "data", "sentiment": "NEGATIVE", "body": "x" }),
            "BAD_USER_INPUT",
            Some("subjectId"),
        ),
        (
            json!({ "subjectType": "GENERAL", "subjectId": my_lead, "tag": "data", "sentiment": "NEGATIVE", "body": "x" }),
            "BAD_USER_INPUT",
            Some("subjectId"),
        ),
        (
            json!({ "subjectType": "LEAD", "subjectId": my_lead, "tag": "data", "sentiment": "NEGATIVE", "body": "x", "accountId": foreign_account }),
            "BAD_USER_INPUT",
            Some("accountId"),
        ),
        (
            json!({ "subjectType": "GENERAL", "tag": " ", "sentiment": "NEGATIVE", "body": "x" }),
            "BAD_USER_INPUT",
            Some("tag"),
        ),
    ] {
        let body = submit(&s.app, &s.rep.token, input).await;
        assert_error(&body, code);
        assert_eq!(body["errors"][0]["extensions"]["field"].as_str(), field, "{body}");
    }
    assert_error(&submit(&s.app, &s.viewer.token, general("pricing")).await, "FORBIDDEN");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    let ok = submit(&s.app, &s.rep.token, json!({ "subjectType": "LEAD", "subjectId": my_lead, "tag": " Data ", "sentiment": "NEGATIVE", "body": "bad phone" })).await;
    let fb = &ok["data"]["submitFeedback"]["feedback"];
    assert_eq!((fb["status"].clone(), fb["tag"].clone()), (json!("NEW"), json!("data")), "{ok}");
    let scoring = submit(
        &s.app,
        &s.rep.token,
        json!({ "subjectType": "SCORING_MODEL", "tag": "scores", "sentiment": "NEUTRAL", "body": "Scores feel high" }),
    )
    .await;
    assert!(scoring["errors"].is_null(), "{scoring}");
    let id = feedback_id(&ok);
    assert_error(&s.app.gql(Some(&other.admin.token), SIGNAL, json!({ "id": id })).await, "NOT_FOUND");
    assert_error(&endorse(&s.app, &other.admin.token, json!({ "feedbackId": id })).await, "NOT_FOUND");
    let theirs = s.app.gql(Some(&other.admin.token), "{ feedback { totalCount } myFeedback { id } }", json!({})).await;
    assert_eq!(theirs["data"], json!({ "feedback": { "totalCount": 0 }, "myFeedback": [] }));
}

#[tokio::test]
async fn endorsements_are_one_per_person_and_never_by_the_author() {
    let s = setup().await;
    let id = feedback_id(&submit(&s.app, &s.rep.token, general("pricing")).await);
    let audit = s.app.count_audit_rows(&s.org).await;
    assert_error(&endorse(&s.app, &s.rep.token, json!({ "feedbackId": id })).await, "FORBIDDEN");
    assert_error(&endorse(&s.app, &s.viewer.token, json!({ "feedbackId": id })).await, "FORBIDDEN");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let body = endorse(&s.app, &s.marketer.token, json!({ "feedbackId": id, "comment": "heard it too" })).await;
    assert_eq!(body["data"]["endorseFeedback"]["endorsement"]["team"], "MARKETING", "{body}");
    let audit = s.app.count_audit_rows(&s.org).await;
    assert_error(&endorse(&s.app, &s.marketer.token, json!({ "feedbackId": id })).await, "CONFLICT");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    // The same person endorsing twice at the same moment: exactly one wins.
    let (a, b) = tokio::join!(
        endorse(&s.app, &s.support.token, json!({ "feedbackId": id })),
        endorse(&s.app, &s.support.token, json!({ "feedbackId": id })),
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(codes.contains(&None) && codes.contains(&Some("CONFLICT")), "{a} {b}");
    let rows = entity::feedback_endorsement::Entity::find()
        .filter(entity::feedback_endorsement::Column::OrgId.eq(s.org.id))
        .count(&s.app.db)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn feedback_becomes_actionable_at_the_organizations_thresholds() {
    let s = setup().await;
    let id = feedback_id(&submit(&s.app, &s.rep.token, general("pricing")).await);
    endorse(&s.app, &s.rep2.token, json!({ "feedbackId": id })).await;
    let body = s.app.gql(Some(&s.rep.token), SIGNAL, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["feedbackItem"]["signal"],
        json!({ "distinctReporters": 2, "distinctTeams": 1, "distinctAccounts": 0, "endorsements": 1, "actionable": false }),
        "{body}"
    );
    endorse(&s.app, &s.marketer.token, json!({ "feedbackId": id })).await;
    let body = s.app.gql(Some(&s.rep.token), SIGNAL, json!({ "id": id })).await;
    assert_eq!(
        body["data"]["feedbackItem"]["signal"],
        json!({ "distinctReporters": 3, "distinctTeams": 2, "distinctAccounts": 0, "endorsements": 2, "actionable": true })
    );

    // Two customer accounts are enough on their own.
    let (a1, a2) = (account(&s.app, &s.rep.token, "payly.io").await, account(&s.app, &s.rep.token, "acme.io").await);
    let mut input = general("onboarding");
    input["accountId"] = json!(a1);
    let accounts = feedback_id(&submit(&s.app, &s.support.token, input).await);
    endorse(&s.app, &s.rep.token, json!({ "feedbackId": accounts, "accountId": a2 })).await;
    let body = s.app.gql(Some(&s.rep.token), SIGNAL, json!({ "id": accounts })).await;
    assert_eq!(body["data"]["feedbackItem"]["signal"]["distinctAccounts"], 2);
    assert_eq!(body["data"]["feedbackItem"]["signal"]["actionable"], true);

    // One rep filing one theme twice, naming two accounts: still one voice.
    let (a3, a4) = (account(&s.app, &s.rep.token, "one.io").await, account(&s.app, &s.rep.token, "two.io").await);
    for account in [&a3, &a4] {
        let mut input = general("pricing-page");
        input["accountId"] = json!(account);
        let body = submit(&s.app, &s.rep2.token, input).await;
        assert_eq!(body["data"]["submitFeedback"]["feedback"]["signal"]["actionable"], false, "{body}");
    }

    // One loud voice, repeated, stays below the threshold.
    for _ in 0..3 {
        submit(&s.app, &s.rep2.token, general("logo")).await;
    }
    let themes = "query($from: DateTime!, $to: DateTime!) { feedbackThemes(input: { from: $from, to: $to }) { tag subjectType feedbackCount negativeCount signal { distinctReporters actionable } } }";
    let now = chrono::Utc::now();
    let vars = json!({ "from": now - chrono::Duration::hours(1), "to": now + chrono::Duration::hours(1) });
    let body = s.app.gql(Some(&s.marketer.token), themes, vars).await;
    let themes = body["data"]["feedbackThemes"].as_array().unwrap_or_else(|| panic!("{body}"));
    let tags: Vec<&str> = themes.iter().map(|t| t["tag"].as_str().unwrap()).collect();
    // Not actionable, more accounts first: the one voice naming two accounts, then the loud one.
    assert_eq!(tags, ["pricing", "onboarding", "pricing-page", "logo"]);
    assert_eq!(themes[2]["signal"], json!({ "distinctReporters": 1, "actionable": false }), "two accounts, one voice");
    assert_eq!(themes[3]["feedbackCount"], 3);
    assert_eq!(themes[3]["signal"], json!({ "distinctReporters": 1, "actionable": false }));
    let bad = s
        .app
        .gql(
            Some(&s.marketer.token),
            "query($t: DateTime!) { feedbackThemes(input: { from: $t, to: $t }) { tag } }",
            json!({ "t": now }),
        )
        .await;
    assert_eq!(bad["errors"][0]["extensions"]["field"], "to");
}

#[tokio::test]
async fn the_owning_team_runs_the_workflow_and_the_author_and_endorsers_are_notified() {
    let s = setup().await;
    let my_lead = lead(&s.app, &s.rep.token, "ana@payly.io").await;
    let input = json!({ "subjectType": "LEAD", "subjectId": my_lead, "tag": "data", "sentiment": "NEGATIVE", "body": "Phone number is wrong" });
    let id = feedback_id(&submit(&s.app, &s.marketer.token, input).await);
    endorse(&s.app, &s.support.token, json!({ "feedbackId": id })).await;
    let set = |token: &str, status: &str, response: Option<&str>| {
        let input = json!({ "input": { "feedbackId": id, "status": status, "response": response } });
        let token = token.to_owned();
        let app = &s.app;
        async move { app.gql(Some(&token), SET_STATUS, input).await }
    };
    let audit = s.app.count_audit_rows(&s.org).await;
    // Leads are owned by SALES: marketing cannot move the status.
    assert_error(&set(&s.marketing_manager.token, "UNDER_REVIEW", None).await, "FORBIDDEN");
    assert_eq!(
        assert_error(&set(&s.rep.token, "ACCEPTED", None).await, "CONFLICT"),
        "feedback cannot go from NEW to ACCEPTED; from NEW it can go to UNDER_REVIEW"
    );
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let body = set(&s.rep.token, "UNDER_REVIEW", None).await;
    assert_eq!(body["data"]["setFeedbackStatus"]["feedback"]["status"], "UNDER_REVIEW", "{body}");
    let audit = s.app.count_audit_rows(&s.org).await;
    let no_response = set(&s.rep.token, "DECLINED", None).await;
    assert_eq!(no_response["errors"][0]["extensions"]["field"], "response", "{no_response}");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let body = set(&s.rep.token, "DECLINED", Some("The number was right; the lead changed jobs.")).await;
    let declined = &body["data"]["setFeedbackStatus"]["feedback"];
    assert_eq!(declined["status"], "DECLINED", "{body}");
    assert_eq!(declined["respondedBy"]["id"], json!(s.rep.id));
    assert_eq!(
        assert_error(&set(&s.org.admin.token, "DONE", None).await, "CONFLICT"),
        "feedback cannot go from DECLINED to DONE; DECLINED is final"
    );

    let events = entity::outbox_event::Entity::find()
        .filter(entity::outbox_event::Column::OrgId.eq(s.org.id))
        .filter(entity::outbox_event::Column::Kind.eq("feedback.statusChanged"))
        .order_by_asc(entity::outbox_event::Column::At)
        .all(&s.app.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].payload["to"], "DECLINED");
    assert_eq!(events[1].payload["notify"], json!([s.marketer.id, s.support.id]));

    let mine = s.app.gql(Some(&s.marketer.token), "{ myFeedback { id status response } }", json!({})).await;
    assert_eq!(mine["data"]["myFeedback"][0]["response"], "The number was right; the lead changed jobs.");

    // GENERAL feedback: any MANAGER answers it; an ADMIN answers anything.
    let general_id = feedback_id(&submit(&s.app, &s.rep.token, general("pricing")).await);
    let input = |status: &str| json!({ "input": { "feedbackId": general_id, "status": status } });
    assert_error(&s.app.gql(Some(&s.rep2.token), SET_STATUS, input("UNDER_REVIEW")).await, "FORBIDDEN");
    let body = s.app.gql(Some(&s.marketing_manager.token), SET_STATUS, input("UNDER_REVIEW")).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = s.app.gql(Some(&s.org.admin.token), SET_STATUS, input("ACCEPTED")).await;
    assert!(body["errors"].is_null(), "{body}");
    let body = s.app.gql(Some(&s.sales_manager.token), SET_STATUS, input("DONE")).await;
    assert_eq!(body["data"]["setFeedbackStatus"]["feedback"]["status"], "DONE", "{body}");
    let other = s.app.create_org("Globex").await;
    assert_error(&s.app.gql(Some(&other.admin.token), SET_STATUS, input("DONE")).await, "NOT_FOUND");
    let list = s
        .app
        .gql(Some(&s.rep.token), "{ feedback(filter: { status: DONE }) { totalCount nodes { id } } }", json!({}))
        .await;
    assert_eq!(list["data"]["feedback"]["nodes"], json!([{ "id": general_id }]));
}

#[tokio::test]
async fn review_meetings_snapshot_the_period_and_track_action_items() {
    let s = setup().await;
    lead(&s.app, &s.rep.token, "ana@payly.io").await;
    // A lead from before the period: the snapshot counts the period, not today's totals.
    let old = lead(&s.app, &s.rep.token, "bo@payly.io").await;
    {
        use sea_orm::ConnectionTrait;
        let long_ago = chrono::Utc::now() - chrono::Duration::days(90);
        for table in ["leads", "lead_stage_transitions"] {
            let mut sql = api::db::sql::Sql::new();
            let (column, key) = if table == "leads" { ("created_at", "id") } else { ("at", "lead_id") };
            sql.push_composed(format!("UPDATE {table} SET {column} = ")).bind(long_ago);
            sql.push_composed(format!(" WHERE {key} = ")).bind(old.parse::<uuid::Uuid>().unwrap());
            s.app.db.execute_raw(sql.build(s.app.db.get_database_backend())).await.unwrap();
        }
    }
    submit(&s.app, &s.rep.token, general("pricing")).await;
    let today = chrono::Utc::now().date_naive();
    let start = "mutation($input: StartReviewMeetingInput!) { startReviewMeeting(input: $input) { reviewMeeting { id kpiSnapshot periodStart
      snapshot { kpis { metric unit points { periodStart periodEnd value numerator } } stageEntries { stage count }
                 handoverCompliance { handovers } handBackReasons { reason } } } } }";
    let period = json!({ "input": { "periodStart": today - chrono::Duration::days(30), "periodEnd": today } });
    let audit = s.app.count_audit_rows(&s.org).await;
    assert_error(&s.app.gql(Some(&s.rep.token), start, period.clone()).await, "FORBIDDEN");
    let backwards = json!({ "input": { "periodStart": today, "periodEnd": today - chrono::Duration::days(1) } });
    let body = s.app.gql(Some(&s.sales_manager.token), start, backwards).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "periodEnd");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let body = s.app.gql(Some(&s.sales_manager.token), start, period).await;
    let meeting = &body["data"]["startReviewMeeting"]["reviewMeeting"];
    let snapshot = &meeting["kpiSnapshot"];
    let typed = &meeting["snapshot"];
    assert_eq!(typed["stageEntries"], json!([{ "stage": "NEW", "count": 1 }]), "{body}");
    let kpi = |metric: &str| typed["kpis"].as_array().unwrap().iter().find(|k| k["metric"] == metric).cloned().unwrap();
    let created = kpi("LEADS_CREATED");
    assert_eq!(created["unit"], "COUNT");
    assert_eq!(
        created["points"],
        json!([{ "periodStart": (today - chrono::Duration::days(30)).to_string(), "periodEnd": today.to_string(), "value": 1.0, "numerator": 1.0 }])
    );
    assert_eq!(kpi("WIN_RATE")["points"][0]["value"], Value::Null, "no deal closed: no win rate");
    assert_eq!(typed["kpis"].as_array().unwrap().len(), api::feedback::meetings::SNAPSHOT_METRICS.len());
    assert_eq!(typed["handoverCompliance"], Value::Null);
    assert_eq!(typed["handBackReasons"], json!([]));
    assert_eq!(snapshot["feedbackThemes"][0]["tag"], "pricing");
    assert_eq!(snapshot["contentUsage"]["uses"], 0);
    assert!(snapshot["handBackReasons"].is_array());
    assert!(snapshot.get("handoverCompliance").is_some());
    let id = meeting["id"].as_str().unwrap().to_owned();

    let notes = "mutation($input: UpdateReviewMeetingInput!) { updateReviewMeeting(input: $input) { reviewMeeting { notes version } } }";
    let body = s
        .app
        .gql(
            Some(&s.marketing_manager.token),
            notes,
            json!({ "input": { "id": id, "notes": "Pricing keeps coming up.", "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateReviewMeeting"]["reviewMeeting"],
        json!({ "notes": "Pricing keeps coming up.", "version": 2 }),
        "{body}"
    );

    // Two managers saving notes from the same version at the same moment: one wins,
    // the other is told to reload, and the stored notes are the winner's.
    let input = |text: &str| json!({ "input": { "id": id, "notes": text, "expectedVersion": 2 } });
    let audit = s.app.count_audit_rows(&s.org).await;
    let (a, b) = tokio::join!(
        s.app.gql(Some(&s.marketing_manager.token), notes, input("Marketing's notes")),
        s.app.gql(Some(&s.sales_manager.token), notes, input("Sales' notes"))
    );
    let codes = [error_code(&a), error_code(&b)];
    assert!(codes.contains(&None) && codes.contains(&Some("CONFLICT")), "{a} {b}");
    let winner = if error_code(&a).is_none() { &a } else { &b };
    assert_eq!(winner["data"]["updateReviewMeeting"]["reviewMeeting"]["version"], 3, "{winner}");
    let stored = s
        .app
        .gql(Some(&s.rep.token), "query($id: ID!) { reviewMeeting(id: $id) { notes version } }", json!({ "id": id }))
        .await;
    assert_eq!(stored["data"]["reviewMeeting"], winner["data"]["updateReviewMeeting"]["reviewMeeting"], "{stored}");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit + 1);

    let other = s.app.create_org("Globex").await;
    let stranger = s.app.create_user(&other, Team::Sales, Role::Member).await;
    let add = "mutation($input: AddActionItemInput!) { addActionItem(input: $input) { actionItem { id status owner { id } dueOn } } }";
    let body = s
        .app
        .gql(
            Some(&s.sales_manager.token),
            add,
            json!({ "input": { "meetingId": id, "title": "Pricing FAQ", "ownerId": stranger.id } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "ownerId", "{body}");
    assert_error(
        &s.app.gql(Some(&other.admin.token), add, json!({ "input": { "meetingId": id, "title": "x" } })).await,
        "NOT_FOUND",
    );
    let body = s
        .app
        .gql(
            Some(&s.sales_manager.token),
            add,
            json!({ "input": { "meetingId": id, "title": "Pricing FAQ", "ownerId": s.rep.id, "dueOn": today } }),
        )
        .await;
    let item =
        body["data"]["addActionItem"]["actionItem"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();

    let mine = s.app.gql(Some(&s.rep.token), "{ myActionItems { id status } }", json!({})).await;
    assert_eq!(mine["data"]["myActionItems"], json!([{ "id": item, "status": "OPEN" }]));
    let update = "mutation($input: UpdateActionItemInput!) { updateActionItem(input: $input) { actionItem { status version } } }";
    assert_error(
        &s.app.gql(Some(&s.rep2.token), update, json!({ "input": { "id": item, "status": "DONE" } })).await,
        "FORBIDDEN",
    );
    let body = s
        .app
        .gql(Some(&s.rep.token), update, json!({ "input": { "id": item, "status": "DONE", "expectedVersion": 1 } }))
        .await;
    assert_eq!(body["data"]["updateActionItem"]["actionItem"], json!({ "status": "DONE", "version": 2 }), "{body}");

    let list = s
        .app
        .gql(
            Some(&s.rep.token),
            "{ reviewMeetings { totalCount nodes { id actionItems { title status } } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["reviewMeetings"]["totalCount"], 1);
    assert_eq!(
        list["data"]["reviewMeetings"]["nodes"][0]["actionItems"],
        json!([{ "title": "Pricing FAQ", "status": "DONE" }])
    );
    assert_error(
        &s.app
            .gql(Some(&other.admin.token), "query($id: ID!) { reviewMeeting(id: $id) { id } }", json!({ "id": id }))
            .await,
        "NOT_FOUND",
    );
    let theirs = s.app.gql(Some(&other.admin.token), "{ reviewMeetings { totalCount } }", json!({})).await;
    assert_eq!(theirs["data"]["reviewMeetings"]["totalCount"], 0);
    assert_error(
        &s.app.gql(Some(&other.admin.token), update, json!({ "input": { "id": item, "status": "OPEN" } })).await,
        "NOT_FOUND",
    );
}

#[tokio::test]
async fn tags_are_normalised_on_write_so_spellings_of_one_tag_are_one_theme() {
    let s = setup().await;
    for (token, tag) in [
        (&s.rep.token, "Pricing too_high"),
        (&s.rep2.token, "pricing-too-high"),
        (&s.support.token, " PRICING__Too  High- "),
    ] {
        let body = submit(&s.app, token, general(tag)).await;
        assert_eq!(body["data"]["submitFeedback"]["feedback"]["tag"], "pricing-too-high", "{tag:?}: {body}");
    }
    let themes = "query($from: DateTime!, $to: DateTime!) { feedbackThemes(input: { from: $from, to: $to }) { tag feedbackCount signal { distinctReporters } } }";
    let now = chrono::Utc::now();
    let vars = json!({ "from": now - chrono::Duration::hours(1), "to": now + chrono::Duration::hours(1) });
    let body = s.app.gql(Some(&s.marketer.token), themes, vars).await;
    assert_eq!(
        body["data"]["feedbackThemes"],
        json!([{ "tag": "pricing-too-high", "feedbackCount": 3, "signal": { "distinctReporters": 3 } }]),
        "{body}"
    );
    // A filter is read the same way.
    let q = "query($tag: String) { feedback(filter: { tag: $tag }) { totalCount } }";
    let body = s.app.gql(Some(&s.marketer.token), q, json!({ "tag": "Pricing Too High" })).await;
    assert_eq!(body["data"]["feedback"]["totalCount"], 3, "{body}");

    // A tag without a letter or digit, or too long, is refused and stores nothing.
    let audit = s.app.count_audit_rows(&s.org).await;
    for bad in ["_-_".to_owned(), "x".repeat(65)] {
        let body = submit(&s.app, &s.rep.token, general(&bad)).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "tag", "{body}");
    }
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let stored = entity::feedback::Entity::find()
        .filter(entity::feedback::Column::OrgId.eq(s.org.id))
        .count(&s.app.db)
        .await
        .unwrap();
    assert_eq!(stored, 3);
}
