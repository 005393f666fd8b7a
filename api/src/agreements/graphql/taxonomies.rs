//! GraphQL types and resolvers of agreed word lists (feedback tags, hand-back and
//! lost reasons, competitors).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use super::super::DocumentCriteria;
use super::super::taxonomies::{self as domain, Taxonomy as TaxonomyBody, TaxonomyEntry, TaxonomyList};
use super::agreed_document_types;
use crate::error::Result;
use crate::graphql::patch::keep_or_set;
use crate::graphql::{actor, db, parse_id};

agreed_document_types!(
    Taxonomy,
    TaxonomyVersion,
    TaxonomyBody,
    "An agreed word list (feedback tags, hand-back reasons, lost reasons or competitors), with every version. One per list.",
    "One version of a word list, with its approvals."
);

/// The body of one version of a word list.
#[Object(name = "TaxonomyBody")]
impl TaxonomyBody {
    /// Which list.
    async fn list(&self) -> TaxonomyList {
        self.list
    }

    /// The entries, in the order pickers show them.
    async fn entries(&self) -> Vec<TaxonomyEntryObject> {
        self.entries.iter().cloned().map(TaxonomyEntryObject).collect()
    }
}

/// One word of a list.
pub struct TaxonomyEntryObject(pub TaxonomyEntry);

/// One word of a list: what is stored (`code`), what people read (`label`), and the
/// other spellings that mean it.
#[Object(name = "TaxonomyEntry")]
impl TaxonomyEntryObject {
    /// What is stored and grouped by, in the list's spelling (`NO_BUDGET`, `pricing-too-high`).
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// What people read, such as "No budget".
    async fn label(&self) -> &str {
        &self.0.label
    }

    /// When to use it; null for none.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Other spellings that mean this entry (compared ignoring case, spaces, `-` and `_`).
    async fn synonyms(&self) -> &[String] {
        &self.0.synonyms
    }

    /// Using this entry needs a note saying more (such as OTHER).
    async fn needs_note(&self) -> bool {
        self.0.needs_note
    }

    /// Lost reasons: a deal lost for this reason must name the competitor.
    async fn needs_competitor(&self) -> bool {
        self.0.needs_competitor
    }
}

/// One word of a list, as written in a new version.
#[derive(InputObject)]
pub struct TaxonomyEntryInput {
    /// What is stored: 1–32 characters (64 for feedback tags), letters and digits in words;
    /// spelled the list's way on save (`no budget` becomes `NO_BUDGET`, a tag `no-budget`).
    pub code: String,
    /// What people read: 1–100 characters.
    pub label: String,
    /// When to use it: at most 500 characters.
    pub description: Option<String>,
    /// Other spellings that mean this entry: at most 50, each at most 64 characters; no
    /// spelling may mean two entries.
    #[graphql(default)]
    pub synonyms: Vec<String>,
    /// Reasons only: using this entry needs a note.
    #[graphql(default)]
    pub needs_note: bool,
    /// Lost reasons only: a deal lost for this reason must name the competitor.
    #[graphql(default)]
    pub needs_competitor: bool,
}

fn entries(input: Vec<TaxonomyEntryInput>) -> Result<Vec<TaxonomyEntry>> {
    if input.len() > domain::MAX_ENTRIES {
        let message = format!("must hold 1 to {} entries", domain::MAX_ENTRIES);
        return Err(crate::error::ApiError::bad_input("entries", message));
    }
    Ok(input
        .into_iter()
        .map(|e| TaxonomyEntry {
            code: e.code,
            label: e.label,
            description: e.description,
            synonyms: e.synonyms,
            needs_note: e.needs_note,
            needs_competitor: e.needs_competitor,
        })
        .collect())
}

