//! The HTTP surface: `POST /graphql`, GraphiQL and read-only queries on `GET /graphql`,
//! CSV exports under `/export/`, `/healthz` and `/readyz`, with body and time limits,
//! CORS, a request id and one tracing span per request.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType};
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ipnet::IpNet;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_response_body::MapResponseBodyLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::rate_limit::{Allowance, RequestLimiter};
use crate::auth::{self, jwt::JwtKeys};
use crate::config::{Config, CorsOrigins};
use crate::db::request::RequestDb;
use crate::error::ApiError;
use crate::graphql::cost::{self, CostModel};
use crate::graphql::{AccordSchema, ClientAddress, Loaders};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// The read replica that serves reports and exports once it has caught up (`DATABASE_READ_URL`).
    pub replica: Option<Arc<crate::db::replica::ReadReplica>>,
    pub schema: AccordSchema,
    pub keys: Arc<JwtKeys>,
    pub config: Arc<Config>,
    /// What each field of the schema costs (see `graphql::cost`).
    pub cost_model: Arc<CostModel>,
    /// Requests per minute per user and API key.
    pub limiter: Arc<RequestLimiter>,
    /// Documents that passed this schema's validation.
    pub validated: Arc<crate::graphql::parsed_queries::Validated>,
    /// Open WebSockets per credential.
    pub sockets: Arc<crate::ws::Sockets>,
    /// Turns true when the server shuts down: open WebSockets close.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Told of each statement a request runs straight through sqlx, as the pool's metric
    /// callback is of the others (`db::forward::Queries`); the metrics count both either
    /// way. None but in the tests, which count a request's statements with it.
    pub statements: Option<crate::db::Observer>,
}

impl AppState {
    /// The database as one request sees it: its turns, the read replica, the observer.
    pub fn request_db(&self) -> RequestDb {
        RequestDb::new(&self.db, self.config.max_connections_per_request)
            .with_replica(self.replica.clone())
            .observed(self.statements.clone())
    }
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// First capacity of a GraphQL response body's buffer (see `execute`).
const RESPONSE_BUFFER_BYTES: usize = 8 * 1024;

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let x_request_id = header::HeaderName::from_static("x-request-id");
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            let trace = request.extensions().get::<crate::metrics::TraceContext>();
            let trace_id = trace.map_or("-", |t| t.trace_id.as_str());
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id, trace_id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(cors(&config.cors_origins))
        // Back to axum's body type, which the layers above need (CORS answers preflights itself).
        .layer(MapResponseBodyLayer::new(axum::body::Body::new))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{file}", get(crate::graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/export/leads.csv", get(crate::export::leads_csv))
        .route("/export/kpis.csv", get(crate::export::kpis_csv))
        .route("/metrics", get(metrics_with_token))
        .layer(axum::middleware::from_fn_with_state(config.request_timeout, time_limit))
        .layer(middleware)
        .layer(axum::middleware::from_fn(crate::metrics::observe))
        .with_state(state)
}

/// The router of the metrics listener (`ACCORD_METRICS_BIND`): `/metrics` only.
pub fn metrics_router() -> Router {
    Router::new().route("/metrics", get(crate::metrics::render))
}

/// `/metrics` on the public listener: only with `Authorization: Bearer <ACCORD_METRICS_TOKEN>`,
/// and not there at all (404) without that setting.
async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    use subtle::ConstantTimeEq;
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) => {
            crate::metrics::render().await.into_response()
        }
        _ => {
            let error = ApiError::Unauthenticated("send `Authorization: Bearer <ACCORD_METRICS_TOKEN>`".into());
            unauthorized(&headers, &error)
        }
    }
}

