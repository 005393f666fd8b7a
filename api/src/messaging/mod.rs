//! Messaging: messages (agreed documents through the one workflow of
//! [`crate::agreements`]), the message matrix, content assets and content usage.
//!
//! A message sits in one *cell*: the GLOBAL message, a SEGMENT cell (persona ×
//! journey stage) or a BATTLECARD cell (one competitor). At most one message is in
//! force per cell: when a message is agreed, [`AgreedBody::on_agreed`] retires the one
//! it replaces in the same approval transaction. A document's key is its cell plus
//! its lower-cased title, so two messages with the same title never share a cell.

pub mod content;
pub mod graphql;

use std::collections::HashSet;

use async_graphql::{Enum, SimpleObject};
use entity::{AgreementStatus, DocumentKind};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agreements::{self, AgreedBody, Document, DocumentCriteria};
use crate::auth::Actor;
use crate::error::{ApiError, Result};
use crate::org::journey_stages;
use crate::personas::Persona;
use crate::validate::{self, Wording};

/// Which cell of the matrix a message fills.
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageKind {
    /// The one company-wide message.
    Global,
    /// The message for one persona at one journey stage.
    Segment,
    /// How to win against one competitor.
    Battlecard,
}

/// The body of one version of a message.
#[derive(SimpleObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(name = "MessageBody", complex)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// GLOBAL, SEGMENT (persona × journey stage) or BATTLECARD (competitor).
    pub kind: MessageKind,
    /// SEGMENT only: the persona.
    #[graphql(skip)]
    pub persona_id: Option<Uuid>,
    /// SEGMENT only: the journey stage.
    #[graphql(skip)]
    pub journey_stage_id: Option<Uuid>,
    /// BATTLECARD only: the competitor, such as "Globex".
    pub competitor: Option<String>,
    /// Headline of the message.
    pub title: String,
    /// The message itself.
    pub body: String,
    /// Facts that back it: numbers, customer quotes, awards.
    pub proof_points: Vec<String>,
    /// What the buyer should do next, such as "Book a 20-minute demo".
    pub call_to_action: Option<String>,
}

/// One cell of the message matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    Global,
    Segment {
        persona_id: Uuid,
        journey_stage_id: Uuid,
    },
    /// The lower-cased competitor.
    Battlecard(String),
}

impl Message {
    /// The cell this message fills (once validated).
    pub fn cell(&self) -> Cell {
        match (self.kind, self.persona_id, self.journey_stage_id) {
            (MessageKind::Segment, Some(persona_id), Some(journey_stage_id)) => {
                Cell::Segment { persona_id, journey_stage_id }
            }
            (MessageKind::Battlecard, _, _) => {
                Cell::Battlecard(self.competitor.as_deref().unwrap_or_default().trim().to_lowercase())
            }
            _ => Cell::Global,
        }
    }

    fn cell_key(&self) -> String {
        match self.cell() {
            Cell::Global => "global".to_owned(),
            Cell::Segment { persona_id, journey_stage_id } => format!("segment:{persona_id}:{journey_stage_id}"),
            Cell::Battlecard(competitor) => format!("battlecard:{competitor}"),
        }
    }
}

fn absent(field: &str, value: bool, kind: &str) -> Result<()> {
    if value {
        return Err(ApiError::bad_input(field, format!("a {kind} message has no {field}")));
    }
    Ok(())
}

inventory::submit! { agreements::OnAgreed::of::<Message>() }

impl AgreedBody for Message {
    const KIND: DocumentKind = DocumentKind::Message;

    fn validate(self) -> Result<Self> {
        let competitor = validate::optional_text("competitor", self.competitor.as_deref(), validate::SHORT)?;
        match self.kind {
            MessageKind::Global => {
                absent("personaId", self.persona_id.is_some(), "GLOBAL")?;
                absent("journeyStageId", self.journey_stage_id.is_some(), "GLOBAL")?;
                absent("competitor", competitor.is_some(), "GLOBAL")?;
            }
            MessageKind::Segment => {
                if self.persona_id.is_none() {
                    return Err(ApiError::bad_input("personaId", "a SEGMENT message needs a persona"));
                }
                if self.journey_stage_id.is_none() {
                    return Err(ApiError::bad_input("journeyStageId", "a SEGMENT message needs a journey stage"));
                }
                absent("competitor", competitor.is_some(), "SEGMENT")?;
            }
            MessageKind::Battlecard => {
                if competitor.is_none() {
                    return Err(ApiError::bad_input("competitor", "a BATTLECARD message names a competitor"));
                }
                absent("personaId", self.persona_id.is_some(), "BATTLECARD")?;
                absent("journeyStageId", self.journey_stage_id.is_some(), "BATTLECARD")?;
            }
        }
        Ok(Self {
            kind: self.kind,
            persona_id: self.persona_id,
            journey_stage_id: self.journey_stage_id,
            competitor,
            title: validate::text_with("title", &self.title, validate::SHORT, Wording::Range)?,
            body: validate::text_with("body", &self.body, validate::LONG, Wording::Range)?,
            proof_points: validate::text_list("proofPoints", self.proof_points, 20, 500)?,
            call_to_action: validate::optional_text("callToAction", self.call_to_action.as_deref(), 500)?,
        })
    }

