//! GraphQL over WebSocket on `/graphql`, protocol `graphql-transport-ws` (the one of
//! the `graphql-ws` npm client): subscriptions, and queries and mutations for clients
//! that send everything over one socket.
//!
//! Written here rather than taken from async-graphql, whose protocol loop closes with
//! other codes than the protocol's (1002 and 1011 where it says 4400, 4401, 4403; no
//! 4408, 4409 or 4429). The socket goes through these steps:
//! - it must offer the `graphql-transport-ws` subprotocol, else it is closed 4406;
//! - within `ACCORD_WS_INIT_TIMEOUT` it sends `connection_init` with a credential in
//!   its payload (`{"authorization": "Bearer …"}`, or `token` / `apiKey`; else the
//!   upgrade request's `Authorization` header), else 4408; a missing or bad
//!   credential, or an API key without `EVENTS_READ`, is 4403; a second
//!   `connection_init` is 4429; a credential already holding
//!   `ACCORD_WS_MAX_CONNECTIONS_PER_CREDENTIAL` sockets is refused with 1008;
//! - after `connection_ack`, each `subscribe` runs one operation through the same
//!   admission as HTTP (size, depth, cost, input bounds, the caller's rate limit);
//!   a refused one gets an `error` message, a reused id closes the socket with 4409,
//!   one past `ACCORD_WS_MAX_SUBSCRIPTIONS` gets an `error` (BAD_USER_INPUT);
//! - a message that is not JSON, or not of the protocol, is 4400; `subscribe` before
//!   the acknowledgement is 4401;
//! - the server pings every `ACCORD_WS_KEEP_ALIVE`; a socket silent for two intervals
//!   is closed (1001), as is every socket when the server shuts down;
//! - the credential is checked again every few seconds: a deactivated user or a
//!   revoked key loses the socket (4403).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::Response;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use uuid::Uuid;

use crate::auth::{self, Actor};
use crate::error::ApiError;
use crate::graphql::{ClientAddress, Loaders};
use crate::http::{AppState, Turned, admit, error_object};

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Close codes of `graphql-transport-ws`, and the standard ones used beside them.
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const BAD_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    pub const INTERNAL: u16 = 4500;
}

/// How often, at most, the socket's credential is checked again (a revoked key, a
/// deactivated user); more often when the keep-alive interval is shorter.
const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// Longest a client may take to read what the server sends before the socket is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Messages the operations of one socket may have waiting to be sent; beyond that
/// they wait, and a live subscription that waits too long misses events (EVENTS_MISSED).
const OUTGOING: usize = 256;

/// Bytes read from a socket at once; longer messages are read in several steps.
const READ_BUFFER: usize = 8 * 1024;

/// Longest subscriber id accepted.
const MAX_ID_CHARS: usize = 128;

/// Sockets open per credential on this server.
#[derive(Default)]
pub struct Sockets(Mutex<HashMap<Uuid, usize>>);

/// One open socket counted against its credential until dropped.
struct Counted {
    sockets: Arc<Sockets>,
    credential: Uuid,
}

impl Sockets {
    fn open(self: &Arc<Self>, credential: Uuid, limit: usize) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(credential).or_default();
        if *count >= limit {
            return None;
        }
        *count += 1;
        metrics::gauge!("accord_ws_connections").increment(1.0);
        Some(Counted { sockets: self.clone(), credential })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.sockets.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.credential) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.credential);
            }
        }
        metrics::gauge!("accord_ws_connections").decrement(1.0);
    }
}

