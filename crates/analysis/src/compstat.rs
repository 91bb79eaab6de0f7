//! CompStat tables: is crime rising here, and is the rise more than noise?
//!
//! For a report date D (inclusive) three periods are compared with the same
//! calendar period a year earlier: week to date (from Monday), the last 28
//! days, and year to date. The change is flagged only when an exact test
//! says it is unlikely under equal rates: conditional on the total n = a + b
//! of the two counts, a ~ Binomial(n, L_a / (L_a + L_b)) where L are the
//! period lengths (Przyborowski & Wilenski 1940; the "exact Poisson test").
//! The two-sided p-value sums every outcome no more likely than the one
//! observed, as R's `binom.test`. "+100 % (2 → 4)" has p = 0.69: not alarming.
//! Cost: O(records) to count plus O(√n) per test.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};

/// A comparison window: first and last local day, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// Number of days.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    fn contains(&self, d: NaiveDate) -> bool {
        self.first <= d && d <= self.last
    }
}

/// The three CompStat periods for report date `date`, each with its prior-year twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    pub week_to_date: (Period, Period),
    pub last_28_days: (Period, Period),
    pub year_to_date: (Period, Period),
}

/// The same calendar day a year earlier (29 February → 28 February).
fn year_earlier(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1).unwrap_or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, 2, 28).unwrap_or(d))
}

impl Periods {
    /// Periods ending on `date`.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// let p = qalqan_analysis::compstat::Periods::ending(NaiveDate::from_ymd_opt(2025, 3, 5).unwrap()); // a Wednesday
    /// assert_eq!(p.week_to_date.0.first, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap());
    /// assert_eq!(p.last_28_days.0.days(), 28);
    /// assert_eq!(p.year_to_date.1.first, NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
    /// ```
    pub fn ending(date: NaiveDate) -> Self {
        let prior = |p: Period| Period { first: year_earlier(p.first), last: year_earlier(p.last) };
        let wtd = Period { first: date - Duration::days(i64::from(date.weekday().num_days_from_monday())), last: date };
        let d28 = Period { first: date - Duration::days(27), last: date };
        let ytd = Period { first: NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date), last: date };
        Self { week_to_date: (wtd, prior(wtd)), last_28_days: (d28, prior(d28)), year_to_date: (ytd, prior(ytd)) }
    }

    fn all(&self) -> [(Period, Period); 3] {
        [self.week_to_date, self.last_28_days, self.year_to_date]
    }
}

/// Current against prior count, with the exact test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    pub current: u64,
    pub previous: u64,
    /// Percentage change; `None` when the prior count is 0.
    pub change_percent: Option<f64>,
    /// Two-sided exact p-value of equal daily rates.
    pub p_value: f64,
}

impl Comparison {
    /// Compares counts over periods of `current_days` and `previous_days`.
    pub fn new(current: u64, previous: u64, current_days: i64, previous_days: i64) -> Self {
        let change_percent = (previous > 0).then(|| (current as f64 - previous as f64) / previous as f64 * 100.0);
        let share = current_days as f64 / (current_days + previous_days).max(1) as f64;
        Self { current, previous, change_percent, p_value: binomial_two_sided(current, current + previous, share) }
    }

    /// Significant at level `alpha` (e.g. 0.05).
    pub fn significant(&self, alpha: f64) -> bool {
        self.p_value < alpha
    }
}

/// One line of the table: a district × category (either may be "all").
#[derive(Debug, Clone, PartialEq)]
pub struct CompStatRow {
    /// `None` = the whole territory.
    pub district: Option<String>,
    /// `None` = all categories.
    pub category: Option<String>,
    pub week_to_date: Comparison,
    pub last_28_days: Comparison,
    pub year_to_date: Comparison,
}

/// An incident as CompStat sees it: local day, district, category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedIncident {
    pub day: NaiveDate,
    pub district: Option<String>,
    pub category: String,
}

