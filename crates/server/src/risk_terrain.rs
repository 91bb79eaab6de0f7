//! Risk terrain of a territory (see [`qalqan_analysis::risk_terrain`]): incidents per grid cell
//! related to the conditions nearby — every category of places of interest from the territory's
//! OpenStreetMap extract (bars, pubs, shops, transit stops, schools, parking, …) and the
//! territory's own registers (working cameras, posts and mobile points, protected facilities by
//! category) and the point layers users imported (`layer_<name>`) — with each factor's relative risk, its interval, and the composite risk map.
//! Shared by `qalqan analyze risk-terrain` and `GET …/risk-terrain`.
//!
//! The study area is the grid's cells whose centre is inside the territory's boundary, else
//! inside the street network's extent (or the incidents' without one). A factor needs at least
//! `min_features` features in the study area.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use qalqan_analysis::grid::{Grid, GridParams};
use qalqan_analysis::projection::Utm;
use qalqan_analysis::risk_terrain::{Factor, Family, RtmParams, RtmResult, risk_terrain};
use qalqan_domain::{Territory, Wgs84Point};
use qalqan_store::IncidentRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// The conditions a territory offers as risk factors, projected.
pub struct Conditions {
    pub utm: Utm,
    /// Factor name → feature locations (metres).
    pub layers: BTreeMap<String, Vec<(f64, f64)>>,
    /// The extent the street network covers, if any: `[min_x, min_y, max_x, max_y]`.
    pub streets_extent: Option<[f64; 4]>,
}

/// Gathers the places of interest of the kept extract and the registers.
pub async fn conditions(store: &qalqan_store::Store, territory: &Territory, sample: &[Wgs84Point]) -> Result<Conditions, ApiError> {
    let streets = crate::streets::load_streets(store, territory).await?;
    let utm = match &streets {
        Some(s) => s.utm,
        None => crate::cameras::planning_projection(territory, sample),
    };
    let mut layers: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut streets_extent = None;
    if let Some(s) = &streets {
        for &(x, y, category) in &s.places {
            layers.entry(category.to_owned()).or_default().push((x, y));
        }
        let mut e = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for n in 0..s.graph.node_count() {
            let (x, y) = s.graph.node_xy(qalqan_planning::street::NodeId(n as u32));
            e = [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)];
        }
        if e[0].is_finite() {
            streets_extent = Some(e);
        }
    }
    for c in store.cameras(territory.id).await? {
        if c.camera.status == qalqan_domain::camera::CameraStatus::Working {
            layers.entry("camera".into()).or_default().push(utm.forward(c.camera.location));
        }
    }
    for p in store.posts(territory.id).await? {
        layers.entry(p.post.kind.code().to_owned()).or_default().push(utm.forward(p.post.location));
    }
    for (name, points) in store.layers(territory.id).await? {
        layers.entry(format!("layer_{name}")).or_default().extend(points.iter().map(|p| utm.forward(*p)));
    }
    for f in store.facilities(territory.id).await? {
        layers.entry(format!("facility_{}", f.facility.category.code())).or_default().push(utm.forward(f.facility.location));
    }
    Ok(Conditions { utm, layers, streets_extent })
}

/// Settings of a risk terrain beyond the model's.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyParams {
    /// Cell side, metres. Default 100.
    pub cell_m: f64,
    /// Only these factors (names as listed by the result); empty: all.
    pub factors: Vec<String>,
    /// Fewest features a factor needs in the study area. Default 3.
    pub min_features: usize,
}

impl Default for StudyParams {
    fn default() -> Self {
        Self { cell_m: 100.0, factors: Vec::new(), min_features: 3 }
    }
}