/// Take over an upgrade request on `/graphql`.
pub fn upgrade(
    state: AppState,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    client: IpAddr,
) -> axum::response::Response {
    let offered = upgrade.requested_protocols().any(|p| p.as_bytes() == PROTOCOL.as_bytes());
    let header = headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or("invalid").to_owned());
    // A message may carry a document of the largest accepted size and its variables.
    let max_message = state.config.limits.max_bytes.saturating_mul(2).max(64 * 1024);
    // Every read clears the whole read buffer first (tungstenite-rs#547), and each socket
    // keeps one: 8 KiB rather than the default 128 KiB.
    let upgrade = upgrade.read_buffer_size(READ_BUFFER);
    upgrade.protocols([PROTOCOL]).max_message_size(max_message).max_frame_size(max_message).on_upgrade(
        move |socket| async move {
            if !offered {
                let (mut sink, _) = socket.split();
                let _ = close_with(&mut sink, close::SUBPROTOCOL, "Subprotocol not acceptable").await;
                return;
            }
            Connection::new(state, header, client).run(socket).await;
        },
    )
}

/// A message of the protocol from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    #[serde(default)]
    query: String,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<Value>,
    #[serde(default)]
    extensions: Option<Value>,
}

/// What an operation's task sends back to the connection.
enum Outgoing {
    Next(String, u64, Response),
    Error(String, u64, Vec<Value>),
    Complete(String, u64),
}

/// A `next` message.
#[derive(serde::Serialize)]
struct Next<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    payload: &'a Response,
}

/// Why the connection ends.
struct Closing(u16, String);

impl Closing {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self(code, reason.into())
    }
}

struct Connection {
    state: AppState,
    header: Option<String>,
    client: IpAddr,
    /// Set once `connection_init` was accepted.
    caller: Option<(Actor, String, Counted)>,
    inits: usize,
    /// Running operations by subscriber id, with the number that tells a finished
    /// operation's last message from a newer one's under the same id.
    running: HashMap<String, (u64, AbortHandle)>,
    started: u64,
}

type Sink = SplitSink<WebSocket, Message>;

impl Connection {
    fn new(state: AppState, header: Option<String>, client: IpAddr) -> Self {
        Self { state, header, client, caller: None, inits: 0, running: HashMap::new(), started: 0 }
    }

    async fn run(mut self, socket: WebSocket) {
        let limits = self.state.config.websocket;
        let (mut sink, incoming) = socket.split();
        let (outgoing, mut results) = mpsc::channel::<Outgoing>(OUTGOING);
        // Reading in a task of its own means the socket is read only when it has data:
        // polled beside every outgoing message, each poll would clear the read buffer.
        let (heard, mut messages) = mpsc::channel::<Message>(16);
        let reader = tokio::spawn(read_messages(incoming, heard));
        let mut closing = self.state.closing.subscribe();
        let init_deadline = tokio::time::sleep(limits.init_timeout);
        tokio::pin!(init_deadline);
        let mut ping = tokio::time::interval_at(Instant::now() + limits.keep_alive, limits.keep_alive);
        let recheck_every = RECHECK_EVERY.min(limits.keep_alive);
        let mut recheck = tokio::time::interval_at(Instant::now() + recheck_every, recheck_every);
        let mut last_heard = Instant::now();
        let ended: Closing = loop {
            tokio::select! {
                message = messages.recv() => {
                    let Some(message) = message else { break Closing::new(0, "") };
                    last_heard = Instant::now();
                    match self.receive(message, &mut sink, &outgoing).await {
                        Ok(()) => {}
                        Err(closing) => break closing,
                    }
                }
                Some(result) = results.recv() => {
                    if let Err(closing) = self.forward_ready(result, &mut results, &mut sink).await {
                        break closing;
                    }
                }
                () = &mut init_deadline, if self.caller.is_none() => {
                    break Closing::new(close::INIT_TIMEOUT, "Connection initialisation timeout");
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > limits.keep_alive * 2 {
                        break Closing::new(close::GOING_AWAY, "no answer to the server's keep-alive pings");
                    }
                    if send(&mut sink, json!({ "type": "ping" })).await.is_err() {
                        break Closing::new(0, "");
                    }
                }
                _ = recheck.tick(), if self.caller.is_some() => {
                    if let Err(closing) = self.recheck().await {
                        break closing;
                    }
                }
                () = shut_down(&mut closing) => {
                    break Closing::new(close::GOING_AWAY, "the server is shutting down; connect again");
                }
            }
        };
        reader.abort();
        metrics::gauge!("accord_ws_subscriptions").decrement(self.running.len() as f64);
        for (_, (_, task)) in self.running.drain() {
            task.abort();
        }
        if ended.0 != 0 {
            let _ = close_with(&mut sink, ended.0, &ended.1).await;
        }
    }

