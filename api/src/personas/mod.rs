//! Buyer personas: agreed documents, through the one workflow of [`crate::agreements`].

pub mod graphql;
pub mod matching;

use async_graphql::SimpleObject;
use entity::DocumentKind;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::agreements::AgreedBody;
use crate::error::Result;
use crate::validate::{self, Wording};

/// The body of one version of a persona.
#[derive(SimpleObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(name = "PersonaBody", complex)]
#[serde(rename_all = "camelCase")]
pub struct Persona {
    /// Name, such as "Operations Olivia"; unique within the organization.
    pub name: String,
    /// The ideal customer profile this persona belongs to, if any.
    #[graphql(skip)]
    pub icp_id: Option<Uuid>,
    /// Words in a job title that point at this persona, such as "COO" or "Head of Operations".
    pub title_keywords: Vec<String>,
    /// What the persona wants to achieve.
    pub goals: Vec<String>,
    /// What hurts today.
    pub pains: Vec<String>,
    /// Objections sales hears, to prepare answers for.
    pub objections: Vec<String>,
    /// Events that make the persona start buying.
    pub buying_triggers: Vec<String>,
    /// Channels the persona prefers, such as "LinkedIn" or "events".
    pub preferred_channels: Vec<String>,
}

impl AgreedBody for Persona {
    const KIND: DocumentKind = DocumentKind::Persona;

    fn validate(self) -> Result<Self> {
        Ok(Self {
            name: validate::text_with("name", &self.name, 200, Wording::Range)?,
            icp_id: self.icp_id,
            title_keywords: validate::text_list("titleKeywords", self.title_keywords, 50, 100)?,
            goals: validate::text_list("goals", self.goals, 30, 500)?,
            pains: validate::text_list("pains", self.pains, 30, 500)?,
            objections: validate::text_list("objections", self.objections, 30, 500)?,
            buying_triggers: validate::text_list("buyingTriggers", self.buying_triggers, 30, 500)?,
            preferred_channels: validate::text_list("preferredChannels", self.preferred_channels, 20, 100)?,
        })
    }

    fn key(&self) -> String {
        self.name.trim().to_lowercase()
    }

    fn title(&self) -> String {
        self.name.clone()
    }

    fn references(&self) -> Vec<(&'static str, DocumentKind, Uuid)> {
        self.icp_id.map(|id| ("icpId", DocumentKind::IdealCustomerProfile, id)).into_iter().collect()
    }
}
