//! Protected facilities and terrorism threat levels on the wire: the facility register, the
//! measures table, declarations with their checklists, and readiness per category and district.
//!
//! Who may do what: reading needs the whole territory in scope; the register and the measures
//! table are written by administrators, analysts and commanders; threat levels are declared,
//! extended and lifted by administrators and commanders; checklist items are marked done by any
//! account but a viewer. Every write is audited by the store.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use qalqan_domain::Territory;
use qalqan_domain::account::Role;
use qalqan_domain::facility::ThreatLevel;
use qalqan_store::Session;
use qalqan_store::threat::{Declaration, FacilityRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assignments::{date, today};
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

fn require(session: &Session, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&session.user.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("the {} role cannot {what}", session.user.role)))
    }
}

fn facility_json(r: &FacilityRecord) -> Value {
    let f = &r.facility;
    json!({
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [f.location.lon(), f.location.lat()]},
        "properties": {
            "id": f.external_id, "name": f.name, "category": f.category.code(), "owner": f.owner, "passport": f.passport_number,
            "passport_valid_until": f.passport_valid_until.map(|d| d.to_string()), "equipment": f.equipment.iter().map(|e| e.code()).collect::<Vec<_>>(),
        },
    })
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/facilities", tag = "coordination", summary = "Facilities vulnerable to terrorism as GeoJSON points", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "One feature per facility", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn facilities(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let list = state.store.facilities(territory.id).await?;
    Ok(Json(json!({"type": "FeatureCollection", "features": list.iter().map(facility_json).collect::<Vec<_>>()})).into_response())
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/facilities", tag = "coordination", summary = "Add or update facilities from a register (CSV or GeoJSON body); all or nothing, every bad row named", params(("name" = String, Path, description = "Territory name"), crate::cameras::UploadQuery), request_body(content = String, description = "The register", content_type = "text/csv"), responses((status = 200, description = "Added and updated", body = serde_json::Value), (status = 400, description = "Not a register", body = ErrorBody), (status = 422, description = "Invalid rows; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory", body = ErrorBody)))]
pub(crate) async fn upload_facilities(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<crate::cameras::UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&session, &[Role::Administrator, Role::Analyst, Role::Commander], "change the facility register")?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let rows = match crate::cameras::parse_upload(
        q.format.as_deref(),
        &body,
        qalqan_ingest::facilities::parse_csv,
        qalqan_ingest::facilities::parse_geojson,
    )? {
        Ok(rows) => rows,
        Err(rejects) => return Ok(rejects),
    };
    let done = state.store.import_facilities(territory.id, &rows, &crate::session::actor(&session, peer)).await?;
    Ok(Json(json!({"facilities": rows.len(), "added": done.added, "updated": done.updated})).into_response())
}

#[utoipa::path(get, path = "/api/v1/measures", tag = "coordination", summary = "The measures each threat level requires, per facility category and for the police", responses((status = 200, description = "The measures", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn measures(State(state): State<AppState>, CurrentSession(_session): CurrentSession) -> Result<Response, ApiError> {
    let list: Vec<Value> = state
        .store
        .measures()
        .await?
        .into_iter()
        .map(|m| json!({"category": m.category.map_or("police", |c| c.code()), "level": m.level.code(), "code": m.code, "text": m.text}))
        .collect();
    Ok(Json(json!({"measures": list})).into_response())
}

#[utoipa::path(put, path = "/api/v1/measures", tag = "coordination", summary = "Replace the measures table (CSV body: category, level, code, text); all or nothing", request_body(content = String, description = "The table", content_type = "text/csv"), responses((status = 200, description = "Replaced", body = serde_json::Value), (status = 422, description = "Invalid rows; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role does not allow it", body = ErrorBody)))]
pub(crate) async fn replace_measures(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&session, &[Role::Administrator, Role::Analyst, Role::Commander], "change the measures")?;
    let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(e.to_string()))?;
    let path = dir.path().join("measures.csv");
    std::fs::write(&path, &body).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Messages name the upload as measures.csv, never the private directory it was written to.
    let (list, errors) = qalqan_ingest::facilities::read_measures(&path)
        .map_err(|e| ApiError::BadRequest(e.to_string().replace(&path.display().to_string(), "measures.csv")))?;
    if !errors.is_empty() {
        return Ok(crate::cameras::rejects_response(&errors));
    }
    let replaced = state.store.replace_measures(&list, &crate::session::actor(&session, peer)).await?;
    Ok(Json(json!({"measures": list.len(), "replaced": replaced})).into_response())
}

