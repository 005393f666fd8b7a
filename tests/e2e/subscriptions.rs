//! GraphQL over WebSocket (graphql-transport-ws): the protocol's close codes and
//! limits, subscriptions delivering committed changes checked against each
//! subscriber's permissions, operations over the socket under the HTTP limits, and the
//! `graphql-ws` npm client as the reference.

use std::time::Duration;

use api::events::relay;
use entity::{Role, Team};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::common::*;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for a message that should come.
const WAIT: Duration = Duration::from_secs(5);

struct Ws {
    socket: Socket,
    /// Messages read while waiting for another one.
    held: Vec<Value>,
}

impl Ws {
    async fn open(app: &TestApp, protocol: Option<&str>) -> Ws {
        Ws::open_at(&app.address, protocol).await
    }

    /// A socket to the server at `address` (`http://host:port`).
    async fn open_at(address: &str, protocol: Option<&str>) -> Ws {
        let url = address.replacen("http://", "ws://", 1) + "/graphql";
        let mut request = url.into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert("sec-websocket-protocol", protocol.parse().unwrap());
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("the upgrade is accepted");
        if protocol == Some("graphql-transport-ws") {
            assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
        }
        Ws { socket, held: Vec::new() }
    }

    /// A socket that spoke `connection_init` with `token` and got `connection_ack`.
    async fn ready(app: &TestApp, token: &str) -> Ws {
        Ws::ready_at(&app.address, token).await
    }

    async fn ready_at(address: &str, token: &str) -> Ws {
        let mut ws = Ws::open_at(address, Some("graphql-transport-ws")).await;
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })).await;
        assert_eq!(ws.next().await["type"], "connection_ack");
        ws
    }

    async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.socket.send(Message::Text(text.into())).await.expect("sent");
    }

    /// The next protocol message (held ones first); pings from the server are answered.
    async fn next(&mut self) -> Value {
        if !self.held.is_empty() {
            return self.held.remove(0);
        }
        self.read().await.unwrap_or_else(|close| panic!("the socket closed: {close:?}"))
    }

    async fn read(&mut self) -> Result<Value, Option<(u16, String)>> {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next()).await.expect("a message within 5 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Ok(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())));
                }
                Some(Ok(_)) => continue,
                _ => return Err(None),
            }
        }
    }

    /// The close code and reason the server ends the socket with (messages before it skipped).
    async fn closed(&mut self) -> (u16, String) {
        loop {
            match self.read().await {
                Ok(_) => continue,
                Err(Some(close)) => return close,
                Err(None) => panic!("the socket ended without a close frame"),
            }
        }
    }

    /// Start an operation, and wait until the server has read it (a ping it answered
    /// after it): from then on every relayed event reaches it.
    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
        self.send(json!({ "type": "ping", "payload": { "sync": id } })).await;
        loop {
            let message = self.read().await.unwrap_or_else(|close| panic!("closed: {close:?}"));
            if message["type"] == "pong" && message["payload"]["sync"] == id {
                return;
            }
            self.held.push(message);
        }
    }

    /// The next message of operation `id`.
    async fn next_of(&mut self, id: &str) -> Value {
        if let Some(at) = self.held.iter().position(|m| m["id"] == id) {
            return self.held.remove(at);
        }
        loop {
            let message = self.read().await.unwrap_or_else(|close| panic!("the socket closed: {close:?}"));
            if message["id"] == id {
                return message;
            }
            self.held.push(message);
        }
    }

    /// Nothing arrives for operation `id` within `wait`.
    async fn quiet(&mut self, id: &str, wait: Duration) {
        assert!(!self.held.iter().any(|m| m["id"] == id), "{:?}", self.held);
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(message) = tokio::time::timeout_at(deadline, self.socket.next()).await {
            if let Some(Ok(Message::Text(text))) = message {
                let value: Value = serde_json::from_str(text.as_str()).unwrap();
                assert_ne!(value["id"], json!(id), "nothing expected for {id}: {value}");
                if value["type"] != "ping" {
                    self.held.push(value);
                }
            }
        }
    }
}

async fn relay_now(app: &TestApp, org: &TestOrg) {
    relay::relay_org(&app.db, org.id).await.expect("relayed");
}

