//! How every `update*` input reads its fields: a field left out is unchanged; an
//! explicit `null` clears a field that may be empty, and is BAD_USER_INPUT naming the
//! field where it may not (a name, a required date, a list: `[]` empties a list).
//! async-graphql's `MaybeUndefined` tells the three apart; the domain takes
//! `Option<T>` (unchanged when `None`) or `Option<Option<T>>` (cleared when `Some(None)`).

use async_graphql::{ID, MaybeUndefined};
use uuid::Uuid;

use super::parse_id;
use crate::error::{ApiError, Result};

/// An optional id (a filter's, or a create input's): absent is `None`; a malformed id
/// is BAD_USER_INPUT naming `field`.
pub fn optional_id(field: &str, id: Option<&ID>) -> Result<Option<Uuid>> {
    id.map(|id| parse_id(field, id)).transpose()
}

/// A field that cannot be cleared: left out is `None` (unchanged), a value is `Some`,
/// `null` is BAD_USER_INPUT naming `field`.
pub fn keep_or_set<T>(field: &str, value: MaybeUndefined<T>) -> Result<Option<T>> {
    match value {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Err(ApiError::bad_input(field, "cannot be cleared; leave it out to keep it")),
        MaybeUndefined::Value(value) => Ok(Some(value)),
    }
}

/// [`keep_or_set`] for a list of ids, parsed.
pub fn keep_or_set_ids(field: &str, value: MaybeUndefined<Vec<ID>>) -> Result<Option<Vec<Uuid>>> {
    keep_or_set(field, value)?.map(|ids| ids.iter().map(|id| parse_id(field, id)).collect()).transpose()
}

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

    #[test]
    fn a_field_left_out_is_unchanged_and_null_clears_only_where_clearing_is_allowed() {
        assert_eq!(keep_or_set("name", MaybeUndefined::<String>::Undefined).unwrap(), None);
        assert_eq!(keep_or_set("name", MaybeUndefined::Value("Ana".to_owned())).unwrap(), Some("Ana".to_owned()));
        let err = keep_or_set("name", MaybeUndefined::<String>::Null).unwrap_err();
        assert!(matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "name"));

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
        let err = keep_or_set_ids("personaIds", MaybeUndefined::Null).unwrap_err();
        assert!(matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "personaIds"));
    }
}
