//! How good is a forecast: hit rate, PAI and PEI\* at fixed shares of the area.
//!
//! The eligible cells are ranked by score, highest first, ties broken by
//! cell index (lower first), so a ranking never depends on sort stability.
//! For a coverage `c` (share of the eligible area) the forecast selects
//! `k = c · E` cells of the `E` eligible ones. When `k` is fractional, the
//! first ⌊k⌋ ranked cells are selected whole and the next one by the
//! fraction `k − ⌊k⌋`, which contributes that fraction of its test events
//! (the expected catch of patrolling that share of it); the selected area is
//! then exactly `c` for every coverage and grid, and PAI is comparable across
//! them. Test events are those of the window in eligible cells (`N`).
//!
//! - **Hit rate** = n / N, n the test events in the selected cells.
//! - **PAI** (Predictive Accuracy Index; Chainey, Tompson & Uhlig, Security
//!   Journal 21, 2008) = (n / N) / (a / A) = hit rate / c.
//! - **PEI\*** = n / n\*, n\* the test events in the best possible selection of
//!   the same area: the k cells that hold the most test events (the same
//!   fractional rule for the last one). It is PAI divided by the largest PAI
//!   any forecast could have reached with that area, so it lies in [0, 1]. This
//!   is the efficiency index of the NIJ Real-Time Crime Forecasting Challenge
//!   (2017), labelled PEI\* there and discussed by White, Hunt & Green,
//!   "A discussion of current crime forecasting indices and an improvement to
//!   the prediction efficiency index for applications", Security Journal
//!   (2023). (Hunt's earlier PEI is the same ratio; Joshi et al., ISPRS IJGI
//!   10(9), 2021, review these indices and propose a penalised PAI, not PEI\*.)
//!
//! When a window has no test events, hit rate, PAI and PEI\* are undefined
//! and given as `None`; so are all three when no cell is eligible.
//! Cost O(E log E) per forecast.

use super::ForecastArea;
use crate::AnalysisError;

/// The coverages Qalqan reports by default: 1 %, 5 % and 10 % of the eligible area.
pub const DEFAULT_COVERAGES: [f64; 3] = [0.01, 0.05, 0.10];

/// Accuracy of one forecast at one coverage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageMetrics {
    /// Share of the eligible area selected, in (0, 1].
    pub coverage: f64,
    /// Cells selected, `coverage × eligible cells` (may be fractional).
    pub cells: f64,
    /// Test events in eligible cells (N).
    pub events: u64,
    /// Test events in the selected cells (n; fractional when the last cell is partly selected).
    pub hits: f64,
    /// Test events in the best selection of the same area (n\*).
    pub best_hits: f64,
    /// n / N.
    pub hit_rate: Option<f64>,
    /// (n / N) / coverage.
    pub pai: Option<f64>,
    /// n / n\*.
    pub pei_star: Option<f64>,
}

/// Hit rate, PAI and PEI\* of `scores` (one per grid cell) against the test
/// events per grid cell `observed`, at each coverage (shares in (0, 1]).
///
/// ```
/// use qalqan_analysis::forecast::{ForecastArea, coverage_metrics};
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let grid = Grid::covering([0.0, 0.0, 999.0, 999.0], &GridParams::default()).unwrap(); // 16 cells
/// let area = ForecastArea::new(&grid, None).unwrap();
/// let mut scores = vec![0.0; 16];
/// scores[3] = 2.0; // ranked first
/// scores[7] = 1.0; // second
/// let mut observed = vec![0; 16];
/// observed[3] = 1;
/// observed[9] = 3;
/// // 12.5 % of 16 cells = 2 cells: cells 3 and 7 catch 1 of 4 events; the best 2 cells hold 4.
/// let m = coverage_metrics(&scores, &observed, &area, &[0.125]).unwrap();
/// assert_eq!((m[0].hit_rate, m[0].pai, m[0].pei_star), (Some(0.25), Some(2.0), Some(0.25)));
/// ```
pub fn coverage_metrics(
    scores: &[f64],
    observed: &[u32],
    area: &ForecastArea<'_>,
    coverages: &[f64],
) -> Result<Vec<CoverageMetrics>, AnalysisError> {
    let cells = area.grid().len();
    if scores.len() != cells {
        return Err(AnalysisError::LengthMismatch { what: "forecast scores", expected: cells, got: scores.len() });
    }
    if observed.len() != cells {
        return Err(AnalysisError::LengthMismatch { what: "observed counts", expected: cells, got: observed.len() });
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(AnalysisError::NotFinite { what: "forecast scores" });
    }
    check_coverages(coverages)?;
    let mut ranked: Vec<usize> = (0..cells).filter(|&i| area.is_eligible(i)).collect();
    // + 0.0 turns −0.0 into 0.0, so that total_cmp ties them.
    ranked.sort_by(|&a, &b| (scores[b] + 0.0).total_cmp(&(scores[a] + 0.0)).then(a.cmp(&b)));
    let caught: Vec<f64> = ranked.iter().map(|&i| f64::from(observed[i])).collect();
    let mut best = caught.clone();
    best.sort_by(|a, b| b.total_cmp(a));
    let events: u64 = ranked.iter().map(|&i| u64::from(observed[i])).sum();
    let eligible = ranked.len();
    Ok(coverages
        .iter()
        .map(|&coverage| {
            // Rounded to 1e-9 cells so that 0.05 × 400 is 20, not 20.000000000000004.
            let k = (coverage * eligible as f64 * 1e9).round() / 1e9;
            let (hits, best_hits) = (take(&caught, k), take(&best, k));
            let defined = events > 0 && eligible > 0;
            let hit_rate = defined.then(|| hits / events as f64);
            CoverageMetrics {
                coverage,
                cells: k,
                events,
                hits,
                best_hits,
                hit_rate,
                pai: hit_rate.map(|h| h / coverage),
                pei_star: (defined && best_hits > 0.0).then(|| hits / best_hits),
            }
        })
        .collect())
}

