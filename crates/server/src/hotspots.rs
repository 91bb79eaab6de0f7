//! Hotspot maps on the wire: the same GeoJSON and CSV for the CLI
//! (`qalqan analyze hotspots`) and the API (`GET …/hotspots`).

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use qalqan_analysis::grid::{CellShape, Contiguity, GridParams};
use qalqan_analysis::hotspot::{CellStatistics, HotspotMap, HotspotMethod, HotspotParams, Neighbourhood, gi_class, hotspot_map};
use qalqan_analysis::kde::{Bandwidth, KdeParams, Kernel};
use qalqan_analysis::local::Permutations;
use qalqan_domain::Wgs84Point;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cache::CachedBody;
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Properties of kept cell `k`, method-specific ones included.
pub fn properties(map: &HotspotMap, k: usize) -> Vec<(&'static str, Value)> {
    let round = |v: f64, digits: i32| {
        let f = 10f64.powi(digits);
        if v.is_finite() { json!((v * f).round() / f) } else { Value::Null }
    };
    let mut p = vec![("cell", json!(map.cells[k])), ("count", json!(map.counts[k])), ("density_km2", round(map.density_per_km2(k), 3))];
    match &map.statistics {
        CellStatistics::Counts => {}
        CellStatistics::Density { density_km2, .. } => p.push(("kde_km2", round(density_km2[k], 4))),
        CellStatistics::GiStar { gi, q } => {
            p.push(("gi_z", round(gi.z[k], 6)));
            p.push(("gi_p", round((2.0 * gi.p_norm[k]).min(1.0), 8)));
            p.push(("gi_q", round(q[k], 8)));
            p.push(("gi_p_sim", gi.p_sim.as_ref().map_or(Value::Null, |ps| round(ps[k], 6))));
            p.push(("gi_class", json!(gi_class(gi.z[k], q[k]))));
        }
        CellStatistics::LocalMoran { lisa, q, .. } => {
            p.push(("lisa_i", round(lisa.i[k], 6)));
            p.push(("lisa_quadrant", json!(lisa.quadrant[k].label())));
            p.push(("lisa_p_sim", lisa.p_sim.as_ref().map_or(Value::Null, |ps| round(ps[k], 6))));
            p.push(("lisa_q", round(q[k], 8)));
            // As GeoDa's cluster map: pseudo p ≤ 0.05; and the stricter false-discovery-rate version.
            let p_sim = lisa.p_sim.as_ref().map_or(1.0, |ps| ps[k]);
            p.push(("lisa_cluster", json!(if p_sim <= 0.05 { lisa.quadrant[k].label() } else { "ns" })));
            p.push(("lisa_cluster_fdr", json!(if q[k] <= 0.05 { lisa.quadrant[k].label() } else { "ns" })));
        }
    }
    p
}

/// Which cells a map carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CellSelection {
    /// Every cell of the grid inside the territory (the default: what the statistics were computed on).
    #[default]
    All,
    /// Only cells worth drawing: with incidents, or significant (Gi* class, LISA cluster), or for
    /// KDE with at least 1 % of the peak density. Empty, insignificant cells are transparent on a map
    /// anyway, and a city grid is mostly empty: the map layer shrinks about threefold.
    NonEmpty,
}

/// For each cell, whether it is worth drawing (see [`CellSelection::NonEmpty`]).
pub fn informative(map: &HotspotMap) -> Vec<bool> {
    (0..map.cells.len())
        .map(|k| {
            map.counts[k] > 0
                || match &map.statistics {
                    // KDE: by density, computed once in `density_floor`.
                    CellStatistics::Counts | CellStatistics::Density { .. } => false,
                    CellStatistics::GiStar { gi, q } => gi_class(gi.z[k], q[k]) != 0,
                    CellStatistics::LocalMoran { lisa, .. } => lisa.p_sim.as_ref().is_some_and(|ps| ps[k] <= 0.05),
                }
        })
        .zip(density_floor(map))
        .map(|(a, b)| a || b)
        .collect()
}

/// KDE cells at or above 1 % of the peak density (all false for other methods).
fn density_floor(map: &HotspotMap) -> Vec<bool> {
    match &map.statistics {
        CellStatistics::Density { density_km2, .. } => {
            let peak = density_km2.iter().copied().filter(|v| v.is_finite()).fold(0.0, f64::max);
            density_km2.iter().map(|&v| peak > 0.0 && v >= 0.01 * peak).collect()
        }
        _ => vec![false; map.cells.len()],
    }
}

pub fn hotspot_geojson(map: &HotspotMap, metadata: Value, selection: CellSelection) -> Value {
    let keep = match selection {
        CellSelection::All => vec![true; map.cells.len()],
        CellSelection::NonEmpty => informative(map),
    };
    let features: Vec<Value> = (0..map.cells.len())
        .filter(|&k| keep[k])
        .map(|k| {
            let ring: Vec<[f64; 2]> = map.outline(k).iter().map(|p| [round7(p.lon()), round7(p.lat())]).collect();
            let props: serde_json::Map<String, Value> = properties(map, k).into_iter().map(|(key, v)| (key.to_owned(), v)).collect();
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props})
        })
        .collect();
    json!({"type": "FeatureCollection", "qalqan": metadata, "features": features})
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

