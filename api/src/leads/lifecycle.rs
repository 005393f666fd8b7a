//! The lifecycle state machine: which stage may follow which, in one table; the
//! contract for entering a stage (who may, and what the lead must meet, from the
//! agreed definition of the stage); and the one function that moves a lead, records
//! the move and sets off what follows ([`OnStageEntered`]).

use std::collections::HashMap;

use chrono::Utc;
use entity::LifecycleStage::{self, *};
use entity::lead::{ActiveModel, Column, Entity, Model};
use futures_util::future::BoxFuture;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::agreements::definitions::{
    Definition, LeadField, StageCriteria, StageMover, default_entered_by, mover_names, stage_key,
};
use crate::agreements::icps::{self, AgreedIcp};
use crate::agreements::{self, DocumentCriteria};
use crate::auth::{Actor, Identity};
use crate::db::versioned::save_versioned;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;

/// The forward stages of the funnel, in order (a lead may skip some).
pub const FUNNEL: [LifecycleStage; 7] = [New, Engaged, Mql, Sal, Sql, Opportunity, Customer];

/// Every allowed move. The funnel runs NEW → ENGAGED → MQL → SAL → SQL → OPPORTUNITY
/// → CUSTOMER; NEW may jump to MQL when its score crosses the threshold; any open
/// stage up to SQL may be RECYCLED (back to nurture) or DISQUALIFIED; a lost deal
/// recycles its lead; RECYCLED leads re-enter as ENGAGED or MQL. CUSTOMER and
/// DISQUALIFIED are final.
pub const TRANSITIONS: &[(LifecycleStage, &[LifecycleStage])] = &[
    (New, &[Engaged, Mql, Recycled, Disqualified]),
    (Engaged, &[Mql, Recycled, Disqualified]),
    (Mql, &[Sal, Recycled, Disqualified]),
    (Sal, &[Sql, Recycled, Disqualified]),
    (Sql, &[Opportunity, Recycled, Disqualified]),
    (Opportunity, &[Customer, Recycled]),
    (Customer, &[]),
    (Recycled, &[Engaged, Mql]),
    (Disqualified, &[]),
];

/// The stages a lead in `from` may move to.
pub fn allowed_targets(from: LifecycleStage) -> &'static [LifecycleStage] {
    TRANSITIONS.iter().find(|(stage, _)| *stage == from).map(|(_, targets)| *targets).unwrap_or(&[])
}

pub fn stage_name(stage: LifecycleStage) -> String {
    crate::validate::public_name(stage)
}

/// Check a move against the table; the error names the allowed targets.
pub fn check_move(from: LifecycleStage, to: LifecycleStage) -> Result<()> {
    let allowed = allowed_targets(from);
    if allowed.contains(&to) {
        return Ok(());
    }
    Err(ApiError::bad_input("to", crate::validate::refused_move("a lead", "move", from, to, allowed)))
}

/// The path by which a lead enters a stage, which stage rights name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A person or an integration, by hand: `moveLeadStage`, `createLead` or an import
    /// naming a stage. Their team, role or API key decides.
    Hand,
    /// The agreed scoring model, when the score reaches the MQL threshold.
    ScoringModel,
    /// A handover's answer (accepted: SAL; handed back: RECYCLED).
    Handover,
    /// An opportunity opened, won or lost.
    Deal,
    /// Recorded engagement (NEW to ENGAGED).
    Engagement,
}

/// The team that owns a lead in `stage`: marketing until sales accepts it.
pub fn owning_team(stage: LifecycleStage) -> entity::Team {
    match stage {
        New | Engaged | Mql | Recycled => entity::Team::Marketing,
        Sal | Sql | Opportunity | Customer | Disqualified => entity::Team::Sales,
    }
}

/// The stage mover an automatic path is; `None` for [`Via::Hand`], where the caller decides.
fn automatic_mover(via: Via) -> Option<StageMover> {
    match via {
        Via::ScoringModel => Some(StageMover::ScoringModel),
        Via::Handover => Some(StageMover::Handover),
        Via::Deal => Some(StageMover::Deals),
        Via::Engagement => Some(StageMover::Engagement),
        Via::Hand => None,
    }
}

