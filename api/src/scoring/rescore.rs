//! Rescoring an organization's leads: every lead when a new scoring model comes into
//! force ([`enqueue`]), and daily only the leads whose engagement decay can move them
//! across a threshold ([`enqueue_decay`]).
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
use entity::rescore_job::{ActiveModel, Column, Entity, Model};
use entity::rescore_job_lane as lane;
use entity::{RescoreJobKind, RescoreJobStatus};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{ModelVersion, ScoringModel};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::db::claim::claim;
use crate::db::{dialect, rows};
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
    let total = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(actor.org_id)).count(txn).await?;
    let untils = lead_quantiles(txn, actor.org_id, total, lane_count(total)).await?;
    queue(txn, actor, model_id, version, RescoreJobKind::Model, total, untils).await
}

/// Queue a job of `kind` over `total` leads in lanes ending at `untils` (the last lane
/// takes the rest), closing the organization's unfinished jobs, with its audit row and
/// outbox event.
async fn queue(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    kind: RescoreJobKind,
    total: u64,
    untils: Vec<Uuid>,
) -> Result<()> {
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
    let job = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        model_id: Set(model_id),
        model_version: Set(version),
        kind: Set(kind),
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
    queue_lanes(txn, &job, untils).await?;
    let changes = Changes::new()
        .created("scoringModelId", &model_id)
        .created("version", &version)
        .created("kind", &kind)
        .created("total", &total);
    audit::record(txn, actor, "rescoreJob.queue", "rescoreJob", Some(job.id), changes).await?;
    let payload = serde_json::json!({ "scoringModelId": model_id, "version": version, "kind": kind, "total": total });
    outbox::publish(txn, actor, "rescoreJob.queued", "rescoreJob", Some(job.id), payload).await
}

/// Where `lanes` lanes of about equal size end, splitting the organization's `total`
/// leads by id; fewer when leads vanished since they were counted.
async fn lead_quantiles(txn: &impl ConnectionTrait, org_id: Uuid, total: u64, lanes: u64) -> Result<Vec<Uuid>> {
    use entity::lead::Column as Lead;
    let mut untils = Vec::new();
    for k in 1..lanes {
        let until = entity::lead::Entity::find()
            .select_only()
            .column(Lead::Id)
            .filter(Lead::OrgId.eq(org_id))
            .order_by_asc(Lead::Id)
            .offset(total * k / lanes - 1)
            .limit(1)
            .into_tuple::<Uuid>()
            .one(txn)
            .await?;
        match until {
            Some(id) => untils.push(id),
            // Fewer leads than counted a moment ago: the lane before takes the rest.
            None => break,
        }
    }
    Ok(untils)
}

/// How many lanes a job of `total` leads runs in: one per [`BATCH`], at most [`MAX_LANES`].
fn lane_count(total: u64) -> u64 {
    total.div_ceil(BATCH).clamp(1, MAX_LANES)
}

/// The job's lanes: one ending at each of `untils` (after the one before), and a last
/// one taking the rest.
async fn queue_lanes(txn: &impl ConnectionTrait, job: &Model, untils: Vec<Uuid>) -> Result<()> {
    for (k, range) in lane_ranges(untils).into_iter().enumerate() {
        lane::ActiveModel {
            id: Set(Uuid::now_v7()),
            job_id: Set(job.id),
            org_id: Set(job.org_id),
            lane: Set(k as i32),
            until_lead_id: Set(range.until),
            last_lead_id: Set(range.after),
            processed: Set(0),
            done: Set(false),
            created_at: Set(job.created_at),
            updated_at: Set(job.created_at),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// The lanes ending at each of `untils` (each after the one before) and a last one
/// taking the rest, as [`lead_quantiles`] splits the leads.
fn lane_ranges(untils: Vec<Uuid>) -> Vec<Range> {
    let mut after = None;
    let ends = untils.into_iter().map(Some).chain([None]);
    ends.map(|until| {
        let range = Range { after, until };
        after = until;
        range
    })
    .collect()
}

/// How old the latest rescoring may grow before the daily decay rescoring queues the
/// next: engagement points fade with time, and only a rescore shows it (and moves a
/// lead whose band changed).
pub const DECAY_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// Queue the daily decay rescoring of every organization with a model in force whose
/// latest rescoring job is done and older than [`DECAY_EVERY`] (a job is also what
/// agreeing a model queues): a job of the leads whose score decay can move across a
/// threshold ([`may_change_band`]), none other. The organization row is claimed
/// first, so replicas never queue it twice. Returns how many jobs were queued.
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
            let mut leads = Vec::new();
            let mut after = None;
            loop {
                let page = decaying(&txn, org_id, &model, after, None, DECAY_SCAN, now).await?;
                leads.extend(page.leads);
                after = page.last;
                if page.scanned < DECAY_SCAN {
                    break;
                }
            }
            // The job is queued even with no lead to rescore: its date is what makes
            // the next check a day later.
            let untils = lane_ends(&leads);
            let total = leads.len() as u64;
            queue(&txn, &Actor::system(org_id), model.id, model.version, RescoreJobKind::Decay, total, untils).await?;
            queued += 1;
        }
        txn.commit().await?;
    }
    Ok(queued)
}

