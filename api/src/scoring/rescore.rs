//! Rescoring every lead of an organization when a new scoring model comes into force.
//!
//! Agreeing a model queues a job (in the approving transaction), split into up to
//! [`MAX_LANES`] lanes: id ranges of the organization's leads, each with its own
//! keyset cursor. Workers claim lanes ([`claim`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL), so
//! two workers (or replicas) rescore different lanes of one job at once and never the
//! same lead; on SQLite one process owns the database. A lane advances in batches of
//! [`BATCH`] leads in id order, each batch one transaction that also moves the lane's
//! cursor and the job's progress: after a restart the job resumes after the last
//! committed batch of every lane.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::RescoreJobStatus;
use entity::rescore_job::{ActiveModel, Column, Entity, Model};
use entity::rescore_job_lane as lane;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{ModelVersion, ScoringModel};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::db::claim::claim;
use crate::db::dialect;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;

/// Leads one transaction rescores.
pub const BATCH: u64 = 1000;

/// Most lanes one job is split into; each lane holds at least [`BATCH`] leads.
pub const MAX_LANES: u64 = 4;

/// Queue a job rescoring every lead of the organization with `version` of model
/// `model_id`, inside the caller's transaction. Unfinished jobs of the organization
/// are closed: the new model replaces theirs.
pub(crate) async fn enqueue(txn: &impl ConnectionTrait, actor: &Actor, model_id: Uuid, version: i32) -> Result<()> {
    let now = Utc::now();
    // Lanes before jobs, the order a worker locks them in (it claims a lane, then
    // counts its batch on the job): the other order deadlocked with a running batch.
    lane::Entity::update_many()
        .col_expr(lane::Column::Done, Expr::value(true))
        .col_expr(lane::Column::UpdatedAt, Expr::value(now))
        .filter(lane::Column::OrgId.eq(actor.org_id))
        .filter(lane::Column::Done.eq(false))
        .exec(txn)
        .await?;
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
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    queue_lanes(txn, &job, total).await?;
    let changes =
        Changes::new().created("scoringModelId", &model_id).created("version", &version).created("total", &total);
    audit::record(txn, actor, "rescoreJob.queue", "rescoreJob", Some(job.id), changes).await?;
    let payload = serde_json::json!({ "scoringModelId": model_id, "version": version, "total": total });
    outbox::publish(txn, actor, "rescoreJob.queued", "rescoreJob", Some(job.id), payload).await
}

/// Split the organization's `total` leads into lanes of about equal size by id.
async fn queue_lanes(txn: &impl ConnectionTrait, job: &Model, total: u64) -> Result<()> {
    use entity::lead::Column as Lead;
    let lanes = total.div_ceil(BATCH).clamp(1, MAX_LANES);
    let mut after = None;
    for k in 0..lanes {
        let until = if k + 1 == lanes {
            None
        } else {
            entity::lead::Entity::find()
                .select_only()
                .column(Lead::Id)
                .filter(Lead::OrgId.eq(job.org_id))
                .order_by_asc(Lead::Id)
                .offset(total * (k + 1) / lanes - 1)
                .limit(1)
                .into_tuple::<Uuid>()
                .one(txn)
                .await?
        };
        lane::ActiveModel {
            id: Set(Uuid::now_v7()),
            job_id: Set(job.id),
            org_id: Set(job.org_id),
            lane: Set(k as i32),
            until_lead_id: Set(until),
            last_lead_id: Set(after),
            processed: Set(0),
            done: Set(false),
            created_at: Set(job.created_at),
            updated_at: Set(job.created_at),
        }
        .insert(txn)
        .await?;
        match until {
            Some(id) => after = Some(id),
            // Fewer leads than counted a moment ago: this lane takes the rest.
            None => break,
        }
    }
    Ok(())
}

