//! The feedback loop: feedback on any subject, endorsements by others, the signal
//! behind each item (distinct reporters, teams and customer accounts — not volume),
//! themes, the status workflow with the owning team's response, and review meetings.
//!
//! ```text
//! NEW ──▶ UNDER_REVIEW ──▶ ACCEPTED ──▶ DONE
//!                     └──▶ DECLINED (with a response; final)
//! ```
//!
//! An item is *actionable* once at least two distinct people are behind it (the author
//! and the endorsers: one voice, however loud or however many accounts it names, is
//! never enough) and either those people reach the organization's
//! `feedbackActionableEndorsers` (default 3) or the distinct customer accounts reach
//! `feedbackActionableAccounts` (default 2).
//!
//! SCORING_MODEL feedback is about lead scoring as a whole, not one model: like
//! GENERAL it names no `subjectId`.

pub mod graphql;
pub mod meetings;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use entity::feedback::{ActiveModel, Column, Entity, FeedbackStatus, FeedbackSubject, Model, Sentiment};
use entity::{DocumentKind, Team, feedback_endorsement as endorsement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::agreements;
use crate::agreements::slas::SlaBody;
use crate::agreements::taxonomies::{self, Stored, TaxonomyList};
use crate::auth::Actor;
use crate::auth::permissions::{FeedbackOwner, Scope, can_give_signal, can_read, can_set_feedback_status, require};
use crate::db::keyset::{Direction, Page, Window, fetch_page};
use crate::db::versioned::{check_version, save_versioned};
use crate::error::{ApiError, Result};
use crate::events::audit::{self, Changes};
use crate::events::outbox;
use crate::validate::{self, LONG};

/// Distinct people every actionable item needs, whatever the thresholds.
pub const MIN_REPORTERS: usize = 2;

/// The organization's thresholds for "actionable".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Distinct people (author and endorsers).
    pub people: u32,
    /// Distinct customer accounts; 0 turns this rule off.
    pub accounts: u32,
}

/// The thresholds from the organization's settings.
pub async fn thresholds(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Thresholds> {
    let settings = crate::org::settings(db, org_id).await?;
    Ok(Thresholds { people: settings.feedback_actionable_endorsers, accounts: settings.feedback_actionable_accounts })
}

/// Who and what is behind one item or a theme of items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signal {
    pub reporters: usize,
    pub teams: usize,
    pub accounts: usize,
    pub endorsements: usize,
    pub actionable: bool,
}

/// The combined signal of `items` and their `endorsements`.
pub fn signal<'a>(
    items: impl IntoIterator<Item = &'a Model>,
    endorsements: impl IntoIterator<Item = &'a endorsement::Model>,
    thresholds: Thresholds,
) -> Signal {
    let (mut people, mut teams, mut accounts) = (HashSet::new(), HashSet::new(), HashSet::new());
    for item in items {
        people.insert(item.author_id);
        teams.insert(item.author_team);
        accounts.extend(item.account_id);
    }
    let mut count = 0;
    for e in endorsements {
        count += 1;
        people.insert(e.user_id);
        teams.insert(e.team);
        accounts.extend(e.account_id);
    }
    let actionable = people.len() >= MIN_REPORTERS
        && (people.len() >= thresholds.people as usize
            || (thresholds.accounts > 0 && accounts.len() >= thresholds.accounts as usize));
    Signal { reporters: people.len(), teams: teams.len(), accounts: accounts.len(), endorsements: count, actionable }
}

/// Feedback to submit.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub subject_type: FeedbackSubject,
    pub subject_id: Option<Uuid>,
    pub tag: String,
    pub sentiment: Sentiment,
    pub body: String,
    pub account_id: Option<Uuid>,
}

fn document_kind(subject: FeedbackSubject) -> Option<DocumentKind> {
    match subject {
        FeedbackSubject::Message => Some(DocumentKind::Message),
        FeedbackSubject::Persona => Some(DocumentKind::Persona),
        FeedbackSubject::Icp => Some(DocumentKind::IdealCustomerProfile),
        FeedbackSubject::Sla => Some(DocumentKind::Sla),
        FeedbackSubject::Definition => Some(DocumentKind::Definition),
        FeedbackSubject::Lead
        | FeedbackSubject::ContentAsset
        | FeedbackSubject::ScoringModel
        | FeedbackSubject::General => None,
    }
}

