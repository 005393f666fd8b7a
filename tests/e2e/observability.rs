//! What operators see: Prometheus histograms with HELP lines and bounded labels, W3C
//! trace context, and one JSON access-log line per request from the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::common::*;

const METRICS_TOKEN: &str = "metrics-token-0123456789-abcdefghijklmnop";

#[tokio::test]
async fn metrics_are_histograms_with_help_and_bounded_operation_labels() {
    let app = spawn_app_with(|config| config.metrics_token = Some(METRICS_TOKEN.into())).await;
    let org = app.create_org("Acme").await;
    let token = Some(org.admin.token.as_str());
    // A persisted operation's name is a label; an ad-hoc one is `other`.
    let me = "query ObservedMe { me { name } }";
    let hash = api::org::trusted_documents::sha256_hex(me);
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    app.post(token, &json!({ "query": me, "extensions": persisted })).await;
    app.post(token, &json!({ "query": "query AdHocName { me { name } }" })).await;

    let response = app.client.get(format!("{}/metrics", app.address)).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    let text = response.text().await.unwrap();
    assert!(!text.contains("quantile="), "summaries do not add up across replicas: {text}");
    for family in ["accord_http_request_seconds", "accord_graphql_operation_seconds", "accord_sql_seconds"] {
        assert!(text.contains(&format!("# TYPE {family} histogram")), "{family}: {text}");
        assert!(text.contains(&format!("{family}_bucket{{")), "{family}: {text}");
    }
    assert!(text.contains("operation=\"ObservedMe\""), "{text}");
    assert!(text.contains("operation=\"other\""), "{text}");
    assert!(!text.contains("AdHocName"), "ad-hoc names would let any client grow the label set");
    assert!(text.contains("accord_build_info{"), "{text}");
    assert!(text.contains("accord_db_pool_connections "), "{text}");
    assert!(text.contains("accord_db_pool_max_connections "), "{text}");
    assert!(text.contains("accord_process_resident_memory_bytes"), "{text}");
    // Every family has its HELP line.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let family = line.split_whitespace().nth(2).unwrap();
        assert!(text.contains(&format!("# HELP {family} ")), "no HELP for {family}");
    }
}

#[tokio::test]
async fn a_traceparent_is_continued_and_a_new_trace_is_started_otherwise() {
    let app = spawn_app().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = app
        .client
        .post(app.graphql_url())
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    let answer = response.headers()["traceresponse"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = answer.split('-').collect();
    assert_eq!((parts[0], parts[1], parts[3]), ("00", trace_id, "01"), "{answer}");
    assert_ne!(parts[2], "00f067aa0ba902b7", "the server's own span");
    // Malformed or absent: a new trace.
    for header in [Some("00-zz-00f067aa0ba902b7-01"), None] {
        let mut request = app.client.post(app.graphql_url()).json(&json!({ "query": "{ __typename }" }));
        if let Some(header) = header {
            request = request.header("traceparent", header);
        }
        let response = request.send().await.unwrap();
        let answer = response.headers()["traceresponse"].to_str().unwrap().to_owned();
        let parts: Vec<&str> = answer.split('-').collect();
        assert_eq!(parts.len(), 4, "{answer}");
        assert!(parts[1].len() == 32 && parts[1] != trace_id, "{answer}");
    }
}

/// The binary, redirected to a pipe: JSON lines without colour codes; one access line
/// per request with its trace id, status and operation, and no variables.
#[tokio::test]
async fn logs_are_json_lines_with_one_access_line_per_request() {
    let dir = std::env::temp_dir().join(format!("accord-logs-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("accord.db").display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_accord"))
        .env_remove("ACCORD_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", &url)
        .env("ACCORD_BIND", "127.0.0.1:0")
        .env("ACCORD_METRICS_BIND", "")
        .env("ACCORD_JWT_SECRET", JWT_SECRET)
        .args(["serve", "--no-demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(address.starts_with("http://127.0.0.1:"), "{first}");

    let client = reqwest::Client::new();
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let secret = "a-secret-variable-value";
    let response = client
        .post(&address)
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .json(&json!({ "query": "query Probe($x: String) { __typename }", "variables": { "x": secret } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    std::fs::remove_dir_all(&dir).ok();

    assert!(!stderr.contains('\u{1b}'), "no colour codes off a terminal: {stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "accord::access").collect();
    assert_eq!(access.len(), 1, "{stderr}");
    let line = access[0];
    assert_eq!(line["method"], "POST");
    assert_eq!(line["path"], "/graphql");
    assert_eq!(line["status"], 200);
    assert_eq!(line["operation"], "Probe");
    assert_eq!(line["trace_id"], trace_id);
    assert_eq!(line["request_id"], request_id.as_str());
    assert_eq!(line["caller"], "anonymous");
    assert!(line["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert!(!stderr.contains(secret), "variables are never logged: {stderr}");
}
