//! Content assets (the collateral that carries the messages) and their usage:
//! who used what with which lead or deal, whether it helped, and whether deals it
//! was used on are won more often than the others. Statistics are computed in SQL.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use entity::content_asset::{ActiveModel, Column, ContentKind, Entity, Model};
use entity::content_usage::ContentRating;
use entity::{
    DocumentKind, LifecycleStage, content_asset_persona as persona_link, content_asset_stage as stage_link,
    content_usage,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::auth::Actor;
use crate::auth::permissions::{Scope, can_give_signal, can_read, can_write_content, require};
use crate::db::Transactions;
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::archive::{self, Archivable};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate::{self, LONG, SHORT};

/// A content asset to create.
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub title: String,
    pub kind: ContentKind,
    pub url: String,
    pub message_id: Option<Uuid>,
    pub persona_ids: Vec<Uuid>,
    pub journey_stage_ids: Vec<Uuid>,
    /// Defaults to the caller.
    pub owner_id: Option<Uuid>,
}

/// Changes to a content asset; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AssetPatch {
    pub expected_version: Option<i32>,
    pub title: Option<String>,
    pub kind: Option<ContentKind>,
    pub url: Option<String>,
    pub message_id: Option<Option<Uuid>>,
    pub persona_ids: Option<Vec<Uuid>>,
    pub journey_stage_ids: Option<Vec<Uuid>>,
    pub owner_id: Option<Option<Uuid>>,
}

/// An absolute http(s) URL with a host, at most 2,000 characters.
pub fn url(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let lower = value.to_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()).unwrap_or_default();
    if host.is_empty() || value.len() > 2000 || value.chars().any(char::is_whitespace) {
        return Err(ApiError::bad_input(field, "must be an http or https URL such as https://acme.com/deck.pdf"));
    }
    Ok(value.to_owned())
}

fn distinct(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

async fn check_message(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<()> {
    let doc = entity::document::Entity::find_by_id(id)
        .filter(entity::document::Column::OrgId.eq(actor.org_id))
        .filter(entity::document::Column::Kind.eq(DocumentKind::Message))
        .one(db)
        .await?;
    match doc {
        None => Err(ApiError::bad_input("messageId", "no such message")),
        Some(d) if d.status == entity::AgreementStatus::Retired => {
            Err(ApiError::bad_input("messageId", "the message is retired"))
        }
        Some(_) => Ok(()),
    }
}

async fn check_personas(db: &impl ConnectionTrait, actor: &Actor, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = entity::document::Entity::find()
        .filter(entity::document::Column::OrgId.eq(actor.org_id))
        .filter(entity::document::Column::Kind.eq(DocumentKind::Persona))
        .filter(entity::document::Column::Id.is_in(ids.iter().copied()))
        .count(db)
        .await?;
    if found != ids.len() as u64 {
        return Err(ApiError::bad_input("personaIds", "names a persona that does not exist"));
    }
    Ok(())
}

async fn check_stages(db: &impl ConnectionTrait, actor: &Actor, ids: &[Uuid]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = entity::journey_stage::Entity::find()
        .filter(entity::journey_stage::Column::OrgId.eq(actor.org_id))
        .filter(entity::journey_stage::Column::Id.is_in(ids.iter().copied()))
        .count(db)
        .await?;
    if found != ids.len() as u64 {
        return Err(ApiError::bad_input("journeyStageIds", "names a journey stage that does not exist"));
    }
    Ok(())
}

async fn check_owner(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<()> {
    entity::user::Entity::find_by_id(id)
        .filter(entity::user::Column::OrgId.eq(actor.org_id))
        .filter(entity::user::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::bad_input("ownerId", "no such active user"))
}

async fn link(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    asset_id: Uuid,
    personas: Option<&[Uuid]>,
    stages: Option<&[Uuid]>,
) -> Result<()> {
    if let Some(personas) = personas {
        persona_link::Entity::delete_many().filter(persona_link::Column::AssetId.eq(asset_id)).exec(txn).await?;
        for persona_id in personas {
            persona_link::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(actor.org_id),
                asset_id: Set(asset_id),
                persona_id: Set(*persona_id),
            }
            .insert(txn)
            .await?;
        }
    }
    if let Some(stages) = stages {
        stage_link::Entity::delete_many().filter(stage_link::Column::AssetId.eq(asset_id)).exec(txn).await?;
        for journey_stage_id in stages {
            stage_link::ActiveModel {
                id: Set(Uuid::now_v7()),
                org_id: Set(actor.org_id),
                asset_id: Set(asset_id),
                journey_stage_id: Set(*journey_stage_id),
            }
            .insert(txn)
            .await?;
        }
    }
    Ok(())
}

/// Add a content asset. MARKETING and ADMINs.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn create(db: &impl crate::db::Transactions, actor: &Actor, new: NewAsset) -> Result<Model> {
    require(can_write_content(actor), "write content assets")?;
    let title = validate::text("title", &new.title, SHORT)?;
    let url = url("url", &new.url)?;
    let (personas, stages) = (distinct(new.persona_ids), distinct(new.journey_stage_ids));
    let txn = crate::db::begin_write(db).await?;
    if let Some(id) = new.message_id {
        check_message(&txn, actor, id).await?;
    }
    check_personas(&txn, actor, &personas).await?;
    check_stages(&txn, actor, &stages).await?;
    let owner_id = new.owner_id.or(actor.user_id());
    if let Some(id) = new.owner_id {
        check_owner(&txn, actor, id).await?;
    }
    let now = Utc::now();
    let asset = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        title: Set(title),
        kind: Set(new.kind),
        url: Set(url),
        message_id: Set(new.message_id),
        owner_id: Set(owner_id),
        archived_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    link(&txn, actor, asset.id, Some(&personas), Some(&stages)).await?;
    let changes = Changes::new()
        .created("title", &asset.title)
        .created("kind", &asset.kind)
        .created("url", &asset.url)
        .created("messageId", &asset.message_id)
        .created("personaIds", &personas)
        .created("journeyStageIds", &stages)
        .created("ownerId", &asset.owner_id);
    audit::record(&txn, actor, "contentAsset.create", "contentAsset", Some(asset.id), changes).await?;
    let payload = json!({ "title": asset.title, "kind": asset.kind, "url": asset.url });
    outbox::publish(&txn, actor, "contentAsset.created", "contentAsset", Some(asset.id), payload).await?;
    txn.commit().await?;
    Ok(asset)
}

async fn lock(txn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    Entity::find_by_id(id)
        .filter(Column::OrgId.eq(actor.org_id))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("content asset"))
}

