//! Authentication: JWTs, API keys, sign-in and its rate limit.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::common::*;

const ME: &str = "{ me { name kind team role } }";

/// A test-only EC P-256 key pair standing in for an external identity provider.
const IDP_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1EEBhTA5cqZvbuac
7Ihsw8XqRKMaWErV08kXDsGURjOhRANCAAQQpRP0pmg5WlSf8VdMHG0XPCHHuz10
jix7fV+ro3+iHYCevTHMPB2CNdGrqaSEkqpbMsT3aogpKMv57hawp7Vl
-----END PRIVATE KEY-----
";
const IDP_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEKUT9KZoOVpUn/FXTBxtFzwhx7s9
dI4se31fq6N/oh2Anr0xzDwdgjXRq6mkhJKqWzLE92qIKSjL+e4WsKe1ZQ==
-----END PUBLIC KEY-----
";

fn claims(org: &TestOrg) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "sub": org.admin.id, "org": org.id, "role": "ADMIN",
        "iat": now, "exp": now + 600, "iss": "accord", "aud": "accord",
    })
}

fn hs256(claims: &Value, secret: &[u8]) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

/// POST `{ me }` with a token and expect 401 UNAUTHENTICATED.
async fn assert_rejected(app: &TestApp, token: &str) -> String {
    let response = app.post(Some(token), &json!({ "query": ME })).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none_or(Value::is_null), "no data for a bad token: {body}");
    assert_error(&body, "UNAUTHENTICATED")
}

#[tokio::test]
async fn me_returns_the_signed_in_user() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let body = app.gql(Some(&org.admin.token), ME, json!({})).await;
    assert_eq!(body["data"]["me"], json!({ "name": "Acme Admin", "kind": "USER", "team": "REVOPS", "role": "ADMIN" }));
}

#[tokio::test]
async fn a_protected_field_without_a_token_is_unauthenticated() {
    let app = spawn_app().await;
    let response = app.post(None, &json!({ "query": ME })).await;
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.expect("JSON");
    assert_error(&body, "UNAUTHENTICATED");
    assert!(body["data"].is_null());
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let mut claims = claims(&org);
    let now = Utc::now().timestamp();
    claims["iat"] = json!(now - 7200);
    claims["exp"] = json!(now - 3600);
    let message = assert_rejected(&app, &hs256(&claims, JWT_SECRET.as_bytes())).await;
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    assert_rejected(&app, &hs256(&claims(&org), b"another-secret-another-secret-another-secret")).await;
}

#[tokio::test]
async fn an_unsigned_token_with_alg_none_is_rejected() {
    use base64::Engine;
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims(&org)));
    assert_rejected(&app, &token).await;
}

#[tokio::test]
async fn wrong_issuer_or_audience_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    for (claim, value) in [("iss", "someone-else"), ("aud", "another-api")] {
        let mut claims = claims(&org);
        claims[claim] = json!(value);
        let message = assert_rejected(&app, &hs256(&claims, JWT_SECRET.as_bytes())).await;
        assert!(message.contains(if claim == "iss" { "issuer" } else { "audience" }), "{message}");
    }
}

#[tokio::test]
async fn a_token_with_exp_as_a_string_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let mut claims = claims(&org);
    claims["exp"] = json!((Utc::now().timestamp() + 600).to_string());
    assert_rejected(&app, &hs256(&claims, JWT_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_token_missing_a_required_claim_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let mut claims = claims(&org);
    claims.as_object_mut().unwrap().remove("iat");
    assert_rejected(&app, &hs256(&claims, JWT_SECRET.as_bytes())).await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_rejected() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.graphql_url())
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_error(&response.json().await.unwrap(), "UNAUTHENTICATED");
}

#[tokio::test]
async fn an_external_identity_providers_token_is_accepted_but_not_hs256_signed_with_its_public_key() {
    let app = spawn_app_with(|config| config.jwt.public_key_pem = Some(IDP_PUBLIC_KEY.into())).await;
    let org = app.create_org("Acme").await;
    let claims = claims(&org);

    let es256 =
        encode(&Header::new(Algorithm::ES256), &claims, &EncodingKey::from_ec_pem(IDP_PRIVATE_KEY.as_bytes()).unwrap())
            .unwrap();
    let body = app.gql(Some(&es256), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["name"], "Acme Admin", "{body}");

    // The classic key-confusion attack: HS256 with the public key as the HMAC secret.
    assert_rejected(&app, &hs256(&claims, IDP_PUBLIC_KEY.as_bytes())).await;
}

