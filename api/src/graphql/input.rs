//! Text a request sends, checked once for every field before anything runs: a NUL
//! byte (which PostgreSQL cannot store in text, and SQLite would store and truncate
//! on output) or a non-character is BAD_USER_INPUT naming where it was, on both
//! databases alike. Lone surrogates never get this far: JSON and GraphQL parsing
//! refuse them.

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Value as ConstValue, Variables};

use crate::error::{ApiError, Result};
use crate::validate::is_forbidden_char as is_forbidden;

/// Refuse control characters other than tab and line breaks, and Unicode
/// non-characters, in the variables.
pub fn check_variables(variables: &Variables) -> Result<()> {
    for (name, value) in variables.iter() {
        check_const(&mut format!("variables.{name}"), value)?;
    }
    Ok(())
}

/// Refuse them in the document's argument literals: the same answer for every request
/// that sends the document (`parsed_queries::Known` remembers it).
pub fn check_literals(document: &ExecutableDocument) -> Result<()> {
    for (_, operation) in document.operations.iter() {
        check_set(&operation.node.selection_set.node)?;
    }
    for fragment in document.fragments.values() {
        check_set(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

fn refuse(path: &str) -> ApiError {
    ApiError::bad_input(path, "must not contain control characters (such as NUL) or Unicode non-characters")
}

fn check_const(path: &mut String, value: &ConstValue) -> Result<()> {
    match value {
        ConstValue::String(text) if text.chars().any(is_forbidden) => Err(refuse(path)),
        ConstValue::List(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                check_const(path, item)?;
                path.truncate(len);
            }
            Ok(())
        }
        ConstValue::Object(fields) => {
            for (name, item) in fields {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                check_const(path, item)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_set(set: &SelectionSet) -> Result<()> {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                for (name, value) in &field.node.arguments {
                    // Variables are checked on their own; here they stand in as null.
                    let literal = value.node.clone().into_const_with(|_| Ok::<_, ()>(ConstValue::Null));
                    if let Ok(literal) = literal {
                        check_const(&mut name.node.to_string(), &literal)?;
                    }
                }
                check_set(&field.node.selection_set.node)?;
            }
            Selection::InlineFragment(inline) => check_set(&inline.node.selection_set.node)?,
            // Fragments are checked once each, by `check_literals`.
            Selection::FragmentSpread(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both checks, in the order a request runs them (`http::admit`).
    fn check_text(document: &ExecutableDocument, variables: &Variables) -> Result<()> {
        check_variables(variables)?;
        check_literals(document)
    }

    #[test]
    fn nul_bytes_are_refused_where_they_are() {
        let document = async_graphql::parser::parse_query("{ me { name } }").unwrap();
        let variables = Variables::from_json(serde_json::json!({ "input": { "rows": [{ "firstName": "a\u{0}b" }] } }));
        let err = check_text(&document, &variables).unwrap_err();
        assert!(
            matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "variables.input.rows[0].firstName")
        );

        let document =
            async_graphql::parser::parse_query(r#"{ leads(filter: { search: "x\u0000" }) { totalCount } }"#).unwrap();
        let err = check_text(&document, &Variables::default()).unwrap_err();
        assert!(matches!(err, ApiError::BadUserInput { field: Some(f), .. } if f == "filter.search"));
    }

    #[test]
    fn ordinary_text_passes() {
        let document = async_graphql::parser::parse_query("{ me { name } }").unwrap();
        let variables = Variables::from_json(serde_json::json!({ "note": "Grüße\n\tan alle 👋" }));
        assert!(check_text(&document, &variables).is_ok());
        assert!(is_forbidden('\u{FFFE}') && is_forbidden('\u{1}') && !is_forbidden('é'));
    }
}
