//! The handover loop: hand over, accept or hand back, the SLA clock, compliance and
//! hand-back reasons.

use chrono::{Duration, Utc};
use entity::{Role, Team};
use serde_json::{Value, json};

use crate::common::*;

const HAND_OVER: &str = "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id status dueAt handedAt toUser { id } fromUser { id } lead { lifecycleStage } } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptHandover(input: { handoverId: $id }) { handover { status respondedBy { id } lead { lifecycleStage owner { id } } } } }";
const REJECT: &str = "mutation($input: RejectHandoverInput!) { rejectHandover(input: $input) { handover { status reason lead { lifecycleStage owner { id } stageHistory { reason } } } } }";

struct Setup {
    app: TestApp,
    org: TestOrg,
    marketer: TestUser,
    rep: TestUser,
    other_rep: TestUser,
    sales_manager: TestUser,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let other_rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let sales_manager = app.create_user(&org, Team::Sales, Role::Manager).await;
    Setup { app, org, marketer, rep, other_rep, sales_manager }
}

async fn mql(s: &Setup, email: &str) -> String {
    let body = s
        .app
        .gql(
            Some(&s.marketer.token),
            "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({ "input": { "email": email, "lifecycleStage": "MQL", "source": "webinar", "marketingOwnerId": s.marketer.id } }),
        )
        .await;
    body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

async fn hand_over(s: &Setup, lead: &str, to: &TestUser) -> Value {
    s.app
        .gql(
            Some(&s.marketer.token),
            HAND_OVER,
            json!({ "input": { "leadId": lead, "toUserId": to.id, "note": "asked for pricing" } }),
        )
        .await
}

fn handover_id(body: &Value) -> String {
    body["data"]["handOverLead"]["handover"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

#[tokio::test]
async fn an_accepted_handover_makes_the_lead_sal_and_the_assignee_its_owner() {
    let s = setup().await;
    let lead = mql(&s, "ana@payly.io").await;
    let body = hand_over(&s, &lead, &s.rep).await;
    let handover = &body["data"]["handOverLead"]["handover"];
    assert_eq!(handover["status"], "PENDING");
    assert_eq!(handover["toUser"]["id"], json!(s.rep.id));
    assert_eq!(handover["fromUser"]["id"], json!(s.marketer.id));
    // Due after the organization's default of 24 hours (no SLA agreed).
    let handed = chrono::DateTime::parse_from_rfc3339(handover["handedAt"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(handover["dueAt"].as_str().unwrap()).unwrap();
    assert_eq!((due - handed).num_hours(), 24);
    let id = handover_id(&body);

    let queue = s.app.gql(Some(&s.rep.token), "{ myQueue { nodes { id } } }", json!({})).await;
    assert_eq!(queue["data"]["myQueue"]["nodes"], json!([{ "id": id }]));

    let body = s.app.gql(Some(&s.rep.token), ACCEPT, json!({ "id": id })).await;
    let answered = &body["data"]["acceptHandover"]["handover"];
    assert_eq!(answered["status"], "ACCEPTED", "{body}");
    assert_eq!(answered["lead"], json!({ "lifecycleStage": "SAL", "owner": { "id": s.rep.id } }));
    let queue = s.app.gql(Some(&s.rep.token), "{ myQueue { totalCount nodes { id } } }", json!({})).await;
    assert_eq!(queue["data"]["myQueue"], json!({ "totalCount": 0, "nodes": [] }));
    assert_eq!(s.app.count_outbox_events(&s.org, "handover.created").await, 1);
    assert_eq!(s.app.count_outbox_events(&s.org, "handover.accepted").await, 1);

    // Answering twice is a conflict, and changes nothing.
    let audit = s.app.count_audit_rows(&s.org).await;
    let again = s.app.gql(Some(&s.rep.token), ACCEPT, json!({ "id": id })).await;
    assert_eq!(
        assert_error(&again, "CONFLICT"),
        "the handover is ACCEPTED already; only a PENDING handover can be accepted or handed back"
    );
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
}

#[tokio::test]
async fn a_hand_back_needs_a_reason_and_recycles_the_lead() {
    let s = setup().await;
    let lead = mql(&s, "ana@payly.io").await;
    let id = handover_id(&hand_over(&s, &lead, &s.rep).await);
    let audit = s.app.count_audit_rows(&s.org).await;
    let no_note =
        s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": id, "reason": "OTHER" } })).await;
    assert_eq!(no_note["errors"][0]["extensions"]["field"], "note");
    let no_reason = s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": id } })).await;
    assert_error(&no_reason, "BAD_USER_INPUT");
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);

    let body = s
        .app
        .gql(
            Some(&s.rep.token),
            REJECT,
            json!({ "input": { "handoverId": id, "reason": "NO_BUDGET", "note": "frozen until Q3" } }),
        )
        .await;
    let answered = &body["data"]["rejectHandover"]["handover"];
    assert_eq!(answered["status"], "REJECTED", "{body}");
    assert_eq!(answered["reason"], "NO_BUDGET");
    assert_eq!(answered["lead"]["lifecycleStage"], "RECYCLED");
    assert_eq!(answered["lead"]["owner"], Value::Null);
    let reasons = answered["lead"]["stageHistory"].as_array().unwrap();
    assert_eq!(reasons.last().unwrap()["reason"], "handed back: NO_BUDGET — frozen until Q3");
}

#[tokio::test]
async fn only_the_assignee_or_a_sales_manager_answers() {
    let s = setup().await;
    let lead = mql(&s, "ana@payly.io").await;
    let id = handover_id(&hand_over(&s, &lead, &s.rep).await);
    let audit = s.app.count_audit_rows(&s.org).await;
    for token in [&s.other_rep.token, &s.marketer.token] {
        assert_error(&s.app.gql(Some(token), ACCEPT, json!({ "id": id })).await, "FORBIDDEN");
    }
    assert_eq!(s.app.count_audit_rows(&s.org).await, audit);
    let body = s.app.gql(Some(&s.sales_manager.token), ACCEPT, json!({ "id": id })).await;
    assert_eq!(body["data"]["acceptHandover"]["handover"]["respondedBy"]["id"], json!(s.sales_manager.id), "{body}");
}

#[tokio::test]
async fn illegal_handovers_are_refused_and_change_nothing() {
    let s = setup().await;
    let lead = mql(&s, "ana@payly.io").await;
    hand_over(&s, &lead, &s.rep).await;
    let audit = s.app.count_audit_rows(&s.org).await;
    // A second pending handover of the same lead.
    assert_error(&hand_over(&s, &lead, &s.other_rep).await, "CONFLICT");
    // To someone outside sales.
    let other = mql(&s, "bo@payly.io").await;
    let audit = audit + 2; // the lead and its creation transition's audit row
    let body = hand_over(&s, &other, &s.marketer).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "toUserId");
    // A lead that is not an MQL.
    let new = s
        .app
        .gql(
            Some(&s.marketer.token),
            "mutation { createLead(input: { email: \"cy@x.io\" }) { lead { id } } }",
            json!({}),
        )
        .await;
    let new_id = new["data"]["createLead"]["lead"]["id"].as_str().unwrap().to_owned();
    let body = hand_over(&s, &new_id, &s.rep).await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "leadId");
    assert!(s.app.count_audit_rows(&s.org).await <= audit + 1);
    // Viewers hand nothing over.
    let viewer = s.app.create_user(&s.org, Team::Marketing, Role::Viewer).await;
    let body =
        s.app.gql(Some(&viewer.token), HAND_OVER, json!({ "input": { "leadId": other, "toUserId": s.rep.id } })).await;
    assert_error(&body, "FORBIDDEN");
    let pending = s
        .app
        .gql(Some(&s.org.admin.token), "{ handovers(filter: { statuses: [PENDING] }) { totalCount } }", json!({}))
        .await;
    assert_eq!(pending["data"]["handovers"]["totalCount"], 1);
}

#[tokio::test]
async fn the_sla_clock_marks_overdue_handovers_once_even_when_two_workers_race() {
    let s = setup().await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let lead = mql(&s, &format!("l{i}@payly.io")).await;
        ids.push(handover_id(&hand_over(&s, &lead, &s.rep).await));
    }
    // Before the due time nothing happens.
    assert_eq!(api::handover::clock::mark_overdue(&s.app.db, Utc::now()).await.unwrap(), 0);
    // A day and a bit later, two workers race over the same rows.
    let later = Utc::now() + Duration::hours(25);
    let (a, b) = tokio::join!(
        api::handover::clock::mark_overdue(&s.app.db, later),
        api::handover::clock::mark_overdue(&s.app.db, later)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 6, "each handover marked exactly once");
    assert_eq!(s.app.count_outbox_events(&s.org, "handover.overdue").await, 6);
    assert_eq!(api::handover::clock::mark_overdue(&s.app.db, later).await.unwrap(), 0);

    // Overdue handovers stay answerable.
    let overdue =
        s.app.gql(Some(&s.rep.token), "{ handovers(filter: { overdue: true }) { totalCount } }", json!({})).await;
    assert_eq!(overdue["data"]["handovers"]["totalCount"], 6);
    let body = s.app.gql(Some(&s.rep.token), ACCEPT, json!({ "id": ids[0] })).await;
    assert_eq!(body["data"]["acceptHandover"]["handover"]["status"], "ACCEPTED", "{body}");
}

#[tokio::test]
async fn compliance_and_hand_back_reasons_are_reported() {
    let s = setup().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let lead = mql(&s, &format!("l{i}@payly.io")).await;
        ids.push((lead.clone(), handover_id(&hand_over(&s, &lead, &s.rep).await)));
    }
    s.app.gql(Some(&s.rep.token), ACCEPT, json!({ "id": ids[0].1 })).await;
    let log = "mutation($l: ID!) { logActivity(input: { kind: CALL, customerFacing: true, durationMinutes: 20, leadId: $l }) { activity { id } } }";
    s.app.gql(Some(&s.rep.token), log, json!({ "l": ids[0].0 })).await;
    s.app.gql(Some(&s.rep.token), REJECT, json!({ "input": { "handoverId": ids[1].1, "reason": "NOT_ICP" } })).await;

    let from = (Utc::now() - Duration::days(1)).to_rfc3339();
    let to = (Utc::now() + Duration::days(1)).to_rfc3339();
    let query = "query($input: ComplianceInput!) { handoverCompliance(input: $input) { responseTargetHours groups { user { id } handovers answered answeredWithinTarget withinTargetShare overdue accepted touched touchedWithinTarget medianResponseHours } } }";
    let body = s
        .app
        .gql(Some(&s.sales_manager.token), query, json!({ "input": { "from": from, "to": to, "groupBy": "USER" } }))
        .await;
    let report = &body["data"]["handoverCompliance"];
    assert_eq!(report["responseTargetHours"], 24.0, "{body}");
    let group = &report["groups"][0];
    assert_eq!(group["user"]["id"], json!(s.rep.id));
    assert_eq!(
        (group["handovers"].as_i64(), group["answered"].as_i64(), group["answeredWithinTarget"].as_i64()),
        (Some(3), Some(2), Some(2))
    );
    assert_eq!(
        (group["accepted"].as_i64(), group["touched"].as_i64(), group["touchedWithinTarget"].as_i64()),
        (Some(1), Some(1), Some(1))
    );
    // The third handover is pending and not yet due: it is left out of the share.
    assert_eq!(group["withinTargetShare"], 1.0);
    assert!(group["medianResponseHours"].as_f64().unwrap() < 1.0);

    let reasons =
        "query($input: HandBackReasonsInput!) { handBackReasons(input: $input) { group reason count share } }";
    let body = s
        .app
        .gql(Some(&s.marketer.token), reasons, json!({ "input": { "from": from, "to": to, "groupBy": "SOURCE" } }))
        .await;
    assert_eq!(
        body["data"]["handBackReasons"],
        json!([{ "group": "webinar", "reason": "NOT_ICP", "count": 1, "share": 1.0 }]),
        "{body}"
    );
}

