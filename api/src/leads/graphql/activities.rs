//! Activities: calls, e-mails, meetings, demos, events and notes by the revenue teams.

use async_graphql::dataloader::DataLoader;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::activity::Column as ActivityColumn;
use serde_json::Value;
use uuid::Uuid;

use super::{Account, Lead, time_key};
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::error::Result;
use crate::graphql::fields::Personal;
use crate::graphql::loaders::{ChildCounts, FirstPages, WithUsers};
use crate::graphql::pagination::{PageArgs, sorted_cursor, sorted_window};
use crate::graphql::patch::optional_id;
use crate::graphql::prefetch::child_page;
use crate::graphql::{actor, columns_shown, db, loaders, node_fields, nodes_select, selects};
use crate::leads::activities::{self, ActivityCriteria, NewActivity};
use crate::leads::detail::{ActivityColumns, ActivityWithUser, FirstActivities};
use crate::org::graphql::User;
use crate::pipeline::graphql::Opportunity;

/// What a person of the revenue teams did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::ActivityKind")]
pub enum ActivityKind {
    /// A phone or video call.
    Call,
    /// A personal e-mail.
    Email,
    /// A meeting.
    Meeting,
    /// A product demo.
    Demo,
    /// An event such as a trade show.
    Event,
    /// A note, with no contact.
    Note,
}

/// The list name in activity cursors.
pub(crate) const ACTIVITIES: &str = "activities";

fn activity_cursor(a: &entity::activity::Model) -> String {
    sorted_cursor(ACTIVITIES, a.org_id, Value::from(a.occurred_at.to_rfc3339()), a.id)
}

connection!(ActivityConnection, ActivityEdge, Activity, "activities");

/// A call, e-mail, meeting, demo, event or note by a person of the revenue teams.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Activity {
    /// Stable id of the activity.
    #[graphql(owned)]
    pub id: ID,
    /// What was done.
    pub kind: ActivityKind,
    /// True when spent with customers or prospects; counts towards hours with customers.
    pub customer_facing: bool,
    /// How long it took, in minutes.
    pub duration_minutes: i32,
    /// When it happened (UTC).
    pub occurred_at: DateTime<Utc>,
    /// Free-text notes. Personal data: null, with a FORBIDDEN error on this field, for callers the organization's rule for `Activity.notes` leaves out (by default VIEWERs, and API keys without `PII_READ`; see `fieldReadRules`).
    #[graphql(guard = "Personal(PersonalField::ActivityNotes)")]
    pub notes: Option<String>,
    /// When it was logged (UTC).
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: Uuid,
    #[graphql(skip)]
    pub lead_id: Option<Uuid>,
    #[graphql(skip)]
    pub account_id: Option<Uuid>,
    #[graphql(skip)]
    pub opportunity_id: Option<Uuid>,
    /// Who logged it, when read with the activity; else the DataLoader fetches them.
    #[graphql(skip)]
    pub joined_user: Option<crate::db::rows::Shown<entity::user::Model>>,
}

impl From<entity::activity::Model> for Activity {
    fn from(m: entity::activity::Model) -> Self {
        Self {
            id: m.id.into(),
            kind: m.kind.into(),
            customer_facing: m.customer_facing,
            duration_minutes: m.duration_minutes,
            occurred_at: m.occurred_at,
            notes: m.notes,
            created_at: m.created_at,
            user_id: m.user_id,
            lead_id: m.lead_id,
            account_id: m.account_id,
            opportunity_id: m.opportunity_id,
            joined_user: None,
        }
    }
}

