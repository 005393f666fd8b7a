//! GraphQL types and resolvers of scoring: scoring models (agreed documents), the
//! explained score, simulation and the rescoring job.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::score::{self, Category};
use super::{EngagementRule, FitRule, ScoringModel as ScoringModelBody, Thresholds};
use crate::agreements::graphql::agreed_document_types;
use crate::agreements::{self, DocumentCriteria};
use crate::error::Result;
use crate::graphql::patch::{apply, clearable, keep_or_set};
use crate::graphql::{actor, db, parse_id};
use crate::leads::graphql::{EngagementKind, Temperature};

agreed_document_types!(
    ScoringModel,
    ScoringModelVersion,
    ScoringModelBody,
    "A lead scoring model agreed by sales and marketing, with every version. One is in force per organization.",
    "One version of a scoring model, with its approvals.",
    {
        /// What a version of this model would give a lead now, explained rule by rule.
        /// By default the pending proposal (so both teams see its effect before approving),
        /// else the version in force, else the newest.
        async fn simulate(
            &self,
            ctx: &async_graphql::Context<'_>,
            #[graphql(desc = "The lead to score.")] lead_id: async_graphql::ID,
            #[graphql(desc = "The version to simulate, from 1 to `version`; defaults as described above.")]
            version: Option<i32>,
        ) -> Result<SimulatedScore> {
            let lead_id = parse_id("leadId", &lead_id)?;
            let chosen = simulated_version(&self.0, version)?;
            let score = super::simulate(db(ctx), actor(ctx)?, &chosen.body, lead_id).await?;
            Ok(SimulatedScore::new(chosen.model.version, score))
        }
    }
);

/// How many leads one temperature holds.
#[derive(SimpleObject, Debug, Clone)]
pub struct TemperatureCount {
    /// The temperature.
    pub temperature: Temperature,
    /// Leads at it.
    pub leads: u64,
}

/// Leads of one source and persona that a simulated model moves.
#[derive(SimpleObject, Debug, Clone)]
pub struct SimulatedMovers {
    /// Their `source` (null: none recorded).
    pub source: Option<String>,
    /// Their persona's id (null: no persona).
    pub persona_id: Option<ID>,
    /// How many.
    pub leads: u64,
}

/// One lead a simulated model moves, with its score before and after.
#[derive(SimpleObject, Clone)]
pub struct SimulatedMove {
    /// The lead.
    pub lead: crate::leads::graphql::Lead,
    /// Its stored score now.
    pub score_before: f64,
    /// Its score under the simulated version.
    pub score_after: f64,
}

/// What agreeing a scoring model version would do to the whole organization.
#[derive(SimpleObject, Clone)]
pub struct OrganizationSimulation {
    /// The version simulated.
    pub version: i32,
    /// Leads scored (archived leads aside).
    pub leads: u64,
    /// Leads per temperature by their stored scores, COLD, WARM, HOT.
    pub temperatures_before: Vec<TemperatureCount>,
    /// Leads per temperature under the version.
    pub temperatures_after: Vec<TemperatureCount>,
    /// Leads in MQL now.
    pub mqls_before: u64,
    /// Leads in MQL once the version's promotions are made (MQLs are never demoted).
    pub mqls_after: u64,
    /// Leads agreeing would make MQLs. Above the organization's
    /// `promotionsNeedingConfirmation`, the rescoring hands many leads to sales at once:
    /// mind `autoHandOverDailyCap`.
    pub promotions: u64,
    /// Those promotions by source and persona, most first.
    pub promoted_by: Vec<SimulatedMovers>,
    /// Leads now at or above the MQL threshold that would fall below the version's,
    /// by source and persona, most first (they keep their stage).
    pub falling_below_by: Vec<SimulatedMovers>,
    /// Up to ten promoted leads.
    pub promoted_samples: Vec<SimulatedMove>,
    /// Up to ten leads falling below the threshold.
    pub falling_below_samples: Vec<SimulatedMove>,
}