async fn link_ids(db: &impl ConnectionTrait, asset_id: Uuid) -> Result<(Vec<Uuid>, Vec<Uuid>)> {
    let personas: Vec<Uuid> = persona_link::Entity::find()
        .select_only()
        .column(persona_link::Column::PersonaId)
        .filter(persona_link::Column::AssetId.eq(asset_id))
        .into_tuple()
        .all(db)
        .await?;
    let stages: Vec<Uuid> = stage_link::Entity::find()
        .select_only()
        .column(stage_link::Column::JourneyStageId)
        .filter(stage_link::Column::AssetId.eq(asset_id))
        .into_tuple()
        .all(db)
        .await?;
    Ok((personas, stages))
}

/// Change a content asset (optimistic lock on `version`). An archived asset is CONFLICT.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update(db: &impl crate::db::Transactions, actor: &Actor, id: Uuid, patch: AssetPatch) -> Result<Model> {
    require(can_write_content(actor), "write content assets")?;
    let title = patch.title.as_deref().map(|t| validate::text("title", t, SHORT)).transpose()?;
    let new_url = patch.url.as_deref().map(|u| url("url", u)).transpose()?;
    let personas = patch.persona_ids.map(distinct);
    let stages = patch.journey_stage_ids.map(distinct);
    let txn = crate::db::begin_write(db).await?;
    let current = lock(&txn, actor, id).await?;
    check_version(patch.expected_version, current.version)?;
    if current.archived_at.is_some() {
        return Err(ApiError::Conflict("the content asset is archived".into()));
    }
    if let Some(Some(message_id)) = patch.message_id {
        check_message(&txn, actor, message_id).await?;
    }
    if let Some(personas) = &personas {
        check_personas(&txn, actor, personas).await?;
    }
    if let Some(stages) = &stages {
        check_stages(&txn, actor, stages).await?;
    }
    if let Some(Some(owner)) = patch.owner_id {
        check_owner(&txn, actor, owner).await?;
    }
    let (old_personas, old_stages) = link_ids(&txn, id).await?;
    let mut changes = Changes::new();
    let mut model: ActiveModel = current.clone().into();
    if let Some(title) = title {
        changes = changes.field("title", Some(&current.title), Some(&title));
        model.title = Set(title);
    }
    if let Some(kind) = patch.kind {
        changes = changes.field("kind", Some(&current.kind), Some(&kind));
        model.kind = Set(kind);
    }
    if let Some(new_url) = new_url {
        changes = changes.field("url", Some(&current.url), Some(&new_url));
        model.url = Set(new_url);
    }
    if let Some(message_id) = patch.message_id {
        changes = changes.field("messageId", current.message_id.as_ref(), message_id.as_ref());
        model.message_id = Set(message_id);
    }
    if let Some(owner_id) = patch.owner_id {
        changes = changes.field("ownerId", current.owner_id.as_ref(), owner_id.as_ref());
        model.owner_id = Set(owner_id);
    }
    if let Some(personas) = &personas {
        changes = changes.field("personaIds", Some(&old_personas), Some(personas));
    }
    if let Some(stages) = &stages {
        changes = changes.field("journeyStageIds", Some(&old_stages), Some(stages));
    }
    if changes.is_empty() {
        return Ok(current);
    }
    let asset = save_versioned(&txn, id, current.version, model).await?;
    link(&txn, actor, id, personas.as_deref(), stages.as_deref()).await?;
    audit::record(&txn, actor, "contentAsset.update", "contentAsset", Some(id), changes).await?;
    let payload = json!({ "version": asset.version });
    outbox::publish(&txn, actor, "contentAsset.updated", "contentAsset", Some(id), payload).await?;
    txn.commit().await?;
    Ok(asset)
}

