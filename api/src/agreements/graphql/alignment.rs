//! The alignment overview: the GraphQL face of `agreements::alignment`.

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::DocumentKind;
use crate::agreements::alignment::{AlignmentOverview, DocumentCounts, PendingProposal};
use crate::org::graphql::Team;

fn teams(teams: &[entity::Team]) -> Vec<Team> {
    teams.iter().map(|&t| t.into()).collect()
}

/// Documents of one kind, by where they stand.
#[Object]
impl DocumentCounts {
    /// The kind counted.
    async fn kind(&self) -> DocumentKind {
        self.kind.into()
    }

    /// Documents still in DRAFT.
    async fn drafts(&self) -> i32 {
        self.drafts
    }

    /// Documents with a proposal awaiting approval (first versions and changes to agreed ones).
    async fn pending(&self) -> i32 {
        self.pending
    }

    /// Documents with an agreed version in force.
    async fn agreed(&self) -> i32 {
        self.agreed
    }

    /// Retired documents.
    async fn retired(&self) -> i32 {
        self.retired
    }
}

/// A proposed version and the approvals it has and lacks.
#[Object]
impl PendingProposal {
    /// Kind of the document.
    async fn kind(&self) -> DocumentKind {
        self.kind.into()
    }

    /// Id of the document.
    async fn id(&self) -> ID {
        self.id.into()
    }

    /// Display name of the proposed version.
    async fn title(&self) -> &str {
        &self.title
    }

    /// The version number to approve.
    async fn version(&self) -> i32 {
        self.version
    }

    /// When it was proposed (UTC).
    async fn proposed_at(&self) -> Option<DateTime<Utc>> {
        self.proposed_at
    }

    /// Teams that approved this version.
    async fn approved_by(&self) -> Vec<Team> {
        teams(&self.approved_by)
    }

    /// Teams whose approval is still missing.
    async fn waiting_for(&self) -> Vec<Team> {
        teams(&self.waiting_for)
    }
}

/// The state of the alignment contract.
#[Object]
impl AlignmentOverview {
    /// Counts per document kind.
    async fn documents(&self) -> &[DocumentCounts] {
        &self.documents
    }

    /// Proposals your team has not approved yet and you may approve; oldest first.
    async fn awaiting_my_approval(&self) -> &[PendingProposal] {
        &self.awaiting_my_approval
    }

    /// Proposals approved by some teams but not all: waiting for the other side; oldest first.
    async fn awaiting_other_team(&self) -> &[PendingProposal] {
        &self.awaiting_other_team
    }
}

/// What happened to an agreed document.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignmentEventKind {
    /// A version was proposed for approval.
    Proposed,
    /// A team approved the proposed version (others may still be missing).
    Approved,
    /// A team withdrew its approval of the proposed version.
    ApprovalWithdrawn,
    /// Every approving team approved: the version is in force.
    Agreed,
    /// The document was retired: no version is in force any more.
    Retired,
}

impl AlignmentEventKind {
    /// Whether an outbox event kind such as `sla.agreed` may be an alignment event.
    fn wanted(kind: &str) -> bool {
        let Some((entity, action)) = kind.split_once('.') else { return false };
        <entity::DocumentKind as sea_orm::Iterable>::iter().any(|k| crate::agreements::entity_name(k) == entity)
            && matches!(
                action,
                "created" | "revised" | "proposed" | "approved" | "approvalWithdrawn" | "agreed" | "retired"
            )
    }

