//! Who is calling: JWTs, API keys, passwords, sign-in rate limits, and the
//! permission rules of DESIGN §5. The caller is one [`Actor`] value, built once per
//! request by [`authenticate`] and passed to every domain function.

pub mod api_key;
pub mod cache;
pub mod fields;
pub mod jwt;
pub mod password;
pub mod permissions;
pub mod rate_limit;

use chrono::Utc;
use entity::{Role, Team};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::{ApiError, Result};

pub use permissions::Scope;

/// The caller of a request: a user, an API key, or Accord itself (CLI, jobs).
#[derive(Debug, Clone)]
pub struct Actor {
    pub org_id: Uuid,
    pub kind: Identity,
}

/// Who the caller is, with what the permission rules read: a user (team, role), an API
/// key (scopes) or Accord itself. Audit rows store its [`entity::ActorKind`].
#[derive(Debug, Clone)]
pub enum Identity {
    User {
        id: Uuid,
        name: String,
        email: String,
        team: Team,
        role: Role,
    },
    ApiKey {
        id: Uuid,
        name: String,
        scopes: Vec<Scope>,
        /// The key's own rate limit, if it has one.
        requests_per_minute: Option<u32>,
    },
    /// Accord's own work: the CLI, the demo seed, background jobs.
    System,
}

impl Actor {
    pub fn user(model: &entity::user::Model) -> Self {
        Self {
            org_id: model.org_id,
            kind: Identity::User {
                id: model.id,
                name: model.name.clone(),
                email: model.email.clone(),
                team: model.team,
                role: model.role,
            },
        }
    }

    pub fn system(org_id: Uuid) -> Self {
        Self { org_id, kind: Identity::System }
    }

    pub fn user_id(&self) -> Option<Uuid> {
        match &self.kind {
            Identity::User { id, .. } => Some(*id),
            _ => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match &self.kind {
            Identity::User { role, .. } => Some(*role),
            _ => None,
        }
    }

    pub fn team(&self) -> Option<Team> {
        match &self.kind {
            Identity::User { team, .. } => Some(*team),
            _ => None,
        }
    }

    /// What kind of caller this is, as audit and stage-transition rows store it.
    pub fn stored_kind(&self) -> entity::ActorKind {
        match self.kind {
            Identity::User { .. } => entity::ActorKind::User,
            Identity::ApiKey { .. } => entity::ActorKind::ApiKey,
            Identity::System => entity::ActorKind::System,
        }
    }

    /// What kind of caller this is, in logs: `user`, `api_key` or `system`.
    pub fn kind_label(&self) -> &'static str {
        match self.kind {
            Identity::User { .. } => "user",
            Identity::ApiKey { .. } => "api_key",
            Identity::System => "system",
        }
    }

    /// Whose rate-limit bucket a request spends from: the user or the key (the
    /// organization for Accord's own work, which is never limited in practice).
    pub fn credential_id(&self) -> Uuid {
        self.id().unwrap_or(self.org_id)
    }

    /// The credential's own requests per minute, when it has one.
    pub fn requests_per_minute(&self) -> Option<u32> {
        match &self.kind {
            Identity::ApiKey { requests_per_minute, .. } => *requests_per_minute,
            _ => None,
        }
    }

    pub fn id(&self) -> Option<Uuid> {
        match &self.kind {
            Identity::User { id, .. } | Identity::ApiKey { id, .. } => Some(*id),
            Identity::System => None,
        }
    }

    pub fn name(&self) -> &str {
        match &self.kind {
            Identity::User { name, .. } | Identity::ApiKey { name, .. } => name,
            Identity::System => "Accord",
        }
    }
}

/// Turn an `Authorization` header into the caller. No header: anonymous (`None`);
/// a header with a bad, expired or revoked credential: UNAUTHENTICATED, never anonymous.
#[tracing::instrument(skip_all)]
pub async fn authenticate(
    db: &DatabaseConnection,
    keys: &jwt::JwtKeys,
    authorization: Option<&str>,
    cache_ttl: std::time::Duration,
) -> Result<Option<Actor>> {
    let Some(header) = authorization else { return Ok(None) };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`".into()))?;
    if token.starts_with(api_key::TOKEN_PREFIX) {
        return api_key::authenticate(db, token).await.map(Some);
    }
    let claims = keys.verify(token)?;
    if let Some(actor) = cache::get(claims.user_id, claims.org_id, cache_ttl) {
        return Ok(Some(actor));
    }
    let user = entity::user::Entity::find_by_id(claims.user_id)
        .filter(entity::user::Column::OrgId.eq(claims.org_id))
        .one(db)
        .await?
        .filter(|u| u.active)
        .ok_or_else(|| ApiError::Unauthenticated("the token's user does not exist or is deactivated".into()))?;
    let actor = Actor::user(&user);
    if !cache_ttl.is_zero() {
        cache::put(user.id, &actor);
    }
    Ok(Some(actor))
}

/// Mint a token for a user, as `login` and `accord token` do.
pub fn issue_token(
    keys: &jwt::JwtKeys,
    user: &entity::user::Model,
    ttl: std::time::Duration,
) -> Result<(String, chrono::DateTime<Utc>)> {
    keys.issue(user.id, user.org_id, user.role, ttl)
}
