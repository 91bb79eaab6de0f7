//! The public page's data: for the territories an administrator has published
//! (`qalqan territory publish`), aggregated figures only — counts by month, category and district,
//! and incidents counted on a 250 m grid — with every small count withheld by
//! [`qalqan_analysis::disclosure::suppress`] (threshold 5, complementary suppression), so no
//! victim or address can be identified. No login; nothing incident-level ever leaves; unpublished
//! territories answer 404 like absent ones.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use qalqan_analysis::disclosure::suppress;
use qalqan_analysis::grid::{Grid, GridParams};
use qalqan_domain::Territory;
use qalqan_store::IncidentRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ApiError, AppState, ErrorBody};

/// Counts below this are withheld.
pub const THRESHOLD: u64 = 5;
/// Side of the published grid's cells, metres.
pub const CELL_M: f64 = 250.0;

/// The published territory of that name, or 404.
async fn published(state: &AppState, name: &str) -> Result<Territory, ApiError> {
    let missing = || ApiError::NotFound(format!("no published territory '{name}'"));
    let parsed = qalqan_domain::TerritoryName::parse(name).map_err(|_| missing())?;
    let territory = state.territory(&parsed).await.map_err(|_| missing())?;
    if state.store.published_territories().await?.contains(&territory.id) { Ok(territory) } else { Err(missing()) }
}

/// A period: `from`/`to` as given, else the 365 days up to the last incident.
fn period(
    territory: &Territory,
    records: &[IncidentRecord],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Option<(NaiveDate, NaiveDate)> {
    let last = records.iter().map(|r| r.start.with_timezone(&territory.time_zone).date_naive()).max()?;
    let to = to.unwrap_or(last);
    Some((from.unwrap_or(to - chrono::Duration::days(364)), to))
}

fn cell(v: Option<u64>) -> Value {
    v.map_or(Value::Null, |n| json!(n))
}

/// The summary: counts by month, category and district, each group suppressed against the total.
pub fn summary_json(territory: &Territory, records: &[IncidentRecord], from: NaiveDate, to: NaiveDate) -> Value {
    let tz = territory.time_zone;
    let names: BTreeMap<i64, String> = territory.districts.iter().map(|d| (d.id.0, d.name.to_string())).collect();
    let (mut months, mut cats, mut districts) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut total = 0u64;
    let mut m = NaiveDate::from_ymd_opt(chrono::Datelike::year(&from), chrono::Datelike::month(&from), 1).expect("a month");
    while m <= to {
        months.insert(m.format("%Y-%m").to_string(), 0u64);
        m = m.checked_add_months(chrono::Months::new(1)).expect("a month");
    }
    for d in names.values() {
        districts.insert(d.clone(), 0u64);
    }
    for r in records {
        let day = r.start.with_timezone(&tz).date_naive();
        if day < from || day > to {
            continue;
        }
        total += 1;
        *months.entry(day.format("%Y-%m").to_string()).or_default() += 1;
        *cats.entry(r.category.code().to_owned()).or_default() += 1;
        if let Some(d) = r.district.and_then(|d| names.get(&d.0)) {
            *districts.entry(d.clone()).or_default() += 1;
        }
    }
    let group = |map: &BTreeMap<String, u64>, key: &str| -> Vec<Value> {
        let counts: Vec<u64> = map.values().copied().collect();
        map.keys().zip(suppress(&counts, THRESHOLD)).map(|(k, v)| json!({key: k, "count": cell(v)})).collect()
    };
    json!({
        "territory": territory.name.as_str(),
        "from": from.to_string(), "to": to.to_string(),
        "threshold": THRESHOLD,
        "total": if total >= THRESHOLD { json!(total) } else { Value::Null },
        "by_month": group(&months, "month"),
        "by_category": group(&cats, "category"),
        "by_district": group(&districts, "district"),
        "note": "Counts under 5 are withheld (null), with a second count where one alone could be worked out from the total.",
    })
}

/// Incidents counted on the 250 m grid, suppressed; GeoJSON cells (only published non-zero ones).
pub fn cells_json(territory: &Territory, records: &[IncidentRecord], from: NaiveDate, to: NaiveDate) -> Result<Value, ApiError> {
    let tz = territory.time_zone;
    let kept: Vec<&IncidentRecord> = records.iter().filter(|r| (from..=to).contains(&r.start.with_timezone(&tz).date_naive())).collect();
    let points: Vec<qalqan_domain::Wgs84Point> = kept.iter().map(|r| r.location).collect();
    let utm = crate::cameras::planning_projection(territory, &points);
    let xy: Vec<(f64, f64)> = points.iter().map(|p| utm.forward(*p)).collect();
    let extent = xy.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |e, &(x, y)| {
        [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)]
    });
    let mut features = Vec::new();
    let (mut withheld_cells, mut withheld) = (0u64, 0u64);
    if !xy.is_empty() {
        // Cells aligned to whole multiples of the cell size, so the grid does not move with the data.
        let snap = |v: f64| (v / CELL_M).floor() * CELL_M;
        let grid = Grid::covering(
            [snap(extent[0]), snap(extent[1]), extent[2], extent[3]],
            &GridParams { cell_metres: CELL_M, ..GridParams::default() },
        )
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let counts: Vec<u64> = grid.count(&xy).into_iter().map(u64::from).collect();
        let nonzero: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0).collect();
        let published = suppress(&nonzero.iter().map(|&i| counts[i]).collect::<Vec<_>>(), THRESHOLD);
        for (&i, p) in nonzero.iter().zip(published) {
            match p {
                Some(n) => {
                    let ring: Vec<[f64; 2]> = grid
                        .outline(i)
                        .into_iter()
                        .map(|(x, y)| {
                            let w = utm.inverse(x, y);
                            [(w.lon() * 1e5).round() / 1e5, (w.lat() * 1e5).round() / 1e5]
                        })
                        .collect();
                    features.push(
                        json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": {"count": n}}),
                    );
                }
                None => {
                    withheld_cells += 1;
                    withheld += counts[i];
                }
            }
        }
    }
    Ok(json!({
        "type": "FeatureCollection",
        "features": features,
        "qalqan": {
            "territory": territory.name.as_str(), "from": from.to_string(), "to": to.to_string(), "cell_m": CELL_M, "threshold": THRESHOLD,
            "withheld_cells": withheld_cells, "withheld_incidents": if withheld_cells >= 2 { json!(withheld) } else { Value::Null },
        },
    }))
}