    /// The kind of an outbox event such as `sla.agreed`, of any document kind: a
    /// document created or revised straight into a proposal is PROPOSED.
    fn of(event: &entity::outbox_event::Model) -> Option<Self> {
        if !Self::wanted(&event.kind) {
            return None;
        }
        let (_, action) = event.kind.split_once('.')?;
        match action {
            "created" => (event.payload["status"] == "PROPOSED").then_some(Self::Proposed),
            "revised" => (event.payload["draft"] == false).then_some(Self::Proposed),
            "proposed" => Some(Self::Proposed),
            "approved" => Some(Self::Approved),
            "approvalWithdrawn" => Some(Self::ApprovalWithdrawn),
            "agreed" => Some(Self::Agreed),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// Which alignment events to receive; every condition given must hold.
#[derive(async_graphql::InputObject, Default)]
pub struct AlignmentEventFilter {
    /// Only these kinds of event.
    pub kinds: Option<Vec<AlignmentEventKind>>,
    /// Only documents of these kinds.
    pub document_kinds: Option<Vec<DocumentKind>>,
    /// true: only documents whose proposal now awaits your approval.
    pub awaiting_my_approval: Option<bool>,
}

/// One step of an agreed document's approval workflow.
#[derive(async_graphql::SimpleObject)]
#[graphql(complex)]
pub struct AlignmentEvent {
    /// Id of the event; the same event delivered twice (after a reconnect) has the same id.
    pub id: ID,
    /// What happened.
    pub kind: AlignmentEventKind,
    /// When (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Kind of the document.
    pub document_kind: DocumentKind,
    /// Id of the document.
    pub document_id: ID,
    /// Display name of its latest version.
    pub title: String,
    /// Where the document stands now.
    pub status: super::AgreementStatus,
    /// Its proposal awaiting approval now, if any.
    pub proposal: Option<PendingProposal>,
    /// The proposal now waits for your team and you may approve it.
    pub awaiting_my_approval: bool,
}

#[async_graphql::ComplexObject]
impl AlignmentEvent {
    /// The document, as it is now.
    async fn document(&self, ctx: &async_graphql::Context<'_>) -> crate::error::Result<super::AgreedDocument> {
        let id = crate::graphql::parse_id("documentId", &self.document_id)?;
        super::load_document(ctx, self.document_kind.into(), id).await
    }
}

/// Live changes to the alignment contract.
#[derive(Default)]
pub struct AlignmentSubscription;

#[async_graphql::Subscription]
impl AlignmentSubscription {
    /// Agreed documents proposed, approved, agreed and retired, as they commit, with
    /// whether each now awaits your approval. API keys need `EVENTS_READ`.
    async fn alignment_events(
        &self,
        ctx: &async_graphql::Context<'_>,
        filter: Option<AlignmentEventFilter>,
    ) -> crate::error::Result<futures_util::stream::BoxStream<'static, crate::error::Result<AlignmentEvent>>> {
        use crate::auth::permissions::{can_read_agreements, require};
        use futures_util::FutureExt;
        require(can_read_agreements(crate::graphql::actor(ctx)?), "read agreed documents")?;
        let filter = filter.unwrap_or_default();
        let kinds = std::sync::Arc::new(crate::graphql::live::distinct(filter.kinds));
        let document_kinds: Option<Vec<entity::DocumentKind>> = crate::graphql::live::distinct(
            filter.document_kinds.map(|kinds| kinds.into_iter().map(Into::into).collect()),
        );
        let document_kinds = std::sync::Arc::new(document_kinds);
        let awaiting = filter.awaiting_my_approval;
        crate::graphql::live::subscribe(
            ctx,
            AlignmentEventKind::wanted,
            std::sync::Arc::new(move |crate::graphql::live::Delivery { db, actor }, event| {
                let (kinds, document_kinds) = (kinds.clone(), document_kinds.clone());
                async move {
                    let (Some(kind), Some(id)) = (AlignmentEventKind::of(&event), event.entity_id) else {
                        return Ok(None);
                    };
                    if kinds.as_ref().as_ref().is_some_and(|kinds| !kinds.contains(&kind)) {
                        return Ok(None);
                    }
                    let state = crate::agreements::alignment::state(&db, &actor, id).await?;
                    let kind_ok = document_kinds.as_ref().as_ref().is_none_or(|kinds| kinds.contains(&state.kind));
                    if !kind_ok || awaiting.is_some_and(|wanted| wanted != state.awaiting_my_approval) {
                        return Ok(None);
                    }
                    Ok(Some(AlignmentEvent {
                        id: event.id.into(),
                        kind,
                        occurred_at: event.at,
                        document_kind: state.kind.into(),
                        document_id: state.id.into(),
                        title: state.title,
                        status: state.status.into(),
                        proposal: state.pending,
                        awaiting_my_approval: state.awaiting_my_approval,
                    }))
                }
                .boxed()
            }),
        )
    }
}
