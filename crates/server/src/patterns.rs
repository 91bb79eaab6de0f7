//! When and how much: the hour × weekday matrix, the monthly series and the
//! CompStat table as JSON — one writer for the CLI (`qalqan analyze time |
//! compstat --format json`) and the API (`GET …/time`, `GET …/compstat`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::NaiveDate;
use qalqan_analysis::compstat::{CompStatRow, Comparison, DatedIncident, Period, Periods, compstat_table};
use qalqan_analysis::time_pattern::{HourWeekdayParams, TimeRecord, hour_weekday, monthly_series};
use qalqan_domain::Territory;
use qalqan_store::IncidentRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Weekday labels, Monday first (ISO 8601).
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// The hour × weekday matrix (aoristic) and the monthly series of `records`.
pub fn time_json(territory: &Territory, filter: Value, records: &[IncidentRecord]) -> Value {
    let tz = territory.time_zone;
    let times: Vec<TimeRecord> = records.iter().map(|r| TimeRecord { start: r.start, end: r.end, precision: r.precision }).collect();
    let matrix = hour_weekday(&times, tz, &HourWeekdayParams::default());
    let months = monthly_series(&times, tz);
    json!({
        "territory": territory.name.as_str(),
        "filter": filter,
        "time_zone": tz.name(),
        "incidents": times.len(),
        "weekdays": WEEKDAYS,
        "hour_weekday": matrix.cells,
        "hour_unknown_by_weekday": matrix.hour_unknown,
        "not_placed": matrix.not_placed,
        "monthly": months.iter().map(|(m, n)| json!({"month": crate::dto::month_label(*m), "count": n})).collect::<Vec<_>>(),
    })
}

/// Incidents as the CompStat table counts them: local day, district name, category code.
pub fn dated_incidents(territory: &Territory, records: &[IncidentRecord]) -> Vec<DatedIncident> {
    let names: HashMap<_, _> = territory.districts.iter().map(|d| (d.id, d.name.to_string())).collect();
    records
        .iter()
        .map(|r| DatedIncident {
            day: r.start.with_timezone(&territory.time_zone).date_naive(),
            district: r.district.and_then(|d| names.get(&d).cloned()),
            category: r.category.code().to_owned(),
        })
        .collect()
}

/// The CompStat table as of `date` (week to date, last 28 days and year to
/// date, each against the same span a year earlier), with significance at `alpha`.
pub fn compstat_json(territory: &Territory, table: &[CompStatRow], date: NaiveDate, alpha: f64) -> Value {
    let periods = Periods::ending(date);
    let cmp = |c: &Comparison| json!({"current": c.current, "previous": c.previous, "change_percent": c.change_percent, "p_value": c.p_value, "significant": c.significant(alpha)});
    let rows: Vec<Value> = table
        .iter()
        .map(|r| {
            json!({"district": r.district, "category": r.category, "week_to_date": cmp(&r.week_to_date),
                   "last_28_days": cmp(&r.last_28_days), "year_to_date": cmp(&r.year_to_date)})
        })
        .collect();
    let p = |p: &Period| json!({"first": p.first.to_string(), "last": p.last.to_string()});
    json!({
        "territory": territory.name.as_str(),
        "date": date.to_string(),
        "alpha": alpha,
        "periods": {
            "week_to_date": [p(&periods.week_to_date.0), p(&periods.week_to_date.1)],
            "last_28_days": [p(&periods.last_28_days.0), p(&periods.last_28_days.1)],
            "year_to_date": [p(&periods.year_to_date.0), p(&periods.year_to_date.1)],
        },
        "rows": rows,
    })
}

/// Repeat places of `records`: how concentrated incidents are over exact
/// locations (shares at the top 1/5/10 % of places, Lorenz curve, Gini) and
/// the `top` busiest places.
pub fn places_json(territory: &Territory, filter: Value, records: &[IncidentRecord], top: usize) -> Value {
    let points: Vec<_> = records.iter().map(|r| r.location).collect();
    let c = qalqan_analysis::concentration::repeat_places(&points);
    json!({
        "territory": territory.name.as_str(),
        "filter": filter,
        "incidents": c.incidents,
        "places": c.ranked.len(),
        "gini": c.gini,
        "top_shares": c.top_shares.iter().map(|(p, s)| json!({"top_share_of_places": p, "share_of_incidents": s})).collect::<Vec<_>>(),
        "lorenz": c.lorenz.iter().map(|(p, s)| [p, s]).collect::<Vec<_>>(),
        "ranked": c.ranked.iter().take(top).map(|p| json!({"lat": p.location.lat(), "lon": p.location.lon(), "incidents": p.incidents})).collect::<Vec<_>>(),
    })
}

