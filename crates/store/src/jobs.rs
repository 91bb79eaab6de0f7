//! The job queue: long analyses asked for over HTTP, worked off by whichever instance claims them.
//!
//! A worker claims the oldest queued job, or a running one whose worker has sent no heartbeat
//! since `stale_before` (it was killed or restarted): the claim is one statement under SQLite's
//! write lock, or `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never take the same job.
//! Heartbeats and the result are written only while the job is still the worker's: a worker that
//! lost its job (reclaimed after a stall) cannot overwrite the new owner's work. A job claimed
//! `max_attempts` times without finishing fails instead of running for ever.

use chrono::Utc;
use qalqan_domain::audit::{Actor, NewAuditEntry};
use sqlx::Row;

use crate::{Store, StoreError, numbered};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub fn code(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "done" => JobStatus::Done,
            "failed" => JobStatus::Failed,
            other => return Err(StoreError::Corrupt { what: "job status", reason: other.to_owned() }),
        })
    }
}

/// A job as stored (without its result's bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    /// What was asked for (`backtest`, `hotspots`, …).
    pub kind: String,
    pub territory_id: i64,
    /// The GET request (path and query) it runs.
    pub request: String,
    /// The login it runs for: its role and scope apply, its name is in the audit trail.
    pub requested_by: String,
    pub status: JobStatus,
    /// 0–1.
    pub progress: f64,
    /// The error of a failed job, or what a running one is doing.
    pub message: String,
    pub attempts: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The result's media type, once done.
    pub result_type: Option<String>,
}

const COLUMNS: &str =
    "id, kind, territory_id, request, requested_by, status, progress, message, attempts, created_at, started_at, finished_at, result_type";

fn job_from(r: &impl JobRow) -> Result<Job, StoreError> {
    Ok(Job {
        id: r.int(0)?,
        kind: r.text(1)?,
        territory_id: r.int(2)?,
        request: r.text(3)?,
        requested_by: r.text(4)?,
        status: JobStatus::parse(&r.text(5)?)?,
        progress: r.real(6)?,
        message: r.text(7)?,
        attempts: r.int(8)?,
        created_at: r.int(9)?,
        started_at: r.opt_int(10)?,
        finished_at: r.opt_int(11)?,
        result_type: r.opt_text(12)?,
    })
}

/// Column access shared by the two backends' rows.
trait JobRow {
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn real(&self, i: usize) -> Result<f64, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
}

macro_rules! job_row {
    ($row:ty) => {
        impl JobRow for $row {
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn real(&self, i: usize) -> Result<f64, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn text(&self, i: usize) -> Result<String, StoreError> {
                Ok(self.try_get(i)?)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(i)?)
            }
        }
    };
}
job_row!(sqlx::sqlite::SqliteRow);
job_row!(sqlx::postgres::PgRow);

/// Runs one statement on either backend with the same binds; yields rows affected.
macro_rules! exec {
    ($store:expr, $sql:expr $(, $bind:expr)*) => {
        match $store {
            Store::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe($sql.to_owned()))$(.bind($bind))*.execute(pool).await?.rows_affected(),
            Store::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(numbered($sql)))$(.bind($bind))*.execute(pool).await?.rows_affected(),
        }
    };
}

