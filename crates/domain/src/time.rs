//! When an incident happened: an instant or a window, with its precision.
//!
//! Police records rarely know the minute. Toronto's open data gives the local
//! hour; many exports give only the day; statistical returns give the month.
//! Every [`OccurredAt`] is therefore a half-open UTC window `[start, end)`
//! together with the [`TimePrecision`] it was recorded with, built from local
//! wall-clock values in the territory's time zone. Analyses must respect the
//! precision: month-only data has no hour of day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use crate::DomainError;

/// How precisely the time of an incident is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimePrecision {
    /// Known to the minute (the window is one minute long).
    Minute,
    /// Known to the hour.
    Hour,
    /// Known to the day (local calendar day).
    Day,
    /// Known to the month (local calendar month).
    Month,
    /// Somewhere between two recorded times ("between Friday 18:00 and Monday 08:00").
    Window,
}

impl TimePrecision {
    /// Every precision, finest first.
    pub const ALL: &'static [TimePrecision] =
        &[TimePrecision::Minute, TimePrecision::Hour, TimePrecision::Day, TimePrecision::Month, TimePrecision::Window];

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            TimePrecision::Minute => "minute",
            TimePrecision::Hour => "hour",
            TimePrecision::Day => "day",
            TimePrecision::Month => "month",
            TimePrecision::Window => "window",
        }
    }
}

impl FromStr for TimePrecision {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimePrecision::ALL
            .iter()
            .copied()
            .find(|p| p.code() == s.trim())
            .ok_or_else(|| DomainError::UnknownPrecision { value: s.to_owned() })
    }
}

impl fmt::Display for TimePrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// When an incident occurred: the half-open UTC window `[start, end)` and its precision.
///
/// ```
/// use chrono::NaiveDate;
/// use qalqan_domain::{OccurredAt, TimePrecision};
/// let tz: chrono_tz::Tz = "America/Toronto".parse().unwrap();
/// let day = NaiveDate::from_ymd_opt(2019, 7, 1).unwrap();
/// let t = OccurredAt::in_hour(day, 22, tz).unwrap();
/// assert_eq!(t.start().to_rfc3339(), "2019-07-02T02:00:00+00:00"); // EDT is UTC-4
/// assert_eq!((t.end() - t.start()).num_minutes(), 60);
/// assert_eq!(t.precision(), TimePrecision::Hour);
/// assert_eq!(t.local_month(tz), 201907);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OccurredAt {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    precision: TimePrecision,
}

impl OccurredAt {
    /// An instant known to the minute (seconds are dropped).
    pub fn at_minute(at: DateTime<Utc>) -> Self {
        let secs = at.timestamp();
        let start = DateTime::from_timestamp(secs - secs.rem_euclid(60), 0).unwrap_or(at);
        Self { start, end: start + Duration::minutes(1), precision: TimePrecision::Minute }
    }

    /// A local wall-clock minute in `tz`.
    pub fn at_local_minute(local: NaiveDateTime, tz: Tz) -> Result<Self, DomainError> {
        Ok(Self::at_minute(resolve_local(local, tz)?))
    }

    /// The local hour `hour` (0–23) of `date` in `tz`.
    pub fn in_hour(date: NaiveDate, hour: u32, tz: Tz) -> Result<Self, DomainError> {
        let time = NaiveTime::from_hms_opt(hour, 0, 0)
            .ok_or(DomainError::NonexistentLocalTime { local: format!("{date} {hour}:00"), zone: tz.name().to_owned() })?;
        let start = resolve_local(date.and_time(time), tz)?;
        Ok(Self { start, end: start + Duration::hours(1), precision: TimePrecision::Hour })
    }

    /// The local calendar day `date` in `tz`.
    pub fn on_day(date: NaiveDate, tz: Tz) -> Result<Self, DomainError> {
        let start = resolve_local(date.and_time(NaiveTime::MIN), tz)?;
        let next = date.succ_opt().ok_or(DomainError::Empty { what: "date after the last representable day" })?;
        let end = resolve_local(next.and_time(NaiveTime::MIN), tz)?;
        Ok(Self { start, end, precision: TimePrecision::Day })
    }

    /// The local calendar month of `date` (its day is ignored) in `tz`.
    pub fn in_month(date: NaiveDate, tz: Tz) -> Result<Self, DomainError> {
        let first = date.with_day(1).unwrap_or(date);
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .ok_or(DomainError::Empty { what: "month after the last representable month" })?;
        let start = resolve_local(first.and_time(NaiveTime::MIN), tz)?;
        let end = resolve_local(next.and_time(NaiveTime::MIN), tz)?;
        Ok(Self { start, end, precision: TimePrecision::Month })
    }

    /// A window between two recorded times; `end` must not precede `start`.
    /// A zero-length window is widened to one minute.
    pub fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, DomainError> {
        if end < start {
            return Err(DomainError::WindowReversed { start: start.to_rfc3339(), end: end.to_rfc3339() });
        }
        let end = if end == start { start + Duration::minutes(1) } else { end };
        Ok(Self { start, end, precision: TimePrecision::Window })
    }

    /// Rebuilds a value read back from storage.
    pub fn from_parts(start: DateTime<Utc>, end: DateTime<Utc>, precision: TimePrecision) -> Result<Self, DomainError> {
        if end <= start {
            return Err(DomainError::WindowReversed { start: start.to_rfc3339(), end: end.to_rfc3339() });
        }
        Ok(Self { start, end, precision })
    }

