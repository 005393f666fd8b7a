//! Rescoring every lead of an organization when a new scoring model comes into force.
//!
//! Agreeing a model queues a job (in the approving transaction). Workers claim jobs
//! with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two replicas never work on the
//! same job; on SQLite one process owns the database. A job advances in batches of
//! [`BATCH`] leads in id order, each batch one transaction that also moves the
//! keyset cursor (`last_lead_id`) and the progress: after a restart the job resumes
//! after the last committed batch.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::RescoreJobStatus;
use entity::rescore_job::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{ModelVersion, ScoringModel};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::error::Result;
use crate::events::audit::{self, Changes};
use crate::events::outbox;

/// Leads one transaction rescores.
pub const BATCH: u64 = 1000;

/// Queue a job rescoring every lead of the organization with `version` of model
/// `model_id`, inside the caller's transaction. Unfinished jobs of the organization
/// are closed: the new model replaces theirs.
pub(crate) async fn enqueue(txn: &impl ConnectionTrait, actor: &Actor, model_id: Uuid, version: i32) -> Result<()> {
    let now = Utc::now();
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(RescoreJobStatus::Done))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Status.ne(RescoreJobStatus::Done))
        .exec(txn)
        .await?;
    let total = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(actor.org_id)).count(txn).await?;
    let job = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        model_id: Set(model_id),
        model_version: Set(version),
        status: Set(RescoreJobStatus::Queued),
        processed: Set(0),
        total: Set(total as i64),
        last_lead_id: Set(None),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    let changes =
        Changes::new().created("scoringModelId", &model_id).created("version", &version).created("total", &total);
    audit::record(txn, actor, "rescoreJob.queue", "rescoreJob", Some(job.id), changes).await?;
    let payload = serde_json::json!({ "scoringModelId": model_id, "version": version, "total": total });
    outbox::publish(txn, actor, "rescoreJob.queued", "rescoreJob", Some(job.id), payload).await
}

/// The organization's latest rescoring job, if any.
pub async fn latest(db: &impl ConnectionTrait, actor: &Actor) -> Result<Option<Model>> {
    require(can_read(actor, Scope::LeadsRead), "read rescoring jobs")?;
    Ok(Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await?)
}

/// Claim one unfinished job and rescore its next batch of [`BATCH`] leads in one
/// transaction. Returns false when no job was left to claim.
pub async fn run_batch(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<bool> {
    run_batch_of(db, now, BATCH).await
}

/// [`run_batch`] with another batch size (tests use small ones to see a job resume).
#[tracing::instrument(skip(db))]
pub async fn run_batch_of(db: &DatabaseConnection, now: DateTime<Utc>, size: u64) -> Result<bool> {
    let txn = crate::db::begin_write(db).await?;
    let mut select = Entity::find()
        .filter(Column::Status.ne(RescoreJobStatus::Done))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(1);
    if db.get_database_backend() == DbBackend::Postgres {
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(job) = select.one(&txn).await? else {
        txn.commit().await?;
        return Ok(false);
    };
    let system = Actor::system(job.org_id);
    let docs = crate::agreements::get_many::<ScoringModel>(&txn, job.org_id, &[job.model_id]).await?;
    let model = docs.into_iter().next().filter(|d| d.model.in_force_version == Some(job.model_version)).and_then(|d| {
        d.in_force().map(|v| ModelVersion { id: d.model.id, version: v.model.version, body: v.body.clone() })
    });
    let mut leads = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(job.org_id));
    if let Some(after) = job.last_lead_id {
        leads = leads.filter(entity::lead::Column::Id.gt(after));
    }
    let batch = match &model {
        // The model went out of force meanwhile: nothing left to do with it.
        None => Vec::new(),
        Some(_) => leads.order_by_asc(entity::lead::Column::Id).limit(size).all(&txn).await?,
    };
    let count = batch.len() as i64;
    let last = batch.last().map(|l| l.id).or(job.last_lead_id);
    if let (Some(model), false) = (&model, batch.is_empty()) {
        super::apply_model(&txn, &system, model, batch, now).await?;
    }
    let done = (count as u64) < size;
    let processed = job.processed + count;
    let mut update = Entity::update_many()
        .col_expr(Column::Processed, Expr::value(processed))
        .col_expr(Column::LastLeadId, Expr::value(last))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::Status, Expr::value(if done { RescoreJobStatus::Done } else { RescoreJobStatus::Running }))
        .filter(Column::Id.eq(job.id));
    if job.started_at.is_none() {
        update = update.col_expr(Column::StartedAt, Expr::value(now));
    }
    if done {
        // Leads created while the job ran were scored at creation, with this model.
        update = update
            .col_expr(Column::FinishedAt, Expr::value(now))
            .col_expr(Column::Total, Expr::value(processed.max(job.total)));
        let changes = Changes::new().created("processed", &processed);
        audit::record(&txn, &system, "rescoreJob.finish", "rescoreJob", Some(job.id), changes).await?;
        let payload =
            serde_json::json!({ "scoringModelId": job.model_id, "version": job.model_version, "processed": processed });
        outbox::publish(&txn, &system, "rescoreJob.finished", "rescoreJob", Some(job.id), payload).await?;
    }
    update.exec(&txn).await?;
    txn.commit().await?;
    Ok(true)
}

/// Run every queued job to completion (what the worker does, at once); returns the
/// number of batches run. Tests and operators call this directly.
pub async fn run_all(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
    let mut batches = 0;
    while run_batch(db, now).await? {
        batches += 1;
    }
    Ok(batches)
}

/// Look for rescoring work every `every` until the process ends.
pub fn spawn(db: DatabaseConnection, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let mut batches = 0;
            loop {
                match run_batch(&db, Utc::now()).await {
                    Ok(true) => batches += 1,
                    Ok(false) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "rescoring failed; retrying next tick");
                        break;
                    }
                }
            }
            if batches > 0 {
                tracing::info!(batches, "leads rescored");
            }
        }
    });
}