/// Sum of the first ⌊k⌋ values plus the fraction k − ⌊k⌋ of the next.
fn take(values: &[f64], k: f64) -> f64 {
    let whole = (k.floor() as usize).min(values.len());
    let mut sum: f64 = values[..whole].iter().sum();
    if let Some(next) = values.get(whole) {
        sum += (k - k.floor()) * next;
    }
    sum
}

pub(crate) fn check_coverages(coverages: &[f64]) -> Result<(), AnalysisError> {
    if coverages.iter().any(|c| !(c.is_finite() && *c > 0.0 && *c <= 1.0)) {
        return Err(AnalysisError::InvalidParameter { name: "coverage", reason: "must be a share of the area in (0, 1]" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::tests::square;

    fn one(scores: &[f64], observed: &[u32], area: &ForecastArea<'_>, c: f64) -> CoverageMetrics {
        coverage_metrics(scores, observed, area, &[c]).unwrap()[0]
    }

    #[test]
    fn a_fractional_last_cell_counts_its_share_of_events() {
        let grid = square(2, 250.0); // 4 cells
        let area = ForecastArea::new(&grid, None).unwrap();
        let scores = [4.0, 3.0, 2.0, 1.0];
        let observed = [2, 0, 6, 2];
        // 30 % of 4 cells = 1.2 cells: cell 0 whole, 0.2 of cell 1.
        let m = one(&scores, &observed, &area, 0.3);
        assert!((m.cells - 1.2).abs() < 1e-12 && (m.hits - 2.0).abs() < 1e-12);
        assert!((m.best_hits - (6.0 + 0.2 * 2.0)).abs() < 1e-12);
        assert!((m.hit_rate.unwrap() - 0.2).abs() < 1e-12);
        assert!((m.pai.unwrap() - 0.2 / 0.3).abs() < 1e-12);
        assert!((m.pei_star.unwrap() - 2.0 / 6.4).abs() < 1e-12);
        // Everything selected: hit rate 1, PAI 1, PEI* 1.
        let all = one(&scores, &observed, &area, 1.0);
        assert_eq!((all.hit_rate, all.pai, all.pei_star), (Some(1.0), Some(1.0), Some(1.0)));
    }

    #[test]
    fn ties_are_broken_by_cell_index() {
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let observed = [0, 1, 0, 0];
        // All scores equal (including −0.0 vs 0.0): cell 0 comes first, so 25 % catches nothing.
        let m = one(&[0.0, -0.0, 0.0, 0.0], &observed, &area, 0.25);
        assert_eq!(m.hits, 0.0);
        let m = one(&[0.0, 1.0, 1.0, 0.0], &[0, 0, 1, 0], &area, 0.25);
        assert_eq!(m.hits, 0.0); // cell 1 before cell 2
    }

    #[test]
    fn ineligible_cells_are_neither_ranked_nor_counted() {
        let grid = square(2, 250.0);
        let mask = [false, true, true, true];
        let area = ForecastArea::new(&grid, Some(&mask)).unwrap();
        // Cell 0 has the top score and 5 events, but is outside the territory.
        let m = one(&[9.0, 1.0, 2.0, 0.0], &[5, 1, 2, 0], &area, 1.0 / 3.0);
        assert_eq!(m.events, 3);
        assert_eq!(m.cells, 1.0);
        assert_eq!(m.hits, 2.0); // cell 2
        assert_eq!(m.pai, Some((2.0 / 3.0) / (1.0 / 3.0)));
        assert_eq!(m.pei_star, Some(1.0));
    }

    #[test]
    fn no_test_events_or_no_eligible_cells_give_undefined_metrics() {
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let m = one(&[1.0, 0.0, 0.0, 0.0], &[0; 4], &area, 0.5);
        assert_eq!((m.hit_rate, m.pai, m.pei_star), (None, None, None));
        let none = [false; 4];
        let area = ForecastArea::new(&grid, Some(&none)).unwrap();
        let m = one(&[1.0, 0.0, 0.0, 0.0], &[1, 0, 0, 0], &area, 0.5);
        assert_eq!((m.cells, m.events, m.hit_rate), (0.0, 0, None));
    }

    #[test]
    fn a_perfect_forecast_has_pei_star_one_and_a_reversed_one_zero() {
        let grid = square(10, 100.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let observed: Vec<u32> = (0..100).map(|i| if i % 7 == 0 { (i % 5) as u32 + 1 } else { 0 }).collect();
        let perfect: Vec<f64> = observed.iter().map(|&o| f64::from(o)).collect();
        let reversed: Vec<f64> = perfect.iter().map(|s| -s).collect();
        for c in DEFAULT_COVERAGES {
            assert_eq!(one(&perfect, &observed, &area, c).pei_star, Some(1.0));
            assert_eq!(one(&reversed, &observed, &area, c).pei_star, Some(0.0));
        }
    }

    #[test]
    fn bad_inputs_are_refused() {
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        assert!(coverage_metrics(&[0.0; 3], &[0; 4], &area, &[0.5]).is_err());
        assert!(coverage_metrics(&[0.0; 4], &[0; 5], &area, &[0.5]).is_err());
        assert!(coverage_metrics(&[f64::NAN, 0.0, 0.0, 0.0], &[0; 4], &area, &[0.5]).is_err());
        assert!(coverage_metrics(&[0.0; 4], &[0; 4], &area, &[0.0]).is_err());
        assert!(coverage_metrics(&[0.0; 4], &[0; 4], &area, &[1.5]).is_err());
    }
}
