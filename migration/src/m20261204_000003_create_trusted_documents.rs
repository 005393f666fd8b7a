//! `trusted_documents`: the GraphQL documents an organization's ADMINs registered, by
//! their SHA-256, so a server with `ACCORD_TRUSTED_DOCUMENTS` runs only those, and
//! clients may send the hash instead of the text.

use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TrustedDocuments::Table)
                    .col(pk_uuid(TrustedDocuments::Id))
                    .col(uuid(TrustedDocuments::OrgId))
                    .col(string_len(TrustedDocuments::Sha256, 64))
                    .col(text(TrustedDocuments::Body))
                    .col(text_null(TrustedDocuments::Name))
                    .col(uuid_null(TrustedDocuments::CreatedBy))
                    .col(timestamp_with_time_zone(TrustedDocuments::CreatedAt))
                    .foreign_key(&mut org_fk(TrustedDocuments::Table, TrustedDocuments::OrgId))
                    .to_owned(),
            )
            .await?;
        // Every request of a caller under ACCORD_TRUSTED_DOCUMENTS looks its hash up here.
        index(
            manager,
            "ux_trusted_documents_org_sha256",
            TrustedDocuments::Table,
            &[TrustedDocuments::OrgId, TrustedDocuments::Sha256],
            true,
        )
        .await?;
        // Anonymous requests (signing in) under `all` match any organization's document.
        index(manager, "ix_trusted_documents_sha256", TrustedDocuments::Table, &[TrustedDocuments::Sha256], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TrustedDocuments::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone)]
enum TrustedDocuments {
    Table,
    Id,
    OrgId,
    Sha256,
    Body,
    Name,
    CreatedBy,
    CreatedAt,
}
