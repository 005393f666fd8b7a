//! The agreement workflow's tables, shared by every agreed document kind
//! (definitions, ideal customer profiles, personas, SLAs, and later scoring models
//! and messages): `documents` (one row per document, its status and which version is
//! in force or pending), `document_versions` (every version's typed body as JSON) and
//! `approvals` (who approved which exact version, for which team).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;
use crate::m20261123_000002_create_users::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(pk_uuid(Documents::Id))
                    .col(uuid(Documents::OrgId))
                    .col(string_len(Documents::Kind, 32))
                    .col(string(Documents::Key))
                    .col(string(Documents::Title))
                    .col(string_len(Documents::Status, 16))
                    .col(integer(Documents::LatestVersion))
                    .col(integer_null(Documents::InForceVersion))
                    .col(integer_null(Documents::PendingVersion))
                    .col(timestamp_with_time_zone_null(Documents::ProposedAt))
                    .col(timestamp_with_time_zone(Documents::CreatedAt))
                    .col(timestamp_with_time_zone(Documents::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_documents_org")
                            .from(Documents::Table, Documents::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A term (or name) is unique per organization and kind; also the lookup of `definition(term)`.
        manager
            .create_index(
                Index::create()
                    .name("ux_documents_org_kind_key")
                    .table(Documents::Table)
                    .col(Documents::OrgId)
                    .col(Documents::Kind)
                    .col(Documents::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Lists of one kind, optionally by status.
        manager
            .create_index(
                Index::create()
                    .name("ix_documents_org_kind_status")
                    .table(Documents::Table)
                    .col(Documents::OrgId)
                    .col(Documents::Kind)
                    .col(Documents::Status)
                    .to_owned(),
            )
            .await?;
        // The alignment overview: pending proposals, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("ix_documents_org_pending")
                    .table(Documents::Table)
                    .col(Documents::OrgId)
                    .col(Documents::PendingVersion)
                    .col(Documents::ProposedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DocumentVersions::Table)
                    .col(pk_uuid(DocumentVersions::Id))
                    .col(uuid(DocumentVersions::OrgId))
                    .col(uuid(DocumentVersions::DocumentId))
                    .col(integer(DocumentVersions::Version))
                    .col(string_len(DocumentVersions::Status, 16))
                    .col(json(DocumentVersions::Body))
                    .col(uuid_null(DocumentVersions::CreatedBy))
                    .col(timestamp_with_time_zone(DocumentVersions::CreatedAt))
                    .col(timestamp_with_time_zone_null(DocumentVersions::ProposedAt))
                    .col(timestamp_with_time_zone_null(DocumentVersions::AgreedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_versions_document")
                            .from(DocumentVersions::Table, DocumentVersions::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_document_versions_created_by")
                            .from(DocumentVersions::Table, DocumentVersions::CreatedBy)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // One row per (document, version); also how versions of a page of documents are loaded.
        manager
            .create_index(
                Index::create()
                    .name("ux_document_versions_document_version")
                    .table(DocumentVersions::Table)
                    .col(DocumentVersions::DocumentId)
                    .col(DocumentVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_document_versions_org_document")
                    .table(DocumentVersions::Table)
                    .col(DocumentVersions::OrgId)
                    .col(DocumentVersions::DocumentId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Approvals::Table)
                    .col(pk_uuid(Approvals::Id))
                    .col(uuid(Approvals::OrgId))
                    .col(string_len(Approvals::Kind, 32))
                    .col(uuid(Approvals::DocumentId))
                    .col(integer(Approvals::Version))
                    .col(uuid(Approvals::UserId))
                    .col(string_len(Approvals::Team, 16))
                    .col(timestamp_with_time_zone(Approvals::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_approvals_document")
                            .from(Approvals::Table, Approvals::DocumentId)
                            .to(Documents::Table, Documents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_approvals_user")
                            .from(Approvals::Table, Approvals::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A user approves a version once: the database refuses a second row even when
        // two requests of the same user race.
        manager
            .create_index(
                Index::create()
                    .name("ux_approvals_document_version_user")
                    .table(Approvals::Table)
                    .col(Approvals::DocumentId)
                    .col(Approvals::Version)
                    .col(Approvals::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_approvals_org_document")
                    .table(Approvals::Table)
                    .col(Approvals::OrgId)
                    .col(Approvals::DocumentId)
                    .col(Approvals::Version)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Approvals::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(DocumentVersions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Documents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
pub enum Documents {
    Table,
    Id,
    OrgId,
    Kind,
    Key,
    Title,
    Status,
    LatestVersion,
    InForceVersion,
    PendingVersion,
    ProposedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DocumentVersions {
    Table,
    Id,
    OrgId,
    DocumentId,
    Version,
    Status,
    Body,
    CreatedBy,
    CreatedAt,
    ProposedAt,
    AgreedAt,
}

#[derive(DeriveIden)]
enum Approvals {
    Table,
    Id,
    OrgId,
    Kind,
    DocumentId,
    Version,
    UserId,
    Team,
    At,
}
