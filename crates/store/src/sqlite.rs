//! The SQLite backend: one database file, WAL journal.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use qalqan_domain::audit::{Actor, AuditEntry, NewAuditEntry};
use qalqan_domain::{BatchId, DistrictId, ImportBatch, Sha256Hex, TerritoryId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row as _, SqlitePool, Transaction};

use crate::{
    DistrictRow, IncidentFilter, IncidentRow, IncidentStats, NewBatch, NewTerritory, ReaderCounts, StoreError, TableCounts, TerritoryRow,
    TerritorySummary,
};

type Tx = Transaction<'static, sqlx::Sqlite>;

pub(crate) async fn connect(path: &Path) -> Result<SqlitePool, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    }
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        // 8 KiB pages: the Toronto import's index inserts ran 40 % faster than
        // with the 4 KiB default (only takes effect when the file is created).
        .page_size(8192)
        .journal_mode(SqliteJournalMode::Wal)
        // NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // 64 MiB page cache: bulk imports update three indexes at random places.
        .pragma("cache_size", "-65536");
    Ok(SqlitePoolOptions::new().max_connections(4).connect_with(options).await?)
}

fn conflict(e: sqlx::Error, what: &'static str, key: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what, key: key.to_owned() },
        _ => StoreError::Database(e),
    }
}

pub(crate) async fn add_territory(
    pool: &SqlitePool,
    t: &NewTerritory,
    boundary: Option<&str>,
    actor: &Actor,
) -> Result<TerritoryId, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO territories (name, time_zone, boundary, created_at) VALUES (?, ?, ?, ?) RETURNING id")
        .bind(t.name.as_str())
        .bind(t.time_zone.name())
        .bind(boundary)
        .bind(Utc::now().timestamp())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict(e, "territory", t.name.as_str()))?;
    append_audit(&mut tx, &crate::territory_audit(id, t, actor)).await?;
    tx.commit().await?;
    Ok(TerritoryId(id))
}

pub(crate) async fn set_territory_boundary(
    pool: &SqlitePool,
    id: TerritoryId,
    boundary: Option<&str>,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE territories SET boundary = ?, revision = revision + 1 WHERE id = ?")
        .bind(boundary)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn territory_row(pool: &SqlitePool, name: &str) -> Result<Option<TerritoryRow>, StoreError> {
    let row = sqlx::query("SELECT id, name, time_zone, boundary FROM territories WHERE name = ?").bind(name).fetch_optional(pool).await?;
    Ok(row.map(|r| TerritoryRow { id: TerritoryId(r.get(0)), name: r.get(1), time_zone: r.get(2), boundary: r.get(3) }))
}

pub(crate) async fn district_rows(pool: &SqlitePool, territory: TerritoryId) -> Result<Vec<DistrictRow>, StoreError> {
    let rows = sqlx::query("SELECT id, name, parent_id, boundary FROM districts WHERE territory_id = ? ORDER BY id")
        .bind(territory.0)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| DistrictRow {
            id: DistrictId(r.get(0)),
            name: r.get(1),
            parent: r.get::<Option<i64>, _>(2).map(DistrictId),
            boundary: r.get(3),
        })
        .collect())
}

pub(crate) async fn territories(pool: &SqlitePool) -> Result<Vec<TerritorySummary>, StoreError> {
    let rows = sqlx::query(
        "SELECT t.id, t.name, t.time_zone, t.boundary IS NOT NULL,
                (SELECT count(*) FROM districts d WHERE d.territory_id = t.id),
                (SELECT count(*) FROM incidents i WHERE i.territory_id = t.id)
         FROM territories t ORDER BY t.name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TerritorySummary {
            id: TerritoryId(r.get(0)),
            name: r.get(1),
            time_zone: r.get(2),
            has_boundary: r.get(3),
            districts: r.get::<i64, _>(4) as u64,
            incidents: r.get::<i64, _>(5) as u64,
        })
        .collect())
}

