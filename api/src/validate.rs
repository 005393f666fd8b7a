//! Input validation shared by every domain: text lengths, e-mails, domains and
//! currencies. Each error names the input field at fault.

use crate::error::{ApiError, Result};

/// Longest short text (names, titles, sources…).
pub const SHORT: usize = 200;
/// Longest long text (notes, reasons, bodies).
pub const LONG: usize = 10_000;

/// A required text: trimmed, 1..=`max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::bad_input(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_input(field, format!("must be at most {max} characters")));
    }
    Ok(value.to_owned())
}

/// An optional text: trimmed, at most `max` characters; empty becomes `None`.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// A validated, lower-cased e-mail address.
pub fn email(field: &str, value: &str) -> Result<String> {
    let value = value.trim().to_lowercase();
    if value.len() > 254 || !email_address::EmailAddress::is_valid(&value) || !value.contains('.') {
        return Err(ApiError::bad_input(field, "is not a valid e-mail address"));
    }
    Ok(value)
}

/// A web domain, normalised: `https://www.Acme.com/` → `acme.com`.
pub fn domain(field: &str, value: &str) -> Result<String> {
    let mut value = value.trim().to_lowercase();
    for prefix in ["https://", "http://"] {
        if let Some(rest) = value.strip_prefix(prefix) {
            value = rest.to_owned();
        }
    }
    let value = value.split('/').next().unwrap_or_default();
    let value = value.strip_prefix("www.").unwrap_or(value).trim_end_matches('.').to_owned();
    let labels_ok = value.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if value.len() > 253 || !value.contains('.') || !labels_ok {
        return Err(ApiError::bad_input(field, "is not a valid domain such as acme.com"));
    }
    Ok(value)
}

/// An ISO-4217 currency code, upper-cased.
pub fn currency(field: &str, value: &str) -> Result<String> {
    let code = value.trim().to_uppercase();
    iso_currency::Currency::from_code(&code)
        .map(|c| c.code().to_owned())
        .ok_or_else(|| ApiError::bad_input(field, "is not an ISO-4217 currency code such as EUR"))
}

/// A money amount in minor units: never negative.
pub fn amount(field: &str, minor: i64) -> Result<i64> {
    if minor < 0 {
        return Err(ApiError::bad_input(field, "must not be negative"));
    }
    Ok(minor)
}

/// Escape `%`, `_` and `\` so user text matches literally in `LIKE`, lower-cased.
pub fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// `lower(column) LIKE pattern ESCAPE '\'`, the same on SQLite and PostgreSQL.
pub fn lower_like(column: impl sea_orm::sea_query::IntoColumnRef, pattern: &str) -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    Expr::expr(Func::lower(Expr::col(column))).like(LikeExpr::new(pattern).escape('\\'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalised() {
        assert_eq!(domain("d", "https://www.Acme.com/pricing").unwrap(), "acme.com");
        assert_eq!(domain("d", "sub.acme.co.uk").unwrap(), "sub.acme.co.uk");
        assert!(domain("d", "not a domain").is_err());
        assert!(domain("d", "localhost").is_err());
    }

    #[test]
    fn currencies_are_iso_codes() {
        assert_eq!(currency("c", "eur").unwrap(), "EUR");
        assert!(currency("c", "EURO").is_err());
        assert!(currency("c", "XYZ").is_err());
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("t", "  a ", 5).unwrap(), "a");
        assert!(text("t", "   ", 5).is_err());
        assert!(text("t", "abcdef", 5).is_err());
        assert_eq!(optional_text("t", Some("  "), 5).unwrap(), None);
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_pattern("50%_a"), "%50\\%\\_a%");
    }
}
