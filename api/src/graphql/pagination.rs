//! Relay cursor connections over the keyset pages of `db::keyset`, written once for
//! every list.
//!
//! A cursor is opaque to clients: base64url of `<list>:<organization>:<key as JSON>`.
//! It names the list and the organization it came from, so a cursor of another list
//! or another organization (or a tampered one) is BAD_USER_INPUT.

use async_graphql::SimpleObject;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

pub use crate::db::keyset::{Direction, Page, Window, fetch_page, fetch_page_by};
use crate::error::{ApiError, Result};

/// Page size when a client gives neither `first` nor `last`.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// `first`/`after`/`last`/`before` as a client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        Self { first, after, last, before }
    }

    /// Check sizes and decode cursors of the list called `list` of organization `org`.
    pub fn window<K: DeserializeOwned>(&self, list: &str, org: Uuid) -> Result<Window<K>> {
        if self.first.is_some() && self.last.is_some() {
            return Err(ApiError::bad_input("last", "give either `first` or `last`, not both"));
        }
        let size = |field: &str, value: i32| -> Result<u64> {
            let value = u64::try_from(value).map_err(|_| ApiError::bad_input(field, "must not be negative"))?;
            if value > MAX_PAGE_SIZE {
                return Err(ApiError::bad_input(field, format!("must be at most {MAX_PAGE_SIZE}")));
            }
            Ok(value)
        };
        let (limit, from_end) = match (self.first, self.last) {
            (_, Some(last)) => (size("last", last)?, true),
            (Some(first), None) => (size("first", first)?, false),
            (None, None) => (DEFAULT_PAGE_SIZE, false),
        };
        Ok(Window {
            limit,
            after: self.after.as_deref().map(|c| decode_cursor(list, org, "after", c)).transpose()?,
            before: self.before.as_deref().map(|c| decode_cursor(list, org, "before", c)).transpose()?,
            from_end,
        })
    }
}

/// The cursor of `key` in the list called `list` of organization `org`.
pub fn encode_cursor<K: Serialize>(list: &str, org: Uuid, key: &K) -> String {
    // Written into one buffer: a page encodes a cursor per row.
    let mut text = Vec::with_capacity(list.len() + 2 + uuid::fmt::Hyphenated::LENGTH + 64);
    text.extend_from_slice(list.as_bytes());
    text.push(b':');
    text.extend_from_slice(org.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    text.push(b':');
    // Writing JSON into a vector fails only for a key that is not JSON (a map with
    // non-string keys), which no cursor holds.
    let _ = serde_json::to_writer(&mut text, key);
    URL_SAFE_NO_PAD.encode(text)
}

/// The key of a cursor of the list `list` of organization `org`; BAD_USER_INPUT naming
/// `field` for anything else.
pub fn decode_cursor<K: DeserializeOwned>(list: &str, org: Uuid, field: &str, cursor: &str) -> Result<K> {
    let invalid = || ApiError::bad_input(field, "not a cursor of this list");
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = text.strip_prefix(list).and_then(|rest| rest.strip_prefix(':')).ok_or_else(invalid)?;
    let (cursor_org, json) = rest.split_once(':').ok_or_else(invalid)?;
    if cursor_org != org.to_string() {
        return Err(invalid());
    }
    serde_json::from_str(json).map_err(|_| invalid())
}

/// The window of a list ordered by a column and the id: cursors hold `[value, id]`.
/// `key_value` turns a cursor's JSON value into the column's database value.
pub fn sorted_window(
    args: &PageArgs,
    list: &str,
    org: Uuid,
    key_value: impl Fn(&serde_json::Value) -> Option<sea_orm::Value>,
) -> Result<Window<Vec<sea_orm::Value>>> {
    let window = args.window::<(serde_json::Value, uuid::Uuid)>(list, org)?;
    window.map_keys(|(value, id)| {
        let value = key_value(&value).ok_or_else(|| ApiError::bad_input("after", "not a cursor of this list"))?;
        Ok(vec![value, id.into()])
    })
}

/// The cursor of a row in a list ordered by a column and the id.
pub fn sorted_cursor(list: &str, org: Uuid, value: serde_json::Value, id: uuid::Uuid) -> String {
    encode_cursor(list, org, &(value, id))
}

/// True when the connection field `ctx` resolves shows a cursor (an edge's, or
/// `pageInfo`'s start or end), fragments included: each cursor is a JSON and base64
/// encoding, wasted on a page that shows only its nodes.
pub fn selects_cursors(ctx: &async_graphql::Context<'_>) -> bool {
    let look = ctx.look_ahead();
    let page_info = look.field("pageInfo");
    look.field("edges").field("cursor").exists()
        || page_info.field("startCursor").exists()
        || page_info.field("endCursor").exists()
}

/// Relay's `PageInfo`: where this page sits in the whole list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// True when rows exist after this page: ask again with `after: endCursor`.
    pub has_next_page: bool,
    /// True when rows exist before this page: ask again with `before: startCursor`.
    pub has_previous_page: bool,
    /// Cursor of the first row of this page; null when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last row of this page; null when the page is empty.
    pub end_cursor: Option<String>,
}