impl OrganizationSimulation {
    fn new(version: i32, sim: super::rescore::Simulation) -> Self {
        use entity::Temperature as T;
        let bands = |counts: &std::collections::HashMap<T, u64>| {
            [T::Cold, T::Warm, T::Hot]
                .into_iter()
                .map(|t| TemperatureCount { temperature: t.into(), leads: counts.get(&t).copied().unwrap_or(0) })
                .collect()
        };
        let groups = |counts: &std::collections::HashMap<(Option<String>, Option<uuid::Uuid>), u64>| {
            let mut out: Vec<SimulatedMovers> = counts
                .iter()
                .map(|((source, persona), n)| SimulatedMovers {
                    source: source.clone(),
                    persona_id: persona.map(|p| ID(p.to_string())),
                    leads: *n,
                })
                .collect();
            out.sort_by(|a, b| b.leads.cmp(&a.leads).then_with(|| a.source.cmp(&b.source)));
            out
        };
        let samples = |moves: Vec<(entity::lead::Model, f64, f64)>| {
            moves
                .into_iter()
                .map(|(lead, before, after)| SimulatedMove {
                    lead: lead.into(),
                    score_before: before,
                    score_after: after,
                })
                .collect()
        };
        Self {
            version,
            leads: sim.leads,
            temperatures_before: bands(&sim.bands_before),
            temperatures_after: bands(&sim.bands_after),
            mqls_before: sim.mqls_before,
            mqls_after: sim.mqls_after,
            promotions: sim.promotions(),
            promoted_by: groups(&sim.promoted),
            falling_below_by: groups(&sim.fall_below),
            promoted_samples: samples(sim.promoted_samples),
            falling_below_samples: samples(sim.fall_below_samples),
        }
    }
}

/// The version a simulation runs: `version` when given, else the pending proposal (so
/// both teams see its effect before approving), else the version in force, else the newest.
fn simulated_version(
    doc: &agreements::Document<ScoringModelBody>,
    version: Option<i32>,
) -> Result<&agreements::Version<ScoringModelBody>> {
    match version {
        Some(n) => doc.version_input("version", n),
        None => doc
            .pending()
            .or(doc.in_force())
            .or(doc.latest())
            .ok_or_else(|| crate::error::ApiError::bad_input("version", "no such version")),
    }
}

/// Which half of a score a contribution belongs to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreCategory {
    /// Who the lead is: a fit rule on the lead, its account or persona.
    Fit,
    /// What the lead did: an engagement rule over its events.
    Engagement,
}

/// One rule's share of a lead's score.
#[derive(SimpleObject, Debug, Clone)]
pub struct ScoreContribution {
    /// Name of the rule that gave the points.
    pub rule: String,
    /// FIT or ENGAGEMENT.
    pub category: ScoreCategory,
    /// Points given (rounded to 2 decimals; contributions add up to the score exactly).
    pub points: f64,
    /// Why, in a sentence, such as "account.industry is Fintech" or
    /// "3 web visits in 30 days, 6 points decayed to 4.2".
    pub explanation: String,
}

impl From<score::Contribution> for ScoreContribution {
    fn from(c: score::Contribution) -> Self {
        let category = match c.category {
            Category::Fit => ScoreCategory::Fit,
            Category::Engagement => ScoreCategory::Engagement,
        };
        Self { points: c.points(), rule: c.rule, category, explanation: c.explanation }
    }
}

/// What a scoring model version would give a lead.
#[derive(SimpleObject, Debug, Clone)]
pub struct SimulatedScore {
    /// The model version simulated.
    pub version: i32,
    /// Points for fit.
    pub fit_score: f64,
    /// Points for engagement.
    pub engagement_score: f64,
    /// The score: fit plus engagement.
    pub score: f64,
    /// The temperature the score reaches under the version's thresholds.
    pub temperature: Temperature,
    /// Every contribution; they add up to `score`.
    pub contributions: Vec<ScoreContribution>,
}

impl SimulatedScore {
    fn new(version: i32, s: score::Score) -> Self {
        Self {
            version,
            fit_score: s.fit,
            engagement_score: s.engagement,
            score: s.total,
            temperature: s.temperature.into(),
            contributions: s.contributions.into_iter().map(Into::into).collect(),
        }
    }
}

/// Where a rescoring job stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::RescoreJobStatus")]
pub enum RescoreJobStatus {
    /// Waiting for a worker.
    Queued,
    /// Leads are being rescored.
    Running,
    /// Every lead was rescored (or a newer model replaced the job's).
    Done,
}

/// What a rescoring job rescores.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::RescoreJobKind")]
pub enum RescoreJobKind {
    /// Every lead: a scoring model came into force, or the ideal customer profiles its
    /// ICP rules read changed.
    Model,
    /// The daily decay rescoring: only the leads whose engagement points can have
    /// decayed across the WARM, HOT or MQL threshold since they were scored.
    Decay,
}