/// Answer TIMEOUT (503, a GraphQL error body) when a request runs past its time limit.
/// Dropping the request's future gives its database connections back to the pool; on
/// PostgreSQL the server's own `statement_timeout` stops the statement too.
async fn time_limit(
    State(limit): State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Only how to answer is kept, not a copy of every header.
    let graphql_json = accepts(request.headers(), GRAPHQL_RESPONSE_JSON);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("accord_http_timeouts_total").increment(1);
            let error = ApiError::Timeout(format!(
                "the request took longer than {} s and was stopped; nothing it had not committed was kept",
                limit.as_secs()
            ));
            error_body(graphql_json, StatusCode::SERVICE_UNAVAILABLE, &error)
        }
    }
}

fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("traceresponse"),
        ]);
    match origins {
        CorsOrigins::None => layer,
        CorsOrigins::Any => layer.allow_origin(Any),
        CorsOrigins::List(list) => {
            let list: Vec<HeaderValue> = list.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
            layer.allow_origin(AllowOrigin::list(list))
        }
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// A request body larger than this is large: an import or a big batch.
const LARGE_BODY_BYTES: u64 = 64 * 1024;
/// Large bodies read and executed at once per server process, as many as import calls
/// run at once: at two, an import's waits (its commit, its round trips) left a third of
/// two cores idle.
pub const LARGE_BODIES_AT_ONCE: usize = crate::leads::import::CONCURRENT_CALLS;
static LARGE_BODIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LARGE_BODIES_AT_ONCE);

/// `POST /graphql`. The caller is known before the body is read: an anonymous body
/// (sign-in) may be a few KB (`ACCORD_MAX_ANONYMOUS_BODY_BYTES`), and only
/// authenticated callers wait for one of the few large-body turns, so slow anonymous
/// uploads cannot hold them. Waiting bodies stay unread in their sockets.
async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // Only JSON: a form or `text/plain` body (a CORS-simple request another site's page
    // can send without a preflight) is never run.
    if !is_json(&headers) {
        return request_error(
            &headers,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as `Content-Type: application/json`",
        );
    }
    let actor = match caller(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let limit = if actor.is_some() { state.config.max_body_bytes } else { state.config.max_anonymous_body_bytes };
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let too_large = || {
        let error = ApiError::BadUserInput {
            message: format!(
                "the request body is larger than {limit} bytes{}",
                if actor.is_some() { "" } else { " (before signing in)" }
            ),
            field: None,
        };
        error_response(&headers, StatusCode::PAYLOAD_TOO_LARGE, &error)
    };
    if length.is_some_and(|bytes| bytes > limit as u64) {
        return too_large();
    }
    // Never closed: acquiring cannot fail. A body of unknown length is large.
    let _turn = match actor {
        Some(_) if length.is_none_or(|bytes| bytes > LARGE_BODY_BYTES) => Some(LARGE_BODIES.acquire().await),
        _ => None,
    };
    let Ok(body) = axum::body::to_bytes(body, limit).await else { return too_large() };
    let request = match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => request,
        Err(e) if body.first() == Some(&b'[') => {
            let _ = e;
            return request_error(&headers, StatusCode::BAD_REQUEST, "batched requests are not supported");
        }
        Err(e) => return request_error(&headers, StatusCode::BAD_REQUEST, &format!("malformed JSON body: {e}")),
    };
    // Parsed into owned values: an import's body need not stay in memory while it runs.
    drop(body);
    if request.query.is_empty() && !request.extensions.contains_key("persistedQuery") {
        return request_error(&headers, StatusCode::BAD_REQUEST, "the request has no `query`");
    }
    let client = client_address(peer.ip(), &headers, &state.config.trusted_proxies);
    execute(state, &headers, client, actor, request, Method::POST).await
}

/// GraphQL-over-HTTP GET parameters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