pub(crate) async fn add_districts(
    pool: &SqlitePool,
    territory: TerritoryId,
    rows: &[(String, Option<String>, Option<String>)],
    actor: &Actor,
) -> Result<Vec<DistrictId>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut ids = Vec::with_capacity(rows.len());
    for (name, parent, boundary) in rows {
        let parent_id: Option<i64> = match parent {
            None => None,
            Some(p) => Some(
                sqlx::query_scalar("SELECT id FROM districts WHERE territory_id = ? AND name = ?")
                    .bind(territory.0)
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| StoreError::NotFound { what: "parent district", key: p.clone() })?,
            ),
        };
        let id: i64 =
            sqlx::query_scalar("INSERT INTO districts (territory_id, name, parent_id, boundary) VALUES (?, ?, ?, ?) RETURNING id")
                .bind(territory.0)
                .bind(name)
                .bind(parent_id)
                .bind(boundary)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| conflict(e, "district", name))?;
        ids.push(DistrictId(id));
    }
    append_audit(&mut tx, &crate::districts_audit(territory, rows, &ids, actor)).await?;
    tx.commit().await?;
    Ok(ids)
}

const BATCH_COLUMNS: &str = "id, territory_id, file_name, checksum, format, rows_read, rows_imported, rows_identical_in_file, rows_already_present, rows_rejected, imported_by, imported_at";

fn batch_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<ImportBatch, StoreError> {
    let checksum: String = r.get(3);
    let at: i64 = r.get(11);
    Ok(ImportBatch {
        id: BatchId(r.get(0)),
        territory: TerritoryId(r.get(1)),
        file_name: r.get(2),
        checksum: Sha256Hex::parse(&checksum).map_err(|e| StoreError::Corrupt { what: "batch checksum", reason: e.to_string() })?,
        format: r.get(4),
        rows_read: r.get::<i64, _>(5) as u64,
        rows_imported: r.get::<i64, _>(6) as u64,
        rows_identical_in_file: r.get::<i64, _>(7) as u64,
        rows_already_present: r.get::<i64, _>(8) as u64,
        rows_rejected: r.get::<i64, _>(9) as u64,
        imported_by: r.get(10),
        imported_at: DateTime::from_timestamp(at, 0).unwrap_or_default(),
    })
}

pub(crate) async fn batch_by_checksum(
    pool: &SqlitePool,
    territory: TerritoryId,
    checksum: &str,
) -> Result<Option<ImportBatch>, StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM import_batches WHERE territory_id = ? AND checksum = ?");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(territory.0).bind(checksum).fetch_optional(pool).await?;
    row.as_ref().map(batch_from_row).transpose()
}

pub(crate) async fn batches(pool: &SqlitePool, territory: TerritoryId) -> Result<Vec<ImportBatch>, StoreError> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM import_batches WHERE territory_id = ? ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(territory.0).fetch_all(pool).await?;
    rows.iter().map(batch_from_row).collect()
}

pub(crate) async fn begin_import(pool: &SqlitePool, territory: TerritoryId, batch: &NewBatch) -> Result<(Tx, BatchId), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO import_batches (territory_id, file_name, checksum, format, rows_read, rows_imported, rows_identical_in_file, rows_already_present, rows_rejected, imported_by, imported_at)
         VALUES (?, ?, ?, ?, 0, 0, 0, 0, 0, ?, ?) RETURNING id",
    )
    .bind(territory.0)
    .bind(&batch.file_name)
    .bind(batch.checksum.as_str())
    .bind(&batch.format)
    .bind(&batch.actor.name)
    .bind(Utc::now().timestamp())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| conflict(e, "import of file with checksum", batch.checksum.as_str()))?;
    Ok((tx, BatchId(id)))
}

pub(crate) async fn ensure_district(tx: &mut Tx, territory: TerritoryId, name: &str) -> Result<DistrictId, StoreError> {
    sqlx::query("INSERT INTO districts (territory_id, name) VALUES (?, ?) ON CONFLICT (territory_id, name) DO NOTHING")
        .bind(territory.0)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    let id: i64 = sqlx::query_scalar("SELECT id FROM districts WHERE territory_id = ? AND name = ?")
        .bind(territory.0)
        .bind(name)
        .fetch_one(&mut **tx)
        .await?;
    Ok(DistrictId(id))
}

