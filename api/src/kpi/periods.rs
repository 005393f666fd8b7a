//! Calendar periods in the organization's time zone: a "day" or a "month" starts at
//! local midnight, so a Berlin team's March is the Berlin March, whatever the
//! daylight-saving shifts. Each period carries its UTC bounds for SQL.

use async_graphql::Enum;
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{ApiError, Result};

/// The most periods one request may ask for (three years of days).
pub const MAX_PERIODS: usize = 1100;

/// How long each point of a KPI series is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// Calendar days (local midnight to midnight).
    Day,
    /// ISO weeks, Monday to Sunday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters (January, April, July, October).
    Quarter,
}

/// One period: local calendar days `[start, end)` and the same bounds as UTC instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    /// The day after the last day.
    pub end: NaiveDate,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
}

impl Period {
    /// The local days `[start, end)` in `tz`.
    pub fn new(tz: Tz, start: NaiveDate, end: NaiveDate) -> Self {
        Self { start, end, start_at: local_midnight(tz, start), end_at: local_midnight(tz, end) }
    }

    /// The last day of the period (inclusive).
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end)
    }

    /// The same period one year earlier (for year-over-year growth).
    pub fn year_earlier(&self, tz: Tz) -> Self {
        let back = |d: NaiveDate| d.checked_sub_months(Months::new(12)).unwrap_or(d);
        Self::new(tz, back(self.start), back(self.end))
    }
}

pub use crate::org::local_midnight;

/// The first day of the period of `granularity` that contains `day`.
pub fn period_start(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).unwrap_or(day),
        Granularity::Quarter => NaiveDate::from_ymd_opt(day.year(), day.month0() / 3 * 3 + 1, 1).unwrap_or(day),
    }
}

/// The first day of the next period.
pub fn next_start(start: NaiveDate, granularity: Granularity) -> NaiveDate {
    let next = match granularity {
        Granularity::Day => start.checked_add_days(Days::new(1)),
        Granularity::Week => start.checked_add_days(Days::new(7)),
        Granularity::Month => start.checked_add_months(Months::new(1)),
        Granularity::Quarter => start.checked_add_months(Months::new(3)),
    };
    next.unwrap_or(NaiveDate::MAX)
}

/// Every whole calendar period that overlaps the days `from..=to`, in order.
pub fn periods(tz: Tz, from: NaiveDate, to: NaiveDate, granularity: Granularity) -> Result<Vec<Period>> {
    if to < from {
        return Err(ApiError::bad_input("to", "must not be before `from`"));
    }
    let mut periods = Vec::new();
    let mut start = period_start(from, granularity);
    while start <= to {
        if periods.len() == MAX_PERIODS {
            return Err(ApiError::bad_input(
                "to",
                format!("at most {MAX_PERIODS} periods per request: widen the granularity or shorten the range"),
            ));
        }
        let end = next_start(start, granularity);
        periods.push(Period::new(tz, start, end));
        start = end;
    }
    Ok(periods)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn periods_are_whole_calendar_periods_overlapping_the_range() {
        let months = periods(chrono_tz::UTC, day(2026, 1, 15), day(2026, 3, 2), Granularity::Month).unwrap();
        let starts: Vec<_> = months.iter().map(|p| p.start).collect();
        assert_eq!(starts, [day(2026, 1, 1), day(2026, 2, 1), day(2026, 3, 1)]);
        assert_eq!(months[1].last_day(), day(2026, 2, 28));
        let quarters = periods(chrono_tz::UTC, day(2026, 5, 5), day(2026, 8, 1), Granularity::Quarter).unwrap();
        assert_eq!(quarters.iter().map(|p| p.start).collect::<Vec<_>>(), [day(2026, 4, 1), day(2026, 7, 1)]);
        let weeks = periods(chrono_tz::UTC, day(2026, 11, 29), day(2026, 11, 30), Granularity::Week).unwrap();
        assert_eq!(weeks.iter().map(|p| p.start).collect::<Vec<_>>(), [day(2026, 11, 23), day(2026, 11, 30)]);
    }

    #[test]
    fn a_local_month_begins_at_local_midnight_across_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let march = periods(berlin, day(2026, 3, 1), day(2026, 3, 31), Granularity::Month).unwrap();
        // Winter time (UTC+1) at the start, summer time (UTC+2) at the end.
        assert_eq!(march[0].start_at.to_rfc3339(), "2026-02-28T23:00:00+00:00");
        assert_eq!(march[0].end_at.to_rfc3339(), "2026-03-31T22:00:00+00:00");
    }

    #[test]
    fn too_many_periods_or_a_reversed_range_are_refused() {
        assert!(periods(chrono_tz::UTC, day(2020, 1, 1), day(2026, 1, 1), Granularity::Day).is_err());
        assert!(periods(chrono_tz::UTC, day(2026, 2, 1), day(2026, 1, 1), Granularity::Month).is_err());
    }
}
