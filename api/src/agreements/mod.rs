//! The alignment contract: agreed documents and their one workflow.
//!
//! Every agreed document — definitions, ideal customer profiles, personas, SLAs,
//! scoring models and messages — is a row in `documents` with its versions in
//! `document_versions` (a kind's typed body, validated here in Rust, stored as JSON)
//! and sign-offs in `approvals`. A kind plugs in by implementing [`AgreedBody`];
//! the state machine below is written once:
//!
//! ```text
//! DRAFT ──propose──▶ PROPOSED ──approvals of SALES + MARKETING (+ SERVICE)──▶ AGREED
//!   any state but RETIRED ──retire──▶ RETIRED
//! ```
//!
//! Editing creates a new version. Editing an AGREED document creates a PROPOSED
//! version while the agreed one stays in force; once the new one is agreed the old
//! one is SUPERSEDED. Approvals name one exact version, so an edit voids the
//! approvals of the version it replaces.
//!
//! Concurrency: every workflow transaction first locks the document row (`SELECT …
//! FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite, where the database has a
//! single writer), so concurrent approvals are applied one after the other and each
//! sees the approvals committed before it; the AGREED transition is additionally a
//! conditional `UPDATE … WHERE pending_version = n` that must touch exactly one row.

pub mod alignment;
pub mod definitions;
pub mod goals;
pub mod graphql;
pub mod icps;
pub mod shown;
pub mod slas;
pub mod taxonomies;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;

use chrono::{DateTime, Utc};
use entity::document::{self, Column as DocColumn, Entity as Documents};
use entity::{AgreementStatus, DocumentKind, Team, VersionStatus, approval, document_version};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use futures_util::future::BoxFuture;

use crate::auth::Actor;
use crate::auth::permissions::{
    Authoring, approving_teams, can_approve_documents, can_read_agreements, can_retire_documents, document_authoring,
    require,
};
use crate::db::versioned::{check_version, ensure_updated};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate;

/// One kind of agreed document: its typed body. Implement this (and nothing else of
/// the workflow) to add a kind.
pub trait AgreedBody: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The kind stored in `documents.kind`.
    const KIND: DocumentKind;

    /// Check and normalise the body (trim text, check bounds), naming the input
    /// field at fault in BAD_USER_INPUT.
    fn validate(self) -> Result<Self>;

    /// Identity of the document within its organization and kind (such as the
    /// lower-cased term); two documents of one kind never share it.
    fn key(&self) -> String;

    /// Display name: the term, the name, or a summary.
    fn title(&self) -> String;

    /// Other agreed documents this body points at, as (input field, kind, id). Each
    /// must exist in the organization and not be retired.
    fn references(&self) -> Vec<(&'static str, DocumentKind, Uuid)> {
        Vec::new()
    }

    /// Called inside the approval transaction right after `version` (`body`) of
    /// document `doc_id` became AGREED (such as retiring the message it replaces in
    /// its cell). Whatever it writes commits or rolls back with the approval. Runs only
    /// for kinds registered with [`OnAgreed::of`].
    fn on_agreed(
        txn: &DatabaseTransaction,
        actor: &Actor,
        doc_id: Uuid,
        version: i32,
        body: &Self,
        confirmed: &Confirmations,
    ) -> impl Future<Output = Result<()>> + Send {
        let _ = (txn, actor, doc_id, version, body, confirmed);
        async { Ok(()) }
    }
}

/// What the approver whose approval agrees a version confirmed knowing, for effects
/// large enough to need it (such as the leads a scoring model promotes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confirmations {
    /// The number of leads the approver expects the version to make MQLs.
    pub promotions: Option<u64>,
}

pub type OnAgreedFn =
    for<'a> fn(&'a DatabaseTransaction, &'a Actor, Uuid, i32, &'a Confirmations) -> BoxFuture<'a, Result<()>>;

/// The effect of retiring document `id` (the version that was in force, 0 if none).
pub type OnRetiredFn = for<'a> fn(&'a DatabaseTransaction, &'a Actor, Uuid, i32) -> BoxFuture<'a, Result<()>>;

/// A kind whose agreement sets something off in the domain that owns it (a message
/// retires the one it replaces, a scoring model rescores every lead). That domain sits
/// above this one, so it registers the effect here (`inventory::submit!`) instead of
/// agreements naming it.
pub struct OnAgreed {
    kind: DocumentKind,
    run: OnAgreedFn,
}

impl OnAgreed {
    /// The effect of agreeing a `B`: its [`AgreedBody::on_agreed`].
    pub const fn of<B: AgreedBody>() -> Self {
        Self { kind: B::KIND, run: on_agreed_of::<B> }
    }

    /// An effect of agreeing a `kind` owned by another domain than the kind's own
    /// (scoring rescores when an ideal customer profile comes into force, leads re-match
    /// their personas when a persona is agreed): `run` gets the document id and the
    /// version just agreed, inside the approval transaction.
    pub const fn effect(kind: DocumentKind, run: OnAgreedFn) -> Self {
        Self { kind, run }
    }
}