impl Store {
    /// Queues a job; audited (`job.enqueue`) with what it will run.
    pub async fn enqueue_job(
        &self,
        kind: &str,
        territory_id: i64,
        request: &str,
        requested_by: &str,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        let now = Utc::now().timestamp();
        let sql = "INSERT INTO jobs (kind, territory_id, request, requested_by, status, created_at) VALUES (?, ?, ?, ?, 'queued', ?) RETURNING id";
        let id: i64 = match self {
            Store::Sqlite(pool) => {
                sqlx::query_scalar(sql).bind(kind).bind(territory_id).bind(request).bind(requested_by).bind(now).fetch_one(pool).await?
            }
            Store::Postgres(pool) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(numbered(sql)))
                    .bind(kind)
                    .bind(territory_id)
                    .bind(request)
                    .bind(requested_by)
                    .bind(now)
                    .fetch_one(pool)
                    .await?
            }
        };
        self.audit(&NewAuditEntry {
            actor: actor.clone(),
            action: "job.enqueue".into(),
            object: format!("job:{id}"),
            detail: serde_json::json!({"kind": kind, "request": request}).to_string(),
            purpose: None,
        })
        .await?;
        Ok(id)
    }

    /// Claims the oldest job to run for `worker`: a queued one, or a running one whose last
    /// heartbeat is older than `stale_before` (Unix seconds). A job already claimed
    /// `max_attempts` times is failed instead. `None`: nothing to do.
    pub async fn claim_job(&self, worker: &str, stale_before: i64, max_attempts: i64) -> Result<Option<Job>, StoreError> {
        let now = Utc::now().timestamp();
        let pick = "SELECT id, attempts FROM jobs WHERE status = 'queued' OR (status = 'running' AND heartbeat_at < ?) ORDER BY id LIMIT 1";
        let claim = "UPDATE jobs SET status = 'running', worker = ?, heartbeat_at = ?, started_at = COALESCE(started_at, ?), \
                     attempts = attempts + 1, progress = 0, message = '' WHERE id = ?";
        let give_up = "UPDATE jobs SET status = 'failed', finished_at = ?, worker = NULL, \
                       message = 'the job was interrupted on every attempt (its workers stopped); ask for it again' WHERE id = ?";
        loop {
            let picked: Option<(i64, i64)> = match self {
                Store::Sqlite(pool) => {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let p: Option<(i64, i64)> = sqlx::query_as(pick).bind(stale_before).fetch_optional(&mut *tx).await?;
                    if let Some((id, attempts)) = p {
                        let sql = if attempts >= max_attempts { give_up } else { claim };
                        let q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
                        let q = if attempts >= max_attempts { q.bind(now).bind(id) } else { q.bind(worker).bind(now).bind(now).bind(id) };
                        q.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    p
                }
                Store::Postgres(pool) => {
                    let mut tx = pool.begin().await?;
                    let p: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(numbered(&format!("{pick} FOR UPDATE SKIP LOCKED"))))
                        .bind(stale_before)
                        .fetch_optional(&mut *tx)
                        .await?;
                    if let Some((id, attempts)) = p {
                        let sql = numbered(if attempts >= max_attempts { give_up } else { claim });
                        let q = sqlx::query(sqlx::AssertSqlSafe(sql));
                        let q = if attempts >= max_attempts { q.bind(now).bind(id) } else { q.bind(worker).bind(now).bind(now).bind(id) };
                        q.execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    p
                }
            };
            match picked {
                None => return Ok(None),
                Some((_, attempts)) if attempts >= max_attempts => continue,
                Some((id, _)) => return self.job(id).await,
            }
        }
    }

    /// A worker's heartbeat with its progress; `false` when the job is no longer this worker's.
    pub async fn heartbeat_job(&self, id: i64, worker: &str, progress: f64, message: &str) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let n = exec!(
            self,
            "UPDATE jobs SET heartbeat_at = ?, progress = ?, message = ? WHERE id = ? AND worker = ? AND status = 'running'",
            now,
            progress.clamp(0.0, 1.0),
            message,
            id,
            worker
        );
        Ok(n == 1)
    }

    /// Stores the outcome: the result (bytes and media type) or the error. `false` when the job
    /// is no longer this worker's (the outcome is dropped).
    pub async fn finish_job(&self, id: i64, worker: &str, outcome: Result<(Vec<u8>, String), String>) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let n = match outcome {
            Ok((bytes, media)) => exec!(
                self,
                "UPDATE jobs SET status = 'done', progress = 1, message = '', result = ?, result_type = ?, finished_at = ?, worker = NULL \
                 WHERE id = ? AND worker = ? AND status = 'running'",
                bytes,
                media,
                now,
                id,
                worker
            ),
            Err(message) => exec!(
                self,
                "UPDATE jobs SET status = 'failed', message = ?, finished_at = ?, worker = NULL WHERE id = ? AND worker = ? AND status = 'running'",
                message,
                now,
                id,
                worker
            ),
        };
        Ok(n == 1)
    }

    /// A job (without its result).
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?");
        match self {
            Store::Sqlite(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?.as_ref().map(job_from).transpose()
            }
            Store::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(numbered(&sql))).bind(id).fetch_optional(pool).await?.as_ref().map(job_from).transpose()
            }
        }
    }

    /// The latest jobs asked for by `login`, newest first.
    pub async fn jobs_of(&self, login: &str, limit: i64) -> Result<Vec<Job>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE requested_by = ? ORDER BY id DESC LIMIT ?");
        let rows: Vec<Job> = match self {
            Store::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(login)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(job_from)
                .collect::<Result<_, _>>()?,
            Store::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(numbered(&sql)))
                .bind(login)
                .bind(limit)
                .fetch_all(pool)
                .await?
                .iter()
                .map(job_from)
                .collect::<Result<_, _>>()?,
        };
        Ok(rows)
    }

    /// A finished job's result: bytes and media type.
    pub async fn job_result(&self, id: i64) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let sql = "SELECT result, result_type FROM jobs WHERE id = ? AND status = 'done'";
        let row: Option<(Vec<u8>, String)> = match self {
            Store::Sqlite(pool) => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?,
            Store::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(numbered(sql))).bind(id).fetch_optional(pool).await?,
        };
        Ok(row)
    }
}
