//! Observability: Prometheus metrics at `GET /metrics` (histograms, with HELP on every
//! family, so replicas' figures add up), one access-log line per request, and W3C trace
//! context (`traceparent` in, `traceresponse` out, the trace id on every log line).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
static PROCESS: OnceLock<metrics_process::Collector> = OnceLock::new();
static POOL: OnceLock<DatabaseConnection> = OnceLock::new();

/// Bucket bounds of every histogram, in seconds: 1 ms to 10 s.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Distinct operation names a label may take; later names are `other`.
const MAX_OPERATION_LABELS: usize = 200;

/// The process-wide recorder, installed on first use.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().set_buckets(BUCKETS).and_then(|b| b.install_recorder()) {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics are off: a recorder is installed already");
                None
            }
        })
        .as_ref()
}

/// HELP lines of every family, and the families that never change.
fn describe() {
    describe_counter!("accord_http_requests_total", "HTTP requests answered, by path and status");
    describe_histogram!("accord_http_request_seconds", metrics::Unit::Seconds, "HTTP request durations, by path");
    describe_histogram!(
        "accord_graphql_operation_seconds",
        metrics::Unit::Seconds,
        "GraphQL request durations by operation: registered or persisted operation names, else `other`"
    );
    describe_counter!("accord_http_timeouts_total", "requests stopped at their time limit (503 TIMEOUT)");
    describe_counter!("accord_outbox_relayed_total", "outbox events handed to webhooks and subscriptions by the relay");
    describe_gauge!("accord_ws_connections", "GraphQL WebSockets open with an accepted connection_init");
    describe_gauge!("accord_ws_subscriptions", "operations running on GraphQL WebSockets");
    describe_counter!("accord_ws_messages_total", "results sent to GraphQL WebSocket operations (next messages)");
    describe_counter!("accord_graphql_refused_total", "documents refused by the size, depth or cost limits");
    describe_counter!(
        "accord_graphql_validations_skipped_total",
        "requests whose document had passed validation before: only their argument values were checked"
    );
    describe_counter!(
        "accord_read_routes_total",
        "reports and exports by the database that served them (`to`: replica or primary) and why (`reason`)"
    );
    describe_gauge!(
        "accord_read_replica_up",
        "1 while the read replica (DATABASE_READ_URL) answers as a standby, else 0"
    );
    describe_gauge!(
        "accord_read_replica_lag_bytes",
        "bytes of WAL the primary has flushed and the read replica has not replayed, sampled every second"
    );
    describe_gauge!(
        "accord_read_replica_lag_seconds",
        "seconds since the primary committed the last transaction the read replica replayed, while it has more to replay (0 when caught up)"
    );
    describe_counter!("accord_sql_statements_total", "SQL statements run");
    describe_histogram!("accord_sql_seconds", metrics::Unit::Seconds, "SQL statement durations");
    describe_counter!("accord_sql_failures_total", "SQL statements that failed");
    describe_histogram!(
        "accord_db_write_wait_seconds",
        metrics::Unit::Seconds,
        "time a write waited for its turn on the SQLite file"
    );
    describe_counter!("accord_sign_in_account_ceiling_total", "sign-ins refused by an account's hourly ceiling");
    describe_gauge!("accord_db_pool_connections", "open connections of the request pool");
    describe_gauge!("accord_db_pool_idle_connections", "idle connections of the request pool");
    describe_gauge!("accord_db_pool_max_connections", "most connections the request pool opens");
    describe_gauge!("accord_build_info", "always 1; the build's version and profile are labels");
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    gauge!("accord_build_info", "version" => env!("CARGO_PKG_VERSION"), "profile" => profile).set(1.0);
    let process = PROCESS.get_or_init(|| metrics_process::Collector::new("accord_"));
    process.describe();
}

/// Report this connection pool's gauges on every scrape.
pub fn watch_pool(db: &DatabaseConnection) {
    let _ = POOL.set(db.clone());
}

/// Count one SQL statement and its duration (the connection's metric callback).
pub fn record_statement(info: &sea_orm::metric::Info<'_>) {
    statement_ran(info.elapsed, info.failed);
}

/// Count one SQL statement that took `elapsed`, and whether it failed.
pub fn statement_ran(elapsed: std::time::Duration, failed: bool) {
    metrics::counter!("accord_sql_statements_total").increment(1);
    metrics::histogram!("accord_sql_seconds").record(elapsed.as_secs_f64());
    if failed {
        metrics::counter!("accord_sql_failures_total").increment(1);
    }
}

