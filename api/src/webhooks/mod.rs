//! Webhooks: ADMINs register endpoints (a URL, the event types it wants, optional
//! filters); every relayed outbox event an endpoint wants becomes a delivery, written
//! in the relay's transaction ([`deliveries`]), and the sender posts it, signed per
//! the Standard Webhooks specification, retrying on a schedule ([`send`]).

pub mod catalogue;
pub mod deliveries;
pub mod graphql;
pub mod send;
pub mod target;

use base64::Engine;
use chrono::{DateTime, Utc};
use entity::LifecycleStage;
use entity::webhook_endpoint::{ActiveModel, Column, Entity, Model};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_administer, require};
use crate::config::WebhookSettings;
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::validate;

/// Most endpoints one organization may have.
pub const MAX_ENDPOINTS: u64 = 20;
/// Most event types (or patterns) one endpoint may list.
pub const MAX_EVENT_TYPES: usize = 100;
/// Longest description.
pub const MAX_DESCRIPTION: usize = 500;
/// How long the secret before a rotation keeps signing beside the new one.
pub const ROTATION_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// An endpoint to create.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub lead_stages: Vec<LifecycleStage>,
}

/// Changes to an endpoint: `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    pub lead_stages: Option<Vec<LifecycleStage>>,
}

/// The event types of a stored endpoint.
pub fn event_types(endpoint: &Model) -> Vec<String> {
    serde_json::from_value(endpoint.event_types.clone()).unwrap_or_default()
}

/// The lead stages a stored endpoint narrows lead events to; empty for every stage.
pub fn lead_stages(endpoint: &Model) -> Vec<LifecycleStage> {
    serde_json::from_value(endpoint.lead_stages.clone()).unwrap_or_default()
}

/// Create an endpoint; returns it and its signing secret (`whsec_…`), which ADMINs can
/// only see again by rotating it.
#[tracing::instrument(skip(db, actor, settings, new), fields(org = %actor.org_id))]
pub async fn create(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    settings: &WebhookSettings,
    new: NewEndpoint,
) -> Result<(Model, String)> {
    require(can_administer(actor), "manage webhooks")?;
    let url = target::check_url(&new.url, settings.allow_private)?;
    let description = checked_description(new.description)?;
    let event_types = checked_event_types(new.event_types)?;
    let lead_stages = checked_stages(new.lead_stages);
    let secret = new_secret();
    let txn = crate::db::begin_write(db).await?;
    let count = Entity::find().filter(Column::OrgId.eq(actor.org_id)).count(&txn).await?;
    if count >= MAX_ENDPOINTS {
        return Err(ApiError::bad_input(
            "url",
            format!("an organization has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"),
        ));
    }
    let now = Utc::now();
    let endpoint = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        url: Set(url.to_string()),
        description: Set(description),
        event_types: Set(serde_json::json!(event_types)),
        lead_stages: Set(serde_json::json!(lead_stages)),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        failing_since: Set(None),
        created_by: Set(actor.user_id()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("url", &endpoint.url)
        .created("description", &endpoint.description)
        .created("eventTypes", &endpoint.event_types)
        .created("leadStages", &endpoint.lead_stages);
    audit::record(&txn, actor, "webhookEndpoint.create", "webhookEndpoint", Some(endpoint.id), changes).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// Change an endpoint's URL, description, event types or filters.
#[tracing::instrument(skip(db, actor, settings, changes), fields(org = %actor.org_id))]
pub async fn update(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    settings: &WebhookSettings,
    id: Uuid,
    changes: EndpointChanges,
) -> Result<Model> {
    require(can_administer(actor), "manage webhooks")?;
    let url = changes.url.map(|url| target::check_url(&url, settings.allow_private)).transpose()?;
    let description = changes.description.map(checked_description).transpose()?;
    let event_types = changes.event_types.map(checked_event_types).transpose()?;
    let lead_stages = changes.lead_stages.map(checked_stages);
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    let mut model: ActiveModel = current.clone().into();
    let mut audit_changes = Changes::new();
    if let Some(url) = url.map(|u| u.to_string()).filter(|u| *u != current.url) {
        audit_changes = audit_changes.field("url", Some(&current.url), Some(&url));
        model.url = Set(url);
    }
    if let Some(description) = description.filter(|d| *d != current.description) {
        audit_changes = audit_changes.field("description", current.description.as_ref(), description.as_ref());
        model.description = Set(description);
    }
    if let Some(types) = event_types.map(|t| serde_json::json!(t)).filter(|t| *t != current.event_types) {
        audit_changes = audit_changes.field("eventTypes", Some(&current.event_types), Some(&types));
        model.event_types = Set(types);
    }
    if let Some(stages) = lead_stages.map(|s| serde_json::json!(s)).filter(|s| *s != current.lead_stages) {
        audit_changes = audit_changes.field("leadStages", Some(&current.lead_stages), Some(&stages));
        model.lead_stages = Set(stages);
    }
    if audit_changes.is_empty() {
        return Ok(current);
    }
    model.updated_at = Set(Utc::now());
    let endpoint = model.update(&txn).await?;
    audit::record(&txn, actor, "webhookEndpoint.update", "webhookEndpoint", Some(id), audit_changes).await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Enable or disable an endpoint. A disabled endpoint gets no new deliveries; those
/// already waiting are sent when it is enabled again. Enabling forgets past failures.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn set_enabled(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, enabled: bool) -> Result<Model> {
    require(can_administer(actor), "manage webhooks")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    if current.enabled == enabled {
        return Ok(current);
    }
    let now = Utc::now();
    let mut model: ActiveModel = current.clone().into();
    model.enabled = Set(enabled);
    model.disabled_at = Set((!enabled).then_some(now));
    model.disabled_reason = Set((!enabled).then(|| "disabled by an ADMIN".to_owned()));
    model.failing_since = Set(None);
    model.updated_at = Set(now);
    let endpoint = model.update(&txn).await?;
    let action = if enabled { "webhookEndpoint.enable" } else { "webhookEndpoint.disable" };
    let changes = Changes::new().field("enabled", Some(&current.enabled), Some(&enabled));
    audit::record(&txn, actor, action, "webhookEndpoint", Some(id), changes).await?;
    txn.commit().await?;
    Ok(endpoint)
}

/// Replace an endpoint's signing secret; returns the new one. For
/// [`ROTATION_OVERLAP`] deliveries carry a signature by each, so a receiver can switch
/// without losing a delivery.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn rotate_secret(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid) -> Result<(Model, String)> {
    require(can_administer(actor), "manage webhooks")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    let now = Utc::now();
    let secret = new_secret();
    let mut model: ActiveModel = current.clone().into();
    model.previous_secret = Set(Some(current.secret));
    model.previous_secret_until = Set(Some(now + ROTATION_OVERLAP));
    model.secret = Set(secret.clone());
    model.updated_at = Set(now);
    let endpoint = model.update(&txn).await?;
    let until = now + ROTATION_OVERLAP;
    let changes = Changes::new().field("previousSecretValidUntil", None, Some(&until));
    audit::record(&txn, actor, "webhookEndpoint.rotateSecret", "webhookEndpoint", Some(id), changes).await?;
    txn.commit().await?;
    Ok((endpoint, secret))
}

/// Delete an endpoint with its delivery log.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn delete(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid) -> Result<Uuid> {
    require(can_administer(actor), "manage webhooks")?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    // Its deliveries and their attempts go with it: both foreign keys cascade, on SQLite too.
    Entity::delete_by_id(id).exec(&txn).await?;
    let changes = Changes::new().field("url", Some(&current.url), None);
    audit::record(&txn, actor, "webhookEndpoint.delete", "webhookEndpoint", Some(id), changes).await?;
    txn.commit().await?;
    Ok(id)
}