/// Stored scores [`enqueue_decay`] reads per statement.
const DECAY_SCAN: u64 = 10_000;

/// Where lanes of about equal size end, splitting the sorted `leads`.
fn lane_ends(leads: &[Uuid]) -> Vec<Uuid> {
    let total = leads.len() as u64;
    let lanes = lane_count(total);
    (1..lanes).map(|k| leads[(total * k / lanes - 1) as usize]).collect()
}

/// What the decay check reads of a stored score.
#[derive(Debug, Clone, FromQueryResult)]
pub(crate) struct StoredScore {
    pub lead_id: Uuid,
    pub fit_score: f64,
    pub engagement_score: f64,
    pub score: f64,
    pub scoring_model_id: Option<Uuid>,
    pub scoring_model_version: Option<i32>,
    pub scored_at: Option<DateTime<Utc>>,
}

/// Whether the score of a lead, stored as `stored`, can have crossed a WARM, HOT or MQL
/// threshold of `model` by `now` through decay alone. Fit points stay and engagement
/// points only fall, each rule's by at most the factor its half-life gives the time
/// since the score was stored: the score now is at least fit + engagement ×
/// 0.5^(days / shortest half-life), less a cent per engagement rule for rounding; a band
/// can change only when a threshold lies above that floor and at or below the score.
/// A score stored by another model version, or never, is always rescored.
pub(crate) fn may_change_band(model: &ModelVersion, stored: &StoredScore, now: DateTime<Utc>) -> bool {
    let ours = stored.scoring_model_id == Some(model.id) && stored.scoring_model_version == Some(model.version);
    let Some(scored_at) = stored.scored_at.filter(|_| ours) else { return true };
    let rules = &model.body.engagement_rules;
    let Some(shortest) = rules.iter().map(|r| r.half_life_days).min_by(f64::total_cmp) else { return false };
    if stored.engagement_score <= 0.0 {
        return false;
    }
    let micros = (now - scored_at).num_microseconds().unwrap_or(i64::MAX);
    let days = Ord::max(micros, 0) as f64 / 86_400_000_000.0;
    let floor = stored.fit_score + stored.engagement_score * 0.5_f64.powf(days / shortest) - 0.01 * rules.len() as f64;
    let t = &model.body.thresholds;
    [t.warm, t.hot, t.mql].into_iter().any(|threshold| floor < threshold && threshold <= stored.score)
}

/// One page of [`decaying`]: the leads to rescore, and how far it read.
struct DecayPage {
    leads: Vec<Uuid>,
    /// The last lead read, whether or not it is to be rescored.
    last: Option<Uuid>,
    scanned: u64,
}

