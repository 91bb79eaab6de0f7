//! Forecasts on the wire: the grid, events and backtest tables shared by the
//! CLI (`qalqan forecast …`) and the API.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use qalqan_analysis::AnalysisError;
use qalqan_analysis::forecast::backtest::Backtest;
use qalqan_analysis::forecast::{Event, Model, NaiveParams, ProspectiveParams, RollingKdeParams, SeppParams};
use qalqan_analysis::grid::{Grid, GridParams};
use qalqan_analysis::projection::Utm;
use qalqan_domain::{Territory, TimePrecision, Wgs84Point};
use qalqan_store::IncidentRecord;
use serde_json::{Value, json};

/// Hours since the Unix epoch: the forecast clock.
pub fn hours(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 / 3600.0
}

/// The start of local day `date` in `tz`, on the forecast clock.
pub fn local_midnight(date: NaiveDate, tz: Tz) -> Result<f64, qalqan_domain::DomainError> {
    Ok(hours(qalqan_domain::time::local_day_start(date, tz)?))
}

/// Longest time window an incident may have and still be forecast (3 days).
pub const MAX_WINDOW_HOURS: f64 = 72.0;

/// A territory's grid, its cells inside the boundary, and its incidents as forecast events.
pub struct ForecastInput {
    pub projection: Utm,
    pub grid: Grid,
    /// Cells whose centre is inside the boundary; without a boundary, the cells with at least
    /// one incident before the first forecast origin (where incidents are recorded at all: water,
    /// parks and fields out of town would otherwise inflate every PAI).
    pub eligible: Vec<bool>,
    pub events: Vec<Event>,
    /// Incidents known only to the month, or to a window longer than three days.
    pub left_out: usize,
}

impl ForecastInput {
    /// Projects the territory and its incidents, lays a square grid of `cell_metres` over the
    /// boundary (or the incidents), and marks the eligible cells (see the field); `first_origin`
    /// (forecast clock) bounds the history that may define them.
    pub fn new(territory: &Territory, records: &[IncidentRecord], cell_metres: f64, first_origin: f64) -> Result<Self, AnalysisError> {
        let boundary = territory.boundary.as_ref();
        let projection = match boundary {
            Some(b) => {
                let [x0, y0, x1, y1] = b.bbox();
                Utm::for_centre((y0 + y1) / 2.0, (x0 + x1) / 2.0)
            }
            None => Utm::for_points(&records.iter().map(|r| r.location).collect::<Vec<_>>()),
        };
        let mut events = Vec::with_capacity(records.len());
        let mut left_out = 0;
        for r in records {
            let window = (r.end - r.start).num_seconds() as f64 / 3600.0;
            if r.precision == TimePrecision::Month || window > MAX_WINDOW_HOURS {
                left_out += 1;
                continue;
            }
            let (x, y) = projection.forward(r.location);
            events.push(Event::new(x, y, hours(r.start), window.max(0.0))?);
        }
        let mut extent = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        let mut grow = |x: f64, y: f64| extent = [extent[0].min(x), extent[1].min(y), extent[2].max(x), extent[3].max(y)];
        for e in &events {
            grow(e.x(), e.y());
        }
        if let Some(b) = boundary {
            for poly in &b.shape().0 {
                for c in poly.exterior().coords() {
                    if let Ok(p) = Wgs84Point::new(c.y, c.x) {
                        let (x, y) = projection.forward(p);
                        grow(x, y);
                    }
                }
            }
        }
        if extent[0] > extent[2] {
            extent = [0.0, 0.0, 0.0, 0.0];
        }
        let grid = Grid::covering(extent, &GridParams { cell_metres, ..GridParams::default() })?;
        let eligible = match boundary {
            Some(b) => (0..grid.len())
                .map(|i| {
                    let (x, y) = grid.centre(i);
                    b.contains(projection.inverse(x, y))
                })
                .collect(),
            None => {
                let mut seen = vec![false; grid.len()];
                for e in events.iter().filter(|e| e.known_at(first_origin)) {
                    if let Some(c) = grid.cell_of(e.x(), e.y()) {
                        seen[c] = true;
                    }
                }
                seen
            }
        };
        Ok(Self { projection, grid, eligible, events, left_out })
    }
}

/// A model by its short name, with default parameters.
pub fn model_named(name: &str) -> Option<Model> {
    match name {
        "naive" => Some(Model::Naive(NaiveParams::default())),
        "rolling-kde" | "kde" => Some(Model::RollingKde(RollingKdeParams::default())),
        "prospective" => Some(Model::Prospective(ProspectiveParams::default())),
        "sepp" | "etas" => Some(Model::Sepp(SeppParams::default())),
        _ => None,
    }
}

/// The backtest, one line per origin, model and coverage.
pub fn backtest_csv(bt: &Backtest, tz: Tz) -> String {
    let mut out = String::from("origin,model,test_events,coverage,cells,hits,best_hits,hit_rate,pai,pei_star,seconds\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for r in &bt.rows {
        let name = bt.summaries.get(r.model).map_or("?", |s| s.name);
        for m in &r.metrics {
            out.push_str(&format!(
                "{},{name},{},{},{:.2},{:.3},{:.3},{},{},{},{:.4}\n",
                origin_label(r.origin, tz),
                r.test_events,
                m.coverage,
                m.cells,
                m.hits,
                m.best_hits,
                opt(m.hit_rate),
                opt(m.pai),
                opt(m.pei_star),
                r.seconds
            ));
        }
    }
    out
}

/// The backtest's summary per model (and, with `rows`, every origin) as JSON.
pub fn backtest_json(bt: &Backtest, tz: Tz, rows: bool) -> Value {
    let round = |v: Option<f64>| v.map(|v| (v * 1e4).round() / 1e4);
    let summaries: Vec<Value> = bt
        .summaries
        .iter()
        .map(|s| {
            json!({
                "model": s.name, "origins": s.origins, "origins_with_events": s.origins_with_events,
                "test_events": s.test_events, "seconds": (s.seconds * 1000.0).round() / 1000.0,
                "coverages": s.coverages.iter().map(|c| json!({
                    "coverage": c.coverage, "mean_hit_rate": round(c.mean_hit_rate), "pooled_hit_rate": round(c.pooled_hit_rate),
                    "mean_pai": round(c.mean_pai), "mean_pei_star": round(c.mean_pei_star),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut v = json!({ "models": summaries });
    if rows {
        v["rows"] = bt
            .rows
            .iter()
            .map(|r| {
                json!({
                    "origin": origin_label(r.origin, tz), "model": bt.summaries.get(r.model).map_or("?", |s| s.name),
                    "test_events": r.test_events,
                    "hit_rate": r.metrics.iter().map(|m| round(m.hit_rate)).collect::<Vec<_>>(),
                    "pai": r.metrics.iter().map(|m| round(m.pai)).collect::<Vec<_>>(),
                    "pei_star": r.metrics.iter().map(|m| round(m.pei_star)).collect::<Vec<_>>(),
                })
            })
            .collect();
    }
    v
}

/// An origin on the forecast clock as local time, `2019-01-07 00:00`.
pub fn origin_label(h: f64, tz: Tz) -> String {
    DateTime::from_timestamp((h * 3600.0).round() as i64, 0)
        .map_or_else(|| format!("{h}"), |t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
}
