//! API keys for BI tools and integration partners: `acc_<prefix>_<secret>`. Only the
//! SHA-256 of the secret is stored; the full key is shown once, when it is created.

use chrono::Utc;
use rand::Rng;
use rand::distr::Alphanumeric;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Actor, Identity, Scope};
use crate::error::{ApiError, Result};

pub const TOKEN_PREFIX: &str = "acc_";
const PREFIX_LEN: usize = 12;
const SECRET_LEN: usize = 40;

/// A freshly generated key: the public prefix, the full token and the stored hash.
pub struct GeneratedKey {
    pub prefix: String,
    pub token: String,
    pub secret_hash: String,
}

fn random_string(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn generate() -> GeneratedKey {
    let prefix = random_string(PREFIX_LEN).to_lowercase();
    let secret = random_string(SECRET_LEN);
    GeneratedKey { token: format!("{TOKEN_PREFIX}{prefix}_{secret}"), secret_hash: hash_secret(&secret), prefix }
}

/// Don't write `last_used_at` on every request: once a minute is precise enough.
const LAST_USED_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

pub async fn authenticate(db: &(impl crate::db::Transactions + ConnectionTrait), token: &str) -> Result<Actor> {
    let invalid = || ApiError::Unauthenticated("invalid API key".into());
    let (prefix, secret) =
        token.strip_prefix(TOKEN_PREFIX).and_then(|rest| rest.split_once('_')).ok_or_else(invalid)?;
    let key = entity::api_key::Entity::find()
        .filter(entity::api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let matches: bool = hash_secret(secret).as_bytes().ct_eq(key.secret_hash.as_bytes()).into();
    if !matches {
        return Err(invalid());
    }
    let now = Utc::now();
    if key.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated("the API key was revoked".into()));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Unauthenticated("the API key has expired".into()));
    }
    if key.last_used_at.is_none_or(|at| now - at >= LAST_USED_GRANULARITY) {
        let mut active: entity::api_key::ActiveModel = key.clone().into();
        active.last_used_at = Set(Some(now));
        // A write like any other: on SQLite it waits its turn rather than the busy handler.
        let txn = crate::db::begin_write(db).await?;
        active.update(&txn).await?;
        txn.commit().await?;
    }
    Ok(Actor {
        org_id: key.org_id,
        kind: Identity::ApiKey {
            id: key.id,
            name: key.name.clone(),
            scopes: Scope::parse_stored(&key.scopes),
            requests_per_minute: key.requests_per_minute.and_then(|r| u32::try_from(r).ok()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_carry_their_prefix_and_hash() {
        let key = generate();
        let rest = key.token.strip_prefix(TOKEN_PREFIX).unwrap();
        let (prefix, secret) = rest.split_once('_').unwrap();
        assert_eq!(prefix, key.prefix);
        assert_eq!(hash_secret(secret), key.secret_hash);
        assert_ne!(generate().token, key.token);
    }
}