#[tokio::test]
async fn a_deactivated_users_token_stops_working() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, entity::Team::Sales, entity::Role::Member).await;
    assert_eq!(app.gql(Some(&rep.token), ME, json!({})).await["data"]["me"]["role"], "MEMBER");

    let body = app
        .gql(
            Some(&org.admin.token),
            "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { active } } }",
            json!({ "id": rep.id }),
        )
        .await;
    assert_eq!(body["data"]["deactivateUser"]["user"]["active"], false, "{body}");
    assert_rejected(&app, &rep.token).await;
}

const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { token expiresAt user { email } } }";

#[tokio::test]
async fn login_returns_a_working_token() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let input = json!({ "organization": org.slug, "email": org.admin.email.to_uppercase(), "password": PASSWORD });
    let body = app.gql(None, LOGIN, json!({ "input": input })).await;
    let token = body["data"]["login"]["token"].as_str().expect("a token").to_owned();
    assert_eq!(body["data"]["login"]["user"]["email"], org.admin.email);
    assert_eq!(app.gql(Some(&token), ME, json!({})).await["data"]["me"]["name"], "Acme Admin");
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let input = json!({ "organization": org.slug, "email": org.admin.email, "password": "wrong password!" });
    let mut codes = Vec::new();
    for _ in 0..10 {
        let response = app.post(None, &json!({ "query": LOGIN, "variables": { "input": input } })).await;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["data"].is_null());
        let code = error_code(&body).unwrap().to_owned();
        assert_eq!(status == 429, code == "RATE_LIMITED", "RATE_LIMITED is HTTP 429: {body}");
        codes.push(code);
    }
    assert_eq!(codes[0], "UNAUTHENTICATED");
    assert_eq!(codes[9], "RATE_LIMITED", "{codes:?}");
    // The failing client waits, even with the right password (other clients do not: security.rs).
    let right = json!({ "organization": org.slug, "email": org.admin.email, "password": PASSWORD });
    let response = app.post(None, &json!({ "query": LOGIN, "variables": { "input": right } })).await;
    assert_eq!(response.status(), 429);
    assert_error(&response.json().await.unwrap(), "RATE_LIMITED");
}

#[tokio::test]
async fn login_does_not_tell_unknown_users_from_wrong_passwords() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let unknown = json!({ "organization": org.slug, "email": "nobody@acme.test", "password": PASSWORD });
    let wrong = json!({ "organization": org.slug, "email": org.admin.email, "password": "not the password" });
    let a = assert_error(&app.gql(None, LOGIN, json!({ "input": unknown })).await, "UNAUTHENTICATED");
    let b = assert_error(&app.gql(None, LOGIN, json!({ "input": wrong })).await, "UNAUTHENTICATED");
    assert_eq!(a, b);
}

const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id prefix scopes status createdBy { email } } }
}";