pub(crate) async fn create_lead(app: &TestApp, token: &str, email: &str, stage: &str) -> String {
    let body = app
        .gql(
            Some(token),
            "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({ "input": { "email": email, "lifecycleStage": stage } }),
        )
        .await;
    body["data"]["createLead"]["lead"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

pub(crate) async fn move_lead(app: &TestApp, token: &str, id: &str, to: &str) {
    let body = app
        .gql(
            Some(token),
            "mutation($input: MoveLeadStageInput!) { moveLeadStage(input: $input) { lead { lifecycleStage } } }",
            json!({ "input": { "leadId": id, "to": to } }),
        )
        .await;
    assert_eq!(body["data"]["moveLeadStage"]["lead"]["lifecycleStage"], json!(to), "{body}");
}

async fn api_key(app: &TestApp, org: &TestOrg, scopes: &[&str]) -> String {
    let body = app
        .gql(
            Some(&org.admin.token),
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
            json!({ "input": { "name": format!("live {}", scopes.join(" ")), "scopes": scopes } }),
        )
        .await;
    body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

const LEAD_EVENTS: &str = "subscription($filter: LeadEventFilter) { leadEvents(filter: $filter) { id kind fromStage toStage lead { id email lifecycleStage } } }";

#[tokio::test]
async fn the_protocol_closes_with_its_own_codes() {
    let app = spawn_app_with(|c| c.websocket.init_timeout = Duration::from_millis(300)).await;
    let org = app.create_org("Acme").await;
    let init =
        |token: &str| json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });

    // No graphql-transport-ws subprotocol offered.
    let mut ws = Ws::open(&app, None).await;
    assert_eq!(ws.closed().await.0, 4406);
    // Nothing sent in time.
    let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
    assert_eq!(ws.closed().await.0, 4408);
    // Not JSON; JSON but not a protocol message; a message without its fields.
    for bad in ["{not json", r#"{"type":"hello"}"#, r#"{"type":"subscribe","id":"1"}"#, r#"[1,2]"#] {
        let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
        ws.send_text(bad.to_owned()).await;
        assert_eq!(ws.closed().await.0, 4400, "{bad}");
    }
    // subscribe before connection_ack.
    let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
    ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { name } }" } })).await;
    assert_eq!(ws.closed().await.0, 4401);
    // No credential, a bad one, an API key without EVENTS_READ.
    let no_events = api_key(&app, &org, &["LEADS_READ"]).await;
    for payload in [json!({}), init("not-a-token")["payload"].clone(), init(&no_events)["payload"].clone()] {
        let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
        ws.send(json!({ "type": "connection_init", "payload": payload })).await;
        let (code, reason) = ws.closed().await;
        assert_eq!(code, 4403, "{payload}: {reason}");
    }
    // A second connection_init.
    let mut ws = Ws::ready(&app, &org.admin.token).await;
    ws.send(init(&org.admin.token)).await;
    assert_eq!(ws.closed().await.0, 4429);
    // A subscriber id already running.
    let mut ws = Ws::ready(&app, &org.admin.token).await;
    ws.subscribe("same", LEAD_EVENTS, json!({})).await;
    ws.send(json!({ "id": "same", "type": "subscribe", "payload": { "query": LEAD_EVENTS } })).await;
    assert_eq!(ws.closed().await.0, 4409);
}

#[tokio::test]
async fn keys_token_fields_and_the_upgrade_header_carry_the_credential() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let key = api_key(&app, &org, &["EVENTS_READ", "LEADS_READ"]).await;
    for payload in [
        json!({ "token": org.admin.token }),
        json!({ "apiKey": key }),
        json!({ "Authorization": format!("Bearer {key}") }),
    ] {
        let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
        ws.send(json!({ "type": "connection_init", "payload": payload })).await;
        assert_eq!(ws.next().await["type"], "connection_ack", "{payload}");
        // The protocol's ping is answered with its payload.
        ws.send(json!({ "type": "ping", "payload": { "n": 1 } })).await;
        assert_eq!(ws.next().await, json!({ "type": "pong", "payload": { "n": 1 } }));
    }
    // A server-side client may send the header on the upgrade request instead.
    let url = app.address.replacen("http://", "ws://", 1) + "/graphql";
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse().unwrap());
    request.headers_mut().insert("authorization", format!("Bearer {}", org.admin.token).parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let mut ws = Ws { socket, held: Vec::new() };
    ws.send(json!({ "type": "connection_init" })).await;
    assert_eq!(ws.next().await["type"], "connection_ack");
}

