//! A page of leads with the to-one relations its caller shows (account, sales owner,
//! marketing owner) read in the page's own statement by `LEFT JOIN`s: one statement per
//! page instead of one more per relation (docs/performance.md). Each is read as far as
//! the page shows it: a relation's id and name alone when it shows no more of it (a
//! leads list's usual `account { name }`), else its whole row (users without their
//! password hash, which no list shows). Of the stored scores a page reads the value alone
//! unless it shows more: ordered by score, PostgreSQL then reads it from the index it
//! walks instead of from `lead_scores` itself. Of the leads themselves it reads the
//! columns the page shows (and its order's), the id always.

use entity::lead::{Column, Entity};
use entity::lead_score::Model as ScoreModel;
use entity::{account, user};
use sea_orm::sea_query::{Alias, Condition, Expr, ExprTrait};
use sea_orm::{DbErr, FromQueryResult, IdenStatic, Iterable, JoinType, QueryResult, QuerySelect, QueryTrait, Select};

use super::{SCORE_PREFIX, with_score_value, with_scores};
use crate::db::rows::{self, Columns, FromColumns, LeadColumns, Shown, Unread};

/// Which of its leads' columns a page reads, which to-one relations with them, and how
/// much of their scores.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Joins {
    pub lead: LeadColumns,
    pub account: Join,
    pub owner: Join,
    pub marketing_owner: Join,
    pub score: ScoreRead,
}

/// How a page reads one to-one relation of its leads.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Join {
    /// Not at all (a DataLoader reads it if asked).
    #[default]
    No,
    /// Its id and name alone ([`Shown::Named`]).
    Named,
    /// Its whole row.
    Whole,
}

impl Joins {
    /// True when the page joins any relation.
    pub fn any(&self) -> bool {
        [self.account, self.owner, self.marketing_owner].iter().any(|j| *j != Join::No)
    }
}

/// What a page reads of its leads' stored scores.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ScoreRead {
    /// The score alone ([`ListedScore::Value`]).
    #[default]
    Value,
    /// The whole stored score: temperature, fit and engagement points, when scored.
    Row,
}

/// A listed lead's stored score, as its page's [`ScoreRead`] read it.
#[derive(Debug, Clone, PartialEq)]
pub enum ListedScore {
    Value(f64),
    Row(ScoreModel),
}

impl ListedScore {
    /// The score: fit plus engagement points.
    pub fn value(&self) -> f64 {
        match self {
            Self::Value(score) => *score,
            Self::Row(row) => row.score,
        }
    }
}

/// A lead of a page with its score and the relations its [`Joins`] read: `None` when the
/// lead has none or the relation was not joined. Of the lead's columns only those of
/// `read` hold its values.
#[derive(Debug, Clone)]
pub struct Listed {
    pub lead: entity::lead::Model,
    pub read: LeadColumns,
    pub score: ListedScore,
    pub account: Option<Shown<account::Model>>,
    pub owner: Option<Shown<user::Model>>,
    pub marketing_owner: Option<Shown<user::Model>>,
}

const ACCOUNT: &str = "account__";
const OWNER: &str = "owner__";
const MARKETING_OWNER: &str = "marketing_owner__";

