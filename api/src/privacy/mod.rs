//! A person's data on request: erasure of a lead (`eraseLead`, `accord erase --email`)
//! and the export of everything stored about them (`exportPerson`).
//!
//! Erasure removes what identifies the person and keeps the anonymous facts, so every
//! KPI stays as it was: the lead keeps its stage, score, owners, dates and account;
//! its e-mail becomes `erased+<id>@erased.invalid`, its names empty, its phone and
//! external id gone. Free text about the person (activity notes, handover notes,
//! feedback on the lead and its endorsements, content-usage comments) becomes
//! `erased` or empty, engagement properties `{}`, and every stored copy of the
//! person's e-mail, names or phone (audit values, outbox payloads, webhook bodies and
//! responses, deal names) is replaced by `erased`.

pub mod graphql;

use std::collections::HashSet;

use chrono::Utc;
use entity::feedback::FeedbackSubject;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
    QueryTrait, Set,
};
use serde_json::Value;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_administer, require};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};

/// What replaces erased text.
pub const ERASED: &str = "erased";

/// The longest reason an erasure may give.
pub const MAX_REASON: usize = 500;

/// The e-mail address an erased lead keeps: unique, and no one's.
pub fn erased_email(lead_id: Uuid) -> String {
    format!("erased+{}@erased.invalid", lead_id.simple())
}

/// What identifies the person, lower-cased: the e-mail, the names (alone and
/// together) and the phone. Terms under three characters would match too much.
fn terms(lead: &entity::lead::Model) -> Vec<String> {
    let full = format!("{} {}", lead.first_name.trim(), lead.last_name.trim());
    [Some(lead.email.as_str()), Some(&lead.first_name), Some(&lead.last_name), Some(&full), lead.phone.as_deref()]
        .into_iter()
        .flatten()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| t.chars().count() >= 3)
        .collect()
}

/// `value` with every string that holds one of `terms` replaced by [`ERASED`]; true
/// when something changed.
fn scrub(value: &mut Value, terms: &[String]) -> bool {
    match value {
        Value::String(text) => {
            let lower = text.to_lowercase();
            let found = terms.iter().any(|t| lower.contains(t.as_str()));
            if found {
                *text = ERASED.to_owned();
            }
            found
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| scrub(item, terms) | changed),
        Value::Object(map) => map.values_mut().fold(false, |changed, item| scrub(item, terms) | changed),
        _ => false,
    }
}

/// A stored text: JSON scrubbed inside, other text replaced whole when it names the person.
fn scrub_text(text: &str, terms: &[String]) -> Option<String> {
    if let Ok(mut value) = serde_json::from_str::<Value>(text)
        && value.is_object()
    {
        return scrub(&mut value, terms).then(|| value.to_string());
    }
    let lower = text.to_lowercase();
    terms.iter().any(|t| lower.contains(t.as_str())).then(|| ERASED.to_owned())
}

/// `CAST(column AS TEXT) LIKE '%email%' ESCAPE '\'`, the same on SQLite and PostgreSQL
/// (stored e-mail addresses are lower-case).
fn mentions(column: impl sea_orm::sea_query::IntoColumnRef, email: &str) -> Expr {
    let pattern = LikeExpr::new(crate::validate::like_pattern(email)).escape('\\');
    Expr::expr(Func::cast_as(Expr::col(column), Alias::new("TEXT"))).like(pattern)
}

