//! Timestamps of rows PostgreSQL sends as JSON (a lead's activities and stage history
//! come that way). chrono's `Deserialize` parses them with its relaxed parser, which
//! walks a list of format items and was a sixth of a lead detail's JSON decoding; its
//! RFC 3339 parser reads PostgreSQL's `2026-12-06T13:50:00.123456+00:00` directly.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, Visitor};

/// `#[serde(deserialize_with = "crate::json_time::rfc3339")]`: an RFC 3339 timestamp,
/// or any other form chrono's `Deserialize` accepts.
pub fn rfc3339<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

/// [`rfc3339`], or null.
pub fn rfc3339_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(OrNull)
}

struct Rfc3339;

struct OrNull;

impl<'de> Visitor<'de> for OrNull {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        rfc3339(deserializer).map(Some)
    }
}

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        match DateTime::parse_from_rfc3339(value) {
            Ok(at) => Ok(at.with_timezone(&Utc)),
            Err(_) => value.parse().map_err(E::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct At(#[serde(deserialize_with = "rfc3339")] DateTime<Utc>);

    fn parse(json: &str) -> Result<DateTime<Utc>, serde_json::Error> {
        serde_json::from_str::<At>(json).map(|at| at.0)
    }

    #[test]
    fn reads_what_chrono_reads() {
        for text in [
            "2026-12-06T13:50:00.123456+00:00",
            "2026-12-06T13:50:00+00:00",
            "2026-12-06T14:50:00.5+01:00",
            "2026-12-06T13:50:00Z",
            "2026-12-06 13:50:00.123456+00:00",
            "1969-12-31T23:59:59.999999-00:00",
        ] {
            let chrono: DateTime<Utc> = serde_json::from_str(&format!("\"{text}\"")).unwrap();
            assert_eq!(parse(&format!("\"{text}\"")).unwrap(), chrono, "{text}");
        }
        assert!(parse("\"2026-13-06T13:50:00Z\"").is_err());
        assert!(parse("\"yesterday\"").is_err());
        assert!(parse("1733493000").is_err());
    }

    #[derive(serde::Deserialize)]
    struct Maybe(#[serde(deserialize_with = "rfc3339_or_null")] Option<DateTime<Utc>>);

    #[test]
    fn or_null_reads_null_as_none() {
        let maybe = |json: &str| serde_json::from_str::<Maybe>(json).map(|m| m.0);
        assert_eq!(maybe("null").unwrap(), None);
        let at = maybe("\"2026-12-06T13:50:00.123456+00:00\"").unwrap();
        assert_eq!(at, Some("2026-12-06T13:50:00.123456Z".parse().unwrap()));
        assert!(maybe("\"yesterday\"").is_err());
    }
}
