//! Definitions: the shared glossary ("lead", "MQL", "sale", "profitable customer"),
//! each term agreed by sales and marketing. Optional structured criteria make a
//! definition machine-readable. The definition of a lifecycle stage (its term is the
//! stage's name, such as "MQL") is also the contract for entering that stage: who may
//! move a lead into it and what the lead must meet ([`StageCriteria`]).

use async_graphql::{Enum, Json, SimpleObject};
use entity::{DocumentKind, LifecycleStage};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AgreedBody;
use crate::error::{ApiError, Result};
use crate::validate::{self, Wording};

/// The body of one version of a definition.
#[derive(SimpleObject, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[graphql(name = "DefinitionBody")]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    /// The term defined, such as "MQL"; unique within the organization (case-insensitively).
    pub term: String,
    /// What the term means, in words both teams agreed to.
    pub body: String,
    /// Optional structured criteria, such as `{ "minScore": 60, "requiredFields": ["email"] }`.
    pub criteria: Option<Json<Value>>,
}

impl AgreedBody for Definition {
    const KIND: DocumentKind = DocumentKind::Definition;

    fn validate(self) -> Result<Self> {
        let criteria = match self.criteria {
            Some(Json(Value::Null)) | None => None,
            Some(Json(value @ Value::Object(_))) => Some(Json(value)),
            Some(_) => return Err(ApiError::bad_input("criteria", "must be a JSON object")),
        };
        if criteria.as_ref().is_some_and(|c| c.0.to_string().len() > 20_000) {
            return Err(ApiError::bad_input("criteria", "must be at most 20,000 characters of JSON"));
        }
        if stage_of_term(&self.term).is_some() {
            StageCriteria::parse(criteria.as_ref().map(|c| &c.0))?;
        }
        Ok(Self {
            term: validate::text_with("term", &self.term, 100, Wording::Range)?,
            body: validate::text_with("body", &self.body, 10_000, Wording::Range)?,
            criteria,
        })
    }

    fn key(&self) -> String {
        term_key(&self.term)
    }

    fn title(&self) -> String {
        self.term.clone()
    }
}

/// How a term is looked up: trimmed and lower-cased, so "MQL" and "mql " are one term.
pub fn term_key(term: &str) -> String {
    term.trim().to_lowercase()
}

/// The lifecycle stage a term names ("MQL", "sql ", "Disqualified"), if any.
pub fn stage_of_term(term: &str) -> Option<LifecycleStage> {
    use sea_orm::Iterable;
    let key = term_key(term);
    LifecycleStage::iter().find(|stage| stage_key(*stage) == key)
}

/// The definition key of a stage's term: "mql" for MQL.
pub fn stage_key(stage: LifecycleStage) -> String {
    serde_json::to_value(stage).ok().and_then(|v| v.as_str().map(str::to_lowercase)).unwrap_or_default()
}

/// Who may move a lead into a stage: people by team or role, or one of Accord's own
/// paths (the scoring model, a handover's answer, a deal, recorded engagement).
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StageMover {
    /// A member, manager or admin of MARKETING moving the lead by hand (or importing it).
    Marketing,
    /// A member, manager or admin of SALES moving the lead by hand (or importing it).
    Sales,
    /// A member, manager or admin of SERVICE moving the lead by hand.
    Service,
    /// A member, manager or admin of REVOPS moving the lead by hand.
    Revops,
    /// A member, manager or admin of LEADERSHIP moving the lead by hand.
    Leadership,
    /// A MANAGER or ADMIN of any team.
    Managers,
    /// A person of the team that owns the lead in its current stage: MARKETING up to
    /// and including MQL (and RECYCLED), SALES from SAL on.
    OwningTeam,
    /// An API key with `LEADS_WRITE`, or the command line's import.
    Integrations,
    /// The agreed scoring model, when a lead's score reaches the MQL threshold.
    ScoringModel,
    /// Answering a handover: accepting makes the lead SAL, handing back RECYCLED.
    Handover,
    /// Opening, winning or losing an opportunity (OPPORTUNITY, CUSTOMER, RECYCLED).
    Deals,
    /// Recorded engagement: a NEW lead's first event makes it ENGAGED.
    Engagement,
}

/// The stage rights that apply while no agreed definition of the stage sets
/// `enteredBy`: MQL by marketing (its people and integrations, such as a marketing
/// automation platform) or the scoring model, SAL only by accepting a handover, SQL by sales, RECYCLED and DISQUALIFIED by the owning team or managers.
pub fn default_entered_by(stage: LifecycleStage) -> &'static [StageMover] {
    use StageMover::*;
    match stage {
        LifecycleStage::New => &[],
        LifecycleStage::Engaged => &[Marketing, Sales, Service, Revops, Leadership, Integrations, Engagement],
        LifecycleStage::Mql => &[Marketing, Integrations, ScoringModel],
        LifecycleStage::Sal => &[Handover],
        LifecycleStage::Sql => &[Sales],
        LifecycleStage::Opportunity | LifecycleStage::Customer => &[Sales, Deals],
        LifecycleStage::Recycled => &[OwningTeam, Managers, Handover, Deals],
        LifecycleStage::Disqualified => &[OwningTeam, Managers],
    }
}

