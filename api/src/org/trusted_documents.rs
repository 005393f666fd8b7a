//! Trusted documents: the GraphQL documents an organization's ADMINs registered, by
//! the SHA-256 of their text. With `ACCORD_TRUSTED_DOCUMENTS` a server runs only
//! registered documents for a class of callers; any caller may send a registered
//! document's hash instead of its text.

use chrono::Utc;
use entity::trusted_document::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_administer, require};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

/// The longest document accepted (the server's default query size limit).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Lower-case hex SHA-256 of a document's UTF-8 text, as Apollo's persisted queries
/// and GraphQL Code Generator's persisted documents compute it.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// True for 64 lower-case hex digits.
pub fn is_sha256_hex(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Register `body` (already checked to be a GraphQL document; `name` its operations).
/// Registering the same text again returns the stored row unchanged. ADMINs only.
#[tracing::instrument(skip_all, fields(org = %actor.org_id))]
pub async fn register(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    body: &str,
    name: Option<String>,
) -> Result<Model> {
    require(can_administer(actor), "register trusted documents")?;
    if body.trim().is_empty() || body.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::bad_input("document", format!("must be 1 to {MAX_DOCUMENT_BYTES} bytes")));
    }
    let sha256 = sha256_hex(body);
    let txn = crate::db::begin_write(db).await?;
    if let Some(existing) = stored(&txn, actor.org_id, &sha256).await? {
        return Ok(existing);
    }
    let document = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        sha256: Set(sha256),
        body: Set(body.to_owned()),
        name: Set(name),
        created_by: Set(actor.user_id()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new().created("sha256", &document.sha256).created("name", &document.name);
    audit::record(&txn, actor, "trustedDocument.register", "trustedDocument", Some(document.id), changes).await?;
    txn.commit().await?;
    Ok(document)
}

/// Remove a registered document; false when there was none. ADMINs only.
#[tracing::instrument(skip_all, fields(org = %actor.org_id))]
pub async fn remove(db: &impl crate::db::Transactions, actor: &Actor, sha256: &str) -> Result<bool> {
    require(can_administer(actor), "remove trusted documents")?;
    let txn = crate::db::begin_write(db).await?;
    let Some(document) = stored(&txn, actor.org_id, sha256).await? else { return Ok(false) };
    Entity::delete_by_id(document.id).exec(&txn).await?;
    let changes = Changes::new().field("sha256", Some(&document.sha256), None::<&String>);
    audit::record(&txn, actor, "trustedDocument.remove", "trustedDocument", Some(document.id), changes).await?;
    txn.commit().await?;
    Ok(true)
}

/// A registered document of the caller's organization. ADMINs only.
pub async fn find(db: &impl ConnectionTrait, actor: &Actor, sha256: &str) -> Result<Option<Model>> {
    require(can_administer(actor), "read trusted documents")?;
    stored(db, actor.org_id, sha256).await
}

/// The text registered under `sha256` by the organization, or, for a caller without
/// one (signing in), by any organization. For running a request, so no role check.
pub async fn text_of(db: &impl ConnectionTrait, org_id: Option<Uuid>, sha256: &str) -> Result<Option<String>> {
    let mut query = Entity::find().select_only().column(Column::Body).filter(Column::Sha256.eq(sha256));
    if let Some(org_id) = org_id {
        query = query.filter(Column::OrgId.eq(org_id));
    }
    Ok(query.limit(1).into_tuple::<String>().one(db).await?)
}

async fn stored(db: &impl ConnectionTrait, org_id: Uuid, sha256: &str) -> Result<Option<Model>> {
    Ok(Entity::find().filter(Column::OrgId.eq(org_id)).filter(Column::Sha256.eq(sha256)).one(db).await?)
}