inventory::collect!(OnAgreed);

/// A kind whose retirement sets something off in a domain above this one (scoring
/// rescores when an ideal customer profile leaves force, leads of a retired persona are
/// re-matched). Runs inside every retiring transaction, after the document is RETIRED;
/// the version passed is the one that was in force (0 when none was).
pub struct OnRetired {
    kind: DocumentKind,
    run: OnRetiredFn,
}

impl OnRetired {
    pub const fn effect(kind: DocumentKind, run: OnRetiredFn) -> Self {
        Self { kind, run }
    }
}

inventory::collect!(OnRetired);

/// Run the registered effects of agreeing `version` of document `id`.
async fn run_on_agreed(
    txn: &DatabaseTransaction,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
    version: i32,
    confirmed: &Confirmations,
) -> Result<()> {
    for effect in inventory::iter::<OnAgreed>.into_iter().filter(|e| e.kind == kind) {
        (effect.run)(txn, actor, id, version, confirmed).await?;
    }
    Ok(())
}

fn on_agreed_of<'a, B: AgreedBody>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    id: Uuid,
    version: i32,
    confirmed: &'a Confirmations,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move {
        let stored = document_version::Entity::find()
            .filter(document_version::Column::DocumentId.eq(id))
            .filter(document_version::Column::Version.eq(version))
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::internal(format!("version {version} of document {id} is missing")))?;
        let body: B = serde_json::from_value(stored.body)
            .map_err(|e| ApiError::internal(format!("stored body of document {id} is unreadable: {e}")))?;
        B::on_agreed(txn, actor, id, version, &body, confirmed).await
    })
}

/// Name of a kind in the audit log and outbox (`definition.agree`, …) and in messages.
pub fn entity_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Definition => "definition",
        DocumentKind::IdealCustomerProfile => "idealCustomerProfile",
        DocumentKind::Persona => "persona",
        DocumentKind::Sla => "sla",
        DocumentKind::ScoringModel => "scoringModel",
        DocumentKind::Message => "message",
        DocumentKind::Taxonomy => "taxonomy",
    }
}

fn described(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Definition => "definition",
        DocumentKind::IdealCustomerProfile => "ideal customer profile",
        DocumentKind::Persona => "persona",
        DocumentKind::Sla => "SLA",
        DocumentKind::ScoringModel => "scoring model",
        DocumentKind::Message => "message",
        DocumentKind::Taxonomy => "word list",
    }
}

/// An agreed document with every version, oldest first.
#[derive(Debug, Clone)]
pub struct Document<B> {
    pub model: document::Model,
    pub versions: Vec<Version<B>>,
}

/// One version of an agreed document, with its approvals.
#[derive(Debug, Clone)]
pub struct Version<B> {
    pub model: document_version::Model,
    pub body: B,
    pub approvals: Vec<approval::Model>,
}

impl<B> Document<B> {
    pub fn version(&self, number: i32) -> Option<&Version<B>> {
        self.versions.iter().find(|v| v.model.version == number)
    }

    /// The agreed version in force; none while not yet agreed or once retired.
    pub fn in_force(&self) -> Option<&Version<B>> {
        self.model.in_force_version.and_then(|n| self.version(n))
    }

    /// The version in force at `at`: the last one agreed at or before it (a superseded
    /// version's force ends when the next one is agreed); before the first agreement,
    /// the first agreed version. None when no version was ever agreed.
    pub fn in_force_at(&self, at: DateTime<Utc>) -> Option<&Version<B>> {
        let mut agreed: Vec<_> = self.versions.iter().filter(|v| v.model.agreed_at.is_some()).collect();
        agreed.sort_by_key(|v| (v.model.agreed_at, v.model.version));
        agreed.iter().rev().find(|v| v.model.agreed_at.is_some_and(|t| t <= at)).or(agreed.first()).copied()
    }

    /// The proposed version awaiting approval, if any.
    pub fn pending(&self) -> Option<&Version<B>> {
        self.model.pending_version.and_then(|n| self.version(n))
    }

    /// The newest version (what an edit starts from).
    pub fn latest(&self) -> Option<&Version<B>> {
        self.version(self.model.latest_version)
    }

    /// Version `number`, named by the input `field`: BAD_USER_INPUT giving the range
    /// of versions (1 to the newest) when there is no such version.
    pub fn version_input(&self, field: &str, number: i32) -> Result<&Version<B>> {
        validate::int_range(field, number, 1, self.model.latest_version.into())?;
        self.version(number).ok_or_else(|| ApiError::bad_input(field, format!("version {number} does not exist")))
    }

    /// Field-by-field difference between two versions' bodies.
    pub fn changes(&self, from: i32, to: i32) -> Result<Vec<FieldChange>> {
        let from = &self.version_input("from", from)?.model.body;
        let to = &self.version_input("to", to)?.model.body;
        Ok(diff(from, to))
    }
}

