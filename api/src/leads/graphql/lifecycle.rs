//! The contract for entering each lifecycle stage, as clients read it.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::LifecycleStage;
use crate::agreements::definitions::{LeadField, StageMover};
use crate::auth::permissions::{can_read_agreements, require};
use crate::error::Result;
use crate::graphql::{actor, db};
use crate::leads::lifecycle::{StageRule as Rule, StageRules};

/// Who may move a lead into one stage and what the lead must meet there: from the
/// agreed definition of the stage (its term is the stage's name, such as "MQL") when
/// one is in force, else Accord's defaults. Every path that moves a lead obeys it:
/// `moveLeadStage`, `createLead` and imports naming a stage (FORBIDDEN naming the rule,
/// or BAD_USER_INPUT listing the unmet criteria), handovers, deals, recorded
/// engagement and the scoring model (which simply do not move a lead the rule refuses).
#[derive(SimpleObject)]
pub struct StageRule {
    /// The stage entered.
    pub stage: LifecycleStage,
    /// Who may move a lead into the stage (`enteredBy` of the definition's criteria).
    pub entered_by: Vec<StageMover>,
    /// The score a lead needs to enter (`minScore`); null for none.
    pub min_score: Option<f64>,
    /// Fields a lead must have to enter (`requiredFields`).
    pub required_fields: Vec<LeadField>,
    /// Whether the lead's account must fit an agreed ICP (`icpFit`).
    pub icp_fit: bool,
    /// Keys of the definition's criteria Accord keeps but does not check (such as
    /// `bant`): people judge those.
    pub unenforced_criteria: Vec<String>,
    /// The agreed definition the rule comes from; null while the defaults apply.
    pub definition_id: Option<ID>,
    /// The version of that definition in force.
    pub definition_version: Option<i32>,
}

impl From<Rule> for StageRule {
    fn from(rule: Rule) -> Self {
        Self {
            stage: rule.stage.into(),
            entered_by: rule.entered_by,
            min_score: rule.criteria.min_score,
            required_fields: rule.criteria.required_fields,
            icp_fit: rule.criteria.icp_fit,
            unenforced_criteria: rule.criteria.unenforced,
            definition_id: rule.source.as_ref().map(|(id, _, _)| ID(id.to_string())),
            definition_version: rule.source.map(|(_, version, _)| version),
        }
    }
}

#[derive(Default)]
pub struct LifecycleQuery;

#[Object]
impl LifecycleQuery {
    /// The rule for entering every lifecycle stage, in funnel order (NEW, ENGAGED,
    /// MQL, SAL, SQL, OPPORTUNITY, CUSTOMER, RECYCLED, DISQUALIFIED). Readable by
    /// whoever reads agreed documents (API keys: `LEADS_READ`, `KPIS_READ` or `CONTENT_READ`).
    async fn stage_rules(&self, ctx: &Context<'_>) -> Result<Vec<StageRule>> {
        use sea_orm::Iterable;
        let actor = actor(ctx)?;
        require(can_read_agreements(actor), "read the stage rules")?;
        let rules = StageRules::load(db(ctx), actor.org_id).await?;
        Ok(entity::LifecycleStage::iter().map(|stage| rules.rule(stage).into()).collect())
    }
}
