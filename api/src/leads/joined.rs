//! A page of leads with the to-one relations its caller shows (account, sales owner,
//! marketing owner) read in the page's own statement by `LEFT JOIN`s: one statement per
//! page instead of one more per relation (docs/performance.md). Users are read without
//! their password hash, which no list shows.

use entity::lead::{Column, Entity};
use entity::{account, user};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait};
use sea_orm::{DbErr, FromQueryResult, IdenStatic, Iterable, JoinType, QueryResult, QuerySelect, QueryTrait, Select};

use super::Scored;
use crate::db::rows::{self, Columns, FromColumns, Unread};

/// Which to-one relations a page reads with its leads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Joins {
    pub account: bool,
    pub owner: bool,
    pub marketing_owner: bool,
}

/// A lead of a page with its score and the relations its [`Joins`] read: `None` when the
/// lead has none or the relation was not joined.
#[derive(Debug, Clone)]
pub struct Listed {
    pub scored: Scored,
    pub account: Option<account::Model>,
    pub owner: Option<user::Model>,
    pub marketing_owner: Option<user::Model>,
}

const ACCOUNT: &str = "account__";
const OWNER: &str = "owner__";
const MARKETING_OWNER: &str = "marketing_owner__";

/// `select` (leads with their scores) with the relations of `joins` joined, their
/// columns added as `<relation>__<column>`: read it `into_model::<Listed>()`.
pub(crate) fn with_joins(mut select: Select<Entity>, joins: Joins) -> Select<Entity> {
    // The organization in each join too: a reference can never reach another one's row.
    let on = |alias: &Alias, key: Column, id: &str| {
        Condition::all()
            .add(Expr::col((alias.clone(), Alias::new(id))).equals((Entity, key)))
            .add(Expr::col((alias.clone(), Alias::new("org_id"))).equals((Entity, Column::OrgId)))
    };
    if joins.account {
        let alias = Alias::new("joined_account");
        let condition = on(&alias, Column::AccountId, "id");
        QueryTrait::query(&mut select).join_as(JoinType::LeftJoin, account::Entity, alias.clone(), condition);
        for column in account::Column::iter() {
            select = select.column_as(Expr::col((alias.clone(), column)), format!("{ACCOUNT}{}", column.as_str()));
        }
    }
    for (wanted, key, name, prefix) in [
        (joins.owner, Column::OwnerId, "joined_owner", OWNER),
        (joins.marketing_owner, Column::MarketingOwnerId, "joined_marketing_owner", MARKETING_OWNER),
    ] {
        if !wanted {
            continue;
        }
        let alias = Alias::new(name);
        let condition = on(&alias, key, "id");
        QueryTrait::query(&mut select).join_as(JoinType::LeftJoin, user::Entity, alias.clone(), condition);
        select = crate::org::users::shown_columns(select, alias, prefix);
    }
    select
}

impl FromQueryResult for Listed {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        if pre.is_empty()
            && let Some(listed) = rows::read(res)?
        {
            return Ok(listed);
        }
        // By name (SQLite): a relation is there when its id column is.
        let names = res.column_names();
        let joined = |prefix: &str| -> Result<bool, DbErr> {
            let id = format!("{prefix}id");
            Ok(names.contains(&id) && res.try_get::<Option<uuid::Uuid>>(prefix, "id")?.is_some())
        };
        let account = if joined(ACCOUNT)? { Some(account::Model::from_query_result(res, ACCOUNT)?) } else { None };
        let user = |prefix: &str| -> Result<Option<user::Model>, DbErr> {
            if joined(prefix)? { Ok(Some(user::Model::from_query_result(res, prefix)?)) } else { Ok(None) }
        };
        Ok(Self {
            scored: Scored::from_query_result(res, pre)?,
            account,
            owner: user(OWNER)?,
            marketing_owner: user(MARKETING_OWNER)?,
        })
    }
}

/// Pages decode 50 of these: read by position (see [`rows`]).
impl FromColumns for Listed {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        let scored = match Scored::from_columns(c)? {
            Ok(scored) => scored,
            Err(e) => return Some(Err(e)),
        };
        Some(read_joined(c, scored))
    }
}

fn read_joined(c: &mut Columns<'_>, scored: Scored) -> Result<Listed, Unread> {
    let account = c.optional(ACCOUNT, account::Model::from_columns)?;
    let owner = c.optional(OWNER, user::Model::from_columns)?;
    let marketing_owner = c.optional(MARKETING_OWNER, user::Model::from_columns)?;
    Ok(Listed { scored, account, owner, marketing_owner })
}