/// Erase the person behind lead `lead_id` (ADMINs): see the module comment. Audited
/// with the reason only. Erasing an erased lead again finds nothing more to erase.
#[tracing::instrument(skip(db, actor, reason), fields(org = %actor.org_id))]
pub async fn erase_lead(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    lead_id: Uuid,
    reason: &str,
) -> Result<entity::lead::Model> {
    require(can_administer(actor), "erase a person's data")?;
    let reason = crate::validate::text("reason", reason, MAX_REASON)?;
    let txn = crate::db::begin_write(db).await?;
    let org = actor.org_id;
    let lead = crate::db::find_in_org::<entity::lead::Entity>(&txn, org, lead_id, "lead").await?;
    let terms = terms(&lead);
    let email = lead.email.clone();

    let mut linked: HashSet<Uuid> = HashSet::from([lead_id]);
    linked.extend(erase_lead_records(&txn, org, lead_id).await?);
    let lead = {
        let mut erased = lead.into_active_model();
        erased.email = Set(erased_email(lead_id));
        erased.first_name = Set(String::new());
        erased.last_name = Set(String::new());
        erased.phone = Set(None);
        erased.external_id = Set(None);
        erased.version = Set(erased.version.as_ref() + 1);
        erased.updated_at = Set(Utc::now());
        erased.update(&txn).await?
    };
    let linked: Vec<Uuid> = linked.into_iter().collect();
    erase_copies(&txn, org, lead_id, &linked, &email, &terms).await?;

    let changes = Changes::new().created("reason", &reason);
    audit::record(&txn, actor, "lead.erase", "lead", Some(lead_id), changes).await?;
    txn.commit().await?;
    Ok(lead)
}

/// Clear the free text of the lead's own records; returns their ids.
async fn erase_lead_records(txn: &impl ConnectionTrait, org: Uuid, lead_id: Uuid) -> Result<Vec<Uuid>> {
    use entity::{activity, content_usage, engagement_event, feedback, feedback_endorsement, handover, opportunity};
    let mut ids = Vec::new();
    macro_rules! ids_of {
        ($entity:ident, $condition:expr) => {{
            let found: Vec<Uuid> = $entity::Entity::find()
                .select_only()
                .column($entity::Column::Id)
                .filter($entity::Column::OrgId.eq(org))
                .filter($condition)
                .into_tuple()
                .all(txn)
                .await?;
            ids.extend(found.iter().copied());
            found
        }};
    }
    ids_of!(engagement_event, engagement_event::Column::LeadId.eq(lead_id));
    engagement_event::Entity::update_many()
        .col_expr(engagement_event::Column::Properties, Expr::value(Value::Object(Default::default())))
        .filter(engagement_event::Column::OrgId.eq(org))
        .filter(engagement_event::Column::LeadId.eq(lead_id))
        .exec(txn)
        .await?;
    ids_of!(activity, activity::Column::LeadId.eq(lead_id));
    activity::Entity::update_many()
        .col_expr(activity::Column::Notes, Expr::value(Option::<String>::None))
        .filter(activity::Column::OrgId.eq(org))
        .filter(activity::Column::LeadId.eq(lead_id))
        .exec(txn)
        .await?;
    ids_of!(content_usage, content_usage::Column::LeadId.eq(lead_id));
    content_usage::Entity::update_many()
        .col_expr(content_usage::Column::Comment, Expr::value(Option::<String>::None))
        .filter(content_usage::Column::OrgId.eq(org))
        .filter(content_usage::Column::LeadId.eq(lead_id))
        .exec(txn)
        .await?;
    ids_of!(handover, handover::Column::LeadId.eq(lead_id));
    for column in [handover::Column::Note, handover::Column::ResponseNote] {
        handover::Entity::update_many()
            .col_expr(column, Expr::value(ERASED))
            .filter(handover::Column::OrgId.eq(org))
            .filter(handover::Column::LeadId.eq(lead_id))
            .filter(column.is_not_null())
            .exec(txn)
            .await?;
    }
    let about_lead = Condition::all()
        .add(feedback::Column::SubjectType.eq(FeedbackSubject::Lead))
        .add(feedback::Column::SubjectId.eq(lead_id));
    let feedback_ids = ids_of!(feedback, about_lead.clone());
    feedback::Entity::update_many()
        .col_expr(feedback::Column::Body, Expr::value(ERASED))
        .filter(feedback::Column::OrgId.eq(org))
        .filter(about_lead)
        .exec(txn)
        .await?;
    ids_of!(feedback_endorsement, feedback_endorsement::Column::FeedbackId.is_in(feedback_ids.clone()));
    feedback_endorsement::Entity::update_many()
        .col_expr(feedback_endorsement::Column::Comment, Expr::value(ERASED))
        .filter(feedback_endorsement::Column::OrgId.eq(org))
        .filter(feedback_endorsement::Column::FeedbackId.is_in(feedback_ids))
        .filter(feedback_endorsement::Column::Comment.is_not_null())
        .exec(txn)
        .await?;
    ids_of!(opportunity, opportunity::Column::LeadId.eq(lead_id));
    Ok(ids)
}

