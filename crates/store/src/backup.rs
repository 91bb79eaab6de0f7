//! Online, consistent backups of every table, and their restore into an empty store.
//!
//! A backup is a stream of JSON lines: a header (format, backend, schema version, tables in
//! foreign-key order with their row counts), then for each table a line naming it and its
//! columns followed by one line per row. All tables are read inside one read-only transaction
//! (SQLite: one WAL snapshot; PostgreSQL: `REPEATABLE READ`), so the backup is the state of one
//! instant while the server goes on writing.
//!
//! Rows are written as each backend sees them: SQLite values by storage class (integers, reals,
//! text, blobs as `{"x": hex}`), PostgreSQL rows as `row_to_json` objects, read back with
//! `json_populate_recordset` — exact for every column type we use (timestamps to the
//! microsecond, floats to the last bit, bytea). A backup is therefore restored into the same
//! backend it came from, at the same schema version.
//!
//! Restore runs in one transaction into a store holding no data: either every row is back, with
//! the sequences past the highest id, or nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use serde_json::{Value, json};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::{Backend, Store, StoreError};

/// The format written in the header; restore refuses others.
pub const FORMAT: &str = "qalqan-backup-1";

/// Rows per INSERT when restoring.
const BATCH: usize = 500;

/// What a backup or a restore covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub backend: Backend,
    /// The schema version (last migration applied).
    pub schema: i64,
    /// Tables in foreign-key order, with their rows.
    pub tables: Vec<(String, u64)>,
}

impl BackupSummary {
    /// Rows in all tables.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: "backup", reason: reason.into() }
}

fn io(e: std::io::Error) -> StoreError {
    corrupt(format!("writing or reading the backup failed: {e}"))
}

/// Orders tables so that each comes after the tables it references (ties by name).
fn dependency_order(tables: &[String], references: &[(String, String)]) -> Result<Vec<String>, StoreError> {
    let mut pending: BTreeSet<&str> = tables.iter().map(String::as_str).collect();
    let mut order = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .copied()
            .filter(|t| references.iter().all(|(from, to)| from != t || to == t || !pending.contains(to.as_str())))
            .collect();
        if ready.is_empty() {
            return Err(corrupt(format!("foreign keys form a cycle among {pending:?}")));
        }
        for t in ready {
            pending.remove(t);
            order.push(t.to_owned());
        }
    }
    Ok(order)
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, StoreError> {
    if s.len() % 2 != 0 {
        return Err(corrupt("a blob's hex has an odd length"));
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| corrupt("a blob's hex is not hex"))).collect()
}

