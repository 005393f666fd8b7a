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

use chrono::{DateTime, SubsecRound, Utc};
use entity::outbox_event::{Column, Entity, Model};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement,
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
    // Whole microseconds, as PostgreSQL keeps them: other replicas find the batch by it.
    let now = Utc::now().trunc_subsecs(6);
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
    mark_relayed(org_id, events.iter().map(|e| e.id), now).exec(&txn).await?;
    cursor::Entity::update(cursor::ActiveModel {
        org_id: Set(org_id),
        last_event_id: Set(Some(last)),
        relayed: Set(progress.relayed + events.len() as i64),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await?;
    if crate::db::dialect::is_postgres(&txn) {
        // Delivered at commit: the other replicas hand the batch to their own subscribers.
        let batch = format!("{}/{org_id}/{}", instance(), now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        let notify = Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [RELAYED_CHANNEL.into(), batch.into()],
        );
        txn.execute_raw(notify).await?;
    }
    txn.commit().await?;
    metrics::counter!("accord_outbox_relayed_total").increment(events.len() as u64);
    let count = events.len();
    for event in events {
        // Nobody listening is fine: the events are in the database.
        let _ = live().send(Arc::new(Model { relayed_at: Some(now), ..event }));
    }
    Ok(count)
}

/// The statement marking a batch relayed. `relayed_at IS NULL` keeps PostgreSQL's generic
/// plan on the waiting events' partial index: without it the plan read every event the
/// organization keeps and compared each with the whole batch (docs/performance.md).
pub fn mark_relayed(
    org_id: Uuid,
    ids: impl IntoIterator<Item = Uuid>,
    now: DateTime<Utc>,
) -> sea_orm::UpdateMany<Entity> {
    Entity::update_many()
        .col_expr(Column::RelayedAt, Expr::value(now))
        .filter(Column::OrgId.eq(org_id))
        .filter(Column::RelayedAt.is_null())
        .filter(Column::Id.is_in(ids))
}

/// Delete events relayed before `before`; returns how many. Events still waiting are
/// kept whatever their age.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    let deleted = Entity::delete_many().filter(Column::RelayedAt.lt(before)).exec(db).await?;
    Ok(deleted.rows_affected)
}

/// The PostgreSQL channel a relay pass announces its batch on, payload
/// `<instance>/<org id>/<relayed_at>`.
const RELAYED_CHANNEL: &str = "accord_outbox_relayed";

/// This process, told apart from the other replicas in relay announcements.
fn instance() -> Uuid {
    static INSTANCE: OnceLock<Uuid> = OnceLock::new();
    *INSTANCE.get_or_init(Uuid::now_v7)
}

/// On PostgreSQL, follow the other replicas: a committed event (`accord_outbox`) wakes
/// this relay for its organization at once rather than at the next tick, and a batch
/// another replica relayed (`accord_outbox_relayed`) is read back and handed to this
/// process's live subscribers. Notifications missed while the listening connection is
/// re-established are caught by the timer (writers) or lost to live subscribers,
/// which then see the objects' current state on their next event.
async fn listen(db: DatabaseConnection, relays: bool) {
    let (heard, notifications) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(follow(db.clone(), notifications, relays));
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "listening for outbox notifications failed; retrying in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen_all([super::outbox::CHANNEL, RELAYED_CHANNEL]).await {
            tracing::warn!(error = %e, "listening for outbox notifications failed; retrying in 5 s");
            tokio::time::sleep(Duration::from_secs(5)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(n) => {
                    let _ = heard.send((n.channel() == RELAYED_CHANNEL, n.payload().to_owned()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the outbox notification connection broke; reconnecting");
                    break;
                }
            }
        }
    }
}

/// Act on notifications in the order heard, a burst at a time: other replicas' batches
/// handed to this process's subscribers in order, then, when this process `relays`,
/// one relay pass per organization with new events, however many it committed meanwhile.
async fn follow(
    db: DatabaseConnection,
    mut notifications: tokio::sync::mpsc::UnboundedReceiver<(bool, String)>,
    relays: bool,
) {
    while let Some(first) = notifications.recv().await {
        let mut waiting = std::collections::BTreeSet::new();
        let mut next = Some(first);
        while let Some((relayed, payload)) = next {
            if relayed {
                if let Err(e) = pass_on(&db, &payload).await {
                    tracing::warn!(error = %e, "reading another replica's relayed events failed");
                }
            } else if relays && let Some(org) = payload.split('/').next().and_then(|org| org.parse::<Uuid>().ok()) {
                waiting.insert(org);
            }
            next = notifications.try_recv().ok();
        }
        for org in waiting {
            if let Err(e) = relay_org(&db, org).await {
                tracing::warn!(org = %org, error = %e, "relaying outbox events failed; retrying next pass");
            }
        }
    }
}

/// Hand the batch another replica announced (`<instance>/<org>/<relayed_at>`) to this
/// process's live subscribers.
async fn pass_on(db: &DatabaseConnection, payload: &str) -> Result<()> {
    let mut parts = payload.splitn(3, '/');
    let (Some(from), Some(org), Some(at)) = (parts.next(), parts.next(), parts.next()) else { return Ok(()) };
    if from.parse::<Uuid>().ok() == Some(instance()) {
        return Ok(());
    }
    let (Ok(org), Ok(at)) = (org.parse::<Uuid>(), DateTime::parse_from_rfc3339(at)) else { return Ok(()) };
    let batch = Entity::find()
        .filter(Column::OrgId.eq(org))
        .filter(Column::RelayedAt.eq(at.with_timezone(&Utc)))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    for event in batch {
        let _ = live().send(Arc::new(event));
    }
    Ok(())
}

/// In a process that runs no jobs (`ACCORD_JOBS=false`): hand the batches other
/// replicas relay to this process's live subscribers (PostgreSQL; SQLite has one process).
pub fn follow_others(db: &DatabaseConnection) {
    if crate::db::dialect::is_postgres(db) {
        tokio::spawn(listen(db.clone(), false));
    }
}

/// Relay every `every`, and prune events relayed more than `retention` ago once an hour;
/// on PostgreSQL also at once when told of new events, and pass on other replicas' batches.
pub fn spawn(db: DatabaseConnection, every: Duration, retention: Duration) {
    if crate::db::dialect::is_postgres(&db) {
        tokio::spawn(listen(db.clone(), true));
    }
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
