//! argon2id password hashes, computed off the async threads, and the length rule
//! every password meets: 8 to 1,024 bytes, checked before anything is hashed.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use crate::error::{ApiError, Result};

/// Shortest password Accord accepts, in bytes of UTF-8.
pub const MIN_PASSWORD_BYTES: usize = 8;
/// Longest password Accord accepts, in bytes of UTF-8. argon2 takes any length, but
/// the time to hash grows with it: an unbounded password lets one request hold a
/// blocking thread as long as its sender likes. No pass phrase needs more.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hash a password with argon2id and a random salt (PHC string).
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Check a password against a stored hash. With no hash, a dummy one is checked so
/// that an unknown e-mail takes as long as a wrong password.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored).map_err(ApiError::internal)?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && known)
    })
    .await
    .map_err(ApiError::internal)?
}

/// argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$yE7c0lW7DzcZp0Wf2o4mHkq8pdYuIDoLmCBjTSwVr5M";

/// Check a new password's length, 8 to 1,024 bytes, before it is hashed; the error
/// names the input field.
pub fn validate(field: &str, password: &str) -> Result<()> {
    if !(MIN_PASSWORD_BYTES..=MAX_PASSWORD_BYTES).contains(&password.len()) {
        return Err(ApiError::bad_input(field, "must be 8 to 1,024 bytes long"));
    }
    Ok(())
}

/// Check a password given to sign in, before it is hashed: longer than
/// [`MAX_PASSWORD_BYTES`] is BAD_USER_INPUT naming `field`, since no account can have
/// it. A short one is not refused here: it is simply wrong, like any other.
pub fn validate_for_sign_in(field: &str, password: &str) -> Result<()> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_input(field, "must be at most 1,024 bytes long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hashed = hash("correct horse battery".into()).await.unwrap();
        assert!(verify("correct horse battery".into(), Some(hashed.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(hashed)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }

    fn field_of(result: Result<()>) -> Option<String> {
        match result {
            Err(ApiError::BadUserInput { field, .. }) => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn new_passwords_are_8_to_1024_bytes() {
        assert!(validate("password", "12345678").is_ok());
        assert!(validate("password", &"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert_eq!(field_of(validate("password", "1234567")).as_deref(), Some("password"));
        assert!(validate("password", &"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        // Bytes, not characters: 342 three-byte characters are 1,026 bytes.
        assert!(validate("password", &"€".repeat(342)).is_err());
        assert!(validate("password", "€€€").is_ok(), "three characters, nine bytes");
    }

    #[test]
    fn sign_in_refuses_only_passwords_no_account_can_have() {
        assert!(validate_for_sign_in("input.password", "short").is_ok());
        assert!(validate_for_sign_in("input.password", &"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        let long = validate_for_sign_in("input.password", &"x".repeat(900 * 1024));
        assert_eq!(field_of(long).as_deref(), Some("input.password"));
    }
}
