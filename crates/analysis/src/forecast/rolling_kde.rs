//! Rolling kernel density: the last period's events, smoothed.
//!
//! Score of a cell = Gaussian kernel density (incidents per km², at the
//! cell's centre) of the events known at the origin whose window starts in
//! the last `window_hours`, computed by [`crate::kde::kernel_density`]
//! (linear binning + FFT). This is the retrospective KDE hotspot map used
//! as a forecast, as evaluated by Chainey, Tompson & Uhlig, "The utility of
//! hotspot mapping for predicting spatial patterns of crime", Security
//! Journal 21 (2008), who found KDE the most accurate of the common mapping
//! methods.
//!
//! Defaults: a window of one year and a bandwidth of 100 m, chosen on
//! Toronto's data (250 m cells, next-day forecasts, `examples/forecast_speed.rs`).
//! Mean hit rates at 1 / 5 / 10 % of the area over 60 origins at the end of 2019:
//!
//! | window \ bandwidth | 100 m | 150 m | 250 m | 400 m |
//! |---|---|---|---|---|
//! | 28 days | .118 / .287 / .399 | .115 / .291 / .399 | .109 / .279 / .386 | .104 / .259 / .360 |
//! | 56 days | .122 / .305 / .415 | .114 / .304 / .415 | .111 / .279 / .391 | .102 / .256 / .361 |
//! | 91 days | .121 / .315 / .437 | .114 / .307 / .424 | .110 / .281 / .394 | .101 / .251 / .364 |
//! | 365 days | **.125 / .326 / .451** | .115 / .310 / .436 | .108 / .286 / .397 | .097 / .261 / .365 |
//!
//! Sixty origins in mid-2019 showed the same pattern (best again one year at
//! 100 m: .138 / .334 / .468; 28 days at 250 m: .123 / .285 / .392). The
//! hotspots of a year are a better guide to tomorrow than those of the last
//! month (crime concentration is stable), and a bandwidth below the cell size
//! ranks cells mostly by their own history, shared a little with their
//! neighbours. Square cells only. Cost O(n + N log N) for N padded grid nodes.

use super::{Event, ForecastArea, Window, check_positive, history};
use crate::AnalysisError;
use crate::grid::CellShape;
use crate::kde::{Bandwidth, KdeParams, Kernel, kernel_density};

pub(crate) const NAME: &str = "rolling-kde";

/// Parameters of [`rolling_kde_forecast`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollingKdeParams {
    /// How far back events are taken, hours. Default 365 days.
    pub window_hours: f64,
    /// Gaussian bandwidth (standard deviation), metres. Default 100 m.
    pub bandwidth_metres: f64,
}

impl Default for RollingKdeParams {
    fn default() -> Self {
        Self { window_hours: 365.0 * 24.0, bandwidth_metres: 100.0 }
    }
}

/// Kernel density of the recent events, per km², at each cell's centre.
///
/// ```
/// use qalqan_analysis::forecast::{Event, ForecastArea, RollingKdeParams, Window, rolling_kde_forecast};
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let grid = Grid::covering([0.0, 0.0, 1999.0, 1999.0], &GridParams::default()).unwrap(); // 8 × 8
/// let area = ForecastArea::new(&grid, None).unwrap();
/// let events: Vec<Event> = (0..20).map(|k| Event::new(1110.0, 1120.0, k as f64, 1.0).unwrap()).collect();
/// let s = rolling_kde_forecast(&events, &area, Window::new(100.0, 24.0).unwrap(), &RollingKdeParams::default()).unwrap();
/// let hottest = (0..64).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
/// assert_eq!(hottest, grid.cell_of(1110.0, 1120.0).unwrap());
/// ```
pub fn rolling_kde_forecast(
    events: &[Event],
    area: &ForecastArea<'_>,
    window: Window,
    params: &RollingKdeParams,
) -> Result<Vec<f64>, AnalysisError> {
    check_positive("KDE window hours", params.window_hours)?;
    check_positive("KDE bandwidth metres", params.bandwidth_metres)?;
    let grid = area.grid();
    if grid.shape() != CellShape::Square {
        return Err(AnalysisError::ForecastNeedsSquareCells { model: NAME });
    }
    let points: Vec<(f64, f64)> =
        history(events, grid, window.origin(), window.origin() - params.window_hours).iter().map(|(e, _)| (e.x(), e.y())).collect();
    if points.is_empty() {
        return Ok(vec![0.0; grid.len()]);
    }
    let kde = KdeParams { kernel: Kernel::Gaussian, bandwidth: Bandwidth::Metres(params.bandwidth_metres) };
    Ok(kernel_density(&points, grid, &kde)?.density_km2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::tests::{ev, square};
    use crate::grid::{Grid, GridParams};

    #[test]
    fn uses_only_the_window_before_the_origin() {
        let grid = square(8, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let p = RollingKdeParams { window_hours: 100.0, bandwidth_metres: 200.0 };
        let w = Window::new(1000.0, 24.0).unwrap();
        let recent = ev(1000.0, 1000.0, 950.0);
        let old = ev(1700.0, 1700.0, 800.0);
        let a = rolling_kde_forecast(&[recent], &area, w, &p).unwrap();
        let b = rolling_kde_forecast(&[recent, old], &area, w, &p).unwrap();
        assert_eq!(a, b);
        let mass: f64 = a.iter().sum::<f64>() * grid.cell_area() / 1e6;
        assert!((mass - 1.0).abs() < 0.01, "{mass}");
    }

    #[test]
    fn refuses_hexagons_and_nonsense_parameters() {
        let hex = Grid::covering([0.0, 0.0, 999.0, 999.0], &GridParams { shape: CellShape::Hexagon, ..Default::default() }).unwrap();
        let area = ForecastArea::new(&hex, None).unwrap();
        let w = Window::new(10.0, 24.0).unwrap();
        assert!(matches!(
            rolling_kde_forecast(&[ev(1.0, 1.0, 1.0)], &area, w, &RollingKdeParams::default()),
            Err(AnalysisError::ForecastNeedsSquareCells { .. })
        ));
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        assert!(rolling_kde_forecast(&[], &area, w, &RollingKdeParams { bandwidth_metres: -1.0, ..Default::default() }).is_err());
    }
}