/// Archive a content asset: it leaves lists and recommendations; its usage stays.
pub async fn archive(db: &impl Transactions, actor: &Actor, id: Uuid, expected_version: Option<i32>) -> Result<Model> {
    require(can_write_content(actor), "archive content assets")?;
    let kind = Archivable { entity: "contentAsset", noun: "content asset" };
    archive::archive::<ActiveModel>(db, actor, kind, id, expected_version).await
}

/// Read one content asset; another organization's is NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::ContentRead), "read content")?;
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "content asset").await
}

/// Which assets to list; all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct AssetCriteria {
    pub persona_id: Option<Uuid>,
    pub journey_stage_id: Option<Uuid>,
    pub kind: Option<ContentKind>,
    pub message_id: Option<Uuid>,
    /// Only assets nobody used in the last this many days.
    pub unused_for_days: Option<i32>,
    /// Case-insensitive text in the title.
    pub search: Option<String>,
    pub include_archived: bool,
}

/// Longest look-back for unused content, in days: ten years.
pub const MAX_UNUSED_DAYS: i64 = 3650;

/// The start of a window of `days` days (1 to [`MAX_UNUSED_DAYS`]) given in input `field`.
fn since(field: &str, days: i32) -> Result<DateTime<Utc>> {
    validate::int_range(field, days, 1, MAX_UNUSED_DAYS)?;
    Ok(Utc::now() - Duration::days(i64::from(days)))
}

fn used_since(org_id: Uuid, from: DateTime<Utc>) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(content_usage::Column::AssetId)
        .from(content_usage::Entity)
        .and_where(content_usage::Column::OrgId.eq(org_id))
        .and_where(content_usage::Column::UsedAt.gte(from))
        .to_owned()
}

