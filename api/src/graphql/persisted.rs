//! Documents sent by hash: Automatic Persisted Queries (Apollo's protocol,
//! `extensions.persistedQuery.sha256Hash`) and trusted documents (registered by an
//! organization's ADMINs, `org::trusted_documents`), and the rule
//! `ACCORD_TRUSTED_DOCUMENTS` that lets a class of callers run registered documents only.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

use async_graphql::Value;
use async_graphql::parser::types::DocumentOperations;
use lru::LruCache;
use sea_orm::ConnectionTrait;

use crate::auth::{Actor, Identity};
use crate::config::TrustedDocuments;
use crate::error::{ApiError, Result};
use crate::org::trusted_documents::{self, is_sha256_hex, sha256_hex};

/// Documents remembered by hash at most; the least recently used go first.
const APQ_CAPACITY: NonZeroUsize = NonZeroUsize::new(1_000).unwrap();
/// Longer documents are not remembered, which keeps the cache under 16 MB.
const APQ_MAX_LEN: usize = 16 * 1024;

static APQ: LazyLock<Mutex<LruCache<String, Arc<str>>>> = LazyLock::new(|| Mutex::new(LruCache::new(APQ_CAPACITY)));

fn apq() -> MutexGuard<'static, LruCache<String, Arc<str>>> {
    // Entries are whole values: a panic elsewhere cannot leave one half-written.
    APQ.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The hash of `extensions.persistedQuery`, if the request has one.
fn requested_hash(request: &async_graphql::Request) -> Result<Option<String>> {
    let Some(persisted) = request.extensions.get("persistedQuery") else { return Ok(None) };
    let bad = |message: &str| Err(ApiError::bad_input("extensions.persistedQuery", message));
    let Value::Object(persisted) = persisted else { return bad("must be an object {version: 1, sha256Hash}") };
    if persisted.get("version") != Some(&Value::from(1)) {
        return bad("only version 1 is supported");
    }
    match persisted.get("sha256Hash") {
        Some(Value::String(hash)) if is_sha256_hex(hash) => Ok(Some(hash.clone())),
        _ => bad("sha256Hash must be 64 lower-case hex digits"),
    }
}

/// Whether `mode` limits this caller to registered documents.
fn limited(mode: TrustedDocuments, actor: Option<&Actor>) -> bool {
    match mode {
        TrustedDocuments::Off => false,
        TrustedDocuments::ApiKeys => actor.is_some_and(|a| matches!(a.kind, Identity::ApiKey { .. })),
        TrustedDocuments::All => true,
    }
}

/// Fill in the text of a request sent by hash, remember a text sent with its hash, and
/// refuse a document the caller may not run under `mode`. True when the request named
/// its document by hash (so its operation name is a known one).
pub async fn resolve(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    mode: TrustedDocuments,
    request: &mut async_graphql::Request,
) -> Result<bool> {
    let org_id = actor.map(|a| a.org_id);
    let hash = requested_hash(request)?;
    let by_hash = hash.is_some();
    let mut registered = false;
    if let Some(hash) = &hash {
        if request.query.is_empty() {
            let remembered = apq().get(hash).cloned();
            request.query = match remembered {
                Some(text) => text.to_string(),
                // Before signing in, the table is looked at only when it is the rule.
                None if actor.is_none() && mode != TrustedDocuments::All => {
                    return Err(ApiError::PersistedQueryNotFound);
                }
                None => {
                    let text = trusted_documents::text_of(db, org_id, hash).await?;
                    registered = text.is_some();
                    text.ok_or(ApiError::PersistedQueryNotFound)?
                }
            };
        } else if sha256_hex(&request.query) != *hash {
            return Err(ApiError::bad_input("extensions.persistedQuery", "sha256Hash is not the SHA-256 of `query`"));
        } else if request.query.len() <= APQ_MAX_LEN && !limited(mode, actor) {
            apq().put(hash.clone(), Arc::from(request.query.as_str()));
        }
    }
    if limited(mode, actor) && !registered {
        let hash = hash.unwrap_or_else(|| sha256_hex(&request.query));
        if trusted_documents::text_of(db, org_id, &hash).await?.is_none() {
            return Err(ApiError::forbidden(format!(
                "this server runs only registered documents for {} (ACCORD_TRUSTED_DOCUMENTS); an ADMIN registers it with `registerTrustedDocument` or `accord documents register` (SHA-256 {hash})",
                if mode == TrustedDocuments::All { "every caller" } else { "API keys" }
            )));
        }
    }
    Ok(by_hash)
}

/// Check that `text` is one GraphQL document to register; the names of its operations.
pub fn describe(text: &str) -> Result<Option<String>> {
    if text.len() > trusted_documents::MAX_DOCUMENT_BYTES {
        let limit = trusted_documents::MAX_DOCUMENT_BYTES;
        return Err(ApiError::bad_input("document", format!("is longer than {limit} bytes")));
    }
    let document = async_graphql::parser::parse_query(text)
        .map_err(|e| ApiError::bad_input("document", format!("is not a GraphQL document: {e}")))?;
    let names: Vec<String> = match &document.operations {
        DocumentOperations::Single(_) => Vec::new(),
        DocumentOperations::Multiple(operations) => operations.keys().map(|n| n.to_string()).collect(),
    };
    Ok((!names.is_empty()).then(|| names.join(",")))
}
