//! Keyset pagination over the database, written once for every list: a page is
//! `WHERE (key…) > (cursor…) ORDER BY key… LIMIT n+1` on an indexed key, so a page costs
//! the same at row 10 and at row 10 million and stays correct while rows are inserted.
//! How clients ask for a page (Relay arguments, opaque cursors) is the GraphQL layer's
//! business (`graphql::pagination`).

use sea_orm::sea_query::IntoColumnRef;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};

use crate::error::Result;

/// A validated page request over keys of type `K`.
#[derive(Debug, Clone)]
pub struct Window<K> {
    pub limit: u64,
    pub after: Option<K>,
    pub before: Option<K>,
    /// `last` was given: take the rows just before `before` (or the end).
    pub from_end: bool,
}

/// One page of rows plus what the connection needs to describe it.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_previous_page: bool,
    pub has_next_page: bool,
    /// Rows matching the filter in all pages; computed only when asked for.
    pub total_count: Option<u64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

/// Which way a list runs along its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// A timestamp sort key as a cursor carries it (RFC 3339 text), as the database
/// compares it; `None` when the text is not one.
pub fn time_key(value: &serde_json::Value) -> Option<sea_orm::Value> {
    value.as_str().and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc().into())
}

/// Fetch one page of `select` keyed on the unique, indexed column `key` (such as a
/// UUIDv7 id). `count` asks for `totalCount` as well.
pub async fn fetch_page<E, C, K>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    key: C,
    direction: Direction,
    window: &Window<K>,
    count: bool,
) -> Result<Page<E::Model>>
where
    E: EntityTrait<Column = C>,
    E::Model: crate::db::rows::FromColumns + Send + Sync,
    C: ColumnTrait,
    K: Clone + Into<sea_orm::Value>,
{
    let window = window.clone().map_keys(|k| Ok(vec![k.into()]))?;
    fetch_page_by(db, select, &[key], direction, &window, count).await
}

impl<K> Window<K> {
    /// Convert the cursor keys, such as decoded JSON into typed database values.
    pub fn map_keys<L>(self, mut f: impl FnMut(K) -> Result<L>) -> Result<Window<L>> {
        Ok(Window {
            limit: self.limit,
            after: self.after.map(&mut f).transpose()?,
            before: self.before.map(&mut f).transpose()?,
            from_end: self.from_end,
        })
    }
}

/// Fetch one page of `select` ordered by `keys` (all in `direction`), whose last
/// column must make the order unique (the id). Cursors hold one value per key and
/// are compared as a row value, `(score, id) < (?, ?)`, which an index on
/// `(org_id, score, id)` serves directly.
pub async fn fetch_page_by<E, M, K>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    keys: &[K],
    direction: Direction,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
) -> Result<Page<M>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    M: crate::db::rows::FromColumns + Send + Sync,
    K: IntoColumnRef + Clone,
{
    use sea_orm::sea_query::{Expr, ExprTrait};
    let total_count = if count { Some(select.clone().count(db).await?) } else { None };
    let ascending = direction == Direction::Ascending;
    let row = || Expr::tuple(keys.iter().map(|c| Expr::col(c.clone())));
    let values = |v: &[sea_orm::Value]| Expr::tuple(v.iter().cloned().map(Expr::val));
    let mut query = select;
    // "after" means further along the list's own direction.
    if let Some(after) = &window.after {
        query = query.filter(if ascending { row().gt(values(after)) } else { row().lt(values(after)) });
    }
    if let Some(before) = &window.before {
        query = query.filter(if ascending { row().lt(values(before)) } else { row().gt(values(before)) });
    }
    // Reading from the end walks the keys the other way, then flips the page back.
    let order = match (ascending, window.from_end) {
        (true, false) | (false, true) => Order::Asc,
        (true, true) | (false, false) => Order::Desc,
    };
    for key in keys {
        query = query.order_by(Expr::col(key.clone()), order.clone());
    }
    let mut items = crate::db::rows::all::<M>(db, query.limit(window.limit + 1)).await?;
    let more = items.len() as u64 > window.limit;
    items.truncate(window.limit as usize);
    if window.from_end {
        items.reverse();
    }
    let (has_previous_page, has_next_page) =
        if window.from_end { (more, window.before.is_some()) } else { (window.after.is_some(), more) };
    Ok(Page { items, has_previous_page, has_next_page, total_count })
}
