//! The `login` mutation: e-mail and password in, a JWT out (`org::sign_in`).

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::User;
use crate::auth::jwt::JwtKeys;
use crate::auth::rate_limit::SignInThrottle;
use crate::config::Config;
use crate::error::Result;
use crate::graphql::{ClientAddress, db};
use crate::org::sign_in::{Credentials, sign_in};

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
        let credentials =
            Credentials { organization: input.organization, email: input.email, password: input.password };
        let address = ctx.data_opt::<ClientAddress>().and_then(|a| a.0);
        let signed_in = sign_in(
            db(ctx),
            ctx.data_unchecked::<Arc<Config>>(),
            ctx.data_unchecked::<Arc<JwtKeys>>(),
            ctx.data_unchecked::<Arc<SignInThrottle>>(),
            credentials,
            address,
        )
        .await?;
        Ok(LoginPayload { token: signed_in.token, expires_at: signed_in.expires_at, user: signed_in.user.into() })
    }
}
