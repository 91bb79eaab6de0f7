//! When crime happens: hour × weekday matrix and monthly series, honest
//! about what each record's time precision allows.
//!
//! - Minute and hour precision: one count in the incident's local hour.
//! - Windows ("between Friday 18:00 and Monday 08:00"): the aoristic method
//!   (Ratcliffe, "Aoristic signatures and the spatio-temporal analysis of
//!   high volume crime patterns", J. Quantitative Criminology 18, 2002): the
//!   weight 1 is spread evenly over the hours the window covers. Windows
//!   longer than `max_window_hours` say nothing useful about the hour and are
//!   left out of the matrix.
//! - Day precision: counts for the weekday, not for any hour (a separate
//!   "hour unknown" column).
//! - Month precision: only the monthly series.
//!
//! Cost: O(records + window hours).

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use qalqan_domain::TimePrecision;

/// One incident's time as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRecord {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub precision: TimePrecision,
}

/// Options of [`hour_weekday`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourWeekdayParams {
    /// Longest window spread aoristically over hours. Default 72 h (a long weekend).
    pub max_window_hours: u32,
}

impl Default for HourWeekdayParams {
    fn default() -> Self {
        Self { max_window_hours: 72 }
    }
}

/// Incidents by local weekday (0 = Monday) and hour.
#[derive(Debug, Clone, PartialEq)]
pub struct HourWeekday {
    /// `cells[weekday][hour]`: counts, fractional where windows were spread.
    pub cells: [[f64; 24]; 7],
    /// Day-precision incidents per weekday (hour unknown).
    pub hour_unknown: [f64; 7],
    /// Incidents that could not be placed: month precision or windows longer than the limit.
    pub not_placed: u64,
}

impl HourWeekday {
    /// Total weight in the matrix (hours known or spread).
    pub fn placed(&self) -> f64 {
        self.cells.iter().flatten().sum()
    }
}

/// Builds the hour × weekday matrix in the territory's time zone.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use qalqan_analysis::time_pattern::{hour_weekday, HourWeekdayParams, TimeRecord};
/// use qalqan_domain::TimePrecision;
/// let tz: chrono_tz::Tz = "Asia/Almaty".parse().unwrap();
/// // Monday 2025-03-03 22:00 local = 17:00 UTC (UTC+5); a 4-hour window spreads 0.25 over four hours.
/// let start = Utc.with_ymd_and_hms(2025, 3, 3, 17, 0, 0).unwrap();
/// let hour = TimeRecord { start, end: start + chrono::Duration::hours(1), precision: TimePrecision::Hour };
/// let window = TimeRecord { start, end: start + chrono::Duration::hours(4), precision: TimePrecision::Window };
/// let m = hour_weekday(&[hour, window], tz, &HourWeekdayParams::default());
/// assert_eq!(m.cells[0][22], 1.25);
/// assert_eq!(m.cells[1][1], 0.25); // Tuesday 01:00
/// ```
pub fn hour_weekday(records: &[TimeRecord], tz: Tz, params: &HourWeekdayParams) -> HourWeekday {
    let mut m = HourWeekday { cells: [[0.0; 24]; 7], hour_unknown: [0.0; 7], not_placed: 0 };
    for r in records {
        match r.precision {
            TimePrecision::Minute | TimePrecision::Hour => {
                let local = r.start.with_timezone(&tz);
                m.cells[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += 1.0;
            }
            TimePrecision::Day => {
                let local = r.start.with_timezone(&tz);
                m.hour_unknown[local.weekday().num_days_from_monday() as usize] += 1.0;
            }
            TimePrecision::Month => m.not_placed += 1,
            TimePrecision::Window => {
                let hours = ((r.end - r.start).num_minutes() as f64 / 60.0).ceil().max(1.0) as u32;
                if hours > params.max_window_hours {
                    m.not_placed += 1;
                    continue;
                }
                let share = 1.0 / f64::from(hours);
                for h in 0..hours {
                    let local = (r.start + Duration::hours(i64::from(h))).with_timezone(&tz);
                    m.cells[local.weekday().num_days_from_monday() as usize][local.hour() as usize] += share;
                }
            }
        }
    }
    m
}

/// Incidents per local month (`yyyymm`), every month from the first to the
/// last present, zeros included. Every precision has a month.
pub fn monthly_series(records: &[TimeRecord], tz: Tz) -> Vec<(i32, u64)> {
    let months: Vec<i32> = records
        .iter()
        .map(|r| {
            let l = r.start.with_timezone(&tz);
            l.year() * 12 + l.month0() as i32
        })
        .collect();
    let (Some(&first), Some(&last)) = (months.iter().min(), months.iter().max()) else {
        return Vec::new();
    };
    let mut counts = vec![0u64; (last - first + 1) as usize];
    for m in months {
        counts[(m - first) as usize] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let m = first + i as i32;
            ((m / 12) * 100 + m % 12 + 1, n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tz() -> Tz {
        "America/Toronto".parse().unwrap()
    }

    #[test]
    fn month_precision_never_gets_an_hour_and_day_precision_only_a_weekday() {
        let start = Utc.with_ymd_and_hms(2019, 7, 1, 4, 0, 0).unwrap(); // Monday 00:00 local
        let month = TimeRecord { start, end: start + Duration::days(31), precision: TimePrecision::Month };
        let day = TimeRecord { start, end: start + Duration::days(1), precision: TimePrecision::Day };
        let m = hour_weekday(&[month, day], tz(), &HourWeekdayParams::default());
        assert_eq!(m.placed(), 0.0);
        assert_eq!(m.hour_unknown[0], 1.0);
        assert_eq!(m.not_placed, 1);
        assert_eq!(monthly_series(&[month, day], tz()), vec![(201907, 2)]);
    }

    #[test]
    fn long_windows_are_not_spread() {
        let start = Utc.with_ymd_and_hms(2019, 7, 1, 4, 0, 0).unwrap();
        let w = TimeRecord { start, end: start + Duration::days(10), precision: TimePrecision::Window };
        let m = hour_weekday(&[w], tz(), &HourWeekdayParams::default());
        assert_eq!((m.placed(), m.not_placed), (0.0, 1));
    }

    #[test]
    fn monthly_series_fills_gaps_with_zeros_across_years() {
        let at = |y, mo| {
            let s = Utc.with_ymd_and_hms(y, mo, 15, 12, 0, 0).unwrap();
            TimeRecord { start: s, end: s + Duration::hours(1), precision: TimePrecision::Hour }
        };
        let s = monthly_series(&[at(2019, 11), at(2020, 2), at(2020, 2)], tz());
        assert_eq!(s, vec![(201911, 1), (201912, 0), (202001, 0), (202002, 2)]);
    }

    #[test]
    fn order_of_records_does_not_matter() {
        let mut rng = crate::rng::Rng::seed(2);
        let mut recs: Vec<TimeRecord> = (0..500)
            .map(|_| {
                let s = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(rng.below(500_000) as i64);
                let p = [TimePrecision::Hour, TimePrecision::Day, TimePrecision::Window][rng.below(3) as usize];
                TimeRecord { start: s, end: s + Duration::hours(1 + rng.below(80) as i64), precision: p }
            })
            .collect();
        let a = hour_weekday(&recs, tz(), &HourWeekdayParams::default());
        recs.reverse();
        let b = hour_weekday(&recs, tz(), &HourWeekdayParams::default());
        for d in 0..7 {
            for h in 0..24 {
                assert!((a.cells[d][h] - b.cells[d][h]).abs() < 1e-9);
            }
        }
        assert_eq!(a.not_placed, b.not_placed);
    }
}
