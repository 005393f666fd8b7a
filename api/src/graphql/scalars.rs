//! Custom scalars of the API.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// An amount in minor units of a currency, 64-bit-safe where GraphQL's `Int` is 32-bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinorUnits(pub i64);

/// An amount of money in minor units of its currency (cents for EUR and USD), as a JSON
/// integer: 1250 EUR-cents is €12.50. GraphQL's `Int` stops at 2,147,483,647 (€21.4M);
/// this scalar holds any integer from −9,007,199,254,740,991 to 9,007,199,254,740,991
/// (2^53 − 1), which every JSON parser, JavaScript's included, reads exactly; stored
/// amounts are at most 10^15. Inputs take a JSON integer (or a string of one); a
/// fraction or anything else is BAD_USER_INPUT, and each field states its range. Code
/// generators: map it to `number` in TypeScript (`scalars: { MinorUnits: 'number' }`),
/// `Long` in Kotlin and Java, `Int64` in Swift.
#[Scalar(name = "MinorUnits")]
impl ScalarType for MinorUnits {
    fn parse(value: Value) -> InputValueResult<Self> {
        let parsed = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        // Any 64-bit integer parses: the field's own range check names the field.
        parsed.map(Self).ok_or_else(|| {
            InputValueError::custom("MinorUnits is a whole number of minor units, such as 1250 for 12.50")
        })
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::Number(_) | Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::from(self.0)
    }
}

impl From<i64> for MinorUnits {
    fn from(n: i64) -> Self {
        Self(n)
    }
}

impl From<MinorUnits> for i64 {
    fn from(m: MinorUnits) -> Self {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_take_safe_integers_only() {
        let parse = |v: serde_json::Value| MinorUnits::parse(Value::from_json(v).unwrap()).ok();
        assert_eq!(parse(serde_json::json!(10_000_000_000i64)), Some(MinorUnits(10_000_000_000)));
        assert_eq!(parse(serde_json::json!("10000000000")), Some(MinorUnits(10_000_000_000)));
        assert_eq!(parse(serde_json::json!(-1)), Some(MinorUnits(-1)));
        assert_eq!(parse(serde_json::json!(i64::MAX)), Some(MinorUnits(i64::MAX)));
        assert_eq!(parse(serde_json::json!(12.5)), None);
        assert_eq!(parse(serde_json::json!("12.50")), None);
        assert_eq!(parse(serde_json::json!(true)), None);
    }
}