/// Read up to `limit` stored scores of the organization in lead order after `after`
/// (up to `until`) that decay or another model version could change, and keep the
/// leads whose band can change by `now` ([`may_change_band`]).
async fn decaying(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    model: &ModelVersion,
    after: Option<Uuid>,
    until: Option<Uuid>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<DecayPage> {
    use entity::lead_score::{Column as S, Entity as Scores};
    // Without engagement points nothing decays: only a score of another version is read too.
    let candidates = Condition::any()
        .add(S::EngagementScore.gt(0.0))
        .add(S::ScoredAt.is_null())
        .add(S::ScoringModelId.is_null())
        .add(S::ScoringModelId.ne(model.id))
        .add(S::ScoringModelVersion.ne(model.version));
    let mut select = Scores::find()
        .select_only()
        .columns([
            S::LeadId,
            S::FitScore,
            S::EngagementScore,
            S::Score,
            S::ScoringModelId,
            S::ScoringModelVersion,
            S::ScoredAt,
        ])
        .filter(S::OrgId.eq(org_id))
        .filter(candidates);
    if let Some(after) = after {
        select = select.filter(S::LeadId.gt(after));
    }
    if let Some(until) = until {
        select = select.filter(S::LeadId.lte(until));
    }
    let rows = select.order_by_asc(S::LeadId).limit(limit).into_model::<StoredScore>().all(db).await?;
    Ok(DecayPage {
        last: rows.last().map(|r| r.lead_id).or(after),
        scanned: rows.len() as u64,
        leads: rows.into_iter().filter(|r| may_change_band(model, r, now)).map(|r| r.lead_id).collect(),
    })
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
    let (after, until) = (claimed.last_lead_id, claimed.until_lead_id);
    let (batch, scanned, last) = match (&model, job.kind) {
        // The model went out of force meanwhile: nothing left to do with it.
        (None, _) => (Vec::new(), 0, after),
        (Some(_), RescoreJobKind::Model) => {
            let mut leads = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(job.org_id));
            if let Some(after) = after {
                leads = leads.filter(entity::lead::Column::Id.gt(after));
            }
            if let Some(until) = until {
                leads = leads.filter(entity::lead::Column::Id.lte(until));
            }
            let batch =
                rows::all::<entity::lead::Model>(&txn, leads.order_by_asc(entity::lead::Column::Id).limit(size))
                    .await?;
            let last = batch.last().map(|l| l.id).or(after);
            let scanned = batch.len() as u64;
            (batch, scanned, last)
        }
        (Some(model), RescoreJobKind::Decay) => {
            // Judged again at `now`: a lead the check at queueing passed over may be due.
            let page = decaying(&txn, job.org_id, model, after, until, size, now).await?;
            let batch = if page.leads.is_empty() {
                Vec::new()
            } else {
                let leads = entity::lead::Entity::find()
                    .filter(entity::lead::Column::OrgId.eq(job.org_id))
                    .filter(entity::lead::Column::Id.is_in(page.leads))
                    .order_by_asc(entity::lead::Column::Id);
                rows::all::<entity::lead::Model>(&txn, leads).await?
            };
            (batch, page.scanned, page.last)
        }
    };
    let count = batch.len() as i64;
    if let (Some(model), false) = (&model, batch.is_empty()) {
        super::apply_model(&txn, &system, model, batch, &[], now).await?;
    }
    let lane_done = scanned < size;
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

    /// Add a later batch's figures; samples stay the first found, in lead order.
    fn absorb(&mut self, later: Simulation) {
        fn add<K: std::hash::Hash + Eq>(to: &mut HashMap<K, u64>, from: HashMap<K, u64>) {
            for (key, n) in from {
                *to.entry(key).or_default() += n;
            }
        }
        self.leads += later.leads;
        self.mqls_before += later.mqls_before;
        add(&mut self.bands_before, later.bands_before);
        add(&mut self.bands_after, later.bands_after);
        add(&mut self.promoted, later.promoted);
        add(&mut self.fall_below, later.fall_below);
        let room = SIMULATION_SAMPLES.saturating_sub(self.promoted_samples.len());
        self.promoted_samples.extend(later.promoted_samples.into_iter().take(room));
        let room = SIMULATION_SAMPLES.saturating_sub(self.fall_below_samples.len());
        self.fall_below_samples.extend(later.fall_below_samples.into_iter().take(room));
    }
}

use std::collections::HashMap;
use std::sync::Arc;

/// What scores every batch of one simulation, the same for each.
struct Simulator {
    model: ModelVersion,
    /// The MQL definition's rule, and whether it lets the scoring model promote.
    rule: crate::leads::lifecycle::StageRule,
    promotes: bool,
    icp: crate::leads::lifecycle::IcpFit,
    now: DateTime<Utc>,
}

