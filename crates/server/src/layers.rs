//! Map layers: territory and district boundaries as GeoJSON, and every
//! incident of a filter as one compact binary layer the browser draws
//! directly (`QPT1`, below) — 13 bytes a point instead of ~150 of GeoJSON.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::Response;
use geo_types::MultiPolygon;
use qalqan_domain::account::Role;
use qalqan_domain::audit::NewAuditEntry;
use qalqan_domain::{OffenceCategory, TerritoryName};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cache::CachedBody;
use crate::scope::{Access, territory_access};
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

pub(crate) fn multipolygon(shape: &MultiPolygon<f64>) -> Value {
    let ring = |r: &geo_types::LineString<f64>| r.0.iter().map(|c| [round7(c.x), round7(c.y)]).collect::<Vec<_>>();
    let coords: Vec<Vec<Vec<[f64; 2]>>> =
        shape.0.iter().map(|p| std::iter::once(ring(p.exterior())).chain(p.interiors().iter().map(ring)).collect()).collect();
    json!({"type": "MultiPolygon", "coordinates": coords})
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// `GET /api/v1/territories/{name}/boundaries`: the territory's boundary and
/// its districts' (those the user may see) as one GeoJSON FeatureCollection.
#[utoipa::path(get, path = "/api/v1/territories/{name}/boundaries", tag = "territories", summary = "Territory and district boundaries as GeoJSON", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "GeoJSON FeatureCollection", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn boundaries(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let name = TerritoryName::parse(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let territory = state.territory(&name).await?;
    let visible: Option<Vec<_>> = match territory_access(&session.user, territory.id) {
        Access::None => return Err(ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(ids) => Some(ids),
        Access::Whole => None,
    };
    let mut features = Vec::new();
    if let Some(b) = &territory.boundary {
        features.push(json!({"type": "Feature", "geometry": multipolygon(b.shape()),
            "properties": {"kind": "territory", "name": territory.name.as_str(), "parent": null}}));
    }
    let name_of = |id| territory.districts.iter().find(|d| d.id == id).map(|d| d.name.to_string());
    for d in &territory.districts {
        if visible.as_ref().is_some_and(|ids| !ids.contains(&d.id)) {
            continue;
        }
        let geometry = d.boundary.as_ref().map_or(Value::Null, |b| multipolygon(b.shape()));
        features.push(json!({"type": "Feature", "geometry": geometry,
            "properties": {"kind": "district", "name": d.name.to_string(), "parent": d.parent.and_then(name_of)}}));
    }
    Ok(Json(json!({"type": "FeatureCollection", "features": features})))
}

/// `GET /api/v1/categories`: the offence categories every import maps onto.
#[utoipa::path(get, path = "/api/v1/categories", tag = "territories", summary = "Offence categories", responses((status = 200, description = "Category codes with descriptions", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn categories(CurrentSession(_): CurrentSession) -> Json<Value> {
    Json(Value::Array(OffenceCategory::ALL.iter().map(|c| json!({"code": c.code(), "description": c.description()})).collect()))
}

/// Magic of the binary point layer, version 1.
pub const POINTS_MAGIC: &[u8; 4] = b"QPT1";

/// One incident of the point layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerPoint {
    pub lon: f32,
    pub lat: f32,
    /// Start of the occurrence window, whole UTC hours since 1970-01-01.
    pub start_hour: u32,
    /// Index into the layer's category list.
    pub category: u8,
}

