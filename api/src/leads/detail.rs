//! One lead with the first page of its activities and its stage history, in one
//! statement. A lead's detail view asks for all three; read as three statements they
//! cost three round trips to PostgreSQL (six, with the pool's check of every connection
//! it takes back), which was most of the server's and the database's work per view.
//! On PostgreSQL the children come as JSON arrays in scalar sub-selects of the lead's
//! statement; elsewhere (SQLite) the lead is read alone and resolvers use DataLoaders.
//! The lead and its children are read as far as the selection shows them (the other
//! columns hold blanks, never shown): a resolver that shows more reads its DataLoader.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::json_time::{rfc3339, rfc3339_or_null};
use entity::lead::{Column, Entity, Model};
use entity::{activity, lead_stage_transition, user};
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select, Value,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::joined::Join;
use super::{Scored, with_scores};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::db::dialect;
use crate::db::rows::{ColumnSet, Columns, FromColumns, LeadColumns, PartialLead, Shown, Unread};
use crate::db::template::Templates;
use crate::error::{ApiError, Result};
use crate::org::users;

/// What to read of the lead and with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    /// The lead's columns to read (its id always): those the view shows.
    pub columns: LeadColumns,
    /// The lead's stored score.
    pub score: bool,
    /// The first this-many activities (plus one, which tells whether there are more).
    pub activities: Option<u64>,
    /// The activities' columns to read (their id and time always: cursors are made of them).
    pub activity_columns: ActivityColumns,
    /// How the activities' users are read: not at all, by id and name alone
    /// ([`Shown::Named`]) when no more of them is shown, or whole.
    pub users: Join,
    /// Every stage transition.
    pub stage_history: bool,
    /// The transitions' columns to read (their id always).
    pub transition_columns: TransitionColumns,
}

/// Which of an activity's columns a lead's statement read.
pub type ActivityColumns = ColumnSet<activity::Column>;

/// Which of a stage transition's columns a lead's statement read.
pub type TransitionColumns = ColumnSet<lead_stage_transition::Column>;

/// An activity with the user who logged it (`None` when that user is gone).
pub type ActivityWithUser = (activity::Model, Option<Shown<user::Model>>);

/// The children read with a lead; `None` for what was not read with it.
#[derive(Debug, Default)]
pub struct PrefetchedChildren {
    pub activities: Option<FirstActivities>,
    pub stage_history: Option<StageHistory>,
}

/// The first activities of a lead, read with it.
#[derive(Debug)]
pub struct FirstActivities {
    /// The page size asked for.
    pub limit: u64,
    /// The columns read: the others hold blanks, never shown.
    pub columns: ActivityColumns,
    /// Up to `limit` activities plus one, newest first.
    pub rows: Vec<ActivityWithUser>,
}

/// Every stage transition of a lead, read with it.
#[derive(Debug)]
pub struct StageHistory {
    /// The columns read: the others hold blanks, never shown.
    pub columns: TransitionColumns,
    /// Oldest first.
    pub rows: Vec<lead_stage_transition::Model>,
}

/// A lead, its score when asked for, and the children read with it.
pub struct Detail {
    /// The lead as far as it was read: `read` says which columns hold its values.
    pub lead: Model,
    pub read: LeadColumns,
    pub score: Option<entity::lead_score::Model>,
    pub children: PrefetchedChildren,
}

/// What a lead's statement reads: its text depends on this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
    columns: LeadColumns,
    score: bool,
    /// The activities' columns and how their users are read, when activities are read.
    activities: Option<(ActivityColumns, Join)>,
    /// The transitions' columns, when the history is read.
    stage_history: Option<TransitionColumns>,
}

static STATEMENTS: LazyLock<Templates<Shape>> = LazyLock::new(Templates::default);