    /// First instant of the window (inclusive).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// End of the window (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How precisely the time is known.
    pub fn precision(&self) -> TimePrecision {
        self.precision
    }

    /// The local month of the window's start in `tz`, as `yyyymm` (e.g. `201907`).
    pub fn local_month(&self, tz: Tz) -> i32 {
        let local = self.start.with_timezone(&tz);
        local.year() * 100 + local.month() as i32
    }
}

/// Resolves a local wall-clock time in `tz` to UTC.
///
/// Ambiguous times (clocks going back) take the earlier instant. Times inside
/// a spring-forward gap do not exist; police records still contain them (the
/// hour is what the officer wrote), so they move forward by the gap, as a
/// wall clock does.
pub fn resolve_local(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, DomainError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).with_timezone(&Utc)),
        LocalResult::None => {
            // Read the wall-clock value with the offset in force just before the gap.
            let before = tz
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .ok_or_else(|| DomainError::NonexistentLocalTime { local: local.to_string(), zone: tz.name().to_owned() })?;
            let offset = i64::from(before.offset().fix().local_minus_utc());
            Ok(Utc.from_utc_datetime(&(local - Duration::seconds(offset))))
        }
    }
}

/// Parses an IANA time-zone name.
///
/// ```
/// assert!(qalqan_domain::time::parse_time_zone("Asia/Almaty").is_ok());
/// assert!(qalqan_domain::time::parse_time_zone("Mars/Olympus").is_err());
/// ```
pub fn parse_time_zone(name: &str) -> Result<Tz, DomainError> {
    name.trim().parse::<Tz>().map_err(|_| DomainError::UnknownTimeZone { value: name.to_owned() })
}

/// The UTC instant at which local calendar day `date` begins in `tz`.
///
/// ```
/// use chrono::NaiveDate;
/// let tz = qalqan_domain::time::parse_time_zone("Asia/Almaty").unwrap();
/// let t = qalqan_domain::time::local_day_start(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(), tz).unwrap();
/// assert_eq!(t.to_rfc3339(), "2025-02-28T19:00:00+00:00"); // UTC+5
/// ```
pub fn local_day_start(date: NaiveDate, tz: Tz) -> Result<DateTime<Utc>, DomainError> {
    resolve_local(date.and_time(NaiveTime::MIN), tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toronto() -> Tz {
        parse_time_zone("America/Toronto").unwrap()
    }

    #[test]
    fn day_window_follows_local_midnight_across_dst() {
        // 2019-03-10: clocks jump from 02:00 to 03:00 in Toronto; the day is 23 h long.
        let d = NaiveDate::from_ymd_opt(2019, 3, 10).unwrap();
        let t = OccurredAt::on_day(d, toronto()).unwrap();
        assert_eq!((t.end() - t.start()).num_hours(), 23);
        assert_eq!(t.start().to_rfc3339(), "2019-03-10T05:00:00+00:00");
    }

    #[test]
    fn hour_inside_spring_forward_gap_moves_forward_like_a_wall_clock() {
        let d = NaiveDate::from_ymd_opt(2019, 3, 10).unwrap();
        let t = OccurredAt::in_hour(d, 2, toronto()).unwrap();
        // 02:00 does not exist; read with the standard-time offset it is 07:00 UTC (03:00 EDT).
        assert_eq!(t.start().to_rfc3339(), "2019-03-10T07:00:00+00:00");
    }

    #[test]
    fn ambiguous_hour_takes_the_earlier_instant() {
        let d = NaiveDate::from_ymd_opt(2019, 11, 3).unwrap();
        let t = OccurredAt::in_hour(d, 1, toronto()).unwrap();
        assert_eq!(t.start().to_rfc3339(), "2019-11-03T05:00:00+00:00");
    }

    #[test]
    fn month_window_spans_the_local_month() {
        let d = NaiveDate::from_ymd_opt(2020, 2, 17).unwrap();
        let t = OccurredAt::in_month(d, toronto()).unwrap();
        assert_eq!(t.start().to_rfc3339(), "2020-02-01T05:00:00+00:00");
        assert_eq!(t.end().to_rfc3339(), "2020-03-01T05:00:00+00:00");
        assert_eq!(t.local_month(toronto()), 202002);
        let dec = OccurredAt::in_month(NaiveDate::from_ymd_opt(2020, 12, 5).unwrap(), toronto()).unwrap();
        assert_eq!(dec.end().to_rfc3339(), "2021-01-01T05:00:00+00:00");
    }

    #[test]
    fn reversed_window_is_refused_and_empty_window_widened() {
        let a = Utc.with_ymd_and_hms(2020, 1, 1, 10, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2020, 1, 1, 9, 0, 0).unwrap();
        assert!(matches!(OccurredAt::window(a, b), Err(DomainError::WindowReversed { .. })));
        let w = OccurredAt::window(a, a).unwrap();
        assert_eq!((w.end() - w.start()).num_minutes(), 1);
    }

    #[test]
    fn hour_out_of_range_is_refused() {
        let d = NaiveDate::from_ymd_opt(2019, 3, 11).unwrap();
        assert!(OccurredAt::in_hour(d, 24, toronto()).is_err());
    }

    #[test]
    fn minute_precision_drops_seconds() {
        let a = Utc.with_ymd_and_hms(2020, 1, 1, 10, 7, 42).unwrap();
        let t = OccurredAt::at_minute(a);
        assert_eq!(t.start().to_rfc3339(), "2020-01-01T10:07:00+00:00");
    }
}