/// Query of the public endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicQuery {
    /// First local day, `YYYY-MM-DD` [default: 365 days before `to`].
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` [default: the last day with data].
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

async fn load(state: &AppState, name: &str, q: &PublicQuery) -> Result<(Territory, Vec<IncidentRecord>, NaiveDate, NaiveDate), ApiError> {
    let territory = published(state, name).await?;
    let from = q.from.as_deref().map(|d| crate::assignments::date("from", d)).transpose()?;
    let to = q.to.as_deref().map(|d| crate::assignments::date("to", d)).transpose()?;
    let filter = crate::incident_filter(&territory, None, q.to.as_deref(), None)?;
    let records = state.store.incident_records(&filter).await?;
    let Some((from, to)) = period(&territory, &records, from, to) else {
        return Err(ApiError::NotFound(format!("{} has no figures yet", territory.name)));
    };
    if to < from || (to - from).num_days() > 3660 {
        return Err(ApiError::BadRequest(format!("the period {from} — {to} must run forwards and be at most ten years")));
    }
    Ok((territory, records, from, to))
}

#[utoipa::path(get, path = "/api/v1/public/territories", tag = "public", summary = "Territories whose aggregated figures are public (no login)", security(()), responses((status = 200, description = "Published territories", body = serde_json::Value), (status = 500, description = "Internal error (details are logged, not returned)", body = ErrorBody)))]
pub(crate) async fn territories(State(state): State<AppState>) -> Result<Response, ApiError> {
    let published = state.store.published_territories().await?;
    let list: Vec<Value> = state
        .store
        .territories()
        .await?
        .into_iter()
        .filter(|t| published.contains(&t.id))
        .map(|t| json!({"name": t.name, "time_zone": t.time_zone, "has_boundary": t.has_boundary}))
        .collect();
    Ok(Json(json!({"territories": list})).into_response())
}

#[utoipa::path(get, path = "/api/v1/public/territories/{name}/summary", tag = "public", summary = "Counts by month, category and district with small counts withheld (no login)", security(()), params(("name" = String, Path, description = "Territory name"), PublicQuery), responses((status = 200, description = "The summary (JSON, or CSV)", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 404, description = "No such published territory", body = ErrorBody)))]
pub(crate) async fn summary(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PublicQuery>,
) -> Result<Response, ApiError> {
    let (territory, records, from, to) = load(&state, &name, &q).await?;
    let v = summary_json(&territory, &records, from, to);
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(v).into_response()),
        "csv" => {
            let mut out = String::from("group,key,count\n");
            for (group, key) in [("by_month", "month"), ("by_category", "category"), ("by_district", "district")] {
                for row in v[group].as_array().into_iter().flatten() {
                    let count = row["count"].as_u64().map_or_else(|| "withheld".to_owned(), |n| n.to_string());
                    out.push_str(&format!("{},{},{count}\n", key, row[key].as_str().unwrap_or("").replace([',', '"', '\n'], " ")));
                }
            }
            Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        f => Err(ApiError::BadRequest(format!("format '{f}' must be json or csv"))),
    }
}

#[utoipa::path(get, path = "/api/v1/public/territories/{name}/cells", tag = "public", summary = "Incidents counted on a 250 m grid with small counts withheld, as GeoJSON or CSV (no login)", security(()), params(("name" = String, Path, description = "Territory name"), PublicQuery), responses((status = 200, description = "The cells", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 404, description = "No such published territory", body = ErrorBody)))]
pub(crate) async fn cells(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<PublicQuery>,
) -> Result<Response, ApiError> {
    let (territory, records, from, to) = load(&state, &name, &q).await?;
    let format = q.format.clone().unwrap_or_else(|| "json".into());
    let v = tokio::task::spawn_blocking(move || cells_json(&territory, &records, from, to))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    match format.as_str() {
        "json" | "geojson" => Ok(([(CONTENT_TYPE, "application/geo+json")], v.to_string()).into_response()),
        "csv" => {
            let mut out = String::from("lon,lat,count\n");
            for f in v["features"].as_array().into_iter().flatten() {
                let ring = f["geometry"]["coordinates"][0].as_array().cloned().unwrap_or_default();
                let n = ring.len().saturating_sub(1).max(1) as f64;
                let (mut lon, mut lat) = (0.0, 0.0);
                for p in ring.iter().take(ring.len().saturating_sub(1).max(1)) {
                    lon += p[0].as_f64().unwrap_or(0.0) / n;
                    lat += p[1].as_f64().unwrap_or(0.0) / n;
                }
                out.push_str(&format!("{lon:.5},{lat:.5},{}\n", f["properties"]["count"]));
            }
            Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        f => Err(ApiError::BadRequest(format!("format '{f}' must be json, geojson or csv"))),
    }
}

#[utoipa::path(get, path = "/api/v1/public/territories/{name}/boundary", tag = "public", summary = "The published territory's outline, for the public map (no login)", security(()), params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "A FeatureCollection with the outline (empty without a boundary)", body = serde_json::Value), (status = 404, description = "No such published territory", body = ErrorBody)))]
pub(crate) async fn boundary(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    let territory = published(&state, &name).await?;
    let features: Vec<Value> = territory
        .boundary
        .as_ref()
        .map(|b| json!({"type": "Feature", "geometry": crate::layers::multipolygon(b.shape()), "properties": {"name": territory.name.as_str()}}))
        .into_iter()
        .collect();
    Ok(([(CONTENT_TYPE, "application/geo+json")], json!({"type": "FeatureCollection", "features": features}).to_string()).into_response())
}