/// The CompStat table for `date`: the territory total first, then the
/// territory by category, then each district in total and by category
/// (districts and categories in alphabetical order; incidents without a
/// district only count in the territory rows).
pub fn compstat_table(incidents: &[DatedIncident], date: NaiveDate) -> Vec<CompStatRow> {
    let periods = Periods::ending(date);
    // counts[(district, category)] = [wtd cur, wtd prev, d28 cur, d28 prev, ytd cur, ytd prev]
    let mut counts: BTreeMap<(Option<String>, Option<String>), [u64; 6]> = BTreeMap::new();
    for inc in incidents {
        let mut hits = [0u64; 6];
        let mut any = false;
        for (k, (cur, prev)) in periods.all().iter().enumerate() {
            if cur.contains(inc.day) {
                hits[2 * k] = 1;
                any = true;
            }
            if prev.contains(inc.day) {
                hits[2 * k + 1] = 1;
                any = true;
            }
        }
        if !any {
            continue;
        }
        let mut keys = vec![(None, None), (None, Some(inc.category.clone()))];
        if let Some(d) = &inc.district {
            keys.push((Some(d.clone()), None));
            keys.push((Some(d.clone()), Some(inc.category.clone())));
        }
        for key in keys {
            let c = counts.entry(key).or_insert([0; 6]);
            for i in 0..6 {
                c[i] += hits[i];
            }
        }
    }
    counts.entry((None, None)).or_insert([0; 6]);
    let [(w, wp), (d, dp), (y, yp)] = periods.all();
    counts
        .into_iter()
        .map(|((district, category), c)| CompStatRow {
            district,
            category,
            week_to_date: Comparison::new(c[0], c[1], w.days(), wp.days()),
            last_28_days: Comparison::new(c[2], c[3], d.days(), dp.days()),
            year_to_date: Comparison::new(c[4], c[5], y.days(), yp.days()),
        })
        .collect()
}

fn ln_pmf(k: u64, n: u64, p: f64) -> f64 {
    let (k, n) = (k as f64, n as f64);
    libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0) + k * p.ln() + (n - k) * (1.0 - p).ln()
}

