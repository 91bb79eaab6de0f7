//! Forecasts on the wire: the grid, events and backtest tables shared by the
//! CLI (`qalqan forecast …`) and the API.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use qalqan_analysis::AnalysisError;
use qalqan_analysis::forecast::backtest::Backtest;
use qalqan_analysis::forecast::{
    BacktestParams, Event, ForecastArea, Forecaster, Model, NaiveParams, ProspectiveParams, RollingKdeParams, SeppForecaster, SeppParams,
    Window, backtest,
};
use serde::Deserialize;

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};
use qalqan_analysis::grid::{Grid, GridParams};
use qalqan_analysis::projection::Utm;
use qalqan_domain::{Territory, TimePrecision, Wgs84Point};
use qalqan_store::IncidentRecord;
use serde_json::{Value, json};

/// The forecast clock: local wall-clock hours since 1970-01-01 00:00 in the territory's time
/// zone. Local midnights are multiples of 24, so days, weeks and shifts line up with the
/// calendar across daylight-saving changes (which only repeat or skip one hour of the clock).
pub fn hours(t: DateTime<Utc>, tz: Tz) -> f64 {
    t.with_timezone(&tz).naive_local().and_utc().timestamp() as f64 / 3600.0
}

/// Local midnight of `date` on the forecast clock.
pub fn local_midnight(date: NaiveDate) -> f64 {
    date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp() as f64 / 3600.0
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
            events.push(Event::new(x, y, hours(r.start, territory.time_zone), window.max(0.0))?);
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
        let mut input = Self { projection, grid, eligible: Vec::new(), events, left_out };
        input.eligible = input.eligible_before(territory, first_origin);
        Ok(input)
    }

    /// The eligible cells when forecasting from `first_origin` on (see the field).
    pub fn eligible_before(&self, territory: &Territory, first_origin: f64) -> Vec<bool> {
        match territory.boundary.as_ref() {
            Some(b) => (0..self.grid.len())
                .map(|i| {
                    let (x, y) = self.grid.centre(i);
                    b.contains(self.projection.inverse(x, y))
                })
                .collect(),
            None => {
                let mut seen = vec![false; self.grid.len()];
                for e in self.events.iter().filter(|e| e.known_at(first_origin)) {
                    if let Some(c) = self.grid.cell_of(e.x(), e.y()) {
                        seen[c] = true;
                    }
                }
                seen
            }
        }
    }

    /// Cell `i`'s outline as a GeoJSON ring of `[lon, lat]`.
    pub fn ring(&self, i: usize) -> Vec<[f64; 2]> {
        // The grid's outline is already closed.
        self.grid
            .outline(i)
            .into_iter()
            .map(|(x, y)| {
                let p = self.projection.inverse(x, y);
                [(p.lon() * 1e6).round() / 1e6, (p.lat() * 1e6).round() / 1e6]
            })
            .collect()
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
pub fn backtest_csv(bt: &Backtest) -> String {
    let mut out = String::from("origin,model,test_events,coverage,cells,hits,best_hits,hit_rate,pai,pei_star,seconds\n");
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.6}"));
    for r in &bt.rows {
        let name = bt.summaries.get(r.model).map_or("?", |s| s.name);
        for m in &r.metrics {
            out.push_str(&format!(
                "{},{name},{},{},{:.2},{:.3},{:.3},{},{},{},{:.4}\n",
                origin_label(r.origin),
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
pub fn backtest_json(bt: &Backtest, rows: bool) -> Value {
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
                    "origin": origin_label(r.origin), "model": bt.summaries.get(r.model).map_or("?", |s| s.name),
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

/// A time on the forecast clock as local time, `2019-01-07 00:00`.
pub fn origin_label(h: f64) -> String {
    DateTime::from_timestamp((h * 3600.0).round() as i64, 0)
        .map_or_else(|| format!("{h}"), |t| t.naive_utc().format("%Y-%m-%d %H:%M").to_string())
}

/// Forecast horizons offered to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Horizon {
    /// The next 8 hours.
    Shift,
    Day,
    Week,
}

impl Horizon {
    /// Parses `shift`, `day` or `week`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "shift" => Some(Horizon::Shift),
            "day" => Some(Horizon::Day),
            "week" => Some(Horizon::Week),
            _ => None,
        }
    }

    pub fn hours(self) -> f64 {
        match self {
            Horizon::Shift => 8.0,
            Horizon::Day => 24.0,
            Horizon::Week => 168.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Horizon::Shift => "shift",
            Horizon::Day => "day",
            Horizon::Week => "week",
        }
    }

    /// Hours between backtest origins: a day for shifts (the same shift each day), else the horizon.
    pub fn step_hours(self) -> f64 {
        self.hours().max(24.0)
    }
}

/// The settings of one forecast map.
#[derive(Debug, Clone, Copy)]
pub struct LayerParams {
    pub model: Model,
    pub horizon: Horizon,
    pub cell_metres: f64,
    /// Share of the area selected.
    pub coverage: f64,
    /// Forecast origin on the forecast clock.
    pub origin: f64,
    /// Backtest origins before `origin` scored for the card.
    pub backtest_origins: usize,
}

/// The local midnight after the last incident: the default forecast origin.
pub fn data_end(territory: &Territory, records: &[IncidentRecord]) -> Option<f64> {
    let last = records.iter().map(|r| r.start.with_timezone(&territory.time_zone).date_naive()).max()?;
    Some(local_midnight(last.succ_opt()?))
}

/// The forecast map: the top cells of `params.model` for the window after the origin, with the
/// model's fit, its recent backtest score against the naive baseline, and each district's share
/// of the forecast area next to its share of the year's incidents.
pub fn forecast_layer(territory: &Territory, records: &[IncidentRecord], params: &LayerParams) -> Result<Value, AnalysisError> {
    let tz = territory.time_zone;
    let step = params.horizon.step_hours();
    let first_backtest = params.origin - step * params.backtest_origins as f64;
    let input = ForecastInput::new(territory, records, params.cell_metres, params.origin)?;
    let area = ForecastArea::new(&input.grid, Some(&input.eligible))?;
    let window = Window::new(params.origin, params.horizon.hours())?;

    // The forecast itself (the SEPP's fit is kept for the card).
    let (scores, fit) = match params.model {
        Model::Sepp(p) => {
            let mut f = SeppForecaster::new(p);
            let scores = f.forecast(&input.events, &area, window)?;
            (scores, f.last_fit().cloned())
        }
        other => (other.forecaster().forecast(&input.events, &area, window)?, None),
    };
    let mut ranked: Vec<usize> = (0..input.grid.len()).filter(|&i| input.eligible[i]).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let selected = ((params.coverage * ranked.len() as f64).ceil() as usize).min(ranked.len());
    let top = &ranked[..selected];

    // Districts: by boundary when districts have one, else the commonest district of a cell's incidents.
    let by_boundary = territory.districts.iter().any(|d| d.boundary.is_some());
    let mut modal: HashMap<usize, HashMap<i64, u32>> = HashMap::new();
    let year_before = params.origin - 365.0 * 24.0;
    let mut incidents_by_district: HashMap<Option<i64>, u64> = HashMap::new();
    let mut incidents_in_year = 0u64;
    for r in records {
        let t = hours(r.start, tz);
        if t >= params.origin {
            continue;
        }
        if !by_boundary && let Some(d) = r.district {
            let (x, y) = input.projection.forward(r.location);
            if let Some(c) = input.grid.cell_of(x, y) {
                *modal.entry(c).or_default().entry(d.0).or_default() += 1;
            }
        }
        if t >= year_before {
            incidents_in_year += 1;
            *incidents_by_district.entry(r.district.map(|d| d.0)).or_default() += 1;
        }
    }
    let district_of = |i: usize| -> Option<i64> {
        if by_boundary {
            let (x, y) = input.grid.centre(i);
            territory.locate_district(input.projection.inverse(x, y)).map(|d| d.0)
        } else {
            modal.get(&i).and_then(|m| m.iter().max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id))).map(|(id, _)| *id))
        }
    };
    let names: HashMap<i64, String> = territory.districts.iter().map(|d| (d.id.0, d.name.to_string())).collect();
    let mut cells_by_district: HashMap<Option<i64>, u64> = HashMap::new();
    let features: Vec<Value> = top
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let d = district_of(i);
            *cells_by_district.entry(d).or_default() += 1;
            json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [input.ring(i)]},
                "properties": {"cell": i, "rank": k + 1, "score": (scores[i] * 1e4).round() / 1e4, "district": d.and_then(|d| names.get(&d))},
            })
        })
        .collect();
    let mut keys: Vec<Option<i64>> = cells_by_district.keys().chain(incidents_by_district.keys()).copied().collect();
    keys.sort();
    keys.dedup();
    let share = |n: u64, of: u64| if of == 0 { 0.0 } else { (n as f64 / of as f64 * 1e4).round() / 1e4 };
    let mut districts: Vec<(f64, Value)> = keys
        .iter()
        .map(|d| {
            let cells = cells_by_district.get(d).copied().unwrap_or(0);
            let incidents = incidents_by_district.get(d).copied().unwrap_or(0);
            let area_share = share(cells, selected as u64);
            (area_share, json!({
                "district": d.and_then(|d| names.get(&d)), "forecast_area_share": area_share, "incident_share": share(incidents, incidents_in_year),
                "forecast_cells": cells, "incidents": incidents,
            }))
        })
        .collect();
    districts.sort_by(|a, b| b.0.total_cmp(&a.0));

    // The card's backtest: this model and the naive baseline over the origins before this one.
    let bt_area_mask = input.eligible_before(territory, first_backtest);
    let bt_area = ForecastArea::new(&input.grid, Some(&bt_area_mask))?;
    let naive = Model::Naive(NaiveParams::default());
    let mut models: Vec<Box<dyn Forecaster>> = vec![params.model.forecaster()];
    if params.model.name() != naive.name() {
        models.push(naive.forecaster());
    }
    let bt_params = BacktestParams {
        first_origin: first_backtest,
        last_origin: params.origin - step,
        step_hours: step,
        horizon_hours: params.horizon.hours(),
        coverages: vec![params.coverage],
    };
    let backtest_json = if params.backtest_origins == 0 {
        Value::Null
    } else {
        let bt = backtest(&input.events, &bt_area, &mut models, &bt_params, &|_, _| {})?;
        let score = |m: usize| {
            bt.summaries.get(m).map(|s| {
                let c = &s.coverages[0];
                let r = |v: Option<f64>| v.map(|v| (v * 1e4).round() / 1e4);
                json!({"hit_rate": r(c.pooled_hit_rate), "pai": r(c.mean_pai), "pei_star": r(c.mean_pei_star), "test_events": s.test_events})
            })
        };
        json!({
            "origins": params.backtest_origins, "first_origin": origin_label(first_backtest), "last_origin": origin_label(params.origin - step),
            "coverage": params.coverage, "model": score(0), "naive": if models.len() > 1 { score(1) } else { score(0) },
        })
    };
    let expected = matches!(params.model, Model::Sepp(_)).then(|| (top.iter().map(|&i| scores[i]).sum::<f64>() * 10.0).round() / 10.0);
    let fit_json = fit.map(|f| {
        json!({
            "theta": (f.theta * 1e4).round() / 1e4, "mean_delay_hours": (1.0 / f.omega_per_hour * 10.0).round() / 10.0,
            "sigma_metres": (f.sigma_metres * 10.0).round() / 10.0, "background_per_day": (f.background_total_per_hour() * 24.0 * 100.0).round() / 100.0,
            "events": f.events, "iterations": f.iterations, "converged": f.converged,
        })
    });
    let day = |h: f64| origin_label(h).chars().take(10).collect::<String>();
    Ok(json!({
        "type": "FeatureCollection",
        "features": features,
        "qalqan": {
            "model": params.model.name(), "horizon": params.horizon.name(), "horizon_hours": params.horizon.hours(),
            "origin": origin_label(params.origin), "window_end": origin_label(params.origin + params.horizon.hours()),
            "cell_metres": params.cell_metres, "coverage": params.coverage, "area_cells": ranked.len(), "selected_cells": selected,
            "expected_events": expected, "fit": fit_json, "backtest": backtest_json, "districts": districts.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
            "incidents_from": day(year_before), "incidents_to": day(params.origin - 1.0), "left_out": input.left_out,
            "projection": format!("EPSG:{}", input.projection.epsg()),
        },
    }))
}