impl Store {
    /// The schema version: the last migration applied.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let sql = "SELECT COALESCE(max(version), 0) FROM qalqan_migrations";
        Ok(match self {
            Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
            Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        })
    }

    /// The data tables (not the migrations' record) in foreign-key order.
    async fn data_tables(&self) -> Result<Vec<String>, StoreError> {
        let (tables, refs): (Vec<String>, Vec<(String, String)>) = match self {
            Store::Sqlite(pool) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'qalqan_migrations' ORDER BY name",
                )
                .fetch_all(pool)
                .await?;
                let refs = sqlx::query_as(
                    "SELECT m.name, f.\"table\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
                )
                .fetch_all(pool)
                .await?;
                (tables, refs)
            }
            Store::Postgres(pool) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'qalqan_migrations' ORDER BY 1",
                )
                .fetch_all(pool)
                .await?;
                let refs = sqlx::query_as(
                    "SELECT a.relname::text, b.relname::text FROM pg_constraint c JOIN pg_class a ON a.oid = c.conrelid \
                     JOIN pg_class b ON b.oid = c.confrelid JOIN pg_namespace n ON n.oid = c.connamespace \
                     WHERE c.contype = 'f' AND n.nspname = current_schema()",
                )
                .fetch_all(pool)
                .await?;
                (tables, refs)
            }
        };
        dependency_order(&tables, &refs)
    }

    /// Writes a consistent backup of every table to `out` (JSON lines; compress it outside),
    /// while other connections go on writing. `progress` hears each table and its rows.
    pub async fn backup(
        &self,
        out: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> Result<BackupSummary, StoreError> {
        let schema = self.schema_version().await?;
        let tables = self.data_tables().await?;
        let mut counts = Vec::new();
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                // The first read fixes the snapshot for the whole transaction (WAL).
                for t in &tables {
                    let n: i64 =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(t)))).fetch_one(&mut *tx).await?;
                    counts.push((t.clone(), n as u64));
                }
                write_header(out, Backend::Sqlite, schema, &counts)?;
                for t in &tables {
                    let cols: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid").bind(t).fetch_all(&mut *tx).await?;
                    write_table_line(out, t, &cols)?;
                    let order = (1..=cols.len()).map(|k| k.to_string()).collect::<Vec<_>>().join(", ");
                    let sql = format!("SELECT * FROM {} ORDER BY {order}", quote(t));
                    let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                    let mut n = 0u64;
                    while let Some(row) = rows.try_next().await? {
                        let mut values = Vec::with_capacity(row.len());
                        for i in 0..row.len() {
                            values.push(sqlite_value(&row, i)?);
                        }
                        serde_json::to_writer(&mut *out, &values).map_err(|e| corrupt(e.to_string()))?;
                        out.write_all(b"\n").map_err(io)?;
                        n += 1;
                    }
                    progress(t, n);
                }
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
                for t in &tables {
                    let n: i64 =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {}", quote(t)))).fetch_one(&mut *tx).await?;
                    counts.push((t.clone(), n as u64));
                }
                write_header(out, Backend::Postgres, schema, &counts)?;
                for t in &tables {
                    let cols: Vec<String> = sqlx::query_scalar(
                        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                    )
                    .bind(t)
                    .fetch_all(&mut *tx)
                    .await?;
                    write_table_line(out, t, &cols)?;
                    let order = (1..=cols.len()).map(|k| format!("r.{}", quote(&cols[k - 1]))).collect::<Vec<_>>().join(", ");
                    let sql = format!("SELECT row_to_json(r)::text FROM {} r ORDER BY {order}", quote(t));
                    let mut rows = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                    let mut n = 0u64;
                    while let Some(line) = rows.try_next().await? {
                        out.write_all(line.as_bytes()).map_err(io)?;
                        out.write_all(b"\n").map_err(io)?;
                        n += 1;
                    }
                    progress(t, n);
                }
                tx.commit().await?;
            }
        }
        out.flush().map_err(io)?;
        Ok(BackupSummary { backend: self.backend(), schema, tables: counts })
    }

    /// Restores a backup written by [`Store::backup`] into this store, which must be migrated
    /// to the same schema version and hold no data. One transaction: all or nothing.
    pub async fn restore(
        &self,
        input: &mut (dyn BufRead + Send),
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> Result<BackupSummary, StoreError> {
        let mut lines = input.lines();
        let mut next = move || -> Result<Option<String>, StoreError> { lines.next().transpose().map_err(io) };
        let header: Value = serde_json::from_str(&next()?.ok_or_else(|| corrupt("the file is empty"))?)
            .map_err(|e| corrupt(format!("line 1 is not a backup header: {e}")))?;
        if header["format"] != FORMAT {
            return Err(corrupt(format!("line 1: format {} is not {FORMAT}", header["format"])));
        }
        let backend = match header["backend"].as_str() {
            Some("sqlite") => Backend::Sqlite,
            Some("postgres") => Backend::Postgres,
            other => return Err(corrupt(format!("line 1: unknown backend {other:?}"))),
        };
        if backend != self.backend() {
            return Err(corrupt(format!("this backup was written from {backend:?}: restore it into a {backend:?} store")));
        }
        let schema = header["schema"].as_i64().ok_or_else(|| corrupt("line 1: no schema version"))?;
        let ours = self.schema_version().await?;
        if schema != ours {
            return Err(corrupt(format!(
                "the backup is at schema version {schema}, this store at {ours}: restore with the Qalqan release that wrote it, then upgrade"
            )));
        }
        let expected: BTreeMap<String, u64> = header["tables"]
            .as_array()
            .ok_or_else(|| corrupt("line 1: no table list"))?
            .iter()
            .map(|t| {
                Ok((
                    t["name"].as_str().ok_or_else(|| corrupt("line 1: a table without a name"))?.to_owned(),
                    t["rows"].as_u64().unwrap_or(0),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        let ours: BTreeSet<String> = self.data_tables().await?.into_iter().collect();
        if let Some(t) = expected.keys().find(|t| !ours.contains(*t)) {
            return Err(corrupt(format!("the backup has a table '{t}' this store does not")));
        }
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                refuse_if_not_empty_sqlite(&mut tx, &ours).await?;
                let mut done = Vec::new();
                let mut line_no = 1u64;
                let mut current: Option<(String, usize, Vec<Vec<Value>>, u64)> = None;
                loop {
                    let line = next()?;
                    line_no += 1;
                    let flush_to = line.as_deref().map(|l| l.starts_with('{')).unwrap_or(true);
                    if flush_to {
                        if let Some((t, ncols, rows, n)) = current.take() {
                            sqlite_insert(&mut tx, &t, ncols, &rows).await?;
                            check_count(&expected, &t, n)?;
                            progress(&t, n);
                            done.push((t, n));
                        }
                    }
                    let Some(line) = line else { break };
                    let v: Value = serde_json::from_str(&line).map_err(|e| corrupt(format!("line {line_no}: {e}")))?;
                    match (&mut current, v) {
                        (None, Value::Object(o)) => {
                            let t =
                                o.get("table").and_then(Value::as_str).ok_or_else(|| corrupt(format!("line {line_no}: no table name")))?;
                            let cols =
                                o.get("columns").and_then(Value::as_array).ok_or_else(|| corrupt(format!("line {line_no}: no columns")))?;
                            current = Some((t.to_owned(), cols.len(), Vec::new(), 0));
                            let names: Vec<&str> = cols.iter().filter_map(Value::as_str).collect();
                            let have: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                                .bind(t)
                                .fetch_all(&mut *tx)
                                .await?;
                            if names != have.iter().map(String::as_str).collect::<Vec<_>>() {
                                return Err(corrupt(format!(
                                    "line {line_no}: table '{t}' has columns {have:?} here, {names:?} in the backup"
                                )));
                            }
                        }
                        (Some((t, ncols, rows, n)), Value::Array(values)) => {
                            if values.len() != *ncols {
                                return Err(corrupt(format!("line {line_no}: {} values for {ncols} columns of '{t}'", values.len())));
                            }
                            rows.push(values);
                            *n += 1;
                            if rows.len() == BATCH {
                                sqlite_insert(&mut tx, t, *ncols, rows).await?;
                                rows.clear();
                            }
                        }
                        _ => return Err(corrupt(format!("line {line_no}: expected a table line or a row"))),
                    }
                }
                finish(&expected, &done)?;
                let broken: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_foreign_key_check").fetch_one(&mut *tx).await?;
                if broken > 0 {
                    return Err(corrupt(format!("{broken} rows point at rows the backup does not have")));
                }
                tx.commit().await?;
                Ok(BackupSummary { backend, schema, tables: done })
            }
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                refuse_if_not_empty_pg(&mut tx, &ours).await?;
                let mut done = Vec::new();
                let mut line_no = 1u64;
                let mut current: Option<(String, Vec<String>, u64)> = None;
                loop {
                    let line = next()?;
                    line_no += 1;
                    let is_table = line.as_deref().map(|l| l.starts_with("{\"table\":")).unwrap_or(true);
                    if is_table {
                        if let Some((t, rows, n)) = current.take() {
                            pg_insert(&mut tx, &t, &rows).await?;
                            check_count(&expected, &t, n)?;
                            progress(&t, n);
                            done.push((t, n));
                        }
                    }
                    let Some(line) = line else { break };
                    if is_table {
                        let v: Value = serde_json::from_str(&line).map_err(|e| corrupt(format!("line {line_no}: {e}")))?;
                        let t = v["table"].as_str().ok_or_else(|| corrupt(format!("line {line_no}: no table name")))?;
                        current = Some((t.to_owned(), Vec::new(), 0));
                    } else {
                        let Some((t, rows, n)) = &mut current else {
                            return Err(corrupt(format!("line {line_no}: a row before any table")));
                        };
                        if !line.starts_with('{') {
                            return Err(corrupt(format!("line {line_no}: not a row of '{t}'")));
                        }
                        rows.push(line);
                        *n += 1;
                        if rows.len() == BATCH {
                            pg_insert(&mut tx, t, rows).await?;
                            rows.clear();
                        }
                    }
                }
                finish(&expected, &done)?;
                // Sequences continue past the restored ids.
                let serials: Vec<(String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND (column_default LIKE 'nextval%' OR is_identity = 'YES')",
                )
                .fetch_all(&mut *tx)
                .await?;
                for (t, c) in serials {
                    let sql = format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max({}) FROM {}), 0) + 1, false)",
                        quote(&c),
                        quote(&t)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(quote(&t)).bind(&c).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(BackupSummary { backend, schema, tables: done })
            }
        }
    }
}