/// How old the latest rescoring may grow before the daily decay rescoring queues the
/// next: engagement points fade with time, and only a rescore shows it (and moves a
/// lead whose band changed).
pub const DECAY_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// Queue the daily decay rescoring of every organization with a model in force whose
/// latest rescoring job is done and older than [`DECAY_EVERY`] (a job is also what
/// agreeing a model queues). The organization row is claimed first, so replicas
/// never queue it twice. Returns how many jobs were queued.
pub async fn enqueue_decay(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
    let ids: Vec<Uuid> = entity::organization::Entity::find()
        .select_only()
        .column(entity::organization::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut queued = 0;
    for org_id in ids {
        let txn = crate::db::begin_write(db).await?;
        let select = entity::organization::Entity::find_by_id(org_id);
        if claim(&txn, select).one(&txn).await?.is_none() {
            txn.commit().await?;
            continue;
        }
        let latest = Entity::find()
            .filter(Column::OrgId.eq(org_id))
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .one(&txn)
            .await?;
        let due = latest.is_none_or(|job| job.status == RescoreJobStatus::Done && job.created_at <= now - DECAY_EVERY);
        if due && let Some(model) = super::in_force(&txn, org_id).await? {
            enqueue(&txn, &Actor::system(org_id), model.id, model.version).await?;
            queued += 1;
        }
        txn.commit().await?;
    }
    Ok(queued)
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

/// Claim one open lane of an unfinished job and rescore its next batch of [`BATCH`]
/// leads in one transaction. Returns false when no lane was left to claim.
pub async fn run_batch(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<bool> {
    run_batch_of(db, now, BATCH).await
}

/// [`run_batch`] with another batch size (tests use small ones to see a job resume).
#[tracing::instrument(skip(db))]
pub async fn run_batch_of(db: &DatabaseConnection, now: DateTime<Utc>, size: u64) -> Result<bool> {
    let postgres = dialect::is_postgres(db);
    let txn = crate::db::begin_write(db).await?;
    if postgres {
        // A batch lost in a crash is redone from the lane's cursor, which commits with
        // it: no need to wait for the disk on every batch.
        txn.execute_unprepared("SET LOCAL synchronous_commit = off").await?;
    }
    let select = lane::Entity::find()
        .filter(lane::Column::Done.eq(false))
        .order_by_asc(lane::Column::CreatedAt)
        .order_by_asc(lane::Column::JobId)
        .order_by_asc(lane::Column::Lane)
        .limit(1);
    let Some(claimed) = claim(&txn, select).one(&txn).await? else {
        txn.commit().await?;
        return Ok(false);
    };
    let job = Entity::find_by_id(claimed.job_id)
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::internal(format!("rescore lane {} has no job", claimed.id)))?;
    let system = Actor::system(job.org_id);
    let docs = crate::agreements::get_many::<ScoringModel>(&txn, job.org_id, &[job.model_id]).await?;
    let model = docs.into_iter().next().filter(|d| d.model.in_force_version == Some(job.model_version)).and_then(|d| {
        d.in_force().map(|v| ModelVersion { id: d.model.id, version: v.model.version, body: v.body.clone() })
    });
    let mut leads = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(job.org_id));
    if let Some(after) = claimed.last_lead_id {
        leads = leads.filter(entity::lead::Column::Id.gt(after));
    }
    if let Some(until) = claimed.until_lead_id {
        leads = leads.filter(entity::lead::Column::Id.lte(until));
    }
    let batch = match &model {
        // The model went out of force meanwhile: nothing left to do with it.
        None => Vec::new(),
        Some(_) => leads.order_by_asc(entity::lead::Column::Id).limit(size).all(&txn).await?,
    };
    let count = batch.len() as i64;
    let last = batch.last().map(|l| l.id).or(claimed.last_lead_id);
    if let (Some(model), false) = (&model, batch.is_empty()) {
        super::apply_model(&txn, &system, model, batch, &[], now).await?;
    }
    let lane_done = (count as u64) < size;
    lane::Entity::update_many()
        .col_expr(lane::Column::LastLeadId, Expr::value(last))
        .col_expr(lane::Column::Processed, Expr::value(claimed.processed + count))
        .col_expr(lane::Column::Done, Expr::value(lane_done))
        .col_expr(lane::Column::UpdatedAt, Expr::value(now))
        .filter(lane::Column::Id.eq(claimed.id))
        .exec(&txn)
        .await?;
    // The job row is locked from here to the commit, so lanes finishing at once take
    // turns below and exactly one of them sees the others done.
    Entity::update_many()
        .col_expr(Column::Processed, Expr::col(Column::Processed).add(count))
        .col_expr(Column::StartedAt, Func::coalesce([Expr::col(Column::StartedAt), Expr::value(now)]).into())
        .col_expr(Column::Status, Expr::value(RescoreJobStatus::Running))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(job.id))
        .exec(&txn)
        .await?;
    let open = lane::Entity::find()
        .filter(lane::Column::JobId.eq(job.id))
        .filter(lane::Column::Done.eq(false))
        .filter(lane::Column::Id.ne(claimed.id))
        .count(&txn)
        .await?;
    if lane_done && open == 0 {
        finish(&txn, &system, job.id, now).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// Mark a job done once its last lane is, inside the caller's transaction.
async fn finish(txn: &impl ConnectionTrait, system: &Actor, job_id: Uuid, now: DateTime<Utc>) -> Result<()> {
    let job = Entity::find_by_id(job_id)
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::internal(format!("rescore job {job_id} vanished")))?;
    if job.status == RescoreJobStatus::Done {
        // A newer model closed it meanwhile.
        return Ok(());
    }
    // Leads created while the job ran were scored at creation, with this model.
    Entity::update_many()
        .col_expr(Column::Status, Expr::value(RescoreJobStatus::Done))
        .col_expr(Column::FinishedAt, Expr::value(now))
        .col_expr(Column::Total, Expr::value(std::cmp::max(job.processed, job.total)))
        .filter(Column::Id.eq(job.id))
        .exec(txn)
        .await?;
    let changes = Changes::new().created("processed", &job.processed);
    audit::record(txn, system, "rescoreJob.finish", "rescoreJob", Some(job.id), changes).await?;
    let payload =
        serde_json::json!({ "scoringModelId": job.model_id, "version": job.model_version, "processed": job.processed });
    outbox::publish(txn, system, "rescoreJob.finished", "rescoreJob", Some(job.id), payload).await
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

/// Look for rescoring work every `every` until the process ends: on PostgreSQL with
/// [`WORKERS`] workers, which rescore different lanes at once; SQLite has one writer.
pub fn spawn(db: DatabaseConnection, every: Duration) {
    let workers = if dialect::is_postgres(&db) { WORKERS } else { 1 };
    for _ in 0..workers {
        spawn_worker(db.clone(), every);
    }
}

/// Rescoring workers of a PostgreSQL server process: the database does most of the
/// work (every lead row and its indexes are rewritten), and two workers keep two
/// database cores busy where one left the second idle.
pub const WORKERS: usize = 2;

fn spawn_worker(db: DatabaseConnection, every: Duration) {
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

/// Leads one simulation step reads and scores.
const SIMULATION_BATCH: u64 = 2000;

/// Leads named as samples of each kind of move.
pub const SIMULATION_SAMPLES: usize = 10;

/// What agreeing a model version would do to the whole organization, before anyone
/// signs: every lead scored by it now, against its stored score.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    pub leads: u64,
    /// Leads per temperature, stored now and under the version.
    pub bands_before: HashMap<entity::Temperature, u64>,
    pub bands_after: HashMap<entity::Temperature, u64>,
    /// Leads in MQL now, and after the promotions agreeing would make.
    pub mqls_before: u64,
    pub mqls_after: u64,
    /// Leads that would become MQL (the MQL definition's rights and criteria applied),
    /// by (source, persona id).
    pub promoted: HashMap<(Option<String>, Option<Uuid>), u64>,
    /// Leads now at or above the MQL threshold of the model that scored them that
    /// would fall below the version's (they keep their stage), by (source, persona id).
    pub fall_below: HashMap<(Option<String>, Option<Uuid>), u64>,
    /// Some promoted leads: (lead, score before, score after).
    pub promoted_samples: Vec<(entity::lead::Model, f64, f64)>,
    /// Some leads falling below the threshold.
    pub fall_below_samples: Vec<(entity::lead::Model, f64, f64)>,
}

impl Simulation {
    pub fn promotions(&self) -> u64 {
        self.promoted.values().sum()
    }
}

use std::collections::HashMap;

/// Score every lead of the organization with `body` (version `version` of model
/// `model_id`), reading in batches of [`SIMULATION_BATCH`] by id without writing.
pub async fn simulate_organization(
    db: &impl ConnectionTrait,
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    body: &ScoringModel,
) -> Result<Simulation> {
    require(can_read(actor, Scope::LeadsRead), "simulate a scoring model")?;
    let now = Utc::now();
    let org_id = actor.org_id;
    let model = ModelVersion { id: model_id, version, body: body.clone() };
    let rule = crate::leads::lifecycle::StageRules::load(db, org_id).await?.rule(entity::LifecycleStage::Mql);
    let promotes = rule.admits(crate::agreements::definitions::StageMover::ScoringModel);
    let icp = crate::leads::lifecycle::IcpFit::load(db, org_id, &rule).await?;
    let mut out = Simulation::default();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = entity::lead::Entity::find()
            .filter(entity::lead::Column::OrgId.eq(org_id))
            .filter(entity::lead::Column::ArchivedAt.is_null());
        if let Some(after) = after {
            select = select.filter(entity::lead::Column::Id.gt(after));
        }
        let batch = select.order_by_asc(entity::lead::Column::Id).limit(SIMULATION_BATCH).all(db).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let mut inputs = super::Inputs::load(db, org_id, &batch).await?;
        inputs.load_icps(db, org_id, body.uses_icps()).await?;
        let bars = super::previous_bars(db, org_id, &model, &inputs).await?;
        for lead in &batch {
            out.leads += 1;
            let stored = inputs.stored.get(&lead.id).filter(|s| s.scored_at.is_some());
            let before_temperature = stored.map_or(entity::Temperature::Cold, |s| s.temperature);
            *out.bands_before.entry(before_temperature).or_default() += 1;
            let s = inputs.score(body, lead, now);
            *out.bands_after.entry(s.temperature).or_default() += 1;
            if lead.lifecycle_stage == entity::LifecycleStage::Mql {
                out.mqls_before += 1;
            }
            let before = stored.map(|s| {
                let bar = s.scoring_model_id.zip(s.scoring_model_version).and_then(|k| bars.get(&k).copied());
                (s.score, bar.unwrap_or(body.thresholds.mql))
            });
            let key = (lead.source.clone(), lead.persona_id);
            let before_score = before.map_or(0.0, |(score, _)| score);
            if promotes
                && super::qualifies(lead, before, s.total, body.thresholds.mql)
                && rule.unmet(lead, s.total, icp.fits(lead, &inputs.accounts)).is_empty()
            {
                *out.promoted.entry(key).or_default() += 1;
                if out.promoted_samples.len() < SIMULATION_SAMPLES {
                    out.promoted_samples.push((lead.clone(), before_score, s.total));
                }
                continue;
            }
            if let Some((score, bar)) = before
                && score >= bar
                && s.total < body.thresholds.mql
            {
                *out.fall_below.entry(key).or_default() += 1;
                if out.fall_below_samples.len() < SIMULATION_SAMPLES {
                    out.fall_below_samples.push((lead.clone(), score, s.total));
                }
            }
        }
        if (batch.len() as u64) < SIMULATION_BATCH {
            break;
        }
    }
    out.mqls_after = out.mqls_before + out.promotions();
    Ok(out)
}
