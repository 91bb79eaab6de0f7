//! Short-term hotspot forecasting on a grid, and honest backtests.
//!
//! Every model scores each grid cell for a window `[origin, origin + horizon)`
//! from the events known before `origin`; [`evaluation`] ranks the cells and
//! measures hit rate, PAI and PEI\* at fixed shares of the area; [`backtest()`]
//! rolls the origin over a period.
//!
//! | Model | Follows | Score | Cost per forecast |
//! |---|---|---|---|
//! | [`naive`] | — | events per cell in the last period as long as the horizon | O(n + cells) |
//! | [`rolling_kde`] | Chainey, Tompson & Uhlig 2008 (KDE hotspot maps) | Gaussian KDE of the last year | O(n + N log N), N padded cells |
//! | [`prospective`] | Bowers, Johnson & Pease 2004 | Σ 1/(1 + cells away) · 1/(1 + weeks ago) | O(n · r²), r the band in cells |
//! | [`sepp`] | Mohler et al. 2011, 2015 | expected count of a self-exciting process fitted by EM | fit O(pairs · iterations), forecast O(n · (R/cell)² + cells) |
//!
//! On Toronto's major-crime records (next-day forecasts at every day of 2019,
//! 250 m cells, defaults, `examples/forecast_speed.rs`), mean hit rate / PAI
//! at 1 %, 5 % and 10 % of the area were: naive .056 / 5.6, .089 / 1.8,
//! .141 / 1.4; rolling KDE .127 / 12.7, .329 / 6.6, .462 / 4.6; prospective
//! .115 / 11.5, .287 / 5.7, .395 / 4.0; SEPP .138 / 13.8, .333 / 6.7,
//! .466 / 4.7. (The KDE and SEPP defaults were chosen on two 60-day stretches
//! of that year, so this is not a clean hold-out; see [`sepp`] for what its
//! fitted triggering means on those data.)
//!
//! # The data rules
//!
//! - An [`Event`] is a place in projected metres and a time window in hours:
//!   it happened somewhere in `[t, t + precision)` (precision 1 for
//!   hour-resolution records, 24 for day-resolution ones).
//! - **No leakage.** A forecast for `[origin, …)` uses only events whose whole
//!   window lies before the origin (`t + precision ≤ origin`); every model
//!   filters its input itself ([`Event::known_at`]), whatever the caller
//!   passes, and the tests add future events and check nothing changes. An
//!   event whose window straddles the origin is in neither the history nor
//!   (see below) the test set.
//! - **Test events** of a window are those whose window *starts* in it
//!   (`origin ≤ t < origin + horizon`); use horizons no shorter than the
//!   data's precision.
//! - **The area** is a [`Grid`] plus an optional mask of eligible cells (those
//!   inside the territory): ranking, area shares and test events count only
//!   eligible cells. Events off the grid are ignored by every model.
//!
//! # Example
//!
//! ```
//! use qalqan_analysis::forecast::{Event, ForecastArea, Model, Window};
//! use qalqan_analysis::forecast::evaluation::coverage_metrics;
//! use qalqan_analysis::grid::{Grid, GridParams};
//! let grid = Grid::covering([0.0, 0.0, 999.0, 999.0], &GridParams::default()).unwrap(); // 4 × 4 cells of 250 m
//! let area = ForecastArea::new(&grid, None).unwrap();
//! // Ten days of one event a day in cell 5, then one test event there.
//! let mut events: Vec<Event> = (0..10).map(|d| Event::new(300.0, 300.0, 24.0 * d as f64, 24.0).unwrap()).collect();
//! events.push(Event::new(310.0, 320.0, 240.0, 24.0).unwrap());
//! let window = Window::new(240.0, 24.0).unwrap();
//! for model in Model::all_default() {
//!     let scores = model.forecaster().forecast(&events, &area, window).unwrap();
//!     let m = coverage_metrics(&scores, &area.observed(&events, window), &area, &[1.0 / 16.0]).unwrap();
//!     assert_eq!(m[0].hit_rate, Some(1.0), "{}", model.name()); // the one top cell holds the test event
//! }
//! ```