/// How one field differs between two versions.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// Top-level fields whose values differ, in field-name order. A field missing on one
/// side counts as null.
pub fn diff(from: &Value, to: &Value) -> Vec<FieldChange> {
    let empty = serde_json::Map::new();
    let (a, b) = (from.as_object().unwrap_or(&empty), to.as_object().unwrap_or(&empty));
    let fields: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    fields
        .into_iter()
        .filter_map(|field| {
            let (x, y) = (a.get(field).unwrap_or(&Value::Null), b.get(field).unwrap_or(&Value::Null));
            (x != y).then(|| FieldChange { field: field.clone(), from: x.clone(), to: y.clone() })
        })
        .collect()
}

fn audit_changes(changes: &[FieldChange]) -> Changes {
    changes.iter().fold(Changes::new(), |acc, c| acc.field(&c.field, Some(&c.from), Some(&c.to)))
}

/// Which documents of a kind to list.
#[derive(Debug, Default, Clone)]
pub struct DocumentCriteria {
    /// Only documents in one of these statuses (all when empty).
    pub statuses: Vec<AgreementStatus>,
    /// Case-insensitive text anywhere in the title or the latest body.
    pub search: Option<String>,
}

/// Load the versions and approvals of `docs` (two queries, whatever their number).
async fn hydrate<B: AgreedBody>(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    docs: Vec<document::Model>,
) -> Result<Vec<Document<B>>> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = docs.iter().map(|d| d.id).collect();
    let versions = document_version::Entity::find()
        .filter(document_version::Column::OrgId.eq(org_id))
        .filter(document_version::Column::DocumentId.is_in(ids.clone()))
        .order_by_asc(document_version::Column::Version)
        .all(db)
        .await?;
    let approvals = approval::Entity::find()
        .filter(approval::Column::OrgId.eq(org_id))
        .filter(approval::Column::DocumentId.is_in(ids))
        .order_by_asc(approval::Column::At)
        .all(db)
        .await?;
    let mut approvals_of: HashMap<(Uuid, i32), Vec<approval::Model>> = HashMap::new();
    for a in approvals {
        approvals_of.entry((a.document_id, a.version)).or_default().push(a);
    }
    let mut versions_of: HashMap<Uuid, Vec<Version<B>>> = HashMap::new();
    for v in versions {
        let body: B = serde_json::from_value(v.body.clone())
            .map_err(|e| ApiError::internal(format!("stored body of document {} is unreadable: {e}", v.document_id)))?;
        let approvals = approvals_of.remove(&(v.document_id, v.version)).unwrap_or_default();
        versions_of.entry(v.document_id).or_default().push(Version { model: v, body, approvals });
    }
    Ok(docs
        .into_iter()
        .map(|model| {
            let versions = versions_of.remove(&model.id).unwrap_or_default();
            Document { model, versions }
        })
        .collect())
}

/// One document of kind `B`; another organization's (or another kind's) is NOT_FOUND.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn get<B: AgreedBody>(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Document<B>> {
    require(can_read_agreements(actor), "read agreed documents")?;
    let model = find(db, actor, B::KIND, id).await?;
    hydrate(db, actor.org_id, vec![model]).await?.pop().ok_or_else(|| ApiError::not_found(described(B::KIND)))
}

/// Documents of kind `B` by id, in the caller's organization (absent ids are left out).
pub async fn get_many<B: AgreedBody>(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Document<B>>> {
    let docs = Documents::find()
        .filter(DocColumn::OrgId.eq(org_id))
        .filter(DocColumn::Kind.eq(B::KIND))
        .filter(DocColumn::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    hydrate(db, org_id, docs).await
}

/// The document of kind `B` with this key (such as a definition's term).
pub async fn find_by_key<B: AgreedBody>(db: &impl ConnectionTrait, actor: &Actor, key: &str) -> Result<Document<B>> {
    require(can_read_agreements(actor), "read agreed documents")?;
    let model = Documents::find()
        .filter(DocColumn::OrgId.eq(actor.org_id))
        .filter(DocColumn::Kind.eq(B::KIND))
        .filter(DocColumn::Key.eq(key))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found(described(B::KIND)))?;
    hydrate(db, actor.org_id, vec![model]).await?.pop().ok_or_else(|| ApiError::not_found(described(B::KIND)))
}

/// Documents of kind `B`, by title (case-insensitively). Agreed-document lists are short (a glossary, a
/// handful of personas), so the text search runs over the loaded bodies.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn list<B: AgreedBody>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &DocumentCriteria,
) -> Result<Vec<Document<B>>> {
    require(can_read_agreements(actor), "read agreed documents")?;
    let mut select = Documents::find().filter(DocColumn::OrgId.eq(actor.org_id)).filter(DocColumn::Kind.eq(B::KIND));
    if !criteria.statuses.is_empty() {
        select = select.filter(DocColumn::Status.is_in(criteria.statuses.iter().copied()));
    }
    // By the lower-cased key: the same order on SQLite and PostgreSQL, whatever the collation.
    let docs = select.order_by_asc(DocColumn::Key).order_by_asc(DocColumn::Id).all(db).await?;
    let mut docs = hydrate::<B>(db, actor.org_id, docs).await?;
    if let Some(search) = criteria.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        docs.retain(|d| {
            d.model.title.to_lowercase().contains(&search)
                || d.latest().is_some_and(|v| v.model.body.to_string().to_lowercase().contains(&search))
        });
    }
    Ok(docs)
}

