//! Which table holds a row, by its id alone: ids are UUIDv7, unique across tables, so
//! a global id (Relay's `node(id:)`) needs no type prefix, only this lookup.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, UnionType};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use crate::error::Result;

/// A table rows may live in, and what names the kind of its rows.
#[derive(Debug, Clone, Copy)]
pub struct Home {
    pub table: &'static str,
    pub label: Label,
}

/// What names the kind of a row found in a [`Home`].
#[derive(Debug, Clone, Copy)]
pub enum Label {
    /// Every row of the table is of one kind: the table's name.
    Table,
    /// A column of the row names its kind (such as agreed documents' `kind`).
    Column(&'static str),
}

#[derive(Debug, FromQueryResult)]
struct Found {
    id: Uuid,
    label: String,
}

/// The label of each of `ids` that one of `homes` holds within `org_id`, in one
/// `UNION ALL` statement whatever the number of ids and tables. Ids found nowhere (or
/// in another organization) are left out.
#[tracing::instrument(skip(db, ids, homes), fields(org = %org_id, ids = ids.len()))]
pub async fn locate(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
    homes: &[Home],
) -> Result<HashMap<Uuid, String>> {
    let mut selects = homes.iter().map(|home| select(home, org_id, ids));
    let (Some(mut statement), false) = (selects.next(), ids.is_empty()) else { return Ok(HashMap::new()) };
    for other in selects {
        statement.union(UnionType::All, other);
    }
    let statement = db.get_database_backend().build(&statement);
    let rows = Found::find_by_statement(statement).all(db).await?;
    Ok(rows.into_iter().map(|found| (found.id, found.label)).collect())
}

fn select(home: &Home, org_id: Uuid, ids: &[Uuid]) -> SelectStatement {
    let column = |name: &'static str| Expr::col((Alias::new(home.table), Alias::new(name)));
    let label = match home.label {
        Label::Table => Expr::val(home.table),
        Label::Column(name) => column(name),
    };
    Query::select()
        .expr_as(column("id"), Alias::new("id"))
        .expr_as(label, Alias::new("label"))
        .from(Alias::new(home.table))
        .and_where(column("org_id").eq(org_id))
        .and_where(column("id").is_in(ids.iter().copied()))
        .to_owned()
}