use crate::AnalysisError;
use crate::grid::Grid;

pub mod backtest;
pub mod evaluation;
pub mod naive;
pub mod prospective;
pub mod rolling_kde;
pub mod sepp;

pub use backtest::{Backtest, BacktestParams, backtest};
pub use evaluation::{CoverageMetrics, coverage_metrics};
pub use naive::{Lookback, NaiveParams, naive_forecast};
pub use prospective::{ProspectiveParams, prospective_forecast};
pub use rolling_kde::{RollingKdeParams, rolling_kde_forecast};
pub use sepp::{Refit, SeppFit, SeppForecaster, SeppParams, fit_sepp};

/// One incident as the forecasts see it: where (projected metres) and the
/// window of time it is known to lie in (hours since any fixed epoch).
///
/// ```
/// use qalqan_analysis::forecast::Event;
/// let e = Event::new(1000.0, 2000.0, 48.0, 24.0).unwrap(); // some time on day 2
/// assert_eq!(e.end(), 72.0);
/// assert!(e.known_at(72.0) && !e.known_at(71.0));
/// assert!(Event::new(0.0, 0.0, f64::NAN, 1.0).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    x: f64,
    y: f64,
    t: f64,
    precision: f64,
}

impl Event {
    /// An event at (`x`, `y`) metres that happened in `[t, t + precision)` hours.
    /// Coordinates and time must be finite, the precision finite and ≥ 0.
    pub fn new(x: f64, y: f64, t: f64, precision: f64) -> Result<Self, AnalysisError> {
        if !x.is_finite() || !y.is_finite() {
            return Err(AnalysisError::NotFinite { what: "event coordinates" });
        }
        if !t.is_finite() {
            return Err(AnalysisError::NotFinite { what: "event time" });
        }
        if !precision.is_finite() || precision < 0.0 {
            return Err(AnalysisError::InvalidParameter { name: "event precision", reason: "must be a finite number of hours ≥ 0" });
        }
        Ok(Self { x, y, t, precision })
    }

    /// Easting, metres.
    pub fn x(&self) -> f64 {
        self.x
    }

    /// Northing, metres.
    pub fn y(&self) -> f64 {
        self.y
    }

    /// Start of the time window, hours.
    pub fn t(&self) -> f64 {
        self.t
    }

    /// Width of the time window, hours.
    pub fn precision(&self) -> f64 {
        self.precision
    }

    /// End of the time window (exclusive), hours.
    pub fn end(&self) -> f64 {
        self.t + self.precision
    }

    /// Midpoint of the time window, hours.
    pub fn mid(&self) -> f64 {
        self.t + self.precision / 2.0
    }

    /// True when the event certainly happened before `origin`: its whole window ends by then
    /// (and an exact time equal to the origin belongs to the forecast window, not before it).
    pub fn known_at(&self, origin: f64) -> bool {
        self.end() <= origin && self.t < origin
    }
}

/// The forecast window `[origin, origin + horizon)`, hours.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    origin: f64,
    horizon: f64,
}

impl Window {
    /// A window starting at `origin` and lasting `horizon` hours (finite, > 0).
    pub fn new(origin: f64, horizon: f64) -> Result<Self, AnalysisError> {
        if !origin.is_finite() {
            return Err(AnalysisError::NotFinite { what: "forecast origin" });
        }
        if !horizon.is_finite() || horizon <= 0.0 {
            return Err(AnalysisError::InvalidParameter { name: "forecast horizon", reason: "must be a positive number of hours" });
        }
        Ok(Self { origin, horizon })
    }

    /// First hour of the window: the forecast sees only events known by then.
    pub fn origin(&self) -> f64 {
        self.origin
    }

    /// Length of the window, hours.
    pub fn horizon(&self) -> f64 {
        self.horizon
    }