pub(crate) async fn insert_incidents(
    tx: &mut Tx,
    territory: TerritoryId,
    batch: BatchId,
    rows: &[IncidentRow<'_>],
) -> Result<u64, StoreError> {
    let conn: &mut sqlx::SqliteConnection = tx;
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    blocking(|| crate::sqlite_bulk::insert_incidents(db, territory, batch, rows))
}

pub(crate) async fn finish_batch(
    tx: &mut Tx,
    batch: BatchId,
    counts: ReaderCounts,
    (inserted, already): (u64, u64),
) -> Result<ImportBatch, StoreError> {
    sqlx::query(
        "UPDATE import_batches SET rows_read = ?, rows_imported = ?, rows_identical_in_file = ?, rows_already_present = ?, rows_rejected = ? WHERE id = ?",
    )
    .bind(counts.rows_read as i64)
    .bind(inserted as i64)
    .bind(counts.rows_identical_in_file as i64)
    .bind(already as i64)
    .bind(counts.rows_rejected as i64)
    .bind(batch.0)
    .execute(&mut **tx)
    .await?;
    let sql = format!("SELECT {BATCH_COLUMNS} FROM import_batches WHERE id = ?");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(batch.0).fetch_one(&mut **tx).await?;
    batch_from_row(&row)
}

const FILTER: &str = "i.territory_id = ?1 AND (?2 IS NULL OR i.occurred_start >= ?2) AND (?3 IS NULL OR i.occurred_start < ?3) AND (?4 IS NULL OR i.category = ?4)";

/// Runs one of the shared filtered queries (`crate::*_SQL`) with the filter bound.
async fn filtered<T>(pool: &SqlitePool, query: &str, f: &IncidentFilter) -> Result<Vec<T>, StoreError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + Send + Unpin,
{
    Ok(sqlx::query_as(AssertSqlSafe(query.replace("{FILTER}", FILTER)))
        .bind(f.territory.0)
        .bind(f.from.map(|t| t.timestamp()))
        .bind(f.to.map(|t| t.timestamp()))
        .bind(f.category.map(|c| c.code()))
        .fetch_all(pool)
        .await?)
}

pub(crate) async fn incident_stats(pool: &SqlitePool, f: &IncidentFilter) -> Result<IncidentStats, StoreError> {
    Ok(crate::stats_from_rows(
        filtered(pool, crate::BY_CATEGORY_SQL, f).await?,
        filtered(pool, crate::BY_MONTH_SQL, f).await?,
        filtered(pool, crate::BY_DISTRICT_SQL, f).await?,
    ))
}

pub(crate) async fn table_counts(pool: &SqlitePool) -> Result<TableCounts, StoreError> {
    let (t, d, b, i): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM territories), (SELECT count(*) FROM districts), (SELECT count(*) FROM import_batches), (SELECT count(*) FROM incidents)",
    )
    .fetch_one(pool)
    .await?;
    Ok(TableCounts { territories: t as u64, districts: d as u64, import_batches: b as u64, incidents: i as u64 })
}

pub(crate) async fn orphans(pool: &SqlitePool) -> Result<u64, StoreError> {
    let n: i64 = sqlx::query_scalar(crate::ORPHANS_SQL).fetch_one(pool).await?;
    Ok(n as u64)
}

pub(crate) async fn incident_records(pool: &SqlitePool, f: &IncidentFilter) -> Result<Vec<crate::IncidentRecord>, StoreError> {
    let sql = std::ffi::CString::new(crate::RECORDS_SQL.replace("{FILTER}", FILTER))
        .map_err(|e| StoreError::Corrupt { what: "query", reason: e.to_string() })?;
    let mut conn = pool.acquire().await?;
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle();
    blocking(|| crate::sqlite_bulk::read_records(db, &sql, f))
}

/// Runs synchronous SQLite C calls (a few ms); on a multi-threaded runtime
/// the runtime moves other tasks off this worker meanwhile.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Appends to the audit chain; the caller's transaction must hold the write lock (BEGIN IMMEDIATE).
pub(crate) async fn append_audit(tx: &mut Tx, e: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetch_optional(&mut **tx).await?;
    let entry = crate::next_audit_entry(last, e);
    sqlx::query("INSERT INTO audit_log (id, at_us, actor, origin, action, object, detail, purpose, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(entry.id)
        .bind(entry.at.timestamp_micros())
        .bind(&entry.actor)
        .bind(&entry.origin)
        .bind(&entry.action)
        .bind(&entry.object)
        .bind(&entry.detail)
        .bind(&entry.purpose)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
    Ok(entry)
}

pub(crate) async fn audit(pool: &SqlitePool, e: &NewAuditEntry) -> Result<AuditEntry, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let entry = append_audit(&mut tx, e).await?;
    tx.commit().await?;
    Ok(entry)
}