fn write_header(out: &mut (dyn Write + Send), backend: Backend, schema: i64, counts: &[(String, u64)]) -> Result<(), StoreError> {
    let tables: Vec<Value> = counts.iter().map(|(t, n)| json!({"name": t, "rows": n})).collect();
    let header = json!({
        "format": FORMAT,
        "backend": match backend { Backend::Sqlite => "sqlite", Backend::Postgres => "postgres" },
        "schema": schema,
        "written_at": chrono::Utc::now().to_rfc3339(),
        "tables": tables,
    });
    writeln!(out, "{header}").map_err(io)
}

/// `{"table":NAME,"columns":[…]}`, the table first: a row never starts like this.
fn write_table_line(out: &mut (dyn Write + Send), table: &str, cols: &[String]) -> Result<(), StoreError> {
    writeln!(out, "{{\"table\":{},\"columns\":{}}}", Value::from(table), json!(cols)).map_err(io)
}

fn check_count(expected: &BTreeMap<String, u64>, table: &str, n: u64) -> Result<(), StoreError> {
    match expected.get(table) {
        Some(&e) if e == n => Ok(()),
        Some(&e) => Err(corrupt(format!("table '{table}': {n} rows, the header says {e} (the file is truncated or edited)"))),
        None => Err(corrupt(format!("table '{table}' is not in the header"))),
    }
}

