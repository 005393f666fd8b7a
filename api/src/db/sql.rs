//! A small builder for hand-written SQL (KPI queries, the KPI rollup, the seed): fixed
//! fragments and bound values. Placeholders are numbered by the position of each bound
//! value (`$1, $2…` on PostgreSQL, `?` on SQLite), never found by scanning the text, so
//! a literal or an operator holding `?` (such as jsonb's `?`) stays as written.

use std::borrow::Cow;

use sea_orm::{DbBackend, Statement, Value};

use super::dialect;

#[derive(Debug, Clone)]
enum Part {
    Text(Cow<'static, str>),
    Bound(Value),
}

/// SQL text and its bound values, in order.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a fixed SQL fragment; values go through [`bind`](Self::bind).
    pub fn push(&mut self, text: &'static str) -> &mut Self {
        self.parts.push(Part::Text(Cow::Borrowed(text)));
        self
    }

    /// Append SQL text that this program composed from its own fixed fragments, column
    /// names and [`dialect`] expressions. Never text from a request: values are bound.
    pub fn push_composed(&mut self, text: String) -> &mut Self {
        self.parts.push(Part::Text(Cow::Owned(text)));
        self
    }

    /// Append a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.parts.push(Part::Bound(value.into()));
        self
    }

    /// Append `(?, ?, …)` bound to `values`, for `IN`.
    pub fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    /// Append a sea-query SELECT with its values bound. It is rendered with SQLite's
    /// `?` placeholders, which sea-query writes for bound values only (identifiers are
    /// quoted, values never inlined), so splitting at `?` finds exactly the values.
    pub fn select(&mut self, select: &sea_orm::sea_query::SelectStatement) -> &mut Self {
        let (text, values) = select.build(sea_orm::sea_query::SqliteQueryBuilder);
        let mut values = values.into_iter();
        for (i, piece) in text.split('?').enumerate() {
            if i > 0 {
                self.parts.push(Part::Bound(values.next().unwrap_or(Value::Int(None))));
            }
            self.push_composed(piece.to_owned());
        }
        self
    }

    /// Append another fragment with its values.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.parts.extend(other.parts.iter().cloned());
        self
    }

    /// Nothing appended yet.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// How many values are bound.
    pub fn bound(&self) -> usize {
        self.parts.iter().filter(|p| matches!(p, Part::Bound(_))).count()
    }

    /// The statement for `backend`, each value's placeholder numbered in order.
    pub fn build(&self, backend: DbBackend) -> Statement {
        let mut text = String::new();
        let mut values = Vec::new();
        for part in &self.parts {
            match part {
                Part::Text(fragment) => text.push_str(fragment),
                Part::Bound(value) => {
                    values.push(value.clone());
                    text.push_str(&dialect::placeholder(backend, values.len()));
                }
            }
        }
        Statement::from_sql_and_values(backend, text, values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Sql {
        let mut sql = Sql::new();
        sql.push("SELECT 1 WHERE a = ").bind(1).push(" AND b IN ").list(["x", "y"]);
        sql
    }

    #[test]
    fn placeholders_are_numbered_in_order_on_postgres_and_left_as_question_marks_on_sqlite() {
        assert_eq!(example().build(DbBackend::Postgres).sql, "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(example().build(DbBackend::Sqlite).sql, "SELECT 1 WHERE a = ? AND b IN (?, ?)");
        assert_eq!(example().bound(), 3);
    }

    #[test]
    fn appended_fragments_continue_the_numbering() {
        let mut sql = example();
        sql.push(" AND c = ").bind(2).append(&example());
        let built = sql.build(DbBackend::Postgres);
        assert!(built.sql.ends_with("c = $4SELECT 1 WHERE a = $5 AND b IN ($6, $7)"), "{}", built.sql);
        assert_eq!(built.values.map(|v| v.0.len()), Some(7));
    }

    #[test]
    fn a_question_mark_in_a_literal_or_operator_survives() {
        let mut sql = Sql::new();
        sql.push("SELECT '?' AS q, payload ? 'key' FROM t WHERE id = ").bind(7);
        assert_eq!(sql.build(DbBackend::Postgres).sql, "SELECT '?' AS q, payload ? 'key' FROM t WHERE id = $1");
        assert_eq!(sql.build(DbBackend::Sqlite).sql, "SELECT '?' AS q, payload ? 'key' FROM t WHERE id = ?");
    }
}
