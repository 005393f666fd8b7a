//! One lead with the first page of its activities and its stage history, in one
//! statement. A lead's detail view asks for all three; read as three statements they
//! cost three round trips to PostgreSQL (six, with the pool's check of every connection
//! it takes back), which was most of the server's and the database's work per view.
//! On PostgreSQL the children come as JSON arrays in scalar sub-selects of the lead's
//! statement; elsewhere (SQLite) the lead is read alone and resolvers use DataLoaders.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use entity::json_time::rfc3339;
use entity::lead::{Column, Entity, Model};
use entity::{activity, lead_stage_transition, user};
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select, Value,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{SCORE_PREFIX, with_scores};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::db::dialect;
use crate::db::rows::{Columns, FromColumns, LeadColumns, PartialLead, Shown, Unread};
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
    /// The activities' users by id and name alone ([`Shown::Named`]), when no more of
    /// them is shown.
    pub named_users: bool,
    /// Every stage transition.
    pub stage_history: bool,
}

/// An activity with the user who logged it (`None` when that user is gone).
pub type ActivityWithUser = (activity::Model, Option<Shown<user::Model>>);

/// The children read with a lead; `None` for what was not read with it.
#[derive(Debug, Default)]
pub struct PrefetchedChildren {
    /// The page size asked for, and up to that many activities plus one, newest first.
    pub activities: Option<(u64, Vec<ActivityWithUser>)>,
    /// Every transition, oldest first.
    pub stage_history: Option<Vec<lead_stage_transition::Model>>,
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
    activities: bool,
    named_users: bool,
    stage_history: bool,
}

static STATEMENTS: LazyLock<Templates<Shape>> = LazyLock::new(Templates::default);

/// The lead `id` of the actor's organization with what `include` asks for.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid, include: Include) -> Result<Detail> {
    require(can_read(actor, Scope::LeadsRead), "read leads")?;
    let children = dialect::is_postgres(db);
    let activities = include.activities.filter(|_| children);
    let shape = Shape {
        columns: include.columns.with(Column::Id),
        score: include.score,
        activities: activities.is_some(),
        named_users: include.named_users && activities.is_some(),
        stage_history: include.stage_history && children,
    };
    let backend = db.get_database_backend();
    // The first activities plus one, which tells whether there are more.
    let fetched = activities.map_or(0, |limit| limit + 1);
    let inputs = [Value::from(id), Value::from(actor.org_id), Value::BigUnsigned(Some(fetched))];
    let statement = STATEMENTS
        .statement(shape, backend, inputs, |[id, org, fetched]| statement(shape, id, org, fetched).build(backend));
    let row = db.query_one_raw(statement).await?.ok_or_else(|| ApiError::not_found("lead"))?;
    let (PartialLead(lead, read), score, json) = if include.score {
        let row = WithJson::<PartialScored>::from_query_result(&row, "")?;
        (row.model.lead, Some(row.model.score), row.json)
    } else {
        let row = WithJson::<PartialLead>::from_query_result(&row, "")?;
        (row.model, None, row.json)
    };
    let parent = (actor.org_id, lead.id);
    let children = PrefetchedChildren {
        activities: activities
            .zip(json.activities)
            .map(|(limit, rows)| Ok::<_, ApiError>((limit, parse_activities(&rows, include.named_users, parent)?)))
            .transpose()?,
        stage_history: json.stage_history.map(|rows| parse_history(&rows, parent)).transpose()?,
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
    if shape.activities {
        select = select.expr_as(activities_json(org.clone(), fetched, shape.named_users), ACTIVITIES);
    }
    if shape.stage_history {
        select = select.expr_as(history_json(org), STAGE_HISTORY);
    }
    select.limit(1)
}

const ACTIVITIES: &str = "children_activities";
const STAGE_HISTORY: &str = "children_stage_history";

/// `[[activity, user or null], …]`: the first `fetched` activities of the lead, newest
/// first (the order and index of the activities DataLoader), with their users as the API
/// shows them (not their password hash), or their ids and names alone when `named`.
/// Built by sea-query with its custom parts free of values: a custom text with values is
/// tokenized on every build.
fn activities_json(org_id: Value, fetched: Value, named: bool) -> Expr {
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
    let select = Query::select()
        .expr(Expr::cust(if named { NAMED.as_str() } else { WHOLE.as_str() }))
        .from_subquery(latest, a)
        .join_as(JoinType::LeftJoin, user::Entity, u, by)
        .take();
    Expr::SubQuery(None, Box::new(select.into()))
}

/// [`activities_json`]'s aggregate when it names users (`u`): their name alone, as their
/// id is the activity's `user_id`.
static NAMED: LazyLock<String> = LazyLock::new(|| activities_agg("to_json(u.name)"));

/// [`activities_json`]'s aggregate with users (`u`) as the API shows them.
static WHOLE: LazyLock<String> = LazyLock::new(|| activities_agg(&row_array("u", users::shows)));

/// `[[activity, user or null], …]` of the activities `a` (as [`ActivityRow`]) and their
/// users `u` (`user`, a JSON array of `u`), newest first.
fn activities_agg(user: &str) -> String {
    let activity = columns_array("a", &ACTIVITY_READ);
    format!(
        "COALESCE(json_agg(json_build_array({activity}, CASE WHEN u.id IS NULL THEN NULL ELSE {user} END) \
         ORDER BY a.occurred_at DESC, a.id DESC), '[]')::text"
    )
}