#[tokio::test]
async fn another_organizations_handovers_are_not_found() {
    let s = setup().await;
    let lead = mql(&s, "ana@payly.io").await;
    let id = handover_id(&hand_over(&s, &lead, &s.rep).await);
    let other = s.app.create_org("Globex").await;
    let t = Some(other.admin.token.as_str());
    assert_error(&s.app.gql(t, "query($id: ID!) { handover(id: $id) { id } }", json!({ "id": id })).await, "NOT_FOUND");
    assert_error(&s.app.gql(t, ACCEPT, json!({ "id": id })).await, "NOT_FOUND");
    let body = s.app.gql(t, HAND_OVER, json!({ "input": { "leadId": lead, "toUserId": s.rep.id } })).await;
    assert_error(&body, "NOT_FOUND");
    let list = s.app.gql(t, "{ handovers { totalCount } myQueue { nodes { id } } }", json!({})).await;
    assert_eq!(list["data"], json!({ "handovers": { "totalCount": 0 }, "myQueue": { "nodes": [] } }));
    let lead_view = s
        .app
        .gql(
            Some(&s.marketer.token),
            "query($id: ID!) { lead(id: $id) { handovers { status } } }",
            json!({ "id": lead }),
        )
        .await;
    assert_eq!(lead_view["data"]["lead"]["handovers"], json!([{ "status": "PENDING" }]));
}

