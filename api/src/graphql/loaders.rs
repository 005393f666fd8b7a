//! DataLoaders, one per relation, created per request for the caller's organization:
//! a loader's cache never crosses callers or organizations, and every batch query is
//! scoped by `org_id`.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiError;

/// Every loader of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, org_id: Uuid) -> Self {
        Self { users: DataLoader::new(UserLoader { db: db.clone(), org_id }, tokio::spawn) }
    }
}

/// Users by id, within one organization.
pub struct UserLoader {
    db: DatabaseConnection,
    org_id: Uuid,
}

impl Loader<Uuid> for UserLoader {
    type Value = entity::user::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let users = entity::user::Entity::find()
            .filter(entity::user::Column::OrgId.eq(self.org_id))
            .filter(entity::user::Column::Id.is_in(keys.iter().copied()))
            .all(&self.db)
            .await?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}