/// `[transition, …]` of the transitions `t` (as [`TransitionRow`]), oldest first.
static HISTORY: LazyLock<String> = LazyLock::new(|| {
    let transition = columns_array("t", &TRANSITION_READ);
    format!("COALESCE(json_agg({transition} ORDER BY t.at, t.id), '[]')::text")
});

/// A JSON array of the row `alias`'s columns in the entity's order, NULL for the ones
/// not `read`: serde reads a model from it by position, with no key to match per field.
fn row_array<C: Iterable + IdenStatic + Copy>(alias: &str, read: impl Fn(C) -> bool) -> String {
    let columns = C::iter().map(|c| if read(c) { format!("{alias}.{}", c.as_str()) } else { "NULL".into() });
    format!("json_build_array({})", columns.collect::<Vec<_>>().join(", "))
}

/// A JSON array of the row `alias`'s `columns`.
fn columns_array<C: IdenStatic>(alias: &str, columns: &[C]) -> String {
    let columns = columns.iter().map(|c| format!("{alias}.{}", c.as_str()));
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

/// An activity as [`ACTIVITY_READ`] lists its columns.
#[derive(serde::Deserialize)]
struct ActivityRow(
    Uuid,
    Uuid,
    Option<Uuid>,
    Option<Uuid>,
    entity::ActivityKind,
    bool,
    i32,
    #[serde(deserialize_with = "rfc3339")] DateTime<Utc>,
    Option<String>,
    #[serde(deserialize_with = "rfc3339")] DateTime<Utc>,
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
        activity::Model {
            id,
            org_id,
            user_id,
            lead_id: Some(lead_id),
            account_id,
            opportunity_id,
            kind,
            customer_facing,
            duration_minutes,
            occurred_at,
            notes,
            created_at,
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

/// A stage transition as [`TRANSITION_READ`] lists its columns.
#[derive(serde::Deserialize)]
struct TransitionRow(
    Uuid,
    Option<entity::LifecycleStage>,
    entity::LifecycleStage,
    entity::ActorKind,
    Option<Uuid>,
    String,
    Option<String>,
    #[serde(deserialize_with = "rfc3339")] DateTime<Utc>,
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
        lead_stage_transition::Model {
            id,
            org_id,
            lead_id,
            from_stage,
            to_stage,
            actor_kind,
            actor_id,
            actor_name,
            reason,
            at,
            definition_id,
            definition_version,
        }
    }
}

fn parse_activities(json: &str, named: bool, parent: Parent) -> Result<Vec<ActivityWithUser>> {
    if named {
        let rows: Vec<(ActivityRow, Option<String>)> = parse(json)?;
        let named = |(a, name): (ActivityRow, Option<String>)| {
            let a = a.of(parent);
            let user = name.map(|name| Shown::Named { id: a.user_id, name });
            (a, user)
        };
        return Ok(rows.into_iter().map(named).collect());
    }
    let rows: Vec<(ActivityRow, Option<user::Model>)> = parse(json)?;
    Ok(rows.into_iter().map(|(a, u)| (a.of(parent), u.map(Shown::Whole))).collect())
}

fn parse_history(json: &str, parent: Parent) -> Result<Vec<lead_stage_transition::Model>> {
    let rows: Vec<TransitionRow> = parse(json)?;
    Ok(rows.into_iter().map(|t| t.of(parent)).collect())
}

/// `[transition, …]`: every stage transition of the lead, oldest first.
fn history_json(org_id: Value) -> Expr {
    let t = Alias::new("t");
    let select = Query::select()
        .expr(Expr::cust(HISTORY.as_str()))
        .from_as(lead_stage_transition::Entity, t.clone())
        .and_where(Expr::col((t.clone(), lead_stage_transition::Column::OrgId)).eq(org_id))
        .and_where(Expr::col((t, lead_stage_transition::Column::LeadId)).equals((Entity, Column::Id)))
        .take();
    Expr::SubQuery(None, Box::new(select.into()))
}

fn parse<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| ApiError::internal(format!("children of a lead did not decode: {e}")))
}

/// A lead as far as its statement read it, and its stored score.
struct PartialScored {
    lead: PartialLead,
    score: entity::lead_score::Model,
}

impl FromQueryResult for PartialScored {
    fn from_query_result(res: &QueryResult, pre: &str) -> std::result::Result<Self, DbErr> {
        let lead = PartialLead::from_query_result(res, pre)?;
        Ok(Self { lead, score: entity::lead_score::Model::from_query_result(res, &format!("{pre}{SCORE_PREFIX}"))? })
    }
}

impl FromColumns for PartialScored {
    fn from_columns(c: &mut Columns<'_>) -> Option<std::result::Result<Self, Unread>> {
        let lead = match PartialLead::from_columns(c)? {
            Ok(lead) => lead,
            Err(e) => return Some(Err(e)),
        };
        let score = entity::lead_score::Model::from_columns(c.prefixed(SCORE_PREFIX))?;
        Some(score.map(|score| Self { lead, score }))
    }
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
