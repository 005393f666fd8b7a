//! An organization's rules for reading personal fields (`auth::fields`): ADMINs change
//! or reset a field's rule, audited. Every request that selects a personal field needs
//! its organization's rules, so they are remembered per organization for
//! `ACCORD_AUTH_CACHE_TTL` (like users) and forgotten at once when they change, on
//! every replica (`db::notify`).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::Role;
use entity::field_read_rule::{ActiveModel, Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::fields::{FieldRules, PersonalField, ReadRule};
use crate::auth::permissions::{Scope, can_administer, can_read, require};
use crate::db::notify::{Cached, Forget};
use crate::error::Result;
use crate::events::audit::{self, Changes};

/// Organizations remembered at most; the least recently used go first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(10_000).unwrap();

static RULES: Cached<Arc<FieldRules>> = Cached::new(CAPACITY);

/// The `db::notify` topic of an organization's rule changes.
const TOPIC: &str = "fieldReadRules";

inventory::submit! {
    Forget { topic: TOPIC, forget: |org_id| RULES.forget(org_id), forget_all: || RULES.clear() }
}

/// The organization's rules, read at most `ttl` ago.
pub async fn rules(db: &impl ConnectionTrait, org_id: Uuid, ttl: Duration) -> Result<Arc<FieldRules>> {
    if let Some(rules) = RULES.get(org_id, ttl) {
        return Ok(rules);
    }
    let rules = Arc::new(read(db, org_id).await?);
    RULES.put(org_id, rules.clone());
    Ok(rules)
}

async fn read(db: &impl ConnectionTrait, org_id: Uuid) -> Result<FieldRules> {
    let rows = Entity::find().filter(Column::OrgId.eq(org_id)).all(db).await?;
    let changed = rows
        .into_iter()
        .filter_map(|row| {
            let field = PersonalField::parse(&row.field)?;
            // ADMINs always read: the stored list names the other roles.
            let mut roles = vec![Role::Admin];
            roles.extend(serde_json::from_value::<Vec<Role>>(row.roles).unwrap_or_default());
            Some((field, ReadRule { roles, scopes: Scope::parse_stored(&row.scopes) }))
        })
        .collect::<HashMap<_, _>>();
    Ok(FieldRules::new(changed))
}

/// The organization's rules, for any user (and API keys with `ORG_READ`).
pub async fn current(db: &impl ConnectionTrait, actor: &Actor, ttl: Duration) -> Result<Arc<FieldRules>> {
    require(can_read(actor, Scope::OrgRead), "read the organization's rules")?;
    rules(db, actor.org_id, ttl).await
}

/// Set who may read `field` (ADMIN only): `roles` besides ADMIN, and the scopes of which
/// an API key needs one (none: every key that reads the type). `None` restores the
/// default. Returns the organization's rules after the change.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn set(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    field: PersonalField,
    rule: Option<ReadRule>,
) -> Result<Arc<FieldRules>> {
    require(can_administer(actor), "change who may read personal data")?;
    let txn = crate::db::begin_write(db).await?;
    let before = read(&txn, actor.org_id).await?.rule(field);
    match &rule {
        Some(rule) => {
            let mut roles: Vec<Role> = rule.roles.iter().copied().filter(|r| *r != Role::Admin).collect();
            roles.sort_by_key(|r| *r as u8);
            roles.dedup();
            let mut scopes = rule.scopes.clone();
            scopes.sort_by_key(|s| s.as_str());
            scopes.dedup();
            let row = ActiveModel {
                org_id: Set(actor.org_id),
                field: Set(field.name()),
                roles: Set(json!(roles)),
                scopes: Set(Scope::to_stored(&scopes)),
                updated_by: Set(actor.user_id()),
                updated_at: Set(Utc::now()),
            };
            let conflict = OnConflict::columns([Column::OrgId, Column::Field])
                .update_columns([Column::Roles, Column::Scopes, Column::UpdatedBy, Column::UpdatedAt])
                .to_owned();
            Entity::insert(row).on_conflict(conflict).exec_without_returning(&txn).await?;
        }
        None => {
            Entity::delete_many()
                .filter(Column::OrgId.eq(actor.org_id))
                .filter(Column::Field.eq(field.name()))
                .exec(&txn)
                .await?;
        }
    }
    let after = read(&txn, actor.org_id).await?;
    let now = after.rule(field);
    let names = |r: &ReadRule| r.scopes.iter().map(|s| s.graphql_name()).collect::<Vec<_>>();
    let name = field.name();
    let changes = Changes::new().field(&format!("{name}.roles"), Some(&before.roles), Some(&now.roles)).field(
        &format!("{name}.scopes"),
        Some(&names(&before)),
        Some(&names(&now)),
    );
    audit::record(&txn, actor, "fieldReadRule.set", "organization", Some(actor.org_id), changes).await?;
    crate::db::notify::changed(&txn, TOPIC, actor.org_id).await?;
    txn.commit().await?;
    RULES.forget(actor.org_id);
    Ok(Arc::new(after))
}
