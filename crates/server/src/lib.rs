//! Qalqan's HTTP server.
//!
//! For now: health and readiness, the territory list and incident statistics
//! as JSON under `/api/v1`, and a minimal server-rendered page at `/`. The
//! full API (accounts, audit, OpenAPI) and the web UI come with issue #4.
//!
//! Errors: [`ApiError`] turns every failure into a response; 4xx carry a
//! message for the user, 5xx are opaque to the client and logged once.

pub mod admin;
pub mod assignments;
pub mod auth;
pub mod beats;
pub mod cache;
pub mod cameras;
pub mod catalog;
pub mod council;
pub mod dto;
pub mod email;
pub mod evaluation;
pub mod forecast;
pub mod hotspots;
pub mod imports;
pub mod incidents;
pub mod jobs;
pub mod layers;
pub mod middleware;
pub mod near_repeat;
pub mod openapi;
mod page;
pub mod patterns;
pub mod placement;
pub mod plans;
pub mod posts;
pub mod public;
pub mod risk_terrain;
pub mod scope;
pub mod session;
pub mod setup;
pub mod streets;
pub mod threat;
pub mod web;

use std::future::Future;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use qalqan_domain::{OffenceCategory, time::local_day_start};
use qalqan_store::{IncidentFilter, Store, StoreError};

use crate::scope::Access;
use crate::session::CurrentSession;
use serde::Deserialize;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub sessions: session::SessionPolicy,
    /// SHA-256 of the one-time first-administrator token, while no account exists.
    pub setup_token: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// Login attempts per client address.
    pub login_attempts: std::sync::Arc<session::AttemptLimiter>,
    /// Computed aggregates (hotspot maps, statistics, time patterns, CompStat tables).
    pub responses: std::sync::Arc<cache::ResponseCache>,
    /// Where the web UI's files come from.
    pub web: web::WebAssets,
    /// Territories kept between requests.
    pub territories: std::sync::Arc<catalog::TerritoryCache>,
    /// Where reminders and escalations are e-mailed; none: in-app notifications only.
    pub mailer: Option<std::sync::Arc<email::Mailer>>,
    /// How long each category of data is kept; applied by the hourly job.
    pub retention: qalqan_domain::retention::RetentionPolicy,
    /// How many jobs this instance runs, and when a silent worker's job is taken over.
    pub jobs: jobs::JobSettings,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            sessions: session::SessionPolicy::default(),
            setup_token: Default::default(),
            login_attempts: Default::default(),
            responses: Default::default(),
            web: web::WebAssets::from_env(),
            territories: Default::default(),
            mailer: None,
            retention: Default::default(),
            jobs: Default::default(),
        }
    }

    /// The territory as stored now (kept in memory while unchanged).
    pub(crate) async fn territory(&self, name: &qalqan_domain::TerritoryName) -> Result<qalqan_domain::Territory, ApiError> {
        let (t, _) = self.territories.get(&self.store, name).await?;
        Ok(qalqan_domain::Territory::clone(&t))
    }

    /// The territory's data version: as seen by this request's territory lookup, else from the store.
    pub(crate) async fn data_version(&self, id: qalqan_domain::TerritoryId) -> Result<i64, ApiError> {
        match self.territories.data_version(id) {
            Some(v) => Ok(v),
            None => Ok(self.store.data_version(id).await?),
        }
    }
}

/// The body of every error response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for the user; never internals.
    pub error: String,
}

/// Errors a handler can return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("wrong login or password, or not logged in")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many failed attempts; try again later")]
    TooManyAttempts,
    #[error("the database is not available")]
    Unavailable,
    #[error("internal error")]
    Store(#[source] StoreError),
    #[error("internal error")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, key } => ApiError::NotFound(format!("{what} '{key}' not found")),
            StoreError::Conflict { what, key } => ApiError::Conflict(format!("{what} '{key}' conflicts with what is stored")),
            StoreError::Invalid { what, reason } => ApiError::BadRequest(format!("invalid {what}: {reason}")),
            StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err) => {
                tracing::warn!(error = %sqlx_err, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Store(other),
        }
    }
}

