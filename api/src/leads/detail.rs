//! One lead with the first page of its activities and its stage history, in one
//! statement. A lead's detail view asks for all three; read as three statements they
//! cost three round trips to PostgreSQL (six, with the pool's check of every connection
//! it takes back), which was most of the server's and the database's work per view.
//! On PostgreSQL the children come as JSON arrays in scalar sub-selects of the lead's
//! statement; elsewhere (SQLite) the lead is read alone and resolvers use DataLoaders.

use std::sync::LazyLock;

use entity::lead::{Column, Entity, Model};
use entity::{activity, lead_stage_transition, user};
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, JoinType, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select, Value,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::{Scored, with_scores};
use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_read, require};
use crate::db::dialect;
use crate::db::rows::{Columns, FromColumns, Shown, Unread};
use crate::db::template::Templates;
use crate::error::{ApiError, Result};
use crate::org::users;

/// What to read with the lead.
#[derive(Debug, Clone, Copy, Default)]
pub struct Include {
    /// The lead's stored score (`Scored`).
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
    pub lead: Model,
    pub score: Option<entity::lead_score::Model>,
    pub children: PrefetchedChildren,
}

/// What a lead's statement reads: its text depends on this alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape {
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
    let (lead, score, json) = if include.score {
        let row = WithJson::<Scored>::from_query_result(&row, "")?;
        (row.model.lead, Some(row.model.score), row.json)
    } else {
        let row = WithJson::<Model>::from_query_result(&row, "")?;
        (row.model, None, row.json)
    };
    let children = PrefetchedChildren {
        activities: activities
            .zip(json.activities)
            .map(|(limit, rows)| Ok::<_, ApiError>((limit, parse_activities(&rows, include.named_users)?)))
            .transpose()?,
        stage_history: json.stage_history.map(|rows| parse(&rows)).transpose()?,
    };
    Ok(Detail { lead, score, children })
}

/// The lead `id` of organization `org`, with what `shape` asks for.
fn statement(shape: Shape, id: Value, org: Value, fetched: Value) -> Select<Entity> {
    let mut select = Entity::find().filter(Column::Id.eq(id)).filter(Column::OrgId.eq(org.clone()));
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

/// [`activities_json`]'s aggregate when it names users (`u`) by id and name alone.
static NAMED: LazyLock<String> = LazyLock::new(|| activities_agg("json_build_array(u.id, u.name)"));

/// [`activities_json`]'s aggregate with users (`u`) as the API shows them.
static WHOLE: LazyLock<String> = LazyLock::new(|| activities_agg(&row_array("u", users::shows)));

/// `[[activity, user or null], …]` of the activities `a` and their users `u` (`user`,
/// a JSON array of `u`), newest first.
fn activities_agg(user: &str) -> String {
    let activity = row_array::<activity::Column>("a", |_| true);
    format!(
        "COALESCE(json_agg(json_build_array({activity}, CASE WHEN u.id IS NULL THEN NULL ELSE {user} END) \
         ORDER BY a.occurred_at DESC, a.id DESC), '[]')::text"
    )
}

/// `[transition, …]` of the transitions `t`, oldest first.
static HISTORY: LazyLock<String> = LazyLock::new(|| {
    let transition = row_array::<lead_stage_transition::Column>("t", |_| true);
    format!("COALESCE(json_agg({transition} ORDER BY t.at, t.id), '[]')::text")
});

/// A JSON array of the row `alias`'s columns in the entity's order, NULL for the ones
/// not `read`: serde reads a model from it by position, with no key to match per field.
fn row_array<C: Iterable + IdenStatic + Copy>(alias: &str, read: impl Fn(C) -> bool) -> String {
    let columns = C::iter().map(|c| if read(c) { format!("{alias}.{}", c.as_str()) } else { "NULL".into() });
    format!("json_build_array({})", columns.collect::<Vec<_>>().join(", "))
}

/// A user as [`activities_json`] names them.
#[derive(serde::Deserialize)]
struct NamedUser {
    id: Uuid,
    name: String,
}

fn parse_activities(json: &str, named: bool) -> Result<Vec<ActivityWithUser>> {
    if named {
        let rows: Vec<(activity::Model, Option<NamedUser>)> = parse(json)?;
        return Ok(rows.into_iter().map(|(a, u)| (a, u.map(|u| Shown::Named { id: u.id, name: u.name }))).collect());
    }
    let rows: Vec<(activity::Model, Option<user::Model>)> = parse(json)?;
    Ok(rows.into_iter().map(|(a, u)| (a, u.map(Shown::Whole))).collect())
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