pub(crate) async fn audit_page(pool: &SqlitePool, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<crate::AuditRow> =
        sqlx::query_as(AssertSqlSafe(format!("SELECT {} FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", crate::AUDIT_COLUMNS)))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(crate::audit_from_row).collect()
}

async fn user_id(tx: &mut Tx, login: &str) -> Result<i64, StoreError> {
    sqlx::query_scalar("SELECT id FROM users WHERE login = ?")
        .bind(login)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound { what: "user", key: login.to_owned() })
}

pub(crate) async fn add_user(pool: &SqlitePool, u: &crate::NewUser, audit: &NewAuditEntry) -> Result<i64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let agency: Option<i64> = match &u.agency {
        None => None,
        Some(name) => {
            sqlx::query("INSERT INTO agencies (name) VALUES (?) ON CONFLICT (name) DO NOTHING").bind(name).execute(&mut *tx).await?;
            Some(sqlx::query_scalar("SELECT id FROM agencies WHERE name = ?").bind(name).fetch_one(&mut *tx).await?)
        }
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (login, display_name, role, agency_id, password_hash, must_change_password, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(u.login.as_str())
    .bind(&u.display_name)
    .bind(u.role.code())
    .bind(agency)
    .bind(&u.password_hash)
    .bind(u.password_state == crate::PasswordState::MustChange)
    .bind(Utc::now().timestamp())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| conflict(e, "user", u.login.as_str()))?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(id)
}

async fn scopes(pool: &SqlitePool, user: i64) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    Ok(sqlx::query_as("SELECT territory_id, district_id FROM user_scopes WHERE user_id = ? ORDER BY territory_id, district_id")
        .bind(user)
        .fetch_all(pool)
        .await?)
}

pub(crate) async fn user(pool: &SqlitePool, login: &str) -> Result<Option<crate::User>, StoreError> {
    let row: Option<FullUserRow> =
        sqlx::query_as(AssertSqlSafe(format!("{} WHERE u.login = ?", crate::USER_SQL))).bind(login).fetch_optional(pool).await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let s = scopes(pool, r.0).await?;
            let (base, lock) = split_user(r);
            crate::user_from_row(base, lock, s).map(Some)
        }
    }
}

pub(crate) async fn users(pool: &SqlitePool) -> Result<Vec<crate::User>, StoreError> {
    let rows: Vec<FullUserRow> = sqlx::query_as(AssertSqlSafe(format!("{} ORDER BY u.login", crate::USER_SQL))).fetch_all(pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let s = scopes(pool, r.0).await?;
        let (base, lock) = split_user(r);
        out.push(crate::user_from_row(base, lock, s)?);
    }
    Ok(out)
}