fn filtered(actor: &Actor, criteria: &AssetCriteria) -> Result<sea_orm::Select<Entity>> {
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if !criteria.include_archived {
        select = select.filter(Column::ArchivedAt.is_null());
    }
    if let Some(kind) = criteria.kind {
        select = select.filter(Column::Kind.eq(kind));
    }
    if let Some(message_id) = criteria.message_id {
        select = select.filter(Column::MessageId.eq(message_id));
    }
    if let Some(persona_id) = criteria.persona_id {
        let linked = Query::select()
            .column(persona_link::Column::AssetId)
            .from(persona_link::Entity)
            .and_where(persona_link::Column::OrgId.eq(actor.org_id))
            .and_where(persona_link::Column::PersonaId.eq(persona_id))
            .to_owned();
        select = select.filter(Column::Id.in_subquery(linked));
    }
    if let Some(stage_id) = criteria.journey_stage_id {
        let linked = Query::select()
            .column(stage_link::Column::AssetId)
            .from(stage_link::Entity)
            .and_where(stage_link::Column::OrgId.eq(actor.org_id))
            .and_where(stage_link::Column::JourneyStageId.eq(stage_id))
            .to_owned();
        select = select.filter(Column::Id.in_subquery(linked));
    }
    if let Some(days) = criteria.unused_for_days {
        let from = since("filter.unusedForDays", days)?;
        select = select.filter(Column::Id.not_in_subquery(used_since(actor.org_id, from)));
    }
    if let Some(search) = criteria.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        validate::no_control_characters("filter.search", &search)?;
        let pattern = format!("%{}%", search.replace(['\\', '%', '_'], ""));
        select = select.filter(Expr::expr(Func::lower(Expr::col(Column::Title))).like(pattern));
    }
    Ok(select)
}

/// A page of content assets, newest first.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &AssetCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::ContentRead), "read content")?;
    let select = filtered(actor, criteria)?;
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

/// Assets (not archived) nobody used in the last `days` days, oldest first.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn unused(db: &impl ConnectionTrait, actor: &Actor, days: i32) -> Result<Vec<Model>> {
    require(can_read(actor, Scope::ContentRead), "read content")?;
    since("days", days)?;
    let criteria = AssetCriteria { unused_for_days: Some(days), ..Default::default() };
    Ok(filtered(actor, &criteria)?.order_by_asc(Column::Id).limit(500).all(db).await?)
}

/// A use of a content asset to record.
#[derive(Debug, Clone)]
pub struct NewUsage {
    pub asset_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub opportunity_id: Option<Uuid>,
    pub rating: Option<ContentRating>,
    pub comment: Option<String>,
}

/// Record that the caller used an asset. Any person but VIEWERs.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn record_usage(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    new: NewUsage,
) -> Result<content_usage::Model> {
    require(can_give_signal(actor), "record content usage")?;
    let user_id = actor.user_id().ok_or_else(|| ApiError::forbidden("only people record content usage"))?;
    let comment = validate::optional_text("comment", new.comment.as_deref(), LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let asset = Entity::find_by_id(new.asset_id)
        .filter(Column::OrgId.eq(actor.org_id))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::bad_input("assetId", "no such content asset"))?;
    if asset.archived_at.is_some() {
        return Err(ApiError::bad_input("assetId", "the content asset is archived"));
    }
    if let Some(id) = new.lead_id {
        entity::lead::Entity::find_by_id(id)
            .filter(entity::lead::Column::OrgId.eq(actor.org_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::bad_input("leadId", "no such lead"))?;
    }
    if let Some(id) = new.opportunity_id {
        entity::opportunity::Entity::find_by_id(id)
            .filter(entity::opportunity::Column::OrgId.eq(actor.org_id))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::bad_input("opportunityId", "no such opportunity"))?;
    }
    let usage = content_usage::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        asset_id: Set(asset.id),
        user_id: Set(user_id),
        lead_id: Set(new.lead_id),
        opportunity_id: Set(new.opportunity_id),
        used_at: Set(Utc::now()),
        rating: Set(new.rating),
        comment: Set(comment),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("assetId", &asset.id)
        .created("leadId", &usage.lead_id)
        .created("opportunityId", &usage.opportunity_id)
        .created("rating", &usage.rating);
    audit::record(&txn, actor, "contentUsage.create", "contentUsage", Some(usage.id), changes).await?;
    let payload = json!({ "assetId": asset.id, "leadId": usage.lead_id, "opportunityId": usage.opportunity_id, "rating": usage.rating });
    outbox::publish(&txn, actor, "contentUsage.recorded", "contentUsage", Some(usage.id), payload).await?;
    txn.commit().await?;
    Ok(usage)
}

/// How much one asset is used and whether it helps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageStats {
    pub uses: i64,
    pub users: i64,
    pub helpful: i64,
    pub rated: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Closed (won or lost) opportunities the asset was used on (directly, or with their
    /// lead) at or before they closed.
    pub closed_with: i64,
    pub won_with: i64,
    /// Closed opportunities of the organization it was not used on before they closed.
    pub closed_without: i64,
    pub won_without: i64,
}