/// Ids one `IN (…)` list holds at most: SQLite binds at most 32,766 values per
/// statement, and a lead may have more engagement events than that.
const IN_CHUNK: usize = 1_000;

/// The organization's rows of `E` about `linked` records (by `entity_id`, chunked) or
/// whose `text` column holds `email`, each once.
async fn about<E: EntityTrait>(
    txn: &impl ConnectionTrait,
    columns: (E::Column, E::Column, E::Column),
    org: Uuid,
    linked: &[Uuid],
    email: &str,
) -> Result<Vec<E::Model>> {
    let (org_id, entity_id, text) = columns;
    let mut rows = E::find().filter(org_id.eq(org)).filter(mentions(text, email)).all(txn).await?;
    for chunk in linked.chunks(IN_CHUNK) {
        let about = E::find()
            .filter(org_id.eq(org))
            .filter(entity_id.is_in(chunk.iter().copied()))
            .filter(mentions(text, email).not())
            .all(txn)
            .await?;
        rows.extend(about);
    }
    Ok(rows)
}

/// Replace every stored copy of the person's data: in the rows about the lead's records
/// (`linked`) whatever names them, elsewhere in the organization the e-mail address
/// (names alone would match other people there).
async fn erase_copies(
    txn: &impl ConnectionTrait,
    org: Uuid,
    lead_id: Uuid,
    linked: &[Uuid],
    email: &str,
    terms: &[String],
) -> Result<()> {
    use entity::{audit_log, lead_stage_transition, opportunity, outbox_event, webhook_attempt, webhook_delivery};
    let email_only = [email.to_lowercase()];
    let linked_set: HashSet<Uuid> = linked.iter().copied().collect();
    let terms_of = |entity_id: Option<Uuid>| match entity_id {
        Some(id) if linked_set.contains(&id) => terms,
        _ => &email_only[..],
    };
    let columns = (audit_log::Column::OrgId, audit_log::Column::EntityId, audit_log::Column::Changes);
    let rows = about::<audit_log::Entity>(txn, columns, org, linked, email).await?;
    for row in rows {
        let mut changes = row.changes.clone();
        if scrub(&mut changes, terms_of(row.entity_id)) {
            let mut row = row.into_active_model();
            row.changes = Set(changes);
            row.update(txn).await?;
        }
    }
    let columns = (outbox_event::Column::OrgId, outbox_event::Column::EntityId, outbox_event::Column::Payload);
    let rows = about::<outbox_event::Entity>(txn, columns, org, linked, email).await?;
    for row in rows {
        let mut payload = row.payload.clone();
        if scrub(&mut payload, terms_of(row.entity_id)) {
            let mut row = row.into_active_model();
            row.payload = Set(payload);
            row.update(txn).await?;
        }
    }
    let columns = (webhook_delivery::Column::OrgId, webhook_delivery::Column::EntityId, webhook_delivery::Column::Body);
    let deliveries = about::<webhook_delivery::Entity>(txn, columns, org, linked, email).await?;
    let delivery_terms: std::collections::HashMap<Uuid, &[String]> =
        deliveries.iter().map(|d| (d.id, terms_of(d.entity_id))).collect();
    for row in deliveries {
        if let Some(body) = scrub_text(&row.body, delivery_terms[&row.id]) {
            let mut row = row.into_active_model();
            row.body = Set(body);
            row.update(txn).await?;
        }
    }
    let delivery_ids: Vec<Uuid> = delivery_terms.keys().copied().collect();
    let mut attempts = Vec::new();
    for chunk in delivery_ids.chunks(IN_CHUNK) {
        let found =
            webhook_attempt::Entity::find().filter(webhook_attempt::Column::DeliveryId.is_in(chunk.iter().copied()));
        attempts.extend(found.all(txn).await?);
    }
    for row in attempts {
        let terms = delivery_terms.get(&row.delivery_id).copied().unwrap_or_default();
        let response = row.response.as_deref().and_then(|r| scrub_text(r, terms));
        let error = row.error.as_deref().and_then(|e| scrub_text(e, terms));
        if response.is_some() || error.is_some() {
            let mut row = row.into_active_model();
            if let Some(response) = response {
                row.response = Set(Some(response));
            }
            if let Some(error) = error {
                row.error = Set(Some(error));
            }
            row.update(txn).await?;
        }
    }
    let moves = lead_stage_transition::Entity::find()
        .filter(lead_stage_transition::Column::OrgId.eq(org))
        .filter(lead_stage_transition::Column::LeadId.eq(lead_id))
        .filter(lead_stage_transition::Column::Reason.is_not_null())
        .all(txn)
        .await?;
    for row in moves {
        if let Some(reason) = row.reason.as_deref().and_then(|r| scrub_text(r, terms)) {
            let mut row = row.into_active_model();
            row.reason = Set(Some(reason));
            row.update(txn).await?;
        }
    }
    let deals = opportunity::Entity::find()
        .filter(opportunity::Column::OrgId.eq(org))
        .filter(opportunity::Column::LeadId.eq(lead_id))
        .all(txn)
        .await?;
    for row in deals {
        let name = scrub_text(&row.name, terms);
        let note = row.lost_note.as_deref().and_then(|n| scrub_text(n, terms));
        if name.is_some() || note.is_some() {
            let mut row = row.into_active_model();
            if let Some(name) = name {
                row.name = Set(name);
            }
            if let Some(note) = note {
                row.lost_note = Set(Some(note));
            }
            row.update(txn).await?;
        }
    }
    Ok(())
}