pub(crate) async fn set_account_state(pool: &SqlitePool, login: &str, disabled: bool, audit: &NewAuditEntry) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = user_id(&mut tx, login).await?;
    sqlx::query("UPDATE users SET disabled = ? WHERE id = ?").bind(disabled).bind(id).execute(&mut *tx).await?;
    if disabled {
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(Utc::now().timestamp())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_password(
    pool: &SqlitePool,
    login: &str,
    hash: &str,
    must_change: bool,
    keep: i64,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = user_id(&mut tx, login).await?;
    sqlx::query("UPDATE users SET password_hash = ?, must_change_password = ?, failed_logins = 0, locked_until = NULL WHERE id = ?")
        .bind(hash)
        .bind(must_change)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?")
        .bind(Utc::now().timestamp())
        .bind(id)
        .bind(keep)
        .execute(&mut *tx)
        .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn grant_scope(
    pool: &SqlitePool,
    login: &str,
    territory: i64,
    district: Option<i64>,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = user_id(&mut tx, login).await?;
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM user_scopes WHERE user_id = ? AND territory_id = ? AND (district_id = ? OR (district_id IS NULL AND ? IS NULL))",
    )
    .bind(id)
    .bind(territory)
    .bind(district)
    .bind(district)
    .fetch_one(&mut *tx)
    .await?;
    if exists == 0 {
        sqlx::query("INSERT INTO user_scopes (user_id, territory_id, district_id) VALUES (?, ?, ?)")
            .bind(id)
            .bind(territory)
            .bind(district)
            .execute(&mut *tx)
            .await?;
        append_audit(&mut tx, audit).await?;
    }
    tx.commit().await?;
    Ok(())
}

type FullUserRow = (i64, String, String, String, Option<String>, String, bool, bool, i64, Option<i64>);

fn split_user((a, b, c, d, e, f, g, h, failed, locked): FullUserRow) -> (crate::UserRow, (i64, Option<DateTime<Utc>>)) {
    ((a, b, c, d, e, f, g, h), (failed, locked.and_then(|s| DateTime::from_timestamp(s, 0))))
}

pub(crate) async fn has_users(pool: &SqlitePool) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(pool).await?;
    Ok(n > 0)
}

pub(crate) async fn create_session(
    pool: &SqlitePool,
    user: i64,
    token_hash: &str,
    csrf: &str,
    expires_at: DateTime<Utc>,
    origin: &str,
    audit: &NewAuditEntry,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?").bind(user).execute(&mut *tx).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, origin) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(token_hash)
    .bind(user)
    .bind(csrf)
    .bind(Utc::now().timestamp())
    .bind(expires_at.timestamp())
    .bind(origin)
    .fetch_one(&mut *tx)
    .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn revoke_session(pool: &SqlitePool, session: i64, audit: &NewAuditEntry) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(Utc::now().timestamp())
        .bind(session)
        .execute(&mut *tx)
        .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn login_failed(
    pool: &SqlitePool,
    user: i64,
    failed: i64,
    until: Option<DateTime<Utc>>,
    audit: Option<&NewAuditEntry>,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?")
        .bind(if until.is_some() { 0 } else { failed })
        .bind(until.map(|u| u.timestamp()))
        .bind(user)
        .execute(&mut *tx)
        .await?;
    if let Some(a) = audit {
        append_audit(&mut tx, a).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn incident_page(pool: &SqlitePool, query: &str, f: &IncidentFilter) -> Result<Vec<crate::IncidentListItem>, StoreError> {
    type Row = (i64, Option<String>, String, Option<String>, i64, i64, String, f64, f64, Option<String>, Option<String>);
    let rows: Vec<Row> = filtered(pool, query, f).await?;
    let at = |s: i64| DateTime::from_timestamp(s, 0).ok_or_else(|| StoreError::Corrupt { what: "occurrence time", reason: s.to_string() });
    rows.into_iter()
        .map(|(id, external_id, category, subcategory, start, end, precision, lat, lon, district, premises)| {
            Ok(crate::IncidentListItem {
                id,
                external_id,
                category,
                subcategory,
                start: at(start)?,
                end: at(end)?,
                precision,
                lat,
                lon,
                district,
                premises,
            })
        })
        .collect()
}

pub(crate) async fn data_version(pool: &SqlitePool, territory: TerritoryId) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM import_batches WHERE territory_id = ?")
        .bind(territory.0)
        .fetch_one(pool)
        .await?)
}

pub(crate) async fn live_sessions(pool: &SqlitePool, now: DateTime<Utc>) -> Result<Vec<crate::SessionInfo>, StoreError> {
    let rows: Vec<(i64, String, i64, i64, String)> =
        sqlx::query_as(AssertSqlSafe(format!("{} AND s.expires_at > ? ORDER BY s.id", crate::LIVE_SESSIONS_SQL)))
            .bind(now.timestamp())
            .fetch_all(pool)
            .await?;
    let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|(id, login, created, expires, origin)| crate::SessionInfo {
            id,
            login,
            created_at: at(created),
            expires_at: at(expires),
            origin,
        })
        .collect())
}