/// Fits the risk terrain; the JSON has the factors, the fit, and the cells with their risk as GeoJSON.
pub fn risk_terrain_json(
    territory: &Territory,
    conditions: &Conditions,
    records: &[IncidentRecord],
    study: &StudyParams,
    model: &RtmParams,
) -> Result<Value, ApiError> {
    if !(study.cell_m.is_finite() && (10.0..=1000.0).contains(&study.cell_m)) {
        return Err(ApiError::BadRequest(format!("cell {} m must be 10-1000", study.cell_m)));
    }
    let utm = &conditions.utm;
    let points: Vec<(f64, f64)> = records.iter().map(|r| utm.forward(r.location)).collect();
    let extent = match (territory.boundary.as_ref(), conditions.streets_extent) {
        (Some(b), _) => {
            let [x0, y0, x1, y1] = b.bbox();
            let corner =
                |lat: f64, lon: f64| Wgs84Point::new(lat, lon).map(|p| utm.forward(p)).map_err(|e| ApiError::Internal(e.to_string()));
            let corners = [corner(y0, x0)?, corner(y0, x1)?, corner(y1, x0)?, corner(y1, x1)?];
            corners.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |e, &(x, y)| {
                [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)]
            })
        }
        (None, Some(e)) => e,
        (None, None) => {
            if points.is_empty() {
                return Err(ApiError::BadRequest(
                    "no incidents in the period, and no boundary or street network to define the study area".into(),
                ));
            }
            points.iter().fold([f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY], |e, &(x, y)| {
                [e[0].min(x), e[1].min(y), e[2].max(x), e[3].max(y)]
            })
        }
    };
    let grid = Grid::covering(extent, &GridParams { cell_metres: study.cell_m, max_cells: 400_000, ..GridParams::default() })
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let inside: Vec<usize> = (0..grid.len())
        .filter(|&i| {
            let (x, y) = grid.centre(i);
            match territory.boundary.as_ref() {
                Some(b) => b.contains(utm.inverse(x, y)),
                None => x >= extent[0] && x <= extent[2] && y >= extent[1] && y <= extent[3],
            }
        })
        .collect();
    let mut slot = vec![usize::MAX; grid.len()];
    for (k, &i) in inside.iter().enumerate() {
        slot[i] = k;
    }
    let mut counts = vec![0u64; inside.len()];
    let mut outside = 0u64;
    for &(x, y) in &points {
        match grid.cell_of(x, y).map(|c| slot[c]) {
            Some(k) if k != usize::MAX => counts[k] += 1,
            _ => outside += 1,
        }
    }
    let centres: Vec<(f64, f64)> = inside.iter().map(|&i| grid.centre(i)).collect();
    let in_area =
        |&(x, y): &(f64, f64)| x >= extent[0] - 500.0 && x <= extent[2] + 500.0 && y >= extent[1] - 500.0 && y <= extent[3] + 500.0;
    let mut factors = Vec::new();
    let mut skipped = Vec::new();
    for (name, pts) in &conditions.layers {
        if !study.factors.is_empty() && !study.factors.iter().any(|f| f == name) {
            continue;
        }
        let pts: Vec<(f64, f64)> = pts.iter().copied().filter(in_area).collect();
        if pts.len() < study.min_features {
            skipped.push(json!({"factor": name, "features": pts.len()}));
            continue;
        }
        factors.push(Factor { name: name.clone(), points: pts });
    }
    if let Some(unknown) = study.factors.iter().find(|f| !conditions.layers.contains_key(*f)) {
        let known: Vec<&str> = conditions.layers.keys().map(String::as_str).collect();
        return Err(ApiError::BadRequest(format!("no factor '{unknown}' in {} (it has: {})", territory.name, known.join(", "))));
    }
    let features: Vec<Value> = factors.iter().map(|f| json!({"factor": f.name, "features": f.points.len()})).collect();
    let result: RtmResult = risk_terrain(&centres, &counts, &factors, model).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let ring = |i: usize| -> Vec<[f64; 2]> {
        grid.outline(i)
            .into_iter()
            .map(|(x, y)| {
                let p = utm.inverse(x, y);
                [(p.lon() * 1e6).round() / 1e6, (p.lat() * 1e6).round() / 1e6]
            })
            .collect()
    };
    let cells: Vec<Value> = inside
        .iter()
        .enumerate()
        .filter(|(k, _)| result.risk[*k] > 1.0 || counts[*k] > 0)
        .map(|(k, &i)| {
            json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring(i)]},
                "properties": {"risk": (result.risk[k] * 1000.0).round() / 1000.0, "count": counts[k]},
            })
        })
        .collect();
    let r = |x: f64| (x * 1e4).round() / 1e4;
    Ok(json!({
        "territory": territory.name.to_string(),
        "cell_m": study.cell_m,
        "cells": inside.len(),
        "incidents": points.len() as u64 - outside,
        "incidents_outside": outside,
        "factors_tested": features,
        "factors_skipped": skipped,
        "variables": result.variables,
        "family": match result.family { Family::Poisson => "poisson", Family::NegativeBinomial => "negative_binomial" },
        "theta": result.theta.map(r),
        "baseline": r(result.baseline),
        "deviance": r(result.deviance),
        "null_deviance": r(result.null_deviance),
        "deviance_explained": if result.null_deviance > 0.0 { r(1.0 - result.deviance / result.null_deviance) } else { 0.0 },
        "bic": r(result.bic),
        "lambda": result.lambda,
        "cv_deviance_per_cell": r(result.cv_deviance),
        "confidence": model.confidence,
        "factors": result.factors.iter().map(|f| json!({
            "factor": f.name, "operationalisation": f.operationalisation.code(), "bandwidth_m": f.bandwidth,
            "coefficient": r(f.coefficient), "relative_risk": r(f.relative_risk), "low": r(f.low), "high": r(f.high),
            "p_value": r(f.p_value), "cells": f.cells,
        })).collect::<Vec<_>>(),
        "map": {"type": "FeatureCollection", "features": cells},
    }))
}

