//! Reading related rows ahead of their resolvers: a child list's first page batched by
//! a DataLoader (or already read with its parent), and a page's to-one relations
//! fetched in one batch, so a list does not query once per row.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::error::{ApiError, Result};
use crate::graphql::pagination::{Page, PageArgs, Window};

/// A page of children: the first page (`read` with the parent, or batched by the
/// loader), or a later page from its own query, which `later` makes only when it is
/// asked for (boxed: a query's future is large, and every future that held it unmade
/// was as large and copied whole wherever it moved). `K` is the first-page loader's
/// key: `(parent, limit)`, or [`WithUsers`] for activities with their users.
#[allow(clippy::too_many_arguments)]
pub async fn child_page<K, L, C, T, F>(
    first_pages: &DataLoader<L>,
    counts: &DataLoader<C>,
    parent: Uuid,
    args: &PageArgs,
    window: &Window<Vec<sea_orm::Value>>,
    count: bool,
    read: Option<Vec<T>>,
    later: impl FnOnce() -> F,
) -> Result<Page<T>>
where
    F: Future<Output = Result<Page<T>>>,
    K: From<(Uuid, u64)> + Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Value = Vec<T>, Error = ApiError>,
    C: Loader<Uuid, Value = i64, Error = ApiError>,
{
    if args.after.is_some() || args.before.is_some() || args.last.is_some() {
        return Box::pin(later()).await;
    }
    let mut items = match read {
        Some(rows) => rows,
        None => first_pages.load_one(K::from((parent, window.limit))).await?.unwrap_or_default(),
    };
    let has_next_page = items.len() as u64 > window.limit;
    items.truncate(window.limit as usize);
    let total_count = if count { Some(counts.load_one(parent).await?.unwrap_or_default() as u64) } else { None };
    Ok(Page { items, has_previous_page: false, has_next_page, total_count })
}

/// All of `keys` in one batch (`None` when the relation was not asked for).
pub async fn many<T>(loader: &DataLoader<T>, keys: Option<Vec<Uuid>>) -> Result<Option<HashMap<Uuid, T::Value>>>
where
    T: Loader<Uuid, Error = ApiError>,
{
    match keys {
        None => Ok(None),
        Some(keys) if keys.is_empty() => Ok(Some(HashMap::new())),
        Some(keys) => Ok(Some(loader.load_many(keys).await?)),
    }
}
