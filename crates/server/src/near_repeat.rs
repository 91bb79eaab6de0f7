//! Near-repeat (Knox) tables on the wire: the same JSON for the CLI
//! (`qalqan analyze near-repeat`) and the API (`GET …/near-repeat`).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{Datelike, Timelike};
use qalqan_analysis::near_repeat::{
    CoordinatePrecision, DistanceMetric, KnoxParams, KnoxTable, SpaceTimeEvent, SpatialBand, TemporalBand, knox_table,
};
use qalqan_analysis::projection::Utm;
use qalqan_domain::{Territory, TimePrecision};
use qalqan_store::IncidentRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Events for the Knox test from stored incidents: projected to the data's UTM
/// zone, dated by local calendar day as the Near Repeat Calculator (so two
/// incidents on the same day are 0 days apart). Incidents known only to the
/// month or to a window longer than a day cannot be placed in a band of days
/// and are left out; the second value counts them.
pub fn knox_events(territory: &Territory, records: &[IncidentRecord]) -> (Vec<SpaceTimeEvent>, usize) {
    let usable: Vec<&IncidentRecord> = records
        .iter()
        .filter(|r| match r.precision {
            TimePrecision::Minute | TimePrecision::Hour | TimePrecision::Day => true,
            TimePrecision::Month => false,
            TimePrecision::Window => r.end - r.start <= chrono::TimeDelta::days(1),
        })
        .collect();
    let utm = Utm::for_points(&usable.iter().map(|r| r.location).collect::<Vec<_>>());
    let events = usable
        .iter()
        .map(|r| {
            let (x, y) = utm.forward(r.location);
            let local = r.start.with_timezone(&territory.time_zone);
            let day = f64::from(local.date_naive().num_days_from_ce());
            SpaceTimeEvent { x, y, day }
        })
        .collect();
    (events, records.len() - usable.len())
}

/// The same events with hour-of-day resolution (`day` = local day + hour / 24), for
/// temporal bands shorter than a day; day-precision incidents are left out.
pub fn knox_events_hourly(territory: &Territory, records: &[IncidentRecord]) -> (Vec<SpaceTimeEvent>, usize) {
    let usable: Vec<&IncidentRecord> =
        records.iter().filter(|r| matches!(r.precision, TimePrecision::Minute | TimePrecision::Hour)).collect();
    let utm = Utm::for_points(&usable.iter().map(|r| r.location).collect::<Vec<_>>());
    let events = usable
        .iter()
        .map(|r| {
            let (x, y) = utm.forward(r.location);
            let local = r.start.with_timezone(&territory.time_zone);
            let day =
                f64::from(local.date_naive().num_days_from_ce()) + f64::from(local.hour()) / 24.0 + f64::from(local.minute()) / 1440.0;
            SpaceTimeEvent { x, y, day }
        })
        .collect();
    (events, records.len() - usable.len())
}