fn is_unavailable(e: &qalqan_store::SqlxError) -> bool {
    matches!(e, qalqan_store::SqlxError::PoolTimedOut | qalqan_store::SqlxError::PoolClosed | qalqan_store::SqlxError::Io(_))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, self.to_string()),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, self.to_string()),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, m.clone()),
            ApiError::TooManyAttempts => (StatusCode::TOO_MANY_REQUESTS, self.to_string()),
            ApiError::Store(source) => {
                tracing::error!(error = %source, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(web::index))
        .route("/assets/{*path}", get(web::asset))
        .route("/favicon.svg", get(web::favicon))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/health", get(health))
        .route("/api/v1/ready", get(ready))
        .route("/api/v1/territories", get(territories))
        .route("/api/v1/territories/{name}/stats", get(stats))
        .route("/api/v1/territories/{name}/incidents", get(incidents::list))
        .route("/api/v1/territories/{name}/hotspots", get(hotspots::get_hotspots))
        .route("/api/v1/territories/{name}/time", get(patterns::get_time))
        .route("/api/v1/territories/{name}/boundaries", get(layers::boundaries))
        .route("/api/v1/territories/{name}/points", get(layers::points))
        .route("/api/v1/categories", get(layers::categories))
        .route("/api/v1/mappings", get(imports::mappings))
        .route(
            "/api/v1/territories/{name}/imports",
            post(imports::upload).layer(axum::extract::DefaultBodyLimit::max(imports::MAX_UPLOAD_BYTES)),
        )
        .route("/api/v1/territories/{name}/compstat", get(patterns::get_compstat))
        .route("/api/v1/territories/{name}/places", get(patterns::get_places))
        .route("/api/v1/territories/{name}/near-repeat", get(near_repeat::get_near_repeat))
        .route("/api/v1/territories/{name}/forecast", get(forecast::get_forecast))
        .route("/api/v1/territories/{name}/cameras", get(cameras::list).post(cameras::upload))
        .route("/api/v1/territories/{name}/cameras/coverage", get(cameras::coverage))
        .route("/api/v1/territories/{name}/posts", get(posts::list).post(posts::upload))
        .route("/api/v1/territories/{name}/plans/posts", get(posts::plan))
        .route("/api/v1/territories/{name}/plans/cameras", get(plans::camera_plan))
        .route("/api/v1/territories/{name}/streets", get(plans::streets))
        .route("/api/v1/bodies", get(assignments::bodies).post(assignments::add_body))
        .route("/api/v1/bodies/{id}/meetings", get(assignments::meetings).post(assignments::add_meeting))
        .route("/api/v1/assignments", get(assignments::list).post(assignments::create))
        .route("/api/v1/assignments/dashboard", get(assignments::dashboard))
        .route("/api/v1/assignments/{id}", get(assignments::show))
        .route("/api/v1/assignments/{id}/actions", post(assignments::act))
        .route(
            "/api/v1/assignments/{id}/reports",
            post(assignments::report).layer(axum::extract::DefaultBodyLimit::max(assignments::MAX_REPORT_BYTES)),
        )
        .route("/api/v1/assignments/{id}/extensions", post(assignments::request_extension))
        .route("/api/v1/assignments/{id}/extensions/decision", post(assignments::decide_extension))
        .route("/api/v1/assignments/{id}/attachments/{file}", get(assignments::attachment))
        .route("/api/v1/notifications", get(assignments::notifications))
        .route("/api/v1/notifications/{id}/read", post(assignments::read_notification))
        .route("/api/v1/territories/{name}/facilities", get(threat::facilities).post(threat::upload_facilities))
        .route("/api/v1/territories/{name}/facilities/{id}/inspections", get(threat::inspections).post(threat::add_inspection))
        .route("/api/v1/measures", get(threat::measures).put(threat::replace_measures))
        .route("/api/v1/public/territories", get(public::territories))
        .route("/api/v1/public/territories/{name}/summary", get(public::summary))
        .route("/api/v1/public/territories/{name}/cells", get(public::cells))
        .route("/api/v1/public/territories/{name}/boundary", get(public::boundary))
        .route("/api/v1/territories/{name}/risk-terrain", get(risk_terrain::get_risk_terrain))
        .route("/api/v1/territories/{name}/layers", get(risk_terrain::list_layers))
        .route("/api/v1/territories/{name}/layers/{layer}", post(risk_terrain::upload_layer))
        .route("/api/v1/territories/{name}/reports/council", get(council::get_council))
        .route("/api/v1/territories/{name}/interventions", get(evaluation::list_interventions).post(evaluation::add_intervention))
        .route("/api/v1/territories/{name}/interventions/{id}/evaluation", get(evaluation::get_evaluation))
        .route("/api/v1/territories/{name}/threat-levels", get(threat::levels).post(threat::declare))
        .route("/api/v1/territories/{name}/threat-levels/{id}/extend", post(threat::extend))
        .route("/api/v1/territories/{name}/threat-levels/{id}/lift", post(threat::lift))
        .route("/api/v1/territories/{name}/threat-levels/{id}/checklist", get(threat::checklist))
        .route("/api/v1/territories/{name}/threat-levels/{id}/checklist/{item}/done", post(threat::done))
        .route("/api/v1/territories/{name}/travel-time", get(plans::travel_time))
        .route("/api/v1/territories/{name}/beats", get(beats::list).post(beats::upload))
        .route("/api/v1/territories/{name}/plans/beats", get(beats::plan))
        .route("/api/v1/territories/{name}/scenarios", get(plans::scenarios).post(plans::save_scenario))
        .route("/api/v1/territories/{name}/forecast/backtest", get(forecast::get_backtest))
        .route("/api/v1/auth/login", post(session::login))
        .route("/api/v1/auth/logout", post(session::logout))
        .route("/api/v1/auth/me", get(session::me))
        .route("/api/v1/auth/password", post(session::change_password))
        .route("/api/v1/setup", post(setup::create_first_administrator))
        .route("/api/v1/admin/users", get(admin::users).post(admin::add_user))
        .route("/api/v1/admin/users/{login}/disable", post(admin::disable))
        .route("/api/v1/admin/users/{login}/enable", post(admin::enable))
        .route("/api/v1/admin/users/{login}/reset", post(admin::reset))
        .route("/api/v1/admin/users/{login}/sessions/revoke", post(admin::revoke_user_sessions))
        .route("/api/v1/admin/users/{login}/scopes", axum::routing::put(admin::set_scopes))
        .route("/api/v1/admin/users/{login}/email", axum::routing::put(admin::set_email))
        .route("/api/v1/admin/agencies", get(admin::agencies).post(admin::add_agency))
        .route("/api/v1/admin/sessions", get(admin::sessions))
        .route("/api/v1/admin/sessions/{id}", axum::routing::delete(admin::revoke_session))
        .route("/api/v1/admin/audit", get(admin::audit))
        .route("/api/v1/admin/audit/verify", get(admin::verify))
        .route("/api/v1/territories/{name}/jobs", post(jobs::enqueue))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/jobs/{id}", get(jobs::show))
        .route("/api/v1/jobs/{id}/result", get(jobs::result))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(middleware::json_errors))
        // Large JSON (a city's hotspot grid is several MB) travels gzip-compressed when the client accepts it.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(middleware::observe))
        // Served over TLS (behind a proxy that terminates it): browsers are told to stay on HTTPS.
        .layer(axum::middleware::from_fn_with_state(state.sessions.secure_cookie, middleware::strict_transport))
        .with_state(state)
}

