use sea_orm_migration::{prelude::*, schema::*};

use crate::util::{index, org_fk, set_null_fk};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(pk_uuid(Accounts::Id))
                    .col(uuid(Accounts::OrgId))
                    .col(string(Accounts::Name))
                    .col(string(Accounts::NameKey))
                    .col(string_null(Accounts::Domain))
                    .col(string_null(Accounts::Industry))
                    .col(integer_null(Accounts::EmployeeCount))
                    .col(big_integer_null(Accounts::AnnualRevenueMinor))
                    .col(string_len_null(Accounts::Currency, 3))
                    .col(string_null(Accounts::Region))
                    .col(uuid_null(Accounts::OwnerId))
                    .col(timestamp_with_time_zone_null(Accounts::CustomerSince))
                    .col(timestamp_with_time_zone_null(Accounts::ArchivedAt))
                    .col(integer(Accounts::Version).default(1))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::UpdatedAt))
                    .foreign_key(&mut org_fk(Accounts::Table, Accounts::OrgId))
                    .foreign_key(&mut set_null_fk(Accounts::Table, Accounts::OwnerId, "users"))
                    .to_owned(),
            )
            .await?;
        {
            use Accounts::*;
            index(manager, "ux_accounts_org_domain", Table, &[OrgId, Domain], true).await?;
            index(manager, "ix_accounts_org_id", Table, &[OrgId, Id], false).await?;
            index(manager, "ix_accounts_org_name", Table, &[OrgId, NameKey, Id], false).await?;
            index(manager, "ix_accounts_org_industry", Table, &[OrgId, Industry], false).await?;
            index(manager, "ix_accounts_org_owner", Table, &[OrgId, OwnerId], false).await
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Accounts::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Accounts {
    Table,
    Id,
    OrgId,
    Name,
    NameKey,
    Domain,
    Industry,
    EmployeeCount,
    AnnualRevenueMinor,
    Currency,
    Region,
    OwnerId,
    CustomerSince,
    ArchivedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}