/// `myQueue` is a Relay connection, soonest due first, with counts: a rep with a large
/// queue pages through it, and `overdue: true` counts what is late. Nobody else's
/// handovers appear in it, and its cursors are its own.
#[tokio::test]
async fn my_queue_pages_soonest_due_first_with_counts() {
    let s = setup().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let lead = mql(&s, &format!("lead{i}@payly.io")).await;
        ids.push(handover_id(&hand_over(&s, &lead, &s.rep).await));
    }
    let elsewhere = mql(&s, "other@payly.io").await;
    hand_over(&s, &elsewhere, &s.other_rep).await;
    // The third is due first, so it leads the queue.
    let due = Utc::now() - Duration::hours(1);
    {
        use entity::handover::{Column, Entity};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let id: uuid::Uuid = ids[2].parse().unwrap();
        let update = Entity::update_many().col_expr(Column::DueAt, sea_orm::sea_query::Expr::value(due));
        update.filter(Column::Id.eq(id)).exec(&s.app.db).await.unwrap();
    }
    api::handover::clock::mark_overdue(&s.app.db, Utc::now()).await.unwrap();
    let expected: Vec<&String> = [&ids[2], &ids[0], &ids[1], &ids[3], &ids[4]].into_iter().collect();

    let page = "query($after: String) { myQueue(first: 2, after: $after) { totalCount nodes { id overdue } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = s.app.gql(Some(&s.rep.token), page, json!({ "after": after })).await;
        let queue = &body["data"]["myQueue"];
        assert_eq!(queue["totalCount"], 5, "{body}");
        seen.extend(queue["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()));
        if queue["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = queue["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen.iter().collect::<Vec<_>>(), expected);

    let late = s
        .app
        .gql(Some(&s.rep.token), "{ myQueue(overdue: true) { totalCount nodes { id overdue } } }", json!({}))
        .await;
    assert_eq!(late["data"]["myQueue"], json!({ "totalCount": 1, "nodes": [{ "id": ids[2], "overdue": true }] }));
    let other = s.app.gql(Some(&s.other_rep.token), "{ myQueue { totalCount } }", json!({})).await;
    assert_eq!(other["data"]["myQueue"]["totalCount"], 1);

    // A cursor of `handovers` is not one of the queue's.
    let list =
        s.app.gql(Some(&s.sales_manager.token), "{ handovers(first: 1) { pageInfo { endCursor } } }", json!({})).await;
    let foreign = list["data"]["handovers"]["pageInfo"]["endCursor"].clone();
    assert_error(&s.app.gql(Some(&s.rep.token), page, json!({ "after": foreign })).await, "BAD_USER_INPUT");
    // Another organization's rep sees none of them.
    let globex = s.app.create_org("Globex").await;
    let stranger = s.app.create_user(&globex, Team::Sales, Role::Member).await;
    let theirs = s.app.gql(Some(&stranger.token), "{ myQueue { totalCount } }", json!({})).await;
    assert_eq!(theirs["data"]["myQueue"]["totalCount"], 0);
}