/// The subject must exist in the caller's organization; GENERAL (and SCORING_MODEL,
/// see the module docs) has none.
async fn check_subject(
    db: &impl ConnectionTrait,
    actor: &Actor,
    subject: FeedbackSubject,
    id: Option<Uuid>,
) -> Result<()> {
    if matches!(subject, FeedbackSubject::General | FeedbackSubject::ScoringModel) {
        if id.is_some() {
            return Err(ApiError::bad_input("subjectId", "this kind of feedback has no subject"));
        }
        return Ok(());
    }
    let id = id.ok_or_else(|| ApiError::bad_input("subjectId", "name the subject of the feedback"))?;
    let found = if let Some(kind) = document_kind(subject) {
        entity::document::Entity::find_by_id(id)
            .filter(entity::document::Column::OrgId.eq(actor.org_id))
            .filter(entity::document::Column::Kind.eq(kind))
            .count(db)
            .await?
    } else if subject == FeedbackSubject::Lead {
        entity::lead::Entity::find_by_id(id).filter(entity::lead::Column::OrgId.eq(actor.org_id)).count(db).await?
    } else {
        entity::content_asset::Entity::find_by_id(id)
            .filter(entity::content_asset::Column::OrgId.eq(actor.org_id))
            .count(db)
            .await?
    };
    if found == 0 {
        return Err(ApiError::bad_input("subjectId", "no such subject in your organization"));
    }
    Ok(())
}

async fn check_account(db: &impl ConnectionTrait, actor: &Actor, id: Option<Uuid>) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found = entity::account::Entity::find_by_id(id)
        .filter(entity::account::Column::OrgId.eq(actor.org_id))
        .count(db)
        .await?;
    if found == 0 {
        return Err(ApiError::bad_input("accountId", "no such account"));
    }
    Ok(())
}

fn person(actor: &Actor, what: &str) -> Result<(Uuid, Team)> {
    match (actor.user_id(), actor.team()) {
        (Some(id), Some(team)) => Ok((id, team)),
        _ => Err(ApiError::forbidden(format!("only people {what}"))),
    }
}

/// Longest tag, in characters.
pub const TAG_MAX: usize = 64;

/// A tag as stored: lower-cased, with every run of spaces, underscores and hyphens one
/// hyphen and none at either end, so "Pricing too_high " and "pricing-too-high" are one
/// theme; 1–64 characters, at least one of them a letter or digit.
pub fn tag(value: &str) -> Result<String> {
    let tag = normalise_tag(&validate::text("tag", value, TAG_MAX)?);
    if tag.is_empty() {
        return Err(ApiError::bad_input("tag", "must contain a letter or a digit"));
    }
    Ok(tag)
}

/// [`tag`]'s normal form, without the checks (for filters).
pub fn normalise_tag(value: &str) -> String {
    TaxonomyList::FeedbackTags.spell(value)
}

// The agreed tag list re-maps stored tags when it is agreed or retired.
inventory::submit! {
    Stored {
        list: TaxonomyList::FeedbackTags,
        table: "feedback",
        written: "written_tag",
        value: "tag",
        listed: "tag_listed",
    }
}

