//! Rolling-origin backtests: forecast, wait, score, move on.
//!
//! For each origin `first_origin, first_origin + step, …, ≤ last_origin`
//! every model forecasts `[origin, origin + horizon)` from the events that
//! start before the origin (and, inside each model, only those whose window
//! has ended by it), and the forecast is scored against the window's test
//! events with [`coverage_metrics`]. Origins run in time order, so a model
//! that keeps state (the SEPP warm start) only ever carries information
//! forward. The summary per model averages hit rate, PAI and PEI\* over the
//! origins that had test events (each origin weighs the same), gives the
//! pooled hit rate (all hits over all test events, so busy windows weigh
//! more), and the model's total forecasting time (wall clock, the one
//! measurement of the outside world this crate makes).
//!
//! Cost: origins × (each model's forecast + O(E log E) scoring).

use std::time::Instant;

use super::evaluation::{CoverageMetrics, DEFAULT_COVERAGES, check_coverages, coverage_metrics};
use super::{Event, ForecastArea, Forecaster, Window, check_positive};
use crate::AnalysisError;

/// Most origins one backtest may have.
const MAX_ORIGINS: usize = 1_000_000;

/// The origins, horizon and coverages of a backtest.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestParams {
    /// First forecast origin, hours.
    pub first_origin: f64,
    /// Last forecast origin (included when the steps land on it), hours.
    pub last_origin: f64,
    /// Hours between origins.
    pub step_hours: f64,
    /// Length of each forecast window, hours.
    pub horizon_hours: f64,
    /// Shares of the eligible area to score at. Default 1 %, 5 %, 10 %.
    pub coverages: Vec<f64>,
}

impl BacktestParams {
    /// Next-day forecasts made every day from `first_origin` to `last_origin`.
    pub fn daily(first_origin: f64, last_origin: f64) -> Self {
        Self { first_origin, last_origin, step_hours: 24.0, horizon_hours: 24.0, coverages: DEFAULT_COVERAGES.to_vec() }
    }

    /// Next-week forecasts made every week.
    pub fn weekly(first_origin: f64, last_origin: f64) -> Self {
        Self { step_hours: 168.0, horizon_hours: 168.0, ..Self::daily(first_origin, last_origin) }
    }

    /// The origins, in order.
    pub fn origins(&self) -> Result<Vec<f64>, AnalysisError> {
        check_positive("backtest step hours", self.step_hours)?;
        check_positive("backtest horizon hours", self.horizon_hours)?;
        if !self.first_origin.is_finite() || !self.last_origin.is_finite() {
            return Err(AnalysisError::NotFinite { what: "backtest origins" });
        }
        if self.last_origin < self.first_origin {
            return Err(AnalysisError::InvalidParameter { name: "backtest last origin", reason: "must not be before the first origin" });
        }
        let steps = ((self.last_origin - self.first_origin) / self.step_hours + 1e-9).floor();
        if steps >= MAX_ORIGINS as f64 {
            return Err(AnalysisError::InvalidParameter { name: "backtest origins", reason: "are more than a million; use a longer step" });
        }
        Ok((0..=steps as usize).map(|k| self.first_origin + k as f64 * self.step_hours).collect())
    }
}

/// One model's forecast at one origin, scored.
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestRow {
    /// Forecast origin, hours.
    pub origin: f64,
    /// Index of the model in the list given to [`backtest()`].
    pub model: usize,
    /// Test events in eligible cells.
    pub test_events: u64,
    /// One entry per coverage, in the order of [`BacktestParams::coverages`].
    pub metrics: Vec<CoverageMetrics>,
    /// Wall-clock time of the forecast (fitting included), seconds.
    pub seconds: f64,
}

/// A model's results at one coverage, over all origins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverageSummary {
    /// Share of the eligible area.
    pub coverage: f64,
    /// Mean over origins with test events.
    pub mean_hit_rate: Option<f64>,
    /// Mean over origins with test events.
    pub mean_pai: Option<f64>,
    /// Mean over origins with test events.
    pub mean_pei_star: Option<f64>,
    /// Σ hits / Σ test events over all origins.
    pub pooled_hit_rate: Option<f64>,
}

/// One model's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSummary {
    /// Index of the model in the list given to [`backtest()`].
    pub model: usize,
    /// The model's [`Forecaster::name`].
    pub name: &'static str,
    /// Origins forecast.
    pub origins: usize,
    /// Origins whose window had test events (the means are over these).
    pub origins_with_events: usize,
    /// Test events over all windows.
    pub test_events: u64,
    /// One entry per coverage.
    pub coverages: Vec<CoverageSummary>,
    /// Total forecasting time, seconds.
    pub seconds: f64,
}

