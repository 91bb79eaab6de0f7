//! Qalqan's storage: one [`Store`] over SQLite (the embedded default) and
//! PostgreSQL (production), each with its own versioned migrations.
//!
//! The backend is chosen by URL scheme (`sqlite://…`, `postgres://…`). Both
//! backends implement the same operations with the same semantics; the test
//! suite in `tests/store.rs` runs unchanged against each.
//!
//! Invariants:
//! - An import is one transaction: its batch row, any districts it creates
//!   and all its incidents appear together or not at all.
//! - `(territory_id, row_key)` is unique: importing the same rows twice adds nothing.
//! - Every incident's territory, batch and district exist and agree
//!   ([`Store::check_integrity`]); enforced by construction, not by foreign
//!   keys (see the migration for why).
//! - Database errors are converted into [`StoreError`] here and nowhere else.

pub mod backup;
pub mod coordination;
pub mod evaluation;
mod geometry;
pub mod jobs;
mod migrate;
mod postgres;
pub use postgres::drop_schema as drop_postgres_schema;
mod sqlite;
mod sqlite_bulk;
pub mod threat;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use geo_types::MultiPolygon;
use qalqan_domain::account::{Login, Role};
use qalqan_domain::audit::{Actor, AuditEntry, ChainBreak, NewAuditEntry, verify_chain};
use qalqan_domain::beat::NewBeat;
use qalqan_domain::camera::NewCamera;
use qalqan_domain::post::NewPost;
use qalqan_domain::{
    BatchId, DistrictId, DistrictName, DistrictRef, ImportBatch, NewIncident, OffenceCategory, Sha256Hex, Territory, TerritoryId,
    TerritoryName,
};

pub use migrate::MigrationReport;
/// The database driver's error type, for callers that classify failures.
pub use sqlx::Error as SqlxError;

/// Errors of the storage boundary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{what} '{key}' not found")]
    NotFound { what: &'static str, key: String },
    #[error("{what} '{key}' already exists")]
    Conflict { what: &'static str, key: String },
    #[error("unsupported database URL '{url}': use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    UnsupportedUrl { url: String },
    #[error("migration {version} ({name}): {reason}")]
    Migration { version: i64, name: String, reason: String },
    #[error("stored {what} is invalid: {reason}")]
    Corrupt { what: &'static str, reason: String },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database error: {message} (SQLite code {code})")]
    Sqlite { code: i32, message: String },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A territory to register.
#[derive(Debug, Clone)]
pub struct NewTerritory {
    pub name: TerritoryName,
    pub time_zone: Tz,
    pub boundary: Option<MultiPolygon<f64>>,
}

/// A district to register; `parent` names another district of the same territory.
#[derive(Debug, Clone)]
pub struct NewDistrict {
    pub name: DistrictName,
    pub parent: Option<DistrictName>,
    pub boundary: Option<MultiPolygon<f64>>,
}

/// One line of the territory list.
#[derive(Debug, Clone, PartialEq)]
pub struct TerritorySummary {
    pub id: TerritoryId,
    pub name: String,
    pub time_zone: String,
    pub has_boundary: bool,
    pub districts: u64,
    pub incidents: u64,
}

/// Provenance of an import, recorded with its batch.
#[derive(Debug, Clone)]
pub struct NewBatch {
    pub file_name: String,
    pub checksum: Sha256Hex,
    pub format: String,
    /// Who imports; recorded with the batch and in the audit trail.
    pub actor: Actor,
}

/// Counts only the reader knows, written into the batch at commit.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReaderCounts {
    pub rows_read: u64,
    pub rows_identical_in_file: u64,
    pub rows_rejected: u64,
}

/// Whether a password is final or must be changed at the next login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordState {
    Set,
    /// Issued by an administrator (or the CLI): the user must choose their own.
    MustChange,
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    Disabled,
}

/// An account to create. The password arrives already hashed (Argon2id PHC string).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: Login,
    pub display_name: String,
    pub role: Role,
    /// Agency name; created if new.
    pub agency: Option<String>,
    pub password_hash: String,
    pub password_state: PasswordState,
}

/// A stored account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub login: Login,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub password_hash: String,
    pub password_state: PasswordState,
    pub state: AccountState,
    /// Consecutive failed logins since the last success.
    pub failed_logins: u32,
    /// Logins are refused until then.
    pub locked_until: Option<DateTime<Utc>>,
    /// Territories (and optionally one district of each) the user may see.
    pub scopes: Vec<(TerritoryId, Option<DistrictId>)>,
}

/// A territory's version marks (see [`Store::territory_stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerritoryStamp {
    pub id: TerritoryId,
    /// Changes when the boundary is replaced or a district is added.
    pub shape: (i64, i64, i64),
    /// Changes with every import ([`Store::data_version`]).
    pub data_version: i64,
}

/// A live session as the administrator sees it (no tokens).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: i64,
    pub login: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Client address at login.
    pub origin: String,
}

/// Which sessions to end.
#[derive(Debug, Clone, Copy)]
pub enum SessionsOf<'a> {
    Id(i64),
    User(&'a Login),
}

/// A live server-side session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: i64,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

pub(crate) type UserRow = (i64, String, String, String, Option<String>, String, bool, bool);

pub(crate) fn user_from_row(
    (id, login, display_name, role, agency, password_hash, must_change, disabled): UserRow,
    (failed_logins, locked_until): (i64, Option<DateTime<Utc>>),
    scopes: Vec<(i64, Option<i64>)>,
) -> Result<User, StoreError> {
    let corrupt = |what: &'static str, e: qalqan_domain::DomainError| StoreError::Corrupt { what, reason: e.to_string() };
    Ok(User {
        id,
        login: Login::parse(&login).map_err(|e| corrupt("login", e))?,
        display_name,
        role: role.parse().map_err(|e| corrupt("role", e))?,
        agency,
        password_hash,
        password_state: if must_change { PasswordState::MustChange } else { PasswordState::Set },
        state: if disabled { AccountState::Disabled } else { AccountState::Active },
        failed_logins: failed_logins.clamp(0, i64::from(u32::MAX)) as u32,
        locked_until,
        scopes: scopes.into_iter().map(|(t, d)| (TerritoryId(t), d.map(DistrictId))).collect(),
    })
}

pub(crate) const USER_SQL: &str = "SELECT u.id, u.login, u.display_name, u.role, a.name, u.password_hash, u.must_change_password, u.disabled, u.failed_logins, u.locked_until FROM users u LEFT JOIN agencies a ON a.id = u.agency_id";

fn user_audit(action: &str, login: &Login, detail: serde_json::Value, actor: &Actor) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.clone(),
        action: action.into(),
        object: format!("user:{login}"),
        detail: detail.to_string(),
        purpose: None,
    }
}

/// Which incidents a query covers. Times select on the start of the
/// occurrence window: `from <= start < to`.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFilter {
    pub territory: TerritoryId,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub category: Option<OffenceCategory>,
}

/// Counts of incidents by category, local month and district.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentStats {
    pub total: u64,
    pub by_category: Vec<(String, u64)>,
    /// `(yyyymm, count)` in ascending month order.
    pub by_month: Vec<(i32, u64)>,
    /// `(district name, count)`, busiest first; `None` = no district.
    pub by_district: Vec<(Option<String>, u64)>,
}

/// What analyses read of an incident: where, when (window start and
/// precision), what, and in which district.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    pub location: qalqan_domain::Wgs84Point,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub precision: qalqan_domain::TimePrecision,
    pub category: OffenceCategory,
    pub district: Option<DistrictId>,
}

/// An OpenStreetMap extract kept for a territory.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetSource {
    pub file_name: String,
    /// SHA-256 of `bytes`, lowercase hex.
    pub sha256: String,
    pub bytes: Vec<u8>,
    /// What the reader found (JSON text).
    pub summary: String,
}

/// `?` placeholders numbered `$1, $2, …` for PostgreSQL (the SQL written once for both backends
/// holds no `?` inside string literals).
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A stored camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraRecord {
    pub id: i64,
    pub camera: NewCamera,
}

/// What a register import (cameras, posts) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterImport {
    pub added: u64,
    pub updated: u64,
}

/// What a camera import did.
pub type CameraImport = RegisterImport;

/// A stored police post or mobile point.
#[derive(Debug, Clone, PartialEq)]
pub struct PostRecord {
    pub id: i64,
    pub post: NewPost,
}

pub(crate) type PostRow = (i64, String, String, String, f64, f64, String, Option<String>, i32, String);

pub(crate) const POSTS_SQL: &str = "SELECT id, external_id, name, kind, lat, lon, schedule, vehicle, officers, status FROM police_posts";

fn post_from_row((id, external_id, name, kind, lat, lon, schedule, vehicle, officers, status): PostRow) -> Result<PostRecord, StoreError> {
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "post", reason: e.to_string() };
    let post = NewPost::new(
        &external_id,
        &name,
        kind.parse().map_err(corrupt)?,
        qalqan_domain::Wgs84Point::new(lat, lon).map_err(corrupt)?,
        schedule.parse().map_err(corrupt)?,
        vehicle.as_deref(),
        u32::try_from(officers).unwrap_or(0),
        status.parse().map_err(corrupt)?,
    )
    .map_err(corrupt)?;
    Ok(PostRecord { id, post })
}

/// A stored beat.
#[derive(Debug, Clone)]
pub struct BeatRecord {
    pub id: i64,
    pub beat: NewBeat,
}

