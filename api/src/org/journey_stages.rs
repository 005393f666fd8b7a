//! Buyer-journey stages: each organization's ordered list (AWARENESS, CONSIDERATION,
//! DECISION, ONBOARDING, EXPANSION to begin with), which messages are placed on.
//! ADMINs rename and reorder them; stages are neither added nor removed here, since
//! messages will point at them.

use std::collections::HashSet;

use chrono::Utc;
use entity::journey_stage::{ActiveModel, Column, Entity, Model};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{can_edit_journey_stages, can_read_agreements, require};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate::{self, Wording};

/// The stages every organization starts with, in order.
pub const DEFAULT_STAGES: [&str; 5] = ["AWARENESS", "CONSIDERATION", "DECISION", "ONBOARDING", "EXPANSION"];

/// Create the default stages of a new organization, inside its bootstrap transaction.
pub async fn seed_defaults(txn: &impl ConnectionTrait, org_id: Uuid) -> Result<()> {
    let now = Utc::now();
    for (index, name) in DEFAULT_STAGES.iter().enumerate() {
        ActiveModel {
            id: Set(Uuid::now_v7()),
            org_id: Set(org_id),
            name: Set((*name).to_owned()),
            position: Set(index as i32 + 1),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// The organization's stages in order.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<Model>> {
    require(can_read_agreements(actor), "read journey stages")?;
    Ok(Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .order_by_asc(Column::Position)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// Rename a stage. ADMINs only; names are unique per organization.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn rename(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    name: &str,
    expected_version: Option<i32>,
) -> Result<Model> {
    require(can_edit_journey_stages(actor), "rename journey stages")?;
    let name = validate::text_with("name", name, 100, Wording::Range)?;
    let txn = crate::db::begin_write(db).await?;
    let current = find(&txn, actor, id).await?;
    check_version(expected_version, current.version)?;
    if current.name == name {
        return Ok(current);
    }
    let taken = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::Name.eq(name.as_str()))
        .filter(Column::Id.ne(id))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(ApiError::Conflict(format!("a journey stage named {name} exists already")));
    }
    let model = ActiveModel { name: Set(name.clone()), ..Default::default() };
    let updated = save_versioned(&txn, id, current.version, model).await?;
    let changes = Changes::new().field("name", Some(&current.name), Some(&name));
    audit::record(&txn, actor, "journeyStage.rename", "journeyStage", Some(id), changes).await?;
    let payload = serde_json::json!({ "from": current.name, "to": name });
    outbox::publish(&txn, actor, "journeyStage.renamed", "journeyStage", Some(id), payload).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Put the stages in a new order: `ids` must name every stage of the organization
/// exactly once. ADMINs only.
#[tracing::instrument(skip(db, actor, ids), fields(org = %actor.org_id))]
pub async fn reorder(db: &impl crate::db::Transactions, actor: &Actor, ids: &[Uuid]) -> Result<Vec<Model>> {
    require(can_edit_journey_stages(actor), "reorder journey stages")?;
    let txn = crate::db::begin_write(db).await?;
    let current =
        Entity::find().filter(Column::OrgId.eq(actor.org_id)).order_by_asc(Column::Position).all(&txn).await?;
    let known: HashSet<Uuid> = current.iter().map(|s| s.id).collect();
    let given: HashSet<Uuid> = ids.iter().copied().collect();
    if given.len() != ids.len() || given != known {
        return Err(ApiError::bad_input("ids", "must name every journey stage of the organization exactly once"));
    }
    let before: Vec<&str> = current.iter().map(|s| s.name.as_str()).collect();
    let now = Utc::now();
    for (index, id) in ids.iter().enumerate() {
        let position = index as i32 + 1;
        if current.iter().any(|s| s.id == *id && s.position != position) {
            Entity::update_many()
                .col_expr(Column::Position, Expr::value(position))
                .col_expr(Column::Version, Expr::col(Column::Version).add(1))
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::Id.eq(*id))
                .filter(Column::OrgId.eq(actor.org_id))
                .exec(&txn)
                .await?;
        }
    }
    let stages = Entity::find().filter(Column::OrgId.eq(actor.org_id)).order_by_asc(Column::Position).all(&txn).await?;
    let after: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
    if before != after {
        let changes = Changes::new().field("order", Some(&before), Some(&after));
        audit::record(&txn, actor, "journeyStage.reorder", "journeyStage", None, changes).await?;
        let payload = serde_json::json!({ "order": after });
        outbox::publish(&txn, actor, "journeyStage.reordered", "journeyStage", None, payload).await?;
    }
    txn.commit().await?;
    Ok(stages)
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "journey stage").await
}
