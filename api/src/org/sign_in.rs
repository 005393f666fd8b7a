//! Signing in with e-mail and password: a JWT for a user of an organization, with
//! failed attempts throttled per account and client.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use super::users;
use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::SignInThrottle;
use crate::auth::{issue_token, password};
use crate::config::Config;
use crate::error::{ApiError, Result};

/// A signed-in user and the token that carries the session.
pub struct SignedIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: entity::user::Model,
}

/// What a client sends to sign in.
pub struct Credentials {
    /// The organization's slug.
    pub organization: String,
    pub email: String,
    pub password: String,
}

/// Sign a user in. Wrong credentials are UNAUTHENTICATED without saying which part was
/// wrong; a client that keeps failing on an account waits longer before each attempt.
pub async fn sign_in(
    db: &impl sea_orm::ConnectionTrait,
    config: &Config,
    keys: &JwtKeys,
    throttle: &SignInThrottle,
    credentials: Credentials,
    address: Option<IpAddr>,
) -> Result<SignedIn> {
    // Refused before anything else: an over-long password is never hashed nor counted as a failure.
    password::validate_for_sign_in("input.password", &credentials.password)?;
    let email = credentials.email.trim().to_lowercase();
    let slug = credentials.organization.trim().to_lowercase();
    let account = format!("{slug}/{email}");
    throttle.check(&account, address).await?;
    let user = users::find_for_sign_in(db, Some(&slug), &email).await?;
    let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
    let valid = password::verify(credentials.password, stored).await?;
    let user = match user {
        Some(user) if valid => user,
        _ => {
            throttle.failed(&account, address).await?;
            return Err(ApiError::Unauthenticated("wrong organization, e-mail or password".into()));
        }
    };
    throttle.succeeded(&account, address).await?;
    let (token, expires_at) = issue_token(keys, &user, config.token_ttl)?;
    Ok(SignedIn { token, expires_at, user })
}
