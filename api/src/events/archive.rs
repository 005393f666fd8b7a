//! Archiving, one rule for every archivable record (leads, accounts, opportunities,
//! content assets, campaigns): the row gets `archived_at`, an audit entry
//! `<entity>.archive` and an outbox event `<entity>.archived`, in one transaction.
//! Archiving an archived row changes nothing and returns it, so a retried request is
//! harmless. Archived rows leave lists unless they ask for them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, ModelTrait, QueryFilter, QuerySelect, Value,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{self, Changes};
use super::outbox;
use crate::auth::Actor;
use crate::db::versioned::{check_version, save_versioned};
use crate::db::{Transactions, column};
use crate::error::{ApiError, Result};

/// What an archivable kind of record is called.
#[derive(Debug, Clone, Copy)]
pub struct Archivable {
    /// The audit and outbox entity name, such as `contentAsset`.
    pub entity: &'static str,
    /// The name in a NOT_FOUND message, such as `content asset`.
    pub noun: &'static str,
}

/// Archive row `id` of the caller's organization, which the caller may write (the
/// caller checks the permission). CONFLICT when `expected_version` is not the stored
/// one; NOT_FOUND for another organization's row.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn archive<A>(
    db: &impl Transactions,
    actor: &Actor,
    kind: Archivable,
    id: Uuid,
    expected_version: Option<i32>,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let archived_at = column::<A::Entity>("archived_at")?;
    let txn = crate::db::begin_write(db).await?;
    // The row lock makes a concurrent second archive wait and then see the first.
    let current = A::Entity::find()
        .filter(column::<A::Entity>("id")?.eq(id))
        .filter(column::<A::Entity>("org_id")?.eq(actor.org_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found(kind.noun))?;
    let version = typed::<i32>(current.get(column::<A::Entity>("version")?))?;
    check_version(expected_version, version)?;
    if typed::<Option<DateTime<Utc>>>(current.get(archived_at))?.is_some() {
        return Ok(current);
    }
    let now = Utc::now();
    let mut model = current.into_active_model();
    model.try_set(archived_at, Value::from(Some(now))).map_err(ApiError::internal)?;
    let archived = save_versioned(&txn, id, version, model).await?;
    let changes = Changes::new().field("archivedAt", None, Some(&now));
    audit::record(&txn, actor, &format!("{}.archive", kind.entity), kind.entity, Some(id), changes).await?;
    let event = format!("{}.archived", kind.entity);
    outbox::publish(&txn, actor, &event, kind.entity, Some(id), json!({ "archivedAt": now })).await?;
    txn.commit().await?;
    Ok(archived)
}

fn typed<T: ValueType>(value: Value) -> Result<T> {
    T::try_from(value).map_err(|e| ApiError::internal(format!("archivable column: {e}")))
}
