//! GraphQL types and resolvers of the audit log.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::audit::{self, AuditCriteria};
use crate::auth::fields::PersonalField;
use crate::connection;
use crate::error::Result;
use crate::graphql::pagination::{PageArgs, encode_cursor};
use crate::graphql::{actor, db, parse_id, selects};

const LIST: &str = "auditLog";

/// Who made a change.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "entity::ActorKind")]
pub enum AuditActorKind {
    /// A signed-in user.
    User,
    /// An API key of a BI tool or integration partner.
    ApiKey,
    /// Accord itself: the command line, the demo seed or a background job.
    System,
}

/// One change recorded in the audit log.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct AuditEntry {
    /// Id of the entry; entries are ordered by it, newest last.
    #[graphql(owned)]
    pub id: ID,
    /// What kind of caller made the change.
    pub actor_kind: AuditActorKind,
    /// Id of the user or API key that made the change; null for SYSTEM.
    pub actor_id: Option<ID>,
    /// Name of the user or API key at the time of the change.
    pub actor_name: String,
    /// What was done, as `<entity>.<verb>`, such as `user.create` or `apiKey.revoke`.
    pub action: String,
    /// Kind of record changed, such as `user`, `apiKey` or `organization`.
    pub entity: String,
    /// Id of the record changed.
    pub entity_id: Option<ID>,
    /// Shown by the `changes` resolver, which withholds personal values.
    #[graphql(skip)]
    pub changes: Json<serde_json::Value>,
    /// When the change was committed (UTC).
    pub at: DateTime<Utc>,
}

impl From<entity::audit_log::Model> for AuditEntry {
    fn from(m: entity::audit_log::Model) -> Self {
        Self {
            id: m.id.into(),
            actor_kind: m.actor_kind.into(),
            actor_id: m.actor_id.map(Into::into),
            actor_name: m.actor_name,
            action: m.action,
            entity: m.entity,
            entity_id: m.entity_id.map(Into::into),
            changes: Json(m.changes),
            at: m.at,
        }
    }
}

#[ComplexObject]
impl AuditEntry {
    /// Field-by-field changes: `{ "field": { "from": old, "to": new } }`. A new record's entry
    /// lists the values it was created with (`from` null), leaving out fields created empty.
    /// Secrets never appear. A personal field the caller may not read (`fieldReadRules`,
    /// such as a lead's `email` for an API key without `PII_READ`) shows as
    /// `{ "withheld": true }` instead of its values.
    async fn changes(&self, ctx: &Context<'_>) -> Result<Json<Value>> {
        let Value::Object(changes) = &self.changes.0 else { return Ok(self.changes.clone()) };
        // Records are named in camelCase (`lead`), their GraphQL types in PascalCase (`Lead`).
        let mut type_name = self.entity.clone();
        if let Some(first) = type_name.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        let personal: Vec<PersonalField> =
            changes.keys().filter_map(|key| PersonalField::find(&type_name, key)).collect();
        if personal.is_empty() {
            return Ok(self.changes.clone());
        }
        let hidden = crate::graphql::fields::hidden(ctx, actor(ctx)?, &personal).await?;
        let mut shown = changes.clone();
        for field in hidden {
            shown.insert(field.path().1.to_owned(), json!({ "withheld": true }));
        }
        Ok(Json(Value::Object(shown)))
    }
}

connection!(AuditEntryConnection, AuditEntryEdge, AuditEntry, "audit entries");

/// Narrows the audit log. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Only changes to this kind of record, such as `user`.
    pub entity: Option<String>,
    /// Only changes to this record.
    pub entity_id: Option<ID>,
    /// Only changes made by this user or API key.
    pub actor_id: Option<ID>,
    /// Only this action, such as `user.deactivate`.
    pub action: Option<String>,
    /// Only changes at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only changes before this time.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The organization's audit log, newest first. ADMINs and MANAGERs, or an API key
    /// with `AUDIT_READ`.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        #[graphql(desc = "Return at most this many entries from the start (default 20, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Return entries after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return at most this many entries from the end (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return entries before this cursor.")] before: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let actor = actor(ctx)?;
        let org = crate::graphql::actor(ctx)?.org_id;
        let window = PageArgs::new(first, after, last, before).window(LIST, org)?;
        let filter = filter.unwrap_or_default();
        let query = AuditCriteria {
            entity: filter.entity,
            entity_id: filter.entity_id.as_ref().map(|id| parse_id("filter.entityId", id)).transpose()?,
            actor_id: filter.actor_id.as_ref().map(|id| parse_id("filter.actorId", id)).transpose()?,
            action: filter.action,
            from: filter.from,
            to: filter.to,
        };
        let page = audit::list(db(ctx), actor, &query, &window, selects(ctx, "totalCount")).await?;
        Ok(AuditEntryConnection::from_page(ctx, page, |m| encode_cursor(LIST, org, &m.id), AuditEntry::from))
    }
}