async fn find(db: &impl ConnectionTrait, actor: &Actor, kind: DocumentKind, id: Uuid) -> Result<document::Model> {
    Documents::find_by_id(id)
        .filter(DocColumn::OrgId.eq(actor.org_id))
        .filter(DocColumn::Kind.eq(kind))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found(described(kind)))
}

use crate::db::begin_write;

/// Read a document and lock it for the rest of the transaction (FOR UPDATE on
/// PostgreSQL; SQLite is locked whole by [`begin_write`]).
/// Every change locks first, which tells the display cache ([`shown`]).
pub(crate) async fn lock(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
) -> Result<document::Model> {
    let doc = Documents::find_by_id(id)
        .filter(DocColumn::OrgId.eq(actor.org_id))
        .filter(DocColumn::Kind.eq(kind))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found(described(kind)))?;
    shown::changing(txn, id).await?;
    Ok(doc)
}

/// May this actor author documents of `kind`; FORBIDDEN otherwise.
fn authoring(actor: &Actor, kind: DocumentKind) -> Result<Authoring> {
    document_authoring(actor, kind)
        .ok_or_else(|| ApiError::forbidden(format!("you may not write {}s", described(kind))))
}

async fn check_references(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    refs: Vec<(&str, DocumentKind, Uuid)>,
) -> Result<()> {
    for (field, kind, id) in refs {
        let found = Documents::find_by_id(id)
            .filter(DocColumn::OrgId.eq(actor.org_id))
            .filter(DocColumn::Kind.eq(kind))
            .one(txn)
            .await?;
        match found {
            None => return Err(ApiError::bad_input(field, format!("no such {}", described(kind)))),
            Some(doc) if doc.status == AgreementStatus::Retired => {
                return Err(ApiError::bad_input(field, format!("the {} is retired", described(kind))));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

async fn check_key_free(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    kind: DocumentKind,
    key: &str,
    except: Option<Uuid>,
) -> Result<()> {
    let mut select = Documents::find()
        .filter(DocColumn::OrgId.eq(actor.org_id))
        .filter(DocColumn::Kind.eq(kind))
        .filter(DocColumn::Key.eq(key));
    if let Some(id) = except {
        select = select.filter(DocColumn::Id.ne(id));
    }
    if select.one(txn).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a {} with the same {} exists already",
            described(kind),
            key_name(kind)
        )));
    }
    Ok(())
}

fn key_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Definition => "term",
        DocumentKind::Sla => "teams, metric and period",
        DocumentKind::IdealCustomerProfile | DocumentKind::Persona | DocumentKind::ScoringModel => "name",
        DocumentKind::Message => "cell and title",
        DocumentKind::Taxonomy => "list",
    }
}

fn to_json<B: Serialize>(body: &B) -> Result<Value> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