/// A lead field a stage definition may require (`requiredFields`).
#[derive(Enum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LeadField {
    /// The lead's e-mail address (always present: listed for completeness).
    Email,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Job title.
    Title,
    /// Phone number.
    Phone,
    /// Where the lead came from.
    Source,
    /// The campaign that brought the lead.
    Campaign,
    /// The lead's company: its account ("company" and "account" in criteria).
    Company,
    /// The sales owner.
    Owner,
    /// The marketing owner.
    MarketingOwner,
    /// The buyer persona.
    Persona,
    /// The id in another system.
    ExternalId,
}

impl LeadField {
    const ALL: [LeadField; 12] = [
        LeadField::Email,
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::Title,
        LeadField::Phone,
        LeadField::Source,
        LeadField::Campaign,
        LeadField::Company,
        LeadField::Owner,
        LeadField::MarketingOwner,
        LeadField::Persona,
        LeadField::ExternalId,
    ];

    /// The field's name in criteria and messages: "firstName", "company".
    pub fn name(self) -> &'static str {
        match self {
            LeadField::Email => "email",
            LeadField::FirstName => "firstName",
            LeadField::LastName => "lastName",
            LeadField::Title => "title",
            LeadField::Phone => "phone",
            LeadField::Source => "source",
            LeadField::Campaign => "campaign",
            LeadField::Company => "company",
            LeadField::Owner => "owner",
            LeadField::MarketingOwner => "marketingOwner",
            LeadField::Persona => "persona",
            LeadField::ExternalId => "externalId",
        }
    }

    /// Read a name as criteria spell it: case, `_` and a trailing "id" do not matter
    /// ("first_name", "accountId" and "company" all work).
    fn parse(name: &str) -> Option<Self> {
        let squashed: String = name.chars().filter(|c| *c != '_' && *c != '-' && !c.is_whitespace()).collect();
        let squashed = squashed.to_lowercase();
        let squashed = match squashed.as_str() {
            "account" | "accountid" => "company",
            "externalid" => "externalid",
            other => other.strip_suffix("id").unwrap_or(other),
        };
        Self::ALL.into_iter().find(|f| f.name().to_lowercase() == squashed)
    }
}

/// What the definition of a stage asks of a lead entering it. Read from the
/// definition's `criteria`; the keys below are enforced, any other key is kept as
/// documentation (listed as not enforced).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageCriteria {
    /// `enteredBy`: who may move a lead into the stage; `None` keeps the defaults.
    pub entered_by: Option<Vec<StageMover>>,
    /// `minScore`: the lead's score must be at least this.
    pub min_score: Option<f64>,
    /// `requiredFields`: fields the lead must have.
    pub required_fields: Vec<LeadField>,
    /// `icpFit`: when true, the lead's account must fit an agreed ICP.
    pub icp_fit: bool,
    /// Keys of the criteria Accord does not enforce (such as `bant`), sorted.
    pub unenforced: Vec<String>,
}

impl StageCriteria {
    /// Read and check criteria; errors name `criteria.<key>`.
    pub fn parse(criteria: Option<&Value>) -> Result<Self> {
        let mut out = StageCriteria::default();
        let Some(Value::Object(map)) = criteria else { return Ok(out) };
        for (key, value) in map {
            match key.as_str() {
                "enteredBy" => {
                    let names = value.as_array().ok_or_else(|| {
                        ApiError::bad_input(
                            "criteria.enteredBy",
                            "must be a list such as [\"MARKETING\", \"SCORING_MODEL\"]",
                        )
                    })?;
                    let mut movers = Vec::new();
                    for name in names {
                        let mover: StageMover = serde_json::from_value(name.clone()).map_err(|_| {
                            ApiError::bad_input(
                                "criteria.enteredBy",
                                format!("{name} is not a stage mover; use {}", mover_names(&ALL_MOVERS)),
                            )
                        })?;
                        if !movers.contains(&mover) {
                            movers.push(mover);
                        }
                    }
                    out.entered_by = Some(movers);
                }
                "minScore" => {
                    let score =
                        value.as_f64().filter(|s| s.is_finite() && s.abs() <= 10_000_000.0).ok_or_else(|| {
                            ApiError::bad_input("criteria.minScore", "must be a number from -10,000,000 to 10,000,000")
                        })?;
                    out.min_score = Some(score);
                }
                "requiredFields" => {
                    let names = value.as_array().ok_or_else(|| {
                        ApiError::bad_input("criteria.requiredFields", "must be a list of field names")
                    })?;
                    for name in names {
                        let field = name.as_str().and_then(LeadField::parse).ok_or_else(|| {
                            let known: Vec<&str> = LeadField::ALL.iter().map(|f| f.name()).collect();
                            ApiError::bad_input(
                                "criteria.requiredFields",
                                format!("{name} is not a lead field; use {}", known.join(", ")),
                            )
                        })?;
                        if !out.required_fields.contains(&field) {
                            out.required_fields.push(field);
                        }
                    }
                }
                "icpFit" => {
                    out.icp_fit = value
                        .as_bool()
                        .ok_or_else(|| ApiError::bad_input("criteria.icpFit", "must be true or false"))?;
                }
                other => out.unenforced.push(other.to_owned()),
            }
        }
        out.unenforced.sort();
        Ok(out)
    }
}