/// The organization's endpoints, oldest first. ADMINs only.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<Model>> {
    require(can_administer(actor), "read webhooks")?;
    Ok(Entity::find().filter(Column::OrgId.eq(actor.org_id)).order_by_asc(Column::Id).all(db).await?)
}

/// One endpoint of the caller's organization; NOT_FOUND for another's.
pub async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_administer(actor), "read webhooks")?;
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "webhook endpoint").await
}

/// The secrets that sign a delivery at `now`: the current one, and the one before it
/// during its overlap.
pub fn signing_secrets(endpoint: &Model, now: DateTime<Utc>) -> Vec<&str> {
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_until)
        && until > now
    {
        secrets.push(previous);
    }
    secrets
}

/// A new secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks libraries read it.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn checked_description(description: Option<String>) -> Result<Option<String>> {
    validate::optional_text("description", description.as_deref(), MAX_DESCRIPTION)
}

fn checked_event_types(types: Vec<String>) -> Result<Vec<String>> {
    let types = validate::text_list("eventTypes", types, MAX_EVENT_TYPES, 100)?;
    if types.is_empty() {
        return Err(ApiError::bad_input("eventTypes", "name at least one event type, `lead.*` or `*`"));
    }
    if let Some(unknown) = types.iter().find(|t| !catalogue::is_known(t)) {
        return Err(ApiError::bad_input(
            "eventTypes",
            format!("{unknown:?} is not an event type; see the catalogue in docs/webhooks.md (or use `lead.*`, `*`)"),
        ));
    }
    Ok(types)
}

fn checked_stages(mut stages: Vec<LifecycleStage>) -> Vec<LifecycleStage> {
    let mut seen = std::collections::HashSet::new();
    stages.retain(|stage| seen.insert(*stage));
    stages
}