/// Create a document. MARKETING's lands as a DRAFT unless `propose`; the other
/// teams' is PROPOSED at once (see [`Authoring`]).
#[tracing::instrument(skip(db, actor, body), fields(org = %actor.org_id))]
pub async fn create<B: AgreedBody>(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    body: B,
    propose: bool,
) -> Result<Document<B>> {
    let mode = authoring(actor, B::KIND)?;
    let body = body.validate()?;
    let json = to_json(&body)?;
    let txn = begin_write(db).await?;
    check_references(&txn, actor, body.references()).await?;
    check_key_free(&txn, actor, B::KIND, &body.key(), None).await?;
    let proposed = mode == Authoring::Propose || propose;
    let now = Utc::now();
    let doc = document::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        kind: Set(B::KIND),
        key: Set(body.key()),
        title: Set(body.title()),
        status: Set(if proposed { AgreementStatus::Proposed } else { AgreementStatus::Draft }),
        latest_version: Set(1),
        in_force_version: Set(None),
        pending_version: Set(proposed.then_some(1)),
        proposed_at: Set(proposed.then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    document_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        document_id: Set(doc.id),
        version: Set(1),
        status: Set(if proposed { VersionStatus::Proposed } else { VersionStatus::Draft }),
        body: Set(json.clone()),
        created_by: Set(actor.user_id()),
        created_at: Set(now),
        proposed_at: Set(proposed.then_some(now)),
        agreed_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let entity = entity_name(B::KIND);
    let changes = audit_changes(&diff(&json!({}), &json)).created("status", &doc.status);
    audit::record(&txn, actor, &format!("{entity}.create"), entity, Some(doc.id), changes).await?;
    let payload = json!({ "kind": B::KIND, "version": 1, "status": doc.status, "title": doc.title });
    outbox::publish(&txn, actor, &format!("{entity}.created"), entity, Some(doc.id), payload).await?;
    let doc =
        hydrate(&txn, actor.org_id, vec![doc]).await?.pop().ok_or_else(|| ApiError::not_found(described(B::KIND)))?;
    txn.commit().await?;
    Ok(doc)
}

/// Edit a document: a new version made by `patch` from the newest one. A DRAFT
/// stays a DRAFT when MARKETING edits it without `propose`; every other edit is a
/// PROPOSED version (an AGREED document's agreed version stays in force meanwhile).
/// A retired document cannot be edited (CONFLICT); an edit that changes nothing
/// makes no version.
#[tracing::instrument(skip(db, actor, patch), fields(org = %actor.org_id))]
pub async fn update<B: AgreedBody>(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    propose: bool,
    patch: impl FnOnce(B) -> Result<B> + Send,
) -> Result<Document<B>> {
    let mode = authoring(actor, B::KIND)?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, actor, B::KIND, id).await?;
    if current.status == AgreementStatus::Retired {
        return Err(ApiError::Conflict(format!("the {} is retired and can no longer be edited", described(B::KIND))));
    }
    check_version(expected_version, current.latest_version)?;
    let doc = hydrate::<B>(&txn, actor.org_id, vec![current.clone()])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found(described(B::KIND)))?;
    let latest = doc.latest().ok_or_else(|| ApiError::internal(format!("document {id} has no latest version")))?;
    let body = patch(latest.body.clone())?.validate()?;
    let json = to_json(&body)?;
    let changes = diff(&latest.model.body, &json);
    if changes.is_empty() {
        return Ok(doc);
    }
    check_references(&txn, actor, body.references()).await?;
    check_key_free(&txn, actor, B::KIND, &body.key(), Some(id)).await?;
    let draft = current.status == AgreementStatus::Draft && mode == Authoring::Write && !propose;
    let number = current.latest_version + 1;
    let now = Utc::now();
    // The version this one replaces, if it was never agreed, is closed.
    if matches!(latest.model.status, VersionStatus::Draft | VersionStatus::Proposed) {
        set_version_status(&txn, id, latest.model.version, VersionStatus::Superseded).await?;
    }
    document_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        document_id: Set(id),
        version: Set(number),
        status: Set(if draft { VersionStatus::Draft } else { VersionStatus::Proposed }),
        body: Set(json),
        created_by: Set(actor.user_id()),
        created_at: Set(now),
        proposed_at: Set((!draft).then_some(now)),
        agreed_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let status = if current.in_force_version.is_some() {
        AgreementStatus::Agreed
    } else if draft {
        AgreementStatus::Draft
    } else {
        AgreementStatus::Proposed
    };
    let result = Documents::update_many()
        .col_expr(DocColumn::LatestVersion, Expr::value(number))
        .col_expr(DocColumn::Key, Expr::value(body.key()))
        .col_expr(DocColumn::Title, Expr::value(body.title()))
        .col_expr(DocColumn::Status, Expr::value(status))
        .col_expr(DocColumn::PendingVersion, Expr::value((!draft).then_some(number)))
        .col_expr(DocColumn::ProposedAt, Expr::value((!draft).then_some(now)))
        .col_expr(DocColumn::UpdatedAt, Expr::value(now))
        .filter(DocColumn::Id.eq(id))
        .filter(DocColumn::LatestVersion.eq(current.latest_version))
        .exec(&txn)
        .await?;
    ensure_updated(&result)?;
    let entity = entity_name(B::KIND);
    let audit_rows = audit_changes(&changes).field("version", Some(&current.latest_version), Some(&number)).field(
        "status",
        Some(&current.status),
        Some(&status),
    );
    audit::record(&txn, actor, &format!("{entity}.update"), entity, Some(id), audit_rows).await?;
    let payload = json!({ "kind": B::KIND, "version": number, "status": status, "draft": draft });
    outbox::publish(&txn, actor, &format!("{entity}.revised"), entity, Some(id), payload).await?;
    let doc = reload(&txn, actor, id).await?;
    txn.commit().await?;
    shown::changed(id);
    Ok(doc)
}

