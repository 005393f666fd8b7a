//! Input validation shared by every domain: text lengths and characters, number
//! ranges, money amounts, e-mails, domains and currencies. Each error names the
//! input field at fault.

use crate::error::{ApiError, Result};

/// Longest short text (names, titles, sources…).
pub const SHORT: usize = 200;
/// Longest long text (notes, reasons, bodies).
pub const LONG: usize = 10_000;

/// Largest money amount, in minor units (such as cents): 10^15, ten trillion in a
/// currency of cents, more than any company's yearly revenue, and well inside the
/// integers an `i64` and an `f64` hold exactly.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

/// Most employees a company may have: the largest employers have a few million.
pub const MAX_EMPLOYEES: i64 = 10_000_000;

/// How a required text of the wrong length is refused. Both wordings are already
/// published to clients, so each caller keeps the one it always had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    /// "must not be empty" or "must be at most `max` characters".
    Separate,
    /// "must be 1 to `max` characters" (agreed-document bodies, organization names).
    Range,
}

/// A required text: trimmed, 1..=`max` characters, no control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String> {
    text_with(field, value, max, Wording::Separate)
}

/// [`text`], refusing a wrong length in the given [`Wording`].
pub fn text_with(field: &str, value: &str, max: usize, wording: Wording) -> Result<String> {
    let value = value.trim();
    let (empty, long) = (value.is_empty(), value.chars().count() > max);
    match wording {
        Wording::Range if empty || long => {
            return Err(ApiError::bad_input(field, format!("must be 1 to {max} characters")));
        }
        Wording::Separate if empty => return Err(ApiError::bad_input(field, "must not be empty")),
        Wording::Separate if long => {
            return Err(ApiError::bad_input(field, format!("must be at most {max} characters")));
        }
        _ => {}
    }
    no_control_characters(field, value)?;
    Ok(value.to_owned())
}

/// A list of short texts: each entry trimmed, empty entries and case-insensitive
/// duplicates dropped (keeping order), at most `max_items` entries of at most
/// `max_len` characters.
pub fn text_list(field: &str, values: Vec<String>, max_items: usize, max_len: usize) -> Result<Vec<String>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for value in values {
        let value = value.trim().to_owned();
        if value.is_empty() || !seen.insert(value.to_lowercase()) {
            continue;
        }
        if value.chars().count() > max_len {
            return Err(ApiError::bad_input(field, format!("entries must be at most {max_len} characters")));
        }
        no_control_characters(field, &value)?;
        out.push(value);
    }
    if out.len() > max_items {
        return Err(ApiError::bad_input(field, format!("must have at most {max_items} entries")));
    }
    Ok(out)
}

/// True for characters no stored text may hold: control characters other than tab,
/// line feed and carriage return (PostgreSQL cannot store NUL at all; the rest only
/// ever arrive by mistake or to confuse whoever reads the value later), and Unicode
/// non-characters.
pub fn is_forbidden_char(c: char) -> bool {
    let code = c as u32;
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || (0xFDD0..=0xFDEF).contains(&code)
        || (code & 0xFFFE) == 0xFFFE
}

/// Refuse text holding a [forbidden character](is_forbidden_char).
pub fn no_control_characters(field: &str, value: &str) -> Result<()> {
    if value.chars().any(is_forbidden_char) {
        return Err(ApiError::bad_input(field, "must not contain control characters such as NUL"));
    }
    Ok(())
}

/// An optional text: trimmed, at most `max` characters, no control characters; empty becomes `None`.
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

/// A money amount in minor units: 0..=[`MAX_AMOUNT_MINOR`].
pub fn amount(field: &str, minor: i64) -> Result<i64> {
    int_range(field, minor, 0, MAX_AMOUNT_MINOR)
}

/// A whole number within `min..=max`; the error states the range.
pub fn int_range<T: Copy + Into<i64>>(field: &str, value: T, min: i64, max: i64) -> Result<T> {
    if !(min..=max).contains(&value.into()) {
        return Err(out_of_range(field, &grouped(min), &grouped(max)));
    }
    Ok(value)
}

/// A finite number within `min..=max` (never NaN nor infinite); the error states the range.
pub fn float_range(field: &str, value: f64, min: f64, max: f64) -> Result<f64> {
    if !value.is_finite() || value < min || value > max {
        return Err(out_of_range(field, &decimal(min), &decimal(max)));
    }
    Ok(value)
}

fn out_of_range(field: &str, min: &str, max: &str) -> ApiError {
    ApiError::bad_input(field, format!("must be between {min} and {max}"))
}