pub(crate) type BeatRow = (i64, String, Option<String>, String);

fn beat_from_row((id, name, inspector, boundary): BeatRow) -> Result<BeatRecord, StoreError> {
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "beat", reason: e.to_string() };
    let area = qalqan_domain::Area::new(geometry::from_geojson(&boundary)?).map_err(corrupt)?;
    Ok(BeatRecord { id, beat: NewBeat::new(&name, inspector.as_deref(), area).map_err(corrupt)? })
}

/// A plan to keep: what was asked (`params`) and what the optimiser answered (`result`), both JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct NewScenario {
    /// What was planned: `cameras`, `posts`, `mobile`, `beats`.
    pub kind: String,
    pub name: String,
    pub params: serde_json::Value,
    pub result: serde_json::Value,
}

/// A saved plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub params: serde_json::Value,
    pub result: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) type ScenarioRow = (i64, String, String, String, String, String, DateTime<Utc>);

fn scenario_from_row((id, kind, name, params, result, created_by, created_at): ScenarioRow) -> Result<Scenario, StoreError> {
    let json = |t: &str| serde_json::from_str(t).map_err(|e| StoreError::Corrupt { what: "scenario", reason: e.to_string() });
    Ok(Scenario { id, kind, name, params: json(&params)?, result: json(&result)?, created_by, created_at })
}

pub(crate) type CameraRow = (i64, String, f64, f64, f64, f64, f64, String, String, i32, String);

pub(crate) const CAMERAS_SQL: &str =
    "SELECT id, external_id, lat, lon, bearing_deg, fov_deg, range_m, owner, link, archive_days, status FROM cameras";

fn camera_from_row(
    (id, external_id, lat, lon, bearing, fov, range, owner, link, archive, status): CameraRow,
) -> Result<CameraRecord, StoreError> {
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "camera", reason: e.to_string() };
    let camera = NewCamera::new(
        &external_id,
        qalqan_domain::Wgs84Point::new(lat, lon).map_err(corrupt)?,
        bearing,
        fov,
        range,
        owner.parse().map_err(corrupt)?,
        link.parse().map_err(corrupt)?,
        u32::try_from(archive).unwrap_or(0),
        status.parse().map_err(corrupt)?,
    )
    .map_err(corrupt)?;
    Ok(CameraRecord { id, camera })
}

pub(crate) type RecordRow = (f64, f64, DateTime<Utc>, DateTime<Utc>, String, String, Option<i64>);

pub(crate) fn record_from_row((lat, lon, start, end, precision, category, district): RecordRow) -> Result<IncidentRecord, StoreError> {
    let corrupt = |what: &'static str, e: qalqan_domain::DomainError| StoreError::Corrupt { what, reason: e.to_string() };
    Ok(IncidentRecord {
        location: qalqan_domain::Wgs84Point::new(lat, lon).map_err(|e| corrupt("incident location", e))?,
        start,
        end,
        precision: precision.parse().map_err(|e| corrupt("time precision", e))?,
        category: category.parse().map_err(|e| corrupt("offence category", e))?,
        district: district.map(DistrictId),
    })
}

/// Narrower selection for incident lists: a bounding box and/or districts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentArea {
    /// `[min_lon, min_lat, max_lon, max_lat]`, WGS84.
    pub bbox: Option<[f64; 4]>,
    /// Only incidents in these districts (`None` = any district or none).
    pub districts: Option<Vec<DistrictId>>,
}

/// One incident as listed through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentListItem {
    pub id: i64,
    pub external_id: Option<String>,
    pub category: String,
    pub subcategory: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub precision: String,
    pub lat: f64,
    pub lon: f64,
    pub district: Option<String>,
    pub premises: Option<String>,
}

pub(crate) const LIST_SQL: &str = "SELECT i.id, i.external_id, i.category, i.subcategory, i.occurred_start, i.occurred_end, i.time_precision, i.lat, i.lon, d.name, i.premises FROM incidents i LEFT JOIN districts d ON d.id = i.district_id WHERE {FILTER}";

/// The extra conditions of an [`IncidentArea`] and keyset paging, as SQL
/// (numbers only, validated finite: nothing user-written reaches the text).
pub(crate) fn area_sql(area: &IncidentArea, after: i64, limit: u32) -> Result<String, StoreError> {
    let mut sql = format!(" AND i.id > {after}");
    if let Some([a, b, c, d]) = area.bbox {
        if [a, b, c, d].iter().any(|v| !v.is_finite()) {
            return Err(StoreError::Corrupt { what: "bounding box", reason: "not finite".into() });
        }
        sql.push_str(&format!(" AND i.lon >= {a} AND i.lat >= {b} AND i.lon <= {c} AND i.lat <= {d}"));
    }
    if let Some(ids) = &area.districts {
        if ids.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let list: Vec<String> = ids.iter().map(|d| d.0.to_string()).collect();
            sql.push_str(&format!(" AND i.district_id IN ({})", list.join(", ")));
        }
    }
    sql.push_str(&format!(" ORDER BY i.id LIMIT {limit}"));
    Ok(sql)
}

/// Row counts of every table, for checks that nothing changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub territories: u64,
    pub districts: u64,
    pub import_batches: u64,
    pub incidents: u64,
}

/// The store: a connection pool to one backend.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

macro_rules! dispatch {
    ($self:ident, $f:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(pool) => sqlite::$f(pool, $($arg),*).await,
            Store::Postgres(pool) => postgres::$f(pool, $($arg),*).await,
        }
    };
}

