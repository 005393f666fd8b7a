//! Statements whose text depends on a few flags (their shape), not on their inputs:
//! built by sea-query once per shape, then only their values are filled in. Building a
//! lead detail's statement with sea-query on every request was a tenth of its server
//! instructions (bench/RESULTS.md, 2026-12-06).
//!
//! A template is made by building the statement with stand-in inputs, each a value no
//! statement holds otherwise, and noting where each one landed among the statement's
//! values. A builder must therefore put each input into the statement as it is (compute
//! `limit + 1` before, not inside), and choose its text from the shape alone.

use std::collections::HashMap;
use std::hash::Hash;
use std::mem::{Discriminant, discriminant};
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::sea_query::Values;
use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

/// The templates of one statement builder, by shape. A shape may follow a client's
/// selection (which columns it shows), so at most [`MAX_SHAPES`] are remembered; a
/// statement of any other shape is built as it comes.
pub struct Templates<K>(Mutex<HashMap<Key<K>, Arc<Template>>>);

/// How many shapes one builder remembers: far more than clients' real selections use.
pub const MAX_SHAPES: usize = 256;

/// A shape on one backend.
type Key<K> = (K, Discriminant<DbBackend>);

impl<K> Default for Templates<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

/// A statement's text, and for each of its values the input it takes or a constant.
#[derive(Debug)]
struct Template {
    sql: String,
    slots: Vec<Slot>,
}

#[derive(Debug)]
enum Slot {
    Input(usize),
    Constant(Value),
}

impl<K: Hash + Eq + Copy> Templates<K> {
    /// The statement `build` gives for `inputs` on `backend`: `build` runs once per
    /// `shape` and backend, with stand-ins for the inputs.
    pub fn statement<const N: usize>(
        &self,
        shape: K,
        backend: DbBackend,
        inputs: [Value; N],
        build: impl FnOnce([Value; N]) -> Statement,
    ) -> Statement {
        let key = (shape, discriminant(&backend));
        let (remembered, full) = {
            let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            (map.get(&key).cloned(), map.len() >= MAX_SHAPES)
        };
        let template = match remembered {
            Some(template) => template,
            None if full => return build(inputs),
            None => {
                let stand_ins: [Value; N] = std::array::from_fn(|i| stand_in(&inputs[i], i));
                let template = Arc::new(Template::of(build(stand_ins.clone()), &stand_ins));
                let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                map.entry(key).or_insert(template).clone()
            }
        };
        template.fill(backend, inputs)
    }
}

impl Template {
    fn of(statement: Statement, stand_ins: &[Value]) -> Self {
        let values = statement.values.map(|v| v.0).unwrap_or_default();
        let slots = values
            .into_iter()
            .map(|value| match stand_ins.iter().position(|s| *s == value) {
                Some(i) => Slot::Input(i),
                None => Slot::Constant(value),
            })
            .collect();
        Self { sql: statement.sql, slots }
    }

    fn fill<const N: usize>(&self, backend: DbBackend, inputs: [Value; N]) -> Statement {
        let values = self
            .slots
            .iter()
            .map(|slot| match slot {
                Slot::Input(i) => inputs[*i].clone(),
                Slot::Constant(value) => value.clone(),
            })
            .collect();
        Statement { sql: self.sql.clone(), values: Some(Values(values)), db_backend: backend }
    }
}

/// A value of `input`'s type that no statement holds but as input `index`.
fn stand_in(input: &Value, index: usize) -> Value {
    // Odd, large and distinct per input: neither a constant of a statement nor another input.
    let n = 0x5EED_0000_0000_0001_u64 + 2 * index as u64;
    match input {
        Value::Uuid(_) => Value::Uuid(Some(Uuid::from_u64_pair(n, n))),
        Value::BigUnsigned(_) => Value::BigUnsigned(Some(n)),
        Value::BigInt(_) => Value::BigInt(Some(n as i64)),
        Value::String(_) => Value::String(Some(format!("\u{1}stand-in {n}"))),
        other => panic!("no stand-in for a template input of {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, PostgresQueryBuilder, Query};

    fn build([org, limit]: [Value; 2], named: bool) -> Statement {
        let (sql, values) = Query::select()
            .column(Alias::new(if named { "name" } else { "id" }))
            .from(Alias::new("t"))
            .and_where(Expr::col(Alias::new("org")).eq(org.clone()))
            .and_where(Expr::col(Alias::new("kind")).eq("fixed"))
            .and_where(Expr::col(Alias::new("again")).eq(org))
            .limit(match limit {
                Value::BigUnsigned(Some(n)) => n,
                _ => unreachable!(),
            })
            .build(PostgresQueryBuilder);
        Statement { sql, values: Some(values), db_backend: DbBackend::Postgres }
    }

    /// Filled in, a template gives what building gives, for every shape; its builder
    /// runs once per shape.
    #[test]
    fn a_filled_template_is_the_built_statement() {
        let templates = Templates::<bool>::default();
        let built = std::cell::Cell::new(0);
        for (org, limit) in [(Uuid::now_v7(), 21_u64), (Uuid::now_v7(), 3)] {
            for named in [false, true] {
                let inputs = || [Value::from(org), Value::BigUnsigned(Some(limit))];
                let filled = templates.statement(named, DbBackend::Postgres, inputs(), |stand_ins| {
                    built.set(built.get() + 1);
                    build(stand_ins, named)
                });
                let direct = build(inputs(), named);
                assert_eq!((filled.sql, filled.values), (direct.sql, direct.values));
            }
        }
        assert_eq!(built.get(), 2, "once per shape");
    }

    /// Past [`MAX_SHAPES`] shapes a statement is built as it comes, and still right.
    #[test]
    fn shapes_past_the_bound_are_built_and_not_remembered() {
        let templates = Templates::<usize>::default();
        let org = Uuid::now_v7();
        let inputs = || [Value::from(org), Value::BigUnsigned(Some(7))];
        for shape in 0..MAX_SHAPES + 10 {
            let filled = templates.statement(shape, DbBackend::Postgres, inputs(), |v| build(v, shape % 2 == 0));
            let direct = build(inputs(), shape % 2 == 0);
            assert_eq!((filled.sql, filled.values), (direct.sql, direct.values));
        }
        assert_eq!(templates.0.lock().unwrap().len(), MAX_SHAPES);
    }
}