/// Everything a backtest measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Origin-major: all models at the first origin, then the second, …
    pub rows: Vec<BacktestRow>,
    /// One per model, in the order given.
    pub summaries: Vec<ModelSummary>,
}

/// Runs `models` over the origins of `params`, reporting `progress(done, total)`
/// after each forecast (total = origins × models).
///
/// ```
/// use qalqan_analysis::forecast::{BacktestParams, Event, ForecastArea, Model, backtest};
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let grid = Grid::covering([0.0, 0.0, 999.0, 999.0], &GridParams::default()).unwrap();
/// let area = ForecastArea::new(&grid, None).unwrap();
/// // Two events a day for 30 days: one always in the same place, one anywhere in the top half.
/// let events: Vec<Event> = (0..30)
///     .flat_map(|d| {
///         let (t, wander) = (24.0 * d as f64, (370.0 * d as f64) % 1000.0);
///         [Event::new(100.0, 100.0, t, 24.0).unwrap(), Event::new(wander, 500.0 + wander / 2.0, t, 24.0).unwrap()]
///     })
///     .collect();
/// let mut models: Vec<_> = Model::all_default().iter().map(|m| m.forecaster()).collect();
/// let params = BacktestParams { coverages: vec![1.0 / 16.0], ..BacktestParams::daily(24.0 * 20.0, 24.0 * 29.0) };
/// let result = backtest(&events, &area, &mut models, &params, &|_, _| {}).unwrap();
/// assert_eq!(result.rows.len(), 10 * 4);
/// for s in &result.summaries {
///     assert_eq!(s.coverages[0].mean_hit_rate, Some(0.5), "{}", s.name); // the fixed place, every day
/// }
/// ```
pub fn backtest(
    events: &[Event],
    area: &ForecastArea<'_>,
    models: &mut [Box<dyn Forecaster>],
    params: &BacktestParams,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Backtest, AnalysisError> {
    let origins = params.origins()?;
    check_coverages(&params.coverages)?;
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| a.t().total_cmp(&b.t()));
    let total = origins.len() * models.len();
    let mut rows = Vec::with_capacity(total);
    let mut seconds = vec![0.0; models.len()];
    for (k, &origin) in origins.iter().enumerate() {
        let window = Window::new(origin, params.horizon_hours)?;
        // Models see only events starting before the origin (and filter further themselves).
        let before = &sorted[..sorted.partition_point(|e| e.t() < origin)];
        let observed = area.observed(&sorted, window);
        for (m, model) in models.iter_mut().enumerate() {
            let clock = Instant::now();
            let scores = model.forecast(before, area, window)?;
            let elapsed = clock.elapsed().as_secs_f64();
            seconds[m] += elapsed;
            let metrics = coverage_metrics(&scores, &observed, area, &params.coverages)?;
            let test_events = metrics.first().map_or_else(|| eligible_total(&observed, area), |c| c.events);
            rows.push(BacktestRow { origin, model: m, test_events, metrics, seconds: elapsed });
            progress(k * seconds.len() + m + 1, total);
        }
    }
    let summaries = models.iter().enumerate().map(|(m, model)| summarise(m, model.name(), &rows, &params.coverages, seconds[m])).collect();
    Ok(Backtest { rows, summaries })
}

fn eligible_total(observed: &[u32], area: &ForecastArea<'_>) -> u64 {
    observed.iter().enumerate().filter(|&(i, _)| area.is_eligible(i)).map(|(_, &c)| u64::from(c)).sum()
}