/// Who the caller is, in the words of stage rights, when moving `lead` by `via`.
fn movers(actor: &Actor, lead: &Model, via: Via) -> Vec<StageMover> {
    if let Some(mover) = automatic_mover(via) {
        return vec![mover];
    }
    match &actor.kind {
        Identity::User { role: entity::Role::Viewer, .. } => Vec::new(),
        Identity::User { team, role, .. } => {
            let mut out = vec![match team {
                entity::Team::Marketing => StageMover::Marketing,
                entity::Team::Sales => StageMover::Sales,
                entity::Team::Service => StageMover::Service,
                entity::Team::Revops => StageMover::Revops,
                entity::Team::Leadership => StageMover::Leadership,
            }];
            if matches!(role, entity::Role::Manager | entity::Role::Admin) {
                out.push(StageMover::Managers);
            }
            if *team == owning_team(lead.lifecycle_stage) {
                out.push(StageMover::OwningTeam);
            }
            out
        }
        Identity::ApiKey { .. } | Identity::System => vec![StageMover::Integrations],
    }
}

/// The contract for entering one stage: the agreed definition of the stage when it
/// has one in force, else Accord's defaults.
#[derive(Debug, Clone)]
pub struct StageRule {
    pub stage: LifecycleStage,
    /// Who may move a lead into the stage.
    pub entered_by: Vec<StageMover>,
    /// What the lead must meet (and the keys kept but not enforced).
    pub criteria: StageCriteria,
    /// The agreed definition the rule comes from: (id, version in force, term).
    pub source: Option<(Uuid, i32, String)>,
}

impl StageRule {
    fn default_for(stage: LifecycleStage) -> Self {
        Self { stage, entered_by: default_entered_by(stage).to_vec(), criteria: StageCriteria::default(), source: None }
    }

    /// Where the rule comes from, for messages.
    pub fn origin(&self) -> String {
        match &self.source {
            Some((_, version, term)) => format!("the agreed definition \"{term}\", version {version}"),
            None => format!(
                "the default stage rights; an agreed definition of {} with enteredBy changes them",
                stage_name(self.stage)
            ),
        }
    }

    /// May `actor` move `lead` into the stage by `via`? FORBIDDEN naming the rule if not.
    pub fn check_rights(&self, actor: &Actor, lead: &Model, via: Via) -> Result<()> {
        if movers(actor, lead, via).iter().any(|m| self.entered_by.contains(m)) {
            return Ok(());
        }
        Err(ApiError::forbidden(format!(
            "only {} may move a lead into {} ({})",
            mover_names(&self.entered_by),
            stage_name(self.stage),
            self.origin()
        )))
    }

    /// The criteria `lead`, with `score`, does not meet, in words; empty when it meets
    /// them all. `fits_icp` answers the `icpFit` criterion.
    pub fn unmet(&self, lead: &Model, score: f64, fits_icp: bool) -> Vec<String> {
        let c = &self.criteria;
        let mut out = Vec::new();
        if let Some(min) = c.min_score
            && score < min
        {
            out.push(format!("score {} is below {}", points(score), points(min)));
        }
        for field in &c.required_fields {
            if !has_field(lead, *field) {
                out.push(format!("{} is missing", field.name()));
            }
        }
        if c.icp_fit && !fits_icp {
            out.push("the account fits no agreed ICP".to_owned());
        }
        out
    }

    /// Whether an automatic path (`mover`, such as SCORING_MODEL) may move leads into
    /// the stage: for those, unlike people, the answer depends on neither caller nor lead.
    pub fn admits(&self, mover: StageMover) -> bool {
        self.entered_by.contains(&mover)
    }