const ALL_MOVERS: [StageMover; 12] = [
    StageMover::Marketing,
    StageMover::Sales,
    StageMover::Service,
    StageMover::Revops,
    StageMover::Leadership,
    StageMover::Managers,
    StageMover::OwningTeam,
    StageMover::Integrations,
    StageMover::ScoringModel,
    StageMover::Handover,
    StageMover::Deals,
    StageMover::Engagement,
];

/// "MARKETING or SCORING_MODEL", for messages.
pub fn mover_names(movers: &[StageMover]) -> String {
    let names: Vec<String> = movers.iter().map(|&m| crate::validate::public_name(m)).collect();
    if names.is_empty() { "nobody".to_owned() } else { crate::validate::either(&names) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stage_terms_are_recognised_whatever_their_case() {
        assert_eq!(stage_of_term(" mql "), Some(LifecycleStage::Mql));
        assert_eq!(stage_of_term("Disqualified"), Some(LifecycleStage::Disqualified));
        assert_eq!(stage_of_term("Sale"), None);
    }

    #[test]
    fn stage_criteria_read_the_enforced_keys_and_keep_the_rest() {
        let c = json!({ "minScore": 60, "requiredFields": ["email", "company", "first_name", "accountId"], "enteredBy": ["MARKETING", "SCORING_MODEL"], "bant": true, "icpFit": true });
        let parsed = StageCriteria::parse(Some(&c)).unwrap();
        assert_eq!(parsed.min_score, Some(60.0));
        assert_eq!(parsed.required_fields, vec![LeadField::Email, LeadField::Company, LeadField::FirstName]);
        assert_eq!(parsed.entered_by, Some(vec![StageMover::Marketing, StageMover::ScoringModel]));
        assert!(parsed.icp_fit);
        assert_eq!(parsed.unenforced, vec!["bant".to_owned()]);
        for (bad, field) in [
            (json!({ "minScore": "high" }), "criteria.minScore"),
            (json!({ "requiredFields": ["shoeSize"] }), "criteria.requiredFields"),
            (json!({ "enteredBy": ["CEO"] }), "criteria.enteredBy"),
            (json!({ "icpFit": "yes" }), "criteria.icpFit"),
        ] {
            let err = StageCriteria::parse(Some(&bad)).unwrap_err();
            assert!(matches!(err, ApiError::BadUserInput { field: Some(ref f), .. } if f == field), "{bad}: {err:?}");
        }
        // Only a stage's definition is held to these keys.
        assert!(definition("MQL", Some(json!({ "minScore": "high" }))).validate().is_err());
        assert!(definition("Sale", Some(json!({ "minScore": "high" }))).validate().is_ok());
    }

    #[test]
    fn mover_lists_read_as_a_sentence() {
        assert_eq!(mover_names(&[StageMover::Handover]), "HANDOVER");
        assert_eq!(mover_names(default_entered_by(LifecycleStage::Mql)), "MARKETING, INTEGRATIONS or SCORING_MODEL");
        assert_eq!(mover_names(&[]), "nobody");
    }

    fn definition(term: &str, criteria: Option<Value>) -> Definition {
        Definition { term: term.into(), body: "A lead that …".into(), criteria: criteria.map(Json) }
    }

    #[test]
    fn terms_are_trimmed_and_keyed_case_insensitively() {
        let d = definition("  MQL ", None).validate().unwrap();
        assert_eq!((d.term.as_str(), d.key()), ("MQL", "mql".to_owned()));
        assert!(definition(" ", None).validate().is_err());
    }

    #[test]
    fn criteria_must_be_an_object() {
        assert!(definition("MQL", Some(json!({ "minScore": 60 }))).validate().is_ok());
        assert!(definition("MQL", Some(json!([1, 2]))).validate().is_err());
        assert_eq!(definition("MQL", Some(Value::Null)).validate().unwrap().criteria, None);
    }
}
