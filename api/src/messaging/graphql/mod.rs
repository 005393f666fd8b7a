//! GraphQL types and resolvers of messages and the message matrix; content assets and
//! their usage are in `content`.

mod content;

pub use content::*;

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, MaybeUndefined, MergedObject, Object, SimpleObject,
};

use super::{Matrix, MatrixCell, Message as MessageBody, MessageCriteria, MessageKind};
use crate::agreements::graphql::{AgreementStatus, agreed_document_types};
use crate::error::Result;
use crate::graphql::patch::{apply, clearable, clearable_id, keep_or_set, optional_id};
use crate::graphql::{actor, db, loaders, parse_id};
use crate::org::graphql::journey_stages::JourneyStage;
use crate::personas::graphql::Persona;

agreed_document_types!(
    Message,
    MessageVersion,
    MessageBody,
    "A message of the message matrix (GLOBAL, per persona × journey stage, or a battlecard), agreed by sales and marketing, with every version.",
    "One version of a message, with its approvals."
);

#[ComplexObject]
impl MessageBody {
    /// SEGMENT only: id of the persona.
    async fn persona_id(&self) -> Option<ID> {
        self.persona_id.map(Into::into)
    }

    /// SEGMENT only: the persona; null for other kinds.
    async fn persona(&self, ctx: &Context<'_>) -> Result<Option<Persona>> {
        let Some(id) = self.persona_id else { return Ok(None) };
        Ok(loaders(ctx)?.personas.load_one(id).await?.map(Persona))
    }

    /// SEGMENT only: id of the journey stage.
    async fn journey_stage_id(&self) -> Option<ID> {
        self.journey_stage_id.map(Into::into)
    }

    /// SEGMENT only: the journey stage; null for other kinds.
    async fn journey_stage(&self, ctx: &Context<'_>) -> Result<Option<JourneyStage>> {
        let Some(id) = self.journey_stage_id else { return Ok(None) };
        Ok(loaders(ctx)?.journey_stages.load_one(id).await?.map(JourneyStage::from))
    }
}

/// What a cell of the matrix holds.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageCellState {
    /// An agreed message is in force.
    Covered,
    /// No message in force, but one is proposed and awaits approval.
    Pending,
    /// No message at all: a gap to fill.
    Gap,
}

/// One cell of the message matrix: a persona at a journey stage.
#[derive(Clone)]
pub struct MessageCell(MatrixCell);

/// One cell of the message matrix: a persona at a journey stage.
#[Object]
impl MessageCell {
    /// The persona (row).
    async fn persona(&self) -> Persona {
        Persona(self.0.persona.clone())
    }

    /// The journey stage (column).
    async fn journey_stage(&self) -> JourneyStage {
        self.0.stage.clone().into()
    }

    /// COVERED, PENDING or GAP.
    async fn state(&self) -> MessageCellState {
        match (&self.0.in_force, &self.0.pending) {
            (Some(_), _) => MessageCellState::Covered,
            (None, Some(_)) => MessageCellState::Pending,
            (None, None) => MessageCellState::Gap,
        }
    }

    /// The message in force in this cell; null when none is.
    async fn message(&self) -> Option<Message> {
        self.0.in_force.clone().map(Message)
    }

    /// A message proposed for this cell and awaiting approval; null when none is.
    async fn pending(&self) -> Option<Message> {
        self.0.pending.clone().map(Message)
    }
}

/// Personas × journey stages: which buyer hears what at each stage, plus the GLOBAL
/// message and the battlecards.
pub struct MessageMatrix(Matrix);

/// Personas × journey stages: which buyer hears what at each stage, plus the GLOBAL
/// message and the battlecards.
#[Object]
impl MessageMatrix {
    /// The rows: personas that are not retired, by name.
    async fn personas(&self) -> Vec<Persona> {
        self.0.personas.iter().cloned().map(Persona).collect()
    }

    /// The columns: the organization's journey stages in order.
    async fn journey_stages(&self) -> Vec<JourneyStage> {
        self.0.stages.iter().cloned().map(Into::into).collect()
    }

