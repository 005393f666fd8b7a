//! Relay global object identification: the `Node` interface of every identifiable
//! type, and `node(id:)` / `nodes(ids:)` on Query.
//!
//! A global id is the record's own id: UUIDv7, unique across tables, so it needs no
//! type prefix. One statement ([`crate::db::locate::locate`]) finds which table holds
//! each id within the caller's organization; each type's DataLoader then loads its
//! rows, once the caller passes the read rule the type's own queries apply. An id that
//! is malformed, unknown, another organization's, or of a type the caller may not
//! read resolves to `null` without an error: the four are never told apart.
//!
//! Adding a node type: a `Node` variant, a [`Kind`] with its table, its read rule in
//! [`readable`] and its loader in [`load`]; tests/e2e/relay.rs reads `implements Node`
//! from schema.graphql and fails until the new type has a test case.

use std::collections::HashMap;

use async_graphql::{Context, ID, Interface, Object};
use entity::DocumentKind;
use futures_util::future::try_join_all;
use sea_orm::{ActiveEnum, EntityName};
use uuid::Uuid;

use super::pagination::MAX_PAGE_SIZE;
use super::{actor, db, loaders};
use crate::agreements::graphql::{Definition, Goal, IdealCustomerProfile, Sla, Taxonomy};
use crate::auth::Actor;
use crate::auth::permissions::{
    Scope, can_administer, can_read, can_read_agreements, can_read_audit_log, can_read_campaigns, can_read_goals,
};
use crate::campaigns::graphql::Campaign;
use crate::db::locate::{Home, Label, locate};
use crate::error::{ApiError, Result};
use crate::events::graphql::AuditEntry;
use crate::feedback::graphql::{ActionItem, Feedback, FeedbackEndorsement, ReviewMeeting};
use crate::handover::graphql::Handover;
use crate::leads::graphql::{Account, Activity, EngagementEvent, Lead};
use crate::messaging::graphql::{ContentAsset, ContentUsage, Message};
use crate::org::graphql::journey_stages::JourneyStage;
use crate::org::graphql::{ApiKey, Organization, User};
use crate::personas::graphql::Persona;
use crate::pipeline::graphql::Opportunity;
use crate::scoring::graphql::{RescoreJob, ScoringModel};

/// Ids one `nodes` request may ask for: as many as one page of a list.
pub const MAX_IDS: usize = MAX_PAGE_SIZE as usize;

/// An object with a global id. Pass its `id` to `node(id:)` (or many to `nodes(ids:)`)
/// to fetch it again, whatever its type; select its fields with `... on Lead { … }`.
#[derive(Interface, Clone)]
// A node lives for one response, at most 100 of them: boxing the large ones saves nothing.
#[allow(clippy::large_enum_variant)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global id: the object's stable id, unique across every type of the API. Treat it as opaque."
))]
pub enum Node {
    Account(Account),
    ActionItem(ActionItem),
    Activity(Activity),
    ApiKey(ApiKey),
    AuditEntry(AuditEntry),
    Campaign(Campaign),
    ContentAsset(ContentAsset),
    ContentUsage(ContentUsage),
    Definition(Definition),
    EngagementEvent(EngagementEvent),
    Feedback(Feedback),
    FeedbackEndorsement(FeedbackEndorsement),
    Goal(Goal),
    Handover(Handover),
    IdealCustomerProfile(IdealCustomerProfile),
    JourneyStage(JourneyStage),
    Lead(Lead),
    Message(Message),
    Opportunity(Opportunity),
    Organization(Organization),
    Persona(Persona),
    RescoreJob(RescoreJob),
    ReviewMeeting(ReviewMeeting),
    ScoringModel(ScoringModel),
    Sla(Sla),
    Taxonomy(Taxonomy),
    User(User),
}

/// The node types stored in an organization's tables (the organization itself is
/// the caller's own and needs no lookup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Account,
    ActionItem,
    Activity,
    ApiKey,
    AuditEntry,
    Campaign,
    ContentAsset,
    ContentUsage,
    Definition,
    EngagementEvent,
    Feedback,
    FeedbackEndorsement,
    Goal,
    Handover,
    IdealCustomerProfile,
    JourneyStage,
    Lead,
    Message,
    Opportunity,
    Persona,
    RescoreJob,
    ReviewMeeting,
    ScoringModel,
    Sla,
    Taxonomy,
    User,
}

