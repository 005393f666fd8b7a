//! Prometheus metrics at `GET /metrics`: requests, their latency and the SQL
//! statements they cost (the benchmark divides the two to get statements per request).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process-wide recorder, installed on first use.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics are off: a recorder is installed already");
                None
            }
        })
        .as_ref()
}

/// Count one SQL statement (called by the database connection for each statement).
pub fn count_statement() {
    metrics::counter!("accord_sql_statements_total").increment(1);
}

/// Count requests and time them, by path and status.
pub async fn track(request: Request, next: Next) -> Response {
    let path: &'static str = match request.uri().path() {
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        "/export/leads.csv" => "/export/leads.csv",
        "/export/kpis.csv" => "/export/kpis.csv",
        _ => "other",
    };
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("accord_http_requests_total", "path" => path, "status" => status).increment(1);
    metrics::histogram!("accord_http_request_seconds", "path" => path).record(start.elapsed().as_secs_f64());
    response
}

/// The Prometheus text exposition.
pub async fn render() -> String {
    handle().map(PrometheusHandle::render).unwrap_or_default()
}