/// Rescoring the organization's leads: every lead after a new scoring model came into
/// force, or, daily, those whose band decay can change.
#[derive(SimpleObject, Debug, Clone)]
pub struct RescoreJob {
    /// Stable id of the job.
    #[graphql(owned)]
    pub id: ID,
    /// Every lead (MODEL) or the daily decay's (DECAY).
    pub kind: RescoreJobKind,
    /// Where the job stands.
    pub status: RescoreJobStatus,
    /// Leads rescored so far.
    pub processed: i64,
    /// Leads to rescore: every lead counted when the job was queued, or for DECAY those
    /// whose band could change then (the job checks again as it goes, and when done
    /// shows the leads it rescored if there were more).
    pub total: i64,
    /// Id of the scoring model the job scores with.
    pub scoring_model_id: ID,
    /// The agreed version of that model.
    pub scoring_model_version: i32,
    /// When a worker started the job (UTC); null while queued.
    pub started_at: Option<DateTime<Utc>>,
    /// When the job finished (UTC); null until done.
    pub finished_at: Option<DateTime<Utc>>,
    /// When the job was queued (UTC).
    pub created_at: DateTime<Utc>,
}

impl From<entity::rescore_job::Model> for RescoreJob {
    fn from(m: entity::rescore_job::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            status: m.status.into(),
            processed: m.processed,
            total: m.total,
            scoring_model_id: m.model_id.into(),
            scoring_model_version: m.model_version,
            started_at: m.started_at,
            finished_at: m.finished_at,
            created_at: m.created_at,
        }
    }
}

/// An engagement rule: points per event of one kind, halving every `halfLifeDays`, capped.
#[Object]
impl EngagementRule {
    /// Name of the rule, shown in every score it contributes to; unique within the model.
    async fn name(&self) -> &str {
        &self.name
    }

    /// The kind of engagement event counted.
    async fn kind(&self) -> EngagementKind {
        self.kind.into()
    }

    /// Points for one fresh event: 0.01 to 1000.
    async fn points_per_event(&self) -> f64 {
        self.points_per_event
    }

    /// Most points the rule gives in total: 0.01 to 100,000.
    async fn cap(&self) -> f64 {
        self.cap
    }

    /// Days after which an event's points have halved: 0.1 to 3650.
    async fn half_life_days(&self) -> f64 {
        self.half_life_days
    }
}

/// An engagement rule: points per event of one kind, halving every `halfLifeDays`, capped.
#[derive(InputObject)]
pub struct EngagementRuleInput {
    /// Name of the rule, shown in every score it contributes to; unique within the model.
    pub name: String,
    /// The kind of engagement event counted.
    pub kind: EngagementKind,
    /// Points for one fresh event: 0.01 to 1000.
    pub points_per_event: f64,
    /// Most points the rule gives in total: 0.01 to 100,000.
    pub cap: f64,
    /// Days after which an event's points have halved: 0.1 to 3650.
    pub half_life_days: f64,
}

impl From<EngagementRuleInput> for EngagementRule {
    fn from(r: EngagementRuleInput) -> Self {
        let EngagementRuleInput { name, kind, points_per_event, cap, half_life_days } = r;
        Self { name, kind: kind.into(), points_per_event, cap, half_life_days }
    }
}

fn engagement_rules(rules: Vec<EngagementRuleInput>) -> Vec<EngagementRule> {
    rules.into_iter().map(Into::into).collect()
}

/// A new scoring model.
#[derive(InputObject)]
pub struct CreateScoringModelInput {
    /// Name; unique within the organization.
    pub name: String,
    /// Optional notes.
    pub description: Option<String>,
    /// Rules on who the lead is.
    #[graphql(default)]
    pub fit_rules: Vec<FitRule>,
    /// Rules on what the lead did.
    #[graphql(default)]
    pub engagement_rules: Vec<EngagementRuleInput>,
    /// WARM, HOT and MQL thresholds.
    pub thresholds: Thresholds,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a scoring model: a new version, whose fields left out are those of the
/// newest version (the one you edited from). null clears the notes and is
/// BAD_USER_INPUT for the other fields (`[]` empties a list of rules).
#[derive(InputObject)]
pub struct UpdateScoringModelInput {
    /// The model to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New notes. Left out: unchanged. null: cleared.
    pub description: MaybeUndefined<String>,
    /// New fit rules (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub fit_rules: MaybeUndefined<Vec<FitRule>>,
    /// New engagement rules (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub engagement_rules: MaybeUndefined<Vec<EngagementRuleInput>>,
    /// New thresholds (all three). Left out: unchanged. null is refused.
    pub thresholds: MaybeUndefined<Thresholds>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a scoring model.
#[derive(SimpleObject)]
pub struct ScoringModelPayload {
    /// The scoring model after the change.
    pub scoring_model: ScoringModel,
}

#[derive(Default)]
pub struct ScoringQuery;

#[Object]
impl ScoringQuery {
    /// Every scoring model, by name; the one in force has status AGREED.
    async fn scoring_models(&self, ctx: &Context<'_>) -> Result<Vec<ScoringModel>> {
        let docs = agreements::list::<ScoringModelBody>(db(ctx), actor(ctx)?, &DocumentCriteria::default()).await?;
        Ok(docs.into_iter().map(ScoringModel).collect())
    }

