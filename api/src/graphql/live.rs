//! What every subscription is built on: the outbox events of the subscriber's
//! organization, as the relay hands them over after they commit, each turned into
//! the subscription's item by a delivery function that reads the changed object as
//! the subscriber (so an object they may not read is never delivered).

use std::sync::Arc;

use async_graphql::Context;
use entity::outbox_event::Model;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::RecvError;

use super::actor;
use crate::auth::Actor;
use crate::auth::permissions::{can_subscribe, require};
use crate::error::{ApiError, Result};

/// Events relayed from the moment an operation was received, for its subscription:
/// the WebSocket subscribes while it reads the `subscribe` message, so a client whose
/// later message (a ping) was answered knows every event relayed since is delivered.
pub struct Feed(std::sync::Mutex<Option<tokio::sync::broadcast::Receiver<Arc<Model>>>>);

impl Feed {
    pub fn new() -> Self {
        Self(std::sync::Mutex::new(Some(crate::events::relay::subscribe())))
    }

    fn take(&self) -> Option<tokio::sync::broadcast::Receiver<Arc<Model>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl Default for Feed {
    fn default() -> Self {
        Self::new()
    }
}

/// Turns one event into the item to deliver, or `None` to skip it.
pub type Deliver<T> = Arc<dyn Fn(Delivery, Arc<Model>) -> BoxFuture<'static, Result<Option<T>>> + Send + Sync>;

/// What a delivery function reads with: the subscriber and the database.
#[derive(Clone)]
pub struct Delivery {
    pub db: DatabaseConnection,
    pub actor: Actor,
}

/// The stream of a subscription to some kinds of outbox events: every event of the
/// caller's organization whose kind `wanted` accepts, in the order the relay hands
/// them over, passed through `deliver`. A subscriber that falls so far behind that
/// events were dropped gets one EVENTS_MISSED error and the stream ends.
pub fn subscribe<T: Send + 'static>(
    ctx: &Context<'_>,
    wanted: fn(&str) -> bool,
    deliver: Deliver<T>,
) -> Result<BoxStream<'static, Result<T>>> {
    let actor = actor(ctx)?.clone();
    require(can_subscribe(&actor), "subscribe to live events (an API key needs EVENTS_READ)")?;
    let delivery = Delivery { db: super::db(ctx).pool().clone(), actor };
    let org = delivery.actor.org_id;
    let receiver = ctx.data_opt::<Feed>().and_then(Feed::take).unwrap_or_else(crate::events::relay::subscribe);
    let events = stream::unfold(Some(receiver), move |receiver| async move {
        let mut receiver = receiver?;
        loop {
            match receiver.recv().await {
                Ok(event) if event.org_id == org && wanted(&event.kind) => {
                    return Some((Ok(event), Some(receiver)));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    let error = ApiError::EventsMissed(format!(
                        "this subscription fell behind and {missed} events were dropped; subscribe again and read the current state"
                    ));
                    return Some((Err(error), None));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let items = events.filter_map(move |event| {
        let (deliver, delivery) = (deliver.clone(), delivery.clone());
        async move {
            match event {
                Err(error) => Some(Err(error)),
                Ok(event) => match deliver(delivery, event.clone()).await {
                    Ok(item) => item.map(Ok),
                    // Gone or no longer readable: the subscriber is not told of it.
                    Err(ApiError::NotFound(_) | ApiError::Forbidden(_)) => None,
                    Err(error) => {
                        tracing::warn!(event = %event.id, kind = %event.kind, error = %error, "delivering a live event failed");
                        Some(Err(error))
                    }
                },
            }
        }
    });
    Ok(items.boxed())
}

/// What deliveries read for recent events, shared by every subscriber of this process:
/// an event's object is read once, not once per subscriber. Keyed by event id: an event
/// belongs to one organization and subscribers only get their own organization's, so
/// nothing crosses organizations; each subscriber's permission is checked before it
/// uses the shared read. Absent objects are remembered as `None`, failures not at all.
pub struct Memo<V> {
    entries: std::sync::Mutex<lru::LruCache<uuid::Uuid, Arc<tokio::sync::OnceCell<Option<V>>>>>,
}

/// Events whose reads a [`Memo`] keeps: about as many as a subscriber may fall behind.
const MEMO_EVENTS: usize = 4_096;

impl<V: Clone> Memo<V> {
    pub fn new() -> Self {
        let capacity = std::num::NonZeroUsize::new(MEMO_EVENTS).unwrap_or(std::num::NonZeroUsize::MIN);
        Self { entries: std::sync::Mutex::new(lru::LruCache::new(capacity)) }
    }

    /// The object of `event`, read by `load` for the first subscriber that asks.
    pub async fn get_or_load<F>(&self, event: uuid::Uuid, load: F) -> Result<Option<V>>
    where
        F: std::future::Future<Output = Result<Option<V>>>,
    {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get_or_insert(event, || Arc::new(tokio::sync::OnceCell::new())).clone()
        };
        cell.get_or_try_init(|| load).await.cloned()
    }
}

impl<V: Clone> Default for Memo<V> {
    fn default() -> Self {
        Self::new()
    }
}

/// `Ok(None)` for an object that is gone (NOT_FOUND), for [`Memo::get_or_load`].
pub fn found<V>(read: Result<V>) -> Result<Option<V>> {
    match read {
        Ok(value) => Ok(Some(value)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

/// A field of the event's payload, such as `from`, read as `T`.
pub fn payload<T: serde::de::DeserializeOwned>(event: &Model, field: &str) -> Option<T> {
    event.payload.get(field).and_then(|value| serde_json::from_value(value.clone()).ok())
}

/// A filter's list of enum values without repeats: at most one per value, however long
/// the list sent, so checking an event against it stays cheap.
pub fn distinct<T: PartialEq>(values: Option<Vec<T>>) -> Option<Vec<T>> {
    values.map(|values| {
        let mut kept = Vec::new();
        for value in values {
            if !kept.contains(&value) {
                kept.push(value);
            }
        }
        kept
    })
}
