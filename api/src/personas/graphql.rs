//! GraphQL types and resolvers of personas.

use async_graphql::{ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::Persona as PersonaBody;
use crate::agreements::graphql::{AgreementStatus, IdealCustomerProfile, agreed_document_types};
use crate::agreements::{self, DocumentCriteria};
use crate::error::Result;
use crate::graphql::patch::{apply, clearable_id, keep_or_set};
use crate::graphql::{actor, db, loaders, parse_id};

agreed_document_types!(
    Persona,
    PersonaVersion,
    PersonaBody,
    "A buyer persona agreed by sales and marketing, with every version.",
    "One version of a persona, with its approvals."
);

#[ComplexObject]
impl PersonaBody {
    /// Id of the ideal customer profile this persona belongs to; null for none.
    async fn icp_id(&self) -> Option<ID> {
        self.icp_id.map(Into::into)
    }

    /// The ideal customer profile this persona belongs to; null for none.
    async fn icp(&self, ctx: &Context<'_>) -> Result<Option<IdealCustomerProfile>> {
        let Some(id) = self.icp_id else { return Ok(None) };
        Ok(loaders(ctx)?.icps.load_one(id).await?.map(IdealCustomerProfile))
    }
}

/// Narrows the personas list. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct PersonaFilter {
    /// Only personas in this status.
    pub status: Option<AgreementStatus>,
    /// Only personas of this ideal customer profile (in their newest version).
    pub icp_id: Option<ID>,
    /// Case-insensitive text in the name or the newest body.
    pub search: Option<String>,
}

/// A new persona.
#[derive(InputObject)]
pub struct CreatePersonaInput {
    /// Name; unique within the organization.
    pub name: String,
    /// The ideal customer profile it belongs to.
    pub icp_id: Option<ID>,
    /// Words in a job title that point at this persona.
    #[graphql(default)]
    pub title_keywords: Vec<String>,
    /// What the persona wants to achieve.
    #[graphql(default)]
    pub goals: Vec<String>,
    /// What hurts today.
    #[graphql(default)]
    pub pains: Vec<String>,
    /// Objections sales hears.
    #[graphql(default)]
    pub objections: Vec<String>,
    /// Events that make the persona start buying.
    #[graphql(default)]
    pub buying_triggers: Vec<String>,
    /// Channels the persona prefers.
    #[graphql(default)]
    pub preferred_channels: Vec<String>,
    /// MARKETING only: propose at once instead of keeping a DRAFT. Other teams always propose.
    #[graphql(default)]
    pub propose: bool,
}

/// An edit of a persona: a new version, whose fields left out are those of the newest
/// version (the one you edited from). null detaches the persona from its ideal
/// customer profile and is BAD_USER_INPUT for the name and the lists (`[]` empties a list).
#[derive(InputObject)]
pub struct UpdatePersonaInput {
    /// The persona to edit.
    pub id: ID,
    /// The `version` you edited from; a newer stored version is CONFLICT.
    pub expected_version: Option<i32>,
    /// New name. Left out: unchanged. null is refused.
    pub name: MaybeUndefined<String>,
    /// New ideal customer profile. Left out: unchanged. null: cleared (the persona
    /// belongs to no profile).
    pub icp_id: MaybeUndefined<ID>,
    /// New title keywords (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub title_keywords: MaybeUndefined<Vec<String>>,
    /// New goals (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub goals: MaybeUndefined<Vec<String>>,
    /// New pains (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub pains: MaybeUndefined<Vec<String>>,
    /// New objections (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub objections: MaybeUndefined<Vec<String>>,
    /// New buying triggers (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub buying_triggers: MaybeUndefined<Vec<String>>,
    /// New preferred channels (the whole list). Left out: unchanged. null is refused; `[]` for none.
    pub preferred_channels: MaybeUndefined<Vec<String>>,
    /// MARKETING only, for a DRAFT: propose the new version at once.
    #[graphql(default)]
    pub propose: bool,
}