    /// The cell and the lower-cased title.
    fn key(&self) -> String {
        format!("{}:{}", self.cell_key(), self.title.trim().to_lowercase())
    }

    fn title(&self) -> String {
        self.title.clone()
    }

    fn references(&self) -> Vec<(&'static str, DocumentKind, Uuid)> {
        self.persona_id.map(|id| ("personaId", DocumentKind::Persona, id)).into_iter().collect()
    }

    /// Retire every other message in force in this message's cell: one in force per cell.
    async fn on_agreed(
        txn: &DatabaseTransaction,
        actor: &Actor,
        doc_id: Uuid,
        _version: i32,
        body: &Self,
        _confirmed: &agreements::Confirmations,
    ) -> Result<()> {
        let cell = body.cell();
        let others: Vec<Uuid> = entity::document::Entity::find()
            .select_only()
            .column(entity::document::Column::Id)
            .filter(entity::document::Column::OrgId.eq(actor.org_id))
            .filter(entity::document::Column::Kind.eq(DocumentKind::Message))
            .filter(entity::document::Column::Status.eq(AgreementStatus::Agreed))
            .filter(entity::document::Column::Id.ne(doc_id))
            .into_tuple()
            .all(txn)
            .await?;
        for doc in agreements::get_many::<Message>(txn, actor.org_id, &others).await? {
            if doc.in_force().is_none_or(|v| v.body.cell() != cell) {
                continue;
            }
            let locked = agreements::lock(txn, actor, DocumentKind::Message, doc.model.id).await?;
            if locked.status != AgreementStatus::Retired {
                agreements::retire_within(txn, actor, &locked).await?;
            }
        }
        Ok(())
    }
}

/// The organization's journey-stage ids (a handful).
async fn stage_ids(db: &impl ConnectionTrait, org_id: Uuid) -> Result<HashSet<Uuid>> {
    let ids: Vec<Uuid> = entity::journey_stage::Entity::find()
        .select_only()
        .column(entity::journey_stage::Column::Id)
        .filter(entity::journey_stage::Column::OrgId.eq(org_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.into_iter().collect())
}

fn check_stage(stages: &HashSet<Uuid>, body: &Message) -> Result<()> {
    match body.journey_stage_id {
        Some(id) if !stages.contains(&id) => Err(ApiError::bad_input("journeyStageId", "no such journey stage")),
        _ => Ok(()),
    }
}

/// Write a message. Journey stages are never removed, so checking the stage before
/// the workflow's transaction is safe; the persona is checked inside it.
#[tracing::instrument(skip(db, actor, body), fields(org = %actor.org_id))]
pub async fn create(
    db: &(impl crate::db::Transactions + ConnectionTrait),
    actor: &Actor,
    body: Message,
    propose: bool,
) -> Result<Document<Message>> {
    check_stage(&stage_ids(db, actor.org_id).await?, &body)?;
    agreements::create(db, actor, body, propose).await
}

/// Edit a message: a new version made by `patch` from the newest one (see
/// [`agreements::update`]).
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(
    db: &(impl crate::db::Transactions + ConnectionTrait),
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    propose: bool,
    patch: impl FnOnce(Message) -> Result<Message> + Send,
) -> Result<Document<Message>> {
    let stages = stage_ids(db, actor.org_id).await?;
    agreements::update(db, actor, id, expected_version, propose, |current| {
        let body = patch(current)?;
        check_stage(&stages, &body)?;
        Ok(body)
    })
    .await
}

/// Which messages to list; all given conditions must hold.
#[derive(Debug, Default, Clone)]
pub struct MessageCriteria {
    pub kind: Option<MessageKind>,
    pub persona_id: Option<Uuid>,
    pub journey_stage_id: Option<Uuid>,
    pub competitor: Option<String>,
    pub statuses: Vec<AgreementStatus>,
    pub search: Option<String>,
}

/// The version a message is known by: the one in force, else the newest.
pub fn current(doc: &Document<Message>) -> Option<&Message> {
    doc.in_force().or_else(|| doc.latest()).map(|v| &v.body)
}

/// Messages matching `criteria` (on the version in force, else the newest).
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &MessageCriteria,
) -> Result<Vec<Document<Message>>> {
    let documents = DocumentCriteria { statuses: criteria.statuses.clone(), search: criteria.search.clone() };
    let mut docs = agreements::list::<Message>(db, actor, &documents).await?;
    let competitor = criteria.competitor.as_deref().map(|c| c.trim().to_lowercase());
    docs.retain(|doc| {
        let Some(body) = current(doc) else { return false };
        criteria.kind.is_none_or(|k| body.kind == k)
            && criteria.persona_id.is_none_or(|p| body.persona_id == Some(p))
            && criteria.journey_stage_id.is_none_or(|j| body.journey_stage_id == Some(j))
            && competitor
                .as_deref()
                .is_none_or(|c| body.competitor.as_deref().map(str::to_lowercase).as_deref() == Some(c))
    });
    Ok(docs)
}