/// A new word list (one per list: a second is CONFLICT; edit the first).
#[derive(InputObject)]
pub struct CreateTaxonomyInput {
    /// Which list.
    pub list: TaxonomyList,
    /// 1–200 entries.
    pub entries: Vec<TaxonomyEntryInput>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a word list: a new version with the whole list of entries.
#[derive(InputObject)]
pub struct UpdateTaxonomyInput {
    /// The list to edit.
    pub id: async_graphql::ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// The new entries (the whole list, 1–200). Left out: unchanged.
    pub entries: async_graphql::MaybeUndefined<Vec<TaxonomyEntryInput>>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a word list.
#[derive(SimpleObject)]
pub struct TaxonomyPayload {
    /// The list after the change.
    pub taxonomy: Taxonomy,
}

/// Where the entries of a list in force come from.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaxonomySource {
    /// The version agreed by the approving teams.
    Agreed,
    /// Accord's defaults, while no version is agreed (open lists have none: anything goes).
    Default,
}

/// A word list as it applies now: what pickers offer and writes are checked against.
pub struct TaxonomyInForce(pub domain::InForce);

/// A word list as it applies now: what pickers offer and writes are checked against.
#[Object]
impl TaxonomyInForce {
    /// Which list.
    async fn list(&self) -> TaxonomyList {
        self.0.list
    }

    /// AGREED, or DEFAULT while no version is agreed.
    async fn source(&self) -> TaxonomySource {
        if self.0.agreed.is_some() { TaxonomySource::Agreed } else { TaxonomySource::Default }
    }

    /// The agreed document; null while the defaults apply.
    async fn taxonomy_id(&self) -> Option<async_graphql::ID> {
        self.0.agreed.map(|(id, _)| id.into())
    }

    /// The agreed version in force; null while the defaults apply.
    async fn version(&self) -> Option<i32> {
        self.0.agreed.map(|(_, v)| v)
    }

    /// Closed lists (reasons) refuse any value not in `entries`; open lists (tags,
    /// competitors) keep an unknown value as written and mark it unlisted.
    async fn closed(&self) -> bool {
        self.0.list.is_closed()
    }

    /// The entries, in the order pickers show them; empty for an open list with no agreed version.
    async fn entries(&self) -> Vec<TaxonomyEntryObject> {
        self.0.entries.iter().cloned().map(TaxonomyEntryObject).collect()
    }
}

#[derive(Default)]
pub struct TaxonomyQuery;

#[Object]
impl TaxonomyQuery {
    /// Every word list document, by list.
    async fn taxonomies(&self, ctx: &Context<'_>) -> Result<Vec<Taxonomy>> {
        let docs = super::super::list::<TaxonomyBody>(db(ctx), actor(ctx)?, &DocumentCriteria::default()).await?;
        Ok(docs.into_iter().map(Taxonomy).collect())
    }

    /// A word list as it applies now: the agreed version, or the defaults while none is agreed.
    async fn taxonomy_in_force(&self, ctx: &Context<'_>, list: TaxonomyList) -> Result<TaxonomyInForce> {
        let actor = actor(ctx)?;
        crate::auth::permissions::require(
            crate::auth::permissions::can_read_agreements(actor),
            "read the alignment contract",
        )?;
        Ok(TaxonomyInForce(domain::in_force(db(ctx), actor.org_id, list).await?))
    }
}

#[derive(Default)]
pub struct TaxonomyMutation;

#[Object]
impl TaxonomyMutation {
    /// Write down a word list. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    async fn create_taxonomy(&self, ctx: &Context<'_>, input: CreateTaxonomyInput) -> Result<TaxonomyPayload> {
        let body = TaxonomyBody { list: input.list, entries: entries(input.entries)? };
        let doc = super::super::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(TaxonomyPayload { taxonomy: Taxonomy(doc) })
    }

    /// Edit a word list: a new version (proposed when the list is agreed; the agreed one
    /// stays in force until the new one is agreed).
    async fn update_taxonomy(&self, ctx: &Context<'_>, input: UpdateTaxonomyInput) -> Result<TaxonomyPayload> {
        let id = parse_id("id", &input.id)?;
        let new_entries = keep_or_set("entries", input.entries)?.map(entries).transpose()?;
        let doc =
            super::super::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: TaxonomyBody| {
                Ok(TaxonomyBody { list: b.list, entries: new_entries.unwrap_or(b.entries) })
            })
            .await?;
        Ok(TaxonomyPayload { taxonomy: Taxonomy(doc) })
    }
}