/// Declare a Relay connection type and its edge type for a node type.
///
/// `connection!(UserConnection, UserEdge, User, "users")` — the string is the list's
/// cursor name.
#[macro_export]
macro_rules! connection {
    ($connection:ident, $edge:ident, $node:ty, $what:literal) => {
        pub struct $connection {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::pagination::PageInfo,
            pub total_count: i64,
        }

        #[doc = concat!("A page of ", $what, " (Relay cursor connection).")]
        #[async_graphql::Object]
        impl $connection {
            #[doc = concat!("The ", $what, " of this page, each with its cursor.")]
            async fn edges(&self) -> &Vec<$edge> {
                &self.edges
            }

            #[doc = concat!("The ", $what, " of this page, without cursors.")]
            async fn nodes(&self) -> Vec<&$node> {
                // The edges' own nodes: a page asked for edges alone copies none.
                self.edges.iter().map(|edge| &edge.node).collect()
            }

            /// Where this page sits in the whole list.
            async fn page_info(&self) -> &$crate::graphql::pagination::PageInfo {
                &self.page_info
            }

            /// How many rows match the filter across all pages.
            async fn total_count(&self) -> i64 {
                self.total_count
            }
        }

        #[doc = concat!("One of the ", $what, " of a page, with the cursor that points at it.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Opaque position of this row; pass it as `after` or `before`.
            pub cursor: String,
            /// The row itself.
            pub node: $node,
        }

        impl $connection {
            /// Build the connection from a page for the connection field `ctx` resolves;
            /// `cursor` gives each row's cursor, called only when the field shows one.
            pub fn from_page<T>(
                ctx: &async_graphql::Context<'_>,
                page: $crate::graphql::pagination::Page<T>,
                mut cursor: impl FnMut(&T) -> String,
                mut node: impl FnMut(T) -> $node,
            ) -> Self {
                let shown = $crate::graphql::pagination::selects_cursors(ctx);
                let mut edges = Vec::with_capacity(page.items.len());
                for item in page.items {
                    let cursor = if shown { cursor(&item) } else { String::new() };
                    edges.push($edge { cursor, node: node(item) });
                }
                let page_info = $crate::graphql::pagination::PageInfo {
                    has_next_page: page.has_next_page,
                    has_previous_page: page.has_previous_page,
                    start_cursor: edges.first().filter(|_| shown).map(|e| e.cursor.clone()),
                    end_cursor: edges.last().filter(|_| shown).map(|e| e.cursor.clone()),
                };
                Self { edges, page_info, total_count: page.total_count.unwrap_or_default() as i64 }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_within_its_list_and_organization_only() {
        let (id, org) = (Uuid::now_v7(), Uuid::now_v7());
        let cursor = encode_cursor("users", org, &id);
        assert_eq!(decode_cursor::<Uuid>("users", org, "after", &cursor).unwrap(), id);
        assert!(decode_cursor::<Uuid>("auditLog", org, "after", &cursor).is_err());
        assert!(decode_cursor::<Uuid>("users", Uuid::now_v7(), "after", &cursor).is_err(), "another organization's");
        assert!(decode_cursor::<Uuid>("users", org, "after", "garbage!").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        let window = |first, last| PageArgs::new(first, None, last, None).window::<Uuid>("users", Uuid::nil());
        assert_eq!(window(None, None).unwrap().limit, DEFAULT_PAGE_SIZE);
        assert!(window(Some(1_000_000), None).is_err());
        assert!(window(Some(-1), None).is_err());
        assert!(window(Some(5), Some(5)).is_err());
        assert!(window(None, Some(5)).unwrap().from_end);
    }
}