pub(crate) async fn revoke_sessions(pool: &SqlitePool, id: i64, login: &str, audit: &NewAuditEntry) -> Result<u64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let n = sqlx::query(
        "UPDATE sessions SET revoked_at = ?1 WHERE revoked_at IS NULL AND expires_at > ?1 AND (id = ?2 OR user_id = (SELECT id FROM users WHERE login = ?3))",
    )
    .bind(Utc::now().timestamp())
    .bind(id)
    .bind(login)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(n)
}

pub(crate) async fn agencies(pool: &SqlitePool) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(crate::AGENCIES_SQL).fetch_all(pool).await?)
}

pub(crate) async fn add_agency(pool: &SqlitePool, name: &str, audit: &NewAuditEntry) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("INSERT INTO agencies (name) VALUES (?)").bind(name).execute(&mut *tx).await.map_err(|e| conflict(e, "agency", name))?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn set_scopes(
    pool: &SqlitePool,
    login: &str,
    scopes: &[(i64, Option<i64>)],
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id = user_id(&mut tx, login).await?;
    sqlx::query("DELETE FROM user_scopes WHERE user_id = ?").bind(id).execute(&mut *tx).await?;
    for (territory, district) in scopes {
        sqlx::query("INSERT INTO user_scopes (user_id, territory_id, district_id) VALUES (?, ?, ?)")
            .bind(id)
            .bind(territory)
            .bind(district)
            .execute(&mut *tx)
            .await?;
    }
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn audit_search(
    pool: &SqlitePool,
    before: i64,
    limit: i64,
    action: &str,
    actor: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<crate::AuditRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM audit_log WHERE id < ? AND instr(lower(action), lower(?)) > 0 AND instr(lower(actor), lower(?)) > 0 ORDER BY id DESC LIMIT ?",
        crate::AUDIT_COLUMNS
    )))
    .bind(before)
    .bind(action)
    .bind(actor)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(crate::audit_from_row).collect()
}

pub(crate) async fn territory_stamp(pool: &SqlitePool, name: &str) -> Result<Option<(i64, i64, i64, i64, i64)>, StoreError> {
    Ok(sqlx::query_as(AssertSqlSafe(crate::TERRITORY_STAMP_SQL.replace("{NAME}", "?"))).bind(name).fetch_optional(pool).await?)
}

/// The live session with this token hash and its user, in one query (plus the user's scopes).
pub(crate) async fn session_user(
    pool: &SqlitePool,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(i64, String, DateTime<Utc>, crate::User)>, StoreError> {
    let sql = crate::SESSION_USER_SQL.replace("{TOKEN}", "?").replace("{NOW}", "?");
    let Some(r) = sqlx::query(AssertSqlSafe(sql)).bind(token_hash).bind(now.timestamp()).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let expires: i64 = r.get(2);
    let Some(expires) = DateTime::from_timestamp(expires, 0) else { return Ok(None) };
    let row: FullUserRow = (r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8), r.get(9), r.get(10), r.get(11), r.get(12));
    let s = scopes(pool, row.0).await?;
    let (base, lock) = split_user(row);
    Ok(Some((r.get(0), r.get(1), expires, crate::user_from_row(base, lock, s)?)))
}

pub(crate) async fn import_cameras(
    pool: &SqlitePool,
    territory: i64,
    cameras: &[qalqan_domain::camera::NewCamera],
    audit: &NewAuditEntry,
) -> Result<crate::CameraImport, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut result = crate::CameraImport { added: 0, updated: 0 };
    for c in cameras {
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM cameras WHERE territory_id = ? AND external_id = ?")
            .bind(territory)
            .bind(&c.external_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            result.updated += 1;
        } else {
            result.added += 1;
        }
        sqlx::query(
            "INSERT INTO cameras (territory_id, external_id, lat, lon, bearing_deg, fov_deg, range_m, owner, link, archive_days, status, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (territory_id, external_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, bearing_deg = excluded.bearing_deg, \
             fov_deg = excluded.fov_deg, range_m = excluded.range_m, owner = excluded.owner, link = excluded.link, \
             archive_days = excluded.archive_days, status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(territory)
        .bind(&c.external_id)
        .bind(c.location.lat())
        .bind(c.location.lon())
        .bind(c.bearing_deg)
        .bind(c.fov_deg)
        .bind(c.range_m)
        .bind(c.owner.code())
        .bind(c.link.code())
        .bind(i64::from(c.archive_days) as i32)
        .bind(c.status.code())
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
    }
    let mut audit = audit.clone();
    audit.detail = serde_json::json!({"cameras": cameras.len(), "added": result.added, "updated": result.updated}).to_string();
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(result)
}

