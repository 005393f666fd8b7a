//! GraphQL side of a person's data on request (`privacy`).

use async_graphql::{Context, ID, InputObject, Json, Object};

use crate::error::Result;
use crate::graphql::{actor, db, parse_id};
use crate::leads::graphql::LeadPayload;

/// Whom to erase, and why.
#[derive(InputObject)]
pub struct EraseLeadInput {
    /// The lead whose person asked to be erased.
    pub id: ID,
    /// Why, such as `GDPR Art. 17 request of 2026-12-01`: 1 to 500 characters, kept in
    /// the audit log; name no personal data here.
    pub reason: String,
}

#[derive(Default)]
pub struct PrivacyQuery;

#[Object]
impl PrivacyQuery {
    /// Everything stored about the person of a lead's e-mail address (ADMINs), for their
    /// access request: one JSON document with the lead, its score, stage history,
    /// engagement events, activities, handovers, feedback about it and its
    /// endorsements, content usage, deals, and the audit entries, outbox events and
    /// webhook deliveries about these, each row as stored (at most 10,000 rows of a
    /// kind; a longer list has `<kind>Truncated: true`). NOT_FOUND when no lead has it.
    async fn export_person(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The person's e-mail address (any case).")] email: String,
    ) -> Result<Json<serde_json::Value>> {
        Ok(Json(crate::privacy::export_person(db(ctx), actor(ctx)?, &email).await?))
    }
}

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erase the person behind a lead (ADMINs), on their request. Removes the e-mail
    /// (it becomes `erased+<id>@erased.invalid`), names, phone and external id, the
    /// engagement properties, activity notes, handover notes, feedback on the lead, and
    /// every copy of the person's data in audit values, outbox payloads and webhook
    /// delivery logs (`erased`). Keeps the anonymous facts (stage, score, dates,
    /// owners, account), so every KPI stays the same. Audited with the reason only.
    /// Another organization's lead is NOT_FOUND.
    async fn erase_lead(&self, ctx: &Context<'_>, input: EraseLeadInput) -> Result<LeadPayload> {
        let id = parse_id("id", &input.id)?;
        let lead = crate::privacy::erase_lead(db(ctx), actor(ctx)?, id, &input.reason).await?;
        Ok(LeadPayload { lead: lead.into() })
    }
}