#[ComplexObject]
impl Activity {
    /// Who did it.
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        if let Some(user) = &self.joined_user {
            return Ok(Some(User::from(user.clone())));
        }
        Ok(loaders(ctx)?.users.load_one(self.user_id).await?.map(User::from))
    }

    /// The lead it was with.
    async fn lead(&self, ctx: &Context<'_>) -> Result<Option<Lead>> {
        let Some(id) = self.lead_id else { return Ok(None) };
        Ok(loaders(ctx)?.leads.load_one(id).await?.map(Lead::from))
    }

    /// The account it was with.
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = self.account_id else { return Ok(None) };
        Ok(loaders(ctx)?.accounts.load_one(id).await?.map(Account::from))
    }

    /// The deal it was for.
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        let Some(id) = self.opportunity_id else { return Ok(None) };
        Ok(loaders(ctx)?.opportunities.load_one(id).await?.map(Opportunity::from))
    }
}

/// The columns of an activity a field of `Activity` shows; `None` for a field not listed
/// here, for which every column is read.
fn activity_columns_of(field: &str) -> Option<&'static [ActivityColumn]> {
    use ActivityColumn as A;
    Some(match field {
        "id" | "occurredAt" | "lead" | "__typename" => &[],
        "kind" => &[A::Kind],
        "customerFacing" => &[A::CustomerFacing],
        "durationMinutes" => &[A::DurationMinutes],
        "notes" => &[A::Notes],
        "createdAt" => &[A::CreatedAt],
        "user" => &[A::UserId],
        "account" => &[A::AccountId],
        "opportunity" => &[A::OpportunityId],
        _ => return None,
    })
}

/// The columns of activities the nodes (`edges.node` or `nodes`) of the connection `look`
/// show, fragments and aliases included (the lead's statement adds their id and time,
/// which cursors are made of; the lead they were with is their parent).
pub(crate) fn activity_columns_shown(look: &async_graphql::Lookahead<'_>) -> ActivityColumns {
    columns_shown(node_fields(look), ActivityColumns::none(), activity_columns_of)
}

/// A parent's activities. `read` is a first page read with the parent (its page size,
/// columns and rows), used when this field asks for that page and shows no other column.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn nested_activities(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    criteria: ActivityCriteria,
    first_pages: &DataLoader<FirstPages<entity::activity::Entity>>,
    counts: &DataLoader<ChildCounts<entity::activity::Entity>>,
    parent: Uuid,
    read: Option<&FirstActivities>,
) -> Result<ActivityConnection> {
    let actor = actor(ctx)?;
    let args = PageArgs::new(first, after, None, None);
    let org = crate::graphql::actor(ctx)?.org_id;
    let window = sorted_window(&args, ACTIVITIES, org, time_key)?;
    let count = selects(ctx, "totalCount");
    // The page read with the parent, when it read as many rows and the columns shown here.
    let read_here =
        |r: &&FirstActivities| r.limit == window.limit && r.columns.covers(activity_columns_shown(&ctx.look_ahead()));
    let read = read.filter(read_here).map(|r| r.rows.clone());
    if read.is_some() || nodes_select(ctx, "user") {
        // Who logged each activity comes joined in the first page's statement.
        let later =
            || async { Ok(activities::list(db(ctx), actor, &criteria, &window, count).await?.map(|a| (a, None))) };
        let page = child_page::<WithUsers, _, _, _, _>(first_pages, counts, parent, &args, &window, count, read, later)
            .await?;
        return Ok(ActivityConnection::from_page(ctx, page, |(a, _)| activity_cursor(a), activity_with_user));
    }
    let later = || activities::list(db(ctx), actor, &criteria, &window, count);
    let page =
        child_page::<(Uuid, u64), _, _, _, _>(first_pages, counts, parent, &args, &window, count, None, later).await?;
    Ok(ActivityConnection::from_page(ctx, page, activity_cursor, Activity::from))
}

fn activity_with_user((a, user): ActivityWithUser) -> Activity {
    Activity { joined_user: user, ..Activity::from(a) }
}

