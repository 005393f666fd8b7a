//! DataLoaders, one per relation, created per request for the caller's organization:
//! a loader's cache never crosses callers or organizations, and every batch query is
//! scoped by `org_id`.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::agreements::icps::IdealCustomerProfile;
use crate::agreements::{AgreedBody, Document};
use crate::error::ApiError;
use crate::personas::Persona;

/// Every loader of one request.
pub struct Loaders {
    pub users: DataLoader<UserLoader>,
    /// Ideal customer profiles by id (`PersonaBody.icp`).
    pub icps: DataLoader<DocumentLoader<IdealCustomerProfile>>,
    /// Personas by id (such as `Lead.persona`).
    pub personas: DataLoader<DocumentLoader<Persona>>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, org_id: Uuid) -> Self {
        Self {
            users: DataLoader::new(UserLoader { db: db.clone(), org_id }, tokio::spawn),
            icps: DataLoader::new(DocumentLoader::new(db, org_id), tokio::spawn),
            personas: DataLoader::new(DocumentLoader::new(db, org_id), tokio::spawn),
        }
    }
}

/// Agreed documents of one kind by id, with their versions and approvals, within one
/// organization: three queries per batch.
pub struct DocumentLoader<B> {
    db: DatabaseConnection,
    org_id: Uuid,
    kind: PhantomData<fn() -> B>,
}

impl<B> DocumentLoader<B> {
    fn new(db: &DatabaseConnection, org_id: Uuid) -> Self {
        Self { db: db.clone(), org_id, kind: PhantomData }
    }
}

impl<B: AgreedBody> Loader<Uuid> for DocumentLoader<B> {
    type Value = Document<B>;
    type Error = ApiError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let docs = crate::agreements::get_many::<B>(&self.db, self.org_id, keys).await?;
        Ok(docs.into_iter().map(|d| (d.model.id, d)).collect())
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