/// `CAST(column AS TEXT) <> '{}'`: a JSON value not yet emptied, on both databases.
fn not_empty(column: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Expr::expr(Func::cast_as(Expr::col(column), Alias::new("TEXT"))).ne("{}")
}

/// Rows one retention statement empties at most, so no statement holds locks for long.
const RETENTION_BATCH: u64 = 1_000;

/// Set the JSON column `json` of the organization's rows of `E` whose `at` is before
/// `cutoff` to `{}`, [`RETENTION_BATCH`] rows per statement; returns how many.
async fn empty_before<E: EntityTrait>(
    db: &impl ConnectionTrait,
    columns: (E::Column, E::Column, E::Column, E::Column),
    org: Uuid,
    cutoff: chrono::DateTime<Utc>,
) -> Result<u64> {
    let (id, org_id, at, json) = columns;
    let mut emptied = 0;
    loop {
        let batch = E::find()
            .select_only()
            .column(id)
            .filter(org_id.eq(org))
            .filter(at.lt(cutoff))
            .filter(not_empty((E::default(), json)))
            .limit(RETENTION_BATCH)
            .into_query();
        let done = E::update_many()
            .col_expr(json, Expr::value(Value::Object(Default::default())))
            .filter(id.in_subquery(batch))
            .exec(db)
            .await?
            .rows_affected;
        emptied += done;
        if done < RETENTION_BATCH {
            return Ok(emptied);
        }
    }
}

