//! A small SQL text builder for the KPI queries: fragments with `?` placeholders
//! written in text order, numbered `$n` for PostgreSQL at the end. The few
//! expressions the two engines spell differently live here too.

use sea_orm::{DbBackend, Statement, Value};

/// SQL text and its bound values, in the order their `?` appear.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    pub text: String,
    pub values: Vec<Value>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append literal SQL (no placeholders).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Append a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.values.push(value.into());
        self
    }

    /// Append `(?, ?, …)` bound to `values`, for `IN`.
    pub fn list<V: Into<Value>>(&mut self, values: impl IntoIterator<Item = V>) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    /// Append another fragment with its values.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        self.text.push_str(&other.text);
        self.values.extend(other.values.iter().cloned());
        self
    }

    /// The statement for `backend`: `?` become `$1, $2, …` on PostgreSQL.
    pub fn build(&self, backend: DbBackend) -> Statement {
        let mut text = String::with_capacity(self.text.len() + 16);
        let mut n = 0;
        for c in self.text.chars() {
            if c == '?' {
                n += 1;
                text.push_str(&crate::db::dialect::placeholder(backend, n));
            } else {
                text.push(c);
            }
        }
        Statement::from_sql_and_values(backend, text, self.values.clone())
    }
}

/// The `q = a / b` quantile (linearly interpolated, as [`crate::handover::reports::quantile`])
/// of `num` over a CTE with `rn` (1-based row number in order of `num`) and `n` (rows
/// in the partition): an aggregate expression for a `GROUP BY` over the partition.
pub fn quantile(a: u32, b: u32) -> String {
    let low = format!("({a} * (n - 1)) / {b}");
    let low_value = format!("MAX(CASE WHEN rn - 1 = {low} THEN num END)");
    let high_value = format!("COALESCE(MAX(CASE WHEN rn - 1 = {low} + 1 THEN num END), {low_value})");
    let fraction = format!("MAX(({a} * (n - 1) - {b} * ({low})) * 1.0 / {b})");
    format!("CAST({low_value} + ({high_value} - {low_value}) * {fraction} AS DOUBLE PRECISION)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_in_text_order() {
        let mut sql = Sql::new();
        sql.push("SELECT 1 WHERE a = ").bind(1).push(" AND b = ").bind("x");
        assert_eq!(sql.build(DbBackend::Postgres).sql, "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(sql.build(DbBackend::Sqlite).sql, "SELECT 1 WHERE a = ? AND b = ?");
        assert_eq!(sql.values.len(), 2);
    }
}
