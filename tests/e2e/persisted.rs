//! Documents by hash: Automatic Persisted Queries (Apollo's protocol) and trusted
//! documents with `ACCORD_TRUSTED_DOCUMENTS`.

use api::config::TrustedDocuments;
use serde_json::{Value, json};

use crate::common::*;

fn sha256(text: &str) -> String {
    api::org::trusted_documents::sha256_hex(text)
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

async fn send(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Value) {
    let response = app.post(token, &body).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

async fn get_by_hash(app: &TestApp, token: &str, hash: &str) -> reqwest::Response {
    let extensions = persisted(hash).to_string();
    let request = app.client.get(app.graphql_url()).query(&[("extensions", extensions.as_str())]).bearer_auth(token);
    request.send().await.expect("an answer")
}

const REGISTER: &str =
    "mutation($d: String!) { registerTrustedDocument(input: { document: $d }) { trustedDocument { sha256 name } } }";

async fn api_key(app: &TestApp, admin: &str, scopes: &str) -> String {
    let body = app
        .gql(
            Some(admin),
            &format!("mutation {{ createApiKey(input: {{ name: \"Sync\", scopes: [{scopes}] }}) {{ secret }} }}"),
            json!({}),
        )
        .await;
    body["data"]["createApiKey"]["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
}

#[tokio::test]
async fn automatic_persisted_queries_follow_apollos_protocol() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let token = Some(org.admin.token.as_str());
    let query = "query Me { me { name } }";
    let hash = sha256(query);

    // The hash alone, before the server knows it: PERSISTED_QUERY_NOT_FOUND, nothing ran.
    let (status, body) = send(&app, token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(status, 200);
    assert_eq!(assert_error(&body, "PERSISTED_QUERY_NOT_FOUND"), "PersistedQueryNotFound");
    assert!(body.get("data").is_none(), "{body}");

    // A wrong hash with the text is refused; the right one runs and is remembered.
    let (_, body) = send(&app, token, json!({ "query": query, "extensions": persisted(&sha256("other")) })).await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = send(&app, token, json!({ "query": query, "extensions": persisted(&hash) })).await;
    assert!(body["data"]["me"]["name"].is_string(), "{body}");
    let (_, body) = send(&app, token, json!({ "extensions": persisted(&hash) })).await;
    assert!(body["data"]["me"]["name"].is_string(), "{body}");

    // GET with the hash only, for HTTP caches.
    let response = get_by_hash(&app, &org.admin.token, &hash).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert!(body["data"]["me"]["name"].is_string(), "{body}");

    // A remembered mutation still cannot run over GET.
    let mutation = "mutation { renameJourneyStage(input: { id: \"x\", name: \"Y\" }) { journeyStage { id } } }";
    let mutation_hash = sha256(mutation);
    send(&app, token, json!({ "query": mutation, "extensions": persisted(&mutation_hash) })).await;
    assert_eq!(get_by_hash(&app, &org.admin.token, &mutation_hash).await.status(), 405);

    // Malformed extensions.
    for bad in [
        json!({ "persistedQuery": { "version": 2, "sha256Hash": hash } }),
        json!({ "persistedQuery": { "version": 1, "sha256Hash": "xyz" } }),
    ] {
        let (_, body) = send(&app, token, json!({ "extensions": bad })).await;
        assert_error(&body, "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn with_trusted_documents_for_api_keys_a_key_runs_only_registered_documents() {
    let app = spawn_app_with(|config| config.trusted_documents = TrustedDocuments::ApiKeys).await;
    let org = app.create_org("Acme").await;
    let other = app.create_org("Globex").await;
    let admin = org.admin.token.as_str();
    let key = api_key(&app, admin, "LEADS_READ").await;
    let query = "query Leads { leads(first: 5) { totalCount } }";
    let hash = sha256(query);

    let (status, body) = send(&app, Some(&key), json!({ "query": query })).await;
    assert_eq!(status, 200);
    let message = assert_error(&body, "FORBIDDEN");
    assert!(message.contains("registered") && message.contains(&hash), "{message}");
    // Users are not limited.
    let body = app.gql(Some(admin), query, json!({})).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 0, "{body}");

    // Another organization's registration does not count; a VIEWER cannot register.
    let body = app.gql(Some(&other.admin.token), REGISTER, json!({ "d": query })).await;
    assert_eq!(body["data"]["registerTrustedDocument"]["trustedDocument"]["sha256"], hash);
    let (_, body) = send(&app, Some(&key), json!({ "query": query })).await;
    assert_error(&body, "FORBIDDEN");
    let viewer = app.create_user(&org, entity::Team::Marketing, entity::Role::Viewer).await;
    let body = app.gql(Some(&viewer.token), REGISTER, json!({ "d": query })).await;
    assert_error(&body, "FORBIDDEN");
    let (_, body) = send(&app, Some(&key), json!({ "query": query })).await;
    assert_error(&body, "FORBIDDEN");

    // Registered: by text and by hash alone. Registering again changes nothing.
    let before = app.count_audit_rows(&org).await;
    let body = app.gql(Some(admin), REGISTER, json!({ "d": query })).await;
    assert_eq!(body["data"]["registerTrustedDocument"]["trustedDocument"], json!({ "sha256": hash, "name": "Leads" }));
    app.gql(Some(admin), REGISTER, json!({ "d": query })).await;
    assert_eq!(app.count_audit_rows(&org).await, before + 1, "one registration, audited once");
    let (_, body) = send(&app, Some(&key), json!({ "query": query })).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 0, "{body}");
    let (_, body) = send(&app, Some(&key), json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 0, "{body}");
    // The same operation with other whitespace is another document.
    let (_, body) = send(&app, Some(&key), json!({ "query": format!("{query} ") })).await;
    assert_error(&body, "FORBIDDEN");

    // Removed: refused again at once.
    let remove = "mutation($h: String!) { removeTrustedDocument(input: { sha256: $h }) { removed } }";
    let body = app.gql(Some(admin), remove, json!({ "h": hash })).await;
    assert_eq!(body["data"]["removeTrustedDocument"]["removed"], true, "{body}");
    let (_, body) = send(&app, Some(&key), json!({ "extensions": persisted(&hash) })).await;
    assert_error(&body, "PERSISTED_QUERY_NOT_FOUND");
    let (_, body) = send(&app, Some(&key), json!({ "query": query })).await;
    assert_error(&body, "FORBIDDEN");
}

#[tokio::test]
async fn with_trusted_documents_for_all_even_signing_in_needs_a_registered_document() {
    let app = spawn_app_with(|config| config.trusted_documents = TrustedDocuments::All).await;
    let org = app.create_org("Acme").await;
    let login = "mutation($input: LoginInput!) { login(input: $input) { token } }";
    let variables = json!({ "input": { "organization": org.slug, "email": org.admin.email, "password": PASSWORD } });
    let (_, body) = send(&app, None, json!({ "query": login, "variables": variables })).await;
    assert_error(&body, "FORBIDDEN");
    // The admin's own queries are limited too, registering included (unless itself registered).
    let (_, body) = send(&app, Some(&org.admin.token), json!({ "query": REGISTER, "variables": { "d": login } })).await;
    assert_error(&body, "FORBIDDEN");
    // An operator registers from the command line instead.
    let dir = std::env::temp_dir().join(format!("accord-docs-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("persisted-documents.json");
    let me = "query Me { me { name } }";
    std::fs::write(&manifest, json!({ sha256(login): login, sha256(me): me }).to_string()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_accord"))
        .env("DATABASE_URL", app.database_url())
        .args(["documents", "register"])
        .arg(&manifest)
        .args(["--org", &org.slug])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains(&sha256(login)) && printed.contains(&sha256(me)), "{printed}");
    // A manifest whose hash does not match is refused as a whole.
    std::fs::write(&manifest, json!({ sha256("x"): me }).to_string()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_accord"))
        .env("DATABASE_URL", app.database_url())
        .args(["documents", "register"])
        .arg(&manifest)
        .output()
        .unwrap();
    assert!(!output.status.success());
    std::fs::remove_dir_all(&dir).ok();

    let (_, body) = send(&app, None, json!({ "extensions": persisted(&sha256(login)), "variables": variables })).await;
    let token = body["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned();
    let (_, body) = send(&app, Some(&token), json!({ "query": me })).await;
    assert!(body["data"]["me"]["name"].is_string(), "{body}");
}
