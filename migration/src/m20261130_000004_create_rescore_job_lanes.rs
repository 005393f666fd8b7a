//! Lanes of a rescoring job: its leads split into id ranges, each with its own keyset
//! cursor, so several workers rescore one organization at once. A lane is claimed
//! with `FOR UPDATE SKIP LOCKED` like a job was; its cursor moves in the transaction
//! that rescored the batch, so a job still resumes exactly after a restart.

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
                    .table(RescoreJobLanes::Table)
                    .col(pk_uuid(RescoreJobLanes::Id))
                    .col(uuid(RescoreJobLanes::JobId))
                    .col(uuid(RescoreJobLanes::OrgId))
                    .col(integer(RescoreJobLanes::Lane))
                    .col(uuid_null(RescoreJobLanes::UntilLeadId))
                    .col(uuid_null(RescoreJobLanes::LastLeadId))
                    .col(big_integer(RescoreJobLanes::Processed).default(0))
                    .col(boolean(RescoreJobLanes::Done).default(false))
                    .col(timestamp_with_time_zone(RescoreJobLanes::CreatedAt))
                    .col(timestamp_with_time_zone(RescoreJobLanes::UpdatedAt))
                    .foreign_key(&mut org_fk(RescoreJobLanes::Table, RescoreJobLanes::OrgId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RescoreJobLanes::Table, RescoreJobLanes::JobId)
                            .to(Alias::new("rescore_jobs"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        {
            use RescoreJobLanes::*;
            // Workers look for open lanes, oldest first; a job's lanes are counted as they finish.
            index(manager, "ix_rescore_job_lanes_done_created", Table, &[Done, CreatedAt], false).await?;
            index(manager, "ix_rescore_job_lanes_job", Table, &[JobId, Lane], true).await?;
        }
        // Jobs queued before lanes existed continue as one lane from their cursor.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO rescore_job_lanes (id, job_id, org_id, lane, until_lead_id, last_lead_id, processed, done, \
                 created_at, updated_at) \
                 SELECT id, id, org_id, 0, NULL, last_lead_id, processed, FALSE, created_at, updated_at \
                 FROM rescore_jobs WHERE status <> 'DONE'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RescoreJobLanes::Table).to_owned()).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum RescoreJobLanes {
    Table,
    Id,
    JobId,
    OrgId,
    Lane,
    UntilLeadId,
    LastLeadId,
    Processed,
    Done,
    CreatedAt,
    UpdatedAt,
}
