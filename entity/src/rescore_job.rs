//! `rescore_jobs`: rescoring an organization's leads (every lead after a new scoring
//! model came into force, or the daily decay's), in batches, resumable from the
//! cursors of its lanes.

use sea_orm::entity::prelude::*;

use crate::enums::{RescoreJobKind, RescoreJobStatus};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rescore_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// The scoring model (document id) and the agreed version the job scores with.
    pub model_id: Uuid,
    pub model_version: i32,
    /// Every lead, or only those the daily decay can move across a threshold.
    pub kind: RescoreJobKind,
    pub status: RescoreJobStatus,
    pub processed: i64,
    pub total: i64,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
