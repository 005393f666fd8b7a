//! `journey_stages`: the ordered buyer-journey stages of each organization, used by
//! messaging. Organizations that exist already get the five default stages here;
//! new ones get them when they are bootstrapped.

use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_create_organizations::Organizations;

/// The stages every organization starts with, in order.
pub const DEFAULT_STAGES: [&str; 5] = ["AWARENESS", "CONSIDERATION", "DECISION", "ONBOARDING", "EXPANSION"];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JourneyStages::Table)
                    .col(pk_uuid(JourneyStages::Id))
                    .col(uuid(JourneyStages::OrgId))
                    .col(string(JourneyStages::Name))
                    .col(integer(JourneyStages::Position))
                    .col(integer(JourneyStages::Version).default(1))
                    .col(timestamp_with_time_zone(JourneyStages::CreatedAt))
                    .col(timestamp_with_time_zone(JourneyStages::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_journey_stages_org")
                            .from(JourneyStages::Table, JourneyStages::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_journey_stages_org_name")
                    .table(JourneyStages::Table)
                    .col(JourneyStages::OrgId)
                    .col(JourneyStages::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // `journeyStages` lists an organization's stages in order. Not unique: a
        // reorder moves positions one row at a time inside its transaction.
        manager
            .create_index(
                Index::create()
                    .name("ix_journey_stages_org_position")
                    .table(JourneyStages::Table)
                    .col(JourneyStages::OrgId)
                    .col(JourneyStages::Position)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let orgs = db.query_all_raw(Statement::from_string(backend, "SELECT id FROM organizations")).await?;
        let now = chrono::Utc::now();
        for org in orgs {
            let org_id: uuid::Uuid = org.try_get("", "id")?;
            for (position, name) in DEFAULT_STAGES.iter().enumerate() {
                let insert = Query::insert()
                    .into_table(JourneyStages::Table)
                    .columns([
                        JourneyStages::Id,
                        JourneyStages::OrgId,
                        JourneyStages::Name,
                        JourneyStages::Position,
                        JourneyStages::Version,
                        JourneyStages::CreatedAt,
                        JourneyStages::UpdatedAt,
                    ])
                    .values_panic([
                        uuid::Uuid::now_v7().into(),
                        org_id.into(),
                        (*name).into(),
                        (position as i32 + 1).into(),
                        1.into(),
                        now.into(),
                        now.into(),
                    ])
                    .to_owned();
                db.execute(&insert).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(JourneyStages::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum JourneyStages {
    Table,
    Id,
    OrgId,
    Name,
    Position,
    Version,
    CreatedAt,
    UpdatedAt,
}