/// One cell of the matrix: a persona at a journey stage.
#[derive(Debug, Clone)]
pub struct MatrixCell {
    pub persona: Document<Persona>,
    pub stage: entity::journey_stage::Model,
    /// The message in force in this cell.
    pub in_force: Option<Document<Message>>,
    /// A message proposed for this cell, awaiting approval.
    pub pending: Option<Document<Message>>,
}

/// Personas × journey stages, with the GLOBAL message and the battlecards.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub personas: Vec<Document<Persona>>,
    pub stages: Vec<entity::journey_stage::Model>,
    /// Row by row: every stage of the first persona, then of the next.
    pub cells: Vec<MatrixCell>,
    pub global: Option<Document<Message>>,
    pub battlecards: Vec<Document<Message>>,
}

impl Matrix {
    /// Cells with a message in force.
    pub fn covered(&self) -> usize {
        self.cells.iter().filter(|c| c.in_force.is_some()).count()
    }

    /// Share of cells with a message in force (0–1); 0 for an empty matrix.
    pub fn coverage(&self) -> f64 {
        if self.cells.is_empty() { 0.0 } else { self.covered() as f64 / self.cells.len() as f64 }
    }
}

/// Build the matrix: rows are the personas not retired, columns the journey stages.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn matrix(db: &impl ConnectionTrait, actor: &Actor) -> Result<Matrix> {
    let live = vec![AgreementStatus::Draft, AgreementStatus::Proposed, AgreementStatus::Agreed];
    let personas =
        agreements::list::<Persona>(db, actor, &DocumentCriteria { statuses: live.clone(), search: None }).await?;
    let stages = journey_stages::list(db, actor).await?;
    let messages = agreements::list::<Message>(db, actor, &DocumentCriteria { statuses: live, search: None }).await?;
    let in_cell = |cell: &Cell, pick: fn(&Document<Message>) -> Option<&Message>| {
        messages.iter().find(|d| pick(d).is_some_and(|b| &b.cell() == cell)).cloned()
    };
    let in_force: fn(&Document<Message>) -> Option<&Message> = |d| d.in_force().map(|v| &v.body);
    let pending: fn(&Document<Message>) -> Option<&Message> = |d| d.pending().map(|v| &v.body);
    let mut cells = Vec::with_capacity(personas.len() * stages.len());
    for persona in &personas {
        for stage in &stages {
            let cell = Cell::Segment { persona_id: persona.model.id, journey_stage_id: stage.id };
            cells.push(MatrixCell {
                persona: persona.clone(),
                stage: stage.clone(),
                in_force: in_cell(&cell, in_force),
                pending: in_cell(&cell, pending),
            });
        }
    }
    let global = in_cell(&Cell::Global, in_force);
    let battlecards = messages
        .iter()
        .filter(|d| d.in_force().is_some_and(|v| v.body.kind == MessageKind::Battlecard))
        .cloned()
        .collect();
    Ok(Matrix { personas, stages, cells, global, battlecards })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: MessageKind) -> Message {
        Message {
            kind,
            persona_id: None,
            journey_stage_id: None,
            competitor: None,
            title: " Faster close ".into(),
            body: "We close books in days.".into(),
            proof_points: vec![],
            call_to_action: None,
        }
    }

    #[test]
    fn each_kind_names_exactly_its_cell() {
        assert!(message(MessageKind::Global).validate().is_ok());
        let segment = message(MessageKind::Segment).validate();
        assert!(matches!(segment, Err(ApiError::BadUserInput { field: Some(f), .. }) if f == "personaId"));
        let battlecard = Message { competitor: Some(" Globex ".into()), ..message(MessageKind::Battlecard) };
        let battlecard = battlecard.validate().unwrap();
        assert_eq!(battlecard.cell(), Cell::Battlecard("globex".into()));
        assert_eq!(battlecard.key(), "battlecard:globex:faster close");
        let global_with_competitor = Message { competitor: Some("Globex".into()), ..message(MessageKind::Global) };
        assert!(global_with_competitor.validate().is_err());
    }
}