impl Store {
    /// Connects by URL: `sqlite://PATH` (created if missing) or `postgres://…`.
    /// Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            Self::open_sqlite(Path::new(path)).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(postgres::connect(url, None).await?))
        } else {
            Err(StoreError::UnsupportedUrl { url: redact(url) })
        }
    }

    /// Opens (creating if needed) a SQLite database file.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Ok(Store::Sqlite(sqlite::connect(path).await?))
    }

    /// Connects to PostgreSQL with every table in `schema` (created if
    /// missing). Tests use this to run in a private schema.
    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Ok(Store::Postgres(postgres::connect(url, Some(schema)).await?))
    }

    /// The backend behind this store.
    pub fn backend(&self) -> Backend {
        match self {
            Store::Sqlite(_) => Backend::Sqlite,
            Store::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations; safe to call on every start.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        match self {
            Store::Sqlite(pool) => migrate::run_sqlite(pool).await,
            Store::Postgres(pool) => migrate::run_postgres(pool).await,
        }
    }

    /// Registers a territory (audited); [`StoreError::Conflict`] if the name is taken.
    pub async fn add_territory(&self, territory: &NewTerritory, actor: &Actor) -> Result<TerritoryId, StoreError> {
        let boundary = territory.boundary.as_ref().map(geometry::to_geojson);
        dispatch!(self, add_territory(territory, boundary.as_deref(), actor))
    }

    /// Replaces a territory's boundary (or removes it with `None`); audited, and
    /// counted in the territory's revision so servers reload it.
    pub async fn set_territory_boundary(
        &self,
        id: TerritoryId,
        boundary: Option<&MultiPolygon<f64>>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let boundary = boundary.map(geometry::to_geojson);
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "territory.boundary".into(),
            object: format!("territory:{}", id.0),
            detail: serde_json::json!({"removed": boundary.is_none()}).to_string(),
            purpose: None,
        };
        dispatch!(self, set_territory_boundary(id, boundary.as_deref(), &audit))
    }

    /// Loads a territory with its districts; [`StoreError::NotFound`] if absent.
    pub async fn territory(&self, name: &TerritoryName) -> Result<Territory, StoreError> {
        let row = dispatch!(self, territory_row(name.as_str()))?
            .ok_or_else(|| StoreError::NotFound { what: "territory", key: name.to_string() })?;
        let districts = dispatch!(self, district_rows(row.id))?;
        geometry::build_territory(row, districts)
    }

    /// What changes when a territory must be loaded again, in one small query:
    /// `None` when there is no such territory.
    pub async fn territory_stamp(&self, name: &TerritoryName) -> Result<Option<TerritoryStamp>, StoreError> {
        let row = dispatch!(self, territory_stamp(name.as_str()))?;
        Ok(row.map(|(id, revision, districts, last_district, data_version)| TerritoryStamp {
            id: TerritoryId(id),
            shape: (revision, districts, last_district),
            data_version,
        }))
    }

    /// Every territory with its district and incident counts.
    pub async fn territories(&self) -> Result<Vec<TerritorySummary>, StoreError> {
        dispatch!(self, territories())
    }

    /// Registers districts in one transaction: all or none. Parents may be
    /// existing districts or earlier entries of `districts`.
    pub async fn add_districts(
        &self,
        territory: TerritoryId,
        districts: &[NewDistrict],
        actor: &Actor,
    ) -> Result<Vec<DistrictId>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>)> = districts
            .iter()
            .map(|d| (d.name.to_string(), d.parent.as_ref().map(|p| p.to_string()), d.boundary.as_ref().map(geometry::to_geojson)))
            .collect();
        dispatch!(self, add_districts(territory, &rows, actor))
    }

    /// Creates an account (audited; the password hash is not logged).
    pub async fn add_user(&self, user: &NewUser, actor: &Actor) -> Result<i64, StoreError> {
        let audit = user_audit(
            "user.add",
            &user.login,
            serde_json::json!({"display_name": user.display_name, "role": user.role.code(), "agency": user.agency}),
            actor,
        );
        dispatch!(self, add_user(user, &audit))
    }

    /// The account with this login, if any.
    pub async fn user(&self, login: &Login) -> Result<Option<User>, StoreError> {
        dispatch!(self, user(login.as_str()))
    }

    /// Every account, by login.
    pub async fn users(&self) -> Result<Vec<User>, StoreError> {
        dispatch!(self, users())
    }

    /// Enables or disables an account (audited); disabling revokes its sessions.
    pub async fn set_account_state(&self, login: &Login, state: AccountState, actor: &Actor) -> Result<(), StoreError> {
        let action = match state {
            AccountState::Active => "user.enable",
            AccountState::Disabled => "user.disable",
        };
        let audit = user_audit(action, login, serde_json::json!({}), actor);
        dispatch!(self, set_account_state(login.as_str(), state == AccountState::Disabled, &audit))
    }

    /// Replaces a password hash (audited), clears any lockout and revokes the
    /// user's sessions except `keep` (the session changing its own password).
    pub async fn set_password(
        &self,
        login: &Login,
        hash: &str,
        state: PasswordState,
        keep: Option<i64>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let audit = user_audit("user.password", login, serde_json::json!({"must_change": state == PasswordState::MustChange}), actor);
        dispatch!(self, set_password(login.as_str(), hash, state == PasswordState::MustChange, keep.unwrap_or(-1), &audit))
    }

    /// Lets a user see a territory, or one district of it (audited).
    pub async fn grant_scope(
        &self,
        login: &Login,
        territory: TerritoryId,
        district: Option<DistrictId>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let audit =
            user_audit("user.scope", login, serde_json::json!({"territory": territory.0, "district": district.map(|d| d.0)}), actor);
        dispatch!(self, grant_scope(login.as_str(), territory.0, district.map(|d| d.0), &audit))
    }

    /// Replaces the territories and districts a user may see (audited).
    pub async fn set_scopes(&self, login: &Login, scopes: &[(TerritoryId, Option<DistrictId>)], actor: &Actor) -> Result<(), StoreError> {
        let listed: Vec<serde_json::Value> =
            scopes.iter().map(|(t, d)| serde_json::json!({"territory": t.0, "district": d.map(|d| d.0)})).collect();
        let audit = user_audit("user.scopes", login, serde_json::json!({"scopes": listed}), actor);
        let rows: Vec<(i64, Option<i64>)> = scopes.iter().map(|(t, d)| (t.0, d.map(|d| d.0))).collect();
        dispatch!(self, set_scopes(login.as_str(), &rows, &audit))
    }

    /// Keeps `bytes` (an OpenStreetMap extract) as the territory's street source, replacing any
    /// earlier one, with an audit entry carrying the file's name, checksum and `summary`.
    pub async fn set_street_source(&self, territory: TerritoryId, source: &StreetSource, actor: &Actor) -> Result<(), StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "streets.import".into(),
            object: format!("territory:{}", territory.0),
            detail: serde_json::json!({"file": source.file_name, "sha256": source.sha256, "bytes": source.bytes.len(), "summary": source.summary}).to_string(),
            purpose: None,
        };
        dispatch!(self, set_street_source(territory.0, source, &audit))
    }

    /// The territory's street source, if one was imported.
    pub async fn street_source(&self, territory: TerritoryId) -> Result<Option<StreetSource>, StoreError> {
        dispatch!(self, street_source(territory.0))
    }

    /// Adds or updates cameras of a territory by their identifier, all in one transaction with one
    /// audit entry; returns how many were added and how many updated.
    pub async fn import_cameras(&self, territory: TerritoryId, cameras: &[NewCamera], actor: &Actor) -> Result<CameraImport, StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "camera.import".into(),
            object: format!("territory:{}", territory.0),
            detail: serde_json::json!({"cameras": cameras.len()}).to_string(),
            purpose: None,
        };
        dispatch!(self, import_cameras(territory.0, cameras, &audit))
    }

    /// A territory's cameras, by identifier.
    pub async fn cameras(&self, territory: TerritoryId) -> Result<Vec<CameraRecord>, StoreError> {
        let rows: Vec<CameraRow> = dispatch!(self, cameras(territory.0))?;
        rows.into_iter().map(camera_from_row).collect()
    }

    /// Adds or updates posts and mobile points of a territory by their identifier, all in one
    /// transaction with one audit entry.
    pub async fn import_posts(&self, territory: TerritoryId, posts: &[NewPost], actor: &Actor) -> Result<RegisterImport, StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "post.import".into(),
            object: format!("territory:{}", territory.0),
            detail: serde_json::json!({"posts": posts.len()}).to_string(),
            purpose: None,
        };
        dispatch!(self, import_posts(territory.0, posts, &audit))
    }

    /// A territory's posts and mobile points, by identifier.
    pub async fn posts(&self, territory: TerritoryId) -> Result<Vec<PostRecord>, StoreError> {
        let rows: Vec<PostRow> = dispatch!(self, posts(territory.0))?;
        rows.into_iter().map(post_from_row).collect()
    }

    /// Replaces a territory's beat map with `beats` (names unique), in one transaction with one
    /// audit entry; returns how many beats the old map had.
    pub async fn replace_beats(&self, territory: TerritoryId, beats: &[NewBeat], actor: &Actor) -> Result<u64, StoreError> {
        let mut names = std::collections::HashSet::new();
        for b in beats {
            if !names.insert(b.name.as_str()) {
                return Err(StoreError::Conflict { what: "beat", key: b.name.clone() });
            }
        }
        let rows: Vec<(String, Option<String>, String)> =
            beats.iter().map(|b| (b.name.clone(), b.inspector.clone(), geometry::to_geojson(b.boundary.shape()))).collect();
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "beat.replace".into(),
            object: format!("territory:{}", territory.0),
            detail: serde_json::json!({"beats": beats.len()}).to_string(),
            purpose: None,
        };
        dispatch!(self, replace_beats(territory.0, &rows, &audit))
    }

    /// A territory's beats, by name.
    pub async fn beats(&self, territory: TerritoryId) -> Result<Vec<BeatRecord>, StoreError> {
        let rows: Vec<BeatRow> = dispatch!(self, beats(territory.0))?;
        rows.into_iter().map(beat_from_row).collect()
    }

    /// Saves a plan as a scenario (audited); returns its id.
    pub async fn save_scenario(&self, territory: TerritoryId, scenario: &NewScenario, actor: &Actor) -> Result<i64, StoreError> {
        let name = scenario.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(StoreError::Corrupt { what: "scenario name", reason: "must be 1-200 characters".into() });
        }
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "scenario.save".into(),
            object: format!("territory:{}", territory.0),
            detail: serde_json::json!({"kind": scenario.kind, "name": name}).to_string(),
            purpose: None,
        };
        let row = (scenario.kind.clone(), name.to_owned(), scenario.params.to_string(), scenario.result.to_string(), actor.name.clone());
        dispatch!(self, save_scenario(territory.0, &row, &audit))
    }

    /// A territory's saved scenarios, newest first.
    pub async fn scenarios(&self, territory: TerritoryId) -> Result<Vec<Scenario>, StoreError> {
        let rows: Vec<ScenarioRow> = dispatch!(self, scenarios(territory.0))?;
        rows.into_iter().map(scenario_from_row).collect()
    }

    // ---- Coordination ----

    /// Registers a body (council, commission, headquarters) with its members; audited.
    pub async fn add_body(&self, body: &coordination::NewBody, actor: &Actor) -> Result<i64, StoreError> {
        let name = body.name.trim();
        if name.is_empty() || name.chars().count() > 300 {
            return Err(StoreError::Invalid { what: "body", reason: "the name must be 1-300 characters".into() });
        }
        let body = coordination::NewBody { name: name.to_owned(), ..body.clone() };
        let audit =
            self.entry(actor, "body.add", serde_json::json!({"name": body.name, "kind": body.kind.code(), "members": body.members.len()}));
        dispatch!(self, add_body(&body, &audit))
    }

    /// Every body with its members, by name.
    pub async fn bodies(&self) -> Result<Vec<coordination::Body>, StoreError> {
        let rows: Vec<(i64, String, String, Option<i64>)> = dispatch!(self, bodies())?;
        let mut members_of: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (body, agency, person) in dispatch!(self, body_members())? {
            members_of.entry(body).or_default().push((agency, person));
        }
        let mut out = Vec::with_capacity(rows.len());
        for (id, name, kind, territory_id) in rows {
            let members = members_of.remove(&id).unwrap_or_default();
            let kind = kind.parse().map_err(|e: qalqan_domain::DomainError| StoreError::Corrupt { what: "body", reason: e.to_string() })?;
            out.push(coordination::Body { id, name, kind, members, territory_id });
        }
        Ok(out)
    }

    /// Records a meeting of a body with its protocol items (numbers unique and non-empty, texts
    /// non-empty), all in one transaction; audited.
    pub async fn add_meeting(&self, meeting: &coordination::NewMeeting, actor: &Actor) -> Result<i64, StoreError> {
        let invalid = |reason: String| StoreError::Invalid { what: "meeting", reason };
        if meeting.number.trim().is_empty() {
            return Err(invalid("the protocol needs a number".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for item in &meeting.items {
            if item.number.trim().is_empty() || item.text.trim().is_empty() {
                return Err(invalid(format!("protocol item '{}' needs a number and a text", item.number)));
            }
            if !seen.insert(item.number.trim()) {
                return Err(invalid(format!("protocol item '{}' appears twice", item.number)));
            }
        }
        let meeting = coordination::NewMeeting {
            items: meeting
                .items
                .iter()
                .map(|i| coordination::ProtocolItem { number: i.number.trim().to_owned(), text: i.text.trim().to_owned() })
                .collect(),
            ..meeting.clone()
        };
        let audit = self.entry(
            actor,
            "meeting.add",
            serde_json::json!({"body": meeting.body_id, "number": meeting.number, "held_on": meeting.held_on.to_string(), "items": meeting.items.len()}),
        );
        dispatch!(self, add_meeting(&meeting, &audit))
    }

    /// A body's meetings with their protocol items, oldest first.
    pub async fn meetings(&self, body: i64) -> Result<Vec<coordination::Meeting>, StoreError> {
        let rows = dispatch!(self, meetings(body))?;
        let mut items: HashMap<i64, Vec<coordination::ProtocolItem>> = HashMap::new();
        for (meeting, number, text) in dispatch!(self, protocol_items(body))? {
            items.entry(meeting).or_default().push(coordination::ProtocolItem { number, text });
        }
        rows.into_iter()
            .map(|(id, body_id, held_on, number, agenda)| {
                let items = items.remove(&id).unwrap_or_default();
                Ok(coordination::Meeting { id, body_id, held_on: coordination::date(&held_on)?, number, agenda, items })
            })
            .collect()
    }

    /// Writes an assignment, as a draft or issued at once, due by its deadline's first date on
    /// or after `today`; audited with its first event.
    pub async fn add_assignment(
        &self,
        source: coordination::Source,
        assignment: &qalqan_domain::assignment::NewAssignment,
        issue: bool,
        today: chrono::NaiveDate,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        use qalqan_domain::assignment::AssignmentStatus;
        let status = if issue { AssignmentStatus::OnExecution } else { AssignmentStatus::Draft };
        if let Some(m) = source.meeting_id {
            let meetings = self.meetings(source.body_id).await?;
            let meeting =
                meetings.iter().find(|x| x.id == m).ok_or_else(|| StoreError::NotFound { what: "meeting", key: m.to_string() })?;
            let item = assignment.item.as_str();
            if !meeting.items.is_empty() && !item.is_empty() && !meeting.items.iter().any(|i| i.covers(item)) {
                let numbers: Vec<&str> = meeting.items.iter().map(|i| i.number.as_str()).collect();
                return Err(StoreError::Invalid {
                    what: "assignment",
                    reason: format!(
                        "protocol {} of {} has no item '{item}' (its items: {})",
                        meeting.number,
                        meeting.held_on,
                        numbers.join(", ")
                    ),
                });
            }
        }
        let due = assignment.deadline.first_due(today);
        let audit = self.entry(
            actor,
            "assignment.create",
            serde_json::json!({"body": source.body_id, "executor": assignment.executor, "status": status.code(), "due_on": due.to_string()}),
        );
        dispatch!(self, add_assignment(source, assignment, status, due, &audit))
    }

    /// One assignment.
    pub async fn assignment(&self, id: i64) -> Result<coordination::Assignment, StoreError> {
        let row = dispatch!(self, assignment(id))?;
        coordination::assignment_from_row(row.ok_or_else(|| StoreError::NotFound { what: "assignment", key: id.to_string() })?)
    }

    /// Assignments by due date.
    pub async fn assignments(&self, filter: &coordination::AssignmentFilter) -> Result<Vec<coordination::Assignment>, StoreError> {
        let rows = dispatch!(self, assignments(filter))?;
        rows.into_iter().map(coordination::assignment_from_row).collect()
    }

    /// Moves an assignment through its lifecycle (a report is required to submit one); refuses
    /// a transition the lifecycle does not allow, or one on an assignment another user changed
    /// meanwhile. Accepting a recurring assignment's report opens its next period.
    pub async fn act_on_assignment(
        &self,
        id: i64,
        action: qalqan_domain::assignment::AssignmentAction,
        note: &str,
        report: Option<&coordination::NewReport>,
        actor: &Actor,
    ) -> Result<coordination::Assignment, StoreError> {
        self.act_on_assignment_at(id, None, action, note, report, actor).await
    }

    /// [`Store::act_on_assignment`] on the version the user saw: refused as a conflict when the
    /// assignment has changed since (`expected` is `None`: whatever version it is at).
    pub async fn act_on_assignment_at(
        &self,
        id: i64,
        expected: Option<i64>,
        action: qalqan_domain::assignment::AssignmentAction,
        note: &str,
        report: Option<&coordination::NewReport>,
        actor: &Actor,
    ) -> Result<coordination::Assignment, StoreError> {
        use qalqan_domain::assignment::AssignmentAction;
        let current = self.assignment_at(id, expected).await?;
        match (action, report) {
            (AssignmentAction::SubmitReport, None) => {
                return Err(StoreError::Invalid { what: "report", reason: "submitting needs the report".into() });
            }
            (AssignmentAction::SubmitReport, Some(r)) => r.check()?,
            (_, Some(_)) => return Err(StoreError::Invalid { what: "report", reason: "only a submission carries a report".into() }),
            _ => {}
        }
        let audit = self.entry(actor, "assignment.act", serde_json::json!({"action": action.code()}));
        dispatch!(self, act(&current, action, note.trim(), report, &audit))?;
        self.assignment(id).await
    }

    /// The assignment, if it is still at version `expected` (any version for `None`); a conflict
    /// naming both versions otherwise. The write that follows checks the version again, atomically.
    pub async fn assignment_at(&self, id: i64, expected: Option<i64>) -> Result<coordination::Assignment, StoreError> {
        let a = self.assignment(id).await?;
        match expected {
            Some(v) if v != a.version => Err(StoreError::Conflict {
                what: "assignment (changed since it was loaded: reload it)",
                key: format!("{id}, version {v}, now {}", a.version),
            }),
            _ => Ok(a),
        }
    }

    /// Every change of an assignment, in order.
    pub async fn assignment_events(&self, id: i64) -> Result<Vec<coordination::AssignmentEvent>, StoreError> {
        let rows = dispatch!(self, events(id))?;
        let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "assignment event", reason: e.to_string() };
        rows.into_iter()
            .map(|(at, actor, action, from, to, due, note)| {
                Ok(coordination::AssignmentEvent {
                    at,
                    actor,
                    action,
                    from: from.map(|f| f.parse()).transpose().map_err(corrupt)?,
                    to: to.parse().map_err(corrupt)?,
                    due_on: coordination::date(&due)?,
                    note,
                })
            })
            .collect()
    }

    /// The executor asks for a later due date (one pending request at a time, while awaiting the
    /// executor, later than the current due date).
    pub async fn request_extension(&self, id: i64, new_due: chrono::NaiveDate, reason: &str, actor: &Actor) -> Result<i64, StoreError> {
        self.request_extension_at(id, None, new_due, reason, actor).await
    }

    /// [`Store::request_extension`] on the version the user saw (see [`Store::act_on_assignment_at`]).
    pub async fn request_extension_at(
        &self,
        id: i64,
        expected: Option<i64>,
        new_due: chrono::NaiveDate,
        reason: &str,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        let current = self.assignment_at(id, expected).await?;
        if !current.status.awaits_executor() {
            return Err(StoreError::Invalid { what: "extension request", reason: format!("the assignment is {}", current.status) });
        }
        if new_due <= current.due_on {
            return Err(StoreError::Invalid {
                what: "extension request",
                reason: format!("{new_due} is not after the due date {}", current.due_on),
            });
        }
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid { what: "extension request", reason: "give a reason".into() });
        }
        let audit =
            self.entry(actor, "assignment.extension_request", serde_json::json!({"assignment": id, "new_due_on": new_due.to_string()}));
        dispatch!(self, request_extension(&current, new_due, reason.trim(), &audit))
    }

    /// An assignment's extension requests, oldest first.
    pub async fn extension_requests(&self, id: i64) -> Result<Vec<coordination::ExtensionRequest>, StoreError> {
        let rows = dispatch!(self, extension_requests(id))?;
        rows.into_iter()
            .map(|(id, assignment_id, requested_by, new_due, reason, decision, decided_by, note)| {
                Ok(coordination::ExtensionRequest {
                    id,
                    assignment_id,
                    requested_by,
                    new_due_on: coordination::date(&new_due)?,
                    reason,
                    granted: decision.map(|d| d == "granted"),
                    decided_by,
                    decision_note: note,
                })
            })
            .collect()
    }

    /// For the dashboard, in two queries: every report as (assignment, submitted at, the due date
    /// it answered), and every decided extension request as (assignment, granted).
    pub async fn coordination_record(&self) -> Result<(Vec<(i64, i64, chrono::NaiveDate)>, Vec<(i64, bool)>), StoreError> {
        let reports = dispatch!(self, report_times())?
            .into_iter()
            .map(|(a, at, due)| Ok((a, at, coordination::date(&due)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let decisions = dispatch!(self, extension_decisions())?.into_iter().map(|(a, d)| (a, d == "granted")).collect();
        Ok((reports, decisions))
    }

    /// The controller grants (the due date moves) or refuses the assignment's pending request.
    pub async fn decide_extension(&self, id: i64, grant: bool, note: &str, actor: &Actor) -> Result<coordination::Assignment, StoreError> {
        self.decide_extension_at(id, None, grant, note, actor).await
    }

    /// [`Store::decide_extension`] on the version the user saw (see [`Store::act_on_assignment_at`]).
    pub async fn decide_extension_at(
        &self,
        id: i64,
        expected: Option<i64>,
        grant: bool,
        note: &str,
        actor: &Actor,
    ) -> Result<coordination::Assignment, StoreError> {
        let current = self.assignment_at(id, expected).await?;
        let pending = self
            .extension_requests(id)
            .await?
            .into_iter()
            .find(|r| r.granted.is_none())
            .ok_or_else(|| StoreError::NotFound { what: "pending extension request of assignment", key: id.to_string() })?;
        let audit = self.entry(actor, "assignment.extension_decision", serde_json::json!({"assignment": id, "granted": grant}));
        dispatch!(self, decide_extension(&current, &pending, grant, note.trim(), &audit))?;
        self.assignment(id).await
    }

    /// An assignment's reports with their attachments (without the bytes).
    pub async fn assignment_reports(&self, id: i64) -> Result<Vec<coordination::Report>, StoreError> {
        let rows = dispatch!(self, reports(id))?;
        let files = dispatch!(self, attachments(id))?;
        rows.into_iter()
            .map(|(rid, by, at, due, text)| {
                let attachments = files
                    .iter()
                    .filter(|f| f.1 == rid)
                    .map(|(id, report_id, file_name, content_type, size, sha256)| coordination::AttachmentInfo {
                        id: *id,
                        report_id: *report_id,
                        file_name: file_name.clone(),
                        content_type: content_type.clone(),
                        size: *size,
                        sha256: sha256.clone(),
                    })
                    .collect();
                Ok(coordination::Report {
                    id: rid,
                    submitted_by: by,
                    submitted_at: at,
                    due_on: coordination::date(&due)?,
                    text,
                    attachments,
                })
            })
            .collect()
    }

    /// An attachment's bytes.
    pub async fn attachment_bytes(&self, id: i64) -> Result<Vec<u8>, StoreError> {
        dispatch!(self, attachment_bytes(id))?.ok_or_else(|| StoreError::NotFound { what: "attachment", key: id.to_string() })
    }

    // ---- Protected facilities and threat levels ----

    /// Adds or updates facilities of a territory by identifier, in one transaction; audited.
    pub async fn import_facilities(
        &self,
        territory: TerritoryId,
        facilities: &[qalqan_domain::facility::NewFacility],
        actor: &Actor,
    ) -> Result<RegisterImport, StoreError> {
        let mut audit = self.entry(actor, "facility.import", serde_json::json!({"facilities": facilities.len()}));
        audit.object = format!("territory:{}", territory.0);
        dispatch!(self, import_facilities(territory.0, facilities, &audit))
    }

    /// A territory's facilities, by identifier.
    pub async fn facilities(&self, territory: TerritoryId) -> Result<Vec<threat::FacilityRecord>, StoreError> {
        let rows = dispatch!(self, facilities(territory.0))?;
        rows.into_iter().map(threat::facility_from_row).collect()
    }

    /// Replaces the required measures (category × level) with `measures`; audited.
    pub async fn replace_measures(&self, measures: &[qalqan_domain::facility::RequiredMeasure], actor: &Actor) -> Result<u64, StoreError> {
        let audit = self.entry(actor, "measures.replace", serde_json::json!({"measures": measures.len()}));
        dispatch!(self, replace_measures(measures, &audit))
    }

    /// The required measures.
    pub async fn measures(&self) -> Result<Vec<qalqan_domain::facility::RequiredMeasure>, StoreError> {
        let rows = dispatch!(self, measures())?;
        rows.into_iter().map(threat::measure_from_row).collect()
    }

    /// Declares a threat level for a territory from `starts_on` (until `ends_on`, or until lifted)
    /// and generates its checklist: for every facility, the measures its category needs at that
    /// level; for the police units, theirs. Refused when its days overlap another declaration
    /// of the territory that was not lifted.
    pub async fn declare_threat_level(
        &self,
        territory: TerritoryId,
        level: qalqan_domain::facility::ThreatLevel,
        starts_on: chrono::NaiveDate,
        ends_on: Option<chrono::NaiveDate>,
        reason: &str,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        if ends_on.is_some_and(|e| e < starts_on) {
            return Err(StoreError::Invalid { what: "threat level", reason: "it ends before it starts".into() });
        }
        if reason.trim().is_empty() {
            return Err(StoreError::Invalid { what: "threat level", reason: "give the reason (the decision's grounds)".into() });
        }
        let measures = self.measures().await?;
        let mut items: Vec<(Option<i64>, String, String)> = Vec::new();
        for f in self.facilities(territory).await? {
            for m in measures.iter().filter(|m| m.category == Some(f.facility.category) && m.applies_at(level)) {
                items.push((Some(f.id), m.code.clone(), m.text.clone()));
            }
        }
        for m in measures.iter().filter(|m| m.category.is_none() && m.applies_at(level)) {
            items.push((None, m.code.clone(), m.text.clone()));
        }
        let d = threat::Declaration {
            id: 0,
            territory_id: territory.0,
            level,
            starts_on,
            ends_on,
            reason: reason.trim().to_owned(),
            declared_by: actor.name.clone(),
            declared_at: 0,
            lifted_by: None,
            lifted_at: None,
        };
        let audit = self.entry(
            actor,
            "threat_level.declare",
            serde_json::json!({"territory": territory.0, "level": level.code(), "starts_on": starts_on.to_string(), "ends_on": ends_on.map(|e| e.to_string()), "checklist_items": items.len()}),
        );
        dispatch!(self, declare(territory.0, &d, &items, &audit))
    }

    /// A territory's declarations, oldest first (the full history).
    pub async fn threat_levels(&self, territory: TerritoryId) -> Result<Vec<threat::Declaration>, StoreError> {
        let rows = dispatch!(self, declarations(territory.0))?;
        rows.into_iter().map(threat::declaration_from_row).collect()
    }

    /// One declaration.
    pub async fn threat_level(&self, id: i64) -> Result<threat::Declaration, StoreError> {
        let row = dispatch!(self, declaration(id))?.ok_or_else(|| StoreError::NotFound { what: "threat level", key: id.to_string() })?;
        threat::declaration_from_row(row)
    }

    /// Extends a declaration in force to `ends_on` (`None`: until lifted); audited.
    pub async fn extend_threat_level(&self, id: i64, ends_on: Option<chrono::NaiveDate>, actor: &Actor) -> Result<(), StoreError> {
        let d = self.threat_level(id).await?;
        if ends_on.is_some_and(|e| e < d.starts_on) {
            return Err(StoreError::Invalid { what: "threat level", reason: "it would end before it starts".into() });
        }
        let audit = self.entry(actor, "threat_level.extend", serde_json::json!({"ends_on": ends_on.map(|e| e.to_string())}));
        dispatch!(self, change_declaration(id, ends_on, false, &audit))
    }

    /// Lifts a declaration; audited.
    pub async fn lift_threat_level(&self, id: i64, actor: &Actor) -> Result<(), StoreError> {
        self.threat_level(id).await?;
        let audit = self.entry(actor, "threat_level.lift", serde_json::json!({}));
        dispatch!(self, change_declaration(id, None, true, &audit))
    }

    /// A declaration's checklist.
    pub async fn checklist(&self, declaration: i64) -> Result<Vec<threat::ChecklistItem>, StoreError> {
        let rows = dispatch!(self, checklist(declaration))?;
        Ok(rows
            .into_iter()
            .map(|(id, declaration_id, facility_id, measure_code, text, done_by, done_at, note)| threat::ChecklistItem {
                id,
                declaration_id,
                facility_id,
                measure_code,
                text,
                done_by,
                done_at,
                note,
            })
            .collect())
    }

    /// Marks a checklist item done; audited.
    pub async fn check_item(&self, item: i64, note: &str, actor: &Actor) -> Result<(), StoreError> {
        let audit = self.entry(actor, "checklist.done", serde_json::json!({"item": item}));
        dispatch!(self, check_item(item, note.trim(), &audit))
    }

    /// Writes the reminders and escalations due `today`: for every assignment awaiting its
    /// executor, a reminder to the executing agency's accounts (not viewers, not disabled) when it
    /// is due within `remind_days`, and when it is overdue an escalation to them and to the
    /// controller. Each is written once per recipient, assignment, kind and due date, so the job
    /// may run any number of times; returns how many are new (one audit entry when any).
    pub async fn generate_notifications(&self, today: chrono::NaiveDate, remind_days: i64, actor: &Actor) -> Result<u64, StoreError> {
        use coordination::{NewNotification, NotificationKind};
        use qalqan_domain::assignment::days_left;
        let users: Vec<User> = self
            .users()
            .await?
            .into_iter()
            .filter(|u| u.state == AccountState::Active && u.role != qalqan_domain::account::Role::Viewer)
            .collect();
        let mut rows = Vec::new();
        for a in self.assignments(&coordination::AssignmentFilter::default()).await? {
            if !a.status.awaits_executor() {
                continue;
            }
            let left = days_left(a.due_on, today);
            let kind = if left < 0 {
                NotificationKind::Overdue
            } else if left <= remind_days {
                NotificationKind::Reminder
            } else {
                continue;
            };
            let x = &a.assignment;
            let message = match kind {
                NotificationKind::Reminder => format!("Assignment {} ({}) is due on {}: {} day(s) left", a.id, x.executor, a.due_on, left),
                NotificationKind::Overdue => format!("Assignment {} ({}) is overdue since {}", a.id, x.executor, a.due_on),
            };
            let mut logins: Vec<String> =
                users.iter().filter(|u| u.agency.as_deref() == Some(x.executor.as_str())).map(|u| u.login.to_string()).collect();
            if kind == NotificationKind::Overdue && users.iter().any(|u| u.login.as_str() == x.controller) {
                logins.push(x.controller.clone());
            }
            logins.sort();
            logins.dedup();
            for login in logins {
                rows.push(NewNotification { login, assignment_id: a.id, kind, due_on: a.due_on, message: message.clone() });
            }
        }
        let audit = self.entry(actor, "notifications.generate", serde_json::json!({}));
        dispatch!(self, insert_notifications(&rows, &audit))
    }

    /// A user's notifications, newest first (at most 500).
    pub async fn notifications(&self, login: &str, unread_only: bool) -> Result<Vec<coordination::Notification>, StoreError> {
        let rows = dispatch!(self, notifications(login, unread_only))?;
        rows.into_iter()
            .map(|(id, assignment_id, kind, due, message, created_at, read_at)| {
                Ok(coordination::Notification { id, assignment_id, kind, due_on: coordination::date(&due)?, message, created_at, read_at })
            })
            .collect()
    }

    /// Marks one of the user's notifications read; false when it is not theirs or already read.
    pub async fn mark_notification_read(&self, id: i64, login: &str) -> Result<bool, StoreError> {
        Ok(dispatch!(self, mark_notification_read(id, login))? == 1)
    }

    /// Sets (or with `None` removes) the address an account's reminders and escalations are
    /// e-mailed to; audited. [`StoreError::NotFound`] for an unknown login.
    pub async fn set_email(
        &self,
        login: &Login,
        email: Option<&qalqan_domain::account::EmailAddress>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let mut audit = self.entry(actor, "user.email", serde_json::json!({"set": email.is_some()}));
        audit.object = login.to_string();
        match dispatch!(self, set_email(login.as_str(), email.map(|e| e.as_str()), &audit))? {
            1 => Ok(()),
            _ => Err(StoreError::NotFound { what: "user", key: login.to_string() }),
        }
    }

    /// The e-mail address of every account that has one, by login.
    pub async fn user_emails(&self) -> Result<HashMap<String, String>, StoreError> {
        Ok(dispatch!(self, user_emails())?.into_iter().collect())
    }

    /// Notifications still to be e-mailed (to active accounts with an address, fewer than
    /// [`coordination::MAX_EMAIL_ATTEMPTS`] attempts so far), oldest first, at most `limit`.
    pub async fn pending_emails(&self, limit: u32) -> Result<Vec<coordination::PendingEmail>, StoreError> {
        dispatch!(self, pending_emails(i64::from(limit)))
    }

    /// Records the outcome of an e-mail batch (one audit entry: how many sent and failed).
    pub async fn record_emails(&self, outcomes: &[(i64, coordination::EmailOutcome)], actor: &Actor) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let sent = outcomes.iter().filter(|(_, o)| *o == coordination::EmailOutcome::Sent).count();
        let audit = self.entry(actor, "notifications.email", serde_json::json!({"sent": sent, "failed": outcomes.len() - sent}));
        dispatch!(self, record_emails(outcomes, &audit))
    }

    /// Replaces (or creates) a territory's point layer, all or nothing; audited. The name must be
    /// 1-60 letters, digits, `_` or `-`.
    pub async fn replace_layer(
        &self,
        territory: TerritoryId,
        name: &str,
        points: &[qalqan_domain::Wgs84Point],
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 60 || !name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
            return Err(StoreError::Invalid { what: "layer", reason: format!("name '{name}' must be 1-60 letters, digits, '_' or '-'") });
        }
        let mut audit = self.entry(actor, "layer.replace", serde_json::json!({"name": name, "points": points.len()}));
        audit.object = format!("territory:{}", territory.0);
        let pts: Vec<(f64, f64)> = points.iter().map(|p| (p.lat(), p.lon())).collect();
        dispatch!(self, replace_layer(territory.0, name, &pts, &audit))
    }

    /// A territory's point layers, by name.
    pub async fn layers(&self, territory: TerritoryId) -> Result<Vec<(String, Vec<qalqan_domain::Wgs84Point>)>, StoreError> {
        let mut out: Vec<(String, Vec<qalqan_domain::Wgs84Point>)> = Vec::new();
        for (name, lat, lon) in dispatch!(self, layer_points(territory.0))? {
            let p =
                qalqan_domain::Wgs84Point::new(lat, lon).map_err(|e| StoreError::Corrupt { what: "layer point", reason: e.to_string() })?;
            match out.last_mut() {
                Some((n, v)) if *n == name => v.push(p),
                _ => out.push((name, vec![p])),
            }
        }
        Ok(out)
    }

    /// Publishes (or withdraws) a territory's aggregated figures on the public page; audited.
    pub async fn set_published(&self, territory: TerritoryId, published: bool, actor: &Actor) -> Result<(), StoreError> {
        let mut audit = self.entry(actor, if published { "territory.publish" } else { "territory.unpublish" }, serde_json::json!({}));
        audit.object = format!("territory:{}", territory.0);
        dispatch!(self, set_published(territory.0, published, &audit))
    }

    /// The territories whose aggregated figures are public.
    pub async fn published_territories(&self) -> Result<Vec<TerritoryId>, StoreError> {
        Ok(dispatch!(self, published_territories())?.into_iter().map(TerritoryId).collect())
    }

    /// Records a prevention measure to evaluate (its assignment must exist); audited.
    pub async fn add_intervention(
        &self,
        territory: TerritoryId,
        intervention: &qalqan_domain::intervention::NewIntervention,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        if let Some(a) = intervention.assignment_id {
            self.assignment(a).await?;
        }
        let audit = self.entry(
            actor,
            "intervention.add",
            serde_json::json!({"name": intervention.name, "kind": intervention.kind.code(), "starts_on": intervention.starts_on.to_string()}),
        );
        dispatch!(self, add_intervention(territory.0, intervention, &audit))
    }

    /// A territory's interventions, by start date.
    pub async fn interventions(&self, territory: TerritoryId) -> Result<Vec<evaluation::InterventionRecord>, StoreError> {
        dispatch!(self, interventions(territory.0))?.into_iter().map(evaluation::intervention_from_row).collect()
    }

    /// Records an inspection of one of the territory's facilities and issues an assignment for
    /// each finding (source: `body`; due by each finding's deadline from `today`), all or nothing;
    /// returns the inspection's id and the assignments'.
    pub async fn add_inspection(
        &self,
        territory: TerritoryId,
        inspection: &coordination::NewInspection,
        findings: &[qalqan_domain::assignment::NewAssignment],
        body: i64,
        today: chrono::NaiveDate,
        actor: &Actor,
    ) -> Result<(i64, Vec<i64>), StoreError> {
        if !self.facilities(territory).await?.iter().any(|f| f.id == inspection.facility_id) {
            return Err(StoreError::NotFound { what: "facility", key: inspection.facility_id.to_string() });
        }
        if !self.bodies().await?.iter().any(|b| b.id == body) {
            return Err(StoreError::NotFound { what: "body", key: body.to_string() });
        }
        if inspection.inspector.trim().is_empty() {
            return Err(StoreError::Invalid { what: "inspection", reason: "name the inspector".into() });
        }
        let findings: Vec<_> = findings.iter().map(|f| (f.clone(), f.deadline.first_due(today))).collect();
        let source = coordination::Source { body_id: body, meeting_id: None, parent_id: None };
        let audit = self.entry(actor, "inspection.add", serde_json::json!({}));
        dispatch!(self, add_inspection(inspection, &findings, source, &audit))
    }

    /// A facility's inspections (id, date, inspector, summary) with their findings' assignments.
    pub async fn inspections(
        &self,
        facility: i64,
    ) -> Result<Vec<(i64, chrono::NaiveDate, String, String, Vec<(String, i64)>)>, StoreError> {
        let rows = dispatch!(self, inspections(facility))?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, held_on, inspector, summary) in rows {
            let findings = dispatch!(self, inspection_findings(id))?;
            out.push((id, coordination::date(&held_on)?, inspector, summary, findings));
        }
        Ok(out)
    }

    fn entry(&self, actor: &Actor, action: &str, detail: serde_json::Value) -> NewAuditEntry {
        NewAuditEntry { actor: actor.clone(), action: action.into(), object: String::new(), detail: detail.to_string(), purpose: None }
    }

    /// Agencies with their number of accounts, by name.
    pub async fn agencies(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = dispatch!(self, agencies())?;
        Ok(rows.into_iter().map(|(n, c)| (n, c.max(0) as u64)).collect())
    }

    /// Registers an agency (audited); a name already there is a conflict.
    pub async fn add_agency(&self, name: &str, actor: &Actor) -> Result<(), StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "agency.add".into(),
            object: format!("agency:{name}"),
            detail: "{}".into(),
            purpose: None,
        };
        dispatch!(self, add_agency(name, &audit))
    }

    /// Sessions neither revoked nor expired, oldest first.
    pub async fn live_sessions(&self) -> Result<Vec<SessionInfo>, StoreError> {
        dispatch!(self, live_sessions(Utc::now()))
    }

    /// Ends one session by id, or every session of a user (audited as
    /// `session.revoke`); returns how many were live.
    pub async fn revoke_sessions(&self, which: SessionsOf<'_>, actor: &Actor) -> Result<u64, StoreError> {
        let (id, login, object) = match which {
            SessionsOf::Id(id) => (id, "", format!("session:{id}")),
            SessionsOf::User(login) => (-1, login.as_str(), format!("user:{login}")),
        };
        let audit = NewAuditEntry { actor: actor.clone(), action: "session.revoke".into(), object, detail: "{}".into(), purpose: None };
        dispatch!(self, revoke_sessions(id, login, &audit))
    }

    /// Takes the lease of periodic job `name` for `holder` until `now + ttl` when it is free,
    /// expired or already `holder`'s; `false` when another instance holds it. Several instances
    /// over one database thus run each periodic job once.
    pub async fn try_lease(&self, name: &str, holder: &str, ttl: chrono::Duration) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp();
        let until = now + ttl.num_seconds();
        const UPSERT: &str = "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
                              SET holder = excluded.holder, expires_at = excluded.expires_at \
                              WHERE job_leases.expires_at < $4 OR job_leases.holder = excluded.holder";
        let taken = match self {
            Store::Sqlite(pool) => sqlx::query(sqlx::AssertSqlSafe(UPSERT.replace('$', "?")))
                .bind(name)
                .bind(holder)
                .bind(until)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected(),
            Store::Postgres(pool) => sqlx::query(UPSERT).bind(name).bind(holder).bind(until).bind(now).execute(pool).await?.rows_affected(),
        };
        Ok(taken == 1)
    }

    /// Applies one retention rule: deletes what `category` holds from before `cutoff` (with
    /// `dry_run`, only counts it). Audited as `retention.purge` with the cutoff and the count.
    pub async fn purge(
        &self,
        category: qalqan_domain::retention::RetentionCategory,
        cutoff: DateTime<Utc>,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "retention.purge".into(),
            object: format!("data:{}", category.code()),
            detail: "{}".into(),
            purpose: None,
        };
        dispatch!(self, purge(category, cutoff, dry_run, &audit))
    }

    /// Audit entries older than `before` (newest first), at most `limit`, whose
    /// action and actor contain the given texts (case-insensitive; empty matches all).
    pub async fn audit_search(&self, before: Option<i64>, limit: u32, action: &str, actor: &str) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self, audit_search(before.unwrap_or(i64::MAX), i64::from(limit), action, actor))
    }

    /// Whether any account exists (the first-administrator setup is offered only when none does).
    pub async fn has_users(&self) -> Result<bool, StoreError> {
        dispatch!(self, has_users())
    }

    /// Opens a session for `user` (audited as `session.login`). Only the
    /// SHA-256 of the cookie token is stored.
    pub async fn create_session(
        &self,
        user: &User,
        token_hash: &str,
        csrf: &str,
        expires_at: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<i64, StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "session.login".into(),
            object: format!("user:{}", user.login),
            detail: "{}".into(),
            purpose: None,
        };
        dispatch!(self, create_session(user.id, token_hash, csrf, expires_at, &actor.origin, &audit))
    }

    /// The live session with this token hash: not revoked, not expired, account active.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        // Every authenticated request comes here: one join for session and user, one query for the scopes.
        let found = dispatch!(self, session_user(token_hash, Utc::now()))?;
        Ok(found.filter(|(_, _, _, user)| user.state == AccountState::Active).map(|(id, csrf_token, expires_at, user)| Session {
            id,
            csrf_token,
            expires_at,
            user,
        }))
    }

    /// Ends a session (audited as `session.logout`).
    pub async fn revoke_session(&self, session: &Session, actor: &Actor) -> Result<(), StoreError> {
        let audit = NewAuditEntry {
            actor: actor.clone(),
            action: "session.logout".into(),
            object: format!("user:{}", session.user.login),
            detail: "{}".into(),
            purpose: None,
        };
        dispatch!(self, revoke_session(session.id, &audit))
    }

    /// Counts a failed login; after `lock_after` in a row the account is locked until `now + lock_for`
    /// (audited as `user.locked`). Returns the lock, if any.
    pub async fn login_failed(
        &self,
        user: &User,
        lock_after: u32,
        lock_for: chrono::Duration,
        actor: &Actor,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let failed = user.failed_logins + 1;
        let until = (failed >= lock_after).then(|| Utc::now() + lock_for);
        let audit = until.map(|u| NewAuditEntry {
            actor: actor.clone(),
            action: "user.locked".into(),
            object: format!("user:{}", user.login),
            detail: serde_json::json!({"failed_logins": failed, "until": u.to_rfc3339()}).to_string(),
            purpose: None,
        });
        dispatch!(self, login_failed(user.id, i64::from(failed), until, audit.as_ref()))?;
        Ok(until)
    }

    /// Appends one entry to the audit trail, in its own transaction.
    pub async fn audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
        dispatch!(self, audit(entry))
    }

    /// Audit entries with id greater than `after`, oldest first, at most `limit`.
    pub async fn audit_entries(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        dispatch!(self, audit_page(after, i64::from(limit)))
    }

    /// Walks the whole audit trail: `Ok(Ok(head))` with the last hash when
    /// intact, `Ok(Err(break))` naming the first broken entry.
    pub async fn verify_audit(&self) -> Result<(u64, Result<String, ChainBreak>), StoreError> {
        let mut all: Vec<AuditEntry> = Vec::new();
        let mut after = 0;
        loop {
            let page = self.audit_entries(after, 10_000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            all.extend(page);
        }
        Ok((all.len() as u64, verify_chain(&all)))
    }

    /// The batch that imported a file with this checksum into the territory, if any.
    pub async fn batch_by_checksum(&self, territory: TerritoryId, checksum: &Sha256Hex) -> Result<Option<ImportBatch>, StoreError> {
        dispatch!(self, batch_by_checksum(territory, checksum.as_str()))
    }

    /// Every import batch of a territory, oldest first.
    pub async fn batches(&self, territory: TerritoryId) -> Result<Vec<ImportBatch>, StoreError> {
        dispatch!(self, batches(territory))
    }

    /// Starts an import: opens a transaction and records the batch in it.
    pub async fn begin_import(&self, territory: &Territory, batch: &NewBatch) -> Result<ImportTx, StoreError> {
        let (inner, id) = match self {
            Store::Sqlite(pool) => {
                let (tx, id) = sqlite::begin_import(pool, territory.id, batch).await?;
                (TxInner::Sqlite(tx), id)
            }
            Store::Postgres(pool) => {
                let (tx, id) = postgres::begin_import(pool, territory.id, batch).await?;
                (TxInner::Postgres(tx), id)
            }
        };
        Ok(ImportTx {
            inner,
            territory: territory.id,
            time_zone: territory.time_zone,
            batch: id,
            inserted: 0,
            already_present: 0,
            districts: territory.districts.iter().map(|d| (d.name.clone(), d.id)).collect(),
            districts_created: 0,
            actor: batch.actor.clone(),
        })
    }

    /// Counts incidents matching `filter` by category, month and district.
    pub async fn incident_stats(&self, filter: &IncidentFilter) -> Result<IncidentStats, StoreError> {
        dispatch!(self, incident_stats(filter))
    }

    /// Incidents whose territory, batch or district does not exist (should be 0).
    pub async fn check_integrity(&self) -> Result<u64, StoreError> {
        dispatch!(self, orphans())
    }

    /// The incidents matching `filter`, in storage order, as analyses read them.
    pub async fn incident_records(&self, filter: &IncidentFilter) -> Result<Vec<IncidentRecord>, StoreError> {
        dispatch!(self, incident_records(filter))
    }

    /// A page of incidents (ids greater than `after`, at most `limit`, id order) with their details.
    pub async fn incident_page(
        &self,
        filter: &IncidentFilter,
        area: &IncidentArea,
        after: i64,
        limit: u32,
    ) -> Result<Vec<IncidentListItem>, StoreError> {
        let query = format!("{LIST_SQL}{}", area_sql(area, after, limit)?);
        dispatch!(self, incident_page(&query, filter))
    }

    /// A number that changes whenever the territory's incidents change (the
    /// latest import batch), for caching computed results.
    pub async fn data_version(&self, territory: TerritoryId) -> Result<i64, StoreError> {
        dispatch!(self, data_version(territory))
    }

    /// Row counts of every table.
    pub async fn table_counts(&self) -> Result<TableCounts, StoreError> {
        dispatch!(self, table_counts())
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(pool) => pool.close().await,
            Store::Postgres(pool) => pool.close().await,
        }
    }
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// An import in progress: one open transaction. Dropping it without
/// [`ImportTx::commit`] rolls everything back.
pub struct ImportTx {
    inner: TxInner,
    territory: TerritoryId,
    time_zone: Tz,
    batch: BatchId,
    inserted: u64,
    already_present: u64,
    districts: HashMap<DistrictName, DistrictId>,
    districts_created: u64,
    actor: Actor,
}

