//! GraphQL types and resolvers of the buyer-journey stages (`org::journey_stages`).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::graphql::{actor, db, parse_id};
use crate::org::journey_stages;

/// A stage of the buyer's journey, such as AWARENESS; messages are placed on them.
#[derive(SimpleObject, Clone)]
pub struct JourneyStage {
    /// Stable id of the stage.
    #[graphql(owned)]
    pub id: ID,
    /// Name, unique within the organization.
    pub name: String,
    /// 1-based place in the journey.
    pub position: i32,
    /// Optimistic-lock version; pass it as `expectedVersion` when renaming.
    pub version: i32,
    /// When the stage last changed (UTC).
    pub updated_at: DateTime<Utc>,
}

impl From<entity::journey_stage::Model> for JourneyStage {
    fn from(m: entity::journey_stage::Model) -> Self {
        Self { id: m.id.into(), name: m.name, position: m.position, version: m.version, updated_at: m.updated_at }
    }
}

/// Renames one journey stage.
#[derive(InputObject)]
pub struct RenameJourneyStageInput {
    /// The stage.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// The new name; unique within the organization.
    pub name: String,
}

/// A new order of the journey stages.
#[derive(InputObject)]
pub struct ReorderJourneyStagesInput {
    /// Every stage's id, exactly once, in the new order.
    pub ids: Vec<ID>,
}

/// The result of renaming a journey stage.
#[derive(SimpleObject)]
pub struct JourneyStagePayload {
    /// The stage after the change.
    pub journey_stage: JourneyStage,
}

/// The result of reordering the journey stages.
#[derive(SimpleObject)]
pub struct JourneyStagesPayload {
    /// Every stage, in the new order.
    pub journey_stages: Vec<JourneyStage>,
}

#[derive(Default)]
pub struct JourneyStageQuery;

#[Object]
impl JourneyStageQuery {
    /// The buyer-journey stages, in order.
    async fn journey_stages(&self, ctx: &Context<'_>) -> Result<Vec<JourneyStage>> {
        Ok(journey_stages::list(db(ctx), actor(ctx)?).await?.into_iter().map(JourneyStage::from).collect())
    }
}

#[derive(Default)]
pub struct JourneyStageMutation;

#[Object]
impl JourneyStageMutation {
    /// Rename a journey stage. ADMINs only.
    async fn rename_journey_stage(
        &self,
        ctx: &Context<'_>,
        input: RenameJourneyStageInput,
    ) -> Result<JourneyStagePayload> {
        let id = parse_id("id", &input.id)?;
        let stage = journey_stages::rename(db(ctx), actor(ctx)?, id, &input.name, input.expected_version).await?;
        Ok(JourneyStagePayload { journey_stage: stage.into() })
    }

    /// Put the journey stages in a new order. ADMINs only.
    async fn reorder_journey_stages(
        &self,
        ctx: &Context<'_>,
        input: ReorderJourneyStagesInput,
    ) -> Result<JourneyStagesPayload> {
        let ids = input.ids.iter().map(|id| parse_id("ids", id)).collect::<Result<Vec<_>, _>>()?;
        let stages = journey_stages::reorder(db(ctx), actor(ctx)?, &ids).await?;
        Ok(JourneyStagesPayload { journey_stages: stages.into_iter().map(JourneyStage::from).collect() })
    }
}