pub fn hotspot_csv(map: &HotspotMap) -> String {
    let mut out = String::new();
    let header: Vec<&str> = properties(map, 0).iter().map(|(k, _)| *k).collect();
    let _ = writeln!(out, "{},lon,lat", header.join(","));
    for k in 0..map.cells.len() {
        let c = map.centre(k);
        let values: Vec<String> = properties(map, k)
            .into_iter()
            .map(|(_, v)| match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        let _ = writeln!(out, "{},{},{}", values.join(","), round7(c.lon()), round7(c.lat()));
    }
    out
}

/// Query of `GET /api/v1/territories/{name}/hotspots`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HotspotQuery {
    /// grid (default), kde, gi or lisa.
    pub method: Option<String>,
    /// Cell size in metres. Default 250.
    pub cell: Option<f64>,
    /// square (default) or hex.
    pub shape: Option<String>,
    /// Neighbours within this many metres instead of touching cells.
    pub distance: Option<f64>,
    /// Default 999 (at most 99,999).
    pub permutations: Option<u32>,
    /// Default 12345.
    pub seed: Option<u64>,
    /// KDE: gaussian (default) or quartic.
    pub kernel: Option<String>,
    /// KDE: scott (default), silverman or metres.
    pub bandwidth: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    /// geojson (default) or csv.
    pub format: Option<String>,
    /// Only this district (and the districts nested in it); its boundary, if it has one, is the study area.
    /// District-scoped users may ask for their districts.
    pub district: Option<String>,
    /// all (default: every cell of the grid) or nonempty (cells with incidents or a significant
    /// statistic, or for KDE at least 1 % of the peak density: what a map draws).
    pub cells: Option<String>,
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::BadRequest(m.into())
}

fn params(q: &HotspotQuery) -> Result<HotspotParams, ApiError> {
    let method = match q.method.as_deref().unwrap_or("grid") {
        "grid" => HotspotMethod::Counts,
        "gi" => HotspotMethod::GiStar,
        "lisa" => HotspotMethod::LocalMoran,
        "kde" => HotspotMethod::Kde(KdeParams {
            kernel: match q.kernel.as_deref().unwrap_or("gaussian") {
                "gaussian" => Kernel::Gaussian,
                "quartic" => Kernel::Quartic,
                k => return Err(bad(format!("kernel '{k}' must be gaussian or quartic"))),
            },
            bandwidth: match q.bandwidth.as_deref().unwrap_or("scott") {
                "scott" => Bandwidth::Scott,
                "silverman" => Bandwidth::Silverman,
                m => Bandwidth::Metres(m.parse().map_err(|_| bad(format!("bandwidth '{m}' must be scott, silverman or metres")))?),
            },
        }),
        m => return Err(bad(format!("method '{m}' must be grid, kde, gi or lisa"))),
    };
    let shape = match q.shape.as_deref().unwrap_or("square") {
        "square" => CellShape::Square,
        "hex" => CellShape::Hexagon,
        s => return Err(bad(format!("shape '{s}' must be square or hex"))),
    };
    Ok(HotspotParams {
        // A smaller ceiling than the CLI's: one request must not hold the server for long.
        grid: GridParams { cell_metres: q.cell.unwrap_or(250.0), shape, max_cells: 1_000_000 },
        method,
        neighbourhood: q.distance.map_or(Neighbourhood::Contiguity(Contiguity::Queen), Neighbourhood::DistanceBand),
        permutations: Permutations { count: q.permutations.unwrap_or(999).min(99_999), seed: q.seed.unwrap_or(12345) },
    })
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/hotspots", tag = "analysis", summary = "Hotspot grid: counts, KDE, Getis-Ord Gi* or Local Moran per cell, as GeoJSON (or CSV)", params(("name" = String, Path, description = "Territory name"), HotspotQuery), responses((status = 200, description = "GeoJSON FeatureCollection of cells with a `qalqan` metadata member", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_hotspots(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<HotspotQuery>,
) -> Result<Response, ApiError> {
    let area = crate::scope::aggregate_area(&state, &session, &name, q.district.as_deref()).await?;
    let territory = &area.territory;
    let params = params(&q)?;
    let selection = match q.cells.as_deref().unwrap_or("all") {
        "all" => CellSelection::All,
        "nonempty" => CellSelection::NonEmpty,
        c => return Err(bad(format!("cells '{c}' must be all or nonempty"))),
    };
    let key = format!("hotspots|{}|{}|{q:?}", territory.id.0, state.data_version(territory.id).await?);
    if let Some(hit) = state.responses.get(&key) {
        return Ok(hit.respond(&headers));
    }
    let filter = crate::incident_filter(territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let points: Vec<Wgs84Point> = area.keep(state.store.incident_records(&filter).await?).into_iter().map(|r| r.location).collect();
    let incidents = points.len();
    // Within a district, the district is the study area.
    let boundary = area.boundary();
    let map = tokio::task::spawn_blocking(move || hotspot_map(&points, boundary.as_ref(), &params))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| bad(e.to_string()))?;
    if q.format.as_deref() == Some("csv") {
        let body = CachedBody::new(key.clone(), hotspot_csv(&map), "text/csv; charset=utf-8");
        state.responses.put(key, body.clone());
        return Ok(body.respond(&headers));
    }
    let metadata = json!({
        "territory": territory.name.as_str(),
        "district": q.district,
        "from": q.from, "to": q.to, "category": q.category,
        "incidents": incidents,
        "method": q.method.as_deref().unwrap_or("grid"),
        "cell_metres": map.grid.cell_area().sqrt(),
        "cells": q.cells.as_deref().unwrap_or("all"),
        "projection": format!("EPSG:{}", map.projection.epsg()),
        "permutations": q.permutations.unwrap_or(999).min(99_999),
        "seed": q.seed.unwrap_or(12345),
        "qalqan_version": env!("CARGO_PKG_VERSION"),
    });
    let body = CachedBody::new(key.clone(), hotspot_geojson(&map, metadata, selection).to_string(), "application/json");
    state.responses.put(key, body.clone());
    Ok(body.respond(&headers))
}