    /// Handle one message from the client.
    async fn receive(
        &mut self,
        message: Message,
        sink: &mut Sink,
        outgoing: &mpsc::Sender<Outgoing>,
    ) -> Result<(), Closing> {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return Err(Closing::new(0, "")),
            // Answered by the WebSocket layer itself.
            Message::Ping(_) | Message::Pong(_) => return Ok(()),
            Message::Binary(_) => {
                return Err(Closing::new(
                    close::BAD_MESSAGE,
                    "Invalid message received: binary frames are not part of the protocol",
                ));
            }
        };
        let message: ClientMessage = serde_json::from_str(text.as_str()).map_err(|e| {
            Closing::new(close::BAD_MESSAGE, format!("Invalid message received: {}", short(&e.to_string())))
        })?;
        match message {
            ClientMessage::ConnectionInit { payload } => self.init(payload, sink).await,
            ClientMessage::Ping { payload } => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                send(sink, pong).await.map_err(|_| Closing::new(0, ""))
            }
            ClientMessage::Pong { .. } => Ok(()),
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, payload, sink, outgoing).await,
            ClientMessage::Complete { id } => {
                if let Some((_, task)) = self.running.remove(&id) {
                    task.abort();
                    metrics::gauge!("accord_ws_subscriptions").decrement(1.0);
                }
                Ok(())
            }
        }
    }

    async fn init(&mut self, payload: Option<Value>, sink: &mut Sink) -> Result<(), Closing> {
        self.inits += 1;
        if self.inits > 1 {
            return Err(Closing::new(close::TOO_MANY_INITS, "Too many initialisation requests"));
        }
        let authorization = credential(payload.as_ref()).or_else(|| self.header.clone());
        let Some(authorization) = authorization else {
            return Err(Closing::new(
                close::FORBIDDEN,
                "Forbidden: send {\"authorization\": \"Bearer <token or API key>\"} as the connection_init payload",
            ));
        };
        let actor = self.authenticate(&authorization).await?;
        let limit = self.state.config.websocket.max_connections_per_credential;
        let Some(counted) = self.state.sockets.open(actor.credential_id(), limit) else {
            return Err(Closing::new(close::POLICY, format!("at most {limit} open WebSockets per credential")));
        };
        self.caller = Some((actor, authorization, counted));
        send(sink, json!({ "type": "connection_ack" })).await.map_err(|_| Closing::new(0, ""))
    }

    /// The caller of `authorization`, allowed to subscribe; else the socket closes 4403.
    async fn authenticate(&self, authorization: &str) -> Result<Actor, Closing> {
        let state = &self.state;
        let found = auth::authenticate(&state.db, &state.keys, Some(authorization), state.config.auth_cache_ttl).await;
        match found {
            Ok(Some(actor)) if crate::auth::permissions::can_subscribe(&actor) => Ok(actor),
            Ok(Some(_)) => Err(Closing::new(close::FORBIDDEN, "Forbidden: the API key lacks the EVENTS_READ scope")),
            Ok(None) | Err(ApiError::Unauthenticated(_)) => {
                Err(Closing::new(close::FORBIDDEN, "Forbidden: the credential is invalid, expired or revoked"))
            }
            Err(error) => {
                tracing::warn!(error = %error, "authenticating a WebSocket failed");
                Err(Closing::new(close::INTERNAL, "Internal error"))
            }
        }
    }

    /// Check the credential again: a revoked key or a deactivated user loses the socket.
    async fn recheck(&mut self) -> Result<(), Closing> {
        let Some((_, authorization, _)) = &self.caller else { return Ok(()) };
        let authorization = authorization.clone();
        let actor = self.authenticate(&authorization).await?;
        if let Some((current, ..)) = &mut self.caller {
            *current = actor;
        }
        Ok(())
    }

    async fn subscribe(
        &mut self,
        id: String,
        payload: SubscribePayload,
        sink: &mut Sink,
        outgoing: &mpsc::Sender<Outgoing>,
    ) -> Result<(), Closing> {
        let Some((actor, ..)) = &self.caller else {
            return Err(Closing::new(close::UNAUTHORIZED, "Unauthorized"));
        };
        if id.is_empty() || id.chars().count() > MAX_ID_CHARS {
            return Err(Closing::new(
                close::BAD_MESSAGE,
                format!("Invalid message received: `id` must have 1 to {MAX_ID_CHARS} characters"),
            ));
        }
        if self.running.contains_key(&id) {
            return Err(Closing::new(close::DUPLICATE_ID, format!("Subscriber for {} already exists", short(&id))));
        }
        let limit = self.state.config.websocket.max_subscriptions;
        if self.running.len() >= limit {
            let error = ApiError::BadUserInput {
                message: format!("at most {limit} operations may run at once on one WebSocket; complete one first"),
                field: None,
            };
            return send(sink, error_message(&id, vec![error_object(&error)])).await.map_err(|_| Closing::new(0, ""));
        }
        let mut request = async_graphql::Request::new(payload.query);
        request.operation_name = payload.operation_name;
        if let Some(variables) = payload.variables {
            request = request.variables(async_graphql::Variables::from_json(variables));
        }
        if let Some(extensions) = payload.extensions.and_then(|v| serde_json::from_value(v).ok()) {
            request.extensions = extensions;
        }
        let actor = actor.clone();
        let refused = match admit(&self.state, Some(&actor), &mut request, false).await {
            Ok(_) => None,
            Err(Turned::Invalid(error)) => Some(error),
            Err(Turned::RateLimited(error) | Turned::Failed(error)) => Some(error_object(&error)),
            Err(Turned::NotQuery) => None,
        };
        if let Some(error) = refused {
            return send(sink, error_message(&id, vec![error])).await.map_err(|_| Closing::new(0, ""));
        }
        let db = self.state.request_db();
        let request = request
            .data(ClientAddress(Some(self.client)))
            .data(Loaders::new(&db, actor.org_id))
            .data(crate::graphql::live::Feed::new())
            .data(actor)
            .data(db);
        self.started += 1;
        let generation = self.started;
        let task =
            tokio::spawn(run_operation(self.state.schema.clone(), request, id.clone(), generation, outgoing.clone()));
        self.running.insert(id, (generation, task.abort_handle()));
        metrics::gauge!("accord_ws_subscriptions").increment(1.0);
        Ok(())
    }

    /// Send `first` and whatever else the operations have ready, in one write.
    async fn forward_ready(
        &mut self,
        first: Outgoing,
        results: &mut mpsc::Receiver<Outgoing>,
        sink: &mut Sink,
    ) -> Result<(), Closing> {
        let mut batch = Vec::new();
        batch.extend(self.message(first));
        while batch.len() < OUTGOING {
            let Ok(result) = results.try_recv() else { break };
            batch.extend(self.message(result));
        }
        write(sink, batch.into_iter().map(|text| Message::Text(text.into()))).await.map_err(|_| Closing::new(0, ""))
    }

    /// The text of what an operation produced, unless the client completed it meanwhile.
    fn message(&mut self, result: Outgoing) -> Option<String> {
        let (id, generation) = match &result {
            Outgoing::Next(id, generation, _)
            | Outgoing::Error(id, generation, _)
            | Outgoing::Complete(id, generation) => (id, *generation),
        };
        if self.running.get(id).is_none_or(|(current, _)| *current != generation) {
            return None;
        }
        let message = match result {
            // Written straight from the response: no JSON tree in between.
            Outgoing::Next(id, _, response) => {
                serde_json::to_string(&Next { id: &id, kind: "next", payload: &response }).ok()?
            }
            Outgoing::Error(id, _, errors) => {
                self.finished(&id);
                error_message(&id, errors).to_string()
            }
            Outgoing::Complete(id, _) => {
                self.finished(&id);
                json!({ "id": id, "type": "complete" }).to_string()
            }
        };
        Some(message)
    }

    fn finished(&mut self, id: &str) {
        if self.running.remove(id).is_some() {
            metrics::gauge!("accord_ws_subscriptions").decrement(1.0);
        }
    }
}