/// What the GraphQL handler learned about a request, for the access log and metrics.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// The operation's name, if it has one.
    pub operation: Option<String>,
    /// Whether the document came by hash or was sent with one (a persisted or
    /// registered document), so its name may be a metric label.
    pub persisted: bool,
    pub org_id: Option<Uuid>,
    /// `user`, `api_key`, `system` or `anonymous`.
    pub caller: &'static str,
}

/// A W3C trace context: the caller's `traceparent`, or a new trace.
#[derive(Debug, Clone)]
pub struct TraceContext {
    pub trace_id: String,
    /// This server's span id for the request.
    pub span_id: String,
    pub flags: String,
}

impl TraceContext {
    /// From a valid `traceparent` header (version 00), else a new sampled trace.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let span_id = hex::encode(rand::random::<[u8; 8]>());
        let given = headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(parse_traceparent);
        match given {
            Some((trace_id, flags)) => Self { trace_id, span_id, flags },
            None => Self { trace_id: hex::encode(rand::random::<[u8; 16]>()), span_id, flags: "01".into() },
        }
    }

    /// `traceresponse` (W3C Trace Context Level 2): this request's trace and span.
    fn header(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)).ok()
    }
}

/// The trace id and flags of a version-00 `traceparent`; `None` when malformed.
fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let mut parts = value.trim().split('-');
    let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let valid = version == "00"
        && parts.next().is_none()
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    valid.then(|| (trace_id.to_owned(), flags.to_owned()))
}

/// A bounded label for an operation: its name when persisted or registered, else `other`.
fn operation_label(facts: &RequestFacts) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = facts.operation.as_deref().filter(|_| facts.persisted) else { return "other".into() };
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if seen.contains(name) || (seen.len() < MAX_OPERATION_LABELS && seen.insert(name.to_owned())) {
        name.to_owned()
    } else {
        "other".into()
    }
}

/// Outermost layer: trace context in and out, request metrics, one access-log line.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let trace = TraceContext::from_headers(request.headers());
    request.extensions_mut().insert(trace.clone());
    let path: &'static str = match request.uri().path() {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/export/leads.csv" => "/export/leads.csv",
        "/export/kpis.csv" => "/export/kpis.csv",
        p if p.starts_with("/graphiql/") => "/graphiql",
        _ => "other",
    };
    let method = request.method().clone();
    let start = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    metrics::counter!("accord_http_requests_total", "path" => path, "status" => status.to_string()).increment(1);
    metrics::histogram!("accord_http_request_seconds", "path" => path).record(elapsed.as_secs_f64());
    let facts = response.extensions_mut().remove::<RequestFacts>().unwrap_or_default();
    if path == "/graphql" && !facts.caller.is_empty() {
        metrics::histogram!("accord_graphql_operation_seconds", "operation" => operation_label(&facts))
            .record(elapsed.as_secs_f64());
    }
    let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info!(
        target: "accord::access",
        method = %method,
        path,
        status,
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        operation = facts.operation.as_deref().unwrap_or("-"),
        request_id,
        trace_id = %trace.trace_id,
        org_id = %facts.org_id.map(|id| id.to_string()).unwrap_or_else(|| "-".into()),
        caller = if facts.caller.is_empty() { "-" } else { facts.caller },
        "request"
    );
    if let Some(value) = trace.header() {
        response.headers_mut().insert("traceresponse", value);
    }
    response
}

/// The Prometheus text exposition, with the pool and process figures of this moment.
pub async fn render() -> String {
    let Some(handle) = handle() else { return String::new() };
    if let Some(db) = POOL.get() {
        let (size, idle, max) = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle(), pool.options().get_max_connections())
            }
        };
        gauge!("accord_db_pool_connections").set(f64::from(size));
        gauge!("accord_db_pool_idle_connections").set(idle as f64);
        gauge!("accord_db_pool_max_connections").set(f64::from(max));
    }
    if let Some(process) = PROCESS.get() {
        process.collect();
    }
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_read_only_when_well_formed() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(parse_traceparent(&format!("00-{id}-00f067aa0ba902b7-01")), Some((id.into(), "01".into())));
        for bad in [
            format!("01-{id}-00f067aa0ba902b7-01"),
            format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32)),
            format!("00-{id}-0000000000000000-01"),
            format!("00-{}-00f067aa0ba902b7-01", id.to_uppercase()),
            format!("00-{id}-00f067aa0ba902b7-01-extra"),
            "garbage".into(),
        ] {
            assert_eq!(parse_traceparent(&bad), None, "{bad}");
        }
    }
}