    /// End of the window (exclusive).
    pub fn end(&self) -> f64 {
        self.origin + self.horizon
    }

    /// True when the event's window starts inside this window: a test event.
    pub fn contains(&self, e: &Event) -> bool {
        e.t >= self.origin && e.t < self.end()
    }
}

/// A grid and the cells of it that count (inside the territory).
#[derive(Debug, Clone, Copy)]
pub struct ForecastArea<'a> {
    grid: &'a Grid,
    eligible: Option<&'a [bool]>,
    eligible_cells: usize,
}

impl<'a> ForecastArea<'a> {
    /// The area of `grid`, restricted to the cells marked `true` in `eligible`
    /// (one flag per grid cell) when given; all cells otherwise.
    pub fn new(grid: &'a Grid, eligible: Option<&'a [bool]>) -> Result<Self, AnalysisError> {
        let eligible_cells = match eligible {
            Some(mask) if mask.len() != grid.len() => {
                return Err(AnalysisError::LengthMismatch { what: "eligible-cell mask", expected: grid.len(), got: mask.len() });
            }
            Some(mask) => mask.iter().filter(|&&b| b).count(),
            None => grid.len(),
        };
        Ok(Self { grid, eligible, eligible_cells })
    }

    /// The grid.
    pub fn grid(&self) -> &'a Grid {
        self.grid
    }

    /// True when cell `i` counts for ranking and area.
    pub fn is_eligible(&self, i: usize) -> bool {
        self.eligible.is_none_or(|mask| mask[i])
    }

    /// Number of eligible cells.
    pub fn eligible_cells(&self) -> usize {
        self.eligible_cells
    }

    /// Test events of `window` per grid cell (all cells; evaluation reads the eligible ones).
    pub fn observed(&self, events: &[Event], window: Window) -> Vec<u32> {
        let mut counts = vec![0u32; self.grid.len()];
        for e in events.iter().filter(|e| window.contains(e)) {
            if let Some(i) = self.grid.cell_of(e.x, e.y) {
                counts[i] += 1;
            }
        }
        counts
    }
}

/// A forecasting model: scores per grid cell for a window, from the events known at its origin.
///
/// Implementations must use only events with [`Event::known_at`]`(window.origin())`;
/// `&mut self` lets a model keep state between successive origins (warm starts).
pub trait Forecaster: Send {
    /// Short name for tables ("naive", "rolling-kde", "prospective", "sepp").
    fn name(&self) -> &'static str;

    /// One score per grid cell (higher = more expected events) for `window`.
    fn forecast(&mut self, events: &[Event], area: &ForecastArea<'_>, window: Window) -> Result<Vec<f64>, AnalysisError>;
}

/// The built-in models with their parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Last period's counts ([`naive_forecast`]).
    Naive(NaiveParams),
    /// Kernel density of the recent past ([`rolling_kde_forecast`]).
    RollingKde(RollingKdeParams),
    /// Prospective hotspotting ([`prospective_forecast`]).
    Prospective(ProspectiveParams),
    /// Self-exciting point process ([`fit_sepp`], [`SeppFit::expected_counts`]).
    Sepp(SeppParams),
}

impl Model {
    /// Every built-in model with its default parameters, in the order of the table above.
    pub fn all_default() -> Vec<Model> {
        vec![
            Model::Naive(NaiveParams::default()),
            Model::RollingKde(RollingKdeParams::default()),
            Model::Prospective(ProspectiveParams::default()),
            Model::Sepp(SeppParams::default()),
        ]
    }

    /// The model's short name.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Naive(_) => naive::NAME,
            Model::RollingKde(_) => rolling_kde::NAME,
            Model::Prospective(_) => prospective::NAME,
            Model::Sepp(_) => sepp::NAME,
        }
    }

    /// A fresh forecaster for this model (the SEPP one warm-starts from its previous fit).
    pub fn forecaster(&self) -> Box<dyn Forecaster> {
        match self {
            Model::Sepp(p) => Box::new(SeppForecaster::new(*p)),
            other => Box::new(Stateless(*other)),
        }
    }
}