/// The lead `id` of the actor's organization with what `include` asks for.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid, include: Include) -> Result<Detail> {
    require(can_read(actor, Scope::LeadsRead), "read leads")?;
    let children = dialect::is_postgres(db);
    let activities = include.activities.filter(|_| children);
    let activity_columns = include.activity_columns.with(activity::Column::Id).with(activity::Column::OccurredAt);
    let transition_columns = include.transition_columns.with(lead_stage_transition::Column::Id);
    let shape = Shape {
        columns: include.columns.with(Column::Id),
        score: include.score,
        activities: activities.map(|_| (activity_columns, include.users)),
        stage_history: (include.stage_history && children).then_some(transition_columns),
    };
    let backend = db.get_database_backend();
    // The first activities plus one, which tells whether there are more.
    let fetched = activities.map_or(0, |limit| limit + 1);
    let inputs = [Value::from(id), Value::from(actor.org_id), Value::BigUnsigned(Some(fetched))];
    let statement = STATEMENTS
        .statement(shape, backend, inputs, |[id, org, fetched]| statement(shape, id, org, fetched).build(backend));
    let row = db.query_one_raw(statement).await?.ok_or_else(|| ApiError::not_found("lead"))?;
    let (PartialLead(lead, read), score, json) = if include.score {
        let row = WithJson::<Scored<PartialLead>>::from_query_result(&row, "")?;
        (row.model.lead, Some(row.model.score), row.json)
    } else {
        let row = WithJson::<PartialLead>::from_query_result(&row, "")?;
        (row.model, None, row.json)
    };
    let parent = (actor.org_id, lead.id);
    let first = |(limit, json): (u64, String)| {
        let rows = parse_activities(&json, include.users, parent)?;
        Ok::<_, ApiError>(FirstActivities { limit, columns: activity_columns, rows })
    };
    let history = |(columns, json): (TransitionColumns, String)| {
        Ok::<_, ApiError>(StageHistory { columns, rows: parse_history(&json, parent)? })
    };
    let children = PrefetchedChildren {
        activities: activities.zip(json.activities).map(first).transpose()?,
        stage_history: shape.stage_history.zip(json.stage_history).map(history).transpose()?,
    };
    Ok(Detail { lead, read, score, children })
}

/// The lead `id` of organization `org`, with what `shape` asks for.
fn statement(shape: Shape, id: Value, org: Value, fetched: Value) -> Select<Entity> {
    let mut select =
        shape.columns.select(Entity::find()).filter(Column::Id.eq(id)).filter(Column::OrgId.eq(org.clone()));
    if shape.score {
        select = with_scores(select);
    }
    // After the score's columns: rows are read in select order.
    if let Some((columns, users)) = shape.activities {
        select = select.expr_as(activities_json(org.clone(), fetched, columns, users), ACTIVITIES);
    }
    if let Some(columns) = shape.stage_history {
        select = select.expr_as(history_json(org, columns), STAGE_HISTORY);
    }
    select.limit(1)
}

const ACTIVITIES: &str = "children_activities";
const STAGE_HISTORY: &str = "children_stage_history";

/// The first `fetched` activities of the lead, newest first (the order and index of the
/// activities DataLoader), with their users as `users` says ([`activities_agg`]). Built
/// by sea-query with its custom parts free of values: a custom text with values is
/// tokenized on every build.
fn activities_json(org_id: Value, fetched: Value, columns: ActivityColumns, users: Join) -> Expr {
    let Value::BigUnsigned(Some(fetched)) = fetched else { unreachable!("a count of activities") };
    let latest = Query::select()
        .column(Asterisk)
        .from(activity::Entity)
        .and_where(Expr::col((activity::Entity, activity::Column::OrgId)).eq(org_id.clone()))
        .and_where(Expr::col((activity::Entity, activity::Column::LeadId)).equals((Entity, Column::Id)))
        .order_by((activity::Entity, activity::Column::OccurredAt), Order::Desc)
        .order_by((activity::Entity, activity::Column::Id), Order::Desc)
        .limit(fetched)
        .take();
    let (a, u) = (Alias::new("a"), Alias::new("u"));
    let by = Condition::all()
        .add(Expr::col((u.clone(), user::Column::Id)).equals((a.clone(), activity::Column::UserId)))
        .add(Expr::col((u.clone(), user::Column::OrgId)).eq(org_id));
    let mut select = Query::select().expr(Expr::cust(activities_agg(columns, users))).from_subquery(latest, a).take();
    if users != Join::No {
        select.join_as(JoinType::LeftJoin, user::Entity, u, by);
    }
    Expr::SubQuery(None, Box::new(select.into()))
}

/// The activities `a` (each as [`ActivityRow`], its `columns` alone), newest first:
/// `[activity, …]` without users; `[[activity, user or null], …]` with their users `u`,
/// named by their name alone (their id is the activity's `user_id`) or as the API shows
/// them (not their password hash).
fn activities_agg(columns: ActivityColumns, users: Join) -> String {
    let activity = row_array("a", ACTIVITY_READ, |c| columns.contains(c));
    let user = match users {
        Join::No => None,
        Join::Named => Some("to_json(u.name)".to_owned()),
        Join::Whole => Some(row_array("u", user::Column::iter(), users::shows)),
    };
    let row = match user {
        None => activity,
        Some(user) => format!("json_build_array({activity}, CASE WHEN u.id IS NULL THEN NULL ELSE {user} END)"),
    };
    format!("COALESCE(json_agg({row} ORDER BY a.occurred_at DESC, a.id DESC), '[]')::text")
}