fn summarise(model: usize, name: &'static str, rows: &[BacktestRow], coverages: &[f64], seconds: f64) -> ModelSummary {
    let mine: Vec<&BacktestRow> = rows.iter().filter(|r| r.model == model).collect();
    let with_events: Vec<&BacktestRow> = mine.iter().copied().filter(|r| r.test_events > 0).collect();
    let test_events: u64 = mine.iter().map(|r| r.test_events).sum();
    let mean = |f: &dyn Fn(&CoverageMetrics) -> Option<f64>, c: usize| {
        let values: Vec<f64> = with_events.iter().filter_map(|r| f(&r.metrics[c])).collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let summaries = coverages
        .iter()
        .enumerate()
        .map(|(c, &coverage)| {
            let hits: f64 = mine.iter().map(|r| r.metrics[c].hits).sum();
            CoverageSummary {
                coverage,
                mean_hit_rate: mean(&|m| m.hit_rate, c),
                mean_pai: mean(&|m| m.pai, c),
                mean_pei_star: mean(&|m| m.pei_star, c),
                pooled_hit_rate: (test_events > 0).then(|| hits / test_events as f64),
            }
        })
        .collect();
    ModelSummary { model, name, origins: mine.len(), origins_with_events: with_events.len(), test_events, coverages: summaries, seconds }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::tests::{clustered, ev, square};
    use crate::forecast::{Model, NaiveParams};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Scores the cells by the events it is given that are *not* known at the origin: a cheat.
    struct Peeker;

    impl Forecaster for Peeker {
        fn name(&self) -> &'static str {
            "peeker"
        }

        fn forecast(&mut self, events: &[Event], area: &ForecastArea<'_>, window: Window) -> Result<Vec<f64>, AnalysisError> {
            let mut s = vec![0.0; area.grid().len()];
            for e in events.iter().filter(|e| e.t() >= window.origin()) {
                if let Some(c) = area.grid().cell_of(e.x(), e.y()) {
                    s[c] += 1.0;
                }
            }
            Ok(s)
        }
    }

    #[test]
    fn origins_step_from_first_to_last() {
        assert_eq!(BacktestParams::daily(0.0, 48.0).origins().unwrap(), vec![0.0, 24.0, 48.0]);
        assert_eq!(BacktestParams::weekly(0.0, 200.0).origins().unwrap(), vec![0.0, 168.0]);
        assert!(BacktestParams::daily(10.0, 0.0).origins().is_err());
        assert!(BacktestParams { step_hours: 0.0, ..BacktestParams::daily(0.0, 1.0) }.origins().is_err());
        assert!(BacktestParams::daily(0.0, 1e12).origins().is_err());
    }

    #[test]
    fn models_are_never_handed_events_from_the_test_window() {
        let grid = square(8, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let events = clustered(2, 800);
        let mut models: Vec<Box<dyn Forecaster>> = vec![Box::new(Peeker)];
        let r = backtest(&events, &area, &mut models, &BacktestParams::daily(24.0 * 100.0, 24.0 * 110.0), &|_, _| {}).unwrap();
        // The cheat sees nothing after the origin, so it scores every cell 0 and its ranking is by index.
        let ranked_by_index =
            coverage_metrics(&vec![0.0; 64], &area.observed(&events, Window::new(24.0 * 100.0, 24.0).unwrap()), &area, &DEFAULT_COVERAGES)
                .unwrap();
        assert_eq!(r.rows[0].metrics, ranked_by_index);
    }

    #[test]
    fn summaries_average_over_origins_with_events_and_report_progress() {
        let grid = square(4, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        // An event every other day in cell 0, and one on day 5 in cell 15.
        let mut events: Vec<Event> = (0..10).map(|d| ev(10.0, 10.0, 48.0 * d as f64)).collect();
        events.push(ev(990.0, 990.0, 24.0 * 5.0 + 3.0));
        let calls = AtomicUsize::new(0);
        let mut models = vec![Model::Naive(NaiveParams { lookback: crate::forecast::Lookback::Hours(48.0) }).forecaster()];
        let params = BacktestParams { coverages: vec![1.0 / 16.0, 1.0], ..BacktestParams::daily(24.0, 24.0 * 8.0) };
        let r = backtest(&events, &area, &mut models, &params, &|done, total| {
            assert_eq!(total, 8);
            calls.fetch_add(1, Ordering::Relaxed);
            assert!(done <= total);
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 8);
        let s = &r.summaries[0];
        // Origins 1..=8 days: test events on days 2, 4, 6, 8 (cell 0) and day 5 (cell 15).
        assert_eq!((s.origins, s.origins_with_events, s.test_events), (8, 5, 5));
        // Naive over 48 h always has cell 0 on top: it catches the 4 cell-0 days, misses day 5.
        assert_eq!(s.coverages[0].mean_hit_rate, Some(0.8));
        assert_eq!(s.coverages[0].pooled_hit_rate, Some(0.8));
        assert_eq!(s.coverages[0].mean_pai, Some(0.8 * 16.0));
        assert_eq!(s.coverages[1].mean_hit_rate, Some(1.0));
        assert!(s.seconds >= 0.0);
    }
}