/// What one [`ImportTx::insert`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    pub inserted: u64,
    pub already_present: u64,
}

impl ImportTx {
    /// The batch being written.
    pub fn batch(&self) -> BatchId {
        self.batch
    }

    /// Districts this import registered so far.
    pub fn districts_created(&self) -> u64 {
        self.districts_created
    }

    /// Inserts a chunk of incidents; rows whose identity is already stored are skipped.
    pub async fn insert(&mut self, chunk: &[NewIncident]) -> Result<ChunkOutcome, StoreError> {
        // Register districts named by the file first, so every row has an id.
        let mut missing: Vec<&DistrictName> = Vec::new();
        for inc in chunk {
            if let Some(DistrictRef::New(name)) = &inc.district
                && !self.districts.contains_key(name)
                && !missing.contains(&name)
            {
                missing.push(name);
            }
        }
        for name in missing {
            let id = match &mut self.inner {
                TxInner::Sqlite(tx) => sqlite::ensure_district(tx, self.territory, name.as_str()).await?,
                TxInner::Postgres(tx) => postgres::ensure_district(tx, self.territory, name.as_str()).await?,
            };
            self.districts.insert(name.clone(), id);
            self.districts_created += 1;
        }
        let rows: Vec<IncidentRow<'_>> = chunk
            .iter()
            .map(|inc| IncidentRow {
                incident: inc,
                district: match &inc.district {
                    None => None,
                    Some(DistrictRef::Known(id)) => Some(*id),
                    Some(DistrictRef::New(name)) => self.districts.get(name).copied(),
                },
                local_month: inc.occurred.local_month(self.time_zone),
            })
            .collect();
        let inserted = match &mut self.inner {
            TxInner::Sqlite(tx) => sqlite::insert_incidents(tx, self.territory, self.batch, &rows).await?,
            TxInner::Postgres(tx) => postgres::insert_incidents(tx, self.territory, self.batch, &rows).await?,
        };
        let outcome = ChunkOutcome { inserted, already_present: chunk.len() as u64 - inserted };
        self.inserted += outcome.inserted;
        self.already_present += outcome.already_present;
        Ok(outcome)
    }