async fn reload<B: AgreedBody>(txn: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Document<B>> {
    let model = find(txn, actor, B::KIND, id).await?;
    hydrate(txn, actor.org_id, vec![model]).await?.pop().ok_or_else(|| ApiError::not_found(described(B::KIND)))
}

async fn set_version_status(
    txn: &impl ConnectionTrait,
    document_id: Uuid,
    version: i32,
    status: VersionStatus,
) -> Result<()> {
    let mut update = document_version::Entity::update_many()
        .col_expr(document_version::Column::Status, Expr::value(status))
        .filter(document_version::Column::DocumentId.eq(document_id))
        .filter(document_version::Column::Version.eq(version));
    if status == VersionStatus::Agreed {
        update = update.col_expr(document_version::Column::AgreedAt, Expr::value(Utc::now()));
    }
    update.exec(txn).await?;
    Ok(())
}

/// Put a DRAFT up for approval. Anyone who may author the kind.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn propose(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
) -> Result<document::Model> {
    authoring(actor, kind)?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, actor, kind, id).await?;
    if current.status != AgreementStatus::Draft {
        return Err(ApiError::Conflict(format!(
            "only a DRAFT can be proposed; this {} is {}",
            described(kind),
            validate::public_name(current.status)
        )));
    }
    let number = current.latest_version;
    let now = Utc::now();
    document_version::Entity::update_many()
        .col_expr(document_version::Column::Status, Expr::value(VersionStatus::Proposed))
        .col_expr(document_version::Column::ProposedAt, Expr::value(now))
        .filter(document_version::Column::DocumentId.eq(id))
        .filter(document_version::Column::Version.eq(number))
        .exec(&txn)
        .await?;
    let result = Documents::update_many()
        .col_expr(DocColumn::Status, Expr::value(AgreementStatus::Proposed))
        .col_expr(DocColumn::PendingVersion, Expr::value(number))
        .col_expr(DocColumn::ProposedAt, Expr::value(now))
        .col_expr(DocColumn::UpdatedAt, Expr::value(now))
        .filter(DocColumn::Id.eq(id))
        .filter(DocColumn::Status.eq(AgreementStatus::Draft))
        .exec(&txn)
        .await?;
    ensure_updated(&result)?;
    let entity = entity_name(kind);
    let changes = Changes::new().field("status", Some(&current.status), Some(&AgreementStatus::Proposed));
    audit::record(&txn, actor, &format!("{entity}.propose"), entity, Some(id), changes).await?;
    let payload = json!({ "kind": kind, "version": number });
    outbox::publish(&txn, actor, &format!("{entity}.proposed"), entity, Some(id), payload).await?;
    let doc = find(&txn, actor, kind, id).await?;
    txn.commit().await?;
    shown::changed(id);
    Ok(doc)
}

/// The version `version` must be the pending proposal of `doc`; CONFLICT otherwise,
/// saying why (stale, already agreed, retired, nothing proposed).
fn ensure_pending(doc: &document::Model, version: i32) -> Result<()> {
    let what = described(doc.kind);
    if doc.status == AgreementStatus::Retired {
        return Err(ApiError::Conflict(format!("the {what} is retired")));
    }
    match doc.pending_version {
        Some(pending) if pending == version => Ok(()),
        Some(pending) => Err(ApiError::Conflict(format!(
            "version {version} of the {what} is not the pending proposal (version {pending} is); reload and review that one"
        ))),
        None if doc.in_force_version == Some(version) => {
            Err(ApiError::Conflict(format!("version {version} of the {what} is agreed already")))
        }
        None => Err(ApiError::Conflict(format!("version {version} of the {what} is not proposed for approval"))),
    }
}

/// What an approval did.
#[derive(Debug, Clone)]
pub struct ApprovalOutcome {
    pub document: document::Model,
    /// This approval completed the sign-off: the version is now AGREED.
    pub agreed: bool,
}

/// The caller's user id and team; approvals are personal.
fn approver(actor: &Actor) -> Result<(Uuid, Team)> {
    match (actor.user_id(), actor.team()) {
        (Some(id), Some(team)) => Ok((id, team)),
        _ => Err(ApiError::forbidden("only people approve agreed documents")),
    }
}

/// Approve one exact, pending version for the caller's team. When every approving
/// team (SALES, MARKETING, and SERVICE if the organization says so) has approved it,
/// the version becomes AGREED and the one it replaces SUPERSEDED. Approving twice,
/// or a version that is not the pending one, is CONFLICT.
pub async fn approve(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
    version: i32,
) -> Result<ApprovalOutcome> {
    approve_confirming(db, actor, kind, id, version, Confirmations::default()).await
}

