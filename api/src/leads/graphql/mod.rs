//! GraphQL types and resolvers of the shared customer data, one file per domain file of
//! [`crate::leads`]: accounts, leads and their lifecycle, activities, engagement and the
//! import. This module holds what they share and the two roots.

mod accounts;
mod activities;
mod engagement;
mod import;
mod leads;
mod lifecycle;
mod live;

use async_graphql::{Enum, ID, InputObject, MergedObject};
// The sort key of lists ordered by time, for the child modules.
use crate::db::keyset::time_key;

pub use accounts::*;
pub use activities::*;
pub use engagement::*;
pub use import::*;
pub use leads::*;
pub use lifecycle::*;
pub use live::*;

/// Where a lead is in the shared funnel. Allowed moves: NEW → ENGAGED → MQL → SAL → SQL →
/// OPPORTUNITY → CUSTOMER; NEW → MQL; NEW…SQL → RECYCLED or DISQUALIFIED; OPPORTUNITY →
/// RECYCLED (a lost deal); RECYCLED → ENGAGED or MQL.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::LifecycleStage")]
pub enum LifecycleStage {
    /// Just created; nothing known about interest yet.
    New,
    /// Has engaged with marketing (visited, opened, downloaded…).
    Engaged,
    /// Marketing-qualified: meets the agreed MQL definition.
    Mql,
    /// Sales-accepted: sales accepted the handover.
    Sal,
    /// Sales-qualified: sales confirmed need, budget, authority and timing.
    Sql,
    /// An opportunity (deal) is open.
    Opportunity,
    /// Bought: a deal was won.
    Customer,
    /// Handed back to marketing for nurture; may re-enter as ENGAGED or MQL.
    Recycled,
    /// Not a fit; final.
    Disqualified,
}

/// How hot a lead is, from its score.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::Temperature")]
pub enum Temperature {
    /// Below the WARM threshold.
    Cold,
    /// At or above the WARM threshold.
    Warm,
    /// At or above the HOT threshold.
    Hot,
}

/// Names a record to archive.
#[derive(InputObject)]
pub struct ArchiveInput {
    /// The record's id.
    pub id: ID,
    /// The `version` you read; a different stored version is CONFLICT.
    pub expected_version: Option<i32>,
}

/// Queries of accounts, leads and activities.
#[derive(MergedObject, Default)]
pub struct LeadsQuery(LeadQuery, AccountQuery, ActivityQuery, LifecycleQuery);

/// Mutations of accounts, leads, activities, engagement and the import.
#[derive(MergedObject, Default)]
pub struct LeadsMutation(AccountMutation, LeadMutation, ActivityMutation, EngagementMutation, ImportMutation);
