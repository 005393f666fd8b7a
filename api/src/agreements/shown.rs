//! Agreed documents as the API shows them, remembered per process on PostgreSQL: pages
//! of leads, opportunities and messages show the same few personas, profiles and
//! messages on every request, and reading one with its versions and approvals took three
//! statements (docs/performance.md). Only display reads come here; the workflow and
//! every rule that enforces an agreement read the database.
//!
//! A document is forgotten when a transaction locks it to change it, here at once and,
//! through `db::notify` once it commits, on every server (this one included, which
//! forgets again after the commit): every change locks its document first. A read that
//! raced with a change is not remembered ([`GENERATION`]). SQLite reads every time.

use std::any::Any;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{AgreedBody, Document};
use crate::db::notify::{Cached, Forget};
use crate::error::Result;

/// Documents remembered at most; the least recently used go first.
const CAPACITY: NonZeroUsize = NonZeroUsize::new(4_096).unwrap();
/// How long one is trusted should a notification be lost in a way the listener cannot see.
const TTL: Duration = Duration::from_secs(60);
/// The `db::notify` topic of a document's changes.
const TOPIC: &str = "document";

static DOCUMENTS: Cached<Arc<dyn Any + Send + Sync>> = Cached::new(CAPACITY);
/// Bumped by every forgetting: a read that began before one is not remembered.
static GENERATION: AtomicU64 = AtomicU64::new(0);

inventory::submit! {
    Forget { topic: TOPIC, forget, forget_all }
}

fn forget(id: Uuid) {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    DOCUMENTS.forget(id);
}

fn forget_all() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    DOCUMENTS.clear();
}

/// The documents of kind `B` among `ids` in organization `org_id`, as
/// [`super::get_many`] reads them (in no particular order).
pub async fn get_many<B: AgreedBody>(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Document<B>>> {
    if !crate::db::dialect::is_postgres(db) {
        return super::get_many(db, org_id, ids).await;
    }
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for &id in ids {
        let remembered = DOCUMENTS.get(id, TTL).and_then(|d| d.downcast::<Document<B>>().ok());
        match remembered.filter(|d| d.model.org_id == org_id) {
            Some(doc) => found.push(Document::clone(&doc)),
            None => missing.push(id),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let generation = GENERATION.load(Ordering::SeqCst);
    let read = super::get_many::<B>(db, org_id, &missing).await?;
    for doc in read {
        if GENERATION.load(Ordering::SeqCst) == generation {
            DOCUMENTS.put(doc.model.id, Arc::new(doc.clone()));
        }
        found.push(doc);
    }
    Ok(found)
}

/// In the transaction that is about to change document `id`: forget it here now, and on
/// every server once the transaction commits.
pub(super) async fn changing(txn: &impl ConnectionTrait, id: Uuid) -> Result<()> {
    forget(id);
    crate::db::notify::changed(txn, TOPIC, id).await
}

/// After the commit that changed document `id`: a reader that raced with it in this
/// process is not trusted, even before the notification arrives.
pub(super) fn changed(id: Uuid) {
    forget(id);
}