pub(crate) async fn cameras(pool: &SqlitePool, territory: i64) -> Result<Vec<crate::CameraRow>, StoreError> {
    let sql = format!("{} WHERE territory_id = ? ORDER BY external_id", crate::CAMERAS_SQL);
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(territory).fetch_all(pool).await?)
}

pub(crate) async fn set_street_source(
    pool: &SqlitePool,
    territory: i64,
    source: &crate::StreetSource,
    audit: &NewAuditEntry,
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("DELETE FROM street_sources WHERE territory_id = ?").bind(territory).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO street_sources (territory_id, file_name, sha256, bytes, summary, imported_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(territory)
        .bind(&source.file_name)
        .bind(&source.sha256)
        .bind(&source.bytes)
        .bind(&source.summary)
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
    append_audit(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn street_source(pool: &SqlitePool, territory: i64) -> Result<Option<crate::StreetSource>, StoreError> {
    let row: Option<(String, String, Vec<u8>, String)> =
        sqlx::query_as("SELECT file_name, sha256, bytes, summary FROM street_sources WHERE territory_id = ?")
            .bind(territory)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(file_name, sha256, bytes, summary)| crate::StreetSource { file_name, sha256, bytes, summary }))
}

pub(crate) async fn import_posts(
    pool: &SqlitePool,
    territory: i64,
    posts: &[qalqan_domain::post::NewPost],
    audit: &NewAuditEntry,
) -> Result<crate::RegisterImport, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut result = crate::RegisterImport { added: 0, updated: 0 };
    for p in posts {
        let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM police_posts WHERE territory_id = ? AND external_id = ?")
            .bind(territory)
            .bind(&p.external_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            result.updated += 1;
        } else {
            result.added += 1;
        }
        sqlx::query(
            "INSERT INTO police_posts (territory_id, external_id, name, kind, lat, lon, schedule, vehicle, officers, status, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (territory_id, external_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, lat = excluded.lat, \
             lon = excluded.lon, schedule = excluded.schedule, vehicle = excluded.vehicle, officers = excluded.officers, \
             status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(territory)
        .bind(&p.external_id)
        .bind(&p.name)
        .bind(p.kind.code())
        .bind(p.location.lat())
        .bind(p.location.lon())
        .bind(p.schedule.to_string())
        .bind(p.vehicle.as_deref())
        .bind(p.officers as i32)
        .bind(p.status.code())
        .bind(Utc::now().timestamp())
        .execute(&mut *tx)
        .await?;
    }
    let mut audit = audit.clone();
    audit.detail = serde_json::json!({"posts": posts.len(), "added": result.added, "updated": result.updated}).to_string();
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(result)
}

pub(crate) async fn posts(pool: &SqlitePool, territory: i64) -> Result<Vec<crate::PostRow>, StoreError> {
    let sql = format!("{} WHERE territory_id = ? ORDER BY external_id", crate::POSTS_SQL);
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(territory).fetch_all(pool).await?)
}

pub(crate) async fn replace_beats(
    pool: &SqlitePool,
    territory: i64,
    beats: &[(String, Option<String>, String)],
    audit: &NewAuditEntry,
) -> Result<u64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let old = sqlx::query("DELETE FROM beats WHERE territory_id = ?").bind(territory).execute(&mut *tx).await?.rows_affected();
    for (name, inspector, boundary) in beats {
        sqlx::query("INSERT INTO beats (territory_id, name, inspector, boundary, updated_at) VALUES (?, ?, ?, ?, ?)")
            .bind(territory)
            .bind(name)
            .bind(inspector.as_deref())
            .bind(boundary)
            .bind(Utc::now().timestamp())
            .execute(&mut *tx)
            .await?;
    }
    let mut audit = audit.clone();
    audit.detail = serde_json::json!({"beats": beats.len(), "replaced": old}).to_string();
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(old)
}

