//! Definitions: the shared glossary ("lead", "MQL", "sale", "profitable customer"),
//! each term agreed by sales and marketing. Optional structured criteria make a
//! definition machine-readable (such as the MQL score threshold).

use async_graphql::{Json, SimpleObject};
use entity::DocumentKind;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
