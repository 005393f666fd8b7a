//! The `login` mutation: e-mail and password in, a JWT out.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::jwt::JwtKeys;
use super::rate_limit::SignInThrottle;
use super::{issue_token, password};
use crate::config::Config;
use crate::error::{ApiError, Result};
use crate::graphql::{ClientAddress, db};
use crate::org::graphql::User;
use crate::org::users;

/// Credentials to sign in with.
#[derive(InputObject)]
pub struct LoginInput {
    /// The organization's slug, such as `demo`.
    pub organization: String,
    /// The user's e-mail address.
    pub email: String,
    /// The user's password (at most 1,024 bytes).
    pub password: String,
}

/// A signed-in session.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// JWT to send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops working (UTC); sign in again after it.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: User,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Sign in with e-mail and password. Wrong credentials are UNAUTHENTICATED, without
    /// saying which part was wrong. A client that keeps failing on an account waits
    /// longer before each attempt (RATE_LIMITED, HTTP 429 with `Retry-After`); a client
    /// that has not failed is never refused.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<LoginPayload> {
        // Refused before anything else: an over-long password is never hashed nor counted as a failure.
        password::validate_for_sign_in("input.password", &input.password)?;
        let address = ctx.data_opt::<ClientAddress>().and_then(|a| a.0);
        let email = input.email.trim().to_lowercase();
        let slug = input.organization.trim().to_lowercase();
        let account = format!("{slug}/{email}");
        let throttle = ctx.data_unchecked::<Arc<SignInThrottle>>();
        throttle.check(&account, address)?;
        let user = users::find_for_sign_in(db(ctx), Some(&slug), &email).await?;
        let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
        let valid = password::verify(input.password, stored).await?;
        let user = match user {
            Some(user) if valid => user,
            _ => {
                throttle.failed(&account, address);
                return Err(ApiError::Unauthenticated("wrong organization, e-mail or password".into()));
            }
        };
        throttle.succeeded(&account, address);
        let config = ctx.data_unchecked::<Arc<Config>>();
        let (token, expires_at) = issue_token(ctx.data_unchecked::<Arc<JwtKeys>>(), &user, config.token_ttl)?;
        Ok(LoginPayload { token, expires_at, user: user.into() })
    }
}