/// One batch read for scoring: its leads, what scoring reads about them, and the
/// engagement carried over from their stored scores.
struct Batch {
    leads: Vec<entity::lead::Model>,
    inputs: super::Inputs,
    carried: HashMap<Uuid, super::score::Engagement>,
    /// The MQL bar of each model version that scored them.
    bars: HashMap<(Uuid, i32), f64>,
}

impl Simulator {
    /// Score one batch: CPU only, the reading done.
    fn score(&self, batch: Batch) -> Simulation {
        let Batch { leads, inputs, mut carried, bars } = batch;
        let body = &self.model.body;
        let mut out = Simulation::default();
        for lead in &leads {
            out.leads += 1;
            let stored = inputs.stored.get(&lead.id).filter(|s| s.scored_at.is_some());
            let before_temperature = stored.map_or(entity::Temperature::Cold, |s| s.temperature);
            *out.bands_before.entry(before_temperature).or_default() += 1;
            let engaged = carried.remove(&lead.id).unwrap_or_else(|| inputs.fold(body, lead.id));
            let s = super::score::totals_folded(body, &inputs.facts(lead), &engaged, self.now);
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
            if self.promotes
                && super::qualifies(lead, before, s.total, body.thresholds.mql)
                && self.rule.unmet(lead, s.total, self.icp.fits(lead, &inputs.accounts)).is_empty()
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
        out
    }
}

/// Score every lead of the organization with `body` (version `version` of model
/// `model_id`) without writing. On PostgreSQL the leads are split by id into a lane per
/// core (at least [`SIMULATION_BATCH`] leads each), simulated at once on pooled
/// connections: reading a batch is most of a simulation, and one connection reads one
/// statement at a time. SQLite's leads are read in one lane.
pub async fn simulate_organization(
    db: &(impl ConnectionTrait + Clone + Send + 'static),
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    body: &ScoringModel,
) -> Result<Simulation> {
    require(can_read(actor, Scope::LeadsRead), "simulate a scoring model")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let lanes = if dialect::is_postgres(db) { cores.clamp(1, MAX_LANES) } else { 1 };
    let total = entity::lead::Entity::find().filter(entity::lead::Column::OrgId.eq(actor.org_id)).count(db).await?;
    let lanes = total.div_ceil(SIMULATION_BATCH).clamp(1, lanes);
    let ranges = lane_ranges(lead_quantiles(db, actor.org_id, total, lanes).await?);
    // Dropped with the request (a timeout) or at a lane's error, the set stops every lane.
    let mut lanes = tokio::task::JoinSet::new();
    for (k, range) in ranges.into_iter().enumerate() {
        let (db, actor, body) = (db.clone(), actor.clone(), body.clone());
        let lane = async move { (k, simulate(&db, &actor, model_id, version, &body, Reach::Every, range).await) };
        lanes.spawn(tracing::Instrument::in_current_span(lane));
    }
    let mut done = Vec::with_capacity(lanes.len());
    while let Some(joined) = lanes.join_next().await {
        let (k, lane) = joined.map_err(scoring_failed)?;
        done.push((k, lane?));
    }
    done.sort_by_key(|(k, _)| *k);
    let mut out = Simulation::default();
    for (_, lane) in done {
        out.absorb(lane);
    }
    out.mqls_after = out.mqls_before + out.promotions();
    read_samples_whole(db, actor.org_id, &mut out).await?;
    Ok(out)
}

/// The leads agreeing `body` would make MQLs: [`simulate_organization`]'s promotions,
/// from the leads in the stages a score promotes from alone, and none read when the
/// MQL definition does not let a scoring model promote. Approvals count them inside
/// their request.
pub async fn count_promotions(
    db: &impl ConnectionTrait,
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    body: &ScoringModel,
) -> Result<u64> {
    require(can_read(actor, Scope::LeadsRead), "simulate a scoring model")?;
    Ok(simulate(db, actor, model_id, version, body, Reach::Promotable, Range::default()).await?.promotions())
}

/// The leads of one lane: after `after`, up to `until` included; `None` is open.
#[derive(Debug, Clone, Copy, Default)]
struct Range {
    after: Option<Uuid>,
    until: Option<Uuid>,
}

/// The leads a simulation scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Every lead: every figure of [`Simulation`].
    Every,
    /// Those a score can promote: only the promotions are whole.
    Promotable,
}

/// Score `range`'s leads (those `reach` names) in batches of [`SIMULATION_BATCH`] in id
/// order, each on a blocking thread while the next is read. `mqls_after` is left to
/// the caller, who adds the lanes up.
async fn simulate(
    db: &impl ConnectionTrait,
    actor: &Actor,
    model_id: Uuid,
    version: i32,
    body: &ScoringModel,
    reach: Reach,
    range: Range,
) -> Result<Simulation> {
    let org_id = actor.org_id;
    let rule = crate::leads::lifecycle::StageRules::load(db, org_id).await?.rule(entity::LifecycleStage::Mql);
    let promotes = rule.admits(crate::agreements::definitions::StageMover::ScoringModel);
    if reach == Reach::Promotable && !promotes {
        return Ok(Simulation::default());
    }
    let icp = crate::leads::lifecycle::IcpFit::load(db, org_id, &rule).await?;
    let model = ModelVersion { id: model_id, version, body: body.clone() };
    // What scoring and the MQL rule look at, not every column: decoding whole rows was
    // most of reading a batch. The samples are read whole at the end.
    let read = [entity::lead::Column::Id, entity::lead::Column::OrgId, entity::lead::Column::LifecycleStage]
        .into_iter()
        .chain(super::score::LeadFacts::LEAD_COLUMNS)
        .chain(rule.criteria.required_fields.iter().map(|f| crate::leads::lifecycle::field_column(*f)))
        .fold(rows::LeadColumns::id(), rows::LeadColumns::with);
    let simulator = Arc::new(Simulator { model, rule, promotes, icp, now: Utc::now() });
    let mut out = Simulation::default();
    let mut after = range.after;
    let mut scorers = HashMap::new();
    let mut scoring: Option<tokio::task::JoinHandle<Simulation>> = None;
    loop {
        let mut select = entity::lead::Entity::find()
            .filter(entity::lead::Column::OrgId.eq(org_id))
            .filter(entity::lead::Column::ArchivedAt.is_null());
        if let Some(after) = after {
            select = select.filter(entity::lead::Column::Id.gt(after));
        }
        if let Some(until) = range.until {
            select = select.filter(entity::lead::Column::Id.lte(until));
        }
        if reach == Reach::Promotable {
            select = select.filter(entity::lead::Column::LifecycleStage.is_in(super::PROMOTABLE));
        }
        let select = read.select(select.order_by_asc(entity::lead::Column::Id).limit(SIMULATION_BATCH));
        let leads: Vec<entity::lead::Model> =
            rows::all::<rows::PartialLead>(db, select).await?.into_iter().map(|l| l.0).collect();
        let Some(last) = leads.last() else { break };
        after = Some(last.id);
        let more = leads.len() as u64 == SIMULATION_BATCH;
        let mut inputs = super::Inputs::load_without_events(db, org_id, &leads).await?;
        inputs.load_icps(db, org_id, body.uses_icps()).await?;
        // Reading every lead's events was a third of simulating, and a new version
        // mostly keeps its engagement rules: their stored state is carried over.
        let carried = inputs.carried_engagement(db, org_id, body, &mut scorers).await?;
        let unfolded: Vec<Uuid> = leads.iter().map(|l| l.id).filter(|id| !carried.contains_key(id)).collect();
        inputs.load_events(db, org_id, &unfolded).await?;
        let bars = super::bars_of(&scorers, &simulator.model);
        if let Some(previous) = scoring.take() {
            out.absorb(previous.await.map_err(scoring_failed)?);
        }
        let batch = Batch { leads, inputs, carried, bars };
        let simulator = Arc::clone(&simulator);
        scoring = Some(tokio::task::spawn_blocking(move || simulator.score(batch)));
        if !more {
            break;
        }
    }
    if let Some(last) = scoring {
        out.absorb(last.await.map_err(scoring_failed)?);
    }
    Ok(out)
}

/// Replace the samples' leads, read in part, by their whole rows; a lead archived or
/// erased meanwhile is no longer a sample.
async fn read_samples_whole(db: &impl ConnectionTrait, org_id: Uuid, out: &mut Simulation) -> Result<()> {
    let ids: Vec<Uuid> = out.promoted_samples.iter().chain(&out.fall_below_samples).map(|(l, ..)| l.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    use entity::lead::Column;
    let select = entity::lead::Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::ArchivedAt.is_null())
        .filter(Column::Id.is_in(ids));
    let mut whole: HashMap<Uuid, entity::lead::Model> =
        rows::all::<entity::lead::Model>(db, select).await?.into_iter().map(|l| (l.id, l)).collect();
    for samples in [&mut out.promoted_samples, &mut out.fall_below_samples] {
        samples.retain_mut(|(lead, ..)| match whole.remove(&lead.id) {
            Some(read) => {
                *lead = read;
                true
            }
            None => false,
        });
    }
    Ok(())
}

fn scoring_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError::internal(format!("a simulation lane or batch failed: {e}"))
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use entity::EngagementKind;