    /// What agreeing a version of a scoring model would do to the whole organization,
    /// before anyone signs: every lead (archived ones aside) scored by it now against
    /// its stored score; how many leads each temperature holds before and after, how
    /// many would become MQLs (under the MQL definition's rights and criteria, as the
    /// rescoring after agreement promotes them), who they are by source and persona,
    /// and who would fall below the threshold. Nothing is written. Reads every lead:
    /// seconds for a hundred thousand. API keys need `LEADS_READ`; another
    /// organization's model is NOT_FOUND.
    async fn simulate_scoring_model(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The scoring model.")] id: ID,
        #[graphql(
            desc = "The version to simulate, from 1 to its newest; by default the pending proposal, else the version in force, else the newest."
        )]
        version: Option<i32>,
    ) -> Result<OrganizationSimulation> {
        let id = parse_id("id", &id)?;
        let actor = actor(ctx)?;
        let doc = agreements::get::<ScoringModelBody>(db(ctx), actor, id).await?;
        let chosen = simulated_version(&doc, version)?;
        let v = chosen.model.version;
        let sim = super::rescore::simulate_organization(db(ctx), actor, id, v, &chosen.body).await?;
        Ok(OrganizationSimulation::new(v, sim))
    }

    /// The organization's latest rescoring job; null before any model was agreed.
    async fn rescore_job(&self, ctx: &Context<'_>) -> Result<Option<RescoreJob>> {
        Ok(super::rescore::latest(db(ctx), actor(ctx)?).await?.map(Into::into))
    }
}

#[derive(Default)]
pub struct ScoringMutation;

#[Object]
impl ScoringMutation {
    /// Write a scoring model. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    /// Once agreed by sales and marketing it replaces the model in force and every lead is rescored.
    async fn create_scoring_model(
        &self,
        ctx: &Context<'_>,
        input: CreateScoringModelInput,
    ) -> Result<ScoringModelPayload> {
        let body = ScoringModelBody {
            name: input.name,
            description: input.description,
            fit_rules: input.fit_rules,
            engagement_rules: engagement_rules(input.engagement_rules),
            thresholds: input.thresholds,
        };
        let doc = agreements::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(ScoringModelPayload { scoring_model: ScoringModel(doc) })
    }

    /// Edit a scoring model: a new version (proposed when the model is agreed; the agreed one stays in force).
    async fn update_scoring_model(
        &self,
        ctx: &Context<'_>,
        input: UpdateScoringModelInput,
    ) -> Result<ScoringModelPayload> {
        let id = parse_id("id", &input.id)?;
        let name = keep_or_set("name", input.name)?;
        let fit_rules = keep_or_set("fitRules", input.fit_rules)?;
        let engagement_rules = keep_or_set("engagementRules", input.engagement_rules)?.map(engagement_rules);
        let thresholds = keep_or_set("thresholds", input.thresholds)?;
        let doc = agreements::update(
            db(ctx),
            actor(ctx)?,
            id,
            input.expected_version,
            input.propose,
            |b: ScoringModelBody| {
                Ok(ScoringModelBody {
                    name: name.unwrap_or(b.name),
                    description: apply(b.description, clearable(input.description)),
                    fit_rules: fit_rules.unwrap_or(b.fit_rules),
                    engagement_rules: engagement_rules.unwrap_or(b.engagement_rules),
                    thresholds: thresholds.unwrap_or(b.thresholds),
                })
            },
        )
        .await?;
        Ok(ScoringModelPayload { scoring_model: ScoringModel(doc) })
    }
}