/// The table of each kind that has one of its own; agreed documents share `documents`.
fn tables() -> [(&'static str, Kind); 19] {
    use entity::*;
    [
        (account::Entity.table_name(), Kind::Account),
        (action_item::Entity.table_name(), Kind::ActionItem),
        (activity::Entity.table_name(), Kind::Activity),
        (api_key::Entity.table_name(), Kind::ApiKey),
        (audit_log::Entity.table_name(), Kind::AuditEntry),
        (campaign::Entity.table_name(), Kind::Campaign),
        (content_asset::Entity.table_name(), Kind::ContentAsset),
        (content_usage::Entity.table_name(), Kind::ContentUsage),
        (engagement_event::Entity.table_name(), Kind::EngagementEvent),
        (feedback::Entity.table_name(), Kind::Feedback),
        (feedback_endorsement::Entity.table_name(), Kind::FeedbackEndorsement),
        (goal::Entity.table_name(), Kind::Goal),
        (handover::Entity.table_name(), Kind::Handover),
        (journey_stage::Entity.table_name(), Kind::JourneyStage),
        (lead::Entity.table_name(), Kind::Lead),
        (opportunity::Entity.table_name(), Kind::Opportunity),
        (rescore_job::Entity.table_name(), Kind::RescoreJob),
        (review_meeting::Entity.table_name(), Kind::ReviewMeeting),
        (user::Entity.table_name(), Kind::User),
    ]
}

/// Every table a node may live in: a table per kind, and the documents by their `kind`.
fn homes() -> Vec<Home> {
    let documents = Home { table: entity::document::Entity.table_name(), label: Label::Column("kind") };
    tables().iter().map(|(table, _)| Home { table, label: Label::Table }).chain([documents]).collect()
}

/// The kind a [`locate`] label names: a table's name, or an agreed document's kind.
fn kind_of(label: &str) -> Option<Kind> {
    if let Some((_, kind)) = tables().into_iter().find(|(table, _)| *table == label) {
        return Some(kind);
    }
    Some(match DocumentKind::try_from_value(&label.to_owned()).ok()? {
        DocumentKind::Definition => Kind::Definition,
        DocumentKind::IdealCustomerProfile => Kind::IdealCustomerProfile,
        DocumentKind::Persona => Kind::Persona,
        DocumentKind::Sla => Kind::Sla,
        DocumentKind::ScoringModel => Kind::ScoringModel,
        DocumentKind::Message => Kind::Message,
        DocumentKind::Taxonomy => Kind::Taxonomy,
    })
}

/// Whether the caller may read nodes of `kind`: the rule of the type's own query,
/// named beside each arm (tests/e2e/relay.rs checks they agree).
fn readable(actor: &Actor, kind: Kind) -> bool {
    match kind {
        // leads::get, accounts::get, activities::list, engagement::list, pipeline::get,
        // handover::get, rescore::latest.
        Kind::Lead
        | Kind::Account
        | Kind::Activity
        | Kind::EngagementEvent
        | Kind::Opportunity
        | Kind::Handover
        | Kind::RescoreJob => can_read(actor, Scope::LeadsRead),
        // users::get.
        Kind::User => can_read(actor, Scope::OrgRead),
        // api_keys::list.
        Kind::ApiKey => can_administer(actor),
        // audit::list.
        Kind::AuditEntry => can_read_audit_log(actor),
        // agreements::get, journey_stages::list.
        Kind::Definition
        | Kind::IdealCustomerProfile
        | Kind::Persona
        | Kind::Sla
        | Kind::ScoringModel
        | Kind::Message
        | Kind::Taxonomy
        | Kind::JourneyStage => can_read_agreements(actor),
        // goals::list.
        Kind::Goal => can_read_goals(actor),
        // campaigns::get.
        Kind::Campaign => can_read_campaigns(actor),
        // content::get and feedback::get; a use is read with its asset, an endorsement
        // with its feedback.
        Kind::ContentAsset | Kind::ContentUsage | Kind::Feedback | Kind::FeedbackEndorsement => {
            can_read(actor, Scope::ContentRead)
        }
        // meetings::get; action items are read with their meeting.
        Kind::ReviewMeeting | Kind::ActionItem => can_read(actor, Scope::KpisRead),
    }
}

/// Nodes of one kind by id, through the kind's DataLoader: one statement per kind.
async fn load(ctx: &Context<'_>, actor: &Actor, kind: Kind, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Node>> {
    fn nodes<M>(rows: HashMap<Uuid, M>, node: impl Fn(M) -> Node) -> HashMap<Uuid, Node> {
        rows.into_iter().map(|(id, row)| (id, node(row))).collect()
    }
    let all = loaders(ctx)?;
    let more = all.nodes();
    Ok(match kind {
        Kind::Account => nodes(all.accounts.load_many(ids).await?, |m| Node::Account(m.into())),
        Kind::ActionItem => nodes(more.action_items.load_many(ids).await?, |m| Node::ActionItem(ActionItem(m))),
        Kind::Activity => nodes(more.activities.load_many(ids).await?, |m| Node::Activity(m.into())),
        Kind::ApiKey => nodes(more.api_keys.load_many(ids).await?, |m| Node::ApiKey(m.into())),
        Kind::AuditEntry => nodes(more.audit_entries.load_many(ids).await?, |m| Node::AuditEntry(m.into())),
        Kind::Campaign => nodes(more.campaigns.load_many(ids).await?, |m| Node::Campaign(m.into())),
        Kind::ContentAsset => nodes(more.content_assets.load_many(ids).await?, |m| Node::ContentAsset(ContentAsset(m))),
        Kind::ContentUsage => nodes(more.content_usages.load_many(ids).await?, |m| Node::ContentUsage(ContentUsage(m))),
        Kind::Definition => nodes(more.definitions.load_many(ids).await?, |d| Node::Definition(Definition(d))),
        Kind::EngagementEvent => {
            nodes(more.engagement_events.load_many(ids).await?, |m| Node::EngagementEvent(m.into()))
        }
        Kind::Feedback => {
            let thresholds = crate::feedback::thresholds(db(ctx), actor.org_id).await?;
            nodes(more.feedback.load_many(ids).await?, |model| Node::Feedback(Feedback { model, thresholds }))
        }
        Kind::FeedbackEndorsement => nodes(more.feedback_endorsements.load_many(ids).await?, |m| {
            Node::FeedbackEndorsement(FeedbackEndorsement(m))
        }),
        Kind::Goal => nodes(more.goals.load_many(ids).await?, |m| Node::Goal(m.into())),
        Kind::Handover => nodes(more.handovers.load_many(ids).await?, |m| Node::Handover(m.into())),
        Kind::IdealCustomerProfile => {
            nodes(all.icps.load_many(ids).await?, |d| Node::IdealCustomerProfile(IdealCustomerProfile(d)))
        }
        Kind::JourneyStage => nodes(all.journey_stages.load_many(ids).await?, |m| Node::JourneyStage(m.into())),
        Kind::Lead => nodes(all.leads.load_many(ids).await?, |m| Node::Lead(m.into())),
        Kind::Message => nodes(all.messages.load_many(ids).await?, |d| Node::Message(Message(d))),
        Kind::Opportunity => nodes(all.opportunities.load_many(ids).await?, |m| Node::Opportunity(m.into())),
        Kind::Persona => nodes(all.personas.load_many(ids).await?, |d| Node::Persona(Persona(d))),
        Kind::RescoreJob => nodes(more.rescore_jobs.load_many(ids).await?, |m| Node::RescoreJob(m.into())),
        Kind::ReviewMeeting => {
            nodes(more.review_meetings.load_many(ids).await?, |m| Node::ReviewMeeting(ReviewMeeting(m)))
        }
        Kind::ScoringModel => nodes(more.scoring_models.load_many(ids).await?, |d| Node::ScoringModel(ScoringModel(d))),
        Kind::Sla => nodes(more.slas.load_many(ids).await?, |d| Node::Sla(Sla(d))),
        Kind::Taxonomy => nodes(more.taxonomies.load_many(ids).await?, |d| Node::Taxonomy(Taxonomy(d))),
        Kind::User => nodes(all.users.load_many(ids).await?, |m| Node::User(m.into())),
    })
}

/// The node of each id, in the order of `ids`, `None` where there is none to show.
async fn resolve(ctx: &Context<'_>, ids: &[ID]) -> Result<Vec<Option<Node>>> {
    let actor = actor(ctx)?;
    let parsed: Vec<Option<Uuid>> = ids.iter().map(|id| Uuid::parse_str(id.as_str()).ok()).collect();
    let mut wanted: Vec<Uuid> = parsed.iter().flatten().copied().filter(|id| *id != actor.org_id).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut by_kind: HashMap<Kind, Vec<Uuid>> = HashMap::new();
    for (id, label) in locate(db(ctx), actor.org_id, &wanted, &homes()).await? {
        if let Some(kind) = kind_of(&label).filter(|kind| readable(actor, *kind)) {
            by_kind.entry(kind).or_default().push(id);
        }
    }
    let loaded = try_join_all(by_kind.into_iter().map(|(kind, ids)| load(ctx, actor, kind, ids))).await?;
    let mut found: HashMap<Uuid, Node> = loaded.into_iter().flatten().collect();
    if parsed.contains(&Some(actor.org_id)) {
        // The organization's own read rule lives in org::get; its refusal is a null like any other.
        match crate::org::get(db(ctx), actor).await {
            Ok(org) => {
                found.insert(actor.org_id, Node::Organization(org.into()));
            }
            Err(ApiError::Forbidden(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(parsed.into_iter().map(|id| id.and_then(|id| found.get(&id).cloned())).collect())
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Any object by its global id (the `id` of every type implementing `Node`), the way
    /// Relay refetches it. Null, without an error, when the id is malformed, unknown,
    /// another organization's, or of a type the caller may not read.
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global id, such as a lead's `id`.")] id: ID,
    ) -> Result<Option<Node>> {
        Ok(resolve(ctx, std::slice::from_ref(&id)).await?.pop().flatten())
    }

    /// Many objects by their global ids, of any types, in the order of `ids`: one entry
    /// per id, null where `node(id:)` would be null. At most 100 ids.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The global ids, at most 100; repeats are allowed and answered in place.")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_IDS {
            return Err(ApiError::bad_input("ids", format!("at most {MAX_IDS} ids per request")));
        }
        resolve(ctx, &ids).await
    }
}
