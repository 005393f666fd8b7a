//! `rescore_job_lanes`: one id range of a rescoring job's leads, with its own keyset
//! cursor, so several workers can rescore one organization at once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "rescore_job_lanes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub job_id: Uuid,
    pub org_id: Uuid,
    /// 0, 1, …: lane k covers the leads after lane k-1's `until_lead_id`.
    pub lane: i32,
    /// The last lead id of the range (inclusive); `None` for the last lane, which also
    /// takes leads created while the job runs.
    pub until_lead_id: Option<Uuid>,
    /// Keyset cursor: the last lead id rescored; the next batch starts after it. A
    /// lane starts after the previous lane's `until_lead_id`.
    pub last_lead_id: Option<Uuid>,
    pub processed: i64,
    pub done: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
