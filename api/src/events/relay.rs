//! The outbox relay: hands each committed outbox event to its consumers (webhooks,
//! subscriptions), per organization in the order the events became visible, at least
//! once, whatever the number of replicas.
//!
//! A pass over an organization runs in one transaction: it claims the organization's
//! cursor row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so another replica skips the
//! organization rather than relaying it twice or out of order; SQLite's single writer
//! serialises passes), reads up to [`BATCH`] events not yet relayed in id order, lets
//! every registered [`OutboxConsumer`] write what it needs in that transaction (a
//! webhook delivery row, say), marks the events relayed and advances the cursor.
//! Consumers that act outside the database (live subscriptions) hear of the events
//! after the commit through [`subscribe`]. An event committed after a pass read its
//! organization's waiting events is simply waiting at the next pass: ids are written
//! before commit, so an older id may become visible late, and it is relayed then,
//! never skipped. Events of one object keep their order: the change that writes the
//! second locks the object the first changed, so it is written after the first
//! committed.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::outbox_event::{Column, Entity, Model};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::claim::claim;
use crate::error::Result;

/// Most events one pass relays for one organization.
pub const BATCH: u64 = 500;

/// Events kept in memory for live listeners that fall behind; a listener further
/// behind is told it lagged and resynchronises from the database.
const LIVE_BUFFER: usize = 4_096;

/// A consumer of relayed events that writes in the relay's transaction, so its work
/// commits exactly when the events are marked relayed. Higher modules register one
/// with `inventory::submit!`.
pub struct OutboxConsumer {
    /// For logs and metrics, such as `webhooks`.
    pub name: &'static str,
    pub consume: for<'a> fn(&'a DatabaseTransaction, &'a [Model]) -> BoxFuture<'a, Result<()>>,
}

inventory::collect!(OutboxConsumer);

fn live() -> &'static broadcast::Sender<Arc<Model>> {
    static LIVE: OnceLock<broadcast::Sender<Arc<Model>>> = OnceLock::new();
    LIVE.get_or_init(|| broadcast::channel(LIVE_BUFFER).0)
}

/// Every event relayed by this process from now on, after its pass committed.
pub fn subscribe() -> broadcast::Receiver<Arc<Model>> {
    live().subscribe()
}

/// Relay the waiting events of every organization once; returns how many were relayed.
pub async fn relay_all(db: &DatabaseConnection) -> Result<usize> {
    let orgs: Vec<Uuid> = Entity::find()
        .select_only()
        .column(Column::OrgId)
        .distinct()
        .filter(Column::RelayedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut relayed = 0;
    for org in orgs {
        // One organization's failure (a consumer's error) leaves the others relayed.
        match relay_org(db, org).await {
            Ok(n) => relayed += n,
            Err(e) => tracing::warn!(org = %org, error = %e, "relaying outbox events failed; retrying next pass"),
        }
    }
    Ok(relayed)
}

/// One pass over `org_id`'s waiting events, repeated while full batches remain.
pub async fn relay_org(db: &DatabaseConnection, org_id: Uuid) -> Result<usize> {
    let mut total = 0;
    loop {
        let relayed = relay_batch(db, org_id).await?;
        total += relayed;
        if (relayed as u64) < BATCH {
            return Ok(total);
        }
    }
}

/// Relay one batch; 0 when nothing waits or another replica holds the organization.
async fn relay_batch(db: &DatabaseConnection, org_id: Uuid) -> Result<usize> {
    use entity::outbox_cursor as cursor;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let fresh =
        cursor::ActiveModel { org_id: Set(org_id), last_event_id: Set(None), relayed: Set(0), updated_at: Set(now) };
    cursor::Entity::insert(fresh)
        .on_conflict(OnConflict::column(cursor::Column::OrgId).do_nothing().to_owned())
        .try_insert()
        .exec(&txn)
        .await?;
    let claimed = claim(&txn, cursor::Entity::find_by_id(org_id)).one(&txn).await?;
    let Some(progress) = claimed else { return Ok(0) };
    let events = Entity::find()
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::RelayedAt.is_null())
        .order_by_asc(Column::Id)
        .limit(BATCH)
        .all(&txn)
        .await?;
    let Some(last) = events.last().map(|e| e.id) else { return Ok(0) };
    for consumer in inventory::iter::<OutboxConsumer> {
        (consumer.consume)(&txn, &events).await?;
    }
    Entity::update_many()
        .col_expr(Column::RelayedAt, Expr::value(now))
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::Id.is_in(events.iter().map(|e| e.id)))
        .exec(&txn)
        .await?;
    cursor::Entity::update(cursor::ActiveModel {
        org_id: Set(org_id),
        last_event_id: Set(Some(last)),
        relayed: Set(progress.relayed + events.len() as i64),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    metrics::counter!("accord_outbox_relayed_total").increment(events.len() as u64);
    let count = events.len();
    for event in events {
        // Nobody listening is fine: the events are in the database.
        let _ = live().send(Arc::new(Model { relayed_at: Some(now), ..event }));
    }
    Ok(count)
}

/// Delete events relayed before `before`; returns how many. Events still waiting are
/// kept whatever their age.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    let deleted = Entity::delete_many().filter(Column::RelayedAt.lt(before)).exec(db).await?;
    Ok(deleted.rows_affected)
}

/// Relay every `every`, and prune events relayed more than `retention` ago once an hour.
pub fn spawn(db: DatabaseConnection, every: Duration, retention: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        let mut last_prune: Option<std::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = relay_all(&db).await {
                tracing::warn!(error = %e, "relaying outbox events failed; retrying next pass");
            }
            if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(3600)) {
                last_prune = Some(std::time::Instant::now());
                let before = Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
                match prune(&db, before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "pruned relayed outbox events"),
                    Err(e) => tracing::warn!(error = %e, "pruning the outbox failed; retrying in an hour"),
                }
            }
        }
    });
}
