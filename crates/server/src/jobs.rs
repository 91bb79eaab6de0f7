//! Long analyses as jobs: asked for with `POST …/jobs`, queued in the database, run by whichever
//! instance's worker claims them, followed with `GET /jobs/{id}` (status, progress) and fetched
//! with `GET /jobs/{id}/result`.
//!
//! A job is the GET of an analysis endpoint made on behalf of the user who asked: the worker runs
//! it through the same router, as that user (their role and scope as they are when it runs, the
//! audit trail naming them), so a job can do nothing its user could not do directly. Workers send
//! heartbeats; a job whose worker stopped (killed, restarted) is claimed again by another after
//! `stale_seconds`, at most three times.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};
use qalqan_domain::account::Role;
use qalqan_store::jobs::{Job, JobStatus};

/// The analyses that may run as jobs: kind → the endpoint under `/territories/{name}/`.
pub const KINDS: &[(&str, &str)] = &[
    ("hotspots", "hotspots"),
    ("places", "places"),
    ("compstat", "compstat"),
    ("near_repeat", "near-repeat"),
    ("forecast", "forecast"),
    ("backtest", "forecast/backtest"),
    ("risk_terrain", "risk-terrain"),
    ("camera_plan", "plans/cameras"),
    ("post_plan", "plans/posts"),
    ("beat_plan", "plans/beats"),
    ("council_report", "reports/council"),
];

/// Times a job is claimed before it is failed (its workers kept stopping).
pub const MAX_ATTEMPTS: i64 = 3;

/// How many jobs an instance runs at once, and when a silent worker's job is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSettings {
    /// Jobs run at once by this instance (0: it only queues; others run them). Default 1.
    pub workers: usize,
    /// A running job whose worker sent no heartbeat for this long is claimed again. Default 60.
    pub stale_seconds: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self { workers: 1, stale_seconds: 60 }
    }
}

/// The user a job runs for, put in the request by the worker (never from the network).
#[derive(Clone)]
pub struct JobSession(pub qalqan_store::Session);

/// Progress of the job running the request (0–1 in millionths), for handlers that can tell.
#[derive(Clone, Default)]
pub struct JobProgress(pub Arc<AtomicU64>);

