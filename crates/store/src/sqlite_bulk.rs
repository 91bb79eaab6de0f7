//! The SQLite bulk-insert path: one prepared statement stepped per row
//! through SQLite's C API.
//!
//! Why: through sqlx's statement API the Toronto import (241k rows) took
//! 2.3 s, of which SQLite itself needs about 1 s; the rest was argument
//! boxing and copying. Here each row is bound straight from the borrowed
//! [`IncidentRow`] and stepped, with no allocation per row. (Multi-row
//! VALUES statements through this path measured no faster.)
//!
//! Safety: the connection handle comes from sqlx's `lock_handle()`, which
//! keeps sqlx's worker thread away from it while we hold it; the statement
//! is finalized on every path by [`Statement`]'s `Drop`. Text and blobs are
//! bound with `SQLITE_STATIC` (no copy): every parameter is re-bound from the
//! current row before each `sqlite3_step`, and SQLite reads bound values only
//! during a step, so each pointer it reads is alive; the statement is
//! finalized before `rows` goes out of scope.

use std::ffi::{CStr, c_int};
use std::ptr::{NonNull, null_mut};

use libsqlite3_sys as ffi;
use qalqan_domain::{BatchId, TerritoryId};

use crate::{IncidentRow, StoreError};

/// ?1 (territory) and ?2 (batch) are the same for every row of a chunk.
const INSERT: &CStr = c"INSERT INTO incidents (territory_id, batch_id, row_key, source_line, external_id, category, subcategory, occurred_start, occurred_end, time_precision, local_month, lat, lon, district_id, premises) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (territory_id, row_key) DO NOTHING";

struct Statement {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: `stmt` was returned by sqlite3_prepare_v3 on `db` and is finalized once.
        unsafe {
            ffi::sqlite3_finalize(self.stmt);
        }
    }
}

impl Statement {
    fn error(&self, code: c_int) -> StoreError {
        // SAFETY: `db` is a live connection; errmsg returns a NUL-terminated string owned by SQLite.
        let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) }.to_string_lossy().into_owned();
        StoreError::Sqlite { code, message }
    }

    fn check(&self, code: c_int) -> Result<(), StoreError> {
        if code == ffi::SQLITE_OK { Ok(()) } else { Err(self.error(code)) }
    }

    fn int(&self, i: c_int, v: i64) -> Result<(), StoreError> {
        // SAFETY: `stmt` is the prepared INSERT with 15 parameters; `i` is in 1..=15.
        self.check(unsafe { ffi::sqlite3_bind_int64(self.stmt, i, v) })
    }

    fn real(&self, i: c_int, v: f64) -> Result<(), StoreError> {
        // SAFETY: as in `int`.
        self.check(unsafe { ffi::sqlite3_bind_double(self.stmt, i, v) })
    }

    fn text(&self, i: c_int, v: Option<&str>) -> Result<(), StoreError> {
        // SAFETY: as in `int`; the bytes outlive the next step (see the module docs).
        let code = unsafe {
            match v {
                None => ffi::sqlite3_bind_null(self.stmt, i),
                Some(s) => {
                    ffi::sqlite3_bind_text64(self.stmt, i, s.as_ptr().cast(), s.len() as u64, ffi::SQLITE_STATIC(), ffi::SQLITE_UTF8 as u8)
                }
            }
        };
        self.check(code)
    }

    fn blob(&self, i: c_int, v: &[u8]) -> Result<(), StoreError> {
        // SAFETY: as in `text`.
        self.check(unsafe { ffi::sqlite3_bind_blob64(self.stmt, i, v.as_ptr().cast(), v.len() as u64, ffi::SQLITE_STATIC()) })
    }
}

impl Statement {
    fn prepare(db: *mut ffi::sqlite3, sql: &CStr) -> Result<Self, StoreError> {
        let mut raw = null_mut();
        // SAFETY: `db` is the live connection sqlx handed us under its lock; `sql` is NUL-terminated.
        let code = unsafe { ffi::sqlite3_prepare_v3(db, sql.as_ptr(), -1, ffi::SQLITE_PREPARE_PERSISTENT, &mut raw, null_mut()) };
        let stmt = Statement { db, stmt: raw };
        if code == ffi::SQLITE_OK { Ok(stmt) } else { Err(stmt.error(code)) }
    }

    /// Binds parameters 3 to 15 from one row.
    fn bind_row(&self, row: &IncidentRow<'_>) -> Result<(), StoreError> {
        let base = 3;
        let i = row.incident;
        self.blob(base, &i.row_key.0)?;
        self.int(base + 1, i.source_line as i64)?;
        self.text(base + 2, i.external_id.as_deref())?;
        self.text(base + 3, Some(i.category.code()))?;
        self.text(base + 4, i.subcategory.as_deref())?;
        self.int(base + 5, i.occurred.start().timestamp())?;
        self.int(base + 6, i.occurred.end().timestamp())?;
        self.text(base + 7, Some(i.occurred.precision().code()))?;
        self.int(base + 8, i64::from(row.local_month))?;
        self.real(base + 9, i.location.lat())?;
        self.real(base + 10, i.location.lon())?;
        match row.district {
            Some(d) => self.int(base + 11, d.0)?,
            None => self.text(base + 11, None)?,
        }
        self.text(base + 12, i.premises.as_deref())
    }