    use super::*;
    use crate::scoring::{EngagementRule, Thresholds};

    /// WARM from 10, HOT from 50, MQL at 60; demo requests halve daily, visits monthly.
    fn model() -> ModelVersion {
        let rule = |name: &str, kind, half_life_days| EngagementRule {
            name: name.into(),
            kind,
            points_per_event: 40.0,
            cap: 40.0,
            half_life_days,
        };
        let body = ScoringModel {
            name: "Default".into(),
            description: None,
            fit_rules: Vec::new(),
            engagement_rules: vec![
                rule("Demo requests", EngagementKind::DemoRequest, 1.0),
                rule("Visits", EngagementKind::WebVisit, 30.0),
            ],
            thresholds: Thresholds { warm: 10.0, hot: 50.0, mql: 60.0 },
        };
        ModelVersion { id: Uuid::from_u128(1), version: 2, body }
    }

    fn stored(fit: f64, engagement: f64, scored_at: DateTime<Utc>) -> StoredScore {
        StoredScore {
            lead_id: Uuid::from_u128(7),
            fit_score: fit,
            engagement_score: engagement,
            score: fit + engagement,
            scoring_model_id: Some(Uuid::from_u128(1)),
            scoring_model_version: Some(2),
            scored_at: Some(scored_at),
        }
    }