/// Encodes the point layer, little-endian:
///
/// | bytes | content |
/// | --- | --- |
/// | 0–3 | `QPT1` |
/// | 4–7 | u32 *n*, the number of points |
/// | 8–11 | u32 *m*, the length of the metadata |
/// | 12… | *m* bytes of UTF-8 JSON metadata (`categories` lists the codes the category indices point at) |
/// | | zero padding to a multiple of 4 |
/// | | f32 lon × *n*, f32 lat × *n*, u32 start hour × *n*, u8 category × *n* |
///
/// Columns, not rows, so the browser takes each as a typed array without copying.
///
/// ```
/// use qalqan_server::layers::{LayerPoint, encode_points, decode_points};
/// let p = LayerPoint { lon: -79.38, lat: 43.65, start_hour: 420_000, category: 2 };
/// let bytes = encode_points(&[p], &serde_json::json!({"categories": ["a", "b", "c"]}));
/// assert_eq!(&bytes[..4], b"QPT1");
/// let (meta, points) = decode_points(&bytes).unwrap();
/// assert_eq!(points, vec![p]);
/// assert_eq!(meta["categories"][2], "c");
/// ```
pub fn encode_points(points: &[LayerPoint], metadata: &Value) -> Vec<u8> {
    let meta = metadata.to_string().into_bytes();
    let n = points.len();
    let mut out = Vec::with_capacity(16 + meta.len() + n * 13);
    out.extend_from_slice(POINTS_MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend(points.iter().flat_map(|p| p.lon.to_le_bytes()));
    out.extend(points.iter().flat_map(|p| p.lat.to_le_bytes()));
    out.extend(points.iter().flat_map(|p| p.start_hour.to_le_bytes()));
    out.extend(points.iter().map(|p| p.category));
    out
}

/// Reads what [`encode_points`] wrote; `None` when the bytes are not a point layer.
pub fn decode_points(bytes: &[u8]) -> Option<(Value, Vec<LayerPoint>)> {
    let u32_at = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if bytes.get(..4)? != POINTS_MAGIC {
        return None;
    }
    let (n, m) = (u32_at(4)? as usize, u32_at(8)? as usize);
    let meta: Value = serde_json::from_slice(bytes.get(12..12 + m)?).ok()?;
    let base = (12 + m).next_multiple_of(4);
    if bytes.len() != base + n * 13 {
        return None;
    }
    let f32_at = |at: usize| u32_at(at).map(f32::from_bits);
    let points = (0..n)
        .map(|i| {
            Some(LayerPoint {
                lon: f32_at(base + 4 * i)?,
                lat: f32_at(base + 4 * (n + i))?,
                start_hour: u32_at(base + 4 * (2 * n + i))?,
                category: *bytes.get(base + 12 * n + i)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some((meta, points))
}

/// Query of the point layer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PointsQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    /// Why the detail is needed; recorded in the audit trail.
    pub purpose: Option<String>,
}

/// `GET /api/v1/territories/{name}/points`: every incident of the filter as a
/// `QPT1` layer. Incident-level detail: refused to viewers and agency
/// executors, limited to a district-scoped user's districts, and audited.
#[utoipa::path(get, path = "/api/v1/territories/{name}/points", tag = "incidents", summary = "Every incident of the filter as a compact binary layer (QPT1; audited)", params(("name" = String, Path, description = "Territory name"), PointsQuery), responses((status = 200, description = "QPT1 layer: magic, count, JSON metadata, then f32 lon, f32 lat, u32 start hour, u8 category columns", content_type = "application/octet-stream", body = Vec<u8>), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn points(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<PointsQuery>,
) -> Result<Response, ApiError> {
    if matches!(session.user.role, Role::Viewer | Role::AgencyExecutor) {
        return Err(ApiError::Forbidden(format!("the {} role sees aggregated figures only, not individual incidents", session.user.role)));
    }
    let name = TerritoryName::parse(&name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let territory = state.territory(&name).await?;
    let allowed = match territory_access(&session.user, territory.id) {
        Access::None => return Err(ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(ids) => Some(ids),
        Access::Whole => None,
    };
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let key = format!(
        "points|{}|{}|{:?}|{:?}|{:?}|{allowed:?}",
        territory.id.0,
        state.data_version(territory.id).await?,
        q.from,
        q.to,
        q.category
    );
    let (layer, returned) = match state.responses.get(&key) {
        Some(hit) => {
            let n = decode_count(hit.bytes());
            (hit, n)
        }
        None => {
            let records = state.store.incident_records(&filter).await?;
            let points: Vec<LayerPoint> = records
                .iter()
                .filter(|r| allowed.as_ref().is_none_or(|ids| r.district.is_some_and(|d| ids.contains(&d))))
                .map(|r| LayerPoint {
                    lon: r.location.lon() as f32,
                    lat: r.location.lat() as f32,
                    start_hour: (r.start.timestamp().max(0) / 3600).min(i64::from(u32::MAX)) as u32,
                    category: OffenceCategory::ALL.iter().position(|c| *c == r.category).unwrap_or(0) as u8,
                })
                .collect();
            let metadata = json!({
                "territory": territory.name.as_str(),
                "categories": OffenceCategory::ALL.iter().map(|c| c.code()).collect::<Vec<_>>(),
                "incidents": points.len(),
                "from": q.from, "to": q.to, "category": q.category,
            });
            let layer = CachedBody::detail(encode_points(&points, &metadata), "application/octet-stream");
            state.responses.put(key, layer.clone());
            (layer, points.len())
        }
    };
    // Every read is recorded before the data leaves the server, cached or not.
    let entry = NewAuditEntry {
        actor: crate::session::actor(&session, peer),
        action: "incident.points".into(),
        object: format!("territory:{}", territory.id.0),
        detail: json!({"from": q.from, "to": q.to, "category": q.category, "returned": returned}).to_string(),
        purpose: q.purpose.clone().filter(|p| !p.trim().is_empty()),
    };
    state.store.audit(&entry).await?;
    Ok(layer.respond(&headers))
}

/// The point count in a `QPT1` header.
fn decode_count(bytes: &[u8]) -> usize {
    bytes.get(4..8).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}
