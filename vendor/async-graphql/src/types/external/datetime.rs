use chrono::{DateTime, FixedOffset, Local, Utc};

use crate::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// Implement the DateTime<FixedOffset> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<FixedOffset> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<FixedOffset>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }
}

/// Implement the DateTime<Local> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<Local> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<Local>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.to_rfc3339())
    }
}

/// Implement the DateTime<Utc> scalar
///
/// The input/output is a string in RFC3339 format.
#[Scalar(
    internal,
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
impl ScalarType for DateTime<Utc> {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(s.parse::<DateTime<Utc>>()?),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        // Accord patch: `to_rfc3339`'s text, written without the formatting machinery.
        Value::String(rfc3339_utc(self))
    }
}

/// Accord patch: exactly `dt.to_rfc3339()` (seconds' fraction in 0, 3, 6 or 9 digits,
/// offset `+00:00`), digit by digit; chrono writes it for years outside 0–9999 and leap
/// seconds.
fn rfc3339_utc(dt: &DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let (date, time) = (dt.date_naive(), dt.time());
    let (year, nano) = (date.year(), time.nanosecond());
    if !(0..=9999).contains(&year) || nano >= 1_000_000_000 {
        return dt.to_rfc3339();
    }
    let mut text = String::with_capacity(35);
    let mut push = |separator: Option<char>, value: u32, count: u32| {
        if let Some(separator) = separator {
            text.push(separator);
        }
        for place in (0..count).rev() {
            text.push(char::from(b'0' + (value / 10u32.pow(place) % 10) as u8));
        }
    };
    push(None, year as u32, 4);
    push(Some('-'), date.month(), 2);
    push(Some('-'), date.day(), 2);
    push(Some('T'), time.hour(), 2);
    push(Some(':'), time.minute(), 2);
    push(Some(':'), time.second(), 2);
    match nano {
        0 => {}
        n if n % 1_000_000 == 0 => push(Some('.'), n / 1_000_000, 3),
        n if n % 1_000 == 0 => push(Some('.'), n / 1_000, 6),
        n => push(Some('.'), n, 9),
    }
    text.push_str("+00:00");
    text
}