/// Applies every retention rule at `now` (with `dry_run`, only counts): (category, cutoff, rows).
pub async fn apply_retention(
    store: &Store,
    policy: &qalqan_domain::retention::RetentionPolicy,
    now: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
    actor: &qalqan_domain::audit::Actor,
) -> Result<Vec<(qalqan_domain::retention::RetentionCategory, chrono::DateTime<chrono::Utc>, u64)>, qalqan_store::StoreError> {
    let mut out = Vec::new();
    for (category, cutoff) in policy.cutoffs(now) {
        out.push((category, cutoff, store.purge(category, cutoff, dry_run, actor).await?));
    }
    Ok(out)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // This instance's name among those sharing the database: the hourly job's lease holder, and
    // the prefix of its job workers' names.
    let instance = auth::random_bytes::<6>().map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>()).unwrap_or_default();
    // Reminders and escalations: written (and e-mailed) at start and every hour after (the job is
    // idempotent); retention rules are applied by the same job.
    let notifier =
        tokio::spawn(assignments::notify_every_hour(state.store.clone(), state.mailer.clone(), state.retention, instance.clone()));
    // Job workers: each claims queued jobs (any instance's) and runs them.
    let workers: Vec<_> =
        (0..state.jobs.workers).map(|k| tokio::spawn(jobs::work(state.clone(), format!("{instance}-{k}"), state.jobs))).collect();
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    notifier.abort();
    for w in workers {
        w.abort();
    }
    served
}

#[utoipa::path(get, path = "/api/v1/health", tag = "system", summary = "Liveness: the process answers", responses((status = 200, description = "Alive", body = serde_json::Value)))]
async fn health() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

#[utoipa::path(get, path = "/api/v1/ready", tag = "system", summary = "Readiness: the database answers", responses((status = 200, description = "Ready", body = serde_json::Value), (status = 503, description = "The database is not available", body = ErrorBody)))]
async fn ready(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    state.store.table_counts().await?;
    Ok(Json(serde_json::json!({ "status": "ready" })))
}

