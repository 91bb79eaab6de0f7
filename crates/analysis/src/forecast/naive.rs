//! The naive forecast: next period looks like the last one.
//!
//! Score of a cell = number of events known at the origin whose window
//! starts in `[origin − lookback, origin)`. The baseline every other model
//! must beat (with one-day horizons on city data it is a strong "repeat
//! places" predictor and a weak one elsewhere). Cost O(n + cells).

use super::{Event, ForecastArea, Window, check_positive, history};
use crate::AnalysisError;

pub(crate) const NAME: &str = "naive";

/// How far back the naive forecast counts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Lookback {
    /// A period as long as the forecast horizon (default): yesterday for tomorrow, last week for next week.
    #[default]
    Horizon,
    /// A fixed number of hours.
    Hours(f64),
}

/// Parameters of [`naive_forecast`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NaiveParams {
    /// Default: as long as the horizon.
    pub lookback: Lookback,
}

/// Events per cell in the last period.
///
/// ```
/// use qalqan_analysis::forecast::{Event, ForecastArea, NaiveParams, Window, naive_forecast};
/// use qalqan_analysis::grid::{Grid, GridParams};
/// let grid = Grid::covering([0.0, 0.0, 499.0, 249.0], &GridParams::default()).unwrap(); // 2 cells
/// let area = ForecastArea::new(&grid, None).unwrap();
/// let events = [
///     Event::new(10.0, 10.0, 30.0, 1.0).unwrap(),  // yesterday, cell 0
///     Event::new(300.0, 10.0, 5.0, 1.0).unwrap(),  // two days ago, cell 1: outside the lookback
///     Event::new(300.0, 10.0, 50.0, 1.0).unwrap(), // in the forecast window: not used
/// ];
/// let s = naive_forecast(&events, &area, Window::new(48.0, 24.0).unwrap(), &NaiveParams::default()).unwrap();
/// assert_eq!(s, vec![1.0, 0.0]);
/// ```
pub fn naive_forecast(events: &[Event], area: &ForecastArea<'_>, window: Window, params: &NaiveParams) -> Result<Vec<f64>, AnalysisError> {
    let lookback = match params.lookback {
        Lookback::Horizon => window.horizon(),
        Lookback::Hours(h) => {
            check_positive("naive lookback hours", h)?;
            h
        }
    };
    let mut scores = vec![0.0; area.grid().len()];
    for (_, cell) in history(events, area.grid(), window.origin(), window.origin() - lookback) {
        scores[cell] += 1.0;
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::tests::{ev, square};

    #[test]
    fn counts_only_the_lookback_period_before_the_origin() {
        let grid = square(2, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let events = [ev(10.0, 10.0, 0.0), ev(10.0, 10.0, 90.0), ev(10.0, 10.0, 99.0), ev(10.0, 10.0, 100.0), ev(300.0, 300.0, 95.0)];
        let w = Window::new(100.0, 24.0).unwrap();
        let s = naive_forecast(&events, &area, w, &NaiveParams::default()).unwrap();
        assert_eq!(s, vec![2.0, 0.0, 0.0, 1.0]);
        let s = naive_forecast(&events, &area, w, &NaiveParams { lookback: Lookback::Hours(200.0) }).unwrap();
        assert_eq!(s[0], 3.0);
        assert!(naive_forecast(&events, &area, w, &NaiveParams { lookback: Lookback::Hours(0.0) }).is_err());
    }

    #[test]
    fn day_precision_events_count_once_their_day_has_ended() {
        let grid = square(1, 250.0);
        let area = ForecastArea::new(&grid, None).unwrap();
        let today = Event::new(10.0, 10.0, 24.0, 24.0).unwrap();
        let at = |origin: f64| naive_forecast(&[today], &area, Window::new(origin, 24.0).unwrap(), &NaiveParams::default()).unwrap()[0];
        assert_eq!(at(36.0), 0.0); // mid-day: it may not have happened yet
        assert_eq!(at(48.0), 1.0);
    }
}