/// Empty what organizations keep for a limited time (their settings
/// `engagementPropertiesRetentionDays` and `auditValuesRetentionDays`): the properties
/// of engagement events that occurred, and the values of audit entries written, longer
/// ago. Idempotent, so replicas may run it at once. Returns the rows emptied.
pub async fn prune_expired(db: &impl ConnectionTrait, now: chrono::DateTime<Utc>) -> Result<u64> {
    use entity::{audit_log, engagement_event, organization};
    let orgs: Vec<(Uuid, Value)> = organization::Entity::find()
        .select_only()
        .column(organization::Column::Id)
        .column(organization::Column::Settings)
        .into_tuple()
        .all(db)
        .await?;
    let mut emptied = 0;
    for (org, settings) in orgs {
        let settings = crate::org::OrgSettings::from_stored(&settings);
        let cutoff = |days: u32| now - chrono::Duration::days(i64::from(days));
        if let Some(days) = settings.engagement_properties_retention_days {
            use engagement_event::Column as C;
            let columns = (C::Id, C::OrgId, C::OccurredAt, C::Properties);
            emptied += empty_before::<engagement_event::Entity>(db, columns, org, cutoff(days)).await?;
        }
        if let Some(days) = settings.audit_values_retention_days {
            use audit_log::Column as C;
            let columns = (C::Id, C::OrgId, C::At, C::Changes);
            emptied += empty_before::<audit_log::Entity>(db, columns, org, cutoff(days)).await?;
        }
    }
    Ok(emptied)
}

/// The most rows of one kind a subject export holds; a longer list ends with
/// `"truncated": true` beside it.
pub const MAX_EXPORT_ROWS: u64 = 10_000;

/// Everything stored about the person of lead `email` (ADMINs): one JSON document with
/// the lead, its score, stage history, engagement events, activities, handovers,
/// feedback and its endorsements, content usage, deals, and the audit entries, outbox
/// events and webhook deliveries about them. Another organization's lead is NOT_FOUND.
#[tracing::instrument(skip(db, actor, email), fields(org = %actor.org_id))]
pub async fn export_person(db: &impl ConnectionTrait, actor: &Actor, email: &str) -> Result<Value> {
    use entity::{
        activity, audit_log, content_usage, engagement_event, feedback, feedback_endorsement, handover, lead,
        lead_score, lead_stage_transition, opportunity, outbox_event, webhook_delivery,
    };
    require(can_administer(actor), "export a person's data")?;
    let org = actor.org_id;
    let found = lead_by_email(db, org, email).await?;
    let lead_id = found.id;
    let mut document = serde_json::Map::new();
    let mut linked: Vec<Uuid> = vec![lead_id];
    macro_rules! section {
        ($name:literal, $entity:ident, $condition:expr) => {{
            let mut rows = $entity::Entity::find()
                .filter($entity::Column::OrgId.eq(org))
                .filter($condition)
                .limit(MAX_EXPORT_ROWS + 1)
                .into_json()
                .all(db)
                .await?;
            rows.iter_mut().for_each(json_columns);
            if rows.len() as u64 > MAX_EXPORT_ROWS {
                rows.truncate(MAX_EXPORT_ROWS as usize);
                document.insert(format!("{}Truncated", $name), Value::Bool(true));
            }
            let ids: Vec<Uuid> = rows
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).and_then(|id| id.parse().ok()))
                .collect();
            linked.extend(ids.iter().copied());
            document.insert($name.to_owned(), Value::Array(rows));
            ids
        }};
    }
    section!("lead", lead, lead::Column::Id.eq(lead_id));
    section!("score", lead_score, lead_score::Column::LeadId.eq(lead_id));
    section!("stageHistory", lead_stage_transition, lead_stage_transition::Column::LeadId.eq(lead_id));
    section!("engagementEvents", engagement_event, engagement_event::Column::LeadId.eq(lead_id));
    section!("activities", activity, activity::Column::LeadId.eq(lead_id));
    section!("handovers", handover, handover::Column::LeadId.eq(lead_id));
    let about_lead = Condition::all()
        .add(feedback::Column::SubjectType.eq(FeedbackSubject::Lead))
        .add(feedback::Column::SubjectId.eq(lead_id));
    let feedback_ids = section!("feedback", feedback, about_lead);
    section!("endorsements", feedback_endorsement, feedback_endorsement::Column::FeedbackId.is_in(feedback_ids));
    section!("contentUsage", content_usage, content_usage::Column::LeadId.eq(lead_id));
    section!("opportunities", opportunity, opportunity::Column::LeadId.eq(lead_id));
    // The records' own ids, chunked: SQLite binds at most 32,766 values per statement.
    macro_rules! about {
        ($name:literal, $entity:ident) => {{
            let mut rows = Vec::new();
            for chunk in linked.chunks(IN_CHUNK) {
                let left = (MAX_EXPORT_ROWS + 1).saturating_sub(rows.len() as u64);
                if left == 0 {
                    break;
                }
                let found = $entity::Entity::find()
                    .filter($entity::Column::OrgId.eq(org))
                    .filter($entity::Column::EntityId.is_in(chunk.iter().copied()))
                    .limit(left)
                    .into_json()
                    .all(db)
                    .await?;
                rows.extend(found);
            }
            rows.iter_mut().for_each(json_columns);
            if rows.len() as u64 > MAX_EXPORT_ROWS {
                rows.truncate(MAX_EXPORT_ROWS as usize);
                document.insert(format!("{}Truncated", $name), Value::Bool(true));
            }
            document.insert($name.to_owned(), Value::Array(rows));
        }};
    }
    about!("auditLog", audit_log);
    about!("outboxEvents", outbox_event);
    about!("webhookDeliveries", webhook_delivery);
    let mut out = serde_json::Map::new();
    out.insert("email".into(), Value::String(found.email));
    out.insert("leadId".into(), Value::String(lead_id.to_string()));
    out.insert("exportedAt".into(), Value::String(Utc::now().to_rfc3339()));
    out.extend(document);
    Ok(Value::Object(out))
}