/// The result of creating or editing a persona.
#[derive(SimpleObject)]
pub struct PersonaPayload {
    /// The persona after the change.
    pub persona: Persona,
}

#[derive(Default)]
pub struct PersonaQuery;

#[Object]
impl PersonaQuery {
    /// Buyer personas, by name.
    async fn personas(&self, ctx: &Context<'_>, filter: Option<PersonaFilter>) -> Result<Vec<Persona>> {
        let filter = filter.unwrap_or_default();
        let icp = filter.icp_id.as_ref().map(|id| parse_id("filter.icpId", id)).transpose()?;
        let criteria =
            DocumentCriteria { statuses: filter.status.into_iter().map(Into::into).collect(), search: filter.search };
        let mut docs = agreements::list::<PersonaBody>(db(ctx), actor(ctx)?, &criteria).await?;
        if let Some(icp) = icp {
            docs.retain(|d| d.latest().is_some_and(|v| v.body.icp_id == Some(icp)));
        }
        Ok(docs.into_iter().map(Persona).collect())
    }

    /// One persona; null with NOT_FOUND when absent or of another organization.
    async fn persona(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Persona>> {
        let id = parse_id("id", &id)?;
        Ok(Some(Persona(agreements::get(db(ctx), actor(ctx)?, id).await?)))
    }
}

#[derive(Default)]
pub struct PersonaMutation;

#[Object]
impl PersonaMutation {
    /// Describe a buyer persona. MARKETING keeps a DRAFT (unless `propose`); other teams propose it at once.
    async fn create_persona(&self, ctx: &Context<'_>, input: CreatePersonaInput) -> Result<PersonaPayload> {
        let body = PersonaBody {
            name: input.name,
            icp_id: input.icp_id.as_ref().map(|id| parse_id("icpId", id)).transpose()?,
            title_keywords: input.title_keywords,
            goals: input.goals,
            pains: input.pains,
            objections: input.objections,
            buying_triggers: input.buying_triggers,
            preferred_channels: input.preferred_channels,
        };
        let doc = agreements::create(db(ctx), actor(ctx)?, body, input.propose).await?;
        Ok(PersonaPayload { persona: Persona(doc) })
    }

    /// Edit a persona: a new version (proposed when the persona is agreed; the agreed one stays in force).
    async fn update_persona(&self, ctx: &Context<'_>, input: UpdatePersonaInput) -> Result<PersonaPayload> {
        let id = parse_id("id", &input.id)?;
        let name = keep_or_set("name", input.name)?;
        let icp_id = clearable_id("icpId", input.icp_id)?;
        let title_keywords = keep_or_set("titleKeywords", input.title_keywords)?;
        let goals = keep_or_set("goals", input.goals)?;
        let pains = keep_or_set("pains", input.pains)?;
        let objections = keep_or_set("objections", input.objections)?;
        let buying_triggers = keep_or_set("buyingTriggers", input.buying_triggers)?;
        let preferred_channels = keep_or_set("preferredChannels", input.preferred_channels)?;
        let doc =
            agreements::update(db(ctx), actor(ctx)?, id, input.expected_version, input.propose, |b: PersonaBody| {
                Ok(PersonaBody {
                    name: name.unwrap_or(b.name),
                    icp_id: apply(b.icp_id, icp_id),
                    title_keywords: title_keywords.unwrap_or(b.title_keywords),
                    goals: goals.unwrap_or(b.goals),
                    pains: pains.unwrap_or(b.pains),
                    objections: objections.unwrap_or(b.objections),
                    buying_triggers: buying_triggers.unwrap_or(b.buying_triggers),
                    preferred_channels: preferred_channels.unwrap_or(b.preferred_channels),
                })
            })
            .await?;
        Ok(PersonaPayload { persona: Persona(doc) })
    }
}