/// Run one operation, sending each result to the connection: a request error (nothing
/// ran) as `error`, results as `next`, then `complete`.
async fn run_operation(
    schema: crate::graphql::AccordSchema,
    request: async_graphql::Request,
    id: String,
    generation: u64,
    outgoing: mpsc::Sender<Outgoing>,
) {
    let mut responses = schema.execute_stream(request);
    let mut first = true;
    let delivered = metrics::counter!("accord_ws_messages_total");
    while let Some(mut response) = responses.next().await {
        response.errors = std::mem::take(&mut response.errors).into_iter().map(crate::error::classify).collect();
        let request_failed = first
            && response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        if request_failed {
            let errors = response.errors.iter().filter_map(|e| serde_json::to_value(e).ok()).collect();
            let _ = outgoing.send(Outgoing::Error(id, generation, errors)).await;
            return;
        }
        first = false;
        delivered.increment(1);
        if outgoing.send(Outgoing::Next(id.clone(), generation, response)).await.is_err() {
            return;
        }
    }
    let _ = outgoing.send(Outgoing::Complete(id, generation)).await;
}

/// Hand the client's messages to the connection until the socket ends or fails.
async fn read_messages(mut incoming: futures_util::stream::SplitStream<WebSocket>, heard: mpsc::Sender<Message>) {
    while let Some(Ok(message)) = incoming.next().await {
        if heard.send(message).await.is_err() {
            return;
        }
    }
}