async fn graphql_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: axum::extract::Request,
) -> Response {
    let (mut parts, _) = request.into_parts();
    let client = client_address(peer.ip(), &parts.headers, &state.config.trusted_proxies);
    if is_websocket(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => crate::ws::upgrade(state, upgrade, &parts.headers, client),
            Err(rejection) => rejection.into_response(),
        };
    }
    let headers = parts.headers;
    let params = match Query::<GetParams>::try_from_uri(&parts.uri) {
        Ok(Query(params)) => params,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(query) = params.query.or_else(|| params.extensions.is_some().then(String::new)) else {
        if accepts(&headers, "text/html") {
            return crate::graphiql::page();
        }
        return request_error(&headers, StatusCode::BAD_REQUEST, "give a `query` parameter, or POST the request");
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    for (field, raw) in [("variables", params.variables), ("extensions", params.extensions)] {
        let Some(raw) = raw else { continue };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&raw) else {
            return request_error(&headers, StatusCode::BAD_REQUEST, &format!("`{field}` is not JSON"));
        };
        if field == "variables" {
            request = request.variables(async_graphql::Variables::from_json(value));
        } else if let Ok(ext) = serde_json::from_value(value) {
            request.extensions = ext;
        }
    }
    let actor = match caller(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    execute(state, &headers, client, actor, request, Method::GET).await
}

/// The operation of `document` that runs for `operation_name`, with its name (`None`
/// for an anonymous one); `None` when no operation would run.
fn running_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<(Option<&'a str>, &'a OperationDefinition)> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some((None, &op.node)),
        (DocumentOperations::Multiple(ops), Some(name)) => {
            ops.get_key_value(name).map(|(name, op)| (Some(name.as_str()), &op.node))
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.iter().next().map(|(name, op)| (Some(name.as_str()), &op.node))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Why a request was turned away before it ran.
pub(crate) enum Turned {
    /// A request error (a document too large, too deep or too costly, bad input, no
    /// introspection): one GraphQL error object.
    Invalid(serde_json::Value),
    /// A mutation or subscription sent with GET.
    NotQuery,
    /// The caller's allowance is spent (RATE_LIMITED).
    RateLimited(ApiError),
    /// Something on our side failed.
    Failed(ApiError),
}

/// A request that may run: what the caller has left, and what metrics record of it.
pub(crate) struct Admitted {
    pub allowance: Option<Allowance>,
    pub facts: crate::metrics::RequestFacts,
    /// The document's text, to remember once it passed validation (see `Validated`).
    pub unvalidated: Option<String>,
}

/// Check a request against the limits (size, depth, fields, cost, input, introspection)
/// and spend its cost from the caller's allowance; the request gets its text (a
/// persisted document) and parsed document. Shared by HTTP and WebSocket operations.
pub(crate) async fn admit(
    state: &AppState,
    actor: Option<&auth::Actor>,
    request: &mut async_graphql::Request,
    only_queries: bool,
) -> Result<Admitted, Turned> {
    let limits = &state.config.limits;
    // A document sent by hash gets its text first: every limit below applies to it.
    let mode = state.config.trusted_documents;
    let persisted = crate::graphql::persisted::resolve(&state.db, actor, mode, request)
        .await
        .map_err(|error| Turned::Invalid(error_object(&error)))?;
    let refused = |refusal: cost::Refusal| Turned::Invalid(refusal_object(&refusal));
    // A document sent before comes with what its text decides, worked out once
    // (`parsed_queries::Known`); any other is measured before it is parsed.
    let known = match crate::graphql::parsed_queries::remembered(&request.query) {
        Some(known) => {
            cost::check_length(&request.query, limits).map_err(refused)?;
            cost::check_tokens(known.tokens, limits).map_err(refused)?;
            Some(known)
        }
        None => {
            cost::check_text(&request.query, limits).map_err(refused)?;
            crate::graphql::parsed_queries::parse(&request.query)
        }
    };
    // A document that does not parse is left to the executor, which reports the error.
    let (mut cost, mut unvalidated) = (0, None);
    let mut facts = crate::metrics::RequestFacts {
        operation: request.operation_name.clone(),
        persisted,
        org_id: actor.map(|a| a.org_id),
        caller: actor.map_or("anonymous", |a| a.kind_label()),
    };
    if let Some(known) = known {
        let running = running_operation(&known.document, request.operation_name.as_deref());
        if only_queries && running.is_some_and(|(_, op)| op.ty != OperationType::Query) {
            return Err(Turned::NotQuery);
        }
        if facts.operation.is_none() {
            facts.operation = running.and_then(|(name, _)| name).map(str::to_owned);
        }
        let walked = known.walk(&state.cost_model, &request.variables).map_err(refused)?;
        cost = walked.judge(request.operation_name.as_deref(), limits).map_err(refused)?;
        let input = crate::graphql::input::check_variables(&request.variables).and_then(|()| known.check_literals());
        input.map_err(|error| Turned::Invalid(error_object(&error)))?;
        if !state.config.introspection && known.introspection {
            let error = ApiError::forbidden("introspection is turned off on this server (ACCORD_INTROSPECTION=false)");
            return Err(Turned::Invalid(error_object(&error)));
        }
        request.set_parsed_query(known.document.clone());
        unvalidated = state.validated.check(request);
    }
    let mut allowance = None;
    if let Some(actor) = actor {
        match spend(state, actor, cost).await {
            Ok(spent) => allowance = spent,
            Err(error @ ApiError::RateLimited { .. }) => return Err(Turned::RateLimited(error)),
            Err(error) => return Err(Turned::Failed(error)),
        }
    }
    Ok(Admitted { allowance, facts, unvalidated })
}

/// Check a request against the limits, spend the caller's allowance, run it.
async fn execute(
    state: AppState,
    headers: &HeaderMap,
    client: IpAddr,
    actor: Option<auth::Actor>,
    mut request: async_graphql::Request,
    method: Method,
) -> Response {
    let Admitted { allowance, facts, unvalidated } =
        match admit(&state, actor.as_ref(), &mut request, method == Method::GET).await {
            Ok(admitted) => admitted,
            Err(Turned::Invalid(error)) => return request_error_body(headers, error),
            Err(Turned::NotQuery) => {
                let mut response = request_error(
                    headers,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "only queries may be sent with GET: send mutations with POST, subscriptions over a WebSocket",
                );
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
                return response;
            }
            Err(Turned::RateLimited(error)) => return rate_limited(headers, &error),
            Err(Turned::Failed(error)) => return error_response(headers, StatusCode::INTERNAL_SERVER_ERROR, &error),
        };
    let db = state.request_db();
    let mut request = request.data(ClientAddress(Some(client)));
    if let Some(actor) = actor {
        request = request.data(Loaders::new(&db, actor.org_id)).data(actor);
    }
    let mut response = state.schema.execute(request.data(db)).await;
    if let Some(query) = unvalidated {
        state.validated.passed(query, &response);
    }
    // Here rather than in a schema extension: with any extension registered,
    // async-graphql runs every field through the extension chain (docs/performance.md).
    response.errors = std::mem::take(&mut response.errors).into_iter().map(crate::error::classify).collect();
    // A request error (nothing executed) is 400 for graphql-response+json clients;
    // application/json clients always get 200, as the GraphQL-over-HTTP spec says.
    // RATE_LIMITED is 429 for both, with `Retry-After`; TIMEOUT (a statement the
    // database stopped) is 503, as when the request's own time limit runs out.
    let graphql_json = accepts(headers, GRAPHQL_RESPONSE_JSON);
    let retry_after = response
        .errors
        .iter()
        .filter_map(|e| e.extensions.as_ref()?.get("retryAfter").cloned())
        .filter_map(|v| if let async_graphql::Value::Number(n) = v { n.as_u64() } else { None })
        .max();
    let timed_out = response
        .errors
        .iter()
        .any(|e| e.extensions.as_ref().and_then(|ext| ext.get("code")) == Some(&async_graphql::Value::from("TIMEOUT")));
    // Nothing ran (a parse or validation error): no error has a path, and there is no
    // `data` entry at all (GraphQL over HTTP); an execution error keeps `"data": null`.
    let request_failed =
        response.data == async_graphql::Value::Null && response.errors.iter().all(|e| e.path.is_empty());
    // Nothing could run for want of a credential: 401, as for a bad one (a failed
    // sign-in is a mutation that ran, and stays 200).
    let unauthenticated = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.message == crate::graphql::NO_CREDENTIAL);
    let status = if retry_after.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else if timed_out {
        StatusCode::SERVICE_UNAVAILABLE
    } else if unauthenticated {
        StatusCode::UNAUTHORIZED
    } else if graphql_json && request_failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // A page of 50 leads is 15-22 kB: starting at 8 kB saves the buffer's first ten growths.
    let mut body = Vec::with_capacity(RESPONSE_BUFFER_BYTES);
    let written = if request_failed {
        serde_json::to_writer(&mut body, &RequestFailed { errors: &response.errors, extensions: &response.extensions })
    } else {
        crate::graphql::json::write_response(&mut body, &response)
    };
    if written.is_err() {
        body.clear();
    }
    let mut http = json_response(graphql_json, status, body);
    if unauthenticated {
        http.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(secs) = retry_after {
        http.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(allowance) = allowance {
        allowance_headers(http.headers_mut(), &allowance);
    }
    http.extensions_mut().insert(facts);
    http
}

/// A response to a request that did not run: errors only, no `data` entry.
#[derive(serde::Serialize)]
struct RequestFailed<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// Spend a request of `cost` points from the caller's bucket: at an API key's own rate,
/// else its organization's default for keys, else the server's default.
pub(crate) async fn spend(state: &AppState, actor: &auth::Actor, cost: u64) -> Result<Option<Allowance>, ApiError> {
    let rate = match (actor.requests_per_minute(), &actor.kind) {
        (Some(rate), _) => Some(rate),
        (None, auth::Identity::ApiKey { .. }) => {
            crate::org::settings(&state.db, actor.org_id).await?.api_requests_per_minute
        }
        (None, _) => None,
    };
    state.limiter.spend(actor.credential_id(), rate, cost).await
}

/// `RateLimit-Limit`, `-Remaining` and `-Reset` (IETF draft), on every limited response.
pub(crate) fn allowance_headers(headers: &mut HeaderMap, allowance: &Allowance) {
    headers.insert("ratelimit-limit", HeaderValue::from(allowance.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(allowance.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(allowance.reset_secs));
}

/// HTTP 429 with `Retry-After` for a RATE_LIMITED error.
pub(crate) fn rate_limited(headers: &HeaderMap, error: &ApiError) -> Response {
    let mut response = error_response(headers, StatusCode::TOO_MANY_REQUESTS, error);
    if let ApiError::RateLimited { retry_after_secs, .. } = error {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        response.headers_mut().insert("ratelimit-remaining", HeaderValue::from(0));
        response.headers_mut().insert("ratelimit-reset", HeaderValue::from(*retry_after_secs));
    }
    response
}

/// A document refused by the size or cost limits: a GraphQL error naming the figures.
pub(crate) fn refusal_object(refusal: &cost::Refusal) -> serde_json::Value {
    metrics::counter!("accord_graphql_refused_total").increment(1);
    let mut error = serde_json::json!({ "message": refusal.message(), "extensions": { "code": "BAD_USER_INPUT" } });
    if let Some((cost, limit)) = refusal.figures() {
        error["extensions"]["cost"] = cost.into();
        error["extensions"]["limit"] = limit.into();
    }
    error
}

/// An error as one GraphQL error object: `{"message","extensions":{"code",…}}`.
pub(crate) fn error_object(error: &ApiError) -> serde_json::Value {
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    error.set_extensions(&mut extensions);
    serde_json::json!({ "message": error.to_string(), "extensions": extensions })
}

/// The client's address: the socket peer, or, when the peer is a trusted proxy
/// (`ACCORD_TRUSTED_PROXIES`), the nearest address in `Forwarded` (else
/// `X-Forwarded-For`) that is not itself a trusted proxy.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = if let Some(value) = header_list(headers, "forwarded") {
        value
            .split(',')
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then(|| forwarded_address(value))?
                })
            })
            .collect()
    } else if let Some(value) = header_list(headers, "x-forwarded-for") {
        value.split(',').filter_map(forwarded_address).collect()
    } else {
        return peer;
    };
    forwarded.iter().rev().find(|ip| !is_trusted(ip)).or(forwarded.first()).copied().unwrap_or(peer)
}

