//! The alignment overview a portal's home page renders in one call: how many
//! documents of each kind are agreed, pending and retired; what awaits the caller's
//! approval; and proposals one team approved that wait for the other.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::document::{Column, Entity as Documents};
use entity::{AgreementStatus, DocumentKind, Team, approval};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{approving_teams, can_approve_documents, can_read_agreements, require};
use crate::error::Result;

/// Documents of one kind, by where they stand.
#[derive(Debug, Clone)]
pub struct DocumentCounts {
    /// The kind counted.
    pub kind: DocumentKind,
    /// Documents still in DRAFT.
    pub drafts: i32,
    /// Documents with a proposal awaiting approval (first versions and changes to agreed ones).
    pub pending: i32,
    /// Documents with an agreed version in force.
    pub agreed: i32,
    /// Retired documents.
    pub retired: i32,
}

/// A proposed version and the approvals it has and lacks.
#[derive(Debug, Clone)]
pub struct PendingProposal {
    /// Kind of the document.
    pub kind: DocumentKind,
    /// Id of the document.
    pub id: Uuid,
    /// Display name of the proposed version.
    pub title: String,
    /// The version number to approve.
    pub version: i32,
    /// When it was proposed (UTC).
    pub proposed_at: Option<DateTime<Utc>>,
    /// Teams that approved this version.
    pub approved_by: Vec<Team>,
    /// Teams whose approval is still missing.
    pub waiting_for: Vec<Team>,
}

/// The state of the alignment contract.
#[derive(Debug, Clone)]
pub struct AlignmentOverview {
    /// Counts per document kind.
    pub documents: Vec<DocumentCounts>,
    /// Proposals your team has not approved yet and you may approve; oldest first.
    pub awaiting_my_approval: Vec<PendingProposal>,
    /// Proposals approved by some teams but not all: waiting for the other side; oldest first.
    pub awaiting_other_team: Vec<PendingProposal>,
}

/// Build the overview for the caller.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn overview(db: &impl ConnectionTrait, actor: &Actor) -> Result<AlignmentOverview> {
    require(can_read_agreements(actor), "read agreed documents")?;
    let approvers = crate::org::settings(db, actor.org_id).await?.approvers();
    let required = approving_teams(approvers);
    let docs = Documents::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .order_by_asc(Column::ProposedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut documents: Vec<DocumentCounts> = entity::DocumentKind::iter()
        .map(|kind| DocumentCounts { kind, drafts: 0, pending: 0, agreed: 0, retired: 0 })
        .collect();
    for doc in &docs {
        let Some(counts) = documents.iter_mut().find(|c| c.kind == doc.kind) else {
            continue;
        };
        match doc.status {
            AgreementStatus::Draft => counts.drafts += 1,
            AgreementStatus::Agreed => counts.agreed += 1,
            AgreementStatus::Retired => counts.retired += 1,
            AgreementStatus::Proposed => {}
        }
        if doc.pending_version.is_some() {
            counts.pending += 1;
        }
    }

    let pending: Vec<_> = docs.iter().filter(|d| d.pending_version.is_some()).collect();
    let approvals = approval::Entity::find()
        .filter(approval::Column::OrgId.eq(actor.org_id))
        .filter(approval::Column::DocumentId.is_in(pending.iter().map(|d| d.id)))
        .all(db)
        .await?;
    let mut teams_of: HashMap<(Uuid, i32), HashSet<Team>> = HashMap::new();
    for a in approvals {
        teams_of.entry((a.document_id, a.version)).or_default().insert(a.team);
    }
    let my_team = actor.team().filter(|_| can_approve_documents(actor, approvers));
    let (mut awaiting_my_approval, mut awaiting_other_team) = (Vec::new(), Vec::new());
    for doc in pending {
        let Some(version) = doc.pending_version else { continue };
        let proposal = proposal(doc, version, &required, teams_of.remove(&(doc.id, version)).unwrap_or_default());
        if my_team.is_some_and(|team| proposal.waiting_for.contains(&team)) {
            awaiting_my_approval.push(proposal.clone());
        }
        if !proposal.approved_by.is_empty() && !proposal.waiting_for.is_empty() {
            awaiting_other_team.push(proposal);
        }
    }
    Ok(AlignmentOverview { documents, awaiting_my_approval, awaiting_other_team })
}

/// `doc`'s proposed `version` with the teams that approved it.
fn proposal(
    doc: &entity::document::Model,
    version: i32,
    required: &[Team],
    approved: HashSet<Team>,
) -> PendingProposal {
    PendingProposal {
        kind: doc.kind,
        id: doc.id,
        title: doc.title.clone(),
        version,
        proposed_at: doc.proposed_at,
        approved_by: required.iter().copied().filter(|t| approved.contains(t)).collect(),
        waiting_for: required.iter().copied().filter(|t| !approved.contains(t)).collect(),
    }
}

/// Where one document stands for the caller.
#[derive(Debug, Clone)]
pub struct DocumentState {
    pub kind: DocumentKind,
    pub id: Uuid,
    /// Display name of its latest version.
    pub title: String,
    pub status: AgreementStatus,
    /// The proposal awaiting approval, if any.
    pub pending: Option<PendingProposal>,
    /// The pending proposal waits for the caller's team and the caller may approve it.
    pub awaiting_my_approval: bool,
}

/// One document as the overview would show it to the caller; another organization's
/// is NOT_FOUND.
pub async fn state(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<DocumentState> {
    require(can_read_agreements(actor), "read agreed documents")?;
    let doc = crate::db::find_in_org::<Documents>(db, actor.org_id, id, "document").await?;
    let approvers = crate::org::settings(db, actor.org_id).await?.approvers();
    let pending = match doc.pending_version {
        Some(version) => {
            let approved = approval::Entity::find()
                .filter(approval::Column::OrgId.eq(actor.org_id))
                .filter(approval::Column::DocumentId.eq(doc.id))
                .filter(approval::Column::Version.eq(version))
                .all(db)
                .await?
                .into_iter()
                .map(|a| a.team)
                .collect();
            Some(proposal(&doc, version, &approving_teams(approvers), approved))
        }
        None => None,
    };
    let my_team = actor.team().filter(|_| can_approve_documents(actor, approvers));
    let awaiting_my_approval =
        pending.as_ref().is_some_and(|p| my_team.is_some_and(|team| p.waiting_for.contains(&team)));
    Ok(DocumentState {
        kind: doc.kind,
        id: doc.id,
        title: doc.title,
        status: doc.status,
        pending,
        awaiting_my_approval,
    })
}
