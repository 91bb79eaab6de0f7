//! Versioned migrations, one folder per backend, applied in order.
//!
//! Each migration runs in its own transaction together with the row that
//! records it in `qalqan_migrations`, so a crash never leaves one half
//! applied. A recorded migration whose text has since changed, or a database
//! newer than this binary, is an error rather than a guess.

use sqlx::{PgPool, SqlitePool};

use crate::StoreError;

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/sqlite/0001_init.sql") },
    Migration { version: 2, name: "audit_log", sql: include_str!("../migrations/sqlite/0002_audit_log.sql") },
    Migration { version: 3, name: "accounts", sql: include_str!("../migrations/sqlite/0003_accounts.sql") },
    Migration { version: 4, name: "incident_paging", sql: include_str!("../migrations/sqlite/0004_incident_paging.sql") },
    Migration { version: 5, name: "territory_revision", sql: include_str!("../migrations/sqlite/0005_territory_revision.sql") },
    Migration { version: 6, name: "cameras", sql: include_str!("../migrations/sqlite/0006_cameras.sql") },
    Migration { version: 7, name: "street_sources", sql: include_str!("../migrations/sqlite/0007_street_sources.sql") },
    Migration { version: 8, name: "planning", sql: include_str!("../migrations/sqlite/0008_planning.sql") },
    Migration { version: 9, name: "coordination", sql: include_str!("../migrations/sqlite/0009_coordination.sql") },
    Migration { version: 10, name: "threat_levels", sql: include_str!("../migrations/sqlite/0010_threat_levels.sql") },
    Migration { version: 11, name: "notifications", sql: include_str!("../migrations/sqlite/0011_notifications.sql") },
    Migration { version: 12, name: "inspections", sql: include_str!("../migrations/sqlite/0012_inspections.sql") },
    Migration { version: 13, name: "email", sql: include_str!("../migrations/sqlite/0013_email.sql") },
    Migration { version: 14, name: "protocol_items", sql: include_str!("../migrations/sqlite/0014_protocol_items.sql") },
    Migration { version: 15, name: "interventions", sql: include_str!("../migrations/sqlite/0015_interventions.sql") },
    Migration { version: 16, name: "body_territory", sql: include_str!("../migrations/sqlite/0016_body_territory.sql") },
    Migration { version: 17, name: "public", sql: include_str!("../migrations/sqlite/0017_public.sql") },
    Migration { version: 18, name: "layers", sql: include_str!("../migrations/sqlite/0018_layers.sql") },
    Migration { version: 19, name: "concurrency", sql: include_str!("../migrations/sqlite/0019_concurrency.sql") },
    Migration { version: 20, name: "jobs", sql: include_str!("../migrations/sqlite/0020_jobs.sql") },
];
const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "init", sql: include_str!("../migrations/postgres/0001_init.sql") },
    Migration { version: 2, name: "audit_log", sql: include_str!("../migrations/postgres/0002_audit_log.sql") },
    Migration { version: 3, name: "accounts", sql: include_str!("../migrations/postgres/0003_accounts.sql") },
    Migration { version: 4, name: "incident_paging", sql: include_str!("../migrations/postgres/0004_incident_paging.sql") },
    Migration { version: 5, name: "territory_revision", sql: include_str!("../migrations/postgres/0005_territory_revision.sql") },
    Migration { version: 6, name: "cameras", sql: include_str!("../migrations/postgres/0006_cameras.sql") },
    Migration { version: 7, name: "street_sources", sql: include_str!("../migrations/postgres/0007_street_sources.sql") },
    Migration { version: 8, name: "planning", sql: include_str!("../migrations/postgres/0008_planning.sql") },
    Migration { version: 9, name: "coordination", sql: include_str!("../migrations/postgres/0009_coordination.sql") },
    Migration { version: 10, name: "threat_levels", sql: include_str!("../migrations/postgres/0010_threat_levels.sql") },
    Migration { version: 11, name: "notifications", sql: include_str!("../migrations/postgres/0011_notifications.sql") },
    Migration { version: 12, name: "inspections", sql: include_str!("../migrations/postgres/0012_inspections.sql") },
    Migration { version: 13, name: "email", sql: include_str!("../migrations/postgres/0013_email.sql") },
    Migration { version: 14, name: "protocol_items", sql: include_str!("../migrations/postgres/0014_protocol_items.sql") },
    Migration { version: 15, name: "interventions", sql: include_str!("../migrations/postgres/0015_interventions.sql") },
    Migration { version: 16, name: "body_territory", sql: include_str!("../migrations/postgres/0016_body_territory.sql") },
    Migration { version: 17, name: "public", sql: include_str!("../migrations/postgres/0017_public.sql") },
    Migration { version: 18, name: "layers", sql: include_str!("../migrations/postgres/0018_layers.sql") },
    Migration { version: 19, name: "concurrency", sql: include_str!("../migrations/postgres/0019_concurrency.sql") },
    Migration { version: 20, name: "jobs", sql: include_str!("../migrations/postgres/0020_jobs.sql") },
];