impl JobProgress {
    /// `done` of `total` steps.
    pub fn set(&self, done: usize, total: usize) {
        let f = if total == 0 { 0.0 } else { done as f64 / total as f64 };
        self.0.store((f.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }

    fn get(&self) -> f64 {
        self.0.load(Ordering::Relaxed) as f64 / 1e6
    }
}

/// Body of `POST /territories/{name}/jobs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct JobRequest {
    /// hotspots, places, compstat, near_repeat, forecast, backtest, risk_terrain, camera_plan,
    /// post_plan, beat_plan or council_report.
    pub kind: String,
    /// The endpoint's query parameters, as it documents them.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn job_json(j: &Job, territory: &str) -> Value {
    json!({
        "id": j.id, "kind": j.kind, "territory": territory, "status": j.status.code(), "progress": j.progress,
        "message": j.message, "attempts": j.attempts, "requested_by": j.requested_by,
        "created_at": j.created_at, "started_at": j.started_at, "finished_at": j.finished_at,
        "result": (j.status == JobStatus::Done).then(|| format!("/api/v1/jobs/{}/result", j.id)),
        "result_type": j.result_type,
    })
}

async fn territory_name(state: &AppState, id: i64) -> String {
    state
        .store
        .territories()
        .await
        .ok()
        .and_then(|ts| ts.into_iter().find(|t| t.id.0 == id).map(|t| t.name.to_string()))
        .unwrap_or_default()
}

/// The job, when the user asked for it or administers Qalqan; 404 otherwise (as if absent).
async fn own_job(state: &AppState, session: &qalqan_store::Session, id: i64) -> Result<Job, ApiError> {
    let job = state.store.job(id).await?.ok_or_else(|| ApiError::NotFound(format!("job '{id}' not found")))?;
    if job.requested_by == session.user.login.as_str() || session.user.role == Role::Administrator {
        Ok(job)
    } else {
        Err(ApiError::NotFound(format!("job '{id}' not found")))
    }
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/jobs", tag = "analysis", summary = "Run a long analysis as a job (any instance works it off; follow it at /jobs/{id}); audited", params(("name" = String, Path, description = "Territory name")), request_body = JobRequest, responses((status = 202, description = "Queued: the job", body = serde_json::Value), (status = 400, description = "Unknown kind or invalid parameter", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn enqueue(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Json(req): Json<JobRequest>,
) -> Result<Response, ApiError> {
    let Some((kind, endpoint)) = KINDS.iter().find(|(k, _)| *k == req.kind.trim()) else {
        let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        return Err(ApiError::BadRequest(format!("kind '{}' is not one of {}", req.kind, known.join(", "))));
    };
    let district = req.params.get("district").and_then(Value::as_str);
    let area = crate::scope::aggregate_area(&state, &session, &name, district).await?;
    let mut query = Vec::new();
    for (k, v) in &req.params {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => return Err(ApiError::BadRequest(format!("params.{k}: {other} is not a string, number or boolean"))),
        };
        query.push(format!("{}={}", encode(k), encode(&text)));
    }
    let territory = area.territory.name.to_string();
    let mut request = format!("/api/v1/territories/{}/{endpoint}", encode(&territory));
    if !query.is_empty() {
        request.push('?');
        request.push_str(&query.join("&"));
    }
    let actor = crate::session::actor(&session, peer);
    let id = state.store.enqueue_job(kind, area.territory.id.0, &request, session.user.login.as_str(), &actor).await?;
    let job = state.store.job(id).await?.ok_or_else(|| ApiError::Internal("the job vanished".into()))?;
    let mut response = (StatusCode::ACCEPTED, Json(job_json(&job, &territory))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/jobs/{id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "analysis", summary = "The user's latest jobs, newest first", responses((status = 200, description = "The jobs", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn list(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Response, ApiError> {
    let names: BTreeMap<i64, String> = state.store.territories().await?.into_iter().map(|t| (t.id.0, t.name.to_string())).collect();
    let jobs: Vec<Value> = state
        .store
        .jobs_of(session.user.login.as_str(), 50)
        .await?
        .iter()
        .map(|j| job_json(j, names.get(&j.territory_id).map(String::as_str).unwrap_or("")))
        .collect();
    Ok(Json(json!({"jobs": jobs})).into_response())
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "analysis", summary = "A job: status, progress, attempts, where its result is", params(("id" = i64, Path, description = "Job id")), responses((status = 200, description = "The job", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such job of the user's", body = ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let job = own_job(&state, &session, id).await?;
    let territory = territory_name(&state, job.territory_id).await;
    Ok(Json(job_json(&job, &territory)).into_response())
}

#[utoipa::path(get, path = "/api/v1/jobs/{id}/result", tag = "analysis", summary = "A finished job's result, as the endpoint it ran answers (JSON, GeoJSON, CSV, PDF, …)", params(("id" = i64, Path, description = "Job id")), responses((status = 200, description = "The result", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such job of the user's", body = ErrorBody), (status = 409, description = "Not finished yet", body = ErrorBody), (status = 422, description = "The job failed (the message says why)", body = ErrorBody)))]
pub(crate) async fn result(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let job = own_job(&state, &session, id).await?;
    match job.status {
        JobStatus::Queued => Err(ApiError::Conflict(format!("job {id} is queued"))),
        JobStatus::Running => Err(ApiError::Conflict(format!("job {id} is running ({:.0} %)", job.progress * 100.0))),
        JobStatus::Failed => Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"error": job.message}))).into_response()),
        JobStatus::Done => {
            let (bytes, media) =
                state.store.job_result(id).await?.ok_or_else(|| ApiError::NotFound(format!("job '{id}' has no result")))?;
            let mut response = Response::new(Body::from(bytes));
            if let Ok(v) = HeaderValue::from_str(&media) {
                response.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            Ok(response)
        }
    }
}

/// A worker: claims jobs and runs them until the task is dropped.
pub async fn work(state: AppState, worker: String, settings: JobSettings) {
    let stale = settings.stale_seconds.max(2) as i64;
    loop {
        let claimed = state.store.claim_job(&worker, chrono::Utc::now().timestamp() - stale, MAX_ATTEMPTS).await;
        match claimed {
            Ok(Some(job)) => run(&state, &worker, job, stale).await,
            Ok(None) => tokio::time::sleep(Duration::from_millis(500)).await,
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

async fn run(state: &AppState, worker: &str, job: Job, stale: i64) {
    tracing::info!(job = job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let progress = JobProgress::default();
    let heartbeat = {
        let (store, worker, progress, id) = (state.store.clone(), worker.to_owned(), progress.clone(), job.id);
        tokio::spawn(async move {
            // Often enough that progress shows while a long analysis runs, and the job stays ours.
            let every = Duration::from_millis((stale as u64 * 1000 / 4).clamp(250, 10_000));
            loop {
                tokio::time::sleep(every).await;
                if !matches!(store.heartbeat_job(id, &worker, progress.get(), "running").await, Ok(true)) {
                    break;
                }
            }
        })
    };
    let outcome = execute(state, &job, progress).await;
    heartbeat.abort();
    let failed = outcome.as_ref().err().cloned();
    match state.store.finish_job(job.id, worker, outcome).await {
        Ok(true) => tracing::info!(job = job.id, failed = failed.as_deref().unwrap_or(""), "job finished"),
        Ok(false) => tracing::warn!(job = job.id, "job finished after another worker took it over; result dropped"),
        Err(e) => tracing::warn!(job = job.id, error = %e, "job result could not be stored"),
    }
}

/// Runs the job's request through the router as its user: the result's bytes and media type, or
/// the error the endpoint gave.
async fn execute(state: &AppState, job: &Job, progress: JobProgress) -> Result<(Vec<u8>, String), String> {
    let login = qalqan_domain::account::Login::parse(&job.requested_by).map_err(|e| e.to_string())?;
    let user = match state.store.user(&login).await {
        Ok(Some(u)) if u.state == qalqan_store::AccountState::Active => u,
        Ok(_) => return Err(format!("the account '{login}' that asked for the job is disabled or gone")),
        Err(e) => return Err(ApiError::from(e).to_string()),
    };
    let session =
        qalqan_store::Session { id: 0, csrf_token: String::new(), expires_at: chrono::Utc::now() + chrono::Duration::hours(24), user };
    let mut request = Request::get(job.request.as_str()).body(Body::empty()).map_err(|e| e.to_string())?;
    request.extensions_mut().insert(JobSession(session));
    request.extensions_mut().insert(progress);
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 0))));
    let response = match crate::router(state.clone()).oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let media = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream").to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?.to_vec();
    if status.is_success() {
        Ok((bytes, media))
    } else {
        let message = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| v["error"].as_str().map(str::to_owned));
        Err(message.unwrap_or_else(|| format!("the analysis answered {status}")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parameters_are_percent_encoded() {
        assert_eq!(super::encode("2024-01-01"), "2024-01-01");
        assert_eq!(super::encode("a b&c=д"), "a%20b%26c%3D%D0%B4");
    }
}