    /// Check the criteria against `lead`'s stored score and account; BAD_USER_INPUT on
    /// `to` listing every unmet one.
    pub async fn check_stored(&self, db: &impl ConnectionTrait, lead: &Model) -> Result<()> {
        let score = stored_scores(db, &[lead.id]).await?.get(&lead.id).copied().unwrap_or(0.0);
        let icp = IcpFit::load(db, lead.org_id, self).await?;
        let accounts = icp.accounts(db, lead.org_id, &[lead]).await?;
        self.check_criteria(lead, score, icp.fits(lead, &accounts))
    }

    /// Check the criteria; BAD_USER_INPUT on `to` listing every unmet one.
    pub fn check_criteria(&self, lead: &Model, score: f64, fits_icp: bool) -> Result<()> {
        let unmet = self.unmet(lead, score, fits_icp);
        if unmet.is_empty() {
            return Ok(());
        }
        Err(ApiError::bad_input(
            "to",
            format!(
                "the lead does not meet the definition of {} ({}): {}",
                stage_name(self.stage),
                self.origin(),
                unmet.join("; ")
            ),
        ))
    }
}

/// A score as messages show it: at most one decimal.
fn points(score: f64) -> String {
    let rounded = (score * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded:.1}") }
}

fn has_field(lead: &Model, field: LeadField) -> bool {
    use sea_orm::{ModelTrait, Value};
    match lead.get(field_column(field)) {
        Value::String(Some(text)) => !text.trim().is_empty(),
        Value::Uuid(Some(_)) => true,
        _ => false,
    }
}

/// The lead column a required field is read from: reads of a few columns (simulating a
/// model over every lead) read these for the rule's required fields.
pub fn field_column(field: LeadField) -> Column {
    match field {
        LeadField::Email => Column::Email,
        LeadField::FirstName => Column::FirstName,
        LeadField::LastName => Column::LastName,
        LeadField::Title => Column::Title,
        LeadField::Phone => Column::Phone,
        LeadField::Source => Column::Source,
        LeadField::Campaign => Column::Campaign,
        LeadField::Company => Column::AccountId,
        LeadField::Owner => Column::OwnerId,
        LeadField::MarketingOwner => Column::MarketingOwnerId,
        LeadField::Persona => Column::PersonaId,
        LeadField::ExternalId => Column::ExternalId,
    }
}

/// Every stage's rule for one organization, read in one go.
#[derive(Debug, Clone, Default)]
pub struct StageRules {
    agreed: HashMap<LifecycleStage, StageRule>,
}