fn declaration_json(d: &Declaration, today: NaiveDate) -> Value {
    json!({
        "id": d.id, "level": d.level.code(), "starts_on": d.starts_on.to_string(), "ends_on": d.ends_on.map(|e| e.to_string()),
        "reason": d.reason, "declared_by": d.declared_by, "declared_at": d.declared_at, "lifted_by": d.lifted_by, "lifted_at": d.lifted_at,
        "in_force": d.in_force(today),
    })
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/threat-levels", tag = "coordination", summary = "The territory's threat levels, the whole history, with the one in force", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "The declarations", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory", body = ErrorBody)))]
pub(crate) async fn levels(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let today = today();
    let list = state.store.threat_levels(territory.id).await?;
    let current = list.iter().rev().find(|d| d.in_force(today)).map(|d| d.level.code());
    Ok(Json(json!({"today": today.to_string(), "in_force": current, "declarations": list.iter().map(|d| declaration_json(d, today)).collect::<Vec<_>>()})).into_response())
}

/// Body of `POST …/threat-levels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeclareBody {
    /// yellow, orange or red.
    pub level: String,
    /// `YYYY-MM-DD` (default today).
    pub starts_on: Option<String>,
    /// `YYYY-MM-DD`; none: until lifted.
    pub ends_on: Option<String>,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/threat-levels", tag = "coordination", summary = "Declare a threat level: its checklist is generated for every facility and the police units (audited)", params(("name" = String, Path, description = "Territory name")), request_body = DeclareBody, responses((status = 201, description = "The declaration and its checklist size", body = serde_json::Value), (status = 400, description = "Invalid field", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory", body = ErrorBody), (status = 409, description = "Another declaration covers those days", body = ErrorBody)))]
pub(crate) async fn declare(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Json(req): Json<DeclareBody>,
) -> Result<Response, ApiError> {
    require(&session, &[Role::Administrator, Role::Commander], "declare a threat level")?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let level: ThreatLevel = req.level.parse().map_err(|e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string()))?;
    let starts = req.starts_on.as_deref().map(|s| date("starts_on", s)).transpose()?.unwrap_or_else(today);
    let ends = req.ends_on.as_deref().map(|s| date("ends_on", s)).transpose()?;
    let id =
        state.store.declare_threat_level(territory.id, level, starts, ends, &req.reason, &crate::session::actor(&session, peer)).await?;
    let items = state.store.checklist(id).await?.len();
    let d = state.store.threat_level(id).await?;
    let mut v = declaration_json(&d, today());
    v["checklist_items"] = json!(items);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The declaration, if it belongs to the territory.
async fn of_territory(state: &AppState, territory: &Territory, id: i64) -> Result<Declaration, ApiError> {
    let d = state.store.threat_level(id).await?;
    if d.territory_id == territory.id.0 { Ok(d) } else { Err(ApiError::NotFound(format!("threat level '{id}' not found"))) }
}

/// Body of `POST …/threat-levels/{id}/extend`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExtendBody {
    /// `YYYY-MM-DD`; none: until lifted.
    pub ends_on: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/threat-levels/{id}/extend", tag = "coordination", summary = "Move a declaration's last day (audited)", params(("name" = String, Path, description = "Territory name"), ("id" = i64, Path, description = "Declaration id")), request_body = ExtendBody, responses((status = 200, description = "The declaration", body = serde_json::Value), (status = 400, description = "Invalid date", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such declaration", body = ErrorBody), (status = 409, description = "Already lifted", body = ErrorBody)))]