impl UsageStats {
    /// Share of rated uses rated HELPFUL; none before any rating.
    pub fn helpful_share(&self) -> Option<f64> {
        (self.rated > 0).then(|| self.helpful as f64 / self.rated as f64)
    }

    pub fn win_rate_with(&self) -> Option<f64> {
        (self.closed_with > 0).then(|| self.won_with as f64 / self.closed_with as f64)
    }

    pub fn win_rate_without(&self) -> Option<f64> {
        (self.closed_without > 0).then(|| self.won_without as f64 / self.closed_without as f64)
    }
}

#[derive(Debug, FromQueryResult)]
struct UseRow {
    asset_id: Uuid,
    uses: i64,
    users: i64,
    helpful: i64,
    rated: i64,
    last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct DealRow {
    asset_id: Uuid,
    closed: i64,
    won: i64,
}

#[derive(Debug, FromQueryResult)]
struct TotalRow {
    closed: i64,
    won: Option<i64>,
}

const CLOSED: [&str; 2] = ["CLOSED_WON", "CLOSED_LOST"];

/// Usage statistics of `asset_ids` (all of one organization): three GROUP BY queries
/// whatever the number of assets. Assets never used get zeros.
pub async fn usage_stats(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    asset_ids: &[Uuid],
) -> Result<HashMap<Uuid, UsageStats>> {
    let mut stats: HashMap<Uuid, UsageStats> = asset_ids.iter().map(|id| (*id, UsageStats::default())).collect();
    if asset_ids.is_empty() {
        return Ok(stats);
    }
    let backend = db.get_database_backend();
    let (u, o) = (Alias::new("u"), Alias::new("o"));
    let uses = Query::select()
        .column((u.clone(), Alias::new("asset_id")))
        .expr_as(Expr::col((u.clone(), Alias::new("id"))).count(), Alias::new("uses"))
        .expr_as(Expr::cust("COUNT(DISTINCT u.user_id)"), Alias::new("users"))
        .expr_as(
            Expr::cust("COALESCE(SUM(CASE WHEN u.rating = 'HELPFUL' THEN 1 ELSE 0 END), 0)"),
            Alias::new("helpful"),
        )
        .expr_as(Expr::cust("COALESCE(SUM(CASE WHEN u.rating IS NULL THEN 0 ELSE 1 END), 0)"), Alias::new("rated"))
        .expr_as(Expr::col((u.clone(), Alias::new("used_at"))).max(), Alias::new("last_used_at"))
        .from_as(content_usage::Entity, u.clone())
        .and_where(Expr::col((u.clone(), Alias::new("org_id"))).eq(org_id))
        .and_where(Expr::col((u.clone(), Alias::new("asset_id"))).is_in(asset_ids.iter().copied()))
        .group_by_col((u.clone(), Alias::new("asset_id")))
        .to_owned();
    for row in UseRow::find_by_statement(backend.build(&uses)).all(db).await? {
        let s = stats.entry(row.asset_id).or_default();
        (s.uses, s.users, s.helpful, s.rated, s.last_used_at) =
            (row.uses, row.users, row.helpful, row.rated, row.last_used_at);
    }
    let deals = Query::select()
        .column((u.clone(), Alias::new("asset_id")))
        .expr_as(Expr::cust("COUNT(DISTINCT o.id)"), Alias::new("closed"))
        .expr_as(Expr::cust("COUNT(DISTINCT CASE WHEN o.stage = 'CLOSED_WON' THEN o.id END)"), Alias::new("won"))
        .from_as(content_usage::Entity, u.clone())
        .join_as(
            JoinType::InnerJoin,
            entity::opportunity::Entity,
            o.clone(),
            // Only uses before the deal closed can have helped win it.
            Expr::cust("o.org_id = u.org_id AND (o.id = u.opportunity_id OR o.lead_id = u.lead_id) AND u.used_at <= o.closed_at"),
        )
        .and_where(Expr::col((u.clone(), Alias::new("org_id"))).eq(org_id))
        .and_where(Expr::col((u.clone(), Alias::new("asset_id"))).is_in(asset_ids.iter().copied()))
        .and_where(Expr::col((o.clone(), Alias::new("stage"))).is_in(CLOSED))
        .and_where(Expr::col((o.clone(), Alias::new("archived_at"))).is_null())
        .group_by_col((u.clone(), Alias::new("asset_id")))
        .to_owned();
    for row in DealRow::find_by_statement(backend.build(&deals)).all(db).await? {
        let s = stats.entry(row.asset_id).or_default();
        (s.closed_with, s.won_with) = (row.closed, row.won);
    }
    let totals = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("closed"))
        .expr_as(Expr::cust("SUM(CASE WHEN stage = 'CLOSED_WON' THEN 1 ELSE 0 END)"), Alias::new("won"))
        .from(entity::opportunity::Entity)
        .and_where(entity::opportunity::Column::OrgId.eq(org_id))
        .and_where(Expr::col(entity::opportunity::Column::Stage).is_in(CLOSED))
        .and_where(entity::opportunity::Column::ArchivedAt.is_null())
        .to_owned();
    let total = TotalRow::find_by_statement(backend.build(&totals)).one(db).await?;
    let (closed, won) = total.map(|t| (t.closed, t.won.unwrap_or(0))).unwrap_or((0, 0));
    for s in stats.values_mut() {
        s.closed_without = closed - s.closed_with;
        s.won_without = won - s.won_with;
    }
    Ok(stats)
}

