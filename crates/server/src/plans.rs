//! Planning on the wire: the street layer, the camera optimiser, and saved plans (scenarios).
//!
//! A scenario is saved by naming what to plan and its parameters: the server runs the optimiser
//! again (its answers are deterministic for the same data and parameters) and keeps the
//! parameters with the answer, so a saved plan is always the server's own result.

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use qalqan_domain::Territory;
use qalqan_domain::account::Role;
use qalqan_planning::street::SegmentId;
use qalqan_store::NewScenario;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Most segments the street layer sends.
pub const MAX_STREET_SEGMENTS: usize = 200_000;

#[utoipa::path(get, path = "/api/v1/territories/{name}/streets", tag = "planning", summary = "The street network as GeoJSON lines (class, name); empty when none was imported", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "One feature per segment", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn streets(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let Some((graph, utm)) = crate::streets::load_street_graph(&state.store, &territory).await? else {
        return Ok(Json(json!({"type": "FeatureCollection", "features": [], "segments": 0})).into_response());
    };
    let value = tokio::task::spawn_blocking(move || {
        let features: Vec<Value> = (0..graph.segment_count().min(MAX_STREET_SEGMENTS))
            .map(|k| {
                let id = SegmentId(k as u32);
                let coords = crate::streets::segment_lon_lat(&graph, &utm, id);
                json!({"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
                       "properties": {"class": graph.segment(id).class.osm_tag(), "name": graph.segment_name(id)}})
            })
            .collect();
        json!({"type": "FeatureCollection", "features": features, "segments": graph.segment_count()})
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(value).into_response())
}

/// Query of `GET …/travel-time`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TravelQuery {
    /// Start, `LAT,LON`.
    pub from: String,
    /// End, `LAT,LON`.
    pub to: String,
    /// `walk` (default) or `drive`.
    pub mode: Option<String>,
}

fn lat_lon(what: &str, s: &str) -> Result<qalqan_domain::Wgs84Point, ApiError> {
    let bad = || ApiError::BadRequest(format!("{what} '{s}' must be LAT,LON in degrees"));
    let (a, b) = s.split_once(',').ok_or_else(bad)?;
    let (lat, lon) = (a.trim().parse::<f64>().map_err(|_| bad())?, b.trim().parse::<f64>().map_err(|_| bad())?);
    qalqan_domain::Wgs84Point::new(lat, lon).map_err(|e| ApiError::BadRequest(format!("{what}: {e}")))
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/travel-time", tag = "planning", summary = "Walking or driving time between two points over the street network (each snapped to the nearest usable street within 150 m; at most two hours)", params(("name" = String, Path, description = "Territory name"), TravelQuery), responses((status = 200, description = "The trip, or reachable: false", body = serde_json::Value), (status = 400, description = "Invalid parameter, or no street network", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn travel_time(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<TravelQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let (from, to) = (lat_lon("from", &q.from)?, lat_lon("to", &q.to)?);
    let mode = match q.mode.as_deref().unwrap_or("walk") {
        "walk" => qalqan_planning::street::Mode::Walk,
        "drive" => qalqan_planning::street::Mode::Drive,
        other => return Err(ApiError::BadRequest(format!("mode '{other}' must be walk or drive"))),
    };
    let Some((graph, utm)) = crate::streets::load_street_graph(&state.store, &territory).await? else {
        return Err(ApiError::BadRequest(format!("{} has no street network: import an OpenStreetMap extract first", territory.name)));
    };
    let trip = graph.travel_time_between(utm.forward(from), utm.forward(to), mode, 7200.0, crate::posts::SNAP_METRES);
    Ok(Json(match trip {
        Some(t) => json!({"reachable": true, "seconds": (t.seconds * 10.0).round() / 10.0, "minutes": (t.seconds / 6.0).round() / 10.0,
                          "from_snap_m": (t.from.distance_m * 10.0).round() / 10.0, "to_snap_m": (t.to.distance_m * 10.0).round() / 10.0}),
        None => json!({"reachable": false}),
    })
    .into_response())
}

/// Query of `GET …/plans/cameras`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CameraPlanQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// Budgets, comma-separated (default `10,20,50`; one to five, each 1-200).
    pub k: Option<String>,
    /// What a new camera covers, metres (default 50).
    pub range: Option<f64>,
    /// Seconds per budget (default 10, at most 60).
    pub time_limit: Option<u64>,
}