/// `select` (of leads) with their scores as `joins` reads them (`score_<column>`) and
/// the relations of `joins` joined, their columns added as `<relation>__<column>`: read
/// it `into_model::<Listed>()`.
pub(crate) fn with_joins(select: Select<Entity>, joins: Joins) -> Select<Entity> {
    let select = joins.lead.select(select);
    let mut select = match joins.score {
        ScoreRead::Row => with_scores(select),
        ScoreRead::Value => with_score_value(select),
    };
    // The organization in each join too: a reference can never reach another one's row.
    let on = |alias: &Alias, key: Column, id: &str| {
        Condition::all()
            .add(Expr::col((alias.clone(), Alias::new(id))).equals((Entity, key)))
            .add(Expr::col((alias.clone(), Alias::new("org_id"))).equals((Entity, Column::OrgId)))
    };
    let named = |select: Select<Entity>, alias: &Alias, prefix: &str| {
        select
            .column_as(Expr::col((alias.clone(), Alias::new("id"))), format!("{prefix}id"))
            .column_as(Expr::col((alias.clone(), Alias::new("name"))), format!("{prefix}name"))
    };
    if joins.account != Join::No {
        let alias = Alias::new("joined_account");
        let condition = on(&alias, Column::AccountId, "id");
        QueryTrait::query(&mut select).join_as(JoinType::LeftJoin, account::Entity, alias.clone(), condition);
        if joins.account == Join::Named {
            select = named(select, &alias, ACCOUNT);
        } else {
            for column in account::Column::iter() {
                select = select.column_as(Expr::col((alias.clone(), column)), format!("{ACCOUNT}{}", column.as_str()));
            }
        }
    }
    for (join, key, name, prefix) in [
        (joins.owner, Column::OwnerId, "joined_owner", OWNER),
        (joins.marketing_owner, Column::MarketingOwnerId, "joined_marketing_owner", MARKETING_OWNER),
    ] {
        if join == Join::No {
            continue;
        }
        let alias = Alias::new(name);
        let condition = on(&alias, key, "id");
        QueryTrait::query(&mut select).join_as(JoinType::LeftJoin, user::Entity, alias.clone(), condition);
        select = match join {
            Join::Named => named(select, &alias, prefix),
            _ => crate::org::users::shown_columns(select, alias, prefix),
        };
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
        // By name (SQLite): a relation, or a whole score, is there when its id column is.
        let names = res.column_names();
        let score = if names.iter().any(|n| n == "score_lead_id") {
            ListedScore::Row(ScoreModel::from_query_result(res, SCORE_PREFIX)?)
        } else {
            ListedScore::Value(res.try_get(SCORE_PREFIX, "score")?)
        };
        let joined = |prefix: &str| -> Result<bool, DbErr> {
            let id = format!("{prefix}id");
            Ok(names.contains(&id) && res.try_get::<Option<uuid::Uuid>>(prefix, "id")?.is_some())
        };
        // Read whole when the row's `org_id` was read, else named.
        fn shown<M: FromQueryResult>(res: &QueryResult, names: &[String], prefix: &str) -> Result<Shown<M>, DbErr> {
            if names.contains(&format!("{prefix}org_id")) {
                return Ok(Shown::Whole(M::from_query_result(res, prefix)?));
            }
            Ok(Shown::Named { id: res.try_get(prefix, "id")?, name: res.try_get(prefix, "name")? })
        }
        let account = if joined(ACCOUNT)? { Some(shown(res, &names, ACCOUNT)?) } else { None };
        let user = |prefix: &str| -> Result<Option<Shown<user::Model>>, DbErr> {
            if joined(prefix)? { Ok(Some(shown(res, &names, prefix)?)) } else { Ok(None) }
        };
        let (lead, read) = rows::lead_shown_by_name(res, &names)?;
        Ok(Self { lead, read, score, account, owner: user(OWNER)?, marketing_owner: user(MARKETING_OWNER)? })
    }
}

/// Pages decode 50 of these: read by position (see [`rows`]).
impl FromColumns for Listed {
    fn from_columns(c: &mut Columns<'_>) -> Option<Result<Self, Unread>> {
        Some(read_listed(c))
    }
}

fn read_listed(c: &mut Columns<'_>) -> Result<Listed, Unread> {
    let (lead, read) = rows::read_lead_shown(c)?;
    let score = if c.prefixed(SCORE_PREFIX).next_is("lead_id") {
        ListedScore::Row(rows::read_lead_score(c)?)
    } else {
        ListedScore::Value(c.get("score")?)
    };
    let account = c.optional(ACCOUNT, rows::shown::<account::Model>)?;
    let owner = c.optional(OWNER, rows::shown::<user::Model>)?;
    let marketing_owner = c.optional(MARKETING_OWNER, rows::shown::<user::Model>)?;
    Ok(Listed { lead, read, score, account, owner, marketing_owner })
}