/// Narrows activities. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct ActivityFilter {
    /// Only this user's activities.
    pub user_id: Option<ID>,
    /// Only activities with this lead.
    pub lead_id: Option<ID>,
    /// Only activities with this account.
    pub account_id: Option<ID>,
    /// Only activities for this deal.
    pub opportunity_id: Option<ID>,
    /// Only these kinds.
    pub kinds: Option<Vec<ActivityKind>>,
    /// Only customer-facing (true) or internal (false) activities.
    pub customer_facing: Option<bool>,
    /// Only activities at or after this time.
    pub occurred_after: Option<DateTime<Utc>>,
    /// Only activities before this time.
    pub occurred_before: Option<DateTime<Utc>>,
}

/// An activity to log.
#[derive(InputObject)]
pub struct LogActivityInput {
    /// What was done.
    pub kind: ActivityKind,
    /// True when spent with customers or prospects; then `leadId`, `accountId` or
    /// `opportunityId` must name the customer (BAD_USER_INPUT on `customerFacing` otherwise).
    pub customer_facing: bool,
    /// How long it took, in minutes (0–1440).
    pub duration_minutes: i32,
    /// When it happened (default now; not in the future).
    pub occurred_at: Option<DateTime<Utc>>,
    /// Free-text notes.
    pub notes: Option<String>,
    /// Whose activity; default the caller. MANAGERs and ADMINs may log for others; API keys must name one.
    pub user_id: Option<ID>,
    /// The lead it was with.
    pub lead_id: Option<ID>,
    /// The account it was with (default the lead's or the deal's).
    pub account_id: Option<ID>,
    /// The deal it was for.
    pub opportunity_id: Option<ID>,
}

/// The result of logging an activity.
#[derive(SimpleObject)]
pub struct ActivityPayload {
    /// The stored activity.
    pub activity: Activity,
}

#[derive(Default)]
pub struct ActivityQuery;

#[Object]
impl ActivityQuery {
    /// Activities of the organization, newest first. API keys need `LEADS_READ`.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActivityFilter>,
        #[graphql(desc = "At most this many activities from the start (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Activities after this cursor.")] after: Option<String>,
        #[graphql(desc = "At most this many activities from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Activities before this cursor.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = sorted_window(&PageArgs::new(first, after, last, before), ACTIVITIES, org, time_key)?;
        let f = filter.unwrap_or_default();
        let criteria = ActivityCriteria {
            user_id: optional_id("filter.userId", f.user_id.as_ref())?,
            lead_id: optional_id("filter.leadId", f.lead_id.as_ref())?,
            account_id: optional_id("filter.accountId", f.account_id.as_ref())?,
            opportunity_id: optional_id("filter.opportunityId", f.opportunity_id.as_ref())?,
            kinds: f.kinds.unwrap_or_default().into_iter().map(Into::into).collect(),
            customer_facing: f.customer_facing,
            occurred_after: f.occurred_after,
            occurred_before: f.occurred_before,
        };
        let page = activities::list(db(ctx), actor, &criteria, &window, selects(ctx, "totalCount")).await?;
        Ok(ActivityConnection::from_page(ctx, page, activity_cursor, Activity::from))
    }
}

#[derive(Default)]
pub struct ActivityMutation;

#[Object]
impl ActivityMutation {
    /// Log a call, e-mail, meeting, demo, event or note.
    async fn log_activity(&self, ctx: &Context<'_>, input: LogActivityInput) -> Result<ActivityPayload> {
        let new = NewActivity {
            user_id: optional_id("userId", input.user_id.as_ref())?,
            kind: input.kind.into(),
            customer_facing: input.customer_facing,
            duration_minutes: input.duration_minutes,
            occurred_at: input.occurred_at,
            notes: input.notes,
            lead_id: optional_id("leadId", input.lead_id.as_ref())?,
            account_id: optional_id("accountId", input.account_id.as_ref())?,
            opportunity_id: optional_id("opportunityId", input.opportunity_id.as_ref())?,
        };
        let activity = activities::log(db(ctx), actor(ctx)?, new).await?;
        Ok(ActivityPayload { activity: activity.into() })
    }
}