pub(crate) async fn extend(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, i64)>,
    Json(req): Json<ExtendBody>,
) -> Result<Response, ApiError> {
    require(&session, &[Role::Administrator, Role::Commander], "extend a threat level")?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    of_territory(&state, &territory, id).await?;
    let ends = req.ends_on.as_deref().map(|s| date("ends_on", s)).transpose()?;
    state.store.extend_threat_level(id, ends, &crate::session::actor(&session, peer)).await?;
    Ok(Json(declaration_json(&state.store.threat_level(id).await?, today())).into_response())
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/threat-levels/{id}/lift", tag = "coordination", summary = "Lift a declaration (audited)", params(("name" = String, Path, description = "Territory name"), ("id" = i64, Path, description = "Declaration id")), responses((status = 200, description = "The declaration", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such declaration", body = ErrorBody), (status = 409, description = "Already lifted", body = ErrorBody)))]
pub(crate) async fn lift(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    require(&session, &[Role::Administrator, Role::Commander], "lift a threat level")?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    of_territory(&state, &territory, id).await?;
    state.store.lift_threat_level(id, &crate::session::actor(&session, peer)).await?;
    Ok(Json(declaration_json(&state.store.threat_level(id).await?, today())).into_response())
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/threat-levels/{id}/checklist", tag = "coordination", summary = "A declaration's checklist with readiness overall, per facility category and per district", params(("name" = String, Path, description = "Territory name"), ("id" = i64, Path, description = "Declaration id")), responses((status = 200, description = "The checklist", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The scope does not allow it", body = ErrorBody), (status = 404, description = "No such declaration", body = ErrorBody)))]
pub(crate) async fn checklist(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let d = of_territory(&state, &territory, id).await?;
    let facilities = state.store.facilities(territory.id).await?;
    let items = state.store.checklist(id).await?;
    let facility = |f: Option<i64>| f.and_then(|f| facilities.iter().find(|x| x.id == f));
    let district = |f: Option<&FacilityRecord>| {
        f.and_then(|f| territory.locate_district(f.facility.location))
            .and_then(|id| territory.districts.iter().find(|x| x.id == id))
            .map(|x| x.name.to_string())
    };
    let mut by_category: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_district: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in &items {
        let f = facility(i.facility_id);
        let done = u64::from(i.done_at.is_some());
        let c = by_category.entry(f.map_or("police".to_owned(), |f| f.facility.category.code().to_owned())).or_default();
        c.0 += 1;
        c.1 += done;
        if f.is_some() {
            let e = by_district.entry(district(f).unwrap_or_else(|| "(no district)".into())).or_default();
            e.0 += 1;
            e.1 += done;
        }
    }
    let share = |k: u64, n: u64| if n == 0 { 0.0 } else { (k as f64 / n as f64 * 1e4).round() / 1e4 };
    let done = items.iter().filter(|i| i.done_at.is_some()).count() as u64;
    let rows = |m: &BTreeMap<String, (u64, u64)>, key: &str| -> Vec<Value> {
        m.iter().map(|(k, (n, d))| json!({key: k, "items": n, "done": d, "readiness": share(*d, *n)})).collect()
    };
    Ok(Json(json!({
        "declaration": declaration_json(&d, today()),
        "items": items.len(), "done": done, "readiness": share(done, items.len() as u64),
        "by_category": rows(&by_category, "category"), "by_district": rows(&by_district, "district"),
        "checklist": items.iter().map(|i| {
            let f = facility(i.facility_id);
            json!({"id": i.id, "facility": f.map(|f| f.facility.external_id.clone()), "facility_name": f.map_or("police units".to_owned(), |f| f.facility.name.clone()),
                   "measure": i.measure_code, "text": i.text, "done_by": i.done_by, "done_at": i.done_at, "note": i.note})
        }).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Body of `POST …/checklist/{item}/done`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DoneBody {
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/threat-levels/{id}/checklist/{item}/done", tag = "coordination", summary = "Mark a checklist item done (audited)", params(("name" = String, Path, description = "Territory name"), ("id" = i64, Path, description = "Declaration id"), ("item" = i64, Path, description = "Checklist item id")), request_body = DoneBody, responses((status = 204, description = "Done"), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such item", body = ErrorBody), (status = 409, description = "Already done", body = ErrorBody)))]
pub(crate) async fn done(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path((name, id, item)): Path<(String, i64, i64)>,
    Json(req): Json<DoneBody>,
) -> Result<Response, ApiError> {
    if session.user.role == Role::Viewer {
        return Err(ApiError::Forbidden("viewers cannot mark checklist items".into()));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    of_territory(&state, &territory, id).await?;
    if !state.store.checklist(id).await?.iter().any(|i| i.id == item) {
        return Err(ApiError::NotFound(format!("checklist item '{item}' not found")));
    }
    state.store.check_item(item, &req.note, &crate::session::actor(&session, peer)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A finding of `POST …/inspections`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FindingBody {
    pub text: String,
    /// `YYYY-MM-DD`.
    pub deadline: String,
}

/// Body of `POST …/facilities/{id}/inspections`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InspectionBody {
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub inspector: String,
    #[serde(default)]
    pub summary: String,
    /// The body the assignments come from.
    pub body_id: i64,
    /// Who accepts the reports (a login).
    pub controller: String,
    /// The executing agency (default: the facility's owner).
    pub executor: Option<String>,
    pub findings: Vec<FindingBody>,
}

async fn facility_of(state: &AppState, territory: &Territory, external_id: &str) -> Result<FacilityRecord, ApiError> {
    state
        .store
        .facilities(territory.id)
        .await?
        .into_iter()
        .find(|f| f.facility.external_id == external_id)
        .ok_or_else(|| ApiError::NotFound(format!("facility '{external_id}' not found")))
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/facilities/{id}/inspections", tag = "coordination", summary = "A facility's inspections with the assignments their findings became", params(("name" = String, Path, description = "Territory name"), ("id" = String, Path, description = "The facility's register id")), responses((status = 200, description = "The inspections", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The scope does not allow it", body = ErrorBody), (status = 404, description = "No such facility", body = ErrorBody)))]
pub(crate) async fn inspections(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let f = facility_of(&state, &territory, &id).await?;
    let list: Vec<Value> = state
        .store
        .inspections(f.id)
        .await?
        .into_iter()
        .map(|(id, held_on, inspector, summary, findings)| {
            json!({"id": id, "held_on": held_on.to_string(), "inspector": inspector, "summary": summary,
                   "findings": findings.iter().map(|(text, a)| json!({"text": text, "assignment_id": a})).collect::<Vec<_>>()})
        })
        .collect();
    Ok(Json(json!({"inspections": list})).into_response())
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/facilities/{id}/inspections", tag = "coordination", summary = "Record an inspection; each finding becomes an assignment issued at once (one transaction, audited)", params(("name" = String, Path, description = "Territory name"), ("id" = String, Path, description = "The facility's register id")), request_body = InspectionBody, responses((status = 201, description = "The inspection and its assignments", body = serde_json::Value), (status = 400, description = "Invalid field (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such facility or body", body = ErrorBody)))]
pub(crate) async fn add_inspection(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, String)>,
    Json(req): Json<InspectionBody>,
) -> Result<Response, ApiError> {
    use qalqan_domain::assignment::{Deadline, NewAssignment, Priority};
    require(&session, &[Role::Administrator, Role::Analyst, Role::Commander], "record inspections")?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let f = facility_of(&state, &territory, &id).await?;
    if req.findings.is_empty() {
        return Err(ApiError::BadRequest("an inspection needs at least one finding".into()));
    }
    let executor = req.executor.clone().unwrap_or_else(|| f.facility.owner.clone());
    let place = format!("facility:{}", f.facility.external_id);
    let findings = req
        .findings
        .iter()
        .enumerate()
        .map(|(k, x)| {
            let deadline = Deadline::Fixed(date(&format!("findings[{k}].deadline"), &x.deadline)?);
            NewAssignment::new("", &x.text, &executor, None, &[], &req.controller, deadline, Priority::High, Some(&place))
                .map_err(|e| ApiError::BadRequest(format!("findings[{k}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let inspection = qalqan_store::coordination::NewInspection {
        facility_id: f.id,
        held_on: date("held_on", &req.held_on)?,
        inspector: req.inspector.trim().to_owned(),
        summary: req.summary.trim().to_owned(),
    };
    let (iid, assignments) = state
        .store
        .add_inspection(territory.id, &inspection, &findings, req.body_id, today(), &crate::session::actor(&session, peer))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": iid, "assignments": assignments}))).into_response())
}
