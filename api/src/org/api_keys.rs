//! API keys of BI tools and integration partners. ADMINs create, list and revoke
//! them; the secret is returned once, at creation, and stored only as a hash.

use chrono::{DateTime, Utc};
use entity::api_key::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::auth::permissions::{Scope, can_administer, require};
use crate::auth::{Actor, api_key};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

/// A key to create.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The key's own rate limit; `None` for the default.
    pub requests_per_minute: Option<u32>,
}

/// Create a key; returns the stored row and the full key, which is never shown again.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewApiKey) -> Result<(Model, String)> {
    require(can_administer(actor), "create API keys")?;
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_input("name", "must be 1 to 200 characters"));
    }
    if new.scopes.is_empty() {
        return Err(ApiError::bad_input("scopes", "give at least one scope"));
    }
    let now = Utc::now();
    if new.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::bad_input("expiresAt", "must be in the future"));
    }
    let requests_per_minute = new
        .requests_per_minute
        .map(|rate| crate::validate::int_range("requestsPerMinute", i64::from(rate), 1, 1_000_000).map(|r| r as i32))
        .transpose()?;
    let mut scopes = new.scopes;
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    let generated = api_key::generate();
    let txn = crate::db::begin_write(db).await?;
    let key = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        name: Set(name),
        prefix: Set(generated.prefix),
        secret_hash: Set(generated.secret_hash),
        scopes: Set(Scope::to_stored(&scopes)),
        created_by: Set(actor.user_id()),
        last_used_at: Set(None),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        requests_per_minute: Set(requests_per_minute),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("name", &key.name)
        .created("prefix", &key.prefix)
        .created("scopes", &key.scopes)
        .created("expiresAt", &key.expires_at);
    audit::record(&txn, actor, "apiKey.create", "apiKey", Some(key.id), changes).await?;
    txn.commit().await?;
    Ok((key, generated.token))
}

/// Every key of the organization, newest first, revoked ones included. ADMINs only.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<Model>> {
    require(can_administer(actor), "list API keys")?;
    Ok(Entity::find().filter(Column::OrgId.eq(actor.org_id)).order_by_desc(Column::Id).all(db).await?)
}

/// Revoke a key: it stops working at once. Revoking a revoked key changes nothing.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn revoke(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_administer(actor), "revoke API keys")?;
    let txn = crate::db::begin_write(db).await?;
    let key = crate::db::find_in_org::<Entity>(&txn, actor.org_id, id, "API key").await?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let now = Utc::now();
    let mut model: ActiveModel = key.into();
    model.revoked_at = Set(Some(now));
    model.updated_at = Set(now);
    let key = model.update(&txn).await?;
    let changes = Changes::new().field("revokedAt", None, Some(&now));
    audit::record(&txn, actor, "apiKey.revoke", "apiKey", Some(id), changes).await?;
    txn.commit().await?;
    Ok(key)
}
