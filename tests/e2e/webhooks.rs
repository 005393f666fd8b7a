//! Webhooks: endpoints managed by ADMINs only and within bounds, deliveries signed per
//! Standard Webhooks and checked by the specification's reference library (npm
//! `standardwebhooks`, in tests/webhook-receiver) rather than by Accord's own code,
//! retries after failures, one object's events in order, redelivery, test deliveries,
//! secret rotation, automatic disabling, tenancy, and at-least-once delivery across a
//! server killed mid-delivery.

use std::io::BufRead;
use std::time::{Duration, Instant};

use api::config::WebhookSettings;
use api::events::relay;
use api::webhooks::send::Sender;
use entity::{Role, Team};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::common::*;
use crate::subscriptions::{create_lead, move_lead};

/// The receiver: a Node process speaking HTTP on a random port.
pub(crate) struct Receiver {
    process: std::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Receiver {
    pub(crate) async fn start() -> Receiver {
        static INSTALLED: tokio::sync::OnceCell<std::path::PathBuf> = tokio::sync::OnceCell::const_new();
        let dir = INSTALLED.get_or_init(|| node_packages("webhook-receiver", "standardwebhooks")).await;
        let mut process = std::process::Command::new("node")
            .arg("receiver.mjs")
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs the receiver");
        let mut first = String::new();
        std::io::BufReader::new(process.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let port = first.trim().strip_prefix("listening ").unwrap_or_else(|| panic!("{first}")).to_owned();
        Receiver { process, base: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() }
    }

    pub(crate) fn url(&self, hook: &str) -> String {
        format!("{}/hook/{hook}", self.base)
    }

    /// Answer the next requests to `hook` with `statuses` (then 200); hold `hang` open.
    async fn script(&self, hook: &str, statuses: &[u16], hang: u32) {
        let script = json!({ "statuses": statuses, "hang": hang });
        self.client.post(format!("{}/script/{hook}", self.base)).json(&script).send().await.unwrap();
    }

    /// What reached `hook`, each with whether `secret` verifies its signature.
    pub(crate) async fn received(&self, hook: &str, secret: &str) -> Vec<Value> {
        let url = format!("{}/received/{hook}", self.base);
        let answer = self.client.get(url).query(&[("secret", secret)]).send().await.unwrap();
        answer.json::<Vec<Value>>().await.unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn settings() -> WebhookSettings {
    WebhookSettings {
        allow_private: true,
        timeout: Duration::from_secs(5),
        retry_schedule: vec![Duration::from_millis(20); 3],
        disable_after: Duration::from_secs(3600),
    }
}

/// Relay `org`'s events and send what is due until nothing waits for an enabled
/// endpoint (or 10 s passed).
async fn deliver(app: &TestApp, org: &TestOrg, sender: &Sender) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        relay::relay_org(&app.db, org.id).await.expect("relayed");
        sender.deliver_due().await.expect("delivered");
        let enabled: Vec<uuid::Uuid> = entity::webhook_endpoint::Entity::find()
            .filter(entity::webhook_endpoint::Column::OrgId.eq(org.id))
            .filter(entity::webhook_endpoint::Column::Enabled.eq(true))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        let waiting = entity::webhook_delivery::Entity::find()
            .filter(entity::webhook_delivery::Column::EndpointId.is_in(enabled))
            .filter(entity::webhook_delivery::Column::Status.eq(entity::WebhookDeliveryStatus::Pending))
            .count(&app.db)
            .await
            .unwrap();
        if waiting == 0 || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

const CREATE: &str = "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes leadStages enabled } } }";

async fn create_endpoint(app: &TestApp, token: &str, input: Value) -> (String, String) {
    let body = app.gql(Some(token), CREATE, json!({ "input": input })).await;
    let payload = &body["data"]["createWebhookEndpoint"];
    let id = payload["endpoint"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    (id, payload["secret"].as_str().unwrap().to_owned())
}

const DELIVERIES: &str = "query($filter: WebhookDeliveryFilter) { webhookDeliveries(filter: $filter, first: 100) { totalCount nodes { id eventType objectId status attempts nextAttemptAt lastStatusCode lastLatencyMs lastError finishedAt payload attemptLog { number statusCode latencyMs error response } } } }";

async fn deliveries(app: &TestApp, token: &str, filter: Value) -> Vec<Value> {
    let body = app.gql(Some(token), DELIVERIES, json!({ "filter": filter })).await;
    let nodes = body["data"]["webhookDeliveries"]["nodes"].as_array().unwrap_or_else(|| panic!("{body}")).clone();
    nodes.into_iter().rev().collect() // oldest first
}

#[tokio::test]
async fn lead_events_arrive_signed_in_order_and_after_retries() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let marketer = app.create_user(&acme, Team::Marketing, Role::Member).await;
    let receiver = Receiver::start().await;
    let sender = Sender::new(app.db.clone(), settings()).unwrap();
    let input = json!({ "url": receiver.url("crm"), "eventTypes": ["lead.stageChanged"], "description": "CRM sync" });
    let (endpoint, secret) = create_endpoint(&app, &acme.admin.token, input).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let lead = create_lead(&app, &marketer.token, "ana@payly.io", "NEW").await;
    // The first move fails twice (HTTP 500) before it is taken; the second move, of the
    // same lead, must wait for it rather than overtake it.
    receiver.script("crm", &[500, 500], 0).await;
    move_lead(&app, &marketer.token, &lead, "ENGAGED").await;
    move_lead(&app, &marketer.token, &lead, "MQL").await;
    deliver(&app, &acme, &sender).await;

    let received = receiver.received("crm", &secret).await;
    let moves: Vec<(String, String)> = received
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["body"]["data"]["change"]["to"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(moves.len(), 4, "{received:#?}");
    assert!(moves[..3].iter().all(|(id, to)| *id == moves[0].0 && to == "ENGAGED"), "{moves:?}");
    assert_eq!(moves[3].1, "MQL", "{moves:?}");
    assert_ne!(moves[3].0, moves[0].0, "each delivery has its own webhook-id");
    for request in &received {
        assert_eq!(request["verified"], true, "the reference library verifies it: {request}");
        assert_eq!(request["contentType"], "application/json");
        assert!(request["signature"].as_str().unwrap().starts_with("v1,"));
    }
    let body = &received[3]["body"];
    assert_eq!(body["type"], "lead.stageChanged");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'), "{body}");
    let data = &body["data"];
    assert_eq!(data["organizationId"], json!(acme.id.to_string()));
    assert_eq!((data["objectType"].as_str(), data["objectId"].as_str()), (Some("lead"), Some(lead.as_str())));
    assert_eq!((data["change"]["from"].as_str(), data["change"]["to"].as_str()), (Some("ENGAGED"), Some("MQL")));
    assert_eq!(data["change"]["actor"]["id"], json!(marketer.id.to_string()));
    assert_eq!(data["object"]["email"], "ana@payly.io");
    assert_eq!(data["object"]["lifecycleStage"], "MQL");
    assert!(data["object"].get("orgId").is_none(), "{data}");
    // A signature by another secret does not verify.
    let forged = receiver.received("crm", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await;
    assert!(forged.iter().all(|r| r["verified"] == false));

    // The delivery log tells the story.
    let log = deliveries(&app, &acme.admin.token, json!({ "endpointId": endpoint })).await;
    assert_eq!(log.len(), 2, "{log:#?}");
    let first = &log[0];
    assert_eq!((first["status"].as_str(), first["attempts"].as_i64()), (Some("SUCCEEDED"), Some(3)), "{first}");
    assert_eq!(first["id"], json!(moves[0].0));
    assert_eq!(first["objectId"], json!(lead));
    assert!(first["nextAttemptAt"].is_null() && !first["finishedAt"].is_null());
    let codes: Vec<_> = first["attemptLog"].as_array().unwrap().iter().map(|a| a["statusCode"].as_i64()).collect();
    assert_eq!(codes, [Some(500), Some(500), Some(200)]);
    let failed = &first["attemptLog"][0];
    assert_eq!(failed["error"], "the endpoint answered HTTP 500");
    assert_eq!(failed["response"].as_str().unwrap().len(), 1_024, "at most 1 KB of the answer is kept");
    assert!(failed["latencyMs"].as_i64().is_some());
    assert_eq!(log[1]["payload"]["data"]["change"]["to"], "MQL");
    assert_eq!(log[1]["payload"], received[3]["body"], "the log keeps the exact body sent");
}

#[tokio::test]
async fn endpoints_hear_only_the_types_and_lead_stages_they_asked_for() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let marketer = app.create_user(&acme, Team::Marketing, Role::Member).await;
    let receiver = Receiver::start().await;
    let sender = Sender::new(app.db.clone(), settings()).unwrap();
    let mqls = json!({ "url": receiver.url("mql"), "eventTypes": ["lead.*"], "leadStages": ["MQL"] });
    let (_, mql_secret) = create_endpoint(&app, &acme.admin.token, mqls).await;
    let handovers = json!({ "url": receiver.url("handovers"), "eventTypes": ["handover.*"] });
    let (_, handover_secret) = create_endpoint(&app, &acme.admin.token, handovers).await;
    let everything = json!({ "url": receiver.url("all"), "eventTypes": ["*"] });
    let (_, all_secret) = create_endpoint(&app, &acme.admin.token, everything).await;

    let lead = create_lead(&app, &marketer.token, "ana@payly.io", "NEW").await;
    move_lead(&app, &marketer.token, &lead, "ENGAGED").await;
    deliver(&app, &acme, &sender).await;
    assert!(receiver.received("mql", &mql_secret).await.is_empty(), "NEW → ENGAGED is not about MQL");
    move_lead(&app, &marketer.token, &lead, "MQL").await;
    deliver(&app, &acme, &sender).await;
    let mql = receiver.received("mql", &mql_secret).await;
    assert_eq!(mql.len(), 1, "{mql:#?}");
    assert_eq!(mql[0]["body"]["data"]["change"]["to"], "MQL");
    assert!(
        receiver
            .received("handovers", &handover_secret)
            .await
            .iter()
            .all(|r| { r["body"]["type"].as_str().unwrap().starts_with("handover.") })
    );
    let all = receiver.received("all", &all_secret).await;
    let kinds: Vec<_> = all.iter().map(|r| r["body"]["type"].as_str().unwrap().to_owned()).collect();
    assert!(kinds.iter().filter(|k| *k == "lead.stageChanged").count() == 2, "{kinds:?}");
    assert!(all.iter().all(|r| r["verified"] == true));

    // The catalogue lists what can be asked for.
    let body = app.gql(Some(&acme.admin.token), "{ webhookEventTypes }", Value::Null).await;
    let types = body["data"]["webhookEventTypes"].as_array().unwrap();
    for kind in ["lead.stageChanged", "lead.qualified", "handover.created", "sla.periodBreached", "definition.agreed"] {
        assert!(types.contains(&json!(kind)), "{kind} missing: {body}");
    }
}

#[tokio::test]
async fn test_deliveries_redelivery_and_secret_rotation() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let admin = &acme.admin.token;
    let receiver = Receiver::start().await;
    let sender = Sender::new(app.db.clone(), settings()).unwrap();
    let input = json!({ "url": receiver.url("ops"), "eventTypes": ["sla.periodBreached"] });
    let (endpoint, secret) = create_endpoint(&app, admin, input).await;

    let body = app
        .gql(
            Some(admin),
            "mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { delivery { id eventType status } } }",
            json!({ "input": { "endpointId": endpoint } }),
        )
        .await;
    let delivery = &body["data"]["sendTestWebhook"]["delivery"];
    assert_eq!((delivery["eventType"].as_str(), delivery["status"].as_str()), (Some("webhook.test"), Some("PENDING")));
    let id = delivery["id"].as_str().unwrap().to_owned();
    deliver(&app, &acme, &sender).await;
    let received = receiver.received("ops", &secret).await;
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!((received[0]["id"].as_str(), received[0]["verified"].as_bool()), (Some(id.as_str()), Some(true)));
    assert_eq!(received[0]["body"]["type"], "webhook.test");

    let body = app
        .gql(
            Some(admin),
            "mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { status nextAttemptAt } } }",
            json!({ "input": { "deliveryId": id } }),
        )
        .await;
    assert_eq!(body["data"]["redeliverWebhook"]["delivery"]["status"], "PENDING", "{body}");
    deliver(&app, &acme, &sender).await;
    let received = receiver.received("ops", &secret).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1]["id"], received[0]["id"], "a redelivery keeps its webhook-id");
    assert_eq!(received[1]["body"], received[0]["body"], "and its body");
    let body = app
        .gql(Some(admin), "query($id: ID!) { webhookDelivery(id: $id) { status attempts } }", json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["webhookDelivery"], json!({ "status": "SUCCEEDED", "attempts": 2 }));

    // After a rotation, deliveries carry a signature by each secret for a day.
    let body = app
        .gql(
            Some(admin),
            "mutation($input: WebhookEndpointInput!) { rotateWebhookSecret(input: $input) { secret endpoint { previousSecretValidUntil } } }",
            json!({ "input": { "id": endpoint } }),
        )
        .await;
    let rotated = body["data"]["rotateWebhookSecret"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    assert_ne!(rotated, secret);
    assert!(!body["data"]["rotateWebhookSecret"]["endpoint"]["previousSecretValidUntil"].is_null());
    app.gql(
        Some(admin),
        "mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { delivery { id } } }",
        json!({ "input": { "endpointId": endpoint } }),
    )
    .await;
    deliver(&app, &acme, &sender).await;
    let by_new = receiver.received("ops", &rotated).await;
    let by_old = receiver.received("ops", &secret).await;
    assert_eq!(by_new.len(), 3);
    assert_eq!((by_new[2]["verified"].as_bool(), by_old[2]["verified"].as_bool()), (Some(true), Some(true)));
    assert_eq!(by_new[0]["verified"], false, "the old deliveries were signed by the old secret only");
    let audit = app
        .gql(
            Some(admin),
            r#"{ auditLog(filter: { entity: "webhookEndpoint" }) { nodes { action changes } } }"#,
            Value::Null,
        )
        .await;
    let text = audit.to_string();
    assert!(text.contains("webhookEndpoint.rotateSecret") && text.contains("webhookEndpoint.create"), "{audit}");
    assert!(!text.contains(&secret) && !text.contains(&rotated), "secrets never reach the audit log");
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_gives_up_and_is_disabled_with_an_audit_entry() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let admin = &acme.admin.token;
    let marketer = app.create_user(&acme, Team::Marketing, Role::Member).await;
    let receiver = Receiver::start().await;
    // Long enough for the first delivery's four attempts under CI's load, so
    // it is given up before the endpoint is disabled.
    let disable_after = Duration::from_secs(3);
    let quick = WebhookSettings { disable_after, ..settings() };
    let sender = Sender::new(app.db.clone(), quick).unwrap();
    let (endpoint, secret) =
        create_endpoint(&app, admin, json!({ "url": receiver.url("down"), "eventTypes": ["lead.*"] })).await;
    receiver.script("down", &[503; 20], 0).await;
    let lead = create_lead(&app, &marketer.token, "ana@payly.io", "NEW").await;
    move_lead(&app, &marketer.token, &lead, "ENGAGED").await;
    deliver(&app, &acme, &sender).await;
    // Failing began before this instant, so past it plus `disable_after` the next failure disables.
    let failing_by = Instant::now();
    let first = deliveries(&app, admin, json!({ "endpointId": endpoint })).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0]["status"], "FAILED", "given up while the endpoint was still enabled: {first:#?}");
    tokio::time::sleep_until((failing_by + disable_after + Duration::from_millis(100)).into()).await;
    move_lead(&app, &marketer.token, &lead, "MQL").await;
    deliver(&app, &acme, &sender).await;

    let log = deliveries(&app, admin, json!({ "endpointId": endpoint })).await;
    assert_eq!(log[0]["status"], "FAILED", "1 attempt and 3 retries, then given up: {log:#?}");
    assert_eq!(log[0]["attempts"], 4);
    assert!(log[0]["nextAttemptAt"].is_null());
    assert_eq!(log[0]["lastError"], "the endpoint answered HTTP 503");
    let body = app
        .gql(
            Some(admin),
            "query($id: ID!) { webhookEndpoint(id: $id) { enabled disabledAt disabledReason failingSince } }",
            json!({ "id": endpoint }),
        )
        .await;
    let state = &body["data"]["webhookEndpoint"];
    assert_eq!(state["enabled"], false, "{body}");
    assert!(state["disabledReason"].as_str().unwrap().contains("every attempt failed"), "{body}");
    let audit = app
        .gql(
            Some(admin),
            r#"{ auditLog(filter: { action: "webhookEndpoint.autoDisable" }) { nodes { actorKind entityId } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(audit["data"]["auditLog"]["nodes"], json!([{ "actorKind": "SYSTEM", "entityId": endpoint }]), "{audit}");

    // Disabled: new events make no deliveries, and what waits is not sent.
    let waiting = log.iter().filter(|d| d["status"] == "PENDING").count();
    let before = receiver.received("down", &secret).await.len();
    let other = create_lead(&app, &marketer.token, "bo@payly.io", "NEW").await;
    move_lead(&app, &marketer.token, &other, "ENGAGED").await;
    deliver(&app, &acme, &sender).await;
    assert_eq!(receiver.received("down", &secret).await.len(), before);
    assert_eq!(deliveries(&app, admin, json!({ "endpointId": endpoint })).await.len(), log.len());
    let body = app
        .gql(
            Some(admin),
            "mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { id } } }",
            json!({ "input": { "deliveryId": log[0]["id"] } }),
        )
        .await;
    assert_error(&body, "CONFLICT");

    // Enabled again (and answering), the waiting deliveries go out.
    receiver.script("down", &[], 0).await;
    let body = app
        .gql(
            Some(admin),
            "mutation($input: WebhookEndpointInput!) { enableWebhookEndpoint(input: $input) { endpoint { enabled failingSince disabledReason } } }",
            json!({ "input": { "id": endpoint } }),
        )
        .await;
    assert_eq!(
        body["data"]["enableWebhookEndpoint"]["endpoint"],
        json!({ "enabled": true, "failingSince": null, "disabledReason": null })
    );
    deliver(&app, &acme, &sender).await;
    let after = deliveries(&app, admin, json!({ "endpointId": endpoint })).await;
    assert_eq!(after.iter().filter(|d| d["status"] == "SUCCEEDED").count(), waiting, "{after:#?}");
}

#[tokio::test]
async fn only_admins_manage_webhooks_within_bounds_and_never_another_organizations() {
    // A server as deployed: public https targets only.
    let app = spawn_app_with(|c| c.webhooks.allow_private = false).await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let admin = &acme.admin.token;
    let ok = json!({ "url": "https://hooks.example.com/accord", "eventTypes": ["lead.*"] });

    for role in [Role::Viewer, Role::Member, Role::Manager] {
        let user = app.create_user(&acme, Team::Revops, role).await;
        assert_error(&app.gql(Some(&user.token), CREATE, json!({ "input": ok })).await, "FORBIDDEN");
        assert_error(&app.gql(Some(&user.token), "{ webhookEndpoints { id } }", Value::Null).await, "FORBIDDEN");
        let body = app.gql(Some(&user.token), "{ webhookDeliveries { totalCount } }", Value::Null).await;
        assert_error(&body, "FORBIDDEN");
    }
    let key = app
        .gql(
            Some(admin),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({ "input": { "name": "all scopes", "scopes": ["LEADS_READ", "LEADS_WRITE", "EVENTS_READ", "ORG_READ", "AUDIT_READ"] } }),
        )
        .await["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_error(&app.gql(Some(&key), CREATE, json!({ "input": ok })).await, "FORBIDDEN");

    let long = format!("https://hooks.example.com/{}", "a".repeat(2_100));
    let many: Vec<String> = (0..101).map(|i| format!("lead.{i}")).collect();
    for (input, field) in [
        (json!({ "url": "http://hooks.example.com/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://127.0.0.1/hook", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://169.254.169.254/latest/meta-data", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://[::1]/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://[::ffff:10.0.0.1]/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://localhost:8080/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://metadata.internal/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://0x7f000001/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://user:pw@hooks.example.com/", "eventTypes": ["*"] }), "url"),
        (json!({ "url": "file:///etc/passwd", "eventTypes": ["*"] }), "url"),
        (json!({ "url": long, "eventTypes": ["*"] }), "url"),
        (json!({ "url": "https://hooks.example.com/", "eventTypes": [] }), "eventTypes"),
        (json!({ "url": "https://hooks.example.com/", "eventTypes": ["lead.created"] }), "eventTypes"),
        (json!({ "url": "https://hooks.example.com/", "eventTypes": many }), "eventTypes"),
        (
            json!({ "url": "https://hooks.example.com/", "eventTypes": ["*"], "description": "x".repeat(501) }),
            "description",
        ),
    ] {
        let body = app.gql(Some(admin), CREATE, json!({ "input": input })).await;
        assert_error(&body, "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], json!(field), "{body}");
    }
    let stored = entity::webhook_endpoint::Entity::find().count(&app.db).await.unwrap();
    assert_eq!(stored, 0, "a refused endpoint is not stored");

    let (endpoint, _) = create_endpoint(&app, admin, ok.clone()).await;
    let body = app
        .gql(
            Some(admin),
            "mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { url } } }",
            json!({ "input": { "id": endpoint, "url": "https://10.0.0.8/" } }),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            Some(admin),
            "mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { url eventTypes description leadStages } } }",
            json!({ "input": { "id": endpoint, "eventTypes": ["handover.created", "lead.qualified"], "leadStages": ["MQL"], "description": "Ops" } }),
        )
        .await;
    assert_eq!(
        body["data"]["updateWebhookEndpoint"]["endpoint"],
        json!({ "url": "https://hooks.example.com/accord", "eventTypes": ["handover.created", "lead.qualified"], "description": "Ops", "leadStages": ["MQL"] }),
        "{body}"
    );
    for _ in 1..20 {
        create_endpoint(&app, admin, ok.clone()).await;
    }
    let body = app.gql(Some(admin), CREATE, json!({ "input": ok })).await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("at most 20"), "{body}");

    // Another organization's endpoint and deliveries do not exist for Globex.
    let delivery = app
        .gql(
            Some(admin),
            "mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { delivery { id } } }",
            json!({ "input": { "endpointId": endpoint } }),
        )
        .await["data"]["sendTestWebhook"]["delivery"]["id"]
        .clone();
    let outsider = &globex.admin.token;
    for (query, variables) in [
        ("query($id: ID!) { webhookEndpoint(id: $id) { id } }", json!({ "id": endpoint })),
        ("query($id: ID!) { webhookDelivery(id: $id) { id } }", json!({ "id": delivery })),
        (
            "mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { id } } }",
            json!({ "input": { "id": endpoint, "description": "mine now" } }),
        ),
        (
            "mutation($input: WebhookEndpointInput!) { disableWebhookEndpoint(input: $input) { endpoint { id } } }",
            json!({ "input": { "id": endpoint } }),
        ),
        (
            "mutation($input: WebhookEndpointInput!) { rotateWebhookSecret(input: $input) { secret } }",
            json!({ "input": { "id": endpoint } }),
        ),
        (
            "mutation($input: WebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { deletedId } }",
            json!({ "input": { "id": endpoint } }),
        ),
        (
            "mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { delivery { id } } }",
            json!({ "input": { "endpointId": endpoint } }),
        ),
        (
            "mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { delivery { id } } }",
            json!({ "input": { "deliveryId": delivery } }),
        ),
    ] {
        assert_error(&app.gql(Some(outsider), query, variables).await, "NOT_FOUND");
    }
    let body = app
        .gql(
            Some(outsider),
            "query($id: ID) { webhookDeliveries(filter: { endpointId: $id }) { totalCount } webhookEndpoints { id } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(body["data"], json!({ "webhookDeliveries": { "totalCount": 0 }, "webhookEndpoints": [] }), "{body}");
    let body = app
        .gql(
            Some(admin),
            "query($id: ID!) { webhookEndpoint(id: $id) { description enabled } }",
            json!({ "id": endpoint }),
        )
        .await;
    assert_eq!(body["data"]["webhookEndpoint"], json!({ "description": "Ops", "enabled": true }), "untouched: {body}");

    // Deleting takes the delivery log with it.
    let body = app
        .gql(
            Some(admin),
            "mutation($input: WebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { deletedId } }",
            json!({ "input": { "id": endpoint } }),
        )
        .await;
    assert_eq!(body["data"]["deleteWebhookEndpoint"]["deletedId"], json!(endpoint), "{body}");
    let body =
        app.gql(Some(admin), "query($id: ID!) { webhookDelivery(id: $id) { id } }", json!({ "id": delivery })).await;
    assert_error(&body, "NOT_FOUND");
}

#[tokio::test]
async fn a_target_is_checked_again_on_every_attempt() {
    // An endpoint stored while private targets were allowed, sent by a server that
    // no longer allows them: the attempt is refused before any request is made.
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let receiver = Receiver::start().await;
    let input = json!({ "url": receiver.url("inside"), "eventTypes": ["*"] });
    let (endpoint, secret) = create_endpoint(&app, &acme.admin.token, input).await;
    app.gql(
        Some(&acme.admin.token),
        "mutation($input: SendTestWebhookInput!) { sendTestWebhook(input: $input) { delivery { id } } }",
        json!({ "input": { "endpointId": endpoint } }),
    )
    .await;
    let strict = Sender::new(app.db.clone(), WebhookSettings { allow_private: false, ..settings() }).unwrap();
    strict.deliver_due().await.unwrap();
    assert!(receiver.received("inside", &secret).await.is_empty());
    let log = deliveries(&app, &acme.admin.token, json!({})).await;
    let error = log[0]["lastError"].as_str().unwrap();
    assert!(error.starts_with("blocked: 127.0.0.1"), "{error}");
    assert!(log[0]["lastStatusCode"].is_null());
}

/// An `accord serve` process on the test's database, running the background jobs and
/// sending to the test's local receiver.
fn server(database_url: &str) -> Replica {
    Replica::start_with(
        database_url,
        true,
        &[("ACCORD_WEBHOOKS_ALLOW_PRIVATE", "true"), ("ACCORD_WEBHOOKS_TIMEOUT", "5s")],
    )
}

#[tokio::test]
async fn a_delivery_in_flight_when_its_server_dies_is_made_again_after_a_restart() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let marketer = app.create_user(&acme, Team::Marketing, Role::Member).await;
    let receiver = Receiver::start().await;
    let input = json!({ "url": receiver.url("slow"), "eventTypes": ["lead.stageChanged"] });
    let (_, secret) = create_endpoint(&app, &acme.admin.token, input).await;
    receiver.script("slow", &[], 1).await;
    let lead = create_lead(&app, &marketer.token, "ana@payly.io", "NEW").await;
    move_lead(&app, &marketer.token, &lead, "ENGAGED").await;

    // The first server relays the event and posts it; the receiver never answers, and
    // the server is killed while it waits.
    let first = server(app.database_url());
    let arrived = Instant::now();
    while receiver.received("slow", &secret).await.is_empty() {
        assert!(arrived.elapsed() < Duration::from_secs(20), "the first server never sent the delivery");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(first);
    let delivery = entity::webhook_delivery::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!((delivery.status, delivery.attempts), (entity::WebhookDeliveryStatus::Pending, 0), "{delivery:?}");

    // A new server sends it again once the dead one's claim lapses.
    let _second = server(app.database_url());
    let restarted = Instant::now();
    loop {
        let received = receiver.received("slow", &secret).await;
        if received.len() == 2 {
            assert_eq!(received[1]["id"], received[0]["id"], "the same delivery, the same webhook-id");
            assert_eq!(received[1]["verified"], true);
            break;
        }
        assert!(restarted.elapsed() < Duration::from_secs(40), "not delivered again: {received:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = Instant::now();
    loop {
        let delivery = entity::webhook_delivery::Entity::find().one(&app.db).await.unwrap().unwrap();
        if delivery.status == entity::WebhookDeliveryStatus::Succeeded {
            assert_eq!(delivery.attempts, 1, "the attempt that died with its server left no record");
            break;
        }
        assert!(done.elapsed() < Duration::from_secs(10), "{delivery:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