pub(crate) async fn beats(pool: &SqlitePool, territory: i64) -> Result<Vec<crate::BeatRow>, StoreError> {
    Ok(sqlx::query_as("SELECT id, name, inspector, boundary FROM beats WHERE territory_id = ? ORDER BY name")
        .bind(territory)
        .fetch_all(pool)
        .await?)
}

pub(crate) async fn save_scenario(
    pool: &SqlitePool,
    territory: i64,
    (kind, name, params, result, by): &(String, String, String, String, String),
    audit: &NewAuditEntry,
) -> Result<i64, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO plan_scenarios (territory_id, kind, name, params, result, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(territory)
    .bind(kind)
    .bind(name)
    .bind(params)
    .bind(result)
    .bind(by)
    .bind(Utc::now().timestamp())
    .fetch_one(&mut *tx)
    .await?;
    let mut audit = audit.clone();
    audit.object = format!("scenario:{id}");
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(id)
}

pub(crate) async fn scenarios(pool: &SqlitePool, territory: i64) -> Result<Vec<crate::ScenarioRow>, StoreError> {
    let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, kind, name, params, result, created_by, created_at FROM plan_scenarios WHERE territory_id = ? ORDER BY id DESC",
    )
    .bind(territory)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(a, b, c, d, e, f, at)| (a, b, c, d, e, f, DateTime::from_timestamp(at, 0).unwrap_or_default())).collect())
}

// ---- Coordination (the SQL is shared: crate::coordination) ----

type DbRow = sqlx::sqlite::SqliteRow;
type Pool = SqlitePool;

async fn write_tx(pool: &Pool) -> Result<Tx, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

fn sql(s: &str) -> String {
    s.to_owned()
}

crate::coordination::coordination_fns!();
crate::threat::threat_fns!();
crate::evaluation::intervention_fns!();

/// Deletes (or with `dry_run` counts) what `category`'s rule puts past `cutoff`, in one
/// transaction with its audit entry (written only when something went).
pub(crate) async fn purge(
    pool: &SqlitePool,
    category: qalqan_domain::retention::RetentionCategory,
    cutoff: DateTime<Utc>,
    dry_run: bool,
    audit: &NewAuditEntry,
) -> Result<u64, StoreError> {
    use qalqan_domain::retention::RetentionCategory as C;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let (count, delete) = match category {
        C::Incidents => ("SELECT count(*) FROM incidents WHERE occurred_start < ?1", "DELETE FROM incidents WHERE occurred_start < ?1"),
        C::Sessions => (
            "SELECT count(*) FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
            "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
        ),
        C::Notifications => (
            "SELECT count(*) FROM notifications WHERE created_at < ?1 AND assignment_id IN (SELECT id FROM assignments WHERE status IN ('accepted', 'cancelled'))",
            "DELETE FROM notifications WHERE created_at < ?1 AND assignment_id IN (SELECT id FROM assignments WHERE status IN ('accepted', 'cancelled'))",
        ),
    };
    let seconds = cutoff.timestamp();
    let n: i64 = match category {
        C::Notifications => sqlx::query_scalar(count).bind(seconds).fetch_one(&mut *tx).await?,
        _ => sqlx::query_scalar(count).bind(cutoff.timestamp()).fetch_one(&mut *tx).await?,
    };
    if dry_run || n == 0 {
        return Ok(n as u64);
    }
    if category == C::Incidents {
        // Cached analyses of the territories that lose records are recomputed.
        sqlx::query("UPDATE territories SET revision = revision + 1 WHERE id IN (SELECT DISTINCT territory_id FROM incidents WHERE occurred_start < ?1)")
            .bind(cutoff.timestamp())
            .execute(&mut *tx)
            .await?;
    }
    match category {
        C::Notifications => sqlx::query(delete).bind(seconds).execute(&mut *tx).await?,
        _ => sqlx::query(delete).bind(cutoff.timestamp()).execute(&mut *tx).await?,
    };
    let mut audit = audit.clone();
    audit.detail = serde_json::json!({"category": category.code(), "cutoff": cutoff.to_rfc3339(), "rows": n}).to_string();
    append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(n as u64)
}