    /// Writes the final counts into the batch and commits.
    pub async fn commit(self, counts: ReaderCounts) -> Result<ImportBatch, StoreError> {
        let totals = (self.inserted, self.already_present);
        match self.inner {
            TxInner::Sqlite(mut tx) => {
                let batch = sqlite::finish_batch(&mut tx, self.batch, counts, totals).await?;
                sqlite::append_audit(&mut tx, &import_audit(&batch, self.actor, self.districts_created)).await?;
                tx.commit().await?;
                Ok(batch)
            }
            TxInner::Postgres(mut tx) => {
                let batch = postgres::finish_batch(&mut tx, self.batch, counts, totals).await?;
                postgres::append_audit(&mut tx, &import_audit(&batch, self.actor, self.districts_created)).await?;
                tx.commit().await?;
                Ok(batch)
            }
        }
    }

    /// Abandons the import; nothing of it remains.
    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(tx) => tx.rollback().await?,
            TxInner::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// An incident ready for insertion, its district resolved.
pub(crate) struct IncidentRow<'a> {
    pub incident: &'a NewIncident,
    pub district: Option<DistrictId>,
    pub local_month: i32,
}

fn territory_audit(id: i64, t: &NewTerritory, actor: &Actor) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.clone(),
        action: "territory.add".into(),
        object: format!("territory:{id}"),
        detail: serde_json::json!({"name": t.name.as_str(), "time_zone": t.time_zone.name(), "boundary": t.boundary.is_some()}).to_string(),
        purpose: None,
    }
}