/// `[transition, …]` of the transitions `t` (as [`TransitionRow`], its `columns` alone),
/// oldest first.
fn history_agg(columns: TransitionColumns) -> String {
    let transition = row_array("t", TRANSITION_READ, |c| columns.contains(c));
    format!("COALESCE(json_agg({transition} ORDER BY t.at, t.id), '[]')::text")
}

/// A JSON array of the row `alias`'s `columns`, NULL for the ones not `read`: serde
/// reads a model from it by position, with no key to match per field.
fn row_array<C: IdenStatic + Copy>(
    alias: &str,
    columns: impl IntoIterator<Item = C>,
    read: impl Fn(C) -> bool,
) -> String {
    let columns = columns.into_iter().map(|c| if read(c) { format!("{alias}.{}", c.as_str()) } else { "NULL".into() });
    format!("json_build_array({})", columns.collect::<Vec<_>>().join(", "))
}

/// The organization and id of the lead whose children a statement read.
type Parent = (Uuid, Uuid);

/// The columns of an activity its lead's statement reads, in [`ActivityRow`]'s order:
/// all but its organization and lead, which are the lead's, so PostgreSQL need not
/// write them into every row's JSON.
const ACTIVITY_READ: [activity::Column; 10] = {
    use activity::Column as A;
    [
        A::Id,
        A::UserId,
        A::AccountId,
        A::OpportunityId,
        A::Kind,
        A::CustomerFacing,
        A::DurationMinutes,
        A::OccurredAt,
        A::Notes,
        A::CreatedAt,
    ]
};

/// An activity as [`ACTIVITY_READ`] lists its columns, NULL where not read (its id and
/// time are always read).
#[derive(serde::Deserialize)]
struct ActivityRow(
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    Option<Uuid>,
    Option<entity::ActivityKind>,
    Option<bool>,
    Option<i32>,
    #[serde(deserialize_with = "rfc3339")] DateTime<Utc>,
    Option<String>,
    #[serde(deserialize_with = "rfc3339_or_null")] Option<DateTime<Utc>>,
);

impl ActivityRow {
    fn of(self, (org_id, lead_id): Parent) -> activity::Model {
        let ActivityRow(
            id,
            user_id,
            account_id,
            opportunity_id,
            kind,
            customer_facing,
            duration_minutes,
            occurred_at,
            notes,
            created_at,
        ) = self;
        // Blanks for the columns not read.
        activity::Model {
            id,
            org_id,
            user_id: user_id.unwrap_or_default(),
            lead_id: Some(lead_id),
            account_id,
            opportunity_id,
            kind: kind.unwrap_or(entity::ActivityKind::Note),
            customer_facing: customer_facing.unwrap_or_default(),
            duration_minutes: duration_minutes.unwrap_or_default(),
            occurred_at,
            notes,
            created_at: created_at.unwrap_or_default(),
        }
    }
}

/// The columns of a stage transition its lead's statement reads, in [`TransitionRow`]'s
/// order: all but its organization and lead, which are the lead's.
const TRANSITION_READ: [lead_stage_transition::Column; 10] = {
    use lead_stage_transition::Column as T;
    [
        T::Id,
        T::FromStage,
        T::ToStage,
        T::ActorKind,
        T::ActorId,
        T::ActorName,
        T::Reason,
        T::At,
        T::DefinitionId,
        T::DefinitionVersion,
    ]
};

/// A stage transition as [`TRANSITION_READ`] lists its columns, NULL where not read (its
/// id is always read).
#[derive(serde::Deserialize)]
struct TransitionRow(
    Uuid,
    Option<entity::LifecycleStage>,
    Option<entity::LifecycleStage>,
    Option<entity::ActorKind>,
    Option<Uuid>,
    Option<String>,
    Option<String>,
    #[serde(deserialize_with = "rfc3339_or_null")] Option<DateTime<Utc>>,
    Option<Uuid>,
    Option<i32>,
);

impl TransitionRow {
    fn of(self, (org_id, lead_id): Parent) -> lead_stage_transition::Model {
        let TransitionRow(
            id,
            from_stage,
            to_stage,
            actor_kind,
            actor_id,
            actor_name,
            reason,
            at,
            definition_id,
            definition_version,
        ) = self;
        // Blanks for the columns not read.
        lead_stage_transition::Model {
            id,
            org_id,
            lead_id,
            from_stage,
            to_stage: to_stage.unwrap_or(entity::LifecycleStage::New),
            actor_kind: actor_kind.unwrap_or(entity::ActorKind::System),
            actor_id,
            actor_name: actor_name.unwrap_or_default(),
            reason,
            at: at.unwrap_or_default(),
            definition_id,
            definition_version,
        }
    }
}

