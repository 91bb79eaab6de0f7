//! Interventions (prevention measures) whose effect is evaluated, and the point layers users
//! import as risk-terrain factors. One body of SQL for both
//! backends, instantiated per backend by [`intervention_fns!`].

use chrono::NaiveDate;
use qalqan_domain::intervention::NewIntervention;

/// A stored intervention.
#[derive(Debug, Clone, PartialEq)]
pub struct InterventionRecord {
    pub id: i64,
    pub territory_id: i64,
    pub intervention: NewIntervention,
    pub created_by: String,
    pub created_at: i64,
}

/// A row as read (more columns than sqlx decodes into a tuple).
pub(crate) type InterventionRow = (i64, i64, String, String, String, f64, f64, f64, Option<i64>, String, String, i64);

pub(crate) fn intervention_from_row(r: InterventionRow) -> Result<InterventionRecord, crate::StoreError> {
    let (id, territory_id, name, kind, starts_on, lat, lon, radius_m, assignment_id, note, created_by, created_at) = r;
    let corrupt = |e: qalqan_domain::DomainError| crate::StoreError::Corrupt { what: "intervention", reason: e.to_string() };
    let starts_on: NaiveDate = crate::coordination::date(&starts_on)?;
    let intervention = NewIntervention::new(
        &name,
        kind.parse().map_err(corrupt)?,
        starts_on,
        qalqan_domain::Wgs84Point::new(lat, lon).map_err(corrupt)?,
        radius_m,
        assignment_id,
        &note,
    )
    .map_err(corrupt)?;
    Ok(InterventionRecord { id, territory_id, intervention, created_by, created_at })
}

/// Generates the intervention functions of one backend module (see `coordination_fns!`).
macro_rules! intervention_fns {
    () => {
        pub(crate) async fn add_intervention(
            pool: &Pool,
            territory: i64,
            i: &qalqan_domain::intervention::NewIntervention,
            audit: &NewAuditEntry,
        ) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                "INSERT INTO interventions (territory_id, name, kind, starts_on, lat, lon, radius_m, assignment_id, note, created_by, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )))
            .bind(territory)
            .bind(&i.name)
            .bind(i.kind.code())
            .bind(i.starts_on.to_string())
            .bind(i.centre.lat())
            .bind(i.centre.lon())
            .bind(i.radius_m)
            .bind(i.assignment_id)
            .bind(&i.note)
            .bind(&audit.actor.name)
            .bind(chrono::Utc::now().timestamp())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict(e, "intervention", &i.name))?;
            let mut audit = audit.clone();
            audit.object = format!("intervention:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        /// Replaces a layer's points (creating the layer), all or nothing; how many points.
        pub(crate) async fn replace_layer(pool: &Pool, territory: i64, name: &str, points: &[(f64, f64)], audit: &NewAuditEntry) -> Result<u64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let existing: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql("SELECT id FROM layers WHERE territory_id = ? AND name = ?")))
                .bind(territory)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
            let id = match existing {
                Some(id) => {
                    sqlx::query(sqlx::AssertSqlSafe(sql("DELETE FROM layer_points WHERE layer_id = ?"))).bind(id).execute(&mut *tx).await?;
                    id
                }
                None => sqlx::query_scalar(sqlx::AssertSqlSafe(sql("INSERT INTO layers (territory_id, name, created_by, created_at) VALUES (?, ?, ?, ?) RETURNING id")))
                    .bind(territory)
                    .bind(name)
                    .bind(&audit.actor.name)
                    .bind(chrono::Utc::now().timestamp())
                    .fetch_one(&mut *tx)
                    .await?,
            };
            for &(lat, lon) in points {
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO layer_points (layer_id, lat, lon) VALUES (?, ?, ?)")))
                    .bind(id)
                    .bind(lat)
                    .bind(lon)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut audit = audit.clone();
            audit.object = format!("layer:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(points.len() as u64)
        }

        /// A territory's layers' points as (layer name, lat, lon).
        pub(crate) async fn layer_points(pool: &Pool, territory: i64) -> Result<Vec<(String, f64, f64)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT l.name, p.lat, p.lon FROM layer_points p JOIN layers l ON l.id = p.layer_id WHERE l.territory_id = ? ORDER BY l.name",
            )))
            .bind(territory)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn set_published(pool: &Pool, territory: i64, published: bool, audit: &NewAuditEntry) -> Result<(), StoreError> {
            let mut tx = write_tx(pool).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql("UPDATE territories SET published = ? WHERE id = ?")))
                .bind(i32::from(published))
                .bind(territory)
                .execute(&mut *tx)
                .await?;
            append_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn published_territories(pool: &Pool) -> Result<Vec<i64>, StoreError> {
            Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql("SELECT id FROM territories WHERE published = 1 ORDER BY name"))).fetch_all(pool).await?)
        }

        pub(crate) async fn interventions(pool: &Pool, territory: i64) -> Result<Vec<$crate::evaluation::InterventionRow>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, territory_id, name, kind, starts_on, lat, lon, radius_m, assignment_id, note, created_by, created_at \
                 FROM interventions WHERE territory_id = ? ORDER BY starts_on, id",
            )))
            .bind(territory)
            .fetch_all(pool)
            .await?)
        }
    };
}

pub(crate) use intervention_fns;