impl StageRules {
    /// The agreed definitions of stages in force (a handful of statements).
    pub async fn load(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Self> {
        use sea_orm::Iterable;
        let criteria = DocumentCriteria { statuses: vec![entity::AgreementStatus::Agreed], search: None };
        let docs = agreements::list::<Definition>(db, &Actor::system(org_id), &criteria).await?;
        let mut agreed = HashMap::new();
        for stage in LifecycleStage::iter() {
            let key = stage_key(stage);
            let Some((doc, version)) =
                docs.iter().filter(|d| d.model.key == key).find_map(|d| d.in_force().map(|v| (d, v)))
            else {
                continue;
            };
            // Validated on write; a body stored before these keys existed reads leniently.
            let criteria = StageCriteria::parse(version.body.criteria.as_ref().map(|c| &c.0)).unwrap_or_default();
            let entered_by = criteria.entered_by.clone().unwrap_or_else(|| default_entered_by(stage).to_vec());
            let source = Some((doc.model.id, version.model.version, version.body.term.clone()));
            agreed.insert(stage, StageRule { stage, entered_by, criteria, source });
        }
        Ok(Self { agreed })
    }

    /// The rule for entering `stage`.
    pub fn rule(&self, stage: LifecycleStage) -> StageRule {
        self.agreed.get(&stage).cloned().unwrap_or_else(|| StageRule::default_for(stage))
    }
}

/// The stored scores of `leads` (0 for a lead without one).
pub(crate) async fn stored_scores(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<HashMap<Uuid, f64>> {
    use entity::lead_score::{Column as S, Entity as Scores};
    use sea_orm::QuerySelect;
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, f64)> = Scores::find()
        .select_only()
        .column(S::LeadId)
        .column(S::Score)
        .filter(S::LeadId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// A lead that just entered a stage, and how.
#[derive(Debug, Clone)]
pub struct Entered {
    pub lead: Model,
    /// The stage it left (`None` for a lead created in the stage).
    pub from: Option<LifecycleStage>,
    pub via: Via,
}

type OnStageEnteredFn = for<'a> fn(&'a DatabaseTransaction, &'a Actor, &'a [Entered]) -> BoxFuture<'a, Result<()>>;

/// What follows leads entering stages, inside the moving transaction: a pending
/// handover is answered or cancelled, a new MQL is handed over when the organization
/// says so. Handover sits above leads and registers it (`inventory::submit!`).
pub struct OnStageEntered(pub OnStageEnteredFn);

inventory::collect!(OnStageEntered);

/// Run what follows leads entering stages.
pub(crate) async fn stage_entered(txn: &DatabaseTransaction, actor: &Actor, entered: &[Entered]) -> Result<()> {
    if entered.is_empty() {
        return Ok(());
    }
    for hook in inventory::iter::<OnStageEntered> {
        (hook.0)(txn, actor, entered).await?;
    }
    Ok(())
}

/// Move `lead` into `to` by `via`, under the contract: the lifecycle table, the stage
/// rights and the criteria of the stage's agreed definition (the lead's stored score),
/// then what follows. The one entry for every path that moves a lead.
pub async fn enter(
    txn: &DatabaseTransaction,
    actor: &Actor,
    lead: Model,
    to: LifecycleStage,
    via: Via,
    reason: Option<String>,
) -> Result<Model> {
    check_move(lead.lifecycle_stage, to)?;
    let rule = StageRules::load(txn, actor.org_id).await?.rule(to);
    rule.check_rights(actor, &lead, via)?;
    rule.check_stored(txn, &lead).await?;
    let from = lead.lifecycle_stage;
    let moved = move_lead(txn, actor, lead, &rule, reason).await?;
    stage_entered(txn, actor, &[Entered { lead: moved.clone(), from: Some(from), via }]).await?;
    Ok(moved)
}

/// The `icpFit` criterion of a stage rule, answered for a batch of leads: the profiles
/// in force are read once, and only when the rule asks.
pub(crate) struct IcpFit {
    /// The profiles in force; `None` when the rule does not ask.
    icps: Option<Vec<AgreedIcp>>,
}

impl IcpFit {
    pub(crate) async fn load(db: &impl ConnectionTrait, org_id: Uuid, rule: &StageRule) -> Result<Self> {
        let icps = if rule.criteria.icp_fit { Some(icps::agreed(db, org_id).await?) } else { None };
        Ok(Self { icps })
    }

    /// The accounts of `leads` that [`IcpFit::fits`] looks at, in one query per 1,000
    /// (none when the rule does not ask).
    pub(crate) async fn accounts(
        &self,
        db: &impl ConnectionTrait,
        org_id: Uuid,
        leads: &[&Model],
    ) -> Result<HashMap<Uuid, entity::account::Model>> {
        if self.icps.is_none() {
            return Ok(HashMap::new());
        }
        let ids: Vec<Uuid> = leads.iter().filter_map(|l| l.account_id).collect();
        super::accounts::by_ids(db, org_id, &ids).await
    }

    /// Whether `lead` meets the criterion: true when the rule does not ask, else whether
    /// its account (looked up in `accounts`) fits a profile in force.
    pub(crate) fn fits(&self, lead: &Model, accounts: &HashMap<Uuid, entity::account::Model>) -> bool {
        let Some(icps) = &self.icps else { return true };
        lead.account_id.and_then(|id| accounts.get(&id)).is_some_and(|a| icps::fits_any(icps, a))
    }
}

/// The row of one stage transition (bulk writers insert many at once), naming the
/// agreed definition `rule` comes from, in its version in force now.
pub(crate) fn transition(
    actor: &Actor,
    lead_id: Uuid,
    (from, to): (Option<LifecycleStage>, LifecycleStage),
    rule: Option<&StageRule>,
    reason: Option<String>,
    at: chrono::DateTime<Utc>,
) -> entity::lead_stage_transition::ActiveModel {
    let source = rule.and_then(|r| r.source.as_ref());
    entity::lead_stage_transition::ActiveModel {
        definition_id: Set(source.map(|s| s.0)),
        definition_version: Set(source.map(|s| s.1)),
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        lead_id: Set(lead_id),
        from_stage: Set(from),
        to_stage: Set(to),
        actor_kind: Set(actor.stored_kind()),
        actor_id: Set(actor.id()),
        actor_name: Set(actor.name().to_owned()),
        reason: Set(reason),
        at: Set(at),
    }
}

/// Move `lead` to `to` inside the caller's transaction: checks the table, bumps the
/// version under its optimistic lock, writes the transition and the audit row. The
/// stage contract is the caller's ([`enter`] checks it); nothing follows.
pub(crate) async fn move_lead(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    lead: Model,
    rule: &StageRule,
    reason: Option<String>,
) -> Result<Model> {
    let to = rule.stage;
    check_move(lead.lifecycle_stage, to)?;
    let now = Utc::now();
    let from = lead.lifecycle_stage;
    let model = ActiveModel {
        lifecycle_stage: Set(to),
        stage_entered_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let moved = save_versioned(txn, lead.id, lead.version, model).await?;
    transition(actor, lead.id, (Some(from), to), Some(rule), reason.clone(), now).insert(txn).await?;
    audit::record(txn, actor, "lead.moveStage", "lead", Some(lead.id), stage_changes(from, to, &reason)).await?;
    let event = stage_changed(&moved, from, rule, &reason);
    outbox::publish(txn, actor, event.kind, event.entity, event.entity_id, event.payload).await?;
    Ok(moved)
}

/// The outbox event of `lead`'s move from `from` into its stage, judged by `rule`.
fn stage_changed(lead: &Model, from: LifecycleStage, rule: &StageRule, reason: &Option<String>) -> outbox::Event {
    let payload = serde_json::json!({
        "from": from, "to": lead.lifecycle_stage, "reason": reason,
        "definitionVersion": rule.source.as_ref().map(|s| s.1),
        "ownerId": lead.owner_id, "marketingOwnerId": lead.marketing_owner_id,
    });
    outbox::Event { kind: "lead.stageChanged", entity: "lead", entity_id: Some(lead.id), payload }
}

/// What the audit log records of a lead moved from `from` to `to`.
fn stage_changes(from: LifecycleStage, to: LifecycleStage, reason: &Option<String>) -> Changes {
    Changes::new().field("lifecycleStage", Some(&from), Some(&to)).created("reason", reason)
}

/// Move every lead of `moves` that is still in `from` to `to` by an automatic path
/// (`via`), each with its reason, in one `UPDATE` and one insert each for the
/// transitions and the audit rows (what [`move_lead`] writes, for many leads at once);
/// returns the leads moved. Leads no longer in `from` are left alone (the condition
/// is part of the `UPDATE`), and so are all of them when the stage's rights leave
/// `via` out, and each whose stored score or fields miss the stage's criteria: an
/// automatic move the contract does not allow simply does not happen.
pub(crate) async fn move_many(
    txn: &DatabaseTransaction,
    actor: &Actor,
    leads: &[Model],
    moves: &[(Uuid, String)],
    from: LifecycleStage,
    to: LifecycleStage,
    via: Via,
) -> Result<Vec<Model>> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    check_move(from, to)?;
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let rule = StageRules::load(txn, actor.org_id).await?.rule(to);
    let Some(mover) = automatic_mover(via) else {
        return Err(ApiError::internal("move_many moves leads by an automatic path only"));
    };
    if !rule.admits(mover) {
        return Ok(Vec::new());
    }
    let by_id: HashMap<Uuid, &Model> = leads.iter().map(|l| (l.id, l)).collect();
    let ids: Vec<Uuid> = moves.iter().map(|(id, _)| *id).collect();
    let scores = stored_scores(txn, &ids).await?;
    let icp = IcpFit::load(txn, actor.org_id, &rule).await?;
    let asked: Vec<&Model> = ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
    let accounts = icp.accounts(txn, actor.org_id, &asked).await?;
    let mut allowed = Vec::with_capacity(moves.len());
    for (id, reason) in moves {
        let Some(lead) = by_id.get(id) else { continue };
        if rule.unmet(lead, scores.get(id).copied().unwrap_or(0.0), icp.fits(lead, &accounts)).is_empty() {
            allowed.push((*id, reason.clone()));
        }
    }
    let moves = allowed;
    if moves.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let mut moved = Entity::update_many()
        .col_expr(Column::LifecycleStage, Expr::value(to))
        .col_expr(Column::StageEnteredAt, Expr::value(now))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Id.is_in(moves.iter().map(|(id, _)| *id)))
        .filter(Column::LifecycleStage.eq(from))
        .exec_with_returning(txn)
        .await?;
    // In the order asked for, whatever order the database returned them in.
    let order: std::collections::HashMap<Uuid, usize> = moves.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    moved.sort_by_key(|lead| order.get(&lead.id).copied());
    let mut transitions = Vec::with_capacity(moved.len());
    let mut audits = Vec::with_capacity(moved.len());
    let mut events = Vec::with_capacity(moved.len());
    for lead in &moved {
        let reason = order.get(&lead.id).map(|&i| moves[i].1.clone());
        audits.push(audit::row(actor, "lead.moveStage", "lead", Some(lead.id), stage_changes(from, to, &reason)));
        events.push(stage_changed(lead, from, &rule, &reason));
        transitions.push(transition(actor, lead.id, (Some(from), to), Some(&rule), reason, now));
    }
    crate::db::insert_new(txn, transitions).await?;
    crate::db::insert_new(txn, audits).await?;
    outbox::publish_all(txn, actor, events).await?;
    let entered: Vec<Entered> =
        moved.iter().map(|lead| Entered { lead: lead.clone(), from: Some(from), via }).collect();
    stage_entered(txn, actor, &entered).await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_funnel_runs_forward() {
        for pair in [New, Engaged, Mql, Sal, Sql, Opportunity, Customer].windows(2) {
            assert!(check_move(pair[0], pair[1]).is_ok(), "{:?} → {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn recycling_and_disqualifying_are_open_until_sql() {
        for stage in [New, Engaged, Mql, Sal, Sql] {
            assert!(check_move(stage, Recycled).is_ok());
            assert!(check_move(stage, Disqualified).is_ok());
        }
        assert!(check_move(Customer, Recycled).is_err());
        assert!(check_move(Recycled, Engaged).is_ok());
        assert!(check_move(Recycled, Mql).is_ok());
        assert!(check_move(Recycled, Sal).is_err());
    }

    #[test]
    fn an_illegal_move_names_the_allowed_targets() {
        let ApiError::BadUserInput { message, field } = check_move(Mql, Customer).unwrap_err() else { panic!() };
        assert_eq!(field.as_deref(), Some("to"));
        assert_eq!(
            message,
            "a lead cannot move from MQL to CUSTOMER; from MQL it can move to SAL, RECYCLED or DISQUALIFIED"
        );
        let final_stage = check_move(Disqualified, New).unwrap_err().to_string();
        assert_eq!(final_stage, "a lead cannot move from DISQUALIFIED to NEW; DISQUALIFIED is final");
    }

    #[test]
    fn every_stage_has_a_row() {
        use sea_orm::Iterable;
        for stage in LifecycleStage::iter() {
            assert!(TRANSITIONS.iter().any(|(s, _)| *s == stage), "{stage:?}");
        }
    }
}
