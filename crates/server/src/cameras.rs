//! Cameras on the wire: the register as GeoJSON view sectors, its upload, and
//! what the working cameras cover (shared by the CLI and the API).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use qalqan_analysis::grid::GridParams;
use qalqan_analysis::hotspot::{CellStatistics, HotspotMethod, HotspotParams, gi_class, hotspot_map};
use qalqan_analysis::local::Permutations;
use qalqan_analysis::projection::Utm;
use qalqan_domain::Territory;
use qalqan_domain::account::Role;
use qalqan_domain::camera::CameraStatus;
use qalqan_planning::camera::{Camera, CameraIndex};
use qalqan_planning::street::{SegmentId, SegmentSet, StreetGraph};
use qalqan_store::{CameraRecord, IncidentRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// The projection a territory's planning is done in: the boundary's centre zone, else the points'.
pub fn planning_projection(territory: &Territory, points: &[qalqan_domain::Wgs84Point]) -> Utm {
    match territory.boundary.as_ref() {
        Some(b) => {
            let [x0, y0, x1, y1] = b.bbox();
            Utm::for_centre((y0 + y1) / 2.0, (x0 + x1) / 2.0)
        }
        None => Utm::for_points(points),
    }
}

/// A stored camera's view sector in metres.
pub fn sector(utm: &Utm, c: &CameraRecord) -> Option<Camera> {
    let (x, y) = utm.forward(c.camera.location);
    Camera::new(x, y, c.camera.bearing_deg, c.camera.fov_deg, c.camera.range_m).ok()
}

/// The register as GeoJSON: one feature per camera, its geometry the view sector.
pub fn cameras_geojson(territory: &Territory, cameras: &[CameraRecord]) -> Value {
    let utm = planning_projection(territory, &cameras.iter().map(|c| c.camera.location).collect::<Vec<_>>());
    let features: Vec<Value> = cameras
        .iter()
        .filter_map(|c| {
            let cam = sector(&utm, c)?;
            let ring: Vec<[f64; 2]> = cam
                .sector_outline(24)
                .into_iter()
                .map(|(x, y)| {
                    let p = utm.inverse(x, y);
                    [(p.lon() * 1e6).round() / 1e6, (p.lat() * 1e6).round() / 1e6]
                })
                .collect();
            let k = &c.camera;
            Some(json!({
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {
                    "id": k.external_id, "lat": k.location.lat(), "lon": k.location.lon(), "bearing": k.bearing_deg, "fov": k.fov_deg,
                    "range": k.range_m, "owner": k.owner.code(), "link": k.link.code(), "archive_days": k.archive_days, "status": k.status.code(),
                },
            }))
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// What the working cameras cover: the share of incidents inside a view sector, overall, per
/// district, per owner type and per camera, and the share of Gi* hot-spot cells (250 m, 90 %+
/// after the false-discovery-rate correction) whose centre a camera sees, per district too. With
/// the territory's street network: the street length inside a view sector per district, and the
/// gaps — street segments with incidents that cameras see less than half of.
pub fn coverage_json(
    territory: &Territory,
    cameras: &[CameraRecord],
    records: &[IncidentRecord],
    streets: Option<(&StreetGraph, &Utm)>,
) -> Value {
    let working: Vec<&CameraRecord> = cameras.iter().filter(|c| c.camera.status == CameraStatus::Working).collect();
    let mut points: Vec<qalqan_domain::Wgs84Point> = records.iter().map(|r| r.location).collect();
    points.extend(working.iter().map(|c| c.camera.location));
    let utm = streets.map_or_else(|| planning_projection(territory, &points), |(_, u)| *u);
    let index = CameraIndex::new(working.iter().filter_map(|c| sector(&utm, c)).collect());
    let names: HashMap<i64, String> = territory.districts.iter().map(|d| (d.id.0, d.name.to_string())).collect();
    let mut by_district: HashMap<Option<i64>, (u64, u64)> = HashMap::new();
    let mut per_camera = vec![0u64; index.cameras().len()];
    let mut covered = 0u64;
    for r in records {
        let (x, y) = utm.forward(r.location);
        let seeing = index.seeing(x, y);
        for &k in &seeing {
            per_camera[k] += 1;
        }
        let entry = by_district.entry(r.district.map(|d| d.0)).or_default();
        entry.0 += 1;
        if !seeing.is_empty() {
            entry.1 += 1;
            covered += 1;
        }
    }
    let share = |n: u64, of: u64| if of == 0 { None } else { Some((n as f64 / of as f64 * 1e4).round() / 1e4) };
    let mut districts: Vec<Value> = by_district
        .iter()
        .map(|(d, (n, c))| json!({"district": d.and_then(|d| names.get(&d)), "incidents": n, "covered": c, "share": share(*c, *n)}))
        .collect();
    for d in &territory.districts {
        if !by_district.contains_key(&Some(d.id.0)) {
            districts.push(json!({"district": d.name.to_string(), "incidents": 0, "covered": 0, "share": null}));
        }
    }
    districts
        .sort_by(|a, b| b["incidents"].as_u64().cmp(&a["incidents"].as_u64()).then(a["district"].as_str().cmp(&b["district"].as_str())));
    let mut owners: HashMap<&str, (u64, u64)> = HashMap::new();
    for (k, c) in working.iter().enumerate() {
        let e = owners.entry(c.camera.owner.code()).or_default();
        e.0 += 1;
        e.1 += per_camera.get(k).copied().unwrap_or(0);
    }
    let mut owner_rows: Vec<Value> =
        owners.into_iter().map(|(o, (n, seen))| json!({"owner": o, "cameras": n, "incidents_seen": seen})).collect();
    owner_rows.sort_by(|a, b| a["owner"].as_str().cmp(&b["owner"].as_str()));
    // Hot-spot cells: Gi* on 250 m cells, analytic p with the false-discovery-rate correction.
    let params = HotspotParams {
        grid: GridParams { cell_metres: 250.0, ..GridParams::default() },
        method: HotspotMethod::GiStar,
        permutations: Permutations { count: 0, seed: 1 },
        ..HotspotParams::default()
    };
    let mut hot_by_district: HashMap<Option<i64>, (u64, u64)> = HashMap::new();
    let hot = hotspot_map(&records.iter().map(|r| r.location).collect::<Vec<_>>(), territory.boundary.as_ref(), &params).ok().map(|map| {
        let CellStatistics::GiStar { gi, q } = &map.statistics else { return json!(null) };
        let hot: Vec<usize> = (0..map.cells.len()).filter(|&k| gi_class(gi.z[k], q[k]) > 0).collect();
        let seen = hot
            .iter()
            .filter(|&&k| {
                let c = map.centre(k);
                let (x, y) = utm.forward(c);
                !index.seeing(x, y).is_empty()
            })
            .count() as u64;
        for &k in &hot {
            let c = map.centre(k);
            let (x, y) = utm.forward(c);
            let e = hot_by_district.entry(territory.locate_district(c).map(|d| d.0)).or_default();
            e.0 += 1;
            e.1 += u64::from(!index.seeing(x, y).is_empty());
        }
        json!({"cells": hot.len(), "covered": seen, "share": share(seen, hot.len() as u64), "cell_metres": 250})
    });
    for d in &mut districts {
        let id = territory.district_by_name(d["district"].as_str().unwrap_or("")).map(|d| d.id.0);
        let (cells, seen) = hot_by_district.get(&id).copied().unwrap_or_default();
        d["hot_cells"] = json!(cells);
        d["hot_cells_covered"] = json!(seen);
        d["hot_cells_share"] = json!(share(seen, cells));
    }
    let mut street_m = vec![None; index.cameras().len()];
    let (streets_summary, gaps) = match streets {
        Some((graph, _)) => street_coverage(territory, graph, &utm, &index, records, &mut districts, &mut street_m),
        None => (Value::Null, Value::Null),
    };
    let mut cams: Vec<Value> = working
        .iter()
        .enumerate()
        .map(|(k, c)| {
            json!({"id": c.camera.external_id, "owner": c.camera.owner.code(), "incidents_seen": per_camera.get(k).copied().unwrap_or(0),
                   "street_m": street_m.get(k).copied().flatten().map(|m: f64| m.round())})
        })
        .collect();
    cams.sort_by(|a, b| b["incidents_seen"].as_u64().cmp(&a["incidents_seen"].as_u64()));
    json!({
        "cameras": {"registered": cameras.len(), "working": working.len()},
        "incidents": {"total": records.len(), "covered": covered, "share": share(covered, records.len() as u64)},
        "districts": districts,
        "owners": owner_rows,
        "hotspot_cells": hot,
        "per_camera": cams,
        "streets": streets_summary,
        "gaps": gaps,
    })
}

/// Largest number of gap segments drawn.
const MAX_GAPS: usize = 2_000;

/// Street length inside a view sector (overall, each camera's own in `street_m`, and added to each
/// district's row, a segment belonging to the district of its middle) and the gaps layer: segments with incidents snapped
/// to them (within [`crate::streets::SNAP_METRES`]) that cameras see less than half of, the
/// [`MAX_GAPS`] with the most incidents, as GeoJSON lines.
fn street_coverage(
    territory: &Territory,
    graph: &StreetGraph,
    utm: &Utm,
    index: &CameraIndex,
    records: &[IncidentRecord],
    districts: &mut [Value],
    street_m: &mut [Option<f64>],
) -> (Value, Value) {
    street_m.iter_mut().for_each(|m| *m = Some(0.0));
    let points: Vec<(f64, f64)> = records.iter().map(|r| utm.forward(r.location)).collect();
    let counts = graph.counts_per_segment(&points, SegmentSet::All, crate::streets::SNAP_METRES);
    let mut by_district: HashMap<Option<i64>, (f64, f64)> = HashMap::new();
    let (mut total, mut seen) = (0.0, 0.0);
    let mut gaps: Vec<(u32, f64, f64, usize)> = Vec::new();
    for k in 0..graph.segment_count() {
        let id = SegmentId(k as u32);
        let line = graph.segment_geometry(id);
        let length = graph.segment(id).length_m;
        let covered = index.covered_length(line).min(length);
        if covered > 0.0 {
            for c in index.near(line) {
                if let Some(m) = street_m.get_mut(c).and_then(Option::as_mut) {
                    *m += index.cameras()[c].covered_length(line);
                }
            }
        }
        let mid = line[line.len() / 2];
        let district = territory.locate_district(utm.inverse(mid.0, mid.1)).map(|d| d.0);
        let e = by_district.entry(district).or_default();
        e.0 += length;
        e.1 += covered;
        total += length;
        seen += covered;
        let n = counts.counts[k];
        if n > 0 && covered < 0.5 * length {
            gaps.push((n, length, covered, k));
        }
    }
    let share = |c: f64, of: f64| if of > 0.0 { Some((c / of * 1e4).round() / 1e4) } else { None };
    for d in districts.iter_mut() {
        let id = territory.district_by_name(d["district"].as_str().unwrap_or("")).map(|d| d.id.0);
        let (len, cov) = by_district.get(&id).copied().unwrap_or_default();
        d["street_km"] = json!((len / 10.0).round() / 100.0);
        d["street_km_covered"] = json!((cov / 10.0).round() / 100.0);
        d["street_share"] = json!(share(cov, len));
    }
    gaps.sort_by(|a, b| b.0.cmp(&a.0).then(a.3.cmp(&b.3)));
    let gap_count = gaps.len();
    let features: Vec<Value> = gaps
        .iter()
        .take(MAX_GAPS)
        .map(|&(n, length, covered, k)| {
            let id = SegmentId(k as u32);
            json!({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": crate::streets::segment_lon_lat(graph, utm, id)},
                "properties": {"incidents": n, "length_m": length.round(), "covered_share": share(covered, length), "street": graph.segment_name(id)},
            })
        })
        .collect();
    (
        json!({"km": (total / 10.0).round() / 100.0, "km_covered": (seen / 10.0).round() / 100.0, "share": share(seen, total), "gap_segments": gap_count}),
        json!({"type": "FeatureCollection", "features": features}),
    )
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/cameras", tag = "planning", summary = "The camera register as GeoJSON view sectors", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "One feature per camera", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let cameras = state.store.cameras(territory.id).await?;
    Ok(axum::Json(cameras_geojson(&territory, &cameras)).into_response())
}

/// A register parser: (name for messages, path, bytes) → rows or the file's error.
pub(crate) type RegisterParser<T> =
    fn(&str, &std::path::Path, &[u8]) -> Result<qalqan_ingest::register::RegisterFile<T>, qalqan_ingest::IngestError>;

/// Reads an uploaded register (`format` csv, the default, or geojson): its rows, or the 422
/// answer naming every bad row; 400 when the body is not a register at all.
pub(crate) fn parse_upload<T>(
    format: Option<&str>,
    body: &[u8],
    csv: RegisterParser<T>,
    geojson: RegisterParser<T>,
) -> Result<Result<Vec<T>, Response>, ApiError> {
    let file = std::path::Path::new("register");
    let parsed = match format.map(str::trim) {
        None | Some("") | Some("csv") => csv("register.csv", file, body),
        Some("geojson") => geojson("register.geojson", file, body),
        Some(other) => return Err(ApiError::BadRequest(format!("format '{other}' must be csv or geojson"))),
    }
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !parsed.errors.is_empty() {
        return Ok(Err(rejects_response(&parsed.errors)));
    }
    Ok(Ok(parsed.rows.into_iter().map(|(_, row)| row).collect()))
}

/// 422 with the first thousand invalid rows of a register upload (nothing was written).
pub(crate) fn rejects_response(errors: &[qalqan_ingest::RowError]) -> Response {
    let rejects: Vec<Value> = errors.iter().take(1000).map(|e| json!({"line": e.line, "field": e.field, "reason": e.reason})).collect();
    let body = json!({"error": format!("{} invalid row(s); nothing was imported", errors.len()), "rejects": rejects});
    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// Query of `POST …/cameras` and `POST …/posts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `csv` (default) or `geojson`: the body's format.
    pub format: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/cameras", tag = "planning", summary = "Add or update cameras from a register (the body: CSV or GeoJSON); all or nothing, with every bad row named", params(("name" = String, Path, description = "Territory name"), UploadQuery), request_body(content = String, description = "The register", content_type = "text/csv"), responses((status = 200, description = "Cameras added and updated", body = serde_json::Value), (status = 400, description = "Not a register", body = ErrorBody), (status = 422, description = "Invalid rows; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst) {
        return Err(ApiError::Forbidden(format!("the {} role cannot change the camera register", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let cameras = match parse_upload(q.format.as_deref(), &body, qalqan_ingest::cameras::parse_csv, qalqan_ingest::cameras::parse_geojson)?
    {
        Ok(rows) => rows,
        Err(rejects) => return Ok(rejects),
    };
    let done = state.store.import_cameras(territory.id, &cameras, &crate::session::actor(&session, peer)).await?;
    Ok(axum::Json(json!({"cameras": cameras.len(), "added": done.added, "updated": done.updated})).into_response())
}

/// Query of `GET …/cameras/coverage`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/cameras/coverage", tag = "planning", summary = "What the working cameras cover: incidents inside a view sector (overall, per district, per owner, per camera) and Gi* hot-spot cells", params(("name" = String, Path, description = "Territory name"), CoverageQuery), responses((status = 200, description = "Coverage", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn coverage(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<CoverageQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let cameras = state.store.cameras(territory.id).await?;
    let records = state.store.incident_records(&filter).await?;
    let streets = crate::streets::load_street_graph(&state.store, &territory).await?;
    let value = tokio::task::spawn_blocking(move || coverage_json(&territory, &cameras, &records, streets.as_ref().map(|(g, u)| (g, u))))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(axum::Json(value).into_response())
}
