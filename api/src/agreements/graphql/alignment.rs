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