async fn run_camera_plan(state: &AppState, territory: Territory, q: &CameraPlanQuery) -> Result<Value, ApiError> {
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let params = crate::placement::CameraPlanParams {
        budgets: crate::posts::budgets(q.k.as_deref(), "10,20,50")?,
        range_m: q.range.unwrap_or(50.0),
        method: qalqan_planning::location::Method::Exact,
        time_limit: std::time::Duration::from_secs(q.time_limit.unwrap_or(10).clamp(1, 60)),
    };
    let cameras = state.store.cameras(territory.id).await?;
    let records = state.store.incident_records(&filter).await?;
    let streets = crate::streets::load_street_graph(&state.store, &territory).await?;
    tokio::task::spawn_blocking(move || {
        crate::placement::camera_plan(&territory, &records, &cameras, streets.as_ref().map(|(g, u)| (g, u)), &params)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/plans/cameras", tag = "planning", summary = "Where k new cameras would see the most incidents (maximal covering, keeping the working cameras): one plan per budget with objective, bound, gap and time", params(("name" = String, Path, description = "Territory name"), CameraPlanQuery), responses((status = 200, description = "The plans", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn camera_plan(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<CameraPlanQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    Ok(Json(run_camera_plan(&state, territory, &q).await?).into_response())
}

/// Body of `POST …/scenarios`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScenarioRequest {
    /// `cameras`, `posts` or `beats`.
    pub kind: String,
    /// 1-200 characters.
    pub name: String,
    /// The plan's query parameters, as for `GET …/plans/{kind}` (strings or numbers).
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
}

/// Reads a JSON object of query parameters as the query struct `T`.
fn params_as<T: serde::de::DeserializeOwned>(params: &serde_json::Map<String, Value>) -> Result<T, ApiError> {
    let text: Vec<(String, String)> = params
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    let encoded = text.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
    axum::extract::Query::<T>::try_from_uri(&format!("/?{encoded}").parse().map_err(|_| ApiError::BadRequest("invalid parameters".into()))?)
        .map(|q| q.0)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/scenarios", tag = "planning", summary = "Save a plan as a scenario: the server runs the optimiser with the given parameters and keeps them with its answer (audited)", params(("name" = String, Path, description = "Territory name")), request_body = ScenarioRequest, responses((status = 201, description = "Saved: its id and the plan", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn save_scenario(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Json(req): Json<ScenarioRequest>,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander) {
        return Err(ApiError::Forbidden(format!("the {} role cannot save plans", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let scenario_name = req.name.trim();
    if scenario_name.is_empty() || scenario_name.chars().count() > 200 {
        return Err(ApiError::BadRequest("name must be 1-200 characters".into()));
    }
    let id = territory.id;
    let result = match req.kind.as_str() {
        "cameras" => run_camera_plan(&state, territory, &params_as::<CameraPlanQuery>(&req.params)?).await?,
        "posts" => crate::posts::run_post_plan(&state, territory, &params_as::<crate::posts::PostPlanQuery>(&req.params)?).await?,
        "beats" => crate::beats::run_beat_plan(&state, territory, &params_as::<crate::beats::BeatQuery>(&req.params)?).await?,
        other => return Err(ApiError::BadRequest(format!("kind '{other}' must be cameras, posts or beats"))),
    };
    let scenario = NewScenario { kind: req.kind.clone(), name: scenario_name.to_owned(), params: Value::Object(req.params), result };
    let saved = state.store.save_scenario(id, &scenario, &crate::session::actor(&session, peer)).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(json!({"id": saved, "kind": scenario.kind, "name": scenario.name, "result": scenario.result})),
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/scenarios", tag = "planning", summary = "Saved plans, newest first, with their parameters and answers", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "The scenarios", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn scenarios(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let list: Vec<Value> = state
        .store
        .scenarios(territory.id)
        .await?
        .into_iter()
        .map(|s| {
            json!({"id": s.id, "kind": s.kind, "name": s.name, "params": s.params, "result": s.result,
                   "created_by": s.created_by, "created_at": s.created_at.to_rfc3339()})
        })
        .collect();
    Ok(Json(json!({"scenarios": list})).into_response())
}
