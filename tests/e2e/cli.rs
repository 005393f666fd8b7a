//! The `accord` binary: configuration errors, `schema`, `org create` and `token`.

use std::process::Command;

fn accord() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_accord"));
    for var in ["DATABASE_URL", "ACCORD_BIND", "ACCORD_JWT_SECRET", "ACCORD_JWT_PUBLIC_KEY", "ACCORD_CORS_ORIGINS"] {
        command.env_remove(var);
    }
    command
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_and_exit_code_2() {
    for (var, value) in [
        ("ACCORD_BIND", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/accord"),
        ("ACCORD_CORS_ORIGINS", "ftp://example.com"),
        ("ACCORD_REQUEST_TIMEOUT_SECS", "0"),
    ] {
        let output = accord().env(var, value).arg("serve").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{var}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
}

#[test]
fn postgres_without_a_jwt_secret_is_refused() {
    let output = accord().env("DATABASE_URL", "postgres://localhost/accord").arg("serve").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("ACCORD_JWT_SECRET"));
}

#[test]
fn schema_prints_the_sdl() {
    let output = accord().arg("schema").output().unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8(output.stdout).unwrap(), api::sdl());
}

#[test]
fn org_create_then_token_gives_a_token_for_the_new_admin() {
    use base64::Engine;
    let dir = std::env::temp_dir().join(format!("accord-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}/accord.db?mode=rwc", dir.display());

    let output = accord()
        .env("DATABASE_URL", &url)
        .args(["org", "create", "--name", "Acme Revenue", "--admin-email", "ops@acme.test"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let org_id = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(uuid::Uuid::parse_str(&org_id).is_ok(), "{org_id}");

    // The same name again is a conflict, not a second organization.
    let again = accord()
        .env("DATABASE_URL", &url)
        .args(["org", "create", "--name", "Acme Revenue", "--admin-email", "x@acme.test"])
        .output()
        .unwrap();
    assert!(!again.status.success());

    let output = accord()
        .env("DATABASE_URL", &url)
        .args(["token", "--email", "ops@acme.test", "--org", "acme-revenue", "--ttl", "5m"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let payload = token.split('.').nth(1).expect("a JWT");
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["org"], org_id);
    assert_eq!(claims["role"], "ADMIN");
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 300);
    assert!(dir.join("accord.db.jwt-secret").exists(), "the generated secret is kept beside the database");
    std::fs::remove_dir_all(&dir).ok();
}