/// The table, its findings and the words for them as JSON.
pub fn knox_json(table: &KnoxTable, left_out: usize) -> Value {
    let spatial: Vec<Value> = table
        .spatial
        .iter()
        .map(|b| match *b {
            SpatialBand::SameLocation => json!({"kind": "same", "from_m": 0.0, "to_m": 0.0}),
            SpatialBand::Within { from, to } => json!({"kind": "within", "from_m": from, "to_m": to}),
            SpatialBand::Beyond { from } => json!({"kind": "beyond", "from_m": from, "to_m": null}),
        })
        .collect();
    let temporal: Vec<Value> = table
        .temporal
        .iter()
        .map(|b| match *b {
            TemporalBand::Within { from, to } => json!({"kind": "within", "from_days": from, "to_days": to}),
            TemporalBand::Beyond { from } => json!({"kind": "beyond", "from_days": from, "to_days": null}),
        })
        .collect();
    let round = |v: f64, d: i32| {
        let f = 10f64.powi(d);
        (v * f).round() / f
    };
    let cells: Vec<Vec<Value>> = (0..table.spatial.len())
        .map(|r| {
            (0..table.temporal.len())
                .map(|c| {
                    let cell = table.cell(r, c);
                    json!({
                        "observed": cell.observed,
                        "mean_expected": round(cell.mean_expected, 3),
                        "min_expected": cell.min_expected,
                        "max_expected": cell.max_expected,
                        "knox_ratio": cell.knox_ratio.map(|v| round(v, 4)),
                        "p_value": round(cell.p_value, 6),
                        "notable": table.is_notable(r, c),
                    })
                })
                .collect()
        })
        .collect();
    let s = table.summary();
    let p = &table.params;
    json!({
        "events": table.events,
        "pairs": table.pairs,
        "left_out": left_out,
        "params": {
            "spatial_bandwidth_m": p.spatial_bandwidth, "spatial_bands": p.spatial_bands,
            "temporal_bandwidth_days": p.temporal_bandwidth, "temporal_bands": p.temporal_bands,
            "metric": match p.metric { DistanceMetric::Manhattan => "manhattan", DistanceMetric::Euclidean => "euclidean" },
            "permutations": p.permutations, "seed": p.seed,
            "significance": p.significance, "meaningful_ratio": p.meaningful_ratio,
        },
        "spatial_bands": spatial,
        "temporal_bands": temporal,
        "cells": cells,
        "summary": {
            "near_repeats": s.near_repeats.iter().map(|f| json!({"row": f.spatial_row, "up_to_column": f.up_to_column})).collect::<Vec<_>>(),
            "strongest_near_repeat": s.strongest_near_repeat.map(|(r, c, ratio)| json!({"row": r, "column": c, "knox_ratio": round(ratio, 4)})),
            "repeat_up_to_column": s.repeat_up_to_column,
            "strongest_repeat": s.strongest_repeat.map(|(c, ratio)| json!({"column": c, "knox_ratio": round(ratio, 4)})),
            "text": table.describe(),
        },
    })
}

/// The table as CSV: one line per cell.
pub fn knox_csv(table: &KnoxTable) -> String {
    let mut out = String::from("row,column,space,time,observed,mean_expected,min_expected,max_expected,knox_ratio,p_value,notable\n");
    for r in 0..table.spatial.len() {
        for c in 0..table.temporal.len() {
            let cell = table.cell(r, c);
            out.push_str(&format!(
                "{r},{c},\"{}\",\"{}\",{},{:.4},{},{},{},{:.6},{}\n",
                space_label(&table.spatial[r]),
                time_label(&table.temporal[c]),
                cell.observed,
                cell.mean_expected,
                cell.min_expected,
                cell.max_expected,
                cell.knox_ratio.map_or(String::new(), |v| format!("{v:.4}")),
                cell.p_value,
                table.is_notable(r, c)
            ));
        }
    }
    out
}

/// "same location", "[0, 100) m", "≥ 300 m".
pub fn space_label(b: &SpatialBand) -> String {
    match *b {
        SpatialBand::SameLocation => "same location".into(),
        SpatialBand::Within { from, to } => format!("[{from}, {to}) m"),
        SpatialBand::Beyond { from } => format!("≥ {from} m"),
    }
}

/// "[0, 7) days", "≥ 21 days".
pub fn time_label(b: &TemporalBand) -> String {
    match *b {
        TemporalBand::Within { from, to } => format!("[{from}, {to}) days"),
        TemporalBand::Beyond { from } => format!("≥ {from} days"),
    }
}