/// Give feedback. Any person but VIEWERs.
#[tracing::instrument(skip(db, actor, new), fields(org = %actor.org_id))]
pub async fn submit(db: &impl crate::db::Transactions, actor: &Actor, new: NewFeedback) -> Result<Model> {
    require(can_give_signal(actor), "give feedback")?;
    let (author_id, team) = person(actor, "give feedback")?;
    let written = tag(&new.tag)?;
    let body = validate::text("body", &new.body, LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let tags = taxonomies::in_force(&txn, actor.org_id, TaxonomyList::FeedbackTags).await?;
    let mapped = tags.map(&written);
    check_subject(&txn, actor, new.subject_type, new.subject_id).await?;
    check_account(&txn, actor, new.account_id).await?;
    let now = Utc::now();
    let feedback = ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        author_id: Set(author_id),
        author_team: Set(team),
        subject_type: Set(new.subject_type),
        subject_id: Set(new.subject_id),
        tag: Set(mapped.value),
        written_tag: Set(written),
        tag_listed: Set(mapped.listed),
        sentiment: Set(new.sentiment),
        body: Set(body),
        account_id: Set(new.account_id),
        status: Set(FeedbackStatus::New),
        response: Set(None),
        responded_by: Set(None),
        responded_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let changes = Changes::new()
        .created("subjectType", &feedback.subject_type)
        .created("subjectId", &feedback.subject_id)
        .created("tag", &feedback.tag)
        .created("writtenTag", &feedback.written_tag)
        .created("sentiment", &feedback.sentiment)
        .created("accountId", &feedback.account_id);
    audit::record(&txn, actor, "feedback.create", "feedback", Some(feedback.id), changes).await?;
    let payload =
        json!({ "subjectType": feedback.subject_type, "subjectId": feedback.subject_id, "tag": feedback.tag });
    outbox::publish(&txn, actor, "feedback.submitted", "feedback", Some(feedback.id), payload).await?;
    txn.commit().await?;
    Ok(feedback)
}

pub(crate) async fn find(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    crate::db::find_in_org::<Entity>(db, actor.org_id, id, "feedback").await
}

/// Whether `user` backed the feedback `id`.
pub async fn endorsed_by(db: &impl ConnectionTrait, id: Uuid, user: Uuid) -> Result<bool> {
    let found = endorsement::Entity::find()
        .filter(endorsement::Column::FeedbackId.eq(id))
        .filter(endorsement::Column::UserId.eq(user))
        .count(db)
        .await?;
    Ok(found > 0)
}

/// One piece of feedback; another organization's is NOT_FOUND.
pub async fn get(db: &impl ConnectionTrait, actor: &Actor, id: Uuid) -> Result<Model> {
    require(can_read(actor, Scope::ContentRead), "read feedback")?;
    find(db, actor, id).await
}

/// Back someone else's feedback, once. Repeating is CONFLICT — guaranteed by the
/// unique index on (feedback_id, user_id) even for concurrent requests.
#[tracing::instrument(skip(db, actor, comment), fields(org = %actor.org_id))]
pub async fn endorse(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    feedback_id: Uuid,
    account_id: Option<Uuid>,
    comment: Option<String>,
) -> Result<(Model, endorsement::Model)> {
    require(can_give_signal(actor), "endorse feedback")?;
    let (user_id, team) = person(actor, "endorse feedback")?;
    let comment = validate::optional_text("comment", comment.as_deref(), LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let feedback = find(&txn, actor, feedback_id).await?;
    if feedback.author_id == user_id {
        return Err(ApiError::forbidden("you may not endorse your own feedback"));
    }
    check_account(&txn, actor, account_id).await?;
    let already = endorsement::Entity::find()
        .filter(endorsement::Column::FeedbackId.eq(feedback_id))
        .filter(endorsement::Column::UserId.eq(user_id))
        .count(&txn)
        .await?;
    if already > 0 {
        return Err(ApiError::Conflict("you endorsed this feedback already".into()));
    }
    let inserted = endorsement::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(actor.org_id),
        feedback_id: Set(feedback_id),
        user_id: Set(user_id),
        team: Set(team),
        account_id: Set(account_id),
        comment: Set(comment),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| match ApiError::from(e) {
        ApiError::Conflict(_) => ApiError::Conflict("you endorsed this feedback already".into()),
        other => other,
    })?;
    let changes = Changes::new().created("userId", &user_id).created("accountId", &account_id);
    audit::record(&txn, actor, "feedback.endorse", "feedback", Some(feedback_id), changes).await?;
    let payload = json!({ "endorsementId": inserted.id, "userId": user_id, "accountId": account_id, "authorId": feedback.author_id });
    outbox::publish(&txn, actor, "feedback.endorsed", "feedback", Some(feedback_id), payload).await?;
    txn.commit().await?;
    Ok((feedback, inserted))
}

/// Who answers feedback on this subject (see [`FeedbackOwner`]).
pub async fn owner(db: &impl ConnectionTrait, feedback: &Model) -> Result<FeedbackOwner> {
    Ok(match feedback.subject_type {
        FeedbackSubject::Lead => FeedbackOwner::Team(Team::Sales),
        FeedbackSubject::Message
        | FeedbackSubject::ContentAsset
        | FeedbackSubject::Persona
        | FeedbackSubject::Icp
        | FeedbackSubject::ScoringModel
        | FeedbackSubject::Definition => FeedbackOwner::Team(Team::Marketing),
        FeedbackSubject::General => FeedbackOwner::AnyManager,
        FeedbackSubject::Sla => {
            let ids: Vec<Uuid> = feedback.subject_id.into_iter().collect();
            let docs = agreements::get_many::<SlaBody>(db, feedback.org_id, &ids).await?;
            docs.first()
                .and_then(|d| d.in_force().or_else(|| d.latest()))
                .map(|v| FeedbackOwner::Team(v.body.provider_team))
                .unwrap_or(FeedbackOwner::AnyManager)
        }
    })
}

/// May the status go from `from` to `to`?
pub fn allowed(from: FeedbackStatus, to: FeedbackStatus) -> bool {
    use FeedbackStatus::*;
    matches!((from, to), (New, UnderReview) | (UnderReview, Accepted) | (UnderReview, Declined) | (Accepted, Done))
}

/// The statuses feedback in `from` may go to, in workflow order.
pub fn next_statuses(from: FeedbackStatus) -> Vec<FeedbackStatus> {
    use sea_orm::Iterable;
    FeedbackStatus::iter().filter(|&to| allowed(from, to)).collect()
}

/// Move feedback along its workflow (the subject's owning team, or an ADMIN).
/// Declining needs a response. The outbox event names whom to notify: the author
/// and every endorser.
#[tracing::instrument(skip(db, actor, response), fields(org = %actor.org_id))]
pub async fn set_status(
    db: &impl crate::db::Transactions,
    actor: &Actor,
    id: Uuid,
    status: FeedbackStatus,
    response: Option<String>,
    expected_version: Option<i32>,
) -> Result<Model> {
    let response = validate::optional_text("response", response.as_deref(), LONG)?;
    let txn = crate::db::begin_write(db).await?;
    let current = Entity::find_by_id(id)
        .filter(Column::OrgId.eq(actor.org_id))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("feedback"))?;
    require(can_set_feedback_status(actor, owner(&txn, &current).await?), "answer feedback on this subject")?;
    check_version(expected_version, current.version)?;
    if !allowed(current.status, status) {
        let next = next_statuses(current.status);
        return Err(ApiError::Conflict(validate::refused_move("feedback", "go", current.status, status, &next)));
    }
    if status == FeedbackStatus::Declined && response.is_none() {
        return Err(ApiError::bad_input("response", "say why when declining feedback"));
    }
    let now = Utc::now();
    let mut model: ActiveModel = current.clone().into();
    model.status = Set(status);
    if response.is_some() {
        model.response = Set(response.clone());
        model.responded_by = Set(actor.user_id());
        model.responded_at = Set(Some(now));
    }
    model.updated_at = Set(now);
    let updated = save_versioned(&txn, id, current.version, model).await?;
    let endorsers: Vec<Uuid> = endorsement::Entity::find()
        .select_only()
        .column(endorsement::Column::UserId)
        .filter(endorsement::Column::FeedbackId.eq(id))
        .order_by_asc(endorsement::Column::CreatedAt)
        .into_tuple()
        .all(&txn)
        .await?;
    let changes = Changes::new().field("status", Some(&current.status), Some(&status)).field(
        "response",
        current.response.as_ref(),
        updated.response.as_ref(),
    );
    audit::record(&txn, actor, "feedback.setStatus", "feedback", Some(id), changes).await?;
    let notify: Vec<Uuid> = std::iter::once(current.author_id).chain(endorsers.iter().copied()).collect();
    let payload = json!({
        "from": current.status, "to": status, "response": updated.response,
        "authorId": current.author_id, "endorserIds": endorsers, "notify": notify,
    });
    outbox::publish(&txn, actor, "feedback.statusChanged", "feedback", Some(id), payload).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Which feedback to list; all given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct FeedbackCriteria {
    pub status: Option<FeedbackStatus>,
    pub subject_type: Option<FeedbackSubject>,
    pub subject_id: Option<Uuid>,
    pub tag: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub author_id: Option<Uuid>,
}

/// A page of feedback, newest first.
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    criteria: &FeedbackCriteria,
    window: &Window<Uuid>,
    count: bool,
) -> Result<Page<Model>> {
    require(can_read(actor, Scope::ContentRead), "read feedback")?;
    let mut select = Entity::find().filter(Column::OrgId.eq(actor.org_id));
    if let Some(status) = criteria.status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some(subject_type) = criteria.subject_type {
        select = select.filter(Column::SubjectType.eq(subject_type));
    }
    if let Some(subject_id) = criteria.subject_id {
        select = select.filter(Column::SubjectId.eq(subject_id));
    }
    if let Some(tag) = criteria.tag.as_deref() {
        let tags = taxonomies::in_force(db, actor.org_id, TaxonomyList::FeedbackTags).await?;
        select = select.filter(Column::Tag.eq(tags.map(&normalise_tag(tag)).value));
    }
    if let Some(sentiment) = criteria.sentiment {
        select = select.filter(Column::Sentiment.eq(sentiment));
    }
    if let Some(author_id) = criteria.author_id {
        select = select.filter(Column::AuthorId.eq(author_id));
    }
    fetch_page(db, select, Column::Id, Direction::Descending, window, count).await
}