#[tokio::test]
async fn sockets_per_credential_and_operations_per_socket_are_limited() {
    let app = spawn_app_with(|c| {
        c.websocket.max_connections_per_credential = 2;
        c.websocket.max_subscriptions = 2;
    })
    .await;
    let org = app.create_org("Acme").await;
    let first = Ws::ready(&app, &org.admin.token).await;
    let mut second = Ws::ready(&app, &org.admin.token).await;
    let mut third = Ws::open(&app, Some("graphql-transport-ws")).await;
    third
        .send(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", org.admin.token) } }),
        )
        .await;
    let (code, reason) = third.closed().await;
    assert_eq!((code, reason.contains("at most 2")), (1008, true), "{reason}");
    // Another credential is not held up; a closed socket frees its place.
    let other = app.create_user(&org, Team::Sales, Role::Member).await;
    let _other = Ws::ready(&app, &other.token).await;
    drop(first);
    let mut freed = None;
    for _ in 0..50 {
        let mut ws = Ws::open(&app, Some("graphql-transport-ws")).await;
        ws.send(
            json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", org.admin.token) } }),
        )
        .await;
        if let Ok(ack) = ws.read().await {
            assert_eq!(ack["type"], "connection_ack");
            freed = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed.is_some(), "the closed socket's place was given back");

    second.subscribe("a", LEAD_EVENTS, json!({})).await;
    second.subscribe("b", LEAD_EVENTS, json!({})).await;
    second.subscribe("c", LEAD_EVENTS, json!({})).await;
    let refused = second.next_of("c").await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    // Completing one makes room.
    second.send(json!({ "id": "a", "type": "complete" })).await;
    second.subscribe("c", LEAD_EVENTS, json!({})).await;
    second.quiet("c", Duration::from_millis(200)).await;
}

#[tokio::test]
async fn lead_events_reach_only_subscribers_who_may_read_them() {
    let app = spawn_app().await;
    let acme = app.create_org("Acme").await;
    let globex = app.create_org("Globex").await;
    let marketer = app.create_user(&acme, Team::Marketing, Role::Member).await;
    let mine = create_lead(&app, &marketer.token, "ana@payly.io", "NEW").await;
    let other = create_lead(&app, &marketer.token, "bo@payly.io", "NEW").await;
    let foreign = create_lead(&app, &globex.admin.token, "cy@globex.io", "NEW").await;
    relay_now(&app, &acme).await;
    relay_now(&app, &globex).await;

    let mut viewer = Ws::ready(&app, &app.create_user(&acme, Team::Sales, Role::Viewer).await.token).await;
    viewer.subscribe("all", LEAD_EVENTS, json!({})).await;
    viewer.subscribe("one", LEAD_EVENTS, json!({ "filter": { "leadIds": [mine] } })).await;
    viewer.subscribe("mql", LEAD_EVENTS, json!({ "filter": { "stages": ["MQL"], "kinds": ["STAGE_CHANGED"] } })).await;
    let events_only = api_key(&app, &acme, &["EVENTS_READ"]).await;
    let mut key = Ws::ready(&app, &events_only).await;
    key.subscribe("k", LEAD_EVENTS, json!({})).await;
    let reader = api_key(&app, &acme, &["EVENTS_READ", "LEADS_READ"]).await;
    let mut partner = Ws::ready(&app, &reader).await;
    partner.subscribe("p", LEAD_EVENTS, json!({})).await;
    let mut outsider = Ws::ready(&app, &globex.admin.token).await;
    outsider.subscribe("x", LEAD_EVENTS, json!({})).await;

    // An API key without LEADS_READ is refused when it subscribes, not silently fed nothing.
    let refused = key.next_of("k").await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN", "{refused}");
    assert_eq!(key.next_of("k").await["type"], "complete");

    move_lead(&app, &marketer.token, &mine, "ENGAGED").await;
    move_lead(&app, &marketer.token, &other, "MQL").await;
    relay_now(&app, &acme).await;

    let first = viewer.next_of("all").await;
    assert_eq!(first["type"], "next", "{first}");
    let event = &first["payload"]["data"]["leadEvents"];
    assert_eq!(event["kind"], "STAGE_CHANGED", "{first}");
    assert_eq!((&event["fromStage"], &event["toStage"]), (&json!("NEW"), &json!("ENGAGED")));
    // A VIEWER hears of the move, without the lead's e-mail address (personal data).
    assert_eq!(event["lead"], json!({ "id": mine, "email": null, "lifecycleStage": "ENGAGED" }));
    let withheld = &first["payload"]["errors"][0];
    assert_eq!(withheld["extensions"]["code"], "FORBIDDEN", "{first}");
    assert_eq!(withheld["path"], json!(["leadEvents", "lead", "email"]), "{first}");
    let second = viewer.next_of("all").await;
    assert_eq!(second["payload"]["data"]["leadEvents"]["lead"]["id"], json!(other), "commit order: {second}");
    let one = viewer.next_of("one").await;
    assert_eq!(one["payload"]["data"]["leadEvents"]["lead"]["id"], json!(mine));
    let mql = viewer.next_of("mql").await;
    assert_eq!(mql["payload"]["data"]["leadEvents"]["lead"]["id"], json!(other));
    viewer.quiet("one", Duration::from_millis(300)).await;
    viewer.quiet("mql", Duration::from_millis(10)).await;
    let seen = partner.next_of("p").await;
    assert_eq!(seen["payload"]["data"]["leadEvents"]["lead"]["id"], json!(mine), "{seen}");
    assert_eq!(seen["payload"]["data"]["leadEvents"]["lead"]["email"], Value::Null, "no PII_READ: {seen}");
    // Another organization's change never reaches this one, nor the reverse.
    outsider.quiet("x", Duration::from_millis(300)).await;
    move_lead(&app, &globex.admin.token, &foreign, "ENGAGED").await;
    relay_now(&app, &globex).await;
    let theirs = outsider.next_of("x").await;
    assert_eq!(theirs["payload"]["data"]["leadEvents"]["lead"]["id"], json!(foreign));
    viewer.quiet("all", Duration::from_millis(300)).await;
    // The same event is told apart by its id (redelivered after a reconnect, say).
    assert_ne!(first["payload"]["data"]["leadEvents"]["id"], second["payload"]["data"]["leadEvents"]["id"]);
    // A completed subscription hears nothing more.
    viewer.send(json!({ "id": "all", "type": "complete" })).await;
    move_lead(&app, &marketer.token, &mine, "MQL").await;
    relay_now(&app, &acme).await;
    let again = viewer.next_of("one").await;
    assert_eq!(again["payload"]["data"]["leadEvents"]["toStage"], "MQL");
    viewer.quiet("all", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn my_queue_and_sla_alerts_follow_handovers() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketer = app.create_user(&org, Team::Marketing, Role::Member).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let other_rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let lead = create_lead(&app, &marketer.token, "ana@payly.io", "MQL").await;
    relay_now(&app, &org).await;
    let queue = "subscription { myQueue { kind handover { id status overdue lead { id } } } }";
    let mut mine = Ws::ready(&app, &rep.token).await;
    mine.subscribe("q", queue, json!({})).await;
    let mut theirs = Ws::ready(&app, &other_rep.token).await;
    theirs.subscribe("q", queue, json!({})).await;
    let mut manager = Ws::ready(&app, &org.admin.token).await;
    manager
        .subscribe(
            "sla",
            "subscription($f: SlaAlertFilter) { slaAlerts(filter: $f) { kind handover { id overdue } } }",
            json!({ "f": { "assigneeId": rep.id } }),
        )
        .await;
    // An API key has no queue.
    let key = api_key(&app, &org, &["EVENTS_READ", "LEADS_READ"]).await;
    let mut partner = Ws::ready(&app, &key).await;
    partner.subscribe("q", queue, json!({})).await;
    assert_eq!(partner.next_of("q").await["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let body = app
        .gql(
            Some(&marketer.token),
            "mutation($input: HandOverLeadInput!) { handOverLead(input: $input) { handover { id } } }",
            json!({ "input": { "leadId": lead, "toUserId": rep.id } }),
        )
        .await;
    let handover =
        body["data"]["handOverLead"]["handover"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    relay_now(&app, &org).await;
    let created = mine.next_of("q").await;
    assert_eq!(
        created["payload"]["data"]["myQueue"],
        json!({ "kind": "CREATED", "handover": { "id": handover, "status": "PENDING", "overdue": false, "lead": { "id": lead } } })
    );
    theirs.quiet("q", Duration::from_millis(300)).await;

    // The SLA clock finds it overdue a day later.
    let marked =
        api::handover::clock::mark_overdue(&app.db, chrono::Utc::now() + chrono::Duration::days(2)).await.unwrap();
    assert_eq!(marked, 1);
    relay_now(&app, &org).await;
    assert_eq!(mine.next_of("q").await["payload"]["data"]["myQueue"]["kind"], "OVERDUE");
    let alert = manager.next_of("sla").await;
    assert_eq!(
        alert["payload"]["data"]["slaAlerts"],
        json!({ "kind": "HANDOVER_OVERDUE", "handover": { "id": handover, "overdue": true } })
    );

    let accepted = app
        .gql(
            Some(&rep.token),
            "mutation($id: ID!) { acceptHandover(input: { handoverId: $id }) { handover { status } } }",
            json!({ "id": handover }),
        )
        .await;
    assert_eq!(accepted["data"]["acceptHandover"]["handover"]["status"], "ACCEPTED", "{accepted}");
    relay_now(&app, &org).await;
    let answered = mine.next_of("q").await;
    assert_eq!(answered["payload"]["data"]["myQueue"]["kind"], "ACCEPTED");
    assert_eq!(answered["payload"]["data"]["myQueue"]["handover"]["status"], "ACCEPTED");
    theirs.quiet("q", Duration::from_millis(200)).await;
}

#[tokio::test]
async fn alignment_and_feedback_events_are_delivered() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let marketing_manager = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales_manager = app.create_user(&org, Team::Sales, Role::Manager).await;
    let rep = app.create_user(&org, Team::Sales, Role::Member).await;
    let mut sales = Ws::ready(&app, &sales_manager.token).await;
    sales.subscribe("a", "subscription { alignmentEvents { kind documentKind title status awaitingMyApproval proposal { version waitingFor } document { ... on Definition { id } } } }", json!({})).await;
    sales
        .subscribe("mine", "subscription { alignmentEvents(filter: { awaitingMyApproval: true }) { kind } }", json!({}))
        .await;
    let mut author = Ws::ready(&app, &rep.token).await;
    author
        .subscribe(
            "f",
            "subscription { feedbackEvents(filter: { mine: true }) { kind feedback { id status } } }",
            json!({}),
        )
        .await;
    let mut everyone = Ws::ready(&app, &marketing_manager.token).await;
    everyone.subscribe("f", "subscription { feedbackEvents { kind feedback { id } } }", json!({})).await;
    let other = app.create_org("Globex").await;
    let mut outsider = Ws::ready(&app, &other.admin.token).await;
    outsider.subscribe("a", "subscription { alignmentEvents { kind } }", json!({})).await;
    outsider.subscribe("f", "subscription { feedbackEvents { kind } }", json!({})).await;

    let body = app
        .gql(
            Some(&marketing_manager.token),
            "mutation($input: CreateDefinitionInput!) { createDefinition(input: $input) { definition { id } } }",
            json!({ "input": { "term": "Webinar lead", "body": "Someone who registered for a webinar.", "propose": true } }),
        )
        .await;
    let definition =
        body["data"]["createDefinition"]["definition"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    relay_now(&app, &org).await;
    let event = sales.next_of("a").await;
    let event = &event["payload"]["data"]["alignmentEvents"];
    assert_eq!(event["kind"], "PROPOSED", "{event}");
    assert_eq!(
        (&event["documentKind"], &event["status"], &event["awaitingMyApproval"]),
        (&json!("DEFINITION"), &json!("PROPOSED"), &json!(true)),
        "{event}"
    );
    assert_eq!(event["document"]["id"], json!(definition));
    assert_eq!(sales.next_of("mine").await["payload"]["data"]["alignmentEvents"]["kind"], "PROPOSED");

    let body = app
        .gql(
            Some(&rep.token),
            "mutation($input: SubmitFeedbackInput!) { submitFeedback(input: $input) { feedback { id } } }",
            json!({ "input": { "subjectType": "GENERAL", "tag": "pricing", "sentiment": "NEGATIVE", "body": "Prospects say we are too expensive." } }),
        )
        .await;
    let feedback =
        body["data"]["submitFeedback"]["feedback"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    relay_now(&app, &org).await;
    assert_eq!(everyone.next_of("f").await["payload"]["data"]["feedbackEvents"]["feedback"]["id"], json!(feedback));
    let mine = author.next_of("f").await;
    assert_eq!(
        mine["payload"]["data"]["feedbackEvents"],
        json!({ "kind": "SUBMITTED", "feedback": { "id": feedback, "status": "NEW" } }),
        "{mine}"
    );
    // Another organization hears of neither.
    outsider.quiet("a", Duration::from_millis(300)).await;
    outsider.quiet("f", Duration::from_millis(10)).await;
}

#[tokio::test]
async fn queries_and_mutations_over_the_socket_meet_the_http_limits() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let mut ws = Ws::ready(&app, &org.admin.token).await;
    ws.subscribe("me", "{ me { name } }", json!({})).await;
    let result = ws.next_of("me").await;
    assert_eq!(result["type"], "next");
    assert!(result["payload"]["data"]["me"]["name"].is_string(), "{result}");
    assert_eq!(ws.next_of("me").await, json!({ "id": "me", "type": "complete" }));
    // A validation error is the operation's `error`, with the GraphQL errors.
    ws.subscribe("bad", "{ nope }", json!({})).await;
    let error = ws.next_of("bad").await;
    assert_eq!(error["type"], "error", "{error}");
    assert!(error["payload"][0]["message"].as_str().unwrap().contains("nope"), "{error}");
    // Too costly: refused before it runs, as over HTTP.
    ws.subscribe("big", "{ leads(first: 100) { nodes { activities(first: 100) { nodes { id } } } } }", json!({})).await;
    let refused = ws.next_of("big").await;
    assert_eq!(
        (&refused["type"], &refused["payload"][0]["extensions"]["code"]),
        (&json!("error"), &json!("BAD_USER_INPUT")),
        "{refused}"
    );
    // Arguments are bounded as over HTTP: refused when the subscription starts.
    let ids: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    ws.subscribe("ids", LEAD_EVENTS, json!({ "filter": { "leadIds": ids } })).await;
    let refused = ws.next_of("ids").await;
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    assert_eq!(refused["payload"]["errors"][0]["extensions"]["field"], "filter.leadIds", "{refused}");
    assert_eq!(ws.next_of("ids").await["type"], "complete");
    // A mutation runs and commits.
    let before = app.count_audit_rows(&org).await;
    ws.subscribe("m", "mutation { createAccount(input: { name: \"Payly\" }) { account { name } } }", json!({})).await;
    let made = ws.next_of("m").await;
    assert_eq!(made["payload"]["data"]["createAccount"]["account"]["name"], "Payly", "{made}");
    assert_eq!(app.count_audit_rows(&org).await, before + 1);
    // A subscription sent over HTTP is refused, not held open.
    let body = app.gql(Some(&org.admin.token), "subscription { leadEvents { id } }", json!({})).await;
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    assert!(body["data"].is_null(), "{body}");
}

#[tokio::test]
async fn a_revoked_key_and_a_server_shutdown_end_the_socket() {
    let app = spawn_app_with(|c| c.websocket.keep_alive = Duration::from_millis(200)).await;
    let org = app.create_org("Acme").await;
    let key = api_key(&app, &org, &["EVENTS_READ", "LEADS_READ"]).await;
    let mut ws = Ws::ready(&app, &key).await;
    // Keep-alive: the server pings an idle socket.
    let ping = tokio::time::timeout(WAIT, ws.socket.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(serde_json::from_str::<Value>(ping.to_text().unwrap()).unwrap(), json!({ "type": "ping" }));
    ws.send(json!({ "type": "pong" })).await;
    let keys = app.gql(Some(&org.admin.token), "{ apiKeys { id } }", json!({})).await;
    let id = keys["data"]["apiKeys"][0]["id"].clone();
    let revoked = app
        .gql(
            Some(&org.admin.token),
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { status } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(revoked["data"]["revokeApiKey"]["apiKey"]["status"], "REVOKED", "{revoked}");
    assert_eq!(ws.closed().await.0, 4403);

    let mut ws = Ws::ready(&app, &org.admin.token).await;
    drop(app);
    assert_eq!(ws.closed().await.0, 1001);
}

/// The `graphql-ws` npm client (the protocol's reference) subscribes, receives an event
/// and completes. Needs Node.js; the pinned packages are installed on first use from
/// tests/ws-client/package-lock.json.
#[tokio::test]
async fn the_graphql_ws_client_receives_lead_events() {
    let dir = node_packages("ws-client", "graphql-ws").await;
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let lead = create_lead(&app, &org.admin.token, "ana@payly.io", "NEW").await;
    relay_now(&app, &org).await;
    let url = app.address.replacen("http://", "ws://", 1) + "/graphql";
    let mut client = std::process::Command::new("node")
        .arg("client.mjs")
        .arg(&url)
        .arg(&org.admin.token)
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (Node.js) is installed: the client test needs it");
    // Read off the runtime: the server under test runs on this test's runtime.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stdout = client.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    let mut line = async || tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.expect("the client answers");
    assert_eq!(line().await.as_deref(), Some("subscribed"));
    move_lead(&app, &org.admin.token, &lead, "ENGAGED").await;
    relay_now(&app, &org).await;
    let received: Value = serde_json::from_str(&line().await.expect("an event line")).unwrap();
    assert_eq!(received["data"]["leadEvents"]["lead"]["id"], json!(lead), "{received}");
    assert_eq!(received["data"]["leadEvents"]["toStage"], "ENGAGED");
    let status = tokio::task::spawn_blocking(move || client.wait()).await.unwrap().unwrap();
    assert!(status.success(), "the client failed");
}

/// Two server processes on one PostgreSQL database: a change made through either reaches
/// a subscriber of the one that runs no jobs within a second (NOTIFY wakes the other's
/// relay, which announces its batch; the subscriber's replica hands it on).
#[tokio::test]
#[ignore = "PostgreSQL only: replicas share a PostgreSQL database (ACCORD_TEST_DATABASE_URL)"]
async fn a_change_through_one_replica_reaches_a_subscriber_of_another_within_a_second() {
    require_postgres();
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let leads = [
        create_lead(&app, &org.admin.token, "ana@payly.io", "NEW").await,
        create_lead(&app, &org.admin.token, "bo@payly.io", "NEW").await,
    ];
    // The subscriber's replica runs no jobs: whatever it hears, another replica relayed.
    let (one, two) = (Replica::start(app.database_url(), false), Replica::start(app.database_url(), true));
    let mut subscriber = Ws::ready_at(&one.address, &org.admin.token).await;
    subscriber.subscribe("leads", LEAD_EVENTS, json!({})).await;
    let moving = "mutation($input: MoveLeadStageInput!) { moveLeadStage(input: $input) { lead { lifecycleStage } } }";
    for (lead, through) in leads.iter().zip([&two, &one]) {
        let started = std::time::Instant::now();
        let input = json!({ "input": { "leadId": lead, "to": "ENGAGED" } });
        let body = through.gql(Some(&org.admin.token), moving, input).await;
        assert_eq!(body["data"]["moveLeadStage"]["lead"]["lifecycleStage"], "ENGAGED", "{body}");
        let event = subscriber.next_of("leads").await;
        let waited = started.elapsed();
        assert_eq!(event["payload"]["data"]["leadEvents"]["lead"]["id"], json!(lead), "{event}");
        assert!(waited < Duration::from_secs(1), "delivered after {waited:?}");
    }
    // Each event once, whichever replica relayed it.
    subscriber.quiet("leads", Duration::from_millis(1500)).await;
}

#[tokio::test]
async fn an_sla_period_that_missed_its_target_is_recorded_once_and_alerted() {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Globex").await;
    let marketing = app.create_user(&org, Team::Marketing, Role::Manager).await;
    let sales = app.create_user(&org, Team::Sales, Role::Manager).await;
    let create = "mutation($input: CreateSlaInput!) { createSla(input: $input) { sla { id } } }";
    let input = json!({ "input": { "providerTeam": "MARKETING", "consumerTeam": "SALES", "metric": "MQL_VOLUME", "target": 5, "period": "WEEK", "propose": true } });
    let body = app.gql(Some(&marketing.token), create, input).await;
    let sla = body["data"]["createSla"]["sla"]["id"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let approve = "mutation($input: DocumentVersionInput!) { approveDocument(input: $input) { agreed } }";
    for manager in [&marketing, &sales] {
        let body = app
            .gql(Some(&manager.token), approve, json!({ "input": { "kind": "SLA", "id": sla, "version": 1 } }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    // Agreed five weeks ago: the last two ended weeks were under it, with no MQL at all.
    let now = chrono::Utc::now();
    let sla_id: uuid::Uuid = sla.parse().unwrap();
    entity::document_version::Entity::update_many()
        .col_expr(
            entity::document_version::Column::AgreedAt,
            sea_orm::sea_query::Expr::value(now - chrono::Duration::days(35)),
        )
        .filter(entity::document_version::Column::DocumentId.eq(sla_id))
        .exec(&app.db)
        .await
        .unwrap();
    relay_now(&app, &org).await;
    let mut manager = Ws::ready(&app, &sales.token).await;
    manager.subscribe("sla", "subscription { slaAlerts(filter: { kinds: [PERIOD_BREACHED] }) { kind sla { id } slaVersion periodStart periodEnd value target handover { id } } }", json!({})).await;
    let no_kpis = api_key(&app, &org, &["EVENTS_READ", "LEADS_READ"]).await;
    let mut partner = Ws::ready(&app, &no_kpis).await;
    partner.subscribe("sla", "subscription { slaAlerts { kind } }", json!({})).await;
    let mut outsider = Ws::ready(&app, &other.admin.token).await;
    outsider.subscribe("sla", "subscription { slaAlerts { kind } }", json!({})).await;

    assert_eq!(api::kpi::progress::record_breaches(&app.db, now).await.unwrap(), 2);
    // Judged again (another pass, another replica): nothing new.
    assert_eq!(api::kpi::progress::record_breaches(&app.db, now).await.unwrap(), 0);
    let stored = entity::sla_breach::Entity::find()
        .filter(entity::sla_breach::Column::SlaId.eq(sla_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(stored, 2);
    relay_now(&app, &org).await;
    let mut weeks = Vec::new();
    for _ in 0..2 {
        let alert = manager.next_of("sla").await;
        let alert = &alert["payload"]["data"]["slaAlerts"];
        assert_eq!(
            (
                &alert["kind"],
                &alert["sla"]["id"],
                &alert["slaVersion"],
                &alert["value"],
                &alert["target"],
                &alert["handover"]
            ),
            (&json!("PERIOD_BREACHED"), &json!(sla), &json!(1), &json!(0.0), &json!(5.0), &Value::Null),
            "{alert}"
        );
        let start = chrono::DateTime::parse_from_rfc3339(alert["periodStart"].as_str().unwrap()).unwrap();
        let end = chrono::DateTime::parse_from_rfc3339(alert["periodEnd"].as_str().unwrap()).unwrap();
        assert_eq!((end - start).num_days(), 7, "{alert}");
        assert!(end <= now, "an ended week: {alert}");
        weeks.push(start);
    }
    assert_ne!(weeks[0], weeks[1]);
    // Breaches need KPIS_READ; another organization hears nothing.
    partner.quiet("sla", Duration::from_millis(300)).await;
    outsider.quiet("sla", Duration::from_millis(100)).await;
}
