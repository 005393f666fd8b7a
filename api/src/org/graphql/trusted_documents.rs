//! GraphQL types and resolvers of trusted documents (`org::trusted_documents`).

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::error::{ApiError, Result};
use crate::graphql::persisted::describe;
use crate::graphql::{actor, db};
use crate::org::trusted_documents::{self, is_sha256_hex};

/// A GraphQL document an ADMIN registered. With `ACCORD_TRUSTED_DOCUMENTS` set, the
/// server runs only registered documents for API keys (`api-keys`) or everyone
/// (`all`); any caller may send a registered document's hash instead of its text
/// (`extensions: {persistedQuery: {version: 1, sha256Hash}}`).
#[derive(SimpleObject)]
pub struct TrustedDocument {
    /// Lower-case hex SHA-256 of the document's UTF-8 text: what clients send.
    pub sha256: String,
    /// The names of its operations, comma-separated; null for one anonymous operation.
    pub name: Option<String>,
    /// The document's text, exactly as registered.
    pub document: String,
    /// When it was registered (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<entity::trusted_document::Model> for TrustedDocument {
    fn from(m: entity::trusted_document::Model) -> Self {
        Self { sha256: m.sha256, name: m.name, document: m.body, created_at: m.created_at }
    }
}

/// A document to register.
#[derive(InputObject)]
pub struct RegisterTrustedDocumentInput {
    /// The GraphQL document's text, at most 65,536 bytes; it is hashed exactly as sent
    /// (the same bytes your client sends, such as GraphQL Code Generator's
    /// `persisted-documents.json` values).
    pub document: String,
}

/// A document to remove.
#[derive(InputObject)]
pub struct RemoveTrustedDocumentInput {
    /// Its SHA-256, 64 lower-case hex digits.
    pub sha256: String,
}

/// The result of registering a document.
#[derive(SimpleObject)]
pub struct RegisterTrustedDocumentPayload {
    /// The registered document (the stored one when the same text was registered before).
    pub trusted_document: TrustedDocument,
}

/// The result of removing a document.
#[derive(SimpleObject)]
pub struct RemoveTrustedDocumentPayload {
    /// False when no document had that hash.
    pub removed: bool,
}

fn checked_hash(sha256: &str) -> Result<&str> {
    if is_sha256_hex(sha256) {
        Ok(sha256)
    } else {
        Err(ApiError::bad_input("sha256", "must be 64 lower-case hex digits"))
    }
}

#[derive(Default)]
pub struct TrustedDocumentQuery;

#[Object]
impl TrustedDocumentQuery {
    /// A registered document by its SHA-256, or null. ADMINs only.
    async fn trusted_document(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Its SHA-256, 64 lower-case hex digits.")] sha256: String,
    ) -> Result<Option<TrustedDocument>> {
        let found = trusted_documents::find(db(ctx), actor(ctx)?, checked_hash(&sha256)?).await?;
        Ok(found.map(TrustedDocument::from))
    }
}

#[derive(Default)]
pub struct TrustedDocumentMutation;

#[Object]
impl TrustedDocumentMutation {
    /// Register a GraphQL document for the organization (idempotent). ADMINs only; audited.
    async fn register_trusted_document(
        &self,
        ctx: &Context<'_>,
        input: RegisterTrustedDocumentInput,
    ) -> Result<RegisterTrustedDocumentPayload> {
        let actor = actor(ctx)?;
        let name = describe(&input.document)?;
        let document = trusted_documents::register(db(ctx), actor, &input.document, name).await?;
        Ok(RegisterTrustedDocumentPayload { trusted_document: document.into() })
    }

    /// Remove a registered document: under `ACCORD_TRUSTED_DOCUMENTS` it stops running
    /// at once. ADMINs only; audited.
    async fn remove_trusted_document(
        &self,
        ctx: &Context<'_>,
        input: RemoveTrustedDocumentInput,
    ) -> Result<RemoveTrustedDocumentPayload> {
        let removed = trusted_documents::remove(db(ctx), actor(ctx)?, checked_hash(&input.sha256)?).await?;
        Ok(RemoveTrustedDocumentPayload { removed })
    }
}