/// The models without state between origins.
struct Stateless(Model);

impl Forecaster for Stateless {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn forecast(&mut self, events: &[Event], area: &ForecastArea<'_>, window: Window) -> Result<Vec<f64>, AnalysisError> {
        match &self.0 {
            Model::Naive(p) => naive_forecast(events, area, window, p),
            Model::RollingKde(p) => rolling_kde_forecast(events, area, window, p),
            Model::Prospective(p) => prospective_forecast(events, area, window, p),
            Model::Sepp(p) => SeppForecaster::new(*p).forecast(events, area, window),
        }
    }
}

/// The events known at `origin` whose window starts at or after `since`, with their grid cells;
/// events off the grid are dropped. Every model reads its history through this.
fn history(events: &[Event], grid: &Grid, origin: f64, since: f64) -> Vec<(Event, usize)> {
    events.iter().filter(|e| e.known_at(origin) && e.t >= since).filter_map(|e| grid.cell_of(e.x, e.y).map(|c| (*e, c))).collect()
}

fn check_positive(name: &'static str, value: f64) -> Result<(), AnalysisError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(AnalysisError::InvalidParameter { name, reason: "must be a positive finite number" })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grid::GridParams;
    use crate::rng::Rng;

    pub(crate) fn ev(x: f64, y: f64, t: f64) -> Event {
        Event::new(x, y, t, 1.0).unwrap()
    }

    pub(crate) fn square(cells: usize, cell: f64) -> Grid {
        let side = cells as f64 * cell - 1e-6;
        Grid::covering([0.0, 0.0, side, side], &GridParams { cell_metres: cell, ..Default::default() }).unwrap()
    }

    /// A year of clustered events on a 2 km square: a few hot places, repeats nearby.
    pub(crate) fn clustered(seed: u64, n: usize) -> Vec<Event> {
        let mut rng = Rng::seed(seed);
        let hot = [(400.0, 400.0), (1500.0, 700.0), (900.0, 1600.0)];
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let t = (rng.unit() * 24.0 * 365.0).floor();
            let (x, y) = if rng.unit() < 0.6 {
                let (hx, hy) = hot[rng.below(3) as usize];
                (hx + (rng.unit() - 0.5) * 300.0, hy + (rng.unit() - 0.5) * 300.0)
            } else {
                (rng.unit() * 2000.0, rng.unit() * 2000.0)
            };
            out.push(ev(x, y, t));
        }
        out
    }

    #[test]
    fn events_and_windows_refuse_nonsense() {
        assert!(Event::new(f64::INFINITY, 0.0, 0.0, 1.0).is_err());
        assert!(Event::new(0.0, 0.0, 0.0, -1.0).is_err());
        assert!(Event::new(0.0, 0.0, 0.0, 0.0).is_ok());
        assert!(Window::new(0.0, 0.0).is_err());
        assert!(Window::new(f64::NAN, 1.0).is_err());
        let w = Window::new(10.0, 5.0).unwrap();
        assert!(w.contains(&ev(0.0, 0.0, 10.0)) && w.contains(&ev(0.0, 0.0, 14.9)) && !w.contains(&ev(0.0, 0.0, 15.0)));
    }

    #[test]
    fn area_checks_the_mask_length_and_counts_eligible_cells() {
        let grid = square(4, 250.0);
        assert!(matches!(ForecastArea::new(&grid, Some(&[true; 3])), Err(AnalysisError::LengthMismatch { .. })));
        let mut mask = vec![true; 16];
        mask[0] = false;
        let area = ForecastArea::new(&grid, Some(&mask)).unwrap();
        assert_eq!(area.eligible_cells(), 15);
        assert!(!area.is_eligible(0) && area.is_eligible(1));
        let w = Window::new(0.0, 24.0).unwrap();
        let obs = area.observed(&[ev(10.0, 10.0, 1.0), ev(10.0, 10.0, 30.0), ev(5000.0, 10.0, 1.0)], w);
        assert_eq!(obs.iter().sum::<u32>(), 1);
    }

    #[test]
    fn an_exact_time_at_the_origin_is_a_test_event_not_history() {
        let grid = square(4, 250.0);
        let at_origin = Event::new(10.0, 10.0, 12.0, 0.0).unwrap();
        assert!(history(&[at_origin], &grid, 12.0, f64::NEG_INFINITY).is_empty());
        assert!(Window::new(12.0, 24.0).unwrap().contains(&at_origin));
        assert_eq!(history(&[at_origin], &grid, 12.5, f64::NEG_INFINITY).len(), 1);
    }

    #[test]
    fn an_event_straddling_the_origin_is_neither_history_nor_test() {
        let grid = square(4, 250.0);
        let day = Event::new(10.0, 10.0, 0.0, 24.0).unwrap();
        assert!(history(&[day], &grid, 12.0, f64::NEG_INFINITY).is_empty());
        assert!(!Window::new(12.0, 24.0).unwrap().contains(&day));
        assert_eq!(history(&[day], &grid, 24.0, f64::NEG_INFINITY).len(), 1);
    }

    #[test]
    fn no_model_changes_its_forecast_when_future_events_are_added() {
        let grid = square(8, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let past = clustered(11, 600);
        let origin = 24.0 * 200.0;
        let window = Window::new(origin, 24.0 * 7.0).unwrap();
        let mut with_future = past.clone();
        // Events not known at the origin, interleaved: some straddling it, many in the test window.
        let mut rng = Rng::seed(5);
        for k in 0..400 {
            let p = if k % 3 == 0 { 24.0 } else { 1.0 };
            let t = origin - p / 2.0 + rng.unit() * 24.0 * 100.0;
            with_future
                .insert(rng.below(with_future.len() as u64) as usize, Event::new(rng.unit() * 2000.0, rng.unit() * 2000.0, t, p).unwrap());
        }
        let known: Vec<Event> = past.iter().filter(|e| e.known_at(origin)).copied().collect();
        for model in Model::all_default() {
            let a = model.forecaster().forecast(&known, &area, window).unwrap();
            let b = model.forecaster().forecast(&with_future, &area, window).unwrap();
            assert_eq!(a, b, "{} leaked future events", model.name());
        }
    }

    #[test]
    fn every_model_handles_no_events_and_one_event() {
        let grid = square(6, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let window = Window::new(1000.0, 24.0).unwrap();
        for model in Model::all_default() {
            let empty = model.forecaster().forecast(&[], &area, window).unwrap();
            assert_eq!(empty.len(), grid.len());
            assert!(empty.iter().all(|&s| s == 0.0), "{}", model.name());
            let one = model.forecaster().forecast(&[ev(700.0, 700.0, 990.0)], &area, window).unwrap();
            let best = (0..grid.len()).max_by(|&a, &b| one[a].total_cmp(&one[b]).then(b.cmp(&a))).unwrap();
            assert_eq!(best, grid.cell_of(700.0, 700.0).unwrap(), "{}", model.name());
            assert!(one.iter().all(|s| s.is_finite() && *s >= 0.0));
        }
    }

    #[test]
    fn every_model_puts_a_single_hot_cell_first() {
        let grid = square(6, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let window = Window::new(24.0 * 30.0, 24.0).unwrap();
        let events: Vec<Event> = (0..60).map(|k| ev(880.0 + (k % 5) as f64, 640.0, 12.0 * k as f64)).collect();
        let hot = grid.cell_of(880.0, 640.0).unwrap();
        for model in Model::all_default() {
            let s = model.forecaster().forecast(&events, &area, window).unwrap();
            let best = (0..grid.len()).max_by(|&a, &b| s[a].total_cmp(&s[b]).then(b.cmp(&a))).unwrap();
            assert_eq!(best, hot, "{}", model.name());
        }
    }
}