/// What [`crate::Store::migrate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<i64>,
    /// Latest version now in the database.
    pub current: i64,
}

/// FNV-1a: detects edited migration files (not a security measure).
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn check_applied(known: &[Migration], applied: &[(i64, String)]) -> Result<(), StoreError> {
    for (version, sum) in applied {
        match known.iter().find(|m| m.version == *version) {
            None => {
                return Err(StoreError::Migration {
                    version: *version,
                    name: "?".into(),
                    reason: "the database was migrated by a newer qalqan; upgrade this binary".into(),
                });
            }
            Some(m) if checksum(m.sql) != *sum => {
                return Err(StoreError::Migration {
                    version: m.version,
                    name: m.name.into(),
                    reason: "was applied with different content; migrations must never be edited".into(),
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

pub(crate) async fn run_sqlite(pool: &SqlitePool) -> Result<MigrationReport, StoreError> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS qalqan_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .execute(pool)
    .await?;
    let mut report = MigrationReport::default();
    for m in SQLITE {
        // BEGIN IMMEDIATE takes the write lock up front: two processes
        // migrating at once serialise instead of both applying.
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        let result: Result<(), StoreError> = async {
            let applied: Vec<(i64, String)> =
                sqlx::query_as("SELECT version, checksum FROM qalqan_migrations ORDER BY version").fetch_all(&mut *conn).await?;
            check_applied(SQLITE, &applied)?;
            if applied.iter().any(|(v, _)| *v == m.version) {
                return Ok(());
            }
            sqlx::raw_sql(m.sql).execute(&mut *conn).await.map_err(|e| StoreError::Migration {
                version: m.version,
                name: m.name.into(),
                reason: e.to_string(),
            })?;
            sqlx::query("INSERT INTO qalqan_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, unixepoch())")
                .bind(m.version)
                .bind(m.name)
                .bind(checksum(m.sql))
                .execute(&mut *conn)
                .await?;
            report.applied.push(m.version);
            Ok(())
        }
        .await;
        match result {
            Ok(()) => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| ())?,
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                return Err(e);
            }
        }
    }
    report.current = SQLITE.last().map_or(0, |m| m.version);
    Ok(report)
}

pub(crate) async fn run_postgres(pool: &PgPool) -> Result<MigrationReport, StoreError> {
    let mut report = MigrationReport::default();
    let mut tx = pool.begin().await?;
    // One migrator at a time per database, whatever the schema.
    sqlx::query("SELECT pg_advisory_xact_lock(7345112)").execute(&mut *tx).await?;
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS qalqan_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM qalqan_migrations ORDER BY version").fetch_all(&mut *tx).await?;
    check_applied(POSTGRES, &applied)?;
    for m in POSTGRES {
        if applied.iter().any(|(v, _)| *v == m.version) {
            continue;
        }
        sqlx::raw_sql(m.sql).execute(&mut *tx).await.map_err(|e| StoreError::Migration {
            version: m.version,
            name: m.name.into(),
            reason: e.to_string(),
        })?;
        sqlx::query("INSERT INTO qalqan_migrations (version, name, checksum) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(checksum(m.sql))
            .execute(&mut *tx)
            .await?;
        report.applied.push(m.version);
    }
    tx.commit().await?;
    report.current = POSTGRES.last().map_or(0, |m| m.version);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_increasing_and_both_backends_have_the_same_ones() {
        for set in [SQLITE, POSTGRES] {
            assert!(set.windows(2).all(|w| w[0].version < w[1].version));
        }
        let v = |s: &[Migration]| s.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(v(SQLITE), v(POSTGRES));
    }

    #[test]
    fn an_edited_migration_is_detected() {
        let applied = vec![(1, "0000000000000000".to_owned())];
        assert!(matches!(check_applied(SQLITE, &applied), Err(StoreError::Migration { version: 1, .. })));
        let newer = vec![(1, checksum(SQLITE[0].sql)), (99, "x".into())];
        assert!(check_applied(SQLITE, &newer).is_err());
    }
}
