//! Prospective hotspotting (Bowers, Johnson & Pease, "Prospective
//! hot-spotting: the future of crime mapping?", British Journal of
//! Criminology 44(5), 2004).
//!
//! Recent events raise the risk nearby, less with distance and age. The
//! paper describes the weighting in words and examples; what is computed
//! here is the "classic" grid reading of it that QuantCrimAtLeeds'
//! `open_cp.prohotspot` (`ProspectiveHotSpot` with `ClassicWeight` and
//! `DistanceDiagonalsSame`) settled on:
//!
//! score(c) = Σ_i 1/(1 + d_i) · 1/(1 + w_i) over events i with
//! d_i · cell < space bandwidth and w_i < time bandwidth, where
//! - d_i = grid distance in whole cells between c and the cell of event i,
//!   diagonal neighbours at distance 1 (the Chebyshev distance);
//! - w_i = whole weeks elapsed between the event (the middle of its time
//!   window) and the origin: an event 6 days old is 0 weeks old.
//!
//! Defaults are the paper's bandwidths: 400 m and 8 weeks. The paper used
//! 50 m cells, so its 400 m band spans 8 cells; the weights are tied to the
//! cell size, and with Qalqan's default 250 m cells the band reaches only the
//! 8 surrounding cells (weights 1 and ½). Square cells only. Cost
//! O(n · (2r + 1)²), r = ⌈band / cell⌉ − 1.

use super::{Event, ForecastArea, Window, check_positive, history};
use crate::AnalysisError;
use crate::grid::CellShape;

pub(crate) const NAME: &str = "prospective";

/// Parameters of [`prospective_forecast`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProspectiveParams {
    /// Events count for cells closer than this (cells away × cell size), metres. Default 400 m, as the paper.
    pub space_bandwidth_metres: f64,
    /// Events count while younger than this many whole weeks. Default 8, as the paper.
    pub time_bandwidth_weeks: u32,
}

impl Default for ProspectiveParams {
    fn default() -> Self {
        Self { space_bandwidth_metres: 400.0, time_bandwidth_weeks: 8 }
    }
}

const WEEK_HOURS: f64 = 168.0;

/// Prospective hotspot risk per cell.
///
/// ```
/// use qalqan_analysis::forecast::{Event, ForecastArea, ProspectiveParams, Window, prospective_forecast};
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let grid = Grid::covering([0.0, 0.0, 749.0, 249.0], &GridParams::default()).unwrap(); // 3 cells in a row
/// let area = ForecastArea::new(&grid, None).unwrap();
/// // One event in cell 0, ten days before the origin (1 whole week).
/// let e = Event::new(100.0, 100.0, 0.0, 24.0).unwrap();
/// let s = prospective_forecast(&[e], &area, Window::new(240.0, 24.0).unwrap(), &ProspectiveParams::default()).unwrap();
/// assert_eq!(s, vec![0.5, 0.25, 0.0]); // 1/(1+0)·1/(1+1), then one cell away, then beyond 400 m
/// ```
pub fn prospective_forecast(
    events: &[Event],
    area: &ForecastArea<'_>,
    window: Window,
    params: &ProspectiveParams,
) -> Result<Vec<f64>, AnalysisError> {
    check_positive("prospective space bandwidth metres", params.space_bandwidth_metres)?;
    if params.time_bandwidth_weeks == 0 {
        return Err(AnalysisError::InvalidParameter { name: "prospective time bandwidth weeks", reason: "must be at least 1" });
    }
    let grid = area.grid();
    if grid.shape() != CellShape::Square {
        return Err(AnalysisError::ForecastNeedsSquareCells { model: NAME });
    }
    let cell = grid.cell_area().sqrt();
    // Largest d with d · cell < band.
    let reach = ((params.space_bandwidth_metres / cell).ceil() as i64 - 1).max(0);
    let (cols, rows) = (grid.cols() as i64, grid.rows() as i64);
    let origin = window.origin();
    let since = origin - f64::from(params.time_bandwidth_weeks) * WEEK_HOURS;
    let mut scores = vec![0.0; grid.len()];
    for (e, c) in history(events, grid, origin, since) {
        let weeks = ((origin - e.mid()) / WEEK_HOURS).floor().max(0.0);
        if weeks >= f64::from(params.time_bandwidth_weeks) {
            continue;
        }
        let time_weight = 1.0 / (1.0 + weeks);
        let (col, row) = ((c % grid.cols()) as i64, (c / grid.cols()) as i64);
        for r in (row - reach).max(0)..=(row + reach).min(rows - 1) {
            for q in (col - reach).max(0)..=(col + reach).min(cols - 1) {
                let d = (r - row).abs().max((q - col).abs());
                scores[(r * cols + q) as usize] += time_weight / (1.0 + d as f64);
            }
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::tests::{ev, square};

    #[test]
    fn weights_fall_with_cells_and_whole_weeks() {
        // 50 m cells, as the paper: the 400 m band reaches 7 cells.
        let grid = square(20, 50.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let origin = 10.0 * WEEK_HOURS;
        let w = Window::new(origin, 24.0).unwrap();
        let at = |x: f64, y: f64| grid.cell_of(x, y).unwrap();
        // Event in cell (2, 2), 15 days old: 2 whole weeks.
        let e = ev(125.0, 125.0, origin - 15.0 * 24.0);
        let s = prospective_forecast(&[e], &area, w, &ProspectiveParams::default()).unwrap();
        assert!((s[at(125.0, 125.0)] - 1.0 / 3.0).abs() < 1e-12);
        assert!((s[at(175.0, 175.0)] - 1.0 / 6.0).abs() < 1e-12); // diagonal neighbour: d = 1
        assert!((s[at(475.0, 125.0)] - 1.0 / 24.0).abs() < 1e-12); // 7 cells east: 350 m < 400 m
        assert_eq!(s[at(525.0, 125.0)], 0.0); // 8 cells: 400 m, not < 400 m
        // Eight whole weeks old: out of the band.
        let old = ev(125.0, 125.0, origin - 8.0 * WEEK_HOURS - 1.0);
        assert!(prospective_forecast(&[old], &area, w, &ProspectiveParams::default()).unwrap().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn refuses_a_zero_time_band() {
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let p = ProspectiveParams { time_bandwidth_weeks: 0, ..Default::default() };
        assert!(prospective_forecast(&[], &area, Window::new(0.0, 1.0).unwrap(), &p).is_err());
    }
}