/// Query of `GET …/risk-terrain`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RiskTerrainQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// Only this offence category.
    pub category: Option<String>,
    /// Cell side, metres (10-1000). Default 100.
    pub cell: Option<f64>,
    /// Comma-separated factor names; default all with at least 3 features.
    pub factors: Option<String>,
    /// `negative_binomial` (default) or `poisson`.
    pub family: Option<String>,
    /// Seed of the cross-validation folds. Default 1.
    pub seed: Option<u64>,
}

impl RiskTerrainQuery {
    pub fn params(&self) -> Result<(StudyParams, RtmParams), ApiError> {
        let study = StudyParams {
            cell_m: self.cell.unwrap_or(100.0),
            factors: self.factors.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            ..StudyParams::default()
        };
        let family = match self.family.as_deref().map(str::trim) {
            None | Some("") | Some("negative_binomial") => Family::NegativeBinomial,
            Some("poisson") => Family::Poisson,
            Some(f) => return Err(ApiError::BadRequest(format!("family '{f}' must be negative_binomial or poisson"))),
        };
        Ok((study, RtmParams { family, seed: self.seed.unwrap_or(1), ..RtmParams::default() }))
    }
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/risk-terrain", tag = "analysis", summary = "Risk terrain: each nearby condition's relative risk (penalised regression with cross-validation, RTMDx-style) and the composite risk map", params(("name" = String, Path, description = "Territory name"), RiskTerrainQuery), responses((status = 200, description = "Factors, fit and map", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_risk_terrain(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<RiskTerrainQuery>,
) -> Result<Response, ApiError> {
    let (study, model) = q.params()?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    // Not cached: the registers and the street network it reads change without the incidents.
    let records = state.store.incident_records(&filter).await?;
    let sample: Vec<Wgs84Point> = records.iter().take(1000).map(|r| r.location).collect();
    let conditions = conditions(&state.store, &territory, &sample).await?;
    let v = tokio::task::spawn_blocking(move || risk_terrain_json(&territory, &conditions, &records, &study, &model))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(axum::Json(v).into_response())
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/layers", tag = "analysis", summary = "The point layers users imported as risk factors, with their sizes", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "The layers", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list_layers(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let layers: Vec<Value> = state
        .store
        .layers(territory.id)
        .await?
        .iter()
        .map(|(n, p)| json!({"name": n, "factor": format!("layer_{n}"), "points": p.len()}))
        .collect();
    Ok(axum::Json(json!({"layers": layers})).into_response())
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/layers/{layer}", tag = "analysis", summary = "Replace (or create) a point layer from CSV (lat, lon) or GeoJSON points; all or nothing, every bad row named", params(("name" = String, Path, description = "Territory name"), ("layer" = String, Path, description = "Layer name (letters, digits, _ or -)"), crate::cameras::UploadQuery), request_body(content = String, description = "The points", content_type = "text/csv"), responses((status = 200, description = "Points stored", body = serde_json::Value), (status = 400, description = "Not a point file, or a bad name", body = ErrorBody), (status = 422, description = "Invalid rows; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn upload_layer(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path((name, layer)): Path<(String, String)>,
    Query(q): Query<crate::cameras::UploadQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    use qalqan_domain::account::Role;
    if !matches!(session.user.role, Role::Administrator | Role::Analyst) {
        return Err(ApiError::Forbidden(format!("the {} role cannot import layers", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let points = match crate::cameras::parse_upload(
        q.format.as_deref(),
        &body,
        qalqan_ingest::layers::parse_csv,
        qalqan_ingest::layers::parse_geojson,
    )? {
        Ok(rows) => rows,
        Err(rejects) => return Ok(rejects),
    };
    let locations: Vec<Wgs84Point> = points.iter().map(|p| p.location).collect();
    let n = state.store.replace_layer(territory.id, &layer, &locations, &crate::session::actor(&session, peer)).await?;
    Ok(axum::Json(json!({"layer": layer, "factor": format!("layer_{layer}"), "points": n})).into_response())
}
