//! `GET /api/v1/territories/{name}/incidents`: incident-level detail, scoped
//! to what the user may see, paged by id, and audited on every read.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use qalqan_domain::TerritoryName;
use qalqan_domain::account::Role;
use qalqan_domain::audit::NewAuditEntry;
use qalqan_store::IncidentArea;
use serde::{Deserialize, Serialize};

use crate::scope::{Access, territory_access};
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Query of the incident list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IncidentQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    pub category: Option<String>,
    /// A district name.
    pub district: Option<String>,
    /// `min_lon,min_lat,max_lon,max_lat`.
    pub bbox: Option<String>,
    /// Return incidents with id greater than this (keyset paging). Default 0.
    pub after: Option<i64>,
    /// Page size, 1–5000. Default 500.
    pub limit: Option<u32>,
    /// Why the detail is needed; recorded in the audit trail.
    pub purpose: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDto {
    pub id: i64,
    pub external_id: Option<String>,
    pub category: String,
    pub subcategory: Option<String>,
    pub occurred_from: String,
    pub occurred_to: String,
    pub precision: String,
    pub lat: f64,
    pub lon: f64,
    pub district: Option<String>,
    pub premises: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentDto>,
    /// Pass as `after` for the next page; `null` on the last page.
    pub next_after: Option<i64>,
}

fn bad(m: String) -> ApiError {
    ApiError::BadRequest(m)
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/incidents", tag = "incidents", summary = "Incidents, filtered and paged (audited read of incident detail)", params(("name" = String, Path, description = "Territory name"), IncidentQuery), responses((status = 200, description = "One page", body = IncidentPage), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<IncidentQuery>,
) -> Result<Json<IncidentPage>, ApiError> {
    // Incident detail is for the roles that work cases and places; viewers and agency executors see aggregates.
    if matches!(session.user.role, Role::Viewer | Role::AgencyExecutor) {
        return Err(ApiError::Forbidden(format!("the {} role sees aggregated figures only, not individual incidents", session.user.role)));
    }
    let name = TerritoryName::parse(&name).map_err(|e| bad(e.to_string()))?;
    let territory = state.territory(&name).await?;
    let allowed = match territory_access(&session.user, territory.id) {
        Access::None => return Err(ApiError::NotFound(format!("territory '{name}' not found"))),
        Access::Districts(ids) => Some(ids),
        Access::Whole => None,
    };
    let districts = match (&q.district, allowed) {
        (None, allowed) => allowed,
        (Some(d), allowed) => {
            let district = territory.district_by_name(d).ok_or_else(|| ApiError::NotFound(format!("district '{d}' not found")))?;
            if allowed.as_ref().is_some_and(|ids| !ids.contains(&district.id)) {
                return Err(ApiError::NotFound(format!("district '{d}' not found")));
            }
            Some(vec![district.id])
        }
    };
    let bbox = q
        .bbox
        .as_deref()
        .map(|b| {
            let v: Vec<f64> = b
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad(format!("bbox '{b}' must be four numbers")))?;
            match v.as_slice() {
                &[a, b2, c, d] if [a, b2, c, d].iter().all(|x| x.is_finite()) && a <= c && b2 <= d => Ok([a, b2, c, d]),
                _ => Err(bad(format!("bbox '{b}' must be min_lon,min_lat,max_lon,max_lat"))),
            }
        })
        .transpose()?;
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let after = q.after.unwrap_or(0).max(0);
    let rows = state.store.incident_page(&filter, &IncidentArea { bbox, districts }, after, limit).await?;
    let next_after = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id)).flatten();
    // The read is recorded before the data leaves the server.
    let detail = serde_json::json!({
        "from": q.from, "to": q.to, "category": q.category, "district": q.district, "bbox": q.bbox,
        "after": after, "returned": rows.len(), "first_id": rows.first().map(|r| r.id), "last_id": rows.last().map(|r| r.id),
    });
    let entry = NewAuditEntry {
        actor: crate::session::actor(&session, peer),
        action: "incident.list".into(),
        object: format!("territory:{}", territory.id.0),
        detail: detail.to_string(),
        purpose: q.purpose.clone().filter(|p| !p.trim().is_empty()),
    };
    state.store.audit(&entry).await?;
    let incidents = rows
        .into_iter()
        .map(|r| IncidentDto {
            id: r.id,
            external_id: r.external_id,
            category: r.category,
            subcategory: r.subcategory,
            occurred_from: r.start.to_rfc3339(),
            occurred_to: r.end.to_rfc3339(),
            precision: r.precision,
            lat: r.lat,
            lon: r.lon,
            district: r.district,
            premises: r.premises,
        })
        .collect();
    Ok(Json(IncidentPage { incidents, next_after }))
}