fn finish(expected: &BTreeMap<String, u64>, done: &[(String, u64)]) -> Result<(), StoreError> {
    let seen: BTreeSet<&str> = done.iter().map(|(t, _)| t.as_str()).collect();
    match expected.keys().find(|t| !seen.contains(t.as_str())) {
        Some(t) => Err(corrupt(format!("table '{t}' is missing: the file is truncated"))),
        None => Ok(()),
    }
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value, StoreError> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().name().to_owned();
    Ok(match ty.as_str() {
        "INTEGER" => json!(row.try_get::<i64, _>(i)?),
        "REAL" => {
            let x: f64 = row.try_get(i)?;
            if x.is_finite() { json!(x) } else { json!({"f": x.to_string()}) }
        }
        "TEXT" => json!(row.try_get::<String, _>(i)?),
        "BLOB" => json!({"x": hex(&row.try_get::<Vec<u8>, _>(i)?)}),
        other => return Err(corrupt(format!("column {} holds a value of type {other}", row.column(i).name()))),
    })
}

async fn refuse_if_not_empty_sqlite(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, tables: &BTreeSet<String>) -> Result<(), StoreError> {
    for t in tables {
        let any: Option<i64> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT 1 FROM {} LIMIT 1", quote(t)))).fetch_optional(&mut **tx).await?;
        if any.is_some() {
            return Err(corrupt(format!("the target store already holds data (table '{t}'): restore into an empty database")));
        }
    }
    Ok(())
}

async fn refuse_if_not_empty_pg(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, tables: &BTreeSet<String>) -> Result<(), StoreError> {
    for t in tables {
        let any: Option<i32> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT 1 FROM {} LIMIT 1", quote(t)))).fetch_optional(&mut **tx).await?;
        if any.is_some() {
            return Err(corrupt(format!("the target store already holds data (table '{t}'): restore into an empty database")));
        }
    }
    Ok(())
}

async fn sqlite_insert(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    table: &str,
    ncols: usize,
    rows: &[Vec<Value>],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    // SQLite binds at most 32,766 parameters per statement.
    let per = (32_000 / ncols.max(1)).max(1);
    for chunk in rows.chunks(per) {
        let one = format!("({})", vec!["?"; ncols].join(", "));
        let sql = format!("INSERT INTO {} VALUES {}", quote(table), vec![one; chunk.len()].join(", "));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for row in chunk {
            for v in row {
                q = match v {
                    Value::Null => q.bind(None::<i64>),
                    Value::Bool(b) => q.bind(i64::from(*b)),
                    Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
                    Value::Number(n) => q.bind(n.as_f64()),
                    Value::String(s) => q.bind(s.clone()),
                    Value::Object(o) if o.contains_key("x") => q.bind(unhex(o["x"].as_str().unwrap_or_default())?),
                    Value::Object(o) if o.contains_key("f") => q.bind(
                        o["f"].as_str().and_then(|s| s.parse::<f64>().ok()).ok_or_else(|| corrupt("a non-finite real is unreadable"))?,
                    ),
                    other => return Err(corrupt(format!("table '{table}': value {other} is not a SQLite value"))),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn pg_insert(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, table: &str, rows: &[String]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let array = format!("[{}]", rows.join(","));
    let sql =
        format!("INSERT INTO {t} OVERRIDING SYSTEM VALUE SELECT * FROM json_populate_recordset(NULL::{t}, $1::json)", t = quote(table));
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(array).execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_come_after_the_tables_they_reference() {
        let tables: Vec<String> = ["incidents", "territories", "districts", "assignments"].map(String::from).to_vec();
        let refs = [("incidents", "territories"), ("incidents", "districts"), ("districts", "territories"), ("assignments", "assignments")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()));
        let order = dependency_order(&tables, &refs).unwrap();
        let at = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert!(at("territories") < at("districts") && at("districts") < at("incidents"), "{order:?}");
        assert!(dependency_order(&tables, &[("a".into(), "b".into()), ("b".into(), "a".into())]).is_ok(), "unknown tables are ignored");
        let cyclic = [("incidents", "districts"), ("districts", "incidents")].map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert!(dependency_order(&tables, &cyclic).is_err());
    }

    #[test]
    fn blobs_survive_hex() {
        let bytes = vec![0u8, 1, 127, 128, 255];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_err() && unhex("zz").is_err());
    }
}
