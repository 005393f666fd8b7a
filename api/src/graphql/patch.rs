//! How every `update*` input reads its fields: a field left out is unchanged; an
//! explicit `null` clears a field that may be empty. async-graphql's `MaybeUndefined`
//! tells the two apart; the domain takes `Option<Option<T>>` (cleared when `Some(None)`).

use async_graphql::{ID, MaybeUndefined};
use uuid::Uuid;

use super::parse_id;
use crate::error::Result;

/// A field that may be cleared: left out is `None` (unchanged), `null` is `Some(None)`
/// (cleared), a value is `Some(Some(value))`.
pub fn clearable<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    value.into()
}

/// [`clearable`] for an id, parsed.
pub fn clearable_id(field: &str, value: MaybeUndefined<ID>) -> Result<Option<Option<Uuid>>> {
    clearable(value).map(|id| id.map(|id| parse_id(field, &id)).transpose()).transpose()
}

/// A clearable change applied to a stored value (the body of an agreed document's
/// version being edited): left out keeps `stored`.
pub fn apply<T>(stored: Option<T>, change: Option<Option<T>>) -> Option<T> {
    change.unwrap_or(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn a_field_left_out_is_unchanged_and_null_clears_it() {
        assert_eq!(clearable(MaybeUndefined::<i32>::Undefined), None);
        assert_eq!(clearable(MaybeUndefined::<i32>::Null), Some(None));
        assert_eq!(clearable(MaybeUndefined::Value(3)), Some(Some(3)));
        assert_eq!(apply(Some(1), clearable(MaybeUndefined::Undefined)), Some(1));
        assert_eq!(apply(Some(1), clearable(MaybeUndefined::Null)), None);
    }

    #[test]
    fn ids_are_parsed_and_named() {
        let id = Uuid::now_v7();
        assert_eq!(clearable_id("ownerId", MaybeUndefined::Value(ID(id.to_string()))).unwrap(), Some(Some(id)));
        let err = clearable_id("ownerId", MaybeUndefined::Value(ID("x".into()))).unwrap_err();
        assert!(matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "ownerId"));
    }
}