/// `n` with thousands separators from five digits on: `1440`, `10,080`, `-100,000`.
fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && digits.len() > 4 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A bound as people write it: whole numbers grouped (`1,000,000`), others as they are (`0.01`).
fn decimal(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() <= MAX_AMOUNT_MINOR as f64 { grouped(x as i64) } else { x.to_string() }
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

/// A role name `accord bi-role` and `ACCORD_BI_ROLE` accept: a lower-case SQL identifier (letters, digits
/// and `_`, not starting with a digit), at most 63 characters, and not reserved for
/// PostgreSQL (`pg_…`).
pub fn sql_role_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    first_ok
        && name.len() <= 63
        && !name.starts_with("pg_")
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The public (GraphQL) name of a stored enum value, such as `UNDER_REVIEW`: its serde
/// form, which every entity enum spells as its GraphQL value.
pub fn public_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Names joined for a sentence: "A", "A or B", "A, B or C".
pub fn either(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A refused move of a state machine, naming where it may go instead: "feedback cannot
/// go from NEW to DONE; from NEW it can go to UNDER_REVIEW", or "…; DONE is final".
pub fn refused_move<S: serde::Serialize + Copy>(what: &str, verb: &str, from: S, to: S, next: &[S]) -> String {
    let (from, to) = (public_name(from), public_name(to));
    let next: Vec<String> = next.iter().map(|&s| public_name(s)).collect();
    let instead = if next.is_empty() {
        format!("{from} is final")
    } else {
        format!("from {from} it can {verb} to {}", either(&next))
    };
    format!("{what} cannot {verb} from {from} to {to}; {instead}")
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
    fn each_wording_names_its_own_length_error() {
        assert_eq!(text("t", " ", 5).unwrap_err().to_string(), "must not be empty");
        assert_eq!(text("t", "abcdef", 5).unwrap_err().to_string(), "must be at most 5 characters");
        for bad in [" ", "abcdef"] {
            assert_eq!(text_with("t", bad, 5, Wording::Range).unwrap_err().to_string(), "must be 1 to 5 characters");
        }
        assert_eq!(text_with("t", " a ", 5, Wording::Range).unwrap(), "a");
        assert!(text_with("t", "a\0", 5, Wording::Range).is_err());
    }

    #[test]
    fn text_lists_are_trimmed_deduplicated_and_bounded() {
        let list = text_list("x", vec![" CFO ".into(), "cfo".into(), "".into(), "VP Sales".into()], 5, 20).unwrap();
        assert_eq!(list, ["CFO", "VP Sales"]);
        assert!(text_list("x", vec!["a".into(), "b".into()], 1, 20).is_err());
    }

    #[test]
    fn texts_refuse_nul_and_control_characters_but_keep_line_breaks_and_tabs() {
        for bad in ["a\0b", "a\u{1}b", "a\u{1b}[31mred", "\u{7}bell"] {
            let err = text("input.name", bad, 50).unwrap_err();
            assert!(
                matches!(&err, ApiError::BadUserInput { field: Some(f), message } if f == "input.name" && message.contains("NUL")),
                "{bad:?}: {err:?}"
            );
            assert!(optional_text("notes", Some(bad), 50).is_err(), "{bad:?}");
        }
        assert_eq!(text("t", "line one\r\nline\ttwo", 50).unwrap(), "line one\r\nline\ttwo");
        assert_eq!(text("t", "Zoë – 東京 🙂", 50).unwrap(), "Zoë – 東京 🙂");
    }

    #[test]
    fn whole_numbers_outside_their_range_name_the_range() {
        assert_eq!(int_range("days", 30, 1, 3650).unwrap(), 30);
        assert_eq!(int_range("n", 7_u32, 0, 10).unwrap(), 7);
        let err = int_range("days", 0, 1, 3650).unwrap_err();
        assert_eq!(err.to_string(), "must be between 1 and 3650");
        assert!(int_range("days", 3651, 1, 3650).is_err());
        assert_eq!(
            int_range("n", 20_000, -100_000, 10_080).unwrap_err().to_string(),
            "must be between -100,000 and 10,080"
        );
        assert!(int_range("n", -100_001, -100_000, 10_080).is_err());
    }

    #[test]
    fn fractional_numbers_must_be_finite_and_in_range() {
        assert_eq!(float_range("t", 0.5, 0.01, 1e6).unwrap(), 0.5);
        assert_eq!(float_range("t", 1e6, 0.01, 1e6).unwrap(), 1e6);
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308, 0.0, -1.0] {
            assert!(float_range("t", bad, 0.01, 1e6).is_err(), "{bad}");
        }
        assert_eq!(float_range("t", 0.0, 0.01, 1e6).unwrap_err().to_string(), "must be between 0.01 and 1,000,000");
    }

    #[test]
    fn amounts_are_bounded_money() {
        assert_eq!(amount("a", 0).unwrap(), 0);
        assert_eq!(amount("a", MAX_AMOUNT_MINOR).unwrap(), MAX_AMOUNT_MINOR);
        assert!(amount("a", -1).is_err());
        assert!(amount("a", MAX_AMOUNT_MINOR + 1).is_err());
        assert!(amount("a", i64::MAX).is_err());
        assert_eq!(amount("a", -1).unwrap_err().to_string(), "must be between 0 and 1,000,000,000,000,000");
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(like_pattern("50%_a"), "%50\\%\\_a%");
    }

    #[test]
    fn a_refused_move_names_the_allowed_next_states() {
        use entity::feedback::FeedbackStatus::*;
        assert_eq!(
            refused_move("feedback", "go", New, Done, &[UnderReview]),
            "feedback cannot go from NEW to DONE; from NEW it can go to UNDER_REVIEW"
        );
        assert_eq!(
            refused_move("feedback", "go", UnderReview, New, &[Accepted, Declined]),
            "feedback cannot go from UNDER_REVIEW to NEW; from UNDER_REVIEW it can go to ACCEPTED or DECLINED"
        );
        assert_eq!(
            refused_move("feedback", "go", Done, New, &[]),
            "feedback cannot go from DONE to NEW; DONE is final"
        );
        assert_eq!(either(&["A".into(), "B".into(), "C".into()]), "A, B or C");
    }
}
