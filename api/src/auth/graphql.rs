//! The `login` mutation: e-mail and password in, a JWT out.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::jwt::JwtKeys;
use super::rate_limit::LoginLimiter;
use super::{issue_token, password};
use crate::config::Config;
use crate::error::ApiError;
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
    /// The user's password.
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
    /// saying which part was wrong; too many attempts per e-mail or client are RATE_LIMITED.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> async_graphql::Result<LoginPayload> {
        let address = ctx.data_opt::<ClientAddress>().and_then(|a| a.0);
        let email = input.email.trim().to_lowercase();
        let slug = input.organization.trim().to_lowercase();
        ctx.data_unchecked::<Arc<LoginLimiter>>().check(&slug, &email, address)?;
        let user = users::find_for_sign_in(db(ctx), Some(&slug), &email).await?;
        let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.clone());
        let valid = password::verify(input.password, stored).await?;
        let user = match user {
            Some(user) if valid => user,
            _ => return Err(ApiError::Unauthenticated("wrong organization, e-mail or password".into()).into()),
        };
        let config = ctx.data_unchecked::<Arc<Config>>();
        let (token, expires_at) = issue_token(ctx.data_unchecked::<Arc<JwtKeys>>(), &user, config.token_ttl)?;
        Ok(LoginPayload { token, expires_at, user: user.into() })
    }
}