/// Completes when the server starts shutting down.
async fn shut_down(closing: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *closing.borrow_and_update() {
            return;
        }
        if closing.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// The credential of a `connection_init` payload: `authorization` (or `Authorization`)
/// as a header value, else `token` or `apiKey` alone.
fn credential(payload: Option<&Value>) -> Option<String> {
    let payload = payload?;
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    if let Some(header) = text("authorization").or_else(|| text("Authorization")) {
        return Some(header.to_owned());
    }
    text("token").or_else(|| text("apiKey")).map(|token| format!("Bearer {token}"))
}

fn error_message(id: &str, errors: Vec<Value>) -> Value {
    json!({ "id": id, "type": "error", "payload": errors })
}

async fn send(sink: &mut Sink, message: Value) -> Result<(), ()> {
    write(sink, [Message::Text(message.to_string().into())]).await
}

async fn close_with(sink: &mut Sink, code: u16, reason: &str) -> Result<(), ()> {
    write(sink, [Message::Close(Some(CloseFrame { code, reason: reason.into() }))]).await
}

/// Write messages with one flush; a client that takes more than `WRITE_TIMEOUT` fails the write.
async fn write(sink: &mut Sink, messages: impl IntoIterator<Item = Message>) -> Result<(), ()> {
    let write = async {
        for message in messages {
            sink.feed(message).await?;
        }
        sink.flush().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// A close reason must fit in 123 bytes: cut long texts.
fn short(text: &str) -> String {
    let mut cut = text.to_owned();
    if cut.len() > 80 {
        let mut end = 80;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut.truncate(end);
        cut.push('…');
    }
    cut
}
