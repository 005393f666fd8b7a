//! Optimistic locking for rows that people edit: every such table has a `version`
//! that each write bumps and an `updated_at` it stamps. A write reads the row, checks
//! the client's `expectedVersion` against it ([`check_version`]) and saves with
//! [`save_versioned`], whose `UPDATE` matches only the version it read: of two
//! concurrent writers the second touches no row and gets CONFLICT, instead of silently
//! overwriting the first (PostgreSQL's default isolation lets both read the same row).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Value};
use uuid::Uuid;

use super::column;
use crate::error::{ApiError, Result};

/// CONFLICT when the client's `expectedVersion` is not the stored one.
pub fn check_version(expected: Option<i32>, stored: i32) -> Result<()> {
    match expected {
        Some(expected) if expected != stored => Err(ApiError::Conflict(format!(
            "the record was changed by someone else (version {stored}, you had {expected}); reload and try again"
        ))),
        _ => Ok(()),
    }
}

/// Write the `Set` fields of `model` to row `id`, which the caller read at `version`,
/// bump its version and stamp `updated_at` (with `now`, unless `model` sets it), in one
/// `UPDATE … RETURNING`; returns the stored row. CONFLICT when the row is no longer at
/// `version`: someone else wrote it since it was read.
pub async fn save_versioned<A>(
    txn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    mut model: A,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + Send,
{
    let version_column = column::<A::Entity>("version")?;
    let updated_at = column::<A::Entity>("updated_at")?;
    model.try_set(version_column, Value::from(version + 1)).map_err(ApiError::internal)?;
    if !model.get(updated_at).is_set() {
        model.try_set(updated_at, Value::from(Utc::now())).map_err(ApiError::internal)?;
    }
    let mut saved = A::Entity::update_many()
        .set(model)
        .filter(column::<A::Entity>("id")?.eq(id))
        .filter(version_column.eq(version))
        .exec_with_returning(txn)
        .await?;
    saved.pop().ok_or_else(changed_since_read)
}

/// CONFLICT when an `UPDATE … WHERE version = <the version read>` touched no row: it
/// lost a race with a concurrent writer.
pub fn ensure_updated(result: &sea_orm::UpdateResult) -> Result<()> {
    if result.rows_affected == 0 {
        return Err(changed_since_read());
    }
    Ok(())
}

/// The CONFLICT of a versioned write that lost a race.
fn changed_since_read() -> ApiError {
    ApiError::Conflict("the record was changed by someone else; reload and try again".into())
}