/// [`approve`], with what the approver confirmed knowing about the version's effect.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn approve_confirming(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
    version: i32,
    confirmed: Confirmations,
) -> Result<ApprovalOutcome> {
    let (user_id, team) = approver(actor)?;
    let txn = begin_write(db).await?;
    let approvers = crate::org::settings(&txn, actor.org_id).await?.approvers();
    require(can_approve_documents(actor, approvers), "approve agreed documents")?;
    let current = lock(&txn, actor, kind, id).await?;
    ensure_pending(&current, version)?;
    let approvals = approval::Entity::find()
        .filter(approval::Column::OrgId.eq(actor.org_id))
        .filter(approval::Column::DocumentId.eq(id))
        .filter(approval::Column::Version.eq(version))
        .all(&txn)
        .await?;
    if approvals.iter().any(|a| a.user_id == user_id) {
        return Err(ApiError::Conflict(format!("you approved version {version} already")));
    }
    let now = Utc::now();
    approval::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        kind: Set(kind),
        document_id: Set(id),
        version: Set(version),
        user_id: Set(user_id),
        team: Set(team),
        at: Set(now),
    }
    .insert(&txn)
    .await?;
    let entity = entity_name(kind);
    let changes = Changes::new().created("version", &version).created("team", &team);
    audit::record(&txn, actor, &format!("{entity}.approve"), entity, Some(id), changes).await?;
    let payload = json!({ "kind": kind, "version": version, "team": team });
    outbox::publish(&txn, actor, &format!("{entity}.approved"), entity, Some(id), payload).await?;
    let approved: HashSet<Team> = approvals.iter().map(|a| a.team).chain([team]).collect();
    let complete = approving_teams(approvers).iter().all(|t| approved.contains(t));
    if complete {
        agree(&txn, actor, &current, version, &confirmed).await?;
    }
    let document = find(&txn, actor, kind, id).await?;
    txn.commit().await?;
    shown::changed(id);
    Ok(ApprovalOutcome { document, agreed: complete })
}

/// Make `version` the agreed one. The conditional update touches exactly one row
/// only while that version is still pending: a concurrent approval that got there
/// first leaves nothing to do, and this one fails with CONFLICT.
async fn agree(
    txn: &DatabaseTransaction,
    actor: &Actor,
    current: &document::Model,
    version: i32,
    confirmed: &Confirmations,
) -> Result<()> {
    let now = Utc::now();
    let result = Documents::update_many()
        .col_expr(DocColumn::Status, Expr::value(AgreementStatus::Agreed))
        .col_expr(DocColumn::InForceVersion, Expr::value(version))
        .col_expr(DocColumn::PendingVersion, Expr::value(Option::<i32>::None))
        .col_expr(DocColumn::ProposedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(DocColumn::UpdatedAt, Expr::value(now))
        .filter(DocColumn::Id.eq(current.id))
        .filter(DocColumn::OrgId.eq(actor.org_id))
        .filter(DocColumn::PendingVersion.eq(version))
        .exec(txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(ApiError::Conflict(format!("version {version} was agreed or replaced meanwhile; reload")));
    }
    if let Some(previous) = current.in_force_version {
        set_version_status(txn, current.id, previous, VersionStatus::Superseded).await?;
    }
    set_version_status(txn, current.id, version, VersionStatus::Agreed).await?;
    let entity = entity_name(current.kind);
    let changes = Changes::new().field("status", Some(&current.status), Some(&AgreementStatus::Agreed)).field(
        "inForceVersion",
        current.in_force_version.as_ref(),
        Some(&version),
    );
    audit::record(txn, actor, &format!("{entity}.agree"), entity, Some(current.id), changes).await?;
    let payload = json!({ "kind": current.kind, "version": version, "supersedes": current.in_force_version });
    outbox::publish(txn, actor, &format!("{entity}.agreed"), entity, Some(current.id), payload).await?;
    run_on_agreed(txn, actor, current.kind, current.id, version, confirmed).await
}

/// Take back one's own approval of a version that is still pending.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn withdraw_approval(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
    version: i32,
) -> Result<document::Model> {
    let (user_id, team) = approver(actor)?;
    let txn = begin_write(db).await?;
    let current = lock(&txn, actor, kind, id).await?;
    ensure_pending(&current, version)?;
    let result = approval::Entity::delete_many()
        .filter(approval::Column::OrgId.eq(actor.org_id))
        .filter(approval::Column::DocumentId.eq(id))
        .filter(approval::Column::Version.eq(version))
        .filter(approval::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(ApiError::Conflict(format!("you have not approved version {version}")));
    }
    let entity = entity_name(kind);
    let changes = Changes::new().field("approved", Some(&true), Some(&false)).created("version", &version);
    audit::record(&txn, actor, &format!("{entity}.withdrawApproval"), entity, Some(id), changes).await?;
    let payload = json!({ "kind": kind, "version": version, "team": team });
    outbox::publish(&txn, actor, &format!("{entity}.approvalWithdrawn"), entity, Some(id), payload).await?;
    txn.commit().await?;
    shown::changed(id);
    Ok(current)
}

/// Take a document out of force for good: its agreed version becomes RETIRED and a
/// pending proposal is closed. Approvers and ADMINs.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn retire(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    kind: DocumentKind,
    id: Uuid,
) -> Result<document::Model> {
    let txn = begin_write(db).await?;
    let approvers = crate::org::settings(&txn, actor.org_id).await?.approvers();
    require(can_retire_documents(actor, approvers), "retire agreed documents")?;
    retire_locked(&txn, actor, id, kind).await?;
    let doc = find(&txn, actor, kind, id).await?;
    txn.commit().await?;
    shown::changed(id);
    Ok(doc)
}