/// JSON columns as JSON: SQLite hands them over as text (PostgreSQL already decoded).
fn json_columns(row: &mut Value) {
    let Value::Object(columns) = row else { return };
    for value in columns.values_mut() {
        if let Value::String(text) = value
            && (text.starts_with('{') || text.starts_with('['))
            && let Ok(decoded) = serde_json::from_str::<Value>(text)
        {
            *value = decoded;
        }
    }
}

/// The lead of `email` in the organization, for `accord erase --email`.
pub async fn lead_by_email(db: &impl ConnectionTrait, org_id: Uuid, email: &str) -> Result<entity::lead::Model> {
    let email = crate::validate::email("email", email)?;
    entity::lead::Entity::find()
        .filter(entity::lead::Column::OrgId.eq(org_id))
        .filter(entity::lead::Column::Email.eq(email))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("lead"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scrubbing_replaces_every_string_that_names_the_person() {
        let terms = vec!["ana@payly.io".to_owned(), "zofia".to_owned(), "+34 600".to_owned()];
        let mut value = json!({ "email": { "from": null, "to": "ANA@payly.io" }, "n": 3,
                                 "list": ["Zofia K.", "CFO"], "phone": "call +34 600 000" });
        assert!(scrub(&mut value, &terms));
        assert_eq!(
            value,
            json!({ "email": { "from": null, "to": "erased" }, "n": 3,
                                  "list": ["erased", "CFO"], "phone": "erased" })
        );
        assert!(!scrub(&mut value, &terms), "nothing left to erase");
        assert_eq!(scrub_text("{\"a\":\"zofia\"}", &terms).as_deref(), Some("{\"a\":\"erased\"}"));
        assert_eq!(scrub_text("upstream said: zofia unknown", &terms).as_deref(), Some("erased"));
        assert_eq!(scrub_text("ok", &terms), None);
    }
}