/// The caller's own feedback, newest first (at most 200), with the responses.
pub async fn mine(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<Model>> {
    let Some(user_id) = actor.user_id() else { return Ok(Vec::new()) };
    Ok(Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::AuthorId.eq(user_id))
        .order_by_desc(Column::Id)
        .limit(200)
        .all(db)
        .await?)
}

/// Feedback grouped by subject and tag, with the combined signal.
#[derive(Debug, Clone)]
pub struct Theme {
    pub subject_type: FeedbackSubject,
    pub subject_id: Option<Uuid>,
    pub tag: String,
    /// Whether the agreed tag list knows the tag; `None` while none is agreed.
    pub listed: Option<bool>,
    /// The tags as written that the theme gathers, sorted.
    pub written_tags: Vec<String>,
    pub items: Vec<Model>,
    pub signal: Signal,
    pub negative: usize,
}

/// Themes of the feedback given in `[from, to)`: most actionable first (actionable,
/// then distinct reporters, accounts and items).
#[tracing::instrument(skip(db, actor), fields(org = %actor.org_id))]
pub async fn themes(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Theme>> {
    require(can_read(actor, Scope::ContentRead), "read feedback")?;
    if from >= to {
        return Err(ApiError::bad_input("to", "must be after `from`"));
    }
    let thresholds = thresholds(db, actor.org_id).await?;
    let items = Entity::find()
        .filter(Column::OrgId.eq(actor.org_id))
        .filter(Column::CreatedAt.gte(from))
        .filter(Column::CreatedAt.lt(to))
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let endorsements = endorsement::Entity::find()
        .filter(endorsement::Column::OrgId.eq(actor.org_id))
        .filter(endorsement::Column::FeedbackId.is_in(items.iter().map(|i| i.id)))
        .all(db)
        .await?;
    let mut groups: BTreeMap<(FeedbackSubject, Option<Uuid>, String), Vec<Model>> = BTreeMap::new();
    for item in items {
        groups.entry((item.subject_type, item.subject_id, item.tag.clone())).or_default().push(item);
    }
    let mut themes: Vec<Theme> = groups
        .into_iter()
        .map(|((subject_type, subject_id, tag), items)| {
            let ids: HashSet<Uuid> = items.iter().map(|i| i.id).collect();
            let signal = signal(&items, endorsements.iter().filter(|e| ids.contains(&e.feedback_id)), thresholds);
            let negative = items.iter().filter(|i| i.sentiment == Sentiment::Negative).count();
            let listed = items.iter().find_map(|i| i.tag_listed);
            let written_tags: BTreeSet<String> = items.iter().map(|i| i.written_tag.clone()).collect();
            let written_tags = written_tags.into_iter().collect();
            Theme { subject_type, subject_id, tag, listed, written_tags, items, signal, negative }
        })
        .collect();
    themes.sort_by(|a, b| {
        b.signal
            .actionable
            .cmp(&a.signal.actionable)
            .then(b.signal.reporters.cmp(&a.signal.reporters))
            .then(b.signal.accounts.cmp(&a.signal.accounts))
            .then(b.items.len().cmp(&a.items.len()))
            .then(a.tag.cmp(&b.tag))
    });
    Ok(themes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_lower_case_with_one_hyphen_between_words() {
        for (given, stored) in [
            ("pricing", "pricing"),
            ("  Pricing Too_High ", "pricing-too-high"),
            ("pricing__too   high", "pricing-too-high"),
            ("pricing--too-high-", "pricing-too-high"),
            ("Straße  Nord", "straße-nord"),
        ] {
            assert_eq!(tag(given).unwrap(), stored, "{given:?}");
        }
        for bad in [" ", "_-_", &"x".repeat(TAG_MAX + 1)] {
            assert!(matches!(tag(bad), Err(ApiError::BadUserInput { .. })), "{bad:?}");
        }
    }

    fn item(author: Uuid, team: Team, account: Option<Uuid>) -> Model {
        let now = Utc::now();
        Model {
            id: Uuid::now_v7(),
            org_id: Uuid::nil(),
            author_id: author,
            author_team: team,
            subject_type: FeedbackSubject::General,
            subject_id: None,
            tag: "pricing".into(),
            written_tag: "pricing".into(),
            tag_listed: None,
            sentiment: Sentiment::Negative,
            body: "too expensive".into(),
            account_id: account,
            status: FeedbackStatus::New,
            response: None,
            responded_by: None,
            responded_at: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn endorsement(user: Uuid, team: Team, account: Option<Uuid>) -> endorsement::Model {
        endorsement::Model {
            id: Uuid::now_v7(),
            org_id: Uuid::nil(),
            feedback_id: Uuid::nil(),
            user_id: user,
            team,
            account_id: account,
            comment: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn one_loud_voice_is_not_actionable_but_three_people_or_two_accounts_are() {
        let t = Thresholds { people: 3, accounts: 2 };
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let fb = item(a, Team::Sales, None);
        let loud = [item(a, Team::Sales, None), item(a, Team::Sales, None)];
        assert_eq!(signal(&loud, [], t).reporters, 1);
        assert!(!signal(&loud, [], t).actionable);
        let two = [endorsement(b, Team::Marketing, None)];
        assert!(!signal([&fb], &two, t).actionable);
        let three = [endorsement(b, Team::Marketing, None), endorsement(c, Team::Sales, None)];
        let s = signal([&fb], &three, t);
        assert_eq!((s.reporters, s.teams, s.endorsements, s.actionable), (3, 2, 2, true));
        let accounts = [endorsement(b, Team::Sales, Some(Uuid::now_v7()))];
        let fb_with_account = item(a, Team::Sales, Some(Uuid::now_v7()));
        assert!(signal([&fb_with_account], &accounts, t).actionable);
        assert!(!signal([&fb_with_account], &accounts, Thresholds { people: 3, accounts: 0 }).actionable);
        // One rep naming two accounts in two items is still one voice.
        let alone = [item(a, Team::Sales, Some(Uuid::now_v7())), item(a, Team::Sales, Some(Uuid::now_v7()))];
        let s = signal(&alone, [], t);
        assert_eq!((s.reporters, s.accounts, s.actionable), (1, 2, false));
        assert!(!signal([&fb], [], Thresholds { people: 1, accounts: 0 }).actionable);
    }

    #[test]
    fn the_workflow_only_moves_forward() {
        use FeedbackStatus::*;
        assert!(allowed(New, UnderReview));
        assert!(allowed(UnderReview, Declined));
        assert!(allowed(Accepted, Done));
        assert!(!allowed(New, Accepted));
        assert!(!allowed(Declined, Done));
        assert!(!allowed(Done, New));
    }
}