/// Every value of a header joined with commas, as HTTP allows a list header to be split.
fn header_list(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// `192.0.2.1`, `"192.0.2.1:4711"` or `"[2001:db8::1]:4711"` as an address.
fn forwarded_address(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(ip) = value.parse() {
        return Some(ip);
    }
    if let Ok(socket) = value.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    value.strip_prefix('[')?.split(']').next()?.parse().ok()
}

/// The caller named by the `Authorization` header (`None` without one), as every
/// authenticated route builds it; a bad, expired or revoked credential is a 401 response.
pub(crate) async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<auth::Actor>, Response> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.to_str().unwrap_or("invalid"));
    auth::authenticate(&state.db, &state.keys, authorization, state.config.auth_cache_ttl)
        .await
        .map_err(|e| unauthorized(headers, &e))
}

/// 401 with `WWW-Authenticate: Bearer` and the error as a GraphQL-style JSON body.
pub(crate) fn unauthorized(headers: &HeaderMap, error: &ApiError) -> Response {
    let mut response = error_response(headers, StatusCode::UNAUTHORIZED, error);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// A WebSocket upgrade request (`Upgrade: websocket`).
fn is_websocket(headers: &HeaderMap) -> bool {
    headers.get(header::UPGRADE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// A POST body's media type is `application/json` or `application/graphql-response+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let media_type = value.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case("application/json") || media_type.eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON)
}

fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|part| part.trim().starts_with(media_type)))
}

