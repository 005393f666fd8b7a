//! A lead's persona, from its title or from a person's choice.
//!
//! Every write of a lead (create, update, import) matches its title against the
//! agreed personas ([`crate::personas::matching`]) unless a person chose the persona
//! (`persona_manual`): a manual choice sticks through title changes until it is
//! cleared (null), which returns the lead to matching. When a persona is agreed (a new
//! one, or a new version whose keywords may differ) or retired, [`rematch`] re-matches
//! every lead of the organization whose persona was not chosen by hand.

use std::collections::BTreeMap;

use chrono::Utc;
use entity::DocumentKind;
use entity::lead::{Column, Entity, Model};
use futures_util::future::BoxFuture;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value as Json;
use uuid::Uuid;

use super::{LeadValues, ScoreInputs, score_inputs_changed};
use crate::auth::Actor;
use crate::error::Result;
use crate::events::audit::{self, Changes};
use crate::personas::matching::{Candidate, Matcher, TitleMatch};

/// Leads one statement of [`rematch`] reads (and at most writes).
pub const BATCH: u64 = 1000;

/// What a lead stores about its persona.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub persona_id: Option<Uuid>,
    pub keyword: Option<String>,
    pub candidates: Option<Json>,
}

impl Assignment {
    /// The stored form of a title match.
    pub fn of(matched: TitleMatch) -> Self {
        match matched {
            TitleMatch::None => Self { persona_id: None, keyword: None, candidates: None },
            TitleMatch::Persona { persona_id, keyword } => {
                Self { persona_id: Some(persona_id), keyword: Some(keyword), candidates: None }
            }
            TitleMatch::Ambiguous(candidates) => Self {
                persona_id: None,
                keyword: candidates.first().map(|c| c.keyword.clone()),
                candidates: serde_json::to_value(&candidates).ok(),
            },
        }
    }
}

/// The candidates stored on a lead whose match is ambiguous (empty otherwise).
pub fn candidates(lead: &Model) -> Vec<Candidate> {
    lead.persona_candidates.clone().and_then(|c| serde_json::from_value(c).ok()).unwrap_or_default()
}

/// Set the persona of `values` from its title, unless a person chose it.
pub(crate) fn assign(values: &mut LeadValues, matcher: &Matcher) {
    if values.persona_manual {
        values.persona_keyword = None;
        values.persona_candidates = None;
        return;
    }
    let found = Assignment::of(matcher.match_title(values.title.as_deref()));
    values.persona_id = found.persona_id;
    values.persona_keyword = found.keyword;
    values.persona_candidates = found.candidates;
}

/// A lead's (id, title, persona id, keyword, candidates), as [`rematch`] reads them.
type StoredMatch = (Uuid, Option<String>, Option<Uuid>, Option<String>, Option<Json>);

/// Re-match every lead of the caller's organization whose persona no person chose,
/// against the personas agreed now, inside the caller's transaction; leads whose
/// persona changed are rescored. Returns how many leads changed.
///
/// In the approving transaction rather than a job: it reads only (id, title, match) in
/// id-ordered batches of [`BATCH`] and writes one UPDATE per distinct outcome per batch,
/// so 100,000 leads take seconds (about 10 s on SQLite, 25,000 of them moving: see the
/// ignored test in tests/e2e/personas.rs), and the persona is in force once agreed.
#[tracing::instrument(skip(txn, actor), fields(org = %actor.org_id))]
pub async fn rematch(txn: &DatabaseTransaction, actor: &Actor) -> Result<u64> {
    let matcher = Matcher::of_org(txn, actor.org_id).await?;
    let now = Utc::now();
    let (mut after, mut changed) = (None::<Uuid>, 0u64);
    loop {
        let mut select = Entity::find()
            .select_only()
            .columns([Column::Id, Column::Title, Column::PersonaId, Column::PersonaKeyword, Column::PersonaCandidates])
            .filter(Column::OrgId.eq(actor.org_id))
            .filter(Column::PersonaManual.eq(false))
            .order_by_asc(Column::Id)
            .limit(BATCH);
        if let Some(after) = after {
            select = select.filter(Column::Id.gt(after));
        }
        let rows: Vec<StoredMatch> = select.into_tuple().all(txn).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.0);
        let full = rows.len() as u64 == BATCH;
        // Leads by new outcome (keyed by its JSON form), and those whose persona moved.
        let mut outcomes: BTreeMap<String, (Assignment, Vec<Uuid>)> = BTreeMap::new();
        let mut moved = Vec::new();
        for (id, title, persona_id, keyword, candidates) in rows {
            let found = Assignment::of(matcher.match_title(title.as_deref()));
            if found.persona_id == persona_id && found.keyword == keyword && found.candidates == candidates {
                continue;
            }
            if found.persona_id != persona_id {
                moved.push(id);
            }
            let key = serde_json::json!([found.persona_id, found.keyword, found.candidates]).to_string();
            outcomes.entry(key).or_insert_with(|| (found, Vec::new())).1.push(id);
        }
        for (found, ids) in outcomes.into_values() {
            changed += ids.len() as u64;
            Entity::update_many()
                .col_expr(Column::PersonaId, Expr::value(found.persona_id))
                .col_expr(Column::PersonaKeyword, Expr::value(found.keyword))
                .col_expr(Column::PersonaCandidates, Expr::value(found.candidates))
                .col_expr(Column::Version, Expr::col(Column::Version).add(1))
                .col_expr(Column::UpdatedAt, Expr::value(now))
                .filter(Column::OrgId.eq(actor.org_id))
                .filter(Column::Id.is_in(ids))
                .exec(txn)
                .await?;
        }
        if !moved.is_empty() {
            // The persona is a score input (fit rules may test it).
            let leads = Entity::find()
                .filter(Column::OrgId.eq(actor.org_id))
                .filter(Column::Id.is_in(moved))
                .order_by_asc(Column::Id)
                .all(txn)
                .await?;
            score_inputs_changed(txn, actor, leads, ScoreInputs::Changed).await?;
        }
        if !full {
            break;
        }
    }
    if changed > 0 {
        let changes = Changes::new().created("leads", &changed);
        audit::record(txn, actor, "lead.rematchPersonas", "organization", Some(actor.org_id), changes).await?;
    }
    Ok(changed)
}

fn rematch_after_agreement<'a>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    _persona: Uuid,
    _version: i32,
    _confirmed: &'a crate::agreements::Confirmations,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move { rematch(txn, actor).await.map(|_| ()) })
}

fn rematch_after_retirement<'a>(
    txn: &'a DatabaseTransaction,
    actor: &'a Actor,
    _persona: Uuid,
    _retired_version: i32,
) -> BoxFuture<'a, Result<()>> {
    Box::pin(async move { rematch(txn, actor).await.map(|_| ()) })
}

inventory::submit! { crate::agreements::OnAgreed::effect(DocumentKind::Persona, rematch_after_agreement) }
inventory::submit! { crate::agreements::OnRetired::effect(DocumentKind::Persona, rematch_after_retirement) }