/// Query of `GET …/near-repeat`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearRepeatQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// Only this district (and those nested in it); district-scoped users may ask for theirs.
    pub district: Option<String>,
    /// Width of a spatial band in metres. Default 100.
    pub spatial_bandwidth: Option<f64>,
    /// Spatial bands before "beyond", 1–20. Default 3.
    pub spatial_bands: Option<usize>,
    /// Width of a temporal band in days. Default 7. Below one day (e.g. 0.25 for six
    /// hours) incidents are placed by local hour and those known only to the day are left out.
    pub temporal_bandwidth: Option<f64>,
    /// Temporal bands before "beyond", 1–20. Default 3.
    pub temporal_bands: Option<usize>,
    /// `manhattan` (default) or `euclidean`.
    pub metric: Option<String>,
    /// Monte Carlo permutations, 9–9999. Default 999.
    pub permutations: Option<u32>,
    /// Seed of the permutations. Default 1.
    pub seed: Option<u64>,
}

impl NearRepeatQuery {
    /// The analysis parameters, checked; messages name the parameter.
    pub fn params(&self) -> Result<KnoxParams, ApiError> {
        let bad = |m: &str| ApiError::BadRequest(m.to_owned());
        let d = KnoxParams::default();
        let spatial_bandwidth = self.spatial_bandwidth.unwrap_or(d.spatial_bandwidth);
        if !(1.0..=10_000.0).contains(&spatial_bandwidth) {
            return Err(bad("spatial_bandwidth must be between 1 and 10000 metres"));
        }
        let temporal_bandwidth = self.temporal_bandwidth.unwrap_or(d.temporal_bandwidth);
        if !(temporal_bandwidth > 0.0 && temporal_bandwidth <= 365.0) {
            return Err(bad("temporal_bandwidth must be more than 0 and at most 365 days"));
        }
        let spatial_bands = self.spatial_bands.unwrap_or(d.spatial_bands);
        let temporal_bands = self.temporal_bands.unwrap_or(d.temporal_bands);
        if !(1..=20).contains(&spatial_bands) || !(1..=20).contains(&temporal_bands) {
            return Err(bad("spatial_bands and temporal_bands must be between 1 and 20"));
        }
        if spatial_bandwidth * spatial_bands as f64 > 20_000.0 {
            return Err(bad("spatial_bandwidth × spatial_bands must be at most 20000 metres"));
        }
        let permutations = self.permutations.unwrap_or(d.permutations);
        if !(9..=9_999).contains(&permutations) {
            return Err(bad("permutations must be between 9 and 9999"));
        }
        let metric = match self.metric.as_deref().map(str::trim) {
            None | Some("") | Some("manhattan") => DistanceMetric::Manhattan,
            Some("euclidean") => DistanceMetric::Euclidean,
            Some(_) => return Err(bad("metric must be manhattan or euclidean")),
        };
        Ok(KnoxParams {
            spatial_bandwidth,
            spatial_bands,
            temporal_bandwidth,
            temporal_bands,
            metric,
            precision: CoordinatePrecision::Double,
            permutations,
            seed: self.seed.unwrap_or(d.seed),
            ..d
        })
    }
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/near-repeat", tag = "analysis", summary = "Near-repeat (Knox) table: pairs of incidents by distance and days apart against date permutations, with the findings in words", params(("name" = String, Path, description = "Territory name"), NearRepeatQuery), responses((status = 200, description = "Knox table", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_near_repeat(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<NearRepeatQuery>,
) -> Result<Response, ApiError> {
    let params = q.params()?;
    let area = crate::scope::aggregate_area(&state, &session, &name, q.district.as_deref()).await?;
    let filter = crate::incident_filter(&area.territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let id = area.territory.id;
    crate::cached_json(&state, &headers, id, "near-repeat", &q, || async {
        let records = area.keep(state.store.incident_records(&filter).await?);
        let territory = area.territory;
        tokio::task::spawn_blocking(move || {
            let (events, left_out) =
                if params.temporal_bandwidth < 1.0 { knox_events_hourly(&territory, &records) } else { knox_events(&territory, &records) };
            let table = knox_table(&events, &params).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            Ok(knox_json(&table, left_out))
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    })
    .await
}