/// Query of `GET …/forecast`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// `naive`, `rolling-kde`, `prospective` or `sepp` (default).
    pub model: Option<String>,
    /// `shift` (8 hours), `day` or `week` (default).
    pub horizon: Option<String>,
    /// Square cell size in metres, 50–1000. Default 200.
    pub cell: Option<f64>,
    /// Share of the area to select, 0.001–0.5. Default 0.05.
    pub coverage: Option<f64>,
    /// A category code.
    pub category: Option<String>,
    /// The forecast starts at local midnight of this day, `YYYY-MM-DD`. Default: the day after the last incident.
    pub origin: Option<String>,
}

fn parse_day(name: &str, v: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("{name}: '{d}' is not a date YYYY-MM-DD")))
        })
        .transpose()
}

fn parse_cell(cell: Option<f64>) -> Result<f64, ApiError> {
    let cell = cell.unwrap_or(200.0);
    if !(50.0..=1000.0).contains(&cell) {
        return Err(ApiError::BadRequest("cell must be between 50 and 1000 metres".into()));
    }
    Ok(cell)
}

fn parse_horizon(h: Option<&str>) -> Result<Horizon, ApiError> {
    h.map_or(Ok(Horizon::Week), |h| Horizon::parse(h).ok_or_else(|| ApiError::BadRequest("horizon must be shift, day or week".into())))
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/forecast", tag = "analysis", summary = "Forecast map: the top cells for the next shift, day or week (GeoJSON), with the model's fit, its recent backtest score against the naive baseline, and each district's share of the forecast area against its share of incidents", params(("name" = String, Path, description = "Territory name"), ForecastQuery), responses((status = 200, description = "Top cells and metadata under `qalqan`", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_forecast(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<ForecastQuery>,
) -> Result<Response, ApiError> {
    let model = match q.model.as_deref().map(str::trim) {
        None | Some("") => Model::Sepp(SeppParams::default()),
        Some(m) => model_named(m).ok_or_else(|| ApiError::BadRequest("model must be naive, rolling-kde, prospective or sepp".into()))?,
    };
    let horizon = parse_horizon(q.horizon.as_deref())?;
    let cell_metres = parse_cell(q.cell)?;
    let coverage = q.coverage.unwrap_or(0.05);
    if !(0.001..=0.5).contains(&coverage) {
        return Err(ApiError::BadRequest("coverage must be between 0.001 and 0.5".into()));
    }
    let origin_day = parse_day("origin", q.origin.as_deref())?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    // Everything before the window (the models look back themselves), none of it after.
    let to = origin_day.and_then(|d| d.pred_opt()).map(|d| d.to_string());
    let filter = crate::incident_filter(&territory, None, to.as_deref(), q.category.as_deref())?;
    let id = territory.id;
    crate::cached_json(&state, &headers, id, "forecast", &q, || async {
        let records = state.store.incident_records(&filter).await?;
        tokio::task::spawn_blocking(move || {
            let origin = match origin_day {
                Some(d) => local_midnight(d),
                None => data_end(&territory, &records)
                    .ok_or_else(|| ApiError::BadRequest("the territory has no incidents to forecast from".into()))?,
            };
            let params = LayerParams { model, horizon, cell_metres, coverage, origin, backtest_origins: 8 };
            forecast_layer(&territory, &records, &params).map_err(|e| ApiError::BadRequest(e.to_string()))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    })
    .await
}

/// Query of `GET …/forecast/backtest`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BacktestQuery {
    /// First origin, `YYYY-MM-DD` (local midnight). Default: 11 steps before the last.
    pub from: Option<String>,
    /// Last origin, `YYYY-MM-DD`. Default: the last whose window the data covers.
    pub to: Option<String>,
    /// `day` or `week` (default) between origins.
    pub step: Option<String>,
    /// `shift`, `day` or `week`. Default: the step.
    pub horizon: Option<String>,
    /// Square cell size in metres, 50–1000. Default 200.
    pub cell: Option<f64>,
    /// Comma-separated: naive, rolling-kde, prospective, sepp. Default: all.
    pub models: Option<String>,
    /// A category code.
    pub category: Option<String>,
}

/// Most origins one backtest request may have.
pub const MAX_BACKTEST_ORIGINS: usize = 400;

#[utoipa::path(get, path = "/api/v1/territories/{name}/forecast/backtest", tag = "analysis", summary = "Backtest of the forecast models: rolling origins, never using data after the origin; hit rate, PAI and PEI* at 1, 5 and 10 % of the area, per origin and per model", params(("name" = String, Path, description = "Territory name"), BacktestQuery), responses((status = 200, description = "Summary per model and every origin", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_backtest(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<BacktestQuery>,
    progress: Option<axum::Extension<crate::jobs::JobProgress>>,
) -> Result<Response, ApiError> {
    // Run as a job, the backtest reports how many origins are done.
    let progress = progress.map(|axum::Extension(p)| p).unwrap_or_default();
    let step = match q.step.as_deref().map(str::trim) {
        None | Some("") | Some("week") => Horizon::Week,
        Some("day") => Horizon::Day,
        Some(_) => return Err(ApiError::BadRequest("step must be day or week".into())),
    };
    let horizon = match q.horizon.as_deref().map(str::trim) {
        None | Some("") => step,
        h => parse_horizon(h)?,
    };
    let cell_metres = parse_cell(q.cell)?;
    let names: Vec<String> = match q.models.as_deref().map(str::trim) {
        None | Some("") => vec!["naive".into(), "rolling-kde".into(), "prospective".into(), "sepp".into()],
        Some(list) => list.split(',').map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()).collect(),
    };
    let models = names
        .iter()
        .map(|m| {
            model_named(m)
                .ok_or_else(|| ApiError::BadRequest(format!("models: unknown model '{m}' (naive, rolling-kde, prospective, sepp)")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (from, to) = (parse_day("from", q.from.as_deref())?, parse_day("to", q.to.as_deref())?);
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let filter = crate::incident_filter(&territory, None, None, q.category.as_deref())?;
    let id = territory.id;
    crate::cached_json(&state, &headers, id, "backtest", &q, || async {
        let records = state.store.incident_records(&filter).await?;
        tokio::task::spawn_blocking(move || {
            let step_hours = step.hours();
            let last = match to {
                Some(d) => local_midnight(d),
                None => {
                    let end = data_end(&territory, &records).ok_or_else(|| ApiError::BadRequest("the territory has no incidents".into()))?;
                    end - horizon.hours().max(step_hours)
                }
            };
            let first = match from {
                Some(d) => local_midnight(d),
                None => last - 11.0 * step_hours,
            };
            let params = BacktestParams { first_origin: first, last_origin: last, step_hours, horizon_hours: horizon.hours(), ..BacktestParams::daily(first, last) };
            let origins = params.origins().map_err(|e| ApiError::BadRequest(e.to_string()))?;
            if origins.len() > MAX_BACKTEST_ORIGINS {
                return Err(ApiError::BadRequest(format!("{} origins: at most {MAX_BACKTEST_ORIGINS} per request (use step=week or a shorter period)", origins.len())));
            }
            let input = ForecastInput::new(&territory, &records, cell_metres, first).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let area = ForecastArea::new(&input.grid, Some(&input.eligible)).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let mut forecasters: Vec<Box<dyn Forecaster>> = models.iter().map(|m| m.forecaster()).collect();
            let bt = backtest(&input.events, &area, &mut forecasters, &params, &|done, total| progress.set(done, total))
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            let in_windows: u64 =
                origins.iter().map(|&o| input.events.iter().filter(|e| e.t() >= o && e.t() < o + params.horizon_hours).count() as u64).sum();
            let mut v = backtest_json(&bt, true);
            v["area_cells"] = json!(input.eligible.iter().filter(|&&e| e).count());
            v["test_events_outside_area"] = json!(in_windows.saturating_sub(bt.summaries.first().map_or(0, |s| s.test_events)));
            let day = |h: f64| origin_label(h).chars().take(10).collect::<String>();
            v["params"] = json!({"from": day(first), "to": day(last), "step": step.name(), "horizon": horizon.name(), "cell": cell_metres, "models": names});
            Ok(v)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    })
    .await
}