    /// Every cell, row by row (all stages of the first persona, then the next).
    async fn cells(&self) -> Vec<MessageCell> {
        self.0.cells.iter().cloned().map(MessageCell).collect()
    }

    /// Number of cells (personas × journey stages).
    async fn total_cells(&self) -> i32 {
        self.0.cells.len() as i32
    }

    /// Cells with a message in force.
    async fn covered_cells(&self) -> i32 {
        self.0.covered() as i32
    }

    /// Share of cells with a message in force (0–1); 0 for an empty matrix.
    async fn coverage(&self) -> f64 {
        self.0.coverage()
    }

    /// Cells without a message in force (state PENDING or GAP), row by row.
    async fn gaps(&self) -> Vec<MessageCell> {
        self.0.cells.iter().filter(|c| c.in_force.is_none()).cloned().map(MessageCell).collect()
    }

    /// The GLOBAL message in force; null when none is.
    async fn global(&self) -> Option<Message> {
        self.0.global.clone().map(Message)
    }

    /// Battlecards in force, one per competitor.
    async fn battlecards(&self) -> Vec<Message> {
        self.0.battlecards.iter().cloned().map(Message).collect()
    }
}

/// Narrows the messages list. All given conditions must hold; they apply to the
/// version in force, else the newest.
#[derive(InputObject, Default)]
pub struct MessageFilter {
    /// Only messages of this kind.
    pub kind: Option<MessageKind>,
    /// Only SEGMENT messages for this persona.
    pub persona_id: Option<ID>,
    /// Only SEGMENT messages at this journey stage.
    pub journey_stage_id: Option<ID>,
    /// Only BATTLECARD messages about this competitor (case-insensitive).
    pub competitor: Option<String>,
    /// Only messages in this status.
    pub status: Option<AgreementStatus>,
    /// Case-insensitive text in the title or the newest body.
    pub search: Option<String>,
}

/// A new message.
#[derive(InputObject)]
pub struct CreateMessageInput {
    /// GLOBAL, SEGMENT or BATTLECARD.
    pub kind: MessageKind,
    /// SEGMENT: the persona (required).
    pub persona_id: Option<ID>,
    /// SEGMENT: the journey stage (required).
    pub journey_stage_id: Option<ID>,
    /// BATTLECARD: the competitor (required).
    pub competitor: Option<String>,
    /// Headline.
    pub title: String,
    /// The message itself.
    pub body: String,
    /// Facts that back it.
    #[graphql(default)]
    pub proof_points: Vec<String>,
    /// What the buyer should do next.
    pub call_to_action: Option<String>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a message: a new version, whose fields left out are those of the newest
/// version (the one you edited from). null clears a field that may be empty (as long
/// as the kind allows: a SEGMENT keeps its persona and stage, a BATTLECARD its
/// competitor) and is BAD_USER_INPUT for the others (`[]` empties the proof points).
#[derive(InputObject)]
pub struct UpdateMessageInput {
    /// The message to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New kind. Left out: unchanged. null is refused.
    pub kind: MaybeUndefined<MessageKind>,
    /// New persona (SEGMENT). Left out: unchanged. null: cleared.
    pub persona_id: MaybeUndefined<ID>,
    /// New journey stage (SEGMENT). Left out: unchanged. null: cleared.
    pub journey_stage_id: MaybeUndefined<ID>,
    /// New competitor (BATTLECARD). Left out: unchanged. null: cleared.
    pub competitor: MaybeUndefined<String>,
    /// New headline. Left out: unchanged. null is refused.
    pub title: MaybeUndefined<String>,
    /// New message. Left out: unchanged. null is refused.
    pub body: MaybeUndefined<String>,
    /// New proof points (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub proof_points: MaybeUndefined<Vec<String>>,
    /// New call to action. Left out: unchanged. null: cleared.
    pub call_to_action: MaybeUndefined<String>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a message.
#[derive(SimpleObject)]
pub struct MessagePayload {
    /// The message after the change.
    pub message: Message,
}

#[derive(Default)]
pub struct MessageQuery;

#[Object]
impl MessageQuery {
    /// Personas × journey stages with the message in force, a pending proposal or a
    /// gap in each cell; coverage and the gaps; the GLOBAL message and battlecards.
    async fn message_matrix(&self, ctx: &Context<'_>) -> Result<MessageMatrix> {
        Ok(MessageMatrix(super::matrix(db(ctx), actor(ctx)?).await?))
    }