/// The activities [`activities_agg`] wrote, with their users as `users` says.
fn parse_activities(json: &str, users: Join, parent: Parent) -> Result<Vec<ActivityWithUser>> {
    match users {
        Join::No => {
            let rows: Vec<ActivityRow> = parse(json)?;
            Ok(rows.into_iter().map(|a| (a.of(parent), None)).collect())
        }
        Join::Named => {
            let rows: Vec<(ActivityRow, Option<String>)> = parse(json)?;
            let named = |(a, name): (ActivityRow, Option<String>)| {
                let a = a.of(parent);
                let user = name.map(|name| Shown::Named { id: a.user_id, name });
                (a, user)
            };
            Ok(rows.into_iter().map(named).collect())
        }
        Join::Whole => {
            let rows: Vec<(ActivityRow, Option<user::Model>)> = parse(json)?;
            Ok(rows.into_iter().map(|(a, u)| (a.of(parent), u.map(Shown::Whole))).collect())
        }
    }
}

fn parse_history(json: &str, parent: Parent) -> Result<Vec<lead_stage_transition::Model>> {
    let rows: Vec<TransitionRow> = parse(json)?;
    Ok(rows.into_iter().map(|t| t.of(parent)).collect())
}

/// `[transition, …]`: every stage transition of the lead, oldest first.
fn history_json(org_id: Value, columns: TransitionColumns) -> Expr {
    let t = Alias::new("t");
    let select = Query::select()
        .expr(Expr::cust(history_agg(columns)))
        .from_as(lead_stage_transition::Entity, t.clone())
        .and_where(Expr::col((t.clone(), lead_stage_transition::Column::OrgId)).eq(org_id))
        .and_where(Expr::col((t, lead_stage_transition::Column::LeadId)).equals((Entity, Column::Id)))
        .take();
    Expr::SubQuery(None, Box::new(select.into()))
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| ApiError::internal(format!("children of a lead did not decode: {e}")))
}

/// The JSON columns a lead's statement added.
#[derive(Default)]
struct Json {
    activities: Option<String>,
    stage_history: Option<String>,
}

/// A model followed by the JSON columns [`get`] adds (present or not).
struct WithJson<M> {
    model: M,
    json: Json,
}

impl<M: FromColumns> FromQueryResult for WithJson<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> std::result::Result<Self, DbErr> {
        if pre.is_empty()
            && let Some(row) = res.try_as_pg_row()
        {
            let mut columns = Columns::new(row);
            match read_with_json::<M>(&mut columns) {
                Some(Ok(read)) => return Ok(read),
                Some(Err(Unread::Db(e))) => return Err(e),
                Some(Err(Unread::Layout)) if cfg!(debug_assertions) => {
                    panic!("{} rows no longer match their reader", std::any::type_name::<M>())
                }
                Some(Err(Unread::Layout)) | None => {}
            }
        }
        // By name: a JSON column that is not there leaves its resolver to its DataLoader.
        let text = |name: &str| res.try_get::<Option<String>>(pre, name).ok().flatten();
        let json = Json { activities: text(ACTIVITIES), stage_history: text(STAGE_HISTORY) };
        Ok(Self { model: M::from_query_result(res, pre)?, json })
    }
}

fn read_with_json<M: FromColumns>(c: &mut Columns<'_>) -> Option<std::result::Result<WithJson<M>, Unread>> {
    let model = match M::from_columns(c)? {
        Ok(model) => model,
        Err(e) => return Some(Err(e)),
    };
    c.prefixed("");
    let read = (|| {
        let mut json = Json::default();
        if c.next_is(ACTIVITIES) {
            json.activities = c.get(ACTIVITIES)?;
        }
        if c.next_is(STAGE_HISTORY) {
            json.stage_history = c.get(STAGE_HISTORY)?;
        }
        c.finish()?;
        Ok(WithJson { model, json })
    })();
    Some(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every column of a child is read or known from its lead: a column added to the
    /// entity fails here until the statement and its row type read it.
    #[test]
    fn children_read_every_column_but_their_leads() {
        let read: Vec<_> = ACTIVITY_READ.iter().map(|c| c.as_str()).collect();
        let known = [activity::Column::OrgId.as_str(), activity::Column::LeadId.as_str()];
        let all: Vec<_> = activity::Column::iter().map(|c| c.as_str()).filter(|c| !known.contains(c)).collect();
        assert_eq!(read, all);
        let read: Vec<_> = TRANSITION_READ.iter().map(|c| c.as_str()).collect();
        let known = [lead_stage_transition::Column::OrgId.as_str(), lead_stage_transition::Column::LeadId.as_str()];
        let all: Vec<_> =
            lead_stage_transition::Column::iter().map(|c| c.as_str()).filter(|c| !known.contains(c)).collect();
        assert_eq!(read, all);
    }
}
