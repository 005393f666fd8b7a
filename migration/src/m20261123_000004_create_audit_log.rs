use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid(AuditLog::OrgId))
                    .col(string_len(AuditLog::ActorKind, 16))
                    .col(uuid_null(AuditLog::ActorId))
                    .col(string(AuditLog::ActorName))
                    .col(string(AuditLog::Action))
                    .col(string(AuditLog::Entity))
                    .col(uuid_null(AuditLog::EntityId))
                    .col(json(AuditLog::Changes))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_log_org")
                            .from(AuditLog::Table, AuditLog::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Newest-first paging of the whole log, and of one record's history.
        for (name, cols) in [
            ("ix_audit_log_org_id", vec![AuditLog::OrgId, AuditLog::Id]),
            ("ix_audit_log_org_entity", vec![AuditLog::OrgId, AuditLog::Entity, AuditLog::EntityId, AuditLog::Id]),
            ("ix_audit_log_org_actor", vec![AuditLog::OrgId, AuditLog::ActorId, AuditLog::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditLog::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditLog::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    OrgId,
    ActorKind,
    ActorId,
    ActorName,
    Action,
    Entity,
    EntityId,
    Changes,
    At,
}