#[utoipa::path(get, path = "/api/v1/territories", tag = "territories", summary = "Territories the user may see", responses((status = 200, description = "Territories", body = Vec<dto::TerritoryDto>), (status = 401, description = "Not logged in", body = ErrorBody)))]
async fn territories(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<impl IntoResponse, ApiError> {
    let list = state.store.territories().await?;
    Ok(Json(
        list.iter()
            .filter(|t| scope::territory_access(&session.user, t.id) != Access::None)
            .map(dto::TerritoryDto::from)
            .collect::<Vec<_>>(),
    ))
}

/// Query of `GET /api/v1/territories/{name}/stats`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A Qalqan category code.
    pub category: Option<String>,
    /// Only this district (and those nested in it); district-scoped users may ask for theirs.
    pub district: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/stats", tag = "analysis", summary = "Incident counts by category, month and district", params(("name" = String, Path, description = "Territory name"), StatsQuery), responses((status = 200, description = "Counts", body = dto::StatsDto), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
async fn stats(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<StatsQuery>,
) -> Result<Response, ApiError> {
    let area = scope::aggregate_area(&state, &session, &name, q.district.as_deref()).await?;
    let filter = incident_filter(&area.territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    cached_json(&state, &headers, area.territory.id, "stats", &q, || async {
        let stats = match &area.district {
            None => state.store.incident_stats(&filter).await?,
            // One district: counted from its records (the SQL statistics cover whole territories).
            Some(_) => district_stats(&area.territory, &area.keep(state.store.incident_records(&filter).await?)),
        };
        serde_json::to_value(dto::StatsDto::new(area.territory.name.as_str(), &stats)).map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}

/// Counts by category, local month and district of some records, ordered as the store orders them.
fn district_stats(territory: &qalqan_domain::Territory, records: &[qalqan_store::IncidentRecord]) -> qalqan_store::IncidentStats {
    use chrono::Datelike;
    use std::collections::HashMap;
    let mut by_category: HashMap<String, u64> = HashMap::new();
    let mut by_month: std::collections::BTreeMap<i32, u64> = Default::default();
    let mut by_district: HashMap<Option<String>, u64> = HashMap::new();
    for r in records {
        *by_category.entry(r.category.code().to_owned()).or_default() += 1;
        let local = r.start.with_timezone(&territory.time_zone);
        *by_month.entry(local.year() * 100 + local.month() as i32).or_default() += 1;
        let name = r.district.and_then(|id| territory.districts.iter().find(|d| d.id == id)).map(|d| d.name.to_string());
        *by_district.entry(name).or_default() += 1;
    }
    let busiest_first = |mut v: Vec<(String, u64)>| {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    let mut districts: Vec<(Option<String>, u64)> = by_district.into_iter().collect();
    districts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    qalqan_store::IncidentStats {
        total: records.len() as u64,
        by_category: busiest_first(by_category.into_iter().collect()),
        by_month: by_month.into_iter().collect(),
        by_district: districts,
    }
}

/// The incident filter of a request: local days `from`/`to` (inclusive,
/// `YYYY-MM-DD`) in the territory's zone, and a category code.
pub(crate) fn incident_filter(
    territory: &qalqan_domain::Territory,
    from: Option<&str>,
    to: Option<&str>,
    category: Option<&str>,
) -> Result<IncidentFilter, ApiError> {
    let day = |field: &str, v: Option<&str>| -> Result<Option<NaiveDate>, ApiError> {
        v.map(|s| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("{field}: '{s}' is not a date YYYY-MM-DD")))
        })
        .transpose()
    };
    let to_utc = |d: NaiveDate| local_day_start(d, territory.time_zone).map_err(|e| ApiError::BadRequest(e.to_string()));
    Ok(IncidentFilter {
        territory: territory.id,
        from: day("from", from)?.map(to_utc).transpose()?,
        // `to` is inclusive: stop at the start of the next local day.
        to: day("to", to)?.and_then(|d| d.succ_opt()).map(to_utc).transpose()?,
        category: category.map(|c| c.parse::<OffenceCategory>().map_err(|e| ApiError::BadRequest(e.to_string()))).transpose()?,
    })
}

/// A territory-wide aggregate as JSON, computed once per data version and
/// query (see [`cache`]). `what` and `query` make the key with the
/// territory's data version; call only after the scope check.
pub(crate) async fn cached_json<Fut>(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    territory: qalqan_domain::TerritoryId,
    what: &str,
    query: &impl std::fmt::Debug,
    compute: impl FnOnce() -> Fut,
) -> Result<Response, ApiError>
where
    Fut: Future<Output = Result<serde_json::Value, ApiError>>,
{
    let key = format!("{what}|{}|{}|{query:?}", territory.0, state.data_version(territory).await?);
    if let Some(hit) = state.responses.get(&key) {
        return Ok(hit.respond(headers));
    }
    let value = compute().await?;
    let body = cache::CachedBody::new(key.clone(), value.to_string(), "application/json");
    state.responses.put(key, body.clone());
    Ok(body.respond(headers))
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], r#"{"error":"no such page"}"#)
}