/// Query of `GET …/places`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacesQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// How many of the busiest places to list, 0–1000. Default 20.
    pub top: Option<usize>,
    /// Why the list is needed; recorded in the audit trail.
    pub purpose: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/places", tag = "analysis", summary = "Repeat places: concentration over exact locations and the busiest places (audited: places can point at one address)", params(("name" = String, Path, description = "Territory name"), PlacesQuery), responses((status = 200, description = "Concentration and ranked places", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_places(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<PlacesQuery>,
) -> Result<Response, ApiError> {
    // A busy "place" can be one address: detail for the roles that work cases and places.
    if matches!(session.user.role, qalqan_domain::account::Role::Viewer | qalqan_domain::account::Role::AgencyExecutor) {
        return Err(ApiError::Forbidden(format!("the {} role sees aggregated figures only, not individual places", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let top = q.top.unwrap_or(20).min(1000);
    let entry = qalqan_domain::audit::NewAuditEntry {
        actor: crate::session::actor(&session, peer),
        action: "incident.places".into(),
        object: format!("territory:{}", territory.id.0),
        detail: json!({"from": q.from, "to": q.to, "category": q.category, "top": top}).to_string(),
        purpose: q.purpose.clone().filter(|p| !p.trim().is_empty()),
    };
    state.store.audit(&entry).await?;
    let id = territory.id;
    let key = (&q.from, &q.to, &q.category, top);
    crate::cached_json(&state, &headers, id, "places", &key, || async {
        let records = state.store.incident_records(&filter).await?;
        let described = json!({"from": q.from, "to": q.to, "category": q.category});
        tokio::task::spawn_blocking(move || places_json(&territory, described, &records, top))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}

/// Query of `GET …/time`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimeQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// Only this district (and those nested in it); district-scoped users may ask for theirs.
    pub district: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/time", tag = "analysis", summary = "Hour × weekday matrix (aoristic) and monthly series", params(("name" = String, Path, description = "Territory name"), TimeQuery), responses((status = 200, description = "Time patterns", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_time(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<TimeQuery>,
) -> Result<Response, ApiError> {
    let area = crate::scope::aggregate_area(&state, &session, &name, q.district.as_deref()).await?;
    let filter = crate::incident_filter(&area.territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let id = area.territory.id;
    crate::cached_json(&state, &headers, id, "time", &q, || async {
        let records = area.keep(state.store.incident_records(&filter).await?);
        let described = json!({"from": q.from, "to": q.to, "category": q.category, "district": q.district});
        let territory = area.territory;
        tokio::task::spawn_blocking(move || time_json(&territory, described, &records)).await.map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}

/// Query of `GET …/compstat`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompStatQuery {
    /// The "as of" day, `YYYY-MM-DD`. Default: the last local day with an incident.
    pub date: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// Significance level of the two-sided binomial test. Default 0.05.
    pub alpha: Option<f64>,
    /// Only this district (and those nested in it); district-scoped users may ask for theirs.
    pub district: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/compstat", tag = "analysis", summary = "CompStat table: week to date, 28 days, year to date against a year earlier", params(("name" = String, Path, description = "Territory name"), CompStatQuery), responses((status = 200, description = "CompStat table", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn get_compstat(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<CompStatQuery>,
) -> Result<Response, ApiError> {
    let area = crate::scope::aggregate_area(&state, &session, &name, q.district.as_deref()).await?;
    let territory = &area.territory;
    let alpha = q.alpha.unwrap_or(0.05);
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(ApiError::BadRequest(format!("alpha {alpha} must be between 0 and 1")));
    }
    let date = match q.date.as_deref() {
        Some(d) => Some(
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("date: '{d}' is not a date YYYY-MM-DD")))?,
        ),
        None => None,
    };
    // The comparison reaches back to 1 January of the year before `date`.
    let from = date.and_then(|d| NaiveDate::from_ymd_opt(chrono::Datelike::year(&d) - 1, 1, 1)).map(|d| d.to_string());
    let to = date.map(|d| d.to_string());
    let filter = crate::incident_filter(territory, from.as_deref(), to.as_deref(), q.category.as_deref())?;
    let id = territory.id;
    crate::cached_json(&state, &headers, id, "compstat", &q, || async {
        let records = area.keep(state.store.incident_records(&filter).await?);
        let territory = area.territory;
        tokio::task::spawn_blocking(move || {
            let incidents = dated_incidents(&territory, &records);
            let Some(date) = date.or_else(|| incidents.iter().map(|i| i.day).max()) else {
                return json!({"territory": territory.name.as_str(), "date": null, "alpha": alpha, "periods": null, "rows": []});
            };
            let table = compstat_table(&incidents, date);
            compstat_json(&territory, &table, date, alpha)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}