    /// Runs the fully bound statement; returns the rows it inserted.
    fn run(&self) -> Result<u64, StoreError> {
        // SAFETY: every parameter is bound; step to completion, then reset for reuse.
        let code = unsafe { ffi::sqlite3_step(self.stmt) };
        if code != ffi::SQLITE_DONE {
            return Err(self.error(code));
        }
        // SAFETY: `db` is live; changes counts rows inserted by the statement that just completed.
        let changed = u64::try_from(unsafe { ffi::sqlite3_changes64(self.db) }).unwrap_or(0);
        // SAFETY: resetting a statement that completed with SQLITE_DONE.
        self.check(unsafe { ffi::sqlite3_reset(self.stmt) })?;
        Ok(changed)
    }
}

/// Inserts `rows`, skipping those whose `(territory_id, row_key)` exists; returns how many were inserted.
pub(crate) fn insert_incidents(
    db: NonNull<ffi::sqlite3>,
    territory: TerritoryId,
    batch: BatchId,
    rows: &[IncidentRow<'_>],
) -> Result<u64, StoreError> {
    let stmt = Statement::prepare(db.as_ptr(), INSERT)?;
    // Bindings survive sqlite3_reset: the chunk's constants are bound once.
    stmt.int(1, territory.0)?;
    stmt.int(2, batch.0)?;
    let mut inserted = 0u64;
    for row in rows {
        stmt.bind_row(row)?;
        inserted += stmt.run()?;
    }
    Ok(inserted)
}

/// Reads the incidents of a filter for analysis (`crate::RECORDS_SQL`) straight
/// through the C API: sqlx's per-row decoding cost ~5 µs a row, five times
/// what SQLite needs (`qalqan analyze places` over the 241k Toronto rows: 1.2–1.3 s
/// end to end through sqlx, 0.36–0.44 s with this path; release build, this machine).
pub(crate) fn read_records(
    db: NonNull<ffi::sqlite3>,
    sql: &CStr,
    f: &crate::IncidentFilter,
) -> Result<Vec<crate::IncidentRecord>, StoreError> {
    let stmt = Statement::prepare(db.as_ptr(), sql)?;
    stmt.int(1, f.territory.0)?;
    match f.from {
        Some(t) => stmt.int(2, t.timestamp())?,
        None => stmt.text(2, None)?,
    }
    match f.to {
        Some(t) => stmt.int(3, t.timestamp())?,
        None => stmt.text(3, None)?,
    }
    stmt.text(4, f.category.map(|c| c.code()))?;
    let corrupt = |what: &'static str, reason: String| StoreError::Corrupt { what, reason };
    let mut out = Vec::new();
    loop {
        // SAFETY: the statement is prepared and bound; step until SQLITE_DONE.
        let code = unsafe { ffi::sqlite3_step(stmt.stmt) };
        if code == ffi::SQLITE_DONE {
            break;
        }
        if code != ffi::SQLITE_ROW {
            return Err(stmt.error(code));
        }
        // SAFETY: SQLITE_ROW: columns 0..7 of the current row may be read until the next step.
        let (lat, lon, start, end, district) = unsafe {
            (
                ffi::sqlite3_column_double(stmt.stmt, 0),
                ffi::sqlite3_column_double(stmt.stmt, 1),
                ffi::sqlite3_column_int64(stmt.stmt, 2),
                ffi::sqlite3_column_int64(stmt.stmt, 3),
                (ffi::sqlite3_column_type(stmt.stmt, 6) != ffi::SQLITE_NULL).then(|| ffi::sqlite3_column_int64(stmt.stmt, 6)),
            )
        };
        let text = |i: c_int| -> String {
            // SAFETY: as above; the text pointer is valid for `bytes` bytes until the next step.
            unsafe {
                let p = ffi::sqlite3_column_text(stmt.stmt, i);
                let n = ffi::sqlite3_column_bytes(stmt.stmt, i);
                if p.is_null() { String::new() } else { String::from_utf8_lossy(std::slice::from_raw_parts(p, n as usize)).into_owned() }
            }
        };
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).ok_or_else(|| corrupt("occurrence time", s.to_string()));
        out.push(crate::IncidentRecord {
            location: qalqan_domain::Wgs84Point::new(lat, lon).map_err(|e| corrupt("incident location", e.to_string()))?,
            start: at(start)?,
            end: at(end)?,
            precision: text(4).parse().map_err(|e: qalqan_domain::DomainError| corrupt("time precision", e.to_string()))?,
            category: text(5).parse().map_err(|e: qalqan_domain::DomainError| corrupt("offence category", e.to_string()))?,
            district: district.map(qalqan_domain::DistrictId),
        });
    }
    Ok(out)
}