/// Retire a document inside the caller's transaction (locking it first), writing its
/// audit row and outbox event. The caller checks permissions.
pub(crate) async fn retire_locked(
    txn: &DatabaseTransaction,
    actor: &Actor,
    id: Uuid,
    kind: DocumentKind,
) -> Result<()> {
    let current = lock(txn, actor, kind, id).await?;
    if current.status == AgreementStatus::Retired {
        return Err(ApiError::Conflict(format!("the {} is retired already", described(kind))));
    }
    retire_within(txn, actor, &current).await
}

/// Retire `current` (locked with [`lock`], not yet retired) inside the caller's
/// transaction, with its audit row and outbox event.
pub(crate) async fn retire_within(txn: &DatabaseTransaction, actor: &Actor, current: &document::Model) -> Result<()> {
    if let Some(n) = current.in_force_version {
        set_version_status(txn, current.id, n, VersionStatus::Retired).await?;
    }
    if current.latest_version != current.in_force_version.unwrap_or_default() {
        set_version_status(txn, current.id, current.latest_version, VersionStatus::Superseded).await?;
    }
    let now = Utc::now();
    let result = Documents::update_many()
        .col_expr(DocColumn::Status, Expr::value(AgreementStatus::Retired))
        .col_expr(DocColumn::InForceVersion, Expr::value(Option::<i32>::None))
        .col_expr(DocColumn::PendingVersion, Expr::value(Option::<i32>::None))
        .col_expr(DocColumn::ProposedAt, Expr::value(Option::<chrono::DateTime<Utc>>::None))
        .col_expr(DocColumn::UpdatedAt, Expr::value(now))
        .filter(DocColumn::Id.eq(current.id))
        .filter(DocColumn::Status.ne(AgreementStatus::Retired))
        .exec(txn)
        .await?;
    ensure_updated(&result)?;
    let entity = entity_name(current.kind);
    let changes = Changes::new().field("status", Some(&current.status), Some(&AgreementStatus::Retired)).field(
        "inForceVersion",
        current.in_force_version.as_ref(),
        None,
    );
    audit::record(txn, actor, &format!("{entity}.retire"), entity, Some(current.id), changes).await?;
    let payload = json!({ "kind": current.kind, "retiredVersion": current.in_force_version });
    outbox::publish(txn, actor, &format!("{entity}.retired"), entity, Some(current.id), payload).await?;
    for effect in inventory::iter::<OnRetired>.into_iter().filter(|e| e.kind == current.kind) {
        (effect.run)(txn, actor, current.id, current.in_force_version.unwrap_or(0)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_personas_scoring_models_icps_and_word_lists_register_what_their_agreement_sets_off() {
        let mut kinds: Vec<DocumentKind> = inventory::iter::<OnAgreed>.into_iter().map(|e| e.kind).collect();
        kinds.sort_by_key(|k| entity_name(*k));
        let mut expected = [
            DocumentKind::IdealCustomerProfile,
            DocumentKind::Message,
            DocumentKind::Persona,
            DocumentKind::ScoringModel,
            DocumentKind::Taxonomy,
        ];
        expected.sort_by_key(|k| entity_name(*k));
        assert_eq!(kinds, expected);
        let mut retired: Vec<DocumentKind> = inventory::iter::<OnRetired>.into_iter().map(|e| e.kind).collect();
        retired.sort_by_key(|k| entity_name(*k));
        assert_eq!(retired, [DocumentKind::IdealCustomerProfile, DocumentKind::Persona, DocumentKind::Taxonomy]);
    }

    #[test]
    fn diff_names_changed_added_and_removed_fields_only() {
        let from = json!({ "term": "MQL", "body": "old", "criteria": null });
        let to = json!({ "term": "MQL", "body": "new", "criteria": { "score": 60 } });
        let changes = diff(&from, &to);
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["body", "criteria"]);
        assert_eq!(changes[1].to, json!({ "score": 60 }));
        assert!(diff(&from, &from).is_empty());
    }

    #[test]
    fn a_stale_or_agreed_version_is_not_pending() {
        let now = Utc::now();
        let mut doc = document::Model {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            kind: DocumentKind::Definition,
            key: "mql".into(),
            title: "MQL".into(),
            status: AgreementStatus::Agreed,
            latest_version: 3,
            in_force_version: Some(2),
            pending_version: Some(3),
            proposed_at: Some(now),
            created_at: now,
            updated_at: now,
        };
        assert!(ensure_pending(&doc, 3).is_ok());
        assert!(matches!(ensure_pending(&doc, 2), Err(ApiError::Conflict(_))));
        doc.pending_version = None;
        assert!(matches!(ensure_pending(&doc, 2), Err(ApiError::Conflict(m)) if m.contains("agreed already")));
        doc.status = AgreementStatus::Retired;
        assert!(matches!(ensure_pending(&doc, 3), Err(ApiError::Conflict(m)) if m.contains("retired")));
    }
}