/// The journey-stage position that fits a lifecycle stage: NEW, ENGAGED and
/// RECYCLED (back in nurture) → 1 (AWARENESS); MQL, SAL → 2 (CONSIDERATION); SQL,
/// OPPORTUNITY → 3 (DECISION); CUSTOMER → 4 (ONBOARDING); DISQUALIFIED → none. By
/// position, so an organization's renamed stages keep their place.
pub fn journey_position(stage: LifecycleStage) -> Option<i32> {
    match stage {
        LifecycleStage::New | LifecycleStage::Engaged | LifecycleStage::Recycled => Some(1),
        LifecycleStage::Mql | LifecycleStage::Sal => Some(2),
        LifecycleStage::Sql | LifecycleStage::Opportunity => Some(3),
        LifecycleStage::Customer => Some(4),
        LifecycleStage::Disqualified => None,
    }
}

/// What a recommendation for a lead was based on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// The lead's persona and journey stage.
    PersonaAndStage,
    /// The journey stage only: the lead has no persona.
    StageOnly,
    /// The persona only: the lead's lifecycle stage maps to no journey stage (DISQUALIFIED).
    PersonaOnly,
    /// Neither: only assets made for every journey stage, for any persona.
    Neither,
}

/// What to send a lead next, and why.
#[derive(Debug, Clone)]
pub struct Recommendation {
    pub lead: entity::lead::Model,
    /// Assets, most helpful first (at most 20).
    pub assets: Vec<(Model, UsageStats)>,
    pub basis: Basis,
    /// Why the basis is what it is, in a sentence for people.
    pub reason: String,
    pub journey_stage_id: Option<Uuid>,
}

/// What to send a lead next: assets (not archived) for the lead's persona and
/// current journey stage — or for any persona / any stage, when the asset names
/// none — most helpful first (HELPFUL ratings, then helpful share, then uses).
/// A lead without a persona gets the assets of its stage for any persona, and the
/// reason says why it has none.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn for_lead(db: &impl ConnectionTrait, actor: &Actor, lead_id: Uuid) -> Result<Recommendation> {
    require(can_read(actor, Scope::ContentRead), "read content")?;
    let lead = crate::leads::get(db, actor, lead_id).await?;
    let stage = match journey_position(lead.lifecycle_stage) {
        Some(position) => entity::journey_stage::Entity::find()
            .filter(entity::journey_stage::Column::OrgId.eq(actor.org_id))
            .filter(entity::journey_stage::Column::Position.eq(position))
            .one(db)
            .await?
            .map(|s| s.id),
        None => None,
    };
    let links = |table: &str, column: &str, value: Option<Uuid>| {
        let mut q = Query::select();
        q.column(Alias::new("asset_id"))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new("org_id")).eq(actor.org_id));
        if let Some(value) = value {
            q.and_where(Expr::col(Alias::new(column)).eq(value));
        }
        q.to_owned()
    };
    let fits = |table: &str, column: &str, value: Option<Uuid>| {
        let any = Column::Id.not_in_subquery(links(table, column, None));
        match value {
            Some(v) => Condition::any().add(Column::Id.in_subquery(links(table, column, Some(v)))).add(any),
            None => Condition::all().add(any),
        }
    };
    let mut select = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::ArchivedAt.is_null())
        .filter(fits("content_asset_stages", "journey_stage_id", stage));
    // Without a persona, the stage alone decides: assets for any persona qualify.
    if lead.persona_id.is_some() {
        select = select.filter(fits("content_asset_personas", "persona_id", lead.persona_id));
    }
    let assets = select.order_by_desc(Column::Id).limit(200).all(db).await?;
    let ids: Vec<Uuid> = assets.iter().map(|a| a.id).collect();
    let mut stats = usage_stats(db, actor.org_id, &ids).await?;
    let mut ranked: Vec<(Model, UsageStats)> = assets
        .into_iter()
        .map(|a| {
            let s = stats.remove(&a.id).unwrap_or_default();
            (a, s)
        })
        .collect();
    ranked.sort_by(|(a, x), (b, y)| {
        y.helpful
            .cmp(&x.helpful)
            .then(y.helpful_share().unwrap_or(0.0).total_cmp(&x.helpful_share().unwrap_or(0.0)))
            .then(y.uses.cmp(&x.uses))
            .then(b.id.cmp(&a.id))
    });
    ranked.truncate(20);
    let (basis, reason) = basis_of(db, actor, &lead, stage.is_some()).await?;
    Ok(Recommendation { lead, assets: ranked, basis, reason, journey_stage_id: stage })
}