async fn create_key(app: &TestApp, org: &TestOrg, scopes: Value) -> (String, String) {
    let body =
        app.gql(Some(&org.admin.token), CREATE_KEY, json!({ "input": { "name": "BI", "scopes": scopes } })).await;
    let payload = &body["data"]["createApiKey"];
    assert_eq!(payload["apiKey"]["createdBy"]["email"], org.admin.email, "{body}");
    (payload["apiKey"]["id"].as_str().unwrap().to_owned(), payload["secret"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_api_key_authenticates_within_its_scopes() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (_, secret) = create_key(&app, &org, json!(["KPIS_READ"])).await;
    assert!(secret.starts_with("acc_"));

    let body = app.gql(Some(&secret), "{ me { kind name scopes team } }", json!({})).await;
    assert_eq!(body["data"]["me"], json!({ "kind": "API_KEY", "name": "BI", "scopes": ["KPIS_READ"], "team": null }));

    // No `org:read` scope: the users list is refused.
    assert_error(&app.gql(Some(&secret), "{ users { totalCount } }", json!({})).await, "FORBIDDEN");
    // Keys never administer.
    let before = app.count_audit_rows(&org).await;
    let create = "mutation { createUser(input: { email: \"x@acme.test\", name: \"X\", team: SALES, role: MEMBER }) { user { id } } }";
    assert_error(&app.gql(Some(&secret), create, json!({})).await, "FORBIDDEN");
    assert_eq!(app.count_audit_rows(&org).await, before);

    let (_, reader) = create_key(&app, &org, json!(["ORG_READ"])).await;
    let body = app.gql(Some(&reader), "{ users { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["users"]["totalCount"], 1);

    // lastUsedAt is recorded.
    let keys = app.gql(Some(&org.admin.token), "{ apiKeys { name lastUsedAt } }", json!({})).await;
    let keys = keys["data"]["apiKeys"].as_array().unwrap_or_else(|| panic!("{keys}"));
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| !k["lastUsedAt"].is_null()), "{keys:?}");
}

#[tokio::test]
async fn a_revoked_api_key_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (id, secret) = create_key(&app, &org, json!(["ORG_READ"])).await;
    let revoke = "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { status revokedAt } } }";
    let body = app.gql(Some(&org.admin.token), revoke, json!({ "id": id })).await;
    assert_eq!(body["data"]["revokeApiKey"]["apiKey"]["status"], "REVOKED");
    let message = assert_rejected(&app, &secret).await;
    assert!(message.contains("revoked"), "{message}");
}

#[tokio::test]
async fn an_expired_api_key_is_rejected() {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (id, secret) = create_key(&app, &org, json!(["ORG_READ"])).await;
    let key =
        entity::api_key::Entity::find_by_id(id.parse::<uuid::Uuid>().unwrap()).one(&app.db).await.unwrap().unwrap();
    let mut key: entity::api_key::ActiveModel = key.into();
    key.expires_at = Set(Some(Utc::now() - chrono::Duration::minutes(1)));
    key.update(&app.db).await.unwrap();
    let message = assert_rejected(&app, &secret).await;
    assert!(message.contains("expired"), "{message}");
}

#[tokio::test]
async fn a_forged_api_key_is_rejected() {
    let app = spawn_app().await;
    let org = app.create_org("Acme").await;
    let (_, secret) = create_key(&app, &org, json!(["ORG_READ"])).await;
    let last = if secret.ends_with('X') { 'Y' } else { 'X' };
    let forged = format!("{}{last}", &secret[..secret.len() - 1]);
    assert_rejected(&app, &forged).await;
    assert_rejected(&app, "acc_nonsense").await;
}

/// A token's user is remembered for `ACCORD_AUTH_CACHE_TTL`: a change made through this
/// server applies on the next request; one it did not make (another replica's, here
/// written straight to the database) applies once the TTL has passed.
#[tokio::test]
async fn a_remembered_user_is_read_again_after_a_change_or_the_ttl() {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ttl = std::time::Duration::from_millis(300);
    let app = spawn_app_with(|c| c.auth_cache_ttl = ttl).await;
    let org = app.create_org("Acme").await;
    let rep = app.create_user(&org, entity::Team::Sales, entity::Role::Member).await;
    let role = |body: Value| body["data"]["me"]["role"].clone();
    assert_eq!(role(app.gql(Some(&rep.token), ME, json!({})).await), "MEMBER");

    let promote = "mutation($id: ID!) { updateUser(input: { id: $id, role: MANAGER }) { user { role } } }";
    let body = app.gql(Some(&org.admin.token), promote, json!({ "id": rep.id })).await;
    assert_eq!(body["data"]["updateUser"]["user"]["role"], "MANAGER", "{body}");
    assert_eq!(role(app.gql(Some(&rep.token), ME, json!({})).await), "MANAGER", "changed here: at once");

    let deactivated = entity::user::Entity::update_many()
        .col_expr(entity::user::Column::Active, sea_orm::sea_query::Expr::value(false))
        .filter(entity::user::Column::Id.eq(rep.id))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(deactivated.rows_affected, 1);
    tokio::time::sleep(ttl + std::time::Duration::from_millis(100)).await;
    assert_rejected(&app, &rep.token).await;
}