    /// Messages, by cell and title.
    async fn messages(&self, ctx: &Context<'_>, filter: Option<MessageFilter>) -> Result<Vec<Message>> {
        let filter = filter.unwrap_or_default();
        let criteria = MessageCriteria {
            kind: filter.kind,
            persona_id: optional_id("personaId", filter.persona_id.as_ref())?,
            journey_stage_id: optional_id("journeyStageId", filter.journey_stage_id.as_ref())?,
            competitor: filter.competitor,
            statuses: filter.status.map(|s| vec![s.into()]).unwrap_or_default(),
            search: filter.search,
        };
        Ok(super::list(db(ctx), actor(ctx)?, &criteria).await?.into_iter().map(Message).collect())
    }

    /// One message; null with NOT_FOUND when absent or of another organization.
    async fn message(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Message>> {
        let id = parse_id("id", &id)?;
        Ok(Some(Message(crate::agreements::get(db(ctx), actor(ctx)?, id).await?)))
    }
}

#[derive(Default)]
pub struct MessageMutation;

#[Object]
impl MessageMutation {
    /// Write a message. MARKETING keeps a DRAFT (unless `propose`); other teams propose
    /// it at once. Once agreed it retires the message in force in its cell.
    async fn create_message(&self, ctx: &Context<'_>, input: CreateMessageInput) -> Result<MessagePayload> {
        let body = MessageBody {
            kind: input.kind,
            persona_id: optional_id("personaId", input.persona_id.as_ref())?,
            journey_stage_id: optional_id("journeyStageId", input.journey_stage_id.as_ref())?,
            competitor: input.competitor,
            title: input.title,
            body: input.body,
            proof_points: input.proof_points,
            call_to_action: input.call_to_action,
        };
        let doc = super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(MessagePayload { message: Message(doc) })
    }

    /// Edit a message: a new version (proposed when the message is agreed; the agreed
    /// one stays in force until then).
    async fn update_message(&self, ctx: &Context<'_>, input: UpdateMessageInput) -> Result<MessagePayload> {
        let id = parse_id("id", &input.id)?;
        let kind = keep_or_set("kind", input.kind)?;
        let persona_id = clearable_id("personaId", input.persona_id)?;
        let journey_stage_id = clearable_id("journeyStageId", input.journey_stage_id)?;
        let title = keep_or_set("title", input.title)?;
        let body = keep_or_set("body", input.body)?;
        let proof_points = keep_or_set("proofPoints", input.proof_points)?;
        let doc = super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: MessageBody| {
            Ok(MessageBody {
                kind: kind.unwrap_or(b.kind),
                persona_id: apply(b.persona_id, persona_id),
                journey_stage_id: apply(b.journey_stage_id, journey_stage_id),
                competitor: apply(b.competitor, clearable(input.competitor)),
                title: title.unwrap_or(b.title),
                body: body.unwrap_or(b.body),
                proof_points: proof_points.unwrap_or(b.proof_points),
                call_to_action: apply(b.call_to_action, clearable(input.call_to_action)),
            })
        })
        .await?;
        Ok(MessagePayload { message: Message(doc) })
    }
}

/// Queries of messages, the matrix and content.
#[derive(MergedObject, Default)]
pub struct MessagingQuery(MessageQuery, ContentQuery);

/// Mutations of messages and content.
#[derive(MergedObject, Default)]
pub struct MessagingMutation(MessageMutation, ContentMutation);