/// The basis of a recommendation for `lead`, and why, naming what is missing.
async fn basis_of(
    db: &impl ConnectionTrait,
    actor: &Actor,
    lead: &entity::lead::Model,
    has_stage: bool,
) -> Result<(Basis, String)> {
    let no_persona = match &lead.title {
        _ if lead.persona_id.is_some() => None,
        None => Some("the lead has no title to match a persona by".to_owned()),
        Some(title) => {
            let candidates = crate::leads::persona_match::candidates(lead);
            if candidates.is_empty() {
                Some(format!("no persona matched the title '{title}'"))
            } else {
                let ids: Vec<Uuid> = candidates.iter().map(|c| c.persona_id).collect();
                let mut names: Vec<String> =
                    crate::agreements::get_many::<crate::personas::Persona>(db, actor.org_id, &ids)
                        .await?
                        .into_iter()
                        .map(|d| d.model.title)
                        .collect();
                names.sort();
                Some(format!(
                    "the title '{title}' matches several personas equally ({}); choose one with updateLead",
                    names.join(", ")
                ))
            }
        }
    };
    let stage_name = crate::leads::lifecycle::stage_name(lead.lifecycle_stage);
    let stage_gap = format!("the lifecycle stage {stage_name} maps to no journey stage");
    Ok(match (no_persona, has_stage) {
        (None, true) => (Basis::PersonaAndStage, "recommended for the lead's persona and journey stage".to_owned()),
        (Some(why), true) => (Basis::StageOnly, format!("{why}; recommended by stage only")),
        (None, false) => (Basis::PersonaOnly, format!("{stage_gap}; recommended by persona only")),
        (Some(why), false) => {
            (Basis::Neither, format!("{why} and {stage_gap}; only assets made for every journey stage"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_accepted() {
        assert_eq!(url("url", " https://acme.com/deck.pdf ").unwrap(), "https://acme.com/deck.pdf");
        assert!(url("url", "http://acme.com").is_ok());
        for bad in ["ftp://acme.com/x", "javascript:alert(1)", "https://", "acme.com/deck", "https://a b.com"] {
            assert!(url("url", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lifecycle_stages_map_onto_journey_positions() {
        assert_eq!(journey_position(LifecycleStage::Engaged), Some(1));
        assert_eq!(journey_position(LifecycleStage::Sal), Some(2));
        assert_eq!(journey_position(LifecycleStage::Opportunity), Some(3));
        assert_eq!(journey_position(LifecycleStage::Customer), Some(4));
        assert_eq!(journey_position(LifecycleStage::Disqualified), None);
    }

    #[test]
    fn rates_are_absent_without_data() {
        let s = UsageStats { rated: 4, helpful: 3, closed_with: 2, won_with: 1, ..Default::default() };
        assert_eq!(s.helpful_share(), Some(0.75));
        assert_eq!(s.win_rate_with(), Some(0.5));
        assert_eq!(s.win_rate_without(), None);
    }
}
