//! The HTTP surface: `POST /graphql`, GraphiQL and read-only queries on `GET /graphql`,
//! CSV exports under `/export/`, `/healthz` and `/readyz`, with body and time limits,
//! CORS, a request id and one tracing span per request.

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_response_body::MapResponseBodyLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{self, jwt::JwtKeys};
use crate::config::{Config, CorsOrigins};
use crate::error::ApiError;
use crate::graphql::{AccordSchema, ClientAddress, Loaders};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: AccordSchema,
    pub keys: Arc<JwtKeys>,
    pub config: Arc<Config>,
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

pub fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let x_request_id = header::HeaderName::from_static("x-request-id");
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(x_request_id.clone(), MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id))
        .layer(cors(&config.cors_origins))
        // Back to axum's body type, which the layers above need (CORS answers preflights itself).
        .layer(MapResponseBodyLayer::new(axum::body::Body::new))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, config.request_timeout));
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post.layer(axum::middleware::from_fn(large_bodies_in_turn))))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/export/leads.csv", get(crate::export::leads_csv))
        .route("/export/kpis.csv", get(crate::export::kpis_csv))
        .route("/metrics", get(crate::metrics::render))
        .layer(middleware)
        .layer(axum::middleware::from_fn(crate::metrics::track))
        .with_state(state)
}

fn cors(origins: &CorsOrigins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([header::HeaderName::from_static("x-request-id")]);
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
/// Large bodies read and executed at once per server process.
const LARGE_BODIES_AT_ONCE: usize = 2;
static LARGE_BODIES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(LARGE_BODIES_AT_ONCE);

/// Let large bodies in a few at a time, before they are read. Sixteen concurrent
/// 1,000-row imports each held their body and its parsed variables (several MB) while
/// they waited for an import slot; now the waiting ones stay unread in their sockets.
/// Waiting counts against the request timeout. A body of unknown length is large.
async fn large_bodies_in_turn(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let length = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if length.is_some_and(|bytes| bytes <= LARGE_BODY_BYTES) {
        return next.run(request).await;
    }
    // Never closed: acquiring cannot fail.
    let _turn = LARGE_BODIES.acquire().await;
    next.run(request).await
}

async fn graphql_post(
    State(state): State<AppState>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => request,
        Err(e) if body.first() == Some(&b'[') => {
            let _ = e;
            return request_error(&headers, StatusCode::BAD_REQUEST, "batched requests are not supported");
        }
        Err(e) => return request_error(&headers, StatusCode::BAD_REQUEST, &format!("malformed JSON body: {e}")),
    };
    execute(state, &headers, address, request).await
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
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
    let Some(query) = params.query else {
        if accepts(&headers, "text/html") {
            return Html(GraphiQLSource::build().endpoint("/graphql").title("Accord GraphiQL").finish())
                .into_response();
        }
        return request_error(&headers, StatusCode::BAD_REQUEST, "give a `query` parameter, or POST the request");
    };
    if is_mutation(&query, params.operation_name.as_deref()) {
        let mut response = request_error(&headers, StatusCode::METHOD_NOT_ALLOWED, "mutations must be sent with POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
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
    execute(state, &headers, address, request).await
}

/// True when the operation that would run is a mutation (or a subscription).
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    // The same remembered document the executor runs: a GET query is parsed once.
    let Some(document) = crate::graphql::documents::parsed(query) else { return false };
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) => ops.values().next().filter(|_| ops.len() == 1),
    };
    operation.is_some_and(|op| op.node.ty != OperationType::Query)
}

async fn execute(
    state: AppState,
    headers: &HeaderMap,
    address: SocketAddr,
    request: async_graphql::Request,
) -> Response {
    let actor = match caller(&state, headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let mut request = request.data(ClientAddress(Some(address.ip())));
    if let Some(actor) = actor {
        request = request.data(Loaders::new(&state.db, actor.org_id)).data(actor);
    }
    crate::graphql::documents::prepare(&mut request);
    let mut response = state.schema.execute(request).await;
    // Here rather than in a schema extension: with any extension registered,
    // async-graphql runs every field through the extension chain (a registry lookup
    // and a resolve hook per field), which cost the leads page ~10 % of its CPU.
    response.errors = std::mem::take(&mut response.errors).into_iter().map(crate::error::classify).collect();
    // A request error (nothing executed) is 400 for graphql-response+json clients;
    // application/json clients always get 200, as the GraphQL-over-HTTP spec says.
    let graphql_json = accepts(headers, GRAPHQL_RESPONSE_JSON);
    let status = if graphql_json && response.data == async_graphql::Value::Null && response.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_vec(&response).unwrap_or_default();
    json_response(graphql_json, status, body)
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
    let body = serde_json::json!({
        "errors": [{ "message": error.to_string(), "extensions": { "code": error.code() } }]
    });
    json_response(accepts(headers, GRAPHQL_RESPONSE_JSON), status, body.to_string().into_bytes())
}

fn request_error(headers: &HeaderMap, status: StatusCode, message: &str) -> Response {
    error_response(headers, status, &ApiError::BadUserInput { message: message.to_owned(), field: None })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_recognised_for_get_requests() {
        assert!(is_mutation("mutation { login }", None));
        assert!(!is_mutation("{ me { name } }", None));
        assert!(is_mutation("query A { me { name } } mutation B { x }", Some("B")));
        assert!(!is_mutation("query A { me { name } } mutation B { x }", Some("A")));
    }
}