fn districts_audit(
    territory: TerritoryId,
    rows: &[(String, Option<String>, Option<String>)],
    ids: &[DistrictId],
    actor: &Actor,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: actor.clone(),
        action: "territory.districts".into(),
        object: format!("territory:{}", territory.0),
        detail: serde_json::json!({
            "districts": rows.iter().zip(ids).map(|((name, parent, _), id)| serde_json::json!({"id": id.0, "name": name, "parent": parent})).collect::<Vec<_>>(),
        })
        .to_string(),
        purpose: None,
    }
}

/// The audit entry of a committed import.
fn import_audit(b: &ImportBatch, actor: Actor, districts_created: u64) -> NewAuditEntry {
    NewAuditEntry {
        actor,
        action: "import.incidents".into(),
        object: format!("batch:{}", b.id.0),
        detail: serde_json::json!({
            "territory": b.territory.0, "file": b.file_name, "sha256": b.checksum.as_str(), "format": b.format,
            "rows_read": b.rows_read, "imported": b.rows_imported, "identical_in_file": b.rows_identical_in_file,
            "already_present": b.rows_already_present, "rejected": b.rows_rejected, "districts_created": districts_created,
        })
        .to_string(),
        purpose: None,
    }
}

/// The next entry of the chain after `last` (id, hash), stamped now.
pub(crate) fn next_audit_entry(last: Option<(i64, String)>, e: &NewAuditEntry) -> AuditEntry {
    let (id, prev_hash) = last.map_or((1, qalqan_domain::audit::GENESIS.to_owned()), |(id, hash)| (id + 1, hash));
    let now = Utc::now();
    let at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let mut entry = AuditEntry {
        id,
        at,
        actor: e.actor.name.clone(),
        origin: e.actor.origin.clone(),
        action: e.action.clone(),
        object: e.object.clone(),
        detail: e.detail.clone(),
        purpose: e.purpose.clone(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.expected_hash();
    entry
}

pub(crate) type AuditRow = (i64, i64, String, String, String, String, String, Option<String>, String, String);

pub(crate) fn audit_from_row(
    (id, at_us, actor, origin, action, object, detail, purpose, prev_hash, hash): AuditRow,
) -> Result<AuditEntry, StoreError> {
    let at = DateTime::from_timestamp_micros(at_us).ok_or_else(|| StoreError::Corrupt { what: "audit time", reason: at_us.to_string() })?;
    Ok(AuditEntry { id, at, actor, origin, action, object, detail, purpose, prev_hash, hash })
}

pub(crate) const SESSION_USER_SQL: &str = "SELECT s.id, s.csrf_token, s.expires_at, \
    u.id, u.login, u.display_name, u.role, a.name, u.password_hash, u.must_change_password, u.disabled, u.failed_logins, u.locked_until \
    FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN agencies a ON a.id = u.agency_id \
    WHERE s.token_hash = {TOKEN} AND s.revoked_at IS NULL AND s.expires_at > {NOW}";
pub(crate) const TERRITORY_STAMP_SQL: &str = "SELECT t.id, t.revision, \
    (SELECT count(*) FROM districts d WHERE d.territory_id = t.id), \
    (SELECT coalesce(max(d.id), 0) FROM districts d WHERE d.territory_id = t.id), \
    (SELECT coalesce(max(b.id), 0) FROM import_batches b WHERE b.territory_id = t.id) \
    FROM territories t WHERE t.name = {NAME}";
pub(crate) const LIVE_SESSIONS_SQL: &str = "SELECT s.id, u.login, s.created_at, s.expires_at, s.origin FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.revoked_at IS NULL";
pub(crate) const AGENCIES_SQL: &str =
    "SELECT a.name, count(u.id) FROM agencies a LEFT JOIN users u ON u.agency_id = a.id GROUP BY a.name ORDER BY a.name";
pub(crate) const AUDIT_COLUMNS: &str = "id, at_us, actor, origin, action, object, detail, purpose, prev_hash, hash";

/// Territory row as stored, before its geometry is parsed.
pub(crate) struct TerritoryRow {
    pub id: TerritoryId,
    pub name: String,
    pub time_zone: String,
    pub boundary: Option<String>,
}

/// District row as stored.
pub(crate) struct DistrictRow {
    pub id: DistrictId,
    pub name: String,
    pub parent: Option<DistrictId>,
    pub boundary: Option<String>,
}

/// Hides the password of a database URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Queries over filtered incidents, shared by both backends; each backend
/// substitutes its own `{FILTER}` (placeholders differ) and binds the filter.
pub(crate) const BY_CATEGORY_SQL: &str =
    "SELECT i.category, count(*) FROM incidents i WHERE {FILTER} GROUP BY i.category ORDER BY count(*) DESC, i.category";
pub(crate) const BY_MONTH_SQL: &str =
    "SELECT i.local_month, count(*) FROM incidents i WHERE {FILTER} GROUP BY i.local_month ORDER BY i.local_month";
pub(crate) const BY_DISTRICT_SQL: &str = "SELECT d.name, count(*) FROM incidents i LEFT JOIN districts d ON d.id = i.district_id WHERE {FILTER} GROUP BY d.name ORDER BY count(*) DESC, d.name";
pub(crate) const RECORDS_SQL: &str = "SELECT i.lat, i.lon, i.occurred_start, i.occurred_end, i.time_precision, i.category, i.district_id FROM incidents i WHERE {FILTER} ORDER BY i.id";

/// Counts incidents pointing at a missing territory, batch or district.
pub(crate) const ORPHANS_SQL: &str = "SELECT count(*) FROM incidents i
     WHERE NOT EXISTS (SELECT 1 FROM territories t WHERE t.id = i.territory_id)
        OR NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.id = i.batch_id AND b.territory_id = i.territory_id)
        OR (i.district_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM districts d WHERE d.id = i.district_id AND d.territory_id = i.territory_id))";

/// Assembles [`IncidentStats`] from grouped rows (the same for both backends).
pub(crate) fn stats_from_rows(
    by_category: Vec<(String, i64)>,
    by_month: Vec<(i64, i64)>,
    by_district: Vec<(Option<String>, i64)>,
) -> IncidentStats {
    let total = by_category.iter().map(|(_, n)| *n as u64).sum();
    IncidentStats {
        total,
        by_category: by_category.into_iter().map(|(c, n)| (c, n as u64)).collect(),
        by_month: by_month.into_iter().map(|(m, n)| (m as i32, n as u64)).collect(),
        by_district: by_district.into_iter().map(|(d, n)| (d, n as u64)).collect(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(super::numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
