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

    /// The vendored async-graphql writes `DateTime` outputs by hand (a patch): the text
    /// must stay chrono's `to_rfc3339`, which clients parse.
    #[test]
    fn date_times_are_written_as_chrono_writes_them() {
        use chrono::{DateTime, NaiveDate, Utc};
        let at = |y: i32, nano: u32| {
            let naive = NaiveDate::from_ymd_opt(y, 12, 31).unwrap().and_hms_nano_opt(23, 59, 59, nano).unwrap();
            DateTime::<Utc>::from_naive_utc_and_offset(naive, Utc)
        };
        let mut cases = Vec::new();
        for year in [-1, 0, 1, 999, 1970, 2026, 9999, 10_000] {
            for nano in [0, 7, 1_000, 120_000, 5_000_000, 123_456_789, 999_999_999, 1_000_000_000, 1_500_000_000] {
                cases.push(at(year, nano));
            }
        }
        // Spread over years 1–9999 at every precision (a fixed linear congruential walk).
        let mut seed: u64 = 0x5eed;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let secs = (seed >> 11) as i64 % 315_000_000_000 - 62_000_000_000;
            let nano = match seed % 4 {
                0 => 0,
                1 => (seed >> 7) as u32 % 1_000 * 1_000_000,
                2 => (seed >> 7) as u32 % 1_000_000 * 1_000,
                _ => (seed >> 7) as u32 % 1_000_000_000,
            };
            cases.extend(DateTime::<Utc>::from_timestamp(secs, nano));
        }
        for dt in cases {
            assert_eq!(ScalarType::to_value(&dt), Value::String(dt.to_rfc3339()), "{dt:?}");
        }
    }
}