    #[test]
    fn only_a_score_whose_floor_lies_below_a_threshold_it_reached_may_change_band() {
        let m = model();
        let now = Utc::now();
        let yesterday = now - Duration::hours(25);
        // 30 fit + 40 engagement = 70, HOT and above MQL; 25 hours at the one-day
        // half-life leave at least 40 × 0.5^(25/24) = 19.43, so the floor is
        // 30 + 19.43 − 0.02 = 49.41: below HOT (50) and MQL (60).
        assert!(may_change_band(&m, &stored(30.0, 40.0, yesterday), now));
        // An hour after scoring the floor is 30 + 38.86 − 0.02 = 68.84: above MQL.
        assert!(!may_change_band(&m, &stored(30.0, 40.0, now - Duration::hours(1)), now));
        // 40, WARM: its floor 19.41 lies above WARM (10), and no threshold between.
        assert!(!may_change_band(&m, &stored(0.0, 40.0, yesterday), now));
        // Nothing decays without engagement points, whatever the age.
        assert!(!may_change_band(&m, &stored(30.0, 0.0, now - Duration::days(400)), now));
        assert!(!may_change_band(&m, &stored(0.0, 0.0, now - Duration::days(400)), now));
        // Exactly at WARM, a rounding cent of decay takes it below.
        assert!(may_change_band(&m, &stored(0.0, 10.0, now), now));
    }

    #[test]
    fn a_score_of_another_model_version_or_none_is_always_rescored() {
        let m = model();
        let now = Utc::now();
        let mut other = stored(0.0, 0.0, now);
        other.scoring_model_version = Some(1);
        assert!(may_change_band(&m, &other, now));
        let never = StoredScore { scoring_model_id: None, scoring_model_version: None, scored_at: None, ..other };
        assert!(may_change_band(&m, &never, now));
    }

    #[test]
    fn lanes_split_the_chosen_leads_evenly() {
        let leads: Vec<Uuid> = (1..=2500).map(Uuid::from_u128).collect();
        assert_eq!(lane_ends(&leads), [Uuid::from_u128(833), Uuid::from_u128(1666)]);
        assert!(lane_ends(&leads[..999]).is_empty());
        assert!(lane_ends(&[]).is_empty());
    }
}