fn json_response(graphql_json: bool, status: StatusCode, body: Vec<u8>) -> Response {
    let content_type =
        if graphql_json { "application/graphql-response+json; charset=utf-8" } else { "application/json" };
    (status, [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// An error as a JSON body `{"errors":[{"message","extensions":{"code"}}]}` with `status`.
pub(crate) fn error_response(headers: &HeaderMap, status: StatusCode, error: &ApiError) -> Response {
    error_body(accepts(headers, GRAPHQL_RESPONSE_JSON), status, error)
}

fn error_body(graphql_json: bool, status: StatusCode, error: &ApiError) -> Response {
    let body = serde_json::json!({ "errors": [error_object(error)] });
    json_response(graphql_json, status, body.to_string().into_bytes())
}

fn request_error(headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    error_response(headers, status, &ApiError::BadUserInput { message: message.to_owned(), field: None })
}

/// A request error found before execution: 400 for graphql-response+json clients, 200 otherwise.
fn request_error_body(headers: &HeaderMap, error: serde_json::Value) -> Response {
    let (graphql_json, status) = request_error_status(headers);
    json_response(graphql_json, status, serde_json::json!({ "errors": [error] }).to_string().into_bytes())
}

/// Whether the client asked for graphql-response+json, and the status of a request
/// error for it: 400 then, 200 for application/json clients (GraphQL over HTTP).
fn request_error_status(headers: &HeaderMap) -> (bool, StatusCode) {
    let graphql_json = accepts(headers, GRAPHQL_RESPONSE_JSON);
    (graphql_json, if graphql_json { StatusCode::BAD_REQUEST } else { StatusCode::OK })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_recognised_for_get_requests() {
        let is_mutation = |query: &str, name: Option<&str>| {
            let document = async_graphql::parser::parse_query(query).unwrap();
            running_operation(&document, name).is_some_and(|(_, op)| op.ty != OperationType::Query)
        };
        assert!(is_mutation("mutation { login }", None));
        assert!(!is_mutation("{ me { name } }", None));
        assert!(is_mutation("query A { me { name } } mutation B { x }", Some("B")));
        assert!(!is_mutation("query A { me { name } } mutation B { x }", Some("A")));
        assert!(!is_mutation("query A { me { name } } mutation B { x }", None));
    }
}