/// Two-sided exact binomial p-value of `k` successes in `n` trials with
/// success probability `p`: the total probability of outcomes no more likely
/// than `k` (relative tolerance 1e-7, as R). Sums outward from `k` and from
/// the matching point of the other tail until terms vanish: O(√n).
///
/// ```
/// use qalqan_analysis::compstat::binomial_two_sided;
/// assert!((binomial_two_sided(4, 6, 0.5) - 0.6875).abs() < 1e-12); // 2 → 4
/// assert!(binomial_two_sided(40, 60, 0.5) < 0.02);
/// ```
pub fn binomial_two_sided(k: u64, n: u64, p: f64) -> f64 {
    if n == 0 || p <= 0.0 || p >= 1.0 {
        return 1.0;
    }
    let target = ln_pmf(k, n, p) + (1.0 + 1e-7f64).ln();
    let mode = ((n + 1) as f64 * p).floor().min(n as f64) as u64;
    let tail = |from: u64, step_down: bool| -> f64 {
        // Sum pmf from `from` away from the mode until terms are negligible.
        let mut sum = 0.0;
        let mut j = from;
        loop {
            let v = ln_pmf(j, n, p).exp();
            sum += v;
            if v < sum * 1e-17 || (step_down && j == 0) || (!step_down && j == n) {
                break;
            }
            j = if step_down { j - 1 } else { j + 1 };
        }
        sum
    };
    // Find the first point on the other side of the mode no more likely than k.
    let other = |lo: u64, hi: u64, rising: bool| -> Option<u64> {
        // pmf is monotone on [lo, hi]; binary search the boundary where ln_pmf <= target.
        let (mut a, mut b) = (lo, hi);
        let ok = |j: u64| ln_pmf(j, n, p) <= target;
        if rising {
            // decreasing from lo to hi (right of the mode): first j with ok(j).
            if !ok(hi) {
                return None;
            }
            while a < b {
                let m = a + (b - a) / 2;
                if ok(m) { b = m } else { a = m + 1 }
            }
            Some(a)
        } else {
            // increasing from lo to hi (left of the mode): last j with ok(j).
            if !ok(lo) {
                return None;
            }
            while a < b {
                let m = a + (b - a).div_ceil(2);
                if ok(m) { a = m } else { b = m - 1 }
            }
            Some(a)
        }
    };
    // pmf rises up to the mode and falls after it: search the other side's monotone stretch.
    let total = if k <= mode {
        let start = (k + 1).max(mode);
        let right = if start <= n { other(start, n, true).map_or(0.0, |j| tail(j, false)) } else { 0.0 };
        tail(k, true) + right
    } else {
        let end = (k - 1).min(mode);
        tail(k, false) + other(0, end, false).map_or(0.0, |j| tail(j, true))
    };
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force over every outcome.
    fn brute(k: u64, n: u64, p: f64) -> f64 {
        let t = ln_pmf(k, n, p) + (1.0 + 1e-7f64).ln();
        (0..=n).filter(|&j| ln_pmf(j, n, p) <= t).map(|j| ln_pmf(j, n, p).exp()).sum::<f64>().min(1.0)
    }

    #[test]
    fn exact_test_matches_brute_force() {
        for n in [1, 2, 7, 30, 101, 500] {
            for k in 0..=n {
                for p in [0.5, 0.3, 7.0 / 13.0] {
                    let (a, b) = (binomial_two_sided(k, n, p), brute(k, n, p));
                    assert!((a - b).abs() < 1e-12 * b.max(1e-300) + 1e-15, "k={k} n={n} p={p}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn matches_scipy_binomtest() {
        // scipy.stats.binomtest(k, n, p).pvalue (scipy 1.17.1, the method of R's binom.test).
        assert!((binomial_two_sided(30, 45, 0.5) - 0.035_697_803_555_194_696).abs() < 1e-12);
        assert!((binomial_two_sided(12, 20, 0.3) - 0.005_936_084_198_097_523).abs() < 1e-12);
    }

    #[test]
    fn table_counts_the_right_periods_and_flags_only_real_changes() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let mut incidents = Vec::new();
        let mut add = |d: NaiveDate, n: usize, district: &str, cat: &str| {
            for _ in 0..n {
                incidents.push(DatedIncident { day: d, district: Some(district.into()), category: cat.into() });
            }
        };
        add(day(2025, 3, 4), 4, "Yesil", "theft"); // this week (report date Wed 5 March)
        add(day(2024, 3, 5), 2, "Yesil", "theft"); // same week last year
        add(day(2025, 2, 20), 60, "Nura", "burglary"); // within 28 days
        add(day(2024, 2, 20), 20, "Nura", "burglary");
        add(day(2024, 12, 31), 5, "Nura", "burglary"); // last year, outside every window
        let table = compstat_table(&incidents, day(2025, 3, 5));
        let total = &table[0];
        assert_eq!((total.district.as_deref(), total.category.as_deref()), (None, None));
        assert_eq!((total.week_to_date.current, total.week_to_date.previous), (4, 2));
        assert_eq!((total.last_28_days.current, total.last_28_days.previous), (64, 22));
        assert_eq!((total.year_to_date.current, total.year_to_date.previous), (64, 22));
        let yesil_theft = table.iter().find(|r| r.district.as_deref() == Some("Yesil") && r.category.as_deref() == Some("theft")).unwrap();
        assert_eq!(yesil_theft.week_to_date.change_percent, Some(100.0));
        assert!(!yesil_theft.week_to_date.significant(0.05), "2 → 4 is noise");
        let nura = table.iter().find(|r| r.district.as_deref() == Some("Nura") && r.category.is_none()).unwrap();
        assert!(nura.last_28_days.significant(0.001), "20 → 60 is real");
    }

    #[test]
    fn leap_day_maps_to_the_28th() {
        let p = Periods::ending(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        assert_eq!(p.week_to_date.1.last, NaiveDate::from_ymd_opt(2023, 2, 28).unwrap());
    }
}
