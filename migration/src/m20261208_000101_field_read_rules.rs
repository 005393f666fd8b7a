//! `field_read_rules`: an organization's changes to who may read a personal field
//! (`Lead.email`, `Activity.notes`, …); a field without a row keeps the default (every
//! user but VIEWERs, API keys with `PII_READ`).
//!
//! Personal fields now need the new `pii:read` scope for API keys. Keys that could read
//! leads before get it, so that integrations running today keep the data they read;
//! keys created from now on ask for it.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::util::org_fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FieldReadRules::Table)
                    .col(uuid(FieldReadRules::OrgId))
                    .col(string_len(FieldReadRules::Field, 64))
                    .col(json(FieldReadRules::Roles))
                    .col(json(FieldReadRules::Scopes))
                    .col(uuid_null(FieldReadRules::UpdatedBy))
                    .col(timestamp_with_time_zone(FieldReadRules::UpdatedAt))
                    .primary_key(Index::create().col(FieldReadRules::OrgId).col(FieldReadRules::Field))
                    .foreign_key(&mut org_fk(FieldReadRules::Table, FieldReadRules::OrgId))
                    .to_owned(),
            )
            .await?;
        let grant = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE api_keys SET scopes = (scopes::jsonb || '[\"pii:read\"]'::jsonb)::json \
                 WHERE scopes::jsonb ? 'leads:read' AND NOT scopes::jsonb ? 'pii:read'"
            }
            _ => {
                "UPDATE api_keys SET scopes = json_insert(scopes, '$[#]', 'pii:read') \
                 WHERE EXISTS (SELECT 1 FROM json_each(api_keys.scopes) WHERE value = 'leads:read') \
                 AND NOT EXISTS (SELECT 1 FROM json_each(api_keys.scopes) WHERE value = 'pii:read')"
            }
        };
        manager.get_connection().execute_unprepared(grant).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(FieldReadRules::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone)]
enum FieldReadRules {
    Table,
    OrgId,
    Field,
    Roles,
    Scopes,
    UpdatedBy,
    UpdatedAt,
}
